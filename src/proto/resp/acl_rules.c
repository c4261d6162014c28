/*
 * acl_rules.c — Redis 7.0 ACL rules of one user: the SETUSER modifiers,
 * the canonical text, and the checks of a call (acl_rules.h).
 *
 * Commands: a base (+@all or -@all) and then the +/- rules in the order
 * they were given, each replacing an earlier rule on the same command or
 * category (and a whole-command rule replacing the earlier rules on its
 * subcommands). A call is allowed when the last rule that matches it
 * allows it, or no rule matches and the base does. Redis 7.0 prints the
 * same permissions recomputed from its bitmap in its hash-table order;
 * sluice prints the rules as given (Redis 7.2's form), which is the same
 * text for a base plus rules on distinct commands (docs/redis.md).
 *
 * Keys: ~pattern (read and write), %R~ / %W~ (read or write only, Redis
 * 7.0), with the permission a key needs taken from the command: read-only
 * commands read, write commands write, and the ones that also return the
 * data they change (INCR, LPOP, GETDEL ...) both; the destination of a
 * *STORE command needs write, its sources read.
 * Channels: &pattern, matched as a glob against PUBLISH/SUBSCRIBE's
 * channel and literally against PSUBSCRIBE's pattern, as Redis does.
 * Selectors "(...)" are refused with an error.
 */
#include "proto/resp/acl_rules.h"
#include "broker/keyspace_glob.h"
#include "proto/resp/commands.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Redis 7.0's categories, in its order (ACL CAT). */
const char *const acl_categories[] = {
    "keyspace", "read",        "write",      "set",         "sortedset", "list",  "hash", "string",
    "bitmap",   "hyperloglog", "geo",        "stream",      "pubsub",    "admin", "fast", "slow",
    "blocking", "dangerous",   "connection", "transaction", "scripting", NULL};

static char *dupn(const char *p, size_t n)
{
	char *s = strndup(p, n); /* callers refused NUL bytes */
	if (!s)
		abort();
	return s;
}

#define TOO_MANY                                                                             \
	"sluice keeps at most 128 command rules and 1024 key patterns and channel patterns " \
	"per user"

/* Patterns are stored space-separated: Redis refuses spaces in them too. */
static int has_space(const char *p, size_t n)
{
	return memchr(p, ' ', n) || memchr(p, 0, n);
}

static void *grow(void *v, size_t n, size_t size)
{
	v = realloc(v, (n + 1) * size);
	if (!v)
		abort();
	return v;
}

static int is(const char *m, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(m, word, n) == 0;
}

void acl_user_init(acl_user_t *u)
{
	*u = (acl_user_t){0};
}

static void clear_pw(acl_user_t *u)
{
	free(u->pw);
	u->pw = NULL;
	u->npw = 0;
}

static void clear_keys(acl_user_t *u)
{
	for (size_t i = 0; i < u->nkeys; i++)
		free(u->keys[i].p);
	free(u->keys);
	u->keys = NULL;
	u->nkeys = 0;
}

static void clear_chans(acl_user_t *u)
{
	for (size_t i = 0; i < u->nchans; i++)
		free(u->chans[i]);
	free(u->chans);
	u->chans = NULL;
	u->nchans = 0;
}

static void clear_rules(acl_user_t *u)
{
	for (size_t i = 0; i < u->nrules; i++)
		free(u->rules[i].what);
	free(u->rules);
	u->rules = NULL;
	u->nrules = 0;
}

void acl_user_deinit(acl_user_t *u)
{
	clear_pw(u);
	clear_keys(u);
	clear_chans(u);
	clear_rules(u);
	*u = (acl_user_t){0};
}

void acl_user_from_text(acl_user_t *u, const char *text)
{
	acl_user_init(u);
	if (!*text) { /* a user made over Kafka: every permission */
		u->on = u->allkeys = u->allchans = u->allcmds = 1;
		return;
	}
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, " ");
		const char *why;
		if (n)
			(void)acl_apply(u, p, n, &why); /* written by acl_describe */
		p += n;
		p += strspn(p, " ");
	}
	u->last_pass = NULL;
	u->pw_removed = 0;
}

/* --- passwords ----------------------------------------------------------------- */

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 32;
	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1)
		abort();
}

static int hex_hash(const char *p, size_t n, uint8_t out[32])
{
	if (n != 64)
		return -1;
	for (size_t i = 0; i < 64; i++) {
		char c = p[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static long find_pw(const acl_user_t *u, const uint8_t h[32])
{
	for (size_t i = 0; i < u->npw; i++)
		if (memcmp(u->pw[i], h, 32) == 0)
			return (long)i;
	return -1;
}

static void add_pw(acl_user_t *u, const uint8_t h[32])
{
	u->nopass = 0;
	if (find_pw(u, h) >= 0)
		return;
	u->pw = grow(u->pw, u->npw, sizeof *u->pw);
	memcpy(u->pw[u->npw++], h, 32);
}

static int del_pw(acl_user_t *u, const uint8_t h[32], const char **why)
{
	long i = find_pw(u, h);
	if (i < 0) {
		*why = "The password you are trying to remove from the user does not exist";
		return -1;
	}
	memmove(&u->pw[i], &u->pw[i + 1], (u->npw - (size_t)i - 1) * sizeof *u->pw);
	u->npw--;
	u->pw_removed = 1;
	if (u->last_pass) {
		uint8_t lh[32];
		sha256(u->last_pass, u->last_pass_len, lh);
		if (memcmp(lh, h, 32) == 0)
			u->last_pass = NULL;
	}
	return 0;
}

int acl_pass_ok(const acl_user_t *u, const char *pass, size_t n)
{
	uint8_t h[32];
	sha256(pass, n, h);
	int ok = 0;
	for (size_t i = 0; i < u->npw; i++)
		ok |= CRYPTO_memcmp(u->pw[i], h, 32) == 0;
	return ok;
}

/* --- commands ------------------------------------------------------------------ */

static int has_word(const char *list, const char *w, size_t wn)
{
	for (const char *p = list ? list : ""; *p;) {
		size_t n = strcspn(p, " ");
		if (n == wn && strncasecmp(p, w, n) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

static int known_category(const char *c, size_t n)
{
	if (n == 3 && strncasecmp(c, "all", 3) == 0)
		return 1;
	for (size_t i = 0; acl_categories[i]; i++)
		if (is(c, n, acl_categories[i]))
			return 1;
	return 0;
}

static const resp_cmd_t *find_in(const resp_cmd_t *t, const char *name, size_t n)
{
	for (; t && t->name; t++)
		if (is(name, n, t->name))
			return t;
	return NULL;
}

static const resp_cmd_t *find_top(const char *name, size_t n)
{
	const resp_cmd_t *c;
	for (size_t i = 0; (c = resp_cmd_at(i)); i++)
		if (is(name, n, c->name))
			return c;
	return NULL;
}

/* Whether "+what" names something: a category, a command, a subcommand,
 * or (allow only) a command's first argument, as Redis 7.0 accepts. */
static int known_target(const char *w, size_t n, int allow)
{
	if (n && w[0] == '@')
		return known_category(w + 1, n - 1);
	const char *bar = memchr(w, '|', n);
	const resp_cmd_t *top = find_top(w, bar ? (size_t)(bar - w) : n);
	if (!top || !bar)
		return top != NULL;
	size_t sn = n - (size_t)(bar - w) - 1;
	if (sn == 0 || memchr(bar + 1, '|', sn))
		return 0;
	if (top->subs)
		return find_in(top->subs, bar + 1, sn) != NULL;
	return allow; /* first-arg rule: "+select|0" */
}

static void add_rule(acl_user_t *u, int allow, const char *w, size_t n)
{
	char *what = dupn(w, n);
	for (char *p = what; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int whole = what[0] != '@' && !strchr(what, '|');
	size_t k = 0;
	for (size_t i = 0; i < u->nrules; i++) {
		const char *o = u->rules[i].what;
		size_t wl = strlen(what);
		int same =
		    strcmp(o, what) == 0 || (whole && strncmp(o, what, wl) == 0 && o[wl] == '|');
		if (same)
			free(u->rules[i].what);
		else
			u->rules[k++] = u->rules[i];
	}
	u->nrules = k;
	u->rules = grow(u->rules, u->nrules, sizeof *u->rules);
	u->rules[u->nrules++] = (acl_cmdrule_t){allow, what};
}

static int rule_matches(const char *what, const resp_cmd_t *top, const resp_cmd_t *cmd, int has_sub,
                        int argc, const resp_arg_t *argv)
{
	if (what[0] == '@')
		return !strcmp(what + 1, "all") || has_word(cmd->acl, what + 1, strlen(what + 1));
	const char *bar = strchr(what, '|');
	size_t tn = bar ? (size_t)(bar - what) : strlen(what);
	if (strlen(top->name) != tn || strncmp(top->name, what, tn))
		return 0;
	if (!bar)
		return 1;
	if (has_sub)
		return !strcmp(cmd->name, bar + 1);
	return argc > 1 && argv[1].len == strlen(bar + 1) &&
	       strncasecmp(argv[1].p, bar + 1, argv[1].len) == 0;
}

static int cmd_ok(const acl_user_t *u, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
                  const resp_arg_t *argv)
{
	const resp_cmd_t *top = parent ? parent : cmd;
	int ok = u->allcmds;
	for (size_t i = 0; i < u->nrules; i++)
		if (rule_matches(u->rules[i].what, top, cmd, parent != NULL, argc, argv))
			ok = u->rules[i].allow;
	return ok;
}

/* The permission of every command and subcommand, one byte each, into
 * out (NULL: only counts them). */
static size_t perms(const acl_user_t *u, unsigned char *out)
{
	size_t n = 0;
	const resp_cmd_t *c;
	for (size_t i = 0; (c = resp_cmd_at(i)); i++) {
		if (out)
			out[n] = (unsigned char)cmd_ok(u, NULL, c, 0, NULL);
		n++;
		for (const resp_cmd_t *s = c->subs; s && s->name; s++, n++)
			if (out)
				out[n] = (unsigned char)cmd_ok(u, c, s, 0, NULL);
	}
	return n;
}

/* Drops the rules that change no permission ("+get" after "+@all", "-get
 * +get", "+@read -@read"), as Redis's recomputed description has none.
 * First-argument rules ("+select|0") are kept: the table cannot show them.
 * Each removal keeps every permission as it was, so the result is
 * equivalent; the cost is rules^2 x commands, hence ACL_MAX_RULES. */
void acl_minimize(acl_user_t *u)
{
	size_t n = perms(u, NULL);
	unsigned char *want = malloc(n), *now = malloc(n);
	if (!want || !now)
		abort();
	perms(u, want);
	for (size_t i = 0; i < u->nrules;) {
		const char *w = u->rules[i].what;
		const char *bar = strchr(w, '|');
		if (w[0] != '@' && bar) {
			const resp_cmd_t *top = find_top(w, (size_t)(bar - w));
			if (top && !top->subs) {
				i++;
				continue;
			}
		}
		acl_cmdrule_t r = u->rules[i];
		memmove(&u->rules[i], &u->rules[i + 1], (u->nrules - i - 1) * sizeof r);
		u->nrules--;
		perms(u, now);
		if (memcmp(now, want, n) == 0) {
			free(r.what);
			continue;
		}
		memmove(&u->rules[i + 1], &u->rules[i], (u->nrules - i) * sizeof r);
		u->rules[i] = r;
		u->nrules++;
		i++;
	}
	free(want);
	free(now);
}

/* --- keys and channels --------------------------------------------------------- */

static int key_pattern(acl_user_t *u, const char *m, size_t n, const char **why)
{
	int flags = 0;
	size_t i = 0;
	if (m[0] == '%') {
		for (i = 1; i < n && m[i] != '~'; i++) {
			char c = (char)toupper((unsigned char)m[i]);
			if (c != 'R' && c != 'W')
				break;
			flags |= c == 'R' ? ACL_R : ACL_W;
		}
		if (i >= n || m[i] != '~' || !flags) {
			*why = "Syntax error";
			return -1;
		}
	} else {
		flags = ACL_R | ACL_W;
	}
	if (u->nkeys >= ACL_MAX_ITEMS) {
		*why = TOO_MANY;
		return -1;
	}
	if (u->allkeys) {
		*why = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid "
		       "and does not have any effect. Try 'resetkeys' to start with an empty list "
		       "of patterns";
		return -1;
	}
	const char *p = m + i + 1;
	size_t pn = n - i - 1;
	if (flags == (ACL_R | ACL_W) && pn == 1 && p[0] == '*') {
		clear_keys(u);
		u->allkeys = 1;
		return 0;
	}
	for (size_t k = 0; k < u->nkeys; k++) {
		if (strlen(u->keys[k].p) == pn && memcmp(u->keys[k].p, p, pn) == 0) {
			u->keys[k].flags |= flags;
			return 0;
		}
	}
	u->keys = grow(u->keys, u->nkeys, sizeof *u->keys);
	u->keys[u->nkeys++] = (acl_pat_t){dupn(p, pn), flags};
	return 0;
}

static int chan_pattern(acl_user_t *u, const char *p, size_t n, const char **why)
{
	if (u->nchans >= ACL_MAX_ITEMS) {
		*why = TOO_MANY;
		return -1;
	}
	if (u->allchans) {
		*why = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not "
		       "valid and does not have any effect. Try 'resetchannels' to start with an "
		       "empty list of channels";
		return -1;
	}
	if (n == 1 && p[0] == '*') {
		clear_chans(u);
		u->allchans = 1;
		return 0;
	}
	for (size_t k = 0; k < u->nchans; k++)
		if (strlen(u->chans[k]) == n && memcmp(u->chans[k], p, n) == 0)
			return 0;
	u->chans = grow(u->chans, u->nchans, sizeof *u->chans);
	u->chans[u->nchans++] = dupn(p, n);
	return 0;
}

int acl_chan_ok(const acl_user_t *u, const char *ch, size_t n, int is_pattern)
{
	if (u->allchans)
		return 1;
	for (size_t k = 0; k < u->nchans; k++) {
		const char *p = u->chans[k];
		size_t pn = strlen(p);
		if (is_pattern ? pn == n && memcmp(p, ch, n) == 0 : ks_glob_match(p, pn, ch, n, 0))
			return 1;
	}
	return 0;
}

static int key_ok(const acl_user_t *u, const resp_arg_t *k, int need)
{
	if (u->allkeys)
		return 1;
	for (size_t i = 0; i < u->nkeys; i++)
		if ((u->keys[i].flags & need) == need &&
		    ks_glob_match(u->keys[i].p, strlen(u->keys[i].p), k->p, k->len, 0))
			return 1;
	return 0;
}

static int name_in(const char *name, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(name, *list))
			return 1;
	return 0;
}

/* Write commands that also read the value they change (Redis's key specs
 * with the ACCESS flag): their keys need %R as well as %W. */
static const char *const reads_too[] = {
    "getset",  "getdel",       "getex",      "incr",       "incrby",   "incrbyfloat", "decr",
    "decrby",  "lpop",         "rpop",       "blpop",      "brpop",    "lmpop",       "blmpop",
    "spop",    "zpopmin",      "zpopmax",    "bzpopmin",   "bzpopmax", "zmpop",       "bzmpop",
    "hincrby", "hincrbyfloat", "xreadgroup", "xautoclaim", "xclaim",   NULL};
/* Moves: the source is read and written, the destination written. */
static const char *const moves[] = {"lmove", "blmove", "smove", "rpoplpush", "brpoplpush", NULL};

/* Key arguments whose count is given by a numkeys argument: where numkeys
 * is, and whether a destination key comes first. */
static const struct numkeys {
	const char *name;
	int at, dest;
} numkeys_cmds[] = {
    {"eval", 2, 0},        {"evalsha", 2, 0},    {"eval_ro", 2, 0},    {"evalsha_ro", 2, 0},
    {"fcall", 2, 0},       {"fcall_ro", 2, 0},   {"zunion", 1, 0},     {"zinter", 1, 0},
    {"zdiff", 1, 0},       {"sintercard", 1, 0}, {"zintercard", 1, 0}, {"lmpop", 1, 0},
    {"zmpop", 1, 0},       {"blmpop", 2, 0},     {"bzmpop", 2, 0},     {"zunionstore", 2, 1},
    {"zinterstore", 2, 1}, {"zdiffstore", 2, 1}, {NULL, 0, 0}};

/* The permission key i (0 = the first key) of cmd needs. */
static int key_need(const resp_cmd_t *cmd, int i)
{
	size_t nl = strlen(cmd->name);
	if (cmd->flags & RESP_CMD_READONLY)
		return ACL_R;
	if (!(cmd->flags & RESP_CMD_WRITE))
		return 0;
	int store = (nl > 5 && !strcmp(cmd->name + nl - 5, "store")) ||
	            !strcmp(cmd->name, "copy") || !strcmp(cmd->name, "bitop");
	if (store)
		return i == 0 ? ACL_W : ACL_R;
	if (name_in(cmd->name, moves))
		return i == 0 ? ACL_R | ACL_W : ACL_W;
	if (!strcmp(cmd->name, "sort")) /* its STORE destination is not a legacy key */
		return ACL_R;
	return name_in(cmd->name, reads_too) ? ACL_R | ACL_W : ACL_W;
}

static int keys_ok(const acl_user_t *u, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
                   const resp_arg_t *argv, int *bad)
{
	if (u->allkeys)
		return 1;
	int first = 0, last = -1, step = 1, dest = 0;
	if (!parent) {
		for (const struct numkeys *k = numkeys_cmds; k->name; k++) {
			if (strcmp(k->name, cmd->name) || k->at >= argc)
				continue;
			long long nk = strtoll(argv[k->at].p, NULL, 10);
			first = k->at + 1;
			last = nk > 0 && nk <= argc - first ? first + (int)nk - 1 : first - 1;
			dest = k->dest;
		}
		if (!strcmp(cmd->name, "xread") || !strcmp(cmd->name, "xreadgroup")) {
			for (int i = 1; i < argc; i++) {
				if (resp_arg_is(&argv[i], "streams")) {
					first = i + 1;
					last = first + (argc - first) / 2 - 1;
					break;
				}
			}
		}
	}
	if (!first && cmd->first_key > 0) {
		first = cmd->first_key;
		last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
		step = cmd->key_step > 0 ? cmd->key_step : 1;
	}
	if (dest && !key_ok(u, &argv[1], ACL_W)) {
		*bad = 1;
		return 0;
	}
	int nth = dest;
	for (int i = first; first > 0 && i <= last && i < argc; i += step, nth++) {
		if (!key_ok(u, &argv[i], key_need(cmd, nth))) {
			*bad = i;
			return 0;
		}
	}
	return 1;
}

static int chans_ok(const acl_user_t *u, const resp_cmd_t *cmd, int argc, const resp_arg_t *argv,
                    int *bad)
{
	static const char *const one[] = {"publish", "spublish", NULL};
	static const char *const all[] = {"subscribe", "ssubscribe", "psubscribe", NULL};
	if (u->allchans)
		return 1;
	int n = name_in(cmd->name, one) ? 2 : name_in(cmd->name, all) ? argc : 0;
	int pat = !strcmp(cmd->name, "psubscribe");
	for (int i = 1; i < n && i < argc; i++) {
		if (!acl_chan_ok(u, argv[i].p, argv[i].len, pat)) {
			*bad = i;
			return 0;
		}
	}
	return 1;
}

int acl_check(const acl_user_t *u, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
              const resp_arg_t *argv, int *bad)
{
	*bad = 0;
	if (!(cmd->flags & RESP_CMD_NOAUTH) && !cmd_ok(u, parent, cmd, argc, argv))
		return RESP_ACL_CMD;
	if (!keys_ok(u, parent, cmd, argc, argv, bad))
		return RESP_ACL_KEY;
	if (!parent && !chans_ok(u, cmd, argc, argv, bad))
		return RESP_ACL_CHANNEL;
	return RESP_ACL_OK;
}

/* --- modifiers ----------------------------------------------------------------- */

int acl_apply(acl_user_t *u, const char *m, size_t n, const char **why)
{
	uint8_t h[32];
	*why = "Syntax error";
	if (n == 0)
		return -1;
	if (is(m, n, "on") || is(m, n, "off")) {
		u->on = is(m, n, "on");
	} else if (is(m, n, "nopass") || is(m, n, "resetpass")) {
		u->pw_removed |= u->npw > 0;
		clear_pw(u);
		u->nopass = is(m, n, "nopass");
		u->last_pass = NULL;
	} else if (m[0] == '>' || m[0] == '<') {
		sha256(m + 1, n - 1, h);
		if (m[0] == '<')
			return del_pw(u, h, why);
		add_pw(u, h);
		u->last_pass = m + 1; /* the Kafka (SCRAM) password from now on */
		u->last_pass_len = n - 1;
	} else if (m[0] == '#' || m[0] == '!') {
		if (hex_hash(m + 1, n - 1, h) < 0) {
			*why = "The password hash must be exactly 64 characters and contain only "
			       "lowercase hexadecimal characters";
			return -1;
		}
		if (m[0] == '!')
			return del_pw(u, h, why);
		add_pw(u, h);
	} else if (is(m, n, "allkeys")) {
		clear_keys(u);
		u->allkeys = 1;
	} else if (is(m, n, "resetkeys")) {
		clear_keys(u);
		u->allkeys = 0;
	} else if ((m[0] == '~' || m[0] == '%') && !has_space(m, n)) {
		return key_pattern(u, m, n, why);
	} else if (is(m, n, "allchannels")) {
		clear_chans(u);
		u->allchans = 1;
	} else if (is(m, n, "resetchannels")) {
		clear_chans(u);
		u->allchans = 0;
	} else if (m[0] == '&' && !has_space(m, n)) {
		return chan_pattern(u, m + 1, n - 1, why);
	} else if (is(m, n, "allcommands") || is(m, n, "+@all") || is(m, n, "nocommands") ||
	           is(m, n, "-@all")) {
		clear_rules(u);
		u->allcmds = is(m, n, "allcommands") || is(m, n, "+@all");
	} else if ((m[0] == '+' || m[0] == '-') && !has_space(m, n)) {
		if (u->nrules >= ACL_MAX_RULES) {
			*why = TOO_MANY;
			return -1;
		}
		if (!known_target(m + 1, n - 1, m[0] == '+')) {
			*why = "Unknown command or category name in ACL";
			return -1;
		}
		add_rule(u, m[0] == '+', m + 1, n - 1);
	} else if (is(m, n, "sanitize-payload") || is(m, n, "skip-sanitize-payload")) {
		u->sanitize = is(m, n, "sanitize-payload") ? 1 : 2;
	} else if (is(m, n, "reset")) {
		int removed = u->pw_removed || u->npw > 0;
		acl_user_deinit(u);
		u->pw_removed = removed;
		u->sanitize = 1; /* Redis 7.0's reset includes sanitize-payload */
	} else if (is(m, n, "clearselectors")) {
		/* no selectors to clear */
	} else if (m[0] == '(') {
		*why = "Selectors are not supported by sluice (docs/redis.md)";
		return -1;
	} else {
		return -1;
	}
	return 0;
}

/* --- descriptions -------------------------------------------------------------- */

static void put(char **s, size_t *len, const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);
	*s = realloc(*s, *len + an + bn + 2);
	if (!*s)
		abort();
	if (*len)
		(*s)[(*len)++] = ' ';
	memcpy(*s + *len, a, an);
	memcpy(*s + *len + an, b, bn);
	*len += an + bn;
	(*s)[*len] = 0;
}

static char *empty(char *s)
{
	return s ? s : dupn("", 0);
}

char *acl_describe_keys(const acl_user_t *u)
{
	char *s = NULL;
	size_t n = 0;
	if (u->allkeys)
		put(&s, &n, "~*", "");
	for (size_t i = 0; i < u->nkeys; i++) {
		int f = u->keys[i].flags;
		put(&s, &n, f == ACL_R ? "%R~" : f == ACL_W ? "%W~" : "~", u->keys[i].p);
	}
	return empty(s);
}

char *acl_describe_chans(const acl_user_t *u)
{
	char *s = NULL;
	size_t n = 0;
	if (u->allchans)
		put(&s, &n, "&*", "");
	for (size_t i = 0; i < u->nchans; i++)
		put(&s, &n, "&", u->chans[i]);
	return empty(s);
}

char *acl_describe_cmds(const acl_user_t *u)
{
	char *s = NULL;
	size_t n = 0;
	put(&s, &n, u->allcmds ? "+@all" : "-@all", "");
	for (size_t i = 0; i < u->nrules; i++)
		put(&s, &n, u->rules[i].allow ? "+" : "-", u->rules[i].what);
	return s;
}

char *acl_describe(const acl_user_t *u)
{
	char *s = NULL;
	size_t n = 0;
	put(&s, &n, u->on ? "on" : "off", "");
	if (u->nopass)
		put(&s, &n, "nopass", "");
	if (u->sanitize)
		put(&s, &n, u->sanitize == 1 ? "sanitize-payload" : "skip-sanitize-payload", "");
	for (size_t i = 0; i < u->npw; i++) {
		char hex[65];
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", u->pw[i][k]);
		put(&s, &n, "#", hex);
	}
	char *keys = acl_describe_keys(u), *cmds = acl_describe_cmds(u);
	if (*keys)
		put(&s, &n, keys, "");
	if (u->allchans)
		put(&s, &n, "&*", "");
	else
		put(&s, &n, "resetchannels", "");
	for (size_t i = 0; !u->allchans && i < u->nchans; i++)
		put(&s, &n, "&", u->chans[i]);
	put(&s, &n, cmds, "");
	free(keys);
	free(cmds);
	return s;
}
