/*
 * test_producer_state.c — idempotent producer bookkeeping: sequences in
 * order, duplicates of any of the last five batches, gaps, fencing, epoch
 * bumps and wrap-around.
 */
#include "test.h"

#include "broker/producer_state.h"

TEST(pstate_sequence_duplicates_and_gaps)
{
	pstate_t s;
	pstate_init(&s);
	int64_t dup = -1;
	/* Unknown producer: accepted at any sequence. */
	CHECK_EQ(pstate_check(&s, 7, 0, 0, 4, &dup), PS_OK);
	pstate_record(&s, 7, 0, 0, 4, 100);
	for (int i = 1; i < 8; i++) {
		CHECK_EQ(pstate_check(&s, 7, 0, 5 * i, 5 * i + 4, &dup), PS_OK);
		pstate_record(&s, 7, 0, 5 * i, 5 * i + 4, 100 + 5 * i);
	}
	/* The last five batches (sequences 15..39) are remembered. */
	for (int i = 3; i < 8; i++) {
		CHECK_EQ(pstate_check(&s, 7, 0, 5 * i, 5 * i + 4, &dup), PS_DUPLICATE);
		CHECK_EQ(dup, 100 + 5 * i);
	}
	/* Older than five batches: no longer a duplicate, and not in order. */
	CHECK_EQ(pstate_check(&s, 7, 0, 10, 14, &dup), PS_OUT_OF_ORDER);
	CHECK_EQ(pstate_check(&s, 7, 0, 41, 41, &dup), PS_OUT_OF_ORDER);
	CHECK_EQ(pstate_check(&s, 7, 0, 40, 40, &dup), PS_OK);
	/* Older epoch is fenced; a newer one must restart at 0. */
	pstate_record(&s, 7, 3, 0, 0, 200);
	CHECK_EQ(pstate_check(&s, 7, 2, 1, 1, &dup), PS_FENCED);
	CHECK_EQ(pstate_check(&s, 7, 4, 5, 5, &dup), PS_OUT_OF_ORDER);
	CHECK_EQ(pstate_check(&s, 7, 4, 0, 0, &dup), PS_OK);
	/* Other producers are independent. */
	CHECK_EQ(pstate_check(&s, 8, 0, 77, 80, &dup), PS_OK);
	CHECK_EQ(pstate_count(&s), 1);
	pstate_deinit(&s);
}

TEST(pstate_sequence_wraps_at_int32_max)
{
	pstate_t s;
	pstate_init(&s);
	int64_t dup;
	pstate_record(&s, 1, 0, INT32_MAX - 1, INT32_MAX, 10);
	CHECK_EQ(pstate_check(&s, 1, 0, 0, 3, &dup), PS_OK);
	CHECK_EQ(pstate_check(&s, 1, 0, 1, 3, &dup), PS_OUT_OF_ORDER);
	pstate_deinit(&s);
}
