/*
 * fuzz_journal.c — journal replay over arbitrary file contents: the input
 * becomes fuzz.journal, jrnl_open replays and repairs it, and an append
 * after the repair must replay again cleanly. Never a crash.
 */
#include "net/loop.h"
#include "store/journal.h"
#include "store/syncer.h"

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[] = "/tmp/sluice-fuzz-jrnl-XXXXXX";
	if (!mkdtemp(dir))
		return 0;
	char path[sizeof dir + 32];
	snprintf(path, sizeof path, "%s/fuzz.journal", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, data, size) != (ssize_t)size)
			abort();
		close(fd);
	}
	loop_t *loop = loop_new(NULL);
	syncer_t *syncer = syncer_new(loop, NULL);
	jrnl_opts_t o = {.fsync = {FSYNC_NEVER, 0},
	                 .compact_ratio_pct = 50,
	                 .compact_min_bytes = 1 << 20,
	                 .max_record = 1 << 16};
	jrnl_t *j = NULL;
	size_t n1 = 0, n2 = 0;
	if (jrnl_open(&j, loop, syncer, NULL, dir, "fuzz", &o, count_records, &n1) == 0) {
		if (jrnl_append(j, 7, "after", 5) != 0)
			abort();
		jrnl_close(j);
		j = NULL;
		/* The repaired journal plus one record replays exactly. */
		if (jrnl_open(&j, loop, syncer, NULL, dir, "fuzz", &o, count_records, &n2) != 0 ||
		    n2 != n1 + 1)
			abort();
		jrnl_close(j);
	}
	loop_run_once(loop, 0);
	syncer_free(syncer);
	loop_free(loop);
	unlink(path);
	char tmp[sizeof path + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
	return 0;
}
