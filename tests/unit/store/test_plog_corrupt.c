/*
 * test_plog_corrupt.c — damage at ~200 deterministic random positions:
 * truncate or flip a byte in the active segment (a crash image, still
 * carrying its preallocated zero tail) or in one of its index files, reopen
 * unclean, and check that every batch entirely before the damage is intact
 * and readable, nothing from a truncated batch on is served, a flipped
 * batch with valid batches after it is a hole (those after it stay, a read
 * in it gets the next one), and the log accepts appends again. ASan/UBSan
 * watch every case.
 */
#include "test_plog_util.h"

#include "store/segment.h"

#define NB 150
#define CASES 200

typedef struct image {
	int64_t base[NB];
	uint64_t pos[NB];
	uint64_t size[NB];
	int64_t end;
	uint64_t data; /* bytes of batches */
	buf_t log, idx, tidx;
} image_t;

static const char *const EXT[3] = {".log", ".index", ".timeindex"};

/* Builds the log and keeps a copy of its files taken while it was open,
 * i.e. what a crash at that moment would leave behind. */
static void make_image(image_t *im)
{
	plog_opts_t o = t_opts();
	o.index_interval_bytes = 1024;
	plog_t *p;
	CHECK_EQ(plog_open(&p, "tpl", &o, NULL, NULL, 0), 0);
	uint64_t pos = 0;
	for (int i = 0; i < NB; i++) {
		im->base[i] = t_append(p, i);
		buf_t b = BUF_INIT;
		t_batch(&b, i);
		im->pos[i] = pos;
		im->size[i] = buf_len(&b);
		pos += buf_len(&b);
		buf_deinit(&b);
	}
	im->end = plog_end_offset(p);
	im->data = pos;
	/* The active segment's index entries reach the files at housekeeping
	 * (or every few hundred entries): a crash image taken after it. */
	plog_housekeep(p, T_TS0);
	buf_t *dst[3] = {&im->log, &im->idx, &im->tidx};
	for (int e = 0; e < 3; e++) {
		char path[256];
		seg_path(path, sizeof path, "tpl", 0, EXT[e]);
		CHECK(t_slurp(path, dst[e]) >= 0);
	}
	CHECK(buf_len(&im->log) > im->data); /* the zero tail is there */
	CHECK(buf_len(&im->idx) >= 8 * 20);
	CHECK(buf_len(&im->tidx) >= 12 * 10);
	plog_close(p);
}

/* victim: the batch a flip made a hole of, or -1. */
static void check_case(const image_t *im, const char *dir, int64_t want_end, int time_ok,
                       int victim)
{
	plog_opts_t o = t_opts();
	o.index_interval_bytes = 1024;
	plog_t *p;
	CHECK_EQ(plog_open(&p, dir, &o, NULL, NULL, 0), 0);
	CHECK_MSG(plog_end_offset(p) == want_end, "%s: end %lld, want %lld", dir,
	          (long long)plog_end_offset(p), (long long)want_end);
	buf_t want = BUF_INIT;
	for (int i = 0; i < NB && im->base[i] < want_end; i++) {
		if (i == victim) {
			/* Never served: a read in it gets the next batch. */
			plog_region_t h;
			CHECK_EQ(plog_read(p, im->base[i], 1, &h), 0);
			CHECK_MSG(h.len > 0 && h.first_offset == im->base[i + 1],
			          "%s: read in the hole at %lld gave %lld", dir,
			          (long long)im->base[i], (long long)h.first_offset);
			continue;
		}
		buf_reset(&want);
		t_stored(&want, i, im->base[i]);
		int64_t last = im->base[i] + t_nrec(i) - 1;
		CHECK_EQ(t_check_read(p, im->base[i], 1, buf_data(&want), buf_len(&want)),
		         im->base[i]);
		CHECK_EQ(t_check_read(p, last, 5000, buf_data(&want), buf_len(&want)), im->base[i]);
	}
	plog_region_t r;
	CHECK_EQ(plog_read(p, want_end, 1 << 20, &r), 0);
	CHECK_EQ(r.len, 0);
	CHECK_EQ(plog_read(p, want_end + 1, 1 << 20, &r), SL_ERANGE);
	CHECK_EQ(plog_read(p, 0, 1 << 30, &r), 0);
	CHECK(r.len <= im->data);
	if (time_ok) {
		for (int i = 0; i < NB; i += 7) {
			int64_t off = -1;
			int rc = plog_find_by_time(p, T_TS0 + i * 10 + 1, &off);
			int64_t exp = -1;
			for (int j = 0; j < NB && im->base[j] < want_end; j++)
				if (T_TS0 + j * 10 + t_nrec(j) - 1 >= T_TS0 + i * 10 + 1) {
					exp = im->base[j];
					break;
				}
			if (exp < 0)
				CHECK_EQ(rc, SL_ENOENT);
			else
				CHECK_MSG(rc == 0 && off == exp, "%s: time %d: %lld want %lld", dir,
				          i, (long long)off, (long long)exp);
		}
	}
	/* The log takes appends again right after the cut. */
	int64_t b = t_append(p, 7);
	CHECK_EQ(b, want_end);
	buf_reset(&want);
	t_stored(&want, 7, b);
	CHECK_EQ(t_check_read(p, b, 1, buf_data(&want), buf_len(&want)), b);
	buf_deinit(&want);
	plog_close(p);
}

TEST_T(plog_corruption_random_positions, 120)
{
	static image_t im;
	make_image(&im);
	uint64_t seed = 0x5eed5eedull;
	int counts[5] = {0};
	for (int c = 0; c < CASES; c++) {
		char dir[64];
		snprintf(dir, sizeof dir, "case%03d", c);
		CHECK_EQ(mkdir(dir, 0755), 0);
		int mode = (int)(test_rand(&seed) % 5);
		counts[mode]++;
		buf_t files[3] = {BUF_INIT, BUF_INIT, BUF_INIT};
		buf_append(&files[0], buf_data(&im.log), buf_len(&im.log));
		buf_append(&files[1], buf_data(&im.idx), buf_len(&im.idx));
		buf_append(&files[2], buf_data(&im.tidx), buf_len(&im.tidx));
		int64_t want_end = im.end;
		int time_ok = 1, victim = -1;
		if (mode == 0 || mode == 1) {
			/* Log damage: mostly inside the data, sometimes in the
			 * zero tail, which must cost nothing. */
			uint64_t span = (test_rand(&seed) % 8 == 0) ? buf_len(&files[0]) : im.data;
			uint64_t x = test_rand(&seed) % span;
			if (mode == 0)
				files[0].end = files[0].start + x;
			else
				buf_data(&files[0])[x] ^= (uint8_t)(1 + test_rand(&seed) % 255);
			for (int i = 0; i < NB; i++)
				if (im.pos[i] + im.size[i] > x) {
					want_end = im.base[i];
					if (mode == 1 && i + 1 < NB) {
						/* Valid batches follow: a hole. */
						victim = i;
						want_end = im.end;
						time_ok = 0;
					}
					break;
				}
		} else {
			/* Index damage loses nothing. */
			buf_t *f = &files[mode == 4 ? 2 : 1];
			uint64_t x = test_rand(&seed) % buf_len(f);
			if (mode == 3)
				f->end = f->start + x;
			else
				buf_data(f)[x] ^= (uint8_t)(1 + test_rand(&seed) % 255);
			time_ok = mode != 4;
		}
		for (int e = 0; e < 3; e++) {
			char path[256];
			seg_path(path, sizeof path, dir, 0, EXT[e]);
			t_spit(path, buf_data(&files[e]), buf_len(&files[e]));
			buf_deinit(&files[e]);
		}
		check_case(&im, dir, want_end, time_ok, victim);
	}
	for (int m = 0; m < 5; m++)
		CHECK(counts[m] > 10);
	buf_deinit(&im.log);
	buf_deinit(&im.idx);
	buf_deinit(&im.tidx);
}

/* Files that were never a log: random bytes, random sizes, sometimes
 * behind a valid first batch, with random or empty index files; opened
 * clean and unclean. Whatever survives must be whole valid batches. */
TEST(plog_garbage_files_never_crash)
{
	uint64_t seed = 0xbadf00dull;
	plog_opts_t o = t_opts();
	for (int c = 0; c < 60; c++) {
		char dir[64];
		snprintf(dir, sizeof dir, "g%02d", c);
		CHECK_EQ(mkdir(dir, 0755), 0);
		buf_t f = BUF_INIT;
		int valid_first = c % 3 == 0;
		if (valid_first)
			t_stored(&f, 1, 0);
		size_t n = (size_t)(test_rand(&seed) % 5000);
		uint8_t *p = buf_reserve(&f, n + 1);
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)(c % 2 ? test_rand(&seed)
			                       : (i % 61 == 8 ? 0 : test_rand(&seed) % 3));
		buf_commit(&f, n);
		/* The same files twice: "t" is opened clean first (structure
		 * trusted, only no crash is asked), dir unclean first. */
		char tdir[64], path[256];
		snprintf(tdir, sizeof tdir, "t%02d", c);
		CHECK_EQ(mkdir(tdir, 0755), 0);
		uint8_t g[2][64];
		size_t m[2];
		for (int e = 0; e < 2; e++) {
			m[e] = (size_t)(test_rand(&seed) % 64);
			for (size_t i = 0; i < m[e]; i++)
				g[e][i] = (uint8_t)test_rand(&seed);
		}
		for (int d = 0; d < 2; d++) {
			const char *dd = d ? tdir : dir;
			seg_path(path, sizeof path, dd, 0, ".log");
			t_spit(path, buf_data(&f), buf_len(&f));
			seg_path(path, sizeof path, dd, 0, ".index");
			t_spit(path, g[0], m[0]);
			seg_path(path, sizeof path, dd, 0, ".timeindex");
			t_spit(path, g[1], m[1]);
		}
		buf_deinit(&f);
		plog_t *tl;
		CHECK_EQ(plog_open(&tl, tdir, &o, NULL, NULL, 1), 0);
		for (int64_t off = 0; off < plog_end_offset(tl);) {
			plog_region_t r;
			uint8_t hb[BATCH_HDR_SIZE];
			batch_hdr_t h;
			CHECK_EQ(plog_read(tl, off, 1, &r), 0);
			CHECK(r.len >= BATCH_HDR_SIZE);
			CHECK_EQ(pread(r.fd, hb, sizeof hb, r.pos), (ssize_t)sizeof hb);
			CHECK_EQ(batch_peek(hb, sizeof hb, &h), 0);
			CHECK(batch_last_offset(&h) >= off);
			off = batch_last_offset(&h) + 1;
		}
		int64_t tend = plog_end_offset(tl);
		CHECK_EQ(t_append(tl, 2), tend);
		plog_close(tl);
		for (int clean = 0; clean < 2; clean++) {
			plog_t *pl;
			CHECK_EQ(plog_open(&pl, dir, &o, NULL, NULL, clean), 0);
			int64_t end = plog_end_offset(pl);
			if (valid_first)
				CHECK(end >= t_nrec(1));
			for (int64_t off = 0; off < end;) {
				CHECK_EQ(t_check_read(pl, off, 1, NULL, 0), off);
				plog_region_t r;
				uint8_t hb[BATCH_HDR_SIZE];
				batch_hdr_t h;
				CHECK_EQ(plog_read(pl, off, 1, &r), 0);
				CHECK_EQ(pread(r.fd, hb, sizeof hb, r.pos), (ssize_t)sizeof hb);
				CHECK_EQ(batch_peek(hb, sizeof hb, &h), 0);
				off = batch_last_offset(&h) + 1;
			}
			int64_t ts;
			(void)plog_find_by_time(pl, T_TS0, &ts);
			CHECK_EQ(t_append(pl, 2), end);
			plog_close(pl);
		}
	}
}
