/*
 * control_proto: the protocol of ternd's control socket, shared by the
 * daemon (control.c) and tern (control_client.c).
 *
 * The socket is a Unix stream socket at queue_dir/control/socket; the
 * directory is mode 0750, the socket 0660, both of run_user's group, so
 * only root, run_user and that group's members may connect (and ternd
 * checks the peer's credentials again).  One request per connection:
 *
 *	COMMAND [ARG ...] LF        at most CONTROL_LINE_MAX bytes
 *
 * with COMMAND one of queue, show ID, delete ID...|--all, hold ID...,
 * release ID..., flush, stats.  The reply is a status line, "ok" or
 * "error TEXT", then a body of JSON objects, one per line, up to the end
 * of the connection: queue lists messages (queue_json.h's shape), show
 * gives one, hold/delete/release give {"id", "result", "text"} per ID,
 * flush {"scheduled"}, stats the counters.
 */
#ifndef TERN_CONTROL_PROTO_H
#define TERN_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"

#define CONTROL_DIR "control"
#define CONTROL_SOCKET "control/socket"

/* Longest request line, LF included, and most IDs in one request. */
#define CONTROL_LINE_MAX 65536
#define CONTROL_MAX_IDS 2000

enum control_cmd {
	CONTROL_QUEUE,
	CONTROL_SHOW,
	CONTROL_DELETE,
	CONTROL_HOLD,
	CONTROL_RELEASE,
	CONTROL_FLUSH,
	CONTROL_STATS,
};

/* The outcome of hold, delete or release for one ID (the same values
 * as qmgr's enum qmgr_ctl_result). */
enum control_result {
	CONTROL_DONE,
	CONTROL_PENDING,
	CONTROL_NOT_FOUND,
	CONTROL_NOOP,
	CONTROL_ERROR,
};

struct control_req {
	enum control_cmd cmd;
	bool all;                 /* delete --all */
	char *ids[CONTROL_MAX_IDS];  /* point into the parsed line */
	size_t nids;
};

/* Command name ("queue", ...). */
const char *control_cmd_name(enum control_cmd cmd);

/*
 * Parse a request line (without its LF; split in place).  Every ID must
 * be a well-formed queue ID; show takes exactly one, hold and release
 * at least one, delete at least one or --all alone; queue, flush and
 * stats take none.  Returns 0, or -1 with eb saying what is wrong.
 */
int control_proto_parse(char *line, struct control_req *req,
    struct errbuf *eb);

/* The word for a result, for programs ("held", "pending", "not-found",
 * ...), and the sentence for people ("held", "in delivery: held when
 * the attempt ends", ...). */
const char *control_result_name(enum control_cmd cmd, enum control_result r);
const char *control_result_text(enum control_cmd cmd, enum control_result r);

#endif
