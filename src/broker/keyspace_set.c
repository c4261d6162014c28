/*
 * keyspace_set.c — the set mutations of the keyspace (see keyspace.h):
 * SADD, SREM, SPOP, SMOVE and the stores of computed sets (SINTERSTORE,
 * SUNIONSTORE, SDIFFSTORE).
 *
 * The keyspace's write pattern (refuse, look up, reserve, apply, log):
 * SADD / SREM records of the members (kv_store.h). A set that empties is
 * deleted; its last SREM implies the deletion on replay. SPOP picks its
 * members at random, so it takes them out first, reserves the SREM record
 * their sizes need, and puts them back if that is refused: nothing is
 * replied or logged before the write is certain. Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "core/buf.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static int set_w(keyspace_t *ks, const char *key, size_t klen, rset_t **s)
{
	int rc = ks_writable(ks);
	*s = NULL;
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (o && o->type != KS_SET)
		return SL_ESTATE;
	*s = o ? o->ptr : NULL;
	return 0;
}

static void drop_if_empty(keyspace_t *ks, const char *key, size_t klen, rset_t *s)
{
	if (rset_len(s))
		return;
	ks_obj_drop(ks, key, klen);
	ks_event(ks, key, klen, KS_EV_DELETED);
}

/* Members copied out of a set (their texts in one buffer), for the
 * records that name them. */
typedef struct mlist {
	buf_t b;
	size_t n, cap;
	size_t *off, *len;
	const char **p;
} mlist_t;

static void ml_add(mlist_t *ml, const char *m, size_t n)
{
	if (ml->n == ml->cap) {
		ml->cap = ml->cap ? ml->cap * 2 : 16;
		ml->off = realloc(ml->off, ml->cap * sizeof *ml->off);
		ml->len = realloc(ml->len, ml->cap * sizeof *ml->len);
		if (!ml->off || !ml->len)
			abort();
	}
	ml->off[ml->n] = buf_len(&ml->b);
	ml->len[ml->n++] = n;
	buf_append(&ml->b, m, n);
}

/* Pointers into the buffer, once it stopped growing. */
static void ml_seal(mlist_t *ml)
{
	ml->p = malloc((ml->n ? ml->n : 1) * sizeof *ml->p);
	if (!ml->p)
		abort();
	for (size_t i = 0; i < ml->n; i++)
		ml->p[i] = (const char *)buf_data(&ml->b) + ml->off[i];
}

static void ml_free(mlist_t *ml)
{
	buf_deinit(&ml->b);
	free(ml->off);
	free(ml->len);
	free(ml->p);
}

int ks_sadd(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *m,
            const size_t *lens, int64_t *added)
{
	rset_t *s;
	int rc = set_w(ks, key, klen, &s);
	*added = 0;
	if (rc < 0)
		return rc;
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_SADD, klen, n, lens), 0)) < 0)
		return rc;
	int created = !s;
	if (!s) {
		s = rset_new();
		ks_obj_add(ks, key, klen, KS_SET, s);
	}
	uint64_t before = s->bytes;
	for (size_t i = 0; i < n; i++)
		*added += rset_add(s, m[i], lens[i], ks->enc.set_intset);
	if (*added || created) {
		kvs_log_items(ks->kv, KVS_R_SADD, key, klen, n, m, lens, NULL, s->bytes - before,
		              0);
		ks_event(ks, key, klen, KS_EV_CHANGED);
	}
	return 0;
}

int ks_srem(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *m,
            const size_t *lens, int64_t *removed)
{
	rset_t *s;
	int rc = set_w(ks, key, klen, &s);
	*removed = 0;
	if (rc < 0 || !s)
		return rc;
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_SREM, klen, n, lens), 0)) < 0)
		return rc;
	uint64_t before = s->bytes;
	for (size_t i = 0; i < n; i++)
		*removed += rset_del(s, m[i], lens[i]);
	if (!*removed)
		return 0;
	kvs_log_items(ks->kv, KVS_R_SREM, key, klen, n, m, lens, NULL, 0, before - s->bytes);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	drop_if_empty(ks, key, klen, s);
	return 0;
}

int ks_spop(keyspace_t *ks, const char *key, size_t klen, int64_t count, ks_val_fn fn, void *arg,
            int64_t *popped)
{
	rset_t *s;
	int rc = set_w(ks, key, klen, &s);
	*popped = 0;
	if (rc < 0 || !s || count <= 0)
		return rc;
	if ((uint64_t)count >= rset_len(s)) {
		/* The whole set, in the order Redis replies it (it unions the
		 * set into a new one: an intset when the members allow). */
		ks_obj_t *o = map_get(&ks->keys, key, klen);
		uint64_t kv = 0, ss = 0;
		ks_del_cost(ks, key, klen, o, &kv, &ss);
		if ((rc = ks_reserve(ks, kv, ss)) < 0)
			return rc;
		rset_t *u = rset_new();
		rset_iter_t it;
		rset_iter_init(s, &it);
		const char *m;
		size_t n;
		while ((m = rset_iter_next(&it, &n)) != NULL)
			rset_add(u, m, n, ks->enc.set_intset);
		rset_iter_init(u, &it);
		while ((m = rset_iter_next(&it, &n)) != NULL) {
			fn(arg, m, n);
			(*popped)++;
		}
		rset_free(u);
		ks_del_key(ks, key, klen, o);
		return 0;
	}
	/* Take the members out, then reserve their record; put them back if
	 * it is refused. */
	mlist_t ml = {0};
	uint64_t before = s->bytes;
	char buf[24];
	for (int64_t i = 0; i < count; i++) {
		size_t n, pos;
		const char *m = rset_random(s, &ks->rng, buf, &n, &pos);
		ml_add(&ml, m, n);
		rset_del_at(s, pos);
	}
	ml_seal(&ml);
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_SREM, klen, ml.n, ml.len), 0)) < 0) {
		for (size_t i = 0; i < ml.n; i++)
			rset_add(s, ml.p[i], ml.len[i], ks->enc.set_intset);
		ml_free(&ml);
		return rc;
	}
	for (size_t i = 0; i < ml.n; i++)
		fn(arg, ml.p[i], ml.len[i]);
	kvs_log_items(ks->kv, KVS_R_SREM, key, klen, ml.n, ml.p, ml.len, NULL, 0,
	              before - s->bytes);
	*popped = (int64_t)ml.n;
	ml_free(&ml);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	drop_if_empty(ks, key, klen, s);
	return 0;
}

int ks_smove(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen,
             const char *m, size_t mlen)
{
	rset_t *s, *d;
	int rc = set_w(ks, src, slen, &s);
	if (rc < 0 || !s)
		return rc; /* a missing src answers 0 whatever dst holds */
	if ((rc = set_w(ks, dst, dlen, &d)) < 0)
		return rc;
	if (s == d)
		return rset_has(s, m, mlen);
	if (!rset_has(s, m, mlen))
		return 0;
	uint64_t bytes = kvs_items_bytes(KVS_R_SREM, slen, 1, &mlen) +
	                 kvs_items_bytes(KVS_R_SADD, dlen, 1, &mlen);
	if ((rc = ks_reserve(ks, bytes, 0)) < 0)
		return rc;
	uint64_t before = s->bytes;
	rset_del(s, m, mlen);
	kvs_log_items(ks->kv, KVS_R_SREM, src, slen, 1, &m, &mlen, NULL, 0, before - s->bytes);
	ks_event(ks, src, slen, KS_EV_CHANGED);
	drop_if_empty(ks, src, slen, s);
	if (!d) {
		d = rset_new();
		ks_obj_add(ks, dst, dlen, KS_SET, d);
	}
	before = d->bytes;
	if (rset_add(d, m, mlen, ks->enc.set_intset)) {
		kvs_log_items(ks->kv, KVS_R_SADD, dst, dlen, 1, &m, &mlen, NULL, d->bytes - before,
		              0);
		ks_event(ks, dst, dlen, KS_EV_CHANGED);
	}
	return 1;
}

int ks_sstore(keyspace_t *ks, const char *dst, size_t dlen, rset_t *res)
{
	int rc = ks_writable(ks);
	ks_obj_t *o = NULL;
	if (rc == 0)
		o = ks_lookup_w(ks, dst, dlen, &rc);
	if (rc < 0) {
		rset_free(res);
		return rc;
	}
	mlist_t ml = {0};
	rset_iter_t it;
	rset_iter_init(res, &it);
	const char *m;
	size_t n;
	while ((m = rset_iter_next(&it, &n)) != NULL)
		ml_add(&ml, m, n);
	ml_seal(&ml);
	uint64_t kv = 0, ss = 0;
	if (o)
		ks_del_cost(ks, dst, dlen, o, &kv, &ss);
	if (ml.n)
		kv += kvs_items_bytes(KVS_R_SADD, dlen, ml.n, ml.len);
	if ((rc = ks_reserve(ks, kv, ss)) < 0) {
		ml_free(&ml);
		rset_free(res);
		return rc;
	}
	if (o)
		ks_del_key(ks, dst, dlen, o);
	if (ml.n) {
		ks_obj_add(ks, dst, dlen, KS_SET, res);
		kvs_log_items(ks->kv, KVS_R_SADD, dst, dlen, ml.n, ml.p, ml.len, NULL, res->bytes,
		              0);
		ks_event(ks, dst, dlen, KS_EV_DATA);
	} else {
		rset_free(res);
	}
	ml_free(&ml);
	return 0;
}
