/*
 * c_types.h — hashes, sets and sorted sets in the RESP front (c_hash.c,
 * c_set.c, c_zset.c, c_zset_range.c, c_zset_ops.c, c_zset_block.c), the
 * rest of the 7.0 string and key commands (c_string_ext.c, c_keys_ext.c,
 * c_sort.c) and the server commands added with them (c_server_ext.c):
 * the helpers they share and the handlers the command tables point at.
 *
 * The data and its durability are the keyspace's (broker/keyspace.h);
 * these files check arguments in Redis 7.0's order, call the keyspace and
 * encode replies byte for byte as Redis does, in RESP2 and RESP3.
 * Loop thread only.
 */
#ifndef SL_PROTO_RESP_C_TYPES_H
#define SL_PROTO_RESP_C_TYPES_H

#include "proto/resp/c_lists.h"

/* Redis's getLongFromObjectOrReply family: an integer in [min, max], or
 * the matching error reply (msg NULL: Redis's default texts) and -1. */
int resp_arg_range(resp_cli_t *cl, const resp_arg_t *a, int64_t min, int64_t max, int64_t *out,
                   const char *msg);
/* getDoubleFromObjectOrReply / getLongDoubleFromObjectOrReply (msg NULL:
 * "value is not a valid float"). */
int resp_arg_double(resp_cli_t *cl, const resp_arg_t *a, double *out, const char *msg);
int resp_arg_ldouble(resp_cli_t *cl, const resp_arg_t *a, long double *out, const char *msg);
/* The shared empty SCAN reply (a missing key): ["0", []]. */
void resp_empty_scan(resp_cli_t *cl);
/* Redis's parseScanCursorOrReply. */
int resp_scan_cursor(resp_cli_t *cl, const resp_arg_t *a, uint64_t *cursor);
/* HSCAN/SSCAN/ZSCAN options from argv[3]: COUNT and MATCH (pat NULL when
 * absent or "*"); -1 after the error reply. */
int resp_scan_opts(resp_cli_t *cl, int argc, resp_arg_t *argv, int64_t *count,
                   const resp_arg_t **pat);
/* The pattern test of the scans (NULL matches everything). */
int resp_scan_match(const resp_arg_t *pat, const char *s, size_t n);
/* The scans' reply: the next cursor, then the n items already encoded in
 * tmp (which it frees). */
void resp_scan_reply(resp_cli_t *cl, uint64_t next, size_t n, buf_t *tmp);
/* HRANDFIELD's and ZRANDMEMBER's arguments after the key: the count and
 * the optional WITH<word> (with_word, e.g. "withscores"), whose doubled
 * replies bound the count as Redis does; -1 after the error reply. */
int resp_randmember_args(resp_cli_t *cl, int argc, resp_arg_t *argv, const char *with_word,
                         int64_t *count, int *with);
/* k distinct random positions among [0, n) into out (k <= n), for the
 * random picks with a positive count. */
void resp_sample(uint64_t *rng, size_t n, size_t k, size_t *out);
/* A score as Redis replies it: a RESP3 double, a bulk string in RESP2. */
void resp_score(resp_cli_t *cl, double d);

/* Redis's zslParseRange / zslParseLexRange over two arguments (views into
 * them for lex ends): 0, or -1 when they are not valid (the caller replies
 * its command's error). */
int resp_zrange_parse(const resp_arg_t *min, const resp_arg_t *max, zrange_t *r);
int resp_zlex_parse(const resp_arg_t *min, const resp_arg_t *max, zlex_t *r);
/* The sorted set at key: NULL when missing; *bad after a WRONGTYPE reply. */
zset_t *resp_get_zset(resp_cli_t *cl, const resp_arg_t *key, int *bad);

/* c_zset_block.c: the blocking sorted-set pops, and the pop reply shared
 * with ZPOPMIN/ZPOPMAX/ZMPOP (c_zset.c). */
/* Pops up to count (-1: one, flat) members of the sorted set at key (it
 * exists) and replies as Redis does: with the key first when emit_key,
 * pairs nested when nested. */
int resp_zpop_reply(resp_cli_t *cl, const resp_arg_t *key, int max, int64_t count, int emit_key,
                    int nested);
/* ZMPOP/BZMPOP's numkeys (at argv[numidx]), MIN|MAX and COUNT; -1 after
 * the error reply. */
int resp_zmpop_args(resp_cli_t *cl, int argc, resp_arg_t *argv, int numidx, int64_t *numkeys,
                    int *max, int64_t *count);

/* notify-keyspace-events (notify.c): the flags of a class string (-1 when
 * a character is not a class), the string of flags (buf >= 20), and the
 * notification of one change of a key (the keyspace's key hook). */
int resp_notify_parse(const char *s, size_t n);
size_t resp_notify_format(int flags, char *buf);
void resp_notify_key(resp_srv_t *srv, const char *key, size_t klen, int ev);

/* A subcommand HELP reply: the lines (NULL-terminated) as simple
 * strings (c_keys_ext.c). */
void resp_help(resp_cli_t *cl, const char *const *lines);

RESP_HANDLER(resp_c_dump);
RESP_HANDLER(resp_c_restore);
/* COPY of a stream key (c_dump.c): a DUMP of src RESTOREd at dst with
 * src's TTL. 1 copied, 0 when dst exists and !replace, or <0. */
int resp_copy_stream(keyspace_t *ks, const resp_arg_t *src, const resp_arg_t *dst, int replace);
/* RENAME of a stream key (c_dump.c): a copy, then src deleted, in the
 * command's one unit (all or nothing after a crash). 0 or <0. */
int resp_rename_stream(keyspace_t *ks, const resp_arg_t *src, const resp_arg_t *dst);
RESP_HANDLER(resp_c_object_encoding);
RESP_HANDLER(resp_c_object_freq);
RESP_HANDLER(resp_c_object_help);
RESP_HANDLER(resp_c_object_idletime);
RESP_HANDLER(resp_c_object_refcount);
RESP_HANDLER(resp_c_memory_usage);
RESP_HANDLER(resp_c_memory_help);
RESP_HANDLER(resp_c_copy);
RESP_HANDLER(resp_c_renamenx);
RESP_HANDLER(resp_c_randomkey);
RESP_HANDLER(resp_c_touch);
RESP_HANDLER(resp_c_expiretime);
RESP_HANDLER(resp_c_pexpiretime);
RESP_HANDLER(resp_c_sort);
RESP_HANDLER(resp_c_sort_ro);
RESP_HANDLER(resp_c_incrbyfloat);
RESP_HANDLER(resp_c_getrange);
RESP_HANDLER(resp_c_setrange);
RESP_HANDLER(resp_c_msetnx);
RESP_HANDLER(resp_c_getset);
RESP_HANDLER(resp_c_setbit);
RESP_HANDLER(resp_c_getbit);
RESP_HANDLER(resp_c_bitcount);
RESP_HANDLER(resp_c_bitpos);
RESP_HANDLER(resp_c_bitop);
RESP_HANDLER(resp_c_bitfield);
RESP_HANDLER(resp_c_bitfield_ro);
RESP_HANDLER(resp_c_lcs);

RESP_HANDLER(resp_c_hset);
RESP_HANDLER(resp_c_hsetnx);
RESP_HANDLER(resp_c_hmset);
RESP_HANDLER(resp_c_hget);
RESP_HANDLER(resp_c_hmget);
RESP_HANDLER(resp_c_hgetall);
RESP_HANDLER(resp_c_hkeys);
RESP_HANDLER(resp_c_hvals);
RESP_HANDLER(resp_c_hdel);
RESP_HANDLER(resp_c_hlen);
RESP_HANDLER(resp_c_hexists);
RESP_HANDLER(resp_c_hincrby);
RESP_HANDLER(resp_c_hincrbyfloat);
RESP_HANDLER(resp_c_hstrlen);
RESP_HANDLER(resp_c_hrandfield);
RESP_HANDLER(resp_c_hscan);

RESP_HANDLER(resp_c_sadd);
RESP_HANDLER(resp_c_srem);
RESP_HANDLER(resp_c_smembers);
RESP_HANDLER(resp_c_sismember);
RESP_HANDLER(resp_c_smismember);
RESP_HANDLER(resp_c_scard);
RESP_HANDLER(resp_c_spop);
RESP_HANDLER(resp_c_srandmember);
RESP_HANDLER(resp_c_smove);
RESP_HANDLER(resp_c_sinter);
RESP_HANDLER(resp_c_sintercard);
RESP_HANDLER(resp_c_sinterstore);
RESP_HANDLER(resp_c_sunion);
RESP_HANDLER(resp_c_sunionstore);
RESP_HANDLER(resp_c_sdiff);
RESP_HANDLER(resp_c_sdiffstore);
RESP_HANDLER(resp_c_sscan);

RESP_HANDLER(resp_c_zadd);
RESP_HANDLER(resp_c_zincrby);
RESP_HANDLER(resp_c_zrem);
RESP_HANDLER(resp_c_zcard);
RESP_HANDLER(resp_c_zscore);
RESP_HANDLER(resp_c_zmscore);
RESP_HANDLER(resp_c_zrank);
RESP_HANDLER(resp_c_zrevrank);
RESP_HANDLER(resp_c_zcount);
RESP_HANDLER(resp_c_zlexcount);
RESP_HANDLER(resp_c_zrange);
RESP_HANDLER(resp_c_zrangestore);
RESP_HANDLER(resp_c_zrevrange);
RESP_HANDLER(resp_c_zrangebyscore);
RESP_HANDLER(resp_c_zrevrangebyscore);
RESP_HANDLER(resp_c_zrangebylex);
RESP_HANDLER(resp_c_zrevrangebylex);
RESP_HANDLER(resp_c_zremrangebyscore);
RESP_HANDLER(resp_c_zremrangebyrank);
RESP_HANDLER(resp_c_zremrangebylex);
RESP_HANDLER(resp_c_zpopmin);
RESP_HANDLER(resp_c_zpopmax);
RESP_HANDLER(resp_c_bzpopmin);
RESP_HANDLER(resp_c_bzpopmax);
RESP_HANDLER(resp_c_zmpop);
RESP_HANDLER(resp_c_bzmpop);
RESP_HANDLER(resp_c_zunion);
RESP_HANDLER(resp_c_zinter);
RESP_HANDLER(resp_c_zdiff);
RESP_HANDLER(resp_c_zunionstore);
RESP_HANDLER(resp_c_zinterstore);
RESP_HANDLER(resp_c_zdiffstore);
RESP_HANDLER(resp_c_zintercard);
RESP_HANDLER(resp_c_zrandmember);
RESP_HANDLER(resp_c_zscan);

/* Scripting (c_script.c). */
RESP_HANDLER(resp_c_eval);
RESP_HANDLER(resp_c_evalsha);
RESP_HANDLER(resp_c_eval_ro);
RESP_HANDLER(resp_c_evalsha_ro);
RESP_HANDLER(resp_c_script_load);
RESP_HANDLER(resp_c_script_exists);
RESP_HANDLER(resp_c_script_flush);
RESP_HANDLER(resp_c_script_kill);
RESP_HANDLER(resp_c_script_help);
/* Frees the front's Lua engine (front stop). */
void resp_script_free(resp_srv_t *srv);
/* c_function.c */
RESP_HANDLER(resp_c_fcall);
RESP_HANDLER(resp_c_fcall_ro);
RESP_HANDLER(resp_c_function_load);
RESP_HANDLER(resp_c_function_list);
RESP_HANDLER(resp_c_function_delete);
RESP_HANDLER(resp_c_function_flush);
RESP_HANDLER(resp_c_function_dump);
RESP_HANDLER(resp_c_function_restore);
RESP_HANDLER(resp_c_function_stats);
RESP_HANDLER(resp_c_function_kill);
RESP_HANDLER(resp_c_function_help);
void resp_function_free(resp_srv_t *srv);

#endif
