/*
 * rfc2047: MIME encoded words (see rfc2047.h).
 *
 * This module owns the translation between RFC 2047 encoded words and
 * UTF-8.  Invariants:
 *  - decoding reads only text[0..len): the input is never assumed to be
 *    NUL-terminated, and every scan checks the bound before the byte;
 *  - output grows only through struct buf, so out's limit bounds memory;
 *  - a word that fails at any stage (syntax, base64/Q, charset) is
 *    copied verbatim, so decoding never loses text;
 *  - decoded text holds no ASCII control characters (they become
 *    spaces): it ends up in C strings and header fields, where NUL would
 *    truncate and CR/LF would inject header lines;
 *  - encoding emits only UTF-8 words of at most 75 characters on lines
 *    of at most 78 columns and never splits a UTF-8 sequence, so every
 *    word decodes on its own.
 * Adjacent words in the same charset are joined before conversion:
 * broken encoders split multibyte characters across words, and joining
 * costs nothing for correct ones.  The only state kept between calls is
 * one cached iconv descriptor per thread (see rfc2047_iconv_get).
 */
#include "autoconf.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "rfc2047.h"
#include "str.h"

#define RFC2047_CHARSET_MAX 64
#define RFC2047_WORD_MAX 75
#define RFC2047_LINE_MAX 78
#define RFC2047_OVERHEAD 12 /* "=?UTF-8?B?" and "?=" */

/* One syntactically valid encoded word. */
struct rfc2047_word {
	size_t end; /* offset just past "?=" */
	char charset[RFC2047_CHARSET_MAX]; /* without the *lang suffix */
	int enc; /* 'B' or 'Q' */
	const char *data;
	size_t dlen;
};

/* Adjacent words in one charset, decoded to octets but not converted. */
struct rfc2047_run {
	bool active;
	size_t start, end; /* source span, for the verbatim fallback */
	char charset[RFC2047_CHARSET_MAX];
	struct buf bytes;
	bool has_ws; /* white space between the previous run and this */
	size_t ws_start, ws_end;
	bool prev_ok; /* the previous run converted */
};

struct rfc2047_dec {
	const char *text;
	size_t len;
	struct buf *out;
	struct rfc2047_run run;
	struct buf conv; /* conversion result before it is committed */
	bool ws_pending; /* white space seen after the active run */
	size_t ws_start, ws_end;
};

/* RFC 2047 "token": printable ASCII except especials. */
static bool
rfc2047_token_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("()<>@,;:\"/[]?.=", c) == NULL;
}

/* Parse "=?charset?enc?data?=" at text[i]; false when it is not one. */
static bool
rfc2047_parse_word(const char *text, size_t len, size_t i,
    struct rfc2047_word *w)
{
	size_t p = i + 2, cs = p, cslen;
	const char *star;

	if (len - i < 2 || text[i] != '=' || text[i + 1] != '?')
		return false;
	while (p < len && rfc2047_token_char((unsigned char)text[p]))
		p++;
	if (p == cs || p >= len || text[p] != '?')
		return false;
	cslen = p - cs;
	if ((star = memchr(text + cs, '*', cslen)) != NULL)
		cslen = (size_t)(star - (text + cs));
	if (cslen == 0 || cslen >= sizeof(w->charset))
		return false;
	memcpy(w->charset, text + cs, cslen);
	w->charset[cslen] = '\0';
	if (len - p < 3 || text[p + 2] != '?')
		return false;
	w->enc = text[p + 1] & ~0x20;
	if (w->enc != 'B' && w->enc != 'Q')
		return false;
	w->data = text + p + 3;
	for (p += 3; p < len && text[p] != '?'; p++)
		if ((unsigned char)text[p] <= 0x20 ||
		    (unsigned char)text[p] >= 0x7f)
			return false;
	if (len - p < 2 || text[p + 1] != '=')
		return false;
	w->dlen = (size_t)(text + p - w->data);
	w->end = p + 2;
	return true;
}

/* Base64 to octets.  Returns 0, 1 when malformed, -1 when out fails.
 * Missing padding is accepted: some encoders omit it. */
static int
rfc2047_b_decode(const char *s, size_t n, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0, v;
	size_t i;

	for (i = 0; i < n && s[i] != '='; i++) {
		if ((v = str_b64val((unsigned char)s[i])) < 0)
			return 1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_putc(out, (int)(acc >> bits) & 0xff) == -1)
				return -1;
			acc &= (1u << bits) - 1;
		}
	}
	for (; i < n; i++)
		if (s[i] != '=')
			return 1;
	return bits >= 6 ? 1 : 0;
}

/* Q to octets.  Returns 0, 1 when malformed, -1 when out fails. */
static int
rfc2047_q_decode(const char *s, size_t n, struct buf *out)
{
	size_t i;
	int c, hi, lo;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=') {
			if (n - i < 3)
				return 1;
			hi = str_hexval((unsigned char)s[i + 1]);
			lo = str_hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				return 1;
			c = hi << 4 | lo;
			i += 2;
		}
		if (buf_putc(out, c) == -1)
			return -1;
	}
	return 0;
}

/* Append UTF-8 with ASCII controls turned into spaces.  Safe on chunks
 * split anywhere: control bytes are never part of a multibyte char. */
static int
rfc2047_put_clean(struct buf *out, const char *p, size_t n)
{
	size_t i, from = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)p[i] >= 0x20 && p[i] != 0x7f)
			continue;
		if (buf_append(out, p + from, i - from) == -1 ||
		    buf_putc(out, ' ') == -1)
			return -1;
		from = i + 1;
	}
	return buf_append(out, p + from, n - from);
}

/* Labels that name a subset of what glibc knows under a wider name:
 * mail labelled gb2312 is routinely GBK, and GB18030 decodes both. */
static const char *
rfc2047_iconv_name(const char *charset)
{
	static const char *const map[][2] = {
		{ "gb2312", "GB18030" },
		{ "gbk", "GB18030" },
		{ "x-gbk", "GB18030" },
		{ "cp936", "GB18030" },
		{ "euc-cn", "GB18030" },
		{ "ks_c_5601-1987", "CP949" },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(charset, map[i][0]) == 0)
			return map[i][1];
	return charset;
}

/*
 * The descriptor for a charset.  iconv_open costs far more than
 * converting a display name, and a header (10,000 recipients named in
 * GB2312, say) tends to use one charset throughout, so the last one is
 * kept, failures included; per thread, so that callers need no lock.
 */
static iconv_t
rfc2047_iconv_get(const char *charset)
{
	static _Thread_local struct rfc2047_cd {
		char name[RFC2047_CHARSET_MAX];
		iconv_t cd;
		bool valid;
	} rfc2047_cache;
	struct rfc2047_cd *c = &rfc2047_cache;
	const char *name = rfc2047_iconv_name(charset);
	iconv_t cd;

	if (c->valid && strcasecmp(c->name, name) == 0) {
		if (c->cd != (iconv_t)-1)
			iconv(c->cd, NULL, NULL, NULL, NULL); /* reset state */
		return c->cd;
	}
	cd = iconv_open("UTF-8", name);
	if (c->valid && c->cd != (iconv_t)-1)
		iconv_close(c->cd);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->cd = cd;
	c->valid = true;
	return cd;
}

/* iconv n octets into out.  Returns 0, 1 when the charset is unknown
 * or the octets are not valid in it, -1 when out fails. */
static int
rfc2047_iconv(const char *charset, const char *p, size_t n, struct buf *out)
{
	char chunk[1024], *in = (char *)p, *o;
	size_t inleft = n, oleft, r;
	bool flushing = false;
	iconv_t cd;
	int rc = 0, e;

	if ((cd = rfc2047_iconv_get(charset)) == (iconv_t)-1)
		return 1;
	for (;;) {
		o = chunk;
		oleft = sizeof(chunk);
		if (flushing)
			r = iconv(cd, NULL, NULL, &o, &oleft);
		else
			r = iconv(cd, &in, &inleft, &o, &oleft);
		e = errno;
		if (rfc2047_put_clean(out, chunk, (size_t)(o - chunk)) == -1) {
			rc = -1;
			break;
		}
		if (r != (size_t)-1) {
			if (flushing)
				break;
			flushing = true;
		} else if (e != E2BIG) {
			rc = 1;
			break;
		}
	}
	return rc;
}

int
rfc2047_to_utf8(const char *charset, const char *p, size_t n,
    struct buf *out)
{
	/*
	 * The common charsets need no iconv_open, which is not cheap.
	 * 8-bit text labelled US-ASCII is nearly always UTF-8: accept it
	 * when it is valid UTF-8 rather than showing the raw word.
	 */
	if (strcasecmp(charset, "UTF-8") == 0 ||
	    strcasecmp(charset, "UTF8") == 0 ||
	    strcasecmp(charset, "US-ASCII") == 0 ||
	    strcasecmp(charset, "ASCII") == 0) {
		if (!str_utf8_valid(p, n))
			return 1;
		return rfc2047_put_clean(out, p, n);
	}
	return rfc2047_iconv(charset, p, n, out);
}

/* Convert octets in charset to clean UTF-8 in out (reset first). */
static int
rfc2047_convert(const char *charset, const struct buf *bytes,
    struct buf *out)
{
	buf_reset(out);
	return rfc2047_to_utf8(charset, bytes->data != NULL ? bytes->data : "",
	    bytes->len, out);
}

/* Commit the active run: its converted text, or its source verbatim.
 * The white space before it is dropped only between two converted runs,
 * so a word kept verbatim stays a separate word. */
static int
rfc2047_flush_run(struct rfc2047_dec *d, bool *ok)
{
	struct rfc2047_run *r = &d->run;
	int rc;

	r->active = false;
	if ((rc = rfc2047_convert(r->charset, &r->bytes, &d->conv)) == -1)
		return -1;
	*ok = rc == 0;
	if (r->has_ws && !(r->prev_ok && *ok) &&
	    buf_append(d->out, d->text + r->ws_start,
	    r->ws_end - r->ws_start) == -1)
		return -1;
	if (*ok)
		return buf_append(d->out, d->conv.data, d->conv.len);
	return buf_append(d->out, d->text + r->start, r->end - r->start);
}

/* Commit the active run and the white space after it. */
static int
rfc2047_flush_all(struct rfc2047_dec *d)
{
	bool ok;

	if (d->run.active && rfc2047_flush_run(d, &ok) == -1)
		return -1;
	if (!d->ws_pending)
		return 0;
	d->ws_pending = false;
	return buf_append(d->out, d->text + d->ws_start,
	    d->ws_end - d->ws_start);
}

/* Add a decoded word: it extends the active run when the charset is
 * the same, otherwise the active run is committed and a new one begins
 * (remembering the white space between them). */
static int
rfc2047_take_word(struct rfc2047_dec *d, const struct rfc2047_word *w,
    size_t start, const struct buf *octets)
{
	struct rfc2047_run *r = &d->run;
	bool ok = false;

	if (r->active && strcasecmp(r->charset, w->charset) == 0) {
		r->end = w->end;
		d->ws_pending = false;
		return buf_append(&r->bytes, octets->data, octets->len);
	}
	if (r->active && rfc2047_flush_run(d, &ok) == -1)
		return -1;
	/* Only white space can separate the run just flushed from this
	 * word: anything else would have flushed it already. */
	r->has_ws = d->ws_pending;
	r->ws_start = d->ws_start;
	r->ws_end = d->ws_end;
	d->ws_pending = false;
	r->prev_ok = ok;
	r->active = true;
	r->start = start;
	r->end = w->end;
	memcpy(r->charset, w->charset, sizeof(r->charset));
	buf_reset(&r->bytes);
	return buf_append(&r->bytes, octets->data, octets->len);
}

/* Parse and B/Q-decode the word at i into octets.  Returns 0 for a
 * word, 1 when there is none (or it is malformed), -1 when out fails. */
static int
rfc2047_try_word(struct rfc2047_dec *d, size_t i, struct rfc2047_word *w,
    struct buf *octets)
{
	if (d->text[i] != '=' || !rfc2047_parse_word(d->text, d->len, i, w))
		return 1;
	buf_reset(octets);
	if (w->enc == 'B')
		return rfc2047_b_decode(w->data, w->dlen, octets);
	return rfc2047_q_decode(w->data, w->dlen, octets);
}

static bool
rfc2047_is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
rfc2047_decode_loop(struct rfc2047_dec *d, struct buf *octets)
{
	struct rfc2047_word w;
	size_t i = 0, j;
	int rc;

	while (i < d->len) {
		if ((rc = rfc2047_try_word(d, i, &w, octets)) == -1)
			return -1;
		if (rc == 0) {
			if (rfc2047_take_word(d, &w, i, octets) == -1)
				return -1;
			i = w.end;
			continue;
		}
		if (d->run.active && !d->ws_pending &&
		    rfc2047_is_lws(d->text[i])) {
			for (j = i; j < d->len && rfc2047_is_lws(d->text[j]);)
				j++;
			d->ws_pending = true;
			d->ws_start = i;
			d->ws_end = i = j;
			continue;
		}
		if (rfc2047_flush_all(d) == -1)
			return -1;
		for (j = i + 1; j < d->len && d->text[j] != '=';)
			j++;
		if (buf_append(d->out, d->text + i, j - i) == -1)
			return -1;
		i = j;
	}
	return rfc2047_flush_all(d);
}

int
rfc2047_decode(const char *text, size_t len, struct buf *out)
{
	struct rfc2047_dec d;
	struct buf octets;
	int rc;

	memset(&d, 0, sizeof(d));
	d.text = text;
	d.len = len;
	d.out = out;
	buf_init(&d.run.bytes, 0);
	buf_init(&d.conv, 0);
	buf_init(&octets, 0);
	/* An empty result must still be a valid C string. */
	rc = buf_append(out, "", 0);
	if (rc == 0)
		rc = rfc2047_decode_loop(&d, &octets);
	buf_fini(&d.run.bytes);
	buf_fini(&d.conv);
	buf_fini(&octets);
	return rc;
}

/* ---------------------------------------------------------------- encode */

/* Characters that may stand for themselves in a Q word in a phrase
 * (RFC 2047 section 5 (3)), the strictest of the three contexts. */
static bool
rfc2047_q_safe(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t
rfc2047_q_cost(const unsigned char *s, size_t n)
{
	size_t i, cost = 0;

	for (i = 0; i < n; i++)
		cost += rfc2047_q_safe(s[i]) || s[i] == ' ' ? 1 : 3;
	return cost;
}

static size_t
rfc2047_b_cost(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Bytes of the character at s; a malformed byte counts as one so that
 * invalid input is still encoded (as the octets it is). */
static size_t
rfc2047_char_len(const unsigned char *s, size_t n)
{
	size_t l = str_utf8_len(s, n);

	return l == 0 ? 1 : l;
}

/* How many bytes of s, in whole characters, fit in room encoded text
 * characters. */
static size_t
rfc2047_chunk(const unsigned char *s, size_t n, int enc, size_t room)
{
	size_t take = 0, used = 0, cl, cost;

	while (take < n) {
		cl = rfc2047_char_len(s + take, n - take);
		if (enc == 'B')
			cost = rfc2047_b_cost(take + cl);
		else
			cost = used + rfc2047_q_cost(s + take, cl);
		if (cost > room)
			break;
		take += cl;
		used = cost;
	}
	return take;
}

static int
rfc2047_put_b(struct buf *out, const unsigned char *s, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	uint32_t v;
	size_t i, k;

	if (buf_puts(out, "=?UTF-8?B?") == -1)
		return -1;
	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (uint32_t)s[i] << 16;
		if (k > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (k > 2)
			v |= s[i + 2];
		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = k > 1 ? b64[v >> 6 & 63] : '=';
		q[3] = k > 2 ? b64[v & 63] : '=';
		if (buf_append(out, q, 4) == -1)
			return -1;
	}
	return buf_puts(out, "?=");
}

static int
rfc2047_put_q(struct buf *out, const unsigned char *s, size_t n)
{
	size_t i;
	int rc = buf_puts(out, "=?UTF-8?Q?");

	for (i = 0; i < n && rc == 0; i++) {
		if (rfc2047_q_safe(s[i]))
			rc = buf_putc(out, s[i]);
		else if (s[i] == ' ')
			rc = buf_putc(out, '_');
		else
			rc = buf_printf(out, "=%02X", s[i]);
	}
	return rc == 0 ? buf_puts(out, "?=") : -1;
}

/* Encoded text characters that fit in a word starting at column col. */
static size_t
rfc2047_room(size_t col)
{
	size_t cap = RFC2047_WORD_MAX;

	if (col >= RFC2047_LINE_MAX)
		return 0;
	if (RFC2047_LINE_MAX - col < cap)
		cap = RFC2047_LINE_MAX - col;
	return cap > RFC2047_OVERHEAD ? cap - RFC2047_OVERHEAD : 0;
}

/* Printable ASCII that would not be mistaken for an encoded word. */
static bool
rfc2047_is_plain(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || (p[0] == '=' && p[1] == '?'))
			return false;
	return true;
}

/* Encode all of s as words, folding before each word but the first. */
static int
rfc2047_put_words(const char *utf8, size_t first_col, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t n = strlen(utf8), i = 0, col = first_col, take, before;
	int enc, rc;

	enc = rfc2047_b_cost(n) < rfc2047_q_cost(s, n) ? 'B' : 'Q';
	while (i < n) {
		if (i > 0) {
			if (buf_puts(out, "\n ") == -1)
				return -1;
			col = 1;
		}
		take = rfc2047_chunk(s + i, n - i, enc, rfc2047_room(col));
		if (take == 0) {
			/* Only the first word can lack room: the field
			 * name is long.  Start it on a line of its own. */
			if (buf_puts(out, "\n ") == -1)
				return -1;
			col = 1;
			take = rfc2047_chunk(s + i, n - i, enc,
			    rfc2047_room(col));
		}
		before = out->len;
		if (enc == 'B')
			rc = rfc2047_put_b(out, s + i, take);
		else
			rc = rfc2047_put_q(out, s + i, take);
		if (rc == -1)
			return -1;
		col += out->len - before;
		i += take;
	}
	return 0;
}

int
rfc2047_encode(const char *utf8, size_t first_col, struct buf *out)
{
	if (buf_append(out, "", 0) == -1)
		return -1;
	if (rfc2047_is_plain(utf8))
		return buf_puts(out, utf8);
	return rfc2047_put_words(utf8, first_col, out);
}

static bool
rfc2047_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Atoms separated by single spaces: a phrase that needs no quoting and
 * that parses back to exactly the same text. */
static bool
rfc2047_is_atoms(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p == '\0' || *p == ' ')
		return false;
	for (; *p != '\0'; p++) {
		if (*p == ' ' && (p[1] == ' ' || p[1] == '\0'))
			return false;
		if (*p != ' ' && !rfc2047_is_atext(*p))
			return false;
	}
	return true;
}

int
rfc2047_encode_phrase(const char *utf8, size_t first_col, struct buf *out)
{
	const char *p;

	if (buf_append(out, "", 0) == -1)
		return -1;
	if (!rfc2047_is_plain(utf8))
		return rfc2047_put_words(utf8, first_col, out);
	if (rfc2047_is_atoms(utf8))
		return buf_puts(out, utf8);
	if (buf_putc(out, '"') == -1)
		return -1;
	for (p = utf8; *p != '\0'; p++) {
		if ((*p == '"' || *p == '\\') && buf_putc(out, '\\') == -1)
			return -1;
		if (buf_putc(out, *p) == -1)
			return -1;
	}
	return buf_putc(out, '"');
}
