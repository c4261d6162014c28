/*
 * test_conn.c — unit tests for net/conn.c over socketpairs (through
 * memconn): pipelining, partial input, file regions, holds, pause/resume,
 * deferred close and the on_input/on_open return rules.
 */
#include "test.h"

#include "memconn.h"
#include "tproto.h"

#include "core/err.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static void check_buf(const buf_t *b, const char *want)
{
	size_t n = strlen(want);
	CHECK_MSG(buf_len(b) == n && (n == 0 || memcmp(buf_data(b), want, n) == 0),
	          "got \"%.*s\", want \"%s\"", (int)buf_len(b), (const char *)buf_data(b), want);
}

static void recv_expect(memconn_t *m, const char *want)
{
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	check_buf(&out, want);
	buf_deinit(&out);
}

TEST(conn_pipelined_requests_answered_in_order)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	CHECK(m != NULL);
	CHECK_EQ(s.opens, 1);
	CHECK_EQ(m->conn->id, 1);
	/* Zero limits take the defaults. */
	CHECK(conn_get_limits(m->conn)->max_input >= conn_get_limits(m->conn)->high_water);
	CHECK(conn_get_limits(m->conn)->high_water > conn_get_limits(m->conn)->low_water);
	CHECK(conn_get_limits(m->conn)->low_water > 0);
	memconn_send_str(m, "one\ntwo\nthree\nfour");
	memconn_pump(m);
	/* All complete requests in the buffer are handled in one on_input. */
	CHECK_EQ(s.inputs, 1);
	CHECK_EQ(s.requests, 3);
	recv_expect(m, "one\ntwo\nthree\n");
	/* Only the partial request is kept... */
	CHECK_EQ(buf_len(&m->conn->in), 4);
	memconn_send_str(m, "\n");
	recv_expect(m, "four\n");
	/* ...and an idle connection holds no input buffer. */
	CHECK_EQ(m->conn->in.cap, 0);
	memconn_send_str(m, "five");
	memconn_pump(m);
	memconn_send_str(m, "\n");
	recv_expect(m, "five\n");
	CHECK(!s.reentered);
	memconn_free(m);
	CHECK_EQ(s.closes, 1);
	tcheck_no_leaks();
}

TEST(conn_partial_reads_one_byte_at_a_time)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	const char *req = "hello world\nsecond line\nbig 3\n";
	buf_t out = BUF_INIT;
	for (const char *p = req; *p; p++) {
		size_t before = buf_len(&out);
		memconn_send(m, p, 1);
		memconn_recv(m, &out);
		if (*p != '\n')
			CHECK_EQ(buf_len(&out), before); /* no reply to half a line */
		else
			CHECK(buf_len(&out) > before);
	}
	CHECK_EQ(s.requests, 3);
	CHECK_EQ(buf_len(&out), 12 + 12 + 3);
	CHECK_MEM(buf_data(&out), "hello world\nsecond line\n", 24);
	for (int j = 0; j < 3; j++)
		CHECK_EQ(buf_data(&out)[24 + j], tproto_pattern(2, (uint64_t)j));
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

static void write_pattern_file(const char *path, size_t n)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	CHECK(fd >= 0);
	uint8_t *b = malloc(n);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 13 + i / 256);
	CHECK_EQ(write(fd, b, n), (ssize_t)n);
	free(b);
	close(fd);
}

static uint8_t file_byte(size_t i)
{
	return (uint8_t)(i * 13 + i / 256);
}

TEST(conn_file_regions_interleave_with_memory_and_survive_unlink)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	write_pattern_file("data.bin", 1 << 20);
	int fd = open("data.bin", O_RDONLY);
	CHECK(fd >= 0);
	conn_t *c = m->conn;
	conn_write(c, "A", 1);
	CHECK_EQ(conn_send_file(c, fd, 1000, 300000), 0);
	conn_write(c, "B", 1);
	buf_put_u8(conn_out(c), 'C'); /* coalesces with "B" */
	CHECK_EQ(conn_send_file(c, fd, 0, 10), 0);
	CHECK_EQ(conn_send_file(c, fd, 5, 0), 0); /* empty region: nothing */
	CHECK_EQ(conn_send_file(c, fd, (1 << 20) - 7, 7), 0);
	conn_write(c, "D", 1);
	CHECK_EQ(conn_out_pending(c), 1 + 300000 + 2 + 10 + 7 + 1);
	/* The caller's fd and the file's name may go before the bytes do. */
	close(fd);
	CHECK_EQ(unlink("data.bin"), 0);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	CHECK_EQ(buf_len(&out), 1 + 300000 + 2 + 10 + 7 + 1);
	const uint8_t *p = buf_data(&out);
	CHECK_EQ(p[0], 'A');
	for (size_t i = 0; i < 300000; i++)
		CHECK_EQ(p[1 + i], file_byte(1000 + i));
	p += 300001;
	CHECK_EQ(p[0], 'B');
	CHECK_EQ(p[1], 'C');
	for (size_t i = 0; i < 10; i++)
		CHECK_EQ(p[2 + i], file_byte(i));
	for (size_t i = 0; i < 7; i++)
		CHECK_EQ(p[12 + i], file_byte((1 << 20) - 7 + i));
	CHECK_EQ(p[19], 'D');
	CHECK_EQ(conn_out_pending(c), 0);
	CHECK_EQ(conn_send_file(c, -1, 0, 10), SL_EIO);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_file_region_past_end_of_file_closes)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	write_pattern_file("short.bin", 100);
	int fd = open("short.bin", O_RDONLY);
	conn_write(m->conn, "x", 1);
	CHECK_EQ(conn_send_file(m->conn, fd, 50, 100), 0); /* 50 bytes missing */
	close(fd);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	CHECK(memconn_server_closed(m));
	CHECK(conn_is_closed(m->conn));
	CHECK_EQ(s.closes, 1);
	/* What existed was sent; the connection ended instead of stalling. */
	CHECK_EQ(buf_len(&out), 51);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_replies_after_a_hold_wait_for_it)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_t *c = m->conn;
	conn_write(c, "1", 1);
	conn_hold_t *h = conn_hold(c);
	CHECK(h != NULL);
	conn_write(c, "3", 1);
	memconn_send_str(m, "4\n"); /* handled now; its reply queues behind */
	recv_expect(m, "1");
	CHECK_EQ(s.requests, 1);
	CHECK_EQ(conn_out_pending(c), 3);
	buf_puts(conn_hold_buf(h), "2");
	conn_hold_done(c, h);
	recv_expect(m, "234\n");
	/* A hold at the tail, completed: later writes follow it. */
	h = conn_hold(c);
	buf_puts(conn_hold_buf(h), "x");
	conn_hold_done(c, h);
	conn_write(c, "y", 1);
	recv_expect(m, "xy");
	/* An empty hold passes through. */
	h = conn_hold(c);
	conn_write(c, "z", 1);
	recv_expect(m, "");
	conn_hold_done(c, h);
	recv_expect(m, "z");
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_holds_done_out_of_order_release_in_order)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_t *c = m->conn;
	conn_hold_t *h1 = conn_hold(c);
	conn_write(c, "b", 1);
	conn_hold_t *h2 = conn_hold(c);
	conn_write(c, "d", 1);
	conn_hold_t *h3 = conn_hold(c);
	buf_puts(conn_hold_buf(h3), "e");
	conn_hold_done(c, h3);
	buf_puts(conn_hold_buf(h2), "c");
	conn_hold_done(c, h2);
	recv_expect(m, "");
	buf_puts(conn_hold_buf(h1), "a");
	conn_hold_done(c, h1);
	recv_expect(m, "abcde");
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_closed_with_outstanding_hold_does_not_crash_or_leak)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_t *c = m->conn;
	conn_hold_t *h1 = conn_hold(c);
	conn_hold_t *h2 = conn_hold(c);
	conn_write(c, "after", 5);
	conn_close(c, 0);
	CHECK(conn_is_closed(c));
	memconn_pump(m);
	CHECK_EQ(s.closes, 1);
	CHECK(memconn_server_closed(m));
	CHECK_EQ(conn_count(m->loop), 0);
	/* The handles stay usable; their bytes go nowhere. */
	buf_puts(conn_hold_buf(h2), "late");
	conn_hold_done(c, h2);
	/* Writes to a closed connection are dropped, not crashes. */
	conn_write(c, "zzz", 3);
	buf_puts(conn_out(c), "zzz");
	CHECK_EQ(conn_send_file(c, 0, 0, 1), 0);
	conn_hold_t *h3 = conn_hold(c);
	conn_hold_done(c, h3);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	CHECK_EQ(buf_len(&out), 0);
	buf_deinit(&out);
	memconn_free(m); /* drops the last reference but h1's */
	buf_puts(conn_hold_buf(h1), "very late");
	conn_hold_done(c, h1); /* frees the connection */
	CHECK_EQ(s.closes, 1);
	tcheck_no_leaks();
}

TEST(conn_flushing_close_waits_for_hold_then_sends_fin)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_t *c = m->conn;
	conn_write(c, "a", 1);
	conn_hold_t *h = conn_hold(c);
	conn_write(c, "c", 1);
	conn_close(c, 1);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	check_buf(&out, "a");
	CHECK(!m->eof);
	CHECK_EQ(s.closes, 0); /* still flushing: pdata stays valid */
	CHECK_EQ(conn_count(m->loop), 1);
	buf_puts(conn_hold_buf(h), "b");
	conn_hold_done(c, h);
	memconn_recv(m, &out);
	check_buf(&out, "abc");
	CHECK(memconn_server_closed(m));
	CHECK_EQ(s.closes, 1);
	CHECK_EQ(conn_count(m->loop), 0);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_deferred_close_with_flush_delivers_reply_before_fin)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	/* 3 MB does not fit in the socket buffers: the close must wait for
	 * the reader. */
	memconn_send_str(m, "big 3000000\nquit\nnever\n");
	CHECK_EQ(loop_run_once(m->loop, 0), 0);
	CHECK(conn_is_closed(m->conn));
	CHECK_EQ(s.requests, 2); /* nothing after quit is handled */
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	CHECK(memconn_server_closed(m));
	CHECK_EQ(buf_len(&out), 3000000 + 4);
	for (size_t j = 0; j < 3000000; j++)
		CHECK_EQ(buf_data(&out)[j], tproto_pattern(0, j));
	CHECK_MEM(buf_data(&out) + 3000000, "bye\n", 4);
	CHECK_EQ(s.closes, 1);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_close_without_flush_takes_effect_at_turn_end)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_t *c = m->conn;
	conn_close(c, 0);
	conn_close(c, 1); /* a second close changes nothing */
	CHECK(conn_is_closed(c));
	CHECK_EQ(s.closes, 0);
	CHECK_EQ(conn_count(m->loop), 1);
	CHECK_EQ(loop_run_once(m->loop, 0), 0);
	CHECK_EQ(s.closes, 1);
	CHECK_EQ(conn_count(m->loop), 0);
	CHECK(memconn_server_closed(m));
	memconn_free(m);
	CHECK_EQ(s.closes, 1);
	tcheck_no_leaks();
}

TEST(conn_on_input_negative_flushes_queued_output_then_closes)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	memconn_send_str(m, "ok\nbad\nlater\n");
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	check_buf(&out, "ok\nERR\n");
	CHECK(memconn_server_closed(m));
	CHECK_EQ(s.requests, 2);
	CHECK_EQ(s.closes, 1);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_peer_half_close_still_gets_replies)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	memconn_send_str(m, "a\nb\n");
	memconn_shutdown(m);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	check_buf(&out, "a\nb\n");
	CHECK(memconn_server_closed(m));
	CHECK_EQ(s.closes, 1);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_peer_half_close_waits_for_held_reply)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	memconn_send_str(m, "a\n");
	memconn_pump(m);
	conn_hold_t *h = conn_hold(m->conn);
	memconn_send_str(m, "c\n");
	memconn_shutdown(m);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	/* EOF may be a half-close: the held reply is still wanted. */
	check_buf(&out, "a\n");
	CHECK(conn_is_closed(m->conn));
	CHECK_EQ(s.closes, 0);
	CHECK(!m->eof);
	buf_puts(conn_hold_buf(h), "b\n");
	conn_hold_done(m->conn, h);
	memconn_recv(m, &out);
	check_buf(&out, "a\nb\nc\n");
	CHECK(memconn_server_closed(m));
	CHECK_EQ(s.closes, 1);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_peer_gone_closes_despite_a_hold)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_hold_t *h = conn_hold(m->conn);
	memconn_close_client(m);
	memconn_pump(m);
	/* Both directions are gone (EPOLLHUP): nothing could be delivered. */
	CHECK(conn_is_closed(m->conn));
	CHECK_EQ(s.closes, 1);
	CHECK_EQ(conn_count(m->loop), 0);
	buf_puts(conn_hold_buf(h), "reply nobody reads");
	conn_hold_done(m->conn, h);
	memconn_free(m);
	tcheck_no_leaks();
}

typedef struct resume_ctx {
	loop_timer_t t;
	conn_t *c;
} resume_ctx_t;

static void resume_later(loop_t *loop, loop_timer_t *t)
{
	(void)loop;
	resume_ctx_t *r = t->arg;
	conn_resume(r->c);
}

TEST(conn_pause_holds_input_until_resume)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_t *c = m->conn;
	memconn_send_str(m, "a\npause\nb\nc\n");
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	check_buf(&out, "a\n");
	CHECK(conn_paused(c));
	CHECK_EQ(s.requests, 2);
	/* More input while paused is buffered, not handled. */
	memconn_send_str(m, "d\n");
	memconn_recv(m, &out);
	check_buf(&out, "a\n");
	CHECK_EQ(s.inputs, 1);
	/* Resume from a timer: the buffered requests run at the end of that
	 * turn, not inside conn_resume. */
	resume_ctx_t r = {.c = c};
	loop_timer_init(&r.t, resume_later, &r);
	loop_timer_start(m->loop, &r.t, 0);
	CHECK_EQ(loop_run_once(m->loop, 0), 0);
	CHECK(!conn_paused(c));
	CHECK_EQ(s.requests, 5);
	memconn_recv(m, &out);
	check_buf(&out, "a\nb\nc\nd\n");
	CHECK(!s.reentered);
	/* Pause and resume with nothing buffered change nothing. */
	conn_pause(c);
	conn_resume(c);
	conn_resume(c);
	memconn_send_str(m, "e\n");
	memconn_recv(m, &out);
	check_buf(&out, "a\nb\nc\nd\ne\n");
	CHECK(!s.reentered);
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_paused_stops_reading_past_max_input)
{
	tsrv_t s = {0};
	conn_limits_t lim = {.max_input = 4096, .high_water = 1 << 20, .low_water = 1 << 19};
	memconn_t *m = memconn_new(NULL, &tproto, &s, &lim);
	memconn_send_str(m, "pause\n");
	memconn_pump(m);
	CHECK(conn_paused(m->conn));
	/* Far more than max_input: the server stops reading instead of
	 * buffering it all or closing. */
	char line[100];
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	int sent = 0;
	for (int i = 0; i < 4000; i++) {
		ssize_t w = write(m->fd, line, sizeof line);
		if (w < 0)
			break;
		CHECK_EQ(w, (ssize_t)sizeof line);
		sent++;
		memconn_pump(m);
	}
	CHECK(sent < 4000); /* the socket filled up: the server stopped reading */
	CHECK(buf_len(&m->conn->in) >= 4096);
	CHECK(buf_len(&m->conn->in) < 4096 + 128 * 1024);
	CHECK(!conn_is_closed(m->conn));
	CHECK_EQ(s.requests, 1);
	conn_resume(m->conn);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	CHECK_EQ(buf_len(&out), (size_t)sent * sizeof line);
	CHECK_EQ(s.requests, 1 + sent);
	CHECK(!conn_is_closed(m->conn));
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_max_input_without_progress_closes)
{
	tsrv_t s = {0};
	conn_limits_t lim = {.max_input = 1000, .high_water = 1 << 20, .low_water = 1 << 19};
	memconn_t *m = memconn_new(NULL, &tproto, &s, &lim);
	memconn_t *other = memconn_new(m->loop, &tproto, &s, &lim);
	CHECK_EQ(conn_get_limits(m->conn)->max_input, 1000);
	CHECK_EQ(conn_get_limits(m->conn)->low_water, 1 << 19);
	CHECK_EQ(other->conn->id, 2);
	memconn_send_str(m, "fine\n");
	char junk[1500];
	memset(junk, 'j', sizeof junk);
	memconn_send(m, junk, sizeof junk);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	check_buf(&out, "fine\n");
	CHECK(memconn_server_closed(m));
	CHECK_EQ(s.closes, 1);
	/* The other connection on the same loop is unaffected. */
	memconn_send_str(other, "still here\n");
	buf_reset(&out);
	memconn_recv(other, &out);
	check_buf(&out, "still here\n");
	CHECK(!conn_is_closed(other->conn));
	buf_deinit(&out);
	memconn_free(other); /* first: m owns the loop */
	memconn_free(m);
	tcheck_no_leaks();
}

TEST(conn_on_open_refusal_returns_null)
{
	tsrv_t s = {.refuse = 1};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	CHECK(m == NULL);
	CHECK_EQ(s.closes, 0);
	tcheck_no_leaks();
}

static void count_cb(conn_t *c, void *arg)
{
	int *n = arg;
	CHECK(c->id >= 1);
	(*n)++;
	conn_close(c, 0);
}

TEST(conn_count_foreach_and_loop_free_close_everything)
{
	tsrv_t s = {0};
	loop_t *loop = loop_new(NULL);
	memconn_t *m[5];
	for (int i = 0; i < 5; i++)
		m[i] = memconn_new(loop, &tproto, &s, NULL);
	CHECK_EQ(conn_count(loop), 5);
	conn_close(m[0]->conn, 0);
	CHECK_EQ(conn_count(loop), 5); /* deferred */
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(conn_count(loop), 4);
	int n = 0;
	conn_foreach(loop, count_cb, &n); /* closing inside foreach is safe */
	CHECK_EQ(n, 4);
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(conn_count(loop), 0);
	CHECK_EQ(s.closes, 5);
	for (int i = 0; i < 5; i++)
		memconn_free(m[i]);
	/* loop_free closes what is still open, running on_close. */
	memconn_t *x = memconn_new(loop, &tproto, &s, NULL);
	memconn_send_str(x, "unanswered\n");
	loop_free(loop);
	CHECK_EQ(s.closes, 6);
	close(x->fd);
	conn_unref(x->conn);
	buf_deinit(&x->rx);
	free(x);
	tcheck_no_leaks();
}

TEST(conn_out_buffer_builds_replies_in_place)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	conn_t *c = m->conn;
	buf_t *b = conn_out(c);
	buf_put_be32(b, 0);
	buf_puts(b, "payload");
	be32_store(buf_data(b), (uint32_t)(buf_len(b) - 4));
	CHECK_EQ(conn_out_pending(c), 11);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	CHECK_EQ(buf_len(&out), 11);
	CHECK_MEM(buf_data(&out), "\0\0\0\7payload", 11);
	buf_deinit(&out);
	/* The same buffer keeps working after it was sent. */
	CHECK(conn_out(c) == b);
	buf_puts(b, "again");
	recv_expect(m, "again");
	memconn_free(m);
	tcheck_no_leaks();
}

/* Client memory: three connections hold input without a complete request;
 * past the cap the one holding the most is closed (only it), its memory
 * leaves the sum at once, and the others keep working. */
TEST(conn_memory_cap_closes_the_largest_only)
{
	tsrv_t s = {0};
	memconn_t *a = memconn_new(NULL, &tproto, &s, NULL);
	memconn_t *b = memconn_new(a->loop, &tproto, &s, NULL);
	memconn_t *c = memconn_new(a->loop, &tproto, &s, NULL);
	/* Input buffers grow by doubling: a comes to hold 2 MiB, c 512 KiB,
	 * b 64 KiB: 2.56 MiB in all. */
	conn_set_memory_cap(a->loop, 5 << 19);
	static char junk[1100000];
	memset(junk, 'j', sizeof junk);
	memconn_send(a, junk, 1100000); /* no newline: an incomplete request */
	memconn_pump(a);
	memconn_send(b, "x", 1);
	memconn_pump(b);
	CHECK(conn_memory(a->loop) >= 1100000);
	CHECK_EQ(conn_memory_evictions(a->loop), 0);
	memconn_send(c, junk, 500000);
	memconn_pump(c);
	/* Over 2.5 MiB together: a (the largest) goes, b and c stay. */
	CHECK(conn_is_closed(a->conn));
	CHECK(!conn_is_closed(b->conn));
	CHECK(!conn_is_closed(c->conn));
	CHECK_EQ(conn_memory_evictions(a->loop), 1);
	CHECK(conn_memory(a->loop) < 5 << 19);
	CHECK(memconn_server_closed(a));
	memconn_send_str(b, "\n");
	recv_expect(b, "x\n");
	/* A protocol's own report counts too. */
	conn_set_held(b->conn, 3 << 20);
	CHECK(conn_is_closed(b->conn));
	CHECK(!conn_is_closed(c->conn));
	memconn_send_str(c, "\n");
	buf_t out = BUF_INIT;
	memconn_recv(c, &out);
	CHECK_EQ(buf_len(&out), 500001);
	buf_deinit(&out);
	/* Idle again: nothing held. */
	CHECK(conn_memory(a->loop) < 64 * 1024);
	memconn_free(c);
	memconn_free(b);
	memconn_free(a);
	tcheck_no_leaks();
}

/* Regions of cached files hold no descriptor while queued and stay
 * readable after their owner closed and unlinked them. */
TEST(conn_cached_file_regions_hold_no_descriptor_and_survive_unlink)
{
	tsrv_t s = {0};
	memconn_t *m = memconn_new(NULL, &tproto, &s, NULL);
	fdc_t *cache = fdc_new(1, NULL, NULL);
	fdc_file_t *f[3];
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "region%d.bin", i);
		write_pattern_file(name, 100000 * (i + 1));
		f[i] = fdc_file_new(cache, name, O_RDONLY);
	}
	conn_t *c = m->conn;
	for (int i = 0; i < 3; i++) {
		conn_write(c, "|", 1);
		CHECK_EQ(conn_send_region(c, f[i], 1000, 90000), 0);
	}
	fdc_stats_t st;
	fdc_stats(cache, &st);
	CHECK_EQ(st.open, 0);
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof name, "region%d.bin", i);
		fdc_file_close(f[i]); /* the owner goes: kept open for the sends */
		CHECK_EQ(unlink(name), 0);
	}
	fdc_free(cache);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	CHECK_EQ(buf_len(&out), 3 * 90001);
	for (int i = 0; i < 3; i++) {
		const uint8_t *p = buf_data(&out) + (size_t)i * 90001;
		CHECK_EQ(p[0], '|');
		for (size_t k = 0; k < 90000; k++)
			CHECK_EQ(p[1 + k], file_byte(1000 + k));
	}
	buf_deinit(&out);
	memconn_free(m);
	tcheck_no_leaks();
}
