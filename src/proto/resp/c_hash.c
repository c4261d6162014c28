/*
 * c_hash.c — hash commands: HSET HSETNX HMSET HGET HMGET HGETALL HKEYS
 * HVALS HDEL HLEN HEXISTS HINCRBY HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN;
 * and the helpers the type commands share (c_types.h): range-checked
 * integers, floats, scan options, random samples.
 *
 * Replies and errors follow Redis 7.0's t_hash.c: a missing key reads as
 * an empty hash; HGETALL is a map in RESP3; HRANDFIELD WITHVALUES nests
 * [field, value] pairs in RESP3. Fields come out in the order they were
 * added, as Redis's listpack encoding gives them (hash.h). Loop thread
 * only.
 */
#include "proto/resp/c_types.h"

#include "broker/keyspace_glob.h"
#include "broker/num.h"
#include "core/err.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* --- shared helpers --------------------------------------------------------------- */

int resp_arg_range(resp_cli_t *cl, const resp_arg_t *a, int64_t min, int64_t max, int64_t *out,
                   const char *msg)
{
	if (resp_arg_ll(a, out) < 0) {
		resp_error(cl->out, msg ? msg : "ERR value is not an integer or out of range");
		return -1;
	}
	if (*out < min || *out > max) {
		if (msg)
			resp_error(cl->out, msg);
		else
			resp_errorf(cl->out,
			            "ERR value is out of range, value must between %" PRId64
			            " and %" PRId64,
			            min, max);
		return -1;
	}
	return 0;
}

int resp_arg_double(resp_cli_t *cl, const resp_arg_t *a, double *out, const char *msg)
{
	if (num_str2d(a->p, a->len, out) == 0)
		return 0;
	resp_error(cl->out, msg ? msg : "ERR value is not a valid float");
	return -1;
}

int resp_arg_ldouble(resp_cli_t *cl, const resp_arg_t *a, long double *out, const char *msg)
{
	if (num_str2ld(a->p, a->len, out) == 0)
		return 0;
	resp_error(cl->out, msg ? msg : "ERR value is not a valid float");
	return -1;
}

void resp_empty_scan(resp_cli_t *cl)
{
	buf_append(cl->out, "*2\r\n$1\r\n0\r\n*0\r\n", 15);
}

int resp_scan_cursor(resp_cli_t *cl, const resp_arg_t *a, uint64_t *cursor)
{
	char tmp[64];
	char *end;
	size_t n = a->len < sizeof tmp - 1 ? a->len : sizeof tmp - 1;
	memcpy(tmp, a->p, n);
	tmp[n] = 0;
	errno = 0;
	*cursor = strtoull(tmp, &end, 10);
	if (a->len >= sizeof tmp - 1 || (tmp[0] >= '\t' && tmp[0] <= '\r') || tmp[0] == ' ' ||
	    *end || errno == ERANGE || memchr(a->p, 0, a->len)) {
		resp_error(cl->out, "ERR invalid cursor");
		return -1;
	}
	return 0;
}

int resp_scan_opts(resp_cli_t *cl, int argc, resp_arg_t *argv, int64_t *count,
                   const resp_arg_t **pat)
{
	*count = 10;
	*pat = NULL;
	for (int i = 3; i < argc;) {
		int left = argc - i;
		if (resp_arg_is(&argv[i], "count") && left >= 2) {
			if (resp_arg_range(cl, &argv[i + 1], INT64_MIN, INT64_MAX, count, NULL) < 0)
				return -1;
			if (*count < 1) {
				resp_err_syntax(cl);
				return -1;
			}
			i += 2;
		} else if (resp_arg_is(&argv[i], "match") && left >= 2) {
			const resp_arg_t *p = &argv[i + 1];
			*pat = p->len == 1 && p->p[0] == '*' ? NULL : p;
			i += 2;
		} else {
			resp_err_syntax(cl);
			return -1;
		}
	}
	return 0;
}

int resp_scan_match(const resp_arg_t *pat, const char *s, size_t n)
{
	return !pat || ks_glob_match(pat->p, pat->len, s, n, 0);
}

void resp_scan_reply(resp_cli_t *cl, uint64_t next, size_t n, buf_t *tmp)
{
	resp_array(cl->out, 2);
	resp_bulk_u64(cl->out, next);
	resp_array(cl->out, n);
	buf_append(cl->out, buf_data(tmp), buf_len(tmp));
	buf_deinit(tmp);
}

int resp_randmember_args(resp_cli_t *cl, int argc, resp_arg_t *argv, const char *with_word,
                         int64_t *count, int *with)
{
	*with = 0;
	if (resp_arg_range(cl, &argv[2], -INT64_MAX, INT64_MAX, count, NULL) < 0)
		return -1;
	if (argc > 4 || (argc == 4 && !resp_arg_is(&argv[3], with_word))) {
		resp_err_syntax(cl);
		return -1;
	}
	if (argc == 4) {
		*with = 1;
		if (*count < -INT64_MAX / 2 || *count > INT64_MAX / 2) {
			resp_error(cl->out, "ERR value is out of range");
			return -1;
		}
	}
	return 0;
}

void resp_sample(uint64_t *rng, size_t n, size_t k, size_t *out)
{
	if (k * 3 > n) {
		/* A partial shuffle of every position. */
		size_t *all = malloc((n ? n : 1) * sizeof *all);
		if (!all)
			abort();
		for (size_t i = 0; i < n; i++)
			all[i] = i;
		for (size_t i = 0; i < k; i++) {
			size_t j = i + (size_t)(odict_rand(rng) % (n - i));
			size_t t = all[i];
			all[i] = all[j];
			all[j] = t;
			out[i] = all[i];
		}
		free(all);
		return;
	}
	/* Few out of many: draw and skip repeats (a map of the drawn). */
	map_t seen;
	map_init(&seen);
	size_t got = 0;
	while (got < k) {
		size_t p = (size_t)(odict_rand(rng) % n);
		if (map_get(&seen, &p, sizeof p))
			continue;
		map_put(&seen, &p, sizeof p, (void *)1);
		out[got++] = p;
	}
	map_deinit(&seen);
}

void resp_score(resp_cli_t *cl, double d)
{
	resp_double(cl->out, cl->proto, d);
}

/* --- hashes --------------------------------------------------------------------------- */

/* The hash at key: NULL with *bad 0 when missing; -1 WRONGTYPE replied. */
static rhash_t *get_hash(resp_cli_t *cl, const resp_arg_t *key, int *bad)
{
	int wrong;
	rhash_t *h = ks_hash(cl->srv->ks, key->p, key->len, &wrong);
	*bad = wrong;
	if (wrong)
		resp_err_wrongtype(cl);
	return h;
}

static int hset_generic(resp_cli_t *cl, int argc, resp_arg_t *argv, int hmset)
{
	if (argc % 2 == 1) {
		resp_err_arity(cl, hmset ? "hmset" : "hset");
		return 0;
	}
	size_t n = (size_t)(argc - 2) / 2;
	const char **fv = malloc(2 * n * sizeof *fv);
	size_t *lens = malloc(2 * n * sizeof *lens);
	if (!fv || !lens)
		abort();
	for (size_t i = 0; i < 2 * n; i++) {
		fv[i] = argv[2 + i].p;
		lens[i] = argv[2 + i].len;
	}
	int64_t added;
	int rc = ks_hset(cl->srv->ks, argv[1].p, argv[1].len, n, fv, lens, 0, &added);
	free(fv);
	free(lens);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else if (hmset)
		resp_ok(cl->out);
	else
		resp_int(cl->out, added);
	return 0;
}

RESP_HANDLER(resp_c_hset)
{
	return hset_generic(cl, argc, argv, 0);
}

RESP_HANDLER(resp_c_hmset)
{
	return hset_generic(cl, argc, argv, 1);
}

RESP_HANDLER(resp_c_hsetnx)
{
	(void)argc;
	const char *fv[2] = {argv[2].p, argv[3].p};
	size_t lens[2] = {argv[2].len, argv[3].len};
	int64_t added;
	int rc = ks_hset(cl->srv->ks, argv[1].p, argv[1].len, 1, fv, lens, 1, &added);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, added);
	return 0;
}

static void put_field(resp_cli_t *cl, const rhash_t *h, const resp_arg_t *f)
{
	const rhent_t *e = h ? rhash_get(h, f->p, f->len) : NULL;
	if (e)
		resp_bulk(cl->out, rhent_val(e), e->vlen);
	else
		resp_null(cl->out, cl->proto);
}

RESP_HANDLER(resp_c_hget)
{
	(void)argc;
	int bad;
	rhash_t *h = get_hash(cl, &argv[1], &bad);
	if (!bad)
		put_field(cl, h, &argv[2]);
	return 0;
}

RESP_HANDLER(resp_c_hmget)
{
	int bad;
	rhash_t *h = get_hash(cl, &argv[1], &bad);
	if (bad)
		return 0;
	resp_array(cl->out, (size_t)(argc - 2));
	for (int i = 2; i < argc; i++)
		put_field(cl, h, &argv[i]);
	return 0;
}

enum { H_KEYS = 1, H_VALS = 2 };

static int getall(resp_cli_t *cl, const resp_arg_t *key, int what)
{
	int bad;
	rhash_t *h = get_hash(cl, key, &bad);
	if (bad)
		return 0;
	size_t n = h ? rhash_len(h) : 0;
	if (what == (H_KEYS | H_VALS))
		resp_map(cl->out, cl->proto, n);
	else
		resp_array(cl->out, n);
	size_t it = 0;
	for (rhent_t *e; h && (e = rhash_next(h, &it)) != NULL;) {
		if (what & H_KEYS)
			resp_bulk(cl->out, e->d, e->flen);
		if (what & H_VALS)
			resp_bulk(cl->out, rhent_val(e), e->vlen);
	}
	return 0;
}

RESP_HANDLER(resp_c_hgetall)
{
	(void)argc;
	return getall(cl, &argv[1], H_KEYS | H_VALS);
}

RESP_HANDLER(resp_c_hkeys)
{
	(void)argc;
	return getall(cl, &argv[1], H_KEYS);
}

RESP_HANDLER(resp_c_hvals)
{
	(void)argc;
	return getall(cl, &argv[1], H_VALS);
}

RESP_HANDLER(resp_c_hdel)
{
	size_t n = (size_t)(argc - 2);
	const char **f = malloc(n * sizeof *f);
	size_t *lens = malloc(n * sizeof *lens);
	if (!f || !lens)
		abort();
	for (size_t i = 0; i < n; i++) {
		f[i] = argv[2 + i].p;
		lens[i] = argv[2 + i].len;
	}
	int64_t removed;
	int rc = ks_hdel(cl->srv->ks, argv[1].p, argv[1].len, n, f, lens, &removed);
	free(f);
	free(lens);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, removed);
	return 0;
}

RESP_HANDLER(resp_c_hlen)
{
	(void)argc;
	int bad;
	rhash_t *h = get_hash(cl, &argv[1], &bad);
	if (!bad)
		resp_int(cl->out, h ? (int64_t)rhash_len(h) : 0);
	return 0;
}

RESP_HANDLER(resp_c_hexists)
{
	(void)argc;
	int bad;
	rhash_t *h = get_hash(cl, &argv[1], &bad);
	if (!bad)
		resp_int(cl->out, h && rhash_get(h, argv[2].p, argv[2].len) ? 1 : 0);
	return 0;
}

RESP_HANDLER(resp_c_hstrlen)
{
	(void)argc;
	int bad;
	rhash_t *h = get_hash(cl, &argv[1], &bad);
	if (bad)
		return 0;
	const rhent_t *e = h ? rhash_get(h, argv[2].p, argv[2].len) : NULL;
	resp_int(cl->out, e ? (int64_t)e->vlen : 0);
	return 0;
}

RESP_HANDLER(resp_c_hincrby)
{
	(void)argc;
	int64_t by, out;
	if (resp_arg_ll_or_reply(cl, &argv[3], &by) < 0)
		return 0;
	int rc = ks_hincrby(cl->srv->ks, argv[1].p, argv[1].len, argv[2].p, argv[2].len, by, &out);
	if (rc == SL_EINVAL)
		resp_error(cl->out, "ERR hash value is not an integer");
	else if (rc == SL_ERANGE)
		resp_error(cl->out, "ERR increment or decrement would overflow");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, out);
	return 0;
}

RESP_HANDLER(resp_c_hincrbyfloat)
{
	(void)argc;
	long double by;
	if (resp_arg_ldouble(cl, &argv[3], &by, NULL) < 0)
		return 0;
	if (isnan(by) || isinf(by)) {
		resp_error(cl->out, "ERR value is NaN or Infinity");
		return 0;
	}
	char out[NUM_LD_CHARS];
	size_t n;
	int rc = ks_hincrbyfloat(cl->srv->ks, argv[1].p, argv[1].len, argv[2].p, argv[2].len, by,
	                         out, &n);
	if (rc == SL_EINVAL)
		resp_error(cl->out, "ERR hash value is not a float");
	else if (rc == SL_ERANGE)
		resp_error(cl->out, "ERR increment would produce NaN or Infinity");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_bulk(cl->out, out, n);
	return 0;
}

static void put_pair(resp_cli_t *cl, const rhent_t *e, int withvalues)
{
	if (withvalues && cl->proto > 2)
		resp_array(cl->out, 2);
	resp_bulk(cl->out, e->d, e->flen);
	if (withvalues)
		resp_bulk(cl->out, rhent_val(e), e->vlen);
}

RESP_HANDLER(resp_c_hrandfield)
{
	keyspace_t *ks = cl->srv->ks;
	int bad;
	if (argc == 2) {
		rhash_t *h = get_hash(cl, &argv[1], &bad);
		if (bad)
			return 0;
		if (!h) {
			resp_null(cl->out, cl->proto);
			return 0;
		}
		rhent_t *e = odict_at(&h->d, odict_random(&h->d, ks_rng(ks)));
		resp_bulk(cl->out, e->d, e->flen);
		return 0;
	}
	int64_t l;
	int withvalues;
	if (resp_randmember_args(cl, argc, argv, "withvalues", &l, &withvalues) < 0)
		return 0;
	rhash_t *h = get_hash(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!h || l == 0) {
		resp_array(cl->out, 0);
		return 0;
	}
	size_t size = rhash_len(h);
	int uniq = l > 0;
	uint64_t count = l > 0 ? (uint64_t)l : (uint64_t)(-l);
	if (!uniq || count == 1) {
		resp_array(cl->out, withvalues && cl->proto == 2 ? count * 2 : count);
		while (count--)
			put_pair(cl, odict_at(&h->d, odict_random(&h->d, ks_rng(ks))), withvalues);
		return 0;
	}
	size_t k = count < size ? (size_t)count : size;
	resp_array(cl->out, withvalues && cl->proto == 2 ? k * 2 : k);
	if (count >= size) {
		size_t it = 0;
		for (rhent_t *e; (e = rhash_next(h, &it)) != NULL;)
			put_pair(cl, e, withvalues);
		return 0;
	}
	/* k distinct fields: sample ranks, then walk the order once. */
	size_t *pick = malloc(k * sizeof *pick);
	if (!pick)
		abort();
	resp_sample(ks_rng(ks), size, k, pick);
	rhent_t **all = malloc(size * sizeof *all);
	if (!all)
		abort();
	size_t it = 0, i = 0;
	for (rhent_t *e; (e = rhash_next(h, &it)) != NULL;)
		all[i++] = e;
	for (size_t j = 0; j < k; j++)
		put_pair(cl, all[pick[j]], withvalues);
	free(all);
	free(pick);
	return 0;
}

RESP_HANDLER(resp_c_hscan)
{
	uint64_t cursor;
	if (resp_scan_cursor(cl, &argv[2], &cursor) < 0)
		return 0;
	int bad;
	rhash_t *h = get_hash(cl, &argv[1], &bad);
	if (bad)
		return 0;
	if (!h) {
		resp_empty_scan(cl);
		return 0;
	}
	int64_t count;
	const resp_arg_t *pat;
	if (resp_scan_opts(cl, argc, argv, &count, &pat) < 0)
		return 0;
	/* A listpack-encoded hash answers whole with cursor 0, as Redis does;
	 * a bigger one walks the insertion order, the cursor a position. */
	size_t it = h->big ? (size_t)cursor : 0, n = 0;
	int64_t seen = 0;
	buf_t tmp = BUF_INIT;
	for (rhent_t *e; (!h->big || seen < count) && (e = rhash_next(h, &it)) != NULL; seen++) {
		if (!resp_scan_match(pat, e->d, e->flen))
			continue;
		resp_bulk(&tmp, e->d, e->flen);
		resp_bulk(&tmp, rhent_val(e), e->vlen);
		n += 2;
	}
	size_t probe = it;
	if (!h->big || !rhash_next(h, &probe))
		it = 0;
	resp_scan_reply(cl, it, n, &tmp);
	return 0;
}
