/* app.c - per-app context: setup, the registered modules' hooks (teardown, waits), last error and
 * logging. */
#include "app.h"

#include <stdio.h>
#include <string.h>


void portal_limits_default(portal_limits *limits)
{
    limits->max_sockets = 64;
    limits->max_tls_configs = 4;
    limits->max_tls_sessions = 64;
    limits->max_pending_handshakes = 8;
    limits->handshake_deadline_ms = 10000;
}

bool portal_app_init(portal_app *app, const portal_limits *limits)
{
    memset(app, 0, sizeof *app);
    if (limits)
        app->limits = *limits;
    else
        portal_limits_default(&app->limits);
    uint32_t capacity = (uint32_t)app->limits.max_sockets + (uint32_t)app->limits.max_tls_configs +
                        (uint32_t)app->limits.max_tls_sessions;
    return portal_handles_init(&app->handles, capacity);
}

void portal_app_teardown(portal_app *app)
{
    if (!app->handles.slots)
        return;
    for (int i = app->module_count - 1; i >= 0; i--)
        if (app->modules[i]->teardown)
            app->modules[i]->teardown(app);
    app->module_count = 0;
    portal_handles_free(&app->handles);
}

bool portal_app_use_module(portal_app *app, const portal_module_ops *ops)
{
    for (int i = 0; i < app->module_count; i++)
        if (app->modules[i] == ops)
            return true;
    if (app->module_count == PORTAL_APP_MAX_MODULES)
        return false;
    app->modules[app->module_count++] = ops;
    return true;
}

int portal_app_wait_fill(portal_app *app, portal_wait_entry *entries, int max)
{
    int n = 0;
    for (int i = 0; i < app->module_count && n < max; i++)
        if (app->modules[i]->wait_fill)
            n += app->modules[i]->wait_fill(app, entries + n, max - n);
    return n;
}

void portal_app_service(portal_app *app)
{
    for (int i = 0; i < app->module_count; i++)
        if (app->modules[i]->service)
            app->modules[i]->service(app);
}

int portal_app_next_deadline_ms(portal_app *app)
{
    int earliest = -1;
    for (int i = 0; i < app->module_count; i++) {
        if (!app->modules[i]->next_deadline_ms)
            continue;
        int ms = app->modules[i]->next_deadline_ms(app);
        if (ms >= 0 && (earliest < 0 || ms < earliest))
            earliest = ms;
    }
    return earliest;
}

int portal_app_wait_capacity(portal_app *app)
{
    int capacity = 0;
    for (int i = 0; i < app->module_count; i++)
        if (app->modules[i]->wait_capacity)
            capacity += app->modules[i]->wait_capacity(app);
    return capacity;
}

int32_t portal_copy_text(uint8_t *out, uint32_t out_len, const char *text)
{
    if (out_len == 0)
        return 0;
    size_t n = strlen(text);
    if (n > out_len - 1)
        n = out_len - 1;
    memcpy(out, text, n);
    out[n] = '\0';
    return (int32_t)n;
}

int32_t portal_fail(portal_app *app, int32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(app->last_error_msg, sizeof app->last_error_msg, fmt, ap);
    va_end(ap);
    app->last_error_code = code;
    if (app->error_sink)
        app->error_sink(app, code, app->last_error_msg);
    return code;
}

void portal_log(portal_app *app, portal_log_level level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (app && app->log_sink) {
        app->log_sink(app, level, line);
        return;
    }
    static const char tags[] = {'I', 'W', 'E'};
    fprintf(stderr, "%c %s\n", tags[level], line);
}
