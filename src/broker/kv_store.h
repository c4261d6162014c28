/*
 * kv_store.h — durability for Redis lists, string keys and key expiry
 * times: each mutation is appended to a state journal as a logical record
 * and replayed through the list model (list.h) and the owner's sink on
 * start; compaction rewrites the live state.
 *
 * The owner (the RESP keyspace) applies a command to its model first, then
 * logs what it did. Replies that acknowledge a mutation wait on
 * kvs_when_durable() when the policy is `always`. Streams have their own
 * journal (stream_store.h); this one never touches a stream key except for
 * its expiry time. Loop thread only.
 */
#ifndef SL_BROKER_KV_STORE_H
#define SL_BROKER_KV_STORE_H

#include "broker/broker.h"
#include "broker/list.h"

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
	void *arg;
} kvs_sink_t;

/* Opens <data-dir>/resp/keys.journal and replays it into sink. */
int kvs_open(kvs_t **out, broker_t *b, const kvs_sink_t *sink);
void kvs_close(kvs_t *st);
int kvs_sync_required(const kvs_t *st);
void kvs_when_durable(kvs_t *st, void (*fn)(void *arg, int status), void *arg);
/* Compacts when enough of the journal is garbage (between commands). */
void kvs_maintain(kvs_t *st);

/* Mutations, logged after they were applied. `freed` is the payload bytes
 * of values that stopped being live (for garbage accounting). */
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

/* Live payload estimate of one element (what a snapshot costs for it). */
static inline uint64_t kvs_cost(size_t n)
{
	return 4 + (uint64_t)n;
}

#endif
