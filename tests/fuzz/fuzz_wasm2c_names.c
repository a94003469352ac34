/* fuzz_wasm2c_names.c - libFuzzer target: module-controlled names and custom sections against the
 * real wasm2c. The first input byte picks the mode:
 *   even: the rest is a whole module. When the reader accepts it, it is stripped of custom
 *         sections and translated by wasm2c; when wasm2c accepts it, the output check
 *         (w2c_guard) must pass it - the reader's names are the only names in it.
 *   odd:  the rest is six length-prefixed byte strings (u16 little endian length, at most 600):
 *         an import's module and field names, an export name, a custom section's name and
 *         payload, and a "name"-section function name, assembled into a module wasm2c can
 *         translate. The reader must accept it exactly when the three import/export names are
 *         in the alphabet (wasm_names.h), and say which name it refused in printable ASCII.
 *         Stripping must leave exactly the module without its custom sections. Then, the
 *         reader's verdict set aside (as if it had let the names through), wasm2c translates
 *         it and the output check must refuse it exactly when a name is outside the alphabet;
 *         when it passes, every comment and string literal of the output must be one of the
 *         fixed ones wasm2c writes for an honest module, or an import/export comment quoting
 *         the module's own names. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/wasm_build.h"
#include "runtime/c_scan.h"
#include "runtime/w2c_guard.h"
#include "runtime/wasm_names.h"
#include "runtime/wasm_reader.h"

#ifndef PORTAL_WASM2C
#define PORTAL_WASM2C "wasm2c"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], p_wasm[128], p_c[128], p_h[128];

static void cleanup(void)
{
    unlink(p_wasm);
    unlink(p_c);
    unlink(p_h);
    rmdir(dir);
}

/* The whole file, NUL-terminated (NULL when unreadable). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    wbuf w = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        wb_put(&w, chunk, got);
    fclose(f);
    wb_u8(&w, 0);
    *len = w.n - 1;
    return (char *)w.b;
}

/* wasm2c on `bytes` into app.c / app.h; true when it translated them. */
static bool translate(const uint8_t *bytes, size_t len)
{
    unlink(p_c);
    unlink(p_h);
    FILE *f = fopen(p_wasm, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len) {
        perror("fuzz_wasm2c_names: writing the module");
        abort();
    }
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(126);
        execl(PORTAL_WASM2C, PORTAL_WASM2C, p_wasm, "-n", "app", "-o", p_c, (char *)NULL);
        _exit(127);
    }
    int status;
    pid_t got;
    do /* libFuzzer's -timeout alarm interrupts the wait */
        got = pid < 0 ? -1 : waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    if (got != pid) {
        perror("fuzz_wasm2c_names: running wasm2c");
        abort();
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        fprintf(stderr, "fuzz_wasm2c_names: cannot run %s\n", PORTAL_WASM2C);
        abort();
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- the fixed comments and strings wasm2c writes for an honest module ---- */

typedef struct text_set {
    char **items;
    size_t count;
} text_set;

static text_set template_texts;

static bool set_has(const text_set *s, const c_item *item)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->items[i][0] == "bslc"[item->kind] && strlen(s->items[i] + 1) == item->len &&
            memcmp(s->items[i] + 1, item->body, item->len) == 0)
            return true;
    return false;
}

static bool collect(void *ctx, const c_item *item, char *err, size_t err_size)
{
    (void)err, (void)err_size;
    text_set *s = ctx;
    if (memchr(item->body, '\'', item->len) || set_has(s, item))
        return true;
    char **grown = realloc(s->items, (s->count + 1) * sizeof *grown);
    char *text = malloc(item->len + 2);
    if (!grown || !text)
        abort();
    text[0] = "bslc"[item->kind];
    memcpy(text + 1, item->body, item->len);
    text[item->len + 1] = '\0';
    s->items = grown;
    s->items[s->count++] = text;
    return true;
}

static void init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/w2cfuzz-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz_wasm2c_names: mkdtemp");
        abort();
    }
    snprintf(p_wasm, sizeof p_wasm, "%s/app.wasm", dir);
    snprintf(p_c, sizeof p_c, "%s/app.c", dir);
    snprintf(p_h, sizeof p_h, "%s/app.h", dir);
    atexit(cleanup);
    wb_names honest = {"m", "f", "e", "c", "", "fn", 1, 1, 1, 1, 0, 2, false};
    wbuf w = {0};
    wb_app_module(&w, &honest);
    if (!translate(w.b, w.n)) {
        fprintf(stderr, "fuzz_wasm2c_names: wasm2c refused the honest module\n");
        abort();
    }
    wb_free(&w);
    char err[256];
    static const char *const files[2] = {p_c, p_h};
    for (int i = 0; i < 2; i++) {
        size_t len;
        char *text = slurp(files[i], &len);
        if (!text || !c_scan(text, len, collect, &template_texts, err, sizeof err)) {
            fprintf(stderr, "fuzz_wasm2c_names: honest output: %s\n", text ? err : "unreadable");
            abort();
        }
        free(text);
    }
}

/* ---- the output of a module with fuzzed names ---- */

typedef struct strict {
    const wb_names *n;
} strict;

static bool quotes(const c_item *item, const char *prefix, const char *a, size_t an,
                   const char *b, size_t bn)
{
    wbuf w = {0};
    wb_put(&w, prefix, strlen(prefix));
    wb_u8(&w, '\'');
    wb_put(&w, a, an);
    wb_u8(&w, '\'');
    if (b) {
        wb_put(&w, " '", 2);
        wb_put(&w, b, bn);
        wb_u8(&w, '\'');
    }
    wb_u8(&w, ' ');
    bool same = w.n == item->len && memcmp(w.b, item->body, w.n) == 0;
    wb_free(&w);
    return same;
}

/* Every comment and literal is a fixed one, or quotes exactly this module's names. */
static bool strict_item(void *ctx, const c_item *item, char *err, size_t err_size)
{
    const wb_names *n = ((strict *)ctx)->n;
    if (set_has(&template_texts, item) ||
        (item->kind == C_BLOCK_COMMENT &&
         (quotes(item, " export: ", "memory", 6, NULL, 0) ||
          quotes(item, " export: ", n->export_name, n->export_len, NULL, 0) ||
          quotes(item, " import: ", n->module, n->module_len, n->field, n->field_len))))
        return true;
    snprintf(err, err_size, "unexpected %s at line %zu: %.*s",
             item->kind == C_STRING ? "string" : "comment", item->line, (int)item->len,
             item->body);
    return false;
}

static const uint8_t *field(const uint8_t **p, const uint8_t *end, size_t *len)
{
    size_t n = 0;
    if (end - *p >= 2) {
        n = (size_t)((*p)[0] | (*p)[1] << 8) % 601;
        *p += 2;
    }
    if (n > (size_t)(end - *p))
        n = (size_t)(end - *p);
    const uint8_t *start = *p;
    *p += n;
    *len = n;
    return start;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

static void names_mode(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    wb_names n;
    memset(&n, 0, sizeof n);
    n.module = (const char *)field(&p, end, &n.module_len);
    n.field = (const char *)field(&p, end, &n.field_len);
    n.export_name = (const char *)field(&p, end, &n.export_len);
    n.custom_name = (const char *)field(&p, end, &n.custom_name_len);
    n.custom = (const char *)field(&p, end, &n.custom_len);
    n.func_name = (const char *)field(&p, end, &n.func_name_len);
    bool module_ok = wasm_name_ok((const uint8_t *)n.module, n.module_len);
    bool field_ok = wasm_name_ok((const uint8_t *)n.field, n.field_len);
    bool export_ok = wasm_name_ok((const uint8_t *)n.export_name, n.export_len);
    bool names_ok = module_ok && field_ok && export_ok;

    wbuf w = {0};
    wb_app_module(&w, &n);
    wasm_module_info info;
    char err[512];
    err[0] = '\0';
    bool read = wasm_reader_parse(w.b, w.n, &info, err, sizeof err);
    if (read != names_ok) {
        fprintf(stderr, "reader said %d for names allowed=%d: %s\n", read, names_ok, err);
        __builtin_trap();
    }
    if (read) {
        wasm_module_info_free(&info);
    } else {
        const char *want = !module_ok ? "import 0 module name \""
                           : !field_ok ? "import 0 field name \""
                                       : "export 1 name \"";
        if (strncmp(err, want, strlen(want)) != 0 || !printable(err)) {
            fprintf(stderr, "reader message: %s\n", err);
            __builtin_trap();
        }
    }

    uint8_t *stripped;
    size_t stripped_len;
    unsigned dropped;
    if (!w2c_strip_custom_sections(w.b, w.n, &stripped, &stripped_len, &dropped, err,
                                   sizeof err))
        __builtin_trap();
    wb_names bare = n;
    bare.no_custom = true;
    wbuf want = {0};
    wb_app_module(&want, &bare);
    if (dropped != 2 || stripped_len != want.n || memcmp(stripped, want.b, want.n) != 0)
        __builtin_trap();
    wb_free(&want);
    wb_free(&w);

    bool translated = translate(stripped, stripped_len);
    free(stripped);
    if (!translated)
        return; /* e.g. a name that is not UTF-8, or an export named "memory" twice */

    /* The guard on its own, with the names the module really has. Names are C strings there:
     * one with a NUL byte is cut, and refused by the guard's byte rule all the same. */
    char *names[3];
    names[0] = strndup(n.module, n.module_len);
    names[1] = strndup(n.field, n.field_len);
    names[2] = strndup(n.export_name, n.export_len);
    if (!names[0] || !names[1] || !names[2])
        abort();
    wasm_import imports[1] = {{names[0], names[1], WASM_EXTERN_FUNC, "i:"}};
    wasm_export exports[2] = {{"memory", WASM_EXTERN_MEMORY, NULL},
                              {names[2], WASM_EXTERN_FUNC, "i:"}};
    wasm_module_info guard_info = {0, NULL, 1, imports, 2, exports};
    bool passed = w2c_check_output(p_c, p_h, &guard_info, err, sizeof err);
    if (passed != names_ok) {
        fprintf(stderr, "guard said %d for names allowed=%d: %s\n", passed, names_ok, err);
        __builtin_trap();
    }
    if (passed) {
        strict ctx = {&n};
        static const char *const files[2] = {p_c, p_h};
        for (int i = 0; i < 2; i++) {
            size_t len;
            char *text = slurp(files[i], &len);
            bool ok = text && c_scan(text, len, strict_item, &ctx, err, sizeof err);
            free(text);
            if (!ok) {
                fprintf(stderr, "%s: %s\n", files[i], err);
                __builtin_trap();
            }
        }
    }
    for (int i = 0; i < 3; i++)
        free(names[i]);
}

static void module_mode(const uint8_t *data, size_t size)
{
    wasm_module_info info;
    char err[512];
    if (!wasm_reader_parse(data, size, &info, err, sizeof err))
        return;
    uint8_t *stripped;
    size_t stripped_len;
    /* The reader accepted the section framing: stripping cannot fail. */
    if (!w2c_strip_custom_sections(data, size, &stripped, &stripped_len, NULL, err, sizeof err))
        __builtin_trap();
    if (translate(stripped, stripped_len) && !w2c_check_output(p_c, p_h, &info, err, sizeof err)) {
        fprintf(stderr, "guard refused wasm2c's output for a module the reader accepted: %s\n",
                err);
        __builtin_trap();
    }
    free(stripped);
    wasm_module_info_free(&info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        init();
        ready = true;
    }
    if (size == 0)
        return 0;
    if (data[0] & 1)
        names_mode(data + 1, size - 1);
    else
        module_mode(data + 1, size - 1);
    return 0;
}
