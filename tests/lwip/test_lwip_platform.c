/* test_lwip_platform.c - host/platform/lwip.c on a real lwIP stack (Debian's liblwip), without
 * root or a TAP: lwIP's own loopback (a netif whose packets to its own address never leave the
 * stack). Built by cmake/lwip-host.cmake with a 4-socket budget and ESP-IDF-like stack limits
 * (PORTAL_LWIP_SOCKETS = PORTAL_LWIP_STACK_SOCKETS = 4). Checks:
 *   - the socket budget: socket() and accept() fail with ENFILE at the budget without touching
 *     the stack, so a queued client is not reset, and is accepted once a socket is closed;
 *   - wait_many's select semantics: a closed or reset peer is READ (never HANGUP), an entry
 *     without events is never reported, an empty set just sleeps;
 *   - open_fd_count is the platform's own count and returns to 0;
 *   - the name resolver (resolve_queue.c over lwip.c's tasks and sys_mutex): 40 jobs at once,
 *     results by polling (no descriptor), reserved ".invalid" names refused without a lookup,
 *     other names reaching the lookup in a task, cancelled jobs freed (valgrind). */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#include "lwip/netif.h"
#include "lwip/opt.h" /* LWIP_DNS */
#include "lwip/sys.h" /* sys_msleep */
#include "lwip/sockets.h" /* SO_LINGER, to make a peer reset */
#include "lwip/tcpip.h"

#include "platform/platform.h"
#include "testlib.h"

static struct netif loop_netif;
static sem_t ready_sem;

static void on_ready(void *arg)
{
    (void)arg;
    sem_post(&ready_sem);
}

/* Never called: with LWIP_NETIF_LOOPBACK, packets to the netif's own address are looped back
 * inside the stack before any output function. */
static err_t no_output(struct netif *netif, struct pbuf *p, const ip4_addr_t *addr)
{
    (void)netif;
    (void)p;
    (void)addr;
    return ERR_OK;
}

static err_t loop_init(struct netif *netif)
{
    netif->name[0] = 'l';
    netif->name[1] = 'p';
    netif->output = no_output;
    netif->mtu = 1500;
    return ERR_OK;
}

static bool start_lwip(void)
{
    sem_init(&ready_sem, 0, 0);
    tcpip_init(on_ready, NULL);
    while (sem_wait(&ready_sem) != 0 && errno == EINTR) {
    }
    ip4_addr_t addr, mask, gw;
    IP4_ADDR(&addr, 10, 99, 0, 1);
    IP4_ADDR(&mask, 255, 255, 255, 0);
    ip4_addr_set_zero(&gw);
    LOCK_TCPIP_CORE();
    struct netif *n = netif_add(&loop_netif, &addr, &mask, &gw, NULL, loop_init, tcpip_input);
    if (n) {
        netif_set_default(n);
        netif_set_up(n);
        netif_set_link_up(n);
    }
    UNLOCK_TCPIP_CORE();
    return n != NULL;
}

static portal_sockaddr self_addr(uint16_t port)
{
    portal_sockaddr a;
    memset(&a, 0, sizeof a);
    a.family = 4;
    a.port = port;
    a.ip[0] = 10, a.ip[1] = 99, a.ip[2] = 0, a.ip[3] = 1;
    return a;
}

/* A connected client socket (non-blocking connect finished), or -1. */
static portal_fd connect_client(const portal_sockaddr *to)
{
    portal_fd fd = portal_platform_socket(4, 1, 0);
    if (fd < 0)
        return -1;
    int r = portal_platform_connect_start(fd, to);
    if (r == PORTAL_IO_WOULD_BLOCK && portal_platform_wait(fd, PORTAL_WAIT_WRITE, 3000) > 0)
        r = portal_platform_connect_finish(fd);
    if (r != 0) {
        portal_platform_close(fd);
        return -1;
    }
    return fd;
}

/* Accepts, waiting up to 3 s for a connection to arrive. */
static portal_fd accept_waiting(portal_fd listener)
{
    if (portal_platform_wait(listener, PORTAL_WAIT_READ, 3000) <= 0)
        return PORTAL_IO_ERROR;
    return portal_platform_accept(listener, NULL);
}

static void test_budget_keeps_client_queued(void)
{
    printf("== socket budget: a queued client waits, it is not reset\n");
    CHECK_EQ_INT(portal_platform_open_fd_count(), 0);
    CHECK_EQ_INT(portal_platform_sockets_free(), 4);
    portal_fd listener = portal_platform_socket(4, 1, 0);
    CHECK(listener >= 0);
    portal_sockaddr any = self_addr(0);
    CHECK_EQ_INT(portal_platform_bind(listener, &any, true), 0);
    CHECK_EQ_INT(portal_platform_listen(listener, 4), 0);
    portal_sockaddr bound;
    CHECK_EQ_INT(portal_platform_local_addr(listener, &bound), 0);
    portal_sockaddr to = self_addr(bound.port);

    portal_fd first = connect_client(&to);
    CHECK(first >= 0);
    portal_fd served = accept_waiting(listener);
    CHECK(served >= 0);
    portal_fd waiting = connect_client(&to); /* the 4th socket: the budget is spent */
    CHECK(waiting >= 0);
    CHECK_EQ_INT(portal_platform_sockets_free(), 0);
    CHECK_EQ_INT(portal_platform_open_fd_count(), 4);

    /* socket() at the budget */
    CHECK_EQ_INT(portal_platform_socket(4, 1, 0), PORTAL_FD_INVALID);
    CHECK_EQ_INT(portal_platform_last_errno(), ENFILE);
    /* accept() at the budget: refused, the connection stays in lwIP's queue */
    CHECK(portal_platform_wait(listener, PORTAL_WAIT_READ, 3000) == PORTAL_WAIT_READ);
    CHECK_EQ_INT(portal_platform_accept(listener, NULL), PORTAL_IO_ERROR);
    CHECK_EQ_INT(portal_platform_last_errno(), ENFILE);
    /* The waiting client was not reset: nothing to read on it (no RST, no FIN) ... */
    CHECK_EQ_INT(portal_platform_wait(waiting, PORTAL_WAIT_READ, 300), 0);
    CHECK_EQ_INT(portal_platform_send(waiting, "hello", 5), 5);
    /* ... and once a socket is closed, it is accepted and its bytes are there. */
    portal_platform_close(first);
    CHECK_EQ_INT(portal_platform_sockets_free(), 1);
    portal_fd late = accept_waiting(listener);
    CHECK(late >= 0);
    char buf[16];
    CHECK(portal_platform_wait(late, PORTAL_WAIT_READ, 3000) == PORTAL_WAIT_READ);
    CHECK_EQ_INT(portal_platform_recv(late, buf, sizeof buf), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);

    printf("== wait_many: select semantics\n");
    /* The client closes: the server side is READ only (never HANGUP), recv says 0. */
    portal_platform_close(waiting);
    portal_wait_entry e[2] = {{late, PORTAL_WAIT_READ, 0}, {served, 0, 0}};
    CHECK_EQ_INT(portal_platform_wait_many(e, 1, 3000), 1);
    CHECK_EQ_INT(e[0].ready, PORTAL_WAIT_READ);
    CHECK_EQ_INT(portal_platform_recv(late, buf, sizeof buf), 0);
    portal_platform_close(late);
    /* A peer that resets: READ (the end), never HANGUP, and with no event asked for the socket is
     * not reported at all, as select (ESP-IDF) never reports a descriptor that is in no set. (On
     * lwIP 2.1.3's lwip_poll neither of the two would show up anyway: these pin the contract.) */
    portal_fd resetter = connect_client(&to);
    CHECK(resetter >= 0);
    portal_fd victim = accept_waiting(listener);
    CHECK(victim >= 0);
    struct linger abort_close = {1, 0};
    CHECK_EQ_INT(lwip_setsockopt(resetter, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close), 0);
    portal_platform_close(resetter); /* RST */
    portal_wait_entry r[1] = {{victim, PORTAL_WAIT_READ, 0}};
    CHECK(portal_platform_wait_many(r, 1, 3000) == 1 && (r[0].ready & PORTAL_WAIT_READ));
    CHECK(!(r[0].ready & PORTAL_WAIT_HANGUP));
    r[0].events = 0;
    CHECK_EQ_INT(portal_platform_wait_many(r, 1, 100), 0);
    CHECK_EQ_INT(r[0].ready, 0);
    long end = portal_platform_recv(victim, buf, sizeof buf); /* lwIP 2.1 says 0 after a RST */
    CHECK(end == 0 || end == PORTAL_IO_CLOSED);
    portal_platform_close(victim);
    /* Nothing to watch: select just sleeps (lwip_poll alone would fail on the empty set). */
    int64_t t0 = portal_platform_now_ms();
    CHECK_EQ_INT(portal_platform_wait_many(r, 1, 150), 0);
    CHECK(portal_platform_now_ms() - t0 >= 140);
    /* An invalid entry is skipped, not an error. */
    portal_wait_entry skip[2] = {{PORTAL_FD_INVALID, PORTAL_WAIT_READ, 0}, {served, PORTAL_WAIT_READ, 0}};
    CHECK_EQ_INT(portal_platform_wait_many(skip, 2, 3000), 1);
    CHECK_EQ_INT(skip[0].ready, 0);
    CHECK_EQ_INT(skip[1].ready, PORTAL_WAIT_READ);

    portal_platform_close(served);
    portal_platform_close(listener);
    CHECK_EQ_INT(portal_platform_open_fd_count(), 0);
    CHECK_EQ_INT(portal_platform_sockets_free(), 4);
}

/* Debian's lwIP is built without DNS (LWIP_DNS 0): every lookup that reaches a worker task fails
 * with lwip.c's reason, which tells it apart from the refusal of a reserved name. Such lookups end
 * at once, so whether jobs wait in the queue depends on the scheduling; the queue itself is the
 * same code unit.test_tls_client drives with real getaddrinfo on POSIX. */
static void test_resolver_queue(void)
{
    enum { JOBS = 40, CANCELLED_AT_ONCE = 10 };
    portal_resolve *jobs[JOBS];
    for (int i = 0; i < JOBS; i++) {
        char name[64];
        if (i == 1)
            snprintf(name, sizeof name, "HOST.Invalid."); /* any case, trailing dot */
        else if (i == 2)
            snprintf(name, sizeof name, "notinvalid"); /* not the reserved domain */
        else
            snprintf(name, sizeof name, i % 2 ? "host%d.invalid" : "host%d.example", i);
        jobs[i] = portal_platform_resolve_start(name);
        CHECK(jobs[i] != NULL);
    }
    CHECK_EQ_INT(portal_platform_resolve_fd(jobs[0]), PORTAL_FD_INVALID);
    /* Cancelled while queued, running or done: freed in every case (valgrind). */
    for (int i = JOBS - CANCELLED_AT_ONCE; i < JOBS; i++)
        portal_platform_resolve_cancel(jobs[i]);

    int64_t deadline = portal_platform_now_ms() + 20000;
    int done = 0;
    while (done < JOBS - CANCELLED_AT_ONCE && portal_platform_now_ms() < deadline) {
        done = 0;
        for (int i = 0; i < JOBS - CANCELLED_AT_ONCE; i++) {
            portal_sockaddr addrs[2];
            char why[128] = "";
            if (portal_platform_resolve_result(jobs[i], addrs, 2, why, sizeof why) != 0)
                done++;
        }
        sys_msleep(10);
    }
    CHECK_EQ_INT(done, JOBS - CANCELLED_AT_ONCE);
#if LWIP_DNS
    const char *no_dns = NULL; /* a stack with DNS but no server: its own failure text */
#else
    const char *no_dns = "this lwIP has no DNS (LWIP_DNS is 0)";
#endif
    for (int i = 0; i < JOBS - CANCELLED_AT_ONCE; i++) {
        portal_sockaddr addrs[2];
        char why[128] = "";
        CHECK_EQ_INT(portal_platform_resolve_result(jobs[i], addrs, 2, why, sizeof why), -1);
        if (i % 2 == 1)
            CHECK_STR(why, "Name or service not known");
        else if (no_dns)
            CHECK_STR(why, no_dns);
        portal_platform_resolve_cancel(jobs[i]);
    }
    /* Let the worker tasks see the empty queue and end before the process does. */
    sys_msleep(200);
}

int main(void)
{
    if (!start_lwip()) {
        fprintf(stderr, "cannot start lwIP\n");
        return 1;
    }
    test_budget_keeps_client_queued();
    test_resolver_queue();
    printf("%d passed, %d failed\n", testlib_passed, testlib_failed);
    return testlib_failed ? 1 : 0;
}
