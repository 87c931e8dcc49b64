/*
 * dns: asynchronous address, MX and TXT lookups on the daemon's event
 * loop.
 *
 * A struct dns is a c-ares channel driven by a libevent event base: the
 * channel's sockets are watched with events on that base and one timer
 * follows ares_timeout().  Nothing here blocks (apart from reading
 * /etc/resolv.conf once in dns_new) or starts a thread.  Every result,
 * even an immediate one, is delivered from the event loop through the
 * caller's callback, never from inside dns_resolve, dns_mx or dns_txt.
 *
 * Only DNS is asked: /etc/hosts is not read and no search domains are
 * appended, because a mail host's name is always fully qualified.
 * Successful answers are cached per name for their TTL (clamped to
 * DNS_CACHE_TTL_MIN..DNS_CACHE_TTL_MAX seconds, at most DNS_CACHE_MAX
 * names, least recently used dropped first); failures are not cached.
 */
#ifndef TERN_DNS_H
#define TERN_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "errbuf.h"

struct event_base;
struct dns;

#define DNS_TIMEOUT_MS 2000 /* first wait for a server's answer */
#define DNS_TRIES 2         /* rounds over the servers */
#define DNS_ANSWER_MAX 16   /* records kept from one answer */
#define DNS_CACHE_MAX 10000
#define DNS_CACHE_TTL_MIN 1
#define DNS_CACHE_TTL_MAX 86400
/* MX and TXT answers without a usable TTL (never from a sane server). */
#define DNS_MX_TTL_DEFAULT 300
/* Bytes kept of one TXT record (its strings joined), NUL included. */
#define DNS_TXT_MAX 4096

enum dns_status {
	DNS_OK,
	DNS_NXDOMAIN,   /* the name does not exist */
	DNS_NODATA,     /* the name exists, without records of that type */
	DNS_TEMPFAIL,   /* SERVFAIL, REFUSED, timeout, unreachable server */
	DNS_ECANCELLED, /* dns_free was called before the answer came */
};

struct dns_addr {
	struct sockaddr_storage sa; /* AF_INET or AF_INET6, port set */
	socklen_t len;
};

/*
 * The answer to dns_resolve.  On DNS_OK, addrs[0..n) holds at least one
 * address, in the order to try them (RFC 6724, as c-ares sorts them; at
 * most DNS_ANSWER_MAX, which also bounds the cache) and err is NULL.
 * Otherwise n is 0 and err says what failed in plain words, naming the
 * host and the server ("DNS lookup of smtp.example.com failed: SERVFAIL
 * from 127.0.0.1:5353").  Both are valid only during the call.
 */
typedef void (*dns_addr_fn)(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg);

struct dns_mx {
	char host[256]; /* "" for a null MX (RFC 7505: "0 .") */
	unsigned pref;
};

/* The answer to dns_mx, like dns_addr_fn. */
typedef void (*dns_mx_fn)(enum dns_status st, const char *err,
    const struct dns_mx *mx, size_t n, void *arg);

/*
 * One TXT record: its character-strings joined without spaces, as SPF
 * (RFC 7208 3.3), DKIM (RFC 6376 3.6.2.2) and DMARC read them.  text
 * ends with a NUL but may hold NUL bytes of its own (len counts the
 * record's bytes); truncated says the record was longer than
 * DNS_TXT_MAX - 1 bytes and only that many were kept.
 */
struct dns_txt {
	const char *text;
	size_t len;
	int truncated;
};

/* The answer to dns_txt, like dns_addr_fn. */
typedef void (*dns_txt_fn)(enum dns_status st, const char *err,
    const struct dns_txt *txt, size_t n, void *arg);

/*
 * A resolver on base.  servers is the config's dns_servers, a
 * comma-separated list of IPv4 or IPv6 addresses each with an optional
 * port ("127.0.0.1:5353, [::1]:53, 192.0.2.1, ::1"), or NULL (or "") to
 * use the name servers of /etc/resolv.conf.  A query goes to each server in
 * turn, DNS_TRIES rounds, waiting DNS_TIMEOUT_MS in the first round and
 * twice as long in each next one (c-ares's backoff): one silent server
 * costs 2 + 4 = 6 s.  With several servers, a SERVFAIL or REFUSED
 * answer makes c-ares ask the next one.  Returns NULL with eb set on a
 * bad server list or when c-ares cannot start.
 */
struct dns *dns_new(struct event_base *base, const char *servers,
    struct errbuf *eb);

/*
 * Free d.  The callback of every lookup still pending runs, before
 * dns_free returns, with DNS_ECANCELLED; none runs afterwards.  May be
 * called from inside a dns callback: the resolver's memory is then
 * released when that callback returns.  NULL is allowed.
 */
void dns_free(struct dns *d);

/*
 * Look up the IPv6 and IPv4 addresses of host (AAAA and A are both
 * asked) and call cb with them, port set in each.  An IP literal
 * ("192.0.2.1", "2001:db8::1" or "[2001:db8::1]") is answered without a
 * query, and a cached name without asking the server.  A trailing dot
 * is allowed.  Returns 0, or -1 with eb set when host is not a domain
 * name (empty, longer than 253 characters, an empty or 64-character
 * label, characters other than letters, digits, '-' and '_'): cb is
 * then never called.
 */
int dns_resolve(struct dns *d, const char *host, uint16_t port,
    dns_addr_fn cb, void *arg, struct errbuf *eb);

/*
 * Look up the MX records of domain and call cb with them, sorted by
 * preference; records of equal preference keep the server's order (the
 * caller shuffles them).  Only the DNS_ANSWER_MAX most preferred are
 * kept.  DNS_NODATA means the domain has no MX records
 * (RFC 5321 then says: use its address).  Returns 0, or -1 with eb set
 * on a bad name, as for dns_resolve.
 */
int dns_mx(struct dns *d, const char *domain, dns_mx_fn cb, void *arg,
    struct errbuf *eb);

/*
 * Look up the TXT records of name ("example.org",
 * "sel._domainkey.example.org", "_dmarc.example.org") and call cb with
 * them in the server's order, at most DNS_ANSWER_MAX.  DNS_NODATA means
 * the name exists without TXT records.  Errors read "DNS TXT lookup of
 * NAME failed: ...".  Returns 0, or -1 with eb set on a bad name, as
 * for dns_resolve.
 */
int dns_txt(struct dns *d, const char *name, dns_txt_fn cb, void *arg,
    struct errbuf *eb);

/* "OK", "NXDOMAIN", "NODATA", "TEMPFAIL" or "ECANCELLED". */
const char *dns_status_name(enum dns_status st);

/* How many lookups were answered from the cache (for tests and stats). */
unsigned long dns_cache_hits(const struct dns *d);

#endif
