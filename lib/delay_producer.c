/*
 * delay_producer.c — sl_dq_producer: puts each delayed job on every
 * beanstalkd node, as go-queue's dq producer does (dq/producer.go).
 *
 * A job is framed "<unix-nanos of the due time>/<payload>" and put with
 * pri 2, TTR 5 s into each node's tube, one node after the other. It is
 * accepted when at least min(2, nodes) nodes answered INSERTED; otherwise
 * the copies that went in are deleted again, so a failed call leaves
 * nothing behind that could run.
 *
 * Threads: any thread may call sl_delay/sl_at/sl_revoke; each node
 * connection has its own mutex, held for one command exchange (with at
 * most one reconnect), so calls from several threads interleave per node.
 * A node whose connection failed is reconnected on its next use.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dq.h"

#define IO_TIMEOUT_MS 5000
#define RETRY_MS 1000

typedef struct pnode {
	dq_node_addr a;
	pthread_mutex_t mu;
	sl_jobs *j;       /* NULL while disconnected; guarded by mu */
	int64_t retry_at; /* lib_now_ms() before which no reconnect is tried */
	int down_rc;      /* why the last connect failed */
	char down_why[200];
} pnode;

struct sl_dq_producer {
	int n;
	pnode nodes[DQ_MAX_NODES];
};

/* Failures that a new connection may cure; anything else is the server's
 * answer and would be the same again. */
static bool retryable(int rc)
{
	return rc == SL_EIO || rc == SL_ETIMEDOUT || rc == SL_ECLOSED || rc == SL_EPROTO;
}

/* Connects pn and selects its tube. Called with pn->mu held. A node that
 * just failed is not tried again for RETRY_MS: with three nodes and one
 * unreachable, each call would otherwise wait out a connect timeout. */
static int node_open(pnode *pn)
{
	if (lib_now_ms() < pn->retry_at)
		return lib_err(pn->down_rc, "%s (retrying soon)", pn->down_why);
	int rc = SL_EIO;
	pn->j = lib_dq_connect(&pn->a, IO_TIMEOUT_MS);
	if (pn->j && (rc = sl_jobs_use(pn->j, pn->a.tube)) == 0)
		return 0;
	sl_jobs_close(pn->j);
	pn->j = NULL;
	pn->down_rc = rc;
	snprintf(pn->down_why, sizeof pn->down_why, "%s", sl_last_error());
	pn->retry_at = lib_now_ms() + RETRY_MS;
	return rc;
}

/* One command on a node: a put (body set) or a delete of id. */
typedef struct node_op {
	const void *body; /* NULL: delete id */
	size_t len;
	uint32_t delay_s;
	uint64_t id; /* delete: the job; put: receives the new id */
} node_op;

/* Runs op on pn's connection, opening it if needed, with one retry on a
 * fresh connection after an I/O failure. */
static int node_call(pnode *pn, node_op *op)
{
	int rc = SL_EIO;
	pthread_mutex_lock(&pn->mu);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!pn->j && (rc = node_open(pn)))
			continue;
		rc = op->body ? sl_jobs_put(pn->j, DQ_PRI, op->delay_s, DQ_TTR_S, op->body, op->len,
		                            &op->id)
		              : sl_jobs_delete(pn->j, op->id);
		if (!retryable(rc))
			break;
		/* A put's reply may be lost after the job went in; a second copy on
		 * this node is harmless: both frame the same due time, so they
		 * share one de-duplication key. */
		sl_jobs_close(pn->j);
		pn->j = NULL;
	}
	pthread_mutex_unlock(&pn->mu);
	return rc;
}

static int node_put(pnode *pn, const void *body, size_t len, uint32_t delay_s, uint64_t *id)
{
	node_op op = {body, len, delay_s, 0};
	int rc = node_call(pn, &op);
	*id = op.id;
	return rc;
}

static int node_delete(pnode *pn, uint64_t id)
{
	node_op op = {NULL, 0, 0, id};
	return node_call(pn, &op);
}

sl_dq_producer *sl_dq_producer_new(const sl_conf *conf)
{
	if (!conf) {
		lib_err(SL_EINVAL, "sl_dq_producer_new: NULL conf");
		return NULL;
	}
	sl_dq_producer *p = calloc(1, sizeof *p);
	if (!p) {
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	dq_node_addr addrs[DQ_MAX_NODES];
	int n = lib_dq_nodes(conf, addrs, DQ_MAX_NODES);
	if (n < 0) {
		free(p);
		return NULL;
	}
	int up = 0;
	char why[300] = "";
	for (int i = 0; i < n; i++) {
		pnode *pn = &p->nodes[i];
		pn->a = addrs[i];
		pthread_mutex_init(&pn->mu, NULL);
		p->n = i + 1;
		if (node_open(pn) == 0)
			up++;
		else if (!why[0])
			snprintf(why, sizeof why, "%s", sl_last_error());
	}
	int need = n < 2 ? n : 2;
	if (up < need) {
		sl_dq_producer_free(p);
		lib_err(SL_EIO, "delay producer: %d of %d beanstalk nodes answered, %d needed: %s",
		        up, n, need, why);
		return NULL;
	}
	return p;
}

void sl_dq_producer_free(sl_dq_producer *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++) {
		sl_jobs_close(p->nodes[i].j);
		pthread_mutex_destroy(&p->nodes[i].mu);
	}
	free(p);
}

/* Appends "endpoint/tube/jobid" to id (truncating at idlen). */
static void id_append(char *id, size_t idlen, size_t *used, const pnode *pn, uint64_t jobid)
{
	if (!id || !idlen || *used >= idlen - 1)
		return;
	int w = snprintf(id + *used, idlen - *used, "%s%s/%s/%llu", *used ? "," : "",
	                 pn->a.endpoint, pn->a.tube, (unsigned long long)jobid);
	if (w > 0)
		*used += (size_t)w < idlen - *used ? (size_t)w : idlen - *used - 1;
}

/* Puts one framed copy on every node. */
static int schedule(sl_dq_producer *p, const void *body, size_t len, int64_t due_ns,
                    int64_t delay_ms, char *id, size_t idlen, const char *fn)
{
	if (!p || (!body && len))
		return lib_err(SL_EINVAL, "%s: NULL argument", fn);
	int64_t delay_s = (delay_ms + 999) / 1000; /* whole seconds, never early */
	if (delay_s > UINT32_MAX)
		return lib_err(SL_ERANGE, "%s: delay of %lld s is beyond beanstalkd's range", fn,
		               (long long)delay_s);
	char prefix[32];
	size_t pl = lib_dq_frame(due_ns, prefix, sizeof prefix);
	if (len > SIZE_MAX - pl)
		return lib_err(SL_ETOOBIG, "%s: job too large", fn);
	char *framed = malloc(pl + len + 1);
	if (!framed)
		return lib_err(SL_ENOMEM, "out of memory");
	memcpy(framed, prefix, pl);
	if (len)
		memcpy(framed + pl, body, len);

	uint64_t jobids[DQ_MAX_NODES];
	bool ok[DQ_MAX_NODES] = {false};
	int accepted = 0, first_rc = 0;
	char why[300] = "";
	for (int i = 0; i < p->n; i++) {
		int rc = node_put(&p->nodes[i], framed, pl + len, (uint32_t)delay_s, &jobids[i]);
		if (rc == 0) {
			ok[i] = true;
			accepted++;
		} else if (!first_rc) {
			first_rc = rc;
			snprintf(why, sizeof why, "%s", sl_last_error());
		}
	}
	free(framed);
	int need = p->n < 2 ? p->n : 2;
	if (accepted < need) {
		/* dq revokes the copies that went in, so a failed call never runs. */
		for (int i = 0; i < p->n; i++)
			if (ok[i])
				node_delete(&p->nodes[i], jobids[i]);
		return lib_err(first_rc, "%s: %d of %d nodes accepted the job, %d needed: %s", fn,
		               accepted, p->n, need, why);
	}
	size_t used = 0;
	if (id && idlen)
		id[0] = '\0';
	for (int i = 0; i < p->n; i++)
		if (ok[i])
			id_append(id, idlen, &used, &p->nodes[i], jobids[i]);
	return 0;
}

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int sl_delay(sl_dq_producer *p, const void *body, size_t len, int64_t delay_ms, char *id,
             size_t idlen)
{
	if (delay_ms < 0)
		return lib_err(SL_EINVAL, "sl_delay: negative delay");
	if (delay_ms > INT64_MAX / 1000000 - wall_ns() / 1000000)
		return lib_err(SL_ERANGE, "sl_delay: delay too large");
	return schedule(p, body, len, wall_ns() + delay_ms * 1000000, delay_ms, id, idlen,
	                "sl_delay");
}

int sl_at(sl_dq_producer *p, const void *body, size_t len, int64_t when_ms, char *id, size_t idlen)
{
	int64_t now = wall_ns() / 1000000;
	/* dq's At: "can't schedule task to past time". */
	if (when_ms < now)
		return lib_err(SL_EINVAL, "sl_at: %lld is %lld ms in the past", (long long)when_ms,
		               (long long)(now - when_ms));
	if (when_ms > INT64_MAX / 1000000)
		return lib_err(SL_ERANGE, "sl_at: time too large");
	return schedule(p, body, len, when_ms * 1000000, when_ms - now, id, idlen, "sl_at");
}

int sl_revoke(sl_dq_producer *p, const char *id)
{
	if (!p || !id || !*id)
		return lib_err(SL_EINVAL, "sl_revoke: no job id");
	int deleted = 0, matched = 0, err = 0;
	char why[300] = "";
	for (const char *s = id; *s;) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		dq_node_addr a;
		uint64_t jobid;
		int rc = lib_dq_id_split(s, n, &a, &jobid);
		if (rc)
			return rc;
		for (int i = 0; i < p->n; i++) {
			pnode *pn = &p->nodes[i];
			if (strcmp(pn->a.endpoint, a.endpoint) || strcmp(pn->a.tube, a.tube))
				continue;
			matched++;
			rc = node_delete(pn, jobid);
			if (rc == 0)
				deleted++;
			else if (rc != SL_ENOENT && !err) {
				err = rc;
				snprintf(why, sizeof why, "%s", sl_last_error());
			}
		}
		if (!e)
			break;
		s = e + 1;
	}
	if (deleted)
		return 0;
	if (err)
		return lib_err(err, "sl_revoke: %s", why);
	if (!matched)
		return lib_err(SL_ENOENT, "sl_revoke: no configured node holds \"%.300s\"", id);
	return lib_err(SL_ENOENT, "sl_revoke: the job already ran or was revoked");
}
