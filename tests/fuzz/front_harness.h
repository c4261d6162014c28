/*
 * front_harness.h — drives a whole protocol front with fuzz input.
 *
 * fuzz_front_run() runs the front on a broker kept for the whole process
 * (own loop, syncer, data directory in /dev/shm, fsync=never, small
 * limits; started again every few thousand inputs), opens two in-memory
 * connections (tests/unit/net/memconn.h), feeds the input to the first in
 * chunks whose sizes come from the input itself (so parsers see requests
 * split at many boundaries), and then checks that the second, healthy
 * connection still gets an answer to `probe` — bad input on one connection
 * must not affect another. A crash, a sanitizer report or a dead probe
 * connection fails the run.
 */
#ifndef SL_TESTS_FUZZ_FRONT_HARNESS_H
#define SL_TESTS_FUZZ_FRONT_HARNESS_H

#include "proto/front.h"

#include <stddef.h>
#include <stdint.h>

void fuzz_front_run(const front_t *front, const uint8_t *data, size_t size, const void *probe,
                    size_t probe_len);

#endif
