/*
 * front.h — how a protocol front plugs into sluiced.
 *
 * main.c keeps one table of fronts (kafka, resp, beanstalk, http). For each
 * enabled listener it calls start() to open the front's state (journals,
 * topics) before the port opens, then listens with the front's proto_t
 * hooks. On shutdown it closes the listeners, runs the loop while any
 * front reports busy() (in-flight syncs, held replies) for a bounded time,
 * then calls stop() to flush and close. Loop thread only.
 */
#ifndef SL_PROTO_FRONT_H
#define SL_PROTO_FRONT_H

#include "broker/broker.h"
#include "net/conn.h"

typedef struct front {
	const char *name;
	const proto_t *proto;
	/* Opens state; *srv becomes the listener's proto argument. */
	int (*start)(broker_t *b, void **srv);
	/* Optional: non-zero while in-flight work remains. */
	int (*busy)(void *srv);
	/* Flushes, syncs and frees. */
	void (*stop)(void *srv);
} front_t;

extern const front_t kafka_front;
extern const front_t resp_front;
extern const front_t bstk_front;
extern const front_t http_front;

#endif
