/*
 * test_keyspace_types.c — hashes, sets and sorted sets in the keyspace:
 * every mutation survives a reopen (replay of HSET/HDEL/SADD/SREM/ZADD/
 * ZREM/COPY records) and a compaction (the snapshot's records), with the
 * same content, order and encodings; a removal that empties a value
 * deletes its key for good; a write refused for lack of space changes
 * nothing; COPY, RENAME and the stores of computed values replace what
 * the destination held, of any type.
 */
#include "../test.h"

#include "broker/keyspace.h"
#include "core/err.h"
#include "store/sio.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct tfx {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
	keyspace_t *ks;
} tfx_t;

static void open_ks(tfx_t *f, const char *compact_min)
{
	char err[128];
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	CHECK(config_set(&f->cfg, "fsync", "never", err, sizeof err) == 0);
	if (compact_min) {
		CHECK(config_set(&f->cfg, "journal.compact.min.bytes", compact_min, err,
		                 sizeof err) == 0);
		CHECK(config_set(&f->cfg, "journal.compact.ratio", "10", err, sizeof err) == 0);
	}
	log_init(&f->log, LOG_ERROR, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	f->b.io = f->io;
	CHECK_EQ(ks_open(&f->ks, &f->b), 0);
}

static void close_ks(tfx_t *f)
{
	for (int i = 0; i < 100; i++)
		loop_run_once(f->b.loop, 0);
	ks_close(f->ks);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

static void reopen(tfx_t *f, const char *compact_min)
{
	close_ks(f);
	open_ks(f, compact_min);
}

#define K(s) s, strlen(s)

static void hset1(tfx_t *f, const char *key, const char *fld, const char *v)
{
	const char *fv[2] = {fld, v};
	size_t lens[2] = {strlen(fld), strlen(v)};
	int64_t added;
	CHECK_EQ(ks_hset(f->ks, K(key), 1, fv, lens, 0, &added), 0);
}

static void sadd1(tfx_t *f, const char *key, const char *m)
{
	size_t l = strlen(m);
	int64_t added;
	CHECK_EQ(ks_sadd(f->ks, K(key), 1, &m, &l, &added), 0);
}

static void zadd1(tfx_t *f, const char *key, double s, const char *m)
{
	size_t l = strlen(m);
	int64_t added, changed;
	double out;
	CHECK(ks_zadd(f->ks, K(key), 0, 1, &s, &m, &l, &added, &changed, &out) >= 0);
}

/* The content of every type, as text, to compare across reopens. */
static void dump(tfx_t *f, buf_t *out)
{
	const char *keys[] = {"h", "s", "i", "z", "hc", "zc", "st", "gone"};
	buf_reset(out);
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		ks_obj_t *o = ks_find(f->ks, K(keys[k]));
		buf_printf(out, "%s:", keys[k]);
		if (!o) {
			buf_printf(out, "none;");
			continue;
		}
		buf_printf(out, "%s/%s ", ks_type_name(o->type), ks_obj_encoding(o));
		if (o->type == KS_HASH) {
			size_t it = 0;
			for (rhent_t *e; (e = rhash_next(o->ptr, &it)) != NULL;)
				buf_printf(out, "%s=%s,", e->d, rhent_val(e));
		} else if (o->type == KS_SET) {
			rset_iter_t it;
			rset_iter_init(o->ptr, &it);
			size_t n;
			for (const char *m; (m = rset_iter_next(&it, &n)) != NULL;)
				buf_printf(out, "%.*s,", (int)n, m);
		} else if (o->type == KS_ZSET) {
			for (znode_t *x = zset_first(o->ptr); x; x = zset_next(x))
				buf_printf(out, "%s@%.17g,", x->m, x->score);
		}
		buf_printf(out, " exp=%d;", ks_expire_at(f->ks, K(keys[k])) != 0);
	}
}

static void fill(tfx_t *f)
{
	for (int i = 0; i < 40; i++) {
		char fld[16], v[16];
		snprintf(fld, sizeof fld, "f%d", i);
		snprintf(v, sizeof v, "v%d", i);
		hset1(f, "h", fld, v);
	}
	hset1(f, "h", "f3", "again");
	const char *del[] = {"f5", "f6", "nope"};
	size_t dl[] = {2, 2, 4};
	int64_t n;
	CHECK_EQ(ks_hdel(f->ks, K("h"), 3, del, dl, &n), 0);
	CHECK_EQ(n, 2);
	int64_t out;
	CHECK_EQ(ks_hincrby(f->ks, K("h"), K("ctr"), 41, &out), 0);
	CHECK_EQ(ks_hincrby(f->ks, K("h"), K("ctr"), 1, &out), 0);
	CHECK_EQ(out, 42);
	CHECK_EQ(ks_hincrby(f->ks, K("h"), K("f3"), 1, &out), SL_EINVAL);
	sadd1(f, "i", "3");
	sadd1(f, "i", "-1");
	sadd1(f, "i", "2");
	sadd1(f, "s", "x");
	sadd1(f, "s", "y");
	sadd1(f, "s", "z");
	const char *rm = "y";
	size_t rml = 1;
	CHECK_EQ(ks_srem(f->ks, K("s"), 1, &rm, &rml, &n), 0);
	zadd1(f, "z", 3, "c");
	zadd1(f, "z", 1, "a");
	zadd1(f, "z", 2, "b");
	zadd1(f, "z", 0.5, "c"); /* moves */
	zadd1(f, "z", -0.0, "d");
	CHECK_EQ(ks_copy(f->ks, K("h"), K("hc"), 0), 1);
	CHECK_EQ(ks_copy(f->ks, K("z"), K("zc"), 0), 1);
	CHECK_EQ(ks_expire(f->ks, K("zc"), 4102444800000LL), 1);
	/* A store over a string of the computed set. */
	CHECK_EQ(ks_set(f->ks, K("st"), "v", 1, 0), 0);
	rset_t *res = rset_new();
	rset_add(res, "q", 1, 512);
	rset_add(res, "r", 1, 512);
	CHECK_EQ(ks_sstore(f->ks, K("st"), res), 0);
}

static void ignore(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
}

static void zignore(void *arg, const char *m, size_t n, double score)
{
	(void)arg;
	(void)m;
	(void)n;
	(void)score;
}

TEST(keyspace_types_survive_reopen_and_compaction)
{
	tfx_t f;
	open_ks(&f, NULL);
	fill(&f);
	int64_t n;
	sadd1(&f, "gone", "x");
	CHECK_EQ(ks_spop(f.ks, K("gone"), 5, ignore, NULL, &n), 0);
	CHECK(ks_find(f.ks, K("gone")) == NULL);
	buf_t before = BUF_INIT, after = BUF_INIT;
	dump(&f, &before);
	CHECK_MSG(strstr((char *)buf_data(&before), "d@0,") != NULL, "%.*s", (int)buf_len(&before),
	          (char *)buf_data(&before));
	reopen(&f, NULL);
	dump(&f, &after);
	CHECK_MSG(buf_len(&before) == buf_len(&after) &&
	              memcmp(buf_data(&before), buf_data(&after), buf_len(&before)) == 0,
	          "before: %.*s\nafter: %.*s", (int)buf_len(&before), (char *)buf_data(&before),
	          (int)buf_len(&after), (char *)buf_data(&after));
	/* Churn until the journal compacts, then check the snapshot. */
	reopen(&f, "4096");
	for (int i = 0; i < 3000; i++) {
		hset1(&f, "churn", "k", "v");
		const char *k = "k";
		size_t kl = 1;
		CHECK_EQ(ks_hdel(f.ks, K("churn"), 1, &k, &kl, &n), 0);
		if (i % 100 == 0)
			loop_run_once(f.b.loop, 0);
	}
	for (int i = 0; i < 50; i++)
		loop_run_once(f.b.loop, 1);
	/* 6000 records of churn: compacted away (the live data is small). */
	struct stat st;
	CHECK(stat("resp/keys.journal", &st) == 0);
	CHECK_MSG(st.st_size < 64 * 1024, "journal size %lld", (long long)st.st_size);
	reopen(&f, NULL);
	dump(&f, &after);
	CHECK_MSG(buf_len(&before) == buf_len(&after) &&
	              memcmp(buf_data(&before), buf_data(&after), buf_len(&before)) == 0,
	          "before: %.*s\nafter: %.*s", (int)buf_len(&before), (char *)buf_data(&before),
	          (int)buf_len(&after), (char *)buf_data(&after));
	CHECK(ks_find(f.ks, K("churn")) == NULL);
	buf_deinit(&before);
	buf_deinit(&after);
	close_ks(&f);
}

TEST(keyspace_types_refused_write_changes_nothing)
{
	tfx_t f;
	open_ks(&f, NULL);
	zadd1(&f, "z", 1, "a");
	hset1(&f, "h", "a", "1");
	reopen(&f, NULL); /* a clean stop trims the file: the next append reserves */
	sio_fault_t r;
	char err[128];
	CHECK(sio_fault_parse("op=fallocate,path=keys.journal,count=-1,errno=ENOSPC", &r, err,
	                      sizeof err) == 0);
	CHECK_EQ(sio_fault_add(f.io, &r), 0);
	double s = 2;
	const char *m = "b";
	size_t ml = 1;
	int64_t added, changed;
	double out;
	CHECK_EQ(ks_zadd(f.ks, K("z"), 0, 1, &s, &m, &ml, &added, &changed, &out), SL_ENOSPC);
	int wrong;
	CHECK_EQ(zset_len(ks_zset(f.ks, K("z"), &wrong)), 1);
	const char *fv[2] = {"b", "2"};
	size_t lens[2] = {1, 1};
	CHECK_EQ(ks_hset(f.ks, K("h"), 1, fv, lens, 0, &added), SL_ENOSPC);
	CHECK_EQ(rhash_len(ks_hash(f.ks, K("h"), &wrong)), 1);
	int64_t n;
	CHECK_EQ(ks_zpop(f.ks, K("z"), 0, 1, zignore, NULL, &n), SL_ENOSPC);
	CHECK_EQ(zset_len(ks_zset(f.ks, K("z"), &wrong)), 1);
	sio_fault_clear(f.io);
	CHECK_EQ(ks_zadd(f.ks, K("z"), 0, 1, &s, &m, &ml, &added, &changed, &out), 1);
	reopen(&f, NULL);
	CHECK_EQ(zset_len(ks_zset(f.ks, K("z"), &wrong)), 2);
	CHECK_EQ(rhash_len(ks_hash(f.ks, K("h"), &wrong)), 1);
	close_ks(&f);
}

TEST(keyspace_types_wrongtype_and_encodings)
{
	tfx_t f;
	open_ks(&f, NULL);
	hset1(&f, "h", "a", "1");
	int64_t n;
	const char *m = "x";
	size_t ml = 1;
	CHECK_EQ(ks_sadd(f.ks, K("h"), 1, &m, &ml, &n), SL_ESTATE);
	double s = 1;
	int64_t changed;
	double out;
	CHECK_EQ(ks_zadd(f.ks, K("h"), 0, 1, &s, &m, &ml, &n, &changed, &out), SL_ESTATE);
	ks_enc(f.ks)->set_intset = 3;
	for (int i = 0; i < 3; i++) {
		char b[16];
		snprintf(b, sizeof b, "%d", i);
		sadd1(&f, "i", b);
	}
	CHECK_STR(ks_obj_encoding(ks_find(f.ks, K("i"))), "intset");
	sadd1(&f, "i", "3");
	CHECK_STR(ks_obj_encoding(ks_find(f.ks, K("i"))), "hashtable");
	CHECK_EQ(ks_rename(f.ks, K("i"), K("h")), 0);
	CHECK_STR(ks_type_name(ks_find(f.ks, K("h"))->type), "set");
	reopen(&f, NULL);
	CHECK_STR(ks_type_name(ks_find(f.ks, K("h"))->type), "set");
	CHECK(ks_find(f.ks, K("i")) == NULL);
	close_ks(&f);
}
