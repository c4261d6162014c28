/*
 * main.c — the sluice command-line tool: the command table and dispatch.
 *
 * One table row per command (name, summary, handler, usage) drives both
 * dispatch and every help text: `sluice --help` lists the rows, `sluice
 * topics --help` the rows of that family, `sluice topics create --help`
 * one row's usage. A command of two words ("topics create") is matched
 * before one of one word. The user documentation is docs/cli.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define KAFKA_OPTS "[-b BROKERS] [--user U --password P [--sasl-mechanism M]] "
#define BSTK                                                                           \
	"  --beanstalk HOST:PORT    beanstalkd server (env SLUICE_BEANSTALK, default " \
	"localhost:11300)\n"

#define USERS_OPTS "[--redis HOST:PORT] [--user ADMIN --password P] [--tls-ca FILE] "
#define USERS_HELP                                                                          \
	"  --redis HOST:PORT        sluiced's RESP port (env SLUICE_REDIS, default "        \
	"localhost:6379)\n"                                                                 \
	"  --user, --password       the admin's credentials (a user allowed ACL SETUSER)\n" \
	"  --tls-ca FILE            connect over TLS, trusting this CA\n"

/* clang-format off */
const cli_cmd CLI_COMMANDS[] = {
    {"produce", "produce one message per line of stdin (or --value) to a topic", cmd_produce,
     KAFKA_OPTS "-t TOPIC [options]\n\n"
     "  -t, --topic TOPIC        topic to produce to (required)\n"
     "  -k, --key KEY            key of every message\n"
     "  -K, --key-delimiter SEP  split each line at the first SEP into key and value\n"
     "  -H, --header KEY=VALUE   add a header to every message (repeatable)\n"
     "  -p, --partition N        produce to partition N (balancer manual)\n"
     "  --partitioner NAME       least-bytes|hash|round-robin|random|crc16 (default least-bytes)\n"
     "  --acks 0|1|all           acknowledgements to wait for (default all)\n"
     "  --compression NAME       none|gzip|snappy|lz4|zstd (default snappy)\n"
     "  --value VALUE            produce VALUE once instead of reading stdin\n"
     "Prints nothing on success; exit 1 if any message was not delivered."},
    {"consume", "print messages of a topic, with or without a consumer group", cmd_consume,
     KAFKA_OPTS "-t TOPIC [options]\n\n"
     "  -t, --topic TOPIC        topic to read (required)\n"
     "  -g, --group GROUP        join GROUP and commit (default: no group, nothing committed)\n"
     "  --from-beginning         start at the log start without a committed offset\n"
     "  --offset N               without a group: start at offset N\n"
     "  --partition P            without a group: read only partition P\n"
     "  -f, --format FMT         output format (default \"%v\\n\"): %t topic, %p partition,\n"
     "                           %o offset, %k key, %v (or %s) value, %T timestamp (ms), %h headers\n"
     "                           (k=v,k=v), %K key length, %S value length, %% a %, \\n \\t \\\\\n"
     "  -n, --count N            exit after N messages\n"
     "  --timeout-ms MS          exit after MS without a message (default: never)"},
    {"topics list", "list topics", cmd_topics_list,
     KAFKA_OPTS "[--internal]\n\n"
     "  --internal               include internal topics (__...)\n"
     "Prints one topic name per line."},
    {"topics create", "create a topic", cmd_topics_create,
     KAFKA_OPTS "NAME [--partitions N] [--replication-factor N] [--config KEY=VALUE]...\n\n"
     "  --partitions N           number of partitions (default 1)\n"
     "  --replication-factor N   replicas per partition (default: the broker's)\n"
     "  --config KEY=VALUE       topic config (repeatable)"},
    {"topics describe", "show a topic's partitions, leaders, offsets and configs", cmd_topics_describe,
     KAFKA_OPTS "NAME\n\n"
     "  Output as kafka-topics.sh --describe, plus each partition's offsets."},
    {"topics delete", "delete a topic", cmd_topics_delete, KAFKA_OPTS "NAME"},
    {"topics alter", "add partitions to a topic or change its configs", cmd_topics_alter,
     KAFKA_OPTS "NAME [--partitions N] [--config KEY=VALUE]... [--delete-config KEY]...\n\n"
     "  --partitions N           grow the topic to N partitions (CreatePartitions)\n"
     "  --config KEY=VALUE       set a topic config, keeping the others (repeatable)\n"
     "  --delete-config KEY      remove a topic config override (repeatable)"},
    {"groups list", "list consumer groups", cmd_groups_list,
     KAFKA_OPTS "[--state]\n\n"
     "  --state                  print GROUP and STATE columns"},
    {"groups describe", "show a group's state, members, offsets and lag", cmd_groups_describe,
     KAFKA_OPTS "GROUP [--members]\n\n"
     "  --members                list the members instead of the partitions\n"
     "Columns as kafka-consumer-groups.sh --describe: GROUP TOPIC PARTITION\n"
     "CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID."},
    {"groups reset-offsets", "plan or execute a reset of a group's offsets", cmd_groups_reset,
     KAFKA_OPTS "GROUP -t TOPIC[:PARTITION] (--to-earliest|--to-latest|--to-offset N) [--execute]\n\n"
     "  -t, --topic TOPIC[:P]    the topic (or one partition of it)\n"
     "  --to-earliest            the log start offset\n"
     "  --to-latest              the log end offset\n"
     "  --to-offset N            offset N (clamped into the log)\n"
     "  --execute                commit the new offsets (the group must be inactive);\n"
     "                           without it, only print the plan (a dry run)\n"
     "Prints GROUP TOPIC PARTITION NEW-OFFSET."},
    {"groups delete", "delete an inactive consumer group", cmd_groups_delete, KAFKA_OPTS "GROUP"},
    {"jobs put", "put a job (body from --body or stdin)", cmd_jobs_put,
     "[--beanstalk HOST:PORT] [--tube TUBE] [--pri N] [--delay S] [--ttr S] [--body BODY]\n\n" BSTK
     "  --tube TUBE              tube (default \"default\")\n"
     "  --pri N, --delay S, --ttr S  priority (default 1024), delay (0), time to run (60)\n"
     "  --body BODY              the body (default: all of stdin)\n"
     "Prints the new job's id."},
    {"jobs reserve", "reserve a job and print it", cmd_jobs_reserve,
     "[--beanstalk HOST:PORT] [--tube TUBE] [--timeout S] [--delete|--release|--bury]\n\n" BSTK
     "  --tube TUBE              tube to watch (default \"default\")\n"
     "  --timeout S              wait at most S seconds (default 0; -1 = forever)\n"
     "  --delete                 delete the job once printed\n"
     "  --release                release it again\n"
     "  --bury                   bury it\n"
     "Prints \"<id> <body>\"; exit 1 with 'timed out' if none came."},
    {"jobs delete", "delete a job", cmd_jobs_delete, "[--beanstalk HOST:PORT] ID\n\n" BSTK},
    {"jobs peek", "show a job without reserving it", cmd_jobs_peek,
     "[--beanstalk HOST:PORT] [--tube TUBE] (ID|ready|delayed|buried)\n\n" BSTK
     "Prints \"<id> <body>\"; exit 1 with 'not found' if there is none."},
    {"jobs kick", "kick buried (else delayed) jobs back to ready", cmd_jobs_kick,
     "[--beanstalk HOST:PORT] [--tube TUBE] [BOUND | --id ID]\n\n" BSTK
     "  BOUND                    kick at most BOUND jobs (default 1)\n"
     "  --id ID                  kick one job by id\n"
     "Prints the number of jobs kicked."},
    {"jobs stats", "server, tube or job statistics (YAML)", cmd_jobs_stats,
     "[--beanstalk HOST:PORT] [--tube TUBE | --id ID]\n\n" BSTK
     "Prints the server's YAML reply as it is."},
    {"jobs tubes", "list tubes", cmd_jobs_tubes, "[--beanstalk HOST:PORT]\n\n" BSTK},
    {"users add", "add a user (Kafka SASL, Redis AUTH and ACL, one database)", cmd_users_add,
     USERS_OPTS "USER [--new-password P] [--rules RULES]\n\n" USERS_HELP
     "  --new-password P         the user's password (default: asked on the terminal\n"
     "                           without echo, or one line of stdin)\n"
     "  --rules RULES            Redis ACL rules (default \"~* &* +@all\")"},
    {"users list", "list the users", cmd_users_list,
     USERS_OPTS "[--long]\n\n" USERS_HELP
     "  --long                   print each user's rules (ACL LIST)"},
    {"users delete", "delete a user (its connections are closed)", cmd_users_delete,
     USERS_OPTS "USER\n\n" USERS_HELP},
    {"users passwd", "set a user's password (replacing its passwords)", cmd_users_passwd,
     USERS_OPTS "USER [--new-password P]\n\n" USERS_HELP
     "  --new-password P         the new password (default: asked without echo)"},
    {"status", "show what a sluiced serves: ports, topics, groups, tubes, disk use", cmd_status,
     "[--http HOST:PORT] [--json]\n\n"
     "  --http HOST:PORT         sluiced's HTTP port (env SLUICE_HTTP, default localhost:8080)\n"
     "  --json                   print sluiced's /status JSON as it is"},
    {"bench produce", "produce load: COUNT messages of SIZE bytes", cmd_bench,
     KAFKA_OPTS "[-t TOPIC] [-n COUNT] [-s SIZE] [--duration S] [--acks 0|1|all] [--rate R]\n\n"
     "  -t, --topic TOPIC        topic (default sluice-bench)\n"
     "  -n, --count N            messages (default 100000)\n"
     "  -s, --size BYTES         value size (default 100)\n"
     "  --duration S             stop after S seconds\n"
     "  --acks 0|1|all           (default 1)\n"
     "  --rate R                 at most R messages per second\n"
     "Progress on stderr once a second; one summary line on stdout."},
    {"bench consume", "consume load: read COUNT messages from the start of a topic", cmd_bench,
     KAFKA_OPTS "[-t TOPIC] [-n COUNT] [--duration S]\n\n"
     "  Options as bench produce; ends after COUNT messages or S seconds or\n"
     "  when no message came for --timeout-ms (default 10000)."},
    {"bench e2e", "end-to-end latency: produce and consume at once", cmd_bench,
     KAFKA_OPTS "[-t TOPIC] [-n COUNT] [-s SIZE] [--duration S] [--acks] [--rate R]\n\n"
     "  Latency is from the send time written in each payload to its arrival."},
    {NULL, NULL, NULL, NULL},
};
/* clang-format on */

static const cli_cmd *find(const char *name)
{
	for (const cli_cmd *c = CLI_COMMANDS; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/* Prints (f non-NULL) and counts the rows whose name starts with
 * "family " (or all rows for family NULL). */
static int list(FILE *f, const char *family)
{
	size_t fl = family ? strlen(family) : 0;
	int n = 0;
	for (const cli_cmd *c = CLI_COMMANDS; c->name; c++) {
		if (family && (strncmp(c->name, family, fl) || c->name[fl] != ' '))
			continue;
		if (f)
			fprintf(f, "  %-22s %s\n", c->name, c->summary);
		n++;
	}
	return n;
}

static void overview(FILE *f)
{
	fprintf(f, "usage: sluice COMMAND [ARGS]   (sluice COMMAND --help for its options)\n\n"
	           "commands:\n");
	list(f, NULL);
	fprintf(f, "\nsluice %s; documentation: docs/cli.md\n", SL_VERSION_STRING);
}

/* `sluice topics --help`: the rows of one family. */
static int family_help(const char *family)
{
	printf("usage: sluice %s SUBCOMMAND [ARGS]\n\nsubcommands:\n", family);
	list(stdout, family);
	return EXIT_OK;
}

static bool is_help(const char *s)
{
	return !strcmp(s, "--help") || !strcmp(s, "-h") || !strcmp(s, "help");
}

static int run(const cli_cmd *cmd, int argc, char **argv)
{
	cli_t cli = {.cmd = cmd, .timeout_ms = 10000};
	cli.conf = sl_conf_new();
	if (!cli.conf)
		return cli_fail("out of memory");
	int rc = cmd->run(&cli, argc, argv);
	sl_conf_free(cli.conf);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		overview(stderr);
		return EXIT_USAGE;
	}
	const char *w = argv[1];
	if (!strcmp(w, "--version") || !strcmp(w, "version")) {
		printf("sluice %s\n", SL_VERSION_STRING);
		return EXIT_OK;
	}
	if (!strcmp(w, "--help") || !strcmp(w, "-h")) {
		overview(stdout);
		return EXIT_OK;
	}
	/* "help CMD [SUB]" is "CMD [SUB] --help". */
	if (!strcmp(w, "help")) {
		if (argc < 3) {
			overview(stdout);
			return EXIT_OK;
		}
		argv++;
		argc--;
		w = argv[1];
		char name[128];
		snprintf(name, sizeof name, "%s %s", w, argc > 2 ? argv[2] : "");
		const cli_cmd *c = argc > 2 ? find(name) : NULL;
		if (!c)
			c = find(w);
		if (c) {
			cli_print_usage(c, stdout);
			return EXIT_OK;
		}
		if (list(NULL, w))
			return family_help(w);
		fprintf(stderr, "sluice: unknown command '%s' (see 'sluice --help')\n", w);
		return EXIT_USAGE;
	}
	if (argc > 2) {
		char name[128];
		snprintf(name, sizeof name, "%s %s", w, argv[2]);
		const cli_cmd *c = find(name);
		if (c)
			return run(c, argc - 2, argv + 2);
	}
	const cli_cmd *c = find(w);
	if (c)
		return run(c, argc - 1, argv + 1);
	/* A family without (or with an unknown) subcommand. */
	if (list(NULL, w)) {
		if (argc > 2 && is_help(argv[2]))
			return family_help(w);
		if (argc > 2)
			fprintf(stderr,
			        "sluice: %s: unknown subcommand '%s' (see 'sluice %s --help')\n", w,
			        argv[2], w);
		else
			fprintf(stderr, "sluice: %s: missing subcommand (see 'sluice %s --help')\n",
			        w, w);
		return EXIT_USAGE;
	}
	fprintf(stderr, "sluice: unknown command '%s' (see 'sluice --help')\n", w);
	return EXIT_USAGE;
}
