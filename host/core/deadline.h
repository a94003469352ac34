/* deadline.h - the one timeout rule of every waiting import: timeout_ms == 0 never blocks, > 0
 * waits at most that long, < 0 waits until ready. A call fixes its deadline once, at its start, so
 * every retry inside it shares it. */
#ifndef PORTAL_DEADLINE_H
#define PORTAL_DEADLINE_H

#include <stdint.h>

/* Microseconds on the platform's monotonic clock; PORTAL_DEADLINE_NEVER for "until ready". */
typedef int64_t portal_deadline;
#define PORTAL_DEADLINE_NEVER INT64_MAX

/* The deadline of a call that starts now with `timeout_ms`. */
portal_deadline portal_deadline_after(int32_t timeout_ms);

/* What is left to wait, in ms for a platform wait: -1 for PORTAL_DEADLINE_NEVER, 0 once it has
 * passed, else rounded up, so a wait never ends before the deadline. */
int portal_deadline_remaining_ms(portal_deadline deadline);

#endif
