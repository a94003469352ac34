/* wamr_binding.c - WAMR glue for modules `portal_socket` and `portal_socket_tls`, generated from
 * the API tables (host/api/api_socket.h, api_tls.h): one wrapper per row with the WAMR calling
 * convention (wasm_exec_env_t first) and one NativeSymbol row per import whose signature comes from
 * the same row (wamr_rows.h). Uses only WAMR's public API (wasm_export.h).
 *
 * Memory: every buffer is a `*~` pair, so before a wrapper runs WAMR has checked that
 * [offset, offset + len) lies inside linear memory (trapping with "out of bounds memory access"
 * otherwise) and turned the offset into a native pointer. Offset 0 is the base of linear memory,
 * never NULL. The one case where WAMR can hand over NULL is a zero-length range that starts exactly
 * at the end of memory (its app-to-native conversion only accepts addresses below the end); a
 * zero-length buffer is "absent" to the host, so the wrapper substitutes a valid dummy pointer.
 *
 * Per-app state: one portal_app per app, created on its first call and stored with
 * wasm_runtime_set_context_spread under a key of this module, so every instance of the app's thread
 * cluster (WAMR lib-pthread spawns one per wasm thread, and they inherit contexts) sees the same
 * state. WAMR runs the key's destructor when the app's main instance is deinstantiated (never for
 * spawned sub-instances): that frees it. close_instance/close_all only tear the state down (every
 * handle closed) and leave the empty record attached, so they never touch an instance that may
 * already be gone; a later call from a still-running app starts from a fresh state. Nothing is
 * shared between apps except the hook pointer set by the firmware.
 * Thread model: WAMR calls natives on the thread running the app (the firmware's loop thread) and
 * the firmware calls the lifecycle functions there too; the host core is not thread-safe, so an app
 * must use these imports from one wasm thread. */
#include "wamr_binding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ESP_PLATFORM
#include "sdkconfig.h"
#endif

#include "../core/app.h"
#include "../tls/tls.h"
#include "wamr_rows.h"

typedef struct wamr_app {
    portal_app app; /* first member: a portal_app * is a wamr_app * */
    bool active;    /* app initialised; false after a close, until the next call */
    struct wamr_app *next;
} wamr_app;

static void *context_key;       /* WAMR context key for our per-instance state */
static wamr_app *live_apps;     /* every instance that has state, for close_all and service */
static void (*error_hook)(int32_t code, const char *msg);
static uint8_t empty_buffer[1]; /* stands in for a NULL pointer of a zero-length buffer */

/* ---- limits (Kconfig, see host/esp-idf/Kconfig) ---- */

static void binding_limits(portal_limits *limits)
{
    portal_limits_default(limits);
#ifdef CONFIG_PORTAL_MAX_SOCKETS
    limits->max_sockets = CONFIG_PORTAL_MAX_SOCKETS;
#endif
#ifdef CONFIG_PORTAL_MAX_TLS_CONFIGS
    limits->max_tls_configs = CONFIG_PORTAL_MAX_TLS_CONFIGS;
#endif
#ifdef CONFIG_PORTAL_MAX_TLS_SESSIONS
    limits->max_tls_sessions = CONFIG_PORTAL_MAX_TLS_SESSIONS;
#endif
#ifdef CONFIG_PORTAL_MAX_PENDING_HANDSHAKES
    limits->max_pending_handshakes = CONFIG_PORTAL_MAX_PENDING_HANDSHAKES;
#endif
#ifdef CONFIG_PORTAL_HANDSHAKE_DEADLINE_MS
    limits->handshake_deadline_ms = CONFIG_PORTAL_HANDSHAKE_DEADLINE_MS;
#endif
}

/* ---- per-instance state ---- */

static void forward_error(portal_app *app, int32_t code, const char *msg)
{
    (void)app;
    if (error_hook)
        error_hook(code, msg);
}

static void unlink_app(wamr_app *entry)
{
    for (wamr_app **p = &live_apps; *p; p = &(*p)->next) {
        if (*p == entry) {
            *p = entry->next;
            return;
        }
    }
}

/* Closes everything the app owns; the record stays attached to its instances. */
static void deactivate_app(wamr_app *entry)
{
    if (!entry->active)
        return;
    entry->active = false;
    portal_app_teardown(&entry->app);
}

static bool activate_app(wamr_app *entry)
{
    portal_limits limits;
    binding_limits(&limits);
    if (!portal_app_init(&entry->app, &limits)) {
        portal_app_teardown(&entry->app);
        return false;
    }
    entry->app.error_sink = forward_error;
    entry->active = true;
    return true;
}

/* WAMR context destructor: runs for every key when a main instance is deinstantiated, with the
 * instance's context (NULL when it never called us). */
static void context_destructor(wasm_module_inst_t inst, void *ctx)
{
    (void)inst;
    wamr_app *entry = ctx;
    if (!entry)
        return;
    deactivate_app(entry);
    unlink_app(entry);
    free(entry);
}

static bool ensure_context_key(void)
{
    if (!context_key)
        context_key = wasm_runtime_create_context_key(context_destructor);
    return context_key != NULL;
}

/* The calling instance's state, created on first use; NULL (with a trap set) when it cannot be. */
static portal_app *binding_app(wasm_exec_env_t exec_env, const char *who)
{
    wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
    if (!inst)
        return NULL;
    if (!context_key) {
        wasm_runtime_set_exception(inst, "portal_socket: natives used before registration");
        return NULL;
    }
    wamr_app *entry = wasm_runtime_get_context(inst, context_key);
    if (!entry) {
        entry = calloc(1, sizeof *entry);
        if (entry) {
            entry->next = live_apps;
            live_apps = entry;
            wasm_runtime_set_context_spread(inst, context_key, entry);
        }
    }
    if (entry && (entry->active || activate_app(entry))) {
        entry->app.host_data = inst;
        return &entry->app;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "%s: out of memory for the app's socket state", who);
    wasm_runtime_set_exception(inst, msg);
    return NULL;
}

/* A NULL pointer with a zero length becomes a valid empty buffer; NULL with a length cannot come
 * from a validated `*~` pair (only from an instance without memory) and traps. */
static bool fix_buffer(wasm_exec_env_t exec_env, uint8_t **ptr, uint32_t len, const char *what)
{
    if (*ptr)
        return true;
    if (len == 0) {
        *ptr = empty_buffer;
        return true;
    }
    wasm_module_inst_t inst = wasm_runtime_get_module_inst(exec_env);
    if (inst)
        wasm_runtime_set_exception(inst, what);
    return false;
}

/* ---- wrappers, one per table row ---- */

#define W_PARAM_CTX(n) wasm_exec_env_t exec_env
#define W_PARAM_I32(n) , int32_t n
#define W_PARAM_I64(n) , int64_t n
#define W_PARAM_BUF(n) , uint8_t *n, uint32_t n##_len
#define W_PARAM_STR(n) , const char *n
#define W_PARAM_OFF(n) , uint32_t n
#define W_PARAM_ONE(t) PK_APPLY(W_PARAM_, t)

#define W_FIX_CTX(n)
#define W_FIX_I32(n)
#define W_FIX_I64(n)
#define W_FIX_STR(n)
#define W_FIX_OFF(n)
#define W_FIX_BUF(n) ok = ok && fix_buffer(exec_env, &n, n##_len, "out of bounds memory access (" #n ")");
#define W_FIX_ONE(t) PK_APPLY(W_FIX_, t)

/* After a trap the return value is never seen by the app. */
#define W_TRAP_RETURN_VOID return
#define W_TRAP_RETURN_I32 return 0
#define W_TRAP_RETURN_I64 return 0
#define W_CALL_RETURN_VOID
#define W_CALL_RETURN_I32 return
#define W_CALL_RETURN_I64 return

#define W_DEFINE(mod, nm, impl, ret, args)                                                         \
    static PK_CRET_##ret w_##nm(PP_FOREACH(W_PARAM_ONE, args))                                     \
    {                                                                                              \
        bool ok = true;                                                                            \
        PP_FOREACH(W_FIX_ONE, args)                                                                \
        portal_app *app = ok ? binding_app(exec_env, #mod "." #nm) : NULL;                         \
        if (!app)                                                                                  \
            W_TRAP_RETURN_##ret;                                                                   \
        W_CALL_RETURN_##ret impl(PP_FOREACH(PK_CALL_ONE, args));                                   \
    }

PORTAL_WAMR_TABLE_SOCKET(W_DEFINE)
PORTAL_WAMR_TABLE_TLS(W_DEFINE)

/* ---- NativeSymbol tables (not const: WAMR sorts them in place when registering) ---- */

#define W_SYMBOL(mod, nm, impl, ret, args)                                                         \
    {#nm, (void *)w_##nm, PORTAL_WAMR_SIGNATURE(ret, args), NULL},

static NativeSymbol socket_symbols[] = {PORTAL_WAMR_TABLE_SOCKET(W_SYMBOL)};
static NativeSymbol tls_symbols[] = {PORTAL_WAMR_TABLE_TLS(W_SYMBOL)};

static bool socket_registered, tls_registered;

bool portal_socket_wamr_register(void)
{
    if (socket_registered)
        return true;
    if (!ensure_context_key())
        return false;
    socket_registered = wasm_runtime_register_natives(
        PORTAL_WAMR_MODULE_SOCKET, socket_symbols,
        (uint32_t)(sizeof socket_symbols / sizeof socket_symbols[0]));
    return socket_registered;
}

bool portal_socket_tls_wamr_register(void)
{
    if (tls_registered)
        return true;
    if (!ensure_context_key())
        return false;
    tls_registered = wasm_runtime_register_natives(
        PORTAL_WAMR_MODULE_TLS, tls_symbols, (uint32_t)(sizeof tls_symbols / sizeof tls_symbols[0]));
    return tls_registered;
}

/* ---- lifecycle and hooks ---- */

void portal_socket_wamr_close_instance(wasm_module_inst_t inst)
{
    if (!inst || !context_key)
        return;
    wamr_app *entry = wasm_runtime_get_context(inst, context_key);
    if (entry)
        deactivate_app(entry);
}

/* Listed records belong to main instances that are still alive (the destructor unlinks them), but
 * this needs no instance at all: it only closes what each app owns. */
void portal_socket_wamr_close_all(void)
{
    for (wamr_app *entry = live_apps; entry; entry = entry->next)
        deactivate_app(entry);
}

void portal_socket_wamr_set_error_hook(void (*hook)(int32_t code, const char *msg))
{
    error_hook = hook;
}

void portal_socket_wamr_service(void)
{
    for (wamr_app *entry = live_apps; entry; entry = entry->next)
        if (entry->active)
            portal_tls_poll_service(&entry->app);
}

int portal_socket_wamr_next_deadline_ms(void)
{
    int earliest = -1;
    for (wamr_app *entry = live_apps; entry; entry = entry->next) {
        if (!entry->active)
            continue;
        int ms = portal_tls_next_deadline_ms(&entry->app);
        if (ms >= 0 && (earliest < 0 || ms < earliest))
            earliest = ms;
    }
    return earliest;
}
