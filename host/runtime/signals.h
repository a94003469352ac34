/* signals.h - SIGINT/SIGTERM while an app runs on portal-host: the first asks for a shutdown and
 * ends every wait inside host calls, a second ends the process; a busy app is named. */
#ifndef PORTAL_SIGNALS_H
#define PORTAL_SIGNALS_H

#include <stdbool.h>

#include "../platform/platform.h"

/* Installs the handlers and the signal pipe, and makes the platform's interrupt descriptor the
 * pipe's read end, or what `interrupt_fd_for` makes of it (portal_run_options). False when the
 * pipe cannot be made. */
bool portal_signals_install(portal_fd (*interrupt_fd_for)(int signal_pipe_fd));
/* Restores the default actions and closes the pipe. */
void portal_signals_uninstall(void);

/* The first SIGINT/SIGTERM has come (0: none yet; else the signal). */
int portal_signals_seen(void);
/* Empties the signal pipe after a wait saw it readable. */
void portal_signals_drain(void);

/* The app export running now (NULL between calls): what a slow shutdown says it waits for. */
void portal_signals_set_app_call(const char *what);

#endif
