/*
 * tern_dns: "tern dns DOMAIN [--selector S]" — look up the MX, SPF,
 * DKIM and DMARC records of a sending domain through the config's
 * dns_servers (dns.c, never the system resolver) and say in plain
 * words what is wrong and how to fix it.
 *
 * This file is the subcommand: its arguments, the lookups, the report
 * and the exit status; what the answers mean is tern_dns_check.c's and
 * tern_dns_check_spf.c's.  Every lookup is started at once on one
 * event base; the addresses of the MX hosts are asked from the MX
 * callback.  Nothing is printed before every answer is in: the report
 * is then written section by section, one finding a line, each
 * starting with its level ("ok:", "info:", "warning:", "error:" or
 * "unknown:" when a lookup failed).  Only findings decide the exit
 * code (see tern_dns_exit).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "dns.h"
#include "errbuf.h"
#include "str.h"
#include "tern_cmd.h"
#include "tern_dns_check.h"

#define TERN_DNS_USAGE "usage: tern dns DOMAIN [--selector S]\n"
/* Exit code when a finding is an error: the domain has problems. */
#define TERN_DNS_EX_PROBLEMS 1
#define TERN_DNS_LIMIT_S 30    /* the longest the lookups may take */
#define TERN_DNS_NAME_MAX 253
#define TERN_DNS_SELECTORS 8   /* DKIM selectors checked at most */
#define TERN_DNS_PARENTS 8     /* DMARC: parent domains asked at most */

/* One lookup: its answer, copied out of the dns callback. */
struct tern_dns_res {
	struct tern_dns *t;
	struct tern_dns_check_answer a;
};

struct tern_dns {
	const struct config *cfg;
	struct event_base *base;
	struct dns *d;
	char domain[TERN_DNS_NAME_MAX + 1];
	const char *selectors[TERN_DNS_SELECTORS];
	const struct config_dkim *dkim[TERN_DNS_SELECTORS];
	struct tern_dns_check_key keys[TERN_DNS_SELECTORS]; /* dkim's */
	size_t nselectors;
	int outstanding;
	bool timed_out;
	struct tern_dns_res mx, mxaddr[DNS_ANSWER_MAX], addr, host, spf;
	struct tern_dns_res dkimrec[TERN_DNS_SELECTORS];
	struct tern_dns_res dmarc, parent[TERN_DNS_PARENTS];
	char parents[TERN_DNS_PARENTS][TERN_DNS_NAME_MAX + 1];
	size_t nparents;
	unsigned count[TERN_DNS_CHECK_LEVELS];
};

/* ---------------------------------------------------------------- lookups */

static void
tern_dns_answered(struct tern_dns_res *r, enum dns_status st,
    const char *err)
{
	r->a.st = st;
	if (err != NULL)
		str_lcpy(r->a.err, err, sizeof(r->a.err));
	if (--r->t->outstanding == 0)
		event_base_loopexit(r->t->base, NULL);
}

static void
tern_dns_on_txt(enum dns_status st, const char *err,
    const struct dns_txt *txt, size_t n, void *arg)
{
	struct tern_dns_res *r = arg;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if ((r->a.txt[i] = malloc(txt[i].len + 1)) == NULL)
			break;
		/* A NUL inside a record is no part of any valid tag. */
		for (j = 0; j < txt[i].len; j++)
			r->a.txt[i][j] = txt[i].text[j] ? txt[i].text[j] : '?';
		r->a.txt[i][j] = '\0';
		r->a.truncated[i] = txt[i].truncated != 0;
	}
	r->a.n = i;
	tern_dns_answered(r, i < n ? DNS_TEMPFAIL : st, i < n ?
	    "out of memory" : err);
}

static void
tern_dns_on_addr(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	struct tern_dns_res *r = arg;

	/* addrs is NULL when n is 0: no memcpy then. */
	if (n > 0)
		memcpy(r->a.addr, addrs, n * sizeof(*addrs));
	r->a.n = n;
	tern_dns_answered(r, st, err);
}

static void tern_dns_ask_addr(struct tern_dns *t, struct tern_dns_res *r,
    const char *name);

static void
tern_dns_on_mx(enum dns_status st, const char *err, const struct dns_mx *mx,
    size_t n, void *arg)
{
	struct tern_dns_res *r = arg;
	size_t i;

	if (n > 0)
		memcpy(r->a.mx, mx, n * sizeof(*mx));
	r->a.n = n;
	for (i = 0; i < n; i++)
		if (mx[i].host[0] != '\0')
			tern_dns_ask_addr(r->t, &r->t->mxaddr[i], mx[i].host);
	tern_dns_answered(r, st, err);
}

/* A lookup dns.c refuses (a bad name) is an answer with that error. */
static void
tern_dns_refused(struct tern_dns *t, struct tern_dns_res *r,
    const struct errbuf *eb)
{
	r->t = t;
	r->a.st = DNS_NXDOMAIN;
	str_lcpy(r->a.err, eb->msg, sizeof(r->a.err));
}

static void
tern_dns_ask_addr(struct tern_dns *t, struct tern_dns_res *r,
    const char *name)
{
	struct errbuf eb;

	errbuf_clear(&eb);
	r->t = t;
	if (dns_resolve(t->d, name, 25, tern_dns_on_addr, r, &eb) == -1)
		return tern_dns_refused(t, r, &eb);
	t->outstanding++;
}

static void
tern_dns_ask_txt(struct tern_dns *t, struct tern_dns_res *r,
    const char *name)
{
	struct errbuf eb;

	errbuf_clear(&eb);
	r->t = t;
	if (dns_txt(t->d, name, tern_dns_on_txt, r, &eb) == -1)
		return tern_dns_refused(t, r, &eb);
	t->outstanding++;
}

static void
tern_dns_ask_mx(struct tern_dns *t)
{
	struct errbuf eb;

	errbuf_clear(&eb);
	t->mx.t = t;
	if (dns_mx(t->d, t->domain, tern_dns_on_mx, &t->mx, &eb) == -1)
		return tern_dns_refused(t, &t->mx, &eb);
	t->outstanding++;
}

static void
tern_dns_on_limit(evutil_socket_t fd, short what, void *arg)
{
	struct tern_dns *t = arg;

	(void)fd;
	(void)what;
	t->timed_out = true;
	event_base_loopbreak(t->base);
}

/*
 * The parents of the domain, nearest first, down to two labels: where
 * DMARC policy is found when the domain publishes none (RFC 7489 6.6.3
 * asks the organizational domain; without the public suffix list the
 * nearest parent with a record stands for it).
 */
static void
tern_dns_parents(struct tern_dns *t)
{
	const char *p = t->domain, *dot;

	while ((dot = strchr(p, '.')) != NULL && strchr(dot + 1, '.') != NULL &&
	    t->nparents < TERN_DNS_PARENTS) {
		p = dot + 1;
		snprintf(t->parents[t->nparents++], TERN_DNS_NAME_MAX + 1,
		    "%s", p);
	}
}

static void
tern_dns_ask_all(struct tern_dns *t)
{
	char name[TERN_DNS_NAME_MAX + 64];
	size_t i;

	tern_dns_ask_mx(t);
	tern_dns_ask_addr(t, &t->addr, t->domain);
	tern_dns_ask_txt(t, &t->spf, t->domain);
	snprintf(name, sizeof(name), "_dmarc.%s", t->domain);
	tern_dns_ask_txt(t, &t->dmarc, name);
	tern_dns_parents(t);
	for (i = 0; i < t->nparents; i++) {
		snprintf(name, sizeof(name), "_dmarc.%s", t->parents[i]);
		tern_dns_ask_txt(t, &t->parent[i], name);
	}
	for (i = 0; i < t->nselectors; i++) {
		snprintf(name, sizeof(name), "%s._domainkey.%s",
		    t->selectors[i], t->domain);
		tern_dns_ask_txt(t, &t->dkimrec[i], name);
	}
	if (t->cfg->delivery == CONFIG_DELIVERY_DIRECT &&
	    t->cfg->hostname != NULL)
		tern_dns_ask_addr(t, &t->host, t->cfg->hostname);
}

/* ---------------------------------------------------------------- report */

/* Each finding as a line of the report, counted for the exit code. */
static void
tern_dns_on_finding(void *arg, enum tern_dns_check_level level,
    const char *fmt, va_list ap)
{
	static const char *const marker[] = { "ok", "info", "warning",
		"error", "unknown" };
	struct tern_dns *t = arg;

	t->count[level]++;
	printf("%s: ", marker[level]);
	vprintf(fmt, ap);
	putchar('\n');
}

static void
tern_dns_section(const char *title, const char *name)
{
	printf("\n%s %s\n", title, name);
}

/*
 * The key_file of each selector's [dkim], read now so that the checks
 * see keys, never files.  A file that cannot be opened keeps its errno
 * for the finding; one without a PEM key is left NULL.
 */
static void
tern_dns_read_keys(struct tern_dns *t)
{
	const struct config_dkim *sec;
	FILE *f;
	size_t i;

	for (i = 0; i < t->nselectors; i++) {
		if ((sec = t->dkim[i]) == NULL || sec->key_file == NULL)
			continue;
		if ((f = fopen(sec->key_file, "r")) == NULL) {
			t->keys[i].err = errno;
			continue;
		}
		t->keys[i].pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		ERR_clear_error();
	}
}

/* What every check reads: the config, the domain and some answers. */
static void
tern_dns_context(struct tern_dns *t, struct tern_dns_check *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->cfg = t->cfg;
	c->domain = t->domain;
	c->say = tern_dns_on_finding;
	c->arg = t;
	c->addr = &t->addr.a;
	c->mx = &t->mx.a;
	c->host = &t->host.a;
	for (i = 0; i < DNS_ANSWER_MAX; i++)
		c->mxaddr[i] = &t->mxaddr[i].a;
}

static void
tern_dns_report(struct tern_dns *t)
{
	struct tern_dns_check c;
	struct tern_dns_check_selector sel[TERN_DNS_SELECTORS];
	struct tern_dns_check_parent parents[TERN_DNS_PARENTS];
	size_t i;

	tern_dns_context(t, &c);
	for (i = 0; i < t->nselectors; i++) {
		sel[i].name = t->selectors[i];
		sel[i].sec = t->dkim[i];
		sel[i].key = t->dkim[i] != NULL &&
		    t->dkim[i]->key_file != NULL ? &t->keys[i] : NULL;
		sel[i].txt = &t->dkimrec[i].a;
	}
	for (i = 0; i < t->nparents; i++) {
		parents[i].name = t->parents[i];
		parents[i].txt = &t->parent[i].a;
	}
	printf("tern dns %s\n", t->domain);
	tern_dns_section("MX", t->domain);
	tern_dns_check_mx(&c);
	tern_dns_section("SPF", t->domain);
	tern_dns_check_spf(&c, &t->spf.a);
	tern_dns_section("DKIM", t->domain);
	tern_dns_check_dkim(&c, sel, t->nselectors);
	tern_dns_section("DMARC", t->domain);
	tern_dns_check_dmarc(&c, &t->dmarc.a, parents, t->nparents);
}

/* ---------------------------------------------------------------- arguments */

static int
tern_dns_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "tern: dns: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", TERN_DNS_USAGE);
	return EX_USAGE;
}

/* The domain, lower case and without a final dot; 0 or EX_USAGE. */
static int
tern_dns_set_domain(struct tern_dns *t, const char *arg)
{
	size_t i, len = strlen(arg);
	struct in6_addr a6;
	struct in_addr a4;

	if (len > 1 && arg[len - 1] == '.')
		len--;
	if (len == 0 || len > TERN_DNS_NAME_MAX)
		return tern_dns_usage_error("'%s' is not a domain name", arg);
	for (i = 0; i < len; i++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-._",
		    tolower((unsigned char)arg[i])) ||
		    (arg[i] == '.' && (i == 0 || arg[i - 1] == '.')))
			return tern_dns_usage_error("'%s' is not a domain "
			    "name; give the domain of the From addresses, e.g. "
			    "example.org", arg);
		t->domain[i] = (char)tolower((unsigned char)arg[i]);
	}
	t->domain[len] = '\0';
	if (inet_pton(AF_INET, t->domain, &a4) == 1 ||
	    inet_pton(AF_INET6, t->domain, &a6) == 1 ||
	    strchr(t->domain, '.') == NULL)
		return tern_dns_usage_error("'%s' is not a full domain name; "
		    "give the domain of the From addresses, e.g. example.org",
		    arg);
	return EX_OK;
}

/* The selectors: --selector, else those of the domain's [dkim]. */
static void
tern_dns_selectors(struct tern_dns *t, const char *selector)
{
	const struct config_dkim *k;
	size_t i;

	for (i = 0; i < t->cfg->ndkims && t->nselectors < TERN_DNS_SELECTORS;
	    i++) {
		k = &t->cfg->dkims[i];
		if (strcasecmp(k->domain, t->domain) != 0 ||
		    k->selector == NULL || (selector != NULL &&
		    strcasecmp(k->selector, selector) != 0))
			continue;
		t->dkim[t->nselectors] = k;
		t->selectors[t->nselectors++] = k->selector;
	}
	if (selector != NULL && t->nselectors == 0)
		t->selectors[t->nselectors++] = selector;
}

static int
tern_dns_parse(struct tern_dns *t, int argc, char **argv, bool *help)
{
	const char *domain = NULL, *selector = NULL;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			*help = true;
			return EX_OK;
		} else if (strcmp(argv[i], "--selector") == 0 && i + 1 < argc &&
		    selector == NULL) {
			selector = argv[++i];
		} else if (strncmp(argv[i], "--selector=", 11) == 0 &&
		    selector == NULL) {
			selector = argv[i] + 11;
		} else if (argv[i][0] == '-') {
			return tern_dns_usage_error("unknown option, or one "
			    "given twice or without its value: '%s'", argv[i]);
		} else if (domain != NULL) {
			return tern_dns_usage_error("unexpected argument '%s'",
			    argv[i]);
		} else {
			domain = argv[i];
		}
	}
	if (domain == NULL)
		return tern_dns_usage_error("%s", "give the DOMAIN to check");
	if ((rc = tern_dns_set_domain(t, domain)) != EX_OK)
		return rc;
	if (selector != NULL && (selector[0] == '\0' ||
	    strspn(selector, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
	    "XYZ0123456789-_.") != strlen(selector) || strlen(selector) > 63))
		return tern_dns_usage_error("bad selector '%s': use letters, "
		    "digits, '-', '_' and '.'", selector);
	tern_dns_selectors(t, selector);
	return EX_OK;
}

/* Exit: findings first, then whether every lookup had an answer. */
static int
tern_dns_exit(const struct tern_dns *t)
{
	unsigned errors = t->count[TERN_DNS_CHECK_ERROR];
	unsigned warnings = t->count[TERN_DNS_CHECK_WARNING];
	unsigned failed = t->count[TERN_DNS_CHECK_UNKNOWN];

	printf("\n%u error%s, %u warning%s, %u lookup%s failed\n", errors,
	    errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s",
	    failed, failed == 1 ? "" : "s");
	if (errors > 0)
		return TERN_DNS_EX_PROBLEMS;
	if (failed > 0)
		return EX_TEMPFAIL;
	return EX_OK;
}

static void
tern_dns_free(struct tern_dns *t)
{
	struct tern_dns_res *all[] = { &t->spf, &t->dmarc };
	size_t i, k;

	for (i = 0; i < 2; i++)
		for (k = 0; k < all[i]->a.n; k++)
			free(all[i]->a.txt[k]);
	for (i = 0; i < TERN_DNS_SELECTORS; i++) {
		for (k = 0; k < t->dkimrec[i].a.n; k++)
			free(t->dkimrec[i].a.txt[k]);
		EVP_PKEY_free(t->keys[i].pkey);
	}
	for (i = 0; i < TERN_DNS_PARENTS; i++)
		for (k = 0; k < t->parent[i].a.n; k++)
			free(t->parent[i].a.txt[k]);
	free(t);
}

/* Look everything up: EX_OK once every answer is in or the time is up
 * (t->timed_out), else why the resolver could not start. */
static int
tern_dns_lookup(struct tern_dns *t)
{
	struct timeval limit = { TERN_DNS_LIMIT_S, 0 };
	struct errbuf eb;

	errbuf_clear(&eb);
	if ((t->base = event_base_new()) == NULL) {
		fprintf(stderr, "tern: dns: cannot create an event base\n");
		return EX_OSERR;
	}
	if ((t->d = dns_new(t->base, t->cfg->dns_servers, &eb)) == NULL) {
		fprintf(stderr, "tern: dns: %s; fix dns_servers in %s\n",
		    eb.msg, t->cfg->path ? t->cfg->path : CONFIG_DEFAULT_PATH);
		event_base_free(t->base);
		return EX_CONFIG;
	}
	event_base_once(t->base, -1, EV_TIMEOUT, tern_dns_on_limit, t, &limit);
	tern_dns_ask_all(t);
	if (t->outstanding > 0)
		event_base_dispatch(t->base);
	return EX_OK;
}

int
tern_cmd_dns(const struct config *cfg, int argc, char **argv)
{
	struct tern_dns *t;
	bool help = false;
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		fprintf(stderr, "tern: dns: out of memory\n");
		return EX_OSERR;
	}
	t->cfg = cfg;
	if ((rc = tern_dns_parse(t, argc, argv, &help)) != EX_OK || help) {
		if (help)
			fputs(TERN_DNS_USAGE, stdout);
		free(t);
		return rc;
	}
	if ((rc = tern_dns_lookup(t)) != EX_OK) {
		free(t);
		return rc;
	}
	if (t->timed_out) {
		fprintf(stderr, "tern: dns: no answers within %d s from %s\n",
		    TERN_DNS_LIMIT_S, cfg->dns_servers ? cfg->dns_servers :
		    "the servers of /etc/resolv.conf");
		rc = EX_TEMPFAIL;
	} else {
		tern_dns_read_keys(t);
		tern_dns_report(t);
		rc = tern_dns_exit(t);
	}
	/* Frees the requests still out (callbacks run, cancelled). */
	dns_free(t->d);
	event_base_free(t->base);
	tern_dns_free(t);
	return rc;
}
