/* app_call.c - calling into the app, catching traps (app_call.h). libwasm-rt-impl longjmps to
 * wasm_rt_jmp_buf from wasm_rt_trap; the export running is named to the signal handlers, so a
 * slow shutdown says what it waits for. */
#include "app_call.h"

#include <setjmp.h>
#include <stdio.h>
#include <wasm-rt.h>

#include "signals.h"

/* wasm2c's runtime (libwasm-rt-impl) longjmps here from wasm_rt_trap. */
extern sigjmp_buf wasm_rt_jmp_buf;

static const char *trap_name(int code)
{
    switch (code) {
    case WASM_RT_TRAP_OOB: return "out of bounds memory access";
    case WASM_RT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_RT_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case WASM_RT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_RT_TRAP_UNREACHABLE: return "unreachable executed";
    case WASM_RT_TRAP_CALL_INDIRECT: return "indirect call to a null or mistyped function";
    case WASM_RT_TRAP_EXHAUSTION: return "call stack exhausted";
    default: return "unknown trap";
    }
}

bool portal_app_instantiate(portal_rt *rt, const portal_module_entry *entry, void *instance)
{
    int code = sigsetjmp(wasm_rt_jmp_buf, 1);
    if (code == 0) {
        entry->instantiate(instance, rt);
        return true;
    }
    fprintf(stderr, "portal-host: instantiation trapped: %s\n", trap_name(code));
    return false;
}

static const char *const export_names[] = {
    [PORTAL_CALL_INITIALIZE] = "_initialize",
    [PORTAL_CALL_CONTRACT] = "portalContractVersion",
    [PORTAL_CALL_START] = "_start",
    [PORTAL_CALL_STEP] = "portalMicroTaskStep",
    [PORTAL_CALL_SHUTDOWN] = "ppShutdown",
};

static void call_now(portal_app_call *c, portal_app_export which)
{
    switch (which) {
    case PORTAL_CALL_INITIALIZE: c->entry->initialize(c->instance); break;
    case PORTAL_CALL_CONTRACT: c->result = c->entry->contract_version(c->instance); break;
    case PORTAL_CALL_START: c->entry->start(c->instance); break;
    case PORTAL_CALL_STEP:
        c->result = c->entry->microtask_step(c->instance, (uint32_t)c->handle, (uint32_t)c->now);
        break;
    case PORTAL_CALL_SHUTDOWN: c->entry->shutdown(c->instance); break;
    }
}

bool portal_app_call_export(portal_rt *rt, portal_app_call *call, portal_app_export which)
{
    const char *what = export_names[which];
    rt->trap_message[0] = '\0';
    rt->exiting_by_proc_exit = false;
    int code = sigsetjmp(wasm_rt_jmp_buf, 1);
    if (code == 0) {
        portal_signals_set_app_call(what);
        call_now(call, which);
        portal_signals_set_app_call(NULL);
        return true;
    }
    portal_signals_set_app_call(NULL);
    if (rt->exiting_by_proc_exit)
        return false;
    fprintf(stderr, "portal-host: app trapped in %s: %s\n", what,
            rt->trap_message[0] ? rt->trap_message : trap_name(code));
    fflush(stderr);
    if (!rt->trap_message[0])
        snprintf(rt->trap_message, sizeof rt->trap_message, "%s", trap_name(code));
    return false;
}
