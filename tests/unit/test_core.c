/* test_core.c - per-app core: handle table (positive, never reused, kind-checked, stale handles
 * rejected), last error rules (127 bytes max, NUL-terminated, success keeps it, out_len 0 writes
 * nothing), apiVersion/apiFeatures. */
#include <stdlib.h>

#include "api/api.h"
#include "core/app.h"
#include "core/deadline.h"
#include "core/features.h"
#include "platform/platform.h"
#include "testlib.h"

static void count_cb(int32_t handle, void *object, void *ctx)
{
    (void)handle;
    (void)object;
    (*(int *)ctx)++;
}

static void test_handles(void)
{
    portal_handles t;
    CHECK(portal_handles_init(&t, 4));
    int a_obj, b_obj;
    int32_t a = portal_handles_add(&t, PORTAL_HANDLE_SOCKET, &a_obj);
    int32_t b = portal_handles_add(&t, PORTAL_HANDLE_TLS_CONFIG, &b_obj);
    CHECK(a > 0 && b > 0 && a != b);
    CHECK(portal_handles_get(&t, a, PORTAL_HANDLE_SOCKET) == &a_obj);
    CHECK(portal_handles_get(&t, a, PORTAL_HANDLE_TLS_CONFIG) == NULL); /* wrong kind */
    CHECK(portal_handles_get(&t, 0, PORTAL_HANDLE_SOCKET) == NULL);
    CHECK(portal_handles_get(&t, -a, PORTAL_HANDLE_SOCKET) == NULL);
    CHECK(portal_handles_get(&t, a + 1000, PORTAL_HANDLE_SOCKET) == NULL);
    /* live handles per kind: what the socket, session and config limits count */
    CHECK_EQ_INT((int)portal_handles_count(&t, PORTAL_HANDLE_SOCKET), 1);
    CHECK_EQ_INT((int)portal_handles_count(&t, PORTAL_HANDLE_TLS_CONFIG), 1);
    CHECK_EQ_INT((int)portal_handles_count(&t, PORTAL_HANDLE_TLS_SESSION), 0);
    CHECK_EQ_INT(portal_handles_add(&t, PORTAL_HANDLE_FREE, &a_obj), 0); /* not a kind */
    CHECK_EQ_INT(portal_handles_add(&t, PORTAL_HANDLE_KINDS, &a_obj), 0);
    CHECK(portal_handles_remove(&t, a));
    CHECK(!portal_handles_remove(&t, a)); /* idempotent at this level: second remove is false */
    CHECK_EQ_INT((int)portal_handles_count(&t, PORTAL_HANDLE_SOCKET), 0); /* once, not twice */
    CHECK_EQ_INT((int)portal_handles_count(&t, PORTAL_HANDLE_TLS_CONFIG), 1);
    CHECK(portal_handles_get(&t, a, PORTAL_HANDLE_SOCKET) == NULL);
    /* values are never handed out twice, even after thousands of add/remove cycles */
    int32_t seen_max = b;
    for (int i = 0; i < 5000; i++) {
        int32_t h = portal_handles_add(&t, PORTAL_HANDLE_SOCKET, &a_obj);
        CHECK(h > 0);
        if (h <= 0)
            break;
        if (h == a)
            CHECK(!"stale handle value reused");
        if (h > seen_max)
            seen_max = h;
        portal_handles_remove(&t, h);
    }
    /* full table */
    int32_t hs[4];
    int added = 0;
    for (int i = 0; i < 4; i++)
        if ((hs[i] = portal_handles_add(&t, PORTAL_HANDLE_SOCKET, &a_obj)) > 0)
            added++;
    CHECK_EQ_INT(added, 3); /* b still holds one slot */
    CHECK_EQ_INT(portal_handles_add(&t, PORTAL_HANDLE_SOCKET, &a_obj), 0);
    int n = 0;
    portal_handles_each(&t, PORTAL_HANDLE_SOCKET, count_cb, &n);
    CHECK_EQ_INT(n, 3);
    n = 0;
    portal_handles_each(&t, PORTAL_HANDLE_FREE, count_cb, &n);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT((int)portal_handles_count(&t, PORTAL_HANDLE_SOCKET), 3);
    portal_handles_free(&t);
}

static void test_last_error(void)
{
    portal_app app;
    CHECK(portal_app_init(&app, NULL));
    uint8_t buf[256];
    CHECK_EQ_INT(portal_core_last_error_code(&app), 0);
    CHECK_EQ_INT(portal_core_last_error_message(&app, buf, sizeof buf), 0); /* starts empty */
    CHECK_EQ_INT(buf[0], 0);

    CHECK_EQ_INT(portal_fail(&app, PORTAL_ERR_NOT_READY, "sockRecv: %s", "would block"), -3);
    CHECK_EQ_INT(portal_core_last_error_code(&app), -3);
    CHECK_EQ_INT(portal_core_last_error_message(&app, buf, sizeof buf), 21);
    CHECK_STR((char *)buf, "sockRecv: would block");

    /* out_len 0: nothing written, 0 returned */
    memset(buf, 'z', sizeof buf);
    CHECK_EQ_INT(portal_core_last_error_message(&app, buf, 0), 0);
    CHECK_EQ_INT(buf[0], 'z');
    /* truncation: out_len - 1 bytes and a NUL */
    CHECK_EQ_INT(portal_core_last_error_message(&app, buf, 5), 4);
    CHECK_STR((char *)buf, "sock");
    CHECK_EQ_INT(portal_core_last_error_message(&app, buf, 1), 0);
    CHECK_EQ_INT(buf[0], 0);

    /* messages are cut to 127 bytes */
    char longmsg[400];
    memset(longmsg, 'a', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    portal_fail(&app, PORTAL_ERR_INTERNAL, "%s", longmsg);
    CHECK_EQ_INT(portal_core_last_error_message(&app, buf, sizeof buf), 127);
    CHECK_EQ_INT(buf[127], 0);

    /* success does not clear it */
    CHECK_EQ_INT(portal_core_api_version(&app), 1);
    CHECK_EQ_INT(portal_core_last_error_code(&app), -2);
    portal_app_teardown(&app);
    portal_app_teardown(&app); /* safe twice */
}

static void test_features(void)
{
    portal_app app;
    CHECK(portal_app_init(&app, NULL));
    uint64_t f = (uint64_t)portal_core_api_features(&app);
    CHECK((f & 0xFFFFFFFFu) == ((1u << 0) | (1u << 1) | (1u << 12) | (1u << 15) | (1u << 16) | (1u << 20)));
    CHECK(f & PORTAL_FEATURE_EXT_SOCKET_IPV6);
    CHECK(f & PORTAL_FEATURE_EXT_TLS_SESSION_INFO);
    CHECK_EQ_INT(portal_core_board(&app), 19);
    int32_t m1 = portal_core_millis(&app);
    int64_t u1 = portal_core_micros(&app);
    CHECK(u1 > 0);
    CHECK(portal_core_millis(&app) - m1 >= 0);
    portal_app_teardown(&app);
}

/* The one timeout rule: 0 never blocks, > 0 at most that long (never less), < 0 until ready. */
static void test_deadline(void)
{
    CHECK(portal_deadline_remaining_ms(portal_deadline_after(0)) == 0);
    CHECK(portal_deadline_after(-1) == PORTAL_DEADLINE_NEVER);
    CHECK(portal_deadline_after(INT32_MIN) == PORTAL_DEADLINE_NEVER);
    CHECK(portal_deadline_remaining_ms(PORTAL_DEADLINE_NEVER) == -1);
    int left = portal_deadline_remaining_ms(portal_deadline_after(1000));
    CHECK(left > 900 && left <= 1000);
    /* rounded up: 1 us left is still 1 ms to wait, never 0 (which would mean "passed") */
    CHECK(portal_deadline_remaining_ms(portal_platform_now_us() + 1000) >= 1);
    int big = portal_deadline_remaining_ms(portal_deadline_after(INT32_MAX));
    CHECK(big > INT32_MAX - 1000);
}

/* Module hooks: registered once, torn down in reverse order, waits and deadlines combined. */
static char teardown_order[8];
static int teardown_count;
static void teardown_a(portal_app *app) { (void)app; teardown_order[teardown_count++] = 'a'; }
static void teardown_b(portal_app *app) { (void)app; teardown_order[teardown_count++] = 'b'; }
static int fill_one(portal_app *app, portal_wait_entry *entries, int max)
{
    (void)app;
    if (max < 1)
        return 0;
    entries[0].fd = 7;
    entries[0].events = PORTAL_WAIT_READ;
    return 1;
}
static int services;
static void service(portal_app *app) { (void)app; services++; }
static int deadline_50(portal_app *app) { (void)app; return 50; }
static int deadline_none(portal_app *app) { (void)app; return -1; }
static int capacity_one(portal_app *app) { (void)app; return 1; }

static void test_modules(void)
{
    static const portal_module_ops a = {"a", teardown_a, fill_one, service, deadline_50,
                                        capacity_one};
    static const portal_module_ops b = {"b", teardown_b, fill_one, service, deadline_none,
                                        capacity_one};
    static const portal_module_ops c = {"c", NULL, NULL, NULL, NULL, NULL}; /* no waits at all */
    portal_app app;
    CHECK(portal_app_init(&app, NULL));
    CHECK(portal_app_next_deadline_ms(&app) == -1);
    CHECK(portal_app_use_module(&app, &a));
    CHECK(portal_app_use_module(&app, &b));
    CHECK(portal_app_use_module(&app, &a)); /* again: no second entry */
    CHECK(portal_app_use_module(&app, &c));
    CHECK(app.module_count == 3);
    CHECK(portal_app_wait_capacity(&app) == 2); /* what wait_fill below can write at most */
    portal_wait_entry entries[4];
    CHECK(portal_app_wait_fill(&app, entries, 4) == 2);
    CHECK(portal_app_wait_fill(&app, entries, 1) == 1); /* never past max */
    portal_app_service(&app);
    CHECK(services == 2);
    CHECK(portal_app_next_deadline_ms(&app) == 50);
    portal_app_teardown(&app);
    CHECK(teardown_count == 2 && teardown_order[0] == 'b' && teardown_order[1] == 'a');
    CHECK(app.module_count == 0);
}

int main(void)
{
    test_deadline();
    test_modules();
    test_handles();
    test_last_error();
    test_features();
    return testlib_finish();
}
