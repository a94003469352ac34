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

#include "tls_internal.h"

/* ---- time ---- */

int64_t tls_deadline(int32_t timeout_ms)
{
    if (timeout_ms < 0)
        return INT64_MAX;
    return portal_platform_now_ms() + timeout_ms;
}

int tls_remaining_ms(int64_t deadline)
{
    if (deadline == INT64_MAX)
        return -1;
    int64_t left = deadline - portal_platform_now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

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

static void tls_format_peer(const portal_sockaddr *addr, char *out, size_t size)
{
    const uint8_t *ip = addr->ip;
    if (addr->family == 6) {
        snprintf(out, size, "[%x:%x:%x:%x:%x:%x:%x:%x]:%u", ip[0] << 8 | ip[1],
                 ip[2] << 8 | ip[3], ip[4] << 8 | ip[5], ip[6] << 8 | ip[7], ip[8] << 8 | ip[9],
                 ip[10] << 8 | ip[11], ip[12] << 8 | ip[13], ip[14] << 8 | ip[15],
                 (unsigned)addr->port);
    } else {
        snprintf(out, size, "%u.%u.%u.%u:%u", ip[0], ip[1], ip[2], ip[3], (unsigned)addr->port);
    }
}

tls_conn *tls_conn_create(portal_app *app, tls_config *config, portal_fd fd,
                          const portal_sockaddr *peer)
{
    tls_conn *conn = calloc(1, sizeof *conn);
    char peer_text[64];
    tls_format_peer(peer, peer_text, sizeof peer_text);
    if (!conn) {
        portal_log(app, PORTAL_LOG_ERROR, "TLS: dropping client %s: out of memory", peer_text);
        portal_platform_close(fd);
        return NULL;
    }
    conn->fd = fd;
    conn->peer = *peer;
    memcpy(conn->peer_text, peer_text, sizeof peer_text);
    conn->config = config;
    tls_config_ref(config);
    conn->state = TLS_CONN_HANDSHAKING;
    conn->wait_events = PORTAL_WAIT_READ; /* the client speaks first */
    conn->accepted_ms = portal_platform_now_ms();
    mbedtls_ssl_init(&conn->ssl);
    int ret = mbedtls_ssl_setup(&conn->ssl, &config->ssl_conf);
    if (ret != 0) {
        char err[112];
        portal_log(app, PORTAL_LOG_ERROR, "TLS: dropping client %s: mbedtls_ssl_setup: %s",
                   peer_text, tls_error_text(ret, err, sizeof err));
        conn->state = TLS_CONN_BROKEN;
        tls_conn_destroy(conn, 0);
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

int tls_conn_flush_held(tls_conn *conn)
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
static bool tls_conn_wait(tls_conn *conn, int events, int64_t deadline)
{
    int left = tls_remaining_ms(deadline);
    if (left == 0)
        return false;
    return portal_platform_wait(conn->fd, events, left) > 0;
}

/* Best effort, bounded goodbye: queued plaintext first (the app was told it was accepted), then
 * close_notify. Gives up silently when the peer does not read. */
static void tls_conn_say_goodbye(tls_conn *conn, int budget_ms)
{
    int64_t deadline = portal_platform_now_ms() + (budget_ms > 0 ? budget_ms : 0);
    for (;;) {
        int ret = tls_conn_flush_held(conn);
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

void tls_conn_destroy(tls_conn *conn, int budget_ms)
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
    tls_config_unref(conn->config);
    mbedtls_platform_zeroize(conn, sizeof *conn);
    free(conn);
}

int32_t tls_conn_fail(portal_app *app, tls_conn *conn, const char *who, int mbedtls_ret)
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
                       tls_error_text(mbedtls_ret, err, sizeof err));
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
        tls_error_text(ret, buf, size);
    }
}

/* Runs the handshake as far as the socket allows. Returns false when it failed (logged). */
static bool tls_conn_handshake(portal_app *app, tls_conn *conn)
{
    conn->config->stepping = conn;
    int ret = mbedtls_ssl_handshake(&conn->ssl);
    conn->config->stepping = NULL;
    if (ret == 0) {
        conn->state = TLS_CONN_READY;
        /* With VERIFY_REQUIRED a finished handshake means the chain checked out; a resumed one
         * carries the original verification result and certificate in its ticket. */
        if ((conn->config->flags & PORTAL_TLS_FLAG_REQUIRE_CLIENT_CERT) &&
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
    tls_config_handshake_failed(conn->config, ret);
    conn->state = TLS_CONN_BROKEN;
    return false;
}

/* ---- the pending queue ---- */

static void tls_pending_remove_at(portal_tls_state *state, int index)
{
    memmove(&state->pending[index], &state->pending[index + 1],
            (size_t)(state->pending_count - index - 1) * sizeof *state->pending);
    state->pending_count--;
}

/* True for an unfinished handshake whose client has sent nothing at all in the
 * PORTAL_TLS_SILENT_EVICT_MS since its accept: nothing was read and nothing waits in the socket. */
static bool tls_conn_silent(const tls_conn *conn, int64_t now)
{
    return conn->state == TLS_CONN_HANDSHAKING && conn->bytes_in == 0 &&
           now - conn->accepted_ms >= PORTAL_TLS_SILENT_EVICT_MS &&
           portal_platform_wait(conn->fd, PORTAL_WAIT_READ, 0) == 0;
}

/* The pending handshake that may be evicted for a client waiting in the backlog, or -1: the oldest
 * silent one, else the oldest unfinished one once it has had PORTAL_TLS_EVICT_AGE_MS. */
static int tls_pending_victim(const portal_tls_state *state, int64_t now, bool *silent)
{
    int oldest = -1;
    *silent = false;
    for (int i = 0; i < state->pending_count; i++) { /* FIFO: the first one is the oldest */
        const tls_conn *conn = state->pending[i];
        if (conn->state != TLS_CONN_HANDSHAKING)
            continue;
        if (oldest < 0)
            oldest = i;
        if (tls_conn_silent(conn, now)) {
            *silent = true;
            return i;
        }
    }
    if (oldest >= 0 && now - state->pending[oldest]->accepted_ms >= PORTAL_TLS_EVICT_AGE_MS)
        return oldest;
    return -1;
}

/* Whether a client waiting in the backlog could be taken now: the queue has room or holds a
 * victim. Otherwise *wake_at is when that can change by time alone (INT64_MAX: not by time). */
static bool tls_pending_can_take(const portal_tls_state *state, int64_t now, int64_t *wake_at)
{
    *wake_at = INT64_MAX;
    if (state->pending_count < state->pending_capacity)
        return true;
    bool silent;
    if (tls_pending_victim(state, now, &silent) >= 0)
        return true;
    bool oldest = true;
    for (int i = 0; i < state->pending_count; i++) {
        const tls_conn *conn = state->pending[i];
        if (conn->state != TLS_CONN_HANDSHAKING)
            continue;
        int64_t at = oldest ? conn->accepted_ms + PORTAL_TLS_EVICT_AGE_MS : INT64_MAX;
        if (conn->bytes_in == 0 && conn->accepted_ms + PORTAL_TLS_SILENT_EVICT_MS < at)
            at = conn->accepted_ms + PORTAL_TLS_SILENT_EVICT_MS;
        if (at > now && at < *wake_at)
            *wake_at = at; /* past times: the socket is readable and gets served first */
        oldest = false;
    }
    return false;
}

/* One summary line for the connections closed unheard, at most once a second unless `now`. */
static void tls_log_unheard(portal_app *app, bool now)
{
    portal_tls_state *state = app->tls;
    int64_t t = portal_platform_now_ms();
    if (state->unheard_closed == 0 || (!now && t - state->unheard_logged_ms < 1000))
        return;
    portal_log(app, PORTAL_LOG_WARN,
               "TLS: handshake queue full (%d); closed %d new connections that had sent nothing "
               "while more were waiting",
               state->pending_capacity, state->unheard_closed);
    state->unheard_closed = 0;
    state->unheard_logged_ms = t;
}

int tls_engine_accept_new(portal_app *app, portal_fd listener_fd, tls_config *config,
                          int32_t config_handle, int32_t listener_handle)
{
    portal_tls_state *state = app->tls;
    int victim = -1, closed_unheard = 0, err = 0;
    bool victim_silent = false, victim_known = false;
    for (int taken = 0; taken < PORTAL_TLS_ACCEPT_BURST; taken++) {
        bool full = state->pending_count >= state->pending_capacity;
        if (full && !victim_known) {
            victim = tls_pending_victim(state, portal_platform_now_ms(), &victim_silent);
            victim_known = true;
        }
        if (full && victim < 0)
            break; /* new clients wait in the backlog */
        portal_sockaddr peer;
        memset(&peer, 0, sizeof peer);
        portal_fd fd = portal_platform_accept(listener_fd, &peer);
        if (fd == PORTAL_IO_WOULD_BLOCK)
            break;
        if (fd == PORTAL_IO_CLOSED)
            continue; /* the client gave up before we got to it */
        if (fd < 0) {
            err = portal_platform_last_errno() ? portal_platform_last_errno() : EIO;
            break;
        }
        if (full) {
            /* Queue full and this one has said nothing yet: if others wait behind it, close it
             * rather than let it displace a handshake, or a backlog of silent connections would
             * only drain one victim at a time while a real client waits behind them. The last
             * one in the backlog gets the slot (its ClientHello may be a moment behind). */
            if (portal_platform_wait(fd, PORTAL_WAIT_READ, 0) == 0 &&
                portal_platform_wait(listener_fd, PORTAL_WAIT_READ, 0) > 0) {
                portal_platform_close(fd);
                closed_unheard++;
                continue;
            }
            tls_conn *old = state->pending[victim];
            portal_log(app, PORTAL_LOG_WARN,
                       "TLS: handshake queue full (%d); dropping stalled handshake with %s after "
                       "%lld ms%s",
                       state->pending_capacity, old->peer_text,
                       (long long)(portal_platform_now_ms() - old->accepted_ms),
                       victim_silent ? " (it sent nothing)" : "");
            tls_pending_remove_at(state, victim);
            tls_conn_destroy(old, 0);
            victim_known = false;
        }
        portal_platform_set_nodelay(fd);
        tls_conn *conn = tls_conn_create(app, config, fd, &peer);
        if (!conn)
            continue;
        conn->config_handle = config_handle;
        conn->listener_handle = listener_handle;
        conn->deadline_ms = conn->accepted_ms + app->limits.handshake_deadline_ms;
        state->pending[state->pending_count++] = conn;
    }
    state->unheard_closed += closed_unheard;
    tls_log_unheard(app, false);
    return err;
}

void tls_engine_advance_all(portal_app *app)
{
    portal_tls_state *state = app->tls;
    if (!state)
        return;
    tls_log_unheard(app, false); /* what the last flood left unlogged */
    for (int i = 0; i < state->pending_count;) {
        tls_conn *conn = state->pending[i];
        bool keep = conn->state != TLS_CONN_HANDSHAKING || tls_conn_handshake(app, conn);
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
        tls_pending_remove_at(state, i);
        tls_conn_destroy(conn, 0);
    }
}

tls_conn *tls_engine_take_ready(portal_app *app, int32_t config_handle, int32_t listener_handle)
{
    portal_tls_state *state = app->tls;
    for (int i = 0; state && i < state->pending_count; i++) {
        tls_conn *conn = state->pending[i];
        if (conn->state == TLS_CONN_READY && conn->config_handle == config_handle &&
            conn->listener_handle == listener_handle) {
            tls_pending_remove_at(state, i);
            return conn;
        }
    }
    return NULL;
}

void tls_engine_drop_config(portal_app *app, tls_config *config)
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
        tls_pending_remove_at(state, i);
        tls_conn_destroy(conn, 0);
    }
}

void tls_engine_drop_all(portal_app *app)
{
    portal_tls_state *state = app->tls;
    if (state)
        tls_log_unheard(app, true);
    while (state && state->pending_count > 0) {
        tls_conn *conn = state->pending[state->pending_count - 1];
        state->pending_count--;
        tls_conn_destroy(conn, 0);
    }
}

int tls_engine_fill_pollfds(portal_app *app, portal_wait_entry *fds, int max)
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

int tls_engine_next_deadline_ms(portal_app *app)
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

bool tls_engine_accepting(portal_app *app, int *wake_ms)
{
    portal_tls_state *state = app->tls;
    *wake_ms = -1;
    if (!state)
        return true;
    int64_t now = portal_platform_now_ms(), wake_at;
    if (tls_pending_can_take(state, now, &wake_at))
        return true;
    if (wake_at != INT64_MAX)
        *wake_ms = wake_at - now > INT_MAX ? INT_MAX : (int)(wake_at - now);
    return false; /* e.g. everything queued has finished: tlsAccept hands those out first */
}

bool tls_engine_has_ready(portal_app *app, int32_t listener_handle)
{
    portal_tls_state *state = app->tls;
    for (int i = 0; state && i < state->pending_count; i++)
        if (state->pending[i]->state == TLS_CONN_READY &&
            state->pending[i]->listener_handle == listener_handle)
            return true;
    return false;
}

int tls_engine_wait(portal_app *app, portal_fd listener_fd, int64_t deadline)
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
    int timeout = tls_remaining_ms(deadline);
    int n = 0;
    int64_t now = portal_platform_now_ms();
    if (listener_fd != PORTAL_FD_INVALID) {
        /* Full: a new client matters only once a handshake may be evicted. */
        int64_t wake_at;
        bool watch_listener = tls_pending_can_take(state, now, &wake_at);
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
    n += tls_engine_fill_pollfds(app, fds + n, capacity - n);
    int next = tls_engine_next_deadline_ms(app);
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
