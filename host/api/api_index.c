/* api_index.c - the index of every import, derived from the tables in api_*.h. */
#include "api.h"

#include <string.h>

#define PORTAL_API_INDEX_ROW(mod, nm, impl, ret, args)                                             \
    {#mod, #nm, PK_SIGNATURE(ret, args), PK_WASM_TYPE(ret, args)},

const portal_import_desc portal_imports[] = {PORTAL_API_ALL(PORTAL_API_INDEX_ROW)};
const size_t portal_imports_count = sizeof portal_imports / sizeof portal_imports[0];

const portal_import_desc *portal_import_find(const char *module, const char *name)
{
    for (size_t i = 0; i < portal_imports_count; i++)
        if (strcmp(portal_imports[i].module, module) == 0 && strcmp(portal_imports[i].name, name) == 0)
            return &portal_imports[i];
    return NULL;
}
