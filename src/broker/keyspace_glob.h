/*
 * keyspace_glob.h — Redis's glob-style pattern matching (KEYS, SCAN MATCH,
 * PSUBSCRIBE, PUBSUB CHANNELS, CONFIG GET): *, ?, [abc], [^a-z], and
 * backslash escapes. Thread-safe.
 */
#ifndef SL_BROKER_KEYSPACE_GLOB_H
#define SL_BROKER_KEYSPACE_GLOB_H

#include <stddef.h>

int ks_glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

#endif
