/*
 * c_keys_ext.c — the rest of Redis 7.0's generic key commands: OBJECT
 * (ENCODING FREQ IDLETIME REFCOUNT HELP), COPY, RENAMENX, RANDOMKEY,
 * TOUCH, EXPIRETIME, PEXPIRETIME; and the subcommand help reply the
 * container commands share.
 *
 * OBJECT looks keys up without touching them, as Redis does, so IDLETIME
 * reports the time since the last command that used the key. ENCODING
 * answers Redis's names for the encoding each value would have there
 * (keyspace.h: ks_obj_encoding); REFCOUNT answers Redis's shared-integer
 * count (values 0..9999 are shared objects) or 1. FREQ needs an LFU
 * policy, which sluice never has, so it answers Redis's error.
 * Loop thread only.
 */
#include "proto/resp/c_types.h"

#include "broker/num.h"
#include "core/err.h"
#include "core/time.h"

#include <stdio.h>

void resp_help(resp_cli_t *cl, const char *const *lines)
{
	size_t n = 0;
	while (lines[n])
		n++;
	resp_array(cl->out, n);
	for (size_t i = 0; i < n; i++)
		resp_simple(cl->out, lines[i]);
}

/* OBJECT's lookup: lazy expiry, no access-time update; null when absent. */
static ks_obj_t *object_key(resp_cli_t *cl, const resp_arg_t *key)
{
	ks_obj_t *o = ks_peek(cl->srv->ks, key->p, key->len);
	if (!o)
		resp_null(cl->out, cl->proto);
	return o;
}

RESP_HANDLER(resp_c_object_encoding)
{
	(void)argc;
	ks_obj_t *o = object_key(cl, &argv[2]);
	if (o)
		resp_bulk_str(cl->out, ks_obj_encoding(o));
	return 0;
}

RESP_HANDLER(resp_c_object_refcount)
{
	(void)argc;
	ks_obj_t *o = object_key(cl, &argv[2]);
	if (!o)
		return 0;
	int64_t v;
	const qlv_t *s = o->type == KS_STRING ? o->ptr : NULL;
	if (s && !o->raw && num_str2ll(s->p, s->len, &v) == 0 && v >= 0 && v < 10000)
		resp_int(cl->out, 2147483647);
	else
		resp_int(cl->out, 1);
	return 0;
}

RESP_HANDLER(resp_c_object_idletime)
{
	(void)argc;
	ks_obj_t *o = object_key(cl, &argv[2]);
	if (o)
		resp_int(cl->out, ks_obj_idle(cl->srv->ks, o));
	return 0;
}

RESP_HANDLER(resp_c_object_freq)
{
	(void)argc;
	if (object_key(cl, &argv[2]))
		resp_error(cl->out,
		           "ERR An LFU maxmemory policy is not selected, access frequency not "
		           "tracked. Please note that when switching between policies at "
		           "runtime LRU and LFU data will take some time to adjust.");
	return 0;
}

RESP_HANDLER(resp_c_object_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
	    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "ENCODING <key>",
	    "    Return the kind of internal representation used in order to store the value",
	    "    associated with a <key>.",
	    "FREQ <key>",
	    "    Return the access frequency index of the <key>. The returned integer is",
	    "    proportional to the logarithm of the recent access frequency of the key.",
	    "IDLETIME <key>",
	    "    Return the idle time of the <key>, that is the approximated number of",
	    "    seconds elapsed since the last access to the key.",
	    "REFCOUNT <key>",
	    "    Return the number of references of the value associated with the specified",
	    "    <key>.",
	    "HELP",
	    "    Prints this help.",
	    NULL,
	};
	resp_help(cl, lines);
	return 0;
}

RESP_HANDLER(resp_c_copy)
{
	int replace = 0;
	for (int j = 3; j < argc; j++) {
		if (resp_arg_is(&argv[j], "replace")) {
			replace = 1;
		} else if (resp_arg_is(&argv[j], "db") && j + 1 < argc) {
			int64_t db;
			if (resp_arg_range(cl, &argv[j + 1], INT32_MIN, INT32_MAX, &db, NULL) < 0)
				return 0;
			if (db != 0) {
				resp_error(cl->out, "ERR DB index is out of range");
				return 0;
			}
			j++;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	const resp_arg_t *s = &argv[1], *d = &argv[2];
	if (s->len == d->len && memcmp(s->p, d->p, s->len) == 0) {
		resp_error(cl->out, "ERR source and destination objects are the same");
		return 0;
	}
	int rc = ks_copy(cl->srv->ks, s->p, s->len, d->p, d->len, replace);
	if (rc == SL_EINVAL) /* a stream: its entries live in a log of their own */
		rc = resp_copy_stream(cl->srv->ks, s, d, replace);
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, rc);
	return 0;
}

RESP_HANDLER(resp_c_renamenx)
{
	(void)argc;
	keyspace_t *ks = cl->srv->ks;
	const resp_arg_t *s = &argv[1], *d = &argv[2];
	if (!ks_find(ks, s->p, s->len)) {
		resp_error(cl->out, "ERR no such key");
		return 0;
	}
	if ((s->len == d->len && memcmp(s->p, d->p, s->len) == 0) || ks_find(ks, d->p, d->len)) {
		resp_int(cl->out, 0);
		return 0;
	}
	int rc = ks_rename(ks, s->p, s->len, d->p, d->len);
	if (rc == SL_EINVAL) /* a stream */
		rc = resp_rename_stream(ks, s, d);
	if (rc == SL_ENOENT)
		resp_error(cl->out, "ERR no such key");
	else if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, 1);
	return 0;
}

RESP_HANDLER(resp_c_randomkey)
{
	(void)argc;
	(void)argv;
	const char *k;
	size_t kl;
	if (ks_randomkey(cl->srv->ks, &k, &kl))
		resp_bulk(cl->out, k, kl);
	else
		resp_null(cl->out, cl->proto);
	return 0;
}

RESP_HANDLER(resp_c_touch)
{
	int64_t n = 0;
	for (int i = 1; i < argc; i++)
		n += ks_find(cl->srv->ks, argv[i].p, argv[i].len) != NULL;
	resp_int(cl->out, n);
	return 0;
}

static int expiretime(resp_cli_t *cl, const resp_arg_t *key, int ms)
{
	keyspace_t *ks = cl->srv->ks;
	if (!ks_find(ks, key->p, key->len)) {
		resp_int(cl->out, -2);
		return 0;
	}
	int64_t at = ks_expire_at(ks, key->p, key->len);
	if (!at)
		resp_int(cl->out, -1);
	else
		resp_int(cl->out, ms ? at : (at + 500) / 1000);
	return 0;
}

RESP_HANDLER(resp_c_expiretime)
{
	(void)argc;
	return expiretime(cl, &argv[1], 0);
}

RESP_HANDLER(resp_c_pexpiretime)
{
	(void)argc;
	return expiretime(cl, &argv[1], 1);
}

/* --- MEMORY -------------------------------------------------------------------------- */

/* An estimate of what key and its value take in RAM: the bytes of the
 * content plus a per-element bookkeeping cost of this implementation
 * (allocation headers, index slots, skip-list levels on average). */
static int64_t mem_usage(size_t klen, const ks_obj_t *o)
{
	int64_t n = (int64_t)klen + 64; /* the key's map slot, copy and object */
	switch (o->type) {
	case KS_STRING:
		return n + (int64_t)((const qlv_t *)o->ptr)->len + 24;
	case KS_LIST: {
		const qlist_t *l = o->ptr;
		return n + (int64_t)l->bytes + 32 * (int64_t)qlist_len(l);
	}
	case KS_HASH: {
		const rhash_t *h = o->ptr;
		return n + (int64_t)h->bytes + 40 * (int64_t)rhash_len(h);
	}
	case KS_SET: {
		const rset_t *s = o->ptr;
		if (rset_is_intset(s))
			return n + 8 * (int64_t)s->icap;
		return n + (int64_t)s->bytes + 40 * (int64_t)rset_len(s);
	}
	case KS_ZSET: {
		const zset_t *z = o->ptr;
		return n + (int64_t)z->bytes + 72 * (int64_t)zset_len(z);
	}
	case KS_STREAM:
		return n + 56 * (int64_t)((const stream_t *)o->ptr)->length + 256;
	}
	return n;
}

RESP_HANDLER(resp_c_memory_usage)
{
	for (int j = 3; j < argc; j++) {
		if (resp_arg_is(&argv[j], "samples") && j + 1 < argc) {
			int64_t samples;
			if (resp_arg_ll_or_reply(cl, &argv[j + 1], &samples) < 0)
				return 0;
			if (samples < 0) {
				resp_err_syntax(cl);
				return 0;
			}
			j++;
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	ks_obj_t *o = ks_peek(cl->srv->ks, argv[2].p, argv[2].len);
	if (!o)
		resp_null(cl->out, cl->proto);
	else
		resp_int(cl->out, mem_usage(argv[2].len, o));
	return 0;
}

RESP_HANDLER(resp_c_memory_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
	    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "DOCTOR",
	    "    Return memory problems reports.",
	    "MALLOC-STATS",
	    "    Return internal statistics report from the memory allocator.",
	    "PURGE",
	    "    Attempt to purge dirty pages for reclamation by the allocator.",
	    "STATS",
	    "    Return information about the memory usage of the server.",
	    "USAGE <key> [SAMPLES <count>]",
	    "    Return memory in bytes used by <key> and its value. Nested values are",
	    "    sampled up to <count> times (default: 5, 0 means sample all).",
	    "HELP",
	    "    Prints this help.",
	    NULL,
	};
	resp_help(cl, lines);
	return 0;
}
