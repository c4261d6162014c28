/* buf.c — see buf.h. */
#include "core/buf.h"
#include "core/varint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void buf_deinit(buf_t *b)
{
	free(b->data);
	buf_init(b);
}

uint8_t *buf_reserve(buf_t *b, size_t n)
{
	if (b->cap - b->end >= n)
		return b->data + b->end;
	size_t live = b->end - b->start;
	/* Sliding is cheaper than growing when at least half is consumed. */
	if (b->start > 0 && b->cap - live >= n && b->start >= live) {
		memmove(b->data, b->data + b->start, live);
		b->start = 0;
		b->end = live;
		return b->data + b->end;
	}
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, live);
		b->start = 0;
		b->end = live;
	}
	size_t need = live + n;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			abort();
		cap *= 2;
	}
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		abort();
	b->data = p;
	b->cap = cap;
	return b->data + b->end;
}

void buf_consume(buf_t *b, size_t n)
{
	b->start += n;
	if (b->start >= b->end)
		b->start = b->end = 0;
}

void buf_shrink(buf_t *b, size_t keep_cap)
{
	size_t live = buf_len(b);
	if (b->cap <= keep_cap || live > keep_cap)
		return;
	if (b->start > 0)
		memmove(b->data, b->data + b->start, live);
	b->start = 0;
	b->end = live;
	if (keep_cap == 0 && live == 0) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
		return;
	}
	uint8_t *p = realloc(b->data, keep_cap);
	if (p) {
		b->data = p;
		b->cap = keep_cap;
	}
}

void buf_append(buf_t *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	b->end += n;
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		buf_append(b, small, (size_t)n);
		return;
	}
	uint8_t *p = buf_reserve(b, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->end += (size_t)n;
}

void buf_put_be16(buf_t *b, uint16_t v)
{
	be16_store(buf_reserve(b, 2), v);
	b->end += 2;
}

void buf_put_be32(buf_t *b, uint32_t v)
{
	be32_store(buf_reserve(b, 4), v);
	b->end += 4;
}

void buf_put_be64(buf_t *b, uint64_t v)
{
	be64_store(buf_reserve(b, 8), v);
	b->end += 8;
}

void buf_put_uvarint(buf_t *b, uint64_t v)
{
	b->end += varint_enc_u64(buf_reserve(b, VARINT_MAX), v);
}

void buf_put_varint(buf_t *b, int64_t v)
{
	b->end += varint_enc_u64(buf_reserve(b, VARINT_MAX), varint_zigzag(v));
}
