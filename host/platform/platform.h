/* platform.h - the few OS calls that differ between the desktop (POSIX) and the firmware (lwIP).
 * Sockets here are native descriptors, always non-blocking; waiting is done with
 * portal_platform_wait (poll on POSIX). Nothing here knows about apps or handles. */
#ifndef PORTAL_PLATFORM_H
#define PORTAL_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- time, memory, randomness ---- */
int64_t portal_platform_now_us(void); /* monotonic, since an arbitrary start */
int64_t portal_platform_now_ms(void);
size_t portal_platform_rss_bytes(void); /* resident set size, 0 when unknown */
bool portal_platform_random(void *buf, size_t len);

/* ---- sockets ---- */
typedef int portal_fd;
#define PORTAL_FD_INVALID (-1)

/* A socket address in host form: family 4 or 6, port in host order, IP in network order. */
typedef struct portal_sockaddr {
    int family;     /* 4 or 6 */
    uint16_t port;  /* host order */
    uint8_t ip[16]; /* IPv4 uses ip[0..3] */
    uint32_t scope_id;
} portal_sockaddr;

/* Results of non-blocking calls: >= 0 success (bytes, fd), else one of these. */
#define PORTAL_IO_WOULD_BLOCK (-1000) /* EAGAIN / EWOULDBLOCK / EINPROGRESS */
#define PORTAL_IO_CLOSED (-1001)      /* ECONNRESET / ENOTCONN / EPIPE */
#define PORTAL_IO_ERROR (-1002)       /* anything else; portal_platform_last_error() says what */

enum { PORTAL_WAIT_READ = 1, PORTAL_WAIT_WRITE = 2, PORTAL_WAIT_ERROR = 4, PORTAL_WAIT_HANGUP = 8 };

/* Text of the errno of the last failing platform call in this thread. */
const char *portal_platform_last_error(void);
int portal_platform_last_errno(void);

/* Creates a non-blocking, close-on-exec TCP socket; family 4 or 6. */
portal_fd portal_platform_socket(int family, int type_stream_or_dgram, int protocol);
int portal_platform_bind(portal_fd fd, const portal_sockaddr *addr, bool reuse_addr);
int portal_platform_listen(portal_fd fd, int backlog);
/* Accepts one pending connection (non-blocking); the new fd is non-blocking too. */
portal_fd portal_platform_accept(portal_fd fd, portal_sockaddr *peer);
/* Starts a connect: 0 connected, PORTAL_IO_WOULD_BLOCK in progress, else error. */
int portal_platform_connect_start(portal_fd fd, const portal_sockaddr *addr);
/* After the socket became writable: 0 connected, else error (errno set from SO_ERROR). */
int portal_platform_connect_finish(portal_fd fd);
/* Never raises SIGPIPE. */
long portal_platform_send(portal_fd fd, const void *buf, size_t len);
/* 0 = orderly shutdown by the peer. */
long portal_platform_recv(portal_fd fd, void *buf, size_t len);
void portal_platform_close(portal_fd fd);
/* Sends small writes at once (no Nagle delay): TLS writes each handshake record separately, and
 * waiting for ACKs between them costs a delayed-ACK timeout (40 ms) per flight. */
void portal_platform_set_nodelay(portal_fd fd);
int portal_platform_local_addr(portal_fd fd, portal_sockaddr *addr);

/* Waits until `fd` is ready for `events` (PORTAL_WAIT_READ/WRITE). timeout_ms: 0 = poll, < 0 =
 * forever, > 0 = at most that long (restarted after EINTR with the remaining time).
 * Returns the ready mask (may include ERROR/HANGUP), 0 on timeout, PORTAL_IO_ERROR on failure. */
int portal_platform_wait(portal_fd fd, int events, int timeout_ms);

/* One descriptor of a multi-descriptor wait: `events` wanted (PORTAL_WAIT_READ/WRITE; 0 = just
 * carried along, never reported), `ready` written by the wait. */
typedef struct portal_wait_entry {
    portal_fd fd; /* PORTAL_FD_INVALID entries are skipped */
    int events;
    int ready;
} portal_wait_entry;

/* Waits once, at most timeout_ms (0 = poll, < 0 = forever), until one of `entries` is ready.
 * Returns how many entries have a non-zero `ready`, 0 on timeout, PORTAL_IO_WOULD_BLOCK when a
 * signal cut the wait short (the caller re-plans and calls again), PORTAL_IO_ERROR on failure
 * (it would fail again at once; portal_platform_last_error() says why). It does not add the
 * interrupt descriptor: a caller that must end on shutdown puts it in `entries` itself.
 * Every wait of the portable core goes through here or portal_platform_wait, never libc poll():
 * on ESP-IDF the C library's poll() is built on select() and only sees lwIP sockets as such.
 * What `ready` can hold differs by platform, and callers must work with both:
 *   POSIX (poll):  READ, WRITE, ERROR (also an invalid descriptor), HANGUP.
 *   lwIP (select semantics, as on ESP-IDF): READ and WRITE only for wanted events, ERROR for a
 *   pending socket error; never HANGUP: a peer that closed or reset shows as READ (the next
 *   recv returns 0 or the error), and an entry with events 0 is never reported at all. */
int portal_platform_wait_many(portal_wait_entry *entries, int count, int timeout_ms);

/* Host shutdown: waits must not outlive a SIGINT/SIGTERM, or an app blocked in an accept or recv
 * without timeout could never reach ppShutdown. The host registers a descriptor that becomes
 * readable on shutdown (desktop: the signal pipe); every portal_platform_wait also watches it.
 * portal_platform_interrupt() is async-signal-safe and sticky: once called, every wait returns
 * PORTAL_IO_INTERRUPTED at once, so shutdown work (ppShutdown, close_notify) never blocks.
 * set_interrupt_fd(fd) also clears the state (a host calls it again before the next app, so one
 * app's shutdown does not interrupt the next); set_interrupt_fd(-1) unregisters.
 * A runtime that stops an app from another thread by waking the blocked thread with a signal
 * (WAMR's wasm_runtime_terminate: SIGUSR1, so the wait sees EINTR) tells the waits through
 * `check`: portal_platform_interrupted() is also true while check() is, and every wait consults
 * it before waiting again. check runs on the waiting thread, never in a signal handler. NULL = none. */
#define PORTAL_IO_INTERRUPTED (-1003)
void portal_platform_set_interrupt_fd(portal_fd fd);
void portal_platform_set_interrupt_check(bool (*check)(void));
void portal_platform_interrupt(void);
bool portal_platform_interrupted(void);
portal_fd portal_platform_interrupt_fd(void); /* for hosts that poll several descriptors */

/* Sockets this host may still create or accept: -1 = no limit of its own (POSIX). On lwIP the
 * stack's socket table is small and shared with the firmware, and lwip_accept with no free socket
 * drops the queued client (ENFILE): there, socket and accept fail with ENFILE without touching the
 * stack once this reaches 0, so waiting clients stay queued until a socket is closed. */
int portal_platform_sockets_free(void);

/* Number of open descriptors of this process (tests use it to prove teardown); -1 if unknown.
 * lwIP: the sockets the platform layer holds (its own bookkeeping). */
int portal_platform_open_fd_count(void);

/* ---- network interface (module portal_net) ---- */
/* Desktop: always ready, connect/disconnect succeed at once, mode 1 (station). The firmware's
 * platform file maps these to its Wi-Fi station. */
int portal_platform_net_is_ready(void);   /* 1 when the host has an IPv4 address, else 0 */
int portal_platform_net_connect(void);    /* 0 when a connect was started or is not needed */
int portal_platform_net_disconnect(void); /* 0 on success */
int portal_platform_wifi_mode(void);      /* 0 off, 1 station, 2 soft-AP, 3 both */
/* The host's own IPv4 address (network order); false when there is no interface at all. */
bool portal_platform_net_ipv4(uint8_t out[4]);
/* First IPv4 address of `host` (blocking name lookup); false when it does not resolve. */
bool portal_platform_resolve_ipv4(const char *host, uint8_t out[4]);

/* ---- name resolution that does not block the caller (tlsConnect) ---- */
/* An IPv4 or IPv6 literal ("192.0.2.1", "::1") into `out` (port 0); false when `host` is not one.
 * A literal never needs a lookup. */
bool portal_platform_parse_ip(const char *host, portal_sockaddr *out);
/* One lookup of a DNS name, running in the background: POSIX in a worker thread (at most
 * PORTAL_RESOLVE_WORKERS at once, later ones queued in order), lwIP in a task of its own. Names in
 * the reserved top-level domain `invalid` (RFC 6761) fail at once without a lookup. */
typedef struct portal_resolve portal_resolve;
#define PORTAL_RESOLVE_WORKERS 4
#define PORTAL_RESOLVE_MAX_ADDRS 16
/* NULL when out of memory (portal_platform_last_error() says so). */
portal_resolve *portal_platform_resolve_start(const char *host);
/* 0: still running. > 0: done, that many addresses written to `out` (at most `max`, IPv6 and IPv4
 * in the resolver's order, port 0). < 0: failed, the resolver's text in `why`. Never blocks. */
int portal_platform_resolve_result(portal_resolve *job, portal_sockaddr *out, int max, char *why,
                                   size_t why_size);
/* A descriptor that turns readable when the lookup has finished (wait on it with the others), or
 * PORTAL_FD_INVALID where the platform has none: then look again every ~10 ms. */
portal_fd portal_platform_resolve_fd(const portal_resolve *job);
/* Forgets the job, finished or not, without waiting: a lookup still running frees its job when it
 * ends. The caller must not use `job` afterwards. */
void portal_platform_resolve_cancel(portal_resolve *job);

#endif
