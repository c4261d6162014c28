/*
 * map.h — hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones). Keys are copied into the map, each with its value in one
 * allocation (or, in a map made with map_init_borrowed, the key is part of
 * the value: the keyspace's keys live in their objects, so the map keeps no
 * second copy and no value pointer); values are pointers the caller owns. The hash is seeded per map so that clients cannot predict
 * collisions (topic names, Redis keys and tube names are client-chosen).
 * Iteration order is unspecified; the map must not be modified during
 * iteration except through map_iter_del(). Not thread-safe.
 */
#ifndef SL_CORE_MAP_H
#define SL_CORE_MAP_H

#include <stddef.h>
#include <stdint.h>

/* 16 bytes: a map is about twice its key count in slots (issue 18:
 * memory per key), so the value is not in the slot but found from the
 * key: in a copying map it is stored just before the copy, in a borrowing
 * map the key is at a fixed offset inside the value. The low 32 bits of
 * the hash are enough to place a key in any table this size and to skip
 * most key comparisons; keys are at most proto-max-bulk-len. */
typedef struct map_slot {
	char *key;     /* NUL-terminated; NULL marks an empty slot */
	uint32_t hash; /* low bits of map_hash */
	uint32_t klen;
} map_slot_t;

typedef struct map_scan map_scan_t;

typedef struct map {
	map_slot_t *slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
	uint64_t seed;
	map_scan_t *scan; /* the incremental scan in progress, or NULL */
	size_t koff;      /* borrowing: the key's offset in its value */
	int borrowed;     /* keys are the values' (map_init_borrowed) */
} map_t;

/* An incremental scan (map_scan_next) that sees every key present from
 * its start to its end at least once while the map changes between its
 * steps: keys a deletion's backward shift moves from the unvisited slots
 * to the visited ones are remembered (copied) and handed out later, a
 * growth restarts the scan from slot 0, and map_shrink does nothing while
 * a scan runs. A key may be seen more than once. The caller owns the
 * struct; zero it before map_scan_begin. */
struct map_scan {
	size_t pos;  /* slots below pos were visited */
	char **late; /* keys moved below pos, each [size_t len][bytes] */
	size_t nlate, late_cap;
	char *cur; /* the late key handed out last (freed on the next call) */
};

void map_init(map_t *m);
/* A map whose keys are inside their values: map_put(m, key, klen, val)
 * requires key == (char *)val + koff, NUL-terminated (key[klen] == 0) and
 * unchanged while in the map. map_put of a present key takes the new
 * value (the caller may move a value: put the new one, then free the
 * old); map_del and map_deinit free no key. */
void map_init_borrowed(map_t *m, size_t koff);
/* Frees the keys and slots; the values are the caller's to free first. */
void map_deinit(map_t *m);

static inline size_t map_len(const map_t *m)
{
	return m->n;
}

/* Returns the value for key, or NULL. */
void *map_get(const map_t *m, const void *key, size_t klen);
/* Sets key to val, replacing any old value (returned, or NULL). */
void *map_put(map_t *m, const void *key, size_t klen, void *val);
/* Removes key; returns its value, or NULL when absent. */
void *map_del(map_t *m, const void *key, size_t klen);

/* Gives back the slots of a map that lost most of its members: when under
 * an eighth of the slots are used, rehashes into a table at most half
 * full (none when empty). Returns whether it did. Slot positions change,
 * so an iteration (or a cursor kept across calls) must not span it. */
int map_shrink(map_t *m);

/* Iteration: size_t it = 0; while (map_next(m, &it, &k, &kl, &v)) ...
 * k is a NUL-terminated view valid until the entry is removed. */
int map_next(const map_t *m, size_t *it, const char **key, size_t *klen, void **val);

uint64_t map_hash(uint64_t seed, const void *key, size_t klen);

/* A stateless scan step (Redis's SCAN cursor, dictScan): calls fn for
 * every key whose home slot is cursor's, and returns the next cursor (0
 * when done). Home slots are visited in reverse-binary order, so a key
 * present from the first call to the last is seen at least once even if
 * the map grows or shrinks between calls (a key may then be seen twice);
 * a deletion's backward shift keeps a key in its home slot's run. fn must
 * not change the map. */
typedef void (*map_visit_fn)(void *arg, const char *key, size_t klen, void *val);
uint64_t map_scan_cursor(const map_t *m, uint64_t cursor, map_visit_fn fn, void *arg);

/* Starts (sc zeroed) and ends an incremental scan of m; one at a time. */
void map_scan_begin(map_t *m, map_scan_t *sc);
void map_scan_end(map_t *m, map_scan_t *sc);
/* The next key of the scan (pointers valid until the map changes or the
 * next call): 1, or 0 when every slot was visited. */
int map_scan_next(map_t *m, const char **key, size_t *klen, void **val);

#endif
