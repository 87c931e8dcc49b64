/*
 * bounce: compose delivery status notifications (see bounce.h).
 *
 * The module is pure: it turns a description of what happened into the
 * bytes of a report and never touches the queue, the clock or the
 * network, so the unit tests can compare whole messages.
 *
 * Everything copied from the input goes through bounce_clean first and
 * everything written as a header field through bounce_field, so no
 * input can end a line or add a field.  The report is written with
 * sticky errors: the first failed append is remembered, the remaining
 * writes do nothing, and bounce_compose undoes the partial output.
 *
 * Invariant that keeps the MIME structure sound: every line this module
 * writes starts with text of its own (a field name, a space, '<', or a
 * fixed sentence), so the only place a boundary delimiter could appear
 * by accident is the returned original, and bounce_boundary checks it.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bounce.h"
#include "envelope.h"
#include "header.h"
#include "str.h"

#define BOUNCE_FOLD_COL 78     /* header lines (RFC 5322 section 2.1.1) */
#define BOUNCE_WRAP_COL 76     /* lines of the explanation */
#define BOUNCE_VALUE_MAX 900   /* bytes kept of one input string */
#define BOUNCE_BOUNDARY_MAX 70 /* RFC 2046 section 5.1.1 */
#define BOUNCE_BOUNDARY_TRIES 1000
#define BOUNCE_DATE_SIZE 64

/* What the third part holds. */
enum bounce_ret_mode {
	BOUNCE_RET_NONE,
	BOUNCE_RET_MESSAGE,
	BOUNCE_RET_HEADERS,
};

/* Why the third part holds less than the whole message. */
enum bounce_ret_why {
	BOUNCE_WHY_NONE,
	BOUNCE_WHY_EMPTY,   /* there was no message */
	BOUNCE_WHY_ASKED,   /* RET=HDRS */
	BOUNCE_WHY_NOTICE,  /* not a failure: RFC 3461 section 4.3 */
	BOUNCE_WHY_TOO_BIG, /* larger than max_return */
};

struct bounce_state {
	const struct bounce_input *in;
	struct buf *out;
	struct buf tmp; /* a value being assembled */
	int errnum;     /* first append failure, 0 when none */
	bool utf8;      /* an address needs UTF-8 (RFC 6533) */
	enum bounce_ret_mode ret;
	enum bounce_ret_why why;
	const char *ret_text; /* the part of the original returned */
	size_t ret_len;
	bool ret_sep;       /* write the empty line the header lacked */
	size_t ret_sep_off; /* ... at this offset in ret_text */
	bool ret_cut;       /* the header section was cut to fit */
	bool ret_8bit;      /* ret_text holds bytes past ASCII */
	bool ret_global;    /* ... in its header section (RFC 6532) */
	char boundary[BOUNCE_BOUNDARY_MAX + 1];
};

/* What differs between the kinds of report, indexed by enum
 * bounce_kind. */
struct bounce_text {
	const char *subject;
	const char *action;  /* RFC 3464 section 2.3.3 */
	const char *status;  /* when the caller's is malformed */
	const char *verb;    /* for a recipient without a diagnostic */
	const char *desc[2]; /* the returned part: message, headers */
};

static const struct bounce_text bounce_texts[] = {
	{ "Undelivered Mail Returned to Sender", "failed", "5.0.0",
	    "delivery failed",
	    { "Undelivered Message", "Undelivered Message Headers" } },
	{ "Delayed Mail (still being retried)", "delayed", "4.0.0",
	    "delivery is delayed",
	    { "Delayed Message", "Delayed Message Headers" } },
	{ "Successful Mail Delivery Report", "relayed", "2.0.0", "relayed",
	    { "Relayed Message", "Relayed Message Headers" } },
};

/* Output: appends that remember their first failure. */

static void
bounce_put_to(struct bounce_state *st, struct buf *b, const void *p,
    size_t n)
{
	if (st->errnum == 0 && buf_append(b, p, n) == -1)
		st->errnum = errno != 0 ? errno : ENOMEM;
}

static void
bounce_put(struct bounce_state *st, const void *p, size_t n)
{
	bounce_put_to(st, st->out, p, n);
}

static void
bounce_puts(struct bounce_state *st, const char *s)
{
	bounce_put(st, s, strlen(s));
}

static void
bounce_tmp_puts(struct bounce_state *st, const char *s)
{
	bounce_put_to(st, &st->tmp, s, strlen(s));
}

/* Input checks. */

static bool
bounce_is_ascii(const char *s)
{
	return s == NULL || !str_has_8bit(s, strlen(s));
}

static bool
bounce_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* RFC 2046 bcharsnospace: digits, letters and '()+_,-./:=? */
static bool
bounce_boundary_char(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=?", c) != NULL;
}

static int
bounce_check_boundary(const char *b, struct errbuf *eb)
{
	size_t i, n = strlen(b);

	if (n == 0 || n > BOUNCE_BOUNDARY_MAX)
		return errbuf_set(eb, "MIME boundary must have 1 to %d "
		    "characters", BOUNCE_BOUNDARY_MAX);
	for (i = 0; i < n; i++)
		if (!bounce_boundary_char((unsigned char)b[i]))
			return errbuf_set(eb, "MIME boundary has a character "
			    "RFC 2046 does not allow");
	return 0;
}

static int
bounce_check_rcpts(const struct bounce_input *in, struct errbuf *eb)
{
	size_t i;

	if (in->nrcpts == 0 || in->rcpts == NULL)
		return errbuf_set(eb, "no recipients to report on");
	for (i = 0; i < in->nrcpts; i++)
		if (bounce_empty(in->rcpts[i].addr))
			return errbuf_set(eb, "recipient %zu has no address",
			    i + 1);
	return 0;
}

static int
bounce_check(const struct bounce_input *in, struct errbuf *eb)
{
	if ((unsigned)in->kind > BOUNCE_RELAYED)
		return errbuf_set(eb, "unknown report kind %d",
		    (int)in->kind);
	if (bounce_empty(in->reporting_mta) || bounce_empty(in->postmaster))
		return errbuf_set(eb, "no reporting host or postmaster");
	if (bounce_empty(in->queue_id))
		return errbuf_set(eb, "no queue id");
	if (bounce_empty(in->to))
		return errbuf_set(eb, "no recipient for the report (the "
		    "null sender gets none)");
	if (in->orig == NULL && in->orig_len > 0)
		return errbuf_set(eb, "original message missing");
	if (in->boundary == NULL)
		return errbuf_set(eb, "no MIME boundary");
	if (bounce_check_boundary(in->boundary, eb) == -1)
		return -1;
	return bounce_check_rcpts(in, eb);
}

/* Making input safe. */

/*
 * Append s to out cleaned for a header field or a line of text (see
 * bounce.h): control characters and white space runs become one space,
 * the ends are trimmed, bytes past ASCII survive only as valid UTF-8 in
 * a UTF-8 report.  The cut at BOUNCE_VALUE_MAX falls between
 * characters, never inside one.
 */
static void
bounce_clean(struct bounce_state *st, const char *s, struct buf *out)
{
	size_t i, len = strlen(s), start = out->len;
	bool keep8 = st->utf8 && str_utf8_valid(s, len), space = false;
	unsigned char c;
	char ch;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f) {
			space = true;
			continue;
		}
		/* Cut only where a character starts (when UTF-8 is kept,
		 * a valid string has at most three bytes after one). */
		if ((!keep8 || (c & 0xc0) != 0x80) &&
		    out->len - start >= BOUNCE_VALUE_MAX)
			break;
		if (space && out->len > start)
			bounce_put_to(st, out, " ", 1);
		space = false;
		ch = c >= 0x80 && !keep8 ? '?' : (char)c;
		bounce_put_to(st, out, &ch, 1);
	}
}

/* Start assembling a value in st->tmp. */
static void
bounce_tmp_start(struct bounce_state *st, const char *prefix)
{
	buf_reset(&st->tmp);
	bounce_tmp_puts(st, prefix);
}

static void
bounce_tmp_clean(struct bounce_state *st, const char *s)
{
	bounce_clean(st, s, &st->tmp);
}

/* The value assembled so far (the buffer has no memory until the first
 * byte). */
static const char *
bounce_tmp_text(const struct bounce_state *st)
{
	return st->tmp.data != NULL ? st->tmp.data : "";
}

/*
 * Append the clean text (words separated by single spaces) starting at
 * column col, breaking lines at its spaces so they end before column
 * width where the words allow; a broken line goes on after indent.  In
 * a header field indent is one space, so unfolding gives the value back
 * exactly (RFC 5322 section 2.2.3).
 */
static void
bounce_wrap(struct bounce_state *st, const char *text, size_t col,
    size_t width, const char *indent)
{
	const char *p = text, *sp;
	size_t n, ilen = strlen(indent);
	bool first = true;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (!first && col + 1 + n > width) {
			bounce_puts(st, "\n");
			bounce_puts(st, indent);
			col = ilen;
		} else if (!first) {
			bounce_puts(st, " ");
			col++;
		}
		bounce_put(st, p, n);
		col += n;
		first = false;
		p += n;
		if (*p == ' ')
			p++;
	}
}

/* Append the field "name: value", value being clean text. */
static void
bounce_field(struct bounce_state *st, const char *name, const char *value)
{
	bounce_puts(st, name);
	bounce_puts(st, ": ");
	bounce_wrap(st, value, strlen(name) + 2, BOUNCE_FOLD_COL, " ");
	bounce_puts(st, "\n");
}

/* Append a field whose value is prefix and then s cleaned. */
static void
bounce_field_clean(struct bounce_state *st, const char *name,
    const char *prefix, const char *s)
{
	bounce_tmp_start(st, prefix);
	bounce_tmp_clean(st, s);
	bounce_field(st, name, bounce_tmp_text(st));
}

static void
bounce_date(int64_t t, char *out)
{
	header_format_date((time_t)t, out, BOUNCE_DATE_SIZE);
}

static void
bounce_field_date(struct bounce_state *st, const char *name, int64_t t)
{
	char date[BOUNCE_DATE_SIZE];

	bounce_date(t, date);
	bounce_field(st, name, date);
}

/* What to return (RFC 3461 section 4.3). */

/* True when orig[0..head) ends with the empty line that ends a header
 * section. */
static bool
bounce_has_separator(const char *orig, size_t head)
{
	if (head == 0 || orig[head - 1] != '\n')
		return false;
	return head == 1 || orig[head - 2] == '\n';
}

/* Return the whole message, adding the empty line after the header
 * section when it is missing and a body follows, so the copy parses as
 * a message (a message without header fields starts with it). */
static void
bounce_plan_message(struct bounce_state *st, size_t head)
{
	const struct bounce_input *in = st->in;

	st->ret = BOUNCE_RET_MESSAGE;
	st->ret_text = in->orig;
	st->ret_len = in->orig_len;
	st->ret_sep = head < in->orig_len &&
	    !bounce_has_separator(in->orig, head);
	st->ret_sep_off = head;
	st->ret_8bit = str_has_8bit(in->orig, in->orig_len);
	st->ret_global = str_has_8bit(in->orig, head);
}

/* Return the header fields without their empty line, cut after the last
 * whole line that fits in max_return. */
static void
bounce_plan_headers(struct bounce_state *st, size_t head)
{
	const struct bounce_input *in = st->in;
	size_t len = head, max = in->max_return;

	if (bounce_has_separator(in->orig, head))
		len--;
	if (max != 0 && len > max) {
		st->ret_cut = true;
		len = max;
		while (len > 0 && in->orig[len - 1] != '\n')
			len--;
	}
	if (len == 0)
		return;
	st->ret = BOUNCE_RET_HEADERS;
	st->ret_text = in->orig;
	st->ret_len = len;
	st->ret_8bit = st->ret_global = str_has_8bit(in->orig, len);
}

static void
bounce_plan(struct bounce_state *st)
{
	const struct bounce_input *in = st->in;
	size_t head = in->orig_head_len, need;

	st->ret = BOUNCE_RET_NONE;
	if (in->orig_len == 0) {
		st->why = BOUNCE_WHY_EMPTY;
		return;
	}
	if (head > in->orig_len)
		head = in->orig_len;
	need = in->orig_len +
	    (head < in->orig_len && !bounce_has_separator(in->orig, head));
	if (in->kind != BOUNCE_FAILED)
		st->why = BOUNCE_WHY_NOTICE;
	else if (in->ret == ENVELOPE_RET_HDRS)
		st->why = BOUNCE_WHY_ASKED;
	else if (in->max_return != 0 && need > in->max_return)
		st->why = BOUNCE_WHY_TOO_BIG;
	else
		st->why = BOUNCE_WHY_NONE;
	if (st->why == BOUNCE_WHY_NONE)
		bounce_plan_message(st, head);
	else
		bounce_plan_headers(st, head);
}

/*
 * Pick the boundary: the caller's, unless the returned content holds it
 * (a sender who guessed it could otherwise end the report's parts from
 * inside the returned message); then the first "base=N" it lacks.
 */
static int
bounce_boundary(struct bounce_state *st, struct errbuf *eb)
{
	const char *base = st->in->boundary;
	char suffix[16];
	size_t n, keep;
	unsigned i;

	for (i = 0; i < BOUNCE_BOUNDARY_TRIES; i++) {
		suffix[0] = '\0';
		if (i > 0)
			snprintf(suffix, sizeof(suffix), "=%u", i);
		keep = BOUNCE_BOUNDARY_MAX - strlen(suffix);
		n = strlen(base) < keep ? strlen(base) : keep;
		snprintf(st->boundary, sizeof(st->boundary), "%.*s%s",
		    (int)n, base, suffix);
		if (st->ret_len == 0 || memmem(st->ret_text, st->ret_len,
		    st->boundary, strlen(st->boundary)) == NULL)
			return 0;
	}
	return errbuf_set(eb, "no MIME boundary absent from the message");
}

/* The UTF-8 form of RFC 6533 is needed when an address is not ASCII. */
static bool
bounce_need_utf8(const struct bounce_input *in)
{
	size_t i;

	if (!bounce_is_ascii(in->to))
		return true;
	for (i = 0; i < in->nrcpts; i++)
		if (!bounce_is_ascii(in->rcpts[i].addr) ||
		    !bounce_is_ascii(in->rcpts[i].orcpt))
			return true;
	return false;
}

static bool
bounce_eight_bit(const struct bounce_state *st)
{
	return st->utf8 || st->ret_8bit;
}

/* The header section. */

/* Append s with everything outside dot-atom-text replaced, for the
 * Message-ID. */
static void
bounce_put_atoms(struct bounce_state *st, const char *s)
{
	char c;

	for (; *s != '\0'; s++) {
		c = *s;
		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && strchr("!#$%&'*+-/=?^_`{|}~.",
		    c) == NULL)
			c = '_';
		bounce_put(st, &c, 1);
	}
}

static void
bounce_put_message_id(struct bounce_state *st)
{
	char stamp[32];
	time_t t = (time_t)st->in->now;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "%lld", (long long)t);
	bounce_puts(st, "Message-ID: <");
	bounce_puts(st, stamp);
	bounce_puts(st, ".");
	bounce_put_atoms(st, st->in->queue_id);
	bounce_puts(st, "@");
	bounce_put_atoms(st, st->in->reporting_mta);
	bounce_puts(st, ">\n");
}

static void
bounce_put_content_type(struct bounce_state *st)
{
	bounce_puts(st, "Content-Type: multipart/report; report-type=");
	bounce_puts(st, st->utf8 ? "global-delivery-status;\n"
				 : "delivery-status;\n");
	bounce_puts(st, "\tboundary=\"");
	bounce_puts(st, st->boundary);
	bounce_puts(st, "\"\n");
}

static void
bounce_put_header(struct bounce_state *st)
{
	const struct bounce_input *in = st->in;

	bounce_tmp_start(st, "Mail Delivery System <");
	bounce_tmp_clean(st, in->postmaster);
	bounce_tmp_puts(st, ">");
	bounce_field(st, "From", bounce_tmp_text(st));
	bounce_field_clean(st, "To", "", in->to);
	bounce_field(st, "Subject", bounce_texts[in->kind].subject);
	bounce_field_date(st, "Date", in->now);
	bounce_put_message_id(st);
	/* RFC 3834 section 5: a report is an automatic reply. */
	bounce_puts(st, "Auto-Submitted: auto-replied\n");
	bounce_puts(st, "MIME-Version: 1.0\n");
	bounce_put_content_type(st);
	if (bounce_eight_bit(st))
		bounce_puts(st, "Content-Transfer-Encoding: 8bit\n");
	bounce_puts(st, "\nThis is a MIME-encapsulated message.\n\n");
}

/* Start a body part: the delimiter line and the part's fields. */
static void
bounce_put_part(struct bounce_state *st, const char *desc,
    const char *type, bool eight_bit)
{
	bounce_puts(st, "--");
	bounce_puts(st, st->boundary);
	bounce_puts(st, "\nContent-Description: ");
	bounce_puts(st, desc);
	bounce_puts(st, "\nContent-Type: ");
	bounce_puts(st, type);
	bounce_puts(st, "\n");
	if (eight_bit)
		bounce_puts(st, "Content-Transfer-Encoding: 8bit\n");
	bounce_puts(st, "\n");
}

/* Part 1: the explanation for people. */

/* Append st->tmp as a paragraph. */
static void
bounce_put_para(struct bounce_state *st)
{
	bounce_wrap(st, bounce_tmp_text(st), 0, BOUNCE_WRAP_COL, "");
	bounce_puts(st, "\n\n");
}

/* The latest time a delayed recipient will still be tried, 0 if none
 * is known. */
static int64_t
bounce_retry_until(const struct bounce_input *in)
{
	int64_t until = 0;
	size_t i;

	for (i = 0; i < in->nrcpts; i++)
		if (in->rcpts[i].will_retry_until > until)
			until = in->rcpts[i].will_retry_until;
	return until;
}

static void
bounce_put_delay_news(struct bounce_state *st)
{
	char date[BOUNCE_DATE_SIZE];
	int64_t until = bounce_retry_until(st->in);

	bounce_tmp_start(st, "*** This is only a warning: you do not need "
	    "to send your message again. ***");
	bounce_put_para(st);
	bounce_tmp_start(st, "Your message has not been delivered yet to "
	    "one or more of its recipients, listed below. The mail system "
	    "will keep trying");
	if (until != 0) {
		bounce_date(until, date);
		bounce_tmp_puts(st, " until ");
		bounce_tmp_puts(st, date);
	}
	bounce_tmp_puts(st, ". Should it still fail by then, you will "
	    "receive a final report.");
	bounce_put_para(st);
}

/* The paragraph saying what happened. */
static void
bounce_put_news(struct bounce_state *st)
{
	switch (st->in->kind) {
	case BOUNCE_FAILED:
		bounce_tmp_start(st, "I am sorry to tell you that your "
		    "message could not be delivered to one or more of its "
		    "recipients. The mail system has given up on them; the "
		    "reason for each one is given below.");
		break;
	case BOUNCE_DELAYED:
		bounce_put_delay_news(st);
		return;
	case BOUNCE_RELAYED:
		bounce_tmp_start(st, "As you asked, here is a report on your "
		    "message: it was passed on to the next mail system for "
		    "each recipient listed below. That system may not send "
		    "reports of its own, so you may hear nothing more even "
		    "once the message reaches its mailbox.");
		break;
	}
	bounce_put_para(st);
}

static void
bounce_tmp_size(struct bounce_state *st, size_t n)
{
	char num[32];

	snprintf(num, sizeof(num), "%zu", n);
	bounce_tmp_puts(st, num);
}

/* The paragraph saying what of the message is attached. */
static void
bounce_put_return_note(struct bounce_state *st)
{
	if (st->why == BOUNCE_WHY_EMPTY) {
		bounce_tmp_start(st, "Your message was empty, so no copy of "
		    "it is attached.");
	} else if (st->ret == BOUNCE_RET_MESSAGE) {
		bounce_tmp_start(st, "Your message is attached below.");
	} else if (st->ret == BOUNCE_RET_NONE && !st->ret_cut) {
		bounce_tmp_start(st, "Your message had no header section, so "
		    "no part of it is attached.");
	} else {
		if (st->why == BOUNCE_WHY_TOO_BIG) {
			bounce_tmp_start(st, "Your message was larger than the "
			    "limit of ");
			bounce_tmp_size(st, st->in->max_return);
			bounce_tmp_puts(st, " bytes for returned mail, so only "
			    "its header section is attached.");
		} else if (st->why == BOUNCE_WHY_ASKED) {
			bounce_tmp_start(st, "As you asked, only the header "
			    "section of your message is attached.");
		} else {
			bounce_tmp_start(st, "The header section of your "
			    "message is attached.");
		}
		if (st->ret_cut) {
			bounce_tmp_puts(st, " It was longer than ");
			bounce_tmp_size(st, st->in->max_return);
			bounce_tmp_puts(st, " bytes, so ");
			bounce_tmp_puts(st, st->ret == BOUNCE_RET_NONE ?
			    "none of it is included." :
			    "only its first lines are included.");
		}
	}
	bounce_put_para(st);
}

/* "(originally <x>)" when the ORCPT names another address. */
static void
bounce_tmp_orcpt(struct bounce_state *st, const struct bounce_rcpt *r)
{
	const char *semi;

	if (r->orcpt == NULL || (semi = strchr(r->orcpt, ';')) == NULL)
		return;
	semi++;
	while (*semi == ' ')
		semi++;
	if (*semi == '\0' || strcmp(semi, r->addr) == 0)
		return;
	bounce_tmp_puts(st, " (originally <");
	bounce_tmp_clean(st, semi);
	bounce_tmp_puts(st, ">)");
}

/* The status of r, or the default of the report's kind when it is not
 * "class.subject.detail" (RFC 3463). */
static const char *
bounce_status(const struct bounce_state *st, const struct bounce_rcpt *r)
{
	const char *s = r->status;
	int i, n;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return bounce_texts[st->in->kind].status;
	s += 2;
	for (i = 0; i < 2; i++) {
		for (n = 0; *s >= '0' && *s <= '9'; s++)
			n++;
		if (n < 1 || n > 3 || *s != (i == 0 ? '.' : '\0'))
			return bounce_texts[st->in->kind].status;
		s++;
	}
	return r->status;
}

/* One recipient's line: "<addr>: what happened". */
static void
bounce_put_rcpt_line(struct bounce_state *st, const struct bounce_rcpt *r)
{
	bool diag = !bounce_empty(r->diagnostic);
	bool mta = !bounce_empty(r->remote_mta);

	bounce_tmp_start(st, "<");
	bounce_tmp_clean(st, r->addr);
	bounce_tmp_puts(st, ">");
	bounce_tmp_orcpt(st, r);
	bounce_tmp_puts(st, ": ");
	if (mta && diag) {
		bounce_tmp_puts(st, "host ");
		bounce_tmp_clean(st, r->remote_mta);
		bounce_tmp_puts(st, " said: ");
	}
	if (diag) {
		bounce_tmp_clean(st, r->diagnostic);
	} else {
		bounce_tmp_puts(st, bounce_texts[st->in->kind].verb);
		bounce_tmp_puts(st, mta ? " (host " : " (");
		if (mta) {
			bounce_tmp_clean(st, r->remote_mta);
			bounce_tmp_puts(st, ", ");
		}
		bounce_tmp_puts(st, "status ");
		bounce_tmp_puts(st, bounce_status(st, r));
		bounce_tmp_puts(st, ")");
	}
	bounce_wrap(st, bounce_tmp_text(st), 0, BOUNCE_WRAP_COL, "    ");
	bounce_puts(st, "\n");
}

static void
bounce_put_notification(struct bounce_state *st)
{
	size_t i;

	bounce_put_part(st, "Notification", st->utf8 ?
	    "text/plain; charset=utf-8" : "text/plain; charset=us-ascii",
	    st->utf8);
	bounce_tmp_start(st, "This is the mail system at host ");
	bounce_tmp_clean(st, st->in->reporting_mta);
	bounce_tmp_puts(st, ".");
	bounce_put_para(st);
	bounce_put_news(st);
	bounce_put_return_note(st);
	bounce_tmp_start(st, "If you need help, write to the postmaster of ");
	bounce_tmp_clean(st, st->in->reporting_mta);
	bounce_tmp_puts(st, " and include this report.");
	bounce_put_para(st);
	for (i = 0; i < st->in->nrcpts; i++)
		bounce_put_rcpt_line(st, &st->in->rcpts[i]);
	bounce_puts(st, "\n");
}

/* Part 2: the delivery-status fields (RFC 3464 section 2, in its
 * order). */

static void
bounce_put_message_fields(struct bounce_state *st)
{
	const struct bounce_input *in = st->in;

	if (!bounce_empty(in->envid))
		bounce_field_clean(st, "Original-Envelope-Id", "", in->envid);
	bounce_field_clean(st, "Reporting-MTA", "dns; ", in->reporting_mta);
	if (in->arrival != 0)
		bounce_field_date(st, "Arrival-Date", in->arrival);
	bounce_field_clean(st, "X-Tern-Queue-ID", "", in->queue_id);
}

/* Original-Recipient: the ORCPT as given, with the rfc822 type added
 * when a client left it out. */
static void
bounce_put_orcpt(struct bounce_state *st, const char *orcpt)
{
	bounce_field_clean(st, "Original-Recipient",
	    strchr(orcpt, ';') != NULL ? "" : "rfc822; ", orcpt);
}

/* "smtp;" for what looks like an SMTP reply, ours otherwise. */
static const char *
bounce_diag_type(const char *diag)
{
	if (diag[0] >= '2' && diag[0] <= '5' && diag[1] >= '0' &&
	    diag[1] <= '9' && diag[2] >= '0' && diag[2] <= '9' &&
	    (diag[3] == ' ' || diag[3] == '-' || diag[3] == '\0'))
		return "smtp; ";
	return "X-Tern; ";
}

static void
bounce_put_rcpt_fields(struct bounce_state *st, const struct bounce_rcpt *r)
{
	if (!bounce_empty(r->orcpt))
		bounce_put_orcpt(st, r->orcpt);
	/* RFC 6533 section 3: the utf-8 type carries a non-ASCII
	 * address. */
	bounce_field_clean(st, "Final-Recipient",
	    bounce_is_ascii(r->addr) ? "rfc822; " : "utf-8; ", r->addr);
	bounce_field(st, "Action", bounce_texts[st->in->kind].action);
	bounce_field(st, "Status", bounce_status(st, r));
	if (!bounce_empty(r->remote_mta))
		bounce_field_clean(st, "Remote-MTA", "dns; ", r->remote_mta);
	if (!bounce_empty(r->diagnostic))
		bounce_field_clean(st, "Diagnostic-Code",
		    bounce_diag_type(r->diagnostic), r->diagnostic);
	if (r->last_attempt != 0)
		bounce_field_date(st, "Last-Attempt-Date", r->last_attempt);
	if (st->in->kind == BOUNCE_DELAYED && r->will_retry_until != 0)
		bounce_field_date(st, "Will-Retry-Until",
		    r->will_retry_until);
}

static void
bounce_put_status(struct bounce_state *st)
{
	size_t i;

	bounce_put_part(st, "Delivery report", st->utf8 ?
	    "message/global-delivery-status" : "message/delivery-status",
	    st->utf8);
	bounce_put_message_fields(st);
	for (i = 0; i < st->in->nrcpts; i++) {
		bounce_puts(st, "\n");
		bounce_put_rcpt_fields(st, &st->in->rcpts[i]);
	}
	bounce_puts(st, "\n");
}

/* Part 3: the original, or its header section. */
static void
bounce_put_original(struct bounce_state *st)
{
	bool headers = st->ret == BOUNCE_RET_HEADERS;
	const char *type;

	if (st->ret == BOUNCE_RET_NONE)
		return;
	if (headers)
		type = st->ret_global ? "message/global-headers" :
		    "text/rfc822-headers";
	else
		type = st->ret_global ? "message/global" : "message/rfc822";
	bounce_put_part(st, bounce_texts[st->in->kind].desc[headers], type,
	    st->ret_8bit);
	if (st->ret_sep) {
		bounce_put(st, st->ret_text, st->ret_sep_off);
		bounce_puts(st, "\n");
		bounce_put(st, st->ret_text + st->ret_sep_off,
		    st->ret_len - st->ret_sep_off);
	} else {
		bounce_put(st, st->ret_text, st->ret_len);
	}
	/* The line break before a delimiter belongs to the delimiter
	 * (RFC 2046 section 5.1.1), so the copy keeps its own. */
	bounce_puts(st, "\n");
}

static void
bounce_write(struct bounce_state *st)
{
	bounce_put_header(st);
	bounce_put_notification(st);
	bounce_put_status(st);
	bounce_put_original(st);
	bounce_puts(st, "--");
	bounce_puts(st, st->boundary);
	bounce_puts(st, "--\n");
}

int
bounce_compose(const struct bounce_input *in, struct buf *out,
    struct errbuf *eb)
{
	struct bounce_state st;
	size_t start = out->len;

	if (bounce_check(in, eb) == -1)
		return -1;
	memset(&st, 0, sizeof(st));
	st.in = in;
	st.out = out;
	buf_init(&st.tmp, 0);
	st.utf8 = bounce_need_utf8(in);
	bounce_plan(&st);
	if (bounce_boundary(&st, eb) == -1) {
		buf_fini(&st.tmp);
		return -1;
	}
	bounce_write(&st);
	buf_fini(&st.tmp);
	if (st.errnum == 0)
		return 0;
	out->len = start;
	if (out->data != NULL)
		out->data[start] = '\0';
	return errbuf_errno(eb, st.errnum, "bounce report for %s",
	    in->queue_id);
}
