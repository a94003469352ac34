/* lwip.c - the platform layer (platform.h) for the firmware: lwIP sockets through the lwip_* API,
 * waits with lwip_select (lwip_poll when the stack has no select, with its answers cut down to
 * what select says: no HANGUP, as on ESP-IDF), ESP-IDF clocks, randomness and
 * Wi-Fi station under ESP_PLATFORM, portable fallbacks elsewhere so the file also compiles against
 * a desktop lwIP (Debian's liblwip-dev) in `make test`.
 *
 * lwIP rule kept here: SO_RCVTIMEO/SO_SNDTIMEO = 0 means "block forever" to lwIP, so this file never
 * sets socket timeouts at all. Every socket is non-blocking (O_NONBLOCK via lwip_fcntl) and every
 * wait is an explicit lwip_select/lwip_poll with the caller's timeout. */
#include "platform.h"

#include <errno.h>
#include <fcntl.h> /* first: ESP-IDF's lwIP uses the C library's O_NONBLOCK / F_GETFL values */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/opt.h"
#include "lwip/sockets.h"
#include "lwip/sys.h" /* sys_msleep */
#if LWIP_DNS
#include "lwip/netdb.h"
#endif

#ifdef ESP_PLATFORM
#include "sdkconfig.h" /* CONFIG_PORTAL_LWIP_SOCKETS, CONFIG_LWIP_MAX_SOCKETS */
#include "esp_heap_caps.h"
#include "esp_netif.h"
#include "esp_random.h"
#include "esp_timer.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h" /* vTaskDelete: the resolver task ends itself */
#else
#include <time.h>
#include "lwip/netif.h"
#endif

#include "bsd_sockets.h"
#include "interrupt.h"
#include "io_outcome.h"
#include "resolve_queue.h"

#if !LWIP_SOCKET_POLL && !LWIP_SOCKET_SELECT
#error "platform/lwip.c needs LWIP_SOCKET_POLL or LWIP_SOCKET_SELECT"
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* lwIP never raises SIGPIPE anyway */
#endif

/* The errno of the last failing platform call. Per thread: the caller reads it right after the
 * call that failed, and lwIP sets errno per task. */
static _Thread_local int last_errno;

static int fail_with_errno(int err, int result)
{
    last_errno = err ? err : EIO;
    return result;
}

const char *portal_platform_last_error(void)
{
    return last_errno ? strerror(last_errno) : "no error";
}

int portal_platform_last_errno(void)
{
    return last_errno;
}

void portal_platform_set_last_errno(int err) /* resolve_queue.h */
{
    last_errno = err;
}

/* ---- time, memory, randomness ---- */

int64_t portal_platform_now_us(void)
{
#ifdef ESP_PLATFORM
    return esp_timer_get_time(); /* microseconds since boot, monotonic */
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
#endif
}

int64_t portal_platform_now_ms(void)
{
    return portal_platform_now_us() / 1000;
}

/* The firmware has no resident set: report heap in use (internal RAM and PSRAM together). */
size_t portal_platform_rss_bytes(void)
{
#ifdef ESP_PLATFORM
    size_t total = heap_caps_get_total_size(MALLOC_CAP_8BIT);
    size_t free_bytes = heap_caps_get_free_size(MALLOC_CAP_8BIT);
    return total > free_bytes ? total - free_bytes : 0;
#else
    return 0;
#endif
}

#ifndef ESP_PLATFORM
/* Portable fallback for the compile check and desktop lwIP ports: the kernel's random device. */
static bool read_urandom(void *buf, size_t len)
{
    FILE *dev = fopen("/dev/urandom", "rb");
    if (!dev)
        return false;
    size_t got = fread(buf, 1, len, dev);
    fclose(dev);
    return got == len;
}
#endif

bool portal_platform_random(void *buf, size_t len)
{
#ifdef ESP_PLATFORM
    /* True random numbers while Wi-Fi or Bluetooth is on (the firmware's normal state); otherwise
     * the ESP-IDF bootloader entropy source seeds it. */
    esp_fill_random(buf, len);
    return true;
#else
    if (read_urandom(buf, len))
        return true;
    last_errno = EIO;
    return false;
#endif
}

/* ---- socket budget (item: accept only when a socket can be had) ----
 * lwIP's socket table is small and fixed on ESP-IDF (CONFIG_LWIP_MAX_SOCKETS: 1-16, default 10,
 * on 5.0-5.3) and shared with the firmware's own servers. When it is full, lwip_accept takes the
 * queued connection off the backlog, finds no socket for it, deletes it (the client sees a
 * reset) and fails with ENFILE: a server that retries resets every waiting client. So this layer
 * counts the lwIP sockets it holds against the share the firmware gives the portal host
 * (CONFIG_PORTAL_LWIP_SOCKETS, or PORTAL_LWIP_SOCKETS at compile time) and, at that share,
 * never calls lwip_accept: accept fails with ENFILE at once and the client stays queued until a
 * socket is closed (socket.c then pauses the listener; see portal_socket_accept_failed). */
#ifndef PORTAL_LWIP_SOCKETS
#ifdef CONFIG_PORTAL_LWIP_SOCKETS
#define PORTAL_LWIP_SOCKETS CONFIG_PORTAL_LWIP_SOCKETS
#else
#define PORTAL_LWIP_SOCKETS 10 /* CONFIG_LWIP_MAX_SOCKETS' default on ESP-IDF 5.0-5.3 */
#endif
#endif

#if defined(CONFIG_LWIP_MAX_SOCKETS) && PORTAL_LWIP_SOCKETS > CONFIG_LWIP_MAX_SOCKETS
#error "CONFIG_PORTAL_LWIP_SOCKETS exceeds CONFIG_LWIP_MAX_SOCKETS: lwip_accept would drop clients"
#endif

static int sockets_held; /* lwIP sockets this layer created or accepted and has not closed */

static int sockets_held_now(void)
{
    return __atomic_load_n(&sockets_held, __ATOMIC_RELAXED);
}

static void sockets_held_add(int delta)
{
    __atomic_add_fetch(&sockets_held, delta, __ATOMIC_RELAXED);
}

int portal_platform_sockets_free(void)
{
    int left = PORTAL_LWIP_SOCKETS - sockets_held_now();
    return left > 0 ? left : 0;
}

/* A desktop lwIP whose socket table is larger than the device's (Debian's liblwip grows its
 * table without bound) is made to behave like ESP-IDF's when PORTAL_LWIP_STACK_SOCKETS is set:
 * beyond that many sockets, lwip_socket fails with ENFILE and lwip_accept drops the connection it
 * took off the backlog and fails with ENFILE, exactly the two calls' behaviour on the device. The
 * test host (portal-host-lwip) sets it to PORTAL_LWIP_SOCKETS, so the budget above is what keeps
 * waiting clients from being reset there, as on the device. */
#ifdef PORTAL_LWIP_STACK_SOCKETS
static int stack_socket(int domain, int type, int protocol)
{
    if (sockets_held_now() >= PORTAL_LWIP_STACK_SOCKETS) {
        errno = ENFILE;
        return -1;
    }
    return lwip_socket(domain, type, protocol);
}

static int stack_accept(int fd, struct sockaddr *addr, socklen_t *addr_len)
{
    int client = lwip_accept(fd, addr, addr_len);
    if (client >= 0 && sockets_held_now() >= PORTAL_LWIP_STACK_SOCKETS) {
        lwip_close(client); /* the device's lwip_accept deletes the netconn it has no socket for */
        errno = ENFILE;
        return -1;
    }
    return client;
}
#else
#define stack_socket lwip_socket
#define stack_accept lwip_accept
#endif

/* ---- sockets ---- */

static bool set_nonblocking(int fd)
{
    int flags = lwip_fcntl(fd, F_GETFL, 0);
    if (flags < 0)
        return false;
    return lwip_fcntl(fd, F_SETFL, flags | O_NONBLOCK) >= 0;
}

/* `type_stream_or_dgram` uses the app's numbering: 1 = stream, 2 = datagram. IPv6 sockets are
 * IPv6-only, as on the desktop. lwIP has no close-on-exec (no exec on the device). */
portal_fd portal_platform_socket(int family, int type_stream_or_dgram, int protocol)
{
#if LWIP_IPV6
    int domain = family == 6 ? AF_INET6 : AF_INET;
#else
    if (family == 6)
        return fail_with_errno(EAFNOSUPPORT, PORTAL_FD_INVALID);
    int domain = AF_INET;
#endif
    int type = type_stream_or_dgram == 2 ? SOCK_DGRAM : SOCK_STREAM;
    if (portal_platform_sockets_free() == 0)
        return fail_with_errno(ENFILE, PORTAL_FD_INVALID);
    int fd = stack_socket(domain, type, protocol);
    if (fd < 0)
        return fail_with_errno(errno, PORTAL_FD_INVALID);
    sockets_held_add(1);
    if (!set_nonblocking(fd)) {
        int err = errno;
        portal_platform_close(fd);
        return fail_with_errno(err, PORTAL_FD_INVALID);
    }
#if LWIP_IPV6
    if (family == 6) {
        int on = 1;
        if (lwip_setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, (socklen_t)sizeof on) != 0) {
            int err = errno;
            portal_platform_close(fd);
            return fail_with_errno(err, PORTAL_FD_INVALID);
        }
    }
#endif
    return fd;
}

int portal_platform_bind(portal_fd fd, const portal_sockaddr *addr, bool reuse_addr)
{
#if SO_REUSE
    if (reuse_addr) {
        int on = 1;
        if (lwip_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, (socklen_t)sizeof on) != 0)
            return fail_with_errno(errno, PORTAL_IO_ERROR);
    }
#else
    (void)reuse_addr; /* lwIP built without SO_REUSE: bind as is */
#endif
    struct sockaddr_storage native;
    socklen_t native_len = portal_bsd_to_native(addr, &native);
    if (lwip_bind(fd, (struct sockaddr *)&native, native_len) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    return 0;
}

void portal_platform_set_nodelay(portal_fd fd)
{
    int one = 1;
    (void)lwip_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, (socklen_t)sizeof one);
}

int portal_platform_listen(portal_fd fd, int backlog)
{
    if (lwip_listen(fd, backlog) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    return 0;
}

/* lwIP has no accept4: the new socket is made non-blocking right after accept. A connection that
 * died in the queue (ECONNABORTED) is skipped so the next one can be taken. With no socket left
 * in the budget the queue is not touched at all (see "socket budget"). */
portal_fd portal_platform_accept(portal_fd fd, portal_sockaddr *peer)
{
    struct sockaddr_storage native;
    for (;;) {
        if (portal_platform_sockets_free() == 0)
            return fail_with_errno(ENFILE, PORTAL_IO_ERROR);
        socklen_t native_len = (socklen_t)sizeof native;
        memset(&native, 0, sizeof native);
        int client = stack_accept(fd, (struct sockaddr *)&native, &native_len);
        if (client >= 0) {
            sockets_held_add(1);
            if (!set_nonblocking(client)) {
                int err = errno;
                portal_platform_close(client);
                return fail_with_errno(err, PORTAL_IO_ERROR);
            }
            if (peer)
                portal_bsd_from_native(&native, peer);
            return client;
        }
        int err = errno;
        if (err == EINTR || err == ECONNABORTED)
            continue;
        if (err == EAGAIN || err == EWOULDBLOCK)
            return fail_with_errno(err, PORTAL_IO_WOULD_BLOCK);
        return fail_with_errno(err, PORTAL_IO_ERROR);
    }
}

int portal_platform_connect_start(portal_fd fd, const portal_sockaddr *addr)
{
    struct sockaddr_storage native;
    socklen_t native_len = portal_bsd_to_native(addr, &native);
    if (lwip_connect(fd, (struct sockaddr *)&native, native_len) == 0)
        return 0;
    int err = errno;
    if (err == EINPROGRESS || err == EALREADY || err == EINTR || err == EAGAIN)
        return fail_with_errno(err, PORTAL_IO_WOULD_BLOCK);
    return fail_with_errno(err, PORTAL_IO_ERROR);
}

int portal_platform_connect_finish(portal_fd fd)
{
    int err = 0;
    socklen_t err_len = (socklen_t)sizeof err;
    if (lwip_getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    if (err == 0)
        return 0;
    return fail_with_errno(err, PORTAL_IO_ERROR);
}

/* Remembers the errno for the message and sorts it (io_outcome.h). */
static long io_error(int err)
{
    last_errno = err ? err : EIO;
    return portal_platform_io_outcome(err);
}

long portal_platform_send(portal_fd fd, const void *buf, size_t len)
{
    for (;;) {
        ssize_t sent = lwip_send(fd, buf, len, MSG_NOSIGNAL);
        if (sent >= 0)
            return (long)sent;
        if (errno != EINTR)
            return io_error(errno);
    }
}

long portal_platform_recv(portal_fd fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t got = lwip_recv(fd, buf, len, 0);
        if (got >= 0)
            return (long)got;
        if (errno != EINTR)
            return io_error(errno);
    }
}

void portal_platform_close(portal_fd fd)
{
    if (fd >= 0 && lwip_close(fd) == 0)
        sockets_held_add(-1);
}

int portal_platform_local_addr(portal_fd fd, portal_sockaddr *addr)
{
    struct sockaddr_storage native;
    socklen_t native_len = (socklen_t)sizeof native;
    memset(&native, 0, sizeof native);
    if (lwip_getsockname(fd, (struct sockaddr *)&native, &native_len) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    portal_bsd_from_native(&native, addr);
    return 0;
}

/* ---- waiting ----
 * One wait on `fd` (and the interrupt descriptor when set) for at most `timeout_ms` (< 0 =
 * forever). Returns the ready mask of `fd` (0 on timeout), PORTAL_IO_INTERRUPTED when only the
 * interrupt descriptor fired, or PORTAL_IO_ERROR with errno kept. */
#if !LWIP_SOCKET_SELECT
static int wait_once(portal_fd fd, int events, int timeout_ms, bool *interrupt_fired)
{
    portal_fd interrupt_fd = portal_platform_interrupt_fd();
    struct pollfd fds[2];
    memset(fds, 0, sizeof fds);
    fds[0].fd = fd;
    if (events & PORTAL_WAIT_READ)
        fds[0].events |= POLLIN;
    if (events & PORTAL_WAIT_WRITE)
        fds[0].events |= POLLOUT;
    nfds_t nfds = 1;
    if (interrupt_fd != PORTAL_FD_INVALID) {
        fds[1].fd = interrupt_fd;
        fds[1].events = POLLIN;
        nfds = 2;
    }
    int n = lwip_poll(fds, nfds, timeout_ms < 0 ? -1 : timeout_ms);
    if (n < 0)
        return PORTAL_IO_ERROR;
    *interrupt_fired = nfds == 2 && fds[1].revents != 0;
    if (n == 0)
        return 0;
    if (fds[0].revents & POLLNVAL) {
        errno = EBADF;
        return PORTAL_IO_ERROR;
    }
    int ready = 0;
    if (fds[0].revents & POLLIN)
        ready |= PORTAL_WAIT_READ;
    if (fds[0].revents & POLLOUT)
        ready |= PORTAL_WAIT_WRITE;
    if (fds[0].revents & POLLERR)
        ready |= PORTAL_WAIT_ERROR;
    return ready; /* never HANGUP: select, which ESP-IDF waits with, cannot say it */
}
#else
static int wait_once(portal_fd fd, int events, int timeout_ms, bool *interrupt_fired)
{
    portal_fd interrupt_fd = portal_platform_interrupt_fd();
    fd_set rd, wr, ex;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    if (events & PORTAL_WAIT_READ)
        FD_SET(fd, &rd);
    if (events & PORTAL_WAIT_WRITE)
        FD_SET(fd, &wr);
    FD_SET(fd, &ex);
    int maxfd = fd;
    if (interrupt_fd != PORTAL_FD_INVALID) {
        FD_SET(interrupt_fd, &rd);
        if (interrupt_fd > maxfd)
            maxfd = interrupt_fd;
    }
    struct timeval tv, *tvp = NULL;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv; /* {0, 0} is a real poll for select, unlike SO_RCVTIMEO */
    }
    int n = lwip_select(maxfd + 1, &rd, &wr, &ex, tvp);
    if (n < 0)
        return PORTAL_IO_ERROR;
    *interrupt_fired = interrupt_fd != PORTAL_FD_INVALID && FD_ISSET(interrupt_fd, &rd);
    int ready = 0;
    if (FD_ISSET(fd, &rd))
        ready |= PORTAL_WAIT_READ;
    if (FD_ISSET(fd, &wr))
        ready |= PORTAL_WAIT_WRITE;
    if (FD_ISSET(fd, &ex))
        ready |= PORTAL_WAIT_ERROR;
    return ready;
}
#endif

int portal_platform_wait(portal_fd fd, int events, int timeout_ms)
{
    int64_t deadline_us = portal_platform_now_us() + (int64_t)timeout_ms * 1000;
    int slice_ms = timeout_ms;
    for (;;) {
        if (timeout_ms != 0 && portal_platform_interrupted())
            return PORTAL_IO_INTERRUPTED;
        bool interrupt_fired = false;
        int ready = wait_once(fd, events, slice_ms, &interrupt_fired);
        if (ready > 0)
            return ready;
        if (ready == 0) {
            if (interrupt_fired && (portal_platform_interrupt_requested() || timeout_ms != 0))
                return PORTAL_IO_INTERRUPTED;
            return 0;
        }
        if (errno != EINTR)
            return fail_with_errno(errno, PORTAL_IO_ERROR);
        if (timeout_ms > 0) {
            int64_t left_us = deadline_us - portal_platform_now_us();
            if (left_us <= 0)
                return 0;
            slice_ms = (int)((left_us + 999) / 1000);
        }
    }
}

/* Multi-descriptor wait with select semantics (platform.h): what ESP-IDF's select-based waiting
 * reports, whichever lwIP call does the waiting. With no entry to watch, select would only sleep:
 * done here the same way on both paths (lwip_poll rejects an empty set); "forever" with nothing to
 * watch would never return, so that is an error instead of a hang. */
static bool wait_many_nothing(portal_wait_entry *entries, int count, int timeout_ms, int *result)
{
    for (int i = 0; i < count; i++) {
        if (entries[i].fd != PORTAL_FD_INVALID &&
            (entries[i].events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE)))
            return false;
    }
    if (timeout_ms < 0) {
        *result = fail_with_errno(EINVAL, PORTAL_IO_ERROR);
        return true;
    }
    if (timeout_ms > 0)
        sys_msleep((u32_t)timeout_ms);
    for (int i = 0; i < count; i++)
        entries[i].ready = 0;
    *result = 0;
    return true;
}
#if LWIP_SOCKET_SELECT
int portal_platform_wait_many(portal_wait_entry *entries, int count, int timeout_ms)
{
    int nothing_result;
    if (wait_many_nothing(entries, count, timeout_ms, &nothing_result))
        return nothing_result;
    fd_set rd, wr, ex;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    int maxfd = -1;
    for (int i = 0; i < count; i++) {
        portal_wait_entry *e = &entries[i];
        e->ready = 0;
        if (e->fd == PORTAL_FD_INVALID || !(e->events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE)))
            continue;
        if (e->fd < 0 || e->fd >= FD_SETSIZE)
            return fail_with_errno(EINVAL, PORTAL_IO_ERROR); /* FD_SETSIZE below the socket count */
        if (e->events & PORTAL_WAIT_READ)
            FD_SET(e->fd, &rd);
        if (e->events & PORTAL_WAIT_WRITE)
            FD_SET(e->fd, &wr);
        FD_SET(e->fd, &ex);
        if (e->fd > maxfd)
            maxfd = e->fd;
    }
    struct timeval tv, *tvp = NULL;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    int n = lwip_select(maxfd + 1, &rd, &wr, &ex, tvp);
    if (n < 0)
        return errno == EINTR ? PORTAL_IO_WOULD_BLOCK : fail_with_errno(errno, PORTAL_IO_ERROR);
    int ready = 0;
    for (int i = 0; n > 0 && i < count; i++) {
        portal_wait_entry *e = &entries[i];
        if (e->fd < 0 || !(e->events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE)))
            continue;
        if ((e->events & PORTAL_WAIT_READ) && FD_ISSET(e->fd, &rd))
            e->ready |= PORTAL_WAIT_READ;
        if ((e->events & PORTAL_WAIT_WRITE) && FD_ISSET(e->fd, &wr))
            e->ready |= PORTAL_WAIT_WRITE;
        if (FD_ISSET(e->fd, &ex))
            e->ready |= PORTAL_WAIT_ERROR;
        if (e->ready)
            ready++;
    }
    return ready;
}
#else
/* A stack built without select (Debian's liblwip): lwip_poll, with its answers cut down to what
 * select would have said, so tests on the desktop see the device's behaviour. */
int portal_platform_wait_many(portal_wait_entry *entries, int count, int timeout_ms)
{
    int nothing_result;
    if (wait_many_nothing(entries, count, timeout_ms, &nothing_result))
        return nothing_result;
    struct pollfd stack_fds[32];
    if (count < 0)
        count = 0;
    struct pollfd *fds = portal_bsd_pollfds(stack_fds, sizeof stack_fds / sizeof stack_fds[0], count);
    if (!fds)
        return fail_with_errno(ENOMEM, PORTAL_IO_ERROR);
    nfds_t nfds = 0;
    for (int i = 0; i < count; i++) {
        portal_wait_entry *e = &entries[i];
        e->ready = 0;
        if (e->fd == PORTAL_FD_INVALID || !(e->events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE)))
            continue; /* select never reports a descriptor that is in no set */
        fds[nfds].fd = e->fd;
        fds[nfds].events = portal_bsd_poll_events(e->events);
        fds[nfds].revents = 0;
        nfds++;
    }
    int n = lwip_poll(fds, nfds, timeout_ms < 0 ? -1 : timeout_ms);
    int err = errno;
    int ready = 0;
    nfds_t k = 0;
    for (int i = 0; i < count; i++) {
        portal_wait_entry *e = &entries[i];
        if (e->fd == PORTAL_FD_INVALID || !(e->events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE)))
            continue;
        short r = n > 0 ? fds[k].revents : 0;
        k++;
        /* select's answer: what was asked for, and errors; never HANGUP */
        e->ready = portal_bsd_poll_ready(r) & ((e->events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE)) |
                                               PORTAL_WAIT_ERROR);
        if (e->ready)
            ready++;
    }
    portal_bsd_pollfds_free(fds, stack_fds);
    if (n < 0)
        return err == EINTR ? PORTAL_IO_WOULD_BLOCK : fail_with_errno(err, PORTAL_IO_ERROR);
    return ready;
}
#endif

/* lwIP keeps no count of open sockets that is portable across versions: this layer's own. */
int portal_platform_open_fd_count(void)
{
    return sockets_held_now();
}

/* ---- network interface ---- */

#ifdef ESP_PLATFORM
static esp_netif_t *station_netif(void)
{
    return esp_netif_get_handle_from_ifkey("WIFI_STA_DEF");
}

static bool station_ipv4(uint8_t out[4])
{
    esp_netif_t *netif = station_netif();
    esp_netif_ip_info_t info;
    if (!netif || esp_netif_get_ip_info(netif, &info) != ESP_OK || info.ip.addr == 0)
        return false;
    memcpy(out, &info.ip.addr, 4); /* esp_ip4_addr_t holds the address in network order */
    return true;
}

int portal_platform_net_is_ready(void)
{
    uint8_t ip[4];
    return station_ipv4(ip) ? 1 : 0;
}

int portal_platform_net_connect(void)
{
    return esp_wifi_connect() == ESP_OK ? 0 : -1;
}

int portal_platform_net_disconnect(void)
{
    esp_err_t err = esp_wifi_disconnect();
    return err == ESP_OK || err == ESP_ERR_WIFI_NOT_STARTED ? 0 : -1;
}

int portal_platform_wifi_mode(void)
{
    wifi_mode_t mode = WIFI_MODE_NULL;
    if (esp_wifi_get_mode(&mode) != ESP_OK)
        return 0; /* Wi-Fi not initialised: off */
    switch (mode) {
    case WIFI_MODE_STA:
        return 1;
    case WIFI_MODE_AP:
        return 2;
    case WIFI_MODE_APSTA:
        return 3;
    default:
        return 0;
    }
}

bool portal_platform_net_ipv4(uint8_t out[4])
{
    if (station_ipv4(out))
        return true;
    memset(out, 0, 4);
    return station_netif() != NULL;
}
#else
/* Generic lwIP (no ESP-IDF): the default netif stands for the station. Read without the core
 * lock: good enough for the status queries of a desktop lwIP port. */
static bool default_ipv4(uint8_t out[4])
{
    struct netif *netif = netif_default;
    if (!netif || !netif_is_up(netif))
        return false;
    const ip4_addr_t *addr = netif_ip4_addr(netif);
    if (!addr || ip4_addr_isany(addr))
        return false;
    memcpy(out, &addr->addr, 4);
    return true;
}

int portal_platform_net_is_ready(void)
{
    uint8_t ip[4];
    return default_ipv4(ip) ? 1 : 0;
}

int portal_platform_net_connect(void)
{
    return 0;
}

int portal_platform_net_disconnect(void)
{
    return 0;
}

int portal_platform_wifi_mode(void)
{
    return netif_default ? 1 : 0;
}

bool portal_platform_net_ipv4(uint8_t out[4])
{
    if (default_ipv4(out))
        return true;
    memset(out, 0, 4);
    return netif_default != NULL;
}
#endif

#if LWIP_DNS
/* lwip_getaddrinfo for one address family (AF_UNSPEC: both); 0 or lwIP's error. */
static int lookup_family(const char *host, int family, struct addrinfo **list)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    *list = NULL;
    int ret = lwip_getaddrinfo(host, NULL, &hints, list);
    return ret == 0 && !*list ? EAI_FAIL : ret;
}
#endif

bool portal_platform_resolve_ipv4(const char *host, uint8_t out[4])
{
#if LWIP_DNS
    struct addrinfo *result;
    if (lookup_family(host, AF_INET, &result) != 0)
        return false;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)result->ai_addr;
    memcpy(out, &sin->sin_addr, 4);
    lwip_freeaddrinfo(result);
    return true;
#else
    /* lwIP built without DNS: only dotted-quad literals resolve. */
    struct in_addr addr;
    if (lwip_inet_pton(AF_INET, host, &addr) != 1)
        return false;
    memcpy(out, &addr, 4);
    return true;
#endif
}

bool portal_platform_parse_ip(const char *host, portal_sockaddr *out)
{
    memset(out, 0, sizeof *out);
    if (lwip_inet_pton(AF_INET, host, out->ip) == 1) {
        out->family = 4;
        return true;
    }
#if LWIP_IPV6
    if (lwip_inet_pton(AF_INET6, host, out->ip) == 1) {
        out->family = 6;
        return true;
    }
#endif
    return false;
}

/* ---- name resolution that does not block the caller: the lwIP side of resolve_queue.h ----
 * lwip_getaddrinfo blocks its caller until lwIP's DNS answers (seconds), so each worker is a task
 * of its own (sys_thread_new: a FreeRTOS task on ESP-IDF, a thread on the unix port) under one
 * sys_mutex. There is no descriptor to signal completion with: callers look again every ~10 ms
 * (portal_platform_resolve_fd says so). */

static sys_mutex_t resolve_lock;
static bool resolve_lock_ready;

bool portal_resolve_os_job_open(portal_fd *done_fd)
{
    *done_fd = PORTAL_FD_INVALID;
    if (resolve_lock_ready)
        return true;
    /* First use, from the app's task (configs and connects are made there). */
    if (sys_mutex_new(&resolve_lock) != ERR_OK) {
        last_errno = ENOMEM;
        return false;
    }
    resolve_lock_ready = true;
    return true;
}

void portal_resolve_os_job_done(portal_fd done_fd)
{
    (void)done_fd; /* none: callers poll */
}

void portal_resolve_os_job_close(portal_fd done_fd)
{
    (void)done_fd;
}

void portal_resolve_os_lock(void)
{
    sys_mutex_lock(&resolve_lock);
}

void portal_resolve_os_unlock(void)
{
    sys_mutex_unlock(&resolve_lock);
}

static void resolve_task(void *first)
{
    portal_resolve_queue_work(first);
#ifdef ESP_PLATFORM
    vTaskDelete(NULL); /* a FreeRTOS task must not return */
#endif
}

int portal_resolve_os_start_worker(portal_resolve *first)
{
    /* lwip_getaddrinfo and the DNS callback path need a few KiB of stack. */
    sys_thread_t task = sys_thread_new("portal_dns", resolve_task, first, 4096, DEFAULT_THREAD_PRIO);
    (void)task; /* ESP-IDF's port asserts on failure; the unix port aborts */
    return 0;
}

int portal_resolve_os_lookup(const char *host, portal_sockaddr *out, int max, char *why,
                             size_t why_size)
{
#if LWIP_DNS
    struct addrinfo *list;
    int ret = lookup_family(host, AF_UNSPEC, &list);
    if (ret != 0) {
        snprintf(why, why_size, "lookup failed (lwIP error %d)", ret);
        return -1;
    }
    int count = portal_bsd_from_addrinfo(list, out, max);
    lwip_freeaddrinfo(list);
    return count;
#else
    (void)host;
    (void)out;
    (void)max;
    snprintf(why, why_size, "this lwIP has no DNS (LWIP_DNS is 0)");
    return -1;
#endif
}
