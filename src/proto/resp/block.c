/*
 * block.c — clients parked until a key changes (XREAD/XREADGROUP BLOCK,
 * later BLPOP and friends).
 *
 * Each key with waiters has a FIFO list in srv->waiting; a client blocked
 * on several keys has one node in each. Writers call resp_signal_key();
 * after the current command finishes, resp_serve_ready() offers each
 * signalled key to its waiters in blocking order, and a waiter whose
 * serve() produces a reply is unblocked everywhere. That gives Redis's
 * rules for free: an XADD wakes every XREAD (each finds entries), but only
 * the first XREADGROUP `>` consumer of a group (it advances the group, the
 * next finds nothing new). A blocked client's connection is paused so its
 * pipelined commands wait until it has its answer. Answers given later
 * (served, timed out) take the reply path like any other (resp.h): under
 * fsync=always a served pop's reply waits for its journal sync.
 * Loop thread only.
 */
#include "proto/resp/c_admin.h"
#include "proto/resp/resp.h"

#include <stdlib.h>

typedef struct wlist {
	resp_wait_t *head, *tail;
	char *key;
	size_t klen;
	int queued; /* already in srv->ready */
} wlist_t;

struct resp_wait {
	resp_wait_t *prev, *next;
	wlist_t *list;
	resp_block_t *bk;
};

static void on_timeout(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	resp_block_t *bk = t->arg;
	resp_cli_t *cl = bk->cl;
	buf_t scratch = BUF_INIT;
	cl->out = resp_reply_begin(cl, &scratch);
	resp_null_array(cl->out, cl->proto);
	resp_reply_end(cl, &scratch);
	cl->out = NULL;
	buf_deinit(&scratch);
	resp_unblock(cl);
}

void resp_block(resp_cli_t *cl, int nkeys, const resp_arg_t *keys, int64_t timeout_ms,
                resp_serve_fn serve, resp_block_free_fn free_fn, void *arg)
{
	resp_srv_t *srv = cl->srv;
	resp_block_t *bk = calloc(1, sizeof *bk);
	if (!bk)
		abort();
	bk->cl = cl;
	bk->serve = serve;
	bk->free_fn = free_fn;
	bk->arg = arg;
	bk->waits = calloc((size_t)nkeys, sizeof *bk->waits);
	if (!bk->waits)
		abort();
	for (int i = 0; i < nkeys; i++) {
		wlist_t *l = map_get(&srv->waiting, keys[i].p, keys[i].len);
		if (!l) {
			l = calloc(1, sizeof *l);
			if (!l)
				abort();
			l->key = malloc(keys[i].len + 1);
			if (!l->key)
				abort();
			memcpy(l->key, keys[i].p, keys[i].len);
			l->key[keys[i].len] = 0;
			l->klen = keys[i].len;
			map_put(&srv->waiting, keys[i].p, keys[i].len, l);
		}
		resp_wait_t *w = calloc(1, sizeof *w);
		if (!w)
			abort();
		w->list = l;
		w->bk = bk;
		w->prev = l->tail;
		if (l->tail)
			l->tail->next = w;
		else
			l->head = w;
		l->tail = w;
		bk->waits[bk->nwaits++] = w;
	}
	loop_timer_init(&bk->timer, on_timeout, bk);
	if (timeout_ms > 0)
		loop_timer_start(cl->c->loop, &bk->timer, timeout_ms);
	cl->blk = bk;
	srv->nblocked++;
	conn_pause(cl->c);
}

void resp_unblock(resp_cli_t *cl)
{
	resp_block_t *bk = cl->blk;
	resp_srv_t *srv = cl->srv;
	if (!bk)
		return;
	for (size_t i = 0; i < bk->nwaits; i++) {
		resp_wait_t *w = bk->waits[i];
		wlist_t *l = w->list;
		if (w->prev)
			w->prev->next = w->next;
		else
			l->head = w->next;
		if (w->next)
			w->next->prev = w->prev;
		else
			l->tail = w->prev;
		free(w);
		if (!l->head && !l->queued) {
			map_del(&srv->waiting, l->key, l->klen);
			free(l->key);
			free(l);
		}
	}
	loop_timer_stop(cl->c->loop, &bk->timer);
	if (bk->free_fn)
		bk->free_fn(bk);
	free(bk->waits);
	free(bk);
	cl->blk = NULL;
	srv->nblocked--;
	if (!conn_is_closed(cl->c))
		conn_resume(cl->c);
}

void resp_signal_key(resp_srv_t *srv, const char *key, size_t klen)
{
	wlist_t *l = map_get(&srv->waiting, key, klen);
	if (!l || l->queued)
		return;
	l->queued = 1;
	if (srv->nready == srv->ready_cap) {
		srv->ready_cap = srv->ready_cap ? srv->ready_cap * 2 : 8;
		srv->ready = realloc(srv->ready, srv->ready_cap * sizeof *srv->ready);
		srv->ready_len = realloc(srv->ready_len, srv->ready_cap * sizeof *srv->ready_len);
		if (!srv->ready || !srv->ready_len)
			abort();
	}
	srv->ready[srv->nready] = l->key;
	srv->ready_len[srv->nready] = klen;
	srv->nready++;
}

void resp_serve_ready(resp_srv_t *srv)
{
	size_t done = 0;
	while (done < srv->nready) {
		const char *key = srv->ready[done];
		size_t klen = srv->ready_len[done];
		done++;
		wlist_t *l = map_get(&srv->waiting, key, klen);
		if (!l)
			continue;
		/* l stays queued while its waiters are served, so that unblocking
		 * them cannot free it (and the key the ready list points at). */
		/* Snapshot the clients in blocking order: serving one unblocks it
		 * and edits the lists; clients are never freed during this. */
		size_t n = 0;
		for (resp_wait_t *w = l->head; w; w = w->next)
			n++;
		resp_cli_t **cls = malloc((n ? n : 1) * sizeof *cls);
		if (!cls)
			abort();
		n = 0;
		for (resp_wait_t *w = l->head; w; w = w->next)
			cls[n++] = w->bk->cl;
		for (size_t i = 0; i < n; i++) {
			resp_cli_t *cl = cls[i];
			if (!cl->blk || conn_is_closed(cl->c))
				continue;
			/* A served pop or XREADGROUP changed the keyspace: its
			 * reply takes the reply path like any other write's. */
			buf_t scratch = BUF_INIT;
			cl->out = resp_reply_begin(cl, &scratch);
			/* One unit, as the command would be sent now (BLMOVE
			 * writes two records: keyspace_unit.c). */
			ks_unit_begin(srv->ks, 1);
			size_t mark = buf_len(cl->out);
			int served = cl->blk->serve(cl, cl->blk);
			ks_unit_end(srv->ks);
			/* An error the woken client gets (NOGROUP, UNBLOCKED, WRONGTYPE)
			 * counts in errorstats as the command's own would. */
			if (buf_len(cl->out) > mark && buf_data(cl->out)[mark] == '-')
				resp_errorstat(srv, (const char *)buf_data(cl->out) + mark + 1,
				               buf_len(cl->out) - mark - 1);
			resp_reply_end(cl, &scratch);
			buf_deinit(&scratch);
			cl->out = NULL;
			if (served)
				resp_unblock(cl);
		}
		free(cls);
		l->queued = 0;
		if (!l->head) {
			map_del(&srv->waiting, l->key, l->klen);
			free(l->key);
			free(l);
		}
	}
	srv->nready = 0;
}
