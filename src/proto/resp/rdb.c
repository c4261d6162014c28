/*
 * rdb.c — the DUMP / RESTORE payload codec (see rdb.h): RDB lengths and
 * strings (integer and LZF encodings), and the compact containers Redis
 * nests inside strings: ziplists, listpacks, intsets.
 *
 * Every read goes through the reader's bounds: a length is accepted only
 * when the bytes it announces are there (a collection of n elements needs
 * at least n bytes), and an LZF string only when its compressed bytes can
 * expand to the length it claims (at most 88 bytes out per 3 in), so what
 * a payload makes us allocate stays proportional to its size.
 */
#include "proto/resp/rdb.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- CRC64 ------------------------------------------------------------------------ */

/* The Jones polynomial 0xad93d23594c935a9, bit-reflected. */
#define CRC64_POLY_R 0x95ac9329ac4bc9b5ULL

uint64_t rdb_crc64(uint64_t crc, const uint8_t *p, size_t n)
{
	uint64_t tab[256];
	for (int i = 0; i < 256; i++) {
		uint64_t c = (uint64_t)i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC64_POLY_R : c >> 1;
		tab[i] = c;
	}
	for (size_t i = 0; i < n; i++)
		crc = tab[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return crc;
}

static uint64_t le_load(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* The signed value of an n-byte little-endian integer. */
static int64_t le_signed(const uint8_t *p, int n)
{
	uint64_t v = le_load(p, n);
	if (n < 8 && (v >> (8 * n - 1)) & 1)
		v |= ~0ULL << (8 * n);
	return (int64_t)v;
}

int rdb_verify(const uint8_t *p, size_t n)
{
	if (n < 10)
		return -1;
	const uint8_t *f = p + n - 10;
	if (le_load(f, 2) > RDB_VERSION)
		return -1;
	return rdb_crc64(0, p, n - 8) == le_load(f + 2, 8) ? 0 : -1;
}

/* --- values -------------------------------------------------------------------------- */

void rdb_val_free(rdb_val_t *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	free(v->lens);
	free(v->scores);
	memset(v, 0, sizeof *v);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* Takes ownership of s (NUL-terminated, n bytes). */
static void val_take(rdb_val_t *v, char *s, size_t n)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->items = xrealloc(v->items, v->cap * sizeof *v->items);
		v->lens = xrealloc(v->lens, v->cap * sizeof *v->lens);
	}
	v->items[v->n] = s;
	v->lens[v->n++] = n;
}

static void val_add(rdb_val_t *v, const void *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	val_take(v, s, n);
}

static void val_add_int(rdb_val_t *v, int64_t x)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%lld", (long long)x);
	val_add(v, t, (size_t)n);
}

/* --- the reader ------------------------------------------------------------------------ */

typedef struct {
	const uint8_t *p;
	size_t n, off;
} rd_t;

static int rd_need(const rd_t *r, uint64_t k)
{
	return k <= r->n - r->off ? 0 : -1;
}

static int rd_u8(rd_t *r, uint8_t *b)
{
	if (rd_need(r, 1) < 0)
		return -1;
	*b = r->p[r->off++];
	return 0;
}

enum { ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF };

/* rdbLoadLen: *enc set (and *len the encoding) for the 11xxxxxx forms. */
static int rd_len(rd_t *r, uint64_t *len, int *enc)
{
	uint8_t b;
	if (enc)
		*enc = 0;
	if (rd_u8(r, &b) < 0)
		return -1;
	switch (b >> 6) {
	case 0:
		*len = b & 0x3f;
		return 0;
	case 1: {
		uint8_t c;
		if (rd_u8(r, &c) < 0)
			return -1;
		*len = ((uint64_t)(b & 0x3f) << 8) | c;
		return 0;
	}
	case 2: {
		int k = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
		if (!k || rd_need(r, (uint64_t)k) < 0)
			return -1;
		uint64_t v = 0;
		for (int i = 0; i < k; i++)
			v = (v << 8) | r->p[r->off + (size_t)i];
		r->off += (size_t)k;
		*len = v;
		return 0;
	}
	default:
		if (!enc)
			return -1;
		*enc = 1;
		*len = b & 0x3f;
		return 0;
	}
}

/* LZF: literal runs (ctrl < 32: ctrl + 1 bytes) and back references
 * (length ctrl >> 5, plus a byte when 7, plus 2; offset from the low
 * bits and the next byte, plus 1). Output must be exactly ulen bytes. */
static int lzf_expand(const uint8_t *in, size_t clen, uint8_t *out, size_t ulen)
{
	size_t i = 0, o = 0;
	while (i < clen) {
		unsigned ctrl = in[i++];
		if (ctrl < 32) {
			size_t k = ctrl + 1;
			if (k > clen - i || k > ulen - o)
				return -1;
			memcpy(out + o, in + i, k);
			i += k;
			o += k;
			continue;
		}
		size_t k = ctrl >> 5;
		if (k == 7) {
			if (i >= clen)
				return -1;
			k += in[i++];
		}
		if (i >= clen)
			return -1;
		size_t back = ((size_t)(ctrl & 0x1f) << 8) + in[i++] + 1;
		k += 2;
		if (back > o || k > ulen - o)
			return -1;
		for (size_t j = 0; j < k; j++, o++) /* may overlap: byte by byte */
			out[o] = out[o - back];
	}
	return o == ulen ? 0 : -1;
}

/* rdbGenericLoadStringObject: an owned, NUL-terminated copy. */
static int rd_str(rd_t *r, char **out, size_t *outlen)
{
	uint64_t len;
	int enc;
	if (rd_len(r, &len, &enc) < 0)
		return -1;
	if (enc) {
		static const int width[] = {1, 2, 4};
		if (len <= ENC_INT32) {
			int w = width[len];
			if (rd_need(r, (uint64_t)w) < 0)
				return -1;
			char t[24];
			int n =
			    snprintf(t, sizeof t, "%lld", (long long)le_signed(r->p + r->off, w));
			r->off += (size_t)w;
			*out = strdup(t);
			if (!*out)
				abort();
			*outlen = (size_t)n;
			return 0;
		}
		if (len != ENC_LZF)
			return -1;
		uint64_t clen, ulen;
		if (rd_len(r, &clen, NULL) < 0 || rd_len(r, &ulen, NULL) < 0 ||
		    rd_need(r, clen) < 0)
			return -1;
		if (ulen == 0 || ulen / 88 > clen)
			return -1;
		uint8_t *d = malloc(ulen + 1);
		if (!d)
			abort();
		if (lzf_expand(r->p + r->off, clen, d, ulen) < 0) {
			free(d);
			return -1;
		}
		d[ulen] = 0;
		r->off += clen;
		*out = (char *)d;
		*outlen = ulen;
		return 0;
	}
	if (rd_need(r, len) < 0)
		return -1;
	char *s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, r->p + r->off, len);
	s[len] = 0;
	r->off += len;
	*out = s;
	*outlen = len;
	return 0;
}

/* A collection's count: each element takes at least a byte. */
static int rd_count(rd_t *r, uint64_t *n)
{
	if (rd_len(r, n, NULL) < 0 || rd_need(r, *n) < 0 || *n == 0)
		return -1;
	return 0;
}

/* --- nested containers ------------------------------------------------------------------- */

/* A listpack's or ziplist's frame: its first 4 bytes give its size, a
 * header of hdr bytes, 0xFF at the end. */
static int frame_ok(const uint8_t *p, size_t n, size_t hdr)
{
	return n > hdr && le_load(p, 4) == n && p[n - 1] == 0xff;
}

/* One entry's value: the string, or the integer as text. */
static void add_entry(rdb_val_t *v, int is_str, const uint8_t *s, size_t slen, int64_t x)
{
	if (is_str)
		val_add(v, s, slen);
	else
		val_add_int(v, x);
}

/* Listpack: 6-byte header (total bytes, count), entries (encoding, data,
 * back length), 0xFF. */
static int listpack_each(const uint8_t *p, size_t n, rdb_val_t *v)
{
	if (!frame_ok(p, n, 6))
		return -1;
	size_t i = 6, end = n - 1;
	while (i < end) {
		uint8_t b = p[i];
		size_t hdr = 1, slen = 0, ilen = 0, enc;
		int64_t x = 0;
		int is_str = 0;
		if (!(b & 0x80)) {
			x = b & 0x7f;
		} else if ((b & 0xc0) == 0x80) {
			is_str = 1;
			slen = b & 0x3f;
		} else if ((b & 0xe0) == 0xc0) {
			if (end - i < 2)
				return -1;
			x = ((int64_t)(b & 0x1f) << 8) | p[i + 1];
			if (x >= 1 << 12)
				x -= 1 << 13;
			hdr = 2;
		} else if ((b & 0xf0) == 0xe0) {
			if (end - i < 2)
				return -1;
			is_str = 1;
			slen = ((size_t)(b & 0x0f) << 8) | p[i + 1];
			hdr = 2;
		} else if (b == 0xf0) {
			if (end - i < 5)
				return -1;
			is_str = 1;
			slen = (size_t)le_load(p + i + 1, 4);
			hdr = 5;
		} else if (b >= 0xf1 && b <= 0xf4) {
			static const size_t w[] = {2, 3, 4, 8};
			ilen = w[b - 0xf1];
			if (end - i < 1 + ilen)
				return -1;
			x = le_signed(p + i + 1, (int)ilen);
		} else {
			return -1;
		}
		enc = hdr + slen + ilen;
		size_t back = enc <= 127        ? 1
		              : enc < 16383     ? 2
		              : enc < 2097151   ? 3
		              : enc < 268435455 ? 4
		                                : 5;
		if (enc > end - i || back > end - i - enc)
			return -1;
		add_entry(v, is_str, p + i + hdr, slen, x);
		i += enc + back;
	}
	return 0;
}

/* Ziplist: 10-byte header (bytes, tail offset, count), entries (previous
 * length, encoding, data), 0xFF. */
static int ziplist_each(const uint8_t *p, size_t n, rdb_val_t *v)
{
	if (!frame_ok(p, n, 10))
		return -1;
	size_t i = 10, end = n - 1;
	while (i < end) {
		size_t prev = p[i] < 254 ? 1 : 5;
		if (prev >= end - i)
			return -1;
		i += prev;
		uint8_t b = p[i];
		size_t hdr = 1, slen = 0, ilen = 0;
		int64_t x = 0;
		int is_str = 1;
		switch (b >> 6) {
		case 0:
			slen = b & 0x3f;
			break;
		case 1:
			if (end - i < 2)
				return -1;
			slen = ((size_t)(b & 0x3f) << 8) | p[i + 1];
			hdr = 2;
			break;
		case 2:
			if (end - i < 5)
				return -1;
			slen = ((size_t)p[i + 1] << 24) | ((size_t)p[i + 2] << 16) |
			       ((size_t)p[i + 3] << 8) | p[i + 4];
			hdr = 5;
			break;
		default:
			is_str = 0;
			if (b == 0xc0)
				ilen = 2;
			else if (b == 0xd0)
				ilen = 4;
			else if (b == 0xe0)
				ilen = 8;
			else if (b == 0xf0)
				ilen = 3;
			else if (b == 0xfe)
				ilen = 1;
			else if (b >= 0xf1 && b <= 0xfd)
				x = (b & 0x0f) - 1;
			else
				return -1;
		}
		if (hdr + slen + ilen > end - i)
			return -1;
		if (ilen)
			x = le_signed(p + i + 1, (int)ilen);
		add_entry(v, is_str, p + i + hdr, slen, x);
		i += hdr + slen + ilen;
	}
	return 0;
}

static int intset_each(const uint8_t *p, size_t n, rdb_val_t *v)
{
	if (n < 8)
		return -1;
	uint64_t w = le_load(p, 4), len = le_load(p + 4, 4);
	if ((w != 2 && w != 4 && w != 8) || len * w != n - 8)
		return -1;
	for (uint64_t i = 0; i < len; i++)
		val_add_int(v, le_signed(p + 8 + i * w, (int)w));
	return 0;
}

/* A string holding a container, decoded by each into v. */
static int rd_nested(rd_t *r, int (*each)(const uint8_t *, size_t, rdb_val_t *), rdb_val_t *v)
{
	char *s;
	size_t n;
	if (rd_str(r, &s, &n) < 0)
		return -1;
	int rc = each((const uint8_t *)s, n, v);
	free(s);
	return rc;
}

/* --- sorted sets ----------------------------------------------------------------------- */

static int add_score(rdb_val_t *v, double d)
{
	if (isnan(d))
		return -1; /* 7.0: "Zset with NAN score detected" */
	v->scores = xrealloc(v->scores, v->cap * sizeof *v->scores);
	v->scores[v->n - 1] = d;
	return 0;
}

/* Member/score pairs decoded as strings (ziplist, listpack): the scores
 * become numbers. */
static int pairs_to_zset(rdb_val_t *v)
{
	if (v->n % 2)
		return -1;
	rdb_val_t z = {.kind = 'z'};
	int rc = 0;
	for (size_t i = 0; i < v->n && rc == 0; i += 2) {
		char *end;
		double d = strtod(v->items[i + 1], &end);
		if (end != v->items[i + 1] + v->lens[i + 1] || v->lens[i + 1] == 0) {
			rc = -1;
			break;
		}
		val_take(&z, v->items[i], v->lens[i]);
		v->items[i] = NULL;
		rc = add_score(&z, d);
	}
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	free(v->lens);
	*v = z;
	return rc;
}

/* ZSET's score: a length byte (253 NaN, 254 +inf, 255 -inf) and text. */
static int rd_text_double(rd_t *r, double *d)
{
	uint8_t len;
	if (rd_u8(r, &len) < 0)
		return -1;
	if (len == 253 || len == 254 || len == 255) {
		*d = len == 253 ? NAN : len == 254 ? INFINITY : -INFINITY;
		return 0;
	}
	if (rd_need(r, len) < 0)
		return -1;
	char t[256];
	memcpy(t, r->p + r->off, len);
	t[len] = 0;
	r->off += len;
	char *end;
	*d = strtod(t, &end);
	return end == t + len && len ? 0 : -1;
}

/* --- decoding ------------------------------------------------------------------------- */

/* count strings (per element: `per` of them) into v. */
static int rd_strings(rd_t *r, rdb_val_t *v, int per, int zset2, int zset1)
{
	uint64_t n;
	if (rd_count(r, &n) < 0)
		return -1;
	for (uint64_t i = 0; i < n; i++) {
		for (int k = 0; k < per; k++) {
			char *s;
			size_t len;
			if (rd_str(r, &s, &len) < 0)
				return -1;
			val_take(v, s, len);
		}
		double d;
		if (zset2) {
			if (rd_need(r, 8) < 0)
				return -1;
			uint64_t bits = le_load(r->p + r->off, 8);
			memcpy(&d, &bits, sizeof d);
			r->off += 8;
		} else if (zset1 && rd_text_double(r, &d) < 0) {
			return -1;
		}
		if ((zset1 || zset2) && add_score(v, d) < 0)
			return -1;
	}
	return 0;
}

static int rd_quicklist(rd_t *r, rdb_val_t *v, int version)
{
	uint64_t nodes;
	if (rd_count(r, &nodes) < 0)
		return -1;
	for (uint64_t i = 0; i < nodes; i++) {
		uint64_t container = 2;
		if (version == 2 &&
		    (rd_len(r, &container, NULL) < 0 || container < 1 || container > 2))
			return -1;
		if (container == 1) { /* PLAIN: one element as it is */
			char *s;
			size_t n;
			if (rd_str(r, &s, &n) < 0)
				return -1;
			val_take(v, s, n);
		} else if (rd_nested(r, version == 2 ? listpack_each : ziplist_each, v) < 0) {
			return -1;
		}
	}
	return 0;
}

static int decode_value(rd_t *r, int type, rdb_val_t *v)
{
	switch (type) {
	case RDB_TYPE_STRING: {
		char *s;
		size_t n;
		v->kind = 's';
		if (rd_str(r, &s, &n) < 0)
			return -1;
		val_take(v, s, n);
		return 0;
	}
	case RDB_TYPE_LIST:
		v->kind = 'l';
		return rd_strings(r, v, 1, 0, 0);
	case RDB_TYPE_LIST_ZIPLIST:
		v->kind = 'l';
		return rd_nested(r, ziplist_each, v);
	case RDB_TYPE_LIST_QUICKLIST:
	case RDB_TYPE_LIST_QUICKLIST_2:
		v->kind = 'l';
		return rd_quicklist(r, v, type == RDB_TYPE_LIST_QUICKLIST_2 ? 2 : 1);
	case RDB_TYPE_SET:
		v->kind = 'S';
		return rd_strings(r, v, 1, 0, 0);
	case RDB_TYPE_SET_INTSET:
		v->kind = 'S';
		return rd_nested(r, intset_each, v);
	case RDB_TYPE_ZSET:
	case RDB_TYPE_ZSET_2:
		v->kind = 'z';
		return rd_strings(r, v, 1, type == RDB_TYPE_ZSET_2, type == RDB_TYPE_ZSET);
	case RDB_TYPE_ZSET_ZIPLIST:
	case RDB_TYPE_ZSET_LISTPACK:
		if (rd_nested(r, type == RDB_TYPE_ZSET_LISTPACK ? listpack_each : ziplist_each, v) <
		    0)
			return -1;
		return pairs_to_zset(v);
	case RDB_TYPE_HASH:
		v->kind = 'h';
		return rd_strings(r, v, 2, 0, 0);
	case RDB_TYPE_HASH_ZIPLIST:
	case RDB_TYPE_HASH_LISTPACK:
		v->kind = 'h';
		if (rd_nested(r, type == RDB_TYPE_HASH_LISTPACK ? listpack_each : ziplist_each, v) <
		    0)
			return -1;
		return v->n % 2 ? -1 : 0;
	}
	return -1; /* streams, modules, zipmaps */
}

int rdb_decode(const uint8_t *p, size_t n, rdb_val_t *v)
{
	memset(v, 0, sizeof *v);
	if (n < 10)
		return -1;
	/* Redis reads the value from the whole buffer, footer included. */
	rd_t r = {p, n, 1};
	if (decode_value(&r, p[0], v) < 0 || v->n == 0) {
		rdb_val_free(v);
		return -1;
	}
	return 0;
}

/* --- encoding ----------------------------------------------------------------------------- */

void rdb_put_type(buf_t *b, int type)
{
	buf_put_u8(b, (uint8_t)type);
}

void rdb_put_len(buf_t *b, uint64_t len)
{
	if (len < 64) {
		buf_put_u8(b, (uint8_t)len);
	} else if (len < 16384) {
		buf_put_u8(b, (uint8_t)(0x40 | (len >> 8)));
		buf_put_u8(b, (uint8_t)len);
	} else if (len <= UINT32_MAX) {
		buf_put_u8(b, 0x80);
		buf_put_be32(b, (uint32_t)len);
	} else {
		buf_put_u8(b, 0x81);
		buf_put_be64(b, len);
	}
}

void rdb_put_str(buf_t *b, const void *p, size_t n)
{
	rdb_put_len(b, n);
	buf_append(b, p, n);
}

static void put_le(buf_t *b, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		buf_put_u8(b, (uint8_t)(v >> (8 * i)));
}

void rdb_put_double(buf_t *b, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	put_le(b, bits, 8);
}

void rdb_finish(buf_t *b)
{
	put_le(b, RDB_VERSION, 2);
	put_le(b, rdb_crc64(0, buf_data(b), buf_len(b)), 8);
}
