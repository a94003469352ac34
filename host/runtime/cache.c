/* cache.c - where compiled modules are kept and why that place can be trusted: the directory
 * checks (owner, mode, no symbolic link, safe ancestors), private build directories, O_NOFOLLOW
 * / O_EXCL file creation, atomic publication and the checks on a cached entry before loading. */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"

static unsigned mode_bits(const struct stat *st)
{
    return (unsigned)(st->st_mode & 07777);
}

/* A directory above the cache: whoever can rename its entries can swap the cache for their own,
 * so it must belong to root or the user and be writable by nobody else (sticky /tmp is fine:
 * others cannot rename what they do not own there). */
static bool check_ancestor(int fd, const char *path, char *err, size_t err_size)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return portal_err_set(err, err_size, "cannot check %s: %s", path, strerror(errno));
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return portal_err_set(err, err_size,
                      "refusing the cache below %s: that directory is owned by uid %u, "
                      "neither you (uid %u) nor root", path, (unsigned)st.st_uid,
                      (unsigned)geteuid());
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
        return portal_err_set(err, err_size,
                      "refusing the cache below %s: that directory is writable by other users "
                      "(mode %04o) and not sticky", path, mode_bits(&st));
    return true;
}

/* The cache directory itself: the user's, writable by the user only, not a symbolic link. */
static int open_leaf(int parent_fd, const char *leaf, const char *path, char *err,
                     size_t err_size)
{
    if (mkdirat(parent_fd, leaf, 0700) != 0 && errno != EEXIST) {
        portal_err_set(err, err_size, "cannot create cache directory %s: %s", path, strerror(errno));
        return -1;
    }
    int fd = openat(parent_fd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        int e = errno;
        if (fstatat(parent_fd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            portal_err_set(err, err_size, "refusing cache directory %s: it is a symbolic link", path);
        else if (e == ENOTDIR)
            portal_err_set(err, err_size, "refusing cache directory %s: it is not a directory", path);
        else
            portal_err_set(err, err_size, "cannot open cache directory %s: %s", path, strerror(e));
        return -1;
    }
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (st.st_uid != geteuid())
        why = "it is owned by another user";
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        why = "it is group/world-writable";
    if (why) {
        portal_err_set(err, err_size, "refusing cache directory %s: %s (owner uid %u, mode %04o; it must "
               "be yours, uid %u, and writable by you only)", path, why, (unsigned)st.st_uid,
               mode_bits(&st), (unsigned)geteuid());
        close(fd);
        return -1;
    }
    return fd;
}

/* mkdir -p for the directories above the cache (0700, as the XDG spec asks of ~/.cache). They
 * are checked afterwards, like every existing one. */
static void make_parents(const char *parent)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", parent);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        mkdir(buf, 0700);
        if (saved == '\0')
            break;
        *p = saved;
    }
}

/* Opens `path` (absolute) as the cache directory: parents created and resolved, then walked
 * from / with O_NOFOLLOW, each checked, the last one created and checked. */
static bool open_verified(portal_cache *cache, const char *path, char *err, size_t err_size)
{
    char parent[PATH_MAX], leaf[NAME_MAX + 1], resolved[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/')
        parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (!slash || strlen(slash + 1) > NAME_MAX || !slash[1])
        return portal_err_set(err, err_size, "refusing cache directory %s: not a usable path", path);
    snprintf(leaf, sizeof leaf, "%s", slash + 1);
    if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    if (strcmp(leaf, ".") == 0 || strcmp(leaf, "..") == 0) {
        if (!realpath(path, resolved))
            return portal_err_set(err, err_size, "cannot resolve cache directory %s: %s", path,
                          strerror(errno));
        if (strcmp(resolved, "/") == 0)
            return portal_err_set(err, err_size, "refusing / as the cache directory");
        return open_verified(cache, resolved, err, err_size);
    }
    make_parents(parent);
    if (!realpath(parent, resolved))
        return portal_err_set(err, err_size, "cannot create the directories above the cache %s: %s",
                      path, strerror(errno));

    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || !check_ancestor(fd, "/", err, err_size)) {
        if (fd >= 0)
            close(fd);
        else
            portal_err_set(err, err_size, "cannot open /: %s", strerror(errno));
        return false;
    }
    char walked[PATH_MAX] = "";
    char *save = NULL;
    for (char *comp = strtok_r(resolved, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
        size_t used = strlen(walked);
        snprintf(walked + used, sizeof walked - used, "/%s", comp);
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if (next < 0)
            return portal_err_set(err, err_size, "cannot open %s (above the cache): %s", walked,
                          errno == ELOOP ? "it became a symbolic link" : strerror(errno));
        fd = next;
        if (!check_ancestor(fd, walked, err, err_size)) {
            close(fd);
            return false;
        }
    }
    if ((size_t)snprintf(cache->dir, sizeof cache->dir, "%s/%s", walked, leaf) >=
        sizeof cache->dir) {
        close(fd);
        return portal_err_set(err, err_size, "cache directory path too long: %s/%s", walked, leaf);
    }
    cache->dir_fd = open_leaf(fd, leaf, cache->dir, err, err_size);
    close(fd);
    return cache->dir_fd >= 0;
}

static const char *env_path(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] == '/' ? v : NULL; /* relative values are ignored, as the XDG spec says */
}

bool portal_cache_open(portal_cache *cache, const char *requested, char *err, size_t err_size)
{
    memset(cache, 0, sizeof *cache);
    cache->dir_fd = -1;
    char path[PATH_MAX];
    const char *env = getenv("PORTAL_CACHE_DIR"), *xdg = env_path("XDG_CACHE_HOME"),
               *home = env_path("HOME");
    if (requested && *requested)
        snprintf(path, sizeof path, "%s", requested);
    else if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else if (xdg)
        snprintf(path, sizeof path, "%s/portal-host", xdg);
    else if (home)
        snprintf(path, sizeof path, "%s/.cache/portal-host", home);
    else {
        /* Nowhere of the user's own to keep a cache: a fresh directory no one can predict,
         * used by this process only and removed when the module is loaded. */
        const char *tmp = env_path("TMPDIR");
        snprintf(path, sizeof path, "%s/portal-host-XXXXXX", tmp ? tmp : "/tmp");
        if (!mkdtemp(path))
            return portal_err_set(err, err_size, "cannot create a private build directory %s: %s", path,
                          strerror(errno));
        cache->temporary = true;
        if (!open_verified(cache, path, err, err_size)) {
            rmdir(path);
            return false;
        }
        return true;
    }
    if (path[0] != '/') {
        char cwd[PATH_MAX], rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s", path);
        if (!getcwd(cwd, sizeof cwd))
            return portal_err_set(err, err_size, "cannot resolve cache directory %s: %s", rel,
                          strerror(errno));
        if ((size_t)snprintf(path, sizeof path, "%s/%s", cwd, rel) >= sizeof path)
            return portal_err_set(err, err_size, "cache directory path too long: %s", rel);
    }
    return open_verified(cache, path, err, err_size);
}

/* Unlinks every entry of the directory `fd` (closed here); subdirectories (build directories)
 * one level deep are emptied and removed too. */
static void remove_entries(int fd, int depth)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(fd, e->d_name, 0) == 0 || depth == 0)
            continue;
        int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            remove_entries(sub, depth - 1);
            unlinkat(fd, e->d_name, AT_REMOVEDIR);
        }
    }
    closedir(d);
}

void portal_cache_close(portal_cache *cache)
{
    if (cache->dir_fd < 0)
        return;
    if (cache->temporary) {
        remove_entries(cache->dir_fd, 1);
        rmdir(cache->dir);
    } else {
        close(cache->dir_fd);
    }
    cache->dir_fd = -1;
}

int portal_cache_open_entry(const portal_cache *cache, const char *name, char *why,
                            size_t why_size)
{
    why[0] = '\0';
    int fd = openat(cache->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(why, why_size, "it is a symbolic link");
        else if (errno != ENOENT)
            snprintf(why, why_size, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        snprintf(why, why_size, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(why, why_size, "it is not a regular file");
    else if (st.st_uid != geteuid())
        snprintf(why, why_size, "it is owned by uid %u, not by you (uid %u)",
                 (unsigned)st.st_uid, (unsigned)geteuid());
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        snprintf(why, why_size, "it is group/world-writable (mode %04o)", mode_bits(&st));
    else if (st.st_nlink != 1)
        snprintf(why, why_size, "it has %lu hard links", (unsigned long)st.st_nlink);
    if (why[0]) {
        close(fd);
        return -1;
    }
    return fd;
}

bool portal_cache_make_build_dir(const portal_cache *cache, char *out, size_t out_size, char *err,
                                 size_t err_size)
{
    if ((size_t)snprintf(out, out_size, "%s/build-XXXXXX", cache->dir) >= out_size)
        return portal_err_set(err, err_size, "cache directory path too long: %s", cache->dir);
    if (!mkdtemp(out))
        return portal_err_set(err, err_size, "cannot create a build directory in %s: %s", cache->dir,
                      strerror(errno));
    return true;
}

FILE *portal_cache_create_file(const char *dir, const char *name)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (fd >= 0 && !f)
        close(fd);
    return f;
}

bool portal_cache_publish(const portal_cache *cache, const char *build_dir, const char *file,
                          const char *name, char *err, size_t err_size)
{
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s/%s", build_dir, file);
    int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return portal_err_set(err, err_size, "cannot open %s: %s", src, strerror(errno));
    bool synced = fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!synced)
        return portal_err_set(err, err_size, "cannot flush %s: %s", src, strerror(e));
    if (renameat(AT_FDCWD, src, cache->dir_fd, name) != 0)
        return portal_err_set(err, err_size, "cannot store %s/%s: %s", cache->dir, name, strerror(errno));
    return true;
}

void portal_cache_remove_build_dir(const char *build_dir)
{
    int fd = open(build_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    remove_entries(fd, 0);
    rmdir(build_dir);
}
