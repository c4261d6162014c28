/*
 * test_plog_fdcache.c — partition logs through the store's descriptor
 * cache: many logs sharing a cache of a few descriptors (appends, syncs,
 * reads, reopen clean and unclean), the syncer syncing cached files
 * through its window, and appends at the process's descriptor limit,
 * which sync dirty files early instead of failing. Real loop, real
 * syncer thread, files in the test's directory.
 */
#include "test_plog_util.h"

#include "core/fdcache.h"
#include "net/loop.h"
#include "store/syncer.h"

#include <sys/resource.h>

#define NLOGS 60

static const fsync_policy_t ALWAYS = {FSYNC_ALWAYS, 0};

/* Open descriptors on files whose name ends with suffix (by readlink, so
 * it works at the descriptor limit). */
static int count_fds(const char *suffix)
{
	int n = 0;
	size_t sl = strlen(suffix);
	for (int fd = 0; fd < 4096; fd++) {
		char link[64], got[4096];
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t k = readlink(link, got, sizeof got - 1);
		if (k <= 0)
			continue;
		got[k] = 0;
		n += (size_t)k >= sl && strcmp(got + k - sl, suffix) == 0;
	}
	return n;
}

/* Lowers the soft limit so that exactly `room` more descriptors fit. */
static struct rlimit limit_to(int room)
{
	struct rlimit old;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
	int lim = 0, free_below = 0;
	while (free_below < room) {
		if (fcntl(lim, F_GETFD) < 0)
			free_below++;
		lim++;
	}
	struct rlimit low = {.rlim_cur = (rlim_t)lim, .rlim_max = old.rlim_max};
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	return old;
}

static int durable_count;

static void on_durable(void *arg, int status)
{
	(void)arg;
	CHECK_EQ(status, 0);
	durable_count++;
}

static void run_until_durable(loop_t *loop, int n)
{
	for (int i = 0; i < 2000 && durable_count < n; i++)
		CHECK_EQ(loop_run_once(loop, 10), 0);
	CHECK_EQ(durable_count, n);
}

static plog_opts_t opts_always(void)
{
	plog_opts_t o = t_opts();
	o.fsync = ALWAYS;
	o.gate_reads = 1;
	o.index_interval_bytes = 256;
	return o;
}

static void open_logs(plog_t **p, syncer_t *s, int clean)
{
	plog_opts_t o = opts_always();
	for (int i = 0; i < NLOGS; i++) {
		char dir[32];
		snprintf(dir, sizeof dir, "log-%d", i);
		int rc = plog_open(&p[i], dir, &o, s, NULL, clean);
		CHECK_MSG(rc == 0, "open %s: %s", dir, sl_strerror(rc));
	}
}

/* Log i holds batches of seeds i*100 + [0, n); checks them all. */
static void check_logs(plog_t **p, int n)
{
	buf_t want = BUF_INIT;
	for (int i = 0; i < NLOGS; i++) {
		int64_t off = 0;
		for (int k = 0; k < n; k++) {
			buf_reset(&want);
			t_stored(&want, i * 100 + k, off);
			CHECK_EQ(t_check_read(p[i], off, 1, buf_data(&want), buf_len(&want)), off);
			off += t_nrec(i * 100 + k);
		}
		CHECK_EQ(plog_hw(p[i]), off);
	}
	buf_deinit(&want);
}

TEST(plog_many_logs_share_a_cache_of_four_descriptors)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	fdc_set_cap(syncer_fdc(s), 4);
	static plog_t *p[NLOGS];
	open_logs(p, s, 0);
	CHECK(count_fds(".log") <= 4);
	CHECK_EQ(count_fds(".index"), 0);
	durable_count = 0;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < NLOGS; i++) {
			t_append(p[i], i * 100 + round);
			plog_when_durable(p[i], plog_end_offset(p[i]), on_durable, NULL);
		}
	run_until_durable(loop, 3 * NLOGS);
	/* Synced: clean again, so the cache is back within its capacity. */
	CHECK(count_fds(".log") <= 4);
	fdc_stats_t st;
	fdc_stats(syncer_fdc(s), &st);
	CHECK_EQ(st.dirty, 0);
	CHECK_EQ(st.pinned, 0);
	CHECK(st.evictions > 0);
	check_logs(p, 3);
	for (int i = 0; i < NLOGS; i++)
		plog_close(p[i]);
	CHECK_EQ(count_fds(".log"), 0);
	/* Both reopen paths find everything. */
	open_logs(p, s, 1);
	check_logs(p, 3);
	for (int i = 0; i < NLOGS; i++)
		plog_close(p[i]);
	open_logs(p, s, 0);
	check_logs(p, 3);
	for (int i = 0; i < NLOGS; i++)
		plog_close(p[i]);
	syncer_free(s);
	loop_free(loop);
}

TEST(plog_appends_at_the_descriptor_limit_sync_early_instead_of_failing)
{
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	static plog_t *p[NLOGS];
	open_logs(p, s, 0);
	/* Nothing cached, a capacity that never binds, 10 descriptors left:
	 * the process limit is what the appends run into. */
	fdc_set_cap(syncer_fdc(s), 1);
	fdc_set_cap(syncer_fdc(s), 1000);
	CHECK(count_fds(".log") <= 1);
	struct rlimit old = limit_to(10);
	durable_count = 0;
	/* One turn's worth of appends to every log: more dirty files than
	 * descriptors. None may fail; some files are synced early. */
	for (int i = 0; i < NLOGS; i++) {
		t_append(p[i], i * 100);
		plog_when_durable(p[i], plog_end_offset(p[i]), on_durable, NULL);
	}
	fdc_stats_t st;
	fdc_stats(syncer_fdc(s), &st);
	CHECK(st.flushes > 0);
	run_until_durable(loop, NLOGS);
	/* Syncs the early ones made unnecessary may still be in flight
	 * (their files pinned); let them finish. */
	for (int i = 0; i < 2000; i++) {
		fdc_stats(syncer_fdc(s), &st);
		if (!st.pinned)
			break;
		CHECK_EQ(loop_run_once(loop, 10), 0);
	}
	CHECK_EQ(st.pinned, 0);
	for (int i = 0; i < NLOGS; i++)
		t_append(p[i], i * 100 + 1);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
	durable_count = 0;
	for (int i = 0; i < NLOGS; i++)
		plog_when_durable(p[i], plog_end_offset(p[i]), on_durable, NULL);
	run_until_durable(loop, NLOGS);
	check_logs(p, 2);
	for (int i = 0; i < NLOGS; i++)
		plog_close(p[i]);
	open_logs(p, s, 0);
	check_logs(p, 2);
	for (int i = 0; i < NLOGS; i++)
		plog_close(p[i]);
	syncer_free(s);
	loop_free(loop);
}

TEST(syncer_cached_files_sync_through_the_window)
{
	enum { N = 300 };
	loop_t *loop = loop_new(NULL);
	syncer_t *s = syncer_new(loop, NULL);
	fdc_t *c = syncer_fdc(s);
	fdc_set_cap(c, 8);
	static fdc_file_t *f[N];
	static sync_file_t *sf[N];
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof name, "c%d.dat", i);
		int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		CHECK(fd >= 0);
		f[i] = fdc_file_new(c, name, O_RDWR);
		fdc_file_adopt(f[i], fd);
		CHECK_EQ(pwrite(fdc_fd(f[i]), name, strlen(name), 0), (ssize_t)strlen(name));
		sf[i] = sync_file_new_cached(s, f[i], ALWAYS, name);
		sync_file_written(sf[i], strlen(name));
	}
	CHECK(count_fds(".dat") <= 8);
	durable_count = 0;
	for (int i = 0; i < N; i++)
		sync_file_when_durable(sf[i], strlen("c0.dat"), on_durable, NULL);
	run_until_durable(loop, N);
	for (int i = 0; i < N; i++)
		CHECK(sync_file_synced_pos(sf[i]) >= strlen("c0.dat"));
	fdc_stats_t st;
	fdc_stats(c, &st);
	CHECK_EQ(st.pinned, 0);
	CHECK(count_fds(".dat") <= 8);
	/* Released while a sync may be in flight: the cached file stays
	 * valid until the syncer lets go of it. */
	for (int i = 0; i < N; i++) {
		sync_file_when_durable(sf[i], strlen("c0.dat"), on_durable, NULL);
		sync_file_release(sf[i]);
		fdc_file_close(f[i]);
	}
	syncer_free(s);
	CHECK_EQ(count_fds(".dat"), 0);
	loop_free(loop);
}
