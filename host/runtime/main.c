/* main.c - the portal-host command line: `portal-host run APP.wasm [options] [-- ARGS]`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../tls/tls.h"
#include "heap_report.h"
#include "run.h"
#ifdef PORTAL_HOST_LWIP
#include "lwip-host/lwip_host.h" /* portal-host-lwip: the same program on lwIP + a TAP interface */
#endif

#ifndef PORTAL_VERSION
#define PORTAL_VERSION "unknown"
#endif

static void version(void)
{
    printf("portal-host %s\n"
           "app contract version 1\n"
           "%s\n",
           PORTAL_VERSION, portal_tls_library_version());
}

static void usage(FILE *out)
{
    fputs("usage: portal-host run APP.wasm [options] [-- ARGS...]\n"
          "\n"
          "Runs a Paper Portal app (.wasm) on this computer: checks its imports against the\n"
          "host's API tables, compiles it with wasm2c into a native sandboxed module (cached by\n"
          "content hash), runs _start, then its microtasks until none is left or it exits.\n"
          "SIGINT/SIGTERM call the app's ppShutdown export, then every socket, TLS session,\n"
          "file and directory it owned is closed.\n"
          "\n"
          "options:\n"
          "  --cache-dir DIR          compiled-module cache (default: $PORTAL_CACHE_DIR,\n"
          "                           $XDG_CACHE_HOME/portal-host or ~/.cache/portal-host;\n"
          "                           without any, a private temporary directory); it must be\n"
          "                           yours, not group/world-writable, not a symbolic link\n"
          "  --sd DIR                 the directory apps see as the SD card /sdcard (module\n"
          "                           portal_fs; default $XDG_DATA_HOME/portal-host/sdcard or\n"
          "                           ~/.local/share/portal-host/sdcard, created with mode 0700\n"
          "                           on first use); nothing outside it is reachable\n"
          "  --max-sockets N          open plain sockets per app (default 64)\n"
          "  --max-tls-configs N      TLS server configs per app (default 4)\n"
          "  --max-tls-sessions N     TLS sessions per app (default 64)\n"
          "  --max-pending-handshakes N  TLS handshakes in flight (default 8)\n"
          "  --handshake-deadline-ms N   time a client has to finish its handshake (default 10000)\n"
          "  -v, --verbose            report compile/cache times and lifecycle steps, and at\n"
          "                           exit the C heap in use before the app's first host call\n"
          "                           and after teardown (what the app's handles left behind;\n"
          "                           exact: -v runs portal-host with glibc's per-thread cache\n"
          "                           off, GLIBC_TUNABLES=glibc.malloc.tcache_count=0)\n"
          "  -h, --help               this text\n"
          "  --version                portal-host, app contract and mbedTLS versions\n"
          "\n"
          "Options go before `--`; everything after it is the app's own arguments, e.g.\n"
          "  portal-host run build/apps-wasm/tls-echo-server.wasm -- --port 8443\n"
          "\n"
          "exit status: the app's exit code (proc_exit / exit from main), 0 after exitApp or a\n"
          "signal-driven shutdown, 134 when the app trapped, 125 when the module could not be\n"
          "loaded or started, 2 for usage errors.\n"
          "\n"
          "A busy app (a step or main that does not return) cannot be stopped in the middle: after\n"
          "the first signal portal-host says what it waits for; a second SIGINT/SIGTERM ends it at\n"
          "once, without ppShutdown, with exit status 128 + signal (130 for Ctrl-C, 143 for SIGTERM).\n",
          out);
}

static bool parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

/* What parse_run_args decided: run the app, or end now with its exit status (help shown, or a
 * usage error already reported). */
typedef enum { CLI_RUN, CLI_EXIT } cli_action;

/* A --max-... flag with its allowed range; true when `argv[*i]` was one (its value consumed). */
static bool parse_limit_flag(int argc, char **argv, int *i, portal_limits *limits, bool *bad)
{
    struct {
        const char *flag;
        int *value;
        int min, max;
    } int_flags[] = {
        {"--max-sockets", &limits->max_sockets, 1, 1 << 20},
        {"--max-tls-configs", &limits->max_tls_configs, 1, 1024},
        {"--max-tls-sessions", &limits->max_tls_sessions, 1, 1 << 20},
        {"--max-pending-handshakes", &limits->max_pending_handshakes, 1, 1 << 16},
        {"--handshake-deadline-ms", &limits->handshake_deadline_ms, 1, 3600 * 1000},
    };
    const char *a = argv[*i];
    for (size_t f = 0; f < sizeof int_flags / sizeof int_flags[0]; f++) {
        if (strcmp(a, int_flags[f].flag) != 0)
            continue;
        if (*i + 1 >= argc ||
            !parse_int(argv[++*i], int_flags[f].min, int_flags[f].max, int_flags[f].value)) {
            fprintf(stderr, "portal-host: %s needs a number from %d to %d\n", a, int_flags[f].min,
                    int_flags[f].max);
            *bad = true;
        }
        return true;
    }
    return false;
}

/* Parses `portal-host run APP.wasm [options] [-- ARGS]` (argv[2] on) into opts. */
static cli_action parse_run_args(int argc, char **argv, portal_run_options *opts, int *exit_status)
{
    *exit_status = PORTAL_EXIT_USAGE;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            opts->argc = argc - i - 1;
            opts->argv = argv + i + 1;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            *exit_status = 0;
            return CLI_EXIT;
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            opts->verbose = true;
            continue;
        }
        if (strcmp(a, "--cache-dir") == 0 && i + 1 < argc) {
            opts->cache_dir = argv[++i];
            continue;
        }
        if (strcmp(a, "--sd") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "portal-host: --sd needs a directory\n");
                return CLI_EXIT;
            }
            opts->sd_dir = argv[++i];
            continue;
        }
        bool bad = false;
        if (parse_limit_flag(argc, argv, &i, &opts->limits, &bad)) {
            if (bad)
                return CLI_EXIT;
            continue;
        }
        if (a[0] == '-' || opts->wasm_path) {
            /* The usual slip: the app's own flags given without `--` before them. */
            if (opts->wasm_path)
                fprintf(stderr,
                        "portal-host: unknown argument %s: the app's own arguments go after `--`: "
                        "portal-host run %s [options] -- %s ...\n",
                        a, opts->wasm_path, a);
            else
                fprintf(stderr, "portal-host: unknown argument %s (see --help)\n", a);
            return CLI_EXIT;
        }
        opts->wasm_path = a;
    }
    if (!opts->wasm_path) {
        usage(stderr);
        return CLI_EXIT;
    }
    return CLI_RUN;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        version();
        return 0;
    }
    if (argc < 3 || strcmp(argv[1], "run") != 0) {
        usage(stderr);
        return PORTAL_EXIT_USAGE;
    }
    portal_run_options opts;
    memset(&opts, 0, sizeof opts);
    portal_limits_default(&opts.limits);
    int exit_status;
    if (parse_run_args(argc, argv, &opts, &exit_status) == CLI_EXIT)
        return exit_status;
    if (opts.verbose)
        portal_heap_report_prepare(argv); /* may run portal-host again: exact heap figures */
    /* A server app may hold thousands of connections: use the hard descriptor limit. */
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
#ifdef PORTAL_HOST_LWIP
    if (!portal_lwip_host_start())
        return PORTAL_EXIT_HOST_ERROR;
    opts.interrupt_fd_for = portal_lwip_host_interrupt_fd;
    int status = portal_run(&opts);
    portal_lwip_host_stop();
    return status;
#else
    return portal_run(&opts);
#endif
}
