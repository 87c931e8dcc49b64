/*
 * smtpc_proto: the pure parts of the SMTP client -- no sockets, no event
 * loop -- so the unit tests reach every rule directly: reply lines and
 * whole replies (RFC 5321 4.2, RFC 3463 status codes), the EHLO
 * capabilities, MAIL FROM / RCPT TO with their ESMTP parameters, and the
 * DATA encoder (CRLF line ends, dot-stuffing, the 998-octet limit).
 * Internal to smtpc; the daemon uses smtpc.h only.
 */
#ifndef TERN_SMTPC_PROTO_H
#define TERN_SMTPC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errbuf.h"
#include "smtpc.h"

#define SMTPC_LINE_MAX 2048        /* longest reply line (without CRLF) */
#define SMTPC_REPLY_LINES_MAX 1000 /* most lines in one reply */
#define SMTPC_LINES_TEXT_MAX 16384 /* reply lines kept (EHLO keywords) */
#define SMTPC_DATA_LINE_MAX 998    /* longest DATA line sent (no CRLF) */
#define SMTPC_AUTH_LIST_MAX 128

/* ---------------------------------------------------------- replies */

/* A reply read line by line.  The joined text is sanitised (control
 * characters become '?') because it ends up in logs and bounces. */
struct smtpc_reader {
	struct smtpc_reply reply; /* the reply so far; complete when feed
				     returned 1 */
	size_t nlines;
	size_t text_len;
	struct buf lines; /* each line's text after the code, '\n'
			     terminated, bounded (extra lines dropped) */
};

void smtpc_reader_init(struct smtpc_reader *r);
void smtpc_reader_fini(struct smtpc_reader *r);

/* Forget the reply, ready for the next one. */
void smtpc_reader_reset(struct smtpc_reader *r);

/* Feed one line without its line end.  Returns 1 when it completed the
 * reply (r->reply is filled in), 0 when more lines follow, or -1 with eb
 * set when the line is not a reply line, changes the code mid-reply or is
 * one line too many. */
int smtpc_reader_feed(struct smtpc_reader *r, const char *line, size_t len,
    struct errbuf *eb);

/* Length of the RFC 3463 status code ("5.1.1") that starts text, or 0
 * when there is none.  The class digit must be the reply code's first
 * digit; a status must be followed by a space or the end of the text. */
size_t smtpc_enhanced_status(const char *text, size_t len, int code);

/* Fill r with a locally made reply (code, status, text). */
void smtpc_reply_set(struct smtpc_reply *r, int code, const char *status,
    const char *text);

/* ---------------------------------------------------------- EHLO */

struct smtpc_caps {
	bool esmtp;        /* EHLO was accepted (else HELO: nothing below) */
	bool pipelining;
	bool size;         /* SIZE offered */
	uint64_t size_max; /* its limit, 0: none given */
	bool eightbitmime;
	bool smtputf8;
	bool dsn;
	bool enhanced;
	bool starttls;
	bool requiretls;
	bool auth;           /* AUTH (or AUTH=) offered */
	unsigned auth_mechs; /* SMTPC_AUTH_MECH_* bits we can use */
	char auth_list[SMTPC_AUTH_LIST_MAX]; /* every mechanism offered */
};

/* Parse the lines of a 250 reply to EHLO ('\n'-terminated texts as kept
 * by the reader; the first is the server's name and is skipped).
 * Unknown keywords are ignored. */
void smtpc_caps_parse(struct smtpc_caps *c, const char *lines, size_t len);

/* ---------------------------------------------------------- commands */

/* True when addr may go between < and > on the wire: no control
 * characters, no angle brackets, at most 512 octets; 8-bit octets only
 * when utf8 (SMTPUTF8). */
bool smtpc_addr_ok(const char *addr, bool utf8);

/* Append s as RFC 3461 xtext. */
int smtpc_xtext(struct buf *out, const char *s);

/* Append "MAIL FROM:<sender> [params]\r\n": SIZE= when offered,
 * BODY=8BITMIME when asked and offered, SMTPUTF8 when asked, RET= and
 * ENVID= when DSN is offered, REQUIRETLS when asked.  Returns 0 or -1
 * (buffer limit). */
int smtpc_cmd_mail(struct buf *out, const struct smtpc_msg *msg,
    const struct smtpc_caps *caps);

/* Append "RCPT TO:<addr> [NOTIFY=] [ORCPT=]\r\n" (the DSN parameters only
 * when DSN is offered). */
int smtpc_cmd_rcpt(struct buf *out, const struct smtpc_rcpt *rcpt,
    const struct smtpc_caps *caps);

/* ---------------------------------------------------------- DATA */

/*
 * The DATA encoder turns LF (or CRLF, or a bare CR: every one of them is
 * a line end, so no bare CR reaches a server that might take it for one)
 * into CRLF, doubles a '.' that starts a line, and keeps every line sent
 * within 998 octets:
 *  - in the header section (in memory) a long line is folded before the
 *    last space or tab that fits (RFC 5322 folding: the unfolded field is
 *    unchanged); a line with no usable white space is cut and the rest
 *    continued after CRLF SP, so it stays one header field;
 *  - in the body (streamed in chunks) a long line is cut at 998 octets
 *    and continued after CRLF SP, as Postfix does: the space keeps a MIME
 *    header inside a part one field, and base64 decoders skip it.  A cut
 *    never splits a UTF-8 sequence.
 * Every function returns the number of octets written to out, which must
 * hold SMTPC_DATA_MAX(len).
 */
#define SMTPC_DATA_MAX(len) (3 * (size_t)(len) + 8)

struct smtpc_data {
	size_t col; /* octets on the current output line */
	bool cr;    /* the last input octet was a CR (a LF after it is
		       part of the same line end) */
};

void smtpc_data_init(struct smtpc_data *d);

/* The header section, whole (it ends with the empty line). */
size_t smtpc_data_head(struct smtpc_data *d, const char *in, size_t len,
    char *out);

/* The next chunk of the body. */
size_t smtpc_data_body(struct smtpc_data *d, const char *in, size_t len,
    char *out);

/* The end: CRLF when the last line was not ended, then ".\r\n". */
size_t smtpc_data_end(struct smtpc_data *d, char *out);

#endif
