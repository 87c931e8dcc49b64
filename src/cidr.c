/*
 * cidr: parse network lists and match client addresses (see cidr.h).
 *
 * The module owns the array behind a struct cidr_list.  Invariants: it
 * holds at most CIDR_MAX networks; each network's host bits are zero
 * (so matching compares the prefix only); the unused tail of addr is
 * zero.  A network inside ::ffff:0:0/96 with a prefix of at least 96 is
 * stored as the IPv4 network it names, because clients reported as
 * IPv4-mapped addresses are matched as IPv4: "::ffff:10.0.0.0/104" and
 * "10.0.0.0/8" then mean the same thing, and an IPv6 network such as
 * ::/0 never takes in IPv4 clients by accident.
 *
 * Lists come from configuration files, so errors quote the bad element
 * (clipped) and say what would be valid.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

#define CIDR_MAX 1024      /* networks in one list */
#define CIDR_ELEM_MAX 64   /* an IPv6 address and "/128" fit easily */

static const uint8_t cidr_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static int
cidr_is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
	    c == '\f' || c == '\v';
}

/* Zero every bit past the prefix in a bits-long address. */
static void
cidr_clear_host(uint8_t *a, unsigned prefix, unsigned bits)
{
	unsigned k;

	for (k = 0; k < bits / 8; k++) {
		if (k * 8 >= prefix)
			a[k] = 0;
		else if ((k + 1) * 8 > prefix)
			a[k] &= (uint8_t)(0xff << (8 - (prefix - k * 8)));
	}
}

/* Store an IPv4-mapped IPv6 network as the IPv4 network it names. */
static void
cidr_unmap(struct cidr *c)
{
	if (c->family != AF_INET6 || c->prefix < 96 ||
	    memcmp(c->addr, cidr_mapped_prefix, 12) != 0)
		return;
	memmove(c->addr, c->addr + 12, 4);
	memset(c->addr + 4, 0, 12);
	c->family = AF_INET;
	c->prefix -= 96;
}

/* Parse the prefix length after the '/': decimal, no sign, no leading
 * zero, at most max. */
static int
cidr_parse_prefix(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 3)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
cidr_parse_one(const char *s, size_t n, struct cidr *c, struct errbuf *eb)
{
	char buf[CIDR_ELEM_MAX + 1];
	char *slash;
	unsigned max;

	if (n > CIDR_ELEM_MAX)
		return errbuf_set(eb, "network '%.*s...' is too long; write "
		    "an address or address/prefix", CIDR_ELEM_MAX, s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(c, 0, sizeof(*c));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash = '\0';
	c->family = strchr(buf, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(c->family, buf, c->addr) != 1)
		return errbuf_set(eb, "network '%.*s': not an IPv4 or IPv6 "
		    "address (write 192.0.2.0/24 or 2001:db8::/32)", (int)n,
		    s);
	max = c->family == AF_INET ? 32 : 128;
	c->prefix = max;
	if (slash != NULL && cidr_parse_prefix(slash + 1, max,
	    &c->prefix) == -1)
		return errbuf_set(eb, "network '%.*s': the prefix length "
		    "must be a number from 0 to %u", (int)n, s, max);
	cidr_clear_host(c->addr, c->prefix, max);
	cidr_unmap(c);
	return 0;
}

static int
cidr_list_add(struct cidr_list *l, const char *s, size_t n,
    struct errbuf *eb)
{
	struct cidr c, *v;

	if (cidr_parse_one(s, n, &c, eb) == -1)
		return -1;
	if (l->n == CIDR_MAX)
		return errbuf_set(eb, "too many networks (limit %d); use "
		    "shorter prefixes to cover them", CIDR_MAX);
	/* The capacity is n rounded up to a power of two (CIDR_MAX bounds
	 * it), so it is full exactly when n is 0 or a power of two. */
	if ((l->n & (l->n - 1)) == 0) {
		v = realloc(l->v, (l->n ? l->n * 2 : 1) * sizeof(*v));
		if (v == NULL)
			return errbuf_set(eb, "out of memory");
		l->v = v;
	}
	l->v[l->n++] = c;
	return 0;
}

/* Walk the elements: white space separates, and so does one comma with
 * optional white space around it.  A comma with no element before or
 * after it is an error: it is usually a typo that lost a network. */
static int
cidr_list_walk(const char *text, struct cidr_list *l, struct errbuf *eb)
{
	const char *p = text, *start;
	int comma = 0;

	for (;;) {
		while (cidr_is_space((unsigned char)*p))
			p++;
		if (*p == '\0' && !comma)
			return 0;
		if (*p == '\0' || *p == ',')
			return errbuf_set(eb, "empty element at offset %zu (a "
			    "stray comma?)", (size_t)(p - text));
		start = p;
		while (*p != '\0' && *p != ',' &&
		    !cidr_is_space((unsigned char)*p))
			p++;
		if (cidr_list_add(l, start, (size_t)(p - start), eb) == -1)
			return -1;
		while (cidr_is_space((unsigned char)*p))
			p++;
		if ((comma = *p == ',') != 0)
			p++;
	}
}

int
cidr_list_parse(const char *text, struct cidr_list *out, struct errbuf *eb)
{
	out->v = NULL;
	out->n = 0;
	if (text == NULL)
		return 0;
	if (cidr_list_walk(text, out, eb) == -1) {
		cidr_list_free(out);
		return -1;
	}
	return 0;
}

void
cidr_list_free(struct cidr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static bool
cidr_contains(const struct cidr *c, int family, const uint8_t *a)
{
	unsigned full = c->prefix / 8, rem = c->prefix % 8;
	uint8_t mask;

	if (c->family != family || memcmp(c->addr, a, full) != 0)
		return false;
	if (rem == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rem));
	return (a[full] & mask) == c->addr[full];
}

/* Reduce sa to a family and address bytes; a mapped IPv6 address
 * becomes the IPv4 address it carries.  Returns -1 for other families. */
static int
cidr_client(const struct sockaddr *sa, int *family, uint8_t *a)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		memcpy(a, &sin.sin_addr, 4);
		*family = AF_INET;
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	memcpy(&sin6, sa, sizeof(sin6));
	if (memcmp(&sin6.sin6_addr, cidr_mapped_prefix, 12) == 0) {
		memcpy(a, (const uint8_t *)&sin6.sin6_addr + 12, 4);
		*family = AF_INET;
	} else {
		memcpy(a, &sin6.sin6_addr, 16);
		*family = AF_INET6;
	}
	return 0;
}

bool
cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa)
{
	uint8_t a[16];
	int family;
	size_t i;

	if (l == NULL || sa == NULL || cidr_client(sa, &family, a) == -1)
		return false;
	for (i = 0; i < l->n; i++)
		if (cidr_contains(&l->v[i], family, a))
			return true;
	return false;
}
