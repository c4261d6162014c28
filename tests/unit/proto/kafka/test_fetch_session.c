/*
 * test_fetch_session.c — the fetch session cache (proto/kafka/
 * fetch_session.h): sessions belong to their owner, partitions keep their
 * order and move to the end on request, epochs wrap to 1, the slot bound
 * evicts an idle session first and then only a smaller one, an owner's
 * sessions go with it, and the cache lives until its last reference.
 */
#include "test.h"

#include "proto/kafka/fetch_session.h"

#include <string.h>

static int owner_a, owner_b, owner_c;

TEST(kafka_fetch_session_partitions_and_epochs)
{
	kfs_cache_t *c = kfs_cache_new(10);
	kfs_t *s = kfs_create(c, &owner_a, 3, 0);
	CHECK(s != NULL);
	CHECK(kfs_id(s) != 0);
	CHECK_EQ(kfs_epoch(s), 1);
	CHECK(kfs_find(c, kfs_id(s), &owner_a) == s);
	CHECK(kfs_find(c, kfs_id(s), &owner_b) == NULL);
	CHECK(kfs_set(s, "t", 1, 0, 5, 100) != NULL);
	CHECK(kfs_set(s, "t", 1, 1, 7, 100) != NULL);
	CHECK(kfs_set(s, "u", 1, 0, 9, 100) != NULL);
	/* An update keeps the order and changes the offset. */
	kfs_part_t *p = kfs_set(s, "t", 1, 0, 6, 200);
	CHECK_EQ(kfs_count(s), 3);
	CHECK(kfs_at(s, 0) == p);
	CHECK_EQ(p->offset, 6);
	CHECK_EQ(p->max_bytes, 200);
	kfs_to_end(s, p);
	CHECK(kfs_at(s, 2) == p);
	CHECK_EQ(kfs_at(s, 0)->partition, 1);
	kfs_forget(s, "t", 1, 1);
	kfs_forget(s, "nope", 4, 1);
	CHECK_EQ(kfs_count(s), 2);
	CHECK(kfs_part_find(s, "t", 1, 1) == NULL);
	CHECK(kfs_part_find(s, "u", 1, 0) != NULL);
	kfs_next_epoch(s, 1);
	CHECK_EQ(kfs_epoch(s), 2);
	kfs_cache_unref(c);
}

TEST(kafka_fetch_session_eviction_and_owners)
{
	kfs_cache_t *c = kfs_cache_new(2);
	kfs_t *a = kfs_create(c, &owner_a, 1, 1000);
	kfs_t *b = kfs_create(c, &owner_b, 5, 2000);
	CHECK(a && b && kfs_id(a) != kfs_id(b));
	/* A session's size is the partitions it holds. */
	CHECK(kfs_set(a, "t", 1, 0, 0, 1) != NULL);
	for (int i = 0; i < 5; i++)
		CHECK(kfs_set(b, "t", 1, i, 0, 1) != NULL);
	int32_t ida = kfs_id(a), idb = kfs_id(b);
	/* Full, nobody idle: a session no bigger than the smallest gets none. */
	CHECK(kfs_create(c, &owner_c, 1, 3000) == NULL);
	CHECK_EQ(kfs_cache_len(c), 2);
	/* A bigger one evicts the smallest (a). */
	kfs_t *cs = kfs_create(c, &owner_c, 2, 3000);
	CHECK(cs != NULL);
	CHECK(kfs_set(cs, "t", 1, 0, 0, 1) && kfs_set(cs, "t", 1, 1, 0, 1));
	CHECK(kfs_find(c, ida, &owner_a) == NULL);
	CHECK(kfs_find(c, idb, &owner_b) == b);
	/* Idle past KFS_EVICT_MS: the least recently used goes, whatever its
	 * size. */
	kfs_next_epoch(cs, 2000 + KFS_EVICT_MS + 10);
	kfs_t *d = kfs_create(c, &owner_a, 1, 2000 + KFS_EVICT_MS + 10);
	CHECK(d != NULL);
	CHECK(kfs_find(c, idb, &owner_b) == NULL);
	/* An owner's sessions end with it (d, the smallest, makes room). */
	int32_t idc = kfs_id(cs);
	CHECK(kfs_create(c, &owner_a, 100, 0) != NULL);
	CHECK_EQ(kfs_cache_len(c), 2);
	kfs_owner_gone(c, &owner_a);
	CHECK_EQ(kfs_cache_len(c), 1);
	CHECK(kfs_find(c, idc, &owner_c) == cs);
	/* Slots 0: no sessions at all; a reference outlives the first free. */
	kfs_cache_t *z = kfs_cache_new(0);
	CHECK(kfs_create(z, &owner_a, 1, 0) == NULL);
	CHECK(kfs_cache_ref(z) == z);
	kfs_cache_unref(z);
	kfs_owner_gone(z, &owner_a); /* still valid: one reference left */
	kfs_cache_unref(z);
	kfs_cache_unref(c);
}
