/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2 and
 * of sluice's own storage frames.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked once, at
 * first call) and a slicing-by-8 table otherwise; both are checked against
 * the same known vectors in tests/unit/core/test_crc32c.c.
 * Thread-safe after the first call (the dispatch choice is idempotent).
 */
#ifndef SL_CORE_CRC32C_H
#define SL_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: crc32c(0, p, n) is the CRC of p[0..n). */
uint32_t crc32c(uint32_t crc, const void *p, size_t n);

/* Explicit implementations, for tests and benchmarks. crc32c_hw() must only
 * be called when crc32c_hw_available() is true. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);
uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n);
int crc32c_hw_available(void);

#endif
