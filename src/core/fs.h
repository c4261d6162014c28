/*
 * fs.h — small file-system helpers shared by storage and start-up code.
 * Thread-safe (they touch only the paths given).
 */
#ifndef SL_CORE_FS_H
#define SL_CORE_FS_H

/* Creates dir and its missing parents (mode 0755). 0 or a negative code. */
int fs_mkdir_p(const char *dir);
/* fsyncs a directory, making creates, renames and unlinks in it durable. */
int fs_fsync_dir(const char *dir);

#endif
