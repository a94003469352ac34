/* errbuf.h - the desktop runtime's error convention: a function that fails writes its message into
 * the caller's (err, size) buffer and returns false, so `return portal_err_set(...)` ends it. */
#ifndef PORTAL_ERRBUF_H
#define PORTAL_ERRBUF_H

#include <stdbool.h>
#include <stddef.h>

bool portal_err_set(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
