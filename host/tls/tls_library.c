/* tls_library.c - the process-wide part of mbedTLS the host depends on: with mbedTLS 3.x, PSA
 * crypto (TLS 1.3 runs its key exchange and key schedule through it). Its state belongs to the
 * process, not to an app: it is initialised once, here or by whoever came first (on the device
 * esp-tls may have done it already; psa_crypto_init is then a no-op), and the host never frees it
 * (mbedtls_psa_crypto_free would pull it from under every other user: esp-tls, the firmware). */
#include "tls_internal.h" /* first: it decides which mbedTLS generation we build against */

#include "tls.h"

#if PORTAL_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

int portal_tls_library_init(void)
{
#if PORTAL_MBEDTLS_3 && defined(MBEDTLS_PSA_CRYPTO_C)
    static bool done;
    if (done)
        return 0;
    psa_status_t status = psa_crypto_init();
    if (status != PSA_SUCCESS)
        return (int)status;
    /* PSA's key store (3.6: MBEDTLS_PSA_KEY_STORE_DYNAMIC) allocates its first block of 16 key
     * slots when the first key is made, the first TLS 1.3 handshake's key exchange, and keeps it
     * like the rest of its state: one short-lived key made here makes that happen now, so
     * everything PSA keeps for the process is in place when this returns. (More blocks come only
     * while more than 16 keys exist at once, and are kept too.) */
    static const uint8_t throwaway[16];
    psa_key_attributes_t attributes = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&attributes, PSA_KEY_TYPE_RAW_DATA);
    mbedtls_svc_key_id_t key;
    status = psa_import_key(&attributes, throwaway, sizeof throwaway, &key);
    if (status == PSA_SUCCESS)
        status = psa_destroy_key(key);
    psa_reset_key_attributes(&attributes);
    if (status != PSA_SUCCESS)
        return (int)status;
    done = true;
    return 0;
#else
    return 0;
#endif
}
