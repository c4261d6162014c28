/*
 * delay.c — the delay queue's shared pieces (see dq.h): node list, dq's
 * "<unix-nanos>/" framing, job ids, and MD5 for de-duplication keys.
 * Everything here is pure and runs on the caller's thread.
 */
#include "dq.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "netio.h"

int lib_dq_nodes(const sl_conf *c, dq_node_addr *out, int max)
{
	char items[DQ_MAX_NODES + 1][256];
	int n = lib_conf_list(c, "beanstalks", items, DQ_MAX_NODES + 1);
	if (n == 0)
		return lib_err(SL_ECONF,
		               "beanstalks: no node configured (expected host:port/tube,…)");
	if (n > max)
		return lib_err(SL_ECONF, "beanstalks: more than %d nodes", max);
	for (int i = 0; i < n; i++) {
		char *slash = strchr(items[i], '/');
		const char *tube = "default";
		if (slash) {
			*slash = '\0';
			tube = slash + 1;
		}
		char host[256];
		int port;
		if (lib_net_split(items[i], host, sizeof host, &port))
			return lib_err(SL_ECONF, "beanstalks: \"%s\": expected host:port/tube",
			               items[i]);
		if (!lib_jobs_valid_tube(tube))
			return lib_err(SL_ECONF, "beanstalks: \"%s\": invalid tube name \"%s\"",
			               items[i], tube);
		snprintf(out[i].endpoint, sizeof out[i].endpoint, "%.255s", items[i]);
		snprintf(out[i].tube, sizeof out[i].tube, "%.203s", tube);
		out[i].tls = lib_conf_bool(c, "beanstalks.tls");
		snprintf(out[i].ca_file, sizeof out[i].ca_file, "%.511s",
		         lib_conf_str(c, "ca.file"));
		for (int k = 0; k < i; k++) {
			/* Two copies on one node would count as two replicas. */
			if (!strcmp(out[k].endpoint, out[i].endpoint) && !strcmp(out[k].tube, tube))
				return lib_err(SL_ECONF, "beanstalks: %s/%s is listed twice",
				               out[i].endpoint, tube);
		}
	}
	return n;
}

sl_jobs *lib_dq_connect(const dq_node_addr *a, int timeout_ms)
{
	return a->tls ? sl_jobs_connect_tls(a->endpoint, a->ca_file, timeout_ms)
	              : sl_jobs_connect(a->endpoint, timeout_ms);
}

size_t lib_dq_frame(int64_t due_ns, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%" PRId64 "/", due_ns);
	return n < 0 ? 0 : (size_t)n;
}

bool lib_dq_unwrap(const void *body, size_t len, int64_t *due_ns, size_t *prefix)
{
	const char *b = body;
	if (len < DQ_FRAME_DIGITS + 1 || b[DQ_FRAME_DIGITS] != '/')
		return false;
	int64_t v = 0;
	for (int i = 0; i < DQ_FRAME_DIGITS; i++) {
		if (b[i] < '0' || b[i] > '9')
			return false;
		if (v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (b[i] - '0');
	}
	*due_ns = v;
	*prefix = DQ_FRAME_DIGITS + 1;
	return true;
}

int lib_dq_id_split(const char *item, size_t n, dq_node_addr *node, uint64_t *jobid)
{
	const char *first = memchr(item, '/', n);
	const char *last = memrchr(item, '/', n);
	if (!first || last == first)
		return lib_err(SL_EINVAL, "job id \"%.*s\": expected endpoint/tube/jobid",
		               (int)(n > 300 ? 300 : n), item);
	size_t el = (size_t)(first - item), tl = (size_t)(last - first - 1);
	const char *num = last + 1, *end = item + n;
	if (el == 0 || el >= sizeof node->endpoint || tl == 0 || tl >= sizeof node->tube ||
	    num == end || end - num > 20)
		return lib_err(SL_EINVAL, "job id \"%.*s\": expected endpoint/tube/jobid",
		               (int)(n > 300 ? 300 : n), item);
	uint64_t v = 0;
	for (const char *q = num; q < end; q++) {
		if (*q < '0' || *q > '9' || v > (UINT64_MAX - 9) / 10)
			return lib_err(SL_EINVAL, "job id \"%.*s\": bad job number",
			               (int)(n > 300 ? 300 : n), item);
		v = v * 10 + (uint64_t)(*q - '0');
	}
	memcpy(node->endpoint, item, el);
	node->endpoint[el] = '\0';
	memcpy(node->tube, first + 1, tl);
	node->tube[tl] = '\0';
	*jobid = v;
	return 0;
}

/* MD5 (RFC 1321). Only a stable digest is needed, not security: dq keys
 * its de-duplication lock by md5hex of the framed body, and so do we. */
static const uint32_t MD5_K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const uint8_t MD5_S[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                  5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void md5_block(uint32_t h[4], const uint8_t *p)
{
	uint32_t m[16];
	for (int i = 0; i < 16; i++)
		m[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 |
		       (uint32_t)p[i * 4 + 2] << 16 | (uint32_t)p[i * 4 + 3] << 24;
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
	for (int i = 0; i < 64; i++) {
		uint32_t f;
		int g;
		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		uint32_t t = d;
		d = c;
		c = b;
		uint32_t x = a + f + MD5_K[i] + m[g];
		b = b + ((x << MD5_S[i]) | (x >> (32 - MD5_S[i])));
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

void lib_md5_hex(const void *data, size_t len, char out[33])
{
	uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
	const uint8_t *p = data;
	size_t left = len;
	for (; left >= 64; left -= 64, p += 64)
		md5_block(h, p);
	uint8_t tail[128] = {0};
	if (left)
		memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t tl = left < 56 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tl - 8 + i] = (uint8_t)(bits >> (8 * i));
	md5_block(h, tail);
	if (tl == 128)
		md5_block(h, tail + 64);
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		uint8_t byte = (uint8_t)(h[i / 4] >> (8 * (i % 4)));
		out[i * 2] = hex[byte >> 4];
		out[i * 2 + 1] = hex[byte & 15];
	}
	out[32] = '\0';
}
