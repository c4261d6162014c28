/*
 * cmd_produce.c — `sluice produce`: one message per line of stdin (or one
 * --value), as kafka-console-producer.sh does, through sl_pusher.
 *
 * A missing topic follows the broker, as kcat and Kafka's console producer
 * do: the tool sends one Metadata request for the topic that allows
 * auto-creation; if the broker creates it (auto.create.topics.enable),
 * produce goes on, otherwise it is one error line at once.
 *
 * Lines lose their trailing "\n" only; an empty line is an empty message.
 * Messages are sent asynchronously and flushed at EOF; the exit status is
 * 1 if any was not delivered (the first reason is printed). The delivery
 * callback runs on the pusher's thread and only touches atomics.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
/* The library's librdkafka configuration (brokers, client id, SASL), for
 * the one auto-creating Metadata request the public API does not offer. */
#include "rdk.h"

#define MAX_HEADERS 64
#define FLUSH_TIMEOUT_MS 60000

enum {
	OPT_TOPIC = 't',
	OPT_KEY = 'k',
	OPT_KEY_DELIM = 'K',
	OPT_HEADER = 'H',
	OPT_PARTITION = 'p',
	OPT_PARTITIONER = 300,
	OPT_ACKS,
	OPT_COMPRESSION,
	OPT_VALUE,
};

typedef struct produce_opts {
	const char *topic, *key, *delim, *value;
	int64_t partition;
	sl_header headers[MAX_HEADERS];
	size_t nheaders;
} produce_opts;

typedef struct produce_state {
	atomic_uint_fast64_t failed;
	atomic_flag have_reason;
	char reason[256]; /* written once, by whoever set have_reason first */
} produce_state;

static int on_opt(cli_t *cli, int id, const char *arg, void *st)
{
	produce_opts *o = st;
	char *k, *v;
	switch (id) {
	case OPT_TOPIC:
		o->topic = arg;
		return cli_conf_set(cli, "topic", arg);
	case OPT_KEY:
		o->key = arg;
		return 0;
	case OPT_KEY_DELIM:
		if (!*arg)
			return cli_usage(cli, "-K: the separator is empty");
		o->delim = arg;
		return 0;
	case OPT_VALUE:
		o->value = arg;
		return 0;
	case OPT_HEADER:
		if (o->nheaders == MAX_HEADERS)
			return cli_usage(cli, "too many headers");
		if (!cli_split_kv((char *)arg, &k, &v))
			return cli_usage(cli, "-H: expected KEY=VALUE, got '%s'", arg);
		o->headers[o->nheaders++] = (sl_header){k, v, strlen(v)};
		return 0;
	case OPT_PARTITION: {
		int rc = cli_int(cli, "--partition", arg, 0, INT32_MAX, &o->partition);
		return rc ? rc : cli_conf_set(cli, "balancer", "manual");
	}
	case OPT_PARTITIONER:
		return cli_conf_set(cli, "balancer", arg);
	case OPT_ACKS:
		return cli_conf_set(cli, "acks", arg);
	case OPT_COMPRESSION:
		return cli_conf_set(cli, "compression", arg);
	default:
		return cli_usage(cli, "unexpected option");
	}
}

static void on_delivery(const sl_delivery *d, void *user)
{
	produce_state *s = user;
	if (!d->err)
		return;
	atomic_fetch_add(&s->failed, 1);
	if (!atomic_flag_test_and_set(&s->have_reason))
		snprintf(s->reason, sizeof s->reason, "%s",
		         d->reason && *d->reason ? d->reason : sl_strerror(d->err));
}

static int push(sl_pusher *p, const produce_opts *o, const char *key, size_t klen,
                const char *value, size_t vlen)
{
	sl_out_message m = {
	    .key = key,
	    .key_len = klen,
	    .value = value,
	    .value_len = vlen,
	    .headers = o->headers,
	    .header_count = o->nheaders,
	    .partition = o->partition >= 0 ? (int32_t)o->partition : -1,
	};
	return sl_push_msg(p, &m);
}

/* Asks for topic's metadata allowing auto-creation, as a producer's
 * Metadata request does (librdkafka sends AllowAutoTopicCreation from
 * allow.auto.create.topics). *exists says whether the topic is there
 * afterwards. Kafka may answer LEADER_NOT_AVAILABLE while a topic it just
 * created gets its partitions; that is asked again within the timeout.
 * 0, or EXIT_FAIL (printed). */
static int create_by_metadata(cli_t *cli, const char *topic, bool *exists)
{
	*exists = false;
	char why[256];
	rd_kafka_conf_t *rc = lib_rdk_conf(cli->conf);
	if (!rc || lib_rdk_set(rc, "allow.auto.create.topics", "true")) {
		if (rc)
			rd_kafka_conf_destroy(rc);
		return cli_lib_fail("produce", SL_ECONF);
	}
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, why, sizeof why);
	if (!rk) {
		rd_kafka_conf_destroy(rc);
		return cli_fail("produce: %s", why);
	}
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int ret = 0;
	int64_t deadline = lib_now_ms() + cli->timeout_ms;
	for (;;) {
		int64_t left = deadline - lib_now_ms();
		const struct rd_kafka_metadata *md = NULL;
		rd_kafka_resp_err_t e =
		    rd_kafka_metadata(rk, 0, rkt, &md, left > 0 ? (int)left : 1);
		if (e) {
			ret = cli_fail("produce: no metadata for topic '%s' from %s: %s", topic,
			               sl_conf_get(cli->conf, "brokers"), rd_kafka_err2str(e));
			break;
		}
		rd_kafka_resp_err_t terr = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
		int nparts = 0;
		for (int i = 0; i < md->topic_cnt; i++) {
			if (strcmp(md->topics[i].topic, topic) == 0) {
				terr = md->topics[i].err;
				nparts = md->topics[i].partition_cnt;
			}
		}
		rd_kafka_metadata_destroy(md);
		if (terr == RD_KAFKA_RESP_ERR_NO_ERROR && nparts > 0) {
			*exists = true;
			break;
		}
		if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
			break;
		if ((terr != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
		     terr != RD_KAFKA_RESP_ERR_NO_ERROR) ||
		    lib_now_ms() >= deadline) {
			ret =
			    cli_fail("produce: topic '%s': %s", topic,
			             rd_kafka_err2str(terr ? terr : RD_KAFKA_RESP_ERR__TIMED_OUT));
			break;
		}
	}
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return ret;
}

/* Asks the cluster for its topics first, within --timeout-ms: a dead
 * broker or a missing topic is then one quick error line (the pusher's
 * own check waits 10 s). A missing topic is created if the broker
 * auto-creates topics; with -o auto.create=true the pusher's own requests
 * may create it later, so the tool does not ask. */
static int check_topic(cli_t *cli, const char *topic)
{
	sl_admin *a = cli_admin(cli);
	if (!a)
		return EXIT_FAIL;
	sl_topic_list *l;
	int rc = sl_admin_list_topics(a, true, &l);
	sl_admin_free(a);
	if (rc)
		return cli_lib_fail("produce", rc);
	bool found = false;
	for (size_t i = 0; i < l->count && !found; i++)
		found = !strcmp(l->topics[i].name, topic);
	sl_topic_list_free(l);
	if (found || !strcmp(sl_conf_get(cli->conf, "auto.create"), "true"))
		return 0;
	if ((rc = create_by_metadata(cli, topic, &found)))
		return rc;
	if (!found)
		return cli_fail("produce: topic '%s' does not exist and the broker does not "
		                "create topics on use (create it: sluice topics create %s)",
		                topic, topic);
	return 0;
}

static const cli_opt PRODUCE_OPTS[] = {
    {"topic", OPT_TOPIC, 1},
    {"key", OPT_KEY, 1},
    {"key-delimiter", OPT_KEY_DELIM, 1},
    {"header", OPT_HEADER, 1},
    {"partition", OPT_PARTITION, 1},
    {"partitioner", OPT_PARTITIONER, 1},
    {"acks", OPT_ACKS, 1},
    {"compression", OPT_COMPRESSION, 1},
    {"value", OPT_VALUE, 1},
    {NULL, 0, 0},
};

int cmd_produce(cli_t *cli, int argc, char **argv)
{
	produce_opts o = {.partition = -1};
	/* A console producer sends each line promptly; -o and --config may
	 * still raise it. */
	sl_conf_set(cli->conf, "flush.interval", "5");
	CLI_PARSE(cli, argc, argv, PRODUCE_OPTS, on_opt, &o, 0, "");
	int rc;
	if (!o.topic && !*sl_conf_get(cli->conf, "topic"))
		return cli_usage(cli, "missing -t TOPIC");
	if (o.key && o.delim)
		return cli_usage(cli, "give -k or -K, not both");
	if (o.partition >= 0) {
		char buf[24];
		snprintf(buf, sizeof buf, "%" PRId64, o.partition);
		if ((rc = cli_conf_set(cli, "partition", buf)))
			return rc;
	}
	if ((rc = check_topic(cli, sl_conf_get(cli->conf, "topic"))))
		return rc;
	produce_state st = {.have_reason = ATOMIC_FLAG_INIT};
	sl_pusher *p = sl_pusher_new(cli->conf);
	if (!p)
		return cli_lib_fail("produce", SL_ECONF);
	sl_pusher_set_delivery_cb(p, on_delivery, &st);

	uint64_t sent = 0, lineno = 0;
	size_t klen = o.key ? strlen(o.key) : 0;
	if (o.value) {
		rc = push(p, &o, o.key, klen, o.value, strlen(o.value));
		sent = rc ? 0 : 1;
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		size_t dl = o.delim ? strlen(o.delim) : 0;
		while (!rc && (n = getline(&line, &cap, stdin)) >= 0) {
			lineno++;
			if (n > 0 && line[n - 1] == '\n')
				line[--n] = 0;
			if (o.delim) {
				char *sep = memmem(line, (size_t)n, o.delim, dl);
				if (!sep) {
					free(line);
					sl_pusher_close(p);
					return cli_fail(
					    "produce: no key separator '%s' on line %" PRIu64,
					    o.delim, lineno);
				}
				rc = push(p, &o, line, (size_t)(sep - line), sep + dl,
				          (size_t)(line + n - sep - (ptrdiff_t)dl));
			} else {
				rc = push(p, &o, o.key, klen, line, (size_t)n);
			}
			if (!rc)
				sent++;
		}
		free(line);
	}
	char why[512] = "";
	if (rc)
		snprintf(why, sizeof why, "%s", sl_last_error());
	int frc = sl_pusher_flush(p, FLUSH_TIMEOUT_MS);
	if (frc && !why[0])
		snprintf(why, sizeof why, "%s", sl_last_error());
	int crc = sl_pusher_close(p);
	uint64_t failed = atomic_load(&st.failed);
	if (rc)
		return cli_fail("produce: %s", why[0] ? why : sl_strerror(rc));
	if (failed)
		return cli_fail("produce: %" PRIu64 " of %" PRIu64 " messages not delivered: %s",
		                failed, sent,
		                atomic_flag_test_and_set(&st.have_reason) ? st.reason : "?");
	if (frc || crc)
		return cli_fail("produce: %s", why[0] ? why : sl_strerror(frc ? frc : crc));
	return EXIT_OK;
}
