/*
 * clean_bench.c — the log cleaner's throughput (plog_clean, one whole
 * pass) against the raw disk, in one run on the same disk.
 *
 *   clean_bench DIR [MIB]
 *
 * Raw row: sequential 1 MiB write()s of MIB MiB to a fresh file, then one
 * fdatasync (the cleaner writes each segment copy the same way). Cleaner
 * rows: a partition log of MIB MiB in 64 MiB segments, keyed records of
 * 1 KiB in batches of 16, every key updated `updates` times (so 1 - 1 /
 * updates of the records go), uncompressed and lz4; the pass's read rate
 * (segment bytes cleaned per second; for lz4 these are compressed bytes, so
 * records per second is the comparable figure) and written bytes. Each figure is
 * the best of 3. A benchmark, not a test: it asserts nothing.
 */
#include "core/buf.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/time.h"
#include "store/batch.h"
#include "store/plog.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bound.h"

#define REPS 3
#define REC 1024
#define PER_BATCH 16

static double raw_mbps(const char *dir, uint64_t bytes)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/raw.dat", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	size_t blk = 1 << 20;
	uint8_t *b = malloc(blk);
	for (size_t i = 0; i < blk; i++)
		b[i] = (uint8_t)(i * 31 + 7);
	int64_t t0 = time_mono_ns();
	for (uint64_t done = 0; done < bytes; done += blk)
		if (write(fd, b, blk) != (ssize_t)blk) {
			perror("write");
			exit(1);
		}
	if (fdatasync(fd) < 0)
		perror("fdatasync");
	double secs = (double)(time_mono_ns() - t0) / 1e9;
	close(fd);
	unlink(path);
	free(b);
	return (double)bytes / secs / 1e6;
}

/* Fills a log of about `bytes` and cleans it once; returns the pass. */
static void one(const char *dir, uint64_t bytes, int codec, int updates, plog_clean_stats_t *st)
{
	char ldir[4096], cmd[4200];
	snprintf(ldir, sizeof ldir, "%s/log", dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", ldir);
	if (system(cmd) != 0)
		exit(1);
	plog_opts_t o;
	memset(&o, 0, sizeof o);
	o.segment_bytes = 64 << 20;
	o.roll_ms = INT64_MAX;
	o.retention_bytes = o.retention_ms = -1;
	o.max_batch_bytes = 1 << 24;
	o.index_interval_bytes = 4096;
	o.fsync.mode = FSYNC_NEVER;
	log_t lg;
	log_init(&lg, LOG_ERROR, 2);
	plog_t *p;
	if (plog_open(&p, ldir, &o, NULL, &lg, 1) < 0)
		exit(1);
	uint64_t nrec = bytes / REC, keys = nrec / (uint64_t)updates;
	static uint8_t val[REC];
	for (size_t i = 0; i < sizeof val; i++)
		val[i] = (uint8_t)(i * 13 + 1);
	buf_t b = BUF_INIT, c = BUF_INIT;
	char key[PER_BATCH][24];
	for (uint64_t r = 0; r < nrec; r += PER_BATCH) {
		batch_record_t recs[PER_BATCH];
		for (int j = 0; j < PER_BATCH; j++) {
			memset(&recs[j], 0, sizeof recs[j]);
			snprintf(key[j], sizeof key[j], "key-%llu",
			         (unsigned long long)((r + (uint64_t)j) % keys));
			recs[j].timestamp = 1700000000000LL + (int64_t)r;
			recs[j].key = (const uint8_t *)key[j];
			recs[j].key_len = (int32_t)strlen(key[j]);
			recs[j].value = val;
			recs[j].value_len = REC - 40;
		}
		buf_reset(&b);
		if (batch_build(&b, NULL, recs, PER_BATCH) < 0)
			exit(1);
		if (codec) {
			/* Compress the records and re-frame the header. */
			buf_reset(&c);
			buf_append(&c, buf_data(&b), BATCH_HDR_SIZE);
			if (batch_compress(codec, buf_data(&b) + BATCH_HDR_SIZE,
			                   buf_len(&b) - BATCH_HDR_SIZE, &c) < 0)
				exit(1);
			uint8_t *q = buf_data(&c);
			be16_store(q + BATCH_OFF_ATTRIBUTES, (uint16_t)codec);
			be32_store(q + BATCH_OFF_LENGTH,
			           (uint32_t)(buf_len(&c) - BATCH_LOG_OVERHEAD));
			be32_store(q + BATCH_OFF_CRC, crc32c(0, q + BATCH_OFF_ATTRIBUTES,
			                                     buf_len(&c) - BATCH_OFF_ATTRIBUTES));
		}
		buf_t *in = codec ? &c : &b;
		int64_t base;
		if (plog_append(p, buf_data(in), buf_len(in), -1, &base) < 0)
			exit(1);
	}
	/* Seal everything so that all of it is cleanable. */
	plog_close(p);
	o.segment_bytes = 16384;
	if (plog_open(&p, ldir, &o, NULL, &lg, 1) < 0)
		exit(1);
	buf_reset(&b);
	batch_record_t one_rec = {.key = (const uint8_t *)"x", .key_len = 1, .value_len = -1};
	(void)batch_build(&b, NULL, &one_rec, 1);
	int64_t base;
	for (int i = 0; i < 2; i++)
		(void)plog_append(p, buf_data(&b), buf_len(&b), -1, &base);
	/* Written back first, so the pass does not pay for the fill's dirty
	 * pages; its reads may still come from the page cache (as a cleaner's
	 * often do: it follows the writers). */
	sync();
	plog_clean_opts_t co;
	memset(&co, 0, sizeof co);
	co.now_ms = time_wall_ms();
	co.delete_retention_ms = 86400000;
	co.max_lag_ms = INT64_MAX;
	co.limit = plog_end_offset(p);
	if (plog_clean(p, &co, st) != 1)
		fprintf(stderr, "clean_bench: no pass\n");
	plog_close(p);
	buf_deinit(&b);
	buf_deinit(&c);
}

int main(int argc, char **argv)
{
	bench_bound("clean_bench", 600);
	if (argc < 2) {
		fprintf(stderr, "usage: clean_bench DIR [MIB]\n");
		return 2;
	}
	uint64_t bytes = (uint64_t)(argc > 2 ? atoi(argv[2]) : 256) << 20;
	double raw = 0;
	for (int i = 0; i < REPS; i++) {
		double r = raw_mbps(argv[1], bytes);
		raw = r > raw ? r : raw;
	}
	printf("%-34s %9.1f MB/s\n", "raw write (1 MiB + fdatasync)", raw);
	static const struct {
		const char *name;
		int codec, updates;
	} rows[] = {
	    {"cleaner, plain, 10 updates/key", 0, 10},
	    {"cleaner, plain, 2 updates/key", 0, 2},
	    {"cleaner, lz4, 10 updates/key", 3, 10},
	};
	for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
		double best = 0, krps = 0;
		plog_clean_stats_t st, keep = {0};
		for (int i = 0; i < REPS; i++) {
			one(argv[1], bytes, rows[k].codec, rows[k].updates, &st);
			double secs = st.elapsed_us > 0 ? (double)st.elapsed_us / 1e6 : 1e-6;
			double mbps = (double)st.bytes_read / secs / 1e6;
			if (mbps > best) {
				best = mbps;
				keep = st;
				krps = (double)st.records_in / secs / 1e3;
			}
		}
		printf(
		    "%-34s %9.1f MB/s  (%.2fx raw; %.0f k records/s; %llu -> %llu bytes, %llu -> "
		    "%llu records)\n",
		    rows[k].name, best, best / raw, krps, (unsigned long long)keep.bytes_read,
		    (unsigned long long)keep.bytes_written, (unsigned long long)keep.records_in,
		    (unsigned long long)keep.records_out);
	}
	return 0;
}
