/*
 * sluice/pusher.h — a batching Kafka producer (go-queue kq's Pusher).
 *
 * Keys from sl_conf: brokers, topic (exactly one), chunk.size,
 * flush.interval, balancer, partition, acks, compression, sync,
 * auto.create, username, password, client.id.
 *
 * Batching: messages collect per partition until chunk.size bytes or
 * flush.interval ms, whichever first, then go out as one produce request.
 * With sync = true every push returns only after the broker acknowledged
 * that message (or refused it), and flush.interval is ignored (each
 * message goes out at once, like kq's WithSyncPush).
 *
 * acks = all (the default) also turns on librdkafka's idempotent
 * producer, so its retries never write a message twice. A message the
 * broker does not acknowledge within librdkafka's message.timeout.ms
 * (300 s) fails with SL_ETIMEDOUT.
 *
 * auto.create = false: the first push asks the brokers for the topic
 * (waiting up to 10 s) and fails with SL_ENOENT if it does not exist, so
 * a typo is an error at once, not a message held for minutes; a failed
 * check is repeated by the next push. auto.create = true lets the broker
 * create the topic (if its auto.create.topics.enable allows it).
 *
 * Balancers: least-bytes (the partition that was sent the fewest bytes,
 * kafka-go's LeastBytes), hash (FNV-1a of the key, kafka-go's Hash and
 * librdkafka's fnv1a; a null key goes round-robin), round-robin, random,
 * manual (always conf "partition", or the partition given to
 * sl_push_msg), crc16 (CRC16/XMODEM of the key modulo the partition
 * count, the Redis-cluster slot hash: consistent across clients).
 *
 * Thread-safety: every function may be called from any thread. A
 * background thread serves librdkafka's delivery reports; the delivery
 * callback runs on it, so the callback must not push in sync mode, flush
 * or close the pusher (each would wait for that very thread).
 */
#ifndef SLUICE_PUSHER_H
#define SLUICE_PUSHER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sl_pusher sl_pusher;

/* A message to push; every pointer is borrowed (copied before return). */
typedef struct sl_out_message {
	const void *key; /* NULL = null key */
	size_t key_len;
	const void *value;
	size_t value_len;
	const sl_header *headers;
	size_t header_count;
	int32_t partition; /* -1 = the balancer chooses; >= 0 overrides any
			      balancer (SL_ENOENT if the topic lacks it) */
} sl_out_message;

/* What the delivery callback is told about one pushed message. */
typedef struct sl_delivery {
	int err;            /* 0 or a negative SL_E* code */
	const char *reason; /* "" or the broker's / librdkafka's words */
	int32_t partition;
	int64_t offset;     /* -1 with acks=0 or on error */
	int64_t latency_us; /* from the push call to the acknowledgement */
	void *msg_opaque;   /* as given to sl_push_msg_opaque */
} sl_delivery;
typedef void (*sl_delivery_cb)(const sl_delivery *d, void *user);

/* Returns an owned pusher (free with sl_pusher_close) or NULL. conf is
 * borrowed. Connecting is lazy: a bad broker address shows as push or
 * flush errors, not here. */
SL_API sl_pusher *sl_pusher_new(const sl_conf *conf);

/* Optional; set before the first push. user is borrowed. */
SL_API void sl_pusher_set_delivery_cb(sl_pusher *p, sl_delivery_cb cb, void *user);

/* Push a value (null key) / a key and a value / a full message. In
 * asynchronous mode they return once the message is queued (blocking while
 * librdkafka's queue is full, never dropping); in sync mode once it is
 * acknowledged, with its own result, after its delivery callback ran.
 * Errors: SL_ENOENT (no such topic or partition), SL_EINVAL (NULL data with
 * a length, a partition below -1), SL_ETOOBIG, SL_EIO / SL_ETIMEDOUT (no
 * broker answered the topic check), SL_EREMOTE. A push that returns an
 * error counts in push_failed. */
SL_API int sl_push(sl_pusher *p, const void *value, size_t len);
SL_API int sl_push_key(sl_pusher *p, const void *key, size_t key_len, const void *value,
                       size_t len);
SL_API int sl_push_msg(sl_pusher *p, const sl_out_message *m);
SL_API int sl_push_msg_opaque(sl_pusher *p, const sl_out_message *m, void *msg_opaque);

/* Sends everything queued and waits up to timeout_ms (-1 = forever) for
 * the acknowledgements. SL_ETIMEDOUT if some are still outstanding; the
 * first asynchronous delivery error since the last flush otherwise. */
SL_API int sl_pusher_flush(sl_pusher *p, int timeout_ms);

/* Flushes (waiting up to 30 s), then frees p; messages still unacknowledged
 * then are dropped and reported as failed (SL_ETIMEDOUT is returned).
 * Returns what the flush returned. */
SL_API int sl_pusher_close(sl_pusher *p);

SL_API void sl_pusher_metrics(const sl_pusher *p, sl_metrics *out);

#ifdef __cplusplus
}
#endif

#endif
