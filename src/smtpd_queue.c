/*
 * smtpd_queue: what the listener received, into the queue — durably
 * before the client hears 250.
 *
 * A finished message goes through cleanup (aliases, qualification, its
 * Received header) on the event loop.  All messages finished in the
 * same turn of the loop form a batch, which the queue's worker thread
 * (fsq) writes as data/ID and incoming/ID and makes durable with one
 * queue_sync() (group commit, as pickup does).  Only when the batch is
 * back do its sessions answer "250 ... queued as ID" and does the queue
 * manager hear of the messages.  Meanwhile the loop serves every other
 * session, and their messages gather into the next batch.  A failed
 * write or sync removes what was written and answers 451 or 452:
 * nothing is acknowledged that is not on disk, nothing half-written
 * stays.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include <event2/event.h>

#include "cleanup.h"
#include "fsq.h"
#include "log.h"
#include "queue.h"
#include "smtpd_int.h"

/* More Received headers than this is a mail loop (RFC 5321 6.3). */
#define SMTPD_QUEUE_MAX_HOPS 50

struct smtpd_queue_item {
	struct smtpd_sess *sess; /* NULL once the session is gone */
	char id[QUEUE_ID_LEN + 1];
	struct envelope env;     /* as cleanup made it */
	struct buf data;         /* the message as it is queued */
	int code;                /* 0, or the reply of a failure */
	const char *status;
	const char *text;
	char err[ERRBUF_SIZE];   /* what failed, for the log */
};

/* A batch on its way through the worker. */
struct smtpd_queue_batch {
	struct smtpd_queue *q;
	struct smtpd_queue_batch *next; /* in q->inflight */
	const char *queue_dir;          /* q's copy */
	struct smtpd_queue_item *v;
	size_t n;
	char sync_err[ERRBUF_SIZE];
};

struct smtpd_queue {
	struct smtpd *d;
	struct fsq *fsq;
	char *queue_dir;          /* fixed while ternd runs */
	struct event *sync_ev;
	struct smtpd_queue_item *v; /* the batch being gathered */
	size_t n, cap;
	struct smtpd_queue_batch *inflight;
	bool low_space;           /* said so in the log */
	bool dying;
};

struct smtpd_queue *
smtpd_queue_new(struct smtpd *d, struct errbuf *eb)
{
	struct smtpd_queue *q;

	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->queue_dir = strdup(d->td->cfg->queue_dir)) == NULL) {
		free(q);
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	q->d = d;
	q->fsq = d->td->fsq;
	return q;
}

bool
smtpd_queue_space_ok(struct smtpd_queue *q, uint64_t minfree, uint64_t size)
{
	struct errbuf eb;
	uint64_t avail;

	errbuf_clear(&eb);
	if (queue_free_space(q->queue_dir, &avail, &eb) < 0) {
		log_msg(LOG_WARNING, "cannot tell the queue's free space: %s",
		    eb.msg);
		return true;
	}
	if (avail >= minfree) {
		if (q->low_space)
			log_msg(LOG_INFO, "queue file system has room again: "
			    "%" PRIu64 " octets free in %s", avail,
			    q->queue_dir);
		q->low_space = false;
		return avail - minfree >= size;
	}
	/* One line per refused MAIL would be as many as the clients make;
	 * the NOQUEUE reject lines say the rest. */
	if (!q->low_space)
		log_msg(LOG_WARNING, "queue file system low on space: %" PRIu64
		    " octets free in %s, %" PRIu64 " wanted (queue_minfree, "
		    "at least 1.5 x max_message_size): new mail gets 452 "
		    "until space is freed", avail, q->queue_dir, minfree);
	q->low_space = true;
	return false;
}

static void
smtpd_queue_items_free(struct smtpd_queue_item *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		envelope_fini(&v[i].env);
		buf_fini(&v[i].data);
	}
	free(v);
}

void
smtpd_queue_free(struct smtpd_queue *q)
{
	if (q == NULL)
		return;
	/* Batches in flight finish (their files are durable and the next
	 * start delivers them); their answers go nowhere. */
	q->dying = true;
	fsq_flush(q->fsq);
	if (q->sync_ev != NULL)
		event_free(q->sync_ev);
	smtpd_queue_items_free(q->v, q->n);
	free(q->queue_dir);
	free(q);
}

void
smtpd_queue_forget(struct smtpd_queue *q, struct smtpd_sess *s)
{
	struct smtpd_queue_batch *b;
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->v[i].sess == s)
			q->v[i].sess = NULL;
	for (b = q->inflight; b != NULL; b = b->next)
		for (i = 0; i < b->n; i++)
			if (b->v[i].sess == s)
				b->v[i].sess = NULL;
}

/* ---------------------------------------------------------------- worker */

static void
smtpd_queue_fail_item(struct smtpd_queue_item *it, const struct errbuf *eb)
{
	if (eb->errnum == ENOSPC || eb->errnum == EDQUOT)
		it->code = 452, it->status = "4.3.1",
		    it->text = "Insufficient system storage";
	else
		it->code = 451, it->status = "4.3.0",
		    it->text = "Error: queue file write error";
	memcpy(it->err, eb->msg, sizeof(it->err));
}

/* On the worker: write every message of the batch, then one sync. */
static void
smtpd_queue_work(void *arg)
{
	struct smtpd_queue_batch *b = arg;
	struct smtpd_queue_item *it;
	size_t i, stored = 0;
	struct errbuf eb;

	for (i = 0; i < b->n; i++) {
		it = &b->v[i];
		if (it->code != 0)
			continue;
		errbuf_clear(&eb);
		if (queue_entry_store(b->queue_dir, it->id, &it->env,
		    it->data.data, it->data.len, &eb) < 0)
			smtpd_queue_fail_item(it, &eb);
		else
			stored++;
	}
	errbuf_clear(&eb);
	if (stored == 0 || queue_sync(b->queue_dir, &eb) == 0)
		return;
	memcpy(b->sync_err, eb.msg, sizeof(b->sync_err));
	for (i = 0; i < b->n; i++) {
		it = &b->v[i];
		if (it->code != 0)
			continue;
		queue_entry_remove(b->queue_dir, it->id);
		smtpd_queue_fail_item(it, &eb);
	}
}

/* ---------------------------------------------------------------- answers */

/* Back on the loop: the answers.  A session answered may commit its
 * next (pipelined) message at once: that one joins a new batch. */
static void
smtpd_queue_done(void *arg)
{
	struct smtpd_queue_batch *b = arg, **bp;
	struct smtpd_queue *q = b->q;
	struct smtpd_queue_item *it;
	size_t i;

	for (bp = &q->inflight; *bp != b; bp = &(*bp)->next)
		;
	*bp = b->next;
	if (b->sync_err[0] != '\0')
		log_msg(LOG_ERR, "cannot commit received messages: %s",
		    b->sync_err);
	for (i = 0; i < b->n && !q->dying; i++) {
		it = &b->v[i];
		if (it->code == 0)
			/* Durable: the queue manager may have it,
			 * acknowledged or not (a client gone meanwhile may
			 * send it again). */
			q->d->queued(it->id, q->d->arg);
		else if (it->err[0] != '\0' && b->sync_err[0] == '\0')
			log_msg(LOG_ERR, "%s: cannot queue: %s", it->id,
			    it->err);
		if (it->sess != NULL)
			smtpd_sess_committed(it->sess, it->code ? NULL :
			    it->id, it->code, it->status, it->text);
	}
	smtpd_queue_items_free(b->v, b->n);
	free(b);
}

/* The end of a turn of the loop: the batch goes to the worker. */
static void
smtpd_queue_on_batch(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_queue *q = arg;
	struct smtpd_queue_batch *b;

	(void)fd;
	(void)what;
	if (q->n == 0 || (b = calloc(1, sizeof(*b))) == NULL)
		return; /* out of memory: the next message retries */
	b->q = q;
	b->queue_dir = q->queue_dir;
	b->v = q->v;
	b->n = q->n;
	q->v = NULL;
	q->n = q->cap = 0;
	b->next = q->inflight;
	q->inflight = b;
	if (fsq_submit(q->fsq, smtpd_queue_work, smtpd_queue_done, b) < 0) {
		smtpd_queue_work(b);
		smtpd_queue_done(b);
	}
}

/* ---------------------------------------------------------------- adding */

static struct smtpd_queue_item *
smtpd_queue_push(struct smtpd_queue *q, struct smtpd_sess *s)
{
	struct smtpd_queue_item *v, *it;
	size_t cap;

	if (q->sync_ev == NULL && (q->sync_ev = event_new(q->d->td->base,
	    -1, 0, smtpd_queue_on_batch, q)) == NULL)
		return NULL;
	if (q->n == q->cap) {
		cap = q->cap ? q->cap * 2 : 16;
		if ((v = realloc(q->v, cap * sizeof(*v))) == NULL)
			return NULL;
		q->v = v;
		q->cap = cap;
	}
	it = &q->v[q->n++];
	memset(it, 0, sizeof(*it));
	it->sess = s;
	envelope_init(&it->env);
	buf_init(&it->data, 0);
	/* After every session that is ready in this turn has added its
	 * message: one batch for them all. */
	event_active(q->sync_ev, EV_TIMEOUT, 0);
	return it;
}

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

static void
smtpd_queue_warn(const char *id, const char *msg, void *arg)
{
	(void)arg;
	log_msg(LOG_WARNING, "%s: %s", id, msg);
}

/* Cleanup, on the loop (it reads the aliases and the config): fills
 * it->env and it->data.  Returns 0 or -1 with eb. */
static int
smtpd_queue_cleanup(struct smtpd_queue *q, const struct smtpd_queue_msg *m,
    struct smtpd_queue_item *it, struct errbuf *eb)
{
	const struct ternd *td = q->d->td;
	struct cleanup_smtp smtp = { m->helo, m->client_addr, m->protocol };
	struct cleanup_input in;
	struct timeval tv;
	int64_t now_us;

	gettimeofday(&tv, NULL);
	now_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
	queue_make_id(now_us, it->id);
	memset(&in, 0, sizeof(in));
	in.cfg = td->cfg;
	in.aliases = td->aliases;
	in.id = it->id;
	in.uid = -1;
	in.now = (int64_t)tv.tv_sec;
	in.env = m->env;
	in.smtp = &smtp;
	in.complete_headers = m->may_relay;
	in.msg = m->msg;
	in.msg_len = m->msg_len;
	if (cleanup_message(&in, &it->env, &it->data, smtpd_queue_warn, NULL,
	    eb) < 0)
		return -1;
	it->env.arrival_us = now_us;
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
	struct smtpd_queue_item *it;
	struct errbuf eb;

	if ((it = smtpd_queue_push(q, m->sess)) == NULL)
		return -1;
	errbuf_clear(&eb);
	if (smtpd_queue_hops(m->msg, m->msg_len) > SMTPD_QUEUE_MAX_HOPS) {
		log_msg(LOG_INFO, "NOQUEUE: reject: DATA from %s: 554 5.4.6 "
		    "Error: too many hops; from=<%s> proto=%s helo=<%s>",
		    m->client, m->env->sender, m->protocol, m->helo);
		it->code = 554;
		it->status = "5.4.6";
		it->text = "Error: too many hops (more than 50 Received "
		    "fields: a mail loop?)";
	} else if (smtpd_queue_cleanup(q, m, it, &eb) < 0) {
		log_msg(LOG_ERR, "NOQUEUE: cannot queue a message from %s: %s",
		    m->client, eb.msg);
		smtpd_queue_fail_item(it, &eb);
		it->err[0] = '\0'; /* logged already */
	} else
		smtpd_queue_log(m, it->id);
	return 0;
}
