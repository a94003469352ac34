/* wait_fail - a test app for waits whose poll(2) fails for good (EINVAL once there are more
 * descriptors to watch than RLIMIT_NOFILE allows): each must end with an error, never spin.
 * Run by tests/integration/test_wait_fail.sh, which lowers the limit (ulimit before the start, or
 * prlimit on the running portal-host after the app printed READY). argv picks the wait:
 *   sockpoll N TIMEOUT   sockPoll on N entries that all name one idle listener
 *   delay                delayMs(50) again and again until one fails or returns early
 *   sleep                a 50 ms WASI poll_oneoff clock subscription likewise (rc: WASI errno)
 *   loop                 a microtask that sleeps 50 ms between steps, forever
 *   tlsaccept PORT       tlsAccept(timeout 20 s) on 127.0.0.1:PORT
 * Prints "RESULT <rc> <ms> <message>" for the call that failed or returned early (ms: how long it
 * took); every mode is bounded in time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include <portal/microtask.h>
#include <portal/portal.h>
#include <portal/socket.h>
#include <portal/tls_socket.h>

#include "dev_certs.h" /* the build's development certificates */

#define STEP_MS 50
#define MAX_STEPS 400 /* 20 s: the script lowers the limit well before */

static char last[160];

static const char *last_error(void)
{
    lastErrorMessage(last, sizeof last);
    return last;
}

static void result(int32_t rc, int64_t us, const char *msg)
{
    printf("RESULT %d %lld %s\n", (int)rc, (long long)(us / 1000), msg);
    fflush(stdout);
}

static void ready(void)
{
    printf("READY\n");
    fflush(stdout);
}

static int32_t listener(int32_t port)
{
    SocketAddr a = pp_addr4_loopback((uint16_t)port);
    int32_t l = sockSocket(PP_AF_INET, PP_SOCK_STREAM, 0);
    if (l <= 0 || sockBind(l, &a, sizeof a) != 0 || sockListen(l, 16) != 0) {
        printf("cannot listen on 127.0.0.1:%d: %s\n", (int)port, last_error());
        return -1;
    }
    return l;
}

static int run_sockpoll(uint32_t count, int32_t timeout_ms)
{
    int32_t l = listener(0);
    pp_poll_entry *entries = calloc(count, sizeof *entries);
    if (l < 0 || !entries)
        return 1;
    for (uint32_t i = 0; i < count; i++)
        entries[i] = (pp_poll_entry){l, PP_POLL_IN, 0};
    int64_t t0 = micros();
    int32_t rc = pp_poll(entries, count, timeout_ms);
    result(rc, micros() - t0, rc < 0 ? last_error() : "no error");
    free(entries);
    sockClose(l);
    return 0;
}

/* One 50 ms sleep through poll_oneoff itself (wasi-libc's sleeps turn every error into ENOTSUP):
 * its WASI errno, or the event's. */
static int32_t wasi_sleep(void)
{
    __wasi_subscription_t sub;
    memset(&sub, 0, sizeof sub);
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = STEP_MS * 1000000ull;
    __wasi_event_t ev;
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(&sub, &ev, 1, &n);
    return e != 0 ? e : n == 1 ? ev.error : -1;
}

/* delayMs or poll_oneoff in a loop: the first call that fails or returns before its time. */
static int run_sleeps(int use_delay)
{
    ready();
    for (int i = 0; i < MAX_STEPS; i++) {
        int64_t t0 = micros();
        int32_t rc;
        const char *msg;
        if (use_delay) {
            rc = delayMs(STEP_MS);
            msg = rc < 0 ? last_error() : "returned early";
        } else {
            rc = wasi_sleep();
            msg = rc == __WASI_ERRNO_INVAL ? "WASI errno INVAL" : rc != 0 ? "WASI error" :
                                                                           "returned early";
        }
        int64_t us = micros() - t0;
        if (rc != 0 || us < (STEP_MS - 5) * 1000) {
            result(rc, us, msg);
            return 0;
        }
    }
    result(0, 0, "no failure in 20 s");
    return 0;
}

static int steps;

static pp_action loop_step(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    if (++steps == 1)
        ready();
    if (steps > MAX_STEPS) {
        result(0, 0, "no failure in 20 s");
        return pp_done();
    }
    return pp_sleep(STEP_MS);
}

static int run_tlsaccept(int32_t port)
{
    int32_t cfg = tlsServerConfigCreate(dev_server_ec_cert, sizeof dev_server_ec_cert,
                                        dev_server_ec_key, sizeof dev_server_ec_key, NULL, 0, 0);
    int32_t l = listener(port);
    if (cfg <= 0 || l < 0)
        return 1;
    ready();
    int64_t t0 = micros();
    int32_t s = tlsAccept(cfg, l, NULL, 0, MAX_STEPS * STEP_MS);
    result(s, micros() - t0, s < 0 ? last_error() : "a client was accepted");
    if (s > 0)
        tlsClose(s);
    sockClose(l);
    tlsServerConfigFree(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "sockpoll") == 0 && argc == 4)
        return run_sockpoll((uint32_t)atoi(argv[2]), atoi(argv[3]));
    if (strcmp(mode, "delay") == 0)
        return run_sleeps(1);
    if (strcmp(mode, "sleep") == 0)
        return run_sleeps(0);
    if (strcmp(mode, "loop") == 0)
        return pp_task_start(0, 0, loop_step, NULL) < 0;
    if (strcmp(mode, "tlsaccept") == 0 && argc == 3)
        return run_tlsaccept(atoi(argv[2]));
    printf("usage: sockpoll N TIMEOUT | delay | sleep | loop | tlsaccept PORT\n");
    return 2;
}
