/*
 * sendmail_smtp: the host of an SMTP session on standard input and
 * output (see sendmail_smtp.h).
 *
 * The engine decides everything SMTP; this file only moves bytes and
 * commits.  Input is read in blocks and handed to the engine until it
 * leaves SMTPD_RUN: whatever it did not take (commands pipelined
 * behind DATA's end) stays in the block and is offered again once the
 * commit is answered, so replies keep the order of the commands.
 * Output is written out in full after every step, before blocking on
 * input again: a client waits for its replies.  A message is in the
 * queue, fsynced, before its 250 is written.
 */
#include "autoconf.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "errbuf.h"
#include "log.h"
#include "queue.h"
#include "sendmail_smtp.h"
#include "smtpd_proto.h"
#include "submit.h"

/* The [listen] defaults: a local user gets what a network client gets. */
#define SENDMAIL_SMTP_MAX_RCPTS 1000
#define SENDMAIL_SMTP_MAX_ERRORS 10
#define SENDMAIL_SMTP_BLOCK 65536
/* At most one line of a terminal in canonical mode, CRs still to add. */
#define SENDMAIL_SMTP_TTY_READ 4096

enum sendmail_smtp_io {
	SENDMAIL_SMTP_DATA,
	SENDMAIL_SMTP_EOF,
	SENDMAIL_SMTP_TIMEOUT,
	SENDMAIL_SMTP_ERROR,
};

struct sendmail_smtp {
	const struct sendmail_smtp_host *h;
	struct smtpd_proto *p;
	char client[64];
	bool eof;        /* the engine has been told */
	bool timed_out;
	bool tty;        /* input is typed at a terminal */
	bool tty_cr;     /* the last byte typed was a CR */
	size_t start;    /* in[start..end) is not consumed yet */
	size_t end;
	char in[SENDMAIL_SMTP_BLOCK];
};

static void
sendmail_smtp_log(int prio, const char *line, void *arg)
{
	(void)arg;
	log_msg(prio, "%s", line);
}

/* Wait until fd is ready for events; 0, or -1 on timeout or error. */
static int
sendmail_smtp_wait(int fd, short events)
{
	struct pollfd pfd;
	int r;

	pfd.fd = fd;
	pfd.events = events;
	do
		r = poll(&pfd, 1, SENDMAIL_SMTP_IDLE * 1000);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		errno = ETIMEDOUT;
	return r > 0 ? 0 : -1;
}

/* Send every pending reply. */
static int
sendmail_smtp_flush(struct sendmail_smtp *s)
{
	struct buf *out = smtpd_proto_output(s->p);
	size_t off = 0;
	ssize_t n;
	int rc = 0;

	while (rc == 0 && off < out->len) {
		if (sendmail_smtp_wait(s->h->out_fd, POLLOUT) < 0) {
			rc = -1;
			break;
		}
		n = write(s->h->out_fd, out->data + off, out->len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			rc = -1;
		else
			off += (size_t)n;
	}
	if (rc < 0)
		fprintf(stderr, "%s: cannot write the SMTP reply to standard "
		    "output: %s\n", s->h->prog, strerror(errno));
	buf_reset(out);
	return rc;
}

/* A person at a terminal: the terminal turns Enter into a bare LF, and
 * the engine never takes a bare-LF "." as the end of DATA.  What a
 * person types is no smuggling attempt, so LF becomes CRLF here. */
static size_t
sendmail_smtp_tty_crlf(struct sendmail_smtp *s, const char *p, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && !s->tty_cr)
			s->in[o++] = '\r';
		s->in[o++] = p[i];
		s->tty_cr = p[i] == '\r';
	}
	return o;
}

/* Read the next block of input into the empty buffer. */
static enum sendmail_smtp_io
sendmail_smtp_read(struct sendmail_smtp *s)
{
	char typed[SENDMAIL_SMTP_TTY_READ];
	ssize_t n;

	s->start = s->end = 0;
	for (;;) {
		if (sendmail_smtp_wait(s->h->in_fd, POLLIN) < 0)
			return errno == ETIMEDOUT ? SENDMAIL_SMTP_TIMEOUT :
			    SENDMAIL_SMTP_ERROR;
		if (s->tty)
			n = read(s->h->in_fd, typed, sizeof(typed));
		else
			n = read(s->h->in_fd, s->in, sizeof(s->in));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return SENDMAIL_SMTP_ERROR;
		s->end = s->tty ? sendmail_smtp_tty_crlf(s, typed, (size_t)n) :
		    (size_t)n;
		return n == 0 ? SENDMAIL_SMTP_EOF : SENDMAIL_SMTP_DATA;
	}
}

/* A failed commit, as the reply the client gets: the size limit and bad
 * content are the message's fault (5xx), anything else is the queue's
 * and may be retried (4xx). */
static void
sendmail_smtp_fail(struct sendmail_smtp *s, const struct errbuf *eb)
{
	char text[96];

	if (eb->errnum == EMSGSIZE) {
		snprintf(text, sizeof(text), "Message size exceeds fixed "
		    "limit (%llu bytes)",
		    (unsigned long long)s->h->sub->cfg->max_message_size);
		smtpd_proto_commit_fail(s->p, 552, "5.3.4", text);
	} else if (eb->code == EX_DATAERR)
		smtpd_proto_commit_fail(s->p, 554, "5.6.0",
		    "Error: message content rejected");
	else if (eb->code == EX_TEMPFAIL)
		smtpd_proto_commit_fail(s->p, 452, "4.3.1",
		    "Insufficient system storage");
	else
		smtpd_proto_commit_fail(s->p, 451, "4.3.0",
		    "Error: queue file write error");
}

static void
sendmail_smtp_commit(struct sendmail_smtp *s)
{
	char id[QUEUE_ID_LEN + 1];
	struct errbuf eb;
	const char *text;
	size_t len = 0;

	text = smtpd_proto_message(s->p, &len);
	errbuf_clear(&eb);
	if (submit_smtp(s->h->sub, smtpd_proto_envelope(s->p), text, len, id,
	    &eb) == 0) {
		log_msg(LOG_INFO, "%s: client=%s", id, s->client);
		smtpd_proto_commit_ok(s->p, id);
		if (s->h->queued != NULL)
			s->h->queued(id, s->h->arg);
		return;
	}
	/* The client gets a reply code only; the reason goes to the log
	 * and, as for a piped message, to standard error. */
	log_msg(LOG_WARNING, "%s: %s", s->client, eb.msg);
	if (!log_to_stderr())
		fprintf(stderr, "%s: %s\n", s->h->prog, eb.msg);
	sendmail_smtp_fail(s, &eb);
}

/* Input ended or failed, or the client went silent: tell the engine. */
static int
sendmail_smtp_no_input(struct sendmail_smtp *s, enum sendmail_smtp_io io)
{
	char reply[320];

	if (io == SENDMAIL_SMTP_TIMEOUT) {
		log_msg(LOG_INFO, "timeout after %d seconds from %s",
		    SENDMAIL_SMTP_IDLE, s->client);
		snprintf(reply, sizeof(reply), "421 4.4.2 %s Error: timeout "
		    "exceeded", s->h->sub->cfg->hostname);
		s->timed_out = true;
		smtpd_proto_shutdown(s->p, reply);
		return -1;
	}
	s->eof = true;
	smtpd_proto_eof(s->p);
	if (io == SENDMAIL_SMTP_EOF)
		return -1;
	fprintf(stderr, "%s: cannot read SMTP commands from standard input: "
	    "%s\n", s->h->prog, strerror(errno));
	return EX_IOERR;
}

/* In SMTPD_RUN: offer the engine what it has not taken yet, or read
 * more.  Returns -1 to go on, or the exit status. */
static int
sendmail_smtp_step(struct sendmail_smtp *s)
{
	enum sendmail_smtp_io io;
	size_t n, left = s->end - s->start;

	if (left > 0) {
		n = smtpd_proto_input(s->p, s->in + s->start, left);
		if (n == 0 && smtpd_proto_state(s->p) == SMTPD_RUN) {
			/* It would be offered the same bytes forever. */
			fprintf(stderr, "%s: internal error: the SMTP engine "
			    "takes no input\n", s->h->prog);
			return EX_SOFTWARE;
		}
		s->start += n < left ? n : left;
		return -1;
	}
	if (s->eof)
		return EX_OK;
	io = sendmail_smtp_read(s);
	if (io == SENDMAIL_SMTP_DATA)
		return -1;
	return sendmail_smtp_no_input(s, io);
}

static int
sendmail_smtp_loop(struct sendmail_smtp *s)
{
	int rc;

	for (;;) {
		if (sendmail_smtp_flush(s) < 0)
			return EX_IOERR;
		switch (smtpd_proto_state(s->p)) {
		case SMTPD_RUN:
			if ((rc = sendmail_smtp_step(s)) >= 0)
				return rc;
			break;
		case SMTPD_COMMIT:
			sendmail_smtp_commit(s);
			break;
		case SMTPD_CLOSE:
			return s->timed_out ? EX_TEMPFAIL : EX_OK;
		default:
			/* STARTTLS and AUTH are never offered here. */
			fprintf(stderr, "%s: internal error: the SMTP engine "
			    "asked for STARTTLS or AUTH\n", s->h->prog);
			return EX_SOFTWARE;
		}
	}
}

static void
sendmail_smtp_conf(const struct sendmail_smtp *s, struct smtpd_proto_conf *c)
{
	const struct config *cfg = s->h->sub->cfg;

	memset(c, 0, sizeof(*c));
	c->hostname = cfg->hostname;
	c->origin = cfg->origin;
	/* The setgid program reads no aliases: a trusted client may write
	 * anywhere, so they would decide nothing here. */
	c->aliases = NULL;
	c->client = s->client;
	c->max_message_size = cfg->max_message_size;
	c->max_recipients = SENDMAIL_SMTP_MAX_RCPTS;
	c->max_errors = SENDMAIL_SMTP_MAX_ERRORS;
	c->starttls = false;
	c->tls = false;
	c->auth = CONFIG_LAUTH_NONE;
	c->trusted = true;
	c->local = true;
}

int
sendmail_smtp_run(const struct sendmail_smtp_host *h)
{
	struct smtpd_proto_conf conf;
	struct sendmail_smtp *s;
	struct buf counts;
	int rc;

	/* A client that goes away must cost a write error (74), not a
	 * silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return EX_TEMPFAIL;
	s->h = h;
	s->tty = isatty(h->in_fd) == 1;
	/* Not "name[address]": there is no address, and a log watcher must
	 * not take a local user for 127.0.0.1. */
	snprintf(s->client, sizeof(s->client), "local[uid=%ld]", h->sub->uid);
	sendmail_smtp_conf(s, &conf);
	if ((s->p = smtpd_proto_new(&conf, sendmail_smtp_log, NULL)) == NULL) {
		free(s);
		return EX_TEMPFAIL;
	}
	log_msg(LOG_INFO, "connect from %s", s->client);
	smtpd_proto_start(s->p);
	rc = sendmail_smtp_loop(s);
	buf_init(&counts, 0);
	smtpd_proto_counts(s->p, &counts);
	log_msg(LOG_INFO, "disconnect from %s %s", s->client,
	    counts.data ? counts.data : "");
	buf_fini(&counts);
	smtpd_proto_free(s->p);
	free(s);
	return rc;
}
