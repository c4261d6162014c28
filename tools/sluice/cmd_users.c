/*
 * cmd_users.c — `sluice users add|list|delete|passwd`: the broker's one user
 * database (the same users for Kafka SASL, Redis AUTH and the HTTP
 * console) managed through Redis's ACL commands on sluiced's RESP port.
 *
 * Why RESP: ACL SETUSER/DELUSER/USERS/LIST are what sluiced already
 * serves, with the admin's authentication and TLS of that listener; a
 * password set there becomes the user's SCRAM credential too, so it works
 * over Kafka at once. (librdkafka 2.0, the Debian one, has no
 * AlterUserScramCredentials.) The admin logs in with --user/--password
 * (or Username/Password of the config file); --tls-ca connects over TLS.
 * The new password is --new-password, else asked for on the terminal
 * without echo (twice), else read as one line of stdin.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "resp_client.h"

enum { OPT_REDIS = 300, OPT_NEW_PASSWORD, OPT_RULES, OPT_LONG };

#define DEFAULT_RULES "~* &* +@all"
#define MAX_RULES 64

typedef struct users_opts {
	const char *redis, *new_password, *rules;
	bool long_list;
} users_opts;

static int on_opt(cli_t *cli, int id, const char *arg, void *st)
{
	users_opts *o = st;
	switch (id) {
	case OPT_REDIS:
		o->redis = arg;
		return 0;
	case OPT_NEW_PASSWORD:
		o->new_password = arg;
		return 0;
	case OPT_RULES:
		o->rules = arg;
		return 0;
	case OPT_LONG:
		o->long_list = true;
		return 0;
	default:
		return cli_usage(cli, "unexpected option");
	}
}

static const cli_opt USERS_OPTS[] = {
    {"redis", OPT_REDIS, 1},
    {"new-password", OPT_NEW_PASSWORD, 1},
    {"rules", OPT_RULES, 1},
    {"long", OPT_LONG, 0},
    {NULL, 0, 0},
};

/* Parses, then connects to the RESP port as the admin. *r is NULL when
 * the returned status is to be returned. */
static int open_users(cli_t *cli, int argc, char **argv, users_opts *o, int npos, const char *names,
                      lib_resp **r)
{
	*o = (users_opts){0};
	*r = NULL;
	int rc = cli_parse_pos(cli, argc, argv, USERS_OPTS, on_opt, o, npos, names);
	if (rc)
		return rc == CLI_HELP ? EXIT_OK : rc;
	if (!o->redis)
		o->redis = getenv("SLUICE_REDIS");
	if (!o->redis || !*o->redis)
		o->redis = "localhost:6379";
	const char *ca = sl_conf_get(cli->conf, "ca.file");
	lib_resp_opts ro = {sl_conf_get(cli->conf, "username"), sl_conf_get(cli->conf, "password"),
	                    ca && *ca, ca};
	int err = 0;
	*r = lib_resp_connect_opts(o->redis, &ro, cli->timeout_ms, &err);
	if (!*r)
		return cli_fail("users: %s: %s", o->redis, sl_last_error());
	return 0;
}

static int command(lib_resp *r, int argc, const char *const *argv, char **text)
{
	int rc = lib_resp_command(r, argc, argv, text);
	if (rc)
		cli_fail("users: %s", sl_last_error());
	return rc;
}

/* Reads a line without its newline into buf; false at EOF or too long. */
static bool read_line(FILE *f, char *buf, size_t cap)
{
	if (!fgets(buf, (int)cap, f))
		return false;
	size_t n = strcspn(buf, "\r\n");
	if (buf[n] == 0 && n == cap - 1)
		return false;
	buf[n] = 0;
	return true;
}

/* The new password: from the terminal without echo (asked twice), or one
 * line of stdin when that is not a terminal. */
static int ask_password(const char *user, char *buf, size_t cap)
{
	if (!isatty(STDIN_FILENO)) {
		if (!read_line(stdin, buf, cap) || !*buf)
			return cli_fail("users: no password on stdin (or --new-password)");
		return 0;
	}
	struct termios old, quiet;
	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return cli_fail("users: terminal: %s", strerror(errno));
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	char again[512];
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	fprintf(stderr, "New password for %s: ", user);
	bool ok = read_line(stdin, buf, cap);
	fprintf(stderr, "Retype the password: ");
	ok = ok && read_line(stdin, again, sizeof again);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (!ok || !*buf)
		return cli_fail("users: no password given");
	if (strcmp(buf, again) != 0)
		return cli_fail("users: the passwords differ");
	return 0;
}

static int new_password(const users_opts *o, const char *user, char *buf, size_t cap)
{
	if (o->new_password) {
		snprintf(buf, cap, "%s", o->new_password);
		return *buf ? 0 : cli_fail("users: --new-password is empty");
	}
	return ask_password(user, buf, cap);
}

/* Whether the user exists (ACL GETUSER answers null for none): 1, 0, or
 * -1 with the error printed. */
static int exists(lib_resp *r, const char *user)
{
	const char *argv[] = {"ACL", "GETUSER", user};
	char *t;
	if (command(r, 3, argv, &t))
		return -1;
	int yes = *t != 0;
	free(t);
	return yes;
}

/* ACL SETUSER user <words of first> ><password>. */
static int setuser(lib_resp *r, const char *user, const char *first, char *rules, const char *pass)
{
	const char *argv[MAX_RULES + 5] = {"ACL", "SETUSER", user, first};
	int argc = 4;
	for (char *save = NULL, *w = strtok_r(rules, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		if (argc == MAX_RULES + 3)
			return cli_fail("users: more than %d rules", MAX_RULES);
		argv[argc++] = w;
	}
	size_t pn = strlen(pass) + 2;
	char *gt = malloc(pn);
	if (!gt)
		return cli_fail("users: out of memory");
	snprintf(gt, pn, ">%s", pass);
	argv[argc++] = gt;
	char *t;
	int rc = command(r, argc, argv, &t);
	free(t);
	OPENSSL_cleanse(gt, pn);
	free(gt);
	return rc ? EXIT_FAIL : EXIT_OK;
}

static int do_add(cli_t *cli, const users_opts *o, lib_resp *r)
{
	const char *user = cli->pos[0];
	char pass[512], rules[2048];
	snprintf(rules, sizeof rules, "%s", o->rules ? o->rules : DEFAULT_RULES);
	int rc, e = exists(r, user);
	if (e != 0)
		rc = e < 0 ? EXIT_FAIL : cli_fail("users add: user '%s' exists", user);
	else if ((rc = new_password(o, user, pass, sizeof pass)) == 0)
		rc = setuser(r, user, "on", rules, pass);
	OPENSSL_cleanse(pass, sizeof pass);
	return rc;
}

static int do_passwd(cli_t *cli, const users_opts *o, lib_resp *r)
{
	const char *user = cli->pos[0];
	char pass[512], none[1] = "";
	int rc, e = exists(r, user);
	if (e != 1)
		rc = e < 0 ? EXIT_FAIL : cli_fail("users passwd: no user '%s'", user);
	else if ((rc = new_password(o, user, pass, sizeof pass)) == 0)
		rc = setuser(r, user, "resetpass", none, pass); /* replaces every password */
	OPENSSL_cleanse(pass, sizeof pass);
	return rc;
}

/* Runs "ACL <sub> [USER]" and hands its reply to check. */
static int acl_simple(lib_resp *r, const char *sub, const char *user, char **t)
{
	const char *av[] = {"ACL", sub, user};
	return command(r, user ? 3 : 2, av, t) ? EXIT_FAIL : EXIT_OK;
}

static int do_delete(cli_t *cli, const users_opts *o, lib_resp *r)
{
	(void)o;
	char *t;
	int rc = acl_simple(r, "DELUSER", cli->pos[0], &t);
	if (rc == EXIT_OK && strcmp(t, "1") != 0)
		rc = cli_fail("users delete: no user '%s'", cli->pos[0]);
	free(t);
	return rc;
}

static int do_list(cli_t *cli, const users_opts *o, lib_resp *r)
{
	(void)cli;
	char *t;
	int rc = acl_simple(r, o->long_list ? "LIST" : "USERS", NULL, &t);
	if (rc == EXIT_OK && *t)
		printf("%s\n", t);
	free(t);
	return rc;
}

/* Parses, connects as the admin, runs fn, closes. */
static int users_run(cli_t *cli, int argc, char **argv, int npos, const char *names,
                     int (*fn)(cli_t *, const users_opts *, lib_resp *))
{
	users_opts o;
	lib_resp *r;
	int rc = open_users(cli, argc, argv, &o, npos, names, &r);
	if (!r)
		return rc;
	rc = fn(cli, &o, r);
	lib_resp_close(r);
	return rc;
}

int cmd_users_add(cli_t *cli, int argc, char **argv)
{
	return users_run(cli, argc, argv, 1, "USER", do_add);
}

int cmd_users_passwd(cli_t *cli, int argc, char **argv)
{
	return users_run(cli, argc, argv, 1, "USER", do_passwd);
}

int cmd_users_delete(cli_t *cli, int argc, char **argv)
{
	return users_run(cli, argc, argv, 1, "USER", do_delete);
}

int cmd_users_list(cli_t *cli, int argc, char **argv)
{
	return users_run(cli, argc, argv, 0, "", do_list);
}
