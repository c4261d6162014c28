/*
 * group_priv.h — the coordinator's internal structures, shared by
 * group.c (lifecycle, lookup, admin), group_join.c (the membership state
 * machine), group_offsets.c (committed offsets) and group_store.c (the
 * journal). Not part of the module's API. Loop thread only.
 *
 * Ownership: the coordinator owns its groups (map by id); a group owns its
 * members (a list in join order, indexed by member id and by instance id),
 * its pending members (ids handed out with MEMBER_ID_REQUIRED) and its
 * committed offsets (map by topic + partition). Every string is an owned
 * NUL-terminated copy with its length (gstr_t), since Kafka strings may be
 * null and are compared byte for byte.
 */
#ifndef SL_BROKER_GROUP_PRIV_H
#define SL_BROKER_GROUP_PRIV_H

#include "broker/dur.h"
#include "broker/group.h"
#include "core/buf.h"
#include "core/map.h"
#include "store/journal.h"

typedef struct gstr {
	char *p; /* NUL-terminated, NULL when null */
	int32_t len;
} gstr_t;

typedef struct grp grp_t;
typedef struct grp_member grp_member_t;

typedef struct gproto {
	gstr_t name;
	gstr_t meta;
} gproto_t;

struct grp_member {
	grp_t *g;
	grp_member_t *prev, *next; /* join order: the leader's member list follows it */
	gstr_t id;
	gstr_t instance; /* len -1: dynamic member */
	gstr_t client_id;
	gstr_t client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	gproto_t *protos;
	size_t nprotos;
	gstr_t assignment;
	loop_timer_t timer;   /* session expiry */
	int64_t last_seen_ms; /* monotonic: last heartbeat, join or sync */
	grp_join_cb join_cb;  /* set while a JoinGroup is parked */
	void *join_arg;
	grp_sync_cb sync_cb; /* set while a SyncGroup is parked */
	void *sync_arg;
	int is_new;       /* joined during the current rebalance */
	int pending_sync; /* got its JoinGroup answer, no SyncGroup yet */
};

/* A member id handed out with MEMBER_ID_REQUIRED, valid for one session
 * timeout. */
typedef struct grp_pending {
	grp_t *g;
	gstr_t id;
	loop_timer_t timer;
} grp_pending_t;

typedef struct goffset {
	gstr_t topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	gstr_t meta;
	int64_t commit_ts;  /* wall ms */
	int64_t expire_ts;  /* wall ms, -1: the retention rule decides */
	uint32_t rec_bytes; /* journal bytes of its live record (garbage once superseded) */
} goffset_t;

struct grp {
	grp_coord_t *gc;
	gstr_t id;
	grp_state_t state;
	int64_t state_ts;     /* wall ms the state was entered (retention of Empty groups) */
	gstr_t protocol_type; /* len -1: a simple group (offsets only) */
	gstr_t protocol_name; /* len -1: none chosen */
	int32_t generation;
	grp_member_t *leader;
	grp_member_t *head, *tail;
	size_t nmembers;
	size_t n_awaiting_join;
	map_t by_id;             /* member id -> grp_member_t */
	map_t by_instance;       /* group.instance.id -> grp_member_t */
	map_t pending;           /* member id -> grp_pending_t */
	loop_timer_t join_timer; /* rebalance timeout or initial delay */
	int initial_delay;       /* join_timer is the initial delay */
	int new_member_added;    /* a member joined during the initial delay */
	int64_t initial_remaining_ms;
	loop_timer_t sync_timer; /* members must SyncGroup within the rebalance timeout */
	map_t offsets;           /* topic + be32 partition -> goffset_t */
	buf_t meta_rec;          /* the last GROUP record written (snapshots copy it) */
	gstr_t *topics;          /* topics of the chosen "consumer" subscriptions */
	size_t ntopics;
	int topics_known; /* 0: unknown, treat every topic as subscribed */
};

struct grp_coord {
	loop_t *loop;
	syncer_t *syncer;
	const log_t *log;
	grp_opts_t opts;
	map_t groups;
	jrnl_t *j;
	dur_t *dur;     /* the coordinator's durability domain (owned) */
	dur_mem_t *mem; /* the journal's membership in dur */
	loop_timer_t retention_timer;
	loop_task_t sweep_task; /* after a reload: forget offsets of deleted topics */
	int (*topic_exists)(void *arg, grp_str_t topic);
	void *topic_arg;
	size_t parked; /* parked JoinGroup/SyncGroup callbacks */
	int closing;
	uint64_t replay_garbage; /* superseded bytes seen while replaying */
};

/* --- strings (group.c) --- */
gstr_t gstr_dup(grp_str_t s);
gstr_t gstr_dupz(const char *z);
void gstr_free(gstr_t *s);
void gstr_set(gstr_t *dst, grp_str_t s);
static inline grp_str_t gstr_view(const gstr_t *s)
{
	grp_str_t v = {s->p, s->len};
	return v;
}
static inline int gstr_eq(const gstr_t *a, grp_str_t b)
{
	return grp_str_eq(gstr_view(a), b);
}
static inline const char *gstr_z(const gstr_t *s)
{
	return s->p ? s->p : "";
}

/* --- groups and members (group.c) --- */
grp_t *grp_find(grp_coord_t *gc, grp_str_t id);
grp_t *grp_create(grp_coord_t *gc, grp_str_t id);
/* Removes the group from the coordinator and frees it (no callbacks may be
 * parked on it). */
void grp_destroy(grp_t *g);
/* Drops a group that never formed (generation 0) and holds nothing (no
 * members, pending ids, offsets or stored metadata): one that a failed
 * join or commit just created. Groups that did form stay, Empty, until
 * offsets retention removes them, as in Kafka. */
void grp_drop_if_unused(grp_t *g);
void grp_set_state(grp_t *g, grp_state_t to, const char *why);
grp_member_t *grp_member_find(grp_t *g, grp_str_t id);
grp_member_t *grp_member_by_instance(grp_t *g, grp_str_t instance);
/* Creates a member at the end of the join order (not awaiting anything). */
grp_member_t *grp_member_add(grp_t *g, grp_str_t id, grp_str_t instance, grp_str_t client_id,
                             grp_str_t client_host, int32_t session_ms, int32_t rebalance_ms);
void grp_member_set_protocols(grp_member_t *m, const grp_protocol_t *p, size_t n);
/* The member's metadata for protocol name (a view), or an empty view. */
grp_str_t grp_member_meta(const grp_member_t *m, grp_str_t protocol);
/* Unlinks and frees a member; parked callbacks must have been answered. */
void grp_member_remove(grp_member_t *m);
void grp_member_rename(grp_member_t *m, grp_str_t new_id);
int grp_has_offsets(const grp_t *g);
void grp_parked_inc(grp_coord_t *gc);
void grp_parked_dec(grp_coord_t *gc);

/* --- membership state machine (group_join.c) --- */
/* Initialise the timers of a new group / member. */
void grp_join_group_init(grp_t *g);
void grp_join_member_init(grp_member_t *m);
/* Starts the session timers of members restored from the journal. */
void grp_join_restored(grp_t *g);
/* Answers every parked callback of the group with err (shutdown). */
void grp_join_abort(grp_t *g, grp_err_t err);
void grp_pending_free(grp_pending_t *p);
/* Restarts a member's session timer (a heartbeat or a commit). */
void grp_member_touch(grp_member_t *m);
/* Recomputes g->topics from the members' chosen subscriptions. */
void grp_compute_topics(grp_t *g);
/* A member id is fenced: its instance id belongs to another member id. */
int grp_fenced(grp_t *g, grp_str_t member_id, grp_str_t instance_id);
/* Reads the topic list of a "consumer" subscription (ConsumerProtocol
 * Subscription, any version: int16 version, then an int32-counted array of
 * int16-length strings). Returns the count, or -1 when malformed. */
int grp_parse_subscription_topics(grp_str_t meta, gstr_t **topics);

/* --- offsets (group_offsets.c) --- */
void grp_offsets_free(grp_t *g);
goffset_t *grp_offset_put(grp_t *g, grp_str_t topic, int32_t partition);
goffset_t *grp_offset_find(grp_t *g, grp_str_t topic, int32_t partition);
void grp_offset_remove(grp_t *g, goffset_t *o);
/* Removes, in every group, the offsets match() selects (each only once its
 * removal is journaled); a group left Empty with no members and no offsets
 * is deleted, as Kafka removes it. Returns how many offsets went. */
size_t grp_remove_offsets(grp_coord_t *gc,
                          int (*match)(const grp_t *g, const goffset_t *o, const void *arg),
                          const void *arg);
void grp_retention_init(grp_coord_t *gc);
void grp_retention_start(grp_coord_t *gc);

/* --- journal (group_store.c) --- */
int grp_store_open(grp_coord_t *gc, const char *dir);
void grp_store_close(grp_coord_t *gc);
/* Each returns 0 or a negative SL_E* code; without a journal they do
 * nothing. */
int grp_store_group(grp_t *g);
int grp_store_group_del(grp_t *g);
int grp_store_offset(grp_t *g, goffset_t *o);
int grp_store_offset_del(grp_t *g, goffset_t *o);
/* Reports journal bytes that no longer matter. */
void grp_store_garbage(grp_coord_t *gc, uint64_t bytes);
/* Compacts if worthwhile and the domain is idle (dur.h: never while a
 * reply waits on writes a snapshot would make durable). */
void grp_store_maybe_compact(grp_coord_t *gc);
/* Rebuilds every group from the journal (after the domain cut it back). */
int grp_store_reload(grp_coord_t *gc);
/* The mutation check of dur.h: GRP_ERR_STORAGE_ERROR while the domain is
 * recovering from a failed write or sync, else OK. */
grp_err_t grp_writable(const grp_coord_t *gc);

#endif
