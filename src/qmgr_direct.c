/*
 * qmgr_direct: direct delivery (delivery = direct) of the queue
 * manager's jobs — the pending recipients sorted by domain and cut into
 * parts, each part handed to direct.c, and the results carried into the
 * envelope; when every part is done the job finishes or is deferred.
 *
 * A job with parts in flight is in q->direct_jobs, so shutdown can
 * cancel them; parts_left holds one extra count while parts are still
 * being started, so the job cannot end under the loop that starts them.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <strings.h>
#include <sys/queue.h>

#include "direct.h"
#include "qmgr_int.h"
#include "route.h"

static void
qmgr_direct_rcpt(void *arg, size_t i, const struct direct_result *res)
{
	struct qmgr_part *p = arg;
	struct qmgr_job *job = p->job;

	/* The times of the session that answered, for delays=. */
	job->t_conn = res->t_conn;
	job->t_send = res->t_send;
	qmgr_settle(job, &job->env.rcpts[job->rcpt_env[p->first + i]],
	    res->action, res->status, res->text, res->reply, res->relay,
	    res->dsn);
}

/* Every domain is done: finish, or defer what is left. */
static void
qmgr_direct_end(struct qmgr_job *job)
{
	LIST_REMOVE(job, direct_link);
	if (qmgr_pending(&job->env) == 0)
		qmgr_finish(job);
	else
		qmgr_defer(job, job->last_error[0] ? job->last_error :
		    "deferred", 0);
}

static void
qmgr_direct_done(void *arg)
{
	struct qmgr_part *p = arg;

	p->rq = NULL;
	if (--p->job->parts_left == 0)
		qmgr_direct_end(p->job);
}

/* A pending recipient with its envelope index, for sorting. */
struct qmgr_sort_rcpt {
	struct smtpc_rcpt r;
	size_t env;
};

static int
qmgr_cmp_domain(const void *a, const void *b)
{
	const struct qmgr_sort_rcpt *x = a, *y = b;

	return strcasecmp(direct_domain_of(x->r.addr),
	    direct_domain_of(y->r.addr));
}

/* Sort the pending recipients by domain and cut them into parts, one
 * per domain. */
static int
qmgr_direct_parts(struct qmgr_job *job)
{
	size_t i, n = job->msg.nrcpts, k = 0;
	struct qmgr_sort_rcpt *v;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL ||
	    (job->parts = calloc(n + 1, sizeof(*job->parts))) == NULL) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		v[i].r = job->rcpts[i];
		v[i].env = job->rcpt_env[i];
	}
	qsort(v, n, sizeof(*v), qmgr_cmp_domain);
	for (i = 0; i < n; i++) {
		job->rcpts[i] = v[i].r;
		job->rcpt_env[i] = v[i].env;
		if (i > 0 && qmgr_cmp_domain(&v[i], &v[i - 1]) == 0) {
			job->parts[k - 1].n++;
			continue;
		}
		job->parts[k].job = job;
		job->parts[k].first = i;
		job->parts[k].n = 1;
		k++;
	}
	free(v);
	job->nparts = k;
	return 0;
}

/* delivery = direct: each recipient domain on its own, at once. */
void
qmgr_direct(struct qmgr_job *job)
{
	free(job->parts);
	job->parts = NULL;
	if (qmgr_prepare(job, NULL) < 0 || qmgr_direct_parts(job) < 0) {
		qmgr_defer(job, "out of memory", 0);
		return;
	}
	/* Signed once, whatever the number of domains. */
	if (!qmgr_sign(job, NULL, QMGR_NEXT_DIRECT))
		qmgr_direct_dispatch(job);
}

/* The job is prepared (and signed): hand each domain's part over. */
void
qmgr_direct_dispatch(struct qmgr_job *job)
{
	struct qmgr *q = job->q;
	struct qmgr_part *p;
	const char *domain;
	size_t i, k;

	LIST_INSERT_HEAD(&q->direct_jobs, job, direct_link);
	job->parts_left = job->nparts + 1; /* held until all have started */
	for (k = 0; k < job->nparts; k++) {
		p = &job->parts[k];
		p->msg = job->msg;
		p->msg.rcpts = &job->rcpts[p->first];
		p->msg.nrcpts = p->n;
		domain = direct_domain_of(p->msg.rcpts[0].addr);
		if (domain[0] != '\0' && (p->rq = direct_deliver(q->direct,
		    domain, &p->msg, job->id, qmgr_direct_rcpt,
		    qmgr_direct_done, p)) != NULL)
			continue;
		for (i = 0; i < p->n; i++)
			qmgr_settle(job, &job->env.rcpts[job->rcpt_env[
			    p->first + i]], domain[0] ? ROUTE_NEXT_HOST :
			    ROUTE_BOUNCE, domain[0] ? "4.3.0" : "5.1.3",
			    domain[0] ? "out of memory" : "recipient address "
			    "has no domain", NULL, "none", false);
		job->parts_left--;
	}
	if (--job->parts_left == 0)
		qmgr_direct_end(job);
}
