/*
 * test_plog_clean.c — the log cleaner (plog_clean.c) on a partition log:
 * latest record per key kept with its offset, tombstones kept then
 * dropped after delete.retention.ms, aborted transactional batches and
 * keyless records dropped, compressed batches re-encoded, the result
 * readable after a reopen (gaps in offsets), and leftovers of an
 * interrupted swap removed at open.
 */
#include "test_plog_util.h"

#include "core/crc32c.h"
#include "core/time.h"

#include <dirent.h>

#define NKEYS 40

typedef struct model {
	int64_t off[NKEYS]; /* latest offset of key i, -1 none */
	int ver[NKEYS];     /* its version; -1 tombstone */
} model_t;

/* One batch of n records: key (k + j) % NKEYS at version ver, a tombstone
 * when tomb, or keyless when k < 0. codec != 0 compresses it. */
static void kbatch(buf_t *out, int k, int n, int ver, int tomb, int codec, int64_t pid, int txn)
{
	batch_record_t recs[8];
	char key[8][16], val[8][32];
	for (int j = 0; j < n; j++) {
		memset(&recs[j], 0, sizeof recs[j]);
		snprintf(key[j], sizeof key[j], "k%d", (k + j) % NKEYS);
		snprintf(val[j], sizeof val[j], "v%d-%d", (k + j) % NKEYS, ver);
		recs[j].timestamp = T_TS0 + ver;
		recs[j].key = k < 0 ? NULL : (const uint8_t *)key[j];
		recs[j].key_len = k < 0 ? -1 : (int32_t)strlen(key[j]);
		recs[j].value = tomb ? NULL : (const uint8_t *)val[j];
		recs[j].value_len = tomb ? -1 : (int32_t)strlen(val[j]);
	}
	batch_build_opts_t bo = {pid, 0, pid >= 0 ? 0 : -1, 0, 0};
	size_t at = buf_len(out);
	CHECK_EQ(batch_build(out, &bo, recs, (size_t)n), 0);
	uint8_t *b = buf_data(out) + at;
	int16_t attr = (int16_t)(codec | (txn ? BATCH_ATTR_TRANSACTIONAL : 0));
	if (!codec && !txn)
		return;
	/* Re-frame: compress the records, set the attributes, fix the CRC. */
	buf_t recs_c = BUF_INIT;
	size_t len = buf_len(out) - at;
	CHECK_EQ(batch_compress(codec, b + BATCH_HDR_SIZE, len - BATCH_HDR_SIZE, &recs_c), 0);
	buf_t nb = BUF_INIT;
	buf_append(&nb, b, BATCH_HDR_SIZE);
	buf_append(&nb, buf_data(&recs_c), buf_len(&recs_c));
	uint8_t *q = buf_data(&nb);
	be16_store(q + BATCH_OFF_ATTRIBUTES, (uint16_t)attr);
	be32_store(q + BATCH_OFF_LENGTH, (uint32_t)(buf_len(&nb) - BATCH_LOG_OVERHEAD));
	be32_store(q + BATCH_OFF_CRC,
	           crc32c(0, q + BATCH_OFF_ATTRIBUTES, buf_len(&nb) - BATCH_OFF_ATTRIBUTES));
	out->end = out->start + at; /* drop the plain one */
	buf_append(out, buf_data(&nb), buf_len(&nb));
	buf_deinit(&nb);
	buf_deinit(&recs_c);
}

static int64_t kappend(plog_t *p, model_t *m, int k, int n, int ver, int tomb, int codec)
{
	buf_t b = BUF_INIT;
	kbatch(&b, k, n, ver, tomb, codec, -1, 0);
	int64_t base;
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &base), 0);
	buf_deinit(&b);
	for (int j = 0; m && k >= 0 && j < n; j++) {
		m->off[(k + j) % NKEYS] = base + j;
		m->ver[(k + j) % NKEYS] = tomb ? -1 : ver;
	}
	return base;
}

/* Calls fn on every stored batch (CRC-checked), in offset order. */
typedef void (*batch_fn)(void *arg, const uint8_t *b, const batch_hdr_t *h);
static void each_batch(plog_t *p, batch_fn fn, void *arg)
{
	int64_t off = plog_start_offset(p);
	buf_t b = BUF_INIT;
	while (off < plog_end_offset(p)) {
		plog_region_t r;
		CHECK_EQ(plog_read(p, off, 1 << 20, &r), 0);
		if (r.len == 0)
			break;
		t_read_region(&r, &b);
		for (size_t at = 0; at < r.len;) {
			batch_hdr_t h;
			CHECK_EQ(batch_peek(buf_data(&b) + at, r.len - at, &h), 0);
			CHECK(batch_crc_ok(buf_data(&b) + at, batch_size(&h)));
			fn(arg, buf_data(&b) + at, &h);
			at += batch_size(&h);
			off = batch_last_offset(&h) + 1;
		}
	}
	buf_deinit(&b);
}

typedef struct scan_state {
	model_t *seen;
	int *count, *keyless, n;
	int64_t last;
	int64_t pid; /* count_markers */
} scan_state_t;

static void scan_batch(void *arg, const uint8_t *b, const batch_hdr_t *h)
{
	scan_state_t *ss = arg;
	if (h->attributes & BATCH_ATTR_CONTROL) /* a transaction marker */
		return;
	const uint8_t *recs;
	size_t rn;
	buf_t plain = BUF_INIT, u = BUF_INIT;
	CHECK_EQ(batch_records_plain(b, h, 1 << 24, &plain, &recs, &rn), 0);
	/* Re-wrap as an uncompressed batch to iterate it. */
	buf_append(&u, b, BATCH_HDR_SIZE);
	buf_append(&u, recs, rn);
	be16_store(buf_data(&u) + BATCH_OFF_ATTRIBUTES,
	           (uint16_t)(h->attributes & ~BATCH_ATTR_CODEC_MASK));
	be32_store(buf_data(&u) + BATCH_OFF_LENGTH, (uint32_t)(buf_len(&u) - BATCH_LOG_OVERHEAD));
	batch_iter_t it;
	CHECK_EQ(batch_iter_init(&it, buf_data(&u), buf_len(&u)), 0);
	batch_record_t rec;
	int rc;
	while ((rc = batch_iter_next(&it, &rec)) == 1) {
		CHECK(rec.offset > ss->last);
		CHECK(rec.offset <= batch_last_offset(h));
		ss->last = rec.offset;
		ss->n++;
		if (rec.key_len < 0) {
			(*ss->keyless)++;
			continue;
		}
		int k = atoi((const char *)rec.key + 1);
		ss->seen->off[k] = rec.offset;
		ss->seen->ver[k] = -1;
		if (rec.value_len >= 0) {
			const char *dash = memchr(rec.value, '-', (size_t)rec.value_len);
			ss->seen->ver[k] = atoi(dash + 1);
		}
		ss->count[k]++;
	}
	CHECK_EQ(rc, 0);
	buf_deinit(&u);
	buf_deinit(&plain);
}

/* Reads the whole log: for every key the last record seen (offset and
 * version) and how many records it has, checking that offsets increase.
 * Returns the records read. */
static int scan(plog_t *p, model_t *seen, int *count, int *keyless)
{
	for (int i = 0; i < NKEYS; i++)
		seen->off[i] = -1, seen->ver[i] = -2, count[i] = 0;
	*keyless = 0;
	scan_state_t ss = {seen, count, keyless, 0, -1, -1};
	each_batch(p, scan_batch, &ss);
	return ss.n;
}

static void marker_batch(void *arg, const uint8_t *b, const batch_hdr_t *h)
{
	scan_state_t *ss = arg;
	(void)b;
	ss->n += (h->attributes & BATCH_ATTR_CONTROL) && h->producer_id == ss->pid;
}

/* The control batches of producer pid in the log. */
static int count_markers(plog_t *p, int64_t pid)
{
	scan_state_t ss = {NULL, NULL, NULL, 0, -1, pid};
	each_batch(p, marker_batch, &ss);
	return ss.n;
}

static plog_clean_opts_t copts(const plog_t *p)
{
	plog_clean_opts_t o;
	memset(&o, 0, sizeof o);
	o.now_ms = time_wall_ms();
	o.delete_retention_ms = 3600 * 1000;
	o.max_lag_ms = INT64_MAX;
	o.limit = plog_end_offset(p);
	return o;
}

static void check_model(plog_t *p, const model_t *m, int max_per_key)
{
	model_t seen;
	int count[NKEYS], keyless;
	scan(p, &seen, count, &keyless);
	CHECK_EQ(keyless, 0);
	for (int i = 0; i < NKEYS; i++) {
		CHECK_MSG(seen.off[i] == m->off[i], "key %d: offset %lld, want %lld", i,
		          (long long)seen.off[i], (long long)m->off[i]);
		CHECK_MSG(seen.ver[i] == m->ver[i], "key %d: version %d, want %d", i, seen.ver[i],
		          m->ver[i]);
		CHECK_MSG(count[i] <= max_per_key, "key %d: %d records", i, count[i]);
	}
}

static log_t tlog;

static plog_t *open_log(int clean)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 4096;
	log_init(&tlog, LOG_WARN, 2);
	plog_t *p;
	CHECK_EQ(plog_open(&p, "log", &o, NULL, &tlog, clean), 0);
	return p;
}

static void fill(plog_t *p, model_t *m, int rounds, int codec)
{
	for (int v = 0; v < rounds; v++)
		for (int k = 0; k < NKEYS; k += 3)
			kappend(p, m, k, 3, v, (v % 7 == 3 && k % 2 == 0), codec);
}

/* A fresh log holding `rounds` rounds of updates (model in *m). */
static plog_t *start(model_t *m, int rounds)
{
	plog_t *p = open_log(1);
	for (int i = 0; i < NKEYS; i++)
		m->off[i] = -1;
	fill(p, m, rounds, 0);
	return p;
}

static void clean_updates(int codec)
{
	plog_t *p = open_log(1);
	model_t m;
	for (int i = 0; i < NKEYS; i++)
		m.off[i] = -1;
	fill(p, &m, 30, codec);
	kappend(p, NULL, -1, 2, 0, 0, codec); /* keyless: dropped */
	fill(p, &m, 2, codec);
	int64_t end = plog_end_offset(p);
	uint64_t before = plog_size_bytes(p);
	CHECK(plog_segment_count(p) > 5);
	plog_clean_opts_t o = copts(p);
	plog_clean_stats_t st;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	CHECK(st.segments > 0);
	CHECK(st.records_out < st.records_in);
	CHECK(plog_size_bytes(p) < before / 2);
	CHECK_EQ(plog_end_offset(p), end);
	/* The active segment is never cleaned: a key may appear there and
	 * once in the sealed part. */
	check_model(p, &m, 6);
	/* Nothing new is dirty: a second pass has nothing to do. */
	CHECK_EQ(plog_clean(p, &o, &st), 0);
	plog_close(p);
	/* Reopened after a clean stop and after a crash (every batch
	 * checked): the same records, with their gaps. */
	p = open_log(1);
	check_model(p, &m, 6);
	/* Progress survives the restart (cleaner-offset): nothing is dirty. */
	o = copts(p);
	CHECK_EQ(plog_clean(p, &o, &st), 0);
	plog_close(p);
	p = open_log(0);
	check_model(p, &m, 6);
	CHECK_EQ(plog_end_offset(p), end);
	kappend(p, &m, 0, 3, 99, 0, codec); /* appends go on after a reopen */
	check_model(p, &m, 6);
	plog_close(p);
}

TEST(plog_clean_keeps_latest_per_key)
{
	clean_updates(0);
}

TEST(plog_clean_reencodes_compressed_batches)
{
	for (int codec = 1; codec <= 4; codec++) {
		clean_updates(codec);
		CHECK_EQ(system("rm -rf log"), 0);
	}
}

/* Sets the modification time of every segment file (the tombstone
 * horizon) to ms. */
static void set_log_times(int64_t ms)
{
	DIR *d = opendir("log");
	CHECK(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".log"))
			continue;
		char path[300];
		snprintf(path, sizeof path, "log/%s", e->d_name);
		struct timespec t[2] = {{ms / 1000, (ms % 1000) * 1000000},
		                        {ms / 1000, (ms % 1000) * 1000000}};
		CHECK_EQ(utimensat(AT_FDCWD, path, t, 0), 0);
	}
	closedir(d);
}

TEST(plog_clean_tombstones_expire)
{
	model_t m;
	plog_t *p = start(&m, 10);
	kappend(p, &m, 0, 3, 100, 1, 0);  /* keys 0..2 deleted */
	kappend(p, &m, 35, 1, 150, 0, 0); /* beside them, superseded later */
	for (int i = 0; i < 60; i++)
		kappend(p, &m, 3 + i % 30, 3, 200 + i, 0, 0); /* rolls past the tombstones */
	plog_clean_opts_t o = copts(p);
	plog_clean_stats_t st;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	model_t seen;
	int count[NKEYS], keyless;
	scan(p, &seen, count, &keyless);
	CHECK_EQ(seen.ver[0], -1); /* the tombstone stays for delete.retention.ms */
	/* The pass was 0.8 horizons ago. A pass before the horizon rewrites
	 * the segments (new updates of their other keys) and keeps the
	 * tombstones without restarting their time. */
	int64_t r = o.delete_retention_ms;
	set_log_times(time_wall_ms() - r * 8 / 10);
	kappend(p, &m, 35, 1, 350, 0, 0);
	for (int i = 0; i < 150; i++)
		kappend(p, &m, 3 + i % 30, 3, 300 + i, 0, 0);
	o = copts(p);
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	CHECK(st.segments > 0);
	scan(p, &seen, count, &keyless);
	CHECK_EQ(seen.ver[0], -1);
	/* More updates, then a pass half a horizon later: past it, they go. */
	for (int i = 0; i < 60; i++)
		kappend(p, &m, 3 + i % 30, 3, 400 + i, 0, 0);
	o = copts(p);
	o.now_ms += r / 2;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	scan(p, &seen, count, &keyless);
	for (int k = 0; k < 3; k++)
		CHECK_MSG(seen.off[k] == -1, "key %d still has a record", k);
	CHECK_EQ(seen.ver[5], m.ver[5]);
	plog_close(p);
}

TEST(plog_clean_drops_aborted_and_respects_limit)
{
	model_t m;
	plog_t *p = start(&m, 5);
	/* An aborted transaction of producer 7 writing keys 0..2 at a newer
	 * version: it must neither survive nor shadow the committed values. */
	buf_t b = BUF_INIT;
	kbatch(&b, 0, 3, 50, 0, 0, 7, 1);
	int64_t ab;
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &ab), 0);
	buf_reset(&b);
	CHECK_EQ(batch_build_control(&b, 7, 0, 0, 0, T_TS0), 0); /* its ABORT marker */
	int64_t mk;
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &mk), 0);
	buf_deinit(&b);
	for (int i = 0; i < 80; i++)
		kappend(p, &m, 3 + i % 30, 3, 100 + i, 0, 0);
	/* The cleaner finds the aborted transaction from its marker; the
	 * owner's list (partition.c) may name it too. */
	plog_clean_opts_t o = copts(p);
	plog_aborted_t a = {7, ab, mk};
	o.aborted = &a;
	o.naborted = 1;
	/* Limit (the LSO) at the aborted batch: nothing at or past it is
	 * cleaned, so the segments up to it only. */
	o.limit = ab;
	plog_clean_stats_t st;
	int rc = plog_clean(p, &o, &st);
	CHECK(rc == 0 || rc == 1);
	model_t seen;
	int count[NKEYS], keyless;
	scan(p, &seen, count, &keyless);
	CHECK_EQ(seen.ver[0], 50); /* still there: past the limit */
	o.limit = plog_end_offset(p);
	o.naborted = 0;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	scan(p, &seen, count, &keyless);
	for (int k = 0; k < NKEYS; k++)
		CHECK_MSG(seen.ver[k] == m.ver[k], "key %d: version %d, want %d", k, seen.ver[k],
		          m.ver[k]);
	CHECK_EQ(count_markers(p, 7), 1); /* within delete.retention.ms: kept */
	/* Producer 7 commits a later transaction; past the horizon the abort
	 * marker (its transaction kept nothing) goes, the commit stays. */
	b = (buf_t)BUF_INIT;
	kbatch(&b, 35, 1, 60, 0, 0, 7, 1);
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &ab), 0);
	m.off[35] = ab, m.ver[35] = 60;
	buf_reset(&b);
	CHECK_EQ(batch_build_control(&b, 7, 0, 1, 0, T_TS0), 0);
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &mk), 0);
	buf_deinit(&b);
	for (int i = 0; i < 80; i++)
		kappend(p, &m, i % 30, 3, 300 + i, 0, 0);
	o = copts(p);
	o.now_ms += 2 * o.delete_retention_ms;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	CHECK_EQ(count_markers(p, 7), 1);
	check_model(p, &m, 6);
	plog_close(p);
}

TEST(plog_clean_open_removes_unfinished_swap)
{
	model_t m;
	plog_t *p = start(&m, 20);
	plog_clean_opts_t o = copts(p);
	plog_clean_stats_t st;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	plog_close(p);
	CHECK(t_file_size("log/compacted") == 0);
	/* A crash after the copy was written (step a) and after the old
	 * indexes went (step c): the copy is removed, indexes rebuilt. */
	char first[64] = "", path[128];
	DIR *d = opendir("log");
	struct dirent *e;
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".log") && (!first[0] || strcmp(e->d_name, first) < 0))
			snprintf(first, sizeof first, "%.20s", e->d_name);
	closedir(d);
	CHECK(first[0]);
	snprintf(path, sizeof path, "log/%s.cleaned", first);
	t_spit(path, "garbage", 7);
	snprintf(path, sizeof path, "log/%s.timeindex", first);
	CHECK_EQ(unlink(path), 0);
	snprintf(path, sizeof path, "log/%s.index", first);
	CHECK_EQ(unlink(path), 0);
	p = open_log(0);
	CHECK(t_file_size(path) != (uint64_t)-1);
	snprintf(path, sizeof path, "log/%s.cleaned", first);
	CHECK(t_file_size(path) == (uint64_t)-1);
	check_model(p, &m, 6);
	plog_close(p);
}

TEST(plog_clean_keeps_last_batch_of_each_producer)
{
	model_t m;
	plog_t *p = start(&m, 3);
	/* Producer 9's only batch (its idempotence state after a restart),
	 * then newer values of its keys from others. */
	buf_t b = BUF_INIT;
	kbatch(&b, 0, 3, 7, 0, 0, 9, 0);
	int64_t pb;
	CHECK_EQ(plog_append(p, buf_data(&b), buf_len(&b), -1, &pb), 0);
	buf_deinit(&b);
	for (int i = 0; i < 80; i++)
		kappend(p, &m, i % 30, 3, 100 + i, 0, 0);
	plog_clean_opts_t o = copts(p);
	plog_clean_stats_t st;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	/* Still readable at its offset, and the latest values win. */
	plog_region_t r;
	CHECK_EQ(plog_read(p, pb, 1, &r), 0);
	CHECK_EQ(r.first_offset, pb);
	check_model(p, &m, 6);
	plog_close(p);
}

TEST(plog_clean_in_steps_with_appends_between)
{
	model_t m;
	plog_t *p = start(&m, 30);
	plog_clean_opts_t o = copts(p);
	o.step_bytes = 5000; /* about one segment per call */
	plog_clean_stats_t st;
	int rc, calls = 0, v = 1000;
	while ((rc = plog_clean(p, &o, &st)) == 2) {
		calls++;
		kappend(p, &m, calls % NKEYS, 1, v++, 0, 0); /* the log grows meanwhile */
		check_model(p, &m, 1000);
	}
	CHECK_EQ(rc, 1);
	CHECK(calls > 3);
	CHECK(st.segments > 3);
	check_model(p, &m, 1000);
	/* What was sealed during the pass is the next one's dirty part. */
	o = copts(p);
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	check_model(p, &m, 6);
	plog_close(p);
	p = open_log(0);
	check_model(p, &m, 6);
	plog_close(p);
}

TEST(plog_clean_readers_of_the_old_segment_stay_valid)
{
	model_t m;
	plog_t *p = start(&m, 20);
	/* A fetch's queued region: the first batch, its file referenced. */
	plog_region_t r;
	CHECK_EQ(plog_read(p, 0, 1 << 20, &r), 0);
	CHECK(r.len > 0);
	buf_t before = BUF_INIT, after = BUF_INIT;
	t_read_region(&r, &before);
	fdc_file_t *f = r.file;
	fdc_file_ref(f);
	plog_clean_opts_t o = copts(p);
	plog_clean_stats_t st;
	CHECK_EQ(plog_clean(p, &o, &st), 1);
	/* The segment was swapped (or deleted), yet the region reads the
	 * bytes it was given. */
	int fd = fdc_fd(f);
	CHECK(fd >= 0);
	buf_reset(&after);
	uint8_t *q = buf_reserve(&after, r.len);
	CHECK_EQ(pread(fd, q, r.len, r.pos), (ssize_t)r.len);
	buf_commit(&after, r.len);
	CHECK_MEM(buf_data(&after), buf_data(&before), r.len);
	fdc_file_unref(f);
	check_model(p, &m, 6);
	buf_deinit(&before);
	buf_deinit(&after);
	plog_close(p);
}
