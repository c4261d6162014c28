/*
 * hash.c — Redis hash values (see hash.h). Loop thread only.
 */
#include "broker/hash.h"

#include <stdlib.h>
#include <string.h>

static const char *ent_key(const void *e, size_t *klen)
{
	const rhent_t *h = e;
	*klen = h->flen;
	return h->d;
}

static rhent_t *ent_new(const void *f, size_t flen, const void *v, size_t vlen)
{
	rhent_t *e = malloc(sizeof *e + flen + vlen + 2);
	if (!e)
		abort();
	e->flen = flen;
	e->vlen = vlen;
	if (flen)
		memcpy(e->d, f, flen);
	e->d[flen] = 0;
	if (vlen)
		memcpy(e->d + flen + 1, v, vlen);
	e->d[flen + 1 + vlen] = 0;
	return e;
}

rhash_t *rhash_new(void)
{
	rhash_t *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	odict_init(&h->d, ent_key);
	return h;
}

void rhash_free(rhash_t *h)
{
	if (!h)
		return;
	size_t it = 0;
	rhent_t *e;
	while ((e = rhash_next(h, &it)) != NULL)
		free(e);
	odict_deinit(&h->d);
	free(h);
}

rhash_t *rhash_dup(const rhash_t *h)
{
	rhash_t *c = rhash_new();
	size_t it = 0;
	rhent_t *e;
	while ((e = rhash_next(h, &it)) != NULL)
		odict_add(&c->d, ent_new(e->d, e->flen, rhent_val(e), e->vlen));
	c->bytes = h->bytes;
	c->big = h->big;
	return c;
}

rhent_t *rhash_get(const rhash_t *h, const void *f, size_t flen)
{
	int64_t pos = odict_find(&h->d, f, flen);
	return pos < 0 ? NULL : odict_at(&h->d, (size_t)pos);
}

int rhash_set(rhash_t *h, const void *f, size_t flen, const void *v, size_t vlen)
{
	int64_t pos = odict_find(&h->d, f, flen);
	rhent_t *e = ent_new(f, flen, v, vlen);
	h->bytes += rhash_cost(flen, vlen);
	if (pos < 0) {
		odict_add(&h->d, e);
		return 1;
	}
	rhent_t *old = odict_at(&h->d, (size_t)pos);
	h->bytes -= rhash_cost(old->flen, old->vlen);
	odict_replace(&h->d, (size_t)pos, e);
	free(old);
	return 0;
}

int rhash_del(rhash_t *h, const void *f, size_t flen)
{
	int64_t pos = odict_find(&h->d, f, flen);
	if (pos < 0)
		return 0;
	rhent_t *e = odict_remove(&h->d, (size_t)pos);
	h->bytes -= rhash_cost(e->flen, e->vlen);
	free(e);
	return 1;
}
