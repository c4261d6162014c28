/*
 * c_server.c — server commands: INFO, CONFIG GET/SET/RESETSTAT, TIME,
 * DBSIZE, FLUSHDB/FLUSHALL, SHUTDOWN.
 *
 * INFO answers in Redis's format with the fields clients parse on connect
 * (redis_version 7.0.15, loading:0, maxmemory_policy:noeviction, role)
 * plus a "# Sluice" section. CONFIG GET serves a fixed table of the keys
 * clients read, with the values that describe sluice. Loop thread only.
 */
#include "proto/resp/c_admin.h"
#include "proto/resp/c_lists.h"
#include "proto/resp/c_types.h"
#include "broker/keyspace_glob.h"
#include "proto/resp/resp.h"
#include "proto/resp/script_lua.h"

#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

static void sec_server(buf_t *b, resp_srv_t *srv)
{
	int64_t up = (time_wall_ms() - srv->start_wall_ms) / 1000;
	buf_printf(b,
	           "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n"
	           "redis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\n"
	           "os:Linux\r\narch_bits:64\r\nmultiplexing_api:epoll\r\n"
	           "process_id:%d\r\nrun_id:0000000000000000000000000000000000000000\r\n"
	           "tcp_port:%d\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
	           "executable:sluiced\r\nconfig_file:\r\n",
	           (int)getpid(), srv->cfg->resp_port, (long long)up, (long long)(up / 86400));
}

static void sec_clients(buf_t *b, resp_srv_t *srv)
{
	buf_printf(b,
	           "# Clients\r\nconnected_clients:%zu\r\nmaxclients:10000\r\n"
	           "blocked_clients:%zu\r\ntracking_clients:0\r\n",
	           srv->nclients, srv->nblocked);
}

static void sec_memory(buf_t *b, resp_srv_t *srv)
{
	/* number_of_cached_scripts: what SCRIPT LOAD / EVAL keep (SCRIPT FLUSH
	 * empties it). */
	buf_printf(b,
	           "# Memory\r\nused_memory:0\r\nnumber_of_cached_scripts:%zu\r\nmaxmemory:0\r\n"
	           "maxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n",
	           srv->lua ? resp_lua_count(srv->lua) : 0);
}

static void sec_persistence(buf_t *b, resp_srv_t *srv)
{
	char fs[32];
	fsync_policy_format(&srv->cfg->fsync, fs, sizeof fs);
	/* aof_last_write_status: err while the keyspace recovers from a
	 * storage failure (writes answer MISCONF meanwhile). */
	buf_printf(
	    b,
	    "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\n"
	    "aof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_last_write_status:%s\r\n"
	    "sluice_fsync:%s\r\n",
	    ks_state(srv->ks) ? "err" : "ok", fs);
}

static void sec_stats(buf_t *b, resp_srv_t *srv)
{
	buf_printf(
	    b, "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n",
	    (unsigned long long)srv->total_conns, (unsigned long long)srv->total_cmds);
	buf_printf(b, "expired_keys:%llu\r\ntotal_error_replies:%llu\r\n",
	           (unsigned long long)ks_expired_keys(srv->ks),
	           (unsigned long long)resp_total_errors(srv));
}

static void sec_replication(buf_t *b)
{
	buf_printf(b, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
}

static void sec_keyspace(buf_t *b, resp_srv_t *srv)
{
	buf_printf(b, "# Keyspace\r\n");
	if (ks_size(srv->ks))
		buf_printf(b, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", ks_size(srv->ks),
		           ks_expires_count(srv->ks));
}

static void sec_sluice(buf_t *b, resp_srv_t *srv)
{
	/* sluice_quiet_pauses: connections held back until the keyspace was
	 * idle for a compaction that could not wait longer (keyspace.h). */
	buf_printf(b,
	           "# Sluice\r\nsluice_server:sluiced\r\nsluice_streams:%zu\r\n"
	           "sluice_quiet_pauses:%llu\r\n",
	           ks_size(srv->ks), (unsigned long long)srv->quiet_pauses);
}

typedef struct section {
	const char *name;
	int dflt;
} section_t;

static const section_t sections[] = {
    {"server", 1},      {"clients", 1},  {"memory", 1}, {"persistence", 1}, {"stats", 1},
    {"replication", 1}, {"keyspace", 1}, {"sluice", 1}, {"cpu", 1},         {"errorstats", 1},
};

static void put_section(buf_t *b, resp_srv_t *srv, size_t i)
{
	switch (i) {
	case 0:
		sec_server(b, srv);
		break;
	case 1:
		sec_clients(b, srv);
		break;
	case 2:
		sec_memory(b, srv);
		break;
	case 3:
		sec_persistence(b, srv);
		break;
	case 4:
		sec_stats(b, srv);
		break;
	case 5:
		sec_replication(b);
		break;
	case 6:
		sec_keyspace(b, srv);
		break;
	case 7:
		sec_sluice(b, srv);
		break;
	case 8:
		resp_info_cpu(b);
		break;
	case 9:
		resp_info_errorstats(b, srv);
		break;
	}
}

RESP_HANDLER(resp_c_info)
{
	buf_t tmp = BUF_INIT;
	size_t ns = sizeof sections / sizeof sections[0];
	int want[sizeof sections / sizeof sections[0]] = {0};
	if (argc == 1) {
		for (size_t i = 0; i < ns; i++)
			want[i] = sections[i].dflt;
	}
	for (int a = 1; a < argc; a++) {
		int all = resp_arg_is(&argv[a], "all") || resp_arg_is(&argv[a], "everything") ||
		          resp_arg_is(&argv[a], "default");
		for (size_t i = 0; i < ns; i++)
			if (all || resp_arg_is(&argv[a], sections[i].name))
				want[i] = 1;
	}
	int first = 1;
	for (size_t i = 0; i < ns; i++) {
		if (!want[i])
			continue;
		if (!first)
			buf_append(&tmp, "\r\n", 2);
		first = 0;
		put_section(&tmp, cl->srv, i);
	}
	resp_verbatim(cl->out, cl->proto, buf_data(&tmp), buf_len(&tmp));
	buf_deinit(&tmp);
	return 0;
}

/* --- CONFIG ----------------------------------------------------------------- */

static void config_value(resp_srv_t *srv, const char *key, char *out, size_t n)
{
	const sl_config_t *c = srv->cfg;
	if (!strcmp(key, "requirepass"))
		snprintf(out, n, "%s", c->requirepass ? c->requirepass : "");
	else if (!strcmp(key, "proto-max-bulk-len"))
		snprintf(out, n, "%lld", (long long)c->proto_max_bulk_len);
	else if (!strcmp(key, "appendfsync"))
		snprintf(out, n, "%s",
		         c->fsync.mode == FSYNC_ALWAYS  ? "always"
		         : c->fsync.mode == FSYNC_NEVER ? "no"
		                                        : "everysec");
	else if (!strcmp(key, "port"))
		snprintf(out, n, "%d", c->resp_port);
	else if (!strcmp(key, "bind"))
		snprintf(out, n, "%s", c->bind);
	else if (!strcmp(key, "dir"))
		snprintf(out, n, "%s", c->data_dir);
	else if (!strcmp(key, "client-output-buffer-limit"))
		snprintf(out, n, "normal 0 0 0 slave 268435456 67108864 60 pubsub %lld %lld 60",
		         (long long)c->client_output_buffer_limit_pubsub,
		         (long long)c->client_output_buffer_limit_pubsub / 4);
	else if (!strcmp(key, "databases"))
		snprintf(out, n, "1");
	else if (!strcmp(key, "maxmemory-policy"))
		snprintf(out, n, "noeviction");
	else if (!strcmp(key, "appendonly"))
		snprintf(out, n, "yes");
	else
		snprintf(out, n, "%s", "0");
}

static const char *const config_keys[] = {
    "appendfsync", "appendonly", "bind", "client-output-buffer-limit", "databases",   "dir",
    "maxclients",  "maxmemory",  "port", "proto-max-bulk-len",         "requirepass", "timeout",
    NULL,
};

/* CONFIG SET's parameters (names and Redis 7.0 aliases): the encoding
 * thresholds OBJECT ENCODING follows (the keyspace's), notifications, and
 * values kept for clients that read them back. */
enum {
	P_HASH_ENTRIES,
	P_HASH_VALUE,
	P_SET_INTSET,
	P_ZSET_ENTRIES,
	P_ZSET_VALUE,
	P_LIST_SIZE,
	P_LIST_DEPTH,
	P_BUSY,
	P_NOTIFY,
	P_POLICY,
	P_ACLLOG,
	P_SLOW_THAN,
	P_SLOW_LEN,
	P_SAVE,
	P_STREAM_BYTES,
	P_STREAM_ENTRIES,
};

static const struct setp {
	const char *name, *alias;
	int id;
	int64_t min, max;
} setps[] = {
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", P_HASH_ENTRIES, 0, INT64_MAX},
    {"hash-max-listpack-value", "hash-max-ziplist-value", P_HASH_VALUE, 0, INT64_MAX},
    {"set-max-intset-entries", NULL, P_SET_INTSET, 0, INT64_MAX},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", P_ZSET_ENTRIES, 0, INT64_MAX},
    {"zset-max-listpack-value", "zset-max-ziplist-value", P_ZSET_VALUE, 0, INT64_MAX},
    {"list-max-listpack-size", "list-max-ziplist-size", P_LIST_SIZE, INT32_MIN, INT32_MAX},
    {"list-compress-depth", NULL, P_LIST_DEPTH, 0, INT32_MAX},
    {"busy-reply-threshold", "lua-time-limit", P_BUSY, 0, INT64_MAX},
    {"notify-keyspace-events", NULL, P_NOTIFY, 0, 0},
    {"maxmemory-policy", NULL, P_POLICY, 0, 0},
    {"acllog-max-len", NULL, P_ACLLOG, 0, INT64_MAX},
    {"slowlog-log-slower-than", NULL, P_SLOW_THAN, -1, INT64_MAX},
    {"slowlog-max-len", NULL, P_SLOW_LEN, 0, INT64_MAX},
    {"save", NULL, P_SAVE, 0, 0},
    /* A stream's log has no listpack nodes: accepted and shown, as the
     * encoding knobs above. */
    {"stream-node-max-bytes", NULL, P_STREAM_BYTES, 0, INT64_MAX},
    {"stream-node-max-entries", NULL, P_STREAM_ENTRIES, 0, INT64_MAX},
};

#define NSETP (sizeof setps / sizeof setps[0])

static const struct setp *setp_find(const resp_arg_t *a)
{
	for (size_t i = 0; i < NSETP; i++)
		if (resp_arg_is(a, setps[i].name) ||
		    (setps[i].alias && resp_arg_is(a, setps[i].alias)))
			return &setps[i];
	return NULL;
}

static int64_t *setp_int(resp_srv_t *srv, int id)
{
	switch (id) {
	case P_LIST_SIZE:
		return &srv->list_max_listpack_size;
	case P_LIST_DEPTH:
		return &srv->list_compress_depth;
	case P_BUSY:
		return &srv->busy_reply_threshold;
	case P_ACLLOG:
		return &srv->acllog_max_len;
	case P_SLOW_THAN:
		return &srv->slowlog_slower_than;
	case P_SLOW_LEN:
		return &srv->slowlog_max_len;
	case P_STREAM_BYTES:
		return &srv->stream_node_max_bytes;
	case P_STREAM_ENTRIES:
		return &srv->stream_node_max_entries;
	}
	return NULL;
}

static void setp_value(resp_srv_t *srv, int id, char *out, size_t n)
{
	kvs_enc_t *e = ks_enc(srv->ks);
	switch (id) {
	case P_HASH_ENTRIES:
		snprintf(out, n, "%zu", e->hash_entries);
		break;
	case P_HASH_VALUE:
		snprintf(out, n, "%zu", e->hash_value);
		break;
	case P_SET_INTSET:
		snprintf(out, n, "%zu", e->set_intset);
		break;
	case P_ZSET_ENTRIES:
		snprintf(out, n, "%zu", e->zset_entries);
		break;
	case P_ZSET_VALUE:
		snprintf(out, n, "%zu", e->zset_value);
		break;
	case P_NOTIFY:
		resp_notify_format(srv->notify, out);
		break;
	case P_POLICY:
		snprintf(out, n, "noeviction");
		break;
	case P_SAVE:
		/* Every write is in the journals already: there are no snapshots. */
		snprintf(out, n, "%s", "");
		break;
	default:
		snprintf(out, n, "%lld", (long long)*setp_int(srv, id));
	}
}

static int config_match(int argc, resp_arg_t *argv, const char *name)
{
	for (int a = 2; a < argc; a++)
		if (ks_glob_match(argv[a].p, argv[a].len, name, strlen(name), 1))
			return 1;
	return 0;
}

static void config_get_setps(resp_cli_t *cl, int argc, resp_arg_t *argv, size_t *n)
{
	char val[64];
	for (size_t i = 0; i < NSETP; i++) {
		for (int k = 0; k < 2; k++) {
			const char *name = k ? setps[i].alias : setps[i].name;
			if (!name || !config_match(argc, argv, name))
				continue;
			setp_value(cl->srv, setps[i].id, val, sizeof val);
			resp_bulk_str(cl->out, name);
			resp_bulk_str(cl->out, val);
			(*n)++;
		}
	}
}

RESP_HANDLER(resp_c_config_get)
{
	size_t mark = resp_defer(cl->out), n = 0;
	char val[256];
	config_get_setps(cl, argc, argv, &n);
	for (size_t k = 0; config_keys[k]; k++) {
		int hit = 0;
		for (int a = 2; a < argc && !hit; a++)
			hit = ks_glob_match(argv[a].p, argv[a].len, config_keys[k],
			                    strlen(config_keys[k]), 1);
		if (!hit)
			continue;
		if (!strcmp(config_keys[k], "maxclients"))
			snprintf(val, sizeof val, "%s", "10000");
		else
			config_value(cl->srv, config_keys[k], val, sizeof val);
		resp_bulk_str(cl->out, config_keys[k]);
		resp_bulk_str(cl->out, val);
		n++;
	}
	resp_defer_map(cl->out, mark, cl->proto, n);
	return 0;
}

RESP_HANDLER(resp_c_config_set)
{
	resp_srv_t *srv = cl->srv;
	if (argc % 2) {
		resp_err_syntax(cl);
		return 0;
	}
	int n = (argc - 2) / 2;
	const struct setp *ps[64];
	int64_t vals[64];
	if (n > 64) {
		resp_error(cl->out, "ERR CONFIG SET: too many parameters");
		return 0;
	}
	/* All or nothing: check every pair, then apply. */
	for (int i = 0; i < n; i++) {
		const resp_arg_t *name = &argv[2 + 2 * i], *val = &argv[3 + 2 * i];
		const struct setp *p = setp_find(name);
		if (!p) {
			resp_errorf(
			    cl->out,
			    "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
			    (int)name->len, name->p);
			return 0;
		}
		for (int j = 0; j < i; j++) {
			const resp_arg_t *prev = &argv[2 + 2 * j];
			/* The same name twice (a name and its alias may both come). */
			if (prev->len == name->len &&
			    strncasecmp(prev->p, name->p, name->len) == 0) {
				resp_errorf(
				    cl->out,
				    "ERR CONFIG SET failed (possibly related to argument '%.*s') - "
				    "duplicate parameter",
				    (int)name->len, name->p);
				return 0;
			}
		}
		ps[i] = p;
		const char *err = NULL;
		if (p->id == P_NOTIFY) {
			int f = resp_notify_parse(val->p, val->len);
			if (f < 0)
				err = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
			vals[i] = f;
		} else if (p->id == P_POLICY) {
			if (!resp_arg_is(val, "noeviction"))
				err = "sluice: only noeviction is supported";
		} else if (p->id == P_SAVE) {
			/* Clients (and Redis's own test suite) turn snapshots off with
			 * save ""; sluice has none to turn on. */
			if (val->len)
				err = "sluice: RDB snapshots are not supported (every write is "
				      "journaled)";
		} else if (resp_arg_ll(val, &vals[i]) < 0) {
			err = "argument couldn't be parsed into an integer";
		} else if (vals[i] < p->min || vals[i] > p->max) {
			resp_errorf(cl->out,
			            "ERR CONFIG SET failed (possibly related to argument '%.*s') - "
			            "argument must be between %lld and %lld inclusive",
			            (int)name->len, name->p, (long long)p->min, (long long)p->max);
			return 0;
		}
		if (err) {
			resp_errorf(
			    cl->out,
			    "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
			    (int)name->len, name->p, err);
			return 0;
		}
	}
	kvs_enc_t *e = ks_enc(srv->ks);
	for (int i = 0; i < n; i++) {
		switch (ps[i]->id) {
		case P_HASH_ENTRIES:
			e->hash_entries = (size_t)vals[i];
			break;
		case P_HASH_VALUE:
			e->hash_value = (size_t)vals[i];
			break;
		case P_SET_INTSET:
			e->set_intset = (size_t)vals[i];
			break;
		case P_ZSET_ENTRIES:
			e->zset_entries = (size_t)vals[i];
			break;
		case P_ZSET_VALUE:
			e->zset_value = (size_t)vals[i];
			break;
		case P_NOTIFY:
			srv->notify = (int)vals[i];
			break;
		case P_POLICY:
		case P_SAVE:
			break;
		default:
			*setp_int(srv, ps[i]->id) = vals[i];
		}
	}
	resp_ok(cl->out);
	return 0;
}

RESP_HANDLER(resp_c_config_resetstat)
{
	(void)argc;
	(void)argv;
	cl->srv->total_cmds = 0;
	cl->srv->total_conns = 0;
	resp_errorstats_reset(cl->srv);
	resp_ok(cl->out);
	return 0;
}

/* --- misc ------------------------------------------------------------------- */

RESP_HANDLER(resp_c_time)
{
	(void)argc;
	(void)argv;
	int64_t us = time_wall_us();
	resp_array(cl->out, 2);
	resp_bulk_i64(cl->out, us / 1000000);
	resp_bulk_i64(cl->out, us % 1000000);
	return 0;
}

RESP_HANDLER(resp_c_dbsize)
{
	(void)argc;
	(void)argv;
	resp_int(cl->out, (int64_t)ks_size(cl->srv->ks));
	return 0;
}

RESP_HANDLER(resp_c_flushdb)
{
	if (argc > 2 ||
	    (argc == 2 && !resp_arg_is(&argv[1], "async") && !resp_arg_is(&argv[1], "sync"))) {
		resp_err_syntax(cl);
		return 0;
	}
	int rc = ks_flush(cl->srv->ks);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_ok(cl->out);
	return 0;
}

/* --- CLUSTER -------------------------------------------------------------- */

/* Every CLUSTER subcommand, HELP included, as Redis 7.0 answers them with
 * cluster-enabled no (clusterCommand's first check): sluice is one node
 * and never a cluster member. The subcommands are in the table anyway, so
 * arity, unknown-subcommand and script (CLUSTER RESET is noscript) errors,
 * COMMAND INFO/DOCS and ACL rules are Redis's. */
RESP_HANDLER(resp_c_cluster)
{
	(void)argc;
	(void)argv;
	resp_error(cl->out, "ERR This instance has cluster support disabled");
	return 0;
}

/* --- SHUTDOWN ------------------------------------------------------------ */

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: 7.0's shutdownCommand
 * checks, then the stop SIGTERM makes (main.c): listeners close, held
 * replies and queued output drain, logs and journals sync, exit 0. The
 * caller's connection closes with no reply, as Redis's process exits under
 * it. SAVE/NOSAVE/NOW/FORCE change nothing: every acknowledged write is
 * already journaled and there are no replicas to wait for, so there is no
 * shutdown in progress for ABORT to cancel either. */
RESP_HANDLER(resp_c_shutdown)
{
	int save = 0, nosave = 0, other = 0, abort_ = 0;
	for (int i = 1; i < argc; i++) {
		if (resp_arg_is(&argv[i], "nosave"))
			nosave = 1;
		else if (resp_arg_is(&argv[i], "save"))
			save = 1;
		else if (resp_arg_is(&argv[i], "now") || resp_arg_is(&argv[i], "force"))
			other = 1;
		else if (resp_arg_is(&argv[i], "abort"))
			abort_ = 1;
		else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	if ((abort_ && (save || nosave || other)) || (save && nosave)) {
		resp_err_syntax(cl);
		return 0;
	}
	if (abort_) {
		resp_error(cl->out, "ERR No shutdown in progress.");
		return 0;
	}
	/* A busy script is mid-call on this thread; Redis would kill it under
	 * NOSAVE, sluice asks for SCRIPT/FUNCTION KILL first (docs/redis.md). */
	static const resp_cmd_t not_allow_busy = {0};
	const char *busy = resp_script_busy_err(cl->srv, &not_allow_busy);
	if (busy) {
		resp_error(cl->out, busy);
		return 0;
	}
	broker_t *b = cl->srv->b;
	log_info(b->log, "resp: SHUTDOWN from %s, shutting down", cl->c->peer);
	b->shutting_down = 1;
	loop_stop(b->loop);
	cl->closing = 1;
	return 0;
}
