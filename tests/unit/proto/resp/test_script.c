/*
 * test_script.c — the Lua engine (script_lua.h) on its own: SHA1 vectors,
 * a script's commands through a fake call hook (what the hook is given,
 * how its RESP replies convert), results in RESP2 and RESP3, errors and
 * the sandbox, struct and cmsgpack round trips, SCRIPT FLUSH.
 */
#include "../../test.h"

#include "proto/resp/script_lua.h"

typedef struct {
	int calls;
	char last[256];
	const char *reply; /* what the fake command answers */
	int refuse;
} fake_t;

static int fake_call(void *ctx, int argc, resp_arg_t *argv, int proto, buf_t *out)
{
	fake_t *f = ctx;
	(void)proto;
	f->calls++;
	size_t o = 0;
	for (int i = 0; i < argc && o < sizeof f->last - 1; i++)
		o += (size_t)snprintf(f->last + o, sizeof f->last - o, "%s%.*s", i ? " " : "",
		                      (int)argv[i].len, argv[i].p);
	if (f->refuse) {
		buf_puts(out, "This Redis command is not allowed from script");
		return -1;
	}
	buf_puts(out, f->reply);
	return 0;
}

/* Runs body (loading it) with one key and one argument; returns the reply. */
static char *run(resp_lua_t *e, fake_t *f, int proto, const char *body)
{
	static char res[4096];
	char sha[41];
	buf_t err = BUF_INIT, out = BUF_INIT;
	if (resp_lua_load(e, body, strlen(body), sha, &err) < 0) {
		snprintf(res, sizeof res, "load: %.*s", (int)buf_len(&err), (char *)buf_data(&err));
	} else {
		resp_arg_t keys[1] = {{"k", 1}}, args[1] = {{"1.5", 3}};
		resp_lua_run_t r = {.proto = proto,
		                    .call = fake_call,
		                    .ctx = f,
		                    .nkeys = 1,
		                    .keys = keys,
		                    .nargs = 1,
		                    .args = args};
		resp_lua_run(e, sha, &r, &out);
		snprintf(res, sizeof res, "%.*s", (int)buf_len(&out), (char *)buf_data(&out));
	}
	buf_deinit(&err);
	buf_deinit(&out);
	return res;
}

TEST(script_sha1_vectors)
{
	char h[41];
	resp_lua_sha1hex("", 0, h);
	CHECK_STR(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	resp_lua_sha1hex("abc", 3, h);
	CHECK_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
	const char *s56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	resp_lua_sha1hex(s56, strlen(s56), h);
	CHECK_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	char m[1000];
	memset(m, 'a', sizeof m);
	resp_lua_sha1hex(m, sizeof m, h);
	CHECK_STR(h, "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST(script_calls_and_conversions)
{
	resp_lua_t *e = resp_lua_new(NULL);
	fake_t f = {.reply = ":7\r\n"};
	CHECK_STR(run(e, &f, 2, "return redis.call('incrby', KEYS[1], 3)"), ":7\r\n");
	CHECK_STR(f.last, "incrby k 3");
	f.reply = "*3\r\n$1\r\na\r\n$-1\r\n:2\r\n";
	CHECK_STR(run(e, &f, 2, "local t = redis.call('x'); return {t[1], type(t[2]), t[3]}"),
	          "*3\r\n$1\r\na\r\n$7\r\nboolean\r\n:2\r\n");
	f.reply = "%1\r\n$1\r\nk\r\n,2.5\r\n";
	CHECK_STR(
	    run(e, &f, 3, "redis.setresp(3); local t = redis.call('x'); return t.map.k.double"),
	    ":2\r\n");
	f.reply = "-ERR nope\r\n";
	CHECK_STR(run(e, &f, 2, "return redis.pcall('x')"), "-ERR nope\r\n");
	char *r = run(e, &f, 2, "return redis.call('x')");
	CHECK(strncmp(r, "-ERR nope script: ", 18) == 0);
	CHECK(strstr(r, ", on @user_script:1.\r\n") != NULL);
	f.refuse = 1;
	r = run(e, &f, 2, "return redis.pcall('x')");
	CHECK_STR(r, "-ERR This Redis command is not allowed from script\r\n");
	f.refuse = 0;
	CHECK_STR(run(e, &f, 2, "return {1, 'two', {3}, nil, 5}"),
	          "*3\r\n:1\r\n$3\r\ntwo\r\n*1\r\n:3\r\n");
	CHECK_STR(run(e, &f, 2, "return {true, false}"), "*2\r\n:1\r\n$-1\r\n");
	CHECK_STR(run(e, &f, 3, "redis.setresp(3); return {true, false}"), "*2\r\n#t\r\n#f\r\n");
	CHECK_STR(run(e, &f, 2, "return ARGV[1] + 0"), ":1\r\n");
	CHECK_STR(run(e, &f, 2, "return redis.status_reply('FINE')"), "+FINE\r\n");
	resp_lua_free(e);
}

TEST(script_errors_and_sandbox)
{
	resp_lua_t *e = resp_lua_new(NULL);
	fake_t f = {.reply = "+OK\r\n"};
	char *r = run(e, &f, 2, "return nosuch");
	CHECK(strstr(r, "Script attempted to access nonexistent global variable 'nosuch'") != NULL);
	r = run(e, &f, 2, "x = 1");
	CHECK(strstr(r, "Attempt to modify a readonly table") != NULL);
	r = run(e, &f, 2, "return os.time()");
	CHECK(strstr(r, "nonexistent global variable 'os'") != NULL);
	r = run(e, &f, 2, "return (");
	CHECK(strstr(r, "load: ERR Error compiling script (new function): user_script:1:") == r);
	r = run(e, &f, 2, "return redis.call({})");
	CHECK(strstr(r, "Lua redis lib command arguments must be strings or integers") != NULL);
	CHECK_EQ(f.calls, 0);
	resp_lua_free(e);
}

TEST(script_libraries_round_trip)
{
	resp_lua_t *e = resp_lua_new(NULL);
	fake_t f = {.reply = "+OK\r\n"};
	CHECK_STR(run(e, &f, 2,
	              "return {struct.unpack('>i2 I4 d', struct.pack('>i2 I4 d', -2, 7, 0.5))}"),
	          "*4\r\n:-2\r\n:7\r\n:0\r\n:15\r\n");
	CHECK_STR(run(e, &f, 2,
	              "local t = cmsgpack.unpack(cmsgpack.pack({a={1,2,'x'}, n=-300, f=1.5})); "
	              "return {t.a[3], t.n, t.f * 2}"),
	          "*3\r\n$1\r\nx\r\n:-300\r\n:3\r\n");
	CHECK_STR(run(e, &f, 2, "return cmsgpack.pack(1, -1, 200, 'ab')"),
	          "$7\r\n\x01\xff\xcc\xc8\xa2"
	          "ab\r\n");
	CHECK_STR(run(e, &f, 2, "return cjson.encode(cjson.decode('[1,\"x\",{\"a\":true}]'))"),
	          "$18\r\n[1,\"x\",{\"a\":true}]\r\n");
	CHECK_STR(run(e, &f, 2, "return bit.bxor(5, 3)"), ":6\r\n");
	CHECK_STR(run(e, &f, 2, "math.randomseed(7); return tostring(math.random())"),
	          "$16\r\n0.26644419658298\r\n");
	resp_lua_free(e);
}

TEST(script_flush_forgets_scripts)
{
	resp_lua_t *e = resp_lua_new(NULL);
	char sha[41];
	buf_t err = BUF_INIT;
	CHECK(resp_lua_load(e, "return 1", 8, sha, &err) == 0);
	CHECK_STR(sha, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
	CHECK(resp_lua_exists(e, "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", 40));
	CHECK_EQ(resp_lua_count(e), 1);
	resp_lua_flush(e);
	CHECK(!resp_lua_exists(e, sha, 40));
	CHECK_EQ(resp_lua_count(e), 0);
	buf_deinit(&err);
	resp_lua_free(e);
}
