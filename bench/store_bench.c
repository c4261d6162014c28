/*
 * store_bench.c — partition-log append throughput against the raw disk, in
 * one run on the same disk.
 *
 *   store_bench DIR [SECONDS_PER_ROW] [MIB_PER_ROW] [ROW_FILTER]
 *
 * Raw rows: sequential write() of 1 KiB / 16 KiB / 1 MiB blocks to a fresh
 * file in DIR, with and without an fdatasync after every write. Log rows:
 * plog_append of batches of the same sizes under fsync never, interval:100
 * and always, with 1 and 64 logical appenders on the one loop thread. Under
 * `always` each appender waits for its own durability callback before its
 * next append (so 64 appenders show group commit); otherwise it appends
 * once per loop turn. Each figure is the best of REPS (3) runs, each of
 * which stops after SECONDS (default 1) or MIB
 * (default 256), whichever comes first. Every row prints MB/s and the ratio
 * to the matching raw figure (never/interval → raw without sync, always →
 * raw with fdatasync, and also → raw without sync). The raw rows are
 * repeated into a file preallocated with fallocate (as plog's segments
 * are), whose writes skip block allocation and are much faster on ext4;
 * the last column compares with those, i.e. the cost of plog itself.
 *
 * A benchmark, not a test: it asserts nothing. Single thread plus the
 * syncer's helper thread.
 */
#include "core/buf.h"
#include "core/err.h"
#include "core/time.h"
#include "net/loop.h"
#include "store/batch.h"
#include "store/plog.h"
#include "store/syncer.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bound.h"

#define APPENDERS_MAX 64

typedef struct bench {
	const char *dir;
	double secs;
	uint64_t max_bytes;
} bench_t;

/* Writes back what a row left dirty (untimed), so rows do not pay for
 * each other's page cache. */
static void settle(const bench_t *b)
{
	int fd = open(b->dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

static double raw_mbps(const bench_t *b, size_t size, int sync, int prealloc)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/raw.dat", b->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	if (prealloc && fallocate(fd, 0, 0, (off_t)b->max_bytes) < 0)
		perror("fallocate");
	uint8_t *blk = malloc(size);
	for (size_t i = 0; i < size; i++)
		blk[i] = (uint8_t)(i * 31 + 7);
	int64_t t0 = time_mono_ns(), deadline = t0 + (int64_t)(b->secs * 1e9);
	uint64_t done = 0;
	while (done + size <= b->max_bytes && time_mono_ns() < deadline) {
		if (write(fd, blk, size) != (ssize_t)size) {
			perror("write");
			exit(1);
		}
		if (sync && fdatasync(fd) < 0) {
			perror("fdatasync");
			exit(1);
		}
		done += size;
	}
	double secs = (double)(time_mono_ns() - t0) / 1e9;
	settle(b);
	close(fd);
	unlink(path);
	free(blk);
	return (double)done / secs / 1e6;
}

/* One batch of exactly `size` bytes (one record), built once and appended
 * over and over: plog only rewrites BaseOffset, outside the CRC. */
static void make_batch(buf_t *out, size_t size)
{
	static uint8_t val[2 << 20];
	for (size_t i = 0; i < sizeof val; i++)
		val[i] = (uint8_t)(i * 131 + 1);
	batch_record_t r;
	memset(&r, 0, sizeof r);
	r.timestamp = time_wall_ms();
	r.key_len = -1;
	r.value = val;
	r.value_len = (int32_t)(size - 80);
	buf_reset(out);
	batch_build(out, NULL, &r, 1);
	/* Adjust the value so that the whole batch is exactly `size`. */
	r.value_len += (int32_t)size - (int32_t)buf_len(out);
	buf_reset(out);
	batch_build(out, NULL, &r, 1);
}

typedef struct run run_t;

typedef struct appender {
	run_t *run;
	loop_task_t task;
} appender_t;

struct run {
	loop_t *loop;
	plog_t *plog;
	buf_t batch;
	int always;
	int64_t deadline;
	uint64_t done, max_bytes;
	int active;
	int failed;
	appender_t app[APPENDERS_MAX];
};

static void append_one(appender_t *a);

static void on_durable(void *arg, int status)
{
	appender_t *a = arg;
	if (status < 0) {
		fprintf(stderr, "sync failed: %s\n", sl_strerror(status));
		a->run->failed = 1;
	}
	append_one(a);
}

static void on_task(loop_t *loop, loop_task_t *t)
{
	(void)loop;
	append_one(t->arg);
}

static void append_one(appender_t *a)
{
	run_t *r = a->run;
	if (r->failed || r->done + buf_len(&r->batch) > r->max_bytes ||
	    time_mono_ns() >= r->deadline) {
		if (--r->active == 0)
			loop_stop(r->loop);
		return;
	}
	int64_t base;
	int rc = plog_append(r->plog, buf_data(&r->batch), buf_len(&r->batch), -1, &base);
	if (rc < 0) {
		fprintf(stderr, "append failed: %s\n", sl_strerror(rc));
		r->failed = 1;
		if (--r->active == 0)
			loop_stop(r->loop);
		return;
	}
	r->done += buf_len(&r->batch);
	if (r->always)
		plog_when_durable(r->plog, plog_end_offset(r->plog), on_durable, a);
	else
		loop_defer(r->loop, &a->task);
}

static double plog_mbps(const bench_t *b, size_t size, fsync_policy_t pol, int appenders)
{
	run_t *r = calloc(1, sizeof *r);
	log_t log;
	log_init(&log, LOG_WARN, 2);
	r->loop = loop_new(&log);
	syncer_t *syncer = syncer_new(r->loop, &log);
	sl_config_t cfg;
	config_init(&cfg);
	plog_opts_t o;
	plog_opts_from_config(&o, &cfg);
	config_deinit(&cfg);
	o.fsync = pol;
	o.max_batch_bytes = 4 << 20;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/log", b->dir);
	if (plog_open(&r->plog, dir, &o, syncer, &log, 0) < 0) {
		fprintf(stderr, "cannot open %s\n", dir);
		exit(1);
	}
	make_batch(&r->batch, size);
	r->always = pol.mode == FSYNC_ALWAYS;
	r->max_bytes = b->max_bytes;
	int64_t t0 = time_mono_ns();
	r->deadline = t0 + (int64_t)(b->secs * 1e9);
	r->active = appenders;
	for (int i = 0; i < appenders; i++) {
		r->app[i].run = r;
		loop_task_init(&r->app[i].task, on_task, &r->app[i]);
		append_one(&r->app[i]);
	}
	loop_run(r->loop);
	double secs = (double)(time_mono_ns() - t0) / 1e9;
	double mbps = (double)r->done / secs / 1e6;
	if (r->failed)
		mbps = 0;
	settle(b);
	plog_destroy(r->plog);
	syncer_free(syncer);
	loop_free(r->loop);
	buf_deinit(&r->batch);
	free(r);
	return mbps;
}

/* The disk is shared with whatever else runs on the machine: the best of
 * a few short runs is steadier than one long one, for raw and plog alike. */
#define REPS 3

static double best_raw(const bench_t *b, size_t size, int sync, int prealloc)
{
	double best = 0;
	for (int i = 0; i < REPS; i++) {
		double v = raw_mbps(b, size, sync, prealloc);
		best = v > best ? v : best;
	}
	return best;
}

static double best_plog(const bench_t *b, size_t size, fsync_policy_t pol, int appenders)
{
	double best = 0;
	for (int i = 0; i < REPS; i++) {
		double v = plog_mbps(b, size, pol, appenders);
		best = v > best ? v : best;
	}
	return best;
}

int main(int argc, char **argv)
{
	/* make bench never hangs on a server that stopped answering. */
	bench_bound("store_bench", 600);
	if (argc < 2) {
		fprintf(stderr,
		        "usage: store_bench DIR [SECONDS_PER_ROW] [MIB_PER_ROW] [ROW_FILTER]\n");
		return 2;
	}
	bench_t b = {argv[1], argc > 2 ? atof(argv[2]) : 1.0,
	             (uint64_t)(argc > 3 ? atoll(argv[3]) : 256) << 20};
	const char *filter = argc > 4 ? argv[4] : NULL;
	static const size_t sizes[] = {1024, 16384, 1 << 20};
	static const char *const names[] = {"1KiB", "16KiB", "1MiB"};
	printf("%-6s %-26s %10s %14s %14s %14s\n", "batch", "mode", "MB/s", "vs raw-match",
	       "vs raw-nosync", "vs prealloc");
	double goal_never = -1, goal_always = -1;
	for (size_t s = 0; s < 3; s++) {
		double raw_ns = best_raw(&b, sizes[s], 0, 0);
		double raw_s = best_raw(&b, sizes[s], 1, 0);
		double pre_ns = best_raw(&b, sizes[s], 0, 1);
		double pre_s = best_raw(&b, sizes[s], 1, 1);
		printf("%-6s %-26s %10.1f\n", names[s], "raw write", raw_ns);
		printf("%-6s %-26s %10.1f\n", names[s], "raw write+fdatasync", raw_s);
		printf("%-6s %-26s %10.1f\n", names[s], "raw prealloc write", pre_ns);
		printf("%-6s %-26s %10.1f\n", names[s], "raw prealloc write+fdatasync", pre_s);
		struct {
			const char *name;
			fsync_policy_t pol;
		} pols[] = {
		    {"never", {FSYNC_NEVER, 0}},
		    {"interval:100", {FSYNC_INTERVAL, 100}},
		    {"always", {FSYNC_ALWAYS, 0}},
		};
		for (size_t p = 0; p < 3; p++) {
			for (int a = 1; a <= 64; a *= 64) {
				char mode[64];
				snprintf(mode, sizeof mode, "plog %s x%d", pols[p].name, a);
				if (filter && !strstr(mode, filter))
					continue;
				double m = best_plog(&b, sizes[s], pols[p].pol, a);
				int al = pols[p].pol.mode == FSYNC_ALWAYS;
				double match = al ? raw_s : raw_ns, pre = al ? pre_s : pre_ns;
				printf("%-6s %-26s %10.1f %13.0f%% %13.0f%% %13.0f%%\n", names[s],
				       mode, m, 100 * m / match, 100 * m / raw_ns, 100 * m / pre);
				fflush(stdout);
				if (s == 2 && p == 0 && a == 1)
					goal_never = 100 * m / raw_ns;
				if (s == 2 && p == 2 && a == 64)
					goal_always = 100 * m / raw_ns;
			}
		}
	}
	if (goal_never >= 0)
		printf("goal: 1MiB never x1 >= 80%% of raw write: %.0f%% %s\n", goal_never,
		       goal_never >= 80 ? "met" : "MISSED");
	if (goal_always >= 0)
		printf("goal: 1MiB always x64 >= 50%% of raw write: %.0f%% %s\n", goal_always,
		       goal_always >= 50 ? "met" : "MISSED");
	return 0;
}
