/*
 * reply.c — RESP2/RESP3 reply writers (see reply.h). Loop thread only.
 */
#include "proto/resp/reply.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decimal digits of v written backwards ending at end; returns the start.
 * Replies are mostly lengths and IDs: this is the hot path of every read. */
static char *u64_digits(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

static void put_len(buf_t *b, char type, int64_t n)
{
	char tmp[32];
	char *end = tmp + sizeof tmp;
	*--end = '\n';
	*--end = '\r';
	char *p = u64_digits(end, n < 0 ? 0 - (uint64_t)n : (uint64_t)n);
	if (n < 0)
		*--p = '-';
	*--p = type;
	buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

void resp_ok(buf_t *b)
{
	buf_append(b, "+OK\r\n", 5);
}

void resp_simple(buf_t *b, const char *s)
{
	buf_put_u8(b, '+');
	buf_puts(b, s);
	buf_append(b, "\r\n", 2);
}

void resp_error(buf_t *b, const char *text)
{
	size_t n = strlen(text);
	uint8_t *p = buf_reserve(b, n + 3);
	p[0] = '-';
	for (size_t i = 0; i < n; i++)
		p[1 + i] = (text[i] == '\r' || text[i] == '\n') ? ' ' : (uint8_t)text[i];
	p[n + 1] = '\r';
	p[n + 2] = '\n';
	buf_commit(b, n + 3);
}

void resp_errorf(buf_t *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	resp_error(b, tmp);
}

void resp_int(buf_t *b, int64_t v)
{
	put_len(b, ':', v);
}

void resp_bulk(buf_t *b, const void *p, size_t n)
{
	put_len(b, '$', (int64_t)n);
	uint8_t *d = buf_reserve(b, n + 2);
	if (n)
		memcpy(d, p, n);
	d[n] = '\r';
	d[n + 1] = '\n';
	buf_commit(b, n + 2);
}

void resp_bulk_str(buf_t *b, const char *s)
{
	resp_bulk(b, s, strlen(s));
}

void resp_bulk_i64(buf_t *b, int64_t v)
{
	char tmp[24];
	char *end = tmp + sizeof tmp;
	char *p = u64_digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	resp_bulk(b, p, (size_t)(end - p));
}

void resp_bulk_u64(buf_t *b, uint64_t v)
{
	char tmp[24];
	char *end = tmp + sizeof tmp;
	char *p = u64_digits(end, v);
	resp_bulk(b, p, (size_t)(end - p));
}

void resp_array(buf_t *b, size_t n)
{
	put_len(b, '*', (int64_t)n);
}

void resp_null(buf_t *b, int proto)
{
	if (proto >= 3)
		buf_append(b, "_\r\n", 3);
	else
		buf_append(b, "$-1\r\n", 5);
}

void resp_null_array(buf_t *b, int proto)
{
	if (proto >= 3)
		buf_append(b, "_\r\n", 3);
	else
		buf_append(b, "*-1\r\n", 5);
}

void resp_map(buf_t *b, int proto, size_t n)
{
	if (proto >= 3)
		put_len(b, '%', (int64_t)n);
	else
		put_len(b, '*', (int64_t)(2 * n));
}

void resp_set(buf_t *b, int proto, size_t n)
{
	put_len(b, proto >= 3 ? '~' : '*', (int64_t)n);
}

void resp_push(buf_t *b, int proto, size_t n)
{
	put_len(b, proto >= 3 ? '>' : '*', (int64_t)n);
}

void resp_double(buf_t *b, int proto, double d)
{
	char tmp[64];
	int k;
	if (d > -1e17 && d < 1e17 && d == (double)(int64_t)d && !(d == 0 && signbit(d))) {
		/* An integral score (sorted-set scores mostly are): %.17g would
		 * print exactly its digits, and printf's floating-point path
		 * was most of a ZPOPMIN reply's cost. -0 keeps its sign there. */
		int64_t v = (int64_t)d;
		char *end = tmp + sizeof tmp;
		char *p = u64_digits(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
		if (v < 0)
			*--p = '-';
		k = (int)(end - p);
		memmove(tmp, p, (size_t)k);
	} else if (isinf(d)) {
		k = snprintf(tmp, sizeof tmp, "%s", d > 0 ? "inf" : "-inf");
	} else {
		k = snprintf(tmp, sizeof tmp, "%.17g", d);
	}
	if (proto >= 3) {
		buf_put_u8(b, ',');
		buf_append(b, tmp, (size_t)k);
		buf_append(b, "\r\n", 2);
	} else {
		resp_bulk(b, tmp, (size_t)k);
	}
}

void resp_verbatim(buf_t *b, int proto, const void *p, size_t n)
{
	if (proto < 3) {
		resp_bulk(b, p, n);
		return;
	}
	put_len(b, '=', (int64_t)(n + 4));
	buf_append(b, "txt:", 4);
	buf_append(b, p, n);
	buf_append(b, "\r\n", 2);
}

size_t resp_defer(buf_t *b)
{
	return buf_len(b);
}

void resp_defer_set(buf_t *b, size_t mark, char type, size_t n)
{
	char buf[32];
	char *end = buf + sizeof buf;
	*--end = '\n';
	*--end = '\r';
	char *tmp = u64_digits(end, (uint64_t)n);
	*--tmp = type;
	size_t k = (size_t)(buf + sizeof buf - tmp);
	size_t tail = buf_len(b) - mark;
	buf_reserve(b, k);
	uint8_t *at = buf_data(b) + mark;
	memmove(at + k, at, tail);
	memcpy(at, tmp, k);
	buf_commit(b, k);
}

void resp_defer_map(buf_t *b, size_t mark, int proto, size_t n)
{
	if (proto >= 3)
		resp_defer_set(b, mark, '%', n);
	else
		resp_defer_set(b, mark, '*', 2 * n);
}
