/* posix.c - the platform layer (platform.h) for Linux/POSIX desktops: clocks, memory, randomness,
 * non-blocking sockets waited on with poll(), and the desktop view of the network interface. */
#define _GNU_SOURCE /* accept4 and SOCK_NONBLOCK / SOCK_CLOEXEC; must precede every include */

#include "platform.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bsd_sockets.h"
#include "interrupt.h"
#include "io_outcome.h"
#include "resolve_queue.h"

/* The errno of the last failing platform call. Per thread, because errno itself is per thread and
 * a caller reads it right after the call that failed. */
static _Thread_local int last_errno;

static int fail_with_errno(int err, int result)
{
    last_errno = err;
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
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t portal_platform_now_ms(void)
{
    return portal_platform_now_us() / 1000;
}

size_t portal_platform_rss_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "re");
    if (!statm)
        return 0;
    unsigned long total_pages = 0, resident_pages = 0;
    int fields = fscanf(statm, "%lu %lu", &total_pages, &resident_pages);
    fclose(statm);
    long page_size = sysconf(_SC_PAGESIZE);
    if (fields != 2 || page_size <= 0)
        return 0;
    return (size_t)resident_pages * (size_t)page_size;
}

bool portal_platform_random(void *buf, size_t len)
{
    uint8_t *out = buf;
    while (len > 0) {
        ssize_t got = getrandom(out, len, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            last_errno = errno;
            return false;
        }
        out += got;
        len -= (size_t)got;
    }
    return true;
}

/* ---- sockets ---- */

/* `type_stream_or_dgram` uses the app's numbering: 1 = stream, 2 = datagram. IPv6 sockets are
 * IPv6-only, so an IPv6 listener never hands out v4-mapped peers and port clashes stay explicit. */
portal_fd portal_platform_socket(int family, int type_stream_or_dgram, int protocol)
{
    int domain = family == 6 ? AF_INET6 : AF_INET;
    int type = type_stream_or_dgram == 2 ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0)
        return fail_with_errno(errno, PORTAL_FD_INVALID);
    if (family == 6) {
        int on = 1;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
            int err = errno;
            close(fd);
            return fail_with_errno(err, PORTAL_FD_INVALID);
        }
    }
    return fd;
}

int portal_platform_bind(portal_fd fd, const portal_sockaddr *addr, bool reuse_addr)
{
    if (reuse_addr) {
        int on = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
            return fail_with_errno(errno, PORTAL_IO_ERROR);
    }
    struct sockaddr_storage native;
    socklen_t native_len = portal_bsd_to_native(addr, &native);
    if (bind(fd, (struct sockaddr *)&native, native_len) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    return 0;
}

void portal_platform_set_nodelay(portal_fd fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int portal_platform_listen(portal_fd fd, int backlog)
{
    if (listen(fd, backlog) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    return 0;
}

/* Errors accept() reports for a connection that died in the queue or for a network error that
 * belongs to the new socket (see accept(2), "Error handling"): the listener is fine and the next
 * queued connection, if any, can be taken at once. */
static bool accept_error_is_transient(int err)
{
    switch (err) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

portal_fd portal_platform_accept(portal_fd fd, portal_sockaddr *peer)
{
    struct sockaddr_storage native;
    for (;;) {
        socklen_t native_len = sizeof native;
        memset(&native, 0, sizeof native);
        int client = accept4(fd, (struct sockaddr *)&native, &native_len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client >= 0) {
            if (peer)
                portal_bsd_from_native(&native, peer);
            return client;
        }
        if (errno == EINTR || accept_error_is_transient(errno))
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return fail_with_errno(errno, PORTAL_IO_WOULD_BLOCK);
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    }
}

/* EALREADY (a connect is still in progress from an earlier call) counts as "in progress" so a
 * caller can poll a connect by calling again. EINTR: the connect goes on asynchronously. */
int portal_platform_connect_start(portal_fd fd, const portal_sockaddr *addr)
{
    struct sockaddr_storage native;
    socklen_t native_len = portal_bsd_to_native(addr, &native);
    if (connect(fd, (struct sockaddr *)&native, native_len) == 0)
        return 0;
    if (errno == EINPROGRESS || errno == EALREADY || errno == EINTR || errno == EAGAIN)
        return fail_with_errno(errno, PORTAL_IO_WOULD_BLOCK);
    return fail_with_errno(errno, PORTAL_IO_ERROR);
}

int portal_platform_connect_finish(portal_fd fd)
{
    int err = 0;
    socklen_t err_len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    if (err == 0)
        return 0;
    return fail_with_errno(err, PORTAL_IO_ERROR);
}

/* Remembers the errno for the message and sorts it (io_outcome.h). */
static long io_error(int err)
{
    last_errno = err;
    return portal_platform_io_outcome(err);
}

long portal_platform_send(portal_fd fd, const void *buf, size_t len)
{
    for (;;) {
        ssize_t sent = send(fd, buf, len, MSG_NOSIGNAL);
        if (sent >= 0)
            return (long)sent;
        if (errno != EINTR)
            return io_error(errno);
    }
}

long portal_platform_recv(portal_fd fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t got = recv(fd, buf, len, 0);
        if (got >= 0)
            return (long)got;
        if (errno != EINTR)
            return io_error(errno);
    }
}

void portal_platform_close(portal_fd fd)
{
    /* Linux releases the descriptor even when close() reports EINTR, so never retry. */
    if (fd >= 0)
        close(fd);
}

int portal_platform_local_addr(portal_fd fd, portal_sockaddr *addr)
{
    struct sockaddr_storage native;
    socklen_t native_len = sizeof native;
    memset(&native, 0, sizeof native);
    if (getsockname(fd, (struct sockaddr *)&native, &native_len) != 0)
        return fail_with_errno(errno, PORTAL_IO_ERROR);
    portal_bsd_from_native(&native, addr);
    return 0;
}

int portal_platform_wait(portal_fd fd, int events, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = fd, .events = 0, .revents = 0},
                            {.fd = portal_platform_interrupt_fd(), .events = POLLIN, .revents = 0}};
    struct pollfd *pfd = &fds[0];
    nfds_t nfds = fds[1].fd != PORTAL_FD_INVALID ? 2 : 1;
    if (events & PORTAL_WAIT_READ)
        pfd->events |= POLLIN;
    if (events & PORTAL_WAIT_WRITE)
        pfd->events |= POLLOUT;
    int64_t deadline_us = portal_platform_now_us() + (int64_t)timeout_ms * 1000;
    int poll_timeout = timeout_ms < 0 ? -1 : timeout_ms;
    for (;;) {
        if (timeout_ms != 0 && portal_platform_interrupted())
            return PORTAL_IO_INTERRUPTED;
        int n = poll(fds, nfds, poll_timeout);
        if (n > 0 && pfd->revents == 0) {
            /* only the interrupt descriptor: a shutdown was requested */
            if (portal_platform_interrupt_requested() || timeout_ms != 0)
                return PORTAL_IO_INTERRUPTED;
            return 0;
        }
        if (n > 0)
            break;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return fail_with_errno(errno, PORTAL_IO_ERROR);
        if (timeout_ms > 0) {
            /* A signal cut the wait short: wait only for what is left, rounded up so the total
             * is never shorter than asked. */
            int64_t left_us = deadline_us - portal_platform_now_us();
            if (left_us <= 0)
                return 0;
            poll_timeout = (int)((left_us + 999) / 1000);
        }
    }
    if (pfd->revents & POLLNVAL)
        return fail_with_errno(EBADF, PORTAL_IO_ERROR);
    int ready = 0;
    if (pfd->revents & POLLIN)
        ready |= PORTAL_WAIT_READ;
    if (pfd->revents & POLLOUT)
        ready |= PORTAL_WAIT_WRITE;
    if (pfd->revents & POLLERR)
        ready |= PORTAL_WAIT_ERROR;
    if (pfd->revents & POLLHUP)
        ready |= PORTAL_WAIT_HANGUP;
    return ready;
}

int portal_platform_wait_many(portal_wait_entry *entries, int count, int timeout_ms)
{
    struct pollfd stack_fds[32];
    if (count < 0)
        count = 0;
    struct pollfd *fds = portal_bsd_pollfds(stack_fds, sizeof stack_fds / sizeof stack_fds[0], count);
    if (!fds)
        return fail_with_errno(ENOMEM, PORTAL_IO_ERROR);
    for (int i = 0; i < count; i++) {
        fds[i].fd = entries[i].fd; /* poll skips negative descriptors, as the contract asks */
        fds[i].events = portal_bsd_poll_events(entries[i].events);
        fds[i].revents = 0;
    }
    int n = poll(fds, (nfds_t)count, timeout_ms < 0 ? -1 : timeout_ms);
    int err = errno;
    int ready = 0;
    for (int i = 0; i < count; i++) {
        entries[i].ready = n > 0 ? portal_bsd_poll_ready(fds[i].revents) : 0;
        if (entries[i].ready)
            ready++;
    }
    portal_bsd_pollfds_free(fds, stack_fds);
    if (n < 0)
        return err == EINTR ? PORTAL_IO_WOULD_BLOCK : fail_with_errno(err, PORTAL_IO_ERROR);
    return ready;
}

/* The kernel's descriptor limit is reported by accept4 itself (EMFILE), with the connection left
 * in the queue, so there is no budget to consult here. */
int portal_platform_sockets_free(void)
{
    return -1;
}

int portal_platform_open_fd_count(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return -1;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.')
            count++;
    }
    closedir(dir);
    return count - 1; /* the directory stream's own descriptor was listed too */
}

/* ---- network interface ---- */

/* A desktop is always "on the network": there is no Wi-Fi station to bring up or down. */
int portal_platform_net_is_ready(void)
{
    return 1;
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
    return 1; /* station, the mode an app expects when it is online */
}

/* The IPv4 address of the first interface that is up, running and not loopback; an interface that
 * is up but not running (cable out) is used only when nothing better exists; 127.0.0.1 last. */
bool portal_platform_net_ipv4(uint8_t out[4])
{
    static const uint8_t loopback[4] = {127, 0, 0, 1};
    memcpy(out, loopback, 4);
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0)
        return true;
    bool found_up = false;
    for (struct ifaddrs *ifa = list; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET)
            continue;
        if (!(ifa->ifa_flags & IFF_UP) || (ifa->ifa_flags & IFF_LOOPBACK))
            continue;
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ifa->ifa_addr;
        if (ifa->ifa_flags & IFF_RUNNING) {
            memcpy(out, &sin->sin_addr, 4);
            break;
        }
        if (!found_up) {
            memcpy(out, &sin->sin_addr, 4);
            found_up = true;
        }
    }
    freeifaddrs(list);
    return true;
}

bool portal_platform_resolve_ipv4(const char *host, uint8_t out[4])
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *result = NULL;
    if (getaddrinfo(host, NULL, &hints, &result) != 0 || !result)
        return false;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)result->ai_addr;
    memcpy(out, &sin->sin_addr, 4);
    freeaddrinfo(result);
    return true;
}
