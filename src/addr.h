/*
 * addr: RFC 5322 / RFC 6532 address parsing.
 *
 * Parses the address lists of To/Cc/Bcc/Resent-* header fields and the
 * addresses given on sendmail's command line into mailboxes whose
 * addr-spec can be used as an SMTP path.  Everything a header may hold
 * is understood: groups (including the empty "undisclosed-recipients:;"),
 * nested comments, quoted strings and quoted local parts, display names
 * with RFC 2047 encoded words (decoded to UTF-8), obsolete syntax (source
 * routes, which are dropped; empty list elements; CFWS around dots),
 * domain literals, folded (multi-line) field bodies, and UTF-8 in local
 * parts and domains (SMTPUTF8).  Input is untrusted: all lengths are
 * bounded and malformed UTF-8 or control characters are errors.
 */
#ifndef TERN_ADDR_H
#define TERN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "errbuf.h"

/* Longest addr-spec accepted (RFC 5321 allows 256 octets for a path). */
#define ADDR_MAX_LEN 998

struct addr {
	char *spec;    /* addr-spec for SMTP: local@domain, or local alone
			  when unqualified; the local part is quoted only when
			  it is not a dot-atom ("john doe"@example.com);
			  "" for the null sender <> */
	char *local;   /* local part, unquoted (john doe) */
	char *domain;  /* domain, or NULL when unqualified; domain literals
			  keep their brackets ([192.0.2.1]) */
	char *display; /* display name decoded to UTF-8, or NULL */
	bool utf8;     /* spec contains non-ASCII (needs SMTPUTF8) */
};

struct addr_list {
	struct addr *v;
	size_t n;
	size_t cap;
};

void addr_list_init(struct addr_list *l);
void addr_list_free(struct addr_list *l);
void addr_free(struct addr *a);

/*
 * Parse an RFC 5322 address-list (a header field body, possibly folded
 * with CRLF or LF) and append every mailbox to out; group members are
 * appended, group names are not.  An empty list or empty group is not
 * an error (nothing is appended).
 * Returns 0, or -1 with eb naming what is wrong and where
 * ("unterminated quoted string at offset 12").  On error, out holds
 * what was appended before the error; the caller frees it.
 */
int addr_parse_list(const char *text, size_t len, struct addr_list *out,
    struct errbuf *eb);

/*
 * Parse one address as given on sendmail's command line or with -f:
 * "user", "user@example.org", "<user@example.org>",
 * "Name <user@example.org>", "user@example.org (Comment)".
 * "<>" (and "" when allow_null) is the null sender, giving spec "".
 * A comma-separated list is an error here (the caller splits
 * command-line lists with addr_parse_list).
 * Returns 0, or -1 with eb set.
 */
int addr_parse_one(const char *text, bool allow_null, struct addr *out,
    struct errbuf *eb);

/*
 * Check that text is an addr-spec usable as an SMTP path (no display
 * name, no comments): local part dot-atom or quoted-string, domain
 * dot-atom (UTF-8 allowed) or domain literal.  Returns true when valid.
 */
bool addr_spec_valid(const char *text);

/*
 * Build an addr-spec from a local part and an optional domain, quoting
 * the local part when it is not a dot-atom.  Returns a malloc'd string
 * or NULL on allocation failure.
 */
char *addr_make_spec(const char *local, const char *domain);

#endif
