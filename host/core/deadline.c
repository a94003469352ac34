/* deadline.c - see deadline.h. */
#include "deadline.h"

#include <limits.h>

#include "../platform/platform.h"

portal_deadline portal_deadline_after(int32_t timeout_ms)
{
    if (timeout_ms < 0)
        return PORTAL_DEADLINE_NEVER;
    return portal_platform_now_us() + (int64_t)timeout_ms * 1000;
}

int portal_deadline_remaining_ms(portal_deadline deadline)
{
    if (deadline == PORTAL_DEADLINE_NEVER)
        return -1;
    int64_t left_us = deadline - portal_platform_now_us();
    if (left_us <= 0)
        return 0;
    int64_t left_ms = (left_us + 999) / 1000;
    return left_ms > INT_MAX ? INT_MAX : (int)left_ms;
}
