/*
 * Fuzz target: the tern.conf parser (config_load on the input written to
 * a file in a private temporary directory; the parser reads only that
 * file, and a harness never writes anywhere else).
 *
 * Beyond not crashing: a rejected file has at least one report naming
 * a line within the file and a summary message; an accepted file has
 * no report; and loading the same file twice gives the same verdict and
 * the same reports (the parser keeps no state between loads).
 */
#include "autoconf.h"

#include <string.h>

#include "buf.h"
#include "config.h"
#include "errbuf.h"
#include "fuzz.h"

struct fuzz_config_reports {
	unsigned count;
	unsigned lines; /* in the file, for the bound on line numbers */
	struct buf text;
};

static void
fuzz_config_report(const char *path, unsigned line, const char *msg,
    void *arg)
{
	struct fuzz_config_reports *r = arg;

	(void)path;
	FUZZ_CHECK(msg != NULL && msg[0] != '\0');
	FUZZ_CHECK(line <= r->lines + 1);
	r->count++;
	buf_printf(&r->text, "%u: %s\n", line, msg);
}

/* Load path; returns whether it was accepted, reports in r. */
static bool
fuzz_config_load(const char *path, struct fuzz_config_reports *r)
{
	struct config *cfg;
	struct errbuf eb;

	errbuf_clear(&eb);
	cfg = config_load(path, true, fuzz_config_report, r, &eb);
	if (cfg == NULL) {
		FUZZ_CHECK(eb.msg[0] != '\0');
		FUZZ_CHECK(r->count > 0);
		return false;
	}
	FUZZ_CHECK(r->count == 0);
	config_free(cfg);
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_config_reports r1, r2;
	const char *path;
	bool ok1, ok2;
	size_t i;

	memset(&r1, 0, sizeof(r1));
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			r1.lines++;
	r2 = r1;
	buf_init(&r1.text, 0);
	buf_init(&r2.text, 0);
	path = fuzz_tmpfile("tern.conf", data, size);
	ok1 = fuzz_config_load(path, &r1);
	ok2 = fuzz_config_load(path, &r2);
	FUZZ_CHECK(ok1 == ok2 && r1.count == r2.count);
	FUZZ_CHECK(r1.text.len == r2.text.len &&
	    (r1.text.len == 0 ||
	    memcmp(r1.text.data, r2.text.data, r1.text.len) == 0));
	buf_fini(&r1.text);
	buf_fini(&r2.text);
	return 0;
}
