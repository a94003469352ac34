/* module.c - check, translate (wasm2c), compile (cc -shared) and load an app, with a cache of
 * compiled modules keyed by the SHA-256 of the wasm bytes and of everything that shapes the
 * output (host import tables, module ABI, the toolchain's fingerprint). Where the cache lives and
 * why it can be trusted is cache.c; which tools run, and how, is toolchain.c and spawn.c; the C
 * that joins wasm2c's output to the host is entry_gen.c. */
#include "module.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../api/api.h"
#include "cache.h"
#include "entry_gen.h"
#include "errbuf.h"
#include "linker.h"
#include "sha256_compat.h"
#include "spawn.h"
#include "toolchain.h"
#include "w2c_guard.h"
#include "wasm_reader.h"

#define MAX_WASM_BYTES (64u << 20)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        portal_err_set(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    int read_errno = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > MAX_WASM_BYTES + 1)
                cap = MAX_WASM_BYTES + 1;
            uint8_t *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                portal_err_set(err, err_size, "out of memory reading %s", path);
                return NULL;
            }
            buf = grown;
        }
        errno = 0;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            read_errno = errno;
            break;
        }
        if (n > MAX_WASM_BYTES) {
            free(buf);
            fclose(f);
            portal_err_set(err, err_size, "%s is larger than %u bytes", path, MAX_WASM_BYTES);
            return NULL;
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        portal_err_set(err, err_size, "cannot read %s: %s", path,
                read_errno ? strerror(read_errno) : "read error");
        return NULL;
    }
    *len = n;
    return buf;
}

static bool write_new_file(const char *dir, const char *name, const void *data, size_t len)
{
    FILE *f = portal_cache_create_file(dir, name);
    if (!f)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* ---- cache key ---- */


static void hash_text(mbedtls_sha256_context *ctx, const char *s)
{
    SHA256_UPDATE(ctx, (const unsigned char *)s, strlen(s) + 1);
}

static void cache_key(const uint8_t *wasm, size_t len, const portal_toolchain *tc, char hex[65])
{
    mbedtls_sha256_context ctx;
    unsigned char digest[32];
    mbedtls_sha256_init(&ctx);
    SHA256_STARTS(&ctx, 0);
    SHA256_UPDATE(&ctx, wasm, len);
    char abi[64];
    snprintf(abi, sizeof abi, "portal-module-abi-%d", PORTAL_MODULE_ABI);
    hash_text(&ctx, abi);
    SHA256_UPDATE(&ctx, tc->fingerprint, sizeof tc->fingerprint);
    for (size_t i = 0; i < portal_imports_count; i++) {
        hash_text(&ctx, portal_imports[i].module);
        hash_text(&ctx, portal_imports[i].name);
        hash_text(&ctx, portal_imports[i].wasm_type);
    }
    SHA256_FINISH(&ctx, digest);
    mbedtls_sha256_free(&ctx);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* Translates and compiles the module in a fresh build directory, then publishes the shared
 * object into the cache as `so_name`. */
static bool compile_module(const uint8_t *wasm, size_t len, const wasm_module_info *info,
                           const portal_link_report *report, const portal_toolchain *tc,
                           const portal_cache *cache, const char *so_name, char *err,
                           size_t err_size)
{
    char dir[4096], p_wasm[4200], p_c[4200], p_so[4200];
    if (!portal_cache_make_build_dir(cache, dir, sizeof dir, err, err_size))
        return false;
    snprintf(p_wasm, sizeof p_wasm, "%s/app.wasm", dir);
    snprintf(p_c, sizeof p_c, "%s/app.c", dir);
    snprintf(p_so, sizeof p_so, "%s/app.so", dir);
    char p_entry[4200];
    snprintf(p_entry, sizeof p_entry, "%s/entry.c", dir);
    bool ok = false;
    /* wasm2c gets the module without custom sections, and its output is checked before the
     * compiler sees it: no module-controlled text may become C (w2c_guard.h). */
    uint8_t *w2c_input = NULL;
    size_t w2c_len = 0;
    if (!w2c_strip_custom_sections(wasm, len, &w2c_input, &w2c_len, NULL, err, err_size))
        goto out;
    bool written = write_new_file(dir, "app.wasm", w2c_input, w2c_len);
    int write_errno = errno;
    free(w2c_input);
    if (!written) {
        portal_err_set(err, err_size, "cannot write %s: %s", p_wasm, strerror(write_errno));
        goto out;
    }
    char *w2c_argv[PORTAL_WASM2C_ARGC];
    portal_toolchain_wasm2c_argv(tc, p_wasm, p_c, w2c_argv);
    char why[1800];
    if (!portal_tool_run("wasm2c", w2c_argv, &tc->limits, NULL, 0, why, sizeof why)) {
        /* wasm2c refusing the module is the module's fault; a limit or a missing tool is not */
        bool refused = strncmp(why, "wasm2c failed", 13) == 0;
        portal_err_set(err, err_size, "%s%s", refused ? "invalid module: " : "translating the module: ",
                why);
        goto out;
    }
    char p_h[4200];
    snprintf(p_h, sizeof p_h, "%s/app.h", dir);
    if (!w2c_check_output(p_c, p_h, info, why, sizeof why)) {
        portal_err_set(err, err_size, "refusing wasm2c's output: %s", why);
        goto out;
    }
    if (!portal_entry_write(dir, info, report, err, err_size))
        goto out;
    char *cc_argv[PORTAL_CC_ARGC];
    portal_toolchain_cc_argv(tc, p_c, p_entry, p_so, cc_argv);
    if (!portal_tool_run("cc", cc_argv, &tc->limits, NULL, 0, why, sizeof why)) {
        portal_err_set(err, err_size, "compiling the module: %s", why);
        goto out;
    }
    ok = portal_cache_publish(cache, dir, "app.so", so_name, err, err_size);
out:
    portal_cache_remove_build_dir(dir);
    return ok;
}

static bool resolve_entry(portal_module *mod, char *err, size_t err_size)
{
    static portal_module_entry entry;
    void *dl = mod->dl;
#define LOOKUP(field, required)                                                                    \
    do {                                                                                           \
        void *sym = dlsym(dl, "portal_entry_" #field);                                             \
        if (!sym && (required))                                                                    \
            return portal_err_set(err, err_size, "compiled module lacks portal_entry_" #field);           \
        memcpy(&entry.field, &sym, sizeof sym);                                                    \
    } while (0)
    size_t (*size_fn)(void) = NULL;
    void *size_sym = dlsym(dl, "portal_entry_instance_size");
    if (!size_sym)
        return portal_err_set(err, err_size, "compiled module lacks portal_entry_instance_size");
    memcpy(&size_fn, &size_sym, sizeof size_sym);
    entry.instance_size = size_fn();
    LOOKUP(init_module, true);
    LOOKUP(instantiate, true);
    LOOKUP(free_instance, true);
    LOOKUP(memory, true);
    LOOKUP(initialize, false);
    LOOKUP(start, true);
    LOOKUP(contract_version, true);
    LOOKUP(microtask_step, true);
    LOOKUP(alloc, true);
    LOOKUP(free, true);
    LOOKUP(shutdown, false);
#undef LOOKUP
    mod->entry = &entry;
    return true;
}

/* Opens the module's cached .so, compiling it first when the cache has none (or one it cannot
 * trust), and dlopens it; false with a message in err. mod->so_fd is set when a file was opened. */
static bool load_compiled(portal_module *mod, const uint8_t *wasm, size_t len,
                          const wasm_module_info *info, const portal_link_report *report,
                          const portal_toolchain *tc, const portal_module_options *opts, char *err,
                          size_t err_size)
{
    portal_cache cache;
    if (!portal_cache_open(&cache, opts ? opts->cache_dir : NULL, err, err_size))
        return false;
    char key[65], so_name[80], why[512];
    cache_key(wasm, len, tc, key);
    snprintf(so_name, sizeof so_name, "%s.so", key);
    snprintf(mod->so_path, sizeof mod->so_path, "%s/%s", cache.dir, so_name);
    mod->so_fd = portal_cache_open_entry(&cache, so_name, why, sizeof why);
    mod->from_cache = mod->so_fd >= 0;
    if (!mod->from_cache && why[0])
        fprintf(stderr, "portal-host: not using the cached %s: %s; compiling it again\n",
                mod->so_path, why);
    if (!mod->from_cache &&
        compile_module(wasm, len, info, report, tc, &cache, so_name, err, err_size)) {
        mod->so_fd = portal_cache_open_entry(&cache, so_name, why, sizeof why);
        if (mod->so_fd < 0)
            portal_err_set(err, err_size, "cannot use the module just compiled, %s: %s", mod->so_path,
                    why[0] ? why : "it is gone");
    }
    if (mod->so_fd >= 0) {
        /* Load the very file that was checked: through its descriptor, not its name. The
         * descriptor stays open while the module is loaded, so no other module gets its
         * /proc name (the dynamic loader reuses a loaded object of the same name). */
        char fd_path[64];
        snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", mod->so_fd);
        mod->dl = dlopen(fd_path, RTLD_NOW | RTLD_LOCAL);
        if (!mod->dl)
            portal_err_set(err, err_size, "cannot load compiled module %s: %s", mod->so_path,
                    dlerror());
    }
    portal_cache_close(&cache);
    return mod->dl != NULL;
}

bool portal_module_load(const char *wasm_path, const portal_module_options *opts,
                        portal_module *mod, char *err, size_t err_size)
{
    double t0 = now_ms();
    memset(mod, 0, sizeof *mod);
    mod->so_fd = -1;
    size_t len = 0;
    uint8_t *wasm = read_file(wasm_path, &len, err, err_size);
    if (!wasm)
        return false;
    wasm_module_info info;
    char why[512];
    if (!wasm_reader_parse(wasm, len, &info, why, sizeof why)) {
        free(wasm);
        return portal_err_set(err, err_size, "%s is not a valid WebAssembly module: %s", wasm_path, why);
    }
    portal_link_report report;
    bool ok = false;
    if (!portal_link_check(&info, &report, why, sizeof why)) {
        portal_err_set(err, err_size, "%s cannot run here: %s", wasm_path, why);
        goto out_info;
    }
    if (report.warning)
        fprintf(stderr, "portal-host: %s\n", report.warning);

    const portal_toolchain *tc = portal_toolchain_get(err, err_size);
    if (!tc)
        goto out_report;
    if (!load_compiled(mod, wasm, len, &info, &report, tc, opts, err, err_size))
        goto out_fd;
    if (!resolve_entry(mod, err, err_size)) {
        dlclose(mod->dl);
        mod->dl = NULL;
        goto out_fd;
    }
    mod->prepare_ms = now_ms() - t0;
    if (opts && opts->verbose)
        fprintf(stderr, "portal-host: module %s %s in %.1f ms (%s)\n", wasm_path,
                mod->from_cache ? "loaded from cache" : "compiled", mod->prepare_ms, mod->so_path);
    ok = true;
out_fd:
    if (!ok && mod->so_fd >= 0) {
        close(mod->so_fd);
        mod->so_fd = -1;
    }
out_report:
    portal_link_report_free(&report);
out_info:
    wasm_module_info_free(&info);
    free(wasm);
    if (!ok && portal_tool_interrupted())
        raise(portal_tool_interrupted()); /* Ctrl-C or SIGTERM during a compile: now it acts */
    return ok;
}

void portal_module_unload(portal_module *mod)
{
    if (mod->dl)
        dlclose(mod->dl);
    if (mod->so_fd >= 0)
        close(mod->so_fd);
    mod->so_fd = -1;
    mod->dl = NULL;
    mod->entry = NULL;
}
