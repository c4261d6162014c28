/*
 * test_pubsub.c — the pub/sub registry (broker/pubsub.h): delivery to
 * channel subscribers, then pattern subscribers, each in subscription
 * order; duplicate subscriptions; counts; channel listing; dropping a
 * subscriber.
 */
#include "../test.h"

#include "broker/pubsub.h"

typedef struct sub {
	ps_sub_t s;
	char got[256];
} sub_t;

static void deliver(ps_sub_t *s, const char *pat, size_t plen, const char *ch, size_t chlen,
                    const char *msg, size_t mlen)
{
	sub_t *x = (sub_t *)s;
	size_t o = strlen(x->got);
	snprintf(x->got + o, sizeof x->got - o, "[%.*s|%.*s|%.*s]", (int)plen, pat ? pat : "",
	         (int)chlen, ch, (int)mlen, msg);
}

static int order[8], norder;

static void deliver_ordered(ps_sub_t *s, const char *pat, size_t plen, const char *ch, size_t chlen,
                            const char *msg, size_t mlen)
{
	(void)pat;
	(void)plen;
	(void)ch;
	(void)chlen;
	(void)msg;
	(void)mlen;
	order[norder++] = (int)(((sub_t *)s)->got[0]);
}

static void count_channel(void *arg, const char *ch, size_t len)
{
	(void)ch;
	(void)len;
	(*(int *)arg)++;
}

TEST(pubsub_channels_then_patterns_in_subscription_order)
{
	ps_t *ps = ps_new();
	sub_t a = {{deliver_ordered}, "a"}, b = {{deliver_ordered}, "b"},
	      c = {{deliver_ordered}, "c"};
	CHECK_EQ(ps_psubscribe(ps, &c.s, "n*", 2), 1);
	CHECK_EQ(ps_subscribe(ps, &b.s, "news", 4), 1);
	CHECK_EQ(ps_subscribe(ps, &a.s, "news", 4), 1);
	CHECK_EQ(ps_subscribe(ps, &a.s, "news", 4), 0);
	CHECK_EQ(ps_psubscribe(ps, &a.s, "*s", 2), 1);
	CHECK_EQ(ps_publish(ps, "news", 4, "m", 1), 4);
	CHECK_EQ(norder, 4);
	CHECK_EQ(order[0], 'b');
	CHECK_EQ(order[1], 'a');
	CHECK_EQ(order[2], 'c');
	CHECK_EQ(order[3], 'a');
	CHECK_EQ(ps_numsub(ps, "news", 4), 2);
	CHECK_EQ(ps_numsub(ps, "other", 5), 0);
	ps_free(ps);
}

TEST(pubsub_messages_carry_pattern_channel_and_payload)
{
	ps_t *ps = ps_new();
	sub_t a = {{deliver}, ""};
	ps_subscribe(ps, &a.s, "ch", 2);
	ps_psubscribe(ps, &a.s, "c?", 2);
	CHECK_EQ(ps_publish(ps, "ch", 2, "hi", 2), 2);
	CHECK_STR(a.got, "[|ch|hi][c?|ch|hi]");
	CHECK_EQ(ps_publish(ps, "nobody", 6, "x", 1), 0);
	ps_free(ps);
}

TEST(pubsub_unsubscribe_drop_and_counts)
{
	ps_t *ps = ps_new();
	sub_t a = {{deliver}, ""}, b = {{deliver}, ""};
	ps_subscribe(ps, &a.s, "x", 1);
	ps_subscribe(ps, &a.s, "y", 1);
	ps_subscribe(ps, &b.s, "y", 1);
	ps_psubscribe(ps, &a.s, "p*", 2);
	ps_psubscribe(ps, &b.s, "p*", 2);
	ps_psubscribe(ps, &b.s, "q*", 2);
	CHECK_EQ(ps_numpat(ps), 2);
	int n = 0;
	ps_channels(ps, NULL, 0, count_channel, &n);
	CHECK_EQ(n, 2);
	n = 0;
	ps_channels(ps, "x*", 2, count_channel, &n);
	CHECK_EQ(n, 1);
	CHECK_EQ(ps_unsubscribe(ps, &b.s, "x", 1), 0);
	CHECK_EQ(ps_punsubscribe(ps, &b.s, "q*", 2), 1);
	CHECK_EQ(ps_numpat(ps), 1);
	/* Dropping a leaves b's subscriptions, and no empty channel. */
	ps_drop(ps, &a.s);
	n = 0;
	ps_channels(ps, NULL, 0, count_channel, &n);
	CHECK_EQ(n, 1);
	CHECK_EQ(ps_numsub(ps, "y", 1), 1);
	CHECK_EQ(ps_publish(ps, "pa", 2, "m", 1), 1);
	CHECK_STR(a.got, "");
	CHECK_STR(b.got, "[p*|pa|m]");
	ps_free(ps);
}
