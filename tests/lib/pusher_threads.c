/*
 * pusher_threads.c — one sl_pusher shared by several pushing threads
 * while another reads its metrics, for test_lib_pusher.py.
 *
 *   pusher_threads BROKERS TOPIC THREADS PER_THREAD [progress=N] [plain=1]
 *                  [key=value]...
 *
 * progress=N: thread 0 prints {"at":I} after each N of its pushes (so a
 * test can tell how far pushing got while the broker is stopped).
 * Each thread pushes PER_THREAD messages "T:I" (key T, value I) and
 * passes a per-message opaque; the delivery callback checks it got back
 * every opaque exactly once. plain=1 (one thread, one partition) pushes
 * with sl_push_key instead, without an opaque: the reports then come in
 * push order, which identifies them.
 * Each report's latency_us must match the time from that push's call to
 * the callback (within LAT_SLACK_US; a push that blocked on a full queue
 * included). Prints {"pushed":N,"callbacks":N,"push_failed":N,
 * "bad_latency":N,"max_latency_us":N,"seconds":S} and exits 0 only if
 * every push returned 0, the close returned 0, pushed == callbacks ==
 * THREADS * PER_THREAD, no opaque came back twice or not at all and every
 * latency matched.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice/sluice.h"

/* How far a reported latency may fall short of push call to callback:
 * the push's own work before librdkafka takes the message, and the
 * callback's before it reads the clock (generous: a loaded machine under
 * ASan). A blocked push waits far longer than this. */
#define LAT_SLACK_US 250000

typedef struct run {
	sl_pusher *p;
	int per_thread;
	int nthreads;
	int progress;
	bool plain;
	atomic_uchar *seen;         /* one per message: delivery reports received */
	atomic_int_fast64_t *t0_us; /* one per message: when its push was called */
	atomic_long callbacks;
	atomic_long bad_latency;
	atomic_int_fast64_t max_latency;
	atomic_long bad; /* push errors, duplicate or foreign opaques */
	atomic_bool done;
} run;

typedef struct worker {
	run *r;
	int id;
} worker;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_delivery(const sl_delivery *d, void *user)
{
	run *r = user;
	int64_t now = now_us();
	/* plain: the reports of one partition come in push order. */
	intptr_t i = r->plain ? (intptr_t)atomic_load(&r->callbacks) : (intptr_t)d->msg_opaque;
	atomic_fetch_add(&r->callbacks, 1);
	if (d->err || i < 0 || i >= (intptr_t)r->nthreads * r->per_thread ||
	    atomic_fetch_add(&r->seen[i], 1) != 0) {
		atomic_fetch_add(&r->bad, 1);
		return;
	}
	int64_t span = now - atomic_load(&r->t0_us[i]);
	if (d->latency_us < 0 || d->latency_us > span + 1000 || d->latency_us < span - LAT_SLACK_US)
		atomic_fetch_add(&r->bad_latency, 1);
	int64_t m = atomic_load(&r->max_latency);
	while (d->latency_us > m &&
	       !atomic_compare_exchange_weak(&r->max_latency, &m, d->latency_us))
		;
}

static void *pushing(void *arg)
{
	worker *w = arg;
	run *r = w->r;
	char key[16], val[32];
	for (int i = 0; i < r->per_thread; i++) {
		int kl = snprintf(key, sizeof key, "t%d", w->id);
		int vl = snprintf(val, sizeof val, "%d", i);
		sl_out_message m = {.key = key,
		                    .key_len = (size_t)kl,
		                    .value = val,
		                    .value_len = (size_t)vl,
		                    .partition = -1};
		intptr_t id = (intptr_t)w->id * r->per_thread + i;
		atomic_store(&r->t0_us[id], now_us());
		int rc = r->plain ? sl_push_key(r->p, key, (size_t)kl, val, (size_t)vl)
		                  : sl_push_msg_opaque(r->p, &m, (void *)id);
		if (rc != 0)
			atomic_fetch_add(&r->bad, 1);
		if (w->id == 0 && r->progress && (i + 1) % r->progress == 0) {
			printf("{\"at\":%d}\n", i + 1);
			fflush(stdout);
		}
	}
	return NULL;
}

/* Reads the metrics while the others push: they must never go down. */
static void *watching(void *arg)
{
	run *r = arg;
	uint64_t last = 0;
	while (!atomic_load(&r->done)) {
		sl_metrics m;
		sl_pusher_metrics(r->p, &m);
		if (m.pushed < last)
			atomic_fetch_add(&r->bad, 1);
		last = m.pushed;
		sched_yield();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	run r = {.nthreads = atoi(argv[3]), .per_thread = atoi(argv[4])};
	if (r.nthreads < 1 || r.nthreads > 64 || r.per_thread < 1)
		return 2;
	sl_conf *c = sl_conf_new();
	if (!c || sl_conf_set(c, "brokers", argv[1]) || sl_conf_set(c, "topic", argv[2]))
		return 2;
	for (int i = 5; i < argc; i++) {
		char kv[256];
		snprintf(kv, sizeof kv, "%s", argv[i]);
		char *eq = strchr(kv, '=');
		if (!eq)
			return 2;
		*eq = '\0';
		if (!strcmp(kv, "progress")) {
			r.progress = atoi(eq + 1);
			continue;
		}
		if (!strcmp(kv, "plain")) {
			r.plain = atoi(eq + 1) != 0;
			continue;
		}
		if (sl_conf_set(c, kv, eq + 1)) {
			printf("{\"conf\":\"%s\"}\n", sl_last_error());
			return 2;
		}
	}
	long total = (long)r.nthreads * r.per_thread;
	if (r.plain && r.nthreads != 1)
		return 2;
	r.seen = calloc((size_t)total, sizeof *r.seen);
	r.t0_us = calloc((size_t)total, sizeof *r.t0_us);
	r.p = sl_pusher_new(c);
	sl_conf_free(c);
	if (!r.seen || !r.t0_us || !r.p) {
		printf("{\"new\":\"%s\"}\n", sl_last_error());
		return 2;
	}
	sl_pusher_set_delivery_cb(r.p, on_delivery, &r);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_t th[64], watcher;
	worker ws[64];
	pthread_create(&watcher, NULL, watching, &r);
	for (int i = 0; i < r.nthreads; i++) {
		ws[i] = (worker){&r, i};
		pthread_create(&th[i], NULL, pushing, &ws[i]);
	}
	for (int i = 0; i < r.nthreads; i++)
		pthread_join(th[i], NULL);
	int frc = sl_pusher_flush(r.p, 30000);
	atomic_store(&r.done, true);
	pthread_join(watcher, NULL);
	sl_metrics m;
	sl_pusher_metrics(r.p, &m);
	int crc = sl_pusher_close(r.p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long missing = 0;
	for (long i = 0; i < total; i++)
		missing += atomic_load(&r.seen[i]) != 1;
	free(r.seen);
	free(r.t0_us);
	printf("{\"pushed\":%llu,\"callbacks\":%ld,\"push_failed\":%llu,\"bad\":%ld,"
	       "\"bad_latency\":%ld,\"max_latency_us\":%lld,"
	       "\"missing\":%ld,\"flush\":%d,\"close\":%d,\"seconds\":%.3f}\n",
	       (unsigned long long)m.pushed, atomic_load(&r.callbacks),
	       (unsigned long long)m.push_failed, atomic_load(&r.bad), atomic_load(&r.bad_latency),
	       (long long)atomic_load(&r.max_latency), missing, frc, crc,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	bool ok = frc == 0 && crc == 0 && m.pushed == (uint64_t)total && m.push_failed == 0 &&
	          atomic_load(&r.callbacks) == total && atomic_load(&r.bad) == 0 && missing == 0 &&
	          atomic_load(&r.bad_latency) == 0;
	return ok ? 0 : 1;
}
