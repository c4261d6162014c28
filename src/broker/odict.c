/*
 * odict.c — the insertion-ordered hash table (see odict.h).
 *
 * Invariants: live <= nents <= cap; every non-NULL ents[i] has exactly one
 * index slot holding i + 1, found by probing from hashes[i] & (icap - 1)
 * without crossing an empty slot; icap >= 2 * cap, so the index is never
 * more than half full. Loop thread only.
 */
#include "broker/odict.h"

#include "core/map.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		abort();
	return p;
}

void odict_init(odict_t *d, odict_key_fn key)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(d, 0, sizeof *d);
	d->key = key;
	d->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)d;
}

void odict_deinit(odict_t *d)
{
	free(d->ents);
	free(d->hashes);
	free(d->idx);
	d->ents = NULL;
	d->hashes = NULL;
	d->idx = NULL;
	d->nents = d->cap = d->live = d->icap = 0;
}

static uint32_t hash_of(const odict_t *d, const void *k, size_t klen)
{
	return (uint32_t)map_hash(d->seed, k, klen);
}

/* Rebuilds the index for icap slots from the dense array. */
static void reindex(odict_t *d, size_t icap)
{
	free(d->idx);
	d->idx = calloc(icap, sizeof *d->idx);
	if (!d->idx)
		abort();
	d->icap = icap;
	size_t mask = icap - 1;
	for (size_t i = 0; i < d->nents; i++) {
		if (!d->ents[i])
			continue;
		size_t s = d->hashes[i] & mask;
		while (d->idx[s])
			s = (s + 1) & mask;
		d->idx[s] = (uint32_t)(i + 1);
	}
}

/* Squeezes the holes out of the dense array (positions move). */
static void compact(odict_t *d)
{
	size_t j = 0;
	for (size_t i = 0; i < d->nents; i++) {
		if (!d->ents[i])
			continue;
		d->ents[j] = d->ents[i];
		d->hashes[j] = d->hashes[i];
		j++;
	}
	d->nents = j;
	d->gen++;
}

static void resize(odict_t *d, size_t cap)
{
	d->ents = xrealloc(d->ents, cap * sizeof *d->ents);
	d->hashes = xrealloc(d->hashes, cap * sizeof *d->hashes);
	d->cap = cap;
}

int64_t odict_find(const odict_t *d, const void *k, size_t klen)
{
	if (!d->live)
		return -1;
	uint32_t h = hash_of(d, k, klen);
	size_t mask = d->icap - 1;
	for (size_t s = h & mask; d->idx[s]; s = (s + 1) & mask) {
		size_t pos = d->idx[s] - 1;
		if (d->hashes[pos] != h)
			continue;
		size_t el;
		const char *ek = d->key(d->ents[pos], &el);
		if (el == klen && memcmp(ek, k, klen) == 0)
			return (int64_t)pos;
	}
	return -1;
}

size_t odict_add(odict_t *d, void *e)
{
	if (d->nents == d->cap) {
		if (d->live < d->nents / 2 + d->nents / 4) {
			/* Mostly holes: reuse the room. */
			compact(d);
		} else {
			resize(d, d->cap ? d->cap * 2 : 4);
		}
		if (d->icap < 2 * d->cap)
			reindex(d, 4 * d->cap);
		else
			reindex(d, d->icap);
	}
	size_t klen;
	const char *k = d->key(e, &klen);
	uint32_t h = hash_of(d, k, klen);
	size_t pos = d->nents++;
	d->ents[pos] = e;
	d->hashes[pos] = h;
	size_t mask = d->icap - 1, s = h & mask;
	while (d->idx[s])
		s = (s + 1) & mask;
	d->idx[s] = (uint32_t)(pos + 1);
	d->live++;
	return pos;
}

void odict_replace(odict_t *d, size_t pos, void *e)
{
	d->ents[pos] = e;
}

void *odict_remove(odict_t *d, size_t pos)
{
	void *e = d->ents[pos];
	size_t mask = d->icap - 1, s = d->hashes[pos] & mask;
	while (d->idx[s] != pos + 1)
		s = (s + 1) & mask;
	/* Backward shift: pull later members of the probe run into the gap
	 * when the gap lies on their way from their home slot. */
	size_t gap = s;
	for (size_t j = (gap + 1) & mask; d->idx[j]; j = (j + 1) & mask) {
		size_t home = d->hashes[d->idx[j] - 1] & mask;
		if (((j - home) & mask) >= ((j - gap) & mask)) {
			d->idx[gap] = d->idx[j];
			gap = j;
		}
	}
	d->idx[gap] = 0;
	d->ents[pos] = NULL;
	d->live--;
	if (pos + 1 == d->nents) {
		/* Holes at the end cost nothing to drop. */
		while (d->nents && !d->ents[d->nents - 1])
			d->nents--;
	}
	if (!d->live) {
		d->nents = 0;
		d->gen++;
	} else if (d->nents > 16 && d->live < d->nents / 4) {
		/* Keep random draws cheap and memory bounded. */
		compact(d);
		size_t cap = d->cap;
		while (cap > 8 && d->nents < cap / 4)
			cap /= 2;
		if (cap != d->cap)
			resize(d, cap);
		reindex(d, d->icap > 4 * d->cap ? 4 * d->cap : d->icap);
	}
	return e;
}

void odict_clear(odict_t *d)
{
	if (d->idx)
		memset(d->idx, 0, d->icap * sizeof *d->idx);
	d->nents = d->live = 0;
	d->gen++;
}

void *odict_next(const odict_t *d, size_t *it)
{
	while (*it < d->nents) {
		void *e = d->ents[(*it)++];
		if (e)
			return e;
	}
	return NULL;
}

size_t odict_random(const odict_t *d, uint64_t *rng)
{
	for (;;) {
		size_t pos = (size_t)(odict_rand(rng) % d->nents);
		if (d->ents[pos])
			return pos;
	}
}
