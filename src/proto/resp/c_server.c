/*
 * c_server.c — server commands: INFO, CONFIG GET/SET/RESETSTAT, TIME,
 * DBSIZE, FLUSHDB/FLUSHALL.
 *
 * INFO answers in Redis's format with the fields clients parse on connect
 * (redis_version 7.0.15, loading:0, maxmemory_policy:noeviction, role)
 * plus a "# Sluice" section. CONFIG GET serves a fixed table of the keys
 * clients read, with the values that describe sluice. Loop thread only.
 */
#include "proto/resp/c_lists.h"
#include "broker/keyspace_glob.h"
#include "proto/resp/resp.h"

#include "core/time.h"

#include <stdio.h>
#include <stdlib.h>
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

static void sec_memory(buf_t *b)
{
	buf_printf(b, "# Memory\r\nused_memory:0\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\n"
	              "maxmemory_policy:noeviction\r\n");
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
    {"server", 1}, {"clients", 1},     {"memory", 1},   {"persistence", 1},
    {"stats", 1},  {"replication", 1}, {"keyspace", 1}, {"sluice", 1},
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
		sec_memory(b);
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
	}
}

RESP_HANDLER(resp_c_info)
{
	buf_t tmp = BUF_INIT;
	size_t ns = sizeof sections / sizeof sections[0];
	int want[8] = {0};
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
	else if (!strcmp(key, "stream-node-max-entries"))
		snprintf(out, n, "%d", STREAM_NODE_ENTRIES);
	else
		snprintf(out, n, "%s", "0");
}

static const char *const config_keys[] = {
    "appendfsync",
    "appendonly",
    "bind",
    "client-output-buffer-limit",
    "databases",
    "dir",
    "maxclients",
    "maxmemory",
    "maxmemory-policy",
    "port",
    "proto-max-bulk-len",
    "requirepass",
    "save",
    "stream-node-max-entries",
    "timeout",
    NULL,
};

RESP_HANDLER(resp_c_config_get)
{
	size_t mark = resp_defer(cl->out), n = 0;
	char val[256];
	for (size_t k = 0; config_keys[k]; k++) {
		int hit = 0;
		for (int a = 2; a < argc && !hit; a++)
			hit = ks_glob_match(argv[a].p, argv[a].len, config_keys[k],
			                    strlen(config_keys[k]), 1);
		if (!hit)
			continue;
		if (!strcmp(config_keys[k], "save"))
			snprintf(val, sizeof val, "%s", "");
		else if (!strcmp(config_keys[k], "maxclients"))
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
	(void)argc;
	resp_errorf(cl->out, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
	            (int)argv[2].len, argv[2].p);
	return 0;
}

RESP_HANDLER(resp_c_config_resetstat)
{
	(void)argc;
	(void)argv;
	cl->srv->total_cmds = 0;
	cl->srv->total_conns = 0;
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
