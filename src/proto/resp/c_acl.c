/*
 * c_acl.c — ACL WHOAMI, USERS, LIST, GETUSER, SETUSER, DELUSER, CAT,
 * DRYRUN, GENPASS, LOAD and SAVE on the broker's one user database
 * (broker/users.h). The rules themselves are acl_rules.c; their
 * enforcement, AUTH and ACL LOG are c_acl_check.c.
 *
 * A user's rules are stored as their canonical text (ACL LIST's form); a
 * user created through Kafka (no text) has full access. Redis passwords
 * are kept as Redis keeps them, SHA-256 hashes in the rules (what ACL LIST
 * shows); the last password set with >pass is also the user's SCRAM
 * credential, so it works over Kafka SASL; removing any password removes
 * the SCRAM credential (a hash does not tell whether it was that one),
 * unless the same command sets a new one with >password.
 * Loop thread only.
 */
#include "broker/users.h"
#include "proto/resp/acl_rules.h"
#include "proto/resp/commands.h"
#include "proto/resp/resp.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static users_t *db(resp_cli_t *cl)
{
	return cl->srv->b ? cl->srv->b->users : NULL;
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
		const acl_user_t *u = resp_acl_user(cl->srv, v[i], strlen(v[i]));
		char *rules = acl_describe(u);
		buf_t line = BUF_INIT;
		buf_printf(&line, "user %s %s", v[i], rules);
		resp_bulk(cl->out, buf_data(&line), buf_len(&line));
		buf_deinit(&line);
		free(rules);
	}
	free(v);
	return 0;
}

RESP_HANDLER(resp_c_acl_getuser)
{
	(void)argc;
	const acl_user_t *u = resp_acl_user(cl->srv, argv[2].p, argv[2].len);
	if (!u) {
		resp_null(cl->out, cl->proto);
		return 0;
	}
	buf_t *o = cl->out;
	resp_map(o, cl->proto, 6);
	resp_bulk_str(o, "flags");
	resp_array(o, (size_t)(1 + u->nopass + (u->sanitize > 0)));
	resp_bulk_str(o, u->on ? "on" : "off");
	if (u->nopass)
		resp_bulk_str(o, "nopass");
	if (u->sanitize)
		resp_bulk_str(o, u->sanitize == 1 ? "sanitize-payload" : "skip-sanitize-payload");
	resp_bulk_str(o, "passwords");
	resp_array(o, u->npw);
	for (size_t i = 0; i < u->npw; i++) {
		char hex[65];
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", u->pw[i][k]);
		resp_bulk_str(o, hex);
	}
	char *parts[3] = {acl_describe_cmds(u), acl_describe_keys(u), acl_describe_chans(u)};
	static const char *const what[3] = {"commands", "keys", "channels"};
	for (int i = 0; i < 3; i++) {
		resp_bulk_str(o, what[i]);
		resp_bulk_str(o, parts[i]);
		free(parts[i]);
	}
	resp_bulk_str(o, "selectors");
	resp_array(o, 0);
	return 0;
}

/* Mirrors the Redis passwords into the SCRAM credentials (Kafka SASL):
 * the last >password set becomes them; when passwords were removed and
 * none was set, they go (the removed one may have been theirs). */
static int mirror_scram(users_t *d, const char *name, size_t n, const acl_user_t *u)
{
	if (u->last_pass)
		return users_set_password(d, name, n, u->last_pass, u->last_pass_len);
	const user_t *x = users_find(d, name, n);
	if (!u->pw_removed || !x)
		return 0;
	for (int m = 0; m < USERS_NMECH; m++) {
		x = users_find(d, name, n);
		if (x && x->scram[m].set) {
			int rc = users_delete_scram(d, name, n, m);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

RESP_HANDLER(resp_c_acl_setuser)
{
	users_t *d = db(cl);
	const resp_arg_t *nm = &argv[2];
	if (!d || nm->len == 0 || nm->len > USERS_NAME_MAX || memchr(nm->p, ' ', nm->len) ||
	    memchr(nm->p, 0, nm->len)) {
		resp_error(cl->out, "ERR Usernames can't contain spaces or null characters");
		return 0;
	}
	/* Applied to a copy, stored only when every modifier is valid (Redis
	 * applies SETUSER atomically). */
	const user_t *x = users_find(d, nm->p, nm->len);
	const acl_user_t *cur =
	    x || resp_arg_is(nm, "default") ? resp_acl_user(cl->srv, nm->p, nm->len) : NULL;
	acl_user_t u;
	if (cur) {
		char *t = acl_describe(cur);
		acl_user_from_text(&u, t);
		free(t);
	} else {
		acl_user_init(&u);
	}
	for (int i = 3; i < argc; i++) {
		const char *why;
		if (acl_apply(&u, argv[i].p, argv[i].len, &why) < 0) {
			resp_errorf(cl->out, "ERR Error in ACL SETUSER modifier '%.*s': %s",
			            (int)(argv[i].len < 128 ? argv[i].len : 128), argv[i].p, why);
			acl_user_deinit(&u);
			return 0;
		}
	}
	acl_minimize(&u);
	char *text = acl_describe(&u);
	if (strlen(text) > ACL_MAX_TEXT) {
		resp_errorf(cl->out, "ERR the rules of a user are limited to %d bytes in sluice",
		            ACL_MAX_TEXT);
		free(text);
		acl_user_deinit(&u);
		return 0;
	}
	int rc = mirror_scram(d, nm->p, nm->len, &u);
	if (rc == 0)
		rc = users_set_acl(d, nm->p, nm->len, text);
	free(text);
	acl_user_deinit(&u);
	if (rc < 0) {
		resp_error(cl->out, "ERR the user database could not be written");
		return 0;
	}
	char *name = strndup(nm->p, nm->len);
	if (!name)
		abort();
	resp_acl_kick(cl, name); /* subscribers to channels no longer allowed */
	free(name);
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
	for (int i = 2; i < argc && db(cl); i++) {
		if (users_delete(db(cl), argv[i].p, argv[i].len) != 0)
			continue;
		n++;
		char *name = strndup(argv[i].p, argv[i].len);
		if (!name)
			abort();
		resp_acl_kick(cl, name); /* Redis closes a deleted user's clients */
		free(name);
	}
	resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_acl_dryrun)
{
	const acl_user_t *u = resp_acl_user(cl->srv, argv[2].p, argv[2].len);
	if (!u) {
		resp_errorf(cl->out, "ERR User '%.*s' not found",
		            (int)(argv[2].len < 128 ? argv[2].len : 128), argv[2].p);
		return 0;
	}
	int cargc = argc - 3;
	resp_arg_t *cargv = argv + 3;
	const resp_cmd_t *cmd = resp_cmd_find(cl->srv, cargv[0].p, cargv[0].len), *parent = NULL;
	if (cmd && cmd->subs && cargc >= 2) {
		parent = cmd;
		cmd = resp_cmd_lookup(cmd->subs, cargv[1].p, cargv[1].len);
	}
	if (!cmd || (!cmd->fn && !cmd->subs)) {
		resp_errorf(cl->out, "ERR Command '%.*s' not found",
		            (int)(cargv[0].len < 128 ? cargv[0].len : 128), cargv[0].p);
		return 0;
	}
	if (cmd->arity > 0 ? cargc != cmd->arity : cargc < -cmd->arity) {
		char full[160];
		snprintf(full, sizeof full, parent ? "%s|%s" : "%s%s", parent ? parent->name : "",
		         cmd->name);
		resp_err_arity(cl, full);
		return 0;
	}
	int bad, v = acl_check(u, parent, cmd, cargc, cargv, &bad);
	buf_t t = BUF_INIT;
	if (v == RESP_ACL_CMD)
		buf_printf(&t, "This user has no permissions to run the '%s%s%s' command",
		           parent ? parent->name : "", parent ? "|" : "", cmd->name);
	else if (v == RESP_ACL_KEY || v == RESP_ACL_CHANNEL)
		buf_printf(&t, "This user has no permissions to access the '%.*s' %s",
		           (int)cargv[bad].len, cargv[bad].p,
		           v == RESP_ACL_KEY ? "key" : "channel");
	if (v == RESP_ACL_OK)
		resp_ok(cl->out);
	else
		resp_bulk(cl->out, buf_data(&t), buf_len(&t));
	buf_deinit(&t);
	return 0;
}

RESP_HANDLER(resp_c_acl_genpass)
{
	int64_t bits = 256;
	if (argc == 3 && (resp_arg_ll(&argv[2], &bits) < 0 || bits <= 0 || bits > 4096)) {
		resp_error(cl->out, "ERR ACL GENPASS argument must be the number of bits for the "
		                    "output password, a positive number up to 4096");
		return 0;
	}
	size_t chars = (size_t)(bits + 3) / 4;
	unsigned char raw[512];
	char hex[1025];
	if (RAND_bytes(raw, (int)(chars + 1) / 2) != 1)
		abort();
	for (size_t i = 0; i < chars; i++)
		hex[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	resp_bulk(cl->out, hex, chars);
	return 0;
}

/* ACL LOAD and ACL SAVE: sluice keeps users in its journaled database, never
 * in an ACL file, so both answer as Redis does without aclfile. */
RESP_HANDLER(resp_c_acl_load)
{
	(void)argc, (void)argv;
	resp_error(cl->out,
	           "ERR This Redis instance is not configured to use an ACL file. You may want to "
	           "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
	           "(assuming you have a Redis configuration file set) in order to store users in "
	           "the Redis configuration.");
	return 0;
}

RESP_HANDLER(resp_c_acl_cat)
{
	const char *const *cats = acl_categories;
	size_t nc = 0;
	while (cats[nc])
		nc++;
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
