/* app_call.h - calling the app's exports on portal-host and catching what ends them early: a trap
 * (named, and reported on stderr) or proc_exit (not a trap). */
#ifndef PORTAL_APP_CALL_H
#define PORTAL_APP_CALL_H

#include <stdbool.h>
#include <stdint.h>

#include "module.h"
#include "rt.h"

typedef enum {
    PORTAL_CALL_INITIALIZE, /* _initialize */
    PORTAL_CALL_CONTRACT,   /* portalContractVersion: result is the version */
    PORTAL_CALL_START,      /* _start */
    PORTAL_CALL_STEP,       /* portalMicroTaskStep(handle, now): result is the action */
    PORTAL_CALL_SHUTDOWN,   /* ppShutdown */
} portal_app_export;

typedef struct portal_app_call {
    const portal_module_entry *entry;
    void *instance;
    int32_t handle, now; /* PORTAL_CALL_STEP's arguments */
    uint64_t result;
} portal_app_call;

/* Runs wasm2c's instantiate (data and element segments) with a trap caught and reported; true when
 * it finished. */
bool portal_app_instantiate(portal_rt *rt, const portal_module_entry *entry, void *instance);

/* Calls one export. True when it returned normally. A proc_exit is not a trap: it sets
 * rt->exit_requested and returns false with rt->trap_message empty. A trap is reported on stderr
 * and named in rt->trap_message. */
bool portal_app_call_export(portal_rt *rt, portal_app_call *call, portal_app_export which);

#endif
