/* test_wamr_signatures.c - the WAMR NativeSymbol rows the firmware component registers
 * (host/esp-idf/wamr_rows.h, the same macros wamr_binding.c expands) against exact expected
 * signature strings: `*~` wherever a buffer is passed, no bare `*`, one row per table entry, and
 * the WebAssembly parameter count implied by each signature equals the import's real type. */
#include <stdbool.h>
#include <string.h>

#include "esp-idf/wamr_rows.h"
#include "testlib.h"

static const portal_wamr_row derived[] = {
    PORTAL_WAMR_TABLE_SOCKET(PORTAL_WAMR_ROW_DESC) PORTAL_WAMR_TABLE_TLS(PORTAL_WAMR_ROW_DESC)};
static const size_t derived_count = sizeof derived / sizeof derived[0];

static const portal_wamr_row expected[] = {
    {"portal_socket", "sockSocket", "(iii)i"},
    {"portal_socket", "sockConnect", "(i*~i)i"},
    {"portal_socket", "sockBind", "(i*~)i"},
    {"portal_socket", "sockListen", "(ii)i"},
    {"portal_socket", "sockAccept", "(i*~i)i"},
    {"portal_socket", "sockAcceptWithTimeout", "(i*~i)i"},
    {"portal_socket", "sockSend", "(i*~i)i"},
    {"portal_socket", "sockRecv", "(i*~i)i"},
    {"portal_socket", "sockClose", "(i)i"},
    {"portal_socket", "sockPoll", "(*~i)i"},
    {"portal_socket_tls", "tlsServerConfigCreate", "(*~*~*~i)i"},
    {"portal_socket_tls", "tlsServerConfigFree", "(i)i"},
    {"portal_socket_tls", "tlsAccept", "(ii*~i)i"},
    {"portal_socket_tls", "tlsSend", "(i*~i)i"},
    {"portal_socket_tls", "tlsRecv", "(i*~i)i"},
    {"portal_socket_tls", "tlsClose", "(i)i"},
    {"portal_socket_tls", "tlsSessionInfo", "(i*~)i"},
    {"portal_socket_tls", "tlsClientConfigCreate", "(*~*~*~*~i)i"},
    {"portal_socket_tls", "tlsClientConfigFree", "(i)i"},
    {"portal_socket_tls", "tlsConnect", "(i$*~ii)i"},
};
static const size_t expected_count = sizeof expected / sizeof expected[0];

static const portal_wamr_row *find(const portal_wamr_row *rows, size_t n, const char *module,
                                   const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].module, module) == 0 && strcmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

/* Every '*' must be followed by '~' (a buffer whose whole range WAMR checks). */
static bool every_pointer_has_length(const char *sig)
{
    for (const char *p = sig; *p; p++)
        if (*p == '*' && p[1] != '~')
            return false;
    return true;
}

/* WebAssembly params implied by a WAMR signature: one per char between the parentheses. */
static size_t wasm_param_count(const char *sig)
{
    const char *close = strchr(sig, ')');
    return close && sig[0] == '(' ? (size_t)(close - sig - 1) : (size_t)-1;
}

int main(void)
{
    /* every derived row is expected, with the exact string */
    for (size_t i = 0; i < derived_count; i++) {
        const portal_wamr_row *row = &derived[i];
        const portal_wamr_row *want = find(expected, expected_count, row->module, row->name);
        if (!want) {
            fprintf(stderr, "unexpected import %s.%s %s: add it to this test\n", row->module,
                    row->name, row->signature);
            CHECK(want != NULL);
            continue;
        }
        CHECK_STR(row->signature, want->signature);
        CHECK(every_pointer_has_length(row->signature));
        /* the WAMR row and the desktop index agree on the WebAssembly type */
        const portal_import_desc *desc = portal_import_find(row->module, row->name);
        CHECK(desc != NULL);
        if (desc) {
            CHECK_STR(desc->signature, row->signature);
            const char *colon = strchr(desc->wasm_type, ':');
            CHECK(colon != NULL);
            if (colon)
                CHECK_EQ_INT(wasm_param_count(row->signature), colon - desc->wasm_type);
        }
    }
    /* every expected import is derived, once */
    for (size_t i = 0; i < expected_count; i++) {
        size_t hits = 0;
        for (size_t j = 0; j < derived_count; j++)
            if (strcmp(derived[j].module, expected[i].module) == 0 &&
                strcmp(derived[j].name, expected[i].name) == 0)
                hits++;
        if (hits != 1)
            fprintf(stderr, "%s.%s derived %zu times\n", expected[i].module, expected[i].name,
                    hits);
        CHECK_EQ_INT(hits, 1);
    }
    /* the modules are exactly the two this component registers */
    for (size_t i = 0; i < derived_count; i++)
        CHECK(strcmp(derived[i].module, PORTAL_WAMR_MODULE_SOCKET) == 0 ||
              strcmp(derived[i].module, PORTAL_WAMR_MODULE_TLS) == 0);
    return testlib_finish();
}
