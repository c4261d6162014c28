/*
 * h_ApiVersions.c — ApiVersions (key 18), v0–3.
 *
 * The response header is always v0 (KIP-511), even for the flexible v3.
 * v3 requests carry ClientSoftwareName/Version; Kafka rejects odd
 * characters there with INVALID_REQUEST, sluice accepts anything (librdkafka
 * would just retry with v0). Loop thread.
 */
#include "proto/kafka/kafka.h"

static void write_entry(buf_t *b, const kafka_api_t *a, int flex)
{
	kw_i16(b, a->key);
	kw_i16(b, a->min);
	kw_i16(b, a->max);
	kw_tags(b, flex);
}

void kafka_apiversions_unsupported(const kreq_t *rq, buf_t *b)
{
	size_t mark = kafka_resp_begin(b, rq->h.CorrelationId, 0);
	kw_i16(b, KERR_UNSUPPORTED_VERSION);
	kw_arr(b, 0, 1);
	write_entry(b, kafka_api_find(18), 0);
	kafka_resp_end(b, mark);
}

int kafka_h_ApiVersions(kreq_t *rq)
{
	int16_t v = rq->h.ApiVersion;
	if (v >= 3) {
		(void)kr_str(&rq->r, 1); /* ClientSoftwareName */
		(void)kr_str(&rq->r, 1); /* ClientSoftwareVersion */
		kr_tags(&rq->r, 1);
	}
	if (rq->r.err)
		return SL_EPROTO;
	buf_t *b = kreq_out(rq);
	size_t mark = kafka_reply_begin(rq, b);
	kw_i16(b, KERR_NONE);
	int32_t n = 0;
	for (const kafka_api_t *a = kafka_apis; a->name; a++)
		n++;
	kw_arr(b, rq->flex, n);
	for (const kafka_api_t *a = kafka_apis; a->name; a++)
		write_entry(b, a, rq->flex);
	if (v >= 1)
		kw_i32(b, 0); /* ThrottleTimeMs */
	kw_tags(b, rq->flex);
	kafka_reply_end(b, mark);
	return 0;
}
