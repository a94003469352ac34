/* portal.h - C SDK for Paper Portal apps: module `portal` (version, features, last error, clocks,
 * app control) and the error codes. Build apps with clang --target=wasm32-wasi
 * -mexec-model=reactor and link sdk/c/portal_sdk.c (it provides _start and the required exports). */
#ifndef PORTAL_SDK_PORTAL_H
#define PORTAL_SDK_PORTAL_H

#include <stdint.h>

#define PORTAL_IMPORT(module, name) __attribute__((import_module(#module), import_name(#name)))

/* Error codes every import returns (negative values). */
enum {
    PP_OK = 0,
    PP_ERR_INVALID_ARGUMENT = -1,
    PP_ERR_INTERNAL = -2,
    PP_ERR_NOT_READY = -3,
    PP_ERR_NOT_FOUND = -4,
};

/* apiFeatures() bits. */
#define PP_FEATURE_CORE (UINT64_C(1) << 0)
#define PP_FEATURE_M5 (UINT64_C(1) << 1)
#define PP_FEATURE_NET (UINT64_C(1) << 12)
#define PP_FEATURE_SOCKET (UINT64_C(1) << 15)
#define PP_FEATURE_FS (UINT64_C(1) << 16)
#define PP_FEATURE_SOCKET_TLS (UINT64_C(1) << 20)
#define PP_FEATURE_EXT_SOCKET_IPV6 (UINT64_C(1) << 32)
#define PP_FEATURE_EXT_TLS_SESSION_INFO (UINT64_C(1) << 33)
#define PP_FEATURE_EXT_TLS_NO_TICKETS (UINT64_C(1) << 34)
#define PP_FEATURE_EXT_SOCKET_POLL (UINT64_C(1) << 35)
#define PP_FEATURE_EXT_TLS_CLIENT (UINT64_C(1) << 36)

PORTAL_IMPORT(portal, apiVersion) int32_t apiVersion(void);
PORTAL_IMPORT(portal, apiFeatures) int64_t apiFeatures(void);
PORTAL_IMPORT(portal, lastErrorCode) int32_t lastErrorCode(void);
PORTAL_IMPORT(portal, lastErrorMessage) int32_t lastErrorMessage(char *out, uint32_t out_len);
PORTAL_IMPORT(portal, heapCheck) int32_t heapCheck(const char *label, int32_t print_errors);
PORTAL_IMPORT(portal, heapLog) void heapLog(const char *label);
PORTAL_IMPORT(portal, openApp) int32_t openApp(const char *app_id, const char *arguments);
PORTAL_IMPORT(portal, exitApp) int32_t exitApp(void);
PORTAL_IMPORT(portal, begin) int32_t begin(void);
PORTAL_IMPORT(portal, delayMs) int32_t delayMs(int32_t ms);
PORTAL_IMPORT(portal, millis) int32_t millis(void);
PORTAL_IMPORT(portal, micros) int64_t micros(void);
PORTAL_IMPORT(portal, board) int32_t board(void);

/* Name of an error code ("invalid argument", ...). */
static inline const char *pp_error_name(int32_t code)
{
    switch (code) {
    case PP_OK: return "ok";
    case PP_ERR_INVALID_ARGUMENT: return "invalid argument";
    case PP_ERR_INTERNAL: return "internal error";
    case PP_ERR_NOT_READY: return "not ready";
    case PP_ERR_NOT_FOUND: return "not found";
    default: return code >= 0 ? "ok" : "unknown error";
    }
}

/* The last error message as a static string (valid until the next call). */
static inline const char *pp_last_error(void)
{
    static char buf[128];
    lastErrorMessage(buf, sizeof buf);
    return buf;
}

static inline int pp_has_features(uint64_t bits)
{
    return ((uint64_t)apiFeatures() & bits) == bits;
}

#endif
