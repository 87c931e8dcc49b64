/*
 * addr: RFC 5322 / RFC 6532 address parsing (see addr.h).
 *
 * This module owns the grammar of address lists and the canonical form
 * of an addr-spec (the local part quoted only when it is not a
 * dot-atom).  Invariants:
 *  - the input is checked once, up front, for NUL bytes, control
 *    characters, malformed UTF-8 and line breaks that are not folding;
 *    the parser proper can then treat CR and LF as white space and any
 *    byte >= 0x80 as part of a valid UTF-8 character;
 *  - the parser is a single forward scan (it backs up only over the
 *    white space and comments after a word, to read a trailing
 *    comment), and per-address text goes to scratch buffers reused for
 *    every address, so time and memory are linear in the input;
 *  - comment nesting is bounded (ADDR_MAX_NEST) and iterative, so no
 *    input can exhaust the stack;
 *  - every error names what is wrong and its byte offset in the input.
 * Nothing is case-folded: local parts are case-sensitive and the
 * domain is passed on as written.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "str.h"
#include "buf.h"
#include "rfc2047.h"

#define ADDR_MAX_NEST 32

struct addr_parser {
	const unsigned char *s;
	size_t len;
	size_t pos;
	struct errbuf *eb;
	bool one; /* addr_parse_one: a single address, "<>" allowed */
	bool in_group;
	struct buf phrase; /* display name words, unquoted, as spaced */
	struct buf local; /* local part, unquoted */
	struct buf domain;
	struct buf name; /* display name source: phrase or comment */
	struct buf decoded; /* display name after RFC 2047 decoding */
};

/* What addr_words found: a phrase, a local part, or both. */
struct addr_words {
	size_t start; /* offset of the first word or dot */
	size_t end; /* offset just past the last word or dot */
	size_t nwords;
	size_t ndots;
	bool local_ok; /* word *("." word) */
};

void
addr_list_init(struct addr_list *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

void
addr_free(struct addr *a)
{
	free(a->spec);
	free(a->local);
	free(a->domain);
	free(a->display);
	a->spec = a->local = a->domain = a->display = NULL;
	a->utf8 = false;
}

void
addr_list_free(struct addr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		addr_free(&l->v[i]);
	free(l->v);
	addr_list_init(l);
}

/* Grow geometrically so that long recipient lists stay linear. */
static int
addr_list_push(struct addr_list *l, struct addr *a)
{
	struct addr *v;
	size_t cap;

	if (l->n == l->cap) {
		cap = l->cap ? l->cap * 2 : 8;
		if (cap > (size_t)-1 / sizeof(*v))
			return -1;
		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *a;
	return 0;
}

/* ---------------------------------------------------------------- chars */

static bool
addr_is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return true;
	return c > 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Letters, digits, hyphen (RFC 5321) and UTF-8 (U-labels). */
static bool
addr_is_domain_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c >= 0x80;
}

/* RFC 5322 dtext: printable ASCII except "[", "]" and "\". */
static bool
addr_is_dtext(int c)
{
	return c >= 33 && c <= 126 && c != '[' && c != ']' && c != '\\';
}

static bool
addr_is_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The one pass over raw bytes: everything the grammar never allows
 * anywhere.  A line break must be CRLF or LF followed by white space
 * (folding); one at the very end is the field's own terminator.
 */
static int
addr_check_bytes(const unsigned char *s, size_t len, struct errbuf *eb)
{
	size_t i = 0, l;

	while (i < len) {
		if (s[i] >= 0x80) {
			if ((l = str_utf8_len(s + i, len - i)) == 0)
				return errbuf_set(eb,
				    "invalid UTF-8 at offset %zu", i);
			i += l;
			continue;
		}
		if (s[i] == '\0')
			return errbuf_set(eb, "NUL byte at offset %zu", i);
		if (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
			return errbuf_set(eb, "bare CR at offset %zu", i);
		if (s[i] == '\n' && i + 1 < len && s[i + 1] != ' ' &&
		    s[i + 1] != '\t')
			return errbuf_set(eb, "line break not followed by "
			    "white space at offset %zu", i);
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n') || s[i] == 0x7f)
			return errbuf_set(eb, "control character 0x%02x at "
			    "offset %zu", s[i], i);
		i++;
	}
	return 0;
}

/* ---------------------------------------------------------------- lexing */

static int
addr_peek(const struct addr_parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

static int
addr_nomem(struct addr_parser *p)
{
	return errbuf_set(p->eb, "out of memory parsing address");
}

static int
addr_put(struct addr_parser *p, struct buf *b, const void *v, size_t n)
{
	if (b != NULL && buf_append(b, v, n) == -1)
		return addr_nomem(p);
	return 0;
}

/*
 * The quoted-pair at pos (the backslash).  RFC 5322 quotes any VCHAR or
 * WSP (RFC 6532: any UTF-8 character); a quoted line break is not one.
 */
static int
addr_quoted_pair(struct addr_parser *p, size_t open, const char *what,
    struct buf *out)
{
	int c;

	if (p->pos + 1 >= p->len)
		return errbuf_set(p->eb, "unterminated %s at offset %zu", what,
		    open);
	c = p->s[p->pos + 1];
	if (c == '\r' || c == '\n')
		return errbuf_set(p->eb, "backslash before line break at "
		    "offset %zu", p->pos);
	p->pos += 2;
	return addr_put(p, out, p->s + p->pos - 1, 1);
}

/*
 * A comment at pos, nested comments included.  When out is not NULL the
 * text inside the outer parentheses is appended, unfolded and with
 * quoted-pairs resolved.
 */
static int
addr_comment(struct addr_parser *p, struct buf *out)
{
	size_t open = p->pos;
	int depth = 0, c;

	do {
		if (p->pos >= p->len)
			return errbuf_set(p->eb, "unterminated comment at "
			    "offset %zu", open);
		c = p->s[p->pos];
		if (c == '\\') {
			if (addr_quoted_pair(p, open, "comment", out) == -1)
				return -1;
			continue;
		}
		if (c == '(' && ++depth > ADDR_MAX_NEST)
			return errbuf_set(p->eb, "comments nested more than "
			    "%d deep at offset %zu", ADDR_MAX_NEST, p->pos);
		if (c == ')')
			depth--;
		p->pos++;
		if ((c == '(' && depth == 1) || (c == ')' && depth == 0) ||
		    c == '\r' || c == '\n')
			continue;
		if (addr_put(p, out, p->s + p->pos - 1, 1) == -1)
			return -1;
	} while (depth > 0);
	return 0;
}

/* Skip CFWS; the first comment goes to comment (when not NULL); *seen
 * tells whether anything was skipped. */
static int
addr_skip_cfws(struct addr_parser *p, struct buf *comment, bool *seen)
{
	int c;

	for (;;) {
		c = addr_peek(p);
		if (c != '(' && !addr_is_wsp(c))
			return 0;
		if (seen != NULL)
			*seen = true;
		if (c != '(') {
			p->pos++;
			continue;
		}
		if (addr_comment(p, comment) == -1)
			return -1;
		comment = NULL;
	}
}

/* A quoted-string at pos; its content, unfolded and unquoted, to out. */
static int
addr_quoted(struct addr_parser *p, struct buf *out)
{
	size_t open = p->pos, from;
	int c;

	p->pos++;
	for (;;) {
		from = p->pos;
		while (p->pos < p->len && (c = p->s[p->pos]) != '"' &&
		    c != '\\' && c != '\r' && c != '\n')
			p->pos++;
		if (addr_put(p, out, p->s + from, p->pos - from) == -1)
			return -1;
		if (p->pos >= p->len)
			return errbuf_set(p->eb, "unterminated quoted string "
			    "at offset %zu", open);
		c = p->s[p->pos];
		if (c == '"') {
			p->pos++;
			return 0;
		}
		if (c != '\\')
			p->pos++; /* the CR or LF of folding */
		else if (addr_quoted_pair(p, open, "quoted string",
		    out) == -1)
			return -1;
	}
}

/* An atom at pos, appended to out. */
static int
addr_atom(struct addr_parser *p, struct buf *out)
{
	size_t from = p->pos;

	while (p->pos < p->len && addr_is_atext(p->s[p->pos]))
		p->pos++;
	return addr_put(p, out, p->s + from, p->pos - from);
}

/*
 * A run of words and dots: a display name, a local part, or both until
 * the next special decides.  The phrase keeps one space wherever the
 * input had white space or comments ("Joe Q. Public"); the local part
 * keeps none (obs-local-part allows CFWS around the dots).
 */
static int
addr_words(struct addr_parser *p, struct addr_words *w)
{
	bool ws, want_word = true;
	size_t mark;
	int c, rc;

	memset(w, 0, sizeof(*w));
	w->local_ok = true;
	w->start = w->end = p->pos;
	buf_reset(&p->phrase);
	buf_reset(&p->local);
	for (;;) {
		ws = false;
		if (addr_skip_cfws(p, NULL, &ws) == -1)
			return -1;
		if ((c = addr_peek(p)) != '"' && c != '.' && !addr_is_atext(c))
			break;
		if (w->nwords + w->ndots == 0)
			w->start = p->pos;
		if (ws && p->phrase.len > 0 &&
		    addr_put(p, &p->phrase, " ", 1) == -1)
			return -1;
		if (c == '.') {
			w->local_ok = w->local_ok && !want_word;
			want_word = true;
			w->ndots++;
			p->pos++;
			if (addr_put(p, &p->phrase, ".", 1) == -1 ||
			    addr_put(p, &p->local, ".", 1) == -1)
				return -1;
		} else {
			w->local_ok = w->local_ok && want_word;
			want_word = false;
			w->nwords++;
			mark = p->phrase.len;
			rc = c == '"' ? addr_quoted(p, &p->phrase) :
			    addr_atom(p, &p->phrase);
			if (rc == -1 || addr_put(p, &p->local,
			    p->phrase.data + mark, p->phrase.len - mark) == -1)
				return -1;
		}
		w->end = p->pos;
	}
	w->local_ok = w->local_ok && !want_word;
	return 0;
}

/* ---------------------------------------------------------------- domain */

/* A domain literal at pos; folding white space inside is dropped. */
static int
addr_literal(struct addr_parser *p)
{
	size_t open = p->pos;
	int c;

	p->pos++;
	if (addr_put(p, &p->domain, "[", 1) == -1)
		return -1;
	for (;;) {
		if ((c = addr_peek(p)) == -1)
			return errbuf_set(p->eb, "unterminated domain literal "
			    "at offset %zu", open);
		p->pos++;
		if (c == ']')
			break;
		if (addr_is_wsp(c))
			continue;
		if (!addr_is_dtext(c))
			return errbuf_set(p->eb, "bad character in domain "
			    "literal at offset %zu", p->pos - 1);
		if (addr_put(p, &p->domain, p->s + p->pos - 1, 1) == -1)
			return -1;
	}
	if (p->domain.len == 1)
		return errbuf_set(p->eb, "empty domain literal at offset %zu",
		    open);
	return addr_put(p, &p->domain, "]", 1);
}

/* Why no label could be read at pos; at is the offset of the '@'. */
static int
addr_domain_error(struct addr_parser *p, size_t at)
{
	int c = addr_peek(p);

	if (c == '.')
		return errbuf_set(p->eb, "empty label in domain at offset %zu",
		    p->pos);
	if (c == -1 || c == ',' || c == ';' || c == '>' || c == ':') {
		if (p->domain.len == 0)
			return errbuf_set(p->eb, "empty domain after '@' at "
			    "offset %zu", at);
		return errbuf_set(p->eb, "domain ends with '.' at offset %zu",
		    p->pos);
	}
	if (c > 0x20 && c < 0x7f)
		return errbuf_set(p->eb, "bad character '%c' in domain at "
		    "offset %zu", c, p->pos);
	return errbuf_set(p->eb, "bad character in domain at offset %zu",
	    p->pos);
}

/*
 * The domain after the '@' at pos - 1: a domain literal, or labels of
 * letters, digits, hyphens and UTF-8 (the SMTP rule, stricter than
 * RFC 5322's atext) with CFWS allowed around the dots (obs-domain).
 * White space after the last label is left unread, for the caller's
 * trailing comment.
 */
static int
addr_domain(struct addr_parser *p)
{
	size_t at = p->pos - 1, from, save;
	int c;

	buf_reset(&p->domain);
	if (addr_skip_cfws(p, NULL, NULL) == -1)
		return -1;
	if (addr_peek(p) == '[')
		return addr_literal(p);
	for (;;) {
		from = p->pos;
		while (p->pos < p->len && addr_is_domain_char(p->s[p->pos]))
			p->pos++;
		if (p->pos == from)
			return addr_domain_error(p, at);
		if (addr_put(p, &p->domain, p->s + from, p->pos - from) == -1)
			return -1;
		c = addr_peek(p);
		if (c == '"' || c == '\\' || c == '[' || c == ']' ||
		    addr_is_atext(c))
			return addr_domain_error(p, at);
		save = p->pos;
		if (addr_skip_cfws(p, NULL, NULL) == -1)
			return -1;
		if (addr_peek(p) != '.') {
			p->pos = save;
			return 0;
		}
		p->pos++;
		if (addr_put(p, &p->domain, ".", 1) == -1 ||
		    addr_skip_cfws(p, NULL, NULL) == -1)
			return -1;
	}
}

/* ---------------------------------------------------------------- mailbox */

/* Skip the commas (and CFWS) that obs-domain-list allows anywhere. */
static int
addr_skip_commas(struct addr_parser *p)
{
	while (addr_peek(p) == ',') {
		p->pos++;
		if (addr_skip_cfws(p, NULL, NULL) == -1)
			return -1;
	}
	return 0;
}

/* An obsolete source route at pos ("@a,@b:"); it is read and dropped,
 * as RFC 5321 says routes are to be ignored. */
static int
addr_route(struct addr_parser *p)
{
	int c;

	if (addr_skip_commas(p) == -1)
		return -1;
	for (;;) {
		if (addr_peek(p) != '@')
			return errbuf_set(p->eb, "bad source route at offset "
			    "%zu (expected '@')", p->pos);
		p->pos++;
		if (addr_domain(p) == -1 ||
		    addr_skip_cfws(p, NULL, NULL) == -1 ||
		    addr_skip_commas(p) == -1)
			return -1;
		if ((c = addr_peek(p)) == ':') {
			p->pos++;
			return 0;
		}
		if (c == '>')
			return errbuf_set(p->eb, "empty local part at offset "
			    "%zu", p->pos);
		if (c != '@')
			return errbuf_set(p->eb, "bad source route at offset "
			    "%zu (expected ':')", p->pos);
	}
}

static int
addr_local_check(struct addr_parser *p, const struct addr_words *w)
{
	if (w->nwords + w->ndots == 0 || (w->local_ok && p->local.len == 0))
		return errbuf_set(p->eb, "empty local part at offset %zu",
		    w->nwords + w->ndots == 0 ? p->pos : w->start);
	if (!w->local_ok)
		return errbuf_set(p->eb, "invalid local part at offset %zu "
		    "(words must be separated by single dots)", w->start);
	return 0;
}

/* The display name, with RFC 2047 words decoded and outer blanks
 * trimmed; NULL when there is none. */
static int
addr_display(struct addr_parser *p, char **display)
{
	const char *s;
	size_t n;

	*display = NULL;
	if (p->name.len == 0)
		return 0;
	buf_reset(&p->decoded);
	if (rfc2047_decode(p->name.data, p->name.len, &p->decoded) == -1)
		return addr_nomem(p);
	s = p->decoded.data;
	n = p->decoded.len;
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n > 0 && (*display = strndup(s, n)) == NULL)
		return addr_nomem(p);
	return 0;
}

/* Make the mailbox from the scratch buffers. */
static int
addr_build(struct addr_parser *p, bool has_domain, size_t start,
    struct addr *a)
{
	const char *domain = has_domain ? p->domain.data : NULL;
	const unsigned char *c;

	memset(a, 0, sizeof(*a));
	/* A quoted local part may hold a tab (RFC 5322 FWS), but no SMTP
	 * path may (RFC 5321 qtextSMTP): such an address is unusable. */
	for (c = (const unsigned char *)p->local.data; c != NULL && *c != '\0';
	    c++)
		if (*c < 0x20 || *c == 0x7f)
			return errbuf_set(p->eb, "control character in the "
			    "local part of the address at offset %zu", start);
	if ((a->spec = addr_make_spec(p->local.data, domain)) == NULL)
		return addr_nomem(p);
	if (strlen(a->spec) > ADDR_MAX_LEN) {
		addr_free(a);
		return errbuf_set(p->eb, "address longer than %d octets at "
		    "offset %zu", ADDR_MAX_LEN, start);
	}
	a->local = strdup(p->local.data);
	if (domain != NULL)
		a->domain = strdup(domain);
	if (a->local == NULL || (domain != NULL && a->domain == NULL) ||
	    addr_display(p, &a->display) == -1) {
		addr_free(a);
		return addr_nomem(p);
	}
	for (c = (const unsigned char *)a->spec; *c != '\0'; c++)
		if (*c >= 0x80)
			a->utf8 = true;
	return 0;
}

/* The null sender "<>": spec and local part empty. */
static int
addr_build_null(struct addr_parser *p, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	a->spec = strdup("");
	a->local = strdup("");
	if (a->spec == NULL || a->local == NULL ||
	    addr_display(p, &a->display) == -1) {
		addr_free(a);
		return addr_nomem(p);
	}
	return 0;
}

/* The angle-addr at pos, into the scratch buffers.  *null is set for
 * "<>", which only addr_parse_one accepts. */
static int
addr_angle(struct addr_parser *p, bool *null, bool *has_domain)
{
	size_t open = p->pos;
	struct addr_words w;
	int c;

	*null = *has_domain = false;
	p->pos++;
	if (addr_skip_cfws(p, NULL, NULL) == -1)
		return -1;
	if ((c = addr_peek(p)) == '>' && p->one) {
		p->pos++;
		*null = true;
		return 0;
	}
	if (c == '>')
		return errbuf_set(p->eb, "empty address <> at offset %zu",
		    open);
	if ((c == '@' || c == ',') && addr_route(p) == -1)
		return -1;
	if (addr_words(p, &w) == -1)
		return -1;
	if ((c = addr_peek(p)) == -1 && w.nwords + w.ndots == 0)
		return errbuf_set(p->eb, "unterminated angle address at "
		    "offset %zu", open);
	if (addr_local_check(p, &w) == -1)
		return -1;
	if (c == '@') {
		p->pos++;
		*has_domain = true;
		if (addr_domain(p) == -1 || addr_skip_cfws(p, NULL, NULL) == -1)
			return -1;
		c = addr_peek(p);
	}
	if (c == '>') {
		p->pos++;
		return 0;
	}
	if (c == -1)
		return errbuf_set(p->eb, "unterminated angle address at "
		    "offset %zu", open);
	if (c == '@')
		return errbuf_set(p->eb, "unexpected second '@' at offset "
		    "%zu", p->pos);
	return errbuf_set(p->eb, "expected '>' at offset %zu", p->pos);
}

/* "phrase <addr-spec>"; a comment after the '>' names the mailbox only
 * when the phrase is empty. */
static int
addr_name_addr(struct addr_parser *p, size_t start, struct addr *a)
{
	bool null, has_domain;

	buf_reset(&p->name);
	if (addr_put(p, &p->name, p->phrase.data, p->phrase.len) == -1 ||
	    addr_angle(p, &null, &has_domain) == -1)
		return -1;
	if (p->name.len == 0 && addr_skip_cfws(p, &p->name, NULL) == -1)
		return -1;
	if (null)
		return addr_build_null(p, a);
	return addr_build(p, has_domain, start, a);
}

/* A bare addr-spec ("user@example.org (Name)") or unqualified local
 * part ("root"), whose words addr_words has read. */
static int
addr_bare(struct addr_parser *p, const struct addr_words *w, size_t start,
    struct addr *a)
{
	bool has_domain = addr_peek(p) == '@';

	if (!has_domain && !w->local_ok && w->nwords > 0)
		return errbuf_set(p->eb, "expected '@' or '<' at offset %zu",
		    p->pos);
	if (addr_local_check(p, w) == -1)
		return -1;
	if (has_domain) {
		p->pos++;
		if (addr_domain(p) == -1)
			return -1;
	} else {
		p->pos = w->end;
	}
	buf_reset(&p->name);
	if (addr_skip_cfws(p, &p->name, NULL) == -1)
		return -1;
	return addr_build(p, has_domain, start, a);
}

/* ---------------------------------------------------------------- lists */

static int addr_list_body(struct addr_parser *p, struct addr_list *out);

/* Name what stands at pos where a ',' or the end was expected. */
static int
addr_unexpected(struct addr_parser *p)
{
	int c = addr_peek(p);

	if (c == '@')
		return errbuf_set(p->eb, "unexpected second '@' at offset "
		    "%zu", p->pos);
	if (c == ';')
		return errbuf_set(p->eb, "';' outside a group at offset %zu",
		    p->pos);
	if (c == ')')
		return errbuf_set(p->eb, "unbalanced ')' at offset %zu",
		    p->pos);
	if (c == '"' || addr_is_atext(c))
		return errbuf_set(p->eb, "unexpected text after address at "
		    "offset %zu", p->pos);
	if (c > 0x20 && c < 0x7f)
		return errbuf_set(p->eb, "unexpected '%c' at offset %zu", c,
		    p->pos);
	return errbuf_set(p->eb, "unexpected character at offset %zu",
	    p->pos);
}

/* "name: member, member;" at the ':'.  A missing ';' at the very end
 * is forgiven: "undisclosed-recipients:" is common in the wild. */
static int
addr_group(struct addr_parser *p, const struct addr_words *w,
    struct addr_list *out)
{
	if (p->one)
		return errbuf_set(p->eb, "group not allowed here (':' at "
		    "offset %zu)", p->pos);
	if (p->in_group)
		return errbuf_set(p->eb, "nested group at offset %zu", p->pos);
	if (w->nwords == 0)
		return errbuf_set(p->eb, "group without a name at offset %zu",
		    p->pos);
	p->pos++;
	p->in_group = true;
	if (addr_list_body(p, out) == -1)
		return -1;
	p->in_group = false;
	if (addr_peek(p) == ';')
		p->pos++;
	return addr_skip_cfws(p, NULL, NULL);
}

/* One list element: a mailbox, a group, or nothing (obs-addr-list
 * allows empty elements).  Leaves pos after the CFWS that follows. */
static int
addr_element(struct addr_parser *p, struct addr_list *out)
{
	struct addr_words w;
	struct addr a;
	size_t start;
	int c, rc;

	if (addr_skip_cfws(p, NULL, NULL) == -1)
		return -1;
	start = p->pos;
	if (addr_words(p, &w) == -1)
		return -1;
	if ((c = addr_peek(p)) == ':')
		return addr_group(p, &w, out);
	if (c == '<')
		rc = addr_name_addr(p, start, &a);
	else if (w.nwords + w.ndots == 0 && c != '@')
		return 0;
	else
		rc = addr_bare(p, &w, start, &a);
	if (rc == -1)
		return -1;
	if (addr_list_push(out, &a) == -1) {
		addr_free(&a);
		return addr_nomem(p);
	}
	return addr_skip_cfws(p, NULL, NULL);
}

static int
addr_list_body(struct addr_parser *p, struct addr_list *out)
{
	int c;

	for (;;) {
		if (addr_element(p, out) == -1)
			return -1;
		c = addr_peek(p);
		if (c == -1 || (c == ';' && p->in_group))
			return 0;
		if (c != ',')
			return addr_unexpected(p);
		p->pos++;
	}
}

static void
addr_parser_init(struct addr_parser *p, const char *text, size_t len,
    bool one, struct errbuf *eb)
{
	memset(p, 0, sizeof(*p));
	p->s = (const unsigned char *)text;
	p->len = len;
	p->one = one;
	p->eb = eb;
	buf_init(&p->phrase, 0);
	buf_init(&p->local, 0);
	buf_init(&p->domain, 0);
	buf_init(&p->name, 0);
	buf_init(&p->decoded, 0);
}

static void
addr_parser_fini(struct addr_parser *p)
{
	buf_fini(&p->phrase);
	buf_fini(&p->local);
	buf_fini(&p->domain);
	buf_fini(&p->name);
	buf_fini(&p->decoded);
}

int
addr_parse_list(const char *text, size_t len, struct addr_list *out,
    struct errbuf *eb)
{
	struct addr_parser p;
	int rc;

	if (len == 0)
		return 0;
	if (addr_check_bytes((const unsigned char *)text, len, eb) == -1)
		return -1;
	addr_parser_init(&p, text, len, false, eb);
	rc = addr_list_body(&p, out);
	addr_parser_fini(&p);
	return rc;
}

/* The single element of addr_parse_one, into l. */
static int
addr_parse_one_element(struct addr_parser *p, bool allow_null,
    struct addr_list *l)
{
	struct addr a;
	int c;

	if (addr_element(p, l) == -1)
		return -1;
	if ((c = addr_peek(p)) == ',')
		return errbuf_set(p->eb, "more than one address (',' at "
		    "offset %zu)", p->pos);
	if (c != -1)
		return addr_unexpected(p);
	if (l->n > 0)
		return 0;
	if (!allow_null)
		return errbuf_set(p->eb, "empty address");
	buf_reset(&p->name);
	if (addr_build_null(p, &a) == -1)
		return -1;
	if (addr_list_push(l, &a) == -1) {
		addr_free(&a);
		return addr_nomem(p);
	}
	return 0;
}

int
addr_parse_one(const char *text, bool allow_null, struct addr *out,
    struct errbuf *eb)
{
	struct addr_parser p;
	struct addr_list l;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		text = "";
	len = strlen(text);
	if (addr_check_bytes((const unsigned char *)text, len, eb) == -1)
		return -1;
	addr_parser_init(&p, text, len, true, eb);
	addr_list_init(&l);
	rc = addr_parse_one_element(&p, allow_null, &l);
	if (rc == 0) {
		*out = l.v[0];
		l.n = 0;
	}
	addr_list_free(&l);
	addr_parser_fini(&p);
	return rc;
}

/* ---------------------------------------------------------------- specs */

static bool
addr_is_dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' :
		    !addr_is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

char *
addr_make_spec(const char *local, const char *domain)
{
	struct buf b;
	const char *s;
	int rc;

	if (local == NULL)
		local = "";
	buf_init(&b, 0);
	if (addr_is_dot_atom(local, strlen(local))) {
		rc = buf_puts(&b, local);
	} else {
		rc = buf_putc(&b, '"');
		for (s = local; *s != '\0' && rc == 0; s++) {
			if (*s == '"' || *s == '\\')
				rc = buf_putc(&b, '\\');
			if (rc == 0)
				rc = buf_putc(&b, *s);
		}
		if (rc == 0)
			rc = buf_putc(&b, '"');
	}
	if (rc == 0 && domain != NULL)
		rc = buf_putc(&b, '@') == 0 ? buf_puts(&b, domain) : -1;
	if (rc == -1) {
		buf_fini(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* A quoted local part at s[0]; *end gets the offset past its quote. */
static bool
addr_valid_quoted(const unsigned char *s, size_t n, size_t *end)
{
	size_t i = 1;

	while (i < n && s[i] != '"') {
		if (s[i] == '\\' && i + 1 >= n)
			return false;
		i += s[i] == '\\' ? 2 : 1;
	}
	if (i >= n || i == 1)
		return false;
	*end = i + 1;
	return true;
}

static bool
addr_valid_domain(const char *d, size_t n)
{
	size_t i;

	if (n == 0 || d[0] == '.' || d[n - 1] == '.')
		return false;
	if (d[0] == '[') {
		if (n < 3 || d[n - 1] != ']')
			return false;
		for (i = 1; i < n - 1; i++)
			if (!addr_is_dtext((unsigned char)d[i]))
				return false;
		return true;
	}
	for (i = 0; i < n; i++) {
		if (d[i] == '.' ? d[i + 1] == '.' :
		    !addr_is_domain_char((unsigned char)d[i]))
			return false;
	}
	return true;
}

bool
addr_spec_valid(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	const char *at;
	size_t n, i, l, end;

	if (text == NULL || (n = strlen(text)) == 0 || n > ADDR_MAX_LEN)
		return false;
	/* SMTP paths hold no controls at all, not even HTAB. */
	for (i = 0; i < n; i += l)
		if ((l = str_utf8_len(s + i, n - i)) == 0 || s[i] < 0x20 ||
		    s[i] == 0x7f)
			return false;
	if (s[0] == '"') {
		if (!addr_valid_quoted(s, n, &end))
			return false;
	} else {
		if ((at = memchr(text, '@', n)) == NULL)
			return false;
		end = (size_t)(at - text);
		if (!addr_is_dot_atom(text, end))
			return false;
	}
	if (end >= n || text[end] != '@')
		return false;
	return addr_valid_domain(text + end + 1, n - end - 1);
}
