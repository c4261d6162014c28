/*
 * dur.h — durability domains: the one place that decides when a reply may
 * leave, and the one failure policy for every protocol.
 *
 * A domain groups the stores (state journals, partition logs) whose
 * contents one set of requests can observe: the job journal; the keyspace's
 * journals and stream logs; the groups journal; one Kafka partition. The
 * broker module that owns the state creates the domain and registers its
 * stores; stores report each append to it (store/watch.h).
 *
 * Replies. A front builds a request's reply and hands it to the domain the
 * request belongs to (dur_reply, or a dur_hold joined to several domains).
 * Under fsync=always the reply leaves only once everything the domain holds
 * is on disk: the request's own writes, and every write it could have
 * observed (Redis's rule with appendfsync always, applied per domain, so a
 * reader never receives data that could still be lost). All replies held in
 * one loop turn form one batch, synced together (group commit); batches are
 * released in order. Under interval/never replies leave at once unless the
 * hold is forced (Kafka acks=-1).
 *
 * Failure policy. When a store of the domain fails (a write or a sync):
 *   1. every reply not yet released in the domain — of the failed batch and
 *      of every later one, reads included — is finished with the error, so
 *      nothing that depended on the failed writes is acknowledged, now or
 *      later through another connection;
 *   2. mutations are refused before they are applied (dur_state) until the
 *      domain has recovered;
 *   3. each store is cut back to the last point every released reply
 *      depended on (and never past its own last synced point when it is the
 *      one that failed), durably;
 *   4. the owner rebuilds its in-memory state from what is now on disk (the
 *      reload hook), so nothing that failed stays visible; ids are the
 *      owner's to keep monotonic;
 *   5. if the cut or the reload fails, steps 3–4 are retried every second;
 *      reads and writes resume once they succeed (for instance after space
 *      returned to a full disk), without a restart.
 * The front only decides the error's wording (the hold's fin callback).
 *
 * Compaction: a journal may be compacted only while its domain is idle (no
 * batch open or in flight), which the idle hook announces; otherwise a
 * snapshot could make a write durable whose reply is then failed.
 *
 * Loop thread only.
 */
#ifndef SL_BROKER_DUR_H
#define SL_BROKER_DUR_H

#include "core/config.h"
#include "core/log.h"
#include "net/conn.h"
#include "net/loop.h"
#include "store/journal.h"
#include "store/plog.h"

typedef struct dur dur_t;
typedef struct dur_mem dur_mem_t;
typedef struct dur_hold dur_hold_t;

typedef struct dur_hooks {
	/* The stores were cut back: rebuild the in-memory state from disk.
	 * Returns 0, or an error to be retried later (the domain stays
	 * failed). Required for domains whose state lives in memory. */
	int (*reload)(void *arg);
	/* Optional: nothing is open or in flight (a safe point to compact). */
	void (*idle)(void *arg);
	void *arg;
} dur_hooks_t;

/* Creates a domain. name is for log lines (copied); hooks are copied. */
dur_t *dur_new(loop_t *loop, const log_t *log, const char *name, fsync_policy_t policy,
               const dur_hooks_t *hooks);
/* Finishes every held reply with SL_ECLOSED (shutdown: dur_busy() should
 * be 0 by then) and frees. Members must have been removed or may be left:
 * their stores are the owner's to close. */
void dur_free(dur_t *d);

/* Registers a store (borrowed; the owner closes it after dur_del). Installs
 * the store's watch hooks. */
dur_mem_t *dur_add_jrnl(dur_t *d, jrnl_t *j);
dur_mem_t *dur_add_plog(dur_t *d, plog_t *p);
/* The store is about to be closed or destroyed (a stream deleted, a
 * journal reopened). Safe while batches still wait on it. NULL is a no-op. */
void dur_del(dur_t *d, dur_mem_t *m);

/* The owner's own deferred write into a member failed after it applied
 * the change (entries it buffered for one write at the end of the turn):
 * the domain fails as when a store reports a failure (every unreleased
 * reply failed, stores cut back, the owner reloaded). Idempotent while
 * failed. */
void dur_fail(dur_t *d, int err);

/* 0, or the storage error while the domain is recovering from a failure:
 * a mutation must check it first and refuse (not apply) when it is set. */
int dur_state(const dur_t *d);
/* Replies held and not yet released (shutdown waits for 0). */
size_t dur_busy(const dur_t *d);
/* Nothing open or in flight. */
int dur_idle(const dur_t *d);
/* Whether a reply in this domain must be held now (fsync=always and
 * something unsynced, in flight or failed). A front may build replies
 * straight into the connection's output while this is false and nothing
 * it runs can change the domain. */
int dur_must_hold(const dur_t *d);
/* Whether everything written to every store of the domain is synced
 * (always 1 under fsync=never, which promises no more than the writes).
 * Walks the members: for rare decisions, not per request. */
int dur_all_synced(const dur_t *d);

/* --- replies ------------------------------------------------------------- */

/* Called exactly once when a held reply is released: status 0 (every
 * domain it waited for is durable) or the storage error. It may rewrite
 * reply into the protocol's error; returning negative closes the
 * connection after the reply (buf_reset it to send nothing). It also
 * frees arg. */
typedef int (*dur_fin_fn)(dur_hold_t *h, buf_t *reply, int status, void *arg);

/* A reply placeholder in c's output queue (later output queues behind it).
 * fin may be NULL (then a failure closes the connection without the
 * reply). */
dur_hold_t *dur_hold_new(conn_t *c, dur_fin_fn fin, void *arg);
/* Where the reply is written (before or after joining). */
buf_t *dur_hold_buf(dur_hold_t *h);
/* The reply waits for domain d: under fsync=always when anything in d is
 * pending; with force whenever anything is unsynced, whatever the policy
 * (Kafka acks=-1). */
void dur_hold_join(dur_hold_t *h, dur_t *d, int force);
/* Same, and *status (borrowed: it must stay valid until fin ran; the
 * caller sets it to 0 first) receives this domain's own outcome: 0, or the
 * error when the writes the reply waited for in d failed. A reply that
 * covers several domains (a Kafka produce to several partitions) reports
 * each part's result, since a failure in one domain leaves the others'
 * writes durable. */
void dur_hold_join_status(dur_hold_t *h, dur_t *d, int force, int *status);
/* Every domain is joined: the reply leaves as soon as they allow (now, if
 * none is pending). h is invalid afterwards. */
void dur_hold_arm(dur_hold_t *h);

/* The common case: the reply p[0..n) of a request in d leaves now when
 * nothing is pending, else is held (copied) with fin. Consecutive held
 * replies of one connection waiting for the same batch (same fin and arg,
 * nothing queued between them) share one hold and leave in one write;
 * fin still runs once per reply, on that reply's bytes alone. */
void dur_reply(dur_t *d, conn_t *c, const void *p, size_t n, dur_fin_fn fin, void *arg);

/* --- tests ----------------------------------------------------------------- */

/* Batches flushed and recoveries done so far. */
uint64_t dur_batches(const dur_t *d);
uint64_t dur_recoveries(const dur_t *d);

#endif
