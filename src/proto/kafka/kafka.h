/*
 * kafka.h — internals shared by the Kafka front's files: the server
 * context, a decoded request, the API table and the handlers.
 *
 * Flow (front.c): frame.c cuts one size-prefixed request out of the
 * connection's input, codec.c reads its header, apis.c finds the API in the
 * one table and checks the version, and the API's handler (h_<Api>.c) reads
 * the body and writes the response. A handler either answers at once
 * (kafka_resp_begin/kafka_resp_end on rq->out), answers through a
 * durability domain (a dur_hold for acks=-1 produces and every group API:
 * see kdur_* below), answers later (a paused connection for long-poll
 * fetches), or not at all (acks=0). Returning a negative code closes the
 * connection.
 * Loop thread only.
 */
#ifndef SL_PROTO_KAFKA_KAFKA_H
#define SL_PROTO_KAFKA_KAFKA_H

#include "broker/acl.h"
#include "broker/broker.h"
#include "broker/dur.h"
#include "broker/topic.h"
#include "broker/txn.h"
#include "net/conn.h"
#include "proto/kafka/codec.h"

#include <stdint.h>

#define KAFKA_NODE_ID 1

typedef struct kafka_srv {
	broker_t *b;
	topics_t *topics;
	int port;                    /* advertised port when no connection tells (tests) */
	struct grp_coord *groups;    /* consumer groups (the broker's) */
	int sasl;                    /* the listener is SASL_PLAINTEXT / SASL_SSL (h_Sasl.c) */
	unsigned sasl_mechs;         /* enabled mechanisms, bit per h_Sasl.c's numbering */
	struct kfs_cache *fsessions; /* fetch sessions (fetch_session.h); NULL: none */
} kafka_srv_t;

typedef struct kafka_sasl kafka_sasl_t;

/* Per-connection state. */
typedef struct kafka_conn {
	kafka_srv_t *srv;
	int port;                   /* local port the client connected to (advertised) */
	struct kafka_fetch *parked; /* a long-poll fetch holding the connection paused */
	uint64_t requests;  /* complete frames seen (0: the first one decides the log hint) */
	kafka_sasl_t *sasl; /* login state on a SASL listener, else NULL */
	struct kfs_cache *fsessions; /* a reference: its sessions end with it */
} kafka_conn_t;

typedef struct kreq {
	kafka_srv_t *srv;
	conn_t *c; /* NULL in unit tests of handlers that need no connection */
	kafka_reqhdr_t h;
	int flex;      /* the request version is flexible */
	rd_t r;        /* the body */
	uint8_t *body; /* writable view of the body (Produce rewrites batches in place) */
	size_t body_len;
	buf_t *out; /* where an immediate response goes (kreq_out) */
} kreq_t;

/* The buffer for an immediate response: rq->out, or the connection's
 * output queue (fetched anew: it changes after a hold or file region). */
static inline buf_t *kreq_out(kreq_t *rq)
{
	return rq->out ? rq->out : conn_out(rq->c);
}
/* The port to advertise in Metadata. */
int kafka_advertised_port(const kreq_t *rq);

typedef int (*kafka_handler_fn)(kreq_t *rq);

typedef struct kafka_api {
	int16_t key;
	const char *name;
	int16_t min;  /* advertised minimum */
	int16_t max;  /* advertised maximum */
	int16_t flex; /* first flexible version (INT16_MAX: none) */
	kafka_handler_fn fn;
	int flags; /* none defined yet */
} kafka_api_t;

/* The API table, ordered by key, terminated by an entry with name NULL. */
extern const kafka_api_t kafka_apis[];
const kafka_api_t *kafka_api_find(int16_t key);

/* Starts/ends the response to rq in b (response header v1 when the request
 * is flexible, except for ApiVersions which always uses header v0). */
size_t kafka_reply_begin(const kreq_t *rq, buf_t *b);
static inline void kafka_reply_end(buf_t *b, size_t mark)
{
	kafka_resp_end(b, mark);
}

/* Handles one whole request frame (the bytes after the size field). The
 * frame stays valid for the call only. out: where immediate responses go,
 * or NULL for the connection's output queue. Returns 0 or negative to
 * close. */
int kafka_dispatch(kafka_srv_t *srv, conn_t *c, buf_t *out, uint8_t *frame, size_t len);

/* frame.c: finds the next request in p[0..n). Returns the frame size
 * including its 4-byte length (frame at p+4, *len bytes), SL_EAGAIN, or
 * SL_ETOOBIG / SL_EPROTO (negative or oversized length: close). */
int kafka_frame_next(const uint8_t *p, size_t n, size_t max, size_t *len);

/* errors.c: one place that maps domain errors to Kafka error codes. */
enum {
	KERR_NONE = 0,
	KERR_OFFSET_OUT_OF_RANGE = 1,
	KERR_CORRUPT_MESSAGE = 2,
	KERR_UNKNOWN_TOPIC_OR_PARTITION = 3,
	KERR_LEADER_NOT_AVAILABLE = 5,
	KERR_COORDINATOR_LOAD_IN_PROGRESS = 14,
	KERR_COORDINATOR_NOT_AVAILABLE = 15,
	KERR_NOT_COORDINATOR = 16,
	KERR_MESSAGE_TOO_LARGE = 10,
	KERR_INVALID_TOPIC_EXCEPTION = 17,
	KERR_INVALID_REQUIRED_ACKS = 21,
	KERR_UNSUPPORTED_VERSION = 35,
	KERR_TOPIC_ALREADY_EXISTS = 36,
	KERR_INVALID_PARTITIONS = 37,
	KERR_TOPIC_AUTHORIZATION_FAILED = 29,
	KERR_GROUP_AUTHORIZATION_FAILED = 30,
	KERR_CLUSTER_AUTHORIZATION_FAILED = 31,
	KERR_INVALID_REPLICATION_FACTOR = 38,
	KERR_INVALID_REPLICA_ASSIGNMENT = 39,
	KERR_INVALID_CONFIG = 40,
	KERR_INVALID_REQUEST = 42,
	KERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
	KERR_INVALID_PRODUCER_EPOCH = 47,
	KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
	KERR_OPERATION_NOT_ATTEMPTED = 55,
	KERR_KAFKA_STORAGE_ERROR = 56,
	KERR_UNKNOWN_PRODUCER_ID = 59,
	KERR_UNSUPPORTED_COMPRESSION_TYPE = 76,
	KERR_INVALID_RECORD = 87,
	KERR_FETCH_SESSION_ID_NOT_FOUND = 70,
	KERR_INVALID_FETCH_SESSION_EPOCH = 71,
	KERR_UNKNOWN_TOPIC_ID = 100,
};
/* Maps an SL_E* code from the broker/store layers (0 → 0). */
int16_t kafka_err_from_sl(int err);
/* Maps a PS_* producer-state verdict. */
int16_t kafka_err_from_pstate(int ps);
/* Maps a topic-creation error (SL_EEXIST → TOPIC_ALREADY_EXISTS, ...). */
int16_t kafka_err_from_create(int err);

/* Handlers (h_<Api>.c). */
int kafka_h_Produce(kreq_t *rq);
int kafka_h_Fetch(kreq_t *rq);
int kafka_h_ListOffsets(kreq_t *rq);
int kafka_h_Metadata(kreq_t *rq);
int kafka_h_ApiVersions(kreq_t *rq);
int kafka_h_CreateTopics(kreq_t *rq);
int kafka_h_DeleteTopics(kreq_t *rq);
int kafka_h_InitProducerId(kreq_t *rq);
int kafka_h_AddPartitionsToTxn(kreq_t *rq);
int kafka_h_AddOffsetsToTxn(kreq_t *rq);
int kafka_h_EndTxn(kreq_t *rq);
int kafka_h_TxnOffsetCommit(kreq_t *rq);
int kafka_h_DescribeProducers(kreq_t *rq);
int kafka_h_DescribeTransactions(kreq_t *rq);
int kafka_h_ListTransactions(kreq_t *rq);
int kafka_h_DescribeConfigs(kreq_t *rq);
int kafka_h_AlterConfigs(kreq_t *rq);
int kafka_h_IncrementalAlterConfigs(kreq_t *rq);
int kafka_h_CreatePartitions(kreq_t *rq);
int kafka_h_DeleteRecords(kreq_t *rq);
int kafka_h_DescribeCluster(kreq_t *rq);

/* Consumer groups (issue 4): h_FindCoordinator.c, h_JoinGroup.c,
 * h_Offset.c, h_DescribeGroups.c. The broker owns the coordinator;
 * kafka_err_from_grp maps its results. */
int kafka_h_FindCoordinator(kreq_t *rq);
int kafka_h_JoinGroup(kreq_t *rq);
int kafka_h_SyncGroup(kreq_t *rq);
int kafka_h_Heartbeat(kreq_t *rq);
int kafka_h_LeaveGroup(kreq_t *rq);
int kafka_h_OffsetCommit(kreq_t *rq);
int kafka_h_OffsetFetch(kreq_t *rq);
int kafka_h_OffsetDelete(kreq_t *rq);
int kafka_h_ListGroups(kreq_t *rq);
int kafka_h_DescribeGroups(kreq_t *rq);
int kafka_h_DeleteGroups(kreq_t *rq);
int16_t kafka_err_from_grp(int grp_err);

/* h_Sasl.c: SASL on the Kafka listener. A listener's security protocol
 * (Kafka's names) → whether it wants SASL and TLS; SL_EINVAL if unknown. */
int kafka_sasl_parse_protocol(const char *s, int *sasl, int *tls);
/* "PLAIN,SCRAM-SHA-512" → mechanism mask (0: an unknown name). */
unsigned kafka_sasl_parse_mechanisms(const char *s);
kafka_sasl_t *kafka_sasl_new(void);
void kafka_sasl_free(kafka_sasl_t *s);
/* The authenticated user, or NULL. */
const char *kafka_sasl_principal(const kafka_sasl_t *s);
/* Called by front.c for every frame of a connection with SASL state:
 * 0 dispatch it, 1 consumed (a bare v0 token), negative close. */
int kafka_sasl_gate(kafka_srv_t *srv, conn_t *c, const uint8_t *frame, size_t len);
int kafka_h_SaslHandshake(kreq_t *rq);
int kafka_h_SaslAuthenticate(kreq_t *rq);
/* h_UserScram.c: the user database's Kafka API. */
int kafka_h_DescribeUserScramCredentials(kreq_t *rq);
int kafka_h_AlterUserScramCredentials(kreq_t *rq);

/* h_Acls.c: CreateAcls, DescribeAcls, DeleteAcls (broker/acl.h). */
int kafka_h_CreateAcls(kreq_t *rq);
int kafka_h_DescribeAcls(kreq_t *rq);
int kafka_h_DeleteAcls(kreq_t *rq);
/* authz.c: whether the request's principal may do op (broker/acl.h's
 * ACL_OP_*) on a resource. kafka_authz returns 1 (allowed) or 0; the
 * others KERR_NONE or the API's authorization error code (29, 30, 31, 53).
 * Everything is allowed while the user database is empty. */
int kafka_authz(const kreq_t *rq, int rtype, const char *name, size_t n, int op);
int16_t kafka_authz_topic(const kreq_t *rq, kstr_t topic, int op);
int16_t kafka_authz_group(const kreq_t *rq, kstr_t group, int op);
int16_t kafka_authz_cluster(const kreq_t *rq, int op);
int16_t kafka_authz_txn(const kreq_t *rq, kstr_t id, int op);
/* Group APIs: a grp_err_t, GRP_ERR_OK or GRP_ERR_GROUP_AUTHORIZATION_FAILED
 * (group given as the coordinator's views, p/len); the offset APIs also
 * GRP_ERR_TOPIC_AUTHORIZATION_FAILED for the topic. */
int kafka_authz_grp(const kreq_t *rq, const char *group, int32_t len, int op);
int kafka_authz_offsets(const kreq_t *rq, const char *group, int32_t len, kstr_t topic, int op);
/* OffsetDelete: Delete on the group (else GRP_ERR_GROUP_AUTHORIZATION_FAILED,
 * nothing deleted), then grp_offset_delete() of the partitions whose topic
 * the principal may Read; the others get GRP_ERR_TOPIC_AUTHORIZATION_FAILED. */
struct grp_tp;
int kafka_offset_delete_authorized(const kreq_t *rq, const char *group, int32_t len,
                                   struct grp_tp *tps, size_t n);
/* ListGroups: whether the group is listed (Describe on the cluster or on
 * the group). */
int kafka_authz_listed_group(const kreq_t *rq, const char *group, int32_t len);
/* Transactions (the results are txn_err_t, which are Kafka's codes):
 * AddPartitionsToTxn: Write on the transactional id and on each topic;
 * when refused, fills errs (53 for all, or 29 for the refused topics and
 * OPERATION_NOT_ATTEMPTED for the rest) and returns 1, else 0.
 * AddOffsetsToTxn/TxnOffsetCommit: Write on the id, Read on the group. */
int kafka_authz_txn_parts(const kreq_t *rq, kstr_t id, const kstr_t *names, const int32_t *counts,
                          int32_t nt, txn_err_t *errs);
int kafka_authz_txn_group(const kreq_t *rq, kstr_t id, kstr_t group);
/* TxnOffsetCommit: the id and group checks above, then txn_offset_commit()
 * of the partitions whose topic the principal may Read; deny[i] is set to
 * TOPIC_AUTHORIZATION_FAILED for the others (Kafka commits the rest). */
txn_err_t kafka_txn_offset_commit_authorized(const kreq_t *rq, kstr_t id, int64_t pid,
                                             int16_t epoch, kstr_t group, const txn_off_t *offs,
                                             int n, int16_t *deny);
/* FindCoordinator: Describe on the group (key type 0) or transactional id
 * (1). */
int16_t kafka_authz_coordinator(const kreq_t *rq, int8_t key_type, kstr_t key);
/* InitProducerId: Write on the transactional id; without one (an
 * idempotent producer) IdempotentWrite on the cluster or Write on some
 * topic (KIP-679), else CLUSTER_AUTHORIZATION_FAILED. */
int16_t kafka_authz_init_pid(const kreq_t *rq, kstr_t txnid);
/* The config APIs: op on the topic (resource type 2) or on the cluster
 * (4, a broker); other types pass (the handler refuses them). */
int16_t kafka_authz_configs(const kreq_t *rq, int8_t res_type, kstr_t name, int op);
/* Create on the cluster or on the topic (CreateTopics, auto-creation). */
int16_t kafka_authz_create_topic(const kreq_t *rq, kstr_t topic);
/* Produce: Write on the transactional id (when not null), then on the
 * topic. */
int16_t kafka_authz_produce(const kreq_t *rq, kstr_t txnid, kstr_t topic);
/* t when the principal may do op on the topic, else NULL with *err
 * TOPIC_AUTHORIZATION_FAILED (checked before existence, as Kafka). */
struct topic *kafka_authz_topic_or_null(const kreq_t *rq, kstr_t name, int op, struct topic *t,
                                        int16_t *err);
/* Metadata: how many topics the principal may Describe; a topic asked by
 * name (Describe, and Create for an auto-creation). */
int32_t kafka_authz_described_topics(const kreq_t *rq);
struct topic *kafka_authz_metadata_topic(const kreq_t *rq, kstr_t name, int allow_auto,
                                         int16_t *err);

/* ApiVersions' answer to a version it does not support (KIP-511): a v0
 * body with UNSUPPORTED_VERSION and the ApiVersions entry. */
void kafka_apiversions_unsupported(const kreq_t *rq, buf_t *b);

/* Fetch: a parked fetch is dropped when its connection closes. */
void kafka_fetch_abandon(struct kafka_fetch *f);

/* kdur.c: a reply that may have to wait for a durability domain (group
 * APIs). Begin it after the broker call that made the request's changes;
 * write the reply into k->b, writing each ErrorCode field with kdur_err()
 * (such fields become fail_code should the domain fail before the reply
 * leaves); finish with kdur_end(). kdur_hold() opens the hold at once (a
 * request that parks: its reply is written when it is answered). */
typedef struct kdur {
	buf_t *b;
	dur_hold_t *h; /* NULL: the reply goes out at once */
	struct kdur_patch *patch;
} kdur_t;
void kdur_begin(kdur_t *k, kreq_t *rq, dur_t *d);
void kdur_hold(kdur_t *k, conn_t *c);
void kdur_err(kdur_t *k, int16_t code);
void kdur_end(kdur_t *k, dur_t *d, int16_t fail_code);
/* The same for a reply that waits (forced, as acks=-1) for every domain of
 * doms[0..n) (EndTxn: the partitions that got markers, the groups, the
 * coordinator). */
void kdur_end_multi(kdur_t *k, dur_t *const *doms, int n, int16_t fail_code);

/* Auto-creation used by Metadata and Produce. Returns the topic or NULL
 * (with *err a Kafka error code). */
topic_t *kafka_topic_get(kafka_srv_t *srv, kstr_t name, int allow_create, int16_t *err);

#endif
