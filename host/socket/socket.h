/* socket.h - module `portal_socket` internals shared with the TLS module and the runtime.
 * The imports themselves are declared from the table in api/api_socket.h. */
#ifndef PORTAL_SOCKET_H
#define PORTAL_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../platform/platform.h"

struct portal_app;

/* SocketAddr layouts (docs/abi.md#socket-address-layouts). */
#define PORTAL_SOCKADDR4_SIZE 12
#define PORTAL_SOCKADDR6_SIZE 28

typedef struct portal_socket {
    portal_fd fd;
    int family;     /* 4 or 6 */
    int type;       /* 1 stream, 2 datagram */
    int listening;  /* listen() succeeded */
    int connecting; /* a connect is in progress (sockConnect may be called again to finish it) */
    int ext_listener; /* a module accepts on it (tlsAccept): sockPoll asks that module (poll ext) */
    int64_t accept_paused_until_ms; /* see portal_socket_accept_failed */
} portal_socket;

/* An accept on listener `s` failed with `err`. When the process (or system) is out of descriptors
 * or buffers (EMFILE, ENFILE, ENOBUFS, ENOMEM), every retry fails the same way until something is
 * closed, while a queued client keeps the listener readable. That holds on POSIX (accept4 leaves
 * the client queued) and on lwIP only because the platform refuses with ENFILE before calling
 * lwip_accept when its socket budget is spent (portal_platform_sockets_free): lwip_accept itself
 * would drop the client. sockPoll then leaves the listener unwatched for
 * PORTAL_ACCEPT_PAUSE_MS instead of reporting it ready at once, so a poll-driven server does not
 * spin. The accept calls themselves still try whenever they are called (recovery is immediate). */
#define PORTAL_ACCEPT_PAUSE_MS 100
void portal_socket_accept_failed(portal_socket *s, int err);
/* ms left in a pause started by portal_socket_accept_failed, 0 when not paused. */
int portal_socket_accept_paused_ms(const portal_socket *s);

/* Looks up a plain socket handle; NULL (and last error set, naming `who`) when invalid. */
portal_socket *portal_socket_lookup(struct portal_app *app, int32_t handle, const char *who);

/* Decodes an app SocketAddr (12-byte IPv4 or 28-byte IPv6 form); false (0) when malformed,
 * else the size of the form that was read (12 or 28). */
int portal_sockaddr_decode(const uint8_t *buf, uint32_t len, portal_sockaddr *out);
/* Encodes a peer address into the app's buffer (len 0 = do not write). Returns bytes written:
 * 0 when len < 12; IPv4 (and v4-mapped IPv6) peers get the 12-byte form; IPv6 peers the 28-byte
 * form, or when len < 28 a 12-byte form with family 10, the port and a zero IP. */
uint32_t portal_sockaddr_encode(const portal_sockaddr *addr, uint8_t *buf, uint32_t len);

/* Writes "a.b.c.d:port" or "[v6]:port" (NUL-terminated, cut to `size`) for messages. */
void portal_sockaddr_format(const portal_sockaddr *addr, char *out, size_t size);

/* How sockPoll sees what a module built on sockets owns (TLS: its sessions, and listeners with
 * handshakes in flight), so that the socket module never calls that module by name. One per
 * process, set by the module when an app first uses it.
 * handle_poll: for a live handle of the module's, its descriptor and the events ready without
 * waiting (PORTAL_WAIT_READ/HANGUP); false when the handle is not one of its own.
 * listener_poll: for a listener marked with portal_socket_mark_ext_listener, true when an accepted
 * client waits for the app; *watch_fd whether new connections can be taken now, *wake_ms when that
 * changes (-1 = not by time). */
typedef struct portal_socket_poll_ext {
    bool (*handle_poll)(struct portal_app *app, int32_t handle, portal_fd *fd, int *ready_now);
    bool (*listener_poll)(struct portal_app *app, int32_t listener, bool *watch_fd, int *wake_ms);
} portal_socket_poll_ext;
void portal_socket_set_poll_ext(const portal_socket_poll_ext *ext);
/* The module accepts on this listener (sockPoll asks it through listener_poll). */
void portal_socket_mark_ext_listener(portal_socket *s);

/* Closes every plain socket the app still owns. */
void portal_socket_teardown(struct portal_app *app);
/* The module's hooks (core/app.h); registered with the app when it opens its first socket, and by
 * the TLS module before its own, so TLS sessions are torn down before the sockets. */
extern const struct portal_module_ops portal_socket_module;

#endif
