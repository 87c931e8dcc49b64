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
/* Maildrop bytes one batch holds in memory at most (its first file is
 * read whatever its size). */
#define PICKUP_BATCH_BYTES (64 * 1024 * 1024)

/* What became of one maildrop entry. */
enum pickup_fate {
	PICKUP_READ,    /* read and decoded: for cleanup */
	PICKUP_CLEAN,   /* through cleanup: for the queue */
	PICKUP_STORED,  /* written to the queue, durable after the sync */
	PICKUP_RETRY,   /* a temporary failure: left in maildrop */
	PICKUP_GONE,    /* removed meanwhile */
	PICKUP_CORRUPT, /* malformed: to corrupt/ */
	PICKUP_STALE,   /* an interrupted submission's tmp. file, removed */
};

struct pickup_file {
	char name[256];
	enum pickup_fate fate;
	char why[ERRBUF_SIZE];  /* RETRY, CORRUPT */
	int move_errno;         /* CORRUPT: 0 when moved to corrupt/ */
	uid_t owner;
	char *file;             /* READ: the maildrop file */
	struct envelope env;    /* READ: its envelope */
	const char *msg;        /* READ: the message, inside file */
	size_t msg_len;
	struct envelope out;    /* CLEAN, STORED: what cleanup made */
	struct buf data;
};

/*
 * One batch on its way from maildrop to the queue.  Its file work runs
 * on a worker (td->fsq): reading and checking the files, then writing
 * the queue entries, one syncfs and the removal of the maildrop files.
 * Between the two, on the loop, cleanup rewrites each message with the
 * live config and aliases, which no worker may touch.  Everything the
 * workers need is copied into the batch; they do not log: the loop
 * says what happened once the batch is back.  With sync (start-up),
 * every step runs here and now.
 */
struct pickup_batch {
	struct pickup *p;
	char queue_dir[QUEUE_PATH_MAX];
	size_t max_file;        /* the largest maildrop file accepted */
	bool sync;
	bool full;              /* the scan stopped at a limit: more wait */
	struct pickup_file v[PICKUP_BATCH];
	size_t n;
	size_t nstored;
	int sync_rc;
	struct errbuf sync_eb;
};

struct pickup {
	struct ternd *td;
	pickup_queued_fn queued;
	void *arg;
	int sock;
	struct event *sock_ev;
	struct event *scan_ev;  /* periodic backstop */
	struct event *more_ev;  /* the next batch, after the loop's turn */
	bool busy;              /* the batch is out: no scan may start, or
				   it would take the batch's files again */
	bool rescan;            /* a scan was asked for meanwhile */
	bool full;              /* the last batch stopped at a limit */
	bool dying;             /* pickup_free: no new step */
	struct pickup_batch batch; /* one at a time (busy) */
};

/* ---------------------------------------------------------------- worker */

/* Read and check a maildrop file into f (READ), or say why not. */
static void
pickup_read(struct pickup_batch *b, int dirfd, struct pickup_file *f)
{
	struct errbuf eb;
	struct stat st;
	size_t len, off;
	uint64_t dlen;
	int fd, rc;

	errbuf_clear(&eb);
	fd = openat(dirfd, f->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0) {
		f->fate = errno == ENOENT ? PICKUP_GONE : PICKUP_CORRUPT;
		snprintf(f->why, sizeof(f->why), "open: %s", strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		f->fate = PICKUP_CORRUPT;
		snprintf(f->why, sizeof(f->why), "not a regular file with one "
		    "link");
		return;
	}
	f->owner = st.st_uid;
	f->file = fileio_read_fd(fd, f->name, b->max_file, &len, &eb);
	close(fd);
	rc = f->file == NULL ? -1 : envelope_decode(f->file, len, &f->env,
	    &off, &dlen, &eb);
	if (rc == 1)
		rc = errbuf_set(&eb, "incomplete envelope");
	if (rc == 0 && (dlen == 0 || off + dlen + ENVELOPE_TRAILER_LEN !=
	    len || memcmp(f->file + off + dlen, ENVELOPE_TRAILER,
	    ENVELOPE_TRAILER_LEN) != 0))
		rc = errbuf_set(&eb, "message data incomplete or without its "
		    "end marker");
	if (rc < 0) {
		f->fate = eb.errnum == ENOENT ? PICKUP_GONE : PICKUP_CORRUPT;
		snprintf(f->why, sizeof(f->why), "%s", eb.msg);
		return;
	}
	f->fate = PICKUP_READ;
	f->msg = f->file + off;
	f->msg_len = (size_t)dlen;
}

/* A "tmp." file: a submission in progress, or one killed by SIGKILL;
 * true when it was stale and removed. */
static bool
pickup_tmp(int dirfd, const char *name, time_t now)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now - st.st_mtime > PICKUP_STALE_TMP &&
	    unlinkat(dirfd, name, 0) == 0;
}

/* The first step: up to PICKUP_BATCH entries (and PICKUP_BATCH_BYTES)
 * of maildrop, read and checked. */
static void
pickup_read_work(void *arg)
{
	struct pickup_batch *b = arg;
	char path[QUEUE_PATH_MAX + 16];
	struct pickup_file *f;
	struct dirent *de;
	time_t now = time(NULL);
	size_t bytes = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/maildrop", b->queue_dir);
	if ((d = opendir(path)) == NULL) {
		b->sync_rc = errbuf_errno(&b->sync_eb, errno, "cannot read %s",
		    path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (b->n == PICKUP_BATCH || bytes >= PICKUP_BATCH_BYTES) {
			b->full = true;
			break;
		}
		if (de->d_name[0] == '.' || strlen(de->d_name) >=
		    sizeof(f->name))
			continue;
		f = &b->v[b->n];
		envelope_init(&f->env);
		envelope_init(&f->out);
		buf_init(&f->data, 0);
		snprintf(f->name, sizeof(f->name), "%s", de->d_name);
		if (strncmp(f->name, "tmp.", 4) == 0) {
			if (!pickup_tmp(dirfd(d), f->name, now))
				continue;
			f->fate = PICKUP_STALE;
		} else if (!queue_id_valid(f->name)) {
			f->fate = PICKUP_CORRUPT;
			snprintf(f->why, sizeof(f->why), "the name is not a "
			    "queue ID");
		} else {
			pickup_read(b, dirfd(d), f);
			if (f->fate == PICKUP_READ)
				bytes += f->msg_len;
		}
		b->n++;
	}
	closedir(d);
}

/* Move a malformed file aside (or, failing that, remove it). */
static int
pickup_corrupt_move(const char *qd, const char *name)
{
	char from[QUEUE_PATH_MAX + 300], to[QUEUE_PATH_MAX + 300];
	int e;

	snprintf(from, sizeof(from), "%s/maildrop/%s", qd, name);
	snprintf(to, sizeof(to), "%s/corrupt/%s", qd, name);
	if (rename(from, to) == 0)
		return 0;
	e = errno;
	unlink(from);
	return e;
}

/* The second step: the cleaned messages into the queue, made durable
 * with one syncfs, and only then their maildrop files removed, so a
 * crash at any point leaves each message in maildrop or in the queue
 * (or both, and the start-up pickup redoes it from maildrop). */
static void
pickup_store_work(void *arg)
{
	struct pickup_batch *b = arg;
	char path[QUEUE_PATH_MAX + 64];
	struct pickup_file *f;
	struct errbuf eb;
	size_t i;

	for (i = 0; i < b->n; i++) {
		f = &b->v[i];
		if (f->fate == PICKUP_CORRUPT) {
			f->move_errno = pickup_corrupt_move(b->queue_dir,
			    f->name);
			continue;
		}
		if (f->fate != PICKUP_CLEAN)
			continue;
		errbuf_clear(&eb);
		if (queue_entry_store(b->queue_dir, f->name, &f->out,
		    f->data.data, f->data.len, &eb) < 0) {
			f->fate = PICKUP_RETRY;
			snprintf(f->why, sizeof(f->why), "%s", eb.msg);
			continue;
		}
		f->fate = PICKUP_STORED;
		b->nstored++;
	}
	if (b->nstored == 0 ||
	    (b->sync_rc = queue_sync(b->queue_dir, &b->sync_eb)) < 0)
		return;
	for (i = 0; i < b->n; i++) {
		if (b->v[i].fate != PICKUP_STORED)
			continue;
		snprintf(path, sizeof(path), "%s/maildrop/%s", b->queue_dir,
		    b->v[i].name);
		unlink(path);
	}
}

/* ---------------------------------------------------------------- loop */

static void
pickup_cleanup_warn(const char *id, const char *msg, void *arg)
{
	(void)arg;
	log_msg(LOG_WARNING, "%s: %s", id, msg);
}

/* Run cleanup on a file that was read: CLEAN, or CORRUPT. */
static void
pickup_clean(struct pickup *p, struct pickup_file *f)
{
	struct cleanup_input in;
	struct errbuf eb;

	memset(&in, 0, sizeof(in));
	in.cfg = p->td->cfg;
	in.aliases = p->td->aliases;
	in.id = f->name;
	in.uid = (long)f->owner;
	in.now = (int64_t)time(NULL);
	in.env = &f->env;
	in.msg = f->msg;
	in.msg_len = f->msg_len;
	errbuf_clear(&eb);
	if (cleanup_message(&in, &f->out, &f->data, pickup_cleanup_warn,
	    NULL, &eb) < 0) {
		f->fate = PICKUP_CORRUPT;
		snprintf(f->why, sizeof(f->why), "%s", eb.msg);
	} else {
		f->fate = PICKUP_CLEAN;
	}
	/* The maildrop copy is not needed any more: hold only the
	 * cleaned message while the batch is written. */
	free(f->file);
	f->file = NULL;
	envelope_fini(&f->env);
	envelope_init(&f->env);
}

static void pickup_store_done(void *arg);
static void pickup_batch_reset(struct pickup_batch *b);

/* Hand work to the worker, or do it now (start-up, or the worker
 * cannot take it). */
static void
pickup_step(struct pickup_batch *b, fsq_work_fn work, fsq_done_fn done)
{
	struct fsq *fsq = b->p->td->fsq;

	if (!b->sync && fsq != NULL && fsq_submit(fsq, work, done, b) == 0)
		return;
	work(b);
	done(b);
}

static void
pickup_read_done(void *arg)
{
	struct pickup_batch *b = arg;
	size_t i;

	if (b->p->dying) {
		pickup_batch_reset(b);
		b->p->busy = false;
		return;
	}
	for (i = 0; i < b->n; i++)
		if (b->v[i].fate == PICKUP_READ)
			pickup_clean(b->p, &b->v[i]);
	pickup_step(b, pickup_store_work, pickup_store_done);
}

/* Say what became of each file. */
static void
pickup_report(const struct pickup_batch *b, const struct pickup_file *f)
{
	switch (f->fate) {
	case PICKUP_STALE:
		log_msg(LOG_WARNING, "removed stale maildrop file %s (a "
		    "submission interrupted more than a day ago)", f->name);
		break;
	case PICKUP_CORRUPT:
		if (f->move_errno == 0)
			log_msg(LOG_WARNING, "%s: malformed maildrop file moved "
			    "to corrupt/: %s", f->name, f->why);
		else
			log_msg(LOG_WARNING, "%s: malformed maildrop file (%s); "
			    "cannot move it to corrupt/: %s; removing it",
			    f->name, f->why, strerror(f->move_errno));
		break;
	case PICKUP_RETRY:
		log_msg(LOG_ERR, "%s: cannot queue: %s; will retry", f->name,
		    f->why);
		break;
	case PICKUP_STORED:
		if (b->sync_rc == 0)
			log_msg(LOG_INFO, "%s: uid=%ld from=<%s>", f->name,
			    (long)f->owner, f->out.sender);
		break;
	default:
		break;
	}
}

static void
pickup_batch_reset(struct pickup_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free(b->v[i].file);
		envelope_fini(&b->v[i].env);
		envelope_fini(&b->v[i].out);
		buf_fini(&b->v[i].data);
	}
	memset(b->v, 0, b->n * sizeof(b->v[0]));
	b->n = b->nstored = 0;
	b->full = false;
	b->sync_rc = 0;
	errbuf_clear(&b->sync_eb);
}

static void
pickup_store_done(void *arg)
{
	struct pickup_batch *b = arg;
	struct pickup *p = b->p;
	size_t i;

	for (i = 0; i < b->n; i++)
		pickup_report(b, &b->v[i]);
	if (b->sync_rc < 0)
		log_msg(LOG_ERR, "%s%s; will retry", b->nstored > 0 ?
		    "cannot commit picked-up messages: " : "", b->sync_eb.msg);
	else
		for (i = 0; i < b->n; i++)
			if (b->v[i].fate == PICKUP_STORED)
				p->queued(b->v[i].name, p->arg);
	p->full = b->full;
	pickup_batch_reset(b);
	p->busy = false;
	/* On the loop's next turn: a batch done here and now must not
	 * start the next scan from inside the last one. */
	if (!b->sync && (p->full || p->rescan) && !p->td->stopping &&
	    !p->dying) {
		p->rescan = false;
		event_active(p->more_ev, EV_TIMEOUT, 0);
	}
}

/* One batch from maildrop; sync: all of it here and now (start-up). */
static void
pickup_scan_batch(struct pickup *p, bool sync)
{
	struct pickup_batch *b = &p->batch;

	if (p->busy) {
		p->rescan = true;
		return;
	}
	p->busy = true;
	b->p = p;
	b->sync = sync;
	snprintf(b->queue_dir, sizeof(b->queue_dir), "%s",
	    p->td->cfg->queue_dir);
	b->max_file = (size_t)p->td->cfg->max_message_size +
	    PICKUP_ENVELOPE_SLACK;
	pickup_step(b, pickup_read_work, pickup_read_done);
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
	/* A batch on the worker completes into p: let it, now.  One that
	 * was only read stops there (its files stay in maildrop for the
	 * next start); one being stored is committed and reported. */
	p->dying = true;
	if (p->busy && p->td->fsq != NULL)
		fsq_flush(p->td->fsq);
	pickup_batch_reset(&p->batch);
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
