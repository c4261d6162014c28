/*
 * queue_tool.c — drives an sl_queue for tests/integration/test_lib_queue.py.
 *
 *   queue_tool [-o key=value]... [-k rdkafka.prop=value]... -f OUT
 *              [-c N] [-n N] [-x N:PATTERN] [-s MAXMS] [-p PARTITION]
 *              [-L K] [-t SECONDS]
 *
 *   -o  sl_conf key=value          -k  sl_queue_set_rdkafka name=value
 *   -f  output file (appended, one write(2) per line, so lines survive
 *       a SIGKILL and never interleave):
 *         READY                        after sl_queue_start
 *         ASSIGNED n                   once sl_queue_lag sees n partitions
 *         C partition offset attempt value   every handler call
 *         H partition offset value     every accepted message
 *         E partition offset err reason  error callback ("-" for no message)
 *         L topic partition committed high_watermark lag
 *         M handled failed dead_lettered handled_bytes
 *   -c  the handler calls sl_queue_request_stop after N accepted messages
 *   -n  stop once handled + dead_lettered >= N (from sl_queue_metrics)
 *   -x  values containing PATTERN fail their first N attempts (-1: all)
 *   -s  every handler call first sleeps a random 0..MAXMS ms
 *   -p  sl_queue_set_partition
 *   -L  after K accepted messages the handler blocks later ones; once the
 *       committed offsets add up to K, print L lines and stop
 *   -t  give up after SECONDS (exit 3), default 60
 * SIGTERM/SIGINT stop gracefully. Exit 0 only after a clean sl_queue_stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "sluice/sluice.h"

static int out_fd = -1;
static sl_queue *queue;
static atomic_int accepted;
static atomic_bool quitting;
static volatile sig_atomic_t got_signal;
static long stop_after = -1, lag_after = -1, fail_n = 0;
static const char *fail_pat;
static int sleep_max;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(out_fd, line, (size_t)n) != n)
		_exit(4);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR) {
	}
}

static int handler(const sl_message *m, void *user)
{
	(void)user;
	char val[256];
	size_t n = m->value_len < sizeof val - 1 ? m->value_len : sizeof val - 1;
	if (m->value)
		memcpy(val, m->value, n);
	val[m->value ? n : 0] = '\0';
	out("C %d %lld %d %s", (int)m->partition, (long long)m->offset, m->attempt, val);
	if (sleep_max > 0) {
		static _Thread_local unsigned seed;
		if (!seed)
			seed = (unsigned)(uintptr_t)&seed ^ (unsigned)time(NULL);
		sleep_ms(rand_r(&seed) % (sleep_max + 1));
	}
	if (fail_pat && strstr(val, fail_pat) && (fail_n < 0 || m->attempt <= fail_n))
		return 7;
	if (lag_after >= 0 && atomic_load(&accepted) >= lag_after) {
		/* Hold this message until the test has its lag figures; it
		 * then fails, so it is not counted as accepted. */
		for (int i = 0; i < 60000 && !atomic_load(&quitting); i++)
			sleep_ms(1);
		return 9;
	}
	out("H %d %lld %s", (int)m->partition, (long long)m->offset, val);
	int a = atomic_fetch_add(&accepted, 1) + 1;
	if (stop_after >= 0 && a >= stop_after)
		sl_queue_request_stop(queue);
	return 0;
}

static void on_error(const sl_message *m, int err, const char *reason, void *user)
{
	(void)user;
	if (m)
		out("E %d %lld %d %s", (int)m->partition, (long long)m->offset, err, reason);
	else
		out("E - - %d %s", err, reason);
}

static void on_signal(int sig)
{
	got_signal = sig;
}

static int fail(const char *what)
{
	fprintf(stderr, "queue_tool: %s: %s\n", what, sl_last_error());
	return 2;
}

int main(int argc, char **argv)
{
	sl_conf *conf = sl_conf_new();
	const char *path = NULL;
	char *props[32];
	int nprops = 0;
	long count = -1, timeout_s = 60;
	int32_t partition = -1;
	int opt;
	while ((opt = getopt(argc, argv, "o:k:f:c:n:x:s:p:L:t:")) != -1) {
		char *eq;
		switch (opt) {
		case 'o':
			if (!(eq = strchr(optarg, '=')))
				return fail("-o needs key=value");
			*eq = '\0';
			if (sl_conf_set(conf, optarg, eq + 1))
				return fail("-o");
			break;
		case 'k':
			if (nprops < 32)
				props[nprops++] = optarg;
			break;
		case 'f':
			path = optarg;
			break;
		case 'c':
			stop_after = atol(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'x':
			fail_n = strtol(optarg, &eq, 10);
			if (*eq != ':')
				return fail("-x needs N:PATTERN");
			fail_pat = eq + 1;
			break;
		case 's':
			sleep_max = atoi(optarg);
			break;
		case 'p':
			partition = (int32_t)atoi(optarg);
			break;
		case 'L':
			lag_after = atol(optarg);
			break;
		case 't':
			timeout_s = atol(optarg);
			break;
		default:
			return fail("usage");
		}
	}
	if (!path)
		return fail("-f is required");
	if ((out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
		return fail("open output");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	if (!(queue = sl_queue_new(conf, handler, NULL)))
		return fail("sl_queue_new");
	sl_conf_free(conf);
	sl_queue_set_error_cb(queue, on_error, NULL);
	for (int i = 0; i < nprops; i++) {
		char *eq = strchr(props[i], '=');
		if (!eq)
			return fail("-k needs name=value");
		*eq = '\0';
		if (sl_queue_set_rdkafka(queue, props[i], eq + 1))
			return fail("-k");
	}
	if (partition >= 0 && sl_queue_set_partition(queue, partition))
		return fail("sl_queue_set_partition");
	if (sl_queue_start(queue))
		return fail("sl_queue_start");
	out("READY");

	int rc = 0;
	bool assigned = false;
	sl_partition_lag lags[64];
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int tick = 0;; tick++) {
		if (got_signal || (stop_after >= 0 && atomic_load(&accepted) >= stop_after))
			break;
		sl_metrics mt;
		sl_queue_metrics(queue, &mt);
		if (count >= 0 && (long)(mt.handled + mt.dead_lettered) >= count)
			break;
		if (!assigned || lag_after >= 0) {
			int n = sl_queue_lag(queue, lags, 64);
			if (n > 0 && !assigned) {
				assigned = true;
				out("ASSIGNED %d", n);
			}
			if (lag_after >= 0 && n > 0 && atomic_load(&accepted) >= lag_after) {
				int64_t sum = 0;
				for (int i = 0; i < n && i < 64; i++)
					sum += lags[i].committed > 0 ? lags[i].committed : 0;
				if (sum == lag_after) {
					for (int i = 0; i < n && i < 64; i++)
						out("L %s %d %lld %lld %lld", lags[i].topic,
						    (int)lags[i].partition,
						    (long long)lags[i].committed,
						    (long long)lags[i].high_watermark,
						    (long long)lags[i].lag);
					break;
				}
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= timeout_s) {
			fprintf(stderr, "queue_tool: timed out\n");
			rc = 3;
			break;
		}
		sleep_ms(10);
	}
	atomic_store(&quitting, true);
	if (sl_queue_stop(queue))
		rc = fail("sl_queue_stop");
	sl_metrics mt;
	sl_queue_metrics(queue, &mt);
	out("M %llu %llu %llu %llu", (unsigned long long)mt.handled, (unsigned long long)mt.failed,
	    (unsigned long long)mt.dead_lettered, (unsigned long long)mt.handled_bytes);
	sl_queue_free(queue);
	/* librdkafka finishes its own threads asynchronously. */
	rd_kafka_wait_destroyed(5000);
	close(out_fd);
	return rc;
}
