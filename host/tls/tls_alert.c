/* tls_alert.c - the fatal alert a failed handshake ends with. mbedTLS sends one for many failures
 * (no shared cipher, an unsupported version) but ends others silently (a malformed ClientHello,
 * a missing client certificate in 2.28), and the client then sees a bare EOF. When the library
 * sent none, the host picks the alert the RFCs name for the error and sends it before closing, so
 * the client learns why. Nothing is sent when the peer closed, reset or alerted first. */
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509.h>

#include "tls_internal.h"

/* The type of the last record mbedTLS wrote on this context (a private field in 3.x). */
#if PORTAL_MBEDTLS_3
#define PORTAL_TLS_SSL_OUT_MSGTYPE(ssl) ((ssl)->MBEDTLS_PRIVATE(out_msgtype))
#else
#define PORTAL_TLS_SSL_OUT_MSGTYPE(ssl) ((ssl)->out_msgtype)
#endif

/* The client certificate was checked and refused: say which way. */
static int alert_for_verify_flags(uint32_t flags)
{
    if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
        return MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED;
    if (flags & MBEDTLS_X509_BADCERT_REVOKED)
        return MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED;
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA;
    return MBEDTLS_SSL_ALERT_MSG_BAD_CERT;
}

int portal_tls_alert_for_failure(const mbedtls_ssl_context *ssl, int ret)
{
    switch (ret) {
    case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
        /* TLS 1.3 has an alert of its own (RFC 8446 4.4.2.4); TLS 1.2 says handshake_failure
         * (RFC 5246 7.4.6). */
#if defined(MBEDTLS_SSL_PROTO_TLS1_3) && defined(MBEDTLS_SSL_ALERT_MSG_CERT_REQUIRED)
        if (mbedtls_ssl_get_version_number(ssl) == MBEDTLS_SSL_VERSION_TLS1_3)
            return MBEDTLS_SSL_ALERT_MSG_CERT_REQUIRED;
#endif
        return MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE;
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
        return alert_for_verify_flags(mbedtls_ssl_get_verify_result(ssl));
#if PORTAL_MBEDTLS_3
    case MBEDTLS_ERR_SSL_DECODE_ERROR:
        return MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR;
    case MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER:
        return MBEDTLS_SSL_ALERT_MSG_ILLEGAL_PARAMETER;
    case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION:
        return MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION;
    case MBEDTLS_ERR_SSL_HANDSHAKE_FAILURE:
        return MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE;
    case MBEDTLS_ERR_SSL_BAD_CERTIFICATE:
        return MBEDTLS_SSL_ALERT_MSG_BAD_CERT;
#else
    case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO:
    case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_KEY_EXCHANGE:
    case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_KEY_EXCHANGE_RP:
    case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_KEY_EXCHANGE_CS:
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE:
    case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE_VERIFY:
    case MBEDTLS_ERR_SSL_BAD_HS_CHANGE_CIPHER_SPEC:
    case MBEDTLS_ERR_SSL_BAD_HS_FINISHED:
        return MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR;
    case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
        return MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION;
    case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
    case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
        return MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE;
#endif
    case MBEDTLS_ERR_SSL_INVALID_MAC:
        return MBEDTLS_SSL_ALERT_MSG_BAD_RECORD_MAC;
    case MBEDTLS_ERR_SSL_INVALID_RECORD:
        return MBEDTLS_SSL_ALERT_MSG_DECODE_ERROR;
    case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE:
        return MBEDTLS_SSL_ALERT_MSG_UNEXPECTED_MESSAGE;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
    case MBEDTLS_ERR_SSL_INTERNAL_ERROR:
        return MBEDTLS_SSL_ALERT_MSG_INTERNAL_ERROR;
    default:
        return MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE;
    }
}

void portal_tls_conn_send_failure_alert(tls_conn *conn, int ret)
{
    bool peer_ended = ret == MBEDTLS_ERR_SSL_CONN_EOF || ret == MBEDTLS_ERR_NET_CONN_RESET ||
                      ret == MBEDTLS_ERR_NET_SEND_FAILED || ret == MBEDTLS_ERR_NET_RECV_FAILED ||
                      ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ||
                      ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || conn->io_status != 0;
    if (peer_ended || PORTAL_TLS_SSL_OUT_MSGTYPE(&conn->ssl) == MBEDTLS_SSL_MSG_ALERT)
        return;
#if PORTAL_MBEDTLS_3 && defined(MBEDTLS_SSL_PROTO_TLS1_3)
    /* TLS 1.3 protects the handshake, and mbedTLS 3.x switches the server's records to the
     * application keys before the client's certificate is checked, while the client still reads
     * with others: an alert sent then reaches it as a bad record MAC, which says less than the
     * EOF it replaces. Only a plaintext alert (before any keys) is sure to be read. */
    if (mbedtls_ssl_get_version_number(&conn->ssl) == MBEDTLS_SSL_VERSION_TLS1_3 &&
        conn->ssl.MBEDTLS_PRIVATE(transform_out) != NULL)
        return;
#endif
    /* Before a version was agreed, mbedTLS would write the record with version 0.0, which clients
     * refuse as a record; 3.3 (TLS 1.2's, and what TLS 1.3 records carry) is what they expect. */
#if PORTAL_MBEDTLS_3
    if (conn->ssl.MBEDTLS_PRIVATE(tls_version) == MBEDTLS_SSL_VERSION_UNKNOWN)
        conn->ssl.MBEDTLS_PRIVATE(tls_version) = MBEDTLS_SSL_VERSION_TLS1_2;
#else
    if (conn->ssl.major_ver == 0) {
        conn->ssl.major_ver = MBEDTLS_SSL_MAJOR_VERSION_3;
        conn->ssl.minor_ver = MBEDTLS_SSL_MINOR_VERSION_3;
    }
#endif
    /* One attempt, never waiting: a new connection's send buffer is empty, so the 7-byte record
     * goes out; a peer that does not read gets no say in how long the host spends on it. */
    (void)mbedtls_ssl_send_alert_message(
        &conn->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
        (unsigned char)portal_tls_alert_for_failure(&conn->ssl, ret));
}
