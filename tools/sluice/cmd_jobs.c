/*
 * cmd_jobs.c — `sluice jobs put|reserve|delete|peek|kick|stats|tubes`: a
 * beanstalkd client for scripts, over sl_jobs. Works the same against
 * sluiced and a real beanstalkd.
 *
 * Output: put prints the id; reserve and peek print "<id> <body>"; kick
 * the number kicked; stats the server's YAML as it is; tubes one name per
 * line. A missing job is exit 1 with "not found"; a reserve that times
 * out is exit 1 with "timed out".
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum {
	OPT_BEANSTALK = 300,
	OPT_TUBE,
	OPT_PRI,
	OPT_DELAY,
	OPT_TTR,
	OPT_BODY,
	OPT_TIMEOUT,
	OPT_DELETE,
	OPT_RELEASE,
	OPT_BURY,
	OPT_ID,
};

typedef struct jobs_opts {
	const char *addr, *tube, *body;
	int64_t pri, delay, ttr, timeout, id;
	int after; /* OPT_DELETE / OPT_RELEASE / OPT_BURY or 0 */
} jobs_opts;

static int on_opt(cli_t *cli, int id, const char *arg, void *st)
{
	jobs_opts *o = st;
	switch (id) {
	case OPT_BEANSTALK:
		o->addr = arg;
		return 0;
	case OPT_TUBE:
		o->tube = arg;
		return 0;
	case OPT_BODY:
		o->body = arg;
		return 0;
	case OPT_PRI:
		return cli_int(cli, "--pri", arg, 0, UINT32_MAX, &o->pri);
	case OPT_DELAY:
		return cli_int(cli, "--delay", arg, 0, UINT32_MAX, &o->delay);
	case OPT_TTR:
		return cli_int(cli, "--ttr", arg, 0, UINT32_MAX, &o->ttr);
	case OPT_TIMEOUT:
		return cli_int(cli, "--timeout", arg, -1, INT32_MAX, &o->timeout);
	case OPT_ID:
		return cli_int(cli, "--id", arg, 0, INT64_MAX, &o->id);
	case OPT_DELETE:
	case OPT_RELEASE:
	case OPT_BURY:
		if (o->after)
			return cli_usage(cli, "give only one of --delete, --release, --bury");
		o->after = id;
		return 0;
	default:
		return cli_usage(cli, "unexpected option");
	}
}

static const cli_opt JOBS_OPTS[] = {
    {"beanstalk", OPT_BEANSTALK, 1}, {"tube", OPT_TUBE, 1},     {"pri", OPT_PRI, 1},
    {"delay", OPT_DELAY, 1},         {"ttr", OPT_TTR, 1},       {"body", OPT_BODY, 1},
    {"timeout", OPT_TIMEOUT, 1},     {"delete", OPT_DELETE, 0}, {"release", OPT_RELEASE, 0},
    {"bury", OPT_BURY, 0},           {"id", OPT_ID, 1},         {NULL, 0, 0},
};

/* Parses the options, checks for npos positional arguments (-1: any)
 * and connects; *j is NULL when rc is returned. */
static int open_jobs(cli_t *cli, int argc, char **argv, jobs_opts *o, sl_jobs **j, int npos,
                     const char *names)
{
	*o = (jobs_opts){.pri = 1024, .ttr = 60, .id = -1};
	*j = NULL;
	int rc = cli_parse_pos(cli, argc, argv, JOBS_OPTS, on_opt, o, npos, names);
	if (rc)
		return rc;
	if (!o->addr)
		o->addr = getenv("SLUICE_BEANSTALK");
	if (!o->addr || !*o->addr)
		o->addr = "localhost:11300";
	const char *ca = sl_conf_get(cli->conf, "ca.file"); /* --tls-ca: TLS */
	*j = ca && *ca ? sl_jobs_connect_tls(o->addr, ca, cli->timeout_ms)
	               : sl_jobs_connect(o->addr, cli->timeout_ms);
	if (!*j)
		return cli_fail("jobs: %s", sl_last_error());
	if (o->tube && (rc = sl_jobs_use(*j, o->tube)))
		goto fail;
	return 0;
fail:
	sl_jobs_close(*j);
	*j = NULL;
	return cli_fail("jobs: %s", sl_last_error());
}

/* Each handler: open, check positionals, act, close. */
#define OPEN_JOBS(npos, names)                                      \
	jobs_opts o;                                                \
	sl_jobs *j;                                                 \
	int rc = open_jobs(cli, argc, argv, &o, &j, (npos), names); \
	if (rc)                                                     \
		return rc == CLI_HELP ? EXIT_OK : rc;

static int jobs_fail(sl_jobs *j, const char *what, int rc)
{
	sl_jobs_close(j);
	if (rc == SL_ENOENT)
		return cli_fail("jobs %s: not found", what);
	if (rc == SL_ETIMEDOUT)
		return cli_fail("jobs %s: timed out", what);
	return cli_lib_fail("jobs", rc);
}

static char *read_stdin(size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	while (b) {
		size_t r = fread(b + n, 1, cap - n, stdin);
		n += r;
		if (r == 0)
			break;
		if (n == cap) {
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return NULL;
			}
			b = nb;
			cap *= 2;
		}
	}
	*len = n;
	return b;
}

int cmd_jobs_put(cli_t *cli, int argc, char **argv)
{
	OPEN_JOBS(0, "");
	char *owned = NULL;
	const char *body = o.body;
	size_t len = body ? strlen(body) : 0;
	if (!body && !(body = owned = read_stdin(&len))) {
		sl_jobs_close(j);
		return cli_fail("out of memory");
	}
	uint64_t id;
	rc = sl_jobs_put(j, (uint32_t)o.pri, (uint32_t)o.delay, (uint32_t)o.ttr, body, len, &id);
	free(owned);
	if (rc)
		return jobs_fail(j, "put", rc);
	printf("%" PRIu64 "\n", id);
	sl_jobs_close(j);
	return EXIT_OK;
}

static void print_job(uint64_t id, const char *body, size_t len)
{
	printf("%" PRIu64 " ", id);
	fwrite(body, 1, len, stdout);
	printf("\n");
}

int cmd_jobs_reserve(cli_t *cli, int argc, char **argv)
{
	OPEN_JOBS(0, "");
	if (o.tube && ((rc = sl_jobs_watch(j, o.tube)) ||
	               (strcmp(o.tube, "default") && (rc = sl_jobs_ignore(j, "default")))))
		return jobs_fail(j, "reserve", rc);
	uint64_t id;
	char *body;
	size_t len;
	rc = sl_jobs_reserve(j, (int)o.timeout, &id, &body, &len);
	if (rc)
		return jobs_fail(j, "reserve", rc);
	print_job(id, body, len);
	free(body);
	if (o.after == OPT_DELETE)
		rc = sl_jobs_delete(j, id);
	else if (o.after == OPT_RELEASE)
		rc = sl_jobs_release(j, id, (uint32_t)o.pri, (uint32_t)o.delay);
	else if (o.after == OPT_BURY)
		rc = sl_jobs_bury(j, id, (uint32_t)o.pri);
	if (rc)
		return jobs_fail(j, "reserve", rc);
	sl_jobs_close(j);
	return EXIT_OK;
}

static int parse_id(cli_t *cli, const char *s, uint64_t *id)
{
	int64_t v;
	int rc = cli_int(cli, "ID", s, 0, INT64_MAX, &v);
	*id = (uint64_t)v;
	return rc;
}

int cmd_jobs_delete(cli_t *cli, int argc, char **argv)
{
	OPEN_JOBS(1, "job ID");
	uint64_t id;
	if ((rc = parse_id(cli, cli->pos[0], &id))) {
		sl_jobs_close(j);
		return rc;
	}
	if ((rc = sl_jobs_delete(j, id)))
		return jobs_fail(j, "delete", rc);
	sl_jobs_close(j);
	return EXIT_OK;
}

int cmd_jobs_peek(cli_t *cli, int argc, char **argv)
{
	OPEN_JOBS(1, "ID, ready, delayed or buried");
	const char *what = cli->pos[0];
	uint64_t id = 0, out_id;
	if (strcmp(what, "ready") && strcmp(what, "delayed") && strcmp(what, "buried")) {
		if ((rc = parse_id(cli, what, &id))) {
			sl_jobs_close(j);
			return rc;
		}
		what = NULL;
	}
	char *body;
	size_t len;
	if ((rc = sl_jobs_peek(j, what, id, &out_id, &body, &len)))
		return jobs_fail(j, "peek", rc);
	print_job(out_id, body, len);
	free(body);
	sl_jobs_close(j);
	return EXIT_OK;
}

int cmd_jobs_kick(cli_t *cli, int argc, char **argv)
{
	OPEN_JOBS(-1, "");
	if (cli->npos > 1 || (cli->npos == 1 && o.id >= 0)) {
		sl_jobs_close(j);
		return cli_usage(cli, "give BOUND or --id ID");
	}
	if (o.id >= 0) {
		if ((rc = sl_jobs_kick_job(j, (uint64_t)o.id)))
			return jobs_fail(j, "kick", rc);
		printf("1\n");
		sl_jobs_close(j);
		return EXIT_OK;
	}
	int64_t bound = 1;
	if (cli->npos == 1 && (rc = cli_int(cli, "BOUND", cli->pos[0], 0, UINT32_MAX, &bound))) {
		sl_jobs_close(j);
		return rc;
	}
	uint32_t kicked;
	if ((rc = sl_jobs_kick(j, (uint32_t)bound, &kicked)))
		return jobs_fail(j, "kick", rc);
	printf("%" PRIu32 "\n", kicked);
	sl_jobs_close(j);
	return EXIT_OK;
}

int cmd_jobs_stats(cli_t *cli, int argc, char **argv)
{
	OPEN_JOBS(0, "");
	char *yaml;
	if (o.id >= 0)
		rc = sl_jobs_stats_job(j, (uint64_t)o.id, &yaml);
	else if (o.tube)
		rc = sl_jobs_stats_tube(j, o.tube, &yaml);
	else
		rc = sl_jobs_stats(j, &yaml);
	if (rc)
		return jobs_fail(j, "stats", rc);
	fputs(yaml, stdout);
	free(yaml);
	sl_jobs_close(j);
	return EXIT_OK;
}

int cmd_jobs_tubes(cli_t *cli, int argc, char **argv)
{
	OPEN_JOBS(0, "");
	char *yaml;
	if ((rc = sl_jobs_list_tubes(j, &yaml)))
		return jobs_fail(j, "tubes", rc);
	for (char *line = strtok(yaml, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, "- ", 2))
			printf("%s\n", line + 2);
	free(yaml);
	sl_jobs_close(j);
	return EXIT_OK;
}
