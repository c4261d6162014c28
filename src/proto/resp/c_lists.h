/*
 * c_lists.h — lists, string keys, expiry, pub/sub and transactions in the
 * RESP front: their per-server and per-client connection state, the hooks
 * the shared files (commands.c, front.c) call, and the handlers the
 * command table points at. The data itself is the keyspace's
 * (broker/keyspace.h); pub/sub subscriptions live in its registry
 * (broker/pubsub.h), each connection keeping its own list.
 *
 * Files: c_list.c (list commands), c_list_block.c (blocking pops and
 * moves), c_string.c (string keys), c_expire.c (expiry, TTL commands,
 * RENAME/UNLINK, the ready order of blocked keys), c_pubsub.c, c_multi.c
 * (MULTI/EXEC/WATCH and the dispatch intercept). Loop thread only.
 */
#ifndef SL_PROTO_RESP_C_LISTS_H
#define SL_PROTO_RESP_C_LISTS_H

#include "broker/list.h"
#include "proto/resp/resp.h"

typedef struct resp_lx resp_lx_t;
typedef struct resp_lxcli resp_lxcli_t;

typedef struct lx_subs {
	resp_cli_t **cl;
	size_t n, cap;
} lx_subs_t;

/* Per-server state (srv->lx). */
struct resp_lx {
	map_t watched; /* key → lx_subs_t of watching clients */
	/* Keys signalled to blocked clients since the last serving round, in
	 * signal order: a client blocked on several keys is served from the
	 * one signalled first, as Redis serves ready keys in order. */
	char **ready;
	size_t *ready_len;
	size_t nready, ready_cap;
};

typedef struct lx_queued {
	int argc;
	resp_arg_t *argv; /* owned copies */
} lx_queued_t;

typedef struct lx_pat {
	char *p;
	size_t len;
} lx_pat_t;

/* Per-client state (cl->lx), created on first use. */
struct resp_lxcli {
	resp_cli_t *cl;
	ps_sub_t sub;   /* this connection in the keyspace's pub/sub registry */
	map_t chans;    /* subscribed channels (value unused) */
	lx_pat_t *pats; /* subscribed patterns, in subscription order */
	size_t npats, pats_cap;
	int in_multi, multi_err, in_exec, watch_dirty;
	lx_queued_t *q;
	size_t nq, qcap;
	char **wkeys; /* watched keys */
	size_t *wlens;
	size_t nw;
};

/* --- hooks for the shared files ----------------------------------------------- */

void resp_lx_start(resp_srv_t *srv);
void resp_lx_stop(resp_srv_t *srv);
void resp_lx_cli_close(resp_cli_t *cl);
/* Before dispatch: MULTI queueing and RESP2 subscribed-mode rules. Returns
 * 1 when it handled the request (reply written). */
int resp_lx_intercept(resp_cli_t *cl, int argc, resp_arg_t *argv);
/* The keyspace was rebuilt: every WATCH is invalidated. */
void resp_lx_reloaded(resp_srv_t *srv);

/* --- shared between the c_*.c files ----------------------------------------------- */

struct resp_lxcli *resp_lx_cli(resp_cli_t *cl);
/* A key changed: WATCHers see it. */
void resp_lx_touch(resp_srv_t *srv, const char *key, size_t klen);
/* resp_signal_key() plus the note of the order keys became ready. */
void resp_lx_signal(resp_srv_t *srv, const char *key, size_t klen);
/* Position of key in this round's ready order, or SIZE_MAX. */
size_t resp_lx_ready_rank(resp_srv_t *srv, const char *key, size_t klen);
/* BLPOP-style timeout in float seconds → ms (0 = forever); replies the
 * error and returns -1 when invalid. */
int resp_lx_timeout(resp_cli_t *cl, const resp_arg_t *a, int64_t *ms);
int resp_lx_in_exec(resp_cli_t *cl);
/* key → lx_subs_t registry (WATCH): add / remove one client, dropping the
 * entry when its last client goes. */
void resp_lx_subs_add(map_t *m, const char *key, size_t klen, resp_cli_t *cl);
void resp_lx_subs_del(map_t *m, const char *key, size_t klen, resp_cli_t *cl);
/* Drops every subscription of cl without replies (RESET, close). */
void resp_lx_pubsub_reset(resp_cli_t *cl);
/* The pub/sub registry's delivery callback: writes the message frame into
 * the subscriber's output (broker/pubsub.h). */
void resp_lx_deliver(ps_sub_t *s, const char *pat, size_t plen, const char *ch, size_t chlen,
                     const char *msg, size_t mlen);
/* LMOVE and friends: moves one element from src to dst and replies it as
 * a bulk string (null when src is empty). Returns 1 when an element moved
 * or an error was replied, 0 when src was empty (nothing written). */
int resp_lx_move(resp_cli_t *cl, const resp_arg_t *src, const resp_arg_t *dst, int from, int to);
/* Parses LMPOP/BLMPOP's numkeys, LEFT|RIGHT and COUNT (replies on error,
 * returning -1). */
int resp_lx_mpop_args(resp_cli_t *cl, int argc, resp_arg_t *argv, int numkeys_idx, int64_t *numkeys,
                      int *where, int64_t *count);
/* Pops from the first non-empty list of keys: replies [key, [elements]]
 * and returns 1; 0 when all are empty (nothing written); -1 after an
 * error reply. */
int resp_lx_mpop(resp_cli_t *cl, int nkeys, const resp_arg_t *keys, int where, int64_t count);

RESP_HANDLER(resp_c_lpush);
RESP_HANDLER(resp_c_rpush);
RESP_HANDLER(resp_c_lpushx);
RESP_HANDLER(resp_c_rpushx);
RESP_HANDLER(resp_c_lpop);
RESP_HANDLER(resp_c_rpop);
RESP_HANDLER(resp_c_llen);
RESP_HANDLER(resp_c_lrange);
RESP_HANDLER(resp_c_lindex);
RESP_HANDLER(resp_c_lset);
RESP_HANDLER(resp_c_linsert);
RESP_HANDLER(resp_c_lrem);
RESP_HANDLER(resp_c_ltrim);
RESP_HANDLER(resp_c_lpos);
RESP_HANDLER(resp_c_lmove);
RESP_HANDLER(resp_c_rpoplpush);
RESP_HANDLER(resp_c_lmpop);
RESP_HANDLER(resp_c_blpop);
RESP_HANDLER(resp_c_brpop);
RESP_HANDLER(resp_c_blmove);
RESP_HANDLER(resp_c_brpoplpush);
RESP_HANDLER(resp_c_blmpop);
RESP_HANDLER(resp_c_set);
RESP_HANDLER(resp_c_get);
RESP_HANDLER(resp_c_getdel);
RESP_HANDLER(resp_c_getex);
RESP_HANDLER(resp_c_setnx);
RESP_HANDLER(resp_c_setex);
RESP_HANDLER(resp_c_psetex);
RESP_HANDLER(resp_c_mget);
RESP_HANDLER(resp_c_mset);
RESP_HANDLER(resp_c_incr);
RESP_HANDLER(resp_c_incrby);
RESP_HANDLER(resp_c_decr);
RESP_HANDLER(resp_c_decrby);
RESP_HANDLER(resp_c_append);
RESP_HANDLER(resp_c_strlen);
RESP_HANDLER(resp_c_expire);
RESP_HANDLER(resp_c_pexpire);
RESP_HANDLER(resp_c_expireat);
RESP_HANDLER(resp_c_pexpireat);
RESP_HANDLER(resp_c_ttl);
RESP_HANDLER(resp_c_pttl);
RESP_HANDLER(resp_c_persist);
RESP_HANDLER(resp_c_unlink);
RESP_HANDLER(resp_c_rename);
RESP_HANDLER(resp_c_subscribe);
RESP_HANDLER(resp_c_unsubscribe);
RESP_HANDLER(resp_c_psubscribe);
RESP_HANDLER(resp_c_punsubscribe);
RESP_HANDLER(resp_c_publish);
RESP_HANDLER(resp_c_pubsub_channels);
RESP_HANDLER(resp_c_pubsub_numsub);
RESP_HANDLER(resp_c_pubsub_numpat);
RESP_HANDLER(resp_c_pubsub_help);
RESP_HANDLER(resp_c_multi);
RESP_HANDLER(resp_c_exec);
RESP_HANDLER(resp_c_discard);
RESP_HANDLER(resp_c_watch);
RESP_HANDLER(resp_c_unwatch);

#endif
