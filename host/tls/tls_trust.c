/* tls_trust.c - the default trust store of client configs on portal-host (tlsClientConfigCreate
 * with an empty ca_pem): the PEM bundle named by $SSL_CERT_FILE, else Debian's
 * /etc/ssl/certs/ca-certificates.crt. It is parsed once and shared by reference by every config
 * that uses it (about 140 certificates, ~200 KB once parsed), and freed when the last one goes;
 * the next use parses the file again. The firmware uses ESP-IDF's certificate bundle instead
 * (host/esp-idf/tls_trust_bundle.c), so this file is empty there. */
#ifndef ESP_PLATFORM

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

#define PORTAL_TLS_DEFAULT_CA_FILE "/etc/ssl/certs/ca-certificates.crt"

struct portal_tls_trust {
    int refs;
    mbedtls_x509_crt anchors;
};

/* Configs are made and freed on the app's thread, but a process may run several apps (tests do):
 * the shared store is guarded. */
static pthread_mutex_t trust_lock = PTHREAD_MUTEX_INITIALIZER;
static struct portal_tls_trust *trust_shared;

static int32_t trust_load(struct portal_tls_trust **out, char *why, size_t why_size)
{
    const char *path = getenv("SSL_CERT_FILE");
    if (!path || !*path)
        path = PORTAL_TLS_DEFAULT_CA_FILE;
    /* Opened here first for the errno text: mbedTLS only says "file I/O error". */
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        snprintf(why, why_size, "no default trust store: %s: %s", path, strerror(errno));
        return PORTAL_ERR_INTERNAL;
    }
    fclose(probe);
    struct portal_tls_trust *trust = calloc(1, sizeof *trust);
    if (!trust) {
        snprintf(why, why_size, "out of memory");
        return PORTAL_ERR_INTERNAL;
    }
    mbedtls_x509_crt_init(&trust->anchors);
    /* > 0: that many certificates of the bundle could not be parsed (mbedTLS lacks some
     * algorithm); the others are still anchors. */
    int ret = mbedtls_x509_crt_parse_file(&trust->anchors, path);
    if (ret < 0 || trust->anchors.version == 0) {
        char err[112];
        if (portal_tls_error_is_alloc(ret))
            snprintf(why, why_size, "out of memory parsing %s", path);
        else
            snprintf(why, why_size, "no default trust store: %s: %s", path,
                     ret < 0 ? portal_tls_error_text(ret, err, sizeof err)
                             : "no certificate could be parsed");
        mbedtls_x509_crt_free(&trust->anchors);
        free(trust);
        return PORTAL_ERR_INTERNAL;
    }
    trust->refs = 1;
    *out = trust;
    return PORTAL_OK;
}

int32_t portal_tls_trust_default_use(mbedtls_ssl_config *conf, struct portal_tls_trust **ref,
                                     char *why, size_t why_size)
{
    int32_t rc = PORTAL_OK;
    pthread_mutex_lock(&trust_lock);
    if (trust_shared)
        trust_shared->refs++;
    else
        rc = trust_load(&trust_shared, why, why_size);
    if (rc == PORTAL_OK) {
        mbedtls_ssl_conf_ca_chain(conf, &trust_shared->anchors, NULL);
        *ref = trust_shared;
    }
    pthread_mutex_unlock(&trust_lock);
    return rc;
}

void portal_tls_trust_release(struct portal_tls_trust *ref)
{
    if (!ref)
        return;
    pthread_mutex_lock(&trust_lock);
    if (--ref->refs == 0) {
        if (trust_shared == ref)
            trust_shared = NULL;
        mbedtls_x509_crt_free(&ref->anchors);
        free(ref);
    }
    pthread_mutex_unlock(&trust_lock);
}

#else
/* ESP-IDF: see host/esp-idf/tls_trust_bundle.c. ISO C wants a declaration in every file. */
typedef int portal_tls_trust_unused;
#endif
