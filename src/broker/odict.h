/*
 * odict.h — an insertion-ordered hash table of caller-owned elements, the
 * index under Redis hashes, sets and sorted sets (hash.h, set.h, zset.h).
 *
 * Elements are opaque pointers; the table learns each one's key (a byte
 * string inside the element) through the key function given at init, and
 * never copies or frees elements. Layout (Python's compact dict): a dense
 * array of elements in insertion order — a removed element leaves a hole
 * (NULL) — plus an open-addressing index (linear probing, backward-shift
 * deletion, load <= 1/2) of positions in that array, each with the key's
 * hash beside it. So lookups, inserts and removals are O(1), iteration
 * follows insertion order (what Redis's small listpack encodings return,
 * and the order a client sees stays stable while it scans), and a random
 * element is one draw among the positions (holes are at most half of
 * them: the array is compacted when more are holes).
 *
 * Positions are stable until a compaction, which only runs when the
 * array is full or mostly holes; odict_gen() tells a caller (a scan
 * cursor) that positions moved.
 *
 * The hash is seeded per table so that clients cannot aim collisions at
 * one key. Not thread-safe (loop thread only, like everything in broker/).
 */
#ifndef SL_BROKER_ODICT_H
#define SL_BROKER_ODICT_H

#include <stddef.h>
#include <stdint.h>

/* The key of element e (a view inside it). */
typedef const char *(*odict_key_fn)(const void *e, size_t *klen);

typedef struct odict {
	void **ents;       /* dense, insertion order; NULL marks a removed one */
	size_t nents, cap; /* positions used / allocated */
	size_t live;       /* elements present */
	/* Index slots: 0 empty, else (32-bit hash << 32) | (position + 1). The
	 * hash beside the position spares a lookup one cache miss per probe
	 * (no element is read unless its hash matches) and lets the index be
	 * rebuilt without hashing any key again. */
	uint64_t *idx;
	size_t icap; /* power of two, or 0 */
	uint64_t seed;
	uint64_t gen; /* bumped when positions move */
	odict_key_fn key;
} odict_t;

void odict_init(odict_t *d, odict_key_fn key);
/* Frees the table, not the elements (free them first, iterating). */
void odict_deinit(odict_t *d);

static inline size_t odict_len(const odict_t *d)
{
	return d->live;
}

/* Position of the element with key k, or -1. */
int64_t odict_find(const odict_t *d, const void *k, size_t klen);
/* The element at pos (NULL for a hole). 0 <= pos < d->nents. */
static inline void *odict_at(const odict_t *d, size_t pos)
{
	return d->ents[pos];
}
/* Adds e, whose key is not in the table. Returns its position. */
size_t odict_add(odict_t *d, void *e);
/* Replaces the element at pos by e, which has the same key. */
void odict_replace(odict_t *d, size_t pos, void *e);
/* Removes the element at pos and returns it (the caller frees it). */
void *odict_remove(odict_t *d, size_t pos);
/* Removes the element with key k and returns it, or NULL: one hash and
 * one probe, where odict_find then odict_remove take two of each. */
void *odict_take(odict_t *d, const void *k, size_t klen);
/* Removes every element (the caller freed them). */
void odict_clear(odict_t *d);

/* Iteration in insertion order: size_t it = 0; while ((e = odict_next(d,
 * &it))) ... No insertion during the walk; removing the element just
 * returned is allowed. */
void *odict_next(const odict_t *d, size_t *it);

/* A random position holding an element (the table must not be empty);
 * *rng is the caller's xorshift state. */
size_t odict_random(const odict_t *d, uint64_t *rng);

/* Generation of positions: changes when a compaction moved elements. */
static inline uint64_t odict_gen(const odict_t *d)
{
	return d->gen;
}

/* xorshift64* step, shared by the types' random picks. */
static inline uint64_t odict_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

#endif
