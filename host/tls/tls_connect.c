/* tls_connect.c - tlsConnect (extension, docs/extensions.md): a TLS client session that is an app
 * handle from the start and moves through RESOLVING (name lookup off the app's thread) ->
 * CONNECTING (non-blocking TCP connect, each address in turn) -> HANDSHAKING -> OPEN, or FAILED
 * with a reason. tlsConnect itself, tlsSend / tlsRecv / tlsSessionInfo on the handle, sockPoll and
 * the host event loop all move it on through the module's hooks; nothing here blocks longer than
 * the caller's timeout, and the whole attempt is bounded by the handshake deadline. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h> /* MBEDTLS_ERR_NET_* codes only */
#include <mbedtls/x509.h>

#include "../api/api.h"
#include "../socket/socket.h"
#include "tls.h"
#include "tls_internal.h"

/* Without a descriptor to wait on (lwIP's resolver), a lookup is looked at this often. */
#define CONNECT_RESOLVE_POLL_MS 10

typedef enum {
    CONNECT_RESOLVING,
    CONNECT_TCP,
    CONNECT_HANDSHAKE,
    CONNECT_OPEN,
    CONNECT_FAILED,
} connect_phase;

struct tls_connect {
    connect_phase phase;
    char host[254];
    uint16_t port; /* 0 while the address carries it */
    portal_resolve *job;
    portal_sockaddr addrs[PORTAL_RESOLVE_MAX_ADDRS];
    int addr_count;
    int addr_next;     /* the next address to try */
    bool tcp_started;  /* conn->fd is connecting to addrs[addr_next - 1] */
    int last_errno;
    char last_addr[64];
    int64_t deadline_ms;
    bool offered;          /* a remembered session was offered */
    bool saw_certificate;  /* the server sent a certificate: a full handshake */
    bool announce;         /* just opened: sockPoll reports OUT once even if it looks no more */
    bool remembered_after_open;
    char key[264];         /* "host:port" for resumption */
    tls_peer_check check;
    char reason[320];
};

bool portal_tls_connect_pending(const tls_conn *conn)
{
    return conn->connect && conn->connect->phase < CONNECT_OPEN;
}

static bool connect_failed(const tls_conn *conn)
{
    return conn->connect && conn->connect->phase == CONNECT_FAILED;
}

static void connect_fail(portal_app *app, tls_conn *conn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void connect_fail(portal_app *app, tls_conn *conn, const char *fmt, ...)
{
    tls_connect *c = conn->connect;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    c->phase = CONNECT_FAILED;
    conn->state = TLS_CONN_BROKEN;
    portal_platform_resolve_cancel(c->job);
    c->job = NULL;
    portal_log(app, PORTAL_LOG_WARN, "TLS connect to %s port %u failed: %s", c->host,
               (unsigned)(c->port ? c->port : (c->addr_count ? c->addrs[0].port : 0)), c->reason);
}

/* ---- TCP ---- */

static void connect_close_socket(tls_conn *conn)
{
    if (conn->fd != PORTAL_FD_INVALID)
        portal_platform_close(conn->fd);
    conn->fd = PORTAL_FD_INVALID;
    conn->connect->tcp_started = false;
}

static void connect_tcp_done(tls_conn *conn)
{
    tls_connect *c = conn->connect;
    c->phase = CONNECT_HANDSHAKE;
    conn->peer = c->addrs[c->addr_next - 1];
    portal_sockaddr_format(&conn->peer, conn->peer_text, sizeof conn->peer_text);
    portal_platform_set_nodelay(conn->fd);
    conn->wait_events = PORTAL_WAIT_WRITE; /* the client speaks first */
}

/* Starts connects until one is in progress or done; false when every address failed. */
static bool connect_tcp_next(tls_conn *conn)
{
    tls_connect *c = conn->connect;
    while (c->addr_next < c->addr_count) {
        portal_sockaddr *addr = &c->addrs[c->addr_next++];
        if (c->port)
            addr->port = c->port;
        portal_sockaddr_format(addr, c->last_addr, sizeof c->last_addr);
        conn->fd = portal_platform_socket(addr->family, 1, 0);
        if (conn->fd == PORTAL_FD_INVALID) {
            c->last_errno = portal_platform_last_errno();
            continue;
        }
        int ret = portal_platform_connect_start(conn->fd, addr);
        if (ret == 0) {
            connect_tcp_done(conn);
            return true;
        }
        if (ret == PORTAL_IO_WOULD_BLOCK) {
            c->tcp_started = true;
            return true;
        }
        c->last_errno = portal_platform_last_errno();
        connect_close_socket(conn);
    }
    return false;
}

/* ---- handshake ---- */

static bool connect_is_tls12(tls_conn *conn)
{
    return strcmp(mbedtls_ssl_get_version(&conn->ssl), "TLSv1.2") == 0;
}

static void connect_opened(portal_app *app, tls_conn *conn)
{
    tls_connect *c = conn->connect;
    c->phase = CONNECT_OPEN;
    c->announce = true;
    conn->state = TLS_CONN_OPEN;
    conn->resumed = c->offered && !c->saw_certificate;
    conn->client_verified = !(conn->config->flags & PORTAL_TLS_CLIENT_FLAG_NO_VERIFY);
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&conn->ssl);
    if (!peer || mbedtls_x509_dn_gets(conn->subject, sizeof conn->subject, &peer->subject) < 0)
        conn->subject[0] = '\0';
    /* TLS 1.2: the ticket (or session ID) came with the handshake. TLS 1.3 tickets arrive
     * later: tlsRecv remembers them. */
    if (connect_is_tls12(conn))
        portal_tls_resume_save(conn->config, &conn->ssl, c->key);
    (void)app;
}

/* The alert a server ended the handshake with: the last record read was that alert. */
static int connect_alert_received(const tls_conn *conn)
{
#if PORTAL_MBEDTLS_3
    const unsigned char *msg = conn->ssl.MBEDTLS_PRIVATE(in_msg);
#else
    const unsigned char *msg = conn->ssl.in_msg;
#endif
    return msg ? msg[1] : -1;
}

static void connect_handshake_failed(portal_app *app, tls_conn *conn, int ret)
{
    tls_connect *c = conn->connect;
    char why[240];
    /* A refused certificate: the verify flags say why. mbedTLS reports a key-usage refusal as a
     * bad Certificate message rather than a failed verification, with the flags set all the same. */
    uint32_t flags = mbedtls_ssl_get_verify_result(&conn->ssl);
    if (flags == UINT32_MAX)
        flags = 0; /* no verification happened */
    flags = (flags & ~(uint32_t)MBEDTLS_X509_BADCERT_SKIP_VERIFY) | c->check.flags;
#if PORTAL_MBEDTLS_3
    bool bad_certificate = ret == MBEDTLS_ERR_SSL_BAD_CERTIFICATE;
#else
    bool bad_certificate = ret == MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE;
#endif
    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || (bad_certificate && flags != 0)) {
        portal_tls_client_verify_reason(&c->check, flags, why, sizeof why);
    } else if (ret == MBEDTLS_ERR_SSL_CONN_EOF || ret == MBEDTLS_ERR_NET_CONN_RESET ||
               conn->io_status == PORTAL_IO_CLOSED) {
        snprintf(why, sizeof why, "server closed the connection during the handshake");
    } else if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
        snprintf(why, sizeof why, "handshake failed: server sent alert %d",
                 connect_alert_received(conn));
    } else if (ret == MBEDTLS_ERR_NET_SEND_FAILED || ret == MBEDTLS_ERR_NET_RECV_FAILED) {
        snprintf(why, sizeof why, "handshake failed: socket error: %s", strerror(conn->io_errno));
    } else {
        char err[112];
        snprintf(why, sizeof why, "handshake failed: %s",
                 portal_tls_error_text(ret, err, sizeof err));
    }
    portal_tls_conn_send_failure_alert(conn, ret);
    portal_tls_config_handshake_failed(conn->config, ret);
    connect_fail(app, conn, "%s", why);
}

static bool connect_handshake_over(tls_conn *conn)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
    return mbedtls_ssl_is_handshake_over(&conn->ssl);
#else
    return PORTAL_TLS_SSL_STATE(&conn->ssl) == MBEDTLS_SSL_HANDSHAKE_OVER;
#endif
}

/* Steps the handshake as far as the socket allows. One step at a time (what
 * mbedtls_ssl_handshake does too) to see whether the server sent a certificate: a handshake
 * without one resumed the offered session (mbedTLS has no public query for that). */
static void connect_handshake(portal_app *app, tls_conn *conn)
{
    tls_connect *c = conn->connect;
    int ret = 0;
    while (!connect_handshake_over(conn)) {
        if (PORTAL_TLS_SSL_STATE(&conn->ssl) == MBEDTLS_SSL_SERVER_CERTIFICATE)
            c->saw_certificate = true;
        ret = mbedtls_ssl_handshake_step(&conn->ssl);
        if (ret != 0)
            break;
    }
    if (ret == 0) {
        connect_opened(app, conn);
        return;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        conn->wait_events = ret == MBEDTLS_ERR_SSL_WANT_READ ? PORTAL_WAIT_READ : PORTAL_WAIT_WRITE;
        return;
    }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
    if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
        portal_tls_connect_remember(conn);
        connect_handshake(app, conn); /* once per ticket: bounded by the server's tickets */
        return;
    }
#endif
    connect_handshake_failed(app, conn, ret);
}

/* ---- the state machine ---- */

/* Moves the attempt on as far as it goes without waiting. */
static void connect_advance(portal_app *app, tls_conn *conn)
{
    tls_connect *c = conn->connect;
    if (!portal_tls_connect_pending(conn))
        return;
    if (portal_platform_now_ms() >= c->deadline_ms) {
        connect_fail(app, conn, "timed out");
        return;
    }
    if (c->phase == CONNECT_RESOLVING) {
        char why[96];
        int n = portal_platform_resolve_result(c->job, c->addrs, PORTAL_RESOLVE_MAX_ADDRS, why,
                                               sizeof why);
        if (n == 0)
            return;
        portal_platform_resolve_cancel(c->job); /* done with it: frees it */
        c->job = NULL;
        if (n < 0) {
            connect_fail(app, conn, "cannot resolve %s: %s", c->host, why);
            return;
        }
        c->addr_count = n;
        c->phase = CONNECT_TCP;
        if (!connect_tcp_next(conn)) {
            connect_fail(app, conn, "connect to %s failed: %s", c->last_addr,
                         strerror(c->last_errno));
            return;
        }
    }
    while (c->phase == CONNECT_TCP) {
        int ready = portal_platform_wait(conn->fd, PORTAL_WAIT_WRITE, 0);
        if (ready == 0)
            return;
        if (ready > 0 && portal_platform_connect_finish(conn->fd) == 0) {
            c->tcp_started = false;
            connect_tcp_done(conn);
            break;
        }
        c->last_errno = portal_platform_last_errno();
        connect_close_socket(conn);
        if (!connect_tcp_next(conn)) {
            connect_fail(app, conn, "connect to %s failed: %s", c->last_addr,
                         strerror(c->last_errno));
            return;
        }
    }
    if (c->phase == CONNECT_HANDSHAKE)
        connect_handshake(app, conn);
}

/* Waits for the attempt's (and the rest of the TLS module's) descriptors until `deadline` or the
 * attempt's own deadline, then moves everything on. PORTAL_OK, or the errno of a failed wait as
 * -2, or -3 when the host shuts down. */
static int32_t connect_wait_once(portal_app *app, tls_conn *conn, portal_deadline deadline,
                                 const char *who)
{
    int capacity = app->limits.max_pending_handshakes + app->limits.max_tls_sessions + 1;
    portal_wait_entry stack[32];
    portal_wait_entry *fds = stack;
    if (capacity > (int)(sizeof stack / sizeof stack[0])) {
        fds = malloc((size_t)capacity * sizeof *fds);
        if (!fds)
            return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
    }
    int n = 0;
    if (portal_platform_interrupt_fd() != PORTAL_FD_INVALID) {
        fds[n].fd = portal_platform_interrupt_fd();
        fds[n].events = PORTAL_WAIT_READ;
        fds[n].ready = 0;
        n++;
    }
    n += portal_tls_poll_fill(app, fds + n, capacity - n);
    int timeout = portal_deadline_remaining_ms(deadline);
    int next = portal_tls_next_deadline_ms(app);
    if (next >= 0 && (timeout < 0 || next < timeout))
        timeout = next;
    if (portal_platform_interrupted())
        timeout = 0;
    int got = portal_platform_wait_many(fds, n, timeout);
    int err = got == PORTAL_IO_ERROR ? portal_platform_last_errno() : 0;
    if (fds != stack)
        free(fds);
    if (err != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: poll failed: %s", who, strerror(err));
    portal_tls_poll_service(app); /* also moves `conn` on */
    connect_advance(app, conn);
    if (portal_platform_interrupted())
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: interrupted: host shutting down", who);
    return PORTAL_OK;
}

int32_t portal_tls_connect_settle(portal_app *app, tls_conn *conn, const char *who,
                                  portal_deadline deadline, int32_t timeout_ms)
{
    for (;;) {
        connect_advance(app, conn);
        if (connect_failed(conn))
            return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: connect failed: %s", who,
                               conn->connect->reason);
        if (!portal_tls_connect_pending(conn))
            return PORTAL_OK;
        if (portal_deadline_remaining_ms(deadline) == 0)
            return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: %s", who,
                               timeout_ms == 0 ? "would block" : "timed out");
        int32_t rc = connect_wait_once(app, conn, deadline, who);
        if (rc != PORTAL_OK)
            return rc;
    }
}

/* ---- event-loop and sockPoll hooks ---- */

int portal_tls_connect_fill(tls_conn *conn, portal_wait_entry *fds, int max)
{
    tls_connect *c = conn->connect;
    if (max <= 0 || !portal_tls_connect_pending(conn))
        return 0;
    portal_fd fd = PORTAL_FD_INVALID;
    int events = 0;
    if (c->phase == CONNECT_RESOLVING) {
        fd = portal_platform_resolve_fd(c->job);
        events = PORTAL_WAIT_READ;
    } else if (c->phase == CONNECT_TCP) {
        fd = conn->fd;
        events = PORTAL_WAIT_WRITE;
    } else {
        fd = conn->fd;
        events = conn->wait_events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE);
    }
    if (fd == PORTAL_FD_INVALID)
        return 0;
    fds[0].fd = fd;
    fds[0].events = events;
    fds[0].ready = 0;
    return 1;
}

void portal_tls_connect_service(portal_app *app, tls_conn *conn)
{
    connect_advance(app, conn);
}

int64_t portal_tls_connect_deadline(const tls_conn *conn)
{
    const tls_connect *c = conn->connect;
    if (!portal_tls_connect_pending(conn))
        return INT64_MAX;
    if (c->phase == CONNECT_RESOLVING && portal_platform_resolve_fd(c->job) == PORTAL_FD_INVALID) {
        int64_t poll_at = portal_platform_now_ms() + CONNECT_RESOLVE_POLL_MS;
        return poll_at < c->deadline_ms ? poll_at : c->deadline_ms;
    }
    return c->deadline_ms;
}

bool portal_tls_connect_poll(tls_conn *conn, portal_fd *fd, int *ready_now)
{
    tls_connect *c = conn->connect;
    if (portal_tls_connect_pending(conn) || connect_failed(conn)) {
        *fd = PORTAL_FD_INVALID; /* the module's hooks watch it; the app's events mean nothing yet */
        *ready_now = connect_failed(conn) ? PORTAL_WAIT_ERROR : 0;
        return true;
    }
    if (c->announce) {
        c->announce = false;
        *ready_now |= PORTAL_WAIT_WRITE;
    }
    return false;
}

void portal_tls_connect_remember(tls_conn *conn)
{
    portal_tls_resume_save(conn->config, &conn->ssl, conn->connect->key);
}

void portal_tls_connect_free(tls_conn *conn)
{
    portal_platform_resolve_cancel(conn->connect->job);
    free(conn->connect);
    conn->connect = NULL;
}

/* ---- tlsConnect ---- */

/* A DNS name: letters, digits, '-' and '.', labels of 1-63 bytes. */
static bool connect_host_is_name(const char *host)
{
    size_t label = 0;
    for (const char *p = host; *p; p++) {
        char ch = *p;
        if (ch == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '-';
        if (!ok || ++label > 63)
            return false;
    }
    return true;
}

static int32_t connect_start(portal_app *app, tls_conn *conn, const char *host, bool is_ip,
                             const portal_sockaddr *ip, const portal_sockaddr *addr, uint16_t port)
{
    static const char who[] = "tlsConnect";
    tls_connect *c = conn->connect;
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = port;
    c->deadline_ms = portal_platform_now_ms() + app->limits.handshake_deadline_ms;
    snprintf(c->key, sizeof c->key, "%s:%u", host, (unsigned)(addr ? addr->port : port));
    c->check.conf = &conn->config->ssl_conf;
    c->check.host = c->host;
    c->check.host_is_ip = is_ip;
    if (is_ip)
        c->check.ip = *ip;
    mbedtls_ssl_set_verify(&conn->ssl, portal_tls_client_verify_cb, &c->check);
    /* A name: SNI and mbedTLS's own check. A literal: no SNI (RFC 6066); NULL says so on purpose
     * (mbedTLS 3.6 refuses to verify without a name otherwise) and the callback checks it. */
    int ret = mbedtls_ssl_set_hostname(&conn->ssl, is_ip ? NULL : c->host);
    if (ret != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
    if (!(conn->config->flags & PORTAL_TLS_FLAG_NO_TICKETS))
        c->offered = portal_tls_resume_offer(conn->config, &conn->ssl, c->key);
    if (conn->config->flags & PORTAL_TLS_CLIENT_FLAG_NO_VERIFY)
        portal_log(app, PORTAL_LOG_WARN,
                   "TLS connect to %s: certificate verification is OFF (PP_TLS_CLIENT_NO_VERIFY): "
                   "anyone can impersonate this server",
                   c->host);
    if (addr || is_ip) {
        c->addrs[0] = addr ? *addr : *ip;
        c->addr_count = 1;
        c->phase = CONNECT_TCP;
        if (!connect_tcp_next(conn))
            connect_fail(app, conn, "connect to %s failed: %s", c->last_addr,
                         strerror(c->last_errno));
        return PORTAL_OK;
    }
    c->phase = CONNECT_RESOLVING;
    c->job = portal_platform_resolve_start(host);
    if (!c->job)
        connect_fail(app, conn, "cannot resolve %s: %s", host, portal_platform_last_error());
    return PORTAL_OK;
}

/* Closes a session that tlsConnect will not hand out. */
static void connect_discard(portal_app *app, tls_conn *conn)
{
    portal_handles_remove(&app->handles, conn->handle);
    portal_tls_conn_destroy(conn, 0);
}

/* What tlsConnect was asked to reach: the host checked, an IP literal parsed, an address decoded. */
typedef struct {
    bool is_ip;
    portal_sockaddr ip;     /* the literal, with `port` */
    bool have_addr;
    portal_sockaddr target; /* the app's SocketAddr */
} connect_target;

/* Checks host, addr and port (the -1 cases of the spec). PORTAL_OK or the error. */
static int32_t connect_check_args(portal_app *app, const char *host, uint8_t *addr,
                                  uint32_t addr_len, int32_t port, connect_target *t)
{
    static const char who[] = "tlsConnect";
    size_t host_len = strnlen(host, 254);
    t->is_ip = host_len > 0 && host_len <= 253 && portal_platform_parse_ip(host, &t->ip);
    if (host_len == 0 || host_len > 253 || (!t->is_ip && !connect_host_is_name(host)))
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: bad host \"%.40s\" (a DNS name or an IP address, 1-253 bytes)",
                           who, host);
    t->have_addr = addr_len != 0;
    if (t->have_addr) {
        if ((addr_len != PORTAL_SOCKADDR4_SIZE && addr_len != PORTAL_SOCKADDR6_SIZE) ||
            !portal_sockaddr_decode(addr, addr_len, &t->target))
            return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                               "%s: addr_len must be 0, 12 or 28 (got %u)", who,
                               (unsigned)addr_len);
        if (port != 0)
            return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                               "%s: port must be 0 with an address", who);
        if (t->target.port == 0)
            return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: address has port 0", who);
    } else if (port < 1 || port > 65535) {
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: port %d out of range 1-65535",
                           who, (int)port);
    }
    if (t->is_ip)
        t->ip.port = (uint16_t)port;
    return PORTAL_OK;
}

/* A new client session with its handle, not started yet; NULL with the error set. */
static tls_conn *connect_new_session(portal_app *app, tls_config *cfg)
{
    static const char who[] = "tlsConnect";
    tls_conn *conn = portal_tls_conn_create(app, cfg, PORTAL_FD_INVALID, NULL);
    if (!conn) {
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
        return NULL;
    }
    conn->connect = calloc(1, sizeof *conn->connect);
    int32_t handle = conn->connect
                         ? portal_handles_add(&app->handles, PORTAL_HANDLE_TLS_SESSION, conn)
                         : 0;
    if (handle == 0) {
        bool oom = !conn->connect;
        portal_tls_conn_destroy(conn, 0);
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", who,
                    oom ? "out of memory" : "handle table full");
        return NULL;
    }
    conn->handle = handle;
    return conn;
}

/* tlsConnect with a timeout: drives the attempt until it is open, failed or out of time. The
 * session handle, or the error (the attempt is then closed). */
static int32_t connect_wait(portal_app *app, tls_conn *conn, int32_t timeout_ms)
{
    static const char who[] = "tlsConnect";
    portal_deadline deadline = portal_deadline_after(timeout_ms);
    int32_t rc;
    for (;;) {
        connect_advance(app, conn);
        if (connect_failed(conn)) {
            rc = portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", who, conn->connect->reason);
            /* "timed out" from the host's deadline reads as a timeout too */
            if (strcmp(conn->connect->reason, "timed out") == 0)
                rc = portal_fail(app, PORTAL_ERR_NOT_READY, "%s: timed out", who);
            connect_discard(app, conn);
            return rc;
        }
        if (!portal_tls_connect_pending(conn))
            return conn->handle;
        if (portal_deadline_remaining_ms(deadline) == 0) {
            connect_discard(app, conn);
            return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: timed out", who);
        }
        rc = connect_wait_once(app, conn, deadline, who);
        if (rc != PORTAL_OK) {
            connect_discard(app, conn);
            return rc;
        }
    }
}

int32_t portal_tls_connect(portal_app *app, int32_t config, const char *host, uint8_t *addr,
                           uint32_t addr_len, int32_t port, int32_t timeout_ms)
{
    static const char who[] = "tlsConnect";
    tls_config *cfg = portal_tls_config_lookup(app, config, true, who);
    if (!cfg)
        return PORTAL_ERR_INVALID_ARGUMENT;
    connect_target t;
    int32_t rc = connect_check_args(app, host, addr, addr_len, port, &t);
    if (rc != PORTAL_OK)
        return rc;
    if (portal_tls_open_sessions(app) >= app->limits.max_tls_sessions)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: too many sessions (limit %d)", who,
                           app->limits.max_tls_sessions);
    tls_conn *conn = connect_new_session(app, cfg);
    if (!conn)
        return PORTAL_ERR_INTERNAL;
    rc = connect_start(app, conn, host, t.is_ip, &t.ip, t.have_addr ? &t.target : NULL,
                       t.have_addr ? 0 : (uint16_t)port);
    if (rc != PORTAL_OK) {
        connect_discard(app, conn);
        return rc;
    }
    if (timeout_ms != 0)
        return connect_wait(app, conn, timeout_ms);
    connect_advance(app, conn);
    return conn->handle;
}
