/*
 * stream_store.h — durability for Redis streams: every mutation of a
 * stream (entries, deletions, trimming, groups, consumers, PEL) is appended
 * to a state journal as a logical record and replayed through the stream
 * model (stream.h) on start; compaction rewrites the live state.
 *
 * The owner (the RESP keyspace) supplies a sink that finds or creates the
 * stream of a key and deletes keys during replay. Replies that acknowledge
 * a mutation wait on sstore_when_durable() when the policy is `always`
 * (group commit: everything appended in a turn shares one sync).
 * Loop thread only.
 */
#ifndef SL_BROKER_STREAM_STORE_H
#define SL_BROKER_STREAM_STORE_H

#include "broker/broker.h"
#include "broker/stream.h"

typedef struct sstore sstore_t;

typedef struct sstore_sink {
	/* Returns the stream at key, creating an empty one when create is
	 * set; NULL if absent (or another type). */
	stream_t *(*get)(void *arg, const char *key, size_t klen, int create);
	void (*del)(void *arg, const char *key, size_t klen);
	/* Every stream, for snapshots: calls fn for each. */
	void (*each)(void *arg, void (*fn)(void *farg, const char *key, size_t klen, stream_t *s),
		     void *farg);
	void *arg;
} sstore_sink_t;

/* Opens <data-dir>/streams/streams.journal and replays it into sink. */
int sstore_open(sstore_t **out, broker_t *b, const sstore_sink_t *sink);
void sstore_close(sstore_t *st);

int sstore_sync_required(const sstore_t *st);
/* Calls fn(arg, status) once everything logged so far is durable. */
void sstore_when_durable(sstore_t *st, void (*fn)(void *arg, int status), void *arg);
/* Compacts the journal when enough of it is garbage. */
void sstore_maintain(sstore_t *st);

/* Mutations, logged after they were applied to the model. */
/* A new stream: gives it a number and its partition log (entries go
 * there, not to the journal). Returns 0 or a negative code. */
int sstore_log_create(sstore_t *st, const char *key, size_t klen, stream_t *s);
void sstore_log_del(sstore_t *st, const char *key, size_t klen, sid_t id);
/* s was appended to: its pending entries are written at the end of the
 * turn and its log joins the next durability request. */
void sstore_touch(sstore_t *st, stream_t *s);
/* Entries were trimmed from the front of s. */
void sstore_log_trim(sstore_t *st, const char *key, size_t klen, const stream_t *s);
/* The key is being deleted: its partition log is destroyed. */
void sstore_log_delkey(sstore_t *st, const char *key, size_t klen, stream_t *s);
void sstore_log_meta(sstore_t *st, const char *key, size_t klen, const stream_t *s);
/* A group was created or its last ID / read counter changed. */
void sstore_log_group(sstore_t *st, const char *key, size_t klen, const sgroup_t *g);
void sstore_log_group_del(sstore_t *st, const char *key, size_t klen, const sgroup_t *g);
void sstore_log_consumer(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
			 const sconsumer_t *c);
void sstore_log_consumer_del(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
			     const sconsumer_t *c);
/* A nack was created or changed (delivery, claim). */
void sstore_log_nack(sstore_t *st, const char *key, size_t klen, const sgroup_t *g,
		     const snack_t *n);
void sstore_log_ack(sstore_t *st, const char *key, size_t klen, const sgroup_t *g, sid_t id);

#endif
