/*
 * varint.h — LEB128 unsigned varints and zigzag signed varints, as used by
 * Kafka record fields (KIP-98) and flexible versions (KIP-482).
 * Pure functions; thread-safe.
 */
#ifndef SL_CORE_VARINT_H
#define SL_CORE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define VARINT_MAX 10

static inline uint64_t varint_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t varint_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Encodes v into out (at least VARINT_MAX bytes); returns the length. */
size_t varint_enc_u64(uint8_t *out, uint64_t v);

/* Decodes an unsigned varint from p[0..n). Returns bytes used, SL_EAGAIN if
 * the input ends inside the varint, or SL_EPROTO if it is longer than
 * max_bytes (5 for a 32-bit value, 10 for 64-bit) or overflows. */
int varint_dec_u64(const uint8_t *p, size_t n, size_t max_bytes, uint64_t *out);

/* Number of bytes varint_enc_u64 would produce. */
size_t varint_len_u64(uint64_t v);

#endif
