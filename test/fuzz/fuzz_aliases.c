/*
 * Fuzz target: the aliases(5) parser (aliases_load on the input written
 * to a file in a private temporary directory).
 *
 * Beyond not crashing: a rejected file has at least one error report
 * and a message; an accepted one has none, holds at most
 * ALIASES_MAX_ENTRIES names, and every name that starts a line and that
 * the table knows (looked up as written and in upper case: matching
 * ignores ASCII case) has values that are non-empty strings without
 * control characters or line breaks.
 */
#include "autoconf.h"

#include <ctype.h>
#include <string.h>

#include "aliases.h"
#include "errbuf.h"
#include "fuzz.h"

struct fuzz_aliases_reports {
	unsigned errors;
	unsigned warnings;
};

static void
fuzz_aliases_report(const char *path, unsigned line, int is_error,
    const char *msg, void *arg)
{
	struct fuzz_aliases_reports *r = arg;

	(void)path;
	(void)line;
	FUZZ_CHECK(msg != NULL && msg[0] != '\0');
	if (is_error)
		r->errors++;
	else
		r->warnings++;
}

/* Look name up; every value must be a sane one-line string. */
static void
fuzz_aliases_lookup(const struct aliases *al, const char *name)
{
	const char *const *values;
	size_t n, i, j;

	n = aliases_lookup(al, name, &values);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(values[i] != NULL && values[i][0] != '\0');
		for (j = 0; values[i][j] != '\0'; j++)
			FUZZ_CHECK((unsigned char)values[i][j] >= 0x20 &&
			    values[i][j] != 0x7f);
	}
}

/* Look up the word before the first ':' of each line (bounded). */
static void
fuzz_aliases_names(const struct aliases *al, const char *s, size_t len)
{
	char name[256];
	size_t pos = 0, n, i;
	unsigned lines = 0;

	while (pos < len && lines++ < 64) {
		for (n = 0; pos + n < len && s[pos + n] != ':' &&
		    s[pos + n] != '\n' && n < sizeof(name) - 1; n++)
			name[n] = s[pos + n] != '\0' ? s[pos + n] : ' ';
		name[n] = '\0';
		fuzz_aliases_lookup(al, name);
		for (i = 0; i < n; i++)
			name[i] = (char)toupper((unsigned char)name[i]);
		fuzz_aliases_lookup(al, name);
		while (pos < len && s[pos] != '\n')
			pos++;
		pos++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_aliases_reports r = { 0, 0 };
	struct aliases *al;
	struct errbuf eb;
	const char *path;

	path = fuzz_tmpfile("aliases", data, size);
	errbuf_clear(&eb);
	al = aliases_load(path, fuzz_aliases_report, &r, &eb);
	if (al == NULL) {
		FUZZ_CHECK(eb.msg[0] != '\0');
		FUZZ_CHECK(r.errors > 0);
		return 0;
	}
	FUZZ_CHECK(r.errors == 0);
	FUZZ_CHECK(aliases_count(al) <= ALIASES_MAX_ENTRIES);
	fuzz_aliases_names(al, (const char *)data, size);
	aliases_free(al);
	return 0;
}
