/* test_tls.c - unit tests of module `portal_socket_tls`: the host implementations are called
 * directly (as the binding would, with host pointers) while real `openssl s_client` processes and
 * raw TCP sockets act as clients on loopback. Covers config checks and messages, echo over ECDSA
 * and RSA certificates, buffered plaintext, mutual TLS, resumption, stalled and hostile clients,
 * limits, deadlines, the event-loop hooks, back-pressure without losing bytes, resets, teardown and
 * descriptor counts. Every wait is bounded; clients run under `timeout`. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/app.h"
#include "platform/platform.h"
#include "socket/socket.h"
#include "tls/tls.h"
#include "tls/tls_internal.h"
#include "testlib.h"
#include "tls_testlib.h"

/* ---- small helpers (the shared ones are in tls_testlib.h) ---- */

static bool file_contains(const char *path, const char *needle)
{
    uint32_t len;
    char *text = (char *)slurp(path, &len);
    if (!text)
        return false;
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

/* ---- captured log lines ---- */

static char g_log_last[512];
static int g_log_warnings;

static void capture_log(portal_app *app, portal_log_level level, const char *msg)
{
    (void)app;
    if (level != PORTAL_LOG_INFO)
        g_log_warnings++;
    snprintf(g_log_last, sizeof g_log_last, "%s", msg);
    if (getenv("TEST_TLS_VERBOSE"))
        fprintf(stderr, "  [log] %s\n", msg);
}

/* ---- child processes ---- */

static pid_t spawn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static pid_t spawn(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}


static bool child_exited(pid_t pid, int *status_out)
{
    int status;
    if (waitpid(pid, &status, WNOHANG) != pid)
        return false;
    *status_out = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
}

/* ---- raw TCP clients ---- */

/* A plain TCP connection to 127.0.0.1:port from the loopback address `source` (any 127.x.y.z
 * works, so tests can play clients at different addresses), or from the default when NULL. */
static int raw_connect_from(uint16_t port, const char *source)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in from;
    memset(&from, 0, sizeof from);
    from.sin_family = AF_INET;
    if (fd >= 0 && source &&
        (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
         bind(fd, (struct sockaddr *)&from, sizeof from) != 0)) {
        close(fd);
        return -1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int raw_connect(uint16_t port)
{
    return raw_connect_from(port, NULL);
}

/* Waits up to timeout_ms for the server to end the connection: true on EOF or reset. */
static bool raw_sees_close(int fd, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    char buf[512];
    while (now_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
    }
    return false;
}

static void raw_reset(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* ---- a server: one app with a listener on 127.0.0.1 (or ::1) ---- */

typedef struct server {
    portal_app app;
    int32_t listener;
    uint16_t port;
} server;

static bool server_start_family(server *s, const portal_limits *limits, int family)
{
    if (!portal_app_init(&s->app, limits))
        return false;
    s->app.log_sink = capture_log;
    s->listener = listen_loopback(&s->app, family, 64, &s->port);
    return s->listener > 0;
}

static bool server_start(server *s, const portal_limits *limits)
{
    return server_start_family(s, limits, 4);
}

static void server_stop(server *s)
{
    portal_app_teardown(&s->app);
}

static int pending_count(server *s)
{
    return s->app.tls ? s->app.tls->pending_count : 0;
}

static int32_t make_config(server *s, const char *cert, const char *key, const char *ca,
                           int32_t flags)
{
    return server_config_from_files(&s->app, cert, key, ca, flags);
}

static int32_t config_from_text(server *s, const char *cert, const char *key, const char *ca,
                                int32_t flags)
{
    return portal_tls_server_config_create(&s->app, (uint8_t *)cert, (uint32_t)strlen(cert),
                                           (uint8_t *)key, (uint32_t)strlen(key), (uint8_t *)ca,
                                           (uint32_t)strlen(ca), flags);
}

/* Reads until a newline, EOF or the time is up. Returns bytes read (>= 0) or the error code. */
static int recv_line(server *s, int32_t session, char *buf, size_t size, int timeout_ms)
{
    size_t got = 0;
    int64_t end = now_ms() + timeout_ms;
    while (got + 1 < size) {
        int left = (int)(end - now_ms());
        if (left <= 0)
            break;
        int32_t n = portal_tls_recv(&s->app, session, (uint8_t *)buf + got,
                                    (uint32_t)(size - 1 - got), left);
        if (n == 0)
            break;
        if (n < 0) {
            if (got == 0)
                return n;
            break;
        }
        got += (size_t)n;
        if (memchr(buf, '\n', got))
            break;
    }
    buf[got] = '\0';
    return (int)got;
}

static bool send_all(server *s, int32_t session, const char *data, size_t len)
{
    size_t sent = 0;
    while (sent < len) {
        int32_t n = portal_tls_send(&s->app, session, (uint8_t *)data + sent,
                                    (uint32_t)(len - sent), 5000);
        if (n <= 0)
            return false;
        sent += (size_t)n;
    }
    /* Len 0 flushes whatever is still queued. */
    return portal_tls_send(&s->app, session, (uint8_t *)data, 0, 5000) == 0;
}

static int32_t get_le32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24);
}

#define SCLIENT "timeout 10 openssl s_client -connect 127.0.0.1:%u -CAfile %s/ca.pem "

/* Seconds s_client's stdin stays open where it must receive a session ticket: with TLS 1.3 the
 * ticket comes after the handshake, and s_client saves the session (-sess_out) only once it is
 * in. Under valgrind (PORTAL_VALGRIND=1) this server is some 20 times slower. */
static const char *ticket_wait_s(void)
{
    const char *vg = getenv("PORTAL_VALGRIND");
    return vg && strcmp(vg, "1") == 0 ? "3" : "1";
}

/* ---- tests ---- */

static void test_config_checks(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    uint32_t cert_len, key_len, rsa_key_len, ca_len;
    uint8_t *cert = cert_file("server-ec.pem", &cert_len);
    uint8_t *key = cert_file("server-ec.key", &key_len);
    uint8_t *rsa_key = cert_file("server-rsa.key", &rsa_key_len);
    uint8_t *ca = cert_file("ca.pem", &ca_len);
    portal_app *app = &s.app;

    /* Upstream order: flags, cert, key, CA-vs-flag. */
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, 0, key, 0, ca, 0, 4), -1);
    CHECK(last_error_has(app, "tlsServerConfigCreate: unknown flag bits 0x4"));
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, key, key_len, ca, 0, -1), -1);
    CHECK(last_error_has(app, "unknown flag bits"));
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, 0, key, key_len, ca, 0, 0), -1);
    CHECK(last_error_has(app, "missing server_cert_pem"));
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, key, 0, ca, 0, 0), -1);
    CHECK(last_error_has(app, "missing server_key_pem"));
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, key, key_len, ca, 0, 1), -1);
    CHECK(last_error_has(app, "client_ca_pem missing"));
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, key, key_len, ca, ca_len, 0),
                 -1);
    CHECK(last_error_has(app, "client_ca_pem provided but require_client_cert flag not set"));
    /* Absent means length 0, whatever the offset (docs/abi.md#buffers-and-strings): the same
     * pointer is fine. */
    int32_t ok = portal_tls_server_config_create(app, cert, cert_len, key, key_len, cert, 0, 0);
    CHECK(ok > 0);
    CHECK_EQ_INT((int)portal_handles_count(&app->handles, PORTAL_HANDLE_TLS_CONFIG), 1);

    /* Parse failures name the PEM and carry mbedTLS's text. */
    static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
                                  "-----END CERTIFICATE-----\n";
    CHECK_EQ_INT(portal_tls_server_config_create(app, (uint8_t *)bad_pem, sizeof bad_pem - 1, key,
                                                 key_len, ca, 0, 0),
                 -1);
    CHECK(last_error_has(app, "server_cert_pem: "));
    CHECK(last_error_has(app, "(-0x"));
    static const char garbage[] = "hello, I am not a certificate";
    CHECK_EQ_INT(portal_tls_server_config_create(app, (uint8_t *)garbage, sizeof garbage - 1, key,
                                                 key_len, ca, 0, 0),
                 -1);
    CHECK(last_error_has(app, "server_cert_pem: "));
    static const char bad_key[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, (uint8_t *)bad_key,
                                                 sizeof bad_key - 1, ca, 0, 0),
                 -1);
    CHECK(last_error_has(app, "server_key_pem: "));
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, rsa_key, rsa_key_len, ca, 0,
                                                 0),
                 -1);
    CHECK(last_error_has(app, "server_key_pem does not match server_cert_pem"));
    /* A key of the same type that belongs to another certificate. */
    uint32_t other_len;
    uint8_t *other_key = cert_file("client.key", &other_len);
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, other_key, other_len, ca, 0,
                                                 0),
                 -1);
    CHECK(last_error_has(app, "does not match"));
    free(other_key);
    CHECK_EQ_INT(portal_tls_server_config_create(app, cert, cert_len, key, key_len,
                                                 (uint8_t *)garbage, sizeof garbage - 1, 1),
                 -1);
    CHECK(last_error_has(app, "client_ca_pem: "));
    CHECK_EQ_INT((int)portal_handles_count(&app->handles, PORTAL_HANDLE_TLS_CONFIG), 1);

    /* PEM with a trailing NUL already (sizeof of a C string) works as well. */
    char *cert_z = calloc(1, cert_len + 1), *key_z = calloc(1, key_len + 1);
    memcpy(cert_z, cert, cert_len);
    memcpy(key_z, key, key_len);
    int32_t with_nul = portal_tls_server_config_create(app, (uint8_t *)cert_z, cert_len + 1,
                                                       (uint8_t *)key_z, key_len + 1, ca, 0, 2);
    CHECK(with_nul > 0);
    free(cert_z);
    free(key_z);
    CHECK(config_from_text(&s, "x", "y", "", 0) == -1);

    /* mTLS config and the 4-config limit. */
    int32_t mtls =
        portal_tls_server_config_create(app, cert, cert_len, key, key_len, ca, ca_len, 1);
    CHECK(mtls > 0);
    int32_t fourth = make_config(&s, "server-rsa.pem", "server-rsa.key", NULL, 0);
    CHECK(fourth > 0);
    CHECK_EQ_INT((int)portal_handles_count(&app->handles, PORTAL_HANDLE_TLS_CONFIG), 4);
    CHECK_EQ_INT(make_config(&s, "server-rsa.pem", "server-rsa.key", NULL, 0), -2);
    CHECK(last_error_has(app, "too many configs"));

    /* Free: handle 0 never valid, double free and foreign kinds are errors. */
    CHECK_EQ_INT(portal_tls_server_config_free(app, 0), -1);
    CHECK(last_error_has(app, "tlsServerConfigFree: bad handle"));
    CHECK_EQ_INT(portal_tls_server_config_free(app, s.listener), -1);
    CHECK_EQ_INT(portal_tls_server_config_free(app, fourth), 0);
    CHECK_EQ_INT(portal_tls_server_config_free(app, fourth), -1);
    CHECK_EQ_INT((int)portal_handles_count(&app->handles, PORTAL_HANDLE_TLS_CONFIG), 3);
    int32_t again = make_config(&s, "server-rsa.pem", "server-rsa.key", NULL, 0);
    CHECK(again > 0 && again != fourth); /* handles are never reused */

    free(cert);
    free(key);
    free(rsa_key);
    free(ca);
    server_stop(&s);
    CHECK(s.app.tls == NULL);
}

static void test_bad_arguments(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    portal_app *app = &s.app;
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    uint8_t buf[400];
    CHECK_EQ_INT(portal_tls_accept(app, cfg, s.listener, buf, 11, 0), -1);
    CHECK(last_error_has(app, "tlsAccept: out_addr_len too small"));
    CHECK_EQ_INT(portal_tls_accept(app, 0, s.listener, buf, 12, 0), -1);
    CHECK(last_error_has(app, "tlsAccept: bad config handle"));
    CHECK_EQ_INT(portal_tls_accept(app, s.listener, s.listener, buf, 12, 0), -1);
    CHECK_EQ_INT(portal_tls_accept(app, cfg, cfg, buf, 12, 0), -1);
    CHECK(last_error_has(app, "tlsAccept"));
    int32_t plain = portal_sock_socket(app, 2, 1, 0);
    CHECK_EQ_INT(portal_tls_accept(app, cfg, plain, buf, 12, 0), -1);
    CHECK(last_error_has(app, "not listening"));
    CHECK_EQ_INT(portal_tls_send(app, 12345, buf, 4, 0), -1);
    CHECK(last_error_has(app, "tlsSend: bad handle"));
    CHECK_EQ_INT(portal_tls_recv(app, 0, buf, 4, 0), -1);
    CHECK(last_error_has(app, "tlsRecv: bad handle"));
    CHECK_EQ_INT(portal_tls_send(app, cfg, buf, 4, 0), -1);
    CHECK_EQ_INT(portal_tls_session_info(app, 777, buf, sizeof buf), -1);
    CHECK(last_error_has(app, "tlsSessionInfo: bad handle"));
    CHECK_EQ_INT(portal_tls_session_info(app, 777, buf, 327), -1);
    CHECK(last_error_has(app, "out_len too small (need 328)"));
    /* Close is idempotent and leaves the last error alone. */
    portal_fail(app, -4, "marker");
    CHECK_EQ_INT(portal_tls_close(app, 0), 0);
    CHECK_EQ_INT(portal_tls_close(app, 999), 0);
    CHECK_EQ_INT(portal_tls_close(app, cfg), 0);
    CHECK_STR(app->last_error_msg, "marker");
    CHECK(portal_handles_kind(&app->handles, cfg) == PORTAL_HANDLE_TLS_CONFIG);

    /* Non-blocking accept with nobody there, then a short timeout. */
    int64_t t0 = now_ms();
    CHECK_EQ_INT(portal_tls_accept(app, cfg, s.listener, buf, 12, 0), -3);
    int64_t immediate = now_ms() - t0;
    CHECK(last_error_has(app, "tlsAccept: no client ready"));
    CHECK(immediate < 50);
    t0 = now_ms();
    CHECK_EQ_INT(portal_tls_accept(app, cfg, s.listener, NULL, 0, 300), -3);
    int64_t waited = now_ms() - t0;
    CHECK(last_error_has(app, "tlsAccept: timed out"));
    CHECK(waited >= 295 && waited < 1000);
    printf("  accept(timeout 0) returned in %lld ms, accept(timeout 300) in %lld ms\n",
           (long long)immediate, (long long)waited);
    server_stop(&s);
}

/* One s_client that sends a line; the server reads it in two steps (1 byte with a wait, then
 * 1 byte with timeout 0, which must come from plaintext mbedTLS already holds) and echoes it. */
static void check_echo(const char *cert, const char *key, const char *expect_kx)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, cert, key, NULL, 0);
    CHECK(cfg > 0);
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/echo.out", g_tmp);
    pid_t pid = spawn("printf 'hello portal\\n' | " SCLIENT
                      "-quiet -verify_return_error >%s 2>%s.err",
                      s.port, g_certs, out, out);
    uint8_t addr[16];
    memset(addr, 0xAA, sizeof addr);
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, addr, 12, 10000);
    CHECK(session > 0);
    CHECK_EQ_INT(get_le32(addr), 2);
    CHECK(addr[6] == 127 && addr[7] == 0 && addr[8] == 0 && addr[9] == 1);
    CHECK(addr[10] == 0 && addr[11] == 0 && addr[12] == 0xAA); /* exactly 12 bytes written */
    CHECK(addr[4] | addr[5]); /* the client's port */
    CHECK_EQ_INT((int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_SESSION), 1);

    uint8_t info[PORTAL_TLS_INFO_SIZE + 8];
    memset(info, 0xAA, sizeof info);
    CHECK_EQ_INT(portal_tls_session_info(&s.app, session, info, sizeof info), 328);
    /* TLS 1.2 with mbedTLS 2.28; 1.3 where the library has it (3.x), whose suite names carry no
     * key exchange. */
    int32_t version = get_le32(info);
    CHECK(version == 0x0303 || version == 0x0304);
    CHECK_EQ_INT(get_le32(info + 4), 0);
    if (version == 0x0303)
        CHECK(strstr((char *)info + 8, expect_kx) != NULL);
    else
        CHECK(strncmp((char *)info + 8, "TLS1-3-", 7) == 0);
    CHECK(strstr((char *)info + 8, "GCM") || strstr((char *)info + 8, "CHACHA20"));
    CHECK(info[72] == 0);
    CHECK(info[328] == 0xAA);
    printf("  %s: %s\n", cert, (char *)info + 8);

    char line[128];
    CHECK_EQ_INT(portal_tls_recv(&s.app, session, (uint8_t *)line, 1, 5000), 1);
    CHECK(line[0] == 'h');
    CHECK_EQ_INT(portal_tls_recv(&s.app, session, (uint8_t *)line + 1, 1, 0), 1);
    CHECK(line[1] == 'e');
    CHECK_EQ_INT(portal_tls_recv(&s.app, session, (uint8_t *)line, 0, 0), 0);
    int n = recv_line(&s, session, line + 2, sizeof line - 2, 5000);
    CHECK_EQ_INT(n, 11);
    CHECK_STR(line, "hello portal\n");
    CHECK(send_all(&s, session, line, strlen(line)));
    CHECK_EQ_INT(portal_tls_close(&s.app, session), 0);
    CHECK_EQ_INT(portal_tls_close(&s.app, session), 0);
    CHECK_EQ_INT(portal_tls_recv(&s.app, session, (uint8_t *)line, 4, 0), -1);
    CHECK_EQ_INT((int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_SESSION), 0);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(file_contains(out, "hello portal\n"));
    server_stop(&s);
}

static void test_echo(void)
{
    check_echo("server-ec.pem", "server-ec.key", "ECDHE-ECDSA");
    check_echo("server-rsa.pem", "server-rsa.key", "ECDHE-RSA");
}

/* Drives tlsAccept until the child exits; returns how many sessions came out of it. */
static int accept_until_exit(server *s, int32_t cfg, pid_t pid, int *status)
{
    int sessions = 0;
    int64_t end = now_ms() + 12000;
    *status = -1;
    while (now_ms() < end) {
        int32_t rc = portal_tls_accept(&s->app, cfg, s->listener, NULL, 0, 100);
        if (rc > 0) {
            sessions++;
            portal_tls_close(&s->app, rc);
        }
        if (child_exited(pid, status))
            break;
    }
    /* Let the engine see the client's last bytes. */
    portal_tls_accept(&s->app, cfg, s->listener, NULL, 0, 100);
    return sessions;
}

static void test_mutual_tls(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", "ca.pem", 1);
    CHECK(cfg > 0);
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/mtls.out", g_tmp);

    pid_t pid = spawn("printf 'mutual\\n' | " SCLIENT
                      "-quiet -cert %s/client.pem -key %s/client.key >%s 2>&1",
                      s.port, g_certs, g_certs, g_certs, out);
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    uint8_t info[PORTAL_TLS_INFO_SIZE];
    CHECK_EQ_INT(portal_tls_session_info(&s.app, session, info, sizeof info), 328);
    CHECK_EQ_INT(get_le32(info + 4) & 2, 2);
    CHECK(strstr((char *)info + 72, "CN=portal-test-client") != NULL);
    printf("  client subject: %s\n", (char *)info + 72);
    char line[64];
    CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 7);
    CHECK(send_all(&s, session, line, strlen(line)));
    portal_tls_close(&s.app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(file_contains(out, "mutual"));

    /* No client certificate: refused, logged, nothing handed out. */
    int warnings = g_log_warnings, status;
    pid = spawn("printf 'x\\n' | " SCLIENT "-quiet >%s 2>&1", s.port, g_certs, out);
    CHECK_EQ_INT(accept_until_exit(&s, cfg, pid, &status), 0);
    CHECK(status != 0);
    CHECK(g_log_warnings > warnings);
    CHECK(strstr(g_log_last, "TLS handshake with 127.0.0.1:") != NULL);
    printf("  no client cert -> %s\n", g_log_last);
    CHECK_EQ_INT(pending_count(&s), 0);

    /* A certificate from an untrusted CA: refused with the verification reason. */
    warnings = g_log_warnings;
    pid = spawn("printf 'x\\n' | " SCLIENT "-quiet -cert %s/client-untrusted.pem "
                "-key %s/client-untrusted.key >%s 2>&1",
                s.port, g_certs, g_certs, g_certs, out);
    CHECK_EQ_INT(accept_until_exit(&s, cfg, pid, &status), 0);
    CHECK(status != 0);
    CHECK(g_log_warnings > warnings);
    CHECK(strstr(g_log_last, "client certificate rejected") != NULL);
    printf("  untrusted client cert -> %s\n", g_log_last);
    CHECK_EQ_INT(pending_count(&s), 0);

    /* Resumed mutual-TLS session: still reported as verified, with the subject. */
    for (int round = 0; round < 2; round++) {
        pid = spawn("sleep %s | " SCLIENT "-cert %s/client.pem -key %s/client.key %s %s/msess.pem "
                    ">%s 2>&1",
                    ticket_wait_s(), s.port, g_certs, g_certs, g_certs,
                    round ? "-sess_in" : "-sess_out", g_tmp, out);
        session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
        CHECK(session > 0);
        CHECK_EQ_INT(portal_tls_session_info(&s.app, session, info, sizeof info), 328);
        CHECK_EQ_INT(get_le32(info + 4), round ? 3 : 2);
        /* mbedTLS 3's TLS 1.3 tickets do not carry the client certificate (documented). */
        if (!round || get_le32(info) == 0x0303)
            CHECK(strstr((char *)info + 72, "CN=portal-test-client") != NULL);
        portal_tls_close(&s.app, session);
        CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    }
    CHECK(file_contains(out, "Reused, TLSv1."));

    /* And the server keeps serving. */
    pid = spawn("printf 'again\\n' | " SCLIENT "-quiet -cert %s/client.pem -key %s/client.key "
                ">%s 2>&1",
                s.port, g_certs, g_certs, g_certs, out);
    session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 6);
    CHECK(send_all(&s, session, line, strlen(line)));
    portal_tls_close(&s.app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(file_contains(out, "again"));
    server_stop(&s);
}

/* One s_client connection that saves or reuses a session; returns the server's info flags. */
static int32_t resumption_round(server *s, int32_t cfg, const char *sess_opt, const char *out)
{
    /* stdin stays open a while (ticket_wait_s): a TLS 1.3 ticket arrives after the handshake,
     * and s_client closes at stdin EOF. */
    pid_t pid = spawn("sleep %s | " SCLIENT "%s %s/sess.pem >%s 2>&1", ticket_wait_s(), s->port,
                      g_certs, sess_opt, g_tmp, out);
    int32_t session = portal_tls_accept(&s->app, cfg, s->listener, NULL, 0, 10000);
    CHECK(session > 0);
    uint8_t info[PORTAL_TLS_INFO_SIZE];
    int32_t flags = -1;
    if (portal_tls_session_info(&s->app, session, info, sizeof info) == 328)
        flags = get_le32(info + 4);
    uint8_t byte;
    CHECK_EQ_INT(portal_tls_recv(&s->app, session, &byte, 1, 5000), 0); /* close_notify */
    CHECK_EQ_INT(portal_tls_recv(&s->app, session, &byte, 1, 0), 0);    /* and stays 0 */
    portal_tls_close(&s->app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    return flags;
}

static void test_resumption(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    char out1[PATH_MAX + 32], out2[PATH_MAX + 32];
    snprintf(out1, sizeof out1, "%s/resume1.out", g_tmp);
    snprintf(out2, sizeof out2, "%s/resume2.out", g_tmp);
    CHECK_EQ_INT(resumption_round(&s, cfg, "-sess_out", out1), 0);
    CHECK(file_contains(out1, "New, TLSv1."));
    CHECK_EQ_INT(resumption_round(&s, cfg, "-sess_in", out2), 1);
    CHECK(file_contains(out2, "Reused, TLSv1."));

    /* A ticket from one config does not resume on another (per-config ticket keys). */
    int32_t other = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    CHECK_EQ_INT(resumption_round(&s, other, "-sess_in", out2), 0);
    CHECK(file_contains(out2, "New, TLSv1."));

    /* Flag bit 1: no tickets, so no resumption. */
    int32_t no_tickets = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 2);
    CHECK(no_tickets > 0);
    CHECK_EQ_INT(resumption_round(&s, no_tickets, "-sess_out", out1), 0);
    CHECK_EQ_INT(resumption_round(&s, no_tickets, "-sess_in", out2), 0);
    CHECK(file_contains(out2, "New, TLSv1."));
    server_stop(&s);
}

/* A client that sends nothing and one that dribbles a byte at a time do not delay a real one. */
static void test_stalled_clients(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int silent = raw_connect(s.port);
    int dribbler = raw_connect(s.port);
    CHECK(silent >= 0 && dribbler >= 0);
    static const uint8_t hello_start[] = {0x16, 0x03, 0x01, 0x00, 0x80, 0x01, 0x00, 0x00, 0x7c};
    size_t dribbled = 0;
    CHECK_EQ_INT(send(dribbler, hello_start, 1, 0), 1);
    dribbled = 1;
    for (int i = 0; i < 20 && pending_count(&s) < 2; i++)
        portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10);
    CHECK_EQ_INT(pending_count(&s), 2);

    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/stalled.out", g_tmp);
    int64_t t0 = now_ms();
    pid_t pid = spawn("printf 'through\\n' | " SCLIENT "-quiet >%s 2>&1", s.port, g_certs, out);
    int32_t session = -3;
    int64_t next_byte = now_ms() + 200;
    while (session < 0 && now_ms() - t0 < 10000) {
        session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 50);
        if (now_ms() >= next_byte && dribbled < sizeof hello_start) {
            send(dribbler, hello_start + dribbled++, 1, 0);
            next_byte += 200;
        }
    }
    int64_t elapsed = now_ms() - t0;
    CHECK(session > 0);
    CHECK(elapsed < 3000);
    printf("  third client served in %lld ms (process start included) with a silent and a "
           "dribbling client pending\n",
           (long long)elapsed);
    char line[64];
    CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 8);
    CHECK(send_all(&s, session, line, strlen(line)));
    portal_tls_close(&s.app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(file_contains(out, "through"));
    CHECK_EQ_INT(pending_count(&s), 2);
    close(silent);
    close(dribbler);
    server_stop(&s);
}

static void test_garbage_and_reset(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int warnings = g_log_warnings;
    int raw = raw_connect(s.port);
    static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    CHECK_EQ_INT(send(raw, http, sizeof http - 1, 0), (long)(sizeof http - 1));
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 300), -3);
    CHECK_EQ_INT(pending_count(&s), 0);
    CHECK(g_log_warnings > warnings);
    printf("  garbage -> %s\n", g_log_last);
    CHECK(raw_sees_close(raw, 2000));
    close(raw);

    /* A client that resets mid-handshake is cleaned up. */
    raw = raw_connect(s.port);
    static const uint8_t partial[] = {0x16, 0x03, 0x01, 0x00, 0x80, 0x01};
    send(raw, partial, sizeof partial, 0);
    portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 100);
    CHECK_EQ_INT(pending_count(&s), 1);
    raw_reset(raw);
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 300), -3);
    CHECK_EQ_INT(pending_count(&s), 0);

    /* A client killed mid-transfer while it has unread data: its kernel answers with a reset. */
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char port[16];
        snprintf(port, sizeof port, "127.0.0.1:%u", s.port);
        dup2(pipefd[1], 1);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 2);
        close(pipefd[0]);
        close(pipefd[1]);
        execlp("openssl", "openssl", "s_client", "-connect", port, "-quiet", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]); /* never read: the client stalls on its stdout */
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    static uint8_t block[16384];
    int32_t rc = 0;
    for (int i = 0; i < 4000; i++) {
        rc = portal_tls_send(&s.app, session, block, sizeof block, 0);
        if (rc < 0)
            break;
    }
    CHECK_EQ_INT(rc, -3); /* would block: the client stopped reading */
    CHECK(last_error_has(&s.app, "tlsSend: would block"));
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(pipefd[0]);
    int64_t end = now_ms() + 5000;
    do {
        rc = portal_tls_send(&s.app, session, block, sizeof block, 200);
    } while (rc != -1 && now_ms() < end && !strstr(s.app.last_error_msg, "closed"));
    CHECK(last_error_has(&s.app, "tlsSend: connection closed"));
    CHECK_EQ_INT(portal_tls_send(&s.app, session, block, 1, 0), -3);
    int32_t r = portal_tls_recv(&s.app, session, block, 1, 0);
    CHECK(r == -3 || r == 0);
    CHECK_EQ_INT(portal_tls_close(&s.app, session), 0);
    server_stop(&s);
}

/* The host event loop's hooks alone finish a handshake that tlsAccept(timeout 0) started; pending
 * handshakes belong to the (config, listener) pair they were accepted for. */
static void test_event_loop_hooks(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int32_t other = make_config(&s, "server-rsa.pem", "server-rsa.key", NULL, 0);
    CHECK_EQ_INT(portal_tls_next_deadline_ms(&s.app), -1);
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/hooks.out", g_tmp);
    pid_t pid = spawn("printf 'loop\\n' | " SCLIENT "-quiet >%s 2>&1", s.port, g_certs, out);
    /* Only the TCP accept is done here (tlsAccept(timeout 0) would also start the handshake,
     * and with a fast client might even finish it); everything after it is the hooks' work. */
    tls_config *config = portal_handles_get(&s.app.handles, cfg, PORTAL_HANDLE_TLS_CONFIG);
    portal_socket *listener = portal_socket_lookup(&s.app, s.listener, "test");
    int64_t end = now_ms() + 10000;
    while (pending_count(&s) == 0 && now_ms() < end) {
        CHECK_EQ_INT(portal_tls_engine_accept_new(&s.app, listener->fd, config, cfg, s.listener),
                     0);
        sleep_ms(2);
    }
    CHECK_EQ_INT(pending_count(&s), 1);
    int deadline = portal_tls_next_deadline_ms(&s.app);
    CHECK(deadline > 0 && deadline <= 10000);
    int loops = 0;
    while (s.app.tls->pending[0]->state == TLS_CONN_HANDSHAKING && now_ms() < end) {
        portal_wait_entry fds[16];
        int n = portal_tls_poll_fill(&s.app, fds, 16);
        CHECK(n == 1);
        int timeout = portal_tls_next_deadline_ms(&s.app);
        portal_platform_wait_many(fds, n, timeout < 0 || timeout > 100 ? 100 : timeout);
        portal_tls_poll_service(&s.app);
        loops++;
    }
    CHECK(s.app.tls->pending[0]->state == TLS_CONN_READY);
    printf("  handshake finished by the event-loop hooks alone (%d wakeups)\n", loops);
    portal_wait_entry fds[4];
    CHECK_EQ_INT(portal_tls_poll_fill(&s.app, fds, 4), 0); /* finished: nothing to watch */
    /* Another config on the same listener does not get it. */
    CHECK_EQ_INT(portal_tls_accept(&s.app, other, s.listener, NULL, 0, 0), -3);
    int64_t t0 = now_ms();
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 0);
    CHECK(session > 0);
    CHECK(now_ms() - t0 < 50);
    char line[32];
    CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 5);
    CHECK(send_all(&s, session, line, strlen(line)));
    portal_tls_close(&s.app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(file_contains(out, "loop"));
    server_stop(&s);
}

static void test_limits(void)
{
    /* Session limit: checked before any work; the client waits in the backlog. */
    portal_limits limits;
    portal_limits_default(&limits);
    limits.max_tls_sessions = 1;
    server s;
    CHECK(server_start(&s, &limits));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    pid_t pid = spawn("sleep 1 | " SCLIENT "-quiet >/dev/null 2>&1", s.port, g_certs);
    int32_t first = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(first > 0);
    int raw = raw_connect(s.port);
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 200), -2);
    CHECK(last_error_has(&s.app, "tlsAccept: too many sessions (limit 1)"));
    CHECK_EQ_INT(pending_count(&s), 0);
    portal_tls_close(&s.app, first);
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 100), -3);
    CHECK_EQ_INT(pending_count(&s), 1);
    close(raw);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    server_stop(&s);

    /* Pending queue of 2 held by stalled clients (each from its own address, so within its share
     * of the queue): once they have stalled long enough, they make room. */
    portal_limits_default(&limits);
    limits.max_pending_handshakes = 2;
    CHECK(server_start(&s, &limits));
    cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int stalled[3] = {raw_connect_from(s.port, "127.0.0.2"), raw_connect_from(s.port, "127.0.0.3"),
                      -1};
    portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 50);
    CHECK_EQ_INT(pending_count(&s), 2);
    stalled[2] = raw_connect_from(s.port, "127.0.0.4");
    portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 50);
    CHECK_EQ_INT(pending_count(&s), 2); /* the third waits in the backlog */
    sleep_ms(PORTAL_TLS_STALL_MS + 100);
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/evict.out", g_tmp);
    int64_t t0 = now_ms();
    pid = spawn("printf 'room\\n' | " SCLIENT "-quiet >%s 2>&1", s.port, g_certs, out);
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    printf("  queue of 2 full of stalled clients: new client served in %lld ms\n",
           (long long)(now_ms() - t0));
    char line[32];
    CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 5);
    CHECK(send_all(&s, session, line, strlen(line)));
    portal_tls_close(&s.app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(raw_sees_close(stalled[0], 1000));
    for (int i = 0; i < 3; i++)
        close(stalled[i]);
    server_stop(&s);

    /* Handshake deadline: an unfinished handshake is dropped by the event loop. */
    portal_limits_default(&limits);
    limits.handshake_deadline_ms = 300;
    CHECK(server_start(&s, &limits));
    cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    raw = raw_connect(s.port);
    portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 50);
    CHECK_EQ_INT(pending_count(&s), 1);
    int left = portal_tls_next_deadline_ms(&s.app);
    CHECK(left >= 0 && left <= 300);
    sleep_ms(left + 20);
    portal_tls_poll_service(&s.app);
    CHECK_EQ_INT(pending_count(&s), 0);
    CHECK(strstr(g_log_last, "not finished within 300 ms") != NULL);
    CHECK(raw_sees_close(raw, 1000));
    close(raw);
    server_stop(&s);
}

/* Admission (docs/spec-socket-tls.md, tlsAccept step 4): a handshake starts only while it can
 * become a session; and with the queue full, a client from another address takes a handshake of
 * the address holding more than its share at once. Raw clients that never finish a ClientHello,
 * so nothing here waits for a handshake. */
static void test_admission(void)
{
    portal_limits limits;
    portal_limits_default(&limits);
    limits.max_tls_sessions = 2;
    server s;
    CHECK(server_start(&s, &limits));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int raw[3] = {raw_connect(s.port), raw_connect(s.port), raw_connect(s.port)};
    for (int i = 0; i < 5; i++)
        portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 20);
    CHECK_EQ_INT(pending_count(&s), 2); /* the third could not become a session: backlog */
    int wake;
    CHECK(!portal_tls_engine_accepting(&s.app, &wake)); /* and sockPoll does not report it */
    for (int i = 0; i < 3; i++)
        close(raw[i]);
    server_stop(&s);

    /* A queue of 4 (share 2) held by 127.0.0.2 with connections that sent one byte. */
    portal_limits_default(&limits);
    limits.max_pending_handshakes = 4;
    CHECK(server_start(&s, &limits));
    cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int hog[4];
    for (int i = 0; i < 4; i++) {
        hog[i] = raw_connect_from(s.port, "127.0.0.2");
        CHECK(hog[i] >= 0 && send(hog[i], "\x16", 1, 0) == 1);
    }
    for (int i = 0; i < 10 && pending_count(&s) < 4; i++)
        portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 20);
    CHECK_EQ_INT(pending_count(&s), 4);
    int other = raw_connect_from(s.port, "127.0.0.3");
    CHECK(other >= 0);
    /* One call, no waiting: it is taken at once, not after a stall or eviction time. */
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 0), -3);
    CHECK_EQ_INT(pending_count(&s), 4);
    bool taken = false;
    for (int i = 0; i < pending_count(&s); i++)
        taken |= s.app.tls->pending[i]->peer.ip[3] == 3;
    CHECK(taken);
    int closed = 0;
    for (int i = 0; i < 4; i++)
        closed += raw_sees_close(hog[i], 200);
    CHECK_EQ_INT(closed, 1);
    if (taken && closed == 1)
        printf(
            "  a client from 127.0.0.3 took one of 127.0.0.2's 4 handshakes in a full queue of 4 "
            "at once\n");
    for (int i = 0; i < 4; i++)
        close(hog[i]);
    close(other);
    server_stop(&s);
}

static uint8_t pattern_byte(size_t offset)
{
    return (uint8_t)(offset * 7u + (offset >> 11));
}

/* 24 MiB to a client that stops reading: tlsSend hits would-block with a record queued, and every
 * byte arrives exactly once, in order. */
static void test_backpressure(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char port[16];
        snprintf(port, sizeof port, "127.0.0.1:%u", s.port);
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 2);
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        close(pipefd[1]);
        execlp("timeout", "timeout", "60", "openssl", "s_client", "-connect", port, "-quiet",
               (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    tls_conn *conn = portal_handles_get(&s.app.handles, session, PORTAL_HANDLE_TLS_SESSION);

    const size_t total = 24u << 20;
    static uint8_t chunk[65536], in[65536];
    size_t sent = 0, received = 0, mismatches = 0;
    int would_block = 0, partial = 0, hooks_flush_entries = 0;
    bool held_seen = false, reading = false, eof = false;
    int64_t t0 = now_ms(), end = t0 + 60000;
    while ((received < total || !eof) && now_ms() < end) {
        bool progress = false;
        if (sent < total) {
            size_t len = total - sent < sizeof chunk ? total - sent : sizeof chunk;
            for (size_t i = 0; i < len; i++)
                chunk[i] = pattern_byte(sent + i);
            int32_t n = portal_tls_send(&s.app, session, chunk, (uint32_t)len, 0);
            if (n > 0) {
                if ((size_t)n < len)
                    partial++;
                sent += (size_t)n;
                progress = true;
            } else if (n == -3) {
                would_block++;
                reading = true; /* start reading only once the pipes are full */
                /* The queued record is also the event loop's business: it watches the socket
                 * and flushes it while the app sleeps. */
                portal_wait_entry hook_fds[8];
                int entries = portal_tls_poll_fill(&s.app, hook_fds, 8);
                if (entries == 1 && hook_fds[0].fd == conn->fd &&
                    (hook_fds[0].events & PORTAL_WAIT_WRITE))
                    hooks_flush_entries++;
                portal_tls_poll_service(&s.app);
            } else {
                fprintf(stderr, "  tlsSend: %d %s\n", n, s.app.last_error_msg);
                break;
            }
            if (conn->held)
                held_seen = true;
        } else if (conn->held) {
            portal_tls_send(&s.app, session, chunk, 0, 0); /* len 0: flush the queued record */
        } else if (received >= total && !eof) {
            portal_tls_close(&s.app, session);
            session = 0;
            conn = NULL;
            eof = true;
            break;
        }
        if (reading || sent >= total) {
            ssize_t r = read(pipefd[0], in, sizeof in);
            if (r > 0) {
                for (ssize_t i = 0; i < r; i++)
                    if (in[i] != pattern_byte(received + (size_t)i))
                        mismatches++;
                received += (size_t)r;
                progress = true;
            }
        }
        if (!progress) {
            struct pollfd p = {pipefd[0], POLLIN, 0};
            poll(&p, 1, 2);
        }
        if (conn && conn->held)
            held_seen = true;
    }
    int64_t elapsed = now_ms() - t0;
    if (session > 0)
        portal_tls_close(&s.app, session);
    /* Nothing more may arrive: no duplicates. */
    struct pollfd p = {pipefd[0], POLLIN, 0};
    size_t extra = 0;
    while (poll(&p, 1, 3000) > 0) {
        ssize_t r = read(pipefd[0], in, sizeof in);
        if (r <= 0)
            break;
        extra += (size_t)r;
    }
    close(pipefd[0]);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK_EQ_INT(sent, total);
    CHECK_EQ_INT(received, total);
    CHECK_EQ_INT(extra, 0);
    CHECK_EQ_INT(mismatches, 0);
    CHECK(would_block > 0);
    CHECK(held_seen);
    CHECK(hooks_flush_entries > 0);
    printf("  24 MiB through a stalling reader in %lld ms: %d would-blocks, %d partial sends, "
           "a queued record seen: %s, bytes exact: %s\n",
           (long long)elapsed, would_block, partial, held_seen ? "yes" : "no",
           mismatches == 0 && received == total && extra == 0 ? "yes" : "no");
    server_stop(&s);
}

/* Configs are reference counted: freeing one keeps its sessions working. */
static void test_config_free_keeps_sessions(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/keep.out", g_tmp);
    pid_t pid = spawn("(sleep 0.3; printf 'still here\\n') | " SCLIENT "-quiet >%s 2>&1", s.port,
                      g_certs, out);
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    int raw = raw_connect(s.port);
    portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 50);
    CHECK_EQ_INT(pending_count(&s), 1);
    CHECK_EQ_INT(portal_tls_server_config_free(&s.app, cfg), 0);
    CHECK_EQ_INT(pending_count(&s), 0); /* nobody could pick it up any more */
    CHECK_EQ_INT((int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_CONFIG), 0);
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 0), -1);
    char line[32];
    CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 11);
    CHECK(send_all(&s, session, line, strlen(line)));
    portal_tls_close(&s.app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(file_contains(out, "still here"));
    CHECK(raw_sees_close(raw, 1000));
    close(raw);
    server_stop(&s);
}

static void test_ipv6(void)
{
    server s;
    if (!server_start_family(&s, NULL, 6)) {
        printf("  IPv6 loopback not available here: skipped\n");
        portal_app_teardown(&s.app);
        return;
    }
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/v6.out", g_tmp);
    pid_t pid = spawn("printf 'six\\n' | timeout 10 openssl s_client -connect '[::1]:%u' "
                      "-CAfile %s/ca.pem -quiet >%s 2>&1",
                      s.port, g_certs, out);
    uint8_t addr[PORTAL_SOCKADDR6_SIZE];
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, addr, sizeof addr, 10000);
    CHECK(session > 0);
    CHECK_EQ_INT(get_le32(addr), 10);
    CHECK(addr[8 + 15] == 1);
    char line[32];
    CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 4);
    CHECK(send_all(&s, session, line, strlen(line)));
    portal_tls_close(&s.app, session);
    CHECK_EQ_INT(testlib_reap(pid, 10000), 0);
    CHECK(file_contains(out, "six"));
    server_stop(&s);
}

static void test_teardown(void)
{
    int fds_before = portal_platform_open_fd_count();
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    CHECK(make_config(&s, "server-rsa.pem", "server-rsa.key", NULL, 0) > 0);
    pid_t pid = spawn("sleep 2 | " SCLIENT "-quiet >/dev/null 2>&1", s.port, g_certs);
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    int raw = raw_connect(s.port);
    portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 50);
    CHECK_EQ_INT(pending_count(&s), 1);
    uint8_t big[40000];
    memset(big, 'x', sizeof big);
    CHECK(portal_tls_send(&s.app, session, big, sizeof big, 1000) > 0);
    portal_app_teardown(&s.app);
    CHECK(s.app.tls == NULL);
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_before + 1); /* + the test's raw client */
    CHECK(raw_sees_close(raw, 1000));
    close(raw);
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_before);
    CHECK(testlib_reap(pid, 10000) >= 0);
    portal_app_teardown(&s.app); /* twice is fine */
}

/* 200 sequential connections, then teardown: descriptors (and heap) back where they started. */
static void test_many_connections(void)
{
    enum { CONNECTIONS = 200 };
    int fds_before = portal_platform_open_fd_count();
    struct mallinfo2 heap_before = mallinfo2();
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    int ok = 0;
    int64_t t0 = now_ms();
    for (int i = 0; i < CONNECTIONS; i++) {
        pid_t pid = spawn(SCLIENT "-quiet </dev/null >/dev/null 2>&1", s.port, g_certs);
        int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
        bool good = session > 0 && send_all(&s, session, "bye\n", 4);
        portal_tls_close(&s.app, session);
        if (testlib_reap(pid, 10000) == 0 && good)
            ok++;
    }
    int64_t elapsed = now_ms() - t0;
    CHECK_EQ_INT(ok, CONNECTIONS);
    CHECK_EQ_INT((int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_SESSION), 0);
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_before + 1); /* the listener */
    server_stop(&s);
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_before);
    struct mallinfo2 heap_after = mallinfo2();
    long long heap_delta = (long long)heap_after.uordblks - (long long)heap_before.uordblks;
    CHECK(heap_delta < 16384);
    printf("  %d sequential connections in %lld ms (%.1f ms each incl. process start); fds %d -> "
           "%d; heap in use delta %lld bytes\n",
           CONNECTIONS, (long long)elapsed, (double)elapsed / CONNECTIONS, fds_before,
           portal_platform_open_fd_count(), heap_delta);
}

/* ---- setup ---- */

/* ---- sockPoll (extension) with TLS ---- */

static void put_entry(uint8_t *e, int32_t handle, uint16_t events)
{
    memset(e, 0, 8);
    e[0] = (uint8_t)handle;
    e[1] = (uint8_t)(handle >> 8);
    e[2] = (uint8_t)(handle >> 16);
    e[3] = (uint8_t)(handle >> 24);
    e[4] = (uint8_t)events;
}

static uint16_t entry_revents(const uint8_t *e)
{
    return (uint16_t)(e[6] | e[7] << 8);
}

/* A listener used with tlsAccept turns readable only when a handshake has finished (sockPoll
 * drives it), and then tlsAccept(0) hands the session out at once. */
static void test_poll_listener_pending_handshake(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    CHECK(cfg > 0);
    /* Mark the listener as a TLS listener: nothing is waiting yet. */
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 0), -3);
    int fd = raw_connect(s.port); /* a TCP client that never starts its handshake */
    CHECK(fd >= 0);
    uint8_t e[8];
    put_entry(e, s.listener, 1);
    /* tlsAccept takes the silent client into the handshake queue... */
    sleep_ms(50);
    CHECK_EQ_INT(portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 0), -3);
    CHECK_EQ_INT(pending_count(&s), 1);
    /* ...and sockPoll must not call the listener readable for an unfinished handshake. */
    int64_t t0 = now_ms();
    CHECK_EQ_INT(portal_sock_poll(&s.app, e, 8, 300), 0);
    CHECK(now_ms() - t0 >= 290);
    CHECK_EQ_INT(entry_revents(e), 0);
    /* A real client: sockPoll wakes when its handshake (driven inside sockPoll) is finished.
     * On a slow or loaded host the client's last flight can arrive while tlsAccept(timeout 0),
     * which takes the connection in, is still stepping the handshake, which then finishes inside
     * it (TLS 1.3 makes that likelier: the server derives its application keys right after its
     * own Finished). That run proves nothing about sockPoll, so another client tries, up to 5. */
    bool woke = false;
    for (int attempt = 1; attempt <= 5 && !woke; attempt++) {
        char out[PATH_MAX + 32];
        snprintf(out, sizeof out, "%s/poll.out", g_tmp);
        pid_t pid = spawn("(printf 'polled\n'; sleep 1) | " SCLIENT "-quiet >%s 2>%s.err", s.port,
                          g_certs, out, out);
        int32_t ready = 0, session = 0;
        for (int i = 0; i < 20 && ready == 0 && session == 0; i++) {
            /* the first wake may be the new TCP connection itself: take it into the queue */
            ready = portal_sock_poll(&s.app, e, 8, 5000);
            if (ready > 0 && pending_count(&s) < 2) {
                int32_t r = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 0);
                if (r > 0) {
                    printf("  attempt %d: the handshake finished inside tlsAccept(timeout 0) (slow "
                           "host, fast client); sockPoll's wake not seen this time\n", attempt);
                    session = r;
                    break;
                }
                CHECK_EQ_INT(r, -3);
                ready = 0;
            }
        }
        if (session == 0) {
            CHECK_EQ_INT(ready, 1);
            CHECK_EQ_INT(entry_revents(e), 1);
            session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 0);
            woke = session > 0;
        }
        CHECK(session > 0);
        char line[64];
        CHECK_EQ_INT(recv_line(&s, session, line, sizeof line, 5000), 7);
        portal_tls_close(&s.app, session);
        testlib_reap(pid, 10000);
    }
    /* Under valgrind every attempt may go that way; elsewhere one of five must show the wake. */
    if (!woke && getenv("PORTAL_VALGRIND") && strcmp(getenv("PORTAL_VALGRIND"), "1") == 0)
        printf("  valgrind: sockPoll's wake for a finished handshake not seen in 5 attempts\n");
    else
        CHECK(woke);
    close(fd);
    server_stop(&s);
}

/* A TLS session whose socket is drained is still readable while mbedTLS holds decrypted bytes. */
static void test_poll_buffered_plaintext(void)
{
    server s;
    CHECK(server_start(&s, NULL));
    int32_t cfg = make_config(&s, "server-ec.pem", "server-ec.key", NULL, 0);
    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/buffered.out", g_tmp);
    pid_t pid = spawn("(printf 'abcdef\n'; sleep 2) | " SCLIENT "-quiet >%s 2>%s.err", s.port,
                      g_certs, out, out);
    int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 10000);
    CHECK(session > 0);
    uint8_t e[8];
    put_entry(e, session, 1);
    CHECK_EQ_INT(portal_sock_poll(&s.app, e, 8, 5000), 1); /* the record arrives */
    char c;
    CHECK_EQ_INT(portal_tls_recv(&s.app, session, (uint8_t *)&c, 1, 0), 1);
    CHECK(c == 'a');
    /* The whole record was read off the socket and decrypted: 6 bytes wait inside mbedTLS. */
    put_entry(e, session, 1);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(portal_sock_poll(&s.app, e, 8, 1000), 1);
    CHECK(now_ms() - t0 < 100);
    CHECK_EQ_INT(entry_revents(e), 1);
    char rest[16];
    CHECK_EQ_INT(portal_tls_recv(&s.app, session, (uint8_t *)rest, sizeof rest, 0), 6);
    /* Now nothing is buffered and the client sends nothing more: a timeout. */
    put_entry(e, session, 1);
    CHECK_EQ_INT(portal_sock_poll(&s.app, e, 8, 200), 0);
    /* Bad handles and lengths. */
    put_entry(e, 999999, 1);
    CHECK_EQ_INT(portal_sock_poll(&s.app, e, 8, 0), 1);
    CHECK_EQ_INT(entry_revents(e), 16);
    CHECK_EQ_INT(portal_sock_poll(&s.app, e, 7, 0), -1);
    CHECK(last_error_has(&s.app, "multiple of 8"));
    portal_tls_close(&s.app, session);
    testlib_reap(pid, 10000);
    server_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!tls_test_begin("test_tls"))
        return 1;
    printf("certificates: %s\n", g_certs);
    static const named_test tests[] = {
        {"config checks", test_config_checks},
        {"bad arguments and timeouts", test_bad_arguments},
        {"echo (ECDSA, RSA)", test_echo},
        {"mutual TLS", test_mutual_tls},
        {"resumption", test_resumption},
        {"stalled clients", test_stalled_clients},
        {"garbage and resets", test_garbage_and_reset},
        {"event-loop hooks", test_event_loop_hooks},
        {"limits", test_limits},
        {"admission", test_admission},
        {"back-pressure", test_backpressure},
        {"config free keeps sessions", test_config_free_keeps_sessions},
        {"IPv6", test_ipv6},
        {"teardown", test_teardown},
        {"200 connections", test_many_connections},
        {"sockPoll: listener with pending handshake", test_poll_listener_pending_handshake},
        {"sockPoll: buffered plaintext", test_poll_buffered_plaintext},
    };
    run_named_tests(tests, sizeof tests / sizeof tests[0]);
    return tls_test_end();
}
