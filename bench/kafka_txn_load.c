/*
 * kafka_txn_load.c — transactional vs idempotent produce, read_committed vs
 * read_uncommitted consume, with librdkafka (bench/bench_38_kafka_txn.sh).
 *
 *   kafka_txn_load (--bootstrap HOST:PORT | --mock) --topic T MODE [options]
 *
 * --mock produces to librdkafka's in-process mock broker
 *   (test.mock.num.brokers=1: no disk, no sync, answers at once), which
 *   measures what the client itself allows: the ceiling any server's
 *   transactional/idempotent ratio can reach with this client.
 * MODE produce: --count messages of --size bytes to partition 0, acks=all,
 *   idempotent; with --txn N (N > 0) in transactions of N records each
 *   (begin, N produces, commit — the commit waits for every delivery);
 *   --producers N splits the count over N producers (threads, each with
 *   its own transactional id) started together.
 * MODE consume: reads --count messages from offset 0 with --isolation
 *   read_committed | read_uncommitted (aborted records are not counted, so
 *   --count is the committed count).
 * Prints one line: mode=... msgs=... seconds=... mps=... mbps=...
 * Bounded by --max-seconds (bound.h). Benchmark code, not part of the
 * server.
 */
#include <librdkafka/rdkafka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bound.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "kafka_txn_load: %s: %s\n", what, msg);
	exit(1);
}

static void set(rd_kafka_conf_t *c, const char *k, const char *v)
{
	char err[256];
	if (rd_kafka_conf_set(c, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
		die(k, err);
}

static void check(rd_kafka_error_t *e, const char *what)
{
	if (e) {
		fprintf(stderr, "kafka_txn_load: %s: %s\n", what, rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		exit(1);
	}
}

static void on_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	if (m->err)
		(*(long *)opaque)++;
}

/* One producer's share: its own transactional id, started with the
 * others once every producer is initialised. */
typedef struct pjob {
	const char *bs, *topic;
	long count;
	int size, txn, idx;
	pthread_barrier_t *go;
	long errors;
	double t_end;
} pjob_t;

static void *produce_one(void *arg)
{
	pjob_t *j = arg;
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	if (j->bs)
		set(c, "bootstrap.servers", j->bs);
	else /* --mock: the client's own ceiling, no server work at all */
		set(c, "test.mock.num.brokers", "1");
	set(c, "enable.idempotence", "true");
	set(c, "linger.ms", "5");
	if (j->txn > 0) {
		char id[160];
		snprintf(id, sizeof id, "bench-%s-%d", j->topic, j->idx);
		set(c, "transactional.id", id);
	}
	rd_kafka_conf_set_dr_msg_cb(c, on_dr);
	rd_kafka_conf_set_opaque(c, &j->errors);
	char err[256];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
	if (!rk)
		die("producer", err);
	if (j->txn > 0)
		check(rd_kafka_init_transactions(rk, 30000), "init_transactions");
	char *payload = malloc((size_t)j->size);
	if (!payload)
		abort();
	memset(payload, 'x', (size_t)j->size);
	pthread_barrier_wait(j->go);
	for (long i = 0; i < j->count;) {
		long n = j->txn > 0 ? j->txn : j->count;
		if (j->txn > 0)
			check(rd_kafka_begin_transaction(rk), "begin_transaction");
		for (long k = 0; k < n && i < j->count; k++, i++) {
			for (;;) {
				rd_kafka_resp_err_t e = rd_kafka_producev(
				    rk, RD_KAFKA_V_TOPIC(j->topic), RD_KAFKA_V_PARTITION(0),
				    RD_KAFKA_V_VALUE(payload, (size_t)j->size), RD_KAFKA_V_END);
				if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
					rd_kafka_poll(rk, 10);
					continue;
				}
				if (e)
					die("produce", rd_kafka_err2str(e));
				break;
			}
			rd_kafka_poll(rk, 0);
		}
		if (j->txn > 0)
			check(rd_kafka_commit_transaction(rk, 60000), "commit_transaction");
	}
	if (rd_kafka_flush(rk, 60000))
		die("flush", "messages left");
	j->t_end = now_s();
	free(payload);
	rd_kafka_destroy(rk);
	return NULL;
}

/* count records from `producers` producers at once (count/producers each),
 * timed from their common start to the last one's end. */
static void produce(const char *bs, const char *topic, long count, int size, int txn, int producers)
{
	pjob_t *jobs = calloc((size_t)producers, sizeof *jobs);
	pthread_t *th = calloc((size_t)producers, sizeof *th);
	pthread_barrier_t go;
	if (!jobs || !th || pthread_barrier_init(&go, NULL, (unsigned)producers + 1))
		abort();
	long share = count / producers;
	for (int i = 0; i < producers; i++) {
		jobs[i] = (pjob_t){bs, topic, share, size, txn, i, &go, 0, 0};
		if (pthread_create(&th[i], NULL, produce_one, &jobs[i]))
			die("producer", "thread");
	}
	pthread_barrier_wait(&go);
	double t0 = now_s(), t1 = t0;
	long errors = 0;
	for (int i = 0; i < producers; i++) {
		pthread_join(th[i], NULL);
		errors += jobs[i].errors;
		if (jobs[i].t_end > t1)
			t1 = jobs[i].t_end;
	}
	if (errors)
		die("produce", "delivery errors");
	double dt = t1 - t0;
	long total = share * producers;
	printf("mode=%s producers=%d msgs=%ld seconds=%.3f mps=%.0f mbps=%.1f\n",
	       txn > 0 ? "txn_produce" : "idempotent_produce", producers, total, dt,
	       (double)total / dt, (double)total * size / dt / 1e6);
	pthread_barrier_destroy(&go);
	free(jobs);
	free(th);
}

static void consume(const char *bs, const char *topic, long count, const char *isolation)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	set(c, "bootstrap.servers", bs);
	set(c, "group.id", "bench-txn-consume");
	set(c, "isolation.level", isolation);
	set(c, "enable.auto.commit", "false");
	char err[256];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
	if (!rk)
		die("consumer", err);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tp, topic, 0)->offset = 0;
	if (rd_kafka_assign(rk, tp))
		die("assign", "failed");
	rd_kafka_topic_partition_list_destroy(tp);
	long got = 0;
	size_t bytes = 0;
	double t0 = 0;
	while (got < count) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
		if (!m)
			continue;
		if (!m->err) {
			if (got == 0)
				t0 = now_s();
			got++;
			bytes += m->len;
		}
		rd_kafka_message_destroy(m);
	}
	double dt = now_s() - t0;
	printf("mode=consume_%s msgs=%ld seconds=%.3f mps=%.0f mbps=%.1f\n", isolation, got, dt,
	       (double)got / dt, (double)bytes / dt / 1e6);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
}

int main(int argc, char **argv)
{
	const char *bs = NULL, *topic = "bench-txn", *mode = NULL, *iso = "read_committed";
	long count = 100000;
	int size = 1024, txn = 0, max_s = 300, producers = 1, mock = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--bootstrap") && v)
			bs = argv[++i];
		else if (!strcmp(a, "--mock"))
			mock = 1;
		else if (!strcmp(a, "--topic") && v)
			topic = argv[++i];
		else if (!strcmp(a, "--count") && v)
			count = atol(argv[++i]);
		else if (!strcmp(a, "--size") && v)
			size = atoi(argv[++i]);
		else if (!strcmp(a, "--txn") && v)
			txn = atoi(argv[++i]);
		else if (!strcmp(a, "--producers") && v)
			producers = atoi(argv[++i]);
		else if (!strcmp(a, "--isolation") && v)
			iso = argv[++i];
		else if (!strcmp(a, "--max-seconds") && v)
			max_s = atoi(argv[++i]);
		else if (!mode && a[0] != '-')
			mode = a;
		else
			die("usage",
			    "kafka_txn_load (--bootstrap H:P | --mock) [--topic T] produce|consume "
			    "[--count N --size B --txn N --producers N --isolation L "
			    "--max-seconds S]");
	}
	if ((!bs && !mock) || !mode)
		die("usage", "--bootstrap (or --mock) and a mode are required");
	if (mock && strcmp(mode, "produce"))
		die("usage", "--mock measures produce only");
	if (producers < 1 || producers > 64)
		die("usage", "--producers 1..64");
	bench_bound("kafka_txn_load", (unsigned)max_s);
	if (!strcmp(mode, "produce"))
		produce(bs, topic, count, size, txn, producers);
	else if (!strcmp(mode, "consume"))
		consume(bs, topic, count, iso);
	else
		die("mode", mode);
	return 0;
}
