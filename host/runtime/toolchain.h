/* toolchain.h - the tools that turn an app into a shared object (wasm2c, the C compiler and the
 * wasm-rt.h they compile against), their command lines, and their fingerprint, which goes into
 * the compile cache's key so that a toolchain upgrade never reuses an old shared object. */
#ifndef PORTAL_TOOLCHAIN_H
#define PORTAL_TOOLCHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "spawn.h"

typedef struct portal_toolchain {
    const char *wasm2c;          /* $PORTAL_WASM2C, else the wasm2c found at build time */
    const char *cc;              /* $PORTAL_CC, else the C compiler of the build */
    const char *wasm_rt_include; /* $PORTAL_WASM_RT_INCLUDE, else wasm-rt.h's build-time dir */
    portal_tool_limits limits;   /* for every run of wasm2c and cc */
    /* SHA-256 over: both command lines (programs as named above, flags, the include directory),
     * `wasm2c --version` and `cc --version` output, the installed file behind each program
     * (resolved path, size, mtime, inode), and the contents of wasm-rt.h and
     * wasm-rt-exceptions.h in the include directory (or "absent"). */
    unsigned char fingerprint[32];
} portal_toolchain;

/* The toolchain; the fingerprint is computed on the first call only (two short tool runs, a few
 * ms) and kept for the life of the process. NULL with a message in err when a tool cannot run. */
const portal_toolchain *portal_toolchain_get(char *err, size_t err_size);

/* Command lines (NULL-terminated, pointing into the arguments): wasm2c translating `wasm` into
 * `out_c` (+ its .h), and cc compiling the two C files into the shared object `out_so`. */
#define PORTAL_WASM2C_ARGC 7
#define PORTAL_CC_ARGC 14
void portal_toolchain_wasm2c_argv(const portal_toolchain *tc, const char *wasm, const char *out_c,
                                  char *argv[PORTAL_WASM2C_ARGC]);
void portal_toolchain_cc_argv(const portal_toolchain *tc, const char *app_c, const char *entry_c,
                              const char *out_so, char *argv[PORTAL_CC_ARGC]);

#endif
