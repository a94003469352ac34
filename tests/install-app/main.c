/* install-app - the app tests/integration/test_install.sh builds outside the repo against the
 * installed SDK (its CMakeLists.txt is the four lines the README shows): it logs its arguments,
 * runs a microtask three times, then exits with the code given as its first argument. */
#include <stdlib.h>

#include <portal/log.h>
#include <portal/microtask.h>
#include <portal/portal.h>

static int ticks;
static int exit_code;

static pp_action tick(void *user, int32_t handle, int32_t now_ms)
{
    (void)user;
    (void)handle;
    (void)now_ms;
    ticks++;
    pp_logf(PP_LOG_INFO, "install-app tick %d", ticks);
    if (ticks == 3) {
        pp_logf(PP_LOG_INFO, "install-app exiting with %d", exit_code);
        exit(exit_code);
    }
    return pp_yield();
}

int main(int argc, char **argv)
{
    exit_code = argc > 1 ? atoi(argv[1]) : 0;
    pp_logf(PP_LOG_INFO, "install-app: api %d, %d argument(s)", (int)apiVersion(), argc - 1);
    if (pp_task_start(0, 10, tick, NULL) < 0) {
        pp_logf(PP_LOG_ERROR, "microtaskStart failed: %s", pp_last_error());
        return 1;
    }
    return 0;
}
