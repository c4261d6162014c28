/* map.c — see map.h. */
#include "core/map.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t map_hash(uint64_t seed, const void *key, size_t klen)
{
	/* FNV-1a over 8-byte words mixed with a seed, finished by a
	 * murmur-style avalanche; fast and good enough with a random seed. */
	const uint8_t *p = key;
	uint64_t h = seed ^ (klen * 0x9e3779b97f4a7c15ull);
	while (klen >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
		p += 8;
		klen -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, p, klen);
	h = (h ^ w) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

void map_init(map_t *m)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	m->slots = NULL;
	m->cap = m->n = 0;
	m->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)m;
}

void map_deinit(map_t *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static size_t find(const map_t *m, const void *key, size_t klen, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const map_slot_t *s = &m->slots[i];
		if (!s->key)
			return i;
		if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
			return i;
	}
}

static void rehash(map_t *m, size_t cap)
{
	map_slot_t *old = m->slots;
	size_t oldcap = m->cap;
	m->slots = cap ? calloc(cap, sizeof *m->slots) : NULL;
	if (cap && !m->slots)
		abort();
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key)
			m->slots[find(m, old[i].key, old[i].klen, old[i].hash)] = old[i];
	}
	free(old);
}

static void grow(map_t *m)
{
	rehash(m, m->cap ? m->cap * 2 : 16);
}

int map_shrink(map_t *m)
{
	if (m->cap <= 16 || m->n * 8 >= m->cap)
		return 0;
	size_t cap = 0;
	if (m->n) {
		cap = 16;
		while (cap < m->n * 2)
			cap *= 2;
	}
	rehash(m, cap);
	return 1;
}

void *map_get(const map_t *m, const void *key, size_t klen)
{
	if (!m->n)
		return NULL;
	uint64_t h = map_hash(m->seed, key, klen);
	const map_slot_t *s = &m->slots[find(m, key, klen, h)];
	return s->key ? s->val : NULL;
}

void *map_put(map_t *m, const void *key, size_t klen, void *val)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	uint64_t h = map_hash(m->seed, key, klen);
	map_slot_t *s = &m->slots[find(m, key, klen, h)];
	if (s->key) {
		void *old = s->val;
		s->val = val;
		return old;
	}
	s->key = malloc(klen + 1);
	if (!s->key)
		abort();
	memcpy(s->key, key, klen);
	s->key[klen] = 0;
	s->klen = klen;
	s->hash = h;
	s->val = val;
	m->n++;
	return NULL;
}

void *map_del(map_t *m, const void *key, size_t klen)
{
	if (!m->n)
		return NULL;
	uint64_t h = map_hash(m->seed, key, klen);
	size_t i = find(m, key, klen, h), mask = m->cap - 1;
	if (!m->slots[i].key)
		return NULL;
	void *val = m->slots[i].val;
	free(m->slots[i].key);
	m->slots[i].key = NULL;
	m->n--;
	/* Backward-shift: pull later members of the probe run into the hole. */
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		int movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
			i = j;
		}
	}
	return val;
}

int map_next(const map_t *m, size_t *it, const char **key, size_t *klen, void **val)
{
	while (*it < m->cap) {
		const map_slot_t *s = &m->slots[(*it)++];
		if (s->key) {
			if (key)
				*key = s->key;
			if (klen)
				*klen = s->klen;
			if (val)
				*val = s->val;
			return 1;
		}
	}
	return 0;
}
