/*
 * keyspace_list.c — the list mutations of the keyspace (see keyspace.h):
 * push, pop, LSET, LINSERT, LREM, LTRIM, LMOVE.
 *
 * Each one: refuse when no write can be made, look the key up (an expired
 * key is deleted first), reserve the keys-journal records it will append,
 * then change the list (list.h) and log the change (kv_store.h). A list
 * that becomes empty is deleted, as Redis does; its last POP/LREM/LTRIM
 * record implies the deletion on replay. Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

/* The list at key for a write: *l NULL when absent; SL_ESTATE when the
 * key holds another type; or the error of deleting an expired key. */
static int list_w(keyspace_t *ks, const char *key, size_t klen, qlist_t **l)
{
	int rc = ks_writable(ks);
	*l = NULL;
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (o && o->type != KS_LIST)
		return SL_ESTATE;
	*l = o ? o->ptr : NULL;
	return 0;
}

/* After a removal: deletes the key when its list became empty. */
static void drop_if_empty(keyspace_t *ks, const char *key, size_t klen, qlist_t *l)
{
	if (qlist_len(l))
		return;
	ks_obj_drop(ks, key, klen);
	ks_event(ks, key, klen, KS_EV_DELETED);
}

int ks_push(keyspace_t *ks, const char *key, size_t klen, int tail, int only_existing, int n,
            const char *const *vals, const size_t *lens, int64_t *len)
{
	qlist_t *l;
	int rc = list_w(ks, key, klen, &l);
	*len = 0;
	if (rc < 0)
		return rc;
	if (!l && only_existing)
		return 0;
	if ((rc = ks_reserve(ks, kvs_push_bytes(klen, n, lens), 0)) < 0)
		return rc;
	if (!l) {
		l = qlist_new();
		ks_obj_add(ks, key, klen, KS_LIST, l);
	}
	for (int i = 0; i < n; i++)
		qlist_push(l, tail, qlv_new(vals[i], lens[i]));
	kvs_log_push(ks->kv, key, klen, tail, n, (const void *const *)vals, lens);
	*len = (int64_t)qlist_len(l);
	ks_event(ks, key, klen, KS_EV_DATA);
	return 0;
}

int ks_pop(keyspace_t *ks, const char *key, size_t klen, int tail, int64_t count, ks_val_fn fn,
           void *arg, int64_t *popped)
{
	qlist_t *l;
	int rc = list_w(ks, key, klen, &l);
	*popped = 0;
	if (rc < 0 || !l || count <= 0)
		return rc;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, 0), 0)) < 0)
		return rc;
	uint64_t freed = 0;
	int64_t k = 0;
	while (k < count && qlist_len(l)) {
		qlv_t *v = qlist_pop(l, tail);
		fn(arg, v->p, v->len);
		freed += kvs_cost(v->len);
		free(v);
		k++;
	}
	kvs_log_pop(ks->kv, key, klen, tail, (uint64_t)k, freed);
	*popped = k;
	ks_event(ks, key, klen, KS_EV_CHANGED);
	drop_if_empty(ks, key, klen, l);
	return 0;
}

int ks_lset(keyspace_t *ks, const char *key, size_t klen, int64_t idx, const void *v, size_t n)
{
	qlist_t *l;
	int rc = list_w(ks, key, klen, &l);
	if (rc < 0)
		return rc;
	if (!l)
		return SL_ENOENT;
	int64_t i = qlist_norm(l, idx);
	if (i < 0)
		return SL_ERANGE;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, n), 0)) < 0)
		return rc;
	uint64_t freed = kvs_cost(qlist_at(l, i)->len);
	qlist_set(l, i, qlv_new(v, n));
	kvs_log_lset(ks->kv, key, klen, (uint64_t)i, v, n, freed);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_linsert(keyspace_t *ks, const char *key, size_t klen, int after, const void *pivot,
               size_t plen, const void *v, size_t n, int64_t *len)
{
	qlist_t *l;
	int rc = list_w(ks, key, klen, &l);
	*len = 0;
	if (rc < 0 || !l)
		return rc;
	qlist_iter_t it;
	qlist_iter_init(l, &it, 0, 0);
	int64_t i = 0, found = -1;
	for (qlv_t *e; (e = qlist_iter_next(&it)) != NULL; i++) {
		if (e->len == plen && memcmp(e->p, pivot, plen) == 0) {
			found = i;
			break;
		}
	}
	if (found < 0) {
		*len = -1;
		return 0;
	}
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, n), 0)) < 0)
		return rc;
	int64_t at = found + (after != 0);
	qlist_insert(l, at, qlv_new(v, n));
	kvs_log_linsert(ks->kv, key, klen, (uint64_t)at, v, n);
	*len = (int64_t)qlist_len(l);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_lrem(keyspace_t *ks, const char *key, size_t klen, int64_t count, const void *v, size_t n,
            int64_t *removed)
{
	qlist_t *l;
	int rc = list_w(ks, key, klen, &l);
	*removed = 0;
	if (rc < 0 || !l)
		return rc;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, n), 0)) < 0)
		return rc;
	size_t k = qlist_rem(l, count, v, n);
	if (k) {
		kvs_log_lrem(ks->kv, key, klen, count, v, n, k * kvs_cost(n));
		ks_event(ks, key, klen, KS_EV_CHANGED);
		drop_if_empty(ks, key, klen, l);
	}
	*removed = (int64_t)k;
	return 0;
}

int ks_ltrim(keyspace_t *ks, const char *key, size_t klen, int64_t start, int64_t stop)
{
	qlist_t *l;
	int rc = list_w(ks, key, klen, &l);
	if (rc < 0 || !l)
		return rc;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, 0), 0)) < 0)
		return rc;
	uint64_t before = l->bytes + 4 * qlist_len(l);
	size_t len = qlist_len(l);
	qlist_trim(l, start, stop);
	if (qlist_len(l) != len) {
		kvs_log_ltrim(ks->kv, key, klen, start, stop,
		              before - (l->bytes + 4 * qlist_len(l)));
		ks_event(ks, key, klen, KS_EV_CHANGED);
		drop_if_empty(ks, key, klen, l);
	}
	return 0;
}

int ks_lmove(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen, int from,
             int to, ks_val_fn fn, void *arg)
{
	qlist_t *sl, *dl;
	int rc = list_w(ks, src, slen, &sl);
	if (rc < 0 || !sl)
		return rc;
	if ((rc = list_w(ks, dst, dlen, &dl)) < 0)
		return rc;
	/* A POP and a PUSH record: both reserved, so both are written. */
	size_t vlen = qlist_at(sl, from ? (int64_t)qlist_len(sl) - 1 : 0)->len;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(slen, 0) + kvs_push_bytes(dlen, 1, &vlen), 0)) < 0)
		return rc;
	qlv_t *v = qlist_pop(sl, from);
	kvs_log_pop(ks->kv, src, slen, from, 1, kvs_cost(v->len));
	fn(arg, v->p, v->len);
	const void *vp = v->p;
	size_t vl = v->len;
	if (!dl) { /* (src == dst gives dl == sl, so this is another key) */
		dl = qlist_new();
		ks_obj_add(ks, dst, dlen, KS_LIST, dl);
	}
	qlist_push(dl, to, v);
	kvs_log_push(ks->kv, dst, dlen, to, 1, &vp, &vl);
	/* Redis's order of events: the push, the pop, the deletion. */
	ks_event(ks, dst, dlen, KS_EV_DATA);
	ks_event(ks, src, slen, KS_EV_CHANGED);
	if (sl != dl)
		drop_if_empty(ks, src, slen, sl);
	return 1;
}
