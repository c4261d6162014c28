/*
 * c_keys.c — generic key commands over the keyspace: TYPE, DEL, EXISTS,
 * KEYS, SCAN. They only look at the type tag, so they work for every type
 * the keyspace knows. Loop thread only.
 */
#include "proto/resp/c_lists.h"
#include "broker/keyspace_glob.h"
#include "proto/resp/resp.h"

#include <stdlib.h>

RESP_HANDLER(resp_c_type)
{
	(void)argc;
	ks_obj_t *o = ks_find(cl->srv->ks, argv[1].p, argv[1].len);
	resp_simple(cl->out, o ? ks_type_name(o->type) : "none");
	return 0;
}

RESP_HANDLER(resp_c_del)
{
	int n = argc - 1;
	const char *keys_small[16] = {NULL};
	size_t lens_small[16] = {0};
	const char **keys = keys_small;
	size_t *lens = lens_small;
	if (n > 16) {
		keys = malloc((size_t)n * sizeof *keys);
		lens = malloc((size_t)n * sizeof *lens);
		if (!keys || !lens)
			abort();
	}
	for (int i = 0; i < n; i++) {
		keys[i] = argv[1 + i].p;
		lens[i] = argv[1 + i].len;
	}
	int64_t deleted;
	int rc = ks_del(cl->srv->ks, n, keys, lens, &deleted);
	if (keys != keys_small) {
		free(keys);
		free(lens);
	}
	if (rc < 0)
		resp_err_ks(cl, rc);
	else
		resp_int(cl->out, deleted);
	return 0;
}

RESP_HANDLER(resp_c_exists)
{
	int64_t n = 0;
	for (int i = 1; i < argc; i++)
		n += ks_find(cl->srv->ks, argv[i].p, argv[i].len) != NULL;
	resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_keys)
{
	(void)argc;
	keyspace_t *ks = cl->srv->ks;
	size_t mark = resp_defer(cl->out), n = 0, it = 0;
	const char *k;
	size_t kl;
	int all = argv[1].len == 1 && argv[1].p[0] == '*';
	while (ks_next(ks, &it, &k, &kl, NULL)) {
		/* Logically expired keys are skipped, as Redis does, even
		 * before the active sweep removes them. */
		if (ks_expired(ks, k, kl))
			continue;
		if (all || ks_glob_match(argv[1].p, argv[1].len, k, kl, 0)) {
			resp_bulk(cl->out, k, kl);
			n++;
		}
	}
	resp_defer_set(cl->out, mark, '*', n);
	return 0;
}

/* SCAN collects the keys of whole home slots (ks_scan) until COUNT keys
 * or ten times COUNT slots, filtering them as 7.0's scanGenericCommand
 * does; the cursor survives the map's growth, so keys
 * present for the whole scan are returned at least once. */
typedef struct {
	keyspace_t *ks;
	const resp_arg_t *pat, *type;
	buf_t out;    /* the keys that pass, as bulk strings */
	int64_t seen; /* keys collected, before filtering (COUNT's measure) */
	size_t n;     /* keys in out */
} scan_keys_t;

/* MATCH, then expiry (logically expired keys are left out, as Redis does),
 * then TYPE, as 7.0 filters its collected keys. */
static void scan_collect(void *arg, const char *key, size_t klen, void *val)
{
	scan_keys_t *sk = arg;
	const ks_obj_t *o = val;
	sk->seen++;
	if (sk->pat && !ks_glob_match(sk->pat->p, sk->pat->len, key, klen, 0))
		return;
	if (ks_expired(sk->ks, key, klen))
		return;
	if (sk->type && !resp_arg_is(sk->type, ks_type_name(o->type)))
		return;
	resp_bulk(&sk->out, key, klen);
	sk->n++;
}

RESP_HANDLER(resp_c_scan)
{
	uint64_t cursor = 0;
	const resp_arg_t *pat = NULL, *type = NULL;
	int64_t count = 10;
	{
		char tmp[32];
		char *end;
		if (argv[1].len == 0 || argv[1].len >= sizeof tmp) {
			resp_error(cl->out, "ERR invalid cursor");
			return 0;
		}
		memcpy(tmp, argv[1].p, argv[1].len);
		tmp[argv[1].len] = 0;
		cursor = strtoull(tmp, &end, 10);
		if (*end || tmp[0] == '-') {
			resp_error(cl->out, "ERR invalid cursor");
			return 0;
		}
	}
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 >= argc) {
			resp_err_syntax(cl);
			return 0;
		}
		if (resp_arg_is(&argv[i], "count")) {
			if (resp_arg_ll_or_reply(cl, &argv[i + 1], &count) < 0)
				return 0;
			if (count < 1) {
				resp_err_syntax(cl);
				return 0;
			}
		} else if (resp_arg_is(&argv[i], "match")) {
			pat = &argv[i + 1];
		} else if (resp_arg_is(&argv[i], "type")) {
			type = &argv[i + 1];
		} else {
			resp_err_syntax(cl);
			return 0;
		}
	}
	scan_keys_t sk = {cl->srv->ks, pat, type, BUF_INIT, 0, 0};
	int64_t steps = count > INT64_MAX / 10 ? INT64_MAX : count * 10;
	do
		cursor = ks_scan(sk.ks, cursor, scan_collect, &sk);
	while (cursor && --steps > 0 && sk.seen < count);
	resp_array(cl->out, 2);
	resp_bulk_u64(cl->out, cursor);
	resp_array(cl->out, sk.n);
	buf_append(cl->out, buf_data(&sk.out), buf_len(&sk.out));
	buf_deinit(&sk.out);
	return 0;
}
