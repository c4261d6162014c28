/*
 * batch.h — Kafka RecordBatch v2 (magic 2): the unit the partition log
 * stores, as received from the producer.
 *
 * A batch is opaque bytes peeked at fixed offsets (all integers big-endian):
 *
 *   off size field
 *    0   8   BaseOffset            rewritten by the broker (outside the CRC)
 *    8   4   BatchLength           bytes after this field; batch = len + 12
 *   12   4   PartitionLeaderEpoch  set by the broker (outside the CRC)
 *   16   1   Magic                 2
 *   17   4   CRC                   CRC-32C of bytes [21, end)
 *   21   2   Attributes            bits 0-2 codec, 3 LogAppendTime,
 *                                  4 transactional, 5 control
 *   23   4   LastOffsetDelta       = RecordsCount - 1
 *   27   8   BaseTimestamp
 *   35   8   MaxTimestamp
 *   43   8   ProducerId
 *   51   2   ProducerEpoch
 *   53   4   BaseSequence
 *   57   4   RecordsCount
 *   61   ... Records (one compressed blob when codec != 0)
 *
 * Record (uncompressed): length varint, attributes i8, timestampDelta
 * varlong, offsetDelta varint, keyLength varint (-1 null), key, valueLength
 * varint (-1 null), value, headerCount varint, then per header keyLength
 * varint, key, valueLength varint (-1 null), value. Varints are zigzag.
 *
 * The hot path never looks inside the records: validation checks the
 * header, the length against the buffer and the CRC. The builder and the
 * iterator serve the RESP stream code and tests (uncompressed only).
 * Pure functions; thread-safe.
 */
#ifndef SL_STORE_BATCH_H
#define SL_STORE_BATCH_H

#include "core/buf.h"
#include "core/rd.h"

#include <stddef.h>
#include <stdint.h>

#define BATCH_OFF_BASE_OFFSET 0
#define BATCH_OFF_LENGTH 8
#define BATCH_OFF_LEADER_EPOCH 12
#define BATCH_OFF_MAGIC 16
#define BATCH_OFF_CRC 17
#define BATCH_OFF_ATTRIBUTES 21
#define BATCH_OFF_LAST_OFFSET_DELTA 23
#define BATCH_OFF_BASE_TIMESTAMP 27
#define BATCH_OFF_MAX_TIMESTAMP 35
#define BATCH_OFF_PRODUCER_ID 43
#define BATCH_OFF_PRODUCER_EPOCH 51
#define BATCH_OFF_BASE_SEQUENCE 53
#define BATCH_OFF_RECORDS_COUNT 57
#define BATCH_HDR_SIZE 61     /* fixed header, records follow */
#define BATCH_LOG_OVERHEAD 12 /* BaseOffset + BatchLength */
#define BATCH_MAGIC 2

#define BATCH_ATTR_CODEC_MASK 0x07
#define BATCH_ATTR_LOG_APPEND_TIME 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL 0x20

/* The decoded fixed header. */
typedef struct batch_hdr {
	int64_t base_offset;
	int32_t length; /* BatchLength: the batch is length + 12 bytes */
	int32_t leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_ts;
	int64_t max_ts;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t count;
} batch_hdr_t;

/* Bytes of the whole batch described by h. */
static inline size_t batch_size(const batch_hdr_t *h)
{
	return (size_t)h->length + BATCH_LOG_OVERHEAD;
}
/* Offset of the batch's last record. */
static inline int64_t batch_last_offset(const batch_hdr_t *h)
{
	return h->base_offset + h->last_offset_delta;
}

/* Decodes the fixed header from p[0..n) (borrowed). Returns 0, SL_EAGAIN
 * when n < BATCH_HDR_SIZE, or SL_ECORRUPT when the magic is not 2 or the
 * BatchLength is shorter than a header. Checks no CRC. */
int batch_peek(const uint8_t *p, size_t n, batch_hdr_t *h);

/* Whether the stored CRC matches bytes [21, len) of the batch p[0..len). */
int batch_crc_ok(const uint8_t *p, size_t len);

/* Full validation of one batch that must fill p[0..len) exactly, as done on
 * append. Returns 0 and the header in *h, or:
 *   SL_ETOOBIG   len > max_bytes
 *   SL_ECORRUPT  short buffer, magic != 2, BatchLength != len - 12, CRC
 *   SL_EPROTO    RecordsCount <= 0 or != LastOffsetDelta + 1 */
int batch_validate(const uint8_t *p, size_t len, size_t max_bytes, batch_hdr_t *h);

/* Rewrites fields outside the CRC; no recomputation needed. */
void batch_set_base_offset(uint8_t *p, int64_t base_offset);
void batch_set_leader_epoch(uint8_t *p, int32_t epoch);
/* Sets the timestamp type to LogAppendTime and MaxTimestamp to ts, then
 * recomputes the CRC over p[21..len) (KIP-32; Kafka's setMaxTimestamp). */
void batch_set_log_append_time(uint8_t *p, size_t len, int64_t ts);

/* --- records ------------------------------------------------------------ */

/* One record header (Kafka record headers, KIP-82). value_len -1 is null;
 * key_len is never negative. */
typedef struct batch_rec_header {
	const uint8_t *key;
	int32_t key_len;
	const uint8_t *value;
	int32_t value_len;
} batch_rec_header_t;

/* One record. For the builder every pointer is borrowed input; from the
 * iterator every pointer is a view into the batch, valid while it is.
 * key_len / value_len -1 mean null. */
typedef struct batch_record {
	int64_t offset;    /* iterator: BaseOffset + offsetDelta; ignored by the builder */
	int64_t timestamp; /* absolute (BaseTimestamp + timestampDelta) */
	const uint8_t *key;
	int32_t key_len;
	const uint8_t *value;
	int32_t value_len;
	/* Builder input: headers[0..nheaders). */
	const batch_rec_header_t *headers;
	int32_t nheaders;
	/* Iterator output: the encoded headers, read them with
	 * batch_rec_headers_init / batch_rec_headers_next. */
	const uint8_t *headers_raw;
	size_t headers_raw_len;
} batch_record_t;

/* Producer fields for the builder; NULL gives the non-idempotent defaults
 * (-1, -1, -1) and CreateTime. */
typedef struct batch_build_opts {
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int64_t base_offset;
	int log_append_time; /* timestamp type bit (MaxTimestamp still = max) */
} batch_build_opts_t;

/* Appends one uncompressed batch holding recs[0..n) to out, with a valid
 * CRC. BaseTimestamp is the first record's timestamp, MaxTimestamp the
 * largest. Returns 0, or SL_EINVAL when n == 0 or a length is negative
 * (other than -1 for null key/value), or SL_ETOOBIG when the batch would
 * exceed INT32_MAX bytes. */
int batch_build(buf_t *out, const batch_build_opts_t *opts, const batch_record_t *recs, size_t n);

/* Iterates the records of one uncompressed batch p[0..len) (borrowed). */
typedef struct batch_iter {
	batch_hdr_t hdr;
	rd_t r;
	int32_t left;
	int err;
} batch_iter_t;

/* Returns 0, SL_ECORRUPT for a malformed header or length, or SL_EINVAL for
 * a compressed batch (the iterator does not decompress). */
int batch_iter_init(batch_iter_t *it, const uint8_t *p, size_t len);
/* Returns 1 with *rec filled, 0 after the last record, or SL_ECORRUPT when
 * a record is malformed or the records do not fill the batch exactly
 * (sticky). */
int batch_iter_next(batch_iter_t *it, batch_record_t *rec);

/* --- inside a batch (batch_codec.c) --------------------------------------------- */

/* The records of the batch p (header h) in plain form: *recs and *rn point into
 * p when it is uncompressed, else into `plain` (decompressed, at most
 * max_out bytes). Returns 0, SL_ECORRUPT, SL_ETOOBIG or SL_EINVAL (unknown
 * codec). */
int batch_records_plain(const uint8_t *p, const batch_hdr_t *h, size_t max_out, buf_t *plain,
                        const uint8_t **recs, size_t *rn);
/* Appends records p[0..n) compressed with codec (batch attributes bits
 * 0-2: 0 none, 1 gzip, 2 snappy in the xerial framing, 3 lz4 frame, 4
 * zstd) to out. Returns 0, or SL_EINVAL (unknown codec, encoder failure). */
int batch_compress(int codec, const uint8_t *p, size_t n, buf_t *out);
/* The indexes (in the batch, from 0) of the records of batch p[0..len)
 * that have no key: the first max_idx of them in idx, how many in all in *n.
 * Decompresses (at most max_out bytes). Returns 0 or a decoding error. */
int batch_keyless(const uint8_t *p, size_t len, size_t max_out, int32_t *idx, size_t max_idx,
                  size_t *n);
/* The first record of batch p[0..len) whose timestamp is at or after ts
 * (ts = the batch's MaxTimestamp finds the record holding it): its offset
 * and timestamp. Returns 0, SL_ENOENT (none), or a decoding error. */
int batch_find_time(const uint8_t *p, size_t len, int64_t ts, size_t max_out, int64_t *offset,
                    int64_t *rts);

/* --- control batches (transaction markers, KIP-98) ------------------------------ */

/* A control record's key is (i16 version 0, i16 type); type 0 is ABORT,
 * 1 COMMIT. Its value is (i16 version 0, i32 coordinator epoch). The batch
 * carries attributes transactional|control, the producer's id and epoch,
 * BaseSequence -1, and one record. */
#define BATCH_CONTROL_ABORT 0
#define BATCH_CONTROL_COMMIT 1

/* Appends one control batch (a commit or abort marker of producer pid at
 * epoch) with timestamp ts and a valid CRC to out. Returns 0. */
int batch_build_control(buf_t *out, int64_t pid, int16_t epoch, int commit, int32_t coord_epoch,
                        int64_t ts);
/* The marker type of the control batch p[0..len) (BATCH_CONTROL_*), or
 * SL_ECORRUPT when it is not a readable control batch. */
int batch_control_type(const uint8_t *p, size_t len);

/* Reads the headers of a record from the iterator. */
typedef struct batch_rec_headers {
	rd_t r;
	int32_t left;
} batch_rec_headers_t;
void batch_rec_headers_init(batch_rec_headers_t *hi, const batch_record_t *rec);
/* Returns 1 with *h filled, 0 at the end, SL_ECORRUPT when malformed. */
int batch_rec_headers_next(batch_rec_headers_t *hi, batch_rec_header_t *h);

#endif
