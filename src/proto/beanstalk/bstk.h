/*
 * bstk.h — internals shared by the beanstalk front's files: the server
 * state, the per-connection state, the command table and reply helpers.
 *
 * Replies: a handler writes its reply with bstk_out() / bstk_reply(). Each
 * reply is produced between bstk_reply_begin() and bstk_reply_end(), which
 * hand it to the jobs' durability domain (broker/dur.h): with fsync=always it
 * leaves once every job change it could depend on is on disk (its own, and
 * any it could have observed); should that fail, the reply becomes
 * OUT_OF_MEMORY for a journaled command (what beanstalkd answers when its
 * binlog cannot take a change) and INTERNAL_ERROR for any other. Loop
 * thread only.
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

typedef struct bstk_srv {
	broker_t *b;
	loop_t *loop;
	jobs_t *jobs;      /* the broker's */
	int sync_required; /* fsync=always: replies go through the domain */
	uint64_t op_ct[BSTK_NOPS];
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
	int waiting;    /* blocked in reserve; input paused */
	int quit;       /* close once held replies are out */
	buf_t reply;    /* the reply being built (fsync=always) */
	buf_t *out;     /* where the current reply goes */
	int journaled;  /* the current command changes jobs (its failure word) */
	uint64_t lines; /* command lines seen */
	int sniffed;    /* the wrong-protocol hint was logged */
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
	int journaled; /* changes job state through the journal */
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

/* Brackets the production of one reply (see the file comment). journaled:
 * the command changes job state. */
void bstk_reply_begin(bstk_conn_t *bc, int journaled);
void bstk_reply_end(bstk_conn_t *bc);
/* Where the reply goes. */
buf_t *bstk_out(bstk_conn_t *bc);
void bstk_reply(bstk_conn_t *bc, const char *msg);
/* "<word> <id> <bytes>\r\n<body>" */
void bstk_reply_job(bstk_conn_t *bc, buf_t *out, const char *word, const job_t *j);
/* A blocked reserve ended (job_client wake callback). */
void bstk_wake(job_client_t *jc, int what, job_t *j);

#endif
