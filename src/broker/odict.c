/*
 * odict.c — the insertion-ordered hash table (see odict.h).
 *
 * Invariants: live <= nents <= cap; every non-NULL ents[i] has exactly one
 * index slot holding (hash << 32) | (i + 1), found by probing from
 * hash & (icap - 1) without crossing an empty slot; icap >= 2 * cap, so
 * the index is never more than half full. Loop thread only.
 */
#include "broker/odict.h"

#include "core/map.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT_POS(v) ((size_t)((v)&0xffffffffu) - 1)
#define SLOT_HASH(v) ((uint32_t)((v) >> 32))
#define SLOT(h, pos) (((uint64_t)(h) << 32) | (uint64_t)((pos) + 1))

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
	free(d->idx);
	d->ents = NULL;
	d->idx = NULL;
	d->nents = d->cap = d->live = d->icap = 0;
}

static uint32_t hash_of(const odict_t *d, const void *k, size_t klen)
{
	return (uint32_t)map_hash(d->seed, k, klen);
}

static void place(uint64_t *idx, size_t mask, uint64_t v)
{
	size_t s = SLOT_HASH(v) & mask;
	while (idx[s])
		s = (s + 1) & mask;
	idx[s] = v;
}

/* Rebuilds the index with icap slots; remap (when not NULL) gives each
 * old position its new one. */
static void reindex(odict_t *d, size_t icap, const size_t *remap)
{
	uint64_t *old = d->idx;
	size_t oldcap = d->icap;
	d->idx = calloc(icap, sizeof *d->idx);
	if (!d->idx)
		abort();
	d->icap = icap;
	for (size_t i = 0; i < oldcap; i++) {
		uint64_t v = old[i];
		if (!v)
			continue;
		size_t pos = SLOT_POS(v);
		place(d->idx, icap - 1, SLOT(SLOT_HASH(v), remap ? remap[pos] : pos));
	}
	free(old);
}

/* Squeezes the holes out of the dense array (positions move) and
 * rebuilds the index with icap slots. */
static void compact(odict_t *d, size_t icap)
{
	size_t *remap = malloc((d->nents ? d->nents : 1) * sizeof *remap);
	if (!remap)
		abort();
	size_t j = 0;
	for (size_t i = 0; i < d->nents; i++) {
		if (!d->ents[i])
			continue;
		remap[i] = j;
		d->ents[j++] = d->ents[i];
	}
	d->nents = j;
	d->gen++;
	reindex(d, icap, remap);
	free(remap);
}

/* Position of the element with key k and its index slot in *slot, or -1. */
static int64_t find_slot(const odict_t *d, const void *k, size_t klen, size_t *slot)
{
	if (!d->live)
		return -1;
	uint32_t h = hash_of(d, k, klen);
	size_t mask = d->icap - 1;
	for (size_t s = h & mask; d->idx[s]; s = (s + 1) & mask) {
		uint64_t v = d->idx[s];
		if (SLOT_HASH(v) != h)
			continue;
		size_t pos = SLOT_POS(v), el;
		const char *ek = d->key(d->ents[pos], &el);
		if (el == klen && memcmp(ek, k, klen) == 0) {
			*slot = s;
			return (int64_t)pos;
		}
	}
	return -1;
}

int64_t odict_find(const odict_t *d, const void *k, size_t klen)
{
	size_t slot;
	return find_slot(d, k, klen, &slot);
}

size_t odict_add(odict_t *d, void *e)
{
	if (d->nents == d->cap) {
		if (d->live < d->nents / 2 + d->nents / 4) {
			/* Mostly holes: reuse the room. */
			compact(d, d->icap);
		} else {
			d->cap = d->cap ? d->cap * 2 : 4;
			d->ents = xrealloc(d->ents, d->cap * sizeof *d->ents);
			if (d->icap < 2 * d->cap)
				reindex(d, 2 * d->cap, NULL);
		}
	}
	size_t klen;
	const char *k = d->key(e, &klen);
	size_t pos = d->nents++;
	d->ents[pos] = e;
	place(d->idx, d->icap - 1, SLOT(hash_of(d, k, klen), pos));
	d->live++;
	return pos;
}

void odict_replace(odict_t *d, size_t pos, void *e)
{
	d->ents[pos] = e;
}

/* Removes the element at pos, whose index slot is s. */
static void *remove_at(odict_t *d, size_t s, size_t pos)
{
	void *e = d->ents[pos];
	size_t mask = d->icap - 1;
	/* Backward shift: pull later members of the probe run into the gap
	 * when the gap lies on their way from their home slot. */
	size_t gap = s;
	for (size_t j = (gap + 1) & mask; d->idx[j]; j = (j + 1) & mask) {
		size_t home = SLOT_HASH(d->idx[j]) & mask;
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
		size_t cap = d->cap;
		while (cap > 8 && d->live < cap / 4)
			cap /= 2;
		compact(d, d->icap > 2 * cap ? 2 * cap : d->icap);
		if (cap != d->cap) {
			d->cap = cap;
			d->ents = xrealloc(d->ents, d->cap * sizeof *d->ents);
		}
	}
	return e;
}

void *odict_remove(odict_t *d, size_t pos)
{
	size_t mask = d->icap - 1, s = 0;
	/* The slot of pos: its hash is the element's key's. */
	size_t klen;
	const char *k = d->key(d->ents[pos], &klen);
	uint64_t want = SLOT(hash_of(d, k, klen), pos);
	for (s = SLOT_HASH(want) & mask; d->idx[s] != want; s = (s + 1) & mask)
		;
	return remove_at(d, s, pos);
}

void *odict_take(odict_t *d, const void *k, size_t klen)
{
	size_t slot;
	int64_t pos = find_slot(d, k, klen, &slot);
	return pos < 0 ? NULL : remove_at(d, slot, (size_t)pos);
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
