/* tls_config.c - TLS configs: the server imports (tlsServerConfigCreate / tlsServerConfigFree,
 * argument checks in upstream order), the secure defaults every config gets (server and client:
 * tls_client_config.c builds on the same functions), per-config session-ticket keys, the config
 * handle's life (reference counting, lookup by kind) and wiping key material. PEM parsing is
 * tls_pem.c; the per-app random generator tls_state.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h" /* first: it decides which mbedTLS generation we build against */

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/cipher.h>
#include <mbedtls/dhm.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl_ciphersuites.h>
#if PORTAL_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "../api/api.h"
#include "../socket/socket.h"
#include "tls.h"

/* mbedTLS 2.x can be built with DEFLATE record compression, which has no run-time switch; a
 * compressing TLS layer leaks secrets (CRIME), so such a build is refused outright. */
#if !PORTAL_MBEDTLS_3 && defined(MBEDTLS_ZLIB_SUPPORT)
#error "mbedTLS built with MBEDTLS_ZLIB_SUPPORT: TLS compression must be off"
#endif

/* AEAD-only, forward-secret suites, server preference order (mbedTLS picks the first one the
 * client also offers). Suites this mbedTLS build lacks are skipped by mbedTLS itself. */
static const int tls_ciphersuites[] = {
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
    MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
    MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256,
#endif
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    0,
};

/* Key-exchange groups: X25519 and the two NIST curves every client has; no small or exotic
 * curves (the mbedTLS default is "everything compiled in"). */
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
static const uint16_t tls_groups[] = {
    MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
    MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
    MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1,
    MBEDTLS_SSL_IANA_TLS_GROUP_NONE,
};
#elif defined(MBEDTLS_ECP_C)
static const mbedtls_ecp_group_id tls_curves[] = {
#if defined(MBEDTLS_ECP_DP_CURVE25519_ENABLED)
    MBEDTLS_ECP_DP_CURVE25519,
#endif
    MBEDTLS_ECP_DP_SECP256R1,
    MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_NONE,
};
#endif

/* ---- configs ---- */

/* Session-ticket callbacks: plain mbedtls_ssl_ticket_* on the config's own keys, plus a note that
 * the handshake being stepped resumed a session (no public mbedTLS query tells that afterwards). */
#if defined(MBEDTLS_SSL_TICKET_C) && defined(MBEDTLS_SSL_SESSION_TICKETS)
static int tls_ticket_write(void *p_config, const mbedtls_ssl_session *session,
                            unsigned char *start, const unsigned char *end, size_t *tlen,
                            uint32_t *lifetime)
{
    tls_config *config = p_config;
    return mbedtls_ssl_ticket_write(&config->tickets, session, start, end, tlen, lifetime);
}

static int tls_ticket_parse(void *p_config, mbedtls_ssl_session *session, unsigned char *buf,
                            size_t len)
{
    tls_config *config = p_config;
    int ret = mbedtls_ssl_ticket_parse(&config->tickets, session, buf, len);
    if (ret == 0 && config->stepping)
        config->stepping->resumed = true;
    return ret;
}
#define PORTAL_TLS_HAVE_TICKETS 1
#else
#define PORTAL_TLS_HAVE_TICKETS 0
#endif

static void tls_config_destroy(tls_config *config)
{
    portal_tls_resume_wipe(config);
    portal_tls_trust_release(config->default_trust);
    free(config->alpn_names);
    free(config->alpn);
    mbedtls_ssl_config_free(&config->ssl_conf);
#if PORTAL_TLS_HAVE_TICKETS
    mbedtls_ssl_ticket_free(&config->tickets); /* wipes the ticket keys */
#endif
    mbedtls_x509_crt_free(&config->chain);
    mbedtls_x509_crt_free(&config->client_ca);
    mbedtls_pk_free(&config->key); /* wipes the private key */
    mbedtls_platform_zeroize(config, sizeof *config);
    free(config);
}

void portal_tls_config_handshake_failed(tls_config *config, int mbedtls_ret)
{
    (void)mbedtls_ret; /* not consulted: see below */
#if defined(MBEDTLS_RSA_C)
    /* mbedTLS keeps RSA blinding values (Vi, Vf) in the key and, before every private-key
     * operation, squares Vi and then Vf in place (the first time it draws Vf, then derives Vi).
     * An allocation failure in between leaves the two out of step; mbedTLS does not notice, and
     * from then on every signature is wrong: one transient out-of-memory would make the config
     * refuse clients for good. With the pair emptied, mbedTLS draws a fresh one on the next use.
     * The error that reaches us does not say whether that happened: under TLS 1.3 mbedTLS 3.x
     * swallows a failed CertificateVerify signature and tries the next algorithm, and RSA-PSS has
     * no verify-after-sign, so neither an allocation error nor RSA_VERIFY_FAILED need ever show.
     * Hence after every failed handshake on an RSA config; the cost is one fresh blinding pair
     * (a modular inversion) on the next signature. Handshakes are stepped one at a time on one
     * thread, so no signature is under way while the values are dropped. */
    if (mbedtls_pk_get_type(&config->key) != MBEDTLS_PK_RSA)
        return;
    mbedtls_rsa_context *rsa = mbedtls_pk_rsa(config->key);
#if PORTAL_MBEDTLS_3
    mbedtls_mpi_free(&rsa->MBEDTLS_PRIVATE(Vi));
    mbedtls_mpi_free(&rsa->MBEDTLS_PRIVATE(Vf));
#else
    mbedtls_mpi_free(&rsa->Vi);
    mbedtls_mpi_free(&rsa->Vf);
#endif
#else
    (void)config;
#endif
}

void portal_tls_config_ref(tls_config *config)
{
    config->refs++;
}

void portal_tls_config_unref(tls_config *config)
{
    if (config && --config->refs == 0)
        tls_config_destroy(config);
}

/* The fixed, reviewed settings every config, server or client, gets. */
int32_t portal_tls_conf_defaults(portal_app *app, const char *who, portal_tls_state *state,
                                 mbedtls_ssl_config *conf, int endpoint)
{
    char err[112];
    int ret = mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: mbedtls_ssl_config_defaults: %s", who,
                           portal_tls_error_text(ret, err, sizeof err));
    mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &state->drbg);

    /* TLS 1.2 minimum; 1.3 too where this mbedTLS build has it. */
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
    mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_3);
#else
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
#endif
#else
    mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#if !PORTAL_MBEDTLS_3
    /* 2.28's experimental TLS 1.3 is neither a server nor a usable client; stay on 1.2. */
    mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#endif
    mbedtls_ssl_conf_ciphersuites(conf, tls_ciphersuites);
#if MBEDTLS_VERSION_NUMBER >= 0x03010000
    mbedtls_ssl_conf_groups(conf, tls_groups);
#elif defined(MBEDTLS_ECP_C)
    mbedtls_ssl_conf_curves(conf, tls_curves);
#endif
    /* No renegotiation at all (legacy renegotiation is refused by mbedTLS's default too). */
#if defined(MBEDTLS_SSL_RENEGOTIATION)
    mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
#endif
    return PORTAL_OK;
}

/* The server's own settings on top of the defaults: certificate, client authentication, tickets. */
static int32_t tls_config_apply_server(portal_app *app, portal_tls_state *state,
                                       tls_config *config)
{
    static const char who[] = "tlsServerConfigCreate";
    mbedtls_ssl_config *conf = &config->ssl_conf;
    char err[112];
    int32_t rc = portal_tls_conf_defaults(app, who, state, conf, MBEDTLS_SSL_IS_SERVER);
    if (rc != PORTAL_OK)
        return rc;
    int ret = mbedtls_ssl_conf_own_cert(conf, &config->chain, &config->key);
    if (ret != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: mbedtls_ssl_conf_own_cert: %s", who,
                           portal_tls_error_text(ret, err, sizeof err));

    if (config->flags & PORTAL_TLS_FLAG_REQUIRE_CLIENT_CERT) {
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(conf, &config->client_ca, NULL);
    } else {
        mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_NONE);
    }

#if PORTAL_TLS_HAVE_TICKETS
    if (!(config->flags & PORTAL_TLS_FLAG_NO_TICKETS)) {
        /* Per-config keys: a ticket from one config (say, without client certificates) can never
         * resume a session on another. */
        ret = mbedtls_ssl_ticket_setup(&config->tickets, mbedtls_ctr_drbg_random, &state->drbg,
                                       MBEDTLS_CIPHER_AES_256_GCM, PORTAL_TLS_TICKET_LIFETIME_S);
        if (ret != 0)
            return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: mbedtls_ssl_ticket_setup: %s", who,
                               portal_tls_error_text(ret, err, sizeof err));
        mbedtls_ssl_conf_session_tickets_cb(conf, tls_ticket_write, tls_ticket_parse, config);
    }
#endif
    return PORTAL_OK;
}

int32_t portal_tls_server_config_create(portal_app *app, uint8_t *cert_pem, uint32_t cert_pem_len,
                                        uint8_t *key_pem, uint32_t key_pem_len,
                                        uint8_t *client_ca_pem, uint32_t client_ca_pem_len,
                                        int32_t flags)
{
    static const char who[] = "tlsServerConfigCreate";
    uint32_t uflags = (uint32_t)flags;
    /* Checks in upstream order (docs/spec-socket-tls.md); "absent" = length 0 (docs/abi.md). */
    if (uflags & ~PORTAL_TLS_FLAGS_KNOWN)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: unknown flag bits 0x%x", who,
                           (unsigned)(uflags & ~PORTAL_TLS_FLAGS_KNOWN));
    if (cert_pem_len == 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: missing server_cert_pem", who);
    if (key_pem_len == 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: missing server_key_pem", who);
    bool require_client_cert = (uflags & PORTAL_TLS_FLAG_REQUIRE_CLIENT_CERT) != 0;
    if (require_client_cert && client_ca_pem_len == 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: require_client_cert flag set but client_ca_pem missing", who);
    if (!require_client_cert && client_ca_pem_len != 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: client_ca_pem provided but require_client_cert flag not set", who);

    portal_tls_state *state;
    tls_config *config = portal_tls_config_new(app, who, uflags, false, &state);
    if (!config)
        return app->last_error_code;

    int32_t rc = portal_tls_parse_certs(app, who, &config->chain, cert_pem, cert_pem_len,
                                        "server_cert_pem");
    if (rc == PORTAL_OK)
        rc = portal_tls_parse_key(app, who, state, &config->key, key_pem, key_pem_len,
                                  "server_key_pem");
    if (rc == PORTAL_OK)
        rc = portal_tls_check_pair(app, who, state, &config->chain, &config->key,
                                   "server_key_pem does not match server_cert_pem");
    if (rc == PORTAL_OK && require_client_cert)
        rc = portal_tls_parse_certs(app, who, &config->client_ca, client_ca_pem,
                                    client_ca_pem_len, "client_ca_pem");
    if (rc == PORTAL_OK)
        rc = tls_config_apply_server(app, state, config);
    if (rc != PORTAL_OK) {
        tls_config_destroy(config);
        return rc;
    }
    return portal_tls_config_publish(app, who, config);
}

tls_config *portal_tls_config_new(portal_app *app, const char *who, uint32_t flags, bool client,
                                  portal_tls_state **state_out)
{
    if (portal_tls_open_configs(app) >= app->limits.max_tls_configs) {
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: too many configs (limit %d)", who,
                    app->limits.max_tls_configs);
        return NULL;
    }
    *state_out = portal_tls_state_get(app, who);
    if (!*state_out)
        return NULL;
    tls_config *config = calloc(1, sizeof *config);
    if (!config) {
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
        return NULL;
    }
    config->refs = 1;
    config->flags = flags;
    config->client = client;
    mbedtls_ssl_config_init(&config->ssl_conf);
    mbedtls_x509_crt_init(&config->chain);
    mbedtls_x509_crt_init(&config->client_ca);
    mbedtls_pk_init(&config->key);
#if PORTAL_TLS_HAVE_TICKETS
    mbedtls_ssl_ticket_init(&config->tickets);
#endif
    return config;
}

int32_t portal_tls_config_publish(portal_app *app, const char *who, tls_config *config)
{
    int32_t handle = portal_handles_add(&app->handles, PORTAL_HANDLE_TLS_CONFIG, config);
    if (handle == 0) {
        tls_config_destroy(config);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: handle table full", who);
    }
    config->handle = handle;
    return handle;
}

tls_config *portal_tls_config_lookup(portal_app *app, int32_t handle, bool client,
                                     const char *who)
{
    tls_config *config = portal_handles_get(&app->handles, handle, PORTAL_HANDLE_TLS_CONFIG);
    if (config && config->client == client)
        return config;
    if (config)
        portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: %d is a %s config", who, (int)handle,
                    config->client ? "client" : "server");
    else
        portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: bad config handle %d", who,
                    (int)handle);
    return NULL;
}

int32_t portal_tls_server_config_free(portal_app *app, int32_t config_handle)
{
    tls_config *config =
        portal_handles_get(&app->handles, config_handle, PORTAL_HANDLE_TLS_CONFIG);
    if (!config)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "tlsServerConfigFree: bad handle %d",
                           (int)config_handle);
    if (config->client)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "tlsServerConfigFree: %d is a client config", (int)config_handle);
    portal_handles_remove(&app->handles, config_handle);
    config->handle = 0;
    /* Handshakes still pending for this config could never be handed out; established sessions
     * hold their own reference and keep working. */
    portal_tls_engine_drop_config(app, config);
    portal_tls_config_unref(config);
    return PORTAL_OK;
}
