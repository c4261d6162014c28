/* map.c — see map.h. */
#include "core/map.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(map_slot_t) == 16, "a slot is 16 bytes (see map.h)");

/* A copying map's entry: [void *val][key bytes][NUL]; the slot points at
 * the key. */
#define VAL_SIZE sizeof(void *)

static void *slot_val(const map_t *m, const map_slot_t *s)
{
	if (m->borrowed)
		return s->key - m->koff;
	void *v;
	memcpy(&v, s->key - VAL_SIZE, sizeof v);
	return v;
}

static void slot_set_val(map_slot_t *s, void *val)
{
	memcpy(s->key - VAL_SIZE, &val, sizeof val);
}

static void slot_free(const map_t *m, map_slot_t *s)
{
	if (!m->borrowed)
		free(s->key - VAL_SIZE);
}

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
	m->scan = NULL;
	m->borrowed = 0;
	m->koff = 0;
	m->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)m;
}

void map_init_borrowed(map_t *m, size_t koff)
{
	map_init(m);
	m->borrowed = 1;
	m->koff = koff;
}

void map_deinit(map_t *m)
{
	for (size_t i = 0; !m->borrowed && i < m->cap; i++) {
		if (m->slots[i].key)
			slot_free(m, &m->slots[i]);
	}
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static size_t find(const map_t *m, const void *key, size_t klen, uint32_t h)
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
	/* Every key may have moved: visit them all again (a growth halves
	 * how often the next one comes, so a scan does at most about twice
	 * the final number of keys). */
	if (m->scan)
		m->scan->pos = 0;
}

static void grow(map_t *m)
{
	rehash(m, m->cap ? m->cap * 2 : 16);
}

int map_shrink(map_t *m)
{
	if (m->cap <= 16 || m->n * 8 >= m->cap || m->scan)
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
	uint32_t h = (uint32_t)map_hash(m->seed, key, klen);
	const map_slot_t *s = &m->slots[find(m, key, klen, h)];
	return s->key ? slot_val(m, s) : NULL;
}

void *map_put(map_t *m, const void *key, size_t klen, void *val)
{
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	if (klen > UINT32_MAX || (m->borrowed && (const char *)key != (char *)val + m->koff))
		abort();
	uint32_t h = (uint32_t)map_hash(m->seed, key, klen);
	map_slot_t *s = &m->slots[find(m, key, klen, h)];
	if (s->key) {
		void *old = slot_val(m, s);
		if (m->borrowed)
			s->key = (char *)key;
		else
			slot_set_val(s, val);
		return old;
	}
	if (m->borrowed) {
		s->key = (char *)key;
	} else {
		char *e = malloc(VAL_SIZE + klen + 1);
		if (!e)
			abort();
		s->key = e + VAL_SIZE;
		memcpy(s->key, key, klen);
		s->key[klen] = 0;
		slot_set_val(s, val);
	}
	s->klen = (uint32_t)klen;
	s->hash = h;
	m->n++;
	return NULL;
}

/* A key moves from the scan's unvisited slots to its visited ones. */
static void scan_late(map_scan_t *sc, const map_slot_t *s)
{
	if (sc->nlate == sc->late_cap) {
		sc->late_cap = sc->late_cap ? sc->late_cap * 2 : 16;
		sc->late = realloc(sc->late, sc->late_cap * sizeof *sc->late);
		if (!sc->late)
			abort();
	}
	size_t klen = s->klen;
	char *c = malloc(sizeof(size_t) + klen);
	if (!c)
		abort();
	memcpy(c, &klen, sizeof(size_t));
	memcpy(c + sizeof(size_t), s->key, s->klen);
	sc->late[sc->nlate++] = c;
}

void *map_del(map_t *m, const void *key, size_t klen)
{
	if (!m->n)
		return NULL;
	uint32_t h = (uint32_t)map_hash(m->seed, key, klen);
	size_t i = find(m, key, klen, h), mask = m->cap - 1;
	if (!m->slots[i].key)
		return NULL;
	void *val = slot_val(m, &m->slots[i]);
	slot_free(m, &m->slots[i]);
	m->slots[i].key = NULL;
	m->n--;
	/* Backward-shift: pull later members of the probe run into the hole. */
	for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
		size_t home = m->slots[j].hash & mask;
		int movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
		if (movable) {
			if (m->scan && j >= m->scan->pos && i < m->scan->pos)
				scan_late(m->scan, &m->slots[j]);
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
				*val = slot_val(m, s);
			return 1;
		}
	}
	return 0;
}

static uint64_t rev64(uint64_t v)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++, v >>= 1)
		r = r << 1 | (v & 1);
	return r;
}

uint64_t map_scan_cursor(const map_t *m, uint64_t cursor, map_visit_fn fn, void *arg)
{
	if (!m->cap)
		return 0;
	uint64_t mask = m->cap - 1, home = cursor & mask;
	/* Linear probing keeps every key of this home in the run of used
	 * slots that starts there. */
	for (uint64_t i = home; m->slots[i].key; i = (i + 1) & mask) {
		const map_slot_t *s = &m->slots[i];
		if ((s->hash & mask) == home)
			fn(arg, s->key, s->klen, slot_val(m, s));
	}
	/* Increment the reversed cursor: the bits above the mask first. */
	cursor |= ~mask;
	return rev64(rev64(cursor) + 1);
}

void map_scan_begin(map_t *m, map_scan_t *sc)
{
	m->scan = sc;
}

void map_scan_end(map_t *m, map_scan_t *sc)
{
	if (m->scan == sc)
		m->scan = NULL;
	for (size_t i = 0; i < sc->nlate; i++)
		free(sc->late[i]);
	free(sc->late);
	free(sc->cur);
	memset(sc, 0, sizeof *sc);
}

int map_scan_next(map_t *m, const char **key, size_t *klen, void **val)
{
	map_scan_t *sc = m->scan;
	if (!sc)
		return 0;
	free(sc->cur);
	sc->cur = NULL;
	/* The late keys first, while they are few: each is looked up again
	 * (it may have been deleted since it moved). */
	while (sc->nlate) {
		char *c = sc->late[--sc->nlate];
		size_t kl;
		memcpy(&kl, c, sizeof kl);
		void *v = map_get(m, c + sizeof(size_t), kl);
		if (!v) {
			free(c);
			continue;
		}
		sc->cur = c;
		*key = c + sizeof(size_t);
		*klen = kl;
		*val = v;
		return 1;
	}
	while (sc->pos < m->cap) {
		const map_slot_t *s = &m->slots[sc->pos++];
		if (s->key) {
			*key = s->key;
			*klen = s->klen;
			*val = slot_val(m, s);
			return 1;
		}
	}
	return 0;
}
