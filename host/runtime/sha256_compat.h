/* sha256_compat.h - mbedTLS's one-shot SHA-256 calls under one name for 2.28 (the *_ret forms)
 * and 3.x (which dropped the suffix). */
#ifndef PORTAL_SHA256_COMPAT_H
#define PORTAL_SHA256_COMPAT_H

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define SHA256_STARTS mbedtls_sha256_starts
#define SHA256_UPDATE mbedtls_sha256_update
#define SHA256_FINISH mbedtls_sha256_finish
#else
#define SHA256_STARTS mbedtls_sha256_starts_ret
#define SHA256_UPDATE mbedtls_sha256_update_ret
#define SHA256_FINISH mbedtls_sha256_finish_ret
#endif

#endif
