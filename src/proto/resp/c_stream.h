/*
 * c_stream.h — helpers shared by the stream command files (c_stream.c,
 * c_stream_group.c, c_stream_info.c). Loop thread only.
 */
#ifndef SL_PROTO_RESP_C_STREAM_H
#define SL_PROTO_RESP_C_STREAM_H

#include "proto/resp/resp.h"

/* The stream at key: 0 with *s set (NULL when missing), or -1 after
 * replying WRONGTYPE. */
int xs_lookup(resp_cli_t *cl, const resp_arg_t *key, stream_t **s);
/* Parses an ID argument or replies "Invalid stream ID". */
int xs_parse_id(resp_cli_t *cl, const resp_arg_t *a, sid_t *id, uint64_t missing_seq, int strict,
                int *seq_given);
/* Interval bound with optional '(' (exclusive). */
int xs_parse_interval(resp_cli_t *cl, const resp_arg_t *a, sid_t *id, int *excl,
                      uint64_t missing_seq);
void xs_reply_id(buf_t *b, sid_t id);
void xs_reply_entry(resp_cli_t *cl, stream_t *s, const sentry_t *e);
/* Entries of [start, end] (count 0 = all); returns how many. */
size_t xs_reply_range(resp_cli_t *cl, stream_t *s, sid_t start, sid_t end, int64_t count, int rev);

#endif
