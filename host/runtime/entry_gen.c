/* entry_gen.c - writes entry.c next to wasm2c's output: the portal_entry_* functions portal-host
 * looks up after dlopen (module.h's portal_module_entry), read off the declarations in wasm2c's
 * header, and a trapping stub for every import the host does not link (linker.h). */
#include "entry_gen.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "errbuf.h"

/* The declaration line after `marker` in `header` (its length in *len), searched from `from`
 * first and then from the start; NULL when absent. */
static const char *find_decl(const char *header, const char *from, const char *marker, size_t *len)
{
    const char *p = strstr(from, marker);
    if (!p && from != header)
        p = strstr(header, marker);
    if (!p || !(p = strchr(p, '\n')))
        return NULL;
    p++;
    const char *end = strchr(p, '\n');
    *len = end ? (size_t)(end - p) : strlen(p);
    return p;
}

/* The declaration line after `marker` in `header`, copied into out; false when absent. */
static bool decl_after(const char *header, const char *marker, char *out, size_t size)
{
    size_t n;
    const char *p = find_decl(header, header, marker, &n);
    if (!p || n + 1 > size)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* Splits "RET SYM(T0, T1);" into its parts. */
static bool split_decl(const char *decl, char *ret, char *sym, char *params, size_t size)
{
    const char *open = strchr(decl, '('), *close = strrchr(decl, ')');
    if (!open || !close || close < open)
        return false;
    const char *s = open;
    while (s > decl && (isalnum((unsigned char)s[-1]) || s[-1] == '_'))
        s--;
    size_t ret_len = (size_t)(s - decl), sym_len = (size_t)(open - s),
           par_len = (size_t)(close - open - 1);
    if (sym_len == 0 || ret_len >= size || sym_len >= size || par_len >= size)
        return false;
    memcpy(ret, decl, ret_len);
    ret[ret_len] = '\0';
    memcpy(sym, s, sym_len);
    sym[sym_len] = '\0';
    memcpy(params, open + 1, par_len);
    params[par_len] = '\0';
    return true;
}

static void c_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '_' || c == '.' || c == '-')
            fputc(c, f);
        else
            fprintf(f, "\\%03o", c);
    }
    fputc('"', f);
}

/* Writes a trapping stub for an unlinked import. *cursor is where the previous stub's declaration
 * ended: wasm2c declares imports in module order, so the stubs of a module with many unlinked
 * imports are found in one pass over the header, not one pass each. The buffers are sized by the
 * declaration, which grows with the import's parameters and mangled names. */
static bool write_stub(FILE *f, const char *header, const char **cursor, const wasm_import *im)
{
    char marker[1024];
    snprintf(marker, sizeof marker, "/* import: '%s' '%s' */", im->module, im->name);
    size_t n;
    const char *line = find_decl(header, *cursor, marker, &n);
    if (!line)
        return false;
    *cursor = line + n;
    char *buf = malloc(4 * (n + 1));
    if (!buf)
        return false;
    char *decl = buf, *ret = buf + (n + 1), *sym = buf + 2 * (n + 1), *params = buf + 3 * (n + 1);
    memcpy(decl, line, n);
    decl[n] = '\0';
    if (!split_decl(decl, ret, sym, params, n + 1)) {
        free(buf);
        return false;
    }
    fprintf(f, "__attribute__((visibility(\"hidden\"))) %s%s(", ret, sym);
    int index = 0;
    char *save = NULL;
    for (char *tok = strtok_r(params, ",", &save); tok; tok = strtok_r(NULL, ",", &save), index++) {
        while (*tok == ' ')
            tok++;
        fprintf(f, "%s%s p%d", index ? ", " : "", tok, index);
    }
    fprintf(f, ")\n{\n    portal_host_unlinked(p0, ");
    c_string(f, im->module);
    fputs(", ", f);
    c_string(f, im->name);
    fputs(");\n}\n", f);
    free(buf);
    return true;
}

static bool write_entry(const char *dir, const char *header, const wasm_module_info *info,
                        const portal_link_report *report, char *err, size_t err_size)
{
    struct {
        const char *export_name, *field;
    } exports[] = {{"memory", "memory"},
                   {"_initialize", "initialize"},
                   {"_start", "start"},
                   {"portalContractVersion", "contract_version"},
                   {"portalMicroTaskStep", "microtask_step"},
                   {"portalAlloc", "alloc"},
                   {"portalFree", "free"},
                   {"ppShutdown", "shutdown"}};
    char decl[2048], ret[2048], sym[2048], params[2048];
    if (!decl_after(header, "void Z_app_init_module(void);", decl, sizeof decl) ||
        !strstr(header, "void Z_app_instantiate(")) {
        return portal_err_set(err, err_size, "unexpected wasm2c output (no Z_app_instantiate)");
    }
    const char *inst = strstr(header, "void Z_app_instantiate(");
    const char *inst_end = strchr(inst, ';');
    int host_args = 0;
    for (const char *p = inst; p < inst_end; p++)
        host_args += *p == ',';

    FILE *f = portal_cache_create_file(dir, "entry.c");
    if (!f)
        return portal_err_set(err, err_size, "cannot write %s/entry.c: %s", dir, strerror(errno));
    fputs("/* generated by portal-host: entry points and unlinked-import stubs */\n"
          "#include <stddef.h>\n#include \"app.h\"\n"
          "#define ENTRY __attribute__((visibility(\"default\")))\n"
          "_Noreturn void portal_host_unlinked(void *instance, const char *module, const char "
          "*name);\n"
          "ENTRY size_t portal_entry_instance_size(void) { return sizeof(Z_app_instance_t); }\n"
          "ENTRY void portal_entry_init_module(void) { Z_app_init_module(); }\n"
          "ENTRY void portal_entry_free_instance(void *i) { Z_app_free(i); }\n"
          "ENTRY void portal_entry_instantiate(void *i, void *h) { (void)h; Z_app_instantiate(i",
          f);
    for (int i = 0; i < host_args; i++)
        fputs(", h", f);
    fputs("); }\n", f);
    for (size_t i = 0; i < sizeof exports / sizeof exports[0]; i++) {
        if (!wasm_find_export(info, exports[i].export_name))
            continue;
        char marker[256];
        snprintf(marker, sizeof marker, "/* export: '%s' */", exports[i].export_name);
        if (!decl_after(header, marker, decl, sizeof decl) ||
            !split_decl(decl, ret, sym, params, sizeof ret)) {
            fclose(f);
            return portal_err_set(err, err_size, "unexpected wasm2c output for export %s",
                           exports[i].export_name);
        }
        const char *field = exports[i].field;
        if (strcmp(field, "memory") == 0)
            fprintf(f, "ENTRY void *portal_entry_memory(void *i) { return %s(i); }\n", sym);
        else if (strcmp(field, "microtask_step") == 0)
            fprintf(f, "ENTRY u64 portal_entry_microtask_step(void *i, u32 h, u32 n) "
                       "{ return %s(i, h, n); }\n", sym);
        else if (strcmp(field, "alloc") == 0)
            fprintf(f, "ENTRY u32 portal_entry_alloc(void *i, u32 n) { return %s(i, n); }\n", sym);
        else if (strcmp(field, "free") == 0)
            fprintf(f, "ENTRY void portal_entry_free(void *i, u32 p, u32 n) { %s(i, p, n); }\n",
                    sym);
        else if (strcmp(field, "contract_version") == 0)
            fprintf(f, "ENTRY u32 portal_entry_contract_version(void *i) { return %s(i); }\n", sym);
        else
            fprintf(f, "ENTRY void portal_entry_%s(void *i) { %s(i); }\n", field, sym);
    }
    const char *cursor = header;
    for (unsigned i = 0; i < report->unlinked_count; i++) {
        const wasm_import *im = &info->imports[report->unlinked[i]];
        if (!write_stub(f, header, &cursor, im)) {
            fclose(f);
            return portal_err_set(err, err_size, "cannot find wasm2c declaration of import %s.%s",
                           im->module, im->name);
        }
    }
    if (fclose(f) != 0)
        return portal_err_set(err, err_size, "cannot write %s/entry.c", dir);
    return true;
}

/* The header wasm2c wrote, read without following a symbolic link. */
static char *read_header(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/app.h", dir);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char *s = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (cap - n < 65536) {
            char *grown = realloc(s, cap = cap ? cap * 2 : 65536);
            if (!grown)
                break;
            s = grown;
        }
        size_t got = fread(s + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            fclose(f);
            s[n] = '\0';
            return s;
        }
    }
    fclose(f);
    free(s);
    return NULL;
}

bool portal_entry_write(const char *dir, const wasm_module_info *info,
                        const portal_link_report *report, char *err, size_t err_size)
{
    char *header = read_header(dir);
    if (!header)
        return portal_err_set(err, err_size, "wasm2c wrote no header");
    bool ok = write_entry(dir, header, info, report, err, err_size);
    free(header);
    return ok;
}
