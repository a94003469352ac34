/* rt.h - the desktop runtime's per-app state and the services its modules share: checked access
 * to the app's linear memory, traps, exit requests, microtasks. One app per portal-host process.
 * `portal_rt` starts with the portable `portal_app`, so the import glue can hand either one out. */
#ifndef PORTAL_RT_H
#define PORTAL_RT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/app.h"
#include "microtask.h"

struct wasm_rt_memory_t_;

typedef struct portal_rt {
    portal_app app; /* must stay first */
    /* Linear memory of the instance (wasm_rt_memory_t *), set once the module is instantiated. */
    void *memory;
    /* argv as the app sees it: argv[0] = "app", then the user's arguments. */
    int argc;
    char **argv;
    /* Exit state: proc_exit or exitApp. */
    bool exit_requested;
    int exit_code;
    bool exiting_by_proc_exit; /* a proc_exit unwound the current call */
    /* Message of the trap raised by the host (bounds failure, unlinked import), if any. */
    char trap_message[256];
    bool shutdown_requested; /* SIGINT/SIGTERM seen */
    int wait_errno; /* errno of a failed portal_rt_wait (0: none); the run loop ends the app */
    portal_microtasks tasks;
    int32_t running_task; /* handle of the task whose step runs now, 0 outside steps */
} portal_rt;

static inline portal_rt *portal_rt_of(portal_app *app)
{
    return (portal_rt *)app;
}

/* Memory size in bytes right now (memory can grow between calls). */
uint32_t portal_rt_memory_size(portal_rt *rt);
uint8_t *portal_rt_memory_base(portal_rt *rt);

/* Returns a host pointer to [offset, offset+len) of the app's memory, or NULL when the range does
 * not lie inside it (no overflow possible: 64-bit arithmetic). Offset 0 is valid. */
uint8_t *portal_rt_range(portal_rt *rt, uint32_t offset, uint32_t len);
/* Same as portal_rt_range, but traps the app (never returns) when the range is invalid, with
 * "out of bounds memory access: <import> argument <arg> (offset X, length Y, memory Z)". */
uint8_t *portal_rt_range_or_trap(portal_rt *rt, uint32_t offset, uint32_t len, const char *import,
                                 const char *arg);
/* Returns the NUL-terminated string at `offset`, or traps when no NUL occurs before the end. */
const char *portal_rt_string_or_trap(portal_rt *rt, uint32_t offset, const char *import,
                                     const char *arg);

/* Ends the current wasm call with a trap; `fmt` becomes the reported trap message. */
_Noreturn void portal_rt_trap(portal_rt *rt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* WASI proc_exit: unwinds the current wasm call and marks the app as exited with `code`. */
_Noreturn void portal_rt_proc_exit(portal_rt *rt, int code);

#endif
