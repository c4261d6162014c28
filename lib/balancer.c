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
 * Thread-safety: lib_bal_choose locks the balancer's mutex; the hash
 * functions are pure.
 */
#include "balancer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct lib_bal {
	lib_bal_kind kind;
	int32_t manual;
	pthread_mutex_t mu;
	uint64_t rr;     /* next round-robin position */
	uint64_t rng;    /* xorshift64* state, never 0 */
	uint64_t *bytes; /* least-bytes: bytes handed to each partition */
	int32_t nbytes;  /* entries of bytes */
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
	b->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void lib_bal_free(lib_bal *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b->bytes);
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

/* The callers hold b->mu. */
static int32_t round_robin(lib_bal *b, int32_t nparts)
{
	return (int32_t)(b->rr++ % (uint64_t)nparts);
}

static int32_t random_pick(lib_bal *b, int32_t nparts)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	uint64_t r = b->rng * 2685821657736338717ull;
	return (int32_t)((r >> 32) % (uint64_t)nparts);
}

static int32_t least_bytes(lib_bal *b, size_t bytes, int32_t nparts)
{
	if (b->nbytes != nparts) {
		/* kafka-go starts its counters over when the partitions change. */
		uint64_t *n = calloc((size_t)nparts, sizeof *n);
		if (!n)
			return round_robin(b, nparts); /* still a valid choice */
		free(b->bytes);
		b->bytes = n;
		b->nbytes = nparts;
	}
	int32_t best = 0;
	for (int32_t i = 1; i < nparts; i++)
		if (b->bytes[i] < b->bytes[best])
			best = i;
	b->bytes[best] += bytes;
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
	pthread_mutex_lock(&b->mu);
	int32_t part;
	switch (b->kind) {
	case LIB_BAL_LEAST_BYTES:
		part = least_bytes(b, bytes, nparts);
		break;
	case LIB_BAL_RANDOM:
		part = random_pick(b, nparts);
		break;
	default: /* round-robin, and hash / crc16 of a null key */
		part = round_robin(b, nparts);
		break;
	}
	pthread_mutex_unlock(&b->mu);
	return part;
}
