/* socket.h - module `portal_socket` internals shared with the TLS module and the runtime.
 * The imports themselves are declared from the table in api/api_socket.h. */
#ifndef PORTAL_SOCKET_H
#define PORTAL_SOCKET_H

#include <stdint.h>

#include "../platform/platform.h"

struct portal_app;

/* SocketAddr layouts (CONTRACT.md 4.6 and docs/extensions.md). */
#define PORTAL_SOCKADDR4_SIZE 12
#define PORTAL_SOCKADDR6_SIZE 28

typedef struct portal_socket {
    portal_fd fd;
    int family;     /* 4 or 6 */
    int type;       /* 1 stream, 2 datagram */
    int listening;  /* listen() succeeded */
} portal_socket;

/* Looks up a plain socket handle; NULL (and last error set, naming `who`) when invalid. */
portal_socket *portal_socket_lookup(struct portal_app *app, int32_t handle, const char *who);

/* Decodes an app SocketAddr (12-byte IPv4 or 28-byte IPv6 form); false when malformed. */
int portal_sockaddr_decode(const uint8_t *buf, uint32_t len, portal_sockaddr *out);
/* Encodes a peer address into the app's buffer (len 0 = do not write). Returns bytes written. */
uint32_t portal_sockaddr_encode(const portal_sockaddr *addr, uint8_t *buf, uint32_t len);

/* Closes every plain socket the app still owns. */
void portal_socket_teardown(struct portal_app *app);

#endif
