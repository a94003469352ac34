/* fs_api.c - the portal_fs imports on portal-host (docs/spec-fs.md): upstream's names, codes and
 * messages over a host directory standing in for the card. Paths go through fs_path.c, so nothing
 * outside that directory is ever reached. Handles come from a table of the app's own (16 files +
 * 8 directories), never reused while the app runs, file and directory handles told apart. */
#define _GNU_SOURCE /* O_PATH */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../api/api.h"
#include "../core/handles.h"
#include "fs_path.h"

/* App-visible open flags (upstream's numbers, not the host's O_* values). */
#define FS_ACCESS_MASK 03
#define FS_READ 01
#define FS_WRITE 02
#define FS_RDWR 03
#define FS_CREATE 0100
#define FS_TRUNC 0200
#define FS_APPEND 0400

#define FS_STAT_SIZE 24
#define FS_CARD_INFO_SIZE 18

typedef struct fs_file {
    bool used;
    int fd;
} fs_file;

typedef struct fs_dir {
    bool used;
    DIR *dir;
} fs_dir;

struct portal_fs {
    char *dir;       /* the host directory behind /sdcard */
    int root_fd;     /* held open once the card is first used; -1 before */
    bool unmounted;  /* fsUnmount was called (and no fsMount since) */
    bool warned;     /* the "cannot use the directory" warning was logged */
    portal_handles handles;
    fs_file files[PORTAL_FS_MAX_FILES];
    fs_dir dirs[PORTAL_FS_MAX_DIRS];
    int open_files, open_dirs;
};

/* ---- setup and teardown ---- */

char *portal_fs_default_dir(void)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    const char *base;
    const char *tail;
    if (xdg && xdg[0] == '/') {
        base = xdg;
        tail = "/portal-host/sdcard";
    } else {
        if (!home || home[0] != '/') {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
        if (!home || home[0] != '/')
            return NULL;
        base = home;
        tail = "/.local/share/portal-host/sdcard";
    }
    size_t n = strlen(base) + strlen(tail) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s", base, tail);
    return out;
}

/* Registered by portal_fs_attach: the app's teardown closes what the app left open. */
static const portal_module_ops portal_fs_module = {
    .name = "portal_fs",
    .teardown = portal_fs_detach,
};

bool portal_fs_attach(portal_app *app, const char *dir)
{
    portal_fs_detach(app);
    struct portal_fs *fs = calloc(1, sizeof *fs);
    if (!fs)
        return false;
    fs->root_fd = -1;
    fs->dir = dir ? strdup(dir) : portal_fs_default_dir();
    if ((dir && !fs->dir) ||
        !portal_handles_init(&fs->handles, PORTAL_FS_MAX_FILES + PORTAL_FS_MAX_DIRS)) {
        free(fs->dir);
        free(fs);
        return false;
    }
    app->fs = fs;
    if (!portal_app_use_module(app, &portal_fs_module)) {
        portal_fs_detach(app);
        return false;
    }
    return true;
}

static void close_one(int32_t handle, void *object, void *ctx)
{
    struct portal_fs *fs = ctx;
    portal_handle_kind kind = portal_handles_kind(&fs->handles, handle);
    if (kind == PORTAL_HANDLE_FS_FILE) {
        fs_file *f = object;
        close(f->fd);
        f->used = false;
    } else if (kind == PORTAL_HANDLE_FS_DIR) {
        fs_dir *d = object;
        closedir(d->dir);
        d->used = false;
    }
    portal_handles_remove(&fs->handles, handle);
}

void portal_fs_detach(portal_app *app)
{
    struct portal_fs *fs = app->fs;
    if (!fs)
        return;
    portal_handles_each(&fs->handles, PORTAL_HANDLE_FREE, close_one, fs);
    portal_handles_free(&fs->handles);
    if (fs->root_fd >= 0)
        close(fs->root_fd);
    free(fs->dir);
    free(fs);
    app->fs = NULL;
}

int portal_fs_open_count(const portal_app *app)
{
    return app->fs ? app->fs->open_files + app->fs->open_dirs : 0;
}

/* mkdir -p with mode 0700 for the parts that are missing. */
static int make_dirs(const char *path)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = saved;
            if (saved == '\0')
                return 0;
        }
    }
}

/* The card's root directory, opened (and created) on first use; -1 when the card is unmounted or
 * the directory cannot be used (logged once). */
static int card_root(portal_app *app)
{
    struct portal_fs *fs = app->fs;
    if (!fs || fs->unmounted)
        return -1;
    if (fs->root_fd >= 0)
        return fs->root_fd;
    if (!fs->dir) {
        if (!fs->warned)
            portal_log(app, PORTAL_LOG_WARN,
                       "portal_fs: no home directory for the default card directory; give --sd DIR");
        fs->warned = true;
        return -1;
    }
    int fd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && make_dirs(fs->dir) == 0)
        fd = open(fs->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (!fs->warned)
            portal_log(app, PORTAL_LOG_WARN, "portal_fs: cannot use %s as the card: %s", fs->dir,
                       strerror(errno));
        fs->warned = true;
        return -1;
    }
    fs->root_fd = fd;
    return fd;
}

/* ---- shared steps of the path-taking calls ---- */

/* Checks the card and the path; on success returns the root descriptor and fills `rel` (a path
 * that is not on the card leaves rel empty and sets *on_card false). */
static int prepare(portal_app *app, const char *call, const char *path, char *rel, bool *on_card,
                   int32_t *rc)
{
    int root = card_root(app);
    if (root < 0) {
        *rc = portal_fail(app, PORTAL_ERR_NOT_READY, "%s: SD not mounted", call);
        return -1;
    }
    const char *bad = portal_fs_path_error(path);
    if (bad) {
        *rc = portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "%s", bad);
        return -1;
    }
    *on_card = portal_fs_path_on_card(path, rel);
    return root;
}

/* ENOENT -> NotFound "<call>: not found", anything else -> Internal "<call>: <failed>". */
static int32_t fail_errno(portal_app *app, int err, const char *call, const char *failed)
{
    if (err == ENOENT)
        return portal_fail(app, PORTAL_ERR_NOT_FOUND, "%s: not found", call);
    return portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", call, failed);
}

/* ---- mount state ---- */

int32_t portal_fs_is_mounted(portal_app *app)
{
    return card_root(app) >= 0 ? 1 : 0;
}

int32_t portal_fs_mount(portal_app *app)
{
    if (app->fs)
        app->fs->unmounted = false;
    if (card_root(app) < 0)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "fs_mount: SD mount failed (no card?)");
    return PORTAL_OK;
}

int32_t portal_fs_unmount(portal_app *app)
{
    if (app->fs)
        app->fs->unmounted = true;
    return PORTAL_OK;
}

/* ---- files ---- */

static int host_open_flags(int32_t flags)
{
    int host;
    switch (flags & FS_ACCESS_MASK) {
    case FS_READ: host = O_RDONLY; break;
    case FS_WRITE: host = O_WRONLY; break;
    case FS_RDWR: host = O_RDWR; break;
    default: return -1;
    }
    if (flags & FS_CREATE)
        host |= O_CREAT;
    if (flags & FS_TRUNC)
        host |= O_TRUNC;
    if (flags & FS_APPEND)
        host |= O_APPEND;
    return host;
}

int32_t portal_fs_open(portal_app *app, const char *path, int32_t flags)
{
    char rel[PORTAL_FS_PATH_MAX];
    bool on_card;
    int32_t rc;
    int root = prepare(app, "fs_open", path, rel, &on_card, &rc);
    if (root < 0)
        return rc;
    int host_flags = host_open_flags(flags);
    if (host_flags < 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_open: invalid access mode");
    struct portal_fs *fs = app->fs;
    fs_file *slot = NULL;
    for (int i = 0; i < PORTAL_FS_MAX_FILES && !slot; i++)
        if (!fs->files[i].used)
            slot = &fs->files[i];
    if (!slot) /* checked before opening, so a refused open creates or truncates nothing */
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_open: too many open files");
    if (!on_card)
        return fail_errno(app, ENOENT, "fs_open", "open failed");
    /* O_NONBLOCK: opening a FIFO must not block the host; only regular files are kept. */
    int fd = portal_fs_open_beneath(root, rel, host_flags | O_NONBLOCK, 0666);
    if (fd < 0)
        return fail_errno(app, errno, "fs_open", "open failed");
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
        close(fd);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_open: open failed");
    }
    int32_t h = portal_handles_add(&fs->handles, PORTAL_HANDLE_FS_FILE, slot);
    if (h == 0) {
        close(fd);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_open: too many open files");
    }
    slot->used = true;
    slot->fd = fd;
    fs->open_files++;
    return h;
}

static fs_file *file_of(portal_app *app, int32_t handle)
{
    return app->fs ? portal_handles_get(&app->fs->handles, handle, PORTAL_HANDLE_FS_FILE) : NULL;
}

int32_t portal_fs_close(portal_app *app, int32_t handle)
{
    if (handle <= 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_close: invalid handle");
    fs_file *f = file_of(app, handle);
    if (!f)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_close: bad handle");
    int fd = f->fd;
    f->used = false;
    portal_handles_remove(&app->fs->handles, handle);
    app->fs->open_files--;
    if (close(fd) != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_close: close failed");
    return PORTAL_OK;
}

int32_t portal_fs_read(portal_app *app, int32_t handle, uint8_t *out, uint32_t out_len)
{
    if (out_len > INT32_MAX)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_read: out_len < 0");
    fs_file *f = file_of(app, handle);
    if (!f)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_read: bad handle");
    ssize_t n;
    do
        n = read(f->fd, out, out_len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_read: read failed");
    return (int32_t)n;
}

int32_t portal_fs_write(portal_app *app, int32_t handle, uint8_t *buf, uint32_t buf_len)
{
    if (buf_len > INT32_MAX)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_write: len < 0");
    fs_file *f = file_of(app, handle);
    if (!f)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_write: bad handle");
    ssize_t n;
    do
        n = write(f->fd, buf, buf_len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_write: write failed");
    return (int32_t)n;
}

int32_t portal_fs_seek(portal_app *app, int32_t handle, int32_t offset, int32_t whence)
{
    fs_file *f = file_of(app, handle);
    if (!f)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_seek: bad handle");
    int origin;
    switch (whence) {
    case 0: origin = SEEK_SET; break;
    case 1: origin = SEEK_CUR; break;
    case 2: origin = SEEK_END; break;
    default: return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_seek: invalid whence");
    }
    /* The result is an i32: a position past 2 GiB - 1 is refused and the position kept. */
    off_t before = lseek(f->fd, 0, SEEK_CUR);
    off_t pos = before < 0 ? -1 : lseek(f->fd, (off_t)offset, origin);
    if (pos < 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_seek: lseek failed");
    if (pos > INT32_MAX) {
        lseek(f->fd, before, SEEK_SET);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_seek: lseek failed");
    }
    return (int32_t)pos;
}

/* ---- paths ---- */

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int32_t portal_fs_stat(portal_app *app, const char *path, uint8_t *out, uint32_t out_len)
{
    if (card_root(app) < 0)
        return portal_fail(app, PORTAL_ERR_NOT_READY, "fs_stat: SD not mounted");
    if (out_len < FS_STAT_SIZE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_stat: out_len too small (need 24)");
    char rel[PORTAL_FS_PATH_MAX];
    bool on_card;
    int32_t rc;
    int root = prepare(app, "fs_stat", path, rel, &on_card, &rc);
    if (root < 0)
        return rc;
    if (!on_card)
        return fail_errno(app, ENOENT, "fs_stat", "stat failed");
    int fd = portal_fs_open_beneath(root, rel, O_PATH, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return fail_errno(app, err, "fs_stat", "stat failed");
    }
    close(fd);
    memset(out, 0, FS_STAT_SIZE);
    put_u64(out, (uint64_t)st.st_size);
    out[8] = S_ISDIR(st.st_mode) ? 1 : 0;
    put_u64(out + 16, (uint64_t)(int64_t)st.st_mtime);
    return FS_STAT_SIZE;
}

typedef enum { OP_REMOVE, OP_MKDIR, OP_RMDIR } path_op;

static int32_t path_call(portal_app *app, const char *call, const char *failed, path_op op,
                         const char *path)
{
    char rel[PORTAL_FS_PATH_MAX];
    bool on_card;
    int32_t rc;
    int root = prepare(app, call, path, rel, &on_card, &rc);
    if (root < 0)
        return rc;
    const char *name = ".";
    int parent = on_card ? portal_fs_open_parent(root, rel, &name) : -1;
    int err = on_card ? errno : ENOENT;
    if (parent >= 0) {
        int r = op == OP_MKDIR ? mkdirat(parent, name, 0777)
                               : unlinkat(parent, name, op == OP_RMDIR ? AT_REMOVEDIR : 0);
        err = errno;
        close(parent);
        if (r == 0)
            return PORTAL_OK;
    }
    if (op == OP_MKDIR) /* upstream: an existing entry is success, nothing is "not found" */
        return err == EEXIST ? PORTAL_OK
                             : portal_fail(app, PORTAL_ERR_INTERNAL, "%s: %s", call, failed);
    return fail_errno(app, err, call, failed);
}

int32_t portal_fs_remove(portal_app *app, const char *path)
{
    return path_call(app, "fs_remove", "unlink failed", OP_REMOVE, path);
}

int32_t portal_fs_mkdir(portal_app *app, const char *path)
{
    return path_call(app, "fs_mkdir", "mkdir failed", OP_MKDIR, path);
}

int32_t portal_fs_rmdir(portal_app *app, const char *path)
{
    return path_call(app, "fs_rmdir", "rmdir failed", OP_RMDIR, path);
}

int32_t portal_fs_rename(portal_app *app, const char *from, const char *to)
{
    char rel_from[PORTAL_FS_PATH_MAX], rel_to[PORTAL_FS_PATH_MAX];
    bool from_on_card, to_on_card;
    int32_t rc;
    int root = prepare(app, "fs_rename", from, rel_from, &from_on_card, &rc);
    if (root < 0 || prepare(app, "fs_rename", to, rel_to, &to_on_card, &rc) < 0)
        return rc;
    if (!from_on_card || !to_on_card)
        return fail_errno(app, ENOENT, "fs_rename", "rename failed");
    const char *from_name, *to_name;
    int from_dir = portal_fs_open_parent(root, rel_from, &from_name);
    int err = errno;
    int to_dir = from_dir >= 0 ? portal_fs_open_parent(root, rel_to, &to_name) : -1;
    if (from_dir >= 0 && to_dir < 0)
        err = errno;
    int r = -1;
    if (from_dir >= 0 && to_dir >= 0) {
        r = renameat(from_dir, from_name, to_dir, to_name);
        err = errno;
    }
    if (from_dir >= 0)
        close(from_dir);
    if (to_dir >= 0)
        close(to_dir);
    return r == 0 ? PORTAL_OK : fail_errno(app, err, "fs_rename", "rename failed");
}

/* ---- directories ---- */

int32_t portal_fs_opendir(portal_app *app, const char *path)
{
    char rel[PORTAL_FS_PATH_MAX];
    bool on_card;
    int32_t rc;
    int root = prepare(app, "fs_opendir", path, rel, &on_card, &rc);
    if (root < 0)
        return rc;
    struct portal_fs *fs = app->fs;
    fs_dir *slot = NULL;
    for (int i = 0; i < PORTAL_FS_MAX_DIRS && !slot; i++)
        if (!fs->dirs[i].used)
            slot = &fs->dirs[i];
    if (!slot)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_opendir: too many open dirs");
    if (!on_card)
        return fail_errno(app, ENOENT, "fs_opendir", "opendir failed");
    int fd = portal_fs_open_beneath(root, rel, O_RDONLY | O_DIRECTORY, 0);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return fail_errno(app, err, "fs_opendir", "opendir failed");
    }
    int32_t h = portal_handles_add(&fs->handles, PORTAL_HANDLE_FS_DIR, slot);
    if (h == 0) {
        closedir(d);
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_opendir: too many open dirs");
    }
    slot->used = true;
    slot->dir = d;
    fs->open_dirs++;
    return h;
}

static fs_dir *dir_of(portal_app *app, int32_t handle)
{
    return app->fs ? portal_handles_get(&app->fs->handles, handle, PORTAL_HANDLE_FS_DIR) : NULL;
}

int32_t portal_fs_readdir(portal_app *app, int32_t handle, uint8_t *out, uint32_t out_len)
{
    if (out_len == 0 || out_len > INT32_MAX)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_readdir: out_len <= 0");
    fs_dir *d = dir_of(app, handle);
    if (!d)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_readdir: bad handle");
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d->dir);
        if (!e) {
            if (errno != 0)
                return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_readdir: readdir failed");
            return 0;
        }
        /* The card's FAT file system lists no "." or ".." entries. */
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        return portal_copy_text(out, out_len, e->d_name);
    }
}

int32_t portal_fs_closedir(portal_app *app, int32_t handle)
{
    if (handle <= 0)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_closedir: invalid handle");
    fs_dir *d = dir_of(app, handle);
    if (!d)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT, "fs_closedir: bad handle");
    DIR *dir = d->dir;
    d->used = false;
    portal_handles_remove(&app->fs->handles, handle);
    app->fs->open_dirs--;
    if (closedir(dir) != 0)
        return portal_fail(app, PORTAL_ERR_INTERNAL, "fs_closedir: closedir failed");
    return PORTAL_OK;
}

/* ---- the card ---- */

int32_t portal_fs_card_info(portal_app *app, uint8_t *out, uint32_t out_len)
{
    if (out_len < FS_CARD_INFO_SIZE)
        return portal_fail(app, PORTAL_ERR_INVALID_ARGUMENT,
                           "fs_card_info: out_len too small (need 18)");
    memset(out, 0, FS_CARD_INFO_SIZE);
    int root = card_root(app);
    if (root < 0)
        return FS_CARD_INFO_SIZE; /* byte 0 = 0: not mounted */
    out[0] = 1;
    out[1] = 2; /* SDHC/SDXC */
    struct statvfs vfs;
    if (fstatvfs(root, &vfs) == 0)
        put_u64(out + 4, (uint64_t)vfs.f_blocks * (uint64_t)vfs.f_frsize);
    memcpy(out + 12, "HOST", 4); /* the card's product name field; byte 16..17 stay 0 */
    return FS_CARD_INFO_SIZE;
}
