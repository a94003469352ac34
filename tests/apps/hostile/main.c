/* hostile - a test app that attacks every import of portal_socket and portal_net (and
 * portal.lastErrorMessage, and the buffers of the TLS client extension: tlsClientConfigCreate,
 * tlsConnect, the 584-byte tlsSessionInfo) with bad values and bad memory ranges; run by
 * tests/integration/test_hostile.sh, which holds the expectations.
 *   values PORT   bad handles, domains, types and lengths, plus memory ranges that are valid
 *                 although extreme (offset 0, the whole memory, ending exactly at the end; a real
 *                 connection to itself on 127.0.0.1:PORT reads and writes there): each
 *                 call prints "VAL <case> <rc> <last error message or own text>"; then "END"
 *   trap CASE     one call with a memory range outside linear memory (far away, running past the
 *                 end, huge or negative length, 32-bit wrap, unterminated string), or a call to an
 *                 import the desktop does not provide: the host must trap the app; if the call
 *                 returns instead, the app prints "NO TRAP rc=N" and exits 0
 *   list          print the trap case names, one per line */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portal/net.h>
#include <portal/portal.h>
#include <portal/socket.h>
#include <portal/tls_socket.h>

#include "app_vals.h"

#include "dev_certs.h" /* a valid certificate and key for the arguments that are not under test */

static uint8_t buf[4096];

static int32_t tcp4(void) { return sockSocket(PP_AF_INET, PP_SOCK_STREAM, 0); }

/* A real connection inside the app, with buffers ending exactly at the end of memory: the host
 * writes the peer address and the data into exactly the ranges it is given. */
static void real_connection_values(int32_t port)
{
    uint32_t mem = memory_size();
    char text[96];
    SocketAddr a = pp_addr4_loopback((uint16_t)port);
    int32_t l = tcp4();
    int32_t rc = sockBind(l, &a, sizeof a);
    if (rc == 0)
        rc = sockListen(l, 4);
    val("real-listen", rc);
    int32_t c = tcp4();
    val("real-connect", sockConnect(c, &a, sizeof a, 2000));

    uint8_t *end = at(mem - 16);
    memset(end, 0xC5, 16);
    int32_t h = sockAcceptWithTimeout(l, at(mem - 12), 12, 2000);
    SocketAddr got;
    memcpy(&got, at(mem - 12), sizeof got);
    int ok = h > 0 && got.family == PP_AF_INET && got.ip[0] == 127 && got.ip[3] == 1 &&
             got.port != 0 && end[0] == 0xC5 && end[3] == 0xC5;
    snprintf(text, sizeof text, "peer 127.0.0.1:%u written in the last 12 bytes%s",
             (unsigned)got.port, ok ? ", the 4 before untouched" : " - WRONG");
    val_text("real-accept-out-at-end", h > 0 ? 0 : h, text);

    uint8_t pattern[64];
    for (int i = 0; i < 64; i++)
        pattern[i] = (uint8_t)(i * 7 + 1);
    val("real-send-64", sockSend(c, pattern, sizeof pattern, 2000));
    memset(at(mem - 32), 0xC5, 32);
    rc = sockRecv(h, end, 16, 2000);
    ok = rc == 16 && memcmp(end, pattern, 16) == 0;
    for (uint32_t i = 0; i < 16; i++)
        ok &= ((uint8_t *)at(mem - 32))[i] == 0xC5;
    val_text("real-recv-16-at-end", rc,
             ok ? "the first 16 bytes in the last 16 of memory, the 16 before untouched" :
                  "WRONG bytes or canary");
    memset(buf, 0, 64);
    rc = sockRecv(h, buf, sizeof buf, 2000);
    val_text("real-recv-rest", rc, rc == 48 && memcmp(buf, pattern + 16, 48) == 0 ?
                                       "the other 48 bytes, in order" : "WRONG");
    sockClose(h);
    sockClose(c);
    sockClose(l);
}

static void socket_values(int32_t port)
{
    char name[96];
    uint32_t mem = memory_size();
    SocketAddr a = pp_addr4_loopback((uint16_t)port);

    /* sockSocket: domain, type, protocol */
    val("sockSocket-domain-99", sockSocket(99, 1, 0));
    val("sockSocket-domain-min", sockSocket(INT32_MIN, 1, 0));
    val("sockSocket-type-7", sockSocket(2, 7, 0));
    val("sockSocket-type-neg", sockSocket(10, -1, 0));
    val("sockSocket-protocol-12345", sockSocket(2, 1, 12345));
    val("sockSocket-protocol-icmp", sockSocket(2, 1, 1));
    val("sockSocket-protocol-sctp", sockSocket(10, 1, 132));
    val("sockSocket-protocol-udp-on-stream", sockSocket(2, 1, 17));
    val("sockSocket-protocol-neg", sockSocket(2, 1, -1));
    val("sockSocket-protocol-icmp-dgram", sockSocket(2, 2, 1));

    /* bogus handles on every import that takes one */
    static const int32_t bogus[] = {0, -1, INT32_MIN, INT32_MAX, 0x7FFF0000};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        int32_t h = bogus[i];
#define BOGUS(import, call)                                                                        \
    do {                                                                                           \
        snprintf(name, sizeof name, "%s-handle-%d", import, (int)h);                              \
        val(name, call);                                                                           \
    } while (0)
        BOGUS("sockConnect", sockConnect(h, &a, sizeof a, 0));
        BOGUS("sockBind", sockBind(h, &a, sizeof a));
        BOGUS("sockListen", sockListen(h, 1));
        BOGUS("sockAccept", sockAccept(h, buf, 28, 0));
        BOGUS("sockAcceptWithTimeout", sockAcceptWithTimeout(h, buf, 28, 0));
        BOGUS("sockSend", sockSend(h, buf, 16, 0));
        BOGUS("sockRecv", sockRecv(h, buf, 16, 0));
        BOGUS("sockClose", sockClose(h));
#undef BOGUS
    }

    /* a stale handle */
    int32_t stale = tcp4();
    sockClose(stale);
    val("sockSend-handle-stale", sockSend(stale, buf, 1, 0));
    val("sockClose-handle-stale", sockClose(stale));

    /* address lengths on a real socket */
    int32_t s = tcp4();
    val("sockConnect-addr-len-0", sockConnect(s, &a, 0, 0));
    val("sockConnect-addr-len-11", sockConnect(s, &a, 11, 0));
    val("sockBind-addr-len-11", sockBind(s, &a, 11));
    /* a long but valid range: the 12-byte form at its start is used */
    memset(buf, 0, sizeof buf);
    SocketAddr any_port = pp_addr4_loopback(0);
    memcpy(buf, &any_port, sizeof any_port);
    val("sockBind-addr-len-4096", sockBind(s, buf, sizeof buf));
    val("sockListen-backlog-neg", sockListen(s, -5));
    int32_t s2 = tcp4();
    val("sockBind-port-0", sockBind(s2, &any_port, sizeof any_port));
    val("sockListen-backlog-max", sockListen(s2, INT32_MAX));

    /* accept out_addr lengths on a listener with nobody waiting */
    val("sockAcceptWithTimeout-out-len-11", sockAcceptWithTimeout(s, buf, 11, 0));
    val("sockAcceptWithTimeout-out-len-1", sockAcceptWithTimeout(s, buf, 1, 0));
    val("sockAccept-out-len-11", sockAccept(s, buf, 11, 0));
    val("sockAcceptWithTimeout-out-len-4096", sockAcceptWithTimeout(s, buf, sizeof buf, 0));
    val("sockAcceptWithTimeout-out-at-end", sockAcceptWithTimeout(s, at(mem - 28), 28, 0));
    val("sockAcceptWithTimeout-out-len-0-at-end", sockAcceptWithTimeout(s, at(mem), 0, 0));

    /* send/recv lengths on an unconnected socket */
    int32_t u = tcp4();
    val("sockSend-len-0", sockSend(u, buf, 0, 0));
    val("sockSend-len-0-at-end", sockSend(u, at(mem), 0, 0));
    val("sockRecv-len-0", sockRecv(u, buf, 0, 0));
    val("sockSend-whole-memory", sockSend(u, at(0), mem, 0));
    val("sockRecv-whole-memory", sockRecv(u, at(0), mem, 0));
    val("sockRecv-at-end", sockRecv(u, at(mem - 16), 16, 0));

    sockClose(u);
    sockClose(s2);
    sockClose(s);
    real_connection_values(port);
}

static void net_values(void)
{
    uint32_t mem = memory_size();
    char text[64];

    val("netIsReady", netIsReady());
    val("netConnect", netConnect());
    val("netDisconnect", netDisconnect());
    val("wifiGetMode", wifiGetMode());

    val("netGetIpv4-out-len-0", netGetIpv4(buf, 0));
    val("netGetIpv4-out-len-3", netGetIpv4(buf, 3));
    /* exactly 4 bytes written: the canary right behind them survives */
    memset(buf, 0xC5, 16);
    int32_t rc = netGetIpv4(buf, 4);
    snprintf(text, sizeof text, "canary %s", buf[4] == 0xC5 && buf[5] == 0xC5 ? "intact" : "HIT");
    val_text("netGetIpv4-canary", rc, text);
    val("netGetIpv4-out-at-end", netGetIpv4(at(mem - 4), 4));
    val("netGetIpv4-out-len-4096", netGetIpv4(buf, sizeof buf));

    val("netResolveIpv4-out-len-3", netResolveIpv4("localhost", buf, 3));
    memset(buf, 0xC5, 16);
    rc = netResolveIpv4("localhost", buf, 4);
    snprintf(text, sizeof text, "%u.%u.%u.%u canary %s", buf[0], buf[1], buf[2], buf[3],
             buf[4] == 0xC5 ? "intact" : "HIT");
    val_text("netResolveIpv4-localhost", rc, text);
    /* a name that does not resolve: 0, zeros, and the last error left alone */
    char before[128], after[128];
    lastErrorMessage(before, sizeof before);
    memset(buf, 0xC5, 8);
    rc = netResolveIpv4("", buf, 4);
    lastErrorMessage(after, sizeof after);
    snprintf(text, sizeof text, "zeros %s, last error %s",
             buf[0] == 0 && buf[1] == 0 && buf[2] == 0 && buf[3] == 0 ? "yes" : "NO",
             strcmp(before, after) == 0 ? "untouched" : "CHANGED");
    val_text("netResolveIpv4-empty-name", rc, text);
    /* a host name that ends exactly at the end of memory, and an out buffer there too */
    char *tail = at(mem - 10);
    memcpy(tail, "localhost", 10);
    val("netResolveIpv4-host-at-end", netResolveIpv4(tail, at(mem - 14), 4));
}

static void last_error_values(void)
{
    uint32_t mem = memory_size();
    char text[96];
    sockSocket(77, 1, 0); /* sets a known message */
    val_text("lastErrorMessage-len-0", lastErrorMessage((char *)buf, 0), "-");
    memset(buf, 0xC5, 16);
    int32_t n = lastErrorMessage((char *)buf, 5);
    snprintf(text, sizeof text, "'%s' canary %s", (char *)buf, buf[5] == 0xC5 ? "intact" : "HIT");
    val_text("lastErrorMessage-len-5", n, text);
    uint8_t *end = at(mem - 1);
    *end = 0x5A;
    n = lastErrorMessage(at(mem - 1), 1);
    val_text("lastErrorMessage-at-end", n, *end == 0 ? "NUL written" : "not written");
    n = lastErrorMessage((char *)buf, sizeof buf);
    val_text("lastErrorMessage-len-4096", n, (char *)buf);
}

/* ---- trap cases ---- */

/* Where a case's offset points. */
typedef enum { ABSOLUTE, FROM_END, IN_BUF } where;

typedef struct trap_case {
    const char *name;
    int32_t (*call)(uint32_t offset, uint32_t len, int32_t sock);
    where base;
    uint32_t offset; /* ABSOLUTE: the offset; FROM_END: bytes before the end; IN_BUF: unused */
    uint32_t len;
} trap_case;

static int32_t t_connect(uint32_t o, uint32_t l, int32_t s) { return sockConnect(s, at(o), l, 0); }
static int32_t t_bind(uint32_t o, uint32_t l, int32_t s) { return sockBind(s, at(o), l); }
static int32_t t_accept(uint32_t o, uint32_t l, int32_t s) { return sockAccept(s, at(o), l, 0); }
static int32_t t_accept_to(uint32_t o, uint32_t l, int32_t s)
{
    return sockAcceptWithTimeout(s, at(o), l, 0);
}
static int32_t t_send(uint32_t o, uint32_t l, int32_t s) { return sockSend(s, at(o), l, 0); }
static int32_t t_recv(uint32_t o, uint32_t l, int32_t s) { return sockRecv(s, at(o), l, 0); }
static int32_t t_get_ipv4(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return netGetIpv4(at(o), l);
}
static int32_t t_resolve_out(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return netResolveIpv4("localhost", at(o), l);
}
static int32_t t_resolve_host(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    (void)l;
    return netResolveIpv4(at(o), buf, 4);
}
static int32_t t_last_error(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return lastErrorMessage(at(o), l);
}
static int32_t t_scan_start(uint32_t o, uint32_t l, int32_t s)
{
    (void)o, (void)l, (void)s;
    return wifiScanStart();
}
static int32_t t_scan_running(uint32_t o, uint32_t l, int32_t s)
{
    (void)o, (void)l, (void)s;
    return wifiScanIsRunning();
}
static int32_t t_scan_count(uint32_t o, uint32_t l, int32_t s)
{
    (void)o, (void)l, (void)s;
    return wifiScanGetCount();
}
static int32_t t_scan_best(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return wifiScanGetBest(at(o), (int32_t)l);
}
static int32_t t_scan_record(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return wifiScanGetRecord(0, at(o), (int32_t)l);
}

/* The TLS client extension: every buffer argument, the others valid. tlsConnect gets a valid
 * client config (sock is one here, see run_trap), port 443 by name or port 0 with an address. */
static int32_t t_client_ca(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return tlsClientConfigCreate(at(o), l, NULL, 0, NULL, 0, NULL, 0, 0);
}
static int32_t t_client_cert(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return tlsClientConfigCreate(dev_ca_cert, sizeof dev_ca_cert, at(o), l, dev_server_ec_key,
                                 sizeof dev_server_ec_key, NULL, 0, 0);
}
static int32_t t_client_key(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return tlsClientConfigCreate(dev_ca_cert, sizeof dev_ca_cert, dev_server_ec_cert,
                                 sizeof dev_server_ec_cert, at(o), l, NULL, 0, 0);
}
static int32_t t_client_alpn(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return tlsClientConfigCreate(dev_ca_cert, sizeof dev_ca_cert, NULL, 0, NULL, 0, at(o), l, 0);
}
static int32_t t_connect_host(uint32_t o, uint32_t l, int32_t config)
{
    (void)l;
    return tlsConnect(config, at(o), NULL, 0, 443, 0);
}
static int32_t t_connect_addr(uint32_t o, uint32_t l, int32_t config)
{
    return tlsConnect(config, "localhost", at(o), l, 0, 0);
}
static int32_t t_session_info(uint32_t o, uint32_t l, int32_t s)
{
    (void)s;
    return tlsSessionInfo(1, at(o), l);
}

static const trap_case cases[] = {
    {"sockConnect-addr-far", t_connect, ABSOLUTE, FAR_AWAY, 12},
    {"sockConnect-addr-past-end", t_connect, FROM_END, 6, 12},
    {"sockConnect-addr-neglen", t_connect, IN_BUF, 0, 0xFFFFFFFFu},
    {"sockBind-addr-far", t_bind, ABSOLUTE, FAR_AWAY, 12},
    {"sockBind-addr-past-end", t_bind, FROM_END, 11, 12},
    {"sockBind-addr-neglen", t_bind, IN_BUF, 0, 0x80000000u},
    {"sockAccept-out_addr-far", t_accept, ABSOLUTE, FAR_AWAY, 12},
    {"sockAccept-out_addr-past-end", t_accept, FROM_END, 4, 28},
    {"sockAccept-out_addr-neglen", t_accept, IN_BUF, 0, 0xFFFFFFF4u},
    {"sockAcceptWithTimeout-out_addr-far", t_accept_to, ABSOLUTE, FAR_AWAY, 28},
    {"sockAcceptWithTimeout-out_addr-past-end", t_accept_to, FROM_END, 27, 28},
    {"sockAcceptWithTimeout-out_addr-neglen", t_accept_to, IN_BUF, 0, 0xFFFFFFFFu},
    {"sockSend-buf-far", t_send, ABSOLUTE, FAR_AWAY, 16},
    {"sockSend-buf-past-end", t_send, FROM_END, 100, 200},
    {"sockSend-buf-huge", t_send, IN_BUF, 0, 0x7FFFFFFFu},
    {"sockSend-buf-neglen", t_send, IN_BUF, 0, 0xFFFFFFFFu},
    {"sockSend-buf-wrap", t_send, ABSOLUTE, 0xFFFFFF00u, 0x200},
    {"sockRecv-buf-far", t_recv, ABSOLUTE, FAR_AWAY, 16},
    {"sockRecv-buf-past-end", t_recv, FROM_END, 1, 2},
    {"sockRecv-buf-huge", t_recv, IN_BUF, 0, 0x7FFFFFFFu},
    {"sockRecv-buf-neglen", t_recv, IN_BUF, 0, 0x80000000u},
    {"sockRecv-buf-wrap", t_recv, ABSOLUTE, 0x10, 0xFFFFFFF8u},
    {"netGetIpv4-out-far", t_get_ipv4, ABSOLUTE, FAR_AWAY, 4},
    {"netGetIpv4-out-past-end", t_get_ipv4, FROM_END, 2, 4},
    {"netGetIpv4-out-neglen", t_get_ipv4, IN_BUF, 0, 0xFFFFFFFFu},
    {"netResolveIpv4-host-unterminated", t_resolve_host, FROM_END, 16, 0},
    {"netResolveIpv4-host-far", t_resolve_host, ABSOLUTE, FAR_AWAY, 0},
    {"netResolveIpv4-out-far", t_resolve_out, ABSOLUTE, FAR_AWAY, 4},
    {"netResolveIpv4-out-past-end", t_resolve_out, FROM_END, 3, 4},
    {"netResolveIpv4-out-neglen", t_resolve_out, IN_BUF, 0, 0xFFFFFFFCu},
    {"lastErrorMessage-out-far", t_last_error, ABSOLUTE, FAR_AWAY, 64},
    {"lastErrorMessage-out-past-end", t_last_error, FROM_END, 10, 64},
    {"lastErrorMessage-out-neglen", t_last_error, IN_BUF, 0, 0xFFFFFFFFu},
    {"tlsClientConfigCreate-ca_pem-far", t_client_ca, ABSOLUTE, FAR_AWAY, 16},
    {"tlsClientConfigCreate-ca_pem-past-end", t_client_ca, FROM_END, 100, 101},
    {"tlsClientConfigCreate-ca_pem-neglen", t_client_ca, IN_BUF, 0, 0xFFFFFFFFu},
    {"tlsClientConfigCreate-cert_pem-far", t_client_cert, ABSOLUTE, FAR_AWAY, 16},
    {"tlsClientConfigCreate-cert_pem-past-end", t_client_cert, FROM_END, 1, 600},
    {"tlsClientConfigCreate-cert_pem-neglen", t_client_cert, IN_BUF, 0, 0x80000000u},
    {"tlsClientConfigCreate-key_pem-far", t_client_key, ABSOLUTE, FAR_AWAY, 16},
    {"tlsClientConfigCreate-key_pem-past-end", t_client_key, FROM_END, 10, 241},
    {"tlsClientConfigCreate-key_pem-wrap", t_client_key, ABSOLUTE, 0xFFFFFF00u, 0x200},
    {"tlsClientConfigCreate-alpn-far", t_client_alpn, ABSOLUTE, FAR_AWAY, 8},
    {"tlsClientConfigCreate-alpn-past-end", t_client_alpn, FROM_END, 4, 8},
    {"tlsClientConfigCreate-alpn-neglen", t_client_alpn, IN_BUF, 0, 0xFFFFFFF8u},
    {"tlsConnect-host-unterminated", t_connect_host, FROM_END, 16, 0},
    {"tlsConnect-host-far", t_connect_host, ABSOLUTE, FAR_AWAY, 0},
    {"tlsConnect-addr-far", t_connect_addr, ABSOLUTE, FAR_AWAY, 12},
    {"tlsConnect-addr-past-end", t_connect_addr, FROM_END, 20, 28},
    {"tlsConnect-addr-neglen", t_connect_addr, IN_BUF, 0, 0xFFFFFFFFu},
    {"tlsSessionInfo-out-past-end", t_session_info, FROM_END, 328, 584},
    {"tlsSessionInfo-out-far", t_session_info, ABSOLUTE, FAR_AWAY, 584},
    {"wifiScanStart", t_scan_start, ABSOLUTE, 0, 0},
    {"wifiScanIsRunning", t_scan_running, ABSOLUTE, 0, 0},
    {"wifiScanGetCount", t_scan_count, ABSOLUTE, 0, 0},
    {"wifiScanGetBest", t_scan_best, IN_BUF, 0, 37},
    {"wifiScanGetRecord", t_scan_record, IN_BUF, 0, 37},
};

static int run_trap(const char *name)
{
    const trap_case *c = NULL;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !c; i++)
        if (strcmp(cases[i].name, name) == 0)
            c = &cases[i];
    if (!c) {
        printf("unknown trap case %s\n", name);
        return 2;
    }
    uint32_t mem = memory_size();
    uint32_t offset = c->base == FROM_END ? mem - c->offset :
                      c->base == IN_BUF   ? (uint32_t)(uintptr_t)buf :
                                            c->offset;
    if ((c->call == t_resolve_host || c->call == t_connect_host) && c->base == FROM_END)
        memset(at(offset), 'x', c->offset); /* a host name that runs into the end of memory */
    /* A valid socket (a listener for the accept calls; a client config for tlsConnect), so
     * nothing but the range is wrong. */
    int32_t sock = c->call == t_connect_host || c->call == t_connect_addr
                       ? tlsClientConfigCreate(NULL, 0, NULL, 0, NULL, 0, NULL, 0,
                                               PP_TLS_CLIENT_NO_VERIFY)
                       : tcp4();
    if (c->call == t_accept || c->call == t_accept_to) {
        SocketAddr any = pp_addr4_loopback(0);
        sockBind(sock, &any, sizeof any);
        sockListen(sock, 1);
    }
    printf("calling %s: offset %u length %u memory size %u\n", c->name, (unsigned)offset,
           (unsigned)c->len, (unsigned)mem);
    fflush(stdout);
    int32_t rc = c->call(offset, c->len, sock);
    char last[128];
    lastErrorMessage(last, sizeof last);
    printf("NO TRAP rc=%d %s\n", (int)rc, last);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "values") == 0 && argc == 3) {
        printf("memory size %u\n", (unsigned)memory_size());
        socket_values(atoi(argv[2]));
        net_values();
        last_error_values();
        printf("END\n");
        return 0;
    }
    if (strcmp(mode, "trap") == 0 && argc == 3)
        return run_trap(argv[2]);
    if (strcmp(mode, "list") == 0) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            printf("%s\n", cases[i].name);
        return 0;
    }
    printf("usage: values PORT | trap CASE | list\n");
    return 2;
}
