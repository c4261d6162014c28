/*
 * test_stream.c — the stream model: ID parsing and order, append, range
 * iteration across deletion holes, trimming (exact, approximate, MINID,
 * LIMIT), lag bookkeeping, groups, consumers and the PEL.
 */
#include "../test.h"

#include "broker/stream.h"

static sid_t id(uint64_t ms, uint64_t seq)
{
	return (sid_t){ms, seq};
}

static void add(stream_t *s, uint64_t ms, uint64_t seq)
{
	const char *p[2] = {"f", "v"};
	size_t l[2] = {1, 1};
	CHECK(stream_append_argv(s, id(ms, seq), 1, p, l) != NULL);
}

static int parse(const char *str, sid_t *out, uint64_t missing, int strict, int *given)
{
	return sid_parse(str, strlen(str), out, missing, strict, given);
}

TEST(stream_id_parse_like_redis)
{
	sid_t a;
	int given;
	CHECK(parse("5", &a, 0, 0, NULL) == 0 && a.ms == 5 && a.seq == 0);
	CHECK(parse("5", &a, UINT64_MAX, 0, NULL) == 0 && a.seq == UINT64_MAX);
	CHECK(parse("5-7", &a, 0, 1, NULL) == 0 && a.ms == 5 && a.seq == 7);
	CHECK(parse("-", &a, 0, 0, NULL) == 0 && sid_cmp(a, SID_MIN) == 0);
	CHECK(parse("+", &a, 0, 0, NULL) == 0 && sid_cmp(a, SID_MAX) == 0);
	CHECK(parse("-", &a, 0, 1, NULL) < 0);
	CHECK(parse("5-*", &a, 0, 1, &given) == 0 && given == 0 && a.ms == 5);
	CHECK(parse("5-*", &a, 0, 1, NULL) < 0);
	CHECK(parse("abc", &a, 0, 0, NULL) < 0);
	CHECK(parse("-1", &a, 0, 0, NULL) < 0);
	CHECK(parse("18446744073709551615-18446744073709551615", &a, 0, 1, NULL) == 0);
	CHECK(sid_cmp(a, SID_MAX) == 0);
	CHECK(parse("18446744073709551616", &a, 0, 1, NULL) < 0);
	char buf[SID_STRLEN];
	CHECK_EQ(sid_fmt(SID_MAX, buf), 41);
	CHECK_STR(buf, "18446744073709551615-18446744073709551615");
	sid_t m = SID_MAX;
	CHECK(sid_incr(&m) < 0);
	sid_t z = SID_MIN;
	CHECK(sid_decr(&z) < 0);
	sid_t x = id(1, UINT64_MAX);
	CHECK(sid_incr(&x) == 0 && x.ms == 2 && x.seq == 0);
}

TEST(stream_next_id_follows_clock_and_last)
{
	stream_t *s = stream_new();
	sid_t n;
	CHECK(stream_next_id(s, 100, &n) == 0 && n.ms == 100 && n.seq == 0);
	add(s, 100, 0);
	CHECK(stream_next_id(s, 100, &n) == 0 && n.ms == 100 && n.seq == 1);
	CHECK(stream_next_id(s, 50, &n) == 0 && n.ms == 100 && n.seq == 1);
	s->last_id = SID_MAX;
	CHECK(stream_next_id(s, 50, &n) < 0);
	stream_free(s);
}

static int collect(stream_t *s, sid_t a, sid_t b, int rev, uint64_t *out)
{
	siter_t it;
	stream_iter(&it, s, a, b, rev);
	sentry_t *e;
	int n = 0;
	while ((e = stream_iter_next(&it)))
		out[n++] = e->id.ms;
	return n;
}

TEST(stream_range_across_holes)
{
	stream_t *s = stream_new();
	for (uint64_t i = 1; i <= 1000; i++)
		add(s, i, 0);
	/* Delete every other entry: the holes force compaction along the way. */
	for (uint64_t i = 2; i <= 1000; i += 2)
		CHECK_EQ(stream_delete(s, id(i, 0)), 1);
	CHECK_EQ(stream_delete(s, id(2, 0)), 0);
	CHECK_EQ(s->length, 500);
	CHECK(sid_cmp(s->max_deleted_id, id(1000, 0)) == 0);
	uint64_t out[1000];
	CHECK_EQ(collect(s, id(10, 0), id(20, 0), 0, out), 5);
	CHECK_EQ(out[0], 11);
	CHECK_EQ(out[4], 19);
	CHECK_EQ(collect(s, id(10, 0), id(20, 0), 1, out), 5);
	CHECK_EQ(out[0], 19);
	CHECK_EQ(collect(s, SID_MIN, SID_MAX, 0, out), 500);
	CHECK_EQ(collect(s, id(20, 0), id(10, 0), 0, out), 0);
	CHECK(stream_get(s, id(999, 0)) != NULL);
	CHECK(stream_get(s, id(998, 0)) == NULL);
	CHECK_EQ(stream_first(s)->id.ms, 1);
	CHECK_EQ(stream_last(s)->id.ms, 999);
	stream_free(s);
}

TEST(stream_trim_approx_nodes_of_another_size)
{
	/* stream-node-max-entries 10: ~ removes whole nodes of 10. */
	stream_t *s = stream_new();
	for (uint64_t i = 1; i <= 50; i++)
		add(s, i, 0);
	CHECK_EQ(stream_trim_maxlen(s, 25, 10, 0), 20);
	CHECK_EQ(stream_trim_maxlen(s, 25, 10, 0), 0);
	CHECK_EQ(s->length, 30);
	CHECK_EQ(stream_trim_maxlen(s, 0, 10, 15), 10); /* LIMIT: whole nodes only */
	stream_free(s);
}

TEST(stream_trim_exact_approx_minid_limit)
{
	stream_t *s = stream_new();
	for (uint64_t i = 1; i <= 250; i++)
		add(s, i, 0);
	/* ~ removes whole nodes of 100 only. */
	CHECK_EQ(stream_trim_maxlen(s, 200, STREAM_NODE_ENTRIES, 0), 0);
	CHECK_EQ(stream_trim_maxlen(s, 150, STREAM_NODE_ENTRIES, 0), 100);
	CHECK_EQ(s->length, 150);
	CHECK_EQ(stream_trim_maxlen(s, 10, STREAM_NODE_ENTRIES, 50), 0); /* LIMIT below a node */
	CHECK_EQ(stream_trim_maxlen(s, 140, 0, 0), 10);
	CHECK_EQ(stream_first(s)->id.ms, 111);
	CHECK_EQ(stream_trim_minid(s, id(120, 0), 0, 0), 9);
	CHECK_EQ(stream_first(s)->id.ms, 120);
	CHECK_EQ(stream_trim_minid(s, id(240, 0), STREAM_NODE_ENTRIES, 0), 81); /* node 101..200 */
	CHECK_EQ(stream_trim_maxlen(s, 0, 0, 0), 50);
	CHECK_EQ(s->length, 0);
	CHECK(stream_first(s) == NULL);
	CHECK_EQ(s->entries_added, 250);
	CHECK_EQ(s->last_id.ms, 250);
	stream_free(s);
}

TEST(stream_lag_follows_redis_rules)
{
	stream_t *s = stream_new();
	sgroup_t *g = stream_group_create(s, "g", 1, SID_MIN, STREAM_ENTRIES_READ_INVALID);
	int valid;
	CHECK_EQ(stream_group_lag(s, g, &valid), 0);
	CHECK(valid);
	for (uint64_t i = 1; i <= 5; i++)
		add(s, i, 0);
	CHECK_EQ(stream_group_lag(s, g, &valid), 5);
	stream_group_advance(s, g, id(1, 0));
	stream_group_advance(s, g, id(2, 0));
	CHECK_EQ(g->entries_read, 2);
	CHECK_EQ(stream_group_lag(s, g, &valid), 3);
	/* A tombstone ahead of the group makes the lag unknown. */
	stream_delete(s, id(4, 0));
	stream_group_lag(s, g, &valid);
	CHECK(!valid);
	CHECK(stream_group_create(s, "g", 1, SID_MIN, 0) == NULL);
	stream_free(s);
}

TEST(stream_pel_consumers)
{
	stream_t *s = stream_new();
	for (uint64_t i = 1; i <= 10; i++)
		add(s, i, 0);
	sgroup_t *g = stream_group_create(s, "g", 1, SID_MIN, 0);
	sconsumer_t *a = stream_consumer_create(g, "a", 1, 1000);
	sconsumer_t *b = stream_consumer_create(g, "b", 1, 1000);
	for (uint64_t i = 10; i >= 1; i--)
		stream_pel_add(g, i % 2 ? a : b, id(i, 0), 5, 1);
	CHECK_EQ(g->pel.n, 10);
	CHECK_EQ(a->pel.n, 5);
	for (size_t i = 1; i < g->pel.n; i++)
		CHECK(sid_cmp(g->pel.v[i - 1]->id, g->pel.v[i]->id) < 0);
	snack_t *n = spel_find(&g->pel, id(3, 0));
	CHECK(n && n->consumer == a);
	stream_pel_move(n, b);
	CHECK_EQ(a->pel.n, 4);
	CHECK_EQ(b->pel.n, 6);
	CHECK(spel_find(&b->pel, id(3, 0)) == n);
	CHECK_EQ(stream_pel_ack(g, id(3, 0)), 1);
	CHECK_EQ(stream_pel_ack(g, id(3, 0)), 0);
	CHECK_EQ(spel_lower(&g->pel, id(3, 0)), 2);
	CHECK_EQ(stream_consumer_delete(g, b), 5);
	CHECK_EQ(g->pel.n, 4);
	size_t nc;
	sconsumer_t **cs = stream_consumers_sorted(g, &nc);
	CHECK_EQ(nc, 1);
	CHECK_STR(cs[0]->name, "a");
	free(cs);
	stream_free(s);
}
