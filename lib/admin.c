/*
 * admin.c — topics: list, describe, create, delete, grow, alter configs
 * (sluice/admin.h), over librdkafka's metadata and Admin API.
 *
 * Every operation is one synchronous round trip (admin_request, shared
 * with admin_group.c): the request goes out on a private queue and the
 * calling thread waits on it for the handle's timeout. Topic listings
 * come from an all-topics metadata request so that describing a missing
 * topic never auto-creates it. Consumer groups are in admin_group.c; both
 * share admin_priv.h.
 *
 * Threads: the calling thread, plus librdkafka's own internal threads.
 */
#include "admin_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN_DEFAULT_TIMEOUT_MS 10000

sl_admin *sl_admin_new(const sl_conf *conf)
{
	if (!conf) {
		lib_err(SL_EINVAL, "sl_admin_new: conf is NULL");
		return NULL;
	}
	sl_admin *a = calloc(1, sizeof *a);
	if (!a) {
		lib_err(SL_ENOMEM, "out of memory");
		return NULL;
	}
	a->timeout_ms = ADMIN_DEFAULT_TIMEOUT_MS;
	snprintf(a->brokers, sizeof a->brokers, "%s", lib_conf_str(conf, "brokers"));
	rd_kafka_conf_t *rc = lib_rdk_conf(conf);
	if (!rc) {
		free(a);
		return NULL;
	}
	char why[256];
	a->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rc, why, sizeof why);
	if (!a->rk) {
		rd_kafka_conf_destroy(rc);
		free(a);
		lib_err(SL_ECONF, "librdkafka: %s", why);
		return NULL;
	}
	return a;
}

void sl_admin_free(sl_admin *a)
{
	if (!a)
		return;
	rd_kafka_destroy(a->rk);
	free(a);
}

void sl_admin_set_timeout(sl_admin *a, int timeout_ms)
{
	if (a && timeout_ms >= 1)
		a->timeout_ms = timeout_ms;
}

char *admin_strdup(const char *s)
{
	return strdup(s ? s : "");
}

/* Errors that mean "nobody answered" name the brokers: the one thing a
 * user can check. */
int admin_rdk_err(sl_admin *a, rd_kafka_resp_err_t err, const char *errstr, const char *what)
{
	int code = lib_rdk_code(err);
	if (!errstr || !*errstr)
		errstr = rd_kafka_err2str(err);
	if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
	    err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__RESOLVE)
		return lib_err(code, "%s: no answer from %s within %d ms (%s)", what, a->brokers,
		               a->timeout_ms, errstr);
	return lib_err(code, "%s: %s", what, errstr);
}

/* Options with the handle's timeout; NULL when out of memory. */
static rd_kafka_AdminOptions_t *admin_options(sl_admin *a, rd_kafka_admin_op_t op)
{
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(a->rk, op);
	if (!o)
		return NULL;
	char why[256];
	rd_kafka_AdminOptions_set_request_timeout(o, a->timeout_ms, why, sizeof why);
	if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
	    op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS)
		rd_kafka_AdminOptions_set_operation_timeout(o, a->timeout_ms, why, sizeof why);
	return o;
}

/* Waits for the result event of the request queued on q; *out is owned
 * by the caller on success. */
static int admin_wait(sl_admin *a, rd_kafka_queue_t *q, rd_kafka_event_t **out, const char *what)
{
	/* librdkafka ends a request at its own timeout; the extra second only
	 * guards against a lost event. */
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, a->timeout_ms + 1000);
	*out = NULL;
	if (!ev)
		return admin_rdk_err(a, RD_KAFKA_RESP_ERR__TIMED_OUT, NULL, what);
	rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
	if (err) {
		int rc = admin_rdk_err(a, err, rd_kafka_event_error_string(ev), what);
		rd_kafka_event_destroy(ev);
		return rc;
	}
	*out = ev;
	return 0;
}

/* Queues the request of op, whose one request object is at *req (see
 * admin_request); -1 for an op libsluice does not send. A switch rather
 * than a table of function pointers: the calls differ in their request
 * types, and each is called through its own prototype. */
static int send_request(rd_kafka_t *rk, rd_kafka_admin_op_t op, void *req,
                        rd_kafka_AdminOptions_t *o, rd_kafka_queue_t *q)
{
	switch (op) {
	case RD_KAFKA_ADMIN_OP_CREATETOPICS:
		rd_kafka_CreateTopics(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_DELETETOPICS:
		rd_kafka_DeleteTopics(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_CREATEPARTITIONS:
		rd_kafka_CreatePartitions(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS:
		rd_kafka_DescribeConfigs(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_ALTERCONFIGS:
		rd_kafka_AlterConfigs(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS:
		rd_kafka_ListConsumerGroups(rk, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS:
		rd_kafka_DescribeConsumerGroups(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS:
		rd_kafka_ListConsumerGroupOffsets(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS:
		rd_kafka_AlterConsumerGroupOffsets(rk, req, 1, o, q);
		return 0;
	case RD_KAFKA_ADMIN_OP_DELETEGROUPS:
		rd_kafka_DeleteGroups(rk, req, 1, o, q);
		return 0;
	default:
		return -1;
	}
}

/* The queue and the options live only for the round trip: librdkafka
 * copies the options into the request, and a polled event no longer
 * needs its queue. */
int admin_request(sl_admin *a, rd_kafka_admin_op_t op, void *req, const char *what,
                  rd_kafka_event_t **ev)
{
	*ev = NULL;
	rd_kafka_queue_t *q = rd_kafka_queue_new(a->rk);
	rd_kafka_AdminOptions_t *o = admin_options(a, op);
	int rc;
	if (!q || !o)
		rc = lib_err(SL_ENOMEM, "out of memory");
	else if (send_request(a->rk, op, req, o, q))
		rc = lib_err(SL_EINVAL, "%s: not an admin request libsluice sends", what);
	else
		rc = admin_wait(a, q, ev, what);
	if (o)
		rd_kafka_AdminOptions_destroy(o);
	if (q)
		rd_kafka_queue_destroy(q);
	return rc;
}

int admin_error(sl_admin *a, const rd_kafka_error_t *err, const char *what)
{
	return admin_rdk_err(a, rd_kafka_error_code(err), rd_kafka_error_string(err), what);
}

int admin_metadata(sl_admin *a, const struct rd_kafka_metadata **md)
{
	rd_kafka_resp_err_t err = rd_kafka_metadata(a->rk, 1, NULL, md, a->timeout_ms);
	if (err)
		return admin_rdk_err(a, err, NULL, "metadata");
	return 0;
}

const rd_kafka_metadata_topic_t *admin_md_topic(const struct rd_kafka_metadata *md,
                                                const char *topic)
{
	for (int i = 0; i < md->topic_cnt; i++)
		if (!strcmp(md->topics[i].topic, topic) && !md->topics[i].err)
			return &md->topics[i];
	return NULL;
}

int admin_watermarks(sl_admin *a, const char *topic, int32_t partition, int64_t *lo, int64_t *hi)
{
	rd_kafka_resp_err_t err =
	    rd_kafka_query_watermark_offsets(a->rk, topic, partition, lo, hi, a->timeout_ms);
	if (err) {
		char what[320];
		snprintf(what, sizeof what, "offsets of %s/%d", topic, partition);
		return admin_rdk_err(a, err, NULL, what);
	}
	return 0;
}

/* ---- results ---------------------------------------------------------- */

static void topic_deinit(sl_topic_info *t)
{
	free(t->name);
	for (size_t i = 0; i < t->partition_count; i++) {
		free(t->partitions[i].replicas);
		free(t->partitions[i].isr);
	}
	free(t->partitions);
	for (size_t i = 0; i < t->config_count; i++) {
		free(t->configs[i].name);
		free(t->configs[i].value);
	}
	free(t->configs);
}

void sl_topic_info_free(sl_topic_info *t)
{
	if (!t)
		return;
	topic_deinit(t);
	free(t);
}

void sl_topic_list_free(sl_topic_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		topic_deinit(&l->topics[i]);
	free(l->topics);
	free(l);
}

static int32_t *dup_ids(const int32_t *ids, int n)
{
	int32_t *p = malloc(sizeof *p * (size_t)(n > 0 ? n : 1));
	if (p && n > 0)
		memcpy(p, ids, sizeof *p * (size_t)n);
	return p;
}

static int cmp_part(const void *x, const void *y)
{
	const sl_partition_info *a = x, *b = y;
	return (a->partition > b->partition) - (a->partition < b->partition);
}

static int cmp_topic(const void *x, const void *y)
{
	return strcmp(((const sl_topic_info *)x)->name, ((const sl_topic_info *)y)->name);
}

static int cmp_config(const void *x, const void *y)
{
	return strcmp(((const sl_config_entry *)x)->name, ((const sl_config_entry *)y)->name);
}

/* Fills t from metadata; t must be zeroed. */
static int topic_from_md(sl_topic_info *t, const rd_kafka_metadata_topic_t *mt)
{
	t->name = admin_strdup(mt->topic);
	t->partitions =
	    calloc((size_t)(mt->partition_cnt > 0 ? mt->partition_cnt : 1), sizeof *t->partitions);
	if (!t->name || !t->partitions)
		return lib_err(SL_ENOMEM, "out of memory");
	for (int i = 0; i < mt->partition_cnt; i++) {
		const rd_kafka_metadata_partition_t *mp = &mt->partitions[i];
		sl_partition_info *p = &t->partitions[t->partition_count++];
		p->partition = mp->id;
		p->leader = mp->leader;
		p->low_watermark = p->high_watermark = -1;
		p->replicas = dup_ids(mp->replicas, mp->replica_cnt);
		p->replica_count = (size_t)mp->replica_cnt;
		p->isr = dup_ids(mp->isrs, mp->isr_cnt);
		p->isr_count = (size_t)mp->isr_cnt;
		if (!p->replicas || !p->isr)
			return lib_err(SL_ENOMEM, "out of memory");
	}
	qsort(t->partitions, t->partition_count, sizeof *t->partitions, cmp_part);
	return 0;
}

int sl_admin_list_topics(sl_admin *a, bool include_internal, sl_topic_list **out)
{
	*out = NULL;
	const struct rd_kafka_metadata *md;
	int rc = admin_metadata(a, &md);
	if (rc)
		return rc;
	sl_topic_list *l = calloc(1, sizeof *l);
	if (l)
		l->topics =
		    calloc((size_t)(md->topic_cnt > 0 ? md->topic_cnt : 1), sizeof *l->topics);
	if (!l || !l->topics) {
		rc = lib_err(SL_ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < md->topic_cnt; i++) {
		const rd_kafka_metadata_topic_t *mt = &md->topics[i];
		if (mt->err || (!include_internal && !strncmp(mt->topic, "__", 2)))
			continue;
		rc = topic_from_md(&l->topics[l->count++], mt);
		if (rc)
			goto done;
	}
	qsort(l->topics, l->count, sizeof *l->topics, cmp_topic);
done:
	rd_kafka_metadata_destroy(md);
	if (rc)
		sl_topic_list_free(l);
	else
		*out = l;
	return rc;
}

/* The one resource of a DescribeConfigs / AlterConfigs reply: present and
 * without error. */
static int config_result(sl_admin *a, const rd_kafka_ConfigResource_t **rs, size_t n,
                         const char *what)
{
	if (n < 1)
		return lib_err(SL_EPROTO, "%s: empty reply", what);
	rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(rs[0]);
	if (err)
		return admin_rdk_err(a, err, rd_kafka_ConfigResource_error_string(rs[0]), what);
	return 0;
}

/* DescribeConfigs of one topic; the caller destroys *ev. */
static int describe_configs(sl_admin *a, const char *topic, rd_kafka_event_t **ev,
                            const rd_kafka_ConfigEntry_t ***entries, size_t *n)
{
	rd_kafka_ConfigResource_t *res =
	    rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	if (!res)
		return lib_err(SL_ENOMEM, "out of memory");
	char what[320];
	snprintf(what, sizeof what, "describe configs of %s", topic);
	int rc = admin_request(a, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, &res, what, ev);
	rd_kafka_ConfigResource_destroy(res);
	if (rc)
		return rc;
	size_t nres;
	const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(
	    rd_kafka_event_DescribeConfigs_result(*ev), &nres);
	rc = config_result(a, rs, nres, what);
	if (rc) {
		rd_kafka_event_destroy(*ev);
		*ev = NULL;
		return rc;
	}
	*entries = (const rd_kafka_ConfigEntry_t **)rd_kafka_ConfigResource_configs(rs[0], n);
	return 0;
}

int sl_admin_describe_topic(sl_admin *a, const char *topic, sl_topic_info **out)
{
	*out = NULL;
	const struct rd_kafka_metadata *md;
	int rc = admin_metadata(a, &md);
	if (rc)
		return rc;
	rd_kafka_event_t *ev = NULL;
	sl_topic_info *t = calloc(1, sizeof *t);
	const rd_kafka_metadata_topic_t *mt = admin_md_topic(md, topic);
	if (!t) {
		rc = lib_err(SL_ENOMEM, "out of memory");
		goto done;
	}
	if (!mt) {
		rc = lib_err(SL_ENOENT, "topic '%s' does not exist", topic);
		goto done;
	}
	rc = topic_from_md(t, mt);
	for (size_t i = 0; !rc && i < t->partition_count; i++)
		rc = admin_watermarks(a, topic, t->partitions[i].partition,
		                      &t->partitions[i].low_watermark,
		                      &t->partitions[i].high_watermark);
	if (rc)
		goto done;
	const rd_kafka_ConfigEntry_t **ce;
	size_t n;
	rc = describe_configs(a, topic, &ev, &ce, &n);
	if (rc)
		goto done;
	t->configs = calloc(n ? n : 1, sizeof *t->configs);
	if (!t->configs) {
		rc = lib_err(SL_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		sl_config_entry *e = &t->configs[t->config_count++];
		const char *v = rd_kafka_ConfigEntry_value(ce[i]);
		e->name = admin_strdup(rd_kafka_ConfigEntry_name(ce[i]));
		e->value = v ? strdup(v) : NULL;
		e->is_default = rd_kafka_ConfigEntry_is_default(ce[i]) != 0;
		e->read_only = rd_kafka_ConfigEntry_is_read_only(ce[i]) != 0;
		e->sensitive = rd_kafka_ConfigEntry_is_sensitive(ce[i]) != 0;
		if (!e->name || (v && !e->value)) {
			rc = lib_err(SL_ENOMEM, "out of memory");
			goto done;
		}
	}
	qsort(t->configs, t->config_count, sizeof *t->configs, cmp_config);
done:
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_metadata_destroy(md);
	if (rc)
		sl_topic_info_free(t);
	else
		*out = t;
	return rc;
}

/* CreateTopics, DeleteTopics or CreatePartitions of the one topic object
 * at *req (borrowed), and the check of its per-topic result. */
static int topic_request(sl_admin *a, rd_kafka_admin_op_t op, void *req, const char *what)
{
	rd_kafka_event_t *ev;
	int rc = admin_request(a, op, req, what, &ev);
	if (rc)
		return rc;
	size_t n = 0;
	const rd_kafka_topic_result_t **tr;
	if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS)
		tr =
		    rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
	else if (op == RD_KAFKA_ADMIN_OP_DELETETOPICS)
		tr =
		    rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
	else
		tr = rd_kafka_CreatePartitions_result_topics(
		    rd_kafka_event_CreatePartitions_result(ev), &n);
	if (n < 1)
		rc = lib_err(SL_EPROTO, "%s: empty reply", what);
	else if (rd_kafka_topic_result_error(tr[0]))
		rc = admin_rdk_err(a, rd_kafka_topic_result_error(tr[0]),
		                   rd_kafka_topic_result_error_string(tr[0]), what);
	rd_kafka_event_destroy(ev);
	return rc;
}

int sl_admin_create_topic(sl_admin *a, const char *topic, int partitions, int replication_factor,
                          const sl_kv *configs, size_t n)
{
	char why[256], what[320];
	snprintf(what, sizeof what, "create topic %s", topic);
	if (partitions < 1)
		return lib_err(SL_EINVAL, "%s: partitions must be at least 1", what);
	rd_kafka_NewTopic_t *nt =
	    rd_kafka_NewTopic_new(topic, partitions, replication_factor, why, sizeof why);
	if (!nt)
		return lib_err(SL_EINVAL, "%s: %s", what, why);
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++)
		if (rd_kafka_NewTopic_set_config(nt, configs[i].key, configs[i].value))
			rc = lib_err(SL_EINVAL, "%s: bad config %s", what, configs[i].key);
	if (!rc)
		rc = topic_request(a, RD_KAFKA_ADMIN_OP_CREATETOPICS, &nt, what);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

int sl_admin_delete_topic(sl_admin *a, const char *topic)
{
	char what[320];
	snprintf(what, sizeof what, "delete topic %s", topic);
	rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
	if (!dt)
		return lib_err(SL_ENOMEM, "out of memory");
	int rc = topic_request(a, RD_KAFKA_ADMIN_OP_DELETETOPICS, &dt, what);
	rd_kafka_DeleteTopic_destroy(dt);
	return rc;
}

int sl_admin_create_partitions(sl_admin *a, const char *topic, int total)
{
	char why[256], what[320];
	snprintf(what, sizeof what, "add partitions to %s", topic);
	rd_kafka_NewPartitions_t *np =
	    rd_kafka_NewPartitions_new(topic, (size_t)(total > 0 ? total : 0), why, sizeof why);
	if (!np)
		return lib_err(SL_EINVAL, "%s: %s", what, why);
	int rc = topic_request(a, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, &np, what);
	rd_kafka_NewPartitions_destroy(np);
	return rc;
}

static const sl_kv *find_kv(const sl_kv *set, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i].key, key))
			return &set[i];
	return NULL;
}

int sl_admin_alter_topic_configs(sl_admin *a, const char *topic, const sl_kv *set, size_t n)
{
	char what[320];
	snprintf(what, sizeof what, "alter configs of %s", topic);
	rd_kafka_event_t *dev = NULL, *ev = NULL;
	const rd_kafka_ConfigEntry_t **ce;
	size_t nce;
	int rc = describe_configs(a, topic, &dev, &ce, &nce);
	if (rc)
		return rc;
	rd_kafka_ConfigResource_t *res =
	    rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
	if (!res) {
		rc = lib_err(SL_ENOMEM, "out of memory");
		goto done;
	}
	/* AlterConfigs replaces every override, so the ones not named in set
	 * are sent back unchanged. */
	for (size_t i = 0; i < nce; i++) {
		const char *name = rd_kafka_ConfigEntry_name(ce[i]);
		if (rd_kafka_ConfigEntry_source(ce[i]) !=
		        RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG ||
		    find_kv(set, n, name))
			continue;
		const char *v = rd_kafka_ConfigEntry_value(ce[i]);
		if (v && rd_kafka_ConfigResource_set_config(res, name, v)) {
			rc = lib_err(SL_EINVAL, "%s: cannot keep %s", what, name);
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (set[i].value &&
		    rd_kafka_ConfigResource_set_config(res, set[i].key, set[i].value)) {
			rc = lib_err(SL_EINVAL, "%s: bad config %s", what, set[i].key);
			goto done;
		}
	}
	rc = admin_request(a, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, &res, what, &ev);
	if (rc)
		goto done;
	size_t nres;
	const rd_kafka_ConfigResource_t **rs =
	    rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &nres);
	rc = config_result(a, rs, nres, what);
done:
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_event_destroy(dev);
	if (res)
		rd_kafka_ConfigResource_destroy(res);
	return rc;
}
