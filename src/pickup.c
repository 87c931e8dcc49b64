/*
 * pickup: maildrop to queue (see pickup.h).
 *
 * Also owns the trigger socket, whose commands reach the rest of the
 * daemon: W (new mail) wakes pickup, F (flush) and A (aliases) go to
 * the callbacks in struct ternd's modules.
 */
#include "autoconf.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cleanup.h"
#include "envelope.h"
#include "fileio.h"
#include "fsq.h"
#include "log.h"
#include "pickup.h"
#include "qmgr.h"
#include "queue.h"
#include "trigger.h"

/* Room for the envelope of a maildrop file beyond the message. */
#define PICKUP_ENVELOPE_SLACK (16 * 1024 * 1024)

/* A batch being committed: its queue files synced, then its maildrop
 * files removed (on a worker, which owns the task meanwhile). */
struct pickup_commit_task {
	struct pickup *p;
	char queue_dir[QUEUE_PATH_MAX];
	char ids[PICKUP_BATCH][QUEUE_ID_LEN + 1];
	size_t n;
	int rc;
	struct errbuf eb;
};

struct pickup {
	struct ternd *td;
	pickup_queued_fn queued;
	void *arg;
	int sock;
	struct event *sock_ev;
	struct event *scan_ev;  /* periodic backstop */
	struct event *more_ev;  /* the next batch, after the loop's turn */
	bool full;              /* the last scan stopped at PICKUP_BATCH */
	bool committing;        /* a batch is being synced by td->fsq */
	bool rescan;            /* a scan was asked for meanwhile */
	char batch[PICKUP_BATCH][QUEUE_ID_LEN + 1];
	size_t nbatch;
	struct pickup_commit_task commit; /* one at a time (committing) */
};

/* ---------------------------------------------------------------- corrupt */

static void
pickup_corrupt(struct pickup *p, const char *name, const char *why)
{
	const char *qd = p->td->cfg->queue_dir;
	char from[QUEUE_PATH_MAX], to[QUEUE_PATH_MAX];

	snprintf(from, sizeof(from), "%s/maildrop/%s", qd, name);
	snprintf(to, sizeof(to), "%s/corrupt/%s", qd, name);
	if (rename(from, to) < 0) {
		log_msg(LOG_WARNING, "%s: malformed maildrop file (%s); "
		    "cannot move it to corrupt/: %s; removing it", name, why,
		    strerror(errno));
		unlink(from);
		return;
	}
	log_msg(LOG_WARNING, "%s: malformed maildrop file moved to corrupt/: "
	    "%s", name, why);
}

/* ---------------------------------------------------------------- one file */

/* Read and check a maildrop file; on success *msg points into *file. */
static int
pickup_read(struct pickup *p, int dirfd, const char *name,
    struct envelope *env, char **file, const char **msg, size_t *msg_len,
    uid_t *owner, struct errbuf *eb)
{
	struct stat st;
	size_t len, off;
	uint64_t dlen;
	int fd, rc;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0)
		return errbuf_errno(eb, errno, "open");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return errbuf_set(eb, "not a regular file with one link");
	}
	*owner = st.st_uid;
	*file = fileio_read_fd(fd, name, (size_t)p->td->cfg->max_message_size +
	    PICKUP_ENVELOPE_SLACK, &len, eb);
	close(fd);
	if (*file == NULL)
		return -1;
	rc = envelope_decode(*file, len, env, &off, &dlen, eb);
	if (rc == 1)
		rc = errbuf_set(eb, "incomplete envelope");
	if (rc == 0 && (dlen == 0 || off + dlen + ENVELOPE_TRAILER_LEN != len ||
	    memcmp(*file + off + dlen, ENVELOPE_TRAILER,
	    ENVELOPE_TRAILER_LEN) != 0))
		rc = errbuf_set(eb, "message data incomplete or without its "
		    "end marker");
	*msg = *file + off;
	*msg_len = (size_t)dlen;
	return rc;
}

static void
pickup_cleanup_warn(const char *id, const char *msg, void *arg)
{
	(void)arg;
	log_msg(LOG_WARNING, "%s: %s", id, msg);
}

/* Returns 0 when the file joined the batch, -1 on a temporary error
 * (left in maildrop for the next scan), 1 when it was corrupt. */
static int
pickup_one(struct pickup *p, int dirfd, const char *name)
{
	struct cleanup_input in;
	struct envelope env, out;
	struct errbuf eb;
	struct buf data;
	const char *msg = NULL;
	char *file = NULL;
	size_t msg_len = 0;
	uid_t owner = (uid_t)-1;
	int rc;

	envelope_init(&env);
	envelope_init(&out);
	buf_init(&data, 0);
	errbuf_clear(&eb);
	rc = pickup_read(p, dirfd, name, &env, &file, &msg, &msg_len, &owner,
	    &eb);
	if (rc < 0 && eb.errnum == ENOENT)
		rc = -2; /* gone meanwhile */
	else if (rc < 0) {
		pickup_corrupt(p, name, eb.msg);
		rc = 1;
	} else {
		memset(&in, 0, sizeof(in));
		in.cfg = p->td->cfg;
		in.aliases = p->td->aliases;
		in.id = name;
		in.uid = (long)owner;
		in.now = (int64_t)time(NULL);
		in.env = &env;
		in.msg = msg;
		in.msg_len = msg_len;
		rc = cleanup_message(&in, &out, &data, pickup_cleanup_warn,
		    NULL, &eb);
		if (rc < 0) {
			pickup_corrupt(p, name, eb.msg);
			rc = 1;
		} else if (queue_entry_store(p->td->cfg->queue_dir, name, &out,
		    data.data, data.len, &eb) < 0) {
			log_msg(LOG_ERR, "%s: cannot queue: %s; will retry",
			    name, eb.msg);
			rc = -1;
		} else {
			log_msg(LOG_INFO, "%s: uid=%ld from=<%s>", name,
			    (long)owner, out.sender);
		}
	}
	free(file);
	buf_fini(&data);
	envelope_fini(&env);
	envelope_fini(&out);
	return rc;
}

/* ---------------------------------------------------------------- batches */

static void
pickup_commit_work(void *arg)
{
	struct pickup_commit_task *t = arg;
	char path[QUEUE_PATH_MAX + 64];
	size_t i;

	if ((t->rc = queue_sync(t->queue_dir, &t->eb)) < 0)
		return;
	for (i = 0; i < t->n; i++) {
		snprintf(path, sizeof(path), "%s/maildrop/%s", t->queue_dir,
		    t->ids[i]);
		unlink(path);
	}
}

static void
pickup_commit_done(void *arg)
{
	struct pickup_commit_task *t = arg;
	struct pickup *p = t->p;
	size_t i;

	p->committing = false;
	if (t->rc < 0)
		log_msg(LOG_ERR, "cannot commit %zu picked-up messages: %s; "
		    "will retry", t->n, t->eb.msg);
	else
		for (i = 0; i < t->n; i++)
			p->queued(t->ids[i], p->arg);
	/* On the loop's next turn: a commit done here and now must not
	 * start the next scan from inside the last one. */
	if (p->rescan && !p->td->stopping) {
		p->rescan = false;
		event_active(p->more_ev, EV_TIMEOUT, 0);
	}
}

/*
 * Make the batch durable, then let go of its maildrop files and hand
 * its messages to the queue manager.  The sync and the unlinks run on
 * a worker (td->fsq): syncfs can take seconds while other programs
 * write to the same filesystem, and the loop has sessions to serve.
 * With sync (at start-up, before the queue manager reads the queue), or
 * when the worker cannot take it, here and now.  Until a commit is done
 * no scan runs, or it would pick the batch's maildrop files again.
 */
static void
pickup_commit(struct pickup *p, bool sync)
{
	struct pickup_commit_task *t = &p->commit;

	if (p->nbatch == 0)
		return;
	t->p = p;
	snprintf(t->queue_dir, sizeof(t->queue_dir), "%s",
	    p->td->cfg->queue_dir);
	memcpy(t->ids, p->batch, p->nbatch * sizeof(p->batch[0]));
	t->n = p->nbatch;
	p->nbatch = 0;
	errbuf_clear(&t->eb);
	p->committing = true;
	if (!sync && p->td->fsq != NULL && fsq_submit(p->td->fsq,
	    pickup_commit_work, pickup_commit_done, t) == 0)
		return;
	pickup_commit_work(t);
	pickup_commit_done(t);
}

/* A "tmp." file: a submission in progress, or one killed by SIGKILL. */
static void
pickup_tmp(int dirfd, const char *name, time_t now)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now - st.st_mtime > PICKUP_STALE_TMP) {
		unlinkat(dirfd, name, 0);
		log_msg(LOG_WARNING, "removed stale maildrop file %s (a "
		    "submission interrupted more than a day ago)", name);
	}
}

static void
pickup_entry(struct pickup *p, int dirfd, const char *name, time_t now)
{
	if (name[0] == '.')
		return;
	if (strncmp(name, "tmp.", 4) == 0) {
		pickup_tmp(dirfd, name, now);
		return;
	}
	if (!queue_id_valid(name)) {
		pickup_corrupt(p, name, "the name is not a queue ID");
		return;
	}
	if (pickup_one(p, dirfd, name) == 0)
		memcpy(p->batch[p->nbatch++], name, QUEUE_ID_LEN + 1);
}

/* One batch from maildrop; sync: commit it here and now (start-up). */
static void
pickup_scan_batch(struct pickup *p, bool sync)
{
	char path[QUEUE_PATH_MAX];
	struct dirent *de;
	time_t now = time(NULL);
	DIR *d;

	if (p->committing) {
		p->rescan = true;
		return;
	}
	snprintf(path, sizeof(path), "%s/maildrop", p->td->cfg->queue_dir);
	if ((d = opendir(path)) == NULL) {
		log_msg(LOG_ERR, "cannot read %s: %s", path, strerror(errno));
		return;
	}
	/* One batch per turn of the event loop, so deliveries and
	 * triggers are served while a big maildrop drains. */
	while (!p->td->stopping && p->nbatch < PICKUP_BATCH &&
	    (de = readdir(d)) != NULL)
		pickup_entry(p, dirfd(d), de->d_name, now);
	if (p->nbatch == PICKUP_BATCH) {
		p->full = true;
		/* The next batch after this one is committed. */
		if (sync)
			event_active(p->more_ev, EV_TIMEOUT, 0);
		else
			p->rescan = true;
	}
	pickup_commit(p, sync);
	closedir(d);
}

static void
pickup_scan(struct pickup *p)
{
	pickup_scan_batch(p, false);
}

static void
pickup_on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pickup_scan(arg);
}

void
pickup_run(struct pickup *p)
{
	unsigned rounds;

	/* At start-up everything in maildrop is committed before the queue
	 * manager reads the queue: a file found in both (a crash between
	 * commit and removal) is then redone from maildrop, never twice. */
	for (rounds = 0; rounds < 100000 && !p->td->stopping; rounds++) {
		p->full = false;
		pickup_scan_batch(p, true);
		if (!p->full)
			break;
	}
	event_del(p->more_ev);
}

/* ---------------------------------------------------------------- trigger */

static void
pickup_on_trigger(evutil_socket_t fd, short what, void *arg)
{
	struct pickup *p = arg;
	char cmd[64];
	ssize_t n;
	int i, wake = 0;

	(void)what;
	/* Drain every pending datagram: many wake-ups make one scan. */
	for (i = 0; i < 1000 && (n = recv(fd, cmd, sizeof(cmd), 0)) > 0;
	    i++) {
		if (cmd[0] == TRIGGER_WAKEUP)
			wake = 1;
		else if (cmd[0] == TRIGGER_FLUSH)
			qmgr_flush(p->td->qmgr);
		else if (cmd[0] == TRIGGER_ALIASES)
			qmgr_reload_aliases(p->td);
	}
	if (wake)
		pickup_scan(p);
}

static int
pickup_bind(struct pickup *p, struct errbuf *eb)
{
	char dir[QUEUE_PATH_MAX];
	struct sockaddr_un sun;
	struct stat st;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    p->td->cfg->queue_dir, TRIGGER_SOCKET) >= sizeof(sun.sun_path))
		return errbuf_set(eb, "queue_dir %s is too long for a socket "
		    "path", p->td->cfg->queue_dir);
	p->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (p->sock < 0)
		return errbuf_errno(eb, errno, "socket");
	unlink(sun.sun_path); /* a socket left by a previous ternd */
	if (bind(p->sock, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return errbuf_errno(eb, errno, "bind %s", sun.sun_path);
	/* sendmail (group terndrop, the group of public/) may write;
	 * nobody else may. */
	snprintf(dir, sizeof(dir), "%s/public", p->td->cfg->queue_dir);
	if (stat(dir, &st) == 0 && st.st_gid != getegid() &&
	    chown(sun.sun_path, (uid_t)-1, st.st_gid) < 0)
		log_msg(LOG_WARNING, "cannot give %s to group %lu: %s",
		    sun.sun_path, (unsigned long)st.st_gid, strerror(errno));
	if (chmod(sun.sun_path, 0620) < 0)
		return errbuf_errno(eb, errno, "chmod %s", sun.sun_path);
	return 0;
}

struct pickup *
pickup_new(struct ternd *td, pickup_queued_fn queued, void *arg,
    struct errbuf *eb)
{
	struct timeval every = { PICKUP_SCAN_INTERVAL, 0 };
	struct pickup *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	p->td = td;
	p->queued = queued;
	p->arg = arg;
	p->sock = -1;
	if (pickup_bind(p, eb) < 0) {
		pickup_free(p);
		return NULL;
	}
	p->sock_ev = event_new(td->base, p->sock, EV_READ | EV_PERSIST,
	    pickup_on_trigger, p);
	p->scan_ev = event_new(td->base, -1, EV_PERSIST, pickup_on_timer, p);
	p->more_ev = event_new(td->base, -1, 0, pickup_on_timer, p);
	if (p->sock_ev == NULL || p->scan_ev == NULL || p->more_ev == NULL ||
	    event_add(p->sock_ev, NULL) < 0 ||
	    event_add(p->scan_ev, &every) < 0) {
		errbuf_set(eb, "cannot set up pickup events");
		pickup_free(p);
		return NULL;
	}
	return p;
}

void
pickup_free(struct pickup *p)
{
	if (p == NULL)
		return;
	/* A batch on the worker completes into p: let it, now. */
	if (p->committing && p->td->fsq != NULL)
		fsq_flush(p->td->fsq);
	if (p->sock_ev != NULL)
		event_free(p->sock_ev);
	if (p->scan_ev != NULL)
		event_free(p->scan_ev);
	if (p->more_ev != NULL)
		event_free(p->more_ev);
	if (p->sock >= 0)
		close(p->sock);
	free(p);
}
