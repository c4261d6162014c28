/*
 * batch.c — RecordBatch v2 peek, validation, rewrites, builder and record
 * iterator; see batch.h for the byte layout. Pure functions, any thread.
 */
#include "store/batch.h"

#include "core/crc32c.h"
#include "core/err.h"
#include "core/varint.h"

#include <limits.h>
#include <string.h>

int batch_peek(const uint8_t *p, size_t n, batch_hdr_t *h)
{
	if (n < BATCH_HDR_SIZE)
		return SL_EAGAIN;
	h->base_offset = (int64_t)be64_load(p + BATCH_OFF_BASE_OFFSET);
	h->length = (int32_t)be32_load(p + BATCH_OFF_LENGTH);
	h->leader_epoch = (int32_t)be32_load(p + BATCH_OFF_LEADER_EPOCH);
	h->magic = (int8_t)p[BATCH_OFF_MAGIC];
	h->crc = be32_load(p + BATCH_OFF_CRC);
	h->attributes = (int16_t)be16_load(p + BATCH_OFF_ATTRIBUTES);
	h->last_offset_delta = (int32_t)be32_load(p + BATCH_OFF_LAST_OFFSET_DELTA);
	h->base_ts = (int64_t)be64_load(p + BATCH_OFF_BASE_TIMESTAMP);
	h->max_ts = (int64_t)be64_load(p + BATCH_OFF_MAX_TIMESTAMP);
	h->producer_id = (int64_t)be64_load(p + BATCH_OFF_PRODUCER_ID);
	h->producer_epoch = (int16_t)be16_load(p + BATCH_OFF_PRODUCER_EPOCH);
	h->base_sequence = (int32_t)be32_load(p + BATCH_OFF_BASE_SEQUENCE);
	h->count = (int32_t)be32_load(p + BATCH_OFF_RECORDS_COUNT);
	if (h->magic != BATCH_MAGIC)
		return SL_ECORRUPT;
	if (h->length < BATCH_HDR_SIZE - BATCH_LOG_OVERHEAD)
		return SL_ECORRUPT;
	return 0;
}

int batch_crc_ok(const uint8_t *p, size_t len)
{
	if (len < BATCH_HDR_SIZE)
		return 0;
	uint32_t want = be32_load(p + BATCH_OFF_CRC);
	return crc32c(0, p + BATCH_OFF_ATTRIBUTES, len - BATCH_OFF_ATTRIBUTES) == want;
}

int batch_validate(const uint8_t *p, size_t len, size_t max_bytes, batch_hdr_t *h)
{
	/* Size first: a huge batch is refused before its CRC is computed. */
	if (len > max_bytes)
		return SL_ETOOBIG;
	int rc = batch_peek(p, len, h);
	if (rc < 0)
		return SL_ECORRUPT;
	if (batch_size(h) != len)
		return SL_ECORRUPT;
	if (!batch_crc_ok(p, len))
		return SL_ECORRUPT;
	if (h->count <= 0 || h->last_offset_delta < 0 ||
	    (int64_t)h->count != (int64_t)h->last_offset_delta + 1)
		return SL_EPROTO;
	return 0;
}

void batch_set_base_offset(uint8_t *p, int64_t base_offset)
{
	be64_store(p + BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void batch_set_leader_epoch(uint8_t *p, int32_t epoch)
{
	be32_store(p + BATCH_OFF_LEADER_EPOCH, (uint32_t)epoch);
}

void batch_set_log_append_time(uint8_t *p, size_t len, int64_t ts)
{
	uint16_t attr = be16_load(p + BATCH_OFF_ATTRIBUTES);
	be16_store(p + BATCH_OFF_ATTRIBUTES, (uint16_t)(attr | BATCH_ATTR_LOG_APPEND_TIME));
	be64_store(p + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)ts);
	be32_store(p + BATCH_OFF_CRC,
	           crc32c(0, p + BATCH_OFF_ATTRIBUTES, len - BATCH_OFF_ATTRIBUTES));
}

/* --- builder -------------------------------------------------------------- */

static size_t varint_len_s(int64_t v)
{
	return varint_len_u64(varint_zigzag(v));
}

static int check_len(int32_t n, int nullable)
{
	return n >= 0 || (nullable && n == -1);
}

/* Encoded size of a record's body (everything after its length varint), or
 * 0 when a length is invalid. */
static uint64_t record_body_len(const batch_record_t *r, int64_t ts_delta, int32_t off_delta)
{
	if (!check_len(r->key_len, 1) || !check_len(r->value_len, 1) || r->nheaders < 0)
		return 0;
	uint64_t n = 1 + varint_len_s(ts_delta) + varint_len_s(off_delta);
	n += varint_len_s(r->key_len) + (r->key_len > 0 ? (uint64_t)r->key_len : 0);
	n += varint_len_s(r->value_len) + (r->value_len > 0 ? (uint64_t)r->value_len : 0);
	n += varint_len_s(r->nheaders);
	for (int32_t i = 0; i < r->nheaders; i++) {
		const batch_rec_header_t *h = &r->headers[i];
		if (!check_len(h->key_len, 0) || !check_len(h->value_len, 1))
			return 0;
		n += varint_len_s(h->key_len) + (uint64_t)h->key_len;
		n += varint_len_s(h->value_len) + (h->value_len > 0 ? (uint64_t)h->value_len : 0);
	}
	return n;
}

static void put_bytes(buf_t *b, const uint8_t *p, int32_t n)
{
	buf_put_varint(b, n);
	if (n > 0)
		buf_append(b, p, (size_t)n);
}

int batch_build(buf_t *out, const batch_build_opts_t *opts, const batch_record_t *recs, size_t n)
{
	if (n == 0 || n > (size_t)INT32_MAX)
		return SL_EINVAL;
	int64_t base_ts = recs[0].timestamp, max_ts = recs[0].timestamp;
	uint64_t total = BATCH_HDR_SIZE;
	for (size_t i = 0; i < n; i++) {
		if (recs[i].timestamp > max_ts)
			max_ts = recs[i].timestamp;
		uint64_t body = record_body_len(&recs[i], recs[i].timestamp - base_ts, (int32_t)i);
		if (body == 0)
			return SL_EINVAL;
		total += varint_len_s((int64_t)body) + body;
		if (total > INT32_MAX)
			return SL_ETOOBIG;
	}

	size_t start = buf_len(out);
	uint8_t *h = buf_reserve(out, (size_t)total);
	memset(h, 0, BATCH_HDR_SIZE);
	be64_store(h + BATCH_OFF_BASE_OFFSET, (uint64_t)(opts ? opts->base_offset : 0));
	be32_store(h + BATCH_OFF_LENGTH, (uint32_t)(total - BATCH_LOG_OVERHEAD));
	be32_store(h + BATCH_OFF_LEADER_EPOCH, (uint32_t)-1);
	h[BATCH_OFF_MAGIC] = BATCH_MAGIC;
	be16_store(h + BATCH_OFF_ATTRIBUTES,
	           (opts && opts->log_append_time) ? BATCH_ATTR_LOG_APPEND_TIME : 0);
	be32_store(h + BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)(n - 1));
	be64_store(h + BATCH_OFF_BASE_TIMESTAMP, (uint64_t)base_ts);
	be64_store(h + BATCH_OFF_MAX_TIMESTAMP, (uint64_t)max_ts);
	be64_store(h + BATCH_OFF_PRODUCER_ID, (uint64_t)(opts ? opts->producer_id : -1));
	be16_store(h + BATCH_OFF_PRODUCER_EPOCH, (uint16_t)(opts ? opts->producer_epoch : -1));
	be32_store(h + BATCH_OFF_BASE_SEQUENCE, (uint32_t)(opts ? opts->base_sequence : -1));
	be32_store(h + BATCH_OFF_RECORDS_COUNT, (uint32_t)n);
	buf_commit(out, BATCH_HDR_SIZE);

	for (size_t i = 0; i < n; i++) {
		const batch_record_t *r = &recs[i];
		int64_t ts_delta = r->timestamp - base_ts;
		uint64_t body = record_body_len(r, ts_delta, (int32_t)i);
		buf_put_varint(out, (int64_t)body);
		buf_put_u8(out, 0);
		buf_put_varint(out, ts_delta);
		buf_put_varint(out, (int64_t)i);
		put_bytes(out, r->key, r->key_len);
		put_bytes(out, r->value, r->value_len);
		buf_put_varint(out, r->nheaders);
		for (int32_t j = 0; j < r->nheaders; j++) {
			put_bytes(out, r->headers[j].key, r->headers[j].key_len);
			put_bytes(out, r->headers[j].value, r->headers[j].value_len);
		}
	}
	uint8_t *b = buf_data(out) + start;
	be32_store(b + BATCH_OFF_CRC,
	           crc32c(0, b + BATCH_OFF_ATTRIBUTES, (size_t)total - BATCH_OFF_ATTRIBUTES));
	return 0;
}

/* --- iterator ------------------------------------------------------------- */

int batch_iter_init(batch_iter_t *it, const uint8_t *p, size_t len)
{
	memset(it, 0, sizeof *it);
	if (batch_peek(p, len, &it->hdr) < 0 || batch_size(&it->hdr) != len || it->hdr.count < 0)
		return SL_ECORRUPT;
	if (it->hdr.attributes & BATCH_ATTR_CODEC_MASK)
		return SL_EINVAL;
	rd_init(&it->r, p + BATCH_HDR_SIZE, len - BATCH_HDR_SIZE);
	it->left = it->hdr.count;
	return 0;
}

/* Reads a varint length and that many bytes; -1 (null) allowed when nullable. */
static const uint8_t *rd_lenbytes(rd_t *r, int nullable, int32_t *len)
{
	int32_t n = rd_varint(r);
	*len = n;
	if (n == -1 && nullable)
		return NULL;
	if (n < 0) {
		rd_fail(r);
		return NULL;
	}
	return rd_bytes(r, (size_t)n);
}

static int iter_fail(batch_iter_t *it)
{
	it->err = SL_ECORRUPT;
	return SL_ECORRUPT;
}

int batch_iter_next(batch_iter_t *it, batch_record_t *rec)
{
	if (it->err)
		return it->err;
	if (it->left == 0)
		return rd_left(&it->r) == 0 ? 0 : iter_fail(it);
	int32_t rlen = rd_varint(&it->r);
	if (it->r.err || rlen < 0 || (size_t)rlen > rd_left(&it->r))
		return iter_fail(it);
	rd_t r;
	rd_init(&r, it->r.p, (size_t)rlen);
	rd_skip(&it->r, (size_t)rlen);

	memset(rec, 0, sizeof *rec);
	(void)rd_u8(&r);
	int64_t ts_delta = rd_varlong(&r);
	int32_t off_delta = rd_varint(&r);
	rec->key = rd_lenbytes(&r, 1, &rec->key_len);
	rec->value = rd_lenbytes(&r, 1, &rec->value_len);
	int32_t nh = rd_varint(&r);
	if (r.err || nh < 0)
		return iter_fail(it);
	rec->headers_raw = r.p;
	for (int32_t i = 0; i < nh && !r.err; i++) {
		int32_t kl, vl;
		(void)rd_lenbytes(&r, 0, &kl);
		(void)rd_lenbytes(&r, 1, &vl);
	}
	if (r.err || rd_left(&r) != 0)
		return iter_fail(it);
	rec->headers_raw_len = (size_t)(r.p - rec->headers_raw);
	rec->nheaders = nh;
	/* Wrapping arithmetic: a hostile base offset or delta (fuzz_batch
	 * found INT64_MAX + 1) must not be UB; readers check offsets. */
	rec->offset = (int64_t)((uint64_t)it->hdr.base_offset + (uint64_t)(int64_t)off_delta);
	rec->timestamp = (int64_t)((uint64_t)it->hdr.base_ts + (uint64_t)ts_delta);
	it->left--;
	return 1;
}

void batch_rec_headers_init(batch_rec_headers_t *hi, const batch_record_t *rec)
{
	rd_init(&hi->r, rec->headers_raw, rec->headers_raw_len);
	hi->left = rec->nheaders;
}

int batch_rec_headers_next(batch_rec_headers_t *hi, batch_rec_header_t *h)
{
	if (hi->left <= 0)
		return 0;
	h->key = rd_lenbytes(&hi->r, 0, &h->key_len);
	h->value = rd_lenbytes(&hi->r, 1, &h->value_len);
	if (hi->r.err)
		return SL_ECORRUPT;
	hi->left--;
	return 1;
}

/* --- control batches ------------------------------------------------------------- */

int batch_build_control(buf_t *out, int64_t pid, int16_t epoch, int commit, int32_t coord_epoch,
                        int64_t ts)
{
	uint8_t key[4], val[6];
	be16_store(key, 0);
	be16_store(key + 2, (uint16_t)(commit ? BATCH_CONTROL_COMMIT : BATCH_CONTROL_ABORT));
	be16_store(val, 0);
	be32_store(val + 2, (uint32_t)coord_epoch);
	batch_record_t rec;
	memset(&rec, 0, sizeof rec);
	rec.timestamp = ts;
	rec.key = key;
	rec.key_len = 4;
	rec.value = val;
	rec.value_len = 6;
	batch_build_opts_t o = {pid, epoch, -1, 0, 0};
	size_t start = buf_len(out);
	int rc = batch_build(out, &o, &rec, 1);
	if (rc < 0)
		return rc;
	uint8_t *b = buf_data(out) + start;
	size_t len = buf_len(out) - start;
	be16_store(b + BATCH_OFF_ATTRIBUTES, BATCH_ATTR_TRANSACTIONAL | BATCH_ATTR_CONTROL);
	be32_store(b + BATCH_OFF_CRC,
	           crc32c(0, b + BATCH_OFF_ATTRIBUTES, len - BATCH_OFF_ATTRIBUTES));
	return 0;
}

int batch_control_type(const uint8_t *p, size_t len)
{
	batch_iter_t it;
	batch_record_t rec;
	if (batch_iter_init(&it, p, len) < 0 || !(it.hdr.attributes & BATCH_ATTR_CONTROL))
		return SL_ECORRUPT;
	if (batch_iter_next(&it, &rec) != 1 || rec.key_len < 4)
		return SL_ECORRUPT;
	int type = (int16_t)be16_load(rec.key + 2);
	return type == BATCH_CONTROL_COMMIT ? BATCH_CONTROL_COMMIT : BATCH_CONTROL_ABORT;
}
