/*
 * test_plog_model.c — a randomized sequence of partition-log operations
 * (appends with CreateTime and LogAppendTime, reads, time lookups,
 * delete_before, housekeeping with rolls and retention, clean reopens and
 * crash images reopened unclean) checked after every step against a
 * simple in-memory model of the batches. Deterministic seeds.
 */
#include "test_plog_util.h"

#include "store/segment.h"

#include <dirent.h>

#define MAXM 3000

typedef struct mbatch {
	int64_t seed;
	int64_t base;
	int64_t max_ts;
	int64_t lat; /* LogAppendTime used, or -1 */
} mbatch_t;

typedef struct model {
	mbatch_t b[MAXM];
	int n;
	int64_t start;
} model_t;

static int64_t m_end(const model_t *m)
{
	return m->n ? m->b[m->n - 1].base + t_nrec(m->b[m->n - 1].seed) : 0;
}

static const mbatch_t *m_find(const model_t *m, int64_t off)
{
	for (int i = 0; i < m->n; i++)
		if (off >= m->b[i].base && off < m->b[i].base + t_nrec(m->b[i].seed))
			return &m->b[i];
	return NULL;
}

static void stored_bytes(buf_t *out, const mbatch_t *b)
{
	buf_reset(out);
	t_stored(out, b->seed, b->base);
	if (b->lat >= 0)
		batch_set_log_append_time(buf_data(out), buf_len(out), b->lat);
}

static void copy_dir(const char *from, const char *to)
{
	CHECK_EQ(mkdir(to, 0755), 0);
	DIR *d = opendir(from);
	CHECK(d != NULL);
	struct dirent *e;
	buf_t x = BUF_INIT;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char a[512], b[512];
		snprintf(a, sizeof a, "%s/%s", from, e->d_name);
		snprintf(b, sizeof b, "%s/%s", to, e->d_name);
		CHECK(t_slurp(a, &x) >= 0);
		t_spit(b, buf_data(&x), buf_len(&x));
	}
	closedir(d);
	buf_deinit(&x);
}

static void check_read(model_t *m, plog_t *p, int64_t off, buf_t *want)
{
	int64_t end = m_end(m);
	plog_region_t r;
	if (off < m->start || off > end) {
		CHECK_EQ(plog_read(p, off, 100, &r), SL_ERANGE);
		return;
	}
	if (off == end) {
		CHECK_EQ(plog_read(p, off, 100, &r), 0);
		CHECK_EQ(r.len, 0);
		return;
	}
	const mbatch_t *b = m_find(m, off);
	CHECK(b != NULL);
	stored_bytes(want, b);
	CHECK_EQ(t_check_read(p, off, (size_t)(off % 7000), buf_data(want), buf_len(want)),
	         b->base);
}

static void check_time(model_t *m, plog_t *p, int64_t ts)
{
	int64_t want = -1;
	for (int i = 0; i < m->n; i++) {
		if (m->b[i].base + t_nrec(m->b[i].seed) <= m->start)
			continue;
		if (m->b[i].max_ts >= ts) {
			want = m->b[i].base < m->start ? m->start : m->b[i].base;
			break;
		}
	}
	int64_t got = -1;
	int rc = plog_find_by_time(p, ts, &got);
	if (want < 0) {
		CHECK_EQ(rc, SL_ENOENT);
	} else {
		CHECK_EQ(rc, 0);
		CHECK_MSG(got == want, "time %lld: got %lld want %lld", (long long)ts,
		          (long long)got, (long long)want);
	}
}

static void check_max(model_t *m, plog_t *p)
{
	int64_t wts = -1, woff = -1;
	for (int i = 0; i < m->n; i++) {
		if (m->b[i].base + t_nrec(m->b[i].seed) <= m->start)
			continue;
		if (m->b[i].max_ts > wts) {
			wts = m->b[i].max_ts;
			woff = m->b[i].base < m->start ? m->start : m->b[i].base;
		}
	}
	int64_t ts, off;
	plog_max_timestamp(p, &ts, &off);
	CHECK_EQ(ts, wts);
	CHECK_EQ(off, woff);
}

static void run_model(uint64_t seed, int ops)
{
	static model_t m;
	memset(&m, 0, sizeof m);
	plog_opts_t o = t_opts();
	o.segment_bytes = 12000 + (int64_t)(seed % 5) * 4000;
	o.index_interval_bytes = 300 + (int64_t)(seed % 3) * 700;
	o.roll_ms = 5000;
	o.retention_ms = seed % 2 ? 3000 : -1;
	o.retention_bytes = seed % 3 == 0 ? 40000 : -1;
	char dir[64];
	int gen = 0;
	snprintf(dir, sizeof dir, "m%llu-%d", (unsigned long long)seed, gen);
	plog_t *p;
	CHECK_EQ(plog_open(&p, dir, &o, NULL, NULL, 0), 0);
	buf_t want = BUF_INIT, b = BUF_INIT;
	int64_t clock = T_TS0;
	for (int op = 0; op < ops; op++) {
		uint64_t r = test_rand(&seed) % 100;
		clock += (int64_t)(test_rand(&seed) % 40);
		if (r < 55 && m.n < MAXM) {
			mbatch_t *mb = &m.b[m.n];
			mb->seed = (int64_t)(test_rand(&seed) % 400);
			mb->lat = test_rand(&seed) % 10 == 0 ? clock : -1;
			mb->max_ts =
			    mb->lat >= 0 ? mb->lat : T_TS0 + mb->seed * 10 + t_nrec(mb->seed) - 1;
			mb->base = m_end(&m);
			buf_reset(&b);
			t_batch(&b, mb->seed);
			int64_t base;
			CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), mb->lat, &base), 0);
			CHECK_EQ(base, mb->base);
			m.n++;
		} else if (r < 75) {
			int64_t span = m_end(&m) - m.start + 4;
			check_read(&m, p,
			           m.start - 2 + (int64_t)(test_rand(&seed) % (uint64_t)span),
			           &want);
		} else if (r < 83) {
			check_time(&m, p, T_TS0 - 20 + (int64_t)(test_rand(&seed) % 5000));
			check_max(&m, p);
		} else if (r < 86) {
			int64_t span = m_end(&m) - m.start + 1;
			int64_t off = m.start + (int64_t)(test_rand(&seed) % (uint64_t)span);
			if (test_rand(&seed) % 4 == 0)
				off = m.start + (m_end(&m) - m.start) / 8;
			CHECK_EQ(plog_delete_before(p, off), 0);
			m.start = off;
		} else if (r < 92) {
			/* Rolling and retention by a varying "now"; the model
			 * follows what was kept, which must start at a batch
			 * boundary (whole segments go). */
			int64_t now = clock + (int64_t)(test_rand(&seed) % 20000);
			(void)plog_housekeep(p, now);
			int64_t s = plog_start_offset(p);
			CHECK(s >= m.start);
			if (s > m.start) {
				CHECK(m_find(&m, s) == NULL || m_find(&m, s)->base == s ||
				      s == m_end(&m));
				m.start = s;
			}
		} else if (r < 96) {
			plog_close(p);
			CHECK_EQ(plog_open(&p, dir, &o, NULL, NULL, 1), 0);
		} else {
			/* Crash image: the files as they are, opened unclean. */
			char next[64];
			snprintf(next, sizeof next, "m%llu-%d", (unsigned long long)seed, ++gen);
			copy_dir(dir, next);
			plog_close(p);
			memcpy(dir, next, sizeof dir);
			CHECK_EQ(plog_open(&p, dir, &o, NULL, NULL, 0), 0);
		}
		CHECK_EQ(plog_end_offset(p), m_end(&m));
		CHECK_EQ(plog_start_offset(p), m.start);
	}
	/* Everything kept reads back exactly. */
	for (int i = 0; i < m.n; i++) {
		if (m.b[i].base + t_nrec(m.b[i].seed) <= m.start)
			continue;
		check_read(&m, p, m.b[i].base < m.start ? m.start : m.b[i].base, &want);
	}
	plog_close(p);
	buf_deinit(&want);
	buf_deinit(&b);
}

TEST_T(plog_model_random_operations, 120)
{
	for (uint64_t s = 1; s <= 3; s++)
		run_model(s * 0x9e3779b97f4a7c15ull, 600);
}
