/* interrupt.c - the shutdown interrupt every platform shares (platform.h): the descriptor each
 * wait watches, the flag portal_platform_interrupt() sets (from a signal handler on portal-host,
 * from another task on the firmware: a sig_atomic_t, a single aligned store on both ESP32 cores)
 * and the host's own check. Compiled with posix.c and with lwip.c. */
#include <signal.h>

#include "interrupt.h"
#include "platform.h"

static portal_fd interrupt_fd = PORTAL_FD_INVALID;
static volatile sig_atomic_t interrupt_flag;
static bool (*interrupt_check)(void);

void portal_platform_set_interrupt_fd(portal_fd fd)
{
    interrupt_fd = fd;
    interrupt_flag = 0;
}

void portal_platform_set_interrupt_check(bool (*check)(void))
{
    interrupt_check = check;
}

void portal_platform_interrupt(void)
{
    interrupt_flag = 1;
}

bool portal_platform_interrupt_requested(void)
{
    return interrupt_flag != 0;
}

bool portal_platform_interrupted(void)
{
    return interrupt_flag != 0 || (interrupt_check && interrupt_check());
}

portal_fd portal_platform_interrupt_fd(void)
{
    return interrupt_fd;
}
