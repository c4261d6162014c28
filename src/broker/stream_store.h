/*
 * stream_store.h — durability for Redis streams: every mutation of a
 * stream (creation, deletions, trimming, groups, consumers, PEL) is
 * appended to a state journal as a logical record and replayed through the
 * stream model (stream.h) on start (and again after a storage failure,
 * sstore_replay); compaction rewrites the live state. Entries themselves
 * live in one partition log per stream, which this module numbers, names
 * and opens.
 *
 * The owner (the keyspace, keyspace.h) supplies a sink that finds, creates
 * and deletes stream keys and attaches logs during replay, reserves the
 * journal space of a change first (sstore_jrnl + jrnl_reserve, sized with
 * sstore_rec_bytes), then applies it and logs what it did; a log call that
 * still fails (its journal failed) is reported to the sink's `failed`
 * hook. When replies wait is the keyspace's durability domain's business.
 * Loop thread only.
 */
#ifndef SL_BROKER_STREAM_STORE_H
#define SL_BROKER_STREAM_STORE_H

#include "broker/broker.h"
#include "broker/stream.h"
#include "store/journal.h"
#include "store/plog.h"

typedef struct sstore sstore_t;

typedef struct sstore_sink {
	/* Returns the stream at key, creating an empty one when create is
	 * set; NULL if absent (or another type). */
	stream_t *(*get)(void *arg, const char *key, size_t klen, int create);
	/* Deletes the stream at key during replay, its log with it (the
	 * deletion is durable). */
	void (*del)(void *arg, const char *key, size_t klen);
	/* Replay of a CREATE: gives s its log numbered num (the owner's open
	 * one, or sstore_open_log(st, ...)) with stream_attach_log. */
	int (*attach)(void *arg, sstore_t *st, stream_t *s, uint64_t num);
	/* Every stream, for snapshots: calls fn for each. */
	void (*each)(void *arg, void (*fn)(void *farg, const char *key, size_t klen, stream_t *s),
	             void *farg);
	/* FLUSH: deletes every stream (during replay; logs with them). */
	void (*flush)(void *arg);
	/* A log call failed after its space was reserved: the journal itself
	 * failed (write or sync error). */
	void (*failed)(void *arg, int err);
	void *arg;
} sstore_sink_t;

/* Opens <data-dir>/streams/streams.journal and replays it into sink. */
int sstore_open(sstore_t **out, broker_t *b, const sstore_sink_t *sink);
/* Settles the logs no stream refers to (removes those the journal proves
 * deleted or never used, adopts the others: stream_store.c). The owner
 * calls it once every other record of its keyspace is replayed, so that an
 * adopted log never takes a name the keys journal gives another key.
 * Returns 0 or SL_ECORRUPT (strict.recovery refused). */
int sstore_settle(sstore_t *st);
void sstore_close(sstore_t *st);
/* The journal (to reserve space and register it with the domain). */
jrnl_t *sstore_jrnl(sstore_t *st);
/* Replays the journal again into the sink (after the owner dropped its
 * streams: the rebuild after a storage failure). */
int sstore_replay(sstore_t *st);
/* Compacts the journal when enough of it is garbage. Only while the
 * keyspace's domain is idle and no stream has entries pending. Returns 0
 * (compacted or not needed) or the error that abandoned it. */
int sstore_maintain(sstore_t *st);

/* A number for a new stream's log, never handed out before (not even for
 * a log whose CREATE was lost). */
uint64_t sstore_new_num(sstore_t *st);
/* Opens (creating) the partition log numbered num: <data-dir>/streams/<num>/. */
int sstore_open_log(sstore_t *st, uint64_t num, plog_t **out);

/* Journal bytes (frames included) one record naming a key of klen bytes,
 * with strings of strs bytes in all beside it (group, consumer names), at
 * most takes: what an owner reserves before logging it. */
static inline uint64_t sstore_rec_bytes(size_t klen, size_t strs)
{
	return jrnl_record_size(4 + klen + strs + 4 * 2 + 48);
}

/* Mutations, logged after they were applied to the model (and their
 * space reserved). */
/* A new stream key whose log is numbered num (also names the log's
 * directory after the key, for recovery). */
void sstore_log_create(sstore_t *st, const char *key, size_t klen, uint64_t num);
/* Removes log num (closing p) with its key file: the owner's way to
 * delete a stream's log (usable while the store is still opening). */
int sstore_destroy_log(broker_t *b, uint64_t num, plog_t *p);
void sstore_log_del(sstore_t *st, const char *key, size_t klen, sid_t id);
/* Entries were trimmed from the front of s. */
void sstore_log_trim(sstore_t *st, const char *key, size_t klen, const stream_t *s);
/* The key is deleted (its log is the owner's to remove once this record
 * is durable). */
void sstore_log_delkey(sstore_t *st, const char *key, size_t klen);
/* Every stream is deleted (FLUSHDB). */
void sstore_log_flush(sstore_t *st);
/* Inside a unit, before its first entry goes to log num (the entry at
 * pos): written to the file at once (see stream_store.c, Units). */
void sstore_log_unitmark(sstore_t *st, uint64_t num, uint64_t pos);
/* At the end of unit `unit`, before its COMMIT: its entries in log num
 * end at end. */
void sstore_log_unitend(sstore_t *st, uint64_t num, uint64_t end, uint64_t unit);
/* After the open's replay: the first unit whose entries a live stream's
 * log lacks (a power loss kept its COMMIT, not its entries), or 0. */
uint64_t sstore_unit_shortfall(sstore_t *st);
/* jrnl_unit_cut_from on the journal, cutting the logs of what it drops. */
int sstore_unit_cut_from(sstore_t *st, uint64_t unit);
/* jrnl_unit_cut_after on the journal, cutting the logs of what it drops:
 * 1 when it cut (the owner rebuilds), 0, or an error. */
int sstore_unit_cut_after(sstore_t *st, uint64_t limit, int keep);
/* How many logs were cut back for dropped units (at the open, or by
 * sstore_unit_cut_after): the model must be rebuilt from the files. */
uint64_t sstore_unit_cuts(const sstore_t *st);
void sstore_log_meta(sstore_t *st, const char *key, size_t klen, const stream_t *s);
/* A group was created or its last ID / read counter changed. */
void sstore_log_group(sstore_t *st, const char *key, size_t klen, const sgroup_t *g);
void sstore_log_group_del(sstore_t *st, const char *key, size_t klen, const sgroup_t *g);
void sstore_log_consumer(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
                         const sconsumer_t *c);
void sstore_log_consumer_del(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
                             const sconsumer_t *c);
/* A nack was created or changed (delivery, claim). */
void sstore_log_nack(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
                     const snack_t *n);
void sstore_log_ack(sstore_t *st, const char *key, size_t klen, const sgroup_t *g, sid_t id);

#endif
