/*
 * Fuzz target: the address parser (addr_parse_list on the input as a
 * header field body, addr_parse_one on it as a command-line argument).
 *
 * Beyond not crashing or reading past the input: every mailbox found
 * has a spec within ADDR_MAX_LEN (plus quoting), whose utf8 flag tells
 * whether it has 8-bit bytes; a qualified spec passes addr_spec_valid
 * (it will be an SMTP path); rebuilding it from its local part and
 * domain gives the same spec; and parsing the spec again as one address
 * gives back the same spec, local part and domain (a round trip).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "errbuf.h"
#include "fuzz.h"
#include "str.h"

static void
fuzz_addr_check(const struct addr *a)
{
	struct errbuf eb;
	struct addr again;
	char *spec;
	size_t n;

	FUZZ_CHECK(a->spec != NULL && a->local != NULL);
	n = strlen(a->spec);
	FUZZ_CHECK(n <= 2 * ADDR_MAX_LEN + 2);
	FUZZ_CHECK(a->utf8 == str_has_8bit(a->spec, n));
	if (n == 0)
		return; /* the null sender */
	if (a->domain != NULL)
		FUZZ_CHECK(addr_spec_valid(a->spec));
	spec = addr_make_spec(a->local, a->domain);
	FUZZ_CHECK(spec != NULL && strcmp(spec, a->spec) == 0);
	free(spec);
	errbuf_clear(&eb);
	FUZZ_CHECK(addr_parse_one(a->spec, false, &again, &eb) == 0);
	FUZZ_CHECK(strcmp(again.spec, a->spec) == 0);
	FUZZ_CHECK(strcmp(again.local, a->local) == 0);
	FUZZ_CHECK((again.domain == NULL) == (a->domain == NULL));
	FUZZ_CHECK(a->domain == NULL || strcmp(again.domain, a->domain) == 0);
	addr_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addr_list l;
	struct errbuf eb;
	struct addr one;
	size_t i;
	char *s;

	/* A copy without a terminating NUL: the list parser must stay
	 * within len. */
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	addr_list_init(&l);
	errbuf_clear(&eb);
	if (addr_parse_list(s, size, &l, &eb) == -1)
		FUZZ_CHECK(eb.msg[0] != '\0');
	for (i = 0; i < l.n; i++)
		fuzz_addr_check(&l.v[i]);
	addr_list_free(&l);

	s[size] = '\0';
	errbuf_clear(&eb);
	if (addr_parse_one(s, size > 0 && (data[0] & 1), &one, &eb) == 0) {
		fuzz_addr_check(&one);
		addr_free(&one);
	}
	free(s);
	return 0;
}
