/* fs.h - C SDK: module `portal_fs` (files on the SD card, mounted at /sdcard; on portal-host the
 * directory given by --sd) plus helpers: the open flags, the fsStat and fsCardInfo layouts, and
 * reading a whole file into memory. Semantics, every error and the path rules: docs/spec-fs.md. */
#ifndef PORTAL_SDK_FS_H
#define PORTAL_SDK_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "portal.h"

/* fsOpen flags (upstream's numbers): one access mode, plus any of the others. Access mode 0 is
 * invalid. Files are created with mode 0666 (less the host's umask). */
enum {
    PP_FS_READ = 01,
    PP_FS_WRITE = 02,
    PP_FS_RDWR = 03,
    PP_FS_CREATE = 0100,
    PP_FS_TRUNC = 0200,
    PP_FS_APPEND = 0400,
};
/* fsSeek whence */
enum { PP_FS_SEEK_SET = 0, PP_FS_SEEK_CUR = 1, PP_FS_SEEK_END = 2 };

/* Paths start with '/', have no ".." segment and are shorter than 256 bytes; files live under
 * /sdcard. At most 16 open files and 8 open directories per app. */
#define PP_FS_ROOT "/sdcard"
#define PP_FS_PATH_MAX 256

/* ---- imports (upstream names and WebAssembly types) ----
 * Every (pointer, length) pair is checked by the host over its whole length; a range outside the
 * app's memory traps the app. */
PORTAL_IMPORT(portal_fs, fsIsMounted) int32_t fsIsMounted(void);
PORTAL_IMPORT(portal_fs, fsMount) int32_t fsMount(void);
PORTAL_IMPORT(portal_fs, fsUnmount) int32_t fsUnmount(void);
/* Returns a file handle (> 0) or a negative error code. */
PORTAL_IMPORT(portal_fs, fsOpen) int32_t fsOpen(const char *path, int32_t flags);
PORTAL_IMPORT(portal_fs, fsClose) int32_t fsClose(int32_t handle);
/* Bytes read, 0 at the end of the file. */
PORTAL_IMPORT(portal_fs, fsRead) int32_t fsRead(int32_t handle, void *out, uint32_t out_len);
PORTAL_IMPORT(portal_fs, fsWrite) int32_t fsWrite(int32_t handle, const void *buf, uint32_t len);
/* Returns the new position. */
PORTAL_IMPORT(portal_fs, fsSeek) int32_t fsSeek(int32_t handle, int32_t offset, int32_t whence);
/* Writes a pp_fs_stat (out_len >= 24); returns 24. */
PORTAL_IMPORT(portal_fs, fsStat) int32_t fsStat(const char *path, void *out, uint32_t out_len);
PORTAL_IMPORT(portal_fs, fsRemove) int32_t fsRemove(const char *path);
PORTAL_IMPORT(portal_fs, fsRename) int32_t fsRename(const char *from, const char *to);
/* 0 also when the path exists already. */
PORTAL_IMPORT(portal_fs, fsMkdir) int32_t fsMkdir(const char *path);
PORTAL_IMPORT(portal_fs, fsRmdir) int32_t fsRmdir(const char *path);
/* Returns a directory handle (> 0). */
PORTAL_IMPORT(portal_fs, fsOpendir) int32_t fsOpendir(const char *path);
/* Writes the next entry's name, NUL-terminated and cut to out_len - 1 bytes; returns its length
 * as written, 0 at the end. */
PORTAL_IMPORT(portal_fs, fsReaddir) int32_t fsReaddir(int32_t handle, char *out, uint32_t out_len);
PORTAL_IMPORT(portal_fs, fsClosedir) int32_t fsClosedir(int32_t handle);
/* Writes a pp_fs_card_info (out_len >= 18); returns 18. */
PORTAL_IMPORT(portal_fs, fsCardInfo) int32_t fsCardInfo(void *out, uint32_t out_len);

/* ---- layouts (little-endian, as in WebAssembly memory) ---- */
typedef struct pp_fs_stat {
    uint64_t size;
    uint8_t is_dir;
    uint8_t reserved[7]; /* zero */
    int64_t mtime;       /* seconds since 1970 */
} pp_fs_stat;
_Static_assert(sizeof(pp_fs_stat) == 24, "pp_fs_stat is 24 bytes");
_Static_assert(offsetof(pp_fs_stat, mtime) == 16, "mtime at offset 16");

typedef struct __attribute__((packed)) pp_fs_card_info {
    uint8_t mounted;
    uint8_t type; /* 1 SDSC, 2 SDHC/SDXC, 3 MMC, 4 SDIO; portal-host: 2 */
    uint8_t reserved[2];
    uint64_t capacity; /* bytes */
    char name[6];      /* the card's product name, NUL-padded; portal-host: "HOST" */
} pp_fs_card_info;
_Static_assert(sizeof(pp_fs_card_info) == 18, "pp_fs_card_info is 18 bytes");
_Static_assert(offsetof(pp_fs_card_info, capacity) == 4, "capacity at offset 4");

/* ---- helpers ---- */

/* Reads the file at `path` (at most max_len bytes: its size when opened) into a malloc'd buffer
 * with a NUL after its `*len` bytes, so PEM text can go straight to tlsServerConfigCreate with
 * length *len + 1. Returns NULL on failure with *err set to the host's error code (message via
 * pp_last_error()), or to 0 when the host did not fail: a directory, a file larger than max_len,
 * or no memory. */
static inline uint8_t *pp_fs_read_file(const char *path, uint32_t max_len, uint32_t *len,
                                       int32_t *err)
{
    *len = 0;
    pp_fs_stat st;
    int32_t rc = fsStat(path, &st, sizeof st);
    if (rc < 0) {
        *err = rc;
        return NULL;
    }
    *err = 0;
    if (st.is_dir || st.size > max_len)
        return NULL;
    int32_t h = fsOpen(path, PP_FS_READ);
    if (h < 0) {
        *err = h;
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.size + 1);
    uint32_t n = 0;
    while (buf && n < st.size) {
        int32_t got = fsRead(h, buf + n, (uint32_t)st.size - n);
        if (got == 0)
            break; /* shorter now than when fsStat looked */
        if (got < 0) {
            *err = got;
            free(buf);
            buf = NULL;
        } else {
            n += (uint32_t)got;
        }
    }
    fsClose(h);
    if (!buf)
        return NULL;
    buf[n] = 0;
    *len = n;
    return buf;
}

#endif
