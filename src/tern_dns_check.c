/*
 * tern_dns_check: the MX, DKIM and DMARC findings of tern dns (see
 * tern_dns_check.h), and the helpers both check files use: findings
 * to the caller's say function, record text ("v=" prefixes, tags,
 * quoting) and addresses as text.  SPF is in tern_dns_check_spf.c.
 *
 * Only answers already in and keys already read are looked at: no
 * DNS, no files, no output of its own.  OpenSSL's error queue is left
 * empty after every key operation, whatever its outcome.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "dns.h"
#include "str.h"
#include "tern_dns_check.h"
#include "tern_dns_check_int.h"

#define TERN_DNS_CHECK_NAME_MAX 253
#define TERN_DNS_CHECK_RSA_MIN 1024  /* RFC 8301 3.2: shorter fails */
#define TERN_DNS_CHECK_RSA_GOOD 2048 /* RFC 8301 3.2: SHOULD */
#define TERN_DNS_CHECK_KEY_MAX 2048  /* bytes of a decoded DKIM public key */

/* ---------------------------------------------------------------- output */

void
tern_dns_check_say(const struct tern_dns_check *c,
    enum tern_dns_check_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	c->say(c->arg, level, fmt, ap);
	va_end(ap);
}

/* A failed lookup: no verdict on what it would have shown. */
void
tern_dns_check_unknown(const struct tern_dns_check *c,
    const struct tern_dns_check_answer *a, const char *what)
{
	tern_dns_check_say(c, TERN_DNS_CHECK_UNKNOWN, "%s; %s cannot be "
	    "checked, try again later or check dns_servers", a->err, what);
}

const char *
tern_dns_check_ntop(const struct dns_addr *a, char *buf, size_t size)
{
	const void *p = a->sa.ss_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)&a->sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)&a->sa)->sin6_addr;

	if (inet_ntop(a->sa.ss_family, p, buf, (socklen_t)size) == NULL)
		str_lcpy(buf, "?", size);
	return buf;
}

/* The addresses of r as "192.0.2.1, 2001:db8::1" into buf. */
const char *
tern_dns_check_addr_list(const struct tern_dns_check_answer *r, char *buf,
    size_t size)
{
	char one[INET6_ADDRSTRLEN];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < r->n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    i ? ", " : "", tern_dns_check_ntop(&r->addr[i], one,
		    sizeof(one)));
	return buf;
}

/* ---------------------------------------------------------------- text */

/* Whether rec begins with the version tag tag ("v=spf1"), then a space
 * (SPF) or the end or ';' (DKIM, DMARC). */
bool
tern_dns_check_starts(const char *rec, const char *tag, const char *after)
{
	size_t len = strlen(tag);

	return strncasecmp(rec, tag, len) == 0 &&
	    (rec[len] == '\0' || strchr(after, rec[len]) != NULL);
}

/* rec for a report line: quoted, long ones cut. */
const char *
tern_dns_check_show(const char *rec, char *buf, size_t size)
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
bool
tern_dns_check_tag(const char *rec, const char *name, char *val, size_t size)
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
tern_dns_check_mx_host(const struct tern_dns_check *c, size_t i)
{
	const struct dns_mx *mx = &c->mx->mx[i];
	const struct tern_dns_check_answer *a = c->mxaddr[i];
	struct in_addr in;
	char list[512];

	if (inet_pton(AF_INET, mx->host, &in) == 1)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "MX %u %s "
		    "is an IP address: an MX record must name a host; publish "
		    "an A record for a name and point the MX at that name",
		    mx->pref, mx->host);
	if (a->st == DNS_TEMPFAIL)
		return tern_dns_check_unknown(c, a, "this MX host's address");
	if (a->st != DNS_OK)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "MX %u %s "
		    "has no address (%s): mail to %s (replies, bounces) cannot "
		    "be delivered there; give the host an A or AAAA record or "
		    "fix the MX", mx->pref, mx->host, dns_status_name(a->st),
		    c->domain);
	tern_dns_check_say(c, TERN_DNS_CHECK_OK, "MX %u %s: %s", mx->pref,
	    mx->host, tern_dns_check_addr_list(a, list, sizeof(list)));
}

/* No MX: RFC 5321 5.1 sends mail to the domain's own address. */
static void
tern_dns_check_mx_implicit(const struct tern_dns_check *c)
{
	char list[512];

	if (c->addr->st == DNS_TEMPFAIL)
		return tern_dns_check_unknown(c, c->addr, "the implicit MX");
	if (c->addr->st != DNS_OK)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "no MX "
		    "record and no address: %s receives no mail, so replies "
		    "and bounces are lost and many receivers refuse mail from "
		    "it; publish an MX record", c->domain);
	tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "no MX record: mail to "
	    "%s goes to its own address (implicit MX: %s); publish an MX "
	    "record naming the host that receives mail for it", c->domain,
	    tern_dns_check_addr_list(c->addr, list, sizeof(list)));
}

void
tern_dns_check_mx(const struct tern_dns_check *c)
{
	size_t i;

	if (c->mx->st == DNS_TEMPFAIL)
		return tern_dns_check_unknown(c, c->mx, "MX");
	if (c->mx->st == DNS_NXDOMAIN)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "%s does "
		    "not exist in the DNS (NXDOMAIN): receivers refuse mail "
		    "from it; check the spelling, or register and publish the "
		    "domain", c->domain);
	if (c->mx->st != DNS_OK)
		return tern_dns_check_mx_implicit(c);
	if (c->mx->mx[0].host[0] == '\0' && c->mx->n == 1)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "null MX "
		    "(\"0 .\", RFC 7505): %s says it receives no mail, and "
		    "receivers refuse mail from such a domain (550 5.7.27); "
		    "remove the null MX and publish a real one to send from %s",
		    c->domain, c->domain);
	for (i = 0; i < c->mx->n; i++) {
		if (c->mx->mx[i].host[0] == '\0')
			tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "a null "
			    "MX (\"0 .\") beside other MX records: RFC 7505 "
			    "wants it alone; remove it");
		else
			tern_dns_check_mx_host(c, i);
	}
}

/* ---------------------------------------------------------------- DKIM */

static void
tern_dns_check_ssl_clear(void)
{
	ERR_clear_error();
}

/* The public key of the p= value, or NULL (with the reason said). */
static EVP_PKEY *
tern_dns_check_dkim_pubkey(const struct tern_dns_check *c, const char *name,
    const char *p, bool ed25519)
{
	char b64[DNS_TXT_MAX], der[TERN_DNS_CHECK_KEY_MAX];
	const unsigned char *q = (const unsigned char *)der;
	size_t i, len = 0, dlen;
	EVP_PKEY *key;

	for (i = 0; p[i] != '\0'; i++)
		if (strchr(" \t\r\n", p[i]) == NULL && len + 1 < sizeof(b64))
			b64[len++] = p[i];
	if (str_b64_decode(b64, len, der, sizeof(der), &dlen) == -1) {
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: p= is "
		    "not valid base64; publish the record exactly as tern dkim "
		    "keygen printed it", name);
		return NULL;
	}
	if (ed25519)
		key = dlen == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
		    NULL, q, 32) : NULL;
	else
		key = d2i_PUBKEY(NULL, &q, (long)dlen);
	/* A SubjectPublicKeyInfo may hold any type of key: k=rsa (the
	 * default) wants an RSA one. */
	if (!ed25519 && key != NULL && EVP_PKEY_get_base_id(key) !=
	    EVP_PKEY_RSA) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	tern_dns_check_ssl_clear();
	if (key == NULL)
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: p= holds "
		    "no %s public key%s; publish the record exactly as tern "
		    "dkim keygen printed it", name, ed25519 ? "Ed25519" : "RSA",
		    ed25519 ? " (32 bytes, RFC 8463)" :
		    " (SubjectPublicKeyInfo, RFC 6376 3.6.1)");
	return key;
}

static void
tern_dns_check_dkim_bits(const struct tern_dns_check *c, const char *name,
    EVP_PKEY *key)
{
	int bits = EVP_PKEY_get_bits(key);

	if (bits < TERN_DNS_CHECK_RSA_MIN)
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: the RSA "
		    "key has %d bits: too short and insecure, receivers treat "
		    "its signatures as invalid (RFC 8301); make a %d-bit key "
		    "with tern dkim keygen under a new selector", name, bits,
		    TERN_DNS_CHECK_RSA_GOOD);
	else if (bits < TERN_DNS_CHECK_RSA_GOOD)
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "DKIM %s: the "
		    "RSA key has %d bits: weak, %d are recommended (RFC 8301); "
		    "make a %d-bit key with tern dkim keygen under a new "
		    "selector", name, bits, TERN_DNS_CHECK_RSA_GOOD,
		    TERN_DNS_CHECK_RSA_GOOD);
	else
		tern_dns_check_say(c, TERN_DNS_CHECK_OK, "DKIM %s: RSA key of "
		    "%d bits", name, bits);
}

/* Does the published key belong to the private key ternd signs with? */
static void
tern_dns_check_dkim_match(const struct tern_dns_check *c, const char *name,
    EVP_PKEY *pub, const struct config_dkim *sec,
    const struct tern_dns_check_key *key)
{
	if (key->pkey == NULL && key->err != 0)
		return tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "DKIM %s: "
		    "cannot read key_file %s (%s), so tern cannot tell whether "
		    "the record matches it; run tern dns as root or as %s",
		    name, sec->key_file, strerror(key->err), c->cfg->run_user);
	if (key->pkey == NULL)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: "
		    "key_file %s holds no private key tern can read (PEM), and "
		    "ternd cannot sign with it; make one with tern dkim keygen",
		    name, sec->key_file);
	if (EVP_PKEY_eq(pub, key->pkey) == 1)
		tern_dns_check_say(c, TERN_DNS_CHECK_OK, "DKIM %s: the record "
		    "matches key_file %s", name, sec->key_file);
	else
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: the "
		    "record does not match key_file %s ([dkim %s], line %u): "
		    "receivers reject every signature ternd makes; publish the "
		    "record of this key, or set key_file to the key of the "
		    "record", name, sec->key_file, sec->domain, sec->line);
	tern_dns_check_ssl_clear();
}

/* The tags of one DKIM record, before its key is looked at. */
static bool
tern_dns_check_dkim_tags(const struct tern_dns_check *c, const char *name,
    const char *rec, bool *ed25519)
{
	char val[64];

	if (tern_dns_check_tag(rec, "v", val, sizeof(val)) &&
	    (strcmp(val, "DKIM1") != 0 ||
	    strncasecmp(rec + strspn(rec, " \t"), "v=", 2) != 0))
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: v= must "
		    "be DKIM1 and come first", name);
	*ed25519 = false;
	if (tern_dns_check_tag(rec, "k", val, sizeof(val))) {
		*ed25519 = strcasecmp(val, "ed25519") == 0;
		if (!*ed25519 && strcasecmp(val, "rsa") != 0) {
			tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: "
			    "unknown key type k=%s; use k=rsa or k=ed25519",
			    name, val);
			return false;
		}
	}
	if (tern_dns_check_tag(rec, "h", val, sizeof(val)) &&
	    strcasestr(val, "sha256") == NULL)
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: h=%s "
		    "excludes sha256, the only hash ternd signs with; remove "
		    "h=", name, val);
	if (tern_dns_check_tag(rec, "t", val, sizeof(val)) && strchr(val, 'y'))
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "DKIM %s: t=y "
		    "(testing): receivers may treat signatures as if there "
		    "were none; remove t=y once signing works", name);
	return true;
}

static void
tern_dns_check_dkim_record(const struct tern_dns_check *c,
    const struct tern_dns_check_selector *sel, const char *name,
    const char *rec)
{
	const struct config_dkim *sec = sel->sec;
	char p[DNS_TXT_MAX], shown[200];
	EVP_PKEY *pub;
	bool ed25519;

	tern_dns_check_say(c, TERN_DNS_CHECK_INFO, "DKIM record %s %s", name,
	    tern_dns_check_show(rec, shown, sizeof(shown)));
	if (!tern_dns_check_dkim_tags(c, name, rec, &ed25519))
		return;
	if (!tern_dns_check_tag(rec, "p", p, sizeof(p)))
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: "
		    "no p= tag: the record is invalid; publish it as tern dkim "
		    "keygen printed it", name);
	if (p[0] == '\0')
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: "
		    "p= is empty: the key is revoked and every signature with "
		    "it fails; sign with another selector%s", name, sec != NULL
		    ? " (change selector and key_file in [dkim])" : "");
	if ((pub = tern_dns_check_dkim_pubkey(c, name, p, ed25519)) == NULL)
		return;
	if (ed25519)
		tern_dns_check_say(c, TERN_DNS_CHECK_OK, "DKIM %s: Ed25519 key "
		    "(many receivers do not check Ed25519 signatures yet)",
		    name);
	else
		tern_dns_check_dkim_bits(c, name, pub);
	if (sec != NULL && (sec->algorithm == CONFIG_DKIM_ED25519_SHA256) !=
	    ed25519)
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DKIM %s: the "
		    "record holds an %s key but [dkim %s] signs with %s; "
		    "publish the record of key_file %s", name, ed25519 ?
		    "Ed25519" : "RSA", sec->domain, ed25519 ? "rsa-sha256" :
		    "ed25519-sha256", sec->key_file);
	else if (sec != NULL && sec->key_file != NULL && sel->key != NULL)
		tern_dns_check_dkim_match(c, name, pub, sec, sel->key);
	EVP_PKEY_free(pub);
}

static void
tern_dns_check_dkim_one(const struct tern_dns_check *c,
    const struct tern_dns_check_selector *sel)
{
	const struct tern_dns_check_answer *r = sel->txt;
	char name[TERN_DNS_CHECK_NAME_MAX + 64];
	size_t k, n = 0, which = 0;

	snprintf(name, sizeof(name), "%s._domainkey.%s", sel->name,
	    c->domain);
	if (r->st == DNS_TEMPFAIL)
		return tern_dns_check_unknown(c, r, "this DKIM record");
	for (k = 0; r->st == DNS_OK && k < r->n; k++)
		if (!tern_dns_check_starts(r->txt[k], "v=spf1", " ")) {
			n++;
			which = k;
		}
	if (n == 0)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "no DKIM "
		    "record at %s: receivers cannot check signatures with "
		    "selector %s; publish the TXT record tern dkim keygen "
		    "printed for the key", name, sel->name);
	if (n > 1)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "%zu TXT "
		    "records at %s: receivers may take any of them and fail; "
		    "keep only the one of the key ternd signs with", n, name);
	if (r->truncated[which])
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "the DKIM "
		    "record at %s is longer than %d bytes: too long to check "
		    "or to use; publish a shorter key", name, DNS_TXT_MAX - 1);
	tern_dns_check_dkim_record(c, sel, name, r->txt[which]);
}

void
tern_dns_check_dkim(const struct tern_dns_check *c,
    const struct tern_dns_check_selector *sel, size_t n)
{
	size_t i;

	if (n == 0)
		return tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "no "
		    "selector to check: no [dkim %s] section, so ternd does "
		    "not sign mail from %s and many receivers (Gmail, Yahoo) "
		    "distrust it; run tern dkim keygen %s SELECTOR, or give "
		    "--selector S to check a key signed elsewhere", c->domain,
		    c->domain, c->domain);
	for (i = 0; i < n; i++)
		tern_dns_check_dkim_one(c, &sel[i]);
}

/* ---------------------------------------------------------------- DMARC */

/* The DMARC records of r (TXT starting v=DMARC1): how many, the last. */
static size_t
tern_dns_check_dmarc_find(const struct tern_dns_check_answer *r,
    const char **rec)
{
	size_t i, n = 0;

	for (i = 0; r->st == DNS_OK && i < r->n; i++)
		if (tern_dns_check_starts(r->txt[i], "v=DMARC1", "; \t")) {
			*rec = r->txt[i];
			n++;
		}
	return n;
}

static void
tern_dns_check_dmarc_policy(const struct tern_dns_check *c, const char *rec,
    bool sub)
{
	char p[32], sp[32], pct[32];
	bool has_sp = tern_dns_check_tag(rec, "sp", sp, sizeof(sp));

	if (!tern_dns_check_tag(rec, "p", p, sizeof(p)))
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DMARC: no "
		    "p= tag: the record is invalid; write it as \"v=DMARC1; "
		    "p=none; rua=mailto:...\"");
	if (sub && has_sp)
		str_lcpy(p, sp, sizeof(p));
	if (strcasecmp(p, "none") == 0)
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "DMARC: p=none: "
		    "monitoring only, receivers still deliver forged mail; "
		    "read the rua reports and, once they show only your own "
		    "servers, move to p=quarantine, then p=reject");
	else if (strcasecmp(p, "quarantine") == 0 ||
	    strcasecmp(p, "reject") == 0)
		tern_dns_check_say(c, TERN_DNS_CHECK_OK, "DMARC: p=%s: "
		    "receivers %s mail that fails SPF and DKIM alignment", p,
		    tolower((unsigned char)p[0]) == 'r' ? "refuse" : "put into "
		    "spam");
	else
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DMARC: "
		    "p=%s is not a policy: use none, quarantine or reject", p);
	if (has_sp && strcasecmp(sp, "none") == 0 && !sub &&
	    strcasecmp(p, "none") != 0)
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "DMARC: sp=none: "
		    "subdomains of %s are not protected; remove sp= so they "
		    "follow p=", c->domain);
	else if (has_sp && strcasecmp(sp, "none") != 0 &&
	    strcasecmp(sp, "quarantine") != 0 && strcasecmp(sp, "reject") != 0)
		tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "DMARC: sp=%s is "
		    "not a policy: use none, quarantine or reject", sp);
	if (tern_dns_check_tag(rec, "pct", pct, sizeof(pct)) &&
	    strcmp(pct, "100") != 0)
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "DMARC: pct=%s: "
		    "the policy applies to only that share of failing mail; "
		    "raise it to 100 (or remove pct=)", pct);
}

static void
tern_dns_check_dmarc_record(const struct tern_dns_check *c, const char *rec,
    const char *at, bool sub)
{
	char shown[600], rua[300];

	tern_dns_check_say(c, TERN_DNS_CHECK_INFO, "DMARC record at _dmarc.%s "
	    "%s", at, tern_dns_check_show(rec, shown, sizeof(shown)));
	tern_dns_check_dmarc_policy(c, rec, sub);
	if (!tern_dns_check_tag(rec, "rua", rua, sizeof(rua)) || rua[0] == '\0')
		tern_dns_check_say(c, TERN_DNS_CHECK_WARNING, "DMARC: no rua=: "
		    "you get no aggregate reports, so you cannot see who sends "
		    "as %s; add rua=mailto:dmarc-reports@%s", c->domain, at);
	else
		tern_dns_check_say(c, TERN_DNS_CHECK_OK, "DMARC: aggregate "
		    "reports go to %s", rua);
}

/* No record at the domain: the nearest parent's applies (its sp=). */
static bool
tern_dns_check_dmarc_parent(const struct tern_dns_check *c,
    const struct tern_dns_check_parent *parents, size_t nparents)
{
	const char *rec = NULL;
	size_t i, n;

	for (i = 0; i < nparents; i++) {
		if (parents[i].txt->st == DNS_TEMPFAIL) {
			tern_dns_check_unknown(c, parents[i].txt, "the DMARC "
			    "record of the parent domain");
			return true;
		}
		if ((n = tern_dns_check_dmarc_find(parents[i].txt, &rec)) == 0)
			continue;
		tern_dns_check_say(c, TERN_DNS_CHECK_INFO, "no DMARC record at "
		    "_dmarc.%s: the one of %s applies (its sp=, else its p=)",
		    c->domain, parents[i].name);
		if (n > 1)
			tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "%zu DMARC "
			    "records at _dmarc.%s: receivers apply none of "
			    "them; keep one", n, parents[i].name);
		else
			tern_dns_check_dmarc_record(c, rec, parents[i].name,
			    true);
		return true;
	}
	return false;
}

void
tern_dns_check_dmarc(const struct tern_dns_check *c,
    const struct tern_dns_check_answer *txt,
    const struct tern_dns_check_parent *parents, size_t nparents)
{
	const char *rec = NULL;
	size_t n;

	if (txt->st == DNS_TEMPFAIL)
		return tern_dns_check_unknown(c, txt, "DMARC");
	n = tern_dns_check_dmarc_find(txt, &rec);
	if (n > 1)
		return tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "%zu DMARC "
		    "records at _dmarc.%s: the policy is invalid and receivers "
		    "apply none (RFC 7489 6.6.3); keep one", n, c->domain);
	if (n == 1)
		return tern_dns_check_dmarc_record(c, rec, c->domain, false);
	if (tern_dns_check_dmarc_parent(c, parents, nparents))
		return;
	tern_dns_check_say(c, TERN_DNS_CHECK_ERROR, "no DMARC record at "
	    "_dmarc.%s: receivers have no policy for mail failing SPF and "
	    "DKIM, and Gmail and Yahoo require one of bulk senders; publish a "
	    "TXT record at _dmarc.%s, to start \"v=DMARC1; p=none; "
	    "rua=mailto:dmarc-reports@%s\"", c->domain, c->domain, c->domain);
}
