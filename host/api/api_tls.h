/* api_tls.h - import table of module `portal_socket_tls`: upstream's six, then the extensions
 * tlsSessionInfo and the TLS client (tlsClientConfigCreate / tlsClientConfigFree / tlsConnect). */
#ifndef PORTAL_API_TLS_H
#define PORTAL_API_TLS_H

#define PORTAL_API_TLS(X)                                                                          \
    X(portal_socket_tls, tlsServerConfigCreate, portal_tls_server_config_create, I32,              \
      ((CTX, _), (BUF, cert_pem), (BUF, key_pem), (BUF, client_ca_pem), (I32, flags)))             \
    X(portal_socket_tls, tlsServerConfigFree, portal_tls_server_config_free, I32,                  \
      ((CTX, _), (I32, config)))                                                                   \
    X(portal_socket_tls, tlsAccept, portal_tls_accept, I32,                                        \
      ((CTX, _), (I32, config), (I32, listener), (BUF, out_addr), (I32, timeout_ms)))              \
    X(portal_socket_tls, tlsSend, portal_tls_send, I32,                                            \
      ((CTX, _), (I32, session), (BUF, buf), (I32, timeout_ms)))                                   \
    X(portal_socket_tls, tlsRecv, portal_tls_recv, I32,                                            \
      ((CTX, _), (I32, session), (BUF, buf), (I32, timeout_ms)))                                   \
    X(portal_socket_tls, tlsClose, portal_tls_close, I32, ((CTX, _), (I32, session)))              \
    X(portal_socket_tls, tlsSessionInfo, portal_tls_session_info, I32,                             \
      ((CTX, _), (I32, session), (BUF, out)))                                                      \
    X(portal_socket_tls, tlsClientConfigCreate, portal_tls_client_config_create, I32,              \
      ((CTX, _), (BUF, ca_pem), (BUF, cert_pem), (BUF, key_pem), (BUF, alpn), (I32, flags)))       \
    X(portal_socket_tls, tlsClientConfigFree, portal_tls_client_config_free, I32,                  \
      ((CTX, _), (I32, config)))                                                                   \
    X(portal_socket_tls, tlsConnect, portal_tls_connect, I32,                                      \
      ((CTX, _), (I32, config), (STR, host), (BUF, addr), (I32, port), (I32, timeout_ms)))

#endif
