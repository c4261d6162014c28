/*
 * test_front.c — the RESP front through in-memory connections: pipelined
 * requests split at every byte boundary, replies held for fsync=always,
 * blocked XREAD woken by another client, protocol errors closing the
 * connection, and state surviving a front restart on the same directory.
 */
#include "resp_test.h"

#include <unistd.h>

static const char session[] =
	"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$3\r\n1-1\r\n$1\r\na\r\n$1\r\nb\r\n"
	"PING\r\n"
	"*4\r\n$6\r\nXRANGE\r\n$1\r\ns\r\n$1\r\n-\r\n$1\r\n+\r\n"
	"*2\r\n$4\r\nXLEN\r\n$1\r\ns\r\n";
static const char replies[] = "$3\r\n1-1\r\n+PONG\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n:1\r\n";

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
	memconn_expect_str(r, "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n"
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
	const char want[] = "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n7-1\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n";
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
	memconn_expect_str(r, "*4\r\n:1\r\n$3\r\n7-1\r\n$3\r\n7-1\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n1\r\n");
	memconn_free(r);
	env_stop(&e);
}
