/* mbedtls_echo_server.c - the ceiling for our stack in `make bench`: a minimal native TLS echo
 * server on mbedTLS with the same settings as portal_socket_tls (TLS 1.2, ECDHE AEAD suites,
 * session tickets, no renegotiation), one thread, poll() over non-blocking sockets; no WASM and no
 * host layer. Usage: mbedtls_echo_server PORT CERT.pem KEY.pem */
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 4096

typedef struct conn {
    int fd;
    int handshaken;
    mbedtls_ssl_context ssl;
    unsigned char *pending; /* echo not yet written */
    size_t pending_len;
} conn;

static conn *conns[MAX_CONNS];
static int conns_end; /* one past the highest slot in use: the loops scan no further */
static mbedtls_ssl_config conf;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);
    if (n >= 0)
        return (int)n;
    return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_NET_RECV_FAILED;
}

static void conn_free(int i)
{
    conn *c = conns[i];
    mbedtls_ssl_close_notify(&c->ssl);
    mbedtls_ssl_free(&c->ssl);
    close(c->fd);
    free(c->pending);
    free(c);
    conns[i] = NULL;
    while (conns_end > 0 && !conns[conns_end - 1])
        conns_end--;
}

/* Advances one connection; returns false when it is finished. */
static int serve(conn *c)
{
    if (!c->handshaken) {
        int ret = mbedtls_ssl_handshake(&c->ssl);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            return 1;
        if (ret != 0)
            return 0;
        c->handshaken = 1;
    }
    unsigned char buf[16384];
    for (;;) {
        while (c->pending_len > 0) {
            int ret = mbedtls_ssl_write(&c->ssl, c->pending, c->pending_len);
            if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ)
                return 1;
            if (ret < 0)
                return 0;
            memmove(c->pending, c->pending + ret, c->pending_len - (size_t)ret);
            c->pending_len -= (size_t)ret;
        }
        int n = mbedtls_ssl_read(&c->ssl, buf, sizeof buf);
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
            return 1;
        if (n <= 0)
            return 0;
        free(c->pending);
        c->pending = malloc((size_t)n);
        if (!c->pending)
            return 0;
        memcpy(c->pending, buf, (size_t)n);
        c->pending_len = (size_t)n;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mbedtls_echo_server PORT CERT.pem KEY.pem\n");
        return 2;
    }
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt cert;
    mbedtls_pk_context key;
    mbedtls_ssl_ticket_context tickets;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_ticket_init(&tickets);
    mbedtls_ssl_config_init(&conf);
    /* The same suites, versions and groups as portal_socket_tls (host/tls/tls_config.c), or the
     * two would not do the same work: TLS 1.3 too where the library has it (mbedTLS 3.x). */
    static const int suites[] = {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
        MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
        MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
#endif
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 0};
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) ||
        mbedtls_x509_crt_parse_file(&cert, argv[2]) ||
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        mbedtls_pk_parse_keyfile(&key, argv[3], NULL, mbedtls_ctr_drbg_random, &drbg) ||
#else
        mbedtls_pk_parse_keyfile(&key, argv[3], NULL) ||
#endif
        mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) ||
        mbedtls_ssl_conf_own_cert(&conf, &cert, &key) ||
        mbedtls_ssl_ticket_setup(&tickets, mbedtls_ctr_drbg_random, &drbg,
                                 MBEDTLS_CIPHER_AES_256_GCM, 86400)) {
        fprintf(stderr, "mbedtls_echo_server: setup failed\n");
        return 1;
    }
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_ciphersuites(&conf, suites);
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
    static const uint16_t groups[] = {
        MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
        MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
    mbedtls_ssl_conf_groups(&conf, groups);
    mbedtls_ssl_conf_min_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    static const mbedtls_ecp_group_id curves[] = {
#if defined(MBEDTLS_ECP_DP_CURVE25519_ENABLED)
        MBEDTLS_ECP_DP_CURVE25519,
#endif
        MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
    mbedtls_ssl_conf_curves(&conf, curves);
    mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
    mbedtls_ssl_conf_renegotiation(&conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    mbedtls_ssl_conf_session_tickets_cb(&conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse,
                                        &tickets);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(argv[1]));
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1024) != 0) {
        perror("mbedtls_echo_server: listen");
        return 1;
    }
    fprintf(stderr, "mbedtls_echo_server: listening on port %s\n", argv[1]);
    static struct pollfd fds[MAX_CONNS + 1];
    static int index_of[MAX_CONNS + 1];
    while (!stop) {
        int n = 0;
        fds[n++] = (struct pollfd){lfd, POLLIN, 0};
        for (int i = 0; i < conns_end; i++)
            if (conns[i]) {
                fds[n] = (struct pollfd){conns[i]->fd, POLLIN | (conns[i]->pending_len ? POLLOUT : 0), 0};
                index_of[n++] = i;
            }
        if (poll(fds, (nfds_t)n, 500) < 0 && errno != EINTR)
            break;
        for (int k = 1; k < n; k++)
            if (fds[k].revents && !serve(conns[index_of[k]]))
                conn_free(index_of[k]);
        if (fds[0].revents & POLLIN) {
            int fd;
            while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                int slot = -1;
                for (int i = 0; i < MAX_CONNS && slot < 0; i++)
                    if (!conns[i])
                        slot = i;
                conn *c = slot >= 0 ? calloc(1, sizeof *c) : NULL;
                if (!c) {
                    close(fd);
                    continue;
                }
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c->fd = fd;
                mbedtls_ssl_init(&c->ssl);
                mbedtls_ssl_setup(&c->ssl, &conf);
                mbedtls_ssl_set_bio(&c->ssl, &c->fd, bio_send, bio_recv, NULL);
                conns[slot] = c;
                if (slot >= conns_end)
                    conns_end = slot + 1;
                if (!serve(c))
                    conn_free(slot);
            }
        }
    }
    for (int i = 0; i < conns_end; i++)
        if (conns[i])
            conn_free(i);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ssl_ticket_free(&tickets);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return 0;
}
