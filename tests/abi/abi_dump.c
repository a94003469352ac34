/* abi_dump.c - prints the ABI facts the host defines, one per line, for test_abi_drift.sh to
 * compare with the SDKs and the docs:
 *   import MODULE NAME WASM_TYPE WAMR_SIGNATURE   every row of portal_imports[] (host/api)
 *   feature NAME VALUE                            host/core/features.h (VALUE in decimal)
 *   error NAME VALUE                              the error-code enum of host/core/app.h
 * The feature and error lists below are written out by hand; the test checks them against the
 * names #defined/declared in those headers, so a new bit or code cannot be left out here. */
#include <inttypes.h>
#include <stdio.h>

#include "api/api.h"
#include "core/app.h"
#include "core/features.h"

#define FEATURE(name) {#name, name}
static const struct {
    const char *name;
    uint64_t value;
} features[] = {
    FEATURE(PORTAL_FEATURE_CORE),
    FEATURE(PORTAL_FEATURE_M5),
    FEATURE(PORTAL_FEATURE_NET),
    FEATURE(PORTAL_FEATURE_SOCKET),
    FEATURE(PORTAL_FEATURE_FS),
    FEATURE(PORTAL_FEATURE_SOCKET_TLS),
    FEATURE(PORTAL_FEATURE_EXT_SOCKET_IPV6),
    FEATURE(PORTAL_FEATURE_EXT_TLS_SESSION_INFO),
    FEATURE(PORTAL_FEATURE_EXT_TLS_NO_TICKETS),
    FEATURE(PORTAL_FEATURE_EXT_SOCKET_POLL),
    FEATURE(PORTAL_FEATURE_EXT_TLS_CLIENT),
    FEATURE(PORTAL_FEATURES_DESKTOP),
};

#define ERROR_CODE(name) {#name, name}
static const struct {
    const char *name;
    int32_t value;
} errors[] = {
    ERROR_CODE(PORTAL_OK),
    ERROR_CODE(PORTAL_ERR_INVALID_ARGUMENT),
    ERROR_CODE(PORTAL_ERR_INTERNAL),
    ERROR_CODE(PORTAL_ERR_NOT_READY),
    ERROR_CODE(PORTAL_ERR_NOT_FOUND),
};

int main(void)
{
    for (size_t i = 0; i < portal_imports_count; i++) {
        const portal_import_desc *d = &portal_imports[i];
        printf("import %s %s %s %s\n", d->module, d->name, d->wasm_type, d->signature);
    }
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        printf("feature %s %" PRIu64 "\n", features[i].name, features[i].value);
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        printf("error %s %" PRId32 "\n", errors[i].name, errors[i].value);
    return 0;
}
