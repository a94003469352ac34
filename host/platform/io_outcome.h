/* io_outcome.h - sorts an errno from send/recv into the three outcomes the core acts on. Shared by
 * the POSIX and lwIP platform layers (header-only, so neither build needs another source file);
 * the includer provides the errno constants (<errno.h> on Linux, lwIP's/newlib's on the device). */
#ifndef PORTAL_PLATFORM_IO_OUTCOME_H
#define PORTAL_PLATFORM_IO_OUTCOME_H

#include "platform.h"

/* ETIMEDOUT here means the stack gave up on the connection (retransmits or keepalive), not a
 * caller's timeout, so it counts as closed. */
static inline long portal_platform_io_outcome(int err)
{
    switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
        return PORTAL_IO_WOULD_BLOCK;
    case ECONNRESET:
    case ENOTCONN:
    case EPIPE:
    case ECONNABORTED:
    case ETIMEDOUT:
        return PORTAL_IO_CLOSED;
    default:
        return PORTAL_IO_ERROR;
    }
}

#endif
