/*
 * control: ternd's control socket (see control.h).
 *
 * A connection reads one request line, answers, and closes once its
 * reply is written.  Requests that read the queue (queue, show,
 * delete --all) go to td->fsq_remove as a task; the connection waits
 * for its completion and, when the client went away meanwhile, is freed
 * there instead (a connection is never freed under a task that will
 * complete into it).  Everything that changes the queue is qmgr's
 * (qmgr_hold, qmgr_delete, qmgr_release, qmgr_flush), on the loop.
 */
#include "autoconf.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "control.h"
#include "control_proto.h"
#include "fsq.h"
#include "log.h"
#include "qmgr.h"
#include "queue.h"
#include "queue_json.h"

#define CONTROL_MAX_CONNS 16
#define CONTROL_TIMEOUT 30

struct control_conn;

struct control {
	struct ternd *td;
	int sock;
	gid_t gid;              /* the group that may connect */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct event *accept_ev;
	unsigned nconns;
	struct control_conn *conns;
};

struct control_conn {
	struct control *c;
	struct bufferevent *bev;
	bool busy;              /* a task on the worker will complete here */
	bool gone;              /* the client left while busy */
	bool closing;           /* free once the reply is written */
	struct control_conn *next;
};

/* A request run on the worker. */
struct control_task {
	struct control_conn *conn;
	enum control_cmd cmd;
	char queue_dir[QUEUE_PATH_MAX];
	char id[QUEUE_ID_LEN + 1];
	struct {                /* the messages in delivery, at submission */
		char id[QUEUE_ID_LEN + 1];
		enum qmgr_mark mark;
	} active[QMGR_MAX_JOBS];
	size_t nactive;
	struct evbuffer *out;   /* the body */
	char **ids;             /* delete --all: what the worker found */
	size_t nids, cap;
	struct errbuf eb;
	int rc;
};

static void control_conn_free(struct control_conn *cc);

/* ---------------------------------------------------------------- replies */

static void
control_reply_line(struct control_conn *cc, json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s != NULL) {
		bufferevent_write(cc->bev, s, strlen(s));
		bufferevent_write(cc->bev, "\n", 1);
	}
	free(s);
	json_decref(o);
}

/* Write the status line; the connection closes after the body. */
static void
control_status(struct control_conn *cc, const char *error)
{
	struct evbuffer *out = bufferevent_get_output(cc->bev);

	if (error == NULL)
		evbuffer_add_printf(out, "ok\n");
	else
		evbuffer_add_printf(out, "error %s\n", error);
	cc->closing = true;
	bufferevent_disable(cc->bev, EV_READ);
	bufferevent_enable(cc->bev, EV_WRITE);
}

/* hold, delete or release each ID: one result line per ID. */
static void
control_edit(struct control_conn *cc, const struct control_req *req)
{
	struct qmgr *q = cc->c->td->qmgr;
	enum control_result r;
	struct errbuf eb;
	json_t *o;
	size_t i;

	for (i = 0; i < req->nids; i++) {
		errbuf_clear(&eb);
		r = (enum control_result)(req->cmd == CONTROL_HOLD ?
		    qmgr_hold(q, req->ids[i], &eb) : req->cmd ==
		    CONTROL_DELETE ? qmgr_delete(q, req->ids[i], &eb) :
		    qmgr_release(q, req->ids[i], &eb));
		o = json_pack("{s:s, s:s, s:s}", "id", req->ids[i], "result",
		    control_result_name(req->cmd, r), "text", r ==
		    CONTROL_ERROR ? eb.msg : control_result_text(req->cmd, r));
		control_reply_line(cc, o);
	}
}

static void
control_stats(struct control_conn *cc)
{
	const struct qmgr_stats *st = qmgr_stats(cc->c->td->qmgr);
	json_t *o, *relays = json_array();
	size_t i;

	for (i = 0; relays != NULL && i < st->nrelays; i++)
		json_array_append_new(relays, json_pack("{s:s, s:I, s:I, "
		    "s:I}", "name", st->relays[i].name, "sent",
		    (json_int_t)st->relays[i].c.sent, "deferred",
		    (json_int_t)st->relays[i].c.deferred, "bounced",
		    (json_int_t)st->relays[i].c.bounced));
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "since", (json_int_t)st->since, "pid", (json_int_t)getpid(),
	    "received", (json_int_t)st->received,
	    "sent", (json_int_t)st->total.sent,
	    "deferred", (json_int_t)st->total.deferred,
	    "bounced", (json_int_t)st->total.bounced,
	    "active", (json_int_t)st->active,
	    "scheduled", (json_int_t)st->scheduled, "relays", relays);
	control_status(cc, NULL);
	control_reply_line(cc, o);
}

/* ---------------------------------------------------------------- worker */

static void
control_task_free(struct control_task *t)
{
	size_t i;

	for (i = 0; i < t->nids; i++)
		free(t->ids[i]);
	free(t->ids);
	if (t->out != NULL)
		evbuffer_free(t->out);
	free(t);
}

/* An entry's state as the daemon sees it: "active" while in delivery,
 * with what is pending on it. */
static void
control_task_mark(const struct control_task *t, json_t *o)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	size_t i;

	for (i = 0; id != NULL && i < t->nactive; i++) {
		if (strcmp(t->active[i].id, id) != 0)
			continue;
		json_object_set_new(o, "state", json_string("active"));
		if (t->active[i].mark != QMGR_MARK_NONE)
			json_object_set_new(o, "pending", json_string(
			    t->active[i].mark == QMGR_MARK_HOLD ? "hold" :
			    "delete"));
	}
}

static int
control_task_line(struct control_task *t, json_t *o)
{
	char *s;

	if (o == NULL)
		return -1;
	control_task_mark(t, o);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		return -1;
	evbuffer_add_printf(t->out, "%s\n", s);
	free(s);
	return 0;
}

static int
control_walk_one(const struct queue_entry *e, void *arg)
{
	return control_task_line(arg, queue_json_entry(e));
}

static int
control_list_one(const char *id, void *arg)
{
	struct control_task *t = arg;
	char **v;

	if (t->nids == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		if ((v = realloc(t->ids, t->cap * sizeof(*v))) == NULL)
			return -1;
		t->ids = v;
	}
	if ((t->ids[t->nids] = strdup(id)) == NULL)
		return -1;
	t->nids++;
	return 0;
}

static void
control_task_work(void *arg)
{
	static const enum queue_name all[] = { QUEUE_INCOMING, QUEUE_ACTIVE,
	    QUEUE_DEFERRED, QUEUE_HOLD };
	struct control_task *t = arg;
	size_t i;

	if (t->cmd == CONTROL_QUEUE) {
		t->rc = queue_walk(t->queue_dir, control_walk_one, NULL, t,
		    &t->eb);
	} else if (t->cmd == CONTROL_SHOW) {
		json_t *o = queue_json_show(t->queue_dir, t->id, &t->eb);

		t->rc = o == NULL ? -1 : control_task_line(t, o);
	} else {
		for (i = 0; i < 4 && t->rc == 0; i++)
			t->rc = queue_list(t->queue_dir, all[i],
			    control_list_one, t, &t->eb);
	}
	if (t->rc != 0 && t->eb.msg[0] == '\0')
		errbuf_set(&t->eb, "out of memory");
}

static void
control_task_done(void *arg)
{
	struct control_task *t = arg;
	struct control_conn *cc = t->conn;
	struct control_req req;
	size_t i;

	cc->busy = false;
	if (cc->gone) {
		control_conn_free(cc);
		control_task_free(t);
		return;
	}
	if (t->rc != 0) {
		control_status(cc, t->eb.msg);
	} else if (t->cmd == CONTROL_DELETE) {
		/* Every ID found, each deleted as tern delete ID would. */
		control_status(cc, NULL);
		memset(&req, 0, sizeof(req));
		req.cmd = CONTROL_DELETE;
		for (i = 0; i < t->nids; i += req.nids) {
			for (req.nids = 0; req.nids < CONTROL_MAX_IDS &&
			    i + req.nids < t->nids; req.nids++)
				req.ids[req.nids] = t->ids[i + req.nids];
			control_edit(cc, &req);
		}
	} else {
		control_status(cc, NULL);
		bufferevent_write_buffer(cc->bev, t->out);
	}
	control_task_free(t);
}

static void
control_active_one(const char *id, enum qmgr_mark mark, void *arg)
{
	struct control_task *t = arg;

	if (t->nactive == QMGR_MAX_JOBS)
		return;
	snprintf(t->active[t->nactive].id, QUEUE_ID_LEN + 1, "%s", id);
	t->active[t->nactive++].mark = mark;
}

static void
control_submit(struct control_conn *cc, const struct control_req *req)
{
	struct ternd *td = cc->c->td;
	struct control_task *t;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->out = evbuffer_new()) == NULL) {
		free(t);
		control_status(cc, "out of memory");
		return;
	}
	t->conn = cc;
	t->cmd = req->cmd;
	snprintf(t->queue_dir, sizeof(t->queue_dir), "%s",
	    td->cfg->queue_dir);
	if (req->nids > 0)
		snprintf(t->id, sizeof(t->id), "%s", req->ids[0]);
	qmgr_active_each(td->qmgr, control_active_one, t);
	errbuf_clear(&t->eb);
	cc->busy = true;
	if (fsq_submit(td->fsq_remove, control_task_work, control_task_done,
	    t) < 0) {
		cc->busy = false;
		control_task_free(t);
		control_status(cc, "out of memory");
	}
}

/* ---------------------------------------------------------------- requests */

static void
control_dispatch(struct control_conn *cc, char *line)
{
	struct control_req req;
	struct errbuf eb;
	json_t *o;

	errbuf_clear(&eb);
	if (control_proto_parse(line, &req, &eb) < 0) {
		control_status(cc, eb.msg);
		return;
	}
	switch (req.cmd) {
	case CONTROL_QUEUE:
	case CONTROL_SHOW:
		control_submit(cc, &req);
		break;
	case CONTROL_DELETE:
		if (req.all) {
			log_msg(LOG_INFO, "tern delete --all: deleting every "
			    "queued message");
			control_submit(cc, &req);
			break;
		}
		/* FALLTHROUGH */
	case CONTROL_HOLD:
	case CONTROL_RELEASE:
		control_status(cc, NULL);
		control_edit(cc, &req);
		break;
	case CONTROL_FLUSH:
		o = json_pack("{s:I}", "scheduled",
		    (json_int_t)qmgr_flush(cc->c->td->qmgr));
		control_status(cc, NULL);
		control_reply_line(cc, o);
		break;
	case CONTROL_STATS:
		control_stats(cc);
		break;
	}
}

static void
control_on_read(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (cc->busy || cc->closing)
		return;
	if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) >= CONTROL_LINE_MAX)
			control_status(cc, "request too long");
		return;
	}
	if (n >= CONTROL_LINE_MAX)
		control_status(cc, "request too long");
	else
		control_dispatch(cc, line);
	free(line);
}

static void
control_on_write(struct bufferevent *bev, void *arg)
{
	struct control_conn *cc = arg;

	if (cc->closing && !cc->busy &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_conn_free(cc);
}

static void
control_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn *cc = arg;

	(void)bev;
	(void)what;
	/* EOF, error or timeout: a task on the worker frees it later. */
	if (cc->busy) {
		cc->gone = true;
		bufferevent_disable(cc->bev, EV_READ | EV_WRITE);
		return;
	}
	control_conn_free(cc);
}

/* ------------------------------------------------------------- connections */

static void
control_conn_free(struct control_conn *cc)
{
	struct control_conn **p;

	for (p = &cc->c->conns; *p != NULL; p = &(*p)->next)
		if (*p == cc) {
			*p = cc->next;
			break;
		}
	cc->c->nconns--;
	bufferevent_free(cc->bev);
	free(cc);
}

/* Root, ternd's own user, or a member of the socket's group. */
static bool
control_peer_ok(const struct control *c, int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);
	gid_t groups[256];
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid() || cr->gid == c->gid)
		return true;
#ifdef SO_PEERGROUPS
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		for (i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == c->gid)
				return true;
#else
	(void)groups;
	(void)i;
#endif
	return false;
}

static void
control_on_accept(evutil_socket_t sock, short what, void *arg)
{
	struct timeval tv = { CONTROL_TIMEOUT, 0 };
	struct control *c = arg;
	struct control_conn *cc;
	struct ucred cr;
	int fd;

	(void)what;
	if ((fd = accept4(sock, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return;
	if (!control_peer_ok(c, fd, &cr)) {
		log_msg(LOG_WARNING, "control: refused uid %lu (pid %ld): not "
		    "root, nor in group %lu", (unsigned long)cr.uid,
		    (long)cr.pid, (unsigned long)c->gid);
		(void)!write(fd, "error permission denied\n", 24);
		close(fd);
		return;
	}
	if (c->nconns >= CONTROL_MAX_CONNS || (cc = calloc(1, sizeof(*cc))) ==
	    NULL) {
		(void)!write(fd, "error busy; try again\n", 22);
		close(fd);
		return;
	}
	cc->c = c;
	if ((cc->bev = bufferevent_socket_new(c->td->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(cc);
		return;
	}
	cc->next = c->conns;
	c->conns = cc;
	c->nconns++;
	bufferevent_setcb(cc->bev, control_on_read, control_on_write,
	    control_on_event, cc);
	bufferevent_set_timeouts(cc->bev, &tv, &tv);
	bufferevent_setwatermark(cc->bev, EV_READ, 0, CONTROL_LINE_MAX);
	bufferevent_enable(cc->bev, EV_READ);
}

/* ---------------------------------------------------------------- life */

static int
control_bind(struct control *c, struct errbuf *eb)
{
	const char *qd = c->td->cfg->queue_dir;
	struct sockaddr_un sun;
	char dir[QUEUE_PATH_MAX];
	struct stat st;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", qd,
	    CONTROL_SOCKET) >= sizeof(sun.sun_path))
		return errbuf_set(eb, "queue_dir %s is too long for a socket "
		    "path", qd);
	snprintf(dir, sizeof(dir), "%s/%s", qd, CONTROL_DIR);
	if (stat(dir, &st) < 0)
		return errbuf_errno(eb, errno, "%s", dir);
	c->gid = st.st_gid;
	if ((c->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) < 0)
		return errbuf_errno(eb, errno, "socket");
	unlink(sun.sun_path); /* left by an earlier ternd: we hold the lock */
	if (bind(c->sock, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return errbuf_errno(eb, errno, "bind %s", sun.sun_path);
	snprintf(c->path, sizeof(c->path), "%s", sun.sun_path);
	if (st.st_gid != getegid() && chown(sun.sun_path, (uid_t)-1,
	    st.st_gid) < 0)
		return errbuf_errno(eb, errno, "give %s to group %lu",
		    sun.sun_path, (unsigned long)st.st_gid);
	if (chmod(sun.sun_path, 0660) < 0)
		return errbuf_errno(eb, errno, "chmod %s", sun.sun_path);
	if (listen(c->sock, CONTROL_MAX_CONNS) < 0)
		return errbuf_errno(eb, errno, "listen %s", sun.sun_path);
	return 0;
}

struct control *
control_new(struct ternd *td, struct errbuf *eb)
{
	struct control *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	c->td = td;
	c->sock = -1;
	if (control_bind(c, eb) < 0 || (c->accept_ev = event_new(td->base,
	    c->sock, EV_READ | EV_PERSIST, control_on_accept, c)) == NULL ||
	    event_add(c->accept_ev, NULL) < 0) {
		if (eb->msg[0] == '\0')
			errbuf_set(eb, "cannot set up the control socket");
		control_free(c);
		return NULL;
	}
	return c;
}

void
control_free(struct control *c)
{
	struct control_conn *cc;

	if (c == NULL)
		return;
	/* Tasks on the worker complete into their connections: let them,
	 * now, then free the rest. */
	for (cc = c->conns; cc != NULL; cc = cc->next)
		if (cc->busy) {
			fsq_flush(c->td->fsq_remove);
			break;
		}
	while (c->conns != NULL)
		control_conn_free(c->conns);
	if (c->accept_ev != NULL)
		event_free(c->accept_ev);
	if (c->sock >= 0)
		close(c->sock);
	if (c->path[0] != '\0')
		unlink(c->path);
	free(c);
}
