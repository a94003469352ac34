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
 * must use these imports from one wasm thread. Only portal_socket_wamr_interrupt comes from
 * elsewhere (another task, a signal handler): it touches a flag and sends one datagram.
 *
 * Stopping a blocked app: every native runs between wasm_runtime_begin_blocking_op and
 * end_blocking_op, so wasm_runtime_terminate (which sets the instance's exception, then, where WAMR
 * can, signals the thread until the native ends) wakes its wait with EINTR; the platform's
 * interrupt check (calling_instance_terminated) then sees the exception and the wait returns
 * "interrupted". A begin that fails means the app is already being terminated: the native does
 * nothing. */
#include "wamr_binding.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ESP_PLATFORM
#include "sdkconfig.h"
#endif

#include "../core/app.h"
#include "../platform/platform.h"
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
static int32_t (*next_due_hook)(void *user);
static void *next_due_user;
static wasm_module_inst_t calling_instance; /* the instance whose native is running, or NULL */
/* Shutdown wake-up: a UDP socket connected to itself on 127.0.0.1, the platform's interrupt
 * descriptor; interrupt_sent keeps a burst of interrupts to one datagram. */
static portal_fd wake_fd = PORTAL_FD_INVALID;
static volatile sig_atomic_t interrupt_sent;

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

/* sockPoll's bound: the firmware's next due task; any negative answer means none. */
static int binding_next_timer_ms(portal_app *app)
{
    (void)app;
    if (!next_due_hook)
        return -1;
    int32_t ms = next_due_hook(next_due_user);
    return ms < 0 ? -1 : (int)ms;
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
    entry->app.next_timer_ms = binding_next_timer_ms;
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
/* An app being terminated gets "interrupted" (-3) without the call running. */
#define W_STOPPED_RETURN_VOID return
#define W_STOPPED_RETURN_I32 return PORTAL_ERR_NOT_READY
#define W_STOPPED_RETURN_I64 return PORTAL_ERR_NOT_READY
#define W_RESULT_VOID
#define W_RESULT_I32 int32_t result =
#define W_RESULT_I64 int64_t result =
#define W_RETURN_VOID return
#define W_RETURN_I32 return result
#define W_RETURN_I64 return result

/* Between these two, wasm_runtime_terminate may wake the thread (see the top of the file). */
static bool enter_native(wasm_exec_env_t exec_env, portal_app *app, const char *who)
{
    if (!wasm_runtime_begin_blocking_op(exec_env)) {
        portal_fail(app, PORTAL_ERR_NOT_READY, "%s: interrupted: app terminated", who);
        return false;
    }
    calling_instance = wasm_runtime_get_module_inst(exec_env);
    return true;
}

static void leave_native(wasm_exec_env_t exec_env)
{
    calling_instance = NULL;
    wasm_runtime_end_blocking_op(exec_env);
}

#define W_DEFINE(mod, nm, impl, ret, args)                                                         \
    static PK_CRET_##ret w_##nm(PP_FOREACH(W_PARAM_ONE, args))                                     \
    {                                                                                              \
        bool ok = true;                                                                            \
        PP_FOREACH(W_FIX_ONE, args)                                                                \
        portal_app *app = ok ? binding_app(exec_env, #mod "." #nm) : NULL;                         \
        if (!app)                                                                                  \
            W_TRAP_RETURN_##ret;                                                                   \
        if (!enter_native(exec_env, app, #nm))                                                     \
            W_STOPPED_RETURN_##ret;                                                                \
        W_RESULT_##ret impl(PP_FOREACH(PK_CALL_ONE, args));                                        \
        leave_native(exec_env);                                                                    \
        W_RETURN_##ret;                                                                            \
    }

PORTAL_WAMR_TABLE_SOCKET(W_DEFINE)
PORTAL_WAMR_TABLE_TLS(W_DEFINE)

/* ---- NativeSymbol tables (not const: WAMR sorts them in place when registering) ---- */

#define W_SYMBOL(mod, nm, impl, ret, args)                                                         \
    {#nm, (void *)w_##nm, PORTAL_WAMR_SIGNATURE(ret, args), NULL},

static NativeSymbol socket_symbols[] = {PORTAL_WAMR_TABLE_SOCKET(W_SYMBOL)};
static NativeSymbol tls_symbols[] = {PORTAL_WAMR_TABLE_TLS(W_SYMBOL)};

/* The platform's interrupt check: true once the app whose native is running is being terminated
 * (wasm_runtime_terminate set its exception). Runs on the app's thread, inside the native. */
static bool calling_instance_terminated(void)
{
    return calling_instance && wasm_runtime_get_exception(calling_instance) != NULL;
}

/* Opens the shutdown wake-up descriptor once; without it an interrupt still stops every wait that
 * starts later, only a wait already blocked keeps waiting. */
static void open_wake_fd(void)
{
    if (wake_fd != PORTAL_FD_INVALID)
        return;
    portal_fd fd = portal_platform_socket(4, 2, 0);
    if (fd == PORTAL_FD_INVALID)
        return;
    portal_sockaddr addr = {.family = 4, .port = 0, .ip = {127, 0, 0, 1}, .scope_id = 0};
    if (portal_platform_bind(fd, &addr, false) != 0 || portal_platform_local_addr(fd, &addr) != 0 ||
        portal_platform_connect_start(fd, &addr) != 0) {
        portal_platform_close(fd);
        return;
    }
    wake_fd = fd;
    interrupt_sent = 0;
    portal_platform_set_interrupt_fd(wake_fd);
}

/* Shared setup of both registrations. */
static bool prepare_registration(void)
{
    if (!ensure_context_key())
        return false;
    open_wake_fd();
    portal_platform_set_interrupt_check(calling_instance_terminated);
    return true;
}

/* Registers `symbols` under `module` in the running WAMR runtime. wasm_runtime_destroy frees every
 * registration, so no "already done" flag can be kept here: a registration that is still present
 * (same runtime) is removed first, so calling twice does not list the table twice. */
static bool register_table(const char *module, NativeSymbol *symbols, uint32_t count)
{
    if (!prepare_registration())
        return false;
    wasm_runtime_unregister_natives(module, symbols);
    return wasm_runtime_register_natives(module, symbols, count);
}

bool portal_socket_wamr_register(void)
{
    return register_table(PORTAL_WAMR_MODULE_SOCKET, socket_symbols,
                          (uint32_t)(sizeof socket_symbols / sizeof socket_symbols[0]));
}

bool portal_socket_tls_wamr_register(void)
{
    return register_table(PORTAL_WAMR_MODULE_TLS, tls_symbols,
                          (uint32_t)(sizeof tls_symbols / sizeof tls_symbols[0]));
}

/* ---- interrupt ---- */

void portal_socket_wamr_interrupt(void)
{
    if (interrupt_sent)
        return;
    int saved_errno = errno; /* may run in a signal handler */
    interrupt_sent = 1;
    portal_platform_interrupt();
    if (wake_fd != PORTAL_FD_INVALID) {
        static const uint8_t wake_byte = 1;
        (void)portal_platform_send(wake_fd, &wake_byte, 1);
    }
    errno = saved_errno;
}

/* After an app is unloaded: drain the wake-up datagram and clear the flag for the next app. */
static void clear_interrupt(void)
{
    if (wake_fd != PORTAL_FD_INVALID) {
        uint8_t drain[16];
        while (portal_platform_recv(wake_fd, drain, sizeof drain) > 0) {
        }
        portal_platform_set_interrupt_fd(wake_fd); /* also clears the platform's flag */
    } else {
        portal_platform_set_interrupt_fd(PORTAL_FD_INVALID);
    }
    interrupt_sent = 0;
}

/* ---- lifecycle and hooks ---- */

void portal_socket_wamr_close_instance(wasm_module_inst_t inst)
{
    clear_interrupt();
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
    clear_interrupt();
    for (wamr_app *entry = live_apps; entry; entry = entry->next)
        deactivate_app(entry);
}

void portal_socket_wamr_set_next_due_hook(int32_t (*next_due_ms)(void *user), void *user)
{
    next_due_hook = next_due_ms;
    next_due_user = user;
}

void portal_socket_wamr_set_error_hook(void (*hook)(int32_t code, const char *msg))
{
    error_hook = hook;
}

void portal_socket_wamr_service(void)
{
    for (wamr_app *entry = live_apps; entry; entry = entry->next)
        if (entry->active)
            portal_app_service(&entry->app);
}

int portal_socket_wamr_next_deadline_ms(void)
{
    int earliest = -1;
    for (wamr_app *entry = live_apps; entry; entry = entry->next) {
        if (!entry->active)
            continue;
        int ms = portal_app_next_deadline_ms(&entry->app);
        if (ms >= 0 && (earliest < 0 || ms < earliest))
            earliest = ms;
    }
    return earliest;
}
