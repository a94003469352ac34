/* glue_w2c.c - the wasm2c import functions, derived from the API tables: each one checks its
 * buffer and string arguments against the app's memory (trapping on failure) and calls the
 * implementation with host pointers. wasm2c names an import `Z_<module>Z_<name>` and passes the
 * import module's instance pointer first; the runtime passes its portal_rt for every module. */
#include <stdint.h>

#include "../api/api.h"
#include "rt.h"

typedef uint32_t u32;
typedef uint64_t u64;

#define W2C_PARAM_CTX(n)
#define W2C_PARAM_I32(n) , u32 n
#define W2C_PARAM_I64(n) , u64 n
#define W2C_PARAM_BUF(n) , u32 n##_off, u32 n##_len
#define W2C_PARAM_STR(n) , u32 n##_off
#define W2C_PARAM_OFF(n) , u32 n
#define W2C_PARAM_ONE(t) PK_APPLY(W2C_PARAM_, t)

#define W2C_CHECK_CTX(n)
#define W2C_CHECK_I32(n)
#define W2C_CHECK_I64(n)
#define W2C_CHECK_BUF(n) uint8_t *n = portal_rt_range_or_trap(rt, n##_off, n##_len, import, #n);
#define W2C_CHECK_STR(n) const char *n = portal_rt_string_or_trap(rt, n##_off, import, #n);
#define W2C_CHECK_OFF(n)
#define W2C_CHECK_ONE(t) PK_APPLY(W2C_CHECK_, t)

#define W2C_RET_VOID void
#define W2C_RET_I32 u32
#define W2C_RET_I64 u64
#define W2C_RETURN_VOID(call) call;
#define W2C_RETURN_I32(call) return (u32)call;
#define W2C_RETURN_I64(call) return (u64)call;

#define W2C_GLUE(mod, name, impl, ret, args)                                                       \
    struct Z_##mod##_instance_t;                                                                   \
    W2C_RET_##ret Z_##mod##Z_##name(struct Z_##mod##_instance_t *instance                          \
                                        PP_FOREACH(W2C_PARAM_ONE, args));                          \
    W2C_RET_##ret Z_##mod##Z_##name(struct Z_##mod##_instance_t *instance                          \
                                        PP_FOREACH(W2C_PARAM_ONE, args))                           \
    {                                                                                              \
        portal_rt *rt = (portal_rt *)(void *)instance;                                             \
        static const char import[] = #mod "." #name;                                               \
        (void)import;                                                                              \
        portal_app *app = &rt->app;                                                                \
        PP_FOREACH(W2C_CHECK_ONE, args)                                                            \
        W2C_RETURN_##ret(impl(PP_FOREACH(PK_CALL_ONE, args)))                                      \
    }

PORTAL_API_ALL(W2C_GLUE)

/* Called by the stubs the runtime generates for imports it does not provide (or whose declared
 * type differs from the table): the call traps, as WAMR does for unlinked imports. */
_Noreturn void portal_host_unlinked(void *instance, const char *module, const char *name);
_Noreturn void portal_host_unlinked(void *instance, const char *module, const char *name)
{
    portal_rt_trap((portal_rt *)instance, "unlinked import %s.%s", module, name);
}
