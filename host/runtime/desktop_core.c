/* desktop_core.c - the `portal` imports whose meaning depends on the host: app control (openApp,
 * exitApp), display init (begin) and blocking delays. portal-host runs one app and has no display. */
#include <string.h>

#include "../api/api.h"
#include "rt.h"
#include "run.h"

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

int32_t portal_core_open_app(portal_app *app, const char *app_id, const char *arguments)
{
    (void)arguments;
    if (strcmp(app_id, "launcher") == 0) {
        /* Going back to the launcher means leaving this app: portal-host has no launcher. */
        return portal_core_exit_app(app);
    }
    if (strcmp(app_id, "settings") == 0 || is_uuid(app_id))
        return portal_fail(app, PORTAL_ERR_NOT_FOUND,
                           "openApp: portal-host runs a single app; %s is not installed", app_id);
    return portal_fail(app, PORTAL_ERR_NOT_FOUND, "openApp: failed to request app switch");
}

int32_t portal_core_exit_app(portal_app *app)
{
    portal_rt *rt = portal_rt_of(app);
    rt->exit_requested = true;
    rt->exit_code = 0;
    return 0;
}

int32_t portal_core_begin(portal_app *app)
{
    portal_log(app, PORTAL_LOG_INFO, "begin: portal-host has no display; nothing to initialise");
    return 0;
}

int32_t portal_core_delay_ms(portal_app *app, int32_t ms)
{
    if (ms < 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "delayMs: ms < 0");
    portal_rt *rt = portal_rt_of(app);
    if (!portal_rt_wait(rt, ms))
        return portal_fail(app, PORTAL_ERR_INTERNAL, "delayMs: poll failed: %s",
                           strerror(rt->wait_errno));
    return 0;
}
