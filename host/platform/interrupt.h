/* interrupt.h - the platform layer's own view of the shutdown interrupt (interrupt.c), for
 * posix.c and lwip.c; everything else uses platform.h. */
#ifndef PORTAL_PLATFORM_INTERRUPT_H
#define PORTAL_PLATFORM_INTERRUPT_H

#include <stdbool.h>

/* portal_platform_interrupt() was called since the interrupt descriptor was last set: the flag
 * alone, without the host's check (portal_platform_interrupted() is both). */
bool portal_platform_interrupt_requested(void);

#endif
