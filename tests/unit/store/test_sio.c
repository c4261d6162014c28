/*
 * test_sio.c — the store's file interface: fault rules (matching by op and
 * path, skip and count, short writes, dup'd descriptors keep their path)
 * and the power-loss simulation (unsynced writes and truncations dropped
 * or torn, synced ones kept, a sync on a dup'd descriptor counts).
 */
#include "core/err.h"
#include "store/sio.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static sio_fault_t rule(const char *spec)
{
	sio_fault_t f;
	char err[100];
	CHECK_MSG(sio_fault_parse(spec, &f, err, sizeof err) == 0, "%s", err);
	return f;
}

TEST(sio_faults_match_op_path_skip_and_count)
{
	sio_t *io = sio_new();
	int a = sio_open(io, "a.journal", O_RDWR | O_CREAT, 0644);
	int b = sio_open(io, "b.log", O_RDWR | O_CREAT, 0644);
	CHECK(a >= 0 && b >= 0);
	sio_fault_t f = rule("op=pwrite|fdatasync,path=a.journal,skip=1,count=2,errno=ENOSPC");
	CHECK_EQ(sio_fault_add(io, &f), 0);
	CHECK_EQ(sio_pwrite(io, b, "x", 1, 0), 1); /* other path */
	CHECK_EQ(sio_pwrite(io, a, "x", 1, 0), 1); /* skipped */
	errno = 0;
	CHECK_EQ(sio_pwrite(io, a, "x", 1, 0), -1);
	CHECK_EQ(errno, ENOSPC);
	int d = sio_dup(io, a); /* the copy keeps the path */
	CHECK_EQ(sio_fdatasync(io, d), -1);
	CHECK_EQ(sio_fdatasync(io, d), 0); /* count used up */
	CHECK_EQ(sio_fault_hits(io), 2);
	CHECK_EQ(sio_ftruncate(io, a, 0), 0);
	f = rule("op=pwrite,short=1,count=1");
	CHECK_EQ(sio_fault_add(io, &f), 0);
	size_t done = 0;
	CHECK_EQ(sio_pwrite_all(io, a, "abcdef", 6, 0, &done), 0); /* loops over the short one */
	CHECK_EQ(done, 6);
	char buf[8] = {0};
	CHECK_EQ(pread(a, buf, 6, 0), 6);
	CHECK_MEM(buf, "abcdef", 6);
	sio_fault_clear(io);
	CHECK_EQ(sio_unlink(io, "b.log"), 0);
	char err[100];
	sio_fault_t bad;
	CHECK_EQ(sio_fault_parse("op=bogus", &bad, err, sizeof err), SL_EINVAL);
	CHECK_EQ(sio_fault_parse("path=x", &bad, err, sizeof err), SL_EINVAL);
	sio_close(io, a);
	sio_close(io, b);
	sio_close(io, d);
	sio_free(io);
}

static void fill(char *p, char c, size_t n)
{
	memset(p, c, n);
}

/* Synced bytes survive a simulated power loss; unsynced writes, growth and
 * shrinking are undone; a sync through a dup'd descriptor counts. */
TEST(sio_powerloss_drops_what_was_not_synced)
{
	sio_t *io = sio_new();
	sio_powerloss_enable(io);
	int fd = sio_open(io, "f", O_RDWR | O_CREAT, 0644);
	static char a[4096], b[4096];
	fill(a, 'a', sizeof a);
	fill(b, 'b', sizeof b);
	CHECK_EQ(sio_pwrite(io, fd, a, sizeof a, 0), (ssize_t)sizeof a);
	int d = sio_dup(io, fd);
	CHECK_EQ(sio_fdatasync(io, d), 0);
	CHECK_EQ(sio_pwrite(io, fd, b, 1000, 100), 1000);      /* overwrite */
	CHECK_EQ(sio_pwrite(io, fd, b, sizeof b, 4096), 4096); /* growth */
	CHECK_EQ(sio_powerloss(io, 0, 1), 1);
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 4096);
	static char got[8192];
	CHECK_EQ(pread(fd, got, sizeof got, 0), 4096);
	CHECK_MEM(got, a, sizeof a);
	/* An unsynced cut comes back too. */
	CHECK_EQ(sio_ftruncate(io, fd, 10), 0);
	CHECK_EQ(sio_powerloss(io, 0, 1), 1);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, 4096);
	CHECK_EQ(pread(fd, got, 4096, 0), 4096);
	CHECK_MEM(got, a, sizeof a);
	sio_close(io, fd);
	sio_close(io, d);
	sio_free(io);
}

/* Torn: each 512-byte sector of an unsynced write is either the new or the
 * old content, never anything else; with this seed some of each. */
TEST(sio_powerloss_tears_sector_by_sector)
{
	sio_t *io = sio_new();
	sio_powerloss_enable(io);
	int fd = sio_open(io, "t", O_RDWR | O_CREAT, 0644);
	static char a[8192], b[8192], got[8192];
	fill(a, 'a', sizeof a);
	fill(b, 'b', sizeof b);
	CHECK_EQ(sio_pwrite(io, fd, a, sizeof a, 0), (ssize_t)sizeof a);
	CHECK_EQ(sio_fsync(io, fd), 0);
	CHECK_EQ(sio_pwrite(io, fd, b, sizeof b, 0), (ssize_t)sizeof b);
	CHECK_EQ(sio_powerloss(io, 1, 42), 1);
	CHECK_EQ(pread(fd, got, sizeof got, 0), (ssize_t)sizeof got);
	int olds = 0, news = 0;
	for (size_t s = 0; s < sizeof got; s += 512) {
		CHECK(got[s] == 'a' || got[s] == 'b');
		for (size_t i = 1; i < 512; i++)
			CHECK_EQ(got[s + i], got[s]);
		olds += got[s] == 'a';
		news += got[s] == 'b';
	}
	CHECK(olds > 0 && news > 0);
	sio_close(io, fd);
	sio_free(io);
}
