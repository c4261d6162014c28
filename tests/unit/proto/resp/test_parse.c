/*
 * test_parse.c — the RESP request parser: every request fed whole and split
 * at every byte boundary, Redis's limits and error texts.
 */
#include "../../test.h"

#include "core/err.h"
#include "proto/resp/parse.h"

#include <stdint.h>

/* Parses `in` delivered in two parts split at `cut`, the way a connection
 * sees it: the parser is called on the bytes so far, and again with more.
 * Writes the arguments of every request as "a|b|c;" into out. */
static int parse_split(const char *in, size_t n, size_t cut, char *out, size_t outn,
                       const char **err)
{
	resp_parser_t p;
	resp_parser_init(&p, 1024);
	size_t have = cut, start = 0, o = 0;
	int rc = 0;
	out[0] = 0;
	for (;;) {
		size_t argc;
		int64_t r = resp_parse(&p, (const uint8_t *)in + start, have - start, &argc);
		if (r == SL_EAGAIN) {
			if (have == n)
				break;
			have = n;
			continue;
		}
		if (r == SL_EPROTO) {
			*err = p.err;
			rc = -1;
			break;
		}
		CHECK(r > 0);
		for (size_t i = 0; i < argc; i++)
			o += (size_t)snprintf(out + o, outn - o, "%s%.*s", i ? "|" : "",
			                      (int)p.argv[i].len, p.argv[i].p);
		o += (size_t)snprintf(out + o, outn - o, ";");
		start += (size_t)r;
	}
	resp_parser_deinit(&p);
	return rc;
}

static void check_all_splits(const char *in, size_t n, const char *want)
{
	char out[4096];
	for (size_t cut = 0; cut <= n; cut++) {
		const char *err = NULL;
		CHECK(parse_split(in, n, cut, out, sizeof out, &err) == 0);
		CHECK_MSG(strcmp(out, want) == 0, "cut %zu: got \"%s\" want \"%s\"", cut, out,
		          want);
	}
}

TEST(resp_parse_multibulk_every_split)
{
	const char in[] = "*3\r\n$4\r\nXADD\r\n$1\r\ns\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n";
	check_all_splits(in, sizeof in - 1, "XADD|s|;PING;");
}

TEST(resp_parse_binary_payload)
{
	const char in[] = "*2\r\n$3\r\nSET\r\n$4\r\na\r\nb\r\n";
	check_all_splits(in, sizeof in - 1, "SET|a\r\nb;");
}

TEST(resp_parse_inline_every_split)
{
	const char in[] = "PING\r\nECHO  \"a b\\x41\\n\" 'c\\'d'\n\r\nset k v\r\n";
	check_all_splits(in, sizeof in - 1, "PING;ECHO|a bA\n|c'd;;set|k|v;");
}

TEST(resp_parse_empty_multibulk)
{
	const char in[] = "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n";
	check_all_splits(in, sizeof in - 1, ";;PING;");
}

static const char *parse_err(const char *in, size_t n, int unauth)
{
	resp_parser_t p;
	resp_parser_init(&p, 1024);
	p.unauth = unauth;
	size_t argc;
	int64_t r = resp_parse(&p, (const uint8_t *)in, n, &argc);
	static char err[128];
	snprintf(err, sizeof err, "%s", r == SL_EPROTO ? p.err : "none");
	resp_parser_deinit(&p);
	return err;
}

TEST(resp_parse_errors_are_redis_texts)
{
	CHECK_STR(parse_err("*x\r\n", 4, 0), "Protocol error: invalid multibulk length");
	CHECK_STR(parse_err("*3000000000\r\n", 13, 0), "Protocol error: invalid multibulk length");
	CHECK_STR(parse_err("*1\r\n+a\r\n", 8, 0), "Protocol error: expected '$', got '+'");
	CHECK_STR(parse_err("*1\r\n$-1\r\n", 9, 0), "Protocol error: invalid bulk length");
	/* Over proto-max-bulk-len (1024 here): refused before any payload. */
	CHECK_STR(parse_err("*1\r\n$1025\r\n", 11, 0), "Protocol error: invalid bulk length");
	CHECK_STR(parse_err("*1\r\n$01\r\n", 9, 0), "Protocol error: invalid bulk length");
	CHECK_STR(parse_err("*11\r\n", 5, 1), "Protocol error: unauthenticated multibulk length");
	CHECK_STR(parse_err("\"abc\r\n", 6, 0), "Protocol error: unbalanced quotes in request");
	CHECK_STR(parse_err("*1\r\n$1\r\n", 8, 0), "none");
}

TEST(resp_parse_inline_and_count_lines_bounded)
{
	size_t n = RESP_INLINE_MAX + 10;
	char *big = malloc(n);
	memset(big, 'a', n);
	CHECK_STR(parse_err(big, n, 0), "Protocol error: too big inline request");
	big[0] = '*';
	CHECK_STR(parse_err(big, n, 0), "Protocol error: too big mbulk count string");
	memcpy(big, "*1\r\n$", 5);
	CHECK_STR(parse_err(big, n, 0), "Protocol error: too big bulk count string");
	free(big);
}

TEST(resp_parse_huge_count_allocates_lazily)
{
	/* A client announcing two billion arguments costs nothing until they
	 * arrive. */
	const char in[] = "*2000000000\r\n$1\r\na\r\n";
	resp_parser_t p;
	resp_parser_init(&p, 1024);
	size_t argc;
	CHECK_EQ(resp_parse(&p, (const uint8_t *)in, sizeof in - 1, &argc), SL_EAGAIN);
	CHECK(p.cap <= 8);
	resp_parser_deinit(&p);
}

/* `*50000000` followed by empty bulks: the request's bytes plus
 * RESP_ARG_COST per argument may not pass max_request, fed a chunk at a
 * time as a connection would; what the parser holds stays near the bound,
 * and a large request's tables are given back when the next one starts. */
TEST(resp_parse_request_bound_counts_arguments)
{
	enum { MAX = 1 << 20 };
	resp_parser_t p;
	resp_parser_init(&p, 1024);
	p.max_request = MAX;
	size_t n = 11 + 6 * 100000;
	char *in = malloc(n);
	memcpy(in, "*50000000\r\n", 11);
	for (size_t i = 11; i < n; i += 6)
		memcpy(in + i, "$0\r\n\r\n", 6);
	int64_t r = SL_EAGAIN;
	size_t argc, have = 0;
	while (r == SL_EAGAIN && have < n) {
		have = have + 4096 < n ? have + 4096 : n;
		r = resp_parse(&p, (const uint8_t *)in, have, &argc);
		CHECK(resp_parser_mem(&p) <= MAX);
	}
	CHECK_EQ(r, SL_EPROTO);
	CHECK_STR(p.err, "Protocol error: too big request (max.request.bytes)");
	/* The bound is where bytes and argument tables reach it together:
	 * about MAX / (6 + RESP_ARG_COST) empty bulks, not MAX / 6. */
	size_t args = MAX / (6 + RESP_ARG_COST);
	CHECK(have + 4096 >= args * 6);
	CHECK(have <= args * 6 + 2 * 4096);
	/* A bulk that alone passes the bound fails at its header. */
	resp_parser_deinit(&p);
	resp_parser_init(&p, 1 << 30);
	p.max_request = MAX;
	const char big[] = "*1\r\n$2000000\r\n";
	CHECK_EQ(resp_parse(&p, (const uint8_t *)big, sizeof big - 1, &argc), SL_EPROTO);
	/* Within the bound, a large request works and its tables go after. */
	resp_parser_deinit(&p);
	resp_parser_init(&p, 1024);
	p.max_request = MAX;
	size_t m = 12 + 6 * 20000;
	memcpy(in, "*20000\r\n", 8);
	for (size_t i = 8; i < m; i += 6)
		memcpy(in + i, "$0\r\n\r\n", 6);
	size_t used = 8 + 6 * 20000;
	r = resp_parse(&p, (const uint8_t *)in, used, &argc);
	CHECK_EQ(r, (int64_t)used);
	CHECK_EQ(argc, 20000);
	CHECK(resp_parser_mem(&p) >= 20000 * RESP_ARG_COST);
	CHECK_EQ(resp_parse(&p, (const uint8_t *)"*1\r\n$4\r\nPING\r\n", 14, &argc), 14);
	CHECK(resp_parser_mem(&p) < 1024 * RESP_ARG_COST);
	resp_parser_deinit(&p);
	free(in);
}
