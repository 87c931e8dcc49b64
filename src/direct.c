/*
 * direct: delivery to the recipient domains' MX hosts (see direct.h).
 *
 * A request's life: MX lookup -> plan (mx.c) -> for each host in turn:
 * an idle session of the destination to that host, or a new one (the
 * host's addresses resolved, tried one by one until a session is
 * ready), or a place in the destination's line when it has its
 * direct_max_connections -> one transaction for the pending recipients
 * -> each recipient delivered, bounced, or kept for the next host ->
 * when no host is left, the kept ones are deferred.  This file holds
 * the requests, the planning and the results; direct_conn.c the
 * sessions and the destinations' lines.
 *
 * Ownership: a request is owned by its caller until done or cancelled;
 * while a DNS answer for it is outstanding (the MX lookup) the answer's
 * callback frees a cancelled request.  A session (conn) holds a slot of
 * its destination from the moment its host is resolved until it
 * closes; a conn waiting for its host's addresses is freed by that
 * lookup's callback.  Destinations and settings (snapshots of the
 * config, with their TLS contexts) are reference-counted, so a reload
 * never pulls them from under a session.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "direct_int.h"
#include "log.h"
#include "mx.h"
#include "str.h"

/* ---------------------------------------------------------------- settings */

void
direct_snap_unref(struct direct_snap *sn)
{
	size_t i;

	if (sn == NULL || --sn->refs > 0)
		return;
	for (i = 0; i < sn->npol; i++) {
		free(sn->pol[i].domain);
		free(sn->pol[i].tls_ca_file);
		if (sn->pol_ctx[i] != NULL)
			SSL_CTX_free(sn->pol_ctx[i]);
	}
	free(sn->pol);
	free(sn->pol_ctx);
	if (sn->ctx != NULL)
		SSL_CTX_free(sn->ctx);
	free(sn->hostname);
	free(sn);
}

static int
direct_snap_policies(struct direct_snap *sn, const struct config *cfg,
    struct errbuf *eb)
{
	const struct config_tls_policy *p;
	size_t i;

	sn->pol = calloc(cfg->ntls_policies + 1, sizeof(*sn->pol));
	sn->pol_ctx = calloc(cfg->ntls_policies + 1, sizeof(*sn->pol_ctx));
	if (sn->pol == NULL || sn->pol_ctx == NULL)
		return errbuf_set(eb, "out of memory");
	for (i = 0; i < cfg->ntls_policies; i++, sn->npol++) {
		p = &cfg->tls_policies[i];
		sn->pol[i] = *p;
		sn->pol[i].domain = strdup(p->domain);
		sn->pol[i].tls_ca_file = p->tls_ca_file != NULL ?
		    strdup(p->tls_ca_file) : NULL;
		if (sn->pol[i].domain == NULL || (p->tls_ca_file != NULL &&
		    sn->pol[i].tls_ca_file == NULL))
			return errbuf_set(eb, "out of memory");
		if (p->tls_ca_file != NULL && (sn->pol_ctx[i] =
		    smtpc_tls_ctx_new(p->tls_ca_file, eb)) == NULL)
			return errbuf_prefix(eb, "[tls %s]", p->domain);
	}
	return 0;
}

static struct direct_snap *
direct_snap_new(const struct config *cfg, struct errbuf *eb)
{
	struct direct_snap *sn;

	if ((sn = calloc(1, sizeof(*sn))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	sn->refs = 1;
	sn->port = (uint16_t)cfg->direct_port;
	sn->max_conns = (unsigned)cfg->direct_max_connections;
	if ((sn->hostname = strdup(cfg->hostname)) == NULL)
		errbuf_set(eb, "out of memory");
	else if ((sn->ctx = smtpc_tls_ctx_new(NULL, eb)) != NULL &&
	    direct_snap_policies(sn, cfg, eb) == 0)
		return sn;
	direct_snap_unref(sn);
	return NULL;
}

/* ---------------------------------------------------------------- destinations */

static unsigned
direct_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % DIRECT_BUCKETS;
}

static struct direct_dest *
direct_dest_get(struct direct *d, const char *domain)
{
	char key[256];
	struct direct_dest *dest;
	size_t i;
	unsigned b;

	for (i = 0; domain[i] != '\0' && i < sizeof(key) - 1; i++)
		key[i] = (char)tolower((unsigned char)domain[i]);
	key[i] = '\0';
	b = direct_hash(key);
	for (dest = d->buckets[b]; dest != NULL; dest = dest->next)
		if (strcmp(dest->domain, key) == 0) {
			dest->refs++;
			return dest;
		}
	if ((dest = calloc(1, sizeof(*dest))) == NULL)
		return NULL;
	dest->d = d;
	dest->refs = 1;
	memcpy(dest->domain, key, i + 1);
	LIST_INIT(&dest->conns);
	TAILQ_INIT(&dest->waiting);
	dest->next = d->buckets[b];
	d->buckets[b] = dest;
	return dest;
}

void
direct_dest_unref(struct direct_dest *dest)
{
	struct direct_dest **pp;

	if (--dest->refs > 0)
		return;
	pp = &dest->d->buckets[direct_hash(dest->domain)];
	while (*pp != dest)
		pp = &(*pp)->next;
	*pp = dest->next;
	free(dest);
}

/* ---------------------------------------------------------------- requests */

static void
direct_req_free(struct direct_req *rq)
{
	direct_dest_unref(rq->dest);
	direct_snap_unref(rq->snap);
	free(rq->rcpts);
	free(rq->map);
	free(rq);
}

static void
direct_settle(struct direct_req *rq, size_t k, enum route_action a,
    const char *status, const char *text, const char *relay, bool dsn)
{
	struct direct_result res;

	res.reply = relay[0] != '\0' && strcmp(relay, "none") != 0 &&
	    rq->rcpts[k].reply.code != 0 ? &rq->rcpts[k].reply : NULL;
	res.action = a;
	res.status = status;
	res.text = text;
	res.relay = relay;
	res.dsn = dsn;
	res.t_conn = res.reply != NULL ? rq->t_conn : 0;
	res.t_send = res.reply != NULL ? rq->t_send : 0;
	rq->rcpt_cb(rq->arg, rq->map[k], &res);
}

/* Every recipient is settled: tell the caller, forget the request. */
static void
direct_finish(struct direct_req *rq)
{
	rq->done_cb(rq->arg);
	direct_req_free(rq);
}

/* Settle every pending recipient alike, then finish. */
static void
direct_settle_all(struct direct_req *rq, enum route_action a,
    const char *status, const char *text, const char *relay)
{
	size_t k;

	for (k = 0; k < rq->nleft; k++)
		direct_settle(rq, k, a, status, text, relay, false);
	rq->nleft = 0;
	direct_finish(rq);
}

/* No host is left: the pending recipients wait for the next round,
 * or bounce when the last host's answer was permanent (a host passed
 * over for lack of SMTPUTF8 or REQUIRETLS). */
void
direct_exhausted(struct direct_req *rq)
{
	direct_settle_all(rq, rq->last_status[0] == '5' ? ROUTE_BOUNCE :
	    ROUTE_NEXT_HOST, rq->last_status[0] ?
	    rq->last_status : "4.4.1", rq->last_err[0] ? rq->last_err :
	    "no MX host could be reached", rq->last_relay[0] ?
	    rq->last_relay : "none");
}

void
direct_note(struct direct_req *rq, const char *status, const char *err,
    const char *relay)
{
	snprintf(rq->last_status, sizeof(rq->last_status), "%s", status);
	snprintf(rq->last_err, sizeof(rq->last_err), "%s", err);
	snprintf(rq->last_relay, sizeof(rq->last_relay), "%s", relay);
}

/* The status for a session that failed before its transaction. */
const char *
direct_session_status(const struct smtpc_outcome *out)
{
	if (out->reply.status[0] != '\0' && out->reply.status[0] == '4')
		return out->reply.status;
	switch (out->stage) {
	case SMTPC_STAGE_TLS:
		return "4.7.5";
	case SMTPC_STAGE_STARTTLS:
		return "4.7.4";
	case SMTPC_STAGE_GREETING:
	case SMTPC_STAGE_EHLO:
		return "4.4.0";
	case SMTPC_STAGE_IO:
		return "4.4.2";
	default:
		return "4.4.1";
	}
}

/* A request's recipients after one transaction (or its failure): the
 * delivered and bounced ones are settled, the rest go to the next
 * host. */
void
direct_results(struct direct_req *rq, const struct direct_conn *c,
    const struct smtpc_outcome *out, bool dsn)
{
	struct smtpc_rcpt *r;
	enum route_action a;
	char text[1024];
	const char *st;
	size_t k, kept = 0;

	for (k = 0; k < rq->nleft; k++) {
		r = &rq->rcpts[k];
		a = route_classify_direct(route_rcpt_stage(r, out), &r->reply);
		route_reply_text(r, out, c->addr_text, text, sizeof(text));
		st = r->reply.status[0] ? r->reply.status : r->reply.code == 0 ?
		    direct_session_status(out) : a == ROUTE_DELIVERED ?
		    "2.0.0" : a == ROUTE_BOUNCE ? "5.0.0" : "4.0.0";
		if (a == ROUTE_DELIVERED || a == ROUTE_BOUNCE) {
			direct_settle(rq, k, a, st, text, c->addr_text,
			    dsn && a == ROUTE_DELIVERED);
			continue;
		}
		direct_note(rq, st, text, r->reply.code ? c->addr_text : "");
		rq->rcpts[kept] = *r;
		rq->map[kept++] = rq->map[k];
	}
	rq->nleft = kept;
	if (kept == 0) {
		direct_finish(rq);
		return;
	}
	if (rq->host_i + 1 < rq->plan.n)
		log_msg(LOG_INFO, "%s: %s; trying the next MX host of %s",
		    rq->id, rq->last_err, rq->domain);
	rq->host_i++;
	direct_try(rq);
}

/* ---------------------------------------------------------------- sessions */

/* Go on with rq at its current host: an idle session to it, a new one,
 * or the destination's line. */
void
direct_try(struct direct_req *rq)
{
	struct direct_dest *dest = rq->dest;
	struct direct_conn *c;
	const char *host;

	for (;;) {
		if (rq->host_i >= rq->plan.n) {
			direct_exhausted(rq);
			return;
		}
		host = rq->plan.v[rq->host_i].name;
		if ((c = direct_dest_idle(dest, host, rq->snap)) != NULL) {
			direct_send(c, rq);
			return;
		}
		if (dest->nconns >= rq->d->snap->max_conns) {
			/* An idle session to another host holds a slot
			 * this request needs. */
			if ((c = direct_dest_idle(dest, NULL, NULL)) != NULL) {
				c->ready = false;
				smtpc_quit(c->s);
			}
			TAILQ_INSERT_TAIL(&dest->waiting, rq, link);
			rq->waiting = true;
			return;
		}
		if (direct_conn_new(rq, host) == 0)
			return;
		rq->host_i++;
	}
}

/* ---------------------------------------------------------------- planning */

/* The callback rq waited for has come: false (and rq freed) when rq was
 * cancelled meanwhile. */
static bool
direct_req_resume(struct direct_req *rq)
{
	rq->pending_cb = false;
	if (!rq->cancelled)
		return true;
	direct_req_free(rq);
	return false;
}

static unsigned
direct_rand(unsigned n, void *arg)
{
	(void)arg;
	return (unsigned)rand() % n;
}

static void
direct_on_mx(enum dns_status st, const char *err, const struct dns_mx *mx,
    size_t n, void *arg)
{
	struct direct_req *rq = arg;
	char text[1024];
	struct errbuf eb;

	if (!direct_req_resume(rq))
		return;
	switch (st) {
	case DNS_NXDOMAIN:
		snprintf(text, sizeof(text), "recipient domain %s does not "
		    "exist (DNS: NXDOMAIN)", rq->domain);
		direct_settle_all(rq, ROUTE_BOUNCE, "5.1.2", text, "none");
		return;
	case DNS_OK:
	case DNS_NODATA:
		break;
	default:
		direct_settle_all(rq, ROUTE_NEXT_HOST, "4.4.3", err != NULL ?
		    err : "DNS lookup failed", "none");
		return;
	}
	errbuf_clear(&eb);
	if (mx_plan(mx, st == DNS_OK ? n : 0, rq->domain, rq->snap->hostname,
	    direct_rand, NULL, &rq->plan, &eb) < 0) {
		snprintf(text, sizeof(text), "MX records of %s: %.700s", rq->domain,
		    eb.msg);
		direct_settle_all(rq, ROUTE_NEXT_HOST, "4.4.3", text, "none");
	} else if (rq->plan.kind == MX_NULL) {
		snprintf(text, sizeof(text), "recipient domain %s accepts no "
		    "mail (null MX, RFC 7505)", rq->domain);
		direct_settle_all(rq, ROUTE_BOUNCE, "5.1.10", text, "none");
	} else if (rq->plan.kind == MX_SELF) {
		snprintf(text, sizeof(text), "mail for %s loops back to myself "
		    "(%s is its best MX host)", rq->domain, rq->snap->hostname);
		direct_settle_all(rq, ROUTE_NEXT_HOST, "4.4.6", text, "none");
	} else {
		rq->host_i = 0;
		direct_try(rq);
	}
}

/* An address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]"): the one
 * host, no MX lookup (RFC 5321 5.1).  Runs from the loop. */
static void
direct_on_literal(evutil_socket_t fd, short what, void *arg)
{
	struct direct_req *rq = arg;
	const char *lit = rq->domain + 1;
	size_t len;

	(void)fd;
	(void)what;
	if (!direct_req_resume(rq))
		return;
	if (strncasecmp(lit, "IPv6:", 5) == 0)
		lit += 5;
	len = strcspn(lit, "]");
	memset(&rq->plan, 0, sizeof(rq->plan));
	rq->plan.kind = MX_HOSTS;
	rq->plan.n = 1;
	rq->plan.v[0].implicit = true;
	snprintf(rq->plan.v[0].name, sizeof(rq->plan.v[0].name), "%.*s",
	    (int)len, lit);
	direct_try(rq);
}

/* ---------------------------------------------------------------- interface */

static void
direct_start_failed(evutil_socket_t fd, short what, void *arg)
{
	struct direct_req *rq = arg;

	(void)fd;
	(void)what;
	if (!direct_req_resume(rq))
		return;
	direct_settle_all(rq, ROUTE_BOUNCE, "5.1.2", rq->last_err, "none");
}

static struct direct_req *
direct_req_new(struct direct *d, const char *domain,
    const struct smtpc_msg *msg, const char *id)
{
	const struct config_tls_policy *p;
	struct direct_req *rq;
	size_t k;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->rcpts = calloc(msg->nrcpts + 1, sizeof(*rq->rcpts));
	rq->map = calloc(msg->nrcpts + 1, sizeof(*rq->map));
	if (rq->rcpts == NULL || rq->map == NULL ||
	    (rq->dest = direct_dest_get(d, domain)) == NULL) {
		free(rq->rcpts);
		free(rq->map);
		free(rq);
		return NULL;
	}
	rq->d = d;
	rq->snap = d->snap;
	rq->snap->refs++;
	snprintf(rq->domain, sizeof(rq->domain), "%s", domain);
	snprintf(rq->id, sizeof(rq->id), "%s", id);
	rq->orig = msg;
	for (k = 0; k < msg->nrcpts; k++) {
		rq->rcpts[k] = msg->rcpts[k];
		rq->map[k] = k;
	}
	rq->nleft = msg->nrcpts;
	p = config_tls_policy(rq->snap->pol, rq->snap->npol, domain);
	rq->level = p != NULL ? p->level : CONFIG_TLSL_OPPORTUNISTIC;
	rq->ctx = p != NULL && rq->snap->pol_ctx[p - rq->snap->pol] != NULL ?
	    rq->snap->pol_ctx[p - rq->snap->pol] : rq->snap->ctx;
	return rq;
}

struct direct_req *
direct_deliver(struct direct *d, const char *domain,
    const struct smtpc_msg *msg, const char *id, direct_rcpt_fn rcpt,
    direct_done_fn done, void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct direct_req *rq;
	struct errbuf eb;
	int rc;

	if ((rq = direct_req_new(d, domain, msg, id)) == NULL)
		return NULL;
	rq->rcpt_cb = rcpt;
	rq->done_cb = done;
	rq->arg = arg;
	rq->pending_cb = true;
	errbuf_clear(&eb);
	if (domain[0] == '[')
		rc = event_base_once(d->base, -1, EV_TIMEOUT,
		    direct_on_literal, rq, &now);
	else if ((rc = dns_mx(d->dns, domain, direct_on_mx, rq, &eb)) < 0) {
		snprintf(rq->last_err, sizeof(rq->last_err), "recipient "
		    "domain %s is not a valid domain name: %.600s", domain,
		    eb.msg);
		rc = event_base_once(d->base, -1, EV_TIMEOUT,
		    direct_start_failed, rq, &now);
	}
	if (rc < 0) {
		direct_req_free(rq);
		return NULL;
	}
	return rq;
}

void
direct_cancel(struct direct_req *rq)
{
	struct direct_conn *c = rq->conn;

	rq->cancelled = true;
	if (rq->waiting) {
		TAILQ_REMOVE(&rq->dest->waiting, rq, link);
		rq->waiting = false;
	}
	if (c != NULL) {
		c->rq = NULL;
		rq->conn = NULL;
		c->ready = false;
		direct_conn_close(c);
	}
	if (!rq->pending_cb)
		direct_req_free(rq);
}

const char *
direct_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

struct direct *
direct_new(struct event_base *base, struct dns *dns, const struct config *cfg,
    struct errbuf *eb)
{
	struct direct *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	d->base = base;
	d->dns = dns;
	if ((d->snap = direct_snap_new(cfg, eb)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

int
direct_reload(struct direct *d, const struct config *cfg, struct errbuf *eb)
{
	struct direct_snap *sn;
	struct direct_dest *dest;
	struct direct_conn *c;
	size_t b;

	if ((sn = direct_snap_new(cfg, eb)) == NULL)
		return -1;
	direct_snap_unref(d->snap);
	d->snap = sn;
	/* Idle sessions carry the old TLS settings: let them go. */
	for (b = 0; b < DIRECT_BUCKETS; b++)
		for (dest = d->buckets[b]; dest != NULL; dest = dest->next)
			LIST_FOREACH(c, &dest->conns, link)
				if (c->ready && c->rq == NULL && c->s != NULL) {
					c->ready = false;
					smtpc_quit(c->s);
				}
	return 0;
}

void
direct_free(struct direct *d)
{
	struct direct_dest *dest;
	size_t b;

	if (d == NULL)
		return;
	d->stopping = true;
	for (b = 0; b < DIRECT_BUCKETS; b++)
		while ((dest = d->buckets[b]) != NULL &&
		    !LIST_EMPTY(&dest->conns)) {
			/* Closing the last session frees the destination. */
			LIST_FIRST(&dest->conns)->resolving = false;
			direct_conn_close(LIST_FIRST(&dest->conns));
		}
	direct_snap_unref(d->snap);
	free(d);
}
