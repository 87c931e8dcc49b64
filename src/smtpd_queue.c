/*
 * smtpd_queue: what the listener received, into the queue — durably
 * before the client hears 250.
 *
 * A finished message goes through cleanup (aliases, qualification, its
 * Received header) and is written as data/ID and incoming/ID without
 * an fsync each.  All messages finished in the same turn of the event
 * loop are then made durable by one queue_sync() (group commit, as
 * pickup does), and only after that do their sessions answer "250 ...
 * queued as ID" and does the queue manager hear of them.  A failed sync
 * removes the batch's files and answers 451: nothing is acknowledged
 * that is not on disk, and nothing half-written stays.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cleanup.h"
#include "log.h"
#include "queue.h"
#include "smtpd_int.h"

/* More Received headers than this is a mail loop (RFC 5321 6.3). */
#define SMTPD_QUEUE_MAX_HOPS 50

struct smtpd_queue_item {
	struct smtpd_sess *sess; /* NULL once the session is gone */
	char id[QUEUE_ID_LEN + 1];
	int code;                /* 0, or the reply of a failure */
	const char *status;
	const char *text;
};

struct smtpd_queue {
	struct smtpd *d;
	struct event *sync_ev;
	struct smtpd_queue_item *v;
	size_t n, cap;
};

struct smtpd_queue *
smtpd_queue_new(struct smtpd *d, struct errbuf *eb)
{
	struct smtpd_queue *q;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	q->d = d;
	return q;
}

void
smtpd_queue_free(struct smtpd_queue *q)
{
	if (q == NULL)
		return;
	if (q->sync_ev != NULL)
		event_free(q->sync_ev);
	free(q->v);
	free(q);
}

void
smtpd_queue_forget(struct smtpd_queue *q, struct smtpd_sess *s)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->v[i].sess == s)
			q->v[i].sess = NULL;
}

/* ---------------------------------------------------------------- checks */

/* Count the Received fields of the header section. */
static unsigned
smtpd_queue_hops(const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *nl;
	unsigned hops = 0;

	while (p < end && *p != '\n') {
		if ((size_t)(end - p) > 9 && strncasecmp(p, "Received:", 9) == 0)
			hops++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p = nl + 1;
	}
	return hops;
}

/* ---------------------------------------------------------------- write */

static void
smtpd_queue_warn(const char *id, const char *msg, void *arg)
{
	(void)arg;
	log_msg(LOG_WARNING, "%s: %s", id, msg);
}

/* Cleanup and store; fills id.  Returns 0, or the failure's reply. */
static int
smtpd_queue_write(struct smtpd_queue *q, const struct smtpd_queue_msg *m,
    char id[QUEUE_ID_LEN + 1], struct errbuf *eb)
{
	const struct ternd *td = q->d->td;
	struct cleanup_smtp smtp = { m->helo, m->client_addr, m->protocol };
	struct cleanup_input in;
	struct envelope out;
	struct buf data;
	struct timeval tv;
	int64_t now_us;
	int rc;

	gettimeofday(&tv, NULL);
	now_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	queue_make_id(now_us, id);
	memset(&in, 0, sizeof(in));
	in.cfg = td->cfg;
	in.aliases = td->aliases;
	in.id = id;
	in.uid = -1;
	in.now = (int64_t)tv.tv_sec;
	in.env = m->env;
	in.smtp = &smtp;
	in.msg = m->msg;
	in.msg_len = m->msg_len;
	envelope_init(&out);
	buf_init(&data, 0);
	rc = cleanup_message(&in, &out, &data, smtpd_queue_warn, NULL, eb);
	if (rc == 0) {
		out.arrival_us = now_us;
		rc = queue_entry_store(td->cfg->queue_dir, id, &out,
		    data.data, data.len, eb);
	}
	envelope_fini(&out);
	buf_fini(&data);
	return rc;
}

/* ---------------------------------------------------------------- commit */

/* The batch: one sync, then the answers.  A session answered may
 * commit its next (pipelined) message at once: that one joins a new
 * batch, so the batch is taken out of q first. */
static void
smtpd_queue_on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_queue *q = arg;
	const char *qd = q->d->td->cfg->queue_dir;
	struct smtpd_queue_item *v = q->v, *it;
	size_t i, n = q->n;
	struct errbuf eb;
	int rc;

	(void)fd;
	(void)what;
	q->v = NULL;
	q->n = q->cap = 0;
	errbuf_clear(&eb);
	rc = queue_sync(qd, &eb);
	if (rc < 0)
		log_msg(LOG_ERR, "cannot commit received messages: %s", eb.msg);
	for (i = 0; i < n; i++) {
		it = &v[i];
		if (it->code == 0 && rc < 0) {
			queue_entry_remove(qd, it->id);
			it->code = eb.errnum == ENOSPC || eb.errnum == EDQUOT ?
			    452 : 451;
		}
		if (it->code == 0)
			/* Durable: the queue manager may have it,
			 * acknowledged or not (a client gone meanwhile may
			 * send it again). */
			q->d->queued(it->id, q->d->arg);
		if (it->sess == NULL)
			continue;
		if (it->code == 452)
			it->status = "4.3.1", it->text = "Insufficient system "
			    "storage";
		else if (it->code == 451)
			it->status = "4.3.0", it->text = "Error: queue file "
			    "write error";
		smtpd_sess_committed(it->sess, it->code ? NULL : it->id,
		    it->code, it->status, it->text);
	}
	free(v);
}

/* Join the batch, with the message's id or its failure (answered in
 * the same way, after the sync, so a session never re-enters itself). */
static int
smtpd_queue_push(struct smtpd_queue *q, struct smtpd_sess *s,
    const char *id, int code, const char *status, const char *text)
{
	struct smtpd_queue_item *v, *it;
	size_t cap;

	if (q->n == q->cap) {
		cap = q->cap ? q->cap * 2 : 16;
		if ((v = realloc(q->v, cap * sizeof(*v))) == NULL)
			return -1;
		q->v = v;
		q->cap = cap;
	}
	it = &q->v[q->n++];
	memset(it, 0, sizeof(*it));
	it->sess = s;
	if (id != NULL)
		memcpy(it->id, id, QUEUE_ID_LEN + 1);
	it->code = code;
	it->status = status;
	it->text = text;
	if (q->sync_ev == NULL &&
	    (q->sync_ev = event_new(q->d->td->base, -1, 0,
	    smtpd_queue_on_sync, q)) == NULL)
		return -1;
	/* After every session that is ready in this turn has added its
	 * message: one sync for them all. */
	event_active(q->sync_ev, EV_TIMEOUT, 0);
	return 0;
}

static void
smtpd_queue_log(const struct smtpd_queue_msg *m, const char *id)
{
	if (m->auth_user != NULL)
		log_msg(LOG_INFO, "%s: client=%s, sasl_method=%s, "
		    "sasl_username=%s", id, m->client, m->auth_mech,
		    m->auth_user);
	else
		log_msg(LOG_INFO, "%s: client=%s", id, m->client);
}

int
smtpd_queue_add(struct smtpd_queue *q, const struct smtpd_queue_msg *m)
{
	char id[QUEUE_ID_LEN + 1];
	struct errbuf eb;
	int code = 0;

	errbuf_clear(&eb);
	if (smtpd_queue_hops(m->msg, m->msg_len) > SMTPD_QUEUE_MAX_HOPS) {
		log_msg(LOG_INFO, "NOQUEUE: reject: DATA from %s: 554 5.4.6 "
		    "Error: too many hops; from=<%s> proto=%s helo=<%s>",
		    m->client, m->env->sender, m->protocol, m->helo);
		return smtpd_queue_push(q, m->sess, NULL, 554, "5.4.6",
		    "Error: too many hops (more than 50 Received fields: a "
		    "mail loop?)");
	}
	if (smtpd_queue_write(q, m, id, &eb) < 0) {
		log_msg(LOG_ERR, "NOQUEUE: cannot queue a message from %s: %s",
		    m->client, eb.msg);
		code = eb.errnum == ENOSPC || eb.errnum == EDQUOT ? 452 : 451;
		return smtpd_queue_push(q, m->sess, NULL, code, NULL, NULL);
	}
	smtpd_queue_log(m, id);
	if (smtpd_queue_push(q, m->sess, id, 0, NULL, NULL) < 0) {
		queue_entry_remove(q->d->td->cfg->queue_dir, id);
		return -1;
	}
	return 0;
}
