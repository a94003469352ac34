/* fs_path.h - portal_fs paths on portal-host: upstream's rules for an app path, the mapping of the
 * card's mount point /sdcard onto a host directory, and opening beneath that directory so that no
 * path can leave it (no `..`, no symbolic link followed, no race with a link swapped in). */
#ifndef PORTAL_FS_PATH_H
#define PORTAL_FS_PATH_H

#include <stdbool.h>
#include <sys/types.h>

/* Upstream: a path is shorter than this many bytes (NUL excluded: at most 255). */
#define PORTAL_FS_PATH_MAX 256

/* Upstream's checks, in upstream's order. NULL when `path` is acceptable, else the message
 * ("fs: path must start with '/'", "fs: path contains '..'", "fs: path too long"). */
const char *portal_fs_path_error(const char *path);

/* Maps an acceptable app path to a path relative to the card's root: "/sdcard" -> "",
 * "/sdcard//a/./b/" -> "a/b" (empty and "." segments dropped). False (the caller reports "not
 * found", as the device's VFS does) when the path is not on the card. `out` holds
 * PORTAL_FS_PATH_MAX bytes. */
bool portal_fs_path_on_card(const char *path, char *out);

/* Opens `rel` (from portal_fs_path_on_card) beneath the directory `root_fd`: never through a
 * symbolic link (the last segment included) and never outside `root_fd`. Uses openat2 with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS where the kernel has it, else
 * walks the segments with openat(O_NOFOLLOW), holding each directory open. O_CLOEXEC and
 * O_NOFOLLOW are always added; with O_PATH a symbolic link is refused too. Returns a descriptor,
 * or -1 with errno (ELOOP or ENOTDIR for a link in the way). */
int portal_fs_open_beneath(int root_fd, const char *rel, int flags, mode_t mode);

/* Opens the directory holding the last segment of `rel` (O_PATH, beneath `root_fd` as above) and
 * points *name at that segment ("." for the root itself). -1 with errno on failure. */
int portal_fs_open_parent(int root_fd, const char *rel, const char **name);

/* True when openat2 is in use (false: the openat walk). PORTAL_FS_NO_OPENAT2=1 in the
 * environment forces the walk, so tests cover both. */
bool portal_fs_uses_openat2(void);

#endif
