/*
 * fuzz_rdb.c — the DUMP/RESTORE payload decoder (proto/resp/rdb.h) over
 * arbitrary bytes. The CRC is not checked here (rdb_decode never does:
 * RESTORE verifies first), so mutations reach every container parser:
 * lengths, LZF, ziplists, listpacks, intsets, stream nodes and groups.
 */
#include "proto/resp/rdb.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rdb_val_t v;
	(void)rdb_verify(data, size);
	if (rdb_decode(data, size, 1 << 24, &v) < 0)
		return 0;
	size_t total = 0;
	for (size_t i = 0; i < v.n; i++)
		total += v.lens[i] ? (uint8_t)v.items[i][v.lens[i] - 1] : 0;
	if (v.kind == 'z' && !v.scores)
		abort();
	if (v.kind == 'x' && !v.st)
		abort();
	rdb_val_free(&v);
	return (int)(total & 0);
}
