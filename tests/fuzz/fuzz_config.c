/* fuzz_config.c - libFuzzer target: tlsServerConfigCreate (PEM/DER parsing of certificate, key and
 * client CA, key/certificate match, defaults) with arbitrary inputs, then tlsServerConfigFree and
 * app teardown. Input layout: flags (1 byte), cert length (2 bytes LE), key length (2 bytes LE),
 * then cert, key, and the rest as client CA; lengths are clamped to what is there.
 * Flags byte: bits 0-1 are the config flags; bit 7 adds an unknown flag bit. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The config copies the app's bytes; give it exact-size heap copies so ASan sees any overread. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    if (n)
        memcpy(copy, p, n);
    return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    int32_t flags = data[0] & 0x3;
    if (data[0] & 0x80)
        flags |= 0x100;
    size_t cert_len = (size_t)data[1] | (size_t)data[2] << 8;
    size_t key_len = (size_t)data[3] | (size_t)data[4] << 8;
    data += 5;
    size -= 5;
    if (cert_len > size)
        cert_len = size;
    if (key_len > size - cert_len)
        key_len = size - cert_len;
    size_t ca_len = size - cert_len - key_len;
    uint8_t *cert = dup_exact(data, cert_len);
    uint8_t *key = dup_exact(data + cert_len, key_len);
    uint8_t *ca = dup_exact(data + cert_len + key_len, ca_len);

    portal_app app;
    if (!portal_app_init(&app, NULL))
        abort();
    int32_t h = portal_tls_server_config_create(&app, cert, (uint32_t)cert_len, key,
                                                (uint32_t)key_len, ca, (uint32_t)ca_len, flags);
    if (h > 0) {
        if (app.open_configs != 1)
            abort();
        /* A second free of the same handle is an error, not a double free. */
        if (portal_tls_server_config_free(&app, h) != PORTAL_OK)
            abort();
        if (portal_tls_server_config_free(&app, h) != PORTAL_ERR_INVALID_ARGUMENT)
            abort();
    } else {
        /* Failures are errors with a message, and create nothing. */
        if (h != app.last_error_code || h >= 0 || app.last_error_msg[0] == '\0')
            abort();
        if (app.open_configs != 0)
            abort();
    }
    portal_app_teardown(&app);
    free(cert);
    free(key);
    free(ca);
    return 0;
}
