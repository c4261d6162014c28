/*
 * keyspace_string.c — the string mutations of the keyspace (see
 * keyspace.h): SET (and its forms), MSET, MSETNX, INCRBY, INCRBYFLOAT,
 * APPEND, SETRANGE, SETBIT, GETDEL/GETEX.
 *
 * A string value is an immutable qlv_t; writes replace it. Each write logs
 * the resulting value with its absolute expiry (kv_store.h), so replay
 * needs no clock. A string written over a stream deletes the stream
 * through its own journal (DELKEY), reserved together with the SET.
 * Values edited in place in Redis (APPEND, SETRANGE, SETBIT) are marked
 * raw for OBJECT ENCODING. Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "broker/num.h"
#include "core/err.h"
#include "core/time.h"

#include <math.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The string at key was edited in place in Redis: OBJECT ENCODING says
 * raw until it is replaced. */
static void mark_raw(keyspace_t *ks, const char *key, size_t klen)
{
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o)
		o->raw = 1;
}

/* The records a SET of key (a value of vlen bytes) takes. */
/* The _o forms take the key's object (or NULL) already looked up: SET is
 * the hottest write, and each map lookup of a cold key is a cache miss. */
static void set_cost_o(const keyspace_t *ks, ks_obj_t *o, const char *key, size_t klen, size_t vlen,
                       uint64_t *kv, uint64_t *ss)
{
	if (o && o->type == KS_STREAM)
		ks_del_cost(ks, key, klen, o, kv, ss);
	*kv += kvs_rec_bytes(klen, vlen);
}

/* Stores v (owned: it may be freed at once) at key with expiry at (0:
 * none; -1: keep the current one), replacing any value of any type; its
 * records are reserved. */
static void set_cost(const keyspace_t *ks, const char *key, size_t klen, size_t vlen, uint64_t *kv,
                     uint64_t *ss)
{
	set_cost_o(ks, map_get(&ks->keys, key, klen), key, klen, vlen, kv, ss);
}

static void set_apply_o(keyspace_t *ks, ks_obj_t *o, const char *key, size_t klen, qlv_t *v,
                        int64_t at)
{
	uint64_t freed = 0;
	if (at < 0)
		at = o ? o->at : 0;
	if (o && o->type == KS_STRING) {
		freed = ks_obj_cost(o) + klen;
		o = ks_obj_set_str(ks, o, v);
	} else {
		if (o && o->type == KS_STREAM) {
			ks_del_key(ks, key, klen, o);
		} else if (o) {
			/* A list: the SET record replaces it on replay too. */
			freed = ks_obj_cost(o) + klen;
			ks_obj_drop(ks, key, klen);
		}
		o = ks_obj_add(ks, key, klen, KS_STRING, v);
	}
	ks_obj_set_at(ks, o, at);
	v = o->ptr; /* a short value was copied into o (and freed) */
	kvs_log_set(ks->kv, key, klen, v->p, v->len, at, freed);
	ks_event(ks, key, klen, KS_EV_CHANGED);
}

static void set_apply(keyspace_t *ks, const char *key, size_t klen, qlv_t *v, int64_t at)
{
	set_apply_o(ks, map_get(&ks->keys, key, klen), key, klen, v, at);
}

int ks_set(keyspace_t *ks, const char *key, size_t klen, const void *v, size_t n, int64_t at)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	uint64_t kv = 0, ss = 0;
	set_cost_o(ks, o, key, klen, n, &kv, &ss);
	if ((rc = ks_reserve(ks, kv, ss)) < 0)
		return rc;
	/* ks_reserve only takes file space: o is still the key's object. */
	set_apply_o(ks, o, key, klen, qlv_new(v, n), at);
	return 0;
}

int ks_mset(keyspace_t *ks, int n, const char *const *keys, const size_t *klens,
            const char *const *vals, const size_t *vlens)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	uint64_t kv = 0, ss = 0;
	for (int i = 0; i < n; i++) {
		ks_lookup_w(ks, keys[i], klens[i], &rc);
		if (rc < 0)
			return rc;
		set_cost(ks, keys[i], klens[i], vlens[i], &kv, &ss);
	}
	if ((rc = ks_reserve(ks, kv, ss)) < 0)
		return rc;
	for (int i = 0; i < n; i++)
		set_apply(ks, keys[i], klens[i], qlv_new(vals[i], vlens[i]), 0);
	return 0;
}

/* The string at key for a write: *v NULL when absent; SL_ESTATE for
 * another type. */
static int str_w(keyspace_t *ks, const char *key, size_t klen, qlv_t **v)
{
	int rc = ks_writable(ks);
	*v = NULL;
	if (rc < 0)
		return rc;
	ks_obj_t *o = ks_lookup_w(ks, key, klen, &rc);
	if (rc < 0)
		return rc;
	if (o && o->type != KS_STRING)
		return SL_ESTATE;
	*v = o ? o->ptr : NULL;
	return 0;
}

int ks_incrby(keyspace_t *ks, const char *key, size_t klen, int64_t by, int64_t *out)
{
	qlv_t *v;
	int rc = str_w(ks, key, klen, &v);
	if (rc < 0)
		return rc;
	int64_t cur = 0;
	if (v && num_str2ll(v->p, v->len, &cur) < 0)
		return SL_EINVAL;
	if ((by < 0 && cur < 0 && by < INT64_MIN - cur) ||
	    (by > 0 && cur > 0 && by > INT64_MAX - cur))
		return SL_ERANGE;
	cur += by;
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lld", (long long)cur);
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, (size_t)n), 0)) < 0)
		return rc;
	set_apply(ks, key, klen, qlv_new(tmp, (size_t)n), -1);
	*out = cur;
	return 0;
}

int ks_append(keyspace_t *ks, const char *key, size_t klen, const void *p, size_t n, size_t max,
              int64_t *len)
{
	qlv_t *v;
	int rc = str_w(ks, key, klen, &v);
	if (rc < 0)
		return rc;
	size_t old = v ? v->len : 0;
	if (old + n > max)
		return SL_ETOOBIG;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, old + n), 0)) < 0)
		return rc;
	qlv_t *nv = malloc(sizeof *nv + old + n + 1);
	if (!nv)
		abort();
	nv->len = old + n;
	if (old)
		memcpy(nv->p, v->p, old);
	memcpy(nv->p + old, p, n);
	nv->p[nv->len] = 0;
	*len = (int64_t)nv->len;
	set_apply(ks, key, klen, nv, -1);
	if (v) /* a new key holds the argument as given */
		mark_raw(ks, key, klen);
	return 0;
}

int ks_setrange(keyspace_t *ks, const char *key, size_t klen, size_t offset, const void *p,
                size_t n, size_t max, int64_t *len)
{
	qlv_t *v;
	int rc = str_w(ks, key, klen, &v);
	*len = 0;
	if (rc < 0)
		return rc;
	size_t old = v ? v->len : 0;
	if (n == 0) {
		*len = (int64_t)old;
		return 0;
	}
	if (offset > max || n > max - offset)
		return SL_ETOOBIG;
	size_t nlen = offset + n > old ? offset + n : old;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, nlen), 0)) < 0)
		return rc;
	qlv_t *nv = malloc(sizeof *nv + nlen + 1);
	if (!nv)
		abort();
	nv->len = nlen;
	memset(nv->p, 0, nlen + 1);
	if (old)
		memcpy(nv->p, v->p, old);
	memcpy(nv->p + offset, p, n);
	set_apply(ks, key, klen, nv, -1);
	mark_raw(ks, key, klen);
	*len = (int64_t)nlen;
	return 0;
}

int ks_setbit(keyspace_t *ks, const char *key, size_t klen, uint64_t bit, int on, int *oldbit)
{
	qlv_t *v;
	int rc = str_w(ks, key, klen, &v);
	if (rc < 0)
		return rc;
	size_t byte = (size_t)(bit >> 3), old = v ? v->len : 0;
	size_t nlen = byte + 1 > old ? byte + 1 : old;
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, nlen), 0)) < 0)
		return rc;
	qlv_t *nv = malloc(sizeof *nv + nlen + 1);
	if (!nv)
		abort();
	nv->len = nlen;
	memset(nv->p, 0, nlen + 1);
	if (old)
		memcpy(nv->p, v->p, old);
	/* Bit 0 is the most significant bit of byte 0 (Redis's order). */
	int shift = 7 - (int)(bit & 7);
	*oldbit = ((unsigned char)nv->p[byte] >> shift) & 1;
	if (on)
		nv->p[byte] = (char)((unsigned char)nv->p[byte] | (1u << shift));
	else
		nv->p[byte] = (char)((unsigned char)nv->p[byte] & ~(1u << shift));
	set_apply(ks, key, klen, nv, -1);
	mark_raw(ks, key, klen);
	return 0;
}

int ks_incrbyfloat(keyspace_t *ks, const char *key, size_t klen, long double by, char *out,
                   size_t *outlen)
{
	qlv_t *v;
	int rc = str_w(ks, key, klen, &v);
	if (rc < 0)
		return rc;
	long double cur = 0;
	if (v && num_str2ld(v->p, v->len, &cur) < 0)
		return SL_EINVAL;
	cur += by;
	if (isnan(cur) || isinf(cur))
		return SL_ERANGE;
	size_t n = num_ld2str_human(out, NUM_LD_CHARS, cur);
	if ((rc = ks_reserve(ks, kvs_rec_bytes(klen, n), 0)) < 0)
		return rc;
	set_apply(ks, key, klen, qlv_new(out, n), -1);
	*outlen = n;
	return 0;
}

int ks_msetnx(keyspace_t *ks, int n, const char *const *keys, const size_t *klens,
              const char *const *vals, const size_t *vlens)
{
	int rc = ks_writable(ks);
	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		if (ks_lookup_w(ks, keys[i], klens[i], &rc))
			return 0;
		if (rc < 0)
			return rc;
	}
	rc = ks_mset(ks, n, keys, klens, vals, vlens);
	return rc < 0 ? rc : 1;
}

int ks_getex(keyspace_t *ks, const char *key, size_t klen, int mode, int64_t at, ks_val_fn fn,
             void *arg)
{
	qlv_t *v;
	int rc;
	if (mode == KS_GETEX_KEEP) {
		/* A plain read: no write is made, none needs to be possible. */
		ks_obj_t *o = ks_find(ks, key, klen);
		if (!o)
			return 0;
		if (o->type != KS_STRING)
			return SL_ESTATE;
		v = o->ptr;
		fn(arg, v->p, v->len);
		return 1;
	}
	if ((rc = str_w(ks, key, klen, &v)) < 0)
		return rc;
	if (!v)
		return 0;
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (mode == KS_GETEX_AT && at <= time_wall_ms())
		mode = KS_GETEX_DEL;
	if (mode == KS_GETEX_PERSIST && !o->at) {
		fn(arg, v->p, v->len);
		return 1;
	}
	uint64_t kv = 0, ss = 0;
	if (mode == KS_GETEX_DEL)
		ks_del_cost(ks, key, klen, o, &kv, &ss);
	else
		kv = kvs_rec_bytes(klen, 0);
	if ((rc = ks_reserve(ks, kv, ss)) < 0)
		return rc;
	/* Nothing can fail from here on: the reply may take the value now,
	 * before a deletion frees it. */
	fn(arg, v->p, v->len);
	if (mode == KS_GETEX_DEL) {
		ks_del_key(ks, key, klen, o);
		return 1;
	}
	int64_t t = mode == KS_GETEX_AT ? at : 0;
	ks_obj_set_at(ks, o, t);
	kvs_log_expire(ks->kv, key, klen, t);
	ks_event(ks, key, klen, KS_EV_CHANGED);
	return 1;
}
