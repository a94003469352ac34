/* tls_admission.c - who may start a TLS handshake (module `portal_socket_tls`): a new TCP client
 * is accepted only while its handshake can become a session (queue capacity and free session
 * slots); when the queue is full, which pending handshake makes room for a waiting client -
 * judged by handshake progress, not bytes - and each address's share of the queue, so one peer
 * cannot hold every slot. portal_tls_engine_accept_new applies these rules; tls_engine.c runs the
 * handshakes themselves. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "../socket/socket.h"
#include "tls_internal.h"

/* How many handshakes may be pending now. Each one must be able to become a session, so the
 * queue never holds more than the app's free session slots (a finished handshake waiting for
 * tlsAccept counts: it is a session not yet picked up), nor more than its capacity. */
static int tls_pending_slots(const portal_app *app)
{
    int free_sessions = app->limits.max_tls_sessions - portal_tls_open_sessions(app);
    if (free_sessions < 0)
        free_sessions = 0;
    return free_sessions < app->tls->pending_capacity ? free_sessions : app->tls->pending_capacity;
}

/* One peer's share of the queue: half its capacity (at least 1). Only an address above it can
 * lose a handshake that is making progress, and only to a client from another address. */
static int tls_peer_share(const portal_tls_state *state)
{
    return state->pending_capacity / 2 > 1 ? state->pending_capacity / 2 : 1;
}

/* Same peer for the share: the same IPv4 address, or the same /64 for IPv6 (one host usually
 * holds a whole /64 and can pick any address in it); an IPv4-mapped IPv6 address is its IPv4. */
static bool tls_same_peer(const portal_sockaddr *a, const portal_sockaddr *b)
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    bool a6 = a->family == 6 && memcmp(a->ip, v4_mapped, sizeof v4_mapped) != 0;
    bool b6 = b->family == 6 && memcmp(b->ip, v4_mapped, sizeof v4_mapped) != 0;
    if (a6 || b6)
        return a6 && b6 && memcmp(a->ip, b->ip, 8) == 0;
    return memcmp(a->family == 6 ? a->ip + 12 : a->ip, b->family == 6 ? b->ip + 12 : b->ip, 4) ==
           0;
}

/* Unfinished handshakes from `peer`'s address. */
static int tls_peer_handshakes(const portal_tls_state *state, const portal_sockaddr *peer)
{
    int count = 0;
    for (int i = 0; i < state->pending_count; i++)
        count += state->pending[i]->state == TLS_CONN_HANDSHAKING &&
                 tls_same_peer(&state->pending[i]->peer, peer);
    return count;
}

/* A handshake of the address holding more unfinished handshakes than its share, or -1. With the
 * share at half the capacity at most one address can, and it is the majority: one pass finds
 * the candidate (Boyer-Moore), a second one counts it. */
static int tls_pending_hog(const portal_tls_state *state)
{
    int candidate = -1, votes = 0;
    for (int i = 0; i < state->pending_count; i++) {
        const tls_conn *conn = state->pending[i];
        if (conn->state != TLS_CONN_HANDSHAKING)
            continue;
        if (votes == 0) {
            candidate = i;
            votes = 1;
        } else {
            votes += tls_same_peer(&conn->peer, &state->pending[candidate]->peer) ? 1 : -1;
        }
    }
    if (candidate >= 0 &&
        tls_peer_handshakes(state, &state->pending[candidate]->peer) > tls_peer_share(state))
        return candidate;
    return -1;
}

/* An unfinished handshake that may be evicted for someone waiting: its client is silent (has sent
 * nothing at all for PORTAL_TLS_SILENT_EVICT_MS since its accept) or stalled (no handshake step
 * for PORTAL_TLS_STALL_MS, whatever bytes it sent), and nothing waits unread in its socket. */
static bool tls_conn_evictable(const tls_conn *conn, int64_t now)
{
    if (conn->state != TLS_CONN_HANDSHAKING)
        return false;
    bool silent = conn->bytes_in == 0 && now - conn->accepted_ms >= PORTAL_TLS_SILENT_EVICT_MS;
    bool stalled = now - conn->progress_ms >= PORTAL_TLS_STALL_MS;
    return (silent || stalled) && portal_platform_wait(conn->fd, PORTAL_WAIT_READ, 0) == 0;
}

/* The handshake to drop for a new client, or -1; only from `peer`'s address unless it is NULL.
 * An evictable one first, the longest without progress. With `forced`, else the least advanced
 * one (lowest handshake state), the newest among equals: a peer over its share loses what it has
 * invested least in, and a real client that has sent its ClientHello is ahead of stalled ones. */
static int tls_pending_victim(const portal_tls_state *state, const portal_sockaddr *peer,
                              bool forced, int64_t now)
{
    int best = -1;
    for (int i = 0; i < state->pending_count; i++) {
        const tls_conn *conn = state->pending[i];
        if ((peer && !tls_same_peer(&conn->peer, peer)) || !tls_conn_evictable(conn, now))
            continue;
        if (best < 0 || conn->progress_ms < state->pending[best]->progress_ms)
            best = i;
    }
    if (best >= 0 || !forced)
        return best;
    for (int i = 0; i < state->pending_count; i++) {
        const tls_conn *conn = state->pending[i];
        if (conn->state != TLS_CONN_HANDSHAKING || (peer && !tls_same_peer(&conn->peer, peer)))
            continue;
        int step = PORTAL_TLS_SSL_STATE(&conn->ssl);
        if (best < 0 || step < PORTAL_TLS_SSL_STATE(&state->pending[best]->ssl) ||
            (step == PORTAL_TLS_SSL_STATE(&state->pending[best]->ssl) &&
             conn->accepted_ms >= state->pending[best]->accepted_ms))
            best = i;
    }
    return best;
}

/* Whether a client waiting in the backlog could be taken now: the queue has a free slot, holds an
 * evictable handshake, or an address holds more than its share. Otherwise *wake_at is when that
 * can change by time alone (INT64_MAX: not by time - e.g. every slot is a session or a finished
 * handshake; closing a session frees one). */
bool portal_tls_pending_can_take(const portal_app *app, int64_t now, int64_t *wake_at)
{
    const portal_tls_state *state = app->tls;
    *wake_at = INT64_MAX;
    if (state->pending_count < tls_pending_slots(app))
        return true;
    if (tls_pending_victim(state, NULL, false, now) >= 0 || tls_pending_hog(state) >= 0)
        return true;
    for (int i = 0; i < state->pending_count; i++) {
        const tls_conn *conn = state->pending[i];
        if (conn->state != TLS_CONN_HANDSHAKING)
            continue;
        int64_t at = conn->progress_ms + PORTAL_TLS_STALL_MS;
        if (conn->bytes_in == 0 && conn->accepted_ms + PORTAL_TLS_SILENT_EVICT_MS < at)
            at = conn->accepted_ms + PORTAL_TLS_SILENT_EVICT_MS;
        if (at > now && at < *wake_at)
            *wake_at = at; /* past times: the socket is readable and gets served first */
    }
    return false;
}

/* Summary lines for the new connections closed at once and the handshakes replaced by their own
 * address, at most once a second unless `now`. */
void portal_tls_log_unheard(portal_app *app, bool now)
{
    portal_tls_state *state = app->tls;
    int64_t t = portal_platform_now_ms();
    if ((state->unheard_closed == 0 && state->over_share_closed == 0 &&
         state->replaced_own == 0) ||
        (!now && t - state->unheard_logged_ms < 1000))
        return;
    if (state->unheard_closed > 0)
        portal_log(app, PORTAL_LOG_WARN,
                   "TLS: handshake queue full (%d); closed %d new connections that had sent "
                   "nothing while more were waiting",
                   state->pending_capacity, state->unheard_closed);
    if (state->over_share_closed > 0)
        portal_log(app, PORTAL_LOG_WARN,
                   "TLS: handshake queue full (%d); closed %d new connections from addresses "
                   "already holding their share (%d) of it while more were waiting",
                   state->pending_capacity, state->over_share_closed, tls_peer_share(state));
    if (state->replaced_own > 0)
        portal_log(app, PORTAL_LOG_WARN,
                   "TLS: handshake queue full (%d); %d new connections replaced a stalled or "
                   "least advanced handshake from their own address",
                   state->pending_capacity, state->replaced_own);
    state->unheard_closed = 0;
    state->over_share_closed = 0;
    state->replaced_own = 0;
    state->unheard_logged_ms = t;
}

/* Why a new connection found no room in a full queue. */
typedef enum { TLS_ROOM_NONE, TLS_ROOM_UNHEARD, TLS_ROOM_OVER_SHARE } tls_no_room;

/* The queue is full and `fd` from `peer` has just been accepted: the index of the handshake to
 * drop for it, or -1 to close the new connection instead (*why says why). A peer at its share only
 * ever replaces its own handshakes: a stalled one, or - when nobody else waits behind it - its
 * least advanced one; otherwise it is closed. A peer within its share takes a handshake of the
 * address over its share if there is one (stalled first), else a stalled one from anywhere -
 * unless it has said nothing yet and others wait behind it: then it is closed rather than let a
 * backlog of silent connections drain one stalled victim at a time while a real client waits
 * behind them (the last one in the backlog gets the slot: its ClientHello may be a moment
 * behind). */
static int tls_pending_make_room(portal_tls_state *state, portal_fd fd,
                                 const portal_sockaddr *peer, bool others_waiting, int64_t now,
                                 tls_no_room *why)
{
    *why = TLS_ROOM_NONE;
    if (tls_peer_handshakes(state, peer) >= tls_peer_share(state)) {
        int victim = tls_pending_victim(state, peer, false, now);
        if (victim < 0 && others_waiting) {
            *why = TLS_ROOM_OVER_SHARE;
            return -1;
        }
        return victim >= 0 ? victim : tls_pending_victim(state, peer, true, now);
    }
    int hog = tls_pending_hog(state);
    if (hog >= 0)
        return tls_pending_victim(state, &state->pending[hog]->peer, true, now);
    if (others_waiting && portal_platform_wait(fd, PORTAL_WAIT_READ, 0) == 0) {
        *why = TLS_ROOM_UNHEARD;
        return -1;
    }
    return tls_pending_victim(state, NULL, false, now);
}

/* Drops pending handshake `victim` for a new connection from `peer`. Replacing a handshake of the
 * same address is only counted (an attacker reconnecting would otherwise write a log line per
 * connection); dropping someone else's is logged with the reason. */
static void tls_pending_evict(portal_app *app, int victim, const portal_sockaddr *peer, int slots,
                              int64_t now)
{
    portal_tls_state *state = app->tls;
    tls_conn *old = state->pending[victim];
    long long age = (long long)(now - old->accepted_ms);
    if (tls_same_peer(&old->peer, peer))
        state->replaced_own++;
    else if (old->bytes_in == 0 && age >= PORTAL_TLS_SILENT_EVICT_MS)
        portal_log(app, PORTAL_LOG_WARN,
                   "TLS: handshake queue full (%d); dropping stalled handshake with %s after %lld "
                   "ms (it sent nothing)",
                   slots, old->peer_text, age);
    else if (now - old->progress_ms >= PORTAL_TLS_STALL_MS)
        portal_log(app, PORTAL_LOG_WARN,
                   "TLS: handshake queue full (%d); dropping stalled handshake with %s after %lld "
                   "ms (no handshake progress for %lld ms)",
                   slots, old->peer_text, age, (long long)(now - old->progress_ms));
    else
        portal_log(app, PORTAL_LOG_WARN,
                   "TLS: handshake queue full (%d); dropping handshake with %s after %lld ms: its "
                   "address holds %d unfinished handshakes (share %d)",
                   slots, old->peer_text, age, tls_peer_handshakes(state, &old->peer),
                   tls_peer_share(state));
    portal_tls_pending_remove_at(state, victim);
    portal_tls_conn_destroy(old, 0);
}

int portal_tls_engine_accept_new(portal_app *app, portal_fd listener_fd, tls_config *config,
                          int32_t config_handle, int32_t listener_handle)
{
    portal_tls_state *state = app->tls;
    int err = 0;
    for (int taken = 0; taken < PORTAL_TLS_ACCEPT_BURST; taken++) {
        int64_t now = portal_platform_now_ms(), wake_at;
        int slots = tls_pending_slots(app);
        bool full = state->pending_count >= slots;
        if (full && !portal_tls_pending_can_take(app, now, &wake_at))
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
            bool others_waiting = portal_platform_wait(listener_fd, PORTAL_WAIT_READ, 0) > 0;
            tls_no_room why;
            int victim = tls_pending_make_room(state, fd, &peer, others_waiting, now, &why);
            if (victim < 0) {
                portal_platform_close(fd);
                if (why == TLS_ROOM_UNHEARD) {
                    state->unheard_closed++;
                } else if (why == TLS_ROOM_OVER_SHARE) {
                    state->over_share_closed++;
                } else {
                    char text[64];
                    portal_sockaddr_format(&peer, text, sizeof text);
                    portal_log(app, PORTAL_LOG_INFO,
                               "TLS: handshake queue full (%d); closed new connection from %s: "
                               "no handshake may be evicted for it",
                               slots, text);
                }
                continue;
            }
            tls_pending_evict(app, victim, &peer, slots, now);
        }
        portal_platform_set_nodelay(fd);
        tls_conn *conn = portal_tls_conn_create(app, config, fd, &peer);
        if (!conn)
            continue;
        conn->config_handle = config_handle;
        conn->listener_handle = listener_handle;
        conn->deadline_ms = conn->accepted_ms + app->limits.handshake_deadline_ms;
        state->pending[state->pending_count++] = conn;
        /* Step it at once: a client whose ClientHello is already here is then ahead of stalled
         * connections from its address when the next one needs room. */
        if (!portal_tls_conn_handshake(app, conn)) {
            state->pending_count--;
            portal_tls_conn_destroy(conn, 0);
        }
    }
    portal_tls_log_unheard(app, false);
    return err;
}
