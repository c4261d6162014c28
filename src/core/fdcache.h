/*
 * fdcache.h — a bounded cache of open file descriptors, so that thousands
 * of files (every segment of every partition) can be served under a
 * descriptor limit well below their number.
 *
 * A cached file (fdc_file_t) names a file by path and open flags and holds
 * a descriptor only while it is in the cache. fdc_fd() returns it, opening
 * the file on demand; when the cache is at its capacity, or the process at
 * its RLIMIT_NOFILE (EMFILE/ENFILE), the least recently used descriptor
 * that nobody pins is closed first. So the hot files of a busy server stay
 * open (a hit costs a few pointer moves) and idle ones cost no descriptor.
 *
 * Pinning. A pinned file is never closed by the cache: its owner pins it
 * while its descriptor is in use by another thread (the syncer's helper)
 * or across calls that open other files. Pins may take the cache over
 * its capacity; the process limit then bounds them (fdc_fd fails with
 * SL_EMFILE, an error for that request).
 *
 * Dirty files. A file written but not yet synced is marked dirty by its
 * owner, with a flush callback. Closing its descriptor before a sync
 * could let a writeback error go unseen (the "fsyncgate" lesson: the next
 * fdatasync, through a new descriptor, may "succeed" without the data),
 * so the cache never closes a dirty file to respect its capacity — dirty
 * files may take it over — and at the process limit, with no clean file
 * left to close, it calls the flush (the owner syncs through the
 * descriptor that wrote) before closing one. The owner marks the file
 * clean again when a sync covered everything written.
 *
 * References. The owner holds one reference; anybody who needs the file to
 * stay reachable beyond the owner's life takes another (a connection's
 * queued sendfile region: net/conn.c). When the owner lets go with other
 * references left (fdc_file_close), the file is opened if it is not and
 * kept open, out of the cache's reach, until the last reference goes — so
 * the bytes stay readable after the owner unlinks or truncates the file,
 * exactly as with a dup()ed descriptor. The cache itself is freed when its
 * owner and every file are gone.
 *
 * Borrowed descriptors. A descriptor from fdc_fd() is valid until the next
 * call into the same cache that may close one (fdc_fd of another file,
 * fdc_open_temp, fdc_file_adopt, fdc_mark_clean, fdc_set_cap, fdc_trim),
 * or until the file is closed: use it at once, or pin the file (pinning
 * and unpinning close nothing).
 *
 * The cache opens and closes through ops (the store routes them through
 * its faultable file interface, store/sio.h). Loop thread only: another
 * thread may use a descriptor it was handed only while the file is pinned.
 */
#ifndef SL_CORE_FDCACHE_H
#define SL_CORE_FDCACHE_H

#include "core/log.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fdc fdc_t;
typedef struct fdc_file fdc_file_t;

typedef struct fdc_ops {
	/* open(2): a descriptor, or -1 with errno. */
	int (*open)(void *arg, const char *path, int flags, mode_t mode);
	/* close(2). */
	void (*close)(void *arg, int fd);
	void *arg;
} fdc_ops_t;

typedef struct fdc_stats {
	size_t cap;         /* descriptors kept for speed */
	size_t open;        /* descriptors open now (cached, pinned, kept) */
	size_t pinned;      /* files pinned now */
	size_t dirty;       /* files marked dirty now */
	uint64_t flushes;   /* dirty files synced early to be closed */
	size_t files;       /* cached files that exist */
	uint64_t hits;      /* fdc_fd found the file open */
	uint64_t opens;     /* fdc_fd had to open it */
	uint64_t evictions; /* descriptors closed to make room */
	uint64_t emfile;    /* opens that failed for lack of descriptors */
} fdc_stats_t;

/* A new cache keeping at most cap descriptors (at least 1). ops NULL:
 * plain open/close. log (borrowed, may be NULL) gets one warning a second
 * at most when opens fail for lack of descriptors. Returns owned. */
fdc_t *fdc_new(size_t cap, const fdc_ops_t *ops, const log_t *log);
/* Drops the owner's reference: the cache goes once its files are gone. */
void fdc_free(fdc_t *c);
/* Changes the capacity (at least 1), closing what no longer fits. */
void fdc_set_cap(fdc_t *c, size_t cap);
/* Changes the ops' argument (the store's file interface). */
void fdc_set_ops_arg(fdc_t *c, void *arg);
void fdc_stats(const fdc_t *c, fdc_stats_t *out);
/* Closes clean cached descriptors over the capacity (unpinning leaves
 * them, see above): for a point where no borrowed descriptor is in use. */
void fdc_fit(fdc_t *c);
/* Closes up to n unpinned cached descriptors, least recently used first
 * (to hand descriptors back to something else). Returns how many. */
size_t fdc_trim(fdc_t *c, size_t n);

/* A capacity for a process limit of nofile descriptors: half of them,
 * within [16, 1 << 20], leaving the other half to connections. */
size_t fdc_cap_for_limit(uint64_t nofile);

/* A file opened on demand with open(path, flags) (O_CLOEXEC is added).
 * Nothing is opened yet. Returns owned (one reference). */
fdc_file_t *fdc_file_new(fdc_t *c, const char *path, int flags);
/* Hands the cache a descriptor of this file that the caller just opened
 * (a file created with O_CREAT|O_TRUNC is then reopened without them);
 * the file must not be open. */
void fdc_file_adopt(fdc_file_t *f, int fd);
/* The file's descriptor (borrowed, see above), opened on demand; or a
 * negative code: SL_EMFILE when no descriptor could be had, else the
 * open's error (SL_ENOENT, SL_EIO...). */
int fdc_fd(fdc_file_t *f);
/* Whether the file holds a descriptor now. */
int fdc_is_open(const fdc_file_t *f);
/* Closes the file's descriptor now unless it is pinned, dirty or kept
 * (tests). */
void fdc_file_drop(fdc_file_t *f);
void fdc_pin(fdc_file_t *f);
void fdc_unpin(fdc_file_t *f);
/* The file has unsynced writes (see above); flush(arg) syncs it, returning
 * 0 or an error it reports to its owner itself. It may call
 * fdc_mark_clean and fdc_fd on this file, nothing that opens another. */
void fdc_mark_dirty(fdc_file_t *f, int (*flush)(void *arg), void *arg);
/* A sync covered everything written. */
void fdc_mark_clean(fdc_file_t *f);
void fdc_file_ref(fdc_file_t *f);
void fdc_file_unref(fdc_file_t *f);
/* The owner is done with the file: keeps it readable for the other
 * references (see above), then drops the owner's reference. */
void fdc_file_close(fdc_file_t *f);
const char *fdc_file_path(const fdc_file_t *f);

/* A descriptor outside the cache (index files, checkpoints), opened like
 * open(2) but closing cached descriptors when the process is out of them.
 * -1 with errno on failure. Close it with fdc_close_temp. */
int fdc_open_temp(fdc_t *c, const char *path, int flags, mode_t mode);
void fdc_close_temp(fdc_t *c, int fd);

#endif
