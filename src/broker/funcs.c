/*
 * funcs.c — the Redis function libraries and their journal; see funcs.h.
 *
 * File: DATA_DIR/functions/functions.journal, a state journal
 * (store/journal.h: framed, CRC-checked records). Integers big-endian.
 * One record type:
 *
 *   1 SET  the complete set of libraries after a change:
 *            u32 count
 *            count times: u32 name_len, name bytes; u32 code_len, code
 *
 * Recovery: the last SET wins (every earlier one is garbage); no record
 * means no library. A SET that does not parse stops the open (its CRC
 * passed, so it is a bug or a newer format: starting without the
 * libraries would make every FCALL fail). A change is one record, written
 * ahead and synced (jrnl_commit_now) before it is applied, so FUNCTION
 * LOAD/DELETE/FLUSH/RESTORE are all-or-nothing across a crash, and what a
 * client saw acknowledged survives it. Compaction re-appends one SET.
 * Loop thread only.
 */
#include "broker/funcs.h"

#include "broker/broker.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/rd.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_SET 1

struct funcs {
	const log_t *log;
	jrnl_t *j;
	/* The current SET payload, kept whole: the libraries point into it. */
	buf_t set;
	funcs_lib_t *libs;
	size_t n;
	uint64_t rec_bytes;  /* the live record's size in the file */
	uint64_t replay_gar; /* the SETs replay found superseded */
};

static void encode(buf_t *b, const funcs_lib_t *libs, size_t n)
{
	buf_put_be32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		buf_put_be32(b, (uint32_t)libs[i].name_len);
		buf_append(b, libs[i].name, libs[i].name_len);
		buf_put_be32(b, (uint32_t)libs[i].code_len);
		buf_append(b, libs[i].code, libs[i].code_len);
	}
}

/* Takes the SET payload p[0..len) as the state (copied), or fails with
 * nothing changed. */
static int adopt(funcs_t *f, const uint8_t *p, size_t len)
{
	rd_t r;
	rd_init(&r, p, len);
	uint32_t n = rd_be32(&r);
	if (r.err || n > len / 8)
		return SL_ECORRUPT;
	buf_t set = BUF_INIT;
	buf_append(&set, p, len);
	funcs_lib_t *libs = calloc(n ? n : 1, sizeof *libs);
	if (!libs)
		abort();
	rd_init(&r, buf_data(&set), len);
	rd_be32(&r);
	for (uint32_t i = 0; i < n && !r.err; i++) {
		libs[i].name_len = rd_be32(&r);
		libs[i].name = (const char *)rd_bytes(&r, libs[i].name_len);
		libs[i].code_len = rd_be32(&r);
		libs[i].code = (const char *)rd_bytes(&r, libs[i].code_len);
	}
	if (r.err || rd_left(&r)) {
		free(libs);
		buf_deinit(&set);
		return SL_ECORRUPT;
	}
	buf_deinit(&f->set);
	free(f->libs);
	f->set = set;
	f->libs = libs;
	f->n = n;
	return 0;
}

static int on_replay(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	funcs_t *f = arg;
	if (type != REC_SET)
		return SL_ECORRUPT;
	int rc = adopt(f, p, len);
	if (rc == 0) {
		f->replay_gar += f->rec_bytes;
		f->rec_bytes = jrnl_record_size(len);
	}
	return rc;
}

static int snapshot(void *arg, jrnl_t *j)
{
	funcs_t *f = arg;
	if (!f->n)
		return 0;
	f->rec_bytes = jrnl_record_size(buf_len(&f->set));
	return jrnl_append(j, REC_SET, buf_data(&f->set), buf_len(&f->set));
}

int funcs_open(funcs_t **out, broker_t *b)
{
	funcs_t *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->log = b->log;
	buf_init(&f->set);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/functions", b->data_dir);
	int rc = sio_mkdir_p(b->io, dir);
	/* Changes write ahead whatever the fsync policy (rare, and an
	 * acknowledged library must not vanish). */
	jrnl_opts_t o;
	broker_ahead_jrnl_opts(b, &o);
	if (rc == 0)
		rc = jrnl_open(&f->j, b->loop, b->syncer, b->log, dir, "functions", &o, on_replay,
		               f);
	if (rc < 0) {
		log_error(b->log, "functions: cannot open %s/functions.journal: %s", dir,
		          sl_strerror(rc));
		funcs_close(f);
		return rc;
	}
	/* Every SET before the live one is dead. */
	jrnl_garbage(f->j, f->replay_gar);
	if (f->n)
		log_info(b->log, "functions: %zu libraries restored", f->n);
	*out = f;
	return 0;
}

void funcs_close(funcs_t *f)
{
	if (!f)
		return;
	if (f->j)
		jrnl_close(f->j);
	buf_deinit(&f->set);
	free(f->libs);
	free(f);
}

size_t funcs_count(const funcs_t *f)
{
	return f->n;
}

int funcs_get(const funcs_t *f, size_t i, funcs_lib_t *out)
{
	if (i >= f->n)
		return 0;
	*out = f->libs[i];
	return 1;
}

int funcs_replace(funcs_t *f, const funcs_lib_t *libs, size_t n)
{
	buf_t b = BUF_INIT;
	encode(&b, libs, n);
	int rc = jrnl_append(f->j, REC_SET, buf_data(&b), buf_len(&b));
	if (rc == 0)
		rc = jrnl_commit_now(f->j);
	if (rc < 0) {
		log_error(f->log, "functions: cannot write the change: %s", sl_strerror(rc));
		buf_deinit(&b);
		return rc;
	}
	/* libs may point into the old set: adopt copies first. */
	rc = adopt(f, buf_data(&b), buf_len(&b));
	if (rc == 0) {
		jrnl_garbage(f->j, f->rec_bytes);
		f->rec_bytes = jrnl_record_size(buf_len(&b));
		(void)jrnl_maybe_compact(f->j, snapshot, f);
	}
	buf_deinit(&b);
	return rc;
}
