/*
 * test_zset.c — the sorted set (broker/zset.c) against a sorted-array
 * model: random adds, score updates (in place and moving), deletions, rank
 * and by-rank lookups, score and lex ranges with open and closed ends,
 * checking order, spans (every rank), back links and the member index
 * after every step. Plus the ordered table under it (broker/odict.c):
 * insertion order through removals, compactions and random draws, and
 * the hash and set values built on it. Deterministic (fixed seeds).
 */
#include "../test.h"

#include "broker/hash.h"
#include "broker/set.h"
#include "broker/zset.h"

#include <stdio.h>

#define MAXN 600

typedef struct ment {
	double score;
	char m[16];
	size_t n;
} ment_t;

static int ment_cmp(const void *a, const void *b)
{
	const ment_t *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = memcmp(x->m, y->m, n);
	if (c)
		return c;
	return x->n < y->n ? -1 : x->n > y->n;
}

static void check_model(const zset_t *z, ment_t *mod, int n)
{
	qsort(mod, (size_t)n, sizeof *mod, ment_cmp);
	CHECK_EQ(zset_len(z), n);
	CHECK_EQ(odict_len(&z->d), n);
	const znode_t *x = zset_first(z), *prev = NULL;
	for (int i = 0; i < n; i++) {
		CHECK(x != NULL);
		CHECK(x->score == mod[i].score);
		CHECK_EQ(x->mlen, mod[i].n);
		CHECK_MEM(x->m, mod[i].m, x->mlen);
		CHECK_EQ(zset_rank(z, x), i);
		CHECK(zset_at(z, (uint64_t)i) == x);
		CHECK(x->back == prev);
		CHECK(zset_find(z, mod[i].m, mod[i].n) == x);
		prev = x;
		x = zset_next(x);
	}
	CHECK(x == NULL);
	CHECK(zset_last(z) == prev);
}

TEST(zset_random_against_model)
{
	uint64_t seed = 12345;
	zset_t *z = zset_new();
	ment_t mod[MAXN];
	int n = 0;
	for (int step = 0; step < 4000; step++) {
		int op = (int)(test_rand(&seed) % 10);
		char m[16];
		int k = (int)(test_rand(&seed) % 300);
		size_t mlen = (size_t)snprintf(m, sizeof m, "m%d", k);
		double score = (double)(test_rand(&seed) % 20) - 5;
		int at = -1;
		for (int i = 0; i < n; i++)
			if (mod[i].n == mlen && memcmp(mod[i].m, m, mlen) == 0)
				at = i;
		znode_t *x = zset_find(z, m, mlen);
		CHECK((x != NULL) == (at >= 0));
		if (op < 6) {
			if (x) {
				zset_update(z, x, score);
				mod[at].score = score;
			} else if (n < MAXN) {
				zset_add(z, m, mlen, score);
				mod[n].score = score;
				memcpy(mod[n].m, m, mlen);
				mod[n].n = mlen;
				n++;
			}
		} else if (x) {
			zset_del(z, x);
			mod[at] = mod[--n];
		}
		if (step % 50 == 0 || n < 20)
			check_model(z, mod, n);
	}
	check_model(z, mod, n);
	uint64_t bytes = 0;
	for (int i = 0; i < n; i++)
		bytes += zset_cost(mod[i].n);
	CHECK_EQ(z->bytes, bytes);
	/* Score ranges against the model. */
	for (int t = 0; t < 200; t++) {
		zrange_t r = {(double)(test_rand(&seed) % 24) - 7,
		              (double)(test_rand(&seed) % 24) - 7, (int)(test_rand(&seed) & 1),
		              (int)(test_rand(&seed) & 1)};
		int first = -1, last = -1;
		for (int i = 0; i < n; i++) {
			if (zset_score_gte_min(mod[i].score, &r) &&
			    zset_score_lte_max(mod[i].score, &r)) {
				if (first < 0)
					first = i;
				last = i;
			}
		}
		znode_t *f = zset_first_in(z, &r), *l = zset_last_in(z, &r);
		CHECK((f == NULL) == (first < 0));
		CHECK((l == NULL) == (last < 0));
		if (f) {
			CHECK_EQ(zset_rank(z, f), first);
			CHECK_EQ(zset_rank(z, l), last);
		}
	}
	zset_t *c = zset_dup(z);
	check_model(c, mod, n);
	zset_free(c);
	zset_free(z);
}

TEST(zset_lex_ranges)
{
	zset_t *z = zset_new();
	const char *ms[] = {"a", "aa", "b", "ba", "c", "d", "e"};
	for (size_t i = 0; i < 7; i++)
		zset_add(z, ms[i], strlen(ms[i]), 0);
	zlex_t r = {"aa", "c", 2, 1, 0, 0, 0, 0};
	CHECK_STR(zset_first_in_lex(z, &r)->m, "aa");
	CHECK_STR(zset_last_in_lex(z, &r)->m, "c");
	r.minex = r.maxex = 1;
	CHECK_STR(zset_first_in_lex(z, &r)->m, "b");
	CHECK_STR(zset_last_in_lex(z, &r)->m, "ba");
	zlex_t all = {NULL, NULL, 0, 0, -1, 1, 1, 1};
	CHECK_STR(zset_first_in_lex(z, &all)->m, "a");
	CHECK_STR(zset_last_in_lex(z, &all)->m, "e");
	zlex_t none = {NULL, NULL, 0, 0, 1, 1, 1, 1};
	CHECK(zset_first_in_lex(z, &none) == NULL);
	zlex_t rev = {"d", "b", 1, 1, 0, 0, 0, 0};
	CHECK(zset_first_in_lex(z, &rev) == NULL);
	zlex_t same = {"b", "b", 1, 1, 0, 0, 1, 0};
	CHECK(zset_first_in_lex(z, &same) == NULL);
	zset_free(z);
}

static const char *int_key(const void *e, size_t *klen)
{
	const char *s = e;
	*klen = strlen(s);
	return s;
}

TEST(odict_order_removals_and_random)
{
	odict_t d;
	odict_init(&d, int_key);
	static char keys[2000][16];
	for (int i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i % 100000);
		odict_add(&d, keys[i]);
	}
	/* Remove all but every tenth: compactions happen on the way. */
	for (int i = 0; i < 2000; i++) {
		if (i % 10 == 0)
			continue;
		int64_t pos = odict_find(&d, keys[i], strlen(keys[i]));
		CHECK(pos >= 0);
		CHECK(odict_remove(&d, (size_t)pos) == keys[i]);
	}
	CHECK_EQ(odict_len(&d), 200);
	size_t it = 0;
	int want = 0;
	for (char *e; (e = odict_next(&d, &it)) != NULL; want += 10)
		CHECK(e == keys[want]);
	CHECK_EQ(want, 2000);
	for (int i = 0; i < 2000; i++)
		CHECK((odict_find(&d, keys[i], strlen(keys[i])) >= 0) == (i % 10 == 0));
	uint64_t rng = 7;
	int seen[200] = {0};
	for (int t = 0; t < 4000; t++) {
		char *e = odict_at(&d, odict_random(&d, &rng));
		CHECK(e != NULL);
		seen[atoi(e + 1) / 10] = 1;
	}
	for (int i = 0; i < 200; i++)
		CHECK(seen[i]);
	odict_deinit(&d);
}

TEST(hash_set_replace_keeps_order)
{
	rhash_t *h = rhash_new();
	CHECK_EQ(rhash_set(h, "b", 1, "1", 1), 1);
	CHECK_EQ(rhash_set(h, "a", 1, "2", 1), 1);
	CHECK_EQ(rhash_set(h, "b", 1, "33", 2), 0);
	CHECK_EQ(rhash_len(h), 2);
	CHECK_EQ(h->bytes, rhash_cost(1, 2) + rhash_cost(1, 1));
	size_t it = 0;
	rhent_t *e = rhash_next(h, &it);
	CHECK_STR(e->d, "b");
	CHECK_STR(rhent_val(e), "33");
	e = rhash_next(h, &it);
	CHECK_STR(e->d, "a");
	rhash_t *c = rhash_dup(h);
	CHECK_EQ(rhash_del(h, "b", 1), 1);
	CHECK_EQ(rhash_del(h, "b", 1), 0);
	CHECK(rhash_get(c, "b", 1) != NULL);
	CHECK_EQ(c->bytes, rhash_cost(1, 2) + rhash_cost(1, 1));
	rhash_enc(c, 128, 64, 1, 65);
	CHECK(c->big);
	rhash_free(c);
	rhash_free(h);
}

TEST(set_intset_then_table)
{
	rset_t *s = rset_new();
	CHECK_EQ(rset_add(s, "10", 2, 4), 1);
	CHECK_EQ(rset_add(s, "-3", 2, 4), 1);
	CHECK_EQ(rset_add(s, "7", 1, 4), 1);
	CHECK_EQ(rset_add(s, "7", 1, 4), 0);
	CHECK(rset_is_intset(s));
	rset_iter_t it;
	rset_iter_init(s, &it);
	size_t n;
	CHECK_STR(rset_iter_next(&it, &n), "-3");
	CHECK_STR(rset_iter_next(&it, &n), "7");
	CHECK_STR(rset_iter_next(&it, &n), "10");
	CHECK(rset_iter_next(&it, &n) == NULL);
	/* "07" is no integer in Redis's sense: the set becomes a table,
	 * keeping the members in their intset order. */
	CHECK_EQ(rset_add(s, "07", 2, 4), 1);
	CHECK(!rset_is_intset(s));
	CHECK(rset_has(s, "7", 1) && rset_has(s, "07", 2) && !rset_has(s, "8", 1));
	rset_iter_init(s, &it);
	CHECK_STR(rset_iter_next(&it, &n), "-3");
	/* Past the intset limit. */
	rset_t *t = rset_new();
	for (int i = 0; i < 5; i++) {
		char b[8];
		rset_add(t, b, (size_t)snprintf(b, sizeof b, "%d", i), 4);
	}
	CHECK(!rset_is_intset(t));
	CHECK_EQ(rset_len(t), 5);
	CHECK_EQ(t->bytes, 5 * rset_cost(1));
	CHECK_EQ(rset_del(t, "3", 1), 1);
	CHECK_EQ(t->bytes, 4 * rset_cost(1));
	rset_t *c = rset_dup(s);
	CHECK_EQ(rset_len(c), 4);
	uint64_t rng = 3;
	char buf[24];
	size_t pos;
	while (rset_len(c)) {
		const char *m = rset_random(c, &rng, buf, &n, &pos);
		CHECK(rset_has(s, m, n));
		rset_del_at(c, pos);
	}
	CHECK_EQ(c->bytes, 0);
	rset_free(c);
	rset_free(t);
	rset_free(s);
}
