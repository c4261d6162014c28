/*
 * test_group_wire.c — the consumer-group APIs on the wire, through the real
 * Kafka front over an in-memory connection (tests/unit/net/memconn.h):
 * encodings of old and flexible versions, long-poll JoinGroup/SyncGroup
 * replies parked in conn holds with pipelined requests answered in order,
 * offsets round trips, admin APIs, and malformed requests.
 */
#include "test.h"

#include "broker/broker.h"
#include "broker/topic.h"
#include "core/config.h"
#include "core/rd.h"
#include "net/memconn.h"
#include "proto/front.h"
#include "proto/kafka/kafka.h"
#include "store/syncer.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

typedef struct wfx {
	sl_config_t cfg;
	log_t log;
	broker_t b;
	void *srv;
	memconn_t *m;
} wfx_t;

static void wfx_init(wfx_t *f)
{
	memset(f, 0, sizeof *f);
	config_init(&f->cfg);
	char err[128];
	CHECK_EQ(config_set(&f->cfg, "data.dir", "data", err, sizeof err), 0);
	CHECK_EQ(config_set(&f->cfg, "group.initial.rebalance.delay.ms", "0", err, sizeof err), 0);
	CHECK_EQ(config_set(&f->cfg, "group.min.session.timeout.ms", "10", err, sizeof err), 0);
	log_init(&f->log, LOG_WARN, 2);
	CHECK(mkdir("data", 0755) == 0 || errno == EEXIST); /* main.c does this in the server */
	f->b.cfg = &f->cfg;
	f->b.log = &f->log;
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, &f->log);
	f->b.data_dir = "data";
	CHECK_EQ(broker_open(&f->b), 0);
	CHECK_EQ(kafka_front.start(&f->b, &f->srv), 0);
	f->m = memconn_new(f->b.loop, kafka_front.proto, f->srv, NULL);
	CHECK(f->m);
}

static void wfx_deinit(wfx_t *f)
{
	if (f->m)
		memconn_free(f->m);
	kafka_front.stop(f->srv);
	broker_close(&f->b);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

/* --- request building --------------------------------------------------------- */

typedef struct req {
	buf_t b;
	int flex;
} req_t;

static void req_begin(req_t *q, int16_t key, int16_t ver, int32_t corr, int flex)
{
	buf_init(&q->b);
	q->flex = flex;
	buf_put_be32(&q->b, 0);
	buf_put_be16(&q->b, (uint16_t)key);
	buf_put_be16(&q->b, (uint16_t)ver);
	buf_put_be32(&q->b, (uint32_t)corr);
	buf_put_be16(&q->b, 4);
	buf_puts(&q->b, "test");
	if (flex)
		buf_put_u8(&q->b, 0);
}

static void q_i8(req_t *q, int8_t v)
{
	buf_put_u8(&q->b, (uint8_t)v);
}
static void q_i32(req_t *q, int32_t v)
{
	buf_put_be32(&q->b, (uint32_t)v);
}
static void q_i64(req_t *q, int64_t v)
{
	buf_put_be64(&q->b, (uint64_t)v);
}
static void q_strn(req_t *q, const char *s, int32_t n)
{
	if (q->flex) {
		buf_put_uvarint(&q->b, n < 0 ? 0 : (uint64_t)n + 1);
	} else {
		buf_put_be16(&q->b, (uint16_t)(n < 0 ? -1 : n));
	}
	if (n > 0)
		buf_append(&q->b, s, (size_t)n);
}
static void q_str(req_t *q, const char *s)
{
	q_strn(q, s, s ? (int32_t)strlen(s) : -1);
}
static void q_bytes(req_t *q, const char *s, int32_t n)
{
	if (q->flex)
		buf_put_uvarint(&q->b, (uint64_t)n + 1);
	else
		buf_put_be32(&q->b, (uint32_t)n);
	buf_append(&q->b, s, (size_t)n);
}
static void q_arr(req_t *q, int32_t n)
{
	if (q->flex)
		buf_put_uvarint(&q->b, n < 0 ? 0 : (uint64_t)n + 1);
	else
		buf_put_be32(&q->b, (uint32_t)n);
}
static void q_tags(req_t *q)
{
	if (q->flex)
		buf_put_u8(&q->b, 0);
}

static void req_send(wfx_t *f, req_t *q)
{
	be32_store(buf_data(&q->b), (uint32_t)(buf_len(&q->b) - 4));
	memconn_send(f->m, buf_data(&q->b), buf_len(&q->b));
	buf_deinit(&q->b);
}

/* --- response reading ------------------------------------------------------------ */

typedef struct resp {
	buf_t raw;
	rd_t r;
	int flex;
	int32_t corr;
} resp_t;

/* Waits for one whole response frame; returns 0 or SL_EAGAIN. */
static int resp_next(wfx_t *f, buf_t *in, resp_t *rs, int flex_hdr, int timeout_ms)
{
	while (buf_len(in) < 4 || buf_len(in) < 4 + be32_load(buf_data(in))) {
		size_t need =
		    buf_len(in) < 4 ? 4 - buf_len(in) : 4 + be32_load(buf_data(in)) - buf_len(in);
		if (memconn_recv_wait(f->m, in, need, timeout_ms))
			return SL_EAGAIN;
	}
	size_t n = be32_load(buf_data(in));
	buf_init(&rs->raw);
	buf_append(&rs->raw, buf_data(in) + 4, n);
	buf_consume(in, 4 + n);
	rd_init(&rs->r, buf_data(&rs->raw), buf_len(&rs->raw));
	rs->corr = (int32_t)rd_be32(&rs->r);
	rs->flex = flex_hdr;
	if (flex_hdr)
		CHECK_EQ(rd_u8(&rs->r), 0);
	return 0;
}

static int16_t r_i16(resp_t *rs)
{
	return (int16_t)rd_be16(&rs->r);
}
static int32_t r_i32(resp_t *rs)
{
	return (int32_t)rd_be32(&rs->r);
}
static int64_t r_i64(resp_t *rs)
{
	return (int64_t)rd_be64(&rs->r);
}
static int8_t r_i8(resp_t *rs)
{
	return (int8_t)rd_u8(&rs->r);
}

/* Reads a string into out (NUL-terminated); returns its length or -1. */
static int32_t r_str(resp_t *rs, char *out, size_t cap)
{
	int32_t n;
	if (rs->flex)
		n = (int32_t)rd_uvarint(&rs->r) - 1;
	else
		n = (int16_t)rd_be16(&rs->r);
	out[0] = 0;
	if (n < 0)
		return -1;
	const uint8_t *p = rd_bytes(&rs->r, (size_t)n);
	CHECK(p && (size_t)n < cap);
	memcpy(out, p, (size_t)n);
	out[n] = 0;
	return n;
}
static int32_t r_bytes(resp_t *rs, char *out, size_t cap)
{
	int32_t n = rs->flex ? (int32_t)rd_uvarint(&rs->r) - 1 : (int32_t)rd_be32(&rs->r);
	if (n < 0)
		return -1;
	const uint8_t *p = rd_bytes(&rs->r, (size_t)n);
	CHECK(p && (size_t)n <= cap);
	memcpy(out, p, (size_t)n);
	return n;
}
static int32_t r_arr(resp_t *rs)
{
	return rs->flex ? (int32_t)rd_uvarint(&rs->r) - 1 : (int32_t)rd_be32(&rs->r);
}
static void r_tags(resp_t *rs)
{
	if (rs->flex)
		CHECK_EQ(rd_uvarint(&rs->r), 0);
}
static void resp_end(resp_t *rs)
{
	CHECK_EQ(rs->r.err, 0);
	CHECK_EQ(rd_left(&rs->r), 0);
	buf_deinit(&rs->raw);
}

/* --- JoinGroup helpers ---------------------------------------------------------------- */

static void send_join(wfx_t *f, int16_t v, int32_t corr, const char *group, const char *member,
                      const char *instance, const char *meta)
{
	int flex = v >= 6;
	req_t q;
	req_begin(&q, 11, v, corr, flex);
	q_str(&q, group);
	q_i32(&q, 10000);
	if (v >= 1)
		q_i32(&q, 10000);
	q_str(&q, member);
	if (v >= 5)
		q_str(&q, instance);
	q_str(&q, "consumer");
	q_arr(&q, 1);
	q_str(&q, "range");
	q_bytes(&q, meta, (int32_t)strlen(meta));
	q_tags(&q);
	if (v >= 8)
		q_str(&q, "testing");
	q_tags(&q);
	req_send(f, &q);
}

typedef struct jresp {
	int16_t err;
	int32_t gen;
	char ptype[32], pname[32], leader[160], member[160];
	int skip;
	int32_t nmembers;
	char meta[8][64];
} jresp_t;

static void read_join(resp_t *rs, int16_t v, jresp_t *j)
{
	memset(j, 0, sizeof *j);
	if (v >= 2)
		CHECK_EQ(r_i32(rs), 0);
	j->err = r_i16(rs);
	j->gen = r_i32(rs);
	if (v >= 7)
		r_str(rs, j->ptype, sizeof j->ptype);
	r_str(rs, j->pname, sizeof j->pname);
	r_str(rs, j->leader, sizeof j->leader);
	if (v >= 9)
		j->skip = r_i8(rs);
	r_str(rs, j->member, sizeof j->member);
	j->nmembers = r_arr(rs);
	for (int32_t i = 0; i < j->nmembers; i++) {
		char id[160], inst[64];
		r_str(rs, id, sizeof id);
		if (v >= 5)
			r_str(rs, inst, sizeof inst);
		int32_t n = r_bytes(rs, j->meta[i], sizeof j->meta[i] - 1);
		j->meta[i][n] = 0;
		r_tags(rs);
	}
	r_tags(rs);
	resp_end(rs);
}

TEST(group_wire_find_coordinator_v0_and_batched_v4)
{
	wfx_t f;
	wfx_init(&f);
	req_t q;
	req_begin(&q, 10, 0, 1, 0);
	q_str(&q, "g");
	req_send(&f, &q);
	req_begin(&q, 10, 4, 2, 1);
	q_i8(&q, 0);
	q_arr(&q, 2);
	q_str(&q, "a");
	q_str(&q, "b");
	q_tags(&q);
	req_send(&f, &q);
	buf_t in = BUF_INIT;
	resp_t rs;
	char s[64];
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 2000), 0);
	CHECK_EQ(rs.corr, 1);
	CHECK_EQ(r_i16(&rs), 0);
	CHECK_EQ(r_i32(&rs), 1);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "127.0.0.1");
	CHECK(r_i32(&rs) > 0);
	resp_end(&rs);
	CHECK_EQ(resp_next(&f, &in, &rs, 1, 2000), 0);
	CHECK_EQ(rs.corr, 2);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_arr(&rs), 2);
	for (int i = 0; i < 2; i++) {
		r_str(&rs, s, sizeof s);
		CHECK_STR(s, i ? "b" : "a");
		CHECK_EQ(r_i32(&rs), 1);
		r_str(&rs, s, sizeof s);
		CHECK(r_i32(&rs) > 0);
		CHECK_EQ(r_i16(&rs), 0);
		CHECK_EQ(r_str(&rs, s, sizeof s), -1);
		r_tags(&rs);
	}
	r_tags(&rs);
	resp_end(&rs);
	buf_deinit(&in);
	wfx_deinit(&f);
}

TEST(group_wire_held_join_keeps_pipelined_replies_in_order)
{
	wfx_t f;
	wfx_init(&f);
	buf_t in = BUF_INIT;
	resp_t rs;
	jresp_t j;
	send_join(&f, 5, 1, "g", "", NULL, "sub");
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 2000), 0);
	read_join(&rs, 5, &j);
	CHECK_EQ(j.err, 79); /* MEMBER_ID_REQUIRED */
	CHECK(strncmp(j.member, "test-", 5) == 0);
	/* Rejoin (parked until the rebalance completes), then a pipelined
	 * Heartbeat that is answered at once but must wait its turn. */
	send_join(&f, 5, 2, "g", j.member, NULL, "sub");
	req_t q;
	req_begin(&q, 12, 0, 3, 0);
	q_str(&q, "g");
	q_i32(&q, 0);
	q_str(&q, "nobody");
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 3000), 0);
	CHECK_EQ(rs.corr, 2);
	read_join(&rs, 5, &j);
	CHECK_EQ(j.err, 0);
	CHECK_EQ(j.gen, 1);
	CHECK_STR(j.pname, "range");
	CHECK_STR(j.leader, j.member);
	CHECK_EQ(j.nmembers, 1);
	CHECK_STR(j.meta[0], "sub");
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 2000), 0);
	CHECK_EQ(rs.corr, 3);
	CHECK_EQ(r_i16(&rs), 25); /* UNKNOWN_MEMBER_ID */
	resp_end(&rs);
	buf_deinit(&in);
	wfx_deinit(&f);
}

TEST(group_wire_flexible_join_sync_heartbeat_leave)
{
	wfx_t f;
	wfx_init(&f);
	buf_t in = BUF_INIT;
	resp_t rs;
	jresp_t j;
	send_join(&f, 9, 1, "g9", "", "inst-1", "m9");
	CHECK_EQ(resp_next(&f, &in, &rs, 1, 3000), 0);
	read_join(&rs, 9, &j);
	CHECK_EQ(j.err, 0); /* static members skip MEMBER_ID_REQUIRED */
	CHECK_STR(j.ptype, "consumer");
	CHECK_STR(j.pname, "range");
	CHECK_EQ(j.skip, 0);
	CHECK_EQ(j.nmembers, 1);
	char member[160];
	snprintf(member, sizeof member, "%s", j.member);
	static const char asg[] = {0, 1, 0, 'a', 0};
	req_t q;
	req_begin(&q, 14, 5, 2, 1);
	q_str(&q, "g9");
	q_i32(&q, j.gen);
	q_str(&q, member);
	q_str(&q, "inst-1");
	q_str(&q, "consumer");
	q_str(&q, "range");
	q_arr(&q, 1);
	q_str(&q, member);
	q_bytes(&q, asg, sizeof asg);
	q_tags(&q);
	q_tags(&q);
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 1, 2000), 0);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_i16(&rs), 0);
	char s[64];
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "consumer");
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "range");
	CHECK_EQ(r_bytes(&rs, s, sizeof s), (int32_t)sizeof asg);
	CHECK_MEM(s, asg, sizeof asg);
	r_tags(&rs);
	resp_end(&rs);
	/* Heartbeat v4 with the instance id; then a stale generation. */
	for (int k = 0; k < 2; k++) {
		req_begin(&q, 12, 4, 3 + k, 1);
		q_str(&q, "g9");
		q_i32(&q, j.gen + k);
		q_str(&q, member);
		q_str(&q, "inst-1");
		q_tags(&q);
		req_send(&f, &q);
		CHECK_EQ(resp_next(&f, &in, &rs, 1, 2000), 0);
		CHECK_EQ(r_i32(&rs), 0);
		CHECK_EQ(r_i16(&rs), k ? 22 : 0);
		r_tags(&rs);
		resp_end(&rs);
	}
	/* LeaveGroup v5: the member and an unknown one. */
	req_begin(&q, 13, 5, 5, 1);
	q_str(&q, "g9");
	q_arr(&q, 2);
	q_str(&q, member);
	q_str(&q, "inst-1");
	q_str(&q, "done");
	q_tags(&q);
	q_str(&q, "ghost");
	q_str(&q, NULL);
	q_str(&q, NULL);
	q_tags(&q);
	q_tags(&q);
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 1, 2000), 0);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_i16(&rs), 0);
	CHECK_EQ(r_arr(&rs), 2);
	r_str(&rs, s, sizeof s);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "inst-1");
	CHECK_EQ(r_i16(&rs), 0);
	r_tags(&rs);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "ghost");
	CHECK_EQ(r_str(&rs, s, sizeof s), -1);
	CHECK_EQ(r_i16(&rs), 25);
	r_tags(&rs);
	r_tags(&rs);
	resp_end(&rs);
	buf_deinit(&in);
	wfx_deinit(&f);
}

TEST(group_wire_offsets_commit_and_fetch_across_versions)
{
	wfx_t f;
	wfx_init(&f);
	kafka_srv_t *srv = f.srv;
	CHECK_EQ(topics_create(srv->topics, "t", 2, NULL, 0, NULL), 0);
	buf_t in = BUF_INIT;
	resp_t rs;
	char s[64];
	/* OffsetCommit v2 (simple consumer: generation -1), one unknown topic. */
	req_t q;
	req_begin(&q, 8, 2, 1, 0);
	q_str(&q, "og");
	q_i32(&q, -1);
	q_str(&q, "");
	q_i64(&q, -1);
	q_arr(&q, 2);
	q_str(&q, "t");
	q_arr(&q, 2);
	q_i32(&q, 0);
	q_i64(&q, 42);
	q_str(&q, "meta");
	q_i32(&q, 1);
	q_i64(&q, 7);
	q_str(&q, NULL);
	q_str(&q, "nope");
	q_arr(&q, 1);
	q_i32(&q, 0);
	q_i64(&q, 1);
	q_str(&q, "");
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 5000), 0);
	CHECK_EQ(r_arr(&rs), 2);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "t");
	CHECK_EQ(r_arr(&rs), 2);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_i16(&rs), 0);
	CHECK_EQ(r_i32(&rs), 1);
	CHECK_EQ(r_i16(&rs), 0);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "nope");
	CHECK_EQ(r_arr(&rs), 1);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_i16(&rs), 3); /* UNKNOWN_TOPIC_OR_PARTITION */
	resp_end(&rs);
	/* OffsetFetch v1: explicit partitions, one without a commit. */
	req_begin(&q, 9, 1, 2, 0);
	q_str(&q, "og");
	q_arr(&q, 1);
	q_str(&q, "t");
	q_arr(&q, 2);
	q_i32(&q, 0);
	q_i32(&q, 5);
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 2000), 0);
	CHECK_EQ(r_arr(&rs), 1);
	r_str(&rs, s, sizeof s);
	CHECK_EQ(r_arr(&rs), 2);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_i64(&rs), 42);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "meta");
	CHECK_EQ(r_i16(&rs), 0);
	CHECK_EQ(r_i32(&rs), 5);
	CHECK_EQ(r_i64(&rs), -1);
	CHECK_EQ(r_str(&rs, s, sizeof s), 0);
	CHECK_EQ(r_i16(&rs), 0);
	resp_end(&rs);
	/* OffsetFetch v8: two groups, the first with all topics (null). */
	req_begin(&q, 9, 8, 3, 1);
	q_arr(&q, 2);
	q_str(&q, "og");
	q_arr(&q, -1);
	q_tags(&q);
	q_str(&q, "other");
	q_arr(&q, 1);
	q_str(&q, "t");
	q_arr(&q, 1);
	q_i32(&q, 0);
	q_tags(&q);
	q_tags(&q);
	q_i8(&q, 0);
	q_tags(&q);
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 1, 2000), 0);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_arr(&rs), 2);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "og");
	CHECK_EQ(r_arr(&rs), 1);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "t");
	CHECK_EQ(r_arr(&rs), 2);
	int64_t want[2] = {42, 7};
	for (int p = 0; p < 2; p++) {
		CHECK_EQ(r_i32(&rs), p);
		CHECK_EQ(r_i64(&rs), want[p]);
		CHECK_EQ(r_i32(&rs), -1);
		CHECK_EQ(r_str(&rs, s, sizeof s), p ? -1 : 4);
		CHECK_EQ(r_i16(&rs), 0);
		r_tags(&rs);
	}
	r_tags(&rs);
	CHECK_EQ(r_i16(&rs), 0);
	r_tags(&rs);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "other");
	CHECK_EQ(r_arr(&rs), 1);
	r_str(&rs, s, sizeof s);
	CHECK_EQ(r_arr(&rs), 1);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_i64(&rs), -1);
	CHECK_EQ(r_i32(&rs), -1);
	CHECK_EQ(r_str(&rs, s, sizeof s), 0);
	CHECK_EQ(r_i16(&rs), 0);
	r_tags(&rs);
	r_tags(&rs);
	CHECK_EQ(r_i16(&rs), 0);
	r_tags(&rs);
	r_tags(&rs);
	resp_end(&rs);
	buf_deinit(&in);
	wfx_deinit(&f);
}

TEST(group_wire_list_describe_delete)
{
	wfx_t f;
	wfx_init(&f);
	buf_t in = BUF_INIT;
	resp_t rs;
	jresp_t j;
	char s[160];
	send_join(&f, 2, 1, "live", "", NULL, "x");
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 3000), 0);
	read_join(&rs, 2, &j);
	CHECK_EQ(j.err, 0);
	/* An offsets-only group. */
	req_t q;
	req_begin(&q, 8, 0, 2, 0);
	q_str(&q, "simple");
	q_arr(&q, 0);
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 2000), 0);
	CHECK_EQ(r_arr(&rs), 0);
	resp_end(&rs);
	/* ListGroups v4 filtered to CompletingRebalance (case-insensitive). */
	req_begin(&q, 16, 4, 3, 1);
	q_arr(&q, 1);
	q_str(&q, "completingrebalance");
	q_tags(&q);
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 1, 2000), 0);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_i16(&rs), 0);
	CHECK_EQ(r_arr(&rs), 1);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "live");
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "consumer");
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "CompletingRebalance");
	r_tags(&rs);
	r_tags(&rs);
	resp_end(&rs);
	/* DescribeGroups v0: the live group and an unknown one (Dead). */
	req_begin(&q, 15, 0, 4, 0);
	q_arr(&q, 2);
	q_str(&q, "live");
	q_str(&q, "nope");
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 0, 2000), 0);
	CHECK_EQ(r_arr(&rs), 2);
	CHECK_EQ(r_i16(&rs), 0);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "live");
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "CompletingRebalance");
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "consumer");
	CHECK_EQ(r_str(&rs, s, sizeof s), 0);
	CHECK_EQ(r_arr(&rs), 1);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, j.member);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "test");
	r_str(&rs, s, sizeof s);
	CHECK(s[0] == '/');
	CHECK_EQ(r_bytes(&rs, s, sizeof s), 0);
	CHECK_EQ(r_bytes(&rs, s, sizeof s), 0);
	CHECK_EQ(r_i16(&rs), 0);
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "nope");
	r_str(&rs, s, sizeof s);
	CHECK_STR(s, "Dead");
	r_str(&rs, s, sizeof s);
	r_str(&rs, s, sizeof s);
	CHECK_EQ(r_arr(&rs), 0);
	resp_end(&rs);
	/* DeleteGroups v2: live is not empty, nope is unknown. */
	req_begin(&q, 42, 2, 5, 1);
	q_arr(&q, 2);
	q_str(&q, "live");
	q_str(&q, "nope");
	q_tags(&q);
	req_send(&f, &q);
	CHECK_EQ(resp_next(&f, &in, &rs, 1, 2000), 0);
	CHECK_EQ(r_i32(&rs), 0);
	CHECK_EQ(r_arr(&rs), 2);
	r_str(&rs, s, sizeof s);
	CHECK_EQ(r_i16(&rs), 68);
	r_tags(&rs);
	r_str(&rs, s, sizeof s);
	CHECK_EQ(r_i16(&rs), 69);
	r_tags(&rs);
	r_tags(&rs);
	resp_end(&rs);
	buf_deinit(&in);
	wfx_deinit(&f);
}

TEST(group_wire_truncated_requests_close_without_a_reply)
{
	/* Every strict prefix of a valid JoinGroup v5 body is malformed. */
	req_t full;
	req_begin(&full, 11, 5, 1, 0);
	q_str(&full, "g");
	q_i32(&full, 10000);
	q_i32(&full, 10000);
	q_str(&full, "");
	q_str(&full, NULL);
	q_str(&full, "consumer");
	q_arr(&full, 1);
	q_str(&full, "range");
	q_bytes(&full, "m", 1);
	size_t hdr = 4 + 2 + 2 + 4 + 2 + 4;
	size_t total = buf_len(&full.b);
	for (size_t cut = hdr; cut < total; cut++) {
		wfx_t f;
		wfx_init(&f);
		buf_t frame = BUF_INIT;
		buf_append(&frame, buf_data(&full.b), cut);
		be32_store(buf_data(&frame), (uint32_t)(cut - 4));
		memconn_send(f.m, buf_data(&frame), buf_len(&frame));
		buf_deinit(&frame);
		CHECK_MSG(memconn_server_closed(f.m), "cut at %zu not closed", cut);
		buf_t out = BUF_INIT;
		memconn_recv(f.m, &out);
		CHECK_EQ(buf_len(&out), 0);
		buf_deinit(&out);
		wfx_deinit(&f);
	}
	buf_deinit(&full.b);
}

TEST(group_wire_parked_join_survives_close_and_shutdown)
{
	/* A JoinGroup parked in a long initial delay; the client goes away and
	 * the server shuts down: the late answer lands in the dead
	 * connection's hold and is dropped, without leaks or crashes. */
	wfx_t f;
	memset(&f, 0, sizeof f);
	wfx_init(&f);
	char err[128];
	CHECK_EQ(config_set(&f.cfg, "group.initial.rebalance.delay.ms", "60000", err, sizeof err),
	         0);
	kafka_front.stop(f.srv);
	memconn_free(f.m);
	broker_close(&f.b);
	CHECK_EQ(broker_open(&f.b), 0);
	CHECK_EQ(kafka_front.start(&f.b, &f.srv), 0);
	f.m = memconn_new(f.b.loop, kafka_front.proto, f.srv, NULL);
	send_join(&f, 2, 1, "slow", "", NULL, "x");
	memconn_pump(f.m);
	buf_t out = BUF_INIT;
	memconn_recv(f.m, &out);
	CHECK_EQ(buf_len(&out), 0);
	buf_deinit(&out);
	memconn_free(f.m);
	f.m = NULL;
	wfx_deinit(&f);
}
