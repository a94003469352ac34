/* module.h - turning an app .wasm into a loaded native module: check its imports and exports
 * against the API tables, translate it with wasm2c, compile it into a shared object cached by
 * content hash, and load it. The shared object exports one table of entry points (below). */
#ifndef PORTAL_MODULE_H
#define PORTAL_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PORTAL_MODULE_ABI 2

/* PORTAL_MODULE_ABI is part of the cache key (module.c), so a cached object always has this
 * table's shape. */
typedef struct portal_module_entry {
    size_t instance_size;
    void (*init_module)(void);
    void (*instantiate)(void *instance, void *host);
    void (*free_instance)(void *instance);
    void *(*memory)(void *instance); /* wasm_rt_memory_t * */
    /* NULL when the app has no _initialize export. Called right after instantiation, before
     * anything else, as WAMR does for a module that imports WASI. */
    void (*initialize)(void *instance);
    void (*start)(void *instance);
    uint32_t (*contract_version)(void *instance);
    uint64_t (*microtask_step)(void *instance, uint32_t handle, uint32_t now_ms);
    uint32_t (*alloc)(void *instance, uint32_t len);
    void (*free)(void *instance, uint32_t ptr, uint32_t len);
    void (*shutdown)(void *instance); /* NULL when the app has no ppShutdown export */
} portal_module_entry;

typedef struct portal_module {
    const portal_module_entry *entry;
    void *dl;
    bool from_cache;    /* the shared object was already compiled */
    int so_fd;          /* the checked shared object, open while it is loaded */
    double prepare_ms;  /* time spent checking + compiling or loading */
    char so_path[4096];
} portal_module;

typedef struct portal_module_options {
    const char *cache_dir; /* NULL = default (PORTAL_CACHE_DIR, XDG cache, ~/.cache; see cache.h) */
    bool verbose;
} portal_module_options;

/* Loads `wasm_path`. On failure returns false with a message in `err`.
 * Warnings (unlinked imports) are printed to stderr once. */
bool portal_module_load(const char *wasm_path, const portal_module_options *opts,
                        portal_module *mod, char *err, size_t err_size);
void portal_module_unload(portal_module *mod);

#endif
