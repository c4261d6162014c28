/*
 * test_reply.c — RESP reply writers: a double is written exactly as
 * %.17g writes it (Redis 7.0's addReplyDouble), whether it takes the
 * integral fast path or printf.
 */
#include "../../test.h"

#include "proto/resp/reply.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The RESP2 bulk and RESP3 double resp_double writes for d, compared
 * with what %.17g gives. */
static void check_double(double d)
{
	char want[64], bulk[96], dbl[96];
	int k = snprintf(want, sizeof want, "%.17g", d);
	if (isinf(d))
		k = snprintf(want, sizeof want, "%s", d > 0 ? "inf" : "-inf");
	snprintf(bulk, sizeof bulk, "$%d\r\n%s\r\n", k, want);
	snprintf(dbl, sizeof dbl, ",%s\r\n", want);
	buf_t b = BUF_INIT;
	resp_double(&b, 2, d);
	CHECK_EQ(buf_len(&b), strlen(bulk));
	CHECK_MEM(buf_data(&b), bulk, strlen(bulk));
	buf_reset(&b);
	resp_double(&b, 3, d);
	CHECK_EQ(buf_len(&b), strlen(dbl));
	CHECK_MEM(buf_data(&b), dbl, strlen(dbl));
	buf_deinit(&b);
}

TEST(resp_double_matches_printf)
{
	static const double v[] = {
	    0.0,
	    -0.0,
	    1,
	    -1,
	    7,
	    42,
	    -42,
	    100000,
	    1.5,
	    -2.25,
	    0.1,
	    1e-300,
	    1e15,
	    1e16,
	    -1e16,
	    99999999999999984.0,
	    1e17,
	    -1e17,
	    1e18,
	    2e17,
	    9007199254740993.0,
	    -9007199254740992.0,
	    123456789012345678.0,
	    4.9e-324,
	    1.7976931348623157e308,
	    INFINITY,
	    -INFINITY,
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		check_double(v[i]);
	for (int i = -2000; i <= 2000; i++)
		check_double((double)i * 1000003.0);
}
