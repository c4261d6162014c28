/*
 * c_keys.c — generic key commands over the keyspace: TYPE, DEL, EXISTS,
 * KEYS, SCAN. They only look at the type tag, so they work for every type
 * db.c knows. Loop thread only.
 */
#include "proto/resp/c_lists.h"
#include "proto/resp/glob.h"
#include "proto/resp/resp.h"

#include <stdlib.h>

RESP_HANDLER(resp_c_type)
{
	(void)argc;
	resp_obj_t *o = resp_db_find(cl->srv, argv[1].p, argv[1].len);
	resp_simple(cl->out, o ? resp_type_name(o->type) : "none");
	return 0;
}

RESP_HANDLER(resp_c_del)
{
	int64_t n = 0;
	for (int i = 1; i < argc; i++)
		n += resp_db_delete(cl->srv, argv[i].p, argv[i].len);
	if (n)
		cl->dirty = 1;
	resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_exists)
{
	int64_t n = 0;
	for (int i = 1; i < argc; i++)
		n += resp_db_find(cl->srv, argv[i].p, argv[i].len) != NULL;
	resp_int(cl->out, n);
	return 0;
}

RESP_HANDLER(resp_c_keys)
{
	(void)argc;
	size_t mark = resp_defer(cl->out), n = 0, it = 0;
	const char *k;
	size_t kl;
	void *v;
	int all = argv[1].len == 1 && argv[1].p[0] == '*';
	while (map_next(&cl->srv->keys, &it, &k, &kl, &v)) {
		/* Logically expired keys are skipped, as Redis does, even
		 * before the active sweep removes them. */
		if (resp_lx_expired(cl->srv, k, kl))
			continue;
		if (all || resp_glob_match(argv[1].p, argv[1].len, k, kl, 0)) {
			resp_bulk(cl->out, k, kl);
			n++;
		}
	}
	resp_defer_set(cl->out, mark, '*', n);
	return 0;
}

/* SCAN's cursor is a slot index of the key map: keys present for the whole
 * scan are returned at least once unless the map grows meanwhile. */
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
	buf_t keys = BUF_INIT;
	size_t it = (size_t)cursor, n = 0;
	const char *k;
	size_t kl;
	void *v;
	int64_t seen = 0;
	while (seen < count && map_next(&cl->srv->keys, &it, &k, &kl, &v)) {
		seen++;
		resp_obj_t *o = v;
		if (resp_lx_expired(cl->srv, k, kl))
			continue;
		if (pat && !resp_glob_match(pat->p, pat->len, k, kl, 0))
			continue;
		if (type && !resp_arg_is(type, resp_type_name(o->type)))
			continue;
		resp_bulk(&keys, k, kl);
		n++;
	}
	size_t probe = it;
	if (!map_next(&cl->srv->keys, &probe, NULL, NULL, NULL))
		it = 0;
	resp_array(cl->out, 2);
	resp_bulk_u64(cl->out, it);
	resp_array(cl->out, n);
	buf_append(cl->out, buf_data(&keys), buf_len(&keys));
	buf_deinit(&keys);
	return 0;
}
