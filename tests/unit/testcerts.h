/* testcerts.h - where the TLS unit tests find the dev certificates, and their temp-dir cleanup.
 * Header-only (static inline) so each test that includes it gets its own copy. */
#ifndef PORTAL_TESTCERTS_H
#define PORTAL_TESTCERTS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fills `certs` (size `size`) with a directory holding ca.pem and the server/client pairs:
 * $PORTAL_CERTS when the build made them, else a fresh set generated into `tmp`/certs (a test run
 * by hand before the build). */
static inline bool testcerts_find(char *certs, size_t size, const char *tmp)
{
    const char *env = getenv("PORTAL_CERTS");
    char probe[PATH_MAX + 16];
    if (env && *env) {
        snprintf(probe, sizeof probe, "%s/ca.pem", env);
        if (access(probe, R_OK) == 0) {
            snprintf(certs, size, "%s", env);
            return true;
        }
    }
    char script[PATH_MAX];
    const char *src = getenv("PORTAL_SOURCE");
    if (src && *src) {
        snprintf(script, sizeof script, "%s/scripts/gen-certs.sh", src);
    } else {
        snprintf(script, sizeof script, "%s", __FILE__);
        char *cut = strstr(script, "tests/unit/");
        if (!cut)
            return false;
        snprintf(cut, sizeof script - (size_t)(cut - script), "scripts/gen-certs.sh");
    }
    snprintf(certs, size, "%s/certs", tmp);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "bash '%s' '%s' >/dev/null 2>&1", script, certs);
    return system(cmd) == 0;
}

static inline void testcerts_remove_tmp(const char *tmp)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
}

#endif
