/*
 * c_zset_range.c — ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) and the
 * commands it generalises: ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE,
 * ZRANGEBYLEX, ZREVRANGEBYLEX, and ZRANGESTORE.
 *
 * One walk (Redis's zrangeGenericCommand): options, then the range, then
 * the key; by rank from a rank, by score or lex from the first (or last,
 * reversed) node in range, skipping `offset` nodes and taking up to
 * `limit` (negative: all). The result goes to the client — an array whose
 * pairs are flat in RESP2 and nested in RESP3 — or, for ZRANGESTORE, into
 * a new sorted set stored at the destination. Loop thread only.
 */
#include "proto/resp/c_types.h"

#include <stdlib.h>

enum { RT_AUTO, RT_RANK, RT_SCORE, RT_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

typedef struct emit {
	resp_cli_t *cl;
	zset_t *store; /* ZRANGESTORE: the result being built */
	int withscores;
	size_t n;
} emit_t;

static void emit_one(emit_t *e, const znode_t *x)
{
	e->n++;
	if (e->store) {
		zset_add(e->store, x->m, x->mlen, x->score);
		return;
	}
	resp_cli_t *cl = e->cl;
	if (e->withscores && cl->proto > 2)
		resp_array(cl->out, 2);
	resp_bulk(cl->out, x->m, x->mlen);
	if (e->withscores)
		resp_score(cl, x->score);
}

static znode_t *step(const zset_t *z, const znode_t *x, int rev)
{
	return rev ? zset_prev(z, x) : zset_next(x);
}

static int zrange_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int first,
                          const resp_arg_t *dst, int rt, int dir)
{
	const resp_arg_t *key = &argv[first];
	int minidx = first + 1, maxidx = first + 2;
	int64_t start = 0, end = 0, offset = 0, limit = -1;
	int withscores = 0;
	for (int j = first + 3; j < argc; j++) {
		int left = argc - j - 1;
		if (!dst && resp_arg_is(&argv[j], "withscores")) {
			withscores = 1;
		} else if (resp_arg_is(&argv[j], "limit") && left >= 2) {
			if (resp_arg_range(cl, &argv[j + 1], INT64_MIN, INT64_MAX, &offset, NULL) <
			        0 ||
			    resp_arg_range(cl, &argv[j + 2], INT64_MIN, INT64_MAX, &limit, NULL) <
			        0)
				return 0;
			j += 2;
		} else if (dir == DIR_AUTO && resp_arg_is(&argv[j], "rev")) {
			dir = DIR_REV;
		} else if (rt == RT_AUTO && resp_arg_is(&argv[j], "bylex")) {
			rt = RT_LEX;
		} else if (rt == RT_AUTO && resp_arg_is(&argv[j], "byscore")) {
			rt = RT_SCORE;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	if (dir == DIR_AUTO)
		dir = DIR_FWD;
	if (rt == RT_AUTO)
		rt = RT_RANK;
	if (limit != -1 && rt == RT_RANK) {
		resp_error(cl->out, "ERR syntax error, LIMIT is only supported in combination with "
		                    "either BYSCORE or BYLEX");
		return 0;
	}
	if (withscores && rt == RT_LEX) {
		resp_error(cl->out,
		           "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
		return 0;
	}
	int rev = dir == DIR_REV;
	if (rev && rt != RT_RANK) {
		int t = maxidx;
		maxidx = minidx;
		minidx = t;
	}
	zrange_t sr;
	zlex_t lr;
	if (rt == RT_RANK) {
		if (resp_arg_range(cl, &argv[minidx], INT64_MIN, INT64_MAX, &start, NULL) < 0 ||
		    resp_arg_range(cl, &argv[maxidx], INT64_MIN, INT64_MAX, &end, NULL) < 0)
			return 0;
	} else if (rt == RT_SCORE) {
		if (resp_zrange_parse(&argv[minidx], &argv[maxidx], &sr) < 0) {
			resp_error(cl->out, "ERR min or max is not a float");
			return 0;
		}
	} else if (resp_zlex_parse(&argv[minidx], &argv[maxidx], &lr) < 0) {
		resp_error(cl->out, "ERR min or max not valid string range item");
		return 0;
	}
	int bad;
	zset_t *z = resp_get_zset(cl, key, &bad);
	if (bad)
		return 0;
	emit_t e = {cl, dst ? zset_new() : NULL, withscores, 0};
	size_t mark = resp_defer(cl->out);
	if (z && rt == RT_RANK) {
		int64_t len = (int64_t)zset_len(z);
		if (start < 0)
			start += len;
		if (end < 0)
			end += len;
		if (start < 0)
			start = 0;
		if (start <= end && start < len) {
			if (end >= len)
				end = len - 1;
			int64_t k = end - start + 1;
			znode_t *x = zset_at(z, (uint64_t)(rev ? len - 1 - start : start));
			for (; x && k--; x = step(z, x, rev))
				emit_one(&e, x);
		}
	} else if (z && !(offset > 0 && (uint64_t)offset >= zset_len(z))) {
		znode_t *x;
		if (rt == RT_SCORE)
			x = rev ? zset_last_in(z, &sr) : zset_first_in(z, &sr);
		else
			x = rev ? zset_last_in_lex(z, &lr) : zset_first_in_lex(z, &lr);
		/* Redis skips with `offset--` and takes with `limit--`: a
		 * negative offset skips everything, a negative limit takes all. */
		while (x && offset--)
			x = step(z, x, rev);
		while (x && limit--) {
			if (rt == RT_SCORE && !(rev ? zset_score_gte_min(x->score, &sr)
			                            : zset_score_lte_max(x->score, &sr)))
				break;
			if (rt == RT_LEX &&
			    !(rev ? zset_lex_gte_min(x, &lr) : zset_lex_lte_max(x, &lr)))
				break;
			emit_one(&e, x);
			x = step(z, x, rev);
		}
	}
	if (dst) {
		int64_t n = (int64_t)zset_len(e.store);
		int rc = ks_zstore(cl->srv->ks, dst->p, dst->len, e.store);
		if (rc < 0)
			resp_err_ks(cl, rc);
		else
			resp_int(cl->out, n);
		return 0;
	}
	resp_defer_set(cl->out, mark, '*', withscores && cl->proto == 2 ? 2 * e.n : e.n);
	return 0;
}

RESP_HANDLER(resp_c_zrange)
{
	return zrange_generic(cl, argc, argv, 1, NULL, RT_AUTO, DIR_AUTO);
}

RESP_HANDLER(resp_c_zrangestore)
{
	return zrange_generic(cl, argc, argv, 2, &argv[1], RT_AUTO, DIR_AUTO);
}

RESP_HANDLER(resp_c_zrevrange)
{
	return zrange_generic(cl, argc, argv, 1, NULL, RT_RANK, DIR_REV);
}

RESP_HANDLER(resp_c_zrangebyscore)
{
	return zrange_generic(cl, argc, argv, 1, NULL, RT_SCORE, DIR_FWD);
}

RESP_HANDLER(resp_c_zrevrangebyscore)
{
	return zrange_generic(cl, argc, argv, 1, NULL, RT_SCORE, DIR_REV);
}

RESP_HANDLER(resp_c_zrangebylex)
{
	return zrange_generic(cl, argc, argv, 1, NULL, RT_LEX, DIR_FWD);
}

RESP_HANDLER(resp_c_zrevrangebylex)
{
	return zrange_generic(cl, argc, argv, 1, NULL, RT_LEX, DIR_REV);
}
