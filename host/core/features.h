/* features.h - apiFeatures() bits. Bits below 32 are upstream's and never move; this project's
 * extensions start at bit 32 (docs/extensions.md). */
#ifndef PORTAL_FEATURES_H
#define PORTAL_FEATURES_H

#include <stdint.h>

#define PORTAL_FEATURE_CORE (UINT64_C(1) << 0)
#define PORTAL_FEATURE_M5 (UINT64_C(1) << 1) /* timing and logging */
#define PORTAL_FEATURE_NET (UINT64_C(1) << 12)
#define PORTAL_FEATURE_SOCKET (UINT64_C(1) << 15)
#define PORTAL_FEATURE_FS (UINT64_C(1) << 16) /* portal_fs: portal-host's --sd directory */
#define PORTAL_FEATURE_SOCKET_TLS (UINT64_C(1) << 20)

/* Extensions. */
#define PORTAL_FEATURE_EXT_SOCKET_IPV6 (UINT64_C(1) << 32)  /* 28-byte IPv6 SocketAddr form */
#define PORTAL_FEATURE_EXT_TLS_SESSION_INFO (UINT64_C(1) << 33) /* tlsSessionInfo import */
#define PORTAL_FEATURE_EXT_TLS_NO_TICKETS (UINT64_C(1) << 34)   /* config flag bit 1 */
#define PORTAL_FEATURE_EXT_SOCKET_POLL (UINT64_C(1) << 35)      /* sockPoll import */
#define PORTAL_FEATURE_EXT_TLS_CLIENT (UINT64_C(1) << 36) /* tlsClientConfigCreate/Free, tlsConnect */

#define PORTAL_FEATURES_DESKTOP                                                                    \
    (PORTAL_FEATURE_CORE | PORTAL_FEATURE_M5 | PORTAL_FEATURE_NET | PORTAL_FEATURE_SOCKET |        \
     PORTAL_FEATURE_FS | PORTAL_FEATURE_SOCKET_TLS | PORTAL_FEATURE_EXT_SOCKET_IPV6 |              \
     PORTAL_FEATURE_EXT_TLS_SESSION_INFO | PORTAL_FEATURE_EXT_TLS_NO_TICKETS |                    \
     PORTAL_FEATURE_EXT_SOCKET_POLL | PORTAL_FEATURE_EXT_TLS_CLIENT)

#endif
