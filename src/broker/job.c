/*
 * job.c — jobs, their state transitions, TTR, delays, pauses and blocked
 * reserves (see job.h for the model and invariants). Loop thread only.
 */
#include "broker/job.h"

#include "core/err.h"
#include "core/time.h"

#include <stdlib.h>
#include <string.h>

const char *const job_state_names[4] = {"ready", "reserved", "delayed", "buried"};

#define JOB_OF(node, field) ((job_t *)((char *)(node)-offsetof(job_t, field)))

static int gnode_less(const heap_node_t *a, const heap_node_t *b)
{
	const job_t *x = JOB_OF(a, gnode), *y = JOB_OF(b, gnode);
	if (x->deadline_ns != y->deadline_ns)
		return x->deadline_ns < y->deadline_ns;
	return x->id < y->id;
}

static int cnode_less(const heap_node_t *a, const heap_node_t *b)
{
	const job_t *x = JOB_OF(a, cnode), *y = JOB_OF(b, cnode);
	if (x->deadline_ns != y->deadline_ns)
		return x->deadline_ns < y->deadline_ns;
	return x->id < y->id;
}

int64_t jobs_now(void)
{
	return time_mono_ns();
}

static void on_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	jobs_tick(t->arg);
}

static void on_maint(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	jobs_maintain(t->arg);
}

void jobs_init(jobs_t *s, loop_t *loop, size_t max_job_size)
{
	memset(s, 0, sizeof *s);
	s->loop = loop;
	tube_reg_init(&s->tubes);
	s->tabcap = 1024;
	s->tab = calloc(s->tabcap, sizeof *s->tab);
	if (!s->tab)
		abort();
	heap_init(&s->delayq, gnode_less);
	heap_init(&s->ttrq, gnode_less);
	loop_timer_init(&s->timer, on_timer, s);
	loop_task_init(&s->maint_task, on_maint, s);
	s->timer_due = INT64_MAX;
	s->next_id = 1;
	s->max_job_size = max_job_size;
	s->started_ns = jobs_now();
}

void jobs_deinit(jobs_t *s)
{
	if (s->loop) {
		loop_timer_stop(s->loop, &s->timer);
		loop_task_cancel(s->loop, &s->maint_task);
	}
	/* Heaps reset their nodes' slots, so they go before the jobs. */
	heap_deinit(&s->delayq);
	heap_deinit(&s->ttrq);
	tube_reg_deinit(&s->tubes);
	free(s->unres);
	for (size_t i = 0; i < s->tabcap; i++) {
		job_t *j = s->tab[i];
		while (j) {
			job_t *n = j->hnext;
			free(j);
			j = n;
		}
	}
	free(s->tab);
	memset(s, 0, sizeof *s);
}

/* --- id table ------------------------------------------------------------ */

static size_t tab_slot(const jobs_t *s, uint64_t id)
{
	uint64_t h = id * 0x9e3779b97f4a7c15ull;
	return (size_t)(h >> 20) & (s->tabcap - 1);
}

static void tab_grow(jobs_t *s)
{
	size_t oldcap = s->tabcap;
	job_t **old = s->tab;
	s->tabcap *= 2;
	s->tab = calloc(s->tabcap, sizeof *s->tab);
	if (!s->tab)
		abort();
	for (size_t i = 0; i < oldcap; i++) {
		job_t *j = old[i];
		while (j) {
			job_t *n = j->hnext;
			size_t k = tab_slot(s, j->id);
			j->hnext = s->tab[k];
			s->tab[k] = j;
			j = n;
		}
	}
	free(old);
}

static void tab_put(jobs_t *s, job_t *j)
{
	if (s->njobs >= s->tabcap)
		tab_grow(s);
	size_t k = tab_slot(s, j->id);
	j->hnext = s->tab[k];
	s->tab[k] = j;
	s->njobs++;
}

static void tab_del(jobs_t *s, job_t *j)
{
	job_t **pp = &s->tab[tab_slot(s, j->id)];
	while (*pp && *pp != j)
		pp = &(*pp)->hnext;
	if (*pp) {
		*pp = j->hnext;
		s->njobs--;
	}
}

job_t *jobs_find(const jobs_t *s, uint64_t id)
{
	job_t *j = s->tab[tab_slot(s, id)];
	while (j && j->id != id)
		j = j->hnext;
	return j;
}

void jobs_foreach(jobs_t *s, void (*fn)(job_t *j, void *arg), void *arg)
{
	for (size_t i = 0; i < s->tabcap; i++)
		for (job_t *j = s->tab[i]; j; j = j->hnext)
			fn(j, arg);
}

/* --- timers -------------------------------------------------------------- */

static int64_t ceil_ms(int64_t ns)
{
	return ns <= 0 ? 0 : (ns + 999999) / 1000000;
}

static void arm(jobs_t *s, int64_t due)
{
	if (due >= s->timer_due)
		return;
	s->timer_due = due;
	if (s->loop)
		loop_timer_start_at(s->loop, &s->timer, ceil_ms(due));
}

static void client_arm(job_client_t *c);

/* --- state transitions ----------------------------------------------------- */

static void serve(jobs_t *s, tube_t *t);

static void make_ready(jobs_t *s, job_t *j)
{
	j->state = JOB_READY;
	heap_push(&j->tube->ready, &j->tnode);
	s->ready_n++;
	if (j->pri < JOB_URGENT_PRI) {
		s->urgent_n++;
		j->tube->urgent_n++;
	}
}

static void make_delayed(jobs_t *s, job_t *j, int64_t deadline)
{
	j->state = JOB_DELAYED;
	j->deadline_ns = deadline;
	heap_push(&j->tube->delay, &j->tnode);
	heap_push(&s->delayq, &j->gnode);
	s->delayed_n++;
	arm(s, deadline);
}

static void make_buried(jobs_t *s, job_t *j)
{
	j->state = JOB_BURIED;
	tube_buried_push(j->tube, j);
	s->buried_n++;
}

static void make_reserved(jobs_t *s, job_client_t *c, job_t *j, int64_t now)
{
	j->state = JOB_RESERVED;
	j->reserver = c;
	j->deadline_ns = now + j->ttr_ns;
	j->reserves++;
	heap_push(&c->reserved, &j->cnode);
	heap_push(&s->ttrq, &j->gnode);
	s->reserved_n++;
	j->tube->reserved_n++;
	arm(s, j->deadline_ns);
}

/* Takes a job out of whatever queue its state puts it in. */
static void take_out(jobs_t *s, job_t *j)
{
	switch (j->state) {
	case JOB_READY:
		heap_remove(&j->tube->ready, &j->tnode);
		s->ready_n--;
		if (j->pri < JOB_URGENT_PRI) {
			s->urgent_n--;
			j->tube->urgent_n--;
		}
		break;
	case JOB_DELAYED:
		heap_remove(&j->tube->delay, &j->tnode);
		heap_remove(&s->delayq, &j->gnode);
		s->delayed_n--;
		break;
	case JOB_BURIED:
		tube_buried_del(j->tube, j);
		s->buried_n--;
		break;
	case JOB_RESERVED:
		heap_remove(&j->reserver->reserved, &j->cnode);
		heap_remove(&s->ttrq, &j->gnode);
		s->reserved_n--;
		j->tube->reserved_n--;
		j->reserver = NULL;
		break;
	}
}

int tube_paused(tube_t *t, int64_t now)
{
	return t->pause_ns && t->unpause_at > now;
}

static void stop_wait(job_client_t *c)
{
	if (!c->waiting)
		return;
	c->waiting = 0;
	c->srv->waiting_n--;
	for (size_t i = 0; i < c->nwatch; i++)
		tube_waiter_del(c->watch[i], c);
	if (c->srv->loop)
		loop_timer_stop(c->srv->loop, &c->timer);
}

/* Hands ready jobs of t to its waiters, oldest waiter first. */
static void serve(jobs_t *s, tube_t *t)
{
	int64_t now = 0;
	while (t->nwaiters && heap_len(&t->ready)) {
		if (!now)
			now = jobs_now();
		if (tube_paused(t, now))
			return;
		job_client_t *c = tube_waiter_take(t);
		job_t *j = JOB_OF(heap_peek(&t->ready), tnode);
		take_out(s, j);
		stop_wait(c); /* leaves the waiter sets of its other tubes */
		make_reserved(s, c, j, now);
		c->wake(c, JOB_WAKE_RESERVED, j);
	}
}

static void free_job(jobs_t *s, job_t *j)
{
	tab_del(s, j);
	tube_unref(&s->tubes, j->tube);
	free(j);
}

void jobs_restore(jobs_t *s, job_t *j)
{
	tab_put(s, j);
}

void jobs_forget(jobs_t *s, job_t *j)
{
	free_job(s, j);
}

void jobs_drop(jobs_t *s, job_t *j)
{
	take_out(s, j);
	free_job(s, j);
}

void jobs_rereserve(jobs_t *s, job_client_t *c, uint64_t id, int64_t deadline_ns)
{
	job_t *j = jobs_find(s, id);
	if (!j || j->state != JOB_READY)
		return;
	take_out(s, j);
	make_reserved(s, c, j, jobs_now());
	j->reserves--; /* the same reservation, not a new one */
	j->deadline_ns = deadline_ns;
	heap_update(&c->reserved, &j->cnode);
	heap_update(&s->ttrq, &j->gnode);
	arm(s, deadline_ns);
}

void jobs_serve_all(jobs_t *s)
{
	for (size_t i = 0; i < s->tubes.n; i++)
		serve(s, s->tubes.v[i]);
}

void jobs_place(jobs_t *s, job_t *j, job_state_t state, int64_t deadline)
{
	if (state == JOB_DELAYED)
		make_delayed(s, j, deadline);
	else if (state == JOB_BURIED)
		make_buried(s, j);
	else
		make_ready(s, j);
}

/* --- clients --------------------------------------------------------------- */

static void on_client_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	job_client_t *c = t->arg;
	if (!c->waiting)
		return;
	int64_t now = jobs_now();
	if (job_client_deadline_soon(c, now)) {
		stop_wait(c);
		c->wake(c, JOB_WAKE_DEADLINE_SOON, NULL);
	} else if (c->wait_until >= 0 && now >= c->wait_until) {
		stop_wait(c);
		c->wake(c, JOB_WAKE_TIMED_OUT, NULL);
	} else {
		client_arm(c);
	}
}

static void client_arm(job_client_t *c)
{
	int64_t due = c->wait_until >= 0 ? c->wait_until : INT64_MAX;
	job_t *j = job_client_soonest(c);
	if (j && j->deadline_ns - JOB_SAFETY_MARGIN_NS < due)
		due = j->deadline_ns - JOB_SAFETY_MARGIN_NS;
	if (due == INT64_MAX || !c->srv->loop)
		return;
	loop_timer_start_at(c->srv->loop, &c->timer, ceil_ms(due));
}

void job_client_init(jobs_t *s, job_client_t *c, job_wake_fn wake, void *arg)
{
	memset(c, 0, sizeof *c);
	c->srv = s;
	c->wake = wake;
	c->arg = arg;
	c->wait_until = -1;
	heap_init(&c->reserved, cnode_less);
	loop_timer_init(&c->timer, on_client_timer, c);
	c->use = s->tubes.deflt;
	tube_ref(c->use);
	c->use->using_n++;
	job_client_watch(c, "default", 7);
	s->conns_n++;
	s->conns_total++;
}

void job_client_deinit(job_client_t *c)
{
	jobs_t *s = c->srv;
	if (c->producer)
		s->producers_n--;
	if (c->worker)
		s->workers_n--;
	s->conns_n--;
	stop_wait(c);
	for (size_t i = 0; i < s->nunres;) {
		if (s->unres[i].c == c)
			s->unres[i] = s->unres[--s->nunres];
		else
			i++;
	}
	/* Reserved jobs go back to ready, as if their TTR expired now. */
	heap_node_t *n;
	while ((n = heap_peek(&c->reserved))) {
		job_t *j = JOB_OF(n, cnode);
		take_out(s, j);
		make_ready(s, j);
		serve(s, j->tube);
	}
	heap_deinit(&c->reserved);
	/* beanstalkd clears the watch set by deleting slot 0 repeatedly; the
	 * order in which tubes die decides their order in list-tubes. */
	while (c->nwatch) {
		tube_t *t = c->watch[0];
		c->watch[0] = c->watch[--c->nwatch];
		t->watching_n--;
		tube_unref(&s->tubes, t);
	}
	free(c->watch);
	c->use->using_n--;
	tube_unref(&s->tubes, c->use);
	c->use = NULL;
}

void job_client_use(job_client_t *c, const char *name, size_t len)
{
	tube_t *t = tube_get(&c->srv->tubes, name, len);
	tube_ref(t);
	t->using_n++;
	c->use->using_n--;
	tube_unref(&c->srv->tubes, c->use);
	c->use = t;
}

size_t job_client_watch(job_client_t *c, const char *name, size_t len)
{
	tube_t *t = tube_get(&c->srv->tubes, name, len);
	for (size_t i = 0; i < c->nwatch; i++)
		if (c->watch[i] == t)
			return c->nwatch;
	if (c->nwatch == c->capwatch) {
		c->capwatch = c->capwatch ? c->capwatch * 2 : 4;
		c->watch = realloc(c->watch, c->capwatch * sizeof *c->watch);
		if (!c->watch)
			abort();
	}
	c->watch[c->nwatch++] = t;
	tube_ref(t);
	t->watching_n++;
	return c->nwatch;
}

long job_client_ignore(job_client_t *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nwatch; i++) {
		tube_t *t = c->watch[i];
		if (t->name_len == len && memcmp(t->name, name, len) == 0) {
			if (c->nwatch < 2)
				return -1;
			c->watch[i] = c->watch[--c->nwatch];
			t->watching_n--;
			tube_unref(&c->srv->tubes, t);
			break;
		}
	}
	return (long)c->nwatch;
}

job_t *job_client_soonest(job_client_t *c)
{
	heap_node_t *n = heap_peek(&c->reserved);
	return n ? JOB_OF(n, cnode) : NULL;
}

int job_client_deadline_soon(job_client_t *c, int64_t now)
{
	job_t *j = job_client_soonest(c);
	return j && now >= j->deadline_ns - JOB_SAFETY_MARGIN_NS;
}

static void set_worker(job_client_t *c)
{
	if (!c->worker) {
		c->worker = 1;
		c->srv->workers_n++;
	}
}

/* --- commands ------------------------------------------------------------- */

/* The reserver is about to end j's reservation with a journaled change
 * (delete, release, bury): remember it, so that a failure of that change
 * gives the job back to the client that still holds it as far as it knows.
 * Forgotten when the domain is idle (every change durable). */
static void note_unreserve(jobs_t *s, job_t *j)
{
	if (j->state != JOB_RESERVED || !s->jr)
		return;
	if (s->nunres == s->capunres) {
		s->capunres = s->capunres ? s->capunres * 2 : 16;
		s->unres = realloc(s->unres, s->capunres * sizeof *s->unres);
		if (!s->unres)
			abort();
	}
	s->unres[s->nunres++] = (job_unres_t){j->id, j->reserver, j->deadline_ns};
}

job_t *jobs_new_job(jobs_t *s, uint32_t pri, int64_t delay_ns, int64_t ttr_ns, uint32_t body_len)
{
	job_t *j = calloc(1, sizeof *j + body_len);
	if (!j)
		abort();
	j->id = s->next_id++;
	j->pri = pri;
	j->delay_ns = delay_ns;
	j->ttr_ns = ttr_ns < NS_PER_SEC ? NS_PER_SEC : ttr_ns;
	j->created_ns = jobs_now();
	j->body_len = body_len;
	heap_node_init(&j->tnode);
	heap_node_init(&j->gnode);
	heap_node_init(&j->cnode);
	return j;
}

void jobs_discard(jobs_t *s, job_t *j)
{
	(void)s;
	free(j);
}

void jobs_mark_producer(jobs_t *s, job_client_t *c)
{
	if (!c->producer) {
		c->producer = 1;
		s->producers_n++;
	}
}

int jobs_put(jobs_t *s, job_client_t *c, job_t *j)
{
	jobs_mark_producer(s, c);
	j->tube = c->use;
	int rc = jobs_writable(s, jobs_j_put_len(j));
	if (rc < 0) {
		j->tube = NULL;
		return rc;
	}
	tube_ref(j->tube);
	tab_put(s, j);
	s->total_jobs++;
	j->tube->total_jobs++;
	if (j->delay_ns > 0)
		make_delayed(s, j, j->created_ns + j->delay_ns);
	else
		make_ready(s, j);
	jobs_j_put(s, j);
	if (j->state == JOB_READY)
		serve(s, j->tube);
	return 0;
}

int jobs_delete(jobs_t *s, job_client_t *c, uint64_t id)
{
	job_t *j = jobs_find(s, id);
	if (!j || (j->state == JOB_RESERVED && j->reserver != c))
		return SL_ENOENT;
	int rc = jobs_writable(s, JOBS_J_DELETE_LEN);
	if (rc < 0)
		return rc;
	note_unreserve(s, j);
	take_out(s, j);
	j->tube->deletes++;
	jobs_j_delete(s, j);
	free_job(s, j);
	return 0;
}

static job_t *own_reserved(jobs_t *s, job_client_t *c, uint64_t id)
{
	job_t *j = jobs_find(s, id);
	if (!j || j->state != JOB_RESERVED || j->reserver != c)
		return NULL;
	return j;
}

int jobs_release(jobs_t *s, job_client_t *c, uint64_t id, uint32_t pri, int64_t delay_ns)
{
	job_t *j = own_reserved(s, c, id);
	if (!j)
		return SL_ENOENT;
	int changed = delay_ns > 0 || pri != j->pri;
	int rc = changed ? jobs_writable(s, JOBS_J_STATE_LEN) : 0;
	if (rc < 0)
		return rc;
	if (changed)
		note_unreserve(s, j);
	take_out(s, j);
	j->pri = pri;
	j->delay_ns = delay_ns;
	j->releases++;
	if (delay_ns > 0)
		make_delayed(s, j, jobs_now() + delay_ns);
	else
		make_ready(s, j);
	/* A plain release needs no record: reserved jobs come back ready. */
	if (changed)
		jobs_j_state(s, j);
	if (j->state == JOB_READY)
		serve(s, j->tube);
	return 0;
}

int jobs_bury(jobs_t *s, job_client_t *c, uint64_t id, uint32_t pri)
{
	job_t *j = own_reserved(s, c, id);
	if (!j)
		return SL_ENOENT;
	int rc = jobs_writable(s, JOBS_J_STATE_LEN);
	if (rc < 0)
		return rc;
	note_unreserve(s, j);
	take_out(s, j);
	j->pri = pri;
	j->buries++;
	make_buried(s, j);
	jobs_j_state(s, j);
	return 0;
}

int jobs_touch(jobs_t *s, job_client_t *c, uint64_t id)
{
	job_t *j = own_reserved(s, c, id);
	if (!j)
		return SL_ENOENT;
	j->deadline_ns = jobs_now() + j->ttr_ns;
	heap_update(&c->reserved, &j->cnode);
	heap_update(&s->ttrq, &j->gnode);
	arm(s, j->deadline_ns);
	return 0;
}

static void kick_one(jobs_t *s, job_t *j)
{
	take_out(s, j);
	j->kicks++;
	make_ready(s, j);
	jobs_j_state(s, j);
	serve(s, j->tube);
}

int jobs_kick_job(jobs_t *s, uint64_t id)
{
	job_t *j = jobs_find(s, id);
	if (!j || (j->state != JOB_BURIED && j->state != JOB_DELAYED))
		return SL_ENOENT;
	int rc = jobs_writable(s, JOBS_J_STATE_LEN);
	if (rc < 0)
		return rc;
	kick_one(s, j);
	return 0;
}

long jobs_kick(jobs_t *s, tube_t *t, uint32_t bound)
{
	uint64_t n = t->buried_n ? t->buried_n : heap_len(&t->delay);
	if (n > bound)
		n = bound;
	/* Room for every record first: a kick is done whole or not at all. */
	int rc = n ? jobs_writable(s, n * (JOBS_J_STATE_LEN + 9) - 9) : 0;
	if (rc < 0)
		return rc;
	uint32_t i = 0;
	if (t->buried_n) {
		for (; i < bound && t->buried_first; i++)
			kick_one(s, t->buried_first);
	} else {
		for (; i < bound && heap_len(&t->delay); i++)
			kick_one(s, JOB_OF(heap_peek(&t->delay), tnode));
	}
	return i;
}

int jobs_reserve_job(jobs_t *s, job_client_t *c, uint64_t id, job_t **out)
{
	job_t *j = jobs_find(s, id);
	if (!j || j->state == JOB_RESERVED)
		return SL_ENOENT;
	int was_ready = j->state == JOB_READY;
	int rc = was_ready ? 0 : jobs_writable(s, JOBS_J_STATE_LEN);
	if (rc < 0)
		return rc;
	take_out(s, j);
	set_worker(c);
	make_reserved(s, c, j, jobs_now());
	/* A reserved job comes back ready after a restart; a buried or delayed
	 * one would come back in its old state without this record. */
	if (!was_ready)
		jobs_j_state(s, j);
	*out = j;
	return 0;
}

static int watched_ready(job_client_t *c)
{
	for (size_t i = 0; i < c->nwatch; i++)
		if (heap_len(&c->watch[i]->ready))
			return 1;
	return 0;
}

int jobs_reserve(jobs_t *s, job_client_t *c, int64_t timeout_s, job_t **out)
{
	int64_t now = jobs_now();
	set_worker(c);
	/* beanstalkd: DEADLINE_SOON only when nothing is ready in a watched
	 * tube (paused tubes count as having ready jobs here). */
	if (job_client_deadline_soon(c, now) && !watched_ready(c))
		return JOB_RES_DEADLINE_SOON;
	job_t *best = NULL;
	for (size_t i = 0; i < c->nwatch; i++) {
		tube_t *t = c->watch[i];
		if (!heap_len(&t->ready) || tube_paused(t, now))
			continue;
		job_t *j = JOB_OF(heap_peek(&t->ready), tnode);
		if (!best || j->pri < best->pri || (j->pri == best->pri && j->id < best->id))
			best = j;
	}
	if (best) {
		take_out(s, best);
		make_reserved(s, c, best, now);
		*out = best;
		return JOB_RES_RESERVED;
	}
	if (timeout_s == 0)
		return JOB_RES_TIMED_OUT;
	c->waiting = 1;
	s->waiting_n++;
	c->wait_until = timeout_s < 0 ? -1 : now + timeout_s * NS_PER_SEC;
	for (size_t i = 0; i < c->nwatch; i++)
		tube_waiter_add(c->watch[i], c);
	client_arm(c);
	return JOB_RES_WAITING;
}

void jobs_cancel_wait(job_client_t *c)
{
	stop_wait(c);
}

int jobs_pause(jobs_t *s, const char *name, size_t len, int64_t delay_ns)
{
	tube_t *t = tube_find(&s->tubes, name, len);
	if (!t)
		return SL_ENOENT;
	int rc = jobs_writable(s, JOBS_J_PAUSE_LEN(t->name_len));
	if (rc < 0)
		return rc;
	/* beanstalkd pauses for at least 1 ns so that waiters wake at the end. */
	if (delay_ns == 0)
		delay_ns = 1;
	if (!t->pause_ns)
		s->tubes.paused_n++;
	t->pause_ns = delay_ns;
	t->unpause_at = jobs_now() + delay_ns;
	t->unpause_wall = time_wall_us() + delay_ns / 1000;
	t->pauses++;
	jobs_j_pause(s, t);
	arm(s, t->unpause_at);
	return 0;
}

job_t *jobs_peek_ready(tube_t *t)
{
	heap_node_t *n = heap_peek(&t->ready);
	return n ? JOB_OF(n, tnode) : NULL;
}

job_t *jobs_peek_delayed(tube_t *t)
{
	heap_node_t *n = heap_peek(&t->delay);
	return n ? JOB_OF(n, tnode) : NULL;
}

job_t *jobs_peek_buried(tube_t *t)
{
	return t->buried_first;
}

void jobs_tick(jobs_t *s)
{
	int64_t now = jobs_now();
	heap_node_t *n;
	s->timer_due = INT64_MAX;
	while ((n = heap_peek(&s->delayq)) && JOB_OF(n, gnode)->deadline_ns <= now) {
		job_t *j = JOB_OF(n, gnode);
		take_out(s, j);
		make_ready(s, j);
		serve(s, j->tube);
	}
	while ((n = heap_peek(&s->ttrq)) && JOB_OF(n, gnode)->deadline_ns <= now) {
		job_t *j = JOB_OF(n, gnode);
		take_out(s, j);
		j->timeouts++;
		s->timeouts++;
		make_ready(s, j);
		serve(s, j->tube);
	}
	int64_t due = INT64_MAX;
	if (s->tubes.paused_n) {
		/* serve() may free nothing here (waiters hold references), so
		 * the registry array is stable while we walk it. */
		for (size_t i = 0; i < s->tubes.n; i++) {
			tube_t *t = s->tubes.v[i];
			if (!t->pause_ns)
				continue;
			if (t->unpause_at <= now) {
				t->pause_ns = 0;
				s->tubes.paused_n--;
				serve(s, t);
			} else if (t->unpause_at < due) {
				due = t->unpause_at;
			}
		}
	}
	if ((n = heap_peek(&s->delayq)) && JOB_OF(n, gnode)->deadline_ns < due)
		due = JOB_OF(n, gnode)->deadline_ns;
	if ((n = heap_peek(&s->ttrq)) && JOB_OF(n, gnode)->deadline_ns < due)
		due = JOB_OF(n, gnode)->deadline_ns;
	if (due != INT64_MAX)
		arm(s, due);
}
