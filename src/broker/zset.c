/*
 * zset.c — sorted set values: the skip list with spans and its member
 * index (see zset.h).
 *
 * Invariants: head has ZSET_MAXLEVEL levels and no member; level is the
 * highest level any node uses; for every node x and level i < x->level,
 * lv[i].span counts the nodes between x and lv[i].fwd plus one (or, for
 * the last link of a level, up to the end); the first node's back is
 * NULL; every node is in `d` under its member. Loop thread only.
 */
#include "broker/zset.h"

#include <stdlib.h>
#include <string.h>

static const char *node_key(const void *e, size_t *klen)
{
	const znode_t *x = e;
	*klen = x->mlen;
	return x->m;
}

static znode_t *node_new(int level, double score, const void *m, size_t n)
{
	size_t sz = sizeof(znode_t) + (size_t)level * sizeof(zlevel_t);
	znode_t *x = malloc(sz + n + 1);
	if (!x)
		abort();
	x->score = score;
	x->back = NULL;
	x->level = level;
	x->mlen = n;
	x->m = (char *)x + sz;
	if (n)
		memcpy(x->m, m, n);
	x->m[n] = 0;
	for (int i = 0; i < level; i++) {
		x->lv[i].fwd = NULL;
		x->lv[i].span = 0;
	}
	return x;
}

zset_t *zset_new(void)
{
	zset_t *z = calloc(1, sizeof *z);
	if (!z)
		abort();
	z->head = node_new(ZSET_MAXLEVEL, 0, "", 0);
	z->level = 1;
	odict_init(&z->d, node_key);
	z->rng = (uint64_t)(uintptr_t)z ^ z->d.seed;
	return z;
}

void zset_free(zset_t *z)
{
	if (!z)
		return;
	znode_t *x = z->head->lv[0].fwd;
	while (x) {
		znode_t *next = x->lv[0].fwd;
		free(x);
		x = next;
	}
	free(z->head);
	odict_deinit(&z->d);
	free(z);
}

zset_t *zset_dup(const zset_t *z)
{
	zset_t *c = zset_new();
	/* Adding in reverse order puts each node at the head: no search. */
	for (znode_t *x = z->tail; x; x = x->back)
		zset_add(c, x->m, x->mlen, x->score);
	c->big = z->big;
	return c;
}

/* Whether (s1, m1) sorts before (s2, m2). */
static int before(double s1, const char *m1, size_t n1, double s2, const char *m2, size_t n2)
{
	if (s1 != s2)
		return s1 < s2;
	size_t n = n1 < n2 ? n1 : n2;
	int c = n ? memcmp(m1, m2, n) : 0;
	return c < 0 || (c == 0 && n1 < n2);
}

static int random_level(zset_t *z)
{
	int level = 1;
	while (level < ZSET_MAXLEVEL && (odict_rand(&z->rng) & 3) == 0)
		level++;
	return level;
}

znode_t *zset_find(const zset_t *z, const void *m, size_t n)
{
	int64_t pos = odict_find(&z->d, m, n);
	return pos < 0 ? NULL : odict_at(&z->d, (size_t)pos);
}

/* Links node x (its score, member and level set) into the list, not into
 * the index. */
static void sl_link(zset_t *z, znode_t *x)
{
	znode_t *update[ZSET_MAXLEVEL], *p = z->head;
	uint64_t rank[ZSET_MAXLEVEL];
	for (int i = z->level - 1; i >= 0; i--) {
		rank[i] = i == z->level - 1 ? 0 : rank[i + 1];
		while (p->lv[i].fwd && before(p->lv[i].fwd->score, p->lv[i].fwd->m,
		                              p->lv[i].fwd->mlen, x->score, x->m, x->mlen)) {
			rank[i] += p->lv[i].span;
			p = p->lv[i].fwd;
		}
		update[i] = p;
	}
	int level = x->level;
	if (level > z->level) {
		for (int i = z->level; i < level; i++) {
			rank[i] = 0;
			update[i] = z->head;
			update[i]->lv[i].span = z->len;
		}
		z->level = level;
	}
	for (int i = 0; i < level; i++) {
		x->lv[i].fwd = update[i]->lv[i].fwd;
		update[i]->lv[i].fwd = x;
		x->lv[i].span = update[i]->lv[i].span - (rank[0] - rank[i]);
		update[i]->lv[i].span = (rank[0] - rank[i]) + 1;
	}
	for (int i = level; i < z->level; i++)
		update[i]->lv[i].span++;
	x->back = update[0] == z->head ? NULL : update[0];
	if (x->lv[0].fwd)
		x->lv[0].fwd->back = x;
	else
		z->tail = x;
	z->len++;
}

/* Links a new node into the list (not into the index). */
static znode_t *sl_insert(zset_t *z, double score, const void *m, size_t n)
{
	znode_t *x = node_new(random_level(z), score, m, n);
	sl_link(z, x);
	return x;
}

/* Unlinks x from the list given its predecessors on every level. */
static void sl_unlink(zset_t *z, znode_t *x, znode_t **update)
{
	for (int i = 0; i < z->level; i++) {
		if (update[i]->lv[i].fwd == x) {
			update[i]->lv[i].span += x->lv[i].span - 1;
			update[i]->lv[i].fwd = x->lv[i].fwd;
		} else {
			update[i]->lv[i].span -= 1;
		}
	}
	if (x->lv[0].fwd)
		x->lv[0].fwd->back = x->back;
	else
		z->tail = x->back;
	while (z->level > 1 && z->head->lv[z->level - 1].fwd == NULL)
		z->level--;
	z->len--;
}

static void find_update(const zset_t *z, const znode_t *t, znode_t **update)
{
	znode_t *x = z->head;
	for (int i = z->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && x->lv[i].fwd != t &&
		       before(x->lv[i].fwd->score, x->lv[i].fwd->m, x->lv[i].fwd->mlen, t->score,
		              t->m, t->mlen))
			x = x->lv[i].fwd;
		update[i] = x;
	}
}

znode_t *zset_add(zset_t *z, const void *m, size_t n, double score)
{
	znode_t *x = sl_insert(z, score, m, n);
	odict_add(&z->d, x);
	z->bytes += zset_cost(n);
	return x;
}

void zset_del(zset_t *z, znode_t *x)
{
	znode_t *update[ZSET_MAXLEVEL];
	find_update(z, x, update);
	sl_unlink(z, x, update);
	odict_take(&z->d, x->m, x->mlen);
	z->bytes -= zset_cost(x->mlen);
	free(x);
}

znode_t *zset_update(zset_t *z, znode_t *x, double score)
{
	znode_t *prev = x->back, *next = x->lv[0].fwd;
	/* Still in place: only the score changes. */
	if ((!prev || prev->score < score ||
	     (prev->score == score &&
	      before(prev->score, prev->m, prev->mlen, score, x->m, x->mlen))) &&
	    (!next || next->score > score ||
	     (next->score == score &&
	      before(score, x->m, x->mlen, next->score, next->m, next->mlen)))) {
		x->score = score;
		return x;
	}
	/* Moves: the same node, unlinked and linked again at its new place
	 * (its level kept), so the index and its member need no change. */
	znode_t *update[ZSET_MAXLEVEL];
	find_update(z, x, update);
	sl_unlink(z, x, update);
	x->score = score;
	x->back = NULL;
	for (int i = 0; i < x->level; i++) {
		x->lv[i].fwd = NULL;
		x->lv[i].span = 0;
	}
	sl_link(z, x);
	return x;
}

uint64_t zset_rank(const zset_t *z, const znode_t *t)
{
	uint64_t rank = 0;
	const znode_t *x = z->head;
	for (int i = z->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd &&
		       (x->lv[i].fwd == t || before(x->lv[i].fwd->score, x->lv[i].fwd->m,
		                                    x->lv[i].fwd->mlen, t->score, t->m, t->mlen))) {
			rank += x->lv[i].span;
			x = x->lv[i].fwd;
			if (x == t)
				return rank - 1;
		}
	}
	return rank ? rank - 1 : 0;
}

znode_t *zset_at(const zset_t *z, uint64_t r)
{
	uint64_t want = r + 1, traversed = 0;
	znode_t *x = z->head;
	for (int i = z->level - 1; i >= 0; i--) {
		while (x->lv[i].fwd && traversed + x->lv[i].span <= want) {
			traversed += x->lv[i].span;
			x = x->lv[i].fwd;
		}
		if (traversed == want)
			return x;
	}
	return NULL;
}

/* --- score ranges -------------------------------------------------------------- */

int zset_score_gte_min(double v, const zrange_t *r)
{
	return r->minex ? v > r->min : v >= r->min;
}

int zset_score_lte_max(double v, const zrange_t *r)
{
	return r->maxex ? v < r->max : v <= r->max;
}

static int range_empty(const zset_t *z, const zrange_t *r)
{
	if (r->min > r->max || (r->min == r->max && (r->minex || r->maxex)))
		return 1;
	znode_t *x = z->tail;
	if (!x || !zset_score_gte_min(x->score, r))
		return 1;
	x = z->head->lv[0].fwd;
	return !x || !zset_score_lte_max(x->score, r);
}

znode_t *zset_first_in(const zset_t *z, const zrange_t *r)
{
	if (range_empty(z, r))
		return NULL;
	znode_t *x = z->head;
	for (int i = z->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && !zset_score_gte_min(x->lv[i].fwd->score, r))
			x = x->lv[i].fwd;
	x = x->lv[0].fwd;
	return x && zset_score_lte_max(x->score, r) ? x : NULL;
}

znode_t *zset_last_in(const zset_t *z, const zrange_t *r)
{
	if (range_empty(z, r))
		return NULL;
	znode_t *x = z->head;
	for (int i = z->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && zset_score_lte_max(x->lv[i].fwd->score, r))
			x = x->lv[i].fwd;
	return x != z->head && zset_score_gte_min(x->score, r) ? x : NULL;
}

/* --- lex ranges ----------------------------------------------------------------- */

static int lexcmp(const char *a, size_t an, const char *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

int zset_lex_gte_min(const znode_t *x, const zlex_t *r)
{
	if (r->mininf)
		return r->mininf < 0;
	int c = lexcmp(x->m, x->mlen, r->min, r->minlen);
	return r->minex ? c > 0 : c >= 0;
}

int zset_lex_lte_max(const znode_t *x, const zlex_t *r)
{
	if (r->maxinf)
		return r->maxinf > 0;
	int c = lexcmp(x->m, x->mlen, r->max, r->maxlen);
	return r->maxex ? c < 0 : c <= 0;
}

static int lex_empty(const zset_t *z, const zlex_t *r)
{
	/* min > max, or an empty interval between equal ends. */
	if (r->mininf > 0 || r->maxinf < 0)
		return 1;
	if (!r->mininf && !r->maxinf) {
		int c = lexcmp(r->min, r->minlen, r->max, r->maxlen);
		if (c > 0 || (c == 0 && (r->minex || r->maxex)))
			return 1;
	}
	znode_t *x = z->tail;
	if (!x || !zset_lex_gte_min(x, r))
		return 1;
	x = z->head->lv[0].fwd;
	return !x || !zset_lex_lte_max(x, r);
}

znode_t *zset_first_in_lex(const zset_t *z, const zlex_t *r)
{
	if (lex_empty(z, r))
		return NULL;
	znode_t *x = z->head;
	for (int i = z->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && !zset_lex_gte_min(x->lv[i].fwd, r))
			x = x->lv[i].fwd;
	x = x->lv[0].fwd;
	return x && zset_lex_lte_max(x, r) ? x : NULL;
}

znode_t *zset_last_in_lex(const zset_t *z, const zlex_t *r)
{
	if (lex_empty(z, r))
		return NULL;
	znode_t *x = z->head;
	for (int i = z->level - 1; i >= 0; i--)
		while (x->lv[i].fwd && zset_lex_lte_max(x->lv[i].fwd, r))
			x = x->lv[i].fwd;
	return x != z->head && zset_lex_gte_min(x, r) ? x : NULL;
}
