/* c_scan.c - a strict lexer for comments and literals in generated C (see c_scan.h). */
#include "c_scan.h"

#include <stdio.h>
#include <string.h>

typedef struct scan {
    const char *text;
    size_t len;
    size_t line;
    char *err;
    size_t err_size;
} scan;

static bool refuse(scan *s, const char *what)
{
    snprintf(s->err, s->err_size, "line %zu: %s", s->line, what);
    return false;
}

/* Index of the next character after `i` once line splices (backslash newline) are removed, as
 * the compiler sees it outside comments and literals. */
static size_t after_splices(const scan *s, size_t i)
{
    while (i + 1 < s->len && s->text[i] == '\\' && s->text[i + 1] == '\n')
        i += 2;
    return i;
}

static char at(const scan *s, size_t i)
{
    return i < s->len ? s->text[i] : '\0';
}

/* Whole-text rules: printable ASCII and newline only, no trigraph anywhere. */
static bool check_bytes(scan *s)
{
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->text[i];
        if (c == '\n') {
            s->line++;
            continue;
        }
        if (c < 0x20 || c > 0x7e) {
            char what[64];
            snprintf(what, sizeof what, "byte 0x%02x (only printable ASCII is expected)", c);
            return refuse(s, what);
        }
        if (c == '?' && at(s, i + 1) == '?' && at(s, i + 2) && strchr("=(/)'<!>-", at(s, i + 2)))
            return refuse(s, "trigraph");
    }
    s->line = 1;
    return true;
}

bool c_scan(const char *text, size_t len, c_item_fn fn, void *ctx, char *err, size_t err_size)
{
    scan s = {text, len, 1, err, err_size};
    if (!check_bytes(&s))
        return false;
    size_t i = 0;
    while (i < len) {
        char c = text[i];
        if (c == '\n') {
            s.line++;
            i++;
            continue;
        }
        if (c == '\\') {
            if (at(&s, i + 1) != '\n')
                return refuse(&s, "backslash outside a literal that does not end the line");
            s.line++;
            i += 2;
            continue;
        }
        size_t next = after_splices(&s, i + 1);
        c_item item = {C_BLOCK_COMMENT, NULL, 0, s.line};
        if (c == '/' && at(&s, next) == '*') {
            if (next != i + 1)
                return refuse(&s, "comment opened across a line splice");
            const char *body = text + i + 2;
            const char *end = NULL;
            for (const char *p = body; p + 1 < text + len; p++)
                if (p[0] == '*' && p[1] == '/') {
                    end = p;
                    break;
                }
            if (!end)
                return refuse(&s, "unterminated comment");
            item.body = body;
            item.len = (size_t)(end - body);
            if (memchr(body, '\\', item.len))
                return refuse(&s, "backslash in a comment");
            if (!fn(ctx, &item, err, err_size))
                return false;
            for (size_t k = 0; k < item.len; k++)
                s.line += body[k] == '\n';
            i = (size_t)(end - text) + 2;
            continue;
        }
        if (c == '/' && at(&s, next) == '/') {
            if (next != i + 1)
                return refuse(&s, "comment opened across a line splice");
            const char *body = text + i + 2;
            const char *end = memchr(body, '\n', len - (i + 2));
            item.kind = C_LINE_COMMENT;
            item.body = body;
            item.len = end ? (size_t)(end - body) : len - (i + 2);
            if (memchr(body, '\\', item.len))
                return refuse(&s, "backslash in a comment");
            if (!fn(ctx, &item, err, err_size))
                return false;
            i += 2 + item.len;
            continue;
        }
        if (c == '"' || c == '\'') {
            size_t k = i + 1;
            while (k < len && text[k] != c) {
                if (text[k] == '\n')
                    return refuse(&s, "unterminated literal");
                if (text[k] == '\\') {
                    if (at(&s, k + 1) == '\n' || k + 1 >= len)
                        return refuse(&s, "line splice in a literal");
                    k++;
                }
                k++;
            }
            if (k >= len)
                return refuse(&s, "unterminated literal");
            item.kind = c == '"' ? C_STRING : C_CHAR;
            item.body = text + i + 1;
            item.len = k - i - 1;
            if (!fn(ctx, &item, err, err_size))
                return false;
            i = k + 1;
            continue;
        }
        i++;
    }
    return true;
}
