/*
 * Unit tests for cidr: parsing network lists (separators, bare
 * addresses, host bits, every way an element can be wrong, the size
 * limit) and matching IPv4, IPv6 and IPv4-mapped clients.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "unit.h"

#include "cidr.h"

#define CIDR_TEST_N(a) (sizeof(a) / sizeof((a)[0]))

struct cidr_test_match {
	const char *list;
	const char *client;
	bool want;
};

/* Build a socket address from a textual IPv4 or IPv6 address. */
static void
cidr_test_sa(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') == NULL) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(25);
		assert_int_equal(inet_pton(AF_INET, text, &sin.sin_addr), 1);
		memcpy(ss, &sin, sizeof(sin));
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(25);
		assert_int_equal(inet_pton(AF_INET6, text, &sin6.sin6_addr),
		    1);
		memcpy(ss, &sin6, sizeof(sin6));
	}
}

static bool
cidr_test_matches(const struct cidr_list *l, const char *client)
{
	struct sockaddr_storage ss;

	cidr_test_sa(client, &ss);
	return cidr_list_match(l, (const struct sockaddr *)&ss);
}

/* The network as text, "addr/prefix", for comparing. */
static void
cidr_test_text(const struct cidr *c, char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(c->family, c->addr, a, sizeof(a)));
	snprintf(out, size, "%s/%u", a, c->prefix);
}

static void
cidr_test_parse_ok(void **state)
{
	static const struct {
		const char *text;
		size_t n;
		const char *v[4];
	} cases[] = {
		{ "10.0.0.0/8, 192.168.1.7, ::1/128", 3,
		    { "10.0.0.0/8", "192.168.1.7/32", "::1/128" } },
		{ "", 0, { NULL } },
		{ " \t\n ", 0, { NULL } },
		{ "127.0.0.0/8 ::1", 2, { "127.0.0.0/8", "::1/128" } },
		{ "\t10.0.0.0/8 ,172.16.0.0/12,\n192.168.0.0/16  ::1 ", 4,
		    { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
		    "::1/128" } },
		/* Host bits set in the network: accepted and cleared. */
		{ "10.1.2.3/8", 1, { "10.0.0.0/8" } },
		{ "192.168.1.255/23", 1, { "192.168.0.0/23" } },
		{ "2001:db8:ffff::1/33", 1, { "2001:db8:8000::/33" } },
		{ "2001:db8::1/32", 1, { "2001:db8::/32" } },
		/* Prefix 0 and the full prefix. */
		{ "0.0.0.0/0, ::/0", 2, { "0.0.0.0/0", "::/0" } },
		{ "1.2.3.4/0", 1, { "0.0.0.0/0" } },
		{ "1.2.3.4/32,2001:db8::7/128", 2,
		    { "1.2.3.4/32", "2001:db8::7/128" } },
		/* An IPv4-mapped network is stored as IPv4. */
		{ "::ffff:10.0.0.0/104", 1, { "10.0.0.0/8" } },
		{ "::ffff:192.0.2.1", 1, { "192.0.2.1/32" } },
		{ "::ffff:0:0/96", 1, { "0.0.0.0/0" } },
		{ "::ffff:0:0/95", 1, { "::fffe:0:0/95" } },
	};
	struct cidr_list l;
	struct errbuf eb;
	char text[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < CIDR_TEST_N(cases); i++) {
		errbuf_clear(&eb);
		if (cidr_list_parse(cases[i].text, &l, &eb) != 0)
			fail_msg("\"%s\": %s", cases[i].text, eb.msg);
		assert_int_equal(l.n, cases[i].n);
		for (j = 0; j < l.n; j++) {
			cidr_test_text(&l.v[j], text, sizeof(text));
			assert_string_equal(text, cases[i].v[j]);
		}
		cidr_list_free(&l);
		assert_null(l.v);
		assert_int_equal(l.n, 0);
	}
}

static void
cidr_test_parse_bad(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "10.0.0.0/33", "'10.0.0.0/33': the prefix length must be "
		    "a number from 0 to 32" },
		{ "::/129", "'::/129': the prefix length must be a number "
		    "from 0 to 128" },
		{ "bogus", "'bogus': not an IPv4 or IPv6 address" },
		{ "10.0.0.0/8,,", "empty element at offset 11" },
		{ "10.0.0.0/8,, ::1", "empty element at offset 11" },
		{ "10.0.0.0/8 , , ::1", "empty element at offset 13" },
		{ "10.0.0.0/8,", "empty element at offset 11" },
		{ "10.0.0.0/8 , ", "empty element at offset 13" },
		{ ",10.0.0.0/8", "empty element at offset 0" },
		{ ",", "empty element at offset 0" },
		{ "10.0.0.0/", "'10.0.0.0/': the prefix length" },
		{ "10.0.0.0/-1", "the prefix length" },
		{ "10.0.0.0/+8", "the prefix length" },
		{ "10.0.0.0/08", "the prefix length" },
		{ "10.0.0.0/8x", "the prefix length" },
		{ "10.0.0.0/1000", "the prefix length" },
		{ "10.0.0.0/8/8", "the prefix length" },
		{ "10.0.0", "not an IPv4 or IPv6 address" },
		{ "256.0.0.0/8", "not an IPv4 or IPv6 address" },
		{ "010.0.0.0/8", "not an IPv4 or IPv6 address" },
		{ "/8", "'/8': not an IPv4 or IPv6 address" },
		{ "::1::2", "not an IPv4 or IPv6 address" },
		{ "fe80::1%eth0", "not an IPv4 or IPv6 address" },
		{ "10.0.0.0/8; 192.168.0.0/16", "'10.0.0.0/8;'" },
		{ "127.0.0.1 localhost", "'localhost': not an IPv4" },
		{ "2001:db8::/32 2001:db8::/200", "'2001:db8::/200'" },
	};
	struct cidr_list l;
	struct errbuf eb;
	size_t i;

	(void)state;
	for (i = 0; i < CIDR_TEST_N(cases); i++) {
		errbuf_clear(&eb);
		l.v = (struct cidr *)&eb; /* parse must reset it */
		l.n = 99;
		if (cidr_list_parse(cases[i].text, &l, &eb) != -1)
			fail_msg("\"%s\" was accepted", cases[i].text);
		if (strstr(eb.msg, cases[i].msg) == NULL)
			fail_msg("\"%s\": got \"%s\", want \"%s\"",
			    cases[i].text, eb.msg, cases[i].msg);
		assert_null(l.v);
		assert_int_equal(l.n, 0);
		cidr_list_free(&l);
	}
}

static void
cidr_test_parse_long(void **state)
{
	struct cidr_list l;
	struct errbuf eb;
	char text[300];

	(void)state;
	memset(text, '1', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(cidr_list_parse(text, &l, &eb), -1);
	assert_non_null(strstr(eb.msg, "is too long"));
	assert_true(strlen(eb.msg) < 200);
}

/* 1024 networks are fine, the 1025th is refused. */
static void
cidr_test_parse_limit(void **state)
{
	struct cidr_list l;
	struct errbuf eb;
	char *text, *p;
	unsigned i;

	(void)state;
	text = malloc(1025 * 20);
	assert_non_null(text);
	for (p = text, i = 0; i < 1024; i++)
		p += sprintf(p, "10.%u.%u.0/24 ", i / 256, i % 256);
	assert_int_equal(cidr_list_parse(text, &l, &eb), 0);
	assert_int_equal(l.n, 1024);
	assert_true(cidr_test_matches(&l, "10.3.255.1"));
	assert_false(cidr_test_matches(&l, "10.4.0.1"));
	cidr_list_free(&l);
	sprintf(p, "192.0.2.1");
	assert_int_equal(cidr_list_parse(text, &l, &eb), -1);
	assert_non_null(strstr(eb.msg, "too many networks (limit 1024)"));
	assert_null(l.v);
	free(text);
}

static const struct cidr_test_match cidr_test_matches_tab[] = {
	{ "10.0.0.0/8", "10.1.2.3", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "9.255.255.255", false },
	{ "192.168.1.7", "192.168.1.7", true },
	{ "192.168.1.7", "192.168.1.8", false },
	{ "192.168.1.7", "192.168.1.6", false },
	{ "172.16.0.0/12", "172.31.255.255", true },
	{ "172.16.0.0/12", "172.32.0.0", false },
	{ "172.16.0.0/12", "172.15.255.255", false },
	{ "192.168.0.0/23", "192.168.1.200", true },
	{ "192.168.0.0/23", "192.168.2.0", false },
	{ "10.9.9.9/8", "10.200.0.1", true },
	{ "0.0.0.0/0", "203.0.113.9", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "1.2.3.4/31", "1.2.3.5", true },
	{ "1.2.3.4/31", "1.2.3.6", false },
	/* IPv6. */
	{ "::1/128", "::1", true },
	{ "::1", "::2", false },
	{ "::1", "127.0.0.1", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "2001:db8:8000::/33", "2001:db8:7fff::1", false },
	{ "2001:db8:8000::/33", "2001:db8:8000::1", true },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "1.2.3.4", false },
	/* IPv4-mapped clients match as the IPv4 address they carry. */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "127.0.0.0/8, ::1/128", "::ffff:127.0.0.1", true },
	{ "::/0", "::ffff:10.1.2.3", false },
	{ "::ffff:10.0.0.0/104", "10.1.2.3", true },
	{ "::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true },
	{ "::ffff:10.0.0.0/104", "::ffff:11.1.2.3", false },
	/* Not mapped: IPv4-compatible and NAT64 look alike but are not. */
	{ "10.0.0.0/8", "::10.1.2.3", false },
	{ "10.0.0.0/8", "64:ff9b::10.1.2.3", false },
	{ "10.0.0.0/8", "::fffe:10.1.2.3", false },
	/* Several networks: any one will do. */
	{ "10.0.0.0/8 192.168.0.0/16 2001:db8::/32", "192.168.7.7", true },
	{ "10.0.0.0/8 192.168.0.0/16 2001:db8::/32", "2001:db8::25", true },
	{ "10.0.0.0/8 192.168.0.0/16 2001:db8::/32", "172.16.0.1", false },
	{ "", "127.0.0.1", false },
	{ "", "::1", false },
};

static void
cidr_test_match(void **state)
{
	const struct cidr_test_match *m;
	struct cidr_list l;
	struct errbuf eb;
	size_t i;

	(void)state;
	for (i = 0; i < CIDR_TEST_N(cidr_test_matches_tab); i++) {
		m = &cidr_test_matches_tab[i];
		if (cidr_list_parse(m->list, &l, &eb) != 0)
			fail_msg("\"%s\": %s", m->list, eb.msg);
		if (cidr_test_matches(&l, m->client) != m->want)
			fail_msg("\"%s\" against \"%s\": want %s", m->client,
			    m->list, m->want ? "match" : "no match");
		cidr_list_free(&l);
	}
}

/* Other families, NULL and freed lists never match. */
static void
cidr_test_match_odd(void **state)
{
	struct sockaddr_un sun;
	struct sockaddr_storage ss;
	struct cidr_list l;
	struct errbuf eb;

	(void)state;
	assert_int_equal(cidr_list_parse("0.0.0.0/0 ::/0", &l, &eb), 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_false(cidr_list_match(&l, (const struct sockaddr *)&sun));
	assert_false(cidr_list_match(&l, NULL));
	cidr_test_sa("127.0.0.1", &ss);
	assert_true(cidr_list_match(&l, (const struct sockaddr *)&ss));
	assert_false(cidr_list_match(NULL, (const struct sockaddr *)&ss));
	cidr_list_free(&l);
	cidr_list_free(&l);
	cidr_list_free(NULL);
	assert_int_equal(cidr_list_parse(NULL, &l, &eb), 0);
	assert_int_equal(l.n, 0);
	assert_false(cidr_list_match(&l, (const struct sockaddr *)&ss));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cidr_test_parse_ok),
		cmocka_unit_test(cidr_test_parse_bad),
		cmocka_unit_test(cidr_test_parse_long),
		cmocka_unit_test(cidr_test_parse_limit),
		cmocka_unit_test(cidr_test_match),
		cmocka_unit_test(cidr_test_match_odd),
	};

	return UNIT_RUN(tests);
}
