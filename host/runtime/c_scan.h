/* c_scan.h - splits C source into comments, string and character literals the way a C11 compiler
 * with trigraphs enabled would, and refuses any text where that split could be ambiguous: bytes
 * other than printable ASCII and newline, trigraphs, backslashes in comments, line splices inside
 * comments or literals, unterminated comments or literals. Used to check wasm2c's output before it
 * is compiled (w2c_guard.c) and by the fuzz target that feeds hostile names through wasm2c. */
#ifndef PORTAL_C_SCAN_H
#define PORTAL_C_SCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { C_BLOCK_COMMENT, C_LINE_COMMENT, C_STRING, C_CHAR } c_item_kind;

typedef struct c_item {
    c_item_kind kind;
    const char *body; /* between the delimiters ("/ *"..."* /", "//"...newline, quotes) */
    size_t len;
    size_t line;      /* 1-based line where it starts */
} c_item;

/* Returns false to stop the scan with a message already written to err. */
typedef bool (*c_item_fn)(void *ctx, const c_item *item, char *err, size_t err_size);

/* Scans `text`, calling `fn` for each comment and literal in order. False with a message in
 * `err` when the text breaks a rule above or `fn` refuses an item. */
bool c_scan(const char *text, size_t len, c_item_fn fn, void *ctx, char *err, size_t err_size);

#endif
