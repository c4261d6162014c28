/*
 * c_monitor.c — MONITOR and SLOWLOG, as Redis 7.0 (replicationFeedMonitors,
 * slowlog.c), and INFO errorstats / cpu.
 *
 * Both are fed after a command ran (resp_admin_after, from dispatch):
 * a monitor sees commands in execution order, the queued commands of a
 * transaction as EXEC runs them, a script's redis.call() commands as
 * "[0 lua]" after the EVAL (shown before it runs: resp_admin_before). The
 * line is a status reply
 *   +<sec>.<usec> [0 <addr>] "arg" "arg"...
 * with every argument quoted and escaped as Redis's sdscatrepr. Commands
 * of the admin category (CONFIG, CLIENT KILL, ...) are not shown, and AUTH / HELLO
 * AUTH passwords are redacted, as in 7.0.
 *
 * The slowlog keeps the last slowlog-max-len commands that ran for at
 * least slowlog-log-slower-than µs (negative: none), newest first in
 * SLOWLOG GET, each with its arguments cut as Redis cuts them (32
 * arguments, 128 bytes each).
 *
 * Also here, being the same per-server bookkeeping: INFO's errorstats
 * (error replies counted by their first word, as 7.0) and cpu sections.
 * Nothing here is persistent: Redis keeps all of it in memory too. Loop
 * thread only.
 */
#include "proto/resp/c_admin.h"
#include "proto/resp/c_types.h"

#include "core/time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#define SLOW_MAX_ARGC 32
#define SLOW_MAX_STRING 128

typedef struct {
	char *p;
	size_t len;
} slow_str_t;

struct slow_entry {
	uint64_t id;
	int64_t time_s, dur_us;
	int argc;
	slow_str_t *argv;
	char *peer, *name;
};

struct resp_admin *resp_admin(resp_srv_t *srv)
{
	if (!srv->adm) {
		srv->adm = calloc(1, sizeof *srv->adm);
		if (!srv->adm)
			abort();
		/* Unarmed until CLIENT PAUSE (a zeroed node would look armed). */
		loop_timer_init(&srv->adm->pause_timer, resp_pause_timer, srv);
		map_init(&srv->adm->errs);
	}
	return srv->adm;
}

void *resp_admin_grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	p = realloc(p, *cap * size);
	if (!p)
		abort();
	return p;
}

static char *dup_n(const char *p, size_t n)
{
	char *s = strndup(n ? p : "", n); /* an empty argument's buffer may be NULL */
	if (!s)
		abort();
	return s;
}

/* --- redaction --------------------------------------------------------------- */

/* Whether argument i is a secret Redis 7.0 redacts: AUTH's arguments,
 * HELLO's user and password after AUTH. */
static int redacted(const resp_cmd_t *top, int argc, const resp_arg_t *argv, int i)
{
	if (!strcmp(top->name, "auth"))
		return i >= 1;
	if (!strcmp(top->name, "hello")) {
		for (int j = 2; j + 2 < argc; j++) {
			if (resp_arg_is(&argv[j], "auth"))
				return i == j + 1 || i == j + 2;
			if (resp_arg_is(&argv[j], "setname"))
				j++;
		}
	}
	return 0;
}

/* --- MONITOR ------------------------------------------------------------------ */

/* Redis's sdscatrepr: quoted, with C escapes and \xHH for the rest. */
static void cat_repr(buf_t *b, const char *p, size_t n)
{
	buf_put_u8(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		switch (c) {
		case '\\':
		case '"':
			buf_put_u8(b, '\\');
			buf_put_u8(b, c);
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		case '\a':
			buf_puts(b, "\\a");
			break;
		case '\b':
			buf_puts(b, "\\b");
			break;
		default:
			if (isprint(c))
				buf_put_u8(b, c);
			else
				buf_printf(b, "\\x%02x", c);
		}
	}
	buf_put_u8(b, '"');
}

static void feed_monitors(resp_cli_t *cl, const resp_cmd_t *top, int argc, const resp_arg_t *argv,
                          int script)
{
	struct resp_admin *a = cl->srv->adm;
	buf_t line = BUF_INIT;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	/* A unix client: Redis names the socket (the peer field may be cut). */
	const char *peer = cl->c->peer, *sock = cl->srv->cfg->resp_unixsocket;
	if (!script && !strncmp(peer, "unix", 4) && sock && *sock)
		buf_printf(&line, "+%ld.%06ld [0 unix:%s] ", (long)tv.tv_sec, (long)tv.tv_usec,
		           sock);
	else
		buf_printf(&line, "+%ld.%06ld [0 %s] ", (long)tv.tv_sec, (long)tv.tv_usec,
		           script ? "lua" : peer);
	for (int i = 0; i < argc; i++) {
		if (redacted(top, argc, argv, i))
			cat_repr(&line, "(redacted)", 10);
		else
			cat_repr(&line, argv[i].p, argv[i].len);
		if (i != argc - 1)
			buf_put_u8(&line, ' ');
	}
	buf_puts(&line, "\r\n");
	for (size_t i = 0; i < a->nmon; i++) {
		resp_cli_t *m = a->monitors[i];
		if (!conn_is_closed(m->c))
			conn_write(m->c, buf_data(&line), buf_len(&line));
	}
	buf_deinit(&line);
}

RESP_HANDLER(resp_c_monitor)
{
	(void)argc;
	(void)argv;
	/* Redis ignores MONITOR from a client already monitoring. */
	if (cl->monitor)
		return 0;
	struct resp_admin *a = resp_admin(cl->srv);
	a->monitors = resp_admin_grow(a->monitors, &a->mon_cap, a->nmon, sizeof *a->monitors);
	a->monitors[a->nmon++] = cl;
	cl->monitor = 1;
	resp_ok(cl->out);
	return 0;
}

/* --- SLOWLOG ---------------------------------------------------------------- */

static void slow_entry_free(slow_entry_t *e)
{
	for (int i = 0; i < e->argc; i++)
		free(e->argv[i].p);
	free(e->argv);
	free(e->peer);
	free(e->name);
}

/* Drops the oldest entries beyond slowlog-max-len. */
static void slow_trim(resp_srv_t *srv)
{
	struct resp_admin *a = srv->adm;
	if (!a || a->nslow <= (size_t)srv->slowlog_max_len)
		return;
	size_t drop = a->nslow - (size_t)srv->slowlog_max_len;
	for (size_t i = 0; i < drop; i++)
		slow_entry_free(&a->slow[i]);
	memmove(a->slow, a->slow + drop, (a->nslow - drop) * sizeof *a->slow);
	a->nslow -= drop;
}

static void slow_push(resp_cli_t *cl, const resp_cmd_t *top, int argc, const resp_arg_t *argv,
                      int64_t dur_us, int script)
{
	resp_srv_t *srv = cl->srv;
	struct resp_admin *a = resp_admin(srv);
	a->slow = resp_admin_grow(a->slow, &a->slow_cap, a->nslow, sizeof *a->slow);
	slow_entry_t *e = &a->slow[a->nslow++];
	memset(e, 0, sizeof *e);
	e->id = a->slow_next_id++;
	e->time_s = time_wall_ms() / 1000;
	e->dur_us = dur_us;
	e->argc = argc > SLOW_MAX_ARGC ? SLOW_MAX_ARGC : argc;
	e->argv = calloc((size_t)e->argc, sizeof *e->argv);
	if (!e->argv)
		abort();
	for (int i = 0; i < e->argc; i++) {
		buf_t s = BUF_INIT;
		if (e->argc != argc && i == e->argc - 1)
			buf_printf(&s, "... (%d more arguments)", argc - e->argc + 1);
		else if (redacted(top, argc, argv, i))
			buf_puts(&s, "(redacted)");
		else if (argv[i].len > SLOW_MAX_STRING)
			buf_printf(&s, "%.*s... (%zu more bytes)", SLOW_MAX_STRING, argv[i].p,
			           argv[i].len - SLOW_MAX_STRING);
		else
			buf_append(&s, argv[i].p, argv[i].len);
		e->argv[i].p = dup_n((const char *)buf_data(&s), buf_len(&s));
		e->argv[i].len = buf_len(&s);
		buf_deinit(&s);
	}
	/* A script's commands run as Redis's Lua client: no address, no name. */
	const char *peer = script ? "?:0" : cl->c->peer;
	e->peer = dup_n(peer, strlen(peer));
	e->name = cl->name && !script ? dup_n(cl->name, strlen(cl->name)) : dup_n("", 0);
	slow_trim(srv);
}

RESP_HANDLER(resp_c_slowlog_get)
{
	int64_t count = 10;
	if (argc > 3) {
		/* Redis's addReplySubcommandSyntaxError. */
		resp_errorf(cl->out,
		            "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
		            "SLOWLOG HELP.",
		            argv[1].len > 128 ? 128 : (int)argv[1].len, argv[1].p);
		return 0;
	}
	if (argc == 3 && (resp_arg_ll(&argv[2], &count) < 0 || count < -1)) {
		/* 7.0's getRangeLongFromObjectOrReply text. */
		resp_error(cl->out, "ERR count should be greater than or equal to -1");
		return 0;
	}
	struct resp_admin *a = cl->srv->adm;
	size_t have = a ? a->nslow : 0;
	size_t n = count < 0 || (uint64_t)count > have ? have : (size_t)count;
	resp_array(cl->out, n);
	for (size_t k = 0; k < n; k++) {
		const slow_entry_t *e = &a->slow[have - 1 - k];
		resp_array(cl->out, 6);
		resp_int(cl->out, (int64_t)e->id);
		resp_int(cl->out, e->time_s);
		resp_int(cl->out, e->dur_us);
		resp_array(cl->out, (size_t)e->argc);
		for (int i = 0; i < e->argc; i++)
			resp_bulk(cl->out, e->argv[i].p, e->argv[i].len);
		resp_bulk_str(cl->out, e->peer);
		resp_bulk_str(cl->out, e->name);
	}
	return 0;
}

RESP_HANDLER(resp_c_slowlog_len)
{
	(void)argc;
	(void)argv;
	resp_int(cl->out, cl->srv->adm ? (int64_t)cl->srv->adm->nslow : 0);
	return 0;
}

static void slow_reset(struct resp_admin *a)
{
	for (size_t i = 0; a && i < a->nslow; i++)
		slow_entry_free(&a->slow[i]);
	if (a)
		a->nslow = 0;
}

RESP_HANDLER(resp_c_slowlog_reset)
{
	(void)argc;
	(void)argv;
	slow_reset(cl->srv->adm);
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_slowlog_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
	    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "GET [<count>]",
	    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
	    "    Entries are made of:",
	    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
	    "    client name",
	    "LEN",
	    "    Return the length of the slowlog.",
	    "RESET",
	    "    Reset the slowlog.",
	    "HELP",
	    "    Prints this help.",
	    NULL,
	};
	resp_help(cl, lines);
	return 0;
}

/* --- INFO: errorstats, CPU ---------------------------------------------------------- */

/* Redis keeps at most 128 error kinds (then stops adding new ones). */
#define ERRSTAT_MAX 128

void resp_errorstat(resp_srv_t *srv, const char *p, size_t n)
{
	struct resp_admin *a = resp_admin(srv);
	size_t k = 0;
	while (k < n && k < 64 && p[k] != ' ' && p[k] != '\r')
		k++;
	a->total_errors++;
	uintptr_t c = (uintptr_t)map_get(&a->errs, p, k);
	if (c || map_len(&a->errs) < ERRSTAT_MAX)
		map_put(&a->errs, p, k, (void *)(c + 1));
}

void resp_info_errorstats(buf_t *b, resp_srv_t *srv)
{
	buf_puts(b, "# Errorstats\r\n");
	if (!srv->adm)
		return;
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&srv->adm->errs, &it, &k, &kl, &v))
		buf_printf(b, "errorstat_%.*s:count=%llu\r\n", (int)kl, k,
		           (unsigned long long)(uintptr_t)v);
}

uint64_t resp_total_errors(const resp_srv_t *srv)
{
	return srv->adm ? srv->adm->total_errors : 0;
}

void resp_errorstats_reset(resp_srv_t *srv)
{
	struct resp_admin *a = srv->adm;
	if (!a)
		return;
	map_deinit(&a->errs);
	map_init(&a->errs);
	a->total_errors = 0;
}

void resp_info_cpu(buf_t *b)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	buf_printf(b,
	           "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n"
	           "used_cpu_sys_children:%ld.%06ld\r\nused_cpu_user_children:%ld.%06ld\r\n",
	           (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec,
	           (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
	           (long)kids.ru_stime.tv_sec, (long)kids.ru_stime.tv_usec,
	           (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec);
}

/* --- hooks --------------------------------------------------------------------- */

static int is_admin(const resp_cmd_t *cmd)
{
	return cmd->acl && strstr(cmd->acl, "admin") != NULL;
}

/* EVAL and friends are shown before they run, ahead of their script's
 * commands (7.0 marks them skip_monitor and feeds them itself). */
static int is_script_cmd(const resp_cmd_t *top)
{
	return !strncmp(top->name, "eval", 4) || !strncmp(top->name, "fcall", 5);
}

void resp_admin_before(resp_cli_t *cl, const resp_cmd_t *top, int argc, const resp_arg_t *argv)
{
	struct resp_admin *a = cl->srv->adm;
	if (a && a->nmon && is_script_cmd(top))
		feed_monitors(cl, top, argc, argv, 0);
}

void resp_admin_after(resp_cli_t *cl, const resp_cmd_t *top, const resp_cmd_t *cmd, int argc,
                      const resp_arg_t *argv, int script, int64_t dur_us)
{
	resp_srv_t *srv = cl->srv;
	struct resp_admin *a = srv->adm;
	if (a && a->nmon && !is_admin(cmd) && !is_script_cmd(top))
		feed_monitors(cl, top, argc, argv, script);
	/* EXEC is skip_slowlog in 7.0 (its commands are logged). */
	if (dur_us >= 0 && dur_us >= srv->slowlog_slower_than && srv->slowlog_max_len &&
	    strcmp(top->name, "exec") != 0 && !cl->blk)
		slow_push(cl, top, argc, argv, dur_us, script);
}

static void forget(resp_cli_t **v, size_t *n, resp_cli_t *cl)
{
	for (size_t i = 0; i < *n; i++) {
		if (v[i] == cl) {
			memmove(v + i, v + i + 1, (*n - i - 1) * sizeof *v);
			(*n)--;
			return;
		}
	}
}

void resp_admin_cli_close(resp_cli_t *cl)
{
	struct resp_admin *a = cl->srv->adm;
	if (!a)
		return;
	if (cl->monitor)
		forget(a->monitors, &a->nmon, cl);
	if (cl->held)
		forget(a->held, &a->nheld, cl);
	cl->monitor = cl->held = 0;
}

void resp_admin_free(resp_srv_t *srv)
{
	struct resp_admin *a = srv->adm;
	if (!a)
		return;
	slow_reset(a);
	if (loop_timer_armed(&a->pause_timer))
		loop_timer_stop(srv->b->loop, &a->pause_timer);
	free(a->slow);
	free(a->monitors);
	free(a->held);
	map_deinit(&a->errs);
	free(a);
	srv->adm = NULL;
}
