/*
 * records.c — the records of a stored RecordBatch v2, for the console's
 * message browser (http.h http_batch_records).
 *
 * The log stores batches as producers sent them, compressed or not (the
 * hot path never decompresses). Showing a record means decompressing its
 * batch here, on request (store/batch.h batch_records_plain). Output is
 * capped (max_out): a batch that inflates past it is refused (SL_ETOOBIG)
 * instead of allocating whatever it claims.
 *
 * Record layout (batch.h): length varint, attributes i8, timestampDelta
 * varlong, offsetDelta varint, key, value, headers; varints are zigzag.
 * Every length is checked against the bytes left before it is used.
 * Pure functions; thread-safe.
 */
#include "http/http.h"

#include "core/err.h"
#include "core/varint.h"
#include "store/batch.h"

#include <string.h>

const char *http_codec_name(int attributes)
{
	static const char *const names[8] = {"none", "gzip",      "snappy",    "lz4",
	                                     "zstd", "unknown-5", "unknown-6", "unknown-7"};
	return names[attributes & BATCH_ATTR_CODEC_MASK];
}

/* Reads a zigzag varint from *p..end; returns -1 when malformed. */
static int rdv(const uint8_t **p, const uint8_t *end, int64_t *out)
{
	uint64_t u;
	int n = varint_dec_u64(*p, (size_t)(end - *p), VARINT_MAX, &u);
	if (n <= 0)
		return -1;
	*p += n;
	*out = varint_unzigzag(u);
	return 0;
}

/* A length-prefixed byte string (-1: null). */
static int rdbytes(const uint8_t **p, const uint8_t *end, const uint8_t **s, size_t *n)
{
	int64_t len;
	if (rdv(p, end, &len) < 0 || len < -1 || len > end - *p)
		return -1;
	*s = len < 0 ? NULL : *p;
	*n = len < 0 ? 0 : (size_t)len;
	*p += len < 0 ? 0 : len;
	return 0;
}

int http_batch_records(const uint8_t *p, size_t len, int64_t from, size_t max_out,
                       int (*fn)(void *arg, const http_rec_t *rec), void *arg, const char **codec)
{
	batch_hdr_t h;
	*codec = "none";
	if (batch_peek(p, len, &h) < 0 || batch_size(&h) > len)
		return SL_ECORRUPT;
	*codec = http_codec_name(h.attributes);
	const uint8_t *recs = p + BATCH_HDR_SIZE;
	size_t rn = batch_size(&h) - BATCH_HDR_SIZE;
	buf_t plain = BUF_INIT;
	int rc = batch_records_plain(p, &h, max_out, &plain, &recs, &rn);
	if (rc < 0)
		goto out;
	const uint8_t *q = recs, *end = recs + rn;
	for (int32_t i = 0; i < h.count && q < end; i++) {
		int64_t rlen, attr_ts, off_delta, nh;
		if (rdv(&q, end, &rlen) < 0 || rlen < 1 || rlen > end - q) {
			rc = SL_ECORRUPT;
			break;
		}
		const uint8_t *r = q + 1, *rend = q + rlen; /* skip attributes */
		q = rend;
		http_rec_t rec = {0};
		if (rdv(&r, rend, &attr_ts) < 0 || rdv(&r, rend, &off_delta) < 0 ||
		    rdbytes(&r, rend, &rec.key, &rec.key_len) < 0 ||
		    rdbytes(&r, rend, &rec.value, &rec.value_len) < 0 || rdv(&r, rend, &nh) < 0 ||
		    nh < 0 || nh > INT32_MAX) {
			rc = SL_ECORRUPT;
			break;
		}
		rec.offset = h.base_offset + off_delta;
		rec.timestamp =
		    (h.attributes & BATCH_ATTR_LOG_APPEND_TIME) ? h.max_ts : h.base_ts + attr_ts;
		rec.headers = r;
		rec.headers_len = (size_t)(rend - r);
		rec.nheaders = (int32_t)nh;
		if (rec.offset >= from && fn(arg, &rec))
			break;
	}
out:
	buf_deinit(&plain);
	return rc;
}

int http_rec_header(const uint8_t **p, const uint8_t *end, const uint8_t **k, size_t *kn,
                    const uint8_t **v, size_t *vn)
{
	return rdbytes(p, end, k, kn) < 0 || !*k || rdbytes(p, end, v, vn) < 0 ? -1 : 0;
}
