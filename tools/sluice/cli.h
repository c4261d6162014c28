/*
 * cli.h — what the sluice tool's command files share: the command table
 * row, the parsed common options and the helpers that print the one-line
 * errors and pick the exit code.
 *
 * Exit codes: 0 success, 1 failure (the broker refused, nothing answered,
 * a delivery failed), 2 usage error. Every error is one line on stderr
 * starting with "sluice: ". Results go to stdout, progress to stderr.
 * Single-threaded except where a command file says otherwise.
 */
#ifndef SL_TOOLS_CLI_H
#define SL_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sluice/sluice.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
/* cli_parse's result when --help was given and the usage was printed. */
#define CLI_HELP (-1)
/* The id of "--config" in a command's option table: the command then gets
 * every --config value containing '=' (kafka-topics.sh's --config
 * KEY=VALUE); any other value is the YAML file. */
#define CLI_OPT_CONFIG 200

typedef struct cli cli_t;

typedef struct cli_cmd {
	const char *name;    /* "produce", "topics create" */
	const char *summary; /* one line for `sluice --help` */
	int (*run)(cli_t *cli, int argc, char **argv);
	const char *usage; /* synopsis after the name, then option lines */
} cli_cmd;

/* A command's own option: id is the short letter, or >= 256 for long-only
 * options. has_arg 0 or 1. */
typedef struct cli_opt {
	const char *name;
	int id;
	int has_arg;
} cli_opt;

typedef int (*cli_opt_fn)(cli_t *cli, int id, const char *arg, void *st);

struct cli {
	const cli_cmd *cmd;
	sl_conf *conf;  /* brokers etc.: defaults < SLUICE_BROKERS < --config < flags */
	int timeout_ms; /* --timeout-ms: per request */
	bool timeout_given;
	char **pos; /* positional arguments after parsing (views into argv) */
	int npos;
};

extern const cli_cmd CLI_COMMANDS[];

/* Parses argv (argv[0] is the command name) with the common options
 * (-b/--brokers, --config FILE, -o KEY=VALUE, --timeout-ms, -h/--help) and
 * opts, calling fn for each of opts. Returns 0, CLI_HELP (usage printed on
 * stdout) or EXIT_USAGE (message printed). */
int cli_parse(cli_t *cli, int argc, char **argv, const cli_opt *opts, cli_opt_fn fn, void *st);
/* cli_parse, then exactly npos positional arguments (cli_need_pos) unless
 * npos is -1 (the command checks them itself). */
int cli_parse_pos(cli_t *cli, int argc, char **argv, const cli_opt *opts, cli_opt_fn fn, void *st,
                  int npos, const char *names);
/* The start of a handler: cli_parse_pos, returning from the handler after
 * --help or a usage error. */
#define CLI_PARSE(cli, argc, argv, opts, fn, st, npos, names)                              \
	do {                                                                               \
		int parse_rc_ = cli_parse_pos(cli, argc, argv, opts, fn, st, npos, names); \
		if (parse_rc_)                                                             \
			return parse_rc_ == CLI_HELP ? EXIT_OK : parse_rc_;                \
	} while (0)

void cli_print_usage(const cli_cmd *cmd, FILE *f);

/* "sluice: MSG" on stderr; returns EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "sluice: CMD: MSG (see 'sluice CMD --help')"; returns EXIT_USAGE. */
int cli_usage(const cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "sluice: WHAT: <sl_last_error() or the code's text>"; returns EXIT_FAIL. */
int cli_lib_fail(const char *what, int rc);

/* Number parsing for option values: 0 or EXIT_USAGE (printed). */
int cli_int(const cli_t *cli, const char *opt, const char *arg, int64_t min, int64_t max,
            int64_t *out);
/* sl_conf_set, reporting a bad value as a usage error. */
int cli_conf_set(cli_t *cli, const char *key, const char *value);
/* Exactly n positional arguments, named in the message if missing. */
int cli_need_pos(const cli_t *cli, int n, const char *names);

/* Splits "KEY=VALUE" in place into two views (s is modified). false if
 * there is no '=' or the key is empty. */
bool cli_split_kv(char *s, char **key, char **value);

/* An admin handle on cli->conf with cli->timeout_ms, or NULL (printed). */
sl_admin *cli_admin(const cli_t *cli);
/* One topic described on a short-lived admin handle, for the commands
 * that check a topic before they start: *t is owned (sl_topic_info_free);
 * 0, or EXIT_FAIL with "WHAT: ..." printed. */
int cli_describe_topic(const cli_t *cli, const char *topic, const char *what, sl_topic_info **t);
/* The start of a handler that needs nothing between parsing and its admin
 * handle: cli_parse_pos, then cli_admin. *a is the owned handle, or NULL
 * with the exit status to return (EXIT_OK after --help). */
int cli_admin_open(cli_t *cli, int argc, char **argv, const cli_opt *opts, cli_opt_fn fn, void *st,
                   int npos, const char *names, sl_admin **a);

/* A table printed with every column as wide as its widest cell; an
 * empty or NULL cell prints as "-". Zero-initialise with ncols set. */
#define TBL_COLS 9
#define TBL_CELL 256
typedef struct table {
	int ncols;
	bool oom; /* a row was lost: tbl_print reports it */
	size_t nrows, cap;
	char (*cells)[TBL_CELL]; /* nrows * ncols */
	size_t width[TBL_COLS];
} table;
/* Adds a row of ncols strings. Out of memory is remembered: later rows
 * are dropped and tbl_print reports it; false from then on, for a loop
 * that would rather stop. */
bool tbl_row(table *t, ...);
/* Prints to stdout and frees the rows; EXIT_OK, or EXIT_FAIL with "out
 * of memory" printed when a row was lost. */
int tbl_print(table *t);
/* Frees the rows unprinted (a command that failed half-way). */
void tbl_free(table *t);
/* v in decimal in buf (24 bytes), or "-" for a negative v. */
const char *cli_num(char *buf, int64_t v);

/* Wall-clock helpers. */
int64_t cli_now_us(void);

/* Command handlers, one file per family. */
int cmd_produce(cli_t *cli, int argc, char **argv);
int cmd_consume(cli_t *cli, int argc, char **argv);
int cmd_topics_list(cli_t *cli, int argc, char **argv);
int cmd_topics_create(cli_t *cli, int argc, char **argv);
int cmd_topics_describe(cli_t *cli, int argc, char **argv);
int cmd_topics_delete(cli_t *cli, int argc, char **argv);
int cmd_topics_alter(cli_t *cli, int argc, char **argv);
int cmd_groups_list(cli_t *cli, int argc, char **argv);
int cmd_groups_describe(cli_t *cli, int argc, char **argv);
int cmd_groups_reset(cli_t *cli, int argc, char **argv);
int cmd_groups_delete(cli_t *cli, int argc, char **argv);
int cmd_jobs_put(cli_t *cli, int argc, char **argv);
int cmd_jobs_reserve(cli_t *cli, int argc, char **argv);
int cmd_jobs_delete(cli_t *cli, int argc, char **argv);
int cmd_jobs_peek(cli_t *cli, int argc, char **argv);
int cmd_jobs_kick(cli_t *cli, int argc, char **argv);
int cmd_jobs_stats(cli_t *cli, int argc, char **argv);
int cmd_jobs_tubes(cli_t *cli, int argc, char **argv);
int cmd_status(cli_t *cli, int argc, char **argv);
int cmd_users_add(cli_t *cli, int argc, char **argv);
int cmd_users_list(cli_t *cli, int argc, char **argv);
int cmd_users_delete(cli_t *cli, int argc, char **argv);
int cmd_users_passwd(cli_t *cli, int argc, char **argv);
int cmd_bench(cli_t *cli, int argc, char **argv);

#endif
