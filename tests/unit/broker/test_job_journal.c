/*
 * test_job_journal.c — the job journal's replay rules and garbage
 * accounting, on a real journal file (store/journal.c) reopened in between.
 */
#include "broker/job.h"
#include "core/config.h"
#include "core/err.h"
#include "core/time.h"
#include "store/journal.h"
#include "store/syncer.h"
#include "test.h"

typedef struct jfx {
	loop_t *loop;
	syncer_t *syncer;
	jobs_t jobs;
	jrnl_t *jr;
	job_client_t c;
} jfx_t;

static void on_wake(job_client_t *c, int what, job_t *j)
{
	(void)c, (void)what, (void)j;
}

static int jfx_open(jfx_t *f)
{
	memset(f, 0, sizeof *f);
	f->loop = loop_new(NULL);
	f->syncer = syncer_new(f->loop, NULL);
	jobs_init(&f->jobs, f->loop, 65535);
	jrnl_opts_t o = {.fsync = {FSYNC_NEVER, 0},
	                 .compact_ratio_pct = 50,
	                 .compact_min_bytes = 1 << 20,
	                 .max_record = 70000};
	int rc =
	    jrnl_open(&f->jr, f->loop, f->syncer, NULL, ".", "jobs", &o, jobs_j_replay, &f->jobs);
	if (rc)
		return rc;
	jobs_j_replay_done(&f->jobs);
	f->jobs.jr = f->jr;
	if (f->jobs.replay_garbage)
		jrnl_garbage(f->jr, f->jobs.replay_garbage);
	job_client_init(&f->jobs, &f->c, on_wake, NULL);
	return 0;
}

static void jfx_close(jfx_t *f)
{
	job_client_deinit(&f->c);
	jrnl_close(f->jr);
	f->jobs.jr = NULL;
	jobs_deinit(&f->jobs);
	loop_run_once(f->loop, 0);
	syncer_free(f->syncer);
	loop_free(f->loop);
}

static job_t *put(jfx_t *f, uint32_t pri, int64_t delay_s, const char *body)
{
	size_t n = strlen(body);
	job_t *j =
	    jobs_new_job(&f->jobs, pri, delay_s * NS_PER_SEC, 5 * NS_PER_SEC, (uint32_t)n + 2);
	memcpy(j->body, body, n);
	memcpy(j->body + n, "\r\n", 2);
	CHECK_EQ(jobs_put(&f->jobs, &f->c, j), 0);
	return j;
}

TEST(job_journal_replays_every_state)
{
	jfx_t f;
	CHECK_EQ(jfx_open(&f), 0);
	job_client_use(&f.c, "t", 1);
	put(&f, 1, 0, "ready");
	put(&f, 2, 100, "delayed");
	put(&f, 3, 0, "buried");
	put(&f, 4, 0, "gone");
	put(&f, 5, 0, "reserved");
	job_t *r = NULL;
	CHECK_EQ(jobs_reserve_job(&f.jobs, &f.c, 3, &r), 0);
	CHECK_EQ(jobs_bury(&f.jobs, &f.c, 3, 33), 0);
	uint64_t before = jrnl_garbage_bytes(f.jr);
	CHECK_EQ(jobs_delete(&f.jobs, &f.c, 4), 0);
	CHECK(jrnl_garbage_bytes(f.jr) > before);
	CHECK_EQ(jobs_reserve_job(&f.jobs, &f.c, 5, &r), 0);
	CHECK_EQ(jobs_pause(&f.jobs, "t", 1, 100 * NS_PER_SEC), 0);
	uint64_t garbage = jrnl_garbage_bytes(f.jr);
	jfx_close(&f);

	CHECK_EQ(jfx_open(&f), 0);
	/* The same garbage is found again by replay. */
	CHECK_EQ(jrnl_garbage_bytes(f.jr), garbage);
	CHECK_EQ(f.jobs.njobs, 4);
	CHECK(jobs_find(&f.jobs, 4) == NULL);
	job_t *j = jobs_find(&f.jobs, 1);
	CHECK(j->state == JOB_READY && j->pri == 1 && strcmp(j->tube->name, "t") == 0);
	j = jobs_find(&f.jobs, 2);
	CHECK(j->state == JOB_DELAYED);
	CHECK(j->deadline_ns - jobs_now() <= 100 * NS_PER_SEC);
	CHECK(j->deadline_ns - jobs_now() > 90 * NS_PER_SEC);
	j = jobs_find(&f.jobs, 3);
	CHECK(j->state == JOB_BURIED && j->pri == 33 && j->buries == 1);
	j = jobs_find(&f.jobs, 5);
	CHECK(j->state == JOB_READY); /* reserved comes back ready */
	CHECK_MEM(j->body, "reserved\r\n", 10);
	tube_t *t = tube_find(&f.jobs.tubes, "t", 1);
	CHECK(t && tube_paused(t, jobs_now()));
	CHECK_EQ(f.jobs.next_id, 6);
	jfx_close(&f);
}

TEST(job_journal_rejects_impossible_records)
{
	jobs_t s;
	jobs_init(&s, NULL, 65535);
	uint8_t rec[64];
	memset(rec, 0, sizeof rec);
	/* A STATE for an unknown id is ignored (its PUT was compacted away). */
	rec[7] = 9;
	CHECK_EQ(jobs_j_replay(&s, 2, rec, 8 + 1 + 4 + 8 + 8 + 20), 0);
	CHECK_EQ(jobs_j_replay(&s, 3, rec, 8), 0);
	/* Short records, unknown types and a reserved state are corrupt. */
	CHECK_EQ(jobs_j_replay(&s, 3, rec, 7), SL_ECORRUPT);
	CHECK_EQ(jobs_j_replay(&s, 1, rec, 20), SL_ECORRUPT);
	CHECK_EQ(jobs_j_replay(&s, 99, rec, 8), SL_ECORRUPT);
	rec[8] = JOB_RESERVED;
	CHECK_EQ(jobs_j_replay(&s, 2, rec, 8 + 1 + 4 + 8 + 8 + 20), SL_ECORRUPT);
	CHECK_EQ(s.njobs, 0);
	jobs_deinit(&s);
}
