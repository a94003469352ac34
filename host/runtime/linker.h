/* linker.h - matching an app's imports and exports against what the host provides. */
#ifndef PORTAL_LINKER_H
#define PORTAL_LINKER_H

#include <stdbool.h>
#include <stddef.h>

#include "wasm_reader.h"

typedef struct portal_link_report {
    /* Indexes into info->imports of functions that stay unlinked (trap when called). */
    unsigned *unlinked;
    unsigned unlinked_count;
    char *warning; /* one message listing them, NULL when everything links */
} portal_link_report;

/* Checks imports (name and type) and the required exports. Returns false with `err` on a fatal
 * problem (non-function import, missing or mistyped required export, no exported memory). */
bool portal_link_check(const wasm_module_info *info, portal_link_report *report, char *err,
                       size_t err_size);
void portal_link_report_free(portal_link_report *report);

#endif
