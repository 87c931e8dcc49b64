/*
 * Unit tests for smtpd_policy: the open-relay test battery as a table
 * (with a real aliases table loaded from a file), then the reply text
 * for hostile paths and random input.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "smtpd_policy.h"
#include "str.h"

#define SMTPD_POLICY_TEST_N(a) (sizeof(a) / sizeof((a)[0]))

#define SMTPD_POLICY_TEST_SR "source routes are not accepted"
#define SMTPD_POLICY_TEST_PCT "the percent hack is not allowed"
#define SMTPD_POLICY_TEST_BANG "bang paths are not allowed"
#define SMTPD_POLICY_TEST_QAT "a quoted local part may not hold '@'"
#define SMTPD_POLICY_TEST_DOT "trailing dot in the domain"
#define SMTPD_POLICY_TEST_LIT "IP address literals are not accepted"

static const char smtpd_policy_test_text[] =
    "# test aliases\n"
    "root: admin@example.net\n"
    "john: john@example.net\n"
    "\"john doe\": jd@example.net\n"
    "abuse: root\n"
    "m\xc3\xbcller: mueller@example.net\n"
    "pipe: |/bin/true\n";

struct smtpd_policy_test_case {
	bool may_relay;
	const char *addr;
	int code;
	const char *reason; /* NULL: accepted; "": no reason given */
};

static const struct smtpd_policy_test_case smtpd_policy_test_cases[] = {
	/* Trusted or authenticated: anything goes. */
	{ true, "user@remote.example", 0, NULL },
	{ true, "user%remote.example@mx.example.org", 0, NULL },
	{ true, "@mx.example.org:user@remote.example", 0, NULL },
	{ true, "user@[192.0.2.1]", 0, NULL },
	{ true, "", 0, NULL },
	/* Plain remote domains. */
	{ false, "user@remote.example", 554, "" },
	{ false, "USER@REMOTE.EXAMPLE", 554, "" },
	{ false, "postmaster@remote.example", 554, "" },
	{ false, "root@remote.example", 554, "" },
	{ false, "root@sub.example.org", 554, "" },
	{ false, "root@example.org.evil.example", 554, "" },
	{ false, "root@xexample.org", 554, "" },
	{ false, "root@example.org@remote.example", 554, "" },
	{ false, "user@b\xc3\xbc" "cher.example", 554, "" },
	/* The tricks, refused with a reason even at a local domain. */
	{ false, "user%remote.example@mx.example.org",
	    554, SMTPD_POLICY_TEST_PCT },
	{ false, "postmaster%remote.example@mx.example.org",
	    554, SMTPD_POLICY_TEST_PCT },
	{ false, "root%remote.example@example.org",
	    554, SMTPD_POLICY_TEST_PCT },
	{ false, "user%remote.example", 554, SMTPD_POLICY_TEST_PCT },
	{ false, "\"user%remote.example\"@mx.example.org",
	    554, SMTPD_POLICY_TEST_PCT },
	{ false, "remote.example!user@mx.example.org",
	    554, SMTPD_POLICY_TEST_BANG },
	{ false, "remote.example!postmaster", 554, SMTPD_POLICY_TEST_BANG },
	{ false, "\"user@remote.example\"@mx.example.org",
	    554, SMTPD_POLICY_TEST_QAT },
	{ false, "\"a\\\"@b\"@example.org", 554, SMTPD_POLICY_TEST_QAT },
	{ false, "\"a\\@b\"@example.org", 554, SMTPD_POLICY_TEST_QAT },
	{ false, "@mx.example.org:user@remote.example",
	    554, SMTPD_POLICY_TEST_SR },
	{ false, "@mx.example.org,@example.org:user@remote.example",
	    554, SMTPD_POLICY_TEST_SR },
	{ false, "@mx.example.org:postmaster@mx.example.org",
	    554, SMTPD_POLICY_TEST_SR },
	{ false, "user@mx.example.org.", 554, SMTPD_POLICY_TEST_DOT },
	{ false, "postmaster@mx.example.org.", 554, SMTPD_POLICY_TEST_DOT },
	{ false, "root@example.org..", 554, SMTPD_POLICY_TEST_DOT },
	{ false, "user@[127.0.0.1]", 554, SMTPD_POLICY_TEST_LIT },
	{ false, "user@[IPv6:::1]", 554, SMTPD_POLICY_TEST_LIT },
	{ false, "postmaster@[192.0.2.1]", 554, SMTPD_POLICY_TEST_LIT },
	{ false, "root@[example.org]", 554, SMTPD_POLICY_TEST_LIT },
	/* postmaster, in any case, bare or at a local domain. */
	{ false, "postmaster", 0, NULL },
	{ false, "Postmaster@mx.example.org", 0, NULL },
	{ false, "postmaster@example.org", 0, NULL },
	{ false, "POSTMASTER@EXAMPLE.ORG", 0, NULL },
	{ false, "\"postmaster\"@example.org", 0, NULL },
	{ false, "postmasters@example.org", 554, "" },
	/* Names the aliases file knows; the others are refused. */
	{ false, "root", 0, NULL },
	{ false, "root@example.org", 0, NULL },
	{ false, "ROOT@Mx.Example.Org", 0, NULL },
	{ false, "john@mx.example.org", 0, NULL },
	{ false, "abuse@EXAMPLE.org", 0, NULL },
	{ false, "\"john doe\"@example.org", 0, NULL },
	{ false, "\"root\"@example.org", 0, NULL },
	{ false, "nobody@mx.example.org", 554, "" },
	{ false, "nobody", 554, "" },
	{ false, "john.doe@example.org", 554, "" },
	{ false, "pipe@example.org", 554, "" },   /* every value skipped */
	/* UTF-8 local parts: folded in ASCII only, as aliases does. */
	{ false, "m\xc3\xbcller@example.org", 0, NULL },
	{ false, "M\xc3\xbcller@mx.example.org", 0, NULL },
	{ false, "M\xc3\x9cLLER@example.org", 554, "" },
	{ false, "j\xc3\xb6rg@example.org", 554, "" },
	/* Broken paths the caller should have refused: still no relay. */
	{ false, "", 554, "" },
	{ false, "@example.org", 554, "" },
	{ false, "root@", 554, "" },
	{ false, "\"root", 554, "" },
	{ false, "\"\"@example.org", 554, "" },
	{ false, "@", 554, "" },
	{ false, "@:", 554, SMTPD_POLICY_TEST_SR },
};

/* The aliases table of the tests, loaded from a temporary file. */
static struct aliases *
smtpd_policy_test_aliases(void)
{
	char path[] = "/tmp/tern-policy-XXXXXX";
	struct aliases *al;
	struct errbuf eb;
	size_t n = sizeof(smtpd_policy_test_text) - 1;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, smtpd_policy_test_text, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
	al = aliases_load(path, NULL, NULL, &eb);
	unlink(path);
	if (al == NULL)
		fail_msg("aliases_load: %s", eb.msg);
	assert_int_equal(aliases_count(al), 5);
	return al;
}

static void
smtpd_policy_test_table(void **state)
{
	struct smtpd_policy pol = { "mx.example.org", "example.org", NULL };
	const struct smtpd_policy_test_case *c;
	char reply[600], want[600];
	size_t i;
	int rc;

	(void)state;
	pol.aliases = smtpd_policy_test_aliases();
	for (i = 0; i < SMTPD_POLICY_TEST_N(smtpd_policy_test_cases); i++) {
		c = &smtpd_policy_test_cases[i];
		strcpy(reply, "untouched");
		rc = smtpd_policy_rcpt(&pol, c->may_relay, c->addr, reply,
		    sizeof(reply));
		if (rc != c->code)
			fail_msg("row %zu <%s>: got %d, want %d (%s)", i,
			    c->addr, rc, c->code, reply);
		if (c->code == 0) {
			assert_string_equal(reply, "untouched");
			continue;
		}
		snprintf(want, sizeof(want), "554 5.7.1 <%s>: Relay access "
		    "denied%s%s%s", c->addr, c->reason[0] ? " (" : "",
		    c->reason, c->reason[0] ? ")" : "");
		if (strcmp(reply, want) != 0)
			fail_msg("row %zu: got \"%s\", want \"%s\"", i, reply,
			    want);
	}
	aliases_free((struct aliases *)pol.aliases);
}

/* Without an aliases table only postmaster is local; without a policy
 * nothing is. */
static void
smtpd_policy_test_no_aliases(void **state)
{
	struct smtpd_policy pol = { "mx.example.org", NULL, NULL };
	char reply[256];

	(void)state;
	assert_int_equal(smtpd_policy_rcpt(&pol, false,
	    "postmaster@mx.example.org", reply, sizeof(reply)), 0);
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "root", reply,
	    sizeof(reply)), 554);
	assert_int_equal(smtpd_policy_rcpt(&pol, false,
	    "postmaster@example.org", reply, sizeof(reply)), 554);
	pol.hostname = NULL;
	assert_int_equal(smtpd_policy_rcpt(&pol, false,
	    "postmaster@mx.example.org", reply, sizeof(reply)), 554);
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "postmaster",
	    reply, sizeof(reply)), 0);
	assert_int_equal(smtpd_policy_rcpt(NULL, false, "postmaster",
	    reply, sizeof(reply)), 554);
	assert_int_equal(smtpd_policy_rcpt(NULL, true, "x@y", reply,
	    sizeof(reply)), 0);
	assert_int_equal(smtpd_policy_rcpt(&pol, false, NULL, reply,
	    sizeof(reply)), 554);
	assert_string_equal(reply, "554 5.7.1 <>: Relay access denied");
}

/* The path is client input on its way into a reply: control bytes and
 * malformed UTF-8 become '?', and it is clipped on a character. */
static void
smtpd_policy_test_reply_clean(void **state)
{
	struct smtpd_policy pol = { "mx.example.org", "example.org", NULL };
	char reply[600], addr[2100];
	size_t i;

	(void)state;
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "a\x01" "b\x7f\r\n"
	    "\t@remote.example", reply, sizeof(reply)), 554);
	assert_string_equal(reply, "554 5.7.1 <a?b????@remote.example>: "
	    "Relay access denied");
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "\xff\xc3(\xe2\x82"
	    "@x", reply, sizeof(reply)), 554);
	assert_string_equal(reply, "554 5.7.1 <?\?(?\?@x>: Relay access "
	    "denied");
	/* Long: 255 bytes, then a two-byte character that does not fit. */
	memset(addr, 'a', 255);
	strcpy(addr + 255, "\xc3\xa9@remote.example");
	assert_int_equal(smtpd_policy_rcpt(&pol, false, addr, reply,
	    sizeof(reply)), 554);
	assert_int_equal(strlen(reply), strlen("554 5.7.1 <>: Relay access "
	    "denied") + 255);
	assert_true(str_utf8_valid(reply, strlen(reply)));
	memset(addr, 'x', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	addr[1000] = '%';
	assert_int_equal(smtpd_policy_rcpt(&pol, false, addr, reply,
	    sizeof(reply)), 554);
	assert_int_equal(strlen(reply), strlen("554 5.7.1 <>: Relay access "
	    "denied ()") + 256 + strlen(SMTPD_POLICY_TEST_PCT));
	for (i = 0; reply[i] != '\0'; i++)
		assert_true(reply[i] >= 0x20 && reply[i] < 0x7f);
	/* A long name is never a local one, whatever it starts with. */
	pol.aliases = smtpd_policy_test_aliases();
	addr[1000] = 'x';
	memcpy(addr, "root", 4);
	assert_int_equal(smtpd_policy_rcpt(&pol, false, addr, reply,
	    sizeof(reply)), 554);
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "root", reply,
	    sizeof(reply)), 0);
	aliases_free((struct aliases *)pol.aliases);
}

/* Small buffers are filled and terminated, never overrun. */
static void
smtpd_policy_test_reply_small(void **state)
{
	struct smtpd_policy pol = { "mx.example.org", "example.org", NULL };
	char reply[16];

	(void)state;
	memset(reply, 'z', sizeof(reply));
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "user@remote",
	    reply, 10), 554);
	assert_string_equal(reply, "554 5.7.1");
	assert_int_equal(reply[10], 'z');
	reply[0] = 'z';
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "user@remote",
	    reply, 0), 554);
	assert_int_equal(reply[0], 'z');
	assert_int_equal(smtpd_policy_rcpt(&pol, false, "user@remote",
	    NULL, 0), 554);
}

static uint32_t
smtpd_policy_test_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Random paths from the characters that matter: 0 or 554, and a reply
 * line that starts right and holds no control bytes. */
static void
smtpd_policy_test_fuzz(void **state)
{
	static const char alpha[] = "@%!\":.,[]\\ aArRoOtT\x01\r\n\xc3\xbc"
	    "\xff" "example.org" "postmaster";
	struct smtpd_policy pol = { "mx.example.org", "example.org", NULL };
	char addr[700], reply[400];
	uint32_t seed = 42;
	size_t i, j, n;
	int rc;

	(void)state;
	pol.aliases = smtpd_policy_test_aliases();
	for (i = 0; i < 50000; i++) {
		n = smtpd_policy_test_rand(&seed) %
		    (i < 45000 ? 40 : sizeof(addr));
		for (j = 0; j < n; j++)
			addr[j] = alpha[smtpd_policy_test_rand(&seed) %
			    (sizeof(alpha) - 1)];
		addr[n] = '\0';
		rc = smtpd_policy_rcpt(&pol, false, addr, reply,
		    sizeof(reply));
		assert_true(rc == 0 || rc == 554);
		if (rc == 0)
			continue;
		assert_memory_equal(reply, "554 5.7.1 <", 11);
		for (j = 0; reply[j] != '\0'; j++)
			assert_true((unsigned char)reply[j] >= 0x20 &&
			    reply[j] != 0x7f);
		assert_true(str_utf8_valid(reply, strlen(reply)));
	}
	aliases_free((struct aliases *)pol.aliases);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(smtpd_policy_test_table),
		cmocka_unit_test(smtpd_policy_test_no_aliases),
		cmocka_unit_test(smtpd_policy_test_reply_clean),
		cmocka_unit_test(smtpd_policy_test_reply_small),
		cmocka_unit_test(smtpd_policy_test_fuzz),
	};

	return UNIT_RUN(tests);
}
