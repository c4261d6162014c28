/*
 * commands.h — what the command-table files share (commands.c,
 * commands_types.c, commands_ext.c, c_command.c): the row macros and the
 * tables themselves. A row: name, arity, flags, handler, first key, last
 * key, key step (COMMAND INFO's legacy positions), COMMAND DOCS group,
 * since, ACL categories, summary. Loop thread only.
 */
#ifndef SL_PROTO_RESP_COMMANDS_H
#define SL_PROTO_RESP_COMMANDS_H

#include "proto/resp/resp.h"

#define W RESP_CMD_WRITE
#define R RESP_CMD_READONLY
#define NA RESP_CMD_NOAUTH
#define F RESP_CMD_FAST
#define B RESP_CMD_BLOCKING
#define L RESP_CMD_LOADING
#define S RESP_CMD_STALE
#define M RESP_CMD_DENYOOM
#define NS RESP_CMD_NOSCRIPT
#define P RESP_CMD_PUBSUB
#define AB RESP_CMD_ALLOW_BUSY
#define NM RESP_CMD_NO_MULTI

/* name, arity, flags, handler, first key, last key, step, group, since,
 * acl categories, summary, subcommands */
#define CMD(n, a, f, h, fk, lk, st, g, since, acl, sum)          \
	{                                                        \
		n, a, f, h, fk, lk, st, g, since, sum, acl, NULL \
	}
#define CONTAINER(n, a, f, h, g, since, acl, sum, subs)       \
	{                                                     \
		n, a, f, h, 0, 0, 0, g, since, sum, acl, subs \
	}
#define END                                                             \
	{                                                               \
		NULL, 0, 0, NULL, 0, 0, 0, NULL, NULL, NULL, NULL, NULL \
	}

/* The families' tables, NULL-name terminated. */
extern const resp_cmd_t resp_cmds_types[];
extern const resp_cmd_t resp_cmds_ext[];

/* The i-th top-level command over every table (NULL past the end), and
 * how many there are: what COMMAND lists. */
const resp_cmd_t *resp_cmd_at(size_t i);
size_t resp_cmd_count(void);

#endif
