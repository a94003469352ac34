/* fdwatch.c - runs a command and reports its open file descriptors when it starts (right after
 * exec) and when it ends (at the PTRACE_EVENT_EXIT stop, before the kernel closes anything), so a
 * test can prove that a process closed every socket itself, e.g. portal-host's app teardown.
 *   fdwatch REPORT_FILE COMMAND [ARGS...]
 * REPORT_FILE gets, as they happen:
 *   pid P
 *   start fds N sockets S
 *   exit fds N sockets S        followed by one "fd K -> TARGET" line per descriptor
 *   status CODE                 (the command's exit code; 128+N when killed by signal N)
 * or "ptrace unavailable: REASON" when tracing is not permitted (the command still runs).
 * fdwatch exits with the command's status. Only the command itself is traced, not its children. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static FILE *report;

/* Counts /proc/PID/fd entries and how many are sockets; lists them when `list` is set. */
static void count_fds(pid_t pid, const char *label, int list)
{
    char dir_path[64];
    snprintf(dir_path, sizeof dir_path, "/proc/%d/fd", (int)pid);
    DIR *dir = opendir(dir_path);
    if (!dir) {
        fprintf(report, "%s fds ? sockets ? (%s)\n", label, strerror(errno));
        fflush(report);
        return;
    }
    char lines[8192];
    size_t used = 0;
    int fds = 0, sockets = 0;
    struct dirent *entry;
    lines[0] = '\0';
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char link_path[320], target[256];
        snprintf(link_path, sizeof link_path, "%s/%s", dir_path, entry->d_name);
        ssize_t n = readlink(link_path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        fds++;
        if (strncmp(target, "socket:", 7) == 0)
            sockets++;
        if (list && used < sizeof lines - 300) {
            int w = snprintf(lines + used, sizeof lines - used, "fd %s -> %s\n", entry->d_name,
                             target);
            if (w > 0)
                used += (size_t)w;
        }
    }
    closedir(dir);
    fprintf(report, "%s fds %d sockets %d\n%s", label, fds, sockets, lines);
    fflush(report);
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: fdwatch REPORT_FILE COMMAND [ARGS...]\n");
        return 2;
    }
    report = fopen(argv[1], "w");
    if (!report) {
        perror("fdwatch: report file");
        return 2;
    }
    /* The child tells us through this pipe whether PTRACE_TRACEME worked; exec closes it. */
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
        perror("fdwatch: pipe");
        return 2;
    }
    fflush(report);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fdwatch: fork");
        return 2;
    }
    if (pid == 0) {
        fclose(report);
        close(pipe_fds[0]);
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
            char msg[160];
            int len = snprintf(msg, sizeof msg, "%s", strerror(errno));
            if (write(pipe_fds[1], msg, (size_t)len) < 0) {
                /* nothing to do: the parent then assumes tracing works and will notice */
            }
        }
        execvp(argv[2], argv + 2);
        fprintf(stderr, "fdwatch: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    close(pipe_fds[1]);
    char msg[160];
    ssize_t msg_len = read(pipe_fds[0], msg, sizeof msg - 1);
    close(pipe_fds[0]);
    fprintf(report, "pid %d\n", (int)pid);
    fflush(report);
    int status;
    if (msg_len > 0) {
        msg[msg_len] = '\0';
        fprintf(report, "ptrace unavailable: %s\n", msg);
        fflush(report);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        fprintf(report, "status %d\n", status_code(status));
        fclose(report);
        return status_code(status);
    }
    /* The first stop is the SIGTRAP after a successful exec. */
    if (waitpid(pid, &status, 0) < 0 || !WIFSTOPPED(status)) {
        fprintf(report, "status %d\n", status_code(status));
        fclose(report);
        return status_code(status);
    }
    if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
               (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)) != 0) {
        fprintf(report, "ptrace unavailable: PTRACE_SETOPTIONS: %s\n", strerror(errno));
        fflush(report);
    }
    count_fds(pid, "start", 0);
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    for (;;) {
        if (waitpid(pid, &status, __WALL) < 0) {
            if (errno == EINTR)
                continue;
            perror("fdwatch: waitpid");
            return 2;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status))
            break;
        if (!WIFSTOPPED(status))
            continue;
        int sig = WSTOPSIG(status);
        if (sig == SIGTRAP && (status >> 16) == PTRACE_EVENT_EXIT) {
            count_fds(pid, "exit", 1);
            sig = 0;
        } else if (sig == SIGTRAP) {
            sig = 0; /* a ptrace trap, not a real signal */
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig); /* pass real signals on */
    }
    fprintf(report, "status %d\n", status_code(status));
    fclose(report);
    return status_code(status);
}
