/* bsd_sockets.h - what both platform layers share because both speak the BSD socket API: the
 * conversion between portal_sockaddr and struct sockaddr_in/in6 (and getaddrinfo's answers), and
 * between portal_wait_entry events and struct pollfd bits. Included by posix.c and posix_resolve.c
 * (the kernel's headers) and lwip.c (lwIP's headers, whose structures and constants have the same
 * names) after their socket headers, so one text serves two sets of types; not a public header. */
#ifndef PORTAL_BSD_SOCKETS_H
#define PORTAL_BSD_SOCKETS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

/* IPv6 unless the stack is an lwIP built without it. */
#if !defined(LWIP_IPV6) || LWIP_IPV6
#define PORTAL_BSD_IPV6 1
#else
#define PORTAL_BSD_IPV6 0
#endif

/* Port numbers in network byte order, written byte by byte (no htons: its name differs between
 * the two stacks, the bytes do not). */
static inline uint16_t portal_bsd_port_to_net(uint16_t port)
{
    uint8_t bytes[2] = {(uint8_t)(port >> 8), (uint8_t)port};
    uint16_t net;
    memcpy(&net, bytes, sizeof net);
    return net;
}

static inline uint16_t portal_bsd_port_from_net(uint16_t net)
{
    uint8_t bytes[2];
    memcpy(bytes, &net, sizeof bytes);
    return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

/* Fills `out` from `addr` (family 6, or else IPv4); returns the length to pass with it. */
static inline socklen_t portal_bsd_to_native(const portal_sockaddr *addr,
                                             struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
#if PORTAL_BSD_IPV6
    if (addr->family == 6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = portal_bsd_port_to_net(addr->port);
        memcpy(&sin6->sin6_addr, addr->ip, 16);
        sin6->sin6_scope_id = addr->scope_id;
        return (socklen_t)sizeof *sin6;
    }
#endif
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    sin->sin_family = AF_INET;
    sin->sin_port = portal_bsd_port_to_net(addr->port);
    memcpy(&sin->sin_addr, addr->ip, 4);
    return (socklen_t)sizeof *sin;
}

/* Fills `out` from a native address; family 0 when it is neither IPv4 nor IPv6. */
static inline void portal_bsd_from_native(const struct sockaddr_storage *native,
                                          portal_sockaddr *out)
{
    memset(out, 0, sizeof *out);
#if PORTAL_BSD_IPV6
    if (native->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)native;
        out->family = 6;
        out->port = portal_bsd_port_from_net(sin6->sin6_port);
        memcpy(out->ip, &sin6->sin6_addr, 16);
        out->scope_id = sin6->sin6_scope_id;
        return;
    }
#endif
    if (native->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)native;
        out->family = 4;
        out->port = portal_bsd_port_from_net(sin->sin_port);
        memcpy(out->ip, &sin->sin_addr, 4);
    }
}

/* Where the stack has getaddrinfo: everything but an lwIP built without DNS. */
#if !defined(LWIP_DNS) || LWIP_DNS
/* The IPv4 and IPv6 addresses of a getaddrinfo answer into `out`, in its order, at most `max`;
 * returns how many (0 when it held neither family). */
static inline int portal_bsd_from_addrinfo(const struct addrinfo *list, portal_sockaddr *out,
                                           int max)
{
    int count = 0;
    for (const struct addrinfo *ai = list; ai && count < max; ai = ai->ai_next) {
        struct sockaddr_storage native;
        memset(&native, 0, sizeof native);
        size_t len = (size_t)ai->ai_addrlen;
        memcpy(&native, ai->ai_addr, len < sizeof native ? len : sizeof native);
        portal_bsd_from_native(&native, &out[count]);
        if (out[count].family != 0)
            count++;
    }
    return count;
}
#endif

/* Where the waiting is poll(2): posix.c, and lwip.c on a stack without select. */
#if !defined(LWIP_SOCKET_SELECT) || !LWIP_SOCKET_SELECT
/* poll(2) bits for a wait entry's events. */
static inline short portal_bsd_poll_events(int events)
{
    return (short)(((events & PORTAL_WAIT_READ) ? POLLIN : 0) |
                   ((events & PORTAL_WAIT_WRITE) ? POLLOUT : 0));
}

/* A wait entry's ready bits for poll(2)'s answer: everything poll says (the platform decides
 * what of it to keep; lwip.c keeps what select would say). */
static inline int portal_bsd_poll_ready(short revents)
{
    int ready = 0;
    if (revents & POLLIN)
        ready |= PORTAL_WAIT_READ;
    if (revents & POLLOUT)
        ready |= PORTAL_WAIT_WRITE;
    if (revents & (POLLERR | POLLNVAL))
        ready |= PORTAL_WAIT_ERROR;
    if (revents & POLLHUP)
        ready |= PORTAL_WAIT_HANGUP;
    return ready;
}

/* The pollfd array for `count` entries: `stack` when it is big enough, else allocated (free it
 * with portal_bsd_pollfds_free); NULL when out of memory. */
static inline struct pollfd *portal_bsd_pollfds(struct pollfd *stack, size_t stack_count,
                                                int count)
{
    if (count <= 0 || (size_t)count <= stack_count)
        return stack;
    return malloc((size_t)count * sizeof *stack);
}

static inline void portal_bsd_pollfds_free(struct pollfd *fds, struct pollfd *stack)
{
    if (fds != stack)
        free(fds);
}
#endif

#endif
