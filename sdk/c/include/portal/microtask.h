/* microtask.h - C SDK: module `portal_microtask` and the task dispatcher. An app starts tasks with
 * pp_task_start(); the SDK's portalMicroTaskStep export calls the task's function, whose return
 * value (pp_done(), pp_yield(), pp_sleep(ms)) tells the host when to run it again. */
#ifndef PORTAL_SDK_MICROTASK_H
#define PORTAL_SDK_MICROTASK_H

#include <stdint.h>

#include "portal.h"

PORTAL_IMPORT(portal_microtask, microtaskClearAll) int32_t microtaskClearAll(void);
PORTAL_IMPORT(portal_microtask, microtaskStart)
int32_t microtaskStart(int32_t start_after_ms, int32_t period_ms, int32_t flags);
PORTAL_IMPORT(portal_microtask, microtaskCancel) int32_t microtaskCancel(int32_t handle);

/* Step results: kind in the high 32 bits, argument in the low 32 bits. */
typedef int64_t pp_action;
static inline pp_action pp_done(void) { return 0; }
static inline pp_action pp_yield(void) { return (int64_t)1 << 32; }
static inline pp_action pp_sleep(uint32_t ms) { return ((int64_t)2 << 32) | (int64_t)ms; }

/* fn(user, handle, now_ms) runs on each step. */
typedef pp_action (*pp_task_fn)(void *user, int32_t handle, int32_t now_ms);

/* Starts a task; returns its handle (> 0) or a negative error code. At most 64 tasks. */
int32_t pp_task_start(int32_t start_after_ms, int32_t period_ms, pp_task_fn fn, void *user);
/* Cancels a task started with pp_task_start. */
int32_t pp_task_cancel(int32_t handle);

/* Optional app hook: called by the SDK's ppShutdown export before the host unloads the app. */
void pp_on_shutdown(void) __attribute__((weak));

#endif
