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
#include "broker/list.h"
#include "store/journal.h"

typedef struct kvs kvs_t;

enum { KVS_OTHER = 0, KVS_LIST = 1, KVS_STRING = 2 };

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
	/* Every list and string, and the expiry of every other key, for
	 * snapshots. */
	void (*each)(void *arg, kvs_each_fn fn, void *farg);
	/* FLUSH: deletes every list and string key and every expiry time. */
	void (*flush)(void *arg);
	/* A log call failed after its space was reserved: the journal itself
	 * failed (write or sync error). */
	void (*failed)(void *arg, int err);
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
/* Compacts when enough of the journal is garbage. Only while the
 * keyspace's domain is idle and the model matches the journal. Returns 0
 * (compacted or not needed) or the error that abandoned it. */
int kvs_maintain(kvs_t *st);

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

/* Live payload estimate of one element (what a snapshot costs for it). */
static inline uint64_t kvs_cost(size_t n)
{
	return 4 + (uint64_t)n;
}

#endif
