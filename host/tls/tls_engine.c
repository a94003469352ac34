/* tls_engine.c - the non-blocking TLS engine: mbedTLS BIO callbacks over non-blocking sockets,
 * the per-connection handshake state machine, and the bounded queue of pending handshakes with
 * deadlines that tlsAccept and the host event loop both drive. Nothing here ever blocks longer
 * than the deadline its caller passes in. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h> /* MBEDTLS_ERR_NET_* codes only; the module itself is unused */
#include <mbedtls/platform_util.h>

#include "../socket/socket.h"
#include "tls_internal.h"

/* ---- time ---- */

/* ---- BIO callbacks: the only place mbedTLS touches the socket ---- */

static int tls_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    tls_conn *conn = ctx;
    long n = portal_platform_send(conn->fd, buf, len);
    if (n >= 0)
        return (int)n; /* mbedTLS never asks for more than one record (< INT_MAX) */
    if (n == PORTAL_IO_WOULD_BLOCK)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    conn->io_status = (int)n;
    conn->io_errno = portal_platform_last_errno();
    return n == PORTAL_IO_CLOSED ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int tls_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    tls_conn *conn = ctx;
    long n = portal_platform_recv(conn->fd, buf, len);
    if (n >= 0) {
        conn->bytes_in += (uint64_t)n;
        return (int)n; /* 0 = orderly EOF; mbedTLS reports it as MBEDTLS_ERR_SSL_CONN_EOF */
    }
    if (n == PORTAL_IO_WOULD_BLOCK)
        return MBEDTLS_ERR_SSL_WANT_READ;
    conn->io_status = (int)n;
    conn->io_errno = portal_platform_last_errno();
    return n == PORTAL_IO_CLOSED ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* ---- connections ---- */

tls_conn *portal_tls_conn_create(portal_app *app, tls_config *config, portal_fd fd,
                          const portal_sockaddr *peer)
{
    tls_conn *conn = calloc(1, sizeof *conn);
    char peer_text[64] = "";
    if (peer) /* NULL: a client connection, whose peer is not known yet (tls_connect.c) */
        portal_sockaddr_format(peer, peer_text, sizeof peer_text);
    if (!conn) {
        portal_log(app, PORTAL_LOG_ERROR, "TLS: dropping client %s: out of memory", peer_text);
        portal_platform_close(fd);
        return NULL;
    }
    conn->fd = fd;
    if (peer)
        conn->peer = *peer;
    memcpy(conn->peer_text, peer_text, sizeof peer_text);
    conn->config = config;
    portal_tls_config_ref(config);
    conn->state = TLS_CONN_HANDSHAKING;
    conn->wait_events = PORTAL_WAIT_READ; /* the client speaks first */
    conn->accepted_ms = portal_platform_now_ms();
    conn->progress_ms = conn->accepted_ms;
    mbedtls_ssl_init(&conn->ssl);
    int ret = mbedtls_ssl_setup(&conn->ssl, &config->ssl_conf);
    if (ret != 0) {
        char err[112];
        portal_log(app, PORTAL_LOG_ERROR, "TLS: dropping client %s: mbedtls_ssl_setup: %s",
                   peer_text, portal_tls_error_text(ret, err, sizeof err));
        conn->state = TLS_CONN_BROKEN;
        portal_tls_conn_destroy(conn, 0);
        return NULL;
    }
    mbedtls_ssl_set_bio(&conn->ssl, conn, tls_bio_send, tls_bio_recv, NULL);
    return conn;
}

static void tls_held_free(tls_conn *conn)
{
    if (conn->held) {
        mbedtls_platform_zeroize(conn->held, conn->held_len);
        free(conn->held);
    }
    conn->held = NULL;
    conn->held_len = 0;
}

int portal_tls_conn_flush_held(tls_conn *conn)
{
    while (conn->held) {
        int ret = mbedtls_ssl_write(&conn->ssl, conn->held, conn->held_len);
        if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
            conn->wait_events = PORTAL_WAIT_WRITE;
            return 0;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
            conn->wait_events = PORTAL_WAIT_READ;
            return 0;
        }
        if (ret < 0)
            return ret;
        if (ret == 0)
            return MBEDTLS_ERR_SSL_INTERNAL_ERROR; /* no progress on a non-empty record */
        if ((size_t)ret < conn->held_len) {
            /* Only part of the held bytes went into that record: the rest is a new write. */
            memmove(conn->held, conn->held + ret, conn->held_len - (size_t)ret);
            conn->held_len -= (size_t)ret;
            continue;
        }
        tls_held_free(conn);
    }
    return 1;
}

/* Waits for `events` on the socket until `deadline`; false when the time is up or poll failed. */
static bool tls_conn_wait(tls_conn *conn, int events, portal_deadline deadline)
{
    int left = portal_deadline_remaining_ms(deadline);
    if (left == 0)
        return false;
    return portal_platform_wait(conn->fd, events, left) > 0;
}

/* Best effort, bounded goodbye: queued plaintext first (the app was told it was accepted), then
 * close_notify. Gives up silently when the peer does not read. */
static void tls_conn_say_goodbye(tls_conn *conn, int budget_ms)
{
    portal_deadline deadline = portal_deadline_after(budget_ms > 0 ? budget_ms : 0);
    for (;;) {
        int ret = portal_tls_conn_flush_held(conn);
        if (ret < 0)
            return;
        if (ret == 1)
            break;
        if (!tls_conn_wait(conn, conn->wait_events, deadline))
            return;
    }
    for (;;) {
        int ret = mbedtls_ssl_close_notify(&conn->ssl);
        if (ret != MBEDTLS_ERR_SSL_WANT_WRITE && ret != MBEDTLS_ERR_SSL_WANT_READ)
            return;
        int events = ret == MBEDTLS_ERR_SSL_WANT_WRITE ? PORTAL_WAIT_WRITE : PORTAL_WAIT_READ;
        if (!tls_conn_wait(conn, events, deadline))
            return;
    }
}

/* Reads and discards what the peer already sent. Closing a socket with unread input makes the
 * kernel answer with a reset, and a reset can destroy our last records (and close_notify) before
 * the peer has read them. Bounded: at most 64 KiB, never waits. */
static void tls_conn_drain_input(tls_conn *conn)
{
    unsigned char scratch[4096];
    for (int i = 0; i < 16; i++) {
        if (portal_platform_recv(conn->fd, scratch, sizeof scratch) <= 0)
            break;
    }
}

void portal_tls_conn_destroy(tls_conn *conn, int budget_ms)
{
    if (!conn)
        return;
    bool established = conn->state == TLS_CONN_READY || conn->state == TLS_CONN_OPEN ||
                       conn->state == TLS_CONN_PEER_CLOSED;
    if (established)
        tls_conn_say_goodbye(conn, budget_ms);
    if (conn->fd != PORTAL_FD_INVALID) {
        /* Also after a failed handshake: the client should read our alert, not a reset. */
        if (conn->io_status != PORTAL_IO_CLOSED)
            tls_conn_drain_input(conn);
        portal_platform_close(conn->fd);
        conn->fd = PORTAL_FD_INVALID;
    }
    mbedtls_ssl_free(&conn->ssl); /* wipes session keys */
    tls_held_free(conn);
    if (conn->connect)
        portal_tls_connect_free(conn); /* cancels a name lookup still running */
    portal_tls_config_unref(conn->config);
    mbedtls_platform_zeroize(conn, sizeof *conn);
    free(conn);
}

int32_t portal_tls_conn_fail(portal_app *app, tls_conn *conn, const char *who, int mbedtls_ret)
{
    conn->state = TLS_CONN_BROKEN;
    tls_held_free(conn);
    if (mbedtls_ret == MBEDTLS_ERR_NET_CONN_RESET || conn->io_status == PORTAL_IO_CLOSED)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "%s: connection closed (reset by peer)", who);
    if (mbedtls_ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
        return portal_fail(app, PORTAL_ERR_NOT_READY,
                           "%s: connection closed (fatal alert from peer)", who);
    if (mbedtls_ret == MBEDTLS_ERR_NET_SEND_FAILED || mbedtls_ret == MBEDTLS_ERR_NET_RECV_FAILED)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: socket error: %s", who,
                           strerror(conn->io_errno));
    char err[112];
    return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", who,
                       portal_tls_error_text(mbedtls_ret, err, sizeof err));
}

/* ---- handshake state machine ---- */

static void tls_describe_failure(tls_conn *conn, int ret, char *buf, size_t size)
{
    if (ret == MBEDTLS_ERR_SSL_CONN_EOF) {
        snprintf(buf, size, "client closed the connection");
    } else if (ret == MBEDTLS_ERR_NET_CONN_RESET || conn->io_status == PORTAL_IO_CLOSED) {
        snprintf(buf, size, "connection reset by client");
    } else if (ret == MBEDTLS_ERR_NET_SEND_FAILED || ret == MBEDTLS_ERR_NET_RECV_FAILED) {
        snprintf(buf, size, "socket error: %s", strerror(conn->io_errno));
    } else if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        char info[200];
        uint32_t flags = mbedtls_ssl_get_verify_result(&conn->ssl);
        if (mbedtls_x509_crt_verify_info(info, sizeof info, "", flags) < 0)
            info[0] = '\0';
        for (char *p = info; *p; p++)
            if (*p == '\n')
                *p = p[1] ? ';' : '\0';
        /* A long verify text is cut to fit the message buffer (the reason comes first); only an
         * encoding error would leave buf undefined. */
        if (snprintf(buf, size, "client certificate rejected: %s", info) < 0)
            buf[0] = '\0';
    } else {
        portal_tls_error_text(ret, buf, size);
#if !PORTAL_MBEDTLS_3 && !defined(MBEDTLS_SSL_PROTO_TLS1_3)
        /* The usual cause here: a client that offers only TLS 1.3 and its suites. */
        if (ret == MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN ||
            ret == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) {
            size_t used = strlen(buf);
            if (used < size)
                snprintf(buf + used, size - used,
                         " (this build speaks TLS 1.2 only: mbedTLS " MBEDTLS_VERSION_STRING
                         " has no TLS 1.3 server)");
        }
#endif
    }
}

bool portal_tls_conn_handshake(portal_app *app, tls_conn *conn)
{
    conn->config->stepping = conn;
    int step = PORTAL_TLS_SSL_STATE(&conn->ssl);
    int ret = mbedtls_ssl_handshake(&conn->ssl);
    conn->config->stepping = NULL;
    if (PORTAL_TLS_SSL_STATE(&conn->ssl) != step)
        conn->progress_ms = portal_platform_now_ms(); /* eviction judges progress, not bytes */
    if (ret == 0) {
        conn->state = TLS_CONN_READY;
        /* With VERIFY_REQUIRED a finished handshake means the chain checked out; a resumed one
         * carries the original verification result and certificate in its ticket. */
        if (!conn->config->client && (conn->config->flags & PORTAL_TLS_FLAG_REQUIRE_CLIENT_CERT) &&
            mbedtls_ssl_get_verify_result(&conn->ssl) == 0) {
            conn->client_verified = true;
            const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&conn->ssl);
            if (peer && mbedtls_x509_dn_gets(conn->subject, sizeof conn->subject,
                                             &peer->subject) < 0)
                conn->subject[0] = '\0';
        }
        return true;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
        conn->wait_events = PORTAL_WAIT_READ;
        return true;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
        conn->wait_events = PORTAL_WAIT_WRITE;
        return true;
    }
    char why[200];
    tls_describe_failure(conn, ret, why, sizeof why);
    /* A client that just goes away (scanner, health check, impatient user) is routine; a
     * protocol or certificate failure is worth a warning. */
    bool client_left = ret == MBEDTLS_ERR_SSL_CONN_EOF || ret == MBEDTLS_ERR_NET_CONN_RESET ||
                       conn->io_status == PORTAL_IO_CLOSED;
    portal_log(app, client_left ? PORTAL_LOG_INFO : PORTAL_LOG_WARN,
               "TLS handshake with %s failed: %s", conn->peer_text, why);
    portal_tls_conn_send_failure_alert(conn, ret);
    portal_tls_config_handshake_failed(conn->config, ret);
    conn->state = TLS_CONN_BROKEN;
    return false;
}

/* ---- the pending queue (who gets into it: tls_admission.c) ---- */

void portal_tls_pending_remove_at(portal_tls_state *state, int index)
{
    memmove(&state->pending[index], &state->pending[index + 1],
            (size_t)(state->pending_count - index - 1) * sizeof *state->pending);
    state->pending_count--;
}

void portal_tls_engine_advance_all(portal_app *app)
{
    portal_tls_state *state = app->tls;
    if (!state)
        return;
    portal_tls_log_unheard(app, false); /* what the last flood left unlogged */
    for (int i = 0; i < state->pending_count;) {
        tls_conn *conn = state->pending[i];
        bool keep = conn->state != TLS_CONN_HANDSHAKING || portal_tls_conn_handshake(app, conn);
        if (keep && portal_platform_now_ms() >= conn->deadline_ms) {
            if (conn->state == TLS_CONN_HANDSHAKING)
                portal_log(app, PORTAL_LOG_WARN,
                           "TLS handshake with %s failed: not finished within %d ms",
                           conn->peer_text, app->limits.handshake_deadline_ms);
            else
                portal_log(app, PORTAL_LOG_WARN,
                           "TLS: dropping finished handshake with %s: tlsAccept did not pick it "
                           "up within %d ms",
                           conn->peer_text, app->limits.handshake_deadline_ms);
            keep = false;
        }
        if (keep) {
            i++;
            continue;
        }
        portal_tls_pending_remove_at(state, i);
        portal_tls_conn_destroy(conn, 0);
    }
}

tls_conn *portal_tls_engine_take_ready(portal_app *app, int32_t config_handle,
                                       int32_t listener_handle)
{
    portal_tls_state *state = app->tls;
    for (int i = 0; state && i < state->pending_count; i++) {
        tls_conn *conn = state->pending[i];
        if (conn->state == TLS_CONN_READY && conn->config_handle == config_handle &&
            conn->listener_handle == listener_handle) {
            portal_tls_pending_remove_at(state, i);
            return conn;
        }
    }
    return NULL;
}

void portal_tls_engine_drop_config(portal_app *app, tls_config *config)
{
    portal_tls_state *state = app->tls;
    for (int i = 0; state && i < state->pending_count;) {
        tls_conn *conn = state->pending[i];
        if (conn->config != config) {
            i++;
            continue;
        }
        portal_log(app, PORTAL_LOG_INFO,
                   "TLS: dropping pending handshake with %s: its config was freed",
                   conn->peer_text);
        portal_tls_pending_remove_at(state, i);
        portal_tls_conn_destroy(conn, 0);
    }
}

void portal_tls_engine_drop_all(portal_app *app)
{
    portal_tls_state *state = app->tls;
    if (state)
        portal_tls_log_unheard(app, true);
    while (state && state->pending_count > 0) {
        tls_conn *conn = state->pending[state->pending_count - 1];
        state->pending_count--;
        portal_tls_conn_destroy(conn, 0);
    }
}

int portal_tls_engine_fill_pollfds(portal_app *app, portal_wait_entry *fds, int max)
{
    portal_tls_state *state = app->tls;
    int n = 0;
    for (int i = 0; state && i < state->pending_count && n < max; i++) {
        tls_conn *conn = state->pending[i];
        if (conn->state != TLS_CONN_HANDSHAKING)
            continue; /* finished ones wait for tlsAccept, not for the socket */
        fds[n].fd = conn->fd;
        fds[n].events = conn->wait_events & (PORTAL_WAIT_READ | PORTAL_WAIT_WRITE);
        fds[n].ready = 0;
        n++;
    }
    return n;
}

int portal_tls_engine_next_deadline_ms(portal_app *app)
{
    portal_tls_state *state = app->tls;
    if (!state || state->pending_count == 0)
        return -1;
    int64_t earliest = INT64_MAX;
    for (int i = 0; i < state->pending_count; i++)
        if (state->pending[i]->deadline_ms < earliest)
            earliest = state->pending[i]->deadline_ms;
    int64_t left = earliest - portal_platform_now_ms();
    if (left < 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

bool portal_tls_engine_accepting(portal_app *app, int *wake_ms)
{
    portal_tls_state *state = app->tls;
    *wake_ms = -1;
    if (!state)
        return true;
    int64_t now = portal_platform_now_ms(), wake_at;
    if (portal_tls_pending_can_take(app, now, &wake_at))
        return true;
    if (wake_at != INT64_MAX)
        *wake_ms = wake_at - now > INT_MAX ? INT_MAX : (int)(wake_at - now);
    return false; /* e.g. everything queued has finished: tlsAccept hands those out first */
}

bool portal_tls_engine_has_ready(portal_app *app, int32_t listener_handle)
{
    portal_tls_state *state = app->tls;
    for (int i = 0; state && i < state->pending_count; i++)
        if (state->pending[i]->state == TLS_CONN_READY &&
            state->pending[i]->listener_handle == listener_handle)
            return true;
    return false;
}

int portal_tls_engine_wait(portal_app *app, portal_fd listener_fd, portal_deadline deadline)
{
    portal_tls_state *state = app->tls;
    /* Listener + every pending socket; the queue is small (limit max_pending_handshakes). */
    portal_wait_entry stack_fds[18];
    portal_wait_entry *fds = stack_fds;
    int capacity = state->pending_capacity + 2; /* + listener + shutdown descriptor */
    if (capacity > (int)(sizeof stack_fds / sizeof stack_fds[0])) {
        fds = malloc((size_t)capacity * sizeof *fds);
        if (!fds) {
            fds = stack_fds;
            capacity = (int)(sizeof stack_fds / sizeof stack_fds[0]);
        }
    }
    int timeout = portal_deadline_remaining_ms(deadline);
    int n = 0;
    int64_t now = portal_platform_now_ms();
    if (listener_fd != PORTAL_FD_INVALID) {
        /* Full: a new client matters only once a handshake may be evicted. */
        int64_t wake_at;
        bool watch_listener = portal_tls_pending_can_take(app, now, &wake_at);
        if (!watch_listener && wake_at != INT64_MAX && (timeout < 0 || wake_at - now < timeout))
            timeout = (int)(wake_at - now);
        if (watch_listener) {
            fds[n].fd = listener_fd;
            fds[n].events = PORTAL_WAIT_READ;
            fds[n].ready = 0;
            n++;
        }
    }
    if (portal_platform_interrupt_fd() != PORTAL_FD_INVALID && n < capacity) {
        fds[n].fd = portal_platform_interrupt_fd();
        fds[n].events = PORTAL_WAIT_READ;
        fds[n].ready = 0;
        n++;
    }
    if (portal_platform_interrupted())
        timeout = 0; /* shutting down: the caller returns "interrupted" */
    n += portal_tls_engine_fill_pollfds(app, fds + n, capacity - n);
    int next = portal_tls_engine_next_deadline_ms(app);
    if (next >= 0 && (timeout < 0 || next < timeout))
        timeout = next;
    /* A signal (PORTAL_IO_WOULD_BLOCK): the caller loops and re-checks its deadline. */
    int failed = portal_platform_wait_many(fds, n, timeout) == PORTAL_IO_ERROR
                     ? portal_platform_last_errno()
                     : 0;
    if (fds != stack_fds)
        free(fds);
    return failed;
}
