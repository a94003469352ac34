/* run.h - running one app: load, instantiate, _start, the event loop, shutdown, teardown. */
#ifndef PORTAL_RUN_H
#define PORTAL_RUN_H

#include <stdbool.h>

#include "../core/app.h"
#include "../platform/platform.h"

struct portal_rt;

/* Process exit codes of portal-host besides the app's own exit code. */
#define PORTAL_EXIT_USAGE 2
#define PORTAL_EXIT_HOST_ERROR 125 /* the module could not be loaded or started */
#define PORTAL_EXIT_TRAP 134       /* the app trapped */

typedef struct portal_run_options {
    const char *wasm_path;
    int argc; /* app arguments after "--" */
    char **argv;
    const char *cache_dir;
    const char *sd_dir; /* the card's directory (portal_fs), NULL = the default */
    bool verbose;
    portal_limits limits;
    /* The descriptor every wait watches for SIGINT/SIGTERM, given the read end of the signal pipe.
     * NULL: the pipe itself (the kernel's sockets). A host on another network stack (portal-host-
     * lwip: lwIP sockets cannot be waited on together with a pipe) returns one of its own sockets
     * that it makes readable when the pipe is. */
    portal_fd (*interrupt_fd_for)(int signal_pipe_fd);
} portal_run_options;

int portal_run(const portal_run_options *opts);

/* Waits up to timeout_ms (< 0 forever) while keeping host work going (pending TLS handshakes)
 * and watching for SIGINT/SIGTERM. Returns early (true) when a shutdown was requested. Returns
 * false when poll(2) itself failed (not EINTR; e.g. EINVAL once the descriptors to watch exceed
 * RLIMIT_NOFILE): rt->wait_errno says why, every later call fails at once, and the run loop ends
 * the app with exit code PORTAL_EXIT_HOST_ERROR instead of spinning on a wait that cannot work. */
bool portal_rt_wait(struct portal_rt *rt, int timeout_ms);

#endif
