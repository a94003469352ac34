/* socket.h - C SDK: module `portal_socket` (TCP and UDP sockets behind handles) plus thin helpers:
 * the SocketAddr layouts, address builders and "closed or just not yet?" checks.
 * Semantics: docs/spec-socket.md; the IPv6 address form: docs/extensions.md. */
#ifndef PORTAL_SDK_SOCKET_H
#define PORTAL_SDK_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "portal.h"

/* sockSocket arguments (upstream uses the lwIP numbers). */
enum { PP_AF_INET = 2, PP_AF_INET6 = 10 };
enum { PP_SOCK_STREAM = 1, PP_SOCK_DGRAM = 2 };

/* Timeouts: 0 never blocks, > 0 waits at most that many ms, < 0 waits until ready. */
#define PP_NO_WAIT 0
#define PP_WAIT_FOREVER (-1)

/* ---- imports (upstream names and WebAssembly types) ----
 * Every (pointer, length) pair is checked by the host over its whole length; a range outside the
 * app's memory traps the app. Handles are per app; a bad one returns PP_ERR_INVALID_ARGUMENT. */
PORTAL_IMPORT(portal_socket, sockSocket)
int32_t sockSocket(int32_t domain, int32_t type, int32_t protocol);
PORTAL_IMPORT(portal_socket, sockConnect)
int32_t sockConnect(int32_t sock, const void *addr, uint32_t addr_len, int32_t timeout_ms);
PORTAL_IMPORT(portal_socket, sockBind)
int32_t sockBind(int32_t sock, const void *addr, uint32_t addr_len);
PORTAL_IMPORT(portal_socket, sockListen) int32_t sockListen(int32_t sock, int32_t backlog);
/* Four parameters as on the firmware; the fourth is ignored and the call always waits. */
PORTAL_IMPORT(portal_socket, sockAccept)
int32_t sockAccept(int32_t sock, void *out_addr, uint32_t out_addr_len, int32_t ignored);
PORTAL_IMPORT(portal_socket, sockAcceptWithTimeout)
int32_t sockAcceptWithTimeout(int32_t sock, void *out_addr, uint32_t out_addr_len,
                              int32_t timeout_ms);
PORTAL_IMPORT(portal_socket, sockSend)
int32_t sockSend(int32_t sock, const void *buf, uint32_t len, int32_t timeout_ms);
/* Returns the bytes read; 0 means the peer closed the connection. */
PORTAL_IMPORT(portal_socket, sockRecv)
int32_t sockRecv(int32_t sock, void *buf, uint32_t len, int32_t timeout_ms);
PORTAL_IMPORT(portal_socket, sockClose) int32_t sockClose(int32_t sock);

/* ---- sockPoll (extension, PP_FEATURE_EXT_SOCKET_POLL) ----
 * Waits until one of `entries` is ready, at most timeout_ms (same rule as everywhere; it also
 * returns early, with 0, when another microtask of the app falls due). Handles may be sockets,
 * listeners and TLS sessions. A listener used with tlsAccept is readable when a handshake has
 * finished; a TLS session is readable when plaintext is already decrypted. Returns how many entries
 * have revents set, 0 on timeout, or a negative error code. */
enum { PP_POLL_IN = 1, PP_POLL_OUT = 2, PP_POLL_ERR = 4, PP_POLL_HUP = 8, PP_POLL_INVALID = 16 };
typedef struct pp_poll_entry {
    int32_t handle;
    uint16_t events;  /* PP_POLL_IN | PP_POLL_OUT */
    uint16_t revents; /* written by the host; ERR, HUP and INVALID are always reported */
} pp_poll_entry;
_Static_assert(sizeof(pp_poll_entry) == 8, "pp_poll_entry is 8 bytes");
_Static_assert(offsetof(pp_poll_entry, revents) == 6, "revents at offset 6");
PORTAL_IMPORT(portal_socket, sockPoll)
int32_t sockPoll(pp_poll_entry *entries, uint32_t entries_bytes, int32_t timeout_ms);
static inline int32_t pp_poll(pp_poll_entry *entries, uint32_t count, int32_t timeout_ms)
{
    return sockPoll(entries, count * (uint32_t)sizeof *entries, timeout_ms);
}

/* ---- addresses ---- */

/* The upstream 12-byte form (IPv4). */
typedef struct __attribute__((packed)) SocketAddr {
    int32_t family;  /* written as 2 by the host, ignored on input */
    uint16_t port;   /* host order */
    uint8_t ip[4];   /* network order: ip[0] is the first octet */
    uint8_t _pad[2]; /* written as 0 */
} SocketAddr;
_Static_assert(sizeof(SocketAddr) == 12, "SocketAddr is 12 bytes");
_Static_assert(offsetof(SocketAddr, family) == 0, "SocketAddr.family at 0");
_Static_assert(offsetof(SocketAddr, port) == 4, "SocketAddr.port at 4");
_Static_assert(offsetof(SocketAddr, ip) == 6, "SocketAddr.ip at 6");
_Static_assert(offsetof(SocketAddr, _pad) == 10, "SocketAddr._pad at 10");

/* The 28-byte IPv6 form (extension, feature bit PP_FEATURE_EXT_SOCKET_IPV6). */
typedef struct __attribute__((packed)) SocketAddr6 {
    int32_t family; /* 10 */
    uint16_t port;  /* host order */
    uint16_t _pad;  /* 0 */
    uint8_t ip[16]; /* network order */
    uint32_t scope_id;
} SocketAddr6;
_Static_assert(sizeof(SocketAddr6) == 28, "SocketAddr6 is 28 bytes");
_Static_assert(offsetof(SocketAddr6, family) == 0, "SocketAddr6.family at 0");
_Static_assert(offsetof(SocketAddr6, port) == 4, "SocketAddr6.port at 4");
_Static_assert(offsetof(SocketAddr6, _pad) == 6, "SocketAddr6._pad at 6");
_Static_assert(offsetof(SocketAddr6, ip) == 8, "SocketAddr6.ip at 8");
_Static_assert(offsetof(SocketAddr6, scope_id) == 24, "SocketAddr6.scope_id at 24");

/* Room for whatever sockAccept writes: pass it with sizeof, then read `.v4.family` (2 or 10).
 * family and port sit at the same offsets in both forms. */
typedef union pp_sockaddr_any {
    SocketAddr v4;
    SocketAddr6 v6;
} pp_sockaddr_any;

static inline SocketAddr pp_addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    SocketAddr addr = {PP_AF_INET, port, {a, b, c, d}, {0, 0}};
    return addr;
}

/* From 4 bytes in network order, as netGetIpv4 / netResolveIpv4 write them. */
static inline SocketAddr pp_addr4_bytes(const uint8_t ip[4], uint16_t port)
{
    return pp_addr4(ip[0], ip[1], ip[2], ip[3], port);
}

static inline SocketAddr pp_addr4_any(uint16_t port) { return pp_addr4(0, 0, 0, 0, port); }
static inline SocketAddr pp_addr4_loopback(uint16_t port) { return pp_addr4(127, 0, 0, 1, port); }

static inline SocketAddr6 pp_addr6(const uint8_t ip[16], uint16_t port, uint32_t scope_id)
{
    SocketAddr6 addr;
    memset(&addr, 0, sizeof addr);
    addr.family = PP_AF_INET6;
    addr.port = port;
    memcpy(addr.ip, ip, 16);
    addr.scope_id = scope_id;
    return addr;
}

static inline SocketAddr6 pp_addr6_any(uint16_t port)
{
    static const uint8_t any[16] = {0};
    return pp_addr6(any, port, 0);
}

static inline SocketAddr6 pp_addr6_loopback(uint16_t port)
{
    static const uint8_t loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return pp_addr6(loopback, port, 0);
}

static inline int32_t pp_addr_family(const pp_sockaddr_any *addr) { return addr->v4.family; }
static inline uint16_t pp_addr_port(const pp_sockaddr_any *addr) { return addr->v4.port; }

/* "a.b.c.d:port" or "[v6]:port" with the IPv6 address in its RFC 5952 text ("[::1]:8443",
 * "[2001:db8::5]:80"), the form portal-host's own log lines use. PP_ADDR_TEXT_SIZE bytes are
 * always enough; a smaller `out` gets a cut, NUL-terminated text. Returns `out`. */
#define PP_ADDR_TEXT_SIZE 56
char *pp_addr_format(const pp_sockaddr_any *addr, char *out, size_t size);

/* ---- errors ----
 * PP_ERR_NOT_READY (-3) means both "not yet" (would block, timed out, connect in progress, no
 * pending client) and, from sockRecv, "the peer is gone" (reset, not connected); the message
 * tells them apart. sockSend reports a gone peer as PP_ERR_INTERNAL (-2), as upstream does, also
 * with "closed" in the message. */
static inline int pp_sock_closed(int32_t rc)
{
    return (rc == PP_ERR_NOT_READY || rc == PP_ERR_INTERNAL) &&
           strstr(pp_last_error(), "closed") != NULL;
}

/* True for "try again later": would block, timed out, in progress, no pending client. */
static inline int pp_sock_not_yet(int32_t rc)
{
    return rc == PP_ERR_NOT_READY && !pp_sock_closed(rc);
}

/* Sends all `len` bytes, each sockSend waiting at most `timeout_ms`. Returns `len`, or the first
 * error (bytes already sent are then lost to the caller's count). */
static inline int32_t pp_sock_send_all(int32_t sock, const void *buf, uint32_t len,
                                       int32_t timeout_ms)
{
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t done = 0;
    while (done < len) {
        int32_t n = sockSend(sock, p + done, len - done, timeout_ms);
        if (n < 0)
            return n;
        done += (uint32_t)n;
    }
    return (int32_t)len;
}

#endif
