/* limits_app - end-to-end test app for the host's resource limits and for teardown while holding
 * everything, run under portal-host by tests/integration/test_limits.sh, which drives the TLS
 * clients (tests/tools/tls_client) and advances the app through "SYNC label" points by connecting
 * to its control port (sock_peer poke). Modes:
 *   hello                                   print the feature bits (warms the compile cache)
 *   limits CTL PORT PHASES S C T P CYCLES SCALE
 *       PHASES is a comma list of sockets, configs, sessions, pending; S C T P are the limits the
 *       host was started with (--max-sockets, --max-tls-configs, --max-tls-sessions,
 *       --max-pending-handshakes). Each phase reaches its limit, checks the error code and the
 *       exact lastErrorMessage text, closes a handle, checks that the same operation succeeds
 *       again, and repeats for CYCLES cycles, with a SYNC after each so the script can compare
 *       portal-host's descriptor count with the one at the start.
 *   emfile CTL PORT PORT2 CYCLES SPIN_MS SCALE
 *       run under a small `ulimit -n`: opens sockets until the process runs out of descriptors,
 *       checks sockSocket / sockAcceptWithTimeout / tlsAccept fail with -2 and "Too many open
 *       files" at once, that a poll-driven accept loop does not spin (process CPU time over
 *       SPIN_MS, cycle 1 only), and that one sockClose lets the waiting clients in again.
 *   hold CTL PORT PORT2 ACTION SCALE
 *       holds plain sockets (listeners, a connected pair, UDP, unbound), two TLS configs, three
 *       TLS sessions with data in flight both ways, and three pending handshakes (silent,
 *       half a ClientHello, finished but not picked up), then ACTION: trap (in a microtask),
 *       trap-in-call (an out-of-bounds buffer to tlsRecv: the host traps inside an import), exit
 *       (exitApp) or wait (the script sends SIGTERM). Teardown must close and free all of it.
 * SCALE (>= 1) multiplies every time bound (slow builds: valgrind). Results are lines
 * "CHECK ok ..." / "CHECK FAIL ...", and "END" when a mode ran to its end. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include <portal/microtask.h>
#include <portal/portal.h>
#include <portal/socket.h>
#include <portal/tls_socket.h>

#include "app_checks.h"
#include "dev_certs.h" /* the build's development certificates */

#define MAX_FILL 1024
#define CHUNK 16384

static int scale = 1;
static int32_t ctl = -1;
static uint8_t big[CHUNK];

/* ---- reporting ---- */

/* rc must equal `want`, lastErrorCode() too, and the message must be exactly `text`. */
static int expect_error(const char *what, int32_t rc, int32_t want, const char *text)
{
    int32_t code = lastErrorCode();
    const char *msg = last_error();
    if (rc == want && code == want && strcmp(msg, text) == 0)
        return report(1, "%s: %d '%s'", what, (int)rc, msg);
    return report(0, "%s: rc %d, lastErrorCode %d (want %d), message '%s' (want '%s')", what,
                  (int)rc, (int)code, (int)want, msg, text);
}

/* CPU time of the whole portal-host process (host and app), from WASI's process clock. */
static double cpu_ms(void)
{
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1000, &t) != 0)
        return -1;
    return (double)t / 1e6;
}

/* ---- sockets ---- */

static SocketAddr loopback(int32_t port) { return pp_addr4_loopback((uint16_t)port); }

static int32_t tcp(void) { return sockSocket(PP_AF_INET, PP_SOCK_STREAM, 0); }

static int32_t listen_on(int32_t port, int32_t backlog)
{
    int32_t s = tcp();
    SocketAddr a = loopback(port);
    int32_t rc = s > 0 ? sockBind(s, &a, sizeof a) : s;
    if (rc == 0)
        rc = sockListen(s, backlog);
    if (rc != 0) {
        report(0, "listen on 127.0.0.1:%d: rc %d, %s", (int)port, (int)rc, last_error());
        sockClose(s);
        return -1;
    }
    return s;
}

static int32_t connect_to(int32_t port)
{
    int32_t c = tcp();
    SocketAddr a = loopback(port);
    int32_t rc = c > 0 ? sockConnect(c, &a, sizeof a, 2000 * scale) : c;
    if (rc != 0) {
        report(0, "connect to 127.0.0.1:%d: rc %d, %s", (int)port, (int)rc, last_error());
        sockClose(c);
        return -1;
    }
    return c;
}

/* Opens TCP sockets into fill[] until sockSocket fails; returns how many, the failure in *rc. */
static int fill_sockets(int32_t *fill, int32_t *rc)
{
    int n = 0;
    *rc = 0;
    while (n < MAX_FILL) {
        int32_t s = tcp();
        if (s <= 0) {
            *rc = s;
            break;
        }
        fill[n++] = s;
    }
    return n;
}

static void close_all(int32_t *handles, int *n)
{
    while (*n > 0)
        sockClose(handles[--*n]);
}

/* "SYNC label", then wait for the script to connect to the control port. The wait is a sockPoll,
 * which keeps pending TLS handshakes moving (and lets deadlines expire) meanwhile. */
static int sync_point(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sync_point(const char *fmt, ...)
{
    char label[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(label, sizeof label, fmt, ap);
    va_end(ap);
    say("SYNC %s", label);
    int64_t t0 = micros();
    for (;;) {
        int32_t left = 60000 * scale - (int32_t)ms_since(t0);
        if (left <= 0)
            return report(0, "%s: no poke from the script", label);
        pp_poll_entry e = {ctl, PP_POLL_IN, 0};
        int32_t r = pp_poll(&e, 1, left);
        if (r < 0)
            return report(0, "%s: sockPoll on the control port: %s", label, last_error());
        if (r > 0)
            break;
    }
    int32_t poke = sockAcceptWithTimeout(ctl, NULL, 0, 1000);
    if (poke <= 0)
        return report(0, "%s: accepting the poke: %s", label, last_error());
    sockClose(poke);
    return 1;
}

/* ---- TLS helpers ---- */

static int32_t config_ec(void)
{
    return pp_tls_server_config(dev_server_ec_cert, sizeof dev_server_ec_cert, dev_server_ec_key,
                                sizeof dev_server_ec_key);
}

static int32_t config_rsa(void)
{
    return pp_tls_server_config(dev_server_rsa_cert, sizeof dev_server_rsa_cert,
                                dev_server_rsa_key, sizeof dev_server_rsa_key);
}

/* Reads one '\n'-terminated line (at most size-1 bytes) from a session; its length or -1. */
static int read_line(int32_t s, char *line, int size)
{
    int used = 0;
    while (used < size - 1) {
        int32_t n = tlsRecv(s, line + used, 1, 10000 * scale);
        if (n <= 0) {
            report(0, "session %d: reading a line: rc %d, %s", (int)s, (int)n, last_error());
            return -1;
        }
        used += n;
        if (line[used - 1] == '\n')
            break;
    }
    line[used] = '\0';
    return used;
}

/* Echoes one expected line back; true when it came and went out whole. */
static int echo_line(int32_t s, const char *expected)
{
    char line[128];
    int n = read_line(s, line, sizeof line);
    if (n < 0)
        return 0;
    if (strcmp(line, expected) != 0)
        return report(0, "session %d: got '%s', expected '%s'", (int)s, line, expected);
    int32_t sent = pp_tls_send_all(s, line, (uint32_t)n, 10000 * scale);
    if (sent != n)
        return report(0, "session %d: echo: rc %d, %s", (int)s, (int)sent, last_error());
    return 1;
}

/* Answers `rounds` rounds of tls_client's load mode on sessions[0..count-1]. */
static int echo_rounds(const int32_t *sessions, int count, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        char expected[64];
        snprintf(expected, sizeof expected, "round %04d payload 0123456789abcdef\n", r);
        for (int i = 0; i < count; i++)
            if (!echo_line(sessions[i], expected))
                return 0;
    }
    return 1;
}

/* ---- limits: sockets ---- */

static int phase_sockets(int32_t port, int limit, int cycles)
{
    char want[96];
    snprintf(want, sizeof want, "sockSocket: too many open sockets (limit %d)", limit);
    char want_accept[96];
    snprintf(want_accept, sizeof want_accept,
             "sockAcceptWithTimeout: too many open sockets (limit %d)", limit);
    for (int c = 1; c <= cycles; c++) {
        int32_t l = listen_on(port, 4);
        int32_t cl = l > 0 ? connect_to(port) : -1;
        if (cl <= 0)
            return 0;
        int32_t fill[MAX_FILL];
        int32_t rc;
        int n = fill_sockets(fill, &rc);
        /* control listener + listener + client are open already */
        report(n + 3 == limit, "sockets cycle %d: %d sockets open at the limit %d", c, n + 3,
               limit);
        expect_error("sockets: TCP sockSocket at the limit", rc, -2, want);
        expect_error("sockets: UDP sockSocket at the limit", sockSocket(PP_AF_INET, PP_SOCK_DGRAM, 0),
                     -2, want);
        int64_t t0 = micros();
        rc = sockAcceptWithTimeout(l, NULL, 0, 1000);
        double ms = ms_since(t0);
        expect_error("sockets: accept at the limit (a client is queued)", rc, -2, want_accept);
        report(ms < 100.0 * scale, "sockets: ... refused at once (%.1f ms), not after its 1000 ms",
               ms);
        sockClose(fill[--n]);
        int32_t a = sockAcceptWithTimeout(l, NULL, 0, 2000 * scale);
        report(a > 0, "sockets: after one sockClose the queued client is accepted (handle %d)",
               (int)a);
        expect_error("sockets: full again", tcp(), -2, want);
        sockClose(a);
        int32_t again = tcp();
        report(again > 0, "sockets: after another sockClose sockSocket succeeds again (handle %d)",
               (int)again);
        sockClose(again);
        close_all(fill, &n);
        sockClose(cl);
        sockClose(l);
        if (!sync_point("sockets cycle %d: all closed", c))
            return 0;
    }
    return 1;
}

/* ---- limits: TLS configs ---- */

static int phase_configs(int limit, int cycles)
{
    char want[96];
    snprintf(want, sizeof want, "tlsServerConfigCreate: too many configs (limit %d)", limit);
    for (int c = 1; c <= cycles; c++) {
        int32_t cfg[64];
        int n = 0;
        int32_t rc = 0;
        while (n < 64) {
            rc = n % 2 ? config_rsa() : config_ec();
            if (rc <= 0)
                break;
            cfg[n++] = rc;
        }
        report(n == limit, "configs cycle %d: %d configs (EC and RSA) created up to the limit %d",
               c, n, limit);
        expect_error("configs: create at the limit", rc, -2, want);
        report(n > 0 && tlsServerConfigFree(cfg[0]) == 0, "configs: tlsServerConfigFree -> 0");
        int32_t again = config_ec();
        report(again > 0, "configs: after one free, tlsServerConfigCreate succeeds again (%d)",
               (int)again);
        if (again > 0)
            cfg[0] = again;
        expect_error("configs: full again", config_rsa(), -2, want);
        int freed = 0;
        for (int i = 0; i < n; i++)
            freed += tlsServerConfigFree(cfg[i]) == 0;
        report(freed == n, "configs: all %d freed", n);
    }
    return sync_point("configs: %d cycles done", cycles);
}

/* ---- limits: TLS sessions ---- */

static int phase_sessions(int32_t port, int limit, int cycles)
{
    char want[96];
    snprintf(want, sizeof want, "tlsAccept: too many sessions (limit %d)", limit);
    int32_t cfg = config_ec();
    int32_t l = listen_on(port, 8);
    if (cfg <= 0 || l <= 0)
        return report(0, "sessions: config %d, listener %d: %s", (int)cfg, (int)l, last_error());
    int ok = 1;
    for (int c = 1; c <= cycles && ok; c++) {
        /* the script starts `tls_client load` with limit + 1 sessions, limit - 1 of them active */
        if (!sync_point("sessions cycle %d: start the client", c))
            return 0;
        int32_t s[64];
        int n = 0;
        while (n < limit && n < 64) {
            pp_sockaddr_any peer;
            int32_t h = tlsAccept(cfg, l, &peer, sizeof peer, 10000 * scale);
            if (h <= 0)
                break;
            s[n++] = h;
        }
        ok &= report(n == limit, "sessions cycle %d: %d sessions accepted up to the limit %d", c,
                     n, limit);
        if (!ok)
            break;
        int64_t t0 = micros();
        int32_t rc = tlsAccept(cfg, l, NULL, 0, 2000);
        double ms = ms_since(t0);
        expect_error("sessions: tlsAccept at the limit (a client waits)", rc, -2, want);
        report(ms < 100.0 * scale,
               "sessions: ... refused at once (%.1f ms), before any handshake work", ms);
        tlsClose(s[n - 1]);
        s[n - 1] = tlsAccept(cfg, l, NULL, 0, 10000 * scale);
        ok &= report(s[n - 1] > 0,
                     "sessions: after one tlsClose the waiting client is accepted (handle %d)",
                     (int)s[n - 1]);
        expect_error("sessions: full again", tlsAccept(cfg, l, NULL, 0, 0), -2, want);
        ok &= report(ok && echo_rounds(s, n - 1, 2),
                     "sessions: 2 rounds echoed on the %d active sessions", n - 1);
        for (int i = 0; i < n; i++)
            tlsClose(s[i]);
        if (!sync_point("sessions cycle %d: all closed", c))
            return 0;
    }
    tlsServerConfigFree(cfg);
    sockClose(l);
    return ok;
}

/* ---- limits: pending handshakes ---- */

static int phase_pending(int32_t port, int limit, int cycles)
{
    int32_t cfg = config_ec();
    int32_t l = listen_on(port, 16);
    if (cfg <= 0 || l <= 0)
        return report(0, "pending: config %d, listener %d: %s", (int)cfg, (int)l, last_error());
    int ok = 1;
    for (int c = 1; c <= cycles && ok; c++) {
        if (!sync_point("pending cycle %d: start %d stalled clients", c, limit))
            return 0;
        /* takes every queued client into the handshake queue; none of them finishes a ClientHello */
        int64_t filled = micros();
        expect_error("pending: tlsAccept(0) with only stalled clients",
                     tlsAccept(cfg, l, NULL, 0, 0), -3, "tlsAccept: no client ready");
        double since_fill = ms_since(filled);
        if (!sync_point("pending cycle %d: queue full, start a real client", c))
            return 0;
        /* The queue is full: the real client waits in the listen backlog until a stalled
         * handshake may be evicted (someone is waiting and it is old enough) or hits its
         * deadline. */
        int64_t t0 = micros();
        pp_sockaddr_any peer;
        int32_t s = tlsAccept(cfg, l, &peer, sizeof peer, 10000 * scale);
        double waited = ms_since(t0);
        since_fill = ms_since(filled);
        ok &= report(s > 0, "pending: the real client got a session (handle %d) after %.0f ms "
                            "in tlsAccept, %.0f ms after the queue filled",
                     (int)s, waited, since_fill);
        if (!ok)
            break;
        say("PENDING served %.0f ms after the queue filled", since_fill);
        ok &= report(echo_line(s, "connection 0\n"), "pending: its line was echoed");
        char byte;
        int32_t n = tlsRecv(s, &byte, 1, 10000 * scale);
        report(n == 0, "pending: then the client closed (tlsRecv 0, got %d)", (int)n);
        tlsClose(s);
        if (!sync_point("pending cycle %d: served", c))
            return 0;
    }
    tlsServerConfigFree(cfg);
    sockClose(l);
    return ok;
}

static int run_limits(char **argv)
{
    int32_t ctl_port = atoi(argv[2]), port = atoi(argv[3]);
    const char *phases = argv[4];
    int max_sockets = atoi(argv[5]), max_configs = atoi(argv[6]), max_sessions = atoi(argv[7]),
        max_pending = atoi(argv[8]), cycles = atoi(argv[9]);
    ctl = listen_on(ctl_port, 8);
    if (ctl <= 0 || !sync_point("limits: start"))
        return 1;
    int ok = 1;
    if (ok && strstr(phases, "sockets"))
        ok = phase_sockets(port, max_sockets, cycles);
    if (ok && strstr(phases, "configs"))
        ok = phase_configs(max_configs, cycles);
    if (ok && strstr(phases, "sessions"))
        ok = phase_sessions(port, max_sessions, cycles);
    if (ok && strstr(phases, "pending"))
        ok = phase_pending(port, max_pending, cycles);
    if (ok)
        ok = sync_point("limits: end");
    sockClose(ctl);
    return ok ? 0 : 1;
}

/* ---- emfile ---- */

static const char emfile_text[] = "Too many open files";

/* The naive server loop: sleep in sockPoll until the listener is ready, then tlsAccept(0). While
 * the process has no descriptor left, every accept fails; the host must not make this spin. */
static void spin_window(int32_t cfg, int32_t l, int spin_ms)
{
    long polls = 0, refused = 0, other = 0;
    double cpu0 = cpu_ms();
    int64_t t0 = micros();
    for (;;) {
        int32_t left = spin_ms - (int32_t)ms_since(t0);
        if (left <= 0)
            break;
        pp_poll_entry e = {l, PP_POLL_IN, 0};
        int32_t r = pp_poll(&e, 1, left);
        polls++;
        if (r > 0 && (e.revents & PP_POLL_IN)) {
            int32_t s = tlsAccept(cfg, l, NULL, 0, 0);
            if (s == -2 && strstr(last_error(), emfile_text))
                refused++;
            else if (s != -3)
                other++;
            if (s > 0)
                tlsClose(s);
        }
    }
    double wall = ms_since(t0), cpu = cpu_ms() - cpu0;
    say("SPIN %ld sockPoll returns, %ld accepts refused (EMFILE), %ld other; CPU %.0f ms in %.0f "
        "ms",
        polls, refused, other, cpu, wall);
    report(other == 0, "emfile: every accept in the poll loop was refused with EMFILE (%ld)",
           refused);
    report(cpu >= 0 && cpu < 0.2 * wall,
           "emfile: a sockPoll/tlsAccept loop does not spin while descriptors are exhausted: "
           "process CPU %.0f ms in %.0f ms, %ld sockPoll returns",
           cpu, wall, polls);
}

static int run_emfile(char **argv)
{
    int32_t ctl_port = atoi(argv[2]), port = atoi(argv[3]), port2 = atoi(argv[4]);
    int cycles = atoi(argv[5]), spin_ms = atoi(argv[6]);
    ctl = listen_on(ctl_port, 8);
    int32_t cfg = config_ec();
    int32_t l = listen_on(port, 8), l2 = listen_on(port2, 8);
    if (ctl <= 0 || cfg <= 0 || l <= 0 || l2 <= 0 || !sync_point("emfile: start"))
        return 1;
    char want_socket[96], want_accept[96], want_tls[96];
    snprintf(want_socket, sizeof want_socket, "sockSocket: socket failed: %s", emfile_text);
    snprintf(want_accept, sizeof want_accept, "sockAcceptWithTimeout: %s", emfile_text);
    snprintf(want_tls, sizeof want_tls, "tlsAccept: accept failed: %s", emfile_text);
    int first_n = -1;
    int ok = 1;
    for (int c = 1; c <= cycles && ok; c++) {
        if (!sync_point("emfile cycle %d: start a TLS client", c))
            return 1;
        /* a plain client queued on l2 and the TLS client in l's backlog, before exhausting */
        int32_t pc = connect_to(port2);
        pp_poll_entry e = {l, PP_POLL_IN, 0};
        int32_t r = pp_poll(&e, 1, 10000 * scale);
        ok &= report(pc > 0 && r == 1, "emfile cycle %d: a plain client and a TLS client wait", c);
        if (!ok)
            break;
        int32_t fill[MAX_FILL];
        int32_t rc;
        int n = fill_sockets(fill, &rc);
        ok &= report(n > 0 && n < MAX_FILL,
                     "emfile: %d sockets opened before the process ran out of descriptors", n);
        expect_error("emfile: sockSocket", rc, -2, want_socket);
        if (first_n < 0)
            first_n = n;
        else
            report(n == first_n, "emfile: the same %d sockets fit as in cycle 1 (no descriptor "
                                 "drift), got %d",
                   first_n, n);
        expect_error("emfile: UDP sockSocket", sockSocket(PP_AF_INET, PP_SOCK_DGRAM, 0), -2,
                     want_socket);
        int64_t t0 = micros();
        rc = sockAcceptWithTimeout(l2, NULL, 0, 1000 * scale);
        double ms = ms_since(t0);
        expect_error("emfile: sockAcceptWithTimeout with a client queued", rc, -2, want_accept);
        report(ms < 100.0 * scale, "emfile: ... fails at once (%.1f ms)", ms);
        t0 = micros();
        rc = tlsAccept(cfg, l, NULL, 0, 1000 * scale);
        ms = ms_since(t0);
        expect_error("emfile: tlsAccept with a client queued", rc, -2, want_tls);
        report(ms < 100.0 * scale, "emfile: ... fails at once (%.1f ms)", ms);
        if (c == 1 && spin_ms > 0)
            spin_window(cfg, l, spin_ms);
        /* recovery: one descriptor back is enough for the waiting TLS client */
        sockClose(fill[--n]);
        pp_sockaddr_any peer;
        int32_t s = tlsAccept(cfg, l, &peer, sizeof peer, 10000 * scale);
        ok &= report(s > 0, "emfile: after one sockClose the waiting TLS client is accepted "
                            "(handle %d)",
                     (int)s);
        expect_error("emfile: full again (the session took that descriptor)", tcp(), -2,
                     want_socket);
        if (s > 0)
            ok &= report(echo_rounds(&s, 1, 3), "emfile: 3 rounds echoed on it");
        sockClose(fill[--n]);
        int32_t a = sockAcceptWithTimeout(l2, NULL, 0, 2000 * scale);
        ok &= report(a > 0, "emfile: after another sockClose the plain client is accepted "
                            "(handle %d)",
                     (int)a);
        sockClose(a);
        sockClose(pc);
        tlsClose(s);
        close_all(fill, &n);
        if (!sync_point("emfile cycle %d: all closed", c))
            return 1;
    }
    tlsServerConfigFree(cfg);
    sockClose(l);
    sockClose(l2);
    ok = ok && sync_point("emfile: end");
    sockClose(ctl);
    return ok ? 0 : 1;
}

/* ---- hold: everything at once, then trap / exit / SIGTERM ---- */

static int32_t hold_session3;
static const char *hold_action;

static pp_action hold_step(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    if (strcmp(hold_action, "trap") == 0) {
        say("hold: trapping");
        __builtin_trap();
    }
    if (strcmp(hold_action, "trap-in-call") == 0) {
        say("hold: passing an out-of-bounds buffer to tlsRecv");
        /* 0xFFFFF000 + 8192 wraps past 4 GiB: the host's range check traps inside the import */
        tlsRecv(hold_session3, (void *)(uintptr_t)0xFFFFF000u, 8192, 0);
        say("hold: tlsRecv returned instead of trapping");
        return pp_done();
    }
    if (strcmp(hold_action, "exit") == 0) {
        say("hold: exitApp");
        exitApp();
        return pp_done();
    }
    return pp_sleep(50); /* "wait": until SIGTERM */
}

void pp_on_shutdown(void)
{
    say("hold: ppShutdown (closing nothing)");
}

/* Sends on a session whose client does not read until tlsSend would block: the socket buffers
 * are full and the host holds one record. Returns the bytes accepted. */
static long fill_session(int32_t s)
{
    long total = 0;
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 4096; i++) {
        int32_t n = tlsSend(s, big, sizeof big, 0);
        if (n < 0) {
            expect_error("hold: tlsSend to a client that does not read, until full", n, -3,
                         "tlsSend: would block");
            return total;
        }
        total += n;
    }
    report(0, "hold: tlsSend never blocked after %ld bytes", total);
    return total;
}

static int run_hold(char **argv)
{
    int32_t ctl_port = atoi(argv[2]), port = atoi(argv[3]), port2 = atoi(argv[4]);
    hold_action = argv[5];
    ctl = listen_on(ctl_port, 8);
    if (ctl <= 0 || !sync_point("hold: start"))
        return 1;
    /* plain: a TLS listener, a plain listener with a connected pair, UDP, an unbound socket */
    int32_t cfg1 = config_ec(), cfg2 = config_rsa();
    int32_t l = listen_on(port, 16), l2 = listen_on(port2, 4);
    int32_t pc = l2 > 0 ? connect_to(port2) : -1;
    int32_t pa = sockAcceptWithTimeout(l2, NULL, 0, 2000 * scale);
    int32_t udp = sockSocket(PP_AF_INET, PP_SOCK_DGRAM, 0);
    SocketAddr ua = loopback(port2);
    int32_t bound = udp > 0 ? sockBind(udp, &ua, sizeof ua) : -1;
    int32_t unbound = tcp();
    if (!report(cfg1 > 0 && cfg2 > 0 && l > 0 && pc > 0 && pa > 0 && bound == 0 && unbound > 0,
                "hold: 2 configs, 7 plain sockets (control, 2 listeners, a pair, UDP, unbound)"))
        return 1;
    /* two sessions whose client does not read: data queued towards them */
    if (!sync_point("hold: start the idle clients"))
        return 1;
    int32_t s1 = tlsAccept(cfg1, l, NULL, 0, 10000 * scale);
    int32_t s2 = tlsAccept(cfg1, l, NULL, 0, 10000 * scale);
    if (!report(s1 > 0 && s2 > 0, "hold: two sessions (%d, %d)", (int)s1, (int)s2))
        return 1;
    long q1 = fill_session(s1), q2 = fill_session(s2);
    say("hold: %ld and %ld bytes queued towards clients that do not read", q1, q2);
    /* one session whose client sends and the app does not read: data queued towards us */
    if (!sync_point("hold: start the sending client"))
        return 1;
    hold_session3 = tlsAccept(cfg1, l, NULL, 0, 10000 * scale);
    pp_poll_entry e = {hold_session3, PP_POLL_IN, 0};
    int32_t r = hold_session3 > 0 ? pp_poll(&e, 1, 10000 * scale) : -1;
    int32_t got = r == 1 ? tlsRecv(hold_session3, big, 100, 0) : -1;
    if (!report(got == 100, "hold: a third session with unread input (read 100 bytes of it)"))
        return 1;
    /* pending: a silent client, half a ClientHello, and a finished handshake nobody picks up */
    if (!sync_point("hold: start the handshaking clients"))
        return 1;
    /* On a slow host (valgrind) the real client can finish its handshake inside this one call:
     * then the app holds it as a fourth session instead of a finished pending handshake (the same
     * descriptors and the same teardown work), and says so. */
    int32_t early = tlsAccept(cfg1, l, NULL, 0, 0);
    if (early > 0) {
        say("hold: note: a handshake finished inside tlsAccept(0) itself; holding it as session %d",
            (int)early);
        say("hold: holding 7 sockets, 4 sessions, 2 configs, 2 pending handshakes");
    } else {
        expect_error("hold: tlsAccept(0) takes the three into the handshake queue", early, -3,
                     "tlsAccept: no client ready");
        pp_poll_entry le = {l, PP_POLL_IN, 0};
        r = pp_poll(&le, 1, 10000 * scale);
        if (!report(r == 1 && (le.revents & PP_POLL_IN),
                    "hold: sockPoll says a handshake finished and waits for tlsAccept"))
            return 1;
        say("hold: holding 7 sockets, 3 sessions, 2 configs, 3 pending handshakes (1 finished)");
    }
    if (!sync_point("hold: holding"))
        return 1;
    if (pp_task_start(0, 0, hold_step, NULL) <= 0)
        return report(0, "pp_task_start: %s", last_error()), 1;
    say("END");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "hello";
    int rc = 2;
    if (strcmp(mode, "hello") == 0) {
        say("hello: api %d", (int)apiVersion());
        report(pp_has_features(PP_FEATURE_SOCKET | PP_FEATURE_SOCKET_TLS |
                               PP_FEATURE_EXT_SOCKET_POLL),
               "apiFeatures has socket, socket_tls and the sockPoll extension");
        rc = 0;
    } else if (strcmp(mode, "limits") == 0 && argc == 11) {
        scale = scale_arg(argv[10]);
        rc = run_limits(argv);
    } else if (strcmp(mode, "emfile") == 0 && argc == 8) {
        scale = scale_arg(argv[7]);
        rc = run_emfile(argv);
    } else if (strcmp(mode, "hold") == 0 && argc == 7) {
        scale = scale_arg(argv[6]);
        return run_hold(argv);
    } else {
        say("limits_app: unknown mode or wrong arguments: %s", mode);
    }
    if (rc == 0)
        say("END");
    return rc != 0 ? rc : failed_checks ? 1 : 0;
}
