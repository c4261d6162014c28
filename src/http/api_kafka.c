/*
 * api_kafka.c — the admin API's overview and Kafka topics: list, create,
 * describe, delete, add partitions, edit configs, browse and produce
 * messages (docs/http-api.md).
 *
 * Every action is the broker call the Kafka front makes for the same
 * request (topics_create for CreateTopics, topics_delete and
 * grp_topic_deleted for DeleteTopics, topics_add_partitions,
 * topics_set_configs, partition_append for Produce), so validation,
 * durability and failure handling are the protocol's: topic changes are
 * written ahead (durable before they apply), a produced test message is
 * answered once it is on disk (acks=-1), and a storage failure is a 503.
 *
 * The message browser reads stored batches through plog_read (so only
 * CRC-checked bytes below the high watermark are shown) and decodes them
 * in records.c; a read is bounded in records and in bytes.
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/group.h"
#include "broker/job.h"
#include "broker/keyspace.h"
#include "broker/partition.h"
#include "broker/stats.h"
#include "broker/topic.h"
#include "core/err.h"
#include "core/time.h"
#include "store/batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BROWSE_DEFAULT 50
#define BROWSE_MAX 500
#define BROWSE_READ_MAX (8 << 20)     /* bytes of batches read per request */
#define BROWSE_INFLATE_MAX (16 << 20) /* a compressed batch's records, decompressed */
#define BROWSE_REGION (1 << 20)

jv_t *api_body(http_req_t *r)
{
	char err[160];
	if (r->body_len == 0)
		return json_parse("{}", 2, err, sizeof err);
	jv_t *v = json_parse((const char *)r->body, r->body_len, err, sizeof err);
	if (!v) {
		http_error(r, 400, "request body is not valid JSON: %s", err);
		return NULL;
	}
	if (v->t != JV_OBJ) {
		json_free(v);
		http_error(r, 400, "request body must be a JSON object");
		return NULL;
	}
	return v;
}

/* --- overview ---------------------------------------------------------------------- */

static uint64_t requests_of(const broker_t *b, int proto)
{
	uint64_t n = 0;
	if (!b->stats)
		return 0;
	const stats_tab_t *t = &b->stats->proto[proto];
	for (size_t i = 0; i < STATS_SLOTS; i++)
		n += t->slot[i].requests;
	return n;
}

typedef struct conn_count4 {
	size_t n[4];
} conn_count4_t;

static void count_conn(conn_t *c, void *arg)
{
	static const char *const names[4] = {"kafka", "resp", "beanstalk", "http"};
	conn_count4_t *cc = arg;
	for (int i = 0; i < 4; i++)
		if (c->proto && c->proto->name && !strcmp(c->proto->name, names[i]))
			cc->n[i]++;
}

void api_overview(http_req_t *r)
{
	http_srv_t *h = r->h;
	const broker_t *br = h->b;
	buf_t b = BUF_INIT;
	char fs[64];
	fsync_policy_format(&br->cfg->fsync, fs, sizeof fs);
	uint64_t used, avail;
	http_disk(h, &used, &avail);
	buf_printf(&b, "{\"uptime_s\":%.3f,\"time_ms\":%lld,\"fsync\":",
	           (double)(time_mono_ms() - h->started_ms) / 1000.0, (long long)time_wall_ms());
	json_str(&b, fs);
	buf_puts(&b, ",\"bind\":");
	json_str(&b, br->cfg->bind);
	buf_puts(&b, ",\"data_dir\":");
	json_str(&b, br->data_dir);
	buf_printf(&b, ",\"disk\":{\"used_bytes\":%llu,\"free_bytes\":%llu}",
	           (unsigned long long)used, (unsigned long long)avail);
	conn_count4_t cc = {{0}};
	conn_foreach(r->c->loop, count_conn, &cc);
	const char *names[4] = {"kafka", "resp", "beanstalk", "http"};
	const int ports[4] = {br->ports.kafka, br->ports.resp, br->ports.beanstalk, br->ports.http};
	buf_puts(&b, ",\"listeners\":[");
	for (int i = 0; i < 4; i++)
		buf_printf(&b, "%s{\"name\":\"%s\",\"port\":%d,\"connections\":%zu}", i ? "," : "",
		           names[i], ports[i], cc.n[i]);
	buf_puts(&b, "]");
	/* Kafka traffic: the partitions' counters summed. */
	size_t nt;
	topic_t **tv = http_topics_sorted(br, &nt);
	uint64_t nparts = 0, min = 0, bin = 0, bout = 0, msgs = 0, bytes = 0;
	for (size_t i = 0; i < nt; i++)
		for (int32_t k = 0; k < tv[i]->npart; k++) {
			const partition_t *p = tv[i]->parts[k];
			nparts++;
			min += p->msgs_in;
			bin += p->bytes_in;
			bout += p->bytes_out;
			msgs += (uint64_t)(plog_hw(p->log) - plog_start_offset(p->log));
			bytes += plog_size_bytes(p->log);
		}
	free(tv);
	size_t ngroups = 0;
	if (br->groups)
		free(grp_list(br->groups, &ngroups));
	buf_printf(
	    &b,
	    ",\"kafka\":{\"topics\":%zu,\"partitions\":%llu,\"groups\":%zu,\"messages\":%llu,"
	    "\"log_bytes\":%llu,\"messages_in\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu}",
	    nt, (unsigned long long)nparts, ngroups, (unsigned long long)msgs,
	    (unsigned long long)bytes, (unsigned long long)min, (unsigned long long)bin,
	    (unsigned long long)bout);
	if (br->ks)
		buf_printf(&b, ",\"redis\":{\"keys\":%zu,\"expiring\":%zu}", ks_size(br->ks),
		           ks_expires_count(br->ks));
	if (br->jobs) {
		const jobs_t *s = br->jobs;
		buf_printf(&b,
		           ",\"beanstalk\":{\"tubes\":%zu,\"ready\":%llu,\"reserved\":%llu,"
		           "\"delayed\":%llu,\"buried\":%llu,\"total_jobs\":%llu}",
		           s->tubes.n, (unsigned long long)s->ready_n,
		           (unsigned long long)s->reserved_n, (unsigned long long)s->delayed_n,
		           (unsigned long long)s->buried_n, (unsigned long long)s->total_jobs);
	}
	buf_printf(
	    &b, ",\"requests\":{\"kafka\":%llu,\"resp\":%llu,\"beanstalk\":%llu,\"http\":%llu}",
	    (unsigned long long)requests_of(br, STATS_KAFKA),
	    (unsigned long long)requests_of(br, STATS_RESP),
	    (unsigned long long)requests_of(br, STATS_BSTK), (unsigned long long)h->requests);
	buf_printf(&b, ",\"fsyncs\":%llu}\n",
	           (unsigned long long)(br->syncer ? syncer_sync_count(br->syncer) : 0));
	http_json(r, 200, &b);
	buf_deinit(&b);
}

/* --- topics ---------------------------------------------------------------------------- */

static topic_t *find_topic(http_req_t *r, const char *name)
{
	topics_t *ts = r->h->b->topics;
	topic_t *t = ts ? topics_find(ts, name, strlen(name)) : NULL;
	if (!t)
		http_error(r, 404, "no topic %s", name);
	return t;
}

static void topic_summary(buf_t *b, const topics_t *ts, const topic_t *t)
{
	uint64_t bytes = 0, msgs = 0;
	for (int32_t k = 0; k < t->npart; k++) {
		plog_t *p = t->parts[k]->log;
		bytes += plog_size_bytes(p);
		msgs += (uint64_t)(plog_hw(p) - plog_start_offset(p));
	}
	char tmp[64];
	int dflt;
	const char *ret = topics_config_value(ts, t, "retention.ms", &dflt, tmp, sizeof tmp);
	buf_puts(b, "{\"name\":");
	json_str(b, t->name);
	buf_printf(b, ",\"partitions\":%d,\"messages\":%llu,\"bytes\":%llu,\"retention_ms\":%s",
	           (int)t->npart, (unsigned long long)msgs, (unsigned long long)bytes,
	           ret ? ret : "null");
	buf_printf(b, ",\"overrides\":%d}", t->ncfg);
}

void api_topics_list(http_req_t *r)
{
	const broker_t *br = r->h->b;
	size_t n;
	topic_t **v = http_topics_sorted(br, &n);
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"topics\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(&b, ",");
		topic_summary(&b, br->topics, v[i]);
	}
	buf_puts(&b, "]}\n");
	free(v);
	http_json(r, 200, &b);
	buf_deinit(&b);
}

static void topic_detail(buf_t *b, const topics_t *ts, const topic_t *t)
{
	buf_puts(b, "{\"name\":");
	json_str(b, t->name);
	buf_puts(b, ",\"id\":\"");
	for (int i = 0; i < 16; i++)
		buf_printf(b, "%02x", t->id[i]);
	buf_puts(b, "\",\"partitions\":[");
	for (int32_t k = 0; k < t->npart; k++) {
		const partition_t *p = t->parts[k];
		int64_t missing = 0;
		size_t holes = plog_damage(p->log, &missing);
		buf_printf(b,
		           "%s{\"partition\":%d,\"start_offset\":%lld,\"end_offset\":%lld,"
		           "\"high_watermark\":%lld,\"bytes\":%llu,\"segments\":%d,"
		           "\"messages_in\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
		           "\"damaged_regions\":%zu}",
		           k ? "," : "", (int)k, (long long)plog_start_offset(p->log),
		           (long long)plog_end_offset(p->log), (long long)plog_hw(p->log),
		           (unsigned long long)plog_size_bytes(p->log), plog_segment_count(p->log),
		           (unsigned long long)p->msgs_in, (unsigned long long)p->bytes_in,
		           (unsigned long long)p->bytes_out, holes);
	}
	buf_puts(b, "],\"configs\":[");
	char tmp[64];
	for (int i = 0; topics_config_key(i); i++) {
		int dflt = 1;
		const char *key = topics_config_key(i);
		const char *v = topics_config_value(ts, t, key, &dflt, tmp, sizeof tmp);
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		json_str(b, key);
		buf_puts(b, ",\"value\":");
		if (v)
			json_str(b, v);
		else
			buf_puts(b, "null");
		buf_printf(b, ",\"default\":%s}", dflt ? "true" : "false");
	}
	buf_puts(b, "]}\n");
}

void api_topic_get(http_req_t *r)
{
	topic_t *t = find_topic(r, r->seg[3]);
	if (!t)
		return;
	buf_t b = BUF_INIT;
	topic_detail(&b, r->h->b->topics, t);
	http_json(r, 200, &b);
	buf_deinit(&b);
}

/* Reads an object of config values ({"retention.ms":"1000", "x": null};
 * integers are taken as their decimal text) into kv, each checked with
 * topics_config_check; a null value (removal) only when allow_null. The
 * values point into the tree, or into num[i] for integers. Returns the
 * count, or -1 after a 400 reply. */
static int read_configs(http_req_t *r, const jv_t *cfg, topic_kv_t *kv, char (*num)[32], int max,
                        int allow_null)
{
	if (!cfg || cfg->t == JV_NULL)
		return 0;
	if (cfg->t != JV_OBJ) {
		http_error(r, 400, "configs must be an object of name: value strings");
		return -1;
	}
	if ((int)cfg->n > max) {
		http_error(r, 400, "too many configs (at most %d)", max);
		return -1;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		const jv_t *v = cfg->v[i];
		const char *val = NULL;
		if (v->t == JV_STR) {
			val = v->s;
		} else if (v->t == JV_NUM && v->is_int) {
			snprintf(num[i], sizeof num[i], "%lld", (long long)v->i);
			val = num[i];
		} else if (!(v->t == JV_NULL && allow_null)) {
			http_error(r, 400, "config %s: the value must be a string", cfg->k[i]);
			return -1;
		}
		/* A removal is checked for the key only. */
		int rc = topics_config_check(cfg->k[i], val ? val : "0");
		if (rc == SL_ENOENT || (rc < 0 && val)) {
			http_error(r, 400,
			           rc == SL_ENOENT ? "unknown topic config %s"
			                           : "bad value for topic config %s",
			           cfg->k[i]);
			return -1;
		}
		kv[i].key = cfg->k[i];
		kv[i].value = (char *)val;
	}
	return (int)cfg->n;
}

#define MAX_CONFIGS 64

void api_topic_create(http_req_t *r)
{
	topics_t *ts = r->h->b->topics;
	jv_t *body = api_body(r);
	if (!body)
		return;
	const char *name = NULL;
	size_t nl = 0;
	int64_t np = r->h->b->cfg->num_partitions;
	topic_kv_t kv[MAX_CONFIGS];
	char num[MAX_CONFIGS][32];
	int n;
	if (json_get_str(body, "name", &name, &nl) != 1 || !topics_name_valid(name, nl)) {
		http_error(r, 400,
		           "name: a topic name of 1 to 249 characters [a-zA-Z0-9._-] is required");
		goto out;
	}
	if (json_get_int(body, "partitions", &np) < 0 || np < 1 || np > TOPIC_MAX_PARTITIONS) {
		http_error(r, 400, "partitions must be an integer from 1 to %d",
		           TOPIC_MAX_PARTITIONS);
		goto out;
	}
	if ((n = read_configs(r, json_get(body, "configs"), kv, num, MAX_CONFIGS, 0)) < 0)
		goto out;
	if (topics_find(ts, name, nl)) {
		http_error(r, 409, "topic %s already exists", name);
		goto out;
	}
	topic_t *t;
	int rc = topics_create(ts, name, (int32_t)np, kv, n, &t);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot create topic %s: %s", name,
		           sl_strerror(rc));
		goto out;
	}
	log_info(r->h->b->log, "http: %s created topic %s (%d partitions)", r->c->peer, name,
	         (int)np);
	buf_t b = BUF_INIT;
	topic_detail(&b, ts, t);
	http_json(r, 201, &b);
	buf_deinit(&b);
out:
	json_free(body);
}

void api_topic_delete(http_req_t *r)
{
	topic_t *t = find_topic(r, r->seg[3]);
	if (!t)
		return;
	char name[TOPIC_NAME_MAX + 1];
	snprintf(name, sizeof name, "%s", t->name);
	int rc = topics_delete(r->h->b->topics, name);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot delete topic %s: %s", name,
		           sl_strerror(rc));
		return;
	}
	if (r->h->b->groups)
		grp_topic_deleted(r->h->b->groups, grp_s(name));
	log_info(r->h->b->log, "http: %s deleted topic %s", r->c->peer, name);
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"deleted\":");
	json_str(&b, name);
	buf_puts(&b, "}\n");
	http_json(r, 200, &b);
	buf_deinit(&b);
}

void api_topic_partitions(http_req_t *r)
{
	topic_t *t = find_topic(r, r->seg[3]);
	if (!t)
		return;
	jv_t *body = api_body(r);
	if (!body)
		return;
	int64_t count = 0;
	if (json_get_int(body, "count", &count) != 1 || count <= t->npart ||
	    count > TOPIC_MAX_PARTITIONS) {
		http_error(r, 400, "count must be an integer above the current %d partitions",
		           (int)t->npart);
		goto out;
	}
	int rc = topics_add_partitions(r->h->b->topics, t, (int32_t)count);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot add partitions: %s", sl_strerror(rc));
		goto out;
	}
	buf_t b = BUF_INIT;
	topic_detail(&b, r->h->b->topics, t);
	http_json(r, 200, &b);
	buf_deinit(&b);
out:
	json_free(body);
}

void api_topic_configs(http_req_t *r)
{
	topic_t *t = find_topic(r, r->seg[3]);
	if (!t)
		return;
	jv_t *body = api_body(r);
	if (!body)
		return;
	topic_kv_t kv[MAX_CONFIGS];
	char num[MAX_CONFIGS][32];
	const jv_t *cfg = json_get(body, "configs");
	int n = cfg ? read_configs(r, cfg, kv, num, MAX_CONFIGS, 1) : -2;
	if (n == -2)
		http_error(r, 400, "configs: an object of name: value (null removes) is required");
	if (n < 0)
		goto out;
	int rc = n ? topics_set_configs(r->h->b->topics, t, kv, n) : 0;
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot change configs: %s", sl_strerror(rc));
		goto out;
	}
	buf_t b = BUF_INIT;
	topic_detail(&b, r->h->b->topics, t);
	http_json(r, 200, &b);
	buf_deinit(&b);
out:
	json_free(body);
}

/* --- messages ---------------------------------------------------------------------------- */

/* A byte string as "NAME":"text" (or null) and "NAME_b64":"...". */
static void bytes_field(buf_t *b, const char *name, const uint8_t *p, size_t n, int null)
{
	buf_printf(b, "\"%s\":", name);
	if (null)
		buf_puts(b, "null");
	else if (json_utf8_ok(p, n))
		json_strn(b, (const char *)p, n);
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"%s_b64\":", name);
	if (null)
		buf_puts(b, "null");
	else
		json_b64(b, p, n);
}

typedef struct browse {
	buf_t *out;
	size_t n, limit;
	int64_t next;
	const char *codec;
	int64_t batch_offset;
} browse_t;

static int on_record(void *arg, const http_rec_t *rec)
{
	browse_t *w = arg;
	buf_printf(w->out, "%s{\"offset\":%lld,\"timestamp\":%lld,", w->n ? "," : "",
	           (long long)rec->offset, (long long)rec->timestamp);
	bytes_field(w->out, "key", rec->key, rec->key_len, rec->key == NULL);
	buf_puts(w->out, ",");
	bytes_field(w->out, "value", rec->value, rec->value_len, rec->value == NULL);
	buf_puts(w->out, ",\"headers\":[");
	const uint8_t *p = rec->headers, *end = rec->headers + rec->headers_len;
	for (int32_t i = 0; i < rec->nheaders; i++) {
		const uint8_t *k, *v;
		size_t kn, vn;
		if (http_rec_header(&p, end, &k, &kn, &v, &vn) < 0)
			break;
		buf_puts(w->out, i ? ",{" : "{");
		bytes_field(w->out, "key", k, kn, 0);
		buf_puts(w->out, ",");
		bytes_field(w->out, "value", v, vn, v == NULL);
		buf_puts(w->out, "}");
	}
	buf_printf(w->out, "],\"size\":%zu,\"codec\":\"%s\",\"batch_offset\":%lld}",
	           rec->key_len + rec->value_len, w->codec, (long long)w->batch_offset);
	w->n++;
	w->next = rec->offset + 1;
	return w->n >= w->limit;
}

typedef struct time_find {
	int64_t ts, found;
} time_find_t;

static int on_time(void *arg, const http_rec_t *rec)
{
	time_find_t *f = arg;
	if (rec->timestamp < f->ts)
		return 0;
	f->found = rec->offset;
	return 1;
}

int64_t http_offset_for_time(plog_t *log, int64_t ts)
{
	int64_t off;
	if (plog_find_by_time(log, ts, &off) < 0)
		return plog_hw(log);
	/* That batch's largest timestamp is >= ts: the record is in it, as
	 * Kafka's ListOffsets finds it (the first record at or after ts). */
	plog_region_t rg;
	if (plog_read(log, off, 1, &rg) < 0 || rg.len < BATCH_HDR_SIZE)
		return off;
	batch_hdr_t h;
	uint8_t hdr[BATCH_HDR_SIZE];
	if (pread(rg.fd, hdr, sizeof hdr, rg.pos) != (ssize_t)sizeof hdr ||
	    batch_peek(hdr, sizeof hdr, &h) < 0 || batch_size(&h) > rg.len)
		return off;
	buf_t b = BUF_INIT;
	uint8_t *dst = buf_reserve(&b, batch_size(&h));
	time_find_t f = {ts, off};
	const char *codec;
	if (pread(rg.fd, dst, batch_size(&h), rg.pos) == (ssize_t)batch_size(&h))
		(void)http_batch_records(dst, batch_size(&h), off, BROWSE_INFLATE_MAX, on_time, &f,
		                         &codec);
	buf_deinit(&b);
	return f.found;
}

static partition_t *find_partition(http_req_t *r, topic_t *t, int64_t *pi)
{
	*pi = 0;
	if (http_query_int(r, "partition", pi) < 0 || *pi < 0 || *pi >= t->npart) {
		http_error(r, 400, "partition must be 0 to %d", (int)t->npart - 1);
		return NULL;
	}
	return t->parts[*pi];
}

void api_messages_get(http_req_t *r)
{
	topic_t *t = find_topic(r, r->seg[3]);
	if (!t)
		return;
	int64_t pi, off = -1, ts = -1, limit = BROWSE_DEFAULT;
	partition_t *p = find_partition(r, t, &pi);
	if (!p)
		return;
	if (http_query_int(r, "offset", &off) < 0 || http_query_int(r, "timestamp", &ts) < 0 ||
	    http_query_int(r, "limit", &limit) < 0 || limit < 1 || limit > BROWSE_MAX) {
		http_error(r, 400, "offset and timestamp must be integers, limit 1 to %d",
		           BROWSE_MAX);
		return;
	}
	plog_t *log = p->log;
	int64_t start = plog_start_offset(log), hw = plog_hw(log);
	if (ts >= 0) {
		off = http_offset_for_time(log, ts);
	} else if (off < 0) {
		off = hw - limit; /* the newest page */
	}
	if (off < start)
		off = start;
	if (off > hw)
		off = hw;
	buf_t b = BUF_INIT, region = BUF_INIT;
	buf_puts(&b, "{\"topic\":");
	json_str(&b, t->name);
	buf_printf(&b,
	           ",\"partition\":%d,\"start_offset\":%lld,\"high_watermark\":%lld,"
	           "\"from\":%lld,\"records\":[",
	           (int)pi, (long long)start, (long long)hw, (long long)off);
	browse_t w = {.out = &b, .limit = (size_t)limit, .next = off};
	size_t read = 0;
	int rc = 0;
	const char *err = NULL;
	while (w.n < w.limit && w.next < hw && read < BROWSE_READ_MAX) {
		plog_region_t rg;
		rc = plog_read(log, w.next, BROWSE_REGION, &rg);
		if (rc < 0 || rg.len == 0)
			break;
		buf_reset(&region);
		uint8_t *dst = buf_reserve(&region, rg.len);
		if (pread(rg.fd, dst, rg.len, rg.pos) != (ssize_t)rg.len) {
			rc = SL_EIO;
			break;
		}
		buf_commit(&region, rg.len);
		read += rg.len;
		int64_t before = w.next;
		for (size_t pos = 0; pos + BATCH_HDR_SIZE <= rg.len && w.n < w.limit;) {
			batch_hdr_t h;
			if (batch_peek(buf_data(&region) + pos, rg.len - pos, &h) < 0 ||
			    batch_size(&h) > rg.len - pos)
				break;
			int64_t last = batch_last_offset(&h);
			if (last >= w.next && !(h.attributes & BATCH_ATTR_CONTROL)) {
				w.batch_offset = h.base_offset;
				int drc = http_batch_records(
				    buf_data(&region) + pos, batch_size(&h), w.next,
				    BROWSE_INFLATE_MAX, on_record, &w, &w.codec);
				if (drc < 0 && !err)
					err = w.codec;
			}
			if (w.n < w.limit && last + 1 > w.next)
				w.next = last + 1;
			pos += batch_size(&h);
		}
		if (w.next <= before)
			w.next = rg.first_offset > before ? rg.first_offset : before + 1;
	}
	buf_printf(&b, "],\"next_offset\":%lld", (long long)w.next);
	if (err) {
		buf_puts(&b, ",\"warning\":");
		char msg[160];
		snprintf(msg, sizeof msg, "a batch compressed with %s could not be decoded", err);
		json_str(&b, msg);
	}
	buf_puts(&b, "}\n");
	buf_deinit(&region);
	if (rc < 0)
		http_error(r, http_status_of(rc), "cannot read the log: %s", sl_strerror(rc));
	else
		http_json(r, 200, &b);
	buf_deinit(&b);
}

/* A field given as "NAME" (text) or "NAME_b64" (base64) into out;
 * returns 1 set, 0 absent (or null), -1 after a 400 reply. */
static int read_bytes(http_req_t *r, const jv_t *body, const char *name, buf_t *out)
{
	char b64[64];
	snprintf(b64, sizeof b64, "%s_b64", name);
	const char *s;
	size_t n;
	int rc = json_get_str(body, name, &s, &n);
	if (rc == 1) {
		buf_append(out, s, n);
		return 1;
	}
	int rc2 = json_get_str(body, b64, &s, &n);
	if (rc < 0 || rc2 < 0 || (rc2 == 1 && json_b64_decode(out, s, n) < 0)) {
		http_error(r, 400, "%s must be a string (or %s base64)", name, b64);
		return -1;
	}
	return rc2;
}

#define PRODUCE_MAX_HEADERS 64

void api_messages_produce(http_req_t *r)
{
	topic_t *t = find_topic(r, r->seg[3]);
	if (!t)
		return;
	jv_t *body = api_body(r);
	if (!body)
		return;
	buf_t key = BUF_INIT, val = BUF_INIT, batch = BUF_INIT;
	batch_rec_header_t hdrs[PRODUCE_MAX_HEADERS];
	size_t nh = 0;
	int64_t pi = 0;
	int hk = 0, hvv = 0;
	if (json_get_int(body, "partition", &pi) < 0 || pi < 0 || pi >= t->npart) {
		http_error(r, 400, "partition must be 0 to %d", (int)t->npart - 1);
		goto out;
	}
	if ((hk = read_bytes(r, body, "key", &key)) < 0 ||
	    (hvv = read_bytes(r, body, "value", &val)) < 0)
		goto out;
	const jv_t *h = json_get(body, "headers");
	if (h && h->t != JV_NULL && (h->t != JV_OBJ || h->n > PRODUCE_MAX_HEADERS)) {
		http_error(r, 400, "headers must be an object of at most %d name: string pairs",
		           PRODUCE_MAX_HEADERS);
		goto out;
	}
	for (size_t i = 0; h && h->t == JV_OBJ && i < h->n; i++) {
		if (h->v[i]->t != JV_STR && h->v[i]->t != JV_NULL) {
			http_error(r, 400, "header %s: the value must be a string or null",
			           h->k[i]);
			goto out;
		}
		hdrs[nh].key = (const uint8_t *)h->k[i];
		hdrs[nh].key_len = (int32_t)strlen(h->k[i]);
		hdrs[nh].value = h->v[i]->t == JV_STR ? (const uint8_t *)h->v[i]->s : NULL;
		hdrs[nh].value_len = h->v[i]->t == JV_STR ? (int32_t)h->v[i]->slen : -1;
		nh++;
	}
	batch_record_t rec = {
	    .timestamp = time_wall_ms(),
	    .key = hk ? buf_data(&key) : NULL,
	    .key_len = hk ? (int32_t)buf_len(&key) : -1,
	    .value = hvv ? buf_data(&val) : NULL,
	    .value_len = hvv ? (int32_t)buf_len(&val) : -1,
	    .headers = hdrs,
	    .nheaders = (int32_t)nh,
	};
	int rc = batch_build(&batch, NULL, &rec, 1);
	part_append_t res;
	partition_t *p = t->parts[pi];
	if (rc == 0)
		rc = partition_append(p, buf_data(&batch), buf_len(&batch), &res);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot produce to %s/%d: %s", t->name, (int)pi,
		           sl_strerror(rc));
		goto out;
	}
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"topic\":");
	json_str(&b, t->name);
	buf_printf(&b, ",\"partition\":%d,\"offset\":%lld,\"timestamp\":%lld}\n", (int)pi,
	           (long long)res.base_offset, (long long)rec.timestamp);
	/* As a Kafka producer with acks=-1: answered once it is on disk. */
	http_json_durable(r, p->dur, 1, 201, &b);
	buf_deinit(&b);
out:
	buf_deinit(&key);
	buf_deinit(&val);
	buf_deinit(&batch);
	json_free(body);
}
