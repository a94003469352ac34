/* signals.c - SIGINT/SIGTERM while the app runs (signals.h).
 * The app runs as native code on this thread; a step that never returns cannot be interrupted
 * safely in the middle (it may be inside a host call holding locks or half-made state). The first
 * SIGINT/SIGTERM ends every wait inside host calls and asks for a shutdown, which happens when the
 * app returns to the event loop. So that a busy app does not seem to ignore it, the first signal
 * arms a BUSY_NOTICE_S alarm: if the app is still (or, in a slow ppShutdown, again) running
 * then, SIGALRM says which export it is in. A second signal ends portal-host at once with
 * 128 + signal, without ppShutdown. */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define BUSY_NOTICE_S 1

static int signal_pipe[2] = {-1, -1};
static volatile sig_atomic_t signal_seen;
static const char *volatile app_call_what; /* the export running now, NULL between calls */

/* Async-signal-safe stderr output. */
static void write_str(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    ssize_t ignored = write(2, s, n);
    (void)ignored;
}

static void on_signal(int sig)
{
    int saved = errno;
    if (signal_seen) {
        /* A second signal while the app does not react: leave at once. */
        char code[] = "(exit 1xx)\n";
        int status = 128 + sig; /* 129..192 */
        code[7] = (char)('0' + status / 10 % 10);
        code[8] = (char)('0' + status % 10);
        write_str("portal-host: second signal: stopping the app now, without ppShutdown ");
        write_str(code);
        _exit(status);
    }
    signal_seen = sig;
    alarm(BUSY_NOTICE_S);
    portal_platform_interrupt(); /* waits inside host calls end now */
    char byte = 1;
    ssize_t ignored = write(signal_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

static void on_busy_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    const char *what = app_call_what;
    if (what) {
        write_str("portal-host: shutting down: waiting for the app to return from ");
        write_str(what);
        write_str(" (Ctrl-C again to stop it now)\n");
    }
    errno = saved;
}

bool portal_signals_install(portal_fd (*interrupt_fd_for)(int signal_pipe_fd))
{
    if (signal_pipe[0] < 0 && pipe(signal_pipe) != 0)
        return false;
    for (int i = 0; i < 2; i++) {
        fcntl(signal_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_busy_alarm;
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    portal_platform_set_interrupt_fd(interrupt_fd_for ? interrupt_fd_for(signal_pipe[0])
                                                      : signal_pipe[0]);
    return true;
}

void portal_signals_uninstall(void)
{
    portal_platform_set_interrupt_fd(PORTAL_FD_INVALID);
    alarm(0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    for (int i = 0; i < 2; i++) {
        if (signal_pipe[i] >= 0)
            close(signal_pipe[i]);
        signal_pipe[i] = -1;
    }
}

int portal_signals_seen(void)
{
    return signal_seen;
}

void portal_signals_drain(void)
{
    char drain[16];
    while (read(signal_pipe[0], drain, sizeof drain) > 0) {
    }
}

void portal_signals_set_app_call(const char *what)
{
    app_call_what = what;
}
