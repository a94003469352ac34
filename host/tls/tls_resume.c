/* tls_resume.c - client-side session resumption (module `portal_socket_tls`): each client config
 * remembers the latest session (TLS 1.2 ticket or session ID, TLS 1.3 PSK ticket) per server
 * "host:port", for the PORTAL_TLS_RESUME_ENTRIES most recently used servers, and offers it to the
 * next tlsConnect to the same server. RAM only; wiped when the config is freed. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "tls_internal.h"

#define RESUME_KEY_SIZE 264 /* 253-byte name + ":65535" + NUL, rounded */

typedef struct tls_resume_entry {
    bool valid;
    uint64_t used; /* tick of the last save or offer: the smallest is evicted first */
    char key[RESUME_KEY_SIZE];
    mbedtls_ssl_session session;
} tls_resume_entry;

struct tls_resume_cache {
    uint64_t tick;
    tls_resume_entry entries[PORTAL_TLS_RESUME_ENTRIES];
};

static tls_resume_entry *resume_find(struct tls_resume_cache *cache, const char *key)
{
    for (int i = 0; cache && i < PORTAL_TLS_RESUME_ENTRIES; i++)
        if (cache->entries[i].valid && strcmp(cache->entries[i].key, key) == 0)
            return &cache->entries[i];
    return NULL;
}

bool portal_tls_resume_offer(tls_config *config, mbedtls_ssl_context *ssl, const char *key)
{
    tls_resume_entry *entry = resume_find(config->resume, key);
    if (!entry)
        return false;
    entry->used = ++config->resume->tick;
    /* A failure (out of memory, a session of another protocol version) means a full handshake.
     * mbedTLS's session copy can fail half-way, leaving the session being negotiated with the
     * ticket's length but no ticket (2.28 then sends a malformed SessionTicket extension, which
     * the server answers with decode_error): start that session afresh. */
    if (mbedtls_ssl_set_session(ssl, &entry->session) == 0)
        return true;
#if PORTAL_MBEDTLS_3
    mbedtls_ssl_session_free(ssl->MBEDTLS_PRIVATE(session_negotiate));
#else
    mbedtls_ssl_session_free(ssl->session_negotiate);
#endif
    return false;
}

void portal_tls_resume_save(tls_config *config, mbedtls_ssl_context *ssl, const char *key)
{
    if (config->handle == 0 || (config->flags & PORTAL_TLS_FLAG_NO_TICKETS) ||
        strlen(key) >= RESUME_KEY_SIZE)
        return; /* freed by the app (its memory is wiped), or resumption is off */
    if (!config->resume) {
        config->resume = calloc(1, sizeof *config->resume);
        if (!config->resume)
            return; /* the next connect is a full handshake; nothing else depends on it */
    }
    struct tls_resume_cache *cache = config->resume;
    tls_resume_entry *entry = resume_find(cache, key);
    if (!entry) {
        entry = &cache->entries[0];
        for (int i = 0; i < PORTAL_TLS_RESUME_ENTRIES; i++) {
            tls_resume_entry *e = &cache->entries[i];
            if (!e->valid) {
                entry = e;
                break;
            }
            if (e->used < entry->used)
                entry = e;
        }
    }
    if (entry->valid)
        mbedtls_ssl_session_free(&entry->session);
    mbedtls_ssl_session_init(&entry->session);
    entry->valid = false;
    if (mbedtls_ssl_get_session(ssl, &entry->session) != 0) {
        mbedtls_ssl_session_free(&entry->session);
        return;
    }
    entry->valid = true;
    entry->used = ++cache->tick;
    memcpy(entry->key, key, strlen(key) + 1);
}

void portal_tls_resume_wipe(tls_config *config)
{
    struct tls_resume_cache *cache = config->resume;
    if (!cache)
        return;
    for (int i = 0; i < PORTAL_TLS_RESUME_ENTRIES; i++)
        if (cache->entries[i].valid)
            mbedtls_ssl_session_free(&cache->entries[i].session); /* zeroizes the secrets */
    mbedtls_platform_zeroize(cache, sizeof *cache);
    free(cache);
    config->resume = NULL;
}
