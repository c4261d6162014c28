/*
 * test_parse.c — beanstalkd framing and argument readers, and the command
 * table's prefix matching.
 */
#include "proto/beanstalk/bstk.h"
#include "proto/beanstalk/parse.h"
#include "test.h"

static int scan(const char *s, size_t *len)
{
	return bstk_scan_line((const uint8_t *)s, strlen(s), len);
}

TEST(bstk_scan_line_rules)
{
	size_t len = 0;
	CHECK_EQ(scan("", &len), BSTK_NEED);
	CHECK_EQ(scan("stats", &len), BSTK_NEED);
	CHECK_EQ(scan("stats\r", &len), BSTK_NEED);
	CHECK_EQ(scan("stats\r\nrest", &len), BSTK_LINE);
	CHECK_EQ(len, 7);
	CHECK_EQ(scan("\r\n", &len), BSTK_LINE);
	CHECK_EQ(len, 2);
	/* The first '\r' decides: not followed by '\n', no line in this window. */
	CHECK_EQ(scan("a\rb\r\n", &len), BSTK_NEED);
	char buf[600];
	memset(buf, 'x', sizeof buf);
	/* 222 bytes + CRLF = 224: the longest line. */
	memcpy(buf + 222, "\r\n", 2);
	CHECK_EQ(bstk_scan_line((uint8_t *)buf, 224, &len), BSTK_LINE);
	CHECK_EQ(len, 224);
	memset(buf, 'x', sizeof buf);
	memcpy(buf + 223, "\r\n", 2);
	CHECK_EQ(bstk_scan_line((uint8_t *)buf, 225, &len), BSTK_OVERFLOW);
	CHECK_EQ(bstk_scan_line((uint8_t *)buf, 223, &len), BSTK_NEED);
	CHECK_EQ(bstk_scan_line((uint8_t *)buf, 600, &len), BSTK_OVERFLOW);
}

TEST(bstk_numbers)
{
	uint64_t v = 0;
	uint32_t u = 0;
	const char *e;
	CHECK_EQ(bstk_read_u64("18446744073709551615", &v, NULL), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(bstk_read_u64("18446744073709551616", &v, NULL), -1);
	CHECK_EQ(bstk_read_u64("  7", &v, NULL), 0);
	CHECK_EQ(v, 7);
	CHECK_EQ(bstk_read_u64("7 ", &v, NULL), -1);
	CHECK_EQ(bstk_read_u64("-1", &v, NULL), -1);
	CHECK_EQ(bstk_read_u64("+1", &v, NULL), -1);
	CHECK_EQ(bstk_read_u64("", &v, NULL), -1);
	CHECK_EQ(bstk_read_u32("4294967295 x", &u, &e), 0);
	CHECK(u == UINT32_MAX);
	CHECK_STR(e, " x");
	CHECK_EQ(bstk_read_u32("4294967296", &u, &e), -1);
	int t = 5;
	CHECK_EQ(bstk_read_timeout("abc", &t), 0);
	CHECK_EQ(t, 0);
	CHECK_EQ(bstk_read_timeout(" -1 junk", &t), 0);
	CHECK_EQ(t, -1);
	CHECK_EQ(bstk_read_timeout("99999999999999999999", &t), -1);
	CHECK_EQ(bstk_read_bound("-1", &u), 0);
	CHECK(u == UINT32_MAX);
	CHECK_EQ(bstk_read_bound("", &u), -1);
	CHECK_EQ(bstk_read_bound("x", &u), -1);
	CHECK_EQ(bstk_read_bound("5 junk", &u), 0);
	CHECK_EQ(u, 5);
	CHECK_EQ(bstk_name_span("ab(c) d"), 5);
}

TEST(bstk_command_prefix_matching)
{
	CHECK_EQ(bstk_cmd_find("quitnow")->op, OP_QUIT);
	CHECK_EQ(bstk_cmd_find("reservex")->op, OP_RESERVE);
	CHECK_EQ(bstk_cmd_find("reserve-with-timeout 1")->op, OP_RESERVE_TIMEOUT);
	CHECK_EQ(bstk_cmd_find("reserve-with-timeout")->op, OP_RESERVE);
	CHECK_EQ(bstk_cmd_find("reserve-job 1")->op, OP_RESERVE_JOB);
	CHECK_EQ(bstk_cmd_find("stats-tube x")->op, OP_STATS_TUBE);
	CHECK_EQ(bstk_cmd_find("stats-tube")->op, OP_STATS);
	CHECK_EQ(bstk_cmd_find("list-tubes-watched")->op, OP_LIST_TUBES_WATCHED);
	CHECK_EQ(bstk_cmd_find("list-tubes x")->op, OP_LIST_TUBES);
	CHECK_EQ(bstk_cmd_find("kick-job 3")->op, OP_KICKJOB);
	CHECK_EQ(bstk_cmd_find("pause-tubex 1")->op, OP_PAUSE_TUBE);
	CHECK(bstk_cmd_find("use") == NULL);
	CHECK(bstk_cmd_find("foo") == NULL);
	CHECK(bstk_cmd_find("") == NULL);
}
