/*
 * plog.h — a partition log: the ordered, durable record-batch log behind a
 * Kafka topic partition and a Redis stream.
 *
 * A partition log is a directory of segments (see segment.h for the file
 * formats). Appends take a Kafka RecordBatch v2 as received, validate it
 * (batch.h), rewrite its BaseOffset, and write it to the active segment.
 * Reads return file regions of whole batches, to be sent with sendfile.
 *
 * Offsets: log start offset (first offset still stored) and end offset (the
 * next offset to be assigned = high watermark; sluice is one node, so every
 * written batch is "replicated"). Durable offset: what the syncer has put on
 * disk.
 *
 * Descriptors: a log holds none while idle. Its segments' files live in
 * the store's descriptor cache (the syncer's, fdcache.h; a private small
 * one without a syncer); the active segment's file is pinned there only
 * while it holds written but unsynced data (see plog.c).
 *
 * Loop thread only.
 */
#ifndef SL_STORE_PLOG_H
#define SL_STORE_PLOG_H

#include "core/config.h"
#include "core/fdcache.h"
#include "core/log.h"
#include "store/syncer.h"
#include "store/watch.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct plog plog_t;

/* PartitionLeaderEpoch written into every stored batch: sluice is a single
 * node whose leader epoch never changes (Metadata should report 0 too).
 * The field is outside the CRC, so recovery treats any other value as
 * damage (segment.h SEG_LEADER_EPOCH). */
#define PLOG_LEADER_EPOCH 0

typedef struct plog_opts {
	int64_t segment_bytes;   /* roll at this size */
	int64_t roll_ms;         /* roll when the active segment is this old */
	int64_t retention_bytes; /* -1: unlimited */
	int64_t retention_ms;    /* -1: forever */
	int64_t max_batch_bytes; /* message.max.bytes */
	int64_t index_interval_bytes;
	fsync_policy_t fsync;
	/* Reads stop at the high watermark (see plog_hw). Kafka partitions
	 * set it (plog_opts_from_config does); a log whose readers are held
	 * back by their owner instead (Redis streams) leaves it 0. */
	int gate_reads;
	/* The owner replays its own trims (Redis streams: TRIM records in
	 * streams.journal, which its compaction snapshot repeats), so the
	 * start offset is only a hint: plog_delete_before moves it in memory
	 * and drops whole segments, without writing the start-offset file and
	 * its two fsyncs on the loop thread. Kafka partitions leave it 0
	 * (DeleteRecords' low watermark must survive a crash). */
	int start_replayed;
} plog_opts_t;

/* Options from the server config (per-topic overrides are applied by the
 * caller on the returned struct). */
void plog_opts_from_config(plog_opts_t *o, const sl_config_t *cfg);

/* Opens or creates the log in dir. clean: the server shut down cleanly, so
 * the active segment's tail need not be scanned. Returns an owned log.
 * Borrows syncer and log. syncer may be NULL (tools and tests): syncs then
 * run inline and plog_when_durable calls back before returning. A log that
 * cannot be opened in a directory this call created (SL_EMFILE, a full
 * disk) removes it again, so a failed creation leaves nothing behind. */
int plog_open(plog_t **out, const char *dir, const plog_opts_t *opts, syncer_t *syncer,
              const log_t *log, int clean);
/* Trims the active segment's preallocated tail, syncs everything (whatever
 * the policy) and closes. */
void plog_close(plog_t *p);
/* Closes and deletes the directory (topic deletion). */
int plog_destroy(plog_t *p);

/* Appends one RecordBatch v2 (batch[0..len)). The batch is validated, its
 * BaseOffset and PartitionLeaderEpoch rewritten in place (the caller's
 * buffer is modified; appending the same buffer again is fine), and, when
 * log_append_time_ms >= 0, its timestamp type set to LogAppendTime with
 * that MaxTimestamp and the CRC recomputed. On success *base_offset is the
 * first offset assigned. Errors: SL_ECORRUPT (bad CRC / framing),
 * SL_ETOOBIG (over max_batch_bytes), SL_EPROTO (invalid record counts),
 * SL_EIO / SL_ENOSPC (write failed; the log stays readable). */
int plog_append(plog_t *p, uint8_t *batch, size_t len, int64_t log_append_time_ms,
                int64_t *base_offset);

/* Reserves room for the next appends, `bytes` of batches in all, rolling
 * first when they would not fit in the active segment, so that an owner
 * that buffers entries and appends them later (Redis streams, once per
 * turn) finds a full disk before it applies anything. Returns 0, the
 * sticky error, SL_ENOSPC or SL_EIO. */
int plog_reserve(plog_t *p, size_t bytes);

int64_t plog_start_offset(const plog_t *p);
int64_t plog_end_offset(const plog_t *p);
/* The high watermark: offsets below it are readable. With fsync=always,
 * gate_reads (and a syncer) it trails the end offset until the sync
 * covering each batch completes, so no reader ever receives bytes that
 * are not on disk; otherwise it is the end offset. */
int64_t plog_hw(const plog_t *p);
/* The end of what is known to be on disk (fsync=never: the active
 * segment's base). */
int64_t plog_synced_offset(const plog_t *p);
/* fn(arg) runs on the loop thread whenever the high watermark moves
 * (long-poll fetches wait for it). */
void plog_on_hw(plog_t *p, void (*fn)(void *arg), void *arg);
/* The owner's hooks (copied): appended after each append, failed once a
 * sync failed (appends are then refused until plog_cut). */
void plog_watch(plog_t *p, const store_watch_t *w);
/* The sticky sync error, or 0. */
int plog_error(const plog_t *p);
/* Cuts the log back so that its end offset is `offset` (a batch start,
 * clamped to the log), durably, clears the error and reopens the segments
 * from the files (the recovery rule of an open). The recovery after a
 * failed sync, whose bytes past the synced point cannot be trusted, and
 * the way an owner undoes appends whose acknowledgement failed. */
int plog_cut(plog_t *p, int64_t offset);
/* Largest timestamp and its offset in the log (ListOffsets -3), or -1s. */
void plog_max_timestamp(const plog_t *p, int64_t *ts, int64_t *offset);

/* A stored range of whole batches. fd is borrowed: valid until the next
 * call into any log (the descriptor cache may close it to open another
 * file), so read it at once; to send it later, queue `file` (borrowed:
 * valid until the loop turn ends; conn_send_region takes a reference). */
typedef struct plog_region {
	int fd;
	fdc_file_t *file;
	off_t pos;
	size_t len;
	int64_t first_offset; /* BaseOffset of the first batch in the region */
} plog_region_t;

/* Finds batches starting with the one that contains `offset`, up to
 * max_bytes, but always at least one whole batch, never a batch at or past
 * the high watermark, and only bytes checked against their CRC since they
 * were written or since this process started (a segment from an earlier
 * run is checked as far as the read reaches first; damage becomes a hole,
 * skipped: the region then starts past `offset`, as at a Kafka gap). Returns 0 with region.len == 0 (and fd -1) when
 * offset >= the high watermark, SL_ERANGE when offset is outside
 * [start, end]. Stops at a segment boundary (call again). The first batch
 * may start before `offset` (as in Kafka). */
int plog_read(plog_t *p, int64_t offset, size_t max_bytes, plog_region_t *region);

/* Background verification: CRC-checks up to `budget` bytes of segments
 * written before this run and not yet checked (reads check what they
 * serve themselves). Returns the bytes checked; 0 when all is checked. */
uint64_t plog_verify_step(plog_t *p, uint64_t budget);
/* Damaged regions found so far (holes: never served; their offsets are
 * skipped as Kafka skips a gap) and, in *missing, the offsets they took. */
size_t plog_damage(const plog_t *p, int64_t *missing);

/* First offset whose batch MaxTimestamp >= ts (ListOffsets by time), or
 * SL_ENOENT when no such batch. */
int plog_find_by_time(plog_t *p, int64_t ts, int64_t *offset);

/* Calls fn on the loop thread once every offset < end_offset is durable.
 * Forces a sync whatever the policy. */
void plog_when_durable(plog_t *p, int64_t end_offset, sync_cb fn, void *arg);
/* Whether this log's policy is `always` (acks must wait for durability). */
int plog_sync_required(const plog_t *p);

/* Runs time- and size-based retention and time-based rolling; deletes whole
 * segments. Returns the number of segments deleted. Also records how far
 * the log is synced (the recovery point that bounds the next unclean
 * open's check). */
int plog_housekeep(plog_t *p, int64_t now_wall_ms);
/* Advances the log start offset (DeleteRecords / XTRIM); whole segments
 * below it are deleted. offset must be <= end offset (else SL_ERANGE); an
 * offset at or below the start is a no-op. The new start is persisted
 * before it takes effect (SL_EIO/SL_ENOSPC if that fails). */
int plog_delete_before(plog_t *p, int64_t offset);

/* Applies changed options (retention, roll, segment size: topic configs
 * altered at run time); the syncing policy and index interval stay. */
void plog_set_opts(plog_t *p, const plog_opts_t *opts);

/* --- compaction (plog_clean.c) ------------------------------------------------- */

/* An aborted transaction: producer pid's transactional batches in
 * [first, last] are dropped by the cleaner. */
typedef struct plog_aborted {
	int64_t pid;
	int64_t first;
	int64_t last;
} plog_aborted_t;

/* Test hook: where plog_clean kills the process (SIGKILL), to prove that
 * a crash at that point loses nothing. */
enum {
	PLOG_CLEAN_CRASH_NONE = 0,
	PLOG_CLEAN_CRASH_COPIED = 1,   /* the cleaned copy is written and synced */
	PLOG_CLEAN_CRASH_UNLINKED = 2, /* the old index files are gone */
	PLOG_CLEAN_CRASH_SWAPPED = 3,  /* the copy replaced the segment */
};

typedef struct plog_clean_opts {
	int64_t now_ms;              /* wall clock */
	int64_t delete_retention_ms; /* tombstones live this long after a clean */
	int64_t min_lag_ms;          /* records younger than this are not cleaned */
	int64_t max_lag_ms;          /* dirty records older than this force a clean */
	double min_dirty_ratio;      /* dirty / (clean + dirty) bytes that start a clean */
	int64_t limit;               /* clean only below (the last stable offset) */
	const plog_aborted_t *aborted;
	size_t naborted;
	size_t max_keys;     /* offset map bound (0: 1 << 20 keys) */
	uint64_t step_bytes; /* work per call, in segment bytes (0: the whole pass) */
	int crash_at;        /* PLOG_CLEAN_CRASH_* (tests) */
} plog_clean_opts_t;

typedef struct plog_clean_stats {
	int segments;        /* segments rewritten or removed */
	uint64_t bytes_read; /* of the segments cleaned */
	uint64_t bytes_written;
	uint64_t records_in, records_out;
	int64_t elapsed_us;
} plog_clean_stats_t;

/* A step of a cleaning pass (Kafka's log compaction) over the sealed segments
 * below o->limit, when the dirty part (everything past the last pass's
 * end) is at least min_dirty_ratio of them or older than max_lag_ms: the
 * latest record of every key is kept, older ones, aborted transactional
 * batches, keyless records and (after delete_retention_ms) tombstones
 * go. Offsets are preserved. Each segment is swapped crash-safely (see
 * plog_clean.c). A pass is planned by the first call (o's settings hold
 * for the whole pass) and then does about step_bytes of segments per
 * call, whole segments at least. Returns 1 when a pass ended in this call
 * (*st: the pass's totals), 2 while one is under way, 0 when there was
 * nothing to do, or a storage error (the pass is dropped; the log stays
 * as it was at the failed segment). */
int plog_clean(plog_t *p, const plog_clean_opts_t *o, plog_clean_stats_t *st);
/* The first offset the next pass treats as dirty. */
int64_t plog_clean_from(const plog_t *p);

/* Disk usage (all segments) and segment count, for stats and tests. */
uint64_t plog_size_bytes(const plog_t *p);
int plog_segment_count(const plog_t *p);

#endif
