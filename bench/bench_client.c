/* bench_client.c - the load client of `make bench` (mbedTLS client side). Every mode does an exact
 * number of operations, verifies each echoed byte, and exits 1 (saying why on stderr) when it did
 * fewer than asked; a run that exits 0 did exactly what its RESULT line says.
 *   bench_client handshakes HOST PORT COUNT THREADS [resume] [noecho] [ca=FILE] [server=PID]
 *       COUNT handshakes over THREADS blocking threads, each with one 22-byte echo (noecho: none,
 *       for servers that do not echo). resume: each thread first makes one full handshake (not
 *       counted, not timed), then resumes its ticket COUNT/THREADS times; a handshake that was not
 *       resumed (new master secret) is counted apart and fails the run. The RESULT line names the
 *       cipher suite of the last handshake.
 * ca=FILE (any mode): verify the server's certificate against the CA(s) in FILE for the host name
 * "localhost" (that of the build's development certificates, also sent as SNI), as a real client
 * does; without it the certificate is not verified.
 *   bench_client bulk HOST PORT MIB STREAMS [server=PID]
 *       echoes MIB MiB on each of STREAMS connections from one poll() loop (no spinning: it waits
 *       for readiness), timed after all handshakes.
 *   bench_client rtt HOST PORT CLIENTS ROUNDS [server=PID]
 *       ROUNDS rounds of one 64-byte echo on each of CLIENTS connections at once: p50/p99.
 *   bench_client idle HOST PORT N SECONDS    holds N idle sessions for SECONDS (memory, idle cost).
 * Output: one line "RESULT key=value ...". Timed modes add the CPU seconds this client used
 * (getrusage) and, with server=PID, the server process used (/proc/PID/stat, its reaped children
 * included) during the timed part, so a reader can see which side was the limit. */
#include <errno.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_STREAMS 1024

static const char *g_host, *g_port, *g_ca_file;
static atomic_int g_failed;
static long g_server_pid;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Says what went wrong (printf-style) and marks the run failed. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_client: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    atomic_store(&g_failed, 1);
}

static void report(const char *what, int ret)
{
    char text[160];
    mbedtls_strerror(ret, text, sizeof text);
    fprintf(stderr, "bench_client: %s: %s (-0x%04x)\n", what, text, (unsigned)-ret);
    atomic_store(&g_failed, 1);
}

/* ---- CPU accounting: wall clock, this process, and the server process ---- */

typedef struct cpu_mark {
    double wall, client_user, client_sys, server_user, server_sys;
} cpu_mark;

static void server_cpu(double *user, double *sys)
{
    *user = *sys = -1;
    if (g_server_pid <= 0)
        return;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", g_server_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    char *p = strrchr(line, ')'); /* the command name may hold spaces */
    unsigned long long ut, st;
    long long cut, cst;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14)
     * stime cutime cstime */
    if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ut,
                    &st, &cut, &cst) == 4) {
        double tick = (double)sysconf(_SC_CLK_TCK);
        *user = (double)(ut + (unsigned long long)cut) / tick;
        *sys = (double)(st + (unsigned long long)cst) / tick;
    }
}

static cpu_mark cpu_now(void)
{
    cpu_mark m;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    m.wall = now_s();
    m.client_user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    m.client_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    server_cpu(&m.server_user, &m.server_sys);
    return m;
}

/* Appends " seconds=... client_user=... client_sys=... [server_user=... server_sys=...]". */
static void print_cpu(cpu_mark a, cpu_mark b)
{
    printf(" seconds=%.3f client_user=%.3f client_sys=%.3f", b.wall - a.wall,
           b.client_user - a.client_user, b.client_sys - a.client_sys);
    if (a.server_user >= 0 && b.server_user >= 0)
        printf(" server_user=%.2f server_sys=%.2f", b.server_user - a.server_user,
               b.server_sys - a.server_sys);
    printf("\n");
}

/* ---- mbedTLS client set-up, one per thread (mbedTLS contexts are not shared across threads) ---- */

typedef struct client_ctx {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
} client_ctx;

static int ctx_init(client_ctx *c)
{
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->ca);
    if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                              (const unsigned char *)"bench", 5) != 0 ||
        mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0) {
        fail("client set-up failed");
        return -1;
    }
    mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE); /* dev certificate */
    if (g_ca_file) {
        int ret = mbedtls_x509_crt_parse_file(&c->ca, g_ca_file);
        if (ret != 0) {
            report(g_ca_file, ret);
            return -1;
        }
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    }
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* TLS 1.2 on every library: the figures compare servers on one protocol, and resumption is
     * recognised by the TLS 1.2 master secret. */
    mbedtls_ssl_conf_max_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
    /* Key-exchange groups as browsers and curl offer them: mbedTLS's default list starts with
     * secp521r1, which servers that follow the client's order (OpenSSL's) would then use. */
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
    static const uint16_t groups[] = {
        MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
        MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1, MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
    mbedtls_ssl_conf_groups(&c->conf, groups);
#else
    static const mbedtls_ecp_group_id groups[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                                  MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
    mbedtls_ssl_conf_curves(&c->conf, groups);
#endif
    /* AES-128-GCM first, as browsers on AES-capable CPUs order it: servers that follow the
     * client's order (OpenSSL's) then use the cipher ours and raw use. */
    static const int suites[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                                 MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                                 MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                                 MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
                                 MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
                                 MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 0};
    mbedtls_ssl_conf_ciphersuites(&c->conf, suites);
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    return 0;
}

static void ctx_free(client_ctx *c)
{
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->ca);
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

/* Connects and handshakes, blocking (resuming `session` when given). 0 on success; on failure the
 * connection is released. */
static int conn_open(conn *c, client_ctx *ctx, const mbedtls_ssl_session *session)
{
    mbedtls_net_init(&c->net);
    mbedtls_ssl_init(&c->ssl);
    c->net.fd = tcp_connect();
    if (c->net.fd < 0) {
        fail("connect %s:%s: %s", g_host, g_port, strerror(errno));
        mbedtls_ssl_free(&c->ssl);
        return -1;
    }
    int ret = mbedtls_ssl_setup(&c->ssl, &ctx->conf);
    if (ret == 0 && g_ca_file)
        ret = mbedtls_ssl_set_hostname(&c->ssl, "localhost");
    if (ret == 0 && session)
        ret = mbedtls_ssl_set_session(&c->ssl, session);
    mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, mbedtls_net_recv, NULL);
    while (ret == 0 && (ret = mbedtls_ssl_handshake(&c->ssl)) != 0)
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            ret = 0;
        else
            break;
    if (ret != 0) {
        report("handshake", ret);
        uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
        if (g_ca_file && flags != 0 && flags != (uint32_t)-1) {
            char why[256];
            mbedtls_x509_crt_verify_info(why, sizeof why, "", flags);
            for (char *nl; (nl = strchr(why, '\n'));) /* one line per reason */
                *nl = nl[1] ? ';' : 0;
            fail("certificate: %s", why);
        }
        mbedtls_net_free(&c->net);
        mbedtls_ssl_free(&c->ssl);
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
        fail("wrong echo");
        return -1;
    }
    return 0;
}

/* ---- handshakes: exact counts, blocking threads ---- */

typedef struct hs_job {
    long count, done, resumed;
    int resume, noecho;
    char cipher[64]; /* of the last handshake */
} hs_job;

/* A resumed TLS 1.2 handshake reuses the saved session's master secret (mbedTLS has no public
 * "was this resumed" call; in 3.x the fields are private). */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define SSL_SESSION_OF(ssl) ((ssl)->MBEDTLS_PRIVATE(session))
#define SESSION_MASTER(s) ((s)->MBEDTLS_PRIVATE(master))
#else
#define SSL_SESSION_OF(ssl) ((ssl)->session)
#define SESSION_MASTER(s) ((s)->master)
#endif

static pthread_barrier_t g_start;
static const unsigned char g_probe[] = "bench handshake probe\n";

/* One handshake (resuming `saved` when given) with its echo; 1 when it was a resumption. */
static int one_handshake(hs_job *job, client_ctx *ctx, const mbedtls_ssl_session *saved,
                         mbedtls_ssl_session *keep)
{
    conn c;
    if (conn_open(&c, ctx, saved) != 0)
        return -1;
    int resumed = saved && memcmp(SESSION_MASTER(SSL_SESSION_OF(&c.ssl)), SESSION_MASTER(saved),
                                  sizeof SESSION_MASTER(saved)) == 0;
    snprintf(job->cipher, sizeof job->cipher, "%s", mbedtls_ssl_get_ciphersuite(&c.ssl));
    int ok = job->noecho || echo_once(&c, g_probe, sizeof g_probe - 1) == 0;
    if (ok && keep && mbedtls_ssl_get_session(&c.ssl, keep) != 0) {
        fail("the server gave no session to resume");
        ok = 0;
    }
    conn_close(&c);
    return ok ? resumed : -1;
}

static void *hs_thread(void *arg)
{
    hs_job *job = arg;
    client_ctx ctx;
    mbedtls_ssl_session saved;
    mbedtls_ssl_session_init(&saved);
    int ready = ctx_init(&ctx) == 0;
    if (ready && job->resume) /* the session later handshakes resume: not counted, not timed */
        ready = one_handshake(job, &ctx, NULL, &saved) >= 0;
    pthread_barrier_wait(&g_start); /* every thread is ready: the clock starts */
    while (ready && job->done < job->count && !atomic_load(&g_failed)) {
        int r = one_handshake(job, &ctx, job->resume ? &saved : NULL, NULL);
        if (r < 0)
            break;
        job->done++;
        job->resumed += r;
    }
    mbedtls_ssl_session_free(&saved);
    ctx_free(&ctx);
    return NULL;
}

static int run_handshakes(long count, int threads, int resume, int noecho)
{
    pthread_t tid[MAX_THREADS];
    hs_job jobs[MAX_THREADS];
    if (count < 1 || threads < 1 || threads > MAX_THREADS || threads > count) {
        fprintf(stderr, "bench_client: handshakes needs 1 <= THREADS <= %d and THREADS <= COUNT\n",
                MAX_THREADS);
        return 2;
    }
    pthread_barrier_init(&g_start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        jobs[i] = (hs_job){count / threads + (i < count % threads), 0, 0, resume, noecho, ""};
        pthread_create(&tid[i], NULL, hs_thread, &jobs[i]);
    }
    pthread_barrier_wait(&g_start);
    cpu_mark start = cpu_now();
    long done = 0, resumed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        done += jobs[i].done;
        resumed += jobs[i].resumed;
    }
    cpu_mark end = cpu_now();
    pthread_barrier_destroy(&g_start);
    if (done < count) {
        fail("handshakes: did %ld of %ld", done, count);
        return 1;
    }
    printf("RESULT mode=%s handshakes=%ld resumed=%ld rate=%.1f cipher=%s", resume ? "resumed" : "full",
           done, resumed, (double)done / (end.wall - start.wall), jobs[0].cipher);
    print_cpu(start, end);
    fflush(stdout);
    if (resume && resumed < done) {
        fail("resume: only %ld of %ld handshakes resumed the session", resumed, done);
        return 1;
    }
    return 0;
}

/* ---- bulk: one poll() loop over every stream ---- */

/* The byte at stream offset i is g_pattern[i % PATTERN_PERIOD]; the array is one record longer
 * than the period so any record-sized slice is contiguous (cheap to send and to verify). */
#define PATTERN_PERIOD 65521u
#define CHUNK 16384u
#define WINDOW (256u << 10) /* bytes in flight per stream */
static unsigned char g_pattern[PATTERN_PERIOD + CHUNK];

typedef struct stream {
    conn c;
    uint64_t sent, got;
    size_t chunk;   /* length of a write that returned WANT_WRITE: repeat it, same bytes */
    int want_write; /* the socket was full: wait for POLLOUT */
} stream;

/* Moves one stream as far as it can without blocking; -1 on error (reported). */
static int stream_io(stream *s, uint64_t total)
{
    static unsigned char in[CHUNK];
    for (int progress = 1; progress;) {
        progress = 0;
        s->want_write = 0;
        while (s->sent < total && s->sent - s->got < WINDOW) {
            if (!s->chunk)
                s->chunk = total - s->sent < CHUNK ? (size_t)(total - s->sent) : CHUNK;
            int ret = mbedtls_ssl_write(&s->c.ssl, g_pattern + s->sent % PATTERN_PERIOD, s->chunk);
            if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ) {
                s->want_write = 1;
                break;
            }
            if (ret <= 0) {
                report("write", ret);
                return -1;
            }
            s->sent += (uint64_t)ret;
            s->chunk -= (size_t)ret;
            progress = 1;
        }
        for (;;) {
            int ret = mbedtls_ssl_read(&s->c.ssl, in, sizeof in);
            if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
                break;
            if (ret <= 0) {
                report("read", ret);
                return -1;
            }
            if (s->got + (uint64_t)ret > s->sent ||
                memcmp(in, g_pattern + s->got % PATTERN_PERIOD, (size_t)ret) != 0) {
                fail("bulk: wrong echo at stream offset %llu", (unsigned long long)s->got);
                return -1;
            }
            s->got += (uint64_t)ret;
            progress = 1;
        }
    }
    return 0;
}

static int run_bulk(int mib, int streams)
{
    if (mib < 1 || streams < 1 || streams > MAX_STREAMS) {
        fprintf(stderr, "bench_client: bulk needs MIB >= 1 and 1 <= STREAMS <= %d\n", MAX_STREAMS);
        return 2;
    }
    for (uint32_t i = 0; i < sizeof g_pattern; i++)
        g_pattern[i] = (unsigned char)(((i % PATTERN_PERIOD) * 2654435761u) >> 13);
    uint64_t total = (uint64_t)mib << 20;
    client_ctx ctx;
    stream *ss = calloc((size_t)streams, sizeof *ss);
    struct pollfd *fds = calloc((size_t)streams, sizeof *fds);
    int opened = 0, rc = 1;
    if (!ss || !fds || ctx_init(&ctx) != 0)
        goto out_nofree_ctx;
    for (; opened < streams; opened++) {
        if (conn_open(&ss[opened].c, &ctx, NULL) != 0)
            goto out;
        mbedtls_net_set_nonblock(&ss[opened].c.net);
    }
    cpu_mark start = cpu_now();
    int finished = 0;
    for (int i = 0; i < streams; i++)
        if (stream_io(&ss[i], total) != 0)
            goto out;
    while (finished < streams) {
        finished = 0;
        for (int i = 0; i < streams; i++) {
            int done = ss[i].got == total;
            finished += done;
            fds[i] = (struct pollfd){done ? -1 : ss[i].c.net.fd,
                                     (short)(POLLIN | (ss[i].want_write ? POLLOUT : 0)), 0};
        }
        if (finished == streams)
            break;
        int ready = poll(fds, (nfds_t)streams, 30000);
        if (ready <= 0) {
            fail("bulk: no progress for 30 s (poll returned %d)", ready);
            goto out;
        }
        for (int i = 0; i < streams; i++)
            if (fds[i].revents && stream_io(&ss[i], total) != 0)
                goto out;
    }
    cpu_mark end = cpu_now();
    uint64_t echoed = 0;
    for (int i = 0; i < streams; i++)
        echoed += ss[i].got;
    if (echoed != total * (uint64_t)streams) {
        fail("bulk: echoed %llu of %llu bytes", (unsigned long long)echoed,
             (unsigned long long)(total * (uint64_t)streams));
        goto out;
    }
    printf("RESULT mode=bulk streams=%d mib_per_stream=%d bytes=%llu mbps=%.1f", streams, mib,
           (unsigned long long)echoed, (double)echoed / (end.wall - start.wall) / 1e6);
    print_cpu(start, end);
    rc = 0;
out:
    for (int i = 0; i < opened; i++) {
        mbedtls_net_set_block(&ss[i].c.net);
        conn_close(&ss[i].c);
    }
    ctx_free(&ctx);
out_nofree_ctx:
    free(ss);
    free(fds);
    return rc;
}

/* ---- round trips ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_rtt(int clients, int rounds)
{
    if (clients < 1 || rounds < 1 || clients > MAX_STREAMS) {
        fprintf(stderr, "bench_client: rtt needs 1 <= CLIENTS <= %d and ROUNDS >= 1\n", MAX_STREAMS);
        return 2;
    }
    client_ctx ctx;
    if (ctx_init(&ctx) != 0)
        return 1;
    conn *cs = calloc((size_t)clients, sizeof *cs);
    double *rtt = calloc((size_t)clients * (size_t)rounds, sizeof *rtt);
    double *sent_at = calloc((size_t)clients, sizeof *sent_at);
    int *got = calloc((size_t)clients, sizeof *got);
    struct pollfd *fds = calloc((size_t)clients, sizeof *fds);
    int rc = 1, opened = 0, samples = 0;
    if (!cs || !rtt || !sent_at || !got || !fds)
        goto out;
    for (; opened < clients; opened++)
        if (conn_open(&cs[opened], &ctx, NULL) != 0)
            goto out;
    cpu_mark start = cpu_now();
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
                    fail("rtt: wrong or missing echo");
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
            fail("rtt: %d of %d echoes missing after 30 s", clients - done, clients);
            goto out;
        }
        for (int i = 0; i < clients; i++)
            mbedtls_net_set_block(&cs[i].net);
    }
    cpu_mark end = cpu_now();
    if (samples != clients * rounds) {
        fail("rtt: did %d of %d round trips", samples, clients * rounds);
        goto out;
    }
    qsort(rtt, (size_t)samples, sizeof *rtt, cmp_double);
    printf("RESULT mode=rtt clients=%d samples=%d p50_ms=%.3f p99_ms=%.3f", clients, samples,
           rtt[samples / 2], rtt[(samples * 99) / 100]);
    print_cpu(start, end);
    rc = 0;
out:
    for (int i = 0; i < opened; i++) {
        mbedtls_net_set_block(&cs[i].net);
        conn_close(&cs[i]);
    }
    free(cs);
    free(rtt);
    free(sent_at);
    free(got);
    free(fds);
    ctx_free(&ctx);
    return rc;
}

/* ---- idle sessions ---- */

static int run_idle(int n, int seconds)
{
    if (n < 1 || seconds < 0) {
        fprintf(stderr, "bench_client: idle needs N >= 1 and SECONDS >= 0\n");
        return 2;
    }
    client_ctx ctx;
    if (ctx_init(&ctx) != 0)
        return 1;
    conn *cs = calloc((size_t)n, sizeof *cs);
    int opened = 0;
    while (cs && opened < n && conn_open(&cs[opened], &ctx, NULL) == 0)
        opened++;
    if (opened == n) {
        printf("RESULT mode=idle sessions=%d seconds=%d\n", n, seconds);
        fflush(stdout);
        sleep((unsigned)seconds);
    } else {
        fail("idle: opened %d of %d sessions", opened, n);
    }
    for (int i = 0; i < opened; i++)
        conn_close(&cs[i]);
    free(cs);
    ctx_free(&ctx);
    return opened == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (argc < 6) {
        fprintf(stderr, "usage: bench_client handshakes|bulk|rtt|idle HOST PORT ... (see the top of "
                        "bench/bench_client.c)\n");
        return 2;
    }
    g_host = argv[2];
    g_port = argv[3];
    const char *mode = argv[1];
    int resume = 0, noecho = 0;
    for (int i = 6; i < argc; i++) {
        if (strcmp(argv[i], "resume") == 0)
            resume = 1;
        else if (strcmp(argv[i], "noecho") == 0)
            noecho = 1;
        else if (strncmp(argv[i], "ca=", 3) == 0)
            g_ca_file = argv[i] + 3;
        else if (strncmp(argv[i], "server=", 7) == 0)
            g_server_pid = atol(argv[i] + 7);
        else {
            fprintf(stderr, "bench_client: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (strcmp(mode, "handshakes") == 0)
        return run_handshakes(atol(argv[4]), atoi(argv[5]), resume, noecho);
    if (strcmp(mode, "bulk") == 0)
        return run_bulk(atoi(argv[4]), atoi(argv[5]));
    if (strcmp(mode, "rtt") == 0)
        return run_rtt(atoi(argv[4]), atoi(argv[5]));
    if (strcmp(mode, "idle") == 0)
        return run_idle(atoi(argv[4]), atoi(argv[5]));
    fprintf(stderr, "bench_client: unknown mode %s\n", mode);
    return 2;
}
