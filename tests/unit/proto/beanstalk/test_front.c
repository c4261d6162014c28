/*
 * test_front.c — the beanstalk front through an in-memory connection: a
 * session fed split at every byte boundary gives the same replies as fed
 * whole; group commit under fsync=always; durability across a reopen.
 */
#include "core/config.h"
#include "net/memconn.h"
#include "proto/front.h"
#include "store/syncer.h"
#include "test.h"

typedef struct fx {
	sl_config_t cfg;
	broker_t b;
	void *srv;
	char dir[64];
} fx_t;

/* Starts the front with its data in ./<dir> (kept across restarts). */
static void fx_start_in(fx_t *f, const char *fsync, const char *dir)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "%s", dir);
	config_init(&f->cfg);
	char err[200];
	CHECK_EQ(config_set(&f->cfg, "fsync", fsync, err, sizeof err), 0);
	CHECK_EQ(config_set(&f->cfg, "max-job-size", "100", err, sizeof err), 0);
	f->b.cfg = &f->cfg;
	f->b.loop = loop_new(NULL);
	f->b.syncer = syncer_new(f->b.loop, NULL);
	f->b.data_dir = f->dir;
	CHECK_EQ(broker_open(&f->b), 0);
	CHECK_EQ(bstk_front.start(&f->b, &f->srv), 0);
}

static void fx_start(fx_t *f, const char *fsync)
{
	fx_start_in(f, fsync, "data");
}

static void fx_stop(fx_t *f)
{
	bstk_front.stop(f->srv);
	broker_close(&f->b);
	loop_run_once(f->b.loop, 0);
	syncer_free(f->b.syncer);
	loop_free(f->b.loop);
	config_deinit(&f->cfg);
}

#define LONG_LINE                                                                            \
	"this line is far too long for beanstalkd, which reads commands into a buffer of "   \
	"two hundred and twenty-four bytes, crlf included, and answers bad_format once the " \
	"end of such an over-long line finally arrives here, after all of these words\r\n"

static const char session[] = "put 1 0 10 5\r\nhello\r\n"
                              "use other\r\n"
                              "put 0 0 10 0\r\n\r\n"
                              "put 1 0 1 101\r\n" /* over max-job-size 100: body skipped */
                              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                              "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                              "\r\n"
                              "put 1 0 1 2\r\nabcd\r\n"
                              "watch other\r\n"
                              "reserve\r\n"
                              "bury 2 5\r\n"
                              "peek-buried\r\n" LONG_LINE "kick-job 2\r\n"
                              "reserve-with-timeout 0\r\n"
                              "delete 2\r\n"
                              "list-tubes-watched\r\n"
                              "quit\r\n";

static const char expect[] = "INSERTED 1\r\n"
                             "USING other\r\n"
                             "INSERTED 2\r\n"
                             "JOB_TOO_BIG\r\n"
                             "EXPECTED_CRLF\r\n"
                             "UNKNOWN_COMMAND\r\n" /* the CRLF left after the bad body */
                             "WATCHING 2\r\n"
                             "RESERVED 2 0\r\n\r\n"
                             "BURIED\r\n"
                             "FOUND 2 0\r\n\r\n"
                             "BAD_FORMAT\r\n"
                             "KICKED\r\n"
                             "RESERVED 1 5\r\nhello\r\n" /* bury gave job 2 priority 5 */
                             "DELETED\r\n"
                             "OK 22\r\n---\n- default\n- other\n\r\n";

static void run_split(size_t at)
{
	fx_t f;
	char dir[32];
	snprintf(dir, sizeof dir, "split-%zu", at);
	fx_start_in(&f, "never", dir);
	memconn_t *m = memconn_new(f.b.loop, bstk_front.proto, f.srv, NULL);
	CHECK(m != NULL);
	size_t n = sizeof session - 1;
	memconn_send(m, session, at);
	memconn_pump(m);
	memconn_send(m, session + at, n - at);
	memconn_pump(m);
	buf_t out = BUF_INIT;
	memconn_recv(m, &out);
	if (buf_len(&out) != sizeof expect - 1 || memcmp(buf_data(&out), expect, buf_len(&out)))
		test_fail(__FILE__, __LINE__, "split at %zu: got %.*s", at, (int)buf_len(&out),
		          (const char *)buf_data(&out));
	CHECK(memconn_server_closed(m)); /* quit */
	buf_deinit(&out);
	memconn_free(m);
	fx_stop(&f);
}

TEST_T(bstk_session_split_at_every_byte, 240) /* 15 s alone under ASan; a loaded machine takes 4x */
{
	for (size_t at = 0; at < sizeof session; at++)
		run_split(at);
}

TEST(bstk_group_commit_holds_replies_until_synced)
{
	fx_t f;
	fx_start(&f, "always");
	memconn_t *a = memconn_new(f.b.loop, bstk_front.proto, f.srv, NULL);
	memconn_t *b = memconn_new(f.b.loop, bstk_front.proto, f.srv, NULL);
	memconn_send_str(a, "put 1 0 10 1\r\na\r\nlist-tube-used\r\nput 1 0 10 1\r\nb\r\n");
	memconn_send_str(b, "put 1 0 10 1\r\nc\r\n");
	buf_t out = BUF_INIT;
	const char want_a[] = "INSERTED 1\r\nUSING default\r\nINSERTED 2\r\n";
	CHECK_EQ(memconn_recv_wait(a, &out, sizeof want_a - 1, 5000), 0);
	CHECK_EQ(buf_len(&out), sizeof want_a - 1);
	CHECK_MEM(buf_data(&out), want_a, sizeof want_a - 1);
	buf_reset(&out);
	CHECK_EQ(memconn_recv_wait(b, &out, 12, 5000), 0);
	CHECK_MEM(buf_data(&out), "INSERTED 3\r\n", 12);
	/* A non-durable command is answered at once. */
	buf_reset(&out);
	memconn_send_str(b, "peek 3\r\n");
	memconn_recv(b, &out);
	CHECK_EQ(buf_len(&out), 14);
	buf_deinit(&out);
	memconn_free(a);
	memconn_free(b);
	fx_stop(&f);

	/* Reopened: the three jobs are there, the next id follows. */
	fx_start(&f, "always");
	a = memconn_new(f.b.loop, bstk_front.proto, f.srv, NULL);
	memconn_send_str(a, "peek 2\r\nput 1 0 10 1\r\nd\r\n");
	buf_init(&out);
	const char want[] = "FOUND 2 1\r\nb\r\nINSERTED 4\r\n";
	CHECK_EQ(memconn_recv_wait(a, &out, sizeof want - 1, 5000), 0);
	CHECK_MEM(buf_data(&out), want, sizeof want - 1);
	buf_deinit(&out);
	memconn_free(a);
	fx_stop(&f);
}

TEST(bstk_blocked_reserve_holds_pipelined_commands)
{
	fx_t f;
	fx_start(&f, "never");
	memconn_t *w = memconn_new(f.b.loop, bstk_front.proto, f.srv, NULL);
	memconn_t *p = memconn_new(f.b.loop, bstk_front.proto, f.srv, NULL);
	memconn_send_str(w, "reserve\r\nlist-tube-used\r\n");
	buf_t out = BUF_INIT;
	CHECK_EQ(memconn_recv(w, &out), 0);
	memconn_send_str(p, "put 3 0 10 2\r\nhi\r\n");
	memconn_recv(p, &out);
	buf_reset(&out);
	memconn_recv(w, &out);
	const char want[] = "RESERVED 1 2\r\nhi\r\nUSING default\r\n";
	CHECK_EQ(buf_len(&out), sizeof want - 1);
	CHECK_MEM(buf_data(&out), want, sizeof want - 1);
	/* Closing the worker returns its job to ready. */
	memconn_close_client(w);
	memconn_pump(p);
	buf_reset(&out);
	memconn_send_str(p, "peek-ready\r\n");
	memconn_recv(p, &out);
	CHECK_MEM(buf_data(&out), "FOUND 1 2\r\nhi\r\n", 15);
	buf_deinit(&out);
	memconn_free(w);
	memconn_free(p);
	fx_stop(&f);
}
