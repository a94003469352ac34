/* api.h - every import table of the host, the prototypes derived from them, and the index of
 * imports (name, WAMR signature, WebAssembly type) used by the linker, docs and tests. */
#ifndef PORTAL_API_H
#define PORTAL_API_H

#include <stddef.h>
#include <stdint.h>

#include "kinds.h"
#include "api_core.h"
#include "api_fs.h"
#include "api_net.h"
#include "api_socket.h"
#include "api_tls.h"
#include "api_wasi.h"

struct portal_app;

/* The modules every host (desktop and firmware) provides from this project. */
#define PORTAL_API_PORTABLE(X)                                                                     \
    PORTAL_API_PORTAL(X) PORTAL_API_LOG(X) PORTAL_API_MICROTASK(X) PORTAL_API_NET(X)               \
    PORTAL_API_SOCKET(X) PORTAL_API_TLS(X)

/* Everything the desktop host links: the portable modules, portal_fs (desktop-only: the firmware
 * has its own) and WASI. */
#define PORTAL_API_ALL(X)                                                                          \
    PORTAL_API_PORTABLE(X) PORTAL_API_FS(X) PORTAL_API_WASI(X) PORTAL_API_WASI_NOSYS(X)

/* Prototype of every implementation, checked against its table row by the compiler. */
#define PORTAL_API_PROTOTYPE(mod, name, impl, ret, args)                                           \
    PK_CRET_##ret impl(PP_FOREACH(PK_PROTO_ONE, args));
PORTAL_API_ALL(PORTAL_API_PROTOTYPE)
#undef PORTAL_API_PROTOTYPE

typedef struct portal_import_desc {
    const char *module;
    const char *name;
    const char *signature; /* WAMR form, e.g. "(i*~i)i" */
    const char *wasm_type; /* params ':' results, e.g. "iiii:i" */
} portal_import_desc;

extern const portal_import_desc portal_imports[];
extern const size_t portal_imports_count;

/* Finds an import by module and name; NULL when the host does not provide it. */
const portal_import_desc *portal_import_find(const char *module, const char *name);

#endif
