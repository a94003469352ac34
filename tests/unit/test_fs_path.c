/* test_fs_path.c - portal_fs path handling on portal-host (host/fs/fs_path.c): upstream's rules in
 * upstream's order, the /sdcard mapping, and opening beneath a directory with symbolic links,
 * absolute and relative, to files and directories outside it, and the teardown of fs state. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "fs/fs.h"
#include "fs/fs_path.h"
#include "testlib.h"

static void test_rules(void)
{
    CHECK(portal_fs_path_error("/sdcard/a") == NULL);
    CHECK(portal_fs_path_error("/") == NULL);
    CHECK_STR(portal_fs_path_error(""), "fs: path must start with '/'");
    CHECK_STR(portal_fs_path_error("sdcard/a"), "fs: path must start with '/'");
    /* the leading '/' is checked first, then "..", then the length */
    CHECK_STR(portal_fs_path_error("../x"), "fs: path must start with '/'");
    CHECK_STR(portal_fs_path_error("/.."), "fs: path contains '..'");
    CHECK_STR(portal_fs_path_error("/a/.."), "fs: path contains '..'");
    CHECK_STR(portal_fs_path_error("/a/../b"), "fs: path contains '..'");
    CHECK(portal_fs_path_error("/a/..b") == NULL);
    CHECK(portal_fs_path_error("/a/b..") == NULL);
    CHECK(portal_fs_path_error("/a/...") == NULL);
    char path[300];
    memset(path, 'a', sizeof path);
    path[0] = '/';
    path[255] = 0;
    CHECK(portal_fs_path_error(path) == NULL); /* 255 bytes */
    path[255] = 'a';
    path[256] = 0;
    CHECK_STR(portal_fs_path_error(path), "fs: path too long");
    memcpy(path + 100, "/../", 4);
    CHECK_STR(portal_fs_path_error(path), "fs: path contains '..'");
}

static void test_on_card(void)
{
    char rel[PORTAL_FS_PATH_MAX];
    CHECK(portal_fs_path_on_card("/sdcard", rel));
    CHECK_STR(rel, "");
    CHECK(portal_fs_path_on_card("/sdcard/", rel));
    CHECK_STR(rel, "");
    CHECK(portal_fs_path_on_card("/sdcard//portal/./apps/x.pem/", rel));
    CHECK_STR(rel, "portal/apps/x.pem");
    CHECK(portal_fs_path_on_card("/sdcard/.", rel));
    CHECK_STR(rel, "");
    CHECK(!portal_fs_path_on_card("/sdcardx", rel));
    CHECK(!portal_fs_path_on_card("/", rel));
    CHECK(!portal_fs_path_on_card("/etc/passwd", rel));
    CHECK(!portal_fs_path_on_card("//sdcard/a", rel));
}

static void test_beneath(const char *top)
{
    char p[512];
    snprintf(p, sizeof p, "mkdir -p %s/card/dir %s/out && echo in > %s/card/dir/f && echo out > %s/out/f"
             " && ln -s %s/out %s/card/abs_dir && ln -s ../out %s/card/rel_dir"
             " && ln -s %s/out/f %s/card/abs_file && ln -s ../out/f %s/card/dir/rel_file"
             " && ln -s dir %s/card/inner",
             top, top, top, top, top, top, top, top, top, top, top);
    CHECK(system(p) == 0);
    snprintf(p, sizeof p, "%s/card", top);
    int root = open(p, O_RDONLY | O_DIRECTORY);
    CHECK(root >= 0);
    int fd = portal_fs_open_beneath(root, "dir/f", O_RDONLY, 0);
    CHECK(fd >= 0);
    char buf[8] = {0};
    CHECK(fd >= 0 && read(fd, buf, sizeof buf - 1) == 3 && strcmp(buf, "in\n") == 0);
    if (fd >= 0)
        close(fd);
    fd = portal_fs_open_beneath(root, "", O_RDONLY | O_DIRECTORY, 0);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    static const char *const refused[] = {"abs_dir/f", "rel_dir/f", "abs_file", "dir/rel_file",
                                          "inner/f",   "abs_dir",   "rel_dir"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK_EQ_INT(portal_fs_open_beneath(root, refused[i], O_RDONLY, 0), -1);
        CHECK_EQ_INT(portal_fs_open_beneath(root, refused[i], O_PATH, 0), -1);
        CHECK_EQ_INT(portal_fs_open_beneath(root, refused[i], O_RDONLY | O_DIRECTORY, 0), -1);
    }
    CHECK_EQ_INT(portal_fs_open_beneath(root, "abs_dir/new", O_WRONLY | O_CREAT, 0600), -1);
    snprintf(p, sizeof p, "%s/out/new", top);
    CHECK(access(p, F_OK) != 0);
    const char *name = NULL;
    int parent = portal_fs_open_parent(root, "dir/f", &name);
    CHECK(parent >= 0);
    CHECK_STR(name, "f");
    if (parent >= 0)
        close(parent);
    CHECK_EQ_INT(portal_fs_open_parent(root, "abs_dir/f", &name), -1);
    parent = portal_fs_open_parent(root, "", &name);
    CHECK(parent >= 0);
    CHECK_STR(name, ".");
    if (parent >= 0)
        close(parent);
    close(root);
}

static void test_attach_detach(const char *top)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/new/card", top);
    portal_app app;
    CHECK(portal_app_init(&app, NULL));
    CHECK(portal_fs_attach(&app, dir));
    CHECK(access(dir, F_OK) != 0); /* nothing made before the first call */
    CHECK_EQ_INT(portal_fs_is_mounted(&app), 1);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
    int32_t f = portal_fs_open(&app, "/sdcard/x", 02 | 0100);
    int32_t d = portal_fs_opendir(&app, "/sdcard");
    CHECK(f > 0 && d > 0 && f != d);
    CHECK_EQ_INT(portal_fs_open_count(&app), 2);
    portal_fs_detach(&app);
    CHECK(app.fs == NULL);
    portal_fs_detach(&app); /* safe twice */
    /* without state every call is "not mounted" or a bad handle, never a crash */
    CHECK_EQ_INT(portal_fs_is_mounted(&app), 0);
    CHECK_EQ_INT(portal_fs_open(&app, "/sdcard/x", 1), PORTAL_ERR_NOT_READY);
    CHECK_EQ_INT(portal_fs_close(&app, f), PORTAL_ERR_INVALID_ARGUMENT);
    portal_app_teardown(&app);
    /* portal_fs is a module of the app: the app's teardown detaches the card and closes what
     * is open (valgrind and ASan see a leak otherwise) */
    CHECK(portal_app_init(&app, NULL));
    CHECK(portal_fs_attach(&app, dir));
    CHECK(portal_fs_open(&app, "/sdcard/x", 1) > 0);
    CHECK_EQ_INT(portal_fs_open_count(&app), 1);
    portal_app_teardown(&app);
    CHECK(app.fs == NULL);
}

int main(void)
{
    char top[] = "/tmp/test_fs_path.XXXXXX";
    CHECK(mkdtemp(top) != NULL);
    test_rules();
    test_on_card();
    test_beneath(top);
    test_attach_detach(top);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", top);
    CHECK(system(cmd) == 0);
    printf("openat2 in use: %s\n", portal_fs_uses_openat2() ? "yes" : "no (openat walk)");
    return testlib_finish();
}
