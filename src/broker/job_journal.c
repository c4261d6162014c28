/*
 * job_journal.c — the beanstalk job state journal: record layouts, replay
 * and snapshot. Loop thread only.
 *
 * One journal, <data-dir>/beanstalk/jobs.journal (store/journal.h frames:
 * u32 length, u32 crc32c, u8 type, payload). Integers are big-endian.
 *
 *   type 1 PUT    u64 id | u32 pri | u8 state | u64 delay_ns | u64 ttr_ns |
 *                 i64 created_wall_us | i64 deadline_wall_us |
 *                 u32 reserves | u32 timeouts | u32 releases | u32 buries |
 *                 u32 kicks | u8 tube_len | tube | u32 body_len | body
 *   type 2 STATE  u64 id | u8 state | u32 pri | u64 delay_ns |
 *                 i64 deadline_wall_us | u32 × 5 counters (as in PUT)
 *   type 3 DELETE u64 id
 *   type 4 PAUSE  u8 tube_len | tube | u64 pause_ns | i64 unpause_wall_us
 *   type 5 NEXTID u64 next job id
 *
 * state is 0 ready, 2 delayed, 3 buried (a reserved job is written as
 * ready: reservations do not survive a restart, as in beanstalkd). body_len
 * includes the trailing CRLF. Deadlines are wall-clock microseconds so the
 * remaining delay survives a restart; a deadline already past on replay
 * makes the job ready.
 *
 * Recovery rule: records apply in order; PUT creates (or replaces) a job,
 * STATE updates it, DELETE removes it; a STATE or DELETE for an unknown id is
 * ignored (its PUT was compacted away together with it). The next id is one
 * more than the largest id seen or the last NEXTID, whichever is larger.
 *
 * Garbage: a job's PUT and latest STATE record are live; a superseded STATE,
 * a deleted job's records and the DELETE itself, PAUSE and NEXTID records
 * are reported as garbage. A snapshot writes NEXTID, one PUT per live job
 * and one PAUSE per paused tube.
 */
#include "broker/job.h"

#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "core/time.h"
#include "store/journal.h"

#include <stdlib.h>
#include <string.h>

enum { REC_PUT = 1, REC_STATE = 2, REC_DELETE = 3, REC_PAUSE = 4, REC_NEXTID = 5 };
#define FRAME_OVERHEAD 9 /* u32 length + u32 crc + u8 type */
#define PUT_HDR_MAX (8 + 4 + 1 + 8 + 8 + 8 + 8 + 20 + 1 + TUBE_NAME_MAX + 4)

static uint8_t disk_state(const job_t *j)
{
	return j->state == JOB_RESERVED ? JOB_READY : j->state;
}

static int64_t mono_to_wall_us(int64_t mono_ns)
{
	return time_wall_us() + (mono_ns - jobs_now()) / 1000;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	be32_store(p, v);
	return p + 4;
}
static uint8_t *put64(uint8_t *p, uint64_t v)
{
	be64_store(p, v);
	return p + 8;
}

static uint8_t *put_counters(uint8_t *p, const job_t *j)
{
	p = put32(p, j->reserves);
	p = put32(p, j->timeouts);
	p = put32(p, j->releases);
	p = put32(p, j->buries);
	return put32(p, j->kicks);
}

static size_t enc_put(uint8_t *h, const job_t *j)
{
	uint8_t *p = h;
	p = put64(p, j->id);
	p = put32(p, j->pri);
	*p++ = disk_state(j);
	p = put64(p, (uint64_t)j->delay_ns);
	p = put64(p, (uint64_t)j->ttr_ns);
	p = put64(p, (uint64_t)mono_to_wall_us(j->created_ns));
	p = put64(p, (uint64_t)(j->state == JOB_DELAYED ? mono_to_wall_us(j->deadline_ns) : 0));
	p = put_counters(p, j);
	*p++ = (uint8_t)j->tube->name_len;
	memcpy(p, j->tube->name, j->tube->name_len);
	p += j->tube->name_len;
	p = put32(p, j->body_len);
	return (size_t)(p - h);
}

/* The caller checked jobs_writable for these bytes, so the append cannot
 * be refused; should it be anyway, the journal has failed and its domain
 * fails the replies and rebuilds the jobs from disk. */
static void appended(jobs_t *s, int rc)
{
	s->jseq++;
	if (s->loop)
		loop_defer(s->loop, &s->maint_task);
	if (rc < 0)
		log_error(s->log, "beanstalk: journal append refused after the check: %s",
		          sl_strerror(rc));
}

int jobs_j_next_id(jobs_t *s)
{
	if (!s->jr)
		return 0;
	uint8_t h[8];
	put64(h, s->next_id);
	int rc = jrnl_append(s->jr, REC_NEXTID, h, 8);
	if (rc == 0)
		jrnl_garbage(s->jr, FRAME_OVERHEAD + 8);
	return rc;
}

size_t jobs_j_put_len(const job_t *j)
{
	uint8_t h[PUT_HDR_MAX];
	return enc_put(h, j) + j->body_len;
}

void jobs_j_put(jobs_t *s, job_t *j)
{
	if (!s->jr)
		return;
	uint8_t h[PUT_HDR_MAX];
	size_t n = enc_put(h, j);
	appended(s, jrnl_append2(s->jr, REC_PUT, h, n, j->body, j->body_len));
	j->jput = (uint32_t)(FRAME_OVERHEAD + n + j->body_len);
	j->jstate = 0;
}

void jobs_j_state(jobs_t *s, job_t *j)
{
	if (!s->jr)
		return;
	uint8_t h[8 + 1 + 4 + 8 + 8 + 20], *p = h;
	p = put64(p, j->id);
	*p++ = disk_state(j);
	p = put32(p, j->pri);
	p = put64(p, (uint64_t)j->delay_ns);
	p = put64(p, (uint64_t)(j->state == JOB_DELAYED ? mono_to_wall_us(j->deadline_ns) : 0));
	p = put_counters(p, j);
	_Static_assert(sizeof h == JOBS_J_STATE_LEN, "state record length");
	appended(s, jrnl_append(s->jr, REC_STATE, h, (size_t)(p - h)));
	if (j->jstate)
		jrnl_garbage(s->jr, j->jstate);
	j->jstate = (uint32_t)(FRAME_OVERHEAD + (size_t)(p - h));
}

void jobs_j_delete(jobs_t *s, job_t *j)
{
	if (!s->jr)
		return;
	uint8_t h[8];
	put64(h, j->id);
	appended(s, jrnl_append(s->jr, REC_DELETE, h, 8));
	jrnl_garbage(s->jr, (uint64_t)j->jput + j->jstate + FRAME_OVERHEAD + 8);
}

static size_t enc_pause(uint8_t *h, const tube_t *t)
{
	uint8_t *p = h;
	*p++ = (uint8_t)t->name_len;
	memcpy(p, t->name, t->name_len);
	p += t->name_len;
	p = put64(p, (uint64_t)t->pause_ns);
	p = put64(p, (uint64_t)t->unpause_wall);
	return (size_t)(p - h);
}

void jobs_j_pause(jobs_t *s, tube_t *t)
{
	if (!s->jr)
		return;
	uint8_t h[1 + TUBE_NAME_MAX + 16];
	size_t n = enc_pause(h, t);
	appended(s, jrnl_append(s->jr, REC_PAUSE, h, n));
	/* Pauses are rare and short-lived: count them as garbage at once. */
	jrnl_garbage(s->jr, FRAME_OVERHEAD + n);
}

/* --- replay ------------------------------------------------------------------ */

static void rd_counters(rd_t *r, job_t *j)
{
	j->reserves = rd_be32(r);
	j->timeouts = rd_be32(r);
	j->releases = rd_be32(r);
	j->buries = rd_be32(r);
	j->kicks = rd_be32(r);
}

/* Replayed jobs are in the id table and hold a tube reference, but are in
 * no queue until jobs_j_replay_done. */
static void drop_replayed(jobs_t *s, job_t *j)
{
	jobs_forget(s, j);
}

int jobs_j_replay(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	jobs_t *s = arg;
	rd_t r;
	rd_init(&r, payload, len);
	size_t frame = FRAME_OVERHEAD + len;
	switch (type) {
	case REC_PUT: {
		uint64_t id = rd_be64(&r);
		uint32_t pri = rd_be32(&r);
		uint8_t st = rd_u8(&r);
		int64_t delay = (int64_t)rd_be64(&r);
		int64_t ttr = (int64_t)rd_be64(&r);
		int64_t created = (int64_t)rd_be64(&r);
		int64_t deadline = (int64_t)rd_be64(&r);
		job_t tmp;
		memset(&tmp, 0, sizeof tmp);
		rd_counters(&r, &tmp);
		uint8_t tl = rd_u8(&r);
		const uint8_t *tn = rd_bytes(&r, tl);
		uint32_t bl = rd_be32(&r);
		const uint8_t *body = rd_bytes(&r, bl);
		if (r.err || rd_left(&r) || st == JOB_RESERVED || st > JOB_BURIED ||
		    !tube_name_valid((const char *)tn, tl) || bl < 2)
			return SL_ECORRUPT;
		job_t *old = jobs_find(s, id);
		if (old) {
			s->replay_garbage += old->jput + old->jstate;
			drop_replayed(s, old);
		}
		job_t *j = calloc(1, sizeof *j + bl);
		if (!j)
			abort();
		j->id = id;
		j->pri = pri;
		j->state = st;
		j->delay_ns = delay;
		j->ttr_ns = ttr < NS_PER_SEC ? NS_PER_SEC : ttr;
		j->created_ns = jobs_now() - (time_wall_us() - created) * 1000;
		j->deadline_ns = deadline; /* wall us until replay_done */
		j->reserves = tmp.reserves;
		j->timeouts = tmp.timeouts;
		j->releases = tmp.releases;
		j->buries = tmp.buries;
		j->kicks = tmp.kicks;
		j->body_len = bl;
		memcpy(j->body, body, bl);
		heap_node_init(&j->tnode);
		heap_node_init(&j->gnode);
		heap_node_init(&j->cnode);
		j->tube = tube_get(&s->tubes, (const char *)tn, tl);
		tube_ref(j->tube);
		j->jput = (uint32_t)frame;
		jobs_restore(s, j);
		if (id >= s->next_id)
			s->next_id = id + 1;
		return 0;
	}
	case REC_STATE: {
		uint64_t id = rd_be64(&r);
		uint8_t st = rd_u8(&r);
		uint32_t pri = rd_be32(&r);
		int64_t delay = (int64_t)rd_be64(&r);
		int64_t deadline = (int64_t)rd_be64(&r);
		job_t tmp;
		memset(&tmp, 0, sizeof tmp);
		rd_counters(&r, &tmp);
		if (r.err || rd_left(&r) || st == JOB_RESERVED || st > JOB_BURIED)
			return SL_ECORRUPT;
		job_t *j = jobs_find(s, id);
		if (!j) {
			s->replay_garbage += frame;
			return 0;
		}
		j->state = st;
		j->pri = pri;
		j->delay_ns = delay;
		j->deadline_ns = deadline;
		j->reserves = tmp.reserves;
		j->timeouts = tmp.timeouts;
		j->releases = tmp.releases;
		j->buries = tmp.buries;
		j->kicks = tmp.kicks;
		s->replay_garbage += j->jstate;
		j->jstate = (uint32_t)frame;
		return 0;
	}
	case REC_DELETE: {
		uint64_t id = rd_be64(&r);
		if (r.err || rd_left(&r))
			return SL_ECORRUPT;
		job_t *j = jobs_find(s, id);
		s->replay_garbage += frame;
		if (j) {
			s->replay_garbage += j->jput + j->jstate;
			drop_replayed(s, j);
		}
		return 0;
	}
	case REC_PAUSE: {
		uint8_t tl = rd_u8(&r);
		const uint8_t *tn = rd_bytes(&r, tl);
		int64_t pause = (int64_t)rd_be64(&r);
		int64_t unpause_wall = (int64_t)rd_be64(&r);
		if (r.err || rd_left(&r) || !tube_name_valid((const char *)tn, tl))
			return SL_ECORRUPT;
		s->replay_garbage += frame;
		int64_t left_us = unpause_wall - time_wall_us();
		tube_t *t = tube_get(&s->tubes, (const char *)tn, tl);
		if (!t->replay_ref) {
			t->replay_ref = 1;
			tube_ref(t);
		}
		if (left_us > 0) {
			if (!t->pause_ns)
				s->tubes.paused_n++;
			t->pause_ns = pause;
			t->unpause_at = jobs_now() + left_us * 1000;
			t->unpause_wall = unpause_wall;
		}
		return 0;
	}
	case REC_NEXTID: {
		uint64_t id = rd_be64(&r);
		if (r.err || rd_left(&r))
			return SL_ECORRUPT;
		s->replay_garbage += frame;
		if (id > s->next_id)
			s->next_id = id;
		return 0;
	}
	default:
		return SL_ECORRUPT;
	}
}

static int id_cmp(const void *a, const void *b)
{
	uint64_t x = (*(job_t *const *)a)->id, y = (*(job_t *const *)b)->id;
	return x < y ? -1 : x > y;
}

struct collect {
	job_t **v;
	size_t n;
};

static void collect_fn(job_t *j, void *arg)
{
	struct collect *c = arg;
	c->v[c->n++] = j;
}

void jobs_j_replay_done(jobs_t *s)
{
	struct collect c = {calloc(s->njobs + 1, sizeof(job_t *)), 0};
	if (!c.v)
		abort();
	jobs_foreach(s, collect_fn, &c);
	/* Ids order buried jobs (their FIFO order) and ready ties. */
	qsort(c.v, c.n, sizeof *c.v, id_cmp);
	int64_t wall = time_wall_us(), now = jobs_now();
	for (size_t i = 0; i < c.n; i++) {
		job_t *j = c.v[i];
		int64_t deadline_wall = j->deadline_ns;
		if (j->state == JOB_DELAYED && deadline_wall > wall)
			jobs_place(s, j, JOB_DELAYED, now + (deadline_wall - wall) * 1000);
		else if (j->state == JOB_BURIED)
			jobs_place(s, j, JOB_BURIED, 0);
		else
			jobs_place(s, j, JOB_READY, 0);
	}
	free(c.v);
	for (size_t i = 0; i < s->tubes.n;) {
		tube_t *t = s->tubes.v[i];
		if (t->replay_ref) {
			t->replay_ref = 0;
			size_t before = s->tubes.n;
			tube_unref(&s->tubes, t);
			if (s->tubes.n < before)
				continue; /* slot i now holds another tube */
		}
		i++;
	}
}

/* --- snapshot ------------------------------------------------------------------ */

struct snap {
	jobs_t *s;
	jrnl_t *jr;
	int rc;
};

static void snap_job(job_t *j, void *arg)
{
	struct snap *sn = arg;
	uint8_t h[PUT_HDR_MAX];
	size_t n = enc_put(h, j);
	int rc = jrnl_append2(sn->jr, REC_PUT, h, n, j->body, j->body_len);
	if (rc < 0)
		sn->rc = rc;
	j->jput = (uint32_t)(FRAME_OVERHEAD + n + j->body_len);
	j->jstate = 0;
}

int jobs_j_snapshot(void *arg, jrnl_t *jr)
{
	jobs_t *s = arg;
	struct snap sn = {s, jr, 0};
	uint8_t h[8];
	put64(h, s->next_id);
	int rc = jrnl_append(jr, REC_NEXTID, h, 8);
	if (rc < 0)
		return rc;
	jobs_foreach(s, snap_job, &sn);
	for (size_t i = 0; i < s->tubes.n && !sn.rc; i++) {
		tube_t *t = s->tubes.v[i];
		if (!tube_paused(t, jobs_now()))
			continue;
		uint8_t p[1 + TUBE_NAME_MAX + 16];
		rc = jrnl_append(jr, REC_PAUSE, p, enc_pause(p, t));
		if (rc < 0)
			sn.rc = rc;
	}
	return sn.rc;
}
