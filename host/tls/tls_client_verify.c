/* tls_client_verify.c - how a TLS client (tlsConnect) judges the server's certificate beyond what
 * mbedTLS does by itself: a verify callback that notes the leaf's names and the chain's issuer for
 * the failure reasons, checks an IP-literal host against the certificate (mbedTLS is given no
 * host name then, so that no SNI is sent: RFC 6066 forbids literals there), and the reason texts
 * of docs/extensions.md built from mbedTLS's verify flags. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/oid.h>
#include <mbedtls/x509.h>

#include "tls_internal.h"

#if PORTAL_MBEDTLS_3
#define CONF_F_VRFY(conf) ((conf)->MBEDTLS_PRIVATE(f_vrfy))
#define CONF_P_VRFY(conf) ((conf)->MBEDTLS_PRIVATE(p_vrfy))
#else
#define CONF_F_VRFY(conf) ((conf)->f_vrfy)
#define CONF_P_VRFY(conf) ((conf)->p_vrfy)
#endif

#define SAN_TYPE(tag) ((tag) & MBEDTLS_ASN1_TAG_VALUE_MASK)
#define SAN_DNS 2 /* dNSName */
#define SAN_IP 7  /* iPAddress */

static void append(char *buf, size_t size, const char *sep, const char *text, size_t len)
{
    size_t used = strlen(buf);
    if (used + 1 >= size)
        return;
    snprintf(buf + used, size - used, "%s%.*s", used ? sep : "", (int)len, text);
}

static const mbedtls_x509_buf *cert_cn(const mbedtls_x509_crt *crt)
{
    for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
        if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
            return &n->val;
    return NULL;
}

/* "localhost, 127.0.0.1, ::1" - or the CN when the certificate has no subjectAltName. */
static void cert_names(const mbedtls_x509_crt *crt, char *buf, size_t size)
{
    buf[0] = '\0';
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p;
         san = san->next) {
        int type = SAN_TYPE(san->buf.tag);
        if (type == SAN_DNS) {
            append(buf, size, ", ", (const char *)san->buf.p, san->buf.len);
        } else if (type == SAN_IP && (san->buf.len == 4 || san->buf.len == 16)) {
            portal_sockaddr a = {.family = san->buf.len == 4 ? 4 : 6};
            memcpy(a.ip, san->buf.p, san->buf.len);
            char text[64];
            portal_sockaddr_format(&a, text, sizeof text);
            /* portal_sockaddr_format writes "ip:0" / "[ip]:0": keep the address only */
            char *colon = strrchr(text, ':');
            if (colon)
                *colon = '\0';
            const char *ip = text[0] == '[' ? text + 1 : text;
            size_t n = strlen(ip);
            if (n > 0 && ip[n - 1] == ']')
                n--;
            append(buf, size, ", ", ip, n);
        }
    }
    const mbedtls_x509_buf *cn = buf[0] ? NULL : cert_cn(crt);
    if (cn)
        append(buf, size, ", ", (const char *)cn->p, cn->len);
    if (!buf[0])
        snprintf(buf, size, "(no names)");
}

/* An IP-literal host against the leaf: an iPAddress entry with the same address, or a dNSName
 * (the CN without subjectAltName) equal to the literal as text. */
static bool cert_matches_ip(const mbedtls_x509_crt *crt, const tls_peer_check *check)
{
    size_t ip_len = check->ip.family == 4 ? 4 : 16;
    size_t host_len = strlen(check->host);
    bool has_san = false;
    for (const mbedtls_x509_sequence *san = &crt->subject_alt_names; san && san->buf.p;
         san = san->next) {
        has_san = true;
        int type = SAN_TYPE(san->buf.tag);
        if (type == SAN_IP && san->buf.len == ip_len &&
            memcmp(san->buf.p, check->ip.ip, ip_len) == 0)
            return true;
        if (type == SAN_DNS && san->buf.len == host_len &&
            strncasecmp((const char *)san->buf.p, check->host, host_len) == 0)
            return true;
    }
    const mbedtls_x509_buf *cn = has_san ? NULL : cert_cn(crt);
    return cn && cn->len == host_len && strncasecmp((const char *)cn->p, check->host, host_len) == 0;
}

int portal_tls_client_verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    tls_peer_check *check = p;
    if (CONF_F_VRFY(check->conf)) {
        int ret = CONF_F_VRFY(check->conf)(CONF_P_VRFY(check->conf), crt, depth, flags);
        if (ret != 0)
            return ret;
    }
    if (!check->issuer_seen) {
        /* mbedTLS calls this from the top of the chain down: the first one is the top. */
        check->issuer_seen = true;
        if (mbedtls_x509_dn_gets(check->issuer, sizeof check->issuer, &crt->issuer) < 0)
            check->issuer[0] = '\0';
    }
    if (depth == 0) {
        cert_names(crt, check->names, sizeof check->names);
        if (check->host_is_ip) {
            if (cert_matches_ip(crt, check))
                *flags &= ~(uint32_t)MBEDTLS_X509_BADCERT_CN_MISMATCH;
            else
                *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
        }
    }
    check->flags |= *flags;
    return 0;
}

static void reason_add(char *buf, size_t size, const char *fmt, const char *a, const char *b)
{
    char part[320];
    snprintf(part, sizeof part, fmt, a, b);
    append(buf, size, "; ", part, strlen(part));
}

void portal_tls_client_verify_reason(const tls_peer_check *check, uint32_t flags, char *buf,
                                     size_t size)
{
    buf[0] = '\0';
    const char *host = check->host;
    uint32_t rest = flags;
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        reason_add(buf, size, "certificate for %s is not valid for host %s", check->names, host);
    if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
        reason_add(buf, size, "certificate of %s has expired%s", host, "");
    if (flags & MBEDTLS_X509_BADCERT_FUTURE)
        reason_add(buf, size, "certificate of %s is not yet valid%s", host, "");
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        reason_add(buf, size, "certificate of %s is not trusted (issuer: %s)", host,
                   check->issuer[0] ? check->issuer : "unknown");
    uint32_t usage = MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                     MBEDTLS_X509_BADCERT_NS_CERT_TYPE;
    if (flags & usage)
        reason_add(buf, size, "certificate of %s is not allowed for TLS servers (key usage)%s",
                   host, "");
    rest &= ~(uint32_t)(MBEDTLS_X509_BADCERT_CN_MISMATCH | MBEDTLS_X509_BADCERT_EXPIRED |
                        MBEDTLS_X509_BADCERT_FUTURE | MBEDTLS_X509_BADCERT_NOT_TRUSTED | usage);
    if (rest || !buf[0]) {
        char info[256];
        if (mbedtls_x509_crt_verify_info(info, sizeof info, "", rest) < 0 || !info[0])
            snprintf(info, sizeof info, "verification failed (flags 0x%x)", (unsigned)flags);
        for (char *q = info; *q; q++)
            if (*q == '\n')
                *q = q[1] ? ';' : '\0';
        reason_add(buf, size, "handshake failed: certificate of %s: %s", host, info);
    }
}
