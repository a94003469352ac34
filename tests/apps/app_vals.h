/* app_vals.h - what the hostile-call test apps share (hostile, fs_app): addresses anywhere in
 * linear memory, as a crafted app would pass them, and the "VAL <case> <rc> <text>" lines their
 * scripts compare (the text is the host's last error, or the case's own). Header-only (static
 * inline), on every test app's include path (tests/CMakeLists.txt). */
#ifndef PORTAL_APP_VALS_H
#define PORTAL_APP_VALS_H

#include <stdint.h>
#include <stdio.h>

#include <portal/portal.h>

/* A pointer whose range runs past the end of any linear memory. */
#define FAR_AWAY 0xFFFFFFF0u

static inline uint32_t memory_size(void)
{
    return (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
}

/* An address in linear memory, as the app would pass it: any 32-bit value. */
static inline void *at(uint32_t offset)
{
    return (void *)(uintptr_t)offset;
}

/* The case's result with the host's last error message. */
static inline void val(const char *name, int32_t rc)
{
    static char last[128];
    lastErrorMessage(last, sizeof last);
    printf("VAL %s %d %s\n", name, (int)rc, last);
}

/* Cases whose text is a result of their own, not the last error. */
static inline void val_text(const char *name, int32_t rc, const char *text)
{
    printf("VAL %s %d %s\n", name, (int)rc, text);
}

#endif
