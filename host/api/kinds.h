/* kinds.h - what each parameter kind of an API table row expands to.
 *
 * A row is X(module, name, impl, RET, ((CTX, _), (KIND, cname), ...)).
 * Kinds:  I32  i32 passed unchanged                      WAMR 'i'
 *         I64  i64 passed unchanged                      WAMR 'I'
 *         BUF  app buffer: offset + byte length (2 i32)  WAMR '*~' (whole range checked)
 *         STR  NUL-terminated string inside memory       WAMR '$'
 *         OFF  raw app offset, checked by the callee     WAMR 'i' (WASI only: sizes are implied)
 * Returns: VOID, I32, I64.
 * Each expansion below is selected by pasting a prefix onto the kind name. */
#ifndef PORTAL_KINDS_H
#define PORTAL_KINDS_H

#include "pp.h"

/* ---- helpers that unpack one (KIND, name) tuple ---- */
#define PK_APPLY(prefix, t) PK_APPLY_(prefix, PP_STRIP t)
#define PK_APPLY_(prefix, ...) PK_APPLY__(prefix, __VA_ARGS__)
#define PK_APPLY__(prefix, kind, name) prefix##kind(name)

/* ---- WAMR signature string, e.g. "(i*~i)i" ---- */
#define PK_SIG_CTX(n) ""
#define PK_SIG_I32(n) "i"
#define PK_SIG_I64(n) "I"
#define PK_SIG_BUF(n) "*~"
#define PK_SIG_STR(n) "$"
#define PK_SIG_OFF(n) "i"
#define PK_SIG_ONE(t) PK_APPLY(PK_SIG_, t)
#define PK_RSIG_VOID ""
#define PK_RSIG_I32 "i"
#define PK_RSIG_I64 "I"
#define PK_SIGNATURE(ret, args) "(" PP_FOREACH(PK_SIG_ONE, args) ")" PK_RSIG_##ret

/* ---- WebAssembly function type, params then results: "ii:i" ---- */
#define PK_WT_CTX(n) ""
#define PK_WT_I32(n) "i"
#define PK_WT_I64(n) "I"
#define PK_WT_BUF(n) "ii"
#define PK_WT_STR(n) "i"
#define PK_WT_OFF(n) "i"
#define PK_WT_ONE(t) PK_APPLY(PK_WT_, t)
#define PK_WASM_TYPE(ret, args) PP_FOREACH(PK_WT_ONE, args) ":" PK_RSIG_##ret

/* ---- C prototype of the implementation: (portal_app *app, ...) ---- */
#define PK_PROTO_CTX(n) struct portal_app *app
#define PK_PROTO_I32(n) , int32_t n
#define PK_PROTO_I64(n) , int64_t n
#define PK_PROTO_BUF(n) , uint8_t *n, uint32_t n##_len
#define PK_PROTO_STR(n) , const char *n
#define PK_PROTO_OFF(n) , uint32_t n
#define PK_PROTO_ONE(t) PK_APPLY(PK_PROTO_, t)
#define PK_CRET_VOID void
#define PK_CRET_I32 int32_t
#define PK_CRET_I64 int64_t

/* ---- argument list forwarded to the implementation ---- */
#define PK_CALL_CTX(n) app
#define PK_CALL_I32(n) , (int32_t)n
#define PK_CALL_I64(n) , (int64_t)n
#define PK_CALL_BUF(n) , n, n##_len
#define PK_CALL_STR(n) , n
#define PK_CALL_OFF(n) , n
#define PK_CALL_ONE(t) PK_APPLY(PK_CALL_, t)

#endif
