/*
 * qmgr: the queue manager (see qmgr.h).
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
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "bounce.h"
#include "direct.h"
#include "dns.h"
#include "fileio.h"
#include "header.h"
#include "log.h"
#include "maillog.h"
#include "dkim.h"
#include "fsq.h"
#include "qmgr.h"
#include "smtpd.h"
#include "queue.h"
#include "relay_state.h"
#include "rfc2047.h"
#include "route.h"
#include "sched.h"
#include "smtpc.h"
#include "str.h"

#define QMGR_HEAD_MAX (4 * 1024 * 1024)
#define QMGR_RETURN_MAX (1024 * 1024)
#define QMGR_IDLE_TIMEOUT 30

struct qmgr_job;
struct qmgr_relays;

struct qmgr_relay {
	struct qmgr_relays *set;
	const struct config_relay *rc;
	size_t index;
	struct relay_state *state;
	char *password;
	char *token;
	SSL_CTX *ssl;
	LIST_HEAD(, qmgr_conn) conns;
	unsigned nconns;
	int64_t last_probe;     /* when a cooling relay was last tried */
	unsigned signing;       /* its jobs on the signing workers */
	TAILQ_HEAD(, qmgr_job) waiting;
};

/* The relays of one config; sessions hold references. */
struct qmgr_relays {
	struct config *cfg;     /* owned when retired */
	struct qmgr_relay *v;
	size_t n;
	unsigned refs;
	bool retired;
	LIST_ENTRY(qmgr_relays) retired_link; /* in qmgr->retired */
};

struct qmgr_conn {
	struct qmgr *q;
	struct qmgr_relay *relay;
	struct smtpc_session *s;
	struct qmgr_job *job;
	bool ready;
	struct dns_addr addr;
	char addr_text[300];    /* host[ip]:port, for logs */
	bool listed;            /* in relay->conns */
	LIST_ENTRY(qmgr_conn) link;
};

/* Direct delivery: one recipient domain's share of a job, the
 * recipients job->rcpts[first .. first + n). */
struct qmgr_part {
	struct qmgr_job *job;
	struct direct_req *rq;  /* NULL once done */
	struct smtpc_msg msg;
	size_t first, n;
};

struct qmgr_job {
	struct qmgr *q;
	char id[QUEUE_ID_LEN + 1];
	enum queue_name queue;  /* where its envelope is */
	struct envelope env;
	int data_fd;
	struct buf head;        /* header section, with the empty line */
	uint64_t body_off;
	uint64_t data_len;
	uint64_t skip_mask;     /* relays tried in this round */
	struct qmgr_relay *relay;
	struct qmgr_conn *conn;
	struct smtpc_msg msg;
	struct smtpc_rcpt *rcpts;
	size_t *rcpt_env;       /* index in env.rcpts of each msg rcpt */
	struct buf send_head;   /* head as sent through this relay */
	char *sender;           /* as sent through this relay */
	double t_start, t_conn, t_send;  /* for the delays= of the log */
	char last_error[1024];
	struct qmgr_part *parts;  /* direct delivery */
	size_t nparts, parts_left;
	TAILQ_ENTRY(qmgr_job) link;
	LIST_ENTRY(qmgr_job) direct_link; /* in q->direct_jobs */
};

struct qmgr {
	struct ternd *td;
	struct qmgr_relays *relays;
	struct sched *sched;
	struct event *kick_ev;
	struct event *timer_ev;
	struct event *save_ev;  /* relay quotas to disk, now and then */
	unsigned njobs;
	LIST_HEAD(, qmgr_relays) retired; /* old relays with busy sessions */
	struct direct *direct;
	LIST_HEAD(, qmgr_job) direct_jobs; /* jobs with parts in flight */
	bool stopping;
};

static void qmgr_kick(struct qmgr *q);
static void qmgr_relays_free(struct qmgr_relays *set);
static void qmgr_route(struct qmgr_job *job);
static void qmgr_job_free(struct qmgr_job *job);

static int64_t
qmgr_now(void)
{
	return (int64_t)time(NULL);
}

static double
qmgr_now_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- relays */

/* Read a secret: the file must not be readable or writable by others
 * (the daemon refuses to start otherwise); first line, no newline. */
static char *
qmgr_read_secret(const char *path, const char *what, struct errbuf *eb)
{
	struct stat st;
	char *data, *nl;
	size_t len;

	if (stat(path, &st) < 0) {
		errbuf_errno(eb, errno, "%s %s", what, path);
		return NULL;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		errbuf_set(eb, "%s %s is readable or writable by others; make "
		    "it private: chmod 600 %s", what, path, path);
		return NULL;
	}
	if ((data = fileio_read_file(path, 65536, &len, eb)) == NULL)
		return NULL;
	if ((nl = strpbrk(data, "\r\n")) != NULL)
		*nl = '\0';
	return data;
}

static int
qmgr_relay_init(struct qmgr_relay *r, const struct config_relay *rc,
    size_t index, struct errbuf *eb)
{
	r->rc = rc;
	r->index = index;
	LIST_INIT(&r->conns);
	TAILQ_INIT(&r->waiting);
	if ((r->state = relay_state_new(rc->name)) == NULL)
		return errbuf_set(eb, "out of memory");
	if (rc->password_file != NULL && (r->password = qmgr_read_secret(
	    rc->password_file, "password_file", eb)) == NULL)
		return errbuf_prefix(eb, "relay %s", rc->name);
	if (rc->tls != CONFIG_TLS_NONE &&
	    (r->ssl = smtpc_tls_ctx_new(rc->tls_ca_file, eb)) == NULL)
		return errbuf_prefix(eb, "relay %s", rc->name);
	return 0;
}

static void
qmgr_relay_fini(struct qmgr_relay *r)
{
	if (r->state != NULL)
		relay_state_free(r->state);
	if (r->password != NULL) {
		OPENSSL_cleanse(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->token);
	if (r->ssl != NULL)
		SSL_CTX_free(r->ssl);
}

static void
qmgr_state_path(const struct config *cfg, char *out, size_t len)
{
	snprintf(out, len, "%s/state/relays", cfg->queue_dir);
}

static struct qmgr_relays *
qmgr_relays_new(struct config *cfg, struct errbuf *eb)
{
	struct qmgr_relays *set;
	struct relay_state **states;
	char path[QUEUE_PATH_MAX];
	unsigned bad = 0;
	size_t i;

	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->v = calloc(cfg->nrelays + 1, sizeof(*set->v))) == NULL) {
		free(set);
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	set->cfg = cfg;
	for (i = 0; i < cfg->nrelays; i++, set->n++) {
		set->v[i].set = set;
		if (qmgr_relay_init(&set->v[i], &cfg->relays[i], i, eb) < 0) {
			set->n++;
			qmgr_relays_free(set);
			return NULL;
		}
	}
	/* Quotas and cool-downs survive restarts and reloads. */
	if ((states = calloc(set->n + 1, sizeof(*states))) != NULL) {
		for (i = 0; i < set->n; i++)
			states[i] = set->v[i].state;
		qmgr_state_path(cfg, path, sizeof(path));
		if (relay_state_load(states, set->n, path, qmgr_now(), &bad,
		    eb) < 0 || bad > 0)
			log_msg(LOG_WARNING, "%s: %u unreadable lines ignored%s%s",
			    path, bad, eb->msg[0] ? ": " : "", eb->msg);
		free(states);
	}
	errbuf_clear(eb);
	return set;
}

static void
qmgr_relays_save(struct qmgr_relays *set)
{
	struct relay_state **states;
	char path[QUEUE_PATH_MAX];
	struct errbuf eb;
	size_t i;

	if (set->n == 0 || (states = calloc(set->n, sizeof(*states))) == NULL)
		return;
	for (i = 0; i < set->n; i++)
		states[i] = set->v[i].state;
	qmgr_state_path(set->cfg, path, sizeof(path));
	errbuf_clear(&eb);
	if (relay_state_save(states, set->n, path, &eb) < 0)
		log_msg(LOG_WARNING, "cannot save relay state: %s", eb.msg);
	free(states);
}

static void
qmgr_relays_free(struct qmgr_relays *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		qmgr_relay_fini(&set->v[i]);
	free(set->v);
	if (set->retired)
		config_free(set->cfg);
	free(set);
}

static void
qmgr_relays_unref(struct qmgr_relays *set)
{
	if (--set->refs == 0 && set->retired) {
		LIST_REMOVE(set, retired_link);
		qmgr_relays_free(set);
	}
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
	return job;
fail:
	job->q = NULL;
	qmgr_job_free(job);
	return NULL;
}

static void
qmgr_job_free(struct qmgr_job *job)
{
	/* A free slot: let the next due message in. */
	if (job->q != NULL) {
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

static size_t
qmgr_pending(const struct envelope *env)
{
	size_t i, n = 0;

	for (i = 0; i < env->nrcpts; i++)
		if (env->rcpts[i].state == ENVELOPE_RCPT_PENDING ||
		    env->rcpts[i].state == ENVELOPE_RCPT_DEFERRED)
			n++;
	return n;
}

/* ---------------------------------------------------------------- notices */

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
static void
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

static void
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
static void
qmgr_finish(struct qmgr_job *job)
{
	const char *qd = job->q->td->cfg->queue_dir;

	qmgr_notify(job, BOUNCE_FAILED, ENVELOPE_RCPT_BOUNCED);
	qmgr_notify(job, BOUNCE_RELAYED, ENVELOPE_RCPT_SENT);
	qmgr_remove(qd, job->queue, job->id, job->q->td->fsq_remove);
	maillog_removed(job->id);
	qmgr_job_free(job);
}

static void
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

/* No relay can take the pending recipients now: retry later, or give
 * up when the message has been queued longer than queue_lifetime. */
static void
qmgr_defer(struct qmgr_job *job, const char *why, int64_t at)
{
	struct qmgr *q = job->q;
	const struct config *cfg = q->td->cfg;
	int64_t now = qmgr_now(), arrival = job->env.arrival_us / 1000000;
	struct envelope_rcpt *r;
	struct errbuf eb;
	size_t i;

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
		log_msg(LOG_ERR, "%s: cannot save the envelope: %s", job->id,
		    eb.msg);
	} else if (job->queue != QUEUE_DEFERRED) {
		queue_unlink(cfg->queue_dir, job->queue, job->id);
	}
	sched_set(q->sched, job->id, job->env.next_attempt);
	qmgr_job_free(job); /* which lets the next due message in */
}

/* Record one recipient's fate in the envelope and the log.  dsn: the
 * server offered DSN, so it reports success itself. */
static void
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
static void
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
static void
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
	/* Keep what is done: a crash must not repeat it. */
	errbuf_clear(&eb);
	if (queue_env_store(qd, job->queue, job->id, &job->env, true,
	    &eb) < 0)
		log_msg(LOG_WARNING, "%s: cannot save progress: %s", job->id,
		    eb.msg);
	qmgr_route(job);
}

/* ---------------------------------------------------------------- sessions */

static void qmgr_conn_close(struct qmgr_conn *c);
static void qmgr_conn_unlist(struct qmgr_conn *c);
static void qmgr_conn_next(struct qmgr_conn *c);

static void
qmgr_send(struct qmgr_conn *c, struct qmgr_job *job)
{
	c->job = job;
	job->conn = c;
	job->t_send = qmgr_now_f();
	if (smtpc_send(c->s, &job->msg) < 0) {
		/* Not ready after all: wait for the next session. */
		c->job = NULL;
		job->conn = NULL;
		TAILQ_INSERT_HEAD(&c->relay->waiting, job, link);
	}
}

/* The session failed before or during a transaction, or no session
 * could be made: every job that relied on it goes elsewhere. */
static void
qmgr_conn_failed(struct qmgr_conn *c, const struct smtpc_outcome *out)
{
	struct qmgr_relay *r = c->relay;
	struct qmgr_job *job = c->job, *w;

	/* Sessions failing together are one outage: the cool-down grows
	 * once, not once per parallel session. */
	if (!relay_state_cooling(r->state, qmgr_now()))
		relay_state_failure(r->state, qmgr_now());
	log_msg(LOG_WARNING, "relay %s (%s): %s; not used until %lld s from "
	    "now", r->rc->name, c->addr_text, out->err[0] ? out->err :
	    out->reply.text, (long long)(relay_state_cool_until(r->state) -
	    qmgr_now()));
	c->job = NULL;
	if (job != NULL) {
		qmgr_apply(job, out, c->addr_text, false);
		qmgr_after_attempt(job);
	}
	/* Jobs queued behind this relay: route again (it is cooling). */
	while (r->nconns == 0 && (w = TAILQ_FIRST(&r->waiting)) != NULL) {
		TAILQ_REMOVE(&r->waiting, w, link);
		w->relay = NULL;
		qmgr_route(w);
	}
}

/* Whether the server announced the DSN extension (RFC 3461). */
static bool
qmgr_offers_dsn(const struct smtpc_session *s)
{
	const char *caps = smtpc_capabilities(s), *p;

	for (p = caps; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		while (*p == '\n' || *p == ' ')
			p++;
		if (strncasecmp(p, "DSN", 3) == 0 &&
		    (p[3] == '\0' || p[3] == '\n' || p[3] == '\r' ||
		    p[3] == ' '))
			return true;
	}
	return false;
}

static void
qmgr_on_smtpc(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg)
{
	struct qmgr_conn *c = arg;
	struct qmgr_job *job;

	(void)s;
	switch (ev) {
	case SMTPC_EV_READY:
		c->ready = true;
		relay_state_success(c->relay->state);
		if (c->job != NULL) {
			c->job->t_conn = qmgr_now_f();
			job = c->job;
			c->job = NULL;
			qmgr_send(c, job);
		} else {
			qmgr_conn_next(c);
		}
		break;
	case SMTPC_EV_SENT:
		job = c->job;
		c->job = NULL;
		if (job != NULL) {
			qmgr_apply(job, out, c->addr_text,
			    qmgr_offers_dsn(c->s));
			qmgr_after_attempt(job);
		}
		qmgr_conn_next(c);
		break;
	case SMTPC_EV_FAILED:
		qmgr_conn_unlist(c); /* so rerouting cannot pick it again */
		/* A server closing a session we kept idle is no fault of
		 * the relay. */
		if (c->ready && c->job == NULL)
			log_msg(LOG_INFO, "relay %s: idle session closed: %s",
			    c->relay->rc->name, out->err);
		else
			qmgr_conn_failed(c, out);
		qmgr_conn_close(c);
		break;
	case SMTPC_EV_CLOSED:
		qmgr_conn_close(c);
		break;
	}
}

/* An idle session takes the next job waiting for its relay. */
static void
qmgr_conn_next(struct qmgr_conn *c)
{
	struct qmgr_job *job;

	if (c->relay->set->retired || c->q->stopping) {
		smtpc_quit(c->s);
		return;
	}
	if ((job = TAILQ_FIRST(&c->relay->waiting)) == NULL)
		return;
	TAILQ_REMOVE(&c->relay->waiting, job, link);
	job->t_conn = qmgr_now_f();
	qmgr_send(c, job);
}

static void
qmgr_conn_unlist(struct qmgr_conn *c)
{
	if (!c->listed)
		return;
	LIST_REMOVE(c, link);
	c->relay->nconns--;
	c->listed = false;
}

static void
qmgr_conn_close(struct qmgr_conn *c)
{
	struct qmgr_relays *set = c->relay->set;

	qmgr_conn_unlist(c);
	if (c->s != NULL)
		smtpc_free(c->s);
	free(c);
	qmgr_relays_unref(set);
}

/* Run oauth2_token_command for a relay; the token is kept for the
 * relay's next sessions only while it works (a failed AUTH drops it). */
static void
qmgr_relay_token(struct qmgr_relay *r)
{
	char line[8192];
	FILE *p;

	if (r->rc->oauth2_token_command == NULL)
		return;
	free(r->token);
	r->token = NULL;
	if ((p = popen(r->rc->oauth2_token_command, "r")) == NULL)
		return;
	if (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		r->token = strdup(line);
	}
	if (pclose(p) != 0 && r->token != NULL) {
		log_msg(LOG_WARNING, "relay %s: oauth2_token_command failed",
		    r->rc->name);
		free(r->token);
		r->token = NULL;
	}
}

static void
qmgr_conn_start(struct qmgr_conn *c)
{
	struct qmgr_relay *r = c->relay;
	const struct config *cfg = c->q->td->cfg;
	struct smtpc_config sc;
	struct smtpc_outcome out;

	qmgr_relay_token(r);
	memset(&sc, 0, sizeof(sc));
	sc.host = r->rc->host;
	memcpy(&sc.addr, &c->addr.sa, sizeof(sc.addr));
	sc.addrlen = c->addr.len;
	sc.tls = (enum smtpc_tls_mode)r->rc->tls;
	sc.tls_verify = r->rc->tls_verify != 0;
	sc.ssl_ctx = r->ssl;
	sc.auth = (enum smtpc_auth_mode)r->rc->auth;
	sc.username = r->rc->username;
	sc.password = r->password;
	sc.oauth2_token = r->token;
	sc.helo_name = cfg->hostname;
	sc.connect_timeout = (unsigned)r->rc->connect_timeout;
	sc.command_timeout = (unsigned)r->rc->command_timeout;
	sc.idle_timeout = QMGR_IDLE_TIMEOUT;
	c->s = smtpc_new(c->q->td->base, &sc, qmgr_on_smtpc, c);
	if (c->s == NULL) {
		memset(&out, 0, sizeof(out));
		out.stage = SMTPC_STAGE_CONNECT;
		snprintf(out.err, sizeof(out.err), "out of memory");
		qmgr_conn_unlist(c);
		qmgr_conn_failed(c, &out);
		qmgr_conn_close(c);
	}
}

static void
qmgr_on_resolved(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	struct qmgr_conn *c = arg;
	struct smtpc_outcome out;
	char ip[64] = "?";

	if (st == DNS_OK && n > 0) {
		c->addr = addrs[0];
		if (c->addr.sa.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
			    &c->addr.sa)->sin6_addr, ip, sizeof(ip));
		else
			inet_ntop(AF_INET, &((struct sockaddr_in *)
			    &c->addr.sa)->sin_addr, ip, sizeof(ip));
		snprintf(c->addr_text, sizeof(c->addr_text), "%s[%s]:%u",
		    c->relay->rc->host, ip, (unsigned)c->relay->rc->port);
		qmgr_conn_start(c);
		return;
	}
	memset(&out, 0, sizeof(out));
	out.stage = SMTPC_STAGE_CONNECT;
	snprintf(out.err, sizeof(out.err), "%s", err ? err :
	    "DNS lookup failed");
	if (st == DNS_ECANCELLED) {
		qmgr_conn_close(c);
		return;
	}
	qmgr_conn_unlist(c);
	qmgr_conn_failed(c, &out);
	qmgr_conn_close(c);
}

/* A new session for relay r, carrying job once it is ready. */
static void
qmgr_conn_new(struct qmgr *q, struct qmgr_relay *r, struct qmgr_job *job)
{
	struct errbuf eb;
	struct qmgr_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		qmgr_defer(job, "out of memory", 0);
		return;
	}
	c->q = q;
	c->relay = r;
	c->job = job;
	job->conn = c;
	snprintf(c->addr_text, sizeof(c->addr_text), "%s:%u", r->rc->host,
	    (unsigned)r->rc->port);
	LIST_INSERT_HEAD(&r->conns, c, link);
	c->listed = true;
	r->nconns++;
	r->set->refs++;
	errbuf_clear(&eb);
	if (dns_resolve(q->td->dns, r->rc->host, (uint16_t)r->rc->port,
	    qmgr_on_resolved, c, &eb) < 0) {
		struct smtpc_outcome out;

		memset(&out, 0, sizeof(out));
		out.stage = SMTPC_STAGE_CONNECT;
		snprintf(out.err, sizeof(out.err), "%s", eb.msg);
		qmgr_conn_unlist(c);
		qmgr_conn_failed(c, &out);
		qmgr_conn_close(c);
	}
}

/* ---------------------------------------------------------------- routing */

/* The header section as this relay must see it: with the relay's own
 * account in From when [relay] from is set.  The original From moves to
 * Reply-To (when there is none), so replies still reach the author. */
static int
qmgr_relay_head(struct qmgr_job *job, const struct config_relay *rc)
{
	struct header_block hb;
	struct buf *out = &job->send_head;
	const struct header_field *f;
	const struct header_field *from = NULL;
	struct errbuf eb;
	size_t i;
	int rc_ = 0;

	buf_reset(out);
	header_block_init(&hb);
	if (header_parse(job->head.data, job->head.len, &hb, &eb) < 0)
		return -1;
	for (i = 0; i < hb.n && rc_ == 0; i++) {
		f = &hb.v[i];
		if (header_is(f, "From") && from == NULL) {
			from = f;
			rc_ = buf_puts(out, "From: ");
			if (rc_ == 0 && rc->from_name != NULL)
				rc_ = rfc2047_encode_phrase(rc->from_name, 6,
				    out) < 0 || buf_puts(out, " ") < 0 ? -1 : 0;
			if (rc_ == 0)
				rc_ = buf_printf(out, "<%s>\n", rc->from);
		} else {
			rc_ = buf_append(out, f->text, f->len);
		}
	}
	if (rc_ == 0 && from != NULL && header_find(&hb, "Reply-To", 0) < 0)
		rc_ = buf_puts(out, "Reply-To:") < 0 || buf_append(out,
		    from->text + from->value_off, from->len -
		    from->value_off) < 0 ? -1 : 0;
	if (rc_ == 0)
		rc_ = buf_putc(out, '\n');
	header_block_fini(&hb);
	return rc_;
}

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

/*
 * DKIM: when a [dkim] section signs for the From domain of the message
 * as it leaves (after a relay's from rewrite), the signature goes
 * before its header section.  Signing costs a millisecond or more of
 * CPU (RSA), so it runs on the td->fsq_sign workers and the job waits,
 * in no queue, until qmgr_sign_done takes it on.  A failure to sign is
 * logged and the message goes unsigned: a signature helps delivery, its
 * absence does not stop it.
 */

/* What to do with a job once it is signed. */
enum qmgr_next {
	QMGR_NEXT_ASSIGN,   /* a session of task->relay */
	QMGR_NEXT_WAIT,     /* task->relay's line, behind its probe */
	QMGR_NEXT_DIRECT,   /* the recipient domains' MX hosts */
};

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

static void qmgr_assign_ready(struct qmgr_job *job, struct qmgr_relay *r);
static void qmgr_direct_dispatch(struct qmgr_job *job);

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

/* A ready session of r without a job, or NULL. */
static struct qmgr_conn *
qmgr_relay_idle(struct qmgr_relay *r)
{
	struct qmgr_conn *c;

	LIST_FOREACH(c, &r->conns, link)
		if (c->ready && c->job == NULL)
			return c;
	return NULL;
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
static bool
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

/* Fill job->msg for relay rc (NULL: direct delivery): the pending
 * recipients, the sender and header section the server must see. */
static int
qmgr_prepare(struct qmgr_job *job, const struct config_relay *rc)
{
	const char *from = rc != NULL ? rc->from : NULL;
	struct smtpc_msg *m = &job->msg;
	size_t i, n = 0;

	free(job->rcpts);
	free(job->rcpt_env);
	job->rcpts = calloc(job->env.nrcpts, sizeof(*job->rcpts));
	job->rcpt_env = calloc(job->env.nrcpts, sizeof(*job->rcpt_env));
	if (job->rcpts == NULL || job->rcpt_env == NULL)
		return -1;
	for (i = 0; i < job->env.nrcpts; i++) {
		const struct envelope_rcpt *er = &job->env.rcpts[i];
		if (er->state != ENVELOPE_RCPT_PENDING &&
		    er->state != ENVELOPE_RCPT_DEFERRED)
			continue;
		job->rcpts[n].addr = er->addr;
		job->rcpts[n].notify = er->notify;
		job->rcpts[n].orcpt = er->orcpt;
		job->rcpt_env[n++] = i;
	}
	memset(m, 0, sizeof(*m));
	m->rcpts = job->rcpts;
	m->nrcpts = n;
	free(job->sender);
	job->sender = strdup(from != NULL ? from : job->env.sender);
	if (job->sender == NULL)
		return -1;
	m->sender = job->sender;
	m->body_8bit = job->env.body == ENVELOPE_BODY_8BITMIME;
	m->smtputf8 = job->env.smtputf8;
	m->requiretls = job->env.requiretls;
	m->ret = job->env.ret;
	m->envid = job->env.envid;
	buf_reset(&job->send_head);
	if (from != NULL && qmgr_relay_head(job, rc) == 0) {
		m->head = job->send_head.data;
		m->head_len = job->send_head.len;
	} else {
		m->head = job->head.data;
		m->head_len = job->head.len;
	}
	m->body_fd = job->data_fd;
	m->body_off = (off_t)job->body_off;
	m->body_len = job->data_len - job->body_off;
	m->size = m->head_len + m->body_len;
	return 0;
}

/* Hand the job to relay r, once prepared and signed. */
static void
qmgr_assign(struct qmgr_job *job, struct qmgr_relay *r)
{
	job->relay = r;
	if (qmgr_prepare(job, r->rc) < 0) {
		qmgr_defer(job, "out of memory", 0);
		return;
	}
	if (!qmgr_sign(job, r, QMGR_NEXT_ASSIGN))
		qmgr_assign_ready(job, r);
}

/* The job is prepared (and signed): an idle session of r, a new one,
 * or r's line. */
static void
qmgr_assign_ready(struct qmgr_job *job, struct qmgr_relay *r)
{
	struct qmgr_conn *c;

	if ((c = qmgr_relay_idle(r)) != NULL) {
		job->t_conn = qmgr_now_f();
		qmgr_send(c, job);
		return;
	}
	if (r->nconns < r->rc->max_connections)
		qmgr_conn_new(job->q, r, job);
	else
		TAILQ_INSERT_TAIL(&r->waiting, job, link);
}

/* Log the recipients deferred without an attempt, as Postfix logs
 * "delivery temporarily suspended". */
static void
qmgr_suspended(struct qmgr_job *job, const struct qmgr_relay *r)
{
	struct envelope_rcpt *er;
	char text[1200];
	size_t i;

	snprintf(text, sizeof(text), "delivery temporarily suspended: relay "
	    "%s is failing%s%s", r->rc->name, job->env.last_error ? ": " : "",
	    job->env.last_error ? job->env.last_error : "");
	for (i = 0; i < job->env.nrcpts; i++) {
		er = &job->env.rcpts[i];
		if (er->state == ENVELOPE_RCPT_PENDING ||
		    er->state == ENVELOPE_RCPT_DEFERRED)
			qmgr_log_rcpt(job, er, "none", "deferred", text);
	}
}

/*
 * Every relay is cooling down and r is the one to try.  Try it with one
 * message at a time (a probe), at most once per retry_min: the others
 * wait behind the probe, or are deferred when it failed a moment ago.
 * Without this, mail for a dead relay would each make a connection.
 * Returns true when the job was queued or deferred, false when it is
 * the probe.
 */
static bool
qmgr_probe_wait(struct qmgr_job *job, struct qmgr_relay *r)
{
	int64_t now = qmgr_now();
	int64_t next = r->last_probe + (int64_t)job->q->td->cfg->retry_min;

	/* A probe is under way: its session, or its job being signed. */
	if (r->nconns > 0 || r->signing > 0) {
		job->relay = r;
		if (qmgr_prepare(job, r->rc) < 0) {
			qmgr_defer(job, "out of memory", 0);
			return true;
		}
		relay_state_count(r->state, now);
		if (!qmgr_sign(job, r, QMGR_NEXT_WAIT))
			TAILQ_INSERT_TAIL(&r->waiting, job, link);
		return true;
	}
	if (r->last_probe != 0 && now < next) {
		qmgr_suspended(job, r);
		qmgr_defer(job, job->last_error[0] ? job->last_error :
		    "every relay is failing; waiting for the next try", next);
		return true;
	}
	r->last_probe = now;
	return false;
}

/* ---------------------------------------------------------------- direct */

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
static void
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
static void
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

static void
qmgr_route(struct qmgr_job *job)
{
	struct qmgr *q = job->q;
	struct qmgr_relays *set = q->relays;
	struct relay_state *states[64];
	struct relay_limits limits[64];
	int64_t retry_at = 0;
	size_t i, n = set->n < 64 ? set->n : 64;
	int pick;

	if (q->stopping) {
		qmgr_job_free(job); /* its envelope on disk is unchanged */
		return;
	}
	if (q->td->cfg->delivery == CONFIG_DELIVERY_DIRECT) {
		qmgr_direct(job);
		return;
	}
	if (n == 0) {
		qmgr_defer(job, "delivery = relay, and no [relay] is "
		    "configured", 0);
		return;
	}
	for (i = 0; i < n; i++) {
		states[i] = set->v[i].state;
		limits[i].max_per_hour = set->v[i].rc->max_per_hour;
		limits[i].max_per_day = set->v[i].rc->max_per_day;
		limits[i].max_conns = ~0U;
	}
	pick = relay_state_pick(states, limits, n, job->skip_mask, qmgr_now(),
	    &retry_at);
	if (pick >= 0 && relay_state_cooling(set->v[pick].state, qmgr_now()) &&
	    qmgr_probe_wait(job, &set->v[pick]))
		return;
	if (pick >= 0) {
		/* Count against the quota now, not when the relay answers:
		 * messages assigned together must not all pass the check. */
		relay_state_count(set->v[pick].state, qmgr_now());
		qmgr_assign(job, &set->v[pick]);
		return;
	}
	if ((job->skip_mask & ((n >= 64 ? 0 : 1ULL << n) - 1)) ==
	    (n >= 64 ? ~0ULL : (1ULL << n) - 1))
		qmgr_defer(job, job->last_error[0] ? job->last_error :
		    "every relay failed", 0);
	else
		qmgr_defer(job, "every relay is over its quota "
		    "(max_per_hour, max_per_day)", retry_at);
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
qmgr_flush(struct qmgr *q)
{
	log_msg(LOG_INFO, "flush: retrying %zu deferred messages now",
	    sched_count(q->sched));
	size_t i;

	for (i = 0; i < q->relays->n; i++)
		q->relays->v[i].last_probe = 0;
	sched_flush(q->sched, qmgr_now());
	qmgr_kick(q);
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

/* Idle sessions of retired relays close now; busy ones after their
 * transaction (qmgr_conn_next). */
static void
qmgr_relays_quit_idle(struct qmgr_relays *set)
{
	struct qmgr_conn *c;
	size_t i;

	for (i = 0; i < set->n; i++)
		LIST_FOREACH(c, &set->v[i].conns, link)
			if (c->ready && c->job == NULL && c->s != NULL)
				smtpc_quit(c->s);
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

/* Abandon in-flight work of one relay set: the envelopes on disk still
 * list those recipients as pending, so the next start retries them
 * (at least once). */
static void
qmgr_shutdown_set(struct qmgr_relays *set)
{
	struct qmgr_conn *c, *next;
	struct qmgr_job *job;
	size_t i;

	set->refs++; /* closing the last session must not free it here */
	for (i = 0; i < set->n; i++) {
		while ((job = TAILQ_FIRST(&set->v[i].waiting)) != NULL) {
			TAILQ_REMOVE(&set->v[i].waiting, job, link);
			qmgr_job_free(job);
		}
		for (c = LIST_FIRST(&set->v[i].conns); c != NULL; c = next) {
			next = LIST_NEXT(c, link);
			if (c->job != NULL)
				qmgr_job_free(c->job);
			c->job = NULL;
			/* A session still waiting for DNS is closed by the
			 * lookup's cancellation when ternd frees DNS. */
			if (c->s != NULL)
				qmgr_conn_close(c);
		}
	}
	qmgr_relays_unref(set);
}

void
qmgr_shutdown(struct qmgr *q)
{
	struct qmgr_relays *set, *next;
	struct qmgr_job *job;
	size_t i;

	q->stopping = true;
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
