/* memory.c - checked access to the app's linear memory, and the traps and exits that unwind a
 * running wasm call (wasm2c's runtime longjmps back to the runtime's call site). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wasm-rt.h>

#include "rt.h"

uint32_t portal_rt_memory_size(portal_rt *rt)
{
    const wasm_rt_memory_t *mem = rt->memory;
    return mem ? mem->size : 0;
}

uint8_t *portal_rt_memory_base(portal_rt *rt)
{
    const wasm_rt_memory_t *mem = rt->memory;
    return mem ? mem->data : NULL;
}

uint8_t *portal_rt_range(portal_rt *rt, uint32_t offset, uint32_t len)
{
    const wasm_rt_memory_t *mem = rt->memory;
    if (!mem || (uint64_t)offset + len > mem->size)
        return NULL;
    return mem->data + offset;
}

uint8_t *portal_rt_range_or_trap(portal_rt *rt, uint32_t offset, uint32_t len, const char *import,
                                 const char *arg)
{
    uint8_t *p = portal_rt_range(rt, offset, len);
    if (!p)
        portal_rt_trap(rt,
                       "out of bounds memory access: %s argument %s (offset %u, length %u, memory "
                       "size %u)",
                       import, arg, offset, len, portal_rt_memory_size(rt));
    return p;
}

const char *portal_rt_string_or_trap(portal_rt *rt, uint32_t offset, const char *import,
                                     const char *arg)
{
    uint32_t size = portal_rt_memory_size(rt);
    if (offset < size && memchr(portal_rt_memory_base(rt) + offset, 0, size - offset))
        return (const char *)portal_rt_memory_base(rt) + offset;
    portal_rt_trap(rt,
                   "out of bounds memory access: %s argument %s (string at offset %u is not "
                   "terminated inside memory of size %u)",
                   import, arg, offset, size);
}

void portal_rt_trap(portal_rt *rt, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rt->trap_message, sizeof rt->trap_message, fmt, ap);
    va_end(ap);
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

void portal_rt_proc_exit(portal_rt *rt, int code)
{
    rt->exit_requested = true;
    rt->exit_code = code;
    rt->exiting_by_proc_exit = true;
    wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}
