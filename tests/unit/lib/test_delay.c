/* test_delay.c — the delay queue's pure parts (lib/delay.c): md5, dq
 * framing, job ids, the beanstalks node list; and netio's line and body
 * reads over a socket that delivers one byte at a time. */
#include "test.h"

#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dq.h"
#include "netio.h"

TEST(delay_md5_vectors)
{
	char hex[33];
	static const struct {
		const char *in, *out;
	} rfc[] = {
	    {"", "d41d8cd98f00b204e9800998ecf8427e"},
	    {"abc", "900150983cd24fb0d6963f7d28e17f72"},
	    {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
	    {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
	     "57edf4a22be3c955ac49da2e2107b67a"},
	};
	for (size_t i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
		lib_md5_hex(rfc[i].in, strlen(rfc[i].in), hex);
		CHECK_STR(hex, rfc[i].out);
	}
	/* Lengths around the 56- and 64-byte padding boundaries (Python's
	 * hashlib gave the digests). */
	static const struct {
		size_t n;
		const char *out;
	} sized[] = {
	    {55, "8d24280288a696559fd8d5aa1b6d8c6e"},  {56, "ef2c72b7254c92459e498eddd4ace573"},
	    {63, "c4c8c6d513f4e1604eb18508a1769364"},  {64, "a2fcb39a253b9b785b1f97518fa37683"},
	    {65, "e49fe82d0bb12967a196c85de313e446"},  {119, "1640deea49ebb258ec6ede18d4b2d2d7"},
	    {120, "05f879f7b542a7ebf0605adff67d4423"}, {1000, "de809ff794e91b68f9e91a2b7030bcb0"},
	};
	unsigned char buf[1000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)((i * 7) & 255);
	for (size_t i = 0; i < sizeof sized / sizeof sized[0]; i++) {
		lib_md5_hex(buf, sized[i].n, hex);
		CHECK_STR(hex, sized[i].out);
	}
}

TEST(delay_framing_round_trip)
{
	char buf[64];
	int64_t due = 1763700000123456789LL, got = 0;
	size_t pl = lib_dq_frame(due, buf, sizeof buf), pre = 0;
	CHECK_EQ(pl, 20);
	strcat(buf, "payload");
	CHECK(lib_dq_unwrap(buf, strlen(buf), &got, &pre));
	CHECK_EQ(got, due);
	CHECK_EQ(pre, 20);
	CHECK(lib_dq_unwrap(buf, 20, &got, &pre)); /* empty payload */
	/* Not framing: other tools' bodies run whole. */
	static const char *const plain[] = {"",
	                                    "hello",
	                                    "12/x",
	                                    "176370000012345678/x" /* 18 digits */,
	                                    "17637000001234567890/x" /* 20 digits */,
	                                    "1763700000123456789x/",
	                                    "1763700000123456789",
	                                    "-763700000123456789/x",
	                                    "9999999999999999999/x" /* > int64 */};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		CHECK_MSG(!lib_dq_unwrap(plain[i], strlen(plain[i]), &got, &pre), "%s", plain[i]);
}

TEST(delay_id_split)
{
	dq_node_addr a;
	uint64_t id = 0;
	const char *s = "127.0.0.1:11300/my/tube/42";
	CHECK_EQ(lib_dq_id_split(s, strlen(s), &a, &id), 0);
	CHECK_STR(a.endpoint, "127.0.0.1:11300");
	CHECK_STR(a.tube, "my/tube");
	CHECK_EQ(id, 42);
	/* Only the first n bytes count (ids are split at commas). */
	s = "h:1/t/7,h:2/t/8";
	CHECK_EQ(lib_dq_id_split(s, 7, &a, &id), 0);
	CHECK_STR(a.endpoint, "h:1");
	CHECK_EQ(id, 7);
	static const char *const bad[] = {
	    "",       "h:1",    "h:1/7",    "/t/7",
	    "h:1//7", "h:1/t/", "h:1/t/7x", "h:1/t/123456789012345678901"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_MSG(lib_dq_id_split(bad[i], strlen(bad[i]), &a, &id) == SL_EINVAL, "%s",
		          bad[i]);
}

TEST(delay_node_list)
{
	sl_conf *c = sl_conf_new();
	dq_node_addr n[DQ_MAX_NODES];
	CHECK_EQ(lib_dq_nodes(c, n, DQ_MAX_NODES), SL_ECONF);
	CHECK_EQ(sl_conf_set(c, "beanstalks", "a:1/jobs, b:2"), 0);
	CHECK_EQ(lib_dq_nodes(c, n, DQ_MAX_NODES), 2);
	CHECK_STR(n[0].endpoint, "a:1");
	CHECK_STR(n[0].tube, "jobs");
	CHECK_STR(n[1].endpoint, "b:2");
	CHECK_STR(n[1].tube, "default");
	CHECK_EQ(sl_conf_set(c, "beanstalks", "a:1/t,a:1/t"), 0);
	CHECK_EQ(lib_dq_nodes(c, n, DQ_MAX_NODES), SL_ECONF);
	CHECK(strstr(sl_last_error(), "listed twice"));
	CHECK_EQ(sl_conf_set(c, "beanstalks", "a:1/t,a:1/u"), 0);
	CHECK_EQ(lib_dq_nodes(c, n, DQ_MAX_NODES), 2);
	CHECK_EQ(sl_conf_set(c, "beanstalks", "nocolon/t"), 0);
	CHECK_EQ(lib_dq_nodes(c, n, DQ_MAX_NODES), SL_ECONF);
	CHECK_EQ(sl_conf_set(c, "beanstalks", "a:1/-bad"), 0);
	CHECK_EQ(lib_dq_nodes(c, n, DQ_MAX_NODES), SL_ECONF);
	sl_conf_free(c);
}

typedef struct dribble {
	int fd;
	const char *data;
	size_t len;
} dribble;

/* Writes one byte at a time with pauses, so reads see every split. */
static void *dribble_main(void *arg)
{
	dribble *d = arg;
	struct timespec ts = {0, 200000};
	for (size_t i = 0; i < d->len; i++) {
		if (write(d->fd, d->data + i, 1) != 1)
			break;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

TEST(delay_netio_reads_across_splits)
{
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	static const char input[] = "RESERVED 7 5\r\nab\r\nc\r\nOK 0\r\n\r\nline\rwith cr\r\n";
	dribble d = {sv[1], input, sizeof input - 1};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, dribble_main, &d), 0);
	lib_conn c = {.fd = sv[0]};
	char line[64], body[8];
	int64_t deadline = lib_net_deadline(10000);
	CHECK_EQ(lib_net_read_line(&c, line, sizeof line, deadline), 12);
	CHECK_STR(line, "RESERVED 7 5");
	CHECK_EQ(lib_net_read_exact(&c, body, 7, deadline), 0);
	CHECK_MEM(body, "ab\r\nc\r\n", 7);
	CHECK_EQ(lib_net_read_line(&c, line, sizeof line, deadline), 4);
	CHECK_EQ(lib_net_read_line(&c, line, sizeof line, deadline), 0);
	CHECK_EQ(lib_net_read_line(&c, line, sizeof line, deadline), 12);
	CHECK_STR(line, "line\rwith cr");
	/* Nothing more arrives: the deadline ends the wait. */
	CHECK_EQ(lib_net_read_line(&c, line, sizeof line, lib_net_deadline(50)), SL_ETIMEDOUT);
	pthread_join(th, NULL);
	/* A line longer than the caller's buffer is refused, not truncated. */
	CHECK(write(sv[1], "0123456789abcdef\r\n", 18) == 18);
	CHECK_EQ(lib_net_read_line(&c, line, 8, deadline), SL_ETOOBIG);
	close(sv[1]);
	lib_net_close(&c);
}
