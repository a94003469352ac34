/* resolve_queue.c - name resolution that does not block the caller (platform.h), the part every
 * platform shares: the job, its reference counts (the caller's, and the queue's or the worker's,
 * so the caller can cancel at any moment - app teardown mid-lookup - without waiting for the
 * lookup), the FIFO queue behind at most PORTAL_RESOLVE_WORKERS workers, the reserved ".invalid"
 * names, and handing the result over. The OS part (lock, workers, the lookup itself, the
 * completion descriptor) is resolve_queue.h's interface: posix_resolve.c or lwip.c. */
#include "resolve_queue.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct portal_resolve {
    int refs;      /* the caller's + the queue's or the worker's */
    bool queued;   /* waiting for a worker */
    bool done;
    bool canceled; /* the caller is gone: nobody reads the result */
    portal_fd done_fd;
    int count;     /* > 0 addresses, < 0 failed (text in why) */
    /* Written by the worker without the lock before `done` is set under it; read only after. */
    portal_sockaddr addrs[PORTAL_RESOLVE_MAX_ADDRS];
    char why[96];
    struct portal_resolve *next; /* queue link */
    char host[256];              /* never written after start */
};

/* All under portal_resolve_os_lock. */
static int resolve_workers;
static portal_resolve *queue_head, *queue_tail;

/* RFC 6761 6.4: "invalid" names never resolve, and resolvers should say so without asking. */
static bool name_is_reserved_invalid(const char *host)
{
    size_t len = strlen(host);
    if (len > 0 && host[len - 1] == '.')
        len--;
    static const char tld[] = "invalid";
    size_t tld_len = sizeof tld - 1;
    if (len < tld_len)
        return false;
    for (size_t i = 0; i < tld_len; i++) {
        char c = host[len - tld_len + i];
        if ((c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c) != tld[i])
            return false;
    }
    return len == tld_len || host[len - tld_len - 1] == '.';
}

/* The lookup (no lock held): fills the job's addrs/why, returns its count. */
static int resolve_lookup(portal_resolve *job)
{
    if (name_is_reserved_invalid(job->host)) {
        snprintf(job->why, sizeof job->why, "Name or service not known");
        return -1;
    }
    int count = portal_resolve_os_lookup(job->host, job->addrs, PORTAL_RESOLVE_MAX_ADDRS, job->why,
                                         sizeof job->why);
    if (count == 0) {
        snprintf(job->why, sizeof job->why, "no IPv4 or IPv6 address");
        return -1;
    }
    return count;
}

/* Called with the lock held. */
static void resolve_unref_n(portal_resolve *job, int n)
{
    job->refs -= n;
    if (job->refs > 0)
        return;
    portal_resolve_os_job_close(job->done_fd);
    free(job);
}

/* Called with the lock held: the result is there for the caller, the worker's reference goes. */
static void resolve_finish(portal_resolve *job, int count)
{
    job->count = count;
    job->done = true;
    portal_resolve_os_job_done(job->done_fd);
    resolve_unref_n(job, 1);
}

void portal_resolve_queue_work(portal_resolve *first)
{
    portal_resolve *job = first;
    while (job) {
        portal_resolve_os_lock();
        bool skip = job->canceled;
        portal_resolve_os_unlock();

        int count = skip ? -1 : resolve_lookup(job);

        portal_resolve_os_lock();
        resolve_finish(job, count);
        job = queue_head;
        if (job) {
            queue_head = job->next;
            if (!queue_head)
                queue_tail = NULL;
            job->queued = false;
        } else {
            resolve_workers--;
        }
        portal_resolve_os_unlock();
    }
}

portal_resolve *portal_platform_resolve_start(const char *host)
{
    portal_resolve *job = calloc(1, sizeof *job);
    if (!job) {
        portal_platform_set_last_errno(ENOMEM);
        return NULL;
    }
    if (!portal_resolve_os_job_open(&job->done_fd)) {
        free(job);
        return NULL;
    }
    snprintf(job->host, sizeof job->host, "%s", host);
    job->refs = 2;
    portal_resolve_os_lock();
    bool start_worker = resolve_workers < PORTAL_RESOLVE_WORKERS;
    if (start_worker) {
        resolve_workers++;
    } else {
        job->queued = true;
        if (queue_tail)
            queue_tail->next = job;
        else
            queue_head = job;
        queue_tail = job;
    }
    portal_resolve_os_unlock();
    if (!start_worker)
        return job;

    int err = portal_resolve_os_start_worker(job);
    if (err != 0) {
        portal_resolve_os_lock();
        resolve_workers--;
        snprintf(job->why, sizeof job->why, "cannot start a resolver thread: %s", strerror(err));
        resolve_finish(job, -1);
        portal_resolve_os_unlock();
    }
    return job;
}

int portal_platform_resolve_result(portal_resolve *job, portal_sockaddr *out, int max, char *why,
                                   size_t why_size)
{
    portal_resolve_os_lock();
    int result = 0;
    if (job->done) {
        result = job->count;
        if (result < 0) {
            snprintf(why, why_size, "%s", job->why);
        } else {
            if (result > max)
                result = max;
            memcpy(out, job->addrs, (size_t)result * sizeof *out);
        }
    }
    portal_resolve_os_unlock();
    return result;
}

portal_fd portal_platform_resolve_fd(const portal_resolve *job)
{
    return job->done_fd; /* set at start, never changed */
}

void portal_platform_resolve_cancel(portal_resolve *job)
{
    if (!job)
        return;
    portal_resolve_os_lock();
    job->canceled = true;
    int drop = 1; /* the caller's reference */
    if (job->queued) {
        /* Nobody started it: take it out of the queue (the queue's reference too). */
        portal_resolve **link = &queue_head;
        portal_resolve *prev = NULL;
        while (*link && *link != job) {
            prev = *link;
            link = &(*link)->next;
        }
        if (*link) {
            *link = job->next;
            if (queue_tail == job)
                queue_tail = prev;
        }
        job->queued = false;
        drop = 2;
    }
    resolve_unref_n(job, drop);
    portal_resolve_os_unlock();
}
