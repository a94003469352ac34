/* tls_socket.h - C SDK: module `portal_socket_tls` (TLS servers on top of a `portal_socket`
 * listener): the six upstream imports, the tlsSessionInfo extension with its struct, the config
 * flags and thin helpers. Semantics, errors and limits: docs/spec-socket-tls.md. */
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

/* ---- helpers ---- */

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
