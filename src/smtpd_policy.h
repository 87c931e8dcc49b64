/*
 * smtpd_policy: may this recipient be accepted from this SMTP client?
 *
 * tern delivers nothing locally: every recipient is relayed.  So a
 * client may relay only when it is trusted (its address is in the
 * listener's networks, or it is the local user of sendmail -bs) or has
 * authenticated.  Anyone else may write to local names only: postmaster
 * (RFC 5321 4.5.1 requires it) and names the aliases file knows, given
 * bare or at the hostname or origin domain.  Everything else gets
 * 554 5.7.1, and so do the classic tricks that make a local-looking
 * address relay elsewhere, each with its own reason: the percent hack
 * (user%remote@local), bang paths (remote!user@local), quoted local
 * parts holding '@' ("user@remote"@local), source routes
 * (@local:user@remote), a trailing dot in the domain and IP literals
 * ([192.0.2.1]).  Pure: no I/O.
 */
#ifndef TERN_SMTPD_POLICY_H
#define TERN_SMTPD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "aliases.h"

struct smtpd_policy {
	const char *hostname;
	const char *origin;
	const struct aliases *aliases; /* may be NULL */
};

/*
 * Decide on the RCPT path addr (as given between < and >, source route
 * included, not yet normalised).  may_relay: trusted or authenticated.
 * Returns 0 to accept, or the SMTP reply code (554) with reply set to
 * the full reply line without CRLF, e.g. "554 5.7.1 <a%b@c>: Relay
 * access denied (the percent hack is not allowed)".
 */
int smtpd_policy_rcpt(const struct smtpd_policy *pol, bool may_relay,
    const char *addr, char *reply, size_t len);

/* Most bytes of client text (a path, a parameter name) quoted back in
 * a reply, so that a reply line stays within RFC 5321's 512 octets. */
#define SMTPD_POLICY_QUOTE_MAX 256

/* Copy client text s for quoting in a reply into out (size bytes, at
 * most SMTPD_POLICY_QUOTE_MAX + 1 used): cut on a character boundary,
 * control bytes and malformed UTF-8 replaced by '?'. */
void smtpd_policy_quote(const char *s, char *out, size_t size);

#endif
