/* test_microtask.c - the scheduler's exact semantics (docs/spec-microtask.md) with controlled time:
 * one-shot, periodic, yield, sleep, cancel, clear-all, wrap-safe time, 64-slot limit, 16 steps
 * per wake, handle generations, round-robin fairness, results of cancelled tasks discarded. */
#include "runtime/microtask.h"
#include "testlib.h"

typedef struct script {
    int calls;
    int32_t handles[64];
    int32_t nows[64];
    int64_t action;               /* what every step returns */
    portal_microtasks *mt;        /* for steps that cancel */
    int32_t cancel_in_step;       /* handle to cancel from inside the step, 0 = none */
    bool clear_in_step;
    bool trap_on_call;            /* simulate a trapping step */
} script;

static bool step(void *ctx, int32_t handle, int32_t now_ms, int64_t *action)
{
    script *s = ctx;
    if (s->calls < 64) {
        s->handles[s->calls] = handle;
        s->nows[s->calls] = now_ms;
    }
    s->calls++;
    if (s->trap_on_call)
        return false;
    if (s->cancel_in_step)
        portal_microtasks_cancel(s->mt, s->cancel_in_step);
    if (s->clear_in_step)
        portal_microtasks_clear_all(s->mt);
    *action = s->action;
    return true;
}

#define YIELD ((int64_t)1 << 32)
#define SLEEP(ms) (((int64_t)2 << 32) | (uint32_t)(ms))
#define DONE 0

static void test_one_shot_and_done(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    script s = {.action = DONE};
    int32_t h = portal_microtasks_start(&mt, 1000, 30, 0);
    CHECK(h > 0);
    CHECK_EQ_INT(h, (1 << 16) | 1); /* generation 1, slot 1 */
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 1000), 30);
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 1029, step, &s), 0);
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 1030, step, &s), 1);
    CHECK_EQ_INT(s.nows[0], 1030);
    CHECK(!portal_microtasks_any(&mt));
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 1030), -1);
    /* the slot's generation moved on: the old handle no longer resolves */
    CHECK(!portal_microtasks_cancel(&mt, h));
}

static void test_yield_and_sleep(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    script s = {.action = YIELD};
    portal_microtasks_start(&mt, 500, 0, 0);
    portal_microtasks_run_due(&mt, 500, step, &s);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 500), 50); /* YIELD without period: +50 ms */
    s.action = SLEEP(0);
    portal_microtasks_run_due(&mt, 550, step, &s);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 550), 50); /* SLEEP(0) means 50 ms */
    s.action = SLEEP(16);
    portal_microtasks_run_due(&mt, 600, step, &s);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 600), 16); /* small sleeps are honoured */
    s.action = ((int64_t)7 << 32); /* invalid kind: removed like DONE */
    portal_microtasks_run_due(&mt, 616, step, &s);
    CHECK(!portal_microtasks_any(&mt));
}

static void test_periodic(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    script s = {.action = YIELD};
    portal_microtasks_start(&mt, 0, 0 + 100, 100); /* first due at now+100, period 100 */
    portal_microtasks_run_due(&mt, 100, step, &s);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 100), 100); /* next boundary 200 */
    /* ran late at 450 for due 200: missed periods are skipped, next is 500 */
    portal_microtasks_run_due(&mt, 450, step, &s);
    CHECK_EQ_INT(s.calls, 2);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 450), 50);
    /* SLEEP with a period: the later of now+sleep and the next boundary */
    s.action = SLEEP(30);
    portal_microtasks_run_due(&mt, 500, step, &s);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 500), 100); /* boundary 600 > 530 */
    s.action = SLEEP(250);
    portal_microtasks_run_due(&mt, 600, step, &s);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 600), 250); /* 850 > boundary 700 */
}

static void test_wrap_safe_time(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    script s = {.action = YIELD};
    uint32_t near_wrap = 0xFFFFFFF0u;
    portal_microtasks_start(&mt, near_wrap, 0x20, 0); /* due = 0x10 after wrapping */
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, near_wrap), 0x20);
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 0xFFFFFFFFu, step, &s), 0);
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 0x10, step, &s), 1);
    CHECK_EQ_INT((uint32_t)s.nows[0], 0x10);
    CHECK_EQ_INT(portal_microtasks_wait_ms(&mt, 0x10), 50);
    CHECK(portal_time_reached(5, 0xFFFFFFFBu));
    CHECK(!portal_time_reached(0xFFFFFFFBu, 5));
    /* SLEEP > 2^31 lands "in the past" under the wrap rule: it runs again in the same batch.
     * (Exactly 2^31 is 0x80000000 ahead, which the `< 0x80000000` rule counts as not reached.) */
    portal_microtasks_clear_all(&mt);
    script t = {.action = SLEEP(0x80000001u)};
    portal_microtasks_start(&mt, 1000, 0, 0);
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 1000, step, &t), 16);
    portal_microtasks_clear_all(&mt);
    script u = {.action = SLEEP(0x80000000u)};
    portal_microtasks_start(&mt, 1000, 0, 0);
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 1000, step, &u), 1);
}

static void test_cancel_clear_generations(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    int32_t a = portal_microtasks_start(&mt, 0, 10, 0);
    int32_t b = portal_microtasks_start(&mt, 0, 10, 0);
    CHECK_EQ_INT(a & 0xFFFF, 1);
    CHECK_EQ_INT(b & 0xFFFF, 2);
    CHECK(portal_microtasks_cancel(&mt, a));
    CHECK(!portal_microtasks_cancel(&mt, a)); /* stale */
    CHECK(!portal_microtasks_cancel(&mt, 0));
    CHECK(!portal_microtasks_cancel(&mt, -5));
    CHECK(!portal_microtasks_cancel(&mt, (1 << 16) | 65)); /* slot index > 64 */
    CHECK(!portal_microtasks_cancel(&mt, 3));              /* generation 0 */
    /* allocation continues round-robin after the last allocated slot, not in the freed one */
    int32_t c = portal_microtasks_start(&mt, 0, 10, 0);
    CHECK_EQ_INT(c & 0xFFFF, 3);
    portal_microtasks_clear_all(&mt);
    CHECK(!portal_microtasks_any(&mt));
    CHECK(!portal_microtasks_cancel(&mt, b));
    /* clear-all resets the cursor: slot 1 again, with a bumped generation */
    int32_t d = portal_microtasks_start(&mt, 0, 10, 0);
    CHECK_EQ_INT(d & 0xFFFF, 1);
    CHECK_EQ_INT((d >> 16) & 0x7FFF, 2); /* bumped once, by the cancel of `a` */
}

static void test_generation_wraps(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    mt.slots[0].generation = 0x7FFF;
    int32_t h = portal_microtasks_start(&mt, 0, 0, 0);
    CHECK_EQ_INT(h, (0x7FFF << 16) | 1);
    CHECK(h > 0);
    portal_microtasks_cancel(&mt, h);
    CHECK_EQ_INT(mt.slots[0].generation, 1); /* 0x7FFF wraps to 1, never 0 */
}

static void test_slot_limit(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    for (int i = 0; i < 64; i++)
        CHECK(portal_microtasks_start(&mt, 0, 0, 0) > 0);
    CHECK_EQ_INT(portal_microtasks_start(&mt, 0, 0, 0), -2);
}

static void test_steps_per_wake_and_fairness(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    for (int i = 0; i < 20; i++)
        portal_microtasks_start(&mt, 0, 0, 0);
    script s = {.action = YIELD};
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 0, step, &s), 16);
    for (int i = 0; i < 16; i++)
        CHECK_EQ_INT(s.handles[i] & 0xFFFF, i + 1);
    /* the next wake starts after the last run slot: 17..20 first */
    script t = {.action = YIELD};
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 0, step, &t), 4);
    CHECK_EQ_INT(t.handles[0] & 0xFFFF, 17);
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(t.nows[i], 0); /* one `now` for the whole batch */
}

static void test_step_cancels_or_traps(void)
{
    portal_microtasks mt;
    portal_microtasks_init(&mt);
    int32_t h = portal_microtasks_start(&mt, 0, 0, 0);
    script s = {.action = YIELD, .mt = &mt, .cancel_in_step = h};
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 0, step, &s), 1);
    CHECK(!portal_microtasks_any(&mt)); /* the YIELD of a cancelled task is discarded */

    portal_microtasks_start(&mt, 0, 0, 0);
    script c = {.action = YIELD, .mt = &mt, .clear_in_step = true};
    portal_microtasks_run_due(&mt, 0, step, &c);
    CHECK(!portal_microtasks_any(&mt));

    int32_t k = portal_microtasks_start(&mt, 0, 0, 0);
    portal_microtasks_start(&mt, 0, 0, 0);
    script t = {.action = YIELD, .trap_on_call = true};
    CHECK_EQ_INT(portal_microtasks_run_due(&mt, 0, step, &t), -1);
    CHECK_EQ_INT(t.calls, 1); /* the batch stops at the trap */
    CHECK(portal_microtasks_cancel(&mt, k)); /* the trapping task was left untouched */
}

int main(void)
{
    test_one_shot_and_done();
    test_yield_and_sleep();
    test_periodic();
    test_wrap_safe_time();
    test_cancel_clear_generations();
    test_generation_wraps();
    test_slot_limit();
    test_steps_per_wake_and_fairness();
    test_step_cancels_or_traps();
    return testlib_finish();
}
