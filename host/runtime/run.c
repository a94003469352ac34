/* run.c - the app lifecycle on the desktop (docs/abi.md#the-app-contract): load and check the module,
 * instantiate, check portalContractVersion, run _start once, then the microtask loop until no task
 * is left or the app exits; SIGINT/SIGTERM call ppShutdown; teardown closes everything. */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "run.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasm-rt.h>
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h> /* client requests: no-ops unless run under valgrind */
#endif
#endif

#include "../core/deadline.h"
#include "../fs/fs.h"
#include "../platform/platform.h"
#include "../tls/tls.h"
#include "heap_report.h"
#include "module.h"
#include "rt.h"

/* wasm2c's runtime (libwasm-rt-impl) longjmps here from wasm_rt_trap. */
extern sigjmp_buf wasm_rt_jmp_buf;

static int signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t signal_seen;
static portal_fd (*interrupt_fd_for)(int signal_pipe_fd); /* portal_run_options */

/* ---- signals while the app is busy ----
 * The app runs as native code on this thread; a step that never returns cannot be interrupted
 * safely in the middle (it may be inside a host call holding locks or half-made state). The first
 * SIGINT/SIGTERM ends every wait inside host calls and asks for a shutdown, which happens when the
 * app returns to the event loop. So that a busy app does not seem to ignore it, the first signal
 * arms a BUSY_NOTICE_S alarm: if the app is still (or, in a slow ppShutdown, again) running
 * then, SIGALRM says which export it is in. A second signal ends portal-host at once with
 * 128 + signal, without ppShutdown. */
#define BUSY_NOTICE_S 1
static const char *volatile app_call_what; /* the export running now, NULL between calls */

/* Async-signal-safe stderr output. */
static void write_str(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    ssize_t ignored = write(2, s, n);
    (void)ignored;
}

static void on_signal(int sig)
{
    int saved = errno;
    if (signal_seen) {
        /* A second signal while the app does not react: leave at once. */
        char code[] = "(exit 1xx)\n";
        int status = 128 + sig; /* 129..192 */
        code[7] = (char)('0' + status / 10 % 10);
        code[8] = (char)('0' + status % 10);
        write_str("portal-host: second signal: stopping the app now, without ppShutdown ");
        write_str(code);
        _exit(status);
    }
    signal_seen = sig;
    alarm(BUSY_NOTICE_S);
    portal_platform_interrupt(); /* waits inside host calls end now */
    char byte = 1;
    ssize_t ignored = write(signal_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

static void on_busy_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    const char *what = app_call_what;
    if (what) {
        write_str("portal-host: shutting down: waiting for the app to return from ");
        write_str(what);
        write_str(" (Ctrl-C again to stop it now)\n");
    }
    errno = saved;
}

static bool install_signals(void)
{
    if (signal_pipe[0] < 0 && pipe(signal_pipe) != 0)
        return false;
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_busy_alarm;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    portal_platform_set_interrupt_fd(interrupt_fd_for ? interrupt_fd_for(signal_pipe[0])
                                                      : signal_pipe[0]);
    return true;
}

static void uninstall_signals(void)
{
    portal_platform_set_interrupt_fd(PORTAL_FD_INVALID);
    alarm(0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    for (int i = 0; i < 2; i++) {
        if (signal_pipe[i] >= 0)
            close(signal_pipe[i]);
        signal_pipe[i] = -1;
    }
}

bool portal_rt_wait(portal_rt *rt, int timeout_ms)
{
    if (rt->wait_errno)
        return false;
    portal_deadline deadline = portal_deadline_after(timeout_ms);
    for (;;) {
        if (signal_seen) {
            rt->shutdown_requested = true;
            return true;
        }
        int wait = portal_deadline_remaining_ms(deadline);
        int module_wait = portal_app_next_deadline_ms(&rt->app);
        if (module_wait >= 0 && (wait < 0 || module_wait < wait))
            wait = module_wait;
        portal_wait_entry fds[1 + 256];
        fds[0].fd = portal_platform_interrupt_fd(); /* the signal pipe, or what stands for it */
        fds[0].events = PORTAL_WAIT_READ;
        int n = 1 + portal_app_wait_fill(&rt->app, fds + 1, 256);
        int ready = portal_platform_wait_many(fds, n, wait);
        if (ready == PORTAL_IO_ERROR) {
            rt->wait_errno = portal_platform_last_errno() ? portal_platform_last_errno() : EIO;
            return false;
        }
        if (ready > 0 && (fds[0].ready & PORTAL_WAIT_READ)) {
            char drain[16];
            while (read(signal_pipe[0], drain, sizeof drain) > 0) {
            }
        }
        if (n > 1)
            portal_app_service(&rt->app);
        if (portal_deadline_remaining_ms(deadline) == 0)
            return true;
    }
}

/* ---- telling memory faults from stack exhaustion from host bugs ----
 * wasm2c (signal-handler mode) reserves 8 GiB per linear memory, so an out-of-bounds access
 * faults inside that reservation; deep recursion faults in the guard area below this thread's
 * stack. libwasm-rt-impl reports both as "out of bounds", and would report a genuine host bug the
 * same way. This handler (on the alternate stack wasm_rt_init set up) names the first two
 * precisely and lets anything else crash loudly with the default action. */
#define WASM_MEMORY_RESERVATION (UINT64_C(8) << 30)
static uintptr_t fault_memory_base;
static uintptr_t stack_low, stack_high;

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    uintptr_t addr = (uintptr_t)info->si_addr;
    if (fault_memory_base && addr >= fault_memory_base &&
        addr - fault_memory_base < WASM_MEMORY_RESERVATION)
        wasm_rt_trap(WASM_RT_TRAP_OOB);
    if (stack_high && addr >= stack_low && addr < stack_high)
        wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_fault_handler(portal_rt *rt)
{
    fault_memory_base = (uintptr_t)portal_rt_memory_base(rt);
#ifdef VALGRIND_MAKE_MEM_DEFINED
    /* Under valgrind memcheck (make test-valgrind) the unused part of the reservation is a guard
     * region by design: an app access there faults and on_fault turns it into a trap. memcheck
     * would report the access as invalid just before the kernel faults it; this tells memcheck
     * the region may be touched (the pages stay PROT_NONE, the fault and the trap still happen). */
    if (fault_memory_base) {
        uint64_t used = portal_rt_memory_size(rt); /* < 4 GiB, the reservation is 8 GiB */
        VALGRIND_MAKE_MEM_DEFINED(fault_memory_base + used, WASM_MEMORY_RESERVATION - used);
    }
#endif
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            /* the guard area lies below the lowest stack address */
            stack_low = (uintptr_t)addr - (UINT64_C(1) << 20);
            stack_high = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* ---- calling into the app, catching traps ---- */

typedef struct app_call {
    const portal_module_entry *entry;
    void *instance;
    int32_t handle, now;
    uint64_t result;
} app_call;

typedef void (*call_fn)(app_call *call);

static const char *trap_name(int code)
{
    switch (code) {
    case WASM_RT_TRAP_OOB: return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "indirect call to a null or mistyped function";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
    default: return "unknown trap";
    }
}

/* Returns true when the call returned normally. A proc_exit is not a trap: it sets
 * rt->exit_requested and returns false with rt->trap_message empty. */
static bool call_app(portal_rt *rt, call_fn fn, app_call *call, const char *what)
{
    rt->trap_message[0] = '\0';
    rt->exiting_by_proc_exit = false;
    int code = sigsetjmp(wasm_rt_jmp_buf, 1);
    if (code == 0) {
        app_call_what = what;
        fn(call);
        app_call_what = NULL;
        return true;
    }
    app_call_what = NULL;
    if (rt->exiting_by_proc_exit)
        return false;
    fprintf(stderr, "portal-host: app trapped in %s: %s\n", what,
            rt->trap_message[0] ? rt->trap_message : trap_name(code));
    fflush(stderr);
    if (!rt->trap_message[0])
        snprintf(rt->trap_message, sizeof rt->trap_message, "%s", trap_name(code));
    return false;
}

static void do_contract(app_call *c) { c->result = c->entry->contract_version(c->instance); }
static void do_initialize(app_call *c) { c->entry->initialize(c->instance); }
static void do_start(app_call *c) { c->entry->start(c->instance); }
static void do_shutdown(app_call *c) { c->entry->shutdown(c->instance); }
static void do_step(app_call *c)
{
    c->result = c->entry->microtask_step(c->instance, (uint32_t)c->handle, (uint32_t)c->now);
}

typedef struct step_ctx {
    portal_rt *rt;
    app_call *call;
    bool trapped;
} step_ctx;

/* sockPoll's bound: the next due task other than the one running. */
static int next_timer_ms(portal_app *app)
{
    portal_rt *rt = portal_rt_of(app);
    return portal_microtasks_wait_ms_except(&rt->tasks, (uint32_t)portal_platform_now_ms(),
                                            rt->running_task);
}

static bool step_task(void *ctx, int32_t handle, int32_t now_ms, int64_t *action)
{
    step_ctx *s = ctx;
    s->call->handle = handle;
    s->call->now = now_ms;
    s->rt->running_task = handle;
    bool ok = call_app(s->rt, do_step, s->call, "portalMicroTaskStep");
    s->rt->running_task = 0;
    if (!ok) {
        s->trapped = !s->rt->exiting_by_proc_exit;
        return false;
    }
    *action = (int64_t)s->call->result;
    fflush(stdout);
    return true;
}

static bool ended(const portal_rt *rt)
{
    return rt->exit_requested || rt->shutdown_requested;
}

int portal_run(const portal_run_options *opts)
{
    char err[2048];
    portal_module mod;
    /* PSA crypto (mbedTLS 3.x) keeps its state for the process once initialised, whichever app
     * config first needs it: set up here, before the -v baseline, and its size named in the
     * report (0 with mbedTLS 2.x). */
    long long heap_pre_crypto = opts->verbose ? portal_heap_in_use() : 0;
    int crypto_status = portal_tls_library_init();
    long long heap_crypto = opts->verbose ? portal_heap_in_use() - heap_pre_crypto : 0;
    if (crypto_status != 0) {
        fprintf(stderr, "portal-host: TLS crypto initialisation failed (PSA status %d)\n",
                crypto_status);
        return PORTAL_EXIT_HOST_ERROR;
    }
    portal_module_options mod_opts = {opts->cache_dir, opts->verbose};
    if (!portal_module_load(opts->wasm_path, &mod_opts, &mod, err, sizeof err)) {
        fprintf(stderr, "portal-host: %s\n", err);
        return PORTAL_EXIT_HOST_ERROR;
    }
    const portal_module_entry *entry = mod.entry;
    portal_rt *rt = calloc(1, sizeof *rt);
    void *instance = calloc(1, entry->instance_size);
    char **argv = calloc((size_t)opts->argc + 2, sizeof *argv);
    /* -v heap report: the app context's handle table is allocated before the first reading and
     * freed by teardown; measure it so the report can take it out of the comparison. */
    interrupt_fd_for = opts->interrupt_fd_for;
    long long heap_at_init = opts->verbose ? portal_heap_in_use() : 0;
    bool app_ok = rt && instance && argv && portal_app_init(&rt->app, &opts->limits) &&
                  portal_fs_attach(&rt->app, opts->sd_dir);
    long long heap_table = opts->verbose ? portal_heap_in_use() - heap_at_init : 0;
    if (!app_ok || !install_signals()) {
        fprintf(stderr, "portal-host: out of memory\n");
        if (rt) {
            portal_fs_detach(&rt->app);
            portal_app_teardown(&rt->app);
        }
        free(rt);
        free(instance);
        free(argv);
        portal_module_unload(&mod);
        return PORTAL_EXIT_HOST_ERROR;
    }
    argv[0] = "app";
    for (int i = 0; i < opts->argc; i++)
        argv[i + 1] = opts->argv[i];
    rt->argc = opts->argc + 1;
    rt->app.next_timer_ms = next_timer_ms;
    rt->argv = argv;
    portal_microtasks_init(&rt->tasks);

    int status = 0;
    bool instantiated = false;
    app_call call = {entry, instance, 0, 0, 0};
    wasm_rt_init();
    entry->init_module();
    /* wasm2c's instantiate takes the host instance; wrap it so a trap in data init is caught. */
    {
        int code = sigsetjmp(wasm_rt_jmp_buf, 1);
        if (code == 0) {
            entry->instantiate(instance, rt);
            instantiated = true;
        } else {
            fprintf(stderr, "portal-host: instantiation trapped: %s\n", trap_name(code));
            status = PORTAL_EXIT_HOST_ERROR;
        }
    }
    long long heap_before = -1;
    if (instantiated) {
        rt->memory = entry->memory(instance);
        install_fault_handler(rt);
        if (opts->verbose)
            heap_before = portal_heap_in_use();
        /* Like WAMR, which calls a WASI module's _initialize when instantiating it. */
        if (entry->initialize && !call_app(rt, do_initialize, &call, "_initialize")) {
            status = PORTAL_EXIT_HOST_ERROR;
        } else if (!call_app(rt, do_contract, &call, "portalContractVersion")) {
            status = PORTAL_EXIT_HOST_ERROR;
        } else if ((uint32_t)call.result != 1) {
            fprintf(stderr, "portal-host: portalContractVersion() returned %u, this host speaks 1\n",
                    (unsigned)call.result);
            status = PORTAL_EXIT_HOST_ERROR;
        }
    }
    bool trapped = false;
    if (instantiated && status == 0) {
        if (!call_app(rt, do_start, &call, "_start"))
            trapped = !rt->exiting_by_proc_exit;
        fflush(stdout);
        if (rt->exiting_by_proc_exit) {
            /* proc_exit from _start: 0 counts as a normal return (the app lives on), anything
             * else is a failed start, as upstream. */
            if (rt->exit_code != 0)
                status = rt->exit_code;
            rt->exit_requested = rt->exiting_by_proc_exit = false;
        }
        step_ctx sctx = {rt, &call, false};
        while (!trapped && status == 0 && !ended(rt) && !rt->wait_errno &&
               portal_microtasks_any(&rt->tasks)) {
            uint32_t now = (uint32_t)portal_platform_now_ms();
            int32_t wait = portal_microtasks_wait_ms(&rt->tasks, now);
            if (wait > 0) {
                portal_rt_wait(rt, wait);
                continue;
            }
            if (portal_microtasks_run_due(&rt->tasks, now, step_task, &sctx) < 0)
                trapped = sctx.trapped;
            if (signal_seen)
                rt->shutdown_requested = true;
        }
        if (rt->wait_errno && !trapped && !rt->exiting_by_proc_exit && status == 0) {
            /* Waiting is broken (see portal_rt_wait): a host failure, so no ppShutdown. */
            fprintf(stderr, "portal-host: the event loop cannot wait: poll failed: %s; ending the "
                            "app\n", strerror(rt->wait_errno));
            status = PORTAL_EXIT_HOST_ERROR;
        }
        if (trapped) {
            status = PORTAL_EXIT_TRAP;
        } else if (rt->exiting_by_proc_exit) {
            status = rt->exit_code; /* proc_exit ends the app at once, without ppShutdown */
        } else if (status == 0 && entry->shutdown && ended(rt)) {
            if (opts->verbose)
                fprintf(stderr, "portal-host: calling ppShutdown\n");
            if (!call_app(rt, do_shutdown, &call, "ppShutdown"))
                status = rt->exiting_by_proc_exit ? rt->exit_code : PORTAL_EXIT_TRAP;
            fflush(stdout);
        }
        if (status == 0 && rt->exit_requested)
            status = rt->exit_code;
    }
    fflush(stdout);
    portal_app_teardown(&rt->app);
    portal_fs_detach(&rt->app); /* closes every file and directory the app left open */
    if (instantiated && opts->verbose)
        portal_heap_report(heap_before, heap_table, heap_crypto);
    if (instantiated)
        entry->free_instance(instance);
    uninstall_signals();
    free(instance);
    free(argv);
    free(rt);
    portal_module_unload(&mod);
    return status;
}
