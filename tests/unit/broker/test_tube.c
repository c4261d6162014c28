/*
 * test_tube.c — tube names, the registry's order and lifetime, and the
 * waiter set's take order (beanstalkd's ms_take).
 */
#include "broker/job.h"
#include "broker/tube.h"
#include "test.h"

TEST(tube_names)
{
	CHECK(tube_name_valid("default", 7));
	CHECK(tube_name_valid("A-Za+z0/9;.$_()", 15));
	CHECK(!tube_name_valid("", 0));
	CHECK(!tube_name_valid("-x", 2));
	CHECK(tube_name_valid("x-", 2));
	CHECK(!tube_name_valid("a b", 3));
	CHECK(!tube_name_valid("a*b", 3));
	CHECK(!tube_name_valid("a\0b", 3));
	char n[202];
	memset(n, 't', sizeof n);
	CHECK(tube_name_valid(n, 200));
	CHECK(!tube_name_valid(n, 201));
}

TEST(tube_registry_order_and_lifetime)
{
	tube_reg_t r;
	tube_reg_init(&r);
	CHECK_EQ(r.n, 1);
	tube_t *a = tube_get(&r, "a", 1), *b = tube_get(&r, "b", 1), *c = tube_get(&r, "c", 1);
	tube_ref(a), tube_ref(b), tube_ref(c);
	CHECK(tube_find(&r, "b", 1) == b);
	CHECK(tube_get(&r, "b", 1) == b);
	/* Removing "a" moves the last tube ("c") into its slot. */
	tube_unref(&r, a);
	CHECK_EQ(r.n, 3);
	CHECK_STR(r.v[0]->name, "default");
	CHECK_STR(r.v[1]->name, "c");
	CHECK_STR(r.v[2]->name, "b");
	CHECK(tube_find(&r, "a", 1) == NULL);
	tube_ref(b);
	tube_unref(&r, b);
	CHECK(tube_find(&r, "b", 1) == b);
	tube_unref(&r, b);
	tube_unref(&r, c);
	CHECK_EQ(r.n, 1);
	tube_reg_deinit(&r);
}

TEST(tube_waiters_take_like_beanstalkd)
{
	tube_reg_t r;
	tube_reg_init(&r);
	tube_t *t = r.deflt;
	job_client_t c[4];
	for (int i = 0; i < 4; i++)
		tube_waiter_add(t, &c[i]);
	/* ms_take with four waiters: oldest, then the cursor walks a set
	 * whose holes are filled from the end: A, B, D, C. */
	CHECK(tube_waiter_take(t) == &c[0]);
	CHECK(tube_waiter_take(t) == &c[1]);
	CHECK(tube_waiter_take(t) == &c[3]);
	CHECK(tube_waiter_take(t) == &c[2]);
	CHECK(tube_waiter_take(t) == NULL);
	tube_waiter_add(t, &c[0]);
	tube_waiter_add(t, &c[1]);
	tube_waiter_del(t, &c[0]);
	CHECK_EQ(t->nwaiters, 1);
	CHECK(tube_waiter_take(t) == &c[1]);
	tube_reg_deinit(&r);
}

TEST(tube_buried_fifo)
{
	tube_reg_t r;
	tube_reg_init(&r);
	tube_t *t = r.deflt;
	job_t j[3];
	memset(j, 0, sizeof j);
	for (int i = 0; i < 3; i++)
		tube_buried_push(t, &j[i]);
	tube_buried_del(t, &j[1]);
	CHECK(t->buried_first == &j[0]);
	CHECK(j[0].bnext == &j[2]);
	CHECK(t->buried_last == &j[2]);
	tube_buried_del(t, &j[0]);
	tube_buried_del(t, &j[2]);
	CHECK(t->buried_first == NULL && t->buried_last == NULL);
	CHECK_EQ(t->buried_n, 0);
	tube_reg_deinit(&r);
}
