/* test_batch.c — RecordBatch v2 validation, rewrites, builder, iterator. */
#include "test.h"

#include "core/crc32c.h"
#include "core/err.h"
#include "store/batch.h"

static void build_sample(buf_t *b, int nrec)
{
	batch_rec_header_t hdrs[2] = {
	    {(const uint8_t *)"h1", 2, (const uint8_t *)"v1", 2},
	    {(const uint8_t *)"h2", 2, NULL, -1},
	};
	batch_record_t recs[16];
	char keys[16][16], vals[16][32];
	for (int i = 0; i < nrec; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", i);
		snprintf(vals[i], sizeof vals[i], "value-%d", i * 7);
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].timestamp = 1700000000000 + i * 3 - (i == 2 ? 10 : 0);
		recs[i].key = (const uint8_t *)keys[i];
		recs[i].key_len = i == 1 ? -1 : (int32_t)strlen(keys[i]);
		recs[i].value = (const uint8_t *)vals[i];
		recs[i].value_len = (int32_t)strlen(vals[i]);
		recs[i].headers = hdrs;
		recs[i].nheaders = i % 3;
	}
	CHECK_EQ(batch_build(b, NULL, recs, (size_t)nrec), 0);
}

TEST(batch_build_validates)
{
	buf_t b = BUF_INIT;
	build_sample(&b, 5);
	batch_hdr_t h;
	CHECK_EQ(batch_validate(buf_data(&b), buf_len(&b), 1 << 20, &h), 0);
	CHECK_EQ(h.count, 5);
	CHECK_EQ(h.last_offset_delta, 4);
	CHECK_EQ(h.magic, 2);
	CHECK_EQ(batch_size(&h), buf_len(&b));
	CHECK_EQ(h.base_ts, 1700000000000);
	CHECK_EQ(h.max_ts, 1700000000012);
	CHECK_EQ(h.producer_id, -1);
	CHECK_EQ(h.base_sequence, -1);
	buf_deinit(&b);
}

TEST(batch_build_parses_back)
{
	buf_t b = BUF_INIT;
	build_sample(&b, 6);
	batch_set_base_offset(buf_data(&b), 1000);
	batch_iter_t it;
	CHECK_EQ(batch_iter_init(&it, buf_data(&b), buf_len(&b)), 0);
	batch_record_t r;
	int i = 0, rc;
	while ((rc = batch_iter_next(&it, &r)) == 1) {
		char k[16], v[32];
		snprintf(k, sizeof k, "k%d", i);
		snprintf(v, sizeof v, "value-%d", i * 7);
		CHECK_EQ(r.offset, 1000 + i);
		CHECK_EQ(r.timestamp, 1700000000000 + i * 3 - (i == 2 ? 10 : 0));
		if (i == 1) {
			CHECK_EQ(r.key_len, -1);
			CHECK(r.key == NULL);
		} else {
			CHECK_EQ(r.key_len, (int)strlen(k));
			CHECK_MEM(r.key, k, strlen(k));
		}
		CHECK_EQ(r.value_len, (int)strlen(v));
		CHECK_MEM(r.value, v, strlen(v));
		CHECK_EQ(r.nheaders, i % 3);
		batch_rec_headers_t hi;
		batch_rec_header_t hh;
		batch_rec_headers_init(&hi, &r);
		int nh = 0;
		while (batch_rec_headers_next(&hi, &hh) == 1) {
			CHECK_EQ(hh.key_len, 2);
			CHECK_MEM(hh.key, nh == 0 ? "h1" : "h2", 2);
			if (nh == 0) {
				CHECK_EQ(hh.value_len, 2);
				CHECK_MEM(hh.value, "v1", 2);
			} else {
				CHECK_EQ(hh.value_len, -1);
			}
			nh++;
		}
		CHECK_EQ(nh, i % 3);
		i++;
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(i, 6);
	buf_deinit(&b);
}

TEST(batch_rejects_each_broken_field)
{
	buf_t b = BUF_INIT;
	build_sample(&b, 3);
	size_t n = buf_len(&b);
	uint8_t *orig = malloc(n), *p = malloc(n + 8);
	memcpy(orig, buf_data(&b), n);
	batch_hdr_t h;

	/* Too big: checked against max_bytes. */
	CHECK_EQ(batch_validate(orig, n, n - 1, &h), SL_ETOOBIG);
	CHECK_EQ(batch_validate(orig, n, n, &h), 0);

	/* Magic. */
	memcpy(p, orig, n);
	p[BATCH_OFF_MAGIC] = 1;
	CHECK_EQ(batch_validate(p, n, 1 << 20, &h), SL_ECORRUPT);

	/* BatchLength vs buffer: longer, shorter, below a header. */
	memcpy(p, orig, n);
	be32_store(p + BATCH_OFF_LENGTH, (uint32_t)(n - 12 + 1));
	CHECK_EQ(batch_validate(p, n, 1 << 20, &h), SL_ECORRUPT);
	be32_store(p + BATCH_OFF_LENGTH, (uint32_t)(n - 12 - 1));
	CHECK_EQ(batch_validate(p, n, 1 << 20, &h), SL_ECORRUPT);
	be32_store(p + BATCH_OFF_LENGTH, 10);
	CHECK_EQ(batch_validate(p, n, 1 << 20, &h), SL_ECORRUPT);
	memcpy(p, orig, n);
	p[n] = 0;
	CHECK_EQ(batch_validate(p, n + 1, 1 << 20, &h), SL_ECORRUPT);
	CHECK_EQ(batch_validate(p, 30, 1 << 20, &h), SL_ECORRUPT);

	/* CRC: a flipped byte anywhere in [21, end) and in the CRC itself. */
	for (size_t i = BATCH_OFF_CRC; i < n; i++) {
		memcpy(p, orig, n);
		p[i] ^= 0x40;
		CHECK_EQ(batch_validate(p, n, 1 << 20, &h), SL_ECORRUPT);
	}

	/* Record count vs LastOffsetDelta (CRC fixed up so only that is wrong). */
	memcpy(p, orig, n);
	be32_store(p + BATCH_OFF_RECORDS_COUNT, 4);
	be32_store(p + BATCH_OFF_CRC, crc32c(0, p + 21, n - 21));
	CHECK_EQ(batch_validate(p, n, 1 << 20, &h), SL_EPROTO);
	be32_store(p + BATCH_OFF_RECORDS_COUNT, 0);
	be32_store(p + BATCH_OFF_LAST_OFFSET_DELTA, (uint32_t)-1);
	be32_store(p + BATCH_OFF_CRC, crc32c(0, p + 21, n - 21));
	CHECK_EQ(batch_validate(p, n, 1 << 20, &h), SL_EPROTO);
	free(orig);
	free(p);
	buf_deinit(&b);
}

TEST(batch_base_offset_rewrite_keeps_crc)
{
	buf_t b = BUF_INIT;
	build_sample(&b, 4);
	uint8_t *p = buf_data(&b);
	batch_set_base_offset(p, 0x123456789aLL);
	batch_set_leader_epoch(p, 7);
	batch_hdr_t h;
	CHECK_EQ(batch_validate(p, buf_len(&b), 1 << 20, &h), 0);
	CHECK_EQ(h.base_offset, 0x123456789aLL);
	CHECK_EQ(h.leader_epoch, 7);
	CHECK_EQ(batch_last_offset(&h), 0x123456789aLL + 3);
	buf_deinit(&b);
}

TEST(batch_log_append_time_recomputes_crc)
{
	buf_t b = BUF_INIT;
	build_sample(&b, 4);
	uint8_t *p = buf_data(&b);
	uint32_t crc_before = be32_load(p + BATCH_OFF_CRC);
	batch_set_log_append_time(p, buf_len(&b), 1800000000000);
	batch_hdr_t h;
	CHECK_EQ(batch_validate(p, buf_len(&b), 1 << 20, &h), 0);
	CHECK(h.crc != crc_before);
	CHECK(h.attributes & BATCH_ATTR_LOG_APPEND_TIME);
	CHECK_EQ(h.max_ts, 1800000000000);
	CHECK_EQ(h.base_ts, 1700000000000);
	buf_deinit(&b);
}

TEST(batch_iter_rejects_malformed_records)
{
	buf_t b = BUF_INIT;
	build_sample(&b, 3);
	size_t n = buf_len(&b);
	uint8_t *orig = buf_data(&b);
	uint8_t *p = malloc(n);
	/* Flip every byte of the records section: the iterator must never read
	 * outside the batch (ASan checks) and either parse or say corrupt. */
	for (size_t i = BATCH_HDR_SIZE; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(p, orig, n);
			p[i] ^= (uint8_t)(1 << bit);
			batch_iter_t it;
			CHECK_EQ(batch_iter_init(&it, p, n), 0);
			batch_record_t r;
			int rc, guard = 0;
			while ((rc = batch_iter_next(&it, &r)) == 1) {
				batch_rec_headers_t hi;
				batch_rec_header_t hh;
				batch_rec_headers_init(&hi, &r);
				while (batch_rec_headers_next(&hi, &hh) == 1)
					;
				CHECK(++guard <= 3);
			}
			CHECK(rc == 0 || rc == SL_ECORRUPT);
		}
	}
	/* Compressed batches are not iterated. */
	memcpy(p, orig, n);
	p[BATCH_OFF_ATTRIBUTES + 1] |= 1;
	batch_iter_t it;
	CHECK_EQ(batch_iter_init(&it, p, n), SL_EINVAL);
	free(p);
	buf_deinit(&b);
}

TEST(batch_build_rejects_bad_input)
{
	buf_t b = BUF_INIT;
	batch_record_t r;
	memset(&r, 0, sizeof r);
	CHECK_EQ(batch_build(&b, NULL, &r, 0), SL_EINVAL);
	r.key_len = -2;
	CHECK_EQ(batch_build(&b, NULL, &r, 1), SL_EINVAL);
	r.key_len = -1;
	r.value_len = -1;
	CHECK_EQ(batch_build(&b, NULL, &r, 1), 0);
	batch_hdr_t h;
	CHECK_EQ(batch_validate(buf_data(&b), buf_len(&b), 1 << 20, &h), 0);
	buf_deinit(&b);
}

/* A batch of n records; record i has no key when its bit in keyless is set.
 * codec != 0 compresses the records with batch_compress. */
static void keyed_batch(buf_t *out, int n, unsigned keyless, int codec)
{
	batch_record_t recs[8];
	for (int i = 0; i < n; i++) {
		memset(&recs[i], 0, sizeof recs[i]);
		int none = (keyless >> i) & 1;
		recs[i].key = none ? NULL : (const uint8_t *)"key";
		recs[i].key_len = none ? -1 : 3;
		recs[i].value = (const uint8_t *)"value";
		recs[i].value_len = 5;
	}
	buf_t plain = BUF_INIT;
	CHECK_EQ(batch_build(&plain, NULL, recs, (size_t)n), 0);
	buf_append(out, buf_data(&plain), BATCH_HDR_SIZE);
	CHECK_EQ(batch_compress(codec, buf_data(&plain) + BATCH_HDR_SIZE,
	                        buf_len(&plain) - BATCH_HDR_SIZE, out),
	         0);
	uint8_t *q = buf_data(out);
	be16_store(q + BATCH_OFF_ATTRIBUTES, (uint16_t)codec);
	be32_store(q + BATCH_OFF_LENGTH, (uint32_t)(buf_len(out) - BATCH_LOG_OVERHEAD));
	be32_store(q + BATCH_OFF_CRC,
	           crc32c(0, q + BATCH_OFF_ATTRIBUTES, buf_len(out) - BATCH_OFF_ATTRIBUTES));
	buf_deinit(&plain);
}

TEST(batch_keyless_finds_records_without_key)
{
	for (int codec = 0; codec <= 4; codec++) {
		buf_t b = BUF_INIT;
		keyed_batch(&b, 6, 0x25, codec); /* records 0, 2 and 5 */
		int32_t idx[8];
		size_t n;
		CHECK_EQ(batch_keyless(buf_data(&b), buf_len(&b), 1 << 20, idx, 2, &n), 0);
		CHECK_EQ(n, 3);
		CHECK_EQ(idx[0], 0);
		CHECK_EQ(idx[1], 2);
		buf_reset(&b);
		keyed_batch(&b, 4, 0, codec);
		CHECK_EQ(batch_keyless(buf_data(&b), buf_len(&b), 1 << 20, idx, 8, &n), 0);
		CHECK_EQ(n, 0);
		/* Records that do not parse (or decompress) are an error. */
		if (codec == 0)
			buf_data(&b)[BATCH_HDR_SIZE] = 0x7f; /* first record's length */
		else
			memset(buf_data(&b) + BATCH_HDR_SIZE, 0xa5, 8);
		CHECK(batch_keyless(buf_data(&b), buf_len(&b), 1 << 20, idx, 8, &n) < 0);
		buf_deinit(&b);
	}
}
