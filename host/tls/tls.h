/* tls.h - module `portal_socket_tls` internals used by the runtime (event loop, teardown).
 * The imports themselves are declared from the table in api/api_tls.h. */
#ifndef PORTAL_TLS_H
#define PORTAL_TLS_H

#include <stdint.h>

struct portal_app;
struct portal_wait_entry;

/* "mbedTLS X.Y.Z (TLS 1.2 ...)": the library and protocol versions this build speaks. */
const char *portal_tls_library_version(void);

/* Sets up the process-wide crypto state TLS needs (PSA crypto with mbedTLS 3.x; nothing with
 * 2.x) and keeps it for the life of the process: it is never freed (see tls_library.c). Safe to
 * call any number of times; the first TLS config of an app calls it too. A host that measures its
 * heap calls it at startup, before its baseline. 0, or the PSA status of the failure (negative;
 * PSA_ERROR_INSUFFICIENT_MEMORY = out of memory). */
int portal_tls_library_init(void);

/* Frees every TLS session, pending handshake and config the app owns. */
void portal_tls_teardown(struct portal_app *app);

/* The module's hooks (core/app.h: teardown and the event-loop functions below), registered with
 * the app when it first uses TLS. */
extern const struct portal_module_ops portal_tls_module;

/* Event-loop integration: pending handshakes keep progressing while the app sleeps.
 * fill: writes up to `max` wait entries for pending handshakes, returns how many.
 * service: advances every pending handshake whose socket is ready or whose deadline passed.
 * next_deadline_ms: ms until the earliest pending-handshake deadline, -1 when none. */
int portal_tls_poll_fill(struct portal_app *app, struct portal_wait_entry *fds, int max);
void portal_tls_poll_service(struct portal_app *app);
int portal_tls_next_deadline_ms(struct portal_app *app);

/* sockPoll support.
 * session_poll: for a live TLS session handle, its descriptor and the events ready without
 * waiting (PORTAL_WAIT_READ when plaintext is already decrypted inside mbedTLS or the session
 * ended, so tlsRecv returns at once). false when `handle` is not a live session.
 * listener_poll: for a listener, true when a finished handshake accepted on it waits for tlsAccept;
 * *watch_fd tells whether new TCP connections can be taken now (the handshake queue has room),
 * *wake_ms when that changes (-1 = not by time). */
#include <stdbool.h>
bool portal_tls_session_poll(struct portal_app *app, int32_t handle, int *fd, int *ready_now);
bool portal_tls_listener_poll(struct portal_app *app, int32_t listener_handle, bool *watch_fd,
                              int *wake_ms);

#endif
