/* wasm_build.h - builds small WebAssembly binaries byte by byte for the reader and guard tests:
 * a growable byte buffer, LEB128, names, sections and one complete app-shaped module. */
#ifndef PORTAL_WASM_BUILD_H
#define PORTAL_WASM_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct wbuf {
    uint8_t *b;
    size_t n, cap;
} wbuf;

/* Out of line: inlined into callers with a constant `len`, gcc's -Warray-bounds misfires. */
__attribute__((noinline, unused)) static void wb_put(wbuf *w, const void *data, size_t len)
{
    if (w->n + len > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + len)
            cap *= 2;
        uint8_t *grown = realloc(w->b, cap);
        if (!grown)
            abort();
        w->b = grown;
        w->cap = cap;
    }
    if (len)
        memcpy(w->b + w->n, data, len);
    w->n += len;
}
static inline void wb_u8(wbuf *w, uint8_t v) { wb_put(w, &v, 1); }
static inline void wb_leb(wbuf *w, uint32_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        wb_u8(w, byte | (v ? 0x80 : 0));
    } while (v);
}
static inline void wb_name(wbuf *w, const void *name, size_t len)
{
    wb_leb(w, (uint32_t)len);
    wb_put(w, name, len);
}
static inline void wb_str(wbuf *w, const char *s) { wb_name(w, s, strlen(s)); }
/* Appends section `id` holding `body`, then empties `body`. */
static inline void wb_section(wbuf *w, uint8_t id, wbuf *body)
{
    wb_u8(w, id);
    wb_leb(w, (uint32_t)body->n);
    wb_put(w, body->b, body->n);
    body->n = 0;
}
static inline void wb_header(wbuf *w) { wb_put(w, "\0asm\1\0\0\0", 8); }
static inline void wb_free(wbuf *w)
{
    free(w->b);
    memset(w, 0, sizeof *w);
}

/* A module wasm2c translates: type 0 = (i32)->(), import MODULE.FIELD of type 0, one function of
 * type 0 exported as EXPORT, memory exported as "memory", then a custom section CUSTOM_NAME
 * holding CUSTOM and a "name" section naming the function FUNC_NAME. Names are byte strings. */
typedef struct wb_names {
    const char *module, *field, *export_name, *custom_name, *custom, *func_name;
    size_t module_len, field_len, export_len, custom_name_len, custom_len, func_name_len;
    bool no_custom; /* leave out both custom sections */
} wb_names;

static inline void wb_app_module(wbuf *w, const wb_names *n)
{
    wbuf s = {0};
    wb_header(w);
    /* type 0: (i32) -> () */
    wb_leb(&s, 1);
    wb_u8(&s, 0x60);
    wb_leb(&s, 1);
    wb_u8(&s, 0x7f);
    wb_leb(&s, 0);
    wb_section(w, 1, &s);
    /* import 0 (function 0): MODULE.FIELD of type 0 */
    wb_leb(&s, 1);
    wb_name(&s, n->module, n->module_len);
    wb_name(&s, n->field, n->field_len);
    wb_u8(&s, 0);
    wb_leb(&s, 0);
    wb_section(w, 2, &s);
    /* function 1 of type 0 */
    wb_leb(&s, 1);
    wb_leb(&s, 0);
    wb_section(w, 3, &s);
    /* memory 0: at least one page */
    wb_leb(&s, 1);
    wb_u8(&s, 0);
    wb_leb(&s, 1);
    wb_section(w, 5, &s);
    /* exports: memory 0 as "memory", function 1 as EXPORT */
    wb_leb(&s, 2);
    wb_str(&s, "memory");
    wb_u8(&s, 2);
    wb_leb(&s, 0);
    wb_name(&s, n->export_name, n->export_len);
    wb_u8(&s, 0);
    wb_leb(&s, 1);
    wb_section(w, 7, &s);
    /* body: no locals; local.get 0; call 0; end */
    wb_leb(&s, 1);
    wb_leb(&s, 6);
    wb_leb(&s, 0);
    wb_put(&s, "\x20\x00\x10\x00\x0b", 5);
    wb_section(w, 10, &s);
    if (n->no_custom) {
        wb_free(&s);
        return;
    }
    /* custom section CUSTOM_NAME holding CUSTOM */
    wb_name(&s, n->custom_name, n->custom_name_len);
    wb_put(&s, n->custom, n->custom_len);
    wb_section(w, 0, &s);
    /* "name" section, subsection 1 (function names): function 1 */
    wbuf sub = {0};
    wb_leb(&sub, 1);
    wb_leb(&sub, 1);
    wb_name(&sub, n->func_name, n->func_name_len);
    wb_str(&s, "name");
    wb_u8(&s, 1);
    wb_leb(&s, (uint32_t)sub.n);
    wb_put(&s, sub.b, sub.n);
    wb_section(w, 0, &s);
    wb_free(&sub);
    wb_free(&s);
}

#endif
