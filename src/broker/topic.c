/*
 * topic.c — the topic registry and its state journal; see topic.h.
 *
 * Journal `kafka.journal` (store/journal.h frames), record types 1..31
 * (32..63 are reserved for consumer groups). Strings are u16 length +
 * bytes, integers big-endian:
 *
 *   1 CLUSTER     str cluster_id                  — written once, first start
 *   2 TOPIC       str name, u8[16] id, i32 npart, u16 n, n × (str key, str value)
 *                                                 — a topic as created (or its
 *                                                   full state in a snapshot)
 *   3 DELETE      str name
 *   4 PARTITIONS  str name, i32 npart             — CreatePartitions
 *   5 CONFIG      str name, str key, u8 set, [str value]
 *   6 PRODUCER_ID i64 next                        — next producer id to hand out
 *
 * Replay applies records in order; a record naming an unknown topic is
 * skipped (it can only follow a DELETE).
 *
 * Recovery rule for partition directories the journal does not account
 * for (topics/<name>-<n> whose topic is unknown, or whose n is past its
 * partition count), applied after replay. Metadata damage never deletes
 * data: only a journaled deletion removes a log.
 *   - The journal ended cleanly (jrnl_open_damaged() is 0) and its last
 *     word on the name is a DELETE: a deletion interrupted by a crash (the
 *     record was durable, the removal was not finished): removed.
 *   - The journal ended cleanly and none of the topic's unknown directories
 *     holds a record: a creation whose record never became durable (the
 *     logs are opened first): removed. Nothing was in them.
 *   - Otherwise (records in them, or a journal that was cut, kept aside or
 *     set aside, which may have lost the TOPIC, PARTITIONS or DELETE record):
 *     adopted. An unknown topic is recreated with partitions 0..max(n)
 *     (missing ones created empty), a new id and default configs; a known
 *     one grows to max(n) + 1 partitions; either is journaled and logged
 *     at warn. A deleted topic may so come back: deleting it again is
 *     cheap, data deleted by mistake is not.
 *   - strict.recovery: adoption is refused instead (the error names the
 *     directories to move away).
 *   - Names that are not <valid topic name>-<decimal n> are left alone
 *     (warn).
 * Deletions whose removal failed while running are remembered (`unfinished`)
 * and written into compaction snapshots as DELETE records, so that the next
 * start still finishes them. After a damaged journal the producer-id counter
 * is also moved past every producer id the logs hold, so that no id is
 * handed out twice.
 *
 * Write-ahead: every mutation appends its record(s) and makes them durable
 * at once (jrnl_commit_now: one write and, unless fsync=never, one
 * fdatasync on the loop thread — these operations are rare), and changes
 * memory only when that succeeded. A failed commit is cut back by the
 * journal, so nothing is applied, nothing is acknowledged and the error is
 * returned; should the cut itself fail, the next mutation tries it again
 * (to `good`, the journal size after the last committed record), so writes
 * resume once the disk works again, without a restart. Creating a topic or
 * partitions opens the new logs first and removes them again if the
 * record cannot be committed: a topic is never journaled half. Because
 * everything in the journal is durable once acknowledged, it needs no
 * durability domain and may be compacted at any time. Loop thread only.
 */
#include "broker/topic.h"
#include "broker/fetchwait.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "core/time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { REC_CLUSTER = 1, REC_TOPIC, REC_DELETE, REC_PARTITIONS, REC_CONFIG, REC_PRODUCER_ID };

struct topics {
	broker_t *b;
	jrnl_t *j;
	uint64_t good; /* journal size after the last committed record */
	map_t byname;
	char cluster_id[32];
	int64_t next_pid;
	char topics_dir[4096];
	int replaying;
	map_t deleted;            /* replay: names whose last record is a DELETE */
	int clean_crash;          /* test hook: PLOG_CLEAN_CRASH_* (SLUICE_TEST_CLEANER_CRASH) */
	loop_timer_t clean_timer; /* the log cleaner (clean_tick) */
	map_t unfinished;         /* deleted names whose directories are still there */
};

/* --- config keys ----------------------------------------------------------- */

/* CK_LIST: a comma-separated, non-empty list of choices (Kafka's list
 * configs); CK_RATIO: a decimal in [0, 1]. */
typedef enum { CK_INT, CK_ENUM, CK_LIST, CK_RATIO } ckind_t;

typedef struct cfgkey {
	const char *key;
	ckind_t kind;
	int64_t min, max;
	const char *choices; /* CK_ENUM: '|'-separated */
} cfgkey_t;

static const cfgkey_t cfgkeys[] = {
    {"cleanup.policy", CK_LIST, 0, 0, "delete|compact"},
    {"compression.type", CK_ENUM, 0, 0, "producer"},
    {"delete.retention.ms", CK_INT, 0, INT64_MAX, NULL},
    {"max.compaction.lag.ms", CK_INT, 1, INT64_MAX, NULL},
    {"max.message.bytes", CK_INT, 64, 1073741824, NULL},
    {"message.timestamp.type", CK_ENUM, 0, 0, "CreateTime|LogAppendTime"},
    {"min.cleanable.dirty.ratio", CK_RATIO, 0, 0, NULL},
    {"min.compaction.lag.ms", CK_INT, 0, INT64_MAX, NULL},
    {"min.insync.replicas", CK_INT, 1, 1, NULL},
    {"retention.bytes", CK_INT, -1, INT64_MAX, NULL},
    {"retention.ms", CK_INT, -1, INT64_MAX, NULL},
    {"segment.bytes", CK_INT, 16384, 4294967295, NULL},
    {"segment.ms", CK_INT, 1, INT64_MAX, NULL},
    {"unclean.leader.election.enable", CK_ENUM, 0, 0, "false"},
    {NULL, CK_INT, 0, 0, NULL},
};

const char *topics_config_key(int i)
{
	if (i < 0 || i >= (int)(sizeof cfgkeys / sizeof cfgkeys[0]))
		return NULL;
	return cfgkeys[i].key;
}

static const cfgkey_t *cfgkey_find(const char *key)
{
	for (const cfgkey_t *k = cfgkeys; k->key; k++)
		if (strcmp(k->key, key) == 0)
			return k;
	return NULL;
}

static int parse_i64(const char *s, int64_t *out)
{
	if (!*s)
		return SL_EINVAL;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return SL_EINVAL;
	*out = v;
	return 0;
}

/* Whether value[0..n) is one of the '|'-separated choices. */
static int is_choice(const char *choices, const char *value, size_t n)
{
	for (const char *c = choices; c && *c;) {
		const char *bar = strchr(c, '|');
		size_t cl = bar ? (size_t)(bar - c) : strlen(c);
		if (cl == n && memcmp(c, value, n) == 0)
			return 1;
		c = bar ? bar + 1 : NULL;
	}
	return 0;
}

int topics_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *c = list; c && *c;) {
		while (*c == ' ')
			c++;
		const char *comma = strchr(c, ',');
		size_t cl = comma ? (size_t)(comma - c) : strlen(c);
		while (cl && c[cl - 1] == ' ')
			cl--;
		if (cl == n && memcmp(c, item, n) == 0)
			return 1;
		c = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* A list value: items separated by commas (spaces around them allowed, as
 * Kafka trims them), each a choice, at least one. */
static int list_ok(const char *choices, const char *value)
{
	int items = 0;
	for (const char *c = value; c;) {
		while (*c == ' ')
			c++;
		const char *comma = strchr(c, ',');
		size_t cl = comma ? (size_t)(comma - c) : strlen(c);
		while (cl && c[cl - 1] == ' ')
			cl--;
		if (!is_choice(choices, c, cl))
			return 0;
		items++;
		c = comma ? comma + 1 : NULL;
	}
	return items > 0;
}

int topics_config_is_list(const char *key)
{
	const cfgkey_t *k = cfgkey_find(key);
	return k && k->kind == CK_LIST;
}

int topics_config_check(const char *key, const char *value)
{
	const cfgkey_t *k = cfgkey_find(key);
	if (!k)
		return SL_ENOENT;
	if (!value)
		return 0;
	if (k->kind == CK_INT) {
		int64_t v;
		if (parse_i64(value, &v) < 0 || v < k->min || v > k->max)
			return SL_EINVAL;
		return 0;
	}
	if (k->kind == CK_RATIO) {
		char *end;
		errno = 0;
		double d = strtod(value, &end);
		return !*value || *end || errno || !(d >= 0.0 && d <= 1.0) ? SL_EINVAL : 0;
	}
	if (k->kind == CK_LIST)
		return list_ok(k->choices, value) ? 0 : SL_EINVAL;
	return is_choice(k->choices, value, strlen(value)) ? 0 : SL_EINVAL;
}

const char *topic_config(const topic_t *t, const char *key)
{
	for (int i = 0; i < t->ncfg; i++)
		if (strcmp(t->cfg[i].key, key) == 0)
			return t->cfg[i].value;
	return NULL;
}

const char *topics_config_value(const topics_t *ts, const topic_t *t, const char *key,
                                int *is_default, char *tmp, size_t tmpn)
{
	const cfgkey_t *k = cfgkey_find(key);
	if (!k)
		return NULL;
	const char *v = t ? topic_config(t, key) : NULL;
	*is_default = v == NULL;
	if (v)
		return v;
	const sl_config_t *cfg = ts->b->cfg;
	int64_t d = 0;
	if (strcmp(key, "max.message.bytes") == 0)
		d = cfg->message_max_bytes;
	else if (strcmp(key, "retention.bytes") == 0)
		d = cfg->log_retention_bytes;
	else if (strcmp(key, "retention.ms") == 0)
		d = cfg->log_retention_ms;
	else if (strcmp(key, "segment.bytes") == 0)
		d = cfg->log_segment_bytes;
	else if (strcmp(key, "segment.ms") == 0)
		d = cfg->log_roll_ms;
	else if (strcmp(key, "min.insync.replicas") == 0)
		d = 1;
	else if (strcmp(key, "delete.retention.ms") == 0)
		d = TOPIC_DELETE_RETENTION_MS;
	else if (strcmp(key, "min.compaction.lag.ms") == 0)
		d = 0;
	else if (strcmp(key, "max.compaction.lag.ms") == 0)
		d = INT64_MAX;
	else if (strcmp(key, "min.cleanable.dirty.ratio") == 0)
		return "0.5";
	else {
		/* Enumerations default to their first choice. */
		const char *bar = strchr(k->choices, '|');
		size_t n = bar ? (size_t)(bar - k->choices) : strlen(k->choices);
		snprintf(tmp, tmpn, "%.*s", (int)n, k->choices);
		return tmp;
	}
	snprintf(tmp, tmpn, "%lld", (long long)d);
	return tmp;
}

static int64_t cfg_i64(const topic_t *t, const char *key, int64_t dflt)
{
	const char *s = topic_config(t, key);
	int64_t v;
	return s && parse_i64(s, &v) == 0 ? v : dflt;
}

static void plog_opts_for(const topics_t *ts, const topic_t *t, plog_opts_t *o);

/* Applies the configs that take effect at once (the log options too, once
 * the partitions are open). */
static void topic_apply_config(const topics_t *ts, topic_t *t)
{
	const char *pol = topic_config(t, "cleanup.policy");
	t->compact = pol && topics_list_has(pol, "compact");
	t->delete_retention_ms = cfg_i64(t, "delete.retention.ms", TOPIC_DELETE_RETENTION_MS);
	t->min_compaction_lag_ms = cfg_i64(t, "min.compaction.lag.ms", 0);
	t->max_compaction_lag_ms = cfg_i64(t, "max.compaction.lag.ms", INT64_MAX);
	const char *ratio = topic_config(t, "min.cleanable.dirty.ratio");
	t->min_cleanable_dirty_ratio = ratio ? strtod(ratio, NULL) : 0.5;
	plog_opts_t o;
	plog_opts_for(ts, t, &o);
	for (int32_t i = 0; i < t->npart; i++)
		if (t->parts && t->parts[i])
			plog_set_opts(t->parts[i]->log, &o);
	const char *ts_type = topic_config(t, "message.timestamp.type");
	t->log_append_time = ts_type && strcmp(ts_type, "LogAppendTime") == 0;
	const char *mm = topic_config(t, "max.message.bytes");
	int64_t v;
	t->max_message_bytes = ts->b->cfg->message_max_bytes;
	if (mm && parse_i64(mm, &v) == 0)
		t->max_message_bytes = v;
}

static void plog_opts_for(const topics_t *ts, const topic_t *t, plog_opts_t *o)
{
	plog_opts_from_config(o, ts->b->cfg);
	int64_t v;
	const char *s;
	if ((s = topic_config(t, "retention.ms")) && parse_i64(s, &v) == 0)
		o->retention_ms = v;
	if ((s = topic_config(t, "retention.bytes")) && parse_i64(s, &v) == 0)
		o->retention_bytes = v;
	if ((s = topic_config(t, "segment.bytes")) && parse_i64(s, &v) == 0)
		o->segment_bytes = v;
	if ((s = topic_config(t, "segment.ms")) && parse_i64(s, &v) == 0)
		o->roll_ms = v;
	/* compact without delete: nothing expires (Kafka). */
	const char *pol = topic_config(t, "cleanup.policy");
	if (pol && !topics_list_has(pol, "delete"))
		o->retention_ms = o->retention_bytes = -1;
	/* The topic's max.message.bytes is enforced by partition_append, so
	 * it can change without reopening the log. */
	o->max_batch_bytes = 1073741824;
}

/* --- names ------------------------------------------------------------------ */

int topics_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > TOPIC_NAME_MAX)
		return 0;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* --- records ------------------------------------------------------------------ */

static void put_str(buf_t *b, const char *s)
{
	size_t n = strlen(s);
	buf_put_be16(b, (uint16_t)n);
	buf_append(b, s, n);
}

/* Reads a u16-length string into a fresh NUL-terminated copy. */
static char *get_str(rd_t *r)
{
	uint16_t n = rd_be16(r);
	const uint8_t *p = rd_bytes(r, n);
	if (!p)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

/* Writes records ahead of the change they describe: appends bufs[0..n)
 * (record types types[i]) and makes them durable now. 0 is the licence to
 * apply the change; otherwise nothing was recorded. Frees the buffers. */
static int commit(topics_t *ts, const uint8_t *types, buf_t *bufs, int n)
{
	int rc = 0;
	if (ts->replaying)
		goto done;
	/* A commit whose cut-back failed left its bytes in the journal (and
	 * the journal refusing appends, once the syncer reported the failed
	 * sync): cut them off first, durably. */
	if (jrnl_error(ts->j) || jrnl_size(ts->j) != ts->good)
		rc = jrnl_cut(ts->j, ts->good);
	for (int i = 0; i < n && rc == 0; i++)
		rc = jrnl_append(ts->j, types[i], buf_data(&bufs[i]), buf_len(&bufs[i]));
	if (rc == 0)
		rc = jrnl_commit_now(ts->j);
	else if (jrnl_size(ts->j) != ts->good)
		(void)jrnl_cut(ts->j, ts->good); /* drops the records appended before the failure */
	if (rc == 0)
		ts->good = jrnl_size(ts->j);
	else
		log_error(ts->b->log, "kafka: the topic journal could not record a change: %s",
		          sl_strerror(rc));
done:
	for (int i = 0; i < n; i++)
		buf_deinit(&bufs[i]);
	return rc;
}

static int commit1(topics_t *ts, uint8_t type, buf_t *b)
{
	return commit(ts, &type, b, 1);
}

/* Compacts when worthwhile; everything in the journal is durable, so any
 * time is a safe point. */
static int snapshot(void *arg, jrnl_t *j);
static void maybe_compact(topics_t *ts)
{
	if (jrnl_error(ts->j) || jrnl_size(ts->j) != ts->good)
		return;
	if (jrnl_maybe_compact(ts->j, snapshot, ts) == 0 && !jrnl_error(ts->j))
		ts->good = jrnl_size(ts->j);
}

static void encode_topic(const topic_t *t, buf_t *b)
{
	put_str(b, t->name);
	buf_append(b, t->id, 16);
	buf_put_be32(b, (uint32_t)t->npart);
	buf_put_be16(b, (uint16_t)t->ncfg);
	for (int i = 0; i < t->ncfg; i++) {
		put_str(b, t->cfg[i].key);
		put_str(b, t->cfg[i].value);
	}
}

/* --- topics ------------------------------------------------------------------- */

static void topic_free(topic_t *t)
{
	for (int i = 0; i < t->ncfg; i++) {
		free(t->cfg[i].key);
		free(t->cfg[i].value);
	}
	free(t->cfg);
	free(t->parts);
	free(t->name);
	free(t);
}

static int part_dir(const topics_t *ts, const topic_t *t, int32_t i, char *out, size_t n)
{
	int len = snprintf(out, n, "%s/%s-%d", ts->topics_dir, t->name, (int)i);
	return len < 0 || (size_t)len >= n ? SL_EINVAL : 0;
}

/* Removes a partition directory that belongs to no topic (a crash's or
 * a failed deletion's leftover): opened as a log first, so only a log's
 * files are removed. 0 when the directory is gone (or never existed). */
static int remove_leftover(topics_t *ts, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : sl_from_errno(errno);
	plog_opts_t o;
	plog_opts_from_config(&o, ts->b->cfg);
	plog_t *p = NULL;
	int rc = plog_open(&p, path, &o, ts->b->syncer, ts->b->log, 0);
	if (rc == 0) {
		log_info(ts->b->log, "kafka: removing leftover partition directory %s", path);
		rc = plog_destroy(p);
	}
	return rc;
}

/* Destroys partitions [from, to) of t (a creation being undone, or a
 * deletion). Returns whether every directory went. */
static int destroy_partitions(topics_t *ts, topic_t *t, int32_t from, int32_t to)
{
	int all = 1;
	for (int32_t i = from; i < to; i++) {
		if (partition_destroy(t->parts[i]) < 0) {
			all = 0;
			log_warn(
			    ts->b->log,
			    "kafka: files of partition %s-%d are left; removed at the next start",
			    t->name, (int)i);
		}
	}
	return all;
}

/* Opens partitions [from, to) of t into t->parts (grown as needed; t->npart
 * is the caller's to set). fresh: new partitions, whose directories must
 * start empty (a leftover is removed first) and are destroyed again if a
 * later one fails; otherwise existing ones, closed again on failure. */
static int open_partitions(topics_t *ts, topic_t *t, int32_t from, int32_t to, int fresh)
{
	plog_opts_t o;
	plog_opts_for(ts, t, &o);
	partition_t **np = realloc(t->parts, sizeof *np * (size_t)(to > 0 ? to : 1));
	if (!np)
		abort();
	t->parts = np;
	for (int32_t i = from; i < to; i++) {
		char dir[4352];
		int rc = part_dir(ts, t, i, dir, sizeof dir);
		if (rc == 0 && fresh)
			rc = remove_leftover(ts, dir);
		if (rc == 0)
			rc = partition_open(&t->parts[i], t, i, dir, &o, ts->b);
		if (rc < 0) {
			log_error(ts->b->log, "kafka: cannot open partition %s-%d: %s", t->name,
			          (int)i, sl_strerror(rc));
			if (fresh)
				destroy_partitions(ts, t, from, i);
			else
				for (int32_t k = from; k < i; k++)
					partition_close(t->parts[k]);
			return rc;
		}
	}
	return 0;
}

static void random_bytes(uint8_t *p, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	if (fd >= 0) {
		while (got < n) {
			ssize_t r = read(fd, p + got, n - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		close(fd);
	}
	/* Fallback: time-seeded mix; uniqueness matters, not secrecy. */
	uint64_t s = (uint64_t)time_wall_us() ^ (uint64_t)getpid() << 32;
	for (; got < n; got++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		p[got] = (uint8_t)(s >> 56);
	}
}

static topic_t *topic_new(const char *name, const uint8_t id[16], int32_t npart)
{
	topic_t *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	t->name = strdup(name);
	if (!t->name)
		abort();
	memcpy(t->id, id, 16);
	t->npart = npart; /* partitions are opened after replay */
	return t;
}

static void cfg_set(topic_t *t, const char *key, const char *value)
{
	for (int i = 0; i < t->ncfg; i++) {
		if (strcmp(t->cfg[i].key, key) != 0)
			continue;
		free(t->cfg[i].value);
		if (value) {
			t->cfg[i].value = strdup(value);
			if (!t->cfg[i].value)
				abort();
		} else {
			free(t->cfg[i].key);
			t->cfg[i] = t->cfg[--t->ncfg];
		}
		return;
	}
	if (!value)
		return;
	topic_kv_t *n = realloc(t->cfg, sizeof *n * (size_t)(t->ncfg + 1));
	if (!n)
		abort();
	t->cfg = n;
	t->cfg[t->ncfg].key = strdup(key);
	t->cfg[t->ncfg].value = strdup(value);
	if (!t->cfg[t->ncfg].key || !t->cfg[t->ncfg].value)
		abort();
	t->ncfg++;
}

static int replay(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	topics_t *ts = arg;
	rd_t r;
	rd_init(&r, payload, len);
	char *name = NULL;
	switch (type) {
	case REC_CLUSTER: {
		char *id = get_str(&r);
		if (id)
			snprintf(ts->cluster_id, sizeof ts->cluster_id, "%s", id);
		free(id);
		break;
	}
	case REC_TOPIC: {
		name = get_str(&r);
		const uint8_t *id = rd_bytes(&r, 16);
		int32_t np = (int32_t)rd_be32(&r);
		uint16_t nc = rd_be16(&r);
		if (r.err || np < 1 || np > TOPIC_MAX_PARTITIONS)
			break;
		topic_t *t = topic_new(name, id, np);
		for (uint16_t i = 0; i < nc && !r.err; i++) {
			char *k = get_str(&r), *v = get_str(&r);
			if (k && v)
				cfg_set(t, k, v);
			free(k);
			free(v);
		}
		topic_t *old = map_put(&ts->byname, name, strlen(name), t);
		if (old)
			topic_free(old);
		map_del(&ts->deleted, name, strlen(name));
		break;
	}
	case REC_DELETE: {
		name = get_str(&r);
		topic_t *t = name ? map_del(&ts->byname, name, strlen(name)) : NULL;
		if (t)
			topic_free(t);
		if (name)
			map_put(&ts->deleted, name, strlen(name), ts);
		break;
	}
	case REC_PARTITIONS: {
		name = get_str(&r);
		int32_t np = (int32_t)rd_be32(&r);
		topic_t *t = name ? map_get(&ts->byname, name, strlen(name)) : NULL;
		if (t && !r.err && np > t->npart && np <= TOPIC_MAX_PARTITIONS)
			t->npart = np;
		break;
	}
	case REC_CONFIG: {
		name = get_str(&r);
		char *k = get_str(&r);
		uint8_t set = rd_u8(&r);
		char *v = set ? get_str(&r) : NULL;
		topic_t *t = name ? map_get(&ts->byname, name, strlen(name)) : NULL;
		if (t && k && !r.err)
			cfg_set(t, k, v);
		free(k);
		free(v);
		break;
	}
	case REC_PRODUCER_ID: {
		int64_t v = (int64_t)rd_be64(&r);
		if (!r.err && v > ts->next_pid)
			ts->next_pid = v;
		break;
	}
	default:
		/* Records of later subsystems sharing the journal. */
		break;
	}
	free(name);
	return 0;
}

static int snapshot(void *arg, jrnl_t *j)
{
	topics_t *ts = arg;
	buf_t b = BUF_INIT;
	put_str(&b, ts->cluster_id);
	int rc = jrnl_append(j, REC_CLUSTER, buf_data(&b), buf_len(&b));
	buf_reset(&b);
	buf_put_be64(&b, (uint64_t)ts->next_pid);
	if (rc == 0)
		rc = jrnl_append(j, REC_PRODUCER_ID, buf_data(&b), buf_len(&b));
	/* Deletions not finished on disk stay in the journal, so that the
	 * next start finishes them instead of adopting their logs. */
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (rc == 0 && map_next(&ts->unfinished, &it, &k, &kl, &v)) {
		if (map_get(&ts->byname, k, kl))
			continue;
		buf_reset(&b);
		buf_put_be16(&b, (uint16_t)kl);
		buf_append(&b, k, kl);
		rc = jrnl_append(j, REC_DELETE, buf_data(&b), buf_len(&b));
	}
	it = 0;
	topic_t *t;
	while (rc == 0 && (t = topics_next(ts, &it))) {
		buf_reset(&b);
		encode_topic(t, &b);
		rc = jrnl_append(j, REC_TOPIC, buf_data(&b), buf_len(&b));
	}
	buf_deinit(&b);
	return rc;
}

/* --- directories the journal does not account for ---------------------------- */

/* A partition directory the journal does not account for. */
typedef struct stray {
	char *name; /* topic name */
	int32_t idx;
	int64_t records; /* end offset of its log, -1 if it cannot be opened */
} stray_t;

/* Parses "<topic>-<n>" as part_dir() writes it. 0 or SL_EINVAL. */
static int parse_part_dir(const char *d, size_t *nlen, int32_t *idx)
{
	const char *dash = strrchr(d, '-');
	if (!dash || !topics_name_valid(d, (size_t)(dash - d)))
		return SL_EINVAL;
	const char *n = dash + 1;
	if (!*n || (n[0] == '0' && n[1]) || strspn(n, "0123456789") != strlen(n) || strlen(n) > 5)
		return SL_EINVAL;
	long v = strtol(n, NULL, 10);
	if (v >= TOPIC_MAX_PARTITIONS)
		return SL_EINVAL;
	*nlen = (size_t)(dash - d);
	*idx = (int32_t)v;
	return 0;
}

/* The end offset of the log in dir (how many offsets it ever held), or -1
 * when it cannot be opened. */
static int64_t log_records(topics_t *ts, const char *dir)
{
	plog_opts_t o;
	plog_opts_from_config(&o, ts->b->cfg);
	plog_t *p = NULL;
	if (plog_open(&p, dir, &o, ts->b->syncer, ts->b->log, ts->b->clean_start) < 0)
		return -1;
	int64_t n = plog_end_offset(p);
	plog_close(p);
	return n;
}

/* Lists the directories under topics/ that no topic accounts for. */
static size_t list_strays(topics_t *ts, stray_t **out)
{
	stray_t *v = NULL;
	size_t n = 0;
	DIR *d = opendir(ts->topics_dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		size_t nlen;
		int32_t idx;
		if (parse_part_dir(e->d_name, &nlen, &idx) < 0) {
			log_warn(ts->b->log,
			         "kafka: %s/%s is not a partition directory (<topic>-<partition>); "
			         "left alone",
			         ts->topics_dir, e->d_name);
			continue;
		}
		topic_t *t = map_get(&ts->byname, e->d_name, nlen);
		if (t && idx < t->npart)
			continue;
		v = realloc(v, (n + 1) * sizeof *v);
		if (!v)
			abort();
		v[n].name = strndup(e->d_name, nlen);
		if (!v[n].name)
			abort();
		v[n].idx = idx;
		char path[4352];
		snprintf(path, sizeof path, "%s/%s", ts->topics_dir, e->d_name);
		v[n].records = log_records(ts, path);
		n++;
	}
	if (d)
		closedir(d);
	*out = v;
	return n;
}

/* Adopts the stray directories v[0..n) of one topic name: recreates the
 * topic, or grows it, journaled. */
static int adopt(topics_t *ts, const stray_t *v, size_t n, int damaged)
{
	const char *name = v[0].name;
	size_t len = strlen(name);
	int32_t np = 0;
	int64_t records = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].idx + 1 > np)
			np = v[i].idx + 1;
		records += v[i].records > 0 ? v[i].records : 0;
	}
	const char *why = damaged ? " (it was damaged)" : "";
	topic_t *t = map_get(&ts->byname, name, len);
	if (ts->b->cfg->strict_recovery) {
		log_error(ts->b->log,
		          "kafka: %zu partition director%s of topic %s (%s/%s-%d...) hold%s data "
		          "that kafka.journal%s does not account for; refusing to start "
		          "(strict.recovery): move %s out of %s, or start without "
		          "strict.recovery to adopt them",
		          n, n == 1 ? "y" : "ies", name, ts->topics_dir, name, (int)v[0].idx,
		          n == 1 ? "s" : "", why, n == 1 ? "it" : "them", ts->topics_dir);
		return SL_ECORRUPT;
	}
	int rc;
	if (t) {
		int32_t from = t->npart;
		rc = open_partitions(ts, t, from, np, 0);
		if (rc == 0) {
			buf_t b = BUF_INIT;
			put_str(&b, name);
			buf_put_be32(&b, (uint32_t)np);
			rc = commit1(ts, REC_PARTITIONS, &b);
			if (rc < 0)
				for (int32_t i = from; i < np; i++)
					partition_close(t->parts[i]);
		}
		if (rc == 0) {
			t->npart = np;
			log_warn(
			    ts->b->log,
			    "kafka: topic %s had %d partitions in kafka.journal%s but directories "
			    "up to %s-%d holding %lld offsets: adopted, it has %d partitions now",
			    name, (int)from, why, name, (int)(np - 1), (long long)records, (int)np);
		}
	} else {
		uint8_t id[16];
		random_bytes(id, 16);
		id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
		id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
		t = topic_new(name, id, 0);
		topic_apply_config(ts, t);
		rc = open_partitions(ts, t, 0, np, 0);
		if (rc == 0) {
			t->npart = np;
			buf_t b = BUF_INIT;
			encode_topic(t, &b);
			rc = commit1(ts, REC_TOPIC, &b);
			if (rc < 0)
				for (int32_t i = 0; i < np; i++)
					partition_close(t->parts[i]);
		}
		if (rc == 0) {
			map_put(&ts->byname, name, len, t);
			log_warn(
			    ts->b->log,
			    "kafka: topic %s is not in kafka.journal%s but %zu partition "
			    "director%s of it hold%s %lld offsets: adopted with %d partitions and "
			    "default settings",
			    name, why, n, n == 1 ? "y" : "ies", n == 1 ? "s" : "",
			    (long long)records, (int)np);
		} else {
			t->npart = 0;
			topic_free(t);
		}
	}
	if (rc < 0)
		log_error(ts->b->log,
		          "kafka: cannot adopt the partition directories of topic %s (%s); left as "
		          "they are until the next start",
		          name, sl_strerror(rc));
	return 0;
}

/* Applies the recovery rule (top of this file) to every partition
 * directory the journal does not account for. Returns 0, or SL_ECORRUPT
 * when strict.recovery refuses an adoption. */
static int recover_strays(topics_t *ts)
{
	int damaged = jrnl_open_damaged(ts->j);
	stray_t *v = NULL;
	size_t n = list_strays(ts, &v);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!v[i].name)
			continue; /* handled with an earlier one of its topic */
		/* Gather the directories of this name. */
		size_t m = 0;
		stray_t *grp = malloc((n - i) * sizeof *grp);
		if (!grp)
			abort();
		int has_data = 0, unreadable = 0;
		for (size_t k = i; k < n; k++) {
			if (!v[k].name || strcmp(v[k].name, v[i].name))
				continue;
			grp[m++] = v[k];
			has_data |= v[k].records > 0;
			unreadable |= v[k].records < 0;
		}
		const char *name = grp[0].name;
		int known = map_get(&ts->byname, name, strlen(name)) != NULL;
		int deleted = !known && map_get(&ts->deleted, name, strlen(name)) != NULL;
		if (unreadable) {
			log_error(ts->b->log,
			          "kafka: a partition directory of topic %s cannot be opened; its "
			          "directories are left as they are",
			          name);
		} else if (!damaged && (deleted || !has_data)) {
			for (size_t k = 0; k < m; k++) {
				char dir[4352];
				snprintf(dir, sizeof dir, "%s/%s-%d", ts->topics_dir, name,
				         (int)grp[k].idx);
				log_warn(
				    ts->b->log,
				    deleted
				        ? "kafka: finishing the deletion of topic %s (journaled, "
				          "interrupted): deleting %s"
				        : "kafka: deleting the empty directory %s of topic %s's "
				          "creation that never completed",
				    deleted ? name : dir, deleted ? dir : name);
				plog_opts_t o;
				plog_opts_from_config(&o, ts->b->cfg);
				plog_t *p = NULL;
				if (plog_open(&p, dir, &o, ts->b->syncer, ts->b->log, 0) < 0 ||
				    plog_destroy(p) < 0)
					log_warn(ts->b->log,
					         "kafka: cannot delete %s; tried again at the "
					         "next start",
					         dir);
			}
			if (deleted)
				map_del(&ts->deleted, name, strlen(name));
		} else {
			rc = adopt(ts, grp, m, damaged);
		}
		for (size_t k = i; k < n; k++)
			if (v[k].name && k != i && !strcmp(v[k].name, name)) {
				free(v[k].name);
				v[k].name = NULL;
			}
		free(v[i].name);
		v[i].name = NULL;
		free(grp);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}

/* After a damaged journal the producer-id counter may have gone back:
 * moves it past every producer id the logs remember. */
static int bump_producer_ids(topics_t *ts)
{
	int64_t max = -1;
	size_t it = 0;
	topic_t *t;
	while ((t = topics_next(ts, &it)))
		for (int32_t i = 0; i < t->npart; i++) {
			size_t pit = 0;
			const char *k;
			size_t kl;
			void *v;
			while (map_next(&t->parts[i]->pstate.by_pid, &pit, &k, &kl, &v))
				if (kl == 8 && (int64_t)be64_load((const uint8_t *)k) > max)
					max = (int64_t)be64_load((const uint8_t *)k);
		}
	if (max < ts->next_pid)
		return 0;
	buf_t b = BUF_INIT;
	buf_put_be64(&b, (uint64_t)(max + 1));
	int rc = commit1(ts, REC_PRODUCER_ID, &b);
	if (rc == 0) {
		log_warn(ts->b->log,
		         "kafka: producer ids continue from %lld, past those in the logs (the "
		         "journal was damaged)",
		         (long long)(max + 1));
		ts->next_pid = max + 1;
	}
	return rc;
}

static void clean_tick(loop_t *loop, loop_timer_t *tm);

int topics_open(topics_t **out, broker_t *b)
{
	topics_t *ts = calloc(1, sizeof *ts);
	if (!ts)
		abort();
	ts->b = b;
	ts->next_pid = 1000;
	loop_timer_init(&ts->clean_timer, clean_tick, ts);
	/* Crash tests of the cleaner's swap (tests/integration/test_kafka_compact.py). */
	const char *crash = getenv("SLUICE_TEST_CLEANER_CRASH");
	if (crash)
		ts->clean_crash = !strcmp(crash, "copied")     ? PLOG_CLEAN_CRASH_COPIED
		                  : !strcmp(crash, "unlinked") ? PLOG_CLEAN_CRASH_UNLINKED
		                  : !strcmp(crash, "swapped")  ? PLOG_CLEAN_CRASH_SWAPPED
		                                               : PLOG_CLEAN_CRASH_NONE;
	map_init(&ts->byname);
	map_init(&ts->deleted);
	map_init(&ts->unfinished);
	snprintf(ts->topics_dir, sizeof ts->topics_dir, "%s/topics", b->data_dir);
	if (mkdir(ts->topics_dir, 0755) < 0 && errno != EEXIST) {
		log_error(b->log, "kafka: cannot create %s: %s", ts->topics_dir, strerror(errno));
		free(ts);
		return sl_from_errno(errno);
	}
	jrnl_opts_t jo = {
	    .fsync = b->cfg->fsync,
	    .compact_ratio_pct = (int)b->cfg->journal_compact_ratio,
	    .compact_min_bytes = b->cfg->journal_compact_min_bytes,
	    .max_record = 1 << 20,
	    .clean_stop = b->clean_start,
	    .strict = b->cfg->strict_recovery,
	};
	ts->replaying = 1;
	int rc =
	    jrnl_open(&ts->j, b->loop, b->syncer, b->log, b->data_dir, "kafka", &jo, replay, ts);
	ts->replaying = 0;
	if (rc < 0) {
		log_error(b->log, "kafka: cannot open the topic journal: %s", sl_strerror(rc));
		topics_close(ts);
		return rc;
	}
	if (!ts->cluster_id[0]) {
		/* A Kafka-style cluster id: 16 random bytes, base64url, 22 chars. */
		static const char a[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		uint8_t rnd[22];
		random_bytes(rnd, sizeof rnd);
		for (int i = 0; i < 22; i++)
			ts->cluster_id[i] = a[rnd[i] & 63];
		ts->cluster_id[22] = 0;
		ts->good = jrnl_size(ts->j);
		buf_t rb = BUF_INIT;
		put_str(&rb, ts->cluster_id);
		rc = commit1(ts, REC_CLUSTER, &rb);
		if (rc < 0) {
			topics_close(ts);
			return rc;
		}
	}
	ts->good = jrnl_size(ts->j);
	size_t it = 0;
	topic_t *t;
	while ((t = topics_next(ts, &it))) {
		int32_t np = t->npart;
		t->npart = 0;
		topic_apply_config(ts, t);
		rc = open_partitions(ts, t, 0, np, 0);
		if (rc < 0) {
			topics_close(ts);
			return rc;
		}
		t->npart = np;
	}
	rc = recover_strays(ts);
	if (rc == 0 && jrnl_open_damaged(ts->j) && bump_producer_ids(ts) < 0)
		log_warn(b->log, "kafka: producer ids may repeat ids from before the damage");
	if (rc < 0) {
		topics_close(ts);
		return rc;
	}
	/* Only needed while replaying and recovering. */
	map_deinit(&ts->deleted);
	map_init(&ts->deleted);
	loop_timer_start(b->loop, &ts->clean_timer, b->cfg->log_cleaner_backoff_ms);
	*out = ts;
	return 0;
}

void topics_close(topics_t *ts)
{
	if (!ts)
		return;
	if (loop_timer_armed(&ts->clean_timer))
		loop_timer_stop(ts->b->loop, &ts->clean_timer);
	size_t it = 0;
	topic_t *t;
	while ((t = topics_next(ts, &it))) {
		for (int32_t i = 0; i < t->npart; i++)
			if (t->parts && t->parts[i])
				partition_close(t->parts[i]);
		topic_free(t);
	}
	map_deinit(&ts->byname);
	map_deinit(&ts->deleted);
	map_deinit(&ts->unfinished);
	if (ts->j)
		jrnl_close(ts->j);
	free(ts);
}

const char *topics_cluster_id(const topics_t *ts)
{
	return ts->cluster_id;
}
broker_t *topics_broker(const topics_t *ts)
{
	return ts->b;
}
size_t topics_count(const topics_t *ts)
{
	return map_len(&ts->byname);
}

topic_t *topics_find(const topics_t *ts, const char *name, size_t len)
{
	return map_get(&ts->byname, name, len);
}

topic_t *topics_next(const topics_t *ts, size_t *it)
{
	const char *k;
	size_t kl;
	void *v;
	return map_next(&ts->byname, it, &k, &kl, &v) ? v : NULL;
}

int topics_create(topics_t *ts, const char *name, int32_t npart, const topic_kv_t *cfg, int ncfg,
                  topic_t **out)
{
	size_t len = strlen(name);
	if (!topics_name_valid(name, len) || npart < 1 || npart > TOPIC_MAX_PARTITIONS)
		return SL_EINVAL;
	if (map_get(&ts->byname, name, len))
		return SL_EEXIST;
	for (int i = 0; i < ncfg; i++) {
		int rc = topics_config_check(cfg[i].key, cfg[i].value);
		if (rc < 0)
			return rc == SL_EINVAL ? SL_ENOENT : rc;
	}
	uint8_t id[16];
	random_bytes(id, 16);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* UUID v4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	topic_t *t = topic_new(name, id, npart);
	for (int i = 0; i < ncfg; i++)
		if (cfg[i].value)
			cfg_set(t, cfg[i].key, cfg[i].value);
	topic_apply_config(ts, t);
	/* The logs first, then the record: a failed commit leaves nothing
	 * behind, and a crash between the two leaves only directories that
	 * the next start sweeps. */
	int rc = open_partitions(ts, t, 0, npart, 1);
	if (rc == 0) {
		buf_t b = BUF_INIT;
		encode_topic(t, &b);
		rc = commit1(ts, REC_TOPIC, &b);
		if (rc < 0)
			destroy_partitions(ts, t, 0, npart);
	}
	if (rc < 0) {
		t->npart = 0;
		topic_free(t);
		return rc;
	}
	map_put(&ts->byname, name, len, t);
	/* Its leftovers, if any, were removed by open_partitions. */
	map_del(&ts->unfinished, name, len);
	log_info(ts->b->log, "kafka: created topic %s with %d partition(s)", name, (int)npart);
	if (out)
		*out = t;
	return 0;
}

int topics_delete(topics_t *ts, const char *name)
{
	size_t len = strlen(name);
	topic_t *t = map_get(&ts->byname, name, len);
	if (!t)
		return SL_ENOENT;
	buf_t b = BUF_INIT;
	put_str(&b, name);
	int rc = commit1(ts, REC_DELETE, &b);
	if (rc < 0)
		return rc;
	map_del(&ts->byname, name, len);
	/* Replies still held on the partitions are finished (SL_ECLOSED);
	 * files that cannot be removed now are removed at the next start
	 * (compactions keep the DELETE record until then). */
	if (!destroy_partitions(ts, t, 0, t->npart))
		map_put(&ts->unfinished, name, len, ts);
	jrnl_garbage(ts->j, 64 + len * 2 + (size_t)t->ncfg * 32);
	topic_free(t);
	maybe_compact(ts);
	log_info(ts->b->log, "kafka: deleted topic %s", name);
	return 0;
}

int topics_add_partitions(topics_t *ts, topic_t *t, int32_t npart)
{
	if (npart <= t->npart || npart > TOPIC_MAX_PARTITIONS)
		return SL_EINVAL;
	int32_t from = t->npart;
	int rc = open_partitions(ts, t, from, npart, 1);
	if (rc < 0)
		return rc;
	buf_t b = BUF_INIT;
	put_str(&b, t->name);
	buf_put_be32(&b, (uint32_t)npart);
	rc = commit1(ts, REC_PARTITIONS, &b);
	if (rc < 0) {
		destroy_partitions(ts, t, from, npart);
		return rc;
	}
	t->npart = npart;
	log_info(ts->b->log, "kafka: topic %s grown to %d partitions", t->name, (int)npart);
	return 0;
}

int topics_set_configs(topics_t *ts, topic_t *t, const topic_kv_t *kv, int n)
{
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		int rc = topics_config_check(kv[i].key, kv[i].value);
		if (rc < 0)
			return rc;
	}
	uint8_t *types = malloc((size_t)n * sizeof *types);
	buf_t *bufs = calloc((size_t)n, sizeof *bufs);
	if (!types || !bufs)
		abort();
	for (int i = 0; i < n; i++) {
		types[i] = REC_CONFIG;
		put_str(&bufs[i], t->name);
		put_str(&bufs[i], kv[i].key);
		buf_put_u8(&bufs[i], kv[i].value ? 1 : 0);
		if (kv[i].value)
			put_str(&bufs[i], kv[i].value);
	}
	int rc = commit(ts, types, bufs, n);
	free(types);
	free(bufs);
	if (rc < 0)
		return rc;
	for (int i = 0; i < n; i++) {
		cfg_set(t, kv[i].key, kv[i].value);
		jrnl_garbage(ts->j, 32 + strlen(kv[i].key));
	}
	topic_apply_config(ts, t);
	return 0;
}

int topics_set_config(topics_t *ts, topic_t *t, const char *key, const char *value)
{
	topic_kv_t kv = {(char *)key, (char *)value};
	return topics_set_configs(ts, t, &kv, 1);
}

int topics_next_producer_id(topics_t *ts, int64_t *pid)
{
	/* The counter moves on disk before the id is handed out, so no id is
	 * ever handed out twice, even across a crash. */
	buf_t b = BUF_INIT;
	buf_put_be64(&b, (uint64_t)(ts->next_pid + 1));
	int rc = commit1(ts, REC_PRODUCER_ID, &b);
	if (rc < 0)
		return rc;
	*pid = ts->next_pid++;
	jrnl_garbage(ts->j, 17);
	return 0;
}

size_t topics_busy(const topics_t *ts)
{
	size_t n = 0, it = 0;
	topic_t *t;
	while ((t = topics_next(ts, &it)))
		for (int32_t i = 0; i < t->npart; i++)
			n += dur_busy(t->parts[i]->dur);
	return n;
}

/* Runs a step of the log cleaner on the partitions of a compacted topic.
 * Returns how many have a pass under way. */
static int clean_topic(topics_t *ts, topic_t *t, int64_t now_wall_ms)
{
	int busy = 0;
	plog_clean_opts_t o = {
	    .now_ms = now_wall_ms,
	    .delete_retention_ms = t->delete_retention_ms,
	    .min_lag_ms = t->min_compaction_lag_ms,
	    .max_lag_ms = t->max_compaction_lag_ms,
	    .min_dirty_ratio = t->min_cleanable_dirty_ratio,
	    .crash_at = ts->clean_crash,
	    .step_bytes = (uint64_t)ts->b->cfg->log_cleaner_step_bytes,
	};
	for (int32_t i = 0; i < t->npart; i++) {
		plog_clean_stats_t st;
		int rc = partition_clean(t->parts[i], &o, &st);
		busy += rc == 2;
		if (rc != 1)
			continue;
		double secs = st.elapsed_us > 0 ? (double)st.elapsed_us / 1e6 : 1e-6;
		log_info(ts->b->log,
		         "kafka: cleaned %s-%d: %d segments, %" PRIu64 " -> %" PRIu64
		         " bytes, %" PRIu64 " -> %" PRIu64 " records in %.3f s (%.1f MB/s)",
		         t->name, (int)i, st.segments, st.bytes_read, st.bytes_written,
		         st.records_in, st.records_out, secs, (double)st.bytes_read / secs / 1e6);
	}
	return busy;
}

/* The cleaner's timer (DESIGN.md process model: on the loop, bounded
 * work per turn): every log.cleaner.backoff.ms it looks for partitions to
 * clean; while a pass is under way it comes back at the next turn, each
 * partition doing log.cleaner.step.bytes of segments per turn. */
static void clean_tick(loop_t *loop, loop_timer_t *tm)
{
	topics_t *ts = tm->arg;
	int64_t now = time_wall_ms();
	size_t it = 0;
	topic_t *t;
	int busy = 0;
	while ((t = topics_next(ts, &it)))
		if (t->compact)
			busy += clean_topic(ts, t, now);
	loop_timer_start(loop, tm, busy ? 0 : ts->b->cfg->log_cleaner_backoff_ms);
}

void topics_housekeep(topics_t *ts, int64_t now_wall_ms)
{
	size_t it = 0;
	topic_t *t;
	while ((t = topics_next(ts, &it)))
		for (int32_t i = 0; i < t->npart; i++)
			plog_housekeep(t->parts[i]->log, now_wall_ms);
	maybe_compact(ts);
}
