/* resolve_queue.h - the platform layer's own view of the name-resolution queue (resolve_queue.c):
 * the small OS interface each platform provides to it (posix_resolve.c with pthreads and an eventfd
 * per job, lwip.c with sys_thread_new tasks and sys_mutex) and the worker body it provides back.
 * Everything else uses platform.h's portal_platform_resolve_* functions. */
#ifndef PORTAL_PLATFORM_RESOLVE_QUEUE_H
#define PORTAL_PLATFORM_RESOLVE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "platform.h"

/* ---- provided by resolve_queue.c ---- */

/* A worker's whole life: looks up `first`, then each queued job in turn until the queue is empty.
 * The platform runs it on a thread or task of its own (portal_resolve_os_start_worker). */
void portal_resolve_queue_work(portal_resolve *first);

/* ---- provided by each platform ---- */

/* Records `err` as the platform's last error (portal_platform_last_error()). */
void portal_platform_set_last_errno(int err);

/* Makes ready for one more job: the lock exists, and *done_fd is a descriptor that
 * portal_resolve_os_job_done will make readable, or PORTAL_FD_INVALID where there is none (then
 * callers poll, platform.h). False, with the platform's last error set, when that fails. */
bool portal_resolve_os_job_open(portal_fd *done_fd);
/* The job has finished: makes `done_fd` readable for good (called with the lock held). */
void portal_resolve_os_job_done(portal_fd done_fd);
/* The job is freed: releases `done_fd` (called with the lock held). */
void portal_resolve_os_job_close(portal_fd done_fd);

/* The one lock over every job and the queue. */
void portal_resolve_os_lock(void);
void portal_resolve_os_unlock(void);

/* Starts a thread or task that calls portal_resolve_queue_work(first) and then ends. 0, or the
 * errno that says why none could be started. */
int portal_resolve_os_start_worker(portal_resolve *first);

/* The blocking lookup of one DNS name (no lock held): the number of IPv4/IPv6 addresses written to
 * `out` (at most `max`, port 0; 0 when the name has none), or -1 with the resolver's text in
 * `why`. */
int portal_resolve_os_lookup(const char *host, portal_sockaddr *out, int max, char *why,
                             size_t why_size);

#endif
