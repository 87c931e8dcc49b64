/*
 * dns_probe: drive the dns module from the command line, for
 * test/integration/dns.sh.
 *
 *   dns_probe [--servers LIST] [--mx | --txt] [--twice] [--wait MS] [--cancel]
 *             [--free-in-callback] [--repeat N] NAME [PORT]
 *
 * Prints one line per answer: "addr 127.0.0.5 25", "mx 10 mx1.test",
 * "txt 11 v=spf1 -all" (its length, then the text with bytes outside
 * printable ASCII as \xNN, and " (truncated)" when dns.c cut it), or
 * "status NXDOMAIN <error>" for anything but DNS_OK.  --twice asks again
 * once the first answer is in (from inside its callback, or MS
 * milliseconds later with --wait) and prints "cached" when the cache
 * answered.  --cancel frees the resolver while the lookup is on the wire
 * and prints "freed" after dns_free returns; --free-in-callback starts
 * two lookups and frees the resolver from the first callback.  --repeat
 * starts N lookups of NAME at once (each round).  The probe
 * also checks the module's promises: no callback from inside
 * dns_resolve/dns_mx, none after dns_free, exactly one per lookup.
 *
 * Exit: 0 when every answer was DNS_OK, 1 when one was not, 2 on a usage
 * or setup error (dns_new, dns_resolve), 3 when a promise was broken or
 * the probe hung.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "dns.h"

#define DNS_PROBE_LIMIT_S 40 /* the longest any run may take */

struct dns_probe {
	struct event_base *base;
	struct dns *d;
	const char *name;
	uint16_t port;
	int mx, txt, twice, cancel, free_in_cb, repeat;
	long wait_ms;
	int starting;    /* inside dns_resolve/dns_mx */
	int freeing;     /* dns_free was called */
	int freed;       /* dns_free has returned */
	int outstanding; /* lookups without an answer yet */
	int round;       /* 1, then 2 with --twice */
	unsigned long hits_before;
	int rc;
};

static void
dns_probe_broken(struct dns_probe *p, const char *what)
{
	printf("error %s\n", what);
	p->rc = 3;
}

static void dns_probe_start(struct dns_probe *p);

static void
dns_probe_on_wait(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dns_probe_start(arg);
}

/* One answer is in: check the promises, then go on or stop. */
static void
dns_probe_answered(struct dns_probe *p, enum dns_status st, const char *err,
    size_t n)
{
	struct timeval tv;

	if (p->starting)
		dns_probe_broken(p, "callback ran inside a lookup function");
	if (p->freed)
		dns_probe_broken(p, "callback ran after dns_free");
	if (--p->outstanding < 0)
		dns_probe_broken(p, "more callbacks than lookups");
	if (st == DNS_OK ? err != NULL || n == 0 : err == NULL || n != 0)
		dns_probe_broken(p, "answers or error do not fit the status");
	if (st != DNS_OK) {
		printf("status %s %s\n", dns_status_name(st),
		    err ? err : "(no message)");
		if (p->rc == 0)
			p->rc = 1;
	}
	if (!p->freed && p->round == 2 &&
	    dns_cache_hits(p->d) > p->hits_before)
		printf("cached\n");
	fflush(stdout);
	if (p->free_in_cb && !p->freeing) {
		p->freeing = 1;
		dns_free(p->d);
		p->freed = 1;
		printf("freed\n");
	} else if (p->outstanding > 0) {
		return; /* the other lookups of this round are still out */
	} else if (p->twice && p->round == 1 && p->wait_ms == 0) {
		dns_probe_start(p);
	} else if (p->twice && p->round == 1) {
		tv.tv_sec = p->wait_ms / 1000;
		tv.tv_usec = p->wait_ms % 1000 * 1000;
		event_base_once(p->base, -1, EV_TIMEOUT, dns_probe_on_wait, p,
		    &tv);
	} else {
		event_base_loopexit(p->base, NULL);
	}
}

static void
dns_probe_on_addr(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	for (i = 0; i < n; i++) {
		sin = (const struct sockaddr_in *)&addrs[i].sa;
		sin6 = (const struct sockaddr_in6 *)&addrs[i].sa;
		if (addrs[i].sa.ss_family == AF_INET)
			printf("addr %s %u\n", inet_ntop(AF_INET,
			    &sin->sin_addr, text, sizeof(text)),
			    ntohs(sin->sin_port));
		else
			printf("addr %s %u\n", inet_ntop(AF_INET6,
			    &sin6->sin6_addr, text, sizeof(text)),
			    ntohs(sin6->sin6_port));
	}
	dns_probe_answered(arg, st, err, n);
}

static void
dns_probe_on_mx(enum dns_status st, const char *err, const struct dns_mx *mx,
    size_t n, void *arg)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("mx %u %s\n", mx[i].pref, mx[i].host);
	dns_probe_answered(arg, st, err, n);
}

static void
dns_probe_on_txt(enum dns_status st, const char *err,
    const struct dns_txt *txt, size_t n, void *arg)
{
	size_t i, j;
	unsigned char c;

	for (i = 0; i < n; i++) {
		printf("txt %zu ", txt[i].len);
		for (j = 0; j < txt[i].len; j++) {
			c = (unsigned char)txt[i].text[j];
			if (c >= 0x20 && c < 0x7f && c != '\\')
				putchar(c);
			else
				printf("\\x%02x", c);
		}
		if (txt[i].text[txt[i].len] != '\0')
			dns_probe_broken(arg, "a TXT text without its NUL");
		printf("%s\n", txt[i].truncated ? " (truncated)" : "");
	}
	dns_probe_answered(arg, st, err, n);
}

/* Start one lookup of p->name; a refusal ends the probe with 2. */
static void
dns_probe_lookup(struct dns_probe *p)
{
	struct errbuf eb;
	int rc;

	errbuf_clear(&eb);
	p->starting = 1;
	if (p->mx)
		rc = dns_mx(p->d, p->name, dns_probe_on_mx, p, &eb);
	else if (p->txt)
		rc = dns_txt(p->d, p->name, dns_probe_on_txt, p, &eb);
	else
		rc = dns_resolve(p->d, p->name, p->port, dns_probe_on_addr, p,
		    &eb);
	p->starting = 0;
	if (rc == -1) {
		fprintf(stderr, "dns_probe: %s\n", eb.msg);
		printf("refused %s\n", eb.msg);
		p->rc = 2;
		event_base_loopexit(p->base, NULL);
		return;
	}
	p->outstanding++;
}

static void
dns_probe_start(struct dns_probe *p)
{
	int i;

	p->round++;
	p->hits_before = dns_cache_hits(p->d);
	for (i = 0; i < p->repeat && p->rc != 2; i++)
		dns_probe_lookup(p);
}

static void
dns_probe_on_cancel(evutil_socket_t fd, short what, void *arg)
{
	struct dns_probe *p = arg;

	(void)fd;
	(void)what;
	p->freeing = 1;
	dns_free(p->d);
	p->freed = 1;
	printf("freed\n");
	if (p->outstanding != 0)
		dns_probe_broken(p, "dns_free left a lookup unanswered");
	event_base_loopexit(p->base, NULL);
}

static void
dns_probe_on_limit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	dns_probe_broken(arg, "no answer within the probe's time limit");
	event_base_loopbreak(((struct dns_probe *)arg)->base);
}

static int
dns_probe_usage(void)
{
	fprintf(stderr, "usage: dns_probe [--servers LIST] [--mx | --txt] "
	    "[--twice] [--wait MS] [--cancel] [--free-in-callback] "
	    "[--repeat N] NAME [PORT]\n");
	return 2;
}

static int
dns_probe_args(struct dns_probe *p, int argc, char **argv,
    const char **servers)
{
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--servers") == 0 && i + 1 < argc)
			*servers = argv[++i];
		else if (strcmp(argv[i], "--mx") == 0)
			p->mx = 1;
		else if (strcmp(argv[i], "--txt") == 0)
			p->txt = 1;
		else if (strcmp(argv[i], "--twice") == 0)
			p->twice = 1;
		else if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc)
			p->wait_ms = atol(argv[++i]);
		else if (strcmp(argv[i], "--cancel") == 0)
			p->cancel = 1;
		else if (strcmp(argv[i], "--free-in-callback") == 0)
			p->free_in_cb = 1;
		else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
			p->repeat = atoi(argv[++i]);
		else
			return -1;
	}
	if (i == argc || argc - i > 2 || (p->mx && p->txt) || p->repeat < 0 ||
	    p->repeat > 10000)
		return -1;
	if (p->repeat == 0)
		p->repeat = p->free_in_cb ? 2 : 1;
	p->name = argv[i];
	p->port = i + 1 < argc ? (uint16_t)atoi(argv[i + 1]) : 25;
	return 0;
}

int
main(int argc, char **argv)
{
	struct dns_probe p;
	struct errbuf eb;
	const char *servers = NULL;
	struct timeval limit = { DNS_PROBE_LIMIT_S, 0 };
	struct timeval soon = { 0, 100 * 1000 };

	memset(&p, 0, sizeof(p));
	if (dns_probe_args(&p, argc, argv, &servers) == -1)
		return dns_probe_usage();
	errbuf_clear(&eb);
	if ((p.base = event_base_new()) == NULL)
		return 2;
	if ((p.d = dns_new(p.base, servers, &eb)) == NULL) {
		fprintf(stderr, "dns_probe: %s\n", eb.msg);
		printf("refused %s\n", eb.msg);
		event_base_free(p.base);
		return 2;
	}
	event_base_once(p.base, -1, EV_TIMEOUT, dns_probe_on_limit, &p,
	    &limit);
	dns_probe_start(&p);
	if (p.cancel && p.rc != 2)
		event_base_once(p.base, -1, EV_TIMEOUT, dns_probe_on_cancel, &p,
		    &soon);
	if (p.rc != 2)
		event_base_dispatch(p.base);
	if (!p.freed)
		dns_free(p.d);
	if (p.outstanding != 0 && p.rc != 2)
		dns_probe_broken(&p, "a lookup was never answered");
	event_base_free(p.base);
	return p.rc;
}
