/* hello - the smallest useful app: logs through portal_log, runs a periodic microtask five times,
 * then exits on its own (or earlier on Ctrl-C, through ppShutdown). */
#include <stdio.h>
#include <stdlib.h>

#include <portal/log.h>
#include <portal/microtask.h>
#include <portal/portal.h>

static int ticks;

static pp_action tick(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    ticks++;
    pp_logf(PP_LOG_INFO, "tick %d at %d ms", ticks, (int)now_ms);
    if (ticks == 5) {
        logInfo("five ticks done, exiting");
        exitApp();
        return pp_done();
    }
    return pp_yield();
}

void pp_on_shutdown(void)
{
    pp_logf(PP_LOG_INFO, "shutdown after %d ticks", ticks);
}

int main(int argc, char **argv)
{
    int period = argc > 1 ? atoi(argv[1]) : 200;
    pp_logf(PP_LOG_INFO, "hello from a Paper Portal app: api %d, features 0x%llx",
            (int)apiVersion(), (unsigned long long)apiFeatures());
    if (pp_task_start(0, period, tick, NULL) < 0) {
        pp_logf(PP_LOG_ERROR, "microtaskStart failed: %s", pp_last_error());
        return 1;
    }
    return 0;
}
