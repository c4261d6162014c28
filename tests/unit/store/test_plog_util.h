/*
 * test_plog_util.h — shared helpers for the partition-log tests:
 * deterministic batches, small-segment options, and a reader that walks
 * every stored batch through plog_read. Test code only, single thread.
 */
#ifndef SL_TESTS_PLOG_UTIL_H
#define SL_TESTS_PLOG_UTIL_H

#include "test.h"

#include "core/buf.h"
#include "core/err.h"
#include "store/batch.h"
#include "store/plog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define T_TS0 1700000000000LL

static inline plog_opts_t t_opts(void)
{
	plog_opts_t o;
	memset(&o, 0, sizeof o);
	o.segment_bytes = 1 << 30;
	o.roll_ms = 7LL * 24 * 3600 * 1000;
	o.retention_bytes = -1;
	o.retention_ms = -1;
	o.max_batch_bytes = 1 << 20;
	o.index_interval_bytes = 1024;
	o.fsync.mode = FSYNC_NEVER;
	return o;
}

/* Number of records of the batch built for seed (1..5). */
static inline int t_nrec(int64_t seed)
{
	return 1 + (int)(seed % 5);
}

/* Appends to out the deterministic batch for seed: t_nrec(seed) records
 * whose values (derived from seed) total roughly 40..~3000 bytes, every
 * 13th one ~20 KiB; timestamps T_TS0 + seed * 10 + record index. */
static inline void t_batch(buf_t *out, int64_t seed)
{
	int n = t_nrec(seed);
	batch_record_t recs[5];
	static uint8_t val[5][24000];
	char key[5][24];
	for (int i = 0; i < n; i++) {
		size_t vlen = (size_t)((seed * 131 + i * 17) % 600);
		if (seed % 13 == 7 && i == 0)
			vlen = 20000 + (size_t)(seed % 1000);
		uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull + (uint64_t)i;
		for (size_t j = 0; j < vlen; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			val[i][j] = (uint8_t)x;
		}
		snprintf(key[i], sizeof key[i], "key-%lld-%d", (long long)seed, i);
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].timestamp = T_TS0 + seed * 10 + i;
		recs[i].key = (const uint8_t *)key[i];
		recs[i].key_len = (int32_t)strlen(key[i]);
		recs[i].value = val[i];
		recs[i].value_len = (int32_t)vlen;
	}
	CHECK_EQ(batch_build(out, NULL, recs, (size_t)n), 0);
}

/* The bytes plog stores for the batch of seed appended at base_offset. */
static inline void t_stored(buf_t *out, int64_t seed, int64_t base_offset)
{
	size_t at = buf_len(out);
	t_batch(out, seed);
	batch_set_base_offset(buf_data(out) + at, base_offset);
	batch_set_leader_epoch(buf_data(out) + at, PLOG_LEADER_EPOCH);
}

/* Appends the batch for seed; returns its base offset. */
static inline int64_t t_append(plog_t *p, int64_t seed)
{
	buf_t b = BUF_INIT;
	t_batch(&b, seed);
	int64_t base = -1;
	int rc = plog_append(p, buf_data(&b), buf_len(&b), -1, &base);
	CHECK_MSG(rc == 0, "append seed %lld: %s", (long long)seed, sl_strerror(rc));
	buf_deinit(&b);
	return base;
}

static inline size_t batch_size_at(const uint8_t *p, size_t n)
{
	batch_hdr_t h;
	if (batch_peek(p, n, &h) < 0 || batch_size(&h) > n)
		return n + 1; /* makes validate fail */
	return batch_size(&h);
}

/* Reads region bytes into out (replacing its contents). */
static inline void t_read_region(const plog_region_t *r, buf_t *out)
{
	buf_reset(out);
	uint8_t *p = buf_reserve(out, r->len + 1);
	CHECK_EQ(pread(r->fd, p, r->len, r->pos), (ssize_t)r->len);
	buf_commit(out, r->len);
}

/* Checks that reading at offset returns whole batches, the first one
 * containing offset, and (when want != NULL) that the first batch equals
 * want[0..wlen). Returns the first batch's base offset. */
static inline int64_t t_check_read(plog_t *p, int64_t offset, size_t max_bytes, const uint8_t *want,
                                   size_t wlen)
{
	plog_region_t r;
	int rc = plog_read(p, offset, max_bytes, &r);
	CHECK_MSG(rc == 0, "read %lld: %s", (long long)offset, sl_strerror(rc));
	CHECK_MSG(r.len > 0, "read %lld: empty", (long long)offset);
	buf_t b = BUF_INIT;
	t_read_region(&r, &b);
	size_t at = 0;
	int nb = 0;
	while (at < r.len) {
		batch_hdr_t h;
		CHECK_EQ(batch_validate(buf_data(&b) + at,
		                        batch_size_at(buf_data(&b) + at, r.len - at), 1 << 30, &h),
		         0);
		if (nb == 0) {
			CHECK_EQ(h.base_offset, r.first_offset);
			CHECK(h.base_offset <= offset && batch_last_offset(&h) >= offset);
			if (want) {
				CHECK_EQ(batch_size(&h), wlen);
				CHECK_MEM(buf_data(&b) + at, want, wlen);
			}
		}
		CHECK(batch_last_offset(&h) < plog_end_offset(p));
		at += batch_size(&h);
		nb++;
	}
	CHECK_EQ(at, r.len);
	CHECK(nb == 1 || r.len <= max_bytes);
	buf_deinit(&b);
	return r.first_offset;
}

static inline uint64_t t_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return (uint64_t)-1;
	return (uint64_t)st.st_size;
}

/* Reads a whole small file into out; returns its length or -1. */
static inline long t_slurp(const char *path, buf_t *out)
{
	buf_reset(out);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	char tmp[65536];
	ssize_t n;
	while ((n = read(fd, tmp, sizeof tmp)) > 0)
		buf_append(out, tmp, (size_t)n);
	close(fd);
	return (long)buf_len(out);
}

static inline void t_spit(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, p, n), (ssize_t)n);
	close(fd);
}

#endif
