/*
 * sluice/admin.h — topics and consumer groups (what kafka-topics.sh and
 * kafka-consumer-groups.sh do), over librdkafka's Admin API.
 *
 * Keys from sl_conf: brokers, username, password, client.id.
 * Thread-safety: one admin handle per thread. Results are owned by the
 * caller and freed with the matching *_free function; every string in a
 * result is owned by that result.
 *
 * Every call waits at most the handle's timeout (sl_admin_set_timeout,
 * 10 s by default) per round trip; an unreachable cluster gives
 * SL_ETIMEDOUT or SL_EIO with the brokers named in sl_last_error().
 */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_admin sl_admin;

/* Returns an owned handle (free with sl_admin_free) or NULL with
 * sl_last_error() set. conf is borrowed. Connecting is lazy. */
SL_API sl_admin *sl_admin_new(const sl_conf *conf);
SL_API void sl_admin_free(sl_admin *a);
/* Per-request timeout in ms (>= 1). */
SL_API void sl_admin_set_timeout(sl_admin *a, int timeout_ms);

/* A key/value pair given to the library (both borrowed). */
typedef struct sl_kv {
	const char *key;
	const char *value;
} sl_kv;

/* ---- topics ---------------------------------------------------------- */

typedef struct sl_partition_info {
	int32_t partition;
	int32_t leader; /* broker id, -1 if none */
	int32_t *replicas;
	size_t replica_count;
	int32_t *isr;
	size_t isr_count;
	int64_t low_watermark;  /* log start offset; -1 if not queried */
	int64_t high_watermark; /* log end offset; -1 if not queried */
} sl_partition_info;

typedef struct sl_config_entry {
	char *name;
	char *value; /* NULL for a null value (or a hidden sensitive one) */
	bool is_default;
	bool read_only;
	bool sensitive;
} sl_config_entry;

typedef struct sl_topic_info {
	char *name;
	sl_partition_info *partitions; /* sorted by partition */
	size_t partition_count;
	sl_config_entry *configs; /* sl_admin_describe_topic only; sorted by name */
	size_t config_count;
} sl_topic_info;

typedef struct sl_topic_list {
	sl_topic_info *topics; /* sorted by name */
	size_t count;
} sl_topic_list;

/* Every topic with its partitions, leaders and replicas (metadata only:
 * no watermarks, no configs). Internal topics ("__…") are left out unless
 * include_internal. */
SL_API int sl_admin_list_topics(sl_admin *a, bool include_internal, sl_topic_list **out);
SL_API void sl_topic_list_free(sl_topic_list *l);

/* One topic: partitions with watermarks, and every config entry.
 * SL_ENOENT if the topic does not exist (it is never auto-created). */
SL_API int sl_admin_describe_topic(sl_admin *a, const char *topic, sl_topic_info **out);
SL_API void sl_topic_info_free(sl_topic_info *t);

/* CreateTopics. partitions >= 1; replication_factor -1 = broker default.
 * configs (n entries, borrowed) are topic configs. SL_EEXIST if it
 * exists. */
SL_API int sl_admin_create_topic(sl_admin *a, const char *topic, int partitions,
                                 int replication_factor, const sl_kv *configs, size_t n);
/* DeleteTopics. SL_ENOENT if it does not exist. */
SL_API int sl_admin_delete_topic(sl_admin *a, const char *topic);
/* CreatePartitions: grows the topic to total partitions. SL_EINVAL if
 * total is not more than it has. */
SL_API int sl_admin_create_partitions(sl_admin *a, const char *topic, int total);
/* Sets (value non-NULL) or removes (value NULL) topic config overrides,
 * keeping the other overrides: what IncrementalAlterConfigs does, done as
 * DescribeConfigs + AlterConfigs because librdkafka 2.0 has no
 * IncrementalAlterConfigs (not atomic against a concurrent alter). */
SL_API int sl_admin_alter_topic_configs(sl_admin *a, const char *topic, const sl_kv *set, size_t n);

/* ---- consumer groups ------------------------------------------------- */

typedef struct sl_group_listing {
	char *group;
	char *state; /* "Stable", "Empty", "PreparingRebalance"… */
	bool simple; /* no members ever joined (only commits) */
} sl_group_listing;

typedef struct sl_group_list {
	sl_group_listing *groups; /* sorted by name */
	size_t count;
} sl_group_list;

SL_API int sl_admin_list_groups(sl_admin *a, sl_group_list **out);
SL_API void sl_group_list_free(sl_group_list *l);

typedef struct sl_group_member {
	char *member_id;
	char *client_id;
	char *host;
	size_t partition_count; /* partitions assigned to it */
} sl_group_member;

/* One partition of a group: its commit, the log, the lag and who has it.
 * Also the row of a reset plan (new_offset). */
typedef struct sl_group_offset {
	char *topic;
	int32_t partition;
	int64_t committed;  /* -1 = no committed offset */
	int64_t log_start;  /* -1 if unknown */
	int64_t log_end;    /* -1 if unknown */
	int64_t lag;        /* log_end - committed; -1 if either is unknown */
	char *member_id;    /* NULL if no member has the partition */
	char *client_id;    /* NULL likewise */
	char *host;         /* NULL likewise */
	int64_t new_offset; /* reset plans only; -1 otherwise */
} sl_group_offset;

typedef struct sl_group_info {
	char *group;
	char *state;
	char *assignor; /* "" when not Stable */
	int32_t coordinator;
	sl_group_member *members;
	size_t member_count;
	sl_group_offset *offsets; /* committed or assigned partitions, by topic/partition */
	size_t offset_count;
} sl_group_info;

/* DescribeConsumerGroups + ListConsumerGroupOffsets + watermarks. An
 * unknown group is returned with state "Dead" and nothing else, as Kafka
 * describes it. */
SL_API int sl_admin_describe_group(sl_admin *a, const char *group, sl_group_info **out);
SL_API void sl_group_info_free(sl_group_info *g);

typedef enum sl_reset_to {
	SL_RESET_EARLIEST, /* the log start offset */
	SL_RESET_LATEST,   /* the log end offset */
	SL_RESET_OFFSET,   /* a given offset, clamped into [start, end] as Kafka does */
} sl_reset_to;

typedef struct sl_offset_list {
	sl_group_offset *offsets; /* sorted by topic, partition */
	size_t count;
} sl_offset_list;

/* Plans the new committed offset of every partition of topic (or only
 * partition, if >= 0) for group and, if execute, commits it with
 * AlterConsumerGroupOffsets. Executing needs the group inactive (Empty or
 * unknown): otherwise SL_ESTATE, as kafka-consumer-groups.sh refuses.
 * *out (the plan; owned, may be NULL if not wanted) is set on success. */
SL_API int sl_admin_reset_offsets(sl_admin *a, const char *group, const char *topic,
                                  int32_t partition, sl_reset_to to, int64_t offset, bool execute,
                                  sl_offset_list **out);
SL_API void sl_offset_list_free(sl_offset_list *l);

/* DeleteGroups. SL_ENOENT if unknown, SL_ESTATE if it has members. */
SL_API int sl_admin_delete_group(sl_admin *a, const char *group);

#ifdef __cplusplus
}
#endif

#endif
