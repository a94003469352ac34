/* portal_sdk.c - the one source file every C app links: the required exports
 * (portalContractVersion, portalMicroTaskStep, portalAlloc, portalFree), ppShutdown, the task
 * dispatcher behind pp_task_start, and _start for the reactor build model.
 *
 * Why reactor: in a WASI *command* module the linker wraps every export in __wasm_call_ctors /
 * __wasm_call_dtors, so constructors and atexit handlers would run again on each microtask step.
 * Built with -mexec-model=reactor, exports are not wrapped; this _start runs main exactly once,
 * and the instance stays alive for the host to call back.
 *
 * Constructors run exactly once whoever starts the app: WAMR calls the reactor's _initialize
 * (wasi-libc's, which runs __wasm_call_ctors) when it instantiates a module that imports WASI,
 * and the firmware then calls _start; a host may also call only _start. The constructor below
 * runs as part of __wasm_call_ctors, so _start knows whether they already ran. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "portal/microtask.h"
#include "portal/socket.h"
#include "portal/portal.h"

extern void __wasm_call_ctors(void);
/* wasi-libc: collects argv from WASI and calls main (whatever its signature). */
extern int __main_void(void);

#define PP_EXPORT(name) __attribute__((export_name(#name)))

static int started;
/* Volatile so the compiler cannot evaluate the constructor at build time and fold it away. */
static volatile int ctors_ran;

__attribute__((constructor)) static void pp_sdk_note_ctors(void)
{
    ctors_ran = 1;
}

PP_EXPORT(_start) void pp_sdk_start(void)
{
    if (started)
        __builtin_trap(); /* the host runs _start once; a second entry is a bug */
    started = 1;
    if (!ctors_ran)
        __wasm_call_ctors();
    int code = __main_void();
    fflush(stdout);
    fflush(stderr);
    if (code != 0)
        exit(code); /* atexit handlers, then proc_exit: a failed start, as upstream */
}

PP_EXPORT(portalContractVersion) int32_t pp_sdk_contract_version(void)
{
    return 1;
}

PP_EXPORT(portalAlloc) int32_t pp_sdk_alloc(int32_t len)
{
    if (len <= 0)
        return 0;
    return (int32_t)(uintptr_t)malloc((size_t)len);
}

PP_EXPORT(portalFree) void pp_sdk_free(int32_t ptr, int32_t len)
{
    (void)len;
    free((void *)(uintptr_t)ptr);
}

/* ---- task dispatcher ---- */

#define PP_MAX_TASKS 64

typedef struct pp_task {
    int32_t handle; /* 0 = free */
    pp_task_fn fn;
    void *user;
} pp_task;

static pp_task tasks[PP_MAX_TASKS];

int32_t pp_task_start(int32_t start_after_ms, int32_t period_ms, pp_task_fn fn, void *user)
{
    pp_task *slot = NULL;
    for (int i = 0; i < PP_MAX_TASKS && !slot; i++)
        if (tasks[i].handle == 0)
            slot = &tasks[i];
    if (!slot || !fn)
        return PP_ERR_INVALID_ARGUMENT;
    int32_t handle = microtaskStart(start_after_ms, period_ms, 0);
    if (handle > 0) {
        slot->handle = handle;
        slot->fn = fn;
        slot->user = user;
    }
    return handle;
}

static pp_task *find_task(int32_t handle)
{
    for (int i = 0; i < PP_MAX_TASKS; i++)
        if (tasks[i].handle == handle)
            return &tasks[i];
    return NULL;
}

int32_t pp_task_cancel(int32_t handle)
{
    pp_task *t = handle > 0 ? find_task(handle) : NULL;
    if (t)
        t->handle = 0;
    return microtaskCancel(handle);
}

PP_EXPORT(portalMicroTaskStep) int64_t pp_sdk_microtask_step(int32_t handle, int32_t now_ms)
{
    pp_task *t = find_task(handle);
    if (!t)
        return pp_done(); /* a task this app did not register: let the host drop it */
    pp_action action = t->fn(t->user, handle, now_ms);
    if ((uint64_t)action >> 32 == 0) {
        t = find_task(handle); /* the task may have cancelled itself */
        if (t)
            t->handle = 0;
    }
    fflush(stdout);
    return action;
}

PP_EXPORT(ppShutdown) void pp_sdk_shutdown(void)
{
    if (pp_on_shutdown)
        pp_on_shutdown();
    fflush(stdout);
    fflush(stderr);
}

/* ---- address text (portal/socket.h) ---- */

/* RFC 5952: lower-case hex without leading zeros; the longest run of two or more zero groups (the
 * first on a tie) becomes "::". */
static void pp_sdk_ipv6_text(const uint8_t ip[16], char *out, size_t size)
{
    unsigned groups[8];
    for (int i = 0; i < 8; i++)
        groups[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
    int run_start = -1, run_len = 0;
    for (int i = 0; i < 8;) {
        int start = i;
        while (i < 8 && groups[i] == 0)
            i++;
        if (i - start >= 2 && i - start > run_len) {
            run_start = start;
            run_len = i - start;
        }
        if (i == start)
            i++;
    }
    size_t used = 0;
    for (int i = 0; i < 8 && used < size; i++) {
        int n;
        if (i == run_start) {
            n = snprintf(out + used, size - used, "::");
            i += run_len - 1;
        } else {
            bool after_run = run_start >= 0 && i == run_start + run_len;
            n = snprintf(out + used, size - used, "%s%x", i == 0 || after_run ? "" : ":", groups[i]);
        }
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

char *pp_addr_format(const pp_sockaddr_any *addr, char *out, size_t size)
{
    if (size == 0)
        return out;
    if (pp_addr_family(addr) == PP_AF_INET6) {
        char ip[48] = "";
        pp_sdk_ipv6_text(addr->v6.ip, ip, sizeof ip);
        snprintf(out, size, "[%s]:%u", ip, (unsigned)addr->v6.port);
    } else {
        const uint8_t *ip = addr->v4.ip;
        snprintf(out, size, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], (unsigned)addr->v4.port);
    }
    return out;
}
