/*
 * producer_state.c — idempotent producer sequences per partition; see
 * producer_state.h. Loop thread only.
 */
#include "broker/producer_state.h"
#include "core/buf.h"
#include "core/err.h"

#include <stdlib.h>

void pstate_init(pstate_t *s)
{
	map_init(&s->by_pid);
}

void pstate_deinit(pstate_t *s)
{
	size_t it = 0;
	const char *k;
	size_t kl;
	void *v;
	while (map_next(&s->by_pid, &it, &k, &kl, &v))
		free(v);
	map_deinit(&s->by_pid);
}

size_t pstate_count(const pstate_t *s)
{
	return map_len(&s->by_pid);
}

static pstate_entry_t *find(const pstate_t *s, int64_t pid)
{
	uint8_t key[8];
	be64_store(key, (uint64_t)pid);
	return map_get(&s->by_pid, key, 8);
}

/* The sequence after `seq`; sequences wrap from INT32_MAX to 0 (KIP-98). */
static int32_t seq_next(int32_t seq)
{
	return seq == INT32_MAX ? 0 : seq + 1;
}

int pstate_check(const pstate_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq,
                 int64_t *dup_offset)
{
	const pstate_entry_t *e = find(s, pid);
	if (!e)
		return PS_OK;
	/* Checked before the empty case: a transaction marker written with a
	 * bumped epoch (pstate_fence) fences the old producer out. */
	if (epoch < e->epoch)
		return PS_FENCED;
	if (e->n == 0)
		return PS_OK;
	if (epoch > e->epoch)
		return first_seq == 0 ? PS_OK : PS_OUT_OF_ORDER;
	for (int i = 0; i < e->n; i++) {
		if (e->b[i].first_seq == first_seq && e->b[i].last_seq == last_seq) {
			*dup_offset = e->b[i].base_offset;
			return PS_DUPLICATE;
		}
	}
	if (first_seq != seq_next(e->b[e->n - 1].last_seq))
		return PS_OUT_OF_ORDER;
	return PS_OK;
}

void pstate_record(pstate_t *s, int64_t pid, int16_t epoch, int32_t first_seq, int32_t last_seq,
                   int64_t base_offset)
{
	pstate_entry_t *e = find(s, pid);
	if (!e) {
		e = calloc(1, sizeof *e);
		if (!e)
			abort();
		uint8_t key[8];
		be64_store(key, (uint64_t)pid);
		map_put(&s->by_pid, key, 8, e);
	}
	if (epoch != e->epoch)
		e->n = 0;
	e->epoch = epoch;
	if (e->n == PSTATE_BATCHES) {
		for (int i = 1; i < PSTATE_BATCHES; i++)
			e->b[i - 1] = e->b[i];
		e->n--;
	}
	e->b[e->n++] = (pstate_batch_t){first_seq, last_seq, base_offset};
}

void pstate_fence(pstate_t *s, int64_t pid, int16_t epoch)
{
	pstate_entry_t *e = find(s, pid);
	if (!e) {
		e = calloc(1, sizeof *e);
		if (!e)
			abort();
		uint8_t key[8];
		be64_store(key, (uint64_t)pid);
		map_put(&s->by_pid, key, 8, e);
		e->epoch = epoch;
		return;
	}
	if (epoch > e->epoch) {
		e->epoch = epoch;
		e->n = 0;
	}
}

int pstate_epoch(const pstate_t *s, int64_t pid, int16_t *epoch)
{
	const pstate_entry_t *e = find(s, pid);
	if (!e)
		return SL_ENOENT;
	*epoch = e->epoch;
	return 0;
}

int pstate_next(const pstate_t *s, size_t *it, int64_t *pid, const pstate_entry_t **e)
{
	const char *k;
	size_t kl;
	void *v;
	if (!map_next(&s->by_pid, it, &k, &kl, &v))
		return 0;
	*pid = (int64_t)be64_load((const uint8_t *)k);
	*e = v;
	return 1;
}
