/*
 * codec.h — the Kafka wire codec: request/response headers and the
 * primitive field types of both the classic and the flexible encodings.
 *
 * Classic versions use int16-length strings and int32-length arrays and
 * bytes. Flexible versions (KIP-482) use "compact" forms whose length is an
 * unsigned varint of length+1 (0 = null), and end every struct with a
 * tagged-field section. Every reader/writer here takes the `flex` flag of
 * the request version, so one handler serves all versions of an API.
 *
 * Readers work on rd_t (core/rd.h): read a whole request, check r->err once.
 * Array and byte lengths are checked against what is left in the frame
 * before a caller can allocate for them. Writers append to a buf_t.
 * Pure functions; loop thread (and tests).
 */
#ifndef SL_PROTO_KAFKA_CODEC_H
#define SL_PROTO_KAFKA_CODEC_H

#include "core/buf.h"
#include "core/rd.h"

#include <stddef.h>
#include <stdint.h>

/* A borrowed view of a string or byte field; len -1 means null. */
typedef struct kstr {
	const char *p;
	int32_t len;
} kstr_t;

#define KSTR_NULL ((kstr_t){NULL, -1})

static inline int kstr_eq(kstr_t s, const char *z)
{
	size_t n = strlen(z);
	return s.len >= 0 && (size_t)s.len == n && memcmp(s.p, z, n) == 0;
}

/* --- readers --------------------------------------------------------------- */

static inline int8_t kr_i8(rd_t *r)
{
	return (int8_t)rd_u8(r);
}
static inline int16_t kr_i16(rd_t *r)
{
	return (int16_t)rd_be16(r);
}
static inline int32_t kr_i32(rd_t *r)
{
	return (int32_t)rd_be32(r);
}
static inline int64_t kr_i64(rd_t *r)
{
	return (int64_t)rd_be64(r);
}

/* STRING / NULLABLE_STRING (int16 length) or COMPACT_(NULLABLE_)STRING. */
kstr_t kr_str(rd_t *r, int flex);
/* BYTES / NULLABLE_BYTES / RECORDS (int32 length) or their compact forms. */
kstr_t kr_bytes(rd_t *r, int flex);
/* An array's element count, -1 for null. Fails the reader when the count
 * could not possibly fit in the rest of the frame (each element takes at
 * least min_elem bytes), so callers may allocate count elements. */
int32_t kr_arr(rd_t *r, int flex, size_t min_elem);
/* Skips a tagged-field section (flexible versions only; no-op otherwise). */
void kr_tags(rd_t *r, int flex);
/* A 16-byte UUID; returns a view or NULL. */
static inline const uint8_t *kr_uuid(rd_t *r)
{
	return rd_bytes(r, 16);
}

/* --- writers --------------------------------------------------------------- */

static inline void kw_i8(buf_t *b, int8_t v)
{
	buf_put_u8(b, (uint8_t)v);
}
static inline void kw_bool(buf_t *b, int v)
{
	buf_put_u8(b, v ? 1 : 0);
}
static inline void kw_i16(buf_t *b, int16_t v)
{
	buf_put_be16(b, (uint16_t)v);
}
static inline void kw_i32(buf_t *b, int32_t v)
{
	buf_put_be32(b, (uint32_t)v);
}
static inline void kw_i64(buf_t *b, int64_t v)
{
	buf_put_be64(b, (uint64_t)v);
}

/* Writes a string of len bytes (len -1: null). */
void kw_strn(buf_t *b, int flex, const char *s, int32_t len);
/* Writes a NUL-terminated string, or null for s == NULL. */
void kw_str(buf_t *b, int flex, const char *s);
static inline void kw_kstr(buf_t *b, int flex, kstr_t s)
{
	kw_strn(b, flex, s.p, s.len);
}
/* Writes a bytes length (len -1: null) followed by nothing: the caller
 * appends the bytes (or queues them as a file region). */
void kw_bytes_len(buf_t *b, int flex, int32_t len);
/* Writes an array count (n -1: null). */
void kw_arr(buf_t *b, int flex, int32_t n);
/* An empty tagged-field section (flexible versions only). */
static inline void kw_tags(buf_t *b, int flex)
{
	if (flex)
		buf_put_u8(b, 0);
}
void kw_uuid(buf_t *b, const uint8_t uuid[16]);

/* --- headers --------------------------------------------------------------- */

typedef struct kafka_reqhdr {
	int16_t ApiKey;
	int16_t ApiVersion;
	int32_t CorrelationId;
	kstr_t ClientId;
} kafka_reqhdr_t;

/* Reads request header v1 (key, version, correlation id, nullable client
 * id with an int16 length — never compact, even in header v2). The caller
 * then skips the v2 tagged fields with kr_tags() once it knows the version
 * is flexible. Returns 0 or SL_EPROTO. */
int kafka_reqhdr_read(rd_t *r, kafka_reqhdr_t *h);

/* Starts a response frame in b: a size placeholder, the correlation id and,
 * for response header v1 (hdr_flex), an empty tagged-field section.
 * Returns a mark for kafka_resp_end (an offset from buf_data(b), stable
 * across buffer growth). */
size_t kafka_resp_begin(buf_t *b, int32_t correlation_id, int hdr_flex);
/* Patches the frame's size field. */
void kafka_resp_end(buf_t *b, size_t mark);

#endif
