/* app_checks.h - what the wasm test apps share (tls_client_app, limits_app, sock_app): "CHECK
 * ok|FAIL ..." result lines that the integration scripts count, plain lines, the host's last error
 * message, elapsed time and the SCALE argument. tests/CMakeLists.txt puts tests/apps on every test app's
 * include path. Header-only (static inline): each app gets its own copy and uses what it needs. */
#ifndef PORTAL_APP_CHECKS_H
#define PORTAL_APP_CHECKS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <portal/portal.h>

static int failed_checks; /* "CHECK FAIL" lines so far: the app's exit status is 1 when any */
static char last_msg[128]; /* what last_error() fetched last */

/* One line on stdout, flushed at once (the scripts read it while the app runs). */
static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* "CHECK ok ..." or "CHECK FAIL ..." (counted in failed_checks); returns ok. */
static inline int report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int report(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("CHECK %s ", ok ? "ok" : "FAIL");
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    if (!ok)
        failed_checks++;
    return ok;
}

/* The host's last error message (in last_msg until the next call). */
static inline const char *last_error(void)
{
    lastErrorMessage(last_msg, sizeof last_msg);
    return last_msg;
}

/* Milliseconds since t0_us (a micros() reading). */
static inline double ms_since(int64_t t0_us)
{
    return (double)(micros() - t0_us) / 1000.0;
}

/* A SCALE argument: the factor (at least 1) by which the scripts stretch time bounds (valgrind). */
static inline int scale_arg(const char *arg)
{
    int v = atoi(arg);
    return v < 1 ? 1 : v;
}

#endif
