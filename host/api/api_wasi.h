/* api_wasi.h - import table of `wasi_snapshot_preview1` (desktop runtime only).
 * OFF arguments are raw offsets whose size is implied by WASI; the implementation checks them.
 * PORTAL_API_WASI rows are implemented; PORTAL_API_WASI_NOSYS rows link and return ENOSYS. */
#ifndef PORTAL_API_WASI_H
#define PORTAL_API_WASI_H

#define PORTAL_API_WASI(X)                                                                         \
    X(wasi_snapshot_preview1, args_get, portal_wasi_args_get, I32, ((CTX, _), (OFF, argv), (OFF, buf))) \
    X(wasi_snapshot_preview1, args_sizes_get, portal_wasi_args_sizes_get, I32,                     \
      ((CTX, _), (OFF, argc_out), (OFF, size_out)))                                                \
    X(wasi_snapshot_preview1, environ_get, portal_wasi_environ_get, I32,                           \
      ((CTX, _), (OFF, environ), (OFF, buf)))                                                      \
    X(wasi_snapshot_preview1, environ_sizes_get, portal_wasi_environ_sizes_get, I32,               \
      ((CTX, _), (OFF, count_out), (OFF, size_out)))                                               \
    X(wasi_snapshot_preview1, clock_res_get, portal_wasi_clock_res_get, I32,                       \
      ((CTX, _), (I32, clock_id), (OFF, res_out)))                                                 \
    X(wasi_snapshot_preview1, clock_time_get, portal_wasi_clock_time_get, I32,                     \
      ((CTX, _), (I32, clock_id), (I64, precision), (OFF, time_out)))                              \
    X(wasi_snapshot_preview1, fd_write, portal_wasi_fd_write, I32,                                 \
      ((CTX, _), (I32, fd), (OFF, iovs), (I32, iovs_len), (OFF, nwritten_out)))                    \
    X(wasi_snapshot_preview1, fd_read, portal_wasi_fd_read, I32,                                   \
      ((CTX, _), (I32, fd), (OFF, iovs), (I32, iovs_len), (OFF, nread_out)))                       \
    X(wasi_snapshot_preview1, fd_close, portal_wasi_fd_close, I32, ((CTX, _), (I32, fd)))          \
    X(wasi_snapshot_preview1, fd_fdstat_get, portal_wasi_fd_fdstat_get, I32,                       \
      ((CTX, _), (I32, fd), (OFF, stat_out)))                                                      \
    X(wasi_snapshot_preview1, fd_seek, portal_wasi_fd_seek, I32,                                   \
      ((CTX, _), (I32, fd), (I64, offset), (I32, whence), (OFF, newoffset_out)))                   \
    X(wasi_snapshot_preview1, fd_tell, portal_wasi_fd_tell, I32, ((CTX, _), (I32, fd), (OFF, out))) \
    X(wasi_snapshot_preview1, fd_prestat_get, portal_wasi_fd_prestat_get, I32,                     \
      ((CTX, _), (I32, fd), (OFF, prestat_out)))                                                   \
    X(wasi_snapshot_preview1, fd_prestat_dir_name, portal_wasi_fd_prestat_dir_name, I32,           \
      ((CTX, _), (I32, fd), (OFF, path), (I32, path_len)))                                         \
    X(wasi_snapshot_preview1, poll_oneoff, portal_wasi_poll_oneoff, I32,                           \
      ((CTX, _), (OFF, in), (OFF, out), (I32, nsubscriptions), (OFF, nevents_out)))                \
    X(wasi_snapshot_preview1, proc_exit, portal_wasi_proc_exit, VOID, ((CTX, _), (I32, code)))     \
    X(wasi_snapshot_preview1, proc_raise, portal_wasi_proc_raise, I32, ((CTX, _), (I32, sig)))     \
    X(wasi_snapshot_preview1, sched_yield, portal_wasi_sched_yield, I32, ((CTX, _)))               \
    X(wasi_snapshot_preview1, random_get, portal_wasi_random_get, I32,                             \
      ((CTX, _), (OFF, buf), (I32, buf_len)))

#define PORTAL_API_WASI_NOSYS(X)                                                                   \
    X(wasi_snapshot_preview1, fd_advise, portal_wasi_nosys_fd_advise, I32,                         \
      ((CTX, _), (I32, fd), (I64, offset), (I64, len), (I32, advice)))                             \
    X(wasi_snapshot_preview1, fd_allocate, portal_wasi_nosys_fd_allocate, I32,                     \
      ((CTX, _), (I32, fd), (I64, offset), (I64, len)))                                            \
    X(wasi_snapshot_preview1, fd_datasync, portal_wasi_nosys_fd_datasync, I32, ((CTX, _), (I32, fd))) \
    X(wasi_snapshot_preview1, fd_fdstat_set_flags, portal_wasi_nosys_fd_fdstat_set_flags, I32,     \
      ((CTX, _), (I32, fd), (I32, flags)))                                                         \
    X(wasi_snapshot_preview1, fd_fdstat_set_rights, portal_wasi_nosys_fd_fdstat_set_rights, I32,   \
      ((CTX, _), (I32, fd), (I64, base), (I64, inheriting)))                                       \
    X(wasi_snapshot_preview1, fd_filestat_get, portal_wasi_nosys_fd_filestat_get, I32,             \
      ((CTX, _), (I32, fd), (OFF, buf)))                                                           \
    X(wasi_snapshot_preview1, fd_filestat_set_size, portal_wasi_nosys_fd_filestat_set_size, I32,   \
      ((CTX, _), (I32, fd), (I64, size)))                                                          \
    X(wasi_snapshot_preview1, fd_filestat_set_times, portal_wasi_nosys_fd_filestat_set_times, I32, \
      ((CTX, _), (I32, fd), (I64, atim), (I64, mtim), (I32, fst_flags)))                           \
    X(wasi_snapshot_preview1, fd_pread, portal_wasi_nosys_fd_pread, I32,                           \
      ((CTX, _), (I32, fd), (OFF, iovs), (I32, iovs_len), (I64, offset), (OFF, nread)))            \
    X(wasi_snapshot_preview1, fd_pwrite, portal_wasi_nosys_fd_pwrite, I32,                         \
      ((CTX, _), (I32, fd), (OFF, iovs), (I32, iovs_len), (I64, offset), (OFF, nwritten)))         \
    X(wasi_snapshot_preview1, fd_readdir, portal_wasi_nosys_fd_readdir, I32,                       \
      ((CTX, _), (I32, fd), (OFF, buf), (I32, buf_len), (I64, cookie), (OFF, bufused)))            \
    X(wasi_snapshot_preview1, fd_renumber, portal_wasi_nosys_fd_renumber, I32,                     \
      ((CTX, _), (I32, fd), (I32, to)))                                                            \
    X(wasi_snapshot_preview1, fd_sync, portal_wasi_nosys_fd_sync, I32, ((CTX, _), (I32, fd)))      \
    X(wasi_snapshot_preview1, path_create_directory, portal_wasi_nosys_path_create_directory, I32, \
      ((CTX, _), (I32, fd), (OFF, path), (I32, path_len)))                                         \
    X(wasi_snapshot_preview1, path_filestat_get, portal_wasi_nosys_path_filestat_get, I32,         \
      ((CTX, _), (I32, fd), (I32, flags), (OFF, path), (I32, path_len), (OFF, buf)))               \
    X(wasi_snapshot_preview1, path_filestat_set_times, portal_wasi_nosys_path_filestat_set_times, I32, \
      ((CTX, _), (I32, fd), (I32, flags), (OFF, path), (I32, path_len), (I64, atim), (I64, mtim),  \
       (I32, fst_flags)))                                                                          \
    X(wasi_snapshot_preview1, path_link, portal_wasi_nosys_path_link, I32,                         \
      ((CTX, _), (I32, old_fd), (I32, old_flags), (OFF, old_path), (I32, old_path_len),            \
       (I32, new_fd), (OFF, new_path), (I32, new_path_len)))                                       \
    X(wasi_snapshot_preview1, path_open, portal_wasi_nosys_path_open, I32,                         \
      ((CTX, _), (I32, fd), (I32, dirflags), (OFF, path), (I32, path_len), (I32, oflags),          \
       (I64, rights_base), (I64, rights_inheriting), (I32, fdflags), (OFF, fd_out)))               \
    X(wasi_snapshot_preview1, path_readlink, portal_wasi_nosys_path_readlink, I32,                 \
      ((CTX, _), (I32, fd), (OFF, path), (I32, path_len), (OFF, buf), (I32, buf_len), (OFF, bufused))) \
    X(wasi_snapshot_preview1, path_remove_directory, portal_wasi_nosys_path_remove_directory, I32, \
      ((CTX, _), (I32, fd), (OFF, path), (I32, path_len)))                                         \
    X(wasi_snapshot_preview1, path_rename, portal_wasi_nosys_path_rename, I32,                     \
      ((CTX, _), (I32, fd), (OFF, old_path), (I32, old_path_len), (I32, new_fd), (OFF, new_path),  \
       (I32, new_path_len)))                                                                       \
    X(wasi_snapshot_preview1, path_symlink, portal_wasi_nosys_path_symlink, I32,                   \
      ((CTX, _), (OFF, old_path), (I32, old_path_len), (I32, fd), (OFF, new_path), (I32, new_path_len))) \
    X(wasi_snapshot_preview1, path_unlink_file, portal_wasi_nosys_path_unlink_file, I32,           \
      ((CTX, _), (I32, fd), (OFF, path), (I32, path_len)))                                         \
    X(wasi_snapshot_preview1, sock_accept, portal_wasi_nosys_sock_accept, I32,                     \
      ((CTX, _), (I32, fd), (I32, flags), (OFF, fd_out)))                                          \
    X(wasi_snapshot_preview1, sock_recv, portal_wasi_nosys_sock_recv, I32,                         \
      ((CTX, _), (I32, fd), (OFF, ri_data), (I32, ri_data_len), (I32, ri_flags), (OFF, ro_datalen), \
       (OFF, ro_flags)))                                                                           \
    X(wasi_snapshot_preview1, sock_send, portal_wasi_nosys_sock_send, I32,                         \
      ((CTX, _), (I32, fd), (OFF, si_data), (I32, si_data_len), (I32, si_flags), (OFF, so_datalen))) \
    X(wasi_snapshot_preview1, sock_shutdown, portal_wasi_nosys_sock_shutdown, I32,                 \
      ((CTX, _), (I32, fd), (I32, how)))

#endif
