/* run.c - the app lifecycle on the desktop (docs/abi.md#the-app-contract): load and check the module,
 * instantiate, check portalContractVersion, run _start once, then the microtask loop until no task
 * is left or the app exits; SIGINT/SIGTERM (signals.c) call ppShutdown; teardown closes
 * everything. Calls into the app go through app_call.c, memory faults are named by fault.c. */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasm-rt.h>

#include "../core/deadline.h"
#include "../fs/fs.h"
#include "../platform/platform.h"
#include "../tls/tls.h"
#include "app_call.h"
#include "fault.h"
#include "heap_report.h"
#include "module.h"
#include "rt.h"
#include "signals.h"

/* Wait entries portal_rt_wait keeps on the stack. */
#define RT_WAIT_STACK 256

bool portal_rt_wait(portal_rt *rt, int timeout_ms)
{
    if (rt->wait_errno)
        return false;
    portal_deadline deadline = portal_deadline_after(timeout_ms);
    for (;;) {
        if (portal_signals_seen()) {
            rt->shutdown_requested = true;
            return true;
        }
        int wait = portal_deadline_remaining_ms(deadline);
        int module_wait = portal_app_next_deadline_ms(&rt->app);
        if (module_wait >= 0 && (wait < 0 || module_wait < wait))
            wait = module_wait;
        /* Every descriptor the modules may want watched (pending handshakes, connecting client
         * sessions, queued records): on the stack for the usual limits, else on the heap; if
         * that fails, the first RT_WAIT_STACK are watched and the rest move on at their
         * deadlines. */
        portal_wait_entry stack_fds[1 + RT_WAIT_STACK];
        portal_wait_entry *fds = stack_fds;
        int capacity = portal_app_wait_capacity(&rt->app);
        if (capacity > RT_WAIT_STACK) {
            fds = malloc((size_t)(1 + capacity) * sizeof *fds);
            if (!fds) {
                fds = stack_fds;
                capacity = RT_WAIT_STACK;
            }
        }
        fds[0].fd = portal_platform_interrupt_fd(); /* the signal pipe, or what stands for it */
        fds[0].events = PORTAL_WAIT_READ;
        int n = 1 + portal_app_wait_fill(&rt->app, fds + 1, capacity);
        int ready = portal_platform_wait_many(fds, n, wait);
        bool signalled = ready > 0 && (fds[0].ready & PORTAL_WAIT_READ);
        if (fds != stack_fds)
            free(fds);
        if (ready == PORTAL_IO_ERROR) {
            rt->wait_errno = portal_platform_last_errno() ? portal_platform_last_errno() : EIO;
            return false;
        }
        if (signalled)
            portal_signals_drain();
        if (n > 1)
            portal_app_service(&rt->app);
        if (portal_deadline_remaining_ms(deadline) == 0)
            return true;
    }
}

/* sockPoll's bound: the next due task other than the one running. */
static int next_timer_ms(portal_app *app)
{
    portal_rt *rt = portal_rt_of(app);
    return portal_microtasks_wait_ms_except(&rt->tasks, (uint32_t)portal_platform_now_ms(),
                                            rt->running_task);
}

typedef struct step_ctx {
    portal_rt *rt;
    portal_app_call *call;
    bool trapped;
} step_ctx;

static bool step_task(void *ctx, int32_t handle, int32_t now_ms, int64_t *action)
{
    step_ctx *s = ctx;
    s->call->handle = handle;
    s->call->now = now_ms;
    s->rt->running_task = handle;
    bool ok = portal_app_call_export(s->rt, s->call, PORTAL_CALL_STEP);
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

/* One app run: what portal_run sets up, uses and tears down. */
typedef struct run_ctx {
    const portal_run_options *opts;
    portal_module mod;
    portal_rt *rt;
    void *instance;
    char **argv;
    portal_app_call call;
    bool instantiated;
    /* -v heap report: see portal_heap_report */
    long long heap_crypto, heap_table, heap_before;
} run_ctx;

/* PSA crypto (mbedTLS 3.x) keeps its state for the process once initialised, whichever app config
 * first needs it: set up here, before the -v baseline, and its size named in the report (0 with
 * mbedTLS 2.x). */
static bool init_crypto(run_ctx *r)
{
    long long heap_pre_crypto = r->opts->verbose ? portal_heap_in_use() : 0;
    int crypto_status = portal_tls_library_init();
    r->heap_crypto = r->opts->verbose ? portal_heap_in_use() - heap_pre_crypto : 0;
    if (crypto_status != 0) {
        fprintf(stderr, "portal-host: TLS crypto initialisation failed (PSA status %d)\n",
                crypto_status);
        return false;
    }
    return true;
}

/* The app context, the instance's memory, argv, portal_fs and the signal handlers; on failure
 * everything made so far is freed again. */
static bool set_up_app(run_ctx *r)
{
    const portal_run_options *opts = r->opts;
    r->rt = calloc(1, sizeof *r->rt);
    r->instance = calloc(1, r->mod.entry->instance_size);
    r->argv = calloc((size_t)opts->argc + 2, sizeof *r->argv);
    /* -v heap report: the app context's handle table is allocated before the first reading and
     * freed by teardown; measure it so the report can take it out of the comparison. */
    long long heap_at_init = opts->verbose ? portal_heap_in_use() : 0;
    bool app_ok = r->rt && r->instance && r->argv && portal_app_init(&r->rt->app, &opts->limits) &&
                  portal_fs_attach(&r->rt->app, opts->sd_dir);
    r->heap_table = opts->verbose ? portal_heap_in_use() - heap_at_init : 0;
    if (!app_ok || !portal_signals_install(opts->interrupt_fd_for)) {
        fprintf(stderr, "portal-host: out of memory\n");
        if (r->rt)
            portal_app_teardown(&r->rt->app); /* with portal_fs, if it was attached */
        free(r->rt);
        free(r->instance);
        free(r->argv);
        return false;
    }
    r->argv[0] = "app";
    for (int i = 0; i < opts->argc; i++)
        r->argv[i + 1] = opts->argv[i];
    r->rt->argc = opts->argc + 1;
    r->rt->app.next_timer_ms = next_timer_ms;
    r->rt->argv = r->argv;
    portal_microtasks_init(&r->rt->tasks);
    r->call = (portal_app_call){r->mod.entry, r->instance, 0, 0, 0};
    return true;
}

/* Instantiates the module, then _initialize (like WAMR, which calls a WASI module's _initialize
 * when instantiating it) and the contract version check. Returns 0 or the exit status. */
static int instantiate(run_ctx *r)
{
    const portal_module_entry *entry = r->mod.entry;
    portal_rt *rt = r->rt;
    r->heap_before = -1;
    wasm_rt_init();
    entry->init_module();
    r->instantiated = portal_app_instantiate(rt, entry, r->instance);
    if (!r->instantiated)
        return PORTAL_EXIT_HOST_ERROR;
    rt->memory = entry->memory(r->instance);
    portal_fault_install(rt);
    if (r->opts->verbose)
        r->heap_before = portal_heap_in_use();
    if (entry->initialize && !portal_app_call_export(rt, &r->call, PORTAL_CALL_INITIALIZE))
        return PORTAL_EXIT_HOST_ERROR;
    if (!portal_app_call_export(rt, &r->call, PORTAL_CALL_CONTRACT))
        return PORTAL_EXIT_HOST_ERROR;
    if ((uint32_t)r->call.result != 1) {
        fprintf(stderr, "portal-host: portalContractVersion() returned %u, this host speaks 1\n",
                (unsigned)r->call.result);
        return PORTAL_EXIT_HOST_ERROR;
    }
    return 0;
}

/* _start; sets *trapped, returns 0 or the exit status of a failed start. */
static int run_start(run_ctx *r, bool *trapped)
{
    portal_rt *rt = r->rt;
    int status = 0;
    if (!portal_app_call_export(rt, &r->call, PORTAL_CALL_START))
        *trapped = !rt->exiting_by_proc_exit;
    fflush(stdout);
    if (rt->exiting_by_proc_exit) {
        /* proc_exit from _start: 0 counts as a normal return (the app lives on), anything
         * else is a failed start, as upstream. */
        if (rt->exit_code != 0)
            status = rt->exit_code;
        rt->exit_requested = rt->exiting_by_proc_exit = false;
    }
    return status;
}

/* The microtask loop: due tasks run, the loop sleeps in portal_rt_wait until the next one, until
 * no task is left, the app exits or traps, a shutdown is asked for or waiting fails. */
static void event_loop(run_ctx *r, bool *trapped)
{
    portal_rt *rt = r->rt;
    step_ctx sctx = {rt, &r->call, false};
    while (!*trapped && !ended(rt) && !rt->wait_errno && portal_microtasks_any(&rt->tasks)) {
        uint32_t now = (uint32_t)portal_platform_now_ms();
        int32_t wait = portal_microtasks_wait_ms(&rt->tasks, now);
        if (wait > 0) {
            portal_rt_wait(rt, wait);
            continue;
        }
        if (portal_microtasks_run_due(&rt->tasks, now, step_task, &sctx) < 0)
            *trapped = sctx.trapped;
        if (portal_signals_seen())
            rt->shutdown_requested = true;
    }
}

/* After the loop: the exit status, calling ppShutdown when the app is to end normally. */
static int finish_app(run_ctx *r, bool trapped)
{
    portal_rt *rt = r->rt;
    int status = 0;
    if (rt->wait_errno && !trapped && !rt->exiting_by_proc_exit) {
        /* Waiting is broken (see portal_rt_wait): a host failure, so no ppShutdown. */
        fprintf(stderr, "portal-host: the event loop cannot wait: poll failed: %s; ending the "
                        "app\n", strerror(rt->wait_errno));
        status = PORTAL_EXIT_HOST_ERROR;
    }
    if (trapped) {
        status = PORTAL_EXIT_TRAP;
    } else if (rt->exiting_by_proc_exit) {
        status = rt->exit_code; /* proc_exit ends the app at once, without ppShutdown */
    } else if (status == 0 && r->mod.entry->shutdown && ended(rt)) {
        if (r->opts->verbose)
            fprintf(stderr, "portal-host: calling ppShutdown\n");
        if (!portal_app_call_export(rt, &r->call, PORTAL_CALL_SHUTDOWN))
            status = rt->exiting_by_proc_exit ? rt->exit_code : PORTAL_EXIT_TRAP;
        fflush(stdout);
    }
    if (status == 0 && rt->exit_requested)
        status = rt->exit_code;
    return status;
}

static void tear_down(run_ctx *r)
{
    fflush(stdout);
    portal_app_teardown(&r->rt->app); /* portal_fs too: every file and directory left open */
    if (r->instantiated && r->opts->verbose)
        portal_heap_report(r->heap_before, r->heap_table, r->heap_crypto);
    if (r->instantiated)
        r->mod.entry->free_instance(r->instance);
    portal_signals_uninstall();
    free(r->instance);
    free(r->argv);
    free(r->rt);
}

int portal_run(const portal_run_options *opts)
{
    run_ctx r;
    memset(&r, 0, sizeof r);
    r.opts = opts;
    if (!init_crypto(&r))
        return PORTAL_EXIT_HOST_ERROR;
    char err[2048];
    portal_module_options mod_opts = {opts->cache_dir, opts->verbose};
    if (!portal_module_load(opts->wasm_path, &mod_opts, &r.mod, err, sizeof err)) {
        fprintf(stderr, "portal-host: %s\n", err);
        return PORTAL_EXIT_HOST_ERROR;
    }
    if (!set_up_app(&r)) {
        portal_module_unload(&r.mod);
        return PORTAL_EXIT_HOST_ERROR;
    }
    int status = instantiate(&r);
    if (r.instantiated && status == 0) {
        bool trapped = false;
        status = run_start(&r, &trapped); /* a trap leaves it 0: finish_app names it */
        if (status == 0) {
            event_loop(&r, &trapped);
            status = finish_app(&r, trapped);
        }
    }
    tear_down(&r);
    portal_module_unload(&r.mod);
    return status;
}
