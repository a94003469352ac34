/* log.h - C SDK: module `portal_log` plus a printf-style helper. */
#ifndef PORTAL_SDK_LOG_H
#define PORTAL_SDK_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include "portal.h"

PORTAL_IMPORT(portal_log, logInfo) void logInfo(const char *msg);
PORTAL_IMPORT(portal_log, logWarn) void logWarn(const char *msg);
PORTAL_IMPORT(portal_log, logError) void logError(const char *msg);

enum { PP_LOG_INFO, PP_LOG_WARN, PP_LOG_ERROR };

/* Formats into a 256-byte line (longer lines are cut) and logs it at `level`. */
static inline __attribute__((format(printf, 2, 3))) void pp_logf(int level, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (level == PP_LOG_ERROR)
        logError(line);
    else if (level == PP_LOG_WARN)
        logWarn(line);
    else
        logInfo(line);
}

#endif
