/* errbuf.c - see errbuf.h. */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>

bool portal_err_set(char *err, size_t size, const char *fmt, ...)
{
    if (size == 0)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return false;
}
