/* test_wamr_binding.c - the WAMR binding's own logic (host/esp-idf/wamr_binding.c, compiled into
 * this file as is) on a machine without WAMR: registration that survives a runtime destroy and
 * re-init, the firmware's next-due hook bounding sockPoll, the shutdown interrupt (wakes a blocked
 * wait, lasts for the app, cleared on unload) and a wasm_runtime_terminate that wakes a blocked
 * native. The WAMR side is a small fake (tests/unit/wasm_export.h says what it reproduces); the
 * natives are called through the function pointers the binding registered, on real loopback
 * sockets. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "wasm_export.h"

/* The code under test: one translation unit with the fake below (no WAMR library to link). */
#include "../../host/esp-idf/wamr_binding.c"

/* ---- fake WAMR runtime ---- */

#define FAKE_MAX_KEYS 8

typedef struct fake_node {
    const char *module;
    NativeSymbol *symbols;
    uint32_t count;
    struct fake_node *next;
} fake_node;

struct WASMModuleInstanceCommon {
    void *contexts[FAKE_MAX_KEYS];
    char exception[128];
    pthread_mutex_t lock;
};

struct WASMExecEnv {
    struct WASMModuleInstanceCommon *inst;
    pthread_t thread;
    pthread_mutex_t lock;
    bool blocking, terminate;
};

static fake_node *registered;
static void (*key_dtors[FAKE_MAX_KEYS])(wasm_module_inst_t, void *);

wasm_module_inst_t wasm_runtime_get_module_inst(wasm_exec_env_t env)
{
    return env->inst;
}

void wasm_runtime_set_exception(wasm_module_inst_t inst, const char *exception)
{
    pthread_mutex_lock(&inst->lock);
    snprintf(inst->exception, sizeof inst->exception, "Exception: %s", exception ? exception : "");
    if (!exception)
        inst->exception[0] = '\0';
    pthread_mutex_unlock(&inst->lock);
}

const char *wasm_runtime_get_exception(wasm_module_inst_t inst)
{
    pthread_mutex_lock(&inst->lock);
    bool set = inst->exception[0] != '\0';
    pthread_mutex_unlock(&inst->lock);
    return set ? inst->exception : NULL;
}

bool wasm_runtime_register_natives(const char *module, NativeSymbol *symbols, uint32_t count)
{
    fake_node *node = malloc(sizeof *node);
    if (!node)
        return false;
    *node = (fake_node){module, symbols, count, registered};
    registered = node;
    return true;
}

bool wasm_runtime_unregister_natives(const char *module, NativeSymbol *symbols)
{
    for (fake_node **p = &registered; *p; p = &(*p)->next) {
        if ((*p)->symbols == symbols && strcmp((*p)->module, module) == 0) {
            fake_node *gone = *p;
            *p = gone->next;
            free(gone);
            return true;
        }
    }
    return false;
}

void *wasm_runtime_create_context_key(void (*dtor)(wasm_module_inst_t, void *))
{
    for (int i = 0; i < FAKE_MAX_KEYS; i++) {
        if (!key_dtors[i]) {
            key_dtors[i] = dtor;
            return (void *)(uintptr_t)(i + 1);
        }
    }
    return NULL;
}

void wasm_runtime_set_context_spread(wasm_module_inst_t inst, void *key, void *ctx)
{
    inst->contexts[(uintptr_t)key - 1] = ctx;
}

void *wasm_runtime_get_context(wasm_module_inst_t inst, void *key)
{
    return inst->contexts[(uintptr_t)key - 1];
}

static sigset_t wakeup_set; /* SIGUSR1, WAMR's default wake-up signal */

bool wasm_runtime_begin_blocking_op(wasm_exec_env_t env)
{
    pthread_mutex_lock(&env->lock);
    if (env->terminate) {
        pthread_mutex_unlock(&env->lock);
        return false;
    }
    env->blocking = true;
    pthread_mutex_unlock(&env->lock);
    pthread_sigmask(SIG_UNBLOCK, &wakeup_set, NULL);
    return true;
}

void wasm_runtime_end_blocking_op(wasm_exec_env_t env)
{
    int saved = errno;
    pthread_mutex_lock(&env->lock);
    env->blocking = false;
    pthread_mutex_unlock(&env->lock);
    pthread_sigmask(SIG_BLOCK, &wakeup_set, NULL);
    errno = saved;
}

/* wasm_runtime_terminate of a thread-manager build on POSIX. Gives up after 10 s (the binding
 * never left its wait): returns false then. */
static bool fake_terminate(wasm_exec_env_t env)
{
    wasm_runtime_set_exception(env->inst, "terminated by user");
    pthread_mutex_lock(&env->lock);
    env->terminate = true;
    for (int rounds = 0; env->blocking; rounds++) {
        pthread_mutex_unlock(&env->lock);
        if (rounds == 200)
            return false;
        pthread_kill(env->thread, SIGUSR1);
        usleep(50 * 1000);
        pthread_mutex_lock(&env->lock);
    }
    pthread_mutex_unlock(&env->lock);
    return true;
}

static void fake_runtime_destroy(void) /* drops registrations, keeps context keys, like WAMR */
{
    while (registered) {
        fake_node *next = registered->next;
        free(registered);
        registered = next;
    }
}

static int fake_registrations(void)
{
    int n = 0;
    for (fake_node *node = registered; node; node = node->next)
        n++;
    return n;
}

static void *fake_lookup(const char *module, const char *name)
{
    for (fake_node *node = registered; node; node = node->next)
        if (strcmp(node->module, module) == 0)
            for (uint32_t i = 0; i < node->count; i++)
                if (strcmp(node->symbols[i].symbol, name) == 0)
                    return node->symbols[i].func_ptr;
    return NULL;
}

typedef struct fake_app {
    struct WASMModuleInstanceCommon inst;
    struct WASMExecEnv env;
} fake_app;

static void fake_instantiate(fake_app *app)
{
    memset(app, 0, sizeof *app);
    pthread_mutex_init(&app->inst.lock, NULL);
    pthread_mutex_init(&app->env.lock, NULL);
    app->env.inst = &app->inst;
    app->env.thread = pthread_self();
}

static void fake_deinstantiate(fake_app *app)
{
    for (int i = 0; i < FAKE_MAX_KEYS; i++)
        if (key_dtors[i])
            key_dtors[i](&app->inst, app->inst.contexts[i]);
    pthread_mutex_destroy(&app->inst.lock);
    pthread_mutex_destroy(&app->env.lock);
}

static void no_op_handler(int sig)
{
    (void)sig;
}

/* ---- calling natives the way WAMR does ---- */

typedef int32_t (*poll_fn)(wasm_exec_env_t, uint8_t *, uint32_t, int32_t);
typedef int32_t (*socket_fn)(wasm_exec_env_t, int32_t, int32_t, int32_t);
typedef int32_t (*bind_fn)(wasm_exec_env_t, int32_t, uint8_t *, uint32_t);
typedef int32_t (*listen_fn)(wasm_exec_env_t, int32_t, int32_t);
typedef int32_t (*accept_fn)(wasm_exec_env_t, int32_t, uint8_t *, uint32_t, int32_t);

static poll_fn lookup_poll(void)
{
    poll_fn f;
    void *p = fake_lookup("portal_socket", "sockPoll");
    memcpy(&f, &p, sizeof f);
    return p ? f : NULL;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A wait that should end by itself but does not (the fix under test missing) is ended by this
 * guard after 8 s, so the test fails on its time bound instead of hanging: an interrupt, and a
 * signal (SIGUSR2, no-op handler) whose EINTR makes the wait look at the interrupt flag even when
 * the binding's wake-up descriptor is what is missing. */
static pthread_t main_thread;
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t guard_cond = PTHREAD_COND_INITIALIZER;
static bool guard_done;
static pthread_t guard_thread;

static void *guard_run(void *arg)
{
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 8;
    pthread_mutex_lock(&guard_lock);
    int rc = 0;
    while (!guard_done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&guard_cond, &guard_lock, &until);
    bool fire = !guard_done;
    pthread_mutex_unlock(&guard_lock);
    if (fire) {
        portal_socket_wamr_interrupt();
        pthread_kill(main_thread, SIGUSR2);
    }
    return NULL;
}

static void guard_start(void)
{
    guard_done = false;
    pthread_create(&guard_thread, NULL, guard_run, NULL);
}

static void guard_stop(void)
{
    pthread_mutex_lock(&guard_lock);
    guard_done = true;
    pthread_cond_signal(&guard_cond);
    pthread_mutex_unlock(&guard_lock);
    pthread_join(guard_thread, NULL);
}

static uint8_t no_entries[8];

/* sockPoll with no entries: nothing can become ready, so it returns only when its timeout, the
 * firmware's next due task or an interrupt ends the wait. Sets *elapsed_ms. */
static int32_t poll_nothing(fake_app *app, int32_t timeout_ms, int64_t *elapsed_ms)
{
    guard_start();
    int64_t start = now_ms();
    int32_t r = lookup_poll()(&app->env, no_entries, 0, timeout_ms);
    *elapsed_ms = now_ms() - start;
    guard_stop();
    return r;
}

static char last_error[160];
static void remember_error(int32_t code, const char *msg)
{
    snprintf(last_error, sizeof last_error, "%d %s", (int)code, msg);
}

static int32_t due_in_ms;
static int32_t next_due(void *user)
{
    CHECK(user == &due_in_ms);
    return due_in_ms;
}

/* ---- 1: registration ---- */

static void test_registration(void)
{
    CHECK(fake_lookup("portal_socket", "sockPoll") == NULL);
    CHECK(portal_socket_wamr_register());
    CHECK(portal_socket_tls_wamr_register());
    size_t rows = sizeof socket_symbols / sizeof socket_symbols[0];
    for (size_t i = 0; i < rows; i++)
        CHECK(fake_lookup("portal_socket", socket_symbols[i].symbol) != NULL);
    CHECK(fake_lookup("portal_socket_tls", "tlsAccept") != NULL);
    CHECK_EQ_INT(fake_registrations(), 2);

    /* again in the same runtime: still one registration per module */
    CHECK(portal_socket_wamr_register());
    CHECK(portal_socket_tls_wamr_register());
    CHECK_EQ_INT(fake_registrations(), 2);

    /* wasm_runtime_destroy + wasm_runtime_full_init: everything must be registered anew */
    fake_runtime_destroy();
    CHECK(fake_lookup("portal_socket", "sockPoll") == NULL);
    CHECK(portal_socket_wamr_register());
    CHECK(portal_socket_tls_wamr_register());
    CHECK_EQ_INT(fake_registrations(), 2);
    CHECK(fake_lookup("portal_socket", "sockPoll") != NULL);
    CHECK(fake_lookup("portal_socket_tls", "tlsRecv") != NULL);

    /* a native of the re-registered table works */
    fake_app app;
    fake_instantiate(&app);
    socket_fn sock_socket;
    void *p = fake_lookup("portal_socket", "sockSocket");
    memcpy(&sock_socket, &p, sizeof sock_socket);
    int32_t s = sock_socket(&app.env, 2, 1, 0);
    CHECK(s > 0);
    portal_socket_wamr_close_instance(&app.inst);
    fake_deinstantiate(&app);
}

/* ---- 2: the firmware's next due task bounds sockPoll ---- */

static void test_next_due(void)
{
    fake_app app;
    fake_instantiate(&app);
    int64_t ms;
    portal_socket_wamr_set_next_due_hook(next_due, &due_in_ms);

    due_in_ms = 150; /* timeout -1: returns 0 (nothing ready) when the task is due */
    CHECK_EQ_INT(poll_nothing(&app, -1, &ms), 0);
    CHECK(ms >= 140 && ms < 5000);

    due_in_ms = 0; /* a task is due already: no wait */
    CHECK_EQ_INT(poll_nothing(&app, -1, &ms), 0);
    CHECK(ms < 1000);

    due_in_ms = 10000; /* the app's own timeout comes first */
    CHECK_EQ_INT(poll_nothing(&app, 200, &ms), 0);
    CHECK(ms >= 190 && ms < 5000);

    due_in_ms = -7; /* any negative answer: nothing scheduled, the app's timeout holds */
    CHECK_EQ_INT(poll_nothing(&app, 300, &ms), 0);
    CHECK(ms >= 290 && ms < 5000);

    portal_socket_wamr_set_next_due_hook(NULL, NULL);
    CHECK_EQ_INT(poll_nothing(&app, 200, &ms), 0);
    CHECK(ms >= 190 && ms < 5000);

    portal_socket_wamr_close_instance(&app.inst);
    fake_deinstantiate(&app);
}

/* ---- 3: interrupt on shutdown, cleared for the next app ---- */

static atomic_bool interrupt_armed;

static void *interrupt_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    if (atomic_load(&interrupt_armed))
        portal_socket_wamr_interrupt();
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    portal_socket_wamr_interrupt();
}

static void *signal_later(void *arg)
{
    usleep(200 * 1000);
    pthread_kill(*(pthread_t *)arg, SIGALRM);
    return NULL;
}

static void test_interrupt(void)
{
    fake_app app;
    fake_instantiate(&app);
    int64_t ms;

    /* from another thread, while sockPoll(-1) waits with no task due */
    atomic_store(&interrupt_armed, true);
    pthread_t t;
    pthread_create(&t, NULL, interrupt_later, NULL);
    CHECK_EQ_INT(poll_nothing(&app, -1, &ms), PORTAL_ERR_NOT_READY);
    CHECK(ms >= 150 && ms < 5000);
    CHECK(strstr(last_error, "interrupted") != NULL);
    pthread_join(t, NULL);

    /* it lasts while the app shuts down: no call blocks */
    CHECK_EQ_INT(poll_nothing(&app, 2000, &ms), PORTAL_ERR_NOT_READY);
    CHECK(ms < 1000);

    /* unloading the app clears it: the next app waits normally */
    portal_socket_wamr_close_instance(&app.inst);
    fake_deinstantiate(&app);
    fake_instantiate(&app);
    CHECK_EQ_INT(poll_nothing(&app, 200, &ms), 0);
    CHECK(ms >= 190 && ms < 5000);

    /* from a signal handler, in a blocking accept (portal_platform_wait) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    socket_fn sock_socket;
    bind_fn sock_bind;
    listen_fn sock_listen;
    accept_fn sock_accept;
    void *p = fake_lookup("portal_socket", "sockSocket");
    memcpy(&sock_socket, &p, sizeof p);
    p = fake_lookup("portal_socket", "sockBind");
    memcpy(&sock_bind, &p, sizeof p);
    p = fake_lookup("portal_socket", "sockListen");
    memcpy(&sock_listen, &p, sizeof p);
    p = fake_lookup("portal_socket", "sockAcceptWithTimeout");
    memcpy(&sock_accept, &p, sizeof p);
    uint8_t addr[12] = {2, 0, 0, 0, 0, 0, 127, 0, 0, 1, 0, 0}; /* 127.0.0.1, any port */
    int32_t listener = sock_socket(&app.env, 2, 1, 0);
    CHECK(listener > 0);
    CHECK_EQ_INT(sock_bind(&app.env, listener, addr, sizeof addr), 0);
    CHECK_EQ_INT(sock_listen(&app.env, listener, 4), 0);
    pthread_t self = pthread_self();
    pthread_create(&t, NULL, signal_later, &self);
    guard_start();
    int64_t start = now_ms();
    CHECK_EQ_INT(sock_accept(&app.env, listener, addr, sizeof addr, -1), PORTAL_ERR_NOT_READY);
    CHECK(now_ms() - start < 5000);
    guard_stop();
    CHECK(strstr(last_error, "interrupted") != NULL);
    pthread_join(t, NULL);
    signal(SIGALRM, SIG_DFL);

    /* close_all clears it as well */
    portal_socket_wamr_close_all();
    CHECK_EQ_INT(poll_nothing(&app, 200, &ms), 0);
    CHECK(ms >= 190 && ms < 5000);
    portal_socket_wamr_close_instance(&app.inst);
    fake_deinstantiate(&app);
}

/* ---- 4: wasm_runtime_terminate of an app blocked in a native ---- */

typedef struct terminate_job {
    fake_app *app;
    bool ended; /* the blocked native left its blocking section in time */
} terminate_job;

static void *terminate_later(void *arg)
{
    terminate_job *job = arg;
    usleep(200 * 1000);
    job->ended = fake_terminate(&job->app->env);
    if (!job->ended)
        portal_socket_wamr_interrupt(); /* unblock the test so it fails instead of hanging */
    return NULL;
}

static void test_terminate(void)
{
    fake_app app;
    fake_instantiate(&app);
    int64_t ms;
    terminate_job job = {&app, false};
    pthread_t t;
    pthread_create(&t, NULL, terminate_later, &job);
    CHECK_EQ_INT(poll_nothing(&app, -1, &ms), PORTAL_ERR_NOT_READY);
    pthread_join(t, NULL);
    CHECK(job.ended);
    CHECK(ms >= 150 && ms < 5000);

    /* a native called after the termination does not run at all */
    int fds_before = portal_platform_open_fd_count();
    socket_fn sock_socket;
    void *p = fake_lookup("portal_socket", "sockSocket");
    memcpy(&sock_socket, &p, sizeof p);
    CHECK_EQ_INT(sock_socket(&app.env, 2, 1, 0), PORTAL_ERR_NOT_READY);
    CHECK(strstr(last_error, "app terminated") != NULL);
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_before);

    portal_socket_wamr_close_instance(&app.inst);
    fake_deinstantiate(&app);

    /* the same in a blocking accept (the platform's wait, not sockPoll's own loop) */
    fake_instantiate(&app);
    socket_fn sock_socket2;
    bind_fn sock_bind;
    listen_fn sock_listen;
    accept_fn sock_accept;
    p = fake_lookup("portal_socket", "sockSocket");
    memcpy(&sock_socket2, &p, sizeof p);
    p = fake_lookup("portal_socket", "sockBind");
    memcpy(&sock_bind, &p, sizeof p);
    p = fake_lookup("portal_socket", "sockListen");
    memcpy(&sock_listen, &p, sizeof p);
    p = fake_lookup("portal_socket", "sockAcceptWithTimeout");
    memcpy(&sock_accept, &p, sizeof p);
    uint8_t addr[12] = {2, 0, 0, 0, 0, 0, 127, 0, 0, 1, 0, 0};
    int32_t listener = sock_socket2(&app.env, 2, 1, 0);
    CHECK(listener > 0);
    CHECK_EQ_INT(sock_bind(&app.env, listener, addr, sizeof addr), 0);
    CHECK_EQ_INT(sock_listen(&app.env, listener, 4), 0);
    job = (terminate_job){&app, false};
    pthread_create(&t, NULL, terminate_later, &job);
    guard_start();
    int64_t start = now_ms();
    CHECK_EQ_INT(sock_accept(&app.env, listener, addr, sizeof addr, -1), PORTAL_ERR_NOT_READY);
    ms = now_ms() - start;
    guard_stop();
    pthread_join(t, NULL);
    CHECK(job.ended);
    CHECK(ms >= 150 && ms < 5000);
    CHECK(strstr(last_error, "interrupted") != NULL);
    portal_socket_wamr_close_instance(&app.inst);
    fake_deinstantiate(&app);
}

int main(void)
{
    /* WAMR's set-up: the wake-up signal has a handler without SA_RESTART and is blocked outside
     * blocking sections. */
    sigemptyset(&wakeup_set);
    sigaddset(&wakeup_set, SIGUSR1);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = no_op_handler;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_sigmask(SIG_BLOCK, &wakeup_set, NULL);
    sigaction(SIGUSR2, &sa, NULL); /* the guard's kick */
    main_thread = pthread_self();
    portal_socket_wamr_set_error_hook(remember_error);

    test_registration();
    test_next_due();
    test_interrupt();
    test_terminate();

    fake_runtime_destroy();
    portal_platform_close(wake_fd); /* the binding keeps it for the life of the firmware */
    printf("%d passed, %d failed\n", testlib_passed, testlib_failed);
    return testlib_failed ? 1 : 0;
}
