/*
 * test_topic.c — the topic registry: create, configs, partitions, delete,
 * everything persisted across reopen through the journal; directories the
 * journal does not account for adopted (never deleted unless a journaled
 * deletion or an empty creation); idempotent producer state rebuilt from the
 * log on reopen; every change written ahead, so that a storage failure
 * (injected through store/sio.h) changes nothing, in memory or on disk.
 */
#include "test.h"

#include "broker/topic.h"
#include "store/batch.h"

#include <sys/stat.h>
#include <unistd.h>

typedef struct tfix {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	sio_t *io;
} tfix_t;

static void tf_init(tfix_t *f)
{
	config_init(&f->cfg);
	log_init(&f->log, LOG_WARN, 2);
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.data_dir = ".";
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	CHECK(f->b.loop && f->b.syncer);
	f->io = sio_new();
	syncer_set_io(f->b.syncer, f->io);
	f->b.io = f->io;
}

static void tf_deinit(tfix_t *f)
{
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	sio_free(f->io);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

static void tf_fault(tfix_t *f, const char *spec)
{
	sio_fault_t sf;
	char err[128];
	CHECK_MSG(sio_fault_parse(spec, &sf, err, sizeof err) == 0, "%s", err);
	CHECK_EQ(sio_fault_add(f->io, &sf), 0);
}

static int isdir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

TEST(topics_persist_across_reopen)
{
	tfix_t f;
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	char cid[32];
	snprintf(cid, sizeof cid, "%s", topics_cluster_id(ts));
	CHECK_EQ(strlen(cid), 22);
	topic_kv_t cfg[] = {{"retention.ms", "1000"}, {"message.timestamp.type", "LogAppendTime"}};
	topic_t *t;
	CHECK_EQ(topics_create(ts, "alpha", 2, cfg, 2, &t), 0);
	CHECK(t->log_append_time);
	uint8_t id[16];
	memcpy(id, t->id, 16);
	CHECK_EQ(topics_create(ts, "alpha", 2, NULL, 0, NULL), SL_EEXIST);
	CHECK_EQ(topics_create(ts, "bad name", 1, NULL, 0, NULL), SL_EINVAL);
	CHECK_EQ(topics_create(ts, "zero", 0, NULL, 0, NULL), SL_EINVAL);
	topic_kv_t bad[] = {{"no.such", "1"}};
	CHECK_EQ(topics_create(ts, "badcfg", 1, bad, 1, NULL), SL_ENOENT);
	CHECK_EQ(topics_create(ts, "beta", 1, NULL, 0, NULL), 0);
	CHECK_EQ(topics_create(ts, "gamma", 1, NULL, 0, NULL), 0);
	CHECK_EQ(topics_add_partitions(ts, topics_find(ts, "beta", 4), 4), 0);
	CHECK_EQ(topics_add_partitions(ts, topics_find(ts, "beta", 4), 2), SL_EINVAL);
	CHECK_EQ(topics_set_config(ts, topics_find(ts, "beta", 4), "segment.bytes", "100000"), 0);
	CHECK_EQ(topics_set_config(ts, topics_find(ts, "beta", 4), "segment.bytes", "1"),
	         SL_EINVAL);
	CHECK_EQ(topics_set_config(ts, t, "retention.ms", NULL), 0);
	CHECK_EQ(topics_delete(ts, "gamma"), 0);
	CHECK(!isdir("topics/gamma-0"));
	CHECK_EQ(topics_delete(ts, "gamma"), SL_ENOENT);
	int64_t pid = -1;
	CHECK_EQ(topics_next_producer_id(ts, &pid), 0);
	CHECK(pid >= 0);
	topics_close(ts);

	CHECK_EQ(topics_open(&ts, &f.b), 0);
	CHECK_STR(topics_cluster_id(ts), cid);
	CHECK_EQ(topics_count(ts), 2);
	t = topics_find(ts, "alpha", 5);
	CHECK(t && t->npart == 2 && memcmp(t->id, id, 16) == 0);
	CHECK(t->log_append_time);
	CHECK(topic_config(t, "retention.ms") == NULL);
	topic_t *b = topics_find(ts, "beta", 4);
	CHECK(b && b->npart == 4);
	CHECK_STR(topic_config(b, "segment.bytes"), "100000");
	char tmp[64];
	int dflt;
	CHECK_STR(topics_config_value(ts, b, "cleanup.policy", &dflt, tmp, sizeof tmp), "delete");
	CHECK(dflt);
	int64_t pid2 = -1;
	CHECK_EQ(topics_next_producer_id(ts, &pid2), 0);
	CHECK(pid2 > pid);
	topics_close(ts);
	tf_deinit(&f);
}

/* Appends one batch of n records to partition i of t. */
static void put(topic_t *t, int32_t i, int n)
{
	buf_t b = BUF_INIT;
	batch_record_t r[8];
	memset(r, 0, sizeof r);
	for (int k = 0; k < n && k < 8; k++) {
		r[k].key_len = -1;
		r[k].value = (const uint8_t *)"v";
		r[k].value_len = 1;
	}
	batch_build_opts_t o = {-1, -1, -1, 0, 0};
	CHECK_EQ(batch_build(&b, &o, r, (size_t)n), 0);
	part_append_t a;
	CHECK_EQ(partition_append(t->parts[i], buf_data(&b), buf_len(&b), &a), 0);
	buf_deinit(&b);
}

static int64_t file_len(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Directories the journal does not account for, with an intact journal:
 * empty ones (a creation that never completed) are removed, ones holding
 * records adopted, names that are not partitions left alone. */
TEST(topics_stray_dirs_removed_only_when_empty)
{
	tfix_t f;
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	topic_t *t;
	CHECK_EQ(topics_create(ts, "keep", 1, NULL, 0, &t), 0);
	CHECK_EQ(topics_create(ts, "data", 1, NULL, 0, &t), 0);
	put(t, 0, 3);
	topics_close(ts);
	/* Move data-0 away from the journal's knowledge: as topic "moved". */
	CHECK_EQ(rename("topics/data-0", "topics/moved-1"), 0);
	CHECK_EQ(mkdir("topics/ghost-0", 0755), 0);
	CHECK_EQ(mkdir("topics/keep-5", 0755), 0);
	CHECK_EQ(mkdir("topics/not a partition", 0755), 0);
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	CHECK(!isdir("topics/ghost-0"));
	CHECK(!isdir("topics/keep-5"));
	CHECK(isdir("topics/keep-0"));
	CHECK(isdir("topics/not a partition"));
	t = topics_find(ts, "keep", 4);
	CHECK(t && t->npart == 1);
	/* Adopted: partitions 0..1, the records in 1. */
	t = topics_find(ts, "moved", 5);
	CHECK(t && t->npart == 2);
	CHECK_EQ(plog_end_offset(t->parts[1]->log), 3);
	CHECK_EQ(plog_end_offset(t->parts[0]->log), 0);
	uint8_t id[16];
	memcpy(id, t->id, 16);
	topics_close(ts);
	/* Journaled: the same topic, same id, next time. */
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	t = topics_find(ts, "moved", 5);
	CHECK(t && t->npart == 2 && memcmp(t->id, id, 16) == 0);
	topics_close(ts);
	tf_deinit(&f);
}

/* A torn kafka.journal (its last record gone) must not cost the topics it
 * forgot: their directories hold records, so they are adopted with their
 * partitions, a known topic whose growth was lost grows again, and the
 * producer-id counter moves past the ids the logs hold. */
TEST(topics_torn_journal_adopts_forgotten_topics)
{
	tfix_t f;
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	topic_t *t;
	CHECK_EQ(topics_create(ts, "grow", 1, NULL, 0, &t), 0);
	put(t, 0, 1);
	/* Closed, the journal is exactly its records. */
	topics_close(ts);
	int64_t before = file_len("kafka.journal");
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	t = topics_find(ts, "grow", 4);
	CHECK_EQ(topics_add_partitions(ts, t, 3), 0);
	put(t, 2, 2);
	CHECK_EQ(topics_create(ts, "lost", 3, NULL, 0, &t), 0);
	put(t, 0, 4);
	put(t, 2, 5);
	/* An idempotent producer's batch, whose id the journal will forget. */
	int64_t pid = -1;
	CHECK_EQ(topics_next_producer_id(ts, &pid), 0);
	buf_t b = BUF_INIT;
	batch_record_t r = {0};
	r.key_len = -1;
	batch_build_opts_t o = {pid + 50, 0, 0, 0, 0};
	CHECK_EQ(batch_build(&b, &o, &r, 1), 0);
	part_append_t a;
	CHECK_EQ(partition_append(t->parts[1], buf_data(&b), buf_len(&b), &a), 0);
	buf_deinit(&b);
	topics_close(ts);
	/* Torn: everything after the first topic's creation is gone. */
	CHECK_EQ(truncate("kafka.journal", before + 5), 0);
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	t = topics_find(ts, "grow", 4);
	CHECK(t && t->npart == 3);
	CHECK_EQ(plog_end_offset(t->parts[2]->log), 2);
	t = topics_find(ts, "lost", 4);
	CHECK(t && t->npart == 3);
	CHECK_EQ(plog_end_offset(t->parts[0]->log), 4);
	CHECK_EQ(plog_end_offset(t->parts[1]->log), 1);
	CHECK_EQ(plog_end_offset(t->parts[2]->log), 5);
	int64_t pid2 = -1;
	CHECK_EQ(topics_next_producer_id(ts, &pid2), 0);
	CHECK(pid2 > pid + 50);
	topics_close(ts);
	tf_deinit(&f);
}

/* A deletion journaled but not finished on disk (its files could not be
 * removed) is finished at the next start, even after a compaction dropped
 * the DELETE record's neighbours; a re-created topic of that name is not
 * touched. */
TEST(topics_unfinished_deletion_finished_at_start)
{
	tfix_t f;
	memset(&f, 0, sizeof f);
	tf_init(&f);
	f.cfg.journal_compact_min_bytes = 0;
	f.cfg.journal_compact_ratio = 1;
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	topic_t *t;
	CHECK_EQ(topics_create(ts, "gone", 2, NULL, 0, &t), 0);
	put(t, 0, 3);
	CHECK_EQ(topics_create(ts, "other", 1, NULL, 0, &t), 0);
	tf_fault(&f, "op=unlink,path=gone-,count=-1,errno=EIO");
	CHECK_EQ(topics_delete(ts, "gone"), 0);
	sio_fault_clear(f.io);
	CHECK(isdir("topics/gone-0"));
	/* Churn so that the journal compacts: only snapshots remain. */
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof name, "tmp%d", i);
		CHECK_EQ(topics_create(ts, name, 1, NULL, 0, NULL), 0);
		CHECK_EQ(topics_delete(ts, name), 0);
	}
	topics_housekeep(ts, 0);
	topics_close(ts);
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	CHECK(!topics_find(ts, "gone", 4));
	CHECK(!isdir("topics/gone-0") && !isdir("topics/gone-1"));
	CHECK(topics_find(ts, "other", 5));
	/* Deleted and created again: the new one is the journal's last word. */
	CHECK_EQ(topics_create(ts, "gone", 1, NULL, 0, &t), 0);
	put(t, 0, 2);
	topics_close(ts);
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	t = topics_find(ts, "gone", 4);
	CHECK(t && plog_end_offset(t->parts[0]->log) == 2);
	topics_close(ts);
	tf_deinit(&f);
}

/* strict.recovery: a directory that would be adopted stops the open, and
 * nothing is touched. */
TEST(topics_strict_recovery_refuses_to_adopt)
{
	tfix_t f;
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	topic_t *t;
	CHECK_EQ(topics_create(ts, "s", 1, NULL, 0, &t), 0);
	put(t, 0, 1);
	topics_close(ts);
	CHECK_EQ(rename("topics/s-0", "topics/orphan-0"), 0);
	f.cfg.strict_recovery = 1;
	CHECK_EQ(topics_open(&ts, &f.b), SL_ECORRUPT);
	CHECK(isdir("topics/orphan-0"));
	f.cfg.strict_recovery = 0;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	CHECK(topics_find(ts, "orphan", 6) && topics_find(ts, "s", 1));
	topics_close(ts);
	tf_deinit(&f);
}

TEST(topics_idempotent_state_rebuilt_from_log)
{
	tfix_t f;
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	topic_t *t;
	CHECK_EQ(topics_create(ts, "idem", 1, NULL, 0, &t), 0);
	for (int i = 0; i < 3; i++) {
		buf_t b = BUF_INIT;
		batch_record_t r = {0};
		r.key_len = -1;
		r.value = (const uint8_t *)"x";
		r.value_len = 1;
		batch_build_opts_t o = {42, 0, i, 0, 0};
		CHECK_EQ(batch_build(&b, &o, &r, 1), 0);
		part_append_t a;
		CHECK_EQ(partition_append(t->parts[0], buf_data(&b), buf_len(&b), &a), 0);
		CHECK_EQ(a.base_offset, i);
		buf_deinit(&b);
	}
	topics_close(ts);
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	t = topics_find(ts, "idem", 4);
	int64_t dup;
	CHECK_EQ(pstate_check(&t->parts[0]->pstate, 42, 0, 1, 1, &dup), PS_DUPLICATE);
	CHECK_EQ(dup, 1);
	CHECK_EQ(pstate_check(&t->parts[0]->pstate, 42, 0, 5, 5, &dup), PS_OUT_OF_ORDER);
	topics_close(ts);
	tf_deinit(&f);
}

TEST(topics_storage_failures_change_nothing)
{
	tfix_t f;
	memset(&f, 0, sizeof f);
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	topic_t *t;
	CHECK_EQ(topics_create(ts, "base", 1, NULL, 0, &t), 0);
	const char *journal = "op=fdatasync,path=kafka.journal,count=1,errno=EIO";
	/* Create: nothing in memory, no directory left behind. */
	tf_fault(&f, journal);
	CHECK_EQ(topics_create(ts, "nope", 2, NULL, 0, NULL), SL_EIO);
	CHECK(!topics_find(ts, "nope", 4));
	CHECK(!isdir("topics/nope-0") && !isdir("topics/nope-1"));
	tf_fault(&f, "op=pwrite,path=kafka.journal,count=1,errno=ENOSPC");
	CHECK_EQ(topics_create(ts, "nope", 2, NULL, 0, NULL), SL_ENOSPC);
	CHECK(!topics_find(ts, "nope", 4));
	/* Delete: kept with its files. */
	tf_fault(&f, journal);
	CHECK_EQ(topics_delete(ts, "base"), SL_EIO);
	CHECK(topics_find(ts, "base", 4) && isdir("topics/base-0"));
	/* Partitions: the count stays, the new logs are removed again. */
	tf_fault(&f, journal);
	CHECK_EQ(topics_add_partitions(ts, t, 3), SL_EIO);
	CHECK_EQ(t->npart, 1);
	CHECK(!isdir("topics/base-1") && !isdir("topics/base-2"));
	/* Configs: all of a call or none. */
	topic_kv_t kv[] = {{"retention.ms", "5000"}, {"segment.bytes", "100000"}};
	tf_fault(&f, journal);
	CHECK_EQ(topics_set_configs(ts, t, kv, 2), SL_EIO);
	CHECK(!topic_config(t, "retention.ms") && !topic_config(t, "segment.bytes"));
	/* Producer ids: none handed out, none skipped. */
	int64_t pid = -1, pid2 = -1;
	tf_fault(&f, journal);
	CHECK_EQ(topics_next_producer_id(ts, &pid), SL_EIO);
	CHECK_EQ(pid, -1);
	CHECK_EQ(sio_fault_hits(f.io), 6);
	/* Everything works again without a reopen. */
	CHECK_EQ(topics_next_producer_id(ts, &pid), 0);
	CHECK_EQ(topics_add_partitions(ts, t, 2), 0);
	CHECK_EQ(topics_set_configs(ts, t, kv, 2), 0);
	CHECK_EQ(topics_create(ts, "later", 1, NULL, 0, NULL), 0);
	topics_close(ts);
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	CHECK(!topics_find(ts, "nope", 4));
	t = topics_find(ts, "base", 4);
	CHECK(t && t->npart == 2);
	CHECK_STR(topic_config(t, "retention.ms"), "5000");
	CHECK_STR(topic_config(t, "segment.bytes"), "100000");
	CHECK(topics_find(ts, "later", 5));
	CHECK_EQ(topics_next_producer_id(ts, &pid2), 0);
	CHECK(pid2 > pid);
	topics_close(ts);
	tf_deinit(&f);
}

TEST(topics_failed_cut_back_is_retried_by_the_next_change)
{
	tfix_t f;
	memset(&f, 0, sizeof f);
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	/* The commit's sync fails, then the cut's own: the journal refuses
	 * appends until the next change cuts it back. */
	tf_fault(&f, "op=fdatasync,path=kafka.journal,count=2,errno=EIO");
	CHECK_EQ(topics_create(ts, "first", 1, NULL, 0, NULL), SL_EIO);
	CHECK_EQ(sio_fault_hits(f.io), 2);
	CHECK_EQ(topics_create(ts, "second", 1, NULL, 0, NULL), 0);
	topics_close(ts);
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	CHECK(!topics_find(ts, "first", 5));
	CHECK(topics_find(ts, "second", 6));
	topics_close(ts);
	tf_deinit(&f);
}

TEST(topics_create_never_adopts_a_leftover_log)
{
	tfix_t f;
	memset(&f, 0, sizeof f);
	tf_init(&f);
	topics_t *ts;
	CHECK_EQ(topics_open(&ts, &f.b), 0);
	topic_t *t;
	CHECK_EQ(topics_create(ts, "re", 1, NULL, 0, &t), 0);
	buf_t b = BUF_INIT;
	batch_record_t r = {0};
	r.key_len = -1;
	r.value = (const uint8_t *)"old";
	r.value_len = 3;
	batch_build_opts_t o = {-1, -1, -1, 0, 0};
	CHECK_EQ(batch_build(&b, &o, &r, 1), 0);
	part_append_t a;
	CHECK_EQ(partition_append(t->parts[0], buf_data(&b), buf_len(&b), &a), 0);
	buf_deinit(&b);
	/* The deletion is committed but its files cannot be removed. */
	tf_fault(&f, "op=unlink,path=re-0/,count=-1,errno=EIO");
	CHECK_EQ(topics_delete(ts, "re"), 0);
	CHECK(isdir("topics/re-0"));
	sio_fault_clear(f.io);
	CHECK_EQ(topics_create(ts, "re", 1, NULL, 0, &t), 0);
	CHECK_EQ(plog_end_offset(t->parts[0]->log), 0);
	topics_close(ts);
	tf_deinit(&f);
}
