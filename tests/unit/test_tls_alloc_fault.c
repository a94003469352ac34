/* test_tls_alloc_fault.c - allocation-failure injection into mbedTLS while the host's TLS code runs
 * (docs/security.md): tlsServerConfigCreate, and a whole server connection (tlsAccept with the
 * handshake it drives, tlsRecv, tlsSend, tlsClose) for ECDSA and RSA certificates, mutual TLS and
 * ticket resumption. Every allocation site is made to fail in turn. Each time the host must not
 * crash, must pass on what mbedTLS reported (an API error with its text, or a log line for a
 * dropped handshake; where mbedTLS said an allocation failed, an API error is -2, not -1), or, when
 * mbedTLS treats the allocation as optional, still serve the client correctly; and afterwards it
 * must hold exactly the heap, descriptors, config references, pending handshakes and sessions it
 * held before, and serve a normal client on the same listener. The TLS client likewise:
 * tlsClientConfigCreate (CA, client certificate and key, ALPN), and tlsConnect (to 127.0.0.1 by
 * address, no resolver thread) + tlsSend + tlsRecv + tlsClose, full and resumed handshakes, against
 * the host's own server side in a forked child where nothing is failed; afterwards the next
 * connect must work.
 *
 * How: Debian's mbedTLS is a shared library built without MBEDTLS_PLATFORM_MEMORY, so it calls
 * libc's calloc through the PLT, and this executable's own `calloc` below takes those calls first.
 * Only calls whose return address lies in libmbedtls/libmbedx509/libmbedcrypto are counted (the
 * host's and the test's own allocations are not mbedTLS's), and only in this process: clients are
 * forked children running an mbedTLS client with counting off.
 *
 * An allocation site is (return address in mbedTLS, what the host was doing: creating a config,
 * setting up a connection, handshake state N, receiving, sending, closing, log2 of the size). One
 * ECDHE/ECDSA handshake makes ~12,000 mbedTLS allocations (every bignum temporary), nearly all
 * from a few sites, so by default each site is failed at its first and last occurrence and at
 * evenly spaced ones in between (TEST_TLS_AF_SAMPLES, default 5 per site); TEST_TLS_AF_EXHAUSTIVE=1
 * fails every single allocation N = 1, 2, ... instead (minutes to half an hour per scenario;
 * TEST_TLS_AF_FIRST=N starts there, to replay a finding). Either way the loop ends with a run in
 * which no failure was injected, which must serve its client.
 *
 * The heap is compared exactly (mallinfo2), which needs glibc's tcache off: the test re-executes
 * itself with GLIBC_TUNABLES=glibc.malloc.tcache_count=0. Not for ASan or valgrind: both own
 * malloc, and memory from __libc_calloc would be freed through their allocator; such runs print
 * "skipped: ..." and exit 0. Knobs: TEST_TLS_AF_ONLY=substring (scenarios), TEST_TLS_AF_VERBOSE=1
 * (every run, and the site list with symbol names). */
#define _GNU_SOURCE /* dladdr, dl_iterate_phdr */

#if defined(__SANITIZE_ADDRESS__)
#define AF_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AF_SANITIZED 1
#endif
#endif

#include <stdio.h>
#include <stdlib.h>

#if defined(AF_SANITIZED)

int main(void)
{
    printf(
        "skipped: allocator owned by ASan (allocation-failure injection needs glibc's calloc)\n");
    return 0;
}

#else

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "api/api.h"
#include "core/app.h"
#include "platform/platform.h"
#include "socket/socket.h"
#include "tls/tls.h"
#include "tls/tls_internal.h"
#include "testlib.h"
#include "tls_testlib.h"

#ifndef MBEDTLS_PRIVATE /* mbedTLS 2.x: struct members are public */
#define MBEDTLS_PRIVATE(member) member
#endif

/* ======================= the calloc interposer ======================= */

extern void *__libc_calloc(size_t nmemb, size_t size);

/* What the host is doing; with the handshake state it makes the context of a site. */
enum {
    PHASE_NONE,
    PHASE_CONFIG,  /* tlsServerConfigCreate */
    PHASE_ACCEPT,  /* tlsAccept outside a handshake step: accepting, mbedtls_ssl_setup */
    PHASE_RECV,
    PHASE_SEND,
    PHASE_CLOSE,
    PHASE_CONNECT,   /* tlsConnect outside a handshake step (client scenarios) */
    PHASE_HANDSHAKE, /* + ssl.state: inside mbedtls_ssl_handshake */
};
static const char *const g_phase_names[] = {"-",    "config", "setup",  "recv",
                                            "send", "close",  "connect"};

typedef struct af_site {
    uintptr_t ra; /* return address in mbedTLS */
    int ctx;      /* (PHASE_* (+ handshake state)) * 64 + size class */
    long seen;    /* occurrences in the current run */
    bool reached; /* seen before any injected failure of a run: a single failure can target it */
    bool planned; /* targets queued for it */
} af_site;

enum { AF_MAX_SITES = 2048, AF_HASH = 8192, AF_MAX_RANGES = 16 };

static struct {
    uintptr_t lo[AF_MAX_RANGES], hi[AF_MAX_RANGES];
    int ranges;
    int libs_found; /* bit 0 tls, 1 x509, 2 crypto */
    /* Per run. */
    bool counting;           /* count (and maybe fail) mbedTLS allocations */
    int phase;               /* PHASE_* set by the test around host calls */
    const tls_config *watch; /* its `stepping` connection gives the handshake state */
    portal_app *client_app;  /* client scenarios: its one session gives the handshake state */
    long calls;              /* mbedTLS allocations counted this run */
    int target_site;         /* -1: fail by global call index */
    long target_occurrence;  /* fail this occurrence of target_site (or this call index) */
    bool injected;
    int injected_site;
    /* Per scenario. */
    af_site sites[AF_MAX_SITES];
    int site_count;
    bool site_overflow;
    int hash[AF_HASH]; /* site index + 1, 0 = empty */
    /* The known mbedTLS 3.x leak (af_transform below): allocations made inside the current
     * mbedtls_ssl_tls13_populate_transform call, and what failed calls lost. */
    bool in_transform;
    void *transform_blocks[16];
    int transform_block_count;
    size_t upstream_leak;       /* lost in the current run, until check_clean takes it */
    size_t upstream_leak_total; /* per scenario */
    int upstream_leak_runs;
} g_af;

static bool af_from_mbedtls(uintptr_t ra)
{
    for (int i = 0; i < g_af.ranges; i++)
        if (ra >= g_af.lo[i] && ra < g_af.hi[i])
            return true;
    return false;
}

/* A client scenario's one session (portal_handles_each): its handshake state. */
static void af_client_state(int32_t handle, void *object, void *phase)
{
    (void)handle;
    const tls_conn *conn = object;
    *(int *)phase = PHASE_HANDSHAKE + conn->ssl.MBEDTLS_PRIVATE(state);
}

/* The size class (log2 of the bytes asked for) tells apart the operations behind one allocating
 * function: mbedtls_mpi_grow serves every bignum, but a 2048-bit RSA number is 256 bytes and up
 * while an elliptic-curve one stays below 128, so an RSA signature made in the same handshake
 * state as an ECDHE key is its own set of sites rather than a few dozen calls lost among
 * thousands. */
static int af_context(size_t bytes)
{
    int size_class = 0;
    while (size_class < 63 && bytes >> (size_class + 1))
        size_class++;
    int phase = g_af.phase;
    const tls_config *watch = g_af.watch;
    if (phase == PHASE_ACCEPT && watch && watch->stepping)
        phase = PHASE_HANDSHAKE + watch->stepping->ssl.MBEDTLS_PRIVATE(state);
    if (phase == PHASE_CONNECT && g_af.client_app)
        portal_handles_each(&g_af.client_app->handles, PORTAL_HANDLE_TLS_SESSION,
                            af_client_state, &phase);
    return phase * 64 + size_class;
}

static int af_site_index(uintptr_t ra, int ctx)
{
    size_t h = (size_t)((ra * 0x9E3779B97F4A7C15ull) >> 40 ^ (uint64_t)ctx * 0x85EBCA6Bu) % AF_HASH;
    for (size_t probes = 0; probes < AF_HASH; probes++, h = (h + 1) % AF_HASH) {
        int slot = g_af.hash[h];
        if (slot == 0) {
            if (g_af.site_count >= AF_MAX_SITES) {
                g_af.site_overflow = true;
                return -1;
            }
            af_site *site = &g_af.sites[g_af.site_count];
            memset(site, 0, sizeof *site);
            site->ra = ra;
            site->ctx = ctx;
            g_af.hash[h] = ++g_af.site_count;
            return g_af.site_count - 1;
        }
        if (g_af.sites[slot - 1].ra == ra && g_af.sites[slot - 1].ctx == ctx)
            return slot - 1;
    }
    g_af.site_overflow = true;
    return -1;
}

/* Counts one mbedTLS allocation; true when this is the one to fail. */
static bool af_should_fail(uintptr_t ra, size_t bytes)
{
    long call = ++g_af.calls;
    int index = af_site_index(ra, af_context(bytes));
    if (index < 0)
        return false;
    long seen = ++g_af.sites[index].seen;
    if (g_af.injected)
        return false; /* one failure per run; sites seen from here on are on its error path */
    bool hit = g_af.target_site < 0 ? call == g_af.target_occurrence
                                    : index == g_af.target_site && seen == g_af.target_occurrence;
    g_af.sites[index].reached = true; /* this call came before (or is) the run's failure */
    if (hit) {
        g_af.injected = true;
        g_af.injected_site = index;
    }
    return hit;
}

/* Takes the calls mbedTLS makes through the PLT (and every other calloc in the process, which
 * goes straight to glibc). Memory from __libc_calloc is ordinary glibc heap: free() works. */
void *calloc(size_t nmemb, size_t size)
{
    if (g_af.counting) {
        uintptr_t ra = (uintptr_t)__builtin_return_address(0);
        /* calloc's overflow check comes later, in glibc; the product only picks a size class */
        if (af_from_mbedtls(ra) && af_should_fail(ra, nmemb * size)) {
            errno = ENOMEM;
            return NULL;
        }
    }
    void *block = __libc_calloc(nmemb, size);
    if (g_af.in_transform && block && g_af.transform_block_count < 16)
        g_af.transform_blocks[g_af.transform_block_count++] = block;
    return block;
}

/* ---- a known mbedTLS 3.x leak, measured exactly ----
 * mbedTLS 3.6 (3.6.6 and its development branch alike): when mbedtls_ssl_tls13_populate_transform
 * fails part-way (one of its two cipher contexts or their keys cannot be allocated), its callers
 * (mbedtls_ssl_tls13_compute_handshake_transform / _application_transform) release the transform
 * with mbedtls_free alone, not mbedtls_ssl_transform_free, so what the call had already allocated
 * (the other cipher context: 256 bytes for ChaCha20-Poly1305) is lost inside mbedTLS, out of the
 * host's reach. libmbedtls calls the function through its PLT, so the definition below takes the
 * calls: it records the blocks allocated during a call (calloc above, free below), and when the
 * call fails, the blocks still live are exactly what mbedTLS lost. check_clean takes those bytes,
 * and only those, out of the comparison and names them; any other growth still fails. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
extern void __libc_free(void *ptr);

void free(void *ptr)
{
    if (g_af.in_transform && ptr)
        for (int i = 0; i < g_af.transform_block_count; i++)
            if (g_af.transform_blocks[i] == ptr)
                g_af.transform_blocks[i] = NULL;
    __libc_free(ptr);
}

/* The signature of mbedTLS's internal ssl_tls13_keys.h, with its private types as void. */
int mbedtls_ssl_tls13_populate_transform(void *transform, int endpoint, int ciphersuite,
                                         const void *traffic_keys, void *ssl);
int mbedtls_ssl_tls13_populate_transform(void *transform, int endpoint, int ciphersuite,
                                         const void *traffic_keys, void *ssl)
{
    static int (*real)(void *, int, int, const void *, void *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "mbedtls_ssl_tls13_populate_transform");
    if (!real)
        abort();
    g_af.transform_block_count = 0;
    g_af.in_transform = true;
    int ret = real(transform, endpoint, ciphersuite, traffic_keys, ssl);
    g_af.in_transform = false;
    if (ret != 0)
        for (int i = 0; i < g_af.transform_block_count; i++)
            if (g_af.transform_blocks[i]) /* a glibc chunk: usable size + one size word */
                g_af.upstream_leak += malloc_usable_size(g_af.transform_blocks[i]) + sizeof(size_t);
    g_af.transform_block_count = 0;
    return ret;
}
#endif

static int af_find_lib(struct dl_phdr_info *info, size_t size, void *unused)
{
    (void)size;
    (void)unused;
    const char *base = strrchr(info->dlpi_name, '/');
    base = base ? base + 1 : info->dlpi_name;
    static const char *const libs[] = {"libmbedtls.so", "libmbedx509.so", "libmbedcrypto.so"};
    for (int lib = 0; lib < 3; lib++) {
        if (strncmp(base, libs[lib], strlen(libs[lib])) != 0)
            continue;
        g_af.libs_found |= 1 << lib;
        for (int i = 0; i < info->dlpi_phnum && g_af.ranges < AF_MAX_RANGES; i++) {
            const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
            if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
                continue;
            g_af.lo[g_af.ranges] = info->dlpi_addr + ph->p_vaddr;
            g_af.hi[g_af.ranges] = g_af.lo[g_af.ranges] + ph->p_memsz;
            g_af.ranges++;
        }
    }
    return 0;
}

static void af_begin_run(int target_site, long target_occurrence)
{
    for (int i = 0; i < g_af.site_count; i++)
        g_af.sites[i].seen = 0;
    g_af.calls = 0;
    g_af.injected = false;
    g_af.injected_site = -1;
    g_af.target_site = target_site;
    g_af.target_occurrence = target_occurrence;
    g_af.phase = PHASE_NONE;
}

static void af_reset_sites(void)
{
    g_af.site_count = 0;
    g_af.site_overflow = false;
    memset(g_af.hash, 0, sizeof g_af.hash);
}

static const char *af_site_text(int index, char *buf, size_t size)
{
    if (index < 0)
        return "(no site)";
    const af_site *site = &g_af.sites[index];
    Dl_info info;
    const char *sym = "?";
    uintptr_t off = 0;
    if (dladdr((void *)site->ra, &info)) {
        if (info.dli_sname) {
            sym = info.dli_sname;
            off = site->ra - (uintptr_t)info.dli_saddr;
        } else if (info.dli_fname) { /* a static function: the library and offset */
            sym = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
            off = site->ra - (uintptr_t)info.dli_fbase;
        }
    }
    char ctx[48];
    int phase = site->ctx / 64, size_class = site->ctx % 64;
    if (phase >= PHASE_HANDSHAKE)
        snprintf(ctx, sizeof ctx, "handshake state %d", phase - PHASE_HANDSHAKE);
    else
        snprintf(ctx, sizeof ctx, "%s", g_phase_names[phase]);
    snprintf(buf, size, "%s+0x%lx [%s, %lu+ bytes]", sym, (unsigned long)off, ctx,
             1ul << size_class);
    return buf;
}

/* ======================= test plumbing ======================= */

static bool g_verbose;

static size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}

/* Case-insensitive: does the message blame an allocation? mbedTLS says "Memory allocation failed",
 * "Allocation of memory failed" or "Failed to allocate memory"; the host says "out of memory". */
static bool mentions_alloc(const char *msg)
{
    char low[600];
    size_t i = 0;
    for (; msg[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)msg[i]);
    low[i] = '\0';
    return strstr(low, "alloc") || strstr(low, "out of memory");
}

/* Does the message carry mbedtls_strerror text ("... : RSA - Key failed to pass ...")? The host
 * passes mbedTLS's words on; the code in parentheses after them may be cut off by the 128-byte
 * last-error buffer, the module tag is not. */
static bool has_mbedtls_text(const char *msg)
{
    for (const char *dash = strstr(msg, " - "); dash; dash = strstr(dash + 3, " - ")) {
        const char *tag = dash;
        while (tag > msg && (isupper((unsigned char)tag[-1]) || isdigit((unsigned char)tag[-1])))
            tag--;
        if (dash - tag >= 2 && (tag == msg || tag[-1] == ' '))
            return true;
    }
    return false;
}

/* The PEM files, read once (NUL-terminated; len excludes the NUL). */
enum { PEM_EC_CERT, PEM_EC_KEY, PEM_RSA_CERT, PEM_RSA_KEY, PEM_CA, PEM_CLIENT_CERT, PEM_CLIENT_KEY,
       PEM_FILES, PEM_EC_CHAIN = PEM_FILES, PEM_COUNT };
static const char *const g_pem_names[PEM_FILES] = {
    "server-ec.pem", "server-ec.key", "server-rsa.pem", "server-rsa.key",
    "ca.pem",        "client.pem",    "client.key"};
static struct {
    unsigned char *data;
    size_t len;
} g_pem[PEM_COUNT];

static bool load_pems(void)
{
    for (int i = 0; i < PEM_FILES; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", g_certs, g_pem_names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            fprintf(stderr, "cannot read %s\n", path);
            return false;
        }
        size_t cap = 16384;
        g_pem[i].data = malloc(cap);
        size_t n = g_pem[i].data ? fread(g_pem[i].data, 1, cap - 1, f) : 0;
        fclose(f);
        if (n == 0 || n == cap - 1)
            return false;
        g_pem[i].data[n] = '\0';
        g_pem[i].len = n;
    }
    /* A two-certificate chain (server + CA), as an app with an intermediate would pass it:
     * mbedtls_x509_crt_parse reports a failure in a later certificate differently. */
    size_t cert = g_pem[PEM_EC_CERT].len, ca = g_pem[PEM_CA].len;
    g_pem[PEM_EC_CHAIN].data = malloc(cert + ca + 1);
    if (!g_pem[PEM_EC_CHAIN].data)
        return false;
    memcpy(g_pem[PEM_EC_CHAIN].data, g_pem[PEM_EC_CERT].data, cert);
    memcpy(g_pem[PEM_EC_CHAIN].data + cert, g_pem[PEM_CA].data, ca + 1);
    g_pem[PEM_EC_CHAIN].len = cert + ca;
    return true;
}

/* Captured log lines: what the host said about a dropped handshake. */
static char g_log_last[512];
static int g_log_lines;

static void capture_log(portal_app *app, portal_log_level level, const char *msg)
{
    (void)app;
    static const char *const tags[] = {"info", "warning", "error"};
    g_log_lines++;
    snprintf(g_log_last, sizeof g_log_last, "[%s] %.490s", tags[level], msg);
}

/* ---- a server: one app with a listener on 127.0.0.1 ---- */

typedef struct server {
    portal_app app;
    int32_t listener;
    uint16_t port;
} server;

static bool server_start(server *s)
{
    if (!portal_app_init(&s->app, NULL))
        return false;
    s->app.log_sink = capture_log;
    s->listener = listen_loopback(&s->app, 4, 16, &s->port);
    return s->listener > 0;
}

static int pending_count(const server *s)
{
    return s->app.tls ? s->app.tls->pending_count : 0;
}

/* ---- scenarios ---- */

typedef struct scenario {
    const char *name;
    int cert, key; /* PEM_* */
    bool mutual;   /* config requires a client certificate; the client presents one */
    bool resume;   /* the client resumes with a ticket from an earlier, clean connection */
    int version;   /* the client speaks only TLS 1.2 (12) or 1.3 (13); 0: the newest both speak */
} scenario;

static int32_t create_config(server *s, const scenario *sc)
{
    static uint8_t none[1];
    return portal_tls_server_config_create(
        &s->app, g_pem[sc->cert].data, (uint32_t)g_pem[sc->cert].len, g_pem[sc->key].data,
        (uint32_t)g_pem[sc->key].len, sc->mutual ? g_pem[PEM_CA].data : none,
        sc->mutual ? (uint32_t)g_pem[PEM_CA].len : 0, sc->mutual ? 1 : 0);
}

/* ======================= the client (a forked child, never counted) ======================= */

static unsigned char g_ticket[16384]; /* a saved client session (mbedtls_ssl_session_save) */
static size_t g_ticket_len;

enum { CLIENT_OK = 0, CLIENT_SETUP = 2, CLIENT_CONNECT = 3, CLIENT_HANDSHAKE = 4, CLIENT_ECHO = 5 };

static int client_main(uint16_t port, const scenario *sc, const char *line, int save_fd)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_x509_crt ca, crt;
    mbedtls_pk_context key;
    mbedtls_net_context net;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&key);
    mbedtls_net_init(&net);
    /* Seeded here, after fork: a generator copied from the parent would repeat its output. */
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                              (const unsigned char *)"af-client", 9) != 0 ||
        mbedtls_x509_crt_parse(&ca, g_pem[PEM_CA].data, g_pem[PEM_CA].len + 1) != 0 ||
        mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return CLIENT_SETUP;
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
#if MBEDTLS_VERSION_NUMBER >= 0x03020000 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    if (sc->version == 12)
        mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
    if (sc->version == 13)
        mbedtls_ssl_conf_min_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_3);
#endif
#if defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED) &&                              \
    defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* A TLS 1.3 client of mbedTLS 3.6 drops NewSessionTicket messages unless told otherwise. */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
        &conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
    if (sc->mutual) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        int ret = mbedtls_pk_parse_key(&key, g_pem[PEM_CLIENT_KEY].data,
                                       g_pem[PEM_CLIENT_KEY].len + 1, NULL, 0,
                                       mbedtls_ctr_drbg_random, &drbg);
#else
        int ret = mbedtls_pk_parse_key(&key, g_pem[PEM_CLIENT_KEY].data,
                                       g_pem[PEM_CLIENT_KEY].len + 1, NULL, 0);
#endif
        if (ret != 0 ||
            mbedtls_x509_crt_parse(&crt, g_pem[PEM_CLIENT_CERT].data,
                                   g_pem[PEM_CLIENT_CERT].len + 1) != 0 ||
            mbedtls_ssl_conf_own_cert(&conf, &crt, &key) != 0)
            return CLIENT_SETUP;
    }
    if (mbedtls_ssl_setup(&ssl, &conf) != 0 || mbedtls_ssl_set_hostname(&ssl, "localhost") != 0)
        return CLIENT_SETUP;
    if (sc->resume && g_ticket_len > 0) {
        mbedtls_ssl_session session;
        mbedtls_ssl_session_init(&session);
        int ret = mbedtls_ssl_session_load(&session, g_ticket, g_ticket_len);
        if (ret == 0)
            ret = mbedtls_ssl_set_session(&ssl, &session);
        mbedtls_ssl_session_free(&session);
        if (ret != 0)
            return CLIENT_SETUP;
    }

    net.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    struct timeval tv = {5, 0}; /* every read and write is bounded */
    if (net.fd < 0 || setsockopt(net.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        setsockopt(net.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(net.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        connect(net.fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return CLIENT_CONNECT;
    mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
    /* Blocking socket: WANT_READ/WRITE only means a 5 s timeout (or a signal) passed. */
    int ret;
    while ((ret = mbedtls_ssl_handshake(&ssl)) != 0)
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            return CLIENT_HANDSHAKE;
    size_t line_len = strlen(line), done = 0;
    while (done < line_len) {
        ret = mbedtls_ssl_write(&ssl, (const unsigned char *)line + done, line_len - done);
        if (ret <= 0)
            return CLIENT_ECHO;
        done += (size_t)ret;
    }
    char echo[128];
    size_t got = 0;
    int want_reads = 0;
    while (got < line_len) {
        ret = mbedtls_ssl_read(&ssl, (unsigned char *)echo + got, sizeof echo - got);
#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue; /* TLS 1.3: the ticket, which comes after the handshake */
#endif
        /* mbedTLS 3.x also says WANT_READ after a record with no application data (a TLS 1.3
         * ticket); a 5 s timeout says the same, hence the bound. */
        if (ret == MBEDTLS_ERR_SSL_WANT_READ && ++want_reads <= 4)
            continue;
        if (ret <= 0)
            return CLIENT_ECHO;
        got += (size_t)ret;
    }
    if (got != line_len || memcmp(echo, line, line_len) != 0)
        return CLIENT_ECHO;
    /* Saved after the echo: a TLS 1.3 ticket arrives after the handshake, before the echo. */
    if (save_fd >= 0) {
        mbedtls_ssl_session session;
        mbedtls_ssl_session_init(&session);
        size_t len = 0;
        if (mbedtls_ssl_get_session(&ssl, &session) != 0 ||
            mbedtls_ssl_session_save(&session, g_ticket, sizeof g_ticket, &len) != 0 ||
            write(save_fd, g_ticket, len) != (ssize_t)len)
            len = 0;
        mbedtls_ssl_session_free(&session);
        if (len == 0)
            return CLIENT_SETUP;
    }
    mbedtls_ssl_close_notify(&ssl);
    return CLIENT_OK;
}

static pid_t client_spawn(uint16_t port, const scenario *sc, const char *line, int save_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        g_af.counting = false; /* the child's allocations are never counted or failed */
        _exit(client_main(port, sc, line, save_fd));
    }
    return pid;
}


/* ======================= one connection through the host ======================= */

typedef struct outcome {
    bool injected;
    int injected_site;
    long calls;
    bool served;       /* the client got its echo and exited 0 */
    int32_t code;      /* the first API error (0: none; a failed handshake is only logged) */
    char message[512]; /* its last-error message, else the host's last log line of the run */
    int client_status;
    bool resumed;
} outcome;

static void note_api_error(outcome *out, server *s, int32_t rc)
{
    if (out->code != 0)
        return; /* keep the first one */
    out->code = rc;
    snprintf(out->message, sizeof out->message, "%s", s->app.last_error_msg);
}

/* One client connection, served as an app would: tlsAccept until a session comes out (or the
 * host dropped the handshake and the client gave up), then read one line, echo it, tlsClose.
 * With counting on, failures are injected per g_af's target. */
static void serve_one(server *s, int32_t cfg, const scenario *sc, bool counting, outcome *out)
{
    static unsigned serial;
    char line[64];
    snprintf(line, sizeof line, "alloc-fault %u\n", ++serial);
    memset(out, 0, sizeof *out);
    pid_t pid = client_spawn(s->port, sc, line, -1);
    int log_lines = g_log_lines;
    g_af.counting = counting;

    int32_t session = 0;
    int child = -1;
    int64_t end = now_ms() + 10000;
    for (;;) {
        g_af.phase = PHASE_ACCEPT;
        int32_t rc = portal_tls_accept(&s->app, cfg, s->listener, NULL, 0, 20);
        g_af.phase = PHASE_NONE;
        if (rc > 0) {
            session = rc;
            break;
        }
        if (rc != PORTAL_ERR_NOT_READY) {
            note_api_error(out, s, rc);
            break;
        }
        if (child < 0) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid)
                child = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        /* The client is gone and nothing is pending: the host dropped the handshake. */
        if (child >= 0 && pending_count(s) == 0)
            break;
        if (now_ms() >= end) {
            note_api_error(out, s, rc);
            break;
        }
    }
    if (session > 0) {
        uint8_t info[PORTAL_TLS_INFO_SIZE];
        if (portal_tls_session_info(&s->app, session, info, sizeof info) == PORTAL_TLS_INFO_SIZE)
            out->resumed = (info[PORTAL_TLS_INFO_OFF_FLAGS] & PORTAL_TLS_INFO_RESUMED) != 0;
        char got[64];
        size_t len = 0;
        while (len < sizeof got && (len == 0 || got[len - 1] != '\n')) {
            g_af.phase = PHASE_RECV;
            int32_t n = portal_tls_recv(&s->app, session, (uint8_t *)got + len,
                                        (uint32_t)(sizeof got - len), 5000);
            g_af.phase = PHASE_NONE;
            if (n <= 0) {
                if (n < 0)
                    note_api_error(out, s, n);
                break;
            }
            len += (size_t)n;
        }
        size_t sent = 0;
        while (out->code == 0 && sent < len) {
            g_af.phase = PHASE_SEND;
            int32_t n = portal_tls_send(&s->app, session, (uint8_t *)got + sent,
                                        (uint32_t)(len - sent), 5000);
            g_af.phase = PHASE_NONE;
            if (n <= 0) {
                note_api_error(out, s, n);
                break;
            }
            sent += (size_t)n;
        }
        if (out->code == 0) { /* len 0: flush anything still queued */
            g_af.phase = PHASE_SEND;
            int32_t n = portal_tls_send(&s->app, session, (uint8_t *)got, 0, 5000);
            g_af.phase = PHASE_NONE;
            if (n < 0)
                note_api_error(out, s, n);
        }
        g_af.phase = PHASE_CLOSE;
        portal_tls_close(&s->app, session);
        g_af.phase = PHASE_NONE;
    }
    g_af.counting = false;
    out->injected = g_af.injected;
    out->injected_site = g_af.injected_site;
    out->calls = g_af.calls;
    out->client_status = child >= 0 ? child : testlib_reap(pid, 10000);
    out->served = session > 0 && out->client_status == CLIENT_OK && out->code == 0;
    if (out->code == 0 && g_log_lines > log_lines)
        snprintf(out->message, sizeof out->message, "%s", g_log_last);
}

/* A clean connection whose client saves its session: the ticket resumption scenarios use. */
static bool fetch_ticket(server *s, int32_t cfg, const scenario *sc)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    scenario full = *sc;
    full.resume = false;
    g_ticket_len = 0;
    pid_t pid = client_spawn(s->port, &full, "ticket\n", fds[1]);
    close(fds[1]);
    int32_t session = portal_tls_accept(&s->app, cfg, s->listener, NULL, 0, 10000);
    if (session > 0) {
        char buf[16];
        int32_t got = portal_tls_recv(&s->app, session, (uint8_t *)buf, sizeof buf, 5000);
        if (got > 0)
            portal_tls_send(&s->app, session, (uint8_t *)buf, (uint32_t)got, 5000);
        portal_tls_close(&s->app, session);
    }
    int status = testlib_reap(pid, 10000);
    /* The child has exited: everything it wrote waits in the pipe, then EOF. */
    size_t len = 0;
    ssize_t n;
    while (len < sizeof g_ticket && (n = read(fds[0], g_ticket + len, sizeof g_ticket - len)) > 0)
        len += (size_t)n;
    close(fds[0]);
    if (session <= 0 || status != CLIENT_OK || len == 0)
        return false;
    g_ticket_len = len;
    return true;
}

/* ======================= the injection loop ======================= */

typedef struct target {
    int site;        /* -1: global call index */
    long occurrence; /* which occurrence of the site (or call index) fails */
    bool retried;
} target;

/* Static, not heap: the heap must read the same before and after every run. */
enum { AF_MAX_SAMPLES = 32, AF_MAX_PLAN = 65536 };

typedef struct plan {
    target items[AF_MAX_PLAN];
    size_t count, next;
    bool overflow;
} plan;

static void plan_add(plan *p, int site, long occurrence, bool retried)
{
    for (size_t i = p->next; i < p->count; i++)
        if (p->items[i].site == site && p->items[i].occurrence == occurrence)
            return;
    if (p->count == AF_MAX_PLAN) {
        p->overflow = true;
        return;
    }
    p->items[p->count++] = (target){site, occurrence, retried};
}

static plan g_plan;

static int g_samples = 5;

/* Queues failures for every site seen in the last run before its failure (if any) that has none
 * yet: its first and last occurrence and evenly spaced ones in between (occurrence counts vary a
 * little from run to run: bignum sizes depend on random values). Sites seen only after an injected
 * failure (its error path, e.g. the full handshake after a ticket could not be parsed) would need
 * a second failure in the same run; they are counted, not targeted. */
static void plan_new_sites(plan *p)
{
    for (int i = 0; i < g_af.site_count; i++) {
        af_site *site = &g_af.sites[i];
        if (site->planned || site->seen == 0 || !site->reached)
            continue;
        site->planned = true;
        long n = site->seen;
        int samples = g_samples;
        for (int k = 0; k < samples; k++) {
            long occurrence = 1 + (long)((double)(n - 1) * k / (samples - 1) + 0.5);
            plan_add(p, i, occurrence, false);
        }
    }
}

/* What became of the injected failures of a scenario. */
typedef enum {
    KIND_REPORTED, /* an error or log line says an allocation failed */
    KIND_MASKED,   /* mbedTLS returned another error code for it; the host passed that on */
    KIND_PEER,     /* mbedTLS did not notice (e.g. 2.28's void calc_finished computes a wrong
                    * Finished when its HMAC context cannot be allocated); the client rejected the
                    * handshake and the host reported that */
    KIND_COUNT
} kind;
static const char *const g_kind_names[KIND_COUNT] = {"reported", "masked by mbedTLS",
                                                     "rejected by the peer"};

typedef struct tally {
    int runs;         /* runs with a target */
    int kinds[KIND_COUNT];
    int optional;     /* injected, and the connection (or config) still worked */
    int missed;       /* the target occurrence was not reached (random paths) */
    long clean_calls; /* mbedTLS allocations in the final clean run */
    int distinct_messages;
    char messages[24][200];
    int message_counts[24];
} tally;

/* Groups messages that differ only in the client's port. */
static void tally_message(tally *t, kind k, const char *msg)
{
    char key[200];
    size_t n = (size_t)snprintf(key, sizeof key, "%s: ", g_kind_names[k]);
    for (const char *p = msg; *p && n + 1 < sizeof key;) {
        if (strncmp(p, "127.0.0.1:", 10) == 0) {
            n += (size_t)snprintf(key + n, sizeof key - n, "127.0.0.1:*");
            for (p += 10; isdigit((unsigned char)*p); p++) {
            }
            continue;
        }
        key[n++] = *p++;
    }
    key[n < sizeof key ? n : sizeof key - 1] = '\0';
    for (int i = 0; i < t->distinct_messages; i++)
        if (strcmp(t->messages[i], key) == 0) {
            t->message_counts[i]++;
            return;
        }
    if (t->distinct_messages < 24) {
        memcpy(t->messages[t->distinct_messages], key, sizeof key);
        t->message_counts[t->distinct_messages++] = 1;
    }
}

static void print_tally(const char *name, const tally *t, int64_t ms)
{
    int sites = 0, error_path = 0;
    for (int i = 0; i < g_af.site_count; i++) {
        sites += g_af.sites[i].planned;
        error_path += !g_af.sites[i].reached;
    }
    printf("  %s: %d allocation sites (+%d only on error paths), %ld mbedTLS allocations in a "
           "clean run; %d injected runs: %d reported, %d masked by mbedTLS, %d rejected by the "
           "peer, %d optional (still served), %d not reached; %lld ms\n",
           name, sites, error_path, t->clean_calls, t->runs, t->kinds[KIND_REPORTED],
           t->kinds[KIND_MASKED], t->kinds[KIND_PEER], t->optional, t->missed, (long long)ms);
    for (int i = 0; i < t->distinct_messages; i++)
        printf("      %4dx %s\n", t->message_counts[i], t->messages[i]);
    if (g_af.upstream_leak_runs > 0)
        printf("      mbedTLS lost %zu bytes in %d runs (not the host's: a failed "
               "mbedtls_ssl_tls13_populate_transform's transform is freed without "
               "mbedtls_ssl_transform_free; measured exactly, taken out of the heap checks)\n",
               g_af.upstream_leak_total, g_af.upstream_leak_runs);
}

static void print_sites(void)
{
    if (!g_verbose)
        return;
    for (int i = 0; i < g_af.site_count; i++) {
        char text[200];
        printf("      site %3d: %s, %ld calls in the last run%s\n", i,
               af_site_text(i, text, sizeof text), g_af.sites[i].seen,
               g_af.sites[i].reached ? "" : " (error path only)");
    }
}

static bool g_exhaustive;
static long g_first_call =
    1; /* exhaustive mode starts here (TEST_TLS_AF_FIRST): to replay a find */

static target next_target(plan *p, long *exhaustive_n)
{
    if (g_exhaustive)
        return (target){-1, ++*exhaustive_n, false};
    return p->items[p->next++];
}

static bool targets_left(const plan *p)
{
    return g_exhaustive || p->next < p->count;
}

/* TEST_TLS_AF_VERBOSE: what one injected run of a connection scenario (server or client) did. */
static void print_connection_run(const target *t, const outcome *out)
{
    if (!g_verbose)
        return;
    char site[200];
    printf("    %s %ld (%s): %s%s%s\n", t->site < 0 ? "call" : "occ.", t->occurrence,
           af_site_text(out->injected ? out->injected_site : t->site, site, sizeof site),
           !out->injected ? "not reached" : out->served ? "still served" : "",
           out->injected && !out->served ? "failed: " : "",
           out->injected && !out->served ? out->message : "");
}

static void fail_here(const char *scenario, const target *t, const outcome *out,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void fail_here(const char *scenario, const target *t, const outcome *out,
                      const char *fmt, ...)
{
    char site[200];
    va_list ap;
    va_start(ap, fmt);
    if (t->site == -2)
        fprintf(stderr, "  FAIL %s, clean run: ", scenario);
    else
        fprintf(stderr, "  FAIL %s, target %s%ld (%s): ", scenario,
                t->site < 0 ? "call #" : "occ. ", t->occurrence,
                af_site_text(out->injected ? out->injected_site : t->site, site, sizeof site));
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " [code %d, message \"%s\", client %d]\n", (int)out->code, out->message,
            out->client_status);
    va_end(ap);
    testlib_failed++;
}

/* Classifies one injected run and counts it. The rule for the host: whatever mbedTLS returned is
 * passed on (an API error with its text, or a log line for a dropped handshake), and where mbedTLS
 * said an allocation failed, an API error is -2 (internal), never -1 (the app's argument). */
static void judge(const char *name, const target *t, const outcome *out, tally *tl, plan *p)
{
    tl->runs++;
    if (!out->injected) {
        /* The occurrence was not reached (fewer bignum growths this time): try the last one seen
         * instead, once; otherwise the run had to work like a clean one. */
        long seen = t->site >= 0 ? g_af.sites[t->site].seen : 0;
        if (!t->retried && t->site >= 0 && seen > 0 && seen < t->occurrence)
            plan_add(p, t->site, seen, true);
        tl->missed++;
        if (!out->served)
            fail_here(name, t, out, "nothing was injected but the client was not served");
        else
            testlib_passed++;
        return;
    }
    if (out->served) {
        tl->optional++;
        testlib_passed++;
        return;
    }
    const char *msg = out->message;
    kind k;
    if (msg[0] == '\0') {
        fail_here(name, t, out, "the client was not served, yet no error and no log line");
        return;
    } else if (strstr(msg, "the random generator") && !mentions_alloc(msg)) {
        /* Seeding reads nothing the app passed; here its only way to fail is the injected
         * allocation (mbedTLS 3.x: the entropy accumulator's hash context), which CTR_DRBG
         * reports as "entropy source failed": the host must say out of memory. */
        fail_here(name, t, out, "an allocation failure while seeding is not reported as one");
        return;
    } else if (mentions_alloc(msg)) {
        if (out->code != 0 && out->code != PORTAL_ERR_INTERNAL) {
            fail_here(name, t, out, "out of memory reported as %d, not -2 (internal)",
                      (int)out->code);
            return;
        }
        k = KIND_REPORTED;
    } else if ((out->code == PORTAL_ERR_NOT_READY && strstr(msg, "connection closed")) ||
               strstr(msg, "fatal alert message was received") ||
               /* the client's side of it: the server found the wrong Finished (decrypt_error) */
               (out->code == PORTAL_ERR_INTERNAL && strstr(msg, "server sent alert 51")) ||
               (out->code == 0 && strstr(msg, "TLS handshake with") &&
                (strstr(msg, "client closed the connection") || strstr(msg, "reset by client")))) {
        k = KIND_PEER;
    } else if (has_mbedtls_text(msg) || strstr(msg, "client certificate rejected: ") ||
               (out->code == PORTAL_ERR_INTERNAL && strstr(msg, " is not trusted (issuer: "))) {
        /* mbedTLS's own error, not an allocation one; or X.509 verification, which turns any
         * failure to check a signature into "not correctly signed" (the client: "not trusted") */
        k = KIND_MASKED;
    } else {
        fail_here(name, t, out, "the report does not explain the failure");
        return;
    }
    tl->kinds[k]++;
    testlib_passed++;
    tally_message(tl, k, msg);
}

/* What must read the same before and after every run. */
typedef struct baseline {
    int fds;
    size_t heap;
    int config_refs; /* connection scenarios: references to the one config (the app's handle) */
} baseline;

/* Heap held by the RSA blinding values inside the config's key. They belong to the key and change
 * size legitimately: mbedTLS creates them on first use and grows them by squaring, and the host
 * drops them after a failed private-key operation (portal_tls_config_handshake_failed). They are
 * left out of the comparison; a glibc chunk in use counts as its usable size plus one size word. */
static size_t key_blinding_bytes(const tls_config *config)
{
    if (!config || mbedtls_pk_get_type(&config->key) != MBEDTLS_PK_RSA)
        return 0;
    const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(config->key);
    const mbedtls_mpi *values[] = {&rsa->MBEDTLS_PRIVATE(Vi), &rsa->MBEDTLS_PRIVATE(Vf)};
    size_t bytes = 0;
    for (int i = 0; i < 2; i++)
        if (values[i]->MBEDTLS_PRIVATE(p))
            bytes += malloc_usable_size(values[i]->MBEDTLS_PRIVATE(p)) + sizeof(size_t);
    return bytes;
}

static baseline baseline_now(void)
{
    baseline b = {portal_platform_open_fd_count(), heap_in_use() - key_blinding_bytes(g_af.watch),
                  g_af.watch ? g_af.watch->refs : 0};
    return b;
}

/* The host's state after a run: nothing pending, no session, descriptors, heap and config
 * references as before. After a finding the baseline moves on, so the next run is judged on its
 * own. */
static void check_clean(const char *name, const target *t, const outcome *out, server *s,
                        baseline *before, const char *when)
{
    baseline now = baseline_now();
    /* What mbedTLS itself lost in this run (af_transform above), named and taken out. */
    size_t lost = g_af.upstream_leak;
    g_af.upstream_leak = 0;
    if (lost > 0) {
        g_af.upstream_leak_total += lost;
        g_af.upstream_leak_runs++;
        if (g_verbose)
            printf("    %s: mbedTLS lost %zu bytes in a failed "
                   "mbedtls_ssl_tls13_populate_transform (upstream leak)\n", when, lost);
    }
    if (s && (pending_count(s) != 0 ||
              (int)portal_handles_count(&s->app.handles, PORTAL_HANDLE_TLS_SESSION) != 0))
        fail_here(name, t, out, "%s: %d pending handshakes, %d sessions left", when,
                  pending_count(s), (int)portal_handles_count(&s->app.handles, PORTAL_HANDLE_TLS_SESSION));
    else if (now.config_refs != before->config_refs)
        fail_here(name, t, out, "%s: the config has %d references, %d before", when,
                  now.config_refs, before->config_refs);
    else if (now.fds != before->fds)
        fail_here(name, t, out, "%s: %d descriptors open, %d before", when, now.fds, before->fds);
    else if (now.heap != before->heap + lost)
        fail_here(name, t, out, "%s: heap in use %zu bytes, %zu before (%+lld; the key's blinding "
                  "values not counted; %zu bytes lost inside mbedTLS taken out)", when, now.heap,
                  before->heap, (long long)now.heap - (long long)before->heap, lost);
    else
        testlib_passed++;
    *before = now;
}

/* A handshake the host dropped leaves an RSA config's blinding values empty, whatever mbedTLS
 * reported: under TLS 1.3 a failed CertificateVerify signature need not show as an allocation
 * error or as RSA_VERIFY_FAILED (portal_tls_config_handshake_failed), yet may have left Vi and Vf
 * out of step, which would spoil every later signature. */
static void check_blinding_reset(const char *name, const target *t, const outcome *out)
{
    const tls_config *config = g_af.watch;
    if (!out->injected || out->served || out->code != 0 ||
        !strstr(out->message, "TLS handshake with") || !config ||
        mbedtls_pk_get_type(&config->key) != MBEDTLS_PK_RSA)
        return;
    const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(config->key);
    if (rsa->MBEDTLS_PRIVATE(Vi).MBEDTLS_PRIVATE(p) || rsa->MBEDTLS_PRIVATE(Vf).MBEDTLS_PRIVATE(p))
        fail_here(name, t, out, "the handshake failed, yet the RSA key kept its blinding values");
    else
        testlib_passed++;
}

/* tlsAccept .. tlsClose with failures injected, on one listener and one config created clean. */
static void scenario_connection(const scenario *sc)
{
    int64_t t0 = now_ms();
    int failed_at_start = testlib_failed;
    int fds_at_start = portal_platform_open_fd_count();
    size_t heap_at_start = heap_in_use();
    g_af.upstream_leak = g_af.upstream_leak_total = 0;
    g_af.upstream_leak_runs = 0;
    server s;
    CHECK(server_start(&s));
    int32_t cfg = create_config(&s, sc);
    CHECK(cfg > 0);
    if (cfg <= 0) {
        portal_app_teardown(&s.app);
        return;
    }
    g_af.watch = portal_handles_get(&s.app.handles, cfg, PORTAL_HANDLE_TLS_CONFIG);
    af_reset_sites();
    if (sc->resume)
        CHECK(fetch_ticket(&s, cfg, sc));
    /* Warm-up before the baseline: the config's key settles after a few uses (RSA blinding
     * values are created by the first private-key operation and grow once when the second one
     * squares them), and stdio allocates its buffers on first use. */
    outcome out;
    for (int i = 0; i < 3; i++) {
        serve_one(&s, cfg, sc, false, &out);
        CHECK(out.served);
    }
    baseline before = baseline_now();

    plan *p = &g_plan;
    p->count = p->next = 0;
    p->overflow = false;
    tally tl = {0};
    long exhaustive_n = g_first_call - 1;
    af_begin_run(-2, 0); /* counting run: no target */
    serve_one(&s, cfg, sc, true, &out);
    CHECK(out.served && !out.injected);
    if (sc->resume)
        CHECK(out.resumed);
    plan_new_sites(p);
    while (targets_left(p)) {
        target t = next_target(p, &exhaustive_n);
        af_begin_run(t.site, t.occurrence);
        serve_one(&s, cfg, sc, true, &out);
        plan_new_sites(p); /* error paths may allocate at sites not seen before */
        print_connection_run(&t, &out);
        if (g_exhaustive && !out.injected) {
            /* N passed the last allocation: this was the clean run that ends the loop. */
            CHECK(out.served);
            tl.clean_calls = out.calls;
            check_clean(sc->name, &t, &out, &s, &before, "after the clean run");
            break;
        }
        judge(sc->name, &t, &out, &tl, p);
        check_blinding_reset(sc->name, &t, &out);
        check_clean(sc->name, &t, &out, &s, &before, "after the injected run");
        /* And the listener still serves a normal client. */
        outcome normal;
        serve_one(&s, cfg, sc, false, &normal);
        if (!normal.served)
            fail_here(sc->name, &t, &normal, "the next normal client was not served");
        check_clean(sc->name, &t, &normal, &s, &before, "after the next normal client");
        if (testlib_failed - failed_at_start > 20)
            break; /* something is badly broken: the first reports say what */
    }
    if (!g_exhaustive) {
        /* The loop ends with a clean run: counting on, nothing to fail. */
        af_begin_run(-2, 0);
        serve_one(&s, cfg, sc, true, &out);
        CHECK(out.served && !out.injected);
        if (sc->resume)
            CHECK(out.resumed);
        tl.clean_calls = out.calls;
        target none = {-2, 0, false};
        check_clean(sc->name, &none, &out, &s, &before, "after the clean run");
    }
    CHECK(!g_af.site_overflow && !p->overflow);
    g_af.watch = NULL;
    portal_app_teardown(&s.app);
    /* Everything the app owned is gone: descriptors and heap as before the server started (but
     * for what mbedTLS itself lost, measured run by run). */
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_at_start);
    CHECK_EQ_INT(heap_in_use(), heap_at_start + g_af.upstream_leak_total);
    print_tally(sc->name, &tl, now_ms() - t0);
    print_sites();
}

/* tlsServerConfigCreate with failures injected. Each run uses a fresh app, so the per-app TLS
 * state is created under injection too; the config made (or, when creation failed, one made
 * clean) must then serve a client. */
static void scenario_config(const scenario *sc)
{
    int64_t t0 = now_ms();
    int failed_at_start = testlib_failed;
    af_reset_sites();
    g_af.watch = NULL;
    g_af.upstream_leak = g_af.upstream_leak_total = 0;
    g_af.upstream_leak_runs = 0;
    scenario client = *sc;
    client.resume = false;
    /* Warm-up, then the baseline (see scenario_connection). */
    server s;
    outcome out;
    CHECK(server_start(&s));
    int32_t cfg = create_config(&s, sc);
    serve_one(&s, cfg, &client, false, &out);
    CHECK(out.served);
    portal_app_teardown(&s.app);
    baseline before = baseline_now();

    plan *p = &g_plan;
    p->count = p->next = 0;
    p->overflow = false;
    tally tl = {0};
    long exhaustive_n = g_first_call - 1;
    bool counting_run = true;
    for (;;) {
        target t = {-2, 0, false};
        if (!counting_run) {
            if (!targets_left(p))
                break;
            t = next_target(p, &exhaustive_n);
        }
        memset(&out, 0, sizeof out);
        if (!server_start(&s)) {
            fail_here(sc->name, &t, &out, "server_start failed");
            break;
        }
        af_begin_run(t.site, t.occurrence);
        g_af.phase = PHASE_CONFIG;
        g_af.counting = true;
        int32_t rc = create_config(&s, sc);
        g_af.counting = false;
        g_af.phase = PHASE_NONE;
        out.injected = g_af.injected;
        out.injected_site = g_af.injected_site;
        out.calls = g_af.calls;
        plan_new_sites(p);
        if (rc <= 0) {
            note_api_error(&out, &s, rc);
            if ((int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_CONFIG) != 0)
                fail_here(sc->name, &t, &out, "failed create left open_configs %d",
                          (int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_CONFIG));
            /* The same app can still make a config. */
            rc = create_config(&s, sc);
            if (rc <= 0)
                fail_here(sc->name, &t, &out, "a clean create after the failure failed too");
        }
        outcome served;
        if (rc > 0) {
            serve_one(&s, rc, &client, false, &served);
            out.served = out.code == 0 && served.served;
            out.client_status = served.client_status;
            if (!served.served)
                fail_here(sc->name, &t, &served, "a client was not served with the config");
            CHECK_EQ_INT(portal_tls_server_config_free(&s.app, rc), 0);
        }
        CHECK_EQ_INT((int)portal_handles_count(&s.app.handles, PORTAL_HANDLE_TLS_CONFIG), 0);
        portal_app_teardown(&s.app);
        if (counting_run) {
            CHECK(out.served && !out.injected);
            tl.clean_calls = out.calls;
            counting_run = false;
        } else if (g_exhaustive && !out.injected) {
            CHECK(out.served);
            tl.clean_calls = out.calls;
            check_clean(sc->name, &t, &out, &s, &before, "after the clean run");
            break;
        } else {
            if (g_verbose) {
                char site[200];
                printf("    %s %ld (%s): %s %s\n", t.site < 0 ? "call" : "occ.", t.occurrence,
                       af_site_text(out.injected ? out.injected_site : t.site, site, sizeof site),
                       !out.injected ? "not reached" : out.code == 0 ? "still created" : "failed:",
                       out.message);
            }
            judge(sc->name, &t, &out, &tl, p);
        }
        check_clean(sc->name, &t, &out, &s, &before, "after teardown");
        if (testlib_failed - failed_at_start > 20)
            break; /* something is badly broken: the first reports say what */
    }
    CHECK(!g_af.site_overflow && !p->overflow);
    print_tally(sc->name, &tl, now_ms() - t0);
    print_sites();
}

/* ======================= the TLS client ======================= */

/* The server the client scenarios connect to: the host's own server side (mutual TLS, ECDSA) in a
 * forked child, where nothing is counted or failed. It echoes one line per connection until the
 * parent kills it (or, orphaned, after a minute without a client). */
static pid_t echo_server_spawn(uint16_t *port)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid != 0) {
        close(fds[1]);
        bool ok = pid > 0 && read(fds[0], port, sizeof *port) == (ssize_t)sizeof *port;
        close(fds[0]);
        if (!ok && pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return ok ? pid : -1;
    }
    close(fds[0]);
    static const scenario mutual = {"server", PEM_EC_CERT, PEM_EC_KEY, true, false, 0};
    server s;
    if (!server_start(&s))
        _exit(1);
    int32_t cfg = create_config(&s, &mutual);
    if (cfg <= 0 || write(fds[1], &s.port, sizeof s.port) != (ssize_t)sizeof s.port)
        _exit(1);
    close(fds[1]);
    for (int64_t idle_end = now_ms() + 60000; now_ms() < idle_end;) {
        int32_t session = portal_tls_accept(&s.app, cfg, s.listener, NULL, 0, 1000);
        if (session <= 0)
            continue;
        idle_end = now_ms() + 60000;
        uint8_t line[64];
        int32_t n = portal_tls_recv(&s.app, session, line, sizeof line, 5000);
        if (n > 0)
            portal_tls_send(&s.app, session, line, (uint32_t)n, 5000);
        portal_tls_close(&s.app, session);
    }
    _exit(0);
}

static int32_t create_client_config(portal_app *app, int32_t flags)
{
    static uint8_t alpn[] = "x-echo,http/1.1";
    return portal_tls_client_config_create(
        app, g_pem[PEM_CA].data, (uint32_t)g_pem[PEM_CA].len, g_pem[PEM_CLIENT_CERT].data,
        (uint32_t)g_pem[PEM_CLIENT_CERT].len, g_pem[PEM_CLIENT_KEY].data,
        (uint32_t)g_pem[PEM_CLIENT_KEY].len, alpn, (uint32_t)strlen((char *)alpn), flags);
}

/* tlsConnect to 127.0.0.1 (a 12-byte address: no resolver thread), one line out and back,
 * tlsClose; with counting on, failures are injected per g_af's target. With `resume`, a clean
 * connect first leaves a session to resume, and afterwards the config forgets it again: what it
 * remembers changes size legitimately (a failed save drops it), so the heap is compared without. */
static void connect_one(server *c, int32_t cfg, uint16_t port, bool counting, bool resume,
                        outcome *out)
{
    tls_config *config = portal_handles_get(&c->app.handles, cfg, PORTAL_HANDLE_TLS_CONFIG);
    if (resume) {
        connect_one(c, cfg, port, false, false, out);
        if (!out->served)
            return;
    }
    static unsigned serial;
    char line[64], got[64];
    int len = snprintf(line, sizeof line, "client alloc-fault %u\n", ++serial);
    uint8_t addr[12] = {2, 0, 0, 0, (uint8_t)port, (uint8_t)(port >> 8), 127, 0, 0, 1, 0, 0};
    memset(out, 0, sizeof *out);
    g_af.client_app = &c->app;
    g_af.counting = counting;
    g_af.phase = PHASE_CONNECT;
    int32_t session = portal_tls_connect(&c->app, cfg, "127.0.0.1", addr, sizeof addr, 0, 10000);
    g_af.phase = PHASE_NONE;
    size_t got_len = 0;
    if (session <= 0) {
        note_api_error(out, c, session);
    } else {
        uint8_t info[PORTAL_TLS_INFO_SIZE];
        if (portal_tls_session_info(&c->app, session, info, sizeof info) == PORTAL_TLS_INFO_SIZE)
            out->resumed = (info[PORTAL_TLS_INFO_OFF_FLAGS] & PORTAL_TLS_INFO_RESUMED) != 0;
        g_af.phase = PHASE_SEND;
        int32_t n = portal_tls_send(&c->app, session, (uint8_t *)line, (uint32_t)len, 5000);
        g_af.phase = PHASE_NONE;
        if (n != len)
            note_api_error(out, c, n < 0 ? n : PORTAL_ERR_INTERNAL);
        while (out->code == 0 && got_len < sizeof got && (got_len == 0 || got[got_len - 1] != '\n')) {
            g_af.phase = PHASE_RECV;
            n = portal_tls_recv(&c->app, session, (uint8_t *)got + got_len,
                                (uint32_t)(sizeof got - got_len), 5000);
            g_af.phase = PHASE_NONE;
            if (n <= 0) {
                note_api_error(out, c, n < 0 ? n : PORTAL_ERR_INTERNAL);
                break;
            }
            got_len += (size_t)n;
        }
        g_af.phase = PHASE_CLOSE;
        int32_t closed = portal_tls_close(&c->app, session);
        g_af.phase = PHASE_NONE;
        if (closed != 0)
            note_api_error(out, c, closed);
    }
    g_af.counting = false;
    g_af.client_app = NULL;
    out->injected = g_af.injected;
    out->injected_site = g_af.injected_site;
    out->calls = g_af.calls;
    out->client_status = CLIENT_OK;
    out->served = session > 0 && out->code == 0 && got_len == (size_t)len &&
                  memcmp(got, line, got_len) == 0;
    if (resume && config)
        portal_tls_resume_wipe(config);
}

/* tlsClientConfigCreate (CA, client certificate and key, ALPN) with failures injected, each run
 * in a fresh app; the config made (or, after a failure, one made clean) must then connect. */
static void scenario_client_config(const char *name, uint16_t port)
{
    int64_t t0 = now_ms();
    int failed_at_start = testlib_failed;
    af_reset_sites();
    g_af.watch = NULL;
    g_af.upstream_leak = g_af.upstream_leak_total = 0;
    g_af.upstream_leak_runs = 0;
    server c;
    outcome out;
    CHECK(portal_app_init(&c.app, NULL)); /* warm-up, then the baseline */
    c.app.log_sink = capture_log;
    int32_t cfg = create_client_config(&c.app, 0);
    connect_one(&c, cfg, port, false, false, &out);
    CHECK(out.served);
    portal_app_teardown(&c.app);
    baseline before = baseline_now();

    plan *p = &g_plan;
    p->count = p->next = 0;
    p->overflow = false;
    tally tl = {0};
    long exhaustive_n = g_first_call - 1;
    for (bool counting_run = true;; counting_run = false) {
        target t = {-2, 0, false};
        if (!counting_run) {
            if (!targets_left(p))
                break;
            t = next_target(p, &exhaustive_n);
        }
        memset(&out, 0, sizeof out);
        CHECK(portal_app_init(&c.app, NULL));
        c.app.log_sink = capture_log;
        af_begin_run(t.site, t.occurrence);
        g_af.phase = PHASE_CONFIG;
        g_af.counting = true;
        int32_t rc = create_client_config(&c.app, 0);
        g_af.counting = false;
        g_af.phase = PHASE_NONE;
        out.injected = g_af.injected;
        out.injected_site = g_af.injected_site;
        out.calls = g_af.calls;
        plan_new_sites(p);
        if (rc <= 0) {
            note_api_error(&out, &c, rc);
            if (portal_handles_count(&c.app.handles, PORTAL_HANDLE_TLS_CONFIG) != 0)
                fail_here(name, &t, &out, "a failed create left a config handle");
            rc = create_client_config(&c.app, 0);
            if (rc <= 0)
                fail_here(name, &t, &out, "a clean create after the failure failed too");
        }
        if (rc > 0) {
            outcome connected;
            connect_one(&c, rc, port, false, false, &connected);
            out.served = out.code == 0 && connected.served;
            if (!connected.served)
                fail_here(name, &t, &connected, "a connect with the config failed");
            CHECK_EQ_INT(portal_tls_client_config_free(&c.app, rc), 0);
        }
        portal_app_teardown(&c.app);
        if (counting_run) {
            CHECK(out.served && !out.injected);
            tl.clean_calls = out.calls;
        } else if (g_exhaustive && !out.injected) {
            CHECK(out.served);
            tl.clean_calls = out.calls;
            check_clean(name, &t, &out, NULL, &before, "after the clean run");
            break;
        } else {
            judge(name, &t, &out, &tl, p);
        }
        check_clean(name, &t, &out, NULL, &before, "after teardown");
        if (testlib_failed - failed_at_start > 20)
            break;
    }
    CHECK(!g_af.site_overflow && !p->overflow);
    print_tally(name, &tl, now_ms() - t0);
    print_sites();
}

/* tlsConnect .. tlsClose with failures injected, on one client config created clean. */
static void scenario_client_connection(const char *name, int32_t flags, uint16_t port)
{
    bool resume = !(flags & 2);
    int64_t t0 = now_ms();
    int failed_at_start = testlib_failed;
    int fds_at_start = portal_platform_open_fd_count();
    size_t heap_at_start = heap_in_use();
    g_af.upstream_leak = g_af.upstream_leak_total = 0;
    g_af.upstream_leak_runs = 0;
    server c;
    CHECK(portal_app_init(&c.app, NULL));
    c.app.log_sink = capture_log;
    int32_t cfg = create_client_config(&c.app, flags);
    CHECK(cfg > 0);
    g_af.watch = portal_handles_get(&c.app.handles, cfg, PORTAL_HANDLE_TLS_CONFIG);
    af_reset_sites();
    outcome out;
    for (int i = 0; i < 3; i++) { /* warm-up (with tickets: the remembered session is there) */
        connect_one(&c, cfg, port, false, resume, &out);
        CHECK(out.served);
    }
    baseline before = baseline_now();
    plan *p = &g_plan;
    p->count = p->next = 0;
    p->overflow = false;
    tally tl = {0};
    long exhaustive_n = g_first_call - 1;
    af_begin_run(-2, 0);
    connect_one(&c, cfg, port, true, resume, &out);
    CHECK(out.served && !out.injected && out.resumed == resume);
    plan_new_sites(p);
    while (targets_left(p)) {
        target t = next_target(p, &exhaustive_n);
        af_begin_run(t.site, t.occurrence);
        connect_one(&c, cfg, port, true, resume, &out);
        plan_new_sites(p);
        print_connection_run(&t, &out);
        if (g_exhaustive && !out.injected) {
            CHECK(out.served);
            tl.clean_calls = out.calls;
            check_clean(name, &t, &out, &c, &before, "after the clean run");
            break;
        }
        judge(name, &t, &out, &tl, p);
        check_clean(name, &t, &out, &c, &before, "after the injected run");
        outcome normal; /* and the next connect works */
        connect_one(&c, cfg, port, false, resume, &normal);
        if (!normal.served)
            fail_here(name, &t, &normal, "the next connect failed");
        check_clean(name, &t, &normal, &c, &before, "after the next connect");
        if (testlib_failed - failed_at_start > 20)
            break;
    }
    if (!g_exhaustive) {
        af_begin_run(-2, 0);
        connect_one(&c, cfg, port, true, resume, &out);
        CHECK(out.served && !out.injected && out.resumed == resume);
        tl.clean_calls = out.calls;
        target none = {-2, 0, false};
        check_clean(name, &none, &out, &c, &before, "after the clean run");
    }
    CHECK(!g_af.site_overflow && !p->overflow);
    CHECK_EQ_INT(portal_tls_client_config_free(&c.app, cfg), 0);
    g_af.watch = NULL;
    portal_app_teardown(&c.app);
    CHECK_EQ_INT(portal_platform_open_fd_count(), fds_at_start);
    CHECK_EQ_INT(heap_in_use(), heap_at_start + g_af.upstream_leak_total);
    print_tally(name, &tl, now_ms() - t0);
    print_sites();
}

/* ======================= setup ======================= */

/* glibc's per-thread cache keeps freed chunks counted as in use by mallinfo2, so the heap figure
 * would wander by a few KiB with whatever the cache holds. Without the cache it is exact: the test
 * runs itself again with the cache turned off (a tunable, read only at process start). */
static void exact_heap_accounting(char **argv)
{
    static const char off[] = "glibc.malloc.tcache_count=0";
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (tunables && strstr(tunables, off))
        return;
    char value[1024];
    snprintf(value, sizeof value, "%s%s%s", tunables ? tunables : "",
             tunables && *tunables ? ":" : "", off);
    setenv("GLIBC_TUNABLES", value, 1);
    execv("/proc/self/exe", argv);
    perror("re-running with glibc.malloc.tcache_count=0");
    exit(1);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) {
        printf("skipped: allocator owned by valgrind (allocation-failure injection needs glibc's "
               "calloc)\n");
        return 0;
    }
    exact_heap_accounting(argv);
    /* The first gmtime_r in a process makes glibc load the time zone and keep it (~100 bytes);
     * mbedTLS calls it when checking a client certificate's validity. Done here, it is not
     * mistaken for a leak of whichever scenario verifies a certificate first. */
    time_t epoch = 0;
    struct tm tm;
    gmtime_r(&epoch, &tm);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* PSA crypto (mbedTLS 3.x) keeps its state for the process once initialised, never freed
     * (host/tls/tls_library.c): set up here, before any baseline, as portal-host does at start. */
    size_t heap_before_crypto = heap_in_use();
    if (portal_tls_library_init() != 0) {
        fprintf(stderr, "portal_tls_library_init failed\n");
        return 1;
    }
    printf("process-wide crypto state (PSA crypto with mbedTLS 3.x): %zu bytes, set up before "
           "every baseline\n", heap_in_use() - heap_before_crypto);
    dl_iterate_phdr(af_find_lib, NULL);
    if (g_af.libs_found != 7) {
        /* Statically linked mbedTLS calls calloc directly; its callers cannot be told apart. */
        printf("skipped: mbedTLS is not linked as the shared libmbedtls/libmbedx509/libmbedcrypto "
               "(found mask %d)\n",
               g_af.libs_found);
        return 0;
    }
    g_verbose = getenv("TEST_TLS_AF_VERBOSE") != NULL;
    g_exhaustive = getenv("TEST_TLS_AF_EXHAUSTIVE") != NULL;
    if (getenv("TEST_TLS_AF_FIRST") && atol(getenv("TEST_TLS_AF_FIRST")) > 1)
        g_first_call = atol(getenv("TEST_TLS_AF_FIRST"));
    if (getenv("TEST_TLS_AF_SAMPLES"))
        g_samples = atoi(getenv("TEST_TLS_AF_SAMPLES"));
    if (g_samples < 2)
        g_samples = 2;
    if (g_samples > AF_MAX_SAMPLES)
        g_samples = AF_MAX_SAMPLES;
    if (!tls_test_begin("test_tls_alloc_fault"))
        return 1;
    if (!load_pems()) {
        fprintf(stderr, "cannot load the PEM files from %s\n", g_certs);
        testcerts_remove_tmp(g_tmp);
        return 1;
    }
    printf("certificates: %s; mbedTLS code in %d segments; mode: %s\n", g_certs, g_af.ranges,
           g_exhaustive ? "exhaustive (every allocation)" : "every site");
    if (!g_exhaustive)
        printf("  (each site failed at %d occurrences: first, last, evenly spaced between)\n",
               g_samples);

    static const scenario configs[] = {
        {"config ECDSA", PEM_EC_CERT, PEM_EC_KEY, false, false, 0},
        {"config RSA", PEM_RSA_CERT, PEM_RSA_KEY, false, false, 0},
        {"config ECDSA + client CA", PEM_EC_CERT, PEM_EC_KEY, true, false, 0},
        {"config ECDSA chain", PEM_EC_CHAIN, PEM_EC_KEY, false, false, 0},
    };
    /* With TLS 1.3 (mbedTLS 3.x) the client speaks it unless told otherwise; RSA runs in both
     * versions (TLS 1.3 signs CertificateVerify with RSA-PSS, which mbedTLS does not check after
     * signing), and ticket resumption too (TLS 1.3 tickets come after the handshake). */
    static const scenario connections[] = {
        {"connection ECDSA", PEM_EC_CERT, PEM_EC_KEY, false, false, 0},
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
        {"connection RSA TLS 1.3 (RSA-PSS CertificateVerify)", PEM_RSA_CERT, PEM_RSA_KEY, false,
         false, 13},
        {"connection RSA TLS 1.2", PEM_RSA_CERT, PEM_RSA_KEY, false, false, 12},
#else
        {"connection RSA", PEM_RSA_CERT, PEM_RSA_KEY, false, false, 0},
#endif
        {"connection mutual TLS", PEM_EC_CERT, PEM_EC_KEY, true, false, 0},
        {"connection resumed (ticket)", PEM_EC_CERT, PEM_EC_KEY, false, true, 0},
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
        {"connection resumed TLS 1.2 (ticket)", PEM_EC_CERT, PEM_EC_KEY, false, true, 12},
#endif
        {"connection resumed mutual", PEM_EC_CERT, PEM_EC_KEY, true, true, 0},
    };
    const char *only = getenv("TEST_TLS_AF_ONLY");
    int64_t t0 = now_ms();
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        if (!only || strstr(configs[i].name, only))
            scenario_config(&configs[i]);
    for (size_t i = 0; i < sizeof connections / sizeof connections[0]; i++)
        if (!only || strstr(connections[i].name, only))
            scenario_connection(&connections[i]);
    /* The TLS client, against the host's server side in a child process (not counted). */
    static const struct {
        const char *name;
        int32_t flags; /* 2: PP_TLS_NO_TICKETS, every handshake a full one */
    } clients[] = {{"client connection", 2}, {"client connection resumed", 0}};
    bool want_client = !only || strstr("client config", only);
    for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
        want_client = want_client || strstr(clients[i].name, only);
    uint16_t echo_port = 0;
    pid_t echo = want_client ? echo_server_spawn(&echo_port) : 0;
    if (want_client && echo <= 0)
        CHECK(!"the echo server child started");
    if (echo > 0) {
        if (!only || strstr("client config", only))
            scenario_client_config("client config", echo_port);
        for (size_t i = 0; i < sizeof clients / sizeof clients[0]; i++)
            if (!only || strstr(clients[i].name, only))
                scenario_client_connection(clients[i].name, clients[i].flags, echo_port);
        kill(echo, SIGTERM);
        waitpid(echo, NULL, 0);
    }
    printf("total %lld ms\n", (long long)(now_ms() - t0));
    for (int i = 0; i < PEM_COUNT; i++)
        free(g_pem[i].data);
    return tls_test_end();
}

#endif /* !AF_SANITIZED */
