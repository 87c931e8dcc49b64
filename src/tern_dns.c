/*
 * tern_dns: "tern dns DOMAIN [--selector S]" — look up the MX, SPF,
 * DKIM and DMARC records of a sending domain through the config's
 * dns_servers (dns.c, never the system resolver) and say in plain
 * words what is wrong and how to fix it.
 *
 * Every lookup is started at once on one event base; the addresses of
 * the MX hosts are asked from the MX callback.  Nothing is printed
 * before every answer is in: the report is then written section by
 * section, one finding a line, each starting with its level ("ok:",
 * "info:", "warning:", "error:" or "unknown:" when a lookup failed).
 * Only findings decide the exit code (see tern_dns_exit); include:
 * and redirect= are named but not followed.
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
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "config.h"
#include "dns.h"
#include "errbuf.h"
#include "str.h"
#include "tern_cmd.h"

#define TERN_DNS_USAGE "usage: tern dns DOMAIN [--selector S]\n"
/* Exit code when a finding is an error: the domain has problems. */
#define TERN_DNS_EX_PROBLEMS 1
#define TERN_DNS_LIMIT_S 30    /* the longest the lookups may take */
#define TERN_DNS_NAME_MAX 253
#define TERN_DNS_SELECTORS 8   /* DKIM selectors checked at most */
#define TERN_DNS_PARENTS 8     /* DMARC: parent domains asked at most */
#define TERN_DNS_SPF_LOOKUPS 10 /* RFC 7208 4.6.4 */
#define TERN_DNS_RSA_MIN 1024  /* RFC 8301 3.2: shorter fails */
#define TERN_DNS_RSA_GOOD 2048 /* RFC 8301 3.2: SHOULD */
#define TERN_DNS_KEY_MAX 2048  /* bytes of a decoded DKIM public key */

enum tern_dns_level {
	TERN_DNS_OK,
	TERN_DNS_INFO,
	TERN_DNS_WARNING,
	TERN_DNS_ERROR,
	TERN_DNS_UNKNOWN,
};

/* One answer, copied out of the dns callback. */
struct tern_dns_res {
	struct tern_dns *t;
	bool asked;
	enum dns_status st;
	char err[ERRBUF_SIZE];
	char *txt[DNS_ANSWER_MAX]; /* joined strings; NULs shown as '?' */
	bool truncated[DNS_ANSWER_MAX];
	struct dns_mx mx[DNS_ANSWER_MAX];
	struct dns_addr addr[DNS_ANSWER_MAX];
	size_t n;
};

struct tern_dns {
	const struct config *cfg;
	struct event_base *base;
	struct dns *d;
	char domain[TERN_DNS_NAME_MAX + 1];
	const char *selectors[TERN_DNS_SELECTORS];
	const struct config_dkim *dkim[TERN_DNS_SELECTORS];
	size_t nselectors;
	int outstanding;
	bool timed_out;
	struct tern_dns_res mx, mxaddr[DNS_ANSWER_MAX], addr, host, spf;
	struct tern_dns_res dkimrec[TERN_DNS_SELECTORS];
	struct tern_dns_res dmarc, parent[TERN_DNS_PARENTS];
	char parents[TERN_DNS_PARENTS][TERN_DNS_NAME_MAX + 1];
	size_t nparents;
	unsigned count[TERN_DNS_UNKNOWN + 1];
};

/* A relay provider's SPF include (the one to advise, then others that
 * cover its servers too), found by preset name or host suffix. */
struct tern_dns_provider {
	const char *name;
	const char *hosts;    /* space-separated domain suffixes */
	const char *include;  /* NULL: the provider publishes none */
	const char *also;     /* space-separated, or NULL */
};

static const struct tern_dns_provider tern_dns_providers[] = {
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

/* ---------------------------------------------------------------- output */

static void tern_dns_say(struct tern_dns *t, enum tern_dns_level level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
tern_dns_say(struct tern_dns *t, enum tern_dns_level level, const char *fmt,
    ...)
{
	static const char *const marker[] = { "ok", "info", "warning",
		"error", "unknown" };
	va_list ap;

	t->count[level]++;
	printf("%s: ", marker[level]);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A failed lookup: no verdict on what it would have shown. */
static void
tern_dns_unknown(struct tern_dns *t, const struct tern_dns_res *r,
    const char *what)
{
	tern_dns_say(t, TERN_DNS_UNKNOWN, "%s; %s cannot be checked, try "
	    "again later or check dns_servers", r->err, what);
}

static void
tern_dns_section(const char *title, const char *name)
{
	printf("\n%s %s\n", title, name);
}

static const char *
tern_dns_ntop(const struct dns_addr *a, char *buf, size_t size)
{
	const void *p = a->sa.ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)&a->sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)&a->sa)->sin6_addr;

	if (inet_ntop(a->sa.ss_family, p, buf, (socklen_t)size) == NULL)
		str_lcpy(buf, "?", size);
	return buf;
}

/* The addresses of r as "192.0.2.1, 2001:db8::1" into buf. */
static const char *
tern_dns_addr_list(const struct tern_dns_res *r, char *buf, size_t size)
{
	char one[INET6_ADDRSTRLEN];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < r->n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    i ? ", " : "", tern_dns_ntop(&r->addr[i], one,
		    sizeof(one)));
	return buf;
}

/* ---------------------------------------------------------------- lookups */

static void
tern_dns_answered(struct tern_dns_res *r, enum dns_status st,
    const char *err)
{
	r->st = st;
	if (err != NULL)
		str_lcpy(r->err, err, sizeof(r->err));
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
		if ((r->txt[i] = malloc(txt[i].len + 1)) == NULL)
			break;
		/* A NUL inside a record is no part of any valid tag. */
		for (j = 0; j < txt[i].len; j++)
			r->txt[i][j] = txt[i].text[j] ? txt[i].text[j] : '?';
		r->txt[i][j] = '\0';
		r->truncated[i] = txt[i].truncated != 0;
	}
	r->n = i;
	tern_dns_answered(r, i < n ? DNS_TEMPFAIL : st, i < n ?
	    "out of memory" : err);
}

static void
tern_dns_on_addr(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	struct tern_dns_res *r = arg;

	memcpy(r->addr, addrs, n * sizeof(*addrs));
	r->n = n;
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

	memcpy(r->mx, mx, n * sizeof(*mx));
	r->n = n;
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
	r->asked = true;
	r->st = DNS_NXDOMAIN;
	str_lcpy(r->err, eb->msg, sizeof(r->err));
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
	r->asked = true;
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
	r->asked = true;
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
	t->mx.asked = true;
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

/* ---------------------------------------------------------------- text */

/* Whether rec begins with the version tag tag ("v=spf1"), then a space
 * (SPF) or the end or ';' (DKIM, DMARC). */
static bool
tern_dns_starts(const char *rec, const char *tag, const char *after)
{
	size_t len = strlen(tag);

	return strncasecmp(rec, tag, len) == 0 &&
	    (rec[len] == '\0' || strchr(after, rec[len]) != NULL);
}

/* rec for a report line: quoted, long ones cut. */
static const char *
tern_dns_show(const char *rec, char *buf, size_t size)
{
	size_t len = strlen(rec);
	int keep = (int)(size - 30);

	/* size is at least 64 (callers' buffers), so keep is positive. */
	if (len + 3 <= size)
		snprintf(buf, size, "\"%s\"", rec);
	else if (snprintf(buf, size, "\"%.*s...\" (%zu bytes)", keep, rec,
	    len) < 0)
		buf[0] = '\0';
	return buf;
}

/*
 * The value of tag name in a "tag=value; tag=value" record (DKIM,
 * DMARC), white space around tags and values dropped, into val.
 * Returns false when the tag is absent.
 */
static bool
tern_dns_tag(const char *rec, const char *name, char *val, size_t size)
{
	const char *p = rec, *end, *eq;
	size_t nlen = strlen(name), len;

	for (; *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, ";");
		p += strspn(p, " \t\r\n");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL)
			continue;
		len = (size_t)(eq - p);
		while (len > 0 && strchr(" \t\r\n", p[len - 1]) != NULL)
			len--;
		if (len != nlen || strncasecmp(p, name, len) != 0)
			continue;
		eq++;
		eq += strspn(eq, " \t\r\n");
		len = (size_t)(end - eq);
		while (len > 0 && strchr(" \t\r\n", eq[len - 1]) != NULL)
			len--;
		if (len >= size)
			len = size - 1;
		memcpy(val, eq, len);
		val[len] = '\0';
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------- MX */

static void
tern_dns_mx_host(struct tern_dns *t, size_t i)
{
	const struct dns_mx *mx = &t->mx.mx[i];
	const struct tern_dns_res *a = &t->mxaddr[i];
	struct in_addr in;
	char list[512];

	if (inet_pton(AF_INET, mx->host, &in) == 1)
		return tern_dns_say(t, TERN_DNS_ERROR, "MX %u %s is an IP "
		    "address: an MX record must name a host; publish an A "
		    "record for a name and point the MX at that name",
		    mx->pref, mx->host);
	if (a->st == DNS_TEMPFAIL)
		return tern_dns_unknown(t, a, "this MX host's address");
	if (a->st != DNS_OK)
		return tern_dns_say(t, TERN_DNS_ERROR, "MX %u %s has no "
		    "address (%s): mail to %s (replies, bounces) cannot be "
		    "delivered there; give the host an A or AAAA record or "
		    "fix the MX", mx->pref, mx->host, dns_status_name(a->st),
		    t->domain);
	tern_dns_say(t, TERN_DNS_OK, "MX %u %s: %s", mx->pref, mx->host,
	    tern_dns_addr_list(a, list, sizeof(list)));
}

/* No MX: RFC 5321 5.1 sends mail to the domain's own address. */
static void
tern_dns_mx_implicit(struct tern_dns *t)
{
	char list[512];

	if (t->addr.st == DNS_TEMPFAIL)
		return tern_dns_unknown(t, &t->addr, "the implicit MX");
	if (t->addr.st != DNS_OK)
		return tern_dns_say(t, TERN_DNS_ERROR, "no MX record and no "
		    "address: %s receives no mail, so replies and bounces are "
		    "lost and many receivers refuse mail from it; publish an "
		    "MX record", t->domain);
	tern_dns_say(t, TERN_DNS_WARNING, "no MX record: mail to %s goes to "
	    "its own address (implicit MX: %s); publish an MX record naming "
	    "the host that receives mail for it", t->domain,
	    tern_dns_addr_list(&t->addr, list, sizeof(list)));
}

static void
tern_dns_check_mx(struct tern_dns *t)
{
	size_t i;

	tern_dns_section("MX", t->domain);
	if (t->mx.st == DNS_TEMPFAIL)
		return tern_dns_unknown(t, &t->mx, "MX");
	if (t->mx.st == DNS_NXDOMAIN)
		return tern_dns_say(t, TERN_DNS_ERROR, "%s does not exist in "
		    "the DNS (NXDOMAIN): receivers refuse mail from it; check "
		    "the spelling, or register and publish the domain",
		    t->domain);
	if (t->mx.st != DNS_OK)
		return tern_dns_mx_implicit(t);
	if (t->mx.mx[0].host[0] == '\0' && t->mx.n == 1)
		return tern_dns_say(t, TERN_DNS_ERROR, "null MX (\"0 .\", RFC "
		    "7505): %s says it receives no mail, and receivers refuse "
		    "mail from such a domain (550 5.7.27); remove the null MX "
		    "and publish a real one to send from %s", t->domain,
		    t->domain);
	for (i = 0; i < t->mx.n; i++) {
		if (t->mx.mx[i].host[0] == '\0')
			tern_dns_say(t, TERN_DNS_WARNING, "a null MX (\"0 .\") "
			    "beside other MX records: RFC 7505 wants it alone; "
			    "remove it");
		else
			tern_dns_mx_host(t, i);
	}
}

/* ---------------------------------------------------------------- SPF */

struct tern_dns_spf {
	char rec[DNS_TXT_MAX];
	const char *all;      /* the qualifier of "all", or NULL */
	const char *redirect; /* the target of redirect=, or NULL */
	unsigned lookups;     /* terms that cost a DNS lookup */
	unsigned includes;
	bool a, mx, ip;       /* a, mx, ip4:/ip6: terms at all */
	bool ptr;
};

static bool
tern_dns_term_is(const char *term, const char *name)
{
	size_t len = strlen(name);

	return strncasecmp(term, name, len) == 0 &&
	    (term[len] == '\0' || term[len] == ':' || term[len] == '/');
}

/* One term of the record; false (with an error said) when it is not
 * SPF, which makes the whole record a permerror. */
static bool
tern_dns_spf_term(struct tern_dns *t, struct tern_dns_spf *s, char *term)
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
	} else if (tern_dns_term_is(m, "include")) {
		s->includes++;
		s->lookups++;
	} else if (tern_dns_term_is(m, "a") || tern_dns_term_is(m, "mx")) {
		s->lookups++;
		*(tolower((unsigned char)*m) == 'a' ? &s->a : &s->mx) = true;
	} else if (tern_dns_term_is(m, "ptr")) {
		s->lookups++;
		s->ptr = true;
	} else if (tern_dns_term_is(m, "exists")) {
		s->lookups++;
	} else if (tern_dns_term_is(m, "ip4") || tern_dns_term_is(m, "ip6")) {
		s->ip = true;
	} else {
		tern_dns_say(t, TERN_DNS_ERROR, "SPF: unknown term '%s': the "
		    "record is invalid (permerror) and receivers ignore it; "
		    "fix or remove the term", term);
		return false;
	}
	return true;
}

/* Split the record into its terms (in place, copied into s->rec). */
static bool
tern_dns_spf_parse(struct tern_dns *t, struct tern_dns_spf *s,
    const char *rec)
{
	char *p, *save = NULL;
	bool valid = true;

	memset(s, 0, sizeof(*s));
	str_lcpy(s->rec, rec, sizeof(s->rec));
	for (p = strtok_r(s->rec + 6, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save))
		valid = tern_dns_spf_term(t, s, p) && valid;
	return valid;
}

/* Whether the record has "include:name" (or name's alternatives). */
static bool
tern_dns_spf_has(const char *rec, const char *name)
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
tern_dns_spf_has_any(const char *rec, const char *list)
{
	char name[128];
	const char *p = list;
	size_t len;

	while (p != NULL && *p != '\0') {
		len = strcspn(p, " ");
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		if (tern_dns_spf_has(rec, name))
			return true;
		p += len + strspn(p + len, " ");
	}
	return false;
}

/* Whether host is suffix or ends in ".suffix", for each listed one. */
static bool
tern_dns_host_in(const char *host, const char *list)
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

static const struct tern_dns_provider *
tern_dns_provider(const struct config_relay *r)
{
	size_t i, n = sizeof(tern_dns_providers) /
	    sizeof(tern_dns_providers[0]);

	for (i = 0; r->preset != NULL && i < n; i++)
		if (strcasecmp(r->preset, tern_dns_providers[i].name) == 0)
			return &tern_dns_providers[i];
	for (i = 0; r->host != NULL && i < n; i++)
		if (tern_dns_host_in(r->host, tern_dns_providers[i].hosts))
			return &tern_dns_providers[i];
	return NULL;
}

/*
 * Whether rec includes a record that is no provider's known include:
 * that one might include the relay's servers in turn.
 */
static bool
tern_dns_spf_foreign(const char *rec)
{
	const struct tern_dns_provider *p;
	char copy[DNS_TXT_MAX], *term, *save = NULL;
	size_t i, n = sizeof(tern_dns_providers) /
	    sizeof(tern_dns_providers[0]);
	bool known;

	str_lcpy(copy, rec, sizeof(copy));
	for (term = strtok_r(copy, " ", &save); term != NULL;
	    term = strtok_r(NULL, " ", &save)) {
		term += strchr("+-~?", *term) != NULL && *term != '\0';
		if (strncasecmp(term, "include:", 8) != 0)
			continue;
		for (i = 0, known = false; i < n && !known; i++) {
			p = &tern_dns_providers[i];
			known = (p->include != NULL &&
			    tern_dns_spf_has(term, p->include)) ||
			    (p->also != NULL && tern_dns_spf_has_any(term,
			    p->also));
		}
		if (!known)
			return true;
	}
	return false;
}

static void
tern_dns_spf_relay(struct tern_dns *t, const struct tern_dns_spf *s,
    const char *rec, const struct config_relay *r)
{
	const struct tern_dns_provider *p = tern_dns_provider(r);
	const char *host = r->host != NULL ? r->host : "?";

	if (p == NULL)
		return tern_dns_say(t, TERN_DNS_WARNING, "SPF: relay %s (%s): "
		    "tern knows no SPF include for it; make sure the record "
		    "allows the servers it sends from (ask the provider)",
		    r->name, host);
	if (p->include == NULL)
		return tern_dns_say(t, TERN_DNS_WARNING, "SPF: relay %s (%s): "
		    "%s publishes no SPF include for other domains; mail "
		    "from %s through it may fail SPF, prefer a relay that "
		    "supports your own domain", r->name, host, p->name,
		    t->domain);
	if (tern_dns_spf_has(rec, p->include) ||
	    (p->also != NULL && tern_dns_spf_has_any(rec, p->also)))
		return tern_dns_say(t, TERN_DNS_OK, "SPF: relay %s (%s): the "
		    "record includes %s's servers", r->name, host, p->name);
	if (s->redirect != NULL || tern_dns_spf_foreign(rec))
		return tern_dns_say(t, TERN_DNS_WARNING, "SPF: relay %s (%s): "
		    "no include:%s in the record; tern does not follow its "
		    "other include: or redirect= terms, so make sure one of "
		    "them covers %s, or add include:%s before the all",
		    r->name, host, p->include, p->name, p->include);
	tern_dns_say(t, TERN_DNS_ERROR, "SPF: relay %s (%s): the record lacks "
	    "include:%s, so receivers see mail sent through %s as forged; "
	    "add include:%s before the all", r->name, host, p->include,
	    p->name, p->include);
}

/* Whether address a is inside the ip4:/ip6: network of term. */
static bool
tern_dns_cidr_has(const char *net, int family, const struct dns_addr *a)
{
	unsigned char want[16], have[16];
	char buf[64], *slash;
	int bits = family == AF_INET ? 32 : 128, i, max = bits;

	if (a->sa.ss_family != family)
		return false;
	str_lcpy(buf, net, sizeof(buf));
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		bits = atoi(slash + 1);
		if (bits < 0 || bits > max)
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
tern_dns_addr_eq(const struct dns_addr *x, const struct dns_addr *y)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	return strcmp(tern_dns_ntop(x, a, sizeof(a)),
	    tern_dns_ntop(y, b, sizeof(b))) == 0;
}

static bool
tern_dns_res_has(const struct tern_dns_res *r, const struct dns_addr *a)
{
	size_t i;

	for (i = 0; r->st == DNS_OK && i < r->n; i++)
		if (tern_dns_addr_eq(&r->addr[i], a))
			return true;
	return false;
}

/*
 * The term of rec that allows address a: ip4:/ip6: networks, and "a"
 * and "mx" of the domain itself, whose addresses we have.  Writes the
 * term into why; false when none does.
 */
static bool
tern_dns_spf_allows(struct tern_dns *t, const char *rec,
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
			hit = tern_dns_cidr_has(m + 4, AF_INET, a);
		else if (strncasecmp(m, "ip6:", 4) == 0)
			hit = tern_dns_cidr_has(m + 4, AF_INET6, a);
		else if (strcasecmp(m, "a") == 0)
			hit = tern_dns_res_has(&t->addr, a);
		else if (strcasecmp(m, "mx") == 0)
			for (i = 0; i < t->mx.n && !hit; i++)
				hit = tern_dns_res_has(&t->mxaddr[i], a);
		if (hit) {
			str_lcpy(why, p, size);
			return true;
		}
	}
	return false;
}

/* delivery = direct: this host sends itself, so SPF must list it. */
static void
tern_dns_spf_direct(struct tern_dns *t, const struct tern_dns_spf *s,
    const char *rec)
{
	const char *host = t->cfg->hostname != NULL ? t->cfg->hostname : "?";
	char list[512], why[128], one[INET6_ADDRSTRLEN];
	size_t i;

	if (!s->a && !s->mx && !s->ip && s->includes == 0 &&
	    s->redirect == NULL)
		return tern_dns_say(t, TERN_DNS_ERROR, "SPF: delivery = direct "
		    "sends from this host, but the record allows no server "
		    "at all; add this host's public addresses (ip4:, ip6:), "
		    "or a or mx when it is the domain's host or MX");
	if (t->host.st != DNS_OK)
		return tern_dns_say(t, TERN_DNS_WARNING, "SPF: delivery = "
		    "direct: cannot look up this host's name %s (%s); make "
		    "sure the record allows its public addresses (ip4:, ip6:, "
		    "a or mx)", host, t->host.err);
	for (i = 0; i < t->host.n; i++)
		if (tern_dns_spf_allows(t, rec, &t->host.addr[i], why,
		    sizeof(why)))
			return tern_dns_say(t, TERN_DNS_OK, "SPF: delivery = "
			    "direct: this host (%s, %s) is allowed by %s",
			    host, tern_dns_ntop(&t->host.addr[i], one,
			    sizeof(one)), why);
	tern_dns_say(t, s->includes || s->redirect ? TERN_DNS_WARNING :
	    TERN_DNS_ERROR, "SPF: delivery = direct: no ip4:, ip6:, a or mx "
	    "term of the record allows this host (%s: %s)%s; add ip4:/ip6: "
	    "with its public addresses", host, tern_dns_addr_list(&t->host,
	    list, sizeof(list)), s->includes || s->redirect ? ", and tern "
	    "does not follow include: or redirect=" : "");
}

static void
tern_dns_spf_all(struct tern_dns *t, const struct tern_dns_spf *s)
{
	char q = s->all != NULL ? s->all[0] : 0;

	if (s->all == NULL && s->redirect != NULL)
		tern_dns_say(t, TERN_DNS_INFO, "SPF: redirect=%s: that "
		    "domain's record decides (tern does not follow it)",
		    s->redirect);
	else if (s->all == NULL)
		tern_dns_say(t, TERN_DNS_WARNING, "SPF: no \"all\" at the end: "
		    "servers not listed get neutral, as with ?all; end the "
		    "record with -all (or ~all)");
	else if (q == '-')
		tern_dns_say(t, TERN_DNS_OK, "SPF: -all: receivers may refuse "
		    "mail from servers not listed");
	else if (q == '~')
		tern_dns_say(t, TERN_DNS_OK, "SPF: ~all (softfail): mail from "
		    "servers not listed is marked, not refused; use -all once "
		    "every server that sends for %s is listed", t->domain);
	else if (q == '?')
		tern_dns_say(t, TERN_DNS_WARNING, "SPF: ?all (neutral) says "
		    "nothing about servers not listed, so anyone can send as "
		    "%s; end with ~all or -all", t->domain);
	else
		tern_dns_say(t, TERN_DNS_ERROR, "SPF: %s allows every server "
		    "on the internet to send as %s; end with -all (or ~all)",
		    s->all, t->domain);
}

static void
tern_dns_spf_record(struct tern_dns *t, const char *rec)
{
	struct tern_dns_spf s;
	char shown[600];
	size_t i;

	tern_dns_say(t, TERN_DNS_INFO, "SPF record %s", tern_dns_show(rec,
	    shown, sizeof(shown)));
	if (!tern_dns_spf_parse(t, &s, rec))
		return;
	tern_dns_spf_all(t, &s);
	if (s.lookups > TERN_DNS_SPF_LOOKUPS)
		tern_dns_say(t, TERN_DNS_ERROR, "SPF: %u terms need DNS "
		    "lookups (include, a, mx, ptr, exists, redirect), more "
		    "than the %d RFC 7208 allows: receivers give permerror; "
		    "replace some with ip4:/ip6:", s.lookups,
		    TERN_DNS_SPF_LOOKUPS);
	if (s.ptr)
		tern_dns_say(t, TERN_DNS_WARNING, "SPF: ptr is slow and "
		    "unreliable (RFC 7208 5.5 says do not use it); list the "
		    "addresses with ip4:/ip6: instead");
	if (t->cfg->delivery == CONFIG_DELIVERY_DIRECT)
		return tern_dns_spf_direct(t, &s, rec);
	for (i = 0; i < t->cfg->nrelays; i++)
		tern_dns_spf_relay(t, &s, rec, &t->cfg->relays[i]);
}

/* The includes that the config's relays need, for a record to publish. */
static void
tern_dns_spf_suggest(struct tern_dns *t, char *buf, size_t size)
{
	const struct tern_dns_provider *p;
	size_t i, len;

	len = (size_t)snprintf(buf, size, "v=spf1");
	for (i = 0; t->cfg->delivery == CONFIG_DELIVERY_RELAY &&
	    i < t->cfg->nrelays && len < size; i++)
		if ((p = tern_dns_provider(&t->cfg->relays[i])) != NULL &&
		    p->include != NULL && strstr(buf, p->include) == NULL)
			len += (size_t)snprintf(buf + len, size - len,
			    " include:%s", p->include);
	if (t->cfg->delivery == CONFIG_DELIVERY_DIRECT && len < size)
		len += (size_t)snprintf(buf + len, size - len, " ip4:ADDRESS");
	if (len < size)
		snprintf(buf + len, size - len, " -all");
}

static void
tern_dns_check_spf(struct tern_dns *t)
{
	const char *rec = NULL;
	char suggest[300];
	size_t i, n = 0;

	tern_dns_section("SPF", t->domain);
	if (t->spf.st == DNS_TEMPFAIL)
		return tern_dns_unknown(t, &t->spf, "SPF");
	for (i = 0; t->spf.st == DNS_OK && i < t->spf.n; i++)
		if (tern_dns_starts(t->spf.txt[i], "v=spf1", " ")) {
			rec = t->spf.txt[i];
			n++;
		}
	if (n > 1)
		return tern_dns_say(t, TERN_DNS_ERROR, "%zu SPF records (TXT "
		    "starting with v=spf1) at %s: receivers give permerror "
		    "and use none of them (RFC 7208 4.5); merge them into "
		    "one", n, t->domain);
	if (n == 0) {
		tern_dns_spf_suggest(t, suggest, sizeof(suggest));
		return tern_dns_say(t, TERN_DNS_ERROR, "no SPF record: "
		    "receivers cannot tell which servers may send for %s; "
		    "publish a TXT record at %s such as \"%s\"", t->domain,
		    t->domain, suggest);
	}
	tern_dns_spf_record(t, rec);
}

/* ---------------------------------------------------------------- DKIM */

static void
tern_dns_ssl_clear(void)
{
	ERR_clear_error();
}

/* The public key of the p= value, or NULL (with the reason said). */
static EVP_PKEY *
tern_dns_dkim_pubkey(struct tern_dns *t, const char *name, const char *p,
    bool ed25519)
{
	char b64[DNS_TXT_MAX], der[TERN_DNS_KEY_MAX];
	const unsigned char *q = (const unsigned char *)der;
	size_t i, len = 0, dlen;
	EVP_PKEY *key;

	for (i = 0; p[i] != '\0'; i++)
		if (strchr(" \t\r\n", p[i]) == NULL && len + 1 < sizeof(b64))
			b64[len++] = p[i];
	if (str_b64_decode(b64, len, der, sizeof(der), &dlen) == -1) {
		tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: p= is not valid "
		    "base64; publish the record exactly as tern dkim keygen "
		    "printed it", name);
		return NULL;
	}
	if (ed25519)
		key = dlen == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
		    NULL, q, 32) : NULL;
	else
		key = d2i_PUBKEY(NULL, &q, (long)dlen);
	tern_dns_ssl_clear();
	if (key == NULL)
		tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: p= holds no %s "
		    "public key%s; publish the record exactly as tern dkim "
		    "keygen printed it", name, ed25519 ? "Ed25519" : "RSA",
		    ed25519 ? " (32 bytes, RFC 8463)" :
		    " (SubjectPublicKeyInfo, RFC 6376 3.6.1)");
	return key;
}

static void
tern_dns_dkim_bits(struct tern_dns *t, const char *name, EVP_PKEY *key)
{
	int bits = EVP_PKEY_get_bits(key);

	if (bits < TERN_DNS_RSA_MIN)
		tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: the RSA key has %d "
		    "bits: too short and insecure, receivers treat its "
		    "signatures as invalid (RFC 8301); make a %d-bit key "
		    "with tern dkim keygen under a new selector", name, bits,
		    TERN_DNS_RSA_GOOD);
	else if (bits < TERN_DNS_RSA_GOOD)
		tern_dns_say(t, TERN_DNS_WARNING, "DKIM %s: the RSA key has %d "
		    "bits: weak, %d are recommended (RFC 8301); make a %d-bit "
		    "key with tern dkim keygen under a new selector", name,
		    bits, TERN_DNS_RSA_GOOD, TERN_DNS_RSA_GOOD);
	else
		tern_dns_say(t, TERN_DNS_OK, "DKIM %s: RSA key of %d bits",
		    name, bits);
}

/* Does the published key belong to the private key ternd signs with? */
static void
tern_dns_dkim_match(struct tern_dns *t, const char *name, EVP_PKEY *pub,
    const struct config_dkim *sec)
{
	EVP_PKEY *priv;
	FILE *f;

	if ((f = fopen(sec->key_file, "r")) == NULL)
		return tern_dns_say(t, TERN_DNS_WARNING, "DKIM %s: cannot read "
		    "key_file %s (%s), so tern cannot tell whether the record "
		    "matches it; run tern dns as root or as %s", name,
		    sec->key_file, strerror(errno), t->cfg->run_user);
	priv = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	tern_dns_ssl_clear();
	if (priv == NULL)
		return tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: key_file %s "
		    "holds no private key tern can read (PEM), and ternd "
		    "cannot sign with it; make one with tern dkim keygen",
		    name, sec->key_file);
	if (EVP_PKEY_eq(pub, priv) == 1)
		tern_dns_say(t, TERN_DNS_OK, "DKIM %s: the record matches "
		    "key_file %s", name, sec->key_file);
	else
		tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: the record does not "
		    "match key_file %s ([dkim %s], line %u): receivers reject "
		    "every signature ternd makes; publish the record of this "
		    "key, or set key_file to the key of the record", name,
		    sec->key_file, sec->domain, sec->line);
	EVP_PKEY_free(priv);
	tern_dns_ssl_clear();
}

/* The tags of one DKIM record, before its key is looked at. */
static bool
tern_dns_dkim_tags(struct tern_dns *t, const char *name, const char *rec,
    bool *ed25519)
{
	char val[64];

	if (tern_dns_tag(rec, "v", val, sizeof(val)) &&
	    (strcmp(val, "DKIM1") != 0 ||
	    strncasecmp(rec + strspn(rec, " \t"), "v=", 2) != 0))
		tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: v= must be DKIM1 "
		    "and come first", name);
	*ed25519 = false;
	if (tern_dns_tag(rec, "k", val, sizeof(val))) {
		*ed25519 = strcasecmp(val, "ed25519") == 0;
		if (!*ed25519 && strcasecmp(val, "rsa") != 0) {
			tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: unknown key "
			    "type k=%s; use k=rsa or k=ed25519", name, val);
			return false;
		}
	}
	if (tern_dns_tag(rec, "h", val, sizeof(val)) &&
	    strcasestr(val, "sha256") == NULL)
		tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: h=%s excludes "
		    "sha256, the only hash ternd signs with; remove h=", name,
		    val);
	if (tern_dns_tag(rec, "t", val, sizeof(val)) && strchr(val, 'y'))
		tern_dns_say(t, TERN_DNS_WARNING, "DKIM %s: t=y (testing): "
		    "receivers may treat signatures as if there were none; "
		    "remove t=y once signing works", name);
	return true;
}

static void
tern_dns_dkim_record(struct tern_dns *t, size_t i, const char *name,
    const char *rec)
{
	const struct config_dkim *sec = t->dkim[i];
	char p[DNS_TXT_MAX], shown[200];
	EVP_PKEY *pub;
	bool ed25519;

	tern_dns_say(t, TERN_DNS_INFO, "DKIM record %s %s", name,
	    tern_dns_show(rec, shown, sizeof(shown)));
	if (!tern_dns_dkim_tags(t, name, rec, &ed25519))
		return;
	if (!tern_dns_tag(rec, "p", p, sizeof(p)))
		return tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: no p= tag: "
		    "the record is invalid; publish it as tern dkim keygen "
		    "printed it", name);
	if (p[0] == '\0')
		return tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: p= is empty: "
		    "the key is revoked and every signature with it fails; "
		    "sign with another selector%s", name, sec != NULL ?
		    " (change selector and key_file in [dkim])" : "");
	if ((pub = tern_dns_dkim_pubkey(t, name, p, ed25519)) == NULL)
		return;
	if (ed25519)
		tern_dns_say(t, TERN_DNS_OK, "DKIM %s: Ed25519 key (many "
		    "receivers do not check Ed25519 signatures yet)", name);
	else
		tern_dns_dkim_bits(t, name, pub);
	if (sec != NULL && (sec->algorithm == CONFIG_DKIM_ED25519_SHA256) !=
	    ed25519)
		tern_dns_say(t, TERN_DNS_ERROR, "DKIM %s: the record holds an "
		    "%s key but [dkim %s] signs with %s; publish the record "
		    "of key_file %s", name, ed25519 ? "Ed25519" : "RSA",
		    sec->domain, ed25519 ? "rsa-sha256" : "ed25519-sha256",
		    sec->key_file);
	else if (sec != NULL && sec->key_file != NULL)
		tern_dns_dkim_match(t, name, pub, sec);
	EVP_PKEY_free(pub);
}

static void
tern_dns_dkim_one(struct tern_dns *t, size_t i)
{
	const struct tern_dns_res *r = &t->dkimrec[i];
	char name[TERN_DNS_NAME_MAX + 64];
	size_t k, n = 0, which = 0;

	snprintf(name, sizeof(name), "%s._domainkey.%s", t->selectors[i],
	    t->domain);
	if (r->st == DNS_TEMPFAIL)
		return tern_dns_unknown(t, r, "this DKIM record");
	for (k = 0; r->st == DNS_OK && k < r->n; k++)
		if (!tern_dns_starts(r->txt[k], "v=spf1", " ")) {
			n++;
			which = k;
		}
	if (n == 0)
		return tern_dns_say(t, TERN_DNS_ERROR, "no DKIM record at %s: "
		    "receivers cannot check signatures with selector %s; "
		    "publish the TXT record tern dkim keygen printed for the "
		    "key", name, t->selectors[i]);
	if (n > 1)
		return tern_dns_say(t, TERN_DNS_ERROR, "%zu TXT records at %s: "
		    "receivers may take any of them and fail; keep only the "
		    "one of the key ternd signs with", n, name);
	if (r->truncated[which])
		return tern_dns_say(t, TERN_DNS_ERROR, "the DKIM record at %s "
		    "is longer than %d bytes: too long to check or to use; "
		    "publish a shorter key", name, DNS_TXT_MAX - 1);
	tern_dns_dkim_record(t, i, name, r->txt[which]);
}

static void
tern_dns_check_dkim(struct tern_dns *t)
{
	size_t i;

	tern_dns_section("DKIM", t->domain);
	if (t->nselectors == 0)
		return tern_dns_say(t, TERN_DNS_WARNING, "no selector to "
		    "check: no [dkim %s] section, so ternd does not sign mail "
		    "from %s and many receivers (Gmail, Yahoo) distrust it; "
		    "run tern dkim keygen %s SELECTOR, or give --selector S "
		    "to check a key signed elsewhere", t->domain, t->domain,
		    t->domain);
	for (i = 0; i < t->nselectors; i++)
		tern_dns_dkim_one(t, i);
}

/* ---------------------------------------------------------------- DMARC */

/* The DMARC records of r (TXT starting v=DMARC1): how many, the last. */
static size_t
tern_dns_dmarc_find(const struct tern_dns_res *r, const char **rec)
{
	size_t i, n = 0;

	for (i = 0; r->st == DNS_OK && i < r->n; i++)
		if (tern_dns_starts(r->txt[i], "v=DMARC1", "; \t")) {
			*rec = r->txt[i];
			n++;
		}
	return n;
}

static void
tern_dns_dmarc_policy(struct tern_dns *t, const char *rec, bool sub)
{
	char p[32], sp[32], pct[32];
	bool has_sp = tern_dns_tag(rec, "sp", sp, sizeof(sp));

	if (!tern_dns_tag(rec, "p", p, sizeof(p)))
		return tern_dns_say(t, TERN_DNS_ERROR, "DMARC: no p= tag: the "
		    "record is invalid; write it as \"v=DMARC1; p=none; "
		    "rua=mailto:...\"");
	if (sub && has_sp)
		str_lcpy(p, sp, sizeof(p));
	if (strcasecmp(p, "none") == 0)
		tern_dns_say(t, TERN_DNS_WARNING, "DMARC: p=none: monitoring "
		    "only, receivers still deliver forged mail; read the rua "
		    "reports and, once they show only your own servers, move "
		    "to p=quarantine, then p=reject");
	else if (strcasecmp(p, "quarantine") == 0 ||
	    strcasecmp(p, "reject") == 0)
		tern_dns_say(t, TERN_DNS_OK, "DMARC: p=%s: receivers %s mail "
		    "that fails SPF and DKIM alignment", p,
		    tolower((unsigned char)p[0]) == 'r' ? "refuse" :
		    "put into spam");
	else
		return tern_dns_say(t, TERN_DNS_ERROR, "DMARC: p=%s is not a "
		    "policy: use none, quarantine or reject", p);
	if (has_sp && strcasecmp(sp, "none") == 0 && !sub &&
	    strcasecmp(p, "none") != 0)
		tern_dns_say(t, TERN_DNS_WARNING, "DMARC: sp=none: subdomains "
		    "of %s are not protected; remove sp= so they follow p=",
		    t->domain);
	else if (has_sp && strcasecmp(sp, "none") != 0 &&
	    strcasecmp(sp, "quarantine") != 0 && strcasecmp(sp, "reject") != 0)
		tern_dns_say(t, TERN_DNS_ERROR, "DMARC: sp=%s is not a policy: "
		    "use none, quarantine or reject", sp);
	if (tern_dns_tag(rec, "pct", pct, sizeof(pct)) &&
	    strcmp(pct, "100") != 0)
		tern_dns_say(t, TERN_DNS_WARNING, "DMARC: pct=%s: the policy "
		    "applies to only that share of failing mail; raise it to "
		    "100 (or remove pct=)", pct);
}

static void
tern_dns_dmarc_record(struct tern_dns *t, const char *rec, const char *at,
    bool sub)
{
	char shown[600], rua[300];

	tern_dns_say(t, TERN_DNS_INFO, "DMARC record at _dmarc.%s %s", at,
	    tern_dns_show(rec, shown, sizeof(shown)));
	tern_dns_dmarc_policy(t, rec, sub);
	if (!tern_dns_tag(rec, "rua", rua, sizeof(rua)) || rua[0] == '\0')
		tern_dns_say(t, TERN_DNS_WARNING, "DMARC: no rua=: you get no "
		    "aggregate reports, so you cannot see who sends as %s; "
		    "add rua=mailto:dmarc-reports@%s", t->domain, at);
	else
		tern_dns_say(t, TERN_DNS_OK, "DMARC: aggregate reports go to "
		    "%s", rua);
}

/* No record at the domain: the nearest parent's applies (its sp=). */
static bool
tern_dns_dmarc_parent(struct tern_dns *t)
{
	const char *rec = NULL;
	size_t i, n;

	for (i = 0; i < t->nparents; i++) {
		if (t->parent[i].st == DNS_TEMPFAIL) {
			tern_dns_unknown(t, &t->parent[i], "the DMARC record "
			    "of the parent domain");
			return true;
		}
		if ((n = tern_dns_dmarc_find(&t->parent[i], &rec)) == 0)
			continue;
		tern_dns_say(t, TERN_DNS_INFO, "no DMARC record at _dmarc.%s: "
		    "the one of %s applies (its sp=, else its p=)", t->domain,
		    t->parents[i]);
		if (n > 1)
			tern_dns_say(t, TERN_DNS_ERROR, "%zu DMARC records at "
			    "_dmarc.%s: receivers apply none of them; keep "
			    "one", n, t->parents[i]);
		else
			tern_dns_dmarc_record(t, rec, t->parents[i], true);
		return true;
	}
	return false;
}

static void
tern_dns_check_dmarc(struct tern_dns *t)
{
	const char *rec = NULL;
	size_t n;

	tern_dns_section("DMARC", t->domain);
	if (t->dmarc.st == DNS_TEMPFAIL)
		return tern_dns_unknown(t, &t->dmarc, "DMARC");
	n = tern_dns_dmarc_find(&t->dmarc, &rec);
	if (n > 1)
		return tern_dns_say(t, TERN_DNS_ERROR, "%zu DMARC records at "
		    "_dmarc.%s: the policy is invalid and receivers apply "
		    "none (RFC 7489 6.6.3); keep one", n, t->domain);
	if (n == 1)
		return tern_dns_dmarc_record(t, rec, t->domain, false);
	if (tern_dns_dmarc_parent(t))
		return;
	tern_dns_say(t, TERN_DNS_ERROR, "no DMARC record at _dmarc.%s: "
	    "receivers have no policy for mail failing SPF and DKIM, and "
	    "Gmail and Yahoo require one of bulk senders; publish a TXT "
	    "record at _dmarc.%s, to start \"v=DMARC1; p=none; "
	    "rua=mailto:dmarc-reports@%s\"", t->domain, t->domain, t->domain);
}

/* ---------------------------------------------------------------- main */

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
	printf("\n%u error%s, %u warning%s, %u lookup%s failed\n",
	    t->count[TERN_DNS_ERROR], t->count[TERN_DNS_ERROR] == 1 ? "" : "s",
	    t->count[TERN_DNS_WARNING],
	    t->count[TERN_DNS_WARNING] == 1 ? "" : "s",
	    t->count[TERN_DNS_UNKNOWN],
	    t->count[TERN_DNS_UNKNOWN] == 1 ? "" : "s");
	if (t->count[TERN_DNS_ERROR] > 0)
		return TERN_DNS_EX_PROBLEMS;
	if (t->count[TERN_DNS_UNKNOWN] > 0)
		return EX_TEMPFAIL;
	return EX_OK;
}

static void
tern_dns_free(struct tern_dns *t)
{
	struct tern_dns_res *all[] = { &t->spf, &t->dmarc };
	size_t i, k;

	for (i = 0; i < 2; i++)
		for (k = 0; k < all[i]->n; k++)
			free(all[i]->txt[k]);
	for (i = 0; i < TERN_DNS_SELECTORS; i++)
		for (k = 0; k < t->dkimrec[i].n; k++)
			free(t->dkimrec[i].txt[k]);
	for (i = 0; i < TERN_DNS_PARENTS; i++)
		for (k = 0; k < t->parent[i].n; k++)
			free(t->parent[i].txt[k]);
	free(t);
}

/* Look everything up; false when the lookups did not end in time. */
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
		printf("tern dns %s\n", t->domain);
		tern_dns_check_mx(t);
		tern_dns_check_spf(t);
		tern_dns_check_dkim(t);
		tern_dns_check_dmarc(t);
		rc = tern_dns_exit(t);
	}
	/* Frees the requests still out (callbacks run, cancelled). */
	dns_free(t->d);
	event_base_free(t->base);
	tern_dns_free(t);
	return rc;
}
