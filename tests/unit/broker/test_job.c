/*
 * test_job.c — the job model without a network: ordering, state changes,
 * ownership rules, TTR and delay expiry (driven by jobs_tick with deadlines
 * moved into the past), blocked reserves and tube lifetime.
 */
#include "broker/job.h"
#include "core/err.h"
#include "test.h"

typedef struct woke {
	int what;
	uint64_t id;
	int n;
} woke_t;

static void on_wake(job_client_t *c, int what, job_t *j)
{
	woke_t *w = c->arg;
	w->what = what;
	w->id = j ? j->id : 0;
	w->n++;
}

static job_t *put(jobs_t *s, job_client_t *c, uint32_t pri, int64_t delay_s, const char *body)
{
	size_t n = strlen(body);
	job_t *j = jobs_new_job(s, pri, delay_s * NS_PER_SEC, 10 * NS_PER_SEC, (uint32_t)n + 2);
	memcpy(j->body, body, n);
	memcpy(j->body + n, "\r\n", 2);
	jobs_put(s, c, j);
	return j;
}

static uint64_t reserve_now(jobs_t *s, job_client_t *c)
{
	job_t *j = NULL;
	int r = jobs_reserve(s, c, 0, &j);
	return r == JOB_RES_RESERVED ? j->id : 0;
}

/* Moves a job's deadline into the past and re-sorts the heaps it is in. */
static void expire(jobs_t *s, job_t *j)
{
	j->deadline_ns = jobs_now() - 1;
	if (j->state == JOB_RESERVED) {
		heap_update(&s->ttrq, &j->gnode);
		heap_update(&j->reserver->reserved, &j->cnode);
	} else {
		heap_update(&s->delayq, &j->gnode);
		heap_update(&j->tube->delay, &j->tnode);
	}
}

TEST(job_ready_order_priority_then_id)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	job_client_t c;
	woke_t w = {0};
	job_client_init(&s, &c, on_wake, &w);
	put(&s, &c, 5, 0, "a");
	put(&s, &c, 3, 0, "b");
	put(&s, &c, 5, 0, "c");
	CHECK_EQ(s.urgent_n, 3);
	CHECK_EQ(reserve_now(&s, &c), 2);
	CHECK_EQ(reserve_now(&s, &c), 1);
	/* Released with equal priority, job 1 goes ahead of the newer job 3. */
	CHECK_EQ(jobs_release(&s, &c, 1, 5, 0), 0);
	CHECK_EQ(reserve_now(&s, &c), 1);
	CHECK_EQ(reserve_now(&s, &c), 3);
	CHECK_EQ(reserve_now(&s, &c), 0);
	CHECK_EQ(s.reserved_n, 3);
	job_client_deinit(&c);
	CHECK_EQ(s.reserved_n, 0);
	CHECK_EQ(s.ready_n, 3);
	jobs_deinit(&s);
}

TEST(job_ownership_rules)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	job_client_t a, b;
	woke_t w = {0};
	job_client_init(&s, &a, on_wake, &w);
	job_client_init(&s, &b, on_wake, &w);
	put(&s, &a, 1, 0, "x");
	put(&s, &a, 1, 0, "y");
	CHECK_EQ(reserve_now(&s, &a), 1);
	/* Another client's reservation: delete/release/bury/touch NOT_FOUND. */
	CHECK_EQ(jobs_delete(&s, &b, 1), SL_ENOENT);
	CHECK_EQ(jobs_release(&s, &b, 1, 1, 0), SL_ENOENT);
	CHECK_EQ(jobs_bury(&s, &b, 1, 1), SL_ENOENT);
	CHECK_EQ(jobs_touch(&s, &b, 1), SL_ENOENT);
	/* Ready jobs can be deleted by anyone, but not released. */
	CHECK_EQ(jobs_release(&s, &b, 2, 1, 0), SL_ENOENT);
	CHECK_EQ(jobs_delete(&s, &b, 2), 0);
	CHECK(jobs_find(&s, 2) == NULL);
	CHECK_EQ(jobs_touch(&s, &a, 1), 0);
	CHECK_EQ(jobs_delete(&s, &a, 1), 0);
	CHECK_EQ(s.tubes.deflt->deletes, 2);
	job_client_deinit(&a);
	job_client_deinit(&b);
	jobs_deinit(&s);
}

TEST(job_bury_kick_and_delays)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	job_client_t c;
	woke_t w = {0};
	job_client_init(&s, &c, on_wake, &w);
	put(&s, &c, 1, 0, "a");
	put(&s, &c, 1, 0, "b");
	job_t *d1 = put(&s, &c, 1, 50, "d1");
	job_t *d2 = put(&s, &c, 1, 20, "d2");
	CHECK(jobs_peek_delayed(c.use) == d2);
	CHECK_EQ(reserve_now(&s, &c), 1);
	CHECK_EQ(jobs_bury(&s, &c, 1, 9), 0);
	CHECK_EQ(reserve_now(&s, &c), 2);
	CHECK_EQ(jobs_bury(&s, &c, 2, 9), 0);
	CHECK(jobs_peek_buried(c.use)->id == 1);
	CHECK_EQ(s.buried_n, 2);
	/* kick takes buried jobs first, and only those while any exist. */
	CHECK_EQ(jobs_kick(&s, c.use, 10), 2);
	CHECK_EQ(s.buried_n, 0);
	CHECK_EQ(s.delayed_n, 2);
	CHECK_EQ(jobs_kick(&s, c.use, 1), 1);
	CHECK(d2->state == JOB_READY);
	CHECK_EQ(jobs_kick_job(&s, d2->id), SL_ENOENT);
	/* A delay that ends makes the job ready. */
	expire(&s, d1);
	jobs_tick(&s);
	CHECK(d1->state == JOB_READY);
	CHECK_EQ(s.delayed_n, 0);
	CHECK_EQ(d2->kicks, 1);
	job_client_deinit(&c);
	jobs_deinit(&s);
}

TEST(job_ttr_expiry_and_deadline_soon)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	job_client_t c;
	woke_t w = {0};
	job_client_init(&s, &c, on_wake, &w);
	job_t *j = put(&s, &c, 1, 0, "a");
	CHECK_EQ(reserve_now(&s, &c), 1);
	CHECK(!job_client_deadline_soon(&c, jobs_now()));
	/* Inside the last second of the TTR, reserve says DEADLINE_SOON when
	 * nothing is ready... */
	j->deadline_ns = jobs_now() + JOB_SAFETY_MARGIN_NS / 2;
	heap_update(&c.reserved, &j->cnode);
	job_t *got = NULL;
	CHECK_EQ(jobs_reserve(&s, &c, -1, &got), JOB_RES_DEADLINE_SOON);
	/* ...but reserves normally when a job is ready. */
	put(&s, &c, 1, 0, "b");
	CHECK_EQ(jobs_reserve(&s, &c, -1, &got), JOB_RES_RESERVED);
	CHECK_EQ(got->id, 2);
	expire(&s, j);
	jobs_tick(&s);
	CHECK(j->state == JOB_READY);
	CHECK_EQ(j->timeouts, 1);
	CHECK_EQ(s.timeouts, 1);
	CHECK_EQ(s.reserved_n, 1);
	job_client_deinit(&c);
	jobs_deinit(&s);
}

TEST(job_blocked_reserve_is_served_from_any_watched_tube)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	job_client_t worker, producer;
	woke_t w = {0}, pw = {0};
	job_client_init(&s, &worker, on_wake, &w);
	job_client_init(&s, &producer, on_wake, &pw);
	CHECK_EQ(job_client_watch(&worker, "t1", 2), 2);
	CHECK_EQ(job_client_watch(&worker, "t2", 2), 3);
	job_t *got = NULL;
	CHECK_EQ(jobs_reserve(&s, &worker, 0, &got), JOB_RES_TIMED_OUT);
	CHECK_EQ(jobs_reserve(&s, &worker, -1, &got), JOB_RES_WAITING);
	CHECK_EQ(s.waiting_n, 1);
	tube_t *t2 = tube_find(&s.tubes, "t2", 2);
	CHECK_EQ(t2->nwaiters, 1);
	job_client_use(&producer, "t2", 2);
	put(&s, &producer, 7, 0, "x");
	CHECK_EQ(w.n, 1);
	CHECK_EQ(w.what, JOB_WAKE_RESERVED);
	CHECK_EQ(w.id, 1);
	CHECK_EQ(s.waiting_n, 0);
	CHECK_EQ(t2->nwaiters, 0);
	CHECK_EQ(tube_find(&s.tubes, "t1", 2)->nwaiters, 0);
	/* A paused tube does not serve its waiters until the pause ends. */
	CHECK_EQ(jobs_pause(&s, "t2", 2, 60 * NS_PER_SEC), 0);
	CHECK_EQ(jobs_reserve(&s, &worker, -1, &got), JOB_RES_WAITING);
	put(&s, &producer, 7, 0, "y");
	CHECK_EQ(w.n, 1);
	t2->unpause_at = jobs_now() - 1;
	jobs_tick(&s);
	CHECK_EQ(w.n, 2);
	CHECK_EQ(w.id, 2);
	CHECK_EQ(t2->pause_ns, 0);
	CHECK_EQ(jobs_pause(&s, "nope", 4, 1), SL_ENOENT);
	job_client_deinit(&worker);
	job_client_deinit(&producer);
	jobs_deinit(&s);
}

TEST(job_tubes_live_while_referenced)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	job_client_t c;
	woke_t w = {0};
	job_client_init(&s, &c, on_wake, &w);
	job_client_use(&c, "jobs", 4);
	put(&s, &c, 1, 0, "a");
	job_client_use(&c, "default", 7);
	CHECK(tube_find(&s.tubes, "jobs", 4) != NULL); /* the job holds it */
	CHECK_EQ(jobs_delete(&s, &c, 1), 0);
	CHECK(tube_find(&s.tubes, "jobs", 4) == NULL);
	CHECK_EQ(job_client_watch(&c, "w", 1), 2);
	CHECK_EQ(job_client_ignore(&c, "w", 1), 1);
	CHECK(tube_find(&s.tubes, "w", 1) == NULL);
	CHECK_EQ(job_client_ignore(&c, "default", 7), -1);
	CHECK_EQ(job_client_ignore(&c, "absent", 6), 1);
	job_client_deinit(&c);
	CHECK_EQ(s.tubes.n, 1);
	jobs_deinit(&s);
}

TEST(job_reserve_job_takes_any_unreserved_state)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	job_client_t c;
	woke_t w = {0};
	job_client_init(&s, &c, on_wake, &w);
	put(&s, &c, 1, 30, "delayed");
	put(&s, &c, 1, 0, "buried");
	CHECK_EQ(reserve_now(&s, &c), 2);
	CHECK_EQ(jobs_bury(&s, &c, 2, 1), 0);
	job_t *j = NULL;
	CHECK_EQ(jobs_reserve_job(&s, &c, 1, &j), 0);
	CHECK_EQ(j->id, 1);
	CHECK_EQ(jobs_reserve_job(&s, &c, 2, &j), 0);
	CHECK_EQ(j->id, 2);
	CHECK_EQ(jobs_reserve_job(&s, &c, 2, &j), SL_ENOENT);
	CHECK_EQ(jobs_reserve_job(&s, &c, 3, &j), SL_ENOENT);
	CHECK_EQ(s.delayed_n, 0);
	CHECK_EQ(s.buried_n, 0);
	CHECK_EQ(s.reserved_n, 2);
	job_client_deinit(&c);
	jobs_deinit(&s);
}
