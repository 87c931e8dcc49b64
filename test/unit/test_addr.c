/*
 * Unit tests for addr: RFC 5322 address lists (RFC 5322 Appendix A
 * examples included), command-line addresses, addr-spec checking and
 * building, errors with offsets, and speed on 10,000 recipients.
 */
#include "autoconf.h"

#include "unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "rfc2047.h"

/*
 * A parsed list rendered as one line per mailbox,
 * "spec|display|domain", "-" standing for NULL.
 */
static char *
render(const struct addr_list *l)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < l->n; i++) {
		const struct addr *a = &l->v[i];

		assert_int_equal(buf_printf(&b, "%s%s|%s|%s", i ? "\n" : "",
		    a->spec, a->display ? a->display : "-",
		    a->domain ? a->domain : "-"), 0);
	}
	return buf_steal(&b);
}

/* Sixteen levels of comment nesting, to build deep comments. */
#define OPEN16 "(((((((((((((((("
#define CLOSE16 "))))))))))))))))"

struct valid_case {
	const char *in;
	const char *want; /* render() of the list */
};

static const struct valid_case valid_cases[] = {
	/* RFC 5322 A.1.1 */
	{ "John Doe <jdoe@machine.example>",
	    "jdoe@machine.example|John Doe|machine.example" },
	{ "Mary Smith <mary@example.net>",
	    "mary@example.net|Mary Smith|example.net" },
	/* RFC 5322 A.1.2: different types of mailboxes */
	{ "\"Joe Q. Public\" <john.q.public@example.com>",
	    "john.q.public@example.com|Joe Q. Public|example.com" },
	{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
	    "mary@x.test|Mary Smith|x.test\n"
	    "jdoe@example.org|-|example.org\n"
	    "one@y.test|Who?|y.test" },
	{ "<boss@nil.test>, "
	    "\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	    "boss@nil.test|-|nil.test\n"
	    "sysservices@example.net|Giant; \"Big\" Box|example.net" },
	{ "\"Mary Smith: Personal Account\" <smith@home.example>",
	    "smith@home.example|Mary Smith: Personal Account|home.example" },
	/* RFC 5322 A.1.3: group addresses */
	{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	    "c@a.test|Ed Jones|a.test\n"
	    "joe@where.test|-|where.test\n"
	    "jdoe@one.test|John|one.test" },
	{ "Undisclosed recipients:;", "" },
	{ "undisclosed-recipients:;", "" },
	/* RFC 5322 A.5: white space, comments, and other oddities */
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	    "pete@silly.test|Pete|silly.test" },
	{ "A Group(Some people)\r\n"
	    "     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
	    "         joe@example.org,\r\n"
	    "  John <jdoe@one.test> (my dear friend); (the end of the group)",
	    "c@public.example|Chris Jones|public.example\n"
	    "joe@example.org|-|example.org\n"
	    "jdoe@one.test|John|one.test" },
	{ "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;",
	    "" },
	/* RFC 5322 A.6.1: obsolete addressing */
	{ "Joe Q. Public <john.q.public@example.com>",
	    "john.q.public@example.com|Joe Q. Public|example.com" },
	{ "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
	    "mary@example.net|Mary Smith|example.net\n"
	    "jdoe@test.example|-|test.example" },
	/* RFC 5322 A.6.3: obsolete white space and comments */
	{ "John Doe <jdoe@machine(comment).  example>",
	    "jdoe@machine.example|John Doe|machine.example" },
	{ "Mary Smith\r\n \r\n <mary@example.net>",
	    "mary@example.net|Mary Smith|example.net" },
	/* plain forms */
	{ "user@example.com", "user@example.com|-|example.com" },
	{ "<user@example.com>", "user@example.com|-|example.com" },
	{ "User <user@example.com>", "user@example.com|User|example.com" },
	{ "user@example.com (User Name)",
	    "user@example.com|User Name|example.com" },
	{ "user@example.com(x)(y)", "user@example.com|x|example.com" },
	{ "  user@example.com  ", "user@example.com|-|example.com" },
	{ "John.Doe@Example.COM", "John.Doe@Example.COM|-|Example.COM" },
	{ "!#$%&'*+-/=?^_`{|}~@example.org",
	    "!#$%&'*+-/=?^_`{|}~@example.org|-|example.org" },
	{ "a@xn--bcher-kva.example", "a@xn--bcher-kva.example|-|"
	    "xn--bcher-kva.example" },
	{ "a@b", "a@b|-|b" },
	/* unqualified */
	{ "root", "root|-|-" },
	{ "root (Charlie Root)", "root|Charlie Root|-" },
	{ "Root <root>", "root|Root|-" },
	{ "root, postmaster", "root|-|-\npostmaster|-|-" },
	{ "\"john doe\"", "\"john doe\"|-|-" },
	/* quoted local parts: unquoted in local, requoted when needed */
	{ "\"john doe\"@example.com",
	    "\"john doe\"@example.com|-|example.com" },
	{ "\"john\"@example.com", "john@example.com|-|example.com" },
	{ "\"john.doe\"@x", "john.doe@x|-|x" },
	{ "\"a\".\"b\"@c", "a.b@c|-|c" },
	{ "\"\\j\\o\\h\\n\"@x", "john@x|-|x" },
	{ "\"a\\\"b\"@x.org", "\"a\\\"b\"@x.org|-|x.org" },
	{ "\"a\\\\b\"@x.org", "\"a\\\\b\"@x.org|-|x.org" },
	{ "\"a@b\"@c", "\"a@b\"@c|-|c" },
	{ "\".a\"@c", "\".a\"@c|-|c" },
	{ "\"a..b\"@c", "\"a..b\"@c|-|c" },
	{ "\"john\r\n doe\"@x", "\"john doe\"@x|-|x" },
	/* obs-local-part and obs-domain: CFWS around dots */
	{ "john . doe @ example . com", "john.doe@example.com|-|example.com" },
	{ "john (x) . (y) doe@example.com",
	    "john.doe@example.com|-|example.com" },
	{ "a@(c)b(d).(e)c", "a@b.c|-|b.c" },
	/* obs-route */
	{ "<@a.test,@b.test:user@dom.test>", "user@dom.test|-|dom.test" },
	{ "Name <@a.test:user@d>", "user@d|Name|d" },
	{ "<,@a.test,,@b.test:u@d>", "u@d|-|d" },
	{ "< @a.test , @b.test : u@d >", "u@d|-|d" },
	/* obs empty list elements */
	{ "a,,b", "a|-|-\nb|-|-" },
	{ ", a@b ,, c@d ,", "a@b|-|b\nc@d|-|d" },
	{ ",,,", "" },
	{ "", "" },
	{ "   ", "" },
	{ "(comment only)", "" },
	/* groups */
	{ "G: a@b, c@d;, e@f", "a@b|-|b\nc@d|-|d\ne@f|-|f" },
	{ "G:a@b;", "a@b|-|b" },
	{ "G: ,a@b,,;", "a@b|-|b" },
	{ "G: a@b, c@d", "a@b|-|b\nc@d|-|d" },
	{ "undisclosed-recipients:", "" },
	{ "A.B: x@y;", "x@y|-|y" },
	/* domain literals */
	{ "a@[192.0.2.1]", "a@[192.0.2.1]|-|[192.0.2.1]" },
	{ "a@[ 192.0.2.1 ]", "a@[192.0.2.1]|-|[192.0.2.1]" },
	{ "<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]|-|"
	    "[IPv6:2001:db8::1]" },
	/* folding: CRLF and LF */
	{ "a@b,\r\n c@d", "a@b|-|b\nc@d|-|d" },
	{ "a@b,\n\tc@d", "a@b|-|b\nc@d|-|d" },
	{ "\"John\r\n Smith\" <j@x>", "j@x|John Smith|x" },
	{ "John\n Smith <j@x>", "j@x|John Smith|x" },
	{ "a@b\r\n", "a@b|-|b" },
	{ "a@b\n", "a@b|-|b" },
	/* display names */
	{ "\"Doe, John\" <jd@x>", "jd@x|Doe, John|x" },
	{ "\"\" <a@b>", "a@b|-|b" },
	{ "\"  Padded  \" <a@b>", "a@b|Padded|b" },
	{ "John (middle) Smith <j@x>", "j@x|John Smith|x" },
	{ "\"a\tb\" <x@y>", "x@y|a\tb|y" },
	{ "x@y (a\tb)", "x@y|a\tb|y" },
	{ "a@b (outer (inner) text)", "a@b|outer (inner) text|b" },
	{ "a@b (q\\(uoted\\))", "a@b|q(uoted)|b" },
	{ "<a@b> (Comment Name)", "a@b|Comment Name|b" },
	{ "Name <a@b> (ignored)", "a@b|Name|b" },
	{ "John \"Q\" Public <j@x>", "j@x|John Q Public|x" },
	/* RFC 6532: UTF-8 everywhere */
	{ "张三 <zs@example.cn>", "zs@example.cn|张三|example.cn" },
	{ "Jöhn <jöhn@exämple.org>", "jöhn@exämple.org|Jöhn|exämple.org" },
	{ "用户@例子.广告", "用户@例子.广告|-|例子.广告" },
	{ "\"Jo Ö\"@x", "\"Jo Ö\"@x|-|x" },
	{ "a@b (Grüße)", "a@b|Grüße|b" },
	/* RFC 2047 display names: Chinese charsets */
	{ "=?GB2312?B?1tDOxA==?= <a@b.cn>", "a@b.cn|中文|b.cn" },
	{ "=?gb2312?B?1cXI/Q==?= <zhangsan@example.cn>",
	    "zhangsan@example.cn|张三|example.cn" },
	{ "=?GBK?B?1uzpRrv5?= <z@x>", "z@x|朱镕基|x" },
	{ "=?GB2312?B?1uzpRrv5?= <z@x>", "z@x|朱镕基|x" },
	{ "=?GB18030?B?wO7LxA==?= <ls@x>", "ls@x|李四|x" },
	{ "=?UTF-8?B?546L5bCP5piO?= <w@x>", "w@x|王小明|x" },
	{ "=?utf-8?q?=E7=8E=8B=E5=B0=8F=E6=98=8E?= <w@x>", "w@x|王小明|x" },
	{ "\"=?UTF-8?B?546L5bCP5piO?=\" <w@x>", "w@x|王小明|x" },
	{ "w@x (=?UTF-8?B?546L5bCP5piO?=)", "w@x|王小明|x" },
	{ "=?BIG5?B?wWPF6Q==?= <t@x>", "t@x|繁體|x" },
	{ "=?SHIFT_JIS?B?k/qWe4zq?= <j@x>", "j@x|日本語|x" },
	{ "=?KOI8-R?B?8NLJ18XU?= <r@x>", "r@x|Привет|x" },
	/* RFC 2047 display names: ISO-8859-1 Q, adjacent words */
	{ "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
	    "PIRARD@vm1.ulg.ac.be|André Pirard|vm1.ulg.ac.be" },
	{ "=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>",
	    "moore@cs.utk.edu|Keith Moore|cs.utk.edu" },
	{ "=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>",
	    "keld@dkuug.dk|Keld Jørn Simonsen|dkuug.dk" },
	{ "=?ISO-8859-1?Q?Olle_J=E4rnefors?= <ojarnef@admin.kth.se>",
	    "ojarnef@admin.kth.se|Olle Järnefors|admin.kth.se" },
	{ "=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?= <paf@nada.kth.se>",
	    "paf@nada.kth.se|Patrik Fältström|nada.kth.se" },
	{ "=?UTF-8?Q?Caf=C3=A9?= =?UTF-8?Q?_Noir?= <c@n>", "c@n|Café Noir|n" },
	{ "=?GB2312?B?1cXI/Q==?=\r\n =?UTF-8?B?546L5bCP5piO?= <m@x>",
	    "m@x|张三王小明|x" },
	{ "=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?= <a@b>", "a@b|a b|b" },
	{ "=?x-unknown?Q?abc?= <a@b>", "a@b|=?x-unknown?Q?abc?=|b" },
	{ "=?UTF-8?Q?evil=0D=0ABcc=3A_x=40y?= <a@b>", "a@b|evil  Bcc: x@y|b" },
	/* nesting up to the bound */
	{ "a@b " OPEN16 OPEN16 "x" CLOSE16 CLOSE16,
	    "a@b|" OPEN16 "(((((((((((((((x)))))))))))))))" CLOSE16 "|b" },
};

/* Every parsed spec with a domain is a valid SMTP path, unless its
 * local part holds a tab (which SMTP cannot carry at all). */
static void
check_specs(const struct addr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (l->v[i].domain == NULL || strchr(l->v[i].spec, '\t'))
			continue;
		if (!addr_spec_valid(l->v[i].spec))
			fail_msg("spec not valid: %s", l->v[i].spec);
	}
}

static void
test_valid(void **state)
{
	struct addr_list l;
	struct errbuf eb;
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];

		addr_list_init(&l);
		errbuf_clear(&eb);
		if (addr_parse_list(c->in, strlen(c->in), &l, &eb) != 0)
			fail_msg("\"%s\": %s", c->in, eb.msg);
		got = render(&l);
		if (strcmp(got, c->want) != 0)
			fail_msg("\"%s\":\ngot:\n%s\nwant:\n%s", c->in, got,
			    c->want);
		check_specs(&l);
		free(got);
		addr_list_free(&l);
	}
}

struct local_case {
	const char *in;
	const char *local;
	bool utf8;
};

static const struct local_case local_cases[] = {
	{ "\"john doe\"@example.com", "john doe", false },
	{ "\"a\\\"b\"@x", "a\"b", false },
	{ "\"a\\\\b\"@x", "a\\b", false },
	{ "john . doe@x", "john.doe", false },
	{ "\"john\"@x", "john", false },
	{ "Jöhn <jöhn@example.org>", "jöhn", true },
	{ "user@exämple.org", "user", true },
	{ "Jöhn <john@example.org>", "john", false },
	{ "=?UTF-8?B?546L5bCP5piO?= <w@x>", "w", false },
	{ "\"Jo Ö\"@x", "Jo Ö", true },
};

static void
test_local(void **state)
{
	struct addr_list l;
	struct errbuf eb;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(local_cases) / sizeof(local_cases[0]); i++) {
		addr_list_init(&l);
		assert_int_equal(addr_parse_list(local_cases[i].in,
		    strlen(local_cases[i].in), &l, &eb), 0);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.v[0].local, local_cases[i].local);
		if (l.v[0].utf8 != local_cases[i].utf8)
			fail_msg("\"%s\": utf8 %d", local_cases[i].in,
			    l.v[0].utf8);
		addr_list_free(&l);
	}
}

struct invalid_case {
	const char *in;
	const char *error; /* must appear in the message */
};

static const struct invalid_case invalid_cases[] = {
	/* unterminated things, at the offset where they began */
	{ "\"abc", "unterminated quoted string at offset 0" },
	{ "x, \"abc\\", "unterminated quoted string at offset 3" },
	{ "a@b (x", "unterminated comment at offset 4" },
	{ "a@b (x (y)", "unterminated comment at offset 4" },
	{ "(a\\", "unterminated comment at offset 0" },
	{ "Name <a@b", "unterminated angle address at offset 5" },
	{ "Name <", "unterminated angle address at offset 5" },
	{ "a@[1.2.3.4", "unterminated domain literal at offset 2" },
	/* local part */
	{ "a@b@c", "unexpected second '@' at offset 3" },
	{ "<a@b@c>", "unexpected second '@' at offset 4" },
	{ "@example.com", "empty local part at offset 0" },
	{ "<@example.com>", "empty local part at offset 13" },
	{ "\"\"@example.com", "empty local part at offset 0" },
	{ "Name <\"\"@x>", "empty local part at offset 6" },
	{ "john doe@example.com", "invalid local part at offset 0" },
	{ "a..b@c", "invalid local part at offset 0" },
	{ "x, .a@c", "invalid local part at offset 3" },
	{ "a.@c", "invalid local part at offset 0" },
	/* domain */
	{ "user@", "empty domain after '@' at offset 4" },
	{ "user@ , b@c", "empty domain after '@' at offset 4" },
	{ "Name <user@>", "empty domain after '@' at offset 10" },
	{ "a@exa!mple.com", "bad character '!' in domain at offset 5" },
	{ "a@exa_mple.com", "bad character '_' in domain at offset 5" },
	{ "a@\"quoted\"", "bad character '\"' in domain at offset 2" },
	{ "a@b\"c\"", "bad character '\"' in domain at offset 3" },
	{ "a@b..c", "empty label in domain at offset 4" },
	{ "a@.b", "empty label in domain at offset 2" },
	{ "a@b.", "domain ends with '.' at offset 4" },
	{ "a@[1.2\\.3]", "bad character in domain literal at offset 6" },
	{ "a@[1.2.3.4\xc3\xa9]",
	    "bad character in domain literal at offset 10" },
	{ "a@[]", "empty domain literal at offset 2" },
	/* bytes that are never allowed */
	{ "a\x01" "b@c", "control character 0x01 at offset 1" },
	{ "\"a\x7f\"@c", "control character 0x7f at offset 2" },
	{ "a@b (x\x1b)", "control character 0x1b at offset 6" },
	{ "\"a\x0b\"@c", "control character 0x0b at offset 2" },
	{ "a@b\rc", "bare CR at offset 3" },
	{ "a@b\r", "bare CR at offset 3" },
	{ "a@b,\nc@d", "line break not followed by white space at offset 4" },
	{ "a@b,\r\n\r\n c@d", "line break not followed by white space at "
	    "offset 5" },
	{ "\"a\\\r\n b\"@c", "backslash before line break at offset 2" },
	/* invalid UTF-8 */
	{ "\xc0\xaf@x", "invalid UTF-8 at offset 0" },
	{ "\xc1\xbf@x", "invalid UTF-8 at offset 0" },
	{ "a\xe0\x80\xaf@x", "invalid UTF-8 at offset 1" },
	{ "ab\xf0\x80\x80\xaf@x", "invalid UTF-8 at offset 2" },
	{ "a\xed\xa0\x80@x", "invalid UTF-8 at offset 1" },
	{ "a\xed\xbf\xbf@x", "invalid UTF-8 at offset 1" },
	{ "a@b\xe4\xb8", "invalid UTF-8 at offset 3" },
	{ "a@b\xe4\xb8x", "invalid UTF-8 at offset 3" },
	{ "\xff@x", "invalid UTF-8 at offset 0" },
	{ "\xfe@x", "invalid UTF-8 at offset 0" },
	{ "\xf4\x90\x80\x80@x", "invalid UTF-8 at offset 0" },
	{ "\xf5\x80\x80\x80@x", "invalid UTF-8 at offset 0" },
	{ "\x80@x", "invalid UTF-8 at offset 0" },
	{ "\"J\xc3\" <a@b>", "invalid UTF-8 at offset 2" },
	/* trailing garbage and misplaced specials */
	{ "<a@b> junk", "unexpected text after address at offset 6" },
	{ "a@b c", "unexpected text after address at offset 4" },
	{ "a@b \"c\"", "unexpected text after address at offset 4" },
	{ "a@b >", "unexpected '>' at offset 4" },
	{ ">", "unexpected '>' at offset 0" },
	{ "a@b )", "unbalanced ')' at offset 4" },
	{ "a@b;", "';' outside a group at offset 3" },
	{ "[1.2.3.4]", "unexpected '[' at offset 0" },
	{ "a@b:", "unexpected ':' at offset 3" },
	{ "G: a@b; e@f", "unexpected text after address at offset 8" },
	{ "John Smith", "expected '@' or '<' at offset 10" },
	{ "John Smith, a@b", "expected '@' or '<' at offset 10" },
	{ "Name <a@b c>", "expected '>' at offset 10" },
	{ "<a b@c>", "invalid local part at offset 1" },
	{ "=?UTF-8?Q?a@b?= <c@d>", "bad character '?' in domain at offset 13" },
	/* groups and routes */
	{ "G: H: a@b;;", "nested group at offset 4" },
	{ ": a@b;", "group without a name at offset 0" },
	{ "<>", "empty address <> at offset 0" },
	{ "a@b, <>", "empty address <> at offset 5" },
	{ "<@a.test user@d>", "bad source route at offset 9" },
	{ "<@:user@d>", "empty domain after '@' at offset 1" },
	/* nesting beyond the bound */
	{ "a@b " OPEN16 OPEN16 "(x)" CLOSE16 CLOSE16,
	    "comments nested more than 32 deep at offset 36" },
};

static void
test_invalid(void **state)
{
	struct addr_list l;
	struct errbuf eb;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]);
	    i++) {
		const struct invalid_case *c = &invalid_cases[i];

		addr_list_init(&l);
		errbuf_clear(&eb);
		if (addr_parse_list(c->in, strlen(c->in), &l, &eb) != -1)
			fail_msg("\"%s\" accepted", c->in);
		if (eb.msg[0] == '\0' || strstr(eb.msg, c->error) == NULL)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", c->in,
			    eb.msg, c->error);
		addr_list_free(&l);
	}
}

/* The length-based API may be handed NUL bytes: they are errors. */
static void
test_nul(void **state)
{
	static const char in[] = "a@b, c\0d@e";
	struct addr_list l;
	struct errbuf eb;

	(void)state;
	addr_list_init(&l);
	assert_int_equal(addr_parse_list(in, sizeof(in) - 1, &l, &eb), -1);
	assert_string_equal(eb.msg, "NUL byte at offset 6");
	assert_int_equal(l.n, 0);
	/* the length bounds the parse: the bytes after it are not read */
	assert_int_equal(addr_parse_list(in, 3, &l, &eb), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].spec, "a@b");
	addr_list_free(&l);
	/* an empty text, even a NULL one, is an empty list */
	assert_int_equal(addr_parse_list(NULL, 0, &l, &eb), 0);
	assert_int_equal(l.n, 0);
}

/* On error, what came before stays in the list for the caller. */
static void
test_partial(void **state)
{
	const char *in = "a@b, C <c@d>, bad@";
	struct addr_list l;
	struct errbuf eb;

	(void)state;
	addr_list_init(&l);
	assert_int_equal(addr_parse_list(in, strlen(in), &l, &eb), -1);
	assert_string_equal(eb.msg, "empty domain after '@' at offset 17");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].spec, "c@d");
	addr_list_free(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

static char *
make_long(size_t local_len, const char *prefix, const char *suffix)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, prefix), 0);
	for (i = 0; i < local_len; i++)
		assert_int_equal(buf_putc(&b, 'a'), 0);
	assert_int_equal(buf_puts(&b, suffix), 0);
	return buf_steal(&b);
}

static void
test_max_len(void **state)
{
	struct addr_list l;
	struct errbuf eb;
	char *s;

	(void)state;
	addr_list_init(&l);
	/* exactly ADDR_MAX_LEN octets */
	s = make_long(ADDR_MAX_LEN - 4, "", "@x.y");
	assert_int_equal(addr_parse_list(s, strlen(s), &l, &eb), 0);
	assert_int_equal(strlen(l.v[0].spec), ADDR_MAX_LEN);
	assert_true(addr_spec_valid(l.v[0].spec));
	addr_list_free(&l);
	free(s);
	/* one more */
	s = make_long(ADDR_MAX_LEN - 3, "x@y, Name <", "@x.y>");
	assert_int_equal(addr_parse_list(s, strlen(s), &l, &eb), -1);
	assert_string_equal(eb.msg, "address longer than 998 octets at "
	    "offset 5");
	assert_int_equal(l.n, 1);
	addr_list_free(&l);
	free(s);
	/* quoting counts: the spec is what must fit */
	s = make_long(ADDR_MAX_LEN - 4, "\" ", "\"@x");
	assert_int_equal(addr_parse_list(s, strlen(s), &l, &eb), -1);
	assert_non_null(strstr(eb.msg, "address longer than 998 octets"));
	addr_list_free(&l);
	free(s);
}

/* ---------------------------------------------------------------- speed */

static double
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Big inputs: 10,000-address lists and 100,000-fold hostile shapes must
 * parse correctly.  How fast is a benchmark's business, not a test's
 * (timed assertions fail on loaded machines); the time is only printed.
 */

static double
parse_timed(const char *fmt, const char *head, const char *tail,
    size_t n, const char *want_last)
{
	struct timespec t0;
	struct addr_list l;
	struct errbuf eb;
	struct buf b;
	char last[64];
	size_t i;
	double ms;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, head), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_printf(&b, fmt, i ? ",\r\n " : "", i, i),
		    0);
	assert_int_equal(buf_puts(&b, tail), 0);
	addr_list_init(&l);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (addr_parse_list(b.data, b.len, &l, &eb) != 0)
		fail_msg("%s", eb.msg);
	ms = elapsed_ms(&t0);
	assert_int_equal(l.n, n);
	snprintf(last, sizeof(last), want_last, n - 1);
	assert_string_equal(l.v[n - 1].spec, last);
	assert_true(l.cap < 4 * n);
	addr_list_free(&l);
	buf_fini(&b);
	return ms;
}

static void
parse_big(const char *fmt, const char *head, const char *tail,
    const char *want_last)
{
	double ms;

	ms = parse_timed(fmt, head, tail, 10000, want_last);
	printf("# 10000 addresses parsed in %.1f ms\n", ms);
}

static void
test_speed(void **state)
{
	(void)state;
	parse_big("%sRecipient Number %zu <recipient.%zu@example.com>", "",
	    "", "recipient.%zu@example.com");
	parse_big("%suser%zu@example.com (User %zu)", "", "",
	    "user%zu@example.com");
	parse_big("%s\"Doe, %zu\" <u%zu@x.example>", "Everyone: ", ";",
	    "u%zu@x.example");
	parse_big("%s=?GB2312?B?1tDOxA==?= %zu <u%zu@x.cn>", "", "",
	    "u%zu@x.cn");
	parse_big("%s<@r%zu.example:u%zu@x.example>", "", "",
	    "u%zu@x.example");
}

/* Hostile shapes stay linear too: n repetitions of unit (between
 * head and tail) parse with the expected result. */
static double
hostile_timed(const char *unit, size_t n, int want_rc, size_t want_n)
{
	struct timespec t0;
	struct addr_list l;
	struct errbuf eb;
	struct buf b;
	size_t i;
	double ms;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_puts(&b, unit), 0);
	if (want_n > 0) {
		assert_int_equal(buf_puts(&b, "a@b"), 0);
		for (i = 0; i < n; i++)
			assert_int_equal(buf_puts(&b, unit), 0);
	}
	addr_list_init(&l);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(addr_parse_list(b.data, b.len, &l, &eb), want_rc);
	ms = elapsed_ms(&t0);
	assert_int_equal(l.n, want_n);
	addr_list_free(&l);
	buf_fini(&b);
	return ms;
}

static void
test_speed_hostile(void **state)
{
	static const struct {
		const char *unit;
		int rc;
		size_t n;
	} shapes[] = {
		{ ",", 0, 0 },
		{ "(", -1, 0 },
		{ "a .", -1, 0 },
		{ "(x)", 0, 1 },
		{ "\r\n ", 0, 1 },
		{ "\"", -1, 0 },
	};
	double ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		ms = hostile_timed(shapes[i].unit, 100000, shapes[i].rc,
		    shapes[i].n);
		printf("# 100000 x \"%s\" parsed in %.1f ms\n",
		    shapes[i].unit[0] == '\r' ? "CRLF SP" : shapes[i].unit, ms);
	}
}

/* ---------------------------------------------------------------- one */

struct one_case {
	const char *in;
	bool allow_null;
	const char *spec; /* NULL: must fail */
	const char *display; /* or error substring when spec is NULL */
	const char *domain;
};

static const struct one_case one_cases[] = {
	{ "user", false, "user", NULL, NULL },
	{ "user@example.org", false, "user@example.org", NULL,
	    "example.org" },
	{ "<user@example.org>", false, "user@example.org", NULL,
	    "example.org" },
	{ "Name <user@example.org>", false, "user@example.org", "Name",
	    "example.org" },
	{ "user@example.org (Comment)", false, "user@example.org",
	    "Comment", "example.org" },
	{ "\"john doe\"@example.org", false, "\"john doe\"@example.org",
	    NULL, "example.org" },
	{ " <root> ", false, "root", NULL, NULL },
	{ "<@relay.example:user@example.org>", true, "user@example.org",
	    NULL, "example.org" },
	{ "jöhn@exämple.org", false, "jöhn@exämple.org", NULL,
	    "exämple.org" },
	/* the null sender */
	{ "<>", true, "", NULL, NULL },
	{ "<>", false, "", NULL, NULL },
	{ " < > ", true, "", NULL, NULL },
	{ "", true, "", NULL, NULL },
	{ "  ", true, "", NULL, NULL },
	{ "", false, NULL, "empty address", NULL },
	{ "(just a comment)", false, NULL, "empty address", NULL },
	/* one address only */
	{ "a@b, c@d", false, NULL, "more than one address (',' at offset 3)",
	    NULL },
	{ "a@b,", false, NULL, "more than one address", NULL },
	{ "G: a@b;", false, NULL, "group not allowed here (':' at offset 1)",
	    NULL },
	{ "a@b junk", false, NULL, "unexpected text after address at offset 4",
	    NULL },
	{ "a@b@c", false, NULL, "unexpected second '@' at offset 3", NULL },
	{ "user@", true, NULL, "empty domain after '@' at offset 4", NULL },
	{ "<user@example.org", true, NULL, "unterminated angle address at "
	    "offset 0", NULL },
	{ "\xc0\xaf", true, NULL, "invalid UTF-8 at offset 0", NULL },
	{ "a\nb", true, NULL, "line break not followed by white space", NULL },
};

static void
test_one(void **state)
{
	struct errbuf eb;
	struct addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(one_cases) / sizeof(one_cases[0]); i++) {
		const struct one_case *c = &one_cases[i];
		int rc;

		errbuf_clear(&eb);
		rc = addr_parse_one(c->in, c->allow_null, &a, &eb);
		if (c->spec == NULL) {
			if (rc != -1)
				fail_msg("\"%s\" accepted", c->in);
			if (strstr(eb.msg, c->display) == NULL)
				fail_msg("\"%s\": got \"%s\", want \"%s\"",
				    c->in, eb.msg, c->display);
			assert_null(a.spec);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": %s", c->in, eb.msg);
		assert_string_equal(a.spec, c->spec);
		if (c->display == NULL)
			assert_null(a.display);
		else
			assert_string_equal(a.display, c->display);
		if (c->domain == NULL)
			assert_null(a.domain);
		else
			assert_string_equal(a.domain, c->domain);
		assert_non_null(a.local);
		addr_free(&a);
		assert_null(a.spec);
	}
}

/* ---------------------------------------------------------------- specs */

static const char *const spec_valid[] = {
	"a@b",
	"john.doe@example.com",
	"\"john doe\"@example.com",
	"\"a\\\"b\"@x",
	"\"a@b\"@c",
	"jöhn@exämple.org",
	"用户@例子.广告",
	"a@[192.0.2.1]",
	"a@[IPv6:2001:db8::1]",
	"!#$%&'*+-/=?^_`{|}~@x",
	"User.Name+tag@Sub-Domain.Example.COM",
};

static const char *const spec_invalid[] = {
	"",
	"a",
	"@b",
	"a@",
	"a@b@c",
	"a..b@c",
	".a@b",
	"a.@b",
	"a@b..c",
	"a@.b",
	"a@b.",
	"Name <a@b>",
	"<a@b>",
	"a@b (c)",
	"a @b",
	"a@ b",
	"\"a@b",
	"\"\"@b",
	"\"a\"b@c",
	"a b@c",
	"a@b c",
	"a@[1.2.3.4",
	"a@[]",
	"a@[1[2]",
	"a@exa_mple",
	"a@exa!mple",
	"a\t@b",
	"\"a\tb\"@c",
	"a@b\r\n",
	"\xc0\xaf@b",
	"a@b\xed\xa0\x80",
	"a@\"b\"",
};

static void
test_spec_valid(void **state)
{
	char *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(spec_valid) / sizeof(spec_valid[0]); i++)
		if (!addr_spec_valid(spec_valid[i]))
			fail_msg("rejected: %s", spec_valid[i]);
	for (i = 0; i < sizeof(spec_invalid) / sizeof(spec_invalid[0]); i++)
		if (addr_spec_valid(spec_invalid[i]))
			fail_msg("accepted: %s", spec_invalid[i]);
	assert_false(addr_spec_valid(NULL));
	s = make_long(ADDR_MAX_LEN - 2, "", "@x");
	assert_true(addr_spec_valid(s));
	free(s);
	s = make_long(ADDR_MAX_LEN - 1, "", "@x");
	assert_false(addr_spec_valid(s));
	free(s);
}

struct make_case {
	const char *local;
	const char *domain;
	const char *spec;
};

static const struct make_case make_cases[] = {
	{ "john", "example.com", "john@example.com" },
	{ "john.doe", "x", "john.doe@x" },
	{ "john doe", "x", "\"john doe\"@x" },
	{ "a\"b", NULL, "\"a\\\"b\"" },
	{ "a\\b", "x", "\"a\\\\b\"@x" },
	{ "", "x", "\"\"@x" },
	{ "a.b", NULL, "a.b" },
	{ ".a", "x", "\".a\"@x" },
	{ "a..b", "x", "\"a..b\"@x" },
	{ "a@b", "c", "\"a@b\"@c" },
	{ "jöhn", "exämple.org", "jöhn@exämple.org" },
	{ "root", NULL, "root" },
	{ "x", "[192.0.2.1]", "x@[192.0.2.1]" },
};

static void
test_make_spec(void **state)
{
	char *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(make_cases) / sizeof(make_cases[0]); i++) {
		s = addr_make_spec(make_cases[i].local, make_cases[i].domain);
		assert_non_null(s);
		assert_string_equal(s, make_cases[i].spec);
		if (make_cases[i].domain != NULL && make_cases[i].local[0])
			assert_true(addr_spec_valid(s));
		free(s);
	}
}

/* A display name written with rfc2047_encode_phrase parses back to
 * itself, folded or not. */
static void
test_phrase_round_trip(void **state)
{
	static const char *const names[] = {
		"John Smith",
		"Joe Q. Public",
		"Giant; \"Big\" Box",
		"back\\slash",
		"Doe, John",
		"张三丰",
		"Ünïcödé Nämé",
		"=?fake?Q?x?=",
		"Keld Jørn Simonsen",
		"中华人民共和国中华人民共和国中华人民共和国中华人民共和国"
		"中华人民共和国中华人民共和国",
		"A very long name with accents àéîõü that needs several "
		"encoded words to fit in seventy-eight columns",
	};
	struct addr_list l;
	struct errbuf eb;
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		buf_init(&b, 0);
		assert_int_equal(rfc2047_encode_phrase(names[i], 4, &b), 0);
		assert_int_equal(buf_puts(&b, " <a@b.example>"), 0);
		addr_list_init(&l);
		if (addr_parse_list(b.data, b.len, &l, &eb) != 0)
			fail_msg("%s: %s", b.data, eb.msg);
		assert_int_equal(l.n, 1);
		assert_non_null(l.v[0].display);
		if (strcmp(l.v[0].display, names[i]) != 0)
			fail_msg("%s: got \"%s\"", b.data, l.v[0].display);
		addr_list_free(&l);
		buf_fini(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_max_len),
		cmocka_unit_test(test_speed),
		cmocka_unit_test(test_speed_hostile),
		cmocka_unit_test(test_one),
		cmocka_unit_test(test_spec_valid),
		cmocka_unit_test(test_make_spec),
		cmocka_unit_test(test_phrase_round_trip),
	};

	return UNIT_RUN(tests);
}
