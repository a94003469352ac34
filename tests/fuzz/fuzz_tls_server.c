/* fuzz_tls_server.c - libFuzzer target: the host's TLS server engine (tls_engine.c, tls_session.c)
 * fed by a hostile client over a socketpair, through the real BIO callbacks, handshake queue and
 * session calls. The server end of the pair is handed to portal_tls_conn_create as an accepted
 * connection and queued like tlsAccept would; everything is non-blocking with bounded iterations.
 *
 * Input: byte 0 = mode. Bit 1 selects a config that requires a client certificate.
 *   bit 0 clear ("raw"): the rest is flights [len u16 LE][bytes] written to the wire as the client;
 *     after each flight the engine steps the handshake; if it finishes, the session is opened and
 *     tlsRecv/tlsSend run on it.
 *   bit 0 set ("established"): an in-process mbedTLS client (fixed-seed DRBG) completes a real
 *     handshake first; the rest is operations [op u8][len u16 LE][bytes]: op%4 = 0 client sends the
 *     bytes as application data, 1 the bytes go raw onto the wire (forged/corrupt records), 2 the
 *     server tlsSends them, 3 client close_notify (len odd) or TCP half-close (len even).
 *     After every step the server calls tlsRecv (timeout 0) until it would block.
 * Each input tears everything down (portal_app_teardown) and checks the fd count is unchanged.
 * Certificates: PEMs from $PORTAL_CERTS, else generated once with scripts/gen-certs.sh. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api.h"
#include "core/app.h"
#include "tls/tls.h"
#include "tls/tls_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct pem {
    uint8_t *bytes;
    size_t len;
} pem;

static pem server_cert, server_key, ca_cert, client_cert, client_key;
static mbedtls_x509_crt cli_crt;
static mbedtls_pk_context cli_key;
static bool cli_have_cert;

static bool read_pem(const char *dir, const char *name, pem *out)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    uint8_t buf[16384];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n == 0 || n == sizeof buf)
        return false;
    out->bytes = malloc(n + 1);
    if (!out->bytes)
        abort();
    memcpy(out->bytes, buf, n);
    out->bytes[n] = 0;
    out->len = n; /* the host's config copy adds the NUL itself */
    return true;
}

static bool load_all(const char *dir)
{
    return read_pem(dir, "server-ec.pem", &server_cert) &&
           read_pem(dir, "server-ec.key", &server_key) && read_pem(dir, "ca.pem", &ca_cert) &&
           read_pem(dir, "client.pem", &client_cert) && read_pem(dir, "client.key", &client_key);
}

static void quiet_log(portal_app *app, portal_log_level level, const char *msg)
{
    (void)app;
    (void)level;
    (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("PORTAL_CERTS");
    if (!dir || !load_all(dir)) {
        char tmp[] = "/tmp/portal-fuzz-certs-XXXXXX";
        if (!mkdtemp(tmp))
            abort();
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "bash '%s/scripts/gen-certs.sh' '%s' >/dev/null 2>&1",
                 PORTAL_SOURCE_DIR, tmp);
        if (system(cmd) != 0 || !load_all(tmp)) {
            fprintf(stderr, "fuzz_tls_server: no certificates (set PORTAL_CERTS)\n");
            abort();
        }
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz_tls_server: could not remove %s\n", tmp);
    }
    /* The test client's certificate (for configs that require one). */
    mbedtls_x509_crt_init(&cli_crt);
    mbedtls_pk_init(&cli_key);
#if PORTAL_MBEDTLS_3
    cli_have_cert = false; /* 3.x wants an RNG for parse_key; the client cert path is optional */
#else
    cli_have_cert = mbedtls_x509_crt_parse(&cli_crt, client_cert.bytes, client_cert.len + 1) == 0 &&
                    mbedtls_pk_parse_key(&cli_key, client_key.bytes, client_key.len + 1, NULL, 0) ==
                        0;
#endif
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ---- the client end ---- */

static int cli_fd = -1;

static void wire_write(const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(cli_fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w <= 0)
            return; /* full or closed: the rest is dropped, as a real network might */
        p += w;
        n -= (size_t)w;
    }
}

static void wire_drain(void)
{
    uint8_t buf[8192];
    for (int i = 0; i < 64; i++)
        if (recv(cli_fd, buf, sizeof buf, MSG_DONTWAIT) <= 0)
            return;
}

static int cli_bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    ssize_t w = send(cli_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w >= 0)
        return (int)w;
    return errno == EAGAIN || errno == EWOULDBLOCK ? MBEDTLS_ERR_SSL_WANT_WRITE
                                                   : -0x4E; /* NET_SEND_FAILED */
}

static int cli_bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    ssize_t r = recv(cli_fd, buf, len, MSG_DONTWAIT);
    if (r >= 0)
        return (int)r;
    return errno == EAGAIN || errno == EWOULDBLOCK ? MBEDTLS_ERR_SSL_WANT_READ
                                                   : -0x4C; /* NET_RECV_FAILED */
}

/* Deterministic "entropy" for the test client's DRBG. */
static int fixed_entropy(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(i * 131u + 7u);
    return 0;
}

/* ---- the server side ---- */

typedef struct server {
    portal_app app;
    int32_t config_handle;
    int32_t session; /* 0 until the handshake finished and was handed out */
} server;

enum { LISTENER_HANDLE = 0x7fff0001 }; /* a tag only: never looked up */

static void server_step(server *s)
{
    portal_tls_engine_advance_all(&s->app);
    if (s->session)
        return;
    tls_conn *conn = portal_tls_engine_take_ready(&s->app, s->config_handle, LISTENER_HANDLE);
    if (!conn)
        return;
    /* What tls_session_open does for tlsAccept. */
    int32_t h = portal_handles_add(&s->app.handles, PORTAL_HANDLE_TLS_SESSION, conn);
    if (h == 0)
        abort();
    conn->handle = h;
    conn->state = TLS_CONN_OPEN;
    s->session = h;
    uint8_t info[PORTAL_TLS_INFO_SIZE];
    if (portal_tls_session_info(&s->app, h, info, sizeof info) != PORTAL_TLS_INFO_SIZE)
        abort();
}

static void server_recv(server *s)
{
    if (!s->session)
        return;
    uint8_t buf[4096];
    for (int i = 0; i < 16; i++) {
        int32_t n = portal_tls_recv(&s->app, s->session, buf, sizeof buf, 0);
        if (n < 0 && s->app.last_error_msg[0] == '\0')
            abort(); /* every failure carries a message */
        if (n <= 0)
            return;
        if (n > (int32_t)sizeof buf)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    bool established = mode & 1;
    bool client_auth = (mode & 2) != 0;
    int fds_before = portal_platform_open_fd_count();

    server s;
    memset(&s, 0, sizeof s);
    portal_limits limits;
    portal_limits_default(&limits);
    if (!portal_app_init(&s.app, &limits))
        abort();
    s.app.log_sink = quiet_log;
    s.config_handle = portal_tls_server_config_create(
        &s.app, server_cert.bytes, (uint32_t)server_cert.len, server_key.bytes,
        (uint32_t)server_key.len, client_auth ? ca_cert.bytes : NULL,
        client_auth ? (uint32_t)ca_cert.len : 0, client_auth ? 1 : 0);
    if (s.config_handle <= 0) {
        fprintf(stderr, "config: %s\n", s.app.last_error_msg);
        abort();
    }
    tls_config *config =
        portal_handles_get(&s.app.handles, s.config_handle, PORTAL_HANDLE_TLS_CONFIG);
    portal_tls_state *state = portal_tls_state_get(&s.app, "fuzz");
    if (!config || !state)
        abort();

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        abort();
    fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK);
    fcntl(pair[1], F_SETFL, fcntl(pair[1], F_GETFL) | O_NONBLOCK);
    cli_fd = pair[1];
    portal_sockaddr peer;
    memset(&peer, 0, sizeof peer);
    peer.family = 4;
    peer.port = 40000;
    peer.ip[0] = 127;
    peer.ip[3] = 1;
    tls_conn *conn = portal_tls_conn_create(&s.app, config, pair[0], &peer);
    if (!conn)
        abort();
    /* What portal_tls_engine_accept_new does with a freshly accepted connection. */
    conn->config_handle = s.config_handle;
    conn->listener_handle = LISTENER_HANDLE;
    conn->deadline_ms = conn->accepted_ms + s.app.limits.handshake_deadline_ms;
    state->pending[state->pending_count++] = conn;

    mbedtls_ssl_config ccfg;
    mbedtls_ssl_context cli;
    mbedtls_ctr_drbg_context cdrbg;
    mbedtls_ssl_config_init(&ccfg);
    mbedtls_ssl_init(&cli);
    mbedtls_ctr_drbg_init(&cdrbg);

    if (!established) {
        while (size > 0) {
            size_t len = size >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) : size;
            if (size >= 2) {
                data += 2;
                size -= 2;
            }
            if (len > size)
                len = size;
            wire_write(data, len);
            data += len;
            size -= len;
            for (int i = 0; i < 4; i++) {
                server_step(&s);
                wire_drain();
            }
            server_recv(&s);
        }
        if (s.session) {
            static const uint8_t hello[] = "hello from the fuzzed server";
            (void)portal_tls_send(&s.app, s.session, (uint8_t *)hello, sizeof hello, 0);
            wire_drain();
        }
    } else {
        if (mbedtls_ctr_drbg_seed(&cdrbg, fixed_entropy, NULL, NULL, 0) != 0 ||
            mbedtls_ssl_config_defaults(&ccfg, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT) != 0)
            abort();
        mbedtls_ssl_conf_rng(&ccfg, mbedtls_ctr_drbg_random, &cdrbg);
        mbedtls_ssl_conf_authmode(&ccfg, MBEDTLS_SSL_VERIFY_NONE);
        if (client_auth && cli_have_cert && mbedtls_ssl_conf_own_cert(&ccfg, &cli_crt, &cli_key))
            abort();
        if (mbedtls_ssl_setup(&cli, &ccfg) != 0)
            abort();
        mbedtls_ssl_set_bio(&cli, NULL, cli_bio_send, cli_bio_recv, NULL);
        int cret = -1;
        for (int i = 0; i < 64; i++) {
            cret = mbedtls_ssl_handshake(&cli);
            if (cret != 0 && cret != MBEDTLS_ERR_SSL_WANT_READ &&
                cret != MBEDTLS_ERR_SSL_WANT_WRITE)
                break;
            server_step(&s);
            if (cret == 0 && s.session)
                break;
        }
        if (cret != 0 || !s.session) {
            if (!client_auth || cli_have_cert) {
                fprintf(stderr, "established mode: handshake did not finish (client %d)\n", cret);
                abort();
            }
        }
        while (s.session && size >= 3) {
            uint8_t op = data[0] & 3;
            size_t len = (size_t)data[1] | (size_t)data[2] << 8;
            data += 3;
            size -= 3;
            if (len > size)
                len = size;
            switch (op) {
            case 0:
                for (size_t done = 0, tries = 0; done < len && tries < 16; tries++) {
                    int w = mbedtls_ssl_write(&cli, data + done, len - done);
                    if (w > 0)
                        done += (size_t)w;
                    else if (w != MBEDTLS_ERR_SSL_WANT_WRITE && w != MBEDTLS_ERR_SSL_WANT_READ)
                        break;
                    else
                        server_recv(&s);
                }
                break;
            case 1:
                wire_write(data, len);
                break;
            case 2: {
                int32_t sent = portal_tls_send(&s.app, s.session, (uint8_t *)data,
                                               (uint32_t)len, 0);
                if (sent > (int32_t)len)
                    abort();
                break;
            }
            default:
                if (len & 1)
                    (void)mbedtls_ssl_close_notify(&cli);
                else
                    shutdown(cli_fd, SHUT_WR);
                break;
            }
            data += len;
            size -= len;
            server_recv(&s);
            /* The client reads what the server sent (keeps the pipe from filling up). */
            uint8_t buf[4096];
            for (int i = 0; i < 16; i++)
                if (mbedtls_ssl_read(&cli, buf, sizeof buf) <= 0)
                    break;
        }
    }

    /* Teardown: the client end first (so the server's goodbye cannot wait), then the app. */
    mbedtls_ssl_free(&cli);
    mbedtls_ssl_config_free(&ccfg);
    mbedtls_ctr_drbg_free(&cdrbg);
    close(cli_fd);
    cli_fd = -1;
    portal_app_teardown(&s.app);
    if (s.app.tls || (int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_SESSION) || (int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_CONFIG))
        abort();
    int fds_after = portal_platform_open_fd_count();
    if (fds_after != fds_before) {
        fprintf(stderr, "fd leak: %d before, %d after\n", fds_before, fds_after);
        abort();
    }
    return 0;
}
