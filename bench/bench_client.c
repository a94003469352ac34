/* bench_client.c - the load client of `make bench` (mbedTLS client side, threads for concurrency).
 *   bench_client handshakes HOST PORT SECONDS THREADS [resume] [noecho]  full (or ticket-resumed)
 *                                                               handshakes per second, each with one
 *                                                               echo (noecho: handshake only, for
 *                                                               servers that do not echo)
 *   bench_client bulk HOST PORT MIB STREAMS                     echo MIB MiB per stream, MB/s total
 *   bench_client rtt HOST PORT CLIENTS ROUNDS                   64-byte echoes on CLIENTS at once:
 *                                                               p50/p99 round trip
 *   bench_client idle HOST PORT N SECONDS                       hold N idle sessions (memory)
 * Every echo is verified byte for byte: a wrong byte fails the run (exit 1). Output: one line
 * "RESULT key=value ..." per run, for bench/run.sh. */
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *g_host, *g_port;
static atomic_int g_failed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *what, int ret)
{
    char text[160];
    mbedtls_strerror(ret, text, sizeof text);
    fprintf(stderr, "bench_client: %s: %s (-0x%04x)\n", what, text, (unsigned)-ret);
    atomic_store(&g_failed, 1);
}

/* Per thread: its own DRBG and config (mbedTLS contexts are not shared across threads). */
typedef struct client_ctx {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
} client_ctx;

static int ctx_init(client_ctx *c)
{
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_ssl_config_init(&c->conf);
    if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                              (const unsigned char *)"bench", 5) != 0 ||
        mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return -1;
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE); /* dev certificate */
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    return 0;
}

static void ctx_free(client_ctx *c)
{
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
}

typedef struct conn {
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
} conn;

static int tcp_connect(void)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(g_host, g_port, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Connects and handshakes (resuming `session` when given). 0 on success. */
static int conn_open(conn *c, client_ctx *ctx, mbedtls_ssl_session *session)
{
    mbedtls_net_init(&c->net);
    mbedtls_ssl_init(&c->ssl);
    c->net.fd = tcp_connect();
    if (c->net.fd < 0) {
        fprintf(stderr, "bench_client: connect %s:%s: %s\n", g_host, g_port, strerror(errno));
        atomic_store(&g_failed, 1);
        return -1;
    }
    int ret = mbedtls_ssl_setup(&c->ssl, &ctx->conf);
    if (ret == 0 && session)
        ret = mbedtls_ssl_set_session(&c->ssl, session);
    if (ret != 0) {
        report("setup", ret);
        return -1;
    }
    mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, mbedtls_net_recv, NULL);
    while ((ret = mbedtls_ssl_handshake(&c->ssl)) != 0)
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            report("handshake", ret);
            return -1;
        }
    return 0;
}

static void conn_close(conn *c)
{
    mbedtls_ssl_close_notify(&c->ssl);
    mbedtls_net_free(&c->net);
    mbedtls_ssl_free(&c->ssl);
}

/* Writes `len` bytes and reads them back (blocking), verifying. */
static int echo_once(conn *c, const unsigned char *msg, size_t len)
{
    size_t off = 0;
    while (off < len) {
        int ret = mbedtls_ssl_write(&c->ssl, msg + off, len - off);
        if (ret <= 0) {
            report("write", ret);
            return -1;
        }
        off += (size_t)ret;
    }
    unsigned char back[256];
    size_t got = 0;
    while (got < len) {
        int ret = mbedtls_ssl_read(&c->ssl, back + got, len - got);
        if (ret <= 0) {
            report("read", ret);
            return -1;
        }
        got += (size_t)ret;
    }
    if (memcmp(back, msg, len) != 0) {
        fprintf(stderr, "bench_client: wrong echo\n");
        atomic_store(&g_failed, 1);
        return -1;
    }
    return 0;
}

/* ---- handshakes ---- */

typedef struct hs_job {
    double until;
    int resume, noecho;
    long done;
} hs_job;

static void *hs_thread(void *arg)
{
    hs_job *job = arg;
    client_ctx ctx;
    if (ctx_init(&ctx) != 0)
        return NULL;
    mbedtls_ssl_session saved;
    mbedtls_ssl_session_init(&saved);
    int have_saved = 0;
    static const unsigned char msg[] = "bench handshake probe\n";
    while (now_s() < job->until && !atomic_load(&g_failed)) {
        conn c;
        if (conn_open(&c, &ctx, job->resume && have_saved ? &saved : NULL) != 0)
            break;
        if (!job->noecho && echo_once(&c, msg, sizeof msg - 1) != 0)
            break;
        if (job->resume && !have_saved && mbedtls_ssl_get_session(&c.ssl, &saved) == 0)
            have_saved = 1; /* later connections offer this session's ticket */
        conn_close(&c);
        job->done++;
    }
    mbedtls_ssl_session_free(&saved);
    ctx_free(&ctx);
    return NULL;
}

static int run_handshakes(double seconds, int threads, int resume, int noecho)
{
    pthread_t tid[64];
    hs_job jobs[64];
    if (threads > 64)
        threads = 64;
    double start = now_s();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (hs_job){start + seconds, resume, noecho, 0};
        pthread_create(&tid[i], NULL, hs_thread, &jobs[i]);
    }
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += jobs[i].done;
    }
    double secs = now_s() - start;
    if (atomic_load(&g_failed))
        return 1;
    printf("RESULT mode=%s handshakes=%ld seconds=%.2f rate=%.1f\n", resume ? "resumed" : "full",
           total, secs, (double)total / secs);
    return atomic_load(&g_failed) ? 1 : 0;
}

/* ---- bulk ---- */

typedef struct bulk_job {
    uint64_t bytes;
} bulk_job;

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static void *bulk_thread(void *arg)
{
    bulk_job *job = arg;
    client_ctx ctx;
    conn c;
    if (ctx_init(&ctx) != 0 || conn_open(&c, &ctx, NULL) != 0)
        return NULL;
    mbedtls_net_set_nonblock(&c.net);
    uint64_t sent = 0, got = 0;
    static __thread unsigned char out[16384], in[16384];
    while (got < job->bytes && !atomic_load(&g_failed)) {
        int progress = 0;
        if (sent < job->bytes && sent - got < (1u << 20)) {
            size_t n = job->bytes - sent < sizeof out ? (size_t)(job->bytes - sent) : sizeof out;
            for (size_t i = 0; i < n; i++)
                out[i] = pattern(sent + i);
            int ret = mbedtls_ssl_write(&c.ssl, out, n);
            if (ret > 0) {
                sent += (uint64_t)ret;
                progress = 1;
            } else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
                report("write", ret);
                break;
            }
        }
        int ret = mbedtls_ssl_read(&c.ssl, in, sizeof in);
        if (ret > 0) {
            for (int i = 0; i < ret; i++)
                if (in[i] != pattern(got + (uint64_t)i)) {
                    fprintf(stderr, "bench_client: bulk byte %llu differs\n",
                            (unsigned long long)(got + (uint64_t)i));
                    atomic_store(&g_failed, 1);
                    break;
                }
            got += (uint64_t)ret;
            progress = 1;
        } else if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
            report("read", ret);
            break;
        }
        if (!progress) {
            struct pollfd p = {c.net.fd, POLLIN | (sent < job->bytes ? POLLOUT : 0), 0};
            poll(&p, 1, 20);
        }
    }
    mbedtls_net_set_block(&c.net);
    conn_close(&c);
    ctx_free(&ctx);
    return NULL;
}

static int run_bulk(int mib, int streams)
{
    pthread_t tid[64];
    bulk_job jobs[64];
    if (streams > 64)
        streams = 64;
    double start = now_s();
    for (int i = 0; i < streams; i++) {
        jobs[i].bytes = (uint64_t)mib << 20;
        pthread_create(&tid[i], NULL, bulk_thread, &jobs[i]);
    }
    for (int i = 0; i < streams; i++)
        pthread_join(tid[i], NULL);
    double secs = now_s() - start;
    double total = (double)mib * streams * 1048576.0;
    if (atomic_load(&g_failed))
        return 1;
    printf("RESULT mode=bulk streams=%d mib=%d seconds=%.2f mbps=%.1f\n", streams, mib, secs,
           total / secs / 1e6);
    return atomic_load(&g_failed) ? 1 : 0;
}

/* ---- round trips ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_rtt(int clients, int rounds)
{
    client_ctx ctx;
    if (ctx_init(&ctx) != 0)
        return 1;
    conn *cs = calloc((size_t)clients, sizeof *cs);
    double *rtt = calloc((size_t)clients * (size_t)rounds, sizeof *rtt);
    double *sent_at = calloc((size_t)clients, sizeof *sent_at);
    int *got = calloc((size_t)clients, sizeof *got);
    struct pollfd *fds = calloc((size_t)clients, sizeof *fds);
    int rc = 1, opened = 0;
    if (!cs || !rtt || !sent_at || !got || !fds)
        goto out;
    for (; opened < clients; opened++)
        if (conn_open(&cs[opened], &ctx, NULL) != 0)
            goto out;
    int samples = 0;
    unsigned char msg[64];
    for (int r = 0; r < rounds && !atomic_load(&g_failed); r++) {
        for (int i = 0; i < 64; i++)
            msg[i] = (unsigned char)('A' + (r + i) % 26);
        for (int i = 0; i < clients; i++) {
            got[i] = 0;
            sent_at[i] = now_s();
            if (mbedtls_ssl_write(&cs[i].ssl, msg, sizeof msg) != (int)sizeof msg) {
                report("write", -1);
                goto out;
            }
            mbedtls_net_set_nonblock(&cs[i].net);
        }
        int done = 0;
        double deadline = now_s() + 30;
        while (done < clients && now_s() < deadline) {
            for (int i = 0; i < clients; i++)
                fds[i] = (struct pollfd){got[i] == 64 ? -1 : cs[i].net.fd, POLLIN, 0};
            poll(fds, (nfds_t)clients, 100);
            for (int i = 0; i < clients; i++) {
                if (got[i] == 64)
                    continue;
                unsigned char back[64];
                int ret = mbedtls_ssl_read(&cs[i].ssl, back, (size_t)(64 - got[i]));
                if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
                    continue;
                if (ret <= 0 || memcmp(back, msg + got[i], (size_t)ret) != 0) {
                    fprintf(stderr, "bench_client: rtt: wrong or missing echo\n");
                    goto out;
                }
                got[i] += ret;
                if (got[i] == 64) {
                    rtt[samples++] = (now_s() - sent_at[i]) * 1e3;
                    done++;
                }
            }
        }
        if (done < clients) {
            fprintf(stderr, "bench_client: rtt: %d echoes missing\n", clients - done);
            goto out;
        }
        for (int i = 0; i < clients; i++)
            mbedtls_net_set_block(&cs[i].net);
    }
    qsort(rtt, (size_t)samples, sizeof *rtt, cmp_double);
    printf("RESULT mode=rtt clients=%d samples=%d p50_ms=%.3f p99_ms=%.3f\n", clients, samples,
           rtt[samples / 2], rtt[(samples * 99) / 100]);
    rc = 0;
out:
    for (int i = 0; i < opened; i++)
        conn_close(&cs[i]);
    free(cs);
    free(rtt);
    free(sent_at);
    free(got);
    free(fds);
    ctx_free(&ctx);
    return rc;
}

static int run_idle(int n, int seconds)
{
    client_ctx ctx;
    if (ctx_init(&ctx) != 0)
        return 1;
    conn *cs = calloc((size_t)n, sizeof *cs);
    if (!cs)
        return 1;
    for (int i = 0; i < n; i++)
        if (conn_open(&cs[i], &ctx, NULL) != 0)
            return 1;
    printf("RESULT mode=idle sessions=%d\n", n);
    fflush(stdout);
    sleep((unsigned)seconds);
    for (int i = 0; i < n; i++)
        conn_close(&cs[i]);
    free(cs);
    ctx_free(&ctx);
    return 0;
}

int main(int argc, char **argv)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (argc < 6) {
        fprintf(stderr, "usage: bench_client handshakes|bulk|rtt|idle HOST PORT ...\n");
        return 2;
    }
    g_host = argv[2];
    g_port = argv[3];
    const char *mode = argv[1];
    if (strcmp(mode, "handshakes") == 0)
    {
        int resume = 0, noecho = 0;
        for (int i = 6; i < argc; i++) {
            resume |= strcmp(argv[i], "resume") == 0;
            noecho |= strcmp(argv[i], "noecho") == 0;
        }
        return run_handshakes(atof(argv[4]), atoi(argv[5]), resume, noecho);
    }
    if (strcmp(mode, "bulk") == 0)
        return run_bulk(atoi(argv[4]), atoi(argv[5]));
    if (strcmp(mode, "rtt") == 0)
        return run_rtt(atoi(argv[4]), atoi(argv[5]));
    if (strcmp(mode, "idle") == 0)
        return run_idle(atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "bench_client: unknown mode %s\n", mode);
    return 2;
}
