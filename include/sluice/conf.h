/*
 * sluice/conf.h — configuration for every libsluice handle.
 *
 * One sl_conf holds string values by key; each key has a type and a
 * default, and sl_conf_set() checks the value when it is set, so a handle
 * built from a conf never meets a bad value. Keys (YAML name in brackets,
 * as go-zero's KqConf / DqConf spell them):
 *
 *   common
 *     brokers          host:port list, comma-separated   localhost:9092  [Brokers]
 *     username         SASL/PLAIN user ("" = no SASL)     ""              [Username]
 *     password         SASL/PLAIN password                ""              [Password]
 *     ca.file          PEM CA bundle: connect over TLS     ""              [CaFile]
 *                      (SSL, or SASL_SSL with a username)
 *     sasl.mechanism   PLAIN|SCRAM-SHA-256|SCRAM-SHA-512  PLAIN           [SaslMechanism]
 *     client.id        Kafka client id                    sluice          [ClientId]
 *     topic            topic (queue: comma-separated list) ""             [Topic, Topics]
 *   pusher
 *     chunk.size       bytes per batch                    1048576         [ChunkSize]
 *     flush.interval   ms a batch may wait                1000            [FlushInterval]
 *     balancer         least-bytes|hash|round-robin|random|manual|crc16
 *                                                         least-bytes     [Balancer]
 *     partition        partition for balancer=manual      0               [Partition]
 *     acks             0|1|all                            all             [Acks]
 *     compression      none|gzip|snappy|lz4|zstd          snappy          [Compression]
 *     sync             push returns after its ack         false           [SyncPush]
 *     auto.create      create the topic on first use      false           [AllowAutoTopicCreation]
 *   queue
 *     group            consumer group ("" = no group: read partitions
 *                      by assignment, see queue.h)        ""              [Group]
 *     offset           first|last|<offset> without a commit  last         [Offset]
 *     conns            group members (Kafka clients)      1               [Conns]
 *     consumers        fetcher threads                    8               [Consumers]
 *     processors       handler threads                    8               [Processors]
 *     min.bytes        fetch min bytes                    10240           [MinBytes]
 *     max.bytes        fetch max bytes                    10485760        [MaxBytes]
 *     max.wait         fetch max wait, ms                 1000            [MaxWait]
 *     queue.capacity   messages buffered for processors   1000            [QueueCapacity]
 *     commit.interval  ms between commits                 1000            [CommitInterval]
 *     max.attempts     handler calls per message          3               [MaxAttempts]
 *     retry.backoff    ms between attempts                100             [RetryBackoff]
 *     dead.letter.topic  where failed messages go ("" = none) ""          [DeadLetterTopic]
 *   delay queue
 *     beanstalks       endpoint/tube list, comma-separated   ""           [Beanstalks: - {Endpoint, Tube}]
 *     redis            host:port for de-duplication ("" = none) ""        [Redis: {Host}]
 *     redis.password   AUTH password                      ""              [Redis: {Pass}]
 *     dedupe.ttl       seconds a job id is remembered     3600            [DedupeTtl]
 *
 * Durations accept a number of milliseconds or a Go-style duration
 * ("250ms", "1s", "2m"); booleans true/false; sizes a number of bytes.
 * Thread-safety: a conf is not locked; fill it in one thread, then hand it
 * to constructors (which copy it) from any thread.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include "sluice/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_conf sl_conf;

/* Returns an owned conf with every key at its default; free with
 * sl_conf_free(). NULL only when out of memory. */
SL_API sl_conf *sl_conf_new(void);
SL_API sl_conf *sl_conf_dup(const sl_conf *conf);
SL_API void sl_conf_free(sl_conf *conf);

/* Sets key to value (both borrowed). SL_ECONF for an unknown key or a bad
 * value; sl_last_error() then names the key and says what it expects. */
SL_API int sl_conf_set(sl_conf *conf, const char *key, const char *value);

/* The value of key, or its default when unset: a view valid until the key
 * is set again or the conf is freed. NULL for an unknown key. */
SL_API const char *sl_conf_get(const sl_conf *conf, const char *key);

/* Loads a go-zero-style YAML file. section NULL reads the top-level
 * mapping; otherwise the mapping under that top-level key (for example
 * "KqPusherConf"). go-zero's service keys (Name, Log, Mode, Telemetry…)
 * are accepted and ignored; any other unknown key is an error. On failure
 * (SL_EIO, SL_ECONF) sl_last_error() gives "FILE:LINE: KEY: reason" and
 * conf keeps the values set before the bad key. */
SL_API int sl_conf_load_yaml(sl_conf *conf, const char *path, const char *section);
/* The same from a string in memory (name is used in messages). */
SL_API int sl_conf_load_yaml_string(sl_conf *conf, const char *text, size_t len, const char *name,
                                    const char *section);

#ifdef __cplusplus
}
#endif

#endif
