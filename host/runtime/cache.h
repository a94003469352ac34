/* cache.h - the compile cache's directory, trusted only when it is provably the user's own:
 * the directory is owned by the user, not group/world-writable and not a symbolic link, and every
 * directory above it belongs to root or the user and is not writable by others (unless sticky).
 * Builds happen in mkdtemp directories inside it; a finished shared object is published by
 * rename; a cached one is opened O_NOFOLLOW and checked on its descriptor before it is loaded. */
#ifndef PORTAL_CACHE_H
#define PORTAL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct portal_cache {
    int dir_fd;     /* the verified directory */
    bool temporary; /* a private mkdtemp directory for this process, removed by close */
    char dir[3072]; /* its path, symbolic links resolved (what the tools are given) */
} portal_cache;

/* Opens the cache directory `requested`, or by default $PORTAL_CACHE_DIR,
 * $XDG_CACHE_HOME/portal-host or $HOME/.cache/portal-host, creating missing directories 0700.
 * Without any of them there is no persistent cache: a fresh mkdtemp directory in $TMPDIR (or
 * /tmp) serves this process only. false with the path and the reason in err when refused. */
bool portal_cache_open(portal_cache *cache, const char *requested, char *err, size_t err_size);

/* Removes the directory when it is temporary, and closes it. */
void portal_cache_close(portal_cache *cache);

/* The cached file `name` opened read-only, when it is a regular file (not a symbolic link) with
 * one link, owned by the user and not group/world-writable: its descriptor. -1 when there is
 * none (why = "") or it is refused (why says why). */
int portal_cache_open_entry(const portal_cache *cache, const char *name, char *why,
                            size_t why_size);

/* A new private build directory (mkdtemp, 0700) in the cache: its path in out. */
bool portal_cache_make_build_dir(const portal_cache *cache, char *out, size_t out_size, char *err,
                                 size_t err_size);

/* Creates `name` in directory `dir` for writing (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600): a new
 * file in the private, fresh build directory, never one that already exists. NULL on failure
 * (errno). */
FILE *portal_cache_create_file(const char *dir, const char *name);

/* Publishes build_dir/file as the cache entry `name`: flushed to disk, then renamed (atomic: a
 * reader sees the old entry or the whole new one). */
bool portal_cache_publish(const portal_cache *cache, const char *build_dir, const char *file,
                          const char *name, char *err, size_t err_size);

/* Removes a build directory and the files in it. */
void portal_cache_remove_build_dir(const char *build_dir);

#endif
