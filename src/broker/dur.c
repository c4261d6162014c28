/*
 * dur.c — durability domains; see dur.h for the contract.
 *
 * Data structures (loop thread only):
 *   - members: every registered store, in a list; `dirty` ones (appended to
 *     since they were last taken into a batch) also in the dirty list. A
 *     member remembers `unflushed`: where its data not yet taken into any
 *     batch begins.
 *   - the open batch: the holds joined during this turn. At the end of the
 *     turn (flush task) it takes the dirty members, recording for each the
 *     range [start, target) of its data the batch covers, asks each store
 *     for a callback once target is durable, and joins the FIFO of flushed
 *     batches.
 *   - a batch completes when every callback reported; the FIFO releases
 *     completed batches from its head only, so replies leave in order even
 *     when a later batch's stores synced first.
 *   - a hold counts the batches it waits for (one per joined domain) and is
 *     released when the count reaches 0 and it was armed.
 *
 * Failure: the first error (from a batch callback or a store's failed
 * hook) marks the domain failed and defers the recovery to a task, so it
 * never runs inside a store or front call. The recovery computes each
 * member's cut point — the lowest `start` of any batch not yet released,
 * its `unflushed` when dirty, and its synced position when its store
 * failed — fails every unreleased hold, cuts the stores, and calls the
 * owner's reload. Batches whose store callbacks are still outstanding are
 * marked dead and freed when the last callback arrives (their answers are
 * ignored: they belong to writes that were undone).
 */
#include "broker/dur.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define RETRY_MS 1000

enum { MEM_JRNL = 1, MEM_PLOG = 2 };

struct dur_mem {
	dur_t *d;
	int kind;
	void *s;     /* jrnl_t or plog_t */
	int dirty;   /* in d->dirty */
	int failed;  /* the store reported a failure */
	int deleted; /* dur_del ran; freed when refs reach 0 */
	int refs;    /* 1 for the list + one per batch entry */
	int64_t unflushed;
	int64_t cut; /* recovery scratch */
	dur_mem_t *prev, *next;
	dur_mem_t *dnext, *dprev;
};

typedef struct bmem {
	struct dur_batch *b;
	dur_mem_t *m;
	int64_t start, target;
} bmem_t;

typedef struct hlink {
	dur_hold_t *h;
	int *out; /* dur_hold_join_status: this domain's outcome */
	struct hlink *next;
} hlink_t;

typedef struct dur_batch {
	dur_t *d;
	hlink_t *holds, *holds_tail;
	bmem_t *mems;
	size_t nmems;
	int pending; /* store callbacks outstanding (+1 while being set up) */
	int status;
	int done;
	int dead; /* failed and released: only waiting for callbacks */
	struct dur_batch *next;
} dur_batch_t;

struct dur_hold {
	conn_t *c;
	conn_hold_t *ch;
	dur_fin_fn fin;
	void *arg;
	int pending; /* batches not yet released */
	int status;
	int armed;
	dur_t *counted; /* the domain whose busy count includes this hold */
	/* Replies that share this hold (dur_reply): where each but the last
	 * ends in the buffer; none while it carries one reply. */
	size_t *ends;
	size_t nends, ends_cap;
};

struct dur {
	loop_t *loop;
	const log_t *log;
	char *name;
	fsync_policy_t policy;
	dur_hooks_t hooks;
	dur_mem_t *mems;
	dur_mem_t *dirty;
	size_t ndirty;
	dur_batch_t *open;
	dur_hold_t *last; /* dur_reply's newest hold, waiting for open alone */
	dur_batch_t *head, *tail;
	loop_task_t flush_task;
	loop_task_t recover_task;
	loop_timer_t retry_timer;
	int failed; /* the error, while recovering */
	size_t busy;
	uint64_t nbatches, nrecoveries;
};

/* --- members -------------------------------------------------------------------- */

static int64_t mem_pos(const dur_mem_t *m)
{
	return m->kind == MEM_JRNL ? (int64_t)jrnl_size(m->s) : plog_end_offset(m->s);
}

static int64_t mem_synced(const dur_mem_t *m)
{
	return m->kind == MEM_JRNL ? (int64_t)jrnl_synced(m->s) : plog_synced_offset(m->s);
}

static int mem_cut(dur_mem_t *m, int64_t pos)
{
	return m->kind == MEM_JRNL ? jrnl_cut(m->s, (uint64_t)pos) : plog_cut(m->s, pos);
}

static void mem_unref(dur_mem_t *m)
{
	if (--m->refs == 0)
		free(m);
}

static void dirty_del(dur_t *d, dur_mem_t *m)
{
	if (!m->dirty)
		return;
	if (m->dprev)
		m->dprev->dnext = m->dnext;
	else
		d->dirty = m->dnext;
	if (m->dnext)
		m->dnext->dprev = m->dprev;
	m->dirty = 0;
	m->dnext = m->dprev = NULL;
	d->ndirty--;
}

static void on_appended(void *arg)
{
	dur_mem_t *m = arg;
	if (m->dirty || m->deleted)
		return;
	dur_t *d = m->d;
	m->dirty = 1;
	m->dprev = NULL;
	m->dnext = d->dirty;
	if (d->dirty)
		d->dirty->dprev = m;
	d->dirty = m;
	d->ndirty++;
}

static void on_failed(void *arg, int err)
{
	dur_mem_t *m = arg;
	if (m->deleted)
		return;
	m->failed = 1;
	dur_fail(m->d, err);
}

static void on_rebased(void *arg)
{
	/* A compaction made everything in the journal durable in a new file:
	 * positions restart from its size. Compaction runs only while the
	 * domain is idle, so no batch holds a position of the old file. */
	dur_mem_t *m = arg;
	dirty_del(m->d, m);
	m->unflushed = mem_pos(m);
}

static dur_mem_t *mem_add(dur_t *d, int kind, void *s)
{
	dur_mem_t *m = calloc(1, sizeof *m);
	if (!m)
		abort();
	m->d = d;
	m->kind = kind;
	m->s = s;
	m->refs = 1;
	m->next = d->mems;
	if (d->mems)
		d->mems->prev = m;
	d->mems = m;
	m->unflushed = mem_pos(m);
	store_watch_t w = {on_appended, on_failed, on_rebased, m};
	if (kind == MEM_JRNL)
		jrnl_watch(s, &w);
	else
		plog_watch(s, &w);
	return m;
}

dur_mem_t *dur_add_jrnl(dur_t *d, jrnl_t *j)
{
	return mem_add(d, MEM_JRNL, j);
}

dur_mem_t *dur_add_plog(dur_t *d, plog_t *p)
{
	return mem_add(d, MEM_PLOG, p);
}

void dur_del(dur_t *d, dur_mem_t *m)
{
	if (!m)
		return;
	store_watch_t none = {0};
	if (m->kind == MEM_JRNL)
		jrnl_watch(m->s, &none);
	else
		plog_watch(m->s, &none);
	dirty_del(d, m);
	if (m->prev)
		m->prev->next = m->next;
	else
		d->mems = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->deleted = 1;
	m->s = NULL;
	mem_unref(m);
}

/* --- holds ------------------------------------------------------------------------- */

dur_hold_t *dur_hold_new(conn_t *c, dur_fin_fn fin, void *arg)
{
	dur_hold_t *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	h->c = c;
	h->ch = conn_hold(c);
	h->fin = fin;
	h->arg = arg;
	conn_ref(c);
	return h;
}

buf_t *dur_hold_buf(dur_hold_t *h)
{
	return conn_hold_buf(h->ch);
}

/* fin runs once per reply a shared hold carries, each on its own bytes,
 * as if every reply had had its own hold. Returns whether one of them
 * asked to close the connection. */
static int fin_each(dur_hold_t *h, buf_t *b)
{
	buf_t out = BUF_INIT, one = BUF_INIT;
	int close = 0;
	size_t from = 0;
	for (size_t i = 0; i <= h->nends; i++) {
		size_t to = i < h->nends ? h->ends[i] : buf_len(b);
		buf_reset(&one);
		buf_append(&one, buf_data(b) + from, to - from);
		if (h->fin(h, &one, h->status, h->arg) < 0)
			close = 1;
		buf_append(&out, buf_data(&one), buf_len(&one));
		from = to;
	}
	buf_deinit(&one);
	buf_deinit(b);
	*b = out;
	return close;
}

static void release(dur_hold_t *h)
{
	buf_t *b = conn_hold_buf(h->ch);
	int close = 0;
	if (h->counted && h->counted->last == h)
		h->counted->last = NULL;
	if (h->fin && h->nends)
		close = fin_each(h, b);
	else if (h->fin)
		close = h->fin(h, b, h->status, h->arg) < 0;
	else if (h->status < 0) {
		buf_reset(b);
		close = 1;
	}
	conn_hold_done(h->c, h->ch);
	if (close)
		conn_close(h->c, 1);
	conn_unref(h->c);
	if (h->counted)
		h->counted->busy--;
	free(h->ends);
	free(h);
}

static void hold_settle(dur_hold_t *h, int status)
{
	if (status < 0 && h->status == 0)
		h->status = status;
	if (--h->pending == 0 && h->armed)
		release(h);
}

void dur_hold_arm(dur_hold_t *h)
{
	h->armed = 1;
	if (h->pending == 0)
		release(h);
}

/* --- batches ------------------------------------------------------------------------- */

static void flush_task(loop_t *loop, loop_task_t *t);

static void batch_free(dur_batch_t *b)
{
	for (size_t i = 0; i < b->nmems; i++)
		mem_unref(b->mems[i].m);
	hlink_t *l = b->holds;
	while (l) {
		hlink_t *n = l->next;
		free(l);
		l = n;
	}
	free(b->mems);
	free(b);
}

/* Settles every hold of b with status (0 or the error). */
static void batch_settle(dur_batch_t *b, int status)
{
	hlink_t *l = b->holds;
	b->holds = b->holds_tail = NULL;
	while (l) {
		hlink_t *n = l->next;
		if (l->out && status < 0)
			*l->out = status;
		hold_settle(l->h, status);
		free(l);
		l = n;
	}
}

static void drain(dur_t *d)
{
	/* After a failure the recovery takes the batches (it needs their
	 * ranges to compute the cut points). */
	if (d->failed)
		return;
	while (d->head && d->head->done) {
		dur_batch_t *b = d->head;
		d->head = b->next;
		if (!d->head)
			d->tail = NULL;
		batch_settle(b, b->status);
		batch_free(b);
	}
	if (dur_idle(d) && d->hooks.idle)
		d->hooks.idle(d->hooks.arg);
}

static void on_mem_durable(void *arg, int status)
{
	bmem_t *bm = arg;
	dur_batch_t *b = bm->b;
	if (status < 0 && !b->dead) {
		if (b->status == 0)
			b->status = status;
		dur_fail(b->d, status);
	}
	if (--b->pending > 0)
		return;
	b->done = 1;
	if (b->dead) {
		batch_free(b);
		return;
	}
	drain(b->d);
}

static dur_batch_t *open_batch(dur_t *d)
{
	if (!d->open) {
		d->open = calloc(1, sizeof *d->open);
		if (!d->open)
			abort();
		d->open->d = d;
		loop_defer(d->loop, &d->flush_task);
	}
	return d->open;
}

void dur_hold_join_status(dur_hold_t *h, dur_t *d, int force, int *status)
{
	if (!force && d->policy.mode != FSYNC_ALWAYS)
		return;
	if (d->failed) {
		if (h->status == 0)
			h->status = d->failed;
		if (status)
			*status = d->failed;
		return;
	}
	if (!d->ndirty && !d->head && !d->open)
		return;
	dur_batch_t *b = open_batch(d);
	hlink_t *l = malloc(sizeof *l);
	if (!l)
		abort();
	l->h = h;
	l->out = status;
	l->next = NULL;
	if (b->holds_tail)
		b->holds_tail->next = l;
	else
		b->holds = l;
	b->holds_tail = l;
	h->pending++;
	if (!h->counted) {
		h->counted = d;
		d->busy++;
	}
}

void dur_hold_join(dur_hold_t *h, dur_t *d, int force)
{
	dur_hold_join_status(h, d, force, NULL);
}

static void flush_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	dur_t *d = t->arg;
	dur_batch_t *b = d->open;
	if (!b)
		return;
	d->open = NULL;
	d->last = NULL; /* a reply from now on waits for a later batch */
	if (d->failed) {
		batch_settle(b, d->failed);
		batch_free(b);
		return;
	}
	b->mems = calloc(d->ndirty ? d->ndirty : 1, sizeof *b->mems);
	if (!b->mems)
		abort();
	for (dur_mem_t *m = d->dirty; m; m = m->dnext) {
		bmem_t *bm = &b->mems[b->nmems++];
		bm->b = b;
		bm->m = m;
		bm->start = m->unflushed;
		bm->target = mem_pos(m);
		m->unflushed = bm->target;
		m->refs++;
	}
	while (d->dirty)
		dirty_del(d, d->dirty);
	if (d->tail)
		d->tail->next = b;
	else
		d->head = b;
	d->tail = b;
	d->nbatches++;
	b->pending = (int)b->nmems + 1;
	for (size_t i = 0; i < b->nmems; i++) {
		bmem_t *bm = &b->mems[i];
		if (bm->m->kind == MEM_JRNL)
			jrnl_when_durable(bm->m->s, on_mem_durable, bm);
		else
			plog_when_durable(bm->m->s, bm->target, on_mem_durable, bm);
	}
	on_mem_durable(&(bmem_t){.b = b}, 0);
}

/* --- failure and recovery ---------------------------------------------------------------- */

static void recover_task(loop_t *loop, loop_task_t *t);

void dur_fail(dur_t *d, int err)
{
	if (d->failed)
		return;
	d->failed = err < 0 ? err : SL_EIO;
	log_error(d->log,
	          "%s: a write could not be made durable (%s); failing the replies "
	          "that depend on it and cutting back to the last durable state",
	          d->name, sl_strerror(d->failed));
	loop_defer(d->loop, &d->recover_task);
}

static void lower(dur_mem_t *m, int64_t pos)
{
	if (pos < m->cut)
		m->cut = pos;
}

/* Fails every unreleased hold and computes the cut points (once per
 * failure: the batches are gone afterwards). */
static void abandon_batches(dur_t *d)
{
	for (dur_mem_t *m = d->mems; m; m = m->next) {
		m->cut = INT64_MAX;
		/* Data not yet taken into a batch was written by requests whose
		 * replies are still held under `always`. Under interval/never
		 * no batch ever forms (unless forced), so that data goes back
		 * to the domain's start, and its replies were released at once:
		 * it stays (only a failed store loses what it did not sync). */
		if (m->dirty && d->policy.mode == FSYNC_ALWAYS)
			lower(m, m->unflushed);
		if (m->failed)
			lower(m, mem_synced(m));
	}
	for (dur_batch_t *b = d->head; b; b = b->next)
		for (size_t i = 0; i < b->nmems; i++)
			if (!b->mems[i].m->deleted)
				lower(b->mems[i].m, b->mems[i].start);
	dur_batch_t *b = d->head;
	d->head = d->tail = NULL;
	while (b) {
		dur_batch_t *n = b->next;
		batch_settle(b, d->failed);
		b->next = NULL;
		if (b->done)
			batch_free(b);
		else
			b->dead = 1;
		b = n;
	}
	if (d->open) {
		loop_task_cancel(d->loop, &d->flush_task);
		batch_settle(d->open, d->failed);
		batch_free(d->open);
		d->open = NULL;
	}
}

static int recover(dur_t *d)
{
	int rc = 0;
	for (dur_mem_t *m = d->mems; m; m = m->next) {
		if (m->cut == INT64_MAX && !m->failed)
			continue;
		int64_t to = m->cut == INT64_MAX ? mem_pos(m) : m->cut;
		int r = mem_cut(m, to);
		if (r < 0) {
			rc = r;
			continue;
		}
		m->failed = 0;
		m->cut = INT64_MAX;
		dirty_del(d, m);
		m->unflushed = mem_pos(m);
	}
	if (rc == 0 && d->hooks.reload)
		rc = d->hooks.reload(d->hooks.arg);
	return rc;
}

static void try_recover(dur_t *d)
{
	int rc = recover(d);
	if (rc < 0) {
		log_error(d->log,
		          "%s: recovery failed (%s); writes stay refused, retrying in %d ms",
		          d->name, sl_strerror(rc), RETRY_MS);
		loop_timer_start(d->loop, &d->retry_timer, RETRY_MS);
		return;
	}
	d->failed = 0;
	d->nrecoveries++;
	log_warn(d->log, "%s: recovered from the write failure; serving again", d->name);
	if (dur_idle(d) && d->hooks.idle)
		d->hooks.idle(d->hooks.arg);
}

static void recover_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	dur_t *d = t->arg;
	abandon_batches(d);
	try_recover(d);
}

static void on_retry(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	try_recover(t->arg);
}

/* --- the domain ----------------------------------------------------------------------------- */

dur_t *dur_new(loop_t *loop, const log_t *log, const char *name, fsync_policy_t policy,
               const dur_hooks_t *hooks)
{
	dur_t *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->loop = loop;
	d->log = log;
	d->name = strdup(name);
	if (!d->name)
		abort();
	d->policy = policy;
	if (hooks)
		d->hooks = *hooks;
	loop_task_init(&d->flush_task, flush_task, d);
	loop_task_init(&d->recover_task, recover_task, d);
	loop_timer_init(&d->retry_timer, on_retry, d);
	return d;
}

void dur_free(dur_t *d)
{
	if (!d)
		return;
	loop_task_cancel(d->loop, &d->recover_task);
	if (loop_timer_armed(&d->retry_timer))
		loop_timer_stop(d->loop, &d->retry_timer);
	if (!d->failed)
		d->failed = SL_ECLOSED;
	abandon_batches(d);
	while (d->mems)
		dur_del(d, d->mems);
	free(d->name);
	free(d);
}

int dur_state(const dur_t *d)
{
	return d->failed;
}

size_t dur_busy(const dur_t *d)
{
	return d->busy;
}

int dur_idle(const dur_t *d)
{
	return !d->open && !d->head && !d->failed;
}

int dur_all_synced(const dur_t *d)
{
	if (d->policy.mode == FSYNC_NEVER)
		return 1;
	for (const dur_mem_t *m = d->mems; m; m = m->next)
		if (!m->deleted && mem_synced(m) < mem_pos(m))
			return 0;
	return 1;
}

int dur_must_hold(const dur_t *d)
{
	return d->policy.mode == FSYNC_ALWAYS && (d->ndirty || d->head || d->open || d->failed);
}

void dur_reply(dur_t *d, conn_t *c, const void *p, size_t n, dur_fin_fn fin, void *arg)
{
	if (!dur_must_hold(d)) {
		conn_write(c, p, n);
		return;
	}
	/* Pipelined requests of one connection in one turn wait for the same
	 * batch: while nothing was queued behind the previous reply's hold,
	 * the next reply joins it (one hold, one chunk, one allocation of
	 * each per read instead of per request) and both leave together when
	 * that batch lands. */
	dur_hold_t *last = d->last;
	if (last && last->c == c && last->fin == fin && last->arg == arg && d->open && !d->failed &&
	    conn_hold_is_last(c, last->ch)) {
		buf_t *b = dur_hold_buf(last);
		if (last->nends == last->ends_cap) {
			last->ends_cap = last->ends_cap ? last->ends_cap * 2 : 16;
			last->ends = realloc(last->ends, last->ends_cap * sizeof *last->ends);
			if (!last->ends)
				abort();
		}
		last->ends[last->nends++] = buf_len(b);
		buf_append(b, p, n);
		return;
	}
	dur_hold_t *h = dur_hold_new(c, fin, arg);
	buf_append(dur_hold_buf(h), p, n);
	dur_hold_join(h, d, 0);
	/* Joined the open batch, so arming cannot release it yet. */
	int shareable = h->pending == 1 && d->open && !d->failed;
	dur_hold_arm(h);
	d->last = shareable ? h : NULL;
}

uint64_t dur_batches(const dur_t *d)
{
	return d->nbatches;
}

uint64_t dur_recoveries(const dur_t *d)
{
	return d->nrecoveries;
}
