/*
 * c_list_block.c — the blocking list commands: BLPOP, BRPOP, BLMPOP,
 * BLMOVE, BRPOPLPUSH.
 *
 * Each first tries to serve itself at once, like its non-blocking twin;
 * otherwise it parks the client on its keys through block.c. Serving
 * happens after the command that pushed (block.c runs ready keys in
 * blocking order), so one RPUSH of several values serves several waiters,
 * FIFO. Inside EXEC nothing blocks: an empty result is returned at once
 * (a null array, or a null bulk for BLMOVE/BRPOPLPUSH, as Redis 7.0 does).
 * Timeouts are float seconds (0 forever); the timeout reply is a null
 * array (block.c). A served pop is a keyspace write like any other: its
 * reply takes the reply path (held until durable under fsync=always; the
 * MISCONF error if the write failed). Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include "core/time.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

enum { K_POP, K_MPOP, K_MOVE };

typedef struct bwait {
	int kind;
	int from, to;  /* head 0 / tail 1 */
	int64_t count; /* BLMPOP */
	int nkeys;
	resp_arg_t *keys; /* owned copies; for K_MOVE keys[0] = src, keys[1] = dst */
} bwait_t;

int resp_lx_timeout(resp_cli_t *cl, const resp_arg_t *a, int64_t *ms)
{
	char tmp[64];
	if (a->len == 0 || a->len >= sizeof tmp) {
		resp_error(cl->out, "ERR timeout is not a float or out of range");
		return -1;
	}
	memcpy(tmp, a->p, a->len);
	tmp[a->len] = 0;
	char *end;
	errno = 0;
	long double f = strtold(tmp, &end);
	if (*end || tmp[0] == ' ' || (tmp[0] >= '\t' && tmp[0] <= '\r') || isnan(f) ||
	    (errno == ERANGE && (f == HUGE_VALL || f == -HUGE_VALL))) {
		resp_error(cl->out, "ERR timeout is not a float or out of range");
		return -1;
	}
	if (f < 0) {
		resp_error(cl->out, "ERR timeout is negative");
		return -1;
	}
	/* Redis converts to long long first: a value too large for it turns
	 * negative there, so it is "negative" too. */
	if (f * 1000.0L >= 9223372036854775807.0L) {
		resp_error(cl->out, "ERR timeout is negative");
		return -1;
	}
	/* Redis 7.0 rounds up (ceill): 0.0001 is 1 ms, not "forever". */
	long double msf = f * 1000.0L;
	*ms = (int64_t)msf;
	if ((long double)*ms < msf)
		(*ms)++;
	if (*ms > INT64_MAX / 2 && *ms > INT64_MAX - time_wall_ms()) {
		resp_error(cl->out, "ERR timeout is out of range");
		return -1;
	}
	return 0;
}

static void bwait_free(resp_block_t *bk)
{
	bwait_t *w = bk->arg;
	for (int i = 0; i < w->nkeys; i++)
		free((void *)w->keys[i].p);
	free(w->keys);
	free(w);
}

static bwait_t *bwait_new(int kind, int nkeys, const resp_arg_t *keys)
{
	bwait_t *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->kind = kind;
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

static void put_val(void *arg, const char *p, size_t n)
{
	resp_bulk(arg, p, n);
}

/* BLPOP/BRPOP: the first non-empty key gives [key, element]. Returns 1
 * when it replied (element or an error), 0 when all are empty. */
static int try_pop(resp_cli_t *cl, int nkeys, const resp_arg_t *keys, int tail)
{
	for (int i = 0; i < nkeys; i++) {
		int wrong;
		qlist_t *l = ks_list(cl->srv->ks, keys[i].p, keys[i].len, &wrong);
		if (wrong) {
			resp_err_wrongtype(cl);
			return 1;
		}
		if (!l)
			continue;
		size_t mark = resp_defer(cl->out);
		resp_array(cl->out, 2);
		resp_bulk(cl->out, keys[i].p, keys[i].len);
		int64_t popped;
		int rc =
		    ks_pop(cl->srv->ks, keys[i].p, keys[i].len, tail, 1, put_val, cl->out, &popped);
		if (rc < 0) {
			resp_undo(cl->out, mark);
			resp_err_ks(cl, rc);
		}
		return 1;
	}
	return 0;
}

/* The key to serve a multi-key waiter from: among its keys that hold a
 * list, the one signalled first this round (Redis serves ready keys in
 * order), else the first in the client's order; -1 when none has data. A
 * wrong type appearing on a key is not served (Redis keeps the client
 * blocked too). */
static int pick_key(resp_cli_t *cl, const bwait_t *w)
{
	if (w->nkeys == 1) {
		int wrong;
		return ks_list(cl->srv->ks, w->keys[0].p, w->keys[0].len, &wrong) ? 0 : -1;
	}
	int best = -1;
	size_t best_rank = SIZE_MAX;
	for (int i = 0; i < w->nkeys; i++) {
		int wrong;
		if (!ks_list(cl->srv->ks, w->keys[i].p, w->keys[i].len, &wrong))
			continue;
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
	bwait_t *w = bk->arg;
	int i;
	switch (w->kind) {
	case K_POP:
		i = pick_key(cl, w);
		return i >= 0 && try_pop(cl, 1, &w->keys[i], w->from);
	case K_MPOP:
		i = pick_key(cl, w);
		return i >= 0 && resp_lx_mpop(cl, 1, &w->keys[i], w->from, w->count) != 0;
	case K_MOVE: {
		int wrong;
		qlist_t *sl = ks_list(cl->srv->ks, w->keys[0].p, w->keys[0].len, &wrong);
		if (!sl)
			return 0;
		/* A destination of another type: the waiter gets WRONGTYPE and
		 * is unblocked, the element stays (Redis 7.0's
		 * serveClientBlockedOnList). */
		ks_obj_t *d = ks_find(cl->srv->ks, w->keys[1].p, w->keys[1].len);
		if (d && d->type != KS_LIST) {
			resp_err_wrongtype(cl);
			return 1;
		}
		return resp_lx_move(cl, &w->keys[0], &w->keys[1], w->from, w->to);
	}
	}
	return 0;
}

static int bpop(resp_cli_t *cl, int argc, resp_arg_t *argv, int tail)
{
	int64_t ms;
	if (resp_lx_timeout(cl, &argv[argc - 1], &ms) < 0)
		return 0;
	int nkeys = argc - 2;
	if (try_pop(cl, nkeys, &argv[1], tail))
		return 0;
	if (resp_lx_in_exec(cl)) {
		resp_null_array(cl->out, cl->proto);
		return 0;
	}
	bwait_t *w = bwait_new(K_POP, nkeys, &argv[1]);
	w->from = tail;
	resp_block(cl, nkeys, &argv[1], ms, serve, bwait_free, w);
	return 0;
}

RESP_HANDLER(resp_c_blpop)
{
	return bpop(cl, argc, argv, 0);
}
RESP_HANDLER(resp_c_brpop)
{
	return bpop(cl, argc, argv, 1);
}

RESP_HANDLER(resp_c_blmpop)
{
	int64_t ms, numkeys, count;
	int where;
	if (resp_lx_timeout(cl, &argv[1], &ms) < 0)
		return 0;
	if (resp_lx_mpop_args(cl, argc, argv, 2, &numkeys, &where, &count) < 0)
		return 0;
	if (resp_lx_mpop(cl, (int)numkeys, &argv[3], where, count) != 0)
		return 0;
	if (resp_lx_in_exec(cl)) {
		resp_null_array(cl->out, cl->proto);
		return 0;
	}
	bwait_t *w = bwait_new(K_MPOP, (int)numkeys, &argv[3]);
	w->from = where;
	w->count = count;
	resp_block(cl, (int)numkeys, &argv[3], ms, serve, bwait_free, w);
	return 0;
}

static int bmove(resp_cli_t *cl, resp_arg_t *argv, int from, int to, const resp_arg_t *timeout)
{
	int64_t ms;
	if (resp_lx_timeout(cl, timeout, &ms) < 0)
		return 0;
	int wrong;
	qlist_t *sl = ks_list(cl->srv->ks, argv[1].p, argv[1].len, &wrong);
	if (wrong) {
		resp_err_wrongtype(cl);
		return 0;
	}
	if (sl && resp_lx_move(cl, &argv[1], &argv[2], from, to))
		return 0;
	if (resp_lx_in_exec(cl)) {
		resp_null(cl->out, cl->proto);
		return 0;
	}
	bwait_t *w = bwait_new(K_MOVE, 2, &argv[1]);
	w->from = from;
	w->to = to;
	resp_block(cl, 1, &argv[1], ms, serve, bwait_free, w);
	return 0;
}

RESP_HANDLER(resp_c_blmove)
{
	(void)argc;
	int from, to;
	if (resp_arg_is(&argv[3], "left"))
		from = 0;
	else if (resp_arg_is(&argv[3], "right"))
		from = 1;
	else {
		resp_err_syntax(cl);
		return 0;
	}
	if (resp_arg_is(&argv[4], "left"))
		to = 0;
	else if (resp_arg_is(&argv[4], "right"))
		to = 1;
	else {
		resp_err_syntax(cl);
		return 0;
	}
	return bmove(cl, argv, from, to, &argv[5]);
}

RESP_HANDLER(resp_c_brpoplpush)
{
	(void)argc;
	return bmove(cl, argv, 1, 0, &argv[3]);
}
