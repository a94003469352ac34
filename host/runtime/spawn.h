/* spawn.h - runs a tool (wasm2c, the C compiler) without a shell, in its own process group,
 * under a wall-clock time limit and resource limits, and says in words why it failed. */
#ifndef PORTAL_SPAWN_H
#define PORTAL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct portal_tool_limits {
    unsigned seconds;   /* wall clock and CPU time (each process of the tool) */
    unsigned memory_mb; /* address space and data segment (RLIMIT_AS, RLIMIT_DATA) */
    unsigned file_mb;   /* largest file it may write (RLIMIT_FSIZE); no core files */
} portal_tool_limits;

/* The defaults (sized for the largest module the host accepts, 64 MiB of wasm), each replaced
 * by its environment variable when set to a positive number: PORTAL_TOOL_TIMEOUT_S,
 * PORTAL_TOOL_MEMORY_MB, PORTAL_TOOL_FILE_MB. */
void portal_tool_limits_get(portal_tool_limits *limits);

/* Runs argv[0] (searched in PATH) with argv, stdin /dev/null, under `limits`. The first
 * out_size - 1 bytes of its stdout + stderr go to `out` (NUL-terminated; out may be NULL).
 * true when it exited with 0; otherwise false with a message naming `what` and the reason
 * (exit status and output, time or memory limit, signal) in err. A tool that runs out of time
 * is killed with its whole process group. */
bool portal_tool_run(const char *what, char *const argv[], const portal_tool_limits *limits,
                     char *out, size_t out_size, char *err, size_t err_size);

/* The signal (SIGINT, SIGTERM, SIGHUP) that stopped the last run, 0 if none. While a tool runs,
 * these only stop it (it has its own process group, so Ctrl-C does not reach it): the caller
 * cleans up and then raises the signal again, so it does what it would have done. */
int portal_tool_interrupted(void);

#endif
