/* test_queue_api.c — sl_queue argument and configuration checks that need
 * no broker (lib/queue.c); behaviour against sluiced is in
 * tests/integration/test_lib_queue.py. */
#include "test.h"

#include "lib.h"

static int queue_api_handler(const sl_message *m, void *user)
{
	(void)m;
	(void)user;
	return 0;
}

/* A conf for a group member whose broker never answers (port 1). */
static sl_conf *queue_api_conf(void)
{
	sl_conf *c = sl_conf_new();
	CHECK(c);
	CHECK_EQ(sl_conf_set(c, "brokers", "127.0.0.1:1"), 0);
	CHECK_EQ(sl_conf_set(c, "group", "g"), 0);
	CHECK_EQ(sl_conf_set(c, "topic", "a, b"), 0);
	return c;
}

TEST(queue_api_rejects_bad_arguments)
{
	sl_conf *c = queue_api_conf();
	CHECK(sl_queue_new(NULL, queue_api_handler, NULL) == NULL);
	CHECK(sl_queue_new(c, NULL, NULL) == NULL);
	sl_queue *q = sl_queue_new(c, queue_api_handler, NULL);
	CHECK(q);
	CHECK_EQ(sl_queue_set_rdkafka(q, "no.such.property", "1"), SL_ECONF);
	CHECK(strstr(sl_last_error(), "no.such.property"));
	CHECK_EQ(sl_queue_set_rdkafka(q, "session.timeout.ms", "x"), SL_ECONF);
	CHECK_EQ(sl_queue_set_rdkafka(q, "session.timeout.ms", "6000"), 0);
	CHECK_EQ(sl_queue_set_partition(q, -2), SL_EINVAL);
	/* A partition only makes sense without a group. */
	CHECK_EQ(sl_queue_set_partition(q, 1), 0);
	CHECK_EQ(sl_queue_start(q), SL_EINVAL);
	CHECK_EQ(sl_queue_stop(q), SL_ESTATE);
	sl_partition_lag lag[1];
	CHECK_EQ(sl_queue_lag(q, lag, 1), SL_ESTATE);
	sl_queue_free(q);

	CHECK_EQ(sl_conf_set(c, "topic", ""), 0);
	q = sl_queue_new(c, queue_api_handler, NULL);
	CHECK_EQ(sl_queue_start(q), SL_ECONF);
	CHECK(strstr(sl_last_error(), "topic"));
	sl_queue_free(q);
	sl_conf_free(c);
}

/* The extremes of every fetch key map to librdkafka settings it accepts,
 * and a queue that never reached its broker still starts and stops. */
TEST_T(queue_api_extreme_fetch_settings_start, 60)
{
	static const char *const sets[][2] = {
	    {"max.wait", "300000"},      {"max.wait", "0"},          {"max.bytes", "1024"},
	    {"max.bytes", "1000000000"}, {"min.bytes", "100000000"}, {"min.bytes", "1"},
	};
	for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
		sl_conf *c = queue_api_conf();
		CHECK_EQ(sl_conf_set(c, sets[i][0], sets[i][1]), 0);
		CHECK_EQ(sl_conf_set(c, "consumers", "2"), 0);
		CHECK_EQ(sl_conf_set(c, "processors", "2"), 0);
		sl_queue *q = sl_queue_new(c, queue_api_handler, NULL);
		sl_conf_free(c);
		CHECK_MSG(sl_queue_start(q) == 0, "%s=%s: %s", sets[i][0], sets[i][1],
		          sl_last_error());
		CHECK_EQ(sl_queue_set_partition(q, 0), SL_ESTATE);
		CHECK_EQ(sl_queue_start(q), SL_ESTATE);
		sl_metrics m;
		sl_queue_metrics(q, &m);
		CHECK_EQ(m.handled, 0);
		sl_partition_lag lag[1];
		CHECK_EQ(sl_queue_lag(q, lag, 1), 0); /* nothing assigned */
		CHECK_EQ(sl_queue_stop(q), 0);
		CHECK_EQ(sl_queue_stop(q), 0);
		sl_queue_free(q);
	}
}
