/*
 * Unit tests for rfc2047: decoding (charsets, adjacent words, broken
 * words kept verbatim, bounds) and encoding (B/Q choice, word and line
 * limits, UTF-8 never split, phrases), with encode/decode round trips.
 */
#include "autoconf.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "rfc2047.h"

struct dec_case {
	const char *in;
	const char *out;
};

static const struct dec_case dec_cases[] = {
	/* no encoded words */
	{ "", "" },
	{ "plain text", "plain text" },
	{ "a = b ?= c =? d", "a = b ?= c =? d" },
	{ "  spaced  out  ", "  spaced  out  " },
	/* UTF-8, B and Q, charset and encoding case-insensitive */
	{ "=?UTF-8?B?5Lit5paH?=", "中文" },
	{ "=?utf-8?b?5Lit5paH?=", "中文" },
	{ "=?UTF-8?B?546L5bCP5piO?=", "王小明" },
	{ "=?utf-8?q?caf=C3=A9?=", "café" },
	{ "=?utf-8?Q?caf=c3=a9?=", "café" },
	{ "=?UTF8?Q?caf=C3=A9?=", "café" },
	{ "=?UTF-8?Q?a_b__c?=", "a b  c" },
	{ "=?UTF-8?B?4oKs?=", "€" },
	{ "=?UTF-8?B?8J+YgA==?=", "😀" },
	{ "=?UTF-8?B?8J+YgA?=", "😀" }, /* padding omitted */
	{ "=?UTF-8?Q?" "?=", "" }, /* split: not a trigraph */
	/* Chinese charsets; GBK text labelled GB2312 is routine */
	{ "=?GB2312?B?1tDOxA==?=", "中文" },
	{ "=?gb2312?B?1cXI/Q==?=", "张三" },
	{ "=?GBK?B?1uzpRrv5?=", "朱镕基" },
	{ "=?GB2312?B?1uzpRrv5?=", "朱镕基" },
	{ "=?GB18030?B?wO7LxA==?=", "李四" },
	{ "=?gb2312?Q?=D6=D0=CE=C4?=", "中文" },
	{ "=?BIG5?B?wWPF6Q==?=", "繁體" },
	/* other charsets through iconv */
	{ "=?SHIFT_JIS?B?k/qWe4zq?=", "日本語" },
	{ "=?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=", "日本語" },
	{ "=?KOI8-R?B?8NLJ18XU?=", "Привет" },
	{ "=?windows-1251?B?z/Do4uXy?=", "Привет" },
	{ "=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard" },
	{ "=?iso-8859-1?q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen" },
	{ "=?ISO-8859-1?Q?Olle_J=E4rnefors?=", "Olle Järnefors" },
	{ "=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?=", "Patrik Fältström" },
	{ "=?ISO-8859-15?Q?=A4?=", "€" },
	/* RFC 2231 language suffix ignored */
	{ "=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore" },
	{ "=?UTF-8*zh-CN?B?5Lit5paH?=", "中文" },
	/* RFC 2047 section 8: white space between adjacent words */
	{ "(=?ISO-8859-1?Q?a?=)", "(a)" },
	{ "(=?ISO-8859-1?Q?a?= b)", "(a b)" },
	{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)" },
	{ "(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)" },
	{ "(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)" },
	{ "(=?ISO-8859-1?Q?a_b?=)", "(a b)" },
	{ "(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)" },
	{ "=?UTF-8?Q?Caf=C3=A9?= =?UTF-8?Q?_Noir?=", "Café Noir" },
	{ "=?GB2312?B?1cXI/Q==?= =?UTF-8?B?546L5bCP5piO?=", "张三王小明" },
	{ "=?UTF-8?Q?a?= b =?UTF-8?Q?c?=", "a b c" },
	{ "x =?UTF-8?Q?a?= y", "x a y" },
	/* a character split across words (broken encoders) */
	{ "=?UTF-8?B?5A==?= =?UTF-8?B?uK0=?=", "中" },
	{ "=?UTF-8?Q?=E4?= =?utf-8?Q?=B8=AD?=", "中" },
	/* undecodable words are kept verbatim, with their white space */
	{ "=?x-unknown?Q?abc?=", "=?x-unknown?Q?abc?=" },
	{ "=?UTF-8?B?###?=", "=?UTF-8?B?###?=" },
	{ "=?UTF-8?B?QUJDR?=", "=?UTF-8?B?QUJDR?=" },
	{ "=?UTF-8?Q?=ZZ?=", "=?UTF-8?Q?=ZZ?=" },
	{ "=?UTF-8?Q?=4?=", "=?UTF-8?Q?=4?=" },
	{ "=?UTF-8?Q?=FF?=", "=?UTF-8?Q?=FF?=" },
	{ "=?UTF-8?Q?=C0=AF?=", "=?UTF-8?Q?=C0=AF?=" },
	{ "=?UTF-8?Q?=ED=A0=80?=", "=?UTF-8?Q?=ED=A0=80?=" },
	{ "=?US-ASCII?Q?=FF?=", "=?US-ASCII?Q?=FF?=" },
	{ "=?GB2312?B?1g==?=", "=?GB2312?B?1g==?=" },
	{ "=?ISO-2022-JP?B?GyRCRg==?= x =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
	    "=?ISO-2022-JP?B?GyRCRg==?= x 日本語" },
	{ "=?KOI8-R?B?8NLJ18XU?= =?x-bad?Q?b?= =?x-bad?Q?c?= "
	    "=?KOI8-R?B?8NLJ18XU?=",
	    "Привет =?x-bad?Q?b?= =?x-bad?Q?c?= Привет" },
	{ "=?UTF-8?Q?a?= =?x-bad?Q?b?= =?UTF-8?Q?c?=",
	    "a =?x-bad?Q?b?= c" },
	{ "=?UTF-8?Q?a?= =?UTF-8?Q?=FF?=", "=?UTF-8?Q?a?= =?UTF-8?Q?=FF?=" },
	/* not encoded words at all */
	{ "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },
	{ "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=" },
	{ "=?UTF-8?Q?abc", "=?UTF-8?Q?abc" },
	{ "=??Q?abc?=", "=??Q?abc?=" },
	{ "=?UTF-8?Qabc?=", "=?UTF-8?Qabc?=" },
	{ "=?*en?Q?abc?=", "=?*en?Q?abc?=" },
	{ "=?utf/8?Q?abc?=", "=?utf/8?Q?abc?=" },
	{ "=?=?=?=?", "=?=?=?=?" },
	{ "=?UTF-8?Q?a?b?=", "=?UTF-8?Q?a?b?=" },
	/* words in the middle of text (lenient, as MUAs are) */
	{ "\"=?UTF-8?Q?caf=C3=A9?=\"", "\"café\"" },
	{ "re:=?UTF-8?Q?caf=C3=A9?=!", "re:café!" },
	/* decoded controls become spaces: no NUL, CR or LF injection */
	{ "=?UTF-8?Q?a=0D=0Ab?=", "a  b" },
	{ "=?UTF-8?Q?a=00b=7F?=", "a b " },
	{ "=?UTF-8?B?YQli?=", "a b" },
	{ "=?ISO-8859-1?Q?a=0Ab?=", "a b" },
	/* raw 8-bit outside words is passed through */
	{ "Grüße =?UTF-8?Q?caf=C3=A9?=", "Grüße café" },
};

static void
test_decode_table(void **state)
{
	struct buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
		buf_init(&out, 0);
		assert_int_equal(rfc2047_decode(dec_cases[i].in,
		    strlen(dec_cases[i].in), &out), 0);
		assert_non_null(out.data);
		if (strcmp(out.data, dec_cases[i].out) != 0)
			fail_msg("decode \"%s\": got \"%s\", want \"%s\"",
			    dec_cases[i].in, out.data, dec_cases[i].out);
		assert_int_equal(out.len, strlen(dec_cases[i].out));
		buf_fini(&out);
	}
}

/* Decode exactly len bytes of s from a heap copy without a terminator,
 * so that AddressSanitizer catches any read past len. */
static char *
decode_exact(const char *s, size_t len)
{
	struct buf out;
	char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, s, len);
	buf_init(&out, 0);
	assert_int_equal(rfc2047_decode(copy, len, &out), 0);
	free(copy);
	return buf_steal(&out);
}

static void
test_decode_bounded(void **state)
{
	static const char *const words[] = {
		"=?UTF-8?B?5Lit5paH?=",
		"=?utf-8?q?caf=C3=A9?=",
		"=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=",
		"=?GB2312?B?1tDOxA==?=",
		"=?US-ASCII*EN?Q?Keith_Moore?=",
		"=?UTF-8?Q?=E4?=",
	};
	size_t i, n, len;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		len = strlen(words[i]);
		/* every prefix: a cut word is kept as the text it is */
		for (n = 0; n < len; n++) {
			got = decode_exact(words[i], n);
			if (strchr(words[i], ' ') == NULL) {
				assert_int_equal(strlen(got), n);
				assert_memory_equal(got, words[i], n);
			}
			free(got);
		}
	}
	got = decode_exact("=?UTF-8?Q?abc?=XYZ", 5);
	assert_string_equal(got, "=?UTF");
	free(got);
	got = decode_exact("=?UTF-8?Q?abc?=", 14);
	assert_string_equal(got, "=?UTF-8?Q?abc?");
	free(got);
	got = decode_exact("=?UTF-8?Q?abc?=", 15);
	assert_string_equal(got, "abc");
	free(got);
}

static void
test_decode_appends(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(buf_puts(&out, "Name: "), 0);
	assert_int_equal(rfc2047_decode("=?UTF-8?B?5Lit5paH?=", 20, &out), 0);
	assert_string_equal(out.data, "Name: 中文");
	buf_fini(&out);
}

static void
test_decode_limit(void **state)
{
	struct buf out;
	const char *w = "=?UTF-8?Q?abcdefghijklmnop?= and more text";

	(void)state;
	buf_init(&out, 8);
	assert_int_equal(rfc2047_decode(w, strlen(w), &out), -1);
	buf_fini(&out);
	buf_init(&out, 8);
	assert_int_equal(rfc2047_decode("plain text here", 15, &out), -1);
	buf_fini(&out);
	buf_init(&out, 64);
	assert_int_equal(rfc2047_decode(w, strlen(w), &out), 0);
	assert_string_equal(out.data, "abcdefghijklmnop and more text");
	buf_fini(&out);
}

/* Many words and a long pathological input decode in linear time. */
static void
test_decode_many(void **state)
{
	struct buf in, out;
	size_t i;

	(void)state;
	buf_init(&in, 0);
	buf_init(&out, 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(buf_puts(&in, "=?GB2312?B?1tDOxA==?= "), 0);
	assert_int_equal(rfc2047_decode(in.data, in.len, &out), 0);
	assert_int_equal(out.len, 5000 * strlen("中文") + 1);
	buf_reset(&in);
	buf_reset(&out);
	for (i = 0; i < 100000; i++)
		assert_int_equal(buf_puts(&in, "=?"), 0);
	assert_int_equal(rfc2047_decode(in.data, in.len, &out), 0);
	assert_int_equal(out.len, in.len);
	buf_fini(&in);
	buf_fini(&out);
}

/* ---------------------------------------------------------------- encode */

/* Check the folded output of rfc2047_encode: lines <= 78 columns (the
 * first after first_col), continuation lines start with a space, every
 * encoded word <= 75 characters and decodable on its own (so no UTF-8
 * character was split), and the whole decodes back to want. */
static void
check_encoded(const char *enc, size_t first_col, const char *want)
{
	const char *line = enc, *nl, *w, *end;
	size_t col = first_col, wl;
	char *one, *all;

	for (;;) {
		nl = strchr(line, '\n');
		end = nl != NULL ? nl : line + strlen(line);
		if (line == enc && end == enc && nl != NULL)
			col = 0; /* folded before the first word */
		if (col + (size_t)(end - line) > 78)
			fail_msg("line too long (%zu + %zu): %s", col,
			    (size_t)(end - line), enc);
		for (w = line; w < end; w += wl) {
			while (w < end && *w == ' ')
				w++;
			for (wl = 0; w + wl < end && w[wl] != ' ';)
				wl++;
			if (wl == 0)
				break;
			if (wl > 75 || strncmp(w, "=?UTF-8?", 8) != 0)
				fail_msg("bad word (%zu): %.*s", wl, (int)wl,
				    w);
			one = decode_exact(w, wl);
			if (strlen(one) == wl && memcmp(one, w, wl) == 0)
				fail_msg("word does not decode: %s", one);
			free(one);
		}
		if (nl == NULL)
			break;
		assert_true(nl[1] == ' ');
		line = nl + 1;
		col = 0;
	}
	/* a fold before the first word is header white space */
	if (strncmp(enc, "\n ", 2) == 0)
		enc += 2;
	all = decode_exact(enc, strlen(enc));
	if (strcmp(all, want) != 0)
		fail_msg("round trip: got \"%s\", want \"%s\"", all, want);
	free(all);
}

static char *
repeat(const char *s, size_t n)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(buf_puts(&b, s), 0);
	return buf_steal(&b);
}

static void
test_encode_ascii(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(rfc2047_encode("Hello, world!", 9, &out), 0);
	assert_string_equal(out.data, "Hello, world!");
	buf_reset(&out);
	assert_int_equal(rfc2047_encode("", 9, &out), 0);
	assert_non_null(out.data);
	assert_string_equal(out.data, "");
	buf_reset(&out);
	/* looks like an encoded word: must be encoded to survive */
	assert_int_equal(rfc2047_encode("=?x?Q?y?=", 9, &out), 0);
	assert_string_not_equal(out.data, "=?x?Q?y?=");
	check_encoded(out.data, 9, "=?x?Q?y?=");
	buf_fini(&out);
}

static void
test_encode_choice(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	/* B and Q by length: B is shorter unless non-ASCII is rare */
	assert_int_equal(rfc2047_encode("café", 9, &out), 0);
	assert_string_equal(out.data, "=?UTF-8?B?Y2Fmw6k=?=");
	buf_reset(&out);
	assert_int_equal(rfc2047_encode("Keld Jørn Simonsen", 9, &out), 0);
	assert_string_equal(out.data, "=?UTF-8?Q?Keld_J=C3=B8rn_Simonsen?=");
	buf_reset(&out);
	assert_int_equal(rfc2047_encode("中文", 9, &out), 0);
	assert_string_equal(out.data, "=?UTF-8?B?5Lit5paH?=");
	buf_reset(&out);
	assert_int_equal(rfc2047_encode("a b_c=d?e", 0, &out), 0);
	assert_string_equal(out.data, "a b_c=d?e");
	buf_reset(&out);
	assert_int_equal(rfc2047_encode("tab\there", 0, &out), 0);
	assert_string_equal(out.data, "=?UTF-8?Q?tab=09here?=");
	buf_fini(&out);
}

static void
test_encode_round_trip(void **state)
{
	static const size_t cols[] = { 0, 1, 9, 30, 60, 66, 70, 77, 78, 100 };
	char *longs[6];
	const char *texts[14];
	struct buf out;
	size_t i, j;

	(void)state;
	longs[0] = repeat("中文名字", 40);
	longs[1] = repeat("Ñandú Gómez-Łukasiewicz ", 12);
	longs[2] = repeat("😀", 50);
	longs[3] = repeat("é", 200);
	longs[4] = repeat("a€", 100);
	longs[5] = repeat("Привет мир ", 20);
	texts[0] = "café";
	texts[1] = "中文";
	texts[2] = "Grüße aus Köln";
	texts[3] = "with_underscores=and?questions ü";
	texts[4] = "line\r\nbreak";
	texts[5] = " leading and trailing ü ";
	texts[6] = "\xe4\xb8\xad";
	texts[7] = "=?UTF-8?B?5Lit5paH?=";
	for (j = 0; j < 6; j++)
		texts[8 + j] = longs[j];
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		for (j = 0; j < sizeof(cols) / sizeof(cols[0]); j++) {
			const char *want = texts[i];

			buf_init(&out, 0);
			assert_int_equal(rfc2047_encode(texts[i], cols[j],
			    &out), 0);
			/* decoding turns controls into spaces, by design */
			if (i == 4)
				want = "line  break";
			check_encoded(out.data, cols[j], want);
			buf_fini(&out);
		}
	}
	for (j = 0; j < 6; j++)
		free(longs[j]);
}

static void
test_encode_folds(void **state)
{
	struct buf out;
	char *name = repeat("张", 100);
	size_t folds = 0;
	const char *p;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(rfc2047_encode(name, 4, &out), 0);
	for (p = out.data; (p = strchr(p, '\n')) != NULL; p++)
		folds++;
	/* 300 octets at 45 per word: 7 words, 6 folds */
	assert_int_equal(folds, 6);
	check_encoded(out.data, 4, name);
	buf_fini(&out);
	free(name);
}

static void
test_encode_limit(void **state)
{
	struct buf out;
	char *name = repeat("张", 100);

	(void)state;
	buf_init(&out, 50);
	assert_int_equal(rfc2047_encode(name, 4, &out), -1);
	buf_fini(&out);
	buf_init(&out, 50);
	assert_int_equal(rfc2047_encode_phrase(name, 4, &out), -1);
	buf_fini(&out);
	buf_init(&out, 5);
	assert_int_equal(rfc2047_encode_phrase("John Smith", 4, &out), -1);
	buf_fini(&out);
	free(name);
}

struct phrase_case {
	const char *in;
	const char *out;
};

static const struct phrase_case phrase_cases[] = {
	{ "John", "John" },
	{ "John Smith", "John Smith" },
	{ "Who?", "Who?" },
	{ "O'Brien", "O'Brien" },
	{ "John Q. Public", "\"John Q. Public\"" },
	{ "Doe, John", "\"Doe, John\"" },
	{ "Giant; \"Big\" Box", "\"Giant; \\\"Big\\\" Box\"" },
	{ "back\\slash", "\"back\\\\slash\"" },
	{ "Mary Smith: Personal", "\"Mary Smith: Personal\"" },
	{ "two  spaces", "\"two  spaces\"" },
	{ " lead", "\" lead\"" },
	{ "trail ", "\"trail \"" },
	{ "a@b", "\"a@b\"" },
	{ "(paren)", "\"(paren)\"" },
	{ "", "\"\"" },
	{ "café", "=?UTF-8?B?Y2Fmw6k=?=" },
	{ "André Pirard", "=?UTF-8?Q?Andr=C3=A9_Pirard?=" },
	{ "张三", "=?UTF-8?B?5byg5LiJ?=" },
	{ "=?x?Q?y?=", "=?UTF-8?B?PT94P1E/eT89?=" },
};

static void
test_encode_phrase(void **state)
{
	struct buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(phrase_cases) / sizeof(phrase_cases[0]); i++) {
		buf_init(&out, 0);
		assert_int_equal(rfc2047_encode_phrase(phrase_cases[i].in, 6,
		    &out), 0);
		if (strcmp(out.data, phrase_cases[i].out) != 0)
			fail_msg("phrase \"%s\": got %s, want %s",
			    phrase_cases[i].in, out.data,
			    phrase_cases[i].out);
		buf_fini(&out);
	}
}

static void
test_encode_phrase_long(void **state)
{
	char *name = repeat("Ünïcödé Nämé ", 20);
	struct buf out;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(rfc2047_encode_phrase(name, 4, &out), 0);
	check_encoded(out.data, 4, name);
	buf_fini(&out);
	free(name);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_bounded),
		cmocka_unit_test(test_decode_appends),
		cmocka_unit_test(test_decode_limit),
		cmocka_unit_test(test_decode_many),
		cmocka_unit_test(test_encode_ascii),
		cmocka_unit_test(test_encode_choice),
		cmocka_unit_test(test_encode_round_trip),
		cmocka_unit_test(test_encode_folds),
		cmocka_unit_test(test_encode_limit),
		cmocka_unit_test(test_encode_phrase),
		cmocka_unit_test(test_encode_phrase_long),
	};

	return UNIT_RUN(tests);
}
