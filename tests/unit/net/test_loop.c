/*
 * test_loop.c — unit tests for net/loop.c: timers, end-of-turn tasks,
 * watches and cross-thread wake-ups. Drives the loop with loop_run_once.
 */
#include "test.h"

#include "core/time.h"
#include "net/loop.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct rec {
	int order[64];
	int n;
} rec_t;

typedef struct tagged_timer {
	loop_timer_t t;
	rec_t *rec;
	int tag;
} tagged_timer_t;

static void on_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	tagged_timer_t *tt = t->arg;
	tt->rec->order[tt->rec->n++] = tt->tag;
}

static void run_until(loop_t *loop, rec_t *rec, int n)
{
	for (int i = 0; i < 2000 && rec->n < n; i++)
		CHECK_EQ(loop_run_once(loop, 50), 0);
}

TEST(loop_timers_fire_in_due_order)
{
	loop_t *loop = loop_new(NULL);
	rec_t rec = {{0}, 0};
	tagged_timer_t t[4];
	int delays[4] = {300, 100, 200,
	                 0}; /* 100 ms apart: a loaded machine may pause the starts */
	for (int i = 0; i < 4; i++) {
		t[i].rec = &rec;
		t[i].tag = i;
		loop_timer_init(&t[i].t, on_timer, &t[i]);
		loop_timer_start(loop, &t[i].t, delays[i]);
		CHECK(loop_timer_armed(&t[i].t));
	}
	run_until(loop, &rec, 4);
	CHECK_EQ(rec.n, 4);
	CHECK_EQ(rec.order[0], 3);
	CHECK_EQ(rec.order[1], 1);
	CHECK_EQ(rec.order[2], 2);
	CHECK_EQ(rec.order[3], 0);
	for (int i = 0; i < 4; i++)
		CHECK(!loop_timer_armed(&t[i].t));
	loop_free(loop);
}

TEST(loop_timers_same_deadline_fire_in_start_order)
{
	loop_t *loop = loop_new(NULL);
	rec_t rec = {{0}, 0};
	tagged_timer_t t[16];
	int64_t due = loop_now_ms(loop) + 5;
	/* Start them in a scrambled order; the tie-break is the start order. */
	int start[16] = {7, 3, 15, 0, 9, 12, 1, 4, 14, 2, 11, 6, 8, 13, 5, 10};
	for (int i = 0; i < 16; i++) {
		tagged_timer_t *x = &t[start[i]];
		x->rec = &rec;
		x->tag = start[i];
		loop_timer_init(&x->t, on_timer, x);
		loop_timer_start_at(loop, &x->t, due);
	}
	run_until(loop, &rec, 16);
	CHECK_EQ(rec.n, 16);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(rec.order[i], start[i]);
	loop_free(loop);
}

TEST(loop_timer_stop_and_restart)
{
	loop_t *loop = loop_new(NULL);
	rec_t rec = {{0}, 0};
	tagged_timer_t a = {.rec = &rec, .tag = 1}, b = {.rec = &rec, .tag = 2},
	               c = {.rec = &rec, .tag = 3};
	loop_timer_init(&a.t, on_timer, &a);
	loop_timer_init(&b.t, on_timer, &b);
	loop_timer_init(&c.t, on_timer, &c);
	loop_timer_start(loop, &a.t, 0);
	loop_timer_start(loop, &b.t, 0);
	loop_timer_start(loop, &c.t, 0);
	loop_timer_stop(loop, &b.t);
	CHECK(!loop_timer_armed(&b.t));
	loop_timer_stop(loop, &b.t); /* stopping twice is harmless */
	/* Restarting a started timer moves it behind c (new start sequence). */
	loop_timer_start(loop, &a.t, 0);
	run_until(loop, &rec, 2);
	CHECK_EQ(rec.n, 2);
	CHECK_EQ(rec.order[0], 3);
	CHECK_EQ(rec.order[1], 1);
	/* Nothing else fires. */
	CHECK_EQ(loop_run_once(loop, 20), 0);
	CHECK_EQ(rec.n, 2);
	/* A fired timer can be started again. */
	loop_timer_start(loop, &b.t, 1);
	run_until(loop, &rec, 3);
	CHECK_EQ(rec.order[2], 2);
	loop_free(loop);
}

TEST(loop_timer_start_at_and_now_cached)
{
	loop_t *loop = loop_new(NULL);
	rec_t rec = {{0}, 0};
	tagged_timer_t a = {.rec = &rec, .tag = 1}, b = {.rec = &rec, .tag = 2};
	loop_timer_init(&a.t, on_timer, &a);
	loop_timer_init(&b.t, on_timer, &b);
	int64_t t0 = time_mono_ms();
	loop_timer_start_at(loop, &a.t, t0 + 40);
	loop_timer_start_at(loop, &b.t, t0 - 1000); /* in the past: fires at once */
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(rec.n, 1);
	CHECK_EQ(rec.order[0], 2);
	run_until(loop, &rec, 2);
	CHECK_EQ(rec.order[1], 1);
	/* It did not fire early, and the cached clock has moved with it. */
	CHECK(loop_now_ms(loop) >= t0 + 40);
	CHECK(time_mono_ms() >= t0 + 40);
	loop_free(loop);
}

typedef struct rearm {
	loop_timer_t t;
	int fired;
} rearm_t;

static void on_rearm(loop_t *loop, loop_timer_t *t)
{
	rearm_t *r = t->arg;
	r->fired++;
	loop_timer_start(loop, t, 0);
}

TEST(loop_timer_rearming_itself_waits_for_next_turn)
{
	loop_t *loop = loop_new(NULL);
	rearm_t r = {.fired = 0};
	loop_timer_init(&r.t, on_rearm, &r);
	loop_timer_start(loop, &r.t, 0);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(r.fired, 1);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(r.fired, 2);
	loop_timer_stop(loop, &r.t);
	loop_free(loop);
}

typedef struct counted_task {
	loop_task_t task;
	int runs;
	rec_t *rec;
	int tag;
	loop_task_t *chain; /* queued from inside this task */
} counted_task_t;

static void on_task(loop_t *loop, loop_task_t *task)
{
	counted_task_t *ct = task->arg;
	ct->runs++;
	if (ct->rec)
		ct->rec->order[ct->rec->n++] = ct->tag;
	if (ct->chain)
		loop_defer(loop, ct->chain);
}

TEST(loop_tasks_run_once_in_queue_order)
{
	loop_t *loop = loop_new(NULL);
	rec_t rec = {{0}, 0};
	counted_task_t a = {.rec = &rec, .tag = 1}, b = {.rec = &rec, .tag = 2},
	               c = {.rec = &rec, .tag = 3}, d = {.rec = &rec, .tag = 4};
	loop_task_init(&a.task, on_task, &a);
	loop_task_init(&b.task, on_task, &b);
	loop_task_init(&c.task, on_task, &c);
	loop_task_init(&d.task, on_task, &d);
	a.chain = &d.task; /* queued while draining: same drain */
	loop_defer(loop, &a.task);
	loop_defer(loop, &b.task);
	loop_defer(loop, &a.task);
	loop_defer(loop, &c.task);
	loop_task_cancel(loop, &b.task);
	loop_task_cancel(loop, &b.task);
	/* The queued tasks make the wait zero even with an infinite timeout. */
	CHECK_EQ(loop_run_once(loop, -1), 0);
	CHECK_EQ(a.runs, 1);
	CHECK_EQ(b.runs, 0);
	CHECK_EQ(c.runs, 1);
	CHECK_EQ(d.runs, 1);
	CHECK_EQ(rec.n, 3);
	CHECK_EQ(rec.order[0], 1);
	CHECK_EQ(rec.order[1], 3);
	CHECK_EQ(rec.order[2], 4);
	CHECK_EQ(loop_turn_work(loop), 3);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(a.runs, 1);
	CHECK_EQ(loop_turn_work(loop), 0);
	loop_free(loop);
}

typedef struct async_ctx {
	loop_async_t async;
	int calls;
	loop_async_t *target;
	int sends;
} async_ctx_t;

static void on_async(loop_t *loop, loop_async_t *a)
{
	async_ctx_t *ctx = a->arg;
	ctx->calls++;
	loop_stop(loop);
}

static void *sender(void *arg)
{
	async_ctx_t *ctx = arg;
	for (int i = 0; i < ctx->sends; i++)
		loop_async_send(ctx->target);
	return NULL;
}

TEST(loop_async_from_another_thread_wakes_the_loop)
{
	loop_t *loop = loop_new(NULL);
	async_ctx_t ctx = {.calls = 0, .sends = 5};
	ctx.target = &ctx.async;
	CHECK_EQ(loop_async_init(loop, &ctx.async, on_async, &ctx), 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, sender, &ctx), 0);
	/* Blocks in epoll_wait with no timers: only the send can wake it. */
	CHECK_EQ(loop_run(loop), 0);
	CHECK(loop_stopped(loop));
	CHECK(ctx.calls >= 1);
	pthread_join(th, NULL);
	/* Drain any sends that raced with the first read; then nothing more. */
	loop_run_once(loop, 0);
	int calls = ctx.calls;
	CHECK(calls <= 5);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(ctx.calls, calls);
	loop_async_deinit(loop, &ctx.async);
	loop_free(loop);
}

typedef struct two_watch {
	loop_watch_t w[2];
	int calls[2];
} two_watch_t;

static void on_ready_del_other(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)events;
	two_watch_t *tw = w->arg;
	int me = w == &tw->w[0] ? 0 : 1;
	tw->calls[me]++;
	loop_watch_del(loop, &tw->w[1 - me]);
	loop_watch_del(loop, w);
}

TEST(loop_watch_deleted_mid_batch_gets_no_callback)
{
	loop_t *loop = loop_new(NULL);
	int sp[2][2];
	two_watch_t tw = {.calls = {0, 0}};
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp[i]), 0);
		CHECK_EQ(write(sp[i][1], "x", 1), 1);
		CHECK_EQ(loop_watch_add(loop, &tw.w[i], sp[i][0], EPOLLIN, on_ready_del_other, &tw),
		         0);
	}
	/* Both are ready in the same batch; whichever runs first deletes the
	 * other, which must then not be called. */
	CHECK_EQ(loop_run_once(loop, 100), 0);
	CHECK_EQ(tw.calls[0] + tw.calls[1], 1);
	for (int i = 0; i < 2; i++) {
		close(sp[i][0]);
		close(sp[i][1]);
	}
	loop_free(loop);
}

typedef struct lvl {
	loop_watch_t w;
	int calls;
	int fd;
} lvl_t;

static void on_level(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)loop;
	lvl_t *l = w->arg;
	CHECK(events & EPOLLIN);
	l->calls++;
}

TEST(loop_watch_is_level_triggered_and_mod_disables)
{
	loop_t *loop = loop_new(NULL);
	int sp[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	lvl_t l = {.calls = 0};
	CHECK_EQ(loop_watch_add(loop, &l.w, sp[0], EPOLLIN, on_level, &l), 0);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(l.calls, 0);
	CHECK_EQ(write(sp[1], "ab", 2), 2);
	CHECK_EQ(loop_run_once(loop, 100), 0);
	CHECK_EQ(loop_run_once(loop, 100), 0);
	CHECK_EQ(l.calls, 2); /* unread data keeps reporting */
	CHECK_EQ(loop_watch_mod(loop, &l.w, 0), 0);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(l.calls, 2);
	CHECK_EQ(loop_watch_mod(loop, &l.w, EPOLLIN), 0);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(l.calls, 3);
	loop_watch_del(loop, &l.w);
	loop_watch_del(loop, &l.w);
	close(sp[0]);
	close(sp[1]);
	loop_free(loop);
}

typedef struct clock_probe {
	loop_timer_t t;
	int64_t a, b;
} clock_probe_t;

static void on_probe(loop_t *loop, loop_timer_t *t)
{
	clock_probe_t *p = t->arg;
	p->a = loop_now_ms(loop);
	int64_t until = time_mono_ms() + 3;
	while (time_mono_ms() < until)
		;
	p->b = loop_now_ms(loop);
}

TEST(loop_now_is_cached_within_a_turn_and_fresh_outside)
{
	loop_t *loop = loop_new(NULL);
	int64_t t0 = loop_now_ms(loop);
	int64_t until = t0 + 3;
	while (time_mono_ms() < until)
		;
	/* Set-up code before the loop runs sees the real clock, so a timer
	 * started late after loop_new does not fire early. */
	CHECK(loop_now_ms(loop) >= until);
	clock_probe_t p = {.a = 0};
	loop_timer_init(&p.t, on_probe, &p);
	loop_timer_start(loop, &p.t, 0);
	CHECK(p.t.due_ms >= until);
	CHECK_EQ(loop_run_once(loop, 100), 0);
	CHECK(p.a >= until);
	CHECK_EQ(p.a, p.b); /* one turn, one clock reading */
	loop_free(loop);
}

/* --- busy passes ---------------------------------------------------------- */

typedef struct busy_t {
	lvl_t a, b;     /* a runs the busy pass; b is admitted */
	loop_timer_t t; /* due: must not fire during the pass */
	loop_task_t task;
	int timer_fired, task_ran;
	int b_calls_in_pass, timer_in_pass, task_in_pass, pass_rc, a_nested;
	int in_a;
} busy_t;

static int admit_b(loop_watch_t *w, void *arg)
{
	busy_t *x = arg;
	return w == &x->b.w;
}

static void busy_on_b(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)loop;
	(void)events;
	busy_t *x = w->arg;
	char c;
	/* The outer turn's batch may still hold b's event: EAGAIN then. */
	if (read(x->b.fd, &c, 1) == 1)
		x->b.calls++;
}

static void busy_on_a(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)events;
	busy_t *x = w->arg;
	if (x->in_a) {
		x->a_nested++;
		return;
	}
	x->in_a = 1;
	char c;
	CHECK_EQ(read(x->a.fd, &c, 1), 1);
	x->pass_rc = loop_busy_pass(loop, admit_b, x);
	x->b_calls_in_pass = x->b.calls;
	x->timer_in_pass = x->timer_fired;
	x->task_in_pass = x->task_ran;
	/* A second pass finds nothing admitted ready. */
	CHECK_EQ(loop_busy_pass(loop, admit_b, x), 0);
	x->in_a = 0;
}

static void busy_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	((busy_t *)t->arg)->timer_fired++;
}

static void busy_task(loop_t *loop, loop_task_t *task)
{
	(void)loop;
	((busy_t *)task->arg)->task_ran++;
}

TEST(loop_busy_pass_dispatches_only_admitted_watches_and_runs_nothing_else)
{
	loop_t *loop = loop_new(NULL);
	busy_t x;
	memset(&x, 0, sizeof x);
	int sa[2], sb[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb), 0);
	x.a.fd = sa[0];
	x.b.fd = sb[0];
	CHECK_EQ(loop_watch_add(loop, &x.a.w, sa[0], EPOLLIN, busy_on_a, &x), 0);
	CHECK_EQ(loop_watch_add(loop, &x.b.w, sb[0], EPOLLIN, busy_on_b, &x), 0);
	loop_timer_init(&x.t, busy_timer, &x);
	loop_timer_start(loop, &x.t, 0);
	loop_task_init(&x.task, busy_task, &x);
	loop_defer(loop, &x.task);
	/* a is readable first; b becomes readable only while a "runs". */
	CHECK_EQ(write(sa[1], "a", 1), 1);
	CHECK_EQ(write(sa[1], "a", 1), 1); /* a stays ready: the pass must skip it */
	CHECK_EQ(write(sb[1], "b", 1), 1);
	for (int i = 0; i < 100 && !x.pass_rc; i++)
		CHECK_EQ(loop_run_once(loop, 50), 0);
	CHECK_EQ(x.pass_rc, 1);
	CHECK_EQ(x.b_calls_in_pass, 1);
	CHECK_EQ(x.a_nested, 0);
	CHECK_EQ(x.timer_in_pass, 0);
	CHECK_EQ(x.task_in_pass, 0);
	CHECK_EQ(x.timer_fired, 1); /* after the turn, as usual */
	CHECK_EQ(x.task_ran, 1);
	loop_watch_del(loop, &x.a.w);
	loop_watch_del(loop, &x.b.w);
	for (int i = 0; i < 2; i++) {
		close(sa[i]);
		close(sb[i]);
	}
	loop_free(loop);
}
