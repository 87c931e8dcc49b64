/*
 * mime_text: first text/plain part, decoded (see mime_text.h).
 *
 * A small reader, not a MIME library: it only has to find one part and
 * read its first characters, so it parses the few header parameters it
 * needs (type, charset, boundary, transfer encoding) and nothing else.
 * Malformed input yields less text, never an error.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "header.h"
#include "mime_text.h"
#include "rfc2047.h"
#include "str.h"

struct mime_text_part {
	char type[64];      /* "text/plain" (lower case) */
	char charset[64];
	char boundary[128];
	char cte[32];       /* "base64", "quoted-printable", ... */
};

/* Copy the value of parameter name from a header value ("x; name=v"). */
static void
mime_text_param(const char *v, const char *name, char *out, size_t len)
{
	size_t n = strlen(name), i = 0;
	const char *p = v;

	out[0] = '\0';
	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == v || strchr("; \t", p[-1]) != NULL) && p[n] == '=')
			break;
		p += n;
	}
	if (p == NULL)
		return;
	p += n + 1;
	if (*p == '"') {
		for (p++; *p != '\0' && *p != '"' && i + 1 < len; p++)
			out[i++] = *p;
	} else {
		for (; *p != '\0' && strchr("; \t\r\n", *p) == NULL &&
		    i + 1 < len; p++)
			out[i++] = *p;
	}
	out[i] = '\0';
}

/* The first word of a header value, lower-cased. */
static void
mime_text_word(const char *v, char *out, size_t len)
{
	size_t i = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0' && strchr("; \t\r\n", *v) == NULL && i + 1 < len;
	    v++)
		out[i++] = (char)(*v >= 'A' && *v <= 'Z' ? *v + 32 : *v);
	out[i] = '\0';
}

static void
mime_text_headers(const struct header_block *hb, struct mime_text_part *p)
{
	struct buf v;
	long i;

	strcpy(p->type, "text/plain");
	strcpy(p->charset, "us-ascii");
	p->boundary[0] = p->cte[0] = '\0';
	buf_init(&v, 8192);
	if ((i = header_find(hb, "Content-Type", 0)) >= 0 &&
	    header_unfold_value(&hb->v[i], &v) == 0 && v.len > 0) {
		mime_text_word(v.data, p->type, sizeof(p->type));
		mime_text_param(v.data, "charset", p->charset,
		    sizeof(p->charset));
		mime_text_param(v.data, "boundary", p->boundary,
		    sizeof(p->boundary));
		if (p->charset[0] == '\0')
			strcpy(p->charset, "us-ascii");
	}
	buf_reset(&v);
	if ((i = header_find(hb, "Content-Transfer-Encoding", 0)) >= 0 &&
	    header_unfold_value(&hb->v[i], &v) == 0 && v.len > 0)
		mime_text_word(v.data, p->cte, sizeof(p->cte));
	buf_fini(&v);
}

static int
mime_text_unbase64(const char *s, size_t n, struct buf *out)
{
	unsigned acc = 0, bits = 0;
	size_t i;
	int v;

	for (i = 0; i < n; i++) {
		if ((v = str_b64val((unsigned char)s[i])) < 0)
			continue; /* line breaks, padding, junk */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_putc(out, (int)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	return 0;
}

static int
mime_text_unqp(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] != '=') {
			if (buf_putc(out, s[i]) < 0)
				return -1;
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\n') { /* soft line break */
			i++;
			continue;
		}
		hi = i + 2 < n ? str_hexval((unsigned char)s[i + 1]) : -1;
		lo = i + 2 < n ? str_hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0) {
			if (buf_putc(out, '=') < 0)
				return -1;
			continue;
		}
		if (buf_putc(out, hi << 4 | lo) < 0)
			return -1;
		i += 2;
	}
	return 0;
}

/* Convert raw bytes in charset to UTF-8.  8-bit text labelled
 * US-ASCII or UTF-8 that is not UTF-8 is read as ISO-8859-1, the usual
 * mislabelling; a Subject is better approximate than missing. */
static int
mime_text_to_utf8(const char *charset, const struct buf *raw,
    struct buf *out)
{
	size_t start = out->len;
	int rc;

	rc = rfc2047_to_utf8(charset, raw->data ? raw->data : "", raw->len,
	    out);
	if (rc == 1 && out->len == start && (strcasecmp(charset, "utf-8") ==
	    0 || strcasecmp(charset, "us-ascii") == 0))
		rc = rfc2047_to_utf8("ISO-8859-1", raw->data, raw->len, out);
	return rc < 0 ? -1 : 0;
}

/* Fold white space and keep max_chars characters of text. */
static int
mime_text_squeeze(const struct buf *text, size_t max_chars, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)text->data;
	size_t i = 0, chars = 0, n;
	bool space = false;

	while (i < text->len && chars < max_chars) {
		if (p[i] <= ' ' || p[i] == 0x7f) {
			space = out->len > 0;
			i++;
			continue;
		}
		if ((n = str_utf8_len(p + i, text->len - i)) == 0) {
			i++;
			continue;
		}
		if (space && (buf_putc(out, ' ') < 0 || ++chars >= max_chars))
			break;
		space = false;
		if (buf_append(out, p + i, n) < 0)
			return -1;
		chars++;
		i += n;
	}
	return 0;
}

static int
mime_text_leaf(const struct mime_text_part *part, const char *body,
    size_t len, size_t max_chars, struct buf *out)
{
	struct buf raw, utf8;
	int rc;

	/* A Subject needs little: do not decode megabytes for it. */
	if (len > 64 * 1024)
		len = 64 * 1024;
	buf_init(&raw, 0);
	buf_init(&utf8, 0);
	if (strcmp(part->cte, "base64") == 0)
		rc = mime_text_unbase64(body, len, &raw);
	else if (strcmp(part->cte, "quoted-printable") == 0)
		rc = mime_text_unqp(body, len, &raw);
	else
		rc = buf_append(&raw, body, len);
	if (rc == 0)
		rc = mime_text_to_utf8(part->charset, &raw, &utf8);
	if (rc == 0 && utf8.len > 0)
		rc = mime_text_squeeze(&utf8, max_chars, out);
	buf_fini(&raw);
	buf_fini(&utf8);
	return rc;
}

static int mime_text_walk(const char *msg, size_t len, size_t max_chars,
    unsigned depth, struct buf *out);

/* Each body part between "--boundary" lines, until one gives text. */
static int
mime_text_multipart(const char *body, size_t len, const char *boundary,
    size_t max_chars, unsigned depth, struct buf *out)
{
	char delim[160];
	const char *p = body, *end = body + len, *start = NULL, *nl;
	size_t dl;

	dl = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	while (p < end && out->len == 0) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) >= dl && memcmp(p, delim, dl) == 0) {
			if (start != NULL && mime_text_walk(start,
			    (size_t)(p - start), max_chars, depth + 1, out) < 0)
				return -1;
			if ((size_t)(nl - p) >= dl + 2 && p[dl] == '-' &&
			    p[dl + 1] == '-')
				break; /* the closing delimiter */
			start = nl < end ? nl + 1 : end;
		}
		p = nl < end ? nl + 1 : end;
	}
	return 0;
}

static int
mime_text_walk(const char *msg, size_t len, size_t max_chars,
    unsigned depth, struct buf *out)
{
	struct mime_text_part part;
	struct header_block hb;
	struct errbuf eb;
	int rc = 0;

	if (depth > MIME_TEXT_MAX_DEPTH)
		return 0;
	header_block_init(&hb);
	if (header_parse(msg, len, &hb, &eb) < 0)
		return -1;
	mime_text_headers(&hb, &part);
	if (strncmp(part.type, "multipart/", 10) == 0 && part.boundary[0])
		rc = mime_text_multipart(msg + hb.body_off, len - hb.body_off,
		    part.boundary, max_chars, depth, out);
	else if (strcmp(part.type, "text/plain") == 0)
		rc = mime_text_leaf(&part, msg + hb.body_off,
		    len - hb.body_off, max_chars, out);
	header_block_fini(&hb);
	return rc;
}

int
mime_text_first(const char *msg, size_t len, size_t max_chars,
    struct buf *out)
{
	size_t start = out->len;

	if (max_chars == 0)
		return 0;
	if (mime_text_walk(msg, len, max_chars, 0, out) < 0)
		return -1;
	while (out->len > start && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
	return 0;
}
