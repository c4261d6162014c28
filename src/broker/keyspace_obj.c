/*
 * keyspace_obj.c — the keyspace's objects (see keyspace.h, ks_obj_t): one
 * allocation per key holding its header, the key (which the key map
 * borrows) and a short string's value; and the index of the objects with
 * an expiry time (keyspace_priv.h: xs), which the active cycle walks.
 *
 * An object moves (is reallocated) when its key changes (RENAME) or a
 * string is replaced by one of another size: the map's slot and the
 * index's entry are pointed at the new one. Issue 18: memory per key.
 * Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Strings of up to this many bytes live in their key's object (one
 * allocation per key, issue 18); a longer one keeps its own, so that
 * replacing it moves no key and a large value is not copied again. */
#define EMB_MAX 64

/* Where a short string's qlv_t starts in an object with a klen-byte key. */
static size_t emb_off(size_t klen)
{
	return (offsetof(ks_obj_t, key) + klen + 1 + 7) & ~(size_t)7;
}

ks_obj_t *ks_obj_new(const char *key, size_t klen, ks_type_t t, void *ptr)
{
	const qlv_t *v = t == KS_STRING ? ptr : NULL;
	int emb = v && v->len <= EMB_MAX;
	if (klen > UINT32_MAX)
		abort(); /* keys are at most proto-max-bulk-len */
	size_t size =
	    emb ? emb_off(klen) + sizeof *v + v->len + 1 : offsetof(ks_obj_t, key) + klen + 1;
	ks_obj_t *o = malloc(size);
	if (!o)
		abort();
	memset(o, 0, offsetof(ks_obj_t, key));
	o->type = (uint8_t)t;
	o->klen = (uint32_t)klen;
	memcpy(o->key, key, klen);
	o->key[klen] = 0;
	o->ptr = ptr;
	if (emb) {
		qlv_t *e = (qlv_t *)(void *)((char *)o + emb_off(klen));
		e->len = v->len;
		memcpy(e->p, v->p, v->len);
		e->p[v->len] = 0;
		o->ptr = e;
		o->emb = 1;
	}
	return o;
}

/* n takes o's place: its header (time, index place, access time, raw)
 * and its slot in the time index. The map is the caller's. */
static void obj_moved(keyspace_t *ks, const ks_obj_t *o, ks_obj_t *n)
{
	n->at = o->at;
	n->xpos = o->xpos;
	n->atime = o->atime;
	n->raw = o->raw;
	if (n->at)
		ks->xs[n->xpos] = n;
}

void ks_obj_set_at(keyspace_t *ks, ks_obj_t *o, int64_t at)
{
	if (at < 0)
		at = 0;
	if (at && !o->at) {
		if (ks->nxs == ks->xs_cap) {
			if (ks->nxs >= UINT32_MAX)
				abort(); /* xpos is 32 bits */
			ks->xs_cap = ks->xs_cap ? ks->xs_cap * 2 : 16;
			ks->xs = realloc(ks->xs, ks->xs_cap * sizeof *ks->xs);
			if (!ks->xs)
				abort();
		}
		o->xpos = (uint32_t)ks->nxs;
		ks->xs[ks->nxs++] = o;
	} else if (!at && o->at) {
		ks_obj_t *last = ks->xs[--ks->nxs];
		ks->xs[o->xpos] = last;
		last->xpos = o->xpos;
	}
	o->at = at;
}

void ks_exp_clear(keyspace_t *ks)
{
	for (size_t i = 0; i < ks->nxs; i++)
		ks->xs[i]->at = 0;
	ks->nxs = 0;
	ks->expire_cursor = 0;
}

int64_t ks_exp_get(const keyspace_t *ks, const char *key, size_t klen)
{
	if (!ks->nxs)
		return 0;
	const ks_obj_t *o = map_get(&ks->keys, key, klen);
	return o ? o->at : 0;
}

void ks_exp_set(keyspace_t *ks, const char *key, size_t klen, int64_t at)
{
	ks_obj_t *o = map_get(&ks->keys, key, klen);
	if (o)
		ks_obj_set_at(ks, o, at);
}

ks_obj_t *ks_obj_set_str(keyspace_t *ks, ks_obj_t *o, qlv_t *v)
{
	const qlv_t *old = o->ptr;
	o->raw = 0;
	if (!o->emb && v->len > EMB_MAX) {
		free(o->ptr);
		o->ptr = v;
		return o;
	}
	if (o->emb && v->len == old->len) {
		/* Same size (a counter, a rewritten token): in place. */
		memcpy(o->ptr, v, sizeof *v + v->len + 1);
		free(v);
		return o;
	}
	ks_obj_t *n = ks_obj_new(o->key, o->klen, KS_STRING, v);
	if (n->emb)
		free(v);
	obj_moved(ks, o, n);
	n->raw = 0;
	map_put(&ks->keys, n->key, n->klen, n); /* the slot takes n's key */
	if (!o->emb)
		free(o->ptr);
	free(o);
	return n;
}

ks_obj_t *ks_obj_rekey(keyspace_t *ks, const char *src, size_t slen, const char *dst, size_t dlen)
{
	ks_obj_t *o = map_del(&ks->keys, src, slen);
	if (!o)
		return NULL;
	/* A short string is copied along; any other value keeps its ptr. */
	ks_obj_t *n = ks_obj_new(dst, dlen, o->type, o->ptr);
	obj_moved(ks, o, n);
	map_put(&ks->keys, n->key, dlen, n);
	free(o);
	return n;
}

int ks_xs_shrink(keyspace_t *ks)
{
	if (ks->xs_cap <= 16 || ks->nxs * 8 >= ks->xs_cap)
		return 0;
	size_t cap = 16;
	while (cap < ks->nxs * 2)
		cap *= 2;
	ks_obj_t **xs = realloc(ks->xs, cap * sizeof *xs);
	if (!xs)
		return 0;
	ks->xs = xs;
	ks->xs_cap = cap;
	return 1;
}
