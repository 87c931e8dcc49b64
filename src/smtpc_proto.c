/*
 * smtpc_proto: replies, capabilities, commands and the DATA encoder of
 * the SMTP client (see smtpc_proto.h).
 *
 * Everything here is a pure function of its arguments: no I/O, no
 * globals, bounded output.  Server text is untrusted: a reply line that
 * does not parse is an error for the caller, never a crash, and text
 * copied out of a reply is cut to size and stripped of control bytes.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "smtpc_auth.h"
#include "smtpc_proto.h"
#include "str.h"

/* ---------------------------------------------------------- replies */

int
smtpc_parse_reply_line(const char *line, size_t len, int *code, bool *more,
    size_t *text_off)
{
	/* RFC 5321 4.2: three digits (2-5, 0-5, 0-9), then SP, '-' or the
	 * end of the line. */
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '5' || line[2] < '0' || line[2] > '9')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*more = len > 3 && line[3] == '-';
	*text_off = len > 3 ? 4 : 3;
	return 0;
}

static bool
smtpc_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits at text[i..]: 1 to max of them; returns how many, 0 if none or
 * too many. */
static size_t
smtpc_digits(const char *text, size_t len, size_t i, size_t max)
{
	size_t n = 0;

	while (i + n < len && smtpc_is_digit(text[i + n]))
		n++;
	return n >= 1 && n <= max ? n : 0;
}

size_t
smtpc_enhanced_status(const char *text, size_t len, int code)
{
	size_t i, n;

	/* class "." subject "." detail: 1 digit, then 1-3, then 1-3. */
	if (len < 5 || text[0] != '0' + code / 100 || text[1] != '.')
		return 0;
	if (text[0] != '2' && text[0] != '4' && text[0] != '5')
		return 0;
	i = 2;
	if ((n = smtpc_digits(text, len, i, 3)) == 0)
		return 0;
	i += n;
	if (i >= len || text[i] != '.')
		return 0;
	i++;
	if ((n = smtpc_digits(text, len, i, 3)) == 0)
		return 0;
	i += n;
	if (i < len && text[i] != ' ')
		return 0;
	return i;
}

void
smtpc_reply_set(struct smtpc_reply *r, int code, const char *status,
    const char *text)
{
	r->code = code;
	str_lcpy(r->status, status != NULL ? status : "", sizeof(r->status));
	str_lcpy(r->text, text != NULL ? text : "", sizeof(r->text));
}

void
smtpc_reader_init(struct smtpc_reader *r)
{
	memset(&r->reply, 0, sizeof(r->reply));
	r->nlines = 0;
	r->text_len = 0;
	buf_init(&r->lines, SMTPC_LINES_TEXT_MAX);
}

void
smtpc_reader_fini(struct smtpc_reader *r)
{
	buf_fini(&r->lines);
}

void
smtpc_reader_reset(struct smtpc_reader *r)
{
	memset(&r->reply, 0, sizeof(r->reply));
	r->nlines = 0;
	r->text_len = 0;
	buf_reset(&r->lines);
}

/* Append text to the joined reply text: a space between lines, control
 * bytes as '?', cut at the size of the field. */
static void
smtpc_reader_join(struct smtpc_reader *r, const char *text, size_t len)
{
	char *dst = r->reply.text;
	size_t cap = sizeof(r->reply.text) - 1, i;

	if (len == 0)
		return;
	if (r->text_len > 0 && r->text_len < cap)
		dst[r->text_len++] = ' ';
	for (i = 0; i < len && r->text_len < cap; i++) {
		unsigned char c = (unsigned char)text[i];

		dst[r->text_len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[r->text_len] = '\0';
}

/* Copy at most 40 octets of line to dst (size 48) for a message. */
static void
smtpc_quote(char *dst, const char *line, size_t len)
{
	size_t i, n = len < 40 ? len : 40;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];

		dst[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	dst[n] = '\0';
}

/* Keep one line's text, sanitised, for the EHLO keywords. */
static void
smtpc_reader_keep(struct smtpc_reader *r, const char *text, size_t len)
{
	size_t i;

	if (r->lines.len + len + 1 > SMTPC_LINES_TEXT_MAX)
		return;
	if (buf_reserve(&r->lines, len + 1) == -1)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		r->lines.data[r->lines.len++] = c < 0x20 || c == 0x7f ? '?' :
		    (char)c;
	}
	r->lines.data[r->lines.len++] = '\n';
	r->lines.data[r->lines.len] = '\0';
}

int
smtpc_reader_feed(struct smtpc_reader *r, const char *line, size_t len,
    struct errbuf *eb)
{
	char quoted[48];
	size_t off, st;
	bool more;
	int code;

	if (smtpc_parse_reply_line(line, len, &code, &more, &off) == -1) {
		smtpc_quote(quoted, line, len);
		return errbuf_set(eb, "malformed reply line \"%s\"", quoted);
	}
	if (r->nlines > 0 && code != r->reply.code)
		return errbuf_set(eb, "reply code changed from %d to %d "
		    "within one reply", r->reply.code, code);
	if (++r->nlines > SMTPC_REPLY_LINES_MAX)
		return errbuf_set(eb, "reply longer than %d lines",
		    SMTPC_REPLY_LINES_MAX);
	r->reply.code = code;
	line += off;
	len -= off;
	/* A reply too big for the bound just loses its tail lines. */
	smtpc_reader_keep(r, line, len);
	if ((st = smtpc_enhanced_status(line, len, code)) > 0) {
		if (r->reply.status[0] == '\0' && st < sizeof(r->reply.status))
			memcpy(r->reply.status, line, st);
		line += st;
		len -= st;
		while (len > 0 && *line == ' ')
			line++, len--;
	}
	smtpc_reader_join(r, line, len);
	return more ? 0 : 1;
}

/* ---------------------------------------------------------- EHLO */

/* Is the keyword at p[0..n) the given name? */
static bool
smtpc_kw(const char *p, size_t n, const char *name)
{
	return n == strlen(name) && str_ieq_n(p, name, n);
}


/* Is the word w[0..n) already in the space-separated list? */
static bool
smtpc_listed(const char *list, const char *w, size_t n)
{
	const char *p = list;

	while (*p != '\0') {
		size_t k = strcspn(p, " ");

		if (k == n && str_ieq_n(p, w, n))
			return true;
		p += k;
		while (*p == ' ')
			p++;
	}
	return false;
}

/* Add the mechanisms listed in p[0..len) (space separated). */
static void
smtpc_caps_auth(struct smtpc_caps *c, const char *p, size_t len)
{
	size_t i = 0, j, used;

	c->auth = true;
	while (i < len) {
		while (i < len && p[i] == ' ')
			i++;
		for (j = i; j < len && p[j] != ' '; j++)
			;
		if (j == i)
			break;
		c->auth_mechs |= smtpc_auth_mech_bit(p + i, j - i);
		used = strlen(c->auth_list);
		/* One copy of each name, for "offered: ..." messages. */
		if (!smtpc_listed(c->auth_list, p + i, j - i) &&
		    used + (j - i) + 2 < sizeof(c->auth_list)) {
			if (used > 0)
				c->auth_list[used++] = ' ';
			memcpy(c->auth_list + used, p + i, j - i);
			c->auth_list[used + (j - i)] = '\0';
		}
		i = j;
	}
}

/* "SIZE 35882577": the limit, 0 when absent or not a number. */
static uint64_t
smtpc_caps_size(const char *p, size_t len)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < len && p[i] == ' ')
		i++;
	for (; i < len && smtpc_is_digit(p[i]); i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return i == len ? v : 0;
}

/* One capability line: keyword, then parameters after a space (or, for
 * the pre-standard "AUTH=LOGIN PLAIN", after '='). */
static void
smtpc_caps_line(struct smtpc_caps *c, const char *p, size_t len)
{
	size_t k = 0;

	while (k < len && p[k] != ' ' && p[k] != '=')
		k++;
	if (smtpc_kw(p, k, "AUTH")) {
		if (k < len)
			smtpc_caps_auth(c, p + k + 1, len - k - 1);
		else
			c->auth = true;
		return;
	}
	if (k < len && p[k] == '=')
		return;
	if (smtpc_kw(p, k, "PIPELINING"))
		c->pipelining = true;
	else if (smtpc_kw(p, k, "SIZE")) {
		c->size = true;
		c->size_max = smtpc_caps_size(p + k, len - k);
	} else if (smtpc_kw(p, k, "8BITMIME"))
		c->eightbitmime = true;
	else if (smtpc_kw(p, k, "SMTPUTF8"))
		c->smtputf8 = true;
	else if (smtpc_kw(p, k, "DSN"))
		c->dsn = true;
	else if (smtpc_kw(p, k, "ENHANCEDSTATUSCODES"))
		c->enhanced = true;
	else if (smtpc_kw(p, k, "STARTTLS"))
		c->starttls = true;
	else if (smtpc_kw(p, k, "REQUIRETLS"))
		c->requiretls = true;
	/* CHUNKING, HELP, VRFY...: we do not use them. */
}

void
smtpc_caps_parse(struct smtpc_caps *c, const char *lines, size_t len)
{
	const char *p = lines, *end = lines + len, *nl;
	bool first = true;

	memset(c, 0, sizeof(*c));
	c->esmtp = true;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (!first)
			smtpc_caps_line(c, p, (size_t)(nl - p));
		first = false;
		p = nl + 1;
	}
}

/* ---------------------------------------------------------- commands */

bool
smtpc_addr_ok(const char *addr, bool utf8)
{
	const unsigned char *p = (const unsigned char *)addr;
	size_t n = 0;

	for (; *p != '\0'; p++, n++) {
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
		if (*p >= 0x80 && !utf8)
			return false;
	}
	return n <= 512 && (!utf8 || str_utf8_valid(addr, n));
}

int
smtpc_xtext(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		int rc;

		/* RFC 3461 4: "!" to "~" except "+" and "=" as is. */
		if (*p >= 33 && *p <= 126 && *p != '+' && *p != '=')
			rc = buf_putc(out, *p);
		else
			rc = buf_printf(out, "+%02X", *p);
		if (rc == -1)
			return -1;
	}
	return 0;
}

int
smtpc_cmd_mail(struct buf *out, const struct smtpc_msg *msg,
    const struct smtpc_caps *caps)
{
	int rc = buf_printf(out, "MAIL FROM:<%s>", msg->sender);

	if (caps->size && msg->size > 0)
		rc |= buf_printf(out, " SIZE=%" PRIu64, msg->size);
	/* Without 8BITMIME the body goes as it is (RFC 6152 leaves
	 * downgrading to us; most servers take 8-bit data anyway). */
	if (msg->body_8bit && caps->eightbitmime)
		rc |= buf_puts(out, " BODY=8BITMIME");
	if (msg->smtputf8)
		rc |= buf_puts(out, " SMTPUTF8");
	if (caps->dsn && msg->ret == ENVELOPE_RET_FULL)
		rc |= buf_puts(out, " RET=FULL");
	else if (caps->dsn && msg->ret == ENVELOPE_RET_HDRS)
		rc |= buf_puts(out, " RET=HDRS");
	if (caps->dsn && msg->envid != NULL && msg->envid[0] != '\0') {
		rc |= buf_puts(out, " ENVID=");
		rc |= smtpc_xtext(out, msg->envid);
	}
	/* RFC 8689: only for messages that asked for it, never merely
	 * because the server offers it. */
	if (msg->requiretls)
		rc |= buf_puts(out, " REQUIRETLS");
	rc |= buf_puts(out, "\r\n");
	return rc == 0 ? 0 : -1;
}

/* " NOTIFY=SUCCESS,FAILURE": NEVER stands alone (RFC 3461 4.1). */
static int
smtpc_cmd_notify(struct buf *out, unsigned notify)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ ENVELOPE_NOTIFY_SUCCESS, "SUCCESS" },
		{ ENVELOPE_NOTIFY_FAILURE, "FAILURE" },
		{ ENVELOPE_NOTIFY_DELAY, "DELAY" },
	};
	const char *sep = " NOTIFY=";
	size_t i;
	int rc = 0;

	if (notify & ENVELOPE_NOTIFY_NEVER)
		return buf_puts(out, " NOTIFY=NEVER");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (notify & names[i].bit) {
			rc |= buf_printf(out, "%s%s", sep, names[i].name);
			sep = ",";
		}
	}
	return rc;
}

int
smtpc_cmd_rcpt(struct buf *out, const struct smtpc_rcpt *rcpt,
    const struct smtpc_caps *caps)
{
	const char *semi;
	int rc = buf_printf(out, "RCPT TO:<%s>", rcpt->addr);

	if (caps->dsn && rcpt->notify != 0)
		rc |= smtpc_cmd_notify(out, rcpt->notify);
	/* ORCPT=type;xtext(address): the type is an atom, sent as is. */
	if (caps->dsn && rcpt->orcpt != NULL &&
	    (semi = strchr(rcpt->orcpt, ';')) != NULL &&
	    semi > rcpt->orcpt && semi[1] != '\0') {
		rc |= buf_printf(out, " ORCPT=%.*s;",
		    (int)(semi - rcpt->orcpt), rcpt->orcpt);
		rc |= smtpc_xtext(out, semi + 1);
	}
	rc |= buf_puts(out, "\r\n");
	return rc == 0 ? 0 : -1;
}

/* ---------------------------------------------------------- DATA */

void
smtpc_data_init(struct smtpc_data *d)
{
	d->col = 0;
	d->cr = false;
}

/* Octets the UTF-8 sequence led by c needs (1 for anything else). */
static size_t
smtpc_utf8_need(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

static bool
smtpc_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Where to end the segment line[pos..] of a header line when at most
 * room octets fit: before the last white space that leaves a non-blank
 * segment, or 0 when there is none. */
static size_t
smtpc_fold_point(const char *line, size_t pos, size_t room)
{
	size_t i, first = pos;

	while (first < pos + room && smtpc_wsp(line[first]))
		first++;
	for (i = pos + room; i > first; i--)
		if (smtpc_wsp(line[i]))
			return i;
	return 0;
}

/* Where to cut line[pos..] hard so that room octets fit, backing off so
 * no UTF-8 sequence is split (its continuation bytes stay together). */
static size_t
smtpc_cut_point(const char *line, size_t pos, size_t room)
{
	size_t cut = pos + room;

	while (cut > pos + 1 && ((unsigned char)line[cut] & 0xc0) == 0x80)
		cut--;
	return cut;
}

/* One header line (no line end) to out, folded to fit. */
static size_t
smtpc_data_head_line(const char *line, size_t n, char *out)
{
	size_t o = 0, pos = 0, col = 0, end, room;

	if (n > 0 && line[0] == '.') {
		out[o++] = '.';
		col = 1;
	}
	while (n - pos > SMTPC_DATA_LINE_MAX - col) {
		room = SMTPC_DATA_LINE_MAX - col;
		if ((end = smtpc_fold_point(line, pos, room)) > pos) {
			memcpy(out + o, line + pos, end - pos);
			o += end - pos;
			memcpy(out + o, "\r\n", 2);
			o += 2;
			col = 0;
		} else {
			end = smtpc_cut_point(line, pos, room);
			memcpy(out + o, line + pos, end - pos);
			o += end - pos;
			memcpy(out + o, "\r\n ", 3);
			o += 3;
			col = 1;
		}
		pos = end;
	}
	memcpy(out + o, line + pos, n - pos);
	o += n - pos;
	memcpy(out + o, "\r\n", 2);
	return o + 2;
}

size_t
smtpc_data_head(struct smtpc_data *d, const char *in, size_t len, char *out)
{
	size_t o = 0, start = 0, i;

	for (i = 0; i < len; i++) {
		if (in[i] != '\r' && in[i] != '\n')
			continue;
		o += smtpc_data_head_line(in + start, i - start, out + o);
		if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	/* A last line without its line end still gets one: the body must
	 * start on a line of its own. */
	if (start < len)
		o += smtpc_data_head_line(in + start, len - start, out + o);
	d->col = 0;
	d->cr = len > 0 && in[len - 1] == '\r';
	return o;
}

size_t
smtpc_data_body(struct smtpc_data *d, const char *in, size_t len, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (d->cr && c == '\n') {
			d->cr = false;
			continue;
		}
		d->cr = c == '\r';
		if (c == '\r' || c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			d->col = 0;
			continue;
		}
		if (d->col + smtpc_utf8_need(c) > SMTPC_DATA_LINE_MAX) {
			/* The continuation starts with a space, so it is
			 * never a '.' line. */
			memcpy(out + o, "\r\n ", 3);
			o += 3;
			d->col = 1;
		} else if (d->col == 0 && c == '.') {
			out[o++] = '.';
			d->col++;
		}
		out[o++] = (char)c;
		d->col++;
	}
	return o;
}

size_t
smtpc_data_end(struct smtpc_data *d, char *out)
{
	size_t o = 0;

	if (d->col > 0) {
		memcpy(out, "\r\n", 2);
		o = 2;
	}
	memcpy(out + o, ".\r\n", 3);
	d->col = 0;
	d->cr = false;
	return o + 3;
}

/* ---------------------------------------------------------- names */

const char *
smtpc_stage_name(enum smtpc_stage stage)
{
	switch (stage) {
	case SMTPC_STAGE_NONE:
		return "none";
	case SMTPC_STAGE_CONNECT:
		return "connect";
	case SMTPC_STAGE_TLS:
		return "TLS";
	case SMTPC_STAGE_GREETING:
		return "greeting";
	case SMTPC_STAGE_EHLO:
		return "EHLO";
	case SMTPC_STAGE_STARTTLS:
		return "STARTTLS";
	case SMTPC_STAGE_AUTH:
		return "AUTH";
	case SMTPC_STAGE_MAIL:
		return "MAIL FROM";
	case SMTPC_STAGE_RCPT:
		return "RCPT TO";
	case SMTPC_STAGE_DATA:
		return "DATA";
	case SMTPC_STAGE_DOT:
		return "end of data";
	case SMTPC_STAGE_IO:
		return "I/O";
	}
	return "unknown";
}

int
smtpc_as_sent(const char *head, size_t head_len, const char *body,
    size_t body_len, struct buf *out)
{
	struct smtpc_data d;
	size_t n, i, o;
	bool bol = true;
	char *p;

	if (buf_reserve(out, SMTPC_DATA_MAX(head_len) +
	    SMTPC_DATA_MAX(body_len)) < 0)
		return -1;
	p = out->data + out->len;
	smtpc_data_init(&d);
	n = smtpc_data_head(&d, head, head_len, p);
	n += smtpc_data_body(&d, body, body_len, p + n);
	/* Undo the dot-stuffing: the encoder doubled exactly the '.' that
	 * starts a line, and the receiver takes one away again.  Every CR
	 * the encoder wrote is part of a CRLF: LF alone is kept. */
	for (i = 0, o = 0; i < n; i++) {
		if (p[i] == '\r')
			continue;
		if (bol && p[i] == '.') {
			bol = false;
			continue;
		}
		bol = p[i] == '\n';
		p[o++] = p[i];
	}
	/* The encoder's end ends an unfinished last line. */
	if (o > 0 && p[o - 1] != '\n')
		p[o++] = '\n';
	out->len += o;
	out->data[out->len] = '\0';
	return 0;
}
