/*
 * smtpc_txn: transactions of the SMTP client -- MAIL FROM, RCPT TO...,
 * DATA and the message -- on a READY session (see smtpc.h, smtpc_int.h).
 *
 * With PIPELINING every command of a transaction goes in one write and
 * the replies are matched in order (RFC 2920); without it, one command
 * per reply.  Each recipient ends with one reply: its RCPT refusal, or
 * the reply to DATA or to the final dot.  A transaction that fails part
 * way leaves the server's transaction open; the next one starts with
 * RSET.  The body is streamed from its file with pread, chunk by chunk,
 * as the output drains: never loaded whole.  A transaction-level refusal
 * decided here (SMTPUTF8 or REQUIRETLS not offered, too big) is reported
 * from the event loop, never from inside smtpc_send.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "smtpc.h"
#include "smtpc_int.h"

static void smtpc_body_start(struct smtpc_session *s);

void
smtpc_txn_free(struct smtpc_txn *t)
{
	free(t->rstate);
	free(t->chunk);
	memset(t, 0, sizeof(*t));
}

/* Give every recipient still waiting the failure: the reply when there
 * is one, else code 0 and the error text.  Refused ones keep theirs. */
void
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
void
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
void
smtpc_txn_reply(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = &s->txn;
	struct smtpc_cursor c = t->want;

	/* Each reply of a pipelined group gets its own deadline. */
	smtpc_timer(s, s->cfg.command_timeout);
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
		t->rstate[c.rcpt] = r->code / 100 == 2 ? SMTPC_R_OK :
		    SMTPC_R_NO;
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

void
smtpc_on_dot(struct smtpc_session *s, const struct smtpc_reply *r)
{
	struct smtpc_txn *t = &s->txn;

	s->need_rset = false;
	if (r->code == 421) {
		smtpc_fail_reply(s, SMTPC_STAGE_DOT, r, "end of data", "");
		return;
	}
	if (t->cut && r->code / 100 == 2) {
		/* The dot was never sent: not a delivery. */
		smtpc_fail(s, SMTPC_STAGE_IO, NULL, "%s: connection closed "
		    "while sending the message", s->where);
		return;
	}
	smtpc_txn_accepted_get(t, r);
	if (r->code / 100 != 2) {
		t->stage = SMTPC_STAGE_DOT;
		t->reply = *r;
	}
	smtpc_txn_end(s, false);
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
void
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
			continue;
		}
		/* Build it once now, so sending it cannot fail later. */
		buf_reset(&s->cmd);
		if (smtpc_cmd_rcpt(&s->cmd, r, &s->caps) == -1) {
			t->rstate[i] = SMTPC_R_SKIP;
			smtpc_reply_set(&r->reply, 501, "5.5.4",
			    "recipient parameters too long (not sent)");
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

	buf_reset(&s->cmd);
	if (m->sender == NULL || !smtpc_addr_ok(m->sender, m->smtputf8))
		smtpc_reply_set(r, 553, "5.1.7", "invalid sender address "
		    "(not sent)");
	else if (smtpc_cmd_mail(&s->cmd, m, &s->caps) == -1)
		smtpc_reply_set(r, 501, "5.5.4", "MAIL FROM parameters too "
		    "long (not sent)");
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
	s->in_api = true;
	smtpc_txn_send(s, s->caps.pipelining);
	s->in_api = false;
	return 0;
}
/* ---------------------------------------------------------- try sender */

int
smtpc_try_sender(struct smtpc_session *s, const char *sender)
{
	struct smtpc_msg m;
	bool utf8 = false;
	const char *p;

	if (s->state != SMTPC_IDLE || s->async_pending || s->freed ||
	    s->need_rset || sender == NULL)
		return -1;
	for (p = sender; *p != '\0'; p++)
		utf8 |= (unsigned char)*p >= 0x80;
	if (!smtpc_addr_ok(sender, utf8))
		return -1;
	memset(&m, 0, sizeof(m));
	m.sender = sender;
	m.smtputf8 = utf8 && s->caps.smtputf8;
	buf_reset(&s->cmd);
	if (smtpc_cmd_mail(&s->cmd, &m, &s->caps) == -1)
		return -1;
	memset(&s->try_reply, 0, sizeof(s->try_reply));
	s->state = SMTPC_TRY_MAIL;
	s->in_api = true;
	if (smtpc_write(s, s->cmd.data, s->cmd.len))
		smtpc_timer(s, s->cfg.command_timeout);
	s->in_api = false;
	return 0;
}

void
smtpc_on_try_mail(struct smtpc_session *s, const struct smtpc_reply *r)
{
	if (r->code == 421) {
		smtpc_fail_reply(s, SMTPC_STAGE_MAIL, r, "MAIL FROM", "");
		return;
	}
	/* RSET even after a refusal: the point is to leave nothing open. */
	s->try_reply = *r;
	smtpc_command(s, SMTPC_TRY_RSET, "RSET");
}

void
smtpc_on_try_rset(struct smtpc_session *s, const struct smtpc_reply *r)
{
	const struct smtpc_reply *m = &s->try_reply;

	if (r->code / 100 != 2) {
		smtpc_fail_reply(s, SMTPC_STAGE_MAIL, r, "RSET", "");
		return;
	}
	s->out.reply = *m;
	if (m->code / 100 == 2) {
		s->out.stage = SMTPC_STAGE_NONE;
		s->out.err[0] = '\0';
	} else {
		s->out.stage = SMTPC_STAGE_MAIL;
		snprintf(s->out.err, sizeof(s->out.err), "%s said: %d %s%s%s "
		    "(in reply to MAIL FROM)", s->label, m->code, m->status,
		    m->status[0] ? " " : "", m->text);
	}
	s->state = SMTPC_IDLE;
	smtpc_timer(s, s->cfg.idle_timeout);
	smtpc_emit(s, SMTPC_EV_SENT);
}
