/* Unit tests for log: what a hostile peer puts in a logged line comes
 * out escaped, in both formats, and a JSON line stays valid JSON. */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "unit.h"
#include "log.h"

/* Log msg through a fresh file log in the given format; return the
 * line written, without its newline, in out. */
static void
log_line(bool json, const char *msg, char *out, size_t outlen)
{
	char path[] = "/tmp/tern-test-log.XXXXXX";
	struct errbuf eb;
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_open("test", path, json, &eb), 0);
	log_msg(LOG_INFO, "%s", msg);
	log_close();
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, (int)outlen, f));
	assert_null(fgets(out + strlen(out), 2, f)); /* one line only */
	fclose(f);
	unlink(path);
	out[strcspn(out, "\n")] = '\0';
}

/* The message part of a text line ("... test[pid]: MESSAGE"). */
static const char *
text_message(const char *line)
{
	const char *p = strstr(line, "]: ");

	assert_non_null(p);
	return p + 3;
}

/* The "message" member of a JSON line, which must parse. */
static char *
json_message(const char *line)
{
	json_error_t err;
	json_t *o, *m;
	char *s;

	o = json_loads(line, 0, &err);
	if (o == NULL)
		fail_msg("not JSON (%s): %s", err.text, line);
	m = json_object_get(o, "message");
	assert_true(json_is_string(m));
	s = strdup(json_string_value(m));
	json_decref(o);
	assert_non_null(s);
	return s;
}

struct esc_case {
	const char *in;
	const char *text;   /* the text line's message */
	const char *json;   /* the JSON message, decoded */
};

static const struct esc_case cases[] = {
	{ "plain", "plain", "plain" },
	/* A forged second line. */
	{ "a\nb: reject", "a\\x0ab: reject", "a\nb: reject" },
	{ "cr\r tab\t del\x7f", "cr\\x0d tab\\x09 del\\x7f",
	  "cr\r tab\t del\x7f" },
	/* Quotes and backslashes are text to a text line. */
	{ "q\"b\\s", "q\"b\\s", "q\"b\\s" },
	/* Well-formed UTF-8 passes through. */
	{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
	  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
	  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7" },
	/* A lone byte, a bad continuation, a surrogate, an overlong
	 * encoding, a sequence cut short at the end. */
	{ "al\xffice", "al\\xffice", "al\\xffice" },
	{ "\xc3\x28", "\\xc3(", "\\xc3(" },
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80", "\\xed\\xa0\\x80" },
	{ "\xc0\xaf", "\\xc0\\xaf", "\\xc0\\xaf" },
	{ "end\xe2\x82", "end\\xe2\\x82", "end\\xe2\\x82" },
};

static void
test_log_escape(void **state)
{
	char line[LOG_MAX_LINE + 600];
	size_t i;
	char *m;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		log_line(false, cases[i].in, line, sizeof(line));
		assert_string_equal(text_message(line), cases[i].text);
		log_line(true, cases[i].in, line, sizeof(line));
		m = json_message(line);
		assert_string_equal(m, cases[i].json);
		free(m);
	}
}

/* A line longer than the log's bound, full of bytes that grow when
 * escaped, is cut, not overrun, and stays one valid JSON line. */
static void
test_log_long(void **state)
{
	char in[LOG_MAX_LINE], line[LOG_MAX_LINE + 600];
	char *m;

	(void)state;
	memset(in, 0xff, sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	log_line(true, in, line, sizeof(line));
	m = json_message(line);
	assert_true(strlen(m) > 1000);
	assert_true(strlen(m) < LOG_MAX_LINE);
	assert_memory_equal(m, "\\xff\\xff", 8);
	free(m);
	log_line(false, in, line, sizeof(line));
	assert_true(strlen(text_message(line)) < LOG_MAX_LINE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_escape),
		cmocka_unit_test(test_log_long),
	};

	return UNIT_RUN(tests);
}
