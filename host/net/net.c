/* net.c - module `portal_net`: network status, own IPv4 address and name lookup, over the
 * platform layer (a desktop is always online in station mode). No Wi-Fi scan: see api_net.h. */
#include <string.h>

#include "../api/api.h"
#include "../core/app.h"
#include "../platform/platform.h"

#define IPV4_SIZE 4

int32_t portal_net_is_ready(portal_app *app)
{
    (void)app;
    return portal_platform_net_is_ready();
}

int32_t portal_net_connect(portal_app *app)
{
    if (portal_platform_net_connect() != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "netConnect: could not start connecting");
    return PORTAL_OK;
}

int32_t portal_net_disconnect(portal_app *app)
{
    if (portal_platform_net_disconnect() != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "netDisconnect: could not disconnect");
    return PORTAL_OK;
}

int32_t portal_net_wifi_get_mode(portal_app *app)
{
    int mode = portal_platform_wifi_mode();
    if (mode < 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "wifiGetMode: cannot read the Wi-Fi mode");
    return mode;
}

/* Upstream: with no interface, 4 zero bytes and 0; else the address and 4 (docs/spec-net.md). */
int32_t portal_net_get_ipv4(portal_app *app, uint8_t *out, uint32_t out_len)
{
    if (out_len < IPV4_SIZE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "netGetIpv4: out_len too small (need 4)");
    uint8_t ip[IPV4_SIZE] = {0, 0, 0, 0};
    if (!portal_platform_net_ipv4(ip)) {
        memset(out, 0, IPV4_SIZE);
        return 0;
    }
    memcpy(out, ip, IPV4_SIZE);
    return IPV4_SIZE;
}

/* A name that does not resolve is a soft failure, as upstream: 4 zero bytes, 0, and the last
 * error left alone. */
int32_t portal_net_resolve_ipv4(portal_app *app, const char *host, uint8_t *out, uint32_t out_len)
{
    if (out_len < IPV4_SIZE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "netResolveIpv4: out_len too small (need 4)");
    uint8_t ip[IPV4_SIZE] = {0, 0, 0, 0};
    if (!portal_platform_resolve_ipv4(host, ip)) {
        memset(out, 0, IPV4_SIZE);
        return 0;
    }
    memcpy(out, ip, IPV4_SIZE);
    return IPV4_SIZE;
}
