/*
 * bounce: compose delivery status notifications.
 *
 * A report is a complete RFC 5322 message with LF line ends, ready to be
 * queued from the null sender to the original envelope sender.  It is a
 * multipart/report (RFC 6522) of three parts: a text/plain explanation
 * for people, a message/delivery-status part for programs (RFC 3464,
 * with the DSN semantics of RFC 3461), and the original message or its
 * header section.
 *
 * The returned content follows RFC 3461 section 4.3: a failure report
 * returns the whole message unless RET=HDRS was given or the message is
 * larger than max_return, and then only its header section; delay and
 * success reports always return the header section only.  No more than
 * max_return bytes of the original are ever copied (0: no limit); a
 * header section that is itself too large is cut after its last whole
 * line that fits.  The explanation says what was left out and why.
 *
 * When an address in the report is not ASCII, the report follows RFC
 * 6533: the explanation is UTF-8, the status part is
 * message/global-delivery-status and such recipients are given as
 * "utf-8; addr".  A returned header section holding 8-bit bytes is
 * sent as message/global (or message/global-headers, RFC 6532).
 *
 * Every string copied from the input is made safe first: control
 * characters (CR and LF included) become spaces, runs of white space one
 * space, and bytes past ASCII become '?' unless the report is UTF-8 and
 * the string is valid UTF-8.  A remote server's reply can therefore
 * never end a header line or add a field of its own.  Header fields are
 * folded at spaces so lines stay within 78 columns where the words
 * allow, and each value is cut at about 900 bytes so no line can reach
 * the 998-byte limit of RFC 5322.
 */
#ifndef TERN_BOUNCE_H
#define TERN_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errbuf.h"

/* Non-delivery, delay warning, success notice (NOTIFY=SUCCESS; the
 * action is "relayed" since the next hop is another MTA). */
enum bounce_kind { BOUNCE_FAILED, BOUNCE_DELAYED, BOUNCE_RELAYED };

struct bounce_rcpt {
	const char *addr;         /* final recipient (addr-spec) */
	const char *orcpt;        /* "rfc822;addr" from DSN ORCPT, or NULL */
	const char *status;       /* "5.1.1", "4.4.1", "2.0.0" */
	const char *diagnostic;   /* the remote reply, or NULL */
	const char *remote_mta;   /* "smtp.example.com", or NULL */
	int64_t last_attempt;     /* seconds since the epoch, 0: unknown */
	int64_t will_retry_until; /* delays: when the message expires */
};

struct bounce_input {
	enum bounce_kind kind;
	const char *reporting_mta; /* our hostname */
	const char *postmaster;    /* the report's From address */
	const char *queue_id;
	const char *to;            /* the original envelope sender */
	const char *envid;         /* original ENVID, or NULL */
	int64_t arrival;           /* original arrival time, 0: unknown */
	int64_t now;               /* time of the report (Date field) */
	const struct bounce_rcpt *rcpts;
	size_t nrcpts;
	int ret;                   /* enum envelope_ret */
	const char *orig;          /* the original message, LF line ends */
	size_t orig_len;
	size_t orig_head_len;      /* its header section with the empty
				    * line (0: none) */
	size_t max_return;         /* most bytes of orig returned, 0: all */
	const char *boundary;      /* unique MIME boundary, 1-70 of the
				    * characters RFC 2046 allows, no space */
};

/*
 * Append the report message described by in to out.
 *
 * The caller's boundary is used as it is unless it occurs in the
 * returned content; then "=N" is appended (the base shortened to stay
 * within 70 characters) for the first N that does not.  A "smtp;"
 * Diagnostic-Code is written for a diagnostic that starts like an SMTP
 * reply (three digits), "X-Tern;" otherwise.  A status that is not of
 * the form "c.s.d" is replaced by 5.0.0, 4.0.0 or 2.0.0 by kind.
 *
 * Returns 0, or -1 with eb set when the input is incomplete (no
 * recipients, a missing address, host or queue id, a bad boundary) or
 * out cannot grow (its limit or memory); out is then left as it was.
 */
int bounce_compose(const struct bounce_input *in, struct buf *out,
    struct errbuf *eb);

#endif
