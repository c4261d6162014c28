/*
 * buf.h — growable byte buffer with a read cursor, plus big-endian writers.
 *
 * Layout: data[0..start) is consumed, data[start..end) is live, data[end..cap)
 * is free. Consuming from the front is O(1); space is reclaimed by sliding
 * the live bytes down when a reserve would otherwise grow the allocation.
 * The server aborts on out-of-memory for its own bookkeeping (STYLE.md):
 * callers check client-chosen sizes against limits *before* reserving.
 * Not thread-safe; a buffer belongs to one owner.
 */
#ifndef SL_CORE_BUF_H
#define SL_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct buf {
	uint8_t *data;
	size_t start;
	size_t end;
	size_t cap;
} buf_t;

#define BUF_INIT              \
	{                     \
		NULL, 0, 0, 0 \
	}

static inline void buf_init(buf_t *b)
{
	b->data = NULL;
	b->start = b->end = b->cap = 0;
}
void buf_deinit(buf_t *b);

/* Live bytes: a view valid until the next call that modifies the buffer. */
static inline uint8_t *buf_data(const buf_t *b)
{
	return b->data + b->start;
}
static inline size_t buf_len(const buf_t *b)
{
	return b->end - b->start;
}

/* Ensures at least n writable bytes after the live data; returns a pointer to
 * them. Aborts on out-of-memory. */
uint8_t *buf_reserve(buf_t *b, size_t n);
/* Marks n bytes written after a buf_reserve(). */
static inline void buf_commit(buf_t *b, size_t n)
{
	b->end += n;
}
/* Drops n bytes from the front (n <= buf_len). */
void buf_consume(buf_t *b, size_t n);
/* Empties the buffer, keeping its allocation. */
static inline void buf_reset(buf_t *b)
{
	b->start = b->end = 0;
}
/* Releases memory beyond what the live data needs once it is mostly idle. */
void buf_shrink(buf_t *b, size_t keep_cap);

void buf_append(buf_t *b, const void *p, size_t n);
static inline void buf_puts(buf_t *b, const char *s)
{
	buf_append(b, s, strlen(s));
}
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void buf_put_u8(buf_t *b, uint8_t v)
{
	*buf_reserve(b, 1) = v, b->end++;
}
void buf_put_be16(buf_t *b, uint16_t v);
void buf_put_be32(buf_t *b, uint32_t v);
void buf_put_be64(buf_t *b, uint64_t v);
/* Unsigned LEB128 varint (Kafka's "unsigned varint"). */
void buf_put_uvarint(buf_t *b, uint64_t v);
/* Zigzag varint / varlong (Kafka record fields). */
void buf_put_varint(buf_t *b, int64_t v);

/* Big-endian stores into raw memory, for patching lengths afterwards. */
static inline void be16_store(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void be64_store(uint8_t *p, uint64_t v)
{
	be32_store(p, (uint32_t)(v >> 32));
	be32_store(p + 4, (uint32_t)v);
}
static inline uint16_t be16_load(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t be32_load(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64_load(const uint8_t *p)
{
	return (uint64_t)be32_load(p) << 32 | be32_load(p + 4);
}

#endif
