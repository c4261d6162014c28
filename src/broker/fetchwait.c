/*
 * fetchwait.c — parked Fetch requests; see fetchwait.h. Each partition
 * keeps a doubly linked list of links, one per parked fetch that reads it.
 * Loop thread only.
 */
#include "broker/fetchwait.h"

#include <stdlib.h>

static void on_timer(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	fetchwait_t *w = t->arg;
	if (w->active)
		w->fn(w, 1);
}

static void on_task(loop_t *loop, loop_task_t *task)
{
	(void)loop;
	fetchwait_t *w = task->arg;
	if (w->active)
		w->fn(w, 0);
}

static void unlink_one(struct fwlink *l)
{
	if (!l->p)
		return;
	if (l->prev)
		l->prev->next = l->next;
	else
		l->p->waiters = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
	l->p = NULL;
}

void fetchwait_start(fetchwait_t *w, loop_t *loop, partition_t **parts, int n, int64_t timeout_ms,
                     fetchwait_fn fn, void *arg)
{
	w->loop = loop;
	w->fn = fn;
	w->arg = arg;
	w->n = n;
	w->active = 1;
	w->links = calloc(n > 0 ? (size_t)n : 1, sizeof *w->links);
	if (!w->links)
		abort();
	for (int i = 0; i < n; i++) {
		struct fwlink *l = &w->links[i];
		l->w = w;
		l->p = parts[i];
		l->next = parts[i]->waiters;
		if (l->next)
			l->next->prev = l;
		parts[i]->waiters = l;
	}
	loop_timer_init(&w->timer, on_timer, w);
	loop_task_init(&w->task, on_task, w);
	loop_timer_start(loop, &w->timer, timeout_ms < 0 ? 0 : timeout_ms);
}

void fetchwait_cancel(fetchwait_t *w)
{
	if (!w->active)
		return;
	w->active = 0;
	for (int i = 0; i < w->n; i++)
		unlink_one(&w->links[i]);
	free(w->links);
	w->links = NULL;
	w->n = 0;
	loop_timer_stop(w->loop, &w->timer);
	loop_task_cancel(w->loop, &w->task);
}

void fetchwait_notify(partition_t *p)
{
	for (struct fwlink *l = p->waiters; l; l = l->next)
		loop_defer(l->w->loop, &l->w->task);
}

void fetchwait_forget(partition_t *p)
{
	while (p->waiters)
		unlink_one(p->waiters);
}
