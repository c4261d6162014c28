/*
 * job_store.c — opening and closing the beanstalkd job state: the jobs
 * model (job.h) and its journal, <data-dir>/beanstalk/jobs.journal
 * (record layouts in job_journal.c). The broker opens it at start whatever
 * listeners are on. Loop thread only.
 */
#include "broker/broker.h"
#include "broker/job.h"
#include "core/err.h"
#include "store/journal.h"
#include "store/sio.h"

#include <stdio.h>
#include <stdlib.h>

int jobs_open(jobs_t **out, broker_t *b)
{
	jobs_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	jobs_init(s, b->loop, (size_t)b->cfg->max_job_size);
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
	log_info(b->log, "beanstalk: %zu jobs restored, next id %llu", s->njobs,
	         (unsigned long long)s->next_id);
	*out = s;
	return 0;
}

void jobs_close(jobs_t *s)
{
	if (!s)
		return;
	if (s->jr)
		jrnl_close(s->jr);
	s->jr = NULL;
	jobs_deinit(s);
	free(s);
}
