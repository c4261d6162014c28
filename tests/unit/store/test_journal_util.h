/*
 * test_journal_util.h — shared helpers for the journal tests: a loop and
 * syncer fixture, a deterministic record generator, and a replay collector
 * that keeps copies of what it was given. Test code only, single thread.
 */
#ifndef SL_TESTS_JOURNAL_UTIL_H
#define SL_TESTS_JOURNAL_UTIL_H

#include "test.h"

#include "core/buf.h"
#include "core/err.h"
#include "store/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fixture {
	loop_t *loop;
	syncer_t *syncer;
	sio_t *io; /* the syncer's file interface: tests arm faults on it */
	log_t log;
} fixture_t;

static inline void fx_init(fixture_t *fx)
{
	/* Warnings go to stderr so the runner shows them on failure. */
	log_init(&fx->log, LOG_WARN, 2);
	fx->loop = loop_new(NULL);
	CHECK(fx->loop);
	fx->syncer = syncer_new(fx->loop, &fx->log);
	CHECK(fx->syncer);
	fx->io = sio_new();
	syncer_set_io(fx->syncer, fx->io);
}

static inline void fx_deinit(fixture_t *fx)
{
	syncer_free(fx->syncer);
	sio_free(fx->io);
	loop_free(fx->loop);
}

/* Arms a fault rule in the store/sio.h syntax. */
static inline void fx_fault(fixture_t *fx, const char *spec)
{
	sio_fault_t f;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &f, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(fx->io, &f), 0);
}

static inline jrnl_opts_t opts_default(void)
{
	jrnl_opts_t o = {
	    .fsync = {FSYNC_ALWAYS, 0}, .compact_ratio_pct = 50, .max_record = 1 << 20};
	return o;
}

/* Record i of the deterministic stream: varied types and sizes (empty,
 * small, and a few over the 256 KiB flush threshold). */
static inline size_t gen_len(uint32_t i)
{
	if (i % 97 == 5)
		return 300000 + i;
	if (i % 50 == 0)
		return 20000 + i;
	if (i % 7 == 0)
		return 0;
	return (i * 37u) % 1000;
}
static inline uint8_t gen_type(uint32_t i)
{
	return (uint8_t)(1 + i % 255);
}
static inline void gen_fill(uint32_t i, uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (uint8_t)(i * 131u + k * 7u + (k >> 8));
	if (n >= 4)
		be32_store(p, i);
}

static inline int gen_append(jrnl_t *j, uint32_t i)
{
	size_t n = gen_len(i);
	uint8_t *p = malloc(n ? n : 1);
	CHECK(p);
	gen_fill(i, p, n);
	int rc;
	if (i % 3 == 0 && n >= 10)
		rc = jrnl_append2(j, gen_type(i), p, 10, p + 10, n - 10);
	else
		rc = jrnl_append(j, gen_type(i), p, n);
	free(p);
	return rc;
}

typedef struct rec_copy {
	uint8_t type;
	size_t len;
	uint8_t *data;
} rec_copy_t;

typedef struct collector {
	rec_copy_t *r;
	size_t n, cap;
} collector_t;

static inline int collect(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	collector_t *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->r = realloc(c->r, c->cap * sizeof *c->r);
		CHECK(c->r);
	}
	uint8_t *d = malloc(len ? len : 1);
	CHECK(d);
	if (len)
		memcpy(d, payload, len);
	c->r[c->n++] = (rec_copy_t){type, len, d};
	return 0;
}

static inline void collector_free(collector_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->r[i].data);
	free(c->r);
	memset(c, 0, sizeof *c);
}

/* Checks that the collector holds exactly records first..first+n-1 of the
 * generated stream, starting at index at. */
static inline void check_gen(const collector_t *c, size_t at, uint32_t first, uint32_t n)
{
	CHECK(c->n >= at + n);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t i = first + k;
		const rec_copy_t *r = &c->r[at + k];
		size_t len = gen_len(i);
		CHECK_MSG(r->type == gen_type(i), "record %u: type %u != %u", i, r->type,
		          gen_type(i));
		CHECK_MSG(r->len == len, "record %u: len %zu != %zu", i, r->len, len);
		uint8_t *p = malloc(len ? len : 1);
		gen_fill(i, p, len);
		CHECK_MSG(len == 0 || memcmp(p, r->data, len) == 0, "record %u: payload differs",
		          i);
		free(p);
	}
}

static inline int64_t file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return st.st_size;
}

static inline uint8_t *read_all(const char *path, size_t *n)
{
	int64_t size = file_size(path);
	CHECK(size >= 0);
	uint8_t *p = malloc((size_t)size + 1);
	FILE *f = fopen(path, "rb");
	CHECK(p && f);
	CHECK_EQ(fread(p, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	*n = (size_t)size;
	return p;
}

static inline void write_all_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	CHECK(f);
	CHECK_EQ(fwrite(p, 1, n, f), n);
	fclose(f);
}

static inline void drain(fixture_t *fx, int turns)
{
	for (int i = 0; i < turns; i++)
		CHECK_EQ(loop_run_once(fx->loop, 0), 0);
}

#endif
