/* fuzz_wasm_reader.c - libFuzzer target: arbitrary bytes as a .wasm module go through the module
 * reader (wasm_reader_parse) and, when it accepts them, the import/export checker
 * (portal_link_check), then everything is freed. Neither may crash, read out of bounds or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/linker.h"
#include "runtime/wasm_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wasm_module_info info;
    char err[256];
    memset(&info, 0, sizeof info);
    err[0] = '\0';
    if (!wasm_reader_parse(data, size, &info, err, sizeof err)) {
        /* A rejection must come with a message and leave nothing to free (free is still safe). */
        if (err[0] == '\0')
            __builtin_trap();
        wasm_module_info_free(&info);
        return 0;
    }
    portal_link_report report;
    memset(&report, 0, sizeof report);
    char lerr[256];
    lerr[0] = '\0';
    (void)portal_link_check(&info, &report, lerr, sizeof lerr);
    /* Every unlinked index must name a real import. */
    for (unsigned i = 0; i < report.unlinked_count; i++)
        if (report.unlinked[i] >= info.import_count)
            __builtin_trap();
    (void)wasm_find_export(&info, "_start");
    portal_link_report_free(&report);
    wasm_module_info_free(&info);
    return 0;
}
