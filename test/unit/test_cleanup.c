/* Unit tests for cleanup (aliases, qualification, Received, Subject from
 * the body) and mime_text (the first text part, decoded). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "mime_text.h"
#include "unit.h"

static struct config *
cleanup_test_config(unsigned subject_chars)
{
	char path[] = "/tmp/tern-cleanup-test.XXXXXX", text[256];
	struct config *cfg;
	struct errbuf eb;
	int fd, n;

	fd = mkstemp(path);
	n = snprintf(text, sizeof(text), "hostname = mx.example.org\n"
	    "origin = example.org\nempty_subject_from_body = %u\n",
	    subject_chars);
	assert_int_equal(write(fd, text, (size_t)n), n);
	close(fd);
	cfg = config_load(path, true, NULL, NULL, &eb);
	unlink(path);
	assert_non_null(cfg);
	return cfg;
}

static struct aliases *
cleanup_test_aliases(const char *text)
{
	char path[] = "/tmp/tern-cleanup-aliases.XXXXXX";
	struct aliases *al;
	struct errbuf eb;
	int fd;

	fd = mkstemp(path);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	al = aliases_load(path, NULL, NULL, &eb);
	unlink(path);
	assert_non_null(al);
	return al;
}

/* Run cleanup on msg for rcpts, as received over SMTP when smtp is
 * not NULL; returns the new envelope and data. */
static void
cleanup_test_run_smtp(const struct config *cfg, const struct aliases *al,
    const char *const *rcpts, const char *msg,
    const struct cleanup_smtp *smtp, bool complete, struct envelope *out,
    struct buf *data)
{
	struct cleanup_input in;
	struct envelope env;
	struct errbuf eb;

	envelope_init(&env);
	env.arrival_us = 1000000;
	env.sender = strdup("alice");
	for (; *rcpts != NULL; rcpts++)
		envelope_add_rcpt(&env, *rcpts);
	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.aliases = al;
	in.id = "660D3BD90055B0070F2";
	in.uid = 1000;
	in.now = 1795312394;
	in.env = &env;
	in.msg = msg;
	in.msg_len = strlen(msg);
	in.smtp = smtp;
	in.complete_headers = complete;
	envelope_init(out);
	buf_init(data, 0);
	assert_int_equal(cleanup_message(&in, out, data, NULL, NULL, &eb), 0);
	envelope_fini(&env);
}

static void
cleanup_test_run(const struct config *cfg, const struct aliases *al,
    const char *const *rcpts, const char *msg, struct envelope *out,
    struct buf *data)
{
	cleanup_test_run_smtp(cfg, al, rcpts, msg, NULL, false, out, data);
}

static void
cleanup_test_aliases_expand(void **state)
{
	static const char *const rcpts[] = { "postmaster", "ops", "x@y.org",
		"loop1", "X@Y.ORG", NULL };
	struct config *cfg = cleanup_test_config(0);
	struct aliases *al = cleanup_test_aliases("postmaster: root\n"
	    "root: admin@example.net, \\root\nops: bob, carol@example.net\n"
	    "loop1: loop2\nloop2: loop1\n");
	struct envelope out;
	struct buf data;
	size_t i;
	static const char *const want[] = { "admin@example.net",
		"root@example.org", "bob@example.org", "carol@example.net",
		"x@y.org", "loop1@example.org" };

	(void)state;
	cleanup_test_run(cfg, al, rcpts, "Subject: x\n\nbody\n", &out, &data);
	assert_string_equal(out.sender, "alice@example.org");
	assert_int_equal(out.nrcpts, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < out.nrcpts; i++)
		assert_string_equal(out.rcpts[i].addr, want[i]);
	assert_int_equal(out.size, data.len);
	assert_true(strncmp(data.data, "Received: by mx.example.org (tern, "
	    "from userid 1000)\n\tid 660D3BD90055B0070F2;", 68) == 0);
	assert_non_null(strstr(data.data, "\nSubject: x\n\nbody\n"));
	envelope_fini(&out);
	buf_fini(&data);
	aliases_free(al);
	config_free(cfg);
}

/* 100,000 recipients, each given twice (the second time in upper
 * case): 100,000 come out, in order.  Duplicates were found by a
 * pairwise scan, which took most of a minute here. */
static void
cleanup_test_many_rcpts(void **state)
{
	enum { N = 100000 };
	struct config *cfg = cleanup_test_config(0);
	const char **rcpts;
	char **names;
	struct envelope out;
	struct buf data;
	size_t i;

	(void)state;
	rcpts = calloc(2 * N + 1, sizeof(*rcpts));
	names = calloc(2 * N, sizeof(*names));
	assert_non_null(rcpts);
	assert_non_null(names);
	for (i = 0; i < 2 * N; i++) {
		names[i] = malloc(32);
		assert_non_null(names[i]);
		snprintf(names[i], 32, i < N ? "r%zu@remote.example" :
		    "R%zu@REMOTE.Example", i % N);
		rcpts[i] = names[i];
	}
	cleanup_test_run(cfg, NULL, rcpts, "Subject: x\n\nbody\n", &out,
	    &data);
	assert_int_equal(out.nrcpts, N);
	assert_string_equal(out.rcpts[0].addr, "r0@remote.example");
	assert_string_equal(out.rcpts[N - 1].addr, "r99999@remote.example");
	for (i = 0; i < 2 * N; i++)
		free(names[i]);
	free(names);
	free(rcpts);
	envelope_fini(&out);
	buf_fini(&data);
	config_free(cfg);
}

static void
cleanup_test_subject_plain(void **state)
{
	static const char *const rcpts[] = { "a@b.org", NULL };
	struct config *cfg = cleanup_test_config(20);
	struct envelope out;
	struct buf data;

	(void)state;
	cleanup_test_run(cfg, NULL, rcpts, "From: a@b\nSubject:   \n\n"
	    "  Disk   almost full on\n  server01: 98%\n", &out, &data);
	/* 20 characters: "Disk almost full on" and a space, trimmed. */
	assert_non_null(strstr(data.data, "\nFrom: a@b\nSubject: Disk almost "
	    "full on\n\n  Disk"));
	assert_null(strstr(data.data, "Subject:   \n"));
	envelope_fini(&out);
	buf_fini(&data);
	/* A real Subject is left alone. */
	cleanup_test_run(cfg, NULL, rcpts, "Subject: kept\n\ntext\n", &out,
	    &data);
	assert_non_null(strstr(data.data, "\nSubject: kept\n\ntext\n"));
	envelope_fini(&out);
	buf_fini(&data);
	config_free(cfg);
}

/* Received over SMTP: the Received header names the client; a client
 * that may relay gets the fields it left out, others do not. */
static void
cleanup_test_smtp(void **state)
{
	static const char *const rcpts[] = { "a@b.org", NULL };
	static const struct cleanup_smtp smtp = { "printer(1)",
		"192.0.2.7", "ESMTPS" };
	struct config *cfg = cleanup_test_config(0);
	struct envelope out;
	struct buf data;
	const char *want = "Received: from printer?1? (unknown [192.0.2.7])\n"
	    "\tby mx.example.org (tern) with ESMTPS id 660D3BD90055B0070F2\n"
	    "\tfor <a@b.org>; ";

	(void)state;
	cleanup_test_run_smtp(cfg, NULL, rcpts, "Subject: scan\n\nbody\n",
	    &smtp, true, &out, &data);
	assert_true(strncmp(data.data, want, strlen(want)) == 0);
	assert_non_null(strstr(data.data, "\nSubject: scan\n"
	    "From: <alice@example.org>\nDate: "));
	assert_non_null(strstr(data.data, "\nMessage-ID: <20261122"));
	assert_non_null(strstr(data.data, ".660D3BD90055B0070F2@mx.example.org>"
	    "\nTo: undisclosed-recipients:;\n\nbody\n"));
	assert_int_equal(out.size, data.len);
	envelope_fini(&out);
	buf_fini(&data);
	/* Fields that are there are left alone; nothing is added. */
	cleanup_test_run_smtp(cfg, NULL, rcpts, "From: x@y\nDate: Sun, 22 Nov "
	    "2026 10:00:00 +0000\nMessage-ID: <1@y>\nCc: c@d\n\nbody\n",
	    &smtp, true, &out, &data);
	assert_null(strstr(data.data, "undisclosed-recipients"));
	assert_null(strstr(data.data, "From: <alice"));
	assert_non_null(strstr(data.data, "\nFrom: x@y\nDate: Sun, 22 Nov "
	    "2026 10:00:00 +0000\nMessage-ID: <1@y>\nCc: c@d\n\nbody\n"));
	envelope_fini(&out);
	buf_fini(&data);
	/* A client that may not relay: its message as it came. */
	cleanup_test_run_smtp(cfg, NULL, rcpts, "Subject: hi\n\nbody\n",
	    &smtp, false, &out, &data);
	assert_non_null(strstr(data.data, "\nSubject: hi\n\nbody\n"));
	assert_null(strstr(data.data, "Message-ID"));
	envelope_fini(&out);
	buf_fini(&data);
	config_free(cfg);
}

static void
cleanup_test_subject_mime(void **state)
{
	static const char *const rcpts[] = { "a@b.org", NULL };
	struct config *cfg = cleanup_test_config(5);
	struct envelope out;
	struct buf data;

	(void)state;
	/* Five characters, not bytes, of UTF-8 text in base64, inside a
	 * nested multipart; encoded as an RFC 2047 word. */
	cleanup_test_run(cfg, NULL, rcpts, "MIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=\"outer\"\n\n"
	    "preamble\n--outer\n"
	    "Content-Type: multipart/alternative; boundary=inner\n\n"
	    "--inner\nContent-Type: text/html\n\n<p>no</p>\n"
	    "--inner\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: base64\n\n"
	    "56OB55uY5bey5ruh6K2m5ZGK\n--inner--\n--outer--\n", &out, &data);
	/* "磁盘已满警告" -> first five characters "磁盘已满警" */
	assert_non_null(strstr(data.data, "Subject: =?UTF-8?B?56OB55uY5bey5ruh"
	    "6K2m?=\n"));
	envelope_fini(&out);
	buf_fini(&data);
	config_free(cfg);
}

struct mime_case {
	const char *msg;
	size_t max;
	const char *want;
};

static const struct mime_case mime_cases[] = {
	{ "\nhello world\n", 5, "hello" },
	{ "Subject: x\n\n   \n\n  spaced   out  \n", 100, "spaced out" },
	{ "Content-Type: text/plain; charset=iso-8859-1\n"
	    "Content-Transfer-Encoding: quoted-printable\n\ncaf=E9 =\nbar\n",
	    100, "caf\xc3\xa9 bar" },
	{ "Content-Type: text/html\n\n<b>x</b>\n", 100, "" },
	{ "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
	    "Content-Type: application/pdf\n\nxx\n--b--\n", 100, "" },
	{ "Content-Type: text/plain; charset=x-unknown-charset\n\nabc\n", 100,
	    "" },
	{ "Content-Type: multipart/mixed\n\nno boundary\n", 100, "" },
	{ "", 10, "" },
};

static void
mime_text_test_cases(void **state)
{
	struct buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mime_cases) / sizeof(mime_cases[0]); i++) {
		buf_init(&out, 0);
		assert_int_equal(mime_text_first(mime_cases[i].msg,
		    strlen(mime_cases[i].msg), mime_cases[i].max, &out), 0);
		if (strcmp(out.len ? out.data : "", mime_cases[i].want) != 0)
			fail_msg("case %zu: got '%s'", i,
			    out.len ? out.data : "");
		buf_fini(&out);
	}
}

static void
mime_text_test_deep(void **state)
{
	struct buf msg, out;
	int i;

	(void)state;
	buf_init(&msg, 0);
	buf_init(&out, 0);
	for (i = 0; i < 50; i++)
		buf_printf(&msg, "Content-Type: multipart/mixed; boundary=b%d\n"
		    "\n--b%d\n", i, i);
	buf_puts(&msg, "\ndeep text\n");
	assert_int_equal(mime_text_first(msg.data, msg.len, 10, &out), 0);
	assert_int_equal(out.len, 0); /* deeper than MIME_TEXT_MAX_DEPTH */
	buf_fini(&msg);
	buf_fini(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cleanup_test_aliases_expand),
		cmocka_unit_test(cleanup_test_many_rcpts),
		cmocka_unit_test(cleanup_test_subject_plain),
		cmocka_unit_test(cleanup_test_subject_mime),
		cmocka_unit_test(cleanup_test_smtp),
		cmocka_unit_test(mime_text_test_cases),
		cmocka_unit_test(mime_text_test_deep),
	};

	return UNIT_RUN(tests);
}
