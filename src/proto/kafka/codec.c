/*
 * codec.c — Kafka primitive types and headers; see codec.h. Pure functions.
 */
#include "proto/kafka/codec.h"

kstr_t kr_str(rd_t *r, int flex)
{
	int64_t len;
	if (flex)
		len = (int64_t)rd_uvarint(r) - 1;
	else
		len = (int16_t)rd_be16(r);
	if (r->err || len < -1)
		goto bad;
	if (len == -1)
		return KSTR_NULL;
	const uint8_t *p = rd_bytes(r, (size_t)len);
	if (!p)
		goto bad;
	return (kstr_t){(const char *)p, (int32_t)len};
bad:
	rd_fail(r);
	return KSTR_NULL;
}

kstr_t kr_bytes(rd_t *r, int flex)
{
	int64_t len;
	if (flex)
		len = (int64_t)rd_uvarint(r) - 1;
	else
		len = (int32_t)rd_be32(r);
	if (r->err || len < -1)
		goto bad;
	if (len == -1)
		return KSTR_NULL;
	const uint8_t *p = rd_bytes(r, (size_t)len);
	if (!p)
		goto bad;
	return (kstr_t){(const char *)p, (int32_t)len};
bad:
	rd_fail(r);
	return KSTR_NULL;
}

int32_t kr_arr(rd_t *r, int flex, size_t min_elem)
{
	int64_t n;
	if (flex)
		n = (int64_t)rd_uvarint(r) - 1;
	else
		n = (int32_t)rd_be32(r);
	if (r->err || n < -1)
		goto bad;
	if (n > 0 && (uint64_t)n * (min_elem ? min_elem : 1) > rd_left(r))
		goto bad;
	return (int32_t)n;
bad:
	rd_fail(r);
	return 0;
}

void kr_tags(rd_t *r, int flex)
{
	if (!flex)
		return;
	uint32_t n = rd_uvarint(r);
	for (uint32_t i = 0; i < n && !r->err; i++) {
		(void)rd_uvarint(r); /* tag */
		uint32_t size = rd_uvarint(r);
		rd_skip(r, size);
	}
}

void kw_strn(buf_t *b, int flex, const char *s, int32_t len)
{
	if (len < 0 || (!s && len > 0)) {
		if (flex)
			buf_put_uvarint(b, 0);
		else
			buf_put_be16(b, 0xffff);
		return;
	}
	if (flex)
		buf_put_uvarint(b, (uint64_t)len + 1);
	else
		buf_put_be16(b, (uint16_t)len);
	buf_append(b, s, (size_t)len);
}

void kw_str(buf_t *b, int flex, const char *s)
{
	kw_strn(b, flex, s, s ? (int32_t)strlen(s) : -1);
}

void kw_bytes_len(buf_t *b, int flex, int32_t len)
{
	if (flex)
		buf_put_uvarint(b, len < 0 ? 0 : (uint64_t)len + 1);
	else
		buf_put_be32(b, (uint32_t)len);
}

void kw_arr(buf_t *b, int flex, int32_t n)
{
	if (flex)
		buf_put_uvarint(b, n < 0 ? 0 : (uint64_t)n + 1);
	else
		buf_put_be32(b, (uint32_t)n);
}

void kw_uuid(buf_t *b, const uint8_t uuid[16])
{
	static const uint8_t zero[16];
	buf_append(b, uuid ? uuid : zero, 16);
}

int kafka_reqhdr_read(rd_t *r, kafka_reqhdr_t *h)
{
	h->ApiKey = kr_i16(r);
	h->ApiVersion = kr_i16(r);
	h->CorrelationId = kr_i32(r);
	h->ClientId = kr_str(r, 0);
	return r->err ? SL_EPROTO : 0;
}

size_t kafka_resp_begin(buf_t *b, int32_t correlation_id, int hdr_flex)
{
	size_t mark = buf_len(b);
	buf_put_be32(b, 0);
	buf_put_be32(b, (uint32_t)correlation_id);
	kw_tags(b, hdr_flex);
	return mark;
}

void kafka_resp_end(buf_t *b, size_t mark)
{
	be32_store(buf_data(b) + mark, (uint32_t)(buf_len(b) - mark - 4));
}
