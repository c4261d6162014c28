/*
 * test_funcs.c — the Redis function libraries' journal (broker/funcs.c):
 * a change replaces the whole set and survives reopening, the last SET
 * wins, many changes compact, and a SET that does not parse stops the open.
 */
#include "broker/broker.h"
#include "broker/funcs.h"
#include "core/config.h"
#include "core/err.h"
#include "store/journal.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

typedef struct ffx {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
	funcs_t *f;
} ffx_t;

static int fopen_fx(ffx_t *x)
{
	memset(x, 0, sizeof *x);
	config_init(&x->cfg);
	log_init(&x->log, LOG_ERROR, 2);
	x->b.cfg = &x->cfg;
	x->b.log = &x->log;
	x->b.data_dir = ".";
	x->b.loop = loop_new(NULL);
	x->b.syncer = syncer_new(x->b.loop, &x->log);
	x->io = sio_new();
	syncer_set_io(x->b.syncer, x->io);
	x->b.io = x->io;
	return funcs_open(&x->f, &x->b);
}

static void fclose_fx(ffx_t *x)
{
	funcs_close(x->f);
	loop_run_once(x->b.loop, 0);
	syncer_free(x->b.syncer);
	sio_free(x->io);
	loop_free(x->b.loop);
	config_deinit(&x->cfg);
}

static funcs_lib_t lib(const char *name, const char *code)
{
	return (funcs_lib_t){name, strlen(name), code, strlen(code)};
}

static int has(const funcs_t *f, const char *name, const char *code)
{
	funcs_lib_t l;
	for (size_t i = 0; funcs_get(f, i, &l); i++)
		if (l.name_len == strlen(name) && memcmp(l.name, name, l.name_len) == 0)
			return l.code_len == strlen(code) && memcmp(l.code, code, l.code_len) == 0;
	return 0;
}

TEST(funcs_changes_survive_reopening_and_the_last_set_wins)
{
	ffx_t x;
	CHECK_EQ(fopen_fx(&x), 0);
	CHECK_EQ(funcs_count(x.f), 0);
	funcs_lib_t a[2] = {lib("a", "#!lua name=a\nA"), lib("b", "#!lua name=b\nB")};
	CHECK_EQ(funcs_replace(x.f, a, 2), 0);
	/* libs pointing into the current set are copied before it goes. */
	funcs_lib_t cur;
	CHECK(funcs_get(x.f, 1, &cur));
	funcs_lib_t c[2] = {cur, lib("c", "#!lua name=c\nC\0x")};
	c[1].code_len = 17; /* a NUL inside the code is kept */
	CHECK_EQ(funcs_replace(x.f, c, 2), 0);
	fclose_fx(&x);

	CHECK_EQ(fopen_fx(&x), 0);
	CHECK_EQ(funcs_count(x.f), 2);
	CHECK(has(x.f, "b", "#!lua name=b\nB"));
	CHECK(!has(x.f, "a", "#!lua name=a\nA"));
	funcs_lib_t l;
	CHECK(funcs_get(x.f, 1, &l));
	CHECK_EQ(l.code_len, 17);
	CHECK(memcmp(l.code, "#!lua name=c\nC\0x", 17) == 0);
	/* Many changes: the dead SETs are compacted away eventually. */
	char code[2048];
	memset(code, 'x', sizeof code - 1);
	code[sizeof code - 1] = 0;
	for (int i = 0; i < 200; i++) {
		funcs_lib_t big = lib("big", code);
		CHECK_EQ(funcs_replace(x.f, &big, 1), 0);
	}
	CHECK_EQ(funcs_replace(x.f, NULL, 0), 0);
	fclose_fx(&x);

	CHECK_EQ(fopen_fx(&x), 0);
	CHECK_EQ(funcs_count(x.f), 0);
	fclose_fx(&x);
	FILE *fp = fopen("functions/functions.journal", "rb");
	CHECK(fp != NULL);
	fseek(fp, 0, SEEK_END);
	CHECK(ftell(fp) < 200 * 2048); /* compacted */
	fclose(fp);
}

static int accept_all(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	(void)arg;
	(void)type;
	(void)p;
	(void)len;
	return 0;
}

TEST(funcs_a_set_that_does_not_parse_stops_the_open)
{
	ffx_t x;
	CHECK_EQ(fopen_fx(&x), 0);
	funcs_lib_t a = lib("a", "#!lua name=a\nA");
	CHECK_EQ(funcs_replace(x.f, &a, 1), 0);
	fclose_fx(&x);
	/* A SET with a valid frame and CRC whose count claims more than it
	 * holds: not a torn write, so the open refuses. */
	CHECK_EQ(fopen_fx(&x), 0);
	funcs_close(x.f);
	x.f = NULL;
	jrnl_opts_t o;
	broker_ahead_jrnl_opts(&x.b, &o);
	jrnl_t *j;
	CHECK_EQ(jrnl_open(&j, x.b.loop, x.b.syncer, &x.log, "functions", "functions", &o,
	                   accept_all, NULL),
	         0);
	static const uint8_t bad[] = {0, 0, 0, 3, 0, 0, 0, 1, 'a'};
	CHECK_EQ(jrnl_append(j, 1, bad, sizeof bad), 0);
	CHECK_EQ(jrnl_commit_now(j), 0);
	jrnl_close(j);
	fclose_fx(&x);
	CHECK_EQ(fopen_fx(&x), SL_ECORRUPT);
	fclose_fx(&x);
}

TEST(funcs_a_torn_last_set_is_cut_and_the_previous_one_stays)
{
	ffx_t x;
	CHECK_EQ(fopen_fx(&x), 0);
	funcs_lib_t a = lib("a", "#!lua name=a\nA"), b = lib("b", "#!lua name=b\nB");
	CHECK_EQ(funcs_replace(x.f, &a, 1), 0);
	CHECK_EQ(funcs_replace(x.f, &b, 1), 0);
	fclose_fx(&x);
	/* Damage the last record's bytes (a torn append after a crash). */
	FILE *fp = fopen("functions/functions.journal", "r+b");
	CHECK(fp != NULL);
	fseek(fp, -3, SEEK_END);
	fputc('Z', fp);
	fclose(fp);
	CHECK_EQ(fopen_fx(&x), 0);
	CHECK_EQ(funcs_count(x.f), 1);
	CHECK(has(x.f, "a", "#!lua name=a\nA"));
	fclose_fx(&x);
}

static void ffault(ffx_t *x, const char *spec)
{
	sio_fault_t sf;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &sf, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(x->io, &sf), 0);
}

/* FUNCTION LOAD/DELETE/FLUSH write ahead: a failed write or sync refuses
 * the change (the client gets the error), the set in memory stays what it
 * was, the journal takes changes again, and a reopening finds exactly the
 * acknowledged set. */
TEST(funcs_write_failure_changes_nothing)
{
	ffx_t x;
	CHECK_EQ(fopen_fx(&x), 0);
	funcs_lib_t a = lib("a", "#!lua name=a\nA");
	CHECK_EQ(funcs_replace(x.f, &a, 1), 0);
	funcs_lib_t ab[2] = {lib("a", "#!lua name=a\nA"), lib("b", "#!lua name=b\nB")};
	ffault(&x, "op=pwrite,path=functions.journal,count=1,errno=ENOSPC");
	CHECK(funcs_replace(x.f, NULL, 0) < 0);
	CHECK_EQ(funcs_count(x.f), 1);
	CHECK(has(x.f, "a", "#!lua name=a\nA"));
	sio_fault_clear(x.io);
	ffault(&x, "op=fsync,path=functions.journal,count=1,errno=EIO");
	CHECK(funcs_replace(x.f, ab, 2) < 0);
	CHECK_EQ(funcs_count(x.f), 1);
	CHECK(!has(x.f, "b", "#!lua name=b\nB"));
	sio_fault_clear(x.io);
	CHECK_EQ(funcs_replace(x.f, ab, 2), 0);
	fclose_fx(&x);

	CHECK_EQ(fopen_fx(&x), 0);
	CHECK_EQ(funcs_count(x.f), 2);
	CHECK(has(x.f, "a", "#!lua name=a\nA"));
	CHECK(has(x.f, "b", "#!lua name=b\nB"));
	fclose_fx(&x);
}
