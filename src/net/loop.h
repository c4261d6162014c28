/*
 * loop.h — the event loop: epoll readiness, a timer heap, and end-of-turn
 * tasks.
 *
 * One loop runs on one thread and owns everything registered with it; no
 * call here is thread-safe except loop_async_send(), which other threads
 * (the syncer) use to make the loop look at something. Callbacks run on the loop
 * thread. A turn is: wait (epoll, bounded by the next timer), run ready I/O
 * callbacks, run due timers, run end-of-turn tasks (deferred closes,
 * coalesced flushes), repeat.
 */
#ifndef SL_NET_LOOP_H
#define SL_NET_LOOP_H

#include "core/heap.h"
#include "core/log.h"

#include <stdint.h>
#include <sys/epoll.h>

typedef struct loop loop_t;

/* --- file descriptors -------------------------------------------------- */

typedef struct loop_watch loop_watch_t;
/* events: EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP bits as reported. */
typedef void (*loop_io_fn)(loop_t *loop, loop_watch_t *w, uint32_t events);

struct loop_watch {
	int fd;
	uint32_t events;
	loop_io_fn fn;
	void *arg;
};

/* Registers fd for events (EPOLLIN/EPOLLOUT, level-triggered). The watch is
 * embedded in the caller's struct and must outlive the registration. */
int loop_watch_add(loop_t *loop, loop_watch_t *w, int fd, uint32_t events, loop_io_fn fn,
                   void *arg);
int loop_watch_mod(loop_t *loop, loop_watch_t *w, uint32_t events);
void loop_watch_del(loop_t *loop, loop_watch_t *w);

/* --- timers ------------------------------------------------------------ */

typedef struct loop_timer loop_timer_t;
typedef void (*loop_timer_fn)(loop_t *loop, loop_timer_t *t);

struct loop_timer {
	heap_node_t node;
	int64_t due_ms; /* monotonic */
	uint64_t seq;   /* tie-break: timers due together fire in start order */
	loop_timer_fn fn;
	void *arg;
};

void loop_timer_init(loop_timer_t *t, loop_timer_fn fn, void *arg);
/* (Re)arms the timer to fire once after delay_ms (>= 0). */
void loop_timer_start(loop_t *loop, loop_timer_t *t, int64_t delay_ms);
/* (Re)arms the timer to fire at a monotonic instant (time_mono_ms clock). */
void loop_timer_start_at(loop_t *loop, loop_timer_t *t, int64_t due_ms);
void loop_timer_stop(loop_t *loop, loop_timer_t *t);
static inline int loop_timer_armed(const loop_timer_t *t)
{
	return heap_node_linked(&t->node);
}

/* --- end-of-turn tasks --------------------------------------------------- */

typedef struct loop_task loop_task_t;
typedef void (*loop_task_fn)(loop_t *loop, loop_task_t *task);

struct loop_task {
	loop_task_t *next;
	loop_task_t *prev; /* private: O(1) cancel */
	loop_task_fn fn;
	void *arg;
	int queued;
};

void loop_task_init(loop_task_t *task, loop_task_fn fn, void *arg);
/* Queues the task to run once at the end of this turn; queuing an already
 * queued task does nothing (so many appends can share one flush). Tasks run
 * in queue order; a task queued while the end-of-turn tasks are running
 * (including by itself) runs in the same drain, before the next wait. */
void loop_defer(loop_t *loop, loop_task_t *task);
/* Unqueues a task that has not run yet. */
void loop_task_cancel(loop_t *loop, loop_task_t *task);

/* --- the loop ------------------------------------------------------------ */

/* Returns an owned loop; borrows log (which may be NULL). */
loop_t *loop_new(const log_t *log);
void loop_free(loop_t *loop);

/* Monotonic milliseconds, cached at the start of the current turn (outside
 * a turn: the current time). Timer delays count from it. */
int64_t loop_now_ms(const loop_t *loop);
const log_t *loop_log(const loop_t *loop);

/* Runs turns until loop_stop(). Returns 0, or a negative code on an epoll
 * failure. */
int loop_run(loop_t *loop);
/* Runs one turn, waiting at most timeout_ms (-1: until something happens,
 * still bounded by timers; the wait is 0 when tasks are queued). For tests
 * and for shutdown draining. Returns 0 or a negative code (epoll failure). */
int loop_run_once(loop_t *loop, int timeout_ms);
/* How many callbacks (I/O, timers, tasks) the last turn ran; 0 means that
 * turn found nothing to do. Lets tests run the loop until it is idle. */
unsigned loop_turn_work(const loop_t *loop);
void loop_stop(loop_t *loop);
/* A busy pass, for work that holds the loop thread for long (a Redis
 * script past busy-reply-threshold) and must still answer some clients:
 * one epoll_wait that does not wait, whose ready watches are offered to
 * admit(); those it accepts get their callback now, the others stay ready
 * (level-triggered) for the next turn. No timers, no end-of-turn tasks
 * run, so nothing else the loop drives can change state meanwhile.
 * Called from inside a callback of the current turn; not nested. Returns
 * how many callbacks ran, or a negative code. */
#define LOOP_BUSY_MAX 64 /* events one busy pass looks at */
int loop_busy_pass(loop_t *loop, int (*admit)(loop_watch_t *w, void *arg), void *arg);
int loop_stopped(const loop_t *loop);

/* Cross-thread wake-up. A loop_async_t is an eventfd-backed signal: another
 * thread calls loop_async_send() (thread-safe, async-signal-safe) and the
 * loop later calls fn on its own thread (several sends may coalesce). */
typedef struct loop_async loop_async_t;
typedef void (*loop_async_fn)(loop_t *loop, loop_async_t *a);
struct loop_async {
	loop_watch_t watch;
	int efd;
	loop_async_fn fn;
	void *arg;
};
int loop_async_init(loop_t *loop, loop_async_t *a, loop_async_fn fn, void *arg);
void loop_async_send(loop_async_t *a);
void loop_async_deinit(loop_t *loop, loop_async_t *a);

#endif
