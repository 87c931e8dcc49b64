/*
 * qmgr_ctl: queue surgery on the running daemon (tern hold, delete,
 * release) and the counters of tern stats.
 *
 * A message is in one of three places: waiting in sched (its envelope
 * in incoming/ or deferred/), in delivery (a job; its envelope is
 * rewritten when the attempt ends), or in hold/ (known to no one here).
 * Waiting and held messages are moved or removed at once.  A job is
 * only marked: rewriting or removing its files under it would let the
 * end of the attempt bring them back, or deliver a deleted message.
 * The mark is carried out where the job would go on (qmgr_route,
 * qmgr_send, qmgr_defer, qmgr_after_attempt): qmgr_ctl_park then stores
 * what the attempt achieved into hold/, or removes the message.  A
 * marked job is never handed to a session, so a held message is not
 * started again; recipients the attempt delivered are kept as sent.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "maillog.h"
#include "qmgr_int.h"
#include "sched.h"

/* At most this many names are counted apart; more (after many reloads
 * with new relay names) are counted in the totals only. */
#define QMGR_CTL_MAX_NAMES 256

static struct qmgr_job *
qmgr_ctl_find(const struct qmgr *q, const char *id)
{
	struct qmgr_job *job;

	LIST_FOREACH(job, &q->jobs, all_link)
		if (strcmp(job->id, id) == 0)
			return job;
	return NULL;
}

static bool
qmgr_ctl_exists(const char *qd, enum queue_name qn, const char *id)
{
	char path[QUEUE_PATH_MAX];

	return queue_path(qd, qn, id, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0;
}

/* The job's files as its mark asks; the job lives on.  Also used at
 * shutdown, when jobs are dropped without ending their attempt. */
static void
qmgr_ctl_files(struct qmgr_job *job)
{
	const char *qd = job->q->td->cfg->queue_dir;
	struct errbuf eb;

	if (job->mark == QMGR_MARK_DELETE) {
		qmgr_remove(qd, job->queue, job->id, job->q->td->fsq_remove);
		return;
	}
	if (job->queue == QUEUE_HOLD)
		return;
	errbuf_clear(&eb);
	if (queue_env_store(qd, QUEUE_HOLD, job->id, &job->env, true,
	    &eb) < 0) {
		/* Left where it was: delivered later rather than lost. */
		log_msg(LOG_ERR, "%s: cannot put on hold: %s; it stays in "
		    "the queue", job->id, eb.msg);
		return;
	}
	queue_unlink(qd, job->queue, job->id);
	job->queue = QUEUE_HOLD;
}

void
qmgr_ctl_park(struct qmgr_job *job, const char *why)
{
	if (job->mark == QMGR_MARK_HOLD && why != NULL) {
		job->env.attempts++;
		free(job->env.last_error);
		job->env.last_error = strdup(why);
	}
	qmgr_ctl_files(job);
	if (job->mark == QMGR_MARK_DELETE) {
		log_msg(LOG_INFO, "%s: deleted by tern delete", job->id);
		maillog_removed(job->id);
	} else if (job->queue == QUEUE_HOLD) {
		log_msg(LOG_INFO, "%s: placed on hold", job->id);
	}
	qmgr_job_free(job);
}

void
qmgr_ctl_shutdown(struct qmgr *q)
{
	struct qmgr_job *job;

	LIST_FOREACH(job, &q->jobs, all_link)
		if (job->mark != QMGR_MARK_NONE)
			qmgr_ctl_files(job);
}

enum qmgr_ctl_result
qmgr_hold(struct qmgr *q, const char *id, struct errbuf *eb)
{
	static const enum queue_name from[] = { QUEUE_DEFERRED,
	    QUEUE_INCOMING, QUEUE_ACTIVE };
	const char *qd = q->td->cfg->queue_dir;
	struct qmgr_job *job;
	bool sched;
	size_t i;

	if ((job = qmgr_ctl_find(q, id)) != NULL) {
		if (job->mark == QMGR_MARK_DELETE)
			return QMGR_CTL_NOOP;
		job->mark = QMGR_MARK_HOLD;
		return QMGR_CTL_PENDING;
	}
	sched = sched_remove(q->sched, id);
	for (i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		errbuf_clear(eb);
		if (queue_move(qd, id, from[i], QUEUE_HOLD, eb) == 0) {
			log_msg(LOG_INFO, "%s: placed on hold", id);
			return QMGR_CTL_DONE;
		}
		if (eb->errnum != ENOENT)
			break;
	}
	if (eb->errnum != ENOENT) {
		if (sched)
			sched_set(q->sched, id, 0);
		return QMGR_CTL_ERROR;
	}
	return qmgr_ctl_exists(qd, QUEUE_HOLD, id) ? QMGR_CTL_NOOP :
	    QMGR_CTL_NOT_FOUND;
}

enum qmgr_ctl_result
qmgr_delete(struct qmgr *q, const char *id, struct errbuf *eb)
{
	static const enum queue_name in[] = { QUEUE_INCOMING, QUEUE_ACTIVE,
	    QUEUE_DEFERRED, QUEUE_HOLD };
	const char *qd = q->td->cfg->queue_dir;
	struct qmgr_job *job;
	size_t i, found = 0;

	(void)eb;
	if ((job = qmgr_ctl_find(q, id)) != NULL) {
		job->mark = QMGR_MARK_DELETE;
		return QMGR_CTL_PENDING;
	}
	sched_remove(q->sched, id);
	/* Each envelope first, then the data (qmgr_remove's order). */
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		if (qmgr_ctl_exists(qd, in[i], id)) {
			qmgr_remove(qd, in[i], id, q->td->fsq_remove);
			found++;
		}
	if (found == 0)
		return QMGR_CTL_NOT_FOUND;
	log_msg(LOG_INFO, "%s: deleted by tern delete", id);
	maillog_removed(id);
	return QMGR_CTL_DONE;
}

enum qmgr_ctl_result
qmgr_release(struct qmgr *q, const char *id, struct errbuf *eb)
{
	const char *qd = q->td->cfg->queue_dir;
	struct qmgr_job *job;

	if ((job = qmgr_ctl_find(q, id)) != NULL) {
		if (job->mark != QMGR_MARK_HOLD)
			return QMGR_CTL_NOOP;
		job->mark = QMGR_MARK_NONE;
		return QMGR_CTL_DONE;
	}
	errbuf_clear(eb);
	/* incoming/: due now, whatever its next_attempt said. */
	if (queue_move(qd, id, QUEUE_HOLD, QUEUE_INCOMING, eb) == 0) {
		log_msg(LOG_INFO, "%s: released from hold", id);
		qmgr_enqueue(q, id);
		return QMGR_CTL_DONE;
	}
	if (eb->errnum != ENOENT)
		return QMGR_CTL_ERROR;
	return qmgr_ctl_exists(qd, QUEUE_INCOMING, id) ||
	    qmgr_ctl_exists(qd, QUEUE_DEFERRED, id) ? QMGR_CTL_NOOP :
	    QMGR_CTL_NOT_FOUND;
}

void
qmgr_active_each(const struct qmgr *q,
    void (*fn)(const char *id, enum qmgr_mark mark, void *arg), void *arg)
{
	const struct qmgr_job *job;

	LIST_FOREACH(job, &q->jobs, all_link)
		fn(job->id, job->mark, arg);
}

/* ---------------------------------------------------------------- counters */

static struct qmgr_count *
qmgr_ctl_named(struct qmgr_stats *st, const char *name)
{
	struct qmgr_relay_count *v;
	size_t i;

	for (i = 0; i < st->nrelays; i++)
		if (strcmp(st->relays[i].name, name) == 0)
			return &st->relays[i].c;
	if (st->nrelays >= QMGR_CTL_MAX_NAMES ||
	    (v = realloc(st->relays, (st->nrelays + 1) * sizeof(*v))) == NULL)
		return NULL;
	st->relays = v;
	memset(&v[st->nrelays], 0, sizeof(*v));
	if ((v[st->nrelays].name = strdup(name)) == NULL)
		return NULL;
	return &v[st->nrelays++].c;
}

void
qmgr_ctl_count(struct qmgr_job *job, const char *status)
{
	struct qmgr_stats *st = &job->q->stats;
	struct qmgr_count *c[2] = { &st->total, NULL };
	size_t i;

	if (job->relay != NULL)
		c[1] = qmgr_ctl_named(st, job->relay->rc->name);
	else if (job->q->td->cfg->delivery == CONFIG_DELIVERY_DIRECT)
		c[1] = qmgr_ctl_named(st, "direct");
	for (i = 0; i < 2; i++) {
		if (c[i] == NULL)
			continue;
		if (strcmp(status, "sent") == 0)
			c[i]->sent++;
		else if (strcmp(status, "deferred") == 0)
			c[i]->deferred++;
		else
			c[i]->bounced++; /* bounced, expired */
	}
}

const struct qmgr_stats *
qmgr_stats(struct qmgr *q)
{
	q->stats.active = q->njobs;
	q->stats.scheduled = sched_count(q->sched);
	return &q->stats;
}

void
qmgr_ctl_free(struct qmgr *q)
{
	size_t i;

	for (i = 0; i < q->stats.nrelays; i++)
		free(q->stats.relays[i].name);
	free(q->stats.relays);
}
