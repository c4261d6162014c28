/*
 * cmd_groups.c — `sluice groups list|describe|reset-offsets|delete`, over
 * sl_admin; tables as kafka-consumer-groups.sh prints them (columns
 * padded to the widest cell, "-" for nothing).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_STATE = 300,
	OPT_MEMBERS,
	OPT_EARLIEST,
	OPT_LATEST,
	OPT_TO_OFFSET,
	OPT_EXECUTE,
	OPT_DRY_RUN,
	OPT_TOPIC = 't',
};

typedef struct groups_opts {
	bool state, members, execute;
	int to; /* -1 = not given, else sl_reset_to */
	int64_t offset;
	const char *topic;
} groups_opts;

static int on_opt(cli_t *cli, int id, const char *arg, void *st)
{
	groups_opts *o = st;
	switch (id) {
	case OPT_STATE:
		o->state = true;
		return 0;
	case OPT_MEMBERS:
		o->members = true;
		return 0;
	case OPT_EXECUTE:
		o->execute = true;
		return 0;
	case OPT_DRY_RUN:
		o->execute = false;
		return 0;
	case OPT_TOPIC:
		o->topic = arg;
		return 0;
	case OPT_EARLIEST:
	case OPT_LATEST:
	case OPT_TO_OFFSET:
		if (o->to != -1)
			return cli_usage(
			    cli, "give only one of --to-earliest, --to-latest, --to-offset");
		o->to = id == OPT_EARLIEST ? SL_RESET_EARLIEST
		        : id == OPT_LATEST ? SL_RESET_LATEST
		                           : SL_RESET_OFFSET;
		if (id == OPT_TO_OFFSET)
			return cli_int(cli, "--to-offset", arg, 0, INT64_MAX, &o->offset);
		return 0;
	default:
		return cli_usage(cli, "unexpected option");
	}
}

static const cli_opt LIST_OPTS[] = {{"state", OPT_STATE, 0}, {NULL, 0, 0}};

int cmd_groups_list(cli_t *cli, int argc, char **argv)
{
	groups_opts o = {.to = -1};
	sl_admin *a;
	int rc = cli_admin_open(cli, argc, argv, LIST_OPTS, on_opt, &o, 0, "", &a);
	if (!a)
		return rc;
	sl_group_list *l;
	rc = sl_admin_list_groups(a, &l);
	sl_admin_free(a);
	if (rc)
		return cli_lib_fail("groups list", rc);
	table t = {.ncols = 2};
	if (o.state)
		tbl_row(&t, "GROUP", "STATE");
	for (size_t i = 0; i < l->count; i++) {
		if (o.state)
			tbl_row(&t, l->groups[i].group, l->groups[i].state);
		else
			printf("%s\n", l->groups[i].group);
	}
	rc = o.state ? tbl_print(&t) : EXIT_OK;
	sl_group_list_free(l);
	return rc;
}

static const cli_opt DESCRIBE_OPTS[] = {{"members", OPT_MEMBERS, 0}, {NULL, 0, 0}};

int cmd_groups_describe(cli_t *cli, int argc, char **argv)
{
	groups_opts o = {.to = -1};
	sl_admin *a;
	int rc = cli_admin_open(cli, argc, argv, DESCRIBE_OPTS, on_opt, &o, 1, "GROUP", &a);
	if (!a)
		return rc;
	const char *group = cli->pos[0];
	sl_group_info *g;
	rc = sl_admin_describe_group(a, group, &g);
	sl_admin_free(a);
	if (rc)
		return cli_lib_fail("groups describe", rc);
	if (!strcmp(g->state, "Dead") && !g->offset_count) {
		sl_group_info_free(g);
		return cli_fail("groups describe: consumer group '%s' does not exist", group);
	}
	printf("Consumer group '%s' is %s with %zu member%s.\n", group, g->state, g->member_count,
	       g->member_count == 1 ? "" : "s");
	table t = {0};
	char b1[24], b2[24], b3[24], b4[24];
	if (o.members) {
		t.ncols = 5;
		tbl_row(&t, "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS");
		for (size_t i = 0; i < g->member_count; i++) {
			const sl_group_member *m = &g->members[i];
			tbl_row(&t, group, m->member_id, m->host, m->client_id,
			        cli_num(b1, (int64_t)m->partition_count));
		}
	} else {
		t.ncols = 9;
		tbl_row(&t, "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
		        "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID");
		for (size_t i = 0; i < g->offset_count; i++) {
			const sl_group_offset *r = &g->offsets[i];
			tbl_row(&t, group, r->topic, cli_num(b4, r->partition),
			        cli_num(b1, r->committed), cli_num(b2, r->log_end),
			        cli_num(b3, r->lag), r->member_id, r->host, r->client_id);
		}
	}
	sl_group_info_free(g);
	return tbl_print(&t);
}

static const cli_opt RESET_OPTS[] = {
    {"topic", OPT_TOPIC, 1},
    {"to-earliest", OPT_EARLIEST, 0},
    {"to-latest", OPT_LATEST, 0},
    {"to-offset", OPT_TO_OFFSET, 1},
    {"execute", OPT_EXECUTE, 0},
    {"dry-run", OPT_DRY_RUN, 0},
    {NULL, 0, 0},
};

int cmd_groups_reset(cli_t *cli, int argc, char **argv)
{
	groups_opts o = {.to = -1};
	CLI_PARSE(cli, argc, argv, RESET_OPTS, on_opt, &o, 1, "GROUP");
	if (!o.topic)
		return cli_usage(cli, "missing -t TOPIC");
	if (o.to == -1)
		return cli_usage(cli, "missing --to-earliest, --to-latest or --to-offset N");
	/* TOPIC:PARTITION as kafka-consumer-groups.sh accepts it. */
	char topic[256];
	int64_t partition = -1;
	int rc;
	snprintf(topic, sizeof topic, "%s", o.topic);
	char *colon = strrchr(topic, ':');
	if (colon) {
		*colon = 0;
		if ((rc = cli_int(cli, "--topic", colon + 1, 0, INT32_MAX, &partition)))
			return rc;
	}
	const char *group = cli->pos[0];
	sl_admin *a = cli_admin(cli);
	if (!a)
		return EXIT_FAIL;
	sl_offset_list *plan;
	rc = sl_admin_reset_offsets(a, group, topic, (int32_t)partition, (sl_reset_to)o.to,
	                            o.offset, o.execute, &plan);
	sl_admin_free(a);
	if (rc)
		return cli_lib_fail("groups reset-offsets", rc);
	if (!o.execute)
		fprintf(stderr,
		        "WARN: No action will be performed as the --execute option is "
		        "missing. This is a dry run: add --execute to commit these offsets.\n");
	table t = {.ncols = 4};
	tbl_row(&t, "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
	char b1[24], b2[24];
	for (size_t i = 0; i < plan->count; i++) {
		const sl_group_offset *r = &plan->offsets[i];
		tbl_row(&t, group, r->topic, cli_num(b1, r->partition), cli_num(b2, r->new_offset));
	}
	sl_offset_list_free(plan);
	return tbl_print(&t);
}

int cmd_groups_delete(cli_t *cli, int argc, char **argv)
{
	sl_admin *a;
	int rc = cli_admin_open(cli, argc, argv, NULL, NULL, NULL, 1, "GROUP", &a);
	if (!a)
		return rc;
	rc = sl_admin_delete_group(a, cli->pos[0]);
	sl_admin_free(a);
	if (rc)
		return cli_lib_fail("groups delete", rc);
	printf("Deletion of requested consumer groups ('%s') was successful.\n", cli->pos[0]);
	return EXIT_OK;
}
