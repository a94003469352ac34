/* pp.h - preprocessor helpers for the API tables: FOREACH over a parenthesized list.
 * Every argument list in a table starts with the (CTX, _) marker, so lists are never empty. */
#ifndef PORTAL_PP_H
#define PORTAL_PP_H

#define PP_CAT(a, b) PP_CAT_(a, b)
#define PP_CAT_(a, b) a##b
#define PP_STRIP(...) __VA_ARGS__
#define PP_NARGS(...) PP_NARGS_(__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define PP_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, N, ...) N

/* PP_FOREACH(M, (a, b, c)) -> M(a) M(b) M(c) */
#define PP_FOREACH(M, list) PP_FOREACH_I(M, PP_NARGS list, PP_STRIP list)
#define PP_FOREACH_I(M, n, ...) PP_CAT(PP_FE_, n)(M, __VA_ARGS__)
#define PP_FE_1(M, a) M(a)
#define PP_FE_2(M, a, ...) M(a) PP_FE_1(M, __VA_ARGS__)
#define PP_FE_3(M, a, ...) M(a) PP_FE_2(M, __VA_ARGS__)
#define PP_FE_4(M, a, ...) M(a) PP_FE_3(M, __VA_ARGS__)
#define PP_FE_5(M, a, ...) M(a) PP_FE_4(M, __VA_ARGS__)
#define PP_FE_6(M, a, ...) M(a) PP_FE_5(M, __VA_ARGS__)
#define PP_FE_7(M, a, ...) M(a) PP_FE_6(M, __VA_ARGS__)
#define PP_FE_8(M, a, ...) M(a) PP_FE_7(M, __VA_ARGS__)
#define PP_FE_9(M, a, ...) M(a) PP_FE_8(M, __VA_ARGS__)
#define PP_FE_10(M, a, ...) M(a) PP_FE_9(M, __VA_ARGS__)
#define PP_FE_11(M, a, ...) M(a) PP_FE_10(M, __VA_ARGS__)

#endif
