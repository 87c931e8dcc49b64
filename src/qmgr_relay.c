/*
 * qmgr_relay: the queue manager's relays — a relay set per config (its
 * secrets read, its health and quotas loaded from and saved to
 * state/relays), and routing: which relay a job goes to (priority,
 * quotas, cool-downs, one probe at a time for a failing relay), the
 * message prepared for it (with the relay's From rewrite), and the job
 * handed to a session or to the relay's line.
 *
 * A relay set is freed only when no session or signing task holds it
 * (refs) and it has been retired by a reload, or by qmgr_free.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "fileio.h"
#include "header.h"
#include "log.h"
#include "qmgr_int.h"
#include "queue.h"
#include "relay_state.h"
#include "rfc2047.h"
#include "smtpc.h"

/* ---------------------------------------------------------------- relays */

/* The relay's token source, its client secret read now (at start and
 * on every reload). */
static int
qmgr_relay_oauth2(struct qmgr_relay *r, const struct config_relay *rc,
    struct errbuf *eb)
{
	char *secret = NULL;

	if (rc->oauth2_token_command == NULL && rc->oauth2_token_url == NULL)
		return 0;
	if (rc->oauth2_token_command == NULL &&
	    rc->oauth2_client_secret_file != NULL &&
	    (secret = fileio_read_secret(rc->oauth2_client_secret_file,
	    "oauth2_client_secret_file", eb)) == NULL)
		return errbuf_prefix(eb, "relay %s", rc->name);
	r->oauth2 = oauth2_new(rc, secret, eb);
	if (secret != NULL) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
	return r->oauth2 != NULL ? 0 : errbuf_prefix(eb, "relay %s",
	    rc->name);
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
	if (rc->password_file != NULL && (r->password = fileio_read_secret(
	    rc->password_file, "password_file", eb)) == NULL)
		return errbuf_prefix(eb, "relay %s", rc->name);
	if (rc->tls != CONFIG_TLS_NONE &&
	    (r->ssl = smtpc_tls_ctx_new(rc->tls_ca_file, eb)) == NULL)
		return errbuf_prefix(eb, "relay %s", rc->name);
	return qmgr_relay_oauth2(r, rc, eb);
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
	oauth2_free(r->oauth2);
	if (r->ssl != NULL)
		SSL_CTX_free(r->ssl);
}

static void
qmgr_state_path(const struct config *cfg, char *out, size_t len)
{
	snprintf(out, len, "%s/state/relays", cfg->queue_dir);
}

struct qmgr_relays *
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

void
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

void
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

void
qmgr_relays_unref(struct qmgr_relays *set)
{
	if (--set->refs == 0 && set->retired) {
		LIST_REMOVE(set, retired_link);
		qmgr_relays_free(set);
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

/* Fill job->msg for relay rc (NULL: direct delivery): the pending
 * recipients, the sender and header section the server must see. */
int
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
void
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

void
qmgr_route(struct qmgr_job *job)
{
	struct qmgr *q = job->q;
	struct qmgr_relays *set = q->relays;
	struct relay_state *states[64];
	struct relay_limits limits[64];
	int64_t retry_at = 0;
	size_t i, n = set->n < 64 ? set->n : 64;
	int pick;

	if (job->mark != QMGR_MARK_NONE) {
		qmgr_ctl_park(job, NULL);
		return;
	}
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
