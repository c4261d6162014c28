/*
 * test_fdcache.c — the bounded descriptor cache: LRU within the capacity,
 * pins and dirty files never closed for capacity, the process limit
 * (EMFILE) closing clean files first and flushing dirty ones before
 * closing them, files kept readable for other references after their
 * owner closed and unlinked them, and the counters.
 */
#include "test.h"

#include "core/err.h"
#include "core/fdcache.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

/* Files f0..f(n-1) in the test directory, each holding its own name. */
static void make_files(int n)
{
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "f%d", i);
		int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		CHECK(fd >= 0);
		CHECK_EQ(write(fd, name, strlen(name)), (ssize_t)strlen(name));
		close(fd);
	}
}

static fdc_file_t *file_n(fdc_t *c, int i)
{
	char name[32];
	snprintf(name, sizeof name, "f%d", i);
	return fdc_file_new(c, name, O_RDWR);
}

/* Reads the file through the cache and checks it holds its name. */
static void check_content(fdc_file_t *f, int i)
{
	int fd = fdc_fd(f);
	CHECK_MSG(fd >= 0, "f%d: %s", i, sl_strerror(fd));
	char want[32], got[32] = {0};
	snprintf(want, sizeof want, "f%d", i);
	CHECK_EQ(pread(fd, got, sizeof got - 1, 0), (ssize_t)strlen(want));
	CHECK_STR(got, want);
}

/* Descriptors of this process open on files whose name starts with 'f'
 * (by readlink, which needs no descriptor: tests run at the limit). */
static int open_f_files(void)
{
	int n = 0;
	for (int fd = 0; fd < 4096; fd++) {
		char link[64], target[4096];
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t k = readlink(link, target, sizeof target - 1);
		if (k <= 0)
			continue;
		target[k] = 0;
		const char *base = strrchr(target, '/');
		n += base && base[1] == 'f' && base[2] >= '0' && base[2] <= '9';
	}
	return n;
}

TEST(fdc_keeps_at_most_cap_descriptors_lru_first)
{
	make_files(20);
	fdc_t *c = fdc_new(4, NULL, NULL);
	fdc_file_t *f[20];
	for (int i = 0; i < 20; i++)
		f[i] = file_n(c, i);
	CHECK_EQ(open_f_files(), 0); /* nothing is opened until needed */
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 20; i++) {
			check_content(f[i], i);
			CHECK(open_f_files() <= 4);
		}
	fdc_stats_t st;
	fdc_stats(c, &st);
	CHECK_EQ(st.open, 4);
	CHECK_EQ(st.files, 20);
	CHECK_EQ(st.opens, 60); /* a cyclic scan of 20 through 4 always misses */
	CHECK_EQ(st.evictions, 56);
	/* The most recently used stay: hits. */
	for (int i = 16; i < 20; i++)
		check_content(f[i], i);
	fdc_stats(c, &st);
	CHECK_EQ(st.hits, 4);
	CHECK_EQ(st.opens, 60);
	/* Touching 16 makes 17 the least recent: a miss closes 17. */
	check_content(f[16], 16);
	check_content(f[0], 0);
	CHECK(fdc_is_open(f[16]) && !fdc_is_open(f[17]));
	/* A smaller capacity closes what no longer fits at once. */
	fdc_set_cap(c, 2);
	CHECK_EQ(open_f_files(), 2);
	CHECK(fdc_is_open(f[0]) && fdc_is_open(f[16]));
	for (int i = 0; i < 20; i++)
		fdc_file_close(f[i]);
	CHECK_EQ(open_f_files(), 0);
	fdc_free(c);
}

static int flushes;

static int count_flush(void *arg)
{
	flushes++;
	if (arg)
		fdc_mark_clean(arg);
	return 0;
}

TEST(fdc_pinned_and_dirty_files_stay_open_over_capacity)
{
	make_files(10);
	fdc_t *c = fdc_new(2, NULL, NULL);
	fdc_file_t *f[10];
	for (int i = 0; i < 10; i++)
		f[i] = file_n(c, i);
	check_content(f[0], 0);
	fdc_pin(f[0]);
	check_content(f[1], 1);
	fdc_mark_dirty(f[1], count_flush, f[1]);
	for (int i = 2; i < 10; i++)
		check_content(f[i], i);
	/* The two that may not be closed for the capacity stay, and count:
	 * only the file just used is open besides them. */
	CHECK(fdc_is_open(f[0]) && fdc_is_open(f[1]) && fdc_is_open(f[9]));
	CHECK_EQ(open_f_files(), 3);
	fdc_stats_t st;
	fdc_stats(c, &st);
	CHECK_EQ(st.pinned, 1);
	CHECK_EQ(st.dirty, 1);
	CHECK_EQ(flushes, 0); /* capacity never syncs anything early */
	/* Clean and unpinned again: back within the capacity. */
	fdc_mark_clean(f[1]);
	fdc_unpin(f[0]);
	CHECK_EQ(open_f_files(), 2);
	for (int i = 0; i < 10; i++)
		fdc_file_close(f[i]);
	fdc_free(c);
}

/* Lowers the soft descriptor limit so that exactly `room` more can be
 * opened: new descriptors take the lowest free numbers below the limit,
 * so the limit is where the room-th free number ends. */
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

TEST(fdc_out_of_descriptors_closes_clean_then_flushes_dirty)
{
	make_files(40);
	fdc_t *c = fdc_new(1000, NULL, NULL); /* the process limit is what binds */
	fdc_file_t *f[40];
	int pinned[40] = {0};
	for (int i = 0; i < 40; i++)
		f[i] = file_n(c, i);
	struct rlimit old = limit_to(8);
	for (int i = 0; i < 4; i++) {
		check_content(f[i], i);
		fdc_mark_dirty(f[i], count_flush, f[i]);
	}
	/* At the limit clean files are closed, never a dirty one. */
	for (int i = 4; i < 30; i++)
		check_content(f[i], i);
	CHECK_EQ(flushes, 0);
	CHECK_EQ(open_f_files(), 8);
	for (int i = 0; i < 4; i++)
		CHECK(fdc_is_open(f[i]));
	/* No clean file may go (pinned): each miss flushes the least
	 * recently used dirty file, then closes it. */
	for (int i = 4; i < 30; i++)
		if (fdc_is_open(f[i]))
			fdc_pin(f[i]), pinned[i] = 1;
	for (int i = 30; i < 34; i++) {
		check_content(f[i], i);
		fdc_pin(f[i]);
		pinned[i] = 1;
		CHECK_EQ(flushes, i - 29);
		CHECK(!fdc_is_open(f[i - 30]));
	}
	/* Nothing left that may be closed: the open fails. */
	CHECK_EQ(fdc_fd(f[34]), SL_EMFILE);
	fdc_stats_t st;
	fdc_stats(c, &st);
	CHECK_EQ(st.flushes, 4);
	CHECK_EQ(st.dirty, 0);
	CHECK(st.emfile >= 1);
	for (int i = 0; i < 40; i++)
		if (pinned[i])
			fdc_unpin(f[i]);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
	check_content(f[34], 34);
	for (int i = 0; i < 40; i++)
		fdc_file_close(f[i]);
	CHECK_EQ(open_f_files(), 0);
	fdc_free(c);
}

TEST(fdc_closed_file_stays_readable_for_other_references)
{
	make_files(3);
	fdc_t *c = fdc_new(1, NULL, NULL);
	fdc_file_t *a = file_n(c, 0), *b = file_n(c, 1), *x = file_n(c, 2);
	check_content(a, 0);
	check_content(b, 1); /* closes a's descriptor (capacity 1) */
	CHECK(!fdc_is_open(a));
	fdc_file_ref(a);
	fdc_file_close(a); /* the owner goes; a reader remains */
	CHECK(fdc_is_open(a));
	CHECK_EQ(unlink("f0"), 0);
	check_content(x, 2);
	check_content(b, 1);
	check_content(a, 0); /* kept open: unlinked, still readable */
	fdc_file_unref(a);
	CHECK_EQ(open_f_files(), 1);
	/* The cache outlives its owner's reference while files remain. */
	fdc_free(c);
	check_content(b, 1);
	fdc_file_close(b);
	fdc_file_close(x);
	CHECK_EQ(open_f_files(), 0);
}

TEST(fdc_open_temp_closes_cached_descriptors_when_out)
{
	make_files(12);
	fdc_t *c = fdc_new(100, NULL, NULL);
	fdc_file_t *f[12];
	struct rlimit old = limit_to(10);
	for (int i = 0; i < 10; i++) {
		f[i] = file_n(c, i);
		check_content(f[i], i);
	}
	CHECK_EQ(open("f10", O_RDONLY), -1);
	CHECK_EQ(errno, EMFILE);
	int fd = fdc_open_temp(c, "f10", O_RDONLY, 0);
	CHECK(fd >= 0);
	CHECK(!fdc_is_open(f[0])); /* the least recently used made room */
	fdc_close_temp(c, fd);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < 10; i++)
		fdc_file_close(f[i]);
	fdc_free(c);
	CHECK_EQ(fdc_cap_for_limit(1024), 512);
	CHECK_EQ(fdc_cap_for_limit(10), 16);
}
