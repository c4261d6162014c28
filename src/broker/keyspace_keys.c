/*
 * keyspace_keys.c — the keyspace's generic key commands (see keyspace.h):
 * DEL, RANDOMKEY, FLUSHALL, EXPIRE, PERSIST, RENAME; and those that create
 * a value from another: COPY, and the store of a computed list (SORT ...
 * STORE).
 *
 * COPY is one COPY record in the keys journal (kv_store.h): replay copies
 * the value and its expiry the same way, so the record stays small
 * whatever the value's size. A destination holding a stream is deleted
 * through the streams journal first, reserved with the record. Streams
 * themselves cannot be copied (their entries live in a log of their own).
 * Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>
#include <string.h>

int ks_copy(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen, int replace)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	ks_obj_t *s = ks_lookup_w(ks, src, slen, &rc);
	if (rc < 0)
		return rc;
	if (!s)
		return 0;
	if (s->type == KS_STREAM)
		return SL_EINVAL;
	ks_obj_t *d = ks_lookup_w(ks, dst, dlen, &rc);
	if (rc < 0)
		return rc;
	if (d && !replace)
		return 0;
	uint64_t kv = kvs_rec_bytes(slen, dlen), ss = 0, freed = 0;
	if (d && d->type == KS_STREAM)
		ks_del_cost(ks, dst, dlen, d, &kv, &ss);
	if ((rc = ks_reserve(ks, kv, ss)) < 0)
		return rc;
	if (d && d->type == KS_STREAM) {
		ks_del_key(ks, dst, dlen, d);
	} else if (d) {
		/* Implied by the COPY record on replay. */
		freed = ks_obj_cost(d) + dlen;
		ks_obj_drop(ks, dst, dlen);
		ks_event(ks, dst, dlen, KS_EV_DELETED);
	}
	ks_obj_t *o = ks_obj_add(ks, dst, dlen, s->type, ks_val_dup(s->type, s->ptr));
	o->raw = s->raw;
	ks_obj_set_at(ks, o, s->at);
	kvs_log_copy(ks->kv, src, slen, dst, dlen, ks_obj_cost(o), freed);
	ks_event(ks, dst, dlen, KS_EV_DATA);
	return 1;
}

int ks_lstore(keyspace_t *ks, const char *dst, size_t dlen, size_t n, const char *const *vals,
              const size_t *lens)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	ks_obj_t *d = ks_lookup_w(ks, dst, dlen, &rc);
	if (rc < 0)
		return rc;
	uint64_t kv = 0, ss = 0;
	if (d)
		ks_del_cost(ks, dst, dlen, d, &kv, &ss);
	if (n)
		kv += kvs_push_bytes(dlen, (int)n, lens);
	if ((rc = ks_reserve(ks, kv, ss)) < 0)
		return rc;
	if (d)
		ks_del_key(ks, dst, dlen, d);
	if (!n)
		return 0;
	qlist_t *l = qlist_new();
	for (size_t i = 0; i < n; i++)
		qlist_push(l, 1, qlv_new(vals[i], lens[i]));
	ks_obj_add(ks, dst, dlen, KS_LIST, l);
	kvs_log_push(ks->kv, dst, dlen, 1, (int)n, (const void *const *)vals, lens);
	ks_event(ks, dst, dlen, KS_EV_DATA);
	return 0;
}

/* --- DEL, RANDOMKEY, FLUSHALL, EXPIRE, PERSIST, RENAME -------------------------------------- */

int ks_del(keyspace_t *ks, int n, const char *const *keys, const size_t *klens, int64_t *deleted)
{
	*deleted = 0;
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	uint64_t kv = 0, ss = 0;
	for (int i = 0; i < n; i++) {
		ks_obj_t *o = ks_lookup_w(ks, keys[i], klens[i], &rc);
		if (rc < 0)
			return rc;
		if (o)
			ks_del_cost(ks, keys[i], klens[i], o, &kv, &ss);
	}
	if ((rc = ks_reserve(ks, kv, ss)) < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		ks_obj_t *o = map_get(&ks->keys, keys[i], klens[i]);
		if (!o)
			continue;
		ks_del_key(ks, keys[i], klens[i], o);
		(*deleted)++;
	}
	return 0;
}

int ks_randomkey(keyspace_t *ks, const char **key, size_t *klen)
{
	/* A random slot of the key map, then the next key from there (keys
	 * after long empty runs come up more often; Redis's pick is not fair
	 * either). An expired key is deleted and the draw retried. */
	for (int tries = 0; tries < 100 && map_len(&ks->keys); tries++) {
		const map_t *m = &ks->keys;
		size_t i = (size_t)(odict_rand(&ks->rng) & (m->cap - 1));
		while (!m->slots[i].key)
			i = (i + 1) & (m->cap - 1);
		*key = m->slots[i].key;
		*klen = m->slots[i].klen;
		if (!ks_expired(ks, *key, *klen))
			return 1;
		if (ks_expire_now(ks, *key, *klen) < 0)
			return 1; /* cannot be deleted now: Redis would show it too */
	}
	return 0;
}

int ks_flush(keyspace_t *ks)
{
	int rc = ks_writable(ks);
	if (rc == 0)
		rc = ks_reserve(ks, kvs_rec_bytes(0, 0), sstore_rec_bytes(0, 0));
	if (rc < 0)
		return rc;
	kvs_log_flush(ks->kv);
	sstore_log_flush(ks->ss);
	/* Collect first: deleting while iterating the map is not allowed. */
	size_t n = map_len(&ks->keys), i = 0, it = 0;
	char **keys = malloc((n ? n : 1) * sizeof *keys);
	size_t *lens = malloc((n ? n : 1) * sizeof *lens);
	if (!keys || !lens)
		abort();
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&ks->keys, &it, &k, &kl, &v)) {
		keys[i] = ks_memdup(k, kl);
		lens[i++] = kl;
	}
	for (size_t j = 0; j < i; j++) {
		ks_obj_drop(ks, keys[j], lens[j]);
		ks_event(ks, keys[j], lens[j], KS_EV_DELETED);
		free(keys[j]);
	}
	free(keys);
	free(lens);
	ks_exp_clear(ks);
	ks_changed(ks);
	return 0;
}

int ks_expire(keyspace_t *ks, const char *key, size_t klen, int64_t at)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (!o)
		return 0;
	if (at <= time_wall_ms()) {
		uint64_t kv = 0, ss = 0;
		ks_del_cost(ks, key, klen, o, &kv, &ss);
		if ((rc = ks_reserve(ks, kv, ss)) < 0)
			return rc;
		ks_del_key(ks, key, klen, o);
		return 1;
	}
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, 0), 0)) < 0)
		return rc;
	ks_obj_set_at(ks, o, at);
	kvs_log_expire(ks->kv, key, klen, at);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 1;
}

int ks_persist(keyspace_t *ks, const char *key, size_t klen)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (!o || !o->at)
		return 0;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, 0), 0)) < 0)
		return rc;
	ks_obj_set_at(ks, o, 0);
	kvs_log_expire(ks->kv, key, klen, 0);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 1;
}

int ks_rename(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, src, slen, &rc);
	if (rc < 0)
		return rc;
	if (!o)
		return SL_ENOENT;
	if (slen == dlen && memcmp(src, dst, slen) == 0)
		return 0;
	if (o->type == KS_STREAM)
		return SL_EINVAL;
	ks_obj_t *d = ks_lookup_w(ks, dst, dlen, &rc);
	if (rc < 0)
		return rc;
	uint64_t kv = kvs_rec_bytes(slen, dlen), ss = 0, freed = 0;
	if (d && d->type == KS_STREAM)
		ks_del_cost(ks, dst, dlen, d, &kv, &ss);
	if ((rc = ks_reserve(ks, kv, ss)) < 0)
		return rc;
	if (d && d->type == KS_STREAM) {
		/* A stream is deleted through its own journal; an overwritten
		 * list or string is implied by the RENAME record. */
		ks_del_key(ks, dst, dlen, d);
	} else if (d) {
		freed = ks_obj_cost(d) + dlen;
		ks_obj_drop(ks, dst, dlen);
	}
	(void)ks_obj_rekey(ks, src, slen, dst, dlen); /* its time goes along */
	kvs_log_rename(ks->kv, src, slen, dst, dlen, freed);
	ks_event(ks, src, slen, KS_EV_DELETED);
	ks_event(ks, dst, dlen, KS_EV_DATA);
	return 0;
}
