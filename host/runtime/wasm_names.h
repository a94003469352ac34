/* wasm_names.h - which import and export names a module may carry. wasm2c copies these names
 * byte for byte into comments of the C it generates, so a name is the one piece of a module that
 * could become C source: only names made of a short, inert alphabet are accepted. */
#ifndef PORTAL_WASM_NAMES_H
#define PORTAL_WASM_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest accepted name, in bytes. */
#define WASM_NAME_MAX 255
/* The accepted alphabet, as printed in messages. */
#define WASM_NAME_ALPHABET "A-Z a-z 0-9 _ . - $"
/* Room wasm_name_printable needs: every byte as \xNN, the cut mark, quotes and NUL. */
#define WASM_NAME_PRINT_SIZE (2 + 40 * 4 + 3 + 1)

/* One byte of the alphabet: letters, digits, '_', '.', '-', '$'. None of them can end or continue
 * a C comment or string ('*', '/', '\\', '?', quotes, newlines) or start a preprocessor line. */
bool wasm_name_byte_ok(uint8_t c);
/* A whole name: 1..WASM_NAME_MAX bytes of the alphabet. */
bool wasm_name_ok(const uint8_t *name, size_t len);
/* Writes `name` quoted, with every byte outside the alphabet as \xNN and anything past the first
 * 40 bytes cut ("..."), so any name can be shown in a message or on a terminal. */
void wasm_name_printable(const uint8_t *name, size_t len, char *out, size_t out_size);

#endif
