/* tls_session.c - the session side of module `portal_socket_tls`: tlsAccept (hands out finished
 * handshakes), tlsSend, tlsRecv, tlsClose, the tlsSessionInfo extension, teardown and the hooks
 * that let the host event loop drive pending handshakes, client connects (tls_connect.c) and
 * queued records while the app sleeps. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../socket/socket.h"
#include "tls.h"
#include "tls_internal.h"

static tls_conn *tls_session_get(portal_app *app, int32_t session)
{
    return portal_handles_get(&app->handles, session, PORTAL_HANDLE_TLS_SESSION);
}

/* -3 with the upstream wording: "would block" when the app asked not to wait at all. */
static int32_t tls_fail_timeout(portal_app *app, const char *who, int32_t timeout_ms)
{
    return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: %s", who,
                       timeout_ms == 0 ? "would block" : "timed out");
}

/* ---- tlsAccept ---- */

/* True when a handshake accepted for (config, listener) is still in progress. */
static bool tls_accept_has_handshaking(portal_app *app, int32_t config, int32_t listener)
{
    portal_tls_state *state = app->tls;
    for (int i = 0; state && i < state->pending_count; i++) {
        const tls_conn *conn = state->pending[i];
        if (conn->state == TLS_CONN_HANDSHAKING && conn->config_handle == config &&
            conn->listener_handle == listener)
            return true;
    }
    return false;
}

static int32_t tls_session_open(portal_app *app, tls_conn *conn, uint8_t *out_addr,
                                uint32_t out_addr_len)
{
    int32_t handle = portal_handles_add(&app->handles, PORTAL_HANDLE_TLS_SESSION, conn);
    if (handle == 0) {
        portal_tls_conn_destroy(conn, 0);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "tlsAccept: handle table full");
    }
    conn->handle = handle;
    conn->state = TLS_CONN_OPEN;
    if (out_addr_len > 0)
        portal_sockaddr_encode(&conn->peer, out_addr, out_addr_len);
    return handle;
}

int32_t portal_tls_accept(portal_app *app, int32_t config, int32_t listener, uint8_t *out_addr,
                          uint32_t out_addr_len, int32_t timeout_ms)
{
    if (out_addr_len > 0 && out_addr_len < PORTAL_SOCKADDR4_SIZE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "tlsAccept: out_addr_len too small (need %d)", PORTAL_SOCKADDR4_SIZE);
    tls_config *cfg = portal_tls_config_lookup(app, config, false, "tlsAccept");
    if (!cfg)
        return PORTAL_ERR_INVALID_ARGUMENT; /* bad handle, or a client config */
    portal_socket *sock = portal_socket_lookup(app, listener, "tlsAccept");
    if (!sock)
        return PORTAL_ERR_INVALID_ARGUMENT; /* message set by the socket module */
    if (!sock->listening)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "tlsAccept: socket %d is not listening", (int)listener);
    portal_socket_mark_ext_listener(sock);
    /* Before any handshake work (upstream bug 16, docs/abi.md): a finished client must never be
     * dropped. */
    if (portal_tls_open_sessions(app) >= app->limits.max_tls_sessions)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "tlsAccept: too many sessions (limit %d)",
                           app->limits.max_tls_sessions);

    portal_deadline deadline = portal_deadline_after(timeout_ms);
    for (;;) {
        int accept_errno = portal_tls_engine_accept_new(app, sock->fd, cfg, config, listener);
        if (accept_errno != 0)
            portal_socket_accept_failed(sock, accept_errno);
        portal_tls_engine_advance_all(app);
        tls_conn *ready = portal_tls_engine_take_ready(app, config, listener);
        if (ready)
            return tls_session_open(app, ready, out_addr, out_addr_len);
        /* With no descriptor left, accept fails even when the backlog is empty - also right after
         * this call took the last client into the queue. A handshake of ours still under way is
         * worth waiting for; the error is for when there is nothing else to wait for. */
        bool handshaking = tls_accept_has_handshaking(app, config, listener);
        if (accept_errno != 0 && !handshaking)
            return portal_fail(app, PORTAL_ERR_INTERNAL, "tlsAccept: accept failed: %s",
                               strerror(accept_errno));
        if (portal_deadline_remaining_ms(deadline) == 0)
            return portal_fail(app, PORTAL_ERR_NOT_READY, "tlsAccept: %s",
                               timeout_ms == 0 ? "no client ready" : "timed out");
        if (portal_platform_interrupted())
            return portal_fail(app, PORTAL_ERR_NOT_READY,
                               "tlsAccept: interrupted: host shutting down");
        /* After a failed accept the listener stays readable: wait for the handshakes only. */
        int wait_errno =
            portal_tls_engine_wait(app, accept_errno != 0 ? PORTAL_FD_INVALID : sock->fd, deadline);
        if (wait_errno != 0)
            return portal_fail(app, PORTAL_ERR_INTERNAL, "tlsAccept: poll failed: %s",
                               strerror(wait_errno));
    }
}

/* ---- tlsSend ---- */

/* Waits for `events` on the session's socket until `deadline`: PORTAL_OK when ready, else the
 * call's error (-3 timed out / would block / interrupted by a host shutdown, -2 poll failed). */
static int32_t tls_wait_until(portal_app *app, tls_conn *conn, int events, portal_deadline deadline,
                              const char *who, int32_t timeout_ms)
{
    int left = portal_deadline_remaining_ms(deadline);
    if (left == 0)
        return tls_fail_timeout(app, who, timeout_ms);
    int ready = portal_platform_wait(conn->fd, events, left);
    if (ready == PORTAL_IO_INTERRUPTED)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: interrupted: host shutting down", who);
    if (ready == PORTAL_IO_ERROR)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: poll failed: %s", who,
                           portal_platform_last_error());
    if (ready == 0)
        return tls_fail_timeout(app, who, timeout_ms);
    return PORTAL_OK;
}

/* Replays the held record until it is on the wire or the deadline passes. */
static int32_t tls_session_flush(portal_app *app, tls_conn *conn, const char *who,
                                 portal_deadline deadline, int32_t timeout_ms)
{
    for (;;) {
        int ret = portal_tls_conn_flush_held(conn);
        if (ret < 0)
            return portal_tls_conn_fail(app, conn, who, ret);
        if (ret == 1)
            return PORTAL_OK;
        int32_t rc = tls_wait_until(app, conn, conn->wait_events, deadline, who, timeout_ms);
        if (rc != PORTAL_OK)
            return rc;
    }
}

int32_t portal_tls_send(portal_app *app, int32_t session, uint8_t *buf, uint32_t buf_len,
                        int32_t timeout_ms)
{
    static const char who[] = "tlsSend";
    tls_conn *conn = tls_session_get(app, session);
    if (!conn)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: bad handle %d", who,
                           (int)session);
    portal_deadline deadline = portal_deadline_after(timeout_ms);
    int32_t rc;
    /* A client session still connecting: the handshake first, within the same timeout. */
    if (conn->connect && (rc = portal_tls_connect_settle(app, conn, who, deadline, timeout_ms)) !=
                             PORTAL_OK)
        return rc;
    if (conn->state == TLS_CONN_BROKEN)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: connection closed", who);

    /* Bytes of an earlier call that are still queued go first: they were reported as sent. */
    rc = tls_session_flush(app, conn, who, deadline, timeout_ms);
    if (rc != PORTAL_OK)
        return rc;

    int max_record = mbedtls_ssl_get_max_out_record_payload(&conn->ssl);
    if (max_record <= 0)
        return portal_tls_conn_fail(app, conn, who,
                             max_record < 0 ? max_record : MBEDTLS_ERR_SSL_INTERNAL_ERROR);
    size_t total = buf_len > INT32_MAX ? INT32_MAX : buf_len;
    size_t accepted = 0;
    while (accepted < total) {
        size_t chunk = total - accepted;
        if (chunk > (size_t)max_record)
            chunk = (size_t)max_record;
        int ret = mbedtls_ssl_write(&conn->ssl, buf + accepted, chunk);
        if (ret > 0) {
            accepted += (size_t)ret;
            continue;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) {
            /* mbedTLS has built a record from these bytes but could not send all of it, and
             * must be called again with the same data. Keep a copy, count the bytes as accepted
             * and replay it on the next call (or from the event loop / tlsClose). */
            conn->held = malloc(chunk);
            if (!conn->held) {
                portal_tls_conn_fail(app, conn, who, MBEDTLS_ERR_SSL_ALLOC_FAILED);
                return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
            }
            memcpy(conn->held, buf + accepted, chunk);
            conn->held_len = chunk;
            conn->wait_events =
                ret == MBEDTLS_ERR_SSL_WANT_WRITE ? PORTAL_WAIT_WRITE : PORTAL_WAIT_READ;
            accepted += chunk;
            break;
        }
        if (accepted > 0) {
            /* Report what went out; the connection is broken and the next call says so. */
            portal_tls_conn_fail(app, conn, who, ret);
            break;
        }
        return portal_tls_conn_fail(app, conn, who, ret);
    }
    return (int32_t)accepted;
}

/* ---- tlsRecv ---- */

int32_t portal_tls_recv(portal_app *app, int32_t session, uint8_t *buf, uint32_t buf_len,
                        int32_t timeout_ms)
{
    static const char who[] = "tlsRecv";
    tls_conn *conn = tls_session_get(app, session);
    if (!conn)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: bad handle %d", who,
                           (int)session);
    if (buf_len == 0)
        return 0; /* documented: nothing is read, nothing waits */
    portal_deadline deadline = portal_deadline_after(timeout_ms);
    if (conn->connect) {
        int32_t rc = portal_tls_connect_settle(app, conn, who, deadline, timeout_ms);
        if (rc != PORTAL_OK)
            return rc;
    }
    if (conn->state == TLS_CONN_PEER_CLOSED)
        return 0;
    if (conn->state == TLS_CONN_BROKEN)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: connection closed", who);
    size_t want = buf_len > INT32_MAX ? INT32_MAX : buf_len;
    for (;;) {
        /* A record tlsSend queued must not wait for the app's next send: push it along. */
        int wait_events = 0;
        if (conn->held) {
            int flushed = portal_tls_conn_flush_held(conn);
            if (flushed < 0)
                return portal_tls_conn_fail(app, conn, who, flushed);
            if (flushed == 0)
                wait_events |= conn->wait_events;
        }
        /* mbedtls_ssl_read hands out plaintext already decrypted and buffered before it touches
         * the socket, so buffered bytes never wait for new ciphertext. */
        int ret = mbedtls_ssl_read(&conn->ssl, buf, want);
        if (ret > 0)
            return ret;
        if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
            ret == MBEDTLS_ERR_SSL_CONN_EOF) {
            conn->state = TLS_CONN_PEER_CLOSED;
            return 0;
        }
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
            /* TLS 1.3 client: a ticket for the next connect to this server. */
            if (conn->connect)
                portal_tls_connect_remember(conn);
            continue;
        }
#endif
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            return portal_tls_conn_fail(app, conn, who, ret);
        wait_events |= ret == MBEDTLS_ERR_SSL_WANT_READ ? PORTAL_WAIT_READ : PORTAL_WAIT_WRITE;
        int32_t rc = tls_wait_until(app, conn, wait_events, deadline, who, timeout_ms);
        if (rc != PORTAL_OK)
            return rc;
    }
}

/* ---- tlsClose ---- */

int32_t portal_tls_close(portal_app *app, int32_t session)
{
    tls_conn *conn = tls_session_get(app, session);
    if (!conn)
        return PORTAL_OK; /* idempotent, as upstream; the last error is left alone */
    portal_handles_remove(&app->handles, session);
    portal_tls_conn_destroy(conn, PORTAL_TLS_CLOSE_BUDGET_MS);
    return PORTAL_OK;
}

/* ---- tlsSessionInfo (extension) ---- */

static void tls_put_le32(uint8_t *out, uint32_t value)
{
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
    out[2] = (uint8_t)(value >> 16);
    out[3] = (uint8_t)(value >> 24);
}

int32_t portal_tls_session_info(portal_app *app, int32_t session, uint8_t *out, uint32_t out_len)
{
    if (out_len < PORTAL_TLS_INFO_SIZE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "tlsSessionInfo: out_len too small (need %d)", PORTAL_TLS_INFO_SIZE);
    tls_conn *conn = tls_session_get(app, session);
    if (!conn)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "tlsSessionInfo: bad handle %d",
                           (int)session);
    if (conn->connect) {
        int32_t rc = portal_tls_connect_settle(app, conn, "tlsSessionInfo",
                                               portal_deadline_after(0), 0);
        if (rc == PORTAL_ERR_NOT_READY)
            return portal_fail(app, rc, "tlsSessionInfo: handshake in progress");
        if (rc != PORTAL_OK)
            return rc; /* -2 "tlsSessionInfo: connect failed: ..." */
    }
    uint32_t size = out_len >= PORTAL_TLS_INFO_EX_SIZE ? PORTAL_TLS_INFO_EX_SIZE
                                                        : PORTAL_TLS_INFO_SIZE;
    memset(out, 0, size);
    const char *version = mbedtls_ssl_get_version(&conn->ssl);
    uint32_t version_code = 0;
    if (strcmp(version, "TLSv1.2") == 0)
        version_code = 0x0303;
    else if (strcmp(version, "TLSv1.3") == 0)
        version_code = 0x0304;
    uint32_t flags = (conn->resumed ? PORTAL_TLS_INFO_RESUMED : 0) |
                     (conn->client_verified ? PORTAL_TLS_INFO_CLIENT_VERIFIED : 0);
    if (conn->connect) {
        flags |= PORTAL_TLS_INFO_CLIENT_SESSION;
        if (conn->config->flags & PORTAL_TLS_CLIENT_FLAG_NO_VERIFY)
            flags |= PORTAL_TLS_INFO_UNVERIFIED;
    }
    tls_put_le32(out + PORTAL_TLS_INFO_OFF_VERSION, version_code);
    tls_put_le32(out + PORTAL_TLS_INFO_OFF_FLAGS, flags);
    const char *cipher = mbedtls_ssl_get_ciphersuite(&conn->ssl);
    snprintf((char *)out + PORTAL_TLS_INFO_OFF_CIPHER, PORTAL_TLS_INFO_CIPHER_SIZE, "%s",
             cipher ? cipher : "");
    snprintf((char *)out + PORTAL_TLS_INFO_OFF_SUBJECT, PORTAL_TLS_INFO_SUBJECT_SIZE, "%s",
             conn->subject);
    if (size == PORTAL_TLS_INFO_EX_SIZE) {
        const char *alpn = NULL;
#if defined(MBEDTLS_SSL_ALPN)
        alpn = mbedtls_ssl_get_alpn_protocol(&conn->ssl);
#endif
        snprintf((char *)out + PORTAL_TLS_INFO_OFF_ALPN, PORTAL_TLS_INFO_ALPN_SIZE, "%s",
                 alpn ? alpn : "");
    }
    return (int32_t)size;
}

/* ---- teardown ---- */

static void tls_teardown_session(int32_t handle, void *object, void *ctx)
{
    portal_app *app = ctx;
    portal_handles_remove(&app->handles, handle);
    portal_tls_conn_destroy(object, 0); /* close_notify only if it goes out without waiting */
}

static void tls_teardown_config(int32_t handle, void *object, void *ctx)
{
    portal_app *app = ctx;
    tls_config *config = object;
    portal_handles_remove(&app->handles, handle);
    config->handle = 0;
    portal_tls_config_unref(config);
}

void portal_tls_teardown(portal_app *app)
{
    /* Sessions and pending handshakes hold config references, so they go first. */
    portal_handles_each(&app->handles, PORTAL_HANDLE_TLS_SESSION, tls_teardown_session, app);
    portal_tls_engine_drop_all(app);
    portal_handles_each(&app->handles, PORTAL_HANDLE_TLS_CONFIG, tls_teardown_config, app);
    portal_tls_state_free(app);
}

/* ---- event-loop hooks ---- */

typedef struct tls_fill_ctx {
    portal_wait_entry *fds;
    int max;
    int count;
} tls_fill_ctx;

static void tls_fill_session(int32_t handle, void *object, void *ctx)
{
    (void)handle;
    tls_conn *conn = object;
    tls_fill_ctx *fill = ctx;
    if (portal_tls_connect_pending(conn)) {
        fill->count += portal_tls_connect_fill(conn, fill->fds + fill->count,
                                               fill->max - fill->count);
        return;
    }
    if (!conn->held || fill->count >= fill->max)
        return;
    fill->fds[fill->count].fd = conn->fd;
    fill->fds[fill->count].events = conn->wait_events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE);
    fill->fds[fill->count].ready = 0;
    fill->count++;
}

int portal_tls_poll_fill(portal_app *app, portal_wait_entry *fds, int max)
{
    if (!app->tls || max <= 0)
        return 0;
    tls_fill_ctx fill = {fds, max, 0};
    fill.count = portal_tls_engine_fill_pollfds(app, fds, max);
    /* Sessions with a queued record: it goes out as soon as the peer reads, not when the app
     * next calls tlsSend. */
    portal_handles_each(&app->handles, PORTAL_HANDLE_TLS_SESSION, tls_fill_session, &fill);
    return fill.count;
}

static void tls_service_session(int32_t handle, void *object, void *ctx)
{
    (void)handle;
    tls_conn *conn = object;
    if (portal_tls_connect_pending(conn)) {
        portal_tls_connect_service(ctx, conn);
        return;
    }
    if (conn->held && conn->state != TLS_CONN_BROKEN && portal_tls_conn_flush_held(conn) < 0) {
        /* No last error here (the app is not calling anything); its next call reports it. */
        conn->state = TLS_CONN_BROKEN;
    }
}

void portal_tls_poll_service(portal_app *app)
{
    if (!app->tls)
        return;
    portal_tls_engine_advance_all(app);
    portal_handles_each(&app->handles, PORTAL_HANDLE_TLS_SESSION, tls_service_session, app);
}

bool portal_tls_session_poll(portal_app *app, int32_t handle, int *fd, int *ready_now)
{
    tls_conn *conn = tls_session_get(app, handle);
    if (!conn)
        return false;
    *fd = conn->fd;
    *ready_now = 0;
    if (conn->connect && portal_tls_connect_poll(conn, fd, ready_now))
        return true; /* still connecting (nothing to report yet) or failed (ERROR) */
    if (conn->state != TLS_CONN_OPEN)
        *ready_now |= PORTAL_WAIT_READ | PORTAL_WAIT_HANGUP; /* tlsRecv returns 0 or the error */
    else if (mbedtls_ssl_get_bytes_avail(&conn->ssl) > 0 || mbedtls_ssl_check_pending(&conn->ssl))
        *ready_now |= PORTAL_WAIT_READ; /* decrypted (or already received) bytes wait inside */
    return true;
}

bool portal_tls_listener_poll(portal_app *app, int32_t listener_handle, bool *watch_fd,
                              int *wake_ms)
{
    *watch_fd = portal_tls_engine_accepting(app, wake_ms);
    return portal_tls_engine_has_ready(app, listener_handle);
}

static void tls_deadline_session(int32_t handle, void *object, void *ctx)
{
    (void)handle;
    int64_t *earliest = ctx;
    int64_t at = portal_tls_connect_pending(object) ? portal_tls_connect_deadline(object)
                                                    : INT64_MAX;
    if (at < *earliest)
        *earliest = at;
}

int portal_tls_next_deadline_ms(portal_app *app)
{
    int next = portal_tls_engine_next_deadline_ms(app);
    int64_t earliest = INT64_MAX;
    if (app->tls)
        portal_handles_each(&app->handles, PORTAL_HANDLE_TLS_SESSION, tls_deadline_session,
                            &earliest);
    if (earliest == INT64_MAX)
        return next;
    int64_t left = earliest - portal_platform_now_ms();
    int connect_ms = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
    return next < 0 || connect_ms < next ? connect_ms : next;
}

/* What portal_tls_poll_fill can write: every pending handshake and every session. */
static int portal_tls_wait_capacity(portal_app *app)
{
    return app->limits.max_pending_handshakes + app->limits.max_tls_sessions;
}

const portal_module_ops portal_tls_module = {
    .name = "portal_socket_tls",
    .teardown = portal_tls_teardown,
    .wait_fill = portal_tls_poll_fill,
    .service = portal_tls_poll_service,
    .next_deadline_ms = portal_tls_next_deadline_ms,
    .wait_capacity = portal_tls_wait_capacity,
};

/* How sockPoll sees sessions and the listeners tlsAccept uses (socket.h). */
const portal_socket_poll_ext portal_tls_poll_ext = {
    .handle_poll = portal_tls_session_poll,
    .listener_poll = portal_tls_listener_poll,
};
