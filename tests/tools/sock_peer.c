/* sock_peer.c - native TCP peer for the portal_socket end-to-end tests (test_socket_app.sh).
 *   sock_peer freeport                     print a port that is free on both 127.0.0.1 and ::1
 *   sock_peer echo HOST PORT BYTES READ_DELAY_US SENT_FILE RECV_FILE
 *                                          send BYTES of pseudo-random data to an echo server
 *                                          while reading the echo slowly (if READ_DELAY_US > 0:
 *                                          nothing for 300 ms, then READ_DELAY_US between 8 KiB
 *                                          reads); both streams are saved for cmp/sha256
 *   sock_peer control HOST                 listen on HOST:0, print "port N", accept one control
 *                                          connection and obey its line commands (below)
 *   sock_peer hold HOST PORT SECONDS       connect, then read until EOF/reset; print what ended it
 *   sock_peer poke HOST PORT               connect and close at once
 * Control commands, one per line, each "NAME DELAY_MS [ARG]": the peer sleeps DELAY_MS, acts and
 * answers "ok [VALUE]" or "err TEXT":
 *   connect D PORT   connect to HOST:PORT (replacing the data connection); VALUE = local port
 *   send D N         send N bytes on the data connection
 *   drain D N        read exactly N bytes from the data connection
 *   close D          close the data connection in order (FIN)
 *   reset D          close it with SO_LINGER {1, 0} (RST)
 *   listen D BACKLOG open a listener on HOST:0 that nobody accepts from; VALUE = its port
 *   accept D N       accept N queued connections from that listener (kept open)
 *   freeport D       VALUE = a port on HOST with nothing listening
 *   quit D           answer and exit
 * Every wait is bounded (socket timeouts of 10 s; the scripts add `timeout` around it). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 10
#define MAX_ACCEPTED 64

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void die(const char *what)
{
    fprintf(stderr, "sock_peer: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* HOST is a numeric IPv4 or IPv6 address (loopback in the tests). */
static socklen_t make_addr(const char *host, int port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (strchr(host, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) {
            fprintf(stderr, "sock_peer: bad address %s\n", host);
            exit(2);
        }
        return sizeof *a;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
        fprintf(stderr, "sock_peer: bad address %s\n", host);
        exit(2);
    }
    return sizeof *a;
}

static int local_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    if (a.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
    return ntohs(((struct sockaddr_in *)&a)->sin_port);
}

static void set_timeouts(int fd)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int tcp_socket(const char *host)
{
    int fd = socket(strchr(host, ':') ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    return fd;
}

/* A blocking connect; retried for up to `patience_ms` while refused (the app may still start). */
static int tcp_connect(const char *host, int port, long patience_ms)
{
    struct sockaddr_storage addr;
    socklen_t len = make_addr(host, port, &addr);
    int64_t give_up = now_ms() + patience_ms;
    for (;;) {
        int fd = tcp_socket(host);
        set_timeouts(fd);
        if (connect(fd, (struct sockaddr *)&addr, len) == 0)
            return fd;
        int err = errno;
        close(fd);
        if (err != ECONNREFUSED || now_ms() >= give_up) {
            errno = err;
            return -1;
        }
        sleep_us(50000);
    }
}

static int tcp_listen(const char *host, int port, int backlog)
{
    struct sockaddr_storage addr;
    socklen_t len = make_addr(host, port, &addr);
    int fd = tcp_socket(host);
    if (strchr(host, ':')) {
        int on = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    }
    if (bind(fd, (struct sockaddr *)&addr, len) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- freeport ---- */

/* A port the kernel hands out on 127.0.0.1 that is also free on ::1 (tiny race accepted). */
static int cmd_freeport(void)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        int fd4 = tcp_listen("127.0.0.1", 0, 1);
        if (fd4 < 0)
            die("listen 127.0.0.1:0");
        int port = local_port(fd4);
        int fd6 = tcp_listen("::1", port, 1);
        close(fd4);
        if (fd6 >= 0) {
            close(fd6);
            printf("%d\n", port);
            return 0;
        }
    }
    fprintf(stderr, "sock_peer: no port free on both 127.0.0.1 and ::1\n");
    return 1;
}

/* ---- echo with a slow reader ---- */

typedef struct echo_job {
    int fd;
    uint64_t bytes;
    FILE *sent;
    int failed;
} echo_job;

/* xorshift64: reproducible bytes that no echo could fake by accident. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

static void *echo_writer(void *arg)
{
    echo_job *job = arg;
    static uint8_t chunk[65536];
    uint64_t state = 0x9E3779B97F4A7C15u, left = job->bytes;
    while (left > 0) {
        size_t n = left < sizeof chunk ? (size_t)left : sizeof chunk;
        for (size_t i = 0; i < n; i += 8) {
            uint64_t r = next_random(&state);
            memcpy(chunk + i, &r, n - i < 8 ? n - i : 8);
        }
        if (send_all(job->fd, chunk, n) != 0) {
            fprintf(stderr, "sock_peer: echo send: %s\n", strerror(errno));
            job->failed = 1;
            return NULL;
        }
        fwrite(chunk, 1, n, job->sent);
        left -= n;
    }
    shutdown(job->fd, SHUT_WR); /* the app sees EOF once it has read everything */
    return NULL;
}

static int cmd_echo(const char *host, int port, uint64_t bytes, long delay_us, const char *sent_path,
                    const char *recv_path)
{
    FILE *sent = fopen(sent_path, "wb"), *got = fopen(recv_path, "wb");
    if (!sent || !got)
        die("open output files");
    int fd = tcp_connect(host, port, 10000);
    if (fd < 0)
        die("connect");
    int64_t t0 = now_ms();
    echo_job job = {fd, bytes, sent, 0};
    pthread_t writer;
    if (pthread_create(&writer, NULL, echo_writer, &job) != 0)
        die("pthread_create");
    static uint8_t buf[8192];
    uint64_t received = 0;
    long reads = 0;
    if (delay_us > 0)
        sleep_us(300000); /* a slow start too: the echo direction fills up before we read */
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "sock_peer: echo recv after %llu bytes: %s\n",
                    (unsigned long long)received, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        fwrite(buf, 1, (size_t)n, got);
        received += (uint64_t)n;
        reads++;
        if (delay_us > 0)
            sleep_us(delay_us); /* the slow reader */
    }
    pthread_join(writer, NULL);
    close(fd);
    fclose(sent);
    fclose(got);
    printf("echo: sent %llu received %llu in %lld ms (%ld reads)\n", (unsigned long long)bytes,
           (unsigned long long)received, (long long)(now_ms() - t0), reads);
    return job.failed || received != bytes;
}

/* ---- control ---- */

typedef struct peer {
    const char *host;
    int data;     /* the data connection, -1 if none */
    int listener; /* from "listen", -1 if none */
    int accepted[MAX_ACCEPTED];
    int n_accepted;
} peer;

static void close_data(peer *p, int reset)
{
    if (p->data < 0)
        return;
    if (reset) {
        struct linger lg = {1, 0};
        setsockopt(p->data, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(p->data);
    p->data = -1;
}

/* Runs one command line; writes the answer into `reply`. Returns 0 to go on, 1 to quit. */
static int run_command(peer *p, const char *line, char *reply, size_t size)
{
    char name[32];
    long delay = 0, arg = 0;
    int fields = sscanf(line, "%31s %ld %ld", name, &delay, &arg);
    if (fields < 2) {
        snprintf(reply, size, "err bad command '%.60s'", line);
        return 0;
    }
    if (delay > 0)
        sleep_us(delay * 1000);
    snprintf(reply, size, "ok");
    if (strcmp(name, "connect") == 0) {
        close_data(p, 0);
        p->data = tcp_connect(p->host, (int)arg, 0);
        if (p->data < 0)
            snprintf(reply, size, "err connect: %s", strerror(errno));
        else
            snprintf(reply, size, "ok %d", local_port(p->data));
    } else if (strcmp(name, "send") == 0) {
        char *buf = calloc(1, (size_t)arg + 1);
        memset(buf, 'x', (size_t)arg);
        if (p->data < 0 || send_all(p->data, buf, (size_t)arg) != 0)
            snprintf(reply, size, "err send: %s", strerror(errno));
        free(buf);
    } else if (strcmp(name, "drain") == 0) {
        static char buf[65536];
        long got = 0;
        while (p->data >= 0 && got < arg) {
            size_t want = (size_t)(arg - got) < sizeof buf ? (size_t)(arg - got) : sizeof buf;
            ssize_t n = recv(p->data, buf, want, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += n;
        }
        if (got == arg)
            snprintf(reply, size, "ok %ld", got);
        else
            snprintf(reply, size, "err drained only %ld of %ld", got, arg);
    } else if (strcmp(name, "close") == 0) {
        close_data(p, 0);
    } else if (strcmp(name, "reset") == 0) {
        close_data(p, 1);
    } else if (strcmp(name, "listen") == 0) {
        if (p->listener >= 0)
            close(p->listener);
        p->listener = tcp_listen(p->host, 0, (int)arg);
        if (p->listener < 0)
            snprintf(reply, size, "err listen: %s", strerror(errno));
        else
            snprintf(reply, size, "ok %d", local_port(p->listener));
    } else if (strcmp(name, "accept") == 0) {
        long n = 0;
        while (n < arg && p->listener >= 0 && p->n_accepted < MAX_ACCEPTED) {
            struct pollfd pfd = {p->listener, POLLIN, 0};
            if (poll(&pfd, 1, IO_TIMEOUT_S * 1000) <= 0)
                break;
            int fd = accept(p->listener, NULL, NULL);
            if (fd < 0)
                break;
            p->accepted[p->n_accepted++] = fd;
            n++;
        }
        if (n == arg)
            snprintf(reply, size, "ok %ld", n);
        else
            snprintf(reply, size, "err accepted only %ld of %ld", n, arg);
    } else if (strcmp(name, "freeport") == 0) {
        int fd = tcp_listen(p->host, 0, 1);
        int port = fd >= 0 ? local_port(fd) : -1;
        if (fd >= 0)
            close(fd);
        snprintf(reply, size, "ok %d", port);
    } else if (strcmp(name, "quit") == 0) {
        return 1;
    } else {
        snprintf(reply, size, "err unknown command '%s'", name);
    }
    return 0;
}

static int cmd_control(const char *host)
{
    int lfd = tcp_listen(host, 0, 1);
    if (lfd < 0)
        die("listen");
    printf("port %d\n", local_port(lfd));
    fflush(stdout);
    struct pollfd pfd = {lfd, POLLIN, 0};
    if (poll(&pfd, 1, 30000) <= 0) {
        fprintf(stderr, "sock_peer: nobody connected to the control port\n");
        return 1;
    }
    int ctl = accept(lfd, NULL, NULL);
    if (ctl < 0)
        die("accept");
    close(lfd);
    struct timeval tv = {60, 0};
    setsockopt(ctl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    peer p = {host, -1, -1, {0}, 0};
    char line[256];
    size_t used = 0;
    int quit = 0;
    while (!quit) {
        ssize_t n = recv(ctl, line + used, sizeof line - 1 - used, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the app went away */
        used += (size_t)n;
        line[used] = '\0';
        char *nl;
        while (!quit && (nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            char reply[160];
            printf("cmd: %s\n", line);
            quit = run_command(&p, line, reply, sizeof reply);
            printf("  -> %s\n", reply);
            fflush(stdout);
            strcat(reply, "\n");
            send_all(ctl, reply, strlen(reply));
            size_t rest = used - (size_t)(nl + 1 - line);
            memmove(line, nl + 1, rest + 1);
            used = rest;
        }
        if (used == sizeof line - 1)
            used = 0; /* an overlong line: drop it */
    }
    close_data(&p, 0);
    for (int i = 0; i < p.n_accepted; i++)
        close(p.accepted[i]);
    if (p.listener >= 0)
        close(p.listener);
    close(ctl);
    return 0;
}

/* ---- hold, poke ---- */

static int cmd_hold(const char *host, int port, long seconds)
{
    int fd = tcp_connect(host, port, 5000);
    if (fd < 0)
        die("connect");
    printf("hold: connected\n");
    fflush(stdout);
    int64_t t0 = now_ms();
    struct pollfd pfd = {fd, POLLIN, 0};
    char buf[4096];
    for (;;) {
        int left = (int)(seconds * 1000 - (now_ms() - t0));
        if (left <= 0 || poll(&pfd, 1, left) == 0) {
            printf("hold: still open after %ld s\n", seconds);
            close(fd);
            return 1;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            printf("hold: eof after %lld ms\n", (long long)(now_ms() - t0));
            break;
        }
        if (n < 0) {
            printf("hold: %s after %lld ms\n", strerror(errno), (long long)(now_ms() - t0));
            break;
        }
    }
    close(fd);
    return 0;
}

static int cmd_poke(const char *host, int port)
{
    int fd = tcp_connect(host, port, 5000);
    if (fd < 0)
        die("connect");
    close(fd);
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: sock_peer freeport | echo HOST PORT BYTES READ_DELAY_US SENT RECV |\n"
                    "       control HOST | hold HOST PORT SECONDS | poke HOST PORT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        usage();
    const char *mode = argv[1];
    if (strcmp(mode, "freeport") == 0)
        return cmd_freeport();
    if (strcmp(mode, "echo") == 0 && argc == 8)
        return cmd_echo(argv[2], atoi(argv[3]), strtoull(argv[4], NULL, 10), atol(argv[5]),
                        argv[6], argv[7]);
    if (strcmp(mode, "control") == 0 && argc == 3)
        return cmd_control(argv[2]);
    if (strcmp(mode, "hold") == 0 && argc == 5)
        return cmd_hold(argv[2], atoi(argv[3]), atol(argv[4]));
    if (strcmp(mode, "poke") == 0 && argc == 4)
        return cmd_poke(argv[2], atoi(argv[3]));
    usage();
    return 2;
}
