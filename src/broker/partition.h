/*
 * partition.h — one Kafka topic partition: its partition log, idempotent
 * producer state, its durability domain, and the fetch waiters to wake
 * when it grows.
 *
 * Appends go through partition_append(), which checks producer sequences
 * (producer_state.h) before writing and records the batch after.
 *
 * Durability: each partition is one domain (broker/dur.h) with its log as
 * the only member. An acks=-1 produce holds its reply on the domain of
 * every partition it wrote to. Reads need no hold: under fsync=always the
 * log's high watermark (plog_hw) stops readers at the last synced batch.
 * Failures:
 *   - an append whose write or space reservation fails changes nothing
 *     (plog_append is pre-apply): the producer gets the error at once and
 *     may retry the same batch;
 *   - a failed sync fails the domain: every unreleased acks=-1 reply gets
 *     the error, appends are refused (dur_state) until the domain cut the
 *     log back to its last synced batch, and the reload hook rebuilds the
 *     idempotent producer state from the cut log, so a producer's retry of
 *     a failed batch (same sequence) is accepted once the log recovered.
 *     Reads continue throughout; writes resume without a restart.
 *
 * Transactions (KIP-98, broker/txn.h): a transactional batch opens the
 * producer's transaction in the partition at its base offset; a control
 * batch (commit or abort marker, partition_append_marker) closes it, and
 * an aborted one is remembered in the aborted-transactions index
 * (producer id, first offset, marker offset) that read_committed fetches
 * receive. The last stable offset is the first offset of the oldest open
 * transaction, else the high watermark. Both are rebuilt on open and
 * reload from the batch headers (and the markers' keys) of the scanned
 * log tail, like the idempotent producer state: the log is the record.
 * Loop thread only.
 */
#ifndef SL_BROKER_PARTITION_H
#define SL_BROKER_PARTITION_H

#include "broker/dur.h"
#include "broker/producer_state.h"
#include "store/plog.h"

#include <stdint.h>

typedef struct topic topic_t;
typedef struct fetchwait fetchwait_t;
struct broker;

/* An aborted transaction: the producer's batches in [first, last] are
 * to be skipped by read_committed consumers (last is the abort marker). */
typedef struct part_aborted {
	int64_t pid;
	int64_t first;
	int64_t last;
} part_aborted_t;

typedef struct part_open_txn {
	int64_t pid;
	int64_t first; /* base offset of its first batch here */
} part_open_txn_t;

typedef struct partition {
	topic_t *topic; /* borrowed back pointer */
	int32_t index;
	plog_t *log;            /* owned */
	pstate_t pstate;        /* idempotent producers */
	dur_t *dur;             /* owned: the partition's durability domain */
	dur_mem_t *mem;         /* the log's membership in dur */
	struct fwlink *waiters; /* fetches waiting for data (fetchwait.c) */
	/* Traffic since start, for /metrics: records and bytes appended,
	 * bytes handed to Fetch responses. */
	uint64_t msgs_in, bytes_in, bytes_out;
	/* Transactions: open ones (few), aborted ones in marker order. */
	part_open_txn_t *topen;
	int ntopen, captopen;
	part_aborted_t *aborted;
	size_t naborted, capaborted;
} partition_t;

/* Result of an append. */
typedef struct part_append {
	int64_t base_offset; /* first offset of the batch (or of the original, for a duplicate) */
	int64_t log_append_time; /* -1 unless LogAppendTime */
	int duplicate;           /* an idempotent retry: nothing was written */
	int pserr;               /* PS_* producer-state verdict when the append was refused */
} part_append_t;

/* Opens (creating) the log of partition `index` of t in dir, with the
 * broker's loop, syncer and log (b borrowed, outlives the partition). */
int partition_open(partition_t **out, topic_t *t, int32_t index, const char *dir,
                   const plog_opts_t *opts, struct broker *b);
/* Finishes replies still held on the partition (SL_ECLOSED), closes. */
void partition_close(partition_t *p);
/* The same, then deletes the partition's directory. Returns 0 or the
 * error of the deletion (files may be left: topics_open sweeps them). */
int partition_destroy(partition_t *p);

/* Appends one RecordBatch v2 (modified in place: BaseOffset, maybe
 * LogAppendTime). Returns 0 (res filled), SL_ESTATE with res->pserr set when
 * producer state refuses the batch, the domain's error while it recovers
 * from a failed sync, or the plog_append error (nothing appended). A
 * duplicate (res->duplicate) is answered with the original's offset: its
 * acknowledgement must wait for the domain like the original's. */
int partition_append(partition_t *p, uint8_t *batch, size_t len, part_append_t *res);

/* Writes a transaction marker (commit or abort) for producer pid at epoch
 * when pid has an open transaction here (*wrote = 1), else nothing.
 * Returns 0, the domain's error while it recovers, or the plog_append
 * error. The epoch fences older producer epochs (pstate_fence). */
int partition_append_marker(partition_t *p, int64_t pid, int16_t epoch, int commit, int *wrote);
/* The last stable offset: the first offset of the oldest open transaction,
 * or the high watermark. */
int64_t partition_lso(const partition_t *p);
/* Whether pid has an open transaction here. */
int partition_txn_open(const partition_t *p, int64_t pid);
/* The first offset of pid's open transaction here, or -1. */
int64_t partition_txn_first(const partition_t *p, int64_t pid);
/* The aborted transactions whose marker is at or after `from`: *out points
 * at the first, the count is returned (in marker order; the caller drops
 * those starting at or after its upper bound). */
size_t partition_aborted_from(const partition_t *p, int64_t from, const part_aborted_t **out);

/* Runs one log-cleaner pass (plog_clean) on the partition: o's settings,
 * with the limit set to the last stable offset and the aborted
 * transactions known here. Returns plog_clean's result. */
int partition_clean(partition_t *p, const plog_clean_opts_t *o, plog_clean_stats_t *st);

#endif
