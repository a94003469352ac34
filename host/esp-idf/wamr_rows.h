/* wamr_rows.h - the WAMR NativeSymbol rows of modules `portal_socket` and `portal_socket_tls`,
 * derived from the API tables, without any WAMR type: wamr_binding.c builds its NativeSymbol
 * arrays from these macros and tests/unit/test_wamr_signatures.c checks the very same strings on a
 * machine with no WAMR headers. */
#ifndef PORTAL_WAMR_ROWS_H
#define PORTAL_WAMR_ROWS_H

#include "../api/api.h"

/* The two import modules this component registers (the firmware keeps its own portal,
 * portal_log, portal_microtask and portal_net). */
#define PORTAL_WAMR_MODULE_SOCKET "portal_socket"
#define PORTAL_WAMR_MODULE_TLS "portal_socket_tls"
#define PORTAL_WAMR_TABLE_SOCKET(X) PORTAL_API_SOCKET(X)
#define PORTAL_WAMR_TABLE_TLS(X) PORTAL_API_TLS(X)

/* WAMR signature string of one table row, e.g. "(i*~i)i": every BUF becomes "*~" so WAMR checks
 * the whole range [ptr, ptr + len) before the native function runs. */
#define PORTAL_WAMR_SIGNATURE(ret, args) PK_SIGNATURE(ret, args)

/* Plain description of one row, for tests and tooling. */
typedef struct portal_wamr_row {
    const char *module;
    const char *name;
    const char *signature;
} portal_wamr_row;

#define PORTAL_WAMR_ROW_DESC(mod, nm, impl, ret, args) {#mod, #nm, PORTAL_WAMR_SIGNATURE(ret, args)},

#endif
