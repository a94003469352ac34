/* sockaddr.c - the app's SocketAddr byte layouts (docs/abi.md#socket-address-layouts) to and from
 * the host form, and address text for error messages. Plain byte code: no OS headers. */
#include <stdio.h>
#include <string.h>

#include "socket.h"

/* Family numbers as they appear in the app's bytes (upstream uses the lwIP AF_* values). */
#define APP_FAMILY_INET 2
#define APP_FAMILY_INET6 10

/* Both layouts share offset 0 (family, i32 LE) and offset 4 (port, u16 LE, host order). */
enum { OFF_FAMILY = 0, OFF_PORT = 4, OFF_IP4 = 6, OFF_PAD4 = 10, OFF_PAD6 = 6, OFF_IP6 = 8,
       OFF_SCOPE6 = 24 };

static uint32_t read_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t read_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void write_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void write_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int portal_sockaddr_decode(const uint8_t *buf, uint32_t len, portal_sockaddr *out)
{
    memset(out, 0, sizeof *out);
    /* The IPv6 form is recognised only by its family field, so an upstream app that passes a
     * larger buffer with anything else in the family field still gets the IPv4 meaning. */
    if (len >= PORTAL_SOCKADDR6_SIZE && read_u32le(buf + OFF_FAMILY) == APP_FAMILY_INET6) {
        out->family = 6;
        out->port = read_u16le(buf + OFF_PORT);
        memcpy(out->ip, buf + OFF_IP6, 16);
        out->scope_id = read_u32le(buf + OFF_SCOPE6);
        return PORTAL_SOCKADDR6_SIZE;
    }
    if (len >= PORTAL_SOCKADDR4_SIZE) {
        /* Upstream ignores the family field on input; so do we. */
        out->family = 4;
        out->port = read_u16le(buf + OFF_PORT);
        memcpy(out->ip, buf + OFF_IP4, 4);
        return PORTAL_SOCKADDR4_SIZE;
    }
    return 0;
}

static bool is_v4_mapped(const uint8_t ip[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(ip, prefix, sizeof prefix) == 0;
}

static void encode_v4(uint8_t *buf, int32_t family, uint16_t port, const uint8_t ip[4])
{
    write_u32le(buf + OFF_FAMILY, (uint32_t)family);
    write_u16le(buf + OFF_PORT, port);
    memcpy(buf + OFF_IP4, ip, 4);
    buf[OFF_PAD4] = buf[OFF_PAD4 + 1] = 0;
}

uint32_t portal_sockaddr_encode(const portal_sockaddr *addr, uint8_t *buf, uint32_t len)
{
    if (len < PORTAL_SOCKADDR4_SIZE)
        return 0;
    if (addr->family != 6) {
        encode_v4(buf, APP_FAMILY_INET, addr->port, addr->ip);
        return PORTAL_SOCKADDR4_SIZE;
    }
    if (is_v4_mapped(addr->ip)) {
        encode_v4(buf, APP_FAMILY_INET, addr->port, addr->ip + 12);
        return PORTAL_SOCKADDR4_SIZE;
    }
    if (len < PORTAL_SOCKADDR6_SIZE) {
        /* Too small for the address: say "IPv6" and give the port, never a wrong IPv4. */
        static const uint8_t zero_ip[4] = {0, 0, 0, 0};
        encode_v4(buf, APP_FAMILY_INET6, addr->port, zero_ip);
        return PORTAL_SOCKADDR4_SIZE;
    }
    write_u32le(buf + OFF_FAMILY, APP_FAMILY_INET6);
    write_u16le(buf + OFF_PORT, addr->port);
    write_u16le(buf + OFF_PAD6, 0);
    memcpy(buf + OFF_IP6, addr->ip, 16);
    write_u32le(buf + OFF_SCOPE6, addr->scope_id);
    return PORTAL_SOCKADDR6_SIZE;
}

/* RFC 5952 text: lower-case hex, leading zeros dropped, the longest run (>= 2) of zero groups
 * (the first one on a tie) written as "::". */
static void format_ipv6(const uint8_t ip[16], char *out, size_t size)
{
    uint16_t groups[8];
    for (int i = 0; i < 8; i++)
        groups[i] = (uint16_t)(ip[2 * i] << 8 | ip[2 * i + 1]);
    int best_start = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (groups[i] != 0) {
            i++;
            continue;
        }
        int start = i;
        while (i < 8 && groups[i] == 0)
            i++;
        if (i - start > best_len) {
            best_start = start;
            best_len = i - start;
        }
    }
    if (best_len < 2)
        best_start = -1;

    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < 8 && used < size; i++) {
        int n;
        if (i == best_start) {
            n = snprintf(out + used, size - used, "::");
            i += best_len - 1;
        } else {
            bool after_gap = best_start >= 0 && i == best_start + best_len;
            n = snprintf(out + used, size - used, "%s%x", (i == 0 || after_gap) ? "" : ":",
                         groups[i]);
        }
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void portal_sockaddr_format(const portal_sockaddr *addr, char *out, size_t size)
{
    if (size == 0)
        return;
    if (addr->family == 6) {
        char ip[48];
        format_ipv6(addr->ip, ip, sizeof ip);
        snprintf(out, size, "[%s]:%u", ip, (unsigned)addr->port);
    } else {
        snprintf(out, size, "%u.%u.%u.%u:%u", addr->ip[0], addr->ip[1], addr->ip[2], addr->ip[3],
                 (unsigned)addr->port);
    }
}
