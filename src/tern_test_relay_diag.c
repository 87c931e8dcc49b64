/*
 * tern_test_relay_diag: what a failed relay test means, in plain words
 * -- the table of "tern test-relay".
 *
 * Two steps, both pure (no I/O): tern_tr_classify turns the facts (the
 * step that failed, the server's reply, smtpc's error text, what a
 * second connection in the other TLS mode showed) into one symptom;
 * tern_tr_diagnose looks the symptom up in the advice table, provider
 * rows first, and fills in the relay's own values (port, host, the
 * names in the certificate...).  Every row of the table is provoked by
 * a real misconfigured peer in test/integration/tern_test_relay.sh and
 * listed in tern(8).  Providers are recognised by preset name, else by
 * the host name's domain, so "host = smtp.qq.com" gets QQ's advice too.
 * The certificate's subject, issuer, expiry and names are read here as
 * well, for the advice and the report.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/x509v3.h>

#include "relay_preset.h"
#include "str.h"
#include "tern_test_relay.h"

/* ------------------------------------------------------------- certificate */

/* "2025-06-01 12:00:00 UTC" from an ASN1 time. */
static void
tern_tr_asn1_time(const ASN1_TIME *at, char *out, size_t outlen)
{
	struct tm tm;

	if (at == NULL || ASN1_TIME_to_tm(at, &tm) != 1 ||
	    strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		str_lcpy(out, "(unknown)", outlen);
}

void
tern_tr_append(char *out, size_t outlen, const char *one)
{
	size_t n = strlen(out);

	if (n + 1 >= outlen)
		return;
	snprintf(out + n, outlen - n, "%s%s", n > 0 ? ", " : "", one);
}

/* The certificate's DNS and IP names. */
static void
tern_tr_cert_names(X509 *x, char *out, size_t outlen)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	const GENERAL_NAME *g;
	char one[300];
	int i;

	out[0] = '\0';
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS)
			snprintf(one, sizeof(one), "%.*s",
			    ASN1_STRING_length(g->d.dNSName),
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		else if (g->type == GEN_IPADD && g->d.iPAddress->length == 4) {
			const unsigned char *a = g->d.iPAddress->data;

			snprintf(one, sizeof(one), "%u.%u.%u.%u", a[0], a[1],
			    a[2], a[3]);
		} else
			continue;
		tern_tr_append(out, outlen, one);
	}
	GENERAL_NAMES_free(gens);
	if (out[0] == '\0')
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, out, (int)outlen);
}

/* "CN=relay.test,O=Example" (RFC 2253 order and escaping). */
static void
tern_tr_name_text(const X509_NAME *name, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n;

	str_lcpy(out, "(unknown)", outlen);
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_read(b, out, (int)outlen - 1)) > 0)
		out[n] = '\0';
	BIO_free(b);
}

void
tern_tr_cert_read(X509 *x, struct tern_tr_cert *c)
{
	memset(c, 0, sizeof(*c));
	if (x == NULL)
		return;
	c->have = true;
	tern_tr_name_text(X509_get_subject_name(x), c->subject,
	    sizeof(c->subject));
	tern_tr_name_text(X509_get_issuer_name(x), c->issuer,
	    sizeof(c->issuer));
	tern_tr_asn1_time(X509_get0_notAfter(x), c->not_after,
	    sizeof(c->not_after));
	tern_tr_cert_names(x, c->names, sizeof(c->names));
}

/* ---------------------------------------------------------------- providers */

enum tern_tr_provider {
	TERN_TR_ANY,
	TERN_TR_AUTHCODE, /* QQ, Tencent Exmail, 126, 163, yeah: 授权码 */
	TERN_TR_GMAIL,
	TERN_TR_MICROSOFT,
};

static const struct {
	const char *name; /* a preset, or a domain the host is in */
	enum tern_tr_provider p;
} tern_tr_providers[] = {
	{ "qq", TERN_TR_AUTHCODE },
	{ "exmail.qq", TERN_TR_AUTHCODE },
	{ "qq.com", TERN_TR_AUTHCODE },
	{ "126", TERN_TR_AUTHCODE },
	{ "126.com", TERN_TR_AUTHCODE },
	{ "163", TERN_TR_AUTHCODE },
	{ "163.com", TERN_TR_AUTHCODE },
	{ "yeah", TERN_TR_AUTHCODE },
	{ "yeah.net", TERN_TR_AUTHCODE },
	{ "gmail", TERN_TR_GMAIL },
	{ "gmail.com", TERN_TR_GMAIL },
	{ "googlemail.com", TERN_TR_GMAIL },
	{ "office365", TERN_TR_MICROSOFT },
	{ "outlook", TERN_TR_MICROSOFT },
	{ "office365.com", TERN_TR_MICROSOFT },
	{ "outlook.com", TERN_TR_MICROSOFT },
	{ "hotmail.com", TERN_TR_MICROSOFT },
	{ "live.com", TERN_TR_MICROSOFT },
};

/* host is domain or inside it ("smtp.qq.com" in "qq.com"). */
static bool
tern_tr_in_domain(const char *host, const char *domain)
{
	size_t hl = strlen(host), dl = strlen(domain);

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (hl < dl || strncasecmp(host + hl - dl, domain, dl) != 0)
		return false;
	return hl == dl || host[hl - dl - 1] == '.';
}

static enum tern_tr_provider
tern_tr_provider(const struct config_relay *rc)
{
	size_t i, n = sizeof(tern_tr_providers) / sizeof(tern_tr_providers[0]);

	for (i = 0; rc->preset != NULL && i < n; i++)
		if (strcasecmp(rc->preset, tern_tr_providers[i].name) == 0)
			return tern_tr_providers[i].p;
	for (i = 0; rc->host != NULL && i < n; i++)
		if (strchr(tern_tr_providers[i].name, '.') != NULL &&
		    tern_tr_in_domain(rc->host, tern_tr_providers[i].name))
			return tern_tr_providers[i].p;
	return TERN_TR_ANY;
}

/* ---------------------------------------------------------------- symptoms */

/* Does text hold one of the '|'-separated words (case-insensitive)? */
static bool
tern_tr_says(const char *text, const char *words)
{
	char w[64];
	const char *p = words, *bar;
	size_t n;

	if (text == NULL)
		return false;
	while (*p != '\0') {
		bar = strchr(p, '|');
		n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n > 0 && n < sizeof(w)) {
			memcpy(w, p, n);
			w[n] = '\0';
			if (strcasestr(text, w) != NULL)
				return true;
		}
		p += n + (bar != NULL);
	}
	return false;
}

/* Error texts (smtpc's, OpenSSL's, strerror's) and what they mean, by
 * stage; the first match wins. */
static const struct {
	enum smtpc_stage stage;
	const char *words;
	enum tern_tr_symptom sym;
} tern_tr_texts[] = {
	{ SMTPC_STAGE_CONNECT, "refused", TERN_TR_CONN_REFUSED },
	{ SMTPC_STAGE_CONNECT, "timed out", TERN_TR_CONN_TIMEOUT },
	{ SMTPC_STAGE_CONNECT, "unreachable|no route", TERN_TR_CONN_UNREACH },
	{ SMTPC_STAGE_TLS, "local issuer|self-signed|self signed|"
	    "unable to get issuer|verify the first certificate|"
	    "invalid CA certificate", TERN_TR_TLS_UNTRUSTED },
	{ SMTPC_STAGE_TLS, "hostname mismatch|IP address mismatch",
	    TERN_TR_TLS_NAME },
	{ SMTPC_STAGE_TLS, "has expired", TERN_TR_TLS_EXPIRED },
	{ SMTPC_STAGE_TLS, "not yet valid", TERN_TR_TLS_NOT_YET_VALID },
	{ SMTPC_STAGE_TLS, "certificate verify failed",
	    TERN_TR_TLS_CERT_OTHER },
	{ SMTPC_STAGE_STARTTLS, "does not offer STARTTLS",
	    TERN_TR_NO_STARTTLS },
	{ SMTPC_STAGE_AUTH, "no password or token", TERN_TR_AUTH_NO_SECRET },
	{ SMTPC_STAGE_AUTH, "does not offer AUTH", TERN_TR_AUTH_NOT_OFFERED },
	{ SMTPC_STAGE_AUTH, "no usable AUTH", TERN_TR_AUTH_NO_MECH },
	{ SMTPC_STAGE_AUTH, "basic authentication is disabled|5.7.139|"
	    "SmtpClientAuthentication is disabled", TERN_TR_AUTH_BASIC_OFF },
};

static enum tern_tr_symptom
tern_tr_by_text(const struct tern_tr_facts *f, enum tern_tr_symptom dflt)
{
	size_t i;

	for (i = 0; i < sizeof(tern_tr_texts) / sizeof(tern_tr_texts[0]); i++)
		if (tern_tr_texts[i].stage == f->stage &&
		    (tern_tr_says(f->err, tern_tr_texts[i].words) ||
		    tern_tr_says(f->reply.text, tern_tr_texts[i].words)))
			return tern_tr_texts[i].sym;
	return dflt;
}

static enum tern_tr_symptom
tern_tr_classify_auth(const struct tern_tr_facts *f)
{
	int code = f->reply.code;

	if (tern_tr_says(f->err, "without TLS"))
		return !f->caps_starttls ? TERN_TR_AUTH_NO_TLS_AT_ALL :
		    f->caps_auth ? TERN_TR_AUTH_NEEDS_TLS :
		    TERN_TR_AUTH_AFTER_STARTTLS;
	if (code / 100 == 4)
		return TERN_TR_AUTH_TEMP;
	if (code == 535 || code == 534)
		return tern_tr_by_text(f, f->xoauth2 ?
		    TERN_TR_AUTH_TOKEN_REFUSED : TERN_TR_AUTH_REFUSED);
	return tern_tr_by_text(f, TERN_TR_AUTH_OTHER);
}

static enum tern_tr_symptom
tern_tr_classify_mail(const struct tern_tr_facts *f)
{
	const struct smtpc_reply *r = &f->reply;

	if (f->bad_sender)
		return TERN_TR_MAIL_BAD_SENDER;
	if (r->code / 100 == 4 || r->code == 0)
		return r->code == 0 ? TERN_TR_IO : TERN_TR_MAIL_TEMP;
	if (tern_tr_says(r->text, "authentication required|auth required|"
	    "must authenticate|not authenticated|authenticate first"))
		return TERN_TR_MAIL_AUTH_NEEDED;
	if (r->code == 553 || strncmp(r->status, "5.7.", 4) == 0 ||
	    tern_tr_says(r->text, "not owned|sender address rejected|"
	    "not allowed to send|authorized user|authenticated user|"
	    "must equal|same as|SendAsDenied|does not match"))
		return TERN_TR_MAIL_NOT_OWNER;
	return TERN_TR_MAIL_REFUSED;
}

static enum tern_tr_symptom
tern_tr_classify_greeting(const struct tern_tr_facts *f)
{
	if (f->reply.code == 421)
		return TERN_TR_GREET_BUSY;
	if (f->reply.code != 0)
		return TERN_TR_GREET_REFUSED;
	return f->probe == TERN_TR_PROBE_WORKED ? TERN_TR_GREET_TLS_PORT :
	    TERN_TR_GREET_NONE;
}

enum tern_tr_symptom
tern_tr_classify(const struct tern_tr_facts *f)
{
	if (f->dns_failed)
		return f->dns_badname ? TERN_TR_DNS_BADNAME :
		    f->dns_status == DNS_NXDOMAIN ? TERN_TR_DNS_NXDOMAIN :
		    f->dns_status == DNS_NODATA ? TERN_TR_DNS_NODATA :
		    TERN_TR_DNS_TEMPFAIL;
	switch (f->stage) {
	case SMTPC_STAGE_CONNECT:
		return tern_tr_by_text(f, TERN_TR_CONN_OTHER);
	case SMTPC_STAGE_TLS:
		if (f->probe == TERN_TR_PROBE_WORKED &&
		    f->rc->tls == CONFIG_TLS_IMPLICIT)
			return TERN_TR_TLS_ON_PLAIN_PORT;
		return tern_tr_by_text(f, TERN_TR_TLS_HANDSHAKE);
	case SMTPC_STAGE_GREETING:
		return tern_tr_classify_greeting(f);
	case SMTPC_STAGE_EHLO:
		return TERN_TR_EHLO_REFUSED;
	case SMTPC_STAGE_STARTTLS:
		return tern_tr_by_text(f, TERN_TR_STARTTLS_REFUSED);
	case SMTPC_STAGE_AUTH:
		return tern_tr_classify_auth(f);
	case SMTPC_STAGE_MAIL:
		return tern_tr_classify_mail(f);
	default:
		return TERN_TR_IO;
	}
}

/* ---------------------------------------------------------------- advice */

/*
 * The table: symptom (and provider) -> what is wrong: what to change.
 * In the text, {port}, {host}, {ip}, {timeout}, {names}, {issuer},
 * {expiry}, {offered}, {auth}, {account}, {sender} and {note} (the
 * preset's quirk) are replaced by the relay's values.  temp marks
 * trouble that passes by itself.
 */
static const struct {
	enum tern_tr_symptom sym;
	enum tern_tr_provider p;
	bool temp;
	const char *text;
} tern_tr_advice[] = {
	{ TERN_TR_DNS_NXDOMAIN, TERN_TR_ANY, false, "the host name {host} "
	    "does not exist (NXDOMAIN): correct host (or preset)" },
	{ TERN_TR_DNS_NODATA, TERN_TR_ANY, false, "{host} has no address "
	    "(A or AAAA) record: correct host" },
	{ TERN_TR_DNS_TEMPFAIL, TERN_TR_ANY, true, "the DNS servers gave no "
	    "answer for {host}: check dns_servers and that they are "
	    "reachable, then try again" },
	{ TERN_TR_DNS_BADNAME, TERN_TR_ANY, false, "{host} is not a valid "
	    "host name: correct host" },
	{ TERN_TR_CONN_REFUSED, TERN_TR_ANY, false, "nothing accepts "
	    "connections on {ip} port {port}: check host and port "
	    "(submission is 587 with tls = starttls, or 465 with "
	    "tls = implicit)" },
	{ TERN_TR_CONN_TIMEOUT, TERN_TR_ANY, false, "no answer from {ip} "
	    "port {port} within {timeout} s: a firewall drops the "
	    "connection (outgoing port {port} blocked here or by the hosting "
	    "provider?), or the port is wrong" },
	{ TERN_TR_CONN_UNREACH, TERN_TR_ANY, false, "{ip} cannot be reached "
	    "from this host: check the network route, or use an address "
	    "this host can reach" },
	{ TERN_TR_CONN_OTHER, TERN_TR_ANY, false, "cannot connect to {ip} "
	    "port {port}: check host and port" },
	{ TERN_TR_TLS_ON_PLAIN_PORT, TERN_TR_ANY, false, "port {port} speaks "
	    "plain SMTP first (STARTTLS): set tls = starttls" },
	{ TERN_TR_TLS_UNTRUSTED, TERN_TR_ANY, false, "the certificate of "
	    "{host} is issued by {issuer}, which this system does not "
	    "trust: add that CA with tls_ca_file = /path/to/ca.pem" },
	{ TERN_TR_TLS_NAME, TERN_TR_ANY, false, "the certificate is for "
	    "{names}, not {host}: set host to one of those names" },
	{ TERN_TR_TLS_EXPIRED, TERN_TR_ANY, false, "the server's certificate "
	    "expired on {expiry}: the provider must renew it (tern will not "
	    "send through it until then)" },
	{ TERN_TR_TLS_NOT_YET_VALID, TERN_TR_ANY, false, "the server's "
	    "certificate is not valid yet: check this host's clock" },
	{ TERN_TR_TLS_CERT_OTHER, TERN_TR_ANY, false, "the server's "
	    "certificate was refused: ask the provider, or add its CA with "
	    "tls_ca_file" },
	{ TERN_TR_TLS_HANDSHAKE, TERN_TR_ANY, false, "the TLS handshake "
	    "failed: check that port {port} is the provider's TLS port "
	    "(465 with tls = implicit, 587 with tls = starttls); tern needs "
	    "TLS 1.2 or newer" },
	{ TERN_TR_GREET_TLS_PORT, TERN_TR_ANY, false, "port {port} expects "
	    "implicit TLS: set tls = implicit" },
	{ TERN_TR_GREET_NONE, TERN_TR_ANY, false, "no SMTP greeting from {ip} "
	    "port {port}: this may not be a mail port; check port and tls" },
	{ TERN_TR_GREET_BUSY, TERN_TR_ANY, true, "the server is busy or "
	    "limiting connections from this host: wait and try again; if it "
	    "persists, lower max_per_hour or ask the provider" },
	{ TERN_TR_GREET_REFUSED, TERN_TR_ANY, false, "the server refuses to "
	    "talk to this host (its IP address may be on a block list or "
	    "not allowed by the provider): ask the provider, or send "
	    "through another relay" },
	{ TERN_TR_EHLO_REFUSED, TERN_TR_ANY, false, "the server refused our "
	    "EHLO name: set hostname to this host's fully qualified name" },
	{ TERN_TR_NO_STARTTLS, TERN_TR_ANY, false, "the server does not "
	    "offer STARTTLS, so mail and password would cross the network "
	    "in clear text: use the provider's TLS port (587 with tls = "
	    "starttls, or 465 with tls = implicit)" },
	{ TERN_TR_STARTTLS_REFUSED, TERN_TR_ANY, false, "the server refused "
	    "STARTTLS: try the provider's implicit TLS port (465 with "
	    "tls = implicit)" },
	{ TERN_TR_AUTH_AFTER_STARTTLS, TERN_TR_ANY, false, "the server offers "
	    "AUTH only after STARTTLS: set tls = starttls" },
	{ TERN_TR_AUTH_NEEDS_TLS, TERN_TR_ANY, false, "tern never sends a "
	    "password without TLS, and the server offers STARTTLS: set "
	    "tls = starttls" },
	{ TERN_TR_AUTH_NO_TLS_AT_ALL, TERN_TR_ANY, false, "port {port} offers "
	    "no TLS and tern never sends a password in clear text: use the "
	    "provider's TLS port (587 with tls = starttls, or 465 with "
	    "tls = implicit)" },
	{ TERN_TR_AUTH_NO_SECRET, TERN_TR_ANY, false, "there is nothing to "
	    "log in with: put the password in password_file (or, for auth = "
	    "xoauth2, make oauth2_token_command print a token)" },
	{ TERN_TR_AUTH_NOT_OFFERED, TERN_TR_ANY, false, "the server does not "
	    "offer AUTH here: remove username if it relays for this host "
	    "without a login, else use the provider's submission port" },
	{ TERN_TR_AUTH_NO_MECH, TERN_TR_ANY, false, "the server offers AUTH "
	    "{offered}, none of which fits auth = {auth}: set auth = auto or "
	    "one of those (tern has PLAIN, LOGIN, CRAM-MD5 and XOAUTH2)" },
	{ TERN_TR_AUTH_REFUSED, TERN_TR_AUTHCODE, false, "the login was "
	    "refused: use the authorization code (授权码) generated in the "
	    "mailbox settings, not the login password (put it in "
	    "password_file)" },
	{ TERN_TR_AUTH_REFUSED, TERN_TR_GMAIL, false, "the login was refused: "
	    "use an app password (2-Step Verification) or OAuth2 "
	    "(auth = xoauth2)" },
	{ TERN_TR_AUTH_REFUSED, TERN_TR_MICROSOFT, false, "the login was "
	    "refused: check username and password_file; where basic "
	    "authentication is disabled for the tenant, use OAuth2 "
	    "(auth = xoauth2)" },
	{ TERN_TR_AUTH_REFUSED, TERN_TR_ANY, false, "the login was refused: "
	    "check username and the password in password_file{note}" },
	{ TERN_TR_AUTH_BASIC_OFF, TERN_TR_ANY, false, "basic authentication "
	    "is disabled for this tenant; use OAuth2 (auth = xoauth2)" },
	{ TERN_TR_AUTH_TOKEN_REFUSED, TERN_TR_ANY, false, "the OAuth2 token "
	    "was refused: check that it is current and for {account}, with "
	    "the provider's SMTP scope" },
	{ TERN_TR_AUTH_TEMP, TERN_TR_ANY, true, "the server could not check "
	    "the login just now: try again later" },
	{ TERN_TR_AUTH_OTHER, TERN_TR_ANY, false, "the server refused AUTH: "
	    "see its reply above; check auth, username and password_file" },
	{ TERN_TR_MAIL_NOT_OWNER, TERN_TR_ANY, false, "the provider only "
	    "accepts the account's own address as sender: set from = "
	    "{account}" },
	{ TERN_TR_MAIL_AUTH_NEEDED, TERN_TR_ANY, false, "the server wants a "
	    "login before it takes mail: set username and password_file" },
	{ TERN_TR_MAIL_TEMP, TERN_TR_ANY, true, "the server deferred the "
	    "sender (greylisting, a rate limit or a quota): try again "
	    "later; if it persists, lower max_per_hour" },
	{ TERN_TR_MAIL_REFUSED, TERN_TR_ANY, false, "the server refused the "
	    "sender <{sender}>: set from to an address the provider accepts "
	    "for this account" },
	{ TERN_TR_MAIL_BAD_SENDER, TERN_TR_ANY, false, "<{sender}> cannot be "
	    "used as a sender: set from to a valid address" },
	{ TERN_TR_IO, TERN_TR_ANY, true, "the connection broke off: try "
	    "again; if it keeps happening, look for a firewall or proxy that "
	    "cuts SMTP sessions" },
};

/* The value of placeholder name (without braces), or NULL. */
static const char *
tern_tr_value(const struct tern_tr_facts *f, const char *name,
    char *tmp, size_t tmplen)
{
	const struct config_relay *rc = f->rc;
	const struct relay_preset *pre;

	if (strcmp(name, "port") == 0) {
		snprintf(tmp, tmplen, "%u", (unsigned)rc->port);
		return tmp;
	}
	if (strcmp(name, "timeout") == 0) {
		snprintf(tmp, tmplen, "%u", f->timeout);
		return tmp;
	}
	if (strcmp(name, "host") == 0)
		return rc->host;
	if (strcmp(name, "ip") == 0)
		return f->ip != NULL && f->ip[0] != '\0' ? f->ip : rc->host;
	if (strcmp(name, "names") == 0)
		return f->cert.names[0] ? f->cert.names : "other names";
	if (strcmp(name, "issuer") == 0)
		return f->cert.issuer[0] ? f->cert.issuer : "an unknown CA";
	if (strcmp(name, "expiry") == 0)
		return f->cert.not_after[0] ? f->cert.not_after : "(unknown)";
	if (strcmp(name, "offered") == 0)
		return f->auth_offered != NULL && f->auth_offered[0] ?
		    f->auth_offered : "(none)";
	if (strcmp(name, "auth") == 0)
		return tern_tr_auth_name(rc->auth);
	if (strcmp(name, "account") == 0)
		return rc->username != NULL && strchr(rc->username, '@') ?
		    rc->username : "the account's own address";
	if (strcmp(name, "sender") == 0)
		return f->sender != NULL ? f->sender : "";
	if (strcmp(name, "note") == 0) {
		/* A refused login: the preset's advice on what goes in
		 * username and password_file. */
		pre = rc->preset != NULL ? relay_preset_find(rc->preset) : NULL;
		if (pre == NULL || pre->auth_hint == NULL)
			return "";
		snprintf(tmp, tmplen, " (%s: %s)", pre->name, pre->auth_hint);
		return tmp;
	}
	return NULL;
}

/* Copy text to out, replacing the placeholders. */
static void
tern_tr_expand(const struct tern_tr_facts *f, const char *text, char *out,
    size_t outlen)
{
	char name[16], tmp[512];
	const char *p, *end, *v;
	size_t n = 0;

	out[0] = '\0';
	for (p = text; *p != '\0' && n + 1 < outlen; p++) {
		v = NULL;
		if (*p == '{' && (end = strchr(p, '}')) != NULL &&
		    (size_t)(end - p - 1) < sizeof(name)) {
			memcpy(name, p + 1, (size_t)(end - p - 1));
			name[end - p - 1] = '\0';
			v = tern_tr_value(f, name, tmp, sizeof(tmp));
		}
		if (v == NULL) {
			out[n++] = *p;
			out[n] = '\0';
			continue;
		}
		n += str_lcpy(out + n, v, outlen - n);
		if (n >= outlen)
			n = outlen - 1;
		p = end;
	}
}

bool
tern_tr_diagnose(const struct tern_tr_facts *f, enum tern_tr_symptom sym,
    char *out, size_t outlen)
{
	enum tern_tr_provider prov = tern_tr_provider(f->rc);
	size_t i, n = sizeof(tern_tr_advice) / sizeof(tern_tr_advice[0]);
	size_t any = n;

	/* The provider's own row, else the general one. */
	for (i = 0; i < n; i++) {
		if (tern_tr_advice[i].sym != sym)
			continue;
		if (tern_tr_advice[i].p == prov)
			break;
		if (tern_tr_advice[i].p == TERN_TR_ANY && any == n)
			any = i;
	}
	if (i == n)
		i = any;
	if (i == n) {
		snprintf(out, outlen, "%s", f->err != NULL ? f->err : "failed");
		return false;
	}
	tern_tr_expand(f, tern_tr_advice[i].text, out, outlen);
	return tern_tr_advice[i].temp;
}

const char *
tern_tr_tls_name(int tls)
{
	static const char *const names[] = { "starttls", "implicit",
		"opportunistic", "none" };

	return tls >= 0 && tls < 4 ? names[tls] : "?";
}

const char *
tern_tr_auth_name(int auth)
{
	static const char *const names[] = { "auto", "plain", "login",
		"cram-md5", "xoauth2", "none" };

	return auth >= 0 && auth < 6 ? names[auth] : "?";
}
