/*
 * units: parse and format sizes and durations (see units.h).
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "units.h"

struct units_suffix {
	char c;
	uint64_t mult;
};

static const struct units_suffix units_sizes[] = {
	{ 'K', 1024ULL },
	{ 'M', 1024ULL * 1024 },
	{ 'G', 1024ULL * 1024 * 1024 },
	{ 0, 0 },
};

static const struct units_suffix units_durations[] = {
	{ 'S', 1 },
	{ 'M', 60 },
	{ 'H', 3600 },
	{ 'D', 86400 },
	{ 0, 0 },
};

/* Parse the leading decimal digits; returns the number of digits or -1
 * on overflow. */
static int
units_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		unsigned d = (unsigned)(s[n] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		n++;
	}
	*out = v;
	return n;
}

static int
units_parse(const char *s, const struct units_suffix *tab, int allow_b,
    const char *what, const char *example, uint64_t *out, struct errbuf *eb)
{
	const struct units_suffix *u;
	uint64_t v, mult = 1;
	const char *p;
	int n;

	n = units_digits(s, &v);
	if (n < 0)
		return errbuf_set(eb, "%s '%s' is too large", what, s);
	if (n == 0)
		return errbuf_set(eb, "%s '%s' is not a number (e.g. %s)",
		    what, s, example);
	p = s + n;
	if (*p != '\0') {
		char c = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		for (u = tab; u->c != 0 && u->c != c; u++)
			;
		if (u->c == 0)
			return errbuf_set(eb, "%s '%s' has an unknown unit "
			    "'%c' (e.g. %s)", what, s, *p, example);
		mult = u->mult;
		p++;
		if (allow_b && (*p == 'B' || *p == 'b'))
			p++;
		if (*p != '\0')
			return errbuf_set(eb, "%s '%s' has trailing characters "
			    "(e.g. %s)", what, s, example);
	}
	if (v != 0 && mult > UINT64_MAX / v)
		return errbuf_set(eb, "%s '%s' is too large", what, s);
	*out = v * mult;
	return 0;
}

int
units_parse_size(const char *s, uint64_t *out, struct errbuf *eb)
{
	return units_parse(s, units_sizes, 1, "size", "25M", out, eb);
}

int
units_parse_duration(const char *s, uint64_t *out, struct errbuf *eb)
{
	return units_parse(s, units_durations, 0, "duration", "30s, 5m, 4h "
	    "or 5d", out, eb);
}

/* The largest unit that divides v exactly; sizes print their unit in
 * upper case (25M), durations in lower case (4h). */
static char *
units_format(uint64_t v, const struct units_suffix *tab, int lower,
    char *buf, size_t len)
{
	const struct units_suffix *u, *best = NULL;

	for (u = tab; u->c != 0; u++)
		if (v != 0 && v % u->mult == 0)
			best = u;
	if (best == NULL)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c",
		    (unsigned long long)(v / best->mult),
		    lower ? best->c + 32 : best->c);
	return buf;
}

char *
units_format_size(uint64_t bytes, char *buf, size_t len)
{
	return units_format(bytes, units_sizes, 0, buf, len);
}

char *
units_format_duration(uint64_t secs, char *buf, size_t len)
{
	return units_format(secs, units_durations, 1, buf, len);
}
