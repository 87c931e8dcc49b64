/*
 * qmgr_conn: the queue manager's SMTP sessions to relays — resolving the
 * relay, getting its OAuth2 token (oauth2.h: cached, fetched without
 * blocking the loop, dropped when the server refuses it), starting the
 * session (with its password or token),
 * smtpc's events carried into the jobs, a ready session taking the next
 * job in its relay's line, and closing a relay set's sessions on reload
 * and shutdown.
 *
 * A session (conn) holds a reference to its relay set from creation
 * until it closes, and is counted in relay->nconns while listed; it is
 * unlisted before rerouting so a failing session is never picked again.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <openssl/crypto.h>

#include "dns.h"
#include "log.h"
#include "oauth2.h"
#include "qmgr_int.h"
#include "relay_state.h"
#include "smtpc.h"

#define QMGR_IDLE_TIMEOUT 30

static void qmgr_conn_close(struct qmgr_conn *c);
static void qmgr_conn_unlist(struct qmgr_conn *c);
static void qmgr_conn_next(struct qmgr_conn *c);

void
qmgr_send(struct qmgr_conn *c, struct qmgr_job *job)
{
	/* Held or deleted while it waited for a session: never sent. */
	if (job->mark != QMGR_MARK_NONE) {
		job->relay = NULL;
		qmgr_ctl_park(job, NULL);
		qmgr_conn_next(c);
		return;
	}
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

/* No session could be made (stage, why): fail it and close it. */
static void
qmgr_conn_abort(struct qmgr_conn *c, enum smtpc_stage stage,
    const char *why)
{
	struct smtpc_outcome out;

	memset(&out, 0, sizeof(out));
	out.stage = stage;
	snprintf(out.err, sizeof(out.err), "%s", why);
	qmgr_conn_unlist(c);
	qmgr_conn_failed(c, &out);
	qmgr_conn_close(c);
}

/*
 * The session's AUTH failed: when the server says the token is no
 * good (oauth2_auth_refused), it is not handed out again; and when it
 * came from the cache, the job tries again at once on a new session
 * with a token fetched for it, instead of counting as the relay's
 * failure.  Returns true when the job was taken care of so.
 */
static bool
qmgr_conn_token_refused(struct qmgr_conn *c,
    const struct smtpc_outcome *out)
{
	struct qmgr_relay *r = c->relay;
	struct qmgr_job *job = c->job;

	if (c->token == NULL || r->oauth2 == NULL ||
	    !oauth2_auth_refused(out))
		return false;
	oauth2_refused(r->oauth2, c->token_gen);
	if (c->token_fresh || job == NULL || r->set->retired ||
	    c->q->stopping)
		return false;
	log_msg(LOG_INFO, "relay %s (%s): the cached OAuth2 token was "
	    "refused (%s); fetching a new one", r->rc->name, c->addr_text,
	    out->err[0] ? out->err : out->reply.text);
	c->job = NULL;
	job->conn = NULL;
	qmgr_conn_new(c->q, r, job);
	return true;
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
			    smtpc_offers_dsn(c->s));
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
		else if (!qmgr_conn_token_refused(c, out))
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
	oauth2_cancel(c->wait);
	if (c->token != NULL) {
		OPENSSL_cleanse(c->token, strlen(c->token));
		free(c->token);
	}
	free(c);
	qmgr_relays_unref(set);
}

static void
qmgr_conn_start(struct qmgr_conn *c)
{
	struct qmgr_relay *r = c->relay;
	const struct config *cfg = c->q->td->cfg;
	struct smtpc_config sc;

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
	sc.oauth2_token = c->token;
	sc.helo_name = cfg->hostname;
	sc.connect_timeout = (unsigned)r->rc->connect_timeout;
	sc.command_timeout = (unsigned)r->rc->command_timeout;
	sc.idle_timeout = QMGR_IDLE_TIMEOUT;
	c->s = smtpc_new(c->q->td->base, &sc, qmgr_on_smtpc, c);
	if (c->s == NULL)
		qmgr_conn_abort(c, SMTPC_STAGE_CONNECT, "out of memory");
}

/* The session's own copy of the token: the relay's may be replaced
 * while the session still needs it. */
static void
qmgr_conn_take_token(struct qmgr_conn *c, const char *token, uint64_t gen,
    bool fresh)
{
	if ((c->token = strdup(token)) == NULL) {
		qmgr_conn_abort(c, SMTPC_STAGE_AUTH, "out of memory");
		return;
	}
	c->token_gen = gen;
	c->token_fresh = fresh;
	qmgr_conn_start(c);
}

static void
qmgr_on_token(enum oauth2_status st, const char *token, uint64_t gen,
    const char *err, void *arg)
{
	struct qmgr_conn *c = arg;
	char why[ERRBUF_SIZE];

	c->wait = NULL;
	if (st == OAUTH2_OK)
		qmgr_conn_take_token(c, token, gen, true);
	else if (st == OAUTH2_CANCELLED)
		qmgr_conn_close(c);     /* ternd stops */
	else {
		snprintf(why, sizeof(why), "no OAuth2 token: %s", err);
		qmgr_conn_abort(c, SMTPC_STAGE_AUTH, why);
	}
}

/* Start the session, with an OAuth2 token first when the relay uses
 * one: from the cache, or once the fetch under way ends. */
static void
qmgr_conn_token(struct qmgr_conn *c)
{
	struct qmgr_relay *r = c->relay;
	const char *token;
	struct errbuf eb;
	uint64_t gen;

	if (r->oauth2 == NULL) {
		qmgr_conn_start(c);
		return;
	}
	errbuf_clear(&eb);
	switch (oauth2_get(r->oauth2, c->q->td->base, c->q->td->dns,
	    qmgr_on_token, c, &token, &gen, &c->wait, &eb)) {
	case 1:
		qmgr_conn_take_token(c, token, gen, false);
		break;
	case 0:
		break;
	default:
		qmgr_conn_abort(c, SMTPC_STAGE_AUTH, eb.msg);
		break;
	}
}

static void
qmgr_on_resolved(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	struct qmgr_conn *c = arg;
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
		qmgr_conn_token(c);
		return;
	}
	if (st == DNS_ECANCELLED) {
		qmgr_conn_close(c);
		return;
	}
	qmgr_conn_abort(c, SMTPC_STAGE_CONNECT, err ? err :
	    "DNS lookup failed");
}

/* A new session for relay r, carrying job once it is ready. */
void
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
	    qmgr_on_resolved, c, &eb) < 0)
		qmgr_conn_abort(c, SMTPC_STAGE_CONNECT, eb.msg);
}

/* A ready session of r without a job, or NULL. */
struct qmgr_conn *
qmgr_relay_idle(struct qmgr_relay *r)
{
	struct qmgr_conn *c;

	LIST_FOREACH(c, &r->conns, link)
		if (c->ready && c->job == NULL)
			return c;
	return NULL;
}

/* Idle sessions of retired relays close now; busy ones after their
 * transaction (qmgr_conn_next). */
void
qmgr_relays_quit_idle(struct qmgr_relays *set)
{
	struct qmgr_conn *c;
	size_t i;

	for (i = 0; i < set->n; i++)
		LIST_FOREACH(c, &set->v[i].conns, link)
			if (c->ready && c->job == NULL && c->s != NULL)
				smtpc_quit(c->s);
}

/* Abandon in-flight work of one relay set: the envelopes on disk still
 * list those recipients as pending, so the next start retries them
 * (at least once). */
void
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
			if (c->s != NULL || c->wait != NULL)
				qmgr_conn_close(c);
		}
	}
	qmgr_relays_unref(set);
}
