/*
 * direct: delivery to the recipient domains' own mail servers (MX), for
 * delivery = direct.
 *
 * The queue manager hands over one message's recipients of one domain
 * at a time (a request).  direct looks up the domain's MX records,
 * plans the hosts (mx.c: preference order, null MX, implicit MX, self),
 * resolves each host and tries its addresses, IPv6 and IPv4 in turn,
 * and runs one transaction per host for the recipients still pending.
 * What the route.c direct table calls "next host" moves on; the rest is
 * final.  It tells the caller each recipient's fate, then that the
 * request is done.  It never touches the queue.
 *
 * Sessions belong to a destination (the recipient domain): at most
 * direct_max_connections at once, reused for the domain's next message
 * while idle.  Requests beyond the limit wait in the destination's line.
 * TLS per the [tls DOMAIN] policy, else opportunistic STARTTLS.
 *
 * Callbacks always run from the event loop, never from inside
 * direct_deliver or direct_cancel.
 */
#ifndef TERN_DIRECT_H
#define TERN_DIRECT_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "dns.h"
#include "errbuf.h"
#include "route.h"
#include "smtpc.h"

struct event_base;
struct direct;
struct direct_req;

/* A recipient's fate. */
struct direct_result {
	enum route_action action; /* DELIVERED, BOUNCE, or NEXT_HOST:
				     deferred (no host left to try) */
	const char *status;       /* enhanced status: "2.0.0", "5.1.10" */
	const char *text;         /* the reply or the reason, plain words */
	const char *relay;        /* "mx.example.org[192.0.2.1]:25" or
				     "none" (no session: DNS, null MX) */
	const struct smtpc_reply *reply; /* the server's, or NULL */
	bool dsn;                 /* the server offered DSN (RFC 3461) */
	double t_conn;            /* when the session that answered was
				     ready, 0 when none was (for the
				     log's delays=) */
	double t_send;            /* when its transaction began, or 0 */
};

/* Recipient i (of the msg given to direct_deliver) is settled. */
typedef void (*direct_rcpt_fn)(void *arg, size_t i,
    const struct direct_result *res);
/* Every recipient of the request is settled; the request is freed
 * after this returns. */
typedef void (*direct_done_fn)(void *arg);

/* An engine on base, resolving through dns, set up from cfg (hostname,
 * direct_port, direct_max_connections, [tls] sections).  NULL with eb
 * (a tls_ca_file that cannot be read). */
struct direct *direct_new(struct event_base *base, struct dns *dns,
    const struct config *cfg, struct errbuf *eb);

/* SIGHUP: new requests use cfg; sessions and requests in flight finish
 * with what they started with.  Returns 0, or -1 with eb (the old
 * settings stay). */
int direct_reload(struct direct *d, const struct config *cfg,
    struct errbuf *eb);

/* Close every session and free.  Requests must have been cancelled
 * and the resolver freed (dns_free) before. */
void direct_free(struct direct *d);

/*
 * Deliver msg to domain's mail servers.  msg (its head, body and
 * recipients, all of domain) must stay valid until done is called or
 * the request is cancelled; its rcpts' replies are not written.  id is
 * the queue ID, for logs.  Returns the request, or NULL when out of
 * memory (no callback then).
 */
struct direct_req *direct_deliver(struct direct *d, const char *domain,
    const struct smtpc_msg *msg, const char *id, direct_rcpt_fn rcpt,
    direct_done_fn done, void *arg);

/* Forget a request (ternd is stopping): no callback after this; a
 * transaction in flight is dropped with its session. */
void direct_cancel(struct direct_req *rq);

/* The domain of an address (after the last '@'), or "" when none. */
const char *direct_domain_of(const char *addr);

#endif
