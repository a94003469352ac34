/* fault.c - telling memory faults from stack exhaustion from host bugs.
 * wasm2c (signal-handler mode) reserves 8 GiB per linear memory, so an out-of-bounds access
 * faults inside that reservation; deep recursion faults in the guard area below this thread's
 * stack. libwasm-rt-impl reports both as "out of bounds", and would report a genuine host bug the
 * same way. This handler (on the alternate stack wasm_rt_init set up) names the first two
 * precisely and lets anything else crash loudly with the default action. */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "fault.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <wasm-rt.h>
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h> /* client requests: no-ops unless run under valgrind */
#endif
#endif

#define WASM_MEMORY_RESERVATION (UINT64_C(8) << 30)
static uintptr_t fault_memory_base;
static uintptr_t stack_low, stack_high;

static void on_fault(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    uintptr_t addr = (uintptr_t)info->si_addr;
    if (fault_memory_base && addr >= fault_memory_base &&
        addr - fault_memory_base < WASM_MEMORY_RESERVATION)
        wasm_rt_trap(WASM_RT_TRAP_OOB);
    if (stack_high && addr >= stack_low && addr < stack_high)
        wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
    signal(sig, SIG_DFL);
    raise(sig);
}

void portal_fault_install(portal_rt *rt)
{
    fault_memory_base = (uintptr_t)portal_rt_memory_base(rt);
#ifdef VALGRIND_MAKE_MEM_DEFINED
    /* Under valgrind memcheck (make test-valgrind) the unused part of the reservation is a guard
     * region by design: an app access there faults and on_fault turns it into a trap. memcheck
     * would report the access as invalid just before the kernel faults it; this tells memcheck
     * the region may be touched (the pages stay PROT_NONE, the fault and the trap still happen). */
    if (fault_memory_base) {
        uint64_t used = portal_rt_memory_size(rt); /* < 4 GiB, the reservation is 8 GiB */
        VALGRIND_MAKE_MEM_DEFINED(fault_memory_base + used, WASM_MEMORY_RESERVATION - used);
    }
#endif
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            /* the guard area lies below the lowest stack address */
            stack_low = (uintptr_t)addr - (UINT64_C(1) << 20);
            stack_high = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}
