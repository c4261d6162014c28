/*
 * keyspace_zset.c — the sorted-set mutations of the keyspace (see
 * keyspace.h): ZADD (all its flags, ZINCRBY), ZREM, ZREMRANGEBY*, ZPOPMIN
 * and ZPOPMAX (and through them ZMPOP and the blocking pops), and the
 * stores of computed sets (ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE,
 * ZDIFFSTORE).
 *
 * The keyspace's write pattern (refuse, look up, reserve, apply, log):
 * ZADD records carry the scores members end up with, so replay needs no
 * arithmetic (ZINCRBY logs its result); ZREM records name the members
 * removed. A sorted set that empties is deleted, as Redis does; its last
 * ZREM implies the deletion on replay. Removals by range or pops find
 * their members first, reserve the record that names them, then remove.
 * The encoding OBJECT ENCODING reports (zset.h `big`) follows Redis:
 * chosen at creation from the first member, left for good when the set
 * outgrows zset-max-listpack-*, and chosen afresh for a stored result.
 * Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int zset_w(keyspace_t *ks, const char *key, size_t klen, zset_t **z)
{
	int rc = ks_writable(ks);
	*z = NULL;
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (o && o->type != KS_ZSET)
		return SL_ESTATE;
	*z = o ? o->ptr : NULL;
	return 0;
}

static void drop_if_empty(keyspace_t *ks, const char *key, size_t klen, zset_t *z)
{
	if (zset_len(z))
		return;
	ks_obj_drop(ks, key, klen);
	ks_event(ks, key, klen, KS_EV_DELETED);
}

static void *xmalloc(size_t n)
{
	/* Zeroed: gcc -O2 cannot see that a zero-length array is never read. */
	void *p = calloc(n ? n : 1, 1);
	if (!p)
		abort();
	return p;
}

int ks_zadd(keyspace_t *ks, const char *key, size_t klen, int flags, size_t n, const double *scores,
            const char *const *m, const size_t *lens, int64_t *added, int64_t *changed,
            double *score)
{
	zset_t *z;
	int rc = zset_w(ks, key, klen, &z);
	*added = *changed = 0;
	if (rc < 0)
		return rc;
	int nx = flags & KS_Z_NX, xx = flags & KS_Z_XX, gt = flags & KS_Z_GT, lt = flags & KS_Z_LT;
	int incr = flags & KS_Z_INCR;
	if (!z && xx)
		return 0;
	if (incr) {
		/* One pair: work the result out before anything changes. */
		znode_t *x = z ? zset_find(z, m[0], lens[0]) : NULL;
		if (x) {
			if (nx)
				return 0;
			double s = x->score + scores[0];
			if (isnan(s))
				return SL_ERANGE;
			if ((lt && s >= x->score) || (gt && s <= x->score))
				return 0;
		}
	}
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_ZADD, klen, n, lens), 0)) < 0)
		return rc;
	if (!z) {
		z = zset_new();
		z->big = ks->enc.zset_entries == 0 || lens[0] > ks->enc.zset_value;
		ks_obj_add(ks, key, klen, KS_ZSET, z);
	}
	/* The members whose score was set, for the record. */
	const char **lm = xmalloc(n * sizeof *lm);
	size_t *ll = xmalloc(n * sizeof *ll);
	double *ls = xmalloc(n * sizeof *ls);
	size_t nl = 0;
	int done = 0;
	uint64_t before = z->bytes;
	for (size_t i = 0; i < n; i++) {
		double s = scores[i];
		znode_t *x = zset_find(z, m[i], lens[i]);
		if (x) {
			if (nx)
				continue;
			if (incr)
				s += x->score;
			if ((lt && s >= x->score) || (gt && s <= x->score))
				continue;
			s = zset_lp_score(z, s);
			done = 1;
			if (s != x->score) {
				zset_update(z, x, s);
				(*changed)++;
			}
		} else {
			if (xx)
				continue;
			zset_enc(z, ks->enc.zset_entries, ks->enc.zset_value, lens[i]);
			s = zset_lp_score(z, s);
			zset_add(z, m[i], lens[i], s);
			(*added)++;
			(*changed)++;
			done = 1;
		}
		*score = s;
		lm[nl] = m[i];
		ll[nl] = lens[i];
		ls[nl++] = s;
	}
	if (nl) {
		kvs_log_items(ks->kv, KVS_R_ZADD, key, klen, nl, lm, ll, ls,
		              z->bytes > before ? z->bytes - before : 0, 0);
		ks_event(ks, key, klen, *added ? KS_EV_DATA : KS_EV_CHANGED);
	}
	free(lm);
	free(ll);
	free(ls);
	return done;
}

int ks_zrem(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *m,
            const size_t *lens, int64_t *removed)
{
	zset_t *z;
	int rc = zset_w(ks, key, klen, &z);
	*removed = 0;
	if (rc < 0 || !z)
		return rc;
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_ZREM, klen, n, lens), 0)) < 0)
		return rc;
	uint64_t before = z->bytes;
	for (size_t i = 0; i < n; i++) {
		znode_t *x = zset_find(z, m[i], lens[i]);
		if (x) {
			zset_del(z, x);
			(*removed)++;
		}
	}
	if (!*removed)
		return 0;
	kvs_log_items(ks->kv, KVS_R_ZREM, key, klen, n, m, lens, NULL, 0, before - z->bytes);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	drop_if_empty(ks, key, klen, z);
	return 0;
}

/* Removes the k nodes xs (their ZREM record is reserved here): 0, or the
 * refusal. When fn is set each member goes to it first, in order. */
static int remove_nodes(keyspace_t *ks, const char *key, size_t klen, zset_t *z, znode_t **xs,
                        size_t k, ks_zval_fn fn, void *arg)
{
	const char **lm = xmalloc(k * sizeof *lm);
	size_t *ll = xmalloc(k * sizeof *ll);
	for (size_t i = 0; i < k; i++) {
		lm[i] = xs[i]->m;
		ll[i] = xs[i]->mlen;
	}
	int rc = ks_reserve(ks, kvs_items_bytes(KVS_R_ZREM, klen, k, ll), 0);
	if (rc == 0) {
		for (size_t i = 0; fn && i < k; i++)
			fn(arg, xs[i]->m, xs[i]->mlen, xs[i]->score);
		/* Logged before the nodes (which hold the members) are freed. */
		uint64_t freed = 0;
		for (size_t i = 0; i < k; i++)
			freed += zset_cost(xs[i]->mlen);
		kvs_log_items(ks->kv, KVS_R_ZREM, key, klen, k, lm, ll, NULL, 0, freed);
		for (size_t i = 0; i < k; i++)
			zset_del(z, xs[i]);
		ks_event(ks, key, klen, KS_EV_CHANGED);
		drop_if_empty(ks, key, klen, z);
	}
	free(lm);
	free(ll);
	return rc;
}

int ks_zremrange(keyspace_t *ks, const char *key, size_t klen, const ks_zsel_t *sel,
                 int64_t *removed)
{
	zset_t *z;
	int rc = zset_w(ks, key, klen, &z);
	*removed = 0;
	if (rc < 0 || !z)
		return rc;
	znode_t *x = NULL;
	int64_t left = INT64_MAX;
	if (sel->kind == KS_ZR_RANK) {
		int64_t len = (int64_t)zset_len(z), start = sel->start, stop = sel->stop;
		if (start < 0)
			start += len;
		if (stop < 0)
			stop += len;
		if (start < 0)
			start = 0;
		if (start > stop || start >= len)
			return 0;
		if (stop >= len)
			stop = len - 1;
		x = zset_at(z, (uint64_t)start);
		left = stop - start + 1;
	} else if (sel->kind == KS_ZR_SCORE) {
		x = zset_first_in(z, &sel->score);
	} else {
		x = zset_first_in_lex(z, &sel->lex);
	}
	size_t k = 0, cap = 0;
	znode_t **xs = NULL;
	for (; x && left > 0; x = zset_next(x), left--) {
		if (sel->kind == KS_ZR_SCORE && !zset_score_lte_max(x->score, &sel->score))
			break;
		if (sel->kind == KS_ZR_LEX && !zset_lex_lte_max(x, &sel->lex))
			break;
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			xs = realloc(xs, cap * sizeof *xs);
			if (!xs)
				abort();
		}
		xs[k++] = x;
	}
	if (k && (rc = remove_nodes(ks, key, klen, z, xs, k, NULL, NULL)) == 0)
		*removed = (int64_t)k;
	free(xs);
	return rc;
}

int ks_zpop(keyspace_t *ks, const char *key, size_t klen, int max, int64_t count, ks_zval_fn fn,
            void *arg, int64_t *popped)
{
	zset_t *z;
	int rc = zset_w(ks, key, klen, &z);
	*popped = 0;
	if (rc < 0 || !z || count <= 0)
		return rc;
	size_t k = (uint64_t)count < zset_len(z) ? (size_t)count : zset_len(z);
	znode_t **xs = xmalloc(k * sizeof *xs);
	znode_t *x = max ? zset_last(z) : zset_first(z);
	for (size_t i = 0; i < k; i++) {
		xs[i] = x;
		x = max ? zset_prev(z, x) : zset_next(x);
	}
	rc = remove_nodes(ks, key, klen, z, xs, k, fn, arg);
	if (rc == 0)
		*popped = (int64_t)k;
	free(xs);
	return rc;
}

int ks_zstore(keyspace_t *ks, const char *dst, size_t dlen, zset_t *res)
{
	int rc = ks_writable(ks);
	ks_obj_t *o = NULL;
	if (rc == 0)
		o = ks_lookup_w(ks, dst, dlen, &rc);
	if (rc < 0) {
		zset_free(res);
		return rc;
	}
	size_t n = zset_len(res), i = 0, maxlen = 0;
	for (znode_t *x = zset_first(res); x; x = zset_next(x))
		if (x->mlen > maxlen)
			maxlen = x->mlen;
	res->big = n > ks->enc.zset_entries || maxlen > ks->enc.zset_value;
	const char **lm = xmalloc(n * sizeof *lm);
	size_t *ll = xmalloc(n * sizeof *ll);
	double *ls = xmalloc(n * sizeof *ls);
	for (znode_t *x = zset_first(res); x; x = zset_next(x), i++) {
		/* In place: -0 and 0 sort alike. */
		x->score = zset_lp_score(res, x->score);
		lm[i] = x->m;
		ll[i] = x->mlen;
		ls[i] = x->score;
	}
	uint64_t kv = 0, ss = 0;
	if (o)
		ks_del_cost(ks, dst, dlen, o, &kv, &ss);
	if (n)
		kv += kvs_items_bytes(KVS_R_ZADD, dlen, n, ll);
	if ((rc = ks_reserve(ks, kv, ss)) == 0) {
		if (o)
			ks_del_key(ks, dst, dlen, o);
		if (n) {
			ks_obj_add(ks, dst, dlen, KS_ZSET, res);
			kvs_log_items(ks->kv, KVS_R_ZADD, dst, dlen, n, lm, ll, ls, res->bytes, 0);
			ks_event(ks, dst, dlen, KS_EV_DATA);
			res = NULL;
		}
	}
	zset_free(res);
	free(lm);
	free(ll);
	free(ls);
	return rc;
}
