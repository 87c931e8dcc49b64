/*
 * Unit tests for tern_dns_check: the findings of tern dns from record
 * text and answers alone, table by table (SPF, DMARC, DKIM, MX).  Each
 * case lists every finding it must produce, in order: a level and a
 * piece of the text.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "dns.h"
#include "tern_dns_check.h"
#include "unit.h"

#define DNSCHECK_FINDINGS 16
#define DNSCHECK_WANT 6

enum { OK = TERN_DNS_CHECK_OK, INFO = TERN_DNS_CHECK_INFO,
	WARN = TERN_DNS_CHECK_WARNING, ERR = TERN_DNS_CHECK_ERROR,
	UNKN = TERN_DNS_CHECK_UNKNOWN };

struct dnscheck_want {
	int level;
	const char *text; /* a piece of the finding; NULL ends the list */
};

struct dnscheck_finding {
	enum tern_dns_check_level level;
	char text[2 * DNS_TXT_MAX];
};

/* What the checks said, and the answers they read. */
static struct {
	struct dnscheck_finding f[DNSCHECK_FINDINGS];
	size_t n;
	struct tern_dns_check_answer addr, mx, mxaddr[DNS_ANSWER_MAX], host;
	struct tern_dns_check_answer txt, parent;
	struct config cfg;
	struct config_relay relay;
	struct config_dkim dkim;
	struct tern_dns_check c;
} dnscheck;

static const char *const dnscheck_level[] = { "ok", "info", "warning",
	"error", "unknown" };

static void
dnscheck_on_finding(void *arg, enum tern_dns_check_level level,
    const char *fmt, va_list ap)
{
	struct dnscheck_finding *f;

	(void)arg;
	assert_true(dnscheck.n < DNSCHECK_FINDINGS);
	f = &dnscheck.f[dnscheck.n++];
	f->level = level;
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
}

static void
dnscheck_answer_free(struct tern_dns_check_answer *a)
{
	size_t i;

	for (i = 0; i < DNS_ANSWER_MAX; i++)
		free(a->txt[i]);
	memset(a, 0, sizeof(*a));
}

/* Forget the last case: findings, answers and config. */
static void
dnscheck_reset(const char *domain)
{
	size_t i;

	dnscheck.n = 0;
	dnscheck_answer_free(&dnscheck.addr);
	dnscheck_answer_free(&dnscheck.mx);
	dnscheck_answer_free(&dnscheck.host);
	dnscheck_answer_free(&dnscheck.txt);
	dnscheck_answer_free(&dnscheck.parent);
	memset(&dnscheck.cfg, 0, sizeof(dnscheck.cfg));
	memset(&dnscheck.relay, 0, sizeof(dnscheck.relay));
	memset(&dnscheck.dkim, 0, sizeof(dnscheck.dkim));
	memset(&dnscheck.c, 0, sizeof(dnscheck.c));
	dnscheck.cfg.run_user = "tern";
	dnscheck.cfg.hostname = "out.example.org";
	dnscheck.cfg.delivery = CONFIG_DELIVERY_RELAY;
	dnscheck.c.cfg = &dnscheck.cfg;
	dnscheck.c.domain = domain;
	dnscheck.c.say = dnscheck_on_finding;
	dnscheck.c.addr = &dnscheck.addr;
	dnscheck.c.mx = &dnscheck.mx;
	dnscheck.c.host = &dnscheck.host;
	for (i = 0; i < DNS_ANSWER_MAX; i++) {
		dnscheck_answer_free(&dnscheck.mxaddr[i]);
		dnscheck.c.mxaddr[i] = &dnscheck.mxaddr[i];
	}
}

/* TXT records into a; NULL entries end them. */
static void
dnscheck_txt(struct tern_dns_check_answer *a, enum dns_status st,
    const char *const *txt, size_t max)
{
	a->st = st;
	snprintf(a->err, sizeof(a->err), "lookup failed: %s",
	    dns_status_name(st));
	for (a->n = 0; a->n < max && txt[a->n] != NULL; a->n++)
		assert_non_null(a->txt[a->n] = strdup(txt[a->n]));
}

/* Addresses ("192.0.2.1 2001:db8::1") into a. */
static void
dnscheck_addrs(struct tern_dns_check_answer *a, enum dns_status st,
    const char *list)
{
	char copy[256], *p, *save = NULL;
	struct sockaddr_in *in;
	struct sockaddr_in6 *in6;

	a->st = st;
	snprintf(a->err, sizeof(a->err), "lookup failed: %s",
	    dns_status_name(st));
	snprintf(copy, sizeof(copy), "%s", list != NULL ? list : "");
	for (p = strtok_r(copy, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		in = (struct sockaddr_in *)&a->addr[a->n].sa;
		in6 = (struct sockaddr_in6 *)&a->addr[a->n].sa;
		if (inet_pton(AF_INET, p, &in->sin_addr) == 1)
			in->sin_family = AF_INET;
		else if (inet_pton(AF_INET6, p, &in6->sin6_addr) == 1)
			in6->sin6_family = AF_INET6;
		else
			fail_msg("bad address %s", p);
		a->n++;
	}
}

/* The findings must be want's, in order and no others. */
static void
dnscheck_expect(const char *what, const struct dnscheck_want *want)
{
	size_t i, n = 0;
	bool ok;

	while (n < DNSCHECK_WANT && want[n].text != NULL)
		n++;
	ok = dnscheck.n == n;
	for (i = 0; ok && i < n; i++)
		ok = (int)dnscheck.f[i].level == want[i].level &&
		    strstr(dnscheck.f[i].text, want[i].text) != NULL;
	if (ok)
		return;
	for (i = 0; i < dnscheck.n; i++)
		print_message("got %s: %s\n",
		    dnscheck_level[dnscheck.f[i].level], dnscheck.f[i].text);
	for (i = 0; i < n; i++)
		print_message("want %s: ...%s...\n",
		    dnscheck_level[want[i].level], want[i].text);
	fail_msg("%s: findings differ", what);
}

/* ---------------------------------------------------------------- SPF */

struct dnscheck_spf_case {
	const char *txt[3];
	enum dns_status st;
	const char *preset; /* the one relay's; NULL with host: none */
	const char *host;
	bool direct;        /* this host: 192.0.2.20 and 2001:db8::20 */
	struct dnscheck_want want[DNSCHECK_WANT];
};

#define GOOGLE "include:_spf.google.com"
static const struct dnscheck_spf_case dnscheck_spf_cases[] = {
	/* The all at the end. */
	{ { "v=spf1 " GOOGLE " -all" }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record \"v=spf1 " GOOGLE " -all\"" },
	    { OK, "SPF: -all: receivers may refuse" },
	    { OK, "relay r1 (smtp.gmail.com): the record includes "
	    "gmail's" } } },
	{ { "v=spf1 " GOOGLE " ~all" }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record" }, { OK, "~all (softfail)" },
	    { OK, "includes gmail's servers" } } },
	{ { "v=spf1 " GOOGLE " ?all" }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record" }, { WARN, "?all (neutral)" },
	    { OK, "includes gmail's servers" } } },
	{ { "v=spf1 " GOOGLE " +all" }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record" },
	    { ERR, "SPF: +all allows every server on the internet to send "
	    "as example.org" }, { OK, "includes gmail's servers" } } },
	{ { "v=spf1 " GOOGLE " all" }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record" }, { ERR, "SPF: all allows every server" },
	    { OK, "includes gmail's servers" } } },
	{ { "v=spf1 " GOOGLE }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record" }, { WARN, "no \"all\" at the end" },
	    { OK, "includes gmail's servers" } } },
	/* redirect= decides, unfollowed. */
	{ { "v=spf1 redirect=_spf.example.net" }, DNS_OK, "gmail", NULL,
	    false, { { INFO, "SPF record" },
	    { INFO, "redirect=_spf.example.net: that domain's record decides" },
	    { WARN, "no " GOOGLE " in the record; tern does not follow" } } },
	/* Which TXT records are SPF. */
	{ { "v=spf1 -all", "google-site-verification=x", "v=spf1 mx -all" },
	    DNS_OK, "gmail", NULL, false,
	    { { ERR, "2 SPF records (TXT starting with v=spf1) at "
	    "example.org" } } },
	{ { "v=spf1x -all", "v=spf2.0/pra -all" }, DNS_OK, "gmail", NULL,
	    false, { { ERR, "no SPF record: receivers cannot tell which "
	    "servers may send for example.org; publish a TXT record at "
	    "example.org such as \"v=spf1 " GOOGLE " -all\"" } } },
	{ { NULL }, DNS_NODATA, "brevo", NULL, false,
	    { { ERR, "such as \"v=spf1 include:spf.brevo.com -all\"" } } },
	{ { NULL }, DNS_TEMPFAIL, "gmail", NULL, false,
	    { { UNKN, "lookup failed: TEMPFAIL; SPF cannot be checked" } } },
	/* RFC 7208's ten lookups: a, mx, include, ptr, exists, redirect. */
	{ { "v=spf1 a mx include:1.example include:2.example "
	    "include:3.example include:4.example exists:%{i}.example "
	    "include:6.example include:7.example " GOOGLE " -all" }, DNS_OK,
	    "gmail", NULL, false, { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "includes gmail's servers" } } },
	{ { "v=spf1 a mx include:1.example include:2.example "
	    "include:3.example include:4.example include:5.example "
	    "include:6.example include:7.example ptr " GOOGLE " -all" },
	    DNS_OK, "gmail", NULL, false, { { INFO, "SPF record" },
	    { OK, "-all" }, { ERR, "SPF: 11 terms need DNS lookups" },
	    { WARN, "SPF: ptr is slow and unreliable" },
	    { OK, "includes gmail's servers" } } },
	/* A term that is not SPF makes the record a permerror. */
	{ { "v=spf1 " GOOGLE " ip5:192.0.2.1 -all" }, DNS_OK, "gmail", NULL,
	    false, { { INFO, "SPF record" },
	    { ERR, "SPF: unknown term 'ip5:192.0.2.1'" } } },
	{ { "v=spf1 " GOOGLE " exp=explain.example.org -all" }, DNS_OK,
	    "gmail", NULL, false, { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "includes gmail's servers" } } },
	/* The relay's include: by preset, by host, spelled variously. */
	{ { "v=spf1 ip4:192.0.2.1 -all" }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { ERR, "relay r1 (smtp.gmail.com): the record lacks " GOOGLE
	    ", so receivers see mail sent through gmail as forged" } } },
	{ { "v=spf1 +" GOOGLE ". -all" }, DNS_OK, "gmail", NULL, false,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "includes gmail's servers" } } },
	{ { "v=spf1 " GOOGLE ".evil.example -all" }, DNS_OK, "gmail", NULL,
	    false, { { INFO, "SPF record" }, { OK, "-all" },
	    { WARN, "no " GOOGLE " in the record; tern does not follow its "
	    "other include: or redirect= terms" } } },
	{ { "v=spf1 include:spf.brevo.com -all" }, DNS_OK, "gmail", NULL,
	    false, { { INFO, "SPF record" }, { OK, "-all" },
	    { ERR, "the record lacks " GOOGLE } } },
	{ { "v=spf1 include:spf.sendinblue.com -all" }, DNS_OK, "brevo",
	    NULL, false, { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "includes brevo's servers" } } },
	{ { "v=spf1 " GOOGLE " -all" }, DNS_OK, NULL, "smtp.gmail.com",
	    false, { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "includes gmail's servers" } } },
	{ { "v=spf1 -all" }, DNS_OK, "yahoo", NULL, false,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { WARN, "yahoo publishes no SPF include for other domains" } } },
	{ { "v=spf1 -all" }, DNS_OK, NULL, "smtp.example.net", false,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { WARN, "relay r1 (smtp.example.net): tern knows no SPF "
	    "include" } } },
	/* delivery = direct: this host's own addresses. */
	{ { "v=spf1 ip4:192.0.2.0/24 -all" }, DNS_OK, NULL, NULL, true,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "this host (out.example.org, 192.0.2.20) is allowed by "
	    "ip4:192.0.2.0/24" } } },
	{ { "v=spf1 ip6:2001:db8::/32 -all" }, DNS_OK, NULL, NULL, true,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "(out.example.org, 2001:db8::20) is allowed by "
	    "ip6:2001:db8::/32" } } },
	{ { "v=spf1 +mx -all" }, DNS_OK, NULL, NULL, true,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "is allowed by +mx" } } },
	{ { "v=spf1 a ip4:192.0.2.21 ip4:192.0.3.0/24 -all" }, DNS_OK, NULL,
	    NULL, true, { { INFO, "SPF record" }, { OK, "-all" },
	    { ERR, "no ip4:, ip6:, a or mx term of the record allows this "
	    "host (out.example.org: 192.0.2.20, 2001:db8::20); add" } } },
	{ { "v=spf1 " GOOGLE " -all" }, DNS_OK, NULL, NULL, true,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { WARN, "192.0.2.20, 2001:db8::20), and tern does not follow "
	    "include: or redirect=" } } },
	{ { "v=spf1 -all" }, DNS_OK, NULL, NULL, true,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { ERR, "the record allows no server at all" } } },
	/* A network without a prefix length allows nothing, not all. */
	{ { "v=spf1 ip4:10.0.0.0/ ip6:2001:db9::/x ip4:10.0.0.0/24x -all" },
	    DNS_OK, NULL, NULL, true, { { INFO, "SPF record" }, { OK, "-all" },
	    { ERR, "no ip4:, ip6:, a or mx term of the record allows this "
	    "host" } } },
	{ { "v=spf1 ip4:0.0.0.0/0 -all" }, DNS_OK, NULL, NULL, true,
	    { { INFO, "SPF record" }, { OK, "-all" },
	    { OK, "is allowed by ip4:0.0.0.0/0" } } },
	{ { "v=spf1 ip4:192.0.2.20/33 ip4:192.0.2.21/32 ip4:192.0.2.20/32 "
	    "-all" }, DNS_OK, NULL, NULL, true, { { INFO, "SPF record" },
	    { OK, "-all" }, { OK, "is allowed by ip4:192.0.2.20/32" } } },
	{ { NULL }, DNS_NXDOMAIN, NULL, NULL, true,
	    { { ERR, "such as \"v=spf1 ip4:ADDRESS -all\"" } } },
};

static void
dnscheck_test_spf(void **state)
{
	const struct dnscheck_spf_case *k;
	char what[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dnscheck_spf_cases) /
	    sizeof(dnscheck_spf_cases[0]); i++) {
		k = &dnscheck_spf_cases[i];
		dnscheck_reset("example.org");
		dnscheck.relay.name = "r1";
		dnscheck.relay.preset = (char *)k->preset;
		dnscheck.relay.host = (char *)(k->host != NULL ? k->host :
		    "smtp.gmail.com");
		if (k->direct) {
			dnscheck.cfg.delivery = CONFIG_DELIVERY_DIRECT;
		} else {
			dnscheck.cfg.relays = &dnscheck.relay;
			dnscheck.cfg.nrelays = 1;
		}
		dnscheck_addrs(&dnscheck.addr, DNS_OK, "192.0.2.10");
		dnscheck_addrs(&dnscheck.host, DNS_OK,
		    "192.0.2.20 2001:db8::20");
		dnscheck.mx.n = 1;
		snprintf(dnscheck.mx.mx[0].host, sizeof(dnscheck.mx.mx[0].host),
		    "mx.example.org");
		dnscheck_addrs(&dnscheck.mxaddr[0], DNS_OK, "2001:db8::20");
		dnscheck_txt(&dnscheck.txt, k->st, k->txt, 3);
		tern_dns_check_spf(&dnscheck.c, &dnscheck.txt);
		snprintf(what, sizeof(what), "SPF case %zu", i);
		dnscheck_expect(what, k->want);
	}
}

/* ---------------------------------------------------------------- DMARC */

struct dnscheck_dmarc_case {
	const char *domain;
	const char *txt[2];
	enum dns_status st;
	const char *parent[2]; /* at _dmarc.example.org, the parent */
	enum dns_status parent_st;
	struct dnscheck_want want[DNSCHECK_WANT];
};

#define RUA "rua=mailto:d@example.org"
static const struct dnscheck_dmarc_case dnscheck_dmarc_cases[] = {
	{ "example.org", { "v=DMARC1; p=reject; " RUA }, DNS_OK, { NULL },
	    DNS_OK, { { INFO, "DMARC record at _dmarc.example.org "
	    "\"v=DMARC1; p=reject; " RUA "\"" },
	    { OK, "p=reject: receivers refuse mail" },
	    { OK, "aggregate reports go to mailto:d@example.org" } } },
	{ "example.org", { "v=DMARC1;p=Quarantine;" RUA }, DNS_OK, { NULL },
	    DNS_OK, { { INFO, "DMARC record" },
	    { OK, "p=Quarantine: receivers put into spam" },
	    { OK, "reports go to" } } },
	{ "example.org", { "v=DMARC1; p=none; " RUA }, DNS_OK, { NULL },
	    DNS_OK, { { INFO, "DMARC record" },
	    { WARN, "p=none: monitoring only" }, { OK, "reports go to" } } },
	{ "example.org", { "v=DMARC1; p=reject" }, DNS_OK, { NULL }, DNS_OK,
	    { { INFO, "DMARC record" }, { OK, "p=reject" },
	    { WARN, "no rua=: you get no aggregate reports, so you cannot see "
	    "who sends as example.org; add "
	    "rua=mailto:dmarc-reports@example.org" } } },
	{ "example.org", { "v=DMARC1; p=reject; rua=" }, DNS_OK, { NULL },
	    DNS_OK, { { INFO, "DMARC record" }, { OK, "p=reject" },
	    { WARN, "no rua=" } } },
	{ "example.org", { "v=DMARC1; p=reject; pct=50; " RUA }, DNS_OK,
	    { NULL }, DNS_OK, { { INFO, "DMARC record" }, { OK, "p=reject" },
	    { WARN, "pct=50: the policy applies to only that share" },
	    { OK, "reports go to" } } },
	{ "example.org", { "v=DMARC1; p=reject; pct=100; " RUA }, DNS_OK,
	    { NULL }, DNS_OK, { { INFO, "DMARC record" }, { OK, "p=reject" },
	    { OK, "reports go to" } } },
	{ "example.org", { "v=DMARC1; p=reject; sp=none; " RUA }, DNS_OK,
	    { NULL }, DNS_OK, { { INFO, "DMARC record" }, { OK, "p=reject" },
	    { WARN, "sp=none: subdomains of example.org are not protected" },
	    { OK, "reports go to" } } },
	{ "example.org", { "v=DMARC1; p=reject; sp=bogus; " RUA }, DNS_OK,
	    { NULL }, DNS_OK, { { INFO, "DMARC record" }, { OK, "p=reject" },
	    { ERR, "sp=bogus is not a policy" }, { OK, "reports go to" } } },
	{ "example.org", { "v=DMARC1; p=bogus; " RUA }, DNS_OK, { NULL },
	    DNS_OK, { { INFO, "DMARC record" },
	    { ERR, "p=bogus is not a policy" }, { OK, "reports go to" } } },
	/* A bad v=: no DMARC record at all. */
	{ "example.org", { "v=DMARC2; p=reject; " RUA, "v=dmarc1x; p=none" },
	    DNS_OK, { NULL }, DNS_OK, { { ERR, "no DMARC record at "
	    "_dmarc.example.org: receivers have no policy" } } },
	{ "example.org", { "v=DMARC1 p=reject" }, DNS_OK, { NULL }, DNS_OK,
	    { { INFO, "DMARC record" },
	    { ERR, "DMARC: no p= tag: the record is invalid" },
	    { WARN, "no rua=" } } },
	{ "example.org", { "v=DMARC1; p=none", "v=DMARC1; p=reject" }, DNS_OK,
	    { NULL }, DNS_OK, { { ERR, "2 DMARC records at _dmarc.example.org: "
	    "the policy is invalid" } } },
	{ "example.org", { NULL }, DNS_TEMPFAIL, { NULL }, DNS_OK,
	    { { UNKN, "lookup failed: TEMPFAIL; DMARC cannot be checked" } } },
	/* The parent's record for a subdomain: its sp=, else its p=. */
	{ "mail.example.org", { NULL }, DNS_NXDOMAIN,
	    { "v=DMARC1; p=reject; sp=none; " RUA }, DNS_OK,
	    { { INFO, "no DMARC record at _dmarc.mail.example.org: the one of "
	    "example.org applies" },
	    { INFO, "DMARC record at _dmarc.example.org" },
	    { WARN, "p=none: monitoring only" }, { OK, "reports go to" } } },
	{ "mail.example.org", { NULL }, DNS_NXDOMAIN,
	    { "v=DMARC1; p=quarantine" }, DNS_OK,
	    { { INFO, "the one of example.org applies" },
	    { INFO, "DMARC record at _dmarc.example.org" },
	    { OK, "p=quarantine" },
	    { WARN, "add rua=mailto:dmarc-reports@example.org" } } },
	{ "mail.example.org", { NULL }, DNS_NXDOMAIN,
	    { "v=DMARC1; p=none", "v=DMARC1; p=reject" }, DNS_OK,
	    { { INFO, "the one of example.org applies" },
	    { ERR, "2 DMARC records at _dmarc.example.org: receivers apply "
	    "none" } } },
	{ "mail.example.org", { NULL }, DNS_NXDOMAIN, { NULL }, DNS_TEMPFAIL,
	    { { UNKN, "the DMARC record of the parent domain cannot be "
	    "checked" } } },
	{ "mail.example.org", { NULL }, DNS_NXDOMAIN, { NULL }, DNS_NXDOMAIN,
	    { { ERR, "no DMARC record at _dmarc.mail.example.org" } } },
};

static void
dnscheck_test_dmarc(void **state)
{
	const struct dnscheck_dmarc_case *k;
	struct tern_dns_check_parent parent = { "example.org",
		&dnscheck.parent };
	char what[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dnscheck_dmarc_cases) /
	    sizeof(dnscheck_dmarc_cases[0]); i++) {
		k = &dnscheck_dmarc_cases[i];
		dnscheck_reset(k->domain);
		dnscheck_txt(&dnscheck.txt, k->st, k->txt, 2);
		dnscheck_txt(&dnscheck.parent, k->parent_st, k->parent, 2);
		tern_dns_check_dmarc(&dnscheck.c, &dnscheck.txt, &parent,
		    strcmp(k->domain, "example.org") != 0);
		snprintf(what, sizeof(what), "DMARC case %zu", i);
		dnscheck_expect(what, k->want);
	}
}

/* ---------------------------------------------------------------- DKIM */

enum dnscheck_key { K_NONE, K_RSA2048, K_RSA1024, K_RSA512, K_ED25519,
	K_OTHER2048, K_ED25519_SPKI, K_KEYS };

static EVP_PKEY *dnscheck_keys[K_KEYS];
static char dnscheck_p[K_KEYS][1024]; /* each key's p= value */

/* A key of type (bits 0: Ed25519), its p= in SubjectPublicKeyInfo or,
 * for Ed25519 when raw, the 32 bytes RFC 8463 publishes. */
static void
dnscheck_keygen(enum dnscheck_key k, const char *type, size_t bits,
    bool raw)
{
	unsigned char der[1024], *q = der;
	size_t len = 32;
	int n;

	dnscheck_keys[k] = bits > 0 ? EVP_PKEY_Q_keygen(NULL, NULL, type,
	    bits) : EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(dnscheck_keys[k]);
	if (!raw) {
		n = i2d_PUBKEY(dnscheck_keys[k], &q);
		assert_true(n > 0 && (size_t)n <= sizeof(der));
		len = (size_t)n;
	} else {
		assert_int_equal(EVP_PKEY_get_raw_public_key(dnscheck_keys[k],
		    der, &len), 1);
	}
	EVP_EncodeBlock((unsigned char *)dnscheck_p[k], der, (int)len);
}

static int
dnscheck_keys_setup(void **state)
{
	(void)state;
	dnscheck_keygen(K_RSA2048, "RSA", 2048, false);
	dnscheck_keygen(K_RSA1024, "RSA", 1024, false);
	dnscheck_keygen(K_RSA512, "RSA", 512, false);
	dnscheck_keygen(K_ED25519, "ED25519", 0, true);
	dnscheck_keygen(K_OTHER2048, "RSA", 2048, false);
	dnscheck_keygen(K_ED25519_SPKI, "ED25519", 0, false);
	return 0;
}

static int
dnscheck_keys_teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < K_KEYS; i++)
		EVP_PKEY_free(dnscheck_keys[i]);
	return 0;
}

/* A [dkim] section of the case: none, or one signing with a key. */
enum dnscheck_sec { S_NONE, S_RSA, S_ED25519, S_RSA_NOFILE };

struct dnscheck_dkim_case {
	const char *txt[2]; /* "%s" stands for the p= of key */
	enum dns_status st;
	enum dnscheck_key key;
	enum dnscheck_sec sec;
	enum dnscheck_key secret; /* key_file's key; K_NONE: no PEM key */
	int err;                  /* errno of opening key_file */
	struct dnscheck_want want[DNSCHECK_WANT];
};

#define REC "DKIM record s1._domainkey.example.org \"v=DKIM1; "
static const struct dnscheck_dkim_case dnscheck_dkim_cases[] = {
	/* Key types and lengths (RFC 8301, RFC 8463). */
	{ { "v=DKIM1; k=rsa; p=%s" }, DNS_OK, K_RSA2048, S_NONE, K_NONE, 0,
	    { { INFO, REC "k=rsa; p=" },
	    { OK, "DKIM s1._domainkey.example.org: RSA key of 2048 bits" } } },
	{ { "v=DKIM1; p=%s" }, DNS_OK, K_RSA1024, S_NONE, K_NONE, 0,
	    { { INFO, REC }, { WARN, "the RSA key has 1024 bits: weak, 2048 "
	    "are recommended" } } },
	{ { "v=DKIM1; k=rsa; p=%s" }, DNS_OK, K_RSA512, S_NONE, K_NONE, 0,
	    { { INFO, REC }, { ERR, "the RSA key has 512 bits: too short and "
	    "insecure" } } },
	{ { "v=DKIM1; k=ed25519; p=%s" }, DNS_OK, K_ED25519, S_NONE, K_NONE,
	    0, { { INFO, REC }, { OK, "Ed25519 key (many receivers" } } },
	/* Record parsing. */
	{ { "v=DKIM1; k=rsa; p=" }, DNS_OK, K_NONE, S_NONE, K_NONE, 0,
	    { { INFO, REC },
	    { ERR, "p= is empty: the key is revoked and every signature with "
	    "it fails; sign with another selector" } } },
	{ { "v=DKIM1; k=rsa; p= ;" }, DNS_OK, K_NONE, S_RSA, K_RSA2048, 0,
	    { { INFO, REC }, { ERR, "another selector (change selector and "
	    "key_file in [dkim])" } } },
	{ { "v=DKIM1; k=rsa" }, DNS_OK, K_NONE, S_NONE, K_NONE, 0,
	    { { INFO, REC }, { ERR, "no p= tag: the record is invalid" } } },
	{ { "v=DKIM1; k=ed25519; p=%s" }, DNS_OK, K_RSA2048, S_NONE, K_NONE,
	    0, { { INFO, REC }, { ERR, "p= holds no Ed25519 public key (32 "
	    "bytes, RFC 8463)" } } },
	{ { "v=DKIM1; k=rsa; p=%s" }, DNS_OK, K_ED25519, S_NONE, K_NONE, 0,
	    { { INFO, REC }, { ERR, "p= holds no RSA public key "
	    "(SubjectPublicKeyInfo" } } },
	/* Any key fits a SubjectPublicKeyInfo: k=rsa wants RSA. */
	{ { "v=DKIM1; p=%s" }, DNS_OK, K_ED25519_SPKI, S_NONE, K_NONE, 0,
	    { { INFO, REC }, { ERR, "p= holds no RSA public key "
	    "(SubjectPublicKeyInfo" } } },
	{ { "v=DKIM1; k=dsa; p=%s" }, DNS_OK, K_RSA2048, S_NONE, K_NONE, 0,
	    { { INFO, REC }, { ERR, "unknown key type k=dsa; use k=rsa or "
	    "k=ed25519" } } },
	{ { "v=DKIM1; p=no*base64" }, DNS_OK, K_NONE, S_NONE, K_NONE, 0,
	    { { INFO, REC }, { ERR, "p= is not valid base64" } } },
	{ { "k=rsa; v=DKIM1; p=%s" }, DNS_OK, K_RSA2048, S_NONE, K_NONE, 0,
	    { { INFO, "DKIM record" }, { ERR, "v= must be DKIM1 and come "
	    "first" }, { OK, "RSA key of 2048 bits" } } },
	{ { "v=DKIM2; p=%s" }, DNS_OK, K_RSA2048, S_NONE, K_NONE, 0,
	    { { INFO, "DKIM record" }, { ERR, "v= must be DKIM1" },
	    { OK, "RSA key of 2048 bits" } } },
	{ { "v=DKIM1; h=sha1; t=y; p=%s" }, DNS_OK, K_RSA2048, S_NONE,
	    K_NONE, 0, { { INFO, REC }, { ERR, "h=sha1 excludes sha256" },
	    { WARN, "t=y (testing)" }, { OK, "RSA key of 2048 bits" } } },
	{ { "v=DKIM1; h=sha1:sha256; p=%s" }, DNS_OK, K_RSA2048, S_NONE,
	    K_NONE, 0, { { INFO, REC }, { OK, "RSA key of 2048 bits" } } },
	/* Against the [dkim] section's key_file. */
	{ { "v=DKIM1; k=rsa; p=%s" }, DNS_OK, K_RSA2048, S_RSA, K_RSA2048, 0,
	    { { INFO, REC }, { OK, "RSA key of 2048 bits" },
	    { OK, "the record matches key_file /keys/s1.key" } } },
	{ { "v=DKIM1; k=rsa; p=%s" }, DNS_OK, K_RSA2048, S_RSA, K_OTHER2048,
	    0, { { INFO, REC }, { OK, "RSA key of 2048 bits" },
	    { ERR, "the record does not match key_file /keys/s1.key ([dkim "
	    "example.org], line 7)" } } },
	{ { "v=DKIM1; k=rsa; p=%s" }, DNS_OK, K_RSA2048, S_ED25519,
	    K_ED25519, 0, { { INFO, REC }, { OK, "RSA key of 2048 bits" },
	    { ERR, "the record holds an RSA key but [dkim example.org] signs "
	    "with ed25519-sha256" } } },
	{ { "v=DKIM1; k=ed25519; p=%s" }, DNS_OK, K_ED25519, S_RSA,
	    K_RSA2048, 0, { { INFO, REC }, { OK, "Ed25519 key" },
	    { ERR, "holds an Ed25519 key but [dkim example.org] signs with "
	    "rsa-sha256" } } },
	{ { "v=DKIM1; k=ed25519; p=%s" }, DNS_OK, K_ED25519, S_ED25519,
	    K_ED25519, 0, { { INFO, REC }, { OK, "Ed25519 key" },
	    { OK, "the record matches key_file" } } },
	{ { "v=DKIM1; p=%s" }, DNS_OK, K_RSA2048, S_RSA, K_NONE, EACCES,
	    { { INFO, REC }, { OK, "2048 bits" },
	    { WARN, "cannot read key_file /keys/s1.key (Permission denied), "
	    "so tern cannot tell whether the record matches it; run tern dns "
	    "as root or as tern" } } },
	{ { "v=DKIM1; p=%s" }, DNS_OK, K_RSA2048, S_RSA, K_NONE, 0,
	    { { INFO, REC }, { OK, "2048 bits" },
	    { ERR, "key_file /keys/s1.key holds no private key tern can "
	    "read" } } },
	{ { "v=DKIM1; p=%s" }, DNS_OK, K_RSA2048, S_RSA_NOFILE, K_NONE, 0,
	    { { INFO, REC }, { OK, "2048 bits" } } },
	/* Which TXT records there are. */
	{ { "v=spf1 -all" }, DNS_OK, K_NONE, S_NONE, K_NONE, 0,
	    { { ERR, "no DKIM record at s1._domainkey.example.org: receivers "
	    "cannot check signatures with selector s1" } } },
	{ { NULL }, DNS_NXDOMAIN, K_NONE, S_NONE, K_NONE, 0,
	    { { ERR, "no DKIM record at s1._domainkey.example.org" } } },
	{ { "v=DKIM1; p=%s", "v=DKIM1; p=" }, DNS_OK, K_RSA2048, S_NONE,
	    K_NONE, 0, { { ERR, "2 TXT records at "
	    "s1._domainkey.example.org" } } },
	{ { NULL }, DNS_TEMPFAIL, K_NONE, S_NONE, K_NONE, 0,
	    { { UNKN, "this DKIM record cannot be checked" } } },
};

static void
dnscheck_dkim_case(const struct dnscheck_dkim_case *k,
    struct tern_dns_check_selector *sel, struct tern_dns_check_key *key)
{
	char rec[2][2048];
	const char *txt[2] = { NULL, NULL };
	size_t j;

	for (j = 0; j < 2 && k->txt[j] != NULL; j++) {
		snprintf(rec[j], sizeof(rec[j]), k->txt[j], dnscheck_p[k->key]);
		txt[j] = rec[j];
	}
	dnscheck_txt(&dnscheck.txt, k->st, txt, 2);
	memset(sel, 0, sizeof(*sel));
	sel->name = "s1";
	sel->txt = &dnscheck.txt;
	if (k->sec == S_NONE)
		return;
	dnscheck.dkim.domain = "example.org";
	dnscheck.dkim.selector = "s1";
	dnscheck.dkim.line = 7;
	dnscheck.dkim.algorithm = k->sec == S_ED25519 ?
	    CONFIG_DKIM_ED25519_SHA256 : CONFIG_DKIM_RSA_SHA256;
	sel->sec = &dnscheck.dkim;
	if (k->sec == S_RSA_NOFILE)
		return;
	dnscheck.dkim.key_file = "/keys/s1.key";
	key->pkey = dnscheck_keys[k->secret];
	key->err = k->err;
	sel->key = key;
}

static void
dnscheck_test_dkim(void **state)
{
	struct tern_dns_check_selector sel;
	struct tern_dns_check_key key;
	char what[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dnscheck_dkim_cases) /
	    sizeof(dnscheck_dkim_cases[0]); i++) {
		dnscheck_reset("example.org");
		dnscheck_dkim_case(&dnscheck_dkim_cases[i], &sel, &key);
		tern_dns_check_dkim(&dnscheck.c, &sel, 1);
		snprintf(what, sizeof(what), "DKIM case %zu", i);
		dnscheck_expect(what, dnscheck_dkim_cases[i].want);
	}
}

/* A record cut at DNS_TXT_MAX - 1 bytes, and no selector at all. */
static void
dnscheck_test_dkim_edges(void **state)
{
	static const struct dnscheck_want cut[] = { { ERR, "the DKIM record "
		"at s1._domainkey.example.org is longer than 4095 bytes" },
		{ 0, NULL } };
	static const struct dnscheck_want none[] = { { WARN, "no selector to "
		"check: no [dkim example.org] section" }, { 0, NULL } };
	struct tern_dns_check_selector sel = { "s1", NULL, NULL,
		&dnscheck.txt };
	const char *txt[] = { "v=DKIM1; p=AAAA", NULL };

	(void)state;
	dnscheck_reset("example.org");
	dnscheck_txt(&dnscheck.txt, DNS_OK, txt, 1);
	dnscheck.txt.truncated[0] = true;
	tern_dns_check_dkim(&dnscheck.c, &sel, 1);
	dnscheck_expect("truncated", cut);
	dnscheck_reset("example.org");
	tern_dns_check_dkim(&dnscheck.c, NULL, 0);
	dnscheck_expect("no selector", none);
}

/* ---------------------------------------------------------------- MX */

struct dnscheck_mx_case {
	enum dns_status st;
	const char *mx[3];        /* "PREF HOST"; HOST "" for a null MX */
	enum dns_status addr_st[3];
	const char *addr[3];      /* each MX host's addresses */
	enum dns_status own_st;   /* the domain's own addresses */
	struct dnscheck_want want[DNSCHECK_WANT];
};

static const struct dnscheck_mx_case dnscheck_mx_cases[] = {
	{ DNS_OK, { "10 mx1.example.org", "20 mx2.example.org" },
	    { DNS_OK, DNS_OK }, { "192.0.2.1 2001:db8::1", "192.0.2.2" },
	    DNS_OK, { { OK, "MX 10 mx1.example.org: 192.0.2.1, 2001:db8::1" },
	    { OK, "MX 20 mx2.example.org: 192.0.2.2" } } },
	{ DNS_OK, { "10 192.0.2.1" }, { DNS_OK }, { "192.0.2.1" }, DNS_OK,
	    { { ERR, "MX 10 192.0.2.1 is an IP address" } } },
	{ DNS_OK, { "10 mx1.example.org" }, { DNS_NXDOMAIN }, { NULL },
	    DNS_OK, { { ERR, "MX 10 mx1.example.org has no address "
	    "(NXDOMAIN): mail to example.org" } } },
	{ DNS_OK, { "10 mx1.example.org" }, { DNS_TEMPFAIL }, { NULL },
	    DNS_OK, { { UNKN, "this MX host's address cannot be checked" } } },
	{ DNS_OK, { "0 " }, { DNS_OK }, { NULL }, DNS_OK,
	    { { ERR, "null MX (\"0 .\", RFC 7505): example.org says it "
	    "receives no mail" } } },
	{ DNS_OK, { "0 ", "10 mx1.example.org" }, { DNS_OK, DNS_OK },
	    { NULL, "192.0.2.1" }, DNS_OK,
	    { { WARN, "a null MX (\"0 .\") beside other MX records" },
	    { OK, "MX 10 mx1.example.org: 192.0.2.1" } } },
	{ DNS_NODATA, { NULL }, { DNS_OK }, { NULL }, DNS_OK,
	    { { WARN, "no MX record: mail to example.org goes to its own "
	    "address (implicit MX: 192.0.2.10)" } } },
	{ DNS_NODATA, { NULL }, { DNS_OK }, { NULL }, DNS_NODATA,
	    { { ERR, "no MX record and no address" } } },
	{ DNS_NODATA, { NULL }, { DNS_OK }, { NULL }, DNS_TEMPFAIL,
	    { { UNKN, "the implicit MX cannot be checked" } } },
	{ DNS_NXDOMAIN, { NULL }, { DNS_OK }, { NULL }, DNS_OK,
	    { { ERR, "example.org does not exist in the DNS (NXDOMAIN)" } } },
	{ DNS_TEMPFAIL, { NULL }, { DNS_OK }, { NULL }, DNS_OK,
	    { { UNKN, "lookup failed: TEMPFAIL; MX cannot be checked" } } },
};

static void
dnscheck_test_mx(void **state)
{
	const struct dnscheck_mx_case *k;
	struct dns_mx *mx;
	char what[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(dnscheck_mx_cases) /
	    sizeof(dnscheck_mx_cases[0]); i++) {
		k = &dnscheck_mx_cases[i];
		dnscheck_reset("example.org");
		dnscheck_addrs(&dnscheck.addr, k->own_st,
		    k->own_st == DNS_OK ? "192.0.2.10" : NULL);
		dnscheck.mx.st = k->st;
		snprintf(dnscheck.mx.err, sizeof(dnscheck.mx.err),
		    "lookup failed: %s", dns_status_name(k->st));
		for (j = 0; j < 3 && k->mx[j] != NULL; j++) {
			mx = &dnscheck.mx.mx[j];
			assert_int_equal(sscanf(k->mx[j], "%u %255s",
			    &mx->pref, mx->host) >= 1, 1);
			dnscheck_addrs(&dnscheck.mxaddr[j], k->addr_st[j],
			    k->addr[j]);
		}
		dnscheck.mx.n = j;
		tern_dns_check_mx(&dnscheck.c);
		snprintf(what, sizeof(what), "MX case %zu", i);
		dnscheck_expect(what, k->want);
	}
}

/* ---------------------------------------------------------------- tags */

static void
dnscheck_test_tag(void **state)
{
	static const struct {
		const char *rec, *name, *want; /* want NULL: absent */
	} cases[] = {
		{ "v=DKIM1; k=rsa; p=abc", "k", "rsa" },
		{ " v = DKIM1 ;K= rsa\t;p=a b ", "k", "rsa" },
		{ "v=DKIM1; k=rsa; p=a b ", "p", "a b" },
		{ "v=DMARC1; sp=none; p=reject", "p", "reject" },
		{ "v=DMARC1; sp=none", "p", NULL },
		{ "v=DMARC1; p", "p", NULL },
		{ "v=DMARC1; p=;", "p", "" },
		{ "v=DMARC1; pct=0123456789", "pct", "0123456" },
	};
	char val[8];
	size_t i;
	bool found;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		found = tern_dns_check_tag(cases[i].rec, cases[i].name, val,
		    sizeof(val));
		if (found != (cases[i].want != NULL) || (found &&
		    strcmp(val, cases[i].want) != 0))
			fail_msg("tag %s of \"%s\": got %s", cases[i].name,
			    cases[i].rec, found ? val : "(absent)");
	}
}

static int
dnscheck_teardown(void **state)
{
	dnscheck_reset("example.org");
	return dnscheck_keys_teardown(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dnscheck_test_spf),
		cmocka_unit_test(dnscheck_test_dmarc),
		cmocka_unit_test(dnscheck_test_dkim),
		cmocka_unit_test(dnscheck_test_dkim_edges),
		cmocka_unit_test(dnscheck_test_mx),
		cmocka_unit_test(dnscheck_test_tag),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, dnscheck_keys_setup,
	    dnscheck_teardown);
}
