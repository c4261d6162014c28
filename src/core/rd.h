/*
 * rd.h — bounds-checked reader with a sticky error.
 *
 * Read a whole structure, then check r->err once: after the first overrun or
 * malformed varint every read returns zero/NULL and r->err stays SL_EPROTO.
 * All multi-byte integers are big-endian (network order), as in Kafka.
 * A reader borrows the memory it reads; it owns nothing.
 */
#ifndef SL_CORE_RD_H
#define SL_CORE_RD_H

#include "core/buf.h"
#include "core/err.h"
#include "core/varint.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rd {
	const uint8_t *p;
	const uint8_t *end;
	int err;
} rd_t;

static inline void rd_init(rd_t *r, const void *p, size_t n)
{
	r->p = (const uint8_t *)p;
	r->end = r->p + n;
	r->err = 0;
}

static inline size_t rd_left(const rd_t *r)
{
	return r->err ? 0 : (size_t)(r->end - r->p);
}

static inline void rd_fail(rd_t *r)
{
	r->err = SL_EPROTO;
	r->p = r->end;
}

/* Returns a view of the next n bytes, or NULL (and sets err) if fewer remain. */
static inline const uint8_t *rd_bytes(rd_t *r, size_t n)
{
	if (r->err || (size_t)(r->end - r->p) < n) {
		rd_fail(r);
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	return p;
}

static inline void rd_skip(rd_t *r, size_t n)
{
	(void)rd_bytes(r, n);
}

static inline uint8_t rd_u8(rd_t *r)
{
	const uint8_t *p = rd_bytes(r, 1);
	return p ? p[0] : 0;
}
static inline uint16_t rd_be16(rd_t *r)
{
	const uint8_t *p = rd_bytes(r, 2);
	return p ? be16_load(p) : 0;
}
static inline uint32_t rd_be32(rd_t *r)
{
	const uint8_t *p = rd_bytes(r, 4);
	return p ? be32_load(p) : 0;
}
static inline uint64_t rd_be64(rd_t *r)
{
	const uint8_t *p = rd_bytes(r, 8);
	return p ? be64_load(p) : 0;
}

/* Unsigned LEB128 varint of at most 32 bits (Kafka "unsigned varint"). */
static inline uint32_t rd_uvarint(rd_t *r)
{
	uint64_t v = 0;
	if (r->err)
		return 0;
	int n = varint_dec_u64(r->p, (size_t)(r->end - r->p), 5, &v);
	if (n < 0) {
		rd_fail(r);
		return 0;
	}
	r->p += n;
	return (uint32_t)v;
}

/* Zigzag varlong (64-bit) and varint (32-bit, range-checked). */
static inline int64_t rd_varlong(rd_t *r)
{
	uint64_t v = 0;
	if (r->err)
		return 0;
	int n = varint_dec_u64(r->p, (size_t)(r->end - r->p), 10, &v);
	if (n < 0) {
		rd_fail(r);
		return 0;
	}
	r->p += n;
	return varint_unzigzag(v);
}
static inline int32_t rd_varint(rd_t *r)
{
	uint64_t v = 0;
	if (r->err)
		return 0;
	int n = varint_dec_u64(r->p, (size_t)(r->end - r->p), 5, &v);
	if (n < 0) {
		rd_fail(r);
		return 0;
	}
	r->p += n;
	return (int32_t)varint_unzigzag(v);
}

#endif
