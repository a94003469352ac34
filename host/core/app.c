/* app.c - per-app context: setup, teardown, last error and logging. */
#include "app.h"

#include <stdio.h>
#include <string.h>

#include "../socket/socket.h"
#include "../tls/tls.h"

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
    /* Sessions own their sockets, so TLS goes first. */
    portal_tls_teardown(app);
    portal_socket_teardown(app);
    portal_handles_free(&app->handles);
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
