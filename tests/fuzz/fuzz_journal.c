/*
 * fuzz_journal.c — journal open over arbitrary file contents: the input
 * (after its first byte) becomes fuzz.journal, jrnl_open replays and
 * repairs it (cuts a torn tail, keeps a damaged one aside, sets a foreign
 * file aside), and an append after the repair must replay again cleanly:
 * the repaired journal plus one record gives exactly one record more.
 * Never a crash. The first byte picks the recovery policy: bit 0 the
 * previous run stopped cleanly, bit 1 strict.recovery (which may refuse).
 *
 * Persistent: one loop and syncer for the whole process and one directory
 * (in /dev/shm when there is one), emptied between inputs without a shell;
 * a loop, a syncer thread and `rm -rf` per input ran ~10 inputs a second.
 */
#include "core/err.h"
#include "net/loop.h"
#include "store/journal.h"
#include "store/syncer.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_records(void *arg, uint8_t type, const uint8_t *p, size_t n)
{
	(void)type;
	(void)p;
	(void)n;
	(*(size_t *)arg)++;
	return 0;
}

static struct {
	loop_t *loop;
	syncer_t *syncer;
	char dir[64];
} w;

/* Removes every file of the directory (the journal, its .tmp, copies
 * kept aside). */
static void empty_dir(void)
{
	DIR *d = opendir(w.dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
}

static void teardown(void)
{
	loop_run_once(w.loop, 0);
	syncer_free(w.syncer);
	loop_free(w.loop);
	empty_dir();
	rmdir(w.dir);
}

static void setup(void)
{
	snprintf(w.dir, sizeof w.dir, "%s/sluice-fuzz-jrnl-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(w.dir))
		abort();
	w.loop = loop_new(NULL);
	w.syncer = syncer_new(w.loop, NULL);
	if (!w.loop || !w.syncer)
		abort();
	atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!w.loop)
		setup();
	uint8_t policy = size ? data[0] : 0;
	if (size) {
		data++;
		size--;
	}
	char path[sizeof w.dir + 32];
	snprintf(path, sizeof path, "%s/fuzz.journal", w.dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	jrnl_opts_t o = {.fsync = {FSYNC_NEVER, 0},
	                 .compact_ratio_pct = 50,
	                 .compact_min_bytes = 1 << 20,
	                 .max_record = 1 << 16,
	                 .clean_stop = policy & 1,
	                 .strict = (policy >> 1) & 1};
	jrnl_t *j = NULL;
	size_t n1 = 0, n2 = 0;
	int rc = jrnl_open(&j, w.loop, w.syncer, NULL, w.dir, "fuzz", &o, count_records, &n1);
	if (rc == 0) {
		if (jrnl_append(j, 7, "after", 5) != 0)
			abort();
		jrnl_close(j);
		j = NULL;
		/* The repaired journal plus one record replays exactly, and a
		 * clean journal is no longer damaged. */
		if (jrnl_open(&j, w.loop, w.syncer, NULL, w.dir, "fuzz", &o, count_records, &n2) !=
		        0 ||
		    n2 != n1 + 1 || jrnl_open_damaged(j))
			abort();
		jrnl_close(j);
	} else if (!(rc == SL_ECORRUPT && o.strict) && rc != SL_ETOOBIG) {
		/* Only strict recovery refuses damage; a valid record over the
		 * limit is refused rather than cut. */
		abort();
	}
	loop_run_once(w.loop, 0);
	empty_dir();
	return 0;
}
