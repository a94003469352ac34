/* heap_report.h - portal-host -v's teardown heap report: the C heap in use before the app's first
 * host call and after teardown, made exact by running without glibc's per-thread cache. */
#ifndef PORTAL_HEAP_REPORT_H
#define PORTAL_HEAP_REPORT_H

/* Call first thing in main when -v is given: if glibc's per-thread cache (tcache) is on, runs this
 * program again (same arguments) with GLIBC_TUNABLES=glibc.malloc.tcache_count=0, so that freed
 * blocks stop counting as in use; returns when that is not needed or not possible (the cache is
 * off already, the tunable did not take, valgrind or AddressSanitizer owns malloc, exec failed). */
void portal_heap_report_prepare(char **argv);

/* Bytes of C heap in use now (-1 when it cannot be measured). */
long long portal_heap_in_use(void);

/* Prints the teardown line: `before` from portal_heap_in_use() before the app's first host call,
 * `table` the size of the handle table that teardown frees but that existed before `before`,
 * `crypto` the process-wide crypto state (PSA, mbedTLS 3.x; 0 with 2.x) set up before `before` and
 * kept for the process, named so that it is not mistaken for the app's. */
void portal_heap_report(long long before, long long table, long long crypto);

#endif
