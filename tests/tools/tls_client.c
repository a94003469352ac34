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
 * Fault modes (tests/integration/test_faults.sh); each prints one line saying what it did:
 *   tls_client rst-at HOST PORT step:K|recv:R|mid:S  abort with a TCP reset (SO_LINGER {1,0}) at a
 *                                                   chosen boundary of a TLS 1.2 handshake followed
 *                                                   by one echoed line: step:K after K calls of
 *                                                   mbedtls_ssl_handshake_step, recv:R right after
 *                                                   the R-th complete record from the server, mid:S
 *                                                   halfway through our own S-th record. Exit 0 =
 *                                                   reset sent there, 3 = no such boundary (the
 *                                                   handshake and echo finished first), 1 = error
 *   tls_client silent-many HOST PORT N SECONDS      open N TCP connections at once that never
 *                                                   speak (print "open N" once all are up), hold
 *                                                   them SECONDS or until SIGTERM; print how many
 *                                                   the server closed
 *   tls_client timed HOST PORT LIMIT_MS             connect, handshake, echo one line; print the
 *                                                   time taken; fail past LIMIT_MS
 *   tls_client half-close HOST PORT BYTES           send BYTES, then FIN without close_notify;
 *                                                   read the whole echo, then the server's close
 *   tls_client notify-then-read HOST PORT BYTES     send BYTES and close_notify, keep reading: the
 *                                                   whole echo, then the server's close
 *   tls_client oversize HOST PORT first|after LEN   send a record header announcing LEN bytes,
 *                                                   instead of the ClientHello or after a finished
 *                                                   handshake; the server must drop us
 *   tls_client stall-read HOST PORT BYTES STALL_MS  handshake, read nothing for STALL_MS, then read
 *                                                   and check BYTES of the tls_flood pattern and the
 *                                                   server's close
 * Admission modes (tests/integration/test_admission.sh):
 *   tls_client hold-many HOST PORT N HOLD_MS LIMIT_MS  N clients at once (all TCP connections
 *                                                   made before any ClientHello): handshake, echo
 *                                                   one line, keep each session HOLD_MS, close;
 *                                                   print when each handshake finished; fail
 *                                                   unless all are served within LIMIT_MS
 *   tls_client onebyte HOST PORT N SECONDS [once]   keep N connections that each sent one byte of
 *                                                   a ClientHello and then stall; reopen the ones
 *                                                   the server closes (paced; not with `once`);
 *                                                   print "open N" once all are up, then a summary
 * TLS_CLIENT_SOURCE=ADDR in the environment binds every connection to that source address first
 * (on loopback any 127.x.y.z works), so tests can play different peers from one machine.
 * Every wait is bounded; exit status 0 = what was expected happened. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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

/* Binds `fd` to $TLS_CLIENT_SOURCE (port chosen by the kernel) when it is set. 0 on success. */
static int bind_source(int fd, int family)
{
    const char *source = getenv("TLS_CLIENT_SOURCE");
    if (!source || !*source)
        return 0;
    struct addrinfo hints = {0}, *res;
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(source, "0", &hints, &res) != 0) {
        fprintf(stderr, "tls_client: bad TLS_CLIENT_SOURCE %s\n", source);
        return -1;
    }
    int rc = bind(fd, res->ai_addr, res->ai_addrlen);
    if (rc != 0)
        fprintf(stderr, "tls_client: bind to %s: %s\n", source, strerror(errno));
    freeaddrinfo(res);
    return rc;
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
    if (fd >= 0 && (bind_source(fd, res->ai_family) != 0 ||
                    connect(fd, res->ai_addr, res->ai_addrlen) != 0)) {
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

/* ---- fault modes (tests/integration/test_faults.sh) ---- */

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define SSL_STATE(ssl) ((ssl)->MBEDTLS_PRIVATE(state))
#else
#define SSL_STATE(ssl) ((ssl)->state)
#endif

/* Handshake state names of mbedTLS 2.28 (mbedtls_ssl_states); other versions print numbers. */
static const char *state_name(int state)
{
#if MBEDTLS_VERSION_NUMBER < 0x03000000
    static const char *const names[] = {
        "HELLO_REQUEST", "CLIENT_HELLO", "SERVER_HELLO", "SERVER_CERTIFICATE",
        "SERVER_KEY_EXCHANGE", "CERTIFICATE_REQUEST", "SERVER_HELLO_DONE", "CLIENT_CERTIFICATE",
        "CLIENT_KEY_EXCHANGE", "CERTIFICATE_VERIFY", "CLIENT_CHANGE_CIPHER_SPEC", "CLIENT_FINISHED",
        "SERVER_CHANGE_CIPHER_SPEC", "SERVER_FINISHED", "FLUSH_BUFFERS", "HANDSHAKE_WRAPUP",
        "HANDSHAKE_OVER", "SERVER_NEW_SESSION_TICKET", "SERVER_HELLO_VERIFY_REQUEST_SENT"};
    if (state >= 0 && state < (int)(sizeof names / sizeof names[0]))
        return names[state];
#endif
    static char number[16];
    snprintf(number, sizeof number, "state %d", state);
    return number;
}

static void raise_fd_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

/* Aborts the connection with a TCP reset (RST) instead of an orderly FIN. */
static void reset_close(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* 1 when `fd` is ready for `events` before `deadline` (now_s() clock), else 0. */
static int wait_until(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - now_s();
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

static int send_all_fd(int fd, const unsigned char *buf, size_t len)
{
    double deadline = now_s() + 10;
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_until(fd, POLLOUT, deadline))
                return -1;
            continue;
        }
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Non-blocking connect bounded by `deadline`; the socket stays non-blocking. -1 on failure. */
static int tcp_connect_until(const char *host, const char *port, double deadline)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1, err = 0;
    socklen_t err_len = sizeof err;
    if (fd >= 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (bind_source(fd, res->ai_family) != 0 ||
            (connect(fd, res->ai_addr, res->ai_addrlen) != 0 &&
            (errno != EINPROGRESS || !wait_until(fd, POLLOUT, deadline) ||
             getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0 || err != 0))) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* The BIO of rst-at: blocking I/O that counts TLS records in both directions and resets the
 * connection at the requested boundary. Reads never go past the end of a record, so "right after
 * the R-th server record" is exact. */
typedef struct fault_bio {
    int fd;
    int recv_records;   /* complete records received from the server */
    int rst_after_recv; /* reset right after this many (-1: never) */
    unsigned char recv_hdr[5];
    size_t recv_hdr_got;
    size_t recv_body_left;
    int sent_records;   /* records we started to send */
    int rst_mid_send;   /* send half of our record number N, then reset (0: never) */
    size_t send_left;   /* bytes of the current outgoing record not yet passed on */
    int reset;          /* the reset has been sent */
    int server_closed;  /* EOF or reset from the server */
} fault_bio;

static int fault_reset(fault_bio *b)
{
    reset_close(b->fd);
    b->fd = -1;
    b->reset = 1;
    return MBEDTLS_ERR_NET_CONN_RESET;
}

static int fault_recv(void *ctx, unsigned char *buf, size_t len)
{
    fault_bio *b = ctx;
    if (b->reset)
        return MBEDTLS_ERR_NET_CONN_RESET;
    int at_boundary = b->recv_hdr_got == 0;
    if (at_boundary && b->recv_records == b->rst_after_recv)
        return fault_reset(b); /* recv:0, or a boundary reached without a read in between */
    size_t want = b->recv_hdr_got < 5 ? 5 - b->recv_hdr_got : b->recv_body_left;
    if (len > want)
        len = want;
    if (!wait_until(b->fd, POLLIN, now_s() + 10)) {
        fprintf(stderr, "tls_client: nothing from the server for 10 s\n");
        return MBEDTLS_ERR_SSL_TIMEOUT;
    }
    ssize_t n = recv(b->fd, buf, len, 0);
    if (n <= 0) {
        b->server_closed = 1;
        return n == 0 ? 0 : MBEDTLS_ERR_NET_CONN_RESET;
    }
    if (b->recv_hdr_got < 5) {
        memcpy(b->recv_hdr + b->recv_hdr_got, buf, (size_t)n);
        b->recv_hdr_got += (size_t)n;
        if (b->recv_hdr_got == 5)
            b->recv_body_left = (size_t)(b->recv_hdr[3] << 8 | b->recv_hdr[4]);
    } else {
        b->recv_body_left -= (size_t)n;
    }
    if (b->recv_hdr_got == 5 && b->recv_body_left == 0) {
        b->recv_hdr_got = 0;
        if (++b->recv_records == b->rst_after_recv)
            return fault_reset(b);
    }
    return (int)n;
}

static int fault_send(void *ctx, const unsigned char *buf, size_t len)
{
    fault_bio *b = ctx;
    if (b->reset)
        return MBEDTLS_ERR_NET_CONN_RESET;
    for (size_t pos = 0; pos < len;) {
        if (b->send_left == 0) {
            size_t record = len - pos >= 5 ? 5 + (size_t)(buf[pos + 3] << 8 | buf[pos + 4]) : len - pos;
            if (++b->sent_records == b->rst_mid_send) {
                size_t cut = pos + record / 2;
                if (cut > len)
                    cut = len;
                if (send_all_fd(b->fd, buf, cut) != 0)
                    b->server_closed = 1;
                usleep(30000); /* let the server read the half record and wait for the rest */
                return fault_reset(b);
            }
            b->send_left = record;
        }
        size_t take = b->send_left < len - pos ? b->send_left : len - pos;
        pos += take;
        b->send_left -= take;
    }
    if (send_all_fd(b->fd, buf, len) != 0) {
        b->server_closed = 1;
        return MBEDTLS_ERR_NET_SEND_FAILED;
    }
    return (int)len;
}

static int do_rst_at(const char *host, const char *port, const char *spec)
{
    int steps_wanted = -1, value;
    fault_bio b;
    memset(&b, 0, sizeof b);
    b.rst_after_recv = -1;
    if (sscanf(spec, "step:%d", &value) == 1 && value >= 0)
        steps_wanted = value;
    else if (sscanf(spec, "recv:%d", &value) == 1 && value >= 0)
        b.rst_after_recv = value;
    else if (sscanf(spec, "mid:%d", &value) == 1 && value >= 1)
        b.rst_mid_send = value;
    else {
        fprintf(stderr, "tls_client: rst-at wants step:K, recv:R or mid:S, not %s\n", spec);
        return 2;
    }
    b.fd = tcp_connect(host, port);
    if (b.fd < 0) {
        fprintf(stderr, "tls_client: cannot connect to %s:%s: %s\n", host, port, strerror(errno));
        return 1;
    }
    if (steps_wanted == 0) {
        reset_close(b.fd);
        printf("rst-at %s: reset right after the TCP connect\n", spec);
        return 0;
    }
    mbedtls_ssl_context ssl;
    mbedtls_ssl_init(&ssl);
    int ret = mbedtls_ssl_setup(&ssl, &conf);
    if (ret)
        die("ssl_setup", ret);
    mbedtls_ssl_set_bio(&ssl, &b, fault_send, fault_recv, NULL);
    int steps = 0, rc = 1;
    while (SSL_STATE(&ssl) != MBEDTLS_SSL_HANDSHAKE_OVER) {
        int before = SSL_STATE(&ssl);
        ret = mbedtls_ssl_handshake_step(&ssl);
        if (b.reset) {
            printf("rst-at %s: reset in handshake state %s (after %d steps, %d server records "
                   "received, %d records sent)\n",
                   spec, state_name(before), steps, b.recv_records, b.sent_records);
            rc = 0;
            goto out;
        }
        if (ret != 0) {
            char text[160];
            mbedtls_strerror(ret, text, sizeof text);
            fprintf(stderr, "tls_client: rst-at %s: handshake failed in %s before the boundary: "
                            "%s (-0x%04x)%s\n",
                    spec, state_name(before), text, (unsigned)-ret,
                    b.server_closed ? " (the server closed the connection)" : "");
            goto out;
        }
        steps++;
        if (steps == steps_wanted) {
            fault_reset(&b);
            printf("rst-at %s: reset after step %d (%s done, next %s; %d server records "
                   "received, %d records sent)%s\n",
                   spec, steps, state_name(before), state_name(SSL_STATE(&ssl)), b.recv_records,
                   b.sent_records,
                   SSL_STATE(&ssl) == MBEDTLS_SSL_HANDSHAKE_OVER ? " - handshake complete" : "");
            rc = 0;
            goto out;
        }
    }
    /* The handshake is over: one echoed line, still under the record counters. */
    static const unsigned char line[] = "fault probe line\n";
    unsigned char back[sizeof line];
    size_t got = 0;
    ret = mbedtls_ssl_write(&ssl, line, sizeof line - 1);
    while (ret > 0 && got < sizeof line - 1) {
        ret = mbedtls_ssl_read(&ssl, back + got, sizeof line - 1 - got);
        if (ret > 0)
            got += (size_t)ret;
    }
    if (b.reset) {
        printf("rst-at %s: reset during the echo after the handshake (%d steps, %d server "
               "records received, %d records sent)\n",
               spec, steps, b.recv_records, b.sent_records);
        rc = 0;
        goto out;
    }
    if (got != sizeof line - 1 || memcmp(back, line, got) != 0) {
        fprintf(stderr, "tls_client: rst-at %s: no echo after the handshake (%d)\n", spec, ret);
        goto out;
    }
    printf("rst-at %s: no such boundary: handshake in %d steps, %d server records and %d sent "
           "records incl. one echoed line (TLS %s)\n",
           spec, steps, b.recv_records, b.sent_records, mbedtls_ssl_get_version(&ssl));
    mbedtls_ssl_close_notify(&ssl);
    rc = 3;
out:
    if (b.fd >= 0)
        close(b.fd);
    mbedtls_ssl_free(&ssl);
    return rc;
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* What the many-connection modes share: SIGTERM/SIGINT end their hold (on_stop_signal), the
 * descriptor limit raised, the server's address. NULL when n < 1 or the address does not resolve. */
static struct addrinfo *crowd_begin(const char *host, const char *port, int n)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    raise_fd_limit();
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    if (n < 1 || getaddrinfo(host, port, &hints, &res) != 0)
        return NULL;
    return res;
}

/* N connections that never speak, opened at once. Prints "open N" when all are connected, holds
 * them for SECONDS or until SIGTERM/SIGINT, then closes the rest and prints a summary (how many
 * the server closed meanwhile). */
static int do_silent_many(const char *host, const char *port, int n, int seconds)
{
    struct addrinfo *res = crowd_begin(host, port, n);
    if (!res)
        return 2;
    struct pollfd *fds = calloc((size_t)n, sizeof *fds);
    char *connecting = calloc((size_t)n, 1);
    if (!fds || !connecting)
        return 1;
    long closed_by_server = 0, failures = 0;
    int announced = 0, open_now = 0;
    double start = now_s(), end = start + seconds;
    for (int i = 0; i < n; i++) {
        fds[i] = (struct pollfd){-1, POLLOUT, 0};
        int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            fprintf(stderr, "tls_client: socket %d: %s\n", i, strerror(errno));
            failures++;
            continue;
        }
        if (bind_source(fd, res->ai_family) != 0 ||
            (connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS)) {
            close(fd);
            failures++;
            continue;
        }
        fds[i].fd = fd;
        connecting[i] = 1;
    }
    while (now_s() < end && !stop_requested) {
        if (!announced && open_now + failures == n && failures > 0)
            break; /* every connect has finished and some failed: never all open */
        if (!announced && open_now == n) {
            printf("open %d silent connections in %.3f s\n", n, now_s() - start);
            fflush(stdout);
            announced = 1;
        }
        if (poll(fds, (nfds_t)n, 20) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            if (connecting[i]) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
                connecting[i] = 0;
                if (err != 0) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    failures++;
                    continue;
                }
                open_now++;
                fds[i].events = POLLIN; /* from now on only the server's close matters */
                continue;
            }
            char scratch[256];
            if (recv(fds[i].fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0)
                continue; /* the server said something (an alert): wait for the close */
            close(fds[i].fd);
            fds[i].fd = -1;
            closed_by_server++;
        }
    }
    int still_open = 0;
    for (int i = 0; i < n; i++)
        if (fds[i].fd >= 0) {
            still_open += !connecting[i];
            close(fds[i].fd);
        }
    printf("silent-many: %d connections, held %.2f s%s: %ld closed by the server meanwhile, %d "
           "still open at the end, %ld connect failures%s\n",
           n, now_s() - start, stop_requested ? " (until stopped)" : "", closed_by_server,
           still_open, failures, announced ? "" : " (never all open at once)");
    freeaddrinfo(res);
    free(fds);
    free(connecting);
    return announced ? 0 : 1;
}

/* Runs `op` (an mbedTLS call on non-blocking I/O) until it is neither WANT_READ nor WANT_WRITE,
 * waiting on the socket in between, at most until `deadline`. */
#define RETRY_UNTIL(ret, op, fd, deadline)                                                          \
    do {                                                                                            \
        (ret) = (op);                                                                               \
        if ((ret) != MBEDTLS_ERR_SSL_WANT_READ && (ret) != MBEDTLS_ERR_SSL_WANT_WRITE)              \
            break;                                                                                  \
        if (!wait_until((fd), (ret) == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT, (deadline))) \
            break;                                                                                  \
    } while (1)

/* A real client: connect, handshake and one echoed line, all within LIMIT_MS. */
static int do_timed(const char *host, const char *port, int limit_ms)
{
    double start = now_s(), deadline = start + limit_ms / 1000.0;
    const char *stage = "connect";
    int rc = 1, ret = 0;
    double handshake_at = 0;
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    mbedtls_net_init(&net);
    mbedtls_ssl_init(&ssl);
    net.fd = tcp_connect_until(host, port, deadline);
    if (net.fd < 0)
        goto out;
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0)
        die("ssl_setup", ret);
    mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
    stage = "handshake";
    RETRY_UNTIL(ret, mbedtls_ssl_handshake(&ssl), net.fd, deadline);
    if (ret != 0)
        goto out;
    handshake_at = now_s();
    stage = "echo";
    static const unsigned char line[] = "slowloris survivor\n";
    unsigned char back[sizeof line];
    RETRY_UNTIL(ret, mbedtls_ssl_write(&ssl, line, sizeof line - 1), net.fd, deadline);
    if (ret != (int)sizeof line - 1)
        goto out;
    size_t got = 0;
    while (got < sizeof line - 1) {
        RETRY_UNTIL(ret, mbedtls_ssl_read(&ssl, back + got, sizeof line - 1 - got), net.fd,
                    deadline);
        if (ret <= 0)
            goto out;
        got += (size_t)ret;
    }
    if (memcmp(back, line, got) != 0)
        goto out;
    double ms = (now_s() - start) * 1e3;
    printf("timed: served in %.1f ms (connect + handshake %.1f ms)\n", ms,
           (handshake_at - start) * 1e3);
    rc = ms <= limit_ms ? 0 : 1;
    stage = NULL;
    mbedtls_ssl_close_notify(&ssl);
out:
    if (stage) {
        char text[160] = "";
        if (ret < 0)
            mbedtls_strerror(ret, text, sizeof text);
        printf("timed: not served within %d ms (stopped in %s after %.0f ms%s%s)\n", limit_ms,
               stage, (now_s() - start) * 1e3, text[0] ? ": " : "", text);
    }
    mbedtls_net_free(&net);
    mbedtls_ssl_free(&ssl);
    return rc;
}

/* Reads the rest of the stream until the server's close: checks `total` bytes against
 * `expect` (a position-dependent pattern) and reports how the stream ended. 0 = all bytes
 * byte-exact and a clean end (close_notify or EOF), else 1. */
static int read_to_close(conn *c, uint64_t total, uint8_t (*expect)(uint64_t), double deadline,
                         uint64_t *got_out, const char **end_out)
{
    static unsigned char in[16384];
    uint64_t got = 0;
    *end_out = "timeout";
    mbedtls_net_set_nonblock(&c->net);
    for (;;) {
        int ret;
        RETRY_UNTIL(ret, mbedtls_ssl_read(&c->ssl, in, sizeof in), c->net.fd, deadline);
        if (ret > 0) {
            for (int i = 0; i < ret; i++)
                if (got + (uint64_t)i >= total || in[i] != expect(got + (uint64_t)i)) {
                    fprintf(stderr, "tls_client: byte %llu is wrong or one too many\n",
                            (unsigned long long)(got + (uint64_t)i));
                    *got_out = got + (uint64_t)i;
                    *end_out = "corrupt stream";
                    return 1;
                }
            got += (uint64_t)ret;
            continue;
        }
        *got_out = got;
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            *end_out = "close_notify";
        else if (ret == 0)
            *end_out = "EOF without close_notify";
        else if (ret == MBEDTLS_ERR_NET_CONN_RESET)
            *end_out = "reset";
        else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            *end_out = "TLS error";
        return !(got == total && (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0));
    }
}

static uint8_t echo_pattern(uint64_t i) { return pattern(i); }

/* Sends BYTES, then ends its sending side without (FIN) or with (close_notify) TLS's goodbye,
 * and reads everything the echo server sends back until it closes. */
static int do_half_close(const char *host, const char *port, uint64_t total, int notify)
{
    conn c;
    conn_open(&c, host, port);
    static unsigned char out[16384];
    for (uint64_t sent = 0; sent < total;) {
        size_t n = total - sent < sizeof out ? (size_t)(total - sent) : sizeof out;
        for (size_t i = 0; i < n; i++)
            out[i] = pattern(sent + i);
        int ret = mbedtls_ssl_write(&c.ssl, out, n);
        if (ret <= 0)
            die("write", ret);
        sent += (uint64_t)ret;
    }
    const char *how;
    if (notify) {
        int ret = mbedtls_ssl_close_notify(&c.ssl);
        if (ret != 0)
            die("close_notify", ret);
        how = "close_notify (socket left open for reading)";
    } else {
        if (shutdown(c.net.fd, SHUT_WR) != 0) {
            perror("tls_client: shutdown");
            return 1;
        }
        how = "TCP FIN without close_notify (shutdown SHUT_WR)";
    }
    uint64_t got;
    const char *end;
    int rc = read_to_close(&c, total, echo_pattern, now_s() + 20, &got, &end);
    printf("%s: sent %llu bytes then %s; echo %llu of %llu bytes%s; then %s\n",
           notify ? "notify-then-read" : "half-close", (unsigned long long)total, how,
           (unsigned long long)got, (unsigned long long)total, rc == 0 ? " byte-exact" : "", end);
    mbedtls_net_free(&c.net);
    mbedtls_ssl_free(&c.ssl);
    return rc;
}

/* Waits (10 s at most) for the server to drop the connection; true when it did. */
static int wait_dropped(int fd, double start, const char *what)
{
    double deadline = now_s() + 10;
    char buf[4096];
    long alert_bytes = 0;
    while (wait_until(fd, POLLIN, deadline)) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            alert_bytes += n; /* a TLS alert may come first */
            continue;
        }
        printf("%s: server dropped the connection after %.0f ms (%s%s)\n", what,
               (now_s() - start) * 1e3, n == 0 ? "EOF" : "reset",
               alert_bytes ? ", after an alert" : "");
        return 1;
    }
    printf("%s: server kept the connection open for 10 s\n", what);
    return 0;
}

static int local_port_of(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    return ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                         : ((struct sockaddr_in *)&a)->sin_port);
}

/* A record header announcing `len` bytes (more than TLS allows past 16384 + 2048) followed by
 * some of those bytes: instead of the ClientHello, or after a finished handshake. */
static int do_oversize(const char *host, const char *port, const char *when, long len)
{
    if (len < 0 || len > 0xffff || (strcmp(when, "first") != 0 && strcmp(when, "after") != 0))
        return 2;
    unsigned char record[5 + 4096];
    memset(record, 0x41, sizeof record);
    record[1] = 0x03;
    record[2] = 0x03;
    record[3] = (unsigned char)(len >> 8);
    record[4] = (unsigned char)len;
    conn c;
    int fd;
    if (strcmp(when, "first") == 0) {
        record[0] = 0x16; /* handshake, where the ClientHello belongs */
        fd = tcp_connect(host, port);
        if (fd < 0)
            return 1;
    } else {
        conn_open(&c, host, port);
        fd = c.net.fd;
        static const unsigned char line[] = "before the oversize record\n";
        unsigned char back[sizeof line];
        if (mbedtls_ssl_write(&c.ssl, line, sizeof line - 1) != (int)sizeof line - 1)
            return 1;
        for (int got = 0; got < (int)sizeof line - 1;) {
            int ret = mbedtls_ssl_read(&c.ssl, back + got, sizeof line - 1 - (size_t)got);
            if (ret <= 0)
                die("read", ret);
            got += ret;
        }
        record[0] = 0x17; /* application data */
    }
    char what[96];
    snprintf(what, sizeof what, "oversize %s: local port %d, record of %ld bytes announced", when,
             local_port_of(fd), len);
    size_t body = (size_t)len < sizeof record - 5 ? (size_t)len : sizeof record - 5;
    double start = now_s();
    send(fd, record, 5 + body, MSG_NOSIGNAL); /* the server may reset before taking all of it */
    int dropped = wait_dropped(fd, start, what);
    close(fd);
    if (strcmp(when, "after") == 0) {
        c.net.fd = -1;
        mbedtls_ssl_free(&c.ssl);
    }
    return dropped ? 0 : 1;
}

/* The tls_flood app's stream: byte i of a splitmix64 sequence, so a lost, repeated or
 * reordered piece anywhere shows up as a wrong byte (no short period). */
static uint8_t flood_byte(uint64_t i)
{
    uint64_t z = (i >> 3) + 0x9E3779B97F4A7C15u;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    return (uint8_t)(z >> ((i & 7) * 8));
}

/* Handshake, then read nothing for STALL_MS while the server sends; then read and check it all. */
static int do_stall_read(const char *host, const char *port, uint64_t total, long stall_ms)
{
    conn c;
    conn_open(&c, host, port);
    printf("stall-read: handshake done, not reading for %ld ms\n", stall_ms);
    fflush(stdout);
    struct timespec ts = {stall_ms / 1000, (stall_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    double start = now_s();
    uint64_t got;
    const char *end;
    int rc = read_to_close(&c, total, flood_byte, start + 120, &got, &end);
    double secs = now_s() - start;
    printf("stall-read: received %llu of %llu bytes%s in %.2f s after the stall; then %s\n",
           (unsigned long long)got, (unsigned long long)total, rc == 0 ? " byte-exact" : "", secs,
           end);
    mbedtls_net_free(&c.net);
    mbedtls_ssl_free(&c.ssl);
    return rc;
}

/* ---- admission modes (tests/integration/test_admission.sh) ---- */

/* One of the sessions of hold-many. */
typedef struct held_session {
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    enum { HELD_HANDSHAKE, HELD_WRITE, HELD_READ, HELD_HOLD, HELD_DONE, HELD_FAILED } phase;
    size_t got;
    double handshake_ms, served_ms, hold_until;
    char why[160];
} held_session;

static void held_fail(held_session *h, const char *what, int ret, double ms)
{
    char text[112] = "";
    if (ret < 0)
        mbedtls_strerror(ret, text, sizeof text);
    snprintf(h->why, sizeof h->why, "failed in %s after %.0f ms%s%s", what, ms, text[0] ? ": " : "",
             text);
    h->phase = HELD_FAILED;
}

/* N clients that arrive at once: all N TCP connections are made before any of them sends its
 * ClientHello (so the server sees them queued together), then the handshakes run side by side;
 * each session echoes one line, is held HOLD_MS (the server must not close it meanwhile) and
 * closed. Prints when each handshake finished; fails unless all are served within LIMIT_MS. */
static int do_hold_many(const char *host, const char *port, int n, int hold_ms, int limit_ms)
{
    static const unsigned char line[] = "holding a session\n";
    if (n < 1 || n > 64)
        return 2;
    held_session *h = calloc((size_t)n, sizeof *h);
    if (!h)
        return 1;
    double start = now_s(), deadline = start + limit_ms / 1000.0;
    for (int i = 0; i < n; i++) {
        mbedtls_net_init(&h[i].net);
        mbedtls_ssl_init(&h[i].ssl);
        h[i].net.fd = tcp_connect(host, port);
        if (h[i].net.fd < 0) {
            fprintf(stderr, "tls_client: cannot connect to %s:%s: %s\n", host, port,
                    strerror(errno));
            return 1;
        }
    }
    for (int i = 0; i < n; i++) {
        int ret = mbedtls_ssl_setup(&h[i].ssl, &conf);
        if (ret)
            die("ssl_setup", ret);
        mbedtls_ssl_set_bio(&h[i].ssl, &h[i].net, mbedtls_net_send, mbedtls_net_recv, NULL);
        mbedtls_net_set_nonblock(&h[i].net);
    }
    int active = n;
    while (active > 0) {
        double now = now_s(), ms = (now - start) * 1e3;
        struct pollfd fds[64];
        active = 0;
        for (int i = 0; i < n; i++) {
            held_session *c = &h[i];
            fds[i] = (struct pollfd){-1, POLLIN, 0};
            int ret = 0;
            if (c->phase < HELD_HOLD && now > deadline)
                held_fail(c, "time", 0, ms);
            if (c->phase == HELD_HANDSHAKE) {
                ret = mbedtls_ssl_handshake(&c->ssl);
                if (ret == 0) {
                    c->handshake_ms = ms;
                    c->phase = HELD_WRITE;
                } else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
                    held_fail(c, "handshake", ret, ms);
                }
            }
            if (c->phase == HELD_WRITE) {
                ret = mbedtls_ssl_write(&c->ssl, line, sizeof line - 1);
                if (ret == (int)sizeof line - 1)
                    c->phase = HELD_READ;
                else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
                    held_fail(c, "echo", ret, ms);
            }
            if (c->phase == HELD_READ) {
                unsigned char back[sizeof line];
                ret = mbedtls_ssl_read(&c->ssl, back, sizeof line - 1 - c->got);
                if (ret > 0 && memcmp(back, line + c->got, (size_t)ret) == 0) {
                    c->got += (size_t)ret;
                    if (c->got == sizeof line - 1) {
                        c->served_ms = ms;
                        c->hold_until = now + hold_ms / 1000.0;
                        c->phase = HELD_HOLD;
                        ret = 0;
                    }
                } else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
                    held_fail(c, "echo", ret <= 0 ? ret : 0, ms);
                }
            }
            if (c->phase == HELD_HOLD && now >= c->hold_until) {
                mbedtls_ssl_close_notify(&c->ssl);
                c->phase = HELD_DONE;
            }
            if (c->phase == HELD_DONE || c->phase == HELD_FAILED)
                continue;
            active++;
            fds[i].fd = c->net.fd;
            fds[i].events = ret == MBEDTLS_ERR_SSL_WANT_WRITE ? POLLOUT : POLLIN;
        }
        if (active == 0)
            break;
        if (poll(fds, (nfds_t)n, 10) <= 0)
            continue;
        /* Anything from the server during the hold (an alert, close_notify, EOF) ends it early. */
        for (int i = 0; i < n; i++)
            if (h[i].phase == HELD_HOLD && fds[i].revents)
                held_fail(&h[i], "hold (the server closed the session)", 0,
                          (now_s() - start) * 1e3);
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (h[i].phase == HELD_DONE)
            printf("hold-many: connection %d: handshake after %.1f ms, echoed after %.1f ms, "
                   "held %d ms\n",
                   i, h[i].handshake_ms, h[i].served_ms, hold_ms);
        else if (h[i].handshake_ms > 0)
            printf("hold-many: connection %d: handshake after %.1f ms, then %s\n", i,
                   h[i].handshake_ms, h[i].why);
        else
            printf("hold-many: connection %d: %s\n", i, h[i].why);
        rc |= h[i].phase != HELD_DONE;
        mbedtls_net_free(&h[i].net);
        mbedtls_ssl_free(&h[i].ssl);
    }
    free(h);
    return rc;
}

/* A connection of the one-byte attacker: -1 = closed, else its descriptor. */
static int onebyte_open(const struct addrinfo *res)
{
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    if (bind_source(fd, res->ai_family) != 0 ||
        (connect(fd, res->ai_addr, res->ai_addrlen) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* N connections that each send the first byte of a ClientHello and then say nothing more, for
 * SECONDS or until SIGTERM/SIGINT. Unless `once`, a connection the server closes is reopened, at
 * most one every 5 ms, so the attack keeps its pressure without spinning. */
static int do_onebyte(const char *host, const char *port, int n, int seconds, int once)
{
    struct addrinfo *res = crowd_begin(host, port, n);
    if (!res)
        return 2;
    struct pollfd *fds = calloc((size_t)n, sizeof *fds);
    char *sent = calloc((size_t)n, 1);
    if (!fds || !sent)
        return 1;
    long opened = 0, closed_by_server = 0, failures = 0;
    int announced = 0;
    double start = now_s(), end = start + seconds, next_reopen = 0;
    for (int i = 0; i < n; i++) {
        fds[i] = (struct pollfd){onebyte_open(res), POLLOUT, 0};
        opened += fds[i].fd >= 0;
        failures += fds[i].fd < 0;
    }
    while (now_s() < end && !stop_requested) {
        int stalled = 0, connecting = 0;
        for (int i = 0; i < n; i++) {
            stalled += fds[i].fd >= 0 && sent[i];
            connecting += fds[i].fd >= 0 && !sent[i];
            if (fds[i].fd < 0 && !once && now_s() >= next_reopen) {
                fds[i] = (struct pollfd){onebyte_open(res), POLLOUT, 0};
                sent[i] = 0;
                opened += fds[i].fd >= 0;
                failures += fds[i].fd < 0;
                next_reopen = now_s() + 0.005;
            }
        }
        if (!announced && connecting == 0 && (once || stalled == n)) {
            printf("open %d one-byte connections in %.3f s\n", stalled, now_s() - start);
            fflush(stdout);
            announced = 1;
        }
        if (poll(fds, (nfds_t)n, 5) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            if (!sent[i]) {
                int err = 0;
                socklen_t len = sizeof err;
                static const unsigned char first = 0x16; /* a handshake record begins */
                getsockopt(fds[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || send(fds[i].fd, &first, 1, MSG_NOSIGNAL) != 1) {
                    close(fds[i].fd);
                    fds[i].fd = -1;
                    failures++;
                    continue;
                }
                sent[i] = 1;
                fds[i].events = POLLIN; /* from now on only the server's close matters */
                continue;
            }
            char scratch[256];
            if (recv(fds[i].fd, scratch, sizeof scratch, MSG_DONTWAIT) > 0)
                continue; /* an alert: wait for the close */
            close(fds[i].fd);
            fds[i].fd = -1;
            closed_by_server++;
        }
    }
    int still_open = 0;
    for (int i = 0; i < n; i++)
        if (fds[i].fd >= 0) {
            still_open++;
            close(fds[i].fd);
        }
    printf("onebyte: %d connections held %.2f s%s: %ld opened in all, %ld closed by the server, "
           "%d open at the end, %ld connect failures%s\n",
           n, now_s() - start, stop_requested ? " (until stopped)" : "", opened, closed_by_server,
           still_open, failures, announced ? "" : " (never all open at once)");
    freeaddrinfo(res);
    free(fds);
    free(sent);
    return announced ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: tls_client echo|many|silent|dribble|garbage|load|rst-at|silent-many|timed|"
                        "half-close|notify-then-read|oversize|stall-read|hold-many|onebyte HOST PORT [...]\n");
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
    if (strcmp(mode, "rst-at") == 0 && argc >= 5)
        return do_rst_at(host, port, argv[4]);
    if (strcmp(mode, "silent-many") == 0 && argc >= 6)
        return do_silent_many(host, port, atoi(argv[4]), atoi(argv[5]));
    if (strcmp(mode, "timed") == 0 && argc >= 5)
        return do_timed(host, port, atoi(argv[4]));
    if (strcmp(mode, "half-close") == 0 && argc >= 5)
        return do_half_close(host, port, strtoull(argv[4], NULL, 10), 0);
    if (strcmp(mode, "notify-then-read") == 0 && argc >= 5)
        return do_half_close(host, port, strtoull(argv[4], NULL, 10), 1);
    if (strcmp(mode, "oversize") == 0 && argc >= 6)
        return do_oversize(host, port, argv[4], strtol(argv[5], NULL, 0));
    if (strcmp(mode, "stall-read") == 0 && argc >= 6)
        return do_stall_read(host, port, strtoull(argv[4], NULL, 10), atol(argv[5]));
    if (strcmp(mode, "hold-many") == 0 && argc >= 7)
        return do_hold_many(host, port, atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    if (strcmp(mode, "onebyte") == 0 && argc >= 6)
        return do_onebyte(host, port, atoi(argv[4]), atoi(argv[5]),
                          argc > 6 && strcmp(argv[6], "once") == 0);
    fprintf(stderr, "tls_client: unknown mode %s\n", mode);
    return 2;
}
