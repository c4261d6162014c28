/*
 * watch.h — how a store (a state journal or a partition log) tells its
 * owner about its writes, so one owner (the broker's durability domain,
 * broker/dur.h) can decide when replies may go and what to cut back after a
 * failure. Store code only calls the hooks; it never looks at the owner.
 *
 * All hooks run on the loop thread. `appended` runs inside the append call
 * (keep it O(1)); `failed` never runs inside a store call: it comes from a
 * task at the end of a turn.
 */
#ifndef SL_STORE_WATCH_H
#define SL_STORE_WATCH_H

typedef struct store_watch {
	/* Data was appended (the store's position moved). */
	void (*appended)(void *arg);
	/* A write or sync failed (err: SL_EIO, SL_ENOSPC). The store now
	 * refuses appends until its owner cuts it back to a durable point. */
	void (*failed)(void *arg, int err);
	/* Positions restarted: a journal was compacted into a new file that
	 * holds everything appended so far, on disk. */
	void (*rebased)(void *arg);
	void *arg;
} store_watch_t;

#endif
