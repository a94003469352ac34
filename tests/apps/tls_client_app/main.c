/* tls_client_app - test app for the TLS client extension (tlsClientConfigCreate/Free, tlsConnect),
 * run under portal-host by tests/integration/test_tls_client.sh. Modes:
 *   errors CLOSED_PORT SESSION_LIMIT   every argument check of the three imports (error code
 *                        and message), the config limit shared with server configs, a client
 *                        config given to the server imports and back, a refused TCP connect to
 *                        127.0.0.1:CLOSED_PORT, a name that does not resolve, and the session
 *                        limit (the host's --max-tls-sessions) for client sessions
 *   many N PORT SCALE    N client sessions at once to the development server on PORT
 *                        (tls-echo-server: verified against the development CA), all started
 *                        with timeout 0 (by name "localhost", by SocketAddr 127.0.0.1 and by
 *                        SocketAddr6 ::1 in turn), then served from one microtask that sleeps in
 *                        sockPoll: each session, once OUT, must report a verified client session,
 *                        send a line and get it echoed back
 *   stall PORT DEADLINE_MS SCALE   a server on PORT that accepts and never finishes a handshake:
 *                        timeout 0 (in progress: -3 from tlsSessionInfo/tlsRecv/tlsSend, sockPoll
 *                        not ready; then ERR and "timed out" once the host's deadline passed),
 *                        timeout > 0 ("tlsConnect: timed out" after it), tlsRecv with a timeout
 *                        waiting for the handshake within it, and tlsClose while connecting
 * SCALE (>= 1) multiplies the time bounds (valgrind). Results are "CHECK ok|FAIL ..." lines and
 * "END" when a mode ran to its end; the exit status is 1 when a check failed. */
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
#include "dev_certs.h" /* the build's development CA and server certificate */

static int scale = 1;

/* rc must be `want` and the last error message must contain `text`. */
static int expect(const char *what, int32_t rc, int32_t want, const char *text)
{
    const char *msg = last_error();
    if (rc == want && strstr(msg, text))
        return report(1, "%s: %d '%s'", what, (int)rc, msg);
    return report(0, "%s: got %d '%s', want %d with '%s'", what, (int)rc, msg, (int)want, text);
}

static int32_t client_config(const char *alpn, int32_t flags)
{
    return tlsClientConfigCreate(dev_ca_cert, sizeof dev_ca_cert, NULL, 0, NULL, 0, alpn,
                                 (uint32_t)strlen(alpn), flags);
}

/* ---- errors ---- */

static void errors_mode(int32_t closed_port, int session_limit)
{
    int32_t c;
    char name[300];
    expect("flags 0x4", client_config("", 0x4), -1, "tlsClientConfigCreate: unknown flags 0x4");
    c = tlsClientConfigCreate(NULL, 0, dev_server_ec_cert, sizeof dev_server_ec_cert, NULL, 0,
                              NULL, 0, 0);
    expect("cert without key", c, -1, "tlsClientConfigCreate: cert_pem without key_pem");
    c = tlsClientConfigCreate(NULL, 0, NULL, 0, dev_server_ec_key, sizeof dev_server_ec_key,
                              NULL, 0, 0);
    expect("key without cert", c, -1, "tlsClientConfigCreate:");
    c = tlsClientConfigCreate(NULL, 0, dev_server_ec_cert, sizeof dev_server_ec_cert,
                              dev_server_rsa_key, sizeof dev_server_rsa_key, NULL, 0, 0);
    expect("key of another certificate", c, -1,
           "tlsClientConfigCreate: client key does not match the certificate");
    expect("ALPN \"h2,,x\"", client_config("h2,,x", 0), -1,
           "tlsClientConfigCreate: bad ALPN list: empty protocol name at byte 3");
    expect("ALPN \",h2\"", client_config(",h2", 0), -1, "bad ALPN list");
    expect("ALPN \"h2,\"", client_config("h2,", 0), -1, "bad ALPN list");
    expect("ALPN 9 names", client_config("a,b,c,d,e,f,g,h,i", 0), -1, "bad ALPN list");
    expect("ALPN with a tab", client_config("http/1.1,h\t2", 0), -1, "bad ALPN list");
    expect("ALPN with a byte above 0x7e", client_config("h2,caf\xc3\xa9", 0), -1, "bad ALPN list");
    memset(name, 'p', 256);
    name[256] = 0;
    expect("ALPN name of 256 bytes", client_config(name, 0), -1, "bad ALPN list");
    c = client_config("a,b,c,d,e,f,g,h", 0);
    report(c > 0, "ALPN of 8 names is accepted (%d)", (int)c);
    tlsClientConfigFree(c);
    name[255] = 0;
    c = client_config(name, 0);
    report(c > 0, "ALPN name of 255 bytes is accepted (%d)", (int)c);
    tlsClientConfigFree(c);
    c = tlsClientConfigCreate("not a certificate", 18, NULL, 0, NULL, 0, NULL, 0, 0);
    expect("garbage ca_pem", c, -1, "tlsClientConfigCreate: ca_pem: ");

    int32_t cfg = client_config("", 0);
    report(cfg > 0, "client config with the development CA (%d)", (int)cfg);
    int32_t ins = tlsClientConfigCreate("ignored", 7, NULL, 0, NULL, 0, NULL, 0,
                                        PP_TLS_CLIENT_NO_VERIFY | PP_TLS_NO_TICKETS);
    report(ins > 0, "PP_TLS_CLIENT_NO_VERIFY ignores ca_pem, with PP_TLS_NO_TICKETS (%d) %s",
           (int)ins, ins > 0 ? "" : last_error());

    /* handles of the wrong kind */
    int32_t srv = pp_tls_server_config(dev_server_ec_cert, sizeof dev_server_ec_cert,
                                       dev_server_ec_key, sizeof dev_server_ec_key);
    expect("tlsClientConfigFree(0)", tlsClientConfigFree(0), -1,
           "tlsClientConfigFree: bad config handle 0");
    expect("tlsClientConfigFree(server config)", tlsClientConfigFree(srv), -1,
           "tlsClientConfigFree:");
    expect("tlsServerConfigFree(client config)", tlsServerConfigFree(cfg), -1, "is a client config");
    int32_t l = sockSocket(PP_AF_INET, PP_SOCK_STREAM, 0);
    SocketAddr any = pp_addr4_loopback(0);
    sockBind(l, &any, sizeof any);
    sockListen(l, 1);
    expect("tlsAccept(client config)", tlsAccept(cfg, l, NULL, 0, 0), -1, "is a client config");
    sockClose(l);
    expect("tlsConnect(server config)", pp_tls_connect_host(srv, "localhost", 443, 0), -1,
           "tlsConnect:");
    expect("tlsConnect(config 0)", pp_tls_connect_host(0, "localhost", 443, 0), -1, "tlsConnect:");
    expect("tlsConnect(config 0x7FFF)", pp_tls_connect_host(0x7FFF, "localhost", 443, 0), -1,
           "tlsConnect:");

    /* host, addr_len, port */
    expect("host \"\"", pp_tls_connect_host(cfg, "", 443, 0), -1, "tlsConnect:");
    memset(name, 'a', 254);
    name[254] = 0;
    expect("host of 254 bytes", pp_tls_connect_host(cfg, name, 443, 0), -1, "tlsConnect:");
    expect("host with '_' and '!'", pp_tls_connect_host(cfg, "bad_name!", 443, 0), -1,
           "tlsConnect:");
    expect("host with a space", pp_tls_connect_host(cfg, "a b", 443, 0), -1, "tlsConnect:");
    expect("port 0 without an address", pp_tls_connect_host(cfg, "localhost", 0, 0), -1,
           "tlsConnect:");
    expect("port 65536", pp_tls_connect_host(cfg, "localhost", 65536, 0), -1, "tlsConnect:");
    expect("port -1", pp_tls_connect_host(cfg, "localhost", -1, 0), -1, "tlsConnect:");
    SocketAddr a4 = pp_addr4_loopback((uint16_t)closed_port);
    expect("addr_len 11", tlsConnect(cfg, "localhost", &a4, 11, 0, 0), -1, "tlsConnect:");
    expect("addr_len 13", tlsConnect(cfg, "localhost", &a4, 13, 0, 0), -1, "tlsConnect:");
    expect("address with port 443", tlsConnect(cfg, "localhost", &a4, sizeof a4, 443, 0), -1,
           "tlsConnect: port must be 0 with an address");
    expect("closed config", (tlsClientConfigFree(ins), pp_tls_connect_host(ins, "localhost", 443, 0)),
           -1, "tlsConnect:");

    /* failures of a real attempt, from tlsConnect itself (it waits) */
    char want[96];
    snprintf(want, sizeof want, "tlsConnect: connect to 127.0.0.1:%d failed: Connection refused",
             (int)closed_port);
    expect("refused TCP connect (by address)",
           pp_tls_connect_addr(cfg, "localhost", (const pp_sockaddr_any *)&a4, 5000 * scale), -2,
           want);
    expect("refused TCP connect (by name 127.0.0.1)",
           pp_tls_connect_host(cfg, "127.0.0.1", closed_port, 5000 * scale), -2, want);
    expect("a name that does not resolve",
           pp_tls_connect_host(cfg, "no-such-host.invalid", 443, 10000 * scale), -2,
           "tlsConnect: cannot resolve no-such-host.invalid");
    /* the same with timeout 0: the handle first, the failure from the next call on it */
    int32_t s = pp_tls_connect_host(cfg, "127.0.0.1", closed_port, 0);
    report(s > 0, "refused connect with timeout 0 returns a handle first (%d)", (int)s);
    pp_poll_entry e = {s, PP_POLL_OUT, 0};
    int32_t ready = pp_poll(&e, 1, 5000 * scale);
    report(ready == 1 && (e.revents & PP_POLL_ERR), "sockPoll reports it ERR (ready %d, revents 0x%x)",
           (int)ready, (unsigned)e.revents);
    char buf[8];
    expect("then tlsRecv gives the reason", tlsRecv(s, buf, sizeof buf, 0), -2, "Connection refused");
    report(strncmp(last_msg, "tlsRecv: ", 9) == 0, "prefixed with the call's name: '%s'", last_msg);
    expect("tlsSessionInfo too", pp_tls_connect_status(s), -2, "Connection refused");
    report(tlsClose(s) == 0, "tlsClose of a failed session: 0");

    /* the config limit (default 4) counts client and server configs together */
    int32_t more[4], n = 0;
    for (int i = 0; i < 4; i++)
        if ((more[i] = client_config("", 0)) > 0)
            n++;
    report(n == 2, "with a server and a client config held, 2 more client configs fit (%d)", n);
    expect("the next one: too many configs", client_config("", 0), -2, "too many configs");
    for (int i = 0; i < 4; i++)
        if (more[i] > 0)
            tlsClientConfigFree(more[i]);
    /* the session limit: failed attempts hold their handle until tlsClose */
    int32_t held[256];
    int opened = 0;
    while (opened < session_limit && opened < 256 &&
           (held[opened] = pp_tls_connect_host(cfg, "127.0.0.1", closed_port, 0)) > 0)
        opened++;
    report(opened == session_limit, "%d client sessions open (the limit)", opened);
    snprintf(want, sizeof want, "tlsConnect: too many sessions (limit %d)", session_limit);
    expect("one more", pp_tls_connect_host(cfg, "127.0.0.1", closed_port, 0), -2, want);
    for (int i = 0; i < opened; i++)
        tlsClose(held[i]);
    s = pp_tls_connect_host(cfg, "127.0.0.1", closed_port, 0);
    report(s > 0, "after closing them, tlsConnect gives a handle again (%d)", (int)s);
    tlsClose(s);

    report(tlsClientConfigFree(cfg) == 0, "tlsClientConfigFree -> 0");
    expect("twice", tlsClientConfigFree(cfg), -1, "tlsClientConfigFree: bad config handle");
    tlsServerConfigFree(srv);
}

/* ---- many: N sessions at once, one microtask ---- */

typedef struct conn {
    int32_t session;
    enum { CONNECTING, SENDING, READING, DONE, FAILED } state;
    char line[32];
    int line_len, got;
} conn;

static struct {
    conn *c;
    pp_poll_entry *entries;
    int n, done, failed, verified, by_kind[3];
    int64_t t0;
    int32_t config;
} many;

static void conn_fail(conn *c, const char *what)
{
    if (many.failed++ < 5)
        report(0, "session %d: %s: %s", (int)(c - many.c), what, last_error());
    c->state = FAILED;
    tlsClose(c->session);
}

/* One step of one session: whatever its state allows without waiting. */
static void conn_step(conn *c)
{
    char buf[64];
    if (c->state == CONNECTING) {
        int32_t st = pp_tls_connect_status(c->session);
        if (pp_tls_not_yet(st))
            return;
        if (st < 0)
            return conn_fail(c, "handshake");
        pp_tls_session_info_ex info;
        if (pp_tls_session_info_ex_get(c->session, &info) == 584 &&
            (info.flags & (PP_TLS_INFO_CLIENT_SESSION | PP_TLS_INFO_PEER_VERIFIED)) ==
                (PP_TLS_INFO_CLIENT_SESSION | PP_TLS_INFO_PEER_VERIFIED) &&
            strstr(info.subject, "CN=localhost") && info.alpn[0] == 0)
            many.verified++;
        if (c == many.c) { /* once: the lengths tlsSessionInfo accepts and returns */
            static uint8_t raw[600];
            memset(raw, 0xA5, sizeof raw);
            int32_t mid = tlsSessionInfo(c->session, raw, 400);
            report(mid == 328 && raw[328] == 0xA5,
                   "tlsSessionInfo with out_len 400 writes and returns 328 (%d)", (int)mid);
            int32_t full = tlsSessionInfo(c->session, raw, sizeof raw);
            report(full == 584 && raw[584] == 0xA5,
                   "with out_len 600: 584, nothing written past it (%d)", (int)full);
            expect("with out_len 327", tlsSessionInfo(c->session, raw, 327), -1, "tlsSessionInfo:");
        }
        c->state = SENDING;
    }
    if (c->state == SENDING) {
        int32_t n = tlsSend(c->session, c->line, (uint32_t)c->line_len, 0);
        if (pp_tls_not_yet(n))
            return;
        if (n != c->line_len || tlsSend(c->session, c->line, 0, 0) < 0)
            return conn_fail(c, "tlsSend");
        c->state = READING;
    }
    if (c->state == READING) {
        int32_t n = tlsRecv(c->session, buf, sizeof buf, 0);
        if (pp_tls_not_yet(n))
            return;
        if (n <= 0 || c->got + n > c->line_len || memcmp(buf, c->line + c->got, (size_t)n) != 0)
            return conn_fail(c, "echo");
        c->got += n;
        if (c->got == c->line_len) {
            c->state = DONE;
            many.done++;
            tlsClose(c->session);
        }
    }
}

static pp_action many_step(void *user, int32_t task, int32_t now_ms)
{
    (void)user, (void)task, (void)now_ms;
    int k = 0;
    for (int i = 0; i < many.n; i++)
        if (many.c[i].state < DONE)
            many.entries[k++] = (pp_poll_entry){
                many.c[i].session,
                many.c[i].state == READING ? PP_POLL_IN : PP_POLL_OUT, 0};
    if (k > 0 && ms_since(many.t0) < 60000.0 * scale) {
        int32_t ready = pp_poll(many.entries, (uint32_t)k, 1000);
        for (int j = 0; ready > 0 && j < k; j++)
            if (many.entries[j].revents)
                for (int i = 0; i < many.n; i++)
                    if (many.c[i].session == many.entries[j].handle && many.c[i].state < DONE)
                        conn_step(&many.c[i]);
        return pp_sleep(0);
    }
    report(many.done == many.n, "%d of %d sessions connected and echoed in %.0f ms (%d failed)",
           many.done, many.n, ms_since(many.t0), many.failed);
    report(many.verified == many.n,
           "%d of %d report a client session with the server verified, its subject CN=localhost "
           "and no ALPN (tlsSessionInfo, 584 bytes)",
           many.verified, many.n);
    tlsClientConfigFree(many.config);
    printf("END\n");
    fflush(stdout);
    exit(failed_checks ? 1 : 0);
}

static int many_mode(int n, int32_t port)
{
    many.n = n;
    many.c = calloc((size_t)n, sizeof *many.c);
    many.entries = calloc((size_t)n, sizeof *many.entries);
    many.config = client_config("", 0);
    if (!many.c || !many.entries || many.config <= 0)
        return report(0, "setup: %s", last_error()), 1;
    SocketAddr a4 = pp_addr4_loopback((uint16_t)port);
    SocketAddr6 a6 = pp_addr6_loopback((uint16_t)port);
    many.t0 = micros();
    double slowest = 0;
    for (int i = 0; i < n; i++) {
        conn *c = &many.c[i];
        int64_t t = micros();
        int kind = i % 3;
        c->session = kind == 0 ? pp_tls_connect_host(many.config, "localhost", port, 0)
                     : kind == 1 ? pp_tls_connect_addr(many.config, "localhost",
                                                       (const pp_sockaddr_any *)&a4, 0)
                                 : pp_tls_connect_addr(many.config, "localhost",
                                                       (const pp_sockaddr_any *)&a6, 0);
        double took = ms_since(t);
        slowest = took > slowest ? took : slowest;
        if (c->session <= 0) {
            report(0, "tlsConnect %d (kind %d): %d %s", i, kind, (int)c->session, last_error());
            c->state = FAILED;
            many.failed++;
            continue;
        }
        many.by_kind[kind]++;
        c->line_len = snprintf(c->line, sizeof c->line, "session-%d\n", i);
    }
    int in_progress = 0;
    for (int i = 0; i < n; i++)
        in_progress += many.c[i].state == CONNECTING && pp_tls_not_yet(pp_tls_connect_status(many.c[i].session));
    report(many.by_kind[0] + many.by_kind[1] + many.by_kind[2] == n,
           "%d tlsConnect(timeout 0) calls returned handles (%d by name, %d by IPv4 address, %d by "
           "IPv6 address) in %.0f ms",
           n, many.by_kind[0], many.by_kind[1], many.by_kind[2], ms_since(many.t0));
    report(slowest < 200.0 * scale, "none of them stalled the app: slowest call %.1f ms", slowest);
    report(in_progress > 1, "right after, %d handshakes were still in flight", in_progress);
    return pp_task_start(0, 0, many_step, NULL) < 0;
}

/* ---- stall: a server that never answers ---- */

static void stall_mode(int32_t port, int32_t deadline_ms)
{
    int32_t cfg = client_config("", 0);
    char buf[16];
    int64_t t0 = micros();
    int32_t s = pp_tls_connect_host(cfg, "127.0.0.1", port, 0);
    report(s > 0 && ms_since(t0) < 200.0 * scale, "timeout 0: a handle at once (%d, %.1f ms)",
           (int)s, ms_since(t0));
    pp_poll_entry e = {s, PP_POLL_OUT | PP_POLL_IN, 0};
    int32_t ready = pp_poll(&e, 1, 300);
    report(ready == 0, "sockPoll: not ready while the handshake hangs (%d, revents 0x%x)",
           (int)ready, (unsigned)e.revents);
    expect("tlsSessionInfo while connecting", pp_tls_connect_status(s), -3,
           "tlsSessionInfo: handshake in progress");
    expect("tlsRecv(timeout 0) while connecting", tlsRecv(s, buf, sizeof buf, 0), -3, "tlsRecv:");
    expect("tlsSend(timeout 0) while connecting", tlsSend(s, "x", 1, 0), -3, "tlsSend:");
    e.revents = 0;
    ready = pp_poll(&e, 1, (deadline_ms + 5000) * scale);
    double took = ms_since(t0);
    report(ready == 1 && (e.revents & PP_POLL_ERR),
           "sockPoll: ERR once the host's handshake deadline (%d ms) passed (ready %d, revents 0x%x, "
           "after %.0f ms)", (int)deadline_ms, (int)ready, (unsigned)e.revents, took);
    report(took >= deadline_ms - 100 && took < deadline_ms + 3000.0 * scale,
           "that is at the deadline (%.0f ms)", took);
    expect("then tlsRecv", tlsRecv(s, buf, sizeof buf, 0), -2, "timed out");
    tlsClose(s);

    t0 = micros();
    s = pp_tls_connect_host(cfg, "localhost", port, 500);
    took = ms_since(t0);
    expect("tlsConnect(timeout 500)", s, -3, "tlsConnect: timed out");
    report(took >= 450 && took < 500 + 2000.0 * scale, "it returned after %.0f ms", took);

    s = pp_tls_connect_host(cfg, "127.0.0.1", port, 0);
    t0 = micros();
    int32_t rc = tlsRecv(s, buf, sizeof buf, 300);
    took = ms_since(t0);
    expect("tlsRecv(timeout 300) while connecting", rc, -3, "tlsRecv:");
    report(took >= 290 && took < 300 + 2000.0 * scale,
           "it waited for the handshake within its timeout (%.0f ms)", took);
    t0 = micros();
    rc = tlsSend(s, "x", 1, 300);
    took = ms_since(t0);
    expect("tlsSend(timeout 300) while connecting", rc, -3, "tlsSend:");
    report(took >= 290 && took < 300 + 2000.0 * scale, "likewise (%.0f ms)", took);
    report(s > 0 && tlsClose(s) == 0, "tlsClose while connecting: 0");
    expect("the handle is gone", tlsRecv(s, buf, sizeof buf, 0), -1, "tlsRecv:");
    tlsClientConfigFree(cfg);
}

/* ---- crowd: many handshakes in flight while the app only sleeps ----
 * The app starts n_stall connects to a server that never answers and, once those wait for its
 * answer, n_good to a real one, all with timeout 0, and sleeps in the host's event loop (no
 * sockPoll, no call on a session). The real server drops a handshake that is not finished within
 * a third of that sleep, so only the event loop can finish them in time: it must watch every
 * connecting session, not just the first few hundred (the stalled ones come first).
 */

static struct {
    int32_t *stalled, *good;
    int n_stall, n_good, opened;
    int32_t config, good_port;
    int64_t t0;
} crowd;

/* Half a second after the stalled connects (they have sent their ClientHello and wait): the good
 * ones, then sleep; then count. */
static pp_action crowd_step(void *user, int32_t task, int32_t now_ms)
{
    (void)user, (void)task, (void)now_ms;
    if (crowd.t0 == 0) {
        SocketAddr good = pp_addr4_loopback((uint16_t)crowd.good_port);
        crowd.t0 = micros();
        for (int i = 0; i < crowd.n_good; i++)
            crowd.opened += (crowd.good[i] = pp_tls_connect_addr(
                                 crowd.config, "localhost", (const pp_sockaddr_any *)&good, 0)) > 0;
        report(crowd.opened == crowd.n_stall + crowd.n_good,
               "%d of %d tlsConnect(timeout 0) calls returned handles", crowd.opened,
               crowd.n_stall + crowd.n_good);
        return pp_sleep((uint32_t)(3000 * scale));
    }
    int done = 0, still = 0;
    for (int i = 0; i < crowd.n_good; i++) {
        int32_t st = pp_tls_connect_status(crowd.good[i]);
        done += st == 0;
        still += pp_tls_not_yet(st);
    }
    report(done == crowd.n_good,
           "after sleeping %.0f ms behind %d stalled handshakes, %d of %d handshakes with a real "
           "server finished (%d still in progress)",
           ms_since(crowd.t0), crowd.n_stall, done, crowd.n_good, still);
    int stalled = 0;
    for (int i = 0; i < crowd.n_stall; i++)
        stalled += pp_tls_not_yet(pp_tls_connect_status(crowd.stalled[i]));
    report(stalled == crowd.n_stall, "the %d stalled ones are still waiting (%d)", crowd.n_stall,
           stalled);
    printf("END\n");
    fflush(stdout);
    exit(failed_checks ? 1 : 0); /* the host closes every session */
}

static int crowd_mode(int32_t stall_port, int32_t good_port, int n_stall, int n_good)
{
    crowd.n_stall = n_stall;
    crowd.n_good = n_good;
    crowd.good_port = good_port;
    crowd.stalled = calloc((size_t)n_stall, sizeof *crowd.stalled);
    crowd.good = calloc((size_t)n_good, sizeof *crowd.good);
    crowd.config = client_config("", 0);
    if (!crowd.stalled || !crowd.good || crowd.config <= 0)
        return report(0, "setup: %s", last_error()), 1;
    for (int i = 0; i < n_stall; i++)
        crowd.opened +=
            (crowd.stalled[i] = pp_tls_connect_host(crowd.config, "127.0.0.1", stall_port, 0)) > 0;
    return pp_task_start(500 * scale, 0, crowd_step, NULL) < 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!pp_tls_has_client()) {
        report(0, "feature bit 36 (PP_FEATURE_EXT_TLS_CLIENT) is set");
        return 1;
    }
    if (strcmp(mode, "errors") == 0 && argc == 4) {
        errors_mode(atoi(argv[2]), atoi(argv[3]));
    } else if (strcmp(mode, "many") == 0 && argc == 5) {
        scale = scale_arg(argv[4]);
        return many_mode(atoi(argv[2]), atoi(argv[3]));
    } else if (strcmp(mode, "crowd") == 0 && argc == 7) {
        scale = scale_arg(argv[6]);
        return crowd_mode(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    } else if (strcmp(mode, "stall") == 0 && argc == 5) {
        scale = scale_arg(argv[4]);
        stall_mode(atoi(argv[2]), atoi(argv[3]));
    } else {
        printf("usage: errors CLOSED_PORT SESSION_LIMIT | many N PORT SCALE | "
               "stall PORT DEADLINE_MS SCALE | crowd STALL_PORT PORT N_STALL N_GOOD SCALE\n");
        return 2;
    }
    printf("END\n");
    return failed_checks ? 1 : 0;
}
