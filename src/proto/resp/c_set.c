/*
 * c_set.c — set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD
 * SPOP SRANDMEMBER SMOVE SINTER SINTERCARD SUNION SDIFF, their STORE
 * forms, SSCAN.
 *
 * Replies and errors follow Redis 7.0's t_set.c: a missing key reads as
 * an empty set; sets of members are RESP3 sets (`~`). The algebra builds
 * its result the way Redis does — SINTER walks the smallest set (a stable
 * order of the sets by size) and tests the others; SUNION and SDIFF add
 * into a fresh set that starts as an intset — so results of integers come
 * out in numeric order, as Redis's do. Loop thread only.
 */
#include "proto/resp/c_types.h"

#include "core/err.h"

#include <stdlib.h>

/* The set at key: NULL when missing; *bad after a WRONGTYPE reply. */
static rset_t *get_set(resp_cli_t *cl, const resp_arg_t *key, int *bad)
{
	int wrong;
	rset_t *s = ks_rset(cl->srv->ks, key->p, key->len, &wrong);
	*bad = wrong;
	if (wrong)
		resp_err_wrongtype(cl);
	return s;
}

static void args_split(int n, const resp_arg_t *argv, const char ***p, size_t **l)
{
	*p = malloc((size_t)(n ? n : 1) * sizeof **p);
	*l = malloc((size_t)(n ? n : 1) * sizeof **l);
	if (!*p || !*l)
		abort();
	for (int i = 0; i < n; i++) {
		(*p)[i] = argv[i].p;
		(*l)[i] = argv[i].len;
	}
}

RESP_HANDLER(resp_c_sadd)
{
	const char **p;
	size_t *l;
	args_split(argc - 2, &argv[2], &p, &l);
	int64_t added;
	int rc = ks_sadd(cl->srv->ks, argv[1].p, argv[1].len, (size_t)(argc - 2), p, l, &added);
	free(p);
	free(l);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, added);
	return 0;
}

RESP_HANDLER(resp_c_srem)
{
	const char **p;
	size_t *l;
	args_split(argc - 2, &argv[2], &p, &l);
	int64_t removed;
	int rc = ks_srem(cl->srv->ks, argv[1].p, argv[1].len, (size_t)(argc - 2), p, l, &removed);
	free(p);
	free(l);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, removed);
	return 0;
}

static void put_members(resp_cli_t *cl, const rset_t *s)
{
	rset_iter_t it;
	rset_iter_init(s, &it);
	const char *m;
	size_t n;
	while ((m = rset_iter_next(&it, &n)) != NULL)
		resp_bulk(cl->out, m, n);
}

RESP_HANDLER(resp_c_smembers)
{
	(void)argc;
	int bad;
	rset_t *s = get_set(cl, &argv[1], &bad);
	if (bad)
		return 0;
	resp_set(cl->out, cl->proto, s ? rset_len(s) : 0);
	if (s)
		put_members(cl, s);
	return 0;
}

RESP_HANDLER(resp_c_sismember)
{
	(void)argc;
	int bad;
	rset_t *s = get_set(cl, &argv[1], &bad);
	if (!bad)
		resp_int(cl->out, s && rset_has(s, argv[2].p, argv[2].len));
	return 0;
}

RESP_HANDLER(resp_c_smismember)
{
	int bad;
	rset_t *s = get_set(cl, &argv[1], &bad);
	if (bad)
		return 0;
	resp_array(cl->out, (size_t)(argc - 2));
	for (int i = 2; i < argc; i++)
		resp_int(cl->out, s && rset_has(s, argv[i].p, argv[i].len));
	return 0;
}

RESP_HANDLER(resp_c_scard)
{
	(void)argc;
	int bad;
	rset_t *s = get_set(cl, &argv[1], &bad);
	if (!bad)
		resp_int(cl->out, s ? (int64_t)rset_len(s) : 0);
	return 0;
}

static void put_val(void *arg, const char *p, size_t n)
{
	resp_bulk(arg, p, n);
}

RESP_HANDLER(resp_c_spop)
{
	keyspace_t *ks = cl->srv->ks;
	if (argc > 3) {
		resp_err_syntax(cl);
		return 0;
	}
	int64_t count = 1;
	if (argc == 3 && resp_arg_range(cl, &argv[2], 0, INT64_MAX, &count,
	                                "ERR value is out of range, must be positive") < 0)
		return 0;
	int bad;
	rset_t *s = get_set(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!s || count == 0) {
		if (argc == 2)
			resp_null(cl->out, cl->proto);
		else
			resp_set(cl->out, cl->proto, 0);
		return 0;
	}
	size_t mark = resp_defer(cl->out);
	if (argc == 3) {
		uint64_t size = rset_len(s);
		resp_set(cl->out, cl->proto, (uint64_t)count < size ? (size_t)count : size);
	}
	int64_t popped;
	int rc = ks_spop(ks, argv[1].p, argv[1].len, count, put_val, cl->out, &popped);
	if (rc < 0) {
		resp_undo(cl->out, mark);
		resp_err_ks(cl, rc);
	}
	return 0;
}

RESP_HANDLER(resp_c_srandmember)
{
	keyspace_t *ks = cl->srv->ks;
	char buf[24];
	size_t n, pos;
	int bad;
	if (argc > 3) {
		resp_err_syntax(cl);
		return 0;
	}
	if (argc == 2) {
		rset_t *s = get_set(cl, &argv[1], &bad);
		if (bad)
			return 0;
		if (!s) {
			resp_null(cl->out, cl->proto);
			return 0;
		}
		const char *m = rset_random(s, ks_rng(ks), buf, &n, &pos);
		resp_bulk(cl->out, m, n);
		return 0;
	}
	int64_t l;
	if (resp_arg_range(cl, &argv[2], -INT64_MAX, INT64_MAX, &l, NULL) < 0)
		return 0;
	rset_t *s = get_set(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!s || l == 0) {
		resp_array(cl->out, 0);
		return 0;
	}
	size_t size = rset_len(s);
	uint64_t count = l > 0 ? (uint64_t)l : (uint64_t)(-l);
	if (l < 0 || count == 1) {
		resp_array(cl->out, count);
		while (count--) {
			const char *m = rset_random(s, ks_rng(ks), buf, &n, &pos);
			resp_bulk(cl->out, m, n);
		}
		return 0;
	}
	if (count >= size) {
		resp_array(cl->out, size);
		put_members(cl, s);
		return 0;
	}
	/* Distinct members: sample positions in iteration order. */
	size_t k = (size_t)count;
	size_t *pick = malloc(k * sizeof *pick);
	char **txt = malloc(size * sizeof *txt);
	size_t *lens = malloc(size * sizeof *lens);
	if (!pick || !txt || !lens)
		abort();
	rset_iter_t it;
	rset_iter_init(s, &it);
	size_t i = 0;
	for (const char *m; (m = rset_iter_next(&it, &n)) != NULL; i++) {
		txt[i] = malloc(n + 1);
		if (!txt[i])
			abort();
		memcpy(txt[i], m, n);
		lens[i] = n;
	}
	resp_sample(ks_rng(ks), size, k, pick);
	resp_array(cl->out, k);
	for (size_t j = 0; j < k; j++)
		resp_bulk(cl->out, txt[pick[j]], lens[pick[j]]);
	for (i = 0; i < size; i++)
		free(txt[i]);
	free(txt);
	free(lens);
	free(pick);
	return 0;
}

RESP_HANDLER(resp_c_smove)
{
	(void)argc;
	int rc = ks_smove(cl->srv->ks, argv[1].p, argv[1].len, argv[2].p, argv[2].len, argv[3].p,
	                  argv[3].len);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, rc);
	return 0;
}

/* --- algebra ---------------------------------------------------------------------- */

/* The sets at keys (NULL for a missing one); -1 after a WRONGTYPE reply. */
static int load_sets(resp_cli_t *cl, int n, const resp_arg_t *keys, rset_t **sets, int *missing)
{
	*missing = 0;
	for (int i = 0; i < n; i++) {
		int bad;
		sets[i] = get_set(cl, &keys[i], &bad);
		if (bad)
			return -1;
		*missing += !sets[i];
	}
	return 0;
}

/* SINTER's walk: the members of every set, from the smallest; into res
 * when set, else replied (or only counted, up to limit). */
static size_t inter(resp_cli_t *cl, rset_t **sets, int n, rset_t *res, int count_only,
                    uint64_t limit)
{
	/* A stable order by size (Redis's qsort leaves ties in order). */
	for (int i = 1; i < n; i++) {
		rset_t *t = sets[i];
		int j = i - 1;
		for (; j >= 0 && rset_len(sets[j]) > rset_len(t); j--)
			sets[j + 1] = sets[j];
		sets[j + 1] = t;
	}
	size_t card = 0;
	rset_iter_t it;
	rset_iter_init(sets[0], &it);
	const char *m;
	size_t len;
	kvs_enc_t *enc = ks_enc(cl->srv->ks);
	while ((m = rset_iter_next(&it, &len)) != NULL) {
		int j = 1;
		for (; j < n; j++)
			if (sets[j] != sets[0] && !rset_has(sets[j], m, len))
				break;
		if (j < n)
			continue;
		card++;
		if (res)
			rset_add(res, m, len, enc->set_intset);
		else if (!count_only)
			resp_bulk(cl->out, m, len);
		else if (limit && card >= limit)
			break;
	}
	return card;
}

enum { OP_UNION, OP_DIFF };

/* SUNION / SDIFF into a fresh set (an intset first, as Redis's). */
static rset_t *union_diff(resp_cli_t *cl, rset_t **sets, int n, int op)
{
	kvs_enc_t *enc = ks_enc(cl->srv->ks);
	rset_t *res = rset_new();
	rset_iter_t it;
	const char *m;
	size_t len;
	if (op == OP_UNION) {
		for (int i = 0; i < n; i++) {
			if (!sets[i])
				continue;
			rset_iter_init(sets[i], &it);
			while ((m = rset_iter_next(&it, &len)) != NULL)
				rset_add(res, m, len, enc->set_intset);
		}
		return res;
	}
	if (!sets[0])
		return res;
	for (int i = 1; i < n; i++)
		if (sets[i] == sets[0])
			return res; /* the same key again: nothing is left */
	rset_iter_init(sets[0], &it);
	while ((m = rset_iter_next(&it, &len)) != NULL) {
		int j = 1;
		for (; j < n; j++)
			if (sets[j] && rset_has(sets[j], m, len))
				break;
		if (j == n)
			rset_add(res, m, len, enc->set_intset);
	}
	return res;
}

/* Stores res at dst (an empty res deletes dst) and replies its size. */
static void store(resp_cli_t *cl, const resp_arg_t *dst, rset_t *res)
{
	int64_t card = (int64_t)rset_len(res);
	int rc = ks_sstore(cl->srv->ks, dst->p, dst->len, res);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, card);
}

static int sinter_generic(resp_cli_t *cl, int n, const resp_arg_t *keys, const resp_arg_t *dst,
                          int count_only, uint64_t limit)
{
	rset_t **sets = calloc((size_t)n, sizeof *sets);
	if (!sets)
		abort();
	int missing;
	if (load_sets(cl, n, keys, sets, &missing) < 0)
		goto done;
	if (missing) {
		if (dst)
			store(cl, dst, rset_new());
		else if (count_only)
			resp_int(cl->out, 0);
		else
			resp_set(cl->out, cl->proto, 0);
		goto done;
	}
	if (dst) {
		rset_t *res = rset_new();
		inter(cl, sets, n, res, 0, 0);
		store(cl, dst, res);
	} else if (count_only) {
		resp_int(cl->out, (int64_t)inter(cl, sets, n, NULL, 1, limit));
	} else {
		size_t mark = resp_defer(cl->out);
		size_t card = inter(cl, sets, n, NULL, 0, 0);
		resp_defer_set(cl->out, mark, cl->proto >= 3 ? '~' : '*', card);
	}
done:
	free(sets);
	return 0;
}

RESP_HANDLER(resp_c_sinter)
{
	return sinter_generic(cl, argc - 1, &argv[1], NULL, 0, 0);
}

RESP_HANDLER(resp_c_sinterstore)
{
	return sinter_generic(cl, argc - 2, &argv[2], &argv[1], 0, 0);
}

RESP_HANDLER(resp_c_sintercard)
{
	int64_t numkeys, limit = 0;
	if (resp_arg_range(cl, &argv[1], 1, INT64_MAX, &numkeys,
	                   "ERR numkeys should be greater than 0") < 0)
		return 0;
	if (numkeys > argc - 2) {
		resp_error(cl->out, "ERR Number of keys can't be greater than number of args");
		return 0;
	}
	for (int j = 2 + (int)numkeys; j < argc; j++) {
		if (resp_arg_is(&argv[j], "limit") && j + 1 < argc) {
			j++;
			if (resp_arg_range(cl, &argv[j], 0, INT64_MAX, &limit,
			                   "ERR LIMIT can't be negative") < 0)
				return 0;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	return sinter_generic(cl, (int)numkeys, &argv[2], NULL, 1, (uint64_t)limit);
}

static int union_diff_generic(resp_cli_t *cl, int n, const resp_arg_t *keys, const resp_arg_t *dst,
                              int op)
{
	rset_t **sets = calloc((size_t)n, sizeof *sets);
	if (!sets)
		abort();
	int missing;
	if (load_sets(cl, n, keys, sets, &missing) == 0) {
		rset_t *res = union_diff(cl, sets, n, op);
		if (dst) {
			store(cl, dst, res);
		} else {
			resp_set(cl->out, cl->proto, rset_len(res));
			put_members(cl, res);
			rset_free(res);
		}
	}
	free(sets);
	return 0;
}

RESP_HANDLER(resp_c_sunion)
{
	return union_diff_generic(cl, argc - 1, &argv[1], NULL, OP_UNION);
}

RESP_HANDLER(resp_c_sunionstore)
{
	return union_diff_generic(cl, argc - 2, &argv[2], &argv[1], OP_UNION);
}

RESP_HANDLER(resp_c_sdiff)
{
	return union_diff_generic(cl, argc - 1, &argv[1], NULL, OP_DIFF);
}

RESP_HANDLER(resp_c_sdiffstore)
{
	return union_diff_generic(cl, argc - 2, &argv[2], &argv[1], OP_DIFF);
}

RESP_HANDLER(resp_c_sscan)
{
	uint64_t cursor;
	if (resp_scan_cursor(cl, &argv[2], &cursor) < 0)
		return 0;
	int bad;
	rset_t *s = get_set(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!s) {
		resp_empty_scan(cl);
		return 0;
	}
	int64_t count;
	const resp_arg_t *pat;
	if (resp_scan_opts(cl, argc, argv, &count, &pat) < 0)
		return 0;
	/* An intset answers whole with cursor 0, as Redis does; a table walks
	 * its insertion order, the cursor a position. */
	int whole = rset_is_intset(s);
	size_t n = 0;
	uint64_t next = 0;
	buf_t tmp = BUF_INIT;
	if (whole) {
		rset_iter_t it;
		rset_iter_init(s, &it);
		const char *m;
		size_t len;
		while ((m = rset_iter_next(&it, &len)) != NULL) {
			if (resp_scan_match(pat, m, len)) {
				resp_bulk(&tmp, m, len);
				n++;
			}
		}
	} else {
		size_t it = (size_t)cursor;
		int64_t seen = 0;
		for (qlv_t *e; seen < count && (e = odict_next(s->d, &it)) != NULL; seen++) {
			if (resp_scan_match(pat, e->p, e->len)) {
				resp_bulk(&tmp, e->p, e->len);
				n++;
			}
		}
		size_t probe = it;
		next = odict_next(s->d, &probe) ? it : 0;
	}
	resp_scan_reply(cl, next, n, &tmp);
	return 0;
}
