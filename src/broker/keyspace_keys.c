/*
 * keyspace_keys.c — generic key commands of the keyspace that create a
 * value from another (see keyspace.h): COPY, and the store of a computed
 * list (SORT ... STORE).
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
	ks_exp_set(ks, dst, dlen, ks_exp_get(ks, src, slen));
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
