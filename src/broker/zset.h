/*
 * zset.h — the value of a Redis sorted set: a skip list ordered by
 * (score, member bytes) with a span on every link, so that rank queries
 * and access by rank are O(log n), plus an index from member to node
 * (odict.h) for O(1) ZSCORE and membership. The algorithm is the classic
 * one (Pugh's skip lists, with Redis's rank spans): levels drawn with
 * p = 1/4 up to ZSET_MAXLEVEL, a backward pointer on level 0.
 *
 * Order: by score, then by member (memcmp, shorter first on a tie), as
 * Redis orders both of its encodings; scores are never NaN. `big` is the
 * encoding OBJECT ENCODING reports (0 listpack, 1 skiplist), kept by the
 * keyspace from its zset-max-listpack-* settings. `bytes` is the journal
 * cost of the content. Loop thread only.
 */
#ifndef SL_BROKER_ZSET_H
#define SL_BROKER_ZSET_H

#include "broker/odict.h"

#define ZSET_MAXLEVEL 32

typedef struct znode znode_t;

typedef struct zlevel {
	znode_t *fwd;
	uint64_t span; /* nodes crossed by following fwd (1 = the next) */
} zlevel_t;

struct znode {
	double score;
	znode_t *back;
	size_t mlen;
	char *m; /* the member, NUL-terminated, inside this allocation */
	int level;
	zlevel_t lv[];
};

typedef struct zset {
	znode_t *head, *tail;
	size_t len;
	int level;
	odict_t d; /* member → node */
	uint64_t bytes;
	uint64_t rng;
	int big;
} zset_t;

/* A score interval: min..max, each end exclusive when *ex is set. */
typedef struct zrange {
	double min, max;
	int minex, maxex;
} zrange_t;

/* A lexicographic interval (ZRANGEBYLEX): each end is -inf / +inf (inf
 * -1 / 1) or a member, inclusive or exclusive. */
typedef struct zlex {
	const char *min, *max;
	size_t minlen, maxlen;
	int mininf, maxinf; /* -1 "-", 1 "+", 0 a member */
	int minex, maxex;
} zlex_t;

zset_t *zset_new(void);
void zset_free(zset_t *z);
zset_t *zset_dup(const zset_t *z);
static inline size_t zset_len(const zset_t *z)
{
	return z->len;
}
/* The node of member m, or NULL. */
znode_t *zset_find(const zset_t *z, const void *m, size_t n);
/* Adds m (not present) with score; returns its node. */
znode_t *zset_add(zset_t *z, const void *m, size_t n, double score);
/* Gives node x a new score (moving it in the order); returns x. */
znode_t *zset_update(zset_t *z, znode_t *x, double score);
/* Removes node x and frees it. */
void zset_del(zset_t *z, znode_t *x);

static inline znode_t *zset_first(const zset_t *z)
{
	return z->head->lv[0].fwd;
}
static inline znode_t *zset_last(const zset_t *z)
{
	return z->tail;
}
static inline znode_t *zset_next(const znode_t *x)
{
	return x->lv[0].fwd;
}
static inline znode_t *zset_prev(const zset_t *z, const znode_t *x)
{
	return x->back == z->head ? NULL : x->back;
}
/* 0-based rank of x from the lowest score. */
uint64_t zset_rank(const zset_t *z, const znode_t *x);
/* The node at 0-based rank r (r < len). */
znode_t *zset_at(const zset_t *z, uint64_t rank);

/* Score ranges: the first / last node inside r, or NULL. */
znode_t *zset_first_in(const zset_t *z, const zrange_t *r);
znode_t *zset_last_in(const zset_t *z, const zrange_t *r);
int zset_score_gte_min(double v, const zrange_t *r);
int zset_score_lte_max(double v, const zrange_t *r);
/* Lex ranges (meaningful when all scores are equal, as Redis says). */
znode_t *zset_first_in_lex(const zset_t *z, const zlex_t *r);
znode_t *zset_last_in_lex(const zset_t *z, const zlex_t *r);
int zset_lex_gte_min(const znode_t *x, const zlex_t *r);
int zset_lex_lte_max(const znode_t *x, const zlex_t *r);

/* Before adding a member of mlen bytes: the set leaves the listpack
 * encoding when it would pass max_entries members or the member is longer
 * than max_value (Redis converts before inserting). */
static inline void zset_enc(zset_t *z, size_t max_entries, size_t max_value, size_t mlen)
{
	if (!z->big && (z->len + 1 > max_entries || mlen > max_value))
		z->big = 1;
}

/* The score a member gets in a listpack-encoded set: Redis stores
 * integral scores there as integers, so -0 comes back as 0. */
static inline double zset_lp_score(const zset_t *z, double s)
{
	return !z->big && s == 0 ? 0.0 : s;
}

/* Journal cost of one member (its text and its score). */
static inline uint64_t zset_cost(size_t n)
{
	return 12 + (uint64_t)n;
}

#endif
