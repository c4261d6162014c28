/*
 * config.h — sluiced's settings: one table gives the struct fields, the
 * defaults, the parsers, `--help` and the config-file keys.
 *
 * Names follow Kafka's server properties where the concept is Kafka's. A key
 * is matched with '-' and '.' treated alike, so `--data-dir`, `--data.dir`
 * and `data.dir = ...` in a file all set the same field, and Redis- or
 * beanstalkd-style keys (`max-job-size`) work as well.
 *
 * Types:  STR  — string (owned copy)
 *         INT  — int64 within [min, max]
 *         BOOL — true/false/yes/no/on/off/1/0; a flag without a value
 *                (`--strict-recovery`) means true
 *         PORT — a TCP port number, 0 for an ephemeral port, `off` (-1)
 *         FSYNC— always | interval:MS | never
 *         LEVEL— error | warn | info | debug
 *         MODE — file permission bits in octal (700, 0770), at most 777
 *
 * Each protocol has its own list below so that adding a key is one line in
 * that protocol's list. Not thread-safe; the loop thread reads it.
 */
#ifndef SL_CORE_CONFIG_H
#define SL_CORE_CONFIG_H

#include "core/log.h"

#include <stdint.h>
#include <stdio.h>

typedef enum fsync_mode {
	FSYNC_NEVER = 0,
	FSYNC_INTERVAL = 1,
	FSYNC_ALWAYS = 2,
} fsync_mode_t;

typedef struct fsync_policy {
	fsync_mode_t mode;
	int interval_ms; /* FSYNC_INTERVAL only */
} fsync_policy_t;

/* Parses always | never | interval:MS (1..3600000). 0 or SL_EINVAL. */
int fsync_policy_parse(const char *s, fsync_policy_t *out);
/* Formats a policy as it is written in the config ("interval:100"). */
void fsync_policy_format(const fsync_policy_t *p, char *out, size_t n);

/* clang-format off */
#define CFG_I64MAX INT64_MAX

/* X(type, field, key, default, min, max, help) — min/max apply to INT only. */
#define SL_CONFIG_CORE(X)                                                                       \
	X(STR, data_dir, "data.dir", "./data", 0, 0, "directory for logs, journals and the lock") \
	X(STR, bind, "bind", "127.0.0.1", 0, 0, "address every listener binds")                   \
	X(PORT, kafka_port, "kafka.port", "9092", 0, 0, "Kafka listener: N, 0 (ephemeral) or off") \
	X(PORT, resp_port, "resp.port", "6379", 0, 0, "Redis listener: N, 0 (ephemeral) or off")   \
	X(PORT, beanstalk_port, "beanstalk.port", "11300", 0, 0,                                  \
	  "beanstalkd listener: N, 0 (ephemeral) or off")                                         \
	X(PORT, http_port, "http.port", "8080", 0, 0, "HTTP metrics/admin: N, 0 or off")           \
	X(STR, resp_unixsocket, "resp.unixsocket", "", 0, 0,                                      \
	  "also serve Redis on a unix socket at this path (empty: none)")                          \
	X(MODE, resp_unixsocketperm, "resp.unixsocketperm", "700", 0, 0,                          \
	  "permission bits of the Redis unix socket, octal")                                     \
	X(STR, beanstalk_unixsocket, "beanstalk.unixsocket", "", 0, 0,                            \
	  "also serve beanstalkd on a unix socket at this path (empty: none)")                     \
	X(MODE, beanstalk_unixsocketperm, "beanstalk.unixsocketperm", "700", 0, 0,                \
	  "permission bits of the beanstalkd unix socket, octal")                                \
	X(FSYNC, fsync, "fsync", "always", 0, 0, "durability: always | interval:MS | never")      \
	X(INT, ready_fd, "ready.fd", "-1", -1, 1024, "write the READY line to this fd")            \
	X(LEVEL, log_level, "log.level", "info", 0, 0, "error | warn | info | debug")              \
	X(INT, max_request_bytes, "max.request.bytes", "104857600", 1024, 1073741824,             \
	  "largest request any protocol buffers before closing the connection")                   \
	X(INT, max_client_memory, "max.client.memory", "1073741824", 0, CFG_I64MAX,              \
	  "memory all clients may hold for incomplete requests and unsent replies; past it the "   \
	  "clients holding most are closed (0: no limit)")                                        \
	X(INT, max_open_files, "max.open.files", "0", 0, 1048576,                                 \
	  "log files kept open at once (0: half the descriptor limit)")                           \
	X(INT, output_high_water, "output.high.water", "8388608", 4096, CFG_I64MAX,               \
	  "stop reading a connection whose unsent output exceeds this")                           \
	X(INT, output_low_water, "output.low.water", "1048576", 0, CFG_I64MAX,                    \
	  "resume reading once unsent output falls below this")                                   \
	X(INT, log_segment_bytes, "log.segment.bytes", "1073741824", 16384, 4294967295,           \
	  "roll a partition segment at this size")                                                \
	X(INT, log_roll_ms, "log.roll.ms", "604800000", 1, CFG_I64MAX,                            \
	  "roll a partition segment after this age")                                              \
	X(INT, log_retention_bytes, "log.retention.bytes", "-1", -1, CFG_I64MAX,                  \
	  "delete oldest segments beyond this partition size (-1: no limit)")                     \
	X(INT, log_retention_ms, "log.retention.ms", "604800000", -1, CFG_I64MAX,                 \
	  "delete segments older than this (-1: keep forever)")                                   \
	X(INT, log_retention_check_interval_ms, "log.retention.check.interval.ms", "300000", 1,    \
	  CFG_I64MAX, "how often retention runs")                                                 \
	X(INT, log_cleaner_backoff_ms, "log.cleaner.backoff.ms", "15000", 1, CFG_I64MAX,          \
	  "how often the log cleaner looks for compacted partitions to clean")                   \
	X(INT, log_cleaner_step_bytes, "log.cleaner.step.bytes", "16777216", 1, CFG_I64MAX,       \
	  "log cleaner work per loop turn (segment bytes)")                                       \
	X(INT, log_index_interval_bytes, "log.index.interval.bytes", "4096", 1, 1073741824,       \
	  "bytes of log between sparse index entries")                                            \
	X(INT, message_max_bytes, "message.max.bytes", "1048588", 64, 1073741824,                 \
	  "largest record batch accepted")                                                        \
	X(INT, journal_compact_ratio, "journal.compact.ratio", "50", 1, 99,                       \
	  "compact a state journal when this percent of it is garbage")                           \
	X(INT, journal_compact_min_bytes, "journal.compact.min.bytes", "67108864", 0, CFG_I64MAX, \
	  "never compact a journal smaller than this")                                            \
	X(INT, log_verify_bytes_per_sec, "log.verify.bytes.per.sec", "67108864", 0, CFG_I64MAX,   \
	  "background CRC check of logs written before this start (0: only as they are read)")    \
	X(BOOL, strict_recovery, "strict.recovery", "false", 0, 0,                                \
	  "refuse to start over a damaged or unknown file (naming it) instead of setting it aside") \
	X(BOOL, debug_faults, "debug.faults", "false", 0, 0,                                      \
	  "tests only: let PUT /debug/faults on the HTTP listener inject storage failures")        \
	X(STR, debug_fault, "debug.fault", "", 0, 0,                                              \
	  "tests only: a storage failure armed at start (see docs/operations.md)")                 \
	X(BOOL, debug_powerloss, "debug.powerloss", "false", 0, 0,                                \
	  "tests only: record unsynced writes so PUT /debug/powerloss can simulate a power cut")

#define SL_CONFIG_KAFKA(X)                                                                       \
	X(STR, advertised_host, "advertised.host", "127.0.0.1", 0, 0,                              \
	  "host name advertised in Metadata")                                                      \
	X(BOOL, auto_create_topics_enable, "auto.create.topics.enable", "true", 0, 0,              \
	  "create unknown topics on Metadata/Produce")                                             \
	X(INT, num_partitions, "num.partitions", "1", 1, 100000, "partitions of an auto-created topic") \
	X(INT, socket_request_max_bytes, "socket.request.max.bytes", "104857600", 1024,            \
	  1073741824, "largest Kafka request frame")                                               \
	X(INT, max_incremental_fetch_session_cache_slots,                                          \
	  "max.incremental.fetch.session.cache.slots", "1000", 0, 1000000,                         \
	  "incremental fetch sessions (KIP-227) kept at most; 0: none")                            \
	X(INT, group_initial_rebalance_delay_ms, "group.initial.rebalance.delay.ms", "3000", 0,    \
	  CFG_I64MAX, "wait before the first rebalance of a new group")                           \
	X(INT, group_min_session_timeout_ms, "group.min.session.timeout.ms", "6000", 1,            \
	  CFG_I64MAX, "smallest session timeout a member may ask for")                            \
	X(INT, group_max_session_timeout_ms, "group.max.session.timeout.ms", "1800000", 1,         \
	  CFG_I64MAX, "largest session timeout a member may ask for")                             \
	X(INT, offsets_retention_minutes, "offsets.retention.minutes", "10080", 1, CFG_I64MAX,     \
	  "expire committed offsets of empty groups after this")                                   \
	X(INT, offsets_retention_check_interval_ms, "offsets.retention.check.interval.ms", "600000", \
	  1, CFG_I64MAX, "how often expired committed offsets are removed")                       \
	X(INT, offset_metadata_max_bytes, "offset.metadata.max.bytes", "4096", 0, 1048576,         \
	  "largest metadata string of a committed offset")                                         \
	X(INT, group_max_size, "group.max.size", "2147483647", 1, 2147483647,                     \
	  "most members a consumer group may have")                                               \
	X(INT, transactional_id_expiration_ms, "transactional.id.expiration.ms", "604800000", 1,   \
	  2147483647, "forget a transactional id idle (no transaction open) for this long")

#define SL_CONFIG_RESP(X)                                                                        \
	X(STR, requirepass, "requirepass", "", 0, 0, "password for AUTH (empty: no password)")     \
	X(INT, proto_max_bulk_len, "proto-max-bulk-len", "536870912", 1024, 1073741824,           \
	  "largest RESP bulk string")                                                              \
	X(INT, client_output_buffer_limit_pubsub, "client-output-buffer-limit-pubsub", "33554432", \
	  0, CFG_I64MAX, "disconnect a subscriber whose unsent output passes this (0: no limit)")

#define SL_CONFIG_BEANSTALK(X)                                                                   \
	X(INT, max_job_size, "max-job-size", "65535", 0, 1073741824, "largest beanstalkd job body")

/* Transport security and access (docs/security.md). A TLS listener's
 * certificate, key, CA and client-certificate policy come from its own
 * keys (resp.tls.cert.file…) when set, else from the tls.* defaults. */
#define SL_CONFIG_SECURITY(X)                                                                    \
	X(BOOL, protected_mode, "protected-mode", "yes", 0, 0,                                     \
	  "Redis: with no requirepass, refuse clients not on loopback or a unix socket")           \
	X(STR, kafka_listeners, "kafka.listeners", "", 0, 0,                                       \
	  "Kafka listeners, e.g. SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092 (empty: "         \
	  "PLAINTEXT on bind:kafka.port)")                                                         \
	X(PORT, resp_tls_port, "resp.tls.port", "off", 0, 0, "Redis over TLS: N, 0 or off")         \
	X(PORT, beanstalk_tls_port, "beanstalk.tls.port", "off", 0, 0,                             \
	  "beanstalkd over TLS: N, 0 or off")                                                      \
	X(PORT, http_tls_port, "http.tls.port", "off", 0, 0, "HTTPS: N, 0 or off")                  \
	X(STR, tls_cert_file, "tls.cert.file", "", 0, 0, "PEM certificate (chain) of TLS listeners") \
	X(STR, tls_key_file, "tls.key.file", "", 0, 0, "PEM private key of TLS listeners")          \
	X(STR, tls_ca_file, "tls.ca.file", "", 0, 0,                                               \
	  "PEM CA bundle verifying client certificates (empty: none asked)")                       \
	X(STR, tls_client_auth, "tls.client.auth", "none", 0, 0,                                   \
	  "client certificates: none | requested | required")                                     \
	X(INT, tls_handshake_timeout_ms, "tls.handshake.timeout.ms", "10000", 100, 3600000,        \
	  "close a connection whose TLS handshake has not finished by then")                       \
	X(STR, kafka_tls_cert_file, "kafka.tls.cert.file", "", 0, 0, "Kafka: overrides tls.cert.file") \
	X(STR, kafka_tls_key_file, "kafka.tls.key.file", "", 0, 0, "Kafka: overrides tls.key.file") \
	X(STR, kafka_tls_ca_file, "kafka.tls.ca.file", "", 0, 0, "Kafka: overrides tls.ca.file")   \
	X(STR, kafka_tls_client_auth, "kafka.tls.client.auth", "", 0, 0,                           \
	  "Kafka: overrides tls.client.auth")                                                      \
	X(STR, resp_tls_cert_file, "resp.tls.cert.file", "", 0, 0, "Redis: overrides tls.cert.file") \
	X(STR, resp_tls_key_file, "resp.tls.key.file", "", 0, 0, "Redis: overrides tls.key.file")  \
	X(STR, resp_tls_ca_file, "resp.tls.ca.file", "", 0, 0, "Redis: overrides tls.ca.file")     \
	X(STR, resp_tls_client_auth, "resp.tls.client.auth", "", 0, 0,                             \
	  "Redis: overrides tls.client.auth")                                                      \
	X(STR, beanstalk_tls_cert_file, "beanstalk.tls.cert.file", "", 0, 0,                       \
	  "beanstalkd: overrides tls.cert.file")                                                   \
	X(STR, beanstalk_tls_key_file, "beanstalk.tls.key.file", "", 0, 0,                         \
	  "beanstalkd: overrides tls.key.file")                                                    \
	X(STR, beanstalk_tls_ca_file, "beanstalk.tls.ca.file", "", 0, 0,                           \
	  "beanstalkd: overrides tls.ca.file")                                                     \
	X(STR, beanstalk_tls_client_auth, "beanstalk.tls.client.auth", "", 0, 0,                   \
	  "beanstalkd: overrides tls.client.auth")                                                 \
	X(STR, http_tls_cert_file, "http.tls.cert.file", "", 0, 0, "HTTP: overrides tls.cert.file") \
	X(STR, http_tls_key_file, "http.tls.key.file", "", 0, 0, "HTTP: overrides tls.key.file")   \
	X(STR, http_tls_ca_file, "http.tls.ca.file", "", 0, 0, "HTTP: overrides tls.ca.file")      \
	X(STR, http_tls_client_auth, "http.tls.client.auth", "", 0, 0,                             \
	  "HTTP: overrides tls.client.auth")                                                       \
	X(STR, http_auth_token, "http.auth.token", "", 0, 0,                                       \
	  "HTTP admin token (Authorization: Bearer); empty: none")                                 \
	X(STR, http_auth_user, "http.auth.user", "admin", 0, 0, "HTTP basic-auth user")            \
	X(STR, http_auth_password, "http.auth.password", "", 0, 0,                                 \
	  "HTTP basic-auth password; empty: no basic auth")                                        \
	X(BOOL, http_metrics_auth, "http.metrics.auth", "false", 0, 0,                             \
	  "require the HTTP credentials for /metrics too")
#define SL_CONFIG_AUTH(X)                                                                        \
	X(STR, auth_admin_user, "auth.admin.user", "admin", 0, 0,                                 \
	  "bootstrap admin created on first start when auth.admin.password is set")              \
	X(STR, auth_admin_password, "auth.admin.password", "", 0, 0,                             \
	  "bootstrap admin's password (or SLUICE_ADMIN_PASSWORD); empty: no admin")              \
	X(STR, kafka_security_protocol, "kafka.security.protocol", "PLAINTEXT", 0, 0,             \
	  "Kafka listener protocol: PLAINTEXT | SASL_PLAINTEXT (| SSL | SASL_SSL with TLS)")       \
	X(STR, sasl_enabled_mechanisms, "sasl.enabled.mechanisms",                               \
	  "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512", 0, 0, "SASL mechanisms offered on SASL listeners") \
	X(STR, super_users, "super.users", "", 0, 0,                                             \
	  "Kafka principals allowed everything, ';'-separated (User:alice;User:bob)")            \
	X(BOOL, allow_everyone_if_no_acl_found, "allow.everyone.if.no.acl.found", "false", 0, 0, \
	  "Kafka: allow a resource no ACL names (when users exist)")

#define SL_CONFIG(X)           \
	SL_CONFIG_CORE(X)      \
	SL_CONFIG_AUTH(X)      \
	SL_CONFIG_KAFKA(X)     \
	SL_CONFIG_RESP(X)      \
	SL_CONFIG_BEANSTALK(X) \
	SL_CONFIG_SECURITY(X)

#define CFG_CTYPE_STR char *
#define CFG_CTYPE_INT int64_t
#define CFG_CTYPE_BOOL int
#define CFG_CTYPE_PORT int /* -1 = off */
#define CFG_CTYPE_FSYNC fsync_policy_t
#define CFG_CTYPE_LEVEL log_level_t
#define CFG_CTYPE_MODE unsigned

typedef struct sl_config {
#define CFG_FIELD(type, field, key, def, min, max, help) CFG_CTYPE_##type field;
	SL_CONFIG(CFG_FIELD)
#undef CFG_FIELD
} sl_config_t;
/* clang-format on */

/* Fills every field with its default. */
void config_init(sl_config_t *c);
void config_deinit(sl_config_t *c);

/* Sets one key from its text value. On error writes a one-line message
 * naming the key into err (size errn) and returns SL_EINVAL (bad value) or
 * SL_ENOENT (unknown key). */
int config_set(sl_config_t *c, const char *key, const char *value, char *err, size_t errn);

/* Reads `key = value` lines (`#` starts a comment) from a file. */
int config_load_file(sl_config_t *c, const char *path, char *err, size_t errn);

/* Parses argv: --config FILE is applied first, then --key=value / --key value
 * flags in order. Returns 0, 1 if --help was given, or a negative code. */
int config_parse_args(sl_config_t *c, int argc, char **argv, char *err, size_t errn);

/* Writes the --help text: every setting with its default. */
void config_print_help(FILE *out);

#endif
