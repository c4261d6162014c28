/*
 * kafka_load.c — a librdkafka load generator for bench/bench_20_kafka.sh.
 *
 *   kafka_load (--bootstrap HOST:PORT | --mock) --topic T MODE [options]
 *
 * MODE throughput: produce --count messages of --size bytes with --acks,
 *   three times (the best round counts), then consume all of partition 0
 *   from the start (with --consume-count N only the last N, since the mock
 *   broker keeps just its last 5 MB) with a fresh consumer, timed from the
 *   first message to the last so connection set-up is not counted, best of
 *   three; prints one line:
 *     produce_msgs=N produce_s=S produce_mps=R produce_mbps=M
 *     consume_msgs=N consume_s=S consume_mps=R consume_mbps=M
 * MODE latency: produce --rate messages/s for --seconds while a consumer
 *   reads them; each value carries its send time; prints
 *     latency_msgs=N p50_us=X p99_us=Y
 *   The latency producer does not linger (linger.ms=0; KL_LINGER=MS in the
 *   environment overrides it). A rate the broker cannot sustain ends the
 *   run at --seconds plus 10 s with what arrived by then (never a wait for
 *   librdkafka's queue to drain).
 * MODE sustain: produce as fast as the client queue allows (acks=1, the
 *   latency run's linger) while a consumer reads, for --seconds; the consumed rate
 *   over the second half (past the ramp-up) is the produce+consume rate the
 *   broker sustains on this machine; prints
 *     sustain_msgs=N sustain_s=S sustain_mps=R
 *   bench_20_kafka.sh measures latency at half of it: at half the
 *   produce-only peak, producer and consumer together overload two cores.
 *
 * Every run is bounded: --max-seconds (default 300; BENCH_TIME_LIMIT too,
 * bound.h) ends it with a message and exit status 3.
 *
 * --mock runs the same code against librdkafka's in-process mock broker
 * (test.mock.num.brokers=1, no disk): the reference for "the fastest a
 * broker could look to this client on this machine".
 *
 * Runs client threads of librdkafka; the main thread drives the loops.
 * Benchmark code, not part of the server.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bound.h"

typedef struct opts {
	const char *bootstrap;
	const char *topic;
	const char *mode;
	int mock;
	long count;
	long consume_count; /* consume the last N of count (the mock keeps only 5 MB) */
	int size;
	const char *acks;
	long rate;
	int seconds;
	int max_seconds;
	const char *extra[8]; /* --conf K=V: librdkafka settings for every client (TLS) */
	int nextra;
} opts_t;

/* Past this (now_us), a run gives up instead of waiting on a broker that
 * cannot keep up: produce_one stops blocking on a full queue. */
static int64_t run_deadline = INT64_MAX;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "kafka_load: %s: %s\n", what, detail);
	exit(1);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
	char err[256];
	if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
		die(k, err);
}

/* The --conf settings (e.g. security.protocol=SSL for bench_40_tls.sh). */
static void set_extra(rd_kafka_conf_t *c, const opts_t *o)
{
	for (int i = 0; i < o->nextra; i++) {
		char kv[512];
		snprintf(kv, sizeof kv, "%s", o->extra[i]);
		char *eq = strchr(kv, '=');
		if (!eq)
			die("--conf needs K=V", kv);
		*eq = 0;
		set(c, kv, eq + 1);
	}
}

static long delivered, failed;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		failed++;
	else
		delivered++;
}

static rd_kafka_t *producer(const opts_t *o, const char *acks, const char *linger)
{
	char err[256];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	set(c, "bootstrap.servers", o->bootstrap);
	set_extra(c, o);
	set(c, "acks", acks);
	set(c, "linger.ms", linger);
	set(c, "batch.size", "1000000");
	set(c, "queue.buffering.max.messages", "1000000");
	set(c, "queue.buffering.max.kbytes", "2097151");
	char mmb[32];
	snprintf(mmb, sizeof mmb, "%d",
	         o->size * 2 + 4096 > 1000000 ? o->size * 2 + 4096 : 1000000);
	set(c, "message.max.bytes", mmb);
	rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
	if (!rk)
		die("producer", err);
	return rk;
}

static rd_kafka_t *consumer(const opts_t *o, int64_t start)
{
	char err[256];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	set(c, "bootstrap.servers", o->bootstrap);
	set_extra(c, o);
	set(c, "group.id", "kafka_load");
	set(c, "enable.auto.commit", "false");
	set(c, "fetch.wait.max.ms", "100");
	set(c, "fetch.message.max.bytes", "4194304");
	set(c, "queued.min.messages", "1000000");
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
	if (!rk)
		die("consumer", err);
	rd_kafka_poll_set_consumer(rk);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, o->topic, 0)->offset = start;
	if (rd_kafka_assign(rk, l))
		die("assign", o->topic);
	rd_kafka_topic_partition_list_destroy(l);
	return rk;
}

/* Produces one message, waiting on a full queue until until_us; returns 0,
 * or -1 if the queue stayed full past until_us. */
static int produce_until(rd_kafka_t *rk, const opts_t *o, void *buf, size_t len, int64_t until_us)
{
	for (;;) {
		rd_kafka_resp_err_t e =
		    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(0),
		                      RD_KAFKA_V_VALUE(buf, len),
		                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
			return 0;
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			die("produce", rd_kafka_err2str(e));
		if (now_us() >= until_us)
			return -1;
		rd_kafka_poll(rk, 10);
	}
}

static void produce_one(rd_kafka_t *rk, const opts_t *o, void *buf, size_t len)
{
	if (produce_until(rk, o, buf, len, run_deadline) < 0)
		die("produce", "the broker did not keep up within --max-seconds");
}

/* Consumes want messages from offset start with a fresh consumer; returns
 * the microseconds from the first message's arrival to the last's (the
 * first one starts the clock, so set-up is not counted). */
static int64_t consume_span(const opts_t *o, int64_t start, long want)
{
	rd_kafka_t *c = consumer(o, start);
	long got = 0;
	int64_t c0 = 0, c1 = 0, deadline = now_us() + 120000000;
	if (deadline > run_deadline)
		deadline = run_deadline;
	while (got < want && now_us() < deadline) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
		if (!m)
			continue;
		if (!m->err) {
			if (got++ == 0)
				c0 = now_us();
			c1 = now_us();
		}
		rd_kafka_message_destroy(m);
	}
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	if (got != want) {
		fprintf(stderr, "kafka_load: consumed %ld of %ld\n", got, want);
		exit(1);
	}
	return c1 - c0;
}

static void throughput(const opts_t *o)
{
	char *buf = malloc((size_t)o->size);
	memset(buf, 'x', (size_t)o->size);
	/* The best of three produce rounds into the same topic (noisy machine). */
	rd_kafka_t *p = producer(o, o->acks, "5");
	int64_t bestp = 0;
	for (int round = 0; round < 3; round++) {
		long before = delivered;
		int64_t t0 = now_us();
		for (long i = 0; i < o->count; i++) {
			produce_one(p, o, buf, (size_t)o->size);
			rd_kafka_poll(p, 0);
		}
		int64_t left_ms = (run_deadline - now_us()) / 1000;
		rd_kafka_flush(p, left_ms > 0 ? (int)left_ms : 1);
		int64_t t1 = now_us();
		if (failed || delivered - before != o->count) {
			fprintf(stderr, "kafka_load: %ld delivered, %ld failed\n",
			        delivered - before, failed);
			exit(1);
		}
		if (round == 0 || t1 - t0 < bestp)
			bestp = t1 - t0;
	}
	rd_kafka_destroy(p);
	double ps = (double)bestp / 1e6;
	int64_t total = 3 * (int64_t)o->count;

	long want =
	    o->consume_count > 0 && o->consume_count < total ? o->consume_count : (long)total;
	/* The best of three consumes from the same offset: short windows on a
	 * shared 2-core machine are noisy. */
	int64_t best = 0;
	for (int round = 0; round < 3; round++) {
		int64_t span = consume_span(o, total - want, want);
		if (round == 0 || span < best)
			best = span;
	}
	/* The first message's arrival starts the clock: count it out. */
	double cs = (double)(best > 0 ? best : 1) / 1e6;
	double mb = (double)o->count * o->size / 1e6;
	double cmb = (double)(want - 1) * o->size / 1e6;
	printf("produce_msgs=%ld produce_s=%.3f produce_mps=%.0f produce_mbps=%.1f "
	       "consume_msgs=%ld consume_s=%.3f consume_mps=%.0f consume_mbps=%.1f\n",
	       o->count, ps, o->count / ps, mb / ps, want, cs, (want - 1) / cs, cmb / cs);
	free(buf);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Produces markers and reads until one arrives (30 s at most), so the
 * consumer sits at the end of the log before a timed window starts. A
 * marker sent before the consumer found the end is skipped by it, so one
 * is sent again every 200 ms (a single marker cost a 30 s wait then). */
static void sync_consumer(rd_kafka_t *p, rd_kafka_t *c, const opts_t *o, char *buf)
{
	int64_t marker = -1;
	memcpy(buf, &marker, 8);
	int64_t give_up = now_us() + 30000000, resend = 0;
	while (now_us() < give_up) {
		if (now_us() >= resend) {
			produce_one(p, o, buf, (size_t)o->size);
			rd_kafka_poll(p, 0);
			resend = now_us() + 200000;
		}
		rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 50);
		int done = m && !m->err && m->len >= 8 && memcmp(m->payload, &marker, 8) == 0;
		if (m)
			rd_kafka_message_destroy(m);
		if (done)
			break;
	}
	rd_kafka_flush(p, 10000);
}

static void sustain(const opts_t *o)
{
	char *buf = calloc(1, (size_t)(o->size < 16 ? 16 : o->size));
	rd_kafka_t *c = consumer(o, RD_KAFKA_OFFSET_END);
	/* The latency run's client settings (no linger), so that half of
	 * this rate is a load that run can actually be measured at. */
	rd_kafka_t *p = producer(o, "1", getenv("KL_LINGER") ? getenv("KL_LINGER") : "0");
	sync_consumer(p, c, o, buf);
	long got = 0, got_half = 0;
	int64_t start = now_us(), end = start + (int64_t)o->seconds * 1000000;
	int64_t half = start + (end - start) / 2, half_at = 0;
	for (int64_t now = start; now < end; now = now_us()) {
		/* Fill the client queue without blocking, then read what came. */
		for (int k = 0; k < 1000; k++) {
			rd_kafka_resp_err_t e = rd_kafka_producev(
			    p, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(0),
			    RD_KAFKA_V_VALUE(buf, (size_t)o->size),
			    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
			if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			if (e)
				die("produce", rd_kafka_err2str(e));
		}
		rd_kafka_poll(p, 0);
		rd_kafka_message_t *m;
		int wait_ms = 1;
		while ((m = rd_kafka_consumer_poll(c, wait_ms))) {
			wait_ms = 0;
			if (!m->err)
				got++;
			rd_kafka_message_destroy(m);
		}
		if (!half_at && now >= half) {
			half_at = now;
			got_half = got;
		}
	}
	int64_t stop = now_us();
	rd_kafka_purge(p, RD_KAFKA_PURGE_F_QUEUE);
	rd_kafka_flush(p, 10000);
	rd_kafka_destroy(p);
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	double s = (double)(stop - (half_at ? half_at : start)) / 1e6;
	long n = got - got_half;
	if (n <= 0 || s <= 0)
		die("sustain", "nothing was consumed");
	printf("sustain_msgs=%ld sustain_s=%.3f sustain_mps=%.0f\n", n, s, n / s);
	free(buf);
}

static void latency(const opts_t *o)
{
	long total = o->rate * o->seconds;
	int64_t *lat = calloc((size_t)total, sizeof *lat);
	char *buf = calloc(1, (size_t)(o->size < 16 ? 16 : o->size));
	rd_kafka_t *c = consumer(o, RD_KAFKA_OFFSET_END);
	/* Let the consumer reach the end of the (empty or old) log first. */
	/* Latency: no lingering; batches form only from what queues meanwhile. */
	rd_kafka_t *p = producer(o, "1", getenv("KL_LINGER") ? getenv("KL_LINGER") : "0");
	sync_consumer(p, c, o, buf);
	long sent = 0, got = 0;
	int64_t start = now_us(), end = start + (int64_t)o->seconds * 1000000;
	while (got < total && now_us() < end + 10000000) {
		int64_t now = now_us();
		long due = now >= end ? total : (long)((now - start) * o->rate / 1000000);
		while (sent < due && sent < total) {
			int64_t t = now_us();
			memcpy(buf, &t, 8);
			/* Overloaded: stop sending at the window's end rather
			 * than wait for the client queue to drain. */
			if (produce_until(p, o, buf, (size_t)o->size, end) < 0) {
				total = sent;
				break;
			}
			sent++;
		}
		rd_kafka_poll(p, 0);
		/* Block for the next message, but not past the next send: a busy
		 * loop here would steal a core from the broker being measured. */
		int wait_ms = sent < total ? 1 : 10;
		rd_kafka_message_t *m;
		while ((m = rd_kafka_consumer_poll(c, wait_ms))) {
			wait_ms = 0;
			if (!m->err && m->len >= 8) {
				int64_t t;
				memcpy(&t, m->payload, 8);
				if (t > 0 && got < total)
					lat[got++] = now_us() - t;
			}
			rd_kafka_message_destroy(m);
		}
	}
	/* What is still queued after the window is not measured. */
	rd_kafka_purge(p, RD_KAFKA_PURGE_F_QUEUE);
	rd_kafka_flush(p, 10000);
	rd_kafka_destroy(p);
	rd_kafka_consumer_close(c);
	rd_kafka_destroy(c);
	if (got < total / 2) {
		fprintf(stderr, "kafka_load: latency run received %ld of %ld\n", got, total);
		exit(1);
	}
	qsort(lat, (size_t)got, sizeof *lat, cmp64);
	printf("latency_msgs=%ld p50_us=%" PRId64 " p99_us=%" PRId64 "\n", got, lat[got / 2],
	       lat[got * 99 / 100]);
	free(lat);
	free(buf);
}

int main(int argc, char **argv)
{
	opts_t o = {.topic = "bench",
	            .count = 200000,
	            .size = 100,
	            .acks = "1",
	            .rate = 10000,
	            .seconds = 5,
	            .max_seconds = 300};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--mock"))
			o.mock = 1;
		else if (!strcmp(a, "--bootstrap") && v)
			o.bootstrap = argv[++i];
		else if (!strcmp(a, "--topic") && v)
			o.topic = argv[++i];
		else if (!strcmp(a, "--count") && v)
			o.count = atol(argv[++i]);
		else if (!strcmp(a, "--consume-count") && v)
			o.consume_count = atol(argv[++i]);
		else if (!strcmp(a, "--size") && v)
			o.size = atoi(argv[++i]);
		else if (!strcmp(a, "--acks") && v)
			o.acks = argv[++i];
		else if (!strcmp(a, "--rate") && v)
			o.rate = atol(argv[++i]);
		else if (!strcmp(a, "--seconds") && v)
			o.seconds = atoi(argv[++i]);
		else if (!strcmp(a, "--max-seconds") && v)
			o.max_seconds = atoi(argv[++i]);
		else if (!strcmp(a, "--conf") && v && o.nextra < 8)
			o.extra[o.nextra++] = argv[++i];
		else if (a[0] != '-')
			o.mode = a;
		else
			die("unknown option", a);
	}
	if (!o.mode || (!o.bootstrap && !o.mock) || o.size < 8 || o.count < 1 || o.rate < 1)
		die("usage",
		    "kafka_load (--bootstrap H:P | --mock) [--topic T] throughput|latency|sustain "
		    "[--count N --consume-count N --size B --acks A --rate R --seconds S "
		    "--max-seconds S --conf K=V]");
	if (o.max_seconds < 1)
		o.max_seconds = 300;
	/* The soft bound gives up cleanly; bound.h's alarm is the hard one. */
	run_deadline = now_us() + (int64_t)o.max_seconds * 1000000;
	bench_bound("kafka_load", (unsigned)o.max_seconds + 60);
	rd_kafka_t *holder = NULL;
	if (o.mock) {
		/* A handle that owns the in-process mock cluster for the run. */
		char err[256];
		rd_kafka_conf_t *c = rd_kafka_conf_new();
		set(c, "test.mock.num.brokers", "1");
		holder = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
		if (!holder)
			die("mock", err);
		rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(holder);
		o.bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
		rd_kafka_mock_topic_create(mc, o.topic, 1, 1);
	}
	if (!strcmp(o.mode, "throughput"))
		throughput(&o);
	else if (!strcmp(o.mode, "latency"))
		latency(&o);
	else if (!strcmp(o.mode, "sustain"))
		sustain(&o);
	else
		die("unknown mode", o.mode);
	if (holder)
		rd_kafka_destroy(holder);
	return 0;
}
