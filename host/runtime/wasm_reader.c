/* wasm_reader.c - bounded reader for the type, import, function and export sections. */
#include "wasm_reader.h"

#include "wasm_names.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    const uint8_t *p, *end;
    char *err;
    size_t err_size;
    bool failed;
} reader;

static bool fail(reader *r, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err, r->err_size, fmt, ap);
        va_end(ap);
    }
    r->failed = true;
    return false;
}

static bool read_u8(reader *r, uint8_t *out)
{
    *out = 0;
    if (r->failed || r->p >= r->end)
        return fail(r, "unexpected end of module");
    *out = *r->p++;
    return true;
}

static bool read_u32(reader *r, uint32_t *out)
{
    uint32_t value = 0;
    *out = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        uint8_t byte;
        if (!read_u8(r, &byte))
            return false;
        if (shift == 28 && (byte & 0x70))
            return fail(r, "malformed LEB128 integer");
        value |= (uint32_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = value;
            return true;
        }
    }
    return fail(r, "malformed LEB128 integer");
}

static bool skip(reader *r, uint32_t n)
{
    if (r->failed || (size_t)(r->end - r->p) < n)
        return fail(r, "unexpected end of module");
    r->p += n;
    return true;
}

/* A name wasm2c will copy into the generated C: refused unless it is made of the alphabet in
 * wasm_names.h. `kind`, `index` and `part` say which name it is in the message. */
static char *read_name(reader *r, const char *kind, uint32_t index, const char *part)
{
    uint32_t n;
    if (!read_u32(r, &n))
        return NULL;
    const uint8_t *start = r->p;
    if (!skip(r, n))
        return NULL;
    if (!wasm_name_ok(start, n)) {
        char shown[WASM_NAME_PRINT_SIZE];
        wasm_name_printable(start, n, shown, sizeof shown);
        fail(r, "%s %u %s %s (%u bytes) is not allowed: names must be 1 to %d bytes of %s", kind,
             index, part, shown, n, WASM_NAME_MAX, WASM_NAME_ALPHABET);
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        fail(r, "out of memory");
        return NULL;
    }
    memcpy(s, start, n);
    s[n] = '\0';
    return s;
}

static char valtype_char(uint8_t t)
{
    switch (t) {
    case 0x7f: return 'i';
    case 0x7e: return 'I';
    case 0x7d: return 'f';
    case 0x7c: return 'F';
    case 0x7b: return 'v';
    case 0x70:
    case 0x6f: return 'r';
    default: return 0;
    }
}

/* Appends the vector of value types (at most `max` of them) to `out` at *len. The caller sizes
 * `out` for max entries at *len plus what it appends after them. */
static bool read_valtypes(reader *r, uint32_t type_index, const char *what, uint32_t max,
                          char *out, size_t *len)
{
    uint32_t n;
    if (!read_u32(r, &n))
        return false;
    if (n > max)
        return fail(r, "type %u has %u %s, at most %u are supported", type_index, n, what, max);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t t;
        if (!read_u8(r, &t))
            return false;
        char c = valtype_char(t);
        if (!c)
            return fail(r, "unknown value type 0x%02x", t);
        out[(*len)++] = c;
    }
    return true;
}

static bool read_types(reader *r, wasm_module_info *info)
{
    uint32_t n;
    if (!read_u32(r, &n))
        return false;
    if (n > (uint32_t)(r->end - r->p))
        return fail(r, "type count %u exceeds section size", n);
    info->types = calloc(n ? n : 1, sizeof *info->types);
    if (!info->types)
        return fail(r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        uint8_t form;
        if (!read_u8(r, &form))
            return false;
        if (form != 0x60)
            return fail(r, "type %u is not a function type", i);
        /* "params:results" and its NUL. */
        char buf[WASM_MAX_PARAMS + 1 + WASM_MAX_RESULTS + 1];
        size_t len = 0;
        if (!read_valtypes(r, i, "params", WASM_MAX_PARAMS, buf, &len))
            return false;
        buf[len++] = ':';
        if (!read_valtypes(r, i, "results", WASM_MAX_RESULTS, buf, &len))
            return false;
        buf[len] = '\0';
        info->types[i] = strdup(buf);
        if (!info->types[i])
            return fail(r, "out of memory");
        info->type_count = i + 1;
    }
    return true;
}

static bool skip_limits(reader *r)
{
    uint8_t flags;
    uint32_t v;
    if (!read_u8(r, &flags) || !read_u32(r, &v))
        return false;
    if (flags > 3)
        return fail(r, "malformed limits");
    return (flags & 1) ? read_u32(r, &v) : true;
}

static bool func_type(reader *r, const wasm_module_info *info, uint32_t index, const char **out)
{
    if (index >= info->type_count)
        return fail(r, "type index %u out of range", index);
    *out = info->types[index];
    return true;
}

/* Function index space: imported functions first, then defined ones. */
typedef struct func_space {
    const char **types;
    uint32_t count;
} func_space;

static bool add_func(reader *r, func_space *fs, const char *type)
{
    const char **grown = realloc(fs->types, (fs->count + 1) * sizeof *grown);
    if (!grown)
        return fail(r, "out of memory");
    fs->types = grown;
    fs->types[fs->count++] = type;
    return true;
}

static bool read_imports(reader *r, wasm_module_info *info, func_space *fs)
{
    uint32_t n;
    if (!read_u32(r, &n))
        return false;
    if (n > (uint32_t)(r->end - r->p))
        return fail(r, "import count %u exceeds section size", n);
    info->imports = calloc(n ? n : 1, sizeof *info->imports);
    if (!info->imports)
        return fail(r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        wasm_import *im = &info->imports[i];
        info->import_count = i + 1;
        im->module = read_name(r, "import", i, "module name");
        if (!im->module)
            return false;
        im->name = read_name(r, "import", i, "field name");
        if (!im->name || !read_u8(r, &im->kind))
            return false;
        uint32_t index;
        uint8_t byte;
        switch (im->kind) {
        case WASM_EXTERN_FUNC:
            if (!read_u32(r, &index) || !func_type(r, info, index, &im->type) ||
                !add_func(r, fs, im->type))
                return false;
            break;
        case WASM_EXTERN_TABLE:
            if (!read_u8(r, &byte) || !skip_limits(r))
                return false;
            break;
        case WASM_EXTERN_MEMORY:
            if (!skip_limits(r))
                return false;
            break;
        case WASM_EXTERN_GLOBAL:
            if (!read_u8(r, &byte) || !read_u8(r, &byte))
                return false;
            break;
        case WASM_EXTERN_TAG:
            if (!read_u8(r, &byte) || !read_u32(r, &index))
                return false;
            break;
        default:
            return fail(r, "import %s.%s has unknown kind %u", im->module, im->name, im->kind);
        }
    }
    return true;
}

static bool read_functions(reader *r, const wasm_module_info *info, func_space *fs)
{
    uint32_t n;
    if (!read_u32(r, &n))
        return false;
    if (n > (uint32_t)(r->end - r->p))
        return fail(r, "function count %u exceeds section size", n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t index;
        const char *type = NULL;
        if (!read_u32(r, &index) || !func_type(r, info, index, &type) || !add_func(r, fs, type))
            return false;
    }
    return true;
}

/* Memories are only checked for form: portal-host needs none of their facts (the exported
 * "memory" is found through the exports; wasm2c refuses what it cannot translate). */
static bool read_memories(reader *r)
{
    uint32_t n;
    if (!read_u32(r, &n))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!skip_limits(r))
            return false;
    return true;
}

static int compare_export_names(const void *a, const void *b)
{
    return strcmp((*(const wasm_export *const *)a)->name, (*(const wasm_export *const *)b)->name);
}

/* Export names must be unique (the spec says so, and wasm2c refuses duplicates with a screenful of
 * follow-on errors). Sorted, so a module with many exports costs n log n, not n^2. A second
 * `_start` is the usual way to get here: a C app linked as a WASI command, whose crt1 brings a
 * `_start` next to the SDK's. */
static bool check_unique_exports(reader *r, const wasm_module_info *info)
{
    uint32_t n = info->export_count;
    if (n < 2)
        return true;
    const wasm_export **sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return fail(r, "out of memory");
    for (uint32_t i = 0; i < n; i++)
        sorted[i] = &info->exports[i];
    qsort(sorted, n, sizeof *sorted, compare_export_names);
    const char *duplicate = NULL;
    for (uint32_t i = 1; i < n && !duplicate; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
            duplicate = sorted[i]->name;
    bool ok = true;
    if (duplicate && strcmp(duplicate, "_start") == 0)
        ok = fail(r, "export \"_start\" appears twice: the app was linked as a WASI command; build "
                     "C apps with -mexec-model=reactor (the SDK provides _start)");
    else if (duplicate)
        ok = fail(r, "export \"%s\" appears twice", duplicate);
    free(sorted);
    return ok;
}

static bool read_exports(reader *r, wasm_module_info *info, const func_space *fs)
{
    uint32_t n;
    if (!read_u32(r, &n))
        return false;
    if (n > (uint32_t)(r->end - r->p))
        return fail(r, "export count %u exceeds section size", n);
    info->exports = calloc(n ? n : 1, sizeof *info->exports);
    if (!info->exports)
        return fail(r, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        wasm_export *ex = &info->exports[i];
        info->export_count = i + 1;
        ex->name = read_name(r, "export", i, "name");
        uint32_t index;
        if (!ex->name || !read_u8(r, &ex->kind) || !read_u32(r, &index))
            return false;
        if (ex->kind == WASM_EXTERN_FUNC) {
            if (index >= fs->count)
                return fail(r, "export %s: function index %u out of range", ex->name, index);
            ex->type = fs->types[index];
        } else if (ex->kind > WASM_EXTERN_TAG) {
            return fail(r, "export %s has unknown kind %u", ex->name, ex->kind);
        }
    }
    return check_unique_exports(r, info);
}

bool wasm_reader_parse(const uint8_t *bytes, size_t len, wasm_module_info *info, char *err,
                       size_t err_size)
{
    static const uint8_t header[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    reader r = {bytes, bytes + len, err, err_size, false};
    memset(info, 0, sizeof *info);
    if (len < 8 || memcmp(bytes, "\0asm", 4) != 0)
        return fail(&r, "not a WebAssembly binary (bad magic)");
    if (memcmp(bytes, header, 8) != 0)
        return fail(&r, "unsupported WebAssembly version");
    r.p += 8;
    func_space fs = {NULL, 0};
    uint8_t last_id = 0;
    while (r.p < r.end && !r.failed) {
        uint8_t id;
        uint32_t size;
        if (!read_u8(&r, &id) || !read_u32(&r, &size))
            break;
        if ((size_t)(r.end - r.p) < size) {
            fail(&r, "section %u runs past the end of the module", id);
            break;
        }
        reader sec = {r.p, r.p + size, err, err_size, false};
        if (id != 0) {
            /* Known sections appear once, in order (12 = data count sits between 9 and 10). */
            uint8_t order = id == 12 ? 10 : id >= 10 ? (uint8_t)(id + 1) : id;
            if (id > 13 || order <= last_id) {
                fail(&r, "unexpected or repeated section %u", id);
                break;
            }
            last_id = order;
        }
        bool ok = true;
        switch (id) {
        case 1: ok = read_types(&sec, info); break;
        case 2: ok = read_imports(&sec, info, &fs); break;
        case 3: ok = read_functions(&sec, info, &fs); break;
        case 5: ok = read_memories(&sec); break;
        case 7: ok = read_exports(&sec, info, &fs); break;
        default: break;
        }
        if (!ok) {
            r.failed = true;
            break;
        }
        if ((id == 1 || id == 2 || id == 3 || id == 5 || id == 7) && sec.p != sec.end) {
            fail(&r, "section %u has %zu trailing bytes", id, (size_t)(sec.end - sec.p));
            break;
        }
        r.p += size;
    }
    free(fs.types);
    if (r.failed) {
        wasm_module_info_free(info);
        return false;
    }
    return true;
}

void wasm_module_info_free(wasm_module_info *info)
{
    for (uint32_t i = 0; i < info->import_count; i++) {
        free(info->imports[i].module);
        free(info->imports[i].name);
    }
    for (uint32_t i = 0; i < info->export_count; i++)
        free(info->exports[i].name);
    for (uint32_t i = 0; i < info->type_count; i++)
        free(info->types[i]);
    free(info->imports);
    free(info->exports);
    free(info->types);
    memset(info, 0, sizeof *info);
}

const wasm_export *wasm_find_export(const wasm_module_info *info, const char *name)
{
    for (uint32_t i = 0; i < info->export_count; i++)
        if (strcmp(info->exports[i].name, name) == 0)
            return &info->exports[i];
    return NULL;
}
