/* api_fs.h - import table of module `portal_fs` (SD-card files), provided by portal-host only:
 * the firmware registers its own portal_fs. Upstream passes buffers as a bare pointer plus an i32
 * length; here every such pair is a BUF (`*~`), so the whole range is checked. The WebAssembly
 * types are upstream's. Semantics: docs/spec-fs.md. */
#ifndef PORTAL_API_FS_H
#define PORTAL_API_FS_H

#define PORTAL_API_FS(X)                                                                           \
    X(portal_fs, fsIsMounted, portal_fs_is_mounted, I32, ((CTX, _)))                               \
    X(portal_fs, fsMount, portal_fs_mount, I32, ((CTX, _)))                                        \
    X(portal_fs, fsUnmount, portal_fs_unmount, I32, ((CTX, _)))                                    \
    X(portal_fs, fsOpen, portal_fs_open, I32, ((CTX, _), (STR, path), (I32, flags)))               \
    X(portal_fs, fsClose, portal_fs_close, I32, ((CTX, _), (I32, handle)))                         \
    X(portal_fs, fsRead, portal_fs_read, I32, ((CTX, _), (I32, handle), (BUF, out)))               \
    X(portal_fs, fsWrite, portal_fs_write, I32, ((CTX, _), (I32, handle), (BUF, buf)))             \
    X(portal_fs, fsSeek, portal_fs_seek, I32,                                                      \
      ((CTX, _), (I32, handle), (I32, offset), (I32, whence)))                                     \
    X(portal_fs, fsStat, portal_fs_stat, I32, ((CTX, _), (STR, path), (BUF, out)))                 \
    X(portal_fs, fsRemove, portal_fs_remove, I32, ((CTX, _), (STR, path)))                         \
    X(portal_fs, fsRename, portal_fs_rename, I32, ((CTX, _), (STR, from), (STR, to)))              \
    X(portal_fs, fsMkdir, portal_fs_mkdir, I32, ((CTX, _), (STR, path)))                           \
    X(portal_fs, fsRmdir, portal_fs_rmdir, I32, ((CTX, _), (STR, path)))                           \
    X(portal_fs, fsOpendir, portal_fs_opendir, I32, ((CTX, _), (STR, path)))                       \
    X(portal_fs, fsReaddir, portal_fs_readdir, I32, ((CTX, _), (I32, handle), (BUF, out)))         \
    X(portal_fs, fsClosedir, portal_fs_closedir, I32, ((CTX, _), (I32, handle)))                   \
    X(portal_fs, fsCardInfo, portal_fs_card_info, I32, ((CTX, _), (BUF, out)))

#endif
