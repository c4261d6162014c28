/*
 * glob.h — Redis's glob-style pattern matching (KEYS, SCAN MATCH, CONFIG
 * GET): *, ?, [abc], [^a-z], and backslash escapes. Thread-safe.
 */
#ifndef SL_PROTO_RESP_GLOB_H
#define SL_PROTO_RESP_GLOB_H

#include <stddef.h>

int resp_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

#endif
