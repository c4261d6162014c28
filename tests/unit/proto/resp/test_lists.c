/*
 * test_lists.c — lists, strings, pub/sub and transactions through the RESP
 * front with in-memory connections: blocked BLPOP clients served FIFO by
 * one push, pipelined commands waiting behind a blocked one, a client that
 * goes away while blocked, PUBLISH fan-out with RESP2/RESP3 frames, EXEC,
 * and lists, strings and expiry times surviving a front restart on the
 * same directory, with fsync=always replies arriving after the sync.
 */
#include "resp_test.h"

static void cmd(memconn_t *m, const char *req, const char *want)
{
	memconn_send_str(m, req);
	memconn_pump(m);
	memconn_expect_str(m, want);
}

TEST(resp_lists_blpop_fifo_one_push_serves_two)
{
	env_t e;
	env_start(&e, "never");
	memconn_t *a = client(&e), *b = client(&e), *c = client(&e), *w = client(&e);
	cmd(a, "BLPOP q 0\r\nPING\r\n", "");
	cmd(b, "BRPOP q 0\r\n", "");
	cmd(c, "BLPOP other q 0\r\n", "");
	cmd(w, "RPUSH q x y\r\n", ":2\r\n");
	memconn_pump(a);
	memconn_expect_str(a, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n+PONG\r\n");
	memconn_pump(b);
	memconn_expect_str(b, "*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
	memconn_pump(c);
	memconn_expect_str(c, "");
	/* A blocked client that disconnects takes nothing. */
	memconn_free(c);
	cmd(w, "LPUSH q z\r\n", ":1\r\n");
	cmd(w, "LRANGE q 0 -1\r\n", "*1\r\n$1\r\nz\r\n");
	memconn_free(a);
	memconn_free(b);
	memconn_free(w);
	env_stop(&e);
}

TEST(resp_lists_publish_resp2_and_resp3)
{
	env_t e;
	env_start(&e, "never");
	memconn_t *s2 = client(&e), *s3 = client(&e), *p = client(&e);
	cmd(s2, "SUBSCRIBE ch\r\n", "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
	memconn_send_str(s3, "HELLO 3\r\n");
	memconn_pump(s3);
	buf_t hello = BUF_INIT;
	CHECK(memconn_recv(s3, &hello) > 0 && buf_data(&hello)[0] == '%');
	buf_deinit(&hello);
	cmd(s3, "PSUBSCRIBE c*\r\n", ">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n");
	cmd(p, "PUBLISH ch hi\r\n", ":2\r\n");
	memconn_pump(s2);
	memconn_expect_str(s2, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
	memconn_pump(s3);
	memconn_expect_str(s3, ">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n");
	cmd(s3, "GET nothing\r\n", "_\r\n");
	cmd(s2, "GET nothing\r\n",
	    "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
	    "RESET are allowed in this context\r\n");
	memconn_free(s2);
	cmd(p, "PUBLISH ch again\r\n", ":1\r\n");
	memconn_free(s3);
	memconn_free(p);
	env_stop(&e);
}

TEST(resp_lists_state_survives_restart)
{
	env_t e;
	env_start(&e, "always");
	memconn_t *m = client(&e);
	memconn_send_str(m, "RPUSH l a b c\r\nLPOP l\r\nSET k v EX 1000\r\nMULTI\r\nINCR n\r\n"
	                    "INCR n\r\nEXEC\r\n");
	const char want[] =
	    ":3\r\n$1\r\na\r\n+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n:2\r\n";
	buf_t out = BUF_INIT;
	CHECK(memconn_recv_wait(m, &out, sizeof want - 1, 5000) == 0);
	CHECK_EQ(buf_len(&out), sizeof want - 1);
	CHECK_MEM(buf_data(&out), want, sizeof want - 1);
	buf_deinit(&out);
	memconn_free(m);
	env_stop(&e);

	env_start(&e, "never");
	m = client(&e);
	cmd(m, "LRANGE l 0 -1\r\n", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
	cmd(m, "GET k\r\n", "$1\r\nv\r\n");
	memconn_send_str(m, "TTL k\r\n");
	memconn_pump(m);
	buf_t ttl = BUF_INIT;
	memconn_recv(m, &ttl);
	CHECK((buf_len(&ttl) == 7 && memcmp(buf_data(&ttl), ":1000\r\n", 7) == 0) ||
	      (buf_len(&ttl) == 6 && memcmp(buf_data(&ttl), ":999\r\n", 6) == 0));
	buf_deinit(&ttl);
	cmd(m, "GET n\r\n", "$1\r\n2\r\n");
	memconn_free(m);
	env_stop(&e);
}
