/* fs_app - a test app for module portal_fs on portal-host; run by tests/integration/test_fs.sh,
 * which prepares the card directory (--sd) and holds the expectations.
 *   values          every import with good and bad arguments, hostile paths (`..`, no leading
 *                   '/', 256 bytes, symbolic links leading out, a FIFO, embedded NUL) and the
 *                   limits; each call prints "VAL <case> <rc> <last error or own text>"; then
 *                   leaves 16 files and 8 directories open and prints "END" (teardown closes them)
 *   race N          opens and reads /sdcard/race/d/secret.txt N times while the script swaps
 *                   race/d with a symbolic link to a directory outside the card; prints
 *                   "RACE inside=I outside=O failed=F"
 *   trap CASE       one call with a buffer or string outside linear memory: the host must trap
 *   list            the trap case names, one per line */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <portal/fs.h>
#include <portal/portal.h>

#include "app_vals.h"

static uint8_t buf[512];

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Reads a whole small file through an open handle into `out` (NUL-terminated). */
static int32_t read_all(int32_t h, char *out, uint32_t size)
{
    uint32_t n = 0;
    for (;;) {
        int32_t got = fsRead(h, out + n, size - 1 - n);
        if (got <= 0) {
            out[n] = 0;
            return got < 0 ? got : (int32_t)n;
        }
        n += (uint32_t)got;
    }
}

static void mount_and_card(void)
{
    val("isMounted", fsIsMounted());
    val("mount-when-mounted", fsMount());
    memset(buf, 0xAA, 32);
    int32_t rc = fsCardInfo(buf, 18);
    pp_fs_card_info info;
    memcpy(&info, buf, sizeof info);
    char text[128];
    snprintf(text, sizeof text, "mounted=%u type=%u capacity>0=%d name=%.6s tail=%02x%02x after=%02x",
             info.mounted, info.type, info.capacity > 0, info.name, buf[16], buf[17], buf[18]);
    val_text("cardInfo", rc, text);
    val("cardInfo-len-17", fsCardInfo(buf, 17));
    val("cardInfo-len-0", fsCardInfo(buf, 0));
}

static void files(void)
{
    char text[160];
    val("mkdir", fsMkdir("/sdcard/d"));
    val("mkdir-exists", fsMkdir("/sdcard/d"));
    val("mkdir-root", fsMkdir("/sdcard"));
    val("mkdir-missing-parent", fsMkdir("/sdcard/nope/x"));
    val("mkdir-not-on-card", fsMkdir("/tmp/x"));

    int32_t h = fsOpen("/sdcard/d/f.txt", PP_FS_WRITE | PP_FS_CREATE | PP_FS_TRUNC);
    val("open-create", h > 0 ? 0 : h);
    val("write", fsWrite(h, "0123456789", 10));
    val("write-len-0", fsWrite(h, "", 0));
    val("read-write-only", fsRead(h, buf, 4));
    val("close", fsClose(h));
    val("close-again", fsClose(h));
    val("close-0", fsClose(0));
    val("close-neg", fsClose(-5));
    val("write-closed", fsWrite(h, "x", 1));

    h = fsOpen("/sdcard/d/f.txt", PP_FS_WRITE | PP_FS_APPEND);
    val("open-append", h > 0 ? 0 : h);
    val("write-append", fsWrite(h, "AB", 2));
    fsClose(h);

    h = fsOpen("/sdcard/d/f.txt", PP_FS_READ);
    val("open-read", h > 0 ? 0 : h);
    memset(buf, 0, 16);
    int32_t rc = fsRead(h, buf, 4);
    val_text("read-4", rc, (char *)buf);
    val("seek-cur", fsSeek(h, 2, PP_FS_SEEK_CUR));
    memset(buf, 0, 16);
    rc = fsRead(h, buf, 4);
    val_text("read-after-seek", rc, (char *)buf);
    memset(buf, 0, 16);
    rc = fsRead(h, buf, 100);
    val_text("read-rest", rc, (char *)buf);
    val("read-eof", fsRead(h, buf, 100));
    val("read-len-0", fsRead(h, buf, 0));
    val("seek-end", fsSeek(h, -3, PP_FS_SEEK_END));
    val("seek-set", fsSeek(h, 1, PP_FS_SEEK_SET));
    val("seek-whence-3", fsSeek(h, 0, 3));
    val("seek-negative", fsSeek(h, -100, PP_FS_SEEK_SET));
    val("seek-kept", fsSeek(h, 0, PP_FS_SEEK_CUR));
    val("write-read-only", fsWrite(h, "x", 1));
    fsClose(h);

    h = fsOpen("/sdcard/d/f.txt", PP_FS_RDWR);
    val("open-rdwr", h > 0 ? 0 : h);
    val("write-rdwr", fsWrite(h, "zz", 2));
    val("seek-rdwr", fsSeek(h, 0, PP_FS_SEEK_SET));
    rc = read_all(h, text, sizeof text);
    val_text("read-rdwr", rc, text);
    fsClose(h);

    val("open-missing", fsOpen("/sdcard/d/missing.txt", PP_FS_READ));
    val("open-access-0", fsOpen("/sdcard/d/f.txt", 0));
    val("open-access-0-create", fsOpen("/sdcard/d/new.txt", PP_FS_CREATE));
    val("open-dir", fsOpen("/sdcard/d", PP_FS_READ));
    val("open-not-on-card", fsOpen("/etc/passwd", PP_FS_READ));
    val("open-sdcardx", fsOpen("/sdcardX/a", PP_FS_READ));
    val("open-root-slash", fsOpen("/", PP_FS_READ));

    /* fsStat */
    memset(buf, 0xAA, 32);
    rc = fsStat("/sdcard/d/f.txt", buf, 24);
    int zero = 1;
    for (int i = 9; i < 16; i++)
        zero &= buf[i] == 0;
    snprintf(text, sizeof text, "size=%llu dir=%u reserved-zero=%d mtime-recent=%d after=%02x",
             (unsigned long long)le64(buf), buf[8], zero, (int64_t)le64(buf + 16) > 1600000000,
             buf[24]);
    val_text("stat-file", rc, text);
    memset(buf, 0xAA, 32);
    rc = fsStat("/sdcard/d", buf, 32);
    snprintf(text, sizeof text, "dir=%u after=%02x", buf[8], buf[24]);
    val_text("stat-dir", rc, text);
    rc = fsStat("/sdcard", buf, 24);
    snprintf(text, sizeof text, "dir=%u", buf[8]);
    val_text("stat-root", rc, text);
    val("stat-len-23", fsStat("/sdcard/d/f.txt", buf, 23));
    val("stat-missing", fsStat("/sdcard/d/missing", buf, 24));
    val("stat-not-on-card", fsStat("/etc", buf, 24));
    val("stat-bad-path-len-0", fsStat("relative", buf, 0)); /* length first, as upstream */

    /* rename, directories */
    val("rename", fsRename("/sdcard/d/f.txt", "/sdcard/d/g.txt"));
    val("rename-missing", fsRename("/sdcard/d/f.txt", "/sdcard/d/h.txt"));
    val("rename-bad-to", fsRename("/sdcard/d/g.txt", "d/h.txt"));
    val("rename-off-card", fsRename("/sdcard/d/g.txt", "/tmp/g.txt"));

    int32_t d = fsOpendir("/sdcard/d");
    val("opendir", d > 0 ? 0 : d);
    memset(buf, 0xAA, 16);
    rc = fsReaddir(d, (char *)buf, 3);
    snprintf(text, sizeof text, "%s after=%02x", (char *)buf, buf[3]);
    val_text("readdir-cut", rc, text);
    val("readdir-end", fsReaddir(d, (char *)buf, 64));
    val("readdir-len-0", fsReaddir(d, (char *)buf, 0));
    val("closedir", fsClosedir(d));
    val("closedir-again", fsClosedir(d));
    val("closedir-0", fsClosedir(0));
    val("readdir-closed", fsReaddir(d, (char *)buf, 64));
    d = fsOpendir("/sdcard/d");
    rc = fsReaddir(d, (char *)buf, 64);
    val_text("readdir-full", rc, (char *)buf);
    h = fsOpen("/sdcard/d/g.txt", PP_FS_READ);
    val("readdir-file-handle", fsReaddir(h, (char *)buf, 64));
    val("read-dir-handle", fsRead(d, buf, 4));
    val("closedir-file-handle", fsClosedir(h));
    val("close-dir-handle", fsClose(d));
    fsClose(h);
    fsClosedir(d);
    val("opendir-missing", fsOpendir("/sdcard/none"));
    val("opendir-file", fsOpendir("/sdcard/d/g.txt"));
    val("opendir-not-on-card", fsOpendir("/etc"));
    d = fsOpendir("/sdcard");
    int n = 0, dots = 0;
    while ((rc = fsReaddir(d, (char *)buf, 64)) > 0) {
        n++;
        dots += strcmp((char *)buf, ".") == 0 || strcmp((char *)buf, "..") == 0;
    }
    snprintf(text, sizeof text, "entries>0=%d dot-entries=%d", n > 0, dots);
    val_text("readdir-root", rc, text);
    fsClosedir(d);

    val("rmdir-not-empty", fsRmdir("/sdcard/d"));
    val("remove-dir", fsRemove("/sdcard/d"));
    val("remove", fsRemove("/sdcard/d/g.txt"));
    val("remove-again", fsRemove("/sdcard/d/g.txt"));
    val("rmdir", fsRmdir("/sdcard/d"));
    val("rmdir-again", fsRmdir("/sdcard/d"));
    val("rmdir-root", fsRmdir("/sdcard"));
    val("remove-root", fsRemove("/sdcard"));
    val("remove-not-on-card", fsRemove("/etc/passwd"));
}

static void bad_handles(void)
{
    static const int32_t handles[] = {0, -1, 2147483647, -2147483647 - 1, 12345};
    char name[64];
    for (unsigned i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        int32_t h = handles[i];
        snprintf(name, sizeof name, "read-handle-%d", (int)h);
        val(name, fsRead(h, buf, 4));
        snprintf(name, sizeof name, "write-handle-%d", (int)h);
        val(name, fsWrite(h, buf, 4));
        snprintf(name, sizeof name, "seek-handle-%d", (int)h);
        val(name, fsSeek(h, 0, 0));
        snprintf(name, sizeof name, "readdir-handle-%d", (int)h);
        val(name, fsReaddir(h, (char *)buf, 4));
    }
}

static void hostile_paths(void)
{
    static char path[400];
    val("path-relative", fsOpen("sdcard/hello.txt", PP_FS_READ));
    val("path-empty", fsOpen("", PP_FS_READ));
    val("path-dotdot", fsOpen("/sdcard/../etc/passwd", PP_FS_READ));
    val("path-dotdot-end", fsOpendir("/sdcard/.."));
    val("path-dotdot-only", fsStat("/..", buf, 24));
    val("path-dotdot-mkdir", fsMkdir("/sdcard/a/../../b"));
    val("path-dotdot-rename-to", fsRename("/sdcard/hello.txt", "/sdcard/../hello.txt"));
    val("path-dotdot-remove", fsRemove("/sdcard/.."));
    val("path-dotdot-rmdir", fsRmdir("/sdcard/x/.."));
    val("path-dots-3", fsMkdir("/sdcard/..."));
    val("path-dot-name", fsRmdir("/sdcard/..."));
    val("path-dot-segment", fsStat("/sdcard/./hello.txt", buf, 24));
    val("path-double-slash", fsStat("/sdcard//hello.txt", buf, 24));
    /* 256 bytes: too long; 255 bytes: a valid path (short segments) that does not exist */
    memset(path, 0, sizeof path);
    strcpy(path, "/sdcard");
    while (strlen(path) < 256)
        strcat(path, "/aaa");
    path[256] = 0;
    val("path-256", fsOpen(path, PP_FS_READ));
    val("path-256-stat", fsStat(path, buf, 24));
    val("path-256-rename-from", fsRename(path, "/sdcard/x"));
    path[255] = 0;
    if (path[254] == '/')
        path[254] = 'a';
    val("path-255", fsOpen(path, PP_FS_READ));
    memset(path, 'a', 399);
    path[0] = '/';
    path[399] = 0;
    val("path-399", fsMkdir(path));

    /* The string ends at its first NUL: the rest is never seen. */
    static const char nul_path[] = "/sdcard/hello.txt\0/../../outside/secret.txt";
    int32_t h = fsOpen(nul_path, PP_FS_READ);
    char text[64];
    int32_t rc = h > 0 ? read_all(h, text, sizeof text) : h;
    if (h > 0)
        fsClose(h);
    text[strcspn(text, "\n")] = 0;
    val_text("path-nul", rc, h > 0 ? text : "open failed");

    /* Symbolic links the script put on the card, all leading out of it (or to hello.txt). */
    val("link-file-abs", fsOpen("/sdcard/out_file", PP_FS_READ));
    val("link-file-rel", fsOpen("/sdcard/out_rel", PP_FS_READ));
    val("link-file-write", fsOpen("/sdcard/out_file", PP_FS_WRITE | PP_FS_TRUNC));
    val("link-dir-abs", fsOpen("/sdcard/out_dir/secret.txt", PP_FS_READ));
    val("link-dir-rel", fsOpen("/sdcard/out_dir_rel/secret.txt", PP_FS_READ));
    val("link-dir-create", fsOpen("/sdcard/out_dir/created.txt", PP_FS_WRITE | PP_FS_CREATE));
    val("link-inside", fsOpen("/sdcard/in_link", PP_FS_READ));
    val("link-dangling-create", fsOpen("/sdcard/dangling", PP_FS_WRITE | PP_FS_CREATE));
    val("link-stat", fsStat("/sdcard/out_file", buf, 24));
    val("link-stat-dir", fsStat("/sdcard/out_dir", buf, 24));
    val("link-stat-through", fsStat("/sdcard/out_dir/secret.txt", buf, 24));
    val("link-opendir", fsOpendir("/sdcard/out_dir"));
    val("link-opendir-rel", fsOpendir("/sdcard/out_dir_rel"));
    val("link-mkdir-through", fsMkdir("/sdcard/out_dir/made"));
    val("link-remove-through", fsRemove("/sdcard/out_dir/secret.txt"));
    val("link-rmdir-through", fsRmdir("/sdcard/out_dir/sub"));
    val("link-rename-from", fsRename("/sdcard/out_dir/secret.txt", "/sdcard/stolen.txt"));
    val("link-rename-to", fsRename("/sdcard/hello.txt", "/sdcard/out_dir/planted.txt"));
    val("link-deep", fsOpen("/sdcard/sub/deep_link/secret.txt", PP_FS_READ));
    val("fifo", fsOpen("/sdcard/fifo", PP_FS_READ));
    val("fifo-write", fsOpen("/sdcard/fifo", PP_FS_WRITE));
}

static void unmount_cases(void)
{
    int32_t h = fsOpen("/sdcard/hello.txt", PP_FS_READ);
    val("unmount", fsUnmount());
    val("unmounted-isMounted", fsIsMounted());
    val("unmounted-open", fsOpen("/sdcard/hello.txt", PP_FS_READ));
    val("unmounted-stat", fsStat("/sdcard/hello.txt", buf, 24));
    val("unmounted-stat-len-0", fsStat("/sdcard/hello.txt", buf, 0)); /* mount first, as upstream */
    val("unmounted-opendir", fsOpendir("/sdcard"));
    val("unmounted-mkdir", fsMkdir("/sdcard/x"));
    val("unmounted-rmdir", fsRmdir("/sdcard/x"));
    val("unmounted-remove", fsRemove("/sdcard/x"));
    val("unmounted-rename", fsRename("/sdcard/x", "/sdcard/y"));
    val("unmounted-bad-path", fsOpen("relative", PP_FS_READ));
    memset(buf, 0xAA, 18);
    int32_t rc = fsCardInfo(buf, 18);
    char text[64];
    snprintf(text, sizeof text, "mounted=%u type=%u", buf[0], buf[1]);
    val_text("unmounted-cardInfo", rc, text);
    val("unmounted-read-open-handle", fsRead(h, buf, 5));
    val("mount", fsMount());
    val("mounted-again", fsIsMounted());
    val("mounted-read", fsRead(h, buf, 1));
    fsClose(h);
}

static void limits(void)
{
    int32_t files[17], dirs[9];
    int ok = 1;
    for (int i = 0; i < 16; i++) {
        files[i] = fsOpen("/sdcard/hello.txt", PP_FS_READ);
        ok &= files[i] > 0;
    }
    val_text("open-16", ok ? 0 : -1, ok ? "16 files open" : "an open failed");
    val("open-17th", fsOpen("/sdcard/hello.txt", PP_FS_READ));
    val("open-17th-create", fsOpen("/sdcard/not-created.txt", PP_FS_WRITE | PP_FS_CREATE));
    val("close-one", fsClose(files[3]));
    files[16] = fsOpen("/sdcard/hello.txt", PP_FS_READ);
    int fresh = files[16] > 0;
    for (int i = 0; i < 16; i++)
        fresh &= files[16] != files[i];
    val_text("open-after-close", files[16] > 0 ? 0 : files[16],
             fresh ? "a handle never seen before" : "a handle value reused");
    val("stale-handle", fsRead(files[3], buf, 1));
    ok = 1;
    for (int i = 0; i < 8; i++) {
        dirs[i] = fsOpendir("/sdcard");
        ok &= dirs[i] > 0;
    }
    val_text("opendir-8", ok ? 0 : -1, ok ? "8 directories open" : "an opendir failed");
    val("opendir-9th", fsOpendir("/sdcard"));
    val("close-one-dir", fsClosedir(dirs[0]));
    dirs[8] = fsOpendir("/sdcard");
    val("opendir-after-close", dirs[8] > 0 ? 0 : dirs[8]);
}

static int32_t race(int n)
{
    int inside = 0, outside = 0, failed = 0;
    char text[64];
    for (int i = 0; i < n; i++) {
        int32_t h = fsOpen("/sdcard/race/d/secret.txt", PP_FS_READ);
        if (h < 0) {
            failed++;
            continue;
        }
        int32_t rc = read_all(h, text, sizeof text);
        fsClose(h);
        if (rc > 0 && strncmp(text, "inside", 6) == 0)
            inside++;
        else if (rc > 0 && strstr(text, "OUTSIDE"))
            outside++;
        else
            failed++;
    }
    printf("RACE inside=%d outside=%d failed=%d\n", inside, outside, failed);
    return 0;
}

/* ---- traps ---- */
static const char *const trap_cases[] = {
    "read-far",      "read-past-end", "read-neg-len", "write-far",    "write-past-end",
    "stat-out-far",  "stat-out-past-end", "stat-path-unterminated", "open-path-far",
    "open-path-unterminated", "rename-to-unterminated", "mkdir-path-far", "readdir-past-end",
    "cardinfo-past-end", "cardinfo-far", "remove-path-far", "rmdir-path-far", "opendir-path-far",
};

static int32_t trap(const char *which)
{
    uint32_t mem = memory_size();
    int32_t h = fsOpen("/sdcard/hello.txt", PP_FS_RDWR);
    int32_t d = fsOpendir("/sdcard");
    /* the last bytes of memory, no NUL among them */
    uint8_t *end = at(mem - 8);
    memset(end, 'x', 8);
    int32_t rc = 0;
    if (strcmp(which, "read-far") == 0)
        rc = fsRead(h, at(FAR_AWAY), 16);
    else if (strcmp(which, "read-past-end") == 0)
        rc = fsRead(h, at(mem - 4), 8);
    else if (strcmp(which, "read-neg-len") == 0)
        rc = fsRead(h, buf, (uint32_t)-1);
    else if (strcmp(which, "write-far") == 0)
        rc = fsWrite(h, at(FAR_AWAY), 16);
    else if (strcmp(which, "write-past-end") == 0)
        rc = fsWrite(h, at(mem - 4), 5);
    else if (strcmp(which, "stat-out-far") == 0)
        rc = fsStat("/sdcard/hello.txt", at(FAR_AWAY), 24);
    else if (strcmp(which, "stat-out-past-end") == 0)
        rc = fsStat("/sdcard/hello.txt", at(mem - 23), 24);
    else if (strcmp(which, "stat-path-unterminated") == 0)
        rc = fsStat((const char *)end, buf, 24);
    else if (strcmp(which, "open-path-far") == 0)
        rc = fsOpen(at(FAR_AWAY), PP_FS_READ);
    else if (strcmp(which, "open-path-unterminated") == 0)
        rc = fsOpen((const char *)end, PP_FS_READ);
    else if (strcmp(which, "rename-to-unterminated") == 0)
        rc = fsRename("/sdcard/hello.txt", (const char *)end);
    else if (strcmp(which, "mkdir-path-far") == 0)
        rc = fsMkdir(at(mem));
    else if (strcmp(which, "readdir-past-end") == 0)
        rc = fsReaddir(d, at(mem - 10), 11);
    else if (strcmp(which, "cardinfo-past-end") == 0)
        rc = fsCardInfo(at(mem - 17), 18);
    else if (strcmp(which, "cardinfo-far") == 0)
        rc = fsCardInfo(at(FAR_AWAY), 18);
    else if (strcmp(which, "remove-path-far") == 0)
        rc = fsRemove(at(FAR_AWAY));
    else if (strcmp(which, "rmdir-path-far") == 0)
        rc = fsRmdir(at(0xFFFFFFFFu));
    else if (strcmp(which, "opendir-path-far") == 0)
        rc = fsOpendir(at(FAR_AWAY));
    else {
        printf("unknown trap case %s\n", which);
        return 2;
    }
    printf("NO TRAP rc=%d\n", (int)rc);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "list") == 0) {
        for (unsigned i = 0; i < sizeof trap_cases / sizeof trap_cases[0]; i++)
            printf("%s\n", trap_cases[i]);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "trap") == 0)
        return trap(argv[2]);
    if (argc >= 3 && strcmp(argv[1], "race") == 0)
        return race(atoi(argv[2]));
    if (argc < 2 || strcmp(argv[1], "values") != 0) {
        printf("usage: fs_app values | race N | trap CASE | list\n");
        return 2;
    }
    char text[32];
    snprintf(text, sizeof text, "%d", pp_has_features(PP_FEATURE_FS));
    val_text("feature-fs", 0, text);
    mount_and_card();
    files();
    bad_handles();
    hostile_paths();
    unmount_cases();
    limits();
    printf("END\n");
    return 0; /* 16 files and 8 directories stay open: teardown must close them */
}
