/*
 * qmgr: the queue manager (see qmgr.h) — its jobs, their dispatch from
 * sched, the outcomes carried into the envelopes, loading the queue at
 * start, and its life (new, reload, shutdown, free).
 *
 * A message's life here: due in sched -> a job (envelope and header
 * section loaded, data file open) -> a relay picked by relay_state (in
 * priority order, skipping relays cooling down, over quota, or already
 * tried in this round) -> a session of that relay (reused or new) ->
 * results per recipient, classified by route.c: delivered, bounced, or
 * on to the next relay.  When no relay is left the pending recipients
 * are deferred with exponential backoff; when none is pending the
 * message is removed, after any bounce or notice has been queued.
 *
 * The envelope on disk is rewritten after every attempt, before the
 * message is removed or rescheduled, so a crash repeats at most the
 * attempt in flight.  Relay sets are reference-counted: after a reload,
 * sessions finish with the relays (and config) they started with.
 *
 * The rest of the queue manager, sharing qmgr_int.h: relay sets and
 * routing (qmgr_relay.c), relay sessions (qmgr_conn.c), direct delivery
 * (qmgr_direct.c), DKIM signing (qmgr_sign.c), delivery reports
 * (qmgr_notice.c).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounce.h"
#include "direct.h"
#include "fsq.h"
#include "log.h"
#include "maillog.h"
#include "qmgr.h"
#include "qmgr_int.h"
#include "queue.h"
#include "route.h"
#include "sched.h"
#include "smtpc.h"
#include "smtpd.h"

#define QMGR_HEAD_MAX (4 * 1024 * 1024)

static void qmgr_kick(struct qmgr *q);

int64_t
qmgr_now(void)
{
	return (int64_t)time(NULL);
}

double
qmgr_now_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- jobs */

/* Read the header section of the data file into job->head: up to and
 * including the empty line (the whole file when there is none). */
static int
qmgr_job_head(struct qmgr_job *job, struct errbuf *eb)
{
	char chunk[8192];
	const char *end = NULL;
	size_t from;
	off_t off = 0;
	ssize_t n;

	while (end == NULL) {
		n = pread(job->data_fd, chunk, sizeof(chunk), off);
		if (n < 0)
			return errbuf_errno(eb, errno, "read data/%s", job->id);
		if (n == 0)
			break;
		/* Search only the new bytes (and the one before them). */
		from = job->head.len > 0 ? job->head.len - 1 : 0;
		if (buf_append(&job->head, chunk, (size_t)n) < 0)
			return errbuf_set(eb, "header section of %s is larger "
			    "than %d bytes", job->id, QMGR_HEAD_MAX);
		off += n;
		end = memmem(job->head.data + from, job->head.len - from,
		    "\n\n", 2);
	}
	if (end != NULL)
		job->head.len = (size_t)(end - job->head.data) + 2;
	job->head.data[job->head.len] = '\0';
	job->body_off = job->head.len;
	return 0;
}

static struct qmgr_job *
qmgr_job_load(struct qmgr *q, const char *id, struct errbuf *eb)
{
	const char *qd = q->td->cfg->queue_dir;
	struct qmgr_job *job;
	struct stat st;

	if ((job = calloc(1, sizeof(*job))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	job->q = q;
	memcpy(job->id, id, QUEUE_ID_LEN + 1);
	job->data_fd = -1;
	envelope_init(&job->env);
	buf_init(&job->head, QMGR_HEAD_MAX);
	buf_init(&job->send_head, 0);
	job->queue = QUEUE_INCOMING;
	if (queue_env_load(qd, QUEUE_INCOMING, id, &job->env, eb) < 0) {
		job->queue = QUEUE_DEFERRED;
		envelope_fini(&job->env);
		errbuf_clear(eb);
		if (queue_env_load(qd, QUEUE_DEFERRED, id, &job->env, eb) < 0)
			goto fail;
	}
	if ((job->data_fd = queue_data_open(qd, id, eb)) < 0 ||
	    fstat(job->data_fd, &st) < 0)
		goto fail;
	job->data_len = (uint64_t)st.st_size;
	if (job->data_len != job->env.size) {
		errbuf_set(eb, "data/%s is %llu bytes, its envelope says %llu",
		    id, (unsigned long long)job->data_len,
		    (unsigned long long)job->env.size);
		goto fail;
	}
	if (qmgr_job_head(job, eb) < 0)
		goto fail;
	job->t_start = qmgr_now_f();
	q->njobs++;
	LIST_INSERT_HEAD(&q->jobs, job, all_link);
	return job;
fail:
	job->q = NULL;
	qmgr_job_free(job);
	return NULL;
}

void
qmgr_job_free(struct qmgr_job *job)
{
	/* A free slot: let the next due message in. */
	if (job->q != NULL) {
		LIST_REMOVE(job, all_link);
		job->q->njobs--;
		qmgr_kick(job->q);
	}
	if (job->data_fd >= 0)
		close(job->data_fd);
	envelope_fini(&job->env);
	buf_fini(&job->head);
	buf_fini(&job->send_head);
	free(job->rcpts);
	free(job->rcpt_env);
	free(job->sender);
	free(job->parts);
	free(job);
}

size_t
qmgr_pending(const struct envelope *env)
{
	size_t i, n = 0;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == ENVELOPE_RCPT_PENDING ||
		    env->rcpts[i].state == ENVELOPE_RCPT_DEFERRED)
			n++;
	return n;
}

/* ---------------------------------------------------------------- outcomes */

/* A finished message's files, removed by the queue's worker: an
 * unlink can block for milliseconds (a filesystem that discards freed
 * blocks at once), and the loop has sessions to serve meanwhile. */
struct qmgr_removal {
	char *queue_dir;
	enum queue_name queue;
	char id[QUEUE_ID_LEN + 1];
};

static void
qmgr_remove_work(void *arg)
{
	struct qmgr_removal *r = arg;

	/* Envelope first: a data file without one is an orphan that the
	 * next start removes; the reverse would be a message that cannot
	 * be sent. */
	queue_unlink(r->queue_dir, r->queue, r->id);
	queue_unlink(r->queue_dir, QUEUE_DATA, r->id);
}

static void
qmgr_remove_done(void *arg)
{
	struct qmgr_removal *r = arg;

	free(r->queue_dir);
	free(r);
}

void
qmgr_remove(const char *qd, enum queue_name queue, const char *id,
    struct fsq *fsq)
{
	struct qmgr_removal *r;

	if (fsq != NULL && (r = calloc(1, sizeof(*r))) != NULL) {
		r->queue_dir = strdup(qd);
		r->queue = queue;
		memcpy(r->id, id, QUEUE_ID_LEN + 1);
		if (r->queue_dir != NULL && fsq_submit(fsq, qmgr_remove_work,
		    qmgr_remove_done, r) == 0)
			return;
		free(r->queue_dir);
		free(r);
	}
	queue_unlink(qd, queue, id);
	queue_unlink(qd, QUEUE_DATA, id);
}

/* Every recipient is done: report, remove, forget. */
void
qmgr_finish(struct qmgr_job *job)
{
	const char *qd = job->q->td->cfg->queue_dir;

	qmgr_notify(job, BOUNCE_FAILED, ENVELOPE_RCPT_BOUNCED);
	qmgr_notify(job, BOUNCE_RELAYED, ENVELOPE_RCPT_SENT);
	qmgr_remove(qd, job->queue, job->id, job->q->td->fsq_remove);
	maillog_removed(job->id);
	qmgr_job_free(job);
}

void
qmgr_log_rcpt(struct qmgr_job *job, const struct envelope_rcpt *r,
    const char *relay, const char *status, const char *text)
{
	struct maillog_delays d;
	double now = qmgr_now_f(), arrival = job->env.arrival_us / 1e6;

	d.before_qmgr = job->t_start - arrival;
	d.in_qmgr = 0;
	d.conn_setup = job->t_conn > job->t_start ? job->t_conn - job->t_start :
	    0;
	d.transmission = job->t_send > 0 ? now - job->t_send : 0;
	qmgr_ctl_count(job, status);
	maillog_rcpt(job->id, r->addr, relay, now - arrival, &d,
	    r->status ? r->status : "4.0.0", status, text);
}

static void
qmgr_set_reason(struct envelope_rcpt *r, const char *status,
    const char *reason)
{
	/* Copy first: reason may be r->reason itself. */
	char *s = strdup(status), *t = strdup(reason);

	free(r->status);
	free(r->reason);
	r->status = s;
	r->reason = t;
}

/* A job's envelope could not be saved; the job keeps its state in
 * memory and a later attempt saves it.  On a full queue file system
 * every attempt of every message fails the same way, so that is said
 * once a minute with a count, not once per message and attempt. */
static void
qmgr_store_failed(struct qmgr_job *job, int prio, const char *what,
    const struct errbuf *eb)
{
	struct qmgr *q = job->q;
	int64_t now = qmgr_now();

	if (eb->errnum != ENOSPC && eb->errnum != EDQUOT) {
		log_msg(prio, "%s: cannot save %s: %s", job->id, what,
		    eb->msg);
		return;
	}
	if (q->nospace_said != 0 && now - q->nospace_said < 60) {
		q->nospace_quiet++;
		return;
	}
	log_msg(prio, "%s: cannot save %s: %s (queue file system full: "
	    "the state is kept in memory; such failures are logged once a "
	    "minute, %u since the last line)", job->id, what, eb->msg,
	    q->nospace_quiet);
	q->nospace_said = now;
	q->nospace_quiet = 0;
}

/* No relay can take the pending recipients now: retry later, or give
 * up when the message has been queued longer than queue_lifetime. */
void
qmgr_defer(struct qmgr_job *job, const char *why, int64_t at)
{
	struct qmgr *q = job->q;
	const struct config *cfg = q->td->cfg;
	int64_t now = qmgr_now(), arrival = job->env.arrival_us / 1000000;
	struct envelope_rcpt *r;
	struct errbuf eb;
	size_t i;

	if (job->mark != QMGR_MARK_NONE) {
		qmgr_ctl_park(job, why);
		return;
	}
	if (sched_expired(arrival, now, cfg->queue_lifetime)) {
		for (i = 0; i < job->env.nrcpts; i++) {
			r = &job->env.rcpts[i];
			if (r->state != ENVELOPE_RCPT_PENDING &&
			    r->state != ENVELOPE_RCPT_DEFERRED)
				continue;
			r->state = ENVELOPE_RCPT_BOUNCED;
			qmgr_set_reason(r, "4.4.7", r->reason ? r->reason : why);
			qmgr_log_rcpt(job, r, "none", "expired", "message "
			    "expired: queued longer than queue_lifetime");
		}
		qmgr_finish(job);
		return;
	}
	job->env.attempts++;
	job->env.next_attempt = at > 0 ? at : now + (int64_t)sched_backoff(
	    job->env.attempts, cfg->retry_min, cfg->retry_max,
	    (double)rand() / ((double)RAND_MAX + 1));
	free(job->env.last_error);
	job->env.last_error = strdup(why);
	if (!job->env.warned && sched_delay_warning_due(arrival, now,
	    cfg->delay_warning, false)) {
		qmgr_notify(job, BOUNCE_DELAYED, ENVELOPE_RCPT_PENDING);
		job->env.warned = true;
	}
	errbuf_clear(&eb);
	if (queue_env_store(cfg->queue_dir, QUEUE_DEFERRED, job->id, &job->env,
	    true, &eb) < 0) {
		qmgr_store_failed(job, LOG_ERR, "the envelope", &eb);
	} else if (job->queue != QUEUE_DEFERRED) {
		queue_unlink(cfg->queue_dir, job->queue, job->id);
	}
	sched_set(q->sched, job->id, job->env.next_attempt);
	qmgr_job_free(job); /* which lets the next due message in */
}

/* Record one recipient's fate in the envelope and the log.  dsn: the
 * server offered DSN, so it reports success itself. */
void
qmgr_settle(struct qmgr_job *job, struct envelope_rcpt *r,
    enum route_action a, const char *status, const char *text,
    const struct smtpc_reply *reply, const char *relay, bool dsn)
{
	char sent[1024];

	qmgr_set_reason(r, status, text);
	if (a == ROUTE_DELIVERED) {
		r->state = ENVELOPE_RCPT_SENT;
		if (reply != NULL)
			snprintf(sent, sizeof(sent), "%d %s%s%s", reply->code,
			    reply->status, reply->status[0] ? " " : "",
			    reply->text);
		else
			snprintf(sent, sizeof(sent), "%s", text);
		/* A server that speaks DSN got NOTIFY and reports success
		 * itself; "relayed" is only for one that cannot (RFC 3461
		 * section 5.2.2). */
		if (dsn)
			r->notify &= ~(unsigned)ENVELOPE_NOTIFY_SUCCESS;
		qmgr_log_rcpt(job, r, relay, "sent", sent);
	} else if (a == ROUTE_BOUNCE) {
		r->state = ENVELOPE_RCPT_BOUNCED;
		qmgr_log_rcpt(job, r, relay, "bounced", text);
	} else {
		r->state = ENVELOPE_RCPT_DEFERRED;
		snprintf(job->last_error, sizeof(job->last_error), "%s", text);
		qmgr_log_rcpt(job, r, relay, "deferred", text);
	}
}

/* Apply one relay transaction's results to the envelope. */
void
qmgr_apply(struct qmgr_job *job, const struct smtpc_outcome *out,
    const char *relay, bool dsn)
{
	struct smtpc_rcpt *sr;
	enum route_action a;
	char text[1024];
	size_t i;

	for (i = 0; i < job->msg.nrcpts; i++) {
		sr = &job->rcpts[i];
		a = route_classify(route_rcpt_stage(sr, out), &sr->reply);
		route_reply_text(sr, out, relay, text, sizeof(text));
		qmgr_settle(job, &job->env.rcpts[job->rcpt_env[i]], a,
		    sr->reply.status[0] ? sr->reply.status :
		    sr->reply.code == 0 && out->reply.status[0] ?
		    out->reply.status : a == ROUTE_DELIVERED ? "2.0.0" :
		    a == ROUTE_BOUNCE ? "5.0.0" : "4.0.0", text, &sr->reply,
		    relay, dsn);
	}
}

/* After an attempt: done, next relay, or defer. */
void
qmgr_after_attempt(struct qmgr_job *job)
{
	const char *qd = job->q->td->cfg->queue_dir;
	struct errbuf eb;

	job->skip_mask |= 1ULL << job->relay->index;
	job->relay = NULL;
	job->conn = NULL;
	if (qmgr_pending(&job->env) == 0) {
		qmgr_finish(job);
		return;
	}
	if (job->mark != QMGR_MARK_NONE) {
		qmgr_ctl_park(job, job->last_error[0] ? job->last_error :
		    NULL);
		return;
	}
	/* Keep what is done: a crash must not repeat it. */
	errbuf_clear(&eb);
	if (queue_env_store(qd, job->queue, job->id, &job->env, true,
	    &eb) < 0)
		qmgr_store_failed(job, LOG_WARNING, "progress", &eb);
	qmgr_route(job);
}

/* ---------------------------------------------------------------- dispatch */

static void
qmgr_start(struct qmgr *q, const char *id)
{
	struct qmgr_job *job;
	struct errbuf eb;
	size_t i;

	errbuf_clear(&eb);
	if ((job = qmgr_job_load(q, id, &eb)) == NULL) {
		/* ENOENT: finished or removed meanwhile. */
		if (eb.errnum != ENOENT) {
			log_msg(LOG_ERR, "%s: cannot load: %s; will retry",
			    id, eb.msg);
			sched_set(q->sched, id, qmgr_now() +
			    (int64_t)q->td->cfg->retry_max);
		}
		return;
	}
	/* A new round: every relay may be tried again. */
	job->skip_mask = 0;
	for (i = 0; i < job->env.nrcpts; i++)
		if (job->env.rcpts[i].state == ENVELOPE_RCPT_DEFERRED)
			job->env.rcpts[i].state = ENVELOPE_RCPT_PENDING;
	if (qmgr_pending(&job->env) == 0) {
		qmgr_finish(job);
		return;
	}
	maillog_active(job->id, job->env.sender, job->env.size,
	    job->env.nrcpts);
	qmgr_route(job);
}

static void
qmgr_arm(struct qmgr *q)
{
	int64_t due = sched_next_due(q->sched), now = qmgr_now();
	struct timeval tv = { 0, 0 };

	if (due == INT64_MAX)
		return;
	if (due > now)
		tv.tv_sec = due - now;
	evtimer_add(q->timer_ev, &tv);
}

static void
qmgr_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;
	char id[32];

	(void)fd;
	(void)what;
	while (!q->stopping && q->njobs < QMGR_MAX_JOBS &&
	    sched_pop_due(q->sched, qmgr_now(), id, sizeof(id)))
		qmgr_start(q, id);
	/* When every slot is busy, the end of a job kicks again; arming
	 * the timer now would spin on mail that is already due. */
	if (!q->stopping && q->njobs < QMGR_MAX_JOBS)
		qmgr_arm(q);
}

static void
qmgr_kick(struct qmgr *q)
{
	event_active(q->kick_ev, EV_TIMEOUT, 0);
}

void
qmgr_enqueue(struct qmgr *q, const char *id)
{
	sched_set(q->sched, id, 0);
	qmgr_kick(q);
}

void
qmgr_received(struct qmgr *q, const char *id)
{
	q->stats.received++;
	qmgr_enqueue(q, id);
}

size_t
qmgr_flush(struct qmgr *q)
{
	size_t i, n = sched_count(q->sched);

	log_msg(LOG_INFO, "flush: retrying %zu deferred messages now", n);
	for (i = 0; i < q->relays->n; i++)
		q->relays->v[i].last_probe = 0;
	sched_flush(q->sched, qmgr_now());
	qmgr_kick(q);
	return n;
}

/* ---------------------------------------------------------------- loading */

static int
qmgr_load_incoming(const char *id, void *arg)
{
	struct qmgr *q = arg;

	return sched_set(q->sched, id, 0) < 0 ? -1 : 0;
}

static int
qmgr_load_deferred(const char *id, void *arg)
{
	struct qmgr *q = arg;
	struct envelope env;
	struct errbuf eb;
	int64_t due = 0;

	envelope_init(&env);
	errbuf_clear(&eb);
	if (queue_env_load(q->td->cfg->queue_dir, QUEUE_DEFERRED, id, &env,
	    &eb) == 0)
		due = env.next_attempt;
	else
		log_msg(LOG_WARNING, "%s: unreadable envelope in deferred/: "
		    "%s", id, eb.msg);
	envelope_fini(&env);
	return sched_set(q->sched, id, due) < 0 ? -1 : 0;
}

/* A data file whose envelope is gone was fully delivered just before a
 * crash (envelopes go first): remove it. */
static int
qmgr_orphan(const char *id, void *arg)
{
	struct qmgr *q = arg;
	char path[QUEUE_PATH_MAX];

	if (!sched_has(q->sched, id) && queue_path(q->td->cfg->queue_dir,
	    QUEUE_HOLD, id, path, sizeof(path)) == 0 &&
	    access(path, F_OK) < 0 && errno == ENOENT) {
		queue_unlink(q->td->cfg->queue_dir, QUEUE_DATA, id);
		log_msg(LOG_INFO, "%s: removed data of a finished message", id);
	}
	return 0;
}

static int
qmgr_load(struct qmgr *q, struct errbuf *eb)
{
	const char *qd = q->td->cfg->queue_dir;

	if (queue_list(qd, QUEUE_INCOMING, qmgr_load_incoming, q, eb) != 0 ||
	    queue_list(qd, QUEUE_DEFERRED, qmgr_load_deferred, q, eb) != 0)
		return -1;
	if (queue_list(qd, QUEUE_DATA, qmgr_orphan, q, eb) != 0)
		return -1;
	log_msg(LOG_INFO, "queue: %zu messages to deliver",
	    sched_count(q->sched));
	return 0;
}

/* ---------------------------------------------------------------- life */

#define QMGR_SAVE_INTERVAL 60

static void
qmgr_on_save(evutil_socket_t fd, short what, void *arg)
{
	struct qmgr *q = arg;

	(void)fd;
	(void)what;
	qmgr_relays_save(q->relays);
}

struct qmgr *
qmgr_new(struct ternd *td, struct errbuf *eb)
{
	struct timeval every = { QMGR_SAVE_INTERVAL, 0 };
	struct qmgr *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	q->td = td;
	LIST_INIT(&q->retired);
	LIST_INIT(&q->direct_jobs);
	LIST_INIT(&q->jobs);
	q->stats.since = qmgr_now();
	srand((unsigned)(time(NULL) ^ getpid()));
	if ((q->relays = qmgr_relays_new(td->cfg, eb)) == NULL ||
	    (q->direct = direct_new(td->base, td->dns, td->cfg, eb)) == NULL ||
	    (q->sched = sched_new()) == NULL ||
	    (q->kick_ev = event_new(td->base, -1, 0, qmgr_on_kick, q)) ==
	    NULL || (q->timer_ev = evtimer_new(td->base, qmgr_on_kick, q)) ==
	    NULL || (q->save_ev = event_new(td->base, -1, EV_PERSIST,
	    qmgr_on_save, q)) == NULL || event_add(q->save_ev, &every) < 0) {
		if (eb->msg[0] == '\0')
			errbuf_set(eb, "out of memory");
		qmgr_free(q);
		return NULL;
	}
	q->relays->refs = 1;
	if (qmgr_load(q, eb) < 0) {
		qmgr_free(q);
		return NULL;
	}
	qmgr_kick(q);
	return q;
}

int
qmgr_reload(struct qmgr *q, struct config *old, struct errbuf *eb)
{
	struct qmgr_relays *set, *prev = q->relays;
	struct qmgr_job *job;
	size_t i;

	qmgr_relays_save(prev);
	if ((set = qmgr_relays_new(q->td->cfg, eb)) == NULL)
		return -1;
	if (direct_reload(q->direct, q->td->cfg, eb) < 0) {
		qmgr_relays_free(set);
		return -1;
	}
	set->refs = 1;
	q->relays = set;
	prev->cfg = old;
	prev->retired = true;
	LIST_INSERT_HEAD(&q->retired, prev, retired_link);
	qmgr_relays_quit_idle(prev);
	/* Waiting jobs go to the new relays; busy sessions finish. */
	for (i = 0; i < prev->n; i++)
		while ((job = TAILQ_FIRST(&prev->v[i].waiting)) != NULL) {
			TAILQ_REMOVE(&prev->v[i].waiting, job, link);
			job->skip_mask = 0;
			qmgr_route(job);
		}
	qmgr_relays_unref(prev);
	qmgr_kick(q);
	return 0;
}

void
qmgr_reload_aliases(struct ternd *td)
{
	struct aliases *al;
	struct errbuf eb;

	errbuf_clear(&eb);
	al = aliases_load(td->cfg->aliases, NULL, NULL, &eb);
	if (al == NULL) {
		log_msg(LOG_ERR, "aliases not reloaded: %s; run newaliases to "
		    "see every error", eb.msg);
		return;
	}
	aliases_free(td->aliases);
	td->aliases = al;
	smtpd_aliases_changed(td->smtpd);
	log_msg(LOG_INFO, "aliases reloaded from %s (%zu names)",
	    td->cfg->aliases, aliases_count(al));
}

void
qmgr_shutdown(struct qmgr *q)
{
	struct qmgr_relays *set, *next;
	struct qmgr_job *job;
	size_t i;

	q->stopping = true;
	/* Holds and deletes marked on jobs in flight outlive the stop. */
	qmgr_ctl_shutdown(q);
	/* Signatures in the making: their jobs are freed as they finish. */
	if (q->td->fsq_sign != NULL)
		fsq_flush(q->td->fsq_sign);
	qmgr_relays_save(q->relays);
	/* Direct deliveries in flight: the envelopes on disk still list
	 * their recipients as pending. */
	while ((job = LIST_FIRST(&q->direct_jobs)) != NULL) {
		LIST_REMOVE(job, direct_link);
		for (i = 0; i < job->nparts; i++)
			if (job->parts[i].rq != NULL)
				direct_cancel(job->parts[i].rq);
		qmgr_job_free(job);
	}
	qmgr_shutdown_set(q->relays);
	/* Retired sets free themselves as their last session closes. */
	for (set = LIST_FIRST(&q->retired); set != NULL; set = next) {
		next = LIST_NEXT(set, retired_link);
		qmgr_shutdown_set(set);
	}
}

void
qmgr_free(struct qmgr *q)
{
	if (q == NULL)
		return;
	if (q->kick_ev != NULL)
		event_free(q->kick_ev);
	if (q->timer_ev != NULL)
		event_free(q->timer_ev);
	if (q->save_ev != NULL)
		event_free(q->save_ev);
	sched_free(q->sched);
	direct_free(q->direct);
	qmgr_ctl_free(q);
	while (!LIST_EMPTY(&q->retired)) {
		struct qmgr_relays *set = LIST_FIRST(&q->retired);

		LIST_REMOVE(set, retired_link);
		qmgr_relays_free(set);
	}
	if (q->relays != NULL) {
		q->relays->retired = false; /* td owns the current config */
		qmgr_relays_free(q->relays);
	}
	free(q);
}
