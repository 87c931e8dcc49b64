/*
 * aliases: load the aliases(5) file and look names up (see aliases.h).
 *
 * The module owns the parsed table: an array of entries indexed by an
 * open-addressing hash table.  Invariants: names are stored with ASCII
 * letters lowercased, so a lookup folds the key while hashing and never
 * allocates; a name appears at most once; the hash table is at most half
 * full, so every probe sequence ends at a free slot; an entry's values
 * live in one block (the pointer array followed by the strings).  Names
 * whose values were all skipped stay in the table without values, only
 * so that a later duplicate is still caught; lookups and the count
 * ignore them.
 *
 * The file is read through a line buffer capped at ALIASES_MAX_LINE, so
 * one hostile line cannot take unbounded memory.  Every problem is
 * reported before the verdict, and any error rejects the whole file:
 * half an alias table would quietly send mail to the wrong place.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "aliases.h"
#include "buf.h"
#include "str.h"

#define ALIASES_NONE SIZE_MAX /* the open entry is not in the table */
#define ALIASES_CLIP 80       /* bytes of a name or value quoted back */

struct aliases_entry {
	char *name;      /* lowercased */
	char **values;   /* one block; NULL when every value was skipped */
	size_t nvalues;
	unsigned line;   /* where the name is defined, for duplicates */
	uint32_t hash;
};

struct aliases {
	struct aliases_entry *entries;
	size_t nentries;
	size_t cap;
	size_t *slots;   /* entry index + 1; 0 is a free slot */
	size_t nslots;   /* a power of two, or 0 */
	size_t live;     /* entries with values */
};

enum aliases_kind {
	ALIASES_BLANK,
	ALIASES_COMMENT,
	ALIASES_CONT,
	ALIASES_ENTRY
};

struct aliases_loader {
	const char *path;
	aliases_report_fn report;
	void *arg;
	struct aliases *al;
	unsigned line;
	unsigned errors;
	int oom;
	int full;           /* ALIASES_MAX_ENTRIES reached and reported */
	struct buf text;    /* the line being read */
	int overlong;       /* text holds only the start of the line */
	struct buf name;    /* scratch for the parsed name */
	/* The open entry, which continuation lines extend. */
	int open;
	int bad;            /* it had an error: never stored */
	size_t cur;         /* its index in the table, or ALIASES_NONE */
	unsigned cur_line;
	char cur_name[ALIASES_CLIP + 4];
	struct buf vals;    /* its values, each NUL-terminated */
	size_t nvals;
	size_t nskipped;
};

/* ---------------------------------------------------------------- table */

static int
aliases_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* FNV-1a over the folded name: cheap, and good enough for names. */
static uint32_t
aliases_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (uint32_t)aliases_lower((unsigned char)*s);
		h *= 16777619u;
	}
	return h;
}

static int
aliases_name_eq(const char *lower, const char *s)
{
	while (*lower != '\0' &&
	    (unsigned char)*lower == aliases_lower((unsigned char)*s)) {
		lower++;
		s++;
	}
	return *lower == '\0' && *s == '\0';
}

static struct aliases_entry *
aliases_find(const struct aliases *al, const char *name, uint32_t h)
{
	struct aliases_entry *e;
	size_t mask, i;

	if (al->nslots == 0)
		return NULL;
	mask = al->nslots - 1;
	for (i = h & mask; al->slots[i] != 0; i = (i + 1) & mask) {
		e = &al->entries[al->slots[i] - 1];
		if (e->hash == h && aliases_name_eq(e->name, name))
			return e;
	}
	return NULL;
}

static int
aliases_rehash(struct aliases *al, size_t nslots)
{
	size_t *slots, mask = nslots - 1, i, j;

	if ((slots = calloc(nslots, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < al->nentries; i++) {
		j = al->entries[i].hash & mask;
		while (slots[j] != 0)
			j = (j + 1) & mask;
		slots[j] = i + 1;
	}
	free(al->slots);
	al->slots = slots;
	al->nslots = nslots;
	return 0;
}

/* Add a name (already lowercased and known to be new), without values
 * yet.  Returns its index, or ALIASES_NONE when memory runs out. */
static size_t
aliases_insert(struct aliases *al, const char *name, uint32_t h,
    unsigned line)
{
	struct aliases_entry *e;
	size_t cap, i;

	if ((al->nentries + 1) * 2 > al->nslots &&
	    aliases_rehash(al, al->nslots ? al->nslots * 2 : 64) == -1)
		return ALIASES_NONE;
	if (al->nentries == al->cap) {
		cap = al->cap ? al->cap * 2 : 32;
		if ((e = realloc(al->entries, cap * sizeof(*e))) == NULL)
			return ALIASES_NONE;
		al->entries = e;
		al->cap = cap;
	}
	e = &al->entries[al->nentries];
	if ((e->name = strdup(name)) == NULL)
		return ALIASES_NONE;
	e->values = NULL;
	e->nvalues = 0;
	e->line = line;
	e->hash = h;
	for (i = h & (al->nslots - 1); al->slots[i] != 0;)
		i = (i + 1) & (al->nslots - 1);
	al->slots[i] = ++al->nentries;
	return al->nentries - 1;
}

void
aliases_free(struct aliases *al)
{
	size_t i;

	if (al == NULL)
		return;
	for (i = 0; i < al->nentries; i++) {
		free(al->entries[i].name);
		free(al->entries[i].values);
	}
	free(al->entries);
	free(al->slots);
	free(al);
}

size_t
aliases_count(const struct aliases *al)
{
	return al != NULL ? al->live : 0;
}

size_t
aliases_lookup(const struct aliases *al, const char *name,
    const char *const **values)
{
	const struct aliases_entry *e;

	*values = NULL;
	if (al == NULL || name == NULL)
		return 0;
	e = aliases_find(al, name, aliases_hash(name));
	if (e == NULL || e->nvalues == 0)
		return 0;
	*values = (const char *const *)e->values;
	return e->nvalues;
}

/* ------------------------------------------------------------ reporting */

static void aliases_report(struct aliases_loader *ld, unsigned line,
    int is_error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void aliases_error(struct aliases_loader *ld, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
aliases_vreport(struct aliases_loader *ld, unsigned line, int is_error,
    const char *fmt, va_list ap)
{
	char msg[1024];

	if (is_error)
		ld->errors++;
	if (ld->report == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	ld->report(ld->path, line, is_error, msg, ld->arg);
}

static void
aliases_report(struct aliases_loader *ld, unsigned line, int is_error,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	aliases_vreport(ld, line, is_error, fmt, ap);
	va_end(ap);
}

/* An error on the current line; the open entry will not be stored. */
static void
aliases_error(struct aliases_loader *ld, const char *fmt, ...)
{
	va_list ap;

	ld->bad = 1;
	va_start(ap, fmt);
	aliases_vreport(ld, ld->line, 1, fmt, ap);
	va_end(ap);
}

/* Copy s[0..n) for quoting in a message, cut short (on a character
 * boundary, so the message stays UTF-8) when it would drown the rest. */
static const char *
aliases_clip(char dst[ALIASES_CLIP + 4], const char *s, size_t n)
{
	size_t k = n;

	if (n > ALIASES_CLIP) {
		k = ALIASES_CLIP;
		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
	}
	memcpy(dst, s, k);
	strcpy(dst + k, n > k ? "..." : "");
	return dst;
}

/* ------------------------------------------------------------ syntax */

static int
aliases_is_space(char c)
{
	return c == ' ' || c == '\t';
}

static void
aliases_trim(const char **s, size_t *n)
{
	while (*n > 0 && aliases_is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && aliases_is_space((*s)[*n - 1]))
		(*n)--;
}

/* Index of the first c outside double quotes in s[0..n), or n.  Sets
 * *open_quote when s ends inside a quoted string. */
static size_t
aliases_scan(const char *s, size_t n, char c, int *open_quote)
{
	size_t i;
	int q = 0;

	for (i = 0; i < n; i++) {
		if (q && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			q = !q;
		else if (!q && s[i] == c)
			break;
	}
	if (open_quote != NULL)
		*open_quote = q;
	return i;
}

/* NUL, control characters and bad UTF-8 mean the file is not the text
 * it claims to be; nothing on such a line can be trusted. */
static const char *
aliases_check_text(const char *s, size_t n, char *why, size_t size)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\0') {
			snprintf(why, size, "NUL byte at column %zu; the "
			    "aliases file must be text", i + 1);
			return why;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(why, size, "control character 0x%02x at "
			    "column %zu; remove it", c, i + 1);
			return why;
		}
	}
	if (!str_utf8_valid(s, n))
		return "invalid UTF-8; convert the file to UTF-8";
	return NULL;
}

static enum aliases_kind
aliases_kind_of(const char *s, size_t n, size_t *indent)
{
	size_t i = 0;

	while (i < n && aliases_is_space(s[i]))
		i++;
	*indent = i;
	if (i == n)
		return ALIASES_BLANK;
	if (s[i] == '#')
		return ALIASES_COMMENT;
	return i > 0 ? ALIASES_CONT : ALIASES_ENTRY;
}

/* True for "|command", "/file" and ":include:/file", bare or quoted. */
static int
aliases_is_delivery(const char *s, size_t n)
{
	if (n > 0 && s[0] == '"') {
		s++;
		n--;
	}
	if (n > 0 && (s[0] == '|' || s[0] == '/'))
		return 1;
	return n >= 9 && str_ieq_n(s, ":include:", 9);
}

/* Why s[0..n) is not an addr-spec or a local name, or NULL.  Only the
 * shape is checked; the queue validates addresses fully when it uses
 * them. */
static const char *
aliases_check_spec(const char *s, size_t n)
{
	size_t i, at = n;
	int q = 0;

	for (i = 0; i < n; i++) {
		if (q && s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '"')
			q = !q;
		else if (q)
			continue;
		else if (aliases_is_space(s[i]))
			return "contains whitespace outside quotes; separate "
			    "values with commas (comments need a line of "
			    "their own)";
		else if (s[i] == '<' || s[i] == '>')
			return "has a stray angle bracket";
		else if (s[i] == '@')
			at = i;
	}
	if (at != n && (at == 0 || at == n - 1))
		return "is not an address: its local part or domain is empty";
	/* Outside quotes a tab was refused above; inside, RFC 5322 allows
	 * it but no SMTP path can hold one (RFC 5321 qtextSMTP). */
	if (memchr(s, '\t', n) != NULL)
		return "has a tab inside quotes; no mail address can hold one";
	return NULL;
}

/*
 * Reduce a value to its addr-spec: "<a@b>" and "Name <a@b>" keep what is
 * inside the brackets.  "\name" (sendmail's "deliver, do not alias
 * again") loses the backslash: expansion must stop at a name that
 * reaches itself anyway.  Returns NULL, or why the value is not usable.
 */
static const char *
aliases_extract(const char *s, size_t n, const char **spec, size_t *len)
{
	size_t lt, gt;

	lt = aliases_scan(s, n, '<', NULL);
	if (lt == n) {
		if (n > 1 && s[0] == '\\') {
			s++;
			n--;
		}
		*spec = s;
		*len = n;
		return aliases_check_spec(s, n);
	}
	gt = lt + 1 + aliases_scan(s + lt + 1, n - lt - 1, '>', NULL);
	if (gt == n)
		return "has '<' without '>'";
	if (gt != n - 1)
		return "has text after '>'; write Name <user@example.org>";
	s += lt + 1;
	n = gt - lt - 1;
	aliases_trim(&s, &n);
	*spec = s;
	*len = n;
	if (n == 0)
		return "is an empty address; name a recipient";
	return aliases_check_spec(s, n);
}

/* ------------------------------------------------------------ entries */

static void
aliases_attach(struct aliases_loader *ld)
{
	struct aliases_entry *e = &ld->al->entries[ld->cur];
	size_t ptrs = ld->nvals * sizeof(char *), i;
	char **v, *p;

	if ((v = malloc(ptrs + ld->vals.len)) == NULL) {
		ld->oom = 1;
		return;
	}
	p = memcpy((char *)v + ptrs, ld->vals.data, ld->vals.len);
	for (i = 0; i < ld->nvals; i++) {
		v[i] = p;
		p += strlen(p) + 1;
	}
	e->values = v;
	e->nvalues = ld->nvals;
	ld->al->live++;
}

/* The open entry is complete: judge its value list and store it. */
static void
aliases_finish(struct aliases_loader *ld)
{
	if (!ld->open)
		return;
	ld->open = 0;
	if (ld->bad || ld->oom)
		return;
	if (ld->nvals == 0 && ld->nskipped == 0)
		aliases_report(ld, ld->cur_line, 1, "alias '%s' has no "
		    "values; add one after the ':' or remove the alias",
		    ld->cur_name);
	else if (ld->nvals == 0)
		aliases_report(ld, ld->cur_line, 0, "alias '%s' has no "
		    "values left after skipping; it is ignored",
		    ld->cur_name);
	else if (ld->cur != ALIASES_NONE)
		aliases_attach(ld);
}

static void
aliases_open(struct aliases_loader *ld)
{
	aliases_finish(ld);
	ld->open = 1;
	ld->bad = 0;
	ld->cur = ALIASES_NONE;
	ld->cur_line = ld->line;
	ld->cur_name[0] = '\0';
	buf_reset(&ld->vals);
	ld->nvals = 0;
	ld->nskipped = 0;
}

static void
aliases_value(struct aliases_loader *ld, const char *s, size_t n)
{
	char clip[ALIASES_CLIP + 4];
	const char *spec, *why;
	size_t len;

	aliases_trim(&s, &n);
	if (n == 0)
		return; /* "a,,b" and a trailing comma are harmless */
	aliases_clip(clip, s, n);
	if (aliases_is_delivery(s, n)) {
		ld->nskipped++;
		aliases_report(ld, ld->line, 0, "tern does not deliver to "
		    "commands, files or :include: lists; the value '%s' is "
		    "skipped", clip);
		return;
	}
	if ((why = aliases_extract(s, n, &spec, &len)) != NULL) {
		aliases_error(ld, "value '%s' %s", clip, why);
		return;
	}
	if (buf_append(&ld->vals, spec, len) == -1 ||
	    buf_putc(&ld->vals, '\0') == -1)
		ld->oom = 1;
	else
		ld->nvals++;
}

/* Split on commas outside quotes ("a, b"@x and "Doe, J" <j@x> are one
 * value each).  A quoted string cannot span lines. */
static void
aliases_values(struct aliases_loader *ld, const char *s, size_t n)
{
	size_t i;
	int q;

	for (;;) {
		i = aliases_scan(s, n, ',', &q);
		if (q) {
			aliases_error(ld, "unterminated quoted string in the "
			    "values; close it with '\"' on the same line");
			return;
		}
		aliases_value(ld, s, i);
		if (i == n)
			return;
		s += i + 1;
		n -= i + 1;
	}
}

/* ------------------------------------------------------------ names */

static int
aliases_unquote_name(struct aliases_loader *ld, const char *s, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 1; i < n && s[i] != '"' && rc == 0; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		rc = buf_putc(&ld->name, aliases_lower((unsigned char)s[i]));
	}
	if (rc == -1) {
		ld->oom = 1;
		return -1;
	}
	if (i != n - 1) {
		aliases_error(ld, "text after the quoted alias name; put the "
		    "whole name inside the quotes");
		return -1;
	}
	return 0;
}

static int
aliases_plain_name(struct aliases_loader *ld, const char *s, size_t n)
{
	char clip[ALIASES_CLIP + 4];
	size_t i;

	for (i = 0; i < n; i++) {
		if (aliases_is_space(s[i]) || s[i] == '"') {
			aliases_error(ld, "alias name '%s' contains %s; quote "
			    "the whole name (\"john doe\": jd)",
			    aliases_clip(clip, s, n),
			    s[i] == '"' ? "a quote" : "whitespace");
			return -1;
		}
		if (buf_putc(&ld->name, aliases_lower((unsigned char)s[i])) ==
		    -1) {
			ld->oom = 1;
			return -1;
		}
	}
	return 0;
}

/* Parse the name s[0..n) (the text before the ':') into ld->name. */
static int
aliases_parse_name(struct aliases_loader *ld, const char *s, size_t n)
{
	int rc;

	aliases_trim(&s, &n);
	buf_reset(&ld->name);
	if (n > 0 && s[0] == '"')
		rc = aliases_unquote_name(ld, s, n);
	else
		rc = aliases_plain_name(ld, s, n);
	if (rc == 0 && ld->name.len == 0) {
		aliases_error(ld, "empty alias name before ':'; write "
		    "\"name: value\"");
		rc = -1;
	}
	return rc;
}

/* Enter the freshly parsed name into the table as the open entry. */
static void
aliases_add_name(struct aliases_loader *ld)
{
	const char *name = ld->name.data;
	const struct aliases_entry *e;
	uint32_t h = aliases_hash(name);

	aliases_clip(ld->cur_name, name, ld->name.len);
	if ((e = aliases_find(ld->al, name, h)) != NULL) {
		aliases_error(ld, "duplicate alias '%s', first defined on "
		    "line %u; merge the two into one", ld->cur_name,
		    e->line);
		return;
	}
	if (ld->al->nentries >= ALIASES_MAX_ENTRIES) {
		ld->bad = 1;
		if (!ld->full)
			aliases_error(ld, "more than %d aliases; tern reads "
			    "at most that many", ALIASES_MAX_ENTRIES);
		ld->full = 1;
		return;
	}
	ld->cur = aliases_insert(ld->al, name, h, ld->line);
	if (ld->cur == ALIASES_NONE)
		ld->oom = 1;
}

/* ------------------------------------------------------------ lines */

static void
aliases_entry_line(struct aliases_loader *ld, const char *s, size_t n)
{
	size_t colon;
	int q;

	aliases_open(ld);
	colon = aliases_scan(s, n, ':', &q);
	if (colon == n) {
		if (q)
			aliases_error(ld, "unterminated quoted string in the "
			    "alias name; close it with '\"'");
		else
			aliases_error(ld, "missing ':' after the alias name; "
			    "write \"name: value, value\"");
		return;
	}
	if (aliases_parse_name(ld, s, colon) == 0)
		aliases_add_name(ld);
	aliases_values(ld, s + colon + 1, n - colon - 1);
}

static void
aliases_cont_line(struct aliases_loader *ld, const char *s, size_t n)
{
	if (!ld->open) {
		/* Open a rejected entry so that the rest of this stray
		 * block does not repeat the error on every line. */
		aliases_open(ld);
		aliases_error(ld, "continuation line (it starts with "
		    "whitespace) before any alias; remove the indentation "
		    "or the line");
		return;
	}
	aliases_values(ld, s, n);
}

/* A line that is not text, or too long: report it, and make sure the
 * entry it belongs to is rejected rather than stored incomplete. */
static void
aliases_broken_line(struct aliases_loader *ld, enum aliases_kind kind,
    const char *why)
{
	if (kind == ALIASES_ENTRY || (kind == ALIASES_CONT && !ld->open))
		aliases_open(ld);
	if (kind == ALIASES_ENTRY || kind == ALIASES_CONT)
		aliases_error(ld, "%s", why);
	else
		aliases_report(ld, ld->line, 1, "%s", why);
}

static void
aliases_line(struct aliases_loader *ld, const char *s, size_t n)
{
	enum aliases_kind kind;
	char why[128];
	const char *bad = NULL;
	size_t indent;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (ld->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3; /* a byte order mark some editors add */
		n -= 3;
	}
	kind = aliases_kind_of(s, n, &indent);
	if (ld->overlong) {
		snprintf(why, sizeof(why), "line longer than %d bytes; split "
		    "the values over continuation lines", ALIASES_MAX_LINE);
		bad = why;
	} else {
		bad = aliases_check_text(s, n, why, sizeof(why));
	}
	if (bad != NULL)
		aliases_broken_line(ld, kind, bad);
	else if (kind == ALIASES_ENTRY)
		aliases_entry_line(ld, s, n);
	else if (kind == ALIASES_CONT)
		aliases_cont_line(ld, s + indent, n - indent);
	/* Blank and comment lines neither end nor extend an entry. */
}

/* ------------------------------------------------------------ reading */

static void
aliases_gather(struct aliases_loader *ld, const char *p, size_t n)
{
	size_t room = ALIASES_MAX_LINE - ld->text.len;

	if (n > room) {
		ld->overlong = 1;
		n = room;
	}
	if (buf_append(&ld->text, p, n) == -1)
		ld->oom = 1;
}

static void
aliases_end_line(struct aliases_loader *ld)
{
	ld->line++;
	aliases_line(ld, ld->text.data, ld->text.len);
	buf_reset(&ld->text);
	ld->overlong = 0;
}

static void
aliases_feed(struct aliases_loader *ld, const char *p, size_t n)
{
	const char *nl;
	size_t seg;

	while (n > 0 && !ld->oom) {
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) : n;
		aliases_gather(ld, p, seg);
		if (nl == NULL || ld->oom)
			return;
		aliases_end_line(ld);
		p += seg + 1;
		n -= seg + 1;
	}
}

static int
aliases_read(struct aliases_loader *ld, FILE *fp, struct errbuf *eb)
{
	char chunk[16384];
	size_t n;

	while (!ld->oom && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		aliases_feed(ld, chunk, n);
	if (!ld->oom && ferror(fp))
		return errbuf_errno(eb, errno ? errno : EIO, "%s", ld->path);
	if (!ld->oom && (ld->text.len > 0 || ld->overlong))
		aliases_end_line(ld); /* the last line has no newline */
	aliases_finish(ld);
	if (ld->oom)
		return errbuf_errno(eb, ENOMEM, "%s", ld->path);
	if (ld->errors > 0)
		return errbuf_setc(eb, EX_CONFIG, "%s: %u error%s", ld->path,
		    ld->errors, ld->errors == 1 ? "" : "s");
	return 0;
}

struct aliases *
aliases_load(const char *path, aliases_report_fn report, void *arg,
    struct errbuf *eb)
{
	struct aliases_loader ld;
	struct aliases *al;
	FILE *fp;
	int rc;

	if ((al = calloc(1, sizeof(*al))) == NULL) {
		errbuf_errno(eb, ENOMEM, "%s", path);
		return NULL;
	}
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return al; /* nothing to rewrite */
		errbuf_errno(eb, errno, "%s", path);
		free(al);
		return NULL;
	}
	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.report = report;
	ld.arg = arg;
	ld.al = al;
	buf_init(&ld.text, 0);
	buf_init(&ld.name, 0);
	buf_init(&ld.vals, 0);
	errno = 0;
	rc = aliases_read(&ld, fp, eb);
	fclose(fp);
	buf_fini(&ld.text);
	buf_fini(&ld.name);
	buf_fini(&ld.vals);
	if (rc == -1) {
		aliases_free(al);
		return NULL;
	}
	return al;
}
