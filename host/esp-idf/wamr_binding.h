/* wamr_binding.h - WAMR registration of modules `portal_socket` and `portal_socket_tls` for the
 * Paper Portal firmware, plus the per-app state lifecycle (teardown on unload) and the hooks the
 * firmware's event loop and last-error store use. All calls: the firmware's loop thread only. */
#ifndef PORTAL_WAMR_BINDING_H
#define PORTAL_WAMR_BINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "wasm_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register the NativeSymbol tables (after wasm_runtime_full_init, before loading any module).
 * Each creates the WAMR context key on first use; both are idempotent. false on failure. */
bool portal_socket_wamr_register(void);
bool portal_socket_tls_wamr_register(void);

/* Closes every socket, listener, TLS session, pending handshake and TLS config of the app the given
 * (live) module instance belongs to. The app's small state record stays attached to the instance
 * and is freed by WAMR when the instance is deinstantiated (context-key destructor, which also
 * closes everything if nobody did before); if the app calls again it starts from a fresh state. */
void portal_socket_wamr_close_instance(wasm_module_inst_t inst);
/* Same for every app that has state. Touches no instance, so it is safe in any order relative to
 * the instance's deinstantiation: the firmware's clear_app_runtime_state hook. */
void portal_socket_wamr_close_all(void);

/* Forwards every portal_fail (code, message) of these modules to the firmware's own last-error
 * store, e.g. a C wrapper around wasm_api_set_last_error. NULL = off. */
void portal_socket_wamr_set_error_hook(void (*hook)(int32_t code, const char *msg));

/* Event-loop integration: advances every pending TLS handshake of every live app whose socket is
 * ready or whose deadline passed (never blocks). Call it on every loop pass; the loop should not
 * sleep longer than portal_socket_wamr_next_deadline_ms() (-1 = no pending handshake) or, while a
 * handshake is pending, longer than a short tick (20-50 ms) so progress does not wait for an app
 * call. */
void portal_socket_wamr_service(void);
int portal_socket_wamr_next_deadline_ms(void);

#ifdef __cplusplus
}
#endif

#endif
