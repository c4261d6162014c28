/*
 * c_acl.c — ACL WHOAMI, USERS, LIST, GETUSER, SETUSER, DELUSER, CAT on the
 * broker's one user database (broker/users.h), and the permission check of
 * dispatch (resp_acl_check).
 *
 * Rules subset: sluice enforces all-or-nothing grants per dimension —
 * on/off, nopass, >password, resetpass, allcommands/+@all vs -@all/
 * nocommands, allkeys/~* vs resetkeys, allchannels/&* vs resetchannels,
 * reset. A rule that would grant part of a dimension (~app:*, +get,
 * -@dangerous, &news.*) is refused with Redis's SETUSER error format and a
 * reason, never stored unenforced. The rules live in the user's record as
 * canonical text ("on ~* &* +@all"); a user created through Kafka (no
 * text) has full access. A password set here sets the user's SCRAM
 * credentials, so the same password works over Kafka SASL.
 *
 * Enforcement (Redis 7.0 order and texts): the command, unless it needs no
 * authentication (AUTH, HELLO); then its keys, from the table's key
 * positions; then the channels of PUBLISH/SUBSCRIBE/PSUBSCRIBE. Rules are
 * read at every command, so a change applies at once to connected
 * clients; a deleted user's connections are closed, as Redis does.
 * Loop thread only.
 */
#include "broker/users.h"
#include "proto/resp/commands.h"
#include "proto/resp/resp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct acl_rules {
	int on, nopass, allcmds, allkeys, allchans;
} acl_rules_t;

static void rules_parse(const char *text, acl_rules_t *r)
{
	if (!*text) { /* no rules: a user made over Kafka has full access */
		*r = (acl_rules_t){1, 0, 1, 1, 1};
		return;
	}
	*r = (acl_rules_t){0};
	char tok[64];
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, " ");
		snprintf(tok, sizeof tok, "%.*s", (int)(n < 63 ? n : 63), p);
		if (!strcmp(tok, "on"))
			r->on = 1;
		else if (!strcmp(tok, "nopass"))
			r->nopass = 1;
		else if (!strcmp(tok, "~*"))
			r->allkeys = 1;
		else if (!strcmp(tok, "&*"))
			r->allchans = 1;
		else if (!strcmp(tok, "+@all"))
			r->allcmds = 1;
		p += n;
		p += strspn(p, " ");
	}
}

static void rules_format(const acl_rules_t *r, char *out, size_t n)
{
	snprintf(out, n, "%s%s%s %s %s", r->on ? "on" : "off", r->nopass ? " nopass" : "",
	         r->allkeys ? " ~*" : "", r->allchans ? "&*" : "resetchannels",
	         r->allcmds ? "+@all" : "-@all");
}

static users_t *db(resp_cli_t *cl)
{
	return cl->srv->b ? cl->srv->b->users : NULL;
}

int resp_acl_user_on(resp_cli_t *cl, const char *name, size_t n)
{
	const user_t *x = db(cl) ? users_find(db(cl), name, n) : NULL;
	acl_rules_t r;
	rules_parse(x ? x->acl : "", &r);
	return !x || r.on;
}

static int is_chan_cmd(const char *name)
{
	return !strcmp(name, "publish") || !strcmp(name, "subscribe") ||
	       !strcmp(name, "psubscribe") || !strcmp(name, "spublish") ||
	       !strcmp(name, "ssubscribe");
}

int resp_acl_denied(resp_cli_t *cl, const resp_cmd_t *cmd, int argc, int parent)
{
	if (!cl->user)
		return RESP_ACL_OK;
	const user_t *x = db(cl) ? users_find(db(cl), cl->user, strlen(cl->user)) : NULL;
	if (!x)
		return RESP_ACL_GONE;
	acl_rules_t r;
	rules_parse(x->acl, &r);
	if (!r.allcmds && !(cmd->flags & RESP_CMD_NOAUTH))
		return RESP_ACL_CMD;
	if (!r.allkeys && cmd->first_key > 0 && argc > cmd->first_key)
		return RESP_ACL_KEY;
	if (!r.allchans && !parent && is_chan_cmd(cmd->name) && argc > 1)
		return RESP_ACL_CHANNEL;
	return RESP_ACL_OK;
}

int resp_acl_check(resp_cli_t *cl, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc)
{
	switch (resp_acl_denied(cl, cmd, argc, parent != NULL)) {
	case RESP_ACL_GONE:
		resp_error(cl->out, "ERR the user of this connection was deleted");
		return -1; /* Redis disconnects a deleted user's clients */
	case RESP_ACL_CMD:
		if (parent)
			resp_errorf(
			    cl->out,
			    "NOPERM this user has no permissions to run the '%s|%s' command",
			    parent->name, cmd->name);
		else
			resp_errorf(cl->out,
			            "NOPERM this user has no permissions to run the '%s' command",
			            cmd->name);
		return 1;
	case RESP_ACL_KEY:
		resp_error(cl->out, "NOPERM this user has no permissions to access one of the keys "
		                    "used as arguments");
		return 1;
	case RESP_ACL_CHANNEL:
		resp_error(cl->out, "NOPERM this user has no permissions to access one of the "
		                    "channels used as arguments");
		return 1;
	}
	return 0;
}

RESP_HANDLER(resp_c_acl_whoami)
{
	(void)argc, (void)argv;
	resp_bulk_str(cl->out, cl->user ? cl->user : "default");
	return 0;
}

static int sort_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The user names, sorted, with "default" first unless the database has
 * one (then it sorts with the rest). */
static const char **names(resp_cli_t *cl, size_t *n)
{
	users_t *u = db(cl);
	size_t cap = (u ? users_count(u) : 0) + 1, k = 0, it = 0;
	const char **v = calloc(cap, sizeof *v);
	if (!v)
		abort();
	const user_t *x;
	int has_default = 0;
	while (u && (x = users_next(u, &it))) {
		v[k++] = x->name;
		has_default |= !strcmp(x->name, "default");
	}
	if (!has_default)
		v[k++] = "default";
	qsort(v, k, sizeof *v, sort_names);
	*n = k;
	return v;
}

/* The default user as requirepass makes it, when the database has none. */
static void default_rules(resp_cli_t *cl, acl_rules_t *r)
{
	const char *rp = cl->srv->cfg->requirepass;
	*r = (acl_rules_t){1, !(rp && *rp), 1, 1, 1};
	if (!(rp && *rp) && db(cl) && users_enabled(db(cl)))
		r->on = 0; /* disabled while users exist (c_conn.c) */
}

static void rules_of(resp_cli_t *cl, const char *name, acl_rules_t *r)
{
	const user_t *x = db(cl) ? users_find(db(cl), name, strlen(name)) : NULL;
	if (x)
		rules_parse(x->acl, r);
	else
		default_rules(cl, r);
}

RESP_HANDLER(resp_c_acl_users)
{
	(void)argc, (void)argv;
	size_t n;
	const char **v = names(cl, &n);
	resp_array(cl->out, n);
	for (size_t i = 0; i < n; i++)
		resp_bulk_str(cl->out, v[i]);
	free(v);
	return 0;
}

RESP_HANDLER(resp_c_acl_list)
{
	(void)argc, (void)argv;
	size_t n;
	const char **v = names(cl, &n);
	resp_array(cl->out, n);
	for (size_t i = 0; i < n; i++) {
		acl_rules_t r;
		rules_of(cl, v[i], &r);
		char rules[128], line[700];
		rules_format(&r, rules, sizeof rules);
		snprintf(line, sizeof line, "user %s %s", v[i], rules);
		resp_bulk_str(cl->out, line);
	}
	free(v);
	return 0;
}

RESP_HANDLER(resp_c_acl_getuser)
{
	(void)argc;
	char name[USERS_NAME_MAX + 1];
	snprintf(name, sizeof name, "%.*s", (int)argv[2].len, argv[2].p);
	const user_t *x = db(cl) ? users_find(db(cl), argv[2].p, argv[2].len) : NULL;
	if (!x && strcmp(name, "default")) {
		resp_null(cl->out, cl->proto);
		return 0;
	}
	acl_rules_t r;
	rules_of(cl, name, &r);
	buf_t *o = cl->out;
	resp_map(o, cl->proto, 6);
	resp_bulk_str(o, "flags");
	resp_array(o, (size_t)(1 + r.nopass));
	resp_bulk_str(o, r.on ? "on" : "off");
	if (r.nopass)
		resp_bulk_str(o, "nopass");
	/* Redis lists SHA-256 hashes of the passwords; sluice keeps SCRAM
	 * keys only, so it names the mechanisms that are set. */
	resp_bulk_str(o, "passwords");
	size_t np = x ? (size_t)(x->scram[0].set + x->scram[1].set) : 0;
	resp_array(o, np);
	for (int m = 0; x && m < USERS_NMECH; m++)
		if (x->scram[m].set)
			resp_bulk_str(o, users_mech_name(m));
	resp_bulk_str(o, "commands");
	resp_bulk_str(o, r.allcmds ? "+@all" : "-@all");
	resp_bulk_str(o, "keys");
	resp_bulk_str(o, r.allkeys ? "~*" : "");
	resp_bulk_str(o, "channels");
	resp_bulk_str(o, r.allchans ? "&*" : "");
	resp_bulk_str(o, "selectors");
	resp_array(o, 0);
	return 0;
}

RESP_HANDLER(resp_c_acl_setuser)
{
	users_t *u = db(cl);
	const resp_arg_t *nm = &argv[2];
	if (!u || nm->len == 0 || nm->len > USERS_NAME_MAX || memchr(nm->p, ' ', nm->len)) {
		resp_error(cl->out, "ERR Usernames can't contain spaces or null characters");
		return 0;
	}
	const user_t *x = users_find(u, nm->p, nm->len);
	acl_rules_t r = {0};
	if (x)
		rules_parse(x->acl, &r);
	const resp_arg_t *pass = NULL;
	int resetpass = 0;
	for (int i = 3; i < argc; i++) {
		const resp_arg_t *a = &argv[i];
		const char *why = NULL;
		if (resp_arg_is(a, "on"))
			r.on = 1;
		else if (resp_arg_is(a, "off"))
			r.on = 0;
		else if (resp_arg_is(a, "nopass"))
			r.nopass = 1, pass = NULL, resetpass = 1;
		else if (resp_arg_is(a, "resetpass"))
			r.nopass = 0, pass = NULL, resetpass = 1;
		else if (a->len >= 1 && a->p[0] == '>')
			pass = a, r.nopass = 0;
		else if (resp_arg_is(a, "allcommands") || resp_arg_is(a, "+@all"))
			r.allcmds = 1;
		else if (resp_arg_is(a, "nocommands") || resp_arg_is(a, "-@all"))
			r.allcmds = 0;
		else if (resp_arg_is(a, "allkeys") || resp_arg_is(a, "~*"))
			r.allkeys = 1;
		else if (resp_arg_is(a, "resetkeys"))
			r.allkeys = 0;
		else if (resp_arg_is(a, "allchannels") || resp_arg_is(a, "&*"))
			r.allchans = 1;
		else if (resp_arg_is(a, "resetchannels"))
			r.allchans = 0;
		else if (resp_arg_is(a, "reset"))
			r = (acl_rules_t){0}, pass = NULL, resetpass = 1;
		else if (a->len >= 1 && strchr("~&+-%<#!", a->p[0]))
			why = "sluice grants all or none of commands, keys and channels";
		else
			why = "Syntax error";
		if (why) {
			resp_errorf(cl->out, "ERR Error in ACL SETUSER modifier '%.*s': %s",
			            (int)(a->len < 128 ? a->len : 128), a->p, why);
			return 0;
		}
	}
	char text[128];
	rules_format(&r, text, sizeof text);
	int rc = 0;
	if (pass)
		rc = users_set_password(u, nm->p, nm->len, pass->p + 1, pass->len - 1);
	else if (resetpass && x)
		for (int m = 0; m < USERS_NMECH && rc == 0; m++)
			if (users_find(u, nm->p, nm->len)->scram[m].set)
				rc = users_delete_scram(u, nm->p, nm->len, m);
	if (rc == 0)
		rc = users_set_acl(u, nm->p, nm->len, text);
	if (rc < 0) {
		resp_error(cl->out, "ERR the user database could not be written");
		return 0;
	}
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_acl_deluser)
{
	int64_t n = 0;
	for (int i = 2; i < argc; i++) {
		if (resp_arg_is(&argv[i], "default")) {
			resp_error(cl->out, "ERR The 'default' user cannot be removed");
			return 0;
		}
	}
	for (int i = 2; i < argc && db(cl); i++)
		n += users_delete(db(cl), argv[i].p, argv[i].len) == 0;
	resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_acl_cat)
{
	/* Redis 7.0's categories, in its order. */
	static const char *const cats[] = {
	    "keyspace",   "read",        "write",    "set",         "sortedset", "list",
	    "hash",       "string",      "bitmap",   "hyperloglog", "geo",       "stream",
	    "pubsub",     "admin",       "fast",     "slow",        "blocking",  "dangerous",
	    "connection", "transaction", "scripting"};
	size_t nc = sizeof cats / sizeof cats[0];
	if (argc == 2) {
		resp_array(cl->out, nc);
		for (size_t i = 0; i < nc; i++)
			resp_bulk_str(cl->out, cats[i]);
		return 0;
	}
	/* The commands of one category (top level and subcommands, as
	 * "parent|sub"), like Redis. */
	char cat[40];
	snprintf(cat, sizeof cat, "%.*s", (int)(argv[2].len < 39 ? argv[2].len : 39), argv[2].p);
	int known = 0;
	for (size_t i = 0; i < nc; i++)
		known |= !strcasecmp(cats[i], cat);
	if (!known) {
		resp_errorf(cl->out, "ERR Unknown category '%s'", cat);
		return 0;
	}
	buf_t tmp;
	buf_init(&tmp);
	size_t n = 0;
	const resp_cmd_t *c;
	for (size_t i = 0; (c = resp_cmd_at(i)); i++) {
		const resp_cmd_t *one[2] = {c, NULL};
		const resp_cmd_t *list = c->subs ? c->subs : NULL;
		for (size_t k = 0; list ? list[k].name != NULL : k < 1; k++) {
			const resp_cmd_t *x = list ? &list[k] : one[0];
			const char *a = x->acl ? x->acl : "";
			size_t cl_ = strlen(cat);
			int hit = 0;
			for (const char *p = a; *p;) {
				size_t w = strcspn(p, " ");
				hit |= w == cl_ && !strncasecmp(p, cat, w);
				p += w;
				p += strspn(p, " ");
			}
			if (!hit)
				continue;
			char name[128];
			if (list)
				snprintf(name, sizeof name, "%s|%s", c->name, x->name);
			else
				snprintf(name, sizeof name, "%s", x->name);
			resp_bulk_str(&tmp, name);
			n++;
		}
	}
	resp_array(cl->out, n);
	buf_append(cl->out, buf_data(&tmp), buf_len(&tmp));
	buf_deinit(&tmp);
	return 0;
}
