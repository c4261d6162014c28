/*
 * apis.c — the one table of Kafka APIs sluice serves, and dispatch.
 *
 * The table drives both dispatch and the ApiVersions reply. Version rules
 * (see reference/kafka-clients.md):
 *   - Produce and Fetch are advertised from v0 because librdkafka 2.0.2
 *     probes exact versions (Produce 0 enables compression, KAFKA-18659);
 *     the handlers answer the versions below the record-batch era (Produce
 *     0–2, Fetch 0–3) with UNSUPPORTED_VERSION, as Kafka 4.0 does.
 *   - A request for a version outside [min, max] closes the connection, as
 *     Apache Kafka does — except ApiVersions, whose too-new versions get the
 *     KIP-511 v0-format error so clients retry lower.
 *   - Consumer groups (FindCoordinator, JoinGroup, ... , OffsetCommit/Fetch)
 *     are more rows (issue 4); FindCoordinator is advertised from v0 for
 *     librdkafka's group (and lz4) feature probe.
 *   - Durability is not decided here: the topic journal writes ahead
 *     (broker/topic.h), and replies that must wait for a sync are held
 *     by the handlers on the broker's durability domains (broker/dur.h).
 * Loop thread only.
 */
#include "proto/kafka/kafka.h"

#include "broker/stats.h"

#define NOFLEX INT16_MAX

const kafka_api_t kafka_apis[] = {
    {0, "Produce", 0, 9, 9, kafka_h_Produce, 0},
    {1, "Fetch", 0, 12, 12, kafka_h_Fetch, 0},
    {2, "ListOffsets", 1, 7, 6, kafka_h_ListOffsets, 0},
    {3, "Metadata", 0, 12, 9, kafka_h_Metadata, 0},
    {8, "OffsetCommit", 0, 9, 8, kafka_h_OffsetCommit, 0},
    {9, "OffsetFetch", 0, 9, 6, kafka_h_OffsetFetch, 0},
    {10, "FindCoordinator", 0, 4, 3, kafka_h_FindCoordinator, 0},
    {11, "JoinGroup", 0, 9, 6, kafka_h_JoinGroup, 0},
    {12, "Heartbeat", 0, 4, 4, kafka_h_Heartbeat, 0},
    {13, "LeaveGroup", 0, 5, 4, kafka_h_LeaveGroup, 0},
    {14, "SyncGroup", 0, 5, 4, kafka_h_SyncGroup, 0},
    {15, "DescribeGroups", 0, 5, 5, kafka_h_DescribeGroups, 0},
    {16, "ListGroups", 0, 4, 3, kafka_h_ListGroups, 0},
    {17, "SaslHandshake", 0, 1, NOFLEX, kafka_h_SaslHandshake, 0},
    {18, "ApiVersions", 0, 3, 3, kafka_h_ApiVersions, 0},
    {19, "CreateTopics", 1, 7, 5, kafka_h_CreateTopics, 0},
    {20, "DeleteTopics", 1, 6, 4, kafka_h_DeleteTopics, 0},
    {21, "DeleteRecords", 0, 2, 2, kafka_h_DeleteRecords, 0},
    {22, "InitProducerId", 0, 5, 2, kafka_h_InitProducerId, 0},
    {24, "AddPartitionsToTxn", 0, 5, 3, kafka_h_AddPartitionsToTxn, 0},
    {25, "AddOffsetsToTxn", 0, 4, 3, kafka_h_AddOffsetsToTxn, 0},
    {26, "EndTxn", 0, 4, 3, kafka_h_EndTxn, 0},
    {28, "TxnOffsetCommit", 0, 4, 3, kafka_h_TxnOffsetCommit, 0},
    {29, "DescribeAcls", 0, 3, 2, kafka_h_DescribeAcls, 0},
    {30, "CreateAcls", 0, 3, 2, kafka_h_CreateAcls, 0},
    {31, "DeleteAcls", 0, 3, 2, kafka_h_DeleteAcls, 0},
    {32, "DescribeConfigs", 0, 4, 4, kafka_h_DescribeConfigs, 0},
    {33, "AlterConfigs", 0, 2, 2, kafka_h_AlterConfigs, 0},
    {36, "SaslAuthenticate", 0, 2, 2, kafka_h_SaslAuthenticate, 0},
    {37, "CreatePartitions", 0, 3, 2, kafka_h_CreatePartitions, 0},
    {42, "DeleteGroups", 0, 2, 2, kafka_h_DeleteGroups, 0},
    {44, "IncrementalAlterConfigs", 0, 1, 1, kafka_h_IncrementalAlterConfigs, 0},
    {47, "OffsetDelete", 0, 0, NOFLEX, kafka_h_OffsetDelete, 0},
    {50, "DescribeUserScramCredentials", 0, 0, 0, kafka_h_DescribeUserScramCredentials, 0},
    {51, "AlterUserScramCredentials", 0, 0, 0, kafka_h_AlterUserScramCredentials, 0},
    {60, "DescribeCluster", 0, 1, 0, kafka_h_DescribeCluster, 0},
    {61, "DescribeProducers", 0, 0, 0, kafka_h_DescribeProducers, 0},
    {65, "DescribeTransactions", 0, 0, 0, kafka_h_DescribeTransactions, 0},
    {66, "ListTransactions", 0, 1, 0, kafka_h_ListTransactions, 0},
    {-1, NULL, 0, 0, NOFLEX, NULL, 0},
};

const kafka_api_t *kafka_api_find(int16_t key)
{
	for (const kafka_api_t *a = kafka_apis; a->name; a++)
		if (a->key == key)
			return a;
	return NULL;
}

size_t kafka_reply_begin(const kreq_t *rq, buf_t *b)
{
	/* KIP-511: the ApiVersions response header is always v0. */
	int hdr_flex = rq->flex && rq->h.ApiKey != 18;
	return kafka_resp_begin(b, rq->h.CorrelationId, hdr_flex);
}

int kafka_dispatch(kafka_srv_t *srv, conn_t *c, buf_t *out, uint8_t *frame, size_t len)
{
	kreq_t rq = {.srv = srv, .c = c, .out = out};
	rd_t r;
	rd_init(&r, frame, len);
	const log_t *log = srv && srv->b ? srv->b->log : NULL;
	if (kafka_reqhdr_read(&r, &rq.h) < 0) {
		log_info(log, "kafka: %s: unparsable request header, closing", c ? c->peer : "-");
		return SL_EPROTO;
	}
	const kafka_api_t *api = kafka_api_find(rq.h.ApiKey);
	if (!api) {
		log_info(log, "kafka: %s: unsupported API key %d (v%d), closing", c ? c->peer : "-",
		         rq.h.ApiKey, rq.h.ApiVersion);
		return SL_EPROTO;
	}
	if (api->key == 18 && rq.h.ApiVersion > api->max) {
		kafka_apiversions_unsupported(&rq, kreq_out(&rq));
		return 0;
	}
	if (rq.h.ApiVersion < api->min || rq.h.ApiVersion > api->max) {
		log_info(log, "kafka: %s: %s v%d not supported (v%d..v%d are), closing",
		         c ? c->peer : "-", api->name, rq.h.ApiVersion, api->min, api->max);
		return SL_EPROTO;
	}
	rq.flex = rq.h.ApiVersion >= api->flex;
	kr_tags(&r, rq.flex); /* request header v2 */
	if (r.err)
		return SL_EPROTO;
	rq.body = frame + (len - rd_left(&r));
	rq.body_len = rd_left(&r);
	rq.r = r;
	stats_cmd_t *st = stats_cmd(STATS_TAB(srv ? srv->b : NULL, STATS_KAFKA), api, api->name);
	int64_t t0 = stats_begin(st, 0);
	int rc = api->fn(&rq);
	stats_end(st, t0, rc < 0);
	if (rc < 0)
		log_info(log, "kafka: %s: malformed %s v%d request (%s), closing",
		         c ? c->peer : "-", api->name, rq.h.ApiVersion, sl_strerror(rc));
	return rc;
}

int kafka_advertised_port(const kreq_t *rq)
{
	if (rq->c && rq->c->pdata) {
		const kafka_conn_t *kc = rq->c->pdata;
		if (kc->port > 0)
			return kc->port;
	}
	return rq->srv->port;
}
