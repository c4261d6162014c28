/*
 * delay_check.c — drives the delay queue (sl_dq_producer, sl_dq_consumer)
 * for tests/integration/test_lib_delay.py. Every mode prints what it saw
 * and exits 0 only when its checks held.
 *
 *   delay_check schedule BEANSTALKS REDIS
 *       delay 1 s, at now+1.5 s, a revoked job, a job due now, at in the
 *       past, revoke of a consumed job, id format; each job handled once.
 * REDIS is host:port, "password@host:port" or "" (no de-duplication).
 *
 *   delay_check copies BEANSTALKS REDIS COUNT COPIES
 *       COUNT jobs written to every node; after the consumer drained all
 *       nodes each job was handled exactly COPIES times (1 with redis).
 *   delay_check nodedown BEANSTALKS
 *       producer on all nodes, prints "READY", waits for a line on stdin
 *       (the test stops a node meanwhile), then a put must fail and leave
 *       no job on the node still up (the first one).
 *   delay_check consume BEANSTALKS REDIS COUNT
 *       prints each handled body as "job <len> <body>" and each error
 *       callback as "error <code> <text>" until COUNT jobs were handled.
 *   delay_check produce BEANSTALKS DELAY_MS BODY
 *       puts one job and prints its id.
 *   delay_check parallel BEANSTALKS
 *       4 threads share one producer, 25 jobs each: every node then holds
 *       100 jobs and the 100 ids are distinct.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice/sluice.h"

#define MAX_SEEN 1024

typedef struct seen {
	pthread_mutex_t mu;
	int n;
	char body[MAX_SEEN][64];
	int64_t at_ms[MAX_SEEN]; /* wall clock when handled */
	bool print;
	int errors;
} seen;

static int failures;

#define EXPECT(cond, ...)                           \
	do {                                        \
		if (!(cond)) {                      \
			printf("FAIL %s: ", #cond); \
			printf(__VA_ARGS__);        \
			printf("\n");               \
			failures++;                 \
		}                                   \
	} while (0)

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int handler(const void *body, size_t len, void *user)
{
	seen *s = user;
	pthread_mutex_lock(&s->mu);
	if (s->n < MAX_SEEN) {
		snprintf(s->body[s->n], sizeof s->body[0], "%.*s", (int)len, (const char *)body);
		s->at_ms[s->n] = wall_ms();
		s->n++;
	}
	if (s->print) {
		printf("job %zu %.*s\n", len, (int)len, (const char *)body);
		fflush(stdout);
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

static void on_error(int err, const char *reason, void *user)
{
	seen *s = user;
	pthread_mutex_lock(&s->mu);
	s->errors++;
	printf("error %d %s\n", err, reason);
	fflush(stdout);
	pthread_mutex_unlock(&s->mu);
}

static int count_of(seen *s, const char *body, int64_t *at)
{
	int c = 0;
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n; i++) {
		if (!strcmp(s->body[i], body)) {
			c++;
			if (at)
				*at = s->at_ms[i];
		}
	}
	pthread_mutex_unlock(&s->mu);
	return c;
}

static int total(seen *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Polls until the bodies are all handled or deadline (wall ms) passes. */
static bool wait_for(seen *s, const char *const *bodies, int64_t deadline)
{
	for (;;) {
		bool all = true;
		for (int i = 0; bodies[i]; i++)
			all = all && count_of(s, bodies[i], NULL) > 0;
		if (all)
			return true;
		if (wall_ms() > deadline)
			return false;
		nap_ms(20);
	}
}

static sl_conf *make_conf(const char *beanstalks, const char *redis)
{
	sl_conf *c = sl_conf_new();
	/* REDIS may be "password@host:port". */
	const char *at = redis ? strrchr(redis, '@') : NULL;
	char pass[256] = "";
	if (at)
		snprintf(pass, sizeof pass, "%.*s", (int)(at - redis), redis);
	if (!c || sl_conf_set(c, "beanstalks", beanstalks) ||
	    sl_conf_set(c, "redis",
	                at      ? at + 1
	                : redis ? redis
	                        : "") ||
	    sl_conf_set(c, "redis.password", pass)) {
		fprintf(stderr, "conf: %s\n", sl_last_error());
		exit(2);
	}
	/* DELAY_CHECK_CONF: more "key=value" settings, ';'-separated (TLS, the
	 * Redis user), as a go-zero config would carry them. */
	const char *more = getenv("DELAY_CHECK_CONF");
	char buf[2048];
	snprintf(buf, sizeof buf, "%s", more ? more : "");
	for (char *save = NULL, *kv = strtok_r(buf, ";", &save); kv;
	     kv = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || (*eq = 0, sl_conf_set(c, kv, eq + 1))) {
			fprintf(stderr, "conf: DELAY_CHECK_CONF: %s\n", sl_last_error());
			exit(2);
		}
	}
	return c;
}

static sl_dq_consumer *start_consumer(sl_conf *c, seen *s)
{
	sl_dq_consumer *dc = sl_dq_consumer_new(c, handler, s);
	if (!dc) {
		fprintf(stderr, "consumer: %s\n", sl_last_error());
		exit(2);
	}
	sl_dq_consumer_set_error_cb(dc, on_error, s);
	if (sl_dq_consumer_start(dc)) {
		fprintf(stderr, "start: %s\n", sl_last_error());
		exit(2);
	}
	return dc;
}

/* Jobs of a tube on one node that could still run (ready, reserved,
 * delayed); -1 on error. */
static long live_jobs(const char *endpoint, const char *tube, long *total_jobs)
{
	sl_jobs *j = sl_jobs_connect(endpoint, 3000);
	if (!j)
		return -1;
	char *yaml = NULL;
	int rc = sl_jobs_stats_tube(j, tube, &yaml);
	sl_jobs_close(j);
	if (rc == SL_ENOENT) {
		if (total_jobs)
			*total_jobs = 0;
		return 0;
	}
	if (rc)
		return -1;
	long n = 0;
	static const char *const keys[] = {
	    "current-jobs-ready: ", "current-jobs-reserved: ", "current-jobs-delayed: "};
	for (int i = 0; i < 3; i++) {
		const char *p = strstr(yaml, keys[i]);
		if (p)
			n += atol(p + strlen(keys[i]));
	}
	const char *t = strstr(yaml, "total-jobs: ");
	if (total_jobs)
		*total_jobs = t ? atol(t + 12) : -1;
	free(yaml);
	return n;
}

/* "endpoint/tube" of the i-th item of a beanstalks list. */
static void node_of(const char *list, int i, char *endpoint, char *tube)
{
	const char *p = list;
	for (; i > 0 && p; i--) {
		p = strchr(p, ',');
		if (p)
			p++;
	}
	size_t n = p ? strcspn(p, ",") : 0;
	char item[300];
	snprintf(item, sizeof item, "%.*s", (int)n, p ? p : "");
	char *slash = strchr(item, '/');
	snprintf(tube, 204, "%.203s", slash ? slash + 1 : "default");
	if (slash)
		*slash = '\0';
	snprintf(endpoint, 256, "%.255s", item);
}

static bool id_names(const char *id, const char *endpoint, const char *tube)
{
	char want[512];
	snprintf(want, sizeof want, "%s/%s/", endpoint, tube);
	const char *p = strstr(id, want);
	if (!p || (p != id && p[-1] != ','))
		return false;
	p += strlen(want);
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0' || *p == ',';
}

static int mode_schedule(const char *beanstalks, const char *redis)
{
	sl_conf *c = make_conf(beanstalks, redis);
	seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	sl_dq_consumer *dc = start_consumer(c, &s);
	sl_dq_producer *p = sl_dq_producer_new(c);
	if (!p) {
		fprintf(stderr, "producer: %s\n", sl_last_error());
		return 2;
	}
	char endpoint[256], tube[204];
	node_of(beanstalks, 0, endpoint, tube);
	char ida[1024], idb[1024], idc[1024], idd[1024];
	int64_t t0 = wall_ms();
	EXPECT(sl_delay(p, "A", 1, 1000, ida, sizeof ida) == 0, "%s", sl_last_error());
	int64_t when = wall_ms() + 1500;
	EXPECT(sl_at(p, "B", 1, when, idb, sizeof idb) == 0, "%s", sl_last_error());
	EXPECT(sl_delay(p, "C", 1, 2000, idc, sizeof idc) == 0, "%s", sl_last_error());
	EXPECT(sl_delay(p, "D", 1, 0, idd, sizeof idd) == 0, "%s", sl_last_error());
	int64_t c_due = wall_ms() + 2000;
	printf("id A %s\n", ida);
	EXPECT(id_names(ida, endpoint, tube), "id %s does not name %s/%s", ida, endpoint, tube);
	EXPECT(strchr(ida, ',') == NULL, "one node, one copy: %s", ida);
	EXPECT(sl_revoke(p, idc) == 0, "revoke C: %s", sl_last_error());
	EXPECT(sl_revoke(p, idc) == SL_ENOENT, "second revoke of C");
	char idx[64];
	EXPECT(sl_at(p, "E", 1, wall_ms() - 1000, idx, sizeof idx) == SL_EINVAL, "at in the past");
	EXPECT(sl_delay(p, "E", 1, -5, idx, sizeof idx) == SL_EINVAL, "negative delay");
	EXPECT(sl_revoke(p, "garbage") == SL_EINVAL, "malformed id");
	EXPECT(sl_revoke(p, "") == SL_EINVAL, "empty id");
	EXPECT(sl_revoke(p, "10.0.0.1:1/x/5") == SL_ENOENT, "id of another node");

	static const char *const abd[] = {"A", "B", "D", NULL};
	EXPECT(wait_for(&s, abd, t0 + 8000), "A, B and D handled within 8 s");
	int64_t at_a = 0, at_b = 0, at_d = 0;
	count_of(&s, "A", &at_a);
	count_of(&s, "B", &at_b);
	count_of(&s, "D", &at_d);
	printf("A after %lld ms, B after %lld ms (due %lld), D after %lld ms\n",
	       (long long)(at_a - t0), (long long)(at_b - t0), (long long)(when - t0),
	       (long long)(at_d - t0));
	EXPECT(at_a - t0 >= 950, "A ran early: %lld ms", (long long)(at_a - t0));
	EXPECT(at_a - t0 <= 4000, "A ran late: %lld ms", (long long)(at_a - t0));
	EXPECT(at_b >= when - 50, "B ran before its time");
	EXPECT(at_b - when <= 3000, "B ran late");
	EXPECT(at_d - t0 <= 3000, "D ran late");
	EXPECT(sl_revoke(p, idd) == SL_ENOENT, "revoke of a consumed job: %s", sl_last_error());

	/* C was revoked: it must not run by its due time plus a margin. */
	while (wall_ms() < c_due + 1200 && count_of(&s, "C", NULL) == 0)
		nap_ms(50);
	EXPECT(sl_dq_consumer_stop(dc) == 0, "stop");
	EXPECT(count_of(&s, "C", NULL) == 0, "revoked job ran");
	EXPECT(count_of(&s, "A", NULL) == 1 && count_of(&s, "B", NULL) == 1 &&
	           count_of(&s, "D", NULL) == 1,
	       "each job once");
	sl_metrics m;
	sl_dq_consumer_metrics(dc, &m);
	EXPECT(m.handled == 3 && m.handled_bytes == 3, "metrics handled=%llu",
	       (unsigned long long)m.handled);
	EXPECT(total(&s) == 3, "handled %d jobs", total(&s));
	sl_dq_consumer_free(dc);
	sl_dq_producer_free(p);
	sl_conf_free(c);
	return failures ? 1 : 0;
}

static int mode_copies(const char *beanstalks, const char *redis, int count, int copies)
{
	sl_conf *c = make_conf(beanstalks, redis);
	seen s = {.mu = PTHREAD_MUTEX_INITIALIZER};
	sl_dq_producer *p = sl_dq_producer_new(c);
	if (!p) {
		fprintf(stderr, "producer: %s\n", sl_last_error());
		return 2;
	}
	int nodes = 1;
	for (const char *q = beanstalks; (q = strchr(q, ',')); q++)
		nodes++;
	char endpoint[256], tube[204];
	for (int i = 0; i < count; i++) {
		char body[32], id[1024];
		snprintf(body, sizeof body, "job-%d", i);
		/* Every fourth job waits a second, the rest are due now. */
		EXPECT(sl_delay(p, body, strlen(body), i % 4 == 3 ? 1000 : 0, id, sizeof id) == 0,
		       "%s", sl_last_error());
		for (int k = 0; k < nodes; k++) {
			node_of(beanstalks, k, endpoint, tube);
			EXPECT(id_names(id, endpoint, tube), "id %s lacks node %d", id, k);
		}
		if (i == 0)
			printf("id %s\n", id);
	}
	/* Every node holds a copy of every job before anyone consumes. */
	for (int k = 0; k < nodes; k++) {
		node_of(beanstalks, k, endpoint, tube);
		long live = live_jobs(endpoint, tube, NULL);
		EXPECT(live == count, "node %s holds %ld jobs, want %d", endpoint, live, count);
	}
	sl_dq_consumer *dc = start_consumer(c, &s);
	int64_t deadline = wall_ms() + 10000;
	while (total(&s) < count * copies && wall_ms() < deadline)
		nap_ms(20);
	/* Drained: no node has a job left, so every copy was taken. */
	for (;;) {
		long left = 0;
		for (int k = 0; k < nodes; k++) {
			node_of(beanstalks, k, endpoint, tube);
			long live = live_jobs(endpoint, tube, NULL);
			left += live < 0 ? 1 : live;
		}
		if (left == 0 || wall_ms() > deadline)
			break;
		nap_ms(20);
	}
	/* stop lets a copy being processed finish, so counts are final. */
	EXPECT(sl_dq_consumer_stop(dc) == 0, "stop");
	for (int i = 0; i < count; i++) {
		char body[32];
		snprintf(body, sizeof body, "job-%d", i);
		int n = count_of(&s, body, NULL);
		EXPECT(n == copies, "%s handled %d times, want %d", body, n, copies);
	}
	EXPECT(total(&s) == count * copies, "handled %d", total(&s));
	printf("handled %d\n", total(&s));
	sl_dq_consumer_free(dc);
	sl_dq_producer_free(p);
	sl_conf_free(c);
	return failures ? 1 : 0;
}

static int mode_nodedown(const char *beanstalks)
{
	sl_conf *c = make_conf(beanstalks, "");
	sl_dq_producer *p = sl_dq_producer_new(c);
	if (!p) {
		fprintf(stderr, "producer: %s\n", sl_last_error());
		return 2;
	}
	printf("READY\n");
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof line, stdin))
		return 2;
	char id[1024] = "untouched";
	int rc = sl_delay(p, "lost", 4, 5000, id, sizeof id);
	printf("delay: %d %s\n", rc, sl_last_error());
	EXPECT(rc < 0, "a put with one of two nodes down must fail");
	EXPECT(strstr(sl_last_error(), "1 of 2 nodes accepted"), "message names the count");
	char endpoint[256], tube[204];
	node_of(beanstalks, 0, endpoint, tube);
	long total_jobs = -1;
	long live = live_jobs(endpoint, tube, &total_jobs);
	printf("live node: %ld jobs left, %ld put\n", live, total_jobs);
	EXPECT(live == 0, "the accepted copy was deleted again");
	EXPECT(total_jobs == 1, "the live node did accept the copy first");
	/* A single-node producer cannot start while its node is down. */
	node_of(beanstalks, 1, endpoint, tube);
	char one[512];
	snprintf(one, sizeof one, "%s/%s", endpoint, tube);
	sl_conf *c1 = make_conf(one, "");
	EXPECT(sl_dq_producer_new(c1) == NULL, "producer on a dead node");
	sl_conf_free(c1);
	sl_dq_producer_free(p);
	sl_conf_free(c);
	return failures ? 1 : 0;
}

static int mode_consume(const char *beanstalks, const char *redis, int count)
{
	sl_conf *c = make_conf(beanstalks, redis);
	seen s = {.mu = PTHREAD_MUTEX_INITIALIZER, .print = true};
	sl_dq_consumer *dc = start_consumer(c, &s);
	int64_t deadline = wall_ms() + 10000;
	while (total(&s) < count && wall_ms() < deadline)
		nap_ms(20);
	EXPECT(sl_dq_consumer_stop(dc) == 0, "stop");
	EXPECT(total(&s) == count, "handled %d of %d", total(&s), count);
	sl_dq_consumer_free(dc);
	sl_conf_free(c);
	return failures ? 1 : 0;
}

static int mode_produce(const char *beanstalks, const char *delay_ms, const char *body)
{
	sl_conf *c = make_conf(beanstalks, "");
	sl_dq_producer *p = sl_dq_producer_new(c);
	if (!p) {
		fprintf(stderr, "producer: %s\n", sl_last_error());
		sl_conf_free(c);
		return 2;
	}
	char id[1024];
	int rc = sl_delay(p, body, strlen(body), atoll(delay_ms), id, sizeof id);
	if (rc)
		fprintf(stderr, "delay: %s\n", sl_last_error());
	else
		printf("%s\n", id);
	sl_dq_producer_free(p);
	sl_conf_free(c);
	return rc ? 1 : 0;
}

#define PAR_THREADS 4
#define PAR_JOBS 25

typedef struct par {
	sl_dq_producer *p;
	int t;
	char ids[PAR_JOBS][256];
	int errors;
} par;

static void *par_main(void *arg)
{
	par *w = arg;
	for (int i = 0; i < PAR_JOBS; i++) {
		char body[32];
		snprintf(body, sizeof body, "t%d-%d", w->t, i);
		if (sl_delay(w->p, body, strlen(body), 60000, w->ids[i], sizeof w->ids[i]))
			w->errors++;
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int mode_parallel(const char *beanstalks)
{
	sl_conf *c = make_conf(beanstalks, "");
	sl_dq_producer *p = sl_dq_producer_new(c);
	if (!p) {
		fprintf(stderr, "producer: %s\n", sl_last_error());
		return 2;
	}
	static par w[PAR_THREADS];
	pthread_t th[PAR_THREADS];
	for (int t = 0; t < PAR_THREADS; t++) {
		w[t].p = p;
		w[t].t = t;
		if (pthread_create(&th[t], NULL, par_main, &w[t]))
			return 2;
	}
	static char all[PAR_THREADS * PAR_JOBS][256];
	int n = 0;
	for (int t = 0; t < PAR_THREADS; t++) {
		pthread_join(th[t], NULL);
		EXPECT(w[t].errors == 0, "thread %d: %d failed puts", t, w[t].errors);
		for (int i = 0; i < PAR_JOBS; i++)
			memcpy(all[n++], w[t].ids[i], 256);
	}
	qsort(all, (size_t)n, sizeof all[0], cmp_str);
	for (int i = 1; i < n; i++)
		EXPECT(strcmp(all[i - 1], all[i]), "id %s twice", all[i]);
	int nodes = 1;
	for (const char *q = beanstalks; (q = strchr(q, ',')); q++)
		nodes++;
	for (int k = 0; k < nodes; k++) {
		char endpoint[256], tube[204];
		node_of(beanstalks, k, endpoint, tube);
		long live = live_jobs(endpoint, tube, NULL);
		EXPECT(live == n, "node %s holds %ld jobs, want %d", endpoint, live, n);
	}
	printf("%d jobs from %d threads\n", n, PAR_THREADS);
	sl_dq_producer_free(p);
	sl_conf_free(c);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "schedule"))
		return mode_schedule(argv[2], argv[3]);
	if (argc >= 6 && !strcmp(argv[1], "copies"))
		return mode_copies(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (argc >= 3 && !strcmp(argv[1], "nodedown"))
		return mode_nodedown(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "consume"))
		return mode_consume(argv[2], argv[3], atoi(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "produce"))
		return mode_produce(argv[2], argv[3], argv[4]);
	if (argc >= 3 && !strcmp(argv[1], "parallel"))
		return mode_parallel(argv[2]);
	fprintf(stderr, "usage: see the comment at the top of delay_check.c\n");
	return 2;
}
