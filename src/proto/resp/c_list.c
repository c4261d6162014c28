/*
 * c_list.c — list commands that never block: LPUSH/RPUSH(X), LPOP/RPOP,
 * LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE,
 * RPOPLPUSH, LMPOP. Replies and error texts follow Redis 7.0 (t_list.c).
 *
 * Every mutation is one keyspace call (broker/keyspace.h), which journals
 * it and tells the front which keys changed (blocked clients run after
 * the command, WATCHers are invalidated). A refused write (storage) gets
 * MISCONF and changed nothing. Loop thread only.
 */
#include "proto/resp/c_lists.h"

#include "core/err.h"

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

/* Writes one popped or moved element as a bulk string. */
static void put_val(void *arg, const char *p, size_t n)
{
	resp_bulk(arg, p, n);
}

static int push(resp_cli_t *cl, int argc, resp_arg_t *argv, int tail, int only_existing)
{
	int n = argc - 2;
	const char *vals_small[16] = {NULL};
	size_t lens_small[16] = {0};
	const char **vals = vals_small;
	size_t *lens = lens_small;
	if (n > 16) {
		vals = malloc((size_t)n * sizeof *vals);
		lens = malloc((size_t)n * sizeof *lens);
		if (!vals || !lens)
			abort();
	}
	for (int i = 0; i < n; i++) {
		vals[i] = argv[2 + i].p;
		lens[i] = argv[2 + i].len;
	}
	int64_t len;
	int rc =
	    ks_push(cl->srv->ks, argv[1].p, argv[1].len, tail, only_existing, n, vals, lens, &len);
	if (vals != vals_small) {
		free(vals);
		free(lens);
	}
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, len);
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
	qlist_t *l = ks_list(cl->srv->ks, argv[1].p, argv[1].len, &wrong);
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
	if (has_count && count == 0) {
		resp_array(cl->out, 0);
		return 0;
	}
	/* The elements are written as they are popped; the header goes
	 * first, and is taken back if the pop is refused. */
	size_t mark = resp_defer(cl->out);
	if (has_count)
		resp_array(cl->out,
		           (size_t)((size_t)count < qlist_len(l) ? (size_t)count : qlist_len(l)));
	int64_t popped;
	int rc = ks_pop(cl->srv->ks, argv[1].p, argv[1].len, tail, has_count ? count : 1, put_val,
	                cl->out, &popped);
	if (rc < 0) {
		resp_undo(cl->out, mark);
		resp_err_ks(cl, rc);
	}
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
	*out = ks_list(cl->srv->ks, key->p, key->len, &wrong);
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
	int rc = ks_lset(cl->srv->ks, argv[1].p, argv[1].len, idx, argv[3].p, argv[3].len);
	if (rc == SL_ENOENT)
		resp_error(cl->out, "ERR no such key");
	else if (rc == SL_ERANGE)
		resp_error(cl->out, "ERR index out of range");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
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
	int64_t len;
	int rc = ks_linsert(cl->srv->ks, argv[1].p, argv[1].len, after, argv[3].p, argv[3].len,
	                    argv[4].p, argv[4].len, &len);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, len);
	return 0;
}

RESP_HANDLER(resp_c_lrem)
{
	(void)argc;
	int64_t count;
	if (resp_arg_ll_or_reply(cl, &argv[2], &count) < 0)
		return 0;
	int64_t n;
	int rc = ks_lrem(cl->srv->ks, argv[1].p, argv[1].len, count, argv[3].p, argv[3].len, &n);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_ltrim)
{
	(void)argc;
	int64_t start, stop;
	if (resp_arg_ll_or_reply(cl, &argv[2], &start) < 0 ||
	    resp_arg_ll_or_reply(cl, &argv[3], &stop) < 0)
		return 0;
	int rc = ks_ltrim(cl->srv->ks, argv[1].p, argv[1].len, start, stop);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
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

int resp_lx_move(resp_cli_t *cl, const resp_arg_t *src, const resp_arg_t *dst, int from, int to)
{
	int rc =
	    ks_lmove(cl->srv->ks, src->p, src->len, dst->p, dst->len, from, to, put_val, cl->out);
	if (rc < 0)
		resp_err_ks(cl, rc);
	return rc != 0;
}

static int lmove(resp_cli_t *cl, resp_arg_t *argv, int from, int to)
{
	if (!resp_lx_move(cl, &argv[1], &argv[2], from, to))
		resp_null(cl->out, cl->proto);
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
		size_t mark = resp_defer(cl->out);
		resp_array(cl->out, 2);
		resp_bulk(cl->out, keys[i].p, keys[i].len);
		resp_array(cl->out, n);
		int64_t popped;
		int rc = ks_pop(cl->srv->ks, keys[i].p, keys[i].len, where, count, put_val, cl->out,
		                &popped);
		if (rc < 0) {
			resp_undo(cl->out, mark);
			resp_err_ks(cl, rc);
			return -1;
		}
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
