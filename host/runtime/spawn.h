/* spawn.h - runs a tool (wasm2c, the C compiler) without a shell and waits for it. */
#ifndef PORTAL_SPAWN_H
#define PORTAL_SPAWN_H

#include <stdbool.h>

/* Runs argv[0] with argv; its stdout and stderr go to `log_path`. true when it exited with 0. */
bool portal_spawn_wait(char *const argv[], const char *log_path);

#endif
