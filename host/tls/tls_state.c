/* tls_state.c - the per-app TLS state, made by the app's first TLS config: its random generator
 * (entropy pool + CTR-DRBG, seeded from the OS or hardware RNG) and the queue of pending server
 * handshakes; registering the module's hooks with the app; freeing it all at teardown. */
#include <stdlib.h>

#include "tls_internal.h" /* first: it decides which mbedTLS generation we build against */

#include "../socket/socket.h"
#include "tls.h"

/* The generator's entropy callback: mbedtls_entropy_func on the app's pool, keeping its result,
 * which CTR_DRBG replaces by its own "entropy source failed". */
static int tls_entropy_func(void *p_state, unsigned char *out, size_t len)
{
    portal_tls_state *state = p_state;
    state->entropy_ret = mbedtls_entropy_func(&state->entropy, out, len);
    return state->entropy_ret;
}

static void tls_state_destroy(portal_tls_state *state)
{
    free(state->pending);
    mbedtls_ctr_drbg_free(&state->drbg);
    mbedtls_entropy_free(&state->entropy);
    free(state);
}

/* Seeds the app's generator from the entropy pool. PORTAL_OK or the error (-2, message set). */
static int32_t tls_state_seed(portal_app *app, const char *who, portal_tls_state *state)
{
    static const char personalization[] = "paper-portal tls server";
    state->entropy_ret = 0;
    int ret = mbedtls_ctr_drbg_seed(&state->drbg, tls_entropy_func, state,
                                    (const unsigned char *)personalization,
                                    sizeof personalization - 1);
    if (ret == 0)
        return PORTAL_OK;
    char err[112];
    /* CTR_DRBG reports any entropy failure as "entropy source failed"; with mbedTLS 3.x the
     * entropy accumulator allocates its hash context on first use, so that may be an allocation
     * failure: the entropy function's own code tells. */
    bool out_of_memory =
        portal_tls_error_is_alloc(ret) || portal_tls_error_is_alloc(state->entropy_ret);
    int cause = portal_tls_error_is_alloc(state->entropy_ret) ? state->entropy_ret : ret;
    return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %sseeding the random generator: %s", who,
                       out_of_memory ? "out of memory " : "failed ",
                       portal_tls_error_text(cause, err, sizeof err));
}

portal_tls_state *portal_tls_state_get(portal_app *app, const char *who)
{
    if (app->tls)
        return app->tls;
    /* Process-wide, kept for good (tls_library.c); a no-op when the host or firmware did it. */
    int psa = portal_tls_library_init();
    if (psa != 0) {
        portal_fail(
            app, PORTAL_ERR_INTERNAL, "%s: %s (psa_crypto_init: PSA status %d)", who,
            portal_tls_error_is_alloc(psa) ? "out of memory" : "crypto initialisation failed", psa);
        return NULL;
    }
    portal_tls_state *state = calloc(1, sizeof *state);
    if (!state) {
        portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
        return NULL;
    }
    mbedtls_entropy_init(&state->entropy);
    mbedtls_ctr_drbg_init(&state->drbg);
    state->pending_capacity =
        app->limits.max_pending_handshakes > 0 ? app->limits.max_pending_handshakes : 1;
    state->pending = calloc((size_t)state->pending_capacity, sizeof *state->pending);
    int32_t rc = state->pending ? tls_state_seed(app, who, state)
                                : portal_fail(app, PORTAL_ERR_INTERNAL, "%s: out of memory", who);
    /* The module's hooks (tls.h); the socket module first, so that teardown, which runs in
     * reverse order, ends sessions and handshakes before the listeners they came from. */
    if (rc == PORTAL_OK && (!portal_app_use_module(app, &portal_socket_module) ||
                            !portal_app_use_module(app, &portal_tls_module)))
        rc = portal_fail(app, PORTAL_ERR_INTERNAL, "%s: too many host modules", who);
    if (rc != PORTAL_OK) {
        tls_state_destroy(state);
        return NULL;
    }
    portal_socket_set_poll_ext(&portal_tls_poll_ext);
    app->tls = state;
    return state;
}

void portal_tls_state_free(portal_app *app)
{
    portal_tls_state *state = app->tls;
    if (!state)
        return;
    tls_state_destroy(state);
    app->tls = NULL;
}
