/*
 * test_listener.c — net/ over real TCP sockets on 127.0.0.1: a listener on
 * port 0, many clients, large replies to slow readers, backpressure,
 * max_input, resets and running out of descriptors; bind failures reported
 * in one reason; unix-socket listeners (permissions, stale and live socket
 * files, peer names, removal). The test thread plays every client and
 * drives the loop with loop_run_once.
 */
#include "test.h"

#include "tproto.h"

#include "core/err.h"
#include "core/time.h"
#include "net/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static listener_t *listen_any(loop_t *loop, tsrv_t *s, const conn_limits_t *lim)
{
	int err = 1;
	listener_t *l = listener_new(loop, "127.0.0.1", 0, &tproto, s, lim, NULL, 0, &err);
	CHECK(l != NULL);
	CHECK_EQ(err, 0);
	CHECK(listener_port(l) > 0);
	return l;
}

TEST(listener_many_clients_pipelined_echo)
{
	enum { N = 200, REQS = 20 };
	tsrv_t s = {0};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	int fds[N];
	buf_t want[N], got[N];
	for (int i = 0; i < N; i++) {
		fds[i] = tcli_connect(listener_port(l), 0);
		buf_init(&want[i]);
		buf_init(&got[i]);
		/* All of a client's requests go in one write: pipelined. */
		buf_t req = BUF_INIT;
		for (int k = 0; k < REQS; k++)
			buf_printf(&req, "client %d request %d\n", i, k);
		buf_append(&want[i], buf_data(&req), buf_len(&req));
		tcli_send(loop, fds[i], buf_data(&req), buf_len(&req));
		buf_deinit(&req);
	}
	for (int i = 0; i < N; i++) {
		CHECK_EQ(tcli_read_until(loop, fds[i], &got[i], buf_len(&want[i])), 0);
		CHECK_EQ(buf_len(&got[i]), buf_len(&want[i]));
		CHECK_MEM(buf_data(&got[i]), buf_data(&want[i]), buf_len(&want[i]));
	}
	CHECK_EQ(s.opens, N);
	CHECK_EQ(conn_count(loop), N);
	CHECK_EQ(s.requests, N * REQS);
	for (int i = 0; i < N; i++) {
		close(fds[i]);
		buf_deinit(&want[i]);
		buf_deinit(&got[i]);
	}
	for (int i = 0; i < 1000 && conn_count(loop) > 0; i++)
		CHECK_EQ(loop_run_once(loop, 10), 0);
	CHECK_EQ(conn_count(loop), 0);
	CHECK_EQ(s.closes, N);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_partial_writes_to_a_slow_reader)
{
	tsrv_t s = {.sndbuf = 32 * 1024};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	int fd = tcli_connect(listener_port(l), 16 * 1024);
	const size_t sizes[3] = {5 * 1000 * 1000, 1, 700000};
	tcli_send(loop, fd, "big 5000000\nbig 1\nbig 700000\n", 29);
	size_t total = sizes[0] + sizes[1] + sizes[2];
	buf_t got = BUF_INIT;
	uint64_t seed = 42;
	int blocked_seen = 0;
	/* Read a little at a time, running the loop in between: the server's
	 * writes come back short and it must continue where it stopped. */
	for (int turns = 0; buf_len(&got) < total; turns++) {
		CHECK_MSG(turns < 200000, "only %zu of %zu bytes", buf_len(&got), total);
		CHECK_EQ(loop_run_once(loop, 1), 0);
		if (s.last && conn_out_pending(s.last) > 0)
			blocked_seen = 1;
		CHECK_EQ(tcli_read(fd, &got, 1 + test_rand(&seed) % 32768), 0);
	}
	CHECK(blocked_seen);
	CHECK_EQ(buf_len(&got), total);
	const uint8_t *p = buf_data(&got);
	for (uint64_t k = 0; k < 3; k++) {
		for (size_t j = 0; j < sizes[k]; j++)
			CHECK_MSG(p[j] == tproto_pattern(k, j), "reply %d byte %zu", (int)k, j);
		p += sizes[k];
	}
	CHECK_EQ(conn_out_pending(s.last), 0);
	buf_deinit(&got);
	close(fd);
	listener_free(l);
	loop_free(loop);
	CHECK_EQ(s.closes, 1);
	tcheck_no_leaks();
}

TEST(listener_backpressure_stops_reading_and_drain_resumes)
{
	enum { REQS = 40, SIZE = 200000 };
	tsrv_t s = {.sndbuf = 16 * 1024};
	conn_limits_t lim = {
	    .max_input = 1 << 20, .high_water = 256 * 1024, .low_water = 64 * 1024};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, &lim);
	int fd = tcli_connect(listener_port(l), 16 * 1024);
	/* Send requests one at a time, never reading. */
	char req[32];
	int n = snprintf(req, sizeof req, "big %d\n", SIZE);
	for (int i = 0; i < REQS; i++) {
		tcli_send(loop, fd, req, (size_t)n);
		for (int t = 0; t < 5; t++)
			CHECK_EQ(loop_run_once(loop, 0), 0);
	}
	/* Socket buffers hold some replies; past the high watermark the
	 * server stopped reading, so later requests were not handled. */
	int handled = s.requests;
	int inputs = s.inputs;
	CHECK_MSG(handled < REQS, "handled %d of %d", handled, REQS);
	CHECK(conn_out_pending(s.last) > lim.high_water);
	CHECK_EQ(s.drains, 0);
	for (int t = 0; t < 20; t++)
		CHECK_EQ(loop_run_once(loop, 1), 0);
	CHECK_EQ(s.requests, handled);
	CHECK_EQ(s.inputs, inputs);
	/* Now read everything: the server drains, calls on_drain, and
	 * handles the rest of the requests in order. */
	buf_t got = BUF_INIT;
	CHECK_EQ(tcli_read_until(loop, fd, &got, (size_t)REQS * SIZE), 0);
	CHECK_EQ(buf_len(&got), (size_t)REQS * SIZE);
	CHECK_EQ(s.requests, REQS);
	CHECK(s.drains >= 1);
	for (uint64_t k = 0; k < REQS; k++)
		for (size_t j = 0; j < SIZE; j += 997)
			CHECK_EQ(buf_data(&got)[k * SIZE + j], tproto_pattern(k, j));
	buf_deinit(&got);
	close(fd);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_max_input_disconnects_only_the_offender)
{
	tsrv_t s = {0};
	conn_limits_t lim = {.max_input = 8192, .high_water = 1 << 20, .low_water = 1 << 18};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, &lim);
	int bad = tcli_connect(listener_port(l), 0);
	int good = tcli_connect(listener_port(l), 0);
	tcli_send(loop, good, "before\n", 7);
	char junk[20000];
	memset(junk, 'j', sizeof junk);
	tcli_send(loop, bad, junk, sizeof junk);
	buf_t b = BUF_INIT, g = BUF_INIT;
	tcli_wait_eof(loop, bad, &b);
	CHECK_EQ(buf_len(&b), 0);
	tcli_send(loop, good, "after\n", 6);
	CHECK_EQ(tcli_read_until(loop, good, &g, 13), 0);
	CHECK_EQ(buf_len(&g), 13);
	CHECK_MEM(buf_data(&g), "before\nafter\n", 13);
	CHECK_EQ(s.closes, 1);
	CHECK_EQ(conn_count(loop), 1);
	buf_deinit(&b);
	buf_deinit(&g);
	close(bad);
	close(good);
	listener_free(l);
	loop_free(loop);
	CHECK_EQ(s.closes, 2);
	tcheck_no_leaks();
}

TEST(listener_file_region_over_tcp_after_unlink)
{
	tsrv_t s = {0};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	int fd = tcli_connect(listener_port(l), 0);
	for (int i = 0; i < 100 && !s.last; i++)
		CHECK_EQ(loop_run_once(loop, 10), 0);
	CHECK(s.last != NULL);
	enum { FSIZE = 3 << 20 };
	int ffd = open("seg.log", O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(ffd >= 0);
	uint8_t *data = malloc(FSIZE);
	for (size_t i = 0; i < FSIZE; i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	CHECK_EQ(write(ffd, data, FSIZE), FSIZE);
	conn_t *c = s.last;
	conn_write(c, "head", 4);
	CHECK_EQ(conn_send_file(c, ffd, 12345, FSIZE - 12345), 0);
	conn_write(c, "mid", 3);
	CHECK_EQ(conn_send_file(c, ffd, 0, 100), 0);
	conn_write(c, "tail", 4);
	close(ffd);
	CHECK_EQ(unlink("seg.log"), 0);
	size_t total = 4 + (FSIZE - 12345) + 3 + 100 + 4;
	buf_t got = BUF_INIT;
	CHECK_EQ(tcli_read_until(loop, fd, &got, total), 0);
	CHECK_EQ(buf_len(&got), total);
	const uint8_t *p = buf_data(&got);
	CHECK_MEM(p, "head", 4);
	CHECK_MEM(p + 4, data + 12345, FSIZE - 12345);
	p += 4 + FSIZE - 12345;
	CHECK_MEM(p, "mid", 3);
	CHECK_MEM(p + 3, data, 100);
	CHECK_MEM(p + 103, "tail", 4);
	free(data);
	buf_deinit(&got);
	close(fd);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_peer_reset_closes_connection)
{
	tsrv_t s = {.sndbuf = 16 * 1024};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	int fd = tcli_connect(listener_port(l), 16 * 1024);
	/* A big reply is stuck in flight when the client resets. */
	tcli_send(loop, fd, "big 4000000\n", 12);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(loop_run_once(loop, 1), 0);
	CHECK_EQ(s.requests, 1);
	CHECK(conn_out_pending(s.last) > 0);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	close(fd);
	for (int i = 0; i < 1000 && s.closes == 0; i++)
		CHECK_EQ(loop_run_once(loop, 10), 0);
	CHECK_EQ(s.closes, 1);
	CHECK_EQ(conn_count(loop), 0);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_refused_connection_is_closed)
{
	tsrv_t s = {.refuse = 1};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	int fd = tcli_connect(listener_port(l), 0);
	buf_t b = BUF_INIT;
	tcli_wait_eof(loop, fd, &b);
	CHECK_EQ(buf_len(&b), 0);
	CHECK_EQ(conn_count(loop), 0);
	CHECK_EQ(s.opens, 0);
	buf_deinit(&b);
	close(fd);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_bind_failure_reports_error)
{
	loop_t *loop = loop_new(NULL);
	tsrv_t s = {0};
	listener_t *a = listen_any(loop, &s, NULL);
	int err = 0;
	char why[256] = "";
	char want[64];
	/* The same port again without SO_REUSEPORT: address in use, said
	 * with the port. */
	listener_t *b = listener_new(loop, "127.0.0.1", listener_port(a), &tproto, &s, NULL, why,
	                             sizeof why, &err);
	CHECK(b == NULL);
	CHECK_EQ(err, SL_EBUSY);
	snprintf(want, sizeof want, "port %d on 127.0.0.1 is already in use", listener_port(a));
	CHECK_STR(why, want);
	err = 0;
	why[0] = 0;
	CHECK(listener_new(loop, "not-an-address", 0, &tproto, &s, NULL, why, sizeof why, &err) ==
	      NULL);
	CHECK_EQ(err, SL_EINVAL);
	CHECK_MSG(strncmp(why, "address not-an-address: ", 24) == 0, "%s", why);
	/* A NULL reason buffer is allowed. */
	CHECK(listener_new(loop, "127.0.0.1", listener_port(a), &tproto, &s, NULL, NULL, 0, &err) ==
	      NULL);
	CHECK_EQ(err, SL_EBUSY);
	listener_free(a);
	loop_free(loop);
	tcheck_no_leaks();
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		close(fd);
		return -1;
	}
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK) == 0);
	return fd;
}

static listener_t *listen_unix(loop_t *loop, tsrv_t *s, const char *path, unsigned mode)
{
	int err = 1;
	char why[256] = "";
	listener_t *l =
	    listener_new_unix(loop, path, mode, &tproto, s, NULL, why, sizeof why, &err);
	CHECK_MSG(l != NULL, "%s", why);
	CHECK_EQ(err, 0);
	return l;
}

TEST(listener_unix_socket_serves_the_same_protocol)
{
	loop_t *loop = loop_new(NULL);
	tsrv_t s = {0};
	char path[256];
	CHECK(getcwd(path, 200) != NULL);
	strcat(path, "/echo.sock");
	listener_t *l = listen_unix(loop, &s, path, 0750);
	CHECK_EQ(listener_port(l), 0);
	CHECK_STR(listener_path(l), path);
	struct stat st;
	CHECK_EQ(lstat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0750);
	int fd = unix_connect(path);
	CHECK(fd >= 0);
	tcli_send(loop, fd, "hello\n", 6);
	buf_t got = BUF_INIT;
	CHECK_EQ(tcli_read_until(loop, fd, &got, 6), 0);
	CHECK_EQ(buf_len(&got), 6);
	CHECK_MEM(buf_data(&got), "hello\n", 6);
	CHECK_EQ(s.opens, 1);
	/* The peer names the socket it came through. */
	char want[300];
	snprintf(want, sizeof want, "unix:%s", path);
	CHECK_MSG(strncmp(s.last->peer, want, sizeof s.last->peer - 1) == 0, "peer %s",
	          s.last->peer);
	close(fd);
	for (int i = 0; i < 1000 && conn_count(loop) > 0; i++)
		CHECK_EQ(loop_run_once(loop, 10), 0);
	CHECK_EQ(conn_count(loop), 0);
	/* Freeing the listener removes its socket file. */
	listener_free(l);
	CHECK(lstat(path, &st) != 0 && errno == ENOENT);
	buf_deinit(&got);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_unix_socket_stale_live_and_foreign_paths)
{
	loop_t *loop = loop_new(NULL);
	tsrv_t s = {0};
	int err = 0;
	char why[256] = "";
	/* A socket file nobody listens on (a crashed server's) is replaced. */
	int stale = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof sun.sun_path, "stale.sock");
	CHECK_EQ(bind(stale, (struct sockaddr *)&sun, sizeof sun), 0);
	close(stale);
	listener_t *a = listen_unix(loop, &s, "stale.sock", 0700);
	int fd = unix_connect("stale.sock");
	CHECK(fd >= 0);
	close(fd);
	/* A path another listener serves is in use, and left alone. */
	CHECK(listener_new_unix(loop, "stale.sock", 0700, &tproto, &s, NULL, why, sizeof why,
	                        &err) == NULL);
	CHECK_EQ(err, SL_EBUSY);
	CHECK_STR(why, "unix socket stale.sock is already in use");
	fd = unix_connect("stale.sock");
	CHECK(fd >= 0);
	close(fd);
	/* A regular file is never removed. */
	FILE *f = fopen("plain", "w");
	CHECK(f != NULL);
	fclose(f);
	CHECK(listener_new_unix(loop, "plain", 0700, &tproto, &s, NULL, why, sizeof why, &err) ==
	      NULL);
	CHECK_EQ(err, SL_EEXIST);
	CHECK_STR(why, "plain exists and is not a socket");
	struct stat st;
	CHECK_EQ(stat("plain", &st), 0);
	CHECK(S_ISREG(st.st_mode));
	/* Too long a path, and a directory that does not exist. */
	char longp[200];
	memset(longp, 'x', sizeof longp - 1);
	longp[sizeof longp - 1] = 0;
	CHECK(listener_new_unix(loop, longp, 0700, &tproto, &s, NULL, why, sizeof why, &err) ==
	      NULL);
	CHECK_EQ(err, SL_EINVAL);
	CHECK(listener_new_unix(loop, "no/such/dir.sock", 0700, &tproto, &s, NULL, why, sizeof why,
	                        &err) == NULL);
	CHECK(err < 0);
	CHECK_MSG(strstr(why, "no/such/dir.sock") != NULL, "%s", why);
	/* A socket file replaced by someone else is not removed on free. */
	CHECK_EQ(rename("stale.sock", "moved.sock"), 0);
	int other = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(other, (struct sockaddr *)&sun, sizeof sun), 0);
	listener_free(a);
	CHECK_EQ(lstat("stale.sock", &st), 0);
	close(other);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_out_of_descriptors_does_not_spin)
{
	tsrv_t s = {0};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	int port = listener_port(l);
	/* Leave room for exactly one more descriptor in this process, then
	 * connect two clients: the first client's socket takes the last
	 * slot, so the server cannot accept it. */
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(probe >= 0);
	close(probe);
	struct rlimit rl;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	int fill[64];
	int nfill = 0;
	struct rlimit low = {.rlim_cur = (rlim_t)probe + 4, .rlim_max = rl.rlim_max};
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	for (;;) {
		int x = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (x < 0)
			break;
		CHECK(nfill < 64);
		fill[nfill++] = x;
	}
	/* Free one slot for the client socket; the server has none. */
	close(fill[--nfill]);
	int fd = tcli_connect(port, 0);
	/* The listener sheds the connection it cannot serve (its spare
	 * descriptor makes that possible) instead of spinning on it. */
	buf_t b = BUF_INIT;
	tcli_wait_eof(loop, fd, &b);
	CHECK_EQ(s.opens, 0);
	/* Nothing left pending: turns are idle again. */
	CHECK_EQ(loop_run_once(loop, 0), 0);
	CHECK_EQ(loop_turn_work(loop), 0);
	close(fd);
	while (nfill > 0)
		close(fill[--nfill]);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	/* With descriptors back, the listener serves again. */
	fd = tcli_connect(port, 0);
	tcli_send(loop, fd, "hi\n", 3);
	buf_reset(&b);
	CHECK_EQ(tcli_read_until(loop, fd, &b, 3), 0);
	CHECK_MEM(buf_data(&b), "hi\n", 3);
	CHECK_EQ(s.opens, 1);
	buf_deinit(&b);
	close(fd);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}

/* Many connections waiting while the process is out of descriptors: the
 * listener drops them all at once and pauses, instead of taking one per
 * turn (a loop spinning as fast as clients connect). */
TEST(listener_out_of_descriptors_brakes)
{
	enum { N = 50 };
	tsrv_t s = {0};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	/* Connected before the server runs: they wait in the backlog. */
	int cli[N];
	for (int i = 0; i < N; i++)
		cli[i] = tcli_connect(listener_port(l), 0);
	struct rlimit rl;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
	int hi = 0;
	for (int i = 0; i < N; i++)
		hi = cli[i] > hi ? cli[i] : hi;
	struct rlimit low = {.rlim_cur = (rlim_t)hi + 1, .rlim_max = rl.rlim_max};
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	int fill[1024], nfill = 0;
	for (;;) {
		int x = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (x < 0)
			break;
		CHECK(nfill < 1024);
		fill[nfill++] = x;
	}
	unsigned work = 0;
	int64_t until = time_mono_ms() + 350;
	while (time_mono_ms() < until) {
		CHECK_EQ(loop_run_once(loop, 10), 0);
		work += loop_turn_work(loop);
	}
	/* One accept pass that shed everything, and the pause's timers. */
	CHECK_MSG(work <= 10, "%u callbacks in 350 ms", work);
	CHECK_EQ(s.opens, 0);
	for (int i = 0; i < N; i++) {
		buf_t b = BUF_INIT;
		CHECK_EQ(tcli_read(cli[i], &b, 0), 1); /* dropped: EOF or reset */
		buf_deinit(&b);
		close(cli[i]);
	}
	while (nfill > 0)
		close(fill[--nfill]);
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
	int fd = tcli_connect(listener_port(l), 0);
	tcli_send(loop, fd, "again\n", 6);
	buf_t b = BUF_INIT;
	CHECK_EQ(tcli_read_until(loop, fd, &b, 6), 0);
	CHECK_MEM(buf_data(&b), "again\n", 6);
	buf_deinit(&b);
	close(fd);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}

TEST(listener_flushing_close_ends_with_fin_despite_unread_input)
{
	tsrv_t s = {.sndbuf = 16 * 1024};
	loop_t *loop = loop_new(NULL);
	listener_t *l = listen_any(loop, &s, NULL);
	int fd = tcli_connect(listener_port(l), 16 * 1024);
	tcli_send(loop, fd, "big 2000000\nquit\n", 17);
	for (int i = 0; i < 20 && !(s.last && conn_is_closed(s.last)); i++)
		CHECK_EQ(loop_run_once(loop, 10), 0);
	CHECK(s.last && conn_is_closed(s.last));
	/* Requests after quit arrive while the reply is still flushing; the
	 * server never reads them. */
	for (int i = 0; i < 100; i++)
		tcli_send(loop, fd, "ignored request\n", 16);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(loop_run_once(loop, 1), 0);
	/* The whole reply and "bye" arrive, then a FIN, not a reset. */
	buf_t got = BUF_INIT;
	int64_t deadline = time_mono_ms() + 20000;
	int rc;
	for (;;) {
		uint8_t *p = buf_reserve(&got, 65536);
		ssize_t n = read(fd, p, 65536);
		if (n > 0) {
			buf_commit(&got, (size_t)n);
			continue;
		}
		if (n == 0) {
			rc = 0;
			break;
		}
		if (errno != EAGAIN) {
			rc = -errno;
			break;
		}
		CHECK(time_mono_ms() < deadline);
		CHECK_EQ(loop_run_once(loop, 10), 0);
	}
	CHECK_EQ(rc, 0);
	CHECK_EQ(buf_len(&got), 2000000 + 4);
	CHECK_MEM(buf_data(&got) + 2000000, "bye\n", 4);
	CHECK_EQ(s.closes, 1);
	buf_deinit(&got);
	close(fd);
	listener_free(l);
	loop_free(loop);
	tcheck_no_leaks();
}
