/*
 * fuzz_batch.c — RecordBatch v2 parsing: header peek, validation, and the
 * record and header iterators run over arbitrary bytes (the CRC check is
 * bypassed for iteration so mutations reach the record parser).
 */
#include "core/buf.h"
#include "store/batch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	batch_hdr_t h;
	(void)batch_validate(data, size, 1 << 20, &h);
	if (batch_peek(data, size, &h) < 0)
		return 0;
	/* Produce's check on compacted topics (any codec, bounded output). */
	int32_t idx[4];
	size_t nkeyless;
	(void)batch_keyless(data, size, 1 << 20, idx, 4, &nkeyless);
	batch_iter_t it;
	if (batch_iter_init(&it, data, size) != 0)
		return 0;
	batch_record_t rec;
	size_t total = 0;
	while (batch_iter_next(&it, &rec) == 1) {
		if (rec.key_len > 0)
			total += rec.key[0];
		if (rec.value_len > 0)
			total += rec.value[rec.value_len - 1];
		batch_rec_headers_t hi;
		batch_rec_header_t hd;
		batch_rec_headers_init(&hi, &rec);
		while (batch_rec_headers_next(&hi, &hd) == 1)
			total += hd.key_len;
	}
	/* Rewriting fields of a private copy must keep it parseable. */
	if (batch_validate(data, size, 1 << 20, &h) == 0) {
		uint8_t *copy = malloc(size);
		memcpy(copy, data, size);
		batch_set_base_offset(copy, 12345);
		batch_set_log_append_time(copy, batch_size(&h), 99);
		if (batch_validate(copy, batch_size(&h), 1 << 20, &h) != 0)
			abort();
		free(copy);
	}
	return (int)(total & 0);
}
