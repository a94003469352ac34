/* fuzz_config.c - libFuzzer target: tlsServerConfigCreate (PEM/DER parsing of certificate, key and
 * client CA, key/certificate match, defaults) and tlsClientConfigCreate (the same for trust anchors,
 * client certificate and key, plus the ALPN list) with arbitrary inputs, then the matching free
 * and app teardown. Input layout: flags (1 byte), cert length (2 bytes LE), key length (2 bytes
 * LE), then cert, key, and the rest as client CA (server) or CA (client); lengths are clamped to
 * what is there. Flags byte: bits 0-1 are the config flags; bit 7 adds an unknown flag bit; bit 6
 * makes it a client config, and then the first byte after the lengths is the ALPN list's length
 * and that many bytes follow as the list. */
#include <stdbool.h>
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
    /* A client config without ca_pem loads the host's default trust store: a file that is not
     * there here, so the "no default trust store" path is what gets exercised, and each run does
     * not parse the system's bundle. */
    setenv("SSL_CERT_FILE", "/nonexistent/fuzz-ca.pem", 0);
    if (size < 5)
        return 0;
    int32_t flags = data[0] & 0x3;
    if (data[0] & 0x80)
        flags |= 0x100;
    bool client = (data[0] & 0x40) != 0;
    size_t cert_len = (size_t)data[1] | (size_t)data[2] << 8;
    size_t key_len = (size_t)data[3] | (size_t)data[4] << 8;
    data += 5;
    size -= 5;
    size_t alpn_len = 0;
    uint8_t *alpn = NULL;
    if (client && size > 0) {
        alpn_len = data[0] < size - 1 ? data[0] : size - 1;
        alpn = dup_exact(data + 1, alpn_len);
        data += 1 + alpn_len;
        size -= 1 + alpn_len;
    }
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
    int32_t h = client ? portal_tls_client_config_create(&app, ca, (uint32_t)ca_len, cert,
                                                         (uint32_t)cert_len, key, (uint32_t)key_len,
                                                         alpn ? alpn : ca, (uint32_t)alpn_len,
                                                         flags)
                       : portal_tls_server_config_create(&app, cert, (uint32_t)cert_len, key,
                                                         (uint32_t)key_len, ca, (uint32_t)ca_len,
                                                         flags);
    if (h > 0) {
        if ((int)portal_handles_count(&app.handles, PORTAL_HANDLE_TLS_CONFIG) != 1)
            abort();
        /* The other kind's free refuses it; a second free of the same handle is an error, not a
         * double free. */
        int32_t (*free_other)(portal_app *, int32_t) =
            client ? portal_tls_server_config_free : portal_tls_client_config_free;
        int32_t (*free_own)(portal_app *, int32_t) =
            client ? portal_tls_client_config_free : portal_tls_server_config_free;
        if (free_other(&app, h) != PORTAL_ERR_INVALID_ARGUMENT || (int)portal_handles_count(&app.handles, PORTAL_HANDLE_TLS_CONFIG) != 1)
            abort();
        if (free_own(&app, h) != PORTAL_OK)
            abort();
        if (free_own(&app, h) != PORTAL_ERR_INVALID_ARGUMENT)
            abort();
    } else {
        /* Failures are errors with a message, and create nothing. */
        if (h != app.last_error_code || h >= 0 || app.last_error_msg[0] == '\0')
            abort();
        if ((int)portal_handles_count(&app.handles, PORTAL_HANDLE_TLS_CONFIG) != 0)
            abort();
    }
    portal_app_teardown(&app);
    free(cert);
    free(key);
    free(ca);
    free(alpn);
    return 0;
}
