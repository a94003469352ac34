/* tls_version.c - names the TLS library this host was built with and the protocol versions it
 * speaks, for `portal-host --version` and for hints to clients that offer only what it lacks. */
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>

#include "tls.h"

const char *portal_tls_library_version(void)
{
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
    return "mbedTLS " MBEDTLS_VERSION_STRING " (TLS 1.2 and 1.3)";
#else
    return "mbedTLS " MBEDTLS_VERSION_STRING " (TLS 1.2 only: this mbedTLS has no TLS 1.3 server)";
#endif
}
