/* posix_resolve.c - name resolution that does not block the caller (platform.h) for Linux/POSIX:
 * getaddrinfo in detached worker threads, at most PORTAL_RESOLVE_WORKERS at once and a FIFO queue
 * beyond; each job has an eventfd that turns readable when it is done, so an app's wait sees the
 * result at once. A job is reference counted (the caller, and the queue or the worker), so the
 * caller can cancel at any moment - app teardown mid-lookup - without waiting for getaddrinfo. */
#define _GNU_SOURCE

#include "platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct portal_resolve {
    int refs;      /* the caller's + the queue's or the worker's */
    bool queued;   /* waiting for a worker */
    bool done;
    bool canceled; /* the caller is gone: nobody reads the result */
    int event_fd;
    int count;     /* > 0 addresses, < 0 failed (text in why) */
    portal_sockaddr addrs[PORTAL_RESOLVE_MAX_ADDRS];
    char why[96];
    struct portal_resolve *next; /* queue link */
    char host[256];
};

static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;
static int resolve_workers;
static portal_resolve *queue_head, *queue_tail;

bool portal_platform_parse_ip(const char *host, portal_sockaddr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, host, out->ip) == 1) {
        out->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, host, out->ip) == 1) {
        out->family = 6;
        return true;
    }
    return false;
}

/* RFC 6761 6.4: "invalid" names never resolve, and resolvers should say so without asking. */
static bool name_is_reserved_invalid(const char *host)
{
    size_t len = strlen(host);
    if (len > 0 && host[len - 1] == '.')
        len--;
    static const char tld[] = "invalid";
    size_t tld_len = sizeof tld - 1;
    if (len < tld_len || strncasecmp(host + len - tld_len, tld, tld_len) != 0)
        return false;
    return len == tld_len || host[len - tld_len - 1] == '.';
}

/* The lookup itself (no lock held): fills count/addrs/why of a local copy. */
static void resolve_lookup(const char *host, portal_resolve *result)
{
    if (name_is_reserved_invalid(host)) {
        result->count = -1;
        snprintf(result->why, sizeof result->why, "%s", gai_strerror(EAI_NONAME));
        return;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: on a host with loopback only it would hide "localhost" itself. */
    struct addrinfo *list = NULL;
    int ret = getaddrinfo(host, NULL, &hints, &list);
    if (ret != 0) {
        result->count = -1;
        snprintf(result->why, sizeof result->why, "%s",
                 ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
        return;
    }
    result->count = 0;
    for (struct addrinfo *ai = list; ai && result->count < PORTAL_RESOLVE_MAX_ADDRS;
         ai = ai->ai_next) {
        portal_sockaddr *out = &result->addrs[result->count];
        memset(out, 0, sizeof *out);
        if (ai->ai_family == AF_INET) {
            out->family = 4;
            memcpy(out->ip, &((const struct sockaddr_in *)ai->ai_addr)->sin_addr, 4);
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
            out->family = 6;
            memcpy(out->ip, &sin6->sin6_addr, 16);
            out->scope_id = sin6->sin6_scope_id;
        } else {
            continue;
        }
        result->count++;
    }
    freeaddrinfo(list);
    if (result->count == 0) {
        result->count = -1;
        snprintf(result->why, sizeof result->why, "no IPv4 or IPv6 address");
    }
}

/* Called with the lock held. */
static void resolve_unref_n(portal_resolve *job, int n)
{
    job->refs -= n;
    if (job->refs > 0)
        return;
    if (job->event_fd >= 0)
        close(job->event_fd);
    free(job);
}

static void *resolve_worker(void *arg)
{
    portal_resolve *job = arg;
    while (job) {
        pthread_mutex_lock(&resolve_lock);
        bool skip = job->canceled;
        char host[sizeof job->host];
        memcpy(host, job->host, sizeof host);
        pthread_mutex_unlock(&resolve_lock);

        portal_resolve *result = calloc(1, sizeof *result);
        if (!skip && result)
            resolve_lookup(host, result);

        pthread_mutex_lock(&resolve_lock);
        if (result && !skip) {
            job->count = result->count;
            memcpy(job->addrs, result->addrs, sizeof job->addrs);
            memcpy(job->why, result->why, sizeof job->why);
        } else if (!result) {
            job->count = -1;
            snprintf(job->why, sizeof job->why, "out of memory");
        }
        job->done = true;
        uint64_t one = 1;
        if (write(job->event_fd, &one, sizeof one) < 0) {
            /* an eventfd counter cannot overflow from one write: nothing to do */
        }
        resolve_unref_n(job, 1);
        job = queue_head;
        if (job) {
            queue_head = job->next;
            if (!queue_head)
                queue_tail = NULL;
            job->queued = false;
        } else {
            resolve_workers--;
        }
        pthread_mutex_unlock(&resolve_lock);
        free(result);
    }
    return NULL;
}

portal_resolve *portal_platform_resolve_start(const char *host)
{
    portal_resolve *job = calloc(1, sizeof *job);
    if (!job) {
        errno = ENOMEM;
        return NULL;
    }
    snprintf(job->host, sizeof job->host, "%s", host);
    job->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (job->event_fd < 0) {
        free(job);
        return NULL;
    }
    job->refs = 2;
    pthread_mutex_lock(&resolve_lock);
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
    pthread_mutex_unlock(&resolve_lock);
    if (!start_worker)
        return job;

    pthread_attr_t attr;
    pthread_t thread;
    int err = pthread_attr_init(&attr);
    if (err == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        err = pthread_create(&thread, &attr, resolve_worker, job);
        pthread_attr_destroy(&attr);
    }
    if (err != 0) {
        pthread_mutex_lock(&resolve_lock);
        resolve_workers--;
        job->done = true;
        job->count = -1;
        snprintf(job->why, sizeof job->why, "cannot start a resolver thread: %s", strerror(err));
        uint64_t one = 1;
        if (write(job->event_fd, &one, sizeof one) < 0) {
            /* see resolve_worker */
        }
        resolve_unref_n(job, 1); /* the worker's reference */
        pthread_mutex_unlock(&resolve_lock);
    }
    return job;
}

int portal_platform_resolve_result(portal_resolve *job, portal_sockaddr *out, int max, char *why,
                                   size_t why_size)
{
    pthread_mutex_lock(&resolve_lock);
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
    pthread_mutex_unlock(&resolve_lock);
    return result;
}

portal_fd portal_platform_resolve_fd(const portal_resolve *job)
{
    return job->event_fd; /* written once, never drained: stays readable once done */
}

void portal_platform_resolve_cancel(portal_resolve *job)
{
    if (!job)
        return;
    pthread_mutex_lock(&resolve_lock);
    job->canceled = true;
    int drop = 1; /* the caller's reference */
    if (job->queued) {
        /* Nobody started it: take it out of the queue (the queue's reference). */
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
        drop = 2; /* the queue's reference too */
    }
    resolve_unref_n(job, drop);
    pthread_mutex_unlock(&resolve_lock);
}
