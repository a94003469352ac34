/* heap_report.c - portal-host -v's teardown heap report. Teardown must give back everything the
 * app made the host allocate. With -v, portal-host reads how much C heap is in use right after
 * instantiation (before the app's first host call) and right after portal_app_teardown (before
 * the instance and the module are freed), and prints both: the difference is what the app's
 * sockets, sessions, configs, handshakes and files left behind. A few mallinfo2() calls per run,
 * none in the event loop.
 *
 * Exact, so that a clean teardown reads 0: glibc keeps recently freed small blocks in a
 * per-thread cache (tcache, up to 7 per size) that mallinfo2() counts as in use, which alone made
 * a clean run read some hundred bytes "left behind". The cache can only be turned off when the
 * process starts (GLIBC_TUNABLES), so with -v portal-host runs itself again with
 * glibc.malloc.tcache_count=0 (portal_heap_report_prepare); the line says whether the figure is
 * exact. The handle table is allocated before the first reading and freed by teardown, so its
 * size (measured when it is made) is added back. Where malloc is replaced (AddressSanitizer,
 * valgrind) the glibc arena numbers say nothing and the report says so instead. */
#include "heap_report.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h> /* RUNNING_ON_VALGRIND: 0 unless run under valgrind */
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#define HEAP_REPORT_UNAVAILABLE "built with AddressSanitizer (its allocator replaces glibc's)"
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_REPORT_UNAVAILABLE "built with AddressSanitizer (its allocator replaces glibc's)"
#endif
#endif
#if !defined(HEAP_REPORT_UNAVAILABLE) &&                                                          \
    !(defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33)))
#define HEAP_REPORT_UNAVAILABLE "no mallinfo2() in this C library"
#endif

#define TCACHE_OFF "glibc.malloc.tcache_count=0"

#ifndef HEAP_REPORT_UNAVAILABLE
static bool under_valgrind(void)
{
#ifdef RUNNING_ON_VALGRIND
    if (RUNNING_ON_VALGRIND)
        return true;
#endif
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload");
}

/* A freed small block that mallinfo2() still counts as in use went to the per-thread cache. */
static bool tcache_on(void)
{
    void *volatile block = malloc(24); /* volatile: the pair must not be optimized away */
    if (!block)
        return false;
    size_t before = mallinfo2().uordblks;
    free(block);
    return mallinfo2().uordblks == before;
}
#endif

void portal_heap_report_prepare(char **argv)
{
#ifdef HEAP_REPORT_UNAVAILABLE
    (void)argv;
#else
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (under_valgrind() || !tcache_on() || (tunables && strstr(tunables, TCACHE_OFF)))
        return; /* nothing to do, or the tunable did not take (then the line says so) */
    char value[1024];
    int n = snprintf(value, sizeof value, "%s%s%s", tunables ? tunables : "",
                     tunables && *tunables ? ":" : "", TCACHE_OFF);
    if (n < 0 || (size_t)n >= sizeof value || setenv("GLIBC_TUNABLES", value, 1) != 0)
        return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the cache (the line says the figure is not exact) */
    if (tunables)
        setenv("GLIBC_TUNABLES", tunables, 1);
    else
        unsetenv("GLIBC_TUNABLES");
#endif
}

long long portal_heap_in_use(void)
{
#ifdef HEAP_REPORT_UNAVAILABLE
    return -1;
#else
    struct mallinfo2 info = mallinfo2();
    /* arena blocks in use + blocks malloc took straight from mmap (large ones) */
    return (long long)(info.uordblks + info.hblkhd);
#endif
}

void portal_heap_report(long long before, long long table, long long crypto)
{
#ifdef HEAP_REPORT_UNAVAILABLE
    (void)before;
    (void)table;
    (void)crypto;
    fprintf(stderr, "portal-host: teardown: heap report unavailable: %s\n",
            HEAP_REPORT_UNAVAILABLE);
#else
    if (under_valgrind()) {
        fprintf(stderr, "portal-host: teardown: heap report unavailable: running under valgrind "
                        "(its allocator replaces glibc's)\n");
        return;
    }
    long long after = portal_heap_in_use();
    long long left = after - before + table;
    char crypto_text[96] = "";
    if (crypto > 0)
        snprintf(crypto_text, sizeof crypto_text,
                 " (%lld of them process-wide crypto state, set up at startup and kept)", crypto);
    if (!tcache_on()) {
        fprintf(stderr,
                "portal-host: teardown: heap in use %lld bytes before the app's first host call%s, "
                "%lld after teardown, which also freed the %lld-byte handle table (exact: glibc's "
                "per-thread cache is off): %lld bytes left behind\n",
                before, crypto_text, after, table, left);
        return;
    }
    fprintf(stderr,
            "portal-host: teardown: heap in use %lld bytes before the app's first host call%s, "
            "%lld after teardown, which also freed the %lld-byte handle table: %lld bytes more, "
            "including freed blocks glibc keeps in its per-thread cache (not a leak; with "
            "GLIBC_TUNABLES=" TCACHE_OFF " the figure is exact)\n",
            before, crypto_text, after, table, left);
#endif
}
