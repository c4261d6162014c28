/*
 * api_bstk.c — the admin API's beanstalkd side: tubes with their job
 * counts, peeking, pause/unpause, kick, and single jobs (show, kick,
 * delete) (docs/http-api.md).
 *
 * Actions are the jobs model's own calls, the ones pause-tube, kick,
 * kick-job and delete make (jobs_pause, jobs_kick, jobs_kick_job,
 * jobs_delete), so they journal themselves and refuse a change the disk
 * cannot take. Their replies go through the jobs' durability domain:
 * under fsync=always they leave once the change is on disk; a change that
 * could not be made durable is a 503. As in beanstalkd, a job reserved by
 * a worker cannot be deleted by anyone else (409).
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/dur.h"
#include "broker/job.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_SHOWN 4096

static jobs_t *jobs(http_req_t *r)
{
	jobs_t *s = r->h->b->jobs;
	if (!s)
		http_error(r, 503, "the beanstalkd jobs are not open");
	return s;
}

static void tube_json(buf_t *b, tube_t *t, int64_t now)
{
	int paused = tube_paused(t, now);
	int64_t left = paused ? (t->unpause_at - now) / NS_PER_SEC : 0;
	buf_puts(b, "{\"name\":");
	json_strn(b, t->name, t->name_len);
	buf_printf(b,
	           ",\"ready\":%zu,\"urgent\":%llu,\"reserved\":%llu,\"delayed\":%zu,"
	           "\"buried\":%zu,\"total_jobs\":%llu,\"using\":%u,\"watching\":%u,"
	           "\"waiting\":%zu,\"paused\":%s,\"pause_s\":%lld,\"pause_left_s\":%lld}",
	           t->ready.n, (unsigned long long)t->urgent_n, (unsigned long long)t->reserved_n,
	           t->delay.n, t->buried_n, (unsigned long long)t->total_jobs, t->using_n,
	           t->watching_n, t->nwaiters, paused ? "true" : "false",
	           (long long)(t->pause_ns / NS_PER_SEC), (long long)(left > 0 ? left : 0));
}

void api_tubes_list(http_req_t *r)
{
	jobs_t *s = jobs(r);
	if (!s)
		return;
	int64_t now = jobs_now();
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"tubes\":[");
	for (size_t i = 0; i < s->tubes.n; i++) {
		if (i)
			buf_puts(&b, ",");
		tube_json(&b, s->tubes.v[i], now);
	}
	buf_puts(&b, "]}\n");
	http_json(r, 200, &b);
	buf_deinit(&b);
}

static void job_json(buf_t *b, const job_t *j, int64_t now)
{
	if (!j) {
		buf_puts(b, "null");
		return;
	}
	int64_t left = (j->state == JOB_RESERVED || j->state == JOB_DELAYED)
	                   ? (j->deadline_ns - now) / NS_PER_SEC
	                   : 0;
	size_t n = j->body_len - 2, shown = n < BODY_SHOWN ? n : BODY_SHOWN;
	buf_printf(b, "{\"id\":%llu,\"tube\":", (unsigned long long)j->id);
	json_strn(b, j->tube->name, j->tube->name_len);
	buf_printf(b,
	           ",\"state\":\"%s\",\"pri\":%u,\"age_s\":%lld,\"delay_s\":%lld,\"ttr_s\":%lld,"
	           "\"time_left_s\":%lld,\"reserves\":%u,\"timeouts\":%u,\"releases\":%u,"
	           "\"buries\":%u,\"kicks\":%u,\"size\":%zu,\"body\":",
	           job_state_names[j->state], j->pri,
	           (long long)((now - j->created_ns) / NS_PER_SEC),
	           (long long)(j->delay_ns / NS_PER_SEC), (long long)(j->ttr_ns / NS_PER_SEC),
	           (long long)(left > 0 ? left : 0), j->reserves, j->timeouts, j->releases,
	           j->buries, j->kicks, n);
	if (json_utf8_ok(j->body, shown))
		json_strn(b, (const char *)j->body, shown);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"body_b64\":");
	json_b64(b, j->body, shown);
	buf_printf(b, ",\"truncated\":%s}", shown < n ? "true" : "false");
}

static tube_t *find_tube(http_req_t *r, jobs_t *s)
{
	const char *name = r->seg[3];
	tube_t *t =
	    tube_name_valid(name, strlen(name)) ? tube_find(&s->tubes, name, strlen(name)) : NULL;
	if (!t)
		http_error(r, 404, "no tube %s", name);
	return t;
}

void api_tube_get(http_req_t *r)
{
	jobs_t *s = jobs(r);
	tube_t *t;
	if (!s || !(t = find_tube(r, s)))
		return;
	int64_t now = jobs_now();
	buf_t b = BUF_INIT;
	tube_json(&b, t, now);
	b.end--; /* reopen the object */
	buf_puts(&b, ",\"peek\":{\"ready\":");
	job_json(&b, jobs_peek_ready(t), now);
	buf_puts(&b, ",\"delayed\":");
	job_json(&b, jobs_peek_delayed(t), now);
	buf_puts(&b, ",\"buried\":");
	job_json(&b, jobs_peek_buried(t), now);
	buf_puts(&b, "}}\n");
	http_json(r, 200, &b);
	buf_deinit(&b);
}

void api_tube_pause(http_req_t *r)
{
	jobs_t *s = jobs(r);
	tube_t *t;
	if (!s || !(t = find_tube(r, s)))
		return;
	jv_t *body = api_body(r);
	if (!body)
		return;
	int64_t secs = -1;
	if (json_get_int(body, "seconds", &secs) != 1 || secs < 0 || secs > UINT32_MAX) {
		http_error(r, 400, "seconds: an integer from 0 (unpause) to %u is required",
		           UINT32_MAX);
		goto out;
	}
	int rc = jobs_pause(s, t->name, t->name_len, secs * NS_PER_SEC);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot pause %s: %s", t->name, sl_strerror(rc));
		goto out;
	}
	log_info(r->h->b->log, "http: %s %s tube %s", r->c->peer, secs ? "paused" : "unpaused",
	         t->name);
	buf_t b = BUF_INIT;
	tube_json(&b, t, jobs_now());
	buf_puts(&b, "\n");
	http_json_durable(r, s->dur, 0, 200, &b);
	buf_deinit(&b);
out:
	json_free(body);
}

void api_tube_kick(http_req_t *r)
{
	jobs_t *s = jobs(r);
	tube_t *t;
	if (!s || !(t = find_tube(r, s)))
		return;
	jv_t *body = api_body(r);
	if (!body)
		return;
	int64_t bound = 1;
	if (json_get_int(body, "bound", &bound) < 0 || bound < 1 || bound > UINT32_MAX) {
		http_error(r, 400, "bound must be an integer from 1 to %u", UINT32_MAX);
		goto out;
	}
	long n = jobs_kick(s, t, (uint32_t)bound);
	if (n < 0) {
		http_error(r, http_status_of((int)n), "cannot kick: %s", sl_strerror((int)n));
		goto out;
	}
	log_info(r->h->b->log, "http: %s kicked %ld jobs in tube %s", r->c->peer, n, t->name);
	buf_t b = BUF_INIT;
	buf_printf(&b, "{\"kicked\":%ld}\n", n);
	http_json_durable(r, s->dur, 0, 200, &b);
	buf_deinit(&b);
out:
	json_free(body);
}

static job_t *find_job(http_req_t *r, jobs_t *s, uint64_t *id)
{
	char *e;
	*id = strtoull(r->seg[3], &e, 10);
	if (!r->seg[3][0] || *e) {
		http_error(r, 400, "a job id is a number");
		return NULL;
	}
	job_t *j = jobs_find(s, *id);
	if (!j)
		http_error(r, 404, "no job %s", r->seg[3]);
	return j;
}

void api_job_get(http_req_t *r)
{
	jobs_t *s = jobs(r);
	uint64_t id;
	job_t *j;
	if (!s || !(j = find_job(r, s, &id)))
		return;
	buf_t b = BUF_INIT;
	job_json(&b, j, jobs_now());
	buf_puts(&b, "\n");
	http_json(r, 200, &b);
	buf_deinit(&b);
}

void api_job_delete(http_req_t *r)
{
	jobs_t *s = jobs(r);
	uint64_t id;
	job_t *j;
	if (!s || !(j = find_job(r, s, &id)))
		return;
	if (j->state == JOB_RESERVED) {
		http_error(r, 409, "job %llu is reserved by a worker", (unsigned long long)id);
		return;
	}
	int rc = jobs_delete(s, NULL, id);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot delete job %llu: %s",
		           (unsigned long long)id, sl_strerror(rc));
		return;
	}
	log_info(r->h->b->log, "http: %s deleted job %llu", r->c->peer, (unsigned long long)id);
	buf_t b = BUF_INIT;
	buf_printf(&b, "{\"deleted\":%llu}\n", (unsigned long long)id);
	http_json_durable(r, s->dur, 0, 200, &b);
	buf_deinit(&b);
}

void api_job_kick(http_req_t *r)
{
	jobs_t *s = jobs(r);
	uint64_t id;
	job_t *j;
	if (!s || !(j = find_job(r, s, &id)))
		return;
	if (j->state != JOB_BURIED && j->state != JOB_DELAYED) {
		http_error(r, 409, "job %llu is %s: only buried or delayed jobs can be kicked",
		           (unsigned long long)id, job_state_names[j->state]);
		return;
	}
	int rc = jobs_kick_job(s, id);
	if (rc < 0) {
		http_error(r, http_status_of(rc), "cannot kick job %llu: %s",
		           (unsigned long long)id, sl_strerror(rc));
		return;
	}
	log_info(r->h->b->log, "http: %s kicked job %llu", r->c->peer, (unsigned long long)id);
	buf_t b = BUF_INIT;
	job_json(&b, jobs_find(s, id), jobs_now());
	buf_puts(&b, "\n");
	http_json_durable(r, s->dur, 0, 200, &b);
	buf_deinit(&b);
}
