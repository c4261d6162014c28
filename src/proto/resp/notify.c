/*
 * notify.c — keyspace notifications (notify-keyspace-events, Redis 7.0's
 * notify.c): each change of a key publishes "__keyspace@0__:<key>" with
 * the event as message (K) and "__keyevent@0__:<event>" with the key (E),
 * for the classes enabled (g $ l s h z x t, A for all; e, m, d and n are
 * accepted and never fire: sluice evicts nothing, has no modules, and
 * reports no key-miss or new-key events).
 *
 * The keyspace reports every change through its key hook (front.c); the
 * event's name comes from the command being run (srv->ncmd, set around
 * dispatch), as Redis names them per command: most use the command's own
 * name, some a shared one (HMSET and HSETNX "hset", SETEX and friends
 * "set", INCR "incrby"...), moves name each side (LMOVE's "lpop"/"rpush",
 * SMOVE's "srem"/"sadd", RENAME's "rename_from"/"rename_to"), a key that
 * empties or is deleted "del", and one whose time passed "expired".
 * Known difference: a command that emits several events for one key in
 * Redis (SETEX's "set" then "expire", a Z*STORE's "del" before it) emits
 * one here. Loop thread only.
 */
#include "proto/resp/c_types.h"

#include <stdio.h>
#include <string.h>

enum {
	N_K = 1 << 0,
	N_E = 1 << 1,
	N_GENERIC = 1 << 2,
	N_STRING = 1 << 3,
	N_LIST = 1 << 4,
	N_SET = 1 << 5,
	N_HASH = 1 << 6,
	N_ZSET = 1 << 7,
	N_EXPIRED = 1 << 8,
	N_EVICTED = 1 << 9,
	N_STREAM = 1 << 10,
	N_MISS = 1 << 11,
	N_MODULE = 1 << 13,
	N_NEW = 1 << 14,
};
#define N_ALL                                                                              \
	(N_GENERIC | N_STRING | N_LIST | N_SET | N_HASH | N_ZSET | N_EXPIRED | N_EVICTED | \
	 N_STREAM | N_MODULE)

static const struct {
	char c;
	int flag;
} classes[] = {
    {'g', N_GENERIC}, {'$', N_STRING},  {'l', N_LIST},    {'s', N_SET},    {'h', N_HASH},
    {'z', N_ZSET},    {'x', N_EXPIRED}, {'e', N_EVICTED}, {'t', N_STREAM}, {'d', N_MODULE},
    {'n', N_NEW},     {'K', N_K},       {'E', N_E},       {'m', N_MISS},
};

int resp_notify_parse(const char *s, size_t n)
{
	int flags = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 'A') {
			flags |= N_ALL;
			continue;
		}
		size_t k = 0;
		for (; k < sizeof classes / sizeof classes[0]; k++)
			if (classes[k].c == s[i])
				break;
		if (k == sizeof classes / sizeof classes[0])
			return -1;
		flags |= classes[k].flag;
	}
	return flags;
}

size_t resp_notify_format(int flags, char *buf)
{
	size_t n = 0;
	if ((flags & N_ALL) == N_ALL) {
		buf[n++] = 'A';
	} else {
		for (size_t k = 0; k < 11; k++) /* the classes before K, E, m */
			if (flags & classes[k].flag)
				buf[n++] = classes[k].c;
	}
	if (flags & N_K)
		buf[n++] = 'K';
	if (flags & N_E)
		buf[n++] = 'E';
	if (flags & N_MISS)
		buf[n++] = 'm';
	buf[n] = 0;
	return n;
}

/* Commands whose event is not their own name. */
static const struct {
	const char *cmd, *event;
} renamed[] = {
    {"hmset", "hset"},       {"hsetnx", "hset"},
    {"setex", "set"},        {"psetex", "set"},
    {"setnx", "set"},        {"getset", "set"},
    {"mset", "set"},         {"msetnx", "set"},
    {"incr", "incrby"},      {"decr", "decrby"},
    {"pexpire", "expire"},   {"expireat", "expire"},
    {"pexpireat", "expire"}, {"getex", "expire"},
    {"getdel", "del"},       {"unlink", "del"},
    {"lpushx", "lpush"},     {"rpushx", "rpush"},
    {"blpop", "lpop"},       {"brpop", "rpop"},
    {"zincrby", "zincr"},    {"bzpopmin", "zpopmin"},
    {"bzpopmax", "zpopmax"}, {"sort", "sortstore"},
    {"xgroup", "xgroup"},    {"hincrbyfloat", "hincrbyfloat"},
    {"bitop", "set"},        {"bitfield", "setbit"},
};

static int type_class(ks_type_t t)
{
	switch (t) {
	case KS_STRING:
		return N_STRING;
	case KS_LIST:
		return N_LIST;
	case KS_HASH:
		return N_HASH;
	case KS_SET:
		return N_SET;
	case KS_ZSET:
		return N_ZSET;
	case KS_STREAM:
		return N_STREAM;
	}
	return N_GENERIC;
}

static int arg_eq(const resp_arg_t *a, const char *key, size_t klen)
{
	return a->len == klen && memcmp(a->p, key, klen) == 0;
}

/* The event name and class of a change to key by the current command. */
static const char *event_of(resp_srv_t *srv, const char *key, size_t klen, int ev, int *cls)
{
	const resp_cmd_t *cmd = srv->ncmd;
	const resp_arg_t *argv = srv->nargv;
	if (ev == KS_EV_EXPIRED) {
		*cls = N_EXPIRED;
		return "expired";
	}
	if (!cmd)
		return NULL;
	const char *name = cmd->name;
	if (strcmp(name, "rename") == 0 || strcmp(name, "renamenx") == 0) {
		*cls = N_GENERIC;
		return ev == KS_EV_DELETED && arg_eq(&argv[1], key, klen) ? "rename_from"
		                                                          : "rename_to";
	}
	if (ev == KS_EV_DELETED) {
		*cls = N_GENERIC;
		return "del";
	}
	if (strcmp(name, "copy") == 0) {
		*cls = N_GENERIC;
		return "copy_to";
	}
	if (strcmp(name, "restore") == 0) {
		*cls = N_GENERIC;
		return "restore";
	}
	if (strcmp(name, "persist") == 0 || strcmp(name, "expire") == 0 ||
	    strcmp(name, "pexpire") == 0 || strcmp(name, "expireat") == 0 ||
	    strcmp(name, "pexpireat") == 0) {
		*cls = N_GENERIC;
		return strcmp(name, "persist") == 0 ? "persist" : "expire";
	}
	ks_obj_t *o = ks_peek(srv->ks, key, klen);
	*cls = o ? type_class(o->type) : N_GENERIC;
	int src = srv->nargc > 1 && arg_eq(&argv[1], key, klen);
	if (strcmp(name, "smove") == 0)
		return src ? "srem" : "sadd";
	if (strcmp(name, "lmove") == 0 || strcmp(name, "blmove") == 0) {
		if (src && !(srv->nargc > 2 && arg_eq(&argv[2], key, klen)))
			return resp_arg_is(&argv[3], "left") ? "lpop" : "rpop";
		return resp_arg_is(&argv[4], "left") ? "lpush" : "rpush";
	}
	if (strcmp(name, "rpoplpush") == 0 || strcmp(name, "brpoplpush") == 0)
		return src && !arg_eq(&argv[2], key, klen) ? "rpop" : "lpush";
	if (strcmp(name, "lmpop") == 0 || strcmp(name, "blmpop") == 0 ||
	    strcmp(name, "zmpop") == 0 || strcmp(name, "bzmpop") == 0) {
		for (int i = 1; i < srv->nargc; i++) {
			if (resp_arg_is(&srv->nargv[i], "left"))
				return "lpop";
			if (resp_arg_is(&srv->nargv[i], "right"))
				return "rpop";
			if (resp_arg_is(&srv->nargv[i], "min"))
				return "zpopmin";
			if (resp_arg_is(&srv->nargv[i], "max"))
				return "zpopmax";
		}
	}
	for (size_t i = 0; i < sizeof renamed / sizeof renamed[0]; i++)
		if (strcmp(renamed[i].cmd, name) == 0)
			return renamed[i].event;
	return name;
}

static void publish(resp_srv_t *srv, const char *ch, size_t chlen, const char *msg, size_t mlen)
{
	ps_publish(ks_pubsub(srv->ks), ch, chlen, msg, mlen);
}

static void emit(resp_srv_t *srv, const char *key, size_t klen, const char *event, int cls);

/* SET with an expiry (and SETEX, PSETEX) also says "expire" in Redis. */
static int sets_expiry(const resp_srv_t *srv)
{
	const char *name = srv->ncmd ? srv->ncmd->name : "";
	if (!strcmp(name, "setex") || !strcmp(name, "psetex"))
		return 1;
	if (strcmp(name, "set"))
		return 0;
	for (int i = 3; i < srv->nargc; i++)
		if (resp_arg_is(&srv->nargv[i], "ex") || resp_arg_is(&srv->nargv[i], "px") ||
		    resp_arg_is(&srv->nargv[i], "exat") || resp_arg_is(&srv->nargv[i], "pxat"))
			return 1;
	return 0;
}

void resp_notify_key(resp_srv_t *srv, const char *key, size_t klen, int ev)
{
	int cls = 0;
	const char *event = event_of(srv, key, klen, ev, &cls);
	if (!event)
		return;
	emit(srv, key, klen, event, cls);
	if (ev == KS_EV_CHANGED && cls == N_STRING && sets_expiry(srv))
		emit(srv, key, klen, "expire", N_GENERIC);
}

static void emit(resp_srv_t *srv, const char *key, size_t klen, const char *event, int cls)
{
	if (!(srv->notify & cls))
		return;
	char head[64];
	if (srv->notify & N_K) {
		buf_t ch = BUF_INIT;
		buf_append(&ch, "__keyspace@0__:", 15);
		buf_append(&ch, key, klen);
		publish(srv, (const char *)buf_data(&ch), buf_len(&ch), event, strlen(event));
		buf_deinit(&ch);
	}
	if (srv->notify & N_E) {
		int n = snprintf(head, sizeof head, "__keyevent@0__:%s", event);
		publish(srv, head, (size_t)n, key, klen);
	}
}
