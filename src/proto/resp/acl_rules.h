/*
 * acl_rules.h — Redis 7.0 ACL rules of one user (acl_rules.c): parsing the
 * ACL SETUSER modifiers, the canonical text kept in the broker's user
 * database (ACL LIST's form without "user <name>"), and the permission
 * checks of a command, its keys and its channels.
 *
 * The text is the only persistent form (users.h keeps it opaque); a user is
 * compiled from it by applying its tokens to a fresh user, so what is
 * stored is exactly what ACL LIST shows. Loop thread only.
 */
#ifndef SL_PROTO_RESP_ACL_RULES_H
#define SL_PROTO_RESP_ACL_RULES_H

#include "proto/resp/resp.h"

#include <stddef.h>
#include <stdint.h>

enum { ACL_R = 1, ACL_W = 2 };

/* At most this many key patterns and channel patterns (each), and command
 * rules, per user: SETUSER's work and the stored text stay bounded. */
#define ACL_MAX_ITEMS 1024
#define ACL_MAX_RULES 128
/* The longest stored rules text (ACL SETUSER refuses more). */
#define ACL_MAX_TEXT 65536 /* key pattern permissions (%R~, %W~, ~ = both) */

typedef struct acl_pat {
	char *p;
	int flags; /* ACL_R | ACL_W */
} acl_pat_t;

typedef struct acl_cmdrule {
	int allow;
	char *what; /* lower case: "get", "@hash", "client|id", "select|0" */
} acl_cmdrule_t;

typedef struct acl_user {
	int on, nopass;
	int sanitize;      /* 0, 1 sanitize-payload, 2 skip-sanitize-payload (kept, shown) */
	uint8_t (*pw)[32]; /* SHA-256 of each password, as Redis keeps them */
	size_t npw;
	int allkeys, allchans, allcmds; /* allcmds: the rules start from +@all */
	acl_pat_t *keys;
	size_t nkeys;
	char **chans;
	size_t nchans;
	acl_cmdrule_t *rules; /* applied in order after the +@all/-@all base */
	size_t nrules;
	/* What the last acl_apply changed about passwords, for the caller
	 * that mirrors them into the SCRAM credentials. */
	const char *last_pass; /* points into the modifier of the last '>' */
	size_t last_pass_len;
	int pw_removed;
} acl_user_t;

/* A fresh user as ACL SETUSER creates it: off, no passwords, no keys,
 * resetchannels, -@all. */
void acl_user_init(acl_user_t *u);
void acl_user_deinit(acl_user_t *u);
/* The user of a stored text; "" (a user made over Kafka) has every
 * permission and no Redis passwords. */
void acl_user_from_text(acl_user_t *u, const char *text);
/* Applies one modifier. 0, or -1 with Redis's reason in *why (the caller
 * formats "ERR Error in ACL SETUSER modifier '<m>': <why>"). */
int acl_apply(acl_user_t *u, const char *m, size_t n, const char **why);
/* Drops the command rules that change no permission, as Redis's
 * description has none: once, after a SETUSER's modifiers. */
void acl_minimize(acl_user_t *u);
/* The canonical text (malloc'd): flags, #passwords, keys, channels,
 * commands, as ACL LIST prints after "user <name> ". */
char *acl_describe(const acl_user_t *u);
/* GETUSER's pieces (malloc'd): "~k* %R~r*", "&a &b", "-@all +get". */
char *acl_describe_keys(const acl_user_t *u);
char *acl_describe_chans(const acl_user_t *u);
char *acl_describe_cmds(const acl_user_t *u);

/* Whether a password (plain) is one of the user's. Constant-time per
 * hash. */
int acl_pass_ok(const acl_user_t *u, const char *pass, size_t n);

/* Permission of one call: RESP_ACL_OK, RESP_ACL_CMD, RESP_ACL_KEY or
 * RESP_ACL_CHANNEL; *bad is the index of the refused key or channel
 * argument. parent is the container of a subcommand, else NULL. */
int acl_check(const acl_user_t *u, const resp_cmd_t *parent, const resp_cmd_t *cmd, int argc,
              const resp_arg_t *argv, int *bad);
/* Whether the user may use this channel (publish/subscribe) or pattern
 * (psubscribe, compared literally as Redis does). */
int acl_chan_ok(const acl_user_t *u, const char *ch, size_t n, int is_pattern);

/* Redis 7.0's categories in its order, NULL-terminated (ACL CAT). */
extern const char *const acl_categories[];

/* c_acl_check.c: the compiled rules of a user of the database, or of the
 * default user (requirepass) when the database has none; NULL when there
 * is no such user. Valid until the next call. */
const acl_user_t *resp_acl_user(resp_srv_t *srv, const char *name, size_t n);
/* Closes the connections logged in as user that it no longer allows: the
 * user was deleted, or it is subscribed to a channel or pattern its rules
 * no longer permit (as Redis 7.0 does). */
void resp_acl_kick(resp_cli_t *cl, const char *user);

#endif
