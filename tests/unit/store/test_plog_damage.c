/*
 * test_plog_damage.c — damage is never served, and never costs the good
 * batches around it (issue 13): a flipped payload byte, a zeroed 4 KiB
 * page, a rewritten BaseOffset (outside the CRC) in sealed and active
 * segments after a clean stop; reads skip the damaged offsets the way a
 * Kafka consumer skips a gap; the background check finds damage before
 * any read; segments written in this run are trusted as they are.
 */
#include "test_plog_util.h"

#include "store/segment.h"

#define NBATCH 60

typedef struct written {
	int64_t base[NBATCH];
	int nrec[NBATCH];
	buf_t stored[NBATCH];
} written_t;

static plog_opts_t small_opts(void)
{
	plog_opts_t o = t_opts();
	o.segment_bytes = 64 * 1024; /* several sealed segments */
	return o;
}

static void fill(written_t *w)
{
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	for (int i = 0; i < NBATCH; i++) {
		w->base[i] = t_append(p, i);
		w->nrec[i] = t_nrec(i);
		buf_init(&w->stored[i]);
		t_stored(&w->stored[i], i, w->base[i]);
	}
	CHECK(plog_segment_count(p) >= 3);
	plog_close(p);
}

static void written_free(written_t *w)
{
	for (int i = 0; i < NBATCH; i++)
		buf_deinit(&w->stored[i]);
}

/* The segment file holding batch i and the position of the batch in it. */
static void locate(const written_t *w, int i, char *path, size_t n, uint64_t *pos)
{
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	plog_region_t r;
	CHECK_EQ(plog_read(p, w->base[i], 1, &r), 0);
	CHECK_EQ(r.first_offset, w->base[i]);
	*pos = (uint64_t)r.pos;
	/* The region's fd is the segment's: find its name through /proc. */
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", r.fd);
	ssize_t k = readlink(link, path, n - 1);
	CHECK(k > 0);
	path[k] = 0;
	plog_close(p);
}

static void poke(const char *path, uint64_t pos, const void *b, size_t n)
{
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, b, n, (off_t)pos), (ssize_t)n);
	close(fd);
}

/* Reads the whole log from offset 0 through plog_read, checking every batch
 * returned against what was written; returns which batches came back. */
static int read_all(plog_t *p, const written_t *w, int got[NBATCH])
{
	memset(got, 0, NBATCH * sizeof got[0]);
	int64_t off = plog_start_offset(p);
	int n = 0;
	buf_t b = BUF_INIT;
	while (off < plog_end_offset(p)) {
		plog_region_t r;
		CHECK_EQ(plog_read(p, off, 1 << 20, &r), 0);
		if (r.len == 0)
			break;
		CHECK(r.first_offset >= off || off == plog_start_offset(p));
		t_read_region(&r, &b);
		size_t at = 0;
		while (at < r.len) {
			batch_hdr_t h;
			CHECK_EQ(batch_validate(buf_data(&b) + at,
			                        batch_size_at(buf_data(&b) + at, r.len - at),
			                        1 << 30, &h),
			         0);
			int i = 0;
			while (i < NBATCH && w->base[i] != h.base_offset)
				i++;
			CHECK_MSG(i < NBATCH, "unknown batch at offset %lld",
			          (long long)h.base_offset);
			CHECK_EQ(batch_size(&h), buf_len(&w->stored[i]));
			CHECK_MEM(buf_data(&b) + at, buf_data(&w->stored[i]),
			          buf_len(&w->stored[i]));
			got[i] = 1;
			n++;
			at += batch_size(&h);
			off = batch_last_offset(&h) + 1;
		}
	}
	buf_deinit(&b);
	return n;
}

static void expect_all_but(plog_t *p, const written_t *w, int lo, int hi)
{
	int got[NBATCH];
	read_all(p, w, got);
	for (int i = 0; i < NBATCH; i++)
		CHECK_MSG(got[i] == !(i >= lo && i <= hi), "batch %d %s", i,
		          got[i] ? "served" : "missing");
}

TEST(plog_flipped_payload_byte_in_a_sealed_segment_is_a_hole)
{
	written_t w;
	fill(&w);
	char path[512];
	uint64_t pos;
	locate(&w, 10, path, sizeof path, &pos);
	uint8_t bad = 0x5a;
	poke(path, pos + buf_len(&w.stored[10]) - 3, &bad, 1);
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0); /* after a clean stop */
	int64_t missing = 0;
	expect_all_but(p, &w, 10, 10);
	CHECK_EQ(plog_damage(p, &missing), 1);
	CHECK_EQ(missing, w.nrec[10]);
	/* A read at an offset inside the hole gets the next batch. */
	plog_region_t r;
	CHECK_EQ(plog_read(p, w.base[10], 1, &r), 0);
	CHECK_EQ(r.first_offset, w.base[11]);
	plog_close(p);
	written_free(&w);
}

TEST(plog_zeroed_page_loses_only_what_it_covers)
{
	written_t w;
	fill(&w);
	char path[512], path2[512];
	uint64_t pos, pos2;
	locate(&w, 20, path, sizeof path, &pos);
	static const uint8_t zero[4096];
	poke(path, pos + 7, zero, sizeof zero);
	/* Which batches the page touched: those starting before its end in
	 * the same file. */
	int last = 20;
	for (int i = 21; i < NBATCH; i++) {
		locate(&w, i, path2, sizeof path2, &pos2);
		if (strcmp(path, path2) || pos2 >= pos + 7 + sizeof zero)
			break;
		last = i;
	}
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	expect_all_but(p, &w, 20, last);
	CHECK(plog_damage(p, NULL) >= 1);
	plog_close(p);
	written_free(&w);
}

TEST(plog_rewritten_base_offset_is_a_hole)
{
	written_t w;
	fill(&w);
	char path[512];
	uint64_t pos;
	locate(&w, 33, path, sizeof path, &pos);
	uint8_t off[8];
	be64_store(off, 999999);
	poke(path, pos, off, sizeof off); /* BaseOffset is outside the CRC */
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	expect_all_but(p, &w, 33, 33);
	plog_close(p);
	written_free(&w);
}

TEST(plog_damage_in_the_active_segment_after_a_clean_stop)
{
	written_t w;
	fill(&w);
	char path[512];
	uint64_t pos;
	locate(&w, NBATCH - 3, path, sizeof path, &pos);
	uint8_t bad = 0xff;
	poke(path, pos + 40, &bad, 1);
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	expect_all_but(p, &w, NBATCH - 3, NBATCH - 3);
	/* Appends after it are served as written. */
	int64_t end = plog_end_offset(p);
	CHECK_EQ(t_append(p, 1000), end);
	plog_region_t r;
	CHECK_EQ(plog_read(p, end, 1 << 20, &r), 0);
	CHECK_EQ(r.first_offset, end);
	plog_close(p);
	written_free(&w);
}

TEST(plog_background_check_finds_damage_before_any_read)
{
	written_t w;
	fill(&w);
	char path[512];
	uint64_t pos;
	locate(&w, 5, path, sizeof path, &pos);
	uint8_t bad = 0x01;
	poke(path, pos + buf_len(&w.stored[5]) - 1, &bad, 1);
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 1), 0);
	CHECK_EQ(plog_damage(p, NULL), 0);
	uint64_t total = 0, step;
	while ((step = plog_verify_step(p, 10000)) > 0)
		total += step;
	CHECK(total > 0);
	CHECK_EQ(plog_damage(p, NULL), 1);
	CHECK_EQ(plog_verify_step(p, 10000), 0);
	expect_all_but(p, &w, 5, 5);
	plog_close(p);
	written_free(&w);
}

/* Segments written in this run are trusted: nothing to check. */
TEST(plog_segments_written_in_this_run_need_no_check)
{
	plog_t *p;
	plog_opts_t o = small_opts();
	CHECK_EQ(plog_open(&p, "log", &o, NULL, NULL, 0), 0);
	for (int i = 0; i < NBATCH; i++)
		t_append(p, i);
	CHECK_EQ(plog_verify_step(p, 1 << 30), 0);
	plog_close(p);
}
