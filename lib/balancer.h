/*
 * balancer.h — how the pusher picks a partition for a message: the
 * balancers of sluice/pusher.h as pure functions over (key, size,
 * partition count), so they are testable without a broker.
 *
 * A balancer is called from whichever thread librdkafka runs the
 * partitioner on (the pushing thread, or librdkafka's main thread for
 * messages that waited for metadata); its state is atomics, so choosing
 * takes no lock.
 */
#ifndef SL_LIB_BALANCER_H
#define SL_LIB_BALANCER_H

#include <stddef.h>
#include <stdint.h>

typedef enum lib_bal_kind {
	LIB_BAL_LEAST_BYTES,
	LIB_BAL_HASH,
	LIB_BAL_ROUND_ROBIN,
	LIB_BAL_RANDOM,
	LIB_BAL_MANUAL,
	LIB_BAL_CRC16,
} lib_bal_kind;

typedef struct lib_bal lib_bal;

/* The kind named by a conf "balancer" value, or -1 for an unknown name. */
int lib_bal_kind_parse(const char *name);

/* Returns an owned balancer (free with lib_bal_free) or NULL when out of
 * memory. manual is the partition of LIB_BAL_MANUAL; seed starts the
 * random balancer's generator. */
lib_bal *lib_bal_new(lib_bal_kind kind, int32_t manual, uint64_t seed);
void lib_bal_free(lib_bal *b);

/* The partition in [0, nparts) for a message with this key (NULL = null
 * key) whose key and value together are bytes long; nparts >= 1. Only
 * LIB_BAL_MANUAL may return a partition >= nparts (its fixed one). */
int32_t lib_bal_choose(lib_bal *b, const void *key, size_t key_len, size_t bytes, int32_t nparts);

/* FNV-1a, 32 bits (offset basis 0x811C9DC5, prime 0x01000193). */
uint32_t lib_bal_fnv1a(const void *data, size_t len);
/* The partition kafka-go's Hash (and Sarama's hash partitioner and
 * librdkafka's fnv1a partitioner) derive from a FNV-1a hash:
 * |int32(h) % n|, which equals |int32(h)| % n as librdkafka computes it. */
int32_t lib_bal_hash_partition(uint32_t h, int32_t nparts);
/* CRC16/XMODEM (poly 0x1021, init 0, no reflection): Redis cluster's key
 * slot hash. */
uint16_t lib_bal_crc16(const void *data, size_t len);

#endif
