/*
 * syncer.c — fdatasync on helper threads (SYNC_THREADS, any of which
 * takes the next request), group commit, durability callbacks. See
 * syncer.h for the contract. Completions of different files may arrive in
 * any order; one file's never overlap (f->in_flight).
 *
 * Threads. The loop thread owns every sync_file_t field except three
 * hand-off points:
 *   - f->written is atomic: the loop thread stores it after write() returns,
 *     the helper thread loads it just before fdatasync. Whatever the helper
 *     read was in the page cache before the sync began, so the sync covers
 *     it (this is the "position recorded when the sync starts").
 *   - the request queue and the done list (s->q_*, s->d_*) and the result
 *     fields f->req_pos / f->req_status are guarded by s->mu; f->work_fd is
 *     set before the file enters the request queue and read by the helper
 *     after it takes it out (the mutex orders the two).
 *   - s->nsyncs is an atomic counter (stats and tests).
 * The helper thread never touches reference counts, waiters or timers.
 *
 * Invariants (loop thread).
 *   - A requested sync first waits in the loop's pending list (s->p_*) until
 *     fewer than SYNC_WINDOW syncs are with the helper; handing one over
 *     takes its descriptor: the file's own dup, or the cached file's
 *     descriptor, pinned in the cache until the sync completes, so neither
 *     eviction nor the owner closing the file can close it under the
 *     helper. If no descriptor can be had (out of descriptors), the sync
 *     waits and is tried again after SYNC_RETRY_MS; nothing fails for it.
 *   - At most one sync per file is queued or running (f->in_flight). A
 *     waiter that arrives meanwhile is simply kept; when the running sync
 *     completes, any waiter it did not cover triggers exactly one more sync,
 *     which then covers every byte written by the time it starts (group
 *     commit: many waiters, one fdatasync).
 *   - A file holds one reference for its owner (until sync_file_release),
 *     one while a sync is in flight, and one while its fire task is queued.
 *     It is freed when the count reaches zero, so a file released during a
 *     sync stays valid until the sync is reported. The syncer works on its
 *     own dup() of the caller's fd, so the caller may close its fd right
 *     after releasing while a sync on the same open file is still running.
 *   - Callbacks run only from the async handler or the file's end-of-turn
 *     task, never from inside a sync_file_* call (no re-entrancy), and in
 *     registration order among the waiters a sync satisfies.
 *   - A failed fdatasync makes the file's error sticky: after a failure the
 *     kernel may have dropped dirty pages and a later fdatasync can succeed
 *     without them (the "fsyncgate" lesson), so no later waiter on that file
 *     is ever told its data is durable. Its waiters get the error instead.
 */
#include "store/syncer.h"

#include "core/err.h"
#include "store/sio.h"

#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Syncs handed to the helper at a time; see the top of the file. */
#define SYNC_WINDOW 64
#define SYNC_RETRY_MS 20
/* Helper threads: a group commit that spans several files (a script's
 * keys journal, streams journal and stream log; a produce to several
 * partitions) waits for the slowest of their fdatasyncs, not their sum.
 * Each file still has at most one sync in flight. */
#define SYNC_THREADS 4

typedef struct waiter {
	uint64_t pos;
	sync_cb fn;
	void *arg;
} waiter_t;

struct sync_file {
	syncer_t *s;
	int fd;           /* our own dup of the caller's fd, or -1 (cached) */
	fdc_file_t *file; /* the cached file (a reference), or NULL */
	int work_fd;      /* what the helper syncs for the request in flight */
	int pinned;       /* file pinned for the sync in flight */
	char *name;
	fsync_policy_t policy;
	int refs;
	int released;
	_Atomic uint64_t written;
	uint64_t synced;
	int err; /* sticky: the first fdatasync failure, or 0 */
	int in_flight;
	waiter_t *w;
	size_t nw, capw;
	int fire_queued;
	loop_task_t fire_task;
	int req_queued; /* a sync request waits for the end of the turn */
	loop_task_t req_task;
	loop_timer_t timer;
	/* Guarded by s->mu while in the request queue or the done list; the
	 * loop thread's while in the pending list. */
	sync_file_t *next_req;
	uint64_t req_pos;
	int req_status;
	uint64_t req_us; /* how long the fdatasync took */
	/* Registry of live files (loop thread). */
	sync_file_t *prev, *next;
	/* The owner's failure hook (sync_file_on_error), run from a task. */
	void (*on_error)(void *arg, int err);
	void *on_error_arg;
	void (*on_synced)(void *arg, uint64_t pos);
	void *on_synced_arg;
	int error_reported;
	loop_task_t error_task;
};

struct syncer {
	loop_t *loop;
	const log_t *log;
	pthread_t threads[SYNC_THREADS];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sync_file_t *q_head, *q_tail; /* requests for the helper */
	sync_file_t *d_head, *d_tail; /* results for the loop */
	sync_file_t *p_head, *p_tail; /* requests waiting for the window (loop) */
	unsigned handed;              /* requests with the helper (loop) */
	loop_timer_t retry;           /* a descriptor could not be had */
	fdc_t *fdc;                   /* the store's descriptor cache (owned) */
	int stop;
	int threads_started;
	loop_async_t async;
	_Atomic uint64_t nsyncs;
	syncer_stats_t stats; /* loop thread */
	sync_file_t *files;
	sio_t *io; /* borrowed; NULL: plain system calls */
};

static void request_sync(sync_file_t *f);
static void schedule_request(sync_file_t *f);
static void file_unref(sync_file_t *f);

/* fdatasync errors as sluice codes: a full disk stays recognisable, every
 * other failure (EIO, EINVAL on a file that cannot be synced...) is EIO. */
static int sync_errno(int e)
{
	return sl_from_errno(e) == SL_ENOSPC ? SL_ENOSPC : SL_EIO;
}

static void fifo_push(sync_file_t **head, sync_file_t **tail, sync_file_t *f)
{
	f->next_req = NULL;
	if (*tail)
		(*tail)->next_req = f;
	else
		*head = f;
	*tail = f;
}

/* --- helper thread ------------------------------------------------------- */

static void *helper_main(void *arg)
{
	syncer_t *s = arg;
	/* Named so that top -H and perf show which thread waits on the disk. */
	pthread_setname_np(pthread_self(), "sluice-sync");
	/* Process signals (SIGTERM, SIGINT...) belong to the loop thread. */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->q_head && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		sync_file_t *f = s->q_head;
		if (!f)
			break;
		s->q_head = f->next_req;
		if (!s->q_head)
			s->q_tail = NULL;
		pthread_mutex_unlock(&s->mu);

		uint64_t pos = atomic_load(&f->written);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int rc = sio_fdatasync(s->io, f->work_fd);
		int e = rc < 0 ? errno : 0;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		atomic_fetch_add(&s->nsyncs, 1);

		pthread_mutex_lock(&s->mu);
		f->req_pos = pos;
		f->req_status = rc < 0 ? sync_errno(e) : 0;
		f->req_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 +
		                       (t1.tv_nsec - t0.tv_nsec) / 1000);
		fifo_push(&s->d_head, &s->d_tail, f);
		pthread_mutex_unlock(&s->mu);
		loop_async_send(&s->async);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* --- loop thread ----------------------------------------------------------- */

static void file_destroy(sync_file_t *f)
{
	syncer_t *s = f->s;
	if (f->prev)
		f->prev->next = f->next;
	else
		s->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	if (loop_timer_armed(&f->timer))
		loop_timer_stop(s->loop, &f->timer);
	if (f->error_reported == 1)
		loop_task_cancel(s->loop, &f->error_task);
	if (f->fd >= 0)
		sio_close(s->io, f->fd);
	if (f->pinned)
		fdc_unpin(f->file);
	fdc_file_unref(f->file);
	free(f->w);
	free(f->name);
	free(f);
}

static void file_unref(sync_file_t *f)
{
	if (--f->refs == 0)
		file_destroy(f);
}

/* Fires, in registration order, every waiter the file's state satisfies:
 * all of them with the sticky error if there is one, else those whose
 * position is synced. Waiters added by callbacks go after the survivors. */
static void fire_waiters(sync_file_t *f)
{
	waiter_t *list = f->w;
	size_t n = f->nw, cap = f->capw, keep = 0;
	f->w = NULL;
	f->nw = f->capw = 0;
	f->refs++;
	for (size_t i = 0; i < n; i++) {
		if (f->err || list[i].pos <= f->synced)
			list[i].fn(list[i].arg, f->err);
		else
			list[keep++] = list[i];
	}
	/* Survivors first, then whatever the callbacks registered. */
	if (keep + f->nw > cap) {
		cap = keep + f->nw;
		list = realloc(list, cap * sizeof *list);
		if (!list)
			abort();
	}
	if (f->nw)
		memcpy(list + keep, f->w, f->nw * sizeof *list);
	keep += f->nw;
	free(f->w);
	f->w = list;
	f->nw = keep;
	f->capw = cap;
	file_unref(f);
}

/* After a sync or a fire pass: start another sync if a waiter can still be
 * satisfied by one; fail waiters that never can be once the owner is gone;
 * re-arm the interval timer if the file is dirty. */
static void after_sync(sync_file_t *f)
{
	if (f->in_flight)
		return;
	uint64_t written = atomic_load(&f->written);
	int need = 0;
	for (size_t i = 0; i < f->nw; i++) {
		if (f->w[i].pos <= written) {
			need = 1;
			break;
		}
	}
	if (need && !f->err) {
		schedule_request(f);
		return;
	}
	if (f->released && f->nw) {
		/* Nothing will ever be written up to these positions. */
		f->refs++;
		while (f->nw) {
			waiter_t w = f->w[0];
			memmove(f->w, f->w + 1, --f->nw * sizeof *f->w);
			w.fn(w.arg, f->err ? f->err : SL_ECLOSED);
		}
		file_unref(f);
		return;
	}
	if (!f->released && !f->err && f->policy.mode == FSYNC_INTERVAL && written > f->synced &&
	    !loop_timer_armed(&f->timer))
		loop_timer_start(f->s->loop, &f->timer, f->policy.interval_ms);
}

/* Group commit within a turn: a sync is requested at the end of the loop
 * turn, not at the first waiter, so that every append made in this turn
 * (typically by all the writers woken by the previous sync) rides on the
 * same fdatasync. Measured with 64 appenders: the first append of a turn
 * no longer takes a sync of its own while the other 63 wait for the next. */
static void on_req_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	sync_file_t *f = t->arg;
	f->req_queued = 0;
	if (!f->in_flight && !f->err && f->nw)
		request_sync(f);
	file_unref(f);
}

static void schedule_request(sync_file_t *f)
{
	if (f->req_queued || f->in_flight)
		return;
	f->req_queued = 1;
	f->refs++;
	loop_defer(f->s->loop, &f->req_task);
}

/* The descriptor the helper will sync for f: its own dup, or the cached
 * file's, pinned until the sync completes. 0 or a negative code. */
static int take_fd(sync_file_t *f)
{
	if (f->fd >= 0) {
		f->work_fd = f->fd;
		return 0;
	}
	int fd = fdc_fd(f->file);
	if (fd < 0)
		return fd;
	fdc_pin(f->file);
	f->pinned = 1;
	f->work_fd = fd;
	return 0;
}

static void give_back_fd(sync_file_t *f)
{
	if (f->pinned)
		fdc_unpin(f->file);
	f->pinned = 0;
	f->work_fd = -1;
}

/* Hands pending requests to the helper while the window has room. */
static void pump(syncer_t *s)
{
	int handed = 0;
	while (s->handed < SYNC_WINDOW && s->p_head) {
		sync_file_t *f = s->p_head;
		int rc = take_fd(f);
		if (rc < 0) {
			/* Out of descriptors: try again shortly (a completion
			 * pumps too). Nothing is lost by waiting. */
			if (!loop_timer_armed(&s->retry))
				loop_timer_start(s->loop, &s->retry, SYNC_RETRY_MS);
			break;
		}
		s->p_head = f->next_req;
		if (!s->p_head)
			s->p_tail = NULL;
		s->handed++;
		if (!handed++)
			pthread_mutex_lock(&s->mu);
		fifo_push(&s->q_head, &s->q_tail, f);
	}
	if (handed) {
		if (handed > 1)
			pthread_cond_broadcast(&s->cv);
		else
			pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
}

static void on_retry(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	pump(t->arg);
}

static void request_sync(sync_file_t *f)
{
	syncer_t *s = f->s;
	f->in_flight = 1;
	f->refs++;
	fifo_push(&s->p_head, &s->p_tail, f);
	pump(s);
}

static void on_error_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	sync_file_t *f = t->arg;
	f->error_reported = 2;
	if (f->on_error && !f->released)
		f->on_error(f->on_error_arg, f->err);
	file_unref(f);
}

/* Tells the owner, once and never re-entrantly, that the file failed. */
static void report_error(sync_file_t *f)
{
	if (f->error_reported || !f->on_error || f->released)
		return;
	f->error_reported = 1;
	f->refs++;
	loop_defer(f->s->loop, &f->error_task);
}

static void complete(sync_file_t *f)
{
	f->in_flight = 0;
	syncer_stats_t *st = &f->s->stats;
	st->failures += f->req_status < 0;
	if (f->req_status == 0) {
		hist_observe(&st->lat_us, f->req_us);
		hist_observe(&st->bytes, f->req_pos > f->synced ? f->req_pos - f->synced : 0);
	}
	f->s->handed--;
	give_back_fd(f);
	if (f->req_status < 0) {
		if (!f->err)
			log_error(f->s->log, "syncer: fdatasync of %s failed at position %llu: %s",
			          f->name, (unsigned long long)f->req_pos,
			          sl_strerror(f->req_status));
		f->err = f->err ? f->err : f->req_status;
		report_error(f);
	} else if (f->req_pos > f->synced) {
		f->synced = f->req_pos;
		if (f->on_synced && !f->released)
			f->on_synced(f->on_synced_arg, f->synced);
	}
	f->refs++;
	fire_waiters(f);
	after_sync(f);
	file_unref(f);
	file_unref(f); /* the in-flight reference */
}

/* Takes every reported result and completes it. */
static int drain_done(syncer_t *s)
{
	pthread_mutex_lock(&s->mu);
	sync_file_t *f = s->d_head;
	s->d_head = s->d_tail = NULL;
	pthread_mutex_unlock(&s->mu);
	int n = 0;
	while (f) {
		sync_file_t *next = f->next_req;
		complete(f);
		f = next;
		n++;
	}
	if (n) {
		pump(s);
		/* Files unpinned by these completions may leave the cache over
		 * its capacity; nobody holds a borrowed descriptor here. */
		fdc_fit(s->fdc);
	}
	return n;
}

static void on_async(loop_t *loop, loop_async_t *a)
{
	(void)loop;
	drain_done(a->arg);
}

static void on_fire_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	sync_file_t *f = t->arg;
	f->fire_queued = 0;
	fire_waiters(f);
	after_sync(f);
	file_unref(f);
}

static void schedule_fire(sync_file_t *f)
{
	if (f->fire_queued)
		return;
	f->fire_queued = 1;
	f->refs++;
	loop_defer(f->s->loop, &f->fire_task);
}

static void on_interval(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	sync_file_t *f = t->arg;
	if (!f->in_flight && !f->err && atomic_load(&f->written) > f->synced)
		request_sync(f);
}

/* The descriptor cache opens and closes through the store's interface. */
static int fdc_sio_open(void *arg, const char *path, int flags, mode_t mode)
{
	return sio_open(arg, path, flags, mode);
}

static void fdc_sio_close(void *arg, int fd)
{
	sio_close(arg, fd);
}

syncer_t *syncer_new(loop_t *loop, const log_t *log)
{
	syncer_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->loop = loop;
	s->log = log;
	atomic_init(&s->nsyncs, 0);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	loop_timer_init(&s->retry, on_retry, s);
	struct rlimit rl;
	uint64_t nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	                      ? (uint64_t)rl.rlim_cur
	                      : 1024;
	fdc_ops_t ops = {fdc_sio_open, fdc_sio_close, NULL};
	s->fdc = fdc_new(fdc_cap_for_limit(nofile), &ops, log);
	if (loop_async_init(loop, &s->async, on_async, s) < 0) {
		log_error(log, "syncer: cannot create the completion eventfd");
		goto fail;
	}
	for (int i = 0; i < SYNC_THREADS; i++) {
		if (pthread_create(&s->threads[i], NULL, helper_main, s) != 0)
			break;
		s->threads_started++;
	}
	if (s->threads_started == 0) {
		log_error(log, "syncer: cannot start the sync thread");
		loop_async_deinit(loop, &s->async);
		goto fail;
	}
	return s;
fail:
	fdc_free(s->fdc);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return NULL;
}

void syncer_free(syncer_t *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < s->threads_started; i++)
		pthread_join(s->threads[i], NULL);

	/* The helper is gone: run what it left queued here, report, and repeat
	 * until completions stop asking for more syncs. */
	if (loop_timer_armed(&s->retry))
		loop_timer_stop(s->loop, &s->retry);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		sync_file_t *f = s->q_head;
		s->q_head = s->q_tail = NULL;
		pthread_mutex_unlock(&s->mu);
		/* Requests still waiting for the window go last, in order. */
		while (s->p_head) {
			sync_file_t *p = s->p_head;
			s->p_head = p->next_req;
			if (!s->p_head)
				s->p_tail = NULL;
			s->handed++;
			if (take_fd(p) < 0)
				p->work_fd = -1;
			p->next_req = NULL;
			sync_file_t **tail = &f;
			while (*tail)
				tail = &(*tail)->next_req;
			*tail = p;
		}
		while (f) {
			sync_file_t *next = f->next_req;
			f->req_pos = atomic_load(&f->written);
			f->req_status = f->work_fd < 0                         ? SL_EMFILE
			                : sio_fdatasync(s->io, f->work_fd) < 0 ? sync_errno(errno)
			                                                       : 0;
			atomic_fetch_add(&s->nsyncs, 1);
			pthread_mutex_lock(&s->mu);
			fifo_push(&s->d_head, &s->d_tail, f);
			pthread_mutex_unlock(&s->mu);
			f = next;
		}
		int n = drain_done(s);
		/* Answers due in a fire task, and syncs due at the end of the
		 * turn, would otherwise be lost with them. */
		for (sync_file_t *g = s->files; g; g = g->next) {
			if (g->req_queued) {
				loop_task_cancel(s->loop, &g->req_task);
				on_req_task(s->loop, &g->req_task);
				n++;
				break;
			}
			if (g->fire_queued) {
				loop_task_cancel(s->loop, &g->fire_task);
				on_fire_task(s->loop, &g->fire_task);
				n++;
				break; /* the list may have changed: start over */
			}
		}
		if (n == 0)
			break;
	}
	while (s->files) {
		sync_file_t *f = s->files;
		if (!f->released)
			log_error(s->log, "syncer: %s was never released", f->name);
		if (atomic_load(&f->written) > f->synced && !f->err) {
			int fd = f->fd >= 0 ? f->fd : fdc_fd(f->file);
			if (fd >= 0)
				(void)sio_fdatasync(s->io, fd);
		}
		if (f->fire_queued)
			loop_task_cancel(s->loop, &f->fire_task);
		if (f->req_queued)
			loop_task_cancel(s->loop, &f->req_task);
		if (f->error_reported == 1) {
			loop_task_cancel(s->loop, &f->error_task);
			f->error_reported = 2;
		}
		file_destroy(f);
	}
	loop_async_deinit(s->loop, &s->async);
	fdc_free(s->fdc);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void syncer_set_io(syncer_t *s, sio_t *io)
{
	s->io = io;
	fdc_set_ops_arg(s->fdc, io);
}

fdc_t *syncer_fdc(const syncer_t *s)
{
	return s ? s->fdc : NULL;
}

sio_t *syncer_io(const syncer_t *s)
{
	return s ? s->io : NULL;
}

uint64_t syncer_sync_count(const syncer_t *s)
{
	return atomic_load(&((syncer_t *)s)->nsyncs);
}

static sync_file_t *file_new(syncer_t *s, int dfd, fdc_file_t *file, fsync_policy_t policy,
                             const char *name)
{
	sync_file_t *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->name = strdup(name ? name : "?");
	if (!f->name)
		abort();
	f->s = s;
	f->fd = dfd;
	f->file = file;
	f->work_fd = -1;
	f->policy = policy;
	f->refs = 1;
	atomic_init(&f->written, 0);
	loop_task_init(&f->fire_task, on_fire_task, f);
	loop_task_init(&f->req_task, on_req_task, f);
	loop_timer_init(&f->timer, on_interval, f);
	loop_task_init(&f->error_task, on_error_task, f);
	f->next = s->files;
	if (s->files)
		s->files->prev = f;
	s->files = f;
	return f;
}

sync_file_t *sync_file_new(syncer_t *s, int fd, fsync_policy_t policy, const char *name)
{
	int dfd = sio_dup(s->io, fd);
	/* Out of descriptors: cached log files give theirs back first. */
	while (dfd < 0 && (errno == EMFILE || errno == ENFILE) && fdc_trim(s->fdc, 1))
		dfd = sio_dup(s->io, fd);
	if (dfd < 0) {
		int e = errno;
		log_error(s->log, "syncer: cannot register %s: dup: %s", name, strerror(e));
		errno = e; /* the caller names the cause (EMFILE: the fd limit) */
		return NULL;
	}
	return file_new(s, dfd, NULL, policy, name);
}

sync_file_t *sync_file_new_cached(syncer_t *s, fdc_file_t *file, fsync_policy_t policy,
                                  const char *name)
{
	fdc_file_ref(file);
	return file_new(s, -1, file, policy, name);
}

void sync_file_written(sync_file_t *f, uint64_t pos)
{
	if (pos <= atomic_load(&f->written))
		return;
	atomic_store(&f->written, pos);
	if (f->err)
		return;
	if (f->nw && !f->in_flight) {
		after_sync(f);
		return;
	}
	if (f->policy.mode == FSYNC_INTERVAL && !f->released && !loop_timer_armed(&f->timer))
		loop_timer_start(f->s->loop, &f->timer, f->policy.interval_ms);
}

uint64_t sync_file_synced_pos(const sync_file_t *f)
{
	return f->synced;
}

void sync_file_when_durable(sync_file_t *f, uint64_t pos, sync_cb fn, void *arg)
{
	if (f->nw == f->capw) {
		f->capw = f->capw ? f->capw * 2 : 8;
		f->w = realloc(f->w, f->capw * sizeof *f->w);
		if (!f->w)
			abort();
	}
	f->w[f->nw++] = (waiter_t){pos, fn, arg};
	if (f->err || pos <= f->synced)
		schedule_fire(f);
	else if (!f->in_flight)
		schedule_request(f);
}

int sync_file_sync_now(sync_file_t *f)
{
	if (f->err)
		return f->err;
	int fd = f->fd >= 0 ? f->fd : fdc_fd(f->file);
	if (fd < 0)
		return fd; /* nothing synced, nothing failed: not sticky */
	uint64_t pos = atomic_load(&f->written);
	int rc = sio_fdatasync(f->s->io, fd);
	int e = errno;
	atomic_fetch_add(&f->s->nsyncs, 1);
	if (rc < 0) {
		f->err = sync_errno(e);
		log_error(f->s->log, "syncer: fdatasync of %s failed at position %llu: %s", f->name,
		          (unsigned long long)pos, strerror(e));
		report_error(f);
	} else if (pos > f->synced) {
		f->synced = pos;
		if (f->on_synced && !f->released)
			f->on_synced(f->on_synced_arg, f->synced);
	}
	if (f->nw)
		schedule_fire(f);
	return f->err;
}

void sync_file_assume_synced(sync_file_t *f, uint64_t pos)
{
	if (f->err || pos <= f->synced)
		return;
	f->synced = pos;
	if (f->nw)
		schedule_fire(f);
}

void sync_file_fail(sync_file_t *f, int err)
{
	if (f->err)
		return;
	f->err = err < 0 ? err : SL_EIO;
	if (loop_timer_armed(&f->timer))
		loop_timer_stop(f->s->loop, &f->timer);
	if (f->nw)
		schedule_fire(f);
	report_error(f);
}

void sync_file_on_error(sync_file_t *f, void (*fn)(void *arg, int err), void *arg)
{
	f->on_error = fn;
	f->on_error_arg = arg;
	if (f->err)
		report_error(f);
}

void sync_file_on_synced(sync_file_t *f, void (*fn)(void *arg, uint64_t pos), void *arg)
{
	f->on_synced = fn;
	f->on_synced_arg = arg;
}

int sync_file_error(const sync_file_t *f)
{
	return f->err;
}

void sync_file_release(sync_file_t *f)
{
	if (!f)
		return;
	f->released = 1;
	if (loop_timer_armed(&f->timer))
		loop_timer_stop(f->s->loop, &f->timer);
	if (f->nw && !f->in_flight && !f->fire_queued)
		schedule_fire(f);
	file_unref(f);
}

const syncer_stats_t *syncer_stats(const syncer_t *s)
{
	return &s->stats;
}
