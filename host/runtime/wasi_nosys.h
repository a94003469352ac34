/* wasi_nosys.h - a parameter-kind expansion for the API tables that marks each parameter of a
 * derived prototype as unused: `(void)name;`. wasi.c uses it to define every row of
 * PORTAL_API_WASI_NOSYS as a function that only returns ENOSYS, straight from the table, so the
 * table stays the single place where those imports are listed. */
#ifndef PORTAL_WASI_NOSYS_H
#define PORTAL_WASI_NOSYS_H

#include "../api/kinds.h"

#define PK_VOID_CTX(n) (void)app;
#define PK_VOID_I32(n) (void)n;
#define PK_VOID_I64(n) (void)n;
#define PK_VOID_BUF(n) (void)n; (void)n##_len;
#define PK_VOID_STR(n) (void)n;
#define PK_VOID_OFF(n) (void)n;
#define PK_VOID_ONE(t) PK_APPLY(PK_VOID_, t)

/* Defines `impl` with the table's prototype; the body ignores every argument and returns
 * `result`. Only for rows that return I32. */
#define PORTAL_WASI_DEFINE_CONST(ret, impl, args, result)                                          \
    PK_CRET_##ret impl(PP_FOREACH(PK_PROTO_ONE, args))                                             \
    {                                                                                              \
        PP_FOREACH(PK_VOID_ONE, args)                                                              \
        return (result);                                                                           \
    }

#endif
