/*
 * producer_state.h — idempotent producer bookkeeping for one partition
 * (KIP-98): for each producer id, its epoch and the last five batches'
 * sequence ranges and offsets.
 *
 * A batch from a known producer must continue its sequence (first sequence
 * == last sequence + 1, wrapping at INT32_MAX). A batch matching one of the
 * five remembered ranges is a retry and is answered with its original
 * offset. A higher epoch resets the sequence (it must start at 0). An
 * unknown producer id is accepted at any sequence: its state may have been
 * dropped (only the log tail is scanned on open), and refusing it would
 * stall a producer that did nothing wrong.
 *
 * Durability: the state is rebuilt on open from the batch headers in the
 * partition log (the log is the record of what was appended), scanning at
 * most the tail needed; see partition.c. Loop thread only.
 */
#ifndef SL_BROKER_PRODUCER_STATE_H
#define SL_BROKER_PRODUCER_STATE_H

#include "core/map.h"

#include <stdint.h>

#define PSTATE_BATCHES 5
#define PSTATE_SCAN_OFFSETS 100000

enum {
	PS_OK = 0,       /* append, then pstate_record() */
	PS_DUPLICATE,    /* retry of a remembered batch: answer with its offset */
	PS_OUT_OF_ORDER, /* sequence gap */
	PS_FENCED,       /* epoch older than the producer's current one */
};

typedef struct pstate_batch {
	int32_t first_seq;
	int32_t last_seq;
	int64_t base_offset;
} pstate_batch_t;

typedef struct pstate_entry {
	int16_t epoch;
	int n; /* remembered batches, newest last */
	pstate_batch_t b[PSTATE_BATCHES];
} pstate_entry_t;

typedef struct pstate {
	map_t by_pid; /* 8-byte big-endian pid -> pstate_entry_t* */
} pstate_t;

void pstate_init(pstate_t *s);
void pstate_deinit(pstate_t *s);

/* Checks a batch (pid >= 0). On PS_DUPLICATE, *dup_offset is the original
 * base offset. */
int pstate_check(const pstate_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq,
                 int64_t *dup_offset);
/* Remembers an appended batch (after pstate_check said PS_OK, or while
 * rebuilding from the log). */
void pstate_record(pstate_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq,
                   int64_t base_offset);
/* A transaction marker of pid at epoch was written: batches of older
 * epochs are fenced from now on (the sequence starts again at a newer
 * epoch). */
void pstate_fence(pstate_t *s, int64_t pid, int16_t epoch);
/* The producer's current epoch: 0, or SL_ENOENT when it is not tracked. */
int pstate_epoch(const pstate_t *s, int64_t pid, int16_t *epoch);
/* Iterates the producers: size_t it = 0; while (pstate_next(s, &it, &pid, &e)) */
int pstate_next(const pstate_t *s, size_t *it, int64_t *pid, const pstate_entry_t **e);
/* Number of producers tracked. */
size_t pstate_count(const pstate_t *s);

#endif
