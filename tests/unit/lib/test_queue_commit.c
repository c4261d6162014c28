/* test_queue_commit.c — the queue's in-order commit tracker (lib/queue_commit.c). */
#include "test.h"

#include "queue_commit.h"

TEST(queue_commit_empty_and_in_order)
{
	qc_tracker t;
	qc_init(&t);
	CHECK_EQ(qc_commit_point(&t), -1);
	for (int64_t o = 10; o < 15; o++)
		CHECK_EQ(qc_add(&t, o), 0);
	CHECK_EQ(qc_commit_point(&t), 10);
	CHECK_EQ(qc_pending(&t), 5);
	for (int64_t o = 10; o < 15; o++) {
		CHECK_EQ(qc_done(&t, o), 0);
		CHECK_EQ(qc_commit_point(&t), o + 1);
	}
	CHECK_EQ(qc_pending(&t), 0);
	qc_deinit(&t);
}

TEST(queue_commit_out_of_order_completion)
{
	qc_tracker t;
	qc_init(&t);
	for (int64_t o = 0; o < 6; o++)
		CHECK_EQ(qc_add(&t, o), 0);
	CHECK_EQ(qc_done(&t, 3), 0);
	CHECK_EQ(qc_done(&t, 1), 0);
	CHECK_EQ(qc_commit_point(&t), 0); /* 0 still running: nothing past it */
	CHECK_EQ(qc_done(&t, 0), 0);
	CHECK_EQ(qc_commit_point(&t), 2);
	CHECK_EQ(qc_done(&t, 2), 0);
	CHECK_EQ(qc_commit_point(&t), 4);    /* 3 was done already */
	CHECK_EQ(qc_done(&t, 3), SL_ENOENT); /* twice */
	CHECK_EQ(qc_done(&t, 5), 0);
	CHECK_EQ(qc_commit_point(&t), 4);
	CHECK_EQ(qc_done(&t, 4), 0);
	CHECK_EQ(qc_commit_point(&t), 6);
	qc_deinit(&t);
}

TEST(queue_commit_gaps_use_seen_offsets)
{
	/* Compaction left holes: 100, 103, 107, 200. */
	qc_tracker t;
	qc_init(&t);
	int64_t offs[] = {100, 103, 107, 200};
	for (int i = 0; i < 4; i++)
		CHECK_EQ(qc_add(&t, offs[i]), 0);
	CHECK_EQ(qc_commit_point(&t), 100);
	CHECK_EQ(qc_done(&t, 101), SL_ENOENT); /* never seen */
	CHECK_EQ(qc_done(&t, 103), 0);
	CHECK_EQ(qc_commit_point(&t), 100);
	CHECK_EQ(qc_done(&t, 100), 0);
	CHECK_EQ(qc_commit_point(&t), 107); /* the hole 104..106 is skipped */
	CHECK_EQ(qc_done(&t, 200), 0);
	CHECK_EQ(qc_commit_point(&t), 107);
	CHECK_EQ(qc_done(&t, 107), 0);
	CHECK_EQ(qc_commit_point(&t), 201);
	/* Duplicates and going backwards are refused. */
	CHECK_EQ(qc_add(&t, 200), SL_EINVAL);
	CHECK_EQ(qc_add(&t, 150), SL_EINVAL);
	CHECK_EQ(qc_add(&t, 205), 0);
	CHECK_EQ(qc_commit_point(&t), 205);
	qc_reset(&t);
	CHECK_EQ(qc_commit_point(&t), -1);
	CHECK_EQ(qc_add(&t, 3), 0); /* a new assignment may start lower */
	CHECK_EQ(qc_commit_point(&t), 3);
	qc_deinit(&t);
}

/* Random fetches with holes, random completion order, ring wrap-around
 * and growth, checked against a plain model after every step. */
TEST(queue_commit_random_against_model)
{
	enum { N = 3000 };
	static int64_t offs[N];
	static bool done[N];
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	qc_tracker t;
	qc_init(&t);
	int64_t o = 5;
	int added = 0;
	for (int step = 0; step < 4 * N; step++) {
		bool add = added < N && (added == 0 || test_rand(&seed) % 3 != 0);
		if (add) {
			o += 1 + (int64_t)(test_rand(&seed) % 3);
			offs[added] = o;
			CHECK_EQ(qc_add(&t, o), 0);
			added++;
		} else {
			/* finish a random pending one among the last 50 added */
			int lo = added > 50 ? added - 50 : 0;
			int i = lo + (int)(test_rand(&seed) % (uint64_t)(added - lo));
			int r = qc_done(&t, offs[i]);
			CHECK_EQ(r, done[i] ? SL_ENOENT : 0);
			done[i] = true;
		}
		int64_t want = -1;
		int first = -1;
		for (int i = 0; i < added; i++)
			if (!done[i]) {
				first = i;
				break;
			}
		if (first >= 0)
			want = offs[first];
		else if (added)
			want = offs[added - 1] + 1;
		CHECK_MSG(qc_commit_point(&t) == want, "step %d: %lld != %lld", step,
		          (long long)qc_commit_point(&t), (long long)want);
	}
	qc_deinit(&t);
}

/* Runs of consecutive marks (a processor's batch) take the hint path, also
 * across the ring's wrap and a grow, and a stale hint is never trusted. */
TEST(queue_commit_batch_runs_across_wrap_and_grow)
{
	qc_tracker t;
	qc_init(&t);
	int64_t next = 0;
	for (; next < 60; next++)
		CHECK_EQ(qc_add(&t, next), 0);
	for (int64_t o = 0; o < 50; o++) /* the front advances to 50 */
		CHECK_EQ(qc_done(&t, o), 0);
	for (; next < 100; next++) /* wraps the 64-slot ring */
		CHECK_EQ(qc_add(&t, next), 0);
	/* A run in the middle (hint path), then a stale hint target. */
	for (int64_t o = 70; o < 80; o++)
		CHECK_EQ(qc_done(&t, o), 0);
	CHECK_EQ(qc_done(&t, 79), SL_ENOENT);
	CHECK_EQ(qc_done(&t, 80), 0);
	CHECK_EQ(qc_commit_point(&t), 50);
	for (; next < 200; next++) /* grows: the hint is reset */
		CHECK_EQ(qc_add(&t, next), 0);
	CHECK_EQ(qc_done(&t, 81), 0);
	CHECK_EQ(qc_done(&t, 150), 0);
	CHECK_EQ(qc_done(&t, 151), 0);
	for (int64_t o = 50; o < 70; o++)
		CHECK_EQ(qc_done(&t, o), 0);
	CHECK_EQ(qc_commit_point(&t), 82);
	CHECK_EQ(qc_pending(&t), 200 - 82 - 2);
	qc_deinit(&t);
}
