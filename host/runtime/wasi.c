/* wasi.c - the `wasi_snapshot_preview1` subset of the desktop runtime (tables: api/api_wasi.h).
 *
 * Every argument named OFF in the table is a raw app offset; each function checks every range it
 * touches with portal_rt_range before doing anything visible and returns FAULT (21) when one does
 * not lie inside linear memory. All WASI values are read and written little-endian byte by byte,
 * so the host's own byte order and alignment never matter.
 *
 * What works, and the decisions taken:
 *  - args: argv is rt->argv ("app" then the user's arguments).
 *  - environ: always empty (0 variables). The app never sees the host environment, as on the
 *    firmware (docs/abi.md#wasi).
 *  - clocks: realtime, monotonic, process and thread CPU time through clock_gettime/clock_getres;
 *    any other id is INVAL. The precision argument is ignored.
 *  - fds 0, 1, 2 are the host's stdin, stdout and stderr; no other fd exists (BADF), and there are
 *    no preopened directories (fd_prestat_get is BADF for every fd, which ends wasi-libc's
 *    preopen scan), so the app reaches no host file.
 *    fd_write(1|2) writes every byte of every iovec to the host fd (restarting partial writes).
 *    fd_read(0) waits until the host's stdin is readable (like poll_oneoff, below), then does one
 *    read(2) into the first non-empty iovec (a short count is normal; 0 is end of file).
 *    Reading 1/2 or writing 0 is BADF.
 *    fd_fdstat_get reports a character device without seek/tell rights, so wasi-libc treats
 *    stdout as a terminal and line-buffers it. fd_close on 0-2 succeeds without closing the host
 *    fd (it stays usable). fd_seek on 0-2 is SPIPE.
 *  - poll_oneoff: clock subscriptions (relative or absolute, realtime or monotonic) and fd_read
 *    on 0 / fd_write on 1-2 (real readiness, via poll(2)). Waits until the earliest one is due or
 *    ready and reports every subscription that is. CPU-time clocks get an event with error NOTSUP,
 *    unknown clock ids INVAL, other fds BADF (reported at once, without waiting). An unknown
 *    subscription tag or nsubscriptions == 0 fails the call with INVAL. An absolute realtime
 *    deadline is turned into a monotonic one when the call starts.
 *    Waiting goes through the runtime's portal_rt_wait (as delayMs does), so pending TLS
 *    handshakes keep progressing while the app sleeps; a SIGINT/SIGTERM that arrives during the
 *    wait ends it with INTR, so the app gets control back and the host can shut it down. Once a
 *    shutdown is under way (ppShutdown), sleeps are plain sleeps: they still last as long as
 *    asked, and a second signal ends portal-host anyway.
 *  - proc_exit unwinds through portal_rt_proc_exit; proc_raise is NOSYS; sched_yield yields the
 *    host thread; random_get uses the platform's CSPRNG.
 *  - Every row of PORTAL_API_WASI_NOSYS is defined from the table itself and returns NOSYS. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../api/api.h"
#include "../platform/platform.h"
#include "rt.h"
#include "run.h"
#include "wasi_nosys.h"

/* ---- WASI preview1 numbers (wasm32-wasi/wasi/api.h) ---- */
enum {
    WASI_SUCCESS = 0,
    WASI_AGAIN = 6,
    WASI_BADF = 8,
    WASI_FAULT = 21,
    WASI_FBIG = 22,
    WASI_INTR = 27,
    WASI_INVAL = 28,
    WASI_IO = 29,
    WASI_NOSPC = 51,
    WASI_NOSYS = 52,
    WASI_NOTSUP = 58,
    WASI_OVERFLOW = 61,
    WASI_PIPE = 64,
    WASI_SPIPE = 70,
};

enum { WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1, WASI_CLOCK_PROCESS = 2, WASI_CLOCK_THREAD = 3 };
enum { WASI_EVENT_CLOCK = 0, WASI_EVENT_FD_READ = 1, WASI_EVENT_FD_WRITE = 2 };

#define WASI_FILETYPE_CHARACTER_DEVICE 2u
#define WASI_RIGHT_FD_READ (UINT64_C(1) << 1)
#define WASI_RIGHT_FD_WRITE (UINT64_C(1) << 6)
#define WASI_RIGHT_POLL_FD_READWRITE (UINT64_C(1) << 27)
#define WASI_SUBCLOCK_ABSTIME 1u
#define WASI_EVENTRW_HANGUP 1u

/* Sizes and field offsets of the structures WASI passes through memory. */
#define IOVEC_SIZE 8u       /* u32 buf @0, u32 buf_len @4 */
#define FDSTAT_SIZE 24u     /* u8 filetype @0, u16 flags @2, u64 rights @8, u64 inheriting @16 */
#define SUB_SIZE 48u        /* u64 userdata @0, u8 tag @8, union @16 */
#define SUB_TAG 8u
#define SUB_CLOCK_ID 16u    /* u32 */
#define SUB_CLOCK_TIMEOUT 24u /* u64 */
#define SUB_CLOCK_FLAGS 40u /* u16 */
#define SUB_FD 16u          /* u32 */
#define EVENT_SIZE 32u      /* u64 userdata @0, u16 error @8, u8 type @10, u64 nbytes @16, u16 flags @24 */

#define NS_PER_S UINT64_C(1000000000)
#define FD_SLICE_NS (UINT64_C(10) * 1000000)  /* stdio polls between two services of the host */
#define PLAIN_SLICE_NS NS_PER_S                /* longest plain sleep (shutdown under way) */

/* ---- little-endian access to app memory ---- */
static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* portal_rt_range for a length computed in 64 bits (count * element size). */
static uint8_t *range64(portal_rt *rt, uint32_t offset, uint64_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    return portal_rt_range(rt, offset, (uint32_t)len);
}

static int32_t errno_to_wasi(int e)
{
    if (e == EAGAIN || e == EWOULDBLOCK)
        return WASI_AGAIN;
    switch (e) {
    case EBADF: return WASI_BADF;
    case EPIPE: return WASI_PIPE;
    case ENOSPC: return WASI_NOSPC;
    case EFBIG: return WASI_FBIG;
    case EINTR: return WASI_INTR;
    case EINVAL: return WASI_INVAL;
    case EFAULT: return WASI_FAULT;
    default: return WASI_IO;
    }
}

/* ---- clocks ---- */
static bool host_clock(int32_t id, clockid_t *out)
{
    switch (id) {
    case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return true;
    case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return true;
    case WASI_CLOCK_PROCESS: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
    case WASI_CLOCK_THREAD: *out = CLOCK_THREAD_CPUTIME_ID; return true;
    default: return false;
    }
}

static uint64_t timespec_ns(const struct timespec *ts)
{
    if (ts->tv_sec < 0)
        return 0;
    return (uint64_t)ts->tv_sec * NS_PER_S + (uint64_t)ts->tv_nsec;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return timespec_ns(&ts);
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- args and environ ---- */
static bool args_total_size(const portal_rt *rt, uint32_t *out)
{
    uint64_t total = 0;
    for (int i = 0; i < rt->argc; i++)
        total += strlen(rt->argv[i]) + 1;
    if (total > UINT32_MAX)
        return false;
    *out = (uint32_t)total;
    return true;
}

int32_t portal_wasi_args_sizes_get(portal_app *app, uint32_t argc_out, uint32_t size_out)
{
    portal_rt *rt = portal_rt_of(app);
    uint8_t *pc = portal_rt_range(rt, argc_out, 4);
    uint8_t *ps = portal_rt_range(rt, size_out, 4);
    if (!pc || !ps)
        return WASI_FAULT;
    uint32_t size;
    if (rt->argc < 0 || !args_total_size(rt, &size))
        return WASI_OVERFLOW;
    put_u32(pc, (uint32_t)rt->argc);
    put_u32(ps, size);
    return WASI_SUCCESS;
}

int32_t portal_wasi_args_get(portal_app *app, uint32_t argv, uint32_t buf)
{
    portal_rt *rt = portal_rt_of(app);
    uint32_t size;
    if (rt->argc < 0 || !args_total_size(rt, &size))
        return WASI_OVERFLOW;
    uint8_t *pv = range64(rt, argv, (uint64_t)rt->argc * 4);
    uint8_t *pb = portal_rt_range(rt, buf, size);
    if (!pv || !pb)
        return WASI_FAULT;
    uint32_t pos = 0;
    for (int i = 0; i < rt->argc; i++) {
        size_t len = strlen(rt->argv[i]) + 1;
        put_u32(pv + 4 * (size_t)i, buf + pos);
        memcpy(pb + pos, rt->argv[i], len);
        pos += (uint32_t)len;
    }
    return WASI_SUCCESS;
}

int32_t portal_wasi_environ_sizes_get(portal_app *app, uint32_t count_out, uint32_t size_out)
{
    portal_rt *rt = portal_rt_of(app);
    uint8_t *pc = portal_rt_range(rt, count_out, 4);
    uint8_t *ps = portal_rt_range(rt, size_out, 4);
    if (!pc || !ps)
        return WASI_FAULT;
    put_u32(pc, 0);
    put_u32(ps, 0);
    return WASI_SUCCESS;
}

int32_t portal_wasi_environ_get(portal_app *app, uint32_t environ, uint32_t buf)
{
    /* No variables: there is nothing to write (a zero-length range needs no check). */
    (void)app;
    (void)environ;
    (void)buf;
    return WASI_SUCCESS;
}

/* ---- clocks ---- */
int32_t portal_wasi_clock_res_get(portal_app *app, int32_t clock_id, uint32_t res_out)
{
    portal_rt *rt = portal_rt_of(app);
    clockid_t id;
    if (!host_clock(clock_id, &id))
        return WASI_INVAL;
    uint8_t *p = portal_rt_range(rt, res_out, 8);
    if (!p)
        return WASI_FAULT;
    struct timespec ts;
    if (clock_getres(id, &ts) != 0)
        return errno_to_wasi(errno);
    uint64_t ns = timespec_ns(&ts);
    put_u64(p, ns ? ns : 1);
    return WASI_SUCCESS;
}

int32_t portal_wasi_clock_time_get(portal_app *app, int32_t clock_id, int64_t precision,
                                   uint32_t time_out)
{
    portal_rt *rt = portal_rt_of(app);
    (void)precision;
    clockid_t id;
    if (!host_clock(clock_id, &id))
        return WASI_INVAL;
    uint8_t *p = portal_rt_range(rt, time_out, 8);
    if (!p)
        return WASI_FAULT;
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return errno_to_wasi(errno);
    put_u64(p, timespec_ns(&ts));
    return WASI_SUCCESS;
}

/* ---- file descriptors: only the host's stdio ---- */

/* Checks an iovec array and every buffer it names. On success returns SUCCESS with the host
 * pointer of the array and the total byte count; iov_at() then yields each buffer. */
static int32_t check_iovecs(portal_rt *rt, uint32_t iovs, int32_t iovs_len, uint8_t **vec_out,
                            uint64_t *total_out)
{
    if (iovs_len < 0)
        return WASI_INVAL;
    uint8_t *vec = range64(rt, iovs, (uint64_t)iovs_len * IOVEC_SIZE);
    if (!vec)
        return WASI_FAULT;
    uint64_t total = 0;
    for (int32_t i = 0; i < iovs_len; i++) {
        const uint8_t *v = vec + (size_t)i * IOVEC_SIZE;
        uint32_t len = get_u32(v + 4);
        if (!portal_rt_range(rt, get_u32(v), len))
            return WASI_FAULT;
        total += len;
    }
    if (total > UINT32_MAX)
        return WASI_INVAL; /* the count would not fit the u32 result */
    *vec_out = vec;
    *total_out = total;
    return WASI_SUCCESS;
}

static int32_t wait_for(portal_rt *rt, const short want[3], uint64_t deadline, bool immediate,
                        short revents[3]);

/* Host pointer and length of iovec `i` (already checked by check_iovecs). */
static uint8_t *iov_at(portal_rt *rt, const uint8_t *vec, int32_t i, uint32_t *len)
{
    const uint8_t *v = vec + (size_t)i * IOVEC_SIZE;
    *len = get_u32(v + 4);
    return portal_rt_range(rt, get_u32(v), *len);
}

/* Writes all of buf to fd; returns bytes written (< len only on error, errno set). */
static size_t write_fully(int fd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n > 0) {
            done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* A non-blocking host fd: wait until it takes more. */
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                return done;
        } else {
            if (n == 0)
                errno = EIO;
            return done;
        }
    }
    return done;
}

int32_t portal_wasi_fd_write(portal_app *app, int32_t fd, uint32_t iovs, int32_t iovs_len,
                             uint32_t nwritten_out)
{
    portal_rt *rt = portal_rt_of(app);
    if (fd != STDOUT_FILENO && fd != STDERR_FILENO)
        return WASI_BADF;
    uint8_t *vec;
    uint64_t total;
    int32_t err = check_iovecs(rt, iovs, iovs_len, &vec, &total);
    if (err != WASI_SUCCESS)
        return err;
    uint8_t *pn = portal_rt_range(rt, nwritten_out, 4);
    if (!pn)
        return WASI_FAULT;

    /* Keep the order of anything the host itself printed through stdio. */
    fflush(fd == STDOUT_FILENO ? stdout : stderr);
    uint64_t written = 0;
    for (int32_t i = 0; i < iovs_len; i++) {
        uint32_t len;
        uint8_t *p = iov_at(rt, vec, i, &len);
        size_t n = write_fully(fd, p, len);
        written += n;
        if (n < len) {
            if (written == 0)
                return errno_to_wasi(errno);
            break; /* report the partial count; the next call sees the error */
        }
    }
    put_u32(pn, (uint32_t)written);
    return WASI_SUCCESS;
}

int32_t portal_wasi_fd_read(portal_app *app, int32_t fd, uint32_t iovs, int32_t iovs_len,
                            uint32_t nread_out)
{
    portal_rt *rt = portal_rt_of(app);
    if (fd != STDIN_FILENO)
        return WASI_BADF;
    uint8_t *vec;
    uint64_t total;
    int32_t err = check_iovecs(rt, iovs, iovs_len, &vec, &total);
    if (err != WASI_SUCCESS)
        return err;
    uint8_t *pn = portal_rt_range(rt, nread_out, 4);
    if (!pn)
        return WASI_FAULT;

    uint8_t *dst = NULL;
    uint32_t len = 0;
    for (int32_t i = 0; i < iovs_len && len == 0; i++)
        dst = iov_at(rt, vec, i, &len);
    ssize_t n = 0;
    if (len > 0) {
        /* Wait for input the way poll_oneoff does (host kept serviced, signals end the wait),
         * then read what is there. */
        const short want[3] = {POLLIN, 0, 0};
        short revents[3];
        err = wait_for(rt, want, UINT64_MAX, false, revents);
        if (err != WASI_SUCCESS)
            return err;
        do
            n = read(STDIN_FILENO, dst, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return errno_to_wasi(errno);
    }
    put_u32(pn, (uint32_t)n);
    return WASI_SUCCESS;
}

static bool is_stdio(int32_t fd)
{
    return fd >= 0 && fd <= 2;
}

int32_t portal_wasi_fd_close(portal_app *app, int32_t fd)
{
    (void)app;
    /* The host's stdio stays open: the app only loses nothing it could reopen anyway. */
    return is_stdio(fd) ? WASI_SUCCESS : WASI_BADF;
}

int32_t portal_wasi_fd_fdstat_get(portal_app *app, int32_t fd, uint32_t stat_out)
{
    portal_rt *rt = portal_rt_of(app);
    if (!is_stdio(fd))
        return WASI_BADF;
    uint8_t *p = portal_rt_range(rt, stat_out, FDSTAT_SIZE);
    if (!p)
        return WASI_FAULT;
    uint64_t rights = WASI_RIGHT_POLL_FD_READWRITE |
                      (fd == STDIN_FILENO ? WASI_RIGHT_FD_READ : WASI_RIGHT_FD_WRITE);
    memset(p, 0, FDSTAT_SIZE);
    p[0] = WASI_FILETYPE_CHARACTER_DEVICE;
    put_u16(p + 2, 0);
    put_u64(p + 8, rights);
    put_u64(p + 16, 0);
    return WASI_SUCCESS;
}

int32_t portal_wasi_fd_seek(portal_app *app, int32_t fd, int64_t offset, int32_t whence,
                            uint32_t newoffset_out)
{
    (void)app;
    (void)offset;
    (void)whence;
    (void)newoffset_out;
    return is_stdio(fd) ? WASI_SPIPE : WASI_BADF;
}

/* wasi-libc sends lseek(fd, 0, SEEK_CUR), i.e. ftell, here: stdio is not seekable either. */
int32_t portal_wasi_fd_tell(portal_app *app, int32_t fd, uint32_t out)
{
    (void)app;
    (void)out;
    return is_stdio(fd) ? WASI_SPIPE : WASI_BADF;
}

int32_t portal_wasi_fd_prestat_get(portal_app *app, int32_t fd, uint32_t prestat_out)
{
    /* No preopened directories: BADF is what ends wasi-libc's scan (anything else aborts it). */
    (void)app;
    (void)fd;
    (void)prestat_out;
    return WASI_BADF;
}

int32_t portal_wasi_fd_prestat_dir_name(portal_app *app, int32_t fd, uint32_t path,
                                        int32_t path_len)
{
    (void)app;
    (void)fd;
    (void)path;
    (void)path_len;
    return WASI_BADF;
}

/* ---- poll_oneoff ---- */

typedef enum { PLAN_CLOCK, PLAN_FD, PLAN_ERROR } sub_kind;

typedef struct sub_plan {
    sub_kind kind;
    uint8_t type;      /* event type to report */
    uint16_t error;    /* PLAN_ERROR: the event's error */
    uint64_t deadline; /* PLAN_CLOCK: monotonic ns */
    int fd;            /* PLAN_FD: host fd 0..2 */
} sub_plan;

/* Time base shared by both passes over the subscriptions, so both read them the same way. */
typedef struct time_base {
    uint64_t mono;
    uint64_t real;
} time_base;

/* Reads one subscription. Returns false for an unknown tag (the whole call is INVAL). */
static bool plan_sub(const uint8_t *s, const time_base *tb, sub_plan *out)
{
    memset(out, 0, sizeof *out);
    uint8_t tag = s[SUB_TAG];
    out->type = tag;
    if (tag == WASI_EVENT_CLOCK) {
        uint32_t id = get_u32(s + SUB_CLOCK_ID);
        uint64_t timeout = get_u64(s + SUB_CLOCK_TIMEOUT);
        bool absolute = (get_u16(s + SUB_CLOCK_FLAGS) & WASI_SUBCLOCK_ABSTIME) != 0;
        if (id == WASI_CLOCK_PROCESS || id == WASI_CLOCK_THREAD) {
            out->kind = PLAN_ERROR;
            out->error = WASI_NOTSUP;
        } else if (id != WASI_CLOCK_REALTIME && id != WASI_CLOCK_MONOTONIC) {
            out->kind = PLAN_ERROR;
            out->error = WASI_INVAL;
        } else {
            out->kind = PLAN_CLOCK;
            if (!absolute)
                out->deadline = add_sat(tb->mono, timeout);
            else if (id == WASI_CLOCK_MONOTONIC)
                out->deadline = timeout;
            else
                out->deadline = timeout > tb->real ? add_sat(tb->mono, timeout - tb->real) : tb->mono;
        }
        return true;
    }
    if (tag == WASI_EVENT_FD_READ || tag == WASI_EVENT_FD_WRITE) {
        uint32_t fd = get_u32(s + SUB_FD);
        bool ok = tag == WASI_EVENT_FD_READ ? fd == STDIN_FILENO
                                            : (fd == STDOUT_FILENO || fd == STDERR_FILENO);
        if (ok) {
            out->kind = PLAN_FD;
            out->fd = (int)fd;
        } else {
            out->kind = PLAN_ERROR;
            out->error = WASI_BADF;
        }
        return true;
    }
    return false;
}

static short poll_events_for(uint8_t type)
{
    return type == WASI_EVENT_FD_READ ? POLLIN : POLLOUT;
}

static int ms_ceil(uint64_t ns)
{
    uint64_t ms = (ns + 999999) / 1000000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Waits until the monotonic clock reaches `deadline` (UINT64_MAX: none) or one of the wanted
 * stdio fds is ready; `immediate` only polls. revents[fd] receives poll's result.
 * While the host runs normally, waiting goes through portal_rt_wait, so pending TLS handshakes
 * keep progressing and SIGINT/SIGTERM is noticed; a signal that arrives during the wait ends it
 * with INTR. Once a shutdown is under way (e.g. inside ppShutdown), sleeps are plain sleeps. */
static int32_t wait_for(portal_rt *rt, const short want[3], uint64_t deadline, bool immediate,
                        short revents[3])
{
    bool was_shutdown = rt->shutdown_requested;
    struct pollfd pfd[3];
    int npfd = 0;
    for (int fd = 0; fd < 3; fd++) {
        revents[fd] = 0;
        if (want[fd])
            pfd[npfd++] = (struct pollfd){.fd = fd, .events = want[fd]};
    }
    for (;;) {
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        uint64_t left = immediate || deadline <= now ? 0 : deadline - now;
        if (left > 0 && rt->shutdown_requested && !was_shutdown)
            return WASI_INTR;
        if (npfd == 0) {
            if (left == 0)
                return WASI_SUCCESS;
            if (!was_shutdown) {
                if (!portal_rt_wait(rt, ms_ceil(left)))
                    return errno_to_wasi(rt->wait_errno);
                continue;
            }
            uint64_t until = now + (left < PLAIN_SLICE_NS ? left : PLAIN_SLICE_NS);
            struct timespec ts = {.tv_sec = (time_t)(until / NS_PER_S),
                                  .tv_nsec = (long)(until % NS_PER_S)};
            int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            if (r != 0 && r != EINTR)
                return errno_to_wasi(r);
            continue;
        }
        /* stdio fds: poll them in short slices, servicing the host in between. */
        uint64_t cap = was_shutdown ? PLAIN_SLICE_NS : FD_SLICE_NS;
        int r = poll(pfd, (nfds_t)npfd, ms_ceil(left < cap ? left : cap));
        int poll_errno = errno;
        if (!was_shutdown && !portal_rt_wait(rt, 0))
            return errno_to_wasi(rt->wait_errno);
        if (r < 0) {
            if (poll_errno == EINTR)
                continue;
            return errno_to_wasi(poll_errno);
        }
        if (r > 0) {
            for (int i = 0; i < npfd; i++)
                revents[pfd[i].fd] = pfd[i].revents;
            return WASI_SUCCESS;
        }
        if (left == 0)
            return WASI_SUCCESS;
    }
}

int32_t portal_wasi_poll_oneoff(portal_app *app, uint32_t in, uint32_t out, int32_t nsubscriptions,
                                uint32_t nevents_out)
{
    portal_rt *rt = portal_rt_of(app);
    uint32_t n = (uint32_t)nsubscriptions;
    if (n == 0)
        return WASI_INVAL;
    const uint8_t *subs = range64(rt, in, (uint64_t)n * SUB_SIZE);
    uint8_t *events = range64(rt, out, (uint64_t)n * EVENT_SIZE);
    uint8_t *pn = portal_rt_range(rt, nevents_out, 4);
    if (!subs || !events || !pn)
        return WASI_FAULT;

    /* Pass 1: what to wait for. Nothing is written yet. */
    time_base tb = {.mono = clock_ns(CLOCK_MONOTONIC), .real = clock_ns(CLOCK_REALTIME)};
    uint64_t deadline = UINT64_MAX;
    bool immediate = false;
    short want[3] = {0, 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        sub_plan sp;
        if (!plan_sub(subs + (size_t)i * SUB_SIZE, &tb, &sp))
            return WASI_INVAL;
        if (sp.kind == PLAN_CLOCK && sp.deadline < deadline)
            deadline = sp.deadline;
        else if (sp.kind == PLAN_FD)
            want[sp.fd] |= poll_events_for(sp.type);
        else if (sp.kind == PLAN_ERROR)
            immediate = true;
    }

    short revents[3];
    int32_t err = wait_for(rt, want, deadline, immediate, revents);
    if (err != WASI_SUCCESS)
        return err;

    /* Pass 2: one event per subscription that is due or ready. Each subscription is read before
     * its event is written, so `out == in` works as well. */
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    uint32_t count = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *s = subs + (size_t)i * SUB_SIZE;
        uint64_t userdata = get_u64(s);
        sub_plan sp;
        if (!plan_sub(s, &tb, &sp))
            continue; /* only if `out` overlapped `in` in a strange way */
        uint16_t error = 0, flags = 0;
        bool fired = false;
        if (sp.kind == PLAN_ERROR) {
            fired = true;
            error = sp.error;
        } else if (sp.kind == PLAN_CLOCK) {
            fired = now >= sp.deadline;
        } else {
            short r = revents[sp.fd];
            fired = (r & (poll_events_for(sp.type) | POLLERR | POLLHUP | POLLNVAL)) != 0;
            if (r & POLLNVAL)
                error = WASI_BADF;
            else if (r & POLLERR)
                error = WASI_IO;
            if (r & POLLHUP)
                flags = WASI_EVENTRW_HANGUP;
        }
        if (!fired)
            continue;
        uint8_t *e = events + (size_t)count * EVENT_SIZE;
        memset(e, 0, EVENT_SIZE);
        put_u64(e, userdata);
        put_u16(e + 8, error);
        e[10] = sp.type;
        if (sp.kind == PLAN_FD)
            put_u16(e + 24, flags); /* nbytes (@16) stays 0: unknown */
        count++;
    }
    put_u32(pn, count);
    return WASI_SUCCESS;
}

/* ---- process, scheduling, randomness ---- */
void portal_wasi_proc_exit(portal_app *app, int32_t code)
{
    portal_rt_proc_exit(portal_rt_of(app), code);
}

int32_t portal_wasi_proc_raise(portal_app *app, int32_t sig)
{
    (void)app;
    (void)sig;
    return WASI_NOSYS;
}

int32_t portal_wasi_sched_yield(portal_app *app)
{
    (void)app;
    sched_yield();
    return WASI_SUCCESS;
}

int32_t portal_wasi_random_get(portal_app *app, uint32_t buf, int32_t buf_len)
{
    portal_rt *rt = portal_rt_of(app);
    uint32_t len = (uint32_t)buf_len;
    uint8_t *p = portal_rt_range(rt, buf, len);
    if (!p)
        return WASI_FAULT;
    if (len > 0 && !portal_platform_random(p, len))
        return WASI_IO;
    return WASI_SUCCESS;
}

/* ---- everything else: ENOSYS, one definition per row of the table ---- */
#define WASI_DEFINE_NOSYS(mod, name, impl, ret, args) \
    PORTAL_WASI_DEFINE_CONST(ret, impl, args, WASI_NOSYS)
PORTAL_API_WASI_NOSYS(WASI_DEFINE_NOSYS)
#undef WASI_DEFINE_NOSYS
