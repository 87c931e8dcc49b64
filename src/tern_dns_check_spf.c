/*
 * tern_dns_check_spf: the SPF findings of tern dns (see
 * tern_dns_check.h).  It owns the record's parsing (terms, "all",
 * redirect=, the lookup count of RFC 7208 4.6.4), the table of relay
 * providers and the include each publishes, and the direct-delivery
 * check of this host's addresses against ip4:, ip6:, a and mx.
 *
 * It reads record text and answers already in; include: and redirect=
 * are named, never followed, so a record whose coverage hides behind
 * them gets a warning, not an error.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "dns.h"
#include "str.h"
#include "tern_dns_check.h"
#include "tern_dns_check_int.h"

#define TERN_DNS_CHECK_SPF_LOOKUPS 10 /* RFC 7208 4.6.4 */

/* A relay provider's SPF include (the one to advise, then others that
 * cover its servers too), found by preset name or host suffix. */
struct tern_dns_check_spf_provider {
	const char *name;
	const char *hosts;    /* space-separated domain suffixes */
	const char *include;  /* NULL: the provider publishes none */
	const char *also;     /* space-separated, or NULL */
};

static const struct tern_dns_check_spf_provider
    tern_dns_check_spf_providers[] = {
	{ "brevo", "brevo.com sendinblue.com", "spf.brevo.com",
	    "spf.sendinblue.com" },
	{ "gmail", "gmail.com google.com googlemail.com", "_spf.google.com",
	    NULL },
	{ "office365", "office365.com", "spf.protection.outlook.com", NULL },
	{ "outlook", "outlook.com", "spf.protection.outlook.com", NULL },
	{ "yahoo", "yahoo.com", NULL, NULL },
	{ "zoho", "zoho.com zoho.eu zohomail.com", "zoho.com",
	    "zohomail.com zoho.eu" },
	{ "exmail.qq", "exmail.qq.com", "spf.mail.qq.com", NULL },
	{ "qq", "qq.com", "spf.mail.qq.com", NULL },
	{ "126", "126.com", "spf.163.com", NULL },
	{ "163", "163.com", "spf.163.com", NULL },
	{ "yeah", "yeah.net", "spf.163.com", NULL },
	{ "aliyun", "aliyun.com", "spf1.dm.aliyun.com",
	    "spf.qiye.aliyun.com" },
	{ "sendgrid", "sendgrid.net", "sendgrid.net", NULL },
	{ "mailgun", "mailgun.org", "mailgun.org", NULL },
	{ "ses", "amazonaws.com amazonses.com", "amazonses.com", NULL },
};

/* ---------------------------------------------------------------- record */

struct tern_dns_check_spf_terms {
	char rec[DNS_TXT_MAX];
	const char *all;      /* the qualifier of "all", or NULL */
	const char *redirect; /* the target of redirect=, or NULL */
	unsigned lookups;     /* terms that cost a DNS lookup */
	unsigned includes;
	bool a, mx, ip;       /* a, mx, ip4:/ip6: terms at all */
	bool ptr;
};

static bool
tern_dns_check_spf_term_is(const char *term, const char *name)
{
	size_t len = strlen(name);

	return strncasecmp(term, name, len) == 0 &&
	    (term[len] == '\0' || term[len] == ':' || term[len] == '/');
}

/* One term of the record; false (with an error said) when it is not
 * SPF, which makes the whole record a permerror. */
static bool
tern_dns_check_spf_term(const struct tern_dns_check *c,
    struct tern_dns_check_spf_terms *s, char *term)
{
	char *m = term;

	if (strncasecmp(term, "redirect=", 9) == 0) {
		s->redirect = term + 9;
		s->lookups++;
		return true;
	}
	if (strchr(term, '=') != NULL && (strchr(term, ':') == NULL ||
	    strchr(term, '=') < strchr(term, ':')))
		return true; /* exp= and unknown modifiers */
	if (strchr("+-~?", *m) != NULL)
		m++;
	if (strcasecmp(m, "all") == 0) {
		s->all = term;
	} else if (tern_dns_check_spf_term_is(m, "include")) {
		s->includes++;
		s->lookups++;
	} else if (tern_dns_check_spf_term_is(m, "a") ||
	    tern_dns_check_spf_term_is(m, "mx")) {
		s->lookups++;
		*(tolower((unsigned char)*m) == 'a' ? &s->a : &s->mx) = true;
	} else if (tern_dns_check_spf_term_is(m, "ptr")) {
		s->lookups++;
		s->ptr = true;
	} else if (tern_dns_check_spf_term_is(m, "exists")) {
		s->lookups++;
	} else if (tern_dns_check_spf_term_is(m, "ip4") ||
	    tern_dns_check_spf_term_is(m, "ip6")) {
		s->ip = true;
	} else {
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "SPF: unknown term "
		    "'%s': the record is invalid (permerror) and receivers "
		    "ignore it; fix or remove the term", term);
		return false;
	}
	return true;
}

/* Split the record into its terms (in place, copied into s->rec). */
static bool
tern_dns_check_spf_parse(const struct tern_dns_check *c,
    struct tern_dns_check_spf_terms *s, const char *rec)
{
	char *p, *save = NULL;
	bool valid = true;

	memset(s, 0, sizeof(*s));
	str_lcpy(s->rec, rec, sizeof(s->rec));
	for (p = strtok_r(s->rec + 6, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save))
		valid = tern_dns_check_spf_term(c, s, p) && valid;
	return valid;
}

/* Whether the record has "include:name" (or name's alternatives). */
static bool
tern_dns_check_spf_has(const char *rec, const char *name)
{
	char want[300];
	const char *p = rec;
	size_t len;

	snprintf(want, sizeof(want), "include:%s", name);
	len = strlen(want);
	while ((p = strcasestr(p, want)) != NULL) {
		if ((p == rec || p[-1] == ' ' || (strchr("+-~?", p[-1]) &&
		    (p - 1 == rec || p[-2] == ' '))) &&
		    (p[len] == '\0' || p[len] == ' ' || (p[len] == '.' &&
		    (p[len + 1] == '\0' || p[len + 1] == ' '))))
			return true;
		p += len;
	}
	return false;
}

static bool
tern_dns_check_spf_has_any(const char *rec, const char *list)
{
	char name[128];
	const char *p = list;
	size_t len;

	while (p != NULL && *p != '\0') {
		len = strcspn(p, " ");
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (tern_dns_check_spf_has(rec, name))
			return true;
		p += len + strspn(p + len, " ");
	}
	return false;
}

/* Whether host is suffix or ends in ".suffix", for each listed one. */
static bool
tern_dns_check_spf_host_in(const char *host, const char *list)
{
	const char *p = list;
	size_t len, hlen = strlen(host);

	while (*p != '\0') {
		len = strcspn(p, " ");
		if ((hlen == len || (hlen > len && host[hlen - len - 1] ==
		    '.')) && strncasecmp(host + hlen - len, p, len) == 0)
			return true;
		p += len + strspn(p + len, " ");
	}
	return false;
}

static const struct tern_dns_check_spf_provider *
tern_dns_check_spf_provider(const struct config_relay *r)
{
	size_t i, n = sizeof(tern_dns_check_spf_providers) /
	    sizeof(tern_dns_check_spf_providers[0]);

	for (i = 0; r->preset != NULL && i < n; i++)
		if (strcasecmp(r->preset,
		    tern_dns_check_spf_providers[i].name) == 0)
			return &tern_dns_check_spf_providers[i];
	for (i = 0; r->host != NULL && i < n; i++)
		if (tern_dns_check_spf_host_in(r->host,
		    tern_dns_check_spf_providers[i].hosts))
			return &tern_dns_check_spf_providers[i];
	return NULL;
}

/*
 * Whether rec includes a record that is no provider's known include:
 * that one might include the relay's servers in turn.
 */
static bool
tern_dns_check_spf_foreign(const char *rec)
{
	const struct tern_dns_check_spf_provider *p;
	char copy[DNS_TXT_MAX], *term, *save = NULL;
	size_t i, n = sizeof(tern_dns_check_spf_providers) /
	    sizeof(tern_dns_check_spf_providers[0]);
	bool known;

	str_lcpy(copy, rec, sizeof(copy));
	for (term = strtok_r(copy, " ", &save); term != NULL;
	    term = strtok_r(NULL, " ", &save)) {
		term += strchr("+-~?", *term) != NULL && *term != '\0';
		if (strncasecmp(term, "include:", 8) != 0)
			continue;
		for (i = 0, known = false; i < n && !known; i++) {
			p = &tern_dns_check_spf_providers[i];
			known = (p->include != NULL &&
			    tern_dns_check_spf_has(term, p->include)) ||
			    (p->also != NULL && tern_dns_check_spf_has_any(term,
			    p->also));
		}
		if (!known)
			return true;
	}
	return false;
}

static void
tern_dns_check_spf_relay(const struct tern_dns_check *c,
    const struct tern_dns_check_spf_terms *s, const char *rec,
    const struct config_relay *r)
{
	const struct tern_dns_check_spf_provider *p =
	    tern_dns_check_spf_provider(r);
	const char *host = r->host != NULL ? r->host : "?";

	if (p == NULL)
		return tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "SPF: "
		    "relay %s (%s): tern knows no SPF include for it; make "
		    "sure the record allows the servers it sends from (ask the "
		    "provider)", r->name, host);
	if (p->include == NULL)
		return tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "SPF: "
		    "relay %s (%s): %s publishes no SPF include for other "
		    "domains; mail from %s through it may fail SPF, prefer a "
		    "relay that supports your own domain", r->name, host,
		    p->name, c->domain);
	if (tern_dns_check_spf_has(rec, p->include) ||
	    (p->also != NULL && tern_dns_check_spf_has_any(rec, p->also)))
		return tern_dns_check_say(c, TERN_DNS_CHECK_OK, "SPF: relay %s "
		    "(%s): the record includes %s's servers", r->name, host,
		    p->name);
	if (s->redirect != NULL || tern_dns_check_spf_foreign(rec))
		return tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "SPF: "
		    "relay %s (%s): no include:%s in the record; tern does not "
		    "follow its other include: or redirect= terms, so make "
		    "sure one of them covers %s, or add include:%s before the "
		    "all", r->name, host, p->include, p->name, p->include);
	tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "SPF: relay %s (%s): the "
	    "record lacks include:%s, so receivers see mail sent through %s as "
	    "forged; add include:%s before the all", r->name, host, p->include,
	    p->name, p->include);
}

/* Whether address a is inside the ip4:/ip6: network of term. */
static bool
tern_dns_check_spf_cidr_has(const char *net, int family,
    const struct dns_addr *a)
{
	unsigned char want[16], have[16];
	char buf[64], *slash;
	int bits = family == AF_INET ? 32 : 128, i, max = bits;
	size_t digits;

	if (a->sa.ss_family != family)
		return false;
	str_lcpy(buf, net, sizeof(buf));
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		/* "/" or "/x" is no prefix length (a permerror), not the /0
		 * that atoi would make of it, allowing every address. */
		digits = strspn(slash + 1, "0123456789");
		if (digits == 0 || digits > 3 || slash[1 + digits] != '\0')
			return false;
		bits = atoi(slash + 1);
		if (bits > max)
			return false;
	}
	if (inet_pton(family, buf, want) != 1)
		return false;
	if (family == AF_INET)
		memcpy(have, &((const struct sockaddr_in *)&a->sa)->sin_addr,
		    4);
	else
		memcpy(have, &((const struct sockaddr_in6 *)&a->sa)->sin6_addr,
		    16);
	for (i = 0; i < bits; i++)
		if (((want[i / 8] ^ have[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static bool
tern_dns_check_spf_addr_eq(const struct dns_addr *x, const struct dns_addr *y)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	return strcmp(tern_dns_check_ntop(x, a, sizeof(a)),
	    tern_dns_check_ntop(y, b, sizeof(b))) == 0;
}

static bool
tern_dns_check_spf_res_has(const struct tern_dns_check_answer *r,
    const struct dns_addr *a)
{
	size_t i;

	for (i = 0; r->st == DNS_OK && i < r->n; i++)
		if (tern_dns_check_spf_addr_eq(&r->addr[i], a))
			return true;
	return false;
}

/*
 * The term of rec that allows address a: ip4:/ip6: networks, and "a"
 * and "mx" of the domain itself, whose addresses we have.  Writes the
 * term into why; false when none does.
 */
static bool
tern_dns_check_spf_allows(const struct tern_dns_check *c, const char *rec,
    const struct dns_addr *a, char *why, size_t size)
{
	char copy[DNS_TXT_MAX], *p, *m, *save = NULL;
	size_t i;
	bool hit;

	str_lcpy(copy, rec, sizeof(copy));
	for (p = strtok_r(copy, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		m = p + (*p == '+');
		hit = false;
		if (strncasecmp(m, "ip4:", 4) == 0)
			hit = tern_dns_check_spf_cidr_has(m + 4, AF_INET, a);
		else if (strncasecmp(m, "ip6:", 4) == 0)
			hit = tern_dns_check_spf_cidr_has(m + 4, AF_INET6, a);
		else if (strcasecmp(m, "a") == 0)
			hit = tern_dns_check_spf_res_has(c->addr, a);
		else if (strcasecmp(m, "mx") == 0)
			for (i = 0; i < c->mx->n && !hit; i++)
				hit = tern_dns_check_spf_res_has(
				    c->mxaddr[i], a);
		if (hit) {
			str_lcpy(why, p, size);
			return true;
		}
	}
	return false;
}

/* delivery = direct: this host sends itself, so SPF must list it. */
static void
tern_dns_check_spf_direct(const struct tern_dns_check *c,
    const struct tern_dns_check_spf_terms *s, const char *rec)
{
	const char *host = c->cfg->hostname != NULL ? c->cfg->hostname : "?";
	char list[512], why[128], one[INET6_ADDRSTRLEN];
	size_t i;
	bool hidden;

	if (!s->a && !s->mx && !s->ip && s->includes == 0 &&
	    s->redirect == NULL)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "SPF: "
		    "delivery = direct sends from this host, but the record "
		    "allows no server at all; add this host's public addresses "
		    "(ip4:, ip6:), or a or mx when it is the domain's host or "
		    "MX");
	if (c->host->st != DNS_OK)
		return tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "SPF: "
		    "delivery = direct: cannot look up this host's name %s "
		    "(%s); make sure the record allows its public addresses "
		    "(ip4:, ip6:, a or mx)", host, c->host->err);
	for (i = 0; i < c->host->n; i++)
		if (tern_dns_check_spf_allows(c, rec, &c->host->addr[i], why,
		    sizeof(why)))
			return tern_dns_check_say(c, TERN_DNS_CHECK_OK, "SPF: "
			    "delivery = direct: this host (%s, %s) is allowed "
			    "by %s", host, tern_dns_check_ntop(
			    &c->host->addr[i], one, sizeof(one)), why);
	/* Coverage behind include: or redirect= is possible, not known. */
	hidden = s->includes || s->redirect;
	tern_dns_check_say(c, hidden ? TERN_DNS_CHECK_WARNING :
	    TERN_DNS_CHECK_ERROR, "SPF: delivery = direct: no ip4:, ip6:, a or "
	    "mx term of the record allows this host (%s: %s)%s; add ip4:/ip6: "
	    "with its public addresses", host, tern_dns_check_addr_list(
	    c->host, list, sizeof(list)), hidden ? ", and tern does not "
	    "follow include: or redirect=" : "");
}

static void
tern_dns_check_spf_all(const struct tern_dns_check *c,
    const struct tern_dns_check_spf_terms *s)
{
	char q = s->all != NULL ? s->all[0] : 0;

	if (s->all == NULL && s->redirect != NULL)
		tern_dns_check_say(c, TERN_DNS_CHECK_INFO, "SPF: redirect=%s: "
		    "that domain's record decides (tern does not follow it)",
		    s->redirect);
	else if (s->all == NULL)
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "SPF: no \"all\" "
		    "at the end: servers not listed get neutral, as with ?all; "
		    "end the record with -all (or ~all)");
	else if (q == '-')
		tern_dns_check_say(c, TERN_DNS_CHECK_OK, "SPF: -all: receivers "
		    "may refuse mail from servers not listed");
	else if (q == '~')
		tern_dns_check_say(c, TERN_DNS_CHECK_OK, "SPF: ~all "
		    "(softfail): mail from servers not listed is marked, not "
		    "refused; use -all once every server that sends for %s is "
		    "listed", c->domain);
	else if (q == '?')
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "SPF: ?all "
		    "(neutral) says nothing about servers not listed, so "
		    "anyone can send as %s; end with ~all or -all", c->domain);
	else
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "SPF: %s allows "
		    "every server on the internet to send as %s; end with -all "
		    "(or ~all)", s->all, c->domain);
}

static void
tern_dns_check_spf_record(const struct tern_dns_check *c, const char *rec)
{
	struct tern_dns_check_spf_terms s;
	char shown[600];
	size_t i;

	tern_dns_check_say(c, TERN_DNS_CHECK_INFO, "SPF record %s",
	    tern_dns_check_show(rec, shown, sizeof(shown)));
	if (!tern_dns_check_spf_parse(c, &s, rec))
		return;
	tern_dns_check_spf_all(c, &s);
	if (s.lookups > TERN_DNS_CHECK_SPF_LOOKUPS)
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "SPF: %u terms "
		    "need DNS lookups (include, a, mx, ptr, exists, redirect), "
		    "more than the %d RFC 7208 allows: receivers give "
		    "permerror; replace some with ip4:/ip6:", s.lookups,
		    TERN_DNS_CHECK_SPF_LOOKUPS);
	if (s.ptr)
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "SPF: ptr is "
		    "slow and unreliable (RFC 7208 5.5 says do not use it); "
		    "list the addresses with ip4:/ip6: instead");
	if (c->cfg->delivery == CONFIG_DELIVERY_DIRECT)
		return tern_dns_check_spf_direct(c, &s, rec);
	for (i = 0; i < c->cfg->nrelays; i++)
		tern_dns_check_spf_relay(c, &s, rec, &c->cfg->relays[i]);
}

/* The includes that the config's relays need, for a record to publish. */
static void
tern_dns_check_spf_suggest(const struct tern_dns_check *c, char *buf,
    size_t size)
{
	const struct tern_dns_check_spf_provider *p;
	size_t i, len;

	len = (size_t)snprintf(buf, size, "v=spf1");
	for (i = 0; c->cfg->delivery == CONFIG_DELIVERY_RELAY &&
	    i < c->cfg->nrelays && len < size; i++)
		if ((p = tern_dns_check_spf_provider(&c->cfg->relays[i])) !=
		    NULL && p->include != NULL &&
		    strstr(buf, p->include) == NULL)
			len += (size_t)snprintf(buf + len, size - len,
			    " include:%s", p->include);
	if (c->cfg->delivery == CONFIG_DELIVERY_DIRECT && len < size)
		len += (size_t)snprintf(buf + len, size - len, " ip4:ADDRESS");
	if (len < size)
		snprintf(buf + len, size - len, " -all");
}

void
tern_dns_check_spf(const struct tern_dns_check *c,
    const struct tern_dns_check_answer *txt)
{
	const char *rec = NULL;
	char suggest[300];
	size_t i, n = 0;

	if (txt->st == DNS_TEMPFAIL)
		return tern_dns_check_unknown(c, txt, "SPF");
	for (i = 0; txt->st == DNS_OK && i < txt->n; i++)
		if (tern_dns_check_starts(txt->txt[i], "v=spf1", " ")) {
			rec = txt->txt[i];
			n++;
		}
	if (n > 1)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "%zu SPF "
		    "records (TXT starting with v=spf1) at %s: receivers give "
		    "permerror and use none of them (RFC 7208 4.5); merge them "
		    "into one", n, c->domain);
	if (n == 0) {
		tern_dns_check_spf_suggest(c, suggest, sizeof(suggest));
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "no SPF "
		    "record: receivers cannot tell which servers may send for "
		    "%s; publish a TXT record at %s such as \"%s\"", c->domain,
		    c->domain, suggest);
	}
	tern_dns_check_spf_record(c, rec);
}
