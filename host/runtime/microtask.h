/* microtask.h - the microtask scheduler with upstream's exact semantics (docs/spec-microtask.md):
 * 64 slots, 15-bit generations in handles, round-robin allocation and running, wrap-safe u32 ms
 * time, at most 16 steps per wake. Pure logic: the caller supplies time and the step call. */
#ifndef PORTAL_MICROTASK_H
#define PORTAL_MICROTASK_H

#include <stdbool.h>
#include <stdint.h>

#define PORTAL_MICROTASK_SLOTS 64
#define PORTAL_MICROTASK_STEPS_PER_WAKE 16
#define PORTAL_MICROTASK_YIELD_DELAY_MS 50

enum { PORTAL_ACTION_DONE = 0, PORTAL_ACTION_YIELD = 1, PORTAL_ACTION_SLEEP_MS = 2 };

typedef struct portal_microtask_slot {
    bool occupied;
    uint16_t generation; /* 1..0x7FFF */
    uint32_t due;
    uint32_t period;
} portal_microtask_slot;

typedef struct portal_microtasks {
    portal_microtask_slot slots[PORTAL_MICROTASK_SLOTS];
    unsigned alloc_cursor;
    unsigned run_cursor;
} portal_microtasks;

/* Calls the app's step export; returns false when the call trapped (the batch stops). */
typedef bool (*portal_microtask_step_fn)(void *ctx, int32_t handle, int32_t now_ms, int64_t *action);

void portal_microtasks_init(portal_microtasks *mt);
/* Returns a handle (> 0) or -2 when every slot is busy. Arguments are already validated. */
int32_t portal_microtasks_start(portal_microtasks *mt, uint32_t now, uint32_t start_after_ms,
                                uint32_t period_ms);
/* true when `handle` named a live task, which is now removed. */
bool portal_microtasks_cancel(portal_microtasks *mt, int32_t handle);
void portal_microtasks_clear_all(portal_microtasks *mt);
bool portal_microtasks_any(const portal_microtasks *mt);
/* Milliseconds from `now` until the earliest due task (0 when one is due), -1 when none.
 * `except` (a handle, or 0) is left out: the task that is running now. */
int32_t portal_microtasks_wait_ms_except(const portal_microtasks *mt, uint32_t now, int32_t except);
static inline int32_t portal_microtasks_wait_ms(const portal_microtasks *mt, uint32_t now)
{
    return portal_microtasks_wait_ms_except(mt, now, 0);
}
/* Runs up to 16 due tasks with this single `now`. Returns the number of steps run, or -1 when a
 * step trapped. */
int portal_microtasks_run_due(portal_microtasks *mt, uint32_t now, portal_microtask_step_fn step,
                              void *ctx);
/* "now has reached t" under wrap-around. */
static inline bool portal_time_reached(uint32_t now, uint32_t t)
{
    return (uint32_t)(now - t) < 0x80000000u;
}

#endif
