/* tls_internal.h - types shared by the files of module `portal_socket_tls`: the per-app TLS state
 * (random generator, queue of pending handshakes), server configs and connections. A connection is
 * one TCP socket plus its mbedTLS context; it starts life as a pending handshake and becomes a
 * session (an app handle) once tlsAccept hands it out. Not part of the host's public headers. */
#ifndef PORTAL_TLS_INTERNAL_H
#define PORTAL_TLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/version.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include "../core/app.h"
#include "../core/deadline.h"
#include "../socket/socket.h"
#include "../platform/platform.h"

/* mbedTLS 3.x is what ESP-IDF 5 ships; Debian has 2.28. Every difference is behind this switch. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define PORTAL_MBEDTLS_3 1
#else
#define PORTAL_MBEDTLS_3 0
#endif

/* The handshake state of an mbedTLS context (a private field in 3.x): a step of the handshake is
 * a change of this value. */
#if PORTAL_MBEDTLS_3
#define PORTAL_TLS_SSL_STATE(ssl) ((ssl)->MBEDTLS_PRIVATE(state))
#else
#define PORTAL_TLS_SSL_STATE(ssl) ((ssl)->state)
#endif

/* Config flag bits (tlsServerConfigCreate). */
#define PORTAL_TLS_FLAG_REQUIRE_CLIENT_CERT 0x1u /* upstream */
#define PORTAL_TLS_FLAG_NO_TICKETS 0x2u          /* extension: no session tickets */
#define PORTAL_TLS_FLAGS_KNOWN (PORTAL_TLS_FLAG_REQUIRE_CLIENT_CERT | PORTAL_TLS_FLAG_NO_TICKETS)

/* tlsSessionInfo output (extension): packed, little-endian. */
#define PORTAL_TLS_INFO_SIZE 328
#define PORTAL_TLS_INFO_OFF_VERSION 0
#define PORTAL_TLS_INFO_OFF_FLAGS 4
#define PORTAL_TLS_INFO_OFF_CIPHER 8
#define PORTAL_TLS_INFO_CIPHER_SIZE 64
#define PORTAL_TLS_INFO_OFF_SUBJECT 72
#define PORTAL_TLS_INFO_SUBJECT_SIZE 256
#define PORTAL_TLS_INFO_RESUMED 0x1
#define PORTAL_TLS_INFO_CLIENT_VERIFIED 0x2

/* tlsClose flushes queued ciphertext and sends close_notify for at most this long. */
#define PORTAL_TLS_CLOSE_BUDGET_MS 100
/* Admission (portal_tls_engine_accept_new): a handshake starts only while it can become a session,
 * i.e. pending handshakes (unfinished or finished but not yet handed out) < min(queue capacity,
 * free session slots); otherwise new clients wait in the listen backlog. When the queue is full and
 * a client waits, an unfinished handshake that is stalled may be evicted for it: no handshake step
 * (a change of the mbedTLS handshake state) for PORTAL_TLS_STALL_MS, whatever bytes it sent, so a
 * byte now and then does not hold a slot. */
#define PORTAL_TLS_STALL_MS 500
/* A pending handshake whose client has sent nothing at all this long after its accept is silent:
 * it may be evicted for a waiting client already then. And while the queue is full, a new
 * connection that has sent nothing yet, with more queued behind it, is closed at once instead of
 * evicting anyone, so a backlog of silent connections cannot keep a real client waiting behind it
 * (slowloris). */
#define PORTAL_TLS_SILENT_EVICT_MS 250
/* Per-address share: while the queue is full, an address holding more than half of it loses its
 * least advanced handshakes to clients from other addresses, and a new connection from an address
 * already at its share only replaces that address's own handshakes (or is closed at once when
 * others wait behind it). IPv4: per address; IPv6: per /64. */
/* At most this many connections are taken from a listener's backlog in one tlsAccept or sockPoll
 * pass, so a flood of connections cannot keep the call busy. */
#define PORTAL_TLS_ACCEPT_BURST 256
/* Lifetime of session tickets (and rotation period of the ticket keys), seconds. */
#define PORTAL_TLS_TICKET_LIFETIME_S 86400

typedef struct tls_conn tls_conn;

/* One tlsServerConfigCreate result. Reference counted: the app handle holds one reference and every
 * connection built from it holds one, so freeing the config never breaks live sessions. */
typedef struct tls_config {
    int refs;
    int32_t handle; /* the app's handle; 0 once the app freed it */
    uint32_t flags;
    struct portal_tls_state *owner;
    mbedtls_ssl_config ssl_conf;
    mbedtls_x509_crt chain;     /* server certificate (+ intermediates) */
    mbedtls_pk_context key;     /* server private key */
    mbedtls_x509_crt client_ca; /* only with REQUIRE_CLIENT_CERT */
    bool tickets_enabled;
    mbedtls_ssl_ticket_context tickets; /* per-config ticket keys */
    /* The connection whose handshake is being stepped right now; the ticket-parse wrapper marks it
     * as resumed (mbedTLS has no public "was this session resumed" query). */
    tls_conn *stepping;
} tls_config;

/* Life of a connection (transitions only go down this list):
 *   HANDSHAKING  accepted, handshake in progress, waiting for `wait_events`
 *   READY        handshake finished, waiting for tlsAccept(config, listener) to hand it out
 *   OPEN         a session owned by an app handle
 *   PEER_CLOSED  close_notify or TCP EOF received: tlsRecv returns 0 from now on
 *   BROKEN       fatal error or reset: send and recv fail with -3 "closed" */
typedef enum {
    TLS_CONN_HANDSHAKING,
    TLS_CONN_READY,
    TLS_CONN_OPEN,
    TLS_CONN_PEER_CLOSED,
    TLS_CONN_BROKEN,
} tls_conn_state;

struct tls_conn {
    tls_conn_state state;
    portal_fd fd;
    portal_sockaddr peer;
    char peer_text[64]; /* "a.b.c.d:port" or "[v6]:port" for log lines */
    tls_config *config;
    int32_t config_handle;   /* the pair this pending handshake was accepted for */
    int32_t listener_handle;
    int32_t handle;          /* session handle once OPEN */
    mbedtls_ssl_context ssl;
    int wait_events;         /* PORTAL_WAIT_READ/WRITE mbedTLS is waiting for */
    uint64_t bytes_in;       /* bytes read from the socket; 0 = the client has said nothing */
    int64_t accepted_ms;
    int64_t progress_ms;     /* last handshake step (accept at first): judges stalled clients */
    int64_t deadline_ms;     /* pending handshakes only */
    /* What the BIO callbacks saw last: PORTAL_IO_CLOSED / PORTAL_IO_ERROR and errno text. */
    int io_status;
    int io_errno;
    /* Captured when the handshake finished (tlsSessionInfo). */
    bool resumed;
    bool client_verified;
    char subject[PORTAL_TLS_INFO_SUBJECT_SIZE];
    /* Plaintext of a record mbedtls_ssl_write could not finish (WANT_WRITE). Its bytes were already
     * reported to the app as accepted; mbedTLS requires the next write call to repeat the same
     * arguments, so the copy is replayed until the record is on the wire. */
    unsigned char *held;
    size_t held_len;
};

/* Per-app TLS state (app->tls), created by the first tlsServerConfigCreate. */
typedef struct portal_tls_state {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    int entropy_ret; /* the entropy function's last result (CTR_DRBG reports only its own code) */
    tls_conn **pending; /* FIFO of unfinished or not yet handed out handshakes */
    int pending_count;
    int pending_capacity;
    /* New connections closed unheard by portal_tls_engine_accept_new and not logged yet: under a
     * flood the log gets one summary line a second, not one per tlsAccept call. */
    int unheard_closed;
    int over_share_closed; /* the same for addresses already at their share of the queue */
    int replaced_own;      /* handshakes replaced by a new connection from the same address */
    int64_t unheard_logged_ms;
} portal_tls_state;

/* ---- tls_config.c ---- */
/* The app's TLS state, created on first use; NULL (last error set, naming `who`) on failure. */
portal_tls_state *portal_tls_state_get(portal_app *app, const char *who);
void portal_tls_state_free(portal_app *app);
void portal_tls_config_ref(tls_config *config);
void portal_tls_config_unref(tls_config *config);
/* After a handshake failed with `mbedtls_ret`: repairs what a half-done private-key operation may
 * have left broken in the config's key (RSA blinding values), so later handshakes work. */
void portal_tls_config_handshake_failed(tls_config *config, int mbedtls_ret);
/* "SSL - The connection indicated an EOF (-0x7280)" */
const char *portal_tls_error_text(int mbedtls_ret, char *buf, size_t size);
/* True when an mbedTLS result (possibly high + low level) says an allocation failed. */
bool portal_tls_error_is_alloc(int mbedtls_ret);

/* ---- tls_session.c ---- */
/* sockPoll's view of sessions and TLS listeners (socket.h), set when an app first uses TLS. */
extern const portal_socket_poll_ext portal_tls_poll_ext;

/* ---- tls_engine.c ---- */
/* Builds a connection around an accepted socket (takes ownership of fd). NULL on failure, with the
 * reason logged; the fd is closed in that case. */
tls_conn *portal_tls_conn_create(portal_app *app, tls_config *config, portal_fd fd,
                          const portal_sockaddr *peer);
/* Closes a connection: when the handshake had finished, flushes held data and sends close_notify
 * within `budget_ms` (0 = only what goes out without waiting); then closes the socket and frees
 * everything. */
void portal_tls_conn_destroy(tls_conn *conn, int budget_ms);
/* Replays the held record. 1 = nothing held any more, 0 = would block (conn->wait_events says on
 * what), < 0 = mbedTLS error. */
int portal_tls_conn_flush_held(tls_conn *conn);
/* Maps a failed mbedTLS I/O result to the app's error (-3 "closed" for resets, else -2), marks the
 * connection broken, returns the code. */
int32_t portal_tls_conn_fail(portal_app *app, tls_conn *conn, const char *who, int mbedtls_ret);
/* The fatal alert (MBEDTLS_SSL_ALERT_MSG_*) a handshake that failed with `ret` ends with. */
int portal_tls_alert_for_failure(const mbedtls_ssl_context *ssl, int ret);
/* Sends that alert when mbedTLS sent none and the peer is still there (never waits). */
void portal_tls_conn_send_failure_alert(tls_conn *conn, int ret);
/* Runs the handshake as far as the socket allows (records when it made a step). Returns false
 * when it failed (logged). */
bool portal_tls_conn_handshake(portal_app *app, tls_conn *conn);
/* Removes entry `index` from the pending queue (the connection itself is left alone). */
void portal_tls_pending_remove_at(portal_tls_state *state, int index);

/* Advances every pending handshake once; drops failed and expired ones (logged). */
void portal_tls_engine_advance_all(portal_app *app);
/* Removes and returns the oldest finished handshake accepted for (config, listener), or NULL. */
tls_conn *portal_tls_engine_take_ready(portal_app *app, int32_t config_handle,
                                       int32_t listener_handle);
/* Drops every pending handshake built from `config` (the app freed it: nobody can pick them up). */
void portal_tls_engine_drop_config(portal_app *app, tls_config *config);
/* Drops every pending handshake (teardown). */
void portal_tls_engine_drop_all(portal_app *app);
/* Event-loop support: wait entries for unfinished handshakes (up to `max`), and ms until the
 * earliest pending deadline (-1 when nothing is pending). */
int portal_tls_engine_fill_pollfds(portal_app *app, portal_wait_entry *fds, int max);
int portal_tls_engine_next_deadline_ms(portal_app *app);
/* Whether tlsAccept could take a new TCP connection now (a slot is free, or a pending handshake may
 * make room); otherwise *wake_ms is when eviction becomes possible (-1: not by time; a session
 * closing frees a slot). */
bool portal_tls_engine_accepting(portal_app *app, int *wake_ms);
/* True when a finished handshake accepted on `listener_handle` waits to be handed out. */
bool portal_tls_engine_has_ready(portal_app *app, int32_t listener_handle);
/* Sleeps until the listener (when `listener_fd` is valid and a slot is free) or a pending handshake
 * socket is ready, a handshake deadline passes, or `deadline`. Returns 0, or the errno of a
 * wait failure other than a signal (it would fail again at once: the caller must give up). */
int portal_tls_engine_wait(portal_app *app, portal_fd listener_fd, portal_deadline deadline);

/* ---- tls_admission.c ---- */
/* Accepts waiting TCP connections on `listener_fd` while a handshake could become a session (see
 * PORTAL_TLS_STALL_MS: queue capacity and free session slots), or a pending one may make room
 * (stalled, or from an address over its share), and starts their handshakes; with the queue full,
 * new connections that have sent nothing, or come from an address at its share, while more wait
 * behind them are closed at once. Returns 0, or the errno of a failed accept (e.g. EMFILE). */
int portal_tls_engine_accept_new(portal_app *app, portal_fd listener_fd, tls_config *config,
                          int32_t config_handle, int32_t listener_handle);
/* Whether a client waiting in the backlog could be taken now: a slot is free, a pending handshake
 * is stalled, or an address holds more than its share. Otherwise *wake_at is when that can change
 * by time alone (INT64_MAX: not by time; a session closing frees a slot). */
bool portal_tls_pending_can_take(const portal_app *app, int64_t now, int64_t *wake_at);
/* The summary lines for new connections closed at once and handshakes replaced by their own
 * address: at most once a second, or now when `now`. */
void portal_tls_log_unheard(portal_app *app, bool now);

#endif
