/* fault.h - names a memory fault of the running app: out of bounds or call stack exhausted. */
#ifndef PORTAL_FAULT_H
#define PORTAL_FAULT_H

#include "rt.h"

/* Installs the SIGSEGV/SIGBUS handler for the app's instantiated memory and this thread's stack. */
void portal_fault_install(portal_rt *rt);

#endif
