/*
 * direct_conn: the sessions of a destination (a recipient domain) for
 * direct delivery — resolving the current MX host, trying its addresses
 * until a session is ready, running a request's transaction on it,
 * keeping it for the domain's next message, and the line of requests
 * waiting for one of the domain's direct_max_connections.
 *
 * A session (conn) holds a slot of its destination from creation until
 * it closes; one waiting for its host's addresses is freed by that
 * lookup's callback (resolving).  It never frees itself inside smtpc's
 * callback chain: smtpc_free defers.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "direct_int.h"
#include "log.h"

#define DIRECT_IDLE_TIMEOUT 30

static void direct_connect(struct direct_conn *c);

struct direct_conn *
direct_dest_idle(struct direct_dest *dest, const char *host,
    const struct direct_snap *sn)
{
	struct direct_conn *c;

	LIST_FOREACH(c, &dest->conns, link)
		if (c->ready && c->rq == NULL && c->s != NULL &&
		    (host == NULL || (c->snap == sn &&
		    strcasecmp(c->host, host) == 0)))
			return c;
	return NULL;
}

/* A slot or an idle session came free: let the line move.  Each waiter
 * is looked at once; one that has to wait again stays in line. */
void
direct_dest_wake(struct direct_dest *dest)
{
	struct direct *d = dest->d;
	struct direct_req *rq;
	size_t n = 0;

	if (d->stopping)
		return;
	TAILQ_FOREACH(rq, &dest->waiting, link)
		n++;
	dest->refs++;
	while (n-- > 0 && (rq = TAILQ_FIRST(&dest->waiting)) != NULL) {
		if (dest->nconns >= d->snap->max_conns &&
		    direct_dest_idle(dest, NULL, NULL) == NULL)
			break;
		TAILQ_REMOVE(&dest->waiting, rq, link);
		rq->waiting = false;
		direct_try(rq);
	}
	direct_dest_unref(dest);
}

static double
direct_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start rq's transaction on the ready session c. */
void
direct_send(struct direct_conn *c, struct direct_req *rq)
{
	size_t k;

	/* A reused session was ready at once. */
	rq->t_conn = rq->t_send = direct_now();
	c->rq = rq;
	rq->conn = c;
	rq->msg = *rq->orig;
	rq->msg.rcpts = rq->rcpts;
	rq->msg.nrcpts = rq->nleft;
	for (k = 0; k < rq->nleft; k++)
		memset(&rq->rcpts[k].reply, 0, sizeof(rq->rcpts[k].reply));
	if (smtpc_send(c->s, &rq->msg) == 0)
		return;
	/* Not ready after all: retire the session, try again. */
	c->rq = NULL;
	rq->conn = NULL;
	c->ready = false;
	smtpc_quit(c->s);
	direct_try(rq);
}

/* c is ready and has nothing to do: the destination's line may use it,
 * else it idles until smtpc's idle timeout closes it. */
static void
direct_conn_idle(struct direct_conn *c)
{
	if (c->dest->d->stopping || c->snap != c->dest->d->snap) {
		c->ready = false;
		smtpc_quit(c->s);
		return;
	}
	direct_dest_wake(c->dest);
}

/* The session of c failed before it was ready: the next address of
 * the host, else the next host. */
static void
direct_setup_failed(struct direct_conn *c, const struct smtpc_outcome *out)
{
	struct direct_req *rq = c->rq;
	struct smtpc_rcpt r = { .reply = out->reply };
	char err[1024];

	/* Worded as a recipient's reply is: the session's own reply. */
	if (out->reply.code != 0)
		route_reply_text(&r, out, c->addr_text, err, sizeof(err));
	else if (strstr(out->err, c->addr_text) != NULL)
		snprintf(err, sizeof(err), "%s", out->err);
	else
		snprintf(err, sizeof(err), "%s: %.600s", c->addr_text,
		    out->err[0] ? out->err : "connection failed");
	/* Past the TCP connect, a server was there: name it, as Postfix
	 * does. */
	direct_note(rq, direct_session_status(out), err,
	    out->stage == SMTPC_STAGE_CONNECT ? "" : c->addr_text);
	log_msg(LOG_INFO, "%s: %s", rq->id, err);
	if (c->s != NULL) {
		smtpc_free(c->s);
		c->s = NULL;
	}
	if (++rq->addr_i < rq->naddrs) {
		direct_connect(c);
		return;
	}
	c->rq = NULL;
	rq->conn = NULL;
	direct_conn_close(c);
	rq->host_i++;
	direct_try(rq);
}

static void
direct_on_smtpc(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg)
{
	struct direct_conn *c = arg;
	struct direct_req *rq = c->rq;

	(void)s;
	switch (ev) {
	case SMTPC_EV_READY:
		c->ready = true;
		if (rq != NULL)
			direct_send(c, rq);
		else
			direct_conn_idle(c);
		break;
	case SMTPC_EV_SENT:
		c->rq = NULL;
		if (rq != NULL) {
			rq->conn = NULL;
			direct_results(rq, c, out, smtpc_offers_dsn(c->s));
		}
		direct_conn_idle(c);
		break;
	case SMTPC_EV_FAILED:
		if (rq != NULL && !c->ready) {
			direct_setup_failed(c, out);
			break;
		}
		c->rq = NULL;
		c->ready = false;
		if (rq != NULL) {
			rq->conn = NULL;
			direct_results(rq, c, out, false);
		}
		direct_conn_close(c);
		break;
	case SMTPC_EV_CLOSED:
		direct_conn_close(c);
		break;
	}
}

static void
direct_connect(struct direct_conn *c)
{
	struct direct_req *rq = c->rq;
	const struct dns_addr *a = &rq->addrs[rq->addr_i];
	struct smtpc_config sc;
	struct smtpc_outcome out;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (a->sa.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)&a->sa)->sin6_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)&a->sa)->sin_addr, ip, sizeof(ip));
	snprintf(c->addr_text, sizeof(c->addr_text), "%s[%s]:%u", c->host, ip,
	    (unsigned)c->snap->port);
	memset(&sc, 0, sizeof(sc));
	sc.host = c->host;
	memcpy(&sc.addr, &a->sa, sizeof(sc.addr));
	sc.addrlen = a->len;
	sc.tls = rq->level == CONFIG_TLSL_NONE ? SMTPC_TLS_NONE :
	    rq->level == CONFIG_TLSL_OPPORTUNISTIC ? SMTPC_TLS_OPPORTUNISTIC :
	    SMTPC_TLS_STARTTLS;
	sc.tls_verify = rq->level == CONFIG_TLSL_VERIFY;
	sc.ssl_ctx = rq->ctx;
	sc.auth = SMTPC_AUTH_NONE;
	sc.helo_name = c->snap->hostname;
	sc.idle_timeout = DIRECT_IDLE_TIMEOUT;
	if ((c->s = smtpc_new(c->dest->d->base, &sc, direct_on_smtpc, c)) ==
	    NULL) {
		memset(&out, 0, sizeof(out));
		out.stage = SMTPC_STAGE_CONNECT;
		snprintf(out.err, sizeof(out.err), "out of memory");
		direct_setup_failed(c, &out);
	}
}

static void
direct_on_addrs(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	struct direct_conn *c = arg;
	struct direct_req *rq = c->rq;
	char text[1024];

	c->resolving = false;
	if (rq == NULL) {
		direct_conn_close(c);
		return;
	}
	if (st == DNS_OK && n > 0) {
		rq->naddrs = n < DNS_ANSWER_MAX ? n : DNS_ANSWER_MAX;
		memcpy(rq->addrs, addrs, rq->naddrs * sizeof(*addrs));
		rq->naddrs = mx_order_addrs(rq->addrs, rq->naddrs);
		rq->addr_i = 0;
		direct_connect(c);
		return;
	}
	snprintf(text, sizeof(text), "MX host %s of %s: %s", c->host,
	    rq->domain, st == DNS_NXDOMAIN || st == DNS_NODATA ?
	    "has no address (A/AAAA)" : err != NULL ? err : "lookup failed");
	direct_note(rq, st == DNS_TEMPFAIL ? "4.4.3" : "4.4.4", text, "");
	log_msg(LOG_INFO, "%s: %s", rq->id, text);
	c->rq = NULL;
	rq->conn = NULL;
	direct_conn_close(c);
	if (st == DNS_ECANCELLED)
		direct_exhausted(rq);
	else {
		rq->host_i++;
		direct_try(rq);
	}
}

/* A new session of rq's destination to its current host.  Returns -1
 * when the host's name cannot even be looked up (the caller moves on). */
int
direct_conn_new(struct direct_req *rq, const char *host)
{
	struct direct_conn *c;
	struct errbuf eb;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		direct_note(rq, "4.3.0", "out of memory", "");
		return -1;
	}
	c->dest = rq->dest;
	c->dest->refs++;
	c->snap = rq->snap;
	c->snap->refs++;
	snprintf(c->host, sizeof(c->host), "%s", host);
	LIST_INSERT_HEAD(&c->dest->conns, c, link);
	c->dest->nconns++;
	c->rq = rq;
	rq->conn = c;
	c->resolving = true;
	errbuf_clear(&eb);
	if (dns_resolve(rq->d->dns, host, rq->snap->port, direct_on_addrs, c,
	    &eb) == 0)
		return 0;
	c->resolving = false;
	c->rq = NULL;
	rq->conn = NULL;
	direct_note(rq, "4.4.4", eb.msg, "");
	direct_conn_close(c);
	return -1;
}

void
direct_conn_close(struct direct_conn *c)
{
	struct direct_dest *dest = c->dest;

	if (c->resolving) {
		/* The lookup's callback closes it. */
		c->rq = NULL;
		return;
	}
	LIST_REMOVE(c, link);
	dest->nconns--;
	if (c->s != NULL)
		smtpc_free(c->s);
	direct_snap_unref(c->snap);
	free(c);
	direct_dest_wake(dest);
	direct_dest_unref(dest);
}
