/*
 * tube.h — beanstalkd tubes: named queues holding ready, delayed and buried
 * jobs, and the registry of live tubes.
 *
 * A tube lives while anything refers to it: a connection using or watching
 * it, or a job in it. The "default" tube holds one extra reference from the
 * registry so it never goes away. When the last reference is dropped the
 * tube leaves the registry. The registry keeps tubes in an array with
 * beanstalkd 1.12's ordering rule (append on create, the last element moves
 * into a removed slot) so that `list-tubes` lists them in the same order.
 *
 * Per tube: ready heap ordered by (priority, id), delay heap ordered by
 * (deadline, id), a FIFO list of buried jobs, and the FIFO of connections
 * waiting in reserve that watch it, served in beanstalkd's order.
 * Loop thread only.
 */
#ifndef SL_BROKER_TUBE_H
#define SL_BROKER_TUBE_H

#include "core/heap.h"
#include "core/map.h"

#include <stddef.h>
#include <stdint.h>

#define TUBE_NAME_MAX 200

struct job;
struct job_client;

typedef struct tube {
	char name[TUBE_NAME_MAX + 1];
	size_t name_len;
	uint32_t refs;
	size_t reg_idx; /* slot in the registry array */

	heap_t ready; /* jobs by (pri, id) */
	heap_t delay; /* jobs by (deadline, id) */
	struct job *buried_first, *buried_last;
	size_t buried_n;

	/* Connections blocked in reserve that watch this tube (see
	 * tube_waiter_take for the order). */
	struct job_client **waiters;
	size_t nwaiters, capwaiters, wlast;

	uint64_t urgent_n; /* ready jobs with pri < 1024 */
	uint64_t reserved_n;
	uint64_t total_jobs;
	uint64_t deletes;
	uint64_t pauses;
	uint32_t using_n;
	uint32_t watching_n;

	int64_t pause_ns;     /* the last pause-tube delay; 0 when not paused */
	int64_t unpause_at;   /* monotonic ns */
	int64_t unpause_wall; /* wall-clock us, for the journal */
	int replay_ref;       /* holds a reference while the journal replays */
} tube_t;

typedef struct tube_reg {
	tube_t **v; /* beanstalkd's order; see the file comment */
	size_t n, cap;
	map_t by_name;
	tube_t *deflt;
	size_t paused_n; /* tubes with pause_ns != 0, to skip scanning */
} tube_reg_t;

void tube_reg_init(tube_reg_t *r);
/* Frees every tube; the caller has freed the jobs first. */
void tube_reg_deinit(tube_reg_t *r);

/* Whether name[0..len) is a valid tube name (alphabet, 1..200, no leading '-'). */
int tube_name_valid(const char *name, size_t len);

tube_t *tube_find(tube_reg_t *r, const char *name, size_t len);
/* Finds or creates (with zero references: take one with tube_ref). */
tube_t *tube_get(tube_reg_t *r, const char *name, size_t len);
void tube_ref(tube_t *t);
/* Drops a reference; the tube is freed when none remain. */
void tube_unref(tube_reg_t *r, tube_t *t);

/* Waiters: add, remove, and take the next one to serve (NULL if none). */
void tube_waiter_add(tube_t *t, struct job_client *c);
void tube_waiter_del(tube_t *t, struct job_client *c);
struct job_client *tube_waiter_take(tube_t *t);

/* Buried FIFO. */
void tube_buried_push(tube_t *t, struct job *j);
void tube_buried_del(tube_t *t, struct job *j);

#endif
