/* tls_client_config.c - TLS client configs (tlsClientConfigCreate / tlsClientConfigFree, extension,
 * docs/extensions.md): trust anchors from the app's PEM or the host's default store, an optional
 * client certificate and key for mutual TLS, the ALPN list, and flags (no verification, no
 * resumption). The secure defaults, PEM parsing and reference counting are the server configs'
 * (tls_config.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

#include "../api/api.h"

#define ALPN_MAX_NAMES 8
#define ALPN_MAX_NAME_LEN 255

/* Splits "h2,http/1.1" into a NULL-terminated list (mbedtls_ssl_conf_alpn_protocols keeps the
 * pointers, so both arrays live as long as the config). */
static int32_t client_parse_alpn(portal_app *app, const char *who, tls_config *config,
                                 const uint8_t *alpn, uint32_t len)
{
    int names = 1;
    uint32_t start = 0;
    for (uint32_t i = 0; i <= len; i++) {
        if (i < len && alpn[i] != ',') {
            if (alpn[i] < 0x20 || alpn[i] > 0x7e)
                return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                                   "%s: bad ALPN list: byte 0x%02x at byte %u is not printable "
                                   "ASCII",
                                   who, alpn[i], (unsigned)i);
            continue;
        }
        if (i == start)
            return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                               "%s: bad ALPN list: empty protocol name at byte %u", who,
                               (unsigned)i);
        if (i - start > ALPN_MAX_NAME_LEN)
            return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                               "%s: bad ALPN list: protocol name at byte %u longer than %d bytes",
                               who, (unsigned)start, ALPN_MAX_NAME_LEN);
        if (i < len && ++names > ALPN_MAX_NAMES)
            return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                               "%s: bad ALPN list: more than %d protocols", who, ALPN_MAX_NAMES);
        start = i + 1;
    }
    config->alpn_names = malloc((size_t)len + 1);
    config->alpn = calloc((size_t)names + 1, sizeof *config->alpn);
    if (!config->alpn_names || !config->alpn)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
    memcpy(config->alpn_names, alpn, len);
    config->alpn_names[len] = '\0';
    int n = 0;
    config->alpn[n++] = config->alpn_names;
    for (char *p = config->alpn_names; *p; p++) {
        if (*p == ',') {
            *p = '\0';
            config->alpn[n++] = p + 1;
        }
    }
    config->alpn[n] = NULL;
    if (mbedtls_ssl_conf_alpn_protocols(&config->ssl_conf, config->alpn) != 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: bad ALPN list", who);
    return PORTAL_OK;
}

/* Trust anchors: the app's, else the host's default store. */
static int32_t client_set_trust(portal_app *app, const char *who, tls_config *config,
                                const uint8_t *ca_pem, uint32_t ca_len)
{
    if (config->flags & PORTAL_TLS_CLIENT_FLAG_NO_VERIFY) {
        mbedtls_ssl_conf_authmode(&config->ssl_conf, MBEDTLS_SSL_VERIFY_NONE);
        return PORTAL_OK;
    }
    mbedtls_ssl_conf_authmode(&config->ssl_conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    if (ca_len > 0) {
        int32_t rc = portal_tls_parse_certs(app, who, &config->client_ca, ca_pem, ca_len, "ca_pem");
        if (rc == PORTAL_OK)
            mbedtls_ssl_conf_ca_chain(&config->ssl_conf, &config->client_ca, NULL);
        return rc;
    }
    char why[200];
    if (portal_tls_trust_default_use(&config->ssl_conf, &config->default_trust, why,
                                     sizeof why) != PORTAL_OK)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", who, why);
    return PORTAL_OK;
}

int32_t portal_tls_client_config_create(portal_app *app, uint8_t *ca_pem, uint32_t ca_pem_len,
                                        uint8_t *cert_pem, uint32_t cert_pem_len,
                                        uint8_t *key_pem, uint32_t key_pem_len, uint8_t *alpn,
                                        uint32_t alpn_len, int32_t flags)
{
    static const char who[] = "tlsClientConfigCreate";
    uint32_t uflags = (uint32_t)flags;
    if (uflags & ~PORTAL_TLS_CLIENT_FLAGS_KNOWN)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: unknown flags 0x%x", who,
                           (unsigned)(uflags & ~PORTAL_TLS_CLIENT_FLAGS_KNOWN));
    if (cert_pem_len > 0 && key_pem_len == 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: cert_pem without key_pem", who);
    if (key_pem_len > 0 && cert_pem_len == 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: key_pem without cert_pem", who);

    portal_tls_state *state;
    tls_config *config = portal_tls_config_new(app, who, uflags, true, &state);
    if (!config)
        return app->last_error_code;
    int32_t rc = portal_tls_conf_defaults(app, who, state, &config->ssl_conf,
                                          MBEDTLS_SSL_IS_CLIENT);
    if (rc == PORTAL_OK && cert_pem_len > 0) {
        rc = portal_tls_parse_certs(app, who, &config->chain, cert_pem, cert_pem_len, "cert_pem");
        if (rc == PORTAL_OK)
            rc = portal_tls_parse_key(app, who, state, &config->key, key_pem, key_pem_len,
                                      "key_pem");
        if (rc == PORTAL_OK)
            rc = portal_tls_check_pair(app, who, state, &config->chain, &config->key,
                                       "client key does not match the certificate");
        if (rc == PORTAL_OK) {
            int ret = mbedtls_ssl_conf_own_cert(&config->ssl_conf, &config->chain, &config->key);
            if (ret != 0)
                rc = portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
        }
    }
    if (rc == PORTAL_OK && alpn_len > 0)
        rc = client_parse_alpn(app, who, config, alpn, alpn_len);
    if (rc == PORTAL_OK)
        rc = client_set_trust(app, who, config, ca_pem, ca_pem_len);
    if (rc == PORTAL_OK) {
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
        bool tickets = !(uflags & PORTAL_TLS_FLAG_NO_TICKETS);
        mbedtls_ssl_conf_session_tickets(&config->ssl_conf, tickets
                                                                ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                                : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
#if PORTAL_MBEDTLS_3 && defined(MBEDTLS_SSL_PROTO_TLS1_3) && MBEDTLS_VERSION_NUMBER >= 0x03060100
        /* TLS 1.3 tickets arrive after the handshake: mbedtls_ssl_read reports each one so the
         * session can be remembered (tlsRecv does). */
        mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(
            &config->ssl_conf, tickets ? MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED
                                       : MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_DISABLED);
#endif
#endif
    }
    if (rc != PORTAL_OK) {
        portal_tls_config_unref(config);
        return rc;
    }
    return portal_tls_config_publish(app, who, config);
}

int32_t portal_tls_client_config_free(portal_app *app, int32_t config_handle)
{
    tls_config *config =
        portal_handles_get(&app->handles, config_handle, PORTAL_HANDLE_TLS_CONFIG);
    if (!config || !config->client)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "tlsClientConfigFree: bad config handle %d", (int)config_handle);
    portal_handles_remove(&app->handles, config_handle);
    config->handle = 0;
    portal_tls_resume_wipe(config); /* sessions made from it keep working, but resume no more */
    portal_tls_config_unref(config);
    return PORTAL_OK;
}
