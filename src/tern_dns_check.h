/*
 * tern_dns_check: the findings of "tern dns" (tern_dns.c) about a
 * sending domain, made from answers already in: its MX hosts and their
 * addresses, its SPF record (terms, "all", the lookup limit, the
 * include each relay needs, this host's addresses for delivery =
 * direct), its DKIM records (tags, the public key, its length, whether
 * it is the key ternd signs with) and its DMARC policy.
 *
 * Nothing here asks the DNS, reads a file or prints: every finding goes
 * to the caller's say function, one call a finding, in report order.
 * tern_dns_check.c has the MX, DKIM and DMARC checks and the record
 * text helpers; tern_dns_check_spf.c has SPF and the relay providers'
 * includes.  include: and redirect= are named but never followed.
 */
#ifndef TERN_TERN_DNS_CHECK_H
#define TERN_TERN_DNS_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "config.h"
#include "dns.h"
#include "errbuf.h"

/* The level of a finding; a report line starts with its name. */
enum tern_dns_check_level {
	TERN_DNS_CHECK_OK,
	TERN_DNS_CHECK_INFO,
	TERN_DNS_CHECK_WARNING,
	TERN_DNS_CHECK_ERROR,
	TERN_DNS_CHECK_UNKNOWN, /* a lookup failed: no verdict */
};
#define TERN_DNS_CHECK_LEVELS (TERN_DNS_CHECK_UNKNOWN + 1)

/* Receives one finding: printf's fmt and its arguments, no newline. */
typedef void (*tern_dns_check_say_fn)(void *arg,
    enum tern_dns_check_level level, const char *fmt, va_list ap);

/*
 * One lookup's answer.  On DNS_OK, n records of the type asked are in
 * txt (each a malloc'd string, the record's strings joined, NUL bytes
 * shown as '?'; truncated when longer than DNS_TXT_MAX - 1), mx or
 * addr; otherwise err says what failed.  An all-zero answer is DNS_OK
 * with no records.
 */
struct tern_dns_check_answer {
	enum dns_status st;
	char err[ERRBUF_SIZE];
	char *txt[DNS_ANSWER_MAX];
	bool truncated[DNS_ANSWER_MAX];
	struct dns_mx mx[DNS_ANSWER_MAX];
	struct dns_addr addr[DNS_ANSWER_MAX];
	size_t n;
};

/*
 * What every check reads: the config, the domain (lower case, no final
 * dot), where findings go, and the answers MX and SPF look at.  addr,
 * mx, host and mxaddr[0..mx->n) must not be NULL: mxaddr[i] holds the
 * addresses of mx->mx[i].host, host those of cfg->hostname (looked up
 * for delivery = direct only).
 */
struct tern_dns_check {
	const struct config *cfg;
	const char *domain;
	tern_dns_check_say_fn say;
	void *arg;
	const struct tern_dns_check_answer *addr; /* the domain's A/AAAA */
	const struct tern_dns_check_answer *mx;
	const struct tern_dns_check_answer *mxaddr[DNS_ANSWER_MAX];
	const struct tern_dns_check_answer *host;
};

/* The private key of a [dkim] section's key_file, read by the caller. */
struct tern_dns_check_key {
	EVP_PKEY *pkey; /* NULL: unreadable (err set) or no PEM key in it */
	int err;        /* errno of opening key_file, 0 when it was read */
};

/* One DKIM selector to check. */
struct tern_dns_check_selector {
	const char *name;
	const struct config_dkim *sec; /* the [dkim] signing with it, or NULL */
	/* sec's key_file read; NULL when sec or its key_file is NULL. */
	const struct tern_dns_check_key *key;
	const struct tern_dns_check_answer *txt; /* at NAME._domainkey.D */
};

/* A parent domain of the checked one, whose DMARC record applies when
 * the domain publishes none. */
struct tern_dns_check_parent {
	const char *name;
	const struct tern_dns_check_answer *txt; /* at _dmarc.NAME */
};

/* The MX records of c->domain (c->mx) and their addresses; without
 * MX, the domain's own address (c->addr). */
void tern_dns_check_mx(const struct tern_dns_check *c);

/*
 * The SPF record among the TXT records txt of c->domain: there must be
 * one, valid, ending in a strict "all", within RFC 7208's ten lookups,
 * including every relay's provider (delivery = relay) or allowing this
 * host's addresses (delivery = direct, c->host).
 */
void tern_dns_check_spf(const struct tern_dns_check *c,
    const struct tern_dns_check_answer *txt);

/*
 * The DKIM records of the n selectors sel, in turn: one record each,
 * valid tags, a usable key of a sound length, of the type and value of
 * the section's key_file.  n == 0 is itself a finding (no signing).
 */
void tern_dns_check_dkim(const struct tern_dns_check *c,
    const struct tern_dns_check_selector *sel, size_t n);

/*
 * The DMARC record of c->domain (txt, the TXT records at _dmarc.DOMAIN)
 * or, without one, that of the nearest of the n parents that has one:
 * its policy, sp=, pct= and rua=.
 */
void tern_dns_check_dmarc(const struct tern_dns_check *c,
    const struct tern_dns_check_answer *txt,
    const struct tern_dns_check_parent *parents, size_t n);

/*
 * The value of tag name in a "tag=value; tag=value" record (DKIM,
 * DMARC), tag names compared without case, white space around tags and
 * values dropped, cut to size - 1 bytes, into val.  Returns false when
 * the tag is absent.
 */
bool tern_dns_check_tag(const char *rec, const char *name, char *val,
    size_t size);

#endif
