/* entry_gen.h - the C that joins a wasm2c-translated module to portal-host (entry_gen.c). */
#ifndef PORTAL_ENTRY_GEN_H
#define PORTAL_ENTRY_GEN_H

#include <stdbool.h>
#include <stddef.h>

#include "linker.h"
#include "wasm_reader.h"

/* Reads `dir`/app.h (wasm2c's header) and writes `dir`/entry.c: the entry points for the exports
 * the module has and a trapping stub for each import in report->unlinked. False with a message in
 * err when the header is missing or not what wasm2c writes. */
bool portal_entry_write(const char *dir, const wasm_module_info *info,
                        const portal_link_report *report, char *err, size_t err_size);

#endif
