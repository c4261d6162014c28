/*
 * c_function.c — Redis 7.0 functions: FUNCTION LOAD / LIST / DELETE /
 * FLUSH / DUMP / RESTORE / STATS / KILL / HELP, FCALL and FCALL_RO.
 *
 * The libraries (name and code) belong to the broker (broker/funcs.h),
 * which journals them; this file compiles them into a Lua engine of their
 * own (script_lua.h; functions outlive SCRIPT FLUSH) and keeps what
 * FUNCTION LIST shows. The state is made on first use from the broker's
 * libraries, so libraries survive a restart. A change is checked in full
 * first (metadata, compilation, registration, name clashes), then written
 * ahead by the broker (funcs_replace: synced before it returns), then
 * applied; if the write fails nothing changes and the client gets the
 * MISCONF error. RESTORE and FLUSH build a complete new state and swap it
 * in the same way.
 *
 * FUNCTION DUMP's payload is sluice's own (Redis's is RDB): "SLFN", u8
 * version 1, u32 count, count times (u32 length, library code), u32
 * CRC32C of everything before it; integers big-endian. RESTORE takes only
 * that and refuses anything else (a Redis dump included) with Redis's
 * "DUMP payload version or checksum are wrong".
 *
 * FCALL runs the function through the scripts' runner (c_script.c:
 * resp_script_exec): the same atomicity, durability and busy handling as
 * EVAL; FUNCTION KILL stops a busy function that has not written.
 * Loop thread only.
 */
#include "proto/resp/c_types.h"
#include "proto/resp/parse.h"
#include "proto/resp/script_lua.h"

#include "broker/broker.h"
#include "broker/funcs.h"
#include "broker/keyspace_glob.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "core/rd.h"
#include "core/time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *name;
	uint32_t flags;
	char *desc; /* NULL: none */
} fn_t;

typedef struct {
	char *name;
	char *code;
	size_t code_len;
	fn_t *fns;
	size_t nfns;
} lib_t;

typedef struct resp_fns {
	resp_lua_t *e;
	lib_t *libs;
	size_t n;
	lib_t pending; /* the library being loaded (its functions so far) */
	const lib_t *replacing;
} fstate_t;

/* Names are checked ([A-Za-z0-9_]) and a description with a NUL byte is
 * cut there: strndup fits. The code is kept whole (lib_t.code_len). */
static char *dupn(const char *p, size_t n)
{
	char *s = strndup(p, n);
	if (!s)
		abort();
	return s;
}

static void lib_free(lib_t *l)
{
	for (size_t i = 0; i < l->nfns; i++) {
		free(l->fns[i].name);
		free(l->fns[i].desc);
	}
	free(l->fns);
	free(l->name);
	free(l->code);
	memset(l, 0, sizeof *l);
}

static fstate_t *state_new(const log_t *log)
{
	fstate_t *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->e = resp_lua_new(log);
	return s;
}

static void state_free(fstate_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		lib_free(&s->libs[i]);
	free(s->libs);
	lib_free(&s->pending);
	resp_lua_free(s->e);
	free(s);
}

static lib_t *find_lib(fstate_t *s, const char *name, size_t n)
{
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->libs[i].name) == n && memcmp(s->libs[i].name, name, n) == 0)
			return &s->libs[i];
	return NULL;
}

static const fn_t *find_fn(const fstate_t *s, const char *name, size_t n, const lib_t **lib)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; j < s->libs[i].nfns; j++) {
			const fn_t *f = &s->libs[i].fns[j];
			/* 7.0's function dictionary compares names without case. */
			if (strlen(f->name) == n && strncasecmp(f->name, name, n) == 0) {
				if (lib)
					*lib = &s->libs[i];
				return f;
			}
		}
	return NULL;
}

static int valid_name(const char *p, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return 0;
	}
	return 1;
}

static const char bad_name[] = "Library names can only contain letters, numbers, or "
                               "underscores(_) and must be at least one character long";

/* redis.register_function of the library being loaded. */
static const char *on_register(void *ctx, const char *name, size_t n, uint32_t flags,
                               const char *desc, size_t dlen)
{
	fstate_t *s = ctx;
	lib_t *l = &s->pending;
	if (!valid_name(name, n))
		return bad_name;
	for (size_t i = 0; i < l->nfns; i++)
		if (strlen(l->fns[i].name) == n && memcmp(l->fns[i].name, name, n) == 0)
			return "Function already exists in the library";
	fn_t *fns = realloc(l->fns, (l->nfns + 1) * sizeof *fns);
	if (!fns)
		abort();
	l->fns = fns;
	fns[l->nfns++] = (fn_t){dupn(name, n), flags, desc ? dupn(desc, dlen) : NULL};
	return NULL;
}

/* "#!lua name=<lib>" on the first line, split as 7.0's
 * functionExtractLibMetaData splits it (sdssplitargs: quotes and escapes;
 * the inline-request splitter does the same) and checked in its order,
 * then the name and the engine (functionsCreateWithLibraryCtx). *name:
 * owned; *body: where the body starts (at the line's newline, so line
 * numbers hold). */
static int parse_meta(const char *code, size_t len, char **name, size_t *nlen, size_t *body,
                      buf_t *err)
{
	*name = NULL;
	if (len < 2 || code[0] != '#' || code[1] != '!') {
		buf_puts(err, "ERR Missing library metadata");
		return -1;
	}
	const char *nl = memchr(code, '\n', len);
	if (!nl) {
		buf_puts(err, "ERR Invalid library metadata");
		return -1;
	}
	*body = (size_t)(nl - code);
	resp_parser_t p;
	resp_parser_init(&p, INT64_MAX);
	size_t argc = 0;
	int rc = -1;
	int lua = 0;
	if (resp_parse(&p, (const uint8_t *)code, *body + 1, &argc) <= 0 || argc == 0) {
		buf_puts(err, "ERR Invalid library metadata");
		goto out;
	}
	/* The engine is the first word less its "#!". */
	const resp_arg_t *eng = &p.argv[0];
	size_t elen = eng->len > 2 ? eng->len - 2 : 0;
	lua = elen == 3 && strncasecmp(eng->p + 2, "lua", 3) == 0;
	for (size_t i = 1; i < argc; i++) {
		const resp_arg_t *a = &p.argv[i];
		if (a->len >= 5 && strncasecmp(a->p, "name=", 5) == 0) {
			if (*name) {
				buf_puts(err, "ERR Invalid metadata value, name argument was "
				              "given multiple times");
				goto out;
			}
			*nlen = a->len - 5;
			*name = dupn(a->p + 5, *nlen);
			continue;
		}
		buf_printf(err, "ERR Invalid metadata value given: %.*s", (int)a->len, a->p);
		goto out;
	}
	if (!*name) {
		buf_puts(err, "ERR Library name was not given");
		goto out;
	}
	if (!valid_name(*name, *nlen)) {
		buf_printf(err, "ERR %s", bad_name);
		goto out;
	}
	if (!lua) {
		buf_printf(err, "ERR Engine '%.*s' not found", (int)elen, eng->p + 2);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0) {
		free(*name);
		*name = NULL;
	}
	resp_parser_deinit(&p);
	return rc;
}

/* Persists the libraries of s with lib (replacing the one of its name, if
 * any) or without skip: the set after the change. */
static int persist(broker_t *b, const fstate_t *s, const lib_t *add, const lib_t *skip)
{
	funcs_lib_t *set = calloc(s->n + 1, sizeof *set);
	if (!set)
		abort();
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		const lib_t *l = &s->libs[i];
		if (l == skip || (add && strcmp(l->name, add->name) == 0))
			continue;
		set[n++] = (funcs_lib_t){l->name, strlen(l->name), l->code, l->code_len};
	}
	if (add)
		set[n++] = (funcs_lib_t){add->name, strlen(add->name), add->code, add->code_len};
	int rc = funcs_replace(b->funcs, set, n);
	free(set);
	return rc;
}

static void drop_lib(fstate_t *s, lib_t *l)
{
	const char **names = calloc(l->nfns + 1, sizeof *names);
	if (!names)
		abort();
	for (size_t i = 0; i < l->nfns; i++)
		names[i] = l->fns[i].name;
	resp_lua_lib_commit(s->e, names, l->nfns);
	free(names);
	lib_free(l);
	size_t at = (size_t)(l - s->libs);
	memmove(l, l + 1, (s->n - at - 1) * sizeof *l);
	s->n--;
}

enum { LOAD_NEW, LOAD_REPLACE, LOAD_RESTORE };

/* Loads a library into s (replace: LOAD_*): checks everything, then (b not NULL) has the
 * broker write the new set ahead, then applies. Returns 0 (*lib_name: the
 * library's, owned by s), or -1 with the error reply in err. */
static int state_load(fstate_t *s, broker_t *b, const char *code, size_t len, int replace,
                      buf_t *err, const char **lib_name)
{
	char *name;
	size_t nlen = 0, body = 0;
	if (parse_meta(code, len, &name, &nlen, &body, err) < 0)
		return -1;
	lib_t *old = find_lib(s, name, nlen);
	if (old && replace != LOAD_REPLACE) {
		/* FUNCTION LOAD quotes the name, RESTORE does not (7.0). */
		buf_printf(err,
		           replace == LOAD_NEW ? "ERR Library '%.*s' already exists"
		                               : "ERR Library %.*s already exists",
		           (int)nlen, name);
		free(name);
		return -1;
	}
	lib_free(&s->pending);
	s->pending.name = name;
	if (resp_lua_lib_load(s->e, code + body, len - body, on_register, s, err) < 0)
		goto fail;
	if (!s->pending.nfns) {
		buf_puts(err, "ERR No functions registered");
		goto fail;
	}
	for (size_t i = 0; i < s->pending.nfns; i++) {
		const lib_t *owner;
		const char *fn = s->pending.fns[i].name;
		if (find_fn(s, fn, strlen(fn), &owner) && owner != old) {
			buf_printf(err, "ERR Function %s already exists", fn);
			goto fail;
		}
	}
	s->pending.code = malloc(len ? len : 1);
	if (!s->pending.code)
		abort();
	memcpy(s->pending.code, code, len);
	s->pending.code_len = len;
	int rc = b ? persist(b, s, &s->pending, NULL) : 0;
	if (rc < 0) {
		/* resp_misconf's text, without its '-' and CRLF. */
		buf_printf(err, "MISCONF Errors writing to the AOF file: %s",
		           strerror(rc == SL_ENOSPC ? ENOSPC : EIO));
		goto fail;
	}
	if (old)
		drop_lib(s, old);
	else
		resp_lua_lib_commit(s->e, NULL, 0);
	lib_t *libs = realloc(s->libs, (s->n + 1) * sizeof *libs);
	if (!libs)
		abort();
	s->libs = libs;
	libs[s->n] = s->pending;
	memset(&s->pending, 0, sizeof s->pending);
	*lib_name = libs[s->n++].name;
	return 0;
fail:
	resp_lua_lib_abort(s->e);
	lib_free(&s->pending);
	return -1;
}

static fstate_t *fns(resp_cli_t *cl)
{
	resp_srv_t *srv = cl->srv;
	if (srv->fns)
		return srv->fns;
	fstate_t *s = state_new(srv->b->log);
	funcs_lib_t l;
	buf_t err = BUF_INIT;
	for (size_t i = 0; funcs_get(srv->b->funcs, i, &l); i++) {
		const char *name;
		buf_reset(&err);
		if (state_load(s, NULL, l.code, l.code_len, LOAD_NEW, &err, &name) < 0) {
			buf_put_u8(&err, 0);
			log_error(srv->b->log, "functions: library %.*s does not load: %s",
			          (int)l.name_len, l.name, (const char *)buf_data(&err));
		}
	}
	buf_deinit(&err);
	srv->fns = s;
	return s;
}

void resp_function_free(resp_srv_t *srv)
{
	state_free(srv->fns);
	srv->fns = NULL;
}

static void reply_err(resp_cli_t *cl, buf_t *err)
{
	buf_put_u8(err, 0);
	resp_error(cl->out, (const char *)buf_data(err));
}

RESP_HANDLER(resp_c_function_load)
{
	int replace = LOAD_NEW;
	/* functionLoadCommand: every argument before the code is an option. */
	for (int i = 2; i < argc - 1; i++) {
		if (!resp_arg_is(&argv[i], "replace")) {
			resp_errorf(cl->out, "ERR Unknown option given: %.*s", (int)argv[i].len,
			            argv[i].p);
			return 0;
		}
		replace = LOAD_REPLACE;
	}
	const resp_arg_t *code = &argv[argc - 1];
	buf_t err = BUF_INIT;
	const char *name;
	if (state_load(fns(cl), cl->srv->b, code->p, code->len, replace, &err, &name) < 0)
		reply_err(cl, &err);
	else
		resp_bulk_str(cl->out, name);
	buf_deinit(&err);
	return 0;
}

static int fcall(resp_cli_t *cl, int argc, resp_arg_t *argv, int ro)
{
	int64_t numkeys;
	if (resp_arg_ll(&argv[2], &numkeys) < 0) {
		resp_error(cl->out, "ERR Bad number of keys provided");
		return 0;
	}
	if (resp_script_numkeys(cl, argc, argv, &numkeys) < 0)
		return 0;
	fstate_t *s = fns(cl);
	const fn_t *f = find_fn(s, argv[1].p, argv[1].len, NULL);
	if (!f) {
		resp_error(cl->out, "ERR Function not found");
		return 0;
	}
	int no_writes = (f->flags & RESP_FN_NO_WRITES) != 0;
	if (ro && !no_writes) {
		resp_error(cl->out,
		           "ERR Can not execute a script with write flag using *_ro command.");
		return 0;
	}
	resp_script_exec(cl, s->e, f->name, 1, ro || no_writes, numkeys, argc, argv);
	return 0;
}

RESP_HANDLER(resp_c_fcall)
{
	return fcall(cl, argc, argv, 0);
}

RESP_HANDLER(resp_c_fcall_ro)
{
	return fcall(cl, argc, argv, 1);
}

static void put_flags(resp_cli_t *cl, uint32_t flags)
{
	size_t n = 0;
	for (int b = 0; resp_fn_flag_names[b]; b++)
		n += (flags >> b) & 1;
	resp_set(cl->out, cl->proto, n);
	for (int b = 0; resp_fn_flag_names[b]; b++)
		if ((flags >> b) & 1)
			resp_simple(cl->out, resp_fn_flag_names[b]);
}

RESP_HANDLER(resp_c_function_list)
{
	const resp_arg_t *pat = NULL;
	int code = 0;
	for (int i = 2; i < argc; i++) {
		if (resp_arg_is(&argv[i], "withcode") && !code) {
			code = 1;
		} else if (resp_arg_is(&argv[i], "libraryname") && !pat && i + 1 < argc) {
			pat = &argv[++i];
		} else if (resp_arg_is(&argv[i], "libraryname") && !pat) {
			resp_error(cl->out, "ERR library name argument was not given");
			return 0;
		} else {
			resp_errorf(cl->out, "ERR Unknown argument %.*s", (int)argv[i].len,
			            argv[i].p);
			return 0;
		}
	}
	fstate_t *s = fns(cl);
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += !pat ||
		     ks_glob_match(pat->p, pat->len, s->libs[i].name, strlen(s->libs[i].name), 0);
	resp_array(cl->out, n);
	for (size_t i = 0; i < s->n; i++) {
		const lib_t *l = &s->libs[i];
		if (pat && !ks_glob_match(pat->p, pat->len, l->name, strlen(l->name), 0))
			continue;
		resp_map(cl->out, cl->proto, code ? 4 : 3);
		resp_bulk_str(cl->out, "library_name");
		resp_bulk_str(cl->out, l->name);
		resp_bulk_str(cl->out, "engine");
		resp_bulk_str(cl->out, "LUA");
		resp_bulk_str(cl->out, "functions");
		resp_array(cl->out, l->nfns);
		for (size_t j = 0; j < l->nfns; j++) {
			resp_map(cl->out, cl->proto, 3);
			resp_bulk_str(cl->out, "name");
			resp_bulk_str(cl->out, l->fns[j].name);
			resp_bulk_str(cl->out, "description");
			if (l->fns[j].desc)
				resp_bulk_str(cl->out, l->fns[j].desc);
			else
				resp_null(cl->out, cl->proto);
			resp_bulk_str(cl->out, "flags");
			put_flags(cl, l->fns[j].flags);
		}
		if (code) {
			resp_bulk_str(cl->out, "library_code");
			resp_bulk(cl->out, l->code, l->code_len);
		}
	}
	return 0;
}

RESP_HANDLER(resp_c_function_delete)
{
	(void)argc;
	fstate_t *s = fns(cl);
	lib_t *l = find_lib(s, argv[2].p, argv[2].len);
	if (!l) {
		resp_error(cl->out, "ERR Library not found");
		return 0;
	}
	int rc = persist(cl->srv->b, s, NULL, l);
	if (rc < 0) {
		resp_misconf(cl->out, rc);
		return 0;
	}
	drop_lib(s, l);
	resp_ok(cl->out);
	return 0;
}

/* Replaces the state by next (FLUSH, RESTORE), written ahead first. */
static void swap_state(resp_cli_t *cl, fstate_t *next)
{
	int rc = persist(cl->srv->b, next, NULL, NULL);
	if (rc < 0) {
		state_free(next);
		resp_misconf(cl->out, rc);
		return;
	}
	state_free(cl->srv->fns);
	cl->srv->fns = next;
	resp_ok(cl->out);
}

/* 7.0's addReplySubcommandSyntaxError, for FUNCTION's subcommands. */
static void err_subcmd(resp_cli_t *cl, const resp_arg_t *sub)
{
	resp_errorf(cl->out,
	            "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
	            "FUNCTION HELP.",
	            sub->len > 128 ? 128 : (int)sub->len, sub->p);
}

RESP_HANDLER(resp_c_function_flush)
{
	if (argc > 3) {
		err_subcmd(cl, &argv[1]);
		return 0;
	}
	if (argc == 3 && !resp_arg_is(&argv[2], "sync") && !resp_arg_is(&argv[2], "async")) {
		resp_error(cl->out, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
		return 0;
	}
	fns(cl);
	swap_state(cl, state_new(cl->srv->b->log));
	return 0;
}

RESP_HANDLER(resp_c_function_dump)
{
	(void)argc;
	(void)argv;
	fstate_t *s = fns(cl);
	buf_t b = BUF_INIT;
	buf_append(&b, "SLFN", 4);
	buf_put_u8(&b, 1);
	buf_put_be32(&b, (uint32_t)s->n);
	for (size_t i = 0; i < s->n; i++) {
		buf_put_be32(&b, (uint32_t)s->libs[i].code_len);
		buf_append(&b, s->libs[i].code, s->libs[i].code_len);
	}
	buf_put_be32(&b, crc32c(0, buf_data(&b), buf_len(&b)));
	resp_bulk(cl->out, buf_data(&b), buf_len(&b));
	buf_deinit(&b);
	return 0;
}

RESP_HANDLER(resp_c_function_restore)
{
	enum { APPEND, REPLACE, FLUSH } policy = APPEND;
	if (argc > 4) {
		err_subcmd(cl, &argv[1]);
		return 0;
	}
	if (argc == 4) {
		if (resp_arg_is(&argv[3], "append"))
			policy = APPEND;
		else if (resp_arg_is(&argv[3], "replace"))
			policy = REPLACE;
		else if (resp_arg_is(&argv[3], "flush"))
			policy = FLUSH;
		else {
			resp_error(cl->out,
			           "ERR Wrong restore policy given, value should be either "
			           "FLUSH, APPEND or REPLACE.");
			return 0;
		}
	}
	const uint8_t *p = (const uint8_t *)argv[2].p;
	size_t len = argv[2].len;
	rd_t r;
	rd_init(&r, p + (len >= 4 ? len - 4 : 0), len >= 4 ? 4 : 0);
	if (len < 13 || memcmp(p, "SLFN", 4) != 0 || p[4] != 1 ||
	    crc32c(0, p, len - 4) != rd_be32(&r)) {
		resp_error(cl->out, "ERR DUMP payload version or checksum are wrong");
		return 0;
	}
	rd_init(&r, p + 5, len - 9);
	uint32_t n = rd_be32(&r);
	fstate_t *cur = fns(cl), *next = state_new(cl->srv->b->log);
	buf_t err = BUF_INIT;
	const char *name;
	int rc = 0;
	for (size_t i = 0; policy != FLUSH && i < cur->n && rc == 0; i++)
		rc = state_load(next, NULL, cur->libs[i].code, cur->libs[i].code_len, LOAD_NEW,
		                &err, &name);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		uint32_t cl_len = rd_be32(&r);
		const char *code = (const char *)rd_bytes(&r, cl_len);
		if (r.err)
			break;
		rc = state_load(next, NULL, code, cl_len,
		                policy == REPLACE ? LOAD_REPLACE : LOAD_RESTORE, &err, &name);
	}
	if (rc == 0 && (r.err || rd_left(&r))) {
		buf_puts(&err, "ERR DUMP payload version or checksum are wrong");
		rc = -1;
	}
	if (rc < 0) {
		state_free(next);
		reply_err(cl, &err);
	} else {
		swap_state(cl, next);
	}
	buf_deinit(&err);
	return 0;
}

RESP_HANDLER(resp_c_function_stats)
{
	(void)argc;
	(void)argv;
	const resp_run_t *run = cl->srv->run;
	if (run && run->busy && !run->is_fn) {
		resp_error(cl->out, "BUSY Redis is busy running a script. You can only call SCRIPT "
		                    "KILL or SHUTDOWN NOSAVE.");
		return 0;
	}
	fstate_t *s = fns(cl);
	resp_map(cl->out, cl->proto, 2);
	resp_bulk_str(cl->out, "running_script");
	if (run && run->busy) {
		resp_map(cl->out, cl->proto, 3);
		resp_bulk_str(cl->out, "name");
		resp_bulk_str(cl->out, run->name);
		resp_bulk_str(cl->out, "command");
		resp_array(cl->out, (size_t)run->argc);
		for (int i = 0; i < run->argc; i++)
			resp_bulk(cl->out, run->argv[i].p, run->argv[i].len);
		resp_bulk_str(cl->out, "duration_ms");
		resp_int(cl->out, time_mono_ms() - run->start_ms);
	} else {
		resp_null(cl->out, cl->proto);
	}
	size_t nf = 0;
	for (size_t i = 0; i < s->n; i++)
		nf += s->libs[i].nfns;
	resp_bulk_str(cl->out, "engines");
	resp_map(cl->out, cl->proto, 1);
	resp_bulk_str(cl->out, "LUA");
	resp_map(cl->out, cl->proto, 2);
	resp_bulk_str(cl->out, "libraries_count");
	resp_int(cl->out, (int64_t)s->n);
	resp_bulk_str(cl->out, "functions_count");
	resp_int(cl->out, (int64_t)nf);
	return 0;
}

RESP_HANDLER(resp_c_function_kill)
{
	(void)argc;
	(void)argv;
	resp_script_kill(cl, 1);
	return 0;
}

RESP_HANDLER(resp_c_function_help)
{
	(void)argc;
	(void)argv;
	static const char *const lines[] = {
	    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	    "LOAD [REPLACE] <FUNCTION CODE>",
	    "    Create a new library with the given library name and code.",
	    "DELETE <LIBRARY NAME>",
	    "    Delete the given library.",
	    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	    "    Return general information on all the libraries:",
	    "    * Library name",
	    "    * The engine used to run the Library",
	    "    * Library description",
	    "    * Functions list",
	    "    * Library code (if WITHCODE is given)",
	    "    It also possible to get only function that matches a pattern using LIBRARYNAME "
	    "argument.",
	    "STATS",
	    "    Return information about the current function running:",
	    "    * Function name",
	    "    * Command used to run the function",
	    "    * Duration in MS that the function is running",
	    "    If no function is running, return nil",
	    "    In addition, returns a list of available engines.",
	    "KILL",
	    "    Kill the current running function.",
	    "FLUSH [ASYNC|SYNC]",
	    "    Delete all the libraries.",
	    "    When called without the optional mode argument, the behavior is determined by the",
	    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	    "    * ASYNC: Asynchronously flush the libraries.",
	    "    * SYNC: Synchronously flush the libraries.",
	    "DUMP",
	    "    Return a serialized payload representing the current libraries, can be restored "
	    "using FUNCTION RESTORE command",
	    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	    "    Restore the libraries represented by the given payload, it is possible to give a "
	    "restore policy to",
	    "    control how to handle existing libraries (default APPEND):",
	    "    * FLUSH: delete all existing libraries.",
	    "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
	    "abort.",
	    "    * REPLACE: appends the restored libraries to the existing libraries, On "
	    "collision, replace the old",
	    "      libraries with the new libraries (notice that even on this option there is a "
	    "chance of failure",
	    "      in case of functions name collision with another library).",
	    "HELP",
	    "    Prints this help.",
	    NULL,
	};
	resp_help(cl, lines);
	return 0;
}
