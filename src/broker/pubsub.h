/*
 * pubsub.h — the pub/sub registry: which subscribers listen on which
 * channels and patterns, and the fan-out of a published message to them.
 * In memory only, as in Redis (nothing here is durable).
 *
 * Subscribers are opaque handles (a ps_sub_t embedded in the front's
 * connection state) with a delivery callback; the registry never looks
 * inside them. A channel's subscribers, and the pattern subscriptions, are
 * kept in subscription order, which is the delivery order (Redis's). The
 * front keeps each connection's own list of what it subscribed to (for
 * UNSUBSCRIBE without arguments and the RESP2 subscribed-mode rules) and
 * must drop a subscriber (ps_drop) before freeing it.
 *
 * Loop thread only.
 */
#ifndef SL_BROKER_PUBSUB_H
#define SL_BROKER_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

typedef struct ps ps_t;
typedef struct ps_sub ps_sub_t;

struct ps_sub {
	/* One message for this subscriber: pat is the matching pattern of a
	 * pattern subscription, NULL for a channel subscription. Must not
	 * change the registry. */
	void (*deliver)(ps_sub_t *s, const char *pat, size_t plen, const char *ch, size_t chlen,
	                const char *msg, size_t mlen);
};

/* Returns an owned, empty registry. */
ps_t *ps_new(void);
/* Frees the registry; the subscribers are their owners'. */
void ps_free(ps_t *ps);

/* 1 when s was newly subscribed, 0 when it already was. */
int ps_subscribe(ps_t *ps, ps_sub_t *s, const char *ch, size_t len);
/* 1 when s was subscribed (and is no longer), else 0. */
int ps_unsubscribe(ps_t *ps, ps_sub_t *s, const char *ch, size_t len);
int ps_psubscribe(ps_t *ps, ps_sub_t *s, const char *pat, size_t len);
int ps_punsubscribe(ps_t *ps, ps_sub_t *s, const char *pat, size_t len);
/* Drops every subscription of s. */
void ps_drop(ps_t *ps, ps_sub_t *s);

/* Delivers msg to every subscription matching ch (channel subscribers
 * first, then patterns, each in subscription order); returns how many
 * subscriptions received it. */
int64_t ps_publish(ps_t *ps, const char *ch, size_t chlen, const char *msg, size_t mlen);

/* Subscribers of one channel (patterns not counted). */
size_t ps_numsub(const ps_t *ps, const char *ch, size_t len);
/* Distinct patterns subscribed to. */
size_t ps_numpat(const ps_t *ps);
/* Calls fn for each channel with subscribers whose name matches pat
 * (NULL: every channel), in no particular order. */
void ps_channels(const ps_t *ps, const char *pat, size_t plen,
                 void (*fn)(void *arg, const char *ch, size_t len), void *arg);

#endif
