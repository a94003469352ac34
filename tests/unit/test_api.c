/* test_api.c - every signature derived from the API tables, checked against upstream's (with
 * this project's rule that every buffer is a `*~` pair: upstream `*` + length becomes `*~`,
 * upstream `**i` for netResolveIpv4 becomes `$*~`). The WebAssembly types must equal upstream's. */
#include "api/api.h"
#include "testlib.h"

typedef struct expected {
    const char *module, *name, *signature, *wasm_type;
} expected;

static const expected portable[] = {
    {"portal", "apiVersion", "()i", ":i"},
    {"portal", "apiFeatures", "()I", ":I"},
    {"portal", "lastErrorCode", "()i", ":i"},
    {"portal", "lastErrorMessage", "(*~)i", "ii:i"},
    {"portal", "heapCheck", "($i)i", "ii:i"},
    {"portal", "heapLog", "($)", "i:"},
    {"portal", "openApp", "($$)i", "ii:i"},
    {"portal", "exitApp", "()i", ":i"},
    {"portal", "begin", "()i", ":i"},
    {"portal", "delayMs", "(i)i", "i:i"},
    {"portal", "millis", "()i", ":i"},
    {"portal", "micros", "()I", ":I"},
    {"portal", "board", "()i", ":i"},
    {"portal_log", "logInfo", "($)", "i:"},
    {"portal_log", "logWarn", "($)", "i:"},
    {"portal_log", "logError", "($)", "i:"},
    {"portal_microtask", "microtaskClearAll", "()i", ":i"},
    {"portal_microtask", "microtaskStart", "(iii)i", "iii:i"},
    {"portal_microtask", "microtaskCancel", "(i)i", "i:i"},
    {"portal_net", "netIsReady", "()i", ":i"},
    {"portal_net", "netConnect", "()i", ":i"},
    {"portal_net", "netDisconnect", "()i", ":i"},
    {"portal_net", "netGetIpv4", "(*~)i", "ii:i"},
    {"portal_net", "netResolveIpv4", "($*~)i", "iii:i"},
    {"portal_net", "wifiGetMode", "()i", ":i"},
    {"portal_socket", "sockSocket", "(iii)i", "iii:i"},
    {"portal_socket", "sockConnect", "(i*~i)i", "iiii:i"},
    {"portal_socket", "sockBind", "(i*~)i", "iii:i"},
    {"portal_socket", "sockListen", "(ii)i", "ii:i"},
    {"portal_socket", "sockAccept", "(i*~i)i", "iiii:i"},
    {"portal_socket", "sockAcceptWithTimeout", "(i*~i)i", "iiii:i"},
    {"portal_socket", "sockSend", "(i*~i)i", "iiii:i"},
    {"portal_socket", "sockRecv", "(i*~i)i", "iiii:i"},
    {"portal_socket", "sockClose", "(i)i", "i:i"},
    {"portal_socket", "sockPoll", "(*~i)i", "iii:i"}, /* extension */
    {"portal_socket_tls", "tlsServerConfigCreate", "(*~*~*~i)i", "iiiiiii:i"},
    {"portal_socket_tls", "tlsServerConfigFree", "(i)i", "i:i"},
    {"portal_socket_tls", "tlsAccept", "(ii*~i)i", "iiiii:i"},
    {"portal_socket_tls", "tlsSend", "(i*~i)i", "iiii:i"},
    {"portal_socket_tls", "tlsRecv", "(i*~i)i", "iiii:i"},
    {"portal_socket_tls", "tlsClose", "(i)i", "i:i"},
    /* extension (docs/extensions.md) */
    {"portal_socket_tls", "tlsSessionInfo", "(i*~)i", "iii:i"},
    {"portal_socket_tls", "tlsClientConfigCreate", "(*~*~*~*~i)i", "iiiiiiiii:i"},
    {"portal_socket_tls", "tlsClientConfigFree", "(i)i", "i:i"},
    {"portal_socket_tls", "tlsConnect", "(i$*~ii)i", "iiiiii:i"},
    /* portal_fs: desktop-only (the firmware has its own); upstream "(i*i)i", "($*i)i", "(*i)i" */
    {"portal_fs", "fsIsMounted", "()i", ":i"},
    {"portal_fs", "fsMount", "()i", ":i"},
    {"portal_fs", "fsUnmount", "()i", ":i"},
    {"portal_fs", "fsOpen", "($i)i", "ii:i"},
    {"portal_fs", "fsClose", "(i)i", "i:i"},
    {"portal_fs", "fsRead", "(i*~)i", "iii:i"},
    {"portal_fs", "fsWrite", "(i*~)i", "iii:i"},
    {"portal_fs", "fsSeek", "(iii)i", "iii:i"},
    {"portal_fs", "fsStat", "($*~)i", "iii:i"},
    {"portal_fs", "fsRemove", "($)i", "i:i"},
    {"portal_fs", "fsRename", "($$)i", "ii:i"},
    {"portal_fs", "fsMkdir", "($)i", "i:i"},
    {"portal_fs", "fsRmdir", "($)i", "i:i"},
    {"portal_fs", "fsOpendir", "($)i", "i:i"},
    {"portal_fs", "fsReaddir", "(i*~)i", "iii:i"},
    {"portal_fs", "fsClosedir", "(i)i", "i:i"},
    {"portal_fs", "fsCardInfo", "(*~)i", "ii:i"},
};

/* A sample of WASI preview1 types (i64 where the spec has u64/filesize/timestamp). */
static const expected wasi[] = {
    {"wasi_snapshot_preview1", "fd_write", "(iiii)i", "iiii:i"},
    {"wasi_snapshot_preview1", "clock_time_get", "(iIi)i", "iIi:i"},
    {"wasi_snapshot_preview1", "fd_seek", "(iIii)i", "iIii:i"},
    {"wasi_snapshot_preview1", "proc_exit", "(i)", "i:"},
    {"wasi_snapshot_preview1", "path_open", "(iiiiiIIii)i", "iiiiiIIii:i"},
    {"wasi_snapshot_preview1", "poll_oneoff", "(iiii)i", "iiii:i"},
    {"wasi_snapshot_preview1", "random_get", "(ii)i", "ii:i"},
    {"wasi_snapshot_preview1", "sched_yield", "()i", ":i"},
};

static void check_all(const expected *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const portal_import_desc *d = portal_import_find(list[i].module, list[i].name);
        CHECK(d != NULL);
        if (!d) {
            fprintf(stderr, "  missing import %s.%s\n", list[i].module, list[i].name);
            continue;
        }
        CHECK_STR(d->signature, list[i].signature);
        CHECK_STR(d->wasm_type, list[i].wasm_type);
    }
}

int main(void)
{
    check_all(portable, sizeof portable / sizeof portable[0]);
    check_all(wasi, sizeof wasi / sizeof wasi[0]);

    /* every import that passes a buffer uses `*~`; no bare `*` anywhere */
    size_t wasi_count = 0;
    for (size_t i = 0; i < portal_imports_count; i++) {
        const char *sig = portal_imports[i].signature;
        for (const char *p = sig; *p; p++)
            if (*p == '*')
                CHECK(p[1] == '~');
        if (strcmp(portal_imports[i].module, "wasi_snapshot_preview1") == 0)
            wasi_count++;
        /* names are unique */
        CHECK(portal_import_find(portal_imports[i].module, portal_imports[i].name) ==
              &portal_imports[i]);
    }
    CHECK_EQ_INT(portal_imports_count - wasi_count, sizeof portable / sizeof portable[0]);
    CHECK_EQ_INT(wasi_count, 46); /* all of preview1 links */
    CHECK(portal_import_find("portal", "nope") == NULL);
    CHECK(portal_import_find("portal_display", "begin") == NULL);
    return testlib_finish();
}
