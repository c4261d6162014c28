/*
 * syncer.h — durability: fdatasync on a helper thread, group commit, and
 * "tell me when position P of this file is durable".
 *
 * The loop thread registers files (sync_file_t), reports how far each has
 * been written (page cache), and asks for callbacks when a position is on
 * disk. A helper thread performs fdatasync; it reports completion through a
 * loop_async_t (eventfd), and the callbacks run on the loop thread. Waiters
 * that arrive while a sync is running ride on the next sync of that file,
 * which covers everything written by the time it starts (group commit).
 *
 * Policy: FSYNC_ALWAYS — callers wait with sync_file_when_durable() before
 * acknowledging; FSYNC_INTERVAL — the syncer syncs dirty files every MS in
 * the background; FSYNC_NEVER — nothing is synced except on explicit
 * request and on close. sync_file_when_durable() always forces a sync,
 * whatever the policy (Kafka acks=-1 needs it even under `never`).
 *
 * Descriptors. A file registered with sync_file_new holds a dup() of the
 * caller's descriptor for its whole life (state journals: a handful). One
 * registered with sync_file_new_cached holds none: it names a file of the
 * store's descriptor cache (fdcache.h, syncer_fdc), and the syncer takes
 * the descriptor from the cache when it hands a sync to the helper thread,
 * pinning the file until that sync completes. At most SYNC_WINDOW such
 * syncs are handed over at a time (the helper runs them one after
 * another anyway), so ten thousand partition logs written in one turn
 * pin no more descriptors for syncing than that; the rest wait their
 * turn in order, still as one group commit each.
 *
 * Threads: everything here is loop-thread only, except the helper thread's
 * internals. A sync_file_t is reference-counted so that a file closed while
 * its sync is in flight stays valid until the sync finishes.
 */
#ifndef SL_STORE_SYNCER_H
#define SL_STORE_SYNCER_H

#include "core/config.h"
#include "core/fdcache.h"
#include "core/hist.h"
#include "core/log.h"
#include "net/loop.h"
#include "store/sio.h"

#include <stdint.h>

typedef struct syncer syncer_t;
typedef struct sync_file sync_file_t;

/* status: 0, or a negative SL_E* code when fdatasync failed (SL_EIO, or
 * SL_ENOSPC). A failure is sticky for that file: every later waiter on it
 * gets the error too, since pages lost by a failed sync may never reach the
 * disk even if a later fdatasync succeeds. */
typedef void (*sync_cb)(void *arg, int status);

/* Starts the helper thread. Borrows loop and log. */
syncer_t *syncer_new(loop_t *loop, const log_t *log);
/* Syncs every registered file, joins the thread and frees. Files must have
 * been released first. Waiters still pending are fired from here, on the
 * calling (loop) thread. */
void syncer_free(syncer_t *s);

/* Routes the syncer's file calls (dup, fdatasync, close) through io
 * (borrowed; it must outlive the syncer and every file of its descriptor
 * cache). Stores opened with this syncer use the same io for their own
 * file calls, and its descriptor cache opens through it. Call before
 * registering files. */
void syncer_set_io(syncer_t *s, sio_t *io);
/* The io set above, or NULL (also for s NULL). */
sio_t *syncer_io(const syncer_t *s);
/* The store's descriptor cache, shared by every log opened with this
 * syncer (created with the syncer, capacity from RLIMIT_NOFILE; adjust it
 * with fdc_set_cap). Borrowed; NULL for s NULL. */
fdc_t *syncer_fdc(const syncer_t *s);

/* Registers an open fd (borrowed: the caller closes it after
 * sync_file_release(); the syncer syncs through its own dup of it, so a sync
 * still in flight after the release is safe). name is for log lines.
 * Returns NULL if the fd cannot be duplicated (out of descriptors even
 * after the descriptor cache gave back what it could). */
sync_file_t *sync_file_new(syncer_t *s, int fd, fsync_policy_t policy, const char *name);
/* Registers a file of the syncer's descriptor cache (takes a reference on
 * file; holds no descriptor while no sync is in flight, see above). */
sync_file_t *sync_file_new_cached(syncer_t *s, fdc_file_t *file, fsync_policy_t policy,
                                  const char *name);
/* Bytes [0, pos) of the file are written to the page cache. Monotonic. */
void sync_file_written(sync_file_t *f, uint64_t pos);
uint64_t sync_file_synced_pos(const sync_file_t *f);
/* Calls fn(arg, status) on the loop thread once bytes [0, pos) are durable
 * (in a later turn, never re-entrantly). */
void sync_file_when_durable(sync_file_t *f, uint64_t pos, sync_cb fn, void *arg);
/* Syncs now, blocking the caller (shutdown, segment seal). Waiters it
 * satisfies fire in a later turn. Returns 0 or the file's sync error, or
 * SL_EMFILE (not sticky: nothing was synced, nothing failed) when a cached
 * file could not be opened. */
int sync_file_sync_now(sync_file_t *f);
/* Declares bytes [0, pos) durable by other means (the journal after a
 * compaction: their content is in a file that was fsynced and renamed in).
 * Waiters it satisfies fire in a later turn, in order. No-op after an
 * error. */
void sync_file_assume_synced(sync_file_t *f, uint64_t pos);
/* Marks the file failed with err (a negative SL_E* code) as if a sync had
 * failed: every waiter not yet answered, and every later one, gets err (in
 * registration order, in a later turn). For owners whose write failed. */
void sync_file_fail(sync_file_t *f, int err);

/* The owner's hook for a failure: fn(arg, err) runs once, from a task on
 * the loop thread, after the file's first sync failure or sync_file_fail
 * (also when the file had already failed). Not after the release. */
void sync_file_on_error(sync_file_t *f, void (*fn)(void *arg, int err), void *arg);
/* fn(arg, pos) runs on the loop thread each time a sync (requested, timed
 * or sync_now) moved the synced position to pos. Not after the release. */
void sync_file_on_synced(sync_file_t *f, void (*fn)(void *arg, uint64_t pos), void *arg);
/* The sticky error, or 0. */
int sync_file_error(const sync_file_t *f);

/* Drops the caller's reference. Pending waiters still fire (with the sync
 * result, or SL_ECLOSED for a position that was never written). */
void sync_file_release(sync_file_t *f);

/* Number of fdatasync calls made so far (helper thread and sync_now), for
 * stats and tests (group commit shows as fewer syncs than waiters). */
uint64_t syncer_sync_count(const syncer_t *s);

/* What the helper thread's fdatasync calls took (microseconds) and made
 * durable (bytes past the file's previous synced position), for /metrics.
 * Updated and read on the loop thread. */
typedef struct syncer_stats {
	hist_t lat_us;
	hist_t bytes;
	uint64_t failures;
} syncer_stats_t;
const syncer_stats_t *syncer_stats(const syncer_t *s);

#endif
