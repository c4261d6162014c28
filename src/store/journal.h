/*
 * journal.h — the state journal: an append-only file of framed records
 * replayed on open, compacted by snapshot-and-truncate.
 *
 * Each subsystem that keeps mutable state (committed offsets, groups, jobs,
 * lists, keys, topic configs) owns one journal and decides what its record
 * types mean. The journal only guarantees: records come back on replay in
 * the order they were appended, each intact (length + CRC32C checked), and a
 * torn or corrupt tail is cut at the last valid record and logged.
 *
 * Record frame (all integers big-endian):
 *   u32 length   — bytes of type + payload
 *   u32 crc32c   — over type + payload
 *   u8  type     — owner-defined, 1..255 (0 is reserved)
 *   payload
 *
 * Appends are buffered and written at the end of the loop turn (or when the
 * buffer is large); jrnl_when_durable() flushes and waits for a sync through
 * the syncer, sharing syncs with every other append of that turn.
 *
 * Compaction: the owner reports dead bytes with jrnl_garbage(); once garbage
 * passes the configured ratio (and the file the minimum size), the journal
 * calls the owner's snapshot function, which re-appends the live state into
 * a new file; the new file is synced and renamed over the old one, so a
 * crash at any point leaves one complete journal. Loop thread only.
 */
#ifndef SL_STORE_JOURNAL_H
#define SL_STORE_JOURNAL_H

#include "core/config.h"
#include "core/log.h"
#include "store/syncer.h"
#include "store/watch.h"

#include <stddef.h>
#include <stdint.h>

typedef struct jrnl jrnl_t;

/* Called once per valid record during jrnl_open. Returning non-zero stops the
 * open with that error (the owner found a record it cannot apply). */
typedef int (*jrnl_replay_fn)(void *arg, uint8_t type, const uint8_t *payload, size_t len);
/* Called during compaction: append the complete live state with
 * jrnl_append() (to the new file). Return 0 or a negative code. */
typedef int (*jrnl_snapshot_fn)(void *arg, jrnl_t *j);

typedef struct jrnl_opts {
	fsync_policy_t fsync;
	int compact_ratio_pct; /* compact when garbage*100/size >= this */
	int64_t compact_min_bytes;
	size_t max_record; /* largest payload accepted on append or replay (0: 64 MiB) */
	/* The previous run stopped cleanly, so no append can have been torn:
	 * an invalid tail is damage, and its bytes are kept aside before the
	 * cut (after a crash only a tail with valid records after it is). */
	int clean_stop;
	/* strict.recovery: refuse to open over damage (an unreadable header,
	 * a damaged record that is not a torn append) instead of setting the
	 * file or its tail aside, saying what to move. */
	int strict;
	/* Called during jrnl_open on each record of a unit a crash left
	 * unfinished (never applied, then cut), and by jrnl_unit_cut_after on
	 * those it drops: for an owner whose records point at data kept
	 * elsewhere (stream logs). NULL: not told. */
	jrnl_replay_fn discard;
	void *discard_arg;
	/* The owner notes no journal position inside a unit (jrnl_size), so
	 * a unit of one record may drop its BEGIN marker (see jrnl_unit_end). */
	int unit_strip;
} jrnl_opts_t;

/* Opens (creating if needed) DIR/NAME.journal, replays it into fn, and
 * returns an owned journal in *out. Borrows loop, syncer and log. A file
 * that is not a readable journal (bad magic, unknown version) is set aside
 * as NAME.journal.damaged-<time> and a new one started; damage in the
 * records is cut after its bytes were kept aside the same way (see
 * journal.c). Refused instead under opts->strict (SL_ECORRUPT). */
int jrnl_open(jrnl_t **out, loop_t *loop, syncer_t *syncer, const log_t *log, const char *dir,
              const char *name, const jrnl_opts_t *opts, jrnl_replay_fn fn, void *arg);

/* Appends one record. Returns 0, SL_ETOOBIG (payload over max_record),
 * SL_EINVAL (type 0), SL_ENOSPC / SL_EIO when the file space for it cannot
 * be reserved (nothing appended: the caller must not apply the change), or
 * the sticky error of an earlier failed write or sync (the journal refuses
 * appends until jrnl_cut). Call it before applying the change it records:
 * a 0 return is the licence to apply. */
int jrnl_append(jrnl_t *j, uint8_t type, const void *payload, size_t len);
/* Same, with the payload in two parts (header + body) to avoid a copy. */
int jrnl_append2(jrnl_t *j, uint8_t type, const void *a, size_t alen, const void *b, size_t blen);

/* Reserves file space for the next appends, `bytes` in all (frames
 * included: sum jrnl_record_size() over the records), so that an owner
 * whose one change takes several records (possibly in several journals)
 * can refuse it before appending any: after a 0 return those appends do
 * not fail for lack of space. Returns 0, the sticky error, or SL_ENOSPC /
 * SL_EIO (nothing changed). */
int jrnl_reserve(jrnl_t *j, uint64_t bytes);
/* Calls fn on the loop thread when every record appended so far is durable
 * (forces a sync whatever the policy). */
void jrnl_when_durable(jrnl_t *j, sync_cb fn, void *arg);
/* Writes ahead, for rare operations: writes the buffered appends now and,
 * unless the policy is `never`, syncs them (blocking the loop thread for
 * one fdatasync). On failure the journal is cut back to where it was
 * before (the cut's own failure leaves it failed) and the error returned:
 * the caller must not apply the change, and nothing else was appended
 * since its own jrnl_append. */
int jrnl_commit_now(jrnl_t *j);
/* Writes the buffered appends to the file now (no sync): for an owner
 * whose record must be on disk before some other file's write. */
void jrnl_write_now(jrnl_t *j);
/* Writes the buffered appends and, unless the policy is `never`, syncs
 * them now, blocking the loop thread: for an owner whose other file must
 * not be synced before these records are. A failure fails the journal as
 * a failed background sync does (the owner's failed hook, then a cut). */
int jrnl_sync_now(jrnl_t *j);
/* Whether acknowledgements must wait for jrnl_when_durable (policy always). */
int jrnl_sync_required(const jrnl_t *j);

/* Bytes one record with a payload of payload_len takes in the file (frame
 * header included): what the owner passes to jrnl_garbage() when that
 * record stops mattering. */
static inline uint64_t jrnl_record_size(size_t payload_len)
{
	return 9 + (uint64_t)payload_len;
}

/* The owner reports that `bytes` of earlier records no longer matter. */
void jrnl_garbage(jrnl_t *j, uint64_t bytes);
/* Compacts now if garbage passed the ratio; snapshot writes live state.
 * Owners call this after a burst of deletes (cheap when not needed).
 * Returns 0 (compacted or not needed) or an error; after a failed snapshot
 * or write the old journal stays in use. Blocks the loop thread for the
 * snapshot's write and fsync. */
int jrnl_maybe_compact(jrnl_t *j, jrnl_snapshot_fn snapshot, void *arg);

/* Incremental compaction: the owner writes its snapshot into a new file a
 * bounded piece at a time (jrnl_snap_append), between its other work.
 * Meanwhile every jrnl_append still goes to the journal (durability waits
 * are the journal's alone) and is copied into the new file too, unless
 * the owner turned the copy off for a record it writes differently there
 * (jrnl_snap_mirror). The owner's records must make the new file replay to
 * its model whatever order the copies and snapshot pieces came in (see
 * kv_store.c). jrnl_snap_commit writes and fsyncs the new file (synced in
 * the background as it grew, and to its end with jrnl_snap_flush), renames it over the journal and fsyncs the
 * directory, answering the old file's waiters: the rename is the commit
 * point, and a crash before it leaves the old journal (the .tmp is
 * deleted on open). jrnl_cut and jrnl_close abandon it; so does a failed
 * write of the new file (at its commit, which then returns the error). */
int jrnl_snap_begin(jrnl_t *j);
int jrnl_snap_active(const jrnl_t *j);
void jrnl_snap_mirror(jrnl_t *j, int on);
int jrnl_snap_append(jrnl_t *j, uint8_t type, const void *payload, size_t len);
/* Writes the new file and asks the syncer (its helper thread) to sync it;
 * 1 once what was written at the last call is synced: the commit's own
 * fsync then covers only what was appended since. */
int jrnl_snap_flush(jrnl_t *j);
/* Bytes of the new file so far (0 when no incremental compaction runs). */
uint64_t jrnl_snap_size(const jrnl_t *j);
int jrnl_snap_commit(jrnl_t *j);
void jrnl_snap_abort(jrnl_t *j);

/* Size of the journal file (header and appends not yet written included)
 * and of its garbage, for stats and tests. */
uint64_t jrnl_size(const jrnl_t *j);
uint64_t jrnl_garbage_bytes(const jrnl_t *j);

/* The owner's hooks (copied): appended on every append, failed once after
 * a write or sync failure, rebased after a compaction. */
void jrnl_watch(jrnl_t *j, const store_watch_t *w);
/* How far the file is known durable (a position as jrnl_size counts). */
uint64_t jrnl_synced(const jrnl_t *j);
/* The sticky write/sync error, or 0. */
int jrnl_error(const jrnl_t *j);
/* Cuts the journal back to pos (clamped to what was written; buffered
 * appends are dropped), durably, and clears the error: the recovery after a
 * failed write or sync, whose bytes beyond the last synced point cannot be
 * trusted. Waiters not yet answered get an error. The owner then rebuilds
 * its state with jrnl_replay. Returns 0, or SL_EIO/SL_ENOSPC when the cut
 * itself failed (the journal stays failed; try again later). */
int jrnl_cut(jrnl_t *j, uint64_t pos);
/* Replays every record of the file again into fn (after jrnl_cut, to
 * rebuild the owner's state from what is on disk). */
int jrnl_replay(jrnl_t *j, jrnl_replay_fn fn, void *arg);

/* Whether jrnl_open found damage or a torn tail — cut bytes, a tail kept
 * aside, a whole file set aside, a header rewritten — rather than a
 * journal that ended cleanly: records may be missing, so an owner must not
 * delete anything because the journal does not mention it. */
int jrnl_open_damaged(const jrnl_t *j);
/* Whether jrnl_open kept or set damage aside (not a torn tail alone). */
int jrnl_open_set_aside(const jrnl_t *j);

/* Units: the records an owner appends between jrnl_unit_begin and
 * jrnl_unit_end are replayed all or none (a script, a transaction, a
 * command of several records). The first append of a unit writes a BEGIN
 * marker, the end a COMMIT; replay holds the records from a BEGIN until
 * its COMMIT, and a crash that leaves a unit without its COMMIT drops the
 * whole unit (cut like a torn tail). Units do not nest; ids come from the
 * owner, increasing (jrnl_unit_ids tells the highest seen on replay).
 * A unit whose records go to several journals passes cross = 1 to every
 * jrnl_unit_end of it, with the same id: after opening all of them the
 * owner calls jrnl_unit_cut_after on each with the lowest max_cross of
 * the others, and a cross-journal unit above it (its part in some other
 * journal never got written) is dropped with everything after it. */
void jrnl_unit_begin(jrnl_t *j, uint64_t id);
/* Whether the current unit appended to this journal. */
int jrnl_unit_written(const jrnl_t *j);
void jrnl_unit_end(jrnl_t *j, int cross);
/* The highest unit id, and cross-journal unit id, the journal holds. */
void jrnl_unit_ids(const jrnl_t *j, uint64_t *max_id, uint64_t *max_cross);
/* Cuts the journal at the first cross-journal unit with an id above limit
 * (every record from there goes to discard first, if not NULL; with keep
 * the bytes are first copied to NAME.journal.damaged-<time>, for a cut
 * that follows damage in the peer rather than a crash). Returns 1 when it
 * cut (the owner rebuilds its state with jrnl_replay), 0 when no such
 * unit is there, or an error. */
int jrnl_unit_cut_after(jrnl_t *j, uint64_t limit, int keep, jrnl_replay_fn discard, void *arg);
/* The same, at the first unit whose id is at least id: for an owner that
 * finds, after the replay, that a unit's data kept elsewhere did not
 * survive (nothing from there on was acknowledged). */
int jrnl_unit_cut_from(jrnl_t *j, uint64_t id, int keep, jrnl_replay_fn discard, void *arg);

/* Flushes, syncs and closes. */
void jrnl_close(jrnl_t *j);

#endif
