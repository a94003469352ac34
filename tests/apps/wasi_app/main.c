/* wasi_app - a test app that exercises portal-host's WASI preview1 subset through wasi-libc and
 * through raw __wasi_* calls: stdout/stderr, args, an empty environment, clocks, sleeps
 * (poll_oneoff), randomness, sched_yield, no host files, the ENOSYS rows, bad-pointer FAULTs,
 * and finally exit(N) with N = the last argument (proc_exit after atexit handlers).
 * Each check prints "wasi: <check> ok" or "wasi: <check> FAIL (...)" on stdout;
 * tests/integration/test_wasi.sh runs it and reads those lines. */
#define _DEFAULT_SOURCE /* arc4random_buf, clock_nanosleep, getentropy under -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

#include <portal/log.h>
#include <portal/microtask.h>
#include <portal/portal.h>

/* proc_raise is no longer declared by wasi-libc's header; import it directly. */
__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise"))) int32_t
raw_proc_raise(int32_t sig);

static int failures;

static void check(const char *name, int ok, const char *detail)
{
    if (ok) {
        printf("wasi: %s ok\n", name);
    } else {
        failures++;
        printf("wasi: %s FAIL (%s)\n", name, detail ? detail : "");
    }
}

static char detail_buf[160];
#define DETAIL(...) (snprintf(detail_buf, sizeof detail_buf, __VA_ARGS__), detail_buf)

static int64_t ns_of(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void check_stdio(void)
{
    printf("wasi-stdout-marker: hello from stdout\n");
    fprintf(stderr, "wasi-stderr-marker: hello from stderr\n");
    /* Several iovecs in one fd_write, written in order. */
    const char *a = "wasi-iovec-marker: ", *b = "one ", *c = "two\n";
    __wasi_ciovec_t iov[3] = {{(const uint8_t *)a, strlen(a)},
                              {(const uint8_t *)b, strlen(b)},
                              {(const uint8_t *)c, strlen(c)}};
    fflush(stdout);
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_write(1, iov, 3, &n);
    check("fd_write_iovecs", e == 0 && n == strlen(a) + strlen(b) + strlen(c),
          DETAIL("errno %d, n %u", e, (unsigned)n));
    check("isatty_stdout", isatty(1) == 1, "stdout should be a character device");
    check("write_badfd", write(5, "x", 1) == -1 && errno == EBADF, DETAIL("errno %d", errno));
    /* SEEK_SET reaches fd_seek; lseek(fd, 0, SEEK_CUR) (ftell) reaches fd_tell. */
    errno = 0;
    check("lseek_stdout_spipe", lseek(1, 10, SEEK_SET) == -1 && errno == ESPIPE,
          DETAIL("errno %d", errno));
    errno = 0;
    check("tell_stdout_spipe", lseek(1, 0, SEEK_CUR) == -1 && errno == ESPIPE,
          DETAIL("errno %d", errno));
    /* The integration test runs us with stdin from /dev/null: one read gives end of file. */
    char buf[16];
    check("stdin_eof", read(0, buf, sizeof buf) == 0, DETAIL("errno %d", errno));
    /* A buffer outside linear memory is FAULT, never a host crash. */
    __wasi_ciovec_t bad = {(const uint8_t *)(uintptr_t)0xFFFFFF00u, 0x1000};
    e = __wasi_fd_write(1, &bad, 1, &n);
    check("fd_write_fault", e == __WASI_ERRNO_FAULT, DETAIL("errno %d", e));
}

static void check_args(int argc, char **argv)
{
    printf("wasi: argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("wasi: argv[%d]=<%s>\n", i, argv[i]);
    check("argv0", argc >= 1 && strcmp(argv[0], "app") == 0, argc >= 1 ? argv[0] : "no argv");
    __wasi_size_t count = 0, size = 0;
    __wasi_errno_t e = __wasi_args_sizes_get(&count, &size);
    size_t want = 0;
    for (int i = 0; i < argc; i++)
        want += strlen(argv[i]) + 1;
    check("args_sizes_get", e == 0 && count == (__wasi_size_t)argc && size == want,
          DETAIL("errno %d count %u size %u", e, (unsigned)count, (unsigned)size));
}

static void check_environ(void)
{
    /* The test script sets PORTAL_WASI_TEST_VAR in the host's environment: it must not leak. */
    check("getenv_null", getenv("PATH") == NULL && getenv("HOME") == NULL &&
                             getenv("PORTAL_WASI_TEST_VAR") == NULL,
          "host environment visible");
    __wasi_size_t count = 1, size = 1;
    __wasi_errno_t e = __wasi_environ_sizes_get(&count, &size);
    check("environ_empty", e == 0 && count == 0 && size == 0,
          DETAIL("errno %d count %u size %u", e, (unsigned)count, (unsigned)size));
}

static void check_clocks(void)
{
    int64_t real = ns_of(CLOCK_REALTIME);
    printf("wasi: realtime_s=%lld\n", (long long)(real / 1000000000));
    check("realtime_plausible", real > INT64_C(1672531200) * 1000000000, "before 2023");
    int64_t m1 = ns_of(CLOCK_MONOTONIC);
    sched_yield();
    int64_t m2 = ns_of(CLOCK_MONOTONIC);
    check("monotonic_increasing", m1 > 0 && m2 >= m1, DETAIL("%lld then %lld", (long long)m1, (long long)m2));
    struct timespec res;
    check("clock_getres", clock_getres(CLOCK_MONOTONIC, &res) == 0 &&
                              (res.tv_sec > 0 || res.tv_nsec > 0),
          "no resolution");
    __wasi_timestamp_t t;
    check("clock_bad_id", __wasi_clock_time_get(99, 0, &t) == __WASI_ERRNO_INVAL, "expected INVAL");
    check("clock_fault",
          __wasi_clock_time_get(1, 0, (__wasi_timestamp_t *)(uintptr_t)0xFFFFFFFCu) ==
              __WASI_ERRNO_FAULT,
          "expected FAULT");
}

static void check_sleeps(void)
{
    int64_t t0 = ns_of(CLOCK_MONOTONIC);
    struct timespec req = {0, 50 * 1000000};
    int r = nanosleep(&req, NULL);
    int64_t took = ns_of(CLOCK_MONOTONIC) - t0;
    printf("wasi: nanosleep_ms=%lld\n", (long long)(took / 1000000));
    check("nanosleep_50ms", r == 0 && took >= 50 * 1000000 && took < 5000 * (int64_t)1000000,
          DETAIL("r %d took %lld ns", r, (long long)took));

    /* Absolute deadlines on both clocks. */
    t0 = ns_of(CLOCK_MONOTONIC);
    int64_t until = t0 + 30 * 1000000;
    struct timespec abs_mono = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs_mono, NULL);
    took = ns_of(CLOCK_MONOTONIC) - t0;
    check("sleep_abs_monotonic", r == 0 && took >= 30 * 1000000, DETAIL("r %d took %lld", r, (long long)took));
    int64_t real_until = ns_of(CLOCK_REALTIME) + 30 * 1000000;
    struct timespec abs_real = {(time_t)(real_until / 1000000000), (long)(real_until % 1000000000)};
    r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs_real, NULL);
    /* The host turns a realtime deadline into a monotonic one when the call starts; allow 2 ms
     * for the two clocks drifting apart (NTP slewing) during the sleep. */
    int64_t late = ns_of(CLOCK_REALTIME) - real_until;
    check("sleep_abs_realtime", r == 0 && late >= -2 * 1000000,
          DETAIL("r %d, woke %lld ns after the deadline", r, (long long)late));

    /* Two clocks: only the earlier one fires, after about its timeout. */
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 11;
    subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[0].u.u.clock.timeout = 500 * 1000000ull;
    subs[1].userdata = 22;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 20 * 1000000ull;
    __wasi_event_t ev[2];
    __wasi_size_t nev = 0;
    t0 = ns_of(CLOCK_MONOTONIC);
    __wasi_errno_t e = __wasi_poll_oneoff(subs, ev, 2, &nev);
    took = ns_of(CLOCK_MONOTONIC) - t0;
    check("poll_earliest_clock",
          e == 0 && nev == 1 && ev[0].userdata == 22 && ev[0].error == 0 &&
              ev[0].type == __WASI_EVENTTYPE_CLOCK && took >= 20 * 1000000 &&
              took < 400 * (int64_t)1000000,
          DETAIL("errno %d nev %u ud %llu took %lld", e, (unsigned)nev,
                 (unsigned long long)ev[0].userdata, (long long)took));

    /* stdout is writable at once; an unknown fd is reported with BADF, without waiting. */
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 33;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    subs[0].u.u.fd_write.file_descriptor = 1;
    subs[1].userdata = 44;
    subs[1].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[1].u.u.fd_read.file_descriptor = 9;
    e = __wasi_poll_oneoff(subs, ev, 2, &nev);
    int saw_write = 0, saw_badf = 0;
    for (unsigned i = 0; e == 0 && i < nev; i++) {
        if (ev[i].userdata == 33 && ev[i].type == __WASI_EVENTTYPE_FD_WRITE && ev[i].error == 0)
            saw_write = 1;
        if (ev[i].userdata == 44 && ev[i].error == __WASI_ERRNO_BADF)
            saw_badf = 1;
    }
    check("poll_fds", e == 0 && nev == 2 && saw_write && saw_badf,
          DETAIL("errno %d nev %u", e, (unsigned)nev));
    struct pollfd pfd = {.fd = 1, .events = POLLOUT};
    check("libc_poll_stdout", poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLOUT), "not writable");
    check("poll_zero_subs", __wasi_poll_oneoff(subs, ev, 0, &nev) == __WASI_ERRNO_INVAL,
          "expected INVAL");
    check("poll_fault",
          __wasi_poll_oneoff(subs, (__wasi_event_t *)(uintptr_t)0xFFFFFFF0u, 1, &nev) ==
              __WASI_ERRNO_FAULT,
          "expected FAULT");
}

static void check_random(void)
{
    unsigned char a[32], b[64];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    check("getentropy", getentropy(a, sizeof a) == 0 && !all_zero(a, sizeof a), "zero bytes");
    arc4random_buf(b, sizeof b);
    check("arc4random", !all_zero(b, sizeof b), "zero bytes");
    check("random_fault",
          __wasi_random_get((uint8_t *)(uintptr_t)0xFFFFFFF0u, 64) == __WASI_ERRNO_FAULT,
          "expected FAULT");
}

static void check_misc(void)
{
    check("sched_yield", sched_yield() == 0, "failed");
    errno = 0;
    FILE *f = fopen("/etc/passwd", "r");
    check("no_host_files", f == NULL, "opened /etc/passwd");
    if (f)
        fclose(f);
    check("no_create", open("/tmp/portal-wasi-test", O_CREAT | O_WRONLY, 0644) < 0, "created a file");
    __wasi_prestat_t ps;
    check("no_preopens", __wasi_fd_prestat_get(3, &ps) == __WASI_ERRNO_BADF, "fd 3 preopened");
    __wasi_fdstat_t st;
    __wasi_errno_t e = __wasi_fd_fdstat_get(2, &st);
    check("fdstat_stderr",
          e == 0 && st.fs_filetype == __WASI_FILETYPE_CHARACTER_DEVICE &&
              (st.fs_rights_base & __WASI_RIGHTS_FD_WRITE),
          DETAIL("errno %d type %d", e, st.fs_filetype));
    check("fdstat_badf", __wasi_fd_fdstat_get(7, &st) == __WASI_ERRNO_BADF, "expected BADF");
    __wasi_filestat_t fs;
    check("nosys_filestat", __wasi_fd_filestat_get(1, &fs) == __WASI_ERRNO_NOSYS, "expected NOSYS");
    __wasi_fd_t nfd;
    check("nosys_path_open",
          __wasi_path_open(3, 0, "x", 0, 0, 0, 0, &nfd) == __WASI_ERRNO_NOSYS, "expected NOSYS");
    check("nosys_proc_raise", raw_proc_raise(2) == __WASI_ERRNO_NOSYS, "expected NOSYS");
}

static void on_exit_handler(void)
{
    printf("wasi: atexit ran, %d failed\n", failures);
    /* No newline: exit() must still flush it. */
    printf("wasi-final-unterminated");
}

int main(int argc, char **argv)
{
    pp_logf(PP_LOG_INFO, "wasi_app: starting with %d arguments", argc);
    check("api_version", apiVersion() == 1, "portal.apiVersion != 1");
    check_stdio();
    check_args(argc, argv);
    check_environ();
    check_clocks();
    check_sleeps();
    check_random();
    check_misc();
    atexit(on_exit_handler);
    int code = argc > 1 ? atoi(argv[argc - 1]) : 0;
    printf("wasi: exiting with %d\n", code);
    exit(code);
}
