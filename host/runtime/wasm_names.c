/* wasm_names.c - the name alphabet a module's imports and exports must use (see wasm_names.h). */
#include "wasm_names.h"

#include <stdio.h>
#include <string.h>

bool wasm_name_byte_ok(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-' || c == '$';
}

bool wasm_name_ok(const uint8_t *name, size_t len)
{
    if (len == 0 || len > WASM_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!wasm_name_byte_ok(name[i]))
            return false;
    return true;
}

void wasm_name_printable(const uint8_t *name, size_t len, char *out, size_t out_size)
{
    enum { SHOWN = 40 };
    if (out_size < 3) {
        if (out_size)
            out[0] = '\0';
        return;
    }
    /* Room is kept for the closing quote and the NUL, and for the cut mark while bytes follow;
     * a smaller buffer just shows less. */
    size_t n = 0, limit = out_size - 2, i = 0;
    out[n++] = '"';
    for (; i < len && i < SHOWN; i++) {
        bool plain = wasm_name_byte_ok(name[i]);
        bool last = i + 1 == len;
        if (n + (plain ? 1 : 4) + (last ? 0 : 3) > limit)
            break;
        if (plain)
            out[n++] = (char)name[i];
        else
            n += (size_t)snprintf(out + n, out_size - n, "\\x%02x", name[i]);
    }
    if (i < len && n + 3 <= limit) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n++] = '"';
    out[n] = '\0';
}
