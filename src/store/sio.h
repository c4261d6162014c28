/*
 * sio.h — the store's file I/O, through one small interface that tests can
 * fault (in the spirit of SQLite's test VFS).
 *
 * Every call that changes a file of the data directory — open, pwrite,
 * fallocate, fdatasync/fsync, ftruncate, rename, unlink, mkdir — goes
 * through sio_*. Each behaves like the system call it names (-1 and errno on
 * failure, pwrite's byte count), so call sites read as plain POSIX. Reads
 * (pread, mmap) are not faulted: damage to what is read is the corruption
 * tests' business, not this layer's.
 *
 * Faults: a fault rule names operations, a path substring, how many
 * matching calls to let through first (skip) and how many to fail after
 * that (count; -1 forever), and the errno to fail with. `short` makes a
 * faulted pwrite write half of its bytes and return that count instead of
 * failing (the caller must loop); the next matching call is the next
 * fault. Rules are armed at run time (tests through the HTTP debug endpoint,
 * unit tests directly); with none armed the cost is one atomic load.
 *
 * Paths of descriptors: sio_open/sio_dup remember which path an fd belongs
 * to, so fd-based calls (pwrite, fdatasync) can be matched by path;
 * sio_close forgets it.
 *
 * io may be NULL everywhere: plain system calls, never faulted (tools).
 * Threads: safe from any thread (the syncer's helper thread syncs through
 * it); rules and the fd table are guarded by a mutex.
 */
#ifndef SL_STORE_SIO_H
#define SL_STORE_SIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sio sio_t;

enum sio_op {
	SIO_OPEN = 1 << 0,
	SIO_PWRITE = 1 << 1,
	SIO_FALLOCATE = 1 << 2,
	SIO_FSYNC = 1 << 3, /* fdatasync and fsync, files and directories */
	SIO_FTRUNCATE = 1 << 4,
	SIO_RENAME = 1 << 5,
	SIO_UNLINK = 1 << 6,
	SIO_MKDIR = 1 << 7,
	SIO_ALL = (1 << 8) - 1,
};

#define SIO_PATH_MAX 128

typedef struct sio_fault {
	unsigned ops;            /* SIO_* mask */
	char path[SIO_PATH_MAX]; /* substring of the file's path; "" matches any */
	int64_t skip;            /* matching calls let through first */
	int64_t count;           /* then this many fail; -1: every later one */
	int err;                 /* errno (EIO, ENOSPC, ...) */
	int short_write;         /* pwrite: write half and return the count */
} sio_fault_t;

/* A new interface with no fault armed. Returns owned. */
sio_t *sio_new(void);
void sio_free(sio_t *io);

/* Arms a rule (copied). Up to 16 rules; SL_ETOOBIG beyond. */
int sio_fault_add(sio_t *io, const sio_fault_t *f);
/* Disarms every rule. */
void sio_fault_clear(sio_t *io);
/* Calls failed (or shortened) by a rule so far. */
uint64_t sio_fault_hits(sio_t *io);
/* Parses "op=fdatasync|pwrite,path=jobs.journal,skip=0,count=1,errno=EIO,short=0"
 * (ops: open pwrite fallocate fsync fdatasync ftruncate rename unlink mkdir
 * write(= pwrite|fallocate|ftruncate) all; errno: EIO ENOSPC EDQUOT EMFILE
 * EROFS or a number). Separators ',' or '&'. Returns 0 or SL_EINVAL with a
 * reason in err. */
int sio_fault_parse(const char *spec, sio_fault_t *f, char *err, size_t errn);

int sio_open(sio_t *io, const char *path, int flags, mode_t mode);
/* fcntl(fd, F_DUPFD_CLOEXEC): the copy keeps the original's path. */
int sio_dup(sio_t *io, int fd);
int sio_close(sio_t *io, int fd);
ssize_t sio_pwrite(sio_t *io, int fd, const void *p, size_t n, off_t off);
int sio_fallocate(sio_t *io, int fd, int mode, off_t off, off_t len);
int sio_fdatasync(sio_t *io, int fd);
int sio_fsync(sio_t *io, int fd);
int sio_ftruncate(sio_t *io, int fd, off_t len);
int sio_rename(sio_t *io, const char *from, const char *to);
int sio_unlink(sio_t *io, const char *path);
int sio_unlinkat(sio_t *io, int dirfd, const char *dirpath, const char *name);
int sio_mkdir(sio_t *io, const char *path, mode_t mode);

/* Shutdown: from here on fdatasync/fsync calls only note that a sync is
 * owed and return 0; sio_sync_deferred() then makes everything durable
 * with one syncfs() of the data directory's filesystem. A clean stop of
 * thousands of partitions costs one sync instead of three per partition.
 * Only for shutdown, once no reply waits on a sync any more. */
void sio_defer_syncs(sio_t *io);
/* Syncs are made again (a broker opened on the same interface). */
void sio_resume_syncs(sio_t *io);
/* syncfs() of the filesystem holding dir, if a sync was owed. 0 or a
 * negative code. */
int sio_sync_deferred(sio_t *io, const char *dir);

/* --- power-loss simulation (tests) ---------------------------------------
 *
 * Once enabled, every pwrite, ftruncate and fallocate first saves what it
 * changes, per file (by inode, so a dup'd descriptor is the same file),
 * until that file's next successful fdatasync/fsync forgets it: what a sync
 * made durable stays. sio_powerloss() then puts every file back the way
 * its last sync left it — each unsynced write dropped, or, with tear, each
 * 512-byte sector of it kept or dropped at random (seeded) — as a power cut
 * loses what only the page cache held. The caller exits right after (the
 * server's debug endpoint _exit()s). Creating, renaming and unlinking files
 * count as durable at once (sluice syncs the directory after each). */
void sio_powerloss_enable(sio_t *io);
/* Rewinds every file as described; returns the number of files touched. */
int sio_powerloss(sio_t *io, int tear, uint64_t seed);

/* Whole-buffer pwrite: loops over short writes. Returns 0 or a negative
 * SL_E* code (SL_ENOSPC for a full disk, else SL_EIO); *done (may be NULL)
 * gets the bytes that reached the file. */
int sio_pwrite_all(sio_t *io, int fd, const void *p, size_t n, off_t off, size_t *done);
/* fsync of a directory (creates, renames, unlinks in it become durable).
 * 0 or a negative code. */
int sio_fsync_dir(sio_t *io, const char *dir);
/* mkdir -p (mode 0755). 0 or a negative code. */
int sio_mkdir_p(sio_t *io, const char *dir);

#endif
