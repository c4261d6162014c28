/*
 * test_memconn.c — tests for the memconn test helper itself: exact reply
 * matching, large replies, and waiting for a reply another thread
 * completes (the syncer pattern: a hold finished from a loop_async_t).
 */
#include "test.h"

#include "memconn.h"
#include "tproto.h"

#include "core/err.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(memconn_expect_matches_exact_bytes)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	memconn_send_str(m, "a\r\nb\n");
	memconn_expect_str(m, "a\r\nb\n");
	memconn_expect_str(m, "");
	/* A mismatch fails the test: run it in a child to see that. */
	memconn_send_str(m, "c\n");
	pid_t pid = fork();
	if (pid == 0) {
		/* Keep the expected failure message out of the test log. */
		CHECK(freopen("/dev/null", "w", stderr) != NULL);
		memconn_expect_str(m, "d\n");
		_exit(0);
	}
	int status = 0;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(memconn_large_reply_does_not_stall)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	/* Larger than any socketpair buffer: the pump collects as it goes. */
	memconn_send_str(m, "big 8000000\n");
	buf_t out = BUF_INIT;
	CHECK_EQ(memconn_recv(m, &out), 8000000);
	for (size_t j = 0; j < 8000000; j += 4093)
		CHECK_EQ(buf_data(&out)[j], tproto_pattern(0, j));
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

typedef struct syncish {
	loop_async_t async;
	conn_t *c;
	conn_hold_t *h;
} syncish_t;

static void on_done(loop_t *loop, loop_async_t *a)
{
	(void)loop;
	syncish_t *x = a->arg;
	if (!x->h)
		return;
	buf_puts(conn_hold_buf(x->h), "synced\n");
	conn_hold_done(x->c, x->h);
	x->h = NULL;
}

static void *worker(void *arg)
{
	syncish_t *x = arg;
	loop_async_send(&x->async);
	return NULL;
}

TEST(memconn_recv_wait_sees_replies_completed_from_another_thread)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	syncish_t x = {.c = m->conn};
	CHECK_EQ(loop_async_init(m->loop, &x.async, on_done, &x), 0);
	x.h = conn_hold(m->conn);
	memconn_send_str(m, "after\n");
	memconn_expect_str(m, ""); /* held */
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, worker, &x), 0);
	buf_t out = BUF_INIT;
	CHECK_EQ(memconn_recv_wait(m, &out, 13, 10000), 0);
	CHECK_EQ(buf_len(&out), 13);
	CHECK_MEM(buf_data(&out), "synced\nafter\n", 13);
	pthread_join(th, NULL);
	/* Nothing more comes: a short wait times out. */
	CHECK_EQ(memconn_recv_wait(m, &out, 14, 20), SL_EAGAIN);
	CHECK_EQ(buf_len(&out), 13);
	loop_async_deinit(m->loop, &x.async);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}
