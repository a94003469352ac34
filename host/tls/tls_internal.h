/* tls_internal.h - types shared by the files of module `portal_socket_tls`: the per-app TLS state
 * (random generator, queue of pending handshakes), configs (server and client) and connections. A
 * connection is one TCP socket plus its mbedTLS context; a server one starts life as a pending
 * handshake and becomes a session (an app handle) once tlsAccept hands it out, a client one
 * (tlsConnect) is a session from the start and carries its connect attempt. Not part of the
 * host's public headers. */
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
/* Client config flag bits (tlsClientConfigCreate, extension). */
#define PORTAL_TLS_CLIENT_FLAG_NO_VERIFY 0x1u
#define PORTAL_TLS_CLIENT_FLAGS_KNOWN (PORTAL_TLS_CLIENT_FLAG_NO_VERIFY | PORTAL_TLS_FLAG_NO_TICKETS)

/* tlsSessionInfo output (extension): packed, little-endian. */
#define PORTAL_TLS_INFO_SIZE 328
#define PORTAL_TLS_INFO_OFF_VERSION 0
#define PORTAL_TLS_INFO_OFF_FLAGS 4
#define PORTAL_TLS_INFO_OFF_CIPHER 8
#define PORTAL_TLS_INFO_CIPHER_SIZE 64
#define PORTAL_TLS_INFO_OFF_SUBJECT 72
#define PORTAL_TLS_INFO_SUBJECT_SIZE 256
/* The longer form (client extension): + the negotiated ALPN protocol. */
#define PORTAL_TLS_INFO_EX_SIZE 584
#define PORTAL_TLS_INFO_OFF_ALPN 328
#define PORTAL_TLS_INFO_ALPN_SIZE 256
#define PORTAL_TLS_INFO_RESUMED 0x1
#define PORTAL_TLS_INFO_CLIENT_VERIFIED 0x2 /* the peer's certificate was verified */
#define PORTAL_TLS_INFO_CLIENT_SESSION 0x4  /* made by tlsConnect */
#define PORTAL_TLS_INFO_UNVERIFIED 0x8      /* its config had NO_VERIFY */

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
typedef struct tls_connect tls_connect;
struct portal_tls_trust;
struct tls_resume_cache;

/* One tlsServerConfigCreate or tlsClientConfigCreate result. Reference counted: the app handle
 * holds one reference and every connection built from it holds one, so freeing the config never
 * breaks live sessions. */
typedef struct tls_config {
    int refs;
    int32_t handle; /* the app's handle; 0 once the app freed it */
    uint32_t flags; /* server: PORTAL_TLS_FLAG_*; client: PORTAL_TLS_CLIENT_FLAG_* / NO_TICKETS */
    bool client;    /* made by tlsClientConfigCreate: tlsConnect only, never tlsAccept */
    mbedtls_ssl_config ssl_conf;
    mbedtls_x509_crt chain;     /* own certificate (+ intermediates): server's, or the client's */
    mbedtls_pk_context key;     /* its private key */
    mbedtls_x509_crt client_ca; /* trust anchors: server with REQUIRE_CLIENT_CERT, or a client's
                                   ca_pem */
    /* Client configs (tls_client_config.c): the shared default trust store when ca_pem was
     * empty, the ALPN list (NULL-terminated, pointing into alpn_names) and the remembered
     * sessions per host:port (tls_resume.c; NULL until the first save, and with NO_TICKETS). */
    struct portal_tls_trust *default_trust;
    const char **alpn;
    char *alpn_names;
    struct tls_resume_cache *resume;
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
    /* Captured when the handshake finished (tlsSessionInfo). client_verified: the peer's
     * certificate was verified (a server's client, or a client's server). */
    bool resumed;
    bool client_verified;
    char subject[PORTAL_TLS_INFO_SUBJECT_SIZE];
    /* Client sessions (tlsConnect): the connect attempt, NULL for server connections. While it
     * runs the connection is TLS_CONN_HANDSHAKING (fd may still be invalid); a failed one is
     * TLS_CONN_BROKEN with the reason kept in it. */
    tls_connect *connect;
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

/* Open TLS sessions (client ones from their tlsConnect on) and configs: the app's live handles of
 * those kinds, what the session and config limits count. */
static inline int portal_tls_open_sessions(const portal_app *app)
{
    return (int)portal_handles_count(&app->handles, PORTAL_HANDLE_TLS_SESSION);
}
static inline int portal_tls_open_configs(const portal_app *app)
{
    return (int)portal_handles_count(&app->handles, PORTAL_HANDLE_TLS_CONFIG);
}

/* ---- tls_state.c ---- */
/* The app's TLS state, created on first use; NULL (last error set, naming `who`) on failure. */
portal_tls_state *portal_tls_state_get(portal_app *app, const char *who);
void portal_tls_state_free(portal_app *app);

/* ---- tls_config.c ---- */
void portal_tls_config_ref(tls_config *config);
void portal_tls_config_unref(tls_config *config);
/* After a handshake failed with `mbedtls_ret`: repairs what a half-done private-key operation may
 * have left broken in the config's key (RSA blinding values), so later handshakes work. */
void portal_tls_config_handshake_failed(tls_config *config, int mbedtls_ret);

/* ---- tls_error.c ---- */
/* "SSL - The connection indicated an EOF (-0x7280)" */
const char *portal_tls_error_text(int mbedtls_ret, char *buf, size_t size);
/* True when an mbedTLS result (possibly high + low level) says an allocation failed. */
bool portal_tls_error_is_alloc(int mbedtls_ret);

/* ---- tls_pem.c ----
 * Server and client configs share these. `who` names the import in messages, `what` the
 * argument. PORTAL_OK or the error (last error set). */
int32_t portal_tls_parse_certs(portal_app *app, const char *who, mbedtls_x509_crt *chain,
                               const uint8_t *pem, uint32_t len, const char *what);
int32_t portal_tls_parse_key(portal_app *app, const char *who, portal_tls_state *state,
                             mbedtls_pk_context *key, const uint8_t *pem, uint32_t len,
                             const char *what);
/* Checks that `key` belongs to the certificate; `mismatch` is the message text after "who: ". */
int32_t portal_tls_check_pair(portal_app *app, const char *who, portal_tls_state *state,
                              mbedtls_x509_crt *cert, mbedtls_pk_context *key,
                              const char *mismatch);

/* ---- tls_config.c: what server and client configs share ---- */
/* The reviewed defaults every config gets (versions, suites, groups, no renegotiation, RNG),
 * for `endpoint` MBEDTLS_SSL_IS_SERVER or MBEDTLS_SSL_IS_CLIENT. */
int32_t portal_tls_conf_defaults(portal_app *app, const char *who, portal_tls_state *state,
                                 mbedtls_ssl_config *conf, int endpoint);
/* New config with everything initialised (refs 1, no handle yet), after the config limit check and
 * with the app's TLS state (made on first use) in *state_out; NULL with the error set (-2). */
tls_config *portal_tls_config_new(portal_app *app, const char *who, uint32_t flags, bool client,
                                  portal_tls_state **state_out);
/* Registers the config as an app handle and counts it; the handle, or the error (freed then). */
int32_t portal_tls_config_publish(portal_app *app, const char *who, tls_config *config);
/* The live config behind `handle` of the wanted kind (client or server); NULL with the last
 * error set (bad handle, or "N is a client config" / "N is a server config"). */
tls_config *portal_tls_config_lookup(portal_app *app, int32_t handle, bool client,
                                     const char *who);

/* ---- tls_trust.c (portal-host) / host/esp-idf/tls_trust_bundle.c (firmware) ---- */
/* Points `conf` at the host's default trust anchors, taking a reference on them (*ref, released
 * with portal_tls_trust_release; may stay NULL where nothing is held). PORTAL_OK, or -2 with the
 * reason in `why` (no store, out of memory). */
int32_t portal_tls_trust_default_use(mbedtls_ssl_config *conf, struct portal_tls_trust **ref,
                                     char *why, size_t why_size);
void portal_tls_trust_release(struct portal_tls_trust *ref);

/* ---- tls_resume.c: remembered client sessions per "host:port" ---- */
#define PORTAL_TLS_RESUME_ENTRIES 16
/* Offers the session remembered for `key` on a new client context (before its handshake);
 * true when one was offered. */
bool portal_tls_resume_offer(tls_config *config, mbedtls_ssl_context *ssl, const char *key);
/* Remembers the context's current session for `key` (replacing the least recently used entry). */
void portal_tls_resume_save(tls_config *config, mbedtls_ssl_context *ssl, const char *key);
/* Wipes and frees every remembered session. */
void portal_tls_resume_wipe(tls_config *config);

/* ---- tls_client_verify.c: the server certificate as a client sees it ---- */
/* What the verify callback learns about the server's chain, for the failure reasons. */
typedef struct tls_peer_check {
    const mbedtls_ssl_config *conf; /* its own verify callback (ESP-IDF's bundle) runs first */
    const char *host;
    bool host_is_ip; /* then mbedTLS checks no name (no SNI either): the callback does */
    portal_sockaddr ip;
    uint32_t flags;  /* every flag seen on any certificate of the chain */
    bool issuer_seen;
    char issuer[128]; /* issuer of the topmost certificate presented */
    char names[160];  /* the leaf's subjectAltName DNS/IP names, or its CN without SAN */
} tls_peer_check;
/* mbedtls_ssl_set_verify callback; `p` is the tls_peer_check. */
int portal_tls_client_verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags);
/* "certificate for NAMES is not valid for host HOST; certificate of HOST has expired; ..." */
void portal_tls_client_verify_reason(const tls_peer_check *check, uint32_t flags, char *buf,
                                     size_t size);

/* ---- tls_connect.c: the client connect attempt ---- */
/* True while the connection's connect attempt has not finished (resolving, connecting, or
 * handshaking). */
bool portal_tls_connect_pending(const tls_conn *conn);
/* For tlsSend / tlsRecv / tlsSessionInfo on a client session: PORTAL_OK once it is open; else
 * drives it until `deadline` and returns -3 (would block / timed out, with `who`) or -2 with the
 * failure reason ("who: connect failed: ..."). */
int32_t portal_tls_connect_settle(portal_app *app, tls_conn *conn, const char *who,
                                  portal_deadline deadline, int32_t timeout_ms);
/* Event-loop support for client sessions still connecting. */
int portal_tls_connect_fill(tls_conn *conn, portal_wait_entry *fds, int max);
void portal_tls_connect_service(portal_app *app, tls_conn *conn);
int64_t portal_tls_connect_deadline(const tls_conn *conn); /* INT64_MAX when none */
/* sockPoll: events ready now for a client session still connecting or failed (ERROR), and
 * whether it has just opened (WRITE: reported once, so a timeout-0 poll sees it). */
bool portal_tls_connect_poll(tls_conn *conn, portal_fd *fd, int *ready_now);
/* A TLS 1.3 NewSessionTicket arrived, or the session ends: remember it for resumption. */
void portal_tls_connect_remember(tls_conn *conn);
/* Frees the attempt (cancels a name lookup still running). */
void portal_tls_connect_free(tls_conn *conn);

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
