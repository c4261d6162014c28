/*
 * metrics.c — GET /metrics: the Prometheus text format (version 0.0.4),
 * read from the broker's live state and the counters kept where things
 * happen (docs/operations.md lists every series).
 *
 * Cost. Rendering reads counters and per-partition, per-group, per-tube
 * and per-stream state; it never walks records or jobs. Counters are O(1)
 * per request on the hot path (broker/stats.h, the syncer's histograms,
 * each partition's traffic counters), so a scrape during a Kafka load
 * costs one pass over the partitions and the groups' committed offsets.
 * The one walk that grows with data is finding the Redis streams among
 * the keys: it runs only while the keyspace holds at most
 * METRICS_MAX_KEYS keys (sluice_redis_streams_skipped says when not).
 *
 * Naming follows Prometheus's conventions: sluice_ prefix, base units
 * (seconds, bytes), _total for counters, histograms with _bucket/_sum/
 * _count. Label values are escaped (\\, \", \n).
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/group.h"
#include "broker/job.h"
#include "broker/keyspace.h"
#include "broker/stats.h"
#include "broker/topic.h"
#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define METRICS_MAX_KEYS 100000

static void help(buf_t *b, const char *name, const char *type, const char *text)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A label value, escaped (\\, \", \n). Names rarely need it: those are
 * appended whole, which matters with thousands of series per scrape. */
static void lv(buf_t *b, const char *s, size_t n)
{
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c != '\\' && c != '"' && c != '\n')
			continue;
		buf_append(b, s + run, i - run);
		buf_puts(b, c == '\n' ? "\\n" : c == '"' ? "\\\"" : "\\\\");
		run = i + 1;
	}
	buf_append(b, s + run, n - run);
}

/* " V\n": integers without printf (most of a scrape's lines). */
static void put_val(buf_t *b, uint64_t v)
{
	char d[24];
	size_t i = sizeof d;
	d[--i] = '\n';
	do
		d[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	d[--i] = ' ';
	buf_append(b, d + i, sizeof d - i);
}

static void lvz(buf_t *b, const char *s)
{
	lv(b, s, strlen(s));
}

/* One histogram's series; labels is "" or `a="x",` (ending in a comma);
 * scale turns the histogram's unit into the metric's (1e-6: µs to s). */
static void hist_series(buf_t *b, const char *name, const char *labels, const hist_t *h,
                        double scale)
{
	uint64_t cum = 0;
	for (unsigned k = 0; k + 1 < HIST_NB; k++) {
		cum += h->b[k];
		buf_printf(b, "%s_bucket{%sle=\"%.9g\"} %llu\n", name, labels,
		           (double)hist_bound(k) * scale, (unsigned long long)cum);
	}
	cum += h->b[HIST_NB - 1];
	buf_printf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, (unsigned long long)cum);
	/* _sum and _count take the labels without the trailing comma. */
	int ln = (int)strlen(labels);
	if (ln) {
		buf_printf(b, "%s_sum{%.*s} %.9g\n", name, ln - 1, labels, (double)h->sum * scale);
		buf_printf(b, "%s_count{%.*s} %llu\n", name, ln - 1, labels,
		           (unsigned long long)h->count);
	} else {
		buf_printf(b, "%s_sum %.9g\n", name, (double)h->sum * scale);
		buf_printf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
	}
}

/* --- process and connections ------------------------------------------------- */

typedef struct conn_tally {
	const char *names[4];
	size_t n[4];
	size_t in_bytes, out_bytes;
} conn_tally_t;

static void tally(conn_t *c, void *arg)
{
	conn_tally_t *t = arg;
	for (int i = 0; i < 4; i++)
		if (c->proto && c->proto->name && !strcmp(c->proto->name, t->names[i]))
			t->n[i]++;
	t->in_bytes += c->in.cap;
	t->out_bytes += conn_out_pending(c);
}

static void process(buf_t *b, http_req_t *r)
{
	http_srv_t *h = r->h;
	const broker_t *br = h->b;
	help(b, "sluice_uptime_seconds", "gauge", "Seconds since sluiced started.");
	buf_printf(b, "sluice_uptime_seconds %.3f\n",
	           (double)(time_mono_ms() - h->started_ms) / 1000.0);
	conn_tally_t t = {.names = {"kafka", "resp", "beanstalk", "http"}};
	conn_foreach(r->c->loop, tally, &t);
	help(b, "sluice_connections", "gauge", "Open client connections, all protocols.");
	buf_printf(b, "sluice_connections %zu\n", conn_count(r->c->loop));
	help(b, "sluice_listener_connections", "gauge", "Open client connections per listener.");
	const int ports[4] = {br->ports.kafka, br->ports.resp, br->ports.beanstalk, br->ports.http};
	for (int i = 0; i < 4; i++)
		if (ports[i] >= 0 || t.n[i])
			buf_printf(b, "sluice_listener_connections{listener=\"%s\"} %zu\n",
			           t.names[i], t.n[i]);
	help(b, "sluice_buffer_bytes", "gauge",
	     "Memory held by connection buffers: input allocated, output queued.");
	buf_printf(b, "sluice_buffer_bytes{buffer=\"input\"} %zu\n", t.in_bytes);
	buf_printf(b, "sluice_buffer_bytes{buffer=\"output\"} %zu\n", t.out_bytes);
	help(b, "sluice_http_requests_total", "counter", "HTTP requests served.");
	buf_printf(b, "sluice_http_requests_total %llu\n", (unsigned long long)h->requests);
	help(b, "sluice_http_responses_total", "counter", "HTTP responses by status class.");
	for (int k = 2; k < 6; k++)
		buf_printf(b, "sluice_http_responses_total{code=\"%dxx\"} %llu\n", k,
		           (unsigned long long)h->responses[k]);
}

/* --- requests per protocol command --------------------------------------------- */

static const char *const proto_names[STATS_NPROTO] = {"kafka", "resp", "beanstalk"};

/* A command's label: its table name without trailing spaces (beanstalkd's
 * table names commands that take arguments "put "). */
static void cmd_label(buf_t *b, const char *name)
{
	size_t n = strlen(name);
	while (n && name[n - 1] == ' ')
		n--;
	lv(b, name, n);
}

static int cmp_slot(const void *x, const void *y)
{
	const stats_cmd_t *a = *(stats_cmd_t *const *)x, *b = *(stats_cmd_t *const *)y;
	return strcmp(a->name, b->name);
}

static void requests(buf_t *b, const broker_t *br)
{
	if (!br->stats)
		return;
	stats_cmd_t *v[STATS_SLOTS];
	size_t nv[STATS_NPROTO];
	stats_cmd_t *all[STATS_NPROTO][STATS_SLOTS];
	for (int p = 0; p < STATS_NPROTO; p++) {
		const stats_tab_t *t = &br->stats->proto[p];
		size_t n = 0;
		for (size_t i = 0; i < STATS_SLOTS; i++)
			if (t->slot[i].key)
				v[n++] = (stats_cmd_t *)&t->slot[i];
		qsort(v, n, sizeof *v, cmp_slot);
		memcpy(all[p], v, n * sizeof *v);
		nv[p] = n;
	}
	help(b, "sluice_requests_total", "counter",
	     "Requests per protocol and command (Kafka API, RESP command, beanstalkd command).");
	for (int p = 0; p < STATS_NPROTO; p++)
		for (size_t i = 0; i < nv[p]; i++) {
			buf_printf(b, "sluice_requests_total{protocol=\"%s\",command=\"",
			           proto_names[p]);
			cmd_label(b, all[p][i]->name);
			buf_printf(b, "\"} %llu\n", (unsigned long long)all[p][i]->requests);
		}
	help(b, "sluice_request_errors_total", "counter",
	     "Requests answered with an error (RESP error replies, beanstalkd error lines, "
	     "malformed Kafka requests).");
	for (int p = 0; p < STATS_NPROTO; p++)
		for (size_t i = 0; i < nv[p]; i++) {
			buf_printf(b, "sluice_request_errors_total{protocol=\"%s\",command=\"",
			           proto_names[p]);
			cmd_label(b, all[p][i]->name);
			buf_printf(b, "\"} %llu\n", (unsigned long long)all[p][i]->errors);
		}
	help(b, "sluice_request_duration_seconds", "histogram",
	     "Time the event loop spent handling a request (sampled one in 8 for RESP and "
	     "beanstalkd; waits for fsync not included).");
	buf_t labels = BUF_INIT;
	for (int p = 0; p < STATS_NPROTO; p++)
		for (size_t i = 0; i < nv[p]; i++) {
			buf_reset(&labels);
			buf_printf(&labels, "protocol=\"%s\",command=\"", proto_names[p]);
			cmd_label(&labels, all[p][i]->name);
			buf_puts(&labels, "\",");
			buf_put_u8(&labels, 0);
			hist_series(b, "sluice_request_duration_seconds",
			            (const char *)buf_data(&labels), &all[p][i]->lat_us, 1e-6);
		}
	buf_deinit(&labels);
}

static void fsyncs(buf_t *b, const broker_t *br)
{
	if (!br->syncer)
		return;
	const syncer_stats_t *s = syncer_stats(br->syncer);
	help(b, "sluice_fsyncs_total", "counter", "fdatasync calls made (group commits).");
	buf_printf(b, "sluice_fsyncs_total %llu\n",
	           (unsigned long long)syncer_sync_count(br->syncer));
	help(b, "sluice_fsync_failures_total", "counter", "fdatasync calls that failed.");
	buf_printf(b, "sluice_fsync_failures_total %llu\n", (unsigned long long)s->failures);
	help(b, "sluice_fsync_duration_seconds", "histogram",
	     "Duration of each fdatasync on the sync thread.");
	hist_series(b, "sluice_fsync_duration_seconds", "", &s->lat_us, 1e-6);
	help(b, "sluice_fsync_bytes", "histogram",
	     "Bytes each fdatasync made durable: what one group commit carried.");
	hist_series(b, "sluice_fsync_bytes", "", &s->bytes, 1);
}

/* --- Kafka ---------------------------------------------------------------------- */

/* Series of one partition gauge or counter; fn gives the value. */
typedef uint64_t (*part_val_fn)(const partition_t *p);

static uint64_t pv_msgs_in(const partition_t *p)
{
	return p->msgs_in;
}
static uint64_t pv_bytes_in(const partition_t *p)
{
	return p->bytes_in;
}
static uint64_t pv_bytes_out(const partition_t *p)
{
	return p->bytes_out;
}
static uint64_t pv_start(const partition_t *p)
{
	return (uint64_t)plog_start_offset(p->log);
}
static uint64_t pv_end(const partition_t *p)
{
	return (uint64_t)plog_end_offset(p->log);
}
static uint64_t pv_hw(const partition_t *p)
{
	return (uint64_t)plog_hw(p->log);
}
static uint64_t pv_size(const partition_t *p)
{
	return plog_size_bytes(p->log);
}
static uint64_t pv_segs(const partition_t *p)
{
	return (uint64_t)plog_segment_count(p->log);
}

static void partitions(buf_t *b, topic_t **tv, size_t nt)
{
	static const struct {
		const char *name, *type, *help;
		part_val_fn fn;
	} series[] = {
	    {"sluice_partition_messages_in_total", "counter", "Records appended to the partition.",
	     pv_msgs_in},
	    {"sluice_partition_bytes_in_total", "counter", "Record-batch bytes appended.",
	     pv_bytes_in},
	    {"sluice_partition_bytes_out_total", "counter",
	     "Record-batch bytes sent in Fetch responses.", pv_bytes_out},
	    {"sluice_partition_log_start_offset", "gauge", "First offset still stored.", pv_start},
	    {"sluice_partition_log_end_offset", "gauge", "Next offset to be assigned.", pv_end},
	    {"sluice_partition_high_watermark", "gauge",
	     "Offsets below it are readable (durable under fsync=always).", pv_hw},
	    {"sluice_partition_log_bytes", "gauge", "Bytes of the partition's segments.", pv_size},
	    {"sluice_partition_segments", "gauge", "Segments of the partition's log.", pv_segs},
	};
	/* Each partition's labels, formatted once for all eight series. */
	size_t np = 0;
	for (size_t i = 0; i < nt; i++)
		np += (size_t)tv[i]->npart;
	buf_t lab = BUF_INIT;
	size_t *at = malloc((np + 1) * sizeof *at);
	const partition_t **pv = malloc((np ? np : 1) * sizeof *pv);
	if (!at || !pv)
		abort();
	size_t k = 0;
	for (size_t i = 0; i < nt; i++)
		for (int32_t j = 0; j < tv[i]->npart; j++, k++) {
			at[k] = buf_len(&lab);
			pv[k] = tv[i]->parts[j];
			buf_puts(&lab, "{topic=\"");
			lvz(&lab, tv[i]->name);
			buf_printf(&lab, "\",partition=\"%d\"}", (int)j);
		}
	at[np] = buf_len(&lab);
	for (size_t s = 0; s < sizeof series / sizeof *series; s++) {
		help(b, series[s].name, series[s].type, series[s].help);
		size_t nl = strlen(series[s].name);
		for (k = 0; k < np; k++) {
			buf_append(b, series[s].name, nl);
			buf_append(b, buf_data(&lab) + at[k], at[k + 1] - at[k]);
			put_val(b, series[s].fn(pv[k]));
		}
	}
	free(at);
	free(pv);
	buf_deinit(&lab);
}

static void groups(buf_t *b, const broker_t *br)
{
	if (!br->groups)
		return;
	size_t ng;
	grp_listing_t *gl = grp_list(br->groups, &ng);
	help(b, "sluice_group_members", "gauge", "Members of each consumer group.");
	for (size_t i = 0; i < ng; i++) {
		grp_desc_t d;
		if (grp_describe(br->groups, gl[i].group_id, &d) != GRP_ERR_OK)
			continue;
		buf_puts(b, "sluice_group_members{group=\"");
		lv(b, gl[i].group_id.p, (size_t)gl[i].group_id.len);
		buf_printf(b, "\",state=\"%s\"} %zu\n", grp_state_name(d.state), d.nmembers);
		grp_desc_free(&d);
	}
	buf_t off = BUF_INIT, lag = BUF_INIT;
	help(&off, "sluice_group_committed_offset", "gauge",
	     "Committed offset per consumer group and partition.");
	help(&lag, "sluice_group_lag", "gauge",
	     "High watermark minus committed offset per consumer group and partition.");
	for (size_t i = 0; i < ng; i++) {
		size_t no;
		grp_offset_t *o = grp_offsets_all(br->groups, gl[i].group_id, &no);
		for (size_t k = 0; k < no; k++) {
			topic_t *t = topics_find(br->topics, o[k].topic.p, (size_t)o[k].topic.len);
			buf_t *dst[2] = {&off, &lag};
			int64_t hw = -1;
			if (t && o[k].partition >= 0 && o[k].partition < t->npart)
				hw = plog_hw(t->parts[o[k].partition]->log);
			for (int d = 0; d < 2; d++) {
				if (d == 1 && hw < 0)
					continue;
				buf_printf(dst[d], "%s{group=\"",
				           d ? "sluice_group_lag"
				             : "sluice_group_committed_offset");
				lv(dst[d], gl[i].group_id.p, (size_t)gl[i].group_id.len);
				buf_puts(dst[d], "\",topic=\"");
				lv(dst[d], o[k].topic.p, (size_t)o[k].topic.len);
				buf_printf(dst[d], "\",partition=\"%d\"} %lld\n",
				           (int)o[k].partition,
				           (long long)(d ? (hw > o[k].offset ? hw - o[k].offset : 0)
				                         : o[k].offset));
			}
		}
		free(o);
	}
	buf_append(b, buf_data(&off), buf_len(&off));
	buf_append(b, buf_data(&lag), buf_len(&lag));
	buf_deinit(&off);
	buf_deinit(&lag);
	free(gl);
}

/* --- storage -------------------------------------------------------------------- */

static void journals(buf_t *b, const broker_t *br)
{
	static const struct {
		const char *name, *path;
	} js[] = {
	    {"kafka", "kafka.journal"},
	    {"groups", "groups/groups.journal"},
	    {"jobs", "beanstalk/jobs.journal"},
	    {"keys", "resp/keys.journal"},
	    {"streams", "streams/streams.journal"},
	};
	help(b, "sluice_journal_bytes", "gauge", "Size of each state journal file.");
	for (size_t i = 0; i < sizeof js / sizeof *js; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", br->data_dir, js[i].path);
		if (stat(path, &st) == 0)
			buf_printf(b, "sluice_journal_bytes{journal=\"%s\"} %lld\n", js[i].name,
			           (long long)st.st_size);
	}
}

/* --- beanstalkd ------------------------------------------------------------------- */

static void tubes(buf_t *b, const broker_t *br)
{
	const jobs_t *s = br->jobs;
	if (!s)
		return;
	help(b, "sluice_jobs", "gauge", "beanstalkd jobs by state, all tubes.");
	buf_printf(b,
	           "sluice_jobs{state=\"ready\"} %llu\nsluice_jobs{state=\"reserved\"} %llu\n"
	           "sluice_jobs{state=\"delayed\"} %llu\nsluice_jobs{state=\"buried\"} %llu\n",
	           (unsigned long long)s->ready_n, (unsigned long long)s->reserved_n,
	           (unsigned long long)s->delayed_n, (unsigned long long)s->buried_n);
	help(b, "sluice_tube_jobs", "gauge", "beanstalkd jobs per tube and state.");
	for (size_t i = 0; i < s->tubes.n; i++) {
		const tube_t *t = s->tubes.v[i];
		const char *st[4] = {"ready", "reserved", "delayed", "buried"};
		uint64_t n[4] = {t->ready.n, t->reserved_n, t->delay.n, t->buried_n};
		for (int k = 0; k < 4; k++) {
			buf_puts(b, "sluice_tube_jobs{tube=\"");
			lv(b, t->name, t->name_len);
			buf_printf(b, "\",state=\"%s\"} %llu\n", st[k], (unsigned long long)n[k]);
		}
	}
	help(b, "sluice_tube_paused", "gauge", "1 while the tube is paused (pause-tube).");
	int64_t now = jobs_now();
	for (size_t i = 0; i < s->tubes.n; i++) {
		tube_t *t = s->tubes.v[i];
		buf_puts(b, "sluice_tube_paused{tube=\"");
		lv(b, t->name, t->name_len);
		buf_printf(b, "\"} %d\n", tube_paused(t, now) ? 1 : 0);
	}
}

/* --- Redis ---------------------------------------------------------------------- */

static void redis(buf_t *b, const broker_t *br)
{
	keyspace_t *ks = br->ks;
	if (!ks)
		return;
	help(b, "sluice_redis_keys", "gauge", "Keys in the Redis keyspace.");
	buf_printf(b, "sluice_redis_keys %zu\n", ks_size(ks));
	help(b, "sluice_redis_expiring_keys", "gauge", "Keys with a time to live.");
	buf_printf(b, "sluice_redis_expiring_keys %zu\n", ks_expires_count(ks));
	help(b, "sluice_redis_streams_skipped", "gauge",
	     "1 when the keyspace is too large to list its streams on each scrape.");
	int skip = ks_size(ks) > METRICS_MAX_KEYS;
	buf_printf(b, "sluice_redis_streams_skipped %d\n", skip);
	if (skip)
		return;
	buf_t len = BUF_INIT, pend = BUF_INIT;
	help(&len, "sluice_stream_length", "gauge", "Entries in each Redis stream.");
	help(&pend, "sluice_stream_pending", "gauge",
	     "Pending (delivered, unacknowledged) entries per stream consumer group.");
	size_t it = 0, kl;
	const char *k;
	ks_obj_t *o;
	while (ks_next(ks, &it, &k, &kl, &o)) {
		if (o->type != KS_STREAM || ks_expired(ks, k, kl))
			continue;
		stream_t *s = o->ptr;
		buf_puts(&len, "sluice_stream_length{key=\"");
		lv(&len, k, kl);
		buf_printf(&len, "\"} %llu\n", (unsigned long long)s->length);
		size_t ng;
		sgroup_t **g = stream_groups_sorted(s, &ng);
		for (size_t i = 0; i < ng; i++) {
			buf_puts(&pend, "sluice_stream_pending{key=\"");
			lv(&pend, k, kl);
			buf_puts(&pend, "\",group=\"");
			lv(&pend, g[i]->name, g[i]->nlen);
			buf_printf(&pend, "\"} %zu\n", g[i]->pel.n);
		}
		free(g);
	}
	buf_append(b, buf_data(&len), buf_len(&len));
	buf_append(b, buf_data(&pend), buf_len(&pend));
	buf_deinit(&len);
	buf_deinit(&pend);
}

void http_metrics(http_req_t *r)
{
	const broker_t *br = r->h->b;
	/* The server's buffer, kept between scrapes: a scrape's text is the
	 * same size each time, so it grows once instead of every time. */
	buf_t b = r->h->scrape;
	buf_reset(&b);
	process(&b, r);
	requests(&b, br);
	fsyncs(&b, br);
	size_t nt;
	topic_t **tv = http_topics_sorted(br, &nt);
	partitions(&b, tv, nt);
	free(tv);
	groups(&b, br);
	journals(&b, br);
	tubes(&b, br);
	redis(&b, br);
	http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf_data(&b), buf_len(&b));
	r->h->scrape = b;
}
