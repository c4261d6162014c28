/*
 * partition.h — one Kafka topic partition: its partition log, idempotent
 * producer state, and the fetch waiters to wake when it grows.
 *
 * Appends go through partition_append(), which checks producer sequences
 * (producer_state.h) before writing and records the batch after. A write
 * failure marks the partition read-only until restart: appends answer
 * SL_EIO, reads are still served (KAFKA_STORAGE_ERROR for producers only).
 * Loop thread only.
 */
#ifndef SL_BROKER_PARTITION_H
#define SL_BROKER_PARTITION_H

#include "broker/producer_state.h"
#include "store/plog.h"

#include <stdint.h>

typedef struct topic topic_t;
typedef struct fetchwait fetchwait_t;

typedef struct partition {
	topic_t *topic; /* borrowed back pointer */
	int32_t index;
	plog_t *log;            /* owned */
	pstate_t pstate;        /* idempotent producers */
	int write_failed;       /* last append hit an I/O error */
	struct fwlink *waiters; /* fetches waiting for data (fetchwait.c) */
} partition_t;

/* Result of an append. */
typedef struct part_append {
	int64_t base_offset; /* first offset of the batch (or of the original, for a duplicate) */
	int64_t log_append_time; /* -1 unless LogAppendTime */
	int duplicate;           /* an idempotent retry: nothing was written */
	int pserr;               /* PS_* producer-state verdict when the append was refused */
} part_append_t;

/* Opens (creating) the log of partition `index` of t in dir. */
int partition_open(partition_t **out, topic_t *t, int32_t index, const char *dir,
                   const plog_opts_t *opts, syncer_t *syncer, const log_t *log, int clean);
void partition_close(partition_t *p);
/* Closes and deletes the partition's directory. */
void partition_destroy(partition_t *p);

/* Appends one RecordBatch v2 (modified in place: BaseOffset, maybe
 * LogAppendTime). Returns 0 (res filled), SL_ESTATE with res->pserr set when
 * producer state refuses the batch, or the plog_append error. */
int partition_append(partition_t *p, uint8_t *batch, size_t len, part_append_t *res);

#endif
