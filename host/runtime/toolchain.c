/* toolchain.c - which wasm2c and C compiler turn apps into shared objects, with which flags, and
 * the fingerprint of all that (versions, flags, wasm-rt.h) for the compile cache's key. */
#include "toolchain.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256_compat.h"

#ifndef PORTAL_WASM2C
#define PORTAL_WASM2C "wasm2c"
#endif
#ifndef PORTAL_CC
#define PORTAL_CC "cc"
#endif
#ifndef PORTAL_WASM_RT_INCLUDE
#define PORTAL_WASM_RT_INCLUDE "/usr/include"
#endif


static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

void portal_toolchain_wasm2c_argv(const portal_toolchain *tc, const char *wasm, const char *out_c,
                                  char *argv[PORTAL_WASM2C_ARGC])
{
    char *const args[PORTAL_WASM2C_ARGC] = {(char *)tc->wasm2c, (char *)wasm, "-n", "app", "-o",
                                            (char *)out_c, NULL};
    memcpy(argv, args, sizeof args);
}

void portal_toolchain_cc_argv(const portal_toolchain *tc, const char *app_c, const char *entry_c,
                              const char *out_so, char *argv[PORTAL_CC_ARGC])
{
    char *const args[PORTAL_CC_ARGC] = {
        (char *)tc->cc, "-shared", "-fPIC", "-O2", "-fvisibility=hidden", "-w",
        "-fno-strict-aliasing", "-I", (char *)tc->wasm_rt_include, "-o", (char *)out_so,
        (char *)app_c, (char *)entry_c, NULL};
    memcpy(argv, args, sizeof args);
}

static void hash_bytes(mbedtls_sha256_context *ctx, const void *data, size_t len)
{
    SHA256_UPDATE(ctx, data, len);
}

static void hash_text(mbedtls_sha256_context *ctx, const char *s)
{
    hash_bytes(ctx, s, strlen(s) + 1);
}

static void hash_argv(mbedtls_sha256_context *ctx, char *const argv[])
{
    for (; *argv; argv++)
        hash_text(ctx, *argv);
    hash_text(ctx, "--end-of-command--");
}

/* The header's bytes, or "absent": a header appearing or changing changes the fingerprint. */
static void hash_header(mbedtls_sha256_context *ctx, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    hash_text(ctx, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        hash_text(ctx, "absent");
        return;
    }
    unsigned char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        hash_bytes(ctx, buf, n);
    fclose(f);
    hash_text(ctx, "--end-of-file--");
}

/* Where `program` is: itself when it names a path, else the first executable in PATH; symbolic
 * links resolved. false when not found. */
static bool locate(const char *program, char out[PATH_MAX])
{
    if (strchr(program, '/'))
        return realpath(program, out) != NULL;
    const char *path = getenv("PATH");
    char candidate[PATH_MAX];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if ((size_t)snprintf(candidate, sizeof candidate, "%.*s/%s", (int)n, n ? p : ".",
                             program) < sizeof candidate &&
            access(candidate, X_OK) == 0 && realpath(candidate, out))
            return true;
        p += n + (end ? 1 : 0);
    }
    return false;
}

/* The installed file behind `program` (path, size, modification time, inode): a rebuild that
 * kept its version string still changes the fingerprint, without running anything. */
static void hash_identity(mbedtls_sha256_context *ctx, const char *program)
{
    char where[PATH_MAX];
    struct stat st;
    if (!locate(program, where) || stat(where, &st) != 0) {
        hash_text(ctx, "not found");
        return;
    }
    char id[PATH_MAX + 128];
    snprintf(id, sizeof id, "%s %lld %lld.%09ld %llu:%llu", where, (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
             (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    hash_text(ctx, id);
}

static bool hash_version(mbedtls_sha256_context *ctx, const portal_toolchain *tc,
                         const char *program, char *err, size_t err_size)
{
    char *argv[] = {(char *)program, "--version", NULL};
    char out[2048];
    if (!portal_tool_run(program, argv, &tc->limits, out, sizeof out, err, err_size))
        return false;
    hash_text(ctx, out);
    hash_identity(ctx, program);
    return true;
}

const portal_toolchain *portal_toolchain_get(char *err, size_t err_size)
{
    static portal_toolchain tc;
    static bool ready;
    if (ready)
        return &tc;
    tc.wasm2c = env_or("PORTAL_WASM2C", PORTAL_WASM2C);
    tc.cc = env_or("PORTAL_CC", PORTAL_CC);
    tc.wasm_rt_include = env_or("PORTAL_WASM_RT_INCLUDE", PORTAL_WASM_RT_INCLUDE);
    portal_tool_limits_get(&tc.limits);

    mbedtls_sha256_context ctx;
    mbedtls_sha256_init(&ctx);
    SHA256_STARTS(&ctx, 0);
    hash_text(&ctx, "portal-toolchain-1");
    char *argv[PORTAL_CC_ARGC];
    portal_toolchain_wasm2c_argv(&tc, "IN", "OUT", argv);
    hash_argv(&ctx, argv);
    portal_toolchain_cc_argv(&tc, "IN1", "IN2", "OUT", argv);
    hash_argv(&ctx, argv);
    bool ok = hash_version(&ctx, &tc, tc.wasm2c, err, err_size) &&
              hash_version(&ctx, &tc, tc.cc, err, err_size);
    hash_header(&ctx, tc.wasm_rt_include, "wasm-rt.h");
    hash_header(&ctx, tc.wasm_rt_include, "wasm-rt-exceptions.h");
    SHA256_FINISH(&ctx, tc.fingerprint);
    mbedtls_sha256_free(&ctx);
    ready = ok;
    return ok ? &tc : NULL;
}
