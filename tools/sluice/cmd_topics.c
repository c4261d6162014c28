/*
 * cmd_topics.c — `sluice topics list|create|describe|delete|alter`, over
 * sl_admin; output as kafka-topics.sh prints it where it has an
 * equivalent.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_CONFIGS 64

enum {
	OPT_PARTITIONS = 300,
	OPT_RF,
	OPT_INTERNAL,
	OPT_DELETE_CONFIG,
	OPT_IF_NOT_EXISTS,
	OPT_IF_EXISTS,
};

typedef struct topics_opts {
	int64_t partitions; /* 0 = not given */
	int64_t rf;
	bool internal, if_not_exists, if_exists;
	sl_kv configs[MAX_CONFIGS];
	size_t nconfigs;
} topics_opts;

static int on_opt(cli_t *cli, int id, const char *arg, void *st)
{
	topics_opts *o = st;
	char *k, *v;
	switch (id) {
	case OPT_PARTITIONS:
		return cli_int(cli, "--partitions", arg, 1, 100000, &o->partitions);
	case OPT_RF:
		return cli_int(cli, "--replication-factor", arg, 1, 1000, &o->rf);
	case OPT_INTERNAL:
		o->internal = true;
		return 0;
	case OPT_IF_NOT_EXISTS:
		o->if_not_exists = true;
		return 0;
	case OPT_IF_EXISTS:
		o->if_exists = true;
		return 0;
	case CLI_OPT_CONFIG:
	case OPT_DELETE_CONFIG:
		if (o->nconfigs == MAX_CONFIGS)
			return cli_usage(cli, "too many configs");
		/* optarg points into argv, which lives as long as the process. */
		if (id == OPT_DELETE_CONFIG) {
			o->configs[o->nconfigs++] = (sl_kv){arg, NULL};
			return 0;
		}
		if (!cli_split_kv((char *)arg, &k, &v))
			return cli_usage(cli, "--config: expected KEY=VALUE, got '%s'", arg);
		o->configs[o->nconfigs++] = (sl_kv){k, v};
		return 0;
	default:
		return cli_usage(cli, "unexpected option");
	}
}

static const cli_opt LIST_OPTS[] = {{"internal", OPT_INTERNAL, 0}, {NULL, 0, 0}};

int cmd_topics_list(cli_t *cli, int argc, char **argv)
{
	topics_opts o = {0};
	sl_admin *a;
	int rc = cli_admin_open(cli, argc, argv, LIST_OPTS, on_opt, &o, 0, "", &a);
	if (!a)
		return rc;
	sl_topic_list *l;
	rc = sl_admin_list_topics(a, o.internal, &l);
	sl_admin_free(a);
	if (rc)
		return cli_lib_fail("topics list", rc);
	for (size_t i = 0; i < l->count; i++)
		printf("%s\n", l->topics[i].name);
	sl_topic_list_free(l);
	return EXIT_OK;
}

static const cli_opt CREATE_OPTS[] = {
    {"partitions", OPT_PARTITIONS, 1},
    {"replication-factor", OPT_RF, 1},
    {"config", CLI_OPT_CONFIG, 1},
    {"if-not-exists", OPT_IF_NOT_EXISTS, 0},
    {NULL, 0, 0},
};

int cmd_topics_create(cli_t *cli, int argc, char **argv)
{
	topics_opts o = {0};
	sl_admin *a;
	int rc = cli_admin_open(cli, argc, argv, CREATE_OPTS, on_opt, &o, 1, "topic NAME", &a);
	if (!a)
		return rc;
	const char *name = cli->pos[0];
	rc = sl_admin_create_topic(a, name, o.partitions ? (int)o.partitions : 1,
	                           o.rf ? (int)o.rf : -1, o.configs, o.nconfigs);
	sl_admin_free(a);
	if (rc == SL_EEXIST && o.if_not_exists)
		return EXIT_OK;
	if (rc)
		return cli_lib_fail("topics create", rc);
	printf("Created topic %s.\n", name);
	return EXIT_OK;
}

static void print_ids(const int32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%" PRId32, i ? "," : "", ids[i]);
}

int cmd_topics_describe(cli_t *cli, int argc, char **argv)
{
	sl_admin *a;
	int rc = cli_admin_open(cli, argc, argv, NULL, NULL, NULL, 1, "topic NAME", &a);
	if (!a)
		return rc;
	sl_topic_info *t;
	rc = sl_admin_describe_topic(a, cli->pos[0], &t);
	sl_admin_free(a);
	if (rc)
		return cli_lib_fail("topics describe", rc);
	size_t rf = t->partition_count ? t->partitions[0].replica_count : 0;
	printf("Topic: %s\tPartitionCount: %zu\tReplicationFactor: %zu\tConfigs: ", t->name,
	       t->partition_count, rf);
	int n = 0;
	for (size_t i = 0; i < t->config_count; i++) {
		const sl_config_entry *e = &t->configs[i];
		if (e->is_default)
			continue;
		printf("%s%s=%s", n++ ? "," : "", e->name,
		       e->sensitive ? "<sensitive>"
		       : e->value   ? e->value
		                    : "null");
	}
	printf("\n");
	for (size_t i = 0; i < t->partition_count; i++) {
		const sl_partition_info *p = &t->partitions[i];
		printf("\tTopic: %s\tPartition: %" PRId32 "\tLeader: %" PRId32 "\tReplicas: ",
		       t->name, p->partition, p->leader);
		print_ids(p->replicas, p->replica_count);
		printf("\tIsr: ");
		print_ids(p->isr, p->isr_count);
		printf("\tLogStartOffset: %" PRId64 "\tLogEndOffset: %" PRId64 "\n",
		       p->low_watermark, p->high_watermark);
	}
	sl_topic_info_free(t);
	return EXIT_OK;
}

static const cli_opt DELETE_OPTS[] = {{"if-exists", OPT_IF_EXISTS, 0}, {NULL, 0, 0}};

int cmd_topics_delete(cli_t *cli, int argc, char **argv)
{
	topics_opts o = {0};
	sl_admin *a;
	int rc = cli_admin_open(cli, argc, argv, DELETE_OPTS, on_opt, &o, 1, "topic NAME", &a);
	if (!a)
		return rc;
	rc = sl_admin_delete_topic(a, cli->pos[0]);
	sl_admin_free(a);
	if (rc == SL_ENOENT && o.if_exists)
		return EXIT_OK;
	if (rc)
		return cli_lib_fail("topics delete", rc);
	printf("Deleted topic %s.\n", cli->pos[0]);
	return EXIT_OK;
}

static const cli_opt ALTER_OPTS[] = {
    {"partitions", OPT_PARTITIONS, 1},
    {"config", CLI_OPT_CONFIG, 1},
    {"delete-config", OPT_DELETE_CONFIG, 1},
    {NULL, 0, 0},
};

int cmd_topics_alter(cli_t *cli, int argc, char **argv)
{
	topics_opts o = {0};
	CLI_PARSE(cli, argc, argv, ALTER_OPTS, on_opt, &o, 1, "topic NAME");
	if (!o.partitions && !o.nconfigs)
		return cli_usage(cli, "nothing to alter: give --partitions or --config");
	const char *name = cli->pos[0];
	sl_admin *a = cli_admin(cli);
	if (!a)
		return EXIT_FAIL;
	int rc = 0;
	if (o.partitions && !(rc = sl_admin_create_partitions(a, name, (int)o.partitions)))
		printf("Topic %s now has %" PRId64 " partitions.\n", name, o.partitions);
	if (!rc && o.nconfigs &&
	    !(rc = sl_admin_alter_topic_configs(a, name, o.configs, o.nconfigs)))
		printf("Completed updating config for topic %s.\n", name);
	sl_admin_free(a);
	return rc ? cli_lib_fail("topics alter", rc) : EXIT_OK;
}
