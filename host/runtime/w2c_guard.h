/* w2c_guard.h - keeps module-controlled bytes out of the C that wasm2c generates. Before wasm2c:
 * the module is written without its custom sections (the "name" section's debug names and any
 * other custom payload never reach wasm2c). After wasm2c: the generated .c and .h are scanned
 * (c_scan.h) and every comment that quotes a module name must be exactly wasm2c's import/export
 * comment, quoting one of the module's own (allow-listed) names, each export once per file. */
#ifndef PORTAL_W2C_GUARD_H
#define PORTAL_W2C_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm_reader.h"

/* Copies `wasm` without its custom sections into a new buffer (free it). `dropped` (may be NULL)
 * gets the number of sections left out. False with a message on malformed section framing. */
bool w2c_strip_custom_sections(const uint8_t *wasm, size_t len, uint8_t **out, size_t *out_len,
                               unsigned *dropped, char *err, size_t err_size);

/* Checks wasm2c's output text (`c_text` from the .c file, `h_text` from the header) against the
 * module `info` the reader accepted. */
bool w2c_check_output_text(const char *c_text, size_t c_len, const char *h_text, size_t h_len,
                           const wasm_module_info *info, char *err, size_t err_size);

/* The same on the files wasm2c wrote. */
bool w2c_check_output(const char *c_path, const char *h_path, const wasm_module_info *info,
                      char *err, size_t err_size);

#endif
