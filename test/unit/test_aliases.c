/*
 * Unit tests for aliases: each case writes a file under /tmp, loads it
 * and checks the table and every report (line, error or warning, text).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "aliases.h"
#include "buf.h"

#define ALIASES_TEST_MAX 16
#define ALIASES_TEXT(s) s, sizeof(s) - 1

struct aliases_test_rec {
	unsigned n;
	unsigned errors;
	unsigned warnings;
	unsigned line[ALIASES_TEST_MAX];
	int is_error[ALIASES_TEST_MAX];
	char msg[ALIASES_TEST_MAX][1024];
	char path[256];
};

static void
aliases_test_report(const char *path, unsigned line, int is_error,
    const char *msg, void *arg)
{
	struct aliases_test_rec *rec = arg;

	if (is_error)
		rec->errors++;
	else
		rec->warnings++;
	snprintf(rec->path, sizeof(rec->path), "%s", path);
	if (rec->n < ALIASES_TEST_MAX) {
		rec->line[rec->n] = line;
		rec->is_error[rec->n] = is_error;
		snprintf(rec->msg[rec->n], sizeof(rec->msg[0]), "%s", msg);
	}
	rec->n++;
}

static void
aliases_test_write(char *path, const char *text, size_t len)
{
	int fd;

	strcpy(path, "/tmp/tern-aliases-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Load text as an aliases file, recording reports in rec. */
static struct aliases *
aliases_test_load(const char *text, size_t len,
    struct aliases_test_rec *rec, struct errbuf *eb)
{
	char path[64];
	struct aliases *al;

	memset(rec, 0, sizeof(*rec));
	errbuf_clear(eb);
	aliases_test_write(path, text, len);
	al = aliases_load(path, aliases_test_report, rec, eb);
	if (rec->n > 0)
		assert_string_equal(rec->path, path);
	if (al == NULL)
		assert_non_null(strstr(eb->msg, path));
	unlink(path);
	return al;
}

/* Assert that name has exactly the values given (NULL-terminated). */
static void
aliases_test_values(const struct aliases *al, const char *name, ...)
{
	const char *const *v;
	const char *want;
	size_t n, i = 0;
	va_list ap;

	n = aliases_lookup(al, name, &v);
	assert_true(n > 0);
	va_start(ap, name);
	while ((want = va_arg(ap, const char *)) != NULL) {
		assert_true(i < n);
		assert_string_equal(v[i], want);
		i++;
	}
	va_end(ap);
	assert_int_equal(i, n);
}

static void
aliases_test_absent(const struct aliases *al, const char *name)
{
	const char *const *v = (const char *const *)&v;

	assert_int_equal(aliases_lookup(al, name, &v), 0);
	assert_null(v);
}

/* The file must be rejected with exactly one report: an error on line
 * whose message contains want. */
static void
aliases_test_error(const char *text, size_t len, unsigned line,
    const char *want)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct aliases *al;

	al = aliases_test_load(text, len, &rec, &eb);
	assert_null(al);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.errors, 1);
	assert_int_equal(rec.line[0], line);
	assert_true(rec.is_error[0]);
	if (strstr(rec.msg[0], want) == NULL)
		fail_msg("message '%s' lacks '%s'", rec.msg[0], want);
	assert_non_null(strstr(eb.msg, ": 1 error"));
	assert_null(strstr(eb.msg, "errors"));
}

/* The file must load with no report at all. */
static struct aliases *
aliases_test_clean(const char *text, size_t len)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct aliases *al;

	al = aliases_test_load(text, len, &rec, &eb);
	if (al == NULL || rec.n != 0)
		fail_msg("unexpected: %s / %s", eb.msg,
		    rec.n ? rec.msg[0] : "");
	return al;
}

/* ------------------------------------------------------------ loading */

static void
aliases_test_debian_postfix(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "# See man 5 aliases for format\n"
	    "postmaster:    root\n"));
	assert_int_equal(aliases_count(al), 1);
	aliases_test_values(al, "postmaster", "root", NULL);
	aliases_test_absent(al, "root");
	aliases_free(al);
}

static void
aliases_test_debian_roles(void **state)
{
	static const char *const roles[] = { "mailer-daemon", "nobody",
		"hostmaster", "usenet", "news", "webmaster", "www", "ftp",
		"abuse", "noc", "security" };
	struct aliases *al;
	size_t i;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "# /etc/aliases\n"
	    "mailer-daemon: postmaster\n"
	    "postmaster: root\n"
	    "nobody: root\n"
	    "hostmaster: root\n"
	    "usenet: root\n"
	    "news: root\n"
	    "webmaster: root\n"
	    "www: root\n"
	    "ftp: root\n"
	    "abuse: root\n"
	    "noc: root\n"
	    "security: root\n"
	    "root: admin@example.org\n"));
	assert_int_equal(aliases_count(al), 13);
	for (i = 1; i < sizeof(roles) / sizeof(roles[0]); i++)
		aliases_test_values(al, roles[i], "root", NULL);
	aliases_test_values(al, "mailer-daemon", "postmaster", NULL);
	aliases_test_values(al, "root", "admin@example.org", NULL);
	aliases_free(al);
}

static void
aliases_test_address_forms(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "a: <user@example.org>\n"
	    "b: Jane Doe <jane@example.org>,   \"Doe, John\" <jd@example.org>\n"
	    "c: \"a, b\"@example.org , local\t,\tx@example.org\n"
	    "d: \\root, other\n"
	    "e: < spaced@example.org >\n"
	    "f: a,,b,\n"
	    "g: \"john doe\"\n"));
	aliases_test_values(al, "a", "user@example.org", NULL);
	aliases_test_values(al, "b", "jane@example.org", "jd@example.org",
	    NULL);
	aliases_test_values(al, "c", "\"a, b\"@example.org", "local",
	    "x@example.org", NULL);
	aliases_test_values(al, "d", "root", "other", NULL);
	aliases_test_values(al, "e", "spaced@example.org", NULL);
	aliases_test_values(al, "f", "a", "b", NULL);
	aliases_test_values(al, "g", "\"john doe\"", NULL);
	assert_int_equal(aliases_count(al), 7);
	aliases_free(al);
}

static void
aliases_test_continuation(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "staff: alice,\n"
	    "\tbob@example.org,\n"
	    "  carol\n"
	    "# a comment inside the entry\n"
	    "\n"
	    "    dave, erin\n"
	    "empty:\n"
	    "\tfrank\n"
	    "next: grace\n"
	    "\t, heidi\n"));
	aliases_test_values(al, "staff", "alice", "bob@example.org", "carol",
	    "dave", "erin", NULL);
	aliases_test_values(al, "empty", "frank", NULL);
	aliases_test_values(al, "next", "grace", "heidi", NULL);
	assert_int_equal(aliases_count(al), 3);
	aliases_free(al);
}

static void
aliases_test_comments_and_blanks(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "#\n"
	    "#no space\n"
	    "   # indented comment\n"
	    "\t#tab comment: with colon\n"
	    "\n"
	    "   \t\n"
	    "a: b\n"
	    "#c: d\n"));
	assert_int_equal(aliases_count(al), 1);
	aliases_test_absent(al, "#c");
	aliases_test_absent(al, "c");
	aliases_free(al);
}

static void
aliases_test_quoted_names(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "\"john doe\": jd\n"
	    "\"weird:name\" : w\n"
	    "\"esc\\\"q\": e\n"
	    "\"Tab\tName\": t\n"));
	aliases_test_values(al, "john doe", "jd", NULL);
	aliases_test_values(al, "JOHN Doe", "jd", NULL);
	aliases_test_values(al, "weird:name", "w", NULL);
	aliases_test_values(al, "esc\"q", "e", NULL);
	aliases_test_values(al, "tab\tname", "t", NULL);
	aliases_test_absent(al, "john");
	aliases_free(al);
}

static void
aliases_test_case_insensitive(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "PostMaster: Root\n"
	    "jos\xc3\xa9: j\n"));
	aliases_test_values(al, "postmaster", "Root", NULL);
	aliases_test_values(al, "POSTMASTER", "Root", NULL);
	aliases_test_values(al, "pOsTmAsTeR", "Root", NULL);
	aliases_test_values(al, "JOS\xc3\xa9", "j", NULL);
	aliases_test_absent(al, "postmaste");
	aliases_test_absent(al, "postmasters");
	aliases_test_absent(al, "");
	aliases_free(al);
}

static void
aliases_test_crlf_bom_no_newline(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean(ALIASES_TEXT(
	    "\xef\xbb\xbfroot: a\r\n"
	    "\tb\r\n"
	    "last: c"));
	aliases_test_values(al, "root", "a", "b", NULL);
	aliases_test_values(al, "last", "c", NULL);
	aliases_free(al);
}

static void
aliases_test_missing_file(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct aliases *al;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	errbuf_clear(&eb);
	al = aliases_load("/tmp/tern-aliases-does-not-exist/aliases",
	    aliases_test_report, &rec, &eb);
	assert_non_null(al);
	assert_int_equal(aliases_count(al), 0);
	aliases_test_absent(al, "postmaster");
	assert_int_equal(rec.n, 0);
	aliases_free(al);
}

static void
aliases_test_unreadable(void **state)
{
	char dir[] = "/tmp/tern-aliases-dir-XXXXXX";
	struct errbuf eb;
	struct aliases *al;

	(void)state;
	assert_non_null(mkdtemp(dir));
	errbuf_clear(&eb);
	al = aliases_load(dir, NULL, NULL, &eb);
	assert_null(al);
	assert_non_null(strstr(eb.msg, dir));
	assert_non_null(strstr(eb.msg, strerror(EISDIR)));
	assert_int_equal(rmdir(dir), 0);
}

static void
aliases_test_empty_file(void **state)
{
	struct aliases *al;

	(void)state;
	al = aliases_test_clean("", 0);
	assert_int_equal(aliases_count(al), 0);
	aliases_free(al);
}

static void
aliases_test_null_report(void **state)
{
	char path[64];
	struct errbuf eb;
	struct aliases *al;

	(void)state;
	aliases_test_write(path, ALIASES_TEXT("a b: c\nx: |cmd\n"));
	errbuf_clear(&eb);
	al = aliases_load(path, NULL, NULL, &eb);
	assert_null(al);
	assert_non_null(strstr(eb.msg, ": 1 error"));
	unlink(path);
	aliases_test_write(path, ALIASES_TEXT("x: |cmd, y\n"));
	al = aliases_load(path, NULL, NULL, &eb);
	assert_non_null(al);
	aliases_test_values(al, "x", "y", NULL);
	aliases_free(al);
	aliases_free(NULL);
	unlink(path);
}

/* ------------------------------------------------------------ errors */

static void
aliases_test_err_missing_colon(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("a: b\nroot admin\n"), 2,
	    "missing ':'");
	aliases_test_error(ALIASES_TEXT("\"open: b\n"), 1,
	    "unterminated quoted string in the alias name");
}

static void
aliases_test_err_empty_name(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("# c\n: root\n"), 2, "empty alias");
	aliases_test_error(ALIASES_TEXT("\"\": root\n"), 1, "empty alias");
}

static void
aliases_test_err_bad_name(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("ok: a\njohn doe: jd\n"), 2,
	    "alias name 'john doe' contains whitespace");
	aliases_test_error(ALIASES_TEXT("a\"b\": c\n"), 1, "a quote");
	aliases_test_error(ALIASES_TEXT("\"a\"b: c\n"), 1,
	    "text after the quoted alias name");
	aliases_test_error(ALIASES_TEXT("x: y\n\na\x01z: c\n"), 3,
	    "control character 0x01");
	aliases_test_error(ALIASES_TEXT("\"a\x1b\": c\n"), 1,
	    "control character 0x1b");
}

static void
aliases_test_err_continuation_first(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("# header\n  root\n\tmore\n"), 2,
	    "before any alias");
}

static void
aliases_test_err_duplicate(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT(
	    "root: a\n"
	    "\tb\n"
	    "other: c\n"
	    "Root: d\n"), 4, "first defined on line 1");
}

/* A name whose values were all skipped still counts for duplicates. */
static void
aliases_test_err_duplicate_of_skipped(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;

	(void)state;
	assert_null(aliases_test_load(ALIASES_TEXT("x: |cmd\nX: y\n"), &rec,
	    &eb));
	assert_int_equal(rec.n, 3);
	assert_int_equal(rec.errors, 1);
	assert_int_equal(rec.line[2], 2);
	assert_true(rec.is_error[2]);
	assert_non_null(strstr(rec.msg[2], "duplicate alias 'x'"));
}

static void
aliases_test_err_empty_values(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("a: b\nfoo:\nbar: c\n"), 2,
	    "alias 'foo' has no values");
	aliases_test_error(ALIASES_TEXT("foo: ,  ,\n"), 1, "no values");
	aliases_test_error(ALIASES_TEXT("foo:\n# later\n\n"), 1,
	    "no values");
	aliases_test_error(ALIASES_TEXT("foo:"), 1, "no values");
}

static void
aliases_test_err_nul(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("a: b\nc: d\ne: f\0g\n"), 3,
	    "NUL byte at column 5");
	aliases_test_error(ALIASES_TEXT("a: b\n#\0\n"), 2, "NUL byte");
}

static void
aliases_test_err_utf8(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("a: b\nc: \xff\n"), 2, "UTF-8");
	aliases_test_error(ALIASES_TEXT("\xc0\xaf: b\n"), 1, "UTF-8");
	aliases_test_error(ALIASES_TEXT("a: \xed\xa0\x80\n"), 1, "UTF-8");
	aliases_test_error(ALIASES_TEXT("a: b\n\t\xe9t\xe9\n"), 2, "UTF-8");
	aliases_test_error(ALIASES_TEXT("# caf\xe9\n"), 1, "UTF-8");
}

static void
aliases_test_err_long_line(void **state)
{
	struct buf b;
	struct aliases *al;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "a: b\nlong: "), 0);
	while (b.len < 5 + ALIASES_MAX_LINE)
		assert_int_equal(buf_puts(&b, "x,"), 0);
	assert_int_equal(buf_puts(&b, "y\n\tmore\nc: d\n"), 0);
	aliases_test_error(b.data, b.len, 2, "longer than");

	/* Exactly ALIASES_MAX_LINE bytes is still fine. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "ok: "), 0);
	while (b.len < ALIASES_MAX_LINE)
		assert_int_equal(buf_putc(&b, b.len % 2 ? ',' : 'v'), 0);
	assert_int_equal(buf_putc(&b, '\n'), 0);
	al = aliases_test_clean(b.data, b.len);
	aliases_free(al);

	/* An overlong comment without a final newline. */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "a: b\n#"), 0);
	while (b.len < 3 * ALIASES_MAX_LINE)
		assert_int_equal(buf_putc(&b, 'c'), 0);
	aliases_test_error(b.data, b.len, 2, "longer than");
	buf_fini(&b);
}

static void
aliases_test_err_bad_values(void **state)
{
	(void)state;
	aliases_test_error(ALIASES_TEXT("a: \"open, b\n"), 1,
	    "unterminated quoted string in the values");
	aliases_test_error(ALIASES_TEXT("a: Name <x@example.org\n"), 1,
	    "'<' without '>'");
	aliases_test_error(ALIASES_TEXT("a: <x@example.org> tail\n"), 1,
	    "text after '>'");
	aliases_test_error(ALIASES_TEXT("a: <>\n"), 1, "empty address");
	aliases_test_error(ALIASES_TEXT("a: b\n\tuser # comment\n"), 2,
	    "value 'user # comment' contains whitespace");
	aliases_test_error(ALIASES_TEXT("a: user@\n"), 1, "domain is empty");
	aliases_test_error(ALIASES_TEXT("a: @example.org\n"), 1,
	    "local part or domain");
	aliases_test_error(ALIASES_TEXT("a: x>y\n"), 1, "angle bracket");
}

static void
aliases_test_err_many(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;

	(void)state;
	assert_null(aliases_test_load(ALIASES_TEXT(
	    "ok: fine\n"
	    "bad name: x\n"
	    "\tstill, ignored\n"
	    "nocolon\n"
	    "p: |/bin/cat\n"
	    "OK: again\n"), &rec, &eb));
	assert_int_equal(rec.n, 5);
	assert_int_equal(rec.errors, 3);
	assert_int_equal(rec.warnings, 2);
	assert_int_equal(rec.line[0], 2);
	assert_int_equal(rec.line[1], 4);
	assert_int_equal(rec.line[2], 5);
	assert_false(rec.is_error[2]);
	assert_int_equal(rec.line[3], 5);
	assert_false(rec.is_error[3]);
	assert_int_equal(rec.line[4], 6);
	assert_true(rec.is_error[4]);
	assert_non_null(strstr(rec.msg[4], "line 1"));
	assert_non_null(strstr(eb.msg, ": 3 errors"));
}

static void
aliases_test_err_too_many(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct buf b;
	unsigned i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < ALIASES_MAX_ENTRIES + 3; i++)
		assert_int_equal(buf_printf(&b, "n%u: v%u\n", i, i), 0);
	assert_null(aliases_test_load(b.data, b.len, &rec, &eb));
	assert_int_equal(rec.n, 1);
	assert_true(rec.is_error[0]);
	assert_int_equal(rec.line[0], ALIASES_MAX_ENTRIES + 1);
	assert_non_null(strstr(rec.msg[0], "more than"));
	buf_fini(&b);
}

/* ------------------------------------------------------------ warnings */

static void
aliases_test_warn_command(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct aliases *al;

	(void)state;
	al = aliases_test_load(ALIASES_TEXT(
	    "a: b\n"
	    "c: d\n"
	    "e: f\n"
	    "g: h\n"
	    "i: j\n"
	    "procmail: me,\n"
	    "\t|/usr/bin/procmail\n"), &rec, &eb);
	assert_non_null(al);
	assert_int_equal(rec.n, 1);
	assert_int_equal(rec.line[0], 7);
	assert_false(rec.is_error[0]);
	assert_string_equal(rec.msg[0], "tern does not deliver to commands, "
	    "files or :include: lists; the value '|/usr/bin/procmail' is "
	    "skipped");
	aliases_test_values(al, "procmail", "me", NULL);
	assert_int_equal(aliases_count(al), 6);
	aliases_free(al);
}

static void
aliases_test_warn_forms(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct aliases *al;

	(void)state;
	al = aliases_test_load(ALIASES_TEXT(
	    "list: keep, /var/mail/archive, :include:/etc/mail/list,\n"
	    "\t\"|/usr/lib/wrapper prog, arg\", \":INCLUDE:/x\",\n"
	    "\t\"/tmp/with space\", also\n"), &rec, &eb);
	assert_non_null(al);
	assert_int_equal(rec.n, 5);
	assert_int_equal(rec.warnings, 5);
	assert_int_equal(rec.line[0], 1);
	assert_non_null(strstr(rec.msg[0], "'/var/mail/archive'"));
	assert_non_null(strstr(rec.msg[1], "':include:/etc/mail/list'"));
	assert_int_equal(rec.line[2], 2);
	assert_non_null(strstr(rec.msg[2],
	    "'\"|/usr/lib/wrapper prog, arg\"'"));
	assert_int_equal(rec.line[4], 3);
	aliases_test_values(al, "list", "keep", "also", NULL);
	aliases_free(al);
}

static void
aliases_test_warn_nothing_left(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct aliases *al;

	(void)state;
	al = aliases_test_load(ALIASES_TEXT(
	    "devnull: /dev/null\n"
	    "majordomo: \"|/usr/lib/majordomo/wrapper majordomo\",\n"
	    "\t:include:/etc/majordomo.list\n"
	    "root: admin\n"), &rec, &eb);
	assert_non_null(al);
	assert_int_equal(rec.errors, 0);
	assert_int_equal(rec.warnings, 5);
	assert_int_equal(rec.line[1], 1);
	assert_non_null(strstr(rec.msg[1], "'devnull' has no values left"));
	assert_int_equal(rec.line[4], 2);
	assert_non_null(strstr(rec.msg[4], "'majordomo'"));
	assert_int_equal(aliases_count(al), 1);
	aliases_test_absent(al, "devnull");
	aliases_test_absent(al, "majordomo");
	aliases_test_values(al, "root", "admin", NULL);
	aliases_free(al);
}

static void
aliases_test_clipped_message(void **state)
{
	struct aliases_test_rec rec;
	struct errbuf eb;
	struct aliases *al;
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "a: |"), 0);
	while (b.len < 2000)
		assert_int_equal(buf_puts(&b, "\xc3\xa9"), 0);
	assert_int_equal(buf_puts(&b, ", b\n"), 0);
	al = aliases_test_load(b.data, b.len, &rec, &eb);
	assert_non_null(al);
	assert_int_equal(rec.n, 1);
	assert_true(strlen(rec.msg[0]) < 300);
	assert_non_null(strstr(rec.msg[0], "...' is skipped"));
	aliases_free(al);
	buf_fini(&b);
}

/* ------------------------------------------------------------ scale */

static void
aliases_test_many_entries(void **state)
{
	struct aliases *al;
	struct timespec t0, t1;
	char name[32], want[32], local[32];
	struct buf b;
	unsigned i;
	double secs;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < 50000; i++)
		assert_int_equal(buf_printf(&b, "User%u: u%u@example.org,\n"
		    "\tlocal%u\n", i, i, i), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	al = aliases_test_clean(b.data, b.len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# 50000 aliases loaded in %.3f s\n", secs);
	assert_int_equal(aliases_count(al), 50000);
	for (i = 0; i < 50000; i += 997) {
		snprintf(name, sizeof(name), "USER%u", i);
		snprintf(want, sizeof(want), "u%u@example.org", i);
		snprintf(local, sizeof(local), "local%u", i);
		aliases_test_values(al, name, want, local, NULL);
	}
	aliases_test_absent(al, "user50000");
	aliases_free(al);
	buf_fini(&b);
}

static void
aliases_test_long_value_list(void **state)
{
	const char *const *v;
	struct aliases *al;
	struct buf b;
	unsigned i;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "everyone:\n"), 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_printf(&b, "\tm%u@example.org,\n", i), 0);
	al = aliases_test_clean(b.data, b.len);
	assert_int_equal(aliases_lookup(al, "Everyone", &v), 5000);
	assert_string_equal(v[0], "m0@example.org");
	assert_string_equal(v[4999], "m4999@example.org");
	aliases_free(al);
	buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aliases_test_debian_postfix),
		cmocka_unit_test(aliases_test_debian_roles),
		cmocka_unit_test(aliases_test_address_forms),
		cmocka_unit_test(aliases_test_continuation),
		cmocka_unit_test(aliases_test_comments_and_blanks),
		cmocka_unit_test(aliases_test_quoted_names),
		cmocka_unit_test(aliases_test_case_insensitive),
		cmocka_unit_test(aliases_test_crlf_bom_no_newline),
		cmocka_unit_test(aliases_test_missing_file),
		cmocka_unit_test(aliases_test_unreadable),
		cmocka_unit_test(aliases_test_empty_file),
		cmocka_unit_test(aliases_test_null_report),
		cmocka_unit_test(aliases_test_err_missing_colon),
		cmocka_unit_test(aliases_test_err_empty_name),
		cmocka_unit_test(aliases_test_err_bad_name),
		cmocka_unit_test(aliases_test_err_continuation_first),
		cmocka_unit_test(aliases_test_err_duplicate),
		cmocka_unit_test(aliases_test_err_duplicate_of_skipped),
		cmocka_unit_test(aliases_test_err_empty_values),
		cmocka_unit_test(aliases_test_err_nul),
		cmocka_unit_test(aliases_test_err_utf8),
		cmocka_unit_test(aliases_test_err_long_line),
		cmocka_unit_test(aliases_test_err_bad_values),
		cmocka_unit_test(aliases_test_err_many),
		cmocka_unit_test(aliases_test_err_too_many),
		cmocka_unit_test(aliases_test_warn_command),
		cmocka_unit_test(aliases_test_warn_forms),
		cmocka_unit_test(aliases_test_warn_nothing_left),
		cmocka_unit_test(aliases_test_clipped_message),
		cmocka_unit_test(aliases_test_many_entries),
		cmocka_unit_test(aliases_test_long_value_list),
	};

	return UNIT_RUN(tests);
}
