/* app.h - per-app host state shared by every module: last error, handle table, limits, counts,
 * and the few hooks a host (desktop runtime or firmware) supplies. No app offsets live here:
 * everything below the binding works on host pointers that were already checked. */
#ifndef PORTAL_APP_H
#define PORTAL_APP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "../platform/platform.h"
#include "handles.h"

/* Error codes (docs/abi.md#error-codes-and-the-last-error). */
enum {
    PORTAL_OK = 0,
    PORTAL_ERR_INVALID_ARGUMENT = -1,
    PORTAL_ERR_INTERNAL = -2,
    PORTAL_ERR_NOT_READY = -3,
    PORTAL_ERR_NOT_FOUND = -4,
};

#define PORTAL_LAST_ERROR_SIZE 128

typedef struct portal_limits {
    int max_sockets;            /* plain sockets and listeners, default 64 */
    int max_tls_configs;        /* default 4 */
    int max_tls_sessions;       /* default 64 */
    int max_pending_handshakes; /* default 8 */
    int handshake_deadline_ms;  /* default 10000 */
} portal_limits;

void portal_limits_default(portal_limits *limits);

typedef enum { PORTAL_LOG_INFO, PORTAL_LOG_WARN, PORTAL_LOG_ERROR } portal_log_level;

struct portal_tls_state;
struct portal_fs;
struct portal_app;

/* A host module's hooks into the app context (the ae.c idea: the core, sockPoll, the desktop run
 * loop and the firmware binding know these, never a module by name). A module registers itself
 * with portal_app_use_module when the app first uses it; every hook may be NULL. */
typedef struct portal_module_ops {
    const char *name;
    /* Closes and frees everything the module holds for the app. Modules are torn down in the
     * reverse order of registration, so a module registers what it builds on first. */
    void (*teardown)(struct portal_app *app);
    /* Work that goes on while the app sleeps: writes up to `max` descriptors to watch, returns
     * how many. */
    int (*wait_fill)(struct portal_app *app, portal_wait_entry *entries, int max);
    /* After a wait: advances whatever became ready or due (never blocks). */
    void (*service)(struct portal_app *app);
    /* ms until the module's next deadline, -1 when none. */
    int (*next_deadline_ms)(struct portal_app *app);
    /* The most entries wait_fill can write for this app (from the module's own limits), so a
     * caller sizes its wait list without knowing the module. NULL: as many as wait_fill returns
     * is not bounded here; give a wait_capacity with every wait_fill. */
    int (*wait_capacity)(struct portal_app *app);
} portal_module_ops;

#define PORTAL_APP_MAX_MODULES 8

typedef struct portal_app {
    int32_t last_error_code;
    char last_error_msg[PORTAL_LAST_ERROR_SIZE];
    portal_limits limits;
    portal_handles handles;
    struct portal_tls_state *tls; /* lazily created by the TLS module */
    /* portal_fs state on portal-host (host/fs/fs.h), NULL elsewhere: attached before the app
     * starts; the module's teardown detaches it (every file and directory closed). */
    struct portal_fs *fs;
    /* Host hook: ms until the app's next timer (microtask) is due, -1 when none. sockPoll never
     * waits past it, so an app sleeping in sockPoll inside one task still runs its other tasks on
     * time. NULL = no timers. */
    int (*next_timer_ms)(struct portal_app *app);
    /* Host hook: where log lines go. NULL = stderr. */
    void (*log_sink)(struct portal_app *app, portal_log_level level, const char *msg);
    /* Host hook: called by portal_fail after the error is stored here, so a host with its own
     * last-error store (the firmware's wasm_api_set_last_error) sees the same code and message.
     * NULL = none. */
    void (*error_sink)(struct portal_app *app, int32_t code, const char *msg);
    void *host_data; /* owned by the host binding (firmware: its WAMR module instance) */
    const portal_module_ops *modules[PORTAL_APP_MAX_MODULES]; /* in registration order */
    int module_count;
} portal_app;

/* Sets up an app context with the given limits; false on allocation failure. */
bool portal_app_init(portal_app *app, const portal_limits *limits);
/* Tears down every registered module (each closes what it owns: sockets, TLS sessions, configs,
 * pending handshakes) in reverse order of registration, then frees the context's own memory. Safe
 * to call twice. */
void portal_app_teardown(portal_app *app);

/* Registers `ops` with the app (once; later calls with the same ops do nothing). false only when
 * more than PORTAL_APP_MAX_MODULES modules are used, a host programming error. */
bool portal_app_use_module(portal_app *app, const portal_module_ops *ops);

/* The event loop's side of the module hooks: every module's wait entries (returns how many, at
 * most `max`), service after a wait, and the earliest module deadline (-1 when none). */
int portal_app_wait_fill(portal_app *app, portal_wait_entry *entries, int max);
void portal_app_service(portal_app *app);
int portal_app_next_deadline_ms(portal_app *app);
/* The most wait entries portal_app_wait_fill can write: the sum of the modules' wait_capacity. */
int portal_app_wait_capacity(portal_app *app);

/* Stores the last error (message truncated to 127 bytes) and returns `code`. */
int32_t portal_fail(portal_app *app, int32_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void portal_log(portal_app *app, portal_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies `text` into an app buffer of out_len bytes as a C string, cut to out_len - 1 bytes;
 * returns the bytes copied without the NUL (0, and nothing written, when out_len is 0). */
int32_t portal_copy_text(uint8_t *out, uint32_t out_len, const char *text);

#endif
