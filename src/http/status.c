/*
 * status.c — /health and /status, and the data directory's disk use that
 * /status and the console's overview report.
 *
 *   GET /health   → 200 "ok"
 *   GET /status   → 200, JSON for `sluice status` (without credentials when
 *                   some are configured: only {"status":"ok","uptime_s"}):
 *                   uptime, connections, the
 *                   bound listener ports (-1 = off), the data directory's
 *                   disk use and free space, and what the broker holds
 *                   (read from its live state, whichever listeners are
 *                   on): each Kafka topic's partitions, log bytes and
 *                   readable messages; the beanstalkd job counts; the
 *                   Redis key counts.
 *
 * Disk use walks the data directory (du's allocated blocks). That costs a
 * stat per file, so the result is kept for DISK_CACHE_MS: the console
 * polls the overview every few seconds and thousands of partitions must
 * not turn that into thousands of stats each time.
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/job.h"
#include "broker/keyspace.h"
#include "broker/topic.h"
#include "core/time.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#define DISK_CACHE_MS 5000

void http_health(http_req_t *r)
{
	http_reply(r, 200, "text/plain", "ok\n", 3);
}

/* Disk use (allocated blocks, as du counts) of everything under dir.
 * Bounded depth: the data directory is a few levels deep. */
static void du(const char *dir, int depth, uint64_t *used)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char path[4096];
		struct stat st;
		if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
		    lstat(path, &st) != 0)
			continue;
		*used += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < 4)
			du(path, depth + 1, used);
	}
	closedir(d);
}

void http_disk(http_srv_t *h, uint64_t *used, uint64_t *avail)
{
	int64_t now = time_mono_ms();
	if (!h->disk_at || now - h->disk_at >= DISK_CACHE_MS) {
		h->disk_used = 0;
		du(h->b->data_dir, 0, &h->disk_used);
		h->disk_at = now;
	}
	*used = h->disk_used;
	struct statvfs vfs;
	*avail = statvfs(h->b->data_dir, &vfs) == 0 ? (uint64_t)vfs.f_bavail * vfs.f_frsize : 0;
}

static int cmp_topic(const void *x, const void *y)
{
	return strcmp((*(topic_t *const *)x)->name, (*(topic_t *const *)y)->name);
}

topic_t **http_topics_sorted(const broker_t *b, size_t *n)
{
	size_t cap = b->topics ? topics_count(b->topics) : 0, it = 0, i = 0;
	topic_t **v = malloc((cap ? cap : 1) * sizeof *v), *t;
	if (!v)
		abort(); /* the server's own bookkeeping */
	while (b->topics && i < cap && (t = topics_next(b->topics, &it)))
		v[i++] = t;
	qsort(v, i, sizeof *v, cmp_topic);
	*n = i;
	return v;
}

/* "topics":[{"name":…,"partitions":N,"bytes":N,"messages":N},…], read from
 * the broker's topics: bytes are the partitions' log sizes, messages the
 * readable offsets (high watermark minus log start) summed. */
static void topics_json(buf_t *b, const broker_t *br)
{
	size_t n;
	topic_t **v = http_topics_sorted(br, &n);
	buf_puts(b, "\"topics\":[");
	for (size_t i = 0; i < n; i++) {
		uint64_t bytes = 0, msgs = 0;
		for (int32_t k = 0; k < v[i]->npart; k++) {
			plog_t *p = v[i]->parts[k]->log;
			bytes += plog_size_bytes(p);
			msgs += (uint64_t)(plog_hw(p) - plog_start_offset(p));
		}
		buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		json_str(b, v[i]->name);
		buf_printf(b, ",\"partitions\":%d,\"bytes\":%llu,\"messages\":%llu}",
		           (int)v[i]->npart, (unsigned long long)bytes, (unsigned long long)msgs);
	}
	free(v);
	buf_puts(b, "]");
}

/* "keys":{"total":N,"expiring":N} from the broker's Redis keyspace. */
static void keys_json(buf_t *b, const broker_t *br)
{
	if (!br->ks) {
		buf_puts(b, "\"keys\":null");
		return;
	}
	buf_printf(b, "\"keys\":{\"total\":%zu,\"expiring\":%zu}", ks_size(br->ks),
	           ks_expires_count(br->ks));
}

/* "jobs":{"ready":N,…,"tubes":N} from the broker's jobs. */
static void jobs_json(buf_t *b, const broker_t *br)
{
	const jobs_t *s = br->jobs;
	if (!s) {
		buf_puts(b, "\"jobs\":null");
		return;
	}
	buf_printf(b,
	           "\"jobs\":{\"ready\":%llu,\"reserved\":%llu,\"delayed\":%llu,"
	           "\"buried\":%llu,\"tubes\":%zu,\"next_id\":%llu}",
	           (unsigned long long)s->ready_n, (unsigned long long)s->reserved_n,
	           (unsigned long long)s->delayed_n, (unsigned long long)s->buried_n, s->tubes.n,
	           (unsigned long long)s->next_id);
}

void http_status(http_req_t *r)
{
	http_srv_t *h = r->h;
	const broker_t *br = h->b;
	const sl_config_t *cfg = br->cfg;
	uint64_t used, avail;
	buf_t body = BUF_INIT;
	if (!r->authed) {
		/* Credentials are configured and none were sent: that it is up,
		 * nothing about the machine or the data. */
		buf_printf(&body, "{\"status\":\"ok\",\"uptime_s\":%.3f}\n",
		           (double)(time_mono_ms() - h->started_ms) / 1000.0);
		http_json(r, 200, &body);
		buf_deinit(&body);
		return;
	}
	http_disk(h, &used, &avail);
	buf_printf(&body, "{\"uptime_s\":%.3f,\"connections\":%zu,\"draining\":%s,\"bind\":",
	           (double)(time_mono_ms() - h->started_ms) / 1000.0, conn_count(r->c->loop),
	           br->draining ? "true" : "false");
	json_str(&body, cfg->bind);
	buf_printf(&body, ",\"ports\":{\"kafka\":%d,\"resp\":%d,\"beanstalk\":%d,\"http\":%d}",
	           br->ports.kafka, br->ports.resp, br->ports.beanstalk, br->ports.http);
	buf_puts(&body, ",\"data_dir\":");
	json_str(&body, br->data_dir);
	buf_printf(&body, ",\"disk_used_bytes\":%llu,\"disk_free_bytes\":%llu,",
	           (unsigned long long)used, (unsigned long long)avail);
	topics_json(&body, br);
	buf_puts(&body, ",");
	jobs_json(&body, br);
	buf_puts(&body, ",");
	keys_json(&body, br);
	buf_puts(&body, "}\n");
	http_json(r, 200, &body);
	buf_deinit(&body);
}
