/*
 * cmd_bench.c — `sluice bench produce|consume|e2e`: a load generator.
 *
 *   produce  COUNT messages of SIZE bytes through sl_pusher; latency is
 *            the pusher's latency_us (push call to acknowledgement).
 *   consume  reads COUNT messages (default: what the topic holds now)
 *            from the log start without a group, through sl_queue.
 *   e2e      both at once; each payload starts with a run id, a sequence
 *            number and the send time, latency is send to handler call.
 *            Without -t it uses a topic of its own, deleted afterwards.
 *
 * consume and e2e time from the first message the handler counts to the
 * last, as plain librdkafka benchmarks do: the client's start-up (metadata,
 * start offsets, the first fetch) is not throughput. e2e first sends
 * warm-up messages until the handler sees one, so the clock and the
 * latencies start only once the consumer has its assignment, has read
 * past older messages and the producer is connected; warm-ups are not
 * counted, sent or timed.
 *
 * Bounded by COUNT and --duration; consume and e2e also end after
 * --timeout-ms (default 10 s) without a message. While stderr is a
 * terminal a progress line is redrawn there about once a second (rate,
 * MB/s, p50/p99); logs and pipes get only the summary line on stdout:
 *
 *   produce: 100000 msgs 10.0 MB in 1.23 s: 81234 msg/s 8.12 MB/s
 *            p50 1.20 ms p99 4.50 ms max 6.10 ms; 0 failed
 *
 * (one line). Threads: the pusher's delivery thread and the queue's
 * processor threads update the counters and the latency histogram, all
 * atomics; the main thread sends, paces and reports.
 */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define HIST_BUCKETS 480 /* 20 per factor e: 5% resolution up to ~e^24 us */
#define HIST_SCALE 20.0
#define E2E_HEADER 24         /* run id, sequence, send time: 3 x 8 bytes */
#define WARMUP_SEQ UINT64_MAX /* the sequence number of e2e warm-ups */
#define WARMUP_EVERY_MS 100
#define TICK_MS 10

enum {
	OPT_TOPIC = 't',
	OPT_COUNT = 'n',
	OPT_SIZE = 's',
	OPT_DURATION = 300,
	OPT_ACKS,
	OPT_RATE,
};

typedef enum { B_PRODUCE, B_CONSUME, B_E2E } bench_mode;

typedef struct hist {
	atomic_uint_fast64_t b[HIST_BUCKETS];
	atomic_int_fast64_t max;
} hist;

typedef struct bench {
	bench_mode mode;
	const char *topic;
	int64_t count; /* -1 = unbounded (duration only) */
	int64_t size;
	int64_t duration_s;
	int64_t rate;
	uint64_t run_id;
	atomic_uint_fast64_t acked, failed, acked_bytes; /* pusher */
	atomic_uint_fast64_t received, received_bytes;   /* queue */
	atomic_int_fast64_t last_rx_us;
	atomic_int_fast64_t first_count_us, last_count_us; /* counted messages */
	atomic_bool rx_done, warm;
	uint64_t rx_target; /* consume/e2e: stop at this many */
	sl_queue *q;
	hist lat;
} bench;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void hist_add(hist *h, int64_t us)
{
	if (us < 0)
		us = 0;
	int i = (int)(log((double)us + 1) * HIST_SCALE);
	if (i >= HIST_BUCKETS)
		i = HIST_BUCKETS - 1;
	atomic_fetch_add(&h->b[i], 1);
	int64_t m = atomic_load(&h->max);
	while (us > m && !atomic_compare_exchange_weak(&h->max, &m, us))
		;
}

/* The upper bound of the bucket holding quantile q, in ms; 0 if empty. */
static double hist_ms(hist *h, double q)
{
	uint64_t total = 0;
	for (int i = 0; i < HIST_BUCKETS; i++)
		total += atomic_load(&h->b[i]);
	if (!total)
		return 0;
	uint64_t want = (uint64_t)ceil(q * (double)total), seen = 0;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		seen += atomic_load(&h->b[i]);
		if (seen >= want && seen) {
			/* The bucket's upper bound, but never above the maximum seen. */
			double us = exp((i + 1) / HIST_SCALE) - 1,
			       max = (double)atomic_load(&h->max);
			return (us < max ? us : max) / 1000.0;
		}
	}
	return 0;
}

static int on_opt(cli_t *cli, int id, const char *arg, void *st)
{
	bench *b = st;
	switch (id) {
	case OPT_TOPIC:
		b->topic = arg;
		return 0;
	case OPT_COUNT:
		return cli_int(cli, "--count", arg, 1, INT64_MAX / 2, &b->count);
	case OPT_SIZE:
		return cli_int(cli, "--size", arg, 0, 100 << 20, &b->size);
	case OPT_DURATION:
		return cli_int(cli, "--duration", arg, 1, 86400 * 365, &b->duration_s);
	case OPT_RATE:
		return cli_int(cli, "--rate", arg, 1, INT64_MAX / 2, &b->rate);
	case OPT_ACKS:
		return cli_conf_set(cli, "acks", arg);
	default:
		return cli_usage(cli, "unexpected option");
	}
}

static void on_delivery(const sl_delivery *d, void *user)
{
	bench *b = user;
	if (d->err) {
		atomic_fetch_add(&b->failed, 1);
		return;
	}
	atomic_fetch_add(&b->acked, 1);
	atomic_fetch_add(&b->acked_bytes, (uint64_t)b->size);
	if (b->mode == B_PRODUCE)
		hist_add(&b->lat, d->latency_us);
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static int on_message(const sl_message *m, void *user)
{
	bench *b = user;
	int64_t now = cli_now_us();
	atomic_store(&b->last_rx_us, now);
	/* Only this run's messages count in e2e; older ones in the topic are
	 * skipped. */
	if (b->mode == B_E2E &&
	    (!m->value || m->value_len < E2E_HEADER || get64(m->value) != b->run_id))
		return 0;
	if (b->mode == B_E2E && get64((const unsigned char *)m->value + 8) == WARMUP_SEQ) {
		atomic_store(&b->warm, true);
		return 0;
	}
	/* Processors run concurrently: claim a slot below the target first,
	 * so the count never passes it. */
	uint64_t n = atomic_load(&b->received);
	do {
		if (b->rx_target && n >= b->rx_target)
			return 0;
	} while (!atomic_compare_exchange_weak(&b->received, &n, n + 1));
	if (b->mode == B_E2E)
		hist_add(&b->lat, now - (int64_t)get64((const unsigned char *)m->value + 16));
	/* Timing only: plain loads and stores where they suffice, no locked
	 * instruction per message for it. */
	int64_t zero = 0;
	if (atomic_load_explicit(&b->first_count_us, memory_order_relaxed) == 0)
		atomic_compare_exchange_strong(&b->first_count_us, &zero, now);
	atomic_store_explicit(&b->last_count_us, now, memory_order_relaxed);
	atomic_fetch_add(&b->received_bytes, m->value_len);
	if (b->rx_target && n + 1 >= b->rx_target && !atomic_exchange(&b->rx_done, true))
		sl_queue_request_stop(b->q);
	return 0;
}

static void report(bench *b, FILE *f, double secs, bool final)
{
	bool rx = b->mode != B_PRODUCE;
	uint64_t n = rx ? atomic_load(&b->received) : atomic_load(&b->acked);
	uint64_t bytes = rx ? atomic_load(&b->received_bytes) : atomic_load(&b->acked_bytes);
	double s = secs > 0 ? secs : 1e-9;
	const char *name = b->mode == B_PRODUCE   ? "produce"
	                   : b->mode == B_CONSUME ? "consume"
	                                          : "e2e";
	fprintf(f, "%s%s: %" PRIu64 " msgs %.1f MB in %.2f s: %.0f msg/s %.2f MB/s",
	        final ? "" : "\r", name, n, (double)bytes / 1e6, secs, (double)n / s,
	        (double)bytes / 1e6 / s);
	if (b->mode != B_CONSUME)
		fprintf(f, " p50 %.2f ms p99 %.2f ms", hist_ms(&b->lat, 0.50),
		        hist_ms(&b->lat, 0.99));
	if (final) {
		if (b->mode != B_CONSUME)
			fprintf(f, " max %.2f ms", (double)atomic_load(&b->lat.max) / 1000.0);
		if (b->mode == B_E2E)
			fprintf(f, "; %" PRIu64 " sent", atomic_load(&b->acked));
		fprintf(f, "; %" PRIu64 " failed\n", atomic_load(&b->failed));
	} else {
		fputs("   ", f);
	}
	fflush(f);
}

/* Runs the main thread's loop until fn says stop; redraws progress. */
typedef struct ticker {
	bench *b;
	int64_t start_us, next_us;
	bool tty;
} ticker;

static void tick(ticker *t)
{
	int64_t now = cli_now_us();
	if (t->tty && now >= t->next_us) {
		report(t->b, stderr, (double)(now - t->start_us) / 1e6, false);
		t->next_us = now + 1000000;
	}
}

static bool out_of_time(const bench *b, int64_t start_us)
{
	return stop_signal ||
	       (b->duration_s > 0 && cli_now_us() - start_us >= b->duration_s * 1000000);
}

/* Produces b->count messages (or until the duration); 0 or an SL_E*. */
static int produce(bench *b, sl_pusher *p, ticker *t)
{
	unsigned char *buf = calloc(1, (size_t)b->size + 1);
	if (!buf)
		return SL_ENOMEM;
	for (int64_t i = 0; i < b->size; i++)
		buf[i] = (unsigned char)('a' + i % 26);
	int rc = 0;
	for (int64_t i = 0; (b->count < 0 || i < b->count) && !out_of_time(b, t->start_us); i++) {
		if (b->rate > 0) {
			int64_t due = t->start_us + i * 1000000 / b->rate;
			while (cli_now_us() < due && !stop_signal) {
				int64_t wait = due - cli_now_us();
				struct timespec ts = {0, (wait > 1000 ? 1000 : wait) * 1000};
				nanosleep(&ts, NULL);
			}
		}
		if (b->mode == B_E2E) {
			uint64_t seq = (uint64_t)i, now = (uint64_t)cli_now_us();
			memcpy(buf, &b->run_id, 8);
			memcpy(buf + 8, &seq, 8);
			memcpy(buf + 16, &now, 8);
		}
		if ((rc = sl_push(p, buf, (size_t)b->size)))
			break;
		if ((i & 1023) == 0)
			tick(t);
	}
	free(buf);
	return rc;
}

/* e2e: sends a warm-up message every WARMUP_EVERY_MS until the handler
 * saw one (or timeout_ms passes), then waits for their acknowledgements and
 * forgets them. 0, or an SL_E* code. */
static int warm_up(bench *b, sl_pusher *p, int timeout_ms)
{
	unsigned char *buf = calloc(1, (size_t)b->size + 1);
	if (!buf)
		return SL_ENOMEM;
	uint64_t seq = WARMUP_SEQ;
	memcpy(buf, &b->run_id, 8);
	memcpy(buf + 8, &seq, 8);
	int64_t deadline = cli_now_us() + (int64_t)timeout_ms * 1000, next = 0;
	int rc = 0;
	while (!atomic_load(&b->warm) && !stop_signal && !rc) {
		int64_t now = cli_now_us();
		if (now >= deadline) {
			rc = SL_ETIMEDOUT;
			break;
		}
		if (now >= next) {
			memcpy(buf + 16, &now, 8);
			rc = sl_push(p, buf, (size_t)b->size);
			next = now + WARMUP_EVERY_MS * 1000;
		}
		const struct timespec ts = {0, TICK_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	free(buf);
	if (!rc)
		rc = sl_pusher_flush(p, timeout_ms);
	atomic_store(&b->acked, 0);
	atomic_store(&b->acked_bytes, 0);
	return rc;
}

static const cli_opt BENCH_OPTS[] = {
    {"topic", OPT_TOPIC, 1},
    {"count", OPT_COUNT, 1},
    {"size", OPT_SIZE, 1},
    {"duration", OPT_DURATION, 1},
    {"acks", OPT_ACKS, 1},
    {"rate", OPT_RATE, 1},
    {NULL, 0, 0},
};

/* The topic's current message count (sum over partitions). */
static int topic_messages(cli_t *cli, const char *topic, int64_t *n)
{
	sl_topic_info *t;
	int rc = cli_describe_topic(cli, topic, "bench", &t);
	if (rc)
		return rc;
	*n = 0;
	for (size_t i = 0; i < t->partition_count; i++)
		*n += t->partitions[i].high_watermark - t->partitions[i].low_watermark;
	sl_topic_info_free(t);
	return 0;
}

static int start_queue(cli_t *cli, bench *b)
{
	sl_conf_set(cli->conf, "group", "");
	sl_conf_set(cli->conf, "offset", "first");
	sl_conf_set(cli->conf, "min.bytes", "1");
	sl_conf_set(cli->conf, "max.wait", "100");
	if (b->mode == B_E2E)
		sl_conf_set(cli->conf, "processors", "1");
	b->q = sl_queue_new(cli->conf, on_message, b);
	if (!b->q)
		return cli_lib_fail("bench", SL_ECONF);
	int rc = sl_queue_start(b->q);
	if (rc) {
		sl_queue_free(b->q);
		b->q = NULL;
		return cli_lib_fail("bench", rc);
	}
	return 0;
}

/* Waits for the consumer to reach its target, the duration, a signal or
 * the idle timeout. */
static void wait_rx(cli_t *cli, bench *b, ticker *t)
{
	const struct timespec ts = {0, TICK_MS * 1000000L};
	int64_t idle_us = (int64_t)cli->timeout_ms * 1000;
	while (!atomic_load(&b->rx_done) && !out_of_time(b, t->start_us) &&
	       cli_now_us() - atomic_load(&b->last_rx_us) < idle_us) {
		nanosleep(&ts, NULL);
		tick(t);
	}
}

int cmd_bench(cli_t *cli, int argc, char **argv)
{
	bench *b = calloc(1, sizeof *b);
	if (!b)
		return cli_fail("out of memory");
	const char *mode = cli->cmd->name + strlen("bench ");
	b->mode = !strcmp(mode, "produce")   ? B_PRODUCE
	          : !strcmp(mode, "consume") ? B_CONSUME
	                                     : B_E2E;
	b->count = -2; /* not given */
	b->size = 100;
	sl_conf_set(cli->conf, "acks", "1");
	sl_conf_set(cli->conf, "compression", "none");
	sl_conf_set(cli->conf, "auto.create", "true");
	sl_conf_set(cli->conf, "flush.interval", "5");
	int rc = cli_parse(cli, argc, argv, BENCH_OPTS, on_opt, b);
	if (rc) {
		free(b);
		return rc == CLI_HELP ? EXIT_OK : rc;
	}
	if ((rc = cli_need_pos(cli, 0, ""))) {
		free(b);
		return rc;
	}
	if (b->count == -2)
		b->count = b->duration_s > 0 ? -1 : b->mode == B_CONSUME ? -3 : 100000;
	if (b->mode == B_E2E && b->size < E2E_HEADER)
		b->size = E2E_HEADER;

	char own_topic[128] = "";
	sl_admin *a = NULL;
	if (!b->topic && b->mode == B_E2E) {
		snprintf(own_topic, sizeof own_topic, "sluice-bench-e2e-%ld-%" PRId64,
		         (long)getpid(), cli_now_us());
		b->topic = own_topic;
		if (!(a = cli_admin(cli)) ||
		    (rc = sl_admin_create_topic(a, own_topic, 1, -1, NULL, 0))) {
			rc = a ? cli_lib_fail("bench", rc) : EXIT_FAIL;
			goto done;
		}
	}
	if (!b->topic)
		b->topic = "sluice-bench";
	sl_conf_set(cli->conf, "topic", b->topic);

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	b->run_id = ((uint64_t)getpid() << 32) ^ (uint64_t)cli_now_us();
	ticker t = {.b = b, .tty = isatty(2) == 1};

	if (b->mode == B_CONSUME) {
		int64_t have = 0;
		if ((rc = topic_messages(cli, b->topic, &have)))
			goto done;
		b->rx_target = b->count == -3 ? (uint64_t)have
		               : b->count > 0 ? (uint64_t)b->count
		                              : 0;
		if (b->count == -3 && have == 0) {
			rc =
			    cli_fail("bench consume: topic '%s' is empty (run bench produce first)",
			             b->topic);
			goto done;
		}
	}
	if (b->mode != B_PRODUCE) {
		if (b->mode == B_E2E && b->count > 0)
			b->rx_target = (uint64_t)b->count;
		atomic_store(&b->last_rx_us, cli_now_us());
		if ((rc = start_queue(cli, b)))
			goto done;
	}
	t.start_us = t.next_us = cli_now_us();
	t.next_us += 1000000;
	if (b->mode != B_CONSUME) {
		sl_pusher *p = sl_pusher_new(cli->conf);
		if (!p) {
			rc = cli_lib_fail("bench", SL_ECONF);
			goto stop;
		}
		sl_pusher_set_delivery_cb(p, on_delivery, b);
		char why[512] = "";
		int prc = b->mode == B_E2E ? warm_up(b, p, cli->timeout_ms) : 0;
		if (prc == SL_ETIMEDOUT)
			snprintf(why, sizeof why,
			         "e2e: the consumer saw no warm-up message within %d ms",
			         cli->timeout_ms);
		t.start_us = t.next_us = cli_now_us();
		t.next_us += 1000000;
		if (!prc)
			prc = produce(b, p, &t);
		if (prc && !why[0])
			snprintf(why, sizeof why, "%s", sl_last_error());
		/* Waiting for the last acknowledgements is part of the run. */
		int frc = sl_pusher_flush(p, 60000);
		if (frc && !why[0])
			snprintf(why, sizeof why, "%s", sl_last_error());
		sl_pusher_close(p);
		if (prc || frc) {
			rc = cli_fail("bench: %s", why[0] ? why : sl_strerror(prc ? prc : frc));
			goto stop;
		}
		/* e2e without a count: wait for what was actually sent. */
		if (b->mode == B_E2E && !b->rx_target) {
			b->rx_target = atomic_load(&b->acked);
			if (atomic_load(&b->received) >= b->rx_target)
				atomic_store(&b->rx_done, true);
		}
		atomic_store(&b->last_rx_us, cli_now_us());
	}
stop:
	if (b->q) {
		if (!rc)
			wait_rx(cli, b, &t);
		sl_queue_stop(b->q);
		sl_queue_free(b->q);
		b->q = NULL;
	}
	if (!rc) {
		double secs = (double)(cli_now_us() - t.start_us) / 1e6;
		/* consume and e2e: first to last counted message (see the top). */
		int64_t f = atomic_load(&b->first_count_us), l = atomic_load(&b->last_count_us);
		if (b->mode != B_PRODUCE && f > 0 && l > f)
			secs = (double)(l - f) / 1e6;
		if (t.tty)
			fputs("\n", stderr);
		report(b, stdout, secs, true);
		if (atomic_load(&b->failed) ||
		    (b->rx_target && atomic_load(&b->received) < b->rx_target && !stop_signal &&
		     !b->duration_s))
			rc = EXIT_FAIL;
	}
done:
	if (own_topic[0] && a)
		sl_admin_delete_topic(a, own_topic);
	sl_admin_free(a);
	free(b);
	return rc;
}
