/* tls_socket.h - C SDK: module `portal_socket_tls` (TLS servers on top of a `portal_socket`
 * listener, and TLS clients): the six upstream imports, the tlsSessionInfo extension with its
 * structs, the TLS client extension (tlsClientConfigCreate/Free, tlsConnect), the config flags and
 * thin helpers. Semantics, errors and limits: docs/spec-socket-tls.md; the extensions:
 * docs/extensions.md. */
#ifndef PORTAL_SDK_TLS_SOCKET_H
#define PORTAL_SDK_TLS_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "portal.h"
#include "socket.h"

/* tlsServerConfigCreate flags. */
#define PP_TLS_REQUIRE_CLIENT_CERT 0x1 /* upstream: clients must present a cert signed by the CA */
#define PP_TLS_NO_TICKETS 0x2          /* extension (PP_FEATURE_EXT_TLS_NO_TICKETS): no resumption */

/* ---- imports (upstream names and WebAssembly types) ----
 * Every (pointer, length) pair is checked by the host over its whole range, whatever the length:
 * even at length 0 the pointer must lie inside linear memory (NULL, offset 0, is fine), or the app
 * traps. An absent buffer is length 0. Timeouts: 0 never blocks, > 0 waits at most that long,
 * < 0 waits until ready. */

/* PEM (or DER) bytes, copied by the host: the app may reuse its buffers afterwards. The client CA
 * is given exactly when PP_TLS_REQUIRE_CLIENT_CERT is set. Returns a config handle (> 0). */
PORTAL_IMPORT(portal_socket_tls, tlsServerConfigCreate)
int32_t tlsServerConfigCreate(const void *cert_pem, uint32_t cert_pem_len, const void *key_pem,
                              uint32_t key_pem_len, const void *client_ca_pem,
                              uint32_t client_ca_pem_len, int32_t flags);
/* Sessions made from the config keep working after it is freed. */
PORTAL_IMPORT(portal_socket_tls, tlsServerConfigFree) int32_t tlsServerConfigFree(int32_t config);
/* Accepts clients on a listening portal_socket handle and returns a session handle once one has
 * finished its handshake (PP_ERR_NOT_READY when none did within the timeout). Handshakes run in
 * the background meanwhile. out_addr: 0 bytes, or a SocketAddr (12) / pp_sockaddr_any (28). */
PORTAL_IMPORT(portal_socket_tls, tlsAccept)
int32_t tlsAccept(int32_t config, int32_t listener, void *out_addr, uint32_t out_addr_len,
                  int32_t timeout_ms);
/* Returns the plaintext bytes accepted (may be fewer than len); len 0 flushes queued data. */
PORTAL_IMPORT(portal_socket_tls, tlsSend)
int32_t tlsSend(int32_t session, const void *buf, uint32_t len, int32_t timeout_ms);
/* Returns the bytes read (> 0); 0 = the client closed the connection (or len was 0). */
PORTAL_IMPORT(portal_socket_tls, tlsRecv)
int32_t tlsRecv(int32_t session, void *buf, uint32_t len, int32_t timeout_ms);
/* Sends close_notify (best effort, bounded), closes the connection. Always 0. */
PORTAL_IMPORT(portal_socket_tls, tlsClose) int32_t tlsClose(int32_t session);

/* ---- tlsSessionInfo (extension, PP_FEATURE_EXT_TLS_SESSION_INFO) ---- */
PORTAL_IMPORT(portal_socket_tls, tlsSessionInfo)
int32_t tlsSessionInfo(int32_t session, void *out, uint32_t out_len);

#define PP_TLS_VERSION_1_2 0x0303
#define PP_TLS_VERSION_1_3 0x0304
#define PP_TLS_INFO_RESUMED 0x1         /* the session was resumed from a ticket */
#define PP_TLS_INFO_CLIENT_VERIFIED 0x2 /* a client certificate was verified against the CA */
#define PP_TLS_INFO_PEER_VERIFIED 0x2   /* the same bit, read on a client session: the server's */
#define PP_TLS_INFO_CLIENT_SESSION 0x4  /* made by tlsConnect (PP_FEATURE_EXT_TLS_CLIENT) */
#define PP_TLS_INFO_UNVERIFIED 0x8      /* its config had PP_TLS_CLIENT_NO_VERIFY: not verified */

/* The 328 bytes tlsSessionInfo writes (packed, little-endian). */
typedef struct __attribute__((packed)) pp_tls_session_info {
    int32_t protocol_version; /* PP_TLS_VERSION_1_2 or PP_TLS_VERSION_1_3 */
    int32_t flags;            /* PP_TLS_INFO_* */
    char cipher[64];          /* mbedTLS suite name, e.g. "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" */
    char subject[256];        /* verified client certificate subject ("CN=..."), else "" */
} pp_tls_session_info;
_Static_assert(sizeof(pp_tls_session_info) == 328, "pp_tls_session_info is 328 bytes");
_Static_assert(offsetof(pp_tls_session_info, protocol_version) == 0, "protocol_version at 0");
_Static_assert(offsetof(pp_tls_session_info, flags) == 4, "flags at 4");
_Static_assert(offsetof(pp_tls_session_info, cipher) == 8, "cipher at 8");
_Static_assert(offsetof(pp_tls_session_info, subject) == 72, "subject at 72");

/* The 584-byte form (hosts with PP_FEATURE_EXT_TLS_CLIENT): the 328 bytes above, then the
 * negotiated ALPN protocol. For a client session `subject` is the server certificate's subject. */
typedef struct __attribute__((packed)) pp_tls_session_info_ex {
    int32_t protocol_version;
    int32_t flags;
    char cipher[64];
    char subject[256];
    char alpn[256]; /* NUL-terminated, "" when none was negotiated */
} pp_tls_session_info_ex;
_Static_assert(sizeof(pp_tls_session_info_ex) == 584, "pp_tls_session_info_ex is 584 bytes");
_Static_assert(offsetof(pp_tls_session_info_ex, flags) == 4, "ex flags at 4");
_Static_assert(offsetof(pp_tls_session_info_ex, cipher) == 8, "ex cipher at 8");
_Static_assert(offsetof(pp_tls_session_info_ex, subject) == 72, "ex subject at 72");
_Static_assert(offsetof(pp_tls_session_info_ex, alpn) == 328, "ex alpn at 328");

/* ---- TLS client sessions (extension, PP_FEATURE_EXT_TLS_CLIENT; docs/extensions.md) ---- */

/* tlsClientConfigCreate flags (PP_TLS_NO_TICKETS, 0x2, applies too: no resumption). */
#define PP_TLS_CLIENT_NO_VERIFY 0x1 /* DEVELOPMENT ONLY: the server certificate is not checked */

/* A client config: trust anchors (PEM or one DER certificate; length 0 = the host's default
 * trust store), an optional client certificate + key for mutual TLS (both or neither), the ALPN
 * protocols to offer ("h2,http/1.1"; length 0 = none) and flags. The host copies everything.
 * Counts against the per-app config limit. Returns a config handle (> 0). */
PORTAL_IMPORT(portal_socket_tls, tlsClientConfigCreate)
int32_t tlsClientConfigCreate(const void *ca_pem, uint32_t ca_pem_len, const void *cert_pem,
                              uint32_t cert_pem_len, const void *key_pem, uint32_t key_pem_len,
                              const char *alpn, uint32_t alpn_len, int32_t flags);
/* Frees the config and the sessions it remembered for resumption; connected sessions keep
 * working. */
PORTAL_IMPORT(portal_socket_tls, tlsClientConfigFree) int32_t tlsClientConfigFree(int32_t config);
/* Opens a TLS client session to `host` (NUL-terminated DNS name or IP literal: SNI and the name
 * the certificate must match). addr_len 0: the host resolves `host` without stalling the app
 * and connects to `port`; addr_len 12 / 28: connects to that SocketAddr / SocketAddr6, port 0.
 * timeout_ms 0 returns the handle at once while the handshake goes on in the host (sockPoll
 * reports it OUT when done, ERR when it failed; the failure comes from the next call on it);
 * > 0 / < 0 wait for the handshake. Returns a session handle for tlsSend/tlsRecv/tlsClose. */
PORTAL_IMPORT(portal_socket_tls, tlsConnect)
int32_t tlsConnect(int32_t config, const char *host, const void *addr, uint32_t addr_len,
                   int32_t port, int32_t timeout_ms);

/* ---- helpers ---- */

/* True when the host has the TLS client extension (calling its imports elsewhere traps). */
static inline int pp_tls_has_client(void) { return pp_has_features(PP_FEATURE_EXT_TLS_CLIENT); }

/* A client config that verifies servers against `ca` (ca_len 0: the host's default trust store),
 * with no client certificate, no ALPN and session resumption on. */
static inline int32_t pp_tls_client_config(const void *ca, uint32_t ca_len)
{
    return tlsClientConfigCreate(ca, ca_len, NULL, 0, NULL, 0, NULL, 0, 0);
}

/* Connects to host:port, the host resolving the name (e.g. "example.org", "127.0.0.1", "::1"). */
static inline int32_t pp_tls_connect_host(int32_t config, const char *host, int32_t port,
                                          int32_t timeout_ms)
{
    return tlsConnect(config, host, NULL, 0, port, timeout_ms);
}

/* Connects to a resolved address (SocketAddr, SocketAddr6 or a pp_sockaddr_any holding either);
 * `host` is still the name the server's certificate must be valid for. */
static inline int32_t pp_tls_connect_addr(int32_t config, const char *host,
                                          const pp_sockaddr_any *addr, int32_t timeout_ms)
{
    uint32_t len = addr->v4.family == PP_AF_INET6 ? (uint32_t)sizeof(SocketAddr6)
                                                  : (uint32_t)sizeof(SocketAddr);
    return tlsConnect(config, host, addr, len, 0, timeout_ms);
}

/* A server config without client certificates. */
static inline int32_t pp_tls_server_config(const void *cert_pem, uint32_t cert_pem_len,
                                           const void *key_pem, uint32_t key_pem_len)
{
    return tlsServerConfigCreate(cert_pem, cert_pem_len, key_pem, key_pem_len, NULL, 0, 0);
}

/* Fills `info`; PP_ERR_NOT_FOUND (without calling anything) on a host that lacks the extension,
 * where calling the import would trap. */
static inline int32_t pp_tls_session_info_get(int32_t session, pp_tls_session_info *info)
{
    if (!pp_has_features(PP_FEATURE_EXT_TLS_SESSION_INFO))
        return PP_ERR_NOT_FOUND;
    return tlsSessionInfo(session, info, (uint32_t)sizeof *info);
}

/* The 584-byte form: returns 584, or 328 on a host without the TLS client extension (alpn then
 * stays ""), or the error; PP_ERR_NOT_FOUND on a host without tlsSessionInfo. On a client
 * session still connecting: PP_ERR_NOT_READY ("handshake in progress"); one that failed: -2 and
 * the reason. */
static inline int32_t pp_tls_session_info_ex_get(int32_t session, pp_tls_session_info_ex *info)
{
    if (!pp_has_features(PP_FEATURE_EXT_TLS_SESSION_INFO))
        return PP_ERR_NOT_FOUND;
    info->alpn[0] = 0;
    uint32_t len = pp_tls_has_client() ? (uint32_t)sizeof *info : (uint32_t)sizeof(pp_tls_session_info);
    return tlsSessionInfo(session, info, len);
}

/* Where a client session's handshake stands: 0 done, PP_ERR_NOT_READY still going (resolve,
 * connect or handshake), else the failure (pp_last_error() gives the reason). Never waits. */
static inline int32_t pp_tls_connect_status(int32_t session)
{
    pp_tls_session_info info;
    int32_t rc = tlsSessionInfo(session, &info, (uint32_t)sizeof info);
    return rc > 0 ? 0 : rc;
}

/* Same test as for plain sockets: the message says "closed" when the client is gone. */
static inline int pp_tls_closed(int32_t rc) { return pp_sock_closed(rc); }
static inline int pp_tls_not_yet(int32_t rc) { return pp_sock_not_yet(rc); }

/* Sends all `len` bytes, each tlsSend waiting at most `timeout_ms`, then flushes. Returns `len`
 * or the first error. */
static inline int32_t pp_tls_send_all(int32_t session, const void *buf, uint32_t len,
                                      int32_t timeout_ms)
{
    const uint8_t *p = (const uint8_t *)buf;
    uint32_t done = 0;
    while (done < len) {
        int32_t n = tlsSend(session, p + done, len - done, timeout_ms);
        if (n < 0)
            return n;
        done += (uint32_t)n;
    }
    int32_t flushed = tlsSend(session, p, 0, timeout_ms);
    return flushed < 0 ? flushed : (int32_t)len;
}

#endif
