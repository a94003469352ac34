/* tls_config.c - TLS server configs (tlsServerConfigCreate / tlsServerConfigFree) and the per-app
 * TLS state: argument checks in upstream order, PEM parsing with mbedTLS, the secure defaults every
 * config gets (server and client: tls_client_config.c builds on the same functions), per-config
 * session-ticket keys, reference counting, and wiping key material. */
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

const char *portal_tls_error_text(int mbedtls_ret, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    mbedtls_strerror(mbedtls_ret, buf, size);
    unsigned code = mbedtls_ret < 0 ? (unsigned)-mbedtls_ret : (unsigned)mbedtls_ret;
    size_t used = strlen(buf);
    if (used + 1 < size)
        snprintf(buf + used, size - used, " (-0x%04x)", code);
    return buf;
}

bool portal_tls_error_is_alloc(int mbedtls_ret)
{
    if (mbedtls_ret >= 0)
        return false;
    /* A code is a high-level part (0x1000-0x7F80) plus an optional low-level one (0x01-0x7F),
     * e.g. X509_INVALID_FORMAT + ASN1_ALLOC_FAILED; either part may be the allocation failure. */
    int high = -mbedtls_ret & 0x7F80, low = -mbedtls_ret & 0x7F;
    static const int high_alloc[] = {
        -MBEDTLS_ERR_SSL_ALLOC_FAILED,  -MBEDTLS_ERR_X509_ALLOC_FAILED,
        -MBEDTLS_ERR_PK_ALLOC_FAILED,   -MBEDTLS_ERR_PEM_ALLOC_FAILED,
        -MBEDTLS_ERR_ECP_ALLOC_FAILED,  -MBEDTLS_ERR_CIPHER_ALLOC_FAILED,
        -MBEDTLS_ERR_MD_ALLOC_FAILED,   -MBEDTLS_ERR_DHM_ALLOC_FAILED,
    };
    for (size_t i = 0; i < sizeof high_alloc / sizeof high_alloc[0]; i++)
        if (high == high_alloc[i])
            return true;
#if PORTAL_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
    if (mbedtls_ret == PSA_ERROR_INSUFFICIENT_MEMORY)
        return true;
#endif
    return low == -MBEDTLS_ERR_MPI_ALLOC_FAILED || low == -MBEDTLS_ERR_ASN1_ALLOC_FAILED;
}

/* ---- per-app state ---- */

/* The generator's entropy callback: mbedtls_entropy_func on the app's pool, keeping its result,
 * which CTR_DRBG replaces by its own "entropy source failed". */
static int tls_entropy_func(void *p_state, unsigned char *out, size_t len)
{
    portal_tls_state *state = p_state;
    state->entropy_ret = mbedtls_entropy_func(&state->entropy, out, len);
    return state->entropy_ret;
}

portal_tls_state *portal_tls_state_get(portal_app *app, const char *who)
{
    if (app->tls)
        return app->tls;
    portal_tls_state *state = calloc(1, sizeof *state);
    if (!state) {
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
        return NULL;
    }
    state->pending_capacity =
        app->limits.max_pending_handshakes > 0 ? app->limits.max_pending_handshakes : 1;
    state->pending = calloc((size_t)state->pending_capacity, sizeof *state->pending);
    if (!state->pending) {
        free(state);
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
        return NULL;
    }
    /* Process-wide, kept for good (tls_library.c); a no-op when the host or firmware did it. */
    int psa = portal_tls_library_init();
    if (psa != 0) {
        free(state->pending);
        free(state);
        portal_fail(
            app, PORTAL_ERR_INTERNAL, "%s: %s (psa_crypto_init: PSA status %d)", who,
            portal_tls_error_is_alloc(psa) ? "out of memory" : "crypto initialisation failed", psa);
        return NULL;
    }
    mbedtls_entropy_init(&state->entropy);
    mbedtls_ctr_drbg_init(&state->drbg);
    static const char personalization[] = "paper-portal tls server";
    state->entropy_ret = 0;
    int ret = mbedtls_ctr_drbg_seed(&state->drbg, tls_entropy_func, state,
                                    (const unsigned char *)personalization,
                                    sizeof personalization - 1);
    if (ret != 0) {
        char err[112];
        /* CTR_DRBG reports any entropy failure as "entropy source failed"; with mbedTLS 3.x the
         * entropy accumulator allocates its hash context on first use, so that may be an
         * allocation failure: the entropy function's own code tells. */
        bool out_of_memory =
            portal_tls_error_is_alloc(ret) || portal_tls_error_is_alloc(state->entropy_ret);
        int cause = portal_tls_error_is_alloc(state->entropy_ret) ? state->entropy_ret : ret;
        mbedtls_ctr_drbg_free(&state->drbg);
        mbedtls_entropy_free(&state->entropy);
        free(state->pending);
        free(state);
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %sseeding the random generator: %s", who,
                    out_of_memory ? "out of memory " : "failed ",
                    portal_tls_error_text(cause, err, sizeof err));
        return NULL;
    }
    /* The module's hooks (tls.h); the socket module first, so that teardown, which runs in
     * reverse order, ends sessions and handshakes before the listeners they came from. */
    if (!portal_app_use_module(app, &portal_socket_module) ||
        !portal_app_use_module(app, &portal_tls_module)) {
        mbedtls_ctr_drbg_free(&state->drbg);
        mbedtls_entropy_free(&state->entropy);
        free(state->pending);
        free(state);
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: too many host modules", who);
        return NULL;
    }
    portal_socket_set_poll_ext(&portal_tls_poll_ext);
    app->tls = state;
    return state;
}

void portal_tls_state_free(portal_app *app)
{
    portal_tls_state *state = app->tls;
    if (!state)
        return;
    free(state->pending);
    mbedtls_ctr_drbg_free(&state->drbg);
    mbedtls_entropy_free(&state->entropy);
    free(state);
    app->tls = NULL;
}

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
    if (config->alpn_names) {
        free(config->alpn_names);
        free(config->alpn);
    }
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

/* mbedTLS parses PEM only from a NUL-terminated buffer, which the app's bytes need not be, so the
 * input is copied with one NUL added. Input without a PEM header is handed over as DER (without
 * the NUL). The copy may hold a private key: callers wipe it with tls_input_free. */
typedef struct tls_input {
    unsigned char *bytes;
    size_t alloc_len;
    size_t parse_len;
} tls_input;

static bool tls_input_copy(tls_input *in, const uint8_t *src, uint32_t len)
{
    in->alloc_len = (size_t)len + 1;
    in->bytes = malloc(in->alloc_len);
    if (!in->bytes)
        return false;
    memcpy(in->bytes, src, len);
    in->bytes[len] = '\0';
    in->parse_len = strstr((const char *)in->bytes, "-----BEGIN ") ? in->alloc_len : len;
    return true;
}

static void tls_input_free(tls_input *in)
{
    if (in->bytes) {
        mbedtls_platform_zeroize(in->bytes, in->alloc_len);
        free(in->bytes);
    }
    in->bytes = NULL;
}

/* Given several PEM certificates, mbedtls_x509_crt_parse only counts the ones it could not parse
 * and drops why (an allocation failure would read as a bad PEM). So each certificate is handed
 * over on its own and the first failure returned with mbedTLS's code. As in mbedTLS, text between
 * certificates (other PEM blocks, comments) and a trailing header without its footer are skipped.
 * `in` is NUL-terminated and ours to modify (it is wiped afterwards). */
static int tls_parse_pem_certs(mbedtls_x509_crt *chain, tls_input *in)
{
    static const char end_marker[] = "-----END CERTIFICATE-----";
    char *block = (char *)in->bytes;
    int parsed = 0;
    for (char *end; (end = strstr(block, end_marker)) != NULL;) {
        char *next = end + sizeof end_marker - 1;
        char kept = *next;
        *next = '\0'; /* the block ends here for mbedTLS */
        if (strstr(block, "-----BEGIN CERTIFICATE-----")) {
            int ret = mbedtls_x509_crt_parse(chain, (const unsigned char *)block,
                                             (size_t)(next - block) + 1);
            if (ret != 0)
                return ret;
            parsed++;
        }
        *next = kept;
        block = next;
    }
    return parsed > 0 ? 0 : MBEDTLS_ERR_X509_CERT_UNKNOWN_FORMAT;
}

int32_t portal_tls_parse_certs(portal_app *app, const char *who, mbedtls_x509_crt *chain,
                               const uint8_t *pem, uint32_t len, const char *what)
{
    tls_input in;
    if (!tls_input_copy(&in, pem, len))
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory copying %s", who, what);
    /* The same test mbedtls_x509_crt_parse makes to take the PEM path. */
    bool pem_certs = strstr((const char *)in.bytes, "-----BEGIN CERTIFICATE-----") != NULL;
    int ret = pem_certs ? tls_parse_pem_certs(chain, &in)
                        : mbedtls_x509_crt_parse(chain, in.bytes, in.parse_len);
    tls_input_free(&in);
    char err[112];
    /* Out of memory is the host's failure (-2), not a bad PEM from the app (-1). */
    if (portal_tls_error_is_alloc(ret))
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory parsing %s: %s", who,
                           what, portal_tls_error_text(ret, err, sizeof err));
    if (ret < 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: %s: %s", who, what,
                           portal_tls_error_text(ret, err, sizeof err));
    if (ret > 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: %s: %d certificate(s) could not be parsed", who, what, ret);
    return PORTAL_OK;
}

int32_t portal_tls_parse_key(portal_app *app, const char *who, portal_tls_state *state,
                             mbedtls_pk_context *key, const uint8_t *pem, uint32_t len,
                             const char *what)
{
    tls_input in;
    if (!tls_input_copy(&in, pem, len))
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory copying %s", who, what);
#if PORTAL_MBEDTLS_3
    int ret = mbedtls_pk_parse_key(key, in.bytes, in.parse_len, NULL, 0, mbedtls_ctr_drbg_random,
                                   &state->drbg);
#else
    (void)state;
    int ret = mbedtls_pk_parse_key(key, in.bytes, in.parse_len, NULL, 0);
#endif
    tls_input_free(&in);
    char err[112];
    if (portal_tls_error_is_alloc(ret))
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory parsing %s: %s", who,
                           what, portal_tls_error_text(ret, err, sizeof err));
    if (ret != 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: %s: %s", who, what,
                           portal_tls_error_text(ret, err, sizeof err));
    if (!mbedtls_pk_can_do(key, MBEDTLS_PK_RSA) && !mbedtls_pk_can_do(key, MBEDTLS_PK_ECDSA))
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "%s: %s: key type %s not supported (RSA or ECDSA only)", who, what,
                           mbedtls_pk_get_name(key));
    return PORTAL_OK;
}

int32_t portal_tls_check_pair(portal_app *app, const char *who, portal_tls_state *state,
                              mbedtls_x509_crt *cert, mbedtls_pk_context *key,
                              const char *mismatch)
{
#if PORTAL_MBEDTLS_3
    int ret = mbedtls_pk_check_pair(&cert->pk, key, mbedtls_ctr_drbg_random, &state->drbg);
#else
    (void)state;
    int ret = mbedtls_pk_check_pair(&cert->pk, key);
#endif
    char err[112];
    if (portal_tls_error_is_alloc(ret)) /* not "does not match": the check could not run */
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory checking the key pair: %s",
                           who, portal_tls_error_text(ret, err, sizeof err));
    if (ret != 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s: %s: %s", who, mismatch,
                           portal_tls_error_text(ret, err, sizeof err));
    return PORTAL_OK;
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
        config->tickets_enabled = true;
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
    if (app->open_configs >= app->limits.max_tls_configs)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: too many configs (limit %d)", who,
                           app->limits.max_tls_configs);

    portal_tls_state *state = portal_tls_state_get(app, who);
    if (!state)
        return app->last_error_code;
    tls_config *config = portal_tls_config_new(state, uflags, false);
    if (!config)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);

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

tls_config *portal_tls_config_new(portal_tls_state *state, uint32_t flags, bool client)
{
    tls_config *config = calloc(1, sizeof *config);
    if (!config)
        return NULL;
    config->refs = 1;
    config->flags = flags;
    config->client = client;
    config->owner = state;
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
    app->open_configs++;
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
    app->open_configs--;
    config->handle = 0;
    /* Handshakes still pending for this config could never be handed out; established sessions
     * hold their own reference and keep working. */
    portal_tls_engine_drop_config(app, config);
    portal_tls_config_unref(config);
    return PORTAL_OK;
}
