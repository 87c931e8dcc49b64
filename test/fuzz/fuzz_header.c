/*
 * Fuzz target: the header section parser (header_parse) and the
 * unfolding of field values (header_unfold_value).
 *
 * Beyond not crashing: every field lies inside the input, the fields
 * follow one another without gap or overlap from the start of the
 * message, each ends in LF (the last may end with the input), its name is not empty and ends before its
 * colon, and the body starts where the last field ends (plus the empty
 * line when there was one); an unfolded value holds no line break and
 * is never longer than the field; and header_find finds each field by
 * its own name, at or before its index.
 */
#include "autoconf.h"

#include <string.h>

#include "buf.h"
#include "errbuf.h"
#include "fuzz.h"
#include "header.h"

static void
fuzz_header_field(const struct header_block *hb, size_t i, struct buf *v,
    const char *end)
{
	const struct header_field *f = &hb->v[i];
	char name[128];
	long at;

	FUZZ_CHECK(f->len > 0);
	FUZZ_CHECK(f->text[f->len - 1] == '\n' || f->text + f->len == end);
	FUZZ_CHECK(f->name_len > 0 && f->name_len < f->len);
	FUZZ_CHECK(f->value_off > f->name_len && f->value_off <= f->len);
	FUZZ_CHECK(f->text[f->value_off - 1] == ':');
	buf_reset(v);
	if (header_unfold_value(f, v) == 0) {
		FUZZ_CHECK(v->len <= f->len - f->value_off);
		FUZZ_CHECK(v->len == 0 || memchr(v->data, '\n', v->len) ==
		    NULL);
	}
	if (f->name_len >= sizeof(name))
		return;
	memcpy(name, f->text, f->name_len);
	name[f->name_len] = '\0';
	FUZZ_CHECK(header_is(f, name));
	at = header_find(hb, name, 0);
	FUZZ_CHECK(at >= 0 && (size_t)at <= i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct header_block hb;
	struct errbuf eb;
	struct buf v;
	size_t i, off = 0;

	header_block_init(&hb);
	buf_init(&v, 0);
	errbuf_clear(&eb);
	if (header_parse(msg, size, &hb, &eb) == 0) {
		for (i = 0; i < hb.n; i++) {
			FUZZ_CHECK(hb.v[i].text == msg + off);
			FUZZ_CHECK(hb.v[i].len <= size - off);
			off += hb.v[i].len;
			fuzz_header_field(&hb, i, &v, msg + size);
		}
		FUZZ_CHECK(hb.body_off <= size);
		if (hb.has_separator)
			FUZZ_CHECK(hb.body_off > off &&
			    msg[hb.body_off - 1] == '\n');
		else
			FUZZ_CHECK(hb.body_off == off);
	}
	buf_fini(&v);
	header_block_fini(&hb);
	return 0;
}
