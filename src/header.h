/*
 * header: the header section of a message (RFC 5322 section 2.2).
 *
 * header_parse splits an LF-terminated message into header fields and
 * finds where the body starts.  Fields point into the caller's buffer
 * (nothing is copied), keep their folding, and can be marked removed.
 * The header section ends at the first empty line or, for input that
 * lacks one, at the first line that is neither a field nor a
 * continuation: such a line starts the body, as Postfix does.
 */
#ifndef TERN_HEADER_H
#define TERN_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "errbuf.h"

struct header_field {
	const char *text; /* "Name: value\n\tcontinued\n" */
	size_t len;       /* including the last LF */
	size_t name_len;  /* the name without white space and colon */
	size_t value_off; /* offset of the value, just after the colon */
	bool removed;
};

struct header_block {
	struct header_field *v;
	size_t n;
	size_t cap;
	size_t body_off;    /* offset of the body in the message */
	bool has_separator; /* an empty line ended the header section */
};

void header_block_init(struct header_block *hb);
void header_block_fini(struct header_block *hb);

/* Parse the header section of msg[0..len), whose lines end in LF.
 * Returns 0, or -1 with eb set on allocation failure. */
int header_parse(const char *msg, size_t len, struct header_block *hb,
    struct errbuf *eb);

/* True when field f is called name (case-insensitive). */
bool header_is(const struct header_field *f, const char *name);

/* Index of the first field (not removed) called name at or after from,
 * or -1. */
long header_find(const struct header_block *hb, const char *name,
    size_t from);

/* Append the value of f, unfolded (line breaks removed, as RFC 5322
 * section 2.2.3 says), to out. */
int header_unfold_value(const struct header_field *f, struct buf *out);

/*
 * Append to out the fields RFC 5322 section 3.6 requires that hb lacks
 * (From aside: who that is depends on the caller): "Date:" for now,
 * "Message-ID: <YYYYMMDDhhmmss.ID@hostname>", and "To:
 * undisclosed-recipients:;" when there is no To, Cc or Bcc.  Returns 0,
 * or -1 when out of memory.
 */
int header_add_missing(const struct header_block *hb, time_t now,
    const char *id, const char *hostname, struct buf *out);

/* Format t as an RFC 5322 date-time in local time:
 * "Sun, 22 Nov 2026 10:00:00 +0100". */
void header_format_date(time_t t, char *out, size_t outlen);

#endif
