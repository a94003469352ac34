/* tls_pem.c - certificates and private keys from the app's PEM (or DER) bytes, for server and
 * client configs: copying them NUL-terminated for mbedTLS, parsing, the key-type and key-pair
 * checks, wiping the copies, and the -1 / -2 messages that name the argument. */
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h" /* first: it decides which mbedTLS generation we build against */

#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>

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
