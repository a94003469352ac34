/* test_wasm_reader.c - the module reader's limits: function types at and around the largest
 * accepted size (the 1023-param type once wrote past a 1024-byte stack buffer), the import and
 * export name alphabet (names reach wasm2c's C output), the printable form of refused names, and
 * the wasm2c input without custom sections. */
#include <stdio.h>
#include <string.h>

#include "runtime/linker.h"
#include "runtime/w2c_guard.h"
#include "runtime/wasm_names.h"
#include "runtime/wasm_reader.h"
#include "testlib.h"
#include "wasm_build.h"

/* A module with one function type of `params` i32 params and `results` i64 results. */
static void type_module(wbuf *w, uint32_t params, uint32_t results)
{
    wbuf s = {0};
    wb_header(w);
    wb_leb(&s, 1);
    wb_u8(&s, 0x60);
    wb_leb(&s, params);
    for (uint32_t i = 0; i < params; i++)
        wb_u8(&s, 0x7f);
    wb_leb(&s, results);
    for (uint32_t i = 0; i < results; i++)
        wb_u8(&s, 0x7e);
    wb_section(w, 1, &s);
    wb_free(&s);
}

static void test_type_sizes(void)
{
    static const uint32_t sizes[] = {0, 1, 999, 1000, 1001, 1022, 1023, 1024, 1025, 5000};
    for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++) {
        for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++) {
            uint32_t np = sizes[a], nr = sizes[b];
            wbuf w = {0};
            type_module(&w, np, nr);
            wasm_module_info info;
            char err[256] = "";
            bool ok = wasm_reader_parse(w.b, w.n, &info, err, sizeof err);
            bool want = np <= WASM_MAX_PARAMS && nr <= WASM_MAX_RESULTS;
            CHECK_EQ_INT(ok, want);
            if (ok) {
                CHECK_EQ_INT(info.type_count, 1);
                const char *t = info.types[0];
                CHECK_EQ_INT(strlen(t), np + 1 + nr);
                CHECK(strspn(t, "i") == np && t[np] == ':' && strspn(t + np + 1, "I") == nr);
                wasm_module_info_free(&info);
            } else {
                char want_msg[128];
                if (np > WASM_MAX_PARAMS)
                    snprintf(want_msg, sizeof want_msg,
                             "type 0 has %u params, at most 1000 are supported", np);
                else
                    snprintf(want_msg, sizeof want_msg,
                             "type 0 has %u results, at most 1000 are supported", nr);
                CHECK_STR(err, want_msg);
            }
            wb_free(&w);
        }
    }
}

/* Parses an app module whose import/export names are given; returns the reader's verdict. */
static bool parse_names(const char *module, size_t mlen, const char *field, size_t flen,
                        const char *export_name, size_t elen, char *err, size_t err_size)
{
    wb_names n = {module, field, export_name, "c", "x", "f", mlen, flen, elen, 1, 1, 1, false};
    wbuf w = {0};
    wb_app_module(&w, &n);
    wasm_module_info info;
    bool ok = wasm_reader_parse(w.b, w.n, &info, err, err_size);
    if (ok)
        wasm_module_info_free(&info);
    wb_free(&w);
    return ok;
}

static void test_name_alphabet(void)
{
    char err[512];
    /* every byte value alone as an export name: only the alphabet passes */
    int accepted = 0;
    for (int c = 0; c < 256; c++) {
        char name[1] = {(char)c};
        bool ok = parse_names("m", 1, "f", 1, name, 1, err, sizeof err);
        bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-' || c == '$';
        CHECK_EQ_INT(ok, want);
        CHECK_EQ_INT(wasm_name_byte_ok((uint8_t)c), want);
        accepted += ok;
    }
    CHECK_EQ_INT(accepted, 26 + 26 + 10 + 4);
    /* the names real apps use */
    CHECK(parse_names("wasi_snapshot_preview1", 22, "fd_write", 8, "portalMicroTaskStep", 19,
                      err, sizeof err));
    CHECK(parse_names("portal_socket_tls", 17, "tlsServerConfigCreate", 21, "_start", 6, err,
                      sizeof err));
    CHECK(parse_names("GOT.mem", 7, "a-b$c", 5, "__indirect_function_table", 25, err,
                      sizeof err));
    /* lengths: 0 refused, 1 and 255 accepted, 256 refused */
    char long_name[300];
    memset(long_name, 'a', sizeof long_name);
    CHECK(!parse_names("m", 1, "f", 1, long_name, 0, err, sizeof err));
    CHECK_STR(err, "export 1 name \"\" (0 bytes) is not allowed: names must be 1 to 255 bytes of "
                   "A-Z a-z 0-9 _ . - $");
    CHECK(parse_names("m", 1, "f", 1, long_name, 255, err, sizeof err));
    CHECK(!parse_names("m", 1, "f", 1, long_name, 256, err, sizeof err));
    CHECK_STR(err, "export 1 name \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" (256 bytes) is "
                   "not allowed: names must be 1 to 255 bytes of A-Z a-z 0-9 _ . - $");
    CHECK(parse_names(long_name, 255, long_name, 255, "e", 1, err, sizeof err));
    /* the comment breakers, in the module name, the field name and the export name */
    static const char *const hostile[] = {"a*/b", "a//b\\\nc", "a?\?/\nb", "a\nb", "a\rb",
                                          "a\"b", "a'b", "a b", "\xc3\xa9", "a\0b"};
    static const size_t hostile_len[] = {4, 7, 6, 3, 3, 3, 3, 3, 2, 3};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        CHECK(!parse_names(hostile[i], hostile_len[i], "f", 1, "e", 1, err, sizeof err));
        CHECK(strncmp(err, "import 0 module name \"", 22) == 0);
        CHECK(!parse_names("m", 1, hostile[i], hostile_len[i], "e", 1, err, sizeof err));
        CHECK(strncmp(err, "import 0 field name \"", 21) == 0);
        CHECK(!parse_names("m", 1, "f", 1, hostile[i], hostile_len[i], err, sizeof err));
        CHECK(strncmp(err, "export 1 name \"", 15) == 0);
        /* the message itself is printable ASCII */
        for (const char *p = err; *p; p++)
            CHECK(*p >= 0x20 && *p <= 0x7e);
    }
    CHECK(!parse_names("m", 1, "f", 1, "x*/ y\n", 6, err, sizeof err));
    CHECK_STR(err, "export 1 name \"x\\x2a\\x2f\\x20y\\x0a\" (6 bytes) is not allowed: names must "
                   "be 1 to 255 bytes of A-Z a-z 0-9 _ . - $");
    CHECK(!parse_names("m", 1, "a\0b", 3, "e", 1, err, sizeof err));
    CHECK_STR(err, "import 0 field name \"a\\x00b\" (3 bytes) is not allowed: names must be 1 to "
                   "255 bytes of A-Z a-z 0-9 _ . - $");
}

static void test_printable(void)
{
    char out[WASM_NAME_PRINT_SIZE];
    uint8_t all_bad[300];
    memset(all_bad, 0xff, sizeof all_bad);
    wasm_name_printable(all_bad, sizeof all_bad, out, sizeof out);
    /* 40 bytes shown as \xff, cut mark, both quotes: the size the header promises */
    CHECK_EQ_INT(strlen(out), 2 + 40 * 4 + 3);
    CHECK_EQ_INT(strlen(out) + 1, sizeof out);
    char small[10];
    wasm_name_printable(all_bad, sizeof all_bad, small, sizeof small);
    CHECK_STR(small, "\"\\xff...\"");
    CHECK_EQ_INT(strlen(small), 9);
    wasm_name_printable((const uint8_t *)"ok", 2, small, sizeof small);
    CHECK_STR(small, "\"ok\"");
    wasm_name_printable((const uint8_t *)"ok", 2, small, 3);
    CHECK_STR(small, "\"\"");
}

static bool holds(const uint8_t *buf, size_t len, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, text, n) == 0)
            return true;
    return false;
}

static void test_strip(void)
{
    wb_names n = {"m", "f", "e", "zz-custom", "*/ payload", "fname", 1, 1, 1, 9, 10, 5, false};
    wbuf w = {0};
    wb_app_module(&w, &n);
    uint8_t *out;
    size_t out_len;
    unsigned dropped;
    char err[256];
    CHECK(w2c_strip_custom_sections(w.b, w.n, &out, &out_len, &dropped, err, sizeof err));
    CHECK_EQ_INT(dropped, 2);
    CHECK(out_len < w.n);
    CHECK(holds(w.b, w.n, "payload") && holds(w.b, w.n, "fname"));
    CHECK(!holds(out, out_len, "payload") && !holds(out, out_len, "fname"));
    /* everything else is kept, byte for byte, in order */
    wasm_module_info a, b;
    CHECK(wasm_reader_parse(w.b, w.n, &a, err, sizeof err));
    CHECK(wasm_reader_parse(out, out_len, &b, err, sizeof err));
    CHECK_EQ_INT(a.export_count, b.export_count);
    CHECK_EQ_INT(a.import_count, b.import_count);
    wasm_module_info_free(&a);
    wasm_module_info_free(&b);
    free(out);
    /* framing that runs past the end is refused, not read past */
    CHECK(!w2c_strip_custom_sections(w.b, w.n - 1, &out, &out_len, &dropped, err, sizeof err));
    CHECK(out == NULL);
    static const uint8_t bad_leb[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x7f};
    CHECK(!w2c_strip_custom_sections(bad_leb, sizeof bad_leb, &out, &out_len, NULL, err,
                                     sizeof err));
    wb_free(&w);
}

/* The longest names and type the reader accepts, through the text the linker builds from them
 * (its warning line is a fixed 1024-byte buffer): cut, never overrun. */
static void test_largest_import(void)
{
    char name[WASM_NAME_MAX];
    memset(name, '.', sizeof name);
    wbuf w = {0}, s = {0};
    wb_header(&w);
    wb_leb(&s, 1);
    wb_u8(&s, 0x60);
    wb_leb(&s, WASM_MAX_PARAMS);
    for (uint32_t i = 0; i < WASM_MAX_PARAMS; i++)
        wb_u8(&s, 0x7c);
    wb_leb(&s, WASM_MAX_RESULTS);
    for (uint32_t i = 0; i < WASM_MAX_RESULTS; i++)
        wb_u8(&s, 0x7d);
    wb_section(&w, 1, &s);
    wb_leb(&s, 2);
    for (int i = 0; i < 2; i++) {
        wb_name(&s, name, sizeof name);
        wb_name(&s, name, sizeof name - (size_t)i);
        wb_u8(&s, 0);
        wb_leb(&s, 0);
    }
    wb_section(&w, 2, &s);
    wasm_module_info info;
    char err[256];
    CHECK(wasm_reader_parse(w.b, w.n, &info, err, sizeof err));
    if (info.import_count == 2) {
        CHECK_EQ_INT(strlen(info.imports[0].module), WASM_NAME_MAX);
        CHECK_EQ_INT(strlen(info.imports[1].name), WASM_NAME_MAX - 1);
        CHECK_EQ_INT(strlen(info.imports[0].type), 2001);
        portal_link_report report;
        /* no exported memory: refused after the imports were listed as unlinked */
        CHECK(!portal_link_check(&info, &report, err, sizeof err));
        CHECK_STR(err, "the module does not export its linear memory as \"memory\"");
        wasm_module_info_free(&info);
    }
    wb_free(&s);
    wb_free(&w);
}

/* Export names are unique; "_start" twice (a C app linked as a WASI command) gets the hint. */
static void test_duplicate_exports(void)
{
    char err[512];
    CHECK(!parse_names("m", 1, "f", 1, "memory", 6, err, sizeof err));
    CHECK_STR(err, "export \"memory\" appears twice");
    CHECK(parse_names("m", 1, "f", 1, "_start", 6, err, sizeof err));
}

int main(void)
{
    test_type_sizes();
    test_name_alphabet();
    test_printable();
    test_strip();
    test_largest_import();
    test_duplicate_exports();
    printf("%d passed, %d failed\n", testlib_passed, testlib_failed);
    return testlib_failed ? 1 : 0;
}
