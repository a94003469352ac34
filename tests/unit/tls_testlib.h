/* tls_testlib.h - what the TLS unit tests (test_tls.c, test_tls_client.c, test_tls_alloc_fault.c)
 * share: their temporary directory and certificates, the clock, reading certificate files, the
 * last-error check, a loopback listener and a server config made through the host's own imports,
 * and the loop that runs the named tests. Header-only (static inline) like testlib.h: each test
 * gets its own copy and uses what it needs. Knobs: TEST_TLS_ONLY=substring (run the tests whose
 * name contains it), TEST_TLS_KEEP_TMP=1 (keep the temporary directory), TEST_TLS_VERBOSE=1 (print
 * every last error that is checked). */
#ifndef PORTAL_TLS_TESTLIB_H
#define PORTAL_TLS_TESTLIB_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/app.h"
#include "platform/platform.h"
#include "socket/socket.h"
#include "testcerts.h"
#include "testlib.h"

static char g_certs[PATH_MAX + 16]; /* ca.pem and the server/client pairs (testcerts_find) */
static char g_tmp[PATH_MAX];        /* this run's temporary directory */

/* Makes g_tmp (/tmp/NAME.XXXXXX) and finds the certificates; false (having said why and removed
 * g_tmp) when either fails. */
static inline bool tls_test_begin(const char *name)
{
    snprintf(g_tmp, sizeof g_tmp, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(g_tmp)) {
        perror("mkdtemp");
        return false;
    }
    if (!testcerts_find(g_certs, sizeof g_certs, g_tmp)) {
        fprintf(stderr, "no certificates (PORTAL_CERTS unset and gen-certs.sh failed)\n");
        testcerts_remove_tmp(g_tmp);
        return false;
    }
    return true;
}

/* Removes g_tmp (unless TEST_TLS_KEEP_TMP is set) and returns the exit code of the test. */
static inline int tls_test_end(void)
{
    if (!getenv("TEST_TLS_KEEP_TMP"))
        testcerts_remove_tmp(g_tmp);
    return testlib_finish();
}

typedef struct named_test {
    const char *name;
    void (*fn)(void);
} named_test;

/* Runs each test (those whose name contains $TEST_TLS_ONLY when set), saying which failed. */
static inline void run_named_tests(const named_test *tests, size_t count)
{
    const char *only = getenv("TEST_TLS_ONLY");
    for (size_t i = 0; i < count; i++) {
        if (only && !strstr(tests[i].name, only))
            continue;
        int failed_before = testlib_failed;
        int64_t t0 = portal_platform_now_ms();
        printf("== %s\n", tests[i].name);
        tests[i].fn();
        printf("   %s (%lld ms)\n", testlib_failed == failed_before ? "ok" : "FAILED",
               (long long)(portal_platform_now_ms() - t0));
    }
}

static inline int64_t now_ms(void)
{
    return portal_platform_now_ms();
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The whole file, with a NUL after it (not counted in *len, so text can be searched); NULL (and
 * *len 0) when it cannot be read. */
static inline uint8_t *slurp(const char *path, uint32_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size + 1 >= cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t n = fread(buf + size, 1, cap - 1 - size, f);
        if (n == 0)
            break;
        size += n;
    }
    fclose(f);
    buf[size] = '\0';
    *len = (uint32_t)size;
    return buf;
}

/* A certificate file: NAME from g_certs, or "x/NAME" from g_tmp (one a test made itself). */
static inline uint8_t *cert_file(const char *name, uint32_t *len)
{
    char path[PATH_MAX + 64];
    if (strncmp(name, "x/", 2) == 0)
        snprintf(path, sizeof path, "%s/%s", g_tmp, name + 2);
    else
        snprintf(path, sizeof path, "%s/%s", g_certs, name);
    uint8_t *data = slurp(path, len);
    if (!data)
        fprintf(stderr, "cannot read %s\n", path);
    return data;
}

static inline bool last_error_has(portal_app *app, const char *needle)
{
    if (getenv("TEST_TLS_VERBOSE"))
        fprintf(stderr, "  [error %d] %s\n", (int)app->last_error_code, app->last_error_msg);
    if (strstr(app->last_error_msg, needle))
        return true;
    fprintf(stderr, "  last error \"%s\" lacks \"%s\"\n", app->last_error_msg, needle);
    return false;
}

/* A listening TCP socket of `app` on 127.0.0.1 (family 4) or ::1 (family 6), made through the
 * socket imports: its handle, with the port it got in *port; -1 on failure. */
static inline int32_t listen_loopback(portal_app *app, int family, int backlog, uint16_t *port)
{
    int32_t sock = portal_sock_socket(app, family == 6 ? 10 : 2, 1, 0);
    uint8_t addr[PORTAL_SOCKADDR6_SIZE] = {2, 0, 0, 0, 0, 0, 127, 0, 0, 1, 0, 0};
    uint32_t addr_len = PORTAL_SOCKADDR4_SIZE;
    if (family == 6) {
        memset(addr, 0, sizeof addr);
        addr[0] = 10;
        addr[8 + 15] = 1; /* ::1 */
        addr_len = PORTAL_SOCKADDR6_SIZE;
    }
    if (sock <= 0 || portal_sock_bind(app, sock, addr, addr_len) != 0 ||
        portal_sock_listen(app, sock, backlog) != 0)
        return -1;
    portal_socket *ps = portal_socket_lookup(app, sock, "test");
    portal_sockaddr local;
    if (!ps || portal_platform_local_addr(ps->fd, &local) != 0)
        return -1;
    *port = local.port;
    return sock;
}

/* tlsServerConfigCreate with the certificate files `cert`, `key` and `ca` (cert_file names; NULL
 * passes an empty PEM). */
static inline int32_t server_config_from_files(portal_app *app, const char *cert, const char *key,
                                               const char *ca, int32_t flags)
{
    uint32_t cert_len = 0, key_len = 0, ca_len = 0;
    uint8_t *cert_pem = cert ? cert_file(cert, &cert_len) : NULL;
    uint8_t *key_pem = key ? cert_file(key, &key_len) : NULL;
    uint8_t *ca_pem = ca ? cert_file(ca, &ca_len) : NULL;
    static uint8_t empty[1];
    int32_t rc = portal_tls_server_config_create(app, cert_pem ? cert_pem : empty, cert_len,
                                                 key_pem ? key_pem : empty, key_len,
                                                 ca_pem ? ca_pem : empty, ca_len, flags);
    free(cert_pem);
    free(key_pem);
    free(ca_pem);
    return rc;
}

#endif
