/* test_w2c_guard.c - the check on wasm2c's output (w2c_guard.c, c_scan.c), on its own, with the
 * module reader's name alphabet out of the way: the strict C scanner's rules, the comment shapes,
 * and the real wasm2c run on modules whose names close the comment they are quoted in. The guard
 * must refuse every one of those outputs, and pass wasm2c's output for honest names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/c_scan.h"
#include "runtime/w2c_guard.h"
#include "runtime/wasm_reader.h"
#include "testlib.h"
#include "wasm_build.h"

static int items;
static bool count_item(void *ctx, const c_item *item, char *err, size_t err_size)
{
    (void)ctx, (void)item, (void)err, (void)err_size;
    items++;
    return true;
}

static bool scan_ok(const char *text, char *err, size_t err_size)
{
    items = 0;
    return c_scan(text, strlen(text), count_item, NULL, err, err_size);
}

static void test_scan_rules(void)
{
    char err[256];
    CHECK(scan_ok("int a; /* c */ // d\nchar *s = \"x\\\"y\"; char c = '\\'';\n", err,
                  sizeof err));
    CHECK_EQ_INT(items, 4);
    CHECK(scan_ok("#define M(x) \\\n  (x)\n", err, sizeof err));
    CHECK(!scan_ok("int a; // comment \\\nint b;\n", err, sizeof err));
    CHECK_STR(err, "line 1: backslash in a comment");
    CHECK(!scan_ok("/* a ?\?/\n */", err, sizeof err));
    CHECK_STR(err, "line 1: trigraph");
    CHECK(!scan_ok("int a;\n/* x\r */", err, sizeof err));
    CHECK_STR(err, "line 2: byte 0x0d (only printable ASCII is expected)");
    CHECK(!scan_ok("/* \xc3\xa9 */", err, sizeof err));
    CHECK(!scan_ok("/* open", err, sizeof err));
    CHECK_STR(err, "line 1: unterminated comment");
    CHECK(!scan_ok("char *s = \"abc\nd\";", err, sizeof err));
    CHECK_STR(err, "line 1: unterminated literal");
    CHECK(!scan_ok("char *s = \"abc\\\nd\";", err, sizeof err));
    CHECK(!scan_ok("int a = 1 /\\\n* b */;", err, sizeof err));
    CHECK_STR(err, "line 1: comment opened across a line splice");
    CHECK(!scan_ok("int a = 1 \\ 2;", err, sizeof err));
    CHECK(!scan_ok("char c = '", err, sizeof err));
}

static bool guard(const char *c_text, const char *h_text, const wasm_module_info *info,
                  char *err, size_t err_size)
{
    return w2c_check_output_text(c_text, strlen(c_text), h_text, strlen(h_text), info, err,
                                 err_size);
}

static void test_shapes(void)
{
    wasm_import imports[] = {{"portal", "millis", 0, ":i"}};
    wasm_export exports[] = {{"memory", 2, NULL}, {"_start", 0, ":"}};
    wasm_module_info info = {0, NULL, 1, imports, 2, exports};
    char err[512];
    const char *c_ok = "/* export: 'memory' */\nx;\n/* export: '_start' */\ny;\n// plain\n";
    const char *h_ok = "/* import: 'portal' 'millis' */\n/* export: 'memory' */\n"
                       "/* export: '_start' */\n";
    CHECK(guard(c_ok, h_ok, &info, err, sizeof err));
    /* an export quoted twice, or never */
    CHECK(!guard("/* export: 'memory' */ /* export: 'memory' */ /* export: '_start' */", h_ok,
                 &info, err, sizeof err));
    CHECK_STR(err, "app.c quotes export memory 2 times, expected once");
    CHECK(!guard("/* export: 'memory' */", h_ok, &info, err, sizeof err));
    CHECK_STR(err, "app.c quotes export _start 0 times, expected once");
    /* the import never quoted */
    CHECK(!guard(c_ok, "/* export: 'memory' */ /* export: '_start' */", &info, err, sizeof err));
    CHECK_STR(err, "app.h does not quote import portal millis");
    /* shapes */
    CHECK(!guard("/* export: 'memory' 'x' */", h_ok, &info, err, sizeof err));
    CHECK_STR(err, "app.c line 1: malformed export comment: \"\\x20export\\x3a\\x20\\x27memory\\x27"
                   "\\x20\\x27x\\x27\\x20\"");
    CHECK(!guard("/* export: 'other' */", h_ok, &info, err, sizeof err));
    CHECK(strstr(err, "export comment naming no export") != NULL);
    CHECK(!guard(c_ok, "/* import: 'portal' 'other' */", &info, err, sizeof err));
    CHECK(strstr(err, "app.h line 1: import comment naming no import") != NULL);
    CHECK(!guard("/* it's */", h_ok, &info, err, sizeof err));
    CHECK(strstr(err, "comment with a quote") != NULL);
    CHECK(!guard("// it's\n", h_ok, &info, err, sizeof err));
    CHECK(strstr(err, "line comment with a quote") != NULL);
    /* the attack shape: a name that closes the comment and reopens one, split by the compiler
     * into two well-formed comments around injected code; the module's real name is never
     * quoted whole */
    wasm_export evil[] = {{"memory", 2, NULL}, {"a' */ int injected; /* export: 'b", 0, ":"},
                          {"a", 0, ":"}, {"b", 0, ":"}};
    wasm_module_info evil_info = {0, NULL, 1, imports, 4, evil};
    const char *c_evil = "/* export: 'memory' */\n/* export: 'a' */ int injected; "
                         "/* export: 'b' */\n/* export: 'a' */\n/* export: 'b' */\n";
    CHECK(!guard(c_evil, h_ok, &evil_info, err, sizeof err));
    CHECK_STR(err, "app.c quotes export a' */ int injected; /* export: 'b 0 times, expected once");
}

/* Runs the real wasm2c on `wasm` into dir/app.c and dir/app.h; false if wasm2c refuses it. */
static bool run_wasm2c(const char *dir, const wbuf *wasm)
{
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/app.wasm", dir);
    snprintf(out, sizeof out, "%s/app.c", dir);
    FILE *f = fopen(in, "wb");
    if (!f)
        return false;
    fwrite(wasm->b, 1, wasm->n, f);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stderr);
        execlp("wasm2c", "wasm2c", in, "-n", "app", "-o", out, (char *)NULL);
        _exit(127);
    }
    return pid > 0 && testlib_reap(pid, 60000) == 0;
}

/* wasm2c's real output for a module with these names, checked with `info` built from the same
 * names (as if the reader had let them through). */
static bool guard_real(const char *dir, const char *module, const char *field,
                       const char *export_name, char *err, size_t err_size)
{
    wb_names n = {module, field, export_name, "c", "*/ x", "f", strlen(module), strlen(field),
                  strlen(export_name), 1, 4, 1, false};
    wbuf w = {0};
    wb_app_module(&w, &n);
    bool translated = run_wasm2c(dir, &w);
    wb_free(&w);
    CHECK(translated);
    if (!translated) {
        snprintf(err, err_size, "wasm2c refused the module");
        return false;
    }
    wasm_import imports[] = {{(char *)module, (char *)field, 0, "i:"}};
    wasm_export exports[] = {{"memory", 2, NULL}, {(char *)export_name, 0, "i:"}};
    wasm_module_info info = {0, NULL, 1, imports, 2, exports};
    char c_path[512], h_path[512];
    snprintf(c_path, sizeof c_path, "%s/app.c", dir);
    snprintf(h_path, sizeof h_path, "%s/app.h", dir);
    return w2c_check_output(c_path, h_path, &info, err, err_size);
}

static void test_real_wasm2c(void)
{
    char dir[] = "/tmp/portal-guard-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(!"mkdtemp");
        return;
    }
    char err[512];
    CHECK(guard_real(dir, "portal", "millis", "portalAlloc", err, sizeof err));
    static const char *const attacks[] = {
        ("x' */\n#ifndef PWN\n#define PWN\nextern int puts(const char *);\n"
         "__attribute__((constructor)) static void pwn(void) { puts(\"INJECTED\"); }\n#endif\n/* '"),
        "x' */ int injected; /* export: 'y",
        "x */ // \\\nint injected;",
        "x ?\?/\nint injected;",
        "x\nint injected;\n",
        "x\r",
        "x'",
        "\xc3\xa9",
    };
    for (size_t i = 0; i < sizeof attacks / sizeof attacks[0]; i++) {
        CHECK(!guard_real(dir, "m", "f", attacks[i], err, sizeof err));
        CHECK(!guard_real(dir, attacks[i], "f", "e", err, sizeof err));
        CHECK(!guard_real(dir, "m", attacks[i], "e", err, sizeof err));
    }
    static const char *const files[] = {"app.wasm", "app.c", "app.h"};
    for (size_t i = 0; i < 3; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* 100,000 exports and imports: every comment is looked up by binary search, not by walking all
 * of them (that took minutes, a hang for the host). */
static void test_many_names(void)
{
    enum { COUNT = 100000 };
    wasm_export *exports = calloc(COUNT, sizeof *exports);
    wasm_import *imports = calloc(COUNT, sizeof *imports);
    char *names = malloc((size_t)COUNT * 16);
    wbuf c = {0}, h = {0};
    if (!exports || !imports || !names) {
        CHECK(!"out of memory");
        goto out;
    }
    for (int i = 0; i < COUNT; i++) {
        /* descending order, so that a sort is needed */
        char *name = names + (size_t)i * 16;
        snprintf(name, 16, "n%06d", COUNT - i);
        exports[i] = (wasm_export){name, WASM_EXTERN_FUNC, ":"};
        imports[i] = (wasm_import){"env", name, WASM_EXTERN_FUNC, ":"};
        char line[64];
        int n = snprintf(line, sizeof line, "/* export: '%s' */\n", name);
        wb_put(&c, line, (size_t)n);
        wb_put(&h, line, (size_t)n);
        n = snprintf(line, sizeof line, "/* import: 'env' '%s' */\n", name);
        wb_put(&h, line, (size_t)n);
    }
    wasm_module_info info = {0, NULL, COUNT, imports, COUNT, exports};
    char err[256];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(w2c_check_output_text((char *)c.b, c.n, (char *)h.b, h.n, &info, err, sizeof err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    const char *vg = getenv("PORTAL_VALGRIND");
    double bound = vg && strcmp(vg, "1") == 0 ? 120 : 10;
    printf("check of %d exports and %d imports: %.3f s (bound %.0f s)\n", COUNT, COUNT, s, bound);
    CHECK(s < bound);
    /* one export quoted nowhere is still found out */
    c.n -= strlen("/* export: 'n000001' */\n");
    CHECK(!w2c_check_output_text((char *)c.b, c.n, (char *)h.b, h.n, &info, err, sizeof err));
    CHECK_STR(err, "app.c quotes export n000001 0 times, expected once");
out:
    wb_free(&c);
    wb_free(&h);
    free(names);
    free(exports);
    free(imports);
}

int main(void)
{
    test_scan_rules();
    test_shapes();
    test_real_wasm2c();
    test_many_names();
    printf("%d passed, %d failed\n", testlib_passed, testlib_failed);
    return testlib_failed ? 1 : 0;
}
