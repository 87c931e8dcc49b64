/*
 * smtpc: the SMTP client session (see smtpc.h).
 *
 * A session is one connection and a state machine on libevent.  The
 * state names the reply awaited (greeting, EHLO, STARTTLS, AUTH, the
 * replies of a transaction, the final dot, QUIT); each complete reply is
 * handed to that state's handler, which sends the next command and moves
 * on.  The pure parts -- reply parsing, capabilities, command text, the
 * DATA encoder -- live in smtpc_proto.c, SASL in smtpc_auth.c and the
 * OpenSSL details in smtpc_tls.c.
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
#include <fcntl.h>
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
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "smtpc.h"
#include "smtpc_auth.h"
#include "smtpc_proto.h"
#include "smtpc_tls.h"
#include "str.h"

#define SMTPC_DEF_CONNECT_TIMEOUT 30
#define SMTPC_DEF_COMMAND_TIMEOUT 300
#define SMTPC_DEF_IDLE_TIMEOUT 60
#define SMTPC_INPUT_MAX (64 * 1024) /* read high watermark */
#define SMTPC_OUT_LOW (16 * 1024)   /* refill the body below this */
#define SMTPC_OUT_HIGH (64 * 1024)  /* ... up to this */
#define SMTPC_CHUNK (16 * 1024)     /* one pread of the body */
#define SMTPC_CMD_MAX 16384         /* one command line */

enum smtpc_state {
	SMTPC_CONNECT,     /* TCP connect */
	SMTPC_TLS_CONNECT, /* implicit TLS handshake */
	SMTPC_GREETING,
	SMTPC_EHLO,
	SMTPC_HELO,
	SMTPC_STARTTLS,    /* STARTTLS sent, 220 awaited */
	SMTPC_TLS_UPGRADE, /* handshake after STARTTLS */
	SMTPC_AUTH,
	SMTPC_IDLE,
	SMTPC_TXN,   /* replies to RSET, MAIL, RCPT, DATA awaited */
	SMTPC_BODY,  /* writing the message */
	SMTPC_DOT,   /* the reply to the final dot awaited */
	SMTPC_DRAIN, /* 354 with nobody to send to: "." sent, reply ignored */
	SMTPC_QUIT,
	SMTPC_DONE,
};

/* The commands of a transaction, in order. */
enum smtpc_step {
	SMTPC_STEP_RSET,
	SMTPC_STEP_MAIL,
	SMTPC_STEP_RCPT,
	SMTPC_STEP_DATA,
	SMTPC_STEP_END,
};

struct smtpc_cursor {
	enum smtpc_step step;
	size_t rcpt; /* the recipient of a RCPT step */
};

/* Recipient states within a transaction. */
enum smtpc_rstate {
	SMTPC_R_SKIP,    /* refused locally, never sent */
	SMTPC_R_PENDING, /* no reply yet */
	SMTPC_R_OK,      /* RCPT accepted */
	SMTPC_R_NO,      /* RCPT refused */
};

struct smtpc_txn {
	struct smtpc_msg *msg;
	unsigned char *rstate;    /* enum smtpc_rstate per recipient */
	struct smtpc_cursor sent; /* next command to send */
	struct smtpc_cursor want; /* next command whose reply is due */
	bool mail_ok;
	size_t accepted;
	enum smtpc_stage stage;   /* where it failed, NONE so far */
	struct smtpc_reply reply; /* ... and the reply that said so */
	bool local;               /* ... made by us, never sent */
	struct smtpc_data enc;
	uint64_t body_done;
	char *chunk; /* SMTPC_CHUNK octets for pread */
};

struct smtpc_session {
	struct event_base *base;
	struct smtpc_config cfg;
	smtpc_event_fn cb;
	void *arg;
	SSL_CTX *own_ctx; /* when cfg.ssl_ctx was NULL */

	enum smtpc_state state;
	int busy;   /* libevent callbacks on the stack */
	bool freed; /* smtpc_free was called during one */

	int fd;                      /* until a bufferevent owns it */
	struct event *ev_connect;    /* TCP connect completion */
	struct event *ev_timer;      /* the one deadline */
	struct event *ev_async;      /* events found outside callbacks */
	enum smtpc_event async_ev;
	bool async_pending;
	struct bufferevent *bev; /* the one to talk through: the socket's,
				    or the TLS one that wraps it (and
				    then owns it) */
	SSL *ssl;                /* owned by bev */

	char ip[64];     /* "192.0.2.1" */
	char label[300]; /* "relay.test[192.0.2.1]" */
	char where[320]; /* "relay.test[192.0.2.1]:587" */
	unsigned port;

	struct smtpc_reader rd;
	struct smtpc_caps caps;
	char *caps_text;
	bool tls_active;
	bool tls_verified;
	bool starttls_refused; /* opportunistic: carry on in plaintext */
	struct smtpc_auth auth;
	struct buf cmd;
	bool need_rset; /* the last transaction may be open on the server */
	struct smtpc_txn txn;
	bool in_txn;
	struct smtpc_outcome out;
};

static void smtpc_read_input(struct smtpc_session *s);
static void smtpc_begin_auth(struct smtpc_session *s);

/* ---------------------------------------------------------- lifecycle */

static void
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
smtpc_txn_free(struct smtpc_txn *t)
{
	free(t->rstate);
	free(t->chunk);
	memset(t, 0, sizeof(*t));
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

static void
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
static void
smtpc_emit_later(struct smtpc_session *s, enum smtpc_event ev)
{
	s->async_ev = ev;
	s->async_pending = true;
	event_active(s->ev_async, EV_TIMEOUT, 0);
}

/* ---------------------------------------------------------- failure */

/* Give every recipient still waiting the failure: the reply when there
 * is one, else code 0 and the error text.  Refused ones keep theirs. */
static void
smtpc_txn_abort(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = &s->txn;
	size_t i;

	for (i = 0; i < t->msg->nrcpts; i++) {
		if (t->rstate[i] != SMTPC_R_PENDING &&
		    t->rstate[i] != SMTPC_R_OK)
			continue;
		if (r != NULL)
			t->msg->rcpts[i].reply = *r;
		else
			smtpc_reply_set(&t->msg->rcpts[i].reply, 0, "",
			    s->out.err);
	}
	smtpc_txn_free(t);
	s->in_txn = false;
}

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
	if (later)
		smtpc_emit_later(s, SMTPC_EV_FAILED);
	else
		smtpc_emit(s, SMTPC_EV_FAILED);
}

static void
smtpc_fail(struct smtpc_session *s, enum smtpc_stage stage,
    const struct smtpc_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
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
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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
static void
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
static bool
smtpc_write(struct smtpc_session *s, const void *p, size_t n)
{
	if (bufferevent_write(s->bev, p, n) == -1) {
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: cannot queue output",
		    s->where);
		return false;
	}
	return true;
}

/* Send a formatted command line (CRLF added), move to next and wait
 * for its reply. */
static void
smtpc_command(struct smtpc_session *s, enum smtpc_state next,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
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

static void
smtpc_wipe_ref(const void *data, size_t len, void *extra)
{
	(void)len;
	OPENSSL_cleanse((void *)data, (size_t)(uintptr_t)extra);
	free((void *)data);
}

/* Send a line holding a secret: libevent writes from our memory, which
 * is wiped once written (or when the connection goes). */
static void
smtpc_command_secret(struct smtpc_session *s, struct buf *line)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	size_t len = line->len, cap = line->cap;
	char *p = buf_steal(line);

	if (evbuffer_add_reference(out, p, len, smtpc_wipe_ref,
	    (void *)(uintptr_t)cap) == -1) {
		OPENSSL_cleanse(p, cap);
		free(p);
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "cannot queue output");
		return;
	}
	smtpc_timer(s, s->cfg.command_timeout);
}

/* ---------------------------------------------------------- connecting */

static void smtpc_on_read(struct bufferevent *bev, void *arg);
static void smtpc_on_write(struct bufferevent *bev, void *arg);
static void smtpc_on_event(struct bufferevent *bev, short what, void *arg);

/* Callbacks and watermarks of the bufferevent we talk through. */
static void
smtpc_bev_setup(struct smtpc_session *s, struct bufferevent *bev)
{
	s->bev = bev;
	bufferevent_setcb(bev, smtpc_on_read, smtpc_on_write, smtpc_on_event,
	    s);
	bufferevent_setwatermark(bev, EV_READ, 0, SMTPC_INPUT_MAX);
	bufferevent_setwatermark(bev, EV_WRITE, SMTPC_OUT_LOW, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Opportunistic TLS is never verified (RFC 7435: anything beats
 * plaintext); the other modes verify unless told not to. */
static bool
smtpc_verifies(const struct smtpc_session *s)
{
	return s->cfg.tls_verify && s->cfg.tls != SMTPC_TLS_OPPORTUNISTIC;
}

/* Start a TLS handshake: on the connected socket (implicit TLS, next
 * is TLS_CONNECT) or over the plaintext bufferevent (STARTTLS, next is
 * TLS_UPGRADE; the TLS bufferevent then owns the plain one). */
static void
smtpc_tls_start(struct smtpc_session *s, enum smtpc_state next)
{
	const int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	SSL_CTX *ctx = s->cfg.ssl_ctx != NULL ? s->cfg.ssl_ctx : s->own_ctx;
	const char *host = s->cfg.host != NULL ? s->cfg.host : s->ip;
	struct bufferevent *bev;
	struct errbuf eb;
	SSL *ssl;

	if ((ssl = smtpc_tls_ssl_new(ctx, host, smtpc_verifies(s), &eb)) ==
	    NULL) {
		smtpc_fail(s, SMTPC_STAGE_TLS, NULL, "%s", eb.msg);
		return;
	}
	if (next == SMTPC_TLS_CONNECT)
		bev = bufferevent_openssl_socket_new(s->base, s->fd, ssl,
		    BUFFEREVENT_SSL_CONNECTING, opts);
	else
		bev = bufferevent_openssl_filter_new(s->base, s->bev, ssl,
		    BUFFEREVENT_SSL_CONNECTING, opts);
	if (bev == NULL) {
		smtpc_fail(s, SMTPC_STAGE_TLS, NULL,
		    "TLS: cannot set up the connection");
		return;
	}
	if (next == SMTPC_TLS_CONNECT)
		s->fd = -1;
	s->ssl = ssl;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	smtpc_bev_setup(s, bev);
	s->state = next;
	/* Implicit TLS: the connect deadline covers the handshake too. */
	if (next == SMTPC_TLS_UPGRADE)
		smtpc_timer(s, s->cfg.connect_timeout);
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
	char port[16] = "0";
	const char *host = s->cfg.host;

	str_lcpy(s->ip, "?", sizeof(s->ip));
	getnameinfo((const struct sockaddr *)&s->cfg.addr, s->cfg.addrlen,
	    s->ip, sizeof(s->ip), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV);
	s->port = (unsigned)strtoul(port, NULL, 10);
	if (host != NULL && host[0] != '\0' && strcmp(host, s->ip) != 0)
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

static void smtpc_dispatch(struct smtpc_session *s,
    const struct smtpc_reply *r);

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

static void smtpc_send_ehlo(struct smtpc_session *s);

/* The TLS handshake completed (and, when verifying, the certificate
 * and name checked out, or OpenSSL would have failed it). */
static void
smtpc_tls_ready(struct smtpc_session *s)
{
	if (s->state != SMTPC_TLS_CONNECT && s->state != SMTPC_TLS_UPGRADE)
		return;
	s->tls_active = true;
	s->tls_verified = smtpc_verifies(s);
	smtpc_tls_describe(s->ssl, s->out.tls_info, sizeof(s->out.tls_info));
	if (s->state == SMTPC_TLS_CONNECT) {
		s->state = SMTPC_GREETING;
		smtpc_timer(s, s->cfg.command_timeout);
	} else {
		/* RFC 3207 4.2: forget what was said in plaintext. */
		smtpc_send_ehlo(s);
	}
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
		/* A last reply may explain the close (a 421, say). */
		smtpc_read_input(s);
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

/* ---------------------------------------------------------- setup */

static void
smtpc_ready(struct smtpc_session *s)
{
	s->state = SMTPC_IDLE;
	smtpc_timer(s, s->cfg.idle_timeout);
	s->out.stage = SMTPC_STAGE_NONE;
	memset(&s->out.reply, 0, sizeof(s->out.reply));
	s->out.err[0] = '\0';
	smtpc_emit(s, SMTPC_EV_READY);
}

static void
smtpc_send_ehlo(struct smtpc_session *s)
{
	smtpc_command(s, SMTPC_EHLO, "EHLO %s", s->cfg.helo_name);
}

static void
smtpc_on_greeting(struct smtpc_session *s, const struct smtpc_reply *r)
{
	if (r->code != 220) {
		smtpc_fail(s, SMTPC_STAGE_GREETING, r, "%s refused to talk to "
		    "us: %d %s%s%s", s->label, r->code, r->status,
		    r->status[0] ? " " : "", r->text);
		return;
	}
	smtpc_send_ehlo(s);
}

/* Keep the capability lines (all but the first) for smtpc_capabilities. */
static void
smtpc_keep_caps(struct smtpc_session *s, const char *lines)
{
	const char *nl = strchr(lines, '\n');
	char *text = strdup(nl != NULL ? nl + 1 : "");

	free(s->caps_text);
	s->caps_text = text;
}

static void
smtpc_after_ehlo(struct smtpc_session *s)
{
	enum smtpc_tls_mode mode = s->cfg.tls;

	if (!s->tls_active && !s->starttls_refused) {
		if (mode == SMTPC_TLS_STARTTLS && !s->caps.starttls) {
			smtpc_fail(s, SMTPC_STAGE_STARTTLS, NULL, "server at %s "
			    "does not offer STARTTLS", s->label);
			return;
		}
		if (mode == SMTPC_TLS_STARTTLS || (mode ==
		    SMTPC_TLS_OPPORTUNISTIC && s->caps.starttls)) {
			smtpc_command(s, SMTPC_STARTTLS, "STARTTLS");
			return;
		}
	}
	smtpc_begin_auth(s);
}

static void
smtpc_on_ehlo(struct smtpc_session *s, const struct smtpc_reply *r)
{
	const char *lines = s->rd.lines.data != NULL ? s->rd.lines.data : "";

	if (r->code / 100 == 2) {
		smtpc_caps_parse(&s->caps, lines, strlen(lines));
		smtpc_keep_caps(s, lines);
		smtpc_after_ehlo(s);
	} else if (r->code / 100 == 5) {
		/* An old server: no extensions, so no STARTTLS or AUTH,
		 * which after_ehlo then refuses if they are required. */
		smtpc_command(s, SMTPC_HELO, "HELO %s", s->cfg.helo_name);
	} else
		smtpc_fail_reply(s, SMTPC_STAGE_EHLO, r, "EHLO", "");
}

static void
smtpc_on_helo(struct smtpc_session *s, const struct smtpc_reply *r)
{
	if (r->code / 100 != 2) {
		smtpc_fail_reply(s, SMTPC_STAGE_EHLO, r, "HELO", "");
		return;
	}
	memset(&s->caps, 0, sizeof(s->caps));
	smtpc_keep_caps(s, "");
	smtpc_after_ehlo(s);
}

static void
smtpc_on_starttls(struct smtpc_session *s, const struct smtpc_reply *r)
{
	if (r->code == 220) {
		/* Anything after the 220 came in plaintext and would be
		 * read as if it came over TLS (CVE-2011-0411). */
		if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0) {
			smtpc_fail(s, SMTPC_STAGE_STARTTLS, NULL, "%s sent "
			    "data after its STARTTLS reply (possible "
			    "command injection)", s->label);
			return;
		}
		smtpc_tls_start(s, SMTPC_TLS_UPGRADE);
		return;
	}
	if (s->cfg.tls == SMTPC_TLS_OPPORTUNISTIC && r->code != 421) {
		s->starttls_refused = true;
		smtpc_begin_auth(s);
		return;
	}
	smtpc_fail_reply(s, SMTPC_STAGE_STARTTLS, r, "STARTTLS", "");
}

/* Why AUTH cannot start, or NULL when it can (mech chosen). */
static const char *
smtpc_auth_refusal(struct smtpc_session *s, enum smtpc_auth_mode *mech,
    char *why, size_t whylen)
{
	const struct smtpc_config *c = &s->cfg;
	bool pass = c->password != NULL && c->password[0] != '\0';
	bool token = c->oauth2_token != NULL && c->oauth2_token[0] != '\0';

	if (!s->tls_active)
		snprintf(why, whylen, "refusing to send the %s without TLS; "
		    "set tls = starttls or implicit", pass || !token ?
		    "password" : "OAuth2 token");
	else if (!pass && !token)
		snprintf(why, whylen, "no password or token for user %s",
		    c->username);
	else if (!s->caps.auth)
		snprintf(why, whylen, "server does not offer AUTH");
	else if (smtpc_auth_choose(c->auth, s->caps.auth_mechs, pass, token,
	    mech) == -1)
		snprintf(why, whylen, "server offers no usable AUTH mechanism "
		    "(offered: %s)", s->caps.auth_list[0] != '\0' ?
		    s->caps.auth_list : "none");
	else
		return NULL;
	return why;
}

static void
smtpc_begin_auth(struct smtpc_session *s)
{
	const struct smtpc_config *c = &s->cfg;
	enum smtpc_auth_mode mech = SMTPC_AUTH_NONE;
	struct errbuf eb;
	struct buf line;
	char why[256];

	if (c->username == NULL || c->auth == SMTPC_AUTH_NONE) {
		smtpc_ready(s);
		return;
	}
	if (smtpc_auth_refusal(s, &mech, why, sizeof(why)) != NULL) {
		smtpc_fail(s, SMTPC_STAGE_AUTH, NULL, "%s", why);
		return;
	}
	smtpc_auth_init(&s->auth, mech, c->username, c->password,
	    c->oauth2_token);
	buf_init(&line, 0);
	if (smtpc_auth_start(&s->auth, &line, &eb) == -1) {
		smtpc_auth_wipe(&line);
		smtpc_fail(s, SMTPC_STAGE_AUTH, NULL, "%s", eb.msg);
		return;
	}
	s->state = SMTPC_AUTH;
	smtpc_command_secret(s, &line);
	smtpc_auth_wipe(&line);
}

static void
smtpc_on_auth(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct errbuf eb;
	struct buf line;
	char cmd[32];

	buf_init(&line, 0);
	switch (smtpc_auth_step(&s->auth, r->code, r->text, &line, &eb)) {
	case SMTPC_AUTH_DONE:
		smtpc_ready(s);
		break;
	case SMTPC_AUTH_SEND:
		smtpc_command_secret(s, &line);
		break;
	case SMTPC_AUTH_FAIL:
		snprintf(cmd, sizeof(cmd), "AUTH %s",
		    smtpc_auth_mech_name(s->auth.mech));
		if (r->code == 334)
			smtpc_fail(s, SMTPC_STAGE_AUTH, r, "%s: %s", s->label,
			    eb.msg);
		else
			smtpc_fail_reply(s, SMTPC_STAGE_AUTH, r, cmd, eb.msg);
		break;
	}
	smtpc_auth_wipe(&line);
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

/* ---------------------------------------------------------- transaction */

static const enum smtpc_stage smtpc_step_stage[] = { SMTPC_STAGE_MAIL,
	SMTPC_STAGE_MAIL, SMTPC_STAGE_RCPT, SMTPC_STAGE_DATA,
	SMTPC_STAGE_DOT };
static const char *const smtpc_step_name[] = { "RSET", "MAIL FROM",
	"RCPT TO", "DATA", "end of data" };

/* Advance c to the next command: RSET, MAIL, each recipient not refused
 * locally, DATA, END. */
static void
smtpc_cursor_next(const struct smtpc_txn *t, struct smtpc_cursor *c)
{
	switch (c->step) {
	case SMTPC_STEP_RSET:
		c->step = SMTPC_STEP_MAIL;
		return;
	case SMTPC_STEP_MAIL:
		c->step = SMTPC_STEP_RCPT;
		c->rcpt = 0;
		break;
	case SMTPC_STEP_RCPT:
		c->rcpt++;
		break;
	default:
		c->step = SMTPC_STEP_END;
		return;
	}
	while (c->rcpt < t->msg->nrcpts && t->rstate[c->rcpt] == SMTPC_R_SKIP)
		c->rcpt++;
	if (c->rcpt == t->msg->nrcpts)
		c->step = SMTPC_STEP_DATA;
}

/* The text of command c into s->cmd. */
static int
smtpc_txn_cmd(struct smtpc_session *s, const struct smtpc_cursor *c)
{
	struct smtpc_msg *m = s->txn.msg;

	buf_reset(&s->cmd);
	switch (c->step) {
	case SMTPC_STEP_RSET:
		return buf_puts(&s->cmd, "RSET\r\n");
	case SMTPC_STEP_MAIL:
		return smtpc_cmd_mail(&s->cmd, m, &s->caps);
	case SMTPC_STEP_RCPT:
		return smtpc_cmd_rcpt(&s->cmd, &m->rcpts[c->rcpt], &s->caps);
	case SMTPC_STEP_DATA:
		return buf_puts(&s->cmd, "DATA\r\n");
	default:
		return -1;
	}
}

/* Send the next command, or with PIPELINING all of them in one write
 * (RFC 2920: DATA ends the group). */
static void
smtpc_txn_send(struct smtpc_session *s, bool all)
{
	struct smtpc_txn *t = &s->txn;
	struct evbuffer *group = evbuffer_new();

	if (group == NULL) {
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "out of memory");
		return;
	}
	do {
		if (smtpc_txn_cmd(s, &t->sent) == -1 ||
		    evbuffer_add(group, s->cmd.data, s->cmd.len) == -1) {
			evbuffer_free(group);
			smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s command too "
			    "long", smtpc_step_name[t->sent.step]);
			return;
		}
		smtpc_cursor_next(t, &t->sent);
	} while (all && t->sent.step != SMTPC_STEP_END);
	if (bufferevent_write_buffer(s->bev, group) == -1)
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "cannot queue output");
	else
		smtpc_timer(s, s->cfg.command_timeout);
	evbuffer_free(group);
}

/* The transaction is over: every recipient has its reply.  Report SENT
 * (from the event loop when later). */
static void
smtpc_txn_end(struct smtpc_session *s, bool later)
{
	struct smtpc_txn *t = &s->txn;
	struct smtpc_msg *m = t->msg;
	const struct smtpc_reply *refused = NULL, *skipped = NULL;
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		/* Never got to RCPT: MAIL was refused. */
		if (t->rstate[i] == SMTPC_R_PENDING)
			m->rcpts[i].reply = t->reply;
		if (t->rstate[i] == SMTPC_R_NO)
			refused = &m->rcpts[i].reply;
		else if (t->rstate[i] == SMTPC_R_SKIP && skipped == NULL)
			skipped = &m->rcpts[i].reply;
	}
	if (t->stage == SMTPC_STAGE_NONE && t->accepted == 0) {
		/* The server's refusal explains more than ours. */
		t->stage = SMTPC_STAGE_RCPT;
		t->local = refused == NULL;
		if (refused != NULL || skipped != NULL)
			t->reply = refused != NULL ? *refused : *skipped;
	}
	s->out.stage = t->stage;
	s->out.reply = t->reply;
	if (t->stage == SMTPC_STAGE_NONE)
		s->out.err[0] = '\0';
	else if (t->local)
		snprintf(s->out.err, sizeof(s->out.err), "not sent to %s: "
		    "%d %s %s", s->label, t->reply.code, t->reply.status,
		    t->reply.text);
	else
		snprintf(s->out.err, sizeof(s->out.err), "%s said: %d %s%s%s "
		    "(in reply to %s)", s->label, t->reply.code,
		    t->reply.status, t->reply.status[0] ? " " : "",
		    t->reply.text, smtpc_stage_name(t->stage));
	smtpc_txn_free(t);
	s->in_txn = false;
	s->state = SMTPC_IDLE;
	smtpc_timer(s, s->cfg.idle_timeout);
	if (later)
		smtpc_emit_later(s, SMTPC_EV_SENT);
	else
		smtpc_emit(s, SMTPC_EV_SENT);
}

/* Lockstep (no PIPELINING): after a reply, send the next command unless
 * there is no point any more. */
static void
smtpc_txn_continue(struct smtpc_session *s)
{
	struct smtpc_txn *t = &s->txn;
	bool go;

	switch (t->want.step) {
	case SMTPC_STEP_MAIL:
		go = true;
		break;
	case SMTPC_STEP_RCPT:
		go = t->mail_ok;
		break;
	case SMTPC_STEP_DATA:
		go = t->mail_ok && t->accepted > 0;
		break;
	default:
		go = false;
		break;
	}
	if (go)
		smtpc_txn_send(s, false);
	else
		smtpc_txn_end(s, false);
}

/* Give the accepted recipients reply r. */
static void
smtpc_txn_accepted_get(struct smtpc_txn *t, const struct smtpc_reply *r)
{
	size_t i;

	for (i = 0; i < t->msg->nrcpts; i++)
		if (t->rstate[i] == SMTPC_R_OK)
			t->msg->rcpts[i].reply = *r;
}

static void smtpc_body_start(struct smtpc_session *s);

static void
smtpc_txn_data_reply(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = &s->txn;

	if (r->code == 354 && t->mail_ok && t->accepted > 0) {
		smtpc_body_start(s);
		return;
	}
	if (r->code == 354) {
		/* Pipelined DATA got 354 though nobody was accepted: the
		 * server now reads message data, so RSET would be taken as
		 * text.  An empty message ends it, for nobody (RFC 2920
		 * 3.1); its reply does not matter. */
		s->state = SMTPC_DRAIN;
		if (smtpc_write(s, ".\r\n", 3))
			smtpc_timer(s, s->cfg.command_timeout);
		return;
	}
	if (t->mail_ok && t->accepted > 0) {
		t->stage = SMTPC_STAGE_DATA;
		t->reply = *r;
		smtpc_txn_accepted_get(t, r);
	}
	smtpc_txn_end(s, false);
}

/* A reply within the transaction, for the command at t->want. */
static void
smtpc_txn_reply(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = &s->txn;
	struct smtpc_cursor c = t->want;

	smtpc_cursor_next(t, &t->want);
	if (r->code == 421) {
		smtpc_fail_reply(s, smtpc_step_stage[c.step], r,
		    smtpc_step_name[c.step], "");
		return;
	}
	switch (c.step) {
	case SMTPC_STEP_RSET:
		if (r->code / 100 != 2) {
			smtpc_fail_reply(s, SMTPC_STAGE_MAIL, r, "RSET", "");
			return;
		}
		s->need_rset = false;
		break;
	case SMTPC_STEP_MAIL:
		t->mail_ok = r->code / 100 == 2;
		s->need_rset = t->mail_ok;
		if (!t->mail_ok) {
			t->stage = SMTPC_STAGE_MAIL;
			t->reply = *r;
		}
		break;
	case SMTPC_STEP_RCPT:
		/* After a refused MAIL these are "503 need MAIL"; the
		 * recipients get the MAIL reply instead. */
		if (!t->mail_ok)
			break;
		t->msg->rcpts[c.rcpt].reply = *r;
		t->rstate[c.rcpt] = r->code / 100 == 2 ? SMTPC_R_OK : SMTPC_R_NO;
		t->accepted += r->code / 100 == 2;
		break;
	case SMTPC_STEP_DATA:
		smtpc_txn_data_reply(s, r);
		return;
	default:
		return;
	}
	if (!s->caps.pipelining)
		smtpc_txn_continue(s);
}

static void
smtpc_on_dot(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = &s->txn;

	s->need_rset = false;
	if (r->code == 421) {
		smtpc_fail_reply(s, SMTPC_STAGE_DOT, r, "end of data", "");
		return;
	}
	smtpc_txn_accepted_get(t, r);
	if (r->code / 100 != 2) {
		t->stage = SMTPC_STAGE_DOT;
		t->reply = *r;
	}
	smtpc_txn_end(s, false);
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
	case SMTPC_QUIT:
		smtpc_closed(s);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------------- message */

/* pread all of n octets unless the file ends; -1 with errno. */
static ssize_t
smtpc_pread(int fd, char *p, size_t n, off_t off)
{
	ssize_t r;

	do
		r = pread(fd, p, n, off);
	while (r == -1 && errno == EINTR);
	return r;
}

static bool
smtpc_encode_into(struct smtpc_session *s, const char *in, size_t len,
    bool head)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct evbuffer_iovec v;

	if (evbuffer_reserve_space(out, (ev_ssize_t)SMTPC_DATA_MAX(len), &v,
	    1) < 1) {
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "out of memory");
		return false;
	}
	v.iov_len = head ? smtpc_data_head(&s->txn.enc, in, len, v.iov_base) :
	    smtpc_data_body(&s->txn.enc, in, len, v.iov_base);
	evbuffer_commit_space(out, &v, 1);
	return true;
}

static void
smtpc_body_end(struct smtpc_session *s)
{
	char end[8];
	size_t n = smtpc_data_end(&s->txn.enc, end);

	s->state = SMTPC_DOT;
	if (smtpc_write(s, end, n))
		smtpc_timer(s, s->cfg.command_timeout);
}

/* Top up the output buffer from the body file; the write callback
 * calls again as it drains. */
static void
smtpc_body_fill(struct smtpc_session *s)
{
	struct evbuffer *out = bufferevent_get_output(s->bev);
	struct smtpc_txn *t = &s->txn;
	struct smtpc_msg *m = t->msg;
	uint64_t left;
	ssize_t got;

	while (evbuffer_get_length(out) < SMTPC_OUT_HIGH) {
		if ((left = m->body_len - t->body_done) == 0) {
			smtpc_body_end(s);
			return;
		}
		got = smtpc_pread(m->body_fd, t->chunk, left < SMTPC_CHUNK ?
		    (size_t)left : SMTPC_CHUNK,
		    m->body_off + (off_t)t->body_done);
		if (got <= 0) {
			/* No "." now: a cut message must not be delivered.
			 * Closing the connection aborts the transaction. */
			smtpc_fail(s, SMTPC_STAGE_IO, NULL, "read the message "
			    "body: %s", got == 0 ? "file shorter than "
			    "expected" : strerror(errno));
			return;
		}
		if (!smtpc_encode_into(s, t->chunk, (size_t)got, false))
			return;
		t->body_done += (uint64_t)got;
	}
	smtpc_timer(s, s->cfg.command_timeout);
}

static void
smtpc_body_start(struct smtpc_session *s)
{
	struct smtpc_msg *m = s->txn.msg;

	s->state = SMTPC_BODY;
	smtpc_data_init(&s->txn.enc);
	if (m->head_len > 0 && !smtpc_encode_into(s, m->head, m->head_len,
	    true))
		return;
	smtpc_body_fill(s);
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

/* Set up the transaction of msg; -1 when out of memory. */
static int
smtpc_txn_init(struct smtpc_session *s, struct smtpc_msg *msg)
{
	struct smtpc_txn *t = &s->txn;
	size_t i;

	memset(t, 0, sizeof(*t));
	t->msg = msg;
	t->rstate = malloc(msg->nrcpts);
	t->chunk = malloc(SMTPC_CHUNK);
	if (t->rstate == NULL || t->chunk == NULL) {
		smtpc_txn_free(t);
		return -1;
	}
	for (i = 0; i < msg->nrcpts; i++) {
		struct smtpc_rcpt *r = &msg->rcpts[i];

		t->rstate[i] = SMTPC_R_PENDING;
		memset(&r->reply, 0, sizeof(r->reply));
		if (r->addr == NULL || !smtpc_addr_ok(r->addr, msg->smtputf8)) {
			t->rstate[i] = SMTPC_R_SKIP;
			smtpc_reply_set(&r->reply, 553, "5.1.3",
			    "invalid recipient address (not sent)");
		}
	}
	t->want.step = s->need_rset ? SMTPC_STEP_RSET : SMTPC_STEP_MAIL;
	t->sent = t->want;
	s->in_txn = true;
	return 0;
}

/* What keeps the whole transaction from being tried at all, as the reply
 * every recipient gets; false when nothing does. */
static bool
smtpc_txn_refused(struct smtpc_session *s, struct smtpc_reply *r)
{
	struct smtpc_msg *m = s->txn.msg;
	char text[160];

	if (m->sender == NULL || !smtpc_addr_ok(m->sender, m->smtputf8))
		smtpc_reply_set(r, 553, "5.1.7", "invalid sender address "
		    "(not sent)");
	else if (m->smtputf8 && !s->caps.smtputf8)
		smtpc_reply_set(r, 553, "5.6.7", "server does not support "
		    "SMTPUTF8");
	/* RFC 8689 5: a REQUIRETLS message goes only to a server that
	 * offers it, over a verified TLS session. */
	else if (m->requiretls && !s->caps.requiretls)
		smtpc_reply_set(r, 550, "5.7.30", "server does not offer "
		    "REQUIRETLS");
	else if (m->requiretls && !s->tls_verified)
		smtpc_reply_set(r, 550, "5.7.30", "REQUIRETLS needs a "
		    "verified TLS session");
	else if (s->caps.size_max > 0 && m->size > s->caps.size_max) {
		snprintf(text, sizeof(text), "message size %llu exceeds the "
		    "server's limit of %llu", (unsigned long long)m->size,
		    (unsigned long long)s->caps.size_max);
		smtpc_reply_set(r, 552, "5.3.4", text);
	} else
		return false;
	return true;
}

int
smtpc_send(struct smtpc_session *s, struct smtpc_msg *msg)
{
	struct smtpc_txn *t = &s->txn;
	struct smtpc_reply refusal;
	size_t i;

	if (s->state != SMTPC_IDLE || s->async_pending || s->freed ||
	    msg == NULL || msg->nrcpts == 0 || msg->rcpts == NULL)
		return -1;
	if (smtpc_txn_init(s, msg) == -1)
		return -1;
	if (smtpc_txn_refused(s, &refusal)) {
		for (i = 0; i < msg->nrcpts; i++) {
			if (t->rstate[i] == SMTPC_R_PENDING) {
				t->rstate[i] = SMTPC_R_SKIP;
				msg->rcpts[i].reply = refusal;
			}
		}
		t->stage = SMTPC_STAGE_MAIL;
		t->reply = refusal;
		t->local = true;
	}
	for (i = 0; i < msg->nrcpts; i++)
		if (t->rstate[i] == SMTPC_R_PENDING)
			break;
	if (i == msg->nrcpts) {
		/* Nothing to send: report from the event loop. */
		smtpc_txn_end(s, true);
		return 0;
	}
	s->state = SMTPC_TXN;
	smtpc_txn_send(s, s->caps.pipelining);
	return 0;
}

void
smtpc_quit(struct smtpc_session *s)
{
	if (s == NULL || s->freed || s->state == SMTPC_DONE ||
	    s->state == SMTPC_QUIT)
		return;
	if (s->state == SMTPC_IDLE) {
		smtpc_command(s, SMTPC_QUIT, "QUIT");
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
