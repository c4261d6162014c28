/*
 * loop.c — the epoll event loop, its timer heap and end-of-turn tasks (see
 * loop.h for the contract).
 *
 * A turn: compute the wait (0 if tasks are queued, else bounded by the
 * earliest timer), epoll_wait, cache the monotonic clock, dispatch the ready
 * watches, fire due timers in (due, start sequence) order, then drain the
 * end-of-turn task queue. Everything runs on the thread that calls
 * loop_run()/loop_run_once(); only loop_async_send() may be called from other
 * threads.
 *
 * Invariants:
 * - A watch deleted while a batch of epoll events is being dispatched never
 *   gets a callback later in that batch: loop_watch_del() blanks its
 *   remaining entries in the batch.
 * - Timers that become due while the timer phase runs and were started
 *   during that phase wait for the next turn, so a timer that re-arms itself
 *   with delay 0 cannot starve I/O.
 */
#include "net/loop.h"
#include "net/loop_priv.h"

#include "core/err.h"
#include "core/time.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 256

struct loop {
	int epfd;
	const log_t *log;
	int64_t now_ms;
	int stopped;
	int in_turn;   /* dispatching: now_ms is the turn's cached clock */
	unsigned work; /* callbacks run by the last turn */

	/* The batch being dispatched, so loop_watch_del can blank entries. */
	struct epoll_event events[LOOP_MAX_EVENTS];
	int ev_n;
	int ev_i;
	/* The batch of a busy pass (loop_busy_pass), blanked the same way. */
	struct epoll_event *busy_events;
	int busy_n;
	int busy_i;

	heap_t timers;
	uint64_t timer_seq;

	loop_task_t *task_head;
	loop_task_t *task_tail;

	loop_conns_t conns;
};

/* --- file descriptors -------------------------------------------------- */

int loop_watch_add(loop_t *loop, loop_watch_t *w, int fd, uint32_t events, loop_io_fn fn, void *arg)
{
	w->fd = fd;
	w->events = events;
	w->fn = fn;
	w->arg = arg;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		log_error(loop->log, "loop: epoll_ctl(ADD, fd %d): %s", fd, strerror(e));
		w->fd = -1;
		return sl_from_errno(e);
	}
	return 0;
}

int loop_watch_mod(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	if (w->fd < 0)
		return SL_ESTATE;
	if (events == w->events)
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0) {
		int e = errno;
		log_error(loop->log, "loop: epoll_ctl(MOD, fd %d): %s", w->fd, strerror(e));
		return sl_from_errno(e);
	}
	w->events = events;
	return 0;
}

void loop_watch_del(loop_t *loop, loop_watch_t *w)
{
	if (w->fd < 0)
		return;
	/* Fails only if the fd was already closed, which removed it anyway. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	for (int i = loop->ev_i + 1; i < loop->ev_n; i++)
		if (loop->events[i].data.ptr == w)
			loop->events[i].data.ptr = NULL;
	for (int i = loop->busy_i + 1; i < loop->busy_n; i++)
		if (loop->busy_events[i].data.ptr == w)
			loop->busy_events[i].data.ptr = NULL;
	w->fd = -1;
}

/* --- timers ------------------------------------------------------------ */

static int timer_less(const heap_node_t *a, const heap_node_t *b)
{
	const loop_timer_t *x =
	    (const loop_timer_t *)((const char *)a - offsetof(loop_timer_t, node));
	const loop_timer_t *y =
	    (const loop_timer_t *)((const char *)b - offsetof(loop_timer_t, node));
	if (x->due_ms != y->due_ms)
		return x->due_ms < y->due_ms;
	return x->seq < y->seq;
}

static loop_timer_t *timer_of(heap_node_t *n)
{
	return (loop_timer_t *)((char *)n - offsetof(loop_timer_t, node));
}

void loop_timer_init(loop_timer_t *t, loop_timer_fn fn, void *arg)
{
	heap_node_init(&t->node);
	t->due_ms = 0;
	t->seq = 0;
	t->fn = fn;
	t->arg = arg;
}

void loop_timer_start_at(loop_t *loop, loop_timer_t *t, int64_t due_ms)
{
	if (heap_node_linked(&t->node))
		heap_remove(&loop->timers, &t->node);
	t->due_ms = due_ms;
	t->seq = ++loop->timer_seq;
	heap_push(&loop->timers, &t->node);
}

void loop_timer_start(loop_t *loop, loop_timer_t *t, int64_t delay_ms)
{
	loop_timer_start_at(loop, t, loop_now_ms(loop) + (delay_ms > 0 ? delay_ms : 0));
}

void loop_timer_stop(loop_t *loop, loop_timer_t *t)
{
	if (heap_node_linked(&t->node))
		heap_remove(&loop->timers, &t->node);
}

static void run_timers(loop_t *loop)
{
	uint64_t seq_limit = loop->timer_seq;
	for (;;) {
		heap_node_t *top = heap_peek(&loop->timers);
		if (!top)
			break;
		loop_timer_t *t = timer_of(top);
		if (t->due_ms > loop->now_ms || t->seq > seq_limit)
			break;
		heap_remove(&loop->timers, top);
		loop->work++;
		t->fn(loop, t);
	}
}

/* --- end-of-turn tasks --------------------------------------------------- */

void loop_task_init(loop_task_t *task, loop_task_fn fn, void *arg)
{
	task->next = task->prev = NULL;
	task->fn = fn;
	task->arg = arg;
	task->queued = 0;
}

void loop_defer(loop_t *loop, loop_task_t *task)
{
	if (task->queued)
		return;
	task->queued = 1;
	task->next = NULL;
	task->prev = loop->task_tail;
	if (loop->task_tail)
		loop->task_tail->next = task;
	else
		loop->task_head = task;
	loop->task_tail = task;
}

void loop_task_cancel(loop_t *loop, loop_task_t *task)
{
	if (!task->queued)
		return;
	if (task->prev)
		task->prev->next = task->next;
	else
		loop->task_head = task->next;
	if (task->next)
		task->next->prev = task->prev;
	else
		loop->task_tail = task->prev;
	task->next = task->prev = NULL;
	task->queued = 0;
}

static void run_tasks(loop_t *loop)
{
	loop_task_t *task;
	while ((task = loop->task_head) != NULL) {
		loop_task_cancel(loop, task);
		loop->work++;
		task->fn(loop, task);
	}
}

/* --- the loop ------------------------------------------------------------ */

loop_t *loop_new(const log_t *log)
{
	/* A peer that resets its connection must not kill the server:
	 * sendfile(2) has no MSG_NOSIGNAL, and conn.c sends replies with plain
	 * write(2)/writev(2), so SIGPIPE is ignored process-wide. Idempotent,
	 * and every loop wants it. */
	signal(SIGPIPE, SIG_IGN);
	loop_t *loop = calloc(1, sizeof *loop);
	if (!loop)
		abort();
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		log_error(log, "loop: epoll_create1: %s", strerror(errno));
		free(loop);
		return NULL;
	}
	loop->log = log;
	loop->now_ms = time_mono_ms();
	heap_init(&loop->timers, timer_less);
	return loop;
}

void loop_free(loop_t *loop)
{
	if (!loop)
		return;
	/* Connections still open are closed (without flushing) and their
	 * on_close hooks run, so nothing they own leaks. */
	conn_close_all(loop);
	run_tasks(loop);
	heap_deinit(&loop->timers);
	close(loop->epfd);
	free(loop);
}

int64_t loop_now_ms(const loop_t *loop)
{
	/* Outside a turn (set-up code before loop_run, which may run long
	 * after loop_new) there is no turn clock: read the real one. */
	return loop->in_turn ? loop->now_ms : time_mono_ms();
}

const log_t *loop_log(const loop_t *loop)
{
	return loop->log;
}

unsigned loop_turn_work(const loop_t *loop)
{
	return loop->work;
}

loop_conns_t *loop_conns(loop_t *loop)
{
	return &loop->conns;
}

int loop_run_once(loop_t *loop, int timeout_ms)
{
	loop->work = 0;
	int timeout = timeout_ms < 0 ? -1 : timeout_ms;
	if (loop->task_head) {
		timeout = 0;
	} else {
		heap_node_t *top = heap_peek(&loop->timers);
		if (top) {
			int64_t d = timer_of(top)->due_ms - time_mono_ms();
			if (d < 0)
				d = 0;
			if (timeout < 0 || d < timeout)
				timeout = d > INT_MAX ? INT_MAX : (int)d;
		}
	}
	int n = epoll_wait(loop->epfd, loop->events, LOOP_MAX_EVENTS, timeout);
	if (n < 0) {
		if (errno != EINTR) {
			log_error(loop->log, "loop: epoll_wait: %s", strerror(errno));
			return SL_EIO;
		}
		n = 0;
	}
	loop->now_ms = time_mono_ms();
	loop->in_turn = 1;
	loop->ev_n = n;
	for (loop->ev_i = 0; loop->ev_i < n; loop->ev_i++) {
		loop_watch_t *w = loop->events[loop->ev_i].data.ptr;
		if (!w)
			continue;
		loop->work++;
		w->fn(loop, w, loop->events[loop->ev_i].events);
	}
	loop->ev_n = loop->ev_i = 0;
	run_timers(loop);
	run_tasks(loop);
	loop->in_turn = 0;
	return 0;
}

int loop_run(loop_t *loop)
{
	loop->stopped = 0;
	while (!loop->stopped) {
		int r = loop_run_once(loop, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

int loop_busy_pass(loop_t *loop, int (*admit)(loop_watch_t *w, void *arg), void *arg)
{
	/* Own batch: the outer turn's batch (loop->events) is still being
	 * dispatched further up the stack. */
	struct epoll_event ev[LOOP_BUSY_MAX];
	if (loop->busy_events)
		return SL_ESTATE; /* not nested */
	int n = epoll_wait(loop->epfd, ev, LOOP_BUSY_MAX, 0);
	if (n < 0)
		return errno == EINTR ? 0 : SL_EIO;
	loop->busy_events = ev;
	loop->busy_n = n;
	int ran = 0;
	for (loop->busy_i = 0; loop->busy_i < n; loop->busy_i++) {
		loop_watch_t *w = ev[loop->busy_i].data.ptr;
		/* Left alone: level-triggered, it is reported again next turn. */
		if (!w || !admit(w, arg))
			continue;
		ran++;
		w->fn(loop, w, ev[loop->busy_i].events);
	}
	loop->busy_events = NULL;
	loop->busy_n = loop->busy_i = 0;
	return ran;
}

void loop_stop(loop_t *loop)
{
	loop->stopped = 1;
}

int loop_stopped(const loop_t *loop)
{
	return loop->stopped;
}

/* --- cross-thread wake-up ------------------------------------------------ */

static void async_ready(loop_t *loop, loop_watch_t *w, uint32_t events)
{
	(void)events;
	loop_async_t *a = w->arg;
	uint64_t v;
	/* Reading resets the counter: all sends so far coalesce into one call. */
	if (read(a->efd, &v, sizeof v) != (ssize_t)sizeof v)
		return;
	a->fn(loop, a);
}

int loop_async_init(loop_t *loop, loop_async_t *a, loop_async_fn fn, void *arg)
{
	a->fn = fn;
	a->arg = arg;
	a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (a->efd < 0) {
		int e = errno;
		log_error(loop->log, "loop: eventfd: %s", strerror(e));
		return sl_from_errno(e);
	}
	int r = loop_watch_add(loop, &a->watch, a->efd, EPOLLIN, async_ready, a);
	if (r < 0) {
		close(a->efd);
		a->efd = -1;
	}
	return r;
}

void loop_async_send(loop_async_t *a)
{
	uint64_t one = 1;
	/* Only fails with EAGAIN when the counter is saturated, and then the
	 * loop is already due to wake. */
	ssize_t r = write(a->efd, &one, sizeof one);
	(void)r;
}

void loop_async_deinit(loop_t *loop, loop_async_t *a)
{
	if (a->efd < 0)
		return;
	loop_watch_del(loop, &a->watch);
	close(a->efd);
	a->efd = -1;
}
