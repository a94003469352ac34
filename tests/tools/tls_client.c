/* tls_client.c - a test peer for the TLS echo app, on mbedTLS (client side).
 *   tls_client echo HOST PORT BYTES [READ_DELAY_US]  send BYTES of pattern data while reading the
 *                                                   echo (slowly, if a delay is given); verify
 *   tls_client many HOST PORT N                      N sequential connections, one echo each
 *   tls_client silent HOST PORT SECONDS              TCP connect, send nothing, hold, close
 *   tls_client dribble HOST PORT SECONDS             send a ClientHello prefix one byte a second
 *   tls_client garbage HOST PORT                     send non-TLS bytes; expect the server to drop us
 *   tls_client load HOST PORT N ACTIVE ROUNDS IDLE_S  open N sessions and keep them; print "open N";
 *                                                   stay idle IDLE_S seconds; then ROUNDS times send
 *                                                   a message on ACTIVE sessions at once and check
 *                                                   every echo; print round-trip p50/p99
 * Every wait is bounded; exit status 0 = what was expected happened. */
#include <arpa/inet.h>
#include <errno.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_ssl_config conf;

static void die(const char *what, int ret)
{
    char text[200];
    mbedtls_strerror(ret, text, sizeof text);
    fprintf(stderr, "tls_client: %s: %s (-0x%04x)\n", what, text, (unsigned)-ret);
    exit(1);
}

static void setup(void)
{
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    int ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                                    (const unsigned char *)"tls_client", 10);
    if (ret)
        die("seed", ret);
    ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret)
        die("config", ret);
    /* The peer uses the build's development certificate: encryption is what is tested here. */
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
}

static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd >= 0) /* each handshake flight is several records: no Nagle wait between them */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

typedef struct conn {
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
} conn;

static void conn_open(conn *c, const char *host, const char *port)
{
    mbedtls_net_init(&c->net);
    mbedtls_ssl_init(&c->ssl);
    c->net.fd = tcp_connect(host, port);
    if (c->net.fd < 0) {
        fprintf(stderr, "tls_client: cannot connect to %s:%s: %s\n", host, port, strerror(errno));
        exit(1);
    }
    int ret = mbedtls_ssl_setup(&c->ssl, &conf);
    if (ret)
        die("ssl_setup", ret);
    mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, mbedtls_net_recv, NULL);
    mbedtls_net_set_block(&c->net);
    while ((ret = mbedtls_ssl_handshake(&c->ssl)) != 0)
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            die("handshake", ret);
}

static void conn_close(conn *c)
{
    mbedtls_ssl_close_notify(&c->ssl);
    mbedtls_net_free(&c->net);
    mbedtls_ssl_free(&c->ssl);
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends `total` bytes and checks the echo, interleaving writes with (slow) reads. */
static int do_echo(const char *host, const char *port, uint64_t total, long read_delay_us)
{
    conn c;
    conn_open(&c, host, port);
    mbedtls_net_set_nonblock(&c.net);
    uint64_t sent = 0, got = 0;
    uint8_t out[8192], in[4096];
    double start = now_s(), deadline = start + 120;
    while (got < total) {
        if (now_s() > deadline) {
            fprintf(stderr, "tls_client: echo timed out at %llu of %llu bytes\n",
                    (unsigned long long)got, (unsigned long long)total);
            return 1;
        }
        if (sent < total && sent - got < (1u << 20)) {
            size_t n = total - sent < sizeof out ? (size_t)(total - sent) : sizeof out;
            for (size_t i = 0; i < n; i++)
                out[i] = pattern(sent + i);
            int ret = mbedtls_ssl_write(&c.ssl, out, n);
            if (ret > 0)
                sent += (uint64_t)ret;
            else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
                die("write", ret);
        }
        int ret = mbedtls_ssl_read(&c.ssl, in, sizeof in);
        if (ret > 0) {
            for (int i = 0; i < ret; i++)
                if (in[i] != pattern(got + (uint64_t)i)) {
                    fprintf(stderr, "tls_client: byte %llu differs\n",
                            (unsigned long long)(got + (uint64_t)i));
                    return 1;
                }
            got += (uint64_t)ret;
            if (read_delay_us > 0)
                usleep((useconds_t)read_delay_us);
        } else if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
            fprintf(stderr, "tls_client: server closed after %llu bytes\n", (unsigned long long)got);
            return 1;
        } else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            die("read", ret);
        } else {
            struct pollfd p = {c.net.fd, POLLIN | (sent < total ? POLLOUT : 0), 0};
            poll(&p, 1, 50);
        }
    }
    double secs = now_s() - start;
    printf("echoed %llu bytes byte-exact in %.2f s (%.1f MB/s)\n", (unsigned long long)got, secs,
           (double)got / secs / 1e6);
    conn_close(&c);
    return 0;
}

static int do_many(const char *host, const char *port, int n)
{
    double start = now_s();
    for (int i = 0; i < n; i++) {
        conn c;
        conn_open(&c, host, port);
        char line[64], back[64];
        int len = snprintf(line, sizeof line, "connection %d\n", i);
        int ret = mbedtls_ssl_write(&c.ssl, (const unsigned char *)line, (size_t)len);
        if (ret != len)
            die("write", ret);
        int got = 0;
        while (got < len) {
            ret = mbedtls_ssl_read(&c.ssl, (unsigned char *)back + got, (size_t)(len - got));
            if (ret <= 0)
                die("read", ret);
            got += ret;
        }
        if (memcmp(line, back, (size_t)len) != 0) {
            fprintf(stderr, "tls_client: connection %d: wrong echo\n", i);
            return 1;
        }
        conn_close(&c);
    }
    double secs = now_s() - start;
    printf("%d sequential connections echoed in %.2f s (%.0f handshakes/s)\n", n, secs, n / secs);
    return 0;
}

/* Holds a TCP connection that never speaks TLS (or speaks it one byte per second). */
static int do_silent(const char *host, const char *port, int seconds, int dribble)
{
    int fd = tcp_connect(host, port);
    if (fd < 0)
        return 1;
    static const uint8_t hello_prefix[] = {0x16, 0x03, 0x01, 0x00, 0xa0, 0x01, 0x00, 0x00, 0x9c,
                                           0x03, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55};
    for (int i = 0; i < seconds; i++) {
        if (dribble && i < (int)sizeof hello_prefix &&
            send(fd, &hello_prefix[i], 1, MSG_NOSIGNAL) != 1)
            break;
        sleep(1);
    }
    close(fd);
    return 0;
}

/* Sends bytes that are not a ClientHello; the server must close the connection (EOF/reset). */
static int do_garbage(const char *host, const char *port)
{
    int fd = tcp_connect(host, port);
    if (fd < 0)
        return 1;
    const char junk[] = "GET / HTTP/1.0\r\n\r\nthis is not TLS at all\r\n";
    send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL);
    struct pollfd p = {fd, POLLIN, 0};
    double deadline = now_s() + 10;
    char buf[512];
    while (now_s() < deadline) {
        if (poll(&p, 1, 200) > 0) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                printf("garbage: server dropped the connection\n");
                close(fd);
                return 0;
            }
            /* a TLS alert may come first; keep reading until the close */
        }
    }
    fprintf(stderr, "tls_client: server kept a garbage connection open for 10 s\n");
    close(fd);
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int do_load(const char *host, const char *port, int n, int active, int rounds, int idle_s)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (active > n)
        active = n;
    if (active > 1024)
        active = 1024; /* per-round bookkeeping below is sized for that */
    conn *conns = calloc((size_t)n, sizeof *conns);
    double *rtt = calloc((size_t)active * (size_t)rounds, sizeof *rtt);
    if (!conns || !rtt)
        return 1;
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        conn_open(&conns[i], host, port);
    printf("open %d sessions in %.2f s\n", n, now_s() - t0);
    fflush(stdout);
    sleep((unsigned)idle_s);
    int samples = 0;
    for (int r = 0; r < rounds; r++) {
        char msg[64];
        double sent_at[1024];
        int got[1024] = {0};
        int len = snprintf(msg, sizeof msg, "round %04d payload 0123456789abcdef\n", r);
        for (int i = 0; i < active && i < 1024; i++) {
            sent_at[i] = now_s();
            if (mbedtls_ssl_write(&conns[i].ssl, (const unsigned char *)msg, (size_t)len) != len)
                die("write", -1);
            mbedtls_net_set_nonblock(&conns[i].net);
        }
        int done = 0;
        double deadline = now_s() + 30;
        while (done < active && now_s() < deadline) {
            struct pollfd fds[1024];
            for (int i = 0; i < active; i++)
                fds[i] = (struct pollfd){got[i] == len ? -1 : conns[i].net.fd, POLLIN, 0};
            poll(fds, (nfds_t)active, 100);
            for (int i = 0; i < active; i++) {
                if (got[i] == len)
                    continue;
                char back[64];
                int ret = mbedtls_ssl_read(&conns[i].ssl, (unsigned char *)back, (size_t)(len - got[i]));
                if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
                    continue;
                if (ret <= 0)
                    die("read", ret);
                if (memcmp(back, msg + got[i], (size_t)ret) != 0) {
                    fprintf(stderr, "tls_client: session %d round %d: wrong echo\n", i, r);
                    return 1;
                }
                got[i] += ret;
                if (got[i] == len) {
                    rtt[samples++] = (now_s() - sent_at[i]) * 1e3;
                    done++;
                }
            }
        }
        if (done < active) {
            fprintf(stderr, "tls_client: round %d: %d of %d echoes missing\n", r, active - done, active);
            return 1;
        }
        for (int i = 0; i < active; i++)
            mbedtls_net_set_block(&conns[i].net);
    }
    qsort(rtt, (size_t)samples, sizeof *rtt, cmp_double);
    printf("echo: %d round trips on %d concurrent sessions byte-exact; p50 %.2f ms, p99 %.2f ms\n",
           samples, active, rtt[samples / 2], rtt[(samples * 99) / 100]);
    for (int i = 0; i < n; i++)
        conn_close(&conns[i]);
    free(conns);
    free(rtt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: tls_client echo|many|silent|dribble|garbage|load HOST PORT [...]\n");
        return 2;
    }
    setup();
    const char *mode = argv[1], *host = argv[2], *port = argv[3];
    if (strcmp(mode, "echo") == 0 && argc >= 5)
        return do_echo(host, port, strtoull(argv[4], NULL, 10), argc > 5 ? atol(argv[5]) : 0);
    if (strcmp(mode, "many") == 0 && argc >= 5)
        return do_many(host, port, atoi(argv[4]));
    if (strcmp(mode, "silent") == 0 && argc >= 5)
        return do_silent(host, port, atoi(argv[4]), 0);
    if (strcmp(mode, "dribble") == 0 && argc >= 5)
        return do_silent(host, port, atoi(argv[4]), 1);
    if (strcmp(mode, "load") == 0 && argc >= 8)
        return do_load(host, port, atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
    if (strcmp(mode, "garbage") == 0)
        return do_garbage(host, port);
    fprintf(stderr, "tls_client: unknown mode %s\n", mode);
    return 2;
}
