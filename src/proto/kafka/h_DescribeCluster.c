/*
 * h_DescribeCluster.c — DescribeCluster (key 60), v0–1 (flexible from v0):
 * the one node, its address and the cluster id. Loop thread.
 */
#include "proto/kafka/kafka.h"

int kafka_h_DescribeCluster(kreq_t *rq)
{
	rd_t *r = &rq->r;
	int16_t v = rq->h.ApiVersion;
	(void)kr_i8(r);
	int8_t endpoint = v >= 1 ? kr_i8(r) : 1;
	kr_tags(r, 1);
	if (r->err)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i32(b, 0);
	kw_i16(b,
	       endpoint == 1 ? kafka_authz_cluster(rq, ACL_OP_DESCRIBE) : KERR_UNSUPPORTED_VERSION);
	kw_str(b, 1, endpoint == 1 ? NULL : "only broker endpoints are described");
	if (v >= 1)
		kw_i8(b, endpoint);
	kw_str(b, 1, topics_cluster_id(rq->srv->topics));
	kw_i32(b, KAFKA_NODE_ID);
	kw_arr(b, 1, 1);
	kw_i32(b, KAFKA_NODE_ID);
	kw_str(b, 1, rq->srv->b->cfg->advertised_host);
	kw_i32(b, kafka_advertised_port(rq));
	kw_str(b, 1, NULL);
	kw_tags(b, 1);
	kw_i32(b, INT32_MIN);
	kw_tags(b, 1);
	kafka_reply_end(b, mark);
	return 0;
}
