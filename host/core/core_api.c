/* core_api.c - the portable imports of modules `portal` and `portal_log`: version, features,
 * last error, heap checks, clocks, board id and app logging. */
#include <string.h>

#include "../api/api.h"
#include "../platform/platform.h"
#include "app.h"
#include "features.h"

int32_t portal_core_api_version(portal_app *app)
{
    (void)app;
    return 1;
}

int64_t portal_core_api_features(portal_app *app)
{
    (void)app;
    return (int64_t)PORTAL_FEATURES_DESKTOP;
}

int32_t portal_core_last_error_code(portal_app *app)
{
    return app->last_error_code;
}

int32_t portal_core_last_error_message(portal_app *app, uint8_t *out, uint32_t out_len)
{
    return portal_copy_text(out, out_len, app->last_error_msg);
}

int32_t portal_core_heap_check(portal_app *app, const char *label, int32_t print_errors)
{
    (void)print_errors;
    /* glibc has no cheap whole-heap walk; a corrupted heap aborts in malloc itself. */
    portal_log(app, PORTAL_LOG_INFO, "heapCheck(%s): ok", label);
    return 1;
}

void portal_core_heap_log(portal_app *app, const char *label)
{
    portal_log(app, PORTAL_LOG_INFO, "heap(%s): rss=%lu KiB", label,
               (unsigned long)(portal_platform_rss_bytes() / 1024));
}

int32_t portal_core_millis(portal_app *app)
{
    (void)app;
    return (int32_t)(uint32_t)(portal_platform_now_us() / 1000);
}

int64_t portal_core_micros(portal_app *app)
{
    (void)app;
    return portal_platform_now_us();
}

int32_t portal_core_board(portal_app *app)
{
    (void)app;
    return 19; /* M5GFX board_M5PaperS3, as upstream */
}

void portal_log_info(portal_app *app, const char *msg)
{
    portal_log(app, PORTAL_LOG_INFO, "wasm: %s", msg);
}

void portal_log_warn(portal_app *app, const char *msg)
{
    portal_log(app, PORTAL_LOG_WARN, "wasm: %s", msg);
}

void portal_log_error(portal_app *app, const char *msg)
{
    portal_log(app, PORTAL_LOG_ERROR, "wasm: %s", msg);
}
