/*
 * c_zset.c — sorted-set commands: ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE
 * ZRANK ZREVRANK ZCOUNT ZLEXCOUNT ZREMRANGEBYSCORE/RANK/LEX ZPOPMIN
 * ZPOPMAX ZMPOP ZRANDMEMBER ZSCAN, and the range parsers the sorted-set
 * files share (c_types.h).
 *
 * Replies and errors follow Redis 7.0's t_zset.c, checks in its order
 * (options, then scores, then the key's type). Scores are doubles in
 * RESP3 and bulk strings (%.17g) in RESP2; pairs of member and score are
 * flat in RESP2 and nested in RESP3, as Redis sends them. Loop thread
 * only.
 */
#include "proto/resp/c_types.h"

#include "broker/num.h"
#include "core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

zset_t *resp_get_zset(resp_cli_t *cl, const resp_arg_t *key, int *bad)
{
	int wrong;
	zset_t *z = ks_zset(cl->srv->ks, key->p, key->len, &wrong);
	*bad = wrong;
	if (wrong)
		resp_err_wrongtype(cl);
	return z;
}

/* --- range parsing ------------------------------------------------------------------ */

/* One end of a score range: strtod over the argument as a C string (so a
 * NUL ends it, as in Redis), "(" for an open end. */
static int score_end(const resp_arg_t *a, double *v, int *ex)
{
	char small[128];
	char *tmp = a->len < sizeof small ? small : malloc(a->len + 1);
	if (!tmp)
		abort();
	memcpy(tmp, a->p, a->len);
	tmp[a->len] = 0;
	const char *s = tmp;
	*ex = 0;
	if (s[0] == '(') {
		*ex = 1;
		s++;
	}
	char *end;
	*v = strtod(s, &end);
	int ok = end[0] == 0 && !isnan(*v);
	if (tmp != small)
		free(tmp);
	return ok ? 0 : -1;
}

int resp_zrange_parse(const resp_arg_t *min, const resp_arg_t *max, zrange_t *r)
{
	if (score_end(min, &r->min, &r->minex) < 0 || score_end(max, &r->max, &r->maxex) < 0)
		return -1;
	return 0;
}

static int lex_end(const resp_arg_t *a, const char **p, size_t *n, int *inf, int *ex)
{
	*inf = 0;
	if (a->len == 0)
		return -1;
	switch (a->p[0]) {
	case '+':
	case '-':
		if (a->len > 1 && a->p[1])
			return -1;
		*inf = a->p[0] == '+' ? 1 : -1;
		*ex = 1;
		*p = NULL;
		*n = 0;
		return 0;
	case '(':
	case '[':
		*ex = a->p[0] == '(';
		*p = a->p + 1;
		*n = a->len - 1;
		return 0;
	}
	return -1;
}

int resp_zlex_parse(const resp_arg_t *min, const resp_arg_t *max, zlex_t *r)
{
	if (lex_end(min, &r->min, &r->minlen, &r->mininf, &r->minex) < 0 ||
	    lex_end(max, &r->max, &r->maxlen, &r->maxinf, &r->maxex) < 0)
		return -1;
	return 0;
}

/* --- ZADD, ZINCRBY, ZREM ------------------------------------------------------------- */

static int zadd_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int flags)
{
	int ch = 0, i = 2;
	for (; i < argc; i++) {
		if (resp_arg_is(&argv[i], "nx"))
			flags |= KS_Z_NX;
		else if (resp_arg_is(&argv[i], "xx"))
			flags |= KS_Z_XX;
		else if (resp_arg_is(&argv[i], "ch"))
			ch = 1;
		else if (resp_arg_is(&argv[i], "incr"))
			flags |= KS_Z_INCR;
		else if (resp_arg_is(&argv[i], "gt"))
			flags |= KS_Z_GT;
		else if (resp_arg_is(&argv[i], "lt"))
			flags |= KS_Z_LT;
		else
			break;
	}
	int elements = argc - i;
	if (elements % 2 || !elements) {
		resp_err_syntax(cl);
		return 0;
	}
	size_t n = (size_t)elements / 2;
	int nx = flags & KS_Z_NX, xx = flags & KS_Z_XX, gt = flags & KS_Z_GT, lt = flags & KS_Z_LT;
	if (nx && xx) {
		resp_error(cl->out, "ERR XX and NX options at the same time are not compatible");
		return 0;
	}
	if ((gt && nx) || (lt && nx) || (gt && lt)) {
		resp_error(cl->out,
		           "ERR GT, LT, and/or NX options at the same time are not compatible");
		return 0;
	}
	if ((flags & KS_Z_INCR) && n > 1) {
		resp_error(cl->out, "ERR INCR option supports a single increment-element pair");
		return 0;
	}
	double *scores = malloc(n * sizeof *scores);
	const char **m = malloc(n * sizeof *m);
	size_t *lens = malloc(n * sizeof *lens);
	if (!scores || !m || !lens)
		abort();
	for (size_t j = 0; j < n; j++) {
		if (resp_arg_double(cl, &argv[i + 2 * (int)j], &scores[j], NULL) < 0)
			goto done;
		m[j] = argv[i + 2 * (int)j + 1].p;
		lens[j] = argv[i + 2 * (int)j + 1].len;
	}
	int64_t added, changed;
	double score = 0;
	int rc = ks_zadd(cl->srv->ks, argv[1].p, argv[1].len, flags, n, scores, m, lens, &added,
	                 &changed, &score);
	if (rc == SL_ERANGE)
		resp_error(cl->out, "ERR resulting score is not a number (NaN)");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else if (flags & KS_Z_INCR) {
		if (rc)
			resp_score(cl, score);
		else
			resp_null(cl->out, cl->proto);
	} else
		resp_int(cl->out, ch ? changed : added);
done:
	free(scores);
	free(m);
	free(lens);
	return 0;
}

RESP_HANDLER(resp_c_zadd)
{
	return zadd_generic(cl, argc, argv, 0);
}

RESP_HANDLER(resp_c_zincrby)
{
	(void)argc;
	resp_arg_t a[5] = {argv[0], argv[1], {"incr", 4}, argv[2], argv[3]};
	return zadd_generic(cl, 5, a, 0);
}

RESP_HANDLER(resp_c_zrem)
{
	size_t n = (size_t)(argc - 2);
	const char **m = malloc(n * sizeof *m);
	size_t *lens = malloc(n * sizeof *lens);
	if (!m || !lens)
		abort();
	for (size_t i = 0; i < n; i++) {
		m[i] = argv[2 + i].p;
		lens[i] = argv[2 + i].len;
	}
	int64_t removed;
	int rc = ks_zrem(cl->srv->ks, argv[1].p, argv[1].len, n, m, lens, &removed);
	free(m);
	free(lens);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, removed);
	return 0;
}

/* --- reads ------------------------------------------------------------------------------ */

RESP_HANDLER(resp_c_zcard)
{
	(void)argc;
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (!bad)
		resp_int(cl->out, z ? (int64_t)zset_len(z) : 0);
	return 0;
}

RESP_HANDLER(resp_c_zscore)
{
	(void)argc;
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	znode_t *x = z ? zset_find(z, argv[2].p, argv[2].len) : NULL;
	if (x)
		resp_score(cl, x->score);
	else
		resp_null(cl->out, cl->proto);
	return 0;
}

RESP_HANDLER(resp_c_zmscore)
{
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	resp_array(cl->out, (size_t)(argc - 2));
	for (int i = 2; i < argc; i++) {
		znode_t *x = z ? zset_find(z, argv[i].p, argv[i].len) : NULL;
		if (x)
			resp_score(cl, x->score);
		else
			resp_null(cl->out, cl->proto);
	}
	return 0;
}

static int zrank_generic(resp_cli_t *cl, resp_arg_t *argv, int rev)
{
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	znode_t *x = z ? zset_find(z, argv[2].p, argv[2].len) : NULL;
	if (!x) {
		resp_null(cl->out, cl->proto);
		return 0;
	}
	uint64_t r = zset_rank(z, x);
	resp_int(cl->out, (int64_t)(rev ? zset_len(z) - 1 - r : r));
	return 0;
}

RESP_HANDLER(resp_c_zrank)
{
	(void)argc;
	return zrank_generic(cl, argv, 0);
}

RESP_HANDLER(resp_c_zrevrank)
{
	(void)argc;
	return zrank_generic(cl, argv, 1);
}

RESP_HANDLER(resp_c_zcount)
{
	(void)argc;
	zrange_t r;
	if (resp_zrange_parse(&argv[2], &argv[3], &r) < 0) {
		resp_error(cl->out, "ERR min or max is not a float");
		return 0;
	}
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	int64_t n = 0;
	znode_t *f = z ? zset_first_in(z, &r) : NULL;
	if (f)
		n = (int64_t)(zset_rank(z, zset_last_in(z, &r)) - zset_rank(z, f) + 1);
	resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_zlexcount)
{
	(void)argc;
	zlex_t r;
	if (resp_zlex_parse(&argv[2], &argv[3], &r) < 0) {
		resp_error(cl->out, "ERR min or max not valid string range item");
		return 0;
	}
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	int64_t n = 0;
	znode_t *f = z ? zset_first_in_lex(z, &r) : NULL;
	if (f)
		n = (int64_t)(zset_rank(z, zset_last_in_lex(z, &r)) - zset_rank(z, f) + 1);
	resp_int(cl->out, n);
	return 0;
}

/* --- removals by range ---------------------------------------------------------------- */

static int zremrange(resp_cli_t *cl, resp_arg_t *argv, int kind)
{
	ks_zsel_t sel;
	memset(&sel, 0, sizeof sel);
	sel.kind = kind;
	if (kind == KS_ZR_RANK) {
		if (resp_arg_range(cl, &argv[2], INT64_MIN, INT64_MAX, &sel.start, NULL) < 0 ||
		    resp_arg_range(cl, &argv[3], INT64_MIN, INT64_MAX, &sel.stop, NULL) < 0)
			return 0;
	} else if (kind == KS_ZR_SCORE) {
		if (resp_zrange_parse(&argv[2], &argv[3], &sel.score) < 0) {
			resp_error(cl->out, "ERR min or max is not a float");
			return 0;
		}
	} else if (resp_zlex_parse(&argv[2], &argv[3], &sel.lex) < 0) {
		resp_error(cl->out, "ERR min or max not valid string range item");
		return 0;
	}
	int64_t removed;
	int rc = ks_zremrange(cl->srv->ks, argv[1].p, argv[1].len, &sel, &removed);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, removed);
	return 0;
}

RESP_HANDLER(resp_c_zremrangebyscore)
{
	(void)argc;
	return zremrange(cl, argv, KS_ZR_SCORE);
}

RESP_HANDLER(resp_c_zremrangebyrank)
{
	(void)argc;
	return zremrange(cl, argv, KS_ZR_RANK);
}

RESP_HANDLER(resp_c_zremrangebylex)
{
	(void)argc;
	return zremrange(cl, argv, KS_ZR_LEX);
}

/* --- pops --------------------------------------------------------------------------------- */

static int zpop_minmax(resp_cli_t *cl, int argc, resp_arg_t *argv, int max)
{
	if (argc > 3) {
		resp_err_syntax(cl);
		return 0;
	}
	int64_t count = -1;
	if (argc == 3 && resp_arg_range(cl, &argv[2], 0, INT64_MAX, &count,
	                                "ERR value is out of range, must be positive") < 0)
		return 0;
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!z || count == 0) {
		resp_array(cl->out, 0);
		return 0;
	}
	resp_zpop_reply(cl, &argv[1], max, count, 0, cl->proto > 2 && count != -1);
	return 0;
}

RESP_HANDLER(resp_c_zpopmin)
{
	return zpop_minmax(cl, argc, argv, 0);
}

RESP_HANDLER(resp_c_zpopmax)
{
	return zpop_minmax(cl, argc, argv, 1);
}

RESP_HANDLER(resp_c_zmpop)
{
	int64_t numkeys, count;
	int max;
	if (resp_zmpop_args(cl, argc, argv, 1, &numkeys, &max, &count) < 0)
		return 0;
	for (int i = 0; i < numkeys; i++) {
		int bad;
		zset_t *z = resp_get_zset(cl, &argv[2 + i], &bad);
		if (bad)
			return 0;
		if (z) {
			resp_zpop_reply(cl, &argv[2 + i], max, count, 1, 1);
			return 0;
		}
	}
	resp_null_array(cl->out, cl->proto);
	return 0;
}

/* --- ZRANDMEMBER, ZSCAN --------------------------------------------------------------------- */

static void put_member(resp_cli_t *cl, const znode_t *x, int withscores)
{
	if (withscores && cl->proto > 2)
		resp_array(cl->out, 2);
	resp_bulk(cl->out, x->m, x->mlen);
	if (withscores)
		resp_score(cl, x->score);
}

RESP_HANDLER(resp_c_zrandmember)
{
	keyspace_t *ks = cl->srv->ks;
	int bad;
	if (argc == 2) {
		zset_t *z = resp_get_zset(cl, &argv[1], &bad);
		if (bad)
			return 0;
		if (!z) {
			resp_null(cl->out, cl->proto);
			return 0;
		}
		znode_t *x = odict_at(&z->d, odict_random(&z->d, ks_rng(ks)));
		resp_bulk(cl->out, x->m, x->mlen);
		return 0;
	}
	int64_t l;
	int withscores;
	if (resp_randmember_args(cl, argc, argv, "withscores", &l, &withscores) < 0)
		return 0;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!z || l == 0) {
		resp_array(cl->out, 0);
		return 0;
	}
	size_t size = zset_len(z);
	uint64_t count = l > 0 ? (uint64_t)l : (uint64_t)(-l);
	if (l < 0 || count == 1) {
		resp_array(cl->out, withscores && cl->proto == 2 ? count * 2 : count);
		while (count--)
			put_member(cl, odict_at(&z->d, odict_random(&z->d, ks_rng(ks))),
			           withscores);
		return 0;
	}
	size_t k = count < size ? (size_t)count : size;
	resp_array(cl->out, withscores && cl->proto == 2 ? k * 2 : k);
	if (count >= size) {
		/* Redis's zuiNext walks sorted sets from the end. */
		for (znode_t *x = zset_last(z); x; x = zset_prev(z, x))
			put_member(cl, x, withscores);
		return 0;
	}
	size_t *pick = malloc(k * sizeof *pick);
	if (!pick)
		abort();
	resp_sample(ks_rng(ks), size, k, pick);
	for (size_t j = 0; j < k; j++)
		put_member(cl, zset_at(z, pick[j]), withscores);
	free(pick);
	return 0;
}

RESP_HANDLER(resp_c_zscan)
{
	uint64_t cursor;
	if (resp_scan_cursor(cl, &argv[2], &cursor) < 0)
		return 0;
	int bad;
	zset_t *z = resp_get_zset(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!z) {
		resp_empty_scan(cl);
		return 0;
	}
	int64_t count;
	const resp_arg_t *pat;
	if (resp_scan_opts(cl, argc, argv, &count, &pat) < 0)
		return 0;
	/* A listpack answers whole, in score order, its scores in the text
	 * they are stored as (d2string); a skip list walks its member table
	 * (the cursor a position), scores as Redis prints long doubles. */
	size_t n = 0;
	uint64_t next = 0;
	buf_t tmp = BUF_INIT;
	char sb[NUM_LD_CHARS];
	if (!z->big) {
		for (znode_t *x = zset_first(z); x; x = zset_next(x)) {
			if (!resp_scan_match(pat, x->m, x->mlen))
				continue;
			resp_bulk(&tmp, x->m, x->mlen);
			resp_bulk(&tmp, sb, num_d2string(sb, sizeof sb, x->score));
			n += 2;
		}
	} else {
		size_t it = (size_t)cursor;
		int64_t seen = 0;
		for (znode_t *x; seen < count && (x = odict_next(&z->d, &it)) != NULL; seen++) {
			if (!resp_scan_match(pat, x->m, x->mlen))
				continue;
			resp_bulk(&tmp, x->m, x->mlen);
			int k = snprintf(sb, sizeof sb, "%.17Lg", (long double)x->score);
			if (isinf(x->score))
				k = snprintf(sb, sizeof sb, "%s", x->score > 0 ? "inf" : "-inf");
			resp_bulk(&tmp, sb, (size_t)k);
			n += 2;
		}
		size_t probe = it;
		next = odict_next(&z->d, &probe) ? it : 0;
	}
	resp_scan_reply(cl, next, n, &tmp);
	return 0;
}
