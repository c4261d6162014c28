/*
 * test_journal_unit.c — units of records (jrnl_unit_*): a unit replays all
 * or none whatever prefix of it a crash left on disk, a unit missing from
 * its peer journal is cut with what follows it, journals written before
 * units (format version 1) still load, and ids survive a compaction.
 */
#include "test_journal_util.h"

#include <dirent.h>

/* How many files of the current directory start with pre. */
static int files_named(const char *pre)
{
	DIR *d = opendir(".");
	CHECK(d);
	int k = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		k += strncmp(de->d_name, pre, strlen(pre)) == 0;
	closedir(d);
	return k;
}

/* Records are tagged with their index: payload "u<unit>r<rec>". */
static int append_tag(jrnl_t *j, int unit, int rec)
{
	char p[32];
	int n = snprintf(p, sizeof p, "u%dr%d", unit, rec);
	return jrnl_append(j, 7, p, (size_t)n);
}

/* Writes unit u (ids from 1) of nrec records. */
static void write_unit(jrnl_t *j, int u, int nrec, int cross)
{
	jrnl_unit_begin(j, (uint64_t)u);
	for (int r = 0; r < nrec; r++)
		CHECK_EQ(append_tag(j, u, r), 0);
	jrnl_unit_end(j, cross);
}

/* Counts the collected records of unit u. */
static int recs_of(const collector_t *c, int u)
{
	char pre[16];
	int n = snprintf(pre, sizeof pre, "u%dr", u), k = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->r[i].len > (size_t)n && memcmp(c->r[i].data, pre, (size_t)n) == 0)
			k++;
	return k;
}

static jrnl_t *open_j(fixture_t *fx, const char *name, jrnl_opts_t *o, collector_t *c)
{
	jrnl_t *j = NULL;
	CHECK_EQ(jrnl_open(&j, fx->loop, fx->syncer, &fx->log, ".", name, o, collect, c), 0);
	return j;
}

TEST(jrnl_unit_replays_all_or_none_at_every_cut)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j = open_j(&fx, "u", &o, &c);
	CHECK_EQ(append_tag(j, 0, 0), 0); /* a plain record before any unit */
	write_unit(j, 1, 3, 0);
	uint64_t unit2_at = jrnl_size(j);
	write_unit(j, 2, 5, 0);
	jrnl_close(j);
	drain(&fx, 3);
	size_t n;
	uint8_t *all = read_all("u.journal", &n);
	CHECK_EQ(all[7], 2); /* the first marker made it a version-2 file */
	/* Every prefix that ends inside unit 2 replays unit 1 whole and none
	 * of unit 2; the whole file replays both. */
	for (size_t len = unit2_at; len <= n; len++) {
		write_all_file("t.journal", all, len);
		collector_t d = {0};
		jrnl_t *k = open_j(&fx, "t", &o, &d);
		CHECK_EQ(recs_of(&d, 0), 1);
		CHECK_EQ(recs_of(&d, 1), 3);
		CHECK_EQ(recs_of(&d, 2), len == n ? 5 : 0);
		/* The open unit was cut: what follows is appended after unit 1. */
		CHECK_EQ(jrnl_size(k), len == n ? (uint64_t)n : unit2_at);
		/* A torn unit is a torn append, not damage: nothing set aside. */
		CHECK_EQ(files_named("t.journal.damaged"), 0);
		jrnl_close(k);
		drain(&fx, 3);
		collector_free(&d);
	}
	free(all);
	collector_free(&c);
	fx_deinit(&fx);
}

typedef struct seen {
	int n;
} seen_t;

static int count_discard(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	(void)type;
	(void)payload;
	(void)len;
	((seen_t *)arg)->n++;
	return 0;
}

TEST(jrnl_unit_open_at_the_tail_goes_to_discard)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j = open_j(&fx, "u", &o, &c);
	write_unit(j, 1, 2, 0);
	uint64_t at = jrnl_size(j);
	write_unit(j, 2, 4, 0);
	jrnl_close(j);
	drain(&fx, 3);
	size_t n;
	uint8_t *all = read_all("u.journal", &n);
	/* Unit 2 without its COMMIT (the last frame), followed by the zeros
	 * of preallocated space, as a crash leaves it. */
	size_t cut = n - (9 + 10);
	uint8_t *z = calloc(1, cut + 4096);
	memcpy(z, all, cut);
	write_all_file("t.journal", z, cut + 4096);
	seen_t s = {0};
	o.discard = count_discard;
	o.discard_arg = &s;
	collector_t d = {0};
	jrnl_t *k = open_j(&fx, "t", &o, &d);
	CHECK_EQ(recs_of(&d, 1), 2);
	CHECK_EQ(recs_of(&d, 2), 0);
	CHECK_EQ(s.n, 4);
	CHECK_EQ(jrnl_size(k), at);
	/* Not damage: nothing was set aside. */
	CHECK_EQ(files_named("t.journal.damaged"), 0);
	jrnl_close(k);
	drain(&fx, 3);
	free(z);
	free(all);
	collector_free(&c);
	collector_free(&d);
	fx_deinit(&fx);
}

TEST(jrnl_unit_missing_in_peer_is_cut_with_what_follows)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0}, e = {0};
	jrnl_t *a = open_j(&fx, "a", &o, &c);
	jrnl_t *b = open_j(&fx, "b", &o, &e);
	/* Unit 1 reached both journals, unit 2 only a: the crash came
	 * between the two writes. Records after it in a go too. */
	write_unit(a, 1, 2, 1);
	write_unit(b, 1, 1, 1);
	write_unit(a, 2, 3, 1);
	CHECK_EQ(append_tag(a, 3, 0), 0);
	jrnl_close(a);
	jrnl_close(b);
	drain(&fx, 3);
	collector_t ra = {0}, rb = {0};
	a = open_j(&fx, "a", &o, &ra);
	b = open_j(&fx, "b", &o, &rb);
	uint64_t ida, ca, idb, cb;
	jrnl_unit_ids(a, &ida, &ca);
	jrnl_unit_ids(b, &idb, &cb);
	CHECK_EQ(ca, 2);
	CHECK_EQ(cb, 1);
	seen_t s = {0};
	CHECK_EQ(jrnl_unit_cut_after(b, ca, 0, count_discard, &s), 0);
	CHECK_EQ(jrnl_unit_cut_after(a, cb, 1, count_discard, &s), 1);
	CHECK_EQ(s.n, 4); /* unit 2's three records and the one after */
	/* keep: the dropped bytes were copied aside first. */
	CHECK_EQ(files_named("a.journal.damaged"), 1);
	CHECK_EQ(files_named("b.journal.damaged"), 0);
	collector_t again = {0};
	CHECK_EQ(jrnl_replay(a, collect, &again), 0);
	CHECK_EQ(recs_of(&again, 1), 2);
	CHECK_EQ(recs_of(&again, 2), 0);
	CHECK_EQ(recs_of(&again, 3), 0);
	jrnl_unit_ids(a, &ida, &ca);
	CHECK_EQ(ca, 1);
	jrnl_close(a);
	jrnl_close(b);
	drain(&fx, 3);
	/* The cut is on disk. */
	collector_t ra2 = {0};
	a = open_j(&fx, "a", &o, &ra2);
	CHECK_EQ(recs_of(&ra2, 2), 0);
	CHECK_EQ(recs_of(&ra2, 1), 2);
	jrnl_close(a);
	drain(&fx, 3);
	collector_free(&c);
	collector_free(&e);
	collector_free(&ra);
	collector_free(&rb);
	collector_free(&ra2);
	collector_free(&again);
	fx_deinit(&fx);
}

TEST(jrnl_unit_version_1_journal_loads_and_upgrades)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	collector_t c = {0};
	jrnl_t *j = open_j(&fx, "v", &o, &c);
	for (uint32_t i = 0; i < 20; i++)
		CHECK_EQ(gen_append(j, i), 0);
	jrnl_close(j);
	drain(&fx, 3);
	size_t n;
	uint8_t *all = read_all("v.journal", &n);
	CHECK_EQ(all[7], 1); /* no unit yet: still the old format */
	free(all);
	collector_t d = {0};
	j = open_j(&fx, "v", &o, &d);
	check_gen(&d, 0, 0, 20);
	write_unit(j, 1, 2, 0);
	jrnl_close(j);
	drain(&fx, 3);
	all = read_all("v.journal", &n);
	CHECK_EQ(all[7], 2);
	free(all);
	collector_t e = {0};
	j = open_j(&fx, "v", &o, &e);
	check_gen(&e, 0, 0, 20);
	CHECK_EQ(recs_of(&e, 1), 2);
	jrnl_close(j);
	drain(&fx, 3);
	collector_free(&c);
	collector_free(&d);
	collector_free(&e);
	fx_deinit(&fx);
}

TEST(jrnl_unit_of_one_record_writes_no_marker)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	o.unit_strip = 1;
	collector_t c = {0};
	jrnl_t *j = open_j(&fx, "s", &o, &c);
	write_unit(j, 1, 1, 0);
	CHECK_EQ(jrnl_size(j), 8 + jrnl_record_size(4));
	write_unit(j, 2, 2, 0);
	CHECK(jrnl_size(j) > 8 + 3 * jrnl_record_size(4));
	jrnl_close(j);
	drain(&fx, 3);
	collector_free(&c);
	fx_deinit(&fx);
}

static int snap_nothing(void *arg, jrnl_t *j)
{
	(void)arg;
	(void)j;
	return 0;
}

TEST(jrnl_unit_ids_survive_compaction)
{
	fixture_t fx;
	fx_init(&fx);
	jrnl_opts_t o = opts_default();
	o.compact_min_bytes = 1;
	collector_t c = {0};
	jrnl_t *j = open_j(&fx, "w", &o, &c);
	write_unit(j, 5, 2, 1);
	write_unit(j, 9, 2, 0);
	jrnl_garbage(j, jrnl_size(j));
	CHECK_EQ(jrnl_maybe_compact(j, snap_nothing, NULL), 0);
	jrnl_close(j);
	drain(&fx, 3);
	collector_t d = {0};
	j = open_j(&fx, "w", &o, &d);
	CHECK_EQ(d.n, 0);
	uint64_t id, cross;
	jrnl_unit_ids(j, &id, &cross);
	CHECK_EQ(id, 9);
	CHECK_EQ(cross, 5);
	jrnl_close(j);
	drain(&fx, 3);
	collector_free(&c);
	collector_free(&d);
	fx_deinit(&fx);
}
