/*
 * c_zset_ops.c — sorted-set algebra: ZUNION ZINTER ZDIFF, their STORE
 * forms, and ZINTERCARD (Redis 7.0's zunionInterDiffGenericCommand).
 *
 * Inputs may be sorted sets or sets (members of a set score 1). Options
 * WEIGHTS and AGGREGATE SUM|MIN|MAX (not for ZDIFF), WITHSCORES (not for
 * the STORE forms), LIMIT (ZINTERCARD). A sum that comes out NaN (inf plus
 * -inf) counts as 0, as in Redis. The result is a new sorted set, so its
 * order is Redis's (score, then member). Loop thread only.
 */
#include "proto/resp/c_types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct src {
	zset_t *z; /* a sorted set, or */
	rset_t *s; /* a set, or neither (missing: empty) */
	double weight;
} src_t;

static size_t src_len(const src_t *s)
{
	return s->z ? zset_len(s->z) : s->s ? rset_len(s->s) : 0;
}

/* Whether member m is in s; *score its score there. */
static int src_find(const src_t *s, const char *m, size_t n, double *score)
{
	if (s->z) {
		znode_t *x = zset_find(s->z, m, n);
		if (x)
			*score = x->score;
		return x != NULL;
	}
	*score = 1.0;
	return s->s && rset_has(s->s, m, n);
}

/* Iteration over one source: members with their scores. */
typedef struct src_it {
	const src_t *s;
	znode_t *x;
	rset_iter_t si;
} src_it_t;

static void it_init(src_it_t *it, const src_t *s)
{
	it->s = s;
	it->x = s->z ? zset_first(s->z) : NULL;
	if (s->s)
		rset_iter_init(s->s, &it->si);
}

static const char *it_next(src_it_t *it, size_t *n, double *score)
{
	if (it->s->z) {
		znode_t *x = it->x;
		if (!x)
			return NULL;
		it->x = zset_next(x);
		*n = x->mlen;
		*score = x->score;
		return x->m;
	}
	if (!it->s->s)
		return NULL;
	*score = 1.0;
	return rset_iter_next(&it->si, n);
}

static void aggregate(double *target, double v, int agg)
{
	if (agg == AGG_SUM) {
		*target = *target + v;
		if (isnan(*target))
			*target = 0.0;
	} else if (agg == AGG_MIN) {
		*target = v < *target ? v : *target;
	} else {
		*target = v > *target ? v : *target;
	}
}

static int zops_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int numidx,
                        const resp_arg_t *dst, int op, int card_only, const char *name)
{
	int64_t setnum;
	if (resp_arg_range(cl, &argv[numidx], INT64_MIN, INT64_MAX, &setnum, NULL) < 0)
		return 0;
	if (setnum < 1) {
		resp_errorf(cl->out, "ERR at least 1 input key is needed for '%s' command", name);
		return 0;
	}
	if (setnum > argc - (numidx + 1)) {
		resp_err_syntax(cl);
		return 0;
	}
	src_t *src = calloc((size_t)setnum, sizeof *src);
	if (!src)
		abort();
	int j = numidx + 1;
	for (int64_t i = 0; i < setnum; i++, j++) {
		ks_obj_t *o = ks_find(cl->srv->ks, argv[j].p, argv[j].len);
		if (o && o->type != KS_ZSET && o->type != KS_SET) {
			resp_err_wrongtype(cl);
			goto done;
		}
		if (o && o->type == KS_ZSET)
			src[i].z = o->ptr;
		else if (o)
			src[i].s = o->ptr;
		src[i].weight = 1.0;
	}
	int agg = AGG_SUM, withscores = 0;
	int64_t limit = 0;
	for (int remaining = argc - j; remaining;) {
		if (op != OP_DIFF && !card_only && remaining >= setnum + 1 &&
		    resp_arg_is(&argv[j], "weights")) {
			j++;
			remaining--;
			for (int64_t i = 0; i < setnum; i++, j++, remaining--)
				if (resp_arg_double(cl, &argv[j], &src[i].weight,
				                    "ERR weight value is not a float") < 0)
					goto done;
		} else if (op != OP_DIFF && !card_only && remaining >= 2 &&
		           resp_arg_is(&argv[j], "aggregate")) {
			j++;
			remaining--;
			if (resp_arg_is(&argv[j], "sum"))
				agg = AGG_SUM;
			else if (resp_arg_is(&argv[j], "min"))
				agg = AGG_MIN;
			else if (resp_arg_is(&argv[j], "max"))
				agg = AGG_MAX;
			else {
				resp_err_syntax(cl);
				goto done;
			}
			j++;
			remaining--;
		} else if (remaining >= 1 && !dst && !card_only &&
		           resp_arg_is(&argv[j], "withscores")) {
			j++;
			remaining--;
			withscores = 1;
		} else if (card_only && remaining >= 2 && resp_arg_is(&argv[j], "limit")) {
			j++;
			remaining--;
			if (resp_arg_range(cl, &argv[j], 0, INT64_MAX, &limit,
			                   "ERR LIMIT can't be negative") < 0)
				goto done;
			j++;
			remaining--;
		} else {
			resp_err_syntax(cl);
			goto done;
		}
	}
	if (op != OP_DIFF) {
		/* Smallest first (a stable order: Redis's qsort keeps ties). */
		for (int64_t i = 1; i < setnum; i++) {
			src_t t = src[i];
			int64_t k = i - 1;
			for (; k >= 0 && src_len(&src[k]) > src_len(&t); k--)
				src[k + 1] = src[k];
			src[k + 1] = t;
		}
	}
	zset_t *res = zset_new();
	uint64_t card = 0;
	src_it_t it;
	const char *m;
	size_t n;
	double sc;
	if (op == OP_INTER && src_len(&src[0])) {
		it_init(&it, &src[0]);
		while ((m = it_next(&it, &n, &sc)) != NULL) {
			double score = src[0].weight * sc, v;
			if (isnan(score))
				score = 0;
			int64_t k = 1;
			for (; k < setnum; k++) {
				if (!src_find(&src[k], m, n, &v))
					break;
				aggregate(&score, v * src[k].weight, agg);
			}
			if (k < setnum)
				continue;
			if (card_only) {
				card++;
				if (limit && card >= (uint64_t)limit)
					break;
			} else {
				zset_add(res, m, n, score);
			}
		}
	} else if (op == OP_UNION) {
		for (int64_t i = 0; i < setnum; i++) {
			it_init(&it, &src[i]);
			while ((m = it_next(&it, &n, &sc)) != NULL) {
				double score = src[i].weight * sc;
				if (isnan(score))
					score = 0;
				znode_t *x = zset_find(res, m, n);
				if (!x) {
					zset_add(res, m, n, score);
				} else {
					double t = x->score;
					aggregate(&t, score, agg);
					if (t != x->score)
						zset_update(res, x, t);
				}
			}
		}
	} else if (op == OP_DIFF && src_len(&src[0])) {
		it_init(&it, &src[0]);
		while ((m = it_next(&it, &n, &sc)) != NULL) {
			double v;
			int64_t k = 1;
			for (; k < setnum; k++)
				if (src_find(&src[k], m, n, &v))
					break;
			if (k == setnum)
				zset_add(res, m, n, sc);
		}
	}
	if (dst) {
		int64_t len = (int64_t)zset_len(res);
		int rc = ks_zstore(cl->srv->ks, dst->p, dst->len, res);
		if (rc < 0)
			resp_err_ks(cl, rc);
		else
			resp_int(cl->out, len);
	} else if (card_only) {
		resp_int(cl->out, (int64_t)card);
		zset_free(res);
	} else {
		size_t len = zset_len(res);
		resp_array(cl->out, withscores && cl->proto == 2 ? 2 * len : len);
		for (znode_t *x = zset_first(res); x; x = zset_next(x)) {
			if (withscores && cl->proto > 2)
				resp_array(cl->out, 2);
			resp_bulk(cl->out, x->m, x->mlen);
			if (withscores)
				resp_score(cl, x->score);
		}
		zset_free(res);
	}
done:
	free(src);
	return 0;
}

RESP_HANDLER(resp_c_zunion)
{
	return zops_generic(cl, argc, argv, 1, NULL, OP_UNION, 0, "zunion");
}

RESP_HANDLER(resp_c_zinter)
{
	return zops_generic(cl, argc, argv, 1, NULL, OP_INTER, 0, "zinter");
}

RESP_HANDLER(resp_c_zdiff)
{
	return zops_generic(cl, argc, argv, 1, NULL, OP_DIFF, 0, "zdiff");
}

RESP_HANDLER(resp_c_zunionstore)
{
	return zops_generic(cl, argc, argv, 2, &argv[1], OP_UNION, 0, "zunionstore");
}

RESP_HANDLER(resp_c_zinterstore)
{
	return zops_generic(cl, argc, argv, 2, &argv[1], OP_INTER, 0, "zinterstore");
}

RESP_HANDLER(resp_c_zdiffstore)
{
	return zops_generic(cl, argc, argv, 2, &argv[1], OP_DIFF, 0, "zdiffstore");
}

RESP_HANDLER(resp_c_zintercard)
{
	return zops_generic(cl, argc, argv, 1, NULL, OP_INTER, 1, "zintercard");
}
