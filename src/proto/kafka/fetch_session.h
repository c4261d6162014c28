/*
 * fetch_session.h — Kafka incremental fetch sessions (KIP-227), the Kafka
 * front's own state (nothing in it is persistent: a restart, like a new
 * connection, makes clients start over with a full fetch).
 *
 * A session remembers the partitions a consumer fetches (topic, index,
 * fetch offset, max bytes) and what the last response told it about each
 * (high watermark, last stable offset, log start), so that an incremental
 * fetch names only the partitions whose fetch position changed and is
 * answered only with the partitions that have something new: records, an
 * error, or a changed watermark/offset.
 *
 * Sessions belong to the connection that created them (another
 * connection's id is FETCH_SESSION_ID_NOT_FOUND) and end with it. The cache
 * holds at most `max.incremental.fetch.session.cache.slots` sessions; when
 * full, a new session evicts, as Kafka's FetchSessionCache, the least
 * recently used session idle for over KFS_EVICT_MS, else the smallest
 * session (least recently used among equals) when the new one has more
 * partitions; otherwise the fetch is answered without a session (SessionId
 * 0) and the client goes on with full fetches. Loop thread only.
 */
#ifndef SL_PROTO_KAFKA_FETCH_SESSION_H
#define SL_PROTO_KAFKA_FETCH_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define KFS_EVICT_MS 120000  /* Kafka's min.incremental.fetch.session.eviction.ms */
#define KFS_MAX_PARTS 100000 /* partitions one session may hold */
/* Partitions all sessions together may hold (about 100 bytes each): a
 * session that would pass it is not created, or ended. */
#define KFS_MAX_TOTAL_PARTS 1000000

typedef struct kfs_part {
	char *topic;
	int32_t partition;
	int64_t offset;    /* the fetch offset last requested */
	int32_t max_bytes; /* PartitionMaxBytes last requested */
	int sent;          /* the values below were sent at least once */
	int64_t hw, lso, log_start;
} kfs_part_t;

typedef struct kfs kfs_t;
typedef struct kfs_cache kfs_cache_t;

kfs_cache_t *kfs_cache_new(int slots);
/* Connections hold a reference (they may close after the front stopped);
 * kfs_cache_unref drops one, the last frees the cache. NULL-safe. */
kfs_cache_t *kfs_cache_ref(kfs_cache_t *c);
void kfs_cache_unref(kfs_cache_t *c);
/* Sessions held now (tests). */
size_t kfs_cache_len(const kfs_cache_t *c);

/* A new session of owner with room for nparts partitions, or NULL when the
 * cache has no slot for it (see eviction above). Its epoch is 1. */
kfs_t *kfs_create(kfs_cache_t *c, const void *owner, int nparts, int64_t now_ms);
/* The session id of owner, or NULL. */
kfs_t *kfs_find(kfs_cache_t *c, int32_t id, const void *owner);
void kfs_remove(kfs_cache_t *c, kfs_t *s);
/* Ends every session of owner (its connection closed). */
void kfs_owner_gone(kfs_cache_t *c, const void *owner);

int32_t kfs_id(const kfs_t *s);
/* The epoch the session's next fetch must carry; kfs_next_epoch moves on
 * (1, 2, ... INT32_MAX, then 1 again, as Kafka). */
int32_t kfs_epoch(const kfs_t *s);
void kfs_next_epoch(kfs_t *s, int64_t now_ms);

/* Adds a partition, or updates its fetch offset and max bytes. Returns
 * the partition, or NULL when the session or the cache is full
 * (KFS_MAX_PARTS, KFS_MAX_TOTAL_PARTS). */
kfs_part_t *kfs_set(kfs_t *s, const char *topic, size_t tlen, int32_t partition, int64_t offset,
                    int32_t max_bytes);
kfs_part_t *kfs_part_find(kfs_t *s, const char *topic, size_t tlen, int32_t partition);
void kfs_forget(kfs_t *s, const char *topic, size_t tlen, int32_t partition);
/* The partitions in fetch order. */
size_t kfs_count(const kfs_t *s);
kfs_part_t *kfs_at(const kfs_t *s, size_t i);
/* Moves p to the end of the fetch order (a partition that returned data
 * waits behind the others next time, so one busy partition cannot starve
 * the rest of a size-limited response). */
void kfs_to_end(kfs_t *s, kfs_part_t *p);

#endif
