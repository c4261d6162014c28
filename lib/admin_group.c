/*
 * admin_group.c — consumer groups (sluice/admin.h): list, describe with
 * committed offsets and lag, reset offsets, delete.
 *
 * describe joins three answers the way kafka-consumer-groups.sh does:
 * DescribeConsumerGroups (state, members, assignments),
 * ListConsumerGroupOffsets (commits) and the partitions' watermarks (log
 * start and end, for LAG). A partition appears if it has a commit or a
 * member owns it.
 *
 * Threads: the calling thread, plus librdkafka's own internal threads.
 */
#include "admin_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_listing(const void *x, const void *y)
{
	return strcmp(((const sl_group_listing *)x)->group, ((const sl_group_listing *)y)->group);
}

static int cmp_offset(const void *x, const void *y)
{
	const sl_group_offset *a = x, *b = y;
	int c = strcmp(a->topic, b->topic);
	return c ? c : (a->partition > b->partition) - (a->partition < b->partition);
}

void sl_group_list_free(sl_group_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++) {
		free(l->groups[i].group);
		free(l->groups[i].state);
	}
	free(l->groups);
	free(l);
}

int sl_admin_list_groups(sl_admin *a, sl_group_list **out)
{
	*out = NULL;
	rd_kafka_event_t *ev = NULL;
	sl_group_list *l = calloc(1, sizeof *l);
	int rc =
	    l ? admin_request(a, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, NULL, "list groups", &ev)
	      : lib_err(SL_ENOMEM, "out of memory");
	if (rc)
		goto done;
	const rd_kafka_ListConsumerGroups_result_t *r =
	    rd_kafka_event_ListConsumerGroups_result(ev);
	size_t n, nerr;
	const rd_kafka_ConsumerGroupListing_t **gl =
	    rd_kafka_ListConsumerGroups_result_valid(r, &n);
	const rd_kafka_error_t **errs = rd_kafka_ListConsumerGroups_result_errors(r, &nerr);
	if (nerr > 0 && n == 0) {
		rc = admin_error(a, errs[0], "list groups");
		goto done;
	}
	l->groups = calloc(n ? n : 1, sizeof *l->groups);
	if (!l->groups) {
		rc = lib_err(SL_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		sl_group_listing *g = &l->groups[l->count++];
		g->group = admin_strdup(rd_kafka_ConsumerGroupListing_group_id(gl[i]));
		g->state = admin_strdup(
		    rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(gl[i])));
		g->simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(gl[i]) != 0;
		if (!g->group || !g->state) {
			rc = lib_err(SL_ENOMEM, "out of memory");
			goto done;
		}
	}
	qsort(l->groups, l->count, sizeof *l->groups, cmp_listing);
done:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (rc)
		sl_group_list_free(l);
	else
		*out = l;
	return rc;
}

static void offset_deinit(sl_group_offset *o)
{
	free(o->topic);
	free(o->member_id);
	free(o->client_id);
	free(o->host);
}

void sl_group_info_free(sl_group_info *g)
{
	if (!g)
		return;
	free(g->group);
	free(g->state);
	free(g->assignor);
	for (size_t i = 0; i < g->member_count; i++) {
		free(g->members[i].member_id);
		free(g->members[i].client_id);
		free(g->members[i].host);
	}
	free(g->members);
	for (size_t i = 0; i < g->offset_count; i++)
		offset_deinit(&g->offsets[i]);
	free(g->offsets);
	free(g);
}

void sl_offset_list_free(sl_offset_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		offset_deinit(&l->offsets[i]);
	free(l->offsets);
	free(l);
}

/* A growable array of offset rows. */
typedef struct rows {
	sl_group_offset *v;
	size_t n, cap;
} rows_t;

static sl_group_offset *rows_find(rows_t *r, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].partition == partition && !strcmp(r->v[i].topic, topic))
			return &r->v[i];
	return NULL;
}

/* The row of topic/partition, added if missing; NULL when out of memory. */
static sl_group_offset *rows_get(rows_t *r, const char *topic, int32_t partition)
{
	sl_group_offset *o = rows_find(r, topic, partition);
	if (o)
		return o;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		sl_group_offset *v = realloc(r->v, cap * sizeof *v);
		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	o = &r->v[r->n];
	memset(o, 0, sizeof *o);
	o->topic = admin_strdup(topic);
	if (!o->topic)
		return NULL;
	o->partition = partition;
	o->committed = o->log_start = o->log_end = o->lag = o->new_offset = -1;
	r->n++;
	return o;
}

/* Hands the rows over to *v and *n, leaving r empty. */
static void rows_move(rows_t *r, sl_group_offset **v, size_t *n)
{
	*v = r->v;
	*n = r->n;
	*r = (rows_t){0};
}

static void rows_free(rows_t *r)
{
	for (size_t i = 0; i < r->n; i++)
		offset_deinit(&r->v[i]);
	free(r->v);
}

static int describe_members(sl_admin *a, const char *group, sl_group_info *g, rows_t *rows)
{
	char what[320];
	snprintf(what, sizeof what, "describe group %s", group);
	rd_kafka_event_t *ev;
	int rc = admin_request(a, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, &group, what, &ev);
	if (rc)
		return rc;
	size_t n;
	const rd_kafka_ConsumerGroupDescription_t **gd =
	    rd_kafka_DescribeConsumerGroups_result_groups(
	        rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
	if (n < 1) {
		rc = lib_err(SL_EPROTO, "%s: empty reply", what);
		goto done;
	}
	const rd_kafka_error_t *err = rd_kafka_ConsumerGroupDescription_error(gd[0]);
	if (err && rd_kafka_error_code(err) == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
		g->state = admin_strdup("Dead");
		g->assignor = admin_strdup("");
		g->coordinator = -1;
		goto check;
	}
	if (err) {
		rc = admin_error(a, err, what);
		goto done;
	}
	g->state = admin_strdup(
	    rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(gd[0])));
	g->assignor = admin_strdup(rd_kafka_ConsumerGroupDescription_partition_assignor(gd[0]));
	const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(gd[0]);
	g->coordinator = coord ? rd_kafka_Node_id(coord) : -1;
	size_t nm = rd_kafka_ConsumerGroupDescription_member_count(gd[0]);
	g->members = calloc(nm ? nm : 1, sizeof *g->members);
	if (!g->members) {
		rc = lib_err(SL_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nm; i++) {
		const rd_kafka_MemberDescription_t *md =
		    rd_kafka_ConsumerGroupDescription_member(gd[0], i);
		sl_group_member *m = &g->members[g->member_count++];
		m->member_id = admin_strdup(rd_kafka_MemberDescription_consumer_id(md));
		m->client_id = admin_strdup(rd_kafka_MemberDescription_client_id(md));
		m->host = admin_strdup(rd_kafka_MemberDescription_host(md));
		if (!m->member_id || !m->client_id || !m->host) {
			rc = lib_err(SL_ENOMEM, "out of memory");
			goto done;
		}
		const rd_kafka_MemberAssignment_t *ma = rd_kafka_MemberDescription_assignment(md);
		const rd_kafka_topic_partition_list_t *tp =
		    ma ? rd_kafka_MemberAssignment_partitions(ma) : NULL;
		for (int j = 0; tp && j < tp->cnt; j++) {
			sl_group_offset *r =
			    rows_get(rows, tp->elems[j].topic, tp->elems[j].partition);
			if (!r || !(r->member_id = admin_strdup(m->member_id)) ||
			    !(r->client_id = admin_strdup(m->client_id)) ||
			    !(r->host = admin_strdup(m->host))) {
				rc = lib_err(SL_ENOMEM, "out of memory");
				goto done;
			}
			m->partition_count++;
		}
	}
check:
	if (!g->state || !g->assignor)
		rc = lib_err(SL_ENOMEM, "out of memory");
done:
	rd_kafka_event_destroy(ev);
	return rc;
}

/* ListConsumerGroupOffsets or AlterConsumerGroupOffsets of the one group
 * object at *req (borrowed), with the check of the group's own error. On
 * success *ev is the result event (owned by the caller) and *parts the
 * group's partitions, a view into it (NULL when there are none). */
static int offsets_request(sl_admin *a, rd_kafka_admin_op_t op, void *req, const char *what,
                           rd_kafka_event_t **ev, const rd_kafka_topic_partition_list_t **parts)
{
	int rc = admin_request(a, op, req, what, ev);
	if (rc)
		return rc;
	size_t n = 0;
	const rd_kafka_group_result_t **gr;
	if (op == RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS)
		gr = rd_kafka_ListConsumerGroupOffsets_result_groups(
		    rd_kafka_event_ListConsumerGroupOffsets_result(*ev), &n);
	else
		gr = rd_kafka_AlterConsumerGroupOffsets_result_groups(
		    rd_kafka_event_AlterConsumerGroupOffsets_result(*ev), &n);
	const rd_kafka_error_t *err = n ? rd_kafka_group_result_error(gr[0]) : NULL;
	if (n < 1)
		rc = lib_err(SL_EPROTO, "%s: empty reply", what);
	else if (err)
		rc = admin_error(a, err, what);
	if (rc) {
		rd_kafka_event_destroy(*ev);
		*ev = NULL;
		return rc;
	}
	*parts = rd_kafka_group_result_partitions(gr[0]);
	return 0;
}

static int list_offsets(sl_admin *a, const char *group, rows_t *rows)
{
	char what[320];
	snprintf(what, sizeof what, "committed offsets of %s", group);
	rd_kafka_ListConsumerGroupOffsets_t *req =
	    rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
	if (!req)
		return lib_err(SL_ENOMEM, "out of memory");
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_topic_partition_list_t *tp;
	int rc =
	    offsets_request(a, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, &req, what, &ev, &tp);
	if (rc)
		goto done;
	for (int i = 0; tp && i < tp->cnt; i++) {
		if (tp->elems[i].err || tp->elems[i].offset < 0)
			continue;
		sl_group_offset *r = rows_get(rows, tp->elems[i].topic, tp->elems[i].partition);
		if (!r) {
			rc = lib_err(SL_ENOMEM, "out of memory");
			goto done;
		}
		r->committed = tp->elems[i].offset;
	}
done:
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_ListConsumerGroupOffsets_destroy(req);
	return rc;
}

/* Log start/end and lag of every row. A partition whose topic is gone
 * keeps -1s rather than failing the whole describe. */
static int fill_lag(sl_admin *a, rows_t *rows)
{
	for (size_t i = 0; i < rows->n; i++) {
		sl_group_offset *r = &rows->v[i];
		int rc = admin_watermarks(a, r->topic, r->partition, &r->log_start, &r->log_end);
		if (rc == SL_ENOENT) {
			r->log_start = r->log_end = -1;
			continue;
		}
		if (rc)
			return rc;
		if (r->committed >= 0)
			r->lag = r->log_end - r->committed;
	}
	return 0;
}

int sl_admin_describe_group(sl_admin *a, const char *group, sl_group_info **out)
{
	*out = NULL;
	rows_t rows = {0};
	sl_group_info *g = calloc(1, sizeof *g);
	int rc = 0;
	if (!g || !(g->group = admin_strdup(group))) {
		rc = lib_err(SL_ENOMEM, "out of memory");
		goto done;
	}
	rc = describe_members(a, group, g, &rows);
	if (!rc)
		rc = list_offsets(a, group, &rows);
	if (!rc)
		rc = fill_lag(a, &rows);
	if (rc)
		goto done;
	if (rows.n)
		qsort(rows.v, rows.n, sizeof *rows.v, cmp_offset);
	rows_move(&rows, &g->offsets, &g->offset_count);
done:
	rows_free(&rows);
	if (rc)
		sl_group_info_free(g);
	else
		*out = g;
	return rc;
}

static int alter_offsets(sl_admin *a, const char *group, const rows_t *plan)
{
	char what[320];
	snprintf(what, sizeof what, "reset offsets of %s", group);
	rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new((int)plan->n);
	for (size_t i = 0; tp && i < plan->n; i++)
		rd_kafka_topic_partition_list_add(tp, plan->v[i].topic, plan->v[i].partition)
		    ->offset = plan->v[i].new_offset;
	rd_kafka_AlterConsumerGroupOffsets_t *req =
	    tp ? rd_kafka_AlterConsumerGroupOffsets_new(group, tp) : NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_topic_partition_list_t *res;
	int rc = req ? offsets_request(a, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, &req, what,
	                               &ev, &res)
	             : lib_err(SL_ENOMEM, "out of memory");
	if (rc)
		goto done;
	for (int i = 0; res && i < res->cnt; i++) {
		if (res->elems[i].err) {
			rc = admin_rdk_err(a, res->elems[i].err, NULL, what);
			goto done;
		}
	}
done:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (req)
		rd_kafka_AlterConsumerGroupOffsets_destroy(req);
	if (tp)
		rd_kafka_topic_partition_list_destroy(tp);
	return rc;
}

int sl_admin_reset_offsets(sl_admin *a, const char *group, const char *topic, int32_t partition,
                           sl_reset_to to, int64_t offset, bool execute, sl_offset_list **out)
{
	if (out)
		*out = NULL;
	sl_group_info *g = NULL;
	const struct rd_kafka_metadata *md = NULL;
	rows_t plan = {0};
	int rc = sl_admin_describe_group(a, group, &g);
	if (rc)
		return rc;
	if (execute && strcmp(g->state, "Empty") && strcmp(g->state, "Dead")) {
		rc = lib_err(SL_ESTATE,
		             "assignments can only be reset if the group '%s' is inactive, but the "
		             "current state is %s",
		             group, g->state);
		goto done;
	}
	rc = admin_metadata(a, &md);
	if (rc)
		goto done;
	const rd_kafka_metadata_topic_t *mt = admin_md_topic(md, topic);
	if (!mt) {
		rc = lib_err(SL_ENOENT, "topic '%s' does not exist", topic);
		goto done;
	}
	for (int i = 0; i < mt->partition_cnt; i++) {
		int32_t p = mt->partitions[i].id;
		if (partition >= 0 && p != partition)
			continue;
		sl_group_offset *r = rows_get(&plan, topic, p);
		if (!r) {
			rc = lib_err(SL_ENOMEM, "out of memory");
			goto done;
		}
		for (size_t j = 0; j < g->offset_count; j++)
			if (g->offsets[j].partition == p && !strcmp(g->offsets[j].topic, topic))
				r->committed = g->offsets[j].committed;
		rc = admin_watermarks(a, topic, p, &r->log_start, &r->log_end);
		if (rc)
			goto done;
		if (to == SL_RESET_EARLIEST)
			r->new_offset = r->log_start;
		else if (to == SL_RESET_LATEST)
			r->new_offset = r->log_end;
		else /* Kafka clamps an out-of-range target to the nearest end. */
			r->new_offset = offset < r->log_start ? r->log_start
			                : offset > r->log_end ? r->log_end
			                                      : offset;
		if (r->committed >= 0)
			r->lag = r->log_end - r->committed;
	}
	if (!plan.n) {
		rc = lib_err(SL_ENOENT, "partition %d of topic '%s' does not exist", partition,
		             topic);
		goto done;
	}
	qsort(plan.v, plan.n, sizeof *plan.v, cmp_offset);
	if (execute)
		rc = alter_offsets(a, group, &plan);
	if (!rc && out) {
		*out = calloc(1, sizeof **out);
		if (!*out) {
			rc = lib_err(SL_ENOMEM, "out of memory");
			goto done;
		}
		rows_move(&plan, &(*out)->offsets, &(*out)->count);
	}
done:
	rows_free(&plan);
	if (md)
		rd_kafka_metadata_destroy(md);
	sl_group_info_free(g);
	return rc;
}

int sl_admin_delete_group(sl_admin *a, const char *group)
{
	char what[320];
	snprintf(what, sizeof what, "delete group %s", group);
	rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new(group);
	if (!dg)
		return lib_err(SL_ENOMEM, "out of memory");
	rd_kafka_event_t *ev;
	int rc = admin_request(a, RD_KAFKA_ADMIN_OP_DELETEGROUPS, &dg, what, &ev);
	rd_kafka_DeleteGroup_destroy(dg);
	if (rc)
		return rc;
	size_t n;
	const rd_kafka_group_result_t **gr =
	    rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
	/* The two errors a user can act on get their own words. */
	const rd_kafka_error_t *err = n ? rd_kafka_group_result_error(gr[0]) : NULL;
	rd_kafka_resp_err_t code = err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR_NO_ERROR;
	if (n < 1)
		rc = lib_err(SL_EPROTO, "%s: empty reply", what);
	else if (code == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND)
		rc = lib_err(SL_ENOENT, "group '%s' does not exist", group);
	else if (code == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
		rc = lib_err(SL_ESTATE, "group '%s' is not empty", group);
	else if (err)
		rc = admin_error(a, err, what);
	rd_kafka_event_destroy(ev);
	return rc;
}
