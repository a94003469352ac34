/* w2c_guard.c - the wasm2c input without custom sections, and the check of wasm2c's output
 * (see w2c_guard.h). */
#include "w2c_guard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_scan.h"
#include "wasm_names.h"

/* ---- before wasm2c: drop custom sections ---- */

static bool leb_u32(const uint8_t *p, const uint8_t *end, uint32_t *value, size_t *used)
{
    uint32_t v = 0;
    for (size_t i = 0; i < 5 && p + i < end; i++) {
        if (i == 4 && (p[i] & 0xf0))
            return false;
        v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *value = v;
            *used = i + 1;
            return true;
        }
    }
    return false;
}

bool w2c_strip_custom_sections(const uint8_t *wasm, size_t len, uint8_t **out, size_t *out_len,
                               unsigned *dropped, char *err, size_t err_size)
{
    *out = NULL;
    *out_len = 0;
    if (dropped)
        *dropped = 0;
    if (len < 8) {
        snprintf(err, err_size, "module shorter than its header");
        return false;
    }
    uint8_t *copy = malloc(len);
    if (!copy) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    memcpy(copy, wasm, 8);
    size_t n = 8;
    const uint8_t *p = wasm + 8, *end = wasm + len;
    while (p < end) {
        uint32_t size;
        size_t used;
        if (!leb_u32(p + 1, end, &size, &used) || (size_t)(end - (p + 1 + used)) < size) {
            free(copy);
            snprintf(err, err_size, "malformed section at offset %zu", (size_t)(p - wasm));
            return false;
        }
        size_t whole = 1 + used + size;
        if (p[0] != 0) {
            memcpy(copy + n, p, whole);
            n += whole;
        } else if (dropped) {
            (*dropped)++;
        }
        p += whole;
    }
    *out = copy;
    *out_len = n;
    return true;
}

/* ---- after wasm2c: the comments that quote module names ---- */

typedef struct quoted {
    const char *file;
    const wasm_module_info *info;
    unsigned *export_seen; /* per export: times quoted in this file */
    bool *import_seen;     /* per import: quoted at least once */
    /* The module's exports and imports sorted by name, so that each comment is looked up in
     * log time: a module with a million exports must not make this quadratic. */
    const wasm_export **exports_by_name;
    const wasm_import **imports_by_name;
} quoted;

/* Orders a byte string (no NUL inside) against a C string the way strcmp orders C strings. */
static int compare_text(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    int r = memcmp(a, b, an < bn ? an : bn);
    return r ? r : (an > bn) - (an < bn);
}

static int compare_exports(const void *a, const void *b)
{
    return strcmp((*(const wasm_export *const *)a)->name, (*(const wasm_export *const *)b)->name);
}

static int compare_imports(const void *a, const void *b)
{
    const wasm_import *x = *(const wasm_import *const *)a, *y = *(const wasm_import *const *)b;
    int r = strcmp(x->module, y->module);
    return r ? r : strcmp(x->name, y->name);
}

static int compare_import_key(const char *module, size_t module_len, const char *field,
                              size_t field_len, const wasm_import *im)
{
    int r = compare_text(module, module_len, im->module);
    return r ? r : compare_text(field, field_len, im->name);
}

/* Reads 'NAME' at *p (before end): true with the name when it is quoted and allow-listed. */
static bool take_name(const char **p, const char *end, const char **name, size_t *len)
{
    if (*p >= end || **p != '\'')
        return false;
    const char *start = *p + 1, *q = start;
    while (q < end && *q != '\'')
        q++;
    if (q >= end)
        return false;
    *name = start;
    *len = (size_t)(q - start);
    *p = q + 1;
    return wasm_name_ok((const uint8_t *)start, *len);
}

static bool same(const char *a, size_t n, const char *b)
{
    return strlen(b) == n && memcmp(a, b, n) == 0;
}

static bool refuse_comment(quoted *q, const c_item *item, const char *why, char *err,
                           size_t err_size)
{
    char shown[WASM_NAME_PRINT_SIZE];
    wasm_name_printable((const uint8_t *)item->body, item->len, shown, sizeof shown);
    snprintf(err, err_size, "%s line %zu: %s: %s", q->file, item->line, why, shown);
    return false;
}

/* wasm2c writes a module's names only as "/ * import: 'MODULE' 'FIELD' * /" and
 * "/ * export: 'NAME' * /". Any comment with a quote must be one of those, naming a real import
 * or export; no other comment may hold a quote. */
static bool on_item(void *ctx, const c_item *item, char *err, size_t err_size)
{
    quoted *q = ctx;
    if (item->kind == C_STRING || item->kind == C_CHAR || !memchr(item->body, '\'', item->len))
        return true;
    if (item->kind == C_LINE_COMMENT)
        return refuse_comment(q, item, "line comment with a quote", err, err_size);
    const char *p = item->body, *end = item->body + item->len, *a, *b;
    size_t an, bn;
    if (item->len > 9 && memcmp(p, " export: ", 9) == 0) {
        p += 9;
        if (!take_name(&p, end, &a, &an) || end - p != 1 || *p != ' ')
            return refuse_comment(q, item, "malformed export comment", err, err_size);
        size_t lo = 0, hi = q->info->export_count;
        while (lo < hi) { /* first export whose name is not below the quoted one */
            size_t mid = lo + (hi - lo) / 2;
            if (compare_text(a, an, q->exports_by_name[mid]->name) > 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < q->info->export_count && same(a, an, q->exports_by_name[lo]->name)) {
            q->export_seen[q->exports_by_name[lo] - q->info->exports]++;
            return true;
        }
        return refuse_comment(q, item, "export comment naming no export", err, err_size);
    }
    if (item->len > 9 && memcmp(p, " import: ", 9) == 0) {
        p += 9;
        if (!take_name(&p, end, &a, &an) || p >= end || *p++ != ' ' ||
            !take_name(&p, end, &b, &bn) || end - p != 1 || *p != ' ')
            return refuse_comment(q, item, "malformed import comment", err, err_size);
        size_t lo = 0, hi = q->info->import_count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (compare_import_key(a, an, b, bn, q->imports_by_name[mid]) > 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        bool found = false;
        /* The same import may be declared more than once; wasm2c quotes it once. */
        for (; lo < q->info->import_count &&
               compare_import_key(a, an, b, bn, q->imports_by_name[lo]) == 0;
             lo++) {
            q->import_seen[q->imports_by_name[lo] - q->info->imports] = true;
            found = true;
        }
        return found ? true : refuse_comment(q, item, "import comment naming no import", err,
                                             err_size);
    }
    return refuse_comment(q, item, "comment with a quote", err, err_size);
}

static bool check_file(quoted *q, const char *text, size_t len, char *err, size_t err_size)
{
    char why[512];
    if (!c_scan(text, len, on_item, q, why, sizeof why)) {
        if (strncmp(why, q->file, strlen(q->file)) == 0)
            snprintf(err, err_size, "%s", why);
        else
            snprintf(err, err_size, "%s %s", q->file, why);
        return false;
    }
    for (uint32_t i = 0; i < q->info->export_count; i++)
        if (q->export_seen[i] != 1) {
            snprintf(err, err_size, "%s quotes export %s %u times, expected once", q->file,
                     q->info->exports[i].name, q->export_seen[i]);
            return false;
        }
    return true;
}

bool w2c_check_output_text(const char *c_text, size_t c_len, const char *h_text, size_t h_len,
                           const wasm_module_info *info, char *err, size_t err_size)
{
    size_t n_ex = info->export_count ? info->export_count : 1;
    size_t n_im = info->import_count ? info->import_count : 1;
    quoted q = {"app.c", info, calloc(n_ex, sizeof(unsigned)), calloc(n_im, sizeof(bool)),
                calloc(n_ex, sizeof(wasm_export *)), calloc(n_im, sizeof(wasm_import *))};
    bool ok = false;
    if (!q.export_seen || !q.import_seen || !q.exports_by_name || !q.imports_by_name) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < info->export_count; i++)
        q.exports_by_name[i] = &info->exports[i];
    for (uint32_t i = 0; i < info->import_count; i++)
        q.imports_by_name[i] = &info->imports[i];
    qsort(q.exports_by_name, info->export_count, sizeof *q.exports_by_name, compare_exports);
    qsort(q.imports_by_name, info->import_count, sizeof *q.imports_by_name, compare_imports);
    if (!check_file(&q, c_text, c_len, err, err_size))
        goto out;
    memset(q.export_seen, 0, n_ex * sizeof(unsigned));
    q.file = "app.h";
    if (!check_file(&q, h_text, h_len, err, err_size))
        goto out;
    for (uint32_t i = 0; i < info->import_count; i++)
        if (!q.import_seen[i]) {
            snprintf(err, err_size, "app.h does not quote import %s %s", info->imports[i].module,
                     info->imports[i].name);
            goto out;
        }
    ok = true;
out:
    free(q.export_seen);
    free(q.import_seen);
    free(q.exports_by_name);
    free(q.imports_by_name);
    return ok;
}

/* The whole file, NUL-terminated; NULL with errno on failure. */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            char *grown = realloc(buf, cap + 1);
            if (!grown) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

bool w2c_check_output(const char *c_path, const char *h_path, const wasm_module_info *info,
                      char *err, size_t err_size)
{
    size_t c_len = 0, h_len = 0;
    char *c_text = read_text(c_path, &c_len);
    char *h_text = c_text ? read_text(h_path, &h_len) : NULL;
    bool ok = false;
    if (!c_text || !h_text)
        snprintf(err, err_size, "cannot read wasm2c output: %s", strerror(errno));
    else
        ok = w2c_check_output_text(c_text, c_len, h_text, h_len, info, err, err_size);
    free(c_text);
    free(h_text);
    return ok;
}
