/* posix_resolve.c - the POSIX side of name resolution that does not block the caller
 * (resolve_queue.h's OS interface; the queue itself is resolve_queue.c): getaddrinfo in detached
 * worker threads under one pthread mutex, and an eventfd per job that turns readable when it is
 * done, so an app's wait sees the result at once. Also portal_platform_parse_ip. */
#define _GNU_SOURCE

#include "platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bsd_sockets.h"
#include "resolve_queue.h"

static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;

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

bool portal_resolve_os_job_open(portal_fd *done_fd)
{
    *done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (*done_fd >= 0)
        return true;
    portal_platform_set_last_errno(errno);
    return false;
}

void portal_resolve_os_job_done(portal_fd done_fd)
{
    uint64_t one = 1;
    if (write(done_fd, &one, sizeof one) < 0) {
        /* an eventfd counter cannot overflow from one write: nothing to do */
    }
}

void portal_resolve_os_job_close(portal_fd done_fd)
{
    close(done_fd); /* written once, never drained: it stayed readable until now */
}

void portal_resolve_os_lock(void)
{
    pthread_mutex_lock(&resolve_lock);
}

void portal_resolve_os_unlock(void)
{
    pthread_mutex_unlock(&resolve_lock);
}

static void *resolve_thread(void *first)
{
    portal_resolve_queue_work(first);
    return NULL;
}

int portal_resolve_os_start_worker(portal_resolve *first)
{
    pthread_attr_t attr;
    pthread_t thread;
    int err = pthread_attr_init(&attr);
    if (err != 0)
        return err;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&thread, &attr, resolve_thread, first);
    pthread_attr_destroy(&attr);
    return err;
}

int portal_resolve_os_lookup(const char *host, portal_sockaddr *out, int max, char *why,
                             size_t why_size)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: on a host with loopback only it would hide "localhost" itself. */
    struct addrinfo *list = NULL;
    int ret = getaddrinfo(host, NULL, &hints, &list);
    if (ret != 0) {
        snprintf(why, why_size, "%s", ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
        return -1;
    }
    int count = portal_bsd_from_addrinfo(list, out, max);
    freeaddrinfo(list);
    return count;
}
