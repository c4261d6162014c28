/* test_balancer.c — the pusher's partition choice (lib/balancer.c):
 * hash vectors, agreement with librdkafka's fnv1a partitioner, and the
 * distribution of every balancer. */
#include "test.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "balancer.h"

TEST(balancer_fnv1a_vectors)
{
	CHECK_EQ(lib_bal_fnv1a("", 0), 0x811C9DC5u);
	CHECK_EQ(lib_bal_fnv1a("a", 1), 0xE40C292Cu);
	CHECK_EQ(lib_bal_fnv1a("foobar", 6), 0xBF9CF968u);
}

TEST(balancer_crc16_vectors)
{
	CHECK_EQ(lib_bal_crc16("123456789", 9), 0x31C3);
	CHECK_EQ(lib_bal_crc16("", 0), 0);
	/* Redis CLUSTER KEYSLOT foo = 12182 = crc16("foo") & 16383. */
	CHECK_EQ(lib_bal_crc16("foo", 3) & 16383, 12182);
}

TEST(balancer_hash_sign_handling)
{
	/* fnv1a("a") has the top bit set: int32 -468965076; Go's % then abs. */
	CHECK_EQ(lib_bal_hash_partition(0xE40C292Cu, 3), 0);
	CHECK_EQ(lib_bal_hash_partition(0xE40C292Cu, 7), 6);
	CHECK_EQ(lib_bal_hash_partition(0xE40C292Cu, 10), 6);
	/* INT32_MIN: |INT32_MIN % n| = 2^31 % n, as librdkafka's unsigned %. */
	CHECK_EQ(lib_bal_hash_partition(0x80000000u, 7), (int)(2147483648u % 7));
	CHECK_EQ(lib_bal_hash_partition(0x7FFFFFFFu, 10), 7);
	CHECK_EQ(lib_bal_hash_partition(5, 1), 0);
}

TEST(balancer_hash_matches_librdkafka_fnv1a)
{
	uint64_t seed = 42;
	char key[32];
	for (int i = 0; i < 20000; i++) {
		int len = (int)(test_rand(&seed) % sizeof key);
		for (int j = 0; j < len; j++)
			key[j] = (char)test_rand(&seed);
		int32_t n = 1 + (int32_t)(test_rand(&seed) % 64);
		int32_t want =
		    rd_kafka_msg_partitioner_fnv1a(NULL, key, (size_t)len, n, NULL, NULL);
		lib_bal *b = lib_bal_new(LIB_BAL_HASH, 0, 1);
		CHECK(b);
		CHECK_MSG(lib_bal_choose(b, key, (size_t)len, 0, n) == want,
		          "key %d len %d n %d: librdkafka says %d", i, len, n, want);
		lib_bal_free(b);
	}
}

TEST(balancer_hash_and_crc16_null_key_round_robin)
{
	lib_bal *h = lib_bal_new(LIB_BAL_HASH, 0, 1);
	lib_bal *c = lib_bal_new(LIB_BAL_CRC16, 0, 1);
	for (int i = 0; i < 12; i++) {
		CHECK_EQ(lib_bal_choose(h, NULL, 0, 10, 4), i % 4);
		CHECK_EQ(lib_bal_choose(c, NULL, 0, 10, 4), i % 4);
	}
	/* A key always lands on the same partition, interleaved or not. */
	int32_t first = lib_bal_choose(h, "user-17", 7, 1, 5);
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(lib_bal_choose(h, "user-17", 7, 1, 5), first);
		CHECK_EQ(lib_bal_choose(c, "123456789", 9, 1, 5), 0x31C3 % 5);
		CHECK_EQ(lib_bal_choose(c, "", 0, 1, 5), 0); /* empty is a key */
	}
	lib_bal_free(h);
	lib_bal_free(c);
}

TEST(balancer_hash_spreads_keys)
{
	lib_bal *b = lib_bal_new(LIB_BAL_HASH, 0, 1);
	int count[8] = {0};
	char key[32];
	for (int i = 0; i < 8000; i++) {
		int len = snprintf(key, sizeof key, "key-%d", i);
		int32_t p = lib_bal_choose(b, key, (size_t)len, 0, 8);
		CHECK(p >= 0 && p < 8);
		count[p]++;
	}
	for (int i = 0; i < 8; i++)
		CHECK_MSG(count[i] > 800 && count[i] < 1200, "partition %d got %d of 8000", i,
		          count[i]);
	lib_bal_free(b);
}

TEST(balancer_round_robin_cycles)
{
	lib_bal *b = lib_bal_new(LIB_BAL_ROUND_ROBIN, 0, 1);
	for (int i = 0; i < 30; i++)
		CHECK_EQ(lib_bal_choose(b, "k", 1, 1, 3), i % 3);
	lib_bal_free(b);
}

TEST(balancer_random_uniform)
{
	lib_bal *b = lib_bal_new(LIB_BAL_RANDOM, 0, 12345);
	int count[8] = {0};
	for (int i = 0; i < 16000; i++) {
		int32_t p = lib_bal_choose(b, NULL, 0, 1, 8);
		CHECK(p >= 0 && p < 8);
		count[p]++;
	}
	for (int i = 0; i < 8; i++)
		CHECK_MSG(count[i] > 1600 && count[i] < 2400, "partition %d got %d of 16000", i,
		          count[i]);
	lib_bal_free(b);
}

TEST(balancer_manual_fixed)
{
	lib_bal *b = lib_bal_new(LIB_BAL_MANUAL, 2, 1);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(lib_bal_choose(b, "x", 1, 1, 4), 2);
	lib_bal_free(b);
}

TEST(balancer_least_bytes_picks_smallest)
{
	lib_bal *b = lib_bal_new(LIB_BAL_LEAST_BYTES, 0, 1);
	/* All empty: lowest index first, then the ones still at 0. */
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 100, 3), 0);
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 10, 3), 1);
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 50, 3), 2);
	/* Now 100, 10, 50: partition 1 until it passes 50, then 2. */
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 30, 3), 1); /* 1 -> 40 */
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 30, 3), 1); /* 1 -> 70 */
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 60, 3), 2); /* 2 -> 110 */
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 1, 3), 1);  /* 100, 70, 110 */
	/* A new partition count starts over. */
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 5, 4), 0);
	CHECK_EQ(lib_bal_choose(b, NULL, 0, 5, 4), 1);
	lib_bal_free(b);

	/* Mixed sizes end up with nearly equal byte totals. */
	b = lib_bal_new(LIB_BAL_LEAST_BYTES, 0, 1);
	uint64_t total[4] = {0}, seed = 7;
	for (int i = 0; i < 4000; i++) {
		size_t sz = 1 + test_rand(&seed) % 1000;
		total[lib_bal_choose(b, NULL, 0, sz, 4)] += sz;
	}
	uint64_t lo = total[0], hi = total[0];
	for (int i = 1; i < 4; i++) {
		lo = total[i] < lo ? total[i] : lo;
		hi = total[i] > hi ? total[i] : hi;
	}
	CHECK_MSG(hi - lo <= 1000, "byte totals differ by %llu", (unsigned long long)(hi - lo));
	lib_bal_free(b);
}

/* Several threads choosing at once (the balancer takes no lock). */
typedef struct bal_thread_arg {
	lib_bal *b;
	int count[4];
} bal_thread_arg;

static void *balancer_thread_main(void *arg)
{
	bal_thread_arg *a = arg;
	for (int i = 0; i < 20000; i++)
		a->count[lib_bal_choose(a->b, NULL, 0, 10, 4)]++;
	return NULL;
}

static void balancer_run_threads(lib_bal *b, int total[4])
{
	pthread_t th[4];
	bal_thread_arg args[4];
	for (int t = 0; t < 4; t++) {
		args[t] = (bal_thread_arg){.b = b};
		pthread_create(&th[t], NULL, balancer_thread_main, &args[t]);
	}
	for (int p = 0; p < 4; p++)
		total[p] = 0;
	for (int t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		for (int p = 0; p < 4; p++)
			total[p] += args[t].count[p];
	}
}

TEST(balancer_threads_share_state)
{
	/* Round-robin hands out positions atomically: exactly even. */
	lib_bal *b = lib_bal_new(LIB_BAL_ROUND_ROBIN, 0, 1);
	int total[4];
	balancer_run_threads(b, total);
	for (int p = 0; p < 4; p++)
		CHECK_MSG(total[p] == 20000, "round-robin partition %d got %d", p, total[p]);
	lib_bal_free(b);

	/* least-bytes: racing threads may pick the same smallest counter,
	 * but no choice is lost, so the spread stays close. */
	b = lib_bal_new(LIB_BAL_LEAST_BYTES, 0, 1);
	balancer_run_threads(b, total);
	for (int p = 0; p < 4; p++)
		CHECK_MSG(total[p] > 19000 && total[p] < 21000, "least-bytes partition %d got %d",
		          p, total[p]);
	lib_bal_free(b);

	b = lib_bal_new(LIB_BAL_RANDOM, 0, 99);
	balancer_run_threads(b, total);
	for (int p = 0; p < 4; p++)
		CHECK_MSG(total[p] > 18000 && total[p] < 22000, "random partition %d got %d", p,
		          total[p]);
	lib_bal_free(b);
}

TEST(balancer_kind_names)
{
	CHECK_EQ(lib_bal_kind_parse("least-bytes"), LIB_BAL_LEAST_BYTES);
	CHECK_EQ(lib_bal_kind_parse("hash"), LIB_BAL_HASH);
	CHECK_EQ(lib_bal_kind_parse("round-robin"), LIB_BAL_ROUND_ROBIN);
	CHECK_EQ(lib_bal_kind_parse("random"), LIB_BAL_RANDOM);
	CHECK_EQ(lib_bal_kind_parse("manual"), LIB_BAL_MANUAL);
	CHECK_EQ(lib_bal_kind_parse("crc16"), LIB_BAL_CRC16);
	CHECK_EQ(lib_bal_kind_parse("sticky"), -1);
}
