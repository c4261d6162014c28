/*
 * set.h — the value of a Redis set, in one of Redis 7.0's two encodings:
 *
 *   intset     a sorted array of int64 (every member is a strict decimal
 *              integer, num_str2ll, and there are at most the keyspace's
 *              set-max-intset-entries of them): members come out in
 *              numeric order, as Redis's intsets do;
 *   hashtable  an insertion-ordered table of qlv_t members (odict.h).
 *
 * A set starts as an intset when its first member is an integer and
 * converts for good to a hashtable when a non-integer member arrives or
 * it grows past the limit (Redis never converts back). `bytes` is the
 * journal cost of the members (kvs_cost of each member's text).
 *
 * Members are handed out as views: a hashtable member's bytes, or an
 * intset member's decimal text in the iterator's (or caller's) buffer.
 * Loop thread only.
 */
#ifndef SL_BROKER_SET_H
#define SL_BROKER_SET_H

#include "broker/list.h"
#include "broker/odict.h"

typedef struct rset {
	int64_t *ints; /* intset encoding while d is NULL */
	size_t nints, icap;
	odict_t *d; /* hashtable encoding: qlv_t members */
	uint64_t bytes;
} rset_t;

typedef struct rset_iter {
	const rset_t *s;
	size_t i;
	char buf[24];
} rset_iter_t;

rset_t *rset_new(void);
void rset_free(rset_t *s);
rset_t *rset_dup(const rset_t *s);
static inline int rset_is_intset(const rset_t *s)
{
	return s->d == NULL;
}
static inline size_t rset_len(const rset_t *s)
{
	return s->d ? odict_len(s->d) : s->nints;
}
int rset_has(const rset_t *s, const void *m, size_t n);
/* Adds m; returns 1 when it was new. An intset converts when m is not an
 * integer or the set would pass max_intset members. */
int rset_add(rset_t *s, const void *m, size_t n, size_t max_intset);
/* Removes m; returns 1 when it was there. */
int rset_del(rset_t *s, const void *m, size_t n);
/* Converts an intset to a hashtable (no-op otherwise). */
void rset_to_table(rset_t *s);

void rset_iter_init(const rset_t *s, rset_iter_t *it);
/* The next member as a view (valid until the next call or a change of
 * the set), or NULL at the end. */
const char *rset_iter_next(rset_iter_t *it, size_t *n);

/* A random member, as a view: buf (>= 24 bytes) holds an intset member's
 * text. The set must not be empty. pos gets an opaque position for
 * rset_del_at. */
const char *rset_random(const rset_t *s, uint64_t *rng, char *buf, size_t *n, size_t *pos);
/* Removes the member at a position rset_random returned. */
void rset_del_at(rset_t *s, size_t pos);

/* Journal cost of one member. */
static inline uint64_t rset_cost(size_t n)
{
	return 4 + (uint64_t)n;
}

#endif
