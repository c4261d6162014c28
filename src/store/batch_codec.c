/*
 * batch_codec.c — the records of a stored RecordBatch v2 in plain form
 * (decompressing when the producer compressed them), and the exact record
 * of a timestamp lookup; see batch.h.
 *
 * Codecs, as the batch's attributes name them:
 *   1 gzip    zlib (gzip wrapper)
 *   2 snappy  raw snappy, or the xerial framing the Java client writes
 *             ("\x82SNAPPY\0", version, compat, then [u32 len][block]...)
 *   3 lz4     the LZ4 frame format (KIP-57)
 *   4 zstd    a zstd frame (KIP-110), possibly without a content size
 * Output is capped (max_out): a batch that inflates past it is refused
 * (SL_ETOOBIG) instead of allocating whatever it claims. Only requests
 * that must look inside a batch come here (the console's browser, a
 * ListOffsets by time landing in the batch): never the produce path.
 * Pure functions; thread-safe.
 */
#include "store/batch.h"

#include "core/err.h"
#include "core/varint.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static int gunzip(const uint8_t *p, size_t n, size_t max, buf_t *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return SL_ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	int rc = Z_OK;
	while (rc != Z_STREAM_END) {
		if (buf_len(out) >= max) {
			rc = Z_BUF_ERROR;
			break;
		}
		size_t room = max - buf_len(out) < 65536 ? max - buf_len(out) : 65536;
		z.next_out = buf_reserve(out, room);
		z.avail_out = (uInt)room;
		rc = inflate(&z, Z_NO_FLUSH);
		buf_commit(out, room - z.avail_out);
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
		if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0)
			break; /* truncated */
	}
	int full = buf_len(out) >= max;
	inflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : full ? SL_ETOOBIG : SL_ECORRUPT;
}

static int unsnappy_block(const uint8_t *p, size_t n, size_t max, buf_t *out)
{
	size_t len;
	if (snappy_uncompressed_length((const char *)p, n, &len) != SNAPPY_OK)
		return SL_ECORRUPT;
	if (len > max - buf_len(out))
		return SL_ETOOBIG;
	char *dst = (char *)buf_reserve(out, len ? len : 1);
	if (snappy_uncompress((const char *)p, n, dst, &len) != SNAPPY_OK)
		return SL_ECORRUPT;
	buf_commit(out, len);
	return 0;
}

static int unsnappy(const uint8_t *p, size_t n, size_t max, buf_t *out)
{
	static const uint8_t xerial[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
	if (n < 16 || memcmp(p, xerial, 8) != 0)
		return unsnappy_block(p, n, max, out);
	for (size_t i = 16; i < n;) {
		if (n - i < 4)
			return SL_ECORRUPT;
		uint32_t bl = be32_load(p + i);
		i += 4;
		if (bl > n - i)
			return SL_ECORRUPT;
		int rc = unsnappy_block(p + i, bl, max, out);
		if (rc < 0)
			return rc;
		i += bl;
	}
	return 0;
}

static int unlz4(const uint8_t *p, size_t n, size_t max, buf_t *out)
{
	LZ4F_dctx *d;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION)))
		return SL_ENOMEM;
	int rc = SL_ECORRUPT;
	size_t used = 0;
	for (;;) {
		if (buf_len(out) >= max) {
			rc = SL_ETOOBIG;
			break;
		}
		size_t room = max - buf_len(out) < 65536 ? max - buf_len(out) : 65536;
		size_t dn = room, sn = n - used;
		size_t r = LZ4F_decompress(d, buf_reserve(out, room), &dn, p + used, &sn, NULL);
		if (LZ4F_isError(r))
			break;
		buf_commit(out, dn);
		used += sn;
		if (r == 0) {
			rc = 0; /* frame complete */
			break;
		}
		if (used >= n && dn == 0)
			break; /* truncated */
	}
	LZ4F_freeDecompressionContext(d);
	return rc;
}

static int unzstd(const uint8_t *p, size_t n, size_t max, buf_t *out)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	if (!d)
		return SL_ENOMEM;
	ZSTD_inBuffer in = {p, n, 0};
	int rc = SL_ECORRUPT;
	for (;;) {
		if (buf_len(out) >= max) {
			rc = SL_ETOOBIG;
			break;
		}
		size_t room = max - buf_len(out) < 65536 ? max - buf_len(out) : 65536;
		ZSTD_outBuffer ob = {buf_reserve(out, room), room, 0};
		size_t r = ZSTD_decompressStream(d, &ob, &in);
		if (ZSTD_isError(r))
			break;
		buf_commit(out, ob.pos);
		if (r == 0) {
			rc = 0;
			break;
		}
		if (in.pos >= in.size && ob.pos == 0)
			break; /* truncated */
	}
	ZSTD_freeDStream(d);
	return rc;
}

int batch_records_plain(const uint8_t *p, const batch_hdr_t *h, size_t max_out, buf_t *plain,
                        const uint8_t **recs, size_t *rn)
{
	*recs = p + BATCH_HDR_SIZE;
	*rn = batch_size(h) - BATCH_HDR_SIZE;
	int rc = 0;
	switch (h->attributes & BATCH_ATTR_CODEC_MASK) {
	case 0:
		return 0;
	case 1:
		rc = gunzip(*recs, *rn, max_out, plain);
		break;
	case 2:
		rc = unsnappy(*recs, *rn, max_out, plain);
		break;
	case 3:
		rc = unlz4(*recs, *rn, max_out, plain);
		break;
	case 4:
		rc = unzstd(*recs, *rn, max_out, plain);
		break;
	default:
		rc = SL_EINVAL;
	}
	if (rc < 0)
		return rc;
	*recs = buf_data(plain);
	*rn = buf_len(plain);
	return 0;
}

/* A zigzag varint from *q..end; -1 when malformed. */
static int rdv(const uint8_t **q, const uint8_t *end, int64_t *out)
{
	uint64_t u;
	int n = varint_dec_u64(*q, (size_t)(end - *q), VARINT_MAX, &u);
	if (n <= 0)
		return -1;
	*q += n;
	*out = varint_unzigzag(u);
	return 0;
}

int batch_find_time(const uint8_t *p, size_t len, int64_t ts, size_t max_out, int64_t *offset,
                    int64_t *rts)
{
	batch_hdr_t h;
	if (batch_peek(p, len, &h) < 0 || batch_size(&h) > len)
		return SL_ECORRUPT;
	/* LogAppendTime: every record has the batch's time. */
	if (h.attributes & BATCH_ATTR_LOG_APPEND_TIME) {
		if (h.max_ts < ts)
			return SL_ENOENT;
		*offset = h.base_offset;
		*rts = h.max_ts;
		return 0;
	}
	buf_t plain = BUF_INIT;
	const uint8_t *recs;
	size_t rn;
	int rc = batch_records_plain(p, &h, max_out, &plain, &recs, &rn);
	if (rc < 0)
		goto out;
	rc = SL_ENOENT;
	const uint8_t *q = recs, *end = recs + rn;
	for (int32_t i = 0; i < h.count && q < end; i++) {
		int64_t rlen, ts_delta, off_delta;
		if (rdv(&q, end, &rlen) < 0 || rlen < 1 || rlen > end - q) {
			rc = SL_ECORRUPT;
			break;
		}
		const uint8_t *r = q + 1, *rend = q + rlen; /* past the attributes */
		q = rend;
		if (rdv(&r, rend, &ts_delta) < 0 || rdv(&r, rend, &off_delta) < 0) {
			rc = SL_ECORRUPT;
			break;
		}
		if (h.base_ts + ts_delta >= ts) {
			*offset = h.base_offset + off_delta;
			*rts = h.base_ts + ts_delta;
			rc = 0;
			break;
		}
	}
out:
	buf_deinit(&plain);
	return rc;
}

/* --- compressing (the log cleaner re-encodes batches it shrank) ---------------- */

static int gzip_out(const uint8_t *p, size_t n, buf_t *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	/* 15 + 16: a gzip wrapper, as Kafka writes (GZIPOutputStream). */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return SL_ENOMEM;
	size_t room = deflateBound(&z, (uLong)n);
	z.next_in = (Bytef *)(uintptr_t)p;
	z.avail_in = (uInt)n;
	z.next_out = buf_reserve(out, room);
	z.avail_out = (uInt)room;
	int zr = deflate(&z, Z_FINISH);
	size_t done = room - z.avail_out;
	deflateEnd(&z);
	if (zr != Z_STREAM_END)
		return SL_EINVAL;
	buf_commit(out, done);
	return 0;
}

/* The xerial framing (magic, version 1, compatible 1, then length-prefixed
 * raw blocks): what the Java client writes and every client reads. */
static int snappy_out(const uint8_t *p, size_t n, buf_t *out)
{
	static const uint8_t magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
	buf_append(out, magic, sizeof magic);
	buf_put_be32(out, 1);
	buf_put_be32(out, 1);
	const size_t block = 32768;
	for (size_t at = 0; at < n; at += block) {
		size_t len = n - at < block ? n - at : block;
		size_t room = snappy_max_compressed_length(len);
		uint8_t *dst = buf_reserve(out, 4 + room);
		if (snappy_compress((const char *)p + at, len, (char *)dst + 4, &room) != SNAPPY_OK)
			return SL_EINVAL;
		be32_store(dst, (uint32_t)room);
		buf_commit(out, 4 + room);
	}
	return 0;
}

static int lz4_out(const uint8_t *p, size_t n, buf_t *out)
{
	size_t room = LZ4F_compressFrameBound(n, NULL);
	size_t r = LZ4F_compressFrame(buf_reserve(out, room), room, p, n, NULL);
	if (LZ4F_isError(r))
		return SL_EINVAL;
	buf_commit(out, r);
	return 0;
}

static int zstd_out(const uint8_t *p, size_t n, buf_t *out)
{
	size_t room = ZSTD_compressBound(n);
	size_t r = ZSTD_compress(buf_reserve(out, room), room, p, n, 3);
	if (ZSTD_isError(r))
		return SL_EINVAL;
	buf_commit(out, r);
	return 0;
}

int batch_compress(int codec, const uint8_t *p, size_t n, buf_t *out)
{
	switch (codec) {
	case 0:
		buf_append(out, p, n);
		return 0;
	case 1:
		return gzip_out(p, n, out);
	case 2:
		return snappy_out(p, n, out);
	case 3:
		return lz4_out(p, n, out);
	case 4:
		return zstd_out(p, n, out);
	default:
		return SL_EINVAL;
	}
}

int batch_keyless(const uint8_t *p, size_t len, size_t max_out, int32_t *idx, size_t max_idx,
                  size_t *n)
{
	batch_hdr_t h;
	*n = 0;
	if (batch_peek(p, len, &h) < 0 || batch_size(&h) > len)
		return SL_ECORRUPT;
	buf_t plain = BUF_INIT;
	const uint8_t *recs;
	size_t rn;
	int rc = batch_records_plain(p, &h, max_out, &plain, &recs, &rn);
	const uint8_t *q = recs, *end = recs + (rc == 0 ? rn : 0);
	for (int32_t i = 0; rc == 0 && i < h.count; i++) {
		int64_t rlen, v;
		if (rdv(&q, end, &rlen) < 0 || rlen < 1 || rlen > end - q) {
			rc = SL_ECORRUPT;
			break;
		}
		const uint8_t *r = q + 1, *rend = q + rlen; /* past the attributes */
		q = rend;
		/* timestampDelta, offsetDelta, then the key length */
		if (rdv(&r, rend, &v) < 0 || rdv(&r, rend, &v) < 0 || rdv(&r, rend, &v) < 0) {
			rc = SL_ECORRUPT;
			break;
		}
		if (v < 0 && *n < max_idx)
			idx[*n] = i;
		*n += v < 0;
	}
	buf_deinit(&plain);
	return rc;
}
