/*
 * test_acl_rules.c — the Redis ACL rules of one user (acl_rules.c): the
 * canonical text round-trips, rules replace and drop what they make
 * redundant, the command/key/channel checks, password hashes.
 */
#include "../../test.h"

#include "proto/resp/acl_rules.h"
#include "proto/resp/commands.h"

#include <stdlib.h>
#include <string.h>

static acl_user_t user_of(const char *mods)
{
	acl_user_t u;
	acl_user_init(&u);
	char buf[512];
	snprintf(buf, sizeof buf, "%s", mods);
	for (char *save = NULL, *m = strtok_r(buf, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
		const char *why;
		CHECK_MSG(acl_apply(&u, m, strlen(m), &why) == 0, "%s: %s", m, why);
	}
	acl_minimize(&u);
	return u;
}

static void check_text(const char *mods, const char *want)
{
	acl_user_t u = user_of(mods);
	char *t = acl_describe(&u);
	CHECK_STR(t, want);
	/* The text is the stored form: it must compile back to itself. */
	acl_user_t v;
	acl_user_from_text(&v, t);
	char *t2 = acl_describe(&v);
	CHECK_STR(t2, t);
	free(t);
	free(t2);
	acl_user_deinit(&u);
	acl_user_deinit(&v);
}

TEST(acl_rules_canonical_text)
{
	check_text("", "off resetchannels -@all");
	check_text("on nopass ~* &* +@all", "on nopass ~* &* +@all");
	check_text("on ~a* %R~r* %W~w* &c* +get -@all +set",
	           "on ~a* %R~r* %W~w* resetchannels &c* -@all +set");
	check_text("+@all -get +get", "off resetchannels +@all");
	check_text("-@all +@read -@read", "off resetchannels -@all");
	check_text("+client -client|id", "off resetchannels -@all +client -client|id");
	check_text("+client|id +client", "off resetchannels -@all +client");
	check_text("+select|0 +select|0", "off resetchannels -@all +select|0");
	check_text("%R~x %W~x", "off ~x resetchannels -@all");
	check_text("+get reset", "off sanitize-payload resetchannels -@all");
	check_text(">a >a", "off #ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb "
	                    "resetchannels -@all");
}

TEST(acl_rules_errors)
{
	static const struct {
		const char *pre, *mod, *why;
	} cases[] = {
	    {"", "+nosuch", "Unknown command or category name in ACL"},
	    {"", "-select|0", "Unknown command or category name in ACL"},
	    {"", "+@nosuch", "Unknown command or category name in ACL"},
	    {"allkeys", "~x", "Adding a pattern after the * pattern"},
	    {"&*", "&x", "Adding a pattern after the * pattern"},
	    {"", "#abc", "The password hash must be exactly 64 characters"},
	    {"", "<nope", "The password you are trying to remove"},
	    {"", "%Q~x", "Syntax error"},
	    {"", "(~x +get)", "Selectors are not supported"},
	    {"", "bogus", "Syntax error"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		acl_user_t u = user_of(cases[i].pre);
		const char *why = "";
		CHECK_EQ(acl_apply(&u, cases[i].mod, strlen(cases[i].mod), &why), -1);
		CHECK_MSG(strncmp(why, cases[i].why, strlen(cases[i].why)) == 0, "%s: %s",
		          cases[i].mod, why);
		acl_user_deinit(&u);
	}
}

static int verdict(const acl_user_t *u, const char *line, int *bad)
{
	resp_arg_t argv[8];
	char buf[256];
	snprintf(buf, sizeof buf, "%s", line);
	int argc = 0;
	for (char *save = NULL, *w = strtok_r(buf, " ", &save); w && argc < 8;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = (resp_arg_t){.p = w, .len = strlen(w)};
	const resp_cmd_t *top = NULL, *c;
	for (size_t i = 0; (c = resp_cmd_at(i)); i++)
		if (argv[0].len == strlen(c->name) && !strncasecmp(c->name, argv[0].p, argv[0].len))
			top = c;
	CHECK_MSG(top != NULL, "%s", line);
	const resp_cmd_t *cmd = top, *parent = NULL;
	if (top->subs && argc > 1) {
		parent = top;
		cmd = resp_cmd_lookup(top->subs, argv[1].p, argv[1].len);
		CHECK_MSG(cmd != NULL, "%s", line);
	}
	return acl_check(u, parent, cmd, argc, argv, bad);
}

TEST(acl_rules_checks)
{
	acl_user_t u =
	    user_of("on >pw ~app:* %R~ro:* %W~wo:* &news.* -@all +@read +set +incr +lmove "
	            "+publish +psubscribe +client|getname +select|0 +sunionstore -hget");
	int bad;
	CHECK_EQ(verdict(&u, "get app:1", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "get ro:1", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "get wo:1", &bad), RESP_ACL_KEY);
	CHECK_EQ(bad, 1);
	CHECK_EQ(verdict(&u, "hget app:h f", &bad), RESP_ACL_CMD);
	CHECK_EQ(verdict(&u, "set wo:1 x", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "set ro:1 x", &bad), RESP_ACL_KEY);
	CHECK_EQ(verdict(&u, "incr wo:1", &bad), RESP_ACL_KEY); /* reads too */
	CHECK_EQ(verdict(&u, "lmove app:a wo:b left right", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "lmove wo:a app:b left right", &bad), RESP_ACL_KEY);
	CHECK_EQ(verdict(&u, "sunionstore app:d ro:s app:s", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "sunionstore ro:d app:s", &bad), RESP_ACL_KEY);
	CHECK_EQ(verdict(&u, "mget app:1 other", &bad), RESP_ACL_KEY);
	CHECK_EQ(bad, 2);
	CHECK_EQ(verdict(&u, "publish news.eu x", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "publish sport x", &bad), RESP_ACL_CHANNEL);
	CHECK_EQ(verdict(&u, "psubscribe news.*", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "psubscribe news.eu*", &bad), RESP_ACL_CHANNEL);
	CHECK_EQ(verdict(&u, "client getname", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "client setname x", &bad), RESP_ACL_CMD);
	CHECK_EQ(verdict(&u, "select 0", &bad), RESP_ACL_OK);
	CHECK_EQ(verdict(&u, "select 1", &bad), RESP_ACL_CMD);
	CHECK_EQ(verdict(&u, "auth x y", &bad), RESP_ACL_OK); /* no-auth commands */
	CHECK(acl_pass_ok(&u, "pw", 2));
	CHECK(!acl_pass_ok(&u, "pw2", 3));
	acl_user_deinit(&u);
}

TEST(acl_rules_bounded)
{
	acl_user_t u;
	acl_user_init(&u);
	char m[32];
	const char *why = "";
	int i;
	for (i = 0; i < ACL_MAX_ITEMS; i++) {
		snprintf(m, sizeof m, "~k%d", i);
		CHECK_EQ(acl_apply(&u, m, strlen(m), &why), 0);
	}
	CHECK_EQ(acl_apply(&u, "~one-more", 9, &why), -1);
	CHECK(strstr(why, "at most 128 command rules and 1024") != NULL);
	/* 128 command rules, minimized once, stay quick. */
	const resp_cmd_t *c;
	for (size_t k = 0, n = 0; (c = resp_cmd_at(k)) && n < ACL_MAX_RULES; k++, n++) {
		snprintf(m, sizeof m, "%c%s", n % 2 ? '+' : '-', c->name);
		CHECK_EQ(acl_apply(&u, m, strlen(m), &why), 0);
	}
	CHECK_EQ(acl_apply(&u, "+@read", 6, &why), -1);
	acl_minimize(&u);
	CHECK(u.nrules > 0 && u.nrules <= ACL_MAX_RULES / 2 + 1);
	acl_user_deinit(&u);
}

/* Odd modifiers never crash, and whatever is accepted survives the stored
 * text unchanged. */
TEST(acl_rules_odd_modifiers_round_trip)
{
	static const char *const odd[] = {
	    "",       "%",        "%R",          "%R~",       "%RW~",  "%WR~x",    "~",
	    "&",      "+",        "-",           "+|",        "+get|", "+client|", "+client|id|x",
	    "+@",     "-@",       "#",           "!",         ">",     "<",        "(",
	    ")",      "+GET",     "+Client|ID",  "~\xff\x01", "&\x7f", ">\xff",    "ON",
	    "NoPass", "+select|", "+select|0|1", "%r~lower",  "~a*",   "~a*"};
	acl_user_t u;
	acl_user_init(&u);
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		const char *why = "";
		int rc = acl_apply(&u, odd[i], strlen(odd[i]), &why);
		CHECK_MSG(rc == 0 || (why && *why), "%s", odd[i]);
	}
	acl_minimize(&u);
	char *t = acl_describe(&u);
	acl_user_t v;
	acl_user_from_text(&v, t);
	char *t2 = acl_describe(&v);
	CHECK_STR(t2, t);
	free(t);
	free(t2);
	acl_user_deinit(&u);
	acl_user_deinit(&v);
}
