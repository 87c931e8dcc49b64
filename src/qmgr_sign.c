/*
 * qmgr_sign: DKIM signing of the queue manager's jobs.
 *
 * DKIM: when a [dkim] section signs for the From domain of the message
 * as it leaves (after a relay's from rewrite), the signature goes
 * before its header section.  Signing costs a millisecond or more of
 * CPU (RSA), so it runs on the td->fsq_sign workers and the job waits,
 * in no queue, until qmgr_sign_done takes it on.  A failure to sign is
 * logged and the message goes unsigned: a signature helps delivery, its
 * absence does not stop it.
 *
 * On the worker, a task touches only its own fields (qmgr_sign_work);
 * the job, the relay and its set are touched on the loop only.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "buf.h"
#include "dkim.h"
#include "fsq.h"
#include "log.h"
#include "qmgr_int.h"
#include "smtpc.h"

struct qmgr_sign_task {
	struct qmgr_job *job;
	struct dkim_signer *ds;    /* a reference */
	struct qmgr_relay *relay;  /* its set referenced; NULL: direct */
	enum qmgr_next next;
	char domain[256];
	/* The worker's: */
	const char *head;
	size_t head_len;
	int fd;
	uint64_t body_off, body_len;
	struct buf sig;
	int rc;
	struct errbuf eb;
};

/* The message as it leaves (head, then the body from fd), for
 * signing.  Touches nothing shared: it runs on a worker.  Returns 0 or
 * -1. */
static int
qmgr_whole(int fd, uint64_t body_off, uint64_t body_len, const char *head,
    size_t head_len, struct buf *out)
{
	uint64_t left = body_len;
	off_t off = (off_t)body_off;
	ssize_t n;

	if (buf_reserve(out, head_len + (size_t)left) < 0 ||
	    buf_append(out, head, head_len) < 0)
		return -1;
	while (left > 0) {
		n = pread(fd, out->data + out->len, (size_t)left, off);
		if (n <= 0)
			return -1;
		out->len += (size_t)n;
		off += n;
		left -= (uint64_t)n;
	}
	out->data[out->len] = '\0';
	return 0;
}

/* Whether a line of msg[0..len) is longer than SMTP allows (998
 * octets): the SMTP client folds or cuts it, after signing. */
static bool
qmgr_has_long_line(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *nl;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (nl - p > 998)
			return true;
	}
	return false;
}

static void
qmgr_sign_work(void *arg)
{
	struct qmgr_sign_task *t = arg;
	struct buf whole, sent;
	int rc;

	buf_init(&whole, 0);
	buf_init(&sent, 0);
	rc = qmgr_whole(t->fd, t->body_off, t->body_len, t->head, t->head_len,
	    &whole);
	/* Sign what the receiver will see: with a line too long for SMTP,
	 * that is the message as the client's encoder reshapes it. */
	if (rc == 0 && qmgr_has_long_line(whole.data, whole.len))
		rc = smtpc_as_sent(whole.data, t->head_len, whole.data +
		    t->head_len, whole.len - t->head_len, &sent);
	if (rc < 0)
		t->rc = errbuf_set(&t->eb, "cannot read the message");
	else if (sent.len > 0)
		t->rc = dkim_sign_message(t->ds, t->domain, sent.data,
		    sent.len, &t->sig, &t->eb);
	else
		t->rc = dkim_sign_message(t->ds, t->domain, whole.data,
		    whole.len, &t->sig, &t->eb);
	buf_fini(&sent);
	if (t->rc == 0 && buf_append(&t->sig, t->head, t->head_len) < 0)
		t->rc = errbuf_set(&t->eb, "out of memory");
	buf_fini(&whole);
}

/* A job signed while the relay's probe was under way: the probe's
 * session may have finished and be idle now (it looked at the line
 * while the job was away), or be gone. */
static void
qmgr_sign_wait(struct qmgr_job *job, struct qmgr_relay *r)
{
	struct qmgr_conn *c;

	if ((c = qmgr_relay_idle(r)) != NULL) {
		job->t_conn = qmgr_now_f();
		qmgr_send(c, job);
		return;
	}
	if (r->nconns == 0 && r->signing == 0) {
		job->relay = NULL;
		qmgr_route(job);
		return;
	}
	TAILQ_INSERT_TAIL(&r->waiting, job, link);
}

/* The job goes on as the task said, unless ternd is stopping or its
 * relay was replaced by a reload meanwhile. */
static void
qmgr_sign_next(struct qmgr_job *job, struct qmgr_relay *r,
    enum qmgr_next next)
{
	if (job->q->stopping) {
		qmgr_job_free(job); /* its envelope on disk is unchanged */
		return;
	}
	if (r != NULL && r->set->retired) {
		job->relay = NULL;
		job->skip_mask = 0;
		qmgr_route(job);
		return;
	}
	switch (next) {
	case QMGR_NEXT_ASSIGN:
		qmgr_assign_ready(job, r);
		break;
	case QMGR_NEXT_WAIT:
		qmgr_sign_wait(job, r);
		break;
	case QMGR_NEXT_DIRECT:
		qmgr_direct_dispatch(job);
		break;
	}
}

static void
qmgr_sign_done(void *arg)
{
	struct qmgr_sign_task *t = arg;
	struct qmgr_job *job = t->job;
	struct qmgr_relays *set = t->relay != NULL ? t->relay->set : NULL;

	if (t->rc == 0) {
		/* The signed head becomes the head the server sees. */
		buf_fini(&job->send_head);
		job->send_head = t->sig;
		buf_init(&t->sig, 0);
		job->msg.head = job->send_head.data;
		job->msg.head_len = job->send_head.len;
		job->msg.size = job->msg.head_len + job->msg.body_len;
	} else if (t->rc < 0)
		log_msg(LOG_WARNING, "%s: not signed with DKIM for %s: %s",
		    job->id, t->domain, t->eb.msg);
	dkim_signer_free(t->ds);
	buf_fini(&t->sig);
	if (t->relay != NULL)
		t->relay->signing--;
	/* The task's reference keeps the relay set through this. */
	qmgr_sign_next(job, t->relay, t->next);
	if (set != NULL)
		qmgr_relays_unref(set);
	free(t);
}

/* Start signing job->msg when a [dkim] section wants it.  Returns true
 * when the job now belongs to the signing task (qmgr_sign_done goes on
 * with it); false when it needs no signature, or signing could not be
 * started (then it goes unsigned, at once). */
bool
qmgr_sign(struct qmgr_job *job, struct qmgr_relay *r, enum qmgr_next next)
{
	struct ternd *td = job->q->td;
	struct qmgr_sign_task *t;

	if (td->dkim == NULL || td->fsq_sign == NULL ||
	    (t = calloc(1, sizeof(*t))) == NULL)
		return false;
	if (dkim_from_domain(job->msg.head, job->msg.head_len, t->domain,
	    sizeof(t->domain)) < 0 || !dkim_signer_has(td->dkim, t->domain)) {
		free(t);
		return false;
	}
	t->job = job;
	t->ds = dkim_signer_ref(td->dkim);
	t->relay = r;
	t->next = next;
	t->head = job->msg.head;
	t->head_len = job->msg.head_len;
	t->fd = job->data_fd;
	t->body_off = job->body_off;
	t->body_len = job->data_len - job->body_off;
	buf_init(&t->sig, 0);
	errbuf_clear(&t->eb);
	if (fsq_submit(td->fsq_sign, qmgr_sign_work, qmgr_sign_done, t) < 0) {
		dkim_signer_free(t->ds);
		free(t);
		log_msg(LOG_WARNING, "%s: not signed with DKIM: out of memory",
		    job->id);
		return false;
	}
	if (r != NULL) {
		r->set->refs++;
		r->signing++;
	}
	return true;
}
