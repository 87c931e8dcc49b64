/*
 * qmgr_notice: the queue manager's delivery reports — which recipients
 * asked for a report of a kind (RFC 3461 NOTIFY), the report composed by
 * bounce.c with the original message (or its header section), and the
 * report queued as a new message from the null sender.
 *
 * It never reports to the null sender (no bounce loops), and a report
 * that cannot be queued is logged, never retried: the message's own
 * outcome does not wait for it.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounce.h"
#include "fileio.h"
#include "log.h"
#include "qmgr.h"
#include "qmgr_int.h"
#include "queue.h"
#include "str.h"

#define QMGR_RETURN_MAX (1024 * 1024)

/* Queue a message from the null sender to rcpt (a bounce or notice). */
static int
qmgr_queue_notice(struct qmgr *q, const char *rcpt, const struct buf *msg,
    char id[QUEUE_ID_LEN + 1], struct errbuf *eb)
{
	const char *qd = q->td->cfg->queue_dir;
	struct envelope env;
	int fd, rc;

	queue_make_id((int64_t)(qmgr_now_f() * 1e6), id);
	envelope_init(&env);
	env.arrival_us = (int64_t)(qmgr_now_f() * 1e6);
	env.sender = strdup("");
	env.size = msg->len;
	env.body = str_has_8bit(msg->data, msg->len) ?
	    ENVELOPE_BODY_8BITMIME : ENVELOPE_BODY_7BIT;
	env.smtputf8 = str_has_8bit(rcpt, strlen(rcpt));
	rc = env.sender != NULL && envelope_add_rcpt(&env, rcpt) != NULL ? 0 :
	    errbuf_set(eb, "out of memory");
	if (rc == 0 && (fd = queue_data_create(qd, id, eb)) >= 0) {
		if (fileio_write_all(fd, msg->data, msg->len) < 0)
			rc = errbuf_errno(eb, errno, "write data/%s", id);
		close(fd);
	} else {
		rc = -1;
	}
	if (rc == 0)
		rc = queue_env_store(qd, QUEUE_INCOMING, id, &env, false, eb);
	if (rc == 0)
		rc = queue_sync(qd, eb);
	envelope_fini(&env);
	return rc;
}

/* Whether rcpt wants a notice of this kind (RFC 3461 NOTIFY; without
 * NOTIFY, failures and delays are reported, successes are not). */
static bool
qmgr_wants(const struct envelope_rcpt *r, enum bounce_kind kind)
{
	unsigned bit = kind == BOUNCE_FAILED ? ENVELOPE_NOTIFY_FAILURE :
	    kind == BOUNCE_DELAYED ? ENVELOPE_NOTIFY_DELAY :
	    ENVELOPE_NOTIFY_SUCCESS;

	if (r->notify == 0)
		return kind != BOUNCE_RELAYED;
	return (r->notify & bit) != 0;
}

static size_t
qmgr_notice_rcpts(const struct qmgr_job *job, enum bounce_kind kind,
    int state, struct bounce_rcpt *out)
{
	const struct envelope_rcpt *r;
	size_t i, n = 0;

	for (i = 0; i < job->env.nrcpts; i++) {
		r = &job->env.rcpts[i];
		if (!qmgr_wants(r, kind) || (r->state != state &&
		    !(state == ENVELOPE_RCPT_PENDING &&
		    r->state == ENVELOPE_RCPT_DEFERRED)))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].addr = r->addr;
		out[n].orcpt = r->orcpt;
		out[n].status = r->status ? r->status : kind == BOUNCE_RELAYED ?
		    "2.0.0" : kind == BOUNCE_DELAYED ? "4.0.0" : "5.0.0";
		out[n].diagnostic = r->reason;
		out[n].last_attempt = qmgr_now();
		out[n].will_retry_until = job->env.arrival_us / 1000000 +
		    (int64_t)job->q->td->cfg->queue_lifetime;
		n++;
	}
	return n;
}

/* The original message for a report, at most QMGR_RETURN_MAX + 1
 * bytes: one more than bounce_compose returns tells it to return only
 * the header section. */
static int
qmgr_read_original(const struct qmgr_job *job, struct buf *out)
{
	uint64_t want = job->data_len < QMGR_RETURN_MAX + 1 ? job->data_len :
	    QMGR_RETURN_MAX + 1;
	ssize_t n;

	if (buf_reserve(out, (size_t)want) < 0)
		return -1;
	n = pread(job->data_fd, out->data, (size_t)want, 0);
	if (n < 0)
		return -1;
	out->len = (size_t)n;
	out->data[n] = '\0';
	return 0;
}

/* Send the sender a report about the recipients in state (bounced,
 * sent or still pending), when they asked for one and the sender is
 * not the null sender (no bounce loops). */
void
qmgr_notify(struct qmgr_job *job, enum bounce_kind kind, int state)
{
	const struct config *cfg = job->q->td->cfg;
	char boundary[64], postmaster[300], nid[QUEUE_ID_LEN + 1];
	struct bounce_input in;
	struct bounce_rcpt *rs;
	struct errbuf eb;
	struct buf msg, orig;
	size_t n;

	if (job->env.sender[0] == '\0' ||
	    (rs = calloc(job->env.nrcpts, sizeof(*rs))) == NULL)
		return;
	if ((n = qmgr_notice_rcpts(job, kind, state, rs)) == 0) {
		free(rs);
		return;
	}
	buf_init(&orig, 0);
	buf_init(&msg, 0);
	errbuf_clear(&eb);
	memset(&in, 0, sizeof(in));
	snprintf(boundary, sizeof(boundary), "%s.%lld/%s", job->id,
	    (long long)qmgr_now(), cfg->hostname);
	snprintf(postmaster, sizeof(postmaster), "MAILER-DAEMON@%s",
	    cfg->hostname);
	in.kind = kind;
	in.reporting_mta = cfg->hostname;
	in.postmaster = postmaster;
	in.queue_id = job->id;
	in.to = job->env.sender;
	in.envid = job->env.envid;
	in.arrival = job->env.arrival_us / 1000000;
	in.now = qmgr_now();
	in.rcpts = rs;
	in.nrcpts = n;
	in.ret = job->env.ret;
	in.max_return = QMGR_RETURN_MAX;
	in.boundary = boundary;
	if (qmgr_read_original(job, &orig) == 0) {
		in.orig = orig.data;
		in.orig_len = orig.len;
		in.orig_head_len = job->head.len;
	}
	if (bounce_compose(&in, &msg, &eb) < 0 ||
	    qmgr_queue_notice(job->q, job->env.sender, &msg, nid, &eb) < 0)
		log_msg(LOG_ERR, "%s: cannot queue a delivery report for <%s>: "
		    "%s", job->id, job->env.sender, eb.msg);
	else {
		log_msg(LOG_INFO, "%s: sender %s notification: %s", job->id,
		    kind == BOUNCE_FAILED ? "non-delivery" : kind ==
		    BOUNCE_DELAYED ? "delay" : "delivery status", nid);
		qmgr_enqueue(job->q, nid);
	}
	buf_fini(&orig);
	buf_fini(&msg);
	free(rs);
}
