/*
 * proxy_proto: parse a PROXY protocol v1 or v2 header (see
 * proxy_proto.h).
 *
 * The parser is called again with more bytes each time the connection
 * delivers some, so it must answer "need more" (0) for every proper
 * prefix of a valid header and decide (-1) as soon as the bytes can no
 * longer become one: a client that is not a proxy is dropped after its
 * first packet, not after a timeout.  It never reads past len, never
 * keeps state between calls and never echoes the peer's bytes in an
 * error message (they end up in the log).
 *
 * v1 is strict, as the specification asks of receivers: single spaces,
 * canonical addresses of the announced family, ports without leading
 * zeroes, CRLF within 107 bytes.  After "PROXY UNKNOWN" anything up to
 * CRLF is ignored.  v2: version 2, command LOCAL or PROXY, one of the
 * seven defined family/transport bytes, a length that covers the
 * address block and stays within PROXY_PROTO_V2_MAX.  LOCAL, UNSPEC,
 * AF_UNIX and datagram headers all mean "keep the connection's own
 * addresses": the specification lets a receiver ignore what it cannot
 * use, and a UNIX path or a UDP peer is no client address for SMTP.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "proxy_proto.h"

#define PROXY_PROTO_V2_HDR 16
#define PROXY_PROTO_V1_FIELDS 4 /* src dst sport dport */

static const unsigned char proxy_proto_sig[12] = {
	'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'
};

/* The starts a valid v1 line can have, up to where it forks. */
static const char *const proxy_proto_v1_starts[] = {
	"PROXY TCP4 ", "PROXY TCP6 ", "PROXY UNKNOWN"
};

static size_t
proxy_proto_min(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void
proxy_proto_set(struct sockaddr_storage *ss, int family, const void *addr,
    const unsigned char *port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, addr, 4);
		memcpy(&sin.sin_port, port, 2);
		memcpy(ss, &sin, sizeof(sin));
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, addr, 16);
		memcpy(&sin6.sin6_port, port, 2);
		memcpy(ss, &sin6, sizeof(sin6));
	}
}

/* ------------------------------------------------------------------ v1 */

/* A decimal port: 0..65535, no leading zero, digits only.  Writes it
 * in network byte order. */
static int
proxy_proto_v1_port(const char *s, size_t n, unsigned char *port)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	port[0] = (unsigned char)(v >> 8);
	port[1] = (unsigned char)(v & 0xff);
	return 0;
}

static int
proxy_proto_v1_addr(int family, const char *s, size_t n, unsigned char *a)
{
	char buf[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(buf) || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(family, buf, a) == 1 ? 0 : -1;
}

/* Split s[0..n) at single spaces into exactly PROXY_PROTO_V1_FIELDS
 * non-empty fields. */
static int
proxy_proto_v1_split(const char *s, size_t n, const char **f, size_t *flen)
{
	const char *end = s + n, *sp;
	int i;

	for (i = 0; i < PROXY_PROTO_V1_FIELDS; i++) {
		sp = memchr(s, ' ', (size_t)(end - s));
		if (sp == NULL)
			sp = end;
		if (sp == s || (sp == end) != (i == PROXY_PROTO_V1_FIELDS - 1))
			return -1;
		f[i] = s;
		flen[i] = (size_t)(sp - s);
		s = sp < end ? sp + 1 : end;
	}
	return 0;
}

/* Parse a complete v1 line, CRLF excluded. */
static int
proxy_proto_v1_line(const char *line, size_t n,
    struct proxy_proto_result *out, struct errbuf *eb)
{
	unsigned char src[16], dst[16], sport[2], dport[2];
	const char *f[PROXY_PROTO_V1_FIELDS];
	size_t flen[PROXY_PROTO_V1_FIELDS];
	int family;

	if (n >= 13 && memcmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (n == 13 || line[13] == ' ')) {
		out->local = 1;
		return 0;
	}
	if (n < 11 || memcmp(line, "PROXY TCP", 9) != 0 ||
	    (line[9] != '4' && line[9] != '6') || line[10] != ' ')
		return errbuf_set(eb, "PROXY v1: unknown protocol");
	family = line[9] == '4' ? AF_INET : AF_INET6;
	if (proxy_proto_v1_split(line + 11, n - 11, f, flen) == -1)
		return errbuf_set(eb, "PROXY v1: expected four fields "
		    "separated by single spaces");
	if (proxy_proto_v1_addr(family, f[0], flen[0], src) == -1 ||
	    proxy_proto_v1_addr(family, f[1], flen[1], dst) == -1)
		return errbuf_set(eb, "PROXY v1: bad %s address",
		    family == AF_INET ? "TCP4" : "TCP6");
	if (proxy_proto_v1_port(f[2], flen[2], sport) == -1 ||
	    proxy_proto_v1_port(f[3], flen[3], dport) == -1)
		return errbuf_set(eb, "PROXY v1: bad port");
	proxy_proto_set(&out->src, family, src, sport);
	proxy_proto_set(&out->dst, family, dst, dport);
	return 0;
}

static long
proxy_proto_v1(const unsigned char *d, size_t len,
    struct proxy_proto_result *out, struct errbuf *eb)
{
	size_t n = proxy_proto_min(len, PROXY_PROTO_V1_MAX), i, k, m;

	for (k = 0; k < 3; k++) {
		m = proxy_proto_min(n, strlen(proxy_proto_v1_starts[k]));
		if (memcmp(d, proxy_proto_v1_starts[k], m) == 0)
			break;
	}
	if (k == 3)
		return errbuf_set(eb, "not a PROXY protocol header");
	/* The line ends at the first CR or LF, which must be a CRLF. */
	for (i = 0; i < n && d[i] != '\r' && d[i] != '\n'; i++)
		;
	if (i == n)
		return len >= PROXY_PROTO_V1_MAX ? errbuf_set(eb, "PROXY v1: "
		    "no CRLF within %d bytes", PROXY_PROTO_V1_MAX) : 0;
	if (d[i] == '\n' || (i + 1 < n && d[i + 1] != '\n'))
		return errbuf_set(eb, "PROXY v1: line not ended by CRLF");
	if (i + 1 == n)
		return len >= PROXY_PROTO_V1_MAX ? errbuf_set(eb, "PROXY v1: "
		    "no CRLF within %d bytes", PROXY_PROTO_V1_MAX) : 0;
	if (proxy_proto_v1_line((const char *)d, i, out, eb) == -1)
		return -1;
	return (long)(i + 2);
}

/* ------------------------------------------------------------------ v2 */

/* Size of the address block for a family/transport byte, or -1 when
 * the byte is not one of those the specification defines. */
static int
proxy_proto_v2_block(unsigned fam)
{
	switch (fam) {
	case 0x00:
		return 0;
	case 0x11:
	case 0x12:
		return 12;
	case 0x21:
	case 0x22:
		return 36;
	case 0x31:
	case 0x32:
		return 216;
	default:
		return -1;
	}
}

/* Check the fixed 16 bytes as far as they have arrived.  Returns 1
 * when all 16 are there and valid, 0 when more are needed, -1. */
static int
proxy_proto_v2_fixed(const unsigned char *d, size_t len, struct errbuf *eb)
{
	size_t blen;
	int need;

	if (memcmp(d, proxy_proto_sig, proxy_proto_min(len, 12)) != 0)
		return errbuf_set(eb, "not a PROXY protocol header");
	if (len < 13)
		return 0;
	if ((d[12] >> 4) != 2)
		return errbuf_set(eb, "PROXY v2: unsupported version %u",
		    (unsigned)(d[12] >> 4));
	if ((d[12] & 0x0f) > 1)
		return errbuf_set(eb, "PROXY v2: unknown command %u",
		    (unsigned)(d[12] & 0x0f));
	if (len < 14)
		return 0;
	/* LOCAL ignores the family, whatever it says. */
	need = (d[12] & 0x0f) == 0 ? 0 : proxy_proto_v2_block(d[13]);
	if (need == -1)
		return errbuf_set(eb, "PROXY v2: unknown address family "
		    "0x%02x", (unsigned)d[13]);
	if (len < PROXY_PROTO_V2_HDR)
		return 0;
	blen = (size_t)d[14] << 8 | d[15];
	if (blen > PROXY_PROTO_V2_MAX - PROXY_PROTO_V2_HDR)
		return errbuf_set(eb, "PROXY v2: header of %zu bytes is too "
		    "long (limit %d)", blen + PROXY_PROTO_V2_HDR,
		    PROXY_PROTO_V2_MAX);
	if (blen < (size_t)need)
		return errbuf_set(eb, "PROXY v2: %zu bytes are too few for "
		    "the address family 0x%02x", blen, (unsigned)d[13]);
	return 1;
}

static long
proxy_proto_v2(const unsigned char *d, size_t len,
    struct proxy_proto_result *out, struct errbuf *eb)
{
	const unsigned char *a = d + PROXY_PROTO_V2_HDR;
	size_t total;
	int rc;

	if ((rc = proxy_proto_v2_fixed(d, len, eb)) <= 0)
		return rc;
	total = PROXY_PROTO_V2_HDR + ((size_t)d[14] << 8 | d[15]);
	if (len < total)
		return 0;
	/* Whatever follows the address block is TLVs: skipped. */
	if ((d[12] & 0x0f) == 0 || (d[13] != 0x11 && d[13] != 0x21)) {
		out->local = 1;
	} else if (d[13] == 0x11) {
		proxy_proto_set(&out->src, AF_INET, a, a + 8);
		proxy_proto_set(&out->dst, AF_INET, a + 4, a + 10);
	} else {
		proxy_proto_set(&out->src, AF_INET6, a, a + 32);
		proxy_proto_set(&out->dst, AF_INET6, a + 16, a + 34);
	}
	return (long)total;
}

long
proxy_proto_parse(const unsigned char *data, size_t len,
    struct proxy_proto_result *out, struct errbuf *eb)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return 0;
	if (data[0] == 'P')
		return proxy_proto_v1(data, len, out, eb);
	if (data[0] == '\r')
		return proxy_proto_v2(data, len, out, eb);
	return errbuf_set(eb, "not a PROXY protocol header");
}
