/* tls.h - module `portal_socket_tls` internals used by the runtime (event loop, teardown).
 * The imports themselves are declared from the table in api/api_tls.h. */
#ifndef PORTAL_TLS_H
#define PORTAL_TLS_H

#include <stdint.h>

struct portal_app;
struct pollfd;

/* Frees every TLS session, pending handshake and config the app owns. */
void portal_tls_teardown(struct portal_app *app);

/* Event-loop integration: pending handshakes keep progressing while the app sleeps.
 * fill: writes up to `max` pollfd entries for pending handshakes, returns how many.
 * service: advances every pending handshake whose socket is ready or whose deadline passed.
 * next_deadline_ms: ms until the earliest pending-handshake deadline, -1 when none. */
int portal_tls_poll_fill(struct portal_app *app, struct pollfd *fds, int max);
void portal_tls_poll_service(struct portal_app *app);
int portal_tls_next_deadline_ms(struct portal_app *app);

#endif
