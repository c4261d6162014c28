/*
 * fetch_session.c — the incremental fetch session cache; see
 * fetch_session.h. Sessions are keyed by id in one map; a session keeps
 * its partitions in fetch order (an array of pointers) and in a map keyed
 * by partition index and topic name. Loop thread only.
 */
#include "proto/kafka/fetch_session.h"
#include "core/map.h"
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

struct kfs {
	struct kfs_cache *cache;
	int32_t id;
	int32_t epoch;
	const void *owner;
	int64_t last_used_ms;
	kfs_part_t **order;
	size_t n, cap;
	map_t index; /* be32 partition + topic -> kfs_part_t* */
};

struct kfs_cache {
	int refs; /* the front and every open connection (which may outlive it) */
	int slots;
	int32_t next_id;
	size_t parts;   /* partitions held by all sessions (KFS_MAX_TOTAL_PARTS) */
	map_t sessions; /* be32 id -> kfs_t* */
};

kfs_cache_t *kfs_cache_new(int slots)
{
	kfs_cache_t *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->refs = 1;
	c->slots = slots;
	c->next_id = 1;
	map_init(&c->sessions);
	return c;
}

static void session_free(kfs_t *s)
{
	s->cache->parts -= s->n;
	for (size_t i = 0; i < s->n; i++) {
		free(s->order[i]->topic);
		free(s->order[i]);
	}
	free(s->order);
	map_deinit(&s->index);
	free(s);
}

kfs_cache_t *kfs_cache_ref(kfs_cache_t *c)
{
	if (c)
		c->refs++;
	return c;
}

void kfs_cache_unref(kfs_cache_t *c)
{
	if (!c || --c->refs > 0)
		return;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&c->sessions, &it, &k, &kl, &v))
		session_free(v);
	map_deinit(&c->sessions);
	free(c);
}

size_t kfs_cache_len(const kfs_cache_t *c)
{
	return c ? map_len(&c->sessions) : 0;
}

void kfs_remove(kfs_cache_t *c, kfs_t *s)
{
	uint8_t key[4];
	be32_store(key, (uint32_t)s->id);
	map_del(&c->sessions, key, sizeof key);
	session_free(s);
}

/* A full cache: the session to give up for a new one of nparts
 * partitions, or NULL (Kafka's FetchSessionCache.tryEvict without the
 * privileged followers sluice does not have). */
static kfs_t *victim(kfs_cache_t *c, int nparts, int64_t now_ms)
{
	kfs_t *lru = NULL, *small = NULL;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&c->sessions, &it, &k, &kl, &v)) {
		kfs_t *s = v;
		if (!lru || s->last_used_ms < lru->last_used_ms)
			lru = s;
		if (!small || s->n < small->n ||
		    (s->n == small->n && s->last_used_ms < small->last_used_ms))
			small = s;
	}
	if (lru && now_ms - lru->last_used_ms > KFS_EVICT_MS)
		return lru;
	if (small && (size_t)nparts > small->n)
		return small;
	return NULL;
}

kfs_t *kfs_create(kfs_cache_t *c, const void *owner, int nparts, int64_t now_ms)
{
	if (c->slots <= 0 || nparts > KFS_MAX_PARTS)
		return NULL;
	if (map_len(&c->sessions) >= (size_t)c->slots) {
		kfs_t *old = victim(c, nparts, now_ms);
		if (!old)
			return NULL;
		kfs_remove(c, old);
	}
	kfs_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	/* Ids are not secrets (a session answers only its own connection):
	 * a counter, skipping 0 (sessionless) and ids still in use. */
	uint8_t key[4];
	do {
		s->id = c->next_id;
		c->next_id = c->next_id == INT32_MAX ? 1 : c->next_id + 1;
		be32_store(key, (uint32_t)s->id);
	} while (map_get(&c->sessions, key, sizeof key));
	s->cache = c;
	s->epoch = 1;
	s->owner = owner;
	s->last_used_ms = now_ms;
	map_init(&s->index);
	map_put(&c->sessions, key, sizeof key, s);
	return s;
}

kfs_t *kfs_find(kfs_cache_t *c, int32_t id, const void *owner)
{
	uint8_t key[4];
	be32_store(key, (uint32_t)id);
	kfs_t *s = c ? map_get(&c->sessions, key, sizeof key) : NULL;
	return s && s->owner == owner ? s : NULL;
}

void kfs_owner_gone(kfs_cache_t *c, const void *owner)
{
	if (!c)
		return;
	for (;;) {
		kfs_t *mine = NULL;
		size_t it = 0;
		const char *k;
		size_t kl;
		void *v;
		while (!mine && map_next(&c->sessions, &it, &k, &kl, &v))
			if (((kfs_t *)v)->owner == owner)
				mine = v;
		if (!mine)
			return;
		kfs_remove(c, mine);
	}
}

int32_t kfs_id(const kfs_t *s)
{
	return s->id;
}

int32_t kfs_epoch(const kfs_t *s)
{
	return s->epoch;
}

void kfs_next_epoch(kfs_t *s, int64_t now_ms)
{
	s->epoch = s->epoch == INT32_MAX ? 1 : s->epoch + 1;
	s->last_used_ms = now_ms;
}

/* The index key of a partition: be32 index, then the topic. */
static size_t part_key(uint8_t *key, const char *topic, size_t tlen, int32_t partition)
{
	be32_store(key, (uint32_t)partition);
	memcpy(key + 4, topic, tlen);
	return 4 + tlen;
}

static kfs_part_t *lookup(kfs_t *s, const char *topic, size_t tlen, int32_t partition, int remove)
{
	uint8_t small[256];
	uint8_t *key = tlen + 4 <= sizeof small ? small : malloc(tlen + 4);
	if (!key)
		abort();
	size_t kl = part_key(key, topic, tlen, partition);
	kfs_part_t *p = remove ? map_del(&s->index, key, kl) : map_get(&s->index, key, kl);
	if (key != small)
		free(key);
	return p;
}

kfs_part_t *kfs_part_find(kfs_t *s, const char *topic, size_t tlen, int32_t partition)
{
	return lookup(s, topic, tlen, partition, 0);
}

kfs_part_t *kfs_set(kfs_t *s, const char *topic, size_t tlen, int32_t partition, int64_t offset,
                    int32_t max_bytes)
{
	kfs_part_t *p = lookup(s, topic, tlen, partition, 0);
	if (!p) {
		if (s->n >= KFS_MAX_PARTS || s->cache->parts >= KFS_MAX_TOTAL_PARTS)
			return NULL;
		s->cache->parts++;
		p = calloc(1, sizeof *p);
		if (!p)
			abort();
		p->topic = malloc(tlen + 1);
		if (!p->topic)
			abort();
		memcpy(p->topic, topic, tlen);
		p->topic[tlen] = 0;
		p->partition = partition;
		uint8_t *key = malloc(tlen + 4);
		if (!key)
			abort();
		map_put(&s->index, key, part_key(key, topic, tlen, partition), p);
		free(key);
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 8;
			s->order = realloc(s->order, s->cap * sizeof *s->order);
			if (!s->order)
				abort();
		}
		s->order[s->n++] = p;
	}
	p->offset = offset;
	p->max_bytes = max_bytes;
	return p;
}

/* Removes p from the fetch order (it stays allocated). */
static void unlink_order(kfs_t *s, const kfs_part_t *p)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->order[i] == p) {
			memmove(&s->order[i], &s->order[i + 1], (s->n - i - 1) * sizeof *s->order);
			s->n--;
			return;
		}
}

void kfs_forget(kfs_t *s, const char *topic, size_t tlen, int32_t partition)
{
	kfs_part_t *p = lookup(s, topic, tlen, partition, 1);
	if (!p)
		return;
	unlink_order(s, p);
	s->cache->parts--;
	free(p->topic);
	free(p);
}

size_t kfs_count(const kfs_t *s)
{
	return s->n;
}

kfs_part_t *kfs_at(const kfs_t *s, size_t i)
{
	return s->order[i];
}

void kfs_to_end(kfs_t *s, kfs_part_t *p)
{
	unlink_order(s, p);
	s->order[s->n++] = p;
}
