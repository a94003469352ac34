/* poll.c - the sockPoll extension: readiness of many sockets, listeners and TLS sessions in one
 * wait (docs/extensions.md). While it waits it also drives pending TLS handshakes, so a listener
 * used with tlsAccept turns readable when a handshake has finished, and a TLS session turns
 * readable when plaintext is already decrypted inside mbedTLS even if its socket is quiet.
 *
 * Entry layout (8 bytes, little-endian): i32 handle, u16 events wanted, u16 revents (written).
 * It never waits past the app's next due microtask (app->next_timer_ms) nor past a host shutdown.
 * The wait itself is portal_platform_wait_many: on lwIP it has select semantics (no HANGUP; a
 * closed peer shows as readable), so POLL_HUP is only reported where the platform can tell. */
#include <stdlib.h>
#include <string.h>

#include "../api/api.h"
#include "../core/app.h"
#include "../platform/platform.h"
#include "socket.h"

#define POLL_ENTRY_SIZE 8
#define POLL_MAX_ENTRIES 16384

enum {
    POLL_IN = 1,       /* readable / acceptable / finished handshake waiting */
    POLL_OUT = 2,      /* writable / connect finished */
    POLL_ERR = 4,      /* always reported */
    POLL_HUP = 8,      /* peer hung up; always reported */
    POLL_INVALID = 16, /* not a socket, listener or TLS session handle of this app */
};

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static int min_wait(int a, int b) /* -1 = forever */
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

typedef struct poll_plan {
    portal_wait_entry *fds;
    int *slot;        /* per entry: index into fds, or -1 */
    uint16_t *events; /* per entry: wanted events */
    uint16_t *ready;  /* per entry: ready events */
    int nfds;
    int wait_ms;      /* extra wake-up needed by TLS listeners (-1 none) */
} poll_plan;

/* One pass over the entries: what is ready without waiting, and what to poll. */
static const portal_socket_poll_ext *poll_ext;

void portal_socket_set_poll_ext(const portal_socket_poll_ext *ext)
{
    poll_ext = ext;
}

void portal_socket_mark_ext_listener(portal_socket *s)
{
    s->ext_listener = 1;
}

static int plan_entries(portal_app *app, const uint8_t *entries, uint32_t count, poll_plan *plan)
{
    int ready = 0;
    plan->nfds = 0;
    plan->wait_ms = -1;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = entries + (size_t)i * POLL_ENTRY_SIZE;
        int32_t handle = (int32_t)get_u32(e);
        uint16_t want = (uint16_t)((e[4] | e[5] << 8) & (POLL_IN | POLL_OUT));
        plan->events[i] = want;
        plan->ready[i] = 0;
        plan->slot[i] = -1;
        portal_fd fd = PORTAL_FD_INVALID;
        int now = 0;
        switch (portal_handles_kind(&app->handles, handle)) {
        case PORTAL_HANDLE_SOCKET: {
            portal_socket *s = portal_handles_get(&app->handles, handle, PORTAL_HANDLE_SOCKET);
            fd = s->fd;
            if (s->listening && s->ext_listener && poll_ext && poll_ext->listener_poll) {
                bool watch;
                int wake;
                if (poll_ext->listener_poll(app, handle, &watch, &wake))
                    now |= POLL_IN;
                plan->wait_ms = min_wait(plan->wait_ms, wake);
                if (!watch)
                    fd = PORTAL_FD_INVALID; /* queue full: new clients wait in the backlog */
            }
            int paused = s->listening ? portal_socket_accept_paused_ms(s) : 0;
            if (paused > 0) {
                /* The last accept ran out of descriptors: a queued client would make this entry
                 * ready at once, and accepting it would fail again. Look again after the pause. */
                fd = PORTAL_FD_INVALID;
                plan->wait_ms = min_wait(plan->wait_ms, paused);
            } else if (s->listening && portal_platform_sockets_free() == 0) {
                /* lwIP: no socket for a new client (platform.h). It stays in the backlog and the
                 * listener is not ready for it; a socket freed by another app is seen at the
                 * next look, PORTAL_ACCEPT_PAUSE_MS later at most. */
                fd = PORTAL_FD_INVALID;
                plan->wait_ms = min_wait(plan->wait_ms, PORTAL_ACCEPT_PAUSE_MS);
            }
            break;
        }
        default: {
            int ext_now = 0;
            if (!poll_ext || !poll_ext->handle_poll ||
                !poll_ext->handle_poll(app, handle, &fd, &ext_now)) {
                plan->ready[i] = POLL_INVALID;
                ready++;
                continue;
            }
            if (ext_now & PORTAL_WAIT_READ)
                now |= POLL_IN;
            if (ext_now & PORTAL_WAIT_WRITE) /* a TLS client session has just opened */
                now |= POLL_OUT;
            if (ext_now & PORTAL_WAIT_ERROR) /* a TLS client session whose connect failed */
                now |= POLL_ERR;
            if (ext_now & PORTAL_WAIT_HANGUP)
                now |= POLL_HUP;
            break;
        }
        }
        plan->ready[i] = (uint16_t)(now & (want | POLL_HUP | POLL_ERR));
        if (plan->ready[i])
            ready++;
        if (fd != PORTAL_FD_INVALID && want) {
            portal_wait_entry *p = &plan->fds[plan->nfds];
            p->fd = fd;
            p->events = ((want & POLL_IN) ? PORTAL_WAIT_READ : 0) |
                        ((want & POLL_OUT) ? PORTAL_WAIT_WRITE : 0);
            p->ready = 0;
            plan->slot[i] = plan->nfds++;
        }
    }
    return ready;
}

/* Folds poll results into the entries; returns how many entries have become ready. */
static int collect(const poll_plan *plan, uint32_t count)
{
    int ready = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (plan->slot[i] >= 0) {
            int r = plan->fds[plan->slot[i]].ready;
            uint16_t got = 0;
            if (r & PORTAL_WAIT_READ)
                got |= POLL_IN;
            if (r & PORTAL_WAIT_WRITE)
                got |= POLL_OUT;
            if (r & PORTAL_WAIT_ERROR)
                got |= POLL_ERR;
            if (r & PORTAL_WAIT_HANGUP)
                got |= POLL_HUP | (plan->events[i] & POLL_IN); /* reading reports the end */
            plan->ready[i] = (uint16_t)(plan->ready[i] | (got & (plan->events[i] | POLL_ERR | POLL_HUP)));
        }
        if (plan->ready[i])
            ready++;
    }
    return ready;
}

/* The descriptor that ends every wait when the host shuts down, last in the list. */
static void add_stop_fd(poll_plan *plan)
{
    portal_fd stop_fd = portal_platform_interrupt_fd();
    if (stop_fd == PORTAL_FD_INVALID)
        return;
    plan->fds[plan->nfds].fd = stop_fd;
    plan->fds[plan->nfds].events = PORTAL_WAIT_READ;
    plan->fds[plan->nfds].ready = 0;
    plan->nfds++;
}

/* How long the next wait may take: 0 when something is ready or the app asked not to wait, else
 * the app's timeout left, cut by the modules' deadlines, the plan's own wake-ups and the app's next
 * due task (then *timer_cut). -1 = forever. */
static int wait_bound(portal_app *app, const poll_plan *plan, int ready, int32_t timeout_ms,
                      int64_t start, bool *timer_cut)
{
    *timer_cut = false;
    if (ready > 0 || timeout_ms == 0)
        return 0;
    int wait = -1;
    if (timeout_ms > 0) {
        int64_t left = start + timeout_ms - portal_platform_now_ms();
        wait = left > 0 ? (int)left : 0;
    }
    wait = min_wait(wait, portal_app_next_deadline_ms(app));
    wait = min_wait(wait, plan->wait_ms);
    if (app->next_timer_ms) {
        int timer = app->next_timer_ms(app);
        if (timer >= 0 && (wait < 0 || timer < wait)) {
            wait = timer;
            *timer_cut = true;
        }
    }
    return wait;
}

static bool plan_alloc(poll_plan *plan, uint32_t count, size_t cap)
{
    size_t per_entry = count ? count : 1;
    plan->fds = malloc(cap * sizeof *plan->fds);
    plan->slot = malloc(per_entry * sizeof *plan->slot);
    plan->events = malloc(per_entry * sizeof *plan->events);
    plan->ready = malloc(per_entry * sizeof *plan->ready);
    return plan->fds && plan->slot && plan->events && plan->ready;
}

static void plan_free(poll_plan *plan)
{
    free(plan->fds);
    free(plan->slot);
    free(plan->events);
    free(plan->ready);
}

/* Plans, waits and collects until an entry is ready, the timeout passes or the app's next task
 * is due; returns the number of ready entries (revents written) or a portal_fail code. */
static int32_t poll_loop(portal_app *app, uint8_t *entries, uint32_t count, int32_t timeout_ms,
                         poll_plan *plan, size_t cap)
{
    int64_t start = portal_platform_now_ms();
    for (;;) {
        int ready = plan_entries(app, entries, count, plan);
        int entry_fds = plan->nfds;
        plan->nfds += portal_app_wait_fill(app, plan->fds + plan->nfds, (int)(cap - (size_t)plan->nfds - 1));
        bool has_module_work = plan->nfds > entry_fds;
        add_stop_fd(plan);
        bool timer_cut;
        int wait = wait_bound(app, plan, ready, timeout_ms, start, &timer_cut);
        if (wait != 0 && portal_platform_interrupted())
            return portal_fail(app, PORTAL_ERR_NOT_READY, "sockPoll: interrupted: host shutting down");
        int n = portal_platform_wait_many(plan->fds, plan->nfds, wait);
        if (n == PORTAL_IO_WOULD_BLOCK)
            continue; /* a signal cut the wait short */
        if (n < 0) {
            /* Anything else (EINVAL when there are more entries than RLIMIT_NOFILE, ENOMEM) fails
             * the same way on every retry: report it instead of spinning until the timeout. */
            return portal_fail(app, PORTAL_ERR_INTERNAL, "sockPoll: poll failed: %s",
                               portal_platform_last_error());
        }
        if (has_module_work)
            portal_app_service(app);
        ready = collect(plan, count);
        if (has_module_work && ready == 0 && n > 0) {
            /* A handshake may have finished: re-plan without waiting. */
            ready = plan_entries(app, entries, count, plan);
        }
        if (ready == 0 && timeout_ms != 0 && portal_platform_interrupted()) {
            /* Checked after the poll too: while the app's next task is due every wait is 0, so
             * the check above is skipped, and the shutdown descriptor (never drained here) would
             * keep poll returning at once: this loop would spin instead of ending. */
            return portal_fail(app, PORTAL_ERR_NOT_READY, "sockPoll: interrupted: host shutting down");
        }
        bool expired = timeout_ms == 0 ||
                       (timeout_ms > 0 && portal_platform_now_ms() - start >= timeout_ms);
        if (ready > 0 || expired || (timer_cut && n == 0)) {
            for (uint32_t i = 0; i < count; i++)
                put_u16(entries + (size_t)i * POLL_ENTRY_SIZE + 6, plan->ready[i]);
            return ready;
        }
    }
}

int32_t portal_sock_poll(portal_app *app, uint8_t *entries, uint32_t entries_len,
                         int32_t timeout_ms)
{
    if (entries_len % POLL_ENTRY_SIZE != 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "sockPoll: entries length %u is not a multiple of %d", entries_len,
                           POLL_ENTRY_SIZE);
    uint32_t count = entries_len / POLL_ENTRY_SIZE;
    if (count > POLL_MAX_ENTRIES)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "sockPoll: %u entries (limit %d)", count, POLL_MAX_ENTRIES);
    /* entries + what the modules watch while the app waits + the shutdown descriptor */
    size_t cap = (size_t)count + (size_t)portal_app_wait_capacity(app) + 1;
    poll_plan plan;
    int32_t result;
    if (plan_alloc(&plan, count, cap))
        result = poll_loop(app, entries, count, timeout_ms, &plan, cap);
    else
        result = portal_fail(app, PORTAL_ERR_INTERNAL, "sockPoll: out of memory");
    plan_free(&plan);
    return result;
}
