/*
 * opts.c — option parsing shared by every command: the common options,
 * one-line errors and the exit codes (see cli.h).
 *
 * getopt_long with argument permutation, so options and positional
 * arguments mix freely ("topics create t1 --partitions 3"); "--" ends the
 * options. The common options are applied after the loop in a fixed order
 * (SLUICE_BROKERS, then --config, then -b/-o in command-line order), so
 * a flag always beats the file whatever their positions.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_OPTS 64
#define MAX_SETS 64

enum {
	OPT_BROKERS = 'b',
	OPT_SET = 'o',
	OPT_HELP = 'h',
	OPT_CONFIG = CLI_OPT_CONFIG,
	OPT_CONF_FILE = 201,
	OPT_TIMEOUT,
	OPT_TLS_CA,
	OPT_USER,
	OPT_PASSWORD,
	OPT_SASL_MECHANISM,
};

static const cli_opt COMMON[] = {
    {"brokers", OPT_BROKERS, 1},
    {"config", OPT_CONFIG, 1},
    {"conf-file", OPT_CONF_FILE, 1},
    {"timeout-ms", OPT_TIMEOUT, 1},
    {"help", OPT_HELP, 0},
    {"tls-ca", OPT_TLS_CA, 1},
    {"user", OPT_USER, 1},
    {"password", OPT_PASSWORD, 1},
    {"sasl-mechanism", OPT_SASL_MECHANISM, 1},
    {NULL, 0, 0},
};

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sluice: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_FAIL;
}

int cli_usage(const cli_t *cli, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "sluice: %s: ", cli->cmd->name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see 'sluice %s --help')\n", cli->cmd->name);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_lib_fail(const char *what, int rc)
{
	/* The library's message already says what it was doing. */
	const char *e = sl_last_error();
	if (*e)
		return cli_fail("%s", e);
	return cli_fail("%s: %s", what, sl_strerror(rc));
}

void cli_print_usage(const cli_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: sluice %s %s\n%s.\n", cmd->name, cmd->usage, cmd->summary);
	fputs("\ncommon options:\n"
	      "  -b, --brokers HOST:PORT[,...]  Kafka brokers (env SLUICE_BROKERS, default "
	      "localhost:9092)\n"
	      "  --config FILE.yaml       load libsluice settings (go-zero KqConf keys)\n"
	      "  --conf-file FILE.yaml    the same, never taken for a topic config\n"
	      "  -o KEY=VALUE             set any libsluice conf key (repeatable)\n"
	      "  --timeout-ms MS          per-request timeout (default 10000)\n"
	      "  --tls-ca FILE            connect over TLS, trusting this CA (conf ca.file)\n"
	      "  -h, --help               this help\n"
	      "exit status: 0 ok, 1 failure, 2 usage error\n",
	      f);
}

int cli_int(const cli_t *cli, const char *opt, const char *arg, int64_t min, int64_t max,
            int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max)
		return cli_usage(cli,
		                 "%s: expected an integer in [%" PRId64 ", %" PRId64 "], got '%s'",
		                 opt, min, max, arg);
	*out = v;
	return 0;
}

int cli_conf_set(cli_t *cli, const char *key, const char *value)
{
	if (sl_conf_set(cli->conf, key, value))
		return cli_usage(cli, "%s", sl_last_error());
	return 0;
}

int cli_need_pos(const cli_t *cli, int n, const char *names)
{
	if (cli->npos < n)
		return cli_usage(cli, "missing %s", names);
	if (cli->npos > n)
		return cli_usage(cli, "unexpected argument '%s'", cli->pos[n]);
	return 0;
}

bool cli_split_kv(char *s, char **key, char **value)
{
	char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return false;
	*eq = 0;
	*key = s;
	*value = eq + 1;
	return true;
}

sl_admin *cli_admin(const cli_t *cli)
{
	sl_admin *a = sl_admin_new(cli->conf);
	if (!a) {
		cli_lib_fail("admin", SL_ECONF);
		return NULL;
	}
	sl_admin_set_timeout(a, cli->timeout_ms);
	return a;
}

int cli_describe_topic(const cli_t *cli, const char *topic, const char *what, sl_topic_info **t)
{
	sl_admin *a = cli_admin(cli);
	if (!a)
		return EXIT_FAIL;
	int rc = sl_admin_describe_topic(a, topic, t);
	sl_admin_free(a);
	return rc ? cli_lib_fail(what, rc) : 0;
}

int cli_admin_open(cli_t *cli, int argc, char **argv, const cli_opt *opts, cli_opt_fn fn, void *st,
                   int npos, const char *names, sl_admin **a)
{
	*a = NULL;
	int rc = cli_parse_pos(cli, argc, argv, opts, fn, st, npos, names);
	if (rc)
		return rc == CLI_HELP ? EXIT_OK : rc;
	*a = cli_admin(cli);
	return *a ? 0 : EXIT_FAIL;
}

int64_t cli_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int add_opts(struct option *lo, int *nlo, char *shorts, size_t *ns, const cli_opt *o)
{
	for (; o && o->name; o++) {
		if (*nlo >= MAX_OPTS - 1)
			return -1;
		lo[(*nlo)++] = (struct option){
		    o->name, o->has_arg ? required_argument : no_argument, NULL, o->id};
		if (o->id < 128) {
			shorts[(*ns)++] = (char)o->id;
			if (o->has_arg)
				shorts[(*ns)++] = ':';
		}
	}
	return 0;
}

static bool has_opt(const cli_opt *o, int id)
{
	for (; o && o->name; o++)
		if (o->id == id)
			return true;
	return false;
}

/* The YAML file of --config (a value without '=', see cmd_topics.c). */
static int load_yaml(cli_t *cli, const char *path)
{
	if (sl_conf_load_yaml(cli->conf, path, NULL))
		return cli_usage(cli, "%s", sl_last_error());
	return 0;
}

int cli_parse(cli_t *cli, int argc, char **argv, const cli_opt *opts, cli_opt_fn fn, void *st)
{
	struct option lo[MAX_OPTS];
	char shorts[2 * MAX_OPTS + 2] = ":";
	size_t ns = 1;
	int nlo = 0;
	add_opts(lo, &nlo, shorts, &ns, COMMON);
	if (add_opts(lo, &nlo, shorts, &ns, opts))
		return cli_usage(cli, "too many options");
	shorts[ns++] = 'o';
	shorts[ns++] = ':';
	shorts[ns] = 0;
	lo[nlo] = (struct option){0};

	/* -b and -o values in command-line order: key (NULL for -o's
	 * "KEY=VALUE", split later) and value, views into argv. */
	const char *set_key[MAX_SETS], *set_val[MAX_SETS], *yaml = NULL;
	int nsets = 0, rc;
	optind = 0; /* glibc: a full re-initialisation */
	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shorts, lo, NULL);
		if (c == -1)
			break;
		switch (c) {
		case OPT_HELP:
			cli_print_usage(cli->cmd, stdout);
			return CLI_HELP;
		case '?':
			if (optopt)
				return cli_usage(cli, "unknown option '-%c'", optopt);
			return cli_usage(cli, "unknown option '%s'", argv[optind - 1]);
		case ':':
			return cli_usage(cli, "option '%s' needs a value", argv[optind - 1]);
		case OPT_BROKERS:
		case OPT_SET:
		case OPT_TLS_CA:
		case OPT_USER:
		case OPT_PASSWORD:
		case OPT_SASL_MECHANISM:
			if (nsets == MAX_SETS)
				return cli_usage(cli, "too many -o/--brokers");
			/* --tls-ca, --user/--password/--sasl-mechanism: TLS and SASL
			 * to a secured sluiced (docs/security.md), as the conf keys. */
			set_key[nsets] = c == OPT_BROKERS          ? "brokers"
			                 : c == OPT_TLS_CA         ? "ca.file"
			                 : c == OPT_USER           ? "username"
			                 : c == OPT_PASSWORD       ? "password"
			                 : c == OPT_SASL_MECHANISM ? "sasl.mechanism"
			                                           : NULL;
			set_val[nsets++] = optarg;
			break;
		case OPT_CONFIG:
			/* kafka-topics.sh's --config KEY=VALUE, for the commands
			 * that list it; otherwise a YAML file. */
			if (strchr(optarg, '=') && has_opt(opts, CLI_OPT_CONFIG)) {
				if ((rc = fn(cli, c, optarg, st)))
					return rc;
				break;
			}
			yaml = optarg;
			break;
		case OPT_CONF_FILE:
			yaml = optarg;
			break;
		case OPT_TIMEOUT: {
			int64_t v;
			if ((rc = cli_int(cli, "--timeout-ms", optarg, 1, 3600000, &v)))
				return rc;
			cli->timeout_ms = (int)v;
			cli->timeout_given = true;
			break;
		}
		default:
			if (!fn)
				return cli_usage(cli, "unexpected option");
			if ((rc = fn(cli, c, optarg, st)))
				return rc;
		}
	}
	cli->pos = argv + optind;
	cli->npos = argc - optind;

	/* Apply in precedence order: env < file < flags. */
	const char *env = getenv("SLUICE_BROKERS");
	if (env && *env && (rc = cli_conf_set(cli, "brokers", env)))
		return rc;
	if (yaml && (rc = load_yaml(cli, yaml)))
		return rc;
	for (int i = 0; i < nsets; i++) {
		char buf[1024], *k = (char *)set_key[i], *v = (char *)set_val[i];
		if (!set_key[i]) {
			snprintf(buf, sizeof buf, "%s", set_val[i]);
			if (!cli_split_kv(buf, &k, &v))
				return cli_usage(cli, "-o: expected KEY=VALUE, got '%s'",
				                 set_val[i]);
		}
		if ((rc = cli_conf_set(cli, k, v)))
			return rc;
	}
	return 0;
}

int cli_parse_pos(cli_t *cli, int argc, char **argv, const cli_opt *opts, cli_opt_fn fn, void *st,
                  int npos, const char *names)
{
	int rc = cli_parse(cli, argc, argv, opts, fn, st);
	if (!rc && npos >= 0)
		rc = cli_need_pos(cli, npos, names);
	return rc;
}
