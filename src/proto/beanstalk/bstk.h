/*
 * bstk.h — internals shared by the beanstalk front's files: the server
 * state, the per-connection state, the command table and reply helpers.
 *
 * Replies: a handler writes its reply with bstk_out() (or bstk_out_durable()
 * for the acknowledgement of a change that went through the journal). With
 * fsync=always, bstk_out_durable() puts the reply in a conn_hold that is
 * released when the journal's group commit for this loop turn is on disk;
 * every later reply of that connection in the same turn goes into the same
 * hold, so replies stay in request order. Loop thread only.
 */
#ifndef SL_PROTO_BEANSTALK_BSTK_H
#define SL_PROTO_BEANSTALK_BSTK_H

#include "broker/broker.h"
#include "broker/job.h"
#include "core/buf.h"
#include "net/conn.h"
#include "store/journal.h"

#include <stdint.h>
#include <sys/utsname.h>

/* Operations, in the order of beanstalkd's op table (stats counters). */
enum bstk_op {
	OP_UNKNOWN,
	OP_PUT,
	OP_PEEKJOB,
	OP_RESERVE,
	OP_DELETE,
	OP_RELEASE,
	OP_BURY,
	OP_KICK,
	OP_STATS,
	OP_STATSJOB,
	OP_PEEK_BURIED,
	OP_USE,
	OP_WATCH,
	OP_IGNORE,
	OP_LIST_TUBES,
	OP_LIST_TUBE_USED,
	OP_LIST_TUBES_WATCHED,
	OP_STATS_TUBE,
	OP_PEEK_READY,
	OP_PEEK_DELAYED,
	OP_RESERVE_TIMEOUT,
	OP_TOUCH,
	OP_QUIT,
	OP_PAUSE_TUBE,
	OP_KICKJOB,
	OP_RESERVE_JOB,
	BSTK_NOPS
};

struct bstk_batch;

typedef struct bstk_srv {
	broker_t *b;
	loop_t *loop;
	jobs_t *jobs; /* the broker's */
	int sync_required;
	uint64_t op_ct[BSTK_NOPS];
	/* group commit: replies held until the journal is durable */
	struct bstk_batch *batch; /* open batch of this turn, or NULL */
	uint64_t batch_seq;       /* id of the open batch */
	loop_task_t batch_task;
	int pending;   /* batches waiting for their sync */
	buf_t scratch; /* stats formatting */
	struct utsname uts;
	char instance[17];
} bstk_srv_t;

enum bstk_mode {
	M_CMD = 0,     /* expecting a command line */
	M_ENDLINE = 1, /* discarding an over-long line */
	M_BODY = 2,    /* reading a put body into in_job */
	M_SKIP = 3,    /* discarding a too-big body, then replying */
};

typedef struct bstk_conn {
	conn_t *c;
	bstk_srv_t *srv;
	job_client_t jc;
	int mode;
	uint64_t skip_left;
	const char *skip_reply;
	job_t *in_job;
	uint32_t in_got;
	int waiting; /* blocked in reserve; input paused */
	int quit;    /* close once held replies are out */
	conn_hold_t *hold;
	uint64_t hold_seq; /* batch the hold belongs to */
	int nholds;
	uint64_t seq0; /* jobs.jseq before the current command */
} bstk_conn_t;

/* args: the line after the command name; id: the parsed id (ARG_ID). */
typedef int (*bstk_handler)(bstk_conn_t *bc, const char *args, uint64_t id);

enum bstk_shape {
	ARG_NONE = 0, /* the line must be exactly the name */
	ARG_ID = 1,   /* one u64 id, nothing after it */
	ARG_TUBE = 2, /* the rest of the line is a valid tube name */
	ARG_RAW = 3,  /* the handler parses (and counts) itself */
};

typedef struct bstk_cmd {
	const char *name; /* matched as a prefix, in table order */
	int op;
	int shape;
	bstk_handler h;
} bstk_cmd_t;

/* Changes a connection's input mode (the one place it changes; logged at
 * debug level). */
void bstk_set_mode(bstk_conn_t *bc, int mode);

/* Finds the command for a NUL-terminated line (beanstalkd's prefix match);
 * NULL for UNKNOWN_COMMAND. */
const bstk_cmd_t *bstk_cmd_find(const char *line);
/* Runs one complete command line (CRLF stripped, NUL-terminated, len
 * bytes). Returns 0 or negative to close the connection. */
int bstk_dispatch(bstk_conn_t *bc, char *line, size_t len);
/* The body of a put is complete (front.c calls it). */
void bstk_put_done(bstk_conn_t *bc);

/* Where the next reply goes (see the file comment). */
buf_t *bstk_out(bstk_conn_t *bc);
buf_t *bstk_out_durable(bstk_conn_t *bc);
void bstk_reply(bstk_conn_t *bc, const char *msg);
/* "<word> <id> <bytes>\r\n<body>" */
void bstk_reply_job(bstk_conn_t *bc, buf_t *out, const char *word, const job_t *j);
/* A blocked reserve ended (job_client wake callback). */
void bstk_wake(job_client_t *jc, int what, job_t *j);

#endif
