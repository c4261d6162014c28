/*
 * group.h — the consumer-group coordinator: Kafka's classic group protocol
 * (JoinGroup / SyncGroup / Heartbeat / LeaveGroup) and committed offsets,
 * without any wire format.
 *
 * One grp_coord_t owns every group of the broker. Each group runs the
 * classic state machine
 *
 *     Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶
 *     CompletingRebalance ──leader's SyncGroup──▶ Stable
 *
 * with PreparingRebalance re-entered whenever membership or a member's
 * protocols change, Empty re-entered when a rebalance ends with no members,
 * and Dead for a deleted group. The broker never looks inside protocol
 * metadata or assignments: the client leader decides (range, roundrobin,
 * cooperative-sticky...) and the bytes pass through unchanged. The only
 * exception is OffsetDelete, which reads the topic list of a "consumer"
 * subscription, as Kafka does.
 *
 * Requests that Kafka parks (JoinGroup until the rebalance completes,
 * SyncGroup until the leader's assignment arrives) take a completion
 * callback. It may run before the call returns (an immediate answer) or
 * later, from a timer or from another member's request. Callbacks borrow
 * the result for the duration of the call and must not call back into the
 * coordinator. Every parked callback is eventually called, at the latest
 * with GRP_ERR_COORDINATOR_NOT_AVAILABLE when the coordinator closes.
 *
 * Errors are domain results (grp_err_t); the Kafka front maps them to Kafka
 * error codes in one place.
 *
 * Durability: committed offsets and group metadata (generation, protocol,
 * members with their assignments) are kept in a state journal
 * DIR/groups.journal, the one member of the coordinator's durability
 * domain (broker/dur.h, grp_coord_dur()). Every change appends its record
 * before memory changes, so a full disk refuses it at once (a commit's
 * partition gets GRP_ERR_STORAGE_ERROR). The front hands every group-API
 * reply to the domain, so under fsync=always no reply — an acknowledged
 * commit, or an OffsetFetch showing one — leaves before what it depends on
 * is on disk. When a write or sync fails the domain fails those replies,
 * cuts the journal back to its last durable point and calls the reload
 * hook, which answers parked JoinGroup/SyncGroup requests with
 * GRP_ERR_STORAGE_ERROR and rebuilds every group from the cut journal, as
 * after a coordinator failover in Kafka (members rejoin). While that runs,
 * every call that changes the coordinator answers GRP_ERR_STORAGE_ERROR
 * without changing anything. The journal is compacted only while the
 * domain is idle.
 *
 * Strings: grp_str_t is a borrowed (pointer, length) view; length -1 means
 * null (Kafka's nullable strings). Everything runs on the loop thread.
 */
#ifndef SL_BROKER_GROUP_H
#define SL_BROKER_GROUP_H

#include "broker/dur.h"
#include "core/config.h"
#include "core/log.h"
#include "net/loop.h"
#include "store/syncer.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct grp_coord grp_coord_t;

/* A borrowed string or byte view; len -1 is null. */
typedef struct grp_str {
	const char *p;
	int32_t len;
} grp_str_t;

#define GRP_NULL ((grp_str_t){NULL, -1})
/* A view of a C string (NULL gives null). */
static inline grp_str_t grp_s(const char *z)
{
	grp_str_t s = {z, z ? (int32_t)strlen(z) : -1};
	return s;
}
static inline int grp_str_eq(grp_str_t a, grp_str_t b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* --- states and results ---------------------------------------------------- */

#define GRP_STATES(X)                                  \
	X(EMPTY, "Empty")                              \
	X(PREPARING_REBALANCE, "PreparingRebalance")   \
	X(COMPLETING_REBALANCE, "CompletingRebalance") \
	X(STABLE, "Stable")                            \
	X(DEAD, "Dead")

typedef enum grp_state {
#define GRP_STATE_ENUM(name, text) GRP_##name,
	GRP_STATES(GRP_STATE_ENUM)
#undef GRP_STATE_ENUM
} grp_state_t;

/* Kafka's name of a state ("PreparingRebalance"), as DescribeGroups and
 * ListGroups report it. */
const char *grp_state_name(grp_state_t s);

#define GRP_ERRORS(X)                                                    \
	X(OK, "success")                                                 \
	X(COORDINATOR_NOT_AVAILABLE, "coordinator not available")        \
	X(INVALID_GROUP_ID, "invalid group id")                          \
	X(UNKNOWN_MEMBER_ID, "unknown member id")                        \
	X(ILLEGAL_GENERATION, "illegal generation")                      \
	X(INCONSISTENT_GROUP_PROTOCOL, "inconsistent group protocol")    \
	X(INVALID_SESSION_TIMEOUT, "invalid session timeout")            \
	X(REBALANCE_IN_PROGRESS, "rebalance in progress")                \
	X(MEMBER_ID_REQUIRED, "member id required")                      \
	X(FENCED_INSTANCE_ID, "fenced instance id")                      \
	X(GROUP_MAX_SIZE_REACHED, "group max size reached")              \
	X(OFFSET_METADATA_TOO_LARGE, "offset metadata too large")        \
	X(UNKNOWN_TOPIC_OR_PARTITION, "unknown topic or partition")      \
	X(GROUP_ID_NOT_FOUND, "group id not found")                      \
	X(NON_EMPTY_GROUP, "group is not empty")                         \
	X(GROUP_SUBSCRIBED_TO_TOPIC, "group is subscribed to the topic") \
	X(STORAGE_ERROR, "the state journal failed or is recovering")    \
	X(GROUP_AUTHORIZATION_FAILED, "not authorized for the group")    \
	X(TOPIC_AUTHORIZATION_FAILED, "not authorized for the topic")

typedef enum grp_err {
#define GRP_ERR_ENUM(name, text) GRP_ERR_##name,
	GRP_ERRORS(GRP_ERR_ENUM)
#undef GRP_ERR_ENUM
} grp_err_t;

const char *grp_err_name(grp_err_t e);

/* --- the coordinator --------------------------------------------------------- */

typedef struct grp_opts {
	int64_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
	int64_t min_session_timeout_ms;     /* group.min.session.timeout.ms */
	int64_t max_session_timeout_ms;     /* group.max.session.timeout.ms */
	int64_t max_size;                   /* group.max.size */
	int64_t offsets_retention_ms;       /* offsets.retention.minutes, in ms */
	int64_t retention_check_ms;         /* offsets.retention.check.interval.ms */
	int64_t metadata_max_bytes;         /* offset.metadata.max.bytes */
	int64_t new_member_join_timeout_ms; /* how long a new member may wait in a join */
	fsync_policy_t fsync;
	int compact_ratio_pct;
	int64_t compact_min_bytes;
	int strict_recovery; /* strict.recovery (journal.h opts.strict) */
	int clean_stop;      /* the previous run stopped cleanly (the caller's to set) */
} grp_opts_t;

/* Fills opts from the server configuration. */
void grp_opts_from_config(grp_opts_t *opts, const sl_config_t *cfg);

/* Opens the coordinator: creates DIR if needed, replays DIR/groups.journal
 * (groups with members come back Stable with fresh session timers, the
 * others Empty) and arms the retention timer. dir NULL keeps everything in
 * memory (tests). Borrows loop, syncer (may be NULL only with dir NULL),
 * log and opts (copied). */
int grp_coord_open(grp_coord_t **out, loop_t *loop, syncer_t *syncer, const log_t *log,
                   const grp_opts_t *opts, const char *dir);
/* Answers every parked request with COORDINATOR_NOT_AVAILABLE, flushes and
 * closes the journal, frees everything. */
void grp_coord_close(grp_coord_t *gc);
/* Parked JoinGroup/SyncGroup requests. */
size_t grp_coord_parked(const grp_coord_t *gc);
/* The coordinator's durability domain (borrowed, lives as long as gc):
 * every group-API reply goes through it. */
dur_t *grp_coord_dur(const grp_coord_t *gc);
/* How the coordinator learns whether a topic exists (the broker wires it
 * to the topic registry): after a recovery cut back the removal of a
 * deleted topic's offsets, they are removed again. */
void grp_coord_set_topic_check(grp_coord_t *gc, int (*exists)(void *arg, grp_str_t topic),
                               void *arg);

/* --- JoinGroup ------------------------------------------------------------------ */

typedef struct grp_protocol {
	grp_str_t name;
	grp_str_t meta; /* opaque subscription bytes */
} grp_protocol_t;

typedef struct grp_join_req {
	grp_str_t group_id;
	grp_str_t member_id;   /* "" for a first join */
	grp_str_t instance_id; /* group.instance.id (static membership) or null */
	grp_str_t client_id;
	grp_str_t client_host;
	grp_str_t protocol_type; /* "consumer" for consumers */
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms; /* -1: same as the session timeout (v0) */
	const grp_protocol_t *protocols;
	size_t nprotocols;
	int require_known_member_id; /* JoinGroup v4+: MEMBER_ID_REQUIRED round trip */
	grp_str_t reason;            /* v8+, for the log */
} grp_join_req_t;

typedef struct grp_join_member {
	grp_str_t member_id;
	grp_str_t instance_id;
	grp_str_t meta; /* the member's metadata for the chosen protocol */
} grp_join_member_t;

typedef struct grp_join_res {
	grp_err_t err;
	int32_t generation;               /* -1 on error */
	grp_str_t protocol_type;          /* null when unknown */
	grp_str_t protocol_name;          /* null on error */
	grp_str_t leader_id;              /* "" on error */
	grp_str_t member_id;              /* the member's id (a new one for first joins) */
	int skip_assignment;              /* v9: a static leader rejoined a stable group */
	const grp_join_member_t *members; /* only for the leader */
	size_t nmembers;
} grp_join_res_t;

typedef void (*grp_join_cb)(void *arg, const grp_join_res_t *res);

/* Joins (or rejoins) a member. cb runs once, now or when the rebalance
 * completes; res borrows views valid during the call only. */
void grp_join(grp_coord_t *gc, const grp_join_req_t *req, grp_join_cb cb, void *arg);

/* --- SyncGroup ------------------------------------------------------------------ */

typedef struct grp_assignment {
	grp_str_t member_id;
	grp_str_t assignment;
} grp_assignment_t;

typedef struct grp_sync_req {
	grp_str_t group_id;
	grp_str_t member_id;
	grp_str_t instance_id;
	int32_t generation;
	grp_str_t protocol_type;             /* v5+, null when absent */
	grp_str_t protocol_name;             /* v5+, null when absent */
	const grp_assignment_t *assignments; /* the leader's; empty for followers */
	size_t nassignments;
} grp_sync_req_t;

typedef struct grp_sync_res {
	grp_err_t err;
	grp_str_t protocol_type;
	grp_str_t protocol_name;
	grp_str_t assignment; /* the member's bytes, exactly as the leader sent them */
} grp_sync_res_t;

typedef void (*grp_sync_cb)(void *arg, const grp_sync_res_t *res);

/* cb runs once: now, or when the leader's assignment arrives (or the
 * rebalance restarts: REBALANCE_IN_PROGRESS). */
void grp_sync(grp_coord_t *gc, const grp_sync_req_t *req, grp_sync_cb cb, void *arg);

/* --- Heartbeat / LeaveGroup ------------------------------------------------------- */

grp_err_t grp_heartbeat(grp_coord_t *gc, grp_str_t group_id, grp_str_t member_id,
                        grp_str_t instance_id, int32_t generation);

typedef struct grp_leave_member {
	grp_str_t member_id;   /* may be "" when instance_id is set */
	grp_str_t instance_id; /* or null */
	grp_str_t reason;
	grp_err_t err; /* out */
} grp_leave_member_t;

/* Removes members (LeaveGroup v0–2 send one, v3+ several). Returns the
 * request-level error; per-member results go to members[i].err. */
grp_err_t grp_leave(grp_coord_t *gc, grp_str_t group_id, grp_leave_member_t *members, size_t n);

/* --- offsets ------------------------------------------------------------------------- */

typedef struct grp_commit_req {
	grp_str_t group_id;
	grp_str_t member_id; /* "" for simple consumers */
	grp_str_t instance_id;
	int32_t generation;   /* -1 for simple consumers (and OffsetCommit v0) */
	int64_t retention_ms; /* v2–v4 RetentionTimeMs; -1: broker default */
} grp_commit_req_t;

typedef struct grp_commit_part {
	grp_str_t topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch; /* -1 when unknown */
	grp_str_t metadata;   /* null is stored as "" ... or as null, as given */
	grp_err_t err;        /* in: preset errors (e.g. unknown topic) are kept; out: result */
} grp_commit_part_t;

/* Commits offsets. Per-partition results go to parts[i].err: an accepted
 * commit is appended to the journal (GRP_ERR_STORAGE_ERROR when it cannot
 * be) and applied; its acknowledgement must go through grp_coord_dur(). */
void grp_offset_commit(grp_coord_t *gc, const grp_commit_req_t *req, grp_commit_part_t *parts,
                       size_t n);

/* Applies the offsets of a committed transaction (broker/txn.h) to group
 * group_id, creating it when needed, without member checks. Results and
 * acknowledgement as grp_offset_commit. */
void grp_offset_commit_txn(grp_coord_t *gc, grp_str_t group_id, grp_commit_part_t *parts, size_t n);

typedef struct grp_offset {
	grp_str_t topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	grp_str_t metadata;
	int64_t commit_ts; /* wall-clock ms */
} grp_offset_t;

/* Looks up one committed offset. Returns 0 and fills *out (views valid until
 * the next call that changes the coordinator), or SL_ENOENT. */
int grp_offset_get(grp_coord_t *gc, grp_str_t group_id, grp_str_t topic, int32_t partition,
                   grp_offset_t *out);
/* Every committed offset of a group, sorted by topic then partition, in an
 * array the caller frees (views inside valid until the next change). */
grp_offset_t *grp_offsets_all(grp_coord_t *gc, grp_str_t group_id, size_t *n);

typedef struct grp_tp {
	grp_str_t topic;
	int32_t partition;
	grp_err_t err; /* out */
} grp_tp_t;

/* OffsetDelete: removes the offsets of partitions the group no longer
 * consumes. Returns the request-level error (STORAGE_ERROR while the
 * domain recovers); a removal that cannot be journaled leaves the offset
 * and reports STORAGE_ERROR for its partition. */
grp_err_t grp_offset_delete(grp_coord_t *gc, grp_str_t group_id, grp_tp_t *parts, size_t n);

/* Runs the offsets-retention pass now (normally a timer does). Offsets
 * whose removal cannot be journaled stay until a later pass. */
void grp_expire_offsets(grp_coord_t *gc);

/* DeleteTopics: removes every group's committed offsets of the topic, as
 * Kafka does, so a topic created again under the same name is not read
 * from the old topic's offsets. Groups left Empty without offsets go. */
void grp_topic_deleted(grp_coord_t *gc, grp_str_t topic);

/* --- administration ---------------------------------------------------------------------- */

/* DeleteGroups for one group: OK, INVALID_GROUP_ID, GROUP_ID_NOT_FOUND,
 * NON_EMPTY_GROUP or STORAGE_ERROR (the deletion could not be journaled:
 * nothing changed). */
grp_err_t grp_delete(grp_coord_t *gc, grp_str_t group_id);

typedef struct grp_listing {
	grp_str_t group_id;
	grp_str_t protocol_type; /* "" for simple groups */
	grp_state_t state;
} grp_listing_t;

/* Every live group, in an array the caller frees (views valid until the
 * next change). */
grp_listing_t *grp_list(grp_coord_t *gc, size_t *n);

typedef struct grp_member_desc {
	grp_str_t member_id;
	grp_str_t instance_id;
	grp_str_t client_id;
	grp_str_t client_host;
	grp_str_t meta;       /* Stable groups only, else empty */
	grp_str_t assignment; /* Stable groups only, else empty */
} grp_member_desc_t;

typedef struct grp_desc {
	grp_state_t state;       /* DEAD for an unknown group */
	grp_str_t protocol_type; /* "" when none */
	grp_str_t protocol_name; /* "" unless Stable */
	int32_t generation;
	grp_str_t leader_id;
	grp_member_desc_t *members; /* owned: free with grp_desc_free */
	size_t nmembers;
} grp_desc_t;

/* DescribeGroups for one group. Returns OK or INVALID_GROUP_ID. */
grp_err_t grp_describe(grp_coord_t *gc, grp_str_t group_id, grp_desc_t *out);
void grp_desc_free(grp_desc_t *d);

#endif
