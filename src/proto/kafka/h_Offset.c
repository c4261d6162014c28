/*
 * h_Offset.c — committed offsets: OffsetCommit (key 8, v0–9), OffsetFetch
 * (key 9, v0–9; v8+ asks for several groups at once) and OffsetDelete
 * (key 47, v0).
 *
 * OffsetCommit: partitions of topics that do not exist are refused with
 * UNKNOWN_TOPIC_OR_PARTITION, as Kafka does; the rest go to the
 * coordinator, which journals them (a full disk: NOT_COORDINATOR for the
 * partition at once). Every reply goes through the coordinator's
 * durability domain (kdur.c): under fsync=always it leaves once the
 * journal is synced, and if that sync fails every accepted partition is
 * reported as NOT_COORDINATOR (Kafka's code for a storage failure on
 * commit), so the client finds the coordinator again and retries. An
 * OffsetFetch reply waits the same way, so it never shows an offset that
 * is not on disk; should the domain fail first, its ErrorCode fields say
 * NOT_COORDINATOR.
 *
 * OffsetFetch answers -1 with empty metadata for a partition without a
 * commit, and with a null topic list every committed offset of the group.
 * With RequireStable (v7+, KIP-447) a partition for which an open
 * transaction holds a TxnOffsetCommit offset answers UNSTABLE_OFFSET_COMMIT
 * until the transaction ends (txn_pending_offset).
 * Requests are validated in a first pass so a malformed request never
 * leaves half a reply behind. Loop thread only.
 */
#include "broker/group.h"
#include "broker/topic.h"
#include "proto/kafka/kafka.h"

#include <stdlib.h>
#include <string.h>

static grp_str_t gs(kstr_t k)
{
	grp_str_t s = {k.p, k.len};
	return s;
}

/* --- OffsetCommit --------------------------------------------------------------------- */

typedef struct ctopic {
	kstr_t name;
	size_t first, n; /* its partitions in the parts array */
} ctopic_t;

/* Writes the reply; the accepted partitions' error codes are the ones a
 * failed sync rewrites. */
static void commit_reply(const kreq_t *rq, kdur_t *k, const ctopic_t *topics, int32_t nt,
                         const grp_commit_part_t *parts)
{
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	buf_t *b = k->b;
	size_t mark = kafka_reply_begin(rq, b);
	if (v >= 3)
		kw_i32(b, 0);
	kw_arr(b, flex, nt);
	for (int32_t t = 0; t < nt; t++) {
		kw_kstr(b, flex, topics[t].name);
		kw_arr(b, flex, (int32_t)topics[t].n);
		for (size_t i = topics[t].first; i < topics[t].first + topics[t].n; i++) {
			kw_i32(b, parts[i].partition);
			if (parts[i].err == GRP_ERR_OK)
				kdur_err(k, KERR_NONE);
			else
				kw_i16(b, kafka_err_from_grp(parts[i].err));
			kw_tags(b, flex);
		}
		kw_tags(b, flex);
	}
	kw_tags(b, flex);
	kafka_reply_end(b, mark);
}

int kafka_h_OffsetCommit(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	grp_commit_req_t req;
	req.group_id = gs(kr_str(r, flex));
	req.generation = v >= 1 ? kr_i32(r) : -1;
	req.member_id = v >= 1 ? gs(kr_str(r, flex)) : grp_s("");
	req.instance_id = v >= 7 ? gs(kr_str(r, flex)) : GRP_NULL;
	req.retention_ms = v >= 2 && v <= 4 ? kr_i64(r) : -1;
	int32_t nt = kr_arr(r, flex, flex ? 3 : 6);
	if (r->err || nt < 0 || req.group_id.len < 0 || req.member_id.len < 0)
		return SL_EPROTO;
	ctopic_t *topics = calloc((size_t)nt + 1, sizeof *topics);
	size_t cap = 16, np = 0;
	grp_commit_part_t *parts = malloc(cap * sizeof *parts);
	if (!topics || !parts)
		abort();
	for (int32_t t = 0; t < nt && !r->err; t++) {
		topics[t].name = kr_str(r, flex);
		int32_t n = kr_arr(r, flex, 13);
		if (r->err || n < 0 || topics[t].name.len < 0) {
			rd_fail(r);
			break;
		}
		topic_t *tp =
		    topics_find(rq->srv->topics, topics[t].name.p, (size_t)topics[t].name.len);
		topics[t].first = np;
		topics[t].n = (size_t)n;
		for (int32_t i = 0; i < n; i++) {
			if (np == cap) {
				cap *= 2;
				parts = realloc(parts, cap * sizeof *parts);
				if (!parts)
					abort();
			}
			grp_commit_part_t *p = &parts[np++];
			p->topic = gs(topics[t].name);
			p->partition = kr_i32(r);
			p->offset = kr_i64(r);
			p->leader_epoch = v >= 6 ? kr_i32(r) : -1;
			if (v == 1)
				(void)kr_i64(r); /* CommitTimestamp: ignored since Kafka 2.1 */
			p->metadata = gs(kr_str(r, flex));
			kr_tags(r, flex);
			p->err = kafka_authz_offsets(rq, req.group_id.p, req.group_id.len,
			                             topics[t].name, ACL_OP_READ);
			if (!p->err)
				p->err = tp && p->partition >= 0 && p->partition < tp->npart
				             ? GRP_ERR_OK
				             : GRP_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		}
		kr_tags(r, flex);
	}
	kr_tags(r, flex);
	if (r->err) {
		free(topics);
		free(parts);
		return SL_EPROTO;
	}
	grp_offset_commit(rq->srv->groups, &req, parts, np);
	dur_t *d = grp_coord_dur(rq->srv->groups);
	kdur_t k;
	kdur_begin(&k, rq, d);
	commit_reply(rq, &k, topics, nt, parts);
	kdur_end(&k, d, KERR_NOT_COORDINATOR);
	free(topics);
	free(parts);
	return 0;
}

/* --- OffsetFetch ------------------------------------------------------------------------- */

/* UNSTABLE_OFFSET_COMMIT: OffsetFetch's only use of it (KIP-447). */
enum { KERR_UNSTABLE_OFFSET_COMMIT = 88 };

/* One OffsetFetch being written. */
typedef struct ofetch {
	const kreq_t *rq;
	kdur_t *k; /* NULL in the validating pass */
	int16_t v;
	int flex;
	grp_coord_t *gc;
	/* RequireStable (v7+): the coordinator whose open transactions make
	 * a partition unstable; NULL when not asked. */
	const txn_coord_t *stable;
} ofetch_t;

/* deny: the ACL check's error for this partition (authz.c), or 0. A
 * partition an open transaction holds an offset for answers, when the
 * client asked for stable offsets, UNSTABLE_OFFSET_COMMIT with offset -1
 * and empty metadata, as Kafka's GroupMetadataManager.getOffsets: the
 * client retries until the transaction ended, so a consumer taking over
 * the partition starts from the offset the transaction commits, not from
 * the one before it. */
static void write_partition(const ofetch_t *f, grp_str_t group, grp_str_t topic, int32_t partition,
                            int16_t deny)
{
	buf_t *b = f->k->b;
	int unstable =
	    !deny && f->stable &&
	    txn_pending_offset(f->stable, group.p, group.len, topic.p, topic.len, partition);
	grp_offset_t o;
	int found = !deny && !unstable && grp_offset_get(f->gc, group, topic, partition, &o) == 0;
	kw_i32(b, partition);
	kw_i64(b, found ? o.offset : -1);
	if (f->v >= 5)
		kw_i32(b, found ? o.leader_epoch : -1);
	if (found)
		kw_strn(b, f->flex, o.metadata.p, o.metadata.len);
	else
		kw_str(b, f->flex, "");
	if (deny)
		kw_i16(b, deny);
	else
		kdur_err(f->k, unstable ? KERR_UNSTABLE_OFFSET_COMMIT : KERR_NONE);
	kw_tags(b, f->flex);
}

/* Every committed offset of the group, grouped by topic; topics the
 * principal may not Describe are left out, as Kafka does. A partition
 * with only a pending transactional offset is not listed (Kafka lists
 * the group's committed offsets only). */
static void write_all(const ofetch_t *f, grp_str_t group)
{
	buf_t *b = f->k->b;
	const kreq_t *rq = f->rq;
	size_t n;
	grp_offset_t *all = grp_offsets_all(f->gc, group, &n);
	int32_t nt = 0;
	for (size_t i = 0; i < n; i++)
		nt += (i == 0 || !grp_str_eq(all[i].topic, all[i - 1].topic)) &&
		      !kafka_authz_offsets(rq, group.p, group.len,
		                           (kstr_t){all[i].topic.p, all[i].topic.len},
		                           ACL_OP_DESCRIBE);
	kw_arr(b, f->flex, nt);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && grp_str_eq(all[j].topic, all[i].topic))
			j++;
		if (kafka_authz_offsets(rq, group.p, group.len,
		                        (kstr_t){all[i].topic.p, all[i].topic.len},
		                        ACL_OP_DESCRIBE)) {
			i = j;
			continue;
		}
		kw_strn(b, f->flex, all[i].topic.p, all[i].topic.len);
		kw_arr(b, f->flex, (int32_t)(j - i));
		for (size_t x = i; x < j; x++)
			write_partition(f, group, all[x].topic, all[x].partition, 0);
		kw_tags(b, f->flex);
		i = j;
	}
	free(all);
}

/* Reads a topic list ([]{Name, PartitionIndexes []int32}) and, when f->k
 * is set, writes the group's offsets for it. Returns the topic count (-1:
 * null) or SL_EPROTO. */
static int32_t fetch_topics(const ofetch_t *f, rd_t *r, grp_str_t group, int nullable)
{
	int flex = f->flex;
	buf_t *b = f->k ? f->k->b : NULL;
	int32_t nt = kr_arr(r, flex, flex ? 2 : 6);
	if (r->err || (nt < 0 && !nullable))
		return SL_EPROTO;
	if (nt < 0) {
		if (b)
			write_all(f, group);
		return -1;
	}
	if (b)
		kw_arr(b, flex, nt);
	for (int32_t t = 0; t < nt; t++) {
		kstr_t name = kr_str(r, flex);
		int32_t np = kr_arr(r, flex, 4);
		if (r->err || np < 0 || name.len < 0)
			return SL_EPROTO;
		if (b) {
			kw_kstr(b, flex, name);
			kw_arr(b, flex, np);
		}
		int deny =
		    b ? kafka_authz_offsets(f->rq, group.p, group.len, name, ACL_OP_DESCRIBE) : 0;
		for (int32_t i = 0; i < np; i++) {
			int32_t p = kr_i32(r);
			if (b)
				write_partition(f, group, gs(name), p, kafka_err_from_grp(deny));
		}
		kr_tags(r, flex);
		if (b)
			kw_tags(b, flex);
	}
	return r->err ? SL_EPROTO : nt;
}

int kafka_h_OffsetFetch(kreq_t *rq)
{
	int16_t v = rq->h.ApiVersion;
	int flex = rq->flex;
	grp_coord_t *gc = rq->srv->groups;
	dur_t *d = grp_coord_dur(gc);
	kdur_t k;
	int require_stable = 0;
	/* Pass 1 validates and finds RequireStable (the last field); pass 2
	 * (same bytes) writes. */
	for (int pass = 0; pass < 2; pass++) {
		rd_t r = rq->r;
		ofetch_t f = {rq, NULL, v, flex, gc, NULL};
		buf_t *b = NULL;
		size_t mark = 0;
		if (pass == 1) {
			kdur_begin(&k, rq, d);
			f.k = &k;
			b = k.b;
			mark = kafka_reply_begin(rq, b);
			if (v >= 3)
				kw_i32(b, 0);
			if (require_stable && rq->srv->b)
				f.stable = rq->srv->b->txns;
		}
		if (v <= 7) {
			grp_str_t group = gs(kr_str(&r, flex));
			if (r.err || group.len < 0)
				return SL_EPROTO;
			if (fetch_topics(&f, &r, group, v >= 2) == SL_EPROTO)
				return SL_EPROTO;
			if (b && v >= 2)
				kdur_err(&k, kafka_err_from_grp(kafka_authz_grp(
				                 rq, group.p, group.len, ACL_OP_READ)));
		} else {
			int32_t ng = kr_arr(&r, flex, 3);
			if (r.err || ng < 0)
				return SL_EPROTO;
			if (b)
				kw_arr(b, flex, ng);
			for (int32_t g = 0; g < ng; g++) {
				grp_str_t group = gs(kr_str(&r, flex));
				if (v >= 9) {
					(void)kr_str(&r, flex); /* MemberId (KIP-848) */
					(void)kr_i32(&r);       /* MemberEpoch */
				}
				if (r.err || group.len < 0)
					return SL_EPROTO;
				if (b)
					kw_strn(b, flex, group.p, group.len);
				if (fetch_topics(&f, &r, group, 1) == SL_EPROTO)
					return SL_EPROTO;
				kr_tags(&r, flex);
				/* The group's ErrorCode: an unstable partition is a
				 * partition error only, as Kafka's v8+. */
				if (b) {
					kdur_err(&k, kafka_err_from_grp(kafka_authz_grp(
					                 rq, group.p, group.len, ACL_OP_READ)));
					kw_tags(b, flex);
				}
			}
		}
		if (v >= 7)
			require_stable = kr_i8(&r) != 0;
		kr_tags(&r, flex);
		if (r.err)
			return SL_EPROTO;
		if (b) {
			kw_tags(b, flex);
			kafka_reply_end(b, mark);
			kdur_end(&k, d, KERR_NOT_COORDINATOR);
		}
	}
	return 0;
}

/* --- OffsetDelete ------------------------------------------------------------------------ */

int kafka_h_OffsetDelete(kreq_t *rq)
{
	rd_t *r = &rq->r;
	grp_str_t group = gs(kr_str(r, 0));
	int32_t nt = kr_arr(r, 0, 6);
	if (r->err || nt < 0 || group.len < 0)
		return SL_EPROTO;
	kstr_t *names = calloc((size_t)nt + 1, sizeof *names);
	int32_t *counts = calloc((size_t)nt + 1, sizeof *counts);
	size_t cap = 16, np = 0;
	grp_tp_t *tps = malloc(cap * sizeof *tps);
	if (!names || !counts || !tps)
		abort();
	for (int32_t t = 0; t < nt && !r->err; t++) {
		names[t] = kr_str(r, 0);
		counts[t] = kr_arr(r, 0, 4);
		if (r->err || counts[t] < 0 || names[t].len < 0) {
			rd_fail(r);
			break;
		}
		for (int32_t i = 0; i < counts[t]; i++) {
			if (np == cap) {
				cap *= 2;
				tps = realloc(tps, cap * sizeof *tps);
				if (!tps)
					abort();
			}
			tps[np].topic = gs(names[t]);
			tps[np].partition = kr_i32(r);
			tps[np].err = GRP_ERR_OK;
			np++;
		}
	}
	if (r->err) {
		free(names);
		free(counts);
		free(tps);
		return SL_EPROTO;
	}
	grp_err_t top = kafka_offset_delete_authorized(rq, group.p, group.len, tps, np);
	dur_t *d = grp_coord_dur(rq->srv->groups);
	kdur_t kd;
	kdur_begin(&kd, rq, d);
	buf_t *b = kd.b;
	size_t mark = kafka_reply_begin(rq, b);
	kdur_err(&kd, kafka_err_from_grp(top));
	kw_i32(b, 0);
	kw_arr(b, 0, top == GRP_ERR_OK ? nt : 0);
	size_t k = 0;
	for (int32_t t = 0; top == GRP_ERR_OK && t < nt; t++) {
		kw_kstr(b, 0, names[t]);
		kw_arr(b, 0, counts[t]);
		for (int32_t i = 0; i < counts[t]; i++, k++) {
			kw_i32(b, tps[k].partition);
			kw_i16(b, kafka_err_from_grp(tps[k].err));
		}
	}
	kafka_reply_end(b, mark);
	kdur_end(&kd, d, KERR_NOT_COORDINATOR);
	free(names);
	free(counts);
	free(tps);
	return 0;
}
