/*
 * plog_appender.c — crash-test helper: appends to a partition log with
 * fsync=always and prints "acked <base offset>" for each batch only after
 * plog_when_durable reported it on disk. The batch appended at base offset
 * B is plog_gen_batch(B) (plog_gen.h), so a checker can verify every
 * acknowledged batch byte for byte after killing this process.
 *
 * Usage: plog_appender DIR [SEGMENT_BYTES]
 * Four logical appenders share the loop thread, each waiting for its own
 * durability callback before its next append (group commit). Stops by
 * itself after 30 s or 200000 batches, whichever comes first. Single
 * thread plus the syncer's helper thread.
 */
#include "plog_gen.h"

#include "core/err.h"
#include "core/time.h"
#include "net/loop.h"
#include "store/plog.h"
#include "store/syncer.h"

#include <stdlib.h>
#include <unistd.h>

#define APPENDERS 4
#define MAX_BATCHES 200000
#define MAX_MS 30000

typedef struct app {
	loop_t *loop;
	plog_t *plog;
	int64_t t0;
	long appended;
	int failed;
} app_t;

typedef struct slot {
	app_t *app;
	int64_t base;
} slot_t;

static void append_next(slot_t *s);

static void on_durable(void *arg, int status)
{
	slot_t *s = arg;
	if (status < 0) {
		fprintf(stderr, "plog_appender: sync failed: %s\n", sl_strerror(status));
		s->app->failed = 1;
		loop_stop(s->app->loop);
		return;
	}
	char line[64];
	int n = snprintf(line, sizeof line, "acked %lld\n", (long long)s->base);
	if (write(1, line, (size_t)n) != n) {
		loop_stop(s->app->loop);
		return;
	}
	append_next(s);
}

static void append_next(slot_t *s)
{
	app_t *a = s->app;
	if (a->appended >= MAX_BATCHES || time_mono_ms() - a->t0 > MAX_MS) {
		loop_stop(a->loop);
		return;
	}
	buf_t b = BUF_INIT;
	int64_t want = plog_end_offset(a->plog);
	int rc = plog_gen_batch(&b, want);
	int64_t base = -1;
	if (rc == 0)
		rc = plog_append(a->plog, buf_data(&b), buf_len(&b), -1, &base);
	buf_deinit(&b);
	if (rc < 0 || base != want) {
		fprintf(stderr, "plog_appender: append: %s (base %lld, want %lld)\n",
		        sl_strerror(rc), (long long)base, (long long)want);
		a->failed = 1;
		loop_stop(a->loop);
		return;
	}
	a->appended++;
	s->base = base;
	plog_when_durable(a->plog, plog_end_offset(a->plog), on_durable, s);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: plog_appender DIR [SEGMENT_BYTES]\n");
		return 2;
	}
	/* Recovery after each kill logs what it cut at warn level: expected
	 * here, so only errors are shown. */
	log_t log;
	log_init(&log, LOG_ERROR, 2);
	app_t a = {0};
	a.loop = loop_new(&log);
	syncer_t *syncer = a.loop ? syncer_new(a.loop, &log) : NULL;
	if (!syncer)
		return 1;
	plog_opts_t o = {0};
	o.segment_bytes = argc > 2 ? atoll(argv[2]) : 256 * 1024;
	o.roll_ms = 7LL * 24 * 3600 * 1000;
	o.retention_bytes = -1;
	o.retention_ms = -1;
	o.max_batch_bytes = 1 << 20;
	o.index_interval_bytes = 4096;
	o.fsync.mode = FSYNC_ALWAYS;
	int rc = plog_open(&a.plog, argv[1], &o, syncer, &log, 0);
	if (rc < 0) {
		fprintf(stderr, "plog_appender: open %s: %s\n", argv[1], sl_strerror(rc));
		return 1;
	}
	a.t0 = time_mono_ms();
	slot_t slots[APPENDERS];
	for (int i = 0; i < APPENDERS; i++) {
		slots[i].app = &a;
		append_next(&slots[i]);
	}
	loop_run(a.loop);
	plog_close(a.plog);
	syncer_free(syncer);
	loop_free(a.loop);
	return a.failed;
}
