/*
 * test_segment.c — segments and their indexes, through the partition-log
 * API without a syncer (inline syncs): append and read, offset-index and
 * time-index lookups, rolling, retention, delete_before, reopen after clean
 * and unclean close, index rebuilds, preallocation and write failures.
 */
#include "test_plog_util.h"

#include "store/segment.h"

#include <signal.h>
#include <sys/resource.h>

#define MAXB 2048

typedef struct model {
	int64_t base[MAXB];
	int64_t seed[MAXB];
	int n;
} model_t;

static void m_append(model_t *m, plog_t *p, int64_t seed)
{
	int64_t want = plog_end_offset(p);
	int64_t base = t_append(p, seed);
	CHECK_EQ(base, want);
	CHECK_EQ(plog_end_offset(p), base + t_nrec(seed));
	m->base[m->n] = base;
	m->seed[m->n] = seed;
	m->n++;
}

/* Every offset of every batch from index `from` on reads back as its batch. */
static void m_verify(const model_t *m, plog_t *p, int from)
{
	buf_t want = BUF_INIT;
	for (int i = from; i < m->n; i++) {
		buf_reset(&want);
		t_stored(&want, m->seed[i], m->base[i]);
		for (int64_t o = m->base[i]; o < m->base[i] + t_nrec(m->seed[i]); o++) {
			size_t max = (size_t)(o * 977 % 9000);
			CHECK_EQ(t_check_read(p, o, max, buf_data(&want), buf_len(&want)),
			         m->base[i]);
		}
	}
	buf_deinit(&want);
}

static int64_t m_find_time(const model_t *m, int64_t ts)
{
	for (int i = 0; i < m->n; i++) {
		int64_t max = T_TS0 + m->seed[i] * 10 + t_nrec(m->seed[i]) - 1;
		if (max >= ts)
			return m->base[i];
	}
	return -1;
}

TEST(plog_append_read)
{
	plog_opts_t o = t_opts();
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	CHECK_EQ(plog_start_offset(p), 0);
	CHECK_EQ(plog_end_offset(p), 0);
	plog_region_t r;
	CHECK_EQ(plog_read(p, 0, 100, &r), 0);
	CHECK_EQ(r.len, 0);
	static model_t m;
	for (int i = 0; i < 300; i++)
		m_append(&m, p, i);
	m_verify(&m, p, 0);
	/* Reads stop at the end offset and refuse what is outside. */
	CHECK_EQ(plog_read(p, plog_end_offset(p), 100, &r), 0);
	CHECK_EQ(r.len, 0);
	CHECK_EQ(plog_read(p, plog_end_offset(p) + 1, 100, &r), SL_ERANGE);
	CHECK_EQ(plog_read(p, -1, 100, &r), SL_ERANGE);
	/* A large max_bytes returns every batch (one segment) and no more. */
	CHECK_EQ(plog_read(p, 0, 1 << 30, &r), 0);
	CHECK_EQ(r.len, plog_size_bytes(p));
	int64_t ts, off;
	plog_max_timestamp(p, &ts, &off);
	CHECK_EQ(ts, T_TS0 + 299 * 10 + t_nrec(299) - 1);
	CHECK_EQ(off, m.base[299]);
	plog_close(p);
}

TEST(plog_index_lookups_at_and_between_entries)
{
	plog_opts_t o = t_opts();
	o.index_interval_bytes = 3000;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 200; i++)
		m_append(&m, p, i);
	plog_close(p);
	/* The index file has entries; look up exactly at each entry and at
	 * every offset between entries. */
	buf_t idx = BUF_INIT;
	CHECK(t_slurp("log/00000000000000000000.index", &idx) > 0);
	CHECK_EQ(buf_len(&idx) % 8, 0);
	size_t n = buf_len(&idx) / 8;
	CHECK(n >= 10);
	uint32_t prev_pos = 0;
	for (size_t k = 0; k < n; k++) {
		uint32_t rel = be32_load(buf_data(&idx) + k * 8);
		uint32_t pos = be32_load(buf_data(&idx) + k * 8 + 4);
		CHECK(pos > prev_pos);
		/* Spacing: at least the interval since the previous entry. */
		CHECK(pos - prev_pos >= 3000);
		prev_pos = pos;
		int found = 0;
		for (int i = 0; i < m.n; i++)
			found |= m.base[i] == rel;
		CHECK_MSG(found, "index entry %zu points at offset %u, not a batch start", k, rel);
	}
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	m_verify(&m, p, 0);
	plog_close(p);
	buf_deinit(&idx);
}

TEST(plog_time_index_lookups)
{
	plog_opts_t o = t_opts();
	o.index_interval_bytes = 500;
	o.segment_bytes = 40000;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 150; i++)
		m_append(&m, p, i);
	CHECK(plog_segment_count(p) > 3);
	for (int reopen = 0; reopen < 2; reopen++) {
		for (int64_t ts = T_TS0 - 5; ts < T_TS0 + 150 * 10 + 10; ts += 3) {
			int64_t off = -1;
			int rc = plog_find_by_time(p, ts, &off);
			int64_t want = m_find_time(&m, ts);
			if (want < 0) {
				CHECK_EQ(rc, SL_ENOENT);
			} else {
				CHECK_EQ(rc, 0);
				CHECK_MSG(off == want, "ts %lld: got %lld want %lld", (long long)ts,
				          (long long)off, (long long)want);
			}
		}
		plog_close(p);
		CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, reopen), 0);
	}
	/* The time index files hold strictly increasing timestamps. */
	buf_t t = BUF_INIT;
	CHECK(t_slurp("log/00000000000000000000.timeindex", &t) > 0);
	CHECK_EQ(buf_len(&t) % 12, 0);
	for (size_t k = 1; k < buf_len(&t) / 12; k++)
		CHECK(be64_load(buf_data(&t) + k * 12) > be64_load(buf_data(&t) + (k - 1) * 12));
	buf_deinit(&t);
	plog_close(p);
}

TEST(plog_log_append_time)
{
	plog_opts_t o = t_opts();
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	buf_t b = BUF_INIT;
	t_batch(&b, 3);
	int64_t base;
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), T_TS0 + 999999, &base), 0);
	batch_hdr_t h;
	CHECK_EQ(batch_validate(buf_data(&b), buf_len(&b), 1 << 20, &h), 0);
	CHECK(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
	CHECK_EQ(t_check_read(p, 0, 1, buf_data(&b), buf_len(&b)), 0);
	int64_t ts, off;
	plog_max_timestamp(p, &ts, &off);
	CHECK_EQ(ts, T_TS0 + 999999);
	CHECK_EQ(plog_find_by_time(p, T_TS0 + 999999, &off), 0);
	CHECK_EQ(off, 0);
	buf_deinit(&b);
	plog_close(p);
}

TEST(plog_rejects_bad_batches)
{
	plog_opts_t o = t_opts();
	o.max_batch_bytes = 5000;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	buf_t b = BUF_INIT;
	int64_t base;
	t_batch(&b, 7); /* ~20 KiB */
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &base), SL_ETOOBIG);
	buf_reset(&b);
	t_batch(&b, 1);
	buf_data(&b)[buf_len(&b) - 1] ^= 1;
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &base), SL_ECORRUPT);
	CHECK_EQ(plog_append(p, buf_data(&b), 40, -1, &base), SL_ECORRUPT);
	CHECK_EQ(plog_end_offset(p), 0);
	CHECK_EQ(plog_size_bytes(p), 0);
	CHECK_EQ(t_append(p, 2), 0);
	buf_deinit(&b);
	plog_close(p);
}

TEST(plog_roll_by_size)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 16384;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 200; i++)
		m_append(&m, p, i);
	int n = plog_segment_count(p);
	CHECK(n > 10);
	/* A read never crosses a segment boundary, each segment stays within
	 * its size unless it holds a single larger batch. */
	plog_region_t r;
	int64_t off = 0;
	int regions = 0;
	while (off < plog_end_offset(p)) {
		CHECK_EQ(plog_read(p, off, 1 << 30, &r), 0);
		CHECK(r.len > 0);
		CHECK(r.len <= 16384 || r.len > 20000);
		batch_hdr_t h;
		uint8_t hb[BATCH_HDR_SIZE];
		CHECK_EQ(pread(r.fd, hb, sizeof hb, r.pos), (ssize_t)sizeof hb);
		CHECK_EQ(batch_peek(hb, sizeof hb, &h), 0);
		CHECK_EQ(h.base_offset, off);
		/* Advance past the region by summing its batches. */
		buf_t b = BUF_INIT;
		t_read_region(&r, &b);
		size_t at = 0;
		while (at < r.len) {
			CHECK_EQ(batch_peek(buf_data(&b) + at, r.len - at, &h), 0);
			at += batch_size(&h);
			off = batch_last_offset(&h) + 1;
		}
		buf_deinit(&b);
		regions++;
	}
	CHECK_EQ(regions, n);
	m_verify(&m, p, 0);
	plog_close(p);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	CHECK_EQ(plog_segment_count(p), n);
	m_verify(&m, p, 0);
	/* Sealed segments were trimmed to their data. */
	char path[256];
	seg_path(path, sizeof path, "log", 0, ".log");
	CHECK(t_file_size(path) <= 16384 + 21000);
	plog_close(p);
}

TEST(plog_roll_by_time)
{
	plog_opts_t o = t_opts();
	o.roll_ms = 1000;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	for (int i = 0; i < 5; i++)
		t_append(p, i);
	/* Batch timestamps start at T_TS0: not old enough yet. */
	CHECK_EQ(plog_housekeep(p, T_TS0 + 999), 0);
	CHECK_EQ(plog_segment_count(p), 1);
	CHECK_EQ(plog_housekeep(p, T_TS0 + 1000), 0);
	CHECK_EQ(plog_segment_count(p), 2);
	/* An empty active segment never rolls. */
	CHECK_EQ(plog_housekeep(p, T_TS0 + 100000), 0);
	CHECK_EQ(plog_segment_count(p), 2);
	int64_t end = plog_end_offset(p);
	CHECK_EQ(t_append(p, 100), end);
	char path[256];
	seg_path(path, sizeof path, "log", end, ".log");
	CHECK(t_file_size(path) != (uint64_t)-1);
	plog_close(p);
}

TEST(plog_retention_by_size)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 16384;
	o.retention_bytes = 50000;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 200; i++)
		m_append(&m, p, i);
	uint64_t before = plog_size_bytes(p);
	int nseg = plog_segment_count(p);
	int del = plog_housekeep(p, T_TS0);
	CHECK(del > 0);
	CHECK_EQ(plog_segment_count(p), nseg - del);
	CHECK(plog_size_bytes(p) < before);
	/* Kafka's rule: keep deleting while the rest is still >= the limit. */
	CHECK(plog_size_bytes(p) >= 50000 - 16384 - 21000);
	int64_t start = plog_start_offset(p);
	CHECK(start > 0);
	plog_region_t r;
	CHECK_EQ(plog_read(p, start - 1, 100, &r), SL_ERANGE);
	int first = 0;
	while (m.base[first] < start)
		first++;
	CHECK_EQ(m.base[first], start);
	m_verify(&m, p, first);
	CHECK_EQ(plog_housekeep(p, T_TS0), 0);
	plog_close(p);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	CHECK_EQ(plog_start_offset(p), start);
	m_verify(&m, p, first);
	plog_close(p);
}

TEST(plog_retention_by_age)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 16384;
	o.retention_ms = 500;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 100; i++)
		m_append(&m, p, i);
	int nseg = plog_segment_count(p);
	CHECK(nseg > 4);
	/* Segment max timestamps: T_TS0 + seed*10 + ... ; "now" = ts of seed
	 * 60 + 500 expires the segments whose batches are all older. */
	int64_t now = T_TS0 + 60 * 10 + 500 + 5;
	int del = plog_housekeep(p, now);
	CHECK(del > 0);
	int64_t start = plog_start_offset(p);
	for (int i = 0; i < m.n; i++) {
		int64_t max = T_TS0 + m.seed[i] * 10 + t_nrec(m.seed[i]) - 1;
		if (m.base[i] >= start)
			continue;
		CHECK_MSG(now - max > 500, "batch %d deleted too early", i);
	}
	/* The segment holding seed 60 is still there. */
	CHECK(start <= m.base[60]);
	/* Everything expired: the active segment is rolled and deleted too. */
	del = plog_housekeep(p, T_TS0 + 100 * 10 + 10000);
	CHECK(del > 0);
	CHECK_EQ(plog_segment_count(p), 1);
	CHECK_EQ(plog_start_offset(p), plog_end_offset(p));
	CHECK_EQ(plog_size_bytes(p), 0);
	int64_t end = plog_end_offset(p);
	CHECK_EQ(t_append(p, 5), end);
	CHECK_EQ(t_check_read(p, end, 1, NULL, 0), end);
	plog_close(p);
}

TEST(plog_delete_before_persists)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 16384;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 120; i++)
		m_append(&m, p, i);
	int nseg = plog_segment_count(p);
	CHECK(t_nrec(m.seed[51]) > 1);
	int64_t cut = m.base[51] + 1; /* inside a batch */
	CHECK_EQ(plog_delete_before(p, plog_end_offset(p) + 1), SL_ERANGE);
	CHECK_EQ(plog_delete_before(p, cut), 0);
	CHECK_EQ(plog_start_offset(p), cut);
	CHECK(plog_segment_count(p) < nseg);
	plog_region_t r;
	CHECK_EQ(plog_read(p, cut - 1, 100, &r), SL_ERANGE);
	CHECK_EQ(t_check_read(p, cut, 1, NULL, 0), m.base[51]);
	/* Moving backwards is a no-op. */
	CHECK_EQ(plog_delete_before(p, 3), 0);
	CHECK_EQ(plog_start_offset(p), cut);
	plog_close(p);
	for (int clean = 0; clean < 2; clean++) {
		CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, clean), 0);
		CHECK_EQ(plog_start_offset(p), cut);
		m_verify(&m, p, 52);
		int64_t off;
		CHECK_EQ(plog_find_by_time(p, 0, &off), 0);
		CHECK_EQ(off, cut);
		plog_close(p);
	}
	/* A damaged checkpoint is ignored: the start falls back to the first
	 * segment's base, never beyond the data. */
	t_spit("log/start-offset", "garbage", 7);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	CHECK(plog_start_offset(p) <= cut);
	plog_close(p);
}

/* A log whose owner replays its trims (Redis streams) moves its start in
 * memory and drops whole segments, but writes no start-offset file: a
 * reopening starts at the first segment kept, below the cut, and the
 * owner's TRIM records take it from there. */
TEST(plog_delete_before_replayed_start_writes_nothing)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 16384;
	o.start_replayed = 1;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 120; i++)
		m_append(&m, p, i);
	int nseg = plog_segment_count(p);
	int64_t cut = m.base[51] + 1;
	CHECK_EQ(plog_delete_before(p, cut), 0);
	CHECK_EQ(plog_start_offset(p), cut);
	CHECK(plog_segment_count(p) < nseg);
	plog_region_t r;
	CHECK_EQ(plog_read(p, cut - 1, 100, &r), SL_ERANGE);
	CHECK(access("log/start-offset", F_OK) < 0);
	plog_close(p);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	int64_t start = plog_start_offset(p);
	CHECK(start < cut);
	CHECK(start > 0);
	m_verify(&m, p, 52);
	plog_close(p);
}

static void copy_file(const char *from, const char *to)
{
	buf_t b = BUF_INIT;
	CHECK(t_slurp(from, &b) >= 0);
	t_spit(to, buf_data(&b), buf_len(&b));
	buf_deinit(&b);
}

TEST(plog_reopen_clean_and_unclean)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 30000;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 100; i++)
		m_append(&m, p, i);
	/* While open, the active segment is preallocated beyond its data. */
	char act[256];
	int nseg = plog_segment_count(p);
	int64_t abase = 0;
	for (int i = 0; i < m.n; i++) {
		char path[256];
		seg_path(path, sizeof path, "log", m.base[i], ".log");
		if (t_file_size(path) != (uint64_t)-1)
			abase = m.base[i];
	}
	seg_path(act, sizeof act, "log", abase, ".log");
	plog_region_t r;
	CHECK_EQ(plog_read(p, abase, 1 << 30, &r), 0);
	uint64_t adata = r.len;
	CHECK(t_file_size(act) > adata);
	/* Simulate a crash: copy the files as they are now (zero tail and
	 * all) into another directory, then open that one unclean. */
	CHECK_EQ(mkdir("crash", 0755), 0);
	for (int i = 0; i < m.n; i++) {
		static const char *const ext[] = {".log", ".index", ".timeindex"};
		for (int e = 0; e < 3; e++) {
			char from[256], to[256];
			seg_path(from, sizeof from, "log", m.base[i], ext[e]);
			seg_path(to, sizeof to, "crash", m.base[i], ext[e]);
			if (t_file_size(from) != (uint64_t)-1)
				copy_file(from, to);
		}
	}
	int64_t end = plog_end_offset(p);
	plog_close(p);
	CHECK_EQ(t_file_size(act), adata);

	plog_t *q;
	CHECK_EQ(plog_open(&q, "crash", &o, NULL, NULL, 0), 0);
	CHECK_EQ(plog_end_offset(q), end);
	CHECK_EQ(plog_segment_count(q), nseg);
	m_verify(&m, q, 0);
	seg_path(act, sizeof act, "crash", abase, ".log");
	CHECK_EQ(t_file_size(act), adata); /* zero tail cut */
	model_t *mm = &m;
	for (int i = 100; i < 130; i++)
		m_append(mm, q, i);
	m_verify(&m, q, 0);
	plog_close(q);

	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	CHECK_EQ(plog_end_offset(p), end);
	m.n = 100;
	m_verify(&m, p, 0);
	plog_close(p);
}

TEST(plog_rebuilds_missing_and_garbage_indexes)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 30000;
	o.index_interval_bytes = 700;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 100; i++)
		m_append(&m, p, i);
	plog_close(p);
	/* Keep the originals; the rebuilt files must equal them byte for byte. */
	buf_t i0 = BUF_INIT, t0 = BUF_INIT, x = BUF_INIT;
	CHECK(t_slurp("log/00000000000000000000.index", &i0) > 0);
	CHECK(t_slurp("log/00000000000000000000.timeindex", &t0) > 0);
	for (int round = 0; round < 4; round++) {
		if (round == 0) {
			unlink("log/00000000000000000000.index");
			unlink("log/00000000000000000000.timeindex");
		} else if (round == 1) {
			unlink("log/00000000000000000000.timeindex");
		} else if (round == 2) {
			/* Garbage of a plausible size. */
			uint8_t g[800];
			uint64_t s = 42;
			for (size_t k = 0; k < sizeof g; k++)
				g[k] = (uint8_t)test_rand(&s);
			t_spit("log/00000000000000000000.index", g, 800);
		} else {
			/* Monotonic but wrong positions: caught lazily on read. */
			buf_reset(&x);
			buf_append(&x, buf_data(&i0), buf_len(&i0));
			for (size_t k = 1; k < buf_len(&x) / 8 / 2; k++)
				be32_store(buf_data(&x) + k * 8 + 4,
				           be32_load(buf_data(&x) + k * 8 + 4) + 1);
			t_spit("log/00000000000000000000.index", buf_data(&x), buf_len(&x));
		}
		CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, round & 1), 0);
		m_verify(&m, p, 0);
		int64_t off;
		CHECK_EQ(plog_find_by_time(p, T_TS0 + 200, &off), 0);
		CHECK_EQ(off, m_find_time(&m, T_TS0 + 200));
		plog_close(p);
		CHECK(t_slurp("log/00000000000000000000.index", &x) >= 0);
		CHECK_EQ(buf_len(&x), buf_len(&i0));
		CHECK_MEM(buf_data(&x), buf_data(&i0), buf_len(&i0));
		CHECK(t_slurp("log/00000000000000000000.timeindex", &x) >= 0);
		CHECK_EQ(buf_len(&x), buf_len(&t0));
		CHECK_MEM(buf_data(&x), buf_data(&t0), buf_len(&t0));
	}
	buf_deinit(&i0);
	buf_deinit(&t0);
	buf_deinit(&x);
}

TEST(plog_ignores_unexpected_files)
{
	plog_opts_t o = t_opts();
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	t_append(p, 1);
	plog_close(p);
	t_spit("log/notes.txt", "hi", 2);
	t_spit("log/00000000000000000777.index", "12345678", 8);
	t_spit("log/00000000000000000777.timeindex", "", 0);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	CHECK_EQ(plog_segment_count(p), 1);
	CHECK_EQ(plog_end_offset(p), t_nrec(1));
	plog_close(p);
	CHECK(t_file_size("log/notes.txt") == 2);
	CHECK(t_file_size("log/00000000000000000777.index") == (uint64_t)-1);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	CHECK_EQ(plog_destroy(p), 0);
	CHECK(t_file_size("log") == (uint64_t)-1);
}

TEST(plog_write_failure_keeps_log_consistent)
{
	/* RLIMIT_FSIZE makes growing the file fail (EFBIG) like a full disk. */
	signal(SIGXFSZ, SIG_IGN);
	plog_opts_t o = t_opts();
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 20; i++)
		m_append(&m, p, i);
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	struct rlimit small = rl;
	small.rlim_cur = 1 << 20; /* the first preallocation step */
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
	int failed = 0;
	int64_t seed = 20;
	for (int i = 0; i < 400 && !failed; i++) {
		buf_t b = BUF_INIT;
		t_batch(&b, seed);
		int64_t end = plog_end_offset(p), base;
		int rc = plog_append(p, buf_data(&b), buf_len(&b), -1, &base);
		if (rc < 0) {
			CHECK(rc == SL_EIO || rc == SL_ENOSPC);
			CHECK_EQ(plog_end_offset(p), end);
			failed = 1;
		} else {
			m.base[m.n] = base;
			m.seed[m.n++] = seed++;
		}
		buf_deinit(&b);
	}
	CHECK(failed);
	m_verify(&m, p, 0);
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (int i = 0; i < 10; i++)
		m_append(&m, p, seed++);
	m_verify(&m, p, 0);
	plog_close(p);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	m_verify(&m, p, 0);
	plog_close(p);
}

TEST(plog_read_takes_as_many_whole_batches_as_fit)
{
	plog_opts_t o = t_opts();
	o.index_interval_bytes = 2000;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	static uint64_t size[MAXB];
	for (int i = 0; i < 120; i++) {
		m_append(&m, p, i);
		buf_t b = BUF_INIT;
		t_batch(&b, i);
		size[i] = buf_len(&b);
		buf_deinit(&b);
	}
	uint64_t s = 7;
	for (int k = 0; k < 2000; k++) {
		int i = (int)(test_rand(&s) % (uint64_t)m.n);
		size_t max = (size_t)(test_rand(&s) % 60000);
		uint64_t want = size[i];
		for (int j = i + 1; j < m.n && want + size[j] <= max; j++)
			want += size[j];
		plog_region_t r;
		CHECK_EQ(plog_read(p, m.base[i], max, &r), 0);
		CHECK_MSG(r.len == want, "batch %d max %zu: len %zu want %llu", i, max, r.len,
		          (unsigned long long)want);
	}
	plog_close(p);
}

/* The fd number this process has open on path, or -1. */
static int fd_of(const char *path)
{
	char want[4096], link[64], got[4096];
	if (!realpath(path, want))
		return -1;
	for (int fd = 3; fd < 1024; fd++) {
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, got, sizeof got - 1);
		if (n <= 0)
			continue;
		got[n] = 0;
		if (strcmp(got, want) == 0)
			return fd;
	}
	return -1;
}

TEST(plog_failed_pwrite_leaves_log_readable)
{
	plog_opts_t o = t_opts();
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 30; i++)
		m_append(&m, p, i);
	/* Swap the segment's descriptor for a read-only one: the next write
	 * fails (EBADF) after preallocation, on the pwrite path itself. */
	const char *path = "log/00000000000000000000.log";
	int fd = fd_of(path);
	CHECK(fd >= 0);
	int saved = dup(fd);
	int ro = open(path, O_RDONLY);
	CHECK(saved >= 0 && ro >= 0);
	CHECK(dup2(ro, fd) == fd);
	close(ro);
	int64_t end = plog_end_offset(p);
	uint64_t size = plog_size_bytes(p);
	for (int k = 0; k < 3; k++) {
		buf_t b = BUF_INIT;
		t_batch(&b, 30);
		int64_t base;
		CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &base), SL_EIO);
		buf_deinit(&b);
		CHECK_EQ(plog_end_offset(p), end);
		CHECK_EQ(plog_size_bytes(p), size);
		m_verify(&m, p, 0);
	}
	CHECK(dup2(saved, fd) == fd);
	close(saved);
	for (int i = 30; i < 40; i++)
		m_append(&m, p, i);
	m_verify(&m, p, 0);
	plog_close(p);
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	m_verify(&m, p, 0);
	plog_close(p);
}

/* Descriptors open on files of the test's log/ directory whose name ends
 * with suffix. Only that directory counts: the process may hold other
 * files with the same suffix (stdout redirected to a "*.log" file). */
static int count_fds(const char *suffix)
{
	int n = 0;
	char link[64], got[4096], dir[4096];
	CHECK(realpath("log", dir) != NULL);
	size_t dl = strlen(dir);
	size_t sl = strlen(suffix);
	for (int fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t k = readlink(link, got, sizeof got - 1);
		if (k <= 0)
			continue;
		got[k] = 0;
		if (strncmp(got, dir, dl) != 0 || got[dl] != '/')
			continue;
		n += (size_t)k >= sl && strcmp(got + k - sl, suffix) == 0;
	}
	return n;
}

/* Mappings of files whose name ends with suffix. */
static int count_maps(const char *suffix)
{
	FILE *f = fopen("/proc/self/maps", "r");
	CHECK(f != NULL);
	char line[4096];
	int n = 0;
	size_t sl = strlen(suffix);
	while (fgets(line, sizeof line, f)) {
		size_t k = strcspn(line, "\n");
		line[k] = 0;
		n += k >= sl && strcmp(line + k - sl, suffix) == 0;
	}
	fclose(f);
	return n;
}

/* Sealed segments (all but the highest base) with a non-empty file ext. */
static int count_nonempty_sealed(const model_t *m, const char *ext)
{
	int n = 0;
	int64_t last = -1;
	char path[256];
	for (int i = 0; i < m->n; i++) {
		seg_path(path, sizeof path, "log", m->base[i], ".log");
		if (t_file_size(path) != (uint64_t)-1)
			last = m->base[i];
	}
	for (int i = 0; i < m->n; i++) {
		seg_path(path, sizeof path, "log", m->base[i], ext);
		uint64_t sz = t_file_size(path);
		n += m->base[i] != last && sz != (uint64_t)-1 && sz > 0;
	}
	return n;
}

/* Index files are never held open (the active segment's entries live in
 * memory; sealed ones are mappings), and the .log files are the
 * descriptor cache's: at most its capacity are open. */
TEST(plog_segments_hold_no_index_fds_and_rebuild_lazily)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 20000;
	o.index_interval_bytes = 500;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	static model_t m;
	for (int i = 0; i < 120; i++)
		m_append(&m, p, i);
	int n = plog_segment_count(p);
	CHECK(n > 4);
	CHECK(count_fds(".log") >= 1 && count_fds(".log") <= n);
	CHECK_EQ(count_fds(".index"), 0);
	CHECK_EQ(count_fds(".timeindex"), 0);
	/* Sealed segments' indexes are mapped files, not heap. */
	int mapped = count_nonempty_sealed(&m, ".index");
	CHECK(mapped > 3);
	CHECK_EQ(count_maps(".index"), mapped);
	CHECK_EQ(count_maps(".timeindex"), count_nonempty_sealed(&m, ".timeindex"));
	m_verify(&m, p, 0);
	plog_close(p);
	/* Damage a middle entry of the first (sealed) segment's index in a
	 * way the open-time checks cannot see; the first read through it
	 * rebuilds the files, reopening them. */
	buf_t i0 = BUF_INIT, x = BUF_INIT;
	CHECK(t_slurp("log/00000000000000000000.index", &i0) >= 24);
	buf_append(&x, buf_data(&i0), buf_len(&i0));
	be32_store(buf_data(&x) + 8 + 4, be32_load(buf_data(&x) + 8 + 4) + 3);
	t_spit("log/00000000000000000000.index", buf_data(&x), buf_len(&x));
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	CHECK_EQ(count_fds(".index"), 0);
	m_verify(&m, p, 0);
	CHECK_EQ(count_fds(".index"), 0);
	CHECK_EQ(count_maps(".index"), mapped);
	plog_close(p);
	CHECK(t_slurp("log/00000000000000000000.index", &x) >= 0);
	CHECK_EQ(buf_len(&x), buf_len(&i0));
	CHECK_MEM(buf_data(&x), buf_data(&i0), buf_len(&i0));
	buf_deinit(&i0);
	buf_deinit(&x);
}

/* seg_idle maps the indexes; seg_activate turns the segment back into an
 * appendable one whose indexes keep growing correctly. */
TEST(segment_idle_and_activate)
{
	CHECK_EQ(mkdir("s", 0755), 0);
	seg_t *s;
	fdc_t *fdc = fdc_new(8, NULL, NULL);
	CHECK_EQ(seg_create(&s, "s", 0, 400, fdc, NULL, NULL), 0);
	seg_params_t prm = {1 << 20};
	static model_t m;
	int64_t next = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 40; i++) {
			int64_t seed = round * 40 + i;
			buf_t b = BUF_INIT;
			t_stored(&b, seed, next);
			batch_hdr_t h;
			CHECK_EQ(batch_validate(buf_data(&b), buf_len(&b), 1 << 20, &h), 0);
			CHECK_EQ(seg_append(s, buf_data(&b), buf_len(&b), &h, &prm), 0);
			m.base[m.n] = next;
			m.seed[m.n++] = seed;
			next += t_nrec(seed);
			buf_deinit(&b);
		}
		CHECK_EQ(s->next, next);
		CHECK_EQ(seg_seal(s, 0), 0);
		seg_idle(s);
		CHECK(s->imap != NULL && s->idx == NULL);
		for (int i = 0; i < m.n; i++) {
			uint64_t pos;
			int64_t first;
			CHECK_EQ(seg_locate(s, m.base[i], &pos, &first), 0);
			CHECK_EQ(first, m.base[i]);
		}
		seg_activate(s);
		CHECK(s->imap == NULL && s->idx != NULL);
	}
	size_t nidx = s->nidx;
	seg_close(s);
	CHECK_EQ(seg_open(&s, "s", 0, SEG_VERIFY_ALL, UINT64_MAX, 400, fdc, NULL, NULL), 0);
	CHECK_EQ(s->next, next);
	CHECK_EQ(s->nidx, nidx);
	CHECK_EQ(s->index_dirty, 0); /* the files matched what the walk computed */
	seg_close(s);
	fdc_free(fdc);
}
