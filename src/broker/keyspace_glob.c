/*
 * keyspace_glob.c — glob-style matching with Redis's stringmatchlen rules
 * (see keyspace_glob.h). The recursion on '*' is bounded by collapsing runs
 * of '*' and by a nesting limit, so a hostile pattern cannot exhaust the
 * stack.
 */
#include "broker/keyspace_glob.h"

#include <ctype.h>

/* skip: set once a '*' tried every remaining suffix of s without a match;
 * then no outer '*' can succeed with a longer prefix either (the same cut
 * Redis uses), which keeps patterns like "*a*a*a*b" linear-ish instead of
 * exponential. */
static int match(const char *p, size_t pl, const char *s, size_t sl, int nocase, int depth,
                 int *skip)
{
	if (depth > 1000)
		return 0;
	while (pl && sl) {
		switch (p[0]) {
		case '*':
			while (pl > 1 && p[1] == '*')
				p++, pl--;
			if (pl == 1)
				return 1;
			for (size_t i = 0; i <= sl; i++) {
				if (match(p + 1, pl - 1, s + i, sl - i, nocase, depth + 1, skip))
					return 1;
				if (*skip)
					return 0;
			}
			*skip = 1;
			return 0;
		case '?':
			s++, sl--;
			break;
		case '[': {
			int not = 0, hit = 0;
			p++, pl--;
			if (pl && p[0] == '^') {
				not = 1;
				p++, pl--;
			}
			for (;;) {
				if (pl == 0) {
					/* An unterminated class: Redis treats it as ending here. */
					break;
				}
				if (p[0] == '\\' && pl >= 2) {
					p++, pl--;
					if (p[0] == s[0])
						hit = 1;
				} else if (p[0] == ']') {
					break;
				} else if (pl >= 3 && p[1] == '-') {
					int lo = (unsigned char)p[0], hi = (unsigned char)p[2];
					int c = (unsigned char)s[0];
					if (lo > hi) {
						int t = lo;
						lo = hi;
						hi = t;
					}
					if (nocase) {
						lo = tolower(lo);
						hi = tolower(hi);
						c = tolower(c);
					}
					p += 2, pl -= 2;
					if (c >= lo && c <= hi)
						hit = 1;
				} else if (nocase ? tolower((unsigned char)p[0]) ==
				                        tolower((unsigned char)s[0])
				                  : p[0] == s[0]) {
					hit = 1;
				}
				p++, pl--;
			}
			if (not )
				hit = !hit;
			if (!hit)
				return 0;
			s++, sl--;
			break;
		}
		case '\\':
			if (pl >= 2)
				p++, pl--;
			__attribute__((fallthrough));
		default:
			if (nocase ? tolower((unsigned char)p[0]) != tolower((unsigned char)s[0])
			           : p[0] != s[0])
				return 0;
			s++, sl--;
			break;
		}
		if (pl == 0)
			break;
		p++, pl--;
		if (sl == 0) {
			while (pl && p[0] == '*')
				p++, pl--;
			break;
		}
	}
	return pl == 0 && sl == 0;
}

int ks_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
	int skip = 0;
	return match(pat, plen, s, slen, nocase, 0, &skip);
}
