/*
 * test_front.c — the RESP front through in-memory connections: pipelined
 * requests split at every byte boundary, replies held for fsync=always,
 * blocked XREAD woken by another client, protocol errors closing the
 * connection, state surviving a front restart on the same directory, and
 * storage failures answered with MISCONF, one error per request.
 */
#include "resp_test.h"

#include <sys/stat.h>
#include <unistd.h>

static const char session[] = "*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$3\r\n1-1\r\n$1\r\na\r\n$1\r\nb\r\n"
                              "PING\r\n"
                              "*4\r\n$6\r\nXRANGE\r\n$1\r\ns\r\n$1\r\n-\r\n$1\r\n+\r\n"
                              "*2\r\n$4\r\nXLEN\r\n$1\r\ns\r\n";
static const char replies[] =
    "$3\r\n1-1\r\n+PONG\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n:1\r\n";

TEST(resp_front_pipeline_split_everywhere)
{
	env_t e;
	env_start(&e, "never");
	memconn_t *m = client(&e);
	for (size_t cut = 0; cut <= sizeof session - 1; cut++) {
		memconn_send_str(m, "*1\r\n$8\r\nFLUSHALL\r\n");
		memconn_pump(m);
		memconn_expect_str(m, "+OK\r\n");
		memconn_send(m, session, cut);
		memconn_pump(m);
		memconn_send(m, session + cut, sizeof session - 1 - cut);
		memconn_pump(m);
		memconn_expect_str(m, replies);
	}
	memconn_free(m);
	env_stop(&e);
}

TEST(resp_front_fsync_always_holds_write_replies)
{
	env_t e;
	env_start(&e, "always");
	memconn_t *m = client(&e);
	memconn_send_str(m, session);
	buf_t out = BUF_INIT;
	CHECK(memconn_recv_wait(m, &out, sizeof replies - 1, 5000) == 0);
	CHECK_EQ(buf_len(&out), sizeof replies - 1);
	CHECK_MEM(buf_data(&out), replies, sizeof replies - 1);
	buf_deinit(&out);
	memconn_free(m);
	env_stop(&e);
	/* Reopen the same directory: the entry is there. */
	env_start(&e, "always");
	m = client(&e);
	memconn_send_str(m, "XLEN s\r\n");
	memconn_pump(m);
	memconn_expect_str(m, ":1\r\n");
	memconn_free(m);
	env_stop(&e);
}

TEST(resp_front_blocked_xread_pauses_pipeline)
{
	env_t e;
	env_start(&e, "never");
	memconn_t *r = client(&e), *w = client(&e);
	memconn_send_str(r, "XREAD BLOCK 0 STREAMS s $\r\nPING\r\n");
	memconn_pump(r);
	memconn_expect_str(r, "");
	memconn_send_str(w, "XADD s 5-1 k v\r\n");
	memconn_pump(w);
	memconn_expect_str(w, "$3\r\n5-1\r\n");
	memconn_pump(r);
	memconn_expect_str(
	    r, "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n"
	       "+PONG\r\n");
	/* A client that goes away while blocked is simply forgotten. */
	memconn_send_str(r, "XREAD BLOCK 0 STREAMS s $\r\n");
	memconn_pump(r);
	memconn_free(r);
	memconn_send_str(w, "XADD s 6-1 k v\r\n");
	memconn_pump(w);
	memconn_expect_str(w, "$3\r\n6-1\r\n");
	memconn_free(w);
	env_stop(&e);
}

TEST(resp_front_protocol_error_closes)
{
	env_t e;
	env_start(&e, "never");
	memconn_t *m = client(&e), *other = client(&e);
	memconn_send_str(m, "PING\r\n*1\r\n$99999999999\r\n");
	memconn_pump(m);
	memconn_expect_str(m, "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
	CHECK(memconn_server_closed(m));
	memconn_send_str(other, "PING\r\n");
	memconn_pump(other);
	memconn_expect_str(other, "+PONG\r\n");
	memconn_free(m);
	memconn_free(other);
	env_stop(&e);
}

TEST(resp_front_blocked_xreadgroup_reply_is_durable)
{
	env_t e;
	env_start(&e, "always");
	memconn_t *r = client(&e), *w = client(&e);
	buf_t out = BUF_INIT;
	memconn_send_str(w, "XGROUP CREATE s g $ MKSTREAM\r\n");
	CHECK(memconn_recv_wait(w, &out, 5, 5000) == 0);
	buf_reset(&out);
	memconn_send_str(r, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >\r\n");
	memconn_pump(r);
	memconn_send_str(w, "XADD s 7-1 k v\r\n");
	CHECK(memconn_recv_wait(w, &out, 9, 5000) == 0);
	buf_reset(&out);
	const char want[] =
	    "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n7-1\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n";
	CHECK(memconn_recv_wait(r, &out, sizeof want - 1, 5000) == 0);
	CHECK_EQ(buf_len(&out), sizeof want - 1);
	CHECK_MEM(buf_data(&out), want, sizeof want - 1);
	buf_deinit(&out);
	memconn_free(r);
	memconn_free(w);
	env_stop(&e);
	env_start(&e, "always");
	r = client(&e);
	memconn_send_str(r, "XPENDING s g\r\n");
	memconn_pump(r);
	memconn_expect_str(
	    r, "*4\r\n:1\r\n$3\r\n7-1\r\n$3\r\n7-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n");
	memconn_free(r);
	env_stop(&e);
}

static void recv_exact(memconn_t *m, const char *want)
{
	buf_t out = BUF_INIT;
	size_t n = strlen(want);
	CHECK(memconn_recv_wait(m, &out, n, 5000) == 0);
	CHECK_MSG(buf_len(&out) == n && memcmp(buf_data(&out), want, n) == 0, "got %.*s",
	          (int)buf_len(&out), (const char *)buf_data(&out));
	buf_deinit(&out);
}

#define MISCONF_EIO "-MISCONF Errors writing to the AOF file: Input/output error\r\n"
#define MISCONF_NOSPC "-MISCONF Errors writing to the AOF file: No space left on device\r\n"

TEST(resp_front_failed_sync_fails_each_held_reply)
{
	env_t e;
	env_start(&e, "always");
	memconn_t *m = client(&e), *other = client(&e);
	memconn_send_str(m, "RPUSH q a b\r\n");
	recv_exact(m, ":2\r\n");
	env_fault(&e, "op=fdatasync,path=keys.journal,count=1,errno=EIO");
	/* Three requests, three errors: the read saw the failed push. */
	memconn_send_str(m, "RPUSH q c\r\nLRANGE q 0 -1\r\nPING\r\n");
	recv_exact(m, MISCONF_EIO MISCONF_EIO MISCONF_EIO);
	memconn_send_str(other, "LRANGE q 0 -1\r\n");
	recv_exact(other, "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	memconn_send_str(m, "RPUSH q d\r\n");
	recv_exact(m, ":3\r\n");
	memconn_free(m);
	memconn_free(other);
	env_stop(&e);
	env_start(&e, "always");
	m = client(&e);
	memconn_send_str(m, "LRANGE q 0 -1\r\n");
	recv_exact(m, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nd\r\n");
	memconn_free(m);
	env_stop(&e);
}

TEST(resp_front_full_disk_refuses_one_command_of_exec)
{
	env_t e;
	env_start(&e, "never");
	memconn_t *m = client(&e);
	memconn_send_str(m, "SET small x\r\n");
	recv_exact(m, "+OK\r\n");
	memconn_free(m);
	env_stop(&e); /* the journal is trimmed: the next append reserves */
	env_start(&e, "never");
	m = client(&e);
	env_fault(&e, "op=fallocate,path=keys.journal,count=-1,errno=ENOSPC");
	/* EXEC runs its commands one by one (Redis): the refused one
	 * answers MISCONF in the array, reads still work. */
	memconn_send_str(m, "MULTI\r\nGET small\r\nSET k v\r\nGET k\r\nEXEC\r\n");
	recv_exact(m, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n$1\r\nx\r\n" MISCONF_NOSPC
	              "$-1\r\n");
	sio_fault_clear(e.io);
	memconn_send_str(m, "SET k v\r\n");
	recv_exact(m, "+OK\r\n");
	memconn_free(m);
	env_stop(&e);
}

TEST(resp_front_compaction_that_cannot_wait_pauses_requests)
{
	env_t e;
	/* Quiet points are forced past 64 x 64 KiB = 4 MiB of garbage. */
	env_start_with(&e, "always", "journal.compact.min.bytes", "65536");
	memconn_t *m = client(&e);
	size_t vlen = 48 * 1024, n = 160;
	buf_t req = BUF_INIT;
	char *v = malloc(vlen);
	CHECK(v);
	memset(v, 'x', vlen);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&req, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", vlen);
		buf_append(&req, v, vlen);
		buf_puts(&req, "\r\n");
	}
	memconn_send(m, buf_data(&req), buf_len(&req));
	buf_t out = BUF_INIT;
	CHECK(memconn_recv_wait(m, &out, 5 * n, 20000) == 0);
	CHECK_EQ(buf_len(&out), 5 * n);
	/* The burst never left the domain idle by itself: requests were held
	 * back once, the journal compacted, and everything was answered. */
	memconn_send_str(m, "INFO sluice\r\n");
	buf_reset(&out);
	CHECK(memconn_recv_wait(m, &out, 60, 5000) == 0);
	buf_puts(&out, "");
	CHECK(memmem(buf_data(&out), buf_len(&out), "sluice_quiet_pauses:0", 21) == NULL);
	CHECK(memmem(buf_data(&out), buf_len(&out), "sluice_quiet_pauses:", 20) != NULL);
	struct stat st;
	CHECK(stat("resp/keys.journal", &st) == 0);
	CHECK_MSG(st.st_size < 6 * 1024 * 1024, "keys.journal %lld bytes", (long long)st.st_size);
	buf_deinit(&out);
	buf_deinit(&req);
	free(v);
	memconn_free(m);
	env_stop(&e);
}
