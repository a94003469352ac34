/* wasm_export.h - a small stand-in for WAMR's public header, for tests/unit/test_wamr_binding.c
 * only (found first on the unit tests' include path; nothing else includes it). It declares just
 * the part of WAMR's API that host/esp-idf/wamr_binding.c uses, with WAMR's names and types; the
 * test defines the functions with WAMR 2.4.4's behaviour where the binding depends on it:
 * wasm_runtime_destroy drops every native registration but keeps context keys, unregistering
 * goes by (module name, table pointer), a context key's destructor runs on deinstantiation, and
 * wasm_runtime_terminate sets the exception and then (thread manager, POSIX) signals the thread
 * with SIGUSR1 every 50 ms while it is between begin_blocking_op and end_blocking_op. */
#ifndef PORTAL_FAKE_WASM_EXPORT_H
#define PORTAL_FAKE_WASM_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct WASMModuleInstanceCommon *wasm_module_inst_t;
typedef struct WASMExecEnv *wasm_exec_env_t;

typedef struct NativeSymbol {
    const char *symbol;
    void *func_ptr;
    const char *signature;
    void *attachment;
} NativeSymbol;

wasm_module_inst_t wasm_runtime_get_module_inst(wasm_exec_env_t exec_env);
void wasm_runtime_set_exception(wasm_module_inst_t module_inst, const char *exception);
const char *wasm_runtime_get_exception(wasm_module_inst_t module_inst);
bool wasm_runtime_register_natives(const char *module_name, NativeSymbol *native_symbols,
                                   uint32_t n_native_symbols);
bool wasm_runtime_unregister_natives(const char *module_name, NativeSymbol *native_symbols);
void *wasm_runtime_create_context_key(void (*dtor)(wasm_module_inst_t inst, void *ctx));
void wasm_runtime_set_context_spread(wasm_module_inst_t inst, void *key, void *ctx);
void *wasm_runtime_get_context(wasm_module_inst_t inst, void *key);
bool wasm_runtime_begin_blocking_op(wasm_exec_env_t exec_env);
void wasm_runtime_end_blocking_op(wasm_exec_env_t exec_env);

#endif
