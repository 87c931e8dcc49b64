/* Unit tests for bounce: composing delivery status notifications. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounce.h"
#include "envelope.h"
#include "unit.h"

#define BOUNCE_TEST_NOW 1795000000 /* Wed, 18 Nov 2026 11:06:40 UTC */
#define BOUNCE_TEST_ARRIVAL 1794990000
#ifndef BOUNCE_TEST_PYTHON
#define BOUNCE_TEST_PYTHON "/usr/bin/python3"
#endif

static const char bounce_test_orig[] =
    "From: Alice <alice@example.org>\n"
    "To: bob@example.com, carol@example.net\n"
    "Subject: Quarterly numbers\n"
    "Message-ID: <q1@example.org>\n"
    "\n"
    "Hello Bob and Carol,\n"
    "the numbers are attached.\n";

static const struct bounce_rcpt bounce_test_rcpts[] = {
	{ "bob@example.com", NULL, "5.1.1",
	    "550 5.1.1 <bob@example.com>: Recipient address rejected: "
	    "User unknown in virtual mailbox table",
	    "mx.example.com", BOUNCE_TEST_NOW - 60, 0 },
	{ "carol@example.net", "rfc822;carol@example.net", "5.7.1",
	    "554 5.7.1 Service unavailable; client host blocked",
	    "mx.example.net", BOUNCE_TEST_NOW - 30, 0 },
};

/* A failure report on the two recipients above, whole message
 * returned. */
static void
bounce_test_input(struct bounce_input *in)
{
	memset(in, 0, sizeof(*in));
	in->kind = BOUNCE_FAILED;
	in->reporting_mta = "mail.example.org";
	in->postmaster = "MAILER-DAEMON@mail.example.org";
	in->queue_id = "4FkZ2b0xQ7z";
	in->to = "alice@example.org";
	in->arrival = BOUNCE_TEST_ARRIVAL;
	in->now = BOUNCE_TEST_NOW;
	in->rcpts = bounce_test_rcpts;
	in->nrcpts = 2;
	in->orig = bounce_test_orig;
	in->orig_len = strlen(bounce_test_orig);
	in->orig_head_len = (size_t)(strstr(bounce_test_orig, "\n\n") + 2 -
	    bounce_test_orig);
	in->max_return = 1024 * 1024;
	in->boundary = "4FkZ2b0xQ7z.1795000000/mail.example.org";
}

static void
bounce_test_compose(const struct bounce_input *in, struct buf *out)
{
	struct errbuf eb;

	buf_init(out, 0);
	errbuf_clear(&eb);
	if (bounce_compose(in, out, &eb) != 0)
		fail_msg("bounce_compose: %s", eb.msg);
	assert_non_null(out->data);
	assert_int_equal(strlen(out->data), out->len);
}

/* The value of the first field called name at or after from, unfolded;
 * the caller frees it.  NULL when there is none. */
static char *
bounce_test_field(const char *text, const char *name)
{
	char pat[128];
	const char *p, *e;
	struct buf v;

	snprintf(pat, sizeof(pat), "\n%s: ", name);
	if ((p = strstr(text, pat)) == NULL)
		return NULL;
	p += strlen(pat);
	buf_init(&v, 0);
	for (;;) {
		e = strchr(p, '\n');
		assert_non_null(e);
		assert_int_equal(buf_append(&v, p, (size_t)(e - p)), 0);
		if (e[1] != ' ' && e[1] != '\t')
			break;
		p = e + 1;
	}
	return buf_steal(&v);
}

static void
bounce_test_field_is(const char *text, const char *name, const char *want)
{
	char *v = bounce_test_field(text, name);

	if (v == NULL)
		fail_msg("no %s field", name);
	assert_string_equal(v, want);
	free(v);
}

static size_t
bounce_test_count(const char *text, const char *needle)
{
	size_t n = 0;

	while ((text = strstr(text, needle)) != NULL) {
		n++;
		text += strlen(needle);
	}
	return n;
}

/* True when text holds phrase once line breaks and indentation are
 * taken as single spaces, so prose checks do not depend on wrapping. */
static bool
bounce_test_says(const char *text, const char *phrase)
{
	char *flat = malloc(strlen(text) + 1), *q = flat;
	bool found;

	assert_non_null(flat);
	for (; *text != '\0'; text++) {
		if (*text == '\n' || *text == ' ') {
			if (q == flat || q[-1] != ' ')
				*q++ = ' ';
			continue;
		}
		*q++ = *text;
	}
	*q = '\0';
	found = strstr(flat, phrase) != NULL;
	free(flat);
	return found;
}

/* The boundary announced in the report's Content-Type. */
static void
bounce_test_boundary(const char *text, char *out, size_t outlen)
{
	const char *p = strstr(text, "boundary=\""), *e;

	assert_non_null(p);
	p += strlen("boundary=\"");
	e = strchr(p, '"');
	assert_non_null(e);
	assert_true((size_t)(e - p) < outlen);
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

/* The content of the third part: between its empty line and the closing
 * delimiter, without the delimiter's line break. */
static char *
bounce_test_third_part(const char *text)
{
	char b[128], delim[160];
	const char *p, *start, *end;

	bounce_test_boundary(text, b, sizeof(b));
	snprintf(delim, sizeof(delim), "\n--%s", b);
	p = text;
	for (int i = 0; i < 3; i++) {
		p = strstr(p + 1, delim);
		assert_non_null(p);
	}
	start = strstr(p, "\n\n");
	assert_non_null(start);
	start += 2;
	end = strstr(start - 1, delim);
	assert_non_null(end);
	return strndup(start, (size_t)(end - start));
}

/* Every line outside the returned copy fits in 78 columns. */
static void
bounce_test_line_lengths(const char *text, size_t upto)
{
	const char *p = text, *nl;

	while (p < text + upto && (nl = strchr(p, '\n')) != NULL) {
		if (nl - p > 78)
			fail_msg("line longer than 78: %.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

/* Python's email package. */

static const char bounce_test_script[] =
    "import sys, email\n"
    "with open(sys.argv[1], 'rb') as f:\n"
    "    m = email.message_from_binary_file(f)\n"
    "def u(v):\n"
    "    return None if v is None else str(v).replace('\\n', '')\n"
    "print(m.is_multipart(), m.get_content_type(),\n"
    "      m.get_param('report-type'))\n"
    "print(u(m['Subject']), '|', u(m['To']), '|', u(m['Auto-Submitted']))\n"
    "parts = m.get_payload()\n"
    "print(len(parts), ' '.join(p.get_content_type() for p in parts))\n"
    "print(parts[0].get_content_charset())\n"
    "blocks = parts[1].get_payload()\n"
    "print(len(blocks), u(blocks[0]['Reporting-MTA']),\n"
    "      u(blocks[0]['X-Tern-Queue-ID']))\n"
    "for b in blocks[1:]:\n"
    "    print(u(b['Final-Recipient']), '|', u(b['Action']), '|',\n"
    "          u(b['Status']), '|', u(b['Remote-MTA']), '|',\n"
    "          u(b['Diagnostic-Code']))\n"
    "inner = parts[2].get_payload(0)\n"
    "print(u(inner['Subject']), '|', repr(inner.get_payload()))\n"
    "print('defects', sum(len(p.defects) for p in m.walk()))\n";

static const char bounce_test_python_want[] =
    "True multipart/report delivery-status\n"
    "Undelivered Mail Returned to Sender | alice@example.org | "
    "auto-replied\n"
    "3 text/plain message/delivery-status message/rfc822\n"
    "us-ascii\n"
    "3 dns; mail.example.org 4FkZ2b0xQ7z\n"
    "rfc822; bob@example.com | failed | 5.1.1 | dns; mx.example.com | "
    "smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: "
    "User unknown in virtual mailbox table\n"
    "rfc822; carol@example.net | failed | 5.7.1 | dns; mx.example.net | "
    "smtp; 554 5.7.1 Service unavailable; client host blocked\n"
    "Quarterly numbers | 'Hello Bob and Carol,\\nthe numbers are "
    "attached.\\n'\n"
    "defects 0\n";

static void
bounce_test_write_file(char *path, const char *text, size_t len)
{
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Run the script on msg and return what it printed (caller frees). */
static char *
bounce_test_python(const struct buf *msg)
{
	char script[] = "/tmp/tern-bounce-py-XXXXXX";
	char file[] = "/tmp/tern-bounce-msg-XXXXXX";
	char cmd[256], chunk[512];
	struct buf got;
	FILE *p;
	size_t n;

	bounce_test_write_file(script, bounce_test_script,
	    strlen(bounce_test_script));
	bounce_test_write_file(file, msg->data, msg->len);
	snprintf(cmd, sizeof(cmd), "%s %s %s 2>&1", BOUNCE_TEST_PYTHON,
	    script, file);
	p = popen(cmd, "r");
	assert_non_null(p);
	buf_init(&got, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		assert_int_equal(buf_append(&got, chunk, n), 0);
	assert_int_equal(pclose(p), 0);
	unlink(script);
	unlink(file);
	assert_int_equal(buf_putc(&got, '\0'), 0);
	return buf_steal(&got);
}

static void
bounce_test_failed_python(void **state)
{
	struct bounce_input in;
	struct buf out;
	char *got;

	(void)state;
	/* Not cmocka's skip(): it prints "not ok # SKIP", which automake's
	 * TAP driver counts as a failure. */
	if (access(BOUNCE_TEST_PYTHON, X_OK) != 0) {
		print_message("# skipped: %s is not installed\n",
		    BOUNCE_TEST_PYTHON);
		return;
	}
	bounce_test_input(&in);
	bounce_test_compose(&in, &out);
	got = bounce_test_python(&out);
	assert_string_equal(got, bounce_test_python_want);
	free(got);
	buf_fini(&out);
}

/* The head of a failure report, byte for byte (TZ is UTC). */
static const char bounce_test_head_want[] =
    "From: Mail Delivery System <MAILER-DAEMON@mail.example.org>\n"
    "To: alice@example.org\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Date: Wed, 18 Nov 2026 11:06:40 +0000\n"
    "Message-ID: <20261118110640.4FkZ2b0xQ7z@mail.example.org>\n"
    "Auto-Submitted: auto-replied\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status;\n"
    "\tboundary=\"4FkZ2b0xQ7z.1795000000/mail.example.org\"\n"
    "\n"
    "This is a MIME-encapsulated message.\n"
    "\n"
    "--4FkZ2b0xQ7z.1795000000/mail.example.org\n"
    "Content-Description: Notification\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "This is the mail system at host mail.example.org.\n"
    "\n"
    "I am sorry to tell you that your message could not be delivered to "
    "one or\n"
    "more of its recipients. The mail system has given up on them; the "
    "reason for\n"
    "each one is given below.\n"
    "\n"
    "Your message is attached below.\n"
    "\n"
    "If you need help, write to the postmaster of mail.example.org and "
    "include\n"
    "this report.\n"
    "\n"
    "<bob@example.com>: host mx.example.com said: 550 5.1.1 "
    "<bob@example.com>:\n"
    "    Recipient address rejected: User unknown in virtual mailbox "
    "table\n"
    "<carol@example.net>: host mx.example.net said: 554 5.7.1 Service\n"
    "    unavailable; client host blocked\n"
    "\n"
    "--4FkZ2b0xQ7z.1795000000/mail.example.org\n"
    "Content-Description: Delivery report\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mail.example.org\n"
    "Arrival-Date: Wed, 18 Nov 2026 08:20:00 +0000\n"
    "X-Tern-Queue-ID: 4FkZ2b0xQ7z\n"
    "\n"
    "Final-Recipient: rfc822; bob@example.com\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mx.example.com\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: Recipient "
    "address\n"
    " rejected: User unknown in virtual mailbox table\n"
    "Last-Attempt-Date: Wed, 18 Nov 2026 11:05:40 +0000\n"
    "\n"
    "Original-Recipient: rfc822;carol@example.net\n"
    "Final-Recipient: rfc822; carol@example.net\n"
    "Action: failed\n"
    "Status: 5.7.1\n"
    "Remote-MTA: dns; mx.example.net\n"
    "Diagnostic-Code: smtp; 554 5.7.1 Service unavailable; client host "
    "blocked\n"
    "Last-Attempt-Date: Wed, 18 Nov 2026 11:06:10 +0000\n"
    "\n"
    "--4FkZ2b0xQ7z.1795000000/mail.example.org\n"
    "Content-Description: Undelivered Message\n"
    "Content-Type: message/rfc822\n"
    "\n";

static void
bounce_test_failed_exact(void **state)
{
	struct bounce_input in;
	struct buf out;
	size_t hl = strlen(bounce_test_head_want);
	char *third;

	(void)state;
	bounce_test_input(&in);
	bounce_test_compose(&in, &out);
	assert_true(out.len > hl);
	assert_memory_equal(out.data, bounce_test_head_want, hl);
	assert_string_equal(out.data + hl, "From: Alice <alice@example.org>\n"
	    "To: bob@example.com, carol@example.net\n"
	    "Subject: Quarterly numbers\n"
	    "Message-ID: <q1@example.org>\n"
	    "\n"
	    "Hello Bob and Carol,\n"
	    "the numbers are attached.\n"
	    "\n"
	    "--4FkZ2b0xQ7z.1795000000/mail.example.org--\n");
	third = bounce_test_third_part(out.data);
	assert_string_equal(third, bounce_test_orig);
	free(third);
	bounce_test_line_lengths(out.data, out.len);
	buf_fini(&out);
}

static void
bounce_test_ret_hdrs(void **state)
{
	struct bounce_input in;
	struct buf out;
	char *third;

	(void)state;
	bounce_test_input(&in);
	in.ret = ENVELOPE_RET_HDRS;
	bounce_test_compose(&in, &out);
	assert_non_null(strstr(out.data, "Content-Description: Undelivered "
	    "Message Headers\nContent-Type: text/rfc822-headers\n\n"));
	assert_null(strstr(out.data, "message/rfc822"));
	assert_null(strstr(out.data, "Hello Bob"));
	assert_true(bounce_test_says(out.data, "As you asked, only the "
	    "header section of your message is attached."));
	third = bounce_test_third_part(out.data);
	assert_string_equal(third, "From: Alice <alice@example.org>\n"
	    "To: bob@example.com, carol@example.net\n"
	    "Subject: Quarterly numbers\n"
	    "Message-ID: <q1@example.org>\n");
	free(third);
	buf_fini(&out);
}

static void
bounce_test_oversize(void **state)
{
	struct bounce_input in;
	struct buf out;
	char *third;

	(void)state;
	bounce_test_input(&in);
	in.ret = ENVELOPE_RET_FULL;
	in.max_return = 150; /* the header section is 127 bytes, all 175 */
	bounce_test_compose(&in, &out);
	assert_non_null(strstr(out.data, "Content-Type: text/rfc822-headers"));
	assert_null(strstr(out.data, "Hello Bob"));
	assert_true(bounce_test_says(out.data, "Your message was larger than "
	    "the limit of 150 bytes for returned mail, so only its header "
	    "section is attached."));
	third = bounce_test_third_part(out.data);
	assert_true(strlen(third) <= in.max_return);
	assert_non_null(strstr(third, "Subject: Quarterly numbers\n"));
	free(third);
	buf_fini(&out);

	/* A message that fits exactly is returned whole. */
	in.max_return = in.orig_len;
	bounce_test_compose(&in, &out);
	assert_non_null(strstr(out.data, "Content-Type: message/rfc822"));
	buf_fini(&out);
}

/* A header section larger than max_return is cut after a whole line. */
static void
bounce_test_headers_cut(void **state)
{
	struct bounce_input in;
	struct buf out;
	char *third;

	(void)state;
	bounce_test_input(&in);
	in.ret = ENVELOPE_RET_HDRS;
	in.max_return = 80;
	bounce_test_compose(&in, &out);
	third = bounce_test_third_part(out.data);
	assert_string_equal(third, "From: Alice <alice@example.org>\n"
	    "To: bob@example.com, carol@example.net\n");
	free(third);
	assert_true(bounce_test_says(out.data, "It was longer than 80 bytes, "
	    "so only its first lines are included."));
	buf_fini(&out);

	/* Not even one line fits: no third part at all. */
	in.max_return = 10;
	bounce_test_compose(&in, &out);
	assert_null(strstr(out.data, "text/rfc822-headers"));
	assert_true(bounce_test_says(out.data, "none of it is included."));
	assert_int_equal(bounce_test_count(out.data,
	    "--4FkZ2b0xQ7z.1795000000/mail.example.org"), 3);
	buf_fini(&out);
}

static void
bounce_test_delayed(void **state)
{
	static const struct bounce_rcpt rcpt = { "bob@example.com", NULL,
		"4.4.1", NULL, "mx.example.com", BOUNCE_TEST_NOW - 60,
		BOUNCE_TEST_ARRIVAL + 5 * 86400 };
	struct bounce_input in;
	struct buf out;

	(void)state;
	bounce_test_input(&in);
	in.kind = BOUNCE_DELAYED;
	in.rcpts = &rcpt;
	in.nrcpts = 1;
	in.ret = ENVELOPE_RET_FULL;
	bounce_test_compose(&in, &out);
	bounce_test_field_is(out.data, "Subject",
	    "Delayed Mail (still being retried)");
	bounce_test_field_is(out.data, "Action", "delayed");
	bounce_test_field_is(out.data, "Status", "4.4.1");
	bounce_test_field_is(out.data, "Will-Retry-Until",
	    "Mon, 23 Nov 2026 08:20:00 +0000");
	assert_true(bounce_test_says(out.data, "will keep trying until Mon, "
	    "23 Nov 2026 08:20:00 +0000."));
	assert_true(bounce_test_says(out.data, "<bob@example.com>: delivery "
	    "is delayed (host mx.example.com, status 4.4.1)"));
	/* RFC 3461 section 4.3: only failures return the message. */
	assert_non_null(strstr(out.data, "Content-Description: Delayed "
	    "Message Headers\nContent-Type: text/rfc822-headers\n"));
	assert_null(strstr(out.data, "Hello Bob"));
	assert_null(strstr(out.data, "Diagnostic-Code"));
	buf_fini(&out);
}

static void
bounce_test_relayed(void **state)
{
	static const struct bounce_rcpt rcpt = { "bob@example.com", NULL,
		"2.0.0", "250 2.0.0 Ok: queued as 9A8B7C", "mx.example.com",
		BOUNCE_TEST_NOW - 5, 0 };
	struct bounce_input in;
	struct buf out;

	(void)state;
	bounce_test_input(&in);
	in.kind = BOUNCE_RELAYED;
	in.rcpts = &rcpt;
	in.nrcpts = 1;
	bounce_test_compose(&in, &out);
	bounce_test_field_is(out.data, "Subject",
	    "Successful Mail Delivery Report");
	bounce_test_field_is(out.data, "Action", "relayed");
	bounce_test_field_is(out.data, "Status", "2.0.0");
	bounce_test_field_is(out.data, "Diagnostic-Code",
	    "smtp; 250 2.0.0 Ok: queued as 9A8B7C");
	assert_null(bounce_test_field(out.data, "Will-Retry-Until"));
	assert_non_null(strstr(out.data, "Content-Type: "
	    "text/rfc822-headers"));
	buf_fini(&out);
}

static void
bounce_test_envid_orcpt(void **state)
{
	static const struct bounce_rcpt rcpt = { "bob@example.com",
		"rfc822;Bob.Smith@example.org", "5.1.1", NULL, NULL, 0, 0 };
	static const struct bounce_rcpt bare = { "bob@example.com",
		"bob-alias@example.org", "5.1.1", NULL, NULL, 0, 0 };
	struct bounce_input in;
	struct buf out;

	(void)state;
	bounce_test_input(&in);
	in.envid = "QQ314159";
	in.rcpts = &rcpt;
	in.nrcpts = 1;
	bounce_test_compose(&in, &out);
	bounce_test_field_is(out.data, "Original-Envelope-Id", "QQ314159");
	bounce_test_field_is(out.data, "Original-Recipient",
	    "rfc822;Bob.Smith@example.org");
	bounce_test_field_is(out.data, "Final-Recipient",
	    "rfc822; bob@example.com");
	/* RFC 3464 puts Original-Envelope-Id first and Original-Recipient
	 * before Final-Recipient. */
	assert_non_null(strstr(out.data, "message/delivery-status\n\n"
	    "Original-Envelope-Id: QQ314159\nReporting-MTA:"));
	assert_non_null(strstr(out.data, "\n\nOriginal-Recipient: "
	    "rfc822;Bob.Smith@example.org\nFinal-Recipient:"));
	assert_true(bounce_test_says(out.data, "<bob@example.com> (originally "
	    "<Bob.Smith@example.org>): delivery failed (status 5.1.1)"));
	assert_null(bounce_test_field(out.data, "Remote-MTA"));
	assert_null(bounce_test_field(out.data, "Last-Attempt-Date"));
	buf_fini(&out);

	/* An ORCPT without a type gets rfc822. */
	in.envid = NULL;
	in.rcpts = &bare;
	bounce_test_compose(&in, &out);
	bounce_test_field_is(out.data, "Original-Recipient",
	    "rfc822; bob-alias@example.org");
	assert_null(bounce_test_field(out.data, "Original-Envelope-Id"));
	buf_fini(&out);
}

static void
bounce_test_injection(void **state)
{
	static const struct bounce_rcpt rcpt = { "bob@example.com", NULL,
		"5.0.0",
		"550 x\r\nBcc: evil@x\r\n\r\n--4FkZ2b0xQ7z.1795000000/"
		"mail.example.org--\nthis line goes on and on and on and on "
		"and on and on and on so it must be folded\t\x01\x7f end",
		"mx.example.com\nX-Evil: 1", 0, 0 };
	struct bounce_input in;
	struct buf out;
	const char *third;

	(void)state;
	bounce_test_input(&in);
	in.rcpts = &rcpt;
	in.nrcpts = 1;
	in.envid = "id\nX-Evil: 2";
	bounce_test_compose(&in, &out);
	assert_null(strstr(out.data, "\nBcc:"));
	assert_null(strstr(out.data, "\nX-Evil"));
	assert_null(strstr(out.data, "\r"));
	assert_null(strstr(out.data, "\x01"));
	assert_null(strstr(out.data, "\x7f"));
	bounce_test_field_is(out.data, "Diagnostic-Code",
	    "smtp; 550 x Bcc: evil@x --4FkZ2b0xQ7z.1795000000/"
	    "mail.example.org-- this line goes on and on and on and on and "
	    "on and on and on so it must be folded end");
	bounce_test_field_is(out.data, "Remote-MTA",
	    "dns; mx.example.com X-Evil: 1");
	bounce_test_field_is(out.data, "Original-Envelope-Id",
	    "id X-Evil: 2");
	/* The delimiter in the diagnostic never starts a line. */
	assert_int_equal(bounce_test_count(out.data,
	    "\n--4FkZ2b0xQ7z.1795000000/mail.example.org"), 4);
	third = strstr(out.data, "Content-Type: message/rfc822");
	assert_non_null(third);
	bounce_test_line_lengths(out.data, (size_t)(third - out.data));
	buf_fini(&out);
}

/* Huge values are cut and words too long to fold stay whole, so no
 * line reaches the 998 bytes RFC 5322 allows. */
static void
bounce_test_long_values(void **state)
{
	static char diag[5000];
	struct bounce_rcpt rcpt = { "bob@example.com", NULL, "5.1.1", diag,
		NULL, 0, 0 };
	struct bounce_input in;
	struct buf out;
	const char *p, *nl;
	char *v;

	(void)state;
	memset(diag, 'x', sizeof(diag) - 1);
	memcpy(diag, "550 ", 4);
	bounce_test_input(&in);
	in.rcpts = &rcpt;
	in.nrcpts = 1;
	bounce_test_compose(&in, &out);
	v = bounce_test_field(out.data, "Diagnostic-Code");
	assert_non_null(v);
	assert_int_equal(strlen(v), strlen("smtp; ") + 900);
	free(v);
	for (p = out.data; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		assert_true(nl - p < 998);
	buf_fini(&out);

	/* Bytes that only continue UTF-8 characters are cut too. */
	memset(diag + 4, 0x80, sizeof(diag) - 5);
	bounce_test_compose(&in, &out);
	v = bounce_test_field(out.data, "Diagnostic-Code");
	assert_non_null(v);
	assert_int_equal(strlen(v), strlen("smtp; ") + 900);
	assert_int_equal(v[strlen(v) - 1], '?');
	free(v);
	buf_fini(&out);
}

static void
bounce_test_empty_original(void **state)
{
	struct bounce_input in;
	struct buf out;

	(void)state;
	bounce_test_input(&in);
	in.orig = NULL;
	in.orig_len = 0;
	in.orig_head_len = 0;
	bounce_test_compose(&in, &out);
	assert_true(bounce_test_says(out.data, "Your message was empty, so no "
	    "copy of it is attached."));
	assert_null(strstr(out.data, "message/rfc822"));
	assert_null(strstr(out.data, "rfc822-headers"));
	/* Two parts: three delimiters, the last one closing. */
	assert_int_equal(bounce_test_count(out.data,
	    "\n--4FkZ2b0xQ7z.1795000000/mail.example.org"), 3);
	assert_non_null(strstr(out.data, "Last-Attempt-Date: Wed, 18 Nov "
	    "2026 11:06:10 +0000\n\n--4FkZ2b0xQ7z.1795000000/"
	    "mail.example.org--\n"));
	buf_fini(&out);
}

/* A body without header fields gets the empty line that starts it. */
static void
bounce_test_no_header_section(void **state)
{
	struct bounce_input in;
	struct buf out;
	char *third;

	(void)state;
	bounce_test_input(&in);
	in.orig = "just a body line\n";
	in.orig_len = strlen(in.orig);
	in.orig_head_len = 0;
	bounce_test_compose(&in, &out);
	third = bounce_test_third_part(out.data);
	assert_string_equal(third, "\njust a body line\n");
	free(third);
	buf_fini(&out);

	in.ret = ENVELOPE_RET_HDRS;
	bounce_test_compose(&in, &out);
	assert_true(bounce_test_says(out.data, "Your message had no header "
	    "section, so no part of it is attached."));
	assert_null(strstr(out.data, "rfc822-headers"));
	buf_fini(&out);
}

/* A returned message holding the boundary gets another one. */
static void
bounce_test_boundary_clash(void **state)
{
	static const char orig[] = "Subject: guess\n\n"
	    "--B1\n--B1=1\n--B1--\n";
	struct bounce_input in;
	struct buf out;
	char b[128], *third;

	(void)state;
	bounce_test_input(&in);
	in.boundary = "B1";
	in.orig = orig;
	in.orig_len = strlen(orig);
	in.orig_head_len = strlen("Subject: guess\n\n");
	bounce_test_compose(&in, &out);
	bounce_test_boundary(out.data, b, sizeof(b));
	assert_string_equal(b, "B1=2");
	third = bounce_test_third_part(out.data);
	assert_string_equal(third, orig);
	free(third);
	buf_fini(&out);
}

static void
bounce_test_utf8(void **state)
{
	static const struct bounce_rcpt rcpt = { "j\xc3\xb6rg@b\xc3\xbc"
		"cher.example", "utf-8;j\xc3\xb6rg@b\xc3\xbc" "cher.example",
		"5.1.1", "550 5.1.1 unknown \xc3\xa9 \xff", NULL, 0, 0 };
	static const char orig[] = "Subject: caf\xc3\xa9\n\nbody\n";
	struct bounce_input in;
	struct buf out;

	(void)state;
	bounce_test_input(&in);
	in.rcpts = &rcpt;
	in.nrcpts = 1;
	in.orig = orig;
	in.orig_len = strlen(orig);
	in.orig_head_len = strlen("Subject: caf\xc3\xa9\n\n");
	bounce_test_compose(&in, &out);
	assert_non_null(strstr(out.data, "report-type="
	    "global-delivery-status;"));
	assert_non_null(strstr(out.data, "Content-Type: text/plain; "
	    "charset=utf-8\nContent-Transfer-Encoding: 8bit\n"));
	assert_non_null(strstr(out.data, "Content-Type: "
	    "message/global-delivery-status\n"));
	assert_non_null(strstr(out.data, "Content-Type: message/global\n"
	    "Content-Transfer-Encoding: 8bit\n"));
	bounce_test_field_is(out.data, "Final-Recipient",
	    "utf-8; j\xc3\xb6rg@b\xc3\xbc" "cher.example");
	/* Not valid UTF-8 as a whole: every byte past ASCII becomes '?'. */
	bounce_test_field_is(out.data, "Diagnostic-Code",
	    "smtp; 550 5.1.1 unknown ?? ?");
	bounce_test_field_is(out.data, "Content-Transfer-Encoding", "8bit");
	buf_fini(&out);
}

/* An ASCII report keeps 8-bit bytes out of everything but the copy. */
static void
bounce_test_ascii_report(void **state)
{
	static const struct bounce_rcpt rcpt = { "bob@example.com", NULL,
		"bad", "connect to mx.example.com: Connection \xc3\xa9 refused",
		NULL, 0, 0 };
	static const char orig[] = "Subject: x\n\ncaf\xc3\xa9\n";
	struct bounce_input in;
	struct buf out;

	(void)state;
	bounce_test_input(&in);
	in.rcpts = &rcpt;
	in.nrcpts = 1;
	in.orig = orig;
	in.orig_len = strlen(orig);
	in.orig_head_len = strlen("Subject: x\n\n");
	bounce_test_compose(&in, &out);
	bounce_test_field_is(out.data, "Diagnostic-Code",
	    "X-Tern; connect to mx.example.com: Connection ?? refused");
	bounce_test_field_is(out.data, "Status", "5.0.0");
	assert_non_null(strstr(out.data, "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: 8bit\n"));
	assert_non_null(strstr(out.data, "charset=us-ascii\n\n"));
	buf_fini(&out);
}

static void
bounce_test_bad_input(void **state)
{
	struct bounce_input in;
	struct errbuf eb;
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(buf_puts(&out, "kept"), 0);

	bounce_test_input(&in);
	in.nrcpts = 0;
	assert_int_equal(bounce_compose(&in, &out, &eb), -1);
	assert_string_equal(eb.msg, "no recipients to report on");

	bounce_test_input(&in);
	in.boundary = "has space";
	assert_int_equal(bounce_compose(&in, &out, &eb), -1);

	bounce_test_input(&in);
	in.to = "";
	assert_int_equal(bounce_compose(&in, &out, &eb), -1);
	assert_string_equal(out.data, "kept");
	buf_fini(&out);

	/* Out of room: the output is left as it was. */
	buf_init(&out, 100);
	assert_int_equal(buf_puts(&out, "kept"), 0);
	bounce_test_input(&in);
	assert_int_equal(bounce_compose(&in, &out, &eb), -1);
	assert_non_null(strstr(eb.msg, "bounce report for 4FkZ2b0xQ7z"));
	assert_string_equal(out.data, "kept");
	assert_int_equal(out.len, 4);
	buf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bounce_test_failed_python),
		cmocka_unit_test(bounce_test_failed_exact),
		cmocka_unit_test(bounce_test_ret_hdrs),
		cmocka_unit_test(bounce_test_oversize),
		cmocka_unit_test(bounce_test_headers_cut),
		cmocka_unit_test(bounce_test_delayed),
		cmocka_unit_test(bounce_test_relayed),
		cmocka_unit_test(bounce_test_envid_orcpt),
		cmocka_unit_test(bounce_test_injection),
		cmocka_unit_test(bounce_test_long_values),
		cmocka_unit_test(bounce_test_empty_original),
		cmocka_unit_test(bounce_test_no_header_section),
		cmocka_unit_test(bounce_test_boundary_clash),
		cmocka_unit_test(bounce_test_utf8),
		cmocka_unit_test(bounce_test_ascii_report),
		cmocka_unit_test(bounce_test_bad_input),
	};

	/* Dates in the reports are local time: make them predictable. */
	setenv("TZ", "UTC", 1);
	tzset();
	return UNIT_RUN(tests);
}
