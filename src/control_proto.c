/*
 * control_proto: request parsing and result names of the control
 * socket (see control_proto.h).  Pure: no I/O, so the daemon and tern
 * agree on every word, and unit tests enumerate them.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <string.h>

#include "control_proto.h"
#include "queue.h"

static const char *const control_cmd_names[] = {
	[CONTROL_QUEUE] = "queue",
	[CONTROL_SHOW] = "show",
	[CONTROL_DELETE] = "delete",
	[CONTROL_HOLD] = "hold",
	[CONTROL_RELEASE] = "release",
	[CONTROL_FLUSH] = "flush",
	[CONTROL_STATS] = "stats",
};

#define CONTROL_NCMDS (sizeof(control_cmd_names) / sizeof(char *))

const char *
control_cmd_name(enum control_cmd cmd)
{
	return (size_t)cmd < CONTROL_NCMDS ? control_cmd_names[cmd] : "?";
}

/* How many IDs each command takes. */
static int
control_proto_check(struct control_req *req, struct errbuf *eb)
{
	const char *name = control_cmd_name(req->cmd);

	switch (req->cmd) {
	case CONTROL_QUEUE:
	case CONTROL_FLUSH:
	case CONTROL_STATS:
		if (req->nids > 0 || req->all)
			return errbuf_set(eb, "%s takes no arguments", name);
		return 0;
	case CONTROL_SHOW:
		if (req->nids != 1 || req->all)
			return errbuf_set(eb, "show takes one queue ID");
		return 0;
	case CONTROL_DELETE:
		if (req->all && req->nids > 0)
			return errbuf_set(eb, "delete takes queue IDs or "
			    "--all, not both");
		break;
	default:
		if (req->all)
			return errbuf_set(eb, "%s takes queue IDs, not --all",
			    name);
		break;
	}
	if (req->nids == 0 && !req->all)
		return errbuf_set(eb, "%s needs at least one queue ID", name);
	return 0;
}

int
control_proto_parse(char *line, struct control_req *req, struct errbuf *eb)
{
	char *save = NULL, *w;
	size_t i;

	memset(req, 0, sizeof(*req));
	if ((w = strtok_r(line, " \t\r", &save)) == NULL)
		return errbuf_set(eb, "empty request");
	for (i = 0; i < CONTROL_NCMDS; i++)
		if (strcmp(w, control_cmd_names[i]) == 0)
			break;
	if (i == CONTROL_NCMDS)
		return errbuf_set(eb, "unknown command \"%.40s\"", w);
	req->cmd = (enum control_cmd)i;
	while ((w = strtok_r(NULL, " \t\r", &save)) != NULL) {
		if (strcmp(w, "--all") == 0) {
			req->all = true;
			continue;
		}
		if (!queue_id_valid(w))
			return errbuf_set(eb, "\"%.40s\" is not a queue ID (19 "
			    "hex digits, as tern queue shows)", w);
		if (req->nids == CONTROL_MAX_IDS)
			return errbuf_set(eb, "more than %d queue IDs in one "
			    "request", CONTROL_MAX_IDS);
		req->ids[req->nids++] = w;
	}
	return control_proto_check(req, eb);
}

const char *
control_result_name(enum control_cmd cmd, enum control_result r)
{
	switch (r) {
	case CONTROL_DONE:
		return cmd == CONTROL_HOLD ? "held" : cmd == CONTROL_DELETE ?
		    "deleted" : "released";
	case CONTROL_PENDING:
		return "pending";
	case CONTROL_NOT_FOUND:
		return "not-found";
	case CONTROL_NOOP:
		return cmd == CONTROL_HOLD ? "already-held" : "not-held";
	default:
		return "error";
	}
}

const char *
control_result_text(enum control_cmd cmd, enum control_result r)
{
	switch (r) {
	case CONTROL_DONE:
		return cmd == CONTROL_HOLD ? "held" : cmd == CONTROL_DELETE ?
		    "deleted" : "released";
	case CONTROL_PENDING:
		return cmd == CONTROL_HOLD ? "in delivery: held when the "
		    "attempt ends (recipients it delivers stay delivered)" :
		    "in delivery: deleted when the attempt ends (recipients "
		    "it delivers stay delivered)";
	case CONTROL_NOT_FOUND:
		return "not in the queue (delivered already, or still in "
		    "maildrop: try again in a moment)";
	case CONTROL_NOOP:
		return cmd == CONTROL_HOLD ? "already held (or being "
		    "deleted)" : "not held";
	default:
		return "failed";
	}
}
