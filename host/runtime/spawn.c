/* spawn.c - fork + exec + bounded wait for the module compiler tools: own process group, time,
 * CPU, memory and file-size limits, no core files, and a message that says which limit hit. */
#include "spawn.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errbuf.h"

/* A 64 MiB module is the largest the host reads; measured on it (docs/security.md): wasm2c and
 * gcc -O2 need minutes and a few GiB. The defaults leave room above that and still stop a tool
 * that never ends or eats the machine. */
#define DEFAULT_SECONDS 1200u
#define DEFAULT_MEMORY_MB 16384u
#define DEFAULT_FILE_MB 4096u

static unsigned env_unsigned(const char *name, unsigned fallback)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return fallback;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > 1u << 24)
        return fallback;
    return (unsigned)v;
}

void portal_tool_limits_get(portal_tool_limits *limits)
{
    limits->seconds = env_unsigned("PORTAL_TOOL_TIMEOUT_S", DEFAULT_SECONDS);
    limits->memory_mb = env_unsigned("PORTAL_TOOL_MEMORY_MB", DEFAULT_MEMORY_MB);
    limits->file_mb = env_unsigned("PORTAL_TOOL_FILE_MB", DEFAULT_FILE_MB);
}

static void set_limit(int resource, rlim_t soft, rlim_t hard)
{
    struct rlimit lim = {soft, hard};
    setrlimit(resource, &lim);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static _Noreturn void exec_child(char *const argv[], const portal_tool_limits *limits,
                                 int out_fd, int report_fd)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGXCPU, SIG_DFL);
    signal(SIGXFSZ, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    rlim_t mem = (rlim_t)limits->memory_mb << 20;
    set_limit(RLIMIT_CPU, limits->seconds, limits->seconds + 5);
    set_limit(RLIMIT_AS, mem, mem);
    set_limit(RLIMIT_DATA, mem, mem);
    set_limit(RLIMIT_FSIZE, (rlim_t)limits->file_mb << 20, (rlim_t)limits->file_mb << 20);
    set_limit(RLIMIT_CORE, 0, 0);
    int in = open("/dev/null", O_RDONLY);
    if (in >= 0 && in != 0) {
        dup2(in, 0);
        close(in);
    }
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    execvp(argv[0], argv);
    int e = errno;
    ssize_t w = write(report_fd, &e, sizeof e);
    (void)w;
    _exit(127);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SIGINT, SIGTERM or SIGHUP while a tool runs: the tool is in its own process group, so the
 * terminal's Ctrl-C does not reach it; the host kills the group, and the caller re-raises the
 * signal once it has cleaned up (portal_tool_interrupted). */
static volatile sig_atomic_t interrupted_by;
static const int interrupting[] = {SIGINT, SIGTERM, SIGHUP};

static void on_interrupt(int sig)
{
    interrupted_by = sig;
}

static void catch_interrupts(struct sigaction saved[3])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt; /* no SA_RESTART: the wait returns at once */
    sigemptyset(&sa.sa_mask);
    interrupted_by = 0;
    for (int i = 0; i < 3; i++)
        sigaction(interrupting[i], &sa, &saved[i]);
}

static void release_interrupts(const struct sigaction saved[3])
{
    for (int i = 0; i < 3; i++)
        sigaction(interrupting[i], &saved[i], NULL);
}

int portal_tool_interrupted(void)
{
    return interrupted_by;
}

/* A descriptor that becomes readable when `pid` exits (Linux 5.3+), or -1: then the wait polls. */
static int exit_watch(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Waits for `pid` until `seconds` have passed or an interrupting signal came; then kills its
 * process group. Every other process left in the group is killed as well, while the leader is
 * still a zombie (so its pid, the group's id, cannot have been reused). Returns the wait status
 * (exit status 255 if it could not be had); *timed_out says whether time ran out. */
static int wait_bounded(pid_t pid, unsigned seconds, bool *timed_out)
{
    double deadline = now_s() + seconds;
    int watch = exit_watch(pid);
    int nap_ms = 1;
    *timed_out = false;
    for (;;) {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        int r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
        if (r == 0 && info.si_pid == pid)
            break;
        if ((r < 0 && errno != EINTR) || interrupted_by)
            break;
        double left = deadline - now_s();
        if (left <= 0) {
            *timed_out = true;
            break;
        }
        int left_ms = left > 3600 ? 3600000 : (int)(left * 1000) + 1;
        if (watch >= 0) {
            struct pollfd p = {watch, POLLIN, 0};
            poll(&p, 1, left_ms < 1000 ? left_ms : 1000); /* returns at the exit */
        } else {
            int ms = left_ms < nap_ms ? left_ms : nap_ms;
            struct timespec nap = {ms / 1000, (long)(ms % 1000) * 1000000};
            nanosleep(&nap, NULL);
            if (nap_ms < 50)
                nap_ms *= 2;
        }
    }
    if (watch >= 0)
        close(watch);
    kill(-pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return 255 << 8;
    return status;
}

/* What allocators print when they fail: glibc and gcc ("virtual memory exhausted: Cannot
 * allocate memory", "out of memory allocating"), C++ (std::bad_alloc), bash ("cannot allocate"). */
static bool mentions_out_of_memory(const char *text)
{
    static const char *const phrases[] = {"out of memory", "cannot allocate", "bad_alloc",
                                          "memory exhausted"};
    char lower[4096];
    size_t n = 0;
    for (; text[n] && n + 1 < sizeof lower; n++)
        lower[n] = (char)tolower((unsigned char)text[n]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        if (strstr(lower, phrases[i]))
            return true;
    return false;
}

/* The reason for a non-zero wait status, in words. */
static bool explain(const char *what, int status, const char *output,
                    const portal_tool_limits *limits, char *err, size_t err_size)
{
    const char *shown = *output ? output : "(no output)";
    if (mentions_out_of_memory(output))
        return portal_err_set(err, err_size, "%s ran out of memory (limit %u MiB, PORTAL_TOOL_MEMORY_MB): %.1200s",
                    what, limits->memory_mb, shown);
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == SIGXCPU)
            return portal_err_set(err, err_size, "%s used more than %u s of CPU time (PORTAL_TOOL_TIMEOUT_S)",
                        what, limits->seconds);
        if (sig == SIGXFSZ)
            return portal_err_set(err, err_size, "%s wrote a file larger than %u MiB (PORTAL_TOOL_FILE_MB)",
                        what, limits->file_mb);
        return portal_err_set(err, err_size, "%s was killed by signal %d (%s); memory limit %u MiB: %.1200s",
                    what, sig, strsignal(sig), limits->memory_mb, shown);
    }
    return portal_err_set(err, err_size, "%s failed (exit status %d): %.1200s", what,
                WIFEXITED(status) ? WEXITSTATUS(status) : -1, shown);
}

/* Reads the head of the captured output into buf (NUL-terminated). */
static void read_head(FILE *f, char *buf, size_t size)
{
    buf[0] = '\0';
    if (size < 2 || fseek(f, 0, SEEK_SET) != 0)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
}

bool portal_tool_run(const char *what, char *const argv[], const portal_tool_limits *limits,
                     char *out, size_t out_size, char *err, size_t err_size)
{
    if (out && out_size)
        out[0] = '\0';
    FILE *capture = tmpfile();
    if (!capture)
        return portal_err_set(err, err_size, "cannot run %s: no temporary file for its output: %s", what,
                    strerror(errno));
    int report[2];
    if (pipe(report) != 0) {
        fclose(capture);
        return portal_err_set(err, err_size, "cannot run %s: %s", what, strerror(errno));
    }
    fcntl(report[0], F_SETFD, FD_CLOEXEC);
    fcntl(report[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    struct sigaction saved[3];
    catch_interrupts(saved);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        release_interrupts(saved);
        close(report[0]);
        close(report[1]);
        fclose(capture);
        return portal_err_set(err, err_size, "cannot run %s: fork: %s", what, strerror(e));
    }
    if (pid == 0)
        exec_child(argv, limits, fileno(capture), report[1]);
    setpgid(pid, pid); /* also done by the child: whichever runs first, no window without it */
    close(report[1]);
    int exec_errno = 0;
    ssize_t got;
    while ((got = read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR)
        ;
    close(report[0]);
    bool timed_out;
    int status = wait_bounded(pid, limits->seconds, &timed_out);
    int interrupt = interrupted_by;
    release_interrupts(saved);
    char head[4096];
    read_head(capture, head, sizeof head);
    if (out && out_size)
        snprintf(out, out_size, "%s", head);
    fclose(capture);
    if (interrupt)
        return portal_err_set(err, err_size, "%s was stopped: portal-host got signal %d (%s)", what, interrupt,
                    strsignal(interrupt));
    if (got == (ssize_t)sizeof exec_errno)
        return portal_err_set(err, err_size, "cannot run %s (%s): %s", what, argv[0], strerror(exec_errno));
    if (timed_out)
        return portal_err_set(err, err_size, "%s took longer than %u s (PORTAL_TOOL_TIMEOUT_S) and was stopped",
                    what, limits->seconds);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    return explain(what, status, head, limits, err, err_size);
}
