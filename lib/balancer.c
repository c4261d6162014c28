/*
 * balancer.c — partition choice for the pusher (see balancer.h).
 *
 * The balancers follow kafka-go's (what go-queue's kq uses):
 *   least-bytes  the partition that was handed the fewest key + value bytes
 *                so far; ties go to the lowest partition; the counters
 *                restart when the partition count changes (LeastBytes);
 *   hash         FNV-1a of the key, |int32(h) % n| (Hash, Sarama's and
 *                librdkafka's fnv1a partitioner agree on this); a null key
 *                goes round-robin;
 *   round-robin  0, 1, …, n-1, 0, … over all partitions;
 *   random       uniform over the partitions;
 *   manual       always the configured partition;
 *   crc16        CRC16/XMODEM(key) % n (the Redis-cluster slot hash, so
 *                any client can compute it); a null key goes round-robin.
 * An empty key is a key (hashed), not a null one, as in kafka-go.
 *
 * Thread-safety: lib_bal_choose is lock-free (it runs once per message,
 * inside librdkafka's produce call): round-robin is one atomic add, random
 * a compare-and-swap on the generator, least-bytes relaxed loads of the
 * per-partition counters and one atomic add. Concurrent pushes may both see
 * the same smallest counter and pick the same partition, which only
 * delays the balance by a message, as kafka-go's own races do. Only a new
 * partition count takes the mutex (to install fresh counters); the hash
 * functions are pure.
 */
#include "balancer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* least-bytes: the bytes handed to each of n partitions. A table replaced
 * after a partition count change stays allocated (linked from its
 * successor) until lib_bal_free, as another thread may still be reading
 * it; counts only grow, so there are few. */
typedef struct lb_table {
	struct lb_table *older;
	int32_t n;
	atomic_uint_fast64_t bytes[];
} lb_table;

struct lib_bal {
	lib_bal_kind kind;
	int32_t manual;
	pthread_mutex_t mu;        /* installs a new lb_table */
	atomic_uint_fast64_t rr;   /* next round-robin position */
	atomic_uint_fast64_t rng;  /* xorshift64* state, never 0 */
	_Atomic(lb_table *) bytes; /* least-bytes; NULL until the first choice */
};

static const char *const KIND_NAMES[] = {
    [LIB_BAL_LEAST_BYTES] = "least-bytes", [LIB_BAL_HASH] = "hash",
    [LIB_BAL_ROUND_ROBIN] = "round-robin", [LIB_BAL_RANDOM] = "random",
    [LIB_BAL_MANUAL] = "manual",           [LIB_BAL_CRC16] = "crc16",
};

int lib_bal_kind_parse(const char *name)
{
	for (size_t i = 0; i < sizeof KIND_NAMES / sizeof KIND_NAMES[0]; i++)
		if (name && strcmp(name, KIND_NAMES[i]) == 0)
			return (int)i;
	return -1;
}

lib_bal *lib_bal_new(lib_bal_kind kind, int32_t manual, uint64_t seed)
{
	lib_bal *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->kind = kind;
	b->manual = manual;
	atomic_init(&b->rr, 0);
	atomic_init(&b->rng, seed ? seed : 0x9E3779B97F4A7C15ull);
	atomic_init(&b->bytes, NULL);
	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void lib_bal_free(lib_bal *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->mu);
	lb_table *t = atomic_load(&b->bytes);
	while (t) {
		lb_table *older = t->older;
		free(t);
		t = older;
	}
	free(b);
}

uint32_t lib_bal_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 0x811C9DC5u;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x01000193u;
	}
	return h;
}

int32_t lib_bal_hash_partition(uint32_t h, int32_t nparts)
{
	/* Go's int32(h) without C's implementation-defined conversion, then
	 * Go's truncating %, then the absolute value (kafka-go balancer.go). */
	int64_t s = h >= 0x80000000u ? (int64_t)h - 0x100000000ll : (int64_t)h;
	int64_t r = s % nparts;
	return (int32_t)(r < 0 ? -r : r);
}

uint16_t lib_bal_crc16(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint16_t crc = 0;
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int bit = 0; bit < 8; bit++)
			crc =
			    (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

static int32_t round_robin(lib_bal *b, int32_t nparts)
{
	return (int32_t)(atomic_fetch_add_explicit(&b->rr, 1, memory_order_relaxed) %
	                 (uint64_t)nparts);
}

static int32_t random_pick(lib_bal *b, int32_t nparts)
{
	uint64_t s = atomic_load_explicit(&b->rng, memory_order_relaxed), x;
	do {
		x = s;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
	} while (!atomic_compare_exchange_weak_explicit(&b->rng, &s, x, memory_order_relaxed,
	                                                memory_order_relaxed));
	uint64_t r = x * 2685821657736338717ull;
	return (int32_t)((r >> 32) % (uint64_t)nparts);
}

/* The counters for nparts partitions, fresh ones when the count changed
 * (kafka-go starts its counters over then); NULL when out of memory. */
static lb_table *lb_counters(lib_bal *b, int32_t nparts)
{
	lb_table *t = atomic_load_explicit(&b->bytes, memory_order_acquire);
	if (t && t->n == nparts)
		return t;
	pthread_mutex_lock(&b->mu);
	t = atomic_load_explicit(&b->bytes, memory_order_acquire);
	if (!t || t->n != nparts) {
		lb_table *n = calloc(1, sizeof *n + (size_t)nparts * sizeof n->bytes[0]);
		if (n) {
			n->n = nparts;
			for (int32_t i = 0; i < nparts; i++)
				atomic_init(&n->bytes[i], 0);
			n->older = t;
			atomic_store_explicit(&b->bytes, n, memory_order_release);
		}
		t = n;
	}
	pthread_mutex_unlock(&b->mu);
	return t;
}

static int32_t least_bytes(lib_bal *b, size_t bytes, int32_t nparts)
{
	lb_table *t = lb_counters(b, nparts);
	if (!t)
		return round_robin(b, nparts); /* still a valid choice */
	int32_t best = 0;
	uint64_t min = atomic_load_explicit(&t->bytes[0], memory_order_relaxed);
	for (int32_t i = 1; i < nparts; i++) {
		uint64_t v = atomic_load_explicit(&t->bytes[i], memory_order_relaxed);
		if (v < min) {
			min = v;
			best = i;
		}
	}
	atomic_fetch_add_explicit(&t->bytes[best], bytes, memory_order_relaxed);
	return best;
}

int32_t lib_bal_choose(lib_bal *b, const void *key, size_t key_len, size_t bytes, int32_t nparts)
{
	if (nparts <= 0)
		return 0;
	switch (b->kind) {
	case LIB_BAL_MANUAL:
		return b->manual;
	case LIB_BAL_HASH:
		if (key)
			return lib_bal_hash_partition(lib_bal_fnv1a(key, key_len), nparts);
		break;
	case LIB_BAL_CRC16:
		if (key)
			return (int32_t)(lib_bal_crc16(key, key_len) % (uint32_t)nparts);
		break;
	default:
		break;
	}
	switch (b->kind) {
	case LIB_BAL_LEAST_BYTES:
		return least_bytes(b, bytes, nparts);
	case LIB_BAL_RANDOM:
		return random_pick(b, nparts);
	default: /* round-robin, and hash / crc16 of a null key */
		return round_robin(b, nparts);
	}
}
