/*
 * mx: the next hops for a recipient domain (RFC 5321 section 5.1),
 * from the answer to its MX query.  Pure: no DNS, no clock; the random
 * choice among equal preferences is injected.
 *
 * MX records sorted by preference, equal preferences shuffled, the
 * same host listed once (at its best preference), at most MX_MAX_HOSTS.
 * A null MX (RFC 7505: one record "0 .") means the domain takes no
 * mail: bounce at once with 5.1.10.  No MX records at all (NODATA)
 * means the implicit MX: the domain itself, by its A/AAAA records.
 * When the local host (hostname) is one of the MX hosts, it and every
 * host of equal or worse preference are dropped (RFC 5321 5.1): we
 * are the backup MX, and only better ones are left to try; with none
 * left the mail cannot be routed (a config error, deferred with a plain
 * reason).
 */
#ifndef TERN_MX_H
#define TERN_MX_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"
#include "errbuf.h"

#define MX_MAX_HOSTS 10
/* Addresses tried per host, IPv6 and IPv4 taken in turn. */
#define MX_MAX_ADDRS 4

enum mx_kind {
	MX_HOSTS,    /* try out->v in order */
	MX_NULL,     /* null MX: no mail for this domain (5.1.10) */
	MX_SELF,     /* only we are left: a routing loop (defer) */
};

struct mx_host {
	char name[256];
	unsigned pref;
	bool implicit;   /* the domain itself, for lack of MX records */
};

struct mx_plan {
	enum mx_kind kind;
	struct mx_host v[MX_MAX_HOSTS];
	size_t n;
};

/* Returns a number in [0, n) (rand-like, injected for the tests). */
typedef unsigned (*mx_rand_fn)(unsigned n, void *arg);

/*
 * Plan the hosts for domain from its MX records mx[0..n) (n == 0: the
 * domain has none).  self is the local host name (hostname), compared
 * case-insensitively and without a trailing dot.  Fills out; returns 0,
 * or -1 with eb for a malformed answer (a null MX mixed with other
 * records is treated as a null MX, as RFC 7505 3 asks).
 */
int mx_plan(const struct dns_mx *mx, size_t n, const char *domain,
    const char *self, mx_rand_fn rnd, void *rarg, struct mx_plan *out,
    struct errbuf *eb);

/*
 * Order the addresses of one host for connecting: IPv6 and IPv4 in
 * turn (starting with whichever family comes first in the answer),
 * duplicates removed, at most MX_MAX_ADDRS.  Works in place on
 * addrs[0..n); returns the new count.
 */
size_t mx_order_addrs(struct dns_addr *addrs, size_t n);

#endif
