/*
 * topic.h — the Kafka topic registry: topics, their partitions, per-topic
 * configuration, the cluster id and the producer-id counter.
 *
 * Durable state lives in one state journal, `<data-dir>/kafka.journal`
 * (record types in topic.c). Each partition's records live in a partition
 * log under `<data-dir>/topics/<topic>-<n>/`. Every change is written ahead:
 * its record is durable before memory changes, and when it cannot be made
 * durable nothing changes and the storage error (SL_EIO, SL_ENOSPC) is
 * returned. Creating a topic opens its partition logs and then commits the
 * record (removing the logs again if that fails); deleting commits the
 * deletion and then destroys the logs, so a crash in between is repaired
 * on the next start. Partition directories the journal does not account
 * for are adopted, never removed, unless the journal proves they are a
 * deletion's or an empty creation's leftovers (topic.c).
 *
 * Errors are domain errors (SL_E*); protocol fronts map them.
 * Loop thread only.
 */
#ifndef SL_BROKER_TOPIC_H
#define SL_BROKER_TOPIC_H

#include "broker/broker.h"
#include "broker/partition.h"
#include "core/map.h"
#include "store/journal.h"

#include <stdint.h>

#define TOPIC_NAME_MAX 249
#define TOPIC_MAX_PARTITIONS 10000 /* per topic: each partition keeps files open */

typedef struct topic_kv {
	char *key;
	char *value;
} topic_kv_t;

typedef struct topic {
	char *name;
	uint8_t id[16]; /* topic UUID, random at creation */
	int32_t npart;
	partition_t **parts; /* npart owned partitions */
	topic_kv_t *cfg;     /* per-topic overrides, owned */
	int ncfg;
	int log_append_time;       /* message.timestamp.type=LogAppendTime */
	int64_t max_message_bytes; /* effective max.message.bytes */
	/* cleanup.policy includes compact: the log cleaner runs (housekeeping)
	 * with these settings, and Produce refuses keyless records. */
	int compact;
	int64_t delete_retention_ms, min_compaction_lag_ms, max_compaction_lag_ms;
	double min_cleanable_dirty_ratio;
} topic_t;

/* Kafka's delete.retention.ms default: one day. */
#define TOPIC_DELETE_RETENTION_MS 86400000

typedef struct topics topics_t;

/* Opens the journal, replays topics and opens their partition logs.
 * Borrows b (which must outlive the registry). */
int topics_open(topics_t **out, broker_t *b);
/* Closes every log and the journal. */
void topics_close(topics_t *ts);

const char *topics_cluster_id(const topics_t *ts);
broker_t *topics_broker(const topics_t *ts);

topic_t *topics_find(const topics_t *ts, const char *name, size_t len);
/* Iterates topics in unspecified order: size_t it = 0; while ((t = topics_next(ts, &it))) */
topic_t *topics_next(const topics_t *ts, size_t *it);
size_t topics_count(const topics_t *ts);

/* Whether a client-chosen name is a legal topic name ([a-zA-Z0-9._-],
 * 1..249 chars, not "." or ".."). */
int topics_name_valid(const char *name, size_t len);

/* Whether key is a list-valued config (IncrementalAlterConfigs APPEND and
 * SUBTRACT apply to it). */
int topics_config_is_list(const char *key);
/* Whether the comma-separated list (spaces allowed) holds item. */
int topics_list_has(const char *list, const char *item);
/* Validates one config key/value (SL_ENOENT unknown key, SL_EINVAL bad
 * value). */
int topics_config_check(const char *key, const char *value);

/* Creates a topic. cfg (borrowed) are the per-topic overrides. Errors:
 * SL_EEXIST, SL_EINVAL (bad name or partition count), SL_ENOENT/SL_EINVAL
 * (bad config), SL_EIO/SL_ENOSPC (nothing created). */
int topics_create(topics_t *ts, const char *name, int32_t npart, const topic_kv_t *cfg, int ncfg,
                  topic_t **out);
/* Deletes a topic and its logs (SL_ENOENT, or a storage error: nothing
 * deleted). */
int topics_delete(topics_t *ts, const char *name);
/* Grows a topic to npart partitions (SL_EINVAL if not larger; a storage
 * error leaves it as it was). */
int topics_add_partitions(topics_t *ts, topic_t *t, int32_t npart);
/* Sets (value != NULL) or removes (value == NULL) a topic config. */
int topics_set_config(topics_t *ts, topic_t *t, const char *key, const char *value);
/* Applies kv[0..n) (borrowed) the same way, all or none: one commit. */
int topics_set_configs(topics_t *ts, topic_t *t, const topic_kv_t *kv, int n);
/* The topic's override for key, or NULL. */
const char *topic_config(const topic_t *t, const char *key);

/* The effective value of a topic config and whether it is the default;
 * returns NULL for unknown keys. Iterate known keys with topics_config_key(i)
 * until it returns NULL. */
const char *topics_config_value(const topics_t *ts, const topic_t *t, const char *key,
                                int *is_default, char *tmp, size_t tmpn);
const char *topics_config_key(int i);

/* Hands out a new idempotent producer id in *pid, journaled first; a
 * storage error hands out nothing. */
int topics_next_producer_id(topics_t *ts, int64_t *pid);

/* Replies held on the partitions' durability domains (shutdown waits). */
size_t topics_busy(const topics_t *ts);

/* Runs retention/rolling on every partition. */
void topics_housekeep(topics_t *ts, int64_t now_wall_ms);

#endif
