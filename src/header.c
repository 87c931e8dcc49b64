/*
 * header: split the header section into fields (see header.h).
 *
 * Parsing is one linear pass over the lines; fields are spans of the
 * caller's buffer, so a header bomb costs one small struct per field.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "header.h"
#include "str.h"

void
header_block_init(struct header_block *hb)
{
	memset(hb, 0, sizeof(*hb));
}

void
header_block_fini(struct header_block *hb)
{
	free(hb->v);
	header_block_init(hb);
}

/* Length of the field name at the start of line, followed by optional
 * WSP and a colon (RFC 5322 ftext; obs-optional allows the WSP), or 0
 * when the line does not start a field.  *colon gets the offset of the
 * colon. */
static size_t
header_name_len(const char *line, size_t len, size_t *colon)
{
	size_t i = 0, name;

	while (i < len && line[i] >= 33 && line[i] <= 126 && line[i] != ':')
		i++;
	name = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (name == 0 || i >= len || line[i] != ':')
		return 0;
	*colon = i;
	return name;
}

static int
header_push(struct header_block *hb, const char *text, size_t name_len,
    size_t colon)
{
	struct header_field *v;
	size_t cap;

	if (hb->n == hb->cap) {
		cap = hb->cap ? hb->cap * 2 : 32;
		if ((v = realloc(hb->v, cap * sizeof(*v))) == NULL)
			return -1;
		hb->v = v;
		hb->cap = cap;
	}
	v = &hb->v[hb->n++];
	v->text = text;
	v->len = 0;
	v->name_len = name_len;
	v->value_off = colon + 1;
	v->removed = false;
	return 0;
}

int
header_parse(const char *msg, size_t len, struct header_block *hb,
    struct errbuf *eb)
{
	const char *line, *nl;
	size_t pos = 0, n, name, colon;

	while (pos < len) {
		line = msg + pos;
		nl = memchr(line, '\n', len - pos);
		n = nl ? (size_t)(nl - line) + 1 : len - pos;
		if (n == 1 && line[0] == '\n') {
			hb->has_separator = true;
			hb->body_off = pos + 1;
			return 0;
		}
		if ((line[0] == ' ' || line[0] == '\t') && hb->n > 0) {
			hb->v[hb->n - 1].len += n;
		} else if ((name = header_name_len(line, n, &colon)) > 0) {
			if (header_push(hb, line, name, colon) < 0)
				return errbuf_set(eb, "out of memory");
			hb->v[hb->n - 1].len = n;
		} else {
			break; /* the body starts without an empty line */
		}
		pos += n;
	}
	hb->body_off = pos;
	return 0;
}

bool
header_is(const struct header_field *f, const char *name)
{
	size_t n = strlen(name);

	return f->name_len == n && str_ieq_n(f->text, name, n);
}

long
header_find(const struct header_block *hb, const char *name, size_t from)
{
	size_t i;

	for (i = from; i < hb->n; i++)
		if (!hb->v[i].removed && header_is(&hb->v[i], name))
			return (long)i;
	return -1;
}

int
header_unfold_value(const struct header_field *f, struct buf *out)
{
	const char *p = f->text + f->value_off, *end = f->text + f->len;
	const char *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (buf_append(out, p, (size_t)(nl - p)) < 0)
			return -1;
		p = nl + 1;
	}
	return 0;
}

void
header_format_date(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	localtime_r(&t, &tm);
	/* The C locale is in effect (no setlocale), so day and month
	 * names are the English ones RFC 5322 requires. */
	strftime(out, outlen, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

int
header_add_missing(const struct header_block *hb, time_t now,
    const char *id, const char *hostname, struct buf *out)
{
	char date[64], stamp[32];
	struct tm tm;
	int rc = 0;

	if (header_find(hb, "Date", 0) < 0) {
		header_format_date(now, date, sizeof(date));
		rc |= buf_printf(out, "Date: %s\n", date);
	}
	if (header_find(hb, "Message-ID", 0) < 0) {
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		rc |= buf_printf(out, "Message-ID: <%s.%s@%s>\n", stamp, id,
		    hostname);
	}
	if (header_find(hb, "To", 0) < 0 && header_find(hb, "Cc", 0) < 0 &&
	    header_find(hb, "Bcc", 0) < 0)
		rc |= buf_puts(out, "To: undisclosed-recipients:;\n");
	return rc ? -1 : 0;
}
