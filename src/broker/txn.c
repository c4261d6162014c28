/*
 * txn.c — the Kafka transaction coordinator; see txn.h.
 *
 * Journal `<data-dir>/txn.journal` (store/journal.h frames), created with
 * the first transactional id (opening a broker that never sees one costs
 * no file and no sync). A record holds the whole state of one
 * transactional id, or forgets it; the last record of an id wins on replay
 * (earlier ones are garbage for compaction, which re-appends one record
 * per id). All integers big-endian:
 *
 *   type 1 TXN_STATE
 *     u16 id length, id bytes
 *     i64 producer id, i16 epoch, i32 transaction timeout ms
 *     u8  state (0 Empty, 1 Ongoing, 2 PrepareCommit, 3 PrepareAbort,
 *         4 CompleteCommit, 5 CompleteAbort)
 *     u8  last decision (1 commit, 0 abort) of the last completed one
 *     u32 partitions: { u16 topic length, topic, i32 partition }
 *     u32 offsets:    { u16 group length, group, u16 topic length, topic,
 *                       i32 partition, i64 offset, i32 leader epoch,
 *                       i32 metadata length (-1 null), metadata }
 *     (optional, absent in older records)
 *     u32 markers:    { u16 topic length, topic, i32 partition,
 *                       i64 marker offset, u8 decision (1 commit) } —
 *                     markers of decisions not yet known durable
 *     (optional, absent in older records: the replay's time is taken)
 *     i64 wall-clock ms of the record (the id's last change, which
 *         transactional.id.expiration.ms counts from)
 *   type 2 TXN_FORGET — the id expired (txn_expire)
 *     u16 id length, id bytes
 *
 * Write order of a transaction's end (the recovery rule follows from it):
 *   1. Prepare{Commit,Abort} is appended and synced (jrnl_when_durable);
 *   2. then a marker is appended to every partition of the transaction in
 *      which the producer has an open transaction (partition.h), and on
 *      commit its offsets are applied to the groups (groups.journal);
 *   3. then Complete{Commit,Abort} is appended. The EndTxn reply leaves
 *      after step 1's sync (as Kafka's coordinator answers once
 *      PrepareCommit is written); the markers' syncs are started at once
 *      but nothing waits for them, and every marker is listed (partition,
 *      offset, decision) in the id's records until its partition's synced
 *      end passes it.
 * Recovery (open, and after this domain was cut back by a failed sync):
 *   - Ongoing: aborted (its epoch bumped so the old instance is fenced);
 *   - Prepare*: step 2 is redone (markers go only where the producer still
 *     has an open transaction, so redoing is harmless) and step 3 written;
 *   - first, a listed marker whose partition shows the producer's open
 *     transaction beginning before the marker's offset was lost (the log
 *     is a prefix: that transaction is the decided one): it is written
 *     again, before any abort below could close the decided records;
 *   - a partition whose log holds an open transaction of a producer whose
 *     transaction is complete (a marker cut back after a failed partition
 *     sync) gets the marker of the last decision again (the tick); one of
 *     a producer no id knows (the journal was lost) is aborted.
 * Nothing reaches a partition before its decision is durable, so a crash
 * or failure leaves each transaction committed everywhere or aborted
 * everywhere; read_committed readers stop at the last stable offset, below
 * any transaction still open, until then.
 *
 * The offsets of open transactions are also counted in an index keyed by
 * group, topic and partition (pending: how many open transactions hold an
 * offset there), so that OffsetFetch with RequireStable (KIP-447) costs one
 * lookup per partition. A transaction's offsets are counted while it is
 * Ongoing or Prepare* (txn_t.indexed says whether they are): every change
 * of its offsets uncounts them first (pend_count 0) and counts them again
 * after (pend_sync); a completion uncounts them before dropping them. The
 * index is memory only, rebuilt by replay.
 *
 * A timer (TXN_TICK_MS) aborts transactions Ongoing for longer than their
 * timeout, retries completions whose markers could not be written, forgets
 * ids idle for longer than transactional.id.expiration.ms (txn_expire),
 * and repairs partitions as above. Loop thread only.
 */
#include "broker/txn.h"
#include "broker/group.h"
#include "broker/partition.h"
#include "broker/topic.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/map.h"
#include "core/rd.h"
#include "core/time.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC_STATE 1
#define REC_FORGET 2

typedef struct tp {
	char *topic;
	int32_t partition;
} tp_t;

typedef struct off {
	char *group;
	char *topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	char *meta; /* NULL: null */
} off_t_;

/* A decision's marker: where it went, at which offset, which decision. */
typedef struct mark {
	char *topic;
	int32_t partition;
	int64_t offset;
	int commit;
} mark_t;

typedef struct txn {
	char *id;
	int64_t pid;
	int16_t epoch;
	int32_t timeout_ms;
	int state;
	int last_commit;
	tp_t *tps;
	int ntp, captp;
	off_t_ *offs;
	int noff, capoff;
	mark_t *marks; /* markers not yet known durable (prune_marks) */
	int nmark, capmark;
	int64_t updated_wall_ms; /* its last journaled change (Kafka's txnLastUpdateTimestamp) */
	int64_t started_ms;      /* monotonic: when it became Ongoing */
	int64_t started_wall_ms; /* the same on the wall clock (Describe); -1 none */
	int completing;          /* a Prepare* waits for its sync */
	int indexed;             /* its offsets are counted in txn_coord.pending */
	uint64_t rec_bytes;      /* its last record, garbage once replaced */
} txn_t;

struct end_ctx;

struct txn_coord {
	broker_t *b;
	jrnl_t *j; /* NULL until the first transactional id (open_journal) */
	jrnl_opts_t jopts;
	dur_t *dur;
	dur_mem_t *mem;
	map_t txns;    /* id -> txn_t* */
	map_t pending; /* pend_key(group, topic, partition) -> count (as a pointer) */
	loop_timer_t tick;
	struct end_ctx *inflight; /* completions waiting for their sync */
	uint64_t replay_garbage;
	int64_t expire_ms; /* transactional.id.expiration.ms */
};

typedef struct end_ctx {
	struct end_ctx *next;
	txn_coord_t *tc; /* NULL once the coordinator closed */
	char *id;
	int16_t epoch;
	int commit;
	txn_end_cb cb; /* NULL: no one waits (timeout, recovery) */
	void *arg;
} end_ctx_t;

/* --- memory ----------------------------------------------------------------------- */

static void txn_clear(txn_t *t)
{
	for (int i = 0; i < t->ntp; i++)
		free(t->tps[i].topic);
	for (int i = 0; i < t->noff; i++) {
		free(t->offs[i].group);
		free(t->offs[i].topic);
		free(t->offs[i].meta);
	}
	t->ntp = 0;
	t->noff = 0;
}

static void marks_clear(txn_t *t)
{
	for (int i = 0; i < t->nmark; i++)
		free(t->marks[i].topic);
	t->nmark = 0;
}

static void txn_free(txn_t *t)
{
	txn_clear(t);
	marks_clear(t);
	free(t->marks);
	free(t->tps);
	free(t->offs);
	free(t->id);
	free(t);
}

static char *dupn(const char *p, int32_t n)
{
	char *s = malloc((size_t)n + 1);
	if (!s)
		abort();
	if (n > 0)
		memcpy(s, p, (size_t)n);
	s[n] = 0;
	return s;
}

static txn_t *find(const txn_coord_t *tc, const char *id, int32_t len)
{
	return map_get(&tc->txns, id, (size_t)len);
}

static txn_t *create(txn_coord_t *tc, const char *id, int32_t len)
{
	txn_t *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	t->id = dupn(id, len);
	t->pid = -1;
	t->epoch = -1;
	t->started_wall_ms = -1;
	t->updated_wall_ms = time_wall_ms();
	map_put(&tc->txns, t->id, (size_t)len, t);
	return t;
}

static void add_tp(txn_t *t, const char *topic, int32_t tlen, int32_t partition)
{
	for (int i = 0; i < t->ntp; i++)
		if (t->tps[i].partition == partition && (int32_t)strlen(t->tps[i].topic) == tlen &&
		    memcmp(t->tps[i].topic, topic, (size_t)tlen) == 0)
			return;
	if (t->ntp == t->captp) {
		t->captp = t->captp ? t->captp * 2 : 4;
		t->tps = realloc(t->tps, (size_t)t->captp * sizeof *t->tps);
		if (!t->tps)
			abort();
	}
	t->tps[t->ntp++] = (tp_t){dupn(topic, tlen), partition};
}

static void add_off(txn_t *t, const char *group, int32_t glen, const txn_off_t *o)
{
	off_t_ *d = NULL;
	for (int i = 0; i < t->noff && !d; i++)
		if (t->offs[i].partition == o->partition &&
		    (int32_t)strlen(t->offs[i].group) == glen &&
		    memcmp(t->offs[i].group, group, (size_t)glen) == 0 &&
		    (int32_t)strlen(t->offs[i].topic) == o->topic_len &&
		    memcmp(t->offs[i].topic, o->topic, (size_t)o->topic_len) == 0)
			d = &t->offs[i];
	if (d) {
		free(d->meta);
	} else {
		if (t->noff == t->capoff) {
			t->capoff = t->capoff ? t->capoff * 2 : 4;
			t->offs = realloc(t->offs, (size_t)t->capoff * sizeof *t->offs);
			if (!t->offs)
				abort();
		}
		d = &t->offs[t->noff++];
		d->group = dupn(group, glen);
		d->topic = dupn(o->topic, o->topic_len);
		d->partition = o->partition;
	}
	d->offset = o->offset;
	d->leader_epoch = o->leader_epoch;
	d->meta = o->meta_len >= 0 ? dupn(o->meta, o->meta_len) : NULL;
}

static mark_t *mark_of(txn_t *t, const char *topic, int32_t partition)
{
	for (int i = 0; i < t->nmark; i++)
		if (t->marks[i].partition == partition && strcmp(t->marks[i].topic, topic) == 0)
			return &t->marks[i];
	return NULL;
}

/* Remembers (or moves) the marker a decision wrote to a partition. */
static void add_mark(txn_t *t, const char *topic, int32_t partition, int64_t offset, int commit)
{
	mark_t *m = mark_of(t, topic, partition);
	if (m) {
		m->offset = offset;
		m->commit = commit;
		return;
	}
	if (t->nmark == t->capmark) {
		t->capmark = t->capmark ? t->capmark * 2 : 4;
		t->marks = realloc(t->marks, (size_t)t->capmark * sizeof *t->marks);
		if (!t->marks)
			abort();
	}
	t->marks[t->nmark++] =
	    (mark_t){dupn(topic, (int32_t)strlen(topic)), partition, offset, commit};
}

/* --- pending offsets (KIP-447) ----------------------------------------------------- */

static int is_open(const txn_t *t)
{
	return t->state == TXN_ONGOING || t->state == TXN_PREPARE_COMMIT ||
	       t->state == TXN_PREPARE_ABORT;
}

/* The index key: u16 lengths before the group and the topic, so that no
 * byte of a group id (any string) can make two keys alike. Returns its
 * length; *key is buf, or allocated (caller frees) when buf is short. */
static size_t pend_key(char *buf, size_t cap, char **key, const char *group, size_t glen,
                       const char *topic, size_t tlen, int32_t partition)
{
	size_t n = 2 + glen + 2 + tlen + 4;
	char *k = buf;
	if (n > cap && !(k = malloc(n)))
		abort();
	be16_store((uint8_t *)k, (uint16_t)glen);
	memcpy(k + 2, group, glen);
	be16_store((uint8_t *)k + 2 + glen, (uint16_t)tlen);
	memcpy(k + 4 + glen, topic, tlen);
	be32_store((uint8_t *)k + 4 + glen + tlen, (uint32_t)partition);
	*key = k;
	return n;
}

static void pend_adjust(txn_coord_t *tc, const off_t_ *o, int up)
{
	char buf[256], *k;
	size_t kl = pend_key(buf, sizeof buf, &k, o->group, strlen(o->group), o->topic,
	                     strlen(o->topic), o->partition);
	uintptr_t n = (uintptr_t)map_get(&tc->pending, k, kl);
	n = up ? n + 1 : n - 1;
	if (n)
		map_put(&tc->pending, k, kl, (void *)n);
	else
		map_del(&tc->pending, k, kl);
	if (k != buf)
		free(k);
}

/* Counts (on) or uncounts t's offsets in the index, once. */
static void pend_count(txn_coord_t *tc, txn_t *t, int on)
{
	if (t->indexed == on)
		return;
	for (int i = 0; i < t->noff; i++)
		pend_adjust(tc, &t->offs[i], on);
	t->indexed = on;
}

/* After a change of t's state or offsets: counted exactly while open. */
static void pend_sync(txn_coord_t *tc, txn_t *t)
{
	pend_count(tc, t, is_open(t));
}

int txn_pending_offset(const txn_coord_t *tc, const char *group, int32_t glen, const char *topic,
                       int32_t tlen, int32_t partition)
{
	if (!tc || glen < 0 || tlen < 0 || glen > UINT16_MAX || tlen > UINT16_MAX ||
	    map_len(&tc->pending) == 0)
		return 0;
	char buf[256], *k;
	size_t kl =
	    pend_key(buf, sizeof buf, &k, group, (size_t)glen, topic, (size_t)tlen, partition);
	int found = map_get(&tc->pending, k, kl) != NULL;
	if (k != buf)
		free(k);
	return found;
}

/* --- journal ---------------------------------------------------------------------- */

static void w_str(buf_t *b, const char *s)
{
	size_t n = strlen(s);
	uint8_t *p = buf_reserve(b, 2 + n);
	be16_store(p, (uint16_t)n);
	memcpy(p + 2, s, n);
	buf_commit(b, 2 + n);
}

static void w_u(buf_t *b, uint64_t v, int bytes)
{
	uint8_t *p = buf_reserve(b, (size_t)bytes);
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
	buf_commit(b, (size_t)bytes);
}

static void encode(const txn_t *t, buf_t *b)
{
	w_str(b, t->id);
	w_u(b, (uint64_t)t->pid, 8);
	w_u(b, (uint16_t)t->epoch, 2);
	w_u(b, (uint32_t)t->timeout_ms, 4);
	w_u(b, (uint8_t)t->state, 1);
	w_u(b, (uint8_t)t->last_commit, 1);
	w_u(b, (uint32_t)t->ntp, 4);
	for (int i = 0; i < t->ntp; i++) {
		w_str(b, t->tps[i].topic);
		w_u(b, (uint32_t)t->tps[i].partition, 4);
	}
	w_u(b, (uint32_t)t->noff, 4);
	for (int i = 0; i < t->noff; i++) {
		const off_t_ *o = &t->offs[i];
		w_str(b, o->group);
		w_str(b, o->topic);
		w_u(b, (uint32_t)o->partition, 4);
		w_u(b, (uint64_t)o->offset, 8);
		w_u(b, (uint32_t)o->leader_epoch, 4);
		if (o->meta) {
			size_t n = strlen(o->meta);
			w_u(b, (uint32_t)n, 4);
			buf_append(b, o->meta, n);
		} else {
			w_u(b, (uint32_t)-1, 4);
		}
	}
	w_u(b, (uint32_t)t->nmark, 4);
	for (int i = 0; i < t->nmark; i++) {
		w_str(b, t->marks[i].topic);
		w_u(b, (uint32_t)t->marks[i].partition, 4);
		w_u(b, (uint64_t)t->marks[i].offset, 8);
		w_u(b, (uint8_t)t->marks[i].commit, 1);
	}
	w_u(b, (uint64_t)t->updated_wall_ms, 8);
}

/* Journals t's current state. Returns 0 or the storage error (memory is
 * the caller's to restore). */
static int open_journal(txn_coord_t *tc);

static partition_t *part_of(txn_coord_t *tc, const char *topic, int32_t index);

/* Drops the markers known durable (below their partition's synced end)
 * or whose partition is gone: the rest may still be lost. */
static void prune_marks(txn_coord_t *tc, txn_t *t)
{
	for (int i = 0; i < t->nmark;) {
		partition_t *p = part_of(tc, t->marks[i].topic, t->marks[i].partition);
		if (p && plog_synced_offset(p->log) <= t->marks[i].offset) {
			i++;
			continue;
		}
		free(t->marks[i].topic);
		t->marks[i] = t->marks[--t->nmark];
	}
}

static int store(txn_coord_t *tc, txn_t *t)
{
	int rc = dur_state(tc->dur);
	if (rc < 0)
		return rc;
	prune_marks(tc, t);
	if (!tc->j && (rc = open_journal(tc)) < 0)
		return rc;
	t->updated_wall_ms = time_wall_ms();
	buf_t b = BUF_INIT;
	encode(t, &b);
	rc = jrnl_append(tc->j, REC_STATE, buf_data(&b), buf_len(&b));
	if (rc == 0) {
		if (t->rec_bytes)
			jrnl_garbage(tc->j, t->rec_bytes);
		t->rec_bytes = jrnl_record_size(buf_len(&b));
	}
	buf_deinit(&b);
	return rc;
}

static char *r_str(rd_t *r)
{
	uint16_t n = rd_be16(r);
	const uint8_t *p = rd_bytes(r, n);
	return r->err ? NULL : dupn((const char *)p, n);
}

static int on_replay(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	txn_coord_t *tc = arg;
	if (type != REC_STATE && type != REC_FORGET)
		return SL_ECORRUPT;
	rd_t r;
	rd_init(&r, payload, len);
	char *id = r_str(&r);
	if (!id)
		return SL_ECORRUPT;
	if (type == REC_FORGET) {
		txn_t *gone = find(tc, id, (int32_t)strlen(id));
		if (gone) {
			tc->replay_garbage += gone->rec_bytes;
			pend_count(tc, gone, 0);
			map_del(&tc->txns, id, strlen(id));
			txn_free(gone);
		}
		free(id);
		/* Garbage at once: compaction writes only the ids kept. */
		tc->replay_garbage += jrnl_record_size(len);
		return 0;
	}
	txn_t *t = find(tc, id, (int32_t)strlen(id));
	if (!t)
		t = create(tc, id, (int32_t)strlen(id));
	else
		tc->replay_garbage += t->rec_bytes;
	free(id);
	pend_count(tc, t, 0);
	txn_clear(t);
	marks_clear(t);
	t->pid = (int64_t)rd_be64(&r);
	t->epoch = (int16_t)rd_be16(&r);
	t->timeout_ms = (int32_t)rd_be32(&r);
	t->state = rd_u8(&r);
	t->last_commit = rd_u8(&r);
	uint32_t ntp = rd_be32(&r);
	for (uint32_t i = 0; i < ntp && !r.err; i++) {
		char *topic = r_str(&r);
		int32_t part = (int32_t)rd_be32(&r);
		if (topic)
			add_tp(t, topic, (int32_t)strlen(topic), part);
		free(topic);
	}
	uint32_t noff = rd_be32(&r);
	for (uint32_t i = 0; i < noff && !r.err; i++) {
		char *group = r_str(&r);
		char *topic = r_str(&r);
		txn_off_t o = {topic, topic ? (int32_t)strlen(topic) : 0, 0, 0, 0, NULL, -1};
		o.partition = (int32_t)rd_be32(&r);
		o.offset = (int64_t)rd_be64(&r);
		o.leader_epoch = (int32_t)rd_be32(&r);
		o.meta_len = (int32_t)rd_be32(&r);
		if (o.meta_len >= 0)
			o.meta = (const char *)rd_bytes(&r, (size_t)o.meta_len);
		if (!r.err && group && topic)
			add_off(t, group, (int32_t)strlen(group), &o);
		free(group);
		free(topic);
	}
	/* The markers of the last decision: absent from older records. */
	uint32_t nmark = !r.err && rd_left(&r) > 0 ? rd_be32(&r) : 0;
	for (uint32_t i = 0; i < nmark && !r.err; i++) {
		char *topic = r_str(&r);
		int32_t part = (int32_t)rd_be32(&r);
		int64_t off = (int64_t)rd_be64(&r);
		int commit = rd_u8(&r);
		if (topic)
			add_mark(t, topic, part, off, commit);
		free(topic);
	}
	/* Older records have no time: the expiration counts from now. */
	t->updated_wall_ms = !r.err && rd_left(&r) >= 8 ? (int64_t)rd_be64(&r) : time_wall_ms();
	pend_sync(tc, t);
	if (r.err || t->state > TXN_COMPLETE_ABORT)
		return SL_ECORRUPT;
	t->rec_bytes = jrnl_record_size(len);
	t->completing = 0;
	t->started_ms = time_mono_ms();
	return 0;
}

static int snapshot(void *arg, jrnl_t *j)
{
	txn_coord_t *tc = arg;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&tc->txns, &it, &k, &kl, &v)) {
		txn_t *t = v;
		buf_t b = BUF_INIT;
		encode(t, &b);
		int rc = jrnl_append(j, REC_STATE, buf_data(&b), buf_len(&b));
		t->rec_bytes = jrnl_record_size(buf_len(&b));
		buf_deinit(&b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void on_idle(void *arg)
{
	txn_coord_t *tc = arg;
	if (!tc->j)
		return;
	int rc = jrnl_maybe_compact(tc->j, snapshot, tc);
	if (rc)
		log_error(tc->b->log, "txn: journal compaction failed: %s", sl_strerror(rc));
}

static void clear_all(txn_coord_t *tc)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&tc->txns, &it, &k, &kl, &v))
		txn_free(v);
	map_deinit(&tc->txns);
	map_init(&tc->txns);
	map_deinit(&tc->pending); /* counts only: nothing to free */
	map_init(&tc->pending);
}

/* The domain cut the journal back: what is on disk is the state. The tick
 * then finishes what the cut left Ongoing or Prepare*. */
static int reload(void *arg)
{
	txn_coord_t *tc = arg;
	if (!tc->j)
		return 0;
	clear_all(tc);
	tc->replay_garbage = 0;
	int rc = jrnl_replay(tc->j, on_replay, tc);
	if (rc < 0)
		return rc;
	jrnl_garbage(tc->j, tc->replay_garbage);
	tc->replay_garbage = 0;
	log_warn(tc->b->log, "txn: %zu transactional ids rebuilt from the journal",
	         map_len(&tc->txns));
	return 0;
}

/* --- ending ------------------------------------------------------------------------ */

static partition_t *part_of(txn_coord_t *tc, const char *topic, int32_t index)
{
	topic_t *t = topics_find(tc->b->topics, topic, strlen(topic));
	if (!t || index < 0 || index >= t->npart)
		return NULL;
	return t->parts[index];
}

static void marker_synced(void *arg, int status)
{
	/* A failure is the partition's domain's to handle (it cuts the log
	 * back; the tick then writes the marker again). */
	(void)arg;
	(void)status;
}

/* Step 2 and 3 of a Prepare*: markers, offsets, Complete. Fills the
 * domains to wait for when doms is given (caller frees): the groups' when
 * offsets were applied (nothing else would make them durable; the
 * markers' syncs are started here and listed in the id's records).
 * Returns 0, or the storage error when a marker could not be written (the
 * transaction stays Prepare*: the tick retries). */
static int finish(txn_coord_t *tc, txn_t *t, dur_t ***doms, int *ndoms)
{
	int commit = t->state == TXN_PREPARE_COMMIT;
	int n = 0;
	dur_t **d = calloc((size_t)t->ntp + 2, sizeof *d);
	if (!d)
		abort();
	int rc = 0;
	for (int i = 0; i < t->ntp; i++) {
		partition_t *p = part_of(tc, t->tps[i].topic, t->tps[i].partition);
		if (!p)
			continue; /* deleted meanwhile: nothing left to mark */
		int wrote = 0;
		int64_t at = plog_end_offset(p->log);
		int prc = partition_append_marker(p, t->pid, t->epoch, commit, &wrote);
		if (prc < 0) {
			log_warn(tc->b->log, "txn: %s: marker for %s-%d not written: %s", t->id,
			         t->tps[i].topic, (int)t->tps[i].partition, sl_strerror(prc));
			rc = prc;
			continue;
		}
		if (wrote) {
			/* Its sync starts now; nothing waits for it (a lost
			 * marker is written again from the list: redo_mark). */
			plog_when_durable(p->log, plog_end_offset(p->log), marker_synced, NULL);
			add_mark(t, t->tps[i].topic, t->tps[i].partition, at, commit);
		}
	}
	if (rc == 0 && commit && t->noff > 0) {
		for (int i = 0; i < t->noff; i++) {
			grp_commit_part_t gp;
			memset(&gp, 0, sizeof gp);
			gp.topic = grp_s(t->offs[i].topic);
			gp.partition = t->offs[i].partition;
			gp.offset = t->offs[i].offset;
			gp.leader_epoch = t->offs[i].leader_epoch;
			gp.metadata = grp_s(t->offs[i].meta);
			grp_offset_commit_txn(tc->b->groups, grp_s(t->offs[i].group), &gp, 1);
			if (gp.err != GRP_ERR_OK)
				log_warn(tc->b->log, "txn: %s: offset of group %s not applied (%s)",
				         t->id, t->offs[i].group, grp_err_name(gp.err));
		}
		d[n++] = grp_coord_dur(tc->b->groups);
	}
	if (rc == 0) {
		int old = t->state;
		t->state = commit ? TXN_COMPLETE_COMMIT : TXN_COMPLETE_ABORT;
		t->last_commit = commit;
		rc = store(tc, t);
		if (rc < 0) {
			t->state = old; /* the tick writes Complete again */
		} else {
			/* Complete needs no wait: Prepare is durable, and the
			 * record rides on the id's next sync. The offsets are
			 * the group's now (or dropped): stable. */
			pend_count(tc, t, 0);
			txn_clear(t);
		}
	}
	if (doms && rc == 0) {
		*doms = d;
		*ndoms = n;
	} else {
		free(d);
	}
	return rc;
}

static void on_prepared(void *arg, int status)
{
	end_ctx_t *x = arg;
	txn_coord_t *tc = x->tc;
	txn_done_t done = {TXN_ERR_STORAGE, NULL, 0};
	if (tc) {
		for (end_ctx_t **pp = &tc->inflight; *pp; pp = &(*pp)->next)
			if (*pp == x) {
				*pp = x->next;
				break;
			}
		txn_t *t = find(tc, x->id, (int32_t)strlen(x->id));
		int want = x->commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT;
		if (t && t->epoch == x->epoch && t->state == want) {
			t->completing = 0;
			if (status < 0)
				t->state = TXN_ONGOING; /* not durable: undecided (reload agrees) */
			else if (finish(tc, t, &done.doms, &done.ndoms) == 0)
				done.err = TXN_OK;
		}
		if (x->cb)
			x->cb(x->arg, &done);
	}
	free(done.doms);
	free(x->id);
	free(x);
}

/* Step 1: journal the decision, wait for its sync. bump: the epoch is
 * raised first (an abort that fences the producer: timeout, new instance). */
static int complete(txn_coord_t *tc, txn_t *t, int commit, int bump, txn_end_cb cb, void *arg)
{
	int old_state = t->state;
	int16_t old_epoch = t->epoch;
	t->state = commit ? TXN_PREPARE_COMMIT : TXN_PREPARE_ABORT;
	if (bump && t->epoch < INT16_MAX - 1)
		t->epoch++;
	int rc = store(tc, t);
	if (rc < 0) {
		t->state = old_state;
		t->epoch = old_epoch;
		return rc;
	}
	end_ctx_t *x = calloc(1, sizeof *x);
	if (!x)
		abort();
	x->tc = tc;
	x->id = dupn(t->id, (int32_t)strlen(t->id));
	x->epoch = t->epoch;
	x->commit = commit;
	x->cb = cb;
	x->arg = arg;
	x->next = tc->inflight;
	tc->inflight = x;
	t->completing = 1;
	jrnl_when_durable(tc->j, on_prepared, x);
	return 0;
}

/* A decision's marker on p may have been lost (crash, a failed sync)
 * while the decision is durable: the producer's open transaction there
 * began before it. Writes it again; returns whether p was such a case. */
static int redo_mark(txn_coord_t *tc, txn_t *t, partition_t *p, const char *topic)
{
	const mark_t *m = mark_of(t, topic, p->index);
	int64_t first = partition_txn_first(p, t->pid);
	if (!m || first < 0 || first >= m->offset)
		return 0;
	int wrote = 0;
	(void)partition_append_marker(p, t->pid, t->epoch, m->commit, &wrote);
	if (wrote)
		log_warn(tc->b->log, "txn: %s: lost %s marker written again to %s-%d", t->id,
		         m->commit ? "commit" : "abort", topic, (int)p->index);
	return 1;
}

/* Every marker of t that may have been lost (recovery, before anything
 * else is decided for t). */
static void redo_marks(txn_coord_t *tc, txn_t *t)
{
	for (int i = 0; i < t->nmark; i++) {
		partition_t *p = part_of(tc, t->marks[i].topic, t->marks[i].partition);
		if (p)
			(void)redo_mark(tc, t, p, t->marks[i].topic);
	}
}

/* A partition holds an open transaction of pid: unless pid's transaction
 * is Ongoing with this partition, write the last decision's marker; a
 * producer no transactional id knows (its journal was lost) is aborted at
 * its current epoch, so that the partition's last stable offset moves on. */
static void repair(txn_coord_t *tc, partition_t *p, const char *topic, int64_t pid)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	int wrote;
	while (map_next(&tc->txns, &it, &k, &kl, &v)) {
		txn_t *t = v;
		if (t->pid != pid)
			continue;
		if (redo_mark(tc, t, p, topic))
			return;
		if (t->completing || t->state == TXN_PREPARE_COMMIT ||
		    t->state == TXN_PREPARE_ABORT)
			return;
		if (t->state == TXN_ONGOING)
			for (int i = 0; i < t->ntp; i++)
				if (t->tps[i].partition == p->index &&
				    strcmp(t->tps[i].topic, topic) == 0)
					return;
		(void)partition_append_marker(p, pid, t->epoch, t->last_commit, &wrote);
		if (wrote)
			log_warn(tc->b->log, "txn: %s: %s marker written again to %s-%d", t->id,
			         t->last_commit ? "commit" : "abort", topic, (int)p->index);
		return;
	}
	int16_t epoch;
	if (pstate_epoch(&p->pstate, pid, &epoch) < 0)
		return;
	(void)partition_append_marker(p, pid, epoch, 0, &wrote);
	if (wrote)
		log_warn(tc->b->log,
		         "txn: %s-%d: open transaction of producer %lld, unknown to the "
		         "coordinator, aborted",
		         topic, (int)p->index, (long long)pid);
}

static void on_tick(loop_t *loop, loop_timer_t *tm)
{
	txn_coord_t *tc = tm->arg;
	int64_t now = time_mono_ms();
	if (dur_state(tc->dur) < 0) {
		/* Recovering: the state in memory is about to be replaced. */
		loop_timer_start(loop, tm, TXN_TICK_MS);
		return;
	}
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&tc->txns, &it, &k, &kl, &v)) {
		txn_t *t = v;
		if (t->completing)
			continue;
		if (t->state == TXN_ONGOING && now - t->started_ms > t->timeout_ms) {
			log_info(tc->b->log, "txn: %s timed out after %d ms: aborting", t->id,
			         (int)t->timeout_ms);
			(void)complete(tc, t, 0, 1, NULL, NULL);
		} else if (t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT) {
			(void)finish(tc, t, NULL, NULL);
		}
	}
	(void)txn_expire(tc, time_wall_ms());
	size_t ti = 0;
	topic_t *tp;
	while ((tp = topics_next(tc->b->topics, &ti)))
		for (int32_t i = 0; i < tp->npart; i++) {
			partition_t *p = tp->parts[i];
			for (int j = p->ntopen - 1; j >= 0; j--)
				if (j < p->ntopen)
					repair(tc, p, tp->name, p->topen[j].pid);
		}
	loop_timer_start(loop, tm, TXN_TICK_MS);
}

/* --- API ----------------------------------------------------------------------------- */

static txn_err_t err_of(int rc)
{
	(void)rc;
	return TXN_ERR_STORAGE;
}

/* The producer's credentials against the id's current ones. */
static txn_err_t check(const txn_t *t, int64_t pid, int16_t epoch)
{
	if (!t || t->pid < 0)
		return TXN_ERR_INVALID_MAPPING;
	if (t->pid != pid)
		return TXN_ERR_INVALID_MAPPING;
	if (epoch < t->epoch)
		return TXN_ERR_FENCED;
	if (epoch > t->epoch)
		return TXN_ERR_INVALID_EPOCH;
	return TXN_OK;
}

/* The journal keeps names with u16 lengths; a flexible request's compact
 * string may be longer than any Kafka string (Kafka refuses more than
 * 32767 bytes when it parses the request), so longer ones are refused
 * before they are kept. */
static int too_long(int32_t len)
{
	return len > INT16_MAX;
}

txn_err_t txn_init_pid(txn_coord_t *tc, const char *id, int32_t idlen, int32_t timeout_ms,
                       int64_t cur_pid, int16_t cur_epoch, int64_t *pid, int16_t *epoch)
{
	*pid = -1;
	*epoch = -1;
	if (too_long(idlen))
		return TXN_ERR_INVALID_REQUEST;
	if (timeout_ms <= 0 || timeout_ms > TXN_MAX_TIMEOUT_MS)
		return TXN_ERR_INVALID_TIMEOUT;
	txn_t *t = find(tc, id, idlen);
	if (t && cur_pid >= 0 && (cur_pid != t->pid || cur_epoch != t->epoch))
		return cur_pid == t->pid && cur_epoch < t->epoch ? TXN_ERR_FENCED
		                                                 : TXN_ERR_INVALID_MAPPING;
	if (t && (t->completing || t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT))
		return TXN_ERR_CONCURRENT;
	if (t && t->state == TXN_ONGOING) {
		/* A new instance: abort what the old one left open, fencing it. */
		return complete(tc, t, 0, 1, NULL, NULL) < 0 ? TXN_ERR_STORAGE : TXN_ERR_CONCURRENT;
	}
	int fresh = !t;
	if (!t)
		t = create(tc, id, idlen);
	int64_t opid = t->pid;
	int16_t oepoch = t->epoch;
	int32_t otimeout = t->timeout_ms;
	int ostate = t->state;
	if (t->pid < 0 || t->epoch >= INT16_MAX - 2) {
		int64_t np;
		if (topics_next_producer_id(tc->b->topics, &np) < 0)
			goto fail;
		t->pid = np;
		t->epoch = 0;
	} else {
		t->epoch++;
	}
	t->timeout_ms = timeout_ms;
	t->state = TXN_EMPTY;
	if (store(tc, t) < 0)
		goto fail;
	*pid = t->pid;
	*epoch = t->epoch;
	return TXN_OK;
fail:
	if (fresh) {
		map_del(&tc->txns, id, (size_t)idlen);
		txn_free(t);
	} else {
		t->pid = opid;
		t->epoch = oepoch;
		t->timeout_ms = otimeout;
		t->state = ostate;
	}
	return TXN_ERR_STORAGE;
}

/* A transaction may take more partitions or offsets: Ongoing, or Empty /
 * Complete* (it begins). */
static txn_err_t can_add(const txn_t *t)
{
	if (t->completing || t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT)
		return TXN_ERR_CONCURRENT;
	return TXN_OK;
}

static void begin(txn_t *t)
{
	if (t->state != TXN_ONGOING) {
		txn_clear(t);
		t->state = TXN_ONGOING;
		t->started_ms = time_mono_ms();
		t->started_wall_ms = time_wall_ms();
	}
}

txn_err_t txn_add_partitions(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                             int16_t epoch, const txn_tp_t *tps, int n, txn_err_t *errs)
{
	txn_t *t = find(tc, id, idlen);
	txn_err_t e = check(t, pid, epoch);
	if (!e)
		e = can_add(t);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		errs[i] = e;
		if (!e) {
			topic_t *tp =
			    topics_find(tc->b->topics, tps[i].topic, (size_t)tps[i].topic_len);
			if (!tp || tps[i].partition < 0 || tps[i].partition >= tp->npart) {
				errs[i] = TXN_ERR_UNKNOWN_PARTITION;
				bad = 1;
			}
		}
	}
	if (e)
		return e;
	if (bad) {
		/* As Kafka: all or nothing; the others get OPERATION_NOT_ATTEMPTED. */
		for (int i = 0; i < n; i++)
			if (!errs[i])
				errs[i] = (txn_err_t)55;
		return TXN_OK;
	}
	int ostate = t->state;
	int ontp = t->ntp;
	int64_t ostarted = t->started_ms;
	begin(t);
	int was_ongoing = ostate == TXN_ONGOING;
	int before = t->ntp;
	for (int i = 0; i < n; i++)
		add_tp(t, tps[i].topic, tps[i].topic_len, tps[i].partition);
	if (t->ntp == before && was_ongoing)
		return TXN_OK; /* nothing new */
	if (store(tc, t) < 0) {
		for (int i = was_ongoing ? ontp : 0; i < t->ntp; i++)
			free(t->tps[i].topic);
		t->ntp = was_ongoing ? ontp : 0;
		t->state = ostate;
		t->started_ms = ostarted;
		for (int i = 0; i < n; i++)
			errs[i] = TXN_ERR_STORAGE;
		return TXN_ERR_STORAGE;
	}
	return TXN_OK;
}

void txn_verify_partitions(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                           int16_t epoch, const txn_tp_t *tps, int n, txn_err_t *errs)
{
	txn_t *t = find(tc, id, idlen);
	txn_err_t e = check(t, pid, epoch);
	for (int i = 0; i < n; i++) {
		errs[i] = e ? e : TXN_ERR_INVALID_STATE;
		for (int j = 0; !e && t->state == TXN_ONGOING && j < t->ntp; j++)
			if (t->tps[j].partition == tps[i].partition &&
			    (int32_t)strlen(t->tps[j].topic) == tps[i].topic_len &&
			    memcmp(t->tps[j].topic, tps[i].topic, (size_t)tps[i].topic_len) == 0)
				errs[i] = TXN_OK;
	}
}

txn_err_t txn_add_offsets(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                          int16_t epoch, const char *group, int32_t glen)
{
	txn_t *t = find(tc, id, idlen);
	txn_err_t e = check(t, pid, epoch);
	if (!e)
		e = can_add(t);
	if (e)
		return e;
	if (glen <= 0 || !group)
		return TXN_ERR_INVALID_STATE;
	if (t->state == TXN_ONGOING)
		return TXN_OK;
	int ostate = t->state;
	begin(t);
	if (store(tc, t) < 0) {
		t->state = ostate;
		return TXN_ERR_STORAGE;
	}
	return TXN_OK;
}

txn_err_t txn_offset_commit(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                            int16_t epoch, const char *group, int32_t glen, const txn_off_t *offs,
                            int n)
{
	txn_t *t = find(tc, id, idlen);
	txn_err_t e = check(t, pid, epoch);
	if (!e)
		e = can_add(t);
	if (e)
		return e;
	if (t->state != TXN_ONGOING)
		return TXN_ERR_INVALID_STATE; /* AddOffsetsToTxn comes first */
	for (int i = 0; i < n; i++)
		if (too_long(glen) || too_long(offs[i].topic_len))
			return TXN_ERR_INVALID_REQUEST;
	/* Offsets replace earlier ones of the same partition: keep a copy of
	 * the list to restore should the record not be written. */
	int onoff = t->noff;
	off_t_ *saved = NULL;
	if (onoff) {
		saved = malloc((size_t)onoff * sizeof *saved);
		if (!saved)
			abort();
		for (int i = 0; i < onoff; i++) {
			saved[i] = t->offs[i];
			saved[i].group = dupn(t->offs[i].group, (int32_t)strlen(t->offs[i].group));
			saved[i].topic = dupn(t->offs[i].topic, (int32_t)strlen(t->offs[i].topic));
			saved[i].meta = t->offs[i].meta ? dupn(t->offs[i].meta,
			                                       (int32_t)strlen(t->offs[i].meta))
			                                : NULL;
		}
	}
	pend_count(tc, t, 0);
	for (int i = 0; i < n; i++)
		add_off(t, group, glen, &offs[i]);
	int rc = store(tc, t);
	if (rc < 0) {
		for (int i = 0; i < t->noff; i++) {
			free(t->offs[i].group);
			free(t->offs[i].topic);
			free(t->offs[i].meta);
		}
		for (int i = 0; i < onoff; i++)
			t->offs[i] = saved[i];
		t->noff = onoff;
		free(saved);
		pend_sync(tc, t);
		return err_of(rc);
	}
	pend_sync(tc, t);
	for (int i = 0; i < onoff; i++) {
		free(saved[i].group);
		free(saved[i].topic);
		free(saved[i].meta);
	}
	free(saved);
	return TXN_OK;
}

txn_err_t txn_end(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid, int16_t epoch,
                  int commit, txn_end_cb cb, void *arg)
{
	txn_t *t = find(tc, id, idlen);
	txn_err_t e = check(t, pid, epoch);
	if (e)
		return e;
	if (t->completing || t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT)
		return TXN_ERR_CONCURRENT;
	if (t->state != TXN_ONGOING) {
		/* A retry of an end that completed, or an end with nothing
		 * begun (librdkafka aborts an empty transaction locally). */
		if ((t->state == TXN_COMPLETE_COMMIT && commit) ||
		    (t->state == TXN_COMPLETE_ABORT && !commit) || t->state == TXN_EMPTY) {
			txn_done_t d = {TXN_OK, NULL, 0};
			dur_t *one = tc->dur;
			d.doms = &one;
			d.ndoms = 1;
			cb(arg, &d);
			return TXN_OK;
		}
		return TXN_ERR_INVALID_STATE;
	}
	return complete(tc, t, commit, 0, cb, arg) < 0 ? TXN_ERR_STORAGE : TXN_OK;
}

/* --- expiration (transactional.id.expiration.ms) ------------------------------------ */

static void forget_synced(void *arg, int status)
{
	/* Nothing waits: a tombstone lost in a crash is written again at the
	 * next expiration pass after the restart. */
	(void)arg;
	(void)status;
}

/* Journals the tombstone of t and drops t. */
static int forget(txn_coord_t *tc, txn_t *t, int64_t idle_ms)
{
	buf_t b = BUF_INIT;
	w_str(&b, t->id);
	int rc = jrnl_append(tc->j, REC_FORGET, buf_data(&b), buf_len(&b));
	if (rc == 0) {
		jrnl_garbage(tc->j, t->rec_bytes + jrnl_record_size(buf_len(&b)));
		log_info(tc->b->log,
		         "txn: %s expired after %lld ms without a transaction: forgotten", t->id,
		         (long long)idle_ms);
		pend_count(tc, t, 0);
		map_del(&tc->txns, t->id, strlen(t->id));
		txn_free(t);
	}
	buf_deinit(&b);
	return rc;
}

size_t txn_expire(txn_coord_t *tc, int64_t now_wall_ms)
{
	if (!tc->j || dur_state(tc->dur) < 0)
		return 0;
	txn_t **old = NULL;
	size_t n = 0, cap = 0, done = 0;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&tc->txns, &it, &k, &kl, &v)) {
		txn_t *t = v;
		if (t->completing || is_open(t) || now_wall_ms - t->updated_wall_ms < tc->expire_ms)
			continue;
		/* Its list of markers not yet durable is what would write a
		 * lost one again: kept until they are. */
		prune_marks(tc, t);
		if (t->nmark)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			old = realloc(old, cap * sizeof *old);
			if (!old)
				abort();
		}
		old[n++] = t;
	}
	for (size_t i = 0; i < n; i++)
		if (forget(tc, old[i], now_wall_ms - old[i]->updated_wall_ms) == 0)
			done++;
	free(old);
	if (done)
		jrnl_when_durable(tc->j, forget_synced, NULL);
	return done;
}

/* --- inspection (DescribeTransactions, ListTransactions) ---------------------------- */

static const char *const state_names[] = {"Empty",        "Ongoing",        "PrepareCommit",
                                          "PrepareAbort", "CompleteCommit", "CompleteAbort"};

const char *txn_state_name(int state)
{
	return state >= 0 && state <= TXN_COMPLETE_ABORT ? state_names[state] : "Dead";
}

int txn_state_parse(const char *name, int32_t len)
{
	for (int i = 0; i <= TXN_COMPLETE_ABORT; i++)
		if ((int32_t)strlen(state_names[i]) == len &&
		    memcmp(state_names[i], name, (size_t)len) == 0)
			return i;
	return -1;
}

static void info_of(const txn_t *t, txn_info_t *out)
{
	out->id = t->id;
	out->pid = t->pid;
	out->epoch = t->epoch;
	out->timeout_ms = t->timeout_ms;
	/* A decision whose sync is pending is already Prepare* in memory. */
	out->state = t->state;
	out->start_ms = t->started_wall_ms;
	out->ntp = t->ntp;
	out->tps = NULL;
}

int txn_describe(txn_coord_t *tc, const char *id, int32_t idlen, txn_info_t *out)
{
	txn_t *t = find(tc, id, idlen);
	if (!t)
		return -1;
	info_of(t, out);
	txn_tp_t *tps = calloc((size_t)t->ntp + 1, sizeof *tps);
	if (!tps)
		abort();
	for (int i = 0; i < t->ntp; i++)
		tps[i] = (txn_tp_t){t->tps[i].topic, (int32_t)strlen(t->tps[i].topic),
		                    t->tps[i].partition};
	out->tps = tps;
	return 0;
}

void txn_info_release(txn_info_t *info)
{
	free((void *)info->tps);
	info->tps = NULL;
}

void txn_each(txn_coord_t *tc, void (*cb)(void *arg, const txn_info_t *info), void *arg)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&tc->txns, &it, &k, &kl, &v)) {
		txn_info_t info;
		info_of(v, &info);
		cb(arg, &info);
	}
}

/* --- open / close -------------------------------------------------------------------- */

/* Opens (creating) txn.journal, replaying it, and makes it the domain's
 * member. */
static int open_journal(txn_coord_t *tc)
{
	broker_t *b = tc->b;
	int rc = jrnl_open(&tc->j, b->loop, b->syncer, b->log, b->data_dir, "txn", &tc->jopts,
	                   on_replay, tc);
	if (rc < 0) {
		log_error(b->log, "txn: cannot open %s/txn.journal: %s", b->data_dir,
		          sl_strerror(rc));
		tc->j = NULL;
		return rc;
	}
	jrnl_garbage(tc->j, tc->replay_garbage);
	tc->replay_garbage = 0;
	tc->mem = dur_add_jrnl(tc->dur, tc->j);
	return 0;
}

int txn_open(txn_coord_t **out, broker_t *b)
{
	txn_coord_t *tc = calloc(1, sizeof *tc);
	if (!tc)
		abort();
	tc->b = b;
	map_init(&tc->txns);
	map_init(&tc->pending);
	jrnl_opts_t *o = &tc->jopts;
	o->fsync = b->cfg->fsync;
	o->compact_ratio_pct = b->cfg->journal_compact_ratio;
	o->compact_min_bytes = b->cfg->journal_compact_min_bytes;
	o->clean_stop = b->clean_start;
	o->strict = b->cfg->strict_recovery;
	o->max_record = 64u * 1024 * 1024;
	tc->expire_ms = b->cfg->transactional_id_expiration_ms;
	dur_hooks_t hooks = {reload, on_idle, tc};
	tc->dur = dur_new(b->loop, b->log, "kafka transactions", b->cfg->fsync, &hooks);
	/* The journal is created with the first transactional id: a broker
	 * that never sees one (most) keeps no file for it. */
	char path[4096];
	snprintf(path, sizeof path, "%s/txn.journal", b->data_dir);
	if (access(path, F_OK) == 0) {
		int rc = open_journal(tc);
		if (rc < 0) {
			dur_free(tc->dur);
			clear_all(tc);
			map_deinit(&tc->txns);
			map_deinit(&tc->pending);
			free(tc);
			return rc;
		}
	}
	/* Recovery: Ongoing ones are aborted, Prepare* ones completed. */
	size_t it = 0, aborted = 0, finished = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&tc->txns, &it, &k, &kl, &v))
		redo_marks(tc, v); /* first: an abort below would close their records */
	it = 0;
	while (map_next(&tc->txns, &it, &k, &kl, &v)) {
		txn_t *t = v;
		if (t->state == TXN_ONGOING) {
			aborted += complete(tc, t, 0, 1, NULL, NULL) == 0;
		} else if (t->state == TXN_PREPARE_COMMIT || t->state == TXN_PREPARE_ABORT) {
			finished += finish(tc, t, NULL, NULL) == 0;
		}
	}
	if (tc->j)
		log_info(b->log,
		         "txn: %zu transactional ids restored from %s/txn.journal (%zu open ones "
		         "aborted, %zu decided ones completed)",
		         map_len(&tc->txns), b->data_dir, aborted, finished);
	loop_timer_init(&tc->tick, on_tick, tc);
	loop_timer_start(b->loop, &tc->tick, TXN_TICK_MS);
	*out = tc;
	return 0;
}

void txn_close(txn_coord_t *tc)
{
	if (!tc)
		return;
	if (loop_timer_armed(&tc->tick))
		loop_timer_stop(tc->b->loop, &tc->tick);
	/* Completions still waiting for their sync: their callbacks run
	 * after the journal closed; the waiters are answered now. */
	while (tc->inflight) {
		end_ctx_t *x = tc->inflight;
		tc->inflight = x->next;
		x->tc = NULL;
		if (x->cb) {
			txn_done_t d = {TXN_ERR_STORAGE, NULL, 0};
			x->cb(x->arg, &d);
		}
	}
	dur_del(tc->dur, tc->mem);
	dur_free(tc->dur);
	if (tc->j)
		jrnl_close(tc->j);
	clear_all(tc);
	map_deinit(&tc->txns);
	map_deinit(&tc->pending);
	free(tc);
}

dur_t *txn_dur(const txn_coord_t *tc)
{
	return tc->dur;
}

size_t txn_busy(const txn_coord_t *tc)
{
	return dur_busy(tc->dur);
}
