/* net.h - C SDK: module `portal_net` (network status, own IPv4 address, IPv4 name lookup) plus a
 * helper that resolves a host name straight into a SocketAddr. */
#ifndef PORTAL_SDK_NET_H
#define PORTAL_SDK_NET_H

#include <stdint.h>

#include "portal.h"
#include "socket.h"

/* wifiGetMode values. */
enum { PP_WIFI_OFF = 0, PP_WIFI_STATION = 1, PP_WIFI_SOFTAP = 2, PP_WIFI_STATION_SOFTAP = 3 };

/* 1 when the device has an IP address (portal-host: always 1). */
PORTAL_IMPORT(portal_net, netIsReady) int32_t netIsReady(void);
/* Starts joining the stored Wi-Fi network (portal-host: nothing to do, returns 0). */
PORTAL_IMPORT(portal_net, netConnect) int32_t netConnect(void);
PORTAL_IMPORT(portal_net, netDisconnect) int32_t netDisconnect(void);
/* Writes the device's IPv4 address (4 bytes, network order) and returns 4; out_len < 4 -> -1. */
PORTAL_IMPORT(portal_net, netGetIpv4) int32_t netGetIpv4(uint8_t *out, uint32_t out_len);
/* Looks up `host` (blocking). Returns 4 with the address written, or 0 with 4 zero bytes when
 * the name does not resolve (the last error is not set); out_len < 4 -> -1. */
PORTAL_IMPORT(portal_net, netResolveIpv4)
int32_t netResolveIpv4(const char *host, uint8_t *out, uint32_t out_len);
PORTAL_IMPORT(portal_net, wifiGetMode) int32_t wifiGetMode(void);

/* Firmware only: portal-host does not provide the Wi-Fi scan, so a call traps there as an
 * unlinked import. Records are 37 bytes: i32 rssi, then a NUL-terminated 33-byte SSID. */
PORTAL_IMPORT(portal_net, wifiScanStart) int32_t wifiScanStart(void);
PORTAL_IMPORT(portal_net, wifiScanIsRunning) int32_t wifiScanIsRunning(void);
PORTAL_IMPORT(portal_net, wifiScanGetCount) int32_t wifiScanGetCount(void);
PORTAL_IMPORT(portal_net, wifiScanGetBest) int32_t wifiScanGetBest(uint8_t *out, int32_t out_len);
PORTAL_IMPORT(portal_net, wifiScanGetRecord)
int32_t wifiScanGetRecord(int32_t index, uint8_t *out, int32_t out_len);

/* Resolves `host` into an IPv4 SocketAddr with `port`. Returns 0, or -1 when it does not
 * resolve (or a negative error code from netResolveIpv4). */
static inline int32_t pp_resolve_addr4(const char *host, uint16_t port, SocketAddr *out)
{
    uint8_t ip[4];
    int32_t rc = netResolveIpv4(host, ip, sizeof ip);
    if (rc < 0)
        return rc;
    if (rc != 4)
        return -1;
    *out = pp_addr4_bytes(ip, port);
    return 0;
}

#endif
