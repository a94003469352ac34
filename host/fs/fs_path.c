/* fs_path.c - portal_fs path rules and opening beneath the card's root directory (fs_path.h). */
#define _GNU_SOURCE /* O_PATH */
#include "fs_path.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define PORTAL_HAVE_OPENAT2_HEADER 1
#endif
#endif

#define CARD_MOUNT "/sdcard"

static bool has_dotdot_segment(const char *path)
{
    for (const char *p = path; *p; p++)
        if (p[0] == '.' && p[1] == '.' && (p == path || p[-1] == '/') &&
            (p[2] == '\0' || p[2] == '/'))
            return true;
    return false;
}

const char *portal_fs_path_error(const char *path)
{
    if (path[0] != '/')
        return "fs: path must start with '/'";
    if (has_dotdot_segment(path))
        return "fs: path contains '..'";
    if (strnlen(path, PORTAL_FS_PATH_MAX) >= PORTAL_FS_PATH_MAX)
        return "fs: path too long";
    return NULL;
}

bool portal_fs_path_on_card(const char *path, char *out)
{
    size_t mount_len = strlen(CARD_MOUNT);
    if (strncmp(path, CARD_MOUNT, mount_len) != 0 ||
        (path[mount_len] != '\0' && path[mount_len] != '/'))
        return false;
    size_t n = 0;
    const char *p = path + mount_len;
    while (*p) {
        while (*p == '/')
            p++;
        const char *seg = p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - seg);
        if (len == 0 || (len == 1 && seg[0] == '.'))
            continue;
        if (n > 0)
            out[n++] = '/';
        memcpy(out + n, seg, len); /* the path is < 256 bytes, so is every part of it */
        n += len;
    }
    out[n] = '\0';
    return true;
}

/* ---- openat2 or the walk ---- */

static int openat2_state; /* 0 not tried, 1 works, -1 unavailable */

bool portal_fs_uses_openat2(void)
{
#if defined(PORTAL_HAVE_OPENAT2_HEADER) && defined(SYS_openat2)
    if (openat2_state == 0) {
        const char *off = getenv("PORTAL_FS_NO_OPENAT2");
        if (off && strcmp(off, "1") == 0) {
            openat2_state = -1;
        } else {
            struct open_how how;
            memset(&how, 0, sizeof how);
            how.flags = O_PATH | O_CLOEXEC;
            how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
            int fd = (int)syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
            /* ENOSYS: older kernel; EPERM: a seccomp filter that does not know the call */
            openat2_state = fd < 0 && (errno == ENOSYS || errno == EPERM) ? -1 : 1;
            if (fd >= 0)
                close(fd);
        }
    }
    return openat2_state > 0;
#else
    return false;
#endif
}

static int open_walk(int root_fd, const char *rel, int flags, mode_t mode)
{
    char buf[PORTAL_FS_PATH_MAX];
    size_t len = strlen(rel);
    if (len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, rel, len + 1);
    if (len == 0)
        return openat(root_fd, ".", flags, mode);
    int dir = root_fd;
    char *seg = buf;
    for (;;) {
        char *slash = strchr(seg, '/');
        if (!slash)
            break;
        *slash = '\0';
        /* O_NOFOLLOW + O_DIRECTORY: a symbolic link here fails (ENOTDIR or ELOOP), so each step
         * stays on a directory reached from the one held open before it. */
        int next = openat(dir, seg, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        if (dir != root_fd)
            close(dir);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        dir = next;
        seg = slash + 1;
    }
    int fd = openat(dir, seg, flags, mode);
    int saved = errno;
    if (dir != root_fd)
        close(dir);
    errno = saved;
    return fd;
}

int portal_fs_open_beneath(int root_fd, const char *rel, int flags, mode_t mode)
{
    flags |= O_CLOEXEC | O_NOFOLLOW;
    if (!(flags & O_CREAT))
        mode = 0;
    int fd;
#if defined(PORTAL_HAVE_OPENAT2_HEADER) && defined(SYS_openat2)
    if (portal_fs_uses_openat2()) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = (uint64_t)(unsigned)flags;
        how.mode = mode;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        fd = (int)syscall(SYS_openat2, root_fd, rel[0] ? rel : ".", &how, sizeof how);
    } else
#endif
        fd = open_walk(root_fd, rel, flags, mode);
    if (fd >= 0 && (flags & O_PATH)) {
        /* O_PATH | O_NOFOLLOW opens a final symbolic link itself: refuse it like the others. */
        struct stat st;
        if (fstat(fd, &st) != 0 || S_ISLNK(st.st_mode)) {
            close(fd);
            errno = ELOOP;
            return -1;
        }
    }
    return fd;
}

int portal_fs_open_parent(int root_fd, const char *rel, const char **name)
{
    const char *slash = strrchr(rel, '/');
    if (!slash) {
        *name = rel[0] ? rel : ".";
        return fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
    }
    char parent[PORTAL_FS_PATH_MAX];
    size_t len = (size_t)(slash - rel);
    memcpy(parent, rel, len);
    parent[len] = '\0';
    *name = slash + 1;
    return portal_fs_open_beneath(root_fd, parent, O_PATH | O_DIRECTORY, 0);
}
