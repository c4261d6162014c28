/*
 * tube.c — tubes and the tube registry (see tube.h). Loop thread only.
 */
#include "broker/tube.h"

#include "broker/job.h"

#include <stdlib.h>
#include <string.h>

static int ready_less(const heap_node_t *a, const heap_node_t *b)
{
	const job_t *x = (const job_t *)((const char *)a - offsetof(job_t, tnode));
	const job_t *y = (const job_t *)((const char *)b - offsetof(job_t, tnode));
	if (x->pri != y->pri)
		return x->pri < y->pri;
	return x->id < y->id;
}

static int delay_less(const heap_node_t *a, const heap_node_t *b)
{
	const job_t *x = (const job_t *)((const char *)a - offsetof(job_t, tnode));
	const job_t *y = (const job_t *)((const char *)b - offsetof(job_t, tnode));
	if (x->deadline_ns != y->deadline_ns)
		return x->deadline_ns < y->deadline_ns;
	return x->id < y->id;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q)
		abort();
	return q;
}

void tube_reg_init(tube_reg_t *r)
{
	memset(r, 0, sizeof *r);
	map_init(&r->by_name);
	r->deflt = tube_get(r, "default", 7);
	tube_ref(r->deflt); /* the registry's own reference: default never goes */
}

static void tube_free(tube_t *t)
{
	heap_deinit(&t->ready);
	heap_deinit(&t->delay);
	free(t->waiters);
	free(t);
}

void tube_reg_deinit(tube_reg_t *r)
{
	for (size_t i = 0; i < r->n; i++)
		tube_free(r->v[i]);
	free(r->v);
	map_deinit(&r->by_name);
	memset(r, 0, sizeof *r);
}

int tube_name_valid(const char *name, size_t len)
{
	if (len < 1 || len > TUBE_NAME_MAX || name[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9'))
			continue;
		if (!strchr("-+/;.$_()", ch) || ch == 0)
			return 0;
	}
	return 1;
}

tube_t *tube_find(tube_reg_t *r, const char *name, size_t len)
{
	return map_get(&r->by_name, name, len);
}

tube_t *tube_get(tube_reg_t *r, const char *name, size_t len)
{
	tube_t *t = tube_find(r, name, len);
	if (t)
		return t;
	t = calloc(1, sizeof *t);
	if (!t)
		abort();
	memcpy(t->name, name, len);
	t->name[len] = 0;
	t->name_len = len;
	heap_init(&t->ready, ready_less);
	heap_init(&t->delay, delay_less);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->v = xrealloc(r->v, r->cap * sizeof *r->v);
	}
	t->reg_idx = r->n;
	r->v[r->n++] = t;
	map_put(&r->by_name, name, len, t);
	return t;
}

void tube_ref(tube_t *t)
{
	t->refs++;
}

void tube_unref(tube_reg_t *r, tube_t *t)
{
	if (--t->refs > 0)
		return;
	/* beanstalkd's set removal: the last element takes the hole. */
	size_t i = t->reg_idx;
	r->v[i] = r->v[--r->n];
	r->v[i]->reg_idx = i;
	map_del(&r->by_name, t->name, t->name_len);
	if (t->pause_ns)
		r->paused_n--;
	tube_free(t);
}

void tube_waiter_add(tube_t *t, struct job_client *c)
{
	if (t->nwaiters == t->capwaiters) {
		t->capwaiters = t->capwaiters ? t->capwaiters * 2 : 4;
		t->waiters = xrealloc(t->waiters, t->capwaiters * sizeof *t->waiters);
	}
	t->waiters[t->nwaiters++] = c;
}

void tube_waiter_del(tube_t *t, struct job_client *c)
{
	for (size_t i = 0; i < t->nwaiters; i++) {
		if (t->waiters[i] == c) {
			t->waiters[i] = t->waiters[--t->nwaiters];
			return;
		}
	}
}

struct job_client *tube_waiter_take(tube_t *t)
{
	if (!t->nwaiters)
		return NULL;
	/* beanstalkd's ms_take: a rotating cursor over a set whose removals
	 * move the last element into the hole. Mostly oldest first; kept
	 * exactly so that the same client gets the job as with beanstalkd. */
	t->wlast %= t->nwaiters;
	struct job_client *c = t->waiters[t->wlast];
	t->waiters[t->wlast] = t->waiters[--t->nwaiters];
	t->wlast++;
	return c;
}

void tube_buried_push(tube_t *t, struct job *j)
{
	j->bnext = NULL;
	j->bprev = t->buried_last;
	if (t->buried_last)
		t->buried_last->bnext = j;
	else
		t->buried_first = j;
	t->buried_last = j;
	t->buried_n++;
}

void tube_buried_del(tube_t *t, struct job *j)
{
	if (j->bprev)
		j->bprev->bnext = j->bnext;
	else
		t->buried_first = j->bnext;
	if (j->bnext)
		j->bnext->bprev = j->bprev;
	else
		t->buried_last = j->bprev;
	j->bprev = j->bnext = NULL;
	t->buried_n--;
}
