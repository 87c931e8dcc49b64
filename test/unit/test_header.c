/* Unit tests for header: splitting the header section into fields. */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "header.h"
#include "unit.h"

static void
header_test_parse(const char *msg, struct header_block *hb)
{
	struct errbuf eb;

	header_block_init(hb);
	errbuf_clear(&eb);
	assert_int_equal(header_parse(msg, strlen(msg), hb, &eb), 0);
}

static void
header_test_simple(void **state)
{
	const char *msg = "From: a@b\nTo: c@d\nSubject: hi\n\nbody\n";
	struct header_block hb;

	(void)state;
	header_test_parse(msg, &hb);
	assert_int_equal(hb.n, 3);
	assert_true(hb.has_separator);
	assert_string_equal(msg + hb.body_off, "body\n");
	assert_true(header_is(&hb.v[0], "from"));
	assert_true(header_is(&hb.v[2], "SUBJECT"));
	assert_false(header_is(&hb.v[2], "Subj"));
	assert_int_equal(hb.v[1].len, strlen("To: c@d\n"));
	assert_int_equal(header_find(&hb, "to", 0), 1);
	assert_int_equal(header_find(&hb, "Cc", 0), -1);
	header_block_fini(&hb);
}

static void
header_test_folded(void **state)
{
	const char *msg = "To: a@b,\n\tc@d,\n  e@f\nX: y\n\nb\n";
	struct header_block hb;
	struct buf v;

	(void)state;
	header_test_parse(msg, &hb);
	assert_int_equal(hb.n, 2);
	assert_int_equal(hb.v[0].len, strlen("To: a@b,\n\tc@d,\n  e@f\n"));
	buf_init(&v, 0);
	assert_int_equal(header_unfold_value(&hb.v[0], &v), 0);
	assert_string_equal(v.data, " a@b,\tc@d,  e@f");
	buf_fini(&v);
	header_block_fini(&hb);
}

static void
header_test_no_headers(void **state)
{
	struct header_block hb;

	(void)state;
	/* The first line is not a field: everything is body. */
	header_test_parse("just text\nmore\n", &hb);
	assert_int_equal(hb.n, 0);
	assert_int_equal(hb.body_off, 0);
	assert_false(hb.has_separator);
	header_block_fini(&hb);
	/* A continuation line first is body too. */
	header_test_parse(" indented\n", &hb);
	assert_int_equal(hb.n, 0);
	header_block_fini(&hb);
	header_test_parse("", &hb);
	assert_int_equal(hb.n, 0);
	assert_int_equal(hb.body_off, 0);
	header_block_fini(&hb);
}

static void
header_test_no_separator(void **state)
{
	const char *msg = "Subject: x\nthis is body\n";
	struct header_block hb;

	(void)state;
	header_test_parse(msg, &hb);
	assert_int_equal(hb.n, 1);
	assert_false(hb.has_separator);
	assert_string_equal(msg + hb.body_off, "this is body\n");
	header_block_fini(&hb);
	/* Headers only, no body and no empty line. */
	header_test_parse("Subject: x\nTo: y\n", &hb);
	assert_int_equal(hb.n, 2);
	assert_int_equal(hb.body_off, strlen("Subject: x\nTo: y\n"));
	header_block_fini(&hb);
}

static void
header_test_names(void **state)
{
	struct header_block hb;

	(void)state;
	/* obs-optional: white space before the colon. */
	header_test_parse("Subject : x\n\n", &hb);
	assert_int_equal(hb.n, 1);
	assert_true(header_is(&hb.v[0], "Subject"));
	header_block_fini(&hb);
	/* A colon is required; a space inside the name ends the headers. */
	header_test_parse("Not a header\n\n", &hb);
	assert_int_equal(hb.n, 0);
	header_block_fini(&hb);
	header_test_parse(":novalue\n\n", &hb);
	assert_int_equal(hb.n, 0);
	header_block_fini(&hb);
	header_test_parse("X-Empty:\n\n", &hb);
	assert_int_equal(hb.n, 1);
	header_block_fini(&hb);
}

static void
header_test_removed(void **state)
{
	struct header_block hb;

	(void)state;
	header_test_parse("Bcc: a\nTo: b\nBcc: c\n\n", &hb);
	assert_int_equal(header_find(&hb, "bcc", 0), 0);
	hb.v[0].removed = true;
	assert_int_equal(header_find(&hb, "bcc", 0), 2);
	assert_int_equal(header_find(&hb, "bcc", 3), -1);
	header_block_fini(&hb);
}

static void
header_test_many(void **state)
{
	struct header_block hb;
	struct buf msg;
	size_t i;

	(void)state;
	buf_init(&msg, 0);
	for (i = 0; i < 100000; i++)
		buf_printf(&msg, "X-H%zu: v\n", i);
	buf_puts(&msg, "\nbody\n");
	header_test_parse(msg.data, &hb);
	assert_int_equal(hb.n, 100000);
	assert_string_equal(msg.data + hb.body_off, "body\n");
	header_block_fini(&hb);
	buf_fini(&msg);
}

static void
header_test_date(void **state)
{
	char d[64];

	(void)state;
	setenv("TZ", "UTC", 1);
	header_format_date(1795312394, d, sizeof(d));
	assert_string_equal(d, "Sun, 22 Nov 2026 01:53:14 +0000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_test_simple),
		cmocka_unit_test(header_test_folded),
		cmocka_unit_test(header_test_no_headers),
		cmocka_unit_test(header_test_no_separator),
		cmocka_unit_test(header_test_names),
		cmocka_unit_test(header_test_removed),
		cmocka_unit_test(header_test_many),
		cmocka_unit_test(header_test_date),
	};

	return UNIT_RUN(tests);
}
