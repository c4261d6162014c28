/*
 * kv_store.h — durability for Redis lists, string keys and key expiry
 * times: each mutation is appended to a state journal as a logical record
 * and replayed through the list model (list.h) and the owner's sink on
 * start (and again after a storage failure, kvs_replay); compaction
 * rewrites the live state.
 *
 * The owner (the keyspace, keyspace.h) reserves the journal space of a
 * change first (kvs_jrnl + jrnl_reserve, sized with kvs_rec_bytes /
 * kvs_push_bytes), then applies it and logs what it did; a log call that
 * still fails (its journal failed) is reported to the sink's `failed`
 * hook. When and whether replies wait for the journal is the keyspace's
 * durability domain's business (broker/dur.h). Streams have their own
 * journal (stream_store.h); this one never touches a stream key except
 * for its expiry time. Loop thread only.
 */
#ifndef SL_BROKER_KV_STORE_H
#define SL_BROKER_KV_STORE_H

#include "broker/broker.h"
#include "broker/hash.h"
#include "broker/list.h"
#include "broker/set.h"
#include "broker/zset.h"
#include "store/journal.h"

typedef struct kvs kvs_t;

enum { KVS_OTHER = 0, KVS_LIST = 1, KVS_STRING = 2, KVS_HASH = 3, KVS_SET = 4, KVS_ZSET = 5 };

/* The records of many items (kvs_log_items): their numbers in the file. */
enum { KVS_R_HSET = 12, KVS_R_HDEL, KVS_R_SADD, KVS_R_SREM, KVS_R_ZADD, KVS_R_ZREM };

/* The encoding thresholds (Redis's hash-max-listpack-entries/-value,
 * set-max-intset-entries, zset-max-listpack-entries/-value): replay keeps
 * the encodings OBJECT ENCODING reports the way live writes do. */
typedef struct kvs_enc {
	size_t hash_entries, hash_value;
	size_t set_intset;
	size_t zset_entries, zset_value;
} kvs_enc_t;

typedef void (*kvs_each_fn)(void *farg, const char *key, size_t klen, int kind, const void *val,
                            int64_t expire_at_ms);

typedef struct kvs_sink {
	/* The list at key, created empty when create is set; NULL if absent or
	 * of another type. */
	qlist_t *(*list)(void *arg, const char *key, size_t klen, int create);
	/* Sets key to a string (owning v), with an absolute expiry (0: none).
	 * Skips a key of a type this store does not own. */
	void (*set)(void *arg, const char *key, size_t klen, qlv_t *v, int64_t expire_at_ms);
	/* Deletes a list or string key. */
	void (*del)(void *arg, const char *key, size_t klen);
	void (*expire)(void *arg, const char *key, size_t klen, int64_t at_ms);
	void (*rename)(void *arg, const char *src, size_t slen, const char *dst, size_t dlen);
	/* The hash / set / sorted set at key, created empty when create is
	 * set; NULL if absent or of another type. */
	rhash_t *(*hash)(void *arg, const char *key, size_t klen, int create);
	rset_t *(*sset)(void *arg, const char *key, size_t klen, int create);
	zset_t *(*zset)(void *arg, const char *key, size_t klen, int create);
	/* COPY: dst (any type but a stream) becomes a copy of src's value and
	 * expiry; skipped when src is missing or a stream. */
	void (*copy)(void *arg, const char *src, size_t slen, const char *dst, size_t dlen);
	/* Every list, string, hash, set and sorted set, and the expiry of
	 * every other key, for snapshots. */
	void (*each)(void *arg, kvs_each_fn fn, void *farg);
	/* The incremental compaction's scan (map_scan semantics: every key
	 * present from begin to end is visited at least once): scan_next
	 * calls fn for the next key (as `each` would) and returns 1, or 0
	 * when every key was visited. */
	void (*scan_begin)(void *arg);
	int (*scan_next)(void *arg, kvs_each_fn fn, void *farg);
	void (*scan_end)(void *arg);
	/* Calls fn for key as `each` would (for a key of another type too,
	 * with its time or 0) and returns 1, or returns 0 if key is absent. */
	int (*one)(void *arg, const char *key, size_t klen, kvs_each_fn fn, void *farg);
	/* FLUSH: deletes every list and string key and every expiry time. */
	void (*flush)(void *arg);
	/* A log call failed after its space was reserved: the journal itself
	 * failed (write or sync error). */
	void (*failed)(void *arg, int err);
	const kvs_enc_t *enc; /* the owner's, read at each replay */
	void *arg;
} kvs_sink_t;

/* Opens <data-dir>/resp/keys.journal and replays it into sink. */
int kvs_open(kvs_t **out, broker_t *b, const kvs_sink_t *sink);
void kvs_close(kvs_t *st);
/* The journal (to reserve space and register it with the domain). */
jrnl_t *kvs_jrnl(kvs_t *st);
/* Replays the journal again into the sink (after the owner dropped its
 * keys: the rebuild after a storage failure). */
int kvs_replay(kvs_t *st);
/* Compaction, incremental: the first call starts it (the owner calls
 * this when enough of the journal is garbage), kvs_snap_step writes the
 * snapshot a bounded piece at a time, and the call after the scan is done
 * (kvs_snap_ready) commits the new file; in between it does nothing. Only
 * while the keyspace's domain is idle and the model matches the journal.
 * Returns 0 or the error that abandoned the compaction. */
int kvs_maintain(kvs_t *st);
/* Writes snapshot pieces for about budget_ns; returns 1 while the scan
 * has more to do, 2 while the finished snapshot waits for its background
 * sync (call again a little later), 0 when it is ready to commit
 * (kvs_maintain at the next idle moment) or no compaction runs. */
int kvs_snap_step(kvs_t *st, int64_t budget_ns);
int kvs_snapping(const kvs_t *st);
int kvs_snap_ready(const kvs_t *st);

/* Journal bytes (frames included) one record naming a key of klen bytes
 * and carrying at most one more string of vlen bytes takes: what an owner
 * reserves before logging it. */
static inline uint64_t kvs_rec_bytes(size_t klen, size_t vlen)
{
	return jrnl_record_size(4 + klen + 4 + vlen + 16);
}
/* The same for the PUSH record(s) of n values (split past 1 MiB). */
uint64_t kvs_push_bytes(size_t klen, int n, const size_t *lens);

/* Mutations, logged after they were applied (and their space reserved).
 * `freed` is the payload bytes of values that stopped being live (for
 * garbage accounting). */
void kvs_log_push(kvs_t *st, const char *key, size_t klen, int tail, int n, const void *const *vals,
                  const size_t *lens);
void kvs_log_pop(kvs_t *st, const char *key, size_t klen, int tail, uint64_t n, uint64_t freed);
void kvs_log_lset(kvs_t *st, const char *key, size_t klen, uint64_t idx, const void *v, size_t n,
                  uint64_t freed);
void kvs_log_linsert(kvs_t *st, const char *key, size_t klen, uint64_t idx, const void *v,
                     size_t n);
void kvs_log_lrem(kvs_t *st, const char *key, size_t klen, int64_t count, const void *v, size_t n,
                  uint64_t freed);
void kvs_log_ltrim(kvs_t *st, const char *key, size_t klen, int64_t start, int64_t stop,
                   uint64_t freed);
void kvs_log_set(kvs_t *st, const char *key, size_t klen, const void *v, size_t n,
                 int64_t expire_at_ms, uint64_t freed);
void kvs_log_del(kvs_t *st, const char *key, size_t klen, uint64_t freed);
void kvs_log_expire(kvs_t *st, const char *key, size_t klen, int64_t at_ms);
void kvs_log_rename(kvs_t *st, const char *src, size_t slen, const char *dst, size_t dlen,
                    uint64_t freed);
/* Every list and string key and every expiry time are gone (FLUSHDB). */
void kvs_log_flush(kvs_t *st);

/* Journal bytes of the record(s) of one item change (rec a KVS_R_*): n
 * items, each a field and a value (lens[2n]) for HSET, one member
 * (lens[n]) otherwise. */
uint64_t kvs_items_bytes(int rec, size_t klen, size_t n, const size_t *lens);
/* Logs n items of rec: strs/lens as for kvs_items_bytes, scores[n] for
 * ZADD (else NULL); added / freed: the change of the live estimate (the
 * value's `bytes` before and after). */
void kvs_log_items(kvs_t *st, int rec, const char *key, size_t klen, size_t n,
                   const char *const *strs, const size_t *lens, const double *scores,
                   uint64_t added, uint64_t freed);
/* COPY of src to dst; added: the copy's cost; freed: what dst held. */
void kvs_log_copy(kvs_t *st, const char *src, size_t slen, const char *dst, size_t dlen,
                  uint64_t added, uint64_t freed);

/* Live payload estimate of one element (what a snapshot costs for it). */
static inline uint64_t kvs_cost(size_t n)
{
	return 4 + (uint64_t)n;
}

/* What a snapshot costs for a string value of n bytes besides its key's
 * bytes: its whole SET record (the journal's 9-byte frame, the key's
 * length, the expiry time, the value's length and bytes). Counting the
 * record's overhead matters: with only the value counted, a keyspace of
 * small strings looked 40% garbage right after a compaction and compacted
 * again after a few deletions (issue 18: 15 full snapshots while 1 M keys
 * expired). */
static inline uint64_t kvs_str_cost(size_t n)
{
	return 9 + 4 + 8 + kvs_cost(n);
}

#endif
