/* traps - a test app that ends in the trap named by argv[1], to prove portal-host reports each
 * kind and survives: oob, unreachable, stack, shadow-stack, divzero, indirect, lasterr-oob, string-oob,
 * unlinked, mistyped, step-oob (trap inside a microtask), ok (no trap); ctors (no trap: shows
 * constructors ran once although the host called exports several times); spin / spin-step (no
 * trap: never return from main / from a microtask step, for portal-host's busy-app signals). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <portal/log.h>
#include <portal/microtask.h>
#include <portal/portal.h>

#pragma clang diagnostic ignored "-Winfinite-recursion" /* the stack tests recurse on purpose */

/* Not provided by any host: links as a trap. */
__attribute__((import_module("portal_missing"), import_name("doesNotExist"))) int32_t
does_not_exist(int32_t x);
/* Provided, but declared with the wrong type: must trap, never be called. */
__attribute__((import_module("portal"), import_name("millis"))) int64_t millis_mistyped(int32_t x);

static volatile int32_t zero;
static volatile uint32_t far_away = 0xFFFFFFF0u;

static volatile int depth;

/* Only wasm locals: exhausts the native call stack. */
static int recurse(int n)
{
    depth = n;
    return recurse(n + 1) + depth;
}

/* A buffer on clang's shadow stack in linear memory: overflowing it leaves memory. */
static int recurse_shadow(int n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    return recurse_shadow(n + 1) + pad[0];
}

static int add_one(int x) { return x + 1; }
typedef int (*bad_fn)(int, int);

/* Constructors must run once, not on every export call (the reactor-model pitfall) nor once in
 * _initialize and again in _start (WAMR calls a WASI reactor's _initialize when instantiating).
 * Volatile: the compiler would otherwise evaluate the constructor at build time. */
static volatile int ctor_runs;
__attribute__((constructor)) static void count_ctor(void) { ctor_runs++; }
static int steps;

static pp_action step_ctors(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    printf("step %d: ctors=%d\n", ++steps, ctor_runs);
    return steps < 3 ? pp_sleep(1) : pp_done();
}

static pp_action step_oob(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    printf("in step\n");
    return *(volatile int64_t *)(uintptr_t)far_away;
}

static volatile uint64_t spins;

/* Busy forever without a host call: only a signal can end it. */
static void spin(const char *where)
{
    printf("spinning in %s\n", where);
    fflush(stdout);
    for (;;)
        spins++;
}

static pp_action step_spin(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    spin("a step");
    return pp_done();
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "ok";
    printf("traps: %s\n", what);
    fflush(stdout);
    if (strcmp(what, "oob") == 0)
        return *(volatile int *)(uintptr_t)far_away;
    if (strcmp(what, "unreachable") == 0)
        __builtin_trap();
    if (strcmp(what, "stack") == 0)
        return recurse(0);
    if (strcmp(what, "shadow-stack") == 0)
        return recurse_shadow(0);
    if (strcmp(what, "divzero") == 0)
        return 10 / zero;
    if (strcmp(what, "indirect") == 0) {
        volatile bad_fn f = (bad_fn)(void *)add_one;
        return f(1, 2);
    }
    if (strcmp(what, "lasterr-oob") == 0)
        return lastErrorMessage((char *)(uintptr_t)far_away, 64);
    if (strcmp(what, "string-oob") == 0) {
        /* fill the end of memory with non-NUL bytes, then pass a string that never ends */
        uint32_t size = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
        char *tail = (char *)(uintptr_t)(size - 16);
        memset(tail, 'x', 16);
        logInfo(tail);
        return 3;
    }
    if (strcmp(what, "unlinked") == 0) {
        printf("before unlinked call\n");
        fflush(stdout);
        return does_not_exist(1);
    }
    if (strcmp(what, "mistyped") == 0)
        return (int)millis_mistyped(1);
    if (strcmp(what, "ctors") == 0) {
        printf("main: ctors=%d\n", ctor_runs);
        pp_task_start(0, 0, step_ctors, NULL);
        return 0;
    }
    if (strcmp(what, "spin") == 0)
        spin("main");
    if (strcmp(what, "spin-step") == 0) {
        pp_task_start(0, 0, step_spin, NULL);
        return 0;
    }
    if (strcmp(what, "step-oob") == 0) {
        pp_task_start(0, 0, step_oob, NULL);
        return 0;
    }
    return 0;
}
