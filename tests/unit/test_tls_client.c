/* test_tls_client.c - unit tests of the TLS client extension of module `portal_socket_tls`
 * (tlsClientConfigCreate / tlsClientConfigFree / tlsConnect, tlsSessionInfo for client sessions)
 * and the platform's non-blocking name lookup. The host implementations are called directly. The
 * servers are real: the host's own server side (tlsServerConfigCreate + tlsAccept) running as a
 * second app in a thread, `openssl s_server` for ALPN, and raw loopback listeners that never
 * answer (stalls) or are not there (refused). Certificates: the build's (scripts/gen-certs.sh)
 * plus, made here at test time in a temporary directory, a wrong-host, an untrusted and an
 * expired server certificate. Every wait is bounded; only loopback is touched; name lookups are
 * "localhost" (/etc/hosts) and the reserved ".invalid" (fails without asking any DNS server). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static bool g_have_expired;

static void quiet_log(portal_app *app, portal_log_level level, const char *msg)
{
    (void)app;
    (void)level;
    if (getenv("TEST_TLS_VERBOSE"))
        fprintf(stderr, "  [log] %s\n", msg);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Extra server certificates, signed at test time: wrong host name (CA-signed, for wrong.example),
 * untrusted (signed by the untrusted CA, for localhost), expired (CA-signed, 2020-2021). */
static bool make_extra_certs(void)
{
    const char *d = g_tmp, *c = g_certs;
    int rc = run("cd '%s' && "
                 "printf 'subjectAltName=DNS:wrong.example\\nextendedKeyUsage=serverAuth\\n' > wrong.ext && "
                 "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > local.ext && "
                 "openssl ecparam -name prime256v1 -genkey -noout -out k.sec1 2>/dev/null && "
                 "openssl pkcs8 -topk8 -nocrypt -in k.sec1 -out server.key 2>/dev/null && "
                 "openssl req -new -key server.key -subj '/O=Paper Portal Dev/CN=wrong.example' -out w.csr 2>/dev/null && "
                 "openssl x509 -req -in w.csr -CA '%s/ca.pem' -CAkey '%s/ca.key' -CAcreateserial -CAserial ca.srl -days 30 -sha256 -extfile wrong.ext -out wrong.pem 2>/dev/null && "
                 "openssl req -new -key server.key -subj '/O=Paper Portal Dev/CN=localhost' -out l.csr 2>/dev/null && "
                 "openssl x509 -req -in l.csr -CA '%s/untrusted-ca.pem' -CAkey '%s/untrusted-ca.key' -CAcreateserial -CAserial u.srl -days 30 -sha256 -extfile local.ext -out untrusted.pem 2>/dev/null",
                 d, c, c, c, c);
    if (rc != 0)
        return false;
    /* Expired: `openssl ca` is the one that takes explicit dates. */
    rc = run("cd '%s' && : > index.txt && echo 01 > serial && "
             "printf '[ca]\\ndefault_ca=t\\n[t]\\ndatabase=index.txt\\nnew_certs_dir=.\\nserial=serial\\n"
             "default_md=sha256\\npolicy=p\\nunique_subject=no\\n[p]\\ncommonName=supplied\\norganizationName=optional\\n' > ca.cnf && "
             "openssl ca -batch -config ca.cnf -cert '%s/ca.pem' -keyfile '%s/ca.key' -in l.csr -out expired.pem "
             "-startdate 20200101000000Z -enddate 20210101000000Z -extfile local.ext -notext >/dev/null 2>&1",
             d, c, c);
    g_have_expired = rc == 0 &&
                     run("cd '%s' && openssl ca -batch -config ca.cnf -cert '%s/ca.pem' -keyfile "
                         "'%s/ca.key' -in l.csr -out future.pem -startdate 20900101000000Z "
                         "-enddate 20910101000000Z -extfile local.ext -notext >/dev/null 2>&1 && "
                         "openssl req -x509 -new -key server.key -subj '/CN=localhost' -days 30 "
                         "-addext subjectAltName=DNS:localhost -out selfsigned.pem 2>/dev/null",
                         d, c, c) == 0;
    if (!g_have_expired)
        fprintf(stderr, "  (openssl ca failed: the expired-certificate case is skipped)\n");
    return true;
}

/* ---- a server: a second app in a thread, accepting TLS sessions and echoing ---- */

typedef struct server {
    portal_app app;
    int32_t listener;
    int32_t config;
    uint16_t port;
    pthread_t thread;
    volatile int stop;
    volatile int served;       /* sessions accepted */
    volatile int last_flags;   /* tlsSessionInfo flags of the last session */
    char last_subject[256];
} server;

#define SERVER_MAX_SESSIONS 16

static void server_took(server *s, int32_t session)
{
    uint8_t info[PORTAL_TLS_INFO_SIZE];
    if (portal_tls_session_info(&s->app, session, info, sizeof info) > 0) {
        s->last_flags = info[4] | info[5] << 8;
        snprintf(s->last_subject, sizeof s->last_subject, "%s",
                 (const char *)info + PORTAL_TLS_INFO_OFF_SUBJECT);
    }
    s->served++;
}

/* An event-driven echo server: sockPoll over the listener and every session. */
static void *server_main(void *arg)
{
    server *s = arg;
    int32_t sessions[SERVER_MAX_SESSIONS];
    int count = 0;
    uint8_t buf[4096];
    while (!s->stop) {
        uint8_t entries[8 * (SERVER_MAX_SESSIONS + 1)];
        memset(entries, 0, sizeof entries);
        int32_t handles[SERVER_MAX_SESSIONS + 1];
        handles[0] = s->listener;
        for (int k = 0; k < count; k++)
            handles[k + 1] = sessions[k];
        for (int k = 0; k <= count; k++) {
            memcpy(entries + 8 * k, &handles[k], 4);
            entries[8 * k + 4] = 1;
        }
        if (portal_sock_poll(&s->app, entries, (uint32_t)(8 * (count + 1)), 50) < 0)
            continue;
        if (entries[6] && count < SERVER_MAX_SESSIONS) {
            int32_t session = portal_tls_accept(&s->app, s->config, s->listener, NULL, 0, 0);
            if (session > 0) {
                server_took(s, session);
                sessions[count++] = session;
            }
        }
        for (int k = 1; k <= count; k++) {
            if (!entries[8 * k + 6])
                continue;
            int32_t session = handles[k];
            int32_t n = portal_tls_recv(&s->app, session, buf, sizeof buf, 0);
            if (n > 0 && portal_tls_send(&s->app, session, buf, (uint32_t)n, 2000) == n)
                continue;
            if (n == PORTAL_ERR_NOT_READY && !strstr(s->app.last_error_msg, "closed"))
                continue;
            portal_tls_close(&s->app, session);
            for (int j = 0; j < count; j++)
                if (sessions[j] == session)
                    sessions[j] = sessions[--count];
        }
    }
    return NULL;
}

static bool server_start_family(server *s, int family, const char *cert, const char *key,
                                const char *client_ca, int32_t flags)
{
    memset(s, 0, sizeof *s);
    if (!portal_app_init(&s->app, NULL))
        return false;
    s->app.log_sink = quiet_log;
    s->listener = listen_loopback(&s->app, family, 64, &s->port);
    if (s->listener <= 0)
        return false;
    s->config = server_config_from_files(&s->app, cert, key, client_ca, flags);
    if (s->config <= 0) {
        fprintf(stderr, "server config: %s\n", s->app.last_error_msg);
        return false;
    }
    return pthread_create(&s->thread, NULL, server_main, s) == 0;
}

static bool server_start(server *s, const char *cert, const char *key, const char *client_ca,
                         int32_t flags)
{
    return server_start_family(s, 4, cert, key, client_ca, flags);
}

static void server_stop(server *s)
{
    s->stop = 1;
    pthread_join(s->thread, NULL);
    portal_app_teardown(&s->app);
}

/* ---- the client side ---- */

static portal_app g_app;

static void client_app_init(const portal_limits *limits)
{
    portal_app_init(&g_app, limits);
    g_app.log_sink = quiet_log;
}

static int32_t client_config(const char *ca, const char *cert, const char *key, const char *alpn,
                             int32_t flags)
{
    uint32_t ca_len = 0, cert_len = 0, key_len = 0;
    uint8_t *ca_pem = ca ? cert_file(ca, &ca_len) : NULL;
    uint8_t *cert_pem = cert ? cert_file(cert, &cert_len) : NULL;
    uint8_t *key_pem = key ? cert_file(key, &key_len) : NULL;
    static uint8_t empty[1];
    int32_t rc = portal_tls_client_config_create(
        &g_app, ca_pem ? ca_pem : empty, ca_len, cert_pem ? cert_pem : empty, cert_len,
        key_pem ? key_pem : empty, key_len, (uint8_t *)(alpn ? alpn : ""),
        alpn ? (uint32_t)strlen(alpn) : 0, flags);
    free(ca_pem);
    free(cert_pem);
    free(key_pem);
    return rc;
}

static int32_t connect_port(int32_t config, const char *host, uint16_t port, int32_t timeout_ms)
{
    return portal_tls_connect(&g_app, config, host, NULL, 0, port, timeout_ms);
}

/* One echo round trip on a client session. */
static bool echo_ok(int32_t session)
{
    static const char msg[] = "hello over TLS\n";
    if (portal_tls_send(&g_app, session, (uint8_t *)msg, sizeof msg - 1, 5000) != sizeof msg - 1)
        return false;
    char buf[64];
    size_t got = 0;
    int64_t until = now_ms() + 5000;
    while (got < sizeof msg - 1 && now_ms() < until) {
        int32_t n = portal_tls_recv(&g_app, session, (uint8_t *)buf + got, sizeof buf - got, 1000);
        if (n > 0)
            got += (size_t)n;
        else if (n != PORTAL_ERR_NOT_READY)
            break;
    }
    return got == sizeof msg - 1 && memcmp(buf, msg, got) == 0;
}

typedef struct info {
    int32_t rc;
    uint32_t version, flags;
    char cipher[64], subject[256], alpn[256];
} info;

static info session_info(int32_t session)
{
    uint8_t out[PORTAL_TLS_INFO_EX_SIZE + 8];
    info i;
    memset(&i, 0, sizeof i);
    i.rc = portal_tls_session_info(&g_app, session, out, sizeof out);
    if (i.rc > 0) {
        i.version = out[0] | out[1] << 8;
        i.flags = out[4] | (uint32_t)out[5] << 8;
        memcpy(i.cipher, out + 8, 64);
        memcpy(i.subject, out + 72, 256);
        memcpy(i.alpn, out + 328, 256);
        i.cipher[63] = i.subject[255] = i.alpn[255] = 0;
    }
    return i;
}

/* A loopback port with nothing listening (connect is refused). */
static uint16_t closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    bind(fd, (struct sockaddr *)&sin, sizeof sin);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    close(fd);
    return ntohs(sin.sin_port);
}

/* A loopback listener that is never accepted from: TCP connects, TLS stalls. */
static int stalling_listener(uint16_t *port)
{
    *port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&sin, &len);
    *port = ntohs(sin.sin_port);
    return fd;
}

/* `openssl s_server` on a free loopback port with the build's certificate `cert`/`key` ("x/..."
 * for this test's own) and `extra` options; returns its pid once it accepts TCP. */
static pid_t openssl_server(const char *cert, const char *key, const char *extra, uint16_t *port)
{
    *port = closed_port();
    char cert_path[PATH_MAX + 64], key_path[PATH_MAX + 64];
    snprintf(cert_path, sizeof cert_path, "%s/%s", strncmp(cert, "x/", 2) ? g_certs : g_tmp,
             strncmp(cert, "x/", 2) ? cert : cert + 2);
    snprintf(key_path, sizeof key_path, "%s/%s", strncmp(key, "x/", 2) ? g_certs : g_tmp,
             strncmp(key, "x/", 2) ? key : key + 2);
    char cmd[8 * PATH_MAX];
    snprintf(cmd, sizeof cmd,
             "exec timeout 30 openssl s_server -accept 127.0.0.1:%u -cert '%s' -key '%s' %s "
             "-quiet >/dev/null 2>&1",
             (unsigned)*port, cert_path, key_path, extra);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int k = 0; k < 100; k++) { /* ready when it accepts TCP (at most 5 s) */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(*port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0;
        close(fd);
        if (ok)
            break;
        sleep_ms(50);
    }
    return pid;
}

static void openssl_server_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    testlib_reap(pid, 5000);
}

/* ---- tests ---- */

static void test_verified_connect(void)
{
    server s;
    CHECK(server_start(&s, "server-ec.pem", "server-ec.key", NULL, 0));
    client_app_init(NULL);
    int32_t cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    CHECK(cfg > 0);
    int64_t t0 = now_ms();
    int32_t session = connect_port(cfg, "localhost", s.port, 5000);
    int64_t took = now_ms() - t0;
    CHECK(session > 0);
    if (session <= 0)
        fprintf(stderr, "  connect: %s\n", g_app.last_error_msg);
    printf("  verified connect to localhost (resolve + TCP + handshake): %lld ms\n",
           (long long)took);
    CHECK(echo_ok(session));
    info i = session_info(session);
    CHECK_EQ_INT(i.rc, PORTAL_TLS_INFO_EX_SIZE);
    CHECK(i.version == 0x0303 || i.version == 0x0304);
    CHECK_EQ_INT(i.flags & (PORTAL_TLS_INFO_CLIENT_VERIFIED | PORTAL_TLS_INFO_CLIENT_SESSION |
                            PORTAL_TLS_INFO_UNVERIFIED | PORTAL_TLS_INFO_RESUMED),
                 PORTAL_TLS_INFO_CLIENT_VERIFIED | PORTAL_TLS_INFO_CLIENT_SESSION);
    CHECK(strstr(i.subject, "CN=localhost") != NULL);
    CHECK_STR(i.alpn, "");
    CHECK(i.cipher[0] != 0);
    /* the 328-byte form is unchanged */
    uint8_t small[PORTAL_TLS_INFO_SIZE];
    CHECK_EQ_INT(portal_tls_session_info(&g_app, session, small, sizeof small),
                 PORTAL_TLS_INFO_SIZE);
    CHECK_EQ_INT(portal_tls_close(&g_app, session), 0);

    /* an IP literal: verified against the certificate's IP SAN, by address */
    session = connect_port(cfg, "127.0.0.1", s.port, 5000);
    CHECK(session > 0);
    if (session <= 0)
        fprintf(stderr, "  connect 127.0.0.1: %s\n", g_app.last_error_msg);
    CHECK(echo_ok(session));
    portal_tls_close(&g_app, session);

    /* an address given: the 12-byte SocketAddr, port 0 */
    uint8_t addr[12] = {2, 0, 0, 0, (uint8_t)s.port, (uint8_t)(s.port >> 8), 127, 0, 0, 1, 0, 0};
    session = portal_tls_connect(&g_app, cfg, "localhost", addr, sizeof addr, 0, 5000);
    CHECK(session > 0);
    CHECK(echo_ok(session));
    portal_tls_close(&g_app, session);
    /* freeing the config keeps its sessions working */
    session = connect_port(cfg, "localhost", s.port, 5000);
    CHECK(session > 0);
    CHECK_EQ_INT(portal_tls_client_config_free(&g_app, cfg), 0);
    CHECK_EQ_INT(portal_tls_client_config_free(&g_app, cfg), PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(echo_ok(session));
    portal_tls_close(&g_app, session);
    portal_app_teardown(&g_app);
    server_stop(&s);

    /* IPv6: the literal ::1 (checked against the certificate's IP SAN ::1) and the 28-byte form */
    server s6;
    if (!server_start_family(&s6, 6, "server-ec.pem", "server-ec.key", NULL, 0)) {
        printf("  (no IPv6 loopback: skipped)\n");
        portal_app_teardown(&s6.app);
        return;
    }
    client_app_init(NULL);
    cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    session = connect_port(cfg, "::1", s6.port, 5000);
    CHECK(session > 0);
    if (session <= 0)
        fprintf(stderr, "  connect ::1: %s\n", g_app.last_error_msg);
    CHECK(echo_ok(session));
    portal_tls_close(&g_app, session);
    uint8_t addr6[28] = {10, 0, 0, 0, (uint8_t)s6.port, (uint8_t)(s6.port >> 8)};
    addr6[8 + 15] = 1;
    session = portal_tls_connect(&g_app, cfg, "localhost", addr6, sizeof addr6, 0, 5000);
    CHECK(session > 0);
    CHECK(echo_ok(session));
    portal_tls_close(&g_app, session);
    portal_app_teardown(&g_app);
    server_stop(&s6);
}


/* Connects with timeout 0 and drives it with sockPoll until OUT or ERR (bounded). Returns the
 * session handle; *revents gets the last revents. */
static int32_t connect_polled(int32_t cfg, const char *host, uint16_t port, int *revents)
{
    int32_t session = connect_port(cfg, host, port, 0);
    *revents = 0;
    if (session <= 0)
        return session;
    int64_t until = now_ms() + 15000;
    while (now_ms() < until) {
        uint8_t entry[8] = {(uint8_t)session, (uint8_t)(session >> 8), (uint8_t)(session >> 16),
                            (uint8_t)(session >> 24), 2, 0, 0, 0};
        int32_t n = portal_sock_poll(&g_app, entry, sizeof entry, 200);
        if (n < 0)
            break;
        *revents = entry[6] | entry[7] << 8;
        if (*revents)
            break;
    }
    return session;
}

/* The failure reason of a connect (timeout -1), or of a timeout-0 one from sockPoll + tlsRecv. */
static void expect_connect_failure(int32_t cfg, const char *host, uint16_t port,
                                   const char *reason)
{
    int32_t rc = connect_port(cfg, host, port, -1);
    CHECK_EQ_INT(rc, PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, reason));
    CHECK(strncmp(g_app.last_error_msg, "tlsConnect: ", 12) == 0);
    int revents = 0;
    int32_t session = connect_polled(cfg, host, port, &revents);
    CHECK(session > 0);
    CHECK_EQ_INT(revents & 4, 4); /* ERR */
    uint8_t buf[16];
    CHECK_EQ_INT(portal_tls_recv(&g_app, session, buf, sizeof buf, 0), PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "tlsRecv: connect failed: "));
    CHECK(last_error_has(&g_app, reason));
    info i = session_info(session);
    CHECK_EQ_INT(i.rc, PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "tlsSessionInfo: connect failed: "));
    CHECK_EQ_INT(portal_tls_close(&g_app, session), 0);
}

static void test_verify_failures(void)
{
    client_app_init(NULL);
    int32_t cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    CHECK(cfg > 0);
    server s;
    CHECK(server_start(&s, "x/wrong.pem", "x/server.key", NULL, 0));
    expect_connect_failure(cfg, "localhost", s.port,
                           "certificate for wrong.example is not valid for host localhost");
    server_stop(&s);

    CHECK(server_start(&s, "x/untrusted.pem", "x/server.key", NULL, 0));
    expect_connect_failure(cfg, "localhost", s.port,
                           "certificate of localhost is not trusted (issuer: O=Paper Portal Dev, "
                           "CN=Untrusted CA)");
    /* NO_VERIFY: the same server is accepted, and the info says it was not verified */
    int32_t loose = client_config(NULL, NULL, NULL, NULL, PORTAL_TLS_CLIENT_FLAG_NO_VERIFY);
    CHECK(loose > 0);
    int32_t session = connect_port(loose, "localhost", s.port, 5000);
    CHECK(session > 0);
    CHECK(echo_ok(session));
    info i = session_info(session);
    CHECK_EQ_INT(i.flags & (PORTAL_TLS_INFO_CLIENT_VERIFIED | PORTAL_TLS_INFO_UNVERIFIED |
                            PORTAL_TLS_INFO_CLIENT_SESSION),
                 PORTAL_TLS_INFO_UNVERIFIED | PORTAL_TLS_INFO_CLIENT_SESSION);
    CHECK(strstr(i.subject, "CN=localhost") != NULL); /* the subject even so */
    portal_tls_close(&g_app, session);
    portal_tls_client_config_free(&g_app, loose);
    server_stop(&s);

    if (g_have_expired) {
        CHECK(server_start(&s, "x/expired.pem", "x/server.key", NULL, 0));
        expect_connect_failure(cfg, "localhost", s.port, "certificate of localhost has expired");
        server_stop(&s);
        CHECK(server_start(&s, "x/future.pem", "x/server.key", NULL, 0));
        expect_connect_failure(cfg, "localhost", s.port,
                               "certificate of localhost is not yet valid");
        server_stop(&s);
        CHECK(server_start(&s, "x/selfsigned.pem", "x/server.key", NULL, 0));
        expect_connect_failure(cfg, "localhost", s.port,
                               "certificate of localhost is not trusted (issuer: CN=localhost)");
        server_stop(&s);
    }
    /* a client certificate (clientAuth only) as a server certificate: key usage (the host's own
     * server refuses to use it, openssl does not) */
    uint16_t port;
    pid_t pid = openssl_server("client.pem", "client.key", "", &port);
    /* its CN is the host name (no SAN), so key usage is the only problem; the address given */
    uint8_t addr[12] = {2, 0, 0, 0, (uint8_t)port, (uint8_t)(port >> 8), 127, 0, 0, 1, 0, 0};
    CHECK_EQ_INT(portal_tls_connect(&g_app, cfg, "portal-test-client", addr, 12, 0, -1),
                 PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "tlsConnect: certificate of portal-test-client is not allowed "
                                 "for TLS servers (key usage)"));
    openssl_server_stop(pid);
    /* an IP literal that is not in the certificate */
    CHECK(server_start(&s, "x/wrong.pem", "x/server.key", NULL, 0));
    expect_connect_failure(cfg, "127.0.0.1", s.port,
                           "certificate for wrong.example is not valid for host 127.0.0.1");
    server_stop(&s);
    portal_app_teardown(&g_app);
}

static void test_network_failures(void)
{
    client_app_init(NULL);
    int32_t cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    uint16_t port = closed_port();
    char reason[96];
    snprintf(reason, sizeof reason, "connect to 127.0.0.1:%u failed: Connection refused",
             (unsigned)port);
    expect_connect_failure(cfg, "127.0.0.1", port, reason);
    /* localhost resolves (from /etc/hosts) and each address is tried: refused as well */
    expect_connect_failure(cfg, "localhost", port, "failed: Connection refused");
    /* a reserved name fails without any DNS server */
    int64_t t0 = now_ms();
    expect_connect_failure(cfg, "nonexistent.invalid", 443,
                           "cannot resolve nonexistent.invalid: ");
    CHECK(now_ms() - t0 < 3000);

    /* a server that accepts TCP and never answers: tlsConnect's own timeout */
    uint16_t stall_port;
    int stall = stalling_listener(&stall_port);
    CHECK(stall >= 0);
    t0 = now_ms();
    CHECK_EQ_INT(connect_port(cfg, "localhost", stall_port, 300), PORTAL_ERR_NOT_READY);
    int64_t took = now_ms() - t0;
    CHECK(last_error_has(&g_app, "tlsConnect: timed out"));
    CHECK(took >= 290 && took < 3000);
    printf("  stalling server: -3 timed out after %lld ms (timeout 300)\n", (long long)took);
    CHECK_EQ_INT((int)portal_handles_count(&g_app.handles, PORTAL_HANDLE_TLS_SESSION), 0); /* the attempt was closed */

    /* a server that resets the connection mid-handshake */
    int revents = 0;
    uint16_t reset_port;
    int resetting = stalling_listener(&reset_port); /* fresh: nothing else in its backlog */
    int32_t session = connect_port(cfg, "127.0.0.1", reset_port, 0);
    CHECK(session > 0);
    struct pollfd pfd = {.fd = resetting, .events = POLLIN};
    CHECK(poll(&pfd, 1, 5000) == 1);
    int peer = accept(resetting, NULL, NULL);
    CHECK(peer >= 0);
    struct linger hard = {1, 0};
    setsockopt(peer, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    char hello[64];
    CHECK(poll(&(struct pollfd){.fd = peer, .events = POLLIN}, 1, 5000) == 1);
    CHECK(recv(peer, hello, sizeof hello, 0) > 0); /* the ClientHello arrived */
    close(peer); /* RST */
    close(resetting);
    int64_t until = now_ms() + 5000;
    while (now_ms() < until && revents == 0) {
        uint8_t entry[8] = {(uint8_t)session, (uint8_t)(session >> 8), 0, 0, 1, 0, 0, 0};
        portal_sock_poll(&g_app, entry, sizeof entry, 100);
        revents = entry[6];
    }
    CHECK_EQ_INT(revents, 4);
    CHECK_EQ_INT(session_info(session).rc, PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "server closed the connection during the handshake"));
    portal_tls_close(&g_app, session);
    portal_app_teardown(&g_app);

    /* ... and the host's handshake deadline for a timeout-0 connect */
    portal_limits limits;
    portal_limits_default(&limits);
    limits.handshake_deadline_ms = 400;
    client_app_init(&limits);
    cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    t0 = now_ms();
    session = connect_polled(cfg, "127.0.0.1", stall_port, &revents);
    took = now_ms() - t0;
    CHECK(session > 0);
    CHECK_EQ_INT(revents & 4, 4);
    CHECK(took >= 390 && took < 5000);
    uint8_t byte;
    CHECK_EQ_INT(portal_tls_send(&g_app, session, &byte, 1, 0), PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "tlsSend: connect failed: timed out"));
    portal_app_teardown(&g_app);
    close(stall);
}

static void test_timeout_zero(void)
{
    server s;
    CHECK(server_start(&s, "server-ec.pem", "server-ec.key", NULL, 0));
    client_app_init(NULL);
    int32_t cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    int64_t t0 = now_ms();
    int32_t session = connect_port(cfg, "localhost", s.port, 0);
    CHECK(now_ms() - t0 < 500); /* returns at once */
    CHECK(session > 0);
    uint8_t buf[8];
    CHECK_EQ_INT(portal_tls_send(&g_app, session, (uint8_t *)"x", 1, 0), PORTAL_ERR_NOT_READY);
    CHECK(last_error_has(&g_app, "tlsSend: would block"));
    CHECK_EQ_INT(portal_tls_recv(&g_app, session, buf, sizeof buf, 0), PORTAL_ERR_NOT_READY);
    info i = session_info(session);
    CHECK_EQ_INT(i.rc, PORTAL_ERR_NOT_READY);
    CHECK(last_error_has(&g_app, "tlsSessionInfo: handshake in progress"));
    /* sockPoll reports OUT once the handshake is done (the host drives it meanwhile) */
    int polls = 0, revents = 0;
    int64_t until = now_ms() + 10000;
    while (now_ms() < until) {
        uint8_t entry[8] = {(uint8_t)session, (uint8_t)(session >> 8), 0, 0, 2, 0, 0, 0};
        int32_t n = portal_sock_poll(&g_app, entry, sizeof entry, 100);
        polls++;
        revents = entry[6];
        if (n != 0)
            break;
    }
    CHECK_EQ_INT(revents, 2);
    printf("  timeout 0: OUT after %d sockPoll calls\n", polls);
    CHECK_EQ_INT(session_info(session).rc, PORTAL_TLS_INFO_EX_SIZE);
    CHECK(echo_ok(session));
    portal_tls_close(&g_app, session);

    /* tlsRecv with a timeout waits for the handshake first, within that timeout */
    session = connect_port(cfg, "127.0.0.1", s.port, 0);
    CHECK(session > 0);
    CHECK(echo_ok(session)); /* tlsSend(…, 5000) finishes the handshake, then sends */
    portal_tls_close(&g_app, session);

    /* several connects in flight at once, more than the resolver's workers */
    int32_t many[6];
    for (int k = 0; k < 6; k++)
        many[k] = connect_port(cfg, "localhost", s.port, 0);
    for (int k = 0; k < 6; k++) {
        CHECK(many[k] > 0);
        uint8_t entry[8] = {(uint8_t)many[k], (uint8_t)(many[k] >> 8), 0, 0, 2, 0, 0, 0};
        int64_t stop = now_ms() + 10000;
        while (now_ms() < stop && portal_sock_poll(&g_app, entry, sizeof entry, 100) == 0) {
        }
        CHECK_EQ_INT(entry[6], 2);
    }
    for (int k = 0; k < 6; k++) {
        /* the server thread serves one session at a time: echo in order */
        CHECK(echo_ok(many[k]));
        portal_tls_close(&g_app, many[k]);
    }
    portal_app_teardown(&g_app);
    server_stop(&s);
}

static void test_mutual_tls_and_resumption(void)
{
    server s;
    CHECK(server_start(&s, "server-rsa.pem", "server-rsa.key", "ca.pem",
                       PORTAL_TLS_FLAG_REQUIRE_CLIENT_CERT));
    client_app_init(NULL);
    int32_t cfg = client_config("ca.pem", "client.pem", "client.key", NULL, 0);
    CHECK(cfg > 0);
    int32_t session = connect_port(cfg, "localhost", s.port, 5000);
    CHECK(session > 0);
    CHECK(echo_ok(session));
    CHECK(strstr(s.last_subject, "CN=portal-test-client") != NULL);
    CHECK(s.last_flags & PORTAL_TLS_INFO_CLIENT_VERIFIED);
    info first = session_info(session);
    CHECK_EQ_INT(first.flags & PORTAL_TLS_INFO_RESUMED, 0);
    portal_tls_close(&g_app, session);
    /* a second connect to the same host:port resumes */
    int64_t t0 = now_ms();
    session = connect_port(cfg, "localhost", s.port, 5000);
    int64_t took = now_ms() - t0;
    CHECK(session > 0);
    CHECK(echo_ok(session));
    info second = session_info(session);
    CHECK_EQ_INT(second.flags & PORTAL_TLS_INFO_RESUMED, PORTAL_TLS_INFO_RESUMED);
    printf("  resumed connect: %lld ms (%s)\n", (long long)took, second.cipher);
    portal_tls_close(&g_app, session);
    /* without a client certificate the server refuses */
    int32_t anon = client_config("ca.pem", NULL, NULL, NULL, 0);
    session = connect_port(anon, "localhost", s.port, 5000);
    if (session > 0) {
        /* TLS 1.3: the client's side of the handshake ends before the server judges its
         * (missing) certificate, so the refusal shows on the first read */
        CHECK_EQ_INT(session_info(session).version, 0x0304);
        CHECK(!echo_ok(session));
        portal_tls_close(&g_app, session);
    } else {
        CHECK_EQ_INT(session, PORTAL_ERR_INTERNAL);
        CHECK(last_error_has(&g_app, "tlsConnect: "));
    }
    /* NO_TICKETS: never resumed */
    int32_t fresh = client_config("ca.pem", "client.pem", "client.key", NULL,
                                  PORTAL_TLS_FLAG_NO_TICKETS);
    for (int k = 0; k < 2; k++) {
        session = connect_port(fresh, "localhost", s.port, 5000);
        CHECK(session > 0);
        CHECK(echo_ok(session));
        CHECK_EQ_INT(session_info(session).flags & PORTAL_TLS_INFO_RESUMED, 0);
        portal_tls_close(&g_app, session);
    }
    portal_app_teardown(&g_app);
    server_stop(&s);
}

/* openssl s_server with -alpn: the negotiated protocol shows in the info. */
static void test_alpn(void)
{
    uint16_t port;
    pid_t pid = openssl_server("server-ec.pem", "server-ec.key", "-alpn x-other,http/1.1", &port);
    client_app_init(NULL);
    int32_t cfg = client_config("ca.pem", NULL, NULL, "h2,http/1.1", 0);
    CHECK(cfg > 0);
    int32_t session = connect_port(cfg, "localhost", port, 5000);
    CHECK(session > 0);
    if (session <= 0)
        fprintf(stderr, "  alpn connect: %s\n", g_app.last_error_msg);
    info i = session_info(session);
    CHECK_STR(i.alpn, "http/1.1"); /* the one both speak */
    portal_tls_close(&g_app, session);
    /* a config without ALPN gets none */
    int32_t plain = client_config("ca.pem", NULL, NULL, NULL, 0);
    session = connect_port(plain, "localhost", port, 5000);
    CHECK(session > 0);
    CHECK_STR(session_info(session).alpn, "");
    portal_tls_close(&g_app, session);
    portal_app_teardown(&g_app);
    openssl_server_stop(pid);
}

/* SNI: sent for a name, never for an IP literal (RFC 6066). openssl s_server with
 * -servername_fatal refuses a client whose SNI names another host, and accepts one without SNI. */
static void test_sni(void)
{
    uint16_t port;
    char extra[3 * PATH_MAX];
    snprintf(extra, sizeof extra,
             "-servername other.example -cert2 '%s/server-rsa.pem' -key2 '%s/server-rsa.key' "
             "-servername_fatal",
             g_certs, g_certs);
    pid_t pid = openssl_server("server-ec.pem", "server-ec.key", extra, &port);
    client_app_init(NULL);
    int32_t cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    int32_t session = connect_port(cfg, "127.0.0.1", port, 5000);
    CHECK(session > 0); /* no SNI: no mismatch */
    if (session <= 0)
        fprintf(stderr, "  connect 127.0.0.1: %s\n", g_app.last_error_msg);
    portal_tls_close(&g_app, session);
    CHECK_EQ_INT(connect_port(cfg, "localhost", port, 5000), PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "tlsConnect: handshake failed: server sent alert 112"));
    portal_app_teardown(&g_app);
    openssl_server_stop(pid);
}

static void test_bad_arguments(void)
{
    client_app_init(NULL);
    static uint8_t empty[1];
    uint32_t len;
    uint8_t *cert = cert_file("client.pem", &len);
    uint32_t key_len;
    uint8_t *key = cert_file("client.key", &key_len);
    uint8_t *other_key = cert_file("server-ec.key", &key_len);
    CHECK_EQ_INT(portal_tls_client_config_create(&g_app, empty, 0, empty, 0, empty, 0, empty, 0, 4),
                 PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "tlsClientConfigCreate: unknown flags 0x4"));
    CHECK_EQ_INT(portal_tls_client_config_create(&g_app, empty, 0, cert, len, empty, 0, empty, 0, 1),
                 PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "cert_pem without key_pem"));
    CHECK_EQ_INT(portal_tls_client_config_create(&g_app, empty, 0, cert, len, other_key, key_len,
                                                 empty, 0, 1),
                 PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "client key does not match the certificate"));
    const char *bad_alpn[] = {",h2", "h2,,x", "h2,", "a,b,c,d,e,f,g,h,i", "h\x01"};
    const char *bad_why[] = {"empty protocol name at byte 0", "empty protocol name at byte 3",
                             "empty protocol name at byte 3", "more than 8 protocols",
                             "not printable"};
    for (size_t k = 0; k < 5; k++) {
        CHECK_EQ_INT(portal_tls_client_config_create(&g_app, empty, 0, empty, 0, empty, 0,
                                                     (uint8_t *)bad_alpn[k],
                                                     (uint32_t)strlen(bad_alpn[k]), 1),
                     PORTAL_ERR_INVALID_ARGUMENT);
        CHECK(last_error_has(&g_app, bad_why[k]));
    }
    CHECK_EQ_INT(portal_tls_client_config_create(&g_app, (uint8_t *)"garbage", 7, empty, 0, empty,
                                                 0, empty, 0, 0),
                 PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "tlsClientConfigCreate: ca_pem: "));
    /* the default trust store: missing, then a file named by SSL_CERT_FILE */
    setenv("SSL_CERT_FILE", "/nonexistent/ca.pem", 1);
    CHECK_EQ_INT(client_config(NULL, NULL, NULL, NULL, 0), PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "no default trust store: /nonexistent/ca.pem: No such file"));
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/ca.pem", g_certs);
    setenv("SSL_CERT_FILE", path, 1);
    int32_t dflt = client_config(NULL, NULL, NULL, NULL, 0);
    CHECK(dflt > 0);
    int32_t dflt2 = client_config(NULL, NULL, NULL, NULL, 0); /* shares the parsed store */
    CHECK(dflt2 > 0);
    unsetenv("SSL_CERT_FILE");
    server s;
    CHECK(server_start(&s, "server-ec.pem", "server-ec.key", NULL, 0));
    int32_t session = connect_port(dflt2, "localhost", s.port, 5000);
    CHECK(session > 0);
    CHECK(echo_ok(session));
    portal_tls_close(&g_app, session);
    portal_tls_client_config_free(&g_app, dflt);
    portal_tls_client_config_free(&g_app, dflt2);

    int32_t cfg = client_config("ca.pem", NULL, NULL, "http/1.1", 0);
    CHECK(cfg > 0);
    /* client and server configs do not mix */
    uint32_t skey_len, scert_len;
    uint8_t *scert = cert_file("server-ec.pem", &scert_len);
    int32_t server_cfg = portal_tls_server_config_create(&g_app, scert, scert_len, other_key,
                                                         key_len, empty, 0, 0);
    (void)skey_len;
    CHECK(server_cfg > 0);
    CHECK_EQ_INT(connect_port(server_cfg, "localhost", s.port, 0), PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "is a server config"));
    CHECK_EQ_INT(portal_tls_accept(&g_app, cfg, s.listener, NULL, 0, 0),
                 PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "tlsAccept: "));
    CHECK_EQ_INT(portal_tls_server_config_free(&g_app, cfg), PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "is a client config"));
    CHECK_EQ_INT(portal_tls_client_config_free(&g_app, server_cfg), PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "tlsClientConfigFree: bad config handle"));
    CHECK_EQ_INT(connect_port(12345, "localhost", s.port, 0), PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "tlsConnect: bad config handle 12345"));
    /* hosts */
    char long_host[300];
    memset(long_host, 'a', sizeof long_host);
    long_host[254] = 0;
    const char *bad_hosts[] = {"", "bad host", "a..b", "-x_y", long_host, "exa\xffmple"};
    for (size_t k = 0; k < sizeof bad_hosts / sizeof bad_hosts[0]; k++) {
        CHECK_EQ_INT(connect_port(cfg, bad_hosts[k], s.port, 0), PORTAL_ERR_INVALID_ARGUMENT);
        CHECK(last_error_has(&g_app, "tlsConnect: bad host"));
    }
    /* ports and addresses */
    CHECK_EQ_INT(connect_port(cfg, "localhost", 0, 0), PORTAL_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(portal_tls_connect(&g_app, cfg, "localhost", NULL, 0, 65536, 0),
                 PORTAL_ERR_INVALID_ARGUMENT);
    uint8_t addr[28] = {2, 0, 0, 0, (uint8_t)s.port, (uint8_t)(s.port >> 8), 127, 0, 0, 1};
    CHECK_EQ_INT(portal_tls_connect(&g_app, cfg, "localhost", addr, 12, s.port, 0),
                 PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "tlsConnect: port must be 0 with an address"));
    CHECK_EQ_INT(portal_tls_connect(&g_app, cfg, "localhost", addr, 16, 0, 0),
                 PORTAL_ERR_INVALID_ARGUMENT);
    CHECK(last_error_has(&g_app, "addr_len"));
    /* the session limit counts connects in flight */
    portal_app_teardown(&g_app);
    portal_limits limits;
    portal_limits_default(&limits);
    limits.max_tls_sessions = 2;
    client_app_init(&limits);
    cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    int32_t a = connect_port(cfg, "localhost", s.port, 0);
    int32_t b = connect_port(cfg, "localhost", s.port, 0);
    CHECK(a > 0 && b > 0);
    CHECK_EQ_INT(connect_port(cfg, "localhost", s.port, 0), PORTAL_ERR_INTERNAL);
    CHECK(last_error_has(&g_app, "tlsConnect: too many sessions (limit 2)"));
    portal_tls_close(&g_app, a); /* aborts it */
    CHECK(connect_port(cfg, "localhost", s.port, 0) > 0);
    portal_app_teardown(&g_app);
    server_stop(&s);
    free(cert);
    free(key);
    free(other_key);
    free(scert);
}

/* Teardown with lookups, TCP connects and handshakes in flight: nothing leaks (valgrind), no
 * descriptor stays open, nothing hangs. */
static void test_teardown_in_flight(void)
{
    sleep_ms(300); /* lookups cancelled by earlier tests finish and close their eventfds */
    int fds_before = portal_platform_open_fd_count();
    uint16_t stall_port;
    int stall = stalling_listener(&stall_port);
    for (int round = 0; round < 3; round++) {
        client_app_init(NULL);
        int32_t cfg = client_config("ca.pem", NULL, NULL, "h2", 0);
        for (int k = 0; k < 8; k++) {
            CHECK(connect_port(cfg, "localhost", stall_port, 0) > 0);  /* resolving */
            CHECK(connect_port(cfg, "127.0.0.1", stall_port, 0) > 0);  /* handshaking */
        }
        uint8_t entry[8] = {0};
        if (round == 1)
            portal_sock_poll(&g_app, entry, 0, 20); /* let some lookups finish */
        int64_t t0 = now_ms();
        portal_app_teardown(&g_app);
        CHECK(now_ms() - t0 < 1000);
    }
    /* 100 connects in flight from one app: 100 lookups through the resolver's 4 workers, then
     * 100 TCP connects and stalled handshakes, all driven by sockPoll; none fails */
    portal_limits limits;
    portal_limits_default(&limits);
    limits.max_tls_sessions = 100;
    client_app_init(&limits);
    int32_t cfg = client_config("ca.pem", NULL, NULL, NULL, 0);
    uint8_t entries[8 * 100];
    int64_t t0 = now_ms();
    for (int k = 0; k < 100; k++) {
        int32_t h = connect_port(cfg, "localhost", stall_port, 0);
        CHECK(h > 0);
        memcpy(entries + 8 * k, &h, 4);
        entries[8 * k + 4] = 2;
    }
    int64_t started_ms = now_ms() - t0;
    int resolved = 0;
    int64_t until = now_ms() + 5000;
    while (now_ms() < until && resolved < 100) {
        for (int k = 0; k < 100; k++)
            entries[8 * k + 6] = entries[8 * k + 7] = 0;
        CHECK_EQ_INT(portal_sock_poll(&g_app, entries, sizeof entries, 50), 0);
        resolved = 0;
        for (int k = 0; k < 100; k++) {
            int32_t h;
            memcpy(&h, entries + 8 * k, 4);
            tls_conn *conn = portal_handles_get(&g_app.handles, h, PORTAL_HANDLE_TLS_SESSION);
            resolved += conn && conn->fd != PORTAL_FD_INVALID; /* past the lookup */
        }
    }
    CHECK_EQ_INT(resolved, 100);
    printf("  100 connects: started in %lld ms, all 100 looked up and connecting after %lld ms\n",
           (long long)started_ms, (long long)(now_ms() - t0));
    portal_app_teardown(&g_app);
    close(stall);
    sleep_ms(300); /* lookups still running finish and free their jobs */
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_before);
}

/* Figures for the report: heap per open client session, and handshake times (full vs resumed)
 * against the in-process server. Loose bounds only: the machine may be loaded. */
static void test_figures(void)
{
    server s;
    CHECK(server_start(&s, "server-ec.pem", "server-ec.key", NULL, 0));
    client_app_init(NULL);
    int32_t full = client_config("ca.pem", NULL, NULL, NULL, PORTAL_TLS_FLAG_NO_TICKETS);
    int32_t resuming = client_config("ca.pem", NULL, NULL, NULL, 0);
    enum { ROUNDS = 20 };
    int64_t t0 = now_ms();
    for (int k = 0; k < ROUNDS; k++) {
        int32_t session = connect_port(full, "127.0.0.1", s.port, 5000);
        CHECK(session > 0);
        portal_tls_close(&g_app, session);
    }
    int64_t full_ms = now_ms() - t0;
    int32_t first = connect_port(resuming, "127.0.0.1", s.port, 5000);
    CHECK(echo_ok(first)); /* TLS 1.3: the ticket arrives after the handshake */
    portal_tls_close(&g_app, first);
    int resumed = 0;
    t0 = now_ms();
    for (int k = 0; k < ROUNDS; k++) {
        int32_t session = connect_port(resuming, "127.0.0.1", s.port, 5000);
        CHECK(session > 0);
        resumed += (session_info(session).flags & PORTAL_TLS_INFO_RESUMED) != 0;
        if (k + 1 == ROUNDS)
            CHECK(echo_ok(session));
        portal_tls_close(&g_app, session);
    }
    int64_t resumed_ms = now_ms() - t0;
    CHECK(resumed >= ROUNDS - 1);
    printf("  %d full handshakes: %.2f ms each; %d resumed (%d flagged): %.2f ms each\n", ROUNDS,
           (double)full_ms / ROUNDS, ROUNDS, resumed, (double)resumed_ms / ROUNDS);
    /* Heap per open client session (glibc's counters; valgrind replaces the allocator: skipped
     * there), with the server in a child process so that only the client's side is counted. */
    int ports[2];
    CHECK(pipe(ports) == 0);
    pid_t child = fork();
    if (child == 0) {
        server other;
        uint16_t port = server_start(&other, "server-ec.pem", "server-ec.key", NULL, 0)
                            ? other.port : 0;
        if (write(ports[1], &port, sizeof port) != sizeof port)
            _exit(1);
        for (int k = 0; k < 300; k++) /* at most 30 s; killed long before */
            sleep_ms(100);
        _exit(0);
    }
    uint16_t child_port = 0;
    CHECK(read(ports[0], &child_port, sizeof child_port) == sizeof child_port);
    close(ports[0]);
    close(ports[1]);
    enum { OPEN = 16 };
    int32_t sessions[OPEN];
    struct mallinfo2 before = mallinfo2();
    for (int k = 0; k < OPEN; k++)
        sessions[k] = connect_port(full, "127.0.0.1", child_port, 5000);
    struct mallinfo2 after = mallinfo2();
    for (int k = 0; k < OPEN; k++) {
        CHECK(sessions[k] > 0);
        portal_tls_close(&g_app, sessions[k]);
    }
    if (after.uordblks > before.uordblks) {
        size_t per = (after.uordblks - before.uordblks) / OPEN;
        printf("  heap per open client session: %zu bytes\n", per);
        CHECK(per < 200 * 1024);
    }
    kill(child, SIGTERM);
    testlib_reap(child, 5000);
    /* the system's default trust store: parsed once, shared by the next config */
    if (!getenv("SSL_CERT_FILE") && access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
        t0 = now_ms();
        int32_t store1 = client_config(NULL, NULL, NULL, NULL, 0);
        int64_t parse_ms = now_ms() - t0;
        t0 = now_ms();
        int32_t store2 = client_config(NULL, NULL, NULL, NULL, 0);
        int64_t shared_ms = now_ms() - t0;
        CHECK(store1 > 0 && store2 > 0);
        printf("  default trust store (/etc/ssl/certs/ca-certificates.crt): first config %lld ms, "
               "second (shared) %lld ms\n",
               (long long)parse_ms, (long long)shared_ms);
        portal_tls_client_config_free(&g_app, store1);
        portal_tls_client_config_free(&g_app, store2);
    }
    portal_app_teardown(&g_app);
    server_stop(&s);
}

static void test_resolver(void)
{
    portal_sockaddr addrs[PORTAL_RESOLVE_MAX_ADDRS];
    char why[96];
    portal_resolve *job = portal_platform_resolve_start("localhost");
    CHECK(job != NULL);
    int n = 0;
    int64_t until = now_ms() + 5000;
    while ((n = portal_platform_resolve_result(job, addrs, PORTAL_RESOLVE_MAX_ADDRS, why,
                                               sizeof why)) == 0 &&
           now_ms() < until)
        portal_platform_wait(portal_platform_resolve_fd(job), PORTAL_WAIT_READ, 100);
    CHECK(n >= 1);
    bool loopback = false;
    for (int k = 0; k < n; k++)
        loopback |= (addrs[k].family == 4 && addrs[k].ip[0] == 127) ||
                    (addrs[k].family == 6 && addrs[k].ip[15] == 1);
    CHECK(loopback);
    portal_platform_resolve_cancel(job);
    job = portal_platform_resolve_start("Nonexistent.INVALID.");
    until = now_ms() + 5000;
    while ((n = portal_platform_resolve_result(job, addrs, 4, why, sizeof why)) == 0 &&
           now_ms() < until)
        portal_platform_wait(portal_platform_resolve_fd(job), PORTAL_WAIT_READ, 100);
    CHECK(n < 0);
    CHECK(why[0] != 0);
    portal_platform_resolve_cancel(job);
    /* cancelled while queued or running: 12 at once, cancelled at once */
    portal_resolve *jobs[12];
    for (int k = 0; k < 12; k++)
        jobs[k] = portal_platform_resolve_start("localhost");
    for (int k = 0; k < 12; k++)
        portal_platform_resolve_cancel(jobs[k]);
    portal_sockaddr ip;
    CHECK(portal_platform_parse_ip("::1", &ip) && ip.family == 6 && ip.ip[15] == 1);
    CHECK(portal_platform_parse_ip("127.0.0.1", &ip) && ip.family == 4 && ip.ip[0] == 127);
    CHECK(!portal_platform_parse_ip("localhost", &ip));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!tls_test_begin("test_tls_client"))
        return 1;
    if (!make_extra_certs()) {
        fprintf(stderr, "could not make the extra certificates in %s\n", g_tmp);
        testcerts_remove_tmp(g_tmp);
        return 1;
    }
    static const named_test tests[] = {
        {"verified connect", test_verified_connect},
        {"verification failures", test_verify_failures},
        {"network failures and timeouts", test_network_failures},
        {"timeout 0 and sockPoll", test_timeout_zero},
        {"mutual TLS and resumption", test_mutual_tls_and_resumption},
        {"ALPN (openssl s_server)", test_alpn},
        {"SNI (openssl s_server)", test_sni},
        {"bad arguments and limits", test_bad_arguments},
        {"teardown with connects in flight", test_teardown_in_flight},
        {"resolver", test_resolver},
        {"figures", test_figures},
    };
    run_named_tests(tests, sizeof tests / sizeof tests[0]);
    return tls_test_end();
}
