/*
 * fetchwait.h — Fetch long polling: a waiter parked on a set of partitions
 * until one of them grows or its MaxWaitMs timer fires.
 *
 * A produce calls fetchwait_notify(partition); every waiter on that
 * partition gets its callback at the end of the turn (so several appends in
 * one turn wake it once), with timed_out = 0. The callback decides whether
 * enough bytes arrived (MinBytes); if not it simply returns and stays
 * parked. fetchwait_cancel() unlinks the waiter (always call it before
 * freeing). Loop thread only.
 */
#ifndef SL_BROKER_FETCHWAIT_H
#define SL_BROKER_FETCHWAIT_H

#include "broker/partition.h"
#include "net/loop.h"

typedef void (*fetchwait_fn)(fetchwait_t *w, int timed_out);

struct fwlink {
	struct fwlink *next, *prev;
	fetchwait_t *w;
	partition_t *p;
};

struct fetchwait {
	loop_t *loop;
	loop_timer_t timer;
	loop_task_t task;
	struct fwlink *links; /* n owned links, one per partition */
	int n;
	int active;
	fetchwait_fn fn;
	void *arg;
};

/* Parks w (embedded in the caller's struct) on parts[0..n) for timeout_ms. */
void fetchwait_start(fetchwait_t *w, loop_t *loop, partition_t **parts, int n, int64_t timeout_ms,
                     fetchwait_fn fn, void *arg);
void fetchwait_cancel(fetchwait_t *w);
/* Partition p grew: wake its waiters at the end of the turn. */
void fetchwait_notify(partition_t *p);
/* Partition p is going away: unlink its waiters' links (they stay parked
 * on their other partitions and time out normally). */
void fetchwait_forget(partition_t *p);

#endif
