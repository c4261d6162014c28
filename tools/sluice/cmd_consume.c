/*
 * cmd_consume.c — `sluice consume`: print a topic's messages, as
 * kafka-console-consumer.sh and kcat -C do, through sl_queue.
 *
 * Without -g the queue reads without a group and commits nothing (from
 * the end, --from-beginning or --offset N, on every partition or only
 * --partition P). With -g it joins the group and commits what it printed.
 * One processor thread, so messages of a partition print in offset order.
 *
 * Threads: the handler runs on the queue's processor thread and writes
 * stdout; the main thread only waits for the count, the idle timeout or a
 * signal, reading atomics.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define POLL_MS 20

enum {
	OPT_TOPIC = 't',
	OPT_GROUP = 'g',
	OPT_FORMAT = 'f',
	OPT_COUNT = 'n',
	OPT_FROM_BEGINNING = 300,
	OPT_OFFSET,
	OPT_PARTITION,
};

typedef struct consume_state {
	const char *format;
	uint64_t limit; /* 0 = no limit */
	sl_queue *q;
	atomic_uint_fast64_t printed;
	atomic_int_fast64_t last_us; /* when the last message arrived */
	atomic_bool done;
	atomic_bool write_failed;
	atomic_uint_fast64_t errors;
	atomic_int_fast64_t last_error_us; /* when an error was last printed */
} consume_state;

typedef struct consume_opts {
	const char *topic, *group, *offset;
	int64_t partition;
	bool from_beginning;
	consume_state *st;
} consume_opts;

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int on_opt(cli_t *cli, int id, const char *arg, void *stp)
{
	consume_opts *o = stp;
	int64_t v;
	int rc;
	switch (id) {
	case OPT_TOPIC:
		o->topic = arg;
		return cli_conf_set(cli, "topic", arg);
	case OPT_GROUP:
		o->group = arg;
		return cli_conf_set(cli, "group", arg);
	case OPT_FORMAT:
		o->st->format = arg;
		return 0;
	case OPT_COUNT:
		if ((rc = cli_int(cli, "--count", arg, 1, INT64_MAX, &v)))
			return rc;
		o->st->limit = (uint64_t)v;
		return 0;
	case OPT_FROM_BEGINNING:
		o->from_beginning = true;
		return 0;
	case OPT_OFFSET:
		if ((rc = cli_int(cli, "--offset", arg, 0, INT64_MAX, &v)))
			return rc;
		o->offset = arg;
		return 0;
	case OPT_PARTITION:
		return cli_int(cli, "--partition", arg, 0, INT32_MAX, &o->partition);
	default:
		return cli_usage(cli, "unexpected option");
	}
}

/* Writes one message as the format says (see the usage text). */
static void print_msg(FILE *f, const char *fmt, const sl_message *m)
{
	for (const char *p = fmt; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			fputc(*p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p, f);
			continue;
		}
		if (*p != '%' || !p[1]) {
			fputc(*p, f);
			continue;
		}
		switch (*++p) {
		case 't':
			fputs(m->topic, f);
			break;
		case 'p':
			fprintf(f, "%" PRId32, m->partition);
			break;
		case 'o':
			fprintf(f, "%" PRId64, m->offset);
			break;
		case 'T':
			fprintf(f, "%" PRId64, m->timestamp_ms);
			break;
		case 'k':
			if (m->key)
				fwrite(m->key, 1, m->key_len, f);
			break;
		case 's': /* kcat's spelling */
		case 'v':
			if (m->value)
				fwrite(m->value, 1, m->value_len, f);
			break;
		case 'K':
			fprintf(f, "%zd", m->key ? (ssize_t)m->key_len : (ssize_t)-1);
			break;
		case 'S':
			fprintf(f, "%zd", m->value ? (ssize_t)m->value_len : (ssize_t)-1);
			break;
		case 'h':
			for (size_t i = 0; i < m->header_count; i++) {
				fprintf(f, "%s%s=", i ? "," : "", m->headers[i].key);
				if (m->headers[i].value)
					fwrite(m->headers[i].value, 1, m->headers[i].value_len, f);
			}
			break;
		case '%':
			fputc('%', f);
			break;
		default:
			fputc('%', f);
			fputc(*p, f);
		}
	}
}

static int handler(const sl_message *m, void *user)
{
	consume_state *s = user;
	atomic_store(&s->last_us, cli_now_us());
	/* Past the count (messages already fetched when the stop was asked
	 * for): not printed. */
	if (atomic_load(&s->done))
		return 0;
	print_msg(stdout, s->format, m);
	if (fflush(stdout) != 0)
		atomic_store(&s->write_failed, true);
	uint64_t n = atomic_fetch_add(&s->printed, 1) + 1;
	if (s->limit && n >= s->limit) {
		atomic_store(&s->done, true);
		sl_queue_request_stop(s->q);
	}
	return 0;
}

/* Fetch and commit failures: worth a line, not an exit (librdkafka keeps
 * retrying), but at most one line a second, so a broker that is down does
 * not flood stderr; the rest are counted. Runs on queue threads. */
static void on_error(const sl_message *m, int err, const char *reason, void *user)
{
	(void)m;
	consume_state *s = user;
	atomic_fetch_add(&s->errors, 1);
	int64_t now = cli_now_us(), last = atomic_load(&s->last_error_us);
	if (now - last < 1000000 || !atomic_compare_exchange_strong(&s->last_error_us, &last, now))
		return;
	fprintf(stderr, "sluice: consume: %s\n", reason && *reason ? reason : sl_strerror(err));
}

/* The topic must exist (and the cluster answer) before the queue starts:
 * otherwise a typo or a dead broker would just wait forever. */
static int check_topic(cli_t *cli, const char *topic, int64_t partition)
{
	sl_topic_info *t;
	int rc = cli_describe_topic(cli, topic, "consume", &t);
	if (rc)
		return rc;
	bool found = partition < 0;
	for (size_t i = 0; i < t->partition_count; i++)
		found = found || t->partitions[i].partition == partition;
	sl_topic_info_free(t);
	if (!found)
		return cli_fail("consume: topic '%s' has no partition %" PRId64, topic, partition);
	return 0;
}

static const cli_opt CONSUME_OPTS[] = {
    {"topic", OPT_TOPIC, 1},
    {"group", OPT_GROUP, 1},
    {"format", OPT_FORMAT, 1},
    {"count", OPT_COUNT, 1},
    {"max-messages", OPT_COUNT, 1},
    {"from-beginning", OPT_FROM_BEGINNING, 0},
    {"offset", OPT_OFFSET, 1},
    {"partition", OPT_PARTITION, 1},
    {NULL, 0, 0},
};

int cmd_consume(cli_t *cli, int argc, char **argv)
{
	consume_state st = {.format = "%v\n"};
	consume_opts o = {.partition = -1, .st = &st};
	/* Console defaults: one fetcher, one processor (order), prompt fetches
	 * and commits. */
	sl_conf_set(cli->conf, "conns", "1");
	sl_conf_set(cli->conf, "consumers", "1");
	sl_conf_set(cli->conf, "processors", "1");
	sl_conf_set(cli->conf, "min.bytes", "1");
	sl_conf_set(cli->conf, "max.wait", "100");
	sl_conf_set(cli->conf, "commit.interval", "200");
	sl_conf_set(cli->conf, "max.attempts", "1");
	CLI_PARSE(cli, argc, argv, CONSUME_OPTS, on_opt, &o, 0, "");
	int rc;
	const char *topic = sl_conf_get(cli->conf, "topic");
	if (!*topic)
		return cli_usage(cli, "missing -t TOPIC");
	if (o.from_beginning && o.offset)
		return cli_usage(cli, "give --from-beginning or --offset, not both");
	if (o.group && (o.offset || o.partition >= 0))
		return cli_usage(cli, "--offset and --partition read without a group: drop -g");
	if ((rc = cli_conf_set(cli, "offset",
	                       o.from_beginning ? "first"
	                       : o.offset       ? o.offset
	                                        : "last")))
		return rc;
	if ((rc = check_topic(cli, topic, o.partition)))
		return rc;

	st.q = sl_queue_new(cli->conf, handler, &st);
	if (!st.q)
		return cli_lib_fail("consume", SL_ECONF);
	atomic_store(&st.last_error_us, cli_now_us() - 2000000);
	sl_queue_set_error_cb(st.q, on_error, &st);
	if (o.partition >= 0 && (rc = sl_queue_set_partition(st.q, (int32_t)o.partition))) {
		sl_queue_free(st.q);
		return cli_lib_fail("consume", rc);
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	atomic_store(&st.last_us, cli_now_us());
	if ((rc = sl_queue_start(st.q))) {
		sl_queue_free(st.q);
		return cli_lib_fail("consume", rc);
	}
	/* --timeout-ms is the idle limit here (kafka-console-consumer's
	 * --timeout-ms); without it, run until the count or a signal. */
	int64_t idle_us = cli->timeout_given ? (int64_t)cli->timeout_ms * 1000 : -1;
	const struct timespec tick = {0, POLL_MS * 1000000L};
	while (!atomic_load(&st.done) && !stop_signal && !atomic_load(&st.write_failed)) {
		if (idle_us >= 0 && cli_now_us() - atomic_load(&st.last_us) > idle_us)
			break;
		nanosleep(&tick, NULL);
	}
	atomic_store(&st.done, true);
	rc = sl_queue_stop(st.q);
	sl_queue_free(st.q);
	if (atomic_load(&st.write_failed))
		return cli_fail("consume: cannot write to stdout");
	if (rc)
		return cli_lib_fail("consume", rc);
	return EXIT_OK;
}
