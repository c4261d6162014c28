/*
 * keyspace_unit.c — crash atomicity of the keyspace's units (a command, a
 * script, MULTI/EXEC, FCALL, RESTORE), across its three kinds of files.
 *
 * In memory a unit is atomic already (it runs to its end on the loop
 * thread) and its replies wait for the syncs; what this file adds is that
 * a crash (SIGKILL, power loss) while the unit's records are partly on
 * disk leaves none of it after the restart.
 *
 *   - Each journal frames the unit's records (store/journal.h, units):
 *     BEGIN ... COMMIT, replayed all or none; one id per unit, the same in
 *     both journals, increasing (from the highest either journal holds).
 *   - A unit that wrote to both journals is cross-journal: its COMMITs say
 *     so. Their writes are two pwrites at the end of the turn, so a kill
 *     between them leaves the unit in one journal only. After both were
 *     replayed at open (ks_unit_settle), each is cut at its first
 *     cross-journal unit above the other's highest: that unit and all after
 *     it go (nothing of it was acknowledged: replies wait for both syncs),
 *     and the model is rebuilt from the files.
 *   - Stream entries are in the logs, which replay does not gate: a multi
 *     unit writes an UNITLOG record (stream_store.c) before its first entry
 *     in each log, and a dropped unit's UNITLOG cuts the log back. So the
 *     entries reach their logs only once the UNITLOGs are durable: the
 *     turn's end asks for a sync of the streams journal (the gate) and the
 *     entries are written when it lands, without holding up the loop;
 *     entries appended meanwhile queue behind them, and the replies that
 *     could have seen them wait too. A fast command (one XADD) skips the
 *     UNITLOG: its entries are its only effect.
 *
 * Power loss: the journals are each a synced prefix plus whatever of the
 * rest reached the disk, and the cut above covers any mix of them. The
 * logs are written before the COMMIT but not synced before it, so after a
 * power loss (not a kill) a committed unit's entries can be missing from
 * its log, as an unacknowledged XADD's can; acknowledged units are whole.
 *
 * Loop thread only.
 */
#include "broker/keyspace_priv.h"

#include "core/err.h"

#include <stdlib.h>

void ks_unit_begin(keyspace_t *ks, int multi)
{
	if (ks->unit_depth++ == 0) {
		ks->unit_multi = multi;
		ks->nunit_logs = 0;
		ks->unit_last++;
		jrnl_unit_begin(ks->kj, ks->unit_last);
		jrnl_unit_begin(ks->sj, ks->unit_last);
	} else if (multi) {
		ks->unit_multi = 1;
	}
}

void ks_unit_end(keyspace_t *ks)
{
	if (ks->unit_depth == 0 || --ks->unit_depth > 0)
		return;
	/* Where its entries end in each log: the open checks the logs hold
	 * them (sstore_unit_shortfall). */
	for (size_t i = 0; i < ks->nunit_logs; i++)
		sstore_log_unitend(ks->ss, ks->unit_logs[i][0], ks->unit_logs[i][1], ks->unit_last);
	if (ks->nunit_logs)
		ks->unit_gated = 1;
	int cross = jrnl_unit_written(ks->kj) && jrnl_unit_written(ks->sj);
	jrnl_unit_end(ks->kj, cross);
	jrnl_unit_end(ks->sj, cross);
	ks->nunit_logs = 0;
}

/* A gate's sync in flight. The waiter can fire after the keyspace closed
 * (the journal answers it then): the token outlives it. */
typedef struct ks_gate {
	keyspace_t *ks; /* NULL once the keyspace closed */
} ks_gate_t;

static void gate_fired(void *arg, int status)
{
	ks_gate_t *g = arg;
	keyspace_t *ks = g->ks;
	free(g);
	if (!ks)
		return;
	ks->gate = NULL;
	/* A failed sync failed the journal: its hook fails the domain and
	 * rebuilds the model, which drops the entries and fails their held
	 * replies. */
	if (status == 0)
		ks_gate_landed(ks);
}

int ks_unit_gate(keyspace_t *ks)
{
	if (ks->gate)
		return 1; /* every entry waits behind the ones in flight (log order) */
	if (!ks->unit_gated)
		return 0;
	ks->unit_gated = 0;
	/* The UNITLOGs on disk before any entry they cover can be. With
	 * fsync=never nothing is synced: writing the journal first orders the
	 * files for a kill, which is all that policy promises. */
	if (ks->cfg->fsync.mode == FSYNC_NEVER)
		return jrnl_sync_now(ks->sj);
	/* Otherwise one sync of the streams journal, off the loop thread: the
	 * pending entries, every stream's up to here, are written when it
	 * lands (their COMMITs go with it; a COMMIT may be durable before its
	 * entries: the open's shortfall check covers that). Meanwhile the
	 * loop serves everyone; later entries queue behind these. */
	for (size_t i = 0; i < ks->nflush; i++)
		ks->flush[i]->gate_end = ks->flush[i]->pfirst + ks->flush[i]->pn;
	ks->gate_nlate = ks->nlate;
	ks_gate_t *g = malloc(sizeof *g);
	if (!g)
		abort();
	g->ks = ks;
	ks->gate = g;
	jrnl_when_durable(ks->sj, gate_fired, g);
	return 1;
}

/* Writes s's pending entries below upto (UINT64_MAX: all of them). */
static int write_entries(keyspace_t *ks, stream_t *s, uint64_t upto)
{
	int rc = stream_flush_upto(s, upto);
	if (rc < 0)
		log_error(ks->log, "streams: writing the entries of stream %llu failed: %s",
		          (unsigned long long)s->num, sl_strerror(rc));
	return rc;
}

void ks_write_pending(keyspace_t *ks)
{
	int err = 0;
	for (size_t i = 0; i < ks->nflush; i++) {
		ks->flush[i]->inflush = 0;
		int rc = write_entries(ks, ks->flush[i], UINT64_MAX);
		if (rc < 0 && !err)
			err = rc;
	}
	ks->nflush = 0;
	if (err)
		dur_fail(ks->dur, err);
}

/* The gate's sync landed: the entries it covered are written and their
 * replies join the domain. */
void ks_gate_landed(keyspace_t *ks)
{
	int err = 0;
	for (size_t i = 0; i < ks->nflush;) {
		stream_t *s = ks->flush[i];
		int rc = s->gate_end ? write_entries(ks, s, s->gate_end) : 0;
		s->gate_end = 0;
		if (rc < 0 && !err)
			err = rc;
		if (s->pn == 0) {
			s->inflush = 0;
			ks->flush[i] = ks->flush[--ks->nflush];
		} else {
			i++;
		}
	}
	if (err)
		dur_fail(ks->dur, err);
	ks_release_late(ks, ks->gate_nlate);
	/* What came meanwhile: written, or gated in its turn. */
	ks_changed(ks);
}

void ks_unit_gate_close(keyspace_t *ks)
{
	if (!ks->gate)
		return;
	ks->gate->ks = NULL;
	ks->gate = NULL;
	(void)jrnl_sync_now(ks->sj);
}

void ks_unit_stream(keyspace_t *ks, stream_t *s)
{
	if (!ks->unit_depth || !ks->unit_multi || !s->log)
		return;
	for (size_t i = 0; i < ks->nunit_logs; i++)
		if (ks->unit_logs[i][0] == s->num) {
			ks->unit_logs[i][1] = s->next_pos;
			return;
		}
	if (ks->nunit_logs == ks->unit_logs_cap) {
		ks->unit_logs_cap = ks->unit_logs_cap ? 2 * ks->unit_logs_cap : 8;
		ks->unit_logs = realloc(ks->unit_logs, ks->unit_logs_cap * sizeof *ks->unit_logs);
		if (!ks->unit_logs)
			abort();
	}
	ks->unit_logs[ks->nunit_logs][0] = s->num;
	ks->unit_logs[ks->nunit_logs++][1] = s->next_pos;
	/* The entry just appended (one per call) is the unit's first here. */
	sstore_log_unitmark(ks->ss, s->num, s->next_pos - 1);
}

int ks_unit_settle(keyspace_t *ks)
{
	jrnl_t *kj = kvs_jrnl(ks->kv), *sj = sstore_jrnl(ks->ss);
	uint64_t kid, kcross, sid, scross;
	jrnl_unit_ids(kj, &kid, &kcross);
	jrnl_unit_ids(sj, &sid, &scross);
	int rc = 0, cut = sstore_unit_cuts(ks->ss) > 0;
	uint64_t lost = sstore_unit_shortfall(ks->ss);
	if (lost) {
		if ((rc = sstore_unit_cut_from(ks->ss, lost)) < 0)
			return rc;
		cut |= rc;
		jrnl_unit_ids(sj, &sid, &scross);
	}
	/* A journal whose damage was set aside lost its units after it by
	 * damage, not a crash: what the other drops to agree is kept aside. */
	if (kcross > scross)
		rc = jrnl_unit_cut_after(kj, scross, jrnl_open_set_aside(sj), NULL, NULL);
	else if (scross > kcross)
		rc = sstore_unit_cut_after(ks->ss, kcross, jrnl_open_set_aside(kj));
	if (rc < 0)
		return rc;
	cut |= rc;
	if (cut && (rc = ks_rebuild(ks)) < 0)
		return rc;
	jrnl_unit_ids(kj, &kid, &kcross);
	jrnl_unit_ids(sj, &sid, &scross);
	ks->unit_last = kid > sid ? kid : sid;
	return 0;
}

void ks_unit_free(keyspace_t *ks)
{
	free(ks->unit_logs);
	ks->unit_logs = NULL;
	ks->nunit_logs = ks->unit_logs_cap = 0;
}
