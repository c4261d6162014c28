/*
 * job.h — beanstalkd's job model: jobs, their states and queues, time-to-run,
 * delays, blocked reserves, and the clients (connections) that hold
 * reservations. Knows nothing about the wire format: proto/beanstalk maps
 * these calls and results to replies.
 *
 * States: READY (in its tube's ready heap), DELAYED (tube delay heap and the
 * server's delay heap), RESERVED (the reserver's heap and the server's TTR
 * heap), BURIED (tube's buried FIFO). Ready order is (priority, id), so a
 * released job goes ahead of newer jobs of equal priority.
 *
 * Blocked reserves: a client that finds nothing ready is appended to the
 * waiter FIFO of each tube it watches. Invariant: an unpaused tube never has
 * both waiters and ready jobs; whenever a job becomes ready (put, release,
 * kick, delay or TTR expiry, unpause, a closing client) its tube is served,
 * oldest waiter first, and the client learns it through its wake callback.
 *
 * Times are monotonic nanoseconds inside; deadlines are converted to
 * wall-clock for the journal (job_journal.c) so that the remaining delay of a
 * job survives a restart.
 *
 * Durability: when s->jr is set, every change beanstalkd's binlog keeps
 * (put, delete, bury, kick, release with a delay or new priority, pause) and
 * reserve-job of a buried or delayed job is journaled by the call that makes
 * it. Such a call first checks that it may write — the journal's
 * durability domain (s->dur, broker/dur.h) is not recovering from a failure
 * and the journal has room for its records — and returns the storage error
 * (SL_ENOSPC, SL_EIO) without changing anything when not. When a write
 * fails after it was applied, the domain fails the replies that depend on
 * it, cuts the journal back, and job_store.c rebuilds the jobs from the
 * journal (reservations of surviving jobs and the next id are kept, so ids
 * are never handed out twice in one run). Loop thread only.
 */
#ifndef SL_BROKER_JOB_H
#define SL_BROKER_JOB_H

#include "broker/tube.h"
#include "core/heap.h"
#include "core/log.h"
#include "net/loop.h"

#include <stddef.h>
#include <stdint.h>

#define JOB_URGENT_PRI 1024
#define JOB_SAFETY_MARGIN_NS ((int64_t)1000000000)
#define NS_PER_SEC ((int64_t)1000000000)

typedef enum job_state {
	JOB_READY = 0,
	JOB_RESERVED = 1,
	JOB_DELAYED = 2,
	JOB_BURIED = 3,
} job_state_t;

extern const char *const job_state_names[4];

typedef struct job_client job_client_t;

typedef struct job {
	uint64_t id;
	uint32_t pri;
	job_state_t state;
	int64_t delay_ns; /* delay of the last put/release */
	int64_t ttr_ns;
	int64_t created_ns;  /* monotonic */
	int64_t deadline_ns; /* monotonic: end of delay or of TTR */
	tube_t *tube;        /* holds a reference */
	job_client_t *reserver;
	heap_node_t tnode; /* tube ready or delay heap */
	heap_node_t gnode; /* server delay or TTR heap */
	heap_node_t cnode; /* reserver's heap */
	struct job *bprev, *bnext;
	struct job *hnext; /* id table chain */
	uint32_t reserves, timeouts, releases, buries, kicks;
	uint32_t jput;     /* journal bytes of the put record */
	uint32_t jstate;   /* journal bytes of the latest state record */
	uint32_t body_len; /* including the trailing CRLF */
	uint8_t body[];
} job_t;

enum job_wake {
	JOB_WAKE_RESERVED = 1,
	JOB_WAKE_DEADLINE_SOON = 2,
	JOB_WAKE_TIMED_OUT = 3,
};

/* Called when a blocked reserve ends. j is the reserved job (borrowed) for
 * JOB_WAKE_RESERVED, NULL otherwise. */
typedef void (*job_wake_fn)(job_client_t *c, int what, job_t *j);

struct jobs;

struct job_client {
	struct jobs *srv;
	tube_t *use;
	tube_t **watch; /* beanstalkd's order: append, last moves into a hole */
	size_t nwatch, capwatch;
	heap_t reserved; /* by deadline */
	int waiting;
	int64_t wait_until; /* monotonic ns, or -1 for no timeout */
	loop_timer_t timer;
	int producer, worker;
	job_wake_fn wake;
	void *arg;
};

/* A reservation a change not yet durable ended (job_store.c restores it
 * should the change fail). */
typedef struct job_unres {
	uint64_t id;
	job_client_t *c;
	int64_t deadline_ns;
} job_unres_t;

typedef struct jobs {
	loop_t *loop; /* NULL in unit tests: timers are then driven by jobs_tick */
	tube_reg_t tubes;
	job_t **tab; /* id → job, chained */
	size_t tabcap, njobs;
	heap_t delayq;
	heap_t ttrq;
	loop_timer_t timer;
	int64_t timer_due; /* monotonic ns the timer is armed for, or INT64_MAX */
	uint64_t next_id;
	size_t max_job_size;
	int64_t started_ns;
	/* statistics, as beanstalkd's `stats` */
	uint64_t ready_n, urgent_n, reserved_n, delayed_n, buried_n;
	uint64_t total_jobs, timeouts, waiting_n;
	uint32_t conns_n, conns_total, producers_n, workers_n;
	/* durability (job_journal.c, job_store.c) */
	struct jrnl *jr;
	struct dur *dur;      /* the journal's durability domain */
	const log_t *log;
	uint64_t jseq;        /* records appended (stats: binlog-records-written) */
	uint64_t replay_garbage;
	int replaying;
	loop_task_t maint_task; /* compaction check at the end of a turn */
	job_unres_t *unres;     /* reservations ended since the domain was idle */
	size_t nunres, capunres;
} jobs_t;

void jobs_init(jobs_t *s, loop_t *loop, size_t max_job_size);
void jobs_deinit(jobs_t *s);

struct broker;
/* job_store.c: opens <data-dir>/beanstalk/jobs.journal and replays it into
 * a new jobs model (returned owned); closes both. */
int jobs_open(jobs_t **out, struct broker *b);
void jobs_close(jobs_t *s);

/* Monotonic now in ns (the clock every deadline uses). */
int64_t jobs_now(void);

/* --- clients ----------------------------------------------------------- */

void job_client_init(jobs_t *s, job_client_t *c, job_wake_fn wake, void *arg);
/* A closing connection: its reserved jobs go back to ready, its wait ends,
 * its tubes are released (beanstalkd's order, which list-tubes shows). */
void job_client_deinit(job_client_t *c);

/* use / watch / ignore. Names must be valid (tube_name_valid). */
void job_client_use(job_client_t *c, const char *name, size_t len);
size_t job_client_watch(job_client_t *c, const char *name, size_t len);
/* Returns the new watch count, or -1 when it would ignore the last tube. */
long job_client_ignore(job_client_t *c, const char *name, size_t len);

/* --- jobs ---------------------------------------------------------------- */

/* Allocates a job with the next id (ids are consumed even if the job is
 * then discarded, as in beanstalkd). body_len includes the CRLF; the caller
 * fills j->body. The caller checked body_len against max_job_size. */
job_t *jobs_new_job(jobs_t *s, uint32_t pri, int64_t delay_ns, int64_t ttr_ns, uint32_t body_len);
/* Frees a job that was never put. */
void jobs_discard(jobs_t *s, job_t *j);
/* A connection counts as a producer from its first well-formed put line on
 * (beanstalkd's rule: even if the body then fails or drain mode refuses). */
void jobs_mark_producer(jobs_t *s, job_client_t *c);
/* Puts a new job into the client's used tube (ready or delayed). Returns 0,
 * or a storage error: then the job was not put (the caller discards it;
 * its id stays used). */
int jobs_put(jobs_t *s, job_client_t *c, job_t *j);

job_t *jobs_find(const jobs_t *s, uint64_t id);

/* Each returns 0, SL_ENOENT (beanstalkd's NOT_FOUND), or a storage error
 * (nothing changed). */
int jobs_delete(jobs_t *s, job_client_t *c, uint64_t id);
int jobs_release(jobs_t *s, job_client_t *c, uint64_t id, uint32_t pri, int64_t delay_ns);
int jobs_bury(jobs_t *s, job_client_t *c, uint64_t id, uint32_t pri);
int jobs_touch(jobs_t *s, job_client_t *c, uint64_t id);
int jobs_kick_job(jobs_t *s, uint64_t id);
/* Kicks up to bound buried jobs of t, or if it has none, delayed ones.
 * Returns the number kicked, or a storage error (none kicked). */
long jobs_kick(jobs_t *s, tube_t *t, uint32_t bound);
/* Reserves a ready, delayed or buried job by id. Returns 0 with *out set,
 * SL_ENOENT, or a storage error. */
int jobs_reserve_job(jobs_t *s, job_client_t *c, uint64_t id, job_t **out);

enum job_reserve_result {
	JOB_RES_RESERVED = 0,
	JOB_RES_DEADLINE_SOON = 1,
	JOB_RES_TIMED_OUT = 2,
	JOB_RES_WAITING = 3,
};
/* reserve / reserve-with-timeout: timeout_s < 0 waits forever, 0 polls.
 * On JOB_RES_RESERVED *out is the job; on JOB_RES_WAITING the client's wake
 * callback runs later (never from inside this call). */
int jobs_reserve(jobs_t *s, job_client_t *c, int64_t timeout_s, job_t **out);
/* Stops a blocked reserve without a reply (the connection is closing). */
void jobs_cancel_wait(job_client_t *c);

/* pause-tube: 0 or SL_ENOENT. delay 0 unpauses (beanstalkd: 1 ns). */
int jobs_pause(jobs_t *s, const char *name, size_t len, int64_t delay_ns);
int tube_paused(tube_t *t, int64_t now);

/* Peeks (no state change); NULL when none. */
job_t *jobs_peek_ready(tube_t *t);
job_t *jobs_peek_delayed(tube_t *t);
job_t *jobs_peek_buried(tube_t *t);

/* Runs everything due (delays, TTRs, pauses). The loop timer calls it;
 * tests without a loop call it directly. */
void jobs_tick(jobs_t *s);
/* The soonest reserved job of a client, or NULL. */
job_t *job_client_soonest(job_client_t *c);
int job_client_deadline_soon(job_client_t *c, int64_t now);

/* Iterates all live jobs (snapshots, stats). */
void jobs_foreach(jobs_t *s, void (*fn)(job_t *j, void *arg), void *arg);

/* --- journal (job_journal.c) ----------------------------------------------- */

struct jrnl;
/* Payload bytes of the records below, for the space check before a change. */
size_t jobs_j_put_len(const job_t *j);
#define JOBS_J_STATE_LEN 49
#define JOBS_J_DELETE_LEN 8
#define JOBS_J_PAUSE_LEN(name_len) (1 + (size_t)(name_len) + 16)
/* Whether a change whose records take `payload` bytes may be made now: 0,
 * or the storage error to answer (job_store.c). */
int jobs_writable(jobs_t *s, size_t payload);
/* Compacts the journal when enough of it is garbage and no reply waits on
 * it (job_store.c; run at the end of a turn that appended). */
void jobs_maintain(jobs_t *s);
/* Appends a NEXTID record (after a recovery). */
int jobs_j_next_id(jobs_t *s);
/* Recovery helpers (job_store.c's reload): take a job out of its queues
 * and free it, without a record; reserve job id for c again with its old
 * deadline if it is ready; hand ready jobs to every tube's waiters. */
void jobs_drop(jobs_t *s, job_t *j);
void jobs_rereserve(jobs_t *s, job_client_t *c, uint64_t id, int64_t deadline_ns);
void jobs_serve_all(jobs_t *s);
/* Journal records for the state changes above (no-ops when s->jr is NULL). */
void jobs_j_put(jobs_t *s, job_t *j);
void jobs_j_state(jobs_t *s, job_t *j);
void jobs_j_delete(jobs_t *s, job_t *j);
void jobs_j_pause(jobs_t *s, tube_t *t);
/* jrnl_open callbacks: replay one record / write a snapshot of live state. */
int jobs_j_replay(void *arg, uint8_t type, const uint8_t *p, size_t n);
int jobs_j_snapshot(void *arg, struct jrnl *j);
/* After replay: places replayed jobs in their queues, drops unused tubes. */
void jobs_j_replay_done(jobs_t *s);
/* Replay helpers: enter a job in the id table only; remove such a job;
 * place it in the queue of its state (deadline: monotonic, DELAYED only). */
void jobs_restore(jobs_t *s, job_t *j);
void jobs_forget(jobs_t *s, job_t *j);
void jobs_place(jobs_t *s, job_t *j, job_state_t state, int64_t deadline);

#endif
