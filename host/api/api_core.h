/* api_core.h - import tables of modules `portal`, `portal_log` and `portal_microtask`.
 * The only place these imports' names and signatures are written (see kinds.h). */
#ifndef PORTAL_API_CORE_H
#define PORTAL_API_CORE_H

#define PORTAL_API_PORTAL(X)                                                                       \
    X(portal, apiVersion, portal_core_api_version, I32, ((CTX, _)))                                \
    X(portal, apiFeatures, portal_core_api_features, I64, ((CTX, _)))                              \
    X(portal, lastErrorCode, portal_core_last_error_code, I32, ((CTX, _)))                         \
    X(portal, lastErrorMessage, portal_core_last_error_message, I32, ((CTX, _), (BUF, out)))       \
    X(portal, heapCheck, portal_core_heap_check, I32, ((CTX, _), (STR, label), (I32, print_errors))) \
    X(portal, heapLog, portal_core_heap_log, VOID, ((CTX, _), (STR, label)))                       \
    X(portal, openApp, portal_core_open_app, I32, ((CTX, _), (STR, app_id), (STR, arguments)))     \
    X(portal, exitApp, portal_core_exit_app, I32, ((CTX, _)))                                      \
    X(portal, begin, portal_core_begin, I32, ((CTX, _)))                                           \
    X(portal, delayMs, portal_core_delay_ms, I32, ((CTX, _), (I32, ms)))                           \
    X(portal, millis, portal_core_millis, I32, ((CTX, _)))                                         \
    X(portal, micros, portal_core_micros, I64, ((CTX, _)))                                         \
    X(portal, board, portal_core_board, I32, ((CTX, _)))

#define PORTAL_API_LOG(X)                                                                          \
    X(portal_log, logInfo, portal_log_info, VOID, ((CTX, _), (STR, msg)))                          \
    X(portal_log, logWarn, portal_log_warn, VOID, ((CTX, _), (STR, msg)))                          \
    X(portal_log, logError, portal_log_error, VOID, ((CTX, _), (STR, msg)))

#define PORTAL_API_MICROTASK(X)                                                                    \
    X(portal_microtask, microtaskClearAll, portal_microtask_clear_all, I32, ((CTX, _)))            \
    X(portal_microtask, microtaskStart, portal_microtask_start, I32,                               \
      ((CTX, _), (I32, start_after_ms), (I32, period_ms), (I32, flags)))                           \
    X(portal_microtask, microtaskCancel, portal_microtask_cancel, I32, ((CTX, _), (I32, handle)))

#endif
