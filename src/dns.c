/*
 * dns: c-ares on the daemon's libevent base (see dns.h).
 *
 * The module owns one c-ares channel, an event per socket c-ares reports
 * through its socket-state callback, one timer re-armed from
 * ares_timeout() after every step, and the answer cache.  It never
 * blocks, never reads /etc/hosts (lookups "b") and never appends search
 * domains; it reads /etc/resolv.conf once, in dns_new.  Addresses come
 * from ares_getaddrinfo (A and AAAA, with TTLs), MX records from
 * ares_query and ares_parse_mx_reply, whose TTL we read from the answer
 * ourselves (dns_answer_ttl), TXT records from ares_query and
 * ares_parse_txt_reply_ext, each record's strings joined (dns_txt_take).
 *
 * Every request is a struct dns_req on one of two lists: "pending" while
 * c-ares holds it, "ready" when its answer (an IP literal, a cache hit,
 * or a c-ares answer that came back synchronously) waits for the
 * zero-delay "ready" event.  That is what keeps callbacks out of
 * dns_resolve and dns_mx.
 *
 * Invariants: a caller's callback runs exactly once per accepted
 * request; dns_free runs the callbacks of unanswered requests with
 * DNS_ECANCELLED and leaves the requests c-ares holds marked
 * "cancelled", to be freed when c-ares lets go of them.  The channel is
 * never destroyed while c-ares is on the stack (d->busy): dns_free from
 * inside a callback only marks d dead, and the outermost event handler
 * frees it on the way out.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <ares.h>
#include <event2/event.h>

#include "dns.h"
#include "str.h"

#define DNS_NAME_MAX 253
#define DNS_LABEL_MAX 63
#define DNS_CACHE_BUCKETS 16384 /* a power of two above DNS_CACHE_MAX */

enum dns_kind { DNS_KIND_ADDR, DNS_KIND_MX, DNS_KIND_TXT };

struct dns_sock {
	ares_socket_t fd;
	short what; /* EV_READ | EV_WRITE as c-ares last asked */
	struct event *ev;
};

struct dns_req {
	TAILQ_ENTRY(dns_req) entry; /* on d->pending or d->ready */
	struct dns *d;
	enum dns_kind kind;
	char name[DNS_NAME_MAX + 3]; /* room for "[v6 literal]" too */
	uint16_t port;
	dns_addr_fn addr_cb;
	dns_mx_fn mx_cb;
	dns_txt_fn txt_cb;
	void *arg;
	int starting;  /* inside ares_getaddrinfo/ares_query */
	int cancelled; /* caller told; c-ares still holds the request */
	enum dns_status st;
	char err[ERRBUF_SIZE];
	void *items; /* struct dns_addr[], dns_mx[] or dns_txt[] + text */
	size_t n;
	size_t size; /* bytes of items */
};

struct dns_cache_ent {
	LIST_ENTRY(dns_cache_ent) chain;
	TAILQ_ENTRY(dns_cache_ent) lru; /* most recently used first */
	enum dns_kind kind;
	char name[DNS_NAME_MAX + 1];
	uint64_t expires_ms; /* CLOCK_MONOTONIC */
	void *items;
	size_t n;
	size_t size; /* bytes of items */
};

TAILQ_HEAD(dns_req_list, dns_req);
LIST_HEAD(dns_cache_chain, dns_cache_ent);

struct dns {
	struct event_base *base;
	ares_channel channel;
	int ares_ready;         /* ares_library_init succeeded */
	struct event *timer;    /* follows ares_timeout() */
	struct event *ready_ev; /* delivers d->ready */
	struct dns_sock *socks;
	size_t nsocks, socks_cap;
	struct dns_req_list pending, ready;
	struct dns_cache_chain *buckets;
	TAILQ_HEAD(dns_cache_lru, dns_cache_ent) lru;
	size_t ncached;
	unsigned long cache_hits;
	char servers[256]; /* "127.0.0.1:5353, [::1]:53" for messages */
	size_t nservers;
	int busy; /* event handlers on the stack */
	int dead; /* dns_free was called */
};

static void dns_destroy(struct dns *d);
static const char *dns_kind_what(enum dns_kind kind);

const char *
dns_status_name(enum dns_status st)
{
	static const char *const names[] = { "OK", "NXDOMAIN", "NODATA",
		"TEMPFAIL", "ECANCELLED" };

	if ((unsigned)st >= sizeof(names) / sizeof(names[0]))
		return "UNKNOWN";
	return names[st];
}

unsigned long
dns_cache_hits(const struct dns *d)
{
	return d->cache_hits;
}

static uint64_t
dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- names */

/* s for an error message: quoted, cut short, control bytes as '?'. */
static const char *
dns_show(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[o++] = '"';
	for (i = 0; s[i] != '\0' && o + 5 < len; i++)
		buf[o++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] != '\0')
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int
dns_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int
dns_name_bad(const char *host, const char *why, unsigned char c,
    struct errbuf *eb)
{
	char shown[80];

	dns_show(host, shown, sizeof(shown));
	if (c == 0)
		return errbuf_set(eb, "bad domain name %s: %s", shown, why);
	if (c >= 0x20 && c < 0x7f)
		return errbuf_set(eb, "bad domain name %s: '%c' %s", shown,
		    c, why);
	return errbuf_set(eb, "bad domain name %s: byte 0x%02x %s", shown, c,
	    why);
}

/*
 * Copy host into out (DNS_NAME_MAX + 1 bytes) in lower case and without
 * its trailing dot: the cache key and the name queried.  Lower case
 * because DNS names compare without case.
 */
static int
dns_name_norm(const char *host, char *out, struct errbuf *eb)
{
	size_t len = strlen(host), i, label = 0;
	unsigned char c;

	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0)
		return dns_name_bad(host, "empty name", 0, eb);
	if (len > DNS_NAME_MAX)
		return dns_name_bad(host, "longer than 253 characters", 0, eb);
	for (i = 0; i < len; i++) {
		c = (unsigned char)host[i];
		if (c == '.' && label == 0)
			return dns_name_bad(host, "empty label", 0, eb);
		if (c == '.')
			label = 0;
		else if (!dns_name_char(c))
			return dns_name_bad(host, "is not allowed", c, eb);
		else if (++label > DNS_LABEL_MAX)
			return dns_name_bad(host,
			    "label longer than 63 characters", 0, eb);
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') :
						(char)c;
	}
	if (label == 0)
		return dns_name_bad(host, "empty label", 0, eb);
	out[len] = '\0';
	return 0;
}

static void
dns_addr_set_port(struct dns_addr *a, uint16_t port)
{
	if (a->sa.ss_family == AF_INET)
		((struct sockaddr_in *)&a->sa)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->sa)->sin6_port = htons(port);
}

/*
 * An IP literal: "192.0.2.1", "2001:db8::1", "[2001:db8::1]" (and
 * "[192.0.2.1]").  Returns 1 and fills *a, 0 when host is not one, -1
 * when it is bracketed but holds no address.
 */
static int
dns_literal(const char *host, struct dns_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->sa;
	char inner[INET6_ADDRSTRLEN];
	size_t len = strlen(host);

	memset(a, 0, sizeof(*a));
	if (host[0] == '[') {
		if (len < 3 || host[len - 1] != ']' ||
		    len - 2 >= sizeof(inner))
			return -1;
		memcpy(inner, host + 1, len - 2);
		inner[len - 2] = '\0';
		return dns_literal(inner, a) == 1 ? 1 : -1;
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		a->len = sizeof(*sin);
		return 1;
	}
	if (strchr(host, ':') != NULL &&
	    inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		a->len = sizeof(*sin6);
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- servers */

/* A port after its ':', 1..65535 (as config.c checks dns_servers). */
static int
dns_port_parse(const char *s, int *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/*
 * One item of dns_servers: "IP", "IP:port", "IPv6", "[IP]" or
 * "[IP]:port" (a bare IPv6 address takes no port: its colons would make
 * it ambiguous).
 */
static int
dns_server_parse(char *item, struct ares_addr_port_node *node)
{
	char *host = item, *port = NULL, *end;

	node->udp_port = node->tcp_port = 53;
	if (item[0] == '[') {
		if ((end = strchr(item, ']')) == NULL)
			return -1;
		*end = '\0';
		host = item + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else if ((end = strchr(item, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL) {
		*end = '\0';
		port = end + 1;
	}
	if (port != NULL && dns_port_parse(port, &node->udp_port) == -1)
		return -1;
	node->tcp_port = node->udp_port;
	if (inet_pton(AF_INET, host, &node->addr.addr4) == 1) {
		node->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &node->addr.addr6) == 1) {
		node->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* Parse the comma-separated list into an array of linked nodes. */
static struct ares_addr_port_node *
dns_servers_parse(const char *servers, struct errbuf *eb)
{
	struct ares_addr_port_node *nodes;
	char item[80], shown[100];
	const char *p = servers, *comma;
	size_t n = 1, i = 0, len;

	for (comma = servers; (comma = strchr(comma, ',')) != NULL; comma++)
		n++;
	if ((nodes = calloc(n, sizeof(*nodes))) == NULL) {
		errbuf_errno(eb, errno, "DNS servers");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		str_lcpy(item, p, len < sizeof(item) ? len + 1 : sizeof(item));
		str_trim(item);
		dns_show(item, shown, sizeof(shown));
		if (len >= sizeof(item) || item[0] == '\0' ||
		    dns_server_parse(item, &nodes[i]) == -1) {
			errbuf_set(eb, "DNS server %s: not an IP address with "
			    "an optional port (192.0.2.1:53, [2001:db8::1]:53)",
			    shown);
			free(nodes);
			return NULL;
		}
		nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
		if (comma != NULL)
			p = comma + 1;
	}
	return nodes;
}

/* The servers c-ares ended up with, listed for error messages. */
static void
dns_servers_describe(struct dns *d)
{
	struct ares_addr_port_node *list = NULL, *s;
	char addr[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 10];
	size_t len = 0, size = sizeof(d->servers);
	int cut = 0;

	str_lcpy(d->servers, "the DNS server", size);
	if (ares_get_servers_ports(d->channel, &list) != ARES_SUCCESS)
		return;
	for (s = list; s != NULL; s = s->next, d->nservers++) {
		inet_ntop(s->family, &s->addr, addr, sizeof(addr));
		snprintf(one, sizeof(one), "%s%s%s:%d",
		    s->family == AF_INET6 ? "[" : "", addr,
		    s->family == AF_INET6 ? "]" : "",
		    s->udp_port ? s->udp_port : 53);
		if (cut)
			continue;
		if (len + strlen(one) + 8 < size) {
			len += (size_t)snprintf(d->servers + len, size - len,
			    "%s%s", len ? ", " : "", one);
		} else {
			snprintf(d->servers + len, size - len, ", ...");
			cut = 1;
		}
	}
	ares_free_data(list);
}

/* ---------------------------------------------------------------- cache */

static size_t
dns_cache_hash(enum dns_kind kind, const char *name)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind; /* FNV-1a */

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h & (DNS_CACHE_BUCKETS - 1);
}

/*
 * A TXT answer is one block: the struct dns_txt array, then each
 * record's text with its NUL, in order.  The text pointers are set
 * again on every copy of the block (the cache keeps one).
 */
static void
dns_txt_link(void *items, size_t n)
{
	struct dns_txt *txt = items;
	char *p = (char *)(txt + n);
	size_t i;

	for (i = 0; i < n; i++) {
		txt[i].text = p;
		p += txt[i].len + 1;
	}
}

static void
dns_cache_drop(struct dns *d, struct dns_cache_ent *e)
{
	LIST_REMOVE(e, chain);
	TAILQ_REMOVE(&d->lru, e, lru);
	d->ncached--;
	free(e->items);
	free(e);
}

/* The live entry for (kind, name), made most recently used; or NULL. */
static struct dns_cache_ent *
dns_cache_find(struct dns *d, enum dns_kind kind, const char *name)
{
	struct dns_cache_ent *e;

	LIST_FOREACH(e, &d->buckets[dns_cache_hash(kind, name)], chain)
		if (e->kind == kind && strcmp(e->name, name) == 0)
			break;
	if (e == NULL)
		return NULL;
	if (e->expires_ms <= dns_now_ms()) {
		dns_cache_drop(d, e);
		return NULL;
	}
	TAILQ_REMOVE(&d->lru, e, lru);
	TAILQ_INSERT_HEAD(&d->lru, e, lru);
	return e;
}

/*
 * Remember req's answer for ttl seconds (clamped).  Without memory the
 * answer is simply not cached.
 */
static void
dns_cache_put(struct dns *d, const struct dns_req *req, long ttl)
{
	struct dns_cache_ent *e;
	size_t size = req->size;

	if (ttl < DNS_CACHE_TTL_MIN)
		ttl = DNS_CACHE_TTL_MIN;
	if (ttl > DNS_CACHE_TTL_MAX)
		ttl = DNS_CACHE_TTL_MAX;
	if ((e = dns_cache_find(d, req->kind, req->name)) != NULL)
		dns_cache_drop(d, e);
	if (d->ncached >= DNS_CACHE_MAX)
		dns_cache_drop(d, TAILQ_LAST(&d->lru, dns_cache_lru));
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	if ((e->items = malloc(size)) == NULL) {
		free(e);
		return;
	}
	memcpy(e->items, req->items, size);
	e->n = req->n;
	e->size = size;
	e->kind = req->kind;
	str_lcpy(e->name, req->name, sizeof(e->name));
	e->expires_ms = dns_now_ms() + (uint64_t)ttl * 1000;
	LIST_INSERT_HEAD(&d->buckets[dns_cache_hash(e->kind, e->name)], e,
	    chain);
	TAILQ_INSERT_HEAD(&d->lru, e, lru);
	d->ncached++;
}

/* Answer req from the cache: returns 1 when it could. */
static int
dns_cache_answer(struct dns *d, struct dns_req *req)
{
	struct dns_cache_ent *e;
	size_t i, size;

	if ((e = dns_cache_find(d, req->kind, req->name)) == NULL)
		return 0;
	size = e->size;
	if ((req->items = malloc(size)) == NULL)
		return 0;
	memcpy(req->items, e->items, size);
	req->n = e->n;
	req->size = size;
	if (req->kind == DNS_KIND_TXT)
		dns_txt_link(req->items, req->n);
	if (req->kind == DNS_KIND_ADDR)
		for (i = 0; i < req->n; i++)
			dns_addr_set_port((struct dns_addr *)req->items + i,
			    req->port);
	req->st = DNS_OK;
	d->cache_hits++;
	return 1;
}

static void
dns_cache_clear(struct dns *d)
{
	while (!TAILQ_EMPTY(&d->lru))
		dns_cache_drop(d, TAILQ_FIRST(&d->lru));
}

/* ---------------------------------------------------------------- events */

/* Follow c-ares's next deadline (none when it has no query). */
static void
dns_timer_arm(struct dns *d)
{
	struct timeval tv, *tvp;

	if ((tvp = ares_timeout(d->channel, NULL, &tv)) == NULL)
		evtimer_del(d->timer);
	else
		evtimer_add(d->timer, tvp);
}

/* Entered from the event loop: keep the channel alive below us. */
static void
dns_enter(struct dns *d)
{
	d->busy++;
}

/* Leaving the event handler: free d if a callback asked for it. */
static void
dns_leave(struct dns *d)
{
	if (--d->busy > 0)
		return;
	if (d->dead)
		dns_destroy(d);
	else
		dns_timer_arm(d);
}

static void
dns_on_sock(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	dns_enter(d);
	ares_process_fd(d->channel, what & EV_READ ? fd : ARES_SOCKET_BAD,
	    what & EV_WRITE ? fd : ARES_SOCKET_BAD);
	dns_leave(d);
}

static void
dns_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;

	(void)fd;
	(void)what;
	dns_enter(d);
	ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	dns_leave(d);
}

static void
dns_sock_drop(struct dns *d, size_t i)
{
	event_free(d->socks[i].ev);
	d->socks[i] = d->socks[--d->nsocks];
}

static void
dns_sock_add(struct dns *d, ares_socket_t fd, short what)
{
	struct dns_sock *s;
	size_t cap;

	if (d->nsocks == d->socks_cap) {
		cap = d->socks_cap ? d->socks_cap * 2 : 8;
		if ((s = realloc(d->socks, cap * sizeof(*s))) == NULL)
			return;
		d->socks = s;
		d->socks_cap = cap;
	}
	s = &d->socks[d->nsocks];
	s->fd = fd;
	s->what = what;
	s->ev = event_new(d->base, fd, what | EV_PERSIST, dns_on_sock, d);
	if (s->ev == NULL)
		return;
	if (event_add(s->ev, NULL) == -1) {
		event_free(s->ev);
		return;
	}
	d->nsocks++;
}

/*
 * c-ares's socket-state callback: watch fd for what it now wants.  When
 * no event can be made, the query is not lost: the timer still runs and
 * c-ares times it out.  Freeing the event of the very fd whose event
 * handler is running is allowed by libevent.
 */
static void
dns_on_sock_state(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct dns *d = arg;
	short what = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
	size_t i;

	for (i = 0; i < d->nsocks; i++)
		if (d->socks[i].fd == fd)
			break;
	if (i < d->nsocks && d->socks[i].what == what)
		return;
	if (i < d->nsocks)
		dns_sock_drop(d, i);
	if (what != 0)
		dns_sock_add(d, fd, what);
}

/* ---------------------------------------------------------------- requests */

static struct dns_req *
dns_req_new(struct dns *d, enum dns_kind kind, void *arg, struct errbuf *eb)
{
	struct dns_req *req;

	if (d->dead) {
		errbuf_set(eb, "the DNS resolver is shutting down");
		return NULL;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		errbuf_errno(eb, errno, "DNS lookup");
		return NULL;
	}
	req->d = d;
	req->kind = kind;
	req->arg = arg;
	return req;
}

static void
dns_req_free(struct dns_req *req)
{
	free(req->items);
	free(req);
}

/* Hand req to the "ready" event: its answer is delivered from the loop. */
static void
dns_req_defer(struct dns_req *req)
{
	TAILQ_INSERT_TAIL(&req->d->ready, req, entry);
	event_active(req->d->ready_ev, EV_TIMEOUT, 0);
}

/* Run the caller's callback with req's answer. */
static void
dns_req_call(struct dns_req *req)
{
	const char *err = req->st == DNS_OK ? NULL : req->err;
	size_t n = req->st == DNS_OK ? req->n : 0;

	if (req->kind == DNS_KIND_ADDR)
		req->addr_cb(req->st, err, n ? req->items : NULL, n, req->arg);
	else if (req->kind == DNS_KIND_MX)
		req->mx_cb(req->st, err, n ? req->items : NULL, n, req->arg);
	else
		req->txt_cb(req->st, err, n ? req->items : NULL, n, req->arg);
}

static void
dns_req_deliver(struct dns_req *req)
{
	dns_req_call(req);
	dns_req_free(req);
}

/* c-ares is done with req: answer now, or later when still starting. */
static void
dns_req_done(struct dns_req *req)
{
	TAILQ_REMOVE(&req->d->pending, req, entry);
	if (req->starting)
		dns_req_defer(req);
	else
		dns_req_deliver(req);
}

static void
dns_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct dns *d = arg;
	struct dns_req *req;
	size_t n = 0;

	(void)fd;
	(void)what;
	dns_enter(d);
	/* Only those queued before: callbacks may queue more. */
	TAILQ_FOREACH(req, &d->ready, entry)
		n++;
	while (n-- > 0 && !d->dead && (req = TAILQ_FIRST(&d->ready))) {
		TAILQ_REMOVE(&d->ready, req, entry);
		dns_req_deliver(req);
	}
	if (!d->dead && !TAILQ_EMPTY(&d->ready))
		event_active(d->ready_ev, EV_TIMEOUT, 0);
	dns_leave(d);
}

static void
dns_req_cancel(struct dns_req *req)
{
	req->st = DNS_ECANCELLED;
	free(req->items);
	req->items = NULL;
	req->n = 0;
	snprintf(req->err, sizeof(req->err), "DNS %s of %s cancelled: the "
	    "resolver was shut down", dns_kind_what(req->kind), req->name);
}

/*
 * Tell every waiting caller DNS_ECANCELLED.  Requests c-ares holds stay
 * allocated, marked, until c-ares calls back (at the latest from
 * ares_destroy).
 */
static void
dns_cancel_all(struct dns *d)
{
	struct dns_req *req;

	while ((req = TAILQ_FIRST(&d->pending)) != NULL) {
		TAILQ_REMOVE(&d->pending, req, entry);
		req->cancelled = 1;
		dns_req_cancel(req);
		dns_req_call(req);
	}
	while ((req = TAILQ_FIRST(&d->ready)) != NULL) {
		TAILQ_REMOVE(&d->ready, req, entry);
		dns_req_cancel(req);
		dns_req_deliver(req);
	}
}

/* ---------------------------------------------------------------- errors */

/* The lookup, as error messages name it. */
static const char *
dns_kind_what(enum dns_kind kind)
{
	return kind == DNS_KIND_MX ? "MX lookup" : kind == DNS_KIND_TXT ?
	    "TXT lookup" : "lookup";
}

/* What NODATA means for this kind of lookup. */
static const char *
dns_kind_nodata(enum dns_kind kind)
{
	return kind == DNS_KIND_MX ? "no MX records" : kind == DNS_KIND_TXT ?
	    "no TXT records" : "no IPv6 or IPv4 address";
}

static enum dns_status
dns_status_of(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return DNS_OK;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_ENODATA:
		return DNS_NODATA;
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION:
		return DNS_ECANCELLED;
	default:
		return DNS_TEMPFAIL;
	}
}

/*
 * Why a lookup failed, by c-ares status; "%s" is the servers asked.
 * With one server the channel reports rcodes as they came
 * (ARES_FLAG_NOCHECKRESP).  With several, c-ares tries the next server
 * after SERVFAIL, REFUSED or NOTIMP and, when all of them answered so,
 * ends with ECONNREFUSED: hence the vaguer words for that case.
 */
static const struct dns_reason {
	int status;
	const char *fmt;
} dns_reasons[] = {
	{ ARES_ENOTFOUND, "no such domain (NXDOMAIN)" },
	{ ARES_ESERVFAIL, "SERVFAIL from %s" },
	{ ARES_EREFUSED, "REFUSED by %s" },
	{ ARES_ENOTIMP, "NOTIMP from %s" },
	{ ARES_EFORMERR, "FORMERR from %s" },
	{ ARES_ETIMEOUT, "no answer from %s (timed out)" },
	{ ARES_EBADRESP, "malformed answer from %s" },
	{ ARES_ENOMEM, "out of memory" },
};

static void
dns_reason(const struct dns_req *req, int status, char *buf, size_t len)
{
	const struct dns *d = req->d;
	size_t i;

	for (i = 0; i < sizeof(dns_reasons) / sizeof(dns_reasons[0]); i++)
		if (dns_reasons[i].status == status) {
			snprintf(buf, len, dns_reasons[i].fmt, d->servers);
			return;
		}
	if (status == ARES_ENODATA)
		snprintf(buf, len, "%s (NODATA)", dns_kind_nodata(req->kind));
	else if (status == ARES_ECONNREFUSED && d->nservers == 1)
		snprintf(buf, len, "could not reach %s (connection refused)",
		    d->servers);
	else if (status == ARES_ECONNREFUSED)
		snprintf(buf, len, "no usable answer from %s (connection "
		    "refused, SERVFAIL or REFUSED)", d->servers);
	else
		snprintf(buf, len, "%s (servers: %s)", ares_strerror(status),
		    d->servers);
}

static void
dns_req_fail(struct dns_req *req, int status)
{
	char why[400];

	dns_reason(req, status, why, sizeof(why));
	req->st = dns_status_of(status);
	snprintf(req->err, sizeof(req->err), "DNS %s of %s failed: %s",
	    dns_kind_what(req->kind), req->name, why);
}

/* ---------------------------------------------------------------- addresses */

/* The smallest TTL of the answer's addresses and CNAMEs. */
static long
dns_addrinfo_ttl(const struct ares_addrinfo *res)
{
	const struct ares_addrinfo_node *ai;
	const struct ares_addrinfo_cname *cn;
	long ttl = DNS_CACHE_TTL_MAX;

	for (ai = res->nodes; ai != NULL; ai = ai->ai_next)
		if (ai->ai_ttl < ttl)
			ttl = ai->ai_ttl;
	for (cn = res->cnames; cn != NULL; cn = cn->next)
		if (cn->ttl < ttl)
			ttl = cn->ttl;
	return ttl;
}

/* Copy the first IPv4 and IPv6 addresses of res into req, port set. */
static int
dns_addr_take(struct dns_req *req, const struct ares_addrinfo *res)
{
	const struct ares_addrinfo_node *ai;
	struct dns_addr *a;
	size_t n = 0;

	for (ai = res->nodes; ai != NULL && n < DNS_ANSWER_MAX;
	    ai = ai->ai_next)
		n++;
	if (n == 0)
		return ARES_ENODATA;
	if ((req->items = calloc(n, sizeof(*a))) == NULL)
		return ARES_ENOMEM;
	for (ai = res->nodes; ai != NULL && req->n < n; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(a->sa))
			continue;
		a = (struct dns_addr *)req->items + req->n++;
		memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
		a->len = ai->ai_addrlen;
		dns_addr_set_port(a, req->port);
	}
	req->size = req->n * sizeof(*a);
	return req->n ? ARES_SUCCESS : ARES_ENODATA;
}

static void
dns_on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_req *req = arg;

	(void)timeouts;
	if (!req->cancelled) {
		if (status == ARES_SUCCESS)
			status = dns_addr_take(req, res);
		if (status == ARES_SUCCESS) {
			req->st = DNS_OK;
			dns_cache_put(req->d, req, dns_addrinfo_ttl(res));
		} else
			dns_req_fail(req, status);
	}
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (req->cancelled)
		dns_req_free(req);
	else
		dns_req_done(req);
}

/* ---------------------------------------------------------------- MX */

/* Past the (possibly compressed) name at p, or NULL when malformed. */
static const unsigned char *
dns_skip_name(const unsigned char *p, const unsigned char *end)
{
	while (p < end) {
		if (*p == 0)
			return p + 1;
		if ((*p & 0xc0) == 0xc0)
			return p + 2 <= end ? p + 2 : NULL;
		if ((*p & 0xc0) != 0)
			return NULL;
		p += *p + 1;
	}
	return NULL;
}

/*
 * The smallest TTL of the answer section's records of type (and
 * CNAMEs on the way), which ares_parse_mx_reply does not report; -1
 * when the answer cannot be walked.  RFC 2181: a TTL with the top bit
 * set counts as 0.
 */
static long
dns_answer_ttl(const unsigned char *abuf, int alen, int type)
{
	const unsigned char *p = abuf + 12, *end = abuf + alen;
	unsigned qd, an, i, rtype, rdlen;
	long ttl, min = -1;

	if (alen < 12)
		return -1;
	qd = (unsigned)abuf[4] << 8 | abuf[5];
	an = (unsigned)abuf[6] << 8 | abuf[7];
	for (i = 0; i < qd; i++)
		if ((p = dns_skip_name(p, end)) == NULL || (p += 4) > end)
			return -1;
	for (i = 0; i < an; i++) {
		if ((p = dns_skip_name(p, end)) == NULL || end - p < 10)
			return -1;
		rtype = (unsigned)p[0] << 8 | p[1];
		ttl = (long)((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7]);
		rdlen = (unsigned)p[8] << 8 | p[9];
		if ((p += 10 + rdlen) > end)
			return -1;
		if (ttl > 0x7fffffffL)
			ttl = 0;
		if (rtype != (unsigned)type && rtype != (unsigned)ns_t_cname)
			continue;
		if (min < 0 || ttl < min)
			min = ttl;
	}
	return min;
}

/* Stable insertion sort by preference: equal ones keep answer order. */
static void
dns_mx_sort(struct dns_mx *mx, size_t n)
{
	struct dns_mx tmp;
	size_t i, j;

	for (i = 1; i < n; i++) {
		tmp = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > tmp.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = tmp;
	}
}

/* Copy the most preferred MX records of the answer into req, sorted. */
static int
dns_mx_take(struct dns_req *req, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *list, *r;
	struct dns_mx *mx;
	size_t n = 0;
	int status;

	if ((status = ares_parse_mx_reply(abuf, alen, &list)) != ARES_SUCCESS)
		return status;
	for (r = list; r != NULL; r = r->next)
		n++;
	if (n > 0 && (req->items = calloc(n, sizeof(*mx))) == NULL) {
		ares_free_data(list);
		return ARES_ENOMEM;
	}
	for (r = list; r != NULL; r = r->next) {
		mx = (struct dns_mx *)req->items + req->n;
		/* A longer name is no host name: skip the record. */
		if (str_lcpy(mx->host, r->host, sizeof(mx->host)) >=
		    sizeof(mx->host))
			continue;
		mx->pref = r->priority;
		req->n++;
	}
	ares_free_data(list);
	dns_mx_sort(req->items, req->n);
	if (req->n > DNS_ANSWER_MAX)
		req->n = DNS_ANSWER_MAX;
	req->size = req->n * sizeof(*mx);
	return req->n ? ARES_SUCCESS : ARES_ENODATA;
}

/* An MX or TXT answer: take its records (take), cache them for the
 * answer's TTL, and answer. */
static void
dns_on_records(struct dns_req *req, int status, unsigned char *abuf,
    int alen, int (*take)(struct dns_req *, const unsigned char *, int),
    int type)
{
	long ttl;

	if (req->cancelled) {
		dns_req_free(req);
		return;
	}
	if (status == ARES_SUCCESS)
		status = take(req, abuf, alen);
	if (status == ARES_SUCCESS) {
		req->st = DNS_OK;
		if ((ttl = dns_answer_ttl(abuf, alen, type)) < 0)
			ttl = DNS_MX_TTL_DEFAULT;
		dns_cache_put(req->d, req, ttl);
	} else
		dns_req_fail(req, status);
	dns_req_done(req);
}

static void
dns_on_mx(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	dns_on_records(arg, status, abuf, alen, dns_mx_take, ns_t_mx);
}

/* ---------------------------------------------------------------- TXT */

/*
 * The records of list (a record starts at each record_start), at most
 * DNS_ANSWER_MAX of them, each with its length capped at
 * DNS_TXT_MAX - 1: *n records of *text bytes, NULs included.
 */
static void
dns_txt_measure(const struct ares_txt_ext *list, size_t *n, size_t *text)
{
	const struct ares_txt_ext *t;
	size_t len = 0;

	*n = *text = 0;
	for (t = list; t != NULL; t = t->next) {
		if (t->record_start || t == list) {
			if (*n == DNS_ANSWER_MAX)
				break;
			if (*n > 0)
				*text += len + 1;
			(*n)++;
			len = 0;
		}
		len += t->length;
		if (len > DNS_TXT_MAX - 1)
			len = DNS_TXT_MAX - 1;
	}
	if (*n > 0)
		*text += len + 1;
}

/*
 * Copy the records of list into the zeroed block of req (see
 * dns_txt_link), so every text already ends with its NUL.
 */
static void
dns_txt_fill(struct dns_req *req, const struct ares_txt_ext *list)
{
	const struct ares_txt_ext *t;
	struct dns_txt *txt = req->items;
	char *p = (char *)(txt + req->n);
	size_t i = 0, take;

	for (t = list; t != NULL; t = t->next) {
		if (t->record_start && t != list) {
			p += txt[i].len + 1;
			if (++i == req->n)
				break;
		}
		take = t->length;
		if (take > DNS_TXT_MAX - 1 - txt[i].len) {
			take = DNS_TXT_MAX - 1 - txt[i].len;
			txt[i].truncated = 1;
		}
		memcpy(p + txt[i].len, t->txt, take);
		txt[i].len += take;
	}
}

/*
 * The TXT records of the answer into req, each record's strings joined
 * without spaces (RFC 7208 3.3, RFC 6376 3.6.2.2).
 */
static int
dns_txt_take(struct dns_req *req, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *list;
	size_t n, text;
	int status;

	if ((status = ares_parse_txt_reply_ext(abuf, alen, &list)) !=
	    ARES_SUCCESS)
		return status;
	dns_txt_measure(list, &n, &text);
	if (n == 0) {
		ares_free_data(list);
		return ARES_ENODATA;
	}
	req->size = n * sizeof(struct dns_txt) + text;
	if ((req->items = calloc(1, req->size)) == NULL) {
		ares_free_data(list);
		return ARES_ENOMEM;
	}
	req->n = n;
	dns_txt_fill(req, list);
	ares_free_data(list);
	dns_txt_link(req->items, req->n);
	return ARES_SUCCESS;
}

static void
dns_on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	dns_on_records(arg, status, abuf, alen, dns_txt_take, ns_t_txt);
}

/* ---------------------------------------------------------------- lookups */

/*
 * Answer req from the cache or hand it to c-ares.  While c-ares has it
 * on the stack (req->starting), an answer it gives at once is deferred
 * to the event loop.
 */
static void
dns_req_start(struct dns *d, struct dns_req *req)
{
	struct ares_addrinfo_hints hints;

	if (dns_cache_answer(d, req)) {
		dns_req_defer(req);
		return;
	}
	TAILQ_INSERT_TAIL(&d->pending, req, entry);
	req->starting = 1;
	if (req->kind == DNS_KIND_MX) {
		ares_query(d->channel, req->name, ns_c_in, ns_t_mx, dns_on_mx,
		    req);
	} else if (req->kind == DNS_KIND_TXT) {
		ares_query(d->channel, req->name, ns_c_in, ns_t_txt,
		    dns_on_txt, req);
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		ares_getaddrinfo(d->channel, req->name, NULL, &hints,
		    dns_on_addrinfo, req);
	}
	req->starting = 0;
	/* Inside an event handler, dns_leave re-arms it on the way out. */
	if (!d->busy)
		dns_timer_arm(d);
}

int
dns_resolve(struct dns *d, const char *host, uint16_t port, dns_addr_fn cb,
    void *arg, struct errbuf *eb)
{
	struct dns_addr lit;
	struct dns_req *req;
	int literal = dns_literal(host, &lit);

	if (literal == -1)
		return dns_name_bad(host, "not an IP address", 0, eb);
	if ((req = dns_req_new(d, DNS_KIND_ADDR, arg, eb)) == NULL)
		return -1;
	req->addr_cb = cb;
	req->port = port;
	if (literal == 1) {
		str_lcpy(req->name, host, sizeof(req->name));
		if ((req->items = malloc(sizeof(lit))) == NULL) {
			dns_req_free(req);
			return errbuf_errno(eb, errno, "DNS lookup of %s",
			    host);
		}
		dns_addr_set_port(&lit, port);
		memcpy(req->items, &lit, sizeof(lit));
		req->n = 1;
		dns_req_defer(req);
		return 0;
	}
	if (dns_name_norm(host, req->name, eb) == -1) {
		dns_req_free(req);
		return -1;
	}
	dns_req_start(d, req);
	return 0;
}

int
dns_mx(struct dns *d, const char *domain, dns_mx_fn cb, void *arg,
    struct errbuf *eb)
{
	struct dns_req *req;

	if ((req = dns_req_new(d, DNS_KIND_MX, arg, eb)) == NULL)
		return -1;
	req->mx_cb = cb;
	if (dns_name_norm(domain, req->name, eb) == -1) {
		dns_req_free(req);
		return -1;
	}
	dns_req_start(d, req);
	return 0;
}

int
dns_txt(struct dns *d, const char *name, dns_txt_fn cb, void *arg,
    struct errbuf *eb)
{
	struct dns_req *req;

	if ((req = dns_req_new(d, DNS_KIND_TXT, arg, eb)) == NULL)
		return -1;
	req->txt_cb = cb;
	if (dns_name_norm(name, req->name, eb) == -1) {
		dns_req_free(req);
		return -1;
	}
	dns_req_start(d, req);
	return 0;
}

/* ---------------------------------------------------------------- setup */

/*
 * The channel: our socket callback, DNS only (no /etc/hosts, no
 * HOSTALIASES file), no search domains, DNS_TRIES rounds over the
 * servers waiting DNS_TIMEOUT_MS (doubled each round by c-ares).  With
 * a single server there is nobody to fail over to after a SERVFAIL, so
 * c-ares may report the rcode itself (see dns_reasons).
 */
static int
dns_channel_init(struct dns *d, int single, struct errbuf *eb)
{
	struct ares_options o;
	char lookups[] = "b";
	int rc;

	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOALIASES | ARES_FLAG_NOSEARCH |
	    (single ? ARES_FLAG_NOCHECKRESP : 0);
	o.timeout = DNS_TIMEOUT_MS;
	o.tries = DNS_TRIES;
	o.ndomains = 0;
	o.domains = NULL;
	o.lookups = lookups;
	o.sock_state_cb = dns_on_sock_state;
	o.sock_state_cb_data = d;
	rc = ares_init_options(&d->channel, &o, ARES_OPT_FLAGS |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_DOMAINS |
	    ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB);
	if (rc != ARES_SUCCESS) {
		d->channel = NULL;
		return errbuf_set(eb, "DNS resolver: %s", ares_strerror(rc));
	}
	return 0;
}

/* Everything of d that exists; c-ares lets go of its requests here. */
static void
dns_destroy(struct dns *d)
{
	if (d->channel != NULL)
		ares_destroy(d->channel);
	while (d->nsocks > 0)
		dns_sock_drop(d, d->nsocks - 1);
	free(d->socks);
	if (d->timer != NULL)
		event_free(d->timer);
	if (d->ready_ev != NULL)
		event_free(d->ready_ev);
	if (d->buckets != NULL)
		dns_cache_clear(d);
	free(d->buckets);
	if (d->ares_ready)
		ares_library_cleanup();
	free(d);
}

struct dns *
dns_new(struct event_base *base, const char *servers, struct errbuf *eb)
{
	struct ares_addr_port_node *nodes = NULL;
	struct dns *d;
	int rc;

	/* config.c lets "dns_servers =" through: it means the default. */
	if (servers != NULL && servers[strspn(servers, " \t")] == '\0')
		servers = NULL;
	if (servers != NULL && (nodes = dns_servers_parse(servers, eb)) == NULL)
		return NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->buckets = calloc(DNS_CACHE_BUCKETS, sizeof(*d->buckets))) ==
		NULL) {
		errbuf_errno(eb, errno, "DNS resolver");
		goto fail;
	}
	d->base = base;
	TAILQ_INIT(&d->pending);
	TAILQ_INIT(&d->ready);
	TAILQ_INIT(&d->lru);
	d->timer = evtimer_new(base, dns_on_timer, d);
	d->ready_ev = event_new(base, -1, 0, dns_on_ready, d);
	if (d->timer == NULL || d->ready_ev == NULL) {
		errbuf_set(eb, "DNS resolver: cannot create events");
		goto fail;
	}
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		errbuf_set(eb, "DNS resolver: %s", ares_strerror(rc));
		goto fail;
	}
	d->ares_ready = 1;
	if (dns_channel_init(d, nodes != NULL && nodes->next == NULL, eb) ==
	    -1)
		goto fail;
	if (nodes != NULL &&
	    (rc = ares_set_servers_ports(d->channel, nodes)) != ARES_SUCCESS) {
		errbuf_set(eb, "DNS servers: %s", ares_strerror(rc));
		goto fail;
	}
	dns_servers_describe(d);
	/* /etc/resolv.conf named one server: start again, with the flag. */
	if (nodes == NULL && d->nservers == 1) {
		ares_destroy(d->channel);
		d->channel = NULL;
		if (dns_channel_init(d, 1, eb) == -1)
			goto fail;
	}
	free(nodes);
	return d;
fail:
	free(nodes);
	if (d != NULL)
		dns_destroy(d);
	return NULL;
}

void
dns_free(struct dns *d)
{
	if (d == NULL || d->dead)
		return;
	d->dead = 1;
	d->busy++;
	dns_cancel_all(d);
	if (--d->busy == 0)
		dns_destroy(d);
}
