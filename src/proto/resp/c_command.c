/*
 * c_command.c — COMMAND, COMMAND COUNT / DOCS / INFO / LIST, from the
 * command tables (commands.c): names, arity, flags, legacy key positions
 * and ACL categories for INFO; for DOCS redis-server 7.0's documentation
 * (commands_docs.h: arguments, complexity, history) or the row's summary,
 * version and group.
 * Loop thread only.
 */
#include "proto/resp/commands.h"
#include "proto/resp/commands_docs.h"
#include "proto/resp/resp.h"

#include <stdio.h>
#include <string.h>

static size_t count_words(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n++;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

/* 7.0's CMD_ADMIN: the tables give it as the @admin category, which Redis
 * derives from the flag (setImplicitACLCategories). The key-spec flags
 * come from 7.0's specifications (commands_docs.h). */
#define FLAG_ADMIN (1u << 31)
#define FLAG_NO_MANDATORY_KEYS (1u << 30)
#define FLAG_MOVABLE_KEYS (1u << 29)

static int has_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = s; (p = strstr(p, w)) != NULL; p += n)
		if ((p == s || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

/* The flags in 7.0's addCommandFlags order. */
static void put_flags(resp_cli_t *cl, const resp_cmd_t *c, const resp_docs_t *d)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
	    {RESP_CMD_WRITE, "write"},
	    {RESP_CMD_READONLY, "readonly"},
	    {RESP_CMD_DENYOOM, "denyoom"},
	    {FLAG_ADMIN, "admin"},
	    {RESP_CMD_PUBSUB, "pubsub"},
	    {RESP_CMD_NOSCRIPT, "noscript"},
	    {RESP_CMD_BLOCKING, "blocking"},
	    {RESP_CMD_LOADING, "loading"},
	    {RESP_CMD_STALE, "stale"},
	    {RESP_CMD_FAST, "fast"},
	    {RESP_CMD_NOAUTH, "no_auth"},
	    {FLAG_NO_MANDATORY_KEYS, "no_mandatory_keys"},
	    {RESP_CMD_NO_ASYNC_LOADING, "no_async_loading"},
	    {RESP_CMD_NO_MULTI, "no_multi"},
	    {FLAG_MOVABLE_KEYS, "movablekeys"},
	    {RESP_CMD_ALLOW_BUSY, "allow_busy"},
	};
	uint32_t f = c->flags | (has_word(c->acl, "admin") ? FLAG_ADMIN : 0) |
	             (d && d->no_mandatory_keys ? FLAG_NO_MANDATORY_KEYS : 0) |
	             (resp_docs_movablekeys(d) ? FLAG_MOVABLE_KEYS : 0);
	size_t n = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		n += (f & names[i].bit) != 0;
	resp_set(cl->out, cl->proto, n);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (f & names[i].bit)
			resp_simple(cl->out, names[i].name);
}

static void put_info(resp_cli_t *cl, const resp_cmd_t *c, const char *parent)
{
	buf_t *o = cl->out;
	char name[96];
	if (parent)
		snprintf(name, sizeof name, "%s|%s", parent, c->name);
	else
		snprintf(name, sizeof name, "%s", c->name);
	/* Redis 7.0's key specifications (commands_docs.h), when it has the
	 * command. */
	const resp_docs_t *d = resp_docs_find(name);
	resp_array(o, 10);
	resp_bulk_str(o, name);
	resp_int(o, c->arity);
	put_flags(cl, c, d);
	resp_int(o, c->first_key);
	resp_int(o, c->last_key);
	resp_int(o, c->key_step);
	size_t nacl = count_words(c->acl);
	resp_set(o, cl->proto, nacl);
	for (const char *p = c->acl; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		buf_printf(o, "+@%.*s\r\n", (int)(e - p), p);
		p = e;
	}
	resp_set(o, cl->proto, 0); /* tips: 7.0's addReplyCommandTips, none here */
	const char *specs = d ? d->specs : NULL;
	if (!specs || resp_docs_put(o, cl->proto, &specs) < 0)
		resp_set(o, cl->proto, 0);
	size_t nsub = 0;
	for (const resp_cmd_t *s = c->subs; s && s->name; s++)
		nsub++;
	/* addReplyCommandSubCommands: a set when there are none. */
	if (nsub)
		resp_array(o, nsub);
	else
		resp_set(o, cl->proto, 0);
	for (const resp_cmd_t *s = c->subs; s && s->name; s++)
		put_info(cl, s, c->name);
}

RESP_HANDLER(resp_c_command)
{
	(void)argc;
	(void)argv;
	size_t n = resp_cmd_count();
	resp_array(cl->out, n);
	for (size_t i = 0; i < n; i++)
		put_info(cl, resp_cmd_at(i), NULL);
	return 0;
}

RESP_HANDLER(resp_c_command_count)
{
	(void)argc;
	(void)argv;
	resp_int(cl->out, (int64_t)resp_cmd_count());
	return 0;
}

/* A command by name, "parent|sub" naming a subcommand (7.0's
 * lookupCommandBySds); *par its container or NULL. */
static const resp_cmd_t *find_full(resp_srv_t *srv, const resp_arg_t *a, const resp_cmd_t **par)
{
	const char *bar = memchr(a->p, '|', a->len);
	size_t top = bar ? (size_t)(bar - a->p) : a->len;
	const resp_cmd_t *c = resp_cmd_find(srv, a->p, top);
	*par = NULL;
	if (c && bar) {
		*par = c;
		c = c->subs ? resp_cmd_lookup(c->subs, bar + 1, a->len - top - 1) : NULL;
	}
	return c;
}

RESP_HANDLER(resp_c_command_info)
{
	if (argc == 2)
		return resp_c_command(cl, argc, argv);
	resp_array(cl->out, (size_t)(argc - 2));
	for (int i = 2; i < argc; i++) {
		const resp_cmd_t *par, *c = find_full(cl->srv, &argv[i], &par);
		if (c)
			put_info(cl, c, par ? par->name : NULL);
		else
			resp_null_array(cl->out, cl->proto);
	}
	return 0;
}

static void put_docs(resp_cli_t *cl, const resp_cmd_t *c, const char *parent)
{
	buf_t *o = cl->out;
	char name[96];
	if (parent)
		snprintf(name, sizeof name, "%s|%s", parent, c->name);
	else
		snprintf(name, sizeof name, "%s", c->name);
	resp_bulk_str(o, name);
	size_t nsub = 0;
	for (const resp_cmd_t *s = c->subs; s && s->name; s++)
		nsub++;
	/* Redis 7.0's own documentation when it has the command (arguments,
	 * complexity, history: commands_docs.h), else the row's. */
	const resp_docs_t *d = resp_docs_find(name);
	if (d) {
		resp_map(o, cl->proto, (size_t)d->npairs + (nsub ? 1 : 0));
		const char *p = d->docs;
		for (int i = 0; i < 2 * d->npairs; i++)
			resp_docs_put(o, cl->proto, &p);
	} else {
		resp_map(o, cl->proto, nsub ? 4 : 3);
		resp_bulk_str(o, "summary");
		resp_bulk_str(o, c->summary);
		resp_bulk_str(o, "since");
		resp_bulk_str(o, c->since);
		resp_bulk_str(o, "group");
		resp_bulk_str(o, c->group);
	}
	if (nsub) {
		resp_bulk_str(o, "subcommands");
		resp_map(o, cl->proto, nsub);
		for (const resp_cmd_t *s = c->subs; s->name; s++)
			put_docs(cl, s, c->name);
	}
}

RESP_HANDLER(resp_c_command_docs)
{
	size_t n = resp_cmd_count();
	if (argc == 2) {
		resp_map(cl->out, cl->proto, n);
		for (size_t i = 0; i < n; i++)
			put_docs(cl, resp_cmd_at(i), NULL);
		return 0;
	}
	size_t mark = resp_defer(cl->out), found = 0;
	for (int i = 2; i < argc; i++) {
		const resp_cmd_t *par, *c = find_full(cl->srv, &argv[i], &par);
		if (c) {
			put_docs(cl, c, par ? par->name : NULL);
			found++;
		}
	}
	resp_defer_map(cl->out, mark, cl->proto, found);
	return 0;
}

RESP_HANDLER(resp_c_command_list)
{
	(void)argc;
	(void)argv;
	size_t n = resp_cmd_count();
	size_t mark = resp_defer(cl->out), k = 0;
	for (size_t i = 0; i < n; i++) {
		const resp_cmd_t *t = resp_cmd_at(i);
		resp_bulk_str(cl->out, t->name);
		k++;
		for (const resp_cmd_t *s = t->subs; s && s->name; s++) {
			buf_printf(cl->out, "$%zu\r\n%s|%s\r\n",
			           strlen(t->name) + 1 + strlen(s->name), t->name, s->name);
			k++;
		}
	}
	resp_defer_set(cl->out, mark, '*', k);
	return 0;
}
