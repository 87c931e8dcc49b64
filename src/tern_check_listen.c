/*
 * tern_check_listen: the [listen] cross-checks — who may send mail on
 * without AUTH (an open relay is an error), the users file, and the
 * certificate and key: present, private, a pair, not expired.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cidr.h"
#include "tern_check_int.h"

/* A certificate that expires sooner than this is worth a warning. */
#define TERN_CHECK_CERT_SOON (14 * 86400)

static void
tern_check_cidr_text(const struct cidr *n, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (inet_ntop(n->family, n->addr, ip, sizeof(ip)) == NULL)
		ip[0] = '\0';
	snprintf(out, len, "%s/%u", ip, n->prefix);
}

/*
 * The networks that may send on without AUTH.  With auth = required
 * they do not matter (every client must log in).  Otherwise /0 lets
 * anyone on the Internet send through tern — an open relay, an error —
 * and a network wider than a /8 (IPv4) or /7 (IPv6: fc00::/7 holds all
 * unique local addresses) is most likely a typo for a LAN, worth a
 * warning.
 */
static void
tern_check_networks(struct tern_check *c, const struct config_listen *l,
    const char *sect)
{
	struct cidr_list nets;
	struct errbuf eb;
	char text[80];
	size_t i;
	unsigned wide;

	if (l->auth == CONFIG_LAUTH_REQUIRED || l->networks == NULL ||
	    cidr_list_parse(l->networks, &nets, &eb) < 0)
		return;
	for (i = 0; i < nets.n; i++) {
		tern_check_cidr_text(&nets.v[i], text, sizeof(text));
		wide = nets.v[i].family == AF_INET ? 8 : 7;
		if (nets.v[i].prefix == 0)
			tern_check_say(c, l->line, TERN_CHECK_ERROR, "%s: "
			    "networks holds %s, so anyone may send mail "
			    "through this listener without AUTH (an open "
			    "relay): list only your own networks (e.g. "
			    "192.168.1.0/24), or set auth = required", sect,
			    text);
		else if (nets.v[i].prefix < wide)
			tern_check_say(c, l->line, TERN_CHECK_WARN, "%s: "
			    "networks holds %s, far wider than a LAN; every "
			    "host in it may send mail through tern without "
			    "AUTH: list only your own networks", sect, text);
	}
	cidr_list_free(&nets);
}

/* "expired on" / "expires on" DATE for a certificate's notAfter. */
static void
tern_check_cert_dates(struct tern_check *c, const struct config_listen *l,
    const char *sect, X509 *x)
{
	const ASN1_TIME *end = X509_get0_notAfter(x);
	time_t soon = time(NULL) + TERN_CHECK_CERT_SOON;
	struct tm tm;
	char date[32] = "?";

	if (ASN1_TIME_to_tm(end, &tm) == 1)
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	if (X509_cmp_current_time(end) < 0)
		tern_check_say(c, l->line, TERN_CHECK_ERROR, "%s: "
		    "tls_cert_file %s expired on %s; clients will refuse it: "
		    "renew it", sect, l->tls_cert_file, date);
	else if (X509_cmp_time(end, &soon) < 0)
		tern_check_say(c, l->line, TERN_CHECK_WARN, "%s: tls_cert_file "
		    "%s expires on %s: renew it (and reload ternd)", sect,
		    l->tls_cert_file, date);
}

static void
tern_check_cert(struct tern_check *c, const struct config_listen *l,
    const char *sect, bool key_readable)
{
	EVP_PKEY *pk = NULL;
	X509 *x;
	FILE *f;

	if ((f = fopen(l->tls_cert_file, "r")) == NULL)
		return;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		tern_check_say(c, l->line, TERN_CHECK_ERROR, "%s: "
		    "tls_cert_file %s holds no PEM certificate", sect,
		    l->tls_cert_file);
		return;
	}
	tern_check_cert_dates(c, l, sect, x);
	if (key_readable && (f = fopen(l->tls_key_file, "r")) != NULL) {
		pk = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
		fclose(f);
		if (pk == NULL)
			tern_check_say(c, l->line, TERN_CHECK_ERROR, "%s: "
			    "tls_key_file %s holds no PEM private key (or it "
			    "is encrypted)", sect, l->tls_key_file);
		else if (X509_check_private_key(x, pk) != 1)
			tern_check_say(c, l->line, TERN_CHECK_ERROR, "%s: "
			    "tls_key_file %s is not the key of tls_cert_file "
			    "%s: name the key the certificate was made for",
			    sect, l->tls_key_file, l->tls_cert_file);
	}
	EVP_PKEY_free(pk);
	X509_free(x);
}

static void
tern_check_listen(struct tern_check *c, const struct config_listen *l)
{
	char sect[300];
	bool cert, key;

	snprintf(sect, sizeof(sect), "[listen %s]", l->name);
	tern_check_networks(c, l, sect);
	if (l->users_file != NULL && l->auth == CONFIG_LAUTH_NONE)
		tern_check_say(c, l->line, TERN_CHECK_WARN, "%s: users_file is "
		    "not used with auth = none: set auth = optional or "
		    "required, or remove it", sect);
	else if (l->users_file != NULL)
		tern_check_secret(c, l->line, sect, "users_file",
		    l->users_file, TERN_CHECK_BY_STARTER, false);
	if (l->tls == CONFIG_LTLS_NONE || l->tls_cert_file == NULL ||
	    l->tls_key_file == NULL)
		return;
	cert = tern_check_public(c, l->line, sect, "tls_cert_file",
	    l->tls_cert_file);
	key = tern_check_secret(c, l->line, sect, "tls_key_file",
	    l->tls_key_file, TERN_CHECK_BY_STARTER, false);
	if (cert)
		tern_check_cert(c, l, sect, key);
}

void
tern_check_listens(struct tern_check *c)
{
	size_t i;

	for (i = 0; i < c->cfg->nlistens; i++)
		tern_check_listen(c, &c->cfg->listens[i]);
}
