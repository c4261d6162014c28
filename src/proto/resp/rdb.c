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

static void stream_free(rdb_stream_t *st)
{
	if (!st)
		return;
	for (size_t g = 0; g < st->ngroups; g++) {
		rdb_group_t *gr = &st->groups[g];
		for (size_t c = 0; c < gr->ncons; c++) {
			free(gr->cons[c].name);
			free(gr->cons[c].pel);
		}
		free(gr->name);
		free(gr->pel);
		free(gr->cons);
	}
	free(st->groups);
	free(st->ids);
	free(st->npairs);
	free(st);
}

void rdb_val_free(rdb_val_t *v)
{
	stream_free(v->st);
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
	if (n > 0) /* an empty value may come with no pointer */
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
	uint64_t budget; /* bytes LZF strings may still expand to */
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
		if (ulen == 0 || ulen / 88 > clen || ulen > r->budget)
			return -1;
		r->budget -= ulen;
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

static void put_le(buf_t *b, uint64_t v, int n);
void rdb_put_str(buf_t *b, const void *p, size_t n);

/* --- streams ---------------------------------------------------------------------------- */

/* An integer element of a decoded listpack (they come back as text). */
static int item_ll(const rdb_val_t *t, size_t i, int64_t *out)
{
	if (i >= t->n || t->lens[i] == 0 || t->lens[i] > 20)
		return -1;
	char *e;
	long long x = strtoll(t->items[i], &e, 10);
	if (e != t->items[i] + t->lens[i])
		return -1;
	*out = x;
	return 0;
}

static int rd_id16(rd_t *r, rdb_id_t *id)
{
	if (rd_need(r, 16) < 0)
		return -1;
	const uint8_t *p = r->p + r->off;
	id->ms = id->seq = 0;
	for (int i = 0; i < 8; i++) {
		id->ms = (id->ms << 8) | p[i];
		id->seq = (id->seq << 8) | p[8 + i];
	}
	r->off += 16;
	return 0;
}

static int rd_ms(rd_t *r, int64_t *ms)
{
	if (rd_need(r, 8) < 0)
		return -1;
	*ms = (int64_t)le_load(r->p + r->off, 8);
	r->off += 8;
	return 0;
}

static int rd_id(rd_t *r, rdb_id_t *id)
{
	return rd_len(r, &id->ms, NULL) < 0 || rd_len(r, &id->seq, NULL) < 0 ? -1 : 0;
}

static int id_cmp(rdb_id_t a, rdb_id_t b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	return a.seq < b.seq ? -1 : a.seq > b.seq;
}

/* One live entry: its ID and its pairs (copied from the listpack's
 * items: fields at f[0], f[step]..., values likewise). */
static int add_entry_x(rdb_val_t *v, rdb_id_t id, const rdb_val_t *t, const size_t *fi,
                       const size_t *vi, int64_t nf)
{
	rdb_stream_t *st = v->st;
	if (nf < 1 || (id.ms == 0 && id.seq == 0) ||
	    (st->nent && id_cmp(id, st->ids[st->nent - 1]) <= 0))
		return -1; /* entries must go up, from above 0-0 */
	if (st->nent == st->entcap) {
		st->entcap = st->entcap ? st->entcap * 2 : 16;
		st->ids = xrealloc(st->ids, st->entcap * sizeof *st->ids);
		st->npairs = xrealloc(st->npairs, st->entcap * sizeof *st->npairs);
	}
	st->ids[st->nent] = id;
	st->npairs[st->nent++] = (uint32_t)nf;
	for (int64_t k = 0; k < nf; k++) {
		val_add(v, t->items[fi[k]], t->lens[fi[k]]);
		val_add(v, t->items[vi[k]], t->lens[vi[k]]);
	}
	return 0;
}

/* A node: master entry (count, deleted, master fields, 0), then entries
 * (flags, ID deltas, [field count, pairs | values of the master fields],
 * element count). */
static int stream_node(rdb_val_t *v, rdb_id_t master, const rdb_val_t *t)
{
	int64_t nmaster, flags, dms, dseq, nf, x;
	if (item_ll(t, 2, &nmaster) < 0 || nmaster < 0 || (uint64_t)nmaster + 4 > t->n)
		return -1;
	size_t i = 3 + (size_t)nmaster;
	if (item_ll(t, i++, &x) < 0 || x != 0)
		return -1;
	size_t *fi = malloc(t->n * sizeof *fi), *vi = malloc(t->n * sizeof *vi);
	if (!fi || !vi)
		abort();
	int rc = 0;
	while (i < t->n && rc == 0) {
		rc = -1;
		if (item_ll(t, i, &flags) < 0 || item_ll(t, i + 1, &dms) < 0 ||
		    item_ll(t, i + 2, &dseq) < 0)
			break;
		i += 3;
		if (flags & 2) { /* SAMEFIELDS: the master's fields */
			nf = nmaster;
			if ((uint64_t)nf > t->n - i)
				break;
			for (int64_t k = 0; k < nf; k++) {
				fi[k] = 3 + (size_t)k;
				vi[k] = i++;
			}
		} else {
			if (item_ll(t, i++, &nf) < 0 || nf < 0 || (uint64_t)nf > (t->n - i) / 2)
				break;
			for (int64_t k = 0; k < nf; k++) {
				fi[k] = i++;
				vi[k] = i++;
			}
		}
		if (i++ >= t->n) /* the element count */
			break;
		rdb_id_t id = {master.ms + (uint64_t)dms, master.seq + (uint64_t)dseq};
		rc = (flags & 1) ? 0 : add_entry_x(v, id, t, fi, vi, nf);
	}
	free(fi);
	free(vi);
	return rc;
}

static int rd_group(rd_t *r, rdb_group_t *g, int v2)
{
	uint64_t n, x;
	if (rd_str(r, &g->name, &g->nlen) < 0 || rd_id(r, &g->last) < 0)
		return -1;
	g->entries_read = -1;
	if (v2) {
		if (rd_len(r, &x, NULL) < 0)
			return -1;
		g->entries_read = (int64_t)x;
	}
	/* the group's PEL: ID, delivery time, count (25+ bytes each) */
	if (rd_len(r, &n, NULL) < 0 || rd_need(r, n * 25) < 0 || n > r->n)
		return -1;
	g->pel = calloc(n ? n : 1, sizeof *g->pel);
	if (!g->pel)
		abort();
	for (; g->npel < n; g->npel++) {
		rdb_nack_t *k = &g->pel[g->npel];
		if (rd_id16(r, &k->id) < 0 || rd_ms(r, &k->dtime) < 0 ||
		    rd_len(r, &k->count, NULL) < 0)
			return -1;
	}
	if (rd_len(r, &n, NULL) < 0 || rd_need(r, n * 10) < 0 || n > r->n)
		return -1;
	g->cons = calloc(n ? n : 1, sizeof *g->cons);
	if (!g->cons)
		abort();
	while (g->ncons < n) {
		rdb_consumer_t *c = &g->cons[g->ncons];
		uint64_t np;
		if (rd_str(r, &c->name, &c->nlen) < 0)
			return -1;
		g->ncons++; /* from here on freed with the group */
		if (rd_ms(r, &c->seen) < 0 || rd_len(r, &np, NULL) < 0 || rd_need(r, np * 16) < 0 ||
		    np > r->n)
			return -1;
		c->pel = calloc(np ? np : 1, sizeof *c->pel);
		if (!c->pel)
			abort();
		for (; c->npel < np; c->npel++)
			if (rd_id16(r, &c->pel[c->npel]) < 0)
				return -1;
	}
	return 0;
}

static int rd_stream(rd_t *r, rdb_val_t *v, int v2)
{
	uint64_t nodes, x;
	v->kind = 'x';
	v->st = calloc(1, sizeof *v->st);
	if (!v->st)
		abort();
	rdb_stream_t *st = v->st;
	if (rd_len(r, &nodes, NULL) < 0 || rd_need(r, nodes) < 0)
		return -1;
	for (uint64_t i = 0; i < nodes; i++) {
		char *key, *lp;
		size_t klen, lplen;
		if (rd_str(r, &key, &klen) < 0)
			return -1;
		rd_t kr = {(const uint8_t *)key, klen, 0, 0};
		rdb_id_t master;
		int bad = klen != 16 || rd_id16(&kr, &master) < 0;
		free(key);
		if (bad || rd_str(r, &lp, &lplen) < 0)
			return -1;
		rdb_val_t t = {0};
		int rc = listpack_each((const uint8_t *)lp, lplen, &t);
		free(lp);
		if (rc == 0)
			rc = t.n ? stream_node(v, master, &t) : -1; /* no empty nodes */
		rdb_val_free(&t);
		if (rc < 0)
			return -1;
	}
	rdb_id_t first;
	if (rd_len(r, &x, NULL) < 0 || rd_id(r, &st->last) < 0)
		return -1;
	st->entries_added = -1;
	if (v2) {
		if (rd_id(r, &first) < 0 || rd_id(r, &st->maxdel) < 0 || rd_len(r, &x, NULL) < 0)
			return -1;
		st->entries_added = (int64_t)x;
	}
	if (st->nent && id_cmp(st->last, st->ids[st->nent - 1]) < 0)
		return -1;
	uint64_t ng;
	if (rd_len(r, &ng, NULL) < 0 || rd_need(r, ng) < 0)
		return -1;
	st->groups = calloc(ng ? ng : 1, sizeof *st->groups);
	if (!st->groups)
		abort();
	for (; st->ngroups < ng; st->ngroups++)
		if (rd_group(r, &st->groups[st->ngroups], v2) < 0) {
			st->ngroups++; /* freed with the rest */
			return -1;
		}
	return 0;
}

/* --- stream encoding ----------------------------------------------------------------------- */

void rdb_lp_init(rdb_lp_t *lp)
{
	buf_init(&lp->b);
	buf_append(&lp->b, "\0\0\0\0\0\0", 6); /* header, filled by rdb_lp_put */
	lp->n = 0;
}

/* The element's back length: its size in 7-bit groups, most significant
 * first, the continuation bit on all but the first byte. */
static void lp_backlen(buf_t *b, size_t l)
{
	uint8_t t[5];
	int k = l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;
	for (int i = k - 1; i >= 0; i--) {
		t[i] = (uint8_t)((l & 127) | (i == 0 ? 0 : 128));
		l >>= 7;
	}
	buf_append(b, t, (size_t)k);
}

void rdb_lp_int(rdb_lp_t *lp, int64_t v)
{
	uint8_t t[9];
	size_t k;
	if (v >= 0 && v <= 127) {
		t[0] = (uint8_t)v;
		k = 1;
	} else if (v >= -4096 && v <= 4095) {
		uint16_t u = (uint16_t)(v < 0 ? (1 << 13) + v : v);
		t[0] = (uint8_t)(0xc0 | (u >> 8));
		t[1] = (uint8_t)u;
		k = 2;
	} else {
		int w = v >= -32768 && v <= 32767          ? 2
		        : v >= -8388608 && v <= 8388607    ? 3
		        : v >= INT32_MIN && v <= INT32_MAX ? 4
		                                           : 8;
		t[0] = w == 2 ? 0xf1 : w == 3 ? 0xf2 : w == 4 ? 0xf3 : 0xf4;
		for (int i = 0; i < w; i++)
			t[1 + i] = (uint8_t)((uint64_t)v >> (8 * i));
		k = 1 + (size_t)w;
	}
	buf_append(&lp->b, t, k);
	lp_backlen(&lp->b, k);
	lp->n++;
}

void rdb_lp_str(rdb_lp_t *lp, const void *p, size_t n)
{
	uint8_t t[5];
	size_t h;
	if (n < 64) {
		t[0] = (uint8_t)(0x80 | n);
		h = 1;
	} else if (n < 4096) {
		t[0] = (uint8_t)(0xe0 | (n >> 8));
		t[1] = (uint8_t)n;
		h = 2;
	} else {
		t[0] = 0xf0;
		for (int i = 0; i < 4; i++)
			t[1 + i] = (uint8_t)(n >> (8 * i));
		h = 5;
	}
	buf_append(&lp->b, t, h);
	buf_append(&lp->b, p, n);
	lp_backlen(&lp->b, h + n);
	lp->n++;
}

void rdb_lp_put(buf_t *b, rdb_lp_t *lp)
{
	buf_put_u8(&lp->b, 0xff);
	uint8_t *h = buf_data(&lp->b);
	size_t total = buf_len(&lp->b), cnt = lp->n < 65535 ? lp->n : 65535;
	for (int i = 0; i < 4; i++)
		h[i] = (uint8_t)(total >> (8 * i));
	h[4] = (uint8_t)cnt;
	h[5] = (uint8_t)(cnt >> 8);
	rdb_put_str(b, buf_data(&lp->b), total);
	buf_deinit(&lp->b);
}

void rdb_put_id16(buf_t *b, uint64_t ms, uint64_t seq)
{
	buf_put_be64(b, ms);
	buf_put_be64(b, seq);
}

void rdb_put_ms(buf_t *b, int64_t ms)
{
	put_le(b, (uint64_t)ms, 8);
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
	case RDB_TYPE_STREAM_LISTPACKS:
	case RDB_TYPE_STREAM_LISTPACKS_2:
		return rd_stream(r, v, type == RDB_TYPE_STREAM_LISTPACKS_2);
	}
	return -1; /* modules, zipmaps, 7.2's types */
}

int rdb_decode(const uint8_t *p, size_t n, uint64_t max_expand, rdb_val_t *v)
{
	memset(v, 0, sizeof *v);
	if (n < 10)
		return -1;
	/* Redis reads the value from the whole buffer, footer included. */
	rd_t r = {p, n, 1, max_expand};
	if (decode_value(&r, p[0], v) < 0 || (v->n == 0 && v->kind != 'x')) {
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
