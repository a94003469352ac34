/* lwip_host.h - portal-host-lwip's network side: lwIP on a TAP interface (lwip_host.c). */
#ifndef PORTAL_LWIP_HOST_H
#define PORTAL_LWIP_HOST_H

#include <stdbool.h>

#include "platform/platform.h"

/* Starts lwIP's tcpip thread and attaches it to the TAP interface named in the environment;
 * false (with a message) when it cannot. Call once, before the first app. */
bool portal_lwip_host_start(void);
/* portal_run_options.interrupt_fd_for: an lwIP socket that turns readable when the signal pipe
 * does (a bridge thread forwards it). */
portal_fd portal_lwip_host_interrupt_fd(int signal_pipe_fd);
/* Ends the bridge, closes the wake-up socket and prints the platform's socket bookkeeping
 * ("N lwIP sockets held") so tests can prove teardown closed every socket. */
void portal_lwip_host_stop(void);

#endif
