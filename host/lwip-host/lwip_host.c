/* lwip_host.c - the network side of portal-host-lwip, the desktop runtime built on
 * host/platform/lwip.c: starts Debian's lwIP (the unix port: tcpip_init, tapif) on a TAP interface
 * with a static IPv4 address, so apps run on a real lwIP stack exactly as the firmware runs them,
 * and bridges SIGINT/SIGTERM into it (an lwIP wait cannot watch the runtime's signal pipe).
 *
 * Configured from the environment (the test creates the TAP in its own network namespace):
 *   PORTAL_LWIP_TAP   name of an existing, up TAP interface (required; never a default name)
 *   PORTAL_LWIP_ADDR  the stack's IPv4 address, e.g. 10.77.0.2 (required)
 *   PORTAL_LWIP_MASK  netmask, default 255.255.255.0
 * The socket limit is the platform layer's (PORTAL_LWIP_SOCKETS, set by the build). */
#include "lwip_host.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwip/netif.h"
#include "lwip/sockets.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"

#include "platform/platform.h"

static struct netif tap_netif;
static sem_t tcpip_ready;

static void on_tcpip_ready(void *arg)
{
    (void)arg;
    sem_post(&tcpip_ready);
}

static bool parse_ipv4(const char *text, ip4_addr_t *out)
{
    return text && ip4addr_aton(text, out) == 1;
}

bool portal_lwip_host_start(void)
{
    const char *tap = getenv("PORTAL_LWIP_TAP");
    const char *addr_text = getenv("PORTAL_LWIP_ADDR");
    const char *mask_text = getenv("PORTAL_LWIP_MASK");
    ip4_addr_t addr, mask, gateway;
    if (!tap || !tap[0] || !parse_ipv4(addr_text, &addr)) {
        fprintf(stderr, "portal-host-lwip: set PORTAL_LWIP_TAP (an existing TAP interface) and "
                        "PORTAL_LWIP_ADDR (the stack's IPv4 address)\n");
        return false;
    }
    if (!parse_ipv4(mask_text ? mask_text : "255.255.255.0", &mask)) {
        fprintf(stderr, "portal-host-lwip: PORTAL_LWIP_MASK is not an IPv4 netmask\n");
        return false;
    }
    ip4_addr_set_zero(&gateway);
    /* The unix port's tapif opens /dev/net/tun and attaches to this name; with the variable set
     * it leaves the Linux side's configuration alone (the test did it). */
    if (setenv("PRECONFIGURED_TAPIF", tap, 1) != 0)
        return false;
    sem_init(&tcpip_ready, 0, 0);
    tcpip_init(on_tcpip_ready, NULL);
    while (sem_wait(&tcpip_ready) != 0 && errno == EINTR) {
    }
    LOCK_TCPIP_CORE();
    struct netif *added = netif_add(&tap_netif, &addr, &mask, &gateway, NULL, tapif_init,
                                    tcpip_input);
    if (added) {
        netif_set_default(&tap_netif);
        netif_set_up(&tap_netif);
        netif_set_link_up(&tap_netif);
    }
    UNLOCK_TCPIP_CORE();
    if (!added) {
        fprintf(stderr, "portal-host-lwip: cannot attach lwIP to TAP interface %s\n", tap);
        return false;
    }
    return true;
}

/* ---- shutdown bridge ----
 * The runtime's signal handler writes to a pipe; a thread waits on that pipe (a Linux descriptor,
 * so libc poll is right here) and sends one datagram to a UDP socket connected to itself, which
 * every lwIP wait watches as the platform's interrupt descriptor. */
static portal_fd wake_socket = PORTAL_FD_INVALID;
static int bridge_pipe = -1;
static pthread_t bridge_thread;
static bool bridge_running;
static atomic_int bridge_stop; /* set by portal_lwip_host_stop, read by the bridge thread */

static void *bridge_main(void *arg)
{
    (void)arg;
    while (!bridge_stop) {
        struct pollfd p = {.fd = bridge_pipe, .events = POLLIN, .revents = 0};
        int n = poll(&p, 1, 100); /* short: bridge_stop is checked between waits */
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p.revents & POLLNVAL)
            break; /* the runtime closed its pipe: the app is over */
        char drain[16];
        while (read(bridge_pipe, drain, sizeof drain) > 0) {
        }
        char byte = 1;
        (void)portal_platform_send(wake_socket, &byte, 1);
    }
    return NULL;
}

portal_fd portal_lwip_host_interrupt_fd(int signal_pipe_fd)
{
    if (wake_socket == PORTAL_FD_INVALID) {
        portal_fd fd = portal_platform_socket(4, 2, 0);
        portal_sockaddr self;
        memset(&self, 0, sizeof self);
        self.family = 4;
        uint8_t ip[4];
        if (fd == PORTAL_FD_INVALID || !portal_platform_net_ipv4(ip)) {
            portal_platform_close(fd);
            return PORTAL_FD_INVALID;
        }
        memcpy(self.ip, ip, 4);
        if (portal_platform_bind(fd, &self, false) != 0 || portal_platform_local_addr(fd, &self) != 0 ||
            portal_platform_connect_start(fd, &self) != 0) {
            fprintf(stderr, "portal-host-lwip: no shutdown wake-up socket: %s\n",
                    portal_platform_last_error());
            portal_platform_close(fd);
            return PORTAL_FD_INVALID;
        }
        wake_socket = fd;
    }
    if (!bridge_running) {
        bridge_pipe = signal_pipe_fd;
        bridge_stop = 0;
        bridge_running = pthread_create(&bridge_thread, NULL, bridge_main, NULL) == 0;
    }
    return wake_socket;
}

void portal_lwip_host_stop(void)
{
    if (bridge_running) {
        bridge_stop = 1;
        pthread_join(bridge_thread, NULL);
        bridge_running = false;
    }
    portal_platform_close(wake_socket);
    wake_socket = PORTAL_FD_INVALID;
    /* The platform's own bookkeeping: every socket an app opened must be closed by teardown. */
    fprintf(stderr, "portal-host-lwip: teardown: %d lwIP sockets held, budget %d free\n",
            portal_platform_open_fd_count(), portal_platform_sockets_free());
}
