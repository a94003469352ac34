/* socket.c - module `portal_socket`: TCP/UDP sockets behind per-app handles, with one timeout rule
 * for every call (0 never blocks, > 0 bounded, < 0 waits) on top of the non-blocking platform
 * layer. Buffers arrive already bounds-checked by the binding; see docs/spec-socket.md. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../api/api.h"
#include "../core/app.h"
#include "../core/deadline.h"
#include "socket.h"

/* The app's numbering (upstream passes lwIP's AF_* / SOCK_* values). */
#define APP_DOMAIN_INET 2
#define APP_DOMAIN_INET6 10
#define APP_TYPE_STREAM 1
#define APP_TYPE_DGRAM 2
#define APP_PROTO_TCP 6  /* IPPROTO_TCP, the same on Linux and lwIP */
#define APP_PROTO_UDP 17 /* IPPROTO_UDP */

#define DEFAULT_BACKLOG 5 /* upstream's replacement for backlog <= 0 */
#define ADDRESS_TEXT_SIZE 64

static const char *handle_kind_name(portal_handle_kind kind)
{
    switch (kind) {
    case PORTAL_HANDLE_SOCKET: return "socket";
    case PORTAL_HANDLE_TLS_CONFIG: return "TLS config";
    case PORTAL_HANDLE_TLS_SESSION: return "TLS session";
    default: return "free slot";
    }
}

portal_socket *portal_socket_lookup(portal_app *app, int32_t handle, const char *who)
{
    portal_socket *s = portal_handles_get(&app->handles, handle, PORTAL_HANDLE_SOCKET);
    if (s)
        return s;
    portal_handle_kind kind = portal_handles_kind(&app->handles, handle);
    if (kind != PORTAL_HANDLE_FREE)
        portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: handle %d is a %s, not a socket", who,
                    (int)handle, handle_kind_name(kind));
    else
        portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: bad socket handle %d", who, (int)handle);
    return NULL;
}

/* ---- waiting ---- */

/* A call's deadline (fixed at its start, so that every retry inside it shares it) and its
 * timeout argument, for the messages. */
typedef struct call_clock {
    portal_deadline deadline;
    int32_t timeout_ms;
} call_clock;

static call_clock clock_start(int32_t timeout_ms)
{
    return (call_clock){.deadline = portal_deadline_after(timeout_ms), .timeout_ms = timeout_ms};
}

/* Called when the operation would block. Returns 0 once `fd` is ready for `events` (the caller
 * retries the operation), or a negative code with the last error set: -3 with `would_block_text`
 * for timeout 0, -3 "timed out" when the deadline passed, -2 when waiting itself failed. */
static int32_t wait_ready(portal_app *app, const char *who, const char *would_block_text,
                          portal_fd fd, int events, const call_clock *clock)
{
    if (clock->timeout_ms == 0)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: %s", who, would_block_text);
    int wait_ms = portal_deadline_remaining_ms(clock->deadline);
    if (wait_ms == 0)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: timed out after %d ms", who,
                           (int)clock->timeout_ms);
    int ready = portal_platform_wait(fd, events, wait_ms);
    if (ready == PORTAL_IO_INTERRUPTED)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: interrupted: host shutting down", who);
    if (ready == 0)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: timed out after %d ms", who,
                           (int)clock->timeout_ms);
    if (ready < 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: poll failed: %s", who,
                           portal_platform_last_error());
    return 0;
}

/* Maps a failed send/recv to the app's codes. The peer going away keeps upstream's code for each
 * call (`closed_code`: -3 for sockRecv, -2 for sockSend) with "closed" in the text, so apps can
 * tell it from "would block" (also -3) by the message; anything else -> -2. */
static int32_t io_failure(portal_app *app, const char *who, long result, int32_t closed_code)
{
    if (result == PORTAL_IO_CLOSED)
        return portal_fail(app, closed_code, "%s: closed (%s)", who,
                           portal_platform_last_error());
    return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", who, portal_platform_last_error());
}

/* The i32 return value must hold the byte count, so one call moves at most INT32_MAX bytes. */
static size_t clamp_io_length(uint32_t len)
{
    return len > INT32_MAX ? (size_t)INT32_MAX : (size_t)len;
}

/* ---- creating and closing ---- */

static int32_t too_many_sockets(portal_app *app, const char *who)
{
    return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: too many open sockets (limit %d)", who,
                       app->limits.max_sockets);
}

/* Registered on the app's first socket: teardown closes whatever plain sockets are left. */
const portal_module_ops portal_socket_module = {
    .name = "portal_socket",
    .teardown = portal_socket_teardown,
};

/* Puts a fresh descriptor behind a new handle; on failure the descriptor is closed. */
static int32_t adopt_fd(portal_app *app, const char *who, portal_fd fd, int family, int type)
{
    portal_socket *s = calloc(1, sizeof *s);
    if (!s) {
        portal_platform_close(fd);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
    }
    s->fd = fd;
    s->family = family;
    s->type = type;
    int32_t handle = portal_handles_add(&app->handles, PORTAL_HANDLE_SOCKET, s);
    if (handle <= 0 || !portal_app_use_module(app, &portal_socket_module)) {
        if (handle > 0)
            portal_handles_remove(&app->handles, handle);
        portal_platform_close(fd);
        free(s);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: handle table full", who);
    }
    return handle;
}

static void close_socket(portal_app *app, int32_t handle, portal_socket *s)
{
    portal_platform_close(s->fd);
    portal_handles_remove(&app->handles, handle);
    free(s);
}

int32_t portal_sock_socket(portal_app *app, int32_t domain, int32_t type, int32_t protocol)
{
    static const char who[] = "sockSocket";
    int family = domain == APP_DOMAIN_INET ? 4 : domain == APP_DOMAIN_INET6 ? 6 : 0;
    if (!family)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: unsupported domain %d (2 = IPv4, 10 = IPv6)", who, (int)domain);
    if (type != APP_TYPE_STREAM && type != APP_TYPE_DGRAM)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: unsupported type %d (1 = stream, 2 = datagram)", who, (int)type);
    /* Only the default protocol of the type, by 0 or by number: anything else would reach
     * socket(2) as given and open e.g. an SCTP stream or an ICMP "ping" datagram socket. */
    if (type == APP_TYPE_STREAM && protocol != 0 && protocol != APP_PROTO_TCP)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: protocol %d is not supported (only 0 or 6/TCP)", who, (int)protocol);
    if (type == APP_TYPE_DGRAM && protocol != 0 && protocol != APP_PROTO_UDP)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: protocol %d is not supported on a datagram socket (only 0 or "
                           "17/UDP)", who, (int)protocol);
    if ((int)portal_handles_count(&app->handles, PORTAL_HANDLE_SOCKET) >= app->limits.max_sockets)
        return too_many_sockets(app, who);
    portal_fd fd = portal_platform_socket(family, type, protocol);
    if (fd < 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: socket failed: %s", who,
                           portal_platform_last_error());
    return adopt_fd(app, who, fd, family, type);
}

int32_t portal_sock_close(portal_app *app, int32_t sock)
{
    portal_handle_kind kind = portal_handles_kind(&app->handles, sock);
    if (kind == PORTAL_HANDLE_SOCKET) {
        close_socket(app, sock, portal_handles_get(&app->handles, sock, PORTAL_HANDLE_SOCKET));
        return PORTAL_OK;
    }
    /* Closing something else by mistake must not pass silently, nor close it. */
    if (kind != PORTAL_HANDLE_FREE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "sockClose: handle %d is a %s, not a "
                           "socket", (int)sock, handle_kind_name(kind));
    /* Not live (already closed, never issued, <= 0): closing is idempotent and, as upstream,
     * returns 0 without touching the last error. */
    return PORTAL_OK;
}

static void teardown_one(int32_t handle, void *object, void *ctx)
{
    close_socket(ctx, handle, object);
}

void portal_socket_teardown(portal_app *app)
{
    if (!app->handles.slots)
        return;
    portal_handles_each(&app->handles, PORTAL_HANDLE_SOCKET, teardown_one, app);
}

/* ---- addresses: bind, connect ---- */

/* Decodes the app's address and checks it fits the socket; false with the last error set. */
static bool decode_for_socket(portal_app *app, const char *who, const portal_socket *s,
                              const uint8_t *addr, uint32_t addr_len, portal_sockaddr *out)
{
    if (!portal_sockaddr_decode(addr, addr_len, out)) {
        portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                    "%s: invalid address (%u bytes; need 12, or 28 for IPv6)", who,
                    (unsigned)addr_len);
        return false;
    }
    if (out->family != s->family) {
        portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: IPv%d address on an IPv%d socket%s",
                    who, out->family, s->family,
                    s->family == 6 ? " (use the 28-byte form with family 10)" : "");
        return false;
    }
    return true;
}

int32_t portal_sock_bind(portal_app *app, int32_t sock, uint8_t *addr, uint32_t addr_len)
{
    static const char who[] = "sockBind";
    portal_socket *s = portal_socket_lookup(app, sock, who);
    if (!s)
        return PORTAL_ERR_INVALID_ARGUMENT;
    portal_sockaddr local;
    if (!decode_for_socket(app, who, s, addr, addr_len, &local))
        return PORTAL_ERR_INVALID_ARGUMENT;
    /* SO_REUSEADDR lets a restarted app listen again at once despite TIME_WAIT connections. Not
     * for datagram sockets: there it would let two sockets share a port silently. */
    bool reuse_addr = s->type == APP_TYPE_STREAM;
    if (portal_platform_bind(s->fd, &local, reuse_addr) == 0)
        return PORTAL_OK;
    char text[ADDRESS_TEXT_SIZE];
    portal_sockaddr_format(&local, text, sizeof text);
    if (portal_platform_last_errno() == EADDRINUSE)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: address in use: %s", who, text);
    return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: cannot bind %s: %s", who, text,
                       portal_platform_last_error());
}

int32_t portal_sock_connect(portal_app *app, int32_t sock, uint8_t *addr, uint32_t addr_len,
                            int32_t timeout_ms)
{
    static const char who[] = "sockConnect";
    portal_socket *s = portal_socket_lookup(app, sock, who);
    if (!s)
        return PORTAL_ERR_INVALID_ARGUMENT;
    portal_sockaddr peer;
    if (!decode_for_socket(app, who, s, addr, addr_len, &peer))
        return PORTAL_ERR_INVALID_ARGUMENT;
    if (s->listening)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: socket %d is listening", who,
                           (int)sock);

    call_clock clock = clock_start(timeout_ms);
    int rc = portal_platform_connect_start(s->fd, &peer);
    if (rc == PORTAL_IO_ERROR && s->connecting && portal_platform_last_errno() == EISCONN)
        rc = 0; /* an earlier call's connect finished in the meantime */
    while (rc == PORTAL_IO_WOULD_BLOCK) {
        /* Left in progress on timeout, so that calling sockConnect again continues it. */
        s->connecting = 1;
        int32_t waited = wait_ready(app, who, "in progress (would block); call again to finish",
                                    s->fd, PORTAL_WAIT_WRITE, &clock);
        if (waited < 0)
            return waited;
        rc = portal_platform_connect_finish(s->fd);
    }
    s->connecting = 0;
    if (rc == 0)
        return PORTAL_OK;
    char text[ADDRESS_TEXT_SIZE];
    portal_sockaddr_format(&peer, text, sizeof text);
    if (portal_platform_last_errno() == ECONNREFUSED)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: connection refused by %s (%s)", who,
                           text, portal_platform_last_error());
    return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: cannot connect to %s: %s", who, text,
                       portal_platform_last_error());
}

/* ---- listening ---- */

int32_t portal_sock_listen(portal_app *app, int32_t sock, int32_t backlog)
{
    static const char who[] = "sockListen";
    portal_socket *s = portal_socket_lookup(app, sock, who);
    if (!s)
        return PORTAL_ERR_INVALID_ARGUMENT;
    if (backlog <= 0)
        backlog = DEFAULT_BACKLOG;
    if (portal_platform_listen(s->fd, backlog) != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", who, portal_platform_last_error());
    s->listening = 1;
    return PORTAL_OK;
}

void portal_socket_accept_failed(portal_socket *s, int err)
{
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
        s->accept_paused_until_ms = portal_platform_now_ms() + PORTAL_ACCEPT_PAUSE_MS;
}

int portal_socket_accept_paused_ms(const portal_socket *s)
{
    if (s->accept_paused_until_ms == 0)
        return 0;
    int64_t left = s->accept_paused_until_ms - portal_platform_now_ms();
    return left > 0 ? (int)left : 0;
}

static int32_t accept_with_timeout(portal_app *app, const char *who, int32_t sock,
                                   uint8_t *out_addr, uint32_t out_addr_len, int32_t timeout_ms)
{
    /* Checked before accepting, so a bad call never swallows a client. */
    if (out_addr_len > 0 && out_addr_len < PORTAL_SOCKADDR4_SIZE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: out_addr_len too small (need 12, or 28 for IPv6)", who);
    portal_socket *s = portal_socket_lookup(app, sock, who);
    if (!s)
        return PORTAL_ERR_INVALID_ARGUMENT;
    if (!s->listening)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: socket %d is not listening", who,
                           (int)sock);
    /* Also checked first: the client stays queued until the app has room for it. */
    if ((int)portal_handles_count(&app->handles, PORTAL_HANDLE_SOCKET) >= app->limits.max_sockets)
        return too_many_sockets(app, who);

    call_clock clock = clock_start(timeout_ms);
    portal_sockaddr peer;
    portal_fd fd;
    for (;;) {
        fd = portal_platform_accept(s->fd, &peer);
        if (fd >= 0)
            break;
        if (fd != PORTAL_IO_WOULD_BLOCK) {
            portal_socket_accept_failed(s, portal_platform_last_errno());
            return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", who,
                               portal_platform_last_error());
        }
        int32_t waited = wait_ready(app, who, "no pending client", s->fd, PORTAL_WAIT_READ, &clock);
        if (waited < 0)
            return waited;
    }
    int32_t handle = adopt_fd(app, who, fd, s->family, APP_TYPE_STREAM);
    if (handle > 0)
        portal_sockaddr_encode(&peer, out_addr, out_addr_len);
    return handle;
}

int32_t portal_sock_accept_with_timeout(portal_app *app, int32_t sock, uint8_t *out_addr,
                                        uint32_t out_addr_len, int32_t timeout_ms)
{
    return accept_with_timeout(app, "sockAcceptWithTimeout", sock, out_addr, out_addr_len,
                               timeout_ms);
}

/* Upstream registers four parameters but its C function reads three: the fourth is ignored and
 * the accept always waits (docs/spec-socket.md, sockAccept). */
int32_t portal_sock_accept(portal_app *app, int32_t sock, uint8_t *out_addr, uint32_t out_addr_len,
                           int32_t ignored)
{
    (void)ignored;
    return accept_with_timeout(app, "sockAccept", sock, out_addr, out_addr_len, -1);
}

/* ---- data ---- */

int32_t portal_sock_send(portal_app *app, int32_t sock, uint8_t *buf, uint32_t buf_len,
                         int32_t timeout_ms)
{
    static const char who[] = "sockSend";
    portal_socket *s = portal_socket_lookup(app, sock, who);
    if (!s)
        return PORTAL_ERR_INVALID_ARGUMENT;
    if (s->listening)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: socket %d is listening", who,
                           (int)sock);
    if (buf_len == 0)
        return 0;
    size_t len = clamp_io_length(buf_len);
    call_clock clock = clock_start(timeout_ms);
    for (;;) {
        long sent = portal_platform_send(s->fd, buf, len);
        if (sent >= 0)
            return (int32_t)sent;
        if (sent != PORTAL_IO_WOULD_BLOCK)
            return io_failure(app, who, sent, PORTAL_ERR_INTERNAL);
        int32_t waited = wait_ready(app, who, "would block", s->fd, PORTAL_WAIT_WRITE, &clock);
        if (waited < 0)
            return waited;
    }
}

int32_t portal_sock_recv(portal_app *app, int32_t sock, uint8_t *buf, uint32_t buf_len,
                         int32_t timeout_ms)
{
    static const char who[] = "sockRecv";
    portal_socket *s = portal_socket_lookup(app, sock, who);
    if (!s)
        return PORTAL_ERR_INVALID_ARGUMENT;
    if (s->listening)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: socket %d is listening (use sockAccept)", who, (int)sock);
    /* A 0 return means "the peer closed", so reading into an empty buffer is refused. */
    if (buf_len == 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: buf_len is 0", who);
    size_t len = clamp_io_length(buf_len);
    call_clock clock = clock_start(timeout_ms);
    for (;;) {
        long got = portal_platform_recv(s->fd, buf, len);
        if (got >= 0)
            return (int32_t)got;
        if (got != PORTAL_IO_WOULD_BLOCK)
            return io_failure(app, who, got, PORTAL_ERR_NOT_READY);
        int32_t waited = wait_ready(app, who, "would block", s->fd, PORTAL_WAIT_READ, &clock);
        if (waited < 0)
            return waited;
    }
}
