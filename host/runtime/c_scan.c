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

/* The scanner's state while it walks the text: where it is, and whom to tell about each item. */
typedef struct walk {
    scan s;
    size_t i; /* index of the next character to read */
    c_item_fn fn;
    void *ctx;
} walk;

static bool report(walk *w, const c_item *item)
{
    return w->fn(w->ctx, item, w->s.err, w->s.err_size);
}

/* At "/" followed by "*" (at `next`, after splices): one block comment up to its first "* /". */
static bool block_comment(walk *w, size_t next)
{
    scan *s = &w->s;
    if (next != w->i + 1)
        return refuse(s, "comment opened across a line splice");
    const char *body = s->text + w->i + 2;
    const char *end = NULL;
    for (const char *p = body; p + 1 < s->text + s->len; p++)
        if (p[0] == '*' && p[1] == '/') {
            end = p;
            break;
        }
    if (!end)
        return refuse(s, "unterminated comment");
    c_item item = {C_BLOCK_COMMENT, body, (size_t)(end - body), s->line};
    if (memchr(body, '\\', item.len))
        return refuse(s, "backslash in a comment");
    if (!report(w, &item))
        return false;
    for (size_t k = 0; k < item.len; k++)
        s->line += body[k] == '\n';
    w->i = (size_t)(end - s->text) + 2;
    return true;
}

/* At "/" followed by "/" (at `next`): one line comment up to the end of its line. */
static bool line_comment(walk *w, size_t next)
{
    scan *s = &w->s;
    if (next != w->i + 1)
        return refuse(s, "comment opened across a line splice");
    const char *body = s->text + w->i + 2;
    size_t rest = s->len - (w->i + 2);
    const char *end = memchr(body, '\n', rest);
    c_item item = {C_LINE_COMMENT, body, end ? (size_t)(end - body) : rest, s->line};
    if (memchr(body, '\\', item.len))
        return refuse(s, "backslash in a comment");
    if (!report(w, &item))
        return false;
    w->i += 2 + item.len;
    return true;
}

/* At a quote: one string or character literal, escapes skipped, on one line. */
static bool literal(walk *w)
{
    scan *s = &w->s;
    char quote = s->text[w->i];
    size_t k = w->i + 1;
    while (k < s->len && s->text[k] != quote) {
        if (s->text[k] == '\n')
            return refuse(s, "unterminated literal");
        if (s->text[k] == '\\') {
            if (at(s, k + 1) == '\n' || k + 1 >= s->len)
                return refuse(s, "line splice in a literal");
            k++;
        }
        k++;
    }
    if (k >= s->len)
        return refuse(s, "unterminated literal");
    c_item item = {quote == '"' ? C_STRING : C_CHAR, s->text + w->i + 1, k - w->i - 1, s->line};
    if (!report(w, &item))
        return false;
    w->i = k + 1;
    return true;
}

bool c_scan(const char *text, size_t len, c_item_fn fn, void *ctx, char *err, size_t err_size)
{
    walk w = {{text, len, 1, err, err_size}, 0, fn, ctx};
    scan *s = &w.s;
    if (!check_bytes(s))
        return false;
    while (w.i < len) {
        char c = text[w.i];
        if (c == '\n') {
            s->line++;
            w.i++;
            continue;
        }
        if (c == '\\') {
            if (at(s, w.i + 1) != '\n')
                return refuse(s, "backslash outside a literal that does not end the line");
            s->line++;
            w.i += 2;
            continue;
        }
        size_t next = after_splices(s, w.i + 1);
        bool ok = true;
        if (c == '/' && at(s, next) == '*')
            ok = block_comment(&w, next);
        else if (c == '/' && at(s, next) == '/')
            ok = line_comment(&w, next);
        else if (c == '"' || c == '\'')
            ok = literal(&w);
        else
            w.i++;
        if (!ok)
            return false;
    }
    return true;
}
