/*
 * c_string_ext.c — the rest of Redis 7.0's string commands: INCRBYFLOAT,
 * GETRANGE (and SUBSTR), SETRANGE, MSETNX, SETBIT, GETBIT, BITCOUNT,
 * BITPOS, BITOP, LCS.
 *
 * Checks come in Redis's order (t_string.c, bitops.c), so the same wrong
 * request gets the same first error. Bits are numbered from the most
 * significant bit of byte 0; BIT/BYTE ranges and their edge masks follow
 * bitops.c. LCS backtracks through the same table in the same direction
 * as Redis (ties go to the second string), so IDX ranges match. The
 * writes are keyspace calls (broker/keyspace.h) that journal the whole
 * resulting value. Loop thread only.
 */
#include "proto/resp/c_types.h"

#include "broker/num.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>

/* The string at key for a read: *s NULL when absent; -1 after WRONGTYPE. */
static int get_str(resp_cli_t *cl, const resp_arg_t *key, const qlv_t **s)
{
	ks_obj_t *o = ks_find(cl->srv->ks, key->p, key->len);
	*s = NULL;
	if (o && o->type != KS_STRING) {
		resp_err_wrongtype(cl);
		return -1;
	}
	*s = o ? o->ptr : NULL;
	return 0;
}

RESP_HANDLER(resp_c_incrbyfloat)
{
	(void)argc;
	const qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	long double cur, by;
	if (v && num_str2ld(v->p, v->len, &cur) < 0) {
		resp_error(cl->out, "ERR value is not a valid float");
		return 0;
	}
	if (resp_arg_ldouble(cl, &argv[2], &by, NULL) < 0)
		return 0;
	char out[NUM_LD_CHARS];
	size_t n;
	int rc = ks_incrbyfloat(cl->srv->ks, argv[1].p, argv[1].len, by, out, &n);
	if (rc == SL_EINVAL)
		resp_error(cl->out, "ERR value is not a valid float");
	else if (rc == SL_ERANGE)
		resp_error(cl->out, "ERR increment would produce NaN or Infinity");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_bulk(cl->out, out, n);
	return 0;
}

RESP_HANDLER(resp_c_getrange)
{
	(void)argc;
	int64_t start, end;
	if (resp_arg_ll_or_reply(cl, &argv[2], &start) < 0 ||
	    resp_arg_ll_or_reply(cl, &argv[3], &end) < 0)
		return 0;
	const qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	int64_t len = v ? (int64_t)v->len : 0;
	if (!v || (start < 0 && end < 0 && start > end)) {
		resp_bulk(cl->out, "", 0);
		return 0;
	}
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0)
		resp_bulk(cl->out, "", 0);
	else
		resp_bulk(cl->out, v->p + start, (size_t)(end - start + 1));
	return 0;
}

RESP_HANDLER(resp_c_setrange)
{
	(void)argc;
	int64_t off;
	if (resp_arg_range(cl, &argv[2], INT64_MIN, INT64_MAX, &off, NULL) < 0)
		return 0;
	if (off < 0) {
		resp_error(cl->out, "ERR offset is out of range");
		return 0;
	}
	int64_t len;
	int rc = ks_setrange(cl->srv->ks, argv[1].p, argv[1].len, (size_t)off, argv[3].p,
	                     argv[3].len, (size_t)cl->srv->cfg->proto_max_bulk_len, &len);
	if (rc == SL_ETOOBIG)
		resp_error(cl->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, len);
	return 0;
}

RESP_HANDLER(resp_c_msetnx)
{
	if (argc % 2 == 0) {
		resp_err_arity(cl, "msetnx");
		return 0;
	}
	int n = (argc - 1) / 2;
	const char **k = malloc((size_t)n * sizeof *k), **v = malloc((size_t)n * sizeof *v);
	size_t *kl = malloc((size_t)n * sizeof *kl), *vl = malloc((size_t)n * sizeof *vl);
	if (!k || !v || !kl || !vl)
		abort();
	for (int i = 0; i < n; i++) {
		k[i] = argv[1 + 2 * i].p;
		kl[i] = argv[1 + 2 * i].len;
		v[i] = argv[2 + 2 * i].p;
		vl[i] = argv[2 + 2 * i].len;
	}
	int rc = ks_msetnx(cl->srv->ks, n, k, kl, v, vl);
	free(k);
	free(v);
	free(kl);
	free(vl);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, rc);
	return 0;
}

/* --- bits ------------------------------------------------------------------------------- */

/* Redis's getBitOffsetFromArgument (no #offset form here). */
static int bit_offset(resp_cli_t *cl, const resp_arg_t *a, uint64_t *off)
{
	int64_t v;
	if (num_str2ll(a->p, a->len, &v) < 0 || v < 0 ||
	    (v >> 3) >= cl->srv->cfg->proto_max_bulk_len) {
		resp_error(cl->out, "ERR bit offset is not an integer or out of range");
		return -1;
	}
	*off = (uint64_t)v;
	return 0;
}

RESP_HANDLER(resp_c_setbit)
{
	(void)argc;
	uint64_t off;
	int64_t on;
	if (bit_offset(cl, &argv[2], &off) < 0)
		return 0;
	if (resp_arg_range(cl, &argv[3], INT64_MIN, INT64_MAX, &on,
	                   "ERR bit is not an integer or out of range") < 0)
		return 0;
	if (on & ~1) {
		resp_error(cl->out, "ERR bit is not an integer or out of range");
		return 0;
	}
	int old;
	int rc = ks_setbit(cl->srv->ks, argv[1].p, argv[1].len, off, (int)on, &old);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, old);
	return 0;
}

RESP_HANDLER(resp_c_getbit)
{
	(void)argc;
	uint64_t off;
	if (bit_offset(cl, &argv[2], &off) < 0)
		return 0;
	const qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	size_t byte = (size_t)(off >> 3);
	int bit = 0;
	if (v && byte < v->len)
		bit = ((unsigned char)v->p[byte] >> (7 - (off & 7))) & 1;
	resp_int(cl->out, bit);
	return 0;
}

static int popcount8(unsigned char c)
{
	int n = 0;
	for (; c; c &= (unsigned char)(c - 1))
		n++;
	return n;
}

/* A BIT/BYTE range [start, end] over len bytes, made absolute as
 * bitops.c does; for bit ranges the edge masks, and start/end in bytes. */
static void bit_range(int64_t *start, int64_t *end, int64_t len, int isbit, unsigned char *first,
                      unsigned char *last)
{
	int64_t tot = isbit ? len << 3 : len;
	if (*start < 0)
		*start += tot;
	if (*end < 0)
		*end += tot;
	if (*start < 0)
		*start = 0;
	if (*end < 0)
		*end = 0;
	if (*end >= tot)
		*end = tot - 1;
	*first = *last = 0;
	if (isbit && *start <= *end) {
		*first = (unsigned char)(~((1 << (8 - (*start & 7))) - 1) & 0xFF);
		*last = (unsigned char)((1 << (7 - (*end & 7))) - 1);
		*start >>= 3;
		*end >>= 3;
	}
}

static int bit_unit(resp_cli_t *cl, const resp_arg_t *a, int *isbit)
{
	if (resp_arg_is(a, "bit"))
		*isbit = 1;
	else if (resp_arg_is(a, "byte"))
		*isbit = 0;
	else {
		resp_err_syntax(cl);
		return -1;
	}
	return 0;
}

RESP_HANDLER(resp_c_bitcount)
{
	const qlv_t *v;
	if (get_str(cl, &argv[1], &v) < 0)
		return 0;
	if (!v) {
		resp_int(cl->out, 0);
		return 0;
	}
	const unsigned char *p = (const unsigned char *)v->p;
	int64_t start = 0, end = (int64_t)v->len - 1;
	unsigned char first = 0, last = 0;
	if (argc == 4 || argc == 5) {
		int isbit = 0;
		if (resp_arg_ll_or_reply(cl, &argv[2], &start) < 0 ||
		    resp_arg_ll_or_reply(cl, &argv[3], &end) < 0)
			return 0;
		if (start < 0 && end < 0 && start > end) {
			resp_int(cl->out, 0);
			return 0;
		}
		if (argc == 5 && bit_unit(cl, &argv[4], &isbit) < 0)
			return 0;
		bit_range(&start, &end, (int64_t)v->len, isbit, &first, &last);
	} else if (argc != 2) {
		resp_err_syntax(cl);
		return 0;
	}
	if (start > end) {
		resp_int(cl->out, 0);
		return 0;
	}
	int64_t n = 0;
	for (int64_t i = start; i <= end; i++)
		n += popcount8(p[i]);
	if (first)
		n -= popcount8(p[start] & first);
	if (last)
		n -= popcount8(p[end] & last);
	resp_int(cl->out, n);
	return 0;
}

/* BITOP AND|OR|XOR|NOT dest key...: bitops.c's bitopCommand. Missing
 * sources are empty strings and shorter ones are zero-padded to the
 * longest; an all-empty result deletes dest. The result is never longer
 * than an existing string, so no client-chosen size is allocated. */
RESP_HANDLER(resp_c_bitop)
{
	const resp_arg_t *op = &argv[1];
	int nsrc = argc - 3;
	char kind;
	if (resp_arg_is(op, "and"))
		kind = '&';
	else if (resp_arg_is(op, "or"))
		kind = '|';
	else if (resp_arg_is(op, "xor"))
		kind = '^';
	else if (resp_arg_is(op, "not"))
		kind = '~';
	else {
		resp_err_syntax(cl);
		return 0;
	}
	if (kind == '~' && nsrc != 1) {
		resp_error(cl->out, "ERR BITOP NOT must be called with a single source key.");
		return 0;
	}
	const qlv_t **src = malloc((size_t)nsrc * sizeof *src);
	if (!src)
		abort();
	size_t max = 0;
	for (int i = 0; i < nsrc; i++) {
		if (get_str(cl, &argv[3 + i], &src[i]) < 0) {
			free(src);
			return 0;
		}
		if (src[i] && src[i]->len > max)
			max = src[i]->len;
	}
	int rc = 0;
	if (max == 0) {
		const char *k = argv[2].p;
		size_t kl = argv[2].len;
		int64_t gone;
		rc = ks_del(cl->srv->ks, 1, &k, &kl, &gone);
	} else {
		unsigned char *res = malloc(max);
		if (!res)
			abort();
		for (size_t j = 0; j < max; j++) {
			unsigned char b =
			    src[0] && j < src[0]->len ? (unsigned char)src[0]->p[j] : 0;
			for (int i = 1; i < nsrc; i++) {
				unsigned char c =
				    src[i] && j < src[i]->len ? (unsigned char)src[i]->p[j] : 0;
				b = kind == '&' ? b & c : kind == '|' ? b | c : b ^ c;
			}
			res[j] = kind == '~' ? (unsigned char)~b : b;
		}
		rc = ks_set(cl->srv->ks, argv[2].p, argv[2].len, res, max, 0);
		free(res);
	}
	free(src);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, (int64_t)max);
	return 0;
}

/* Position of the first bit equal to bit in s[0..n): n*8 when looking for
 * a clear bit in all-set bytes, -1 when looking for a set bit in clear
 * ones (redisBitpos). */
static int64_t bitpos(const unsigned char *s, int64_t n, int bit)
{
	for (int64_t i = 0; i < n; i++) {
		unsigned char c = bit ? s[i] : (unsigned char)~s[i];
		if (!c)
			continue;
		for (int b = 7; b >= 0; b--)
			if (c >> b & 1)
				return i * 8 + (7 - b);
	}
	return bit ? -1 : n * 8;
}

RESP_HANDLER(resp_c_bitpos)
{
	int64_t bit;
	if (resp_arg_range(cl, &argv[2], INT64_MIN, INT64_MAX, &bit, NULL) < 0)
		return 0;
	if (bit != 0 && bit != 1) {
		resp_error(cl->out, "ERR The bit argument must be 1 or 0.");
		return 0;
	}
	ks_obj_t *o = ks_find(cl->srv->ks, argv[1].p, argv[1].len);
	if (!o) {
		resp_int(cl->out, bit ? -1 : 0);
		return 0;
	}
	if (o->type != KS_STRING) {
		resp_err_wrongtype(cl);
		return 0;
	}
	const qlv_t *v = o->ptr;
	const unsigned char *p = (const unsigned char *)v->p;
	int64_t len = (int64_t)v->len, start = 0, end = len - 1;
	int isbit = 0, end_given = 0;
	unsigned char first = 0, last = 0;
	if (argc >= 4 && argc <= 6) {
		if (resp_arg_ll_or_reply(cl, &argv[3], &start) < 0)
			return 0;
		if (argc == 6 && bit_unit(cl, &argv[5], &isbit) < 0)
			return 0;
		if (argc >= 5) {
			if (resp_arg_ll_or_reply(cl, &argv[4], &end) < 0)
				return 0;
			end_given = 1;
		} else {
			end = isbit ? (len << 3) + 7 : len - 1;
		}
		bit_range(&start, &end, len, isbit, &first, &last);
	} else if (argc != 3) {
		resp_err_syntax(cl);
		return 0;
	}
	if (start > end) {
		resp_int(cl->out, -1);
		return 0;
	}
	int64_t bytes = end - start + 1, pos;
	unsigned char t;
	if (first) {
		t = bit ? (unsigned char)(p[start] & ~first) : (unsigned char)(p[start] | first);
		if (last && bytes == 1)
			t = bit ? (unsigned char)(t & ~last) : (unsigned char)(t | last);
		pos = bitpos(&t, 1, (int)bit);
		if (bytes == 1 || (pos != -1 && pos != 8))
			goto result;
		start++;
		bytes--;
	}
	int64_t cur = bytes - (last ? 1 : 0);
	if (cur > 0) {
		pos = bitpos(p + start, cur, (int)bit);
		if (bytes == cur || (pos != -1 && pos != cur << 3))
			goto result;
		start += cur;
		bytes -= cur;
	}
	t = bit ? (unsigned char)(p[end] & ~last) : (unsigned char)(p[end] | last);
	pos = bitpos(&t, 1, (int)bit);
result:
	if (end_given && bit == 0 && pos == bytes << 3) {
		resp_int(cl->out, -1);
		return 0;
	}
	if (pos != -1)
		pos += start << 3;
	resp_int(cl->out, pos);
	return 0;
}

/* --- LCS ------------------------------------------------------------------------------------- */

RESP_HANDLER(resp_c_lcs)
{
	ks_obj_t *oa = ks_find(cl->srv->ks, argv[1].p, argv[1].len);
	ks_obj_t *ob = ks_find(cl->srv->ks, argv[2].p, argv[2].len);
	if ((oa && oa->type != KS_STRING) || (ob && ob->type != KS_STRING)) {
		resp_error(cl->out, "ERR The specified keys must contain string values");
		return 0;
	}
	const char *a = oa ? ((qlv_t *)oa->ptr)->p : "", *b = ob ? ((qlv_t *)ob->ptr)->p : "";
	size_t alen = oa ? ((qlv_t *)oa->ptr)->len : 0, blen = ob ? ((qlv_t *)ob->ptr)->len : 0;
	int getlen = 0, getidx = 0, withmatchlen = 0;
	int64_t minmatch = 0;
	for (int j = 3; j < argc; j++) {
		if (resp_arg_is(&argv[j], "idx"))
			getidx = 1;
		else if (resp_arg_is(&argv[j], "len"))
			getlen = 1;
		else if (resp_arg_is(&argv[j], "withmatchlen"))
			withmatchlen = 1;
		else if (resp_arg_is(&argv[j], "minmatchlen") && j + 1 < argc) {
			if (resp_arg_ll_or_reply(cl, &argv[j + 1], &minmatch) < 0)
				return 0;
			if (minmatch < 0)
				minmatch = 0;
			j++;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	if (getlen && getidx) {
		resp_error(cl->out,
		           "ERR If you want both the length and indexes, please just use IDX.");
		return 0;
	}
	if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
		resp_error(cl->out, "ERR String too long for LCS");
		return 0;
	}
	uint64_t cells = (uint64_t)(alen + 1) * (blen + 1);
	if (cells * sizeof(uint32_t) > (uint64_t)cl->srv->cfg->proto_max_bulk_len) {
		resp_error(cl->out, "ERR Insufficient memory, transient memory for LCS exceeds "
		                    "proto-max-bulk-len");
		return 0;
	}
	uint32_t *t = malloc(cells * sizeof *t);
	if (!t) {
		resp_error(cl->out,
		           "ERR Insufficient memory, failed allocating transient memory for LCS");
		return 0;
	}
#define LCS(i, j) t[(j) + (i) * (blen + 1)]
	for (size_t i = 0; i <= alen; i++) {
		for (size_t j = 0; j <= blen; j++) {
			if (i == 0 || j == 0)
				LCS(i, j) = 0;
			else if (a[i - 1] == b[j - 1])
				LCS(i, j) = LCS(i - 1, j - 1) + 1;
			else
				LCS(i, j) =
				    LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1);
		}
	}
	uint32_t idx = LCS(alen, blen);
	int compute = getidx || !getlen;
	char *result = compute ? malloc(idx + 1) : NULL;
	if (compute && !result)
		abort();
	size_t mark = 0, nranges = 0;
	if (getidx) {
		resp_map(cl->out, cl->proto, 2);
		resp_bulk_str(cl->out, "matches");
		mark = resp_defer(cl->out);
	}
	/* Backtrack as Redis does, emitting ranges of contiguous matches
	 * from the end. alen marks "no range open". */
	size_t as = alen, ae = 0, bs = 0, be = 0, i = alen, j = blen;
	while (compute && i > 0 && j > 0) {
		int emit = 0;
		if (a[i - 1] == b[j - 1]) {
			result[idx - 1] = a[i - 1];
			if (as == alen) {
				as = ae = i - 1;
				bs = be = j - 1;
			} else if (as == i && bs == j) {
				as--;
				bs--;
			} else {
				emit = 1;
			}
			if (as == 0 || bs == 0)
				emit = 1;
			idx--;
			i--;
			j--;
		} else {
			if (LCS(i - 1, j) > LCS(i, j - 1))
				i--;
			else
				j--;
			if (as != alen)
				emit = 1;
		}
		uint32_t mlen = (uint32_t)(ae - as + 1);
		if (emit) {
			if (getidx && (minmatch == 0 || mlen >= minmatch)) {
				resp_array(cl->out, 2 + (size_t)withmatchlen);
				resp_array(cl->out, 2);
				resp_int(cl->out, (int64_t)as);
				resp_int(cl->out, (int64_t)ae);
				resp_array(cl->out, 2);
				resp_int(cl->out, (int64_t)bs);
				resp_int(cl->out, (int64_t)be);
				if (withmatchlen)
					resp_int(cl->out, mlen);
				nranges++;
			}
			as = alen;
		}
	}
	if (getidx) {
		resp_defer_set(cl->out, mark, '*', nranges);
		resp_bulk_str(cl->out, "len");
		resp_int(cl->out, LCS(alen, blen));
	} else if (getlen) {
		resp_int(cl->out, LCS(alen, blen));
	} else {
		resp_bulk(cl->out, result, LCS(alen, blen));
	}
#undef LCS
	free(result);
	free(t);
	return 0;
}
