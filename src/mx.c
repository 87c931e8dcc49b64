/*
 * mx: the next hops for a recipient domain (see mx.h).
 *
 * An MX answer is small (dns keeps at most DNS_ANSWER_MAX records and a
 * plan holds at most MX_MAX_HOSTS), so instead of copying, sorting and
 * compacting it, every step re-reads mx[] with a plain quadratic scan.
 * A record takes part when its name is usable, it is the best (then the
 * first) record of that name, and it is better than the local host.
 * The plan is filled one preference at a time, lowest first, each group
 * drawn at random so that equal MX hosts share the load.  Nothing is
 * allocated, so nothing can fail but the answer itself.
 *
 * mx_order_addrs drops duplicate addresses in place, then deals the
 * rest out family by family, in the order the families first appear,
 * into a buffer of MX_MAX_ADDRS that is copied back.
 */
#include "autoconf.h"

#include <netinet/in.h>
#include <string.h>

#include "mx.h"
#include "str.h"

/* RFC 1035 2.3.4: 255 octets on the wire, 253 characters in text
 * without the root's dot (as dns_resolve counts). */
#define MX_NAME_MAX 253

/* The records of one answer and the preference bound set by self. */
struct mx_scan {
	const struct dns_mx *mx;
	size_t n;
	bool capped;    /* self is an MX host: only better ones count */
	unsigned below; /* the preference they must be better than */
};

/* ---------------------------------------------------------------- names */

/*
 * The length of name without one trailing dot: "mx.example." and
 * "mx.example" are the same host, and the dot means nothing to
 * dns_resolve.
 */
static size_t
mx_name_len(const char *name)
{
	size_t len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	return len;
}

/* DNS names compare without case (RFC 4343). */
static bool
mx_name_eq(const char *a, const char *b)
{
	size_t len = mx_name_len(a);

	return len == mx_name_len(b) && str_ieq_n(a, b, len);
}

static bool
mx_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/*
 * Whether name could be a mail host at all.  A bad record is skipped
 * rather than failing the whole answer: the other MX hosts may be fine.
 * Labels are left for dns_resolve to judge when the host is tried.
 */
static bool
mx_name_ok(const char *name)
{
	size_t len = mx_name_len(name), i;

	if (len == 0 || len > MX_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!mx_name_char((unsigned char)name[i]))
			return false;
	return true;
}

/*
 * RFC 7505: preference 0 and the root as the exchange, which dns gives
 * as "" and a zone file writes as ".".  The root at another preference
 * is no null MX, merely a record without a usable host.
 */
static bool
mx_is_null(const struct dns_mx *r)
{
	return r->pref == 0 && mx_name_len(r->host) == 0;
}

/* Copied without the trailing dot, so logs show one spelling. */
static void
mx_host_set(struct mx_host *h, const char *name, unsigned pref,
    bool implicit)
{
	size_t len = mx_name_len(name);

	memcpy(h->name, name, len);
	h->name[len] = '\0';
	h->pref = pref;
	h->implicit = implicit;
}

/* -------------------------------------------------------------- records */

static bool
mx_any_ok(const struct dns_mx *mx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mx_name_ok(mx[i].host))
			return true;
	return false;
}

static bool
mx_any_null(const struct dns_mx *mx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (mx_is_null(&mx[i]))
			return true;
	return false;
}

/*
 * The best preference at which self is listed.  Returns false when it
 * is not listed (or self is NULL: no local host to look for).
 */
static bool
mx_self_pref(const struct dns_mx *mx, size_t n, const char *self,
    unsigned *pref)
{
	bool found = false;
	size_t i;

	if (self == NULL)
		return false;
	for (i = 0; i < n; i++) {
		if (!mx_name_ok(mx[i].host) || !mx_name_eq(mx[i].host, self))
			continue;
		if (!found || mx[i].pref < *pref)
			*pref = mx[i].pref;
		found = true;
	}
	return found;
}

/*
 * Whether record i stands for its host: no other record of the same
 * name has a better preference, or the same one earlier.  Keeping one
 * record per name is what lists each host once, at its best.
 */
static bool
mx_is_first(const struct mx_scan *s, size_t i)
{
	const struct dns_mx *r = &s->mx[i];
	size_t j;

	for (j = 0; j < s->n; j++) {
		if (j == i || !mx_name_eq(s->mx[j].host, r->host))
			continue;
		if (s->mx[j].pref < r->pref ||
		    (s->mx[j].pref == r->pref && j < i))
			return false;
	}
	return true;
}

/* Whether record i goes into the plan (if there is room). */
static bool
mx_takes_part(const struct mx_scan *s, size_t i)
{
	const struct dns_mx *r = &s->mx[i];

	if (!mx_name_ok(r->host))
		return false;
	if (s->capped && r->pref >= s->below)
		return false;
	return mx_is_first(s, i);
}

/*
 * The lowest preference of the records taking part, above after (at
 * any height when first).  Returns false when there is none.
 */
static bool
mx_next_pref(const struct mx_scan *s, bool first, unsigned after,
    unsigned *pref)
{
	bool found = false;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!mx_takes_part(s, i) || (!first && s->mx[i].pref <= after))
			continue;
		if (!found || s->mx[i].pref < *pref)
			*pref = s->mx[i].pref;
		found = true;
	}
	return found;
}

static size_t
mx_group_size(const struct mx_scan *s, unsigned pref)
{
	size_t i, g = 0;

	for (i = 0; i < s->n; i++)
		if (s->mx[i].pref == pref && mx_takes_part(s, i))
			g++;
	return g;
}

/* Whether name is already among out->v[start..n). */
static bool
mx_placed(const struct mx_plan *out, size_t start, const char *name)
{
	size_t k;

	for (k = start; k < out->n; k++)
		if (mx_name_eq(out->v[k].name, name))
			return true;
	return false;
}

/*
 * The index of the r-th record (from 0, in answer order) of preference
 * pref not yet placed since out->v[start]; s->n when there is none.
 */
static size_t
mx_group_nth(const struct mx_scan *s, unsigned pref, size_t r,
    const struct mx_plan *out, size_t start)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->mx[i].pref != pref || !mx_takes_part(s, i) ||
		    mx_placed(out, start, s->mx[i].host))
			continue;
		if (r-- == 0)
			return i;
	}
	return s->n;
}

/*
 * Append the hosts of preference pref in random order: Fisher and
 * Yates' original shuffle, which strikes out the r-th remaining host
 * each time.  It needs no scratch copy, and drawing the whole group
 * (not only its first hosts) before the plan is full gives every host
 * of a group cut by MX_MAX_HOSTS the same chance.  A lone host draws
 * nothing, so hosts of unequal preference never move; a NULL rnd keeps
 * the answer's order.
 */
static void
mx_fill_group(const struct mx_scan *s, unsigned pref, mx_rand_fn rnd,
    void *rarg, struct mx_plan *out)
{
	size_t start = out->n, left, r, i;

	for (left = mx_group_size(s, pref); left > 0 &&
	    out->n < MX_MAX_HOSTS; left--) {
		r = 0;
		if (left > 1 && rnd != NULL)
			r = rnd((unsigned)left, rarg) % left;
		if ((i = mx_group_nth(s, pref, r, out, start)) == s->n)
			break;
		mx_host_set(&out->v[out->n++], s->mx[i].host, pref, false);
	}
}

static void
mx_fill(const struct mx_scan *s, mx_rand_fn rnd, void *rarg,
    struct mx_plan *out)
{
	unsigned pref = 0;
	bool first = true;

	while (out->n < MX_MAX_HOSTS &&
	    mx_next_pref(s, first, pref, &pref)) {
		first = false;
		mx_fill_group(s, pref, rnd, rarg, out);
	}
}

/* RFC 5321 5.1: no MX records, so the domain is its own mail host. */
static int
mx_plan_implicit(const char *domain, const char *self, struct mx_plan *out,
    struct errbuf *eb)
{
	if (!mx_name_ok(domain))
		return errbuf_set(eb, "no usable MX host");
	if (self != NULL && mx_name_eq(domain, self)) {
		out->kind = MX_SELF;
		return 0;
	}
	mx_host_set(&out->v[0], domain, 0, true);
	out->n = 1;
	return 0;
}

int
mx_plan(const struct dns_mx *mx, size_t n, const char *domain,
    const char *self, mx_rand_fn rnd, void *rarg, struct mx_plan *out,
    struct errbuf *eb)
{
	struct mx_scan s = { mx, n, false, 0 };

	out->kind = MX_HOSTS;
	out->n = 0;
	if (n == 0)
		return mx_plan_implicit(domain, self, out, eb);
	/* RFC 7505 3: a null MX among other records still says no mail. */
	if (mx_any_null(mx, n)) {
		out->kind = MX_NULL;
		return 0;
	}
	if (!mx_any_ok(mx, n))
		return errbuf_set(eb, "no usable MX host");
	s.capped = mx_self_pref(mx, n, self, &s.below);
	mx_fill(&s, rnd, rarg, out);
	/* Some host was usable, so only self can have emptied the plan. */
	if (out->n == 0)
		out->kind = MX_SELF;
	return 0;
}

/* ------------------------------------------------------------ addresses */

/*
 * Same family, address and port.  An IPv6 scope is part of the
 * address: fe80::1 on two links is two hosts.
 */
static bool
mx_addr_eq(const struct dns_addr *a, const struct dns_addr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->sa;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->sa;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->sa;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->sa;
	size_t len = a->len < sizeof(a->sa) ? a->len : sizeof(a->sa);

	if (a->sa.ss_family != b->sa.ss_family)
		return false;
	if (a->sa.ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->sa.ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	/* Not from dns, but compared whole rather than never. */
	return a->len == b->len && memcmp(&a->sa, &b->sa, len) == 0;
}

/* Keep the first of each address, in order; returns the new count. */
static size_t
mx_addr_dedup(struct dns_addr *addrs, size_t n)
{
	size_t i, j, m = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; j < m && !mx_addr_eq(&addrs[j], &addrs[i]); j++)
			continue;
		if (j < m)
			continue;
		if (m != i)
			addrs[m] = addrs[i];
		m++;
	}
	return m;
}

/* Whether addrs[i] is the first address of its family. */
static bool
mx_addr_family_first(const struct dns_addr *addrs, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (addrs[j].sa.ss_family == addrs[i].sa.ss_family)
			return false;
	return true;
}

/* The index of the r-th address (from 0) of family fam, or n. */
static size_t
mx_addr_nth(const struct dns_addr *addrs, size_t n, sa_family_t fam,
    size_t r)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addrs[i].sa.ss_family == fam && r-- == 0)
			return i;
	return n;
}

/*
 * Deal addrs[0..n) into out, one of each family per round, families in
 * the order they first appear: when one family is unreachable from
 * here, the next address tried is of the other.  Returns the count.
 */
static size_t
mx_addr_deal(const struct dns_addr *addrs, size_t n,
    struct dns_addr out[MX_MAX_ADDRS])
{
	size_t k = 0, round, i, j;
	bool took = true;

	for (round = 0; took && k < MX_MAX_ADDRS; round++) {
		took = false;
		for (i = 0; i < n && k < MX_MAX_ADDRS; i++) {
			if (!mx_addr_family_first(addrs, i))
				continue;
			j = mx_addr_nth(addrs, n, addrs[i].sa.ss_family,
			    round);
			if (j < n) {
				out[k++] = addrs[j];
				took = true;
			}
		}
	}
	return k;
}

size_t
mx_order_addrs(struct dns_addr *addrs, size_t n)
{
	struct dns_addr out[MX_MAX_ADDRS];
	size_t k;

	if (n == 0)
		return 0;
	n = mx_addr_dedup(addrs, n);
	k = mx_addr_deal(addrs, n, out);
	memcpy(addrs, out, k * sizeof(out[0]));
	return k;
}
