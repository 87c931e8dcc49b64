/* Unit tests for units: sizes and durations as written in tern.conf. */
#include "autoconf.h"

#include <string.h>

#include "unit.h"
#include "units.h"

struct units_case {
	const char *text;
	int ok;
	uint64_t value;
};

static const struct units_case size_cases[] = {
	{ "0", 1, 0 },
	{ "1024", 1, 1024 },
	{ "1K", 1, 1024 },
	{ "1k", 1, 1024 },
	{ "512KB", 1, 512 * 1024 },
	{ "25M", 1, 25ULL << 20 },
	{ "25m", 1, 25ULL << 20 },
	{ "2G", 1, 2ULL << 30 },
	{ "2gb", 1, 2ULL << 30 },
	{ "18446744073709551615", 1, UINT64_MAX },
	{ "18446744073709551616", 0, 0 },
	{ "17179869184G", 0, 0 },
	{ "", 0, 0 },
	{ "M", 0, 0 },
	{ "-1", 0, 0 },
	{ "1.5M", 0, 0 },
	{ "10X", 0, 0 },
	{ "10MM", 0, 0 },
	{ "10 M", 0, 0 },
	{ " 10", 0, 0 },
};

static const struct units_case duration_cases[] = {
	{ "0", 1, 0 },
	{ "30", 1, 30 },
	{ "30s", 1, 30 },
	{ "5m", 1, 300 },
	{ "4h", 1, 14400 },
	{ "5d", 1, 432000 },
	{ "5D", 1, 432000 },
	{ "1w", 0, 0 },
	{ "5ms", 0, 0 },
	{ "", 0, 0 },
	{ "h", 0, 0 },
	{ "999999999999999999d", 0, 0 },
};

static void
units_test_run(const struct units_case *c, size_t n,
    int (*parse)(const char *, uint64_t *, struct errbuf *))
{
	struct errbuf eb;
	uint64_t v;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		errbuf_clear(&eb);
		v = 12345;
		rc = parse(c[i].text, &v, &eb);
		if (c[i].ok) {
			if (rc != 0)
				fail_msg("'%s' rejected: %s", c[i].text, eb.msg);
			assert_int_equal(v, c[i].value);
		} else {
			if (rc == 0)
				fail_msg("'%s' accepted as %llu", c[i].text,
				    (unsigned long long)v);
			assert_true(strlen(eb.msg) > 0);
		}
	}
}

static void
units_test_sizes(void **state)
{
	(void)state;
	units_test_run(size_cases, sizeof(size_cases) / sizeof(size_cases[0]),
	    units_parse_size);
}

static void
units_test_durations(void **state)
{
	(void)state;
	units_test_run(duration_cases,
	    sizeof(duration_cases) / sizeof(duration_cases[0]),
	    units_parse_duration);
}

static void
units_test_format(void **state)
{
	char b[32];

	(void)state;
	assert_string_equal(units_format_size(25ULL << 20, b, sizeof(b)), "25M");
	assert_string_equal(units_format_size(1536, b, sizeof(b)), "1536");
	assert_string_equal(units_format_size(2048, b, sizeof(b)), "2K");
	assert_string_equal(units_format_size(0, b, sizeof(b)), "0");
	assert_string_equal(units_format_duration(14400, b, sizeof(b)), "4h");
	assert_string_equal(units_format_duration(90, b, sizeof(b)), "90s");
	assert_string_equal(units_format_duration(432000, b, sizeof(b)), "5d");
	assert_string_equal(units_format_duration(0, b, sizeof(b)), "0");
}

static void
units_test_error_names_value(void **state)
{
	struct errbuf eb;
	uint64_t v;

	(void)state;
	errbuf_clear(&eb);
	assert_int_equal(units_parse_size("12Q", &v, &eb), -1);
	assert_non_null(strstr(eb.msg, "12Q"));
	assert_non_null(strstr(eb.msg, "unit"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(units_test_sizes),
		cmocka_unit_test(units_test_durations),
		cmocka_unit_test(units_test_format),
		cmocka_unit_test(units_test_error_names_value),
	};

	return UNIT_RUN(tests);
}
