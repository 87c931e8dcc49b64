/*
 * Unit tests for the SMTP client: the pure parts (reply lines and
 * replies, enhanced status codes, EHLO capabilities, MAIL/RCPT text, the
 * DATA encoder, SASL blobs and exchanges, TLS helpers) table by table,
 * then whole sessions against a scripted server on the loopback
 * interface, in-process on the same event loop, for what a real peer
 * will not do on demand (replies out of the ordinary, injection after
 * STARTTLS, 421 while idle, a body file that ends early...).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "envelope.h"
#include "smtpc.h"
#include "smtpc_auth.h"
#include "smtpc_proto.h"
#include "smtpc_tls.h"
#include "unit.h"

/* ---------------------------------------------------------- reply lines */

struct line_case {
	const char *line;
	int ok;
	int code;
	bool more;
	size_t off;
};

static const struct line_case line_cases[] = {
	{ "250-PIPELINING", 1, 250, true, 4 },
	{ "250 OK", 1, 250, false, 4 },
	{ "250", 1, 250, false, 3 },
	{ "250-", 1, 250, true, 4 },
	{ "550 5.1.1 No such user", 1, 550, false, 4 },
	{ "220-relay.test ESMTP", 1, 220, true, 4 },
	{ "421 4.3.2 bye", 1, 421, false, 4 },
	{ "354 go", 1, 354, false, 4 },
	{ "334 ", 1, 334, false, 4 },
	{ "", 0, 0, false, 0 },
	{ "25", 0, 0, false, 0 },
	{ "2500 x", 0, 0, false, 0 },
	{ "250x", 0, 0, false, 0 },
	{ "abc def", 0, 0, false, 0 },
	{ "600 too high", 0, 0, false, 0 },
	{ "199 too low", 0, 0, false, 0 },
	{ "260 bad second digit", 0, 0, false, 0 },
	{ "2a0 letters", 0, 0, false, 0 },
	{ " 250 leading space", 0, 0, false, 0 },
	{ "250\t tab", 0, 0, false, 0 },
};

static void
test_reply_lines(void **state)
{
	size_t i, off;
	bool more;
	int code, rc;

	(void)state;
	for (i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		const struct line_case *c = &line_cases[i];

		code = -1;
		rc = smtpc_parse_reply_line(c->line, strlen(c->line), &code,
		    &more, &off);
		if (!c->ok) {
			assert_int_equal(rc, -1);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(code, c->code);
		assert_int_equal(more, c->more);
		assert_int_equal(off, c->off);
	}
}

struct status_case {
	const char *text;
	int code;
	size_t len;
};

static const struct status_case status_cases[] = {
	{ "5.1.1 No such user", 550, 5 },
	{ "2.0.0 Ok", 250, 5 },
	{ "4.7.0", 421, 5 },
	{ "5.123.456 long", 554, 9 },
	{ "2.1.5", 250, 5 },
	{ "5.1.1", 250, 0 },        /* class must match the code */
	{ "5.1234.1 x", 550, 0 },   /* subject too long */
	{ "5.1.1234 x", 550, 0 },
	{ "5..1 x", 550, 0 },
	{ "5.1. x", 550, 0 },
	{ "5.1.1x", 550, 0 },       /* must end at a space */
	{ "3.1.1 x", 354, 0 },      /* no class 3 */
	{ "Ok 2.0.0", 250, 0 },
	{ "", 250, 0 },
	{ "5.1", 550, 0 },
};

static void
test_enhanced_status(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
		const struct status_case *c = &status_cases[i];

		assert_int_equal(smtpc_enhanced_status(c->text, strlen(c->text),
		    c->code), c->len);
	}
}

/* Feed lines to a reader; the last return value. */
static int
feed_all(struct smtpc_reader *r, const char *const *lines, size_t n,
    struct errbuf *eb)
{
	size_t i;
	int rc = -2;

	for (i = 0; i < n; i++)
		if ((rc = smtpc_reader_feed(r, lines[i], strlen(lines[i]),
		    eb)) != 0)
			return rc;
	return rc;
}

static void
test_reader_multiline(void **state)
{
	static const char *const lines[] = { "550-5.1.1 The email account",
		"550-5.1.1 does not exist.", "550 5.1.1 Try again." };
	static const char *const ehlo[] = { "250-relay.test Hello",
		"250-PIPELINING", "250 SIZE 1000" };
	struct smtpc_reader r;
	struct errbuf eb;

	(void)state;
	smtpc_reader_init(&r);
	assert_int_equal(smtpc_reader_feed(&r, lines[0], strlen(lines[0]),
	    &eb), 0);
	assert_int_equal(feed_all(&r, lines + 1, 2, &eb), 1);
	assert_int_equal(r.reply.code, 550);
	assert_string_equal(r.reply.status, "5.1.1");
	assert_string_equal(r.reply.text,
	    "The email account does not exist. Try again.");
	smtpc_reader_reset(&r);
	assert_int_equal(feed_all(&r, ehlo, 3, &eb), 1);
	assert_string_equal(r.reply.text,
	    "relay.test Hello PIPELINING SIZE 1000");
	assert_string_equal(r.reply.status, "");
	assert_string_equal(r.lines.data,
	    "relay.test Hello\nPIPELINING\nSIZE 1000\n");
	smtpc_reader_reset(&r);
	assert_int_equal(smtpc_reader_feed(&r, "250", 3, &eb), 1);
	assert_string_equal(r.reply.text, "");
	smtpc_reader_reset(&r);
	assert_int_equal(smtpc_reader_feed(&r, "250 2.0.0", 9, &eb), 1);
	assert_string_equal(r.reply.status, "2.0.0");
	assert_string_equal(r.reply.text, "");
	smtpc_reader_fini(&r);
}

static void
test_reader_errors(void **state)
{
	static const char *const changed[] = { "250-one", "251 two" };
	struct smtpc_reader r;
	struct errbuf eb;
	char line[600];
	int i, rc = 0;

	(void)state;
	smtpc_reader_init(&r);
	assert_int_equal(feed_all(&r, changed, 2, &eb), -1);
	assert_non_null(strstr(eb.msg, "reply code changed from 250 to 251"));
	smtpc_reader_reset(&r);
	assert_int_equal(smtpc_reader_feed(&r, "hello\x01world", 11, &eb), -1);
	assert_string_equal(eb.msg, "malformed reply line \"hello?world\"");
	smtpc_reader_reset(&r);
	for (i = 0; i < SMTPC_REPLY_LINES_MAX && rc == 0; i++)
		rc = smtpc_reader_feed(&r, "250-x", 5, &eb);
	assert_int_equal(rc, 0);
	assert_int_equal(smtpc_reader_feed(&r, "250 x", 5, &eb), -1);
	assert_non_null(strstr(eb.msg, "longer than 1000 lines"));
	/* Control bytes are masked; the joined text is cut, not overrun. */
	smtpc_reader_reset(&r);
	memset(line, 'a', sizeof(line));
	memcpy(line, "554-x\ty\x7f", 8);
	assert_int_equal(smtpc_reader_feed(&r, line, sizeof(line), &eb), 0);
	assert_int_equal(smtpc_reader_feed(&r, "554 more", 8, &eb), 1);
	assert_memory_equal(r.reply.text, "x?y?aaa", 7);
	assert_int_equal(strlen(r.reply.text), sizeof(r.reply.text) - 1);
	smtpc_reader_fini(&r);
}

/* ---------------------------------------------------------- EHLO */

static void
test_caps(void **state)
{
	static const char lines[] = "relay.test PIPELINING greets you\n"
	    "PIPELINING\nsize 35882577\n8BITMIME\nSMTPUTF8\nDSN\n"
	    "ENHANCEDSTATUSCODES\nSTARTTLS\nAUTH PLAIN LOGIN GSSAPI\n"
	    "AUTH=LOGIN XOAUTH2\nREQUIRETLS\nCHUNKING\nHELP\n";
	struct smtpc_caps c;

	(void)state;
	smtpc_caps_parse(&c, lines, strlen(lines));
	assert_true(c.esmtp && c.pipelining && c.size && c.eightbitmime);
	assert_true(c.smtputf8 && c.dsn && c.enhanced && c.starttls);
	assert_true(c.requiretls && c.auth);
	assert_int_equal(c.size_max, 35882577);
	assert_int_equal(c.auth_mechs, SMTPC_AUTH_MECH_PLAIN |
	    SMTPC_AUTH_MECH_LOGIN | SMTPC_AUTH_MECH_XOAUTH2);
	assert_string_equal(c.auth_list, "PLAIN LOGIN GSSAPI XOAUTH2");

	/* The first line is the server's name, never a keyword. */
	smtpc_caps_parse(&c, "STARTTLS\nSIZE\nAUTH\n", 19);
	assert_false(c.starttls);
	assert_true(c.size);
	assert_int_equal(c.size_max, 0);
	assert_true(c.auth);
	assert_int_equal(c.auth_mechs, 0);
	smtpc_caps_parse(&c, "x\nSIZE 12x\nAUTH NTLM\nSTARTTLSX\n", 31);
	assert_true(c.size);
	assert_int_equal(c.size_max, 0);
	assert_string_equal(c.auth_list, "NTLM");
	assert_false(c.starttls);
	assert_int_equal(c.auth_mechs, 0);
}

/* ---------------------------------------------------------- commands */

static void
test_cmd_mail(void **state)
{
	struct smtpc_caps all = { .esmtp = true, .size = true,
		.eightbitmime = true, .dsn = true }, none = { .esmtp = true };
	struct smtpc_msg m = { .sender = "a@b.test", .size = 1234,
		.body_8bit = true, .smtputf8 = true,
		.ret = ENVELOPE_RET_HDRS, .envid = "q+1=x y" };
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(smtpc_cmd_mail(&b, &m, &all), 0);
	assert_string_equal(b.data, "MAIL FROM:<a@b.test> SIZE=1234 "
	    "BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=q+2B1+3Dx+20y\r\n");
	buf_reset(&b);
	m.smtputf8 = false;
	m.requiretls = true;
	assert_int_equal(smtpc_cmd_mail(&b, &m, &none), 0);
	assert_string_equal(b.data, "MAIL FROM:<a@b.test> REQUIRETLS\r\n");
	buf_reset(&b);
	m = (struct smtpc_msg){ .sender = "", .ret = ENVELOPE_RET_FULL };
	assert_int_equal(smtpc_cmd_mail(&b, &m, &all), 0);
	assert_string_equal(b.data, "MAIL FROM:<> RET=FULL\r\n");
	buf_fini(&b);
}

static void
test_cmd_rcpt(void **state)
{
	struct smtpc_caps dsn = { .esmtp = true, .dsn = true },
	    none = { .esmtp = true };
	struct smtpc_rcpt r = { .addr = "b@c.test",
		.notify = ENVELOPE_NOTIFY_SUCCESS | ENVELOPE_NOTIFY_FAILURE |
		ENVELOPE_NOTIFY_DELAY, .orcpt = "rfc822;B+x@c.test" };
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(smtpc_cmd_rcpt(&b, &r, &dsn), 0);
	assert_string_equal(b.data, "RCPT TO:<b@c.test> "
	    "NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;B+2Bx@c.test\r\n");
	buf_reset(&b);
	assert_int_equal(smtpc_cmd_rcpt(&b, &r, &none), 0);
	assert_string_equal(b.data, "RCPT TO:<b@c.test>\r\n");
	buf_reset(&b);
	r.notify = ENVELOPE_NOTIFY_NEVER | ENVELOPE_NOTIFY_DELAY;
	r.orcpt = "no-semicolon";
	assert_int_equal(smtpc_cmd_rcpt(&b, &r, &dsn), 0);
	assert_string_equal(b.data, "RCPT TO:<b@c.test> NOTIFY=NEVER\r\n");
	buf_fini(&b);
}

static void
test_addr_ok(void **state)
{
	(void)state;
	assert_true(smtpc_addr_ok("", false));
	assert_true(smtpc_addr_ok("a@b.test", false));
	assert_true(smtpc_addr_ok("\"john doe\"@b.test", false));
	assert_false(smtpc_addr_ok("a@b.test\r\nRCPT TO:<x@y>", false));
	assert_false(smtpc_addr_ok("a>@b", false));
	assert_false(smtpc_addr_ok("j\xc3\xb6@b.test", false));
	assert_true(smtpc_addr_ok("j\xc3\xb6@b.test", true));
	assert_false(smtpc_addr_ok("j\xc3@b.test", true));
}

/* ---------------------------------------------------------- DATA */

/* Encode head, then the body in chunks of step octets, then the end;
 * the result is NUL-terminated for the comparisons. */
static char *
encode_n(const char *head, size_t hl, const char *body, size_t bl,
    size_t step, size_t *outlen)
{
	char *out = malloc(SMTPC_DATA_MAX(hl) + SMTPC_DATA_MAX(bl) + 16);
	struct smtpc_data d;
	size_t n = 0, i, k, got;

	assert_non_null(out);
	smtpc_data_init(&d);
	got = smtpc_data_head(&d, head, hl, out);
	assert_true(got <= SMTPC_DATA_MAX(hl));
	n += got;
	for (i = 0; i < bl; i += k) {
		k = bl - i < step ? bl - i : step;
		got = smtpc_data_body(&d, body + i, k, out + n);
		assert_true(got <= SMTPC_DATA_MAX(k));
		n += got;
	}
	n += smtpc_data_end(&d, out + n);
	out[n] = '\0';
	*outlen = n;
	return out;
}

static void
check_encoding(const char *head, const char *body, const char *want)
{
	static const size_t steps[] = { 1, 2, 3, 7, 4096 };
	size_t i, n;
	char *got;

	/* However the body is cut into chunks, the result is the same. */
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		got = encode_n(head, strlen(head), body, strlen(body), steps[i],
		    &n);
		assert_string_equal(got, want);
		free(got);
	}
}

static void
test_data_basic(void **state)
{
	(void)state;
	check_encoding("Subject: x\n\n", "a\n.b\n..c\n.\nend\n",
	    "Subject: x\r\n\r\na\r\n..b\r\n...c\r\n..\r\nend\r\n.\r\n");
	check_encoding("", "", ".\r\n");
	check_encoding("", "no newline", "no newline\r\n.\r\n");
	check_encoding("A: b\r\n\r\n", "crlf\r\nbare\rcr\r",
	    "A: b\r\n\r\ncrlf\r\nbare\r\ncr\r\n.\r\n");
	check_encoding("A: b\n.dot: header\n\n", ".", "A: b\r\n..dot: header"
	    "\r\n\r\n..\r\n.\r\n");
	check_encoding("Unterminated: head", "body\n",
	    "Unterminated: head\r\nbody\r\n.\r\n");
}

/* Every line of the encoded text, CRLF ended, at most 998 octets, no
 * bare CR or LF, and no "." line before the end. */
static void
check_lines(const char *out, size_t n)
{
	size_t i, start = 0;

	assert_true(n >= 3);
	assert_memory_equal(out + n - 3, ".\r\n", 3);
	for (i = 0; i < n; i++) {
		if (out[i] == '\r') {
			assert_true(i + 1 < n && out[i + 1] == '\n');
			assert_true(i - start <= SMTPC_DATA_LINE_MAX);
			if (i + 2 < n)
				assert_false(i - start == 1 &&
				    out[start] == '.');
			start = i + 2;
			i++;
		} else
			assert_true(out[i] != '\n');
	}
}

static void
test_data_long_lines(void **state)
{
	char body[2100], want[2200], *got;
	size_t n;

	(void)state;
	memset(body, 'a', 998);
	strcpy(body + 998, "\n");
	memcpy(want, body, 998);
	strcpy(want + 998, "\r\n.\r\n");
	check_encoding("", body, want);

	/* 999: cut at 998, the rest after CRLF SP. */
	memset(body, 'a', 999);
	strcpy(body + 999, "\n");
	memset(want, 'a', 998);
	strcpy(want + 998, "\r\n a\r\n.\r\n");
	check_encoding("", body, want);

	/* A '.' after the cut is not stuffed: the line starts with SP. */
	memset(body, 'a', 998);
	strcpy(body + 998, ".\n");
	memset(want, 'a', 998);
	strcpy(want + 998, "\r\n .\r\n.\r\n");
	check_encoding("", body, want);

	/* The stuffed dot counts toward the limit. */
	body[0] = '.';
	memset(body + 1, 'a', 997);
	strcpy(body + 998, "\n");
	want[0] = want[1] = '.';
	memset(want + 2, 'a', 996);
	strcpy(want + 998, "\r\n a\r\n.\r\n");
	check_encoding("", body, want);

	/* A UTF-8 sequence is never split. */
	memset(body, 'a', 997);
	strcpy(body + 997, "\xc3\xa9\n");
	memset(want, 'a', 997);
	strcpy(want + 997, "\r\n \xc3\xa9\r\n.\r\n");
	check_encoding("", body, want);

	memset(body, 'x', 2000);
	body[2000] = '\0';
	got = encode_n("", 0, body, 2000, 333, &n);
	check_lines(got, n);
	assert_int_equal(n, 2000 + 2 * 3 + 2 + 3);
	free(got);
}

/* Undo RFC 5322 folding: drop each CRLF that precedes a space or tab. */
static void
unfold(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\r' && s[1] == '\n' && (s[2] == ' ' ||
		    s[2] == '\t')) {
			s++;
			continue;
		}
		*w++ = *s;
	}
	*w = '\0';
}

static void
test_data_header_fold(void **state)
{
	char head[4000], want[4100], *got;
	size_t n, i, len;

	(void)state;
	/* Words: folded before white space, content unchanged. */
	len = (size_t)snprintf(head, sizeof(head), "Subject:");
	for (i = 0; len < 2500; i++)
		len += (size_t)snprintf(head + len, sizeof(head) - len,
		    "%sword%zu", i % 7 == 6 ? "\t" : " ", i);
	snprintf(want, sizeof(want), "%s\r\n\r\n", head);
	strcat(head, "\n\n");
	got = encode_n(head, strlen(head), "", 0, 1, &n);
	check_lines(got, n);
	assert_non_null(strstr(got, "\r\n "));
	got[n - 3] = '\0';
	unfold(got);
	assert_string_equal(got, want);
	free(got);

	/* One long token: cut, continued after CRLF SP. */
	memcpy(head, "X-Long: ", 8);
	memset(head + 8, 'b', 1500);
	strcpy(head + 1508, "\n\n");
	got = encode_n(head, strlen(head), "", 0, 1, &n);
	check_lines(got, n);
	assert_memory_equal(got, "X-Long:\r\n bbb", 13);
	assert_non_null(strstr(got + 9, "b\r\n b"));
	free(got);
}

static void
test_data_random(void **state)
{
	static const char alphabet[] = "aaaaaaaaaa    ...\n\n\r\xc3\xa9x";
	char *body = malloc(6000), *a, *b;
	size_t len, na, nb, i, round;
	unsigned seed = 12345;

	(void)state;
	assert_non_null(body);
	for (round = 0; round < 300; round++) {
		seed = seed * 1103515245 + 12345;
		len = (seed >> 8) % 6000;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			body[i] = alphabet[(seed >> 16) % (sizeof(alphabet) -
			    1)];
			/* Some long runs without line ends. */
			if (round % 5 == 0 && (body[i] == '\n' ||
			    body[i] == '\r'))
				body[i] = 'z';
		}
		a = encode_n("", 0, body, len, len + 1, &na);
		b = encode_n("", 0, body, len, 1 + (seed >> 20) % 700, &nb);
		check_lines(a, na);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na);
		free(a);
		free(b);
	}
	free(body);
}

/* ---------------------------------------------------------- AUTH */

static void
test_auth_blobs(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(smtpc_auth_plain_blob("tim", "tanstaaftanstaaf", &b),
	    0);
	assert_string_equal(b.data, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	buf_reset(&b);
	/* RFC 2195's example. */
	assert_int_equal(smtpc_auth_cram_md5("tim", "tanstaaftanstaaf",
	    "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", &b),
	    0);
	assert_string_equal(b.data,
	    "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	buf_reset(&b);
	assert_int_equal(smtpc_auth_cram_md5("tim", "x", "not base64!", &b),
	    -1);
	buf_reset(&b);
	/* Google's documented example. */
	assert_int_equal(smtpc_auth_xoauth2_blob("someuser@example.com",
	    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg", &b), 0);
	assert_string_equal(b.data, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdX"
	    "RoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRH"
	    "RXVZMjl0Q2cBAQ==");
	smtpc_auth_wipe(&b);
}

static void
test_auth_base64(void **state)
{
	static const struct {
		const char *in;
		int rc;
		const char *out;
	} cases[] = {
		{ "", 0, "" }, { "YQ==", 0, "a" }, { "YWI=", 0, "ab" },
		{ "YWJj", 0, "abc" }, { " YWJj\t", 0, "abc" },
		{ "YWJ", -1, NULL }, { "YW!j", -1, NULL },
		{ "VXNlcm5hbWU6", 0, "Username:" },
	};
	struct buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&b, 0);
		assert_int_equal(smtpc_auth_b64_decode(cases[i].in,
		    strlen(cases[i].in), &b), cases[i].rc);
		if (cases[i].rc == 0)
			assert_string_equal(b.data != NULL ? b.data : "",
			    cases[i].out);
		buf_fini(&b);
	}
	buf_init(&b, 0);
	assert_int_equal(smtpc_auth_b64_encode("\0\xff", 2, &b), 0);
	assert_string_equal(b.data, "AP8=");
	buf_fini(&b);
}

static void
test_auth_choose(void **state)
{
	const unsigned all = SMTPC_AUTH_MECH_PLAIN | SMTPC_AUTH_MECH_LOGIN |
	    SMTPC_AUTH_MECH_CRAM_MD5 | SMTPC_AUTH_MECH_XOAUTH2;
	enum smtpc_auth_mode m = SMTPC_AUTH_NONE;

	(void)state;
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_AUTO, all, true, true,
	    &m), 0);
	assert_int_equal(m, SMTPC_AUTH_XOAUTH2);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_AUTO, all, true, false,
	    &m), 0);
	assert_int_equal(m, SMTPC_AUTH_CRAM_MD5);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_AUTO,
	    SMTPC_AUTH_MECH_LOGIN | SMTPC_AUTH_MECH_PLAIN, true, false, &m), 0);
	assert_int_equal(m, SMTPC_AUTH_PLAIN);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_AUTO,
	    SMTPC_AUTH_MECH_LOGIN, true, false, &m), 0);
	assert_int_equal(m, SMTPC_AUTH_LOGIN);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_AUTO,
	    SMTPC_AUTH_MECH_XOAUTH2, true, false, &m), -1);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_AUTO, all, false, false,
	    &m), -1);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_LOGIN, all, true, false,
	    &m), 0);
	assert_int_equal(m, SMTPC_AUTH_LOGIN);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_CRAM_MD5,
	    SMTPC_AUTH_MECH_PLAIN, true, false, &m), -1);
	assert_int_equal(smtpc_auth_choose(SMTPC_AUTH_XOAUTH2, all, true,
	    false, &m), -1);
	assert_int_equal(smtpc_auth_mech_bit("cram-md5", 8),
	    SMTPC_AUTH_MECH_CRAM_MD5);
	assert_int_equal(smtpc_auth_mech_bit("GSSAPI", 6), 0);
}

/* One step of an exchange: feed code/text, expect result and line. */
static void
auth_expect(struct smtpc_auth *a, int code, const char *text,
    enum smtpc_auth_result want, const char *line)
{
	struct errbuf eb;
	struct buf out;

	buf_init(&out, 0);
	assert_int_equal(smtpc_auth_step(a, code, text, &out, &eb), want);
	if (line != NULL)
		assert_string_equal(out.data, line);
	smtpc_auth_wipe(&out);
}

static void
test_auth_exchanges(void **state)
{
	struct smtpc_auth a;
	struct errbuf eb;
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	smtpc_auth_init(&a, SMTPC_AUTH_LOGIN, "alice", "pw", NULL);
	assert_int_equal(smtpc_auth_start(&a, &out, &eb), 0);
	assert_string_equal(out.data, "AUTH LOGIN\r\n");
	auth_expect(&a, 334, "VXNlcm5hbWU6", SMTPC_AUTH_SEND, "YWxpY2U=\r\n");
	auth_expect(&a, 334, "UGFzc3dvcmQ6", SMTPC_AUTH_SEND, "cHc=\r\n");
	auth_expect(&a, 334, "", SMTPC_AUTH_FAIL, NULL);
	auth_expect(&a, 235, "2.7.0 ok", SMTPC_AUTH_DONE, NULL);

	buf_reset(&out);
	smtpc_auth_init(&a, SMTPC_AUTH_PLAIN, "tim", "tanstaaftanstaaf", NULL);
	assert_int_equal(smtpc_auth_start(&a, &out, &eb), 0);
	assert_string_equal(out.data,
	    "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
	auth_expect(&a, 334, "", SMTPC_AUTH_SEND,
	    "AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n");
	auth_expect(&a, 535, "bad", SMTPC_AUTH_FAIL, NULL);

	buf_reset(&out);
	smtpc_auth_init(&a, SMTPC_AUTH_CRAM_MD5, "tim", "tanstaaftanstaaf",
	    NULL);
	assert_int_equal(smtpc_auth_start(&a, &out, &eb), 0);
	assert_string_equal(out.data, "AUTH CRAM-MD5\r\n");
	auth_expect(&a, 334,
	    "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
	    SMTPC_AUTH_SEND,
	    "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");

	smtpc_auth_init(&a, SMTPC_AUTH_CRAM_MD5, "tim", "x", NULL);
	buf_reset(&out);
	assert_int_equal(smtpc_auth_step(&a, 334, "%%%", &out, &eb),
	    SMTPC_AUTH_FAIL);
	assert_string_equal(eb.msg, "CRAM-MD5: malformed challenge");

	/* XOAUTH2: a 334 carries the error; an empty line fetches the
	 * failure, which then quotes it. */
	buf_reset(&out);
	smtpc_auth_init(&a, SMTPC_AUTH_XOAUTH2, "u", NULL, "tok");
	assert_int_equal(smtpc_auth_start(&a, &out, &eb), 0);
	assert_string_equal(out.data, "AUTH XOAUTH2 dXNlcj11AWF1dGg9QmVhcmVyIH"
	    "RvawEB\r\n");
	auth_expect(&a, 334, "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0=",
	    SMTPC_AUTH_SEND, "\r\n");
	buf_reset(&out);
	assert_int_equal(smtpc_auth_step(&a, 535, "no", &out, &eb),
	    SMTPC_AUTH_FAIL);
	assert_string_equal(eb.msg, "XOAUTH2 token refused: "
	    "{\"status\":\"401\",\"schemes\":\"bearer\"}");
	smtpc_auth_wipe(&out);
}

static void
test_auth_too_long(void **state)
{
	char *big = malloc(SMTPC_AUTH_CRED_MAX + 2);
	struct smtpc_auth a;
	struct errbuf eb;
	struct buf out;

	(void)state;
	assert_non_null(big);
	memset(big, 'p', SMTPC_AUTH_CRED_MAX + 1);
	big[SMTPC_AUTH_CRED_MAX + 1] = '\0';
	buf_init(&out, 0);
	smtpc_auth_init(&a, SMTPC_AUTH_PLAIN, "u", big, NULL);
	assert_int_equal(smtpc_auth_start(&a, &out, &eb), -1);
	assert_non_null(strstr(eb.msg, "too long"));
	smtpc_auth_wipe(&out);
	free(big);
}

/* ---------------------------------------------------------- TLS, names */

static void
test_tls_helpers(void **state)
{
	struct errbuf eb;
	char ip[64];
	SSL_CTX *ctx;
	SSL *ssl;

	(void)state;
	assert_true(smtpc_tls_ip_literal("192.0.2.1", ip, sizeof(ip)));
	assert_string_equal(ip, "192.0.2.1");
	assert_true(smtpc_tls_ip_literal("[192.0.2.1]", ip, sizeof(ip)));
	assert_string_equal(ip, "192.0.2.1");
	assert_true(smtpc_tls_ip_literal("[IPv6:2001:db8::1]", ip, sizeof(ip)));
	assert_string_equal(ip, "2001:db8::1");
	assert_true(smtpc_tls_ip_literal("::1", ip, sizeof(ip)));
	assert_false(smtpc_tls_ip_literal("relay.test", ip, sizeof(ip)));
	assert_false(smtpc_tls_ip_literal("[relay.test]", ip, sizeof(ip)));
	assert_false(smtpc_tls_ip_literal("1.2.3.4.5", ip, sizeof(ip)));

	assert_null(smtpc_tls_ctx_new("/nonexistent/ca.pem", &eb));
	assert_non_null(strstr(eb.msg, "cannot load CA file "
	    "/nonexistent/ca.pem"));
	ctx = smtpc_tls_ctx_new(NULL, &eb);
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	ssl = smtpc_tls_ssl_new(ctx, "relay.test", true, &eb);
	assert_non_null(ssl);
	assert_int_equal(SSL_get_verify_mode(ssl), SSL_VERIFY_PEER);
	assert_string_equal(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
	    "relay.test");
	SSL_set_verify_result(ssl, X509_V_ERR_HOSTNAME_MISMATCH);
	smtpc_tls_error(ssl, 0, 0, true, &eb);
	assert_string_equal(eb.msg,
	    "TLS: certificate verify failed: hostname mismatch");
	SSL_set_verify_result(ssl, X509_V_OK);
	smtpc_tls_error(ssl, ERR_PACK(ERR_LIB_SSL, 0,
	    SSL_R_WRONG_VERSION_NUMBER), 0, true, &eb);
	assert_string_equal(eb.msg, "TLS handshake failed: wrong version "
	    "number (is this a STARTTLS port? try tls = starttls)");
	smtpc_tls_error(ssl, 0, ECONNRESET, false, &eb);
	assert_string_equal(eb.msg,
	    "TLS handshake failed: Connection reset by peer");
	SSL_free(ssl);
	/* No SNI for an address; the address is what is checked. */
	ssl = smtpc_tls_ssl_new(ctx, "[192.0.2.1]", true, &eb);
	assert_non_null(ssl);
	assert_null(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
	SSL_free(ssl);
	ssl = smtpc_tls_ssl_new(ctx, "relay.test", false, &eb);
	assert_int_equal(SSL_get_verify_mode(ssl), SSL_VERIFY_NONE);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

static void
test_stage_names(void **state)
{
	(void)state;
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_NONE), "none");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_CONNECT), "connect");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_TLS), "TLS");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_GREETING),
	    "greeting");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_EHLO), "EHLO");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_STARTTLS),
	    "STARTTLS");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_AUTH), "AUTH");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_MAIL), "MAIL FROM");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_RCPT), "RCPT TO");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_DATA), "DATA");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_DOT), "end of data");
	assert_string_equal(smtpc_stage_name(SMTPC_STAGE_IO), "I/O");
}

/* ---------------------------------------------------------- sessions */

/* One exchange of the scripted server: when the client's line matches
 * expect (exactly, or as a prefix when expect ends in '*'), send reply
 * (whole CRLF-ended lines; NULL: hang up instead; after a leading '!':
 * hang up after it).  The first step is the greeting, sent on connect.
 * An expect of "@data" is the first line of message data. */
struct fake_step {
	const char *expect;
	const char *reply;
};

struct fake {
	struct event_base *base;
	evutil_socket_t lfd;
	struct event *ev_accept;
	struct bufferevent *bev;
	const struct fake_step *steps;
	size_t nsteps;
	size_t step;
	bool in_data;
	bool mismatch;
	struct buf log;  /* the client's lines, '\n' after each */
	struct buf data; /* the lines after a 354, CRLF ended */
	unsigned short port;
};

static void
fake_hangup(struct fake *f)
{
	if (f->bev != NULL)
		bufferevent_free(f->bev);
	f->bev = NULL;
}

static void
fake_on_drained(struct bufferevent *bev, void *arg)
{
	(void)bev;
	fake_hangup(arg);
}

/* Hang up once what was written has gone out. */
static void
fake_hangup_flushed(struct fake *f)
{
	if (evbuffer_get_length(bufferevent_get_output(f->bev)) == 0) {
		fake_hangup(f);
		return;
	}
	bufferevent_disable(f->bev, EV_READ);
	bufferevent_setcb(f->bev, NULL, fake_on_drained, NULL, f);
}

static bool
fake_match(const char *expect, const char *line)
{
	size_t n = strlen(expect);

	if (n > 0 && expect[n - 1] == '*')
		return strncmp(line, expect, n - 1) == 0;
	return strcmp(line, expect) == 0;
}

static void
fake_answer(struct fake *f, const char *line)
{
	const struct fake_step *st;

	buf_printf(&f->log, "%s\n", line);
	if (f->step == f->nsteps) {
		f->mismatch = true;
		fake_hangup(f);
		return;
	}
	st = &f->steps[f->step++];
	if (!fake_match(st->expect, line)) {
		fprintf(stderr, "# fake server: expected '%s', got '%s'\n",
		    st->expect, line);
		f->mismatch = true;
	}
	if (st->reply == NULL) {
		fake_hangup_flushed(f);
		return;
	}
	if (st->reply[0] == '!') {
		bufferevent_write(f->bev, st->reply + 1, strlen(st->reply) - 1);
		fake_hangup_flushed(f);
		return;
	}
	bufferevent_write(f->bev, st->reply, strlen(st->reply));
	f->in_data = strncmp(st->reply, "354", 3) == 0;
}

static void
fake_on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	struct fake *f = arg;
	size_t n;
	char *line;

	while (f->bev != NULL && (bufferevent_get_enabled(bev) & EV_READ) &&
	    (line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF_STRICT)) !=
	    NULL) {
		if (f->in_data) {
			buf_append(&f->data, line, n);
			buf_puts(&f->data, "\r\n");
			if (f->step < f->nsteps &&
			    strcmp(f->steps[f->step].expect, "@data") == 0) {
				f->in_data = false;
				fake_answer(f, "@data");
				free(line);
				continue;
			}
			if (strcmp(line, ".") != 0) {
				free(line);
				continue;
			}
			f->in_data = false;
		}
		fake_answer(f, line);
		free(line);
	}
}

static void
fake_on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		fake_hangup(arg);
}

static void
fake_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct fake *f = arg;
	evutil_socket_t fd;

	(void)what;
	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return;
	evutil_make_socket_nonblocking(fd);
	f->bev = bufferevent_socket_new(f->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(f->bev, fake_on_read, NULL, fake_on_event, f);
	bufferevent_enable(f->bev, EV_READ | EV_WRITE);
	f->step = 1;
	bufferevent_write(f->bev, f->steps[0].reply, strlen(f->steps[0].reply));
}

static void
fake_start(struct fake *f, const struct fake_step *steps, size_t nsteps)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->base = event_base_new();
	f->steps = steps;
	f->nsteps = nsteps;
	buf_init(&f->log, 0);
	buf_init(&f->data, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	f->ev_accept = event_new(f->base, f->lfd, EV_READ | EV_PERSIST,
	    fake_on_accept, f);
	event_add(f->ev_accept, NULL);
}

static void
fake_stop(struct fake *f)
{
	fake_hangup(f);
	event_free(f->ev_accept);
	close(f->lfd);
	event_base_free(f->base);
	buf_fini(&f->log);
	buf_fini(&f->data);
}

/* The client's side of a test session. */
struct run {
	struct smtpc_session *s;
	struct event_base *base;
	struct smtpc_msg *msg;
	int ready, sent, failed, closed;
	int sends;          /* transactions to run */
	bool free_in_ready; /* smtpc_free from inside READY */
	bool quit_in_txn;   /* smtpc_quit right after smtpc_send */
	bool stay;          /* no QUIT after the last SENT */
	bool in_call;       /* inside smtpc_send */
	bool reentered;     /* an event came from inside smtpc_send */
	bool timed_out;
	const char *try_from; /* smtpc_try_sender instead of smtpc_send */
	struct smtpc_reply try_replies[4];
	enum smtpc_stage stages[4];
	struct smtpc_outcome out; /* of the last SENT or FAILED */
};

static void
run_send(struct run *r, struct smtpc_session *s)
{
	r->in_call = true;
	if (r->try_from != NULL)
		assert_int_equal(smtpc_try_sender(s, r->try_from), 0);
	else
		assert_int_equal(smtpc_send(s, r->msg), 0);
	r->in_call = false;
	if (r->quit_in_txn)
		smtpc_quit(s);
}

static void
run_end(struct run *r, struct smtpc_session *s)
{
	smtpc_free(s);
	r->s = NULL;
	event_base_loopexit(r->base, NULL);
}

static void
run_on_event(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg)
{
	struct run *r = arg;

	r->reentered |= r->in_call;
	switch (ev) {
	case SMTPC_EV_READY:
		r->ready++;
		if (r->free_in_ready)
			run_end(r, s);
		else
			run_send(r, s);
		break;
	case SMTPC_EV_SENT:
		r->out = *out;
		r->try_replies[r->sent & 3] = out->reply;
		r->stages[r->sent++ & 3] = out->stage;
		if (r->sent < r->sends)
			run_send(r, s);
		else if (!r->stay)
			smtpc_quit(s);
		break;
	case SMTPC_EV_FAILED:
		r->failed++;
		r->out = *out;
		run_end(r, s);
		break;
	case SMTPC_EV_CLOSED:
		r->closed++;
		run_end(r, s);
		break;
	}
}

static void
run_on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;

	(void)fd, (void)what;
	r->timed_out = true;
	event_base_loopexit(r->base, NULL);
}

static void
run_config(struct smtpc_config *cfg, unsigned short port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->addr;

	memset(cfg, 0, sizeof(*cfg));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
	cfg->addrlen = sizeof(*sin);
	cfg->host = "fake.test";
	cfg->tls = SMTPC_TLS_NONE;
	cfg->auth = SMTPC_AUTH_AUTO;
	cfg->helo_name = "client.test";
	cfg->connect_timeout = 5;
	cfg->command_timeout = 5;
	cfg->idle_timeout = 5;
}

/* Run a session against f until its last event (at most 10 s). */
static void
run_session(struct fake *f, struct run *r, const struct smtpc_config *cfg)
{
	struct timeval tv = { 10, 0 };
	struct event *guard = evtimer_new(f->base, run_on_guard, r);

	r->base = f->base;
	if (r->sends == 0)
		r->sends = 1;
	evtimer_add(guard, &tv);
	r->s = smtpc_new(f->base, cfg, run_on_event, r);
	assert_non_null(r->s);
	/* Nothing may be sent before READY. */
	assert_int_equal(smtpc_send(r->s, r->msg), -1);
	event_base_dispatch(f->base);
	event_free(guard);
	if (r->s != NULL)
		smtpc_free(r->s);
	assert_false(r->timed_out);
	assert_false(r->reentered);
}

/* A message: head in memory, body in a temporary file. */
struct tmsg {
	struct smtpc_msg msg;
	struct smtpc_rcpt rcpts[4];
	char path[64];
};

static void
tmsg_make(struct tmsg *t, const char *head, const char *body, size_t bl,
    const char *rcpt1, const char *rcpt2)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->path, "/tmp/test_smtpc.XXXXXX");
	t->msg.body_fd = mkstemp(t->path);
	assert_true(t->msg.body_fd >= 0);
	unlink(t->path);
	assert_int_equal(write(t->msg.body_fd, body, bl), (ssize_t)bl);
	t->msg.sender = "s@x.test";
	t->msg.head = head;
	t->msg.head_len = strlen(head);
	t->msg.body_len = bl;
	t->msg.size = t->msg.head_len + bl;
	t->msg.rcpts = t->rcpts;
	t->rcpts[0].addr = rcpt1;
	t->rcpts[1].addr = rcpt2;
	t->msg.nrcpts = rcpt2 != NULL ? 2 : 1;
}

static void
tmsg_free(struct tmsg *t)
{
	close(t->msg.body_fd);
}

#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

static void
session_helo_lockstep(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "502 5.5.1 What is EHLO?\r\n" },
		{ "HELO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:<s@x.test>", "250 ok\r\n" },
		{ "RCPT TO:<r@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go ahead\r\n" },
		{ ".", "250 2.0.0 queued as 1\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "Subject: t\n\n", "hello\n.x\n", 9, "r@y.test", NULL);
	t.msg.body_8bit = true;
	t.msg.smtputf8 = false;
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.ready, 1);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.closed, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_NONE);
	assert_int_equal(t.rcpts[0].reply.code, 250);
	assert_string_equal(t.rcpts[0].reply.status, "2.0.0");
	assert_string_equal(t.rcpts[0].reply.text, "queued as 1");
	assert_string_equal(f.data.data, "Subject: t\r\n\r\nhello\r\n..x\r\n"
	    ".\r\n");
	assert_false(f.mismatch);
	tmsg_free(&t);
	fake_stop(&f);
}

static const char ehlo_pipelining[] = "250-fake.test\r\n250-PIPELINING\r\n"
    "250-SIZE 10000000\r\n250 ENHANCEDSTATUSCODES\r\n";

static void
session_pipelined_nobody(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", ehlo_pipelining },
		{ "MAIL FROM:<s@x.test> SIZE=20", "250 2.1.0 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "550 5.1.1 no such user\r\n" },
		{ "RCPT TO:<b@y.test>",
		    "550-5.1.1 over\r\n550 5.1.1 quota\r\n" },
		{ "DATA", "354 send it anyway\r\n" },
		{ ".", "554 5.5.1 no valid recipients\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "Subject: t\n\n", "hello\n", 6, "a@y.test", "b@y.test");
	t.msg.size = 20;
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_RCPT);
	assert_int_equal(r.out.reply.code, 550);
	assert_string_equal(r.out.reply.text, "over quota");
	assert_string_equal(t.rcpts[0].reply.text, "no such user");
	assert_string_equal(t.rcpts[1].reply.status, "5.1.1");
	/* 354 with nobody accepted: an empty message, never the body. */
	assert_string_equal(f.data.data, ".\r\n");
	assert_false(f.mismatch);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_rset_and_reuse(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", ehlo_pipelining },
		{ "MAIL FROM:<s@x.test> SIZE=*", "250 ok\r\n" },
		{ "RCPT TO:<r@y.test>", "250 ok\r\n" },
		{ "DATA", "451 4.3.0 not now\r\n" },
		{ "RSET", "250 reset\r\n" },
		{ "MAIL FROM:<s@x.test> SIZE=*", "250 ok\r\n" },
		{ "RCPT TO:<r@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 2.0.0 done\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { .sends = 2 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "r@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 2);
	assert_int_equal(r.stages[0], SMTPC_STAGE_DATA);
	assert_int_equal(r.stages[1], SMTPC_STAGE_NONE);
	assert_string_equal(t.rcpts[0].reply.text, "done");
	assert_false(f.mismatch);
	assert_int_equal(f.step, NSTEPS(steps));
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_421_in_rcpt(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", ehlo_pipelining },
		{ "MAIL FROM:*", "250 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "250 ok\r\n" },
		{ "RCPT TO:<b@y.test>", "421 4.3.2 shutting down\r\n" },
		{ "DATA", NULL },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", "b@y.test");
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_RCPT);
	assert_int_equal(r.out.reply.code, 421);
	/* The accepted recipient carries the failure too. */
	assert_int_equal(t.rcpts[0].reply.code, 421);
	assert_int_equal(t.rcpts[1].reply.code, 421);
	assert_non_null(strstr(r.out.err, "said: 421 4.3.2 shutting down "
	    "(in reply to RCPT TO)"));
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_421_at_dot(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:<s@x.test>", "250 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "421 4.4.2 timeout\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_DOT);
	assert_string_equal(t.rcpts[0].reply.status, "4.4.2");
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_idle_421(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:<s@x.test>", "250 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n421 4.3.2 idle too long\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { .stay = true };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_NONE);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_IO);
	assert_non_null(strstr(r.out.err, "closed the idle session: 421 "
	    "4.3.2 idle too long"));
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_idle_timeout(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:<s@x.test>", "250 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { .stay = true };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	cfg.idle_timeout = 1;
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.closed, 1);
	assert_int_equal(r.failed, 0);
	assert_false(f.mismatch);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_starttls_injection(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250-fake.test\r\n250 STARTTLS\r\n" },
		{ "STARTTLS", "220 go ahead\r\n250-injected\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	cfg.tls = SMTPC_TLS_STARTTLS;
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_STARTTLS);
	assert_non_null(strstr(r.out.err, "possible command injection"));
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_no_starttls(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250-fake.test\r\n250 AUTH PLAIN\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	cfg.tls = SMTPC_TLS_STARTTLS;
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_STARTTLS);
	assert_string_equal(r.out.err,
	    "server at fake.test[127.0.0.1] does not offer STARTTLS");
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_auth_without_tls(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250-fake.test\r\n250 AUTH PLAIN\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	cfg.username = "alice";
	cfg.password = "secret";
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_AUTH);
	assert_string_equal(r.out.err, "refusing to send the password without "
	    "TLS; set tls = starttls or implicit");
	assert_null(strstr(f.log.data, "AUTH"));
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_ehlo_421(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "421 4.7.0 go away\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_EHLO);
	assert_int_equal(r.out.reply.code, 421);
	assert_false(f.mismatch);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_free_in_ready(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { .free_in_ready = true };
	struct fake f;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.ready, 1);
	assert_int_equal(r.sent + r.failed + r.closed, 0);
	fake_stop(&f);
}

static void
session_quit_in_txn(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:*", NULL },
	};
	struct smtpc_config cfg;
	struct run r = { .quit_in_txn = true };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.closed, 1);
	assert_int_equal(r.sent + r.failed, 0);
	assert_int_equal(t.rcpts[0].reply.code, 0);
	assert_string_equal(t.rcpts[0].reply.text,
	    "session closed by smtpc_quit");
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_local_refusals(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:<s@x.test>", "250 ok\r\n" },
		{ "RCPT TO:<ok@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 ok\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	/* An address with a line end in it is never sent; the other
	 * recipient gets the message. */
	tmsg_make(&t, "", "body\n", 5, "ok@y.test",
	    "evil@y.test>\r\nRSET");
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_NONE);
	assert_int_equal(t.rcpts[0].reply.code, 250);
	assert_int_equal(t.rcpts[1].reply.code, 553);
	assert_string_equal(t.rcpts[1].reply.status, "5.1.3");
	assert_false(f.mismatch);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_smtputf8_refused(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250-fake.test\r\n250 8BITMIME\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "j\xc3\xb6@y.test", NULL);
	t.msg.smtputf8 = true;
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_MAIL);
	assert_int_equal(t.rcpts[0].reply.code, 553);
	assert_string_equal(t.rcpts[0].reply.status, "5.6.7");
	assert_string_equal(r.out.err, "not sent to fake.test[127.0.0.1]: 553 "
	    "5.6.7 server does not support SMTPUTF8");
	assert_false(f.mismatch);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_size_refused(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250-fake.test\r\n250 SIZE 100\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	t.msg.size = 1000;
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_MAIL);
	assert_string_equal(t.rcpts[0].reply.status, "5.3.4");
	assert_string_equal(t.rcpts[0].reply.text, "message size 1000 exceeds "
	    "the server's limit of 100");
	assert_false(f.mismatch);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_short_body(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:<s@x.test>", "250 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 must not get here\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", "body\n", 5, "a@y.test", NULL);
	t.msg.body_len = 500;
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_IO);
	assert_non_null(strstr(r.out.err, "file shorter than expected"));
	/* The cut message was not ended with a dot. */
	assert_true(f.data.data == NULL ||
	    strstr(f.data.data, "\r\n.\r\n") == NULL);
	assert_int_equal(t.rcpts[0].reply.code, 0);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_big_body(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", ehlo_pipelining },
		{ "MAIL FROM:*", "250 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 2.0.0 got it\r\n" },
		{ "QUIT", "221 bye\r\n" },
	};
	const size_t bl = 3 * 1024 * 1024;
	char *body = malloc(bl), *want;
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	struct tmsg t;
	size_t i, n;

	(void)state;
	assert_non_null(body);
	for (i = 0; i < bl; i++)
		body[i] = i % 77 == 76 ? '\n' : i % 77 == 0 ? '.' :
		    (char)('a' + i % 26);
	body[5000] = 'x'; /* and one line of 1200 octets or so */
	for (i = 4000; i < 5200; i++)
		if (body[i] == '\n')
			body[i] = '-';
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "Subject: big\n\n", body, bl, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_NONE);
	want = encode_n("Subject: big\n\n", 14, body, bl, bl, &n);
	assert_int_equal(f.data.len, n);
	assert_memory_equal(f.data.data, want, n);
	free(want);
	free(body);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_refused_mid_body(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", "250 fake.test\r\n" },
		{ "MAIL FROM:<s@x.test>", "250 ok\r\n" },
		{ "RCPT TO:<a@y.test>", "250 ok\r\n" },
		{ "DATA", "354 go\r\n" },
		{ "@data", "!552 5.3.4 message too big\r\n" },
	};
	const size_t bl = 4 * 1024 * 1024;
	char *body = malloc(bl);
	struct smtpc_config cfg;
	struct run r = { .stay = true };
	struct fake f;
	struct tmsg t;
	size_t i;

	(void)state;
	assert_non_null(body);
	for (i = 0; i < bl; i++)
		body[i] = i % 70 == 69 ? '\n' : 'm';
	fake_start(&f, steps, NSTEPS(steps));
	tmsg_make(&t, "", body, bl, "a@y.test", NULL);
	r.msg = &t.msg;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	/* The refusal reaches the recipient; then the session is gone. */
	assert_int_equal(r.sent, 1);
	assert_int_equal(r.stages[0], SMTPC_STAGE_DOT);
	assert_int_equal(t.rcpts[0].reply.code, 552);
	assert_string_equal(t.rcpts[0].reply.status, "5.3.4");
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_IO);
	free(body);
	tmsg_free(&t);
	fake_stop(&f);
}

static void
session_connect_refused(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;
	int fd;

	(void)state;
	/* A port that is bound but not listening refuses connections. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	fake_start(&f, NULL, 0);
	run_config(&cfg, ntohs(sin.sin_port));
	run_session(&f, &r, &cfg);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_CONNECT);
	assert_non_null(strstr(r.out.err, "connect fake.test[127.0.0.1]:"));
	assert_non_null(strstr(r.out.err, ": Connection refused"));
	close(fd);
	fake_stop(&f);
}

/* smtpc_as_sent: what a DKIM signer must sign is what arrives: long
 * lines folded (header) or cut (body), dots unstuffed, LF line ends. */
/* test-relay's probe: MAIL FROM then RSET, nothing sent; a refusal and
 * an acceptance on one session, then a refused RSET fails it. */
static void
session_try_sender(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", ehlo_pipelining },
		{ "MAIL FROM:<other@x.test>",
		    "553 5.7.1 Sender address rejected: not owned\r\n" },
		{ "RSET", "250 2.0.0 ok\r\n" },
		{ "MAIL FROM:<other@x.test>", "250 2.1.0 ok\r\n" },
		{ "RSET", "250 2.0.0 ok\r\n" },
		{ "MAIL FROM:<other@x.test>", "250 2.1.0 ok\r\n" },
		{ "RSET", "500 5.5.1 no RSET today\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	r.try_from = "other@x.test";
	r.sends = 3;
	run_config(&cfg, f.port);
	run_session(&f, &r, &cfg);
	assert_int_equal(r.sent, 2);
	assert_int_equal(r.stages[0], SMTPC_STAGE_MAIL);
	assert_int_equal(r.try_replies[0].code, 553);
	assert_string_equal(r.try_replies[0].status, "5.7.1");
	assert_int_equal(r.stages[1], SMTPC_STAGE_NONE);
	assert_int_equal(r.try_replies[1].code, 250);
	assert_int_equal(r.failed, 1);
	assert_int_equal(r.out.stage, SMTPC_STAGE_MAIL);
	assert_int_equal(r.out.reply.code, 500);
	assert_non_null(strstr(r.out.err, "(in reply to RSET)"));
	assert_false(f.mismatch);
	assert_string_equal(f.log.data, "EHLO client.test\n"
	    "MAIL FROM:<other@x.test>\nRSET\nMAIL FROM:<other@x.test>\n"
	    "RSET\nMAIL FROM:<other@x.test>\nRSET\n");
	fake_stop(&f);
}

/* Not ready, or an address that cannot go on the wire: -1, no event. */
static void
session_try_sender_refused(void **state)
{
	static const struct fake_step steps[] = {
		{ "", "220 fake.test ready\r\n" },
		{ "EHLO client.test", ehlo_pipelining },
		{ "QUIT", "221 bye\r\n" },
	};
	struct smtpc_config cfg;
	struct run r = { 0 };
	struct fake f;

	(void)state;
	fake_start(&f, steps, NSTEPS(steps));
	run_config(&cfg, f.port);
	r.base = f.base;
	r.s = smtpc_new(f.base, &cfg, run_on_event, &r);
	assert_non_null(r.s);
	assert_int_equal(smtpc_try_sender(r.s, "a@x.test"), -1);
	assert_int_equal(smtpc_try_sender(r.s, NULL), -1);
	smtpc_free(r.s);
	fake_stop(&f);
}

static void
as_sent_long_lines(void **state)
{
	static char body[3000], head[1300];
	struct buf out;
	const char *p, *nl;
	size_t i, n = 0;

	(void)state;
	strcpy(head, "Subject:");
	for (i = 0; i < 120; i++)
		strcat(head, " word12345");
	strcat(head, "\nFrom: a@example.org\r\n\n");
	body[0] = '.';
	memset(body + 1, 'x', 2500);
	strcpy(body + 2501, "\n.dot\nend");
	buf_init(&out, 0);
	assert_int_equal(smtpc_as_sent(head, strlen(head), body, strlen(body),
	    &out), 0);
	assert_null(memchr(out.data, '\r', out.len));
	for (p = out.data; p < out.data + out.len; p = nl + 1) {
		if ((nl = memchr(p, '\n', out.len - (size_t)(p - out.data))) ==
		    NULL)
			nl = out.data + out.len;
		assert_true(nl - p <= 998);
		n++;
	}
	/* The header folded before a space; the body's 2501 octets cut in
	 * three with a space leading each continuation; the dots of ".x..."
	 * and ".dot" not doubled. */
	assert_non_null(strstr(out.data, " word12345\n word12345"));
	assert_non_null(strstr(out.data, "\n\n.xxx"));
	assert_null(strstr(out.data, "\n.."));
	assert_non_null(strstr(out.data, "x\n xxx"));
	assert_non_null(strstr(out.data, "\n.dot\nend\n"));
	assert_true(n >= 8);
	buf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reply_lines),
		cmocka_unit_test(test_enhanced_status),
		cmocka_unit_test(test_reader_multiline),
		cmocka_unit_test(test_reader_errors),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_cmd_mail),
		cmocka_unit_test(test_cmd_rcpt),
		cmocka_unit_test(test_addr_ok),
		cmocka_unit_test(test_data_basic),
		cmocka_unit_test(test_data_long_lines),
		cmocka_unit_test(test_data_header_fold),
		cmocka_unit_test(test_data_random),
		cmocka_unit_test(test_auth_blobs),
		cmocka_unit_test(test_auth_base64),
		cmocka_unit_test(test_auth_choose),
		cmocka_unit_test(test_auth_exchanges),
		cmocka_unit_test(test_auth_too_long),
		cmocka_unit_test(test_tls_helpers),
		cmocka_unit_test(test_stage_names),
		cmocka_unit_test(session_helo_lockstep),
		cmocka_unit_test(session_pipelined_nobody),
		cmocka_unit_test(session_rset_and_reuse),
		cmocka_unit_test(session_421_in_rcpt),
		cmocka_unit_test(session_421_at_dot),
		cmocka_unit_test(session_idle_421),
		cmocka_unit_test(session_idle_timeout),
		cmocka_unit_test(session_starttls_injection),
		cmocka_unit_test(session_no_starttls),
		cmocka_unit_test(session_auth_without_tls),
		cmocka_unit_test(session_ehlo_421),
		cmocka_unit_test(session_free_in_ready),
		cmocka_unit_test(session_quit_in_txn),
		cmocka_unit_test(session_local_refusals),
		cmocka_unit_test(session_smtputf8_refused),
		cmocka_unit_test(session_size_refused),
		cmocka_unit_test(session_short_body),
		cmocka_unit_test(session_big_body),
		cmocka_unit_test(session_refused_mid_body),
		cmocka_unit_test(session_connect_refused),
		cmocka_unit_test(session_try_sender),
		cmocka_unit_test(session_try_sender_refused),
		cmocka_unit_test(as_sent_long_lines),
	};

	signal(SIGPIPE, SIG_IGN);
	return UNIT_RUN(tests);
}
