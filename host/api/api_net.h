/* api_net.h - import table of module `portal_net` (desktop subset: no Wi-Fi scan). */
#ifndef PORTAL_API_NET_H
#define PORTAL_API_NET_H

#define PORTAL_API_NET(X)                                                                          \
    X(portal_net, netIsReady, portal_net_is_ready, I32, ((CTX, _)))                                \
    X(portal_net, netConnect, portal_net_connect, I32, ((CTX, _)))                                 \
    X(portal_net, netDisconnect, portal_net_disconnect, I32, ((CTX, _)))                           \
    X(portal_net, netGetIpv4, portal_net_get_ipv4, I32, ((CTX, _), (BUF, out)))                    \
    X(portal_net, netResolveIpv4, portal_net_resolve_ipv4, I32, ((CTX, _), (STR, host), (BUF, out))) \
    X(portal_net, wifiGetMode, portal_net_wifi_get_mode, I32, ((CTX, _)))

#endif
