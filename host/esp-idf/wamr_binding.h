/* wamr_binding.h - WAMR registration of modules `portal_socket` and `portal_socket_tls` for the
 * Paper Portal firmware, plus the embedder API: what the firmware tells the binding (its task
 * schedule, a shutdown), the per-app state lifecycle (teardown on unload) and the hooks the
 * firmware's event loop and last-error store use. docs/firmware-integration.md shows the firmware's
 * side in full. All calls: the firmware's loop thread only, except portal_socket_wamr_interrupt.
 *
 * WAMR build requirement: module-instance contexts (WASM_ENABLE_MODULE_INST_CONTEXT=1). WAMR's
 * CMake turns them on only as a side effect of LIBC_WASI, UVWASI or WASI-NN (on ESP-IDF:
 * CONFIG_WAMR_ENABLE_LIBC_WASI); without them WAMR does not compile wasm_runtime_create_context_key
 * and the firmware fails to link. */
#ifndef PORTAL_WAMR_BINDING_H
#define PORTAL_WAMR_BINDING_H

#include <stdbool.h>
#include <stdint.h>

#include "wasm_export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- registration ----
 * Register the NativeSymbol tables after EVERY wasm_runtime_full_init (wasm_runtime_destroy drops
 * all registrations, so a firmware that destroys and re-initialises the runtime registers again),
 * before loading any module that imports them. Calling again in the same runtime replaces the
 * earlier registration (idempotent). The first call also creates the WAMR context key (kept for
 * the life of the program: WAMR keeps context keys across destroy/init) and the shutdown wake-up
 * descriptor. false on failure. */
bool portal_socket_wamr_register(void);
bool portal_socket_tls_wamr_register(void);

/* ---- the firmware's task schedule ----
 * A blocking call of the app (sockPoll with timeout -1 or longer than the next task) must not
 * outlast the firmware's next due task, or the app's other tasks starve and the loop thread stays
 * in the app until traffic arrives. The hook returns the ms until the firmware's next task is due
 * (other than the one running now), 0 when one is due already, negative when none is scheduled.
 * sockPoll never waits longer; when the task becomes due first it returns 0 (no entry ready) and
 * the app's task yields. NULL = no schedule (sockPoll waits as long as asked). */
void portal_socket_wamr_set_next_due_hook(int32_t (*next_due_ms)(void *user), void *user);

/* ---- stopping an app that waits in a native ----
 * portal_socket_wamr_interrupt: from any thread or a signal handler (async-signal-safe). Every
 * wait of these modules returns at once ("interrupted: host shutting down", -3) and later calls
 * no longer block, so ppShutdown and close_notify cannot hang; the app returns to the firmware.
 * The binding wakes a wait that is already blocked through its own loopback UDP descriptor (one
 * lwIP socket). The interrupt lasts until the app is unloaded: close_instance and close_all clear
 * it, so the next app starts uninterrupted.
 * wasm_runtime_terminate works too, without this call, where WAMR can wake a blocked thread
 * (thread manager enabled, POSIX platforms: it signals the thread while a native of these
 * modules waits, and the wait returns). On ESP-IDF WAMR has no such wake-up: call
 * portal_socket_wamr_interrupt() (then terminate the instance if the app should not run
 * ppShutdown). */
void portal_socket_wamr_interrupt(void);

/* ---- per-app state ----
 * Closes every socket, listener, TLS session, pending handshake and TLS config of the app the given
 * (live) module instance belongs to, and clears an interrupt. The app's small state record stays
 * attached to the instance and is freed by WAMR when the instance is deinstantiated (context-key
 * destructor, which also closes everything if nobody did before); if the app calls again it
 * starts from a fresh state. */
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
