/*
 * c_list.c — list commands that never block: LPUSH/RPUSH(X), LPOP/RPOP,
 * LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE,
 * RPOPLPUSH, LMPOP. Replies and error texts follow Redis 7.0 (t_list.c).
 *
 * Every mutation is applied to the model, then logged to the keys journal
 * (kv_store.h), then the key is signalled (blocked clients run after the
 * command) and touched (WATCH). A list that becomes empty is deleted.
 * Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include <stdlib.h>

#define WHERE_ERR (-1)

/* LEFT → 0 (head), RIGHT → 1 (tail), otherwise a syntax error reply. */
static int where_arg(resp_cli_t *cl, const resp_arg_t *a)
{
	if (resp_arg_is(a, "left"))
		return 0;
	if (resp_arg_is(a, "right"))
		return 1;
	resp_err_syntax(cl);
	return WHERE_ERR;
}

qlist_t *resp_lx_list(resp_srv_t *srv, const char *key, size_t klen, int *wrong)
{
	resp_obj_t *o = resp_db_find(srv, key, klen);
	*wrong = o && o->type != RESP_T_LIST;
	return o && o->type == RESP_T_LIST ? o->ptr : NULL;
}

/* After a pop: deletes the key when the list became empty. */
static void drop_if_empty(resp_srv_t *srv, const char *key, size_t klen, qlist_t *l)
{
	if (qlist_len(l) == 0)
		resp_lx_drop(srv, key, klen);
}

static void changed(resp_cli_t *cl, const char *key, size_t klen)
{
	cl->dirty = 1;
	resp_lx_touch(cl->srv, key, klen);
}

static int push(resp_cli_t *cl, int argc, resp_arg_t *argv, int tail, int only_existing)
{
	resp_srv_t *srv = cl->srv;
	int wrong;
	qlist_t *l = resp_lx_list(srv, argv[1].p, argv[1].len, &wrong);
	if (wrong) {
		resp_err_wrongtype(cl);
		return 0;
	}
	if (!l) {
		if (only_existing) {
			resp_int(cl->out, 0);
			return 0;
		}
		l = qlist_new();
		resp_db_add(srv, argv[1].p, argv[1].len, RESP_T_LIST, l);
	}
	int n = argc - 2;
	const void *vals_small[16];
	size_t lens_small[16];
	const void **vals = vals_small;
	size_t *lens = lens_small;
	if (n > 16) {
		vals = malloc((size_t)n * sizeof *vals);
		lens = malloc((size_t)n * sizeof *lens);
		if (!vals || !lens)
			abort();
	}
	for (int i = 0; i < n; i++) {
		qlist_push(l, tail, qlv_new(argv[2 + i].p, argv[2 + i].len));
		vals[i] = argv[2 + i].p;
		lens[i] = argv[2 + i].len;
	}
	kvs_log_push(srv->lx->store, argv[1].p, argv[1].len, tail, n, vals, lens);
	if (vals != vals_small) {
		free(vals);
		free(lens);
	}
	resp_int(cl->out, (int64_t)qlist_len(l));
	changed(cl, argv[1].p, argv[1].len);
	resp_lx_signal(srv, argv[1].p, argv[1].len);
	return 0;
}

RESP_HANDLER(resp_c_lpush)
{
	return push(cl, argc, argv, 0, 0);
}
RESP_HANDLER(resp_c_rpush)
{
	return push(cl, argc, argv, 1, 0);
}
RESP_HANDLER(resp_c_lpushx)
{
	return push(cl, argc, argv, 0, 1);
}
RESP_HANDLER(resp_c_rpushx)
{
	return push(cl, argc, argv, 1, 1);
}

/* Pops up to n elements from l at key (journaled) and writes them as bulk
 * strings; deletes the key when the list empties. Returns how many. */
static int64_t pop_reply(resp_cli_t *cl, const char *key, size_t klen, qlist_t *l, int tail,
                         int64_t n)
{
	int64_t k = 0;
	uint64_t freed = 0;
	while (k < n && qlist_len(l)) {
		qlv_t *v = qlist_pop(l, tail);
		resp_bulk(cl->out, v->p, v->len);
		freed += kvs_cost(v->len);
		free(v);
		k++;
	}
	kvs_log_pop(cl->srv->lx->store, key, klen, tail, (uint64_t)k, freed);
	changed(cl, key, klen);
	drop_if_empty(cl->srv, key, klen, l);
	return k;
}

/* Redis's getPositiveLongFromObjectOrReply with a custom message. */
static int positive_arg(resp_cli_t *cl, const resp_arg_t *a, int64_t *out, const char *msg)
{
	if (resp_arg_ll(a, out) < 0 || *out < 0) {
		resp_errorf(cl->out, "ERR %s", msg);
		return -1;
	}
	return 0;
}

static int pop(resp_cli_t *cl, int argc, resp_arg_t *argv, int tail)
{
	int64_t count = 0;
	int has_count = argc == 3;
	if (argc > 3) {
		resp_err_arity(cl, tail ? "rpop" : "lpop");
		return 0;
	}
	if (has_count &&
	    positive_arg(cl, &argv[2], &count, "value is out of range, must be positive") < 0)
		return 0;
	int wrong;
	qlist_t *l = resp_lx_list(cl->srv, argv[1].p, argv[1].len, &wrong);
	if (wrong) {
		resp_err_wrongtype(cl);
		return 0;
	}
	if (!l) {
		if (has_count)
			resp_null_array(cl->out, cl->proto);
		else
			resp_null(cl->out, cl->proto);
		return 0;
	}
	if (!has_count) {
		pop_reply(cl, argv[1].p, argv[1].len, l, tail, 1);
		return 0;
	}
	if (count == 0) {
		resp_array(cl->out, 0);
		return 0;
	}
	resp_array(cl->out, (size_t)((size_t)count < qlist_len(l) ? (size_t)count : qlist_len(l)));
	pop_reply(cl, argv[1].p, argv[1].len, l, tail, count);
	return 0;
}

RESP_HANDLER(resp_c_lpop)
{
	return pop(cl, argc, argv, 0);
}
RESP_HANDLER(resp_c_rpop)
{
	return pop(cl, argc, argv, 1);
}

/* A list for a read command: replies WRONGTYPE (returns -1) or gives the
 * list (NULL when absent). */
static int read_list(resp_cli_t *cl, const resp_arg_t *key, qlist_t **out)
{
	int wrong;
	*out = resp_lx_list(cl->srv, key->p, key->len, &wrong);
	if (wrong) {
		resp_err_wrongtype(cl);
		return -1;
	}
	return 0;
}

RESP_HANDLER(resp_c_llen)
{
	(void)argc;
	qlist_t *l;
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	resp_int(cl->out, l ? (int64_t)qlist_len(l) : 0);
	return 0;
}

RESP_HANDLER(resp_c_lrange)
{
	(void)argc;
	int64_t start, end;
	if (resp_arg_ll_or_reply(cl, &argv[2], &start) < 0 ||
	    resp_arg_ll_or_reply(cl, &argv[3], &end) < 0)
		return 0;
	qlist_t *l;
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	int64_t len = l ? (int64_t)qlist_len(l) : 0;
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (!l || start > end || start >= len) {
		resp_array(cl->out, 0);
		return 0;
	}
	if (end >= len)
		end = len - 1;
	resp_array(cl->out, (size_t)(end - start + 1));
	qlist_iter_t it;
	qlist_iter_init(l, &it, start, 0);
	for (int64_t i = start; i <= end; i++) {
		qlv_t *v = qlist_iter_next(&it);
		resp_bulk(cl->out, v->p, v->len);
	}
	return 0;
}

RESP_HANDLER(resp_c_lindex)
{
	(void)argc;
	int64_t idx = 0;
	qlist_t *l;
	/* Redis looks the key up before parsing the index. */
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	if (l && resp_arg_ll_or_reply(cl, &argv[2], &idx) < 0)
		return 0;
	int64_t i = l ? qlist_norm(l, idx) : -1;
	if (i < 0) {
		resp_null(cl->out, cl->proto);
		return 0;
	}
	qlv_t *v = qlist_at(l, i);
	resp_bulk(cl->out, v->p, v->len);
	return 0;
}

RESP_HANDLER(resp_c_lset)
{
	(void)argc;
	int64_t idx;
	qlist_t *l;
	/* Redis looks the key up before parsing the index. */
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	if (!l) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	if (resp_arg_ll_or_reply(cl, &argv[2], &idx) < 0)
		return 0;
	int64_t i = qlist_norm(l, idx);
	if (i < 0) {
		resp_error(cl->out, "ERR index out of range");
		return 0;
	}
	uint64_t freed = kvs_cost(qlist_at(l, i)->len);
	qlist_set(l, i, qlv_new(argv[3].p, argv[3].len));
	kvs_log_lset(cl->srv->lx->store, argv[1].p, argv[1].len, (uint64_t)i, argv[3].p,
	             argv[3].len, freed);
	changed(cl, argv[1].p, argv[1].len);
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_linsert)
{
	(void)argc;
	int after;
	if (resp_arg_is(&argv[2], "after"))
		after = 1;
	else if (resp_arg_is(&argv[2], "before"))
		after = 0;
	else {
		resp_err_syntax(cl);
		return 0;
	}
	qlist_t *l;
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	if (!l) {
		resp_int(cl->out, 0);
		return 0;
	}
	qlist_iter_t it;
	qlist_iter_init(l, &it, 0, 0);
	int64_t i = 0, found = -1;
	for (qlv_t *v; (v = qlist_iter_next(&it)) != NULL; i++) {
		if (v->len == argv[3].len && memcmp(v->p, argv[3].p, v->len) == 0) {
			found = i;
			break;
		}
	}
	if (found < 0) {
		resp_int(cl->out, -1);
		return 0;
	}
	int64_t at = found + after;
	qlist_insert(l, at, qlv_new(argv[4].p, argv[4].len));
	kvs_log_linsert(cl->srv->lx->store, argv[1].p, argv[1].len, (uint64_t)at, argv[4].p,
	                argv[4].len);
	changed(cl, argv[1].p, argv[1].len);
	resp_int(cl->out, (int64_t)qlist_len(l));
	return 0;
}

RESP_HANDLER(resp_c_lrem)
{
	(void)argc;
	int64_t count;
	if (resp_arg_ll_or_reply(cl, &argv[2], &count) < 0)
		return 0;
	qlist_t *l;
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	if (!l) {
		resp_int(cl->out, 0);
		return 0;
	}
	size_t n = qlist_rem(l, count, argv[3].p, argv[3].len);
	if (n) {
		kvs_log_lrem(cl->srv->lx->store, argv[1].p, argv[1].len, count, argv[3].p,
		             argv[3].len, n * kvs_cost(argv[3].len));
		changed(cl, argv[1].p, argv[1].len);
		drop_if_empty(cl->srv, argv[1].p, argv[1].len, l);
	}
	resp_int(cl->out, (int64_t)n);
	return 0;
}

RESP_HANDLER(resp_c_ltrim)
{
	(void)argc;
	int64_t start, stop;
	if (resp_arg_ll_or_reply(cl, &argv[2], &start) < 0 ||
	    resp_arg_ll_or_reply(cl, &argv[3], &stop) < 0)
		return 0;
	qlist_t *l;
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	if (l) {
		uint64_t before = l->bytes + 4 * qlist_len(l);
		size_t len = qlist_len(l);
		qlist_trim(l, start, stop);
		if (qlist_len(l) != len) {
			kvs_log_ltrim(cl->srv->lx->store, argv[1].p, argv[1].len, start, stop,
			              before - (l->bytes + 4 * qlist_len(l)));
			changed(cl, argv[1].p, argv[1].len);
			drop_if_empty(cl->srv, argv[1].p, argv[1].len, l);
		}
	}
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_lpos)
{
	int64_t rank = 1, count = -1, maxlen = 0;
	for (int j = 3; j < argc; j++) {
		int more = j + 1 < argc;
		if (resp_arg_is(&argv[j], "rank") && more) {
			j++;
			if (resp_arg_ll_or_reply(cl, &argv[j], &rank) < 0)
				return 0;
			if (rank == INT64_MIN) {
				resp_error(cl->out, "ERR value is out of range, must be between "
				                    "-9223372036854775807 and 9223372036854775807");
				return 0;
			}
			if (rank == 0) {
				resp_error(
				    cl->out,
				    "ERR RANK can't be zero: use 1 to start from the first match, "
				    "2 "
				    "from the second ... or use negative to start from the end of "
				    "the list");
				return 0;
			}
		} else if (resp_arg_is(&argv[j], "count") && more) {
			j++;
			if (positive_arg(cl, &argv[j], &count, "COUNT can't be negative") < 0)
				return 0;
		} else if (resp_arg_is(&argv[j], "maxlen") && more) {
			j++;
			if (positive_arg(cl, &argv[j], &maxlen, "MAXLEN can't be negative") < 0)
				return 0;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	qlist_t *l;
	if (read_list(cl, &argv[1], &l) < 0)
		return 0;
	if (!l) {
		if (count >= 0)
			resp_array(cl->out, 0);
		else
			resp_null(cl->out, cl->proto);
		return 0;
	}
	int rev = rank < 0;
	uint64_t skip = rev ? (uint64_t)(-rank) - 1 : (uint64_t)rank - 1;
	int64_t len = (int64_t)qlist_len(l), matches = 0, idx = rev ? len - 1 : 0;
	size_t mark = count >= 0 ? resp_defer(cl->out) : 0;
	int64_t first = -1;
	qlist_iter_t it;
	qlist_iter_init(l, &it, idx, rev);
	int64_t checked = 0;
	for (qlv_t *v; (v = qlist_iter_next(&it)) != NULL; idx += rev ? -1 : 1) {
		if (maxlen && checked >= maxlen)
			break;
		checked++;
		if (v->len != argv[2].len || memcmp(v->p, argv[2].p, v->len) != 0)
			continue;
		if (skip) {
			skip--;
			continue;
		}
		if (count < 0) {
			first = idx;
			break;
		}
		resp_int(cl->out, idx);
		matches++;
		if (count > 0 && matches >= count)
			break;
	}
	if (count >= 0)
		resp_defer_set(cl->out, mark, '*', (size_t)matches);
	else if (first >= 0)
		resp_int(cl->out, first);
	else
		resp_null(cl->out, cl->proto);
	return 0;
}

/* Moves one element from sl (the list at src, non-empty) to dst and
 * replies it as a bulk string. Returns 0, or -1 after replying WRONGTYPE
 * when dst holds another type (nothing moved). */
int resp_lx_move(resp_cli_t *cl, const resp_arg_t *src, const resp_arg_t *dst, int from, int to,
                 qlist_t *sl)
{
	resp_srv_t *srv = cl->srv;
	int wrong;
	qlist_t *dl = resp_lx_list(srv, dst->p, dst->len, &wrong);
	if (wrong) {
		resp_err_wrongtype(cl);
		return -1;
	}
	qlv_t *v = qlist_pop(sl, from);
	kvs_log_pop(srv->lx->store, src->p, src->len, from, 1, kvs_cost(v->len));
	changed(cl, src->p, src->len);
	resp_bulk(cl->out, v->p, v->len);
	const void *vp = v->p;
	size_t vl = v->len;
	if (!dl) { /* (src == dst gives dl == sl, so this is another key) */
		dl = qlist_new();
		resp_db_add(srv, dst->p, dst->len, RESP_T_LIST, dl);
	}
	qlist_push(dl, to, v);
	kvs_log_push(srv->lx->store, dst->p, dst->len, to, 1, &vp, &vl);
	if (sl != dl)
		drop_if_empty(srv, src->p, src->len, sl);
	changed(cl, dst->p, dst->len);
	resp_lx_signal(srv, dst->p, dst->len);
	return 0;
}

static int lmove(resp_cli_t *cl, resp_arg_t *argv, int from, int to)
{
	qlist_t *sl;
	if (read_list(cl, &argv[1], &sl) < 0)
		return 0;
	if (!sl) {
		resp_null(cl->out, cl->proto);
		return 0;
	}
	resp_lx_move(cl, &argv[1], &argv[2], from, to, sl);
	return 0;
}

RESP_HANDLER(resp_c_lmove)
{
	(void)argc;
	int from = where_arg(cl, &argv[3]);
	if (from == WHERE_ERR)
		return 0;
	int to = where_arg(cl, &argv[4]);
	if (to == WHERE_ERR)
		return 0;
	return lmove(cl, argv, from, to);
}

RESP_HANDLER(resp_c_rpoplpush)
{
	(void)argc;
	return lmove(cl, argv, 1, 0);
}

/* Parses LMPOP/BLMPOP's numkeys, keys, LEFT|RIGHT and COUNT. */
int resp_lx_mpop_args(resp_cli_t *cl, int argc, resp_arg_t *argv, int numkeys_idx, int64_t *numkeys,
                      int *where, int64_t *count)
{
	if (resp_arg_ll(&argv[numkeys_idx], numkeys) < 0 || *numkeys < 1) {
		resp_error(cl->out, "ERR numkeys should be greater than 0");
		return -1;
	}
	/* (numkeys is checked against argc first so the sum cannot overflow) */
	int64_t where_idx = *numkeys >= argc ? argc : numkeys_idx + *numkeys + 1;
	if (where_idx >= argc) {
		resp_err_syntax(cl);
		return -1;
	}
	*where = where_arg(cl, &argv[where_idx]);
	if (*where == WHERE_ERR)
		return -1;
	*count = -1;
	for (int64_t j = where_idx + 1; j < argc; j++) {
		if (*count == -1 && resp_arg_is(&argv[j], "count") && j + 1 < argc) {
			j++;
			if (resp_arg_ll(&argv[j], count) < 0 || *count < 1) {
				resp_error(cl->out, "ERR count should be greater than 0");
				return -1;
			}
		} else {
			resp_err_syntax(cl);
			return -1;
		}
	}
	if (*count == -1)
		*count = 1;
	return 0;
}

int resp_lx_mpop(resp_cli_t *cl, int nkeys, const resp_arg_t *keys, int where, int64_t count)
{
	for (int i = 0; i < nkeys; i++) {
		qlist_t *l;
		if (read_list(cl, &keys[i], &l) < 0)
			return -1;
		if (!l)
			continue;
		size_t n = (size_t)count < qlist_len(l) ? (size_t)count : qlist_len(l);
		resp_array(cl->out, 2);
		resp_bulk(cl->out, keys[i].p, keys[i].len);
		resp_array(cl->out, n);
		pop_reply(cl, keys[i].p, keys[i].len, l, where, count);
		return 1;
	}
	return 0;
}

RESP_HANDLER(resp_c_lmpop)
{
	int64_t numkeys, count;
	int where;
	if (resp_lx_mpop_args(cl, argc, argv, 1, &numkeys, &where, &count) < 0)
		return 0;
	int rc = resp_lx_mpop(cl, (int)numkeys, &argv[2], where, count);
	if (rc == 0)
		resp_null_array(cl->out, cl->proto);
	return 0;
}
