/* tls_trust_bundle.c - the default trust store of client configs on the firmware: ESP-IDF's
 * certificate bundle (CONFIG_MBEDTLS_CERTIFICATE_BUNDLE), attached to the config so mbedTLS
 * verifies the server chain against it. The bundle lives in flash; nothing is held per config.
 * (portal-host uses host/tls/tls_trust.c.) */
#include <stdio.h>

#include "esp_crt_bundle.h"

#include "tls/tls_internal.h"

int32_t portal_tls_trust_default_use(mbedtls_ssl_config *conf, struct portal_tls_trust **ref,
                                     char *why, size_t why_size)
{
    *ref = NULL;
    esp_err_t err = esp_crt_bundle_attach(conf);
    if (err != ESP_OK) {
        snprintf(why, why_size, "no default trust store: esp_crt_bundle_attach: %s",
                 esp_err_to_name(err));
        return PORTAL_ERR_INTERNAL;
    }
    return PORTAL_OK;
}

void portal_tls_trust_release(struct portal_tls_trust *ref)
{
    (void)ref; /* the bundle is static */
}
