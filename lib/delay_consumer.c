/*
 * delay_consumer.c — sl_dq_consumer: runs delayed jobs once across the
 * beanstalkd nodes they were written to, as go-queue's dq consumer does
 * (dq/consumer.go, consumernode.go).
 *
 * One thread per node: watch the tube (and ignore "default" unless that is
 * the tube, so unrelated jobs in "default" never reach the handler — dq
 * leaves "default" watched), then loop reserve-with-timeout 1 → delete →
 * unwrap → de-duplicate → handler. The job is deleted before the handler
 * runs (dq's at-most-once per copy). The 1 s reserve timeout bounds how
 * long sl_dq_consumer_stop() waits for a thread.
 *
 * De-duplication: a framed job's copies on several nodes share their
 * bytes, so SET sluice:dq:<md5 of the framed body> 1 NX EX <dedupe.ttl> on
 * the redis node lets exactly one copy through. A Redis failure skips that
 * copy (as dq does) and is reported. Bodies without dq framing were put by
 * other tools onto one node: they skip de-duplication (identical payloads
 * would otherwise collapse) and are handed over whole.
 *
 * Staleness: like dq, a framed job due more than 30 minutes ago is dropped
 * (and reported to the error callback with SL_ERANGE): after a long outage
 * a reminder that is half an hour late is usually worse than none.
 *
 * Each node thread owns its beanstalkd and Redis connections and
 * reconnects with backoff (100 ms doubling to 5 s) when they fail. The
 * controlling thread owns start/stop; metrics are atomics.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dq.h"
#include "netio.h"
#include "resp_client.h"

#define IO_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* dq's tolerance: jobs due longer ago than this are dropped. */
#define STALE_NS (30LL * 60 * 1000000000)

typedef struct cnode {
	struct sl_dq_consumer *c;
	dq_node_addr a;
	pthread_t th;
} cnode;

struct sl_dq_consumer {
	sl_job_handler handler;
	void *user;
	sl_job_error_cb err_cb; /* set before start; read by node threads */
	void *err_user;
	char redis[256]; /* "" = no de-duplication */
	char *redis_pass, *redis_user, *ca_file;
	bool redis_tls;
	int64_t ttl_s;

	pthread_mutex_t mu; /* guards stop; cv wakes backoff waits */
	pthread_cond_t cv;
	bool stop;
	bool running; /* controlling thread only */

	uint64_t handled, failed, handled_bytes; /* __atomic */

	int n;
	cnode nodes[DQ_MAX_NODES];
};

static bool stopping(sl_dq_consumer *c)
{
	pthread_mutex_lock(&c->mu);
	bool s = c->stop;
	pthread_mutex_unlock(&c->mu);
	return s;
}

/* Sleeps up to ms unless stop is requested first. */
static void nap(sl_dq_consumer *c, int64_t ms)
{
	struct timespec ts;
	lib_deadline_after(&ts, ms);
	pthread_mutex_lock(&c->mu);
	while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&c->mu);
}

static void report(sl_dq_consumer *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(sl_dq_consumer *c, int err, const char *fmt, ...)
{
	if (!c->err_cb)
		return;
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->err_cb(err, msg, c->err_user);
}

static sl_jobs *node_connect(cnode *cn, int *err)
{
	sl_jobs *j = lib_dq_connect(&cn->a, IO_TIMEOUT_MS);
	if (!j) {
		*err = SL_EIO;
		return NULL;
	}
	int rc = sl_jobs_watch(j, cn->a.tube);
	if (!rc && strcmp(cn->a.tube, "default"))
		rc = sl_jobs_ignore(j, "default");
	if (rc) {
		*err = rc;
		sl_jobs_close(j);
		return NULL;
	}
	return j;
}

/* De-duplicates one framed copy: true when this copy should run. */
static bool first_copy(cnode *cn, lib_resp **r, const char *body, size_t len)
{
	sl_dq_consumer *c = cn->c;
	if (!*r) {
		int err = 0;
		lib_resp_opts o = {c->redis_user, c->redis_pass, c->redis_tls, c->ca_file};
		*r = lib_resp_connect_opts(c->redis, &o, IO_TIMEOUT_MS, &err);
		if (!*r) {
			report(c, err, "%s/%s: redis %s: %s; job skipped", cn->a.endpoint,
			       cn->a.tube, c->redis, sl_last_error());
			return false;
		}
	}
	char key[64] = "sluice:dq:";
	lib_md5_hex(body, len, key + strlen(key));
	int rc = lib_resp_set_nx_ex(*r, key, "1", c->ttl_s);
	if (rc < 0) {
		report(c, rc, "%s/%s: redis %s: %s; job skipped", cn->a.endpoint, cn->a.tube,
		       c->redis, sl_last_error());
		/* Reconnect for the next job: the connection may be out of step. */
		lib_resp_close(*r);
		*r = NULL;
		return false;
	}
	return rc == 1;
}

static void process(cnode *cn, lib_resp **r, const char *body, size_t len)
{
	sl_dq_consumer *c = cn->c;
	int64_t due_ns;
	size_t pre = 0;
	bool framed = lib_dq_unwrap(body, len, &due_ns, &pre);
	if (framed) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		if (due_ns < now_ns - STALE_NS) {
			report(c, SL_ERANGE,
			       "%s/%s: job due %lld s ago dropped (more than 30 minutes late)",
			       cn->a.endpoint, cn->a.tube,
			       (long long)((now_ns - due_ns) / 1000000000));
			return;
		}
		if (c->redis[0] && !first_copy(cn, r, body, len))
			return;
	}
	int hr = c->handler(body + pre, len - pre, c->user);
	if (hr) {
		__atomic_fetch_add(&c->failed, 1, __ATOMIC_RELAXED);
		report(c, hr, "%s/%s: handler returned %d", cn->a.endpoint, cn->a.tube, hr);
	} else {
		__atomic_fetch_add(&c->handled, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&c->handled_bytes, len - pre, __ATOMIC_RELAXED);
	}
}

static void *node_main(void *arg)
{
	cnode *cn = arg;
	sl_dq_consumer *c = cn->c;
	sl_jobs *j = NULL;
	lib_resp *r = NULL;
	int64_t backoff = BACKOFF_MIN_MS;
	while (!stopping(c)) {
		if (!j) {
			int err = 0;
			if (!(j = node_connect(cn, &err))) {
				report(c, err, "%s/%s: %s; retrying in %lld ms", cn->a.endpoint,
				       cn->a.tube, sl_last_error(), (long long)backoff);
				nap(c, backoff);
				backoff =
				    backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			backoff = BACKOFF_MIN_MS;
		}
		uint64_t id;
		char *body;
		size_t len;
		int rc = sl_jobs_reserve(j, 1, &id, &body, &len);
		if (rc) {
			if (!lib_jobs_is_open(j)) {
				report(c, rc, "%s/%s: %s", cn->a.endpoint, cn->a.tube,
				       sl_last_error());
				sl_jobs_close(j);
				j = NULL;
			} else if (rc != SL_ETIMEDOUT) {
				/* DEADLINE_SOON cannot happen (jobs are deleted at once);
				 * anything else the server said is worth a report. */
				report(c, rc, "%s/%s: %s", cn->a.endpoint, cn->a.tube,
				       sl_last_error());
				nap(c, BACKOFF_MIN_MS);
			}
			continue;
		}
		rc = sl_jobs_delete(j, id);
		if (rc) {
			/* Not run: the job goes back to ready when its TTR ends or the
			 * connection closes, and is reserved again. */
			report(c, rc, "%s/%s: delete %llu: %s", cn->a.endpoint, cn->a.tube,
			       (unsigned long long)id, sl_last_error());
			free(body);
			if (!lib_jobs_is_open(j)) {
				sl_jobs_close(j);
				j = NULL;
			}
			continue;
		}
		process(cn, &r, body, len);
		free(body);
	}
	sl_jobs_close(j);
	lib_resp_close(r);
	return NULL;
}

sl_dq_consumer *sl_dq_consumer_new(const sl_conf *conf, sl_job_handler handler, void *user)
{
	if (!conf || !handler) {
		lib_err(SL_EINVAL, "sl_dq_consumer_new: NULL argument");
		return NULL;
	}
	sl_dq_consumer *c = calloc(1, sizeof *c);
	if (!c) {
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	dq_node_addr addrs[DQ_MAX_NODES];
	int n = lib_dq_nodes(conf, addrs, DQ_MAX_NODES);
	if (n < 0) {
		free(c);
		return NULL;
	}
	const char *redis = lib_conf_str(conf, "redis");
	char host[256];
	int port;
	if (*redis &&
	    (strlen(redis) >= sizeof c->redis || lib_net_split(redis, host, sizeof host, &port))) {
		free(c);
		lib_err(SL_ECONF, "redis: \"%.200s\": expected host:port or \"\"", redis);
		return NULL;
	}
	snprintf(c->redis, sizeof c->redis, "%s", redis);
	c->redis_tls = lib_conf_bool(conf, "redis.tls");
	c->redis_pass = strdup(lib_conf_str(conf, "redis.password"));
	c->redis_user = strdup(lib_conf_str(conf, "redis.user"));
	c->ca_file = strdup(lib_conf_str(conf, "ca.file"));
	if (!c->redis_pass || !c->redis_user || !c->ca_file) {
		free(c->redis_pass);
		free(c->redis_user);
		free(c->ca_file);
		free(c);
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	c->ttl_s = lib_conf_int(conf, "dedupe.ttl");
	c->handler = handler;
	c->user = user;
	c->n = n;
	for (int i = 0; i < n; i++) {
		c->nodes[i].c = c;
		c->nodes[i].a = addrs[i];
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void sl_dq_consumer_set_error_cb(sl_dq_consumer *c, sl_job_error_cb cb, void *user)
{
	if (!c || c->running)
		return;
	c->err_cb = cb;
	c->err_user = user;
}

static void join_all(sl_dq_consumer *c, int started)
{
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < started; i++)
		pthread_join(c->nodes[i].th, NULL);
}

int sl_dq_consumer_start(sl_dq_consumer *c)
{
	if (!c)
		return lib_err(SL_EINVAL, "sl_dq_consumer_start: NULL consumer");
	if (c->running)
		return lib_err(SL_ESTATE, "sl_dq_consumer_start: already running");
	c->stop = false;
	for (int i = 0; i < c->n; i++) {
		if (pthread_create(&c->nodes[i].th, NULL, node_main, &c->nodes[i])) {
			join_all(c, i);
			return lib_err(SL_ENOMEM, "sl_dq_consumer_start: cannot start a thread");
		}
	}
	c->running = true;
	return 0;
}

int sl_dq_consumer_stop(sl_dq_consumer *c)
{
	if (!c)
		return lib_err(SL_EINVAL, "sl_dq_consumer_stop: NULL consumer");
	if (!c->running)
		return lib_err(SL_ESTATE, "sl_dq_consumer_stop: not running");
	join_all(c, c->n);
	c->running = false;
	return 0;
}

void sl_dq_consumer_free(sl_dq_consumer *c)
{
	if (!c)
		return;
	if (c->running)
		sl_dq_consumer_stop(c);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c->redis_pass);
	free(c->redis_user);
	free(c->ca_file);
	free(c);
}

void sl_dq_consumer_metrics(const sl_dq_consumer *c, sl_metrics *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof *out);
	if (!c)
		return;
	out->handled = __atomic_load_n(&c->handled, __ATOMIC_RELAXED);
	out->failed = __atomic_load_n(&c->failed, __ATOMIC_RELAXED);
	out->handled_bytes = __atomic_load_n(&c->handled_bytes, __ATOMIC_RELAXED);
}
