/*
 * jrnl_crash.c — a journal writer for the kill -9 test.
 *
 *   jrnl_crash DIR
 *
 * Opens DIR/crash.journal (fsync=always), checks what it replays (every
 * record intact, seqs without a gap; exit 3 otherwise), then appends the
 * stream of tests/helpers/jrnl_crash.h forever in small batches, keeping a
 * few batches waiting for durability at once. After each batch's
 * jrnl_when_durable callback reports success it prints the batch's seqs,
 * one per line, in one write(): a printed seq is an acknowledged record.
 * Every record is declared garbage once acknowledged, so compactions (a
 * SUMMARY snapshot) happen regularly and get killed too.
 *
 * It runs until killed, until stdout is closed, or for 30 s at most.
 * One thread (the loop) plus the syncer's helper thread.
 */
#include "jrnl_crash.h"

#include "core/time.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_FLIGHT 4

typedef struct app app_t;

typedef struct batch {
	app_t *app;
	uint64_t first, last; /* seqs [first, last) */
} batch_t;

struct app {
	loop_t *loop;
	jrnl_t *j;
	uint64_t next;  /* next seq to append */
	uint64_t acked; /* seqs below this are acknowledged */
	int64_t deadline;
	int failed;
	int closing; /* the journal is closed: late callbacks only free */
	loop_task_t kick;
};

static int snapshot(void *arg, jrnl_t *j)
{
	app_t *a = arg;
	uint8_t p[8];
	/* The snapshot is taken before records still in flight are acked, but
	 * they were appended, so the summary may cover them: it counts every
	 * record appended so far, which the new file then continues. */
	be64_store(p, a->next);
	return jrnl_append(j, CRASH_SUMMARY, p, sizeof p);
}

static void start_batch(app_t *a);

/* Reports a failure on stdout too, where the test reads acknowledgements:
 * a line that is not a number fails the test even if the kill lands while
 * this process is still shutting down. */
static void app_fail(app_t *a, const char *what)
{
	char line[256];
	int n = snprintf(line, sizeof line, "FAIL %s\n", what);
	if (write(1, line, (size_t)n) < 0 || write(2, line, (size_t)n) < 0)
		a->failed = 1;
	a->failed = 1;
	loop_stop(a->loop);
}

static void on_durable(void *arg, int status)
{
	batch_t *b = arg;
	app_t *a = b->app;
	if (a->closing) {
		free(b);
		return;
	}
	if (status != 0) {
		app_fail(a, sl_strerror(status));
		free(b);
		return;
	}
	if (b->first != a->acked) {
		app_fail(a, "acknowledgements out of order");
		free(b);
		return;
	}
	char out[IN_FLIGHT * 8 * 24 + 64];
	size_t n = 0;
	for (uint64_t s = b->first; s < b->last && n + 24 < sizeof out; s++)
		n += (size_t)snprintf(out + n, sizeof out - n, "%llu\n", (unsigned long long)s);
	if (write(1, out, n) != (ssize_t)n) {
		loop_stop(a->loop);
		free(b);
		return;
	}
	a->acked = b->last;
	for (uint64_t s = b->first; s < b->last; s++)
		jrnl_garbage(a->j, jrnl_record_size(crash_len(s)));
	free(b);
	if (jrnl_maybe_compact(a->j, snapshot, a) < 0) {
		app_fail(a, "compaction failed");
		return;
	}
	start_batch(a);
}

static void start_batch(app_t *a)
{
	if (time_mono_ms() > a->deadline) {
		loop_stop(a->loop);
		return;
	}
	batch_t *b = malloc(sizeof *b);
	if (!b)
		abort();
	b->app = a;
	b->first = a->next;
	uint64_t n = 1 + a->next % 8;
	uint8_t p[CRASH_MAX_PAYLOAD];
	for (uint64_t k = 0; k < n; k++) {
		crash_fill(a->next, p);
		if (jrnl_append(a->j, CRASH_DATA, p, crash_len(a->next)) != 0) {
			app_fail(a, "append failed");
			free(b);
			return;
		}
		a->next++;
	}
	b->last = a->next;
	jrnl_when_durable(a->j, on_durable, b);
}

static void on_kick(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	for (int i = 0; i < IN_FLIGHT; i++)
		start_batch(t->arg);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: jrnl_crash DIR\n");
		return 2;
	}
	log_t log;
	log_init(&log, LOG_WARN, 2);
	app_t a;
	memset(&a, 0, sizeof a);
	a.loop = loop_new(&log);
	syncer_t *syncer = a.loop ? syncer_new(a.loop, &log) : NULL;
	if (!syncer)
		return 1;
	jrnl_opts_t o = {.fsync = {FSYNC_ALWAYS, 0},
	                 .compact_ratio_pct = 50,
	                 .compact_min_bytes = 64 * 1024,
	                 .max_record = 4096};
	crash_state_t st = {0, 0};
	int rc = jrnl_open(&a.j, a.loop, syncer, &log, argv[1], "crash", &o, crash_replay, &st);
	if (rc) {
		fprintf(stderr, "jrnl_crash: open: %s\n", sl_strerror(rc));
		return 3;
	}
	a.next = a.acked = st.next;
	a.deadline = time_mono_ms() + 30000;
	loop_task_init(&a.kick, on_kick, &a);
	loop_defer(a.loop, &a.kick);
	loop_run(a.loop);
	a.closing = 1;
	jrnl_close(a.j);
	syncer_free(syncer);
	loop_free(a.loop);
	return a.failed ? 1 : 0;
}
