/* linker.c - import and export checks before a module is compiled (docs/abi.md: unlinked imports, exports).
 * wasm2c symbols carry no types, so a mistyped import must never reach the host function. */
#include "linker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"

typedef struct required_export {
    const char *name;
    const char *type;
    bool required;
} required_export;

static const required_export exports_expected[] = {
    {"portalContractVersion", ":i", true},
    {"portalMicroTaskStep", "ii:I", true},
    {"portalAlloc", "i:i", true},
    {"portalFree", "ii:", true},
    {"_start", ":", true},
    {"ppShutdown", ":", false},
};

static bool append(char **buf, size_t *len, const char *text)
{
    size_t n = strlen(text);
    char *grown = realloc(*buf, *len + n + 1);
    if (!grown)
        return false;
    memcpy(grown + *len, text, n + 1);
    *buf = grown;
    *len += n;
    return true;
}

bool portal_link_check(const wasm_module_info *info, portal_link_report *report, char *err,
                       size_t err_size)
{
    memset(report, 0, sizeof *report);
    size_t warn_len = 0;
    report->unlinked = calloc(info->import_count ? info->import_count : 1, sizeof(unsigned));
    if (!report->unlinked) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    for (unsigned i = 0; i < info->import_count; i++) {
        const wasm_import *im = &info->imports[i];
        if (im->kind != WASM_EXTERN_FUNC) {
            snprintf(err, err_size,
                     "import %s.%s is not a function; importing memories, tables, globals or tags "
                     "is not supported",
                     im->module, im->name);
            portal_link_report_free(report);
            return false;
        }
        const portal_import_desc *desc = portal_import_find(im->module, im->name);
        if (desc && strcmp(desc->wasm_type, im->type) == 0)
            continue;
        char line[1024];
        if (desc)
            snprintf(line, sizeof line, "\n  %s.%s: declared type (%s), host provides (%s) %s",
                     im->module, im->name, im->type, desc->wasm_type, desc->signature);
        else
            snprintf(line, sizeof line, "\n  %s.%s (%s): not provided by this host", im->module,
                     im->name, im->type);
        if (report->unlinked_count == 0 &&
            !append(&report->warning, &warn_len,
                    "warning: these imports are not linked and trap when called:")) {
            snprintf(err, err_size, "out of memory");
            portal_link_report_free(report);
            return false;
        }
        if (!append(&report->warning, &warn_len, line)) {
            snprintf(err, err_size, "out of memory");
            portal_link_report_free(report);
            return false;
        }
        report->unlinked[report->unlinked_count++] = i;
    }

    const wasm_export *mem = wasm_find_export(info, "memory");
    if (!mem || mem->kind != WASM_EXTERN_MEMORY) {
        snprintf(err, err_size, "the module does not export its linear memory as \"memory\"");
        portal_link_report_free(report);
        return false;
    }
    for (size_t i = 0; i < sizeof exports_expected / sizeof exports_expected[0]; i++) {
        const required_export *want = &exports_expected[i];
        const wasm_export *ex = wasm_find_export(info, want->name);
        if (!ex) {
            if (!want->required)
                continue;
            snprintf(err, err_size, "missing required export %s (type %s)", want->name, want->type);
            portal_link_report_free(report);
            return false;
        }
        if (ex->kind != WASM_EXTERN_FUNC || strcmp(ex->type, want->type) != 0) {
            snprintf(err, err_size, "export %s has type (%s), expected (%s)", want->name,
                     ex->type ? ex->type : "not a function", want->type);
            portal_link_report_free(report);
            return false;
        }
    }
    return true;
}

void portal_link_report_free(portal_link_report *report)
{
    free(report->unlinked);
    free(report->warning);
    memset(report, 0, sizeof *report);
}
