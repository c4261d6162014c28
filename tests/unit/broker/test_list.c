/*
 * test_list.c — the chunked list (broker/list.c) against a plain array
 * model: random pushes, pops, inserts, sets, removals and trims across many
 * chunk boundaries, checking length, bytes, indexing and iteration in both
 * directions after every step. Deterministic (fixed seed), bounded.
 */
#include "../test.h"

#include "broker/list.h"

#include <stdio.h>

#define MAXN 4000

typedef struct model {
	int v[MAXN];
	int n;
} model_t;

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static qlv_t *mk(int x)
{
	char b[16];
	int n = snprintf(b, sizeof b, "%d", x);
	return qlv_new(b, (size_t)n);
}

static int val(const qlv_t *v)
{
	return atoi(v->p);
}

static void check_same(const qlist_t *l, const model_t *m)
{
	CHECK_EQ(qlist_len(l), (size_t)m->n);
	uint64_t bytes = 0;
	qlist_iter_t it;
	qlist_iter_init(l, &it, 0, 0);
	for (int i = 0; i < m->n; i++) {
		qlv_t *v = qlist_iter_next(&it);
		CHECK(v != NULL);
		CHECK_EQ(val(v), m->v[i]);
		bytes += v->len;
	}
	CHECK(qlist_iter_next(&it) == NULL);
	CHECK_EQ(l->bytes, bytes);
	if (m->n) {
		qlist_iter_init(l, &it, m->n - 1, 1);
		for (int i = m->n - 1; i >= 0; i--)
			CHECK_EQ(val(qlist_iter_next(&it)), m->v[i]);
		CHECK(qlist_iter_next(&it) == NULL);
		int k = (int)(next() % (uint64_t)m->n);
		CHECK_EQ(val(qlist_at(l, k)), m->v[k]);
		CHECK_EQ(qlist_norm(l, -1), m->n - 1);
	}
	CHECK_EQ(qlist_norm(l, m->n), -1);
}

TEST(list_random_ops_match_array_model)
{
	qlist_t *l = qlist_new();
	static model_t m;
	m.n = 0;
	int counter = 0;
	for (int step = 0; step < 20000; step++) {
		int op = (int)(next() % 10);
		if (m.n > MAXN - 300)
			op = 2;
		switch (op) {
		case 0:
		case 1: { /* push, one or a run */
			int tail = (int)(next() & 1), k = 1 + (int)(next() % 200);
			for (int j = 0; j < k; j++) {
				int x = counter++ % 50;
				qlist_push(l, tail, mk(x));
				if (tail) {
					m.v[m.n++] = x;
				} else {
					memmove(m.v + 1, m.v, (size_t)m.n * sizeof m.v[0]);
					m.v[0] = x;
					m.n++;
				}
			}
			break;
		}
		case 2: { /* pop */
			int tail = (int)(next() & 1), k = 1 + (int)(next() % 150);
			for (int j = 0; j < k; j++) {
				qlv_t *v = qlist_pop(l, tail);
				if (!m.n) {
					CHECK(v == NULL);
					break;
				}
				if (tail) {
					CHECK_EQ(val(v), m.v[m.n - 1]);
				} else {
					CHECK_EQ(val(v), m.v[0]);
					memmove(m.v, m.v + 1, (size_t)(m.n - 1) * sizeof m.v[0]);
				}
				m.n--;
				free(v);
			}
			break;
		}
		case 3:
		case 4: { /* insert anywhere */
			int at = (int)(next() % (uint64_t)(m.n + 1)), x = counter++ % 50;
			qlist_insert(l, at, mk(x));
			memmove(m.v + at + 1, m.v + at, (size_t)(m.n - at) * sizeof m.v[0]);
			m.v[at] = x;
			m.n++;
			break;
		}
		case 5: /* set */
			if (m.n) {
				int at = (int)(next() % (uint64_t)m.n), x = counter++ % 50;
				qlist_set(l, at, mk(x));
				m.v[at] = x;
			}
			break;
		case 6: { /* LREM */
			int x = (int)(next() % 50);
			int64_t count = (int64_t)(next() % 5) - 2;
			char b[16];
			int bl = snprintf(b, sizeof b, "%d", x);
			size_t removed = qlist_rem(l, count, b, (size_t)bl);
			int want = 0, n2 = 0;
			int lim = count == 0 ? MAXN : (int)(count < 0 ? -count : count);
			static int keep[MAXN];
			if (count >= 0) {
				for (int i = 0; i < m.n; i++) {
					if (m.v[i] == x && want < lim)
						want++;
					else
						keep[n2++] = m.v[i];
				}
			} else {
				int drop[MAXN] = {0};
				for (int i = m.n - 1; i >= 0; i--)
					if (m.v[i] == x && want < lim)
						drop[i] = 1, want++;
				for (int i = 0; i < m.n; i++)
					if (!drop[i])
						keep[n2++] = m.v[i];
			}
			CHECK_EQ(removed, (size_t)want);
			memcpy(m.v, keep, (size_t)n2 * sizeof m.v[0]);
			m.n = n2;
			break;
		}
		case 7: { /* LTRIM with Redis's index rules */
			if (next() % 4)
				break;
			int64_t a = (int64_t)(next() % 60) - 30, b = (int64_t)(next() % 600) - 100;
			qlist_trim(l, a, b);
			int64_t len = m.n, s = a < 0 ? a + len : a, e = b < 0 ? b + len : b;
			if (s < 0)
				s = 0;
			if (s > e || s >= len) {
				m.n = 0;
			} else {
				if (e >= len)
					e = len - 1;
				memmove(m.v, m.v + s, (size_t)(e - s + 1) * sizeof m.v[0]);
				m.n = (int)(e - s + 1);
			}
			break;
		}
		default:
			break;
		}
		if (step % 50 == 0 || op >= 5)
			check_same(l, &m);
	}
	check_same(l, &m);
	qlist_free(l);
}

TEST(list_move_element_between_lists_keeps_pointer)
{
	qlist_t *a = qlist_new(), *b = qlist_new();
	for (int i = 0; i < 300; i++)
		qlist_push(a, 1, mk(i));
	for (int i = 0; i < 300; i++) {
		qlv_t *v = qlist_pop(a, 0);
		qlist_push(b, 0, v);
	}
	CHECK_EQ(qlist_len(a), 0u);
	CHECK(a->head == NULL && a->tail == NULL);
	CHECK_EQ(val(qlist_at(b, 0)), 299);
	CHECK_EQ(val(qlist_at(b, 299)), 0);
	qlist_free(a);
	qlist_free(b);
}
