/*
 * Unit tests for proxy_proto: valid v1 and v2 headers, every rejection,
 * every truncation of a valid header (always "need more", never an
 * error), and random bytes.  Inputs are copied into heap blocks of
 * exactly their length, so a sanitizer build catches any read past len.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#include "proxy_proto.h"

#define PROXY_PROTO_TEST_TXT(s) (const unsigned char *)(s), sizeof(s) - 1
#define PROXY_PROTO_TEST_STR(s) (const unsigned char *)(s), strlen(s)
#define PROXY_PROTO_TEST_N(a) (sizeof(a) / sizeof((a)[0]))
#define PROXY_PROTO_TEST_SIG "\r\n\r\n\0\r\nQUIT\n"

struct proxy_proto_test_v1 {
	const char *line;
	const char *msg;   /* error wanted, or NULL */
};

/* Parse a copy of data[0..len) held in a block of exactly len bytes. */
static long
proxy_proto_test_run(const unsigned char *data, size_t len,
    struct proxy_proto_result *out, struct errbuf *eb)
{
	unsigned char *copy;
	long rc;

	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len > 0)
		memcpy(copy, data, len);
	errbuf_clear(eb);
	rc = proxy_proto_parse(copy, len, out, eb);
	free(copy);
	return rc;
}

static long
proxy_proto_test_str(const char *s, struct proxy_proto_result *out,
    struct errbuf *eb)
{
	return proxy_proto_test_run(PROXY_PROTO_TEST_STR(s), out, eb);
}

/* Check ss holds addr (text) and port. */
static void
proxy_proto_test_addr(const struct sockaddr_storage *ss, const char *addr,
    unsigned port)
{
	char host[INET6_ADDRSTRLEN], serv[8];

	assert_true(ss->ss_family == AF_INET || ss->ss_family == AF_INET6);
	assert_int_equal(getnameinfo((const struct sockaddr *)ss,
	    ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6), host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV), 0);
	assert_string_equal(host, addr);
	assert_int_equal(strtoul(serv, NULL, 10), port);
}

/* Every proper prefix needs more; the whole header is taken, and so it
 * is when the SMTP session's first bytes follow it. */
static void
proxy_proto_test_prefixes(const unsigned char *h, size_t len)
{
	struct proxy_proto_result r;
	struct errbuf eb;
	unsigned char *more;
	size_t k;

	for (k = 0; k < len; k++) {
		if (proxy_proto_test_run(h, k, &r, &eb) != 0)
			fail_msg("prefix of %zu of %zu bytes: %s", k, len,
			    eb.msg);
	}
	assert_int_equal(proxy_proto_test_run(h, len, &r, &eb), (long)len);
	more = malloc(len + 6);
	assert_non_null(more);
	memcpy(more, h, len);
	memcpy(more + len, "EHLO x", 6);
	assert_int_equal(proxy_proto_test_run(more, len + 6, &r, &eb),
	    (long)len);
	free(more);
}

/* ------------------------------------------------------------------ v1 */

static void
proxy_proto_test_v1_tcp4(void **state)
{
	static const char h[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1111 25\r\n";
	struct proxy_proto_result r;
	struct errbuf eb;

	(void)state;
	assert_int_equal(proxy_proto_test_str(h, &r, &eb), 36);
	assert_int_equal(r.local, 0);
	proxy_proto_test_addr(&r.src, "1.2.3.4", 1111);
	proxy_proto_test_addr(&r.dst, "5.6.7.8", 25);
	proxy_proto_test_prefixes(PROXY_PROTO_TEST_TXT(h));
	assert_int_equal(proxy_proto_test_str("PROXY TCP4 0.0.0.0 "
	    "255.255.255.255 0 65535\r\n", &r, &eb), 44);
	proxy_proto_test_addr(&r.src, "0.0.0.0", 0);
	proxy_proto_test_addr(&r.dst, "255.255.255.255", 65535);
}

static void
proxy_proto_test_v1_tcp6(void **state)
{
	static const char h[] = "PROXY TCP6 2001:db8::1 2001:db8::25 "
	    "40000 587\r\n";
	static const char longest[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	struct proxy_proto_result r;
	struct errbuf eb;

	(void)state;
	assert_int_equal(proxy_proto_test_str(h, &r, &eb), sizeof(h) - 1);
	assert_int_equal(r.local, 0);
	proxy_proto_test_addr(&r.src, "2001:db8::1", 40000);
	proxy_proto_test_addr(&r.dst, "2001:db8::25", 587);
	proxy_proto_test_prefixes(PROXY_PROTO_TEST_TXT(h));
	assert_int_equal(proxy_proto_test_str(longest, &r, &eb),
	    sizeof(longest) - 1);
	proxy_proto_test_prefixes(PROXY_PROTO_TEST_TXT(longest));
	assert_int_equal(proxy_proto_test_str("PROXY TCP6 ::ffff:1.2.3.4 "
	    "::1 1 2\r\n", &r, &eb), 35);
	proxy_proto_test_addr(&r.src, "::ffff:1.2.3.4", 1);
}

static void
proxy_proto_test_v1_unknown(void **state)
{
	static const char *const ok[] = {
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1111 25\r\n",
		"PROXY UNKNOWN whatever it says, it is ignored\r\n",
	};
	struct proxy_proto_result r;
	struct errbuf eb;
	unsigned char line[PROXY_PROTO_V1_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < PROXY_PROTO_TEST_N(ok); i++) {
		assert_int_equal(proxy_proto_test_str(ok[i], &r, &eb),
		    (long)strlen(ok[i]));
		assert_int_equal(r.local, 1);
		proxy_proto_test_prefixes(PROXY_PROTO_TEST_STR(ok[i]));
	}
	/* The longest line allowed: 107 bytes with the CRLF. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + PROXY_PROTO_V1_MAX - 2, "\r\n", 2);
	assert_int_equal(proxy_proto_test_run(line, PROXY_PROTO_V1_MAX, &r,
	    &eb), PROXY_PROTO_V1_MAX);
	proxy_proto_test_prefixes(line, PROXY_PROTO_V1_MAX);
	/* One more byte and the CRLF is out of reach. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + PROXY_PROTO_V1_MAX - 1, "\r\n", 2);
	assert_int_equal(proxy_proto_test_run(line, PROXY_PROTO_V1_MAX + 1, &r,
	    &eb), -1);
	assert_string_equal(eb.msg, "PROXY v1: no CRLF within 107 bytes");
	assert_int_equal(proxy_proto_test_run(line, PROXY_PROTO_V1_MAX, &r,
	    &eb), -1);
	assert_int_equal(proxy_proto_test_run(line, PROXY_PROTO_V1_MAX - 1, &r,
	    &eb), 0);
}

static const struct proxy_proto_test_v1 proxy_proto_test_v1_bad[] = {
	{ "HELO", "not a PROXY protocol header" },
	{ "EHLO client.example\r\n", "not a PROXY protocol header" },
	{ "proxy TCP4 1.2.3.4 5.6.7.8 1111 25\r\n", "not a PROXY" },
	{ "PROXYTCP4 1.2.3.4 5.6.7.8 1111 25\r\n", "not a PROXY" },
	{ "PROXY TCP5 1.2.3.4 5.6.7.8 1111 25\r\n", "not a PROXY" },
	{ "PROXY UNKNOWNX\r\n", "unknown protocol" },
	{ "PROXY TCP4\r\n", "not a PROXY" },
	{ "PROXY \r\n", "not a PROXY" },
	{ "PROXY\r\n", "not a PROXY" },
	/* Line ends. */
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1111 25\n", "not ended by CRLF" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1111 25\rX", "not ended by CRLF" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1111 25\r\r\n", "not ended by CRLF" },
	{ "PROXY UNKNOWN\n", "not ended by CRLF" },
	/* Addresses. */
	{ "PROXY TCP4 1.2.3.256 5.6.7.8 1111 25\r\n", "bad TCP4 address" },
	{ "PROXY TCP4 01.2.3.4 5.6.7.8 1111 25\r\n", "bad TCP4 address" },
	{ "PROXY TCP4 localhost 5.6.7.8 1111 25\r\n", "bad TCP4 address" },
	{ "PROXY TCP6 2001:db8::1::2 ::1 1111 25\r\n", "bad TCP6 address" },
	{ "PROXY TCP6 fe80::1%eth0 ::1 1111 25\r\n", "bad TCP6 address" },
	{ "PROXY TCP6 0000:0000:0000:0000:0000:0000:0000:0000:0000:0000 ::1 "
	    "1 2\r\n", "bad TCP6 address" },
	/* Family and address disagree. */
	{ "PROXY TCP4 ::1 5.6.7.8 1111 25\r\n", "bad TCP4 address" },
	{ "PROXY TCP6 1.2.3.4 ::1 1111 25\r\n", "bad TCP6 address" },
	/* Ports. */
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 65536 25\r\n", "bad port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1111 025\r\n", "bad port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 00 25\r\n", "bad port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 -1 25\r\n", "bad port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 +25 25\r\n", "bad port" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 111111 25\r\n", "bad port" },
	/* Spaces and fields. */
	{ "PROXY  TCP4 1.2.3.4 5.6.7.8 1111 25\r\n", "not a PROXY" },
	{ "PROXY TCP4  1.2.3.4 5.6.7.8 1111 25\r\n", "four fields" },
	{ "PROXY TCP4 1.2.3.4  5.6.7.8 1111 25\r\n", "four fields" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1111  25\r\n", "four fields" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1111 25 \r\n", "four fields" },
	{ "PROXY TCP4 1.2.3.4 5.6.7.8 1111\r\n", "four fields" },
	{ "PROXY TCP4 1.2.3.4\t5.6.7.8 1111 25\r\n", "four fields" },
	{ "PROXY TCP4 \r\n", "four fields" },
};

static void
proxy_proto_test_v1_reject(void **state)
{
	const struct proxy_proto_test_v1 *t;
	struct proxy_proto_result r;
	struct errbuf eb;
	size_t i;

	(void)state;
	for (i = 0; i < PROXY_PROTO_TEST_N(proxy_proto_test_v1_bad); i++) {
		t = &proxy_proto_test_v1_bad[i];
		if (proxy_proto_test_str(t->line, &r, &eb) != -1)
			fail_msg("accepted \"%s\"", t->line);
		if (strstr(eb.msg, t->msg) == NULL)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", t->line,
			    eb.msg, t->msg);
	}
	/* A NUL inside the address, and no CRLF at all. */
	assert_int_equal(proxy_proto_test_run(PROXY_PROTO_TEST_TXT("PROXY "
	    "TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"), &r, &eb), -1);
	assert_int_equal(proxy_proto_test_str("PROXY TCP4 1.2.3.4 5.6.7.8 "
	    "1111 25", &r, &eb), 0);
}

/* Bytes that can still become a header need more; others fail at
 * once, so a plain SMTP client is not left waiting. */
static void
proxy_proto_test_v1_early(void **state)
{
	static const char *const more[] = {
		"P", "PRO", "PROXY", "PROXY ", "PROXY T", "PROXY TCP",
		"PROXY TCP6", "PROXY U", "PROXY UNKNOW", "PROXY UNKNOWN",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 25\r",
	};
	static const char *const bad[] = {
		"H", "PX", "PROXY X", "PROXY TCP4X", "PROXY UNKNOWX",
		"PROXY TCP4 1.2.3.4\n", "\n", " PROXY", "\x16\x03\x01",
	};
	struct proxy_proto_result r;
	struct errbuf eb;
	size_t i;

	(void)state;
	for (i = 0; i < PROXY_PROTO_TEST_N(more); i++)
		if (proxy_proto_test_str(more[i], &r, &eb) != 0)
			fail_msg("\"%s\": %s", more[i], eb.msg);
	for (i = 0; i < PROXY_PROTO_TEST_N(bad); i++)
		if (proxy_proto_test_str(bad[i], &r, &eb) != -1)
			fail_msg("\"%s\" not rejected", bad[i]);
	assert_int_equal(proxy_proto_test_run(NULL, 0, &r, &eb), 0);
}

/* ------------------------------------------------------------------ v2 */

/* Build a v2 header: signature, ver_cmd, fam, the length field (len,
 * which may lie) and nbody bytes of body.  Returns its size. */
static size_t
proxy_proto_test_v2(unsigned char *out, unsigned ver_cmd, unsigned fam,
    size_t len, const void *body, size_t nbody)
{
	memcpy(out, PROXY_PROTO_TEST_SIG, 12);
	out[12] = (unsigned char)ver_cmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(len >> 8);
	out[15] = (unsigned char)(len & 0xff);
	if (nbody > 0)
		memcpy(out + 16, body, nbody);
	return 16 + nbody;
}

static const unsigned char proxy_proto_test_inet[12] = {
	192, 0, 2, 1, 198, 51, 100, 2, 0x9c, 0x40, 0, 25
};

static const unsigned char proxy_proto_test_inet6[36] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x25,
	0xff, 0xff, 0x02, 0x4b
};

/* AF_INET and AF_INET6 over TCP, with and without TLVs. */
static void
proxy_proto_test_v2_inet(void **state)
{
	unsigned char h[64], body[32];
	struct proxy_proto_result r;
	struct errbuf eb;
	size_t n;

	(void)state;
	n = proxy_proto_test_v2(h, 0x21, 0x11, 12, proxy_proto_test_inet, 12);
	assert_int_equal(proxy_proto_test_run(h, n, &r, &eb), 28);
	assert_int_equal(r.local, 0);
	proxy_proto_test_addr(&r.src, "192.0.2.1", 40000);
	proxy_proto_test_addr(&r.dst, "198.51.100.2", 25);
	proxy_proto_test_prefixes(h, n);
	/* TLVs after the addresses are skipped. */
	memcpy(body, proxy_proto_test_inet, 12);
	memcpy(body + 12, "\x01\x00\x02h2\x04\x00\x00", 8);
	n = proxy_proto_test_v2(h, 0x21, 0x11, 20, body, 20);
	assert_int_equal(proxy_proto_test_run(h, n, &r, &eb), 36);
	proxy_proto_test_addr(&r.src, "192.0.2.1", 40000);
	proxy_proto_test_prefixes(h, n);
	n = proxy_proto_test_v2(h, 0x21, 0x21, 36, proxy_proto_test_inet6, 36);
	assert_int_equal(proxy_proto_test_run(h, n, &r, &eb), 52);
	assert_int_equal(r.local, 0);
	proxy_proto_test_addr(&r.src, "2001:db8::1", 65535);
	proxy_proto_test_addr(&r.dst, "2001:db8::25", 587);
	proxy_proto_test_prefixes(h, n);
}

/* LOCAL, UNSPEC, AF_UNIX and datagrams: keep the connection's own
 * addresses, but still take the whole header. */
static void
proxy_proto_test_v2_local(void **state)
{
	static const struct {
		unsigned ver_cmd, fam;
		size_t len;
	} cases[] = {
		{ 0x20, 0x00, 0 },
		{ 0x20, 0x11, 12 },
		{ 0x20, 0x11, 0 },     /* LOCAL ignores the family */
		{ 0x20, 0xff, 3 },
		{ 0x21, 0x00, 0 },
		{ 0x21, 0x00, 5 },
		{ 0x21, 0x12, 12 },
		{ 0x21, 0x22, 40 },
		{ 0x21, 0x31, 216 },
		{ 0x21, 0x32, 220 },
		{ 0x20, 0x00, PROXY_PROTO_V2_MAX - 16 },
	};
	unsigned char *h, *body;
	struct proxy_proto_result r;
	struct errbuf eb;
	size_t i, n;

	(void)state;
	h = malloc(PROXY_PROTO_V2_MAX);
	body = calloc(1, PROXY_PROTO_V2_MAX);
	assert_non_null(h);
	assert_non_null(body);
	for (i = 0; i < PROXY_PROTO_TEST_N(cases); i++) {
		n = proxy_proto_test_v2(h, cases[i].ver_cmd, cases[i].fam,
		    cases[i].len, body, cases[i].len);
		if (proxy_proto_test_run(h, n, &r, &eb) != (long)n)
			fail_msg("case %zu: %s", i, eb.msg);
		assert_int_equal(r.local, 1);
		proxy_proto_test_prefixes(h, n);
	}
	free(h);
	free(body);
}

static void
proxy_proto_test_v2_reject(void **state)
{
	static const struct {
		unsigned ver_cmd, fam;
		size_t len, nbody;
		const char *msg;
	} cases[] = {
		{ 0x11, 0x11, 12, 12, "unsupported version 1" },
		{ 0x31, 0x11, 12, 12, "unsupported version 3" },
		{ 0x01, 0x11, 12, 12, "unsupported version 0" },
		{ 0x22, 0x11, 12, 12, "unknown command 2" },
		{ 0x2f, 0x11, 12, 12, "unknown command 15" },
		{ 0x21, 0x13, 12, 12, "unknown address family 0x13" },
		{ 0x21, 0x10, 12, 12, "unknown address family 0x10" },
		{ 0x21, 0x01, 12, 12, "unknown address family 0x01" },
		{ 0x21, 0x41, 12, 12, "unknown address family 0x41" },
		{ 0x21, 0x11, 11, 11, "11 bytes are too few" },
		{ 0x21, 0x11, 0, 0, "0 bytes are too few" },
		{ 0x21, 0x21, 35, 35, "35 bytes are too few" },
		{ 0x21, 0x21, 12, 12, "12 bytes are too few" },
		{ 0x21, 0x31, 215, 215, "215 bytes are too few" },
		{ 0x21, 0x12, 4, 4, "4 bytes are too few" },
		/* Too long: refused before the body arrives. */
		{ 0x21, 0x11, PROXY_PROTO_V2_MAX - 15, 0, "too long" },
		{ 0x20, 0x00, 0xffff, 0, "too long" },
		/* Early: the 13th and 14th bytes decide alone. */
		{ 0x11, 0x11, 0, 0, "unsupported version" },
		{ 0x21, 0x99, 0, 0, "unknown address family" },
	};
	unsigned char h[16 + 256], body[256];
	struct proxy_proto_result r;
	struct errbuf eb;
	size_t i, n;

	(void)state;
	memset(body, 0, sizeof(body));
	for (i = 0; i < PROXY_PROTO_TEST_N(cases); i++) {
		n = proxy_proto_test_v2(h, cases[i].ver_cmd, cases[i].fam,
		    cases[i].len, body, cases[i].nbody);
		if (proxy_proto_test_run(h, n, &r, &eb) != -1)
			fail_msg("case %zu accepted", i);
		if (strstr(eb.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i,
			    eb.msg, cases[i].msg);
	}
	n = proxy_proto_test_v2(h, 0x11, 0x11, 12, proxy_proto_test_inet, 12);
	assert_int_equal(proxy_proto_test_run(h, 13, &r, &eb), -1);
	n = proxy_proto_test_v2(h, 0x21, 0x99, 12, proxy_proto_test_inet, 12);
	assert_int_equal(proxy_proto_test_run(h, 13, &r, &eb), 0);
	assert_int_equal(proxy_proto_test_run(h, 14, &r, &eb), -1);
	/* A signature wrong in any byte is no header. */
	for (i = 0; i < 12; i++) {
		n = proxy_proto_test_v2(h, 0x21, 0x11, 12,
		    proxy_proto_test_inet, 12);
		h[i] ^= 0x20;
		assert_int_equal(proxy_proto_test_run(h, i + 1, &r, &eb), -1);
		assert_int_equal(proxy_proto_test_run(h, n, &r, &eb), -1);
	}
}

/* ---------------------------------------------------------------- fuzz */

static uint32_t
proxy_proto_test_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void
proxy_proto_test_check(const unsigned char *d, size_t len)
{
	struct proxy_proto_result r;
	struct errbuf eb;
	long rc;

	rc = proxy_proto_test_run(d, len, &r, &eb);
	assert_true(rc >= -1 && rc <= (long)len);
	if (rc == -1)
		assert_true(eb.msg[0] != '\0');
	if (rc > 0 && !r.local) {
		assert_true(r.src.ss_family == AF_INET ||
		    r.src.ss_family == AF_INET6);
		assert_int_equal(r.src.ss_family, r.dst.ss_family);
	}
}

/* Random bytes, random bytes behind each start, and valid headers with
 * one byte changed: whatever comes, the answer is -1, 0 or a length
 * within the data. */
static void
proxy_proto_test_fuzz(void **state)
{
	static const char *const starts[] = {
		"", "PROXY ", "PROXY TCP4 ", "PROXY TCP6 ", "PROXY UNKNOWN",
		PROXY_PROTO_TEST_SIG "\x21\x11",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1111 25\r\n",
	};
	static const char alpha[] = "PROXY TCP46UNKNOW0123456789.:abcdef "
	    "\r\n\0";
	unsigned char d[400];
	uint32_t seed = 0x1234567, x;
	size_t i, k, n, off;

	(void)state;
	for (i = 0; i < 60000; i++) {
		k = i % PROXY_PROTO_TEST_N(starts);
		off = k == 5 ? 14 : strlen(starts[k]);
		memcpy(d, starts[k], off);
		n = off + proxy_proto_test_rand(&seed) % (sizeof(d) - off);
		for (; off < n; off++) {
			x = proxy_proto_test_rand(&seed);
			d[off] = (unsigned char)((i & 1) ? x :
			    (uint32_t)alpha[x % (sizeof(alpha) - 1)]);
		}
		proxy_proto_test_check(d, n);
	}
	for (i = 0; i < 20000; i++) {
		if (i & 1)
			n = proxy_proto_test_v2(d, 0x21, 0x21, 36,
			    proxy_proto_test_inet6, 36);
		else
			n = proxy_proto_test_v2(d, 0x21, 0x11, 12,
			    proxy_proto_test_inet, 12);
		x = proxy_proto_test_rand(&seed);
		d[x % n] = (unsigned char)(x >> 16);
		x = proxy_proto_test_rand(&seed);
		proxy_proto_test_check(d, x % (n + 1));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proxy_proto_test_v1_tcp4),
		cmocka_unit_test(proxy_proto_test_v1_tcp6),
		cmocka_unit_test(proxy_proto_test_v1_unknown),
		cmocka_unit_test(proxy_proto_test_v1_reject),
		cmocka_unit_test(proxy_proto_test_v1_early),
		cmocka_unit_test(proxy_proto_test_v2_inet),
		cmocka_unit_test(proxy_proto_test_v2_local),
		cmocka_unit_test(proxy_proto_test_v2_reject),
		cmocka_unit_test(proxy_proto_test_fuzz),
	};

	return UNIT_RUN(tests);
}
