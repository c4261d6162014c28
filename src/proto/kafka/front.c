/*
 * front.c — placeholder kafka front: accepts a connection, logs it and closes
 * it. Replaced by the real protocol implementation (see issues).
 */
#include "proto/front.h"

static int on_open(conn_t *c, void *srv)
{
	broker_t *b = srv;
	log_info(b->log, "kafka: connection from %s accepted; protocol not implemented yet, closing",
		 c->peer);
	conn_close(c, 0);
	return 0;
}

static int on_input(conn_t *c)
{
	(void)c;
	return -1;
}

static void on_close(conn_t *c)
{
	(void)c;
}

static const proto_t kafka_proto = {
	.name = "kafka",
	.on_open = on_open,
	.on_input = on_input,
	.on_close = on_close,
};

static int start(broker_t *b, void **srv)
{
	*srv = b;
	return 0;
}

static void stop(void *srv)
{
	(void)srv;
}

const front_t kafka_front = {
	.name = "kafka",
	.proto = &kafka_proto,
	.start = start,
	.stop = stop,
};
