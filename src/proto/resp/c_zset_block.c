/*
 * c_zset_block.c — the sorted-set pops that can block: BZPOPMIN,
 * BZPOPMAX, BZMPOP; and the pop reply they share with ZPOPMIN, ZPOPMAX
 * and ZMPOP (Redis 7.0's genericZpopCommand).
 *
 * Like the blocking list pops (c_list_block.c): each first tries to pop
 * at once, else parks the client on its keys through block.c; a key that
 * becomes a sorted set (ZADD creating it, a Z*STORE, RENAME, COPY) wakes
 * its waiters after the command that made it, FIFO, each served from the
 * key signalled first among its own. Inside EXEC nothing blocks: an empty
 * result is a null array at once. A served pop is a keyspace write like
 * any other: its reply takes the reply path. Timeouts are float seconds,
 * rounded up to the millisecond as Redis 7.0 does (0 waits forever).
 * Loop thread only.
 */
#include "proto/resp/c_types.h"

#include <stdlib.h>

typedef struct zwait {
	int max;
	int64_t count; /* -1: BZPOPMIN/BZPOPMAX's single pop */
	int mpop;      /* BZMPOP: nested reply */
	int nkeys;
	resp_arg_t *keys; /* owned copies */
} zwait_t;

typedef struct zpop_out {
	resp_cli_t *cl;
	int nested;
} zpop_out_t;

static void put_popped(void *arg, const char *m, size_t n, double score)
{
	zpop_out_t *o = arg;
	if (o->nested)
		resp_array(o->cl->out, 2);
	resp_bulk(o->cl->out, m, n);
	resp_score(o->cl, score);
}

int resp_zpop_reply(resp_cli_t *cl, const resp_arg_t *key, int max, int64_t count, int emit_key,
                    int nested)
{
	keyspace_t *ks = cl->srv->ks;
	int wrong;
	zset_t *z = ks_zset(ks, key->p, key->len, &wrong);
	if (count == -1)
		count = 1;
	int64_t len = (int64_t)zset_len(z);
	int64_t k = count > len ? len : count;
	size_t mark = resp_defer(cl->out);
	if (!nested && !emit_key) {
		resp_array(cl->out, (size_t)(k * 2));
	} else if (nested && !emit_key) {
		resp_array(cl->out, (size_t)k);
	} else if (!nested && emit_key) {
		resp_array(cl->out, (size_t)(k * 2 + 1));
		resp_bulk(cl->out, key->p, key->len);
	} else {
		resp_array(cl->out, 2);
		resp_bulk(cl->out, key->p, key->len);
		resp_array(cl->out, (size_t)k);
	}
	zpop_out_t o = {cl, nested};
	int64_t popped;
	int rc = ks_zpop(ks, key->p, key->len, max, count, put_popped, &o, &popped);
	if (rc < 0) {
		resp_undo(cl->out, mark);
		resp_err_ks(cl, rc);
	}
	return 1;
}

int resp_zmpop_args(resp_cli_t *cl, int argc, resp_arg_t *argv, int numidx, int64_t *numkeys,
                    int *max, int64_t *count)
{
	*count = -1;
	if (resp_arg_range(cl, &argv[numidx], 1, INT64_MAX, numkeys,
	                   "ERR numkeys should be greater than 0") < 0)
		return -1;
	int64_t where = numidx + *numkeys + 1;
	if (where >= argc) {
		resp_err_syntax(cl);
		return -1;
	}
	if (resp_arg_is(&argv[where], "min"))
		*max = 0;
	else if (resp_arg_is(&argv[where], "max"))
		*max = 1;
	else {
		resp_err_syntax(cl);
		return -1;
	}
	for (int64_t j = where + 1; j < argc; j++) {
		if (*count == -1 && resp_arg_is(&argv[j], "count") && j + 1 < argc) {
			j++;
			if (resp_arg_range(cl, &argv[j], 1, INT64_MAX, count,
			                   "ERR count should be greater than 0") < 0)
				return -1;
		} else {
			resp_err_syntax(cl);
			return -1;
		}
	}
	if (*count == -1)
		*count = 1;
	return 0;
}

static void zwait_free(resp_block_t *bk)
{
	zwait_t *w = bk->arg;
	for (int i = 0; i < w->nkeys; i++)
		free((void *)w->keys[i].p);
	free(w->keys);
	free(w);
}

static zwait_t *zwait_new(int nkeys, const resp_arg_t *keys)
{
	zwait_t *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->nkeys = nkeys;
	w->keys = calloc((size_t)nkeys, sizeof *w->keys);
	if (!w->keys)
		abort();
	for (int i = 0; i < nkeys; i++) {
		char *p = malloc(keys[i].len + 1);
		if (!p)
			abort();
		memcpy(p, keys[i].p, keys[i].len);
		p[keys[i].len] = 0;
		w->keys[i].p = p;
		w->keys[i].len = keys[i].len;
	}
	return w;
}

/* The key to serve a waiter from: among its keys holding a sorted set, the
 * one signalled first this round, else the first in its order; -1 none.
 * A key of another type keeps the client waiting, as in Redis. */
static int pick_key(resp_cli_t *cl, const zwait_t *w)
{
	int best = -1;
	size_t best_rank = SIZE_MAX;
	for (int i = 0; i < w->nkeys; i++) {
		int wrong;
		if (!ks_zset(cl->srv->ks, w->keys[i].p, w->keys[i].len, &wrong))
			continue;
		if (w->nkeys == 1)
			return 0;
		size_t rank = resp_lx_ready_rank(cl->srv, w->keys[i].p, w->keys[i].len);
		if (best < 0 || rank < best_rank) {
			best = i;
			best_rank = rank;
		}
	}
	return best;
}

static int serve(resp_cli_t *cl, resp_block_t *bk)
{
	zwait_t *w = bk->arg;
	int i = pick_key(cl, w);
	if (i < 0)
		return 0;
	return resp_zpop_reply(cl, &w->keys[i], w->max, w->count, 1, w->mpop);
}

/* Tries each key in turn; blocks when all are empty. */
static int bzpop_generic(resp_cli_t *cl, int nkeys, resp_arg_t *keys, int max, int64_t count,
                         int mpop, const resp_arg_t *timeout)
{
	int64_t ms;
	if (resp_lx_timeout(cl, timeout, &ms) < 0)
		return 0;
	for (int i = 0; i < nkeys; i++) {
		int bad;
		zset_t *z = resp_get_zset(cl, &keys[i], &bad);
		if (bad)
			return 0;
		if (z) {
			resp_zpop_reply(cl, &keys[i], max, count, 1, mpop);
			return 0;
		}
	}
	if (resp_lx_in_exec(cl)) {
		resp_null_array(cl->out, cl->proto);
		return 0;
	}
	zwait_t *w = zwait_new(nkeys, keys);
	w->max = max;
	w->count = count;
	w->mpop = mpop;
	resp_block(cl, nkeys, keys, ms, serve, zwait_free, w);
	return 0;
}

RESP_HANDLER(resp_c_bzpopmin)
{
	return bzpop_generic(cl, argc - 2, &argv[1], 0, -1, 0, &argv[argc - 1]);
}

RESP_HANDLER(resp_c_bzpopmax)
{
	return bzpop_generic(cl, argc - 2, &argv[1], 1, -1, 0, &argv[argc - 1]);
}

RESP_HANDLER(resp_c_bzmpop)
{
	int64_t numkeys, count;
	int max;
	if (resp_zmpop_args(cl, argc, argv, 2, &numkeys, &max, &count) < 0)
		return 0;
	return bzpop_generic(cl, (int)numkeys, &argv[3], max, count, 1, &argv[1]);
}
