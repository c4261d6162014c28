/*
 * keyspace_hash.c — the hash mutations of the keyspace (see keyspace.h):
 * HSET (and HSETNX, HMSET), HDEL, HINCRBY, HINCRBYFLOAT.
 *
 * Each one follows the keyspace's write pattern: refuse when no write can
 * be made, look the key up (an expired key is deleted first), reserve the
 * keys-journal records it will append, then change the hash (hash.h) and
 * log the change (kv_store.h: HSET / HDEL records of the fields, values
 * as they end up, so replay needs no arithmetic). A hash that empties is
 * deleted, as Redis does; its last HDEL implies the deletion on replay.
 * Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "broker/num.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The hash at key for a write: *h NULL when absent; SL_ESTATE when the
 * key holds another type; or the error of deleting an expired key. */
static int hash_w(keyspace_t *ks, const char *key, size_t klen, rhash_t **h)
{
	int rc = ks_writable(ks);
	*h = NULL;
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (o && o->type != KS_HASH)
		return SL_ESTATE;
	*h = o ? o->ptr : NULL;
	return 0;
}

static rhash_t *hash_create(keyspace_t *ks, const char *key, size_t klen)
{
	rhash_t *h = rhash_new();
	ks_obj_add(ks, key, klen, KS_HASH, h);
	return h;
}

/* Logs n field/value pairs as they are now in h (bytes moved from
 * before). */
static void log_hset(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *fv,
                     const size_t *lens, uint64_t before, uint64_t after)
{
	kvs_log_items(ks->kv, KVS_R_HSET, key, klen, n, fv, lens, NULL,
	              after > before ? after - before : 0, before > after ? before - after : 0);
}

int ks_hset(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *fv,
            const size_t *lens, int nx, int64_t *added)
{
	rhash_t *h;
	int rc = hash_w(ks, key, klen, &h);
	*added = 0;
	if (rc < 0)
		return rc;
	if (nx && h && rhash_get(h, fv[0], lens[0]))
		return 0;
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_HSET, klen, n, lens), 0)) < 0)
		return rc;
	if (!h)
		h = hash_create(ks, key, klen);
	uint64_t before = h->bytes;
	for (size_t i = 0; i < n; i++) {
		*added += rhash_set(h, fv[2 * i], lens[2 * i], fv[2 * i + 1], lens[2 * i + 1]);
		rhash_enc(h, ks->enc.hash_entries, ks->enc.hash_value, lens[2 * i],
		          lens[2 * i + 1]);
	}
	log_hset(ks, key, klen, n, fv, lens, before, h->bytes);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 0;
}

int ks_hdel(keyspace_t *ks, const char *key, size_t klen, size_t n, const char *const *f,
            const size_t *lens, int64_t *removed)
{
	rhash_t *h;
	int rc = hash_w(ks, key, klen, &h);
	*removed = 0;
	if (rc < 0 || !h)
		return rc;
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_HDEL, klen, n, lens), 0)) < 0)
		return rc;
	uint64_t before = h->bytes;
	for (size_t i = 0; i < n; i++)
		*removed += rhash_del(h, f[i], lens[i]);
	if (!*removed)
		return 0;
	kvs_log_items(ks->kv, KVS_R_HDEL, key, klen, n, f, lens, NULL, 0, before - h->bytes);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	if (!rhash_len(h)) {
		ks_obj_drop(ks, key, klen);
		ks_event(ks, key, klen, KS_EV_DELETED);
	}
	return 0;
}

/* Stores the text v[0..n) as field f's value (its record reserved). */
static void hset_one(keyspace_t *ks, const char *key, size_t klen, rhash_t *h, const char *f,
                     size_t flen, const char *v, size_t n)
{
	if (!h)
		h = hash_create(ks, key, klen);
	uint64_t before = h->bytes;
	rhash_set(h, f, flen, v, n);
	rhash_enc(h, ks->enc.hash_entries, ks->enc.hash_value, flen, n);
	const char *fv[2] = {f, v};
	size_t lens[2] = {flen, n};
	log_hset(ks, key, klen, 1, fv, lens, before, h->bytes);
	ks_event(ks, key, klen, KS_EV_CHANGED);
}

int ks_hincrby(keyspace_t *ks, const char *key, size_t klen, const char *f, size_t flen, int64_t by,
               int64_t *out)
{
	rhash_t *h;
	int rc = hash_w(ks, key, klen, &h);
	if (rc < 0)
		return rc;
	int64_t cur = 0;
	rhent_t *e = h ? rhash_get(h, f, flen) : NULL;
	if (e && num_str2ll(rhent_val(e), e->vlen, &cur) < 0)
		return SL_EINVAL;
	if ((by < 0 && cur < 0 && by < INT64_MIN - cur) ||
	    (by > 0 && cur > 0 && by > INT64_MAX - cur))
		return SL_ERANGE;
	cur += by;
	char tmp[24];
	size_t n = num_ll2str(tmp, cur);
	size_t lens[2] = {flen, n};
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_HSET, klen, 1, lens), 0)) < 0)
		return rc;
	hset_one(ks, key, klen, h, f, flen, tmp, n);
	*out = cur;
	return 0;
}

int ks_hincrbyfloat(keyspace_t *ks, const char *key, size_t klen, const char *f, size_t flen,
                    long double by, char *out, size_t *outlen)
{
	rhash_t *h;
	int rc = hash_w(ks, key, klen, &h);
	if (rc < 0)
		return rc;
	long double cur = 0;
	rhent_t *e = h ? rhash_get(h, f, flen) : NULL;
	if (e && num_str2ld(rhent_val(e), e->vlen, &cur) < 0)
		return SL_EINVAL;
	cur += by;
	if (isnan(cur) || isinf(cur))
		return SL_ERANGE;
	size_t n = num_ld2str_human(out, NUM_LD_CHARS, cur);
	size_t lens[2] = {flen, n};
	if ((rc = ks_reserve(ks, kvs_items_bytes(KVS_R_HSET, klen, 1, lens), 0)) < 0)
		return rc;
	hset_one(ks, key, klen, h, f, flen, out, n);
	*outlen = n;
	return 0;
}
