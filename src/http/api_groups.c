/*
 * api_groups.c — the admin API's Kafka consumer groups: list with lag,
 * describe (members, their assignments, committed offsets and lag per
 * partition), reset offsets, delete (docs/http-api.md).
 *
 * Actions are the coordinator's own calls: a reset is an OffsetCommit of
 * a simple consumer (generation -1, no member), as
 * kafka-consumer-groups.sh --reset-offsets makes it, and like that tool it
 * is refused while the group has members (they would overwrite it with
 * their next commit). Deleting is DeleteGroups. Both replies go through
 * the coordinator's durability domain: under fsync=always they leave once
 * the change is on disk, and a change that could not be made durable is a
 * 503.
 * Loop thread only.
 */
#include "http/http.h"

#include "broker/group.h"
#include "broker/topic.h"
#include "core/err.h"
#include "core/rd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static grp_coord_t *coord(http_req_t *r)
{
	grp_coord_t *gc = r->h->b->groups;
	if (!gc)
		http_error(r, 503, "the consumer groups are not open");
	return gc;
}

/* The high watermark of topic/partition, or -1 when it does not exist. */
static int64_t hw_of(const broker_t *b, grp_str_t topic, int32_t partition)
{
	topic_t *t = b->topics ? topics_find(b->topics, topic.p, (size_t)topic.len) : NULL;
	if (!t || partition < 0 || partition >= t->npart)
		return -1;
	return plog_hw(t->parts[partition]->log);
}

static void strv(buf_t *b, grp_str_t s)
{
	if (s.len < 0)
		buf_puts(b, "null");
	else
		json_strn(b, s.p ? s.p : "", (size_t)s.len);
}

void api_groups_list(http_req_t *r)
{
	grp_coord_t *gc = coord(r);
	if (!gc)
		return;
	size_t n;
	grp_listing_t *gl = grp_list(gc, &n);
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"groups\":[");
	for (size_t i = 0; i < n; i++) {
		grp_desc_t d;
		size_t members = 0;
		if (grp_describe(gc, gl[i].group_id, &d) == GRP_ERR_OK) {
			members = d.nmembers;
			grp_desc_free(&d);
		}
		size_t no;
		grp_offset_t *o = grp_offsets_all(gc, gl[i].group_id, &no);
		int64_t lag = 0;
		for (size_t k = 0; k < no; k++) {
			int64_t hw = hw_of(r->h->b, o[k].topic, o[k].partition);
			lag += hw > o[k].offset ? hw - o[k].offset : 0;
		}
		free(o);
		buf_puts(&b, i ? ",{\"group\":" : "{\"group\":");
		strv(&b, gl[i].group_id);
		buf_puts(&b, ",\"protocol_type\":");
		strv(&b, gl[i].protocol_type);
		buf_printf(&b, ",\"state\":\"%s\",\"members\":%zu,\"partitions\":%zu,\"lag\":%lld}",
		           grp_state_name(gl[i].state), members, no, (long long)lag);
	}
	buf_puts(&b, "]}\n");
	free(gl);
	http_json(r, 200, &b);
	buf_deinit(&b);
}

/* A "consumer" member's assignment (ConsumerProtocolAssignment: version,
 * [topic, [partition]], user data) as [{"topic":…,"partitions":[…]}];
 * null when it does not parse. */
static void assignment(buf_t *b, grp_str_t a)
{
	if (a.len < 2) {
		buf_puts(b, "[]");
		return;
	}
	rd_t r;
	rd_init(&r, (const uint8_t *)a.p, (size_t)a.len);
	(void)rd_be16(&r);
	int32_t nt = (int32_t)rd_be32(&r);
	size_t mark = buf_len(b);
	buf_puts(b, "[");
	for (int32_t i = 0; !r.err && i < nt && i < 100000; i++) {
		int16_t tl = (int16_t)rd_be16(&r);
		const uint8_t *tp = rd_bytes(&r, tl < 0 ? 0 : (size_t)tl);
		int32_t np = (int32_t)rd_be32(&r);
		if (r.err || tl < 0 || np < 0)
			break;
		buf_puts(b, i ? ",{\"topic\":" : "{\"topic\":");
		json_strn(b, (const char *)tp, (size_t)tl);
		buf_puts(b, ",\"partitions\":[");
		for (int32_t k = 0; k < np && !r.err; k++)
			buf_printf(b, "%s%d", k ? "," : "", (int)(int32_t)rd_be32(&r));
		buf_puts(b, "]}");
	}
	if (r.err) {
		b->end = b->start + mark;
		buf_puts(b, "null");
		return;
	}
	buf_puts(b, "]");
}

void api_group_get(http_req_t *r)
{
	grp_coord_t *gc = coord(r);
	if (!gc)
		return;
	grp_str_t id = grp_s(r->seg[3]);
	grp_desc_t d;
	size_t no = 0;
	grp_offset_t *o = NULL;
	if (grp_describe(gc, id, &d) != GRP_ERR_OK) {
		http_error(r, 400, "invalid group id");
		return;
	}
	o = grp_offsets_all(gc, id, &no);
	if (d.state == GRP_DEAD && no == 0) {
		grp_desc_free(&d);
		free(o);
		http_error(r, 404, "no group %s", r->seg[3]);
		return;
	}
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"group\":");
	json_str(&b, r->seg[3]);
	buf_printf(&b, ",\"state\":\"%s\",\"protocol_type\":", grp_state_name(d.state));
	strv(&b, d.protocol_type);
	buf_puts(&b, ",\"protocol\":");
	strv(&b, d.protocol_name);
	buf_printf(&b, ",\"generation\":%d,\"leader\":", (int)d.generation);
	strv(&b, d.leader_id);
	buf_puts(&b, ",\"members\":[");
	int consumer = d.protocol_type.len == 8 && !memcmp(d.protocol_type.p, "consumer", 8);
	for (size_t i = 0; i < d.nmembers; i++) {
		const grp_member_desc_t *m = &d.members[i];
		buf_puts(&b, i ? ",{\"member_id\":" : "{\"member_id\":");
		strv(&b, m->member_id);
		buf_puts(&b, ",\"instance_id\":");
		strv(&b, m->instance_id);
		buf_puts(&b, ",\"client_id\":");
		strv(&b, m->client_id);
		buf_puts(&b, ",\"client_host\":");
		strv(&b, m->client_host);
		buf_puts(&b, ",\"assignment\":");
		if (consumer)
			assignment(&b, m->assignment);
		else
			buf_puts(&b, "null");
		buf_puts(&b, "}");
	}
	buf_puts(&b, "],\"offsets\":[");
	int64_t total = 0;
	for (size_t k = 0; k < no; k++) {
		int64_t hw = hw_of(r->h->b, o[k].topic, o[k].partition);
		int64_t lag = hw < 0 ? -1 : hw > o[k].offset ? hw - o[k].offset : 0;
		total += lag > 0 ? lag : 0;
		buf_puts(&b, k ? ",{\"topic\":" : "{\"topic\":");
		strv(&b, o[k].topic);
		buf_printf(&b,
		           ",\"partition\":%d,\"offset\":%lld,\"high_watermark\":%lld,\"lag\":%lld,"
		           "\"commit_ts\":%lld,\"metadata\":",
		           (int)o[k].partition, (long long)o[k].offset, (long long)hw,
		           (long long)lag, (long long)o[k].commit_ts);
		strv(&b, o[k].metadata);
		buf_puts(&b, "}");
	}
	buf_printf(&b, "],\"lag\":%lld}\n", (long long)total);
	grp_desc_free(&d);
	free(o);
	http_json(r, 200, &b);
	buf_deinit(&b);
}

static int status_of_grp(grp_err_t e)
{
	switch (e) {
	case GRP_ERR_OK:
		return 200;
	case GRP_ERR_GROUP_ID_NOT_FOUND:
	case GRP_ERR_UNKNOWN_TOPIC_OR_PARTITION:
		return 404;
	case GRP_ERR_NON_EMPTY_GROUP:
	case GRP_ERR_REBALANCE_IN_PROGRESS:
	case GRP_ERR_UNKNOWN_MEMBER_ID:
	case GRP_ERR_ILLEGAL_GENERATION:
		return 409;
	case GRP_ERR_STORAGE_ERROR:
	case GRP_ERR_COORDINATOR_NOT_AVAILABLE:
		return 503;
	default:
		return 400;
	}
}

void api_group_delete(http_req_t *r)
{
	grp_coord_t *gc = coord(r);
	if (!gc)
		return;
	grp_err_t e = grp_delete(gc, grp_s(r->seg[3]));
	if (e != GRP_ERR_OK) {
		http_error(r, status_of_grp(e), "cannot delete group %s: %s", r->seg[3],
		           grp_err_name(e));
		return;
	}
	log_info(r->h->b->log, "http: %s deleted consumer group %s", r->c->peer, r->seg[3]);
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"deleted\":");
	json_str(&b, r->seg[3]);
	buf_puts(&b, "}\n");
	http_json_durable(r, grp_coord_dur(gc), 0, 200, &b);
	buf_deinit(&b);
}

/* POST /api/v1/groups/G/reset {"topic":T, "partitions":[..] (default all),
 * "to":"earliest"|"latest"|"offset"|"timestamp", "offset":N,
 * "timestamp":MS} */
void api_group_reset(http_req_t *r)
{
	grp_coord_t *gc = coord(r);
	if (!gc)
		return;
	jv_t *body = api_body(r);
	if (!body)
		return;
	grp_commit_part_t *parts = NULL;
	const char *tname = NULL, *to = NULL;
	size_t tl = 0;
	int64_t want = -1;
	topic_t *t = NULL;
	grp_str_t id = grp_s(r->seg[3]);
	if (json_get_str(body, "topic", &tname, &tl) != 1 ||
	    !(t = topics_find(r->h->b->topics, tname, tl))) {
		http_error(r, tname ? 404 : 400, tname ? "no topic %s" : "topic is required",
		           tname ? tname : "");
		goto out;
	}
	if (json_get_str(body, "to", &to, NULL) != 1 ||
	    (strcmp(to, "earliest") && strcmp(to, "latest") && strcmp(to, "offset") &&
	     strcmp(to, "timestamp"))) {
		http_error(r, 400, "to must be earliest, latest, offset or timestamp");
		goto out;
	}
	if ((!strcmp(to, "offset") && json_get_int(body, "offset", &want) != 1) ||
	    (!strcmp(to, "timestamp") && json_get_int(body, "timestamp", &want) != 1) ||
	    want < -1) {
		http_error(r, 400, "%s: an integer %s is required", to, to);
		goto out;
	}
	grp_desc_t d;
	if (grp_describe(gc, id, &d) != GRP_ERR_OK) {
		http_error(r, 400, "invalid group id");
		goto out;
	}
	size_t members = d.nmembers;
	grp_desc_free(&d);
	if (members) {
		http_error(r, 409,
		           "group %s has %zu active members: stop its consumers before resetting "
		           "its offsets",
		           r->seg[3], members);
		goto out;
	}
	const jv_t *pl = json_get(body, "partitions");
	size_t n = pl && pl->t == JV_ARR ? pl->n : (size_t)t->npart;
	if (pl && pl->t != JV_ARR && pl->t != JV_NULL) {
		http_error(r, 400, "partitions must be an array of partition numbers");
		goto out;
	}
	parts = calloc(n ? n : 1, sizeof *parts);
	if (!parts)
		abort();
	for (size_t i = 0; i < n; i++) {
		int64_t pi = (int64_t)i;
		if (pl && pl->t == JV_ARR) {
			if (pl->v[i]->t != JV_NUM || !pl->v[i]->is_int) {
				http_error(r, 400, "partitions must be integers");
				goto out;
			}
			pi = pl->v[i]->i;
		}
		if (pi < 0 || pi >= t->npart) {
			http_error(r, 404, "topic %s has no partition %lld", t->name,
			           (long long)pi);
			goto out;
		}
		plog_t *log = t->parts[pi]->log;
		int64_t start = plog_start_offset(log), hw = plog_hw(log), off;
		if (!strcmp(to, "earliest"))
			off = start;
		else if (!strcmp(to, "latest"))
			off = hw;
		else if (!strcmp(to, "offset"))
			off = want < start ? start : want > hw ? hw : want;
		else
			off = http_offset_for_time(log, want);
		parts[i].topic = grp_s(t->name);
		parts[i].partition = (int32_t)pi;
		parts[i].offset = off;
		parts[i].leader_epoch = -1;
		parts[i].metadata = grp_s("");
		parts[i].err = GRP_ERR_OK;
	}
	grp_commit_req_t req = {.group_id = id,
	                        .member_id = grp_s(""),
	                        .instance_id = GRP_NULL,
	                        .generation = -1,
	                        .retention_ms = -1};
	grp_offset_commit(gc, &req, parts, n);
	for (size_t i = 0; i < n; i++)
		if (parts[i].err != GRP_ERR_OK) {
			http_error(r, status_of_grp(parts[i].err), "cannot commit %s/%d: %s",
			           t->name, (int)parts[i].partition, grp_err_name(parts[i].err));
			goto out;
		}
	log_info(r->h->b->log, "http: %s reset offsets of group %s on %s to %s", r->c->peer,
	         r->seg[3], t->name, to);
	buf_t b = BUF_INIT;
	buf_puts(&b, "{\"group\":");
	json_str(&b, r->seg[3]);
	buf_puts(&b, ",\"offsets\":[");
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, i ? ",{\"topic\":" : "{\"topic\":");
		json_str(&b, t->name);
		buf_printf(&b, ",\"partition\":%d,\"offset\":%lld}", (int)parts[i].partition,
		           (long long)parts[i].offset);
	}
	buf_puts(&b, "]}\n");
	http_json_durable(r, grp_coord_dur(gc), 0, 200, &b);
	buf_deinit(&b);
out:
	free(parts);
	json_free(body);
}
