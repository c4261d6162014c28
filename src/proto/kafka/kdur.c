/*
 * kdur.c — Kafka replies that go through a durability domain
 * (broker/dur.h), with the one way the Kafka front rewrites a held reply
 * when the domain fails: every ErrorCode field the handler marked becomes
 * the API's storage error.
 *
 * A reply is begun after the broker call that made the request's changes.
 * When nothing in the domain is pending it is written straight into the
 * connection's output (no allocation, the common case); otherwise into a
 * dur_hold whose fin patches the marked positions on failure. A parked
 * request (JoinGroup, SyncGroup) opens its hold when it parks, so replies
 * pipelined behind it stay behind it, and finishes it when answered.
 * Requests without a connection (handler tests, the dispatch fuzzer) are
 * answered into rq->out at once. Loop thread only.
 */
#include "proto/kafka/kafka.h"

#include <stdlib.h>

struct kdur_patch {
	int16_t code; /* what the marked ErrorCode fields become on failure */
	size_t n, cap;
	size_t *pos;
};

static int kdur_fin(dur_hold_t *h, buf_t *reply, int status, void *arg)
{
	(void)h;
	struct kdur_patch *p = arg;
	if (status < 0)
		for (size_t i = 0; i < p->n; i++)
			if (p->pos[i] + 2 <= buf_len(reply))
				be16_store(buf_data(reply) + p->pos[i], (uint16_t)p->code);
	free(p->pos);
	free(p);
	return 0;
}

void kdur_hold(kdur_t *k, conn_t *c)
{
	k->patch = calloc(1, sizeof *k->patch);
	if (!k->patch)
		abort();
	k->h = dur_hold_new(c, kdur_fin, k->patch);
	k->b = dur_hold_buf(k->h);
}

void kdur_begin(kdur_t *k, kreq_t *rq, dur_t *d)
{
	k->h = NULL;
	k->patch = NULL;
	if (!rq->c || rq->out || !dur_must_hold(d)) {
		k->b = kreq_out(rq);
		return;
	}
	kdur_hold(k, rq->c);
}

void kdur_err(kdur_t *k, int16_t code)
{
	if (k->patch) {
		struct kdur_patch *p = k->patch;
		if (p->n == p->cap) {
			p->cap = p->cap ? p->cap * 2 : 4;
			p->pos = realloc(p->pos, p->cap * sizeof *p->pos);
			if (!p->pos)
				abort();
		}
		p->pos[p->n++] = buf_len(k->b);
	}
	kw_i16(k->b, code);
}

void kdur_end(kdur_t *k, dur_t *d, int16_t fail_code)
{
	if (!k->h)
		return;
	k->patch->code = fail_code;
	dur_hold_join(k->h, d, 0);
	dur_hold_arm(k->h);
	k->h = NULL;
	k->patch = NULL;
}

void kdur_end_multi(kdur_t *k, dur_t *const *doms, int n, int16_t fail_code)
{
	if (!k->h)
		return;
	k->patch->code = fail_code;
	for (int i = 0; i < n; i++)
		dur_hold_join(k->h, doms[i], 1);
	dur_hold_arm(k->h);
	k->h = NULL;
	k->patch = NULL;
}
