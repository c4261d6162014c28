/*
 * rdb.h — the DUMP / RESTORE payload: one value in Redis's RDB
 * serialization, as Redis 7.0 (RDB version 10) writes and reads it:
 *
 *   <type byte> <value> <RDB version: 2 bytes LE> <CRC64 (Jones): 8 bytes LE>
 *
 * the CRC covering everything before it. The decoder reads what redis-server
 * 7.0 dumps and older encodings it still loads: strings (raw, integer and
 * LZF-compressed), lists (linked list, quicklist of ziplists or of
 * listpacks), sets (plain, intset), sorted sets (ZSET, ZSET_2, ziplist,
 * listpack), hashes (plain, ziplist, listpack), streams (STREAM_LISTPACKS
 * and 7.0's STREAM_LISTPACKS_2, with consumer groups, their pending
 * entries and consumers). Modules are refused (bad data format). The
 * encoder writes the simplest types 7.0 loads: STRING, LIST, SET, ZSET_2,
 * HASH, and STREAM_LISTPACKS_2 through the stream helpers below.
 *
 * A payload is client input: every length is checked against the bytes
 * left before anything is allocated, an LZF length against what the
 * compressed bytes can expand to. Pure functions, any thread.
 */
#ifndef SL_PROTO_RESP_RDB_H
#define SL_PROTO_RESP_RDB_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

#define RDB_VERSION 10

enum {
	RDB_TYPE_STRING = 0,
	RDB_TYPE_LIST = 1,
	RDB_TYPE_SET = 2,
	RDB_TYPE_ZSET = 3,
	RDB_TYPE_HASH = 4,
	RDB_TYPE_ZSET_2 = 5,
	RDB_TYPE_LIST_ZIPLIST = 10,
	RDB_TYPE_SET_INTSET = 11,
	RDB_TYPE_ZSET_ZIPLIST = 12,
	RDB_TYPE_HASH_ZIPLIST = 13,
	RDB_TYPE_LIST_QUICKLIST = 14,
	RDB_TYPE_HASH_LISTPACK = 16,
	RDB_TYPE_ZSET_LISTPACK = 17,
	RDB_TYPE_LIST_QUICKLIST_2 = 18,
	RDB_TYPE_STREAM_LISTPACKS = 15,
	RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};

/* A stream's parts ('x' values; entries' fields and values are the
 * value's items, in order, npairs[i] pairs for entry i). */
typedef struct rdb_id {
	uint64_t ms, seq;
} rdb_id_t;

typedef struct rdb_nack {
	rdb_id_t id;
	int64_t dtime;
	uint64_t count;
} rdb_nack_t;

typedef struct rdb_consumer {
	char *name;
	size_t nlen;
	int64_t seen;
	size_t npel;
	rdb_id_t *pel;
} rdb_consumer_t;

typedef struct rdb_group {
	char *name;
	size_t nlen;
	rdb_id_t last;
	int64_t entries_read;
	size_t npel, ncons;
	rdb_nack_t *pel;
	rdb_consumer_t *cons;
} rdb_group_t;

typedef struct rdb_stream {
	size_t nent, entcap;
	rdb_id_t *ids;
	uint32_t *npairs;
	rdb_id_t last, maxdel;
	int64_t entries_added; /* -1: unknown (RDB_TYPE_STREAM_LISTPACKS) */
	size_t ngroups;
	rdb_group_t *groups;
} rdb_stream_t;

/* What a value decodes to. kind: 's' string (one item), 'l' list, 'S'
 * set, 'z' sorted set (items and scores), 'h' hash (items: field, value,
 * field, value...). Items are owned copies. */
typedef struct rdb_val {
	char kind;
	size_t n, cap;
	char **items;
	size_t *lens;
	double *scores;   /* 'z' only, one per item */
	rdb_stream_t *st; /* 'x' only */
} rdb_val_t;

void rdb_val_free(rdb_val_t *v);

/* Redis's crc64 (Jones polynomial, reflected, init crc). */
uint64_t rdb_crc64(uint64_t crc, const uint8_t *p, size_t n);
/* Redis's verifyDumpPayload: version not above ours, checksum right. */
int rdb_verify(const uint8_t *p, size_t n);
/* Decodes a verified payload: 0, or -1 (bad data format; v is freed).
 * An empty collection is bad data, as in 7.0. LZF-compressed strings may
 * expand to max_expand bytes in all (a small payload must not make us
 * allocate gigabytes). */
int rdb_decode(const uint8_t *p, size_t n, uint64_t max_expand, rdb_val_t *v);

/* Encoding: begin with the type, add lengths and strings, then finish
 * (version and CRC). */
void rdb_put_type(buf_t *b, int type);
void rdb_put_len(buf_t *b, uint64_t len);
void rdb_put_str(buf_t *b, const void *p, size_t n);
void rdb_put_double(buf_t *b, double d); /* ZSET_2's binary score */
void rdb_finish(buf_t *b);

/* Stream pieces: a listpack built element by element and written as an
 * RDB string; a 16-byte big-endian ID (node keys, PEL entries); an 8-byte
 * little-endian millisecond time. */
typedef struct rdb_lp {
	buf_t b;
	size_t n;
} rdb_lp_t;
void rdb_lp_init(rdb_lp_t *lp);
void rdb_lp_int(rdb_lp_t *lp, int64_t v);
void rdb_lp_str(rdb_lp_t *lp, const void *p, size_t n);
/* Writes the finished listpack as a string and frees lp. */
void rdb_lp_put(buf_t *b, rdb_lp_t *lp);
void rdb_put_id16(buf_t *b, uint64_t ms, uint64_t seq);
void rdb_put_ms(buf_t *b, int64_t ms);

#endif
