/*
 * smtpd_policy: the relay decision for one RCPT path (see
 * smtpd_policy.h).
 *
 * The path is split without trusting it: a local part (quoted or not,
 * unquoted into a bounded buffer) and the domain after the first '@'
 * outside quotes.  The tricks are looked for before the local-name
 * test, because each one dresses a remote address up as a local one,
 * and they are looked for even though tern itself would not honour
 * them: the next hop might.  A path too long for the buffer is never a
 * local name.  The reply quotes the path back, so it is clipped and
 * cleaned of control bytes and malformed UTF-8 first: it is client
 * input on its way to a reply line and to the log.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "smtpd_policy.h"
#include "str.h"

#define SMTPD_POLICY_LOCAL_MAX 512 /* unquoted local part */

struct smtpd_policy_path {
	char local[SMTPD_POLICY_LOCAL_MAX]; /* unquoted */
	int local_ok;       /* 0: too long or malformed, never local */
	int quoted_at;      /* a quoted local part holds '@' */
	int percent;        /* the local part holds '%' */
	int bang;           /* the local part holds '!' */
	const char *domain; /* after the '@', or NULL */
};

/* Copy the local part at s to p->local, unquoting a quoted string, and
 * note the tricks it plays (all of it, even past what fits).  Returns a
 * pointer to where it ends (the '@' or the NUL). */
static const char *
smtpd_policy_local(const char *s, struct smtpd_policy_path *p)
{
	size_t n = 0;
	int quoted = 0;

	p->local_ok = 1;
	for (; *s != '\0' && (quoted || *s != '@'); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		p->quoted_at |= quoted && *s == '@';
		p->percent |= *s == '%';
		p->bang |= *s == '!';
		if (n + 1 >= sizeof(p->local))
			p->local_ok = 0;
		else
			p->local[n++] = *s;
	}
	if (quoted)
		p->local_ok = 0;
	p->local[n] = '\0';
	return s;
}

static void
smtpd_policy_split(const char *addr, struct smtpd_policy_path *p)
{
	const char *end;

	memset(p, 0, sizeof(*p));
	end = smtpd_policy_local(addr, p);
	p->domain = *end == '@' ? end + 1 : NULL;
}

/* The reason for refusing a trick, or NULL when the path plays none. */
static const char *
smtpd_policy_trick(const char *addr, const struct smtpd_policy_path *p)
{
	size_t n;

	if (addr[0] == '@' && strchr(addr, ':') != NULL)
		return "source routes are not accepted";
	if (p->quoted_at)
		return "a quoted local part may not hold '@'";
	if (p->percent)
		return "the percent hack is not allowed";
	if (p->bang)
		return "bang paths are not allowed";
	if (p->domain == NULL)
		return NULL;
	n = strlen(p->domain);
	if (n > 0 && p->domain[n - 1] == '.')
		return "trailing dot in the domain";
	if (p->domain[0] == '[')
		return "IP address literals are not accepted";
	return NULL;
}

static bool
smtpd_policy_local_domain(const struct smtpd_policy *pol,
    const char *domain)
{
	size_t n;

	if (domain == NULL)
		return true;
	if ((n = strlen(domain)) == 0)
		return false;
	return (pol->hostname != NULL && strlen(pol->hostname) == n &&
	    str_ieq_n(pol->hostname, domain, n)) ||
	    (pol->origin != NULL && strlen(pol->origin) == n &&
	    str_ieq_n(pol->origin, domain, n));
}

static bool
smtpd_policy_local_name(const struct smtpd_policy *pol,
    const struct smtpd_policy_path *p)
{
	const char *const *values;

	if (!p->local_ok || p->local[0] == '\0' ||
	    !smtpd_policy_local_domain(pol, p->domain))
		return false;
	if (strlen(p->local) == 10 && str_ieq_n(p->local, "postmaster", 10))
		return true;
	return aliases_lookup(pol->aliases, p->local, &values) > 0;
}

void
smtpd_policy_quote(const char *addr, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)addr;
	size_t i = 0, o = 0, len = strlen(addr), k;

	if (size > SMTPD_POLICY_QUOTE_MAX + 1)
		size = SMTPD_POLICY_QUOTE_MAX + 1;
	while (i < len && o + 1 < size) {
		if (s[i] < 0x80) {
			out[o++] = s[i] < 0x20 || s[i] == 0x7f ? '?' :
			    (char)s[i];
			i++;
			continue;
		}
		if ((k = str_utf8_len(s + i, len - i)) == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + k + 1 > size)
			break;
		memcpy(out + o, s + i, k);
		o += k;
		i += k;
	}
	out[o] = '\0';
}

int
smtpd_policy_rcpt(const struct smtpd_policy *pol, bool may_relay,
    const char *addr, char *reply, size_t len)
{
	struct smtpd_policy_path p;
	char quoted[SMTPD_POLICY_QUOTE_MAX + 1];
	const char *reason;

	if (may_relay)
		return 0;
	if (addr == NULL)
		addr = "";
	smtpd_policy_split(addr, &p);
	reason = smtpd_policy_trick(addr, &p);
	if (reason == NULL && pol != NULL && smtpd_policy_local_name(pol, &p))
		return 0;
	if (reply == NULL || len == 0)
		return 554;
	smtpd_policy_quote(addr, quoted, sizeof(quoted));
	if (reason == NULL)
		snprintf(reply, len, "554 5.7.1 <%s>: Relay access denied",
		    quoted);
	else
		snprintf(reply, len, "554 5.7.1 <%s>: Relay access denied "
		    "(%s)", quoted, reason);
	return 554;
}
