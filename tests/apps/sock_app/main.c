/* sock_app - end-to-end test app for module portal_socket, run under portal-host by
 * tests/integration/test_socket_app.sh against the native peer tests/tools/sock_peer.c.
 * argv picks the behaviour (FAM is 4 for 127.0.0.1 or 6 for ::1):
 *   hello                          print the feature bits (warms the compile cache)
 *   echo-server FAM PORT           accept one client and echo until it closes; count would-blocks
 *   timeouts FAM CTLPORT PORT      accept/recv/send/connect with timeouts 0, 300 and -1 (the peer,
 *                                  driven over a control connection, acts 400 ms later), EOF vs
 *                                  reset, send to a closed peer, connect refused
 *   misuse FAM PORT                bad domain/type/handles/addresses/lengths, bind in use
 *   limit FAM PORT N               the per-app socket limit is N (portal-host --max-sockets)
 *   teardown PORT CTLPORT          phases advanced by connections to 127.0.0.1:CTLPORT: idle, holding
 *                                  sockets, all closed, then exitApp() while holding sockets
 *                                  (SIGTERM during "holding" tests the signal path)
 *   trap-holding PORT              open the "holding" set of sockets, then trap in a microtask
 *   wait-accept FAM PORT           wait in sockAccept for a client that never comes (SIGTERM test)
 *   rebind PORT                    listen on 127.0.0.1:PORT and [::1]:PORT at once
 * Results are lines "CHECK ok ..." / "CHECK FAIL ...", timings "TIME what N ms", and a final "END".
 * Every wait is bounded (the script also runs each app under `timeout`). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portal/microtask.h>
#include <portal/portal.h>
#include <portal/socket.h>
#include <portal/tls_socket.h>

#include "app_checks.h"
#include "dev_certs.h" /* the build's development certificates (for a TLS config handle) */

#define ZERO_TIMEOUT_MAX_MS 20.0
#define WAIT_MS 300
#define WAIT_MIN_MS 300.0 /* the host never returns before the deadline */
#define WAIT_MAX_MS 900.0
#define PEER_DELAY_MS 400 /* the peer acts this long after being told */
#define PEER_MIN_MS 350.0
#define PEER_MAX_MS 3000.0

static int fam = 4;
static uint8_t big[65536];

/* ---- reporting ---- */

/* rc must equal want and the last error must contain `text`. */
static void expect_error(const char *what, int32_t rc, int32_t want, const char *text)
{
    const char *msg = last_error();
    if (rc == want && strstr(msg, text) != NULL)
        report(1, "%s: %d '%s'", what, (int)rc, msg);
    else
        report(0, "%s: rc %d (want %d), message '%s' (want '%s')", what, (int)rc, (int)want, msg,
               text);
}

static void expect_time(const char *what, double ms, double lo, double hi)
{
    printf("TIME %s %.2f ms\n", what, ms);
    report(ms >= lo && ms <= hi, "%s returned after %.2f ms (bound %.0f..%.0f ms)", what, ms, lo,
           hi);
}

static int64_t t_start;
static void clock_go(void) { t_start = micros(); }
static double clock_ms(void) { return (double)(micros() - t_start) / 1000.0; }

/* ---- addresses ---- */

typedef struct app_addr {
    pp_sockaddr_any a;
    uint32_t len;
} app_addr;

static app_addr loopback(int family, int32_t port)
{
    app_addr r;
    memset(&r, 0, sizeof r);
    if (family == 6) {
        r.a.v6 = pp_addr6_loopback((uint16_t)port);
        r.len = sizeof(SocketAddr6);
    } else {
        r.a.v4 = pp_addr4_loopback((uint16_t)port);
        r.len = sizeof(SocketAddr);
    }
    return r;
}

static const char *addr_text(int family, int32_t port)
{
    static char text[48];
    snprintf(text, sizeof text, family == 6 ? "[::1]:%d" : "127.0.0.1:%d", (int)port);
    return text;
}

static int32_t tcp(int family)
{
    return sockSocket(family == 6 ? PP_AF_INET6 : PP_AF_INET, PP_SOCK_STREAM, 0);
}

/* True when `a` is the loopback address of family `family`. */
static int is_loopback(const pp_sockaddr_any *a, int family)
{
    static const uint8_t v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (family == 6)
        return a->v6.family == PP_AF_INET6 && memcmp(a->v6.ip, v6, 16) == 0;
    return a->v4.family == PP_AF_INET && a->v4.ip[0] == 127 && a->v4.ip[1] == 0 &&
           a->v4.ip[2] == 0 && a->v4.ip[3] == 1 && a->v4._pad[0] == 0 && a->v4._pad[1] == 0;
}

/* A listening socket on the loopback address of `family`, or a negative value (reported). */
static int32_t listen_on(int family, int32_t port, int32_t backlog)
{
    int32_t s = tcp(family);
    app_addr a = loopback(family, port);
    int32_t rc = s > 0 ? sockBind(s, &a.a, a.len) : s;
    if (rc == 0)
        rc = sockListen(s, backlog);
    if (rc != 0) {
        report(0, "listen on %s: rc %d, %s", addr_text(family, port), (int)rc, last_error());
        sockClose(s);
        return rc < 0 ? rc : -1;
    }
    return s;
}

/* ---- the control connection to sock_peer ---- */

static int32_t ctl = -1;
static char ctl_in[512];
static uint32_t ctl_used;

static void peer_async(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void peer_async(const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    line[n] = '\n';
    if (pp_sock_send_all(ctl, line, (uint32_t)n + 1, 5000) < 0)
        report(0, "sending '%.*s' to the peer: %s", n, line, last_error());
}

/* Waits for the peer's answer to the last command: its value, or -1 (reported) on "err". */
static long peer_wait(const char *what)
{
    for (;;) {
        char *nl = memchr(ctl_in, '\n', ctl_used);
        if (nl) {
            *nl = '\0';
            long value = 0;
            int ok = strncmp(ctl_in, "ok", 2) == 0;
            if (ok)
                value = strtol(ctl_in + 2, NULL, 10);
            else
                report(0, "peer command '%s': %s", what, ctl_in);
            uint32_t rest = ctl_used - (uint32_t)(nl + 1 - ctl_in);
            memmove(ctl_in, nl + 1, rest);
            ctl_used = rest;
            return ok ? value : -1;
        }
        if (ctl_used >= sizeof ctl_in) {
            report(0, "peer answer too long");
            return -1;
        }
        int32_t n = sockRecv(ctl, ctl_in + ctl_used, sizeof ctl_in - ctl_used, 20000);
        if (n <= 0) {
            report(0, "no answer from the peer to '%s': rc %d, %s", what, (int)n, last_error());
            return -1;
        }
        ctl_used += (uint32_t)n;
    }
}

static long peer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long peer(const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    peer_async("%s", line);
    return peer_wait(line);
}

/* ---- hello ---- */

static int run_hello(void)
{
    say("hello: api %d, socket %d, ipv6 %d", (int)apiVersion(),
        pp_has_features(PP_FEATURE_SOCKET), pp_has_features(PP_FEATURE_EXT_SOCKET_IPV6));
    report(pp_has_features(PP_FEATURE_SOCKET | PP_FEATURE_EXT_SOCKET_IPV6),
           "apiFeatures has the socket bit (15) and the IPv6 extension bit (32)");
    return 0;
}

/* ---- echo server ---- */

static int run_echo(int32_t port)
{
    int32_t l = listen_on(fam, port, 4);
    if (l < 0)
        return 1;
    say("echo: listening on %s", addr_text(fam, port));
    pp_sockaddr_any client;
    int32_t c = sockAcceptWithTimeout(l, &client, sizeof client, 30000);
    report(c > 0, "accepted a client (handle %d)", (int)c);
    if (c <= 0)
        return 1;
    report(is_loopback(&client, fam), "the client's address is loopback, family %d",
           (int)client.v4.family);
    int64_t in = 0, out = 0;
    long would_block = 0, partial = 0, recvs = 0;
    int64_t t0 = micros();
    for (;;) {
        int32_t n = sockRecv(c, big, sizeof big, 30000);
        if (n == 0)
            break; /* the peer finished sending */
        if (n < 0) {
            report(0, "sockRecv after %lld bytes: rc %d, %s", (long long)in, (int)n,
                   last_error());
            break;
        }
        recvs++;
        in += n;
        int32_t off = 0;
        while (off < n) {
            int32_t sent = sockSend(c, big + off, (uint32_t)(n - off), 0);
            if (sent == PP_ERR_NOT_READY && !pp_sock_closed(sent)) {
                would_block++; /* the slow reader at work: now wait for room */
                sent = sockSend(c, big + off, (uint32_t)(n - off), 30000);
            }
            if (sent <= 0) {
                report(0, "sockSend after %lld bytes: rc %d, %s", (long long)out, (int)sent,
                       last_error());
                sockClose(c);
                return 1;
            }
            if (sent < n - off)
                partial++;
            off += sent;
            out += sent;
        }
    }
    double ms = (double)(micros() - t0) / 1000.0;
    sockClose(c);
    sockClose(l);
    say("echo: in %lld out %lld bytes in %.0f ms; %ld recv calls, %ld partial sends, %ld would-block",
        (long long)in, (long long)out, ms, recvs, partial, would_block);
    report(in == out, "every byte received was sent back (%lld)", (long long)in);
    report(would_block > 0, "the slow reader made sockSend(timeout 0) would-block (%ld times)",
           would_block);
    return 0;
}

/* ---- timeouts, EOF vs reset, refused ---- */

static void accept_timeouts(int32_t l, int32_t port, int32_t *data)
{
    pp_sockaddr_any pa;
    clock_go();
    int32_t rc = sockAcceptWithTimeout(l, &pa, sizeof pa, 0);
    double ms = clock_ms();
    expect_error("accept timeout 0, nobody there", rc, -3,
                 "sockAcceptWithTimeout: no pending client");
    expect_time("accept timeout 0", ms, 0, ZERO_TIMEOUT_MAX_MS);

    clock_go();
    rc = sockAcceptWithTimeout(l, &pa, sizeof pa, WAIT_MS);
    ms = clock_ms();
    expect_error("accept timeout 300, nobody there", rc, -3,
                 "sockAcceptWithTimeout: timed out after 300 ms");
    expect_time("accept timeout 300", ms, WAIT_MIN_MS, WAIT_MAX_MS);

    memset(&pa, 0xAA, sizeof pa);
    peer_async("connect %d %d", PEER_DELAY_MS, (int)port);
    clock_go();
    int32_t h = sockAcceptWithTimeout(l, &pa, sizeof pa, -1);
    ms = clock_ms();
    long peer_port = peer_wait("connect");
    report(h > 0, "accept timeout -1 waited for the peer's connect: handle %d", (int)h);
    expect_time("accept timeout -1 (peer connects after 400 ms)", ms, PEER_MIN_MS, PEER_MAX_MS);
    report(is_loopback(&pa, fam) && pp_addr_port(&pa) == peer_port,
           "accept wrote the peer's address: family %d, port %u (peer says %ld)",
           (int)pa.v4.family, (unsigned)pp_addr_port(&pa), peer_port);

    /* sockAccept: the 4th argument (0 here) is ignored, the call waits. */
    peer_async("connect %d %d", PEER_DELAY_MS, (int)port);
    clock_go();
    int32_t h2 = sockAccept(l, &pa, sizeof pa, 0);
    ms = clock_ms();
    peer_wait("connect");
    report(h2 > 0 && h2 != h, "sockAccept(..., 0) waited for a client: handle %d", (int)h2);
    expect_time("sockAccept with ignored 4th argument 0 (peer connects after 400 ms)", ms,
                PEER_MIN_MS, PEER_MAX_MS);

    /* The peer dropped its first connection when it made the second: orderly EOF. */
    int32_t n = sockRecv(h, big, 16, 2000);
    report(n == 0, "recv on a connection the peer closed returns 0 (got %d)", (int)n);
    sockClose(h);
    *data = h2;
}

static void recv_timeouts(int32_t d)
{
    clock_go();
    int32_t rc = sockRecv(d, big, 64, 0);
    double ms = clock_ms();
    expect_error("recv timeout 0, no data", rc, -3, "sockRecv: would block");
    report(!pp_sock_closed(rc), "recv 'would block' is not 'closed'");
    expect_time("recv timeout 0", ms, 0, ZERO_TIMEOUT_MAX_MS);

    clock_go();
    rc = sockRecv(d, big, 64, WAIT_MS);
    ms = clock_ms();
    expect_error("recv timeout 300, no data", rc, -3, "sockRecv: timed out after 300 ms");
    expect_time("recv timeout 300", ms, WAIT_MIN_MS, WAIT_MAX_MS);

    peer_async("send %d 1", PEER_DELAY_MS);
    clock_go();
    rc = sockRecv(d, big, 64, -1);
    ms = clock_ms();
    peer_wait("send");
    report(rc == 1, "recv timeout -1 returned the peer's byte (rc %d)", (int)rc);
    expect_time("recv timeout -1 (peer sends after 400 ms)", ms, PEER_MIN_MS, PEER_MAX_MS);
}

static void send_timeouts(int32_t d)
{
    /* Fill the peer's receive buffer and our send buffer: the peer does not read yet. The kernel
     * keeps making a little room for a few hundred ms after the first "would block" (window
     * probes, receive-queue collapsing), so fill again every 100 ms until 500 ms pass in which
     * nothing more goes in. */
    int64_t filled = 0;
    int32_t rc = 0;
    int quiet_rounds = 0;
    for (int round = 0; round < 50 && quiet_rounds < 5; round++) {
        int64_t before = filled;
        for (int i = 0; i < 8192; i++) {
            rc = sockSend(d, big, sizeof big, 0);
            if (rc <= 0)
                break;
            filled += rc;
        }
        quiet_rounds = filled == before ? quiet_rounds + 1 : 0;
        delayMs(100);
    }
    say("send: %lld bytes fill the connection", (long long)filled);
    expect_error("send timeout 0 until full", rc, -3, "sockSend: would block");

    clock_go();
    rc = sockSend(d, big, sizeof big, 0);
    double ms = clock_ms();
    expect_error("send timeout 0, buffers full", rc, -3, "sockSend: would block");
    expect_time("send timeout 0", ms, 0, ZERO_TIMEOUT_MAX_MS);

    clock_go();
    rc = sockSend(d, big, sizeof big, WAIT_MS);
    ms = clock_ms();
    expect_error("send timeout 300, buffers full", rc, -3, "sockSend: timed out after 300 ms");
    expect_time("send timeout 300", ms, WAIT_MIN_MS, WAIT_MAX_MS);

    peer_async("drain %d %lld", PEER_DELAY_MS, (long long)filled);
    clock_go();
    rc = sockSend(d, big, sizeof big, -1);
    ms = clock_ms();
    long drained = peer_wait("drain");
    report(rc > 0, "send timeout -1 sent once the peer read (rc %d)", (int)rc);
    report(drained == filled, "the peer read the %lld bytes sent before", (long long)filled);
    expect_time("send timeout -1 (peer starts reading after 400 ms)", ms, PEER_MIN_MS, PEER_MAX_MS);
}

/* A fresh connection from the peer to our listener; its address goes to out/out_len. */
static int32_t peer_connection_addr(int32_t l, int32_t port, void *out, uint32_t out_len,
                                    long *peer_port)
{
    peer_async("connect 0 %d", (int)port);
    int32_t h = sockAcceptWithTimeout(l, out, out_len, 5000);
    long p = peer_wait("connect");
    if (peer_port)
        *peer_port = p;
    if (h <= 0)
        report(0, "accepting the peer's connection: rc %d, %s", (int)h, last_error());
    return h;
}

static int32_t peer_connection(int32_t l, int32_t port)
{
    return peer_connection_addr(l, port, NULL, 0, NULL);
}

/* out_addr_len 12 (the upstream size): an IPv4 peer fits; an IPv6 peer is written as family 10,
 * its port and a zero IP. Nothing is written past the 12 bytes. */
static void accept_short_addr(int32_t l, int32_t port)
{
    uint8_t out[28];
    memset(out, 0xAA, sizeof out);
    long peer_port = 0;
    int32_t h = peer_connection_addr(l, port, out, 12, &peer_port);
    SocketAddr a4;
    memcpy(&a4, out, sizeof a4);
    int untouched = 1;
    for (size_t i = 12; i < sizeof out; i++)
        untouched &= out[i] == 0xAA;
    if (fam == 6)
        report(h > 0 && a4.family == PP_AF_INET6 && a4.port == peer_port && a4.ip[0] == 0 &&
                   a4.ip[1] == 0 && a4.ip[2] == 0 && a4.ip[3] == 0 && a4._pad[0] == 0 &&
                   a4._pad[1] == 0 && untouched,
               "accept with out_addr_len 12 from an IPv6 peer: family %d (want 10), port %u (peer "
               "%ld), zero IP, bytes 12..27 %s",
               (int)a4.family, (unsigned)a4.port, peer_port, untouched ? "untouched" : "WRITTEN");
    else
        report(h > 0 && a4.family == PP_AF_INET && a4.port == peer_port && a4.ip[0] == 127 &&
                   a4.ip[3] == 1 && a4._pad[0] == 0 && a4._pad[1] == 0 && untouched,
               "accept with out_addr_len 12 from an IPv4 peer: family %d, 127.0.0.1, port %u "
               "(peer %ld), bytes 12..27 %s",
               (int)a4.family, (unsigned)a4.port, peer_port, untouched ? "untouched" : "WRITTEN");
    sockClose(h);
}

static void eof_and_reset(int32_t l, int32_t port)
{
    /* orderly close: data, then 0 (and 0 again) */
    int32_t e = peer_connection(l, port);
    peer("send 0 5");
    peer("close 0");
    int32_t n = sockRecv(e, big, 64, 2000);
    report(n == 5, "recv before EOF returns the 5 bytes sent (got %d)", (int)n);
    n = sockRecv(e, big, 64, 2000);
    report(n == 0, "recv after the peer's orderly close returns 0 (EOF) (got %d)", (int)n);
    n = sockRecv(e, big, 64, 0);
    report(n == 0, "recv after EOF keeps returning 0 (got %d)", (int)n);
    /* Sending to the closed peer: the first bytes may still be accepted, then it fails with
     * "closed" - and the host must not die of SIGPIPE. */
    int32_t rc = 0;
    int tries = 0;
    for (; tries < 100; tries++) {
        rc = sockSend(e, "x", 1, 1000);
        if (rc < 0)
            break;
        delayMs(10);
    }
    expect_error("send after the peer closed", rc, -2, "sockSend: closed");
    say("send to a closed peer failed after %d successful sends", tries);
    sockClose(e);

    /* reset: -3 with "closed", then 0 */
    int32_t r = peer_connection(l, port);
    peer("reset 0");
    rc = sockRecv(r, big, 64, 2000);
    expect_error("recv after the peer's reset (SO_LINGER 0)", rc, -3, "sockRecv: closed");
    report(pp_sock_closed(rc) && !pp_sock_not_yet(rc), "pp_sock_closed() says closed for the reset");
    report(strstr(last_msg, "reset") != NULL, "the reset message names the reset: '%s'", last_msg);
    n = sockRecv(r, big, 64, 2000);
    report(n == 0, "recv after the reported reset returns 0 (got %d)", (int)n);
    rc = sockSend(r, "x", 1, 1000);
    expect_error("send after the reset", rc, -2, "sockSend: closed");
    sockClose(r);

    /* a reset while recv waits with timeout -1 */
    int32_t w = peer_connection(l, port);
    peer_async("reset %d", PEER_DELAY_MS);
    clock_go();
    rc = sockRecv(w, big, 64, -1);
    double ms = clock_ms();
    peer_wait("reset");
    expect_error("recv timeout -1 when the peer resets", rc, -3, "sockRecv: closed");
    expect_time("recv timeout -1 (peer resets after 400 ms)", ms, PEER_MIN_MS, PEER_MAX_MS);
    sockClose(w);
}

static void connect_cases(void)
{
    /* refused */
    long free_port = peer("freeport 0");
    app_addr a = loopback(fam, (int32_t)free_port);
    int32_t s = tcp(fam);
    char want[96];
    snprintf(want, sizeof want, "sockConnect: connection refused by %s",
             addr_text(fam, (int32_t)free_port));
    expect_error("connect to a port nobody listens on (timeout 2000)",
                 sockConnect(s, &a.a, a.len, 2000), -2, want);
    sockClose(s);
    /* refused, found out by a second call that resumes a timeout-0 connect */
    s = tcp(fam);
    int32_t rc = sockConnect(s, &a.a, a.len, 0);
    report(rc == -3 || rc == -2, "connect timeout 0 to a closed port: -3 in progress or -2 (rc %d, %s)",
           (int)rc, last_error());
    if (rc == -3)
        expect_error("resumed connect reports the refusal", sockConnect(s, &a.a, a.len, 2000), -2,
                     "connection refused");
    sockClose(s);

    /* A peer listener with backlog 1 that nobody accepts from: once its queue is full the kernel
     * drops further SYNs, so a connect cannot finish until the peer accepts. */
    long port = peer("listen 0 1");
    a = loopback(fam, (int32_t)port);
    int32_t fillers[8];
    int n_fillers = 0;
    int32_t stalled = 0;
    for (int i = 0; i < 8 && !stalled; i++) {
        int32_t c = tcp(fam);
        rc = sockConnect(c, &a.a, a.len, 250);
        if (rc == 0) {
            fillers[n_fillers++] = c;
        } else {
            stalled = c;
            expect_error("connect timeout 250 once the backlog is full", rc, -3,
                         "sockConnect: timed out after 250 ms");
        }
    }
    report(n_fillers >= 1 && stalled, "the peer's backlog is full after %d connections", n_fillers);
    sockClose(stalled);

    s = tcp(fam);
    clock_go();
    rc = sockConnect(s, &a.a, a.len, 0);
    double ms = clock_ms();
    expect_error("connect timeout 0, backlog full", rc, -3,
                 "sockConnect: in progress (would block); call again to finish");
    expect_time("connect timeout 0", ms, 0, ZERO_TIMEOUT_MAX_MS);
    sockClose(s);

    s = tcp(fam);
    clock_go();
    rc = sockConnect(s, &a.a, a.len, WAIT_MS);
    ms = clock_ms();
    expect_error("connect timeout 300, backlog full", rc, -3, "sockConnect: timed out after 300 ms");
    expect_time("connect timeout 300", ms, WAIT_MIN_MS, WAIT_MAX_MS);

    /* The peer now accepts the queued connections: the resumed connect finishes when the kernel
     * retransmits our SYN (about 1 s after the first one). */
    peer_async("accept %d %d", PEER_DELAY_MS, n_fillers);
    clock_go();
    rc = sockConnect(s, &a.a, a.len, -1);
    ms = clock_ms();
    peer_wait("accept");
    report(rc == 0, "resumed connect with timeout -1 completed once the peer accepted (rc %d, %s)",
           (int)rc, rc ? last_error() : "");
    expect_time("connect timeout -1 (peer frees its backlog after 400 ms)", ms, PEER_MIN_MS, 4000);
    rc = sockSend(s, "hi", 2, 1000);
    report(rc == 2, "the resumed connection carries data (send rc %d)", (int)rc);
    sockClose(s);
    for (int i = 0; i < n_fillers; i++)
        sockClose(fillers[i]);
}

static int run_timeouts(int32_t ctl_port, int32_t port)
{
    app_addr ca = loopback(fam, ctl_port);
    ctl = tcp(fam);
    int32_t rc = sockConnect(ctl, &ca.a, ca.len, 5000);
    if (rc != 0) {
        report(0, "connect to the peer's control port %s: %s", addr_text(fam, ctl_port),
               last_error());
        return 1;
    }
    int32_t l = listen_on(fam, port, 4);
    if (l < 0)
        return 1;
    int32_t d = 0;
    accept_timeouts(l, port, &d);
    if (d > 0) {
        recv_timeouts(d);
        send_timeouts(d);
        sockClose(d);
    }
    accept_short_addr(l, port);
    eof_and_reset(l, port);
    connect_cases();
    sockClose(l);
    peer("quit 0");
    sockClose(ctl);
    return 0;
}

/* ---- misuse ---- */

/* Every import that takes a handle, given `h`: -1 "<call>: bad socket handle h"; sockClose: 0
 * with the last error left alone. One check line per handle (each failing call is named). */
static void bad_handle_cases(int32_t h, const char *label)
{
    app_addr a = loopback(fam, 9);
    pp_sockaddr_any out;
    struct {
        const char *name;
        int32_t rc;
    } calls[7];
    int n = 0, bad = 0;
#define BAD(call, import_name)                                                                     \
    do {                                                                                           \
        calls[n].name = import_name;                                                               \
        calls[n].rc = (call);                                                                      \
        char want[96];                                                                             \
        snprintf(want, sizeof want, "%s: bad socket handle %d", import_name, (int)h);             \
        const char *msg = last_error();                                                            \
        if (calls[n].rc != -1 || strcmp(msg, want) != 0) {                                         \
            report(0, "%s on %s handle %d: rc %d, '%s' (want -1, '%s')", import_name, label,      \
                   (int)h, (int)calls[n].rc, msg, want);                                           \
            bad++;                                                                                 \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
    BAD(sockConnect(h, &a.a, a.len, 0), "sockConnect");
    BAD(sockBind(h, &a.a, a.len), "sockBind");
    BAD(sockListen(h, 1), "sockListen");
    BAD(sockAccept(h, &out, sizeof out, 0), "sockAccept");
    BAD(sockAcceptWithTimeout(h, &out, sizeof out, 0), "sockAcceptWithTimeout");
    BAD(sockSend(h, "x", 1, 0), "sockSend");
    BAD(sockRecv(h, big, 16, 0), "sockRecv");
#undef BAD
    char before[128];
    snprintf(before, sizeof before, "%s", last_error());
    int32_t rc = sockClose(h);
    int close_ok = rc == 0 && strcmp(last_error(), before) == 0;
    report(bad == 0 && close_ok,
           "%s handle %d: sockConnect/Bind/Listen/Accept/AcceptWithTimeout/Send/Recv all -1 "
           "'<call>: bad socket handle %d'; sockClose %d, last error %s",
           label, (int)h, (int)h, (int)rc, close_ok ? "untouched" : "CHANGED");
}

/* sockSocket's protocol: only the type's own, as 0 or by number. Anything else used to reach
 * socket(2) as given (ICMP "ping" datagram sockets, SCTP streams, ...). */
static void protocol_cases(void)
{
    int32_t domain = fam == 6 ? PP_AF_INET6 : PP_AF_INET;
    char what[64], want[128];
    static const int32_t bad_stream[] = {1, 132, 17, -1, 58, 256, INT32_MIN};
    for (size_t i = 0; i < sizeof bad_stream / sizeof bad_stream[0]; i++) {
        int32_t p = bad_stream[i];
        snprintf(what, sizeof what, "sockSocket stream protocol %d", (int)p);
        snprintf(want, sizeof want, "sockSocket: protocol %d is not supported (only 0 or 6/TCP)",
                 (int)p);
        expect_error(what, sockSocket(domain, PP_SOCK_STREAM, p), -1, want);
    }
    static const int32_t bad_dgram[] = {1, 58, 6, 132, 136, -1};
    for (size_t i = 0; i < sizeof bad_dgram / sizeof bad_dgram[0]; i++) {
        int32_t p = bad_dgram[i];
        snprintf(what, sizeof what, "sockSocket datagram protocol %d", (int)p);
        snprintf(want, sizeof want, "sockSocket: protocol %d is not supported on a datagram "
                 "socket (only 0 or 17/UDP)", (int)p);
        expect_error(what, sockSocket(domain, PP_SOCK_DGRAM, p), -1, want);
    }
    /* the accepted ones: a stream socket by 0 or 6 listens (TCP), a datagram one by 0 or 17 */
    static const int32_t good[][2] = {{PP_SOCK_STREAM, 0}, {PP_SOCK_STREAM, 6},
                                      {PP_SOCK_DGRAM, 0}, {PP_SOCK_DGRAM, 17}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int32_t h = sockSocket(domain, good[i][0], good[i][1]);
        app_addr any = loopback(fam, 0);
        int32_t rc = h > 0 ? sockBind(h, &any.a, any.len) : h;
        if (rc == 0 && good[i][0] == PP_SOCK_STREAM)
            rc = sockListen(h, 1);
        report(h > 0 && rc == 0, "sockSocket %s protocol %d: handle %d, %s rc %d",
               good[i][0] == PP_SOCK_STREAM ? "stream" : "datagram", (int)good[i][1], (int)h,
               good[i][0] == PP_SOCK_STREAM ? "bind + listen" : "bind", (int)rc);
        sockClose(h);
    }
}

static int run_misuse(int32_t port)
{
    char msg[128];
    lastErrorMessage(msg, sizeof msg);
    report(lastErrorCode() == 0 && msg[0] == '\0',
           "the last error starts empty (code %d, '%s')", (int)lastErrorCode(), msg);

    expect_error("sockSocket domain 3", sockSocket(3, 1, 0), -1,
                 "sockSocket: unsupported domain 3 (2 = IPv4, 10 = IPv6)");
    expect_error("sockSocket domain 0", sockSocket(0, 1, 0), -1, "unsupported domain 0");
    expect_error("sockSocket domain -1", sockSocket(-1, 1, 0), -1, "unsupported domain -1");
    expect_error("sockSocket type 3", sockSocket(2, 3, 0), -1,
                 "sockSocket: unsupported type 3 (1 = stream, 2 = datagram)");
    expect_error("sockSocket type 0 (IPv6)", sockSocket(10, 0, 0), -1, "unsupported type 0");
    protocol_cases();

    static const int32_t bogus[] = {0, -1, -7, INT32_MIN, INT32_MAX, 123456};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++)
        bad_handle_cases(bogus[i], bogus[i] <= 0 ? "non-positive" : "never-issued");

    /* stale: closed once, used, closed twice more */
    int32_t s = tcp(fam);
    report(s > 0, "sockSocket returns a positive handle (%d)", (int)s);
    report(sockClose(s) == 0, "first sockClose returns 0");
    bad_handle_cases(s, "stale");
    report(sockClose(s) == 0, "closing the stale handle yet again returns 0");
    int32_t s2 = tcp(fam);
    report(s2 > 0 && s2 != s, "a closed handle is not reused (old %d, new %d)", (int)s, (int)s2);

    /* a listener used as something else, and accept on a non-listener */
    int32_t l = listen_on(fam, port, 0);
    char want[96];
    snprintf(want, sizeof want, "sockRecv: socket %d is listening (use sockAccept)", (int)l);
    expect_error("recv on a listener", sockRecv(l, big, 16, 0), -1, want);
    snprintf(want, sizeof want, "sockSend: socket %d is listening", (int)l);
    expect_error("send on a listener", sockSend(l, "x", 1, 0), -1, want);
    app_addr a = loopback(fam, port);
    snprintf(want, sizeof want, "sockConnect: socket %d is listening", (int)l);
    expect_error("connect on a listener", sockConnect(l, &a.a, a.len, 0), -1, want);
    snprintf(want, sizeof want, "sockAcceptWithTimeout: socket %d is not listening", (int)s2);
    expect_error("accept on a non-listener", sockAcceptWithTimeout(s2, NULL, 0, 0), -1, want);
    expect_error("accept with out_addr_len 11", sockAcceptWithTimeout(l, big, 11, 0), -1,
                 "sockAcceptWithTimeout: out_addr_len too small (need 12, or 28 for IPv6)");
    clock_go();
    int32_t rc = sockAccept(l, big, 1, 0);
    double ms = clock_ms();
    expect_error("sockAccept with out_addr_len 1 (checked before waiting)", rc, -1,
                 "sockAccept: out_addr_len too small");
    report(ms < 100, "... and it did not wait (%.2f ms)", ms);

    /* addresses */
    expect_error("bind with an 11-byte address", sockBind(s2, &a.a, 11), -1,
                 "sockBind: invalid address (11 bytes; need 12, or 28 for IPv6)");
    expect_error("connect with a 0-byte address", sockConnect(s2, &a.a, 0, 0), -1,
                 "sockConnect: invalid address (0 bytes");
    app_addr other = loopback(fam == 6 ? 4 : 6, port);
    expect_error("bind with the other family's address", sockBind(s2, &other.a, other.len), -1,
                 fam == 6 ? "sockBind: IPv4 address on an IPv6 socket" :
                            "sockBind: IPv6 address on an IPv4 socket");
    expect_error("connect with the other family's address",
                 sockConnect(s2, &other.a, other.len, 0), -1,
                 fam == 6 ? "sockConnect: IPv4 address on an IPv6 socket" :
                            "sockConnect: IPv6 address on an IPv4 socket");

    /* lengths */
    expect_error("recv with buf_len 0", sockRecv(s2, big, 0, 0), -1, "sockRecv: buf_len is 0");
    rc = sockSend(s2, big, 0, 0);
    report(rc == 0, "send with len 0 returns 0 (rc %d)", (int)rc);

    /* a live handle of another kind: a TLS config is neither used nor closed as a socket */
    int32_t cfg = tlsServerConfigCreate(dev_server_ec_cert, sizeof dev_server_ec_cert,
                                        dev_server_ec_key, sizeof dev_server_ec_key, NULL, 0, 0);
    report(cfg > 0, "a TLS config handle to misuse (%d)", (int)cfg);
    snprintf(want, sizeof want, "sockSend: handle %d is a TLS config, not a socket", (int)cfg);
    expect_error("send on a TLS config handle", sockSend(cfg, "x", 1, 0), -1, want);
    snprintf(want, sizeof want, "sockRecv: handle %d is a TLS config, not a socket", (int)cfg);
    expect_error("recv on a TLS config handle", sockRecv(cfg, big, 1, 0), -1, want);
    snprintf(want, sizeof want, "sockClose: handle %d is a TLS config, not a socket", (int)cfg);
    expect_error("sockClose on a TLS config handle", sockClose(cfg), -1, want);
    rc = tlsServerConfigFree(cfg);
    report(rc == 0, "... and the config was not closed by it: tlsServerConfigFree returns %d",
           (int)rc);

    /* bind in use */
    int32_t b = tcp(fam);
    snprintf(want, sizeof want, "sockBind: address in use: %s", addr_text(fam, port));
    expect_error("bind to the listener's port", sockBind(b, &a.a, a.len), -2, want);
    report(lastErrorCode() == -2, "lastErrorCode() is -2 after it (%d)", (int)lastErrorCode());
    int32_t n = lastErrorMessage(msg, 5);
    report(n == 4 && strcmp(msg, "sock") == 0, "lastErrorMessage(out, 5) copies 4 bytes + NUL (%d)",
           (int)n);

    sockClose(b);
    sockClose(l);
    sockClose(s2);
    return 0;
}

/* ---- socket limit ---- */

static int run_limit(int32_t port, int limit)
{
    int32_t l = listen_on(fam, port, 4);
    app_addr a = loopback(fam, port);
    int32_t c = tcp(fam);
    int32_t rc = sockConnect(c, &a.a, a.len, 2000);
    report(l > 0 && rc == 0, "listener and client (rc %d)", (int)rc);
    int32_t others[1024];
    int n = 0;
    while (n < limit - 2 && n < 1024) {
        int32_t s = tcp(fam);
        if (s <= 0)
            break;
        others[n++] = s;
    }
    report(n == limit - 2, "%d sockets open up to the limit %d", n + 2, limit);
    char want[96];
    snprintf(want, sizeof want, "sockSocket: too many open sockets (limit %d)", limit);
    expect_error("sockSocket at the limit", sockSocket(2, 1, 0), -2, want);
    snprintf(want, sizeof want, "sockAcceptWithTimeout: too many open sockets (limit %d)", limit);
    expect_error("accept at the limit", sockAcceptWithTimeout(l, NULL, 0, 1000), -2, want);
    sockClose(others[--n]);
    int32_t accepted = sockAcceptWithTimeout(l, NULL, 0, 1000);
    report(accepted > 0, "after one close the queued client is accepted (handle %d)", (int)accepted);
    expect_error("full again", sockSocket(2, 1, 0), -2, "too many open sockets");
    sockClose(accepted);
    int32_t again = tcp(fam);
    report(again > 0, "a socket can be opened again after a close (handle %d)", (int)again);
    sockClose(again);
    while (n > 0)
        sockClose(others[--n]);
    sockClose(c);
    sockClose(l);
    return 0;
}

/* ---- teardown ---- */

static int32_t td_port, td_ctl;
static int td_phase;
static int32_t held[32];
static int n_held;
static int32_t td_l4, td_l6, td_holder4, td_holder6;

static void hold(int32_t h, const char *what)
{
    if (h > 0 && n_held < 32)
        held[n_held++] = h;
    else
        report(0, "teardown: opening %s: rc %d, %s", what, (int)h, last_error());
}

/* A connected pair inside the app: client to our own listener `l`, and the accepted end. */
static void hold_pair(int family, int32_t l)
{
    app_addr a = loopback(family, td_port);
    int32_t c = tcp(family);
    int32_t rc = sockConnect(c, &a.a, a.len, 2000);
    hold(rc == 0 ? c : rc, "a client");
    hold(sockAcceptWithTimeout(l, NULL, 0, 2000), "an accepted connection");
}

static void hold_extras(void)
{
    int32_t u = sockSocket(PP_AF_INET, PP_SOCK_DGRAM, 0);
    app_addr a = loopback(4, td_port);
    hold(u > 0 && sockBind(u, &a.a, a.len) == 0 ? u : -1, "a bound UDP socket");
    hold(tcp(4), "an unbound IPv4 socket");
    hold(tcp(6), "an unbound IPv6 socket");
}

/* Listeners on 127.0.0.1:td_port and [::1]:td_port, a connected pair on each, and extras. */
static void hold_set(void)
{
    int32_t l4 = listen_on(4, td_port, 8), l6 = listen_on(6, td_port, 8);
    hold(l4, "an IPv4 listener");
    hold(l6, "an IPv6 listener");
    hold_pair(4, l4);
    hold_pair(6, l6);
    hold_extras();
}

static pp_action trap_step(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    hold_set();
    say("trap-holding: holding %d, now trapping", n_held);
    __builtin_trap();
}

static pp_action teardown_step(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    if (td_phase == 3) {
        /* waiting for the two outside holders, then exit holding everything */
        if (!td_holder4)
            td_holder4 = sockAcceptWithTimeout(td_l4, NULL, 0, 0) > 0;
        if (!td_holder6)
            td_holder6 = sockAcceptWithTimeout(td_l6, NULL, 0, 0) > 0;
        if (!td_holder4 || !td_holder6)
            return pp_sleep(20);
        hold_pair(4, td_l4);
        hold_pair(6, td_l6);
        hold_extras();
        /* a connect left in progress: timeout 0 */
        int32_t c = tcp(4);
        app_addr a = loopback(4, td_port);
        int32_t rc = sockConnect(c, &a.a, a.len, 0);
        hold(rc == 0 || rc == -3 ? c : rc, "a connecting socket");
        /* +1 control listener, +2 accepted holders (not in `held`) */
        say("teardown: exiting holding %d sockets", n_held + 1 + 2);
        say("END");
        exitApp();
        return pp_done();
    }
    int32_t poke = sockAcceptWithTimeout(td_ctl, NULL, 0, 0);
    if (poke <= 0)
        return pp_sleep(20);
    sockClose(poke);
    td_phase++;
    if (td_phase == 1) {
        hold_set();
        say("teardown: holding %d", n_held);
    } else if (td_phase == 2) {
        int closed = 0;
        while (n_held > 0)
            closed += sockClose(held[--n_held]) == 0;
        say("teardown: closed all %d", closed);
    } else {
        /* listen again on the same port at once (TIME_WAIT from phase 1 must not matter) */
        td_l4 = listen_on(4, td_port, 8);
        td_l6 = listen_on(6, td_port, 8);
        hold(td_l4, "the IPv4 listener again");
        hold(td_l6, "the IPv6 listener again");
        report(td_l4 > 0 && td_l6 > 0, "listening again on port %d right after closing everything",
               (int)td_port);
        say("teardown: listening");
    }
    return pp_sleep(20);
}

static int run_teardown(int32_t port, int32_t ctl_port)
{
    td_port = port;
    td_ctl = listen_on(4, ctl_port, 8);
    if (td_ctl < 0)
        return 1;
    if (pp_task_start(0, 0, teardown_step, NULL) <= 0) {
        report(0, "pp_task_start: %s", last_error());
        return 1;
    }
    say("teardown: idle");
    return 0;
}

static int run_trap_holding(int32_t port)
{
    td_port = port;
    return pp_task_start(0, 0, trap_step, NULL) > 0 ? 0 : 1;
}

/* Blocks in sockAccept (always waits) with nobody coming: only a host shutdown can end this. */
static int run_wait_accept(int32_t port)
{
    int32_t l = listen_on(fam, port, 4);
    if (l < 0)
        return 1;
    say("wait-accept: waiting in sockAccept");
    int32_t rc = sockAccept(l, NULL, 0, 0);
    say("wait-accept: sockAccept returned %d (%s)", (int)rc, last_error());
    return 0;
}

static int run_rebind(int32_t port)
{
    int32_t l4 = listen_on(4, port, 4), l6 = listen_on(6, port, 4);
    report(l4 > 0, "listen on 127.0.0.1:%d at once after the previous run", (int)port);
    report(l6 > 0, "listen on [::1]:%d at once after the previous run", (int)port);
    int32_t u = sockSocket(PP_AF_INET, PP_SOCK_DGRAM, 0);
    app_addr a = loopback(4, port);
    int32_t rc = sockBind(u, &a.a, a.len);
    report(rc == 0, "bind UDP 127.0.0.1:%d (the previous run's UDP socket is gone) rc %d",
           (int)port, (int)rc);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "hello";
    int rc = 2;
    int arg_fam = argc > 2 ? atoi(argv[2]) : 4;
    if (arg_fam == 4 || arg_fam == 6)
        fam = arg_fam;
    if (strcmp(mode, "hello") == 0)
        rc = run_hello();
    else if (strcmp(mode, "echo-server") == 0 && argc == 4)
        rc = run_echo(atoi(argv[3]));
    else if (strcmp(mode, "timeouts") == 0 && argc == 5)
        rc = run_timeouts(atoi(argv[3]), atoi(argv[4]));
    else if (strcmp(mode, "misuse") == 0 && argc == 4)
        rc = run_misuse(atoi(argv[3]));
    else if (strcmp(mode, "limit") == 0 && argc == 5)
        rc = run_limit(atoi(argv[3]), atoi(argv[4]));
    else if (strcmp(mode, "teardown") == 0 && argc == 4)
        return run_teardown(atoi(argv[2]), atoi(argv[3]));
    else if (strcmp(mode, "trap-holding") == 0 && argc == 3)
        return run_trap_holding(atoi(argv[2]));
    else if (strcmp(mode, "wait-accept") == 0 && argc == 4)
        rc = run_wait_accept(atoi(argv[3]));
    else if (strcmp(mode, "rebind") == 0 && argc == 3)
        rc = run_rebind(atoi(argv[2]));
    else
        say("sock_app: unknown mode or wrong arguments: %s", mode);
    if (rc == 0)
        say("END");
    return rc != 0 ? rc : failed_checks ? 1 : 0;
}
