/* tls_error.c - mbedTLS result codes as text for the app's error messages and logs, and the test
 * that tells an allocation failure (the app gets -2 "out of memory") from a bad input (-1). */
#include <stdio.h>
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
#if PORTAL_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
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
