/*
 * txn.h — the Kafka transaction coordinator (KIP-98): transactional ids
 * mapped to producer ids and epochs, the partitions and group offsets of
 * each open transaction, and the commit/abort protocol that writes
 * markers into every partition of a transaction.
 *
 * State lives in its own journal, `<data-dir>/txn.journal` (byte layout
 * and recovery rule in txn.c and docs/formats-journal.md), in its own
 * durability domain: the transaction state changes at a rhythm of its own
 * (a few records per transaction), and keeping it out of kafka.journal
 * (topics) and groups.journal means neither of their compactions or
 * failures has to know about transactions.
 *
 * Ending a transaction is two-phase, as Kafka's: the decision
 * (PrepareCommit/PrepareAbort) is journaled and synced first; only then
 * are the markers appended to the partitions (and committed offsets
 * applied to the groups), then Complete is journaled. So after a crash at
 * any point a transaction is either still Ongoing (nothing of the decision
 * reached a partition: it is aborted on recovery) or Prepare* (completed
 * on recovery): never half-visible to read_committed consumers.
 *
 * Error values are Kafka's codes (the coordinator exists for Kafka only).
 * Loop thread only.
 */
#ifndef SL_BROKER_TXN_H
#define SL_BROKER_TXN_H

#include "broker/broker.h"
#include "broker/dur.h"

#include <stdint.h>

#define TXN_MAX_TIMEOUT_MS 900000 /* Kafka's transaction.max.timeout.ms default */
#define TXN_TICK_MS 1000

typedef struct txn_coord txn_coord_t;

typedef enum txn_err {
	TXN_OK = 0,
	TXN_ERR_STORAGE = 15,          /* COORDINATOR_NOT_AVAILABLE: retriable */
	TXN_ERR_INVALID_EPOCH = 47,    /* INVALID_PRODUCER_EPOCH */
	TXN_ERR_INVALID_STATE = 48,    /* INVALID_TXN_STATE */
	TXN_ERR_INVALID_MAPPING = 49,  /* INVALID_PRODUCER_ID_MAPPING */
	TXN_ERR_INVALID_TIMEOUT = 50,  /* INVALID_TRANSACTION_TIMEOUT */
	TXN_ERR_CONCURRENT = 51,       /* CONCURRENT_TRANSACTIONS: retriable */
	TXN_ERR_UNKNOWN_PARTITION = 3, /* UNKNOWN_TOPIC_OR_PARTITION */
	TXN_ERR_FENCED = 90,           /* PRODUCER_FENCED */
	TXN_ERR_INVALID_REQUEST = 42,  /* a name longer than Kafka's strings (32767) */
} txn_err_t;

typedef enum txn_state {
	TXN_EMPTY = 0,
	TXN_ONGOING,
	TXN_PREPARE_COMMIT,
	TXN_PREPARE_ABORT,
	TXN_COMPLETE_COMMIT,
	TXN_COMPLETE_ABORT,
} txn_state_t;

/* One partition; a view (borrowed) in requests. */
typedef struct txn_tp {
	const char *topic;
	int32_t topic_len;
	int32_t partition;
} txn_tp_t;

/* One offset of TxnOffsetCommit (views borrowed). meta_len -1: null. */
typedef struct txn_off {
	const char *topic;
	int32_t topic_len;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	const char *meta;
	int32_t meta_len;
} txn_off_t;

/* Opens the journal and replays it; transactions left Ongoing are aborted
 * and Prepare* ones completed (needs b->topics and b->groups open). */
int txn_open(txn_coord_t **out, broker_t *b);
void txn_close(txn_coord_t *tc);
/* The domain every coordinator reply waits for. */
dur_t *txn_dur(const txn_coord_t *tc);
size_t txn_busy(const txn_coord_t *tc);

/* InitProducerId with a transactional id: a new id gets a fresh producer
 * id at epoch 0, a known one the next epoch (fencing older instances). An
 * Ongoing transaction is aborted first (CONCURRENT_TRANSACTIONS meanwhile:
 * the client retries). cur_pid/cur_epoch: KIP-360's (-1 when not given). */
txn_err_t txn_init_pid(txn_coord_t *tc, const char *id, int32_t idlen, int32_t timeout_ms,
                       int64_t cur_pid, int16_t cur_epoch, int64_t *pid, int16_t *epoch);
/* AddPartitionsToTxn: results per partition in errs[0..n). */
txn_err_t txn_add_partitions(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                             int16_t epoch, const txn_tp_t *tps, int n, txn_err_t *errs);
/* AddPartitionsToTxn VerifyOnly (KIP-890): errs[i] 0 when tps[i] is in
 * the producer's Ongoing transaction, INVALID_TXN_STATE when not, or the
 * producer's error. Changes nothing. */
void txn_verify_partitions(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                           int16_t epoch, const txn_tp_t *tps, int n, txn_err_t *errs);
/* AddOffsetsToTxn. */
txn_err_t txn_add_offsets(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                          int16_t epoch, const char *group, int32_t glen);
/* TxnOffsetCommit: the offsets are kept with the transaction and applied to
 * the group when it commits. */
txn_err_t txn_offset_commit(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid,
                            int16_t epoch, const char *group, int32_t glen, const txn_off_t *offs,
                            int n);

/* The outcome of an EndTxn: the domains its reply must wait for. */
typedef struct txn_done {
	txn_err_t err;
	dur_t **doms;
	int ndoms;
} txn_done_t;
typedef void (*txn_end_cb)(void *arg, const txn_done_t *d);
/* EndTxn. Returns an error at once (cb not called), or TXN_OK and calls cb
 * exactly once, later (once the decision is durable and the markers are
 * written), or at txn_close with TXN_ERR_STORAGE. */
txn_err_t txn_end(txn_coord_t *tc, const char *id, int32_t idlen, int64_t pid, int16_t epoch,
                  int commit, txn_end_cb cb, void *arg);

/* Whether an open transaction (Ongoing, PrepareCommit or PrepareAbort:
 * its offsets not yet applied to the group) holds a TxnOffsetCommit
 * offset for the group's partition: OffsetFetch with RequireStable
 * answers UNSTABLE_OFFSET_COMMIT for it (KIP-447). One hash lookup,
 * whatever the number of open transactions. */
int txn_pending_offset(const txn_coord_t *tc, const char *group, int32_t glen, const char *topic,
                       int32_t tlen, int32_t partition);

/* transactional.id.expiration.ms, as Kafka's coordinator: forgets every
 * id with no transaction open or completing (Empty, Complete*) whose last
 * change is at least that old at now_wall_ms, journaling a tombstone so
 * that it stays forgotten after a restart; its next InitProducerId gets
 * a new producer id, and a producer still using the old one gets
 * INVALID_PRODUCER_ID_MAPPING. The tick runs it every TXN_TICK_MS.
 * Returns how many ids were forgotten. */
size_t txn_expire(txn_coord_t *tc, int64_t now_wall_ms);

/* DescribeTransactions / ListTransactions: one id as the coordinator sees
 * it. Views valid until the next call into the coordinator. */
typedef struct txn_info {
	const char *id;
	int64_t pid;
	int16_t epoch;
	int32_t timeout_ms;
	int state;           /* txn_state_t */
	int64_t start_ms;    /* wall clock of the last begin; -1: none since start */
	int ntp;             /* partitions of the current (or ending) transaction */
	const txn_tp_t *tps; /* txn_describe only (NULL from txn_each) */
} txn_info_t;
/* Kafka's name of a state ("Ongoing", "PrepareCommit", ...). */
const char *txn_state_name(int state);
/* The state name's value, or -1 for a name Kafka does not know. */
int txn_state_parse(const char *name, int32_t len);
/* Fills *out for id; returns 0, or -1 when the coordinator does not know
 * it. out->tps is allocated: txn_info_release frees it. */
int txn_describe(txn_coord_t *tc, const char *id, int32_t idlen, txn_info_t *out);
void txn_info_release(txn_info_t *info);
/* Calls cb for every transactional id (without partitions). */
void txn_each(txn_coord_t *tc, void (*cb)(void *arg, const txn_info_t *info), void *arg);

#endif
