/*
 * job_store.c — the beanstalkd job state as the broker owns it: the jobs
 * model (job.h), its journal <data-dir>/beanstalk/jobs.journal (record
 * layouts in job_journal.c) and the journal's durability domain
 * (broker/dur.h). The broker opens it at start whatever listeners are on.
 *
 * Failure: when a journal write or sync fails after its change was applied,
 * the domain fails every reply that could depend on it, cuts the journal
 * back to the last acknowledged point and calls reload(), which rebuilds
 * the jobs from the journal. What survives a reload besides the journal:
 * the tubes (connections hold them), the reservations of jobs that are
 * still there (with their deadlines), and the next job id, so an id handed
 * out before the failure is never handed out again in this run; a NEXTID
 * record makes that hold across a restart too.
 *
 * Compaction runs at the end of a turn in which the journal grew, and only
 * while the domain is idle (no reply waiting on a sync). Loop thread only.
 */
#include "broker/broker.h"
#include "broker/dur.h"
#include "broker/job.h"
#include "core/err.h"
#include "store/journal.h"
#include "store/sio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jobs_writable(jobs_t *s, size_t payload)
{
	if (!s->jr)
		return 0;
	int rc = s->dur ? dur_state(s->dur) : 0;
	return rc ? rc : jrnl_reserve(s->jr, jrnl_record_size(payload));
}

void jobs_maintain(jobs_t *s)
{
	if (s->dur && !dur_idle(s->dur))
		return;
	/* Every change is durable: no reservation will need restoring. */
	s->nunres = 0;
	if (s->jr && jrnl_garbage_bytes(s->jr))
		(void)jrnl_maybe_compact(s->jr, jobs_j_snapshot, s);
}

static void on_idle(void *arg)
{
	jobs_maintain(arg);
}

struct keep {
	job_unres_t *v;
	size_t n;
	job_t **all;
	size_t nall;
};

static void keep_fn(job_t *j, void *arg)
{
	struct keep *k = arg;
	k->all[k->nall++] = j;
	if (j->state == JOB_RESERVED)
		k->v[k->n++] = (job_unres_t){j->id, j->reserver, j->deadline_ns};
}

/* The domain cut the journal back: the jobs become what it holds. */
static int reload(void *arg)
{
	jobs_t *s = arg;
	/* Reservations to keep: the current ones, and those that changes now
	 * being undone ended (their clients still hold them). */
	struct keep k = {calloc(s->njobs + s->nunres + 1, sizeof(job_unres_t)), 0,
	                 calloc(s->njobs + 1, sizeof(job_t *)), 0};
	if (!k.v || !k.all)
		abort();
	jobs_foreach(s, keep_fn, &k);
	if (s->nunres)
		memcpy(k.v + k.n, s->unres, s->nunres * sizeof *s->unres);
	k.n += s->nunres;
	s->nunres = 0;
	uint64_t next_id = s->next_id;
	for (size_t i = 0; i < k.nall; i++)
		jobs_drop(s, k.all[i]);
	free(k.all);
	/* Pauses come back from the journal's PAUSE records too. */
	for (size_t i = 0; i < s->tubes.n; i++)
		s->tubes.v[i]->pause_ns = 0;
	s->tubes.paused_n = 0;
	s->replay_garbage = 0;
	s->replaying = 1;
	int rc = jrnl_replay(s->jr, jobs_j_replay, s);
	s->replaying = 0;
	if (rc == 0) {
		jobs_j_replay_done(s);
		if (s->replay_garbage)
			jrnl_garbage(s->jr, s->replay_garbage);
		if (next_id > s->next_id)
			s->next_id = next_id;
		/* Ids handed out before the failure stay used after a restart
		 * too (best effort: a failure here only loses that). */
		(void)jobs_j_next_id(s);
		for (size_t i = 0; i < k.n; i++)
			jobs_rereserve(s, k.v[i].c, k.v[i].id, k.v[i].deadline_ns);
		jobs_serve_all(s);
		log_warn(s->log, "beanstalk: %zu jobs after the recovery, next id %llu", s->njobs,
		         (unsigned long long)s->next_id);
	}
	free(k.v);
	return rc;
}

int jobs_open(jobs_t **out, broker_t *b)
{
	jobs_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	jobs_init(s, b->loop, (size_t)b->cfg->max_job_size);
	s->log = b->log;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/beanstalk", b->data_dir);
	int rc = sio_mkdir_p(b->io, dir);
	if (rc) {
		log_error(b->log, "beanstalk: cannot create %s: %s", dir, sl_strerror(rc));
		jobs_deinit(s);
		free(s);
		return rc;
	}
	jrnl_opts_t o = {
	    .fsync = b->cfg->fsync,
	    .compact_ratio_pct = (int)b->cfg->journal_compact_ratio,
	    .compact_min_bytes = b->cfg->journal_compact_min_bytes,
	    .max_record = (size_t)b->cfg->max_job_size + 1024,
	    .clean_stop = b->clean_start,
	    .strict = b->cfg->strict_recovery,
	};
	jrnl_t *jr = NULL;
	s->replaying = 1;
	rc = jrnl_open(&jr, b->loop, b->syncer, b->log, dir, "jobs", &o, jobs_j_replay, s);
	s->replaying = 0;
	if (rc) {
		log_error(b->log, "beanstalk: cannot open the job journal in %s: %s", dir,
		          sl_strerror(rc));
		jobs_deinit(s);
		free(s);
		return rc;
	}
	jobs_j_replay_done(s);
	s->jr = jr;
	if (s->replay_garbage)
		jrnl_garbage(jr, s->replay_garbage);
	dur_hooks_t h = {reload, on_idle, s};
	s->dur = dur_new(b->loop, b->log, "beanstalk", b->cfg->fsync, &h);
	dur_add_jrnl(s->dur, jr);
	log_info(b->log, "beanstalk: %zu jobs restored, next id %llu", s->njobs,
	         (unsigned long long)s->next_id);
	*out = s;
	return 0;
}

void jobs_close(jobs_t *s)
{
	if (!s)
		return;
	if (s->loop)
		loop_task_cancel(s->loop, &s->maint_task);
	dur_free(s->dur);
	if (s->jr)
		jrnl_close(s->jr);
	s->jr = NULL;
	jobs_deinit(s);
	free(s);
}
