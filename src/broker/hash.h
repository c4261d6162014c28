/*
 * hash.h — the value of a Redis hash: fields and values in an
 * insertion-ordered table (odict.h).
 *
 * Each field is one allocation holding the field and its value (both
 * NUL-terminated, so a value can be parsed in place); setting a field that
 * exists replaces its allocation at the same position, so the order is
 * the order fields were first added, which is what Redis's listpack
 * encoding returns for small hashes (HGETALL, HKEYS, HSCAN). `big` is the
 * encoding OBJECT ENCODING reports: 0 listpack, 1 hashtable; it only ever
 * goes from 0 to 1 (Redis never converts back), and the keyspace decides
 * it from its hash-max-listpack-* settings. `bytes` is the journal cost of
 * the live content (kv_store.h: kvs_cost of each field and value).
 * Loop thread only.
 */
#ifndef SL_BROKER_HASH_H
#define SL_BROKER_HASH_H

#include "broker/odict.h"

typedef struct rhent {
	size_t flen, vlen;
	char d[]; /* field, NUL, value, NUL */
} rhent_t;

static inline const char *rhent_val(const rhent_t *e)
{
	return e->d + e->flen + 1;
}

typedef struct rhash {
	odict_t d;
	uint64_t bytes;
	int big;
} rhash_t;

rhash_t *rhash_new(void);
void rhash_free(rhash_t *h);
/* A deep copy (COPY). */
rhash_t *rhash_dup(const rhash_t *h);
static inline size_t rhash_len(const rhash_t *h)
{
	return odict_len(&h->d);
}
/* The entry of field f, or NULL: a view valid until h changes. */
rhent_t *rhash_get(const rhash_t *h, const void *f, size_t flen);
/* Sets f to v; returns 1 when f is new, 0 when it was replaced. */
int rhash_set(rhash_t *h, const void *f, size_t flen, const void *v, size_t vlen);
/* Removes f; returns 1 when it was there. */
int rhash_del(rhash_t *h, const void *f, size_t flen);
/* Iteration in order: size_t it = 0; while ((e = rhash_next(h, &it))). */
static inline rhent_t *rhash_next(const rhash_t *h, size_t *it)
{
	return odict_next(&h->d, it);
}
/* After setting a field of flen / vlen bytes: the hash leaves the
 * listpack encoding past max_entries fields or a field or value longer
 * than max_value (Redis's hash-max-listpack-* rules). */
static inline void rhash_enc(rhash_t *h, size_t max_entries, size_t max_value, size_t flen,
                             size_t vlen)
{
	if (!h->big && (rhash_len(h) > max_entries || flen > max_value || vlen > max_value))
		h->big = 1;
}

/* Journal cost of one field (what a snapshot writes for it). */
static inline uint64_t rhash_cost(size_t flen, size_t vlen)
{
	return 8 + (uint64_t)flen + vlen;
}

#endif
