/* wasm_reader.h - reads just enough of a WebAssembly binary to link it: function types, imports
 * and exports. Every length is checked against the buffer; arbitrary bytes never crash it. Import
 * and export names must use the alphabet of wasm_names.h (they end up in wasm2c's C output). */
#ifndef PORTAL_WASM_READER_H
#define PORTAL_WASM_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest function type accepted, as in the web embedding's limits. */
#define WASM_MAX_PARAMS 1000u
#define WASM_MAX_RESULTS 1000u

enum { WASM_EXTERN_FUNC = 0, WASM_EXTERN_TABLE = 1, WASM_EXTERN_MEMORY = 2, WASM_EXTERN_GLOBAL = 3,
       WASM_EXTERN_TAG = 4 };

typedef struct wasm_import {
    char *module;
    char *name;
    uint8_t kind;        /* WASM_EXTERN_* */
    const char *type;    /* functions: "params:results" with i I f F v r, e.g. "ii:i" */
} wasm_import;

typedef struct wasm_export {
    char *name;
    uint8_t kind;
    const char *type;    /* functions only, else NULL */
} wasm_export;

typedef struct wasm_module_info {
    uint32_t type_count;
    char **types;
    uint32_t import_count;
    wasm_import *imports;
    uint32_t export_count;
    wasm_export *exports;
} wasm_module_info;

/* Parses `bytes`; on failure returns false with a message in `err`. */
bool wasm_reader_parse(const uint8_t *bytes, size_t len, wasm_module_info *info, char *err,
                       size_t err_size);
void wasm_module_info_free(wasm_module_info *info);
const wasm_export *wasm_find_export(const wasm_module_info *info, const char *name);

#endif
