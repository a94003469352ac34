/* api_socket.h - import table of module `portal_socket`.
 * Upstream passes addresses and data as a bare pointer plus an i32 length; here every such pair is
 * a BUF (`*~`), so the whole range is checked. The WebAssembly types are unchanged.
 * sockPoll is an extension (docs/extensions.md): readiness of sockets, listeners and TLS sessions. */
#ifndef PORTAL_API_SOCKET_H
#define PORTAL_API_SOCKET_H

#define PORTAL_API_SOCKET(X)                                                                       \
    X(portal_socket, sockSocket, portal_sock_socket, I32,                                          \
      ((CTX, _), (I32, domain), (I32, type), (I32, protocol)))                                     \
    X(portal_socket, sockConnect, portal_sock_connect, I32,                                        \
      ((CTX, _), (I32, sock), (BUF, addr), (I32, timeout_ms)))                                     \
    X(portal_socket, sockBind, portal_sock_bind, I32, ((CTX, _), (I32, sock), (BUF, addr)))        \
    X(portal_socket, sockListen, portal_sock_listen, I32, ((CTX, _), (I32, sock), (I32, backlog))) \
    X(portal_socket, sockAccept, portal_sock_accept, I32,                                          \
      ((CTX, _), (I32, sock), (BUF, out_addr), (I32, ignored)))                                    \
    X(portal_socket, sockAcceptWithTimeout, portal_sock_accept_with_timeout, I32,                  \
      ((CTX, _), (I32, sock), (BUF, out_addr), (I32, timeout_ms)))                                 \
    X(portal_socket, sockSend, portal_sock_send, I32,                                              \
      ((CTX, _), (I32, sock), (BUF, buf), (I32, timeout_ms)))                                      \
    X(portal_socket, sockRecv, portal_sock_recv, I32,                                              \
      ((CTX, _), (I32, sock), (BUF, buf), (I32, timeout_ms)))                                      \
    X(portal_socket, sockClose, portal_sock_close, I32, ((CTX, _), (I32, sock)))                  \
    X(portal_socket, sockPoll, portal_sock_poll, I32, ((CTX, _), (BUF, entries), (I32, timeout_ms)))

#endif
