/*
 * smtpc: the SMTP client session (see smtpc.h).
 *
 * A session is one connection and a state machine on libevent.  The
 * state names the reply awaited (greeting, EHLO, STARTTLS, AUTH, the
 * replies of a transaction, the final dot, QUIT); each complete reply is
 * handed to that state's handler, which sends the next command and moves
 * on.  This file owns the session itself: connecting, reading replies,
 * deadlines, events, failure and freeing.  The way to READY (EHLO,
 * STARTTLS, AUTH) is in smtpc_setup.c, transactions in smtpc_txn.c; the
 * pure parts -- reply parsing, capabilities, command text, the DATA
 * encoder -- in smtpc_proto.c, SASL in smtpc_auth.c and the OpenSSL
 * details in smtpc_tls.c.
 *
 * Invariants:
 *  - Events reach the caller only from libevent callbacks, never from
 *    inside smtpc_new, smtpc_send or smtpc_quit (a failure found there
 *    is reported from a zero-delay event).  Each callback holds the
 *    session (busy count); smtpc_free during it only marks the session,
 *    which is destroyed when the outermost callback returns.
 *  - After FAILED or CLOSED the connection is gone and no event follows.
 *  - Every wait has a deadline on the one session timer: connect (TCP
 *    and TLS handshake), each reply, each step of writing the message,
 *    the idle time of a reused session.
 *  - Input is read only while a reply is awaited (or while idle, to
 *    notice a 421), one bounded line at a time, and the input buffer is
 *    capped by a read watermark: a peer can make us fail, not grow.
 *  - The message body is never loaded whole: it is read with pread in
 *    chunks as the output buffer drains below a low watermark.
 *  - No secret goes out without TLS, and secret lines are wiped from
 *    memory once written.
 * The program must ignore SIGPIPE (a write to a closed socket).
 */
#include "autoconf.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "smtpc.h"
#include "smtpc_int.h"
#include "smtpc_tls.h"
#include "str.h"

static void smtpc_read_input(struct smtpc_session *s);
static void smtpc_on_read(struct bufferevent *bev, void *arg);
static void smtpc_on_write(struct bufferevent *bev, void *arg);
static void smtpc_on_event(struct bufferevent *bev, short what, void *arg);
static void smtpc_dispatch(struct smtpc_session *s,
    const struct smtpc_reply *r);

/* ---------------------------------------------------------- lifecycle */

void
smtpc_timer(struct smtpc_session *s, unsigned secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	evtimer_add(s->ev_timer, &tv);
}

/* Release the connection: bufferevents (with their SSL and socket),
 * a socket still connecting, the timer. */
static void
smtpc_close(struct smtpc_session *s)
{
	if (s->ev_connect != NULL) {
		event_free(s->ev_connect);
		s->ev_connect = NULL;
	}
	if (s->bev != NULL)
		bufferevent_free(s->bev);
	s->bev = NULL;
	s->ssl = NULL;
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->ev_timer != NULL)
		evtimer_del(s->ev_timer);
}

static void
smtpc_destroy(struct smtpc_session *s)
{
	smtpc_close(s);
	if (s->ev_timer != NULL)
		event_free(s->ev_timer);
	if (s->ev_async != NULL)
		event_free(s->ev_async);
	smtpc_txn_free(&s->txn);
	smtpc_reader_fini(&s->rd);
	smtpc_auth_wipe(&s->cmd);
	free(s->caps_text);
	if (s->own_ctx != NULL)
		SSL_CTX_free(s->own_ctx);
	free(s);
}

void
smtpc_free(struct smtpc_session *s)
{
	if (s == NULL)
		return;
	if (s->busy > 0) {
		s->freed = true;
		return;
	}
	smtpc_destroy(s);
}

/* Every libevent callback brackets its work with hold and release. */
static void
smtpc_hold(struct smtpc_session *s)
{
	s->busy++;
}

static void
smtpc_release(struct smtpc_session *s)
{
	if (--s->busy == 0 && s->freed)
		smtpc_destroy(s);
}

/* True when the session may go on after a call that can emit. */
static bool
smtpc_alive(const struct smtpc_session *s)
{
	return !s->freed && s->state != SMTPC_DONE;
}

void
smtpc_emit(struct smtpc_session *s, enum smtpc_event ev)
{
	if (s->freed)
		return;
	s->out.tls = s->tls_active;
	s->cb(s, ev, &s->out, s->arg);
}

static void
smtpc_on_async(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc_session *s = arg;

	(void)fd, (void)what;
	smtpc_hold(s);
	s->async_pending = false;
	smtpc_emit(s, s->async_ev);
	smtpc_release(s);
}

/* Report ev from the event loop rather than from the caller's call. */
void
smtpc_emit_later(struct smtpc_session *s, enum smtpc_event ev)
{
	s->async_ev = ev;
	s->async_pending = true;
	event_active(s->ev_async, EV_TIMEOUT, 0);
}

/* ---------------------------------------------------------- failure */

/* The session failed: record why, close, and report FAILED (now, or
 * from the event loop when later is set). */
static void
smtpc_vfail(struct smtpc_session *s, enum smtpc_stage stage,
    const struct smtpc_reply *r, bool later, const char *fmt, va_list ap)
{
	if (s->state == SMTPC_DONE)
		return;
	if (s->async_pending) {
		/* A SENT still on its way goes first, as it happened
		 * first. */
		event_del(s->ev_async);
		s->async_pending = false;
		smtpc_emit(s, s->async_ev);
		if (!smtpc_alive(s))
			return;
	}
	s->out.stage = stage;
	if (r != NULL)
		s->out.reply = *r;
	else
		memset(&s->out.reply, 0, sizeof(s->out.reply));
	vsnprintf(s->out.err, sizeof(s->out.err), fmt, ap);
	if (s->in_txn)
		smtpc_txn_abort(s, r);
	s->out.tls = s->tls_active;
	smtpc_close(s);
	s->state = SMTPC_DONE;
	if (later || s->in_api)
		smtpc_emit_later(s, SMTPC_EV_FAILED);
	else
		smtpc_emit(s, SMTPC_EV_FAILED);
}

void
smtpc_fail(struct smtpc_session *s, enum smtpc_stage stage,
    const struct smtpc_reply *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtpc_vfail(s, stage, r, false, fmt, ap);
	va_end(ap);
}

static void
smtpc_fail_later(struct smtpc_session *s, enum smtpc_stage stage,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtpc_vfail(s, stage, NULL, true, fmt, ap);
	va_end(ap);
}

/* Failure because of what the server said to cmd. */
void
smtpc_fail_reply(struct smtpc_session *s, enum smtpc_stage stage,
    const struct smtpc_reply *r, const char *cmd, const char *extra)
{
	smtpc_fail(s, stage, r, "%s said: %d %s%s%s (in reply to %s)%s%s",
	    s->label, r->code, r->status, r->status[0] ? " " : "", r->text,
	    cmd, extra[0] ? "; " : "", extra);
}

/* ---------------------------------------------------------- writing */

/* Queue bytes for the server; false (session failed) when libevent
 * cannot take them. */
bool
smtpc_write(struct smtpc_session *s, const void *p, size_t n)
{
	if (bufferevent_write(s->bev, p, n) == -1) {
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: cannot queue output",
		    s->where);
		return false;
	}
	return true;
}

void
smtpc_command(struct smtpc_session *s, enum smtpc_state next,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_reset(&s->cmd);
	if (n < 0 || buf_reserve(&s->cmd, (size_t)n + 2) == -1) {
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "command too long");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s->cmd.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->cmd.len = (size_t)n;
	buf_puts(&s->cmd, "\r\n");
	s->state = next;
	if (smtpc_write(s, s->cmd.data, s->cmd.len))
		smtpc_timer(s, s->cfg.command_timeout);
}

/* ---------------------------------------------------------- connecting */

/* Callbacks and watermarks of the bufferevent we talk through. */
void
smtpc_bev_setup(struct smtpc_session *s, struct bufferevent *bev)
{
	s->bev = bev;
	bufferevent_setcb(bev, smtpc_on_read, smtpc_on_write, smtpc_on_event,
	    s);
	bufferevent_setwatermark(bev, EV_READ, 0, SMTPC_INPUT_MAX);
	bufferevent_setwatermark(bev, EV_WRITE, SMTPC_OUT_LOW, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* The TCP connection is up. */
static void
smtpc_connected(struct smtpc_session *s)
{
	struct bufferevent *bev;

	if (s->cfg.tls == SMTPC_TLS_IMPLICIT) {
		smtpc_tls_start(s, SMTPC_TLS_CONNECT);
		return;
	}
	bev = bufferevent_socket_new(s->base, s->fd,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		smtpc_fail(s, SMTPC_STAGE_CONNECT, NULL, "connect %s: cannot "
		    "set up the connection", s->where);
		return;
	}
	s->fd = -1;
	smtpc_bev_setup(s, bev);
	s->state = SMTPC_GREETING;
	smtpc_timer(s, s->cfg.command_timeout);
}

static void
smtpc_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc_session *s = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)what;
	smtpc_hold(s);
	event_free(s->ev_connect);
	s->ev_connect = NULL;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0)
		smtpc_fail(s, SMTPC_STAGE_CONNECT, NULL, "connect %s: %s",
		    s->where, strerror(err));
	else
		smtpc_connected(s);
	smtpc_release(s);
}

/* Start a non-blocking connect; its end is signalled by writability. */
static void
smtpc_connect_start(struct smtpc_session *s)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->cfg.addr;

	s->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (s->fd == -1) {
		smtpc_fail_later(s, SMTPC_STAGE_CONNECT, "connect %s: %s",
		    s->where, strerror(errno));
		return;
	}
	if (connect(s->fd, sa, s->cfg.addrlen) == -1 && errno != EINPROGRESS &&
	    errno != EINTR) {
		smtpc_fail_later(s, SMTPC_STAGE_CONNECT, "connect %s: %s",
		    s->where, strerror(errno));
		return;
	}
	s->ev_connect = event_new(s->base, s->fd, EV_WRITE, smtpc_on_connect,
	    s);
	if (s->ev_connect == NULL || event_add(s->ev_connect, NULL) == -1) {
		smtpc_fail_later(s, SMTPC_STAGE_CONNECT, "connect %s: cannot "
		    "watch the socket", s->where);
		return;
	}
	smtpc_timer(s, s->cfg.connect_timeout);
}

/* "relay.test[192.0.2.1]" and "relay.test[192.0.2.1]:587" for messages;
 * just the address when there is no other name. */
static void
smtpc_label(struct smtpc_session *s)
{
	char port[16] = "0", lit[64];
	const char *host = s->cfg.host;

	str_lcpy(s->ip, "?", sizeof(s->ip));
	getnameinfo((const struct sockaddr *)&s->cfg.addr, s->cfg.addrlen,
	    s->ip, sizeof(s->ip), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV);
	s->port = (unsigned)strtoul(port, NULL, 10);
	if (smtpc_tls_ip_literal(host, lit, sizeof(lit)) &&
	    strcmp(lit, s->ip) == 0)
		host = NULL;
	if (host != NULL && host[0] != '\0')
		snprintf(s->label, sizeof(s->label), "%s[%s]", host, s->ip);
	else if (strchr(s->ip, ':') != NULL)
		snprintf(s->label, sizeof(s->label), "[%s]", s->ip);
	else
		snprintf(s->label, sizeof(s->label), "%s", s->ip);
	snprintf(s->where, sizeof(s->where), "%s:%u", s->label, s->port);
}

/* A name we may put after EHLO: no white space or control bytes. */
static bool
smtpc_helo_ok(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (*p == '\0' || strlen(name) > 255)
		return false;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* ---------------------------------------------------------- reading */

/* States in which a reply from the server is expected (IDLE: only a
 * 421 is, but reading it tells the caller the session is gone). */
static bool
smtpc_reads(enum smtpc_state st)
{
	switch (st) {
	case SMTPC_GREETING:
	case SMTPC_EHLO:
	case SMTPC_HELO:
	case SMTPC_STARTTLS:
	case SMTPC_AUTH:
	case SMTPC_IDLE:
	case SMTPC_TXN:
	case SMTPC_DOT:
	case SMTPC_DRAIN:
	case SMTPC_TRY_MAIL:
	case SMTPC_TRY_RSET:
	case SMTPC_QUIT:
		return true;
	default:
		return false;
	}
}

/* One line of input: 1 with line (NUL-terminated) and len, 0 when no
 * whole line has arrived yet, -1 when it is longer than allowed. */
static int
smtpc_read_line(struct smtpc_session *s, char *line, size_t *len)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr eol;
	size_t eol_len = 0;

	eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
	if (eol.pos < 0)
		return evbuffer_get_length(in) > SMTPC_LINE_MAX ? -1 : 0;
	if ((size_t)eol.pos > SMTPC_LINE_MAX)
		return -1;
	*len = (size_t)eol.pos;
	evbuffer_remove(in, line, *len);
	line[*len] = '\0';
	evbuffer_drain(in, eol_len);
	return 1;
}

/* A hint for servers on port 465 that we did not speak TLS to. */
static const char *
smtpc_hint_465(const struct smtpc_session *s)
{
	if (s->port == 465 && s->cfg.tls != SMTPC_TLS_IMPLICIT)
		return ": port 465 usually expects implicit TLS: set tls = "
		    "implicit";
	return "";
}

static void
smtpc_protocol_error(struct smtpc_session *s, const char *why)
{
	if (s->state == SMTPC_GREETING)
		smtpc_fail(s, SMTPC_STAGE_GREETING, NULL, "%s: protocol "
		    "error in the greeting: %s%s", s->where, why,
		    smtpc_hint_465(s));
	else
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: protocol error: %s",
		    s->where, why);
}

/* Hand every complete reply waiting in the input to its state. */
static void
smtpc_read_input(struct smtpc_session *s)
{
	char line[SMTPC_LINE_MAX + 1];
	struct errbuf eb;
	size_t len = 0;
	int rc;

	while (s->bev != NULL && smtpc_alive(s) && smtpc_reads(s->state)) {
		if ((rc = smtpc_read_line(s, line, &len)) == 0)
			break;
		if (rc == -1) {
			snprintf(eb.msg, sizeof(eb.msg), "reply line longer "
			    "than %d octets", SMTPC_LINE_MAX);
			smtpc_protocol_error(s, eb.msg);
			break;
		}
		if ((rc = smtpc_reader_feed(&s->rd, line, len, &eb)) == -1) {
			smtpc_protocol_error(s, eb.msg);
			break;
		}
		if (rc == 1) {
			smtpc_dispatch(s, &s->rd.reply);
			smtpc_reader_reset(&s->rd);
		}
	}
}

static void
smtpc_on_read(struct bufferevent *bev, void *arg)
{
	struct smtpc_session *s = arg;

	(void)bev;
	smtpc_hold(s);
	smtpc_read_input(s);
	smtpc_release(s);
}

/* The command whose reply is awaited, for messages. */
static const char *
smtpc_awaited(const struct smtpc_session *s)
{
	static const char *const steps[] = { "RSET", "MAIL FROM", "RCPT TO",
		"DATA", "end of data" };

	switch (s->state) {
	case SMTPC_GREETING:
		return "the greeting";
	case SMTPC_EHLO:
		return "EHLO";
	case SMTPC_HELO:
		return "HELO";
	case SMTPC_STARTTLS:
		return "STARTTLS";
	case SMTPC_AUTH:
		return "AUTH";
	case SMTPC_TXN:
		return steps[s->txn.want.step];
	case SMTPC_DOT:
	case SMTPC_DRAIN:
		return "end of data";
	case SMTPC_TRY_MAIL:
		return "MAIL FROM";
	case SMTPC_TRY_RSET:
		return "RSET";
	case SMTPC_QUIT:
		return "QUIT";
	default:
		return "nothing";
	}
}

/* Closed after QUIT or an idle timeout. */
static void
smtpc_closed(struct smtpc_session *s)
{
	smtpc_close(s);
	s->state = SMTPC_DONE;
	s->out.stage = SMTPC_STAGE_NONE;
	memset(&s->out.reply, 0, sizeof(s->out.reply));
	s->out.err[0] = '\0';
	smtpc_emit(s, SMTPC_EV_CLOSED);
}

/* The connection ended (EOF or error) while we were in s->state. */
static void
smtpc_lost(struct smtpc_session *s, short what, int sys)
{
	unsigned long e = s->ssl != NULL ? bufferevent_get_openssl_error(
	    s->bev) : 0;
	bool eof = (what & BEV_EVENT_EOF) != 0;
	struct errbuf eb;
	char why[256];

	if (s->state == SMTPC_TLS_CONNECT || s->state == SMTPC_TLS_UPGRADE) {
		smtpc_tls_error(s->ssl, e, eof ? 0 : sys,
		    s->state == SMTPC_TLS_CONNECT, &eb);
		smtpc_fail(s, SMTPC_STAGE_TLS, NULL, "%s", eb.msg);
		return;
	}
	if (s->state == SMTPC_QUIT) {
		smtpc_closed(s);
		return;
	}
	if (e != 0)
		smtpc_tls_reason(e, why, sizeof(why));
	else
		str_lcpy(why, eof || sys == 0 ? "connection closed by the "
		    "server" : strerror(sys), sizeof(why));
	if (s->state == SMTPC_GREETING)
		smtpc_fail(s, SMTPC_STAGE_GREETING, NULL, "%s: %s before the "
		    "greeting%s", s->where, why, smtpc_hint_465(s));
	else if (s->state == SMTPC_IDLE)
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: %s while idle",
		    s->where, why);
	else if (s->state == SMTPC_BODY)
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: %s while sending the "
		    "message", s->where, why);
	else
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: %s (waiting for the "
		    "reply to %s)", s->where, why, smtpc_awaited(s));
}

/* Before giving up on a closed connection, read what the server said
 * last: a 421, or a refusal sent as it stopped reading the message
 * ("552 too big"), which then ends the transaction. */
static void
smtpc_read_last(struct smtpc_session *s)
{
	bool body = s->state == SMTPC_BODY;

	if (body) {
		s->state = SMTPC_DOT;
		s->txn.cut = true;
	}
	smtpc_read_input(s);
	if (body && s->state == SMTPC_DOT)
		s->state = SMTPC_BODY;
}

static void
smtpc_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtpc_session *s = arg;
	int sys = EVUTIL_SOCKET_ERROR();

	(void)bev;
	smtpc_hold(s);
	if (what & BEV_EVENT_CONNECTED) {
		smtpc_tls_ready(s);
		/* The greeting may have come with the handshake. */
		if (smtpc_alive(s))
			smtpc_read_input(s);
	} else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		smtpc_read_last(s);
		if (smtpc_alive(s))
			smtpc_lost(s, what, sys);
	}
	smtpc_release(s);
}

static void
smtpc_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtpc_session *s = arg;
	const struct smtpc_config *c = &s->cfg;

	(void)fd, (void)what;
	smtpc_hold(s);
	switch (s->state) {
	case SMTPC_CONNECT:
		smtpc_fail(s, SMTPC_STAGE_CONNECT, NULL, "connect %s: timed "
		    "out after %u s", s->where, c->connect_timeout);
		break;
	case SMTPC_TLS_CONNECT:
	case SMTPC_TLS_UPGRADE:
		smtpc_fail(s, SMTPC_STAGE_TLS, NULL, "TLS handshake with %s "
		    "timed out after %u s", s->where, c->connect_timeout);
		break;
	case SMTPC_GREETING:
		smtpc_fail(s, SMTPC_STAGE_GREETING, NULL, "%s: no greeting "
		    "within %u s%s", s->where, c->command_timeout,
		    smtpc_hint_465(s));
		break;
	case SMTPC_IDLE:
		smtpc_command(s, SMTPC_QUIT, "QUIT");
		break;
	case SMTPC_QUIT:
		smtpc_closed(s);
		break;
	case SMTPC_BODY:
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: timed out after %u s "
		    "sending the message", s->where, c->command_timeout);
		break;
	case SMTPC_DONE:
		break;
	default:
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: timed out after %u s "
		    "waiting for the reply to %s", s->where,
		    c->command_timeout, smtpc_awaited(s));
		break;
	}
	smtpc_release(s);
}

/* A reply nobody asked for: a 421 before the server hangs up, or
 * garbage.  Either way this session is over. */
static void
smtpc_on_idle_reply(struct smtpc_session *s, const struct smtpc_reply *r)
{
	smtpc_fail(s, SMTPC_STAGE_IO, r, "%s %s: %d %s%s%s", s->label,
	    r->code == 421 ? "closed the idle session" :
	    "sent an unexpected reply while idle", r->code, r->status,
	    r->status[0] ? " " : "", r->text);
}

static void
smtpc_dispatch(struct smtpc_session *s, const struct smtpc_reply *r)
{
	switch (s->state) {
	case SMTPC_GREETING:
		smtpc_on_greeting(s, r);
		break;
	case SMTPC_EHLO:
		smtpc_on_ehlo(s, r);
		break;
	case SMTPC_HELO:
		smtpc_on_helo(s, r);
		break;
	case SMTPC_STARTTLS:
		smtpc_on_starttls(s, r);
		break;
	case SMTPC_AUTH:
		smtpc_on_auth(s, r);
		break;
	case SMTPC_IDLE:
		smtpc_on_idle_reply(s, r);
		break;
	case SMTPC_TXN:
		smtpc_txn_reply(s, r);
		break;
	case SMTPC_DOT:
		smtpc_on_dot(s, r);
		break;
	case SMTPC_DRAIN:
		s->need_rset = false;
		smtpc_txn_end(s, false);
		break;
	case SMTPC_TRY_MAIL:
		smtpc_on_try_mail(s, r);
		break;
	case SMTPC_TRY_RSET:
		smtpc_on_try_rset(s, r);
		break;
	case SMTPC_QUIT:
		smtpc_closed(s);
		break;
	default:
		break;
	}
}

static void
smtpc_on_write(struct bufferevent *bev, void *arg)
{
	struct smtpc_session *s = arg;

	(void)bev;
	smtpc_hold(s);
	if (s->state == SMTPC_BODY) {
		smtpc_body_fill(s);
		/* The reply to the dot may be in already. */
		if (smtpc_alive(s))
			smtpc_read_input(s);
	}
	smtpc_release(s);
}

/* ---------------------------------------------------------- public */

struct smtpc_session *
smtpc_new(struct event_base *base, const struct smtpc_config *cfg,
    smtpc_event_fn cb, void *arg)
{
	struct smtpc_session *s;
	struct errbuf eb;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base = base;
	s->cfg = *cfg;
	s->cb = cb;
	s->arg = arg;
	s->fd = -1;
	s->state = SMTPC_CONNECT;
	if (s->cfg.connect_timeout == 0)
		s->cfg.connect_timeout = SMTPC_DEF_CONNECT_TIMEOUT;
	if (s->cfg.command_timeout == 0)
		s->cfg.command_timeout = SMTPC_DEF_COMMAND_TIMEOUT;
	if (s->cfg.idle_timeout == 0)
		s->cfg.idle_timeout = SMTPC_DEF_IDLE_TIMEOUT;
	if (s->cfg.helo_name == NULL)
		s->cfg.helo_name = "localhost";
	smtpc_reader_init(&s->rd);
	buf_init(&s->cmd, SMTPC_CMD_MAX);
	s->ev_timer = evtimer_new(base, smtpc_on_timer, s);
	s->ev_async = event_new(base, -1, 0, smtpc_on_async, s);
	if (s->ev_timer == NULL || s->ev_async == NULL) {
		smtpc_destroy(s);
		return NULL;
	}
	smtpc_label(s);
	if (!smtpc_helo_ok(s->cfg.helo_name))
		smtpc_fail_later(s, SMTPC_STAGE_EHLO, "invalid helo_name "
		    "\"%.64s\"", s->cfg.helo_name);
	else if (s->cfg.tls != SMTPC_TLS_NONE && s->cfg.ssl_ctx == NULL &&
	    (s->own_ctx = smtpc_tls_ctx_new(NULL, &eb)) == NULL)
		smtpc_fail_later(s, SMTPC_STAGE_TLS, "%s", eb.msg);
	else
		smtpc_connect_start(s);
	return s;
}

void
smtpc_quit(struct smtpc_session *s)
{
	if (s == NULL || s->freed || s->state == SMTPC_DONE ||
	    s->state == SMTPC_QUIT)
		return;
	if (s->state == SMTPC_IDLE) {
		s->in_api = true;
		smtpc_command(s, SMTPC_QUIT, "QUIT");
		s->in_api = false;
		return;
	}
	/* Mid-way there is no polite goodbye: close now. */
	if (s->in_txn) {
		str_lcpy(s->out.err, "session closed by smtpc_quit",
		    sizeof(s->out.err));
		smtpc_txn_abort(s, NULL);
	}
	smtpc_close(s);
	s->state = SMTPC_DONE;
	s->out.stage = SMTPC_STAGE_NONE;
	s->out.err[0] = '\0';
	smtpc_emit_later(s, SMTPC_EV_CLOSED);
}

const char *
smtpc_capabilities(const struct smtpc_session *s)
{
	return s->caps_text != NULL ? s->caps_text : "";
}

bool
smtpc_offers_dsn(const struct smtpc_session *s)
{
	return s->caps.dsn;
}

X509 *
smtpc_peer_cert(const struct smtpc_session *s)
{
	if (s->ssl == NULL || !s->tls_active)
		return NULL;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return SSL_get0_peer_certificate(s->ssl);
#else
	{
		X509 *cert = SSL_get_peer_certificate(s->ssl);

		X509_free(cert); /* the SSL keeps its own reference */
		return cert;
	}
#endif
}
