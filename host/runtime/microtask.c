/* microtask.c - scheduler logic (see microtask.h) and the portal_microtask imports. */
#include "microtask.h"

#include <string.h>

#include "../api/api.h"
#include "../platform/platform.h"
#include "rt.h"

static void release(portal_microtask_slot *s)
{
    s->occupied = false;
    s->generation = (uint16_t)(s->generation >= 0x7FFF ? 1 : s->generation + 1);
}

static int32_t handle_of(const portal_microtasks *mt, unsigned index)
{
    return (int32_t)(((uint32_t)mt->slots[index].generation << 16) | (index + 1));
}

/* Slot index of a live handle, or -1. */
static int resolve(const portal_microtasks *mt, int32_t handle)
{
    uint32_t h = (uint32_t)handle;
    uint32_t index = h & 0xFFFF, generation = (h >> 16) & 0x7FFF;
    if (handle <= 0 || index == 0 || index > PORTAL_MICROTASK_SLOTS || generation == 0)
        return -1;
    const portal_microtask_slot *s = &mt->slots[index - 1];
    return s->occupied && s->generation == generation ? (int)index - 1 : -1;
}

void portal_microtasks_init(portal_microtasks *mt)
{
    memset(mt, 0, sizeof *mt);
    for (unsigned i = 0; i < PORTAL_MICROTASK_SLOTS; i++)
        mt->slots[i].generation = 1;
}

int32_t portal_microtasks_start(portal_microtasks *mt, uint32_t now, uint32_t start_after_ms,
                                uint32_t period_ms)
{
    for (unsigned n = 0; n < PORTAL_MICROTASK_SLOTS; n++) {
        unsigned i = (mt->alloc_cursor + n) % PORTAL_MICROTASK_SLOTS;
        portal_microtask_slot *s = &mt->slots[i];
        if (s->occupied)
            continue;
        s->occupied = true;
        s->due = now + start_after_ms;
        s->period = period_ms;
        mt->alloc_cursor = (i + 1) % PORTAL_MICROTASK_SLOTS;
        return handle_of(mt, i);
    }
    return -2;
}

bool portal_microtasks_cancel(portal_microtasks *mt, int32_t handle)
{
    int i = resolve(mt, handle);
    if (i < 0)
        return false;
    release(&mt->slots[i]);
    return true;
}

void portal_microtasks_clear_all(portal_microtasks *mt)
{
    for (unsigned i = 0; i < PORTAL_MICROTASK_SLOTS; i++)
        if (mt->slots[i].occupied)
            release(&mt->slots[i]);
    mt->alloc_cursor = mt->run_cursor = 0;
}

bool portal_microtasks_any(const portal_microtasks *mt)
{
    for (unsigned i = 0; i < PORTAL_MICROTASK_SLOTS; i++)
        if (mt->slots[i].occupied)
            return true;
    return false;
}

int32_t portal_microtasks_wait_ms_except(const portal_microtasks *mt, uint32_t now, int32_t except)
{
    int32_t best = -1;
    int skip = except ? resolve(mt, except) : -1;
    for (unsigned i = 0; i < PORTAL_MICROTASK_SLOTS; i++) {
        const portal_microtask_slot *s = &mt->slots[i];
        if (!s->occupied || (int)i == skip)
            continue;
        int32_t wait = portal_time_reached(now, s->due) ? 0 : (int32_t)(s->due - now);
        if (best < 0 || wait < best)
            best = wait;
    }
    return best;
}

/* First period boundary strictly after `now`; missed periods are skipped. */
static uint32_t next_boundary(uint32_t prev, uint32_t period, uint32_t now)
{
    uint32_t elapsed = now - prev;
    return prev + (elapsed / period + 1) * period;
}

static void reschedule(portal_microtask_slot *s, uint32_t prev, uint32_t now, int64_t action)
{
    uint32_t kind = (uint32_t)((uint64_t)action >> 32);
    uint32_t arg = (uint32_t)(uint64_t)action;
    if (kind == PORTAL_ACTION_YIELD) {
        s->due = s->period ? next_boundary(prev, s->period, now) : now + PORTAL_MICROTASK_YIELD_DELAY_MS;
    } else if (kind == PORTAL_ACTION_SLEEP_MS) {
        uint32_t wake = now + (arg == 0 ? PORTAL_MICROTASK_YIELD_DELAY_MS : arg);
        if (s->period) {
            uint32_t boundary = next_boundary(prev, s->period, now);
            /* whichever is later under the wrap rule */
            wake = portal_time_reached(wake, boundary) ? wake : boundary;
        }
        s->due = wake;
    } else {
        release(s);
    }
}

int portal_microtasks_run_due(portal_microtasks *mt, uint32_t now, portal_microtask_step_fn step,
                              void *ctx)
{
    int steps = 0;
    while (steps < PORTAL_MICROTASK_STEPS_PER_WAKE) {
        int found = -1;
        for (unsigned n = 0; n < PORTAL_MICROTASK_SLOTS; n++) {
            unsigned i = (mt->run_cursor + n) % PORTAL_MICROTASK_SLOTS;
            if (mt->slots[i].occupied && portal_time_reached(now, mt->slots[i].due)) {
                found = (int)i;
                break;
            }
        }
        if (found < 0)
            break;
        mt->run_cursor = ((unsigned)found + 1) % PORTAL_MICROTASK_SLOTS;
        int32_t handle = handle_of(mt, (unsigned)found);
        uint32_t prev = mt->slots[found].due;
        int64_t action = 0;
        steps++;
        if (!step(ctx, handle, (int32_t)now, &action))
            return -1;
        if (resolve(mt, handle) != found)
            continue; /* cancelled or cleared by the step itself */
        reschedule(&mt->slots[found], prev, now, action);
    }
    return steps;
}

/* ---- imports of module portal_microtask ---- */

static uint32_t now_ms(void)
{
    return (uint32_t)portal_platform_now_ms();
}

int32_t portal_microtask_clear_all(portal_app *app)
{
    portal_microtasks_clear_all(&portal_rt_of(app)->tasks);
    return 0;
}

int32_t portal_microtask_start(portal_app *app, int32_t start_after_ms, int32_t period_ms,
                               int32_t flags)
{
    if (start_after_ms < 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "microtaskStart: start_after_ms < 0");
    if (period_ms < 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "microtaskStart: period_ms < 0");
    if (flags != 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "microtaskStart: flags must be 0");
    int32_t handle = portal_microtasks_start(&portal_rt_of(app)->tasks, now_ms(),
                                             (uint32_t)start_after_ms, (uint32_t)period_ms);
    if (handle < 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "microtaskStart: no free task slots");
    return handle;
}

int32_t portal_microtask_cancel(portal_app *app, int32_t handle)
{
    if (handle <= 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "microtaskCancel: handle <= 0");
    if (!portal_microtasks_cancel(&portal_rt_of(app)->tasks, handle))
        return portal_fail(app, PORTAL_ERR_NOT_FOUND, "microtaskCancel: handle not found");
    return 0;
}
