/*
 * Unit tests for smtpd_proto: the SMTP server engine, driven by client
 * scripts.  Every table case runs twice, with the script offered whole
 * and one byte at a time, and must give the same replies, messages and
 * envelopes both ways.  The driver plays the host: it commits messages
 * as Q1, Q2..., accepts alice/secret (user "temp" gets a temporary
 * failure, "locked" a lock-out), and performs STARTTLS by throwing away
 * what the client sent behind the command.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "errbuf.h"
#include "smtpd_proto.h"
#include "unit.h"

#define T_TLS 0x01
#define T_STARTTLS 0x02
#define T_AUTH 0x04
#define T_AUTHREQ 0x08
#define T_TRUSTED 0x10
#define T_LOCAL 0x20
#define T_FAILCOMMIT 0x40
#define T_EOF 0x80
#define T_ROOM 0x100    /* the queue has room for 5000 octets */
#define T_NOROOM 0x200  /* the queue has none */

struct smtpd_test_case {
	const char *name;
	unsigned flags;
	const char *in;
	size_t inlen;      /* 0: strlen(in) */
	const char *in2;   /* sent after the TLS handshake */
	const char *out;   /* replies after the greeting, LF line ends */
	const char *msg;   /* the last message committed */
	const char *env;   /* its envelope, see smtpd_test_env() */
	const char *log;   /* expected in the log */
	const char *counts;
	const char *proto;
	uint64_t size;     /* max_message_size, 0: 10240 */
	size_t rcpts;      /* max_recipients, 0: 100 */
	unsigned errs;     /* max_errors, 0: 10 */
	int end;           /* the state at the end */
};

/* ------------------------------------------------------------ driver */

struct smtpd_test_run {
	struct smtpd_proto *p;
	const struct smtpd_test_case *tc;
	struct buf out;
	struct buf log;
	struct buf msg;
	struct buf env;
	unsigned commits;
	char err[512];
};

static struct aliases *smtpd_test_aliases;

static void
smtpd_test_log(int prio, const char *line, void *arg)
{
	struct smtpd_test_run *r = arg;

	(void)prio;
	buf_puts(&r->log, line);
	buf_putc(&r->log, '\n');
}

static void
smtpd_test_err(struct smtpd_test_run *r, const char *what)
{
	if (r->err[0] == '\0')
		snprintf(r->err, sizeof(r->err), "%s", what);
}

/* Move the engine's output to r->out: every line must end in CRLF. */
static void
smtpd_test_drain(struct smtpd_test_run *r)
{
	struct buf *o = smtpd_proto_output(r->p);
	size_t i;

	for (i = 0; i < o->len; i++) {
		if (o->data[i] == '\r') {
			if (i + 1 >= o->len || o->data[i + 1] != '\n')
				smtpd_test_err(r, "a reply holds a bare CR");
			continue;
		}
		if (o->data[i] == '\n' && (i == 0 || o->data[i - 1] != '\r'))
			smtpd_test_err(r, "a reply ends in a bare LF");
		buf_putc(&r->out, o->data[i]);
	}
	buf_reset(o);
}

/* The envelope in one line: "<sender> 8bit utf8 -> <rcpt> notify=..". */
static void
smtpd_test_env(struct buf *b, const struct envelope *env)
{
	static const char *const rets[] = { "", " ret=full", " ret=hdrs" };
	char notify[64];
	size_t i;

	buf_reset(b);
	buf_printf(b, "<%s>%s%s%s%s%s%s", env->sender ? env->sender : "(null)",
	    env->body == ENVELOPE_BODY_8BITMIME ? " 8bit" : "",
	    env->smtputf8 ? " utf8" : "", env->requiretls ? " requiretls" : "",
	    rets[env->ret], env->envid ? " envid=" : "",
	    env->envid ? env->envid : "");
	for (i = 0; i < env->nrcpts; i++) {
		buf_printf(b, " -> <%s>", env->rcpts[i].addr);
		if (env->rcpts[i].notify != 0 &&
		    envelope_notify_format(env->rcpts[i].notify, notify,
		    sizeof(notify)) == 0)
			buf_printf(b, " notify=%s", notify);
		if (env->rcpts[i].orcpt != NULL)
			buf_printf(b, " orcpt=%s", env->rcpts[i].orcpt);
	}
}

static void
smtpd_test_commit(struct smtpd_test_run *r)
{
	const char *m;
	size_t n;
	char id[16];

	m = smtpd_proto_message(r->p, &n);
	buf_reset(&r->msg);
	buf_append(&r->msg, m, n);
	smtpd_test_env(&r->env, smtpd_proto_envelope(r->p));
	if (r->tc->flags & T_FAILCOMMIT) {
		smtpd_proto_commit_fail(r->p, 452, "4.3.1",
		    "Insufficient system storage");
		return;
	}
	snprintf(id, sizeof(id), "Q%u", ++r->commits);
	smtpd_proto_commit_ok(r->p, id);
}

static void
smtpd_test_auth(struct smtpd_test_run *r)
{
	const char *mech, *user, *pass;

	smtpd_proto_auth_creds(r->p, &mech, &user, &pass);
	if (strcmp(mech, "PLAIN") != 0 && strcmp(mech, "LOGIN") != 0)
		smtpd_test_err(r, "AUTH with a strange mechanism");
	if (strcmp(user, "temp") == 0)
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_TEMPFAIL);
	else if (strcmp(user, "locked") == 0)
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_LOCKED);
	else if (strcmp(user, "alice") == 0 && strcmp(pass, "secret") == 0)
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_OK);
	else
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_FAIL);
	/* The password is wiped (and its memory given back) once the
	 * result is in: asking again finds none. */
	smtpd_proto_auth_creds(r->p, &mech, &user, &pass);
	if (pass[0] != '\0')
		smtpd_test_err(r, "the password outlived the AUTH result");
}

/* Do what the engine waits for, as a host would. */
static void
smtpd_test_host(struct smtpd_test_run *r)
{
	for (;;) {
		smtpd_test_drain(r);
		switch (smtpd_proto_state(r->p)) {
		case SMTPD_COMMIT:
			smtpd_test_commit(r);
			break;
		case SMTPD_AUTH:
			smtpd_test_auth(r);
			break;
		default:
			return;
		}
	}
}

/* The line that put the engine in SMTPD_STARTTLS must be the last one
 * it took: nothing behind it may have been read. */
static void
smtpd_test_check_starttls(struct smtpd_test_run *r, const char *in,
    size_t off)
{
	size_t s;

	if (off == 0 || in[off - 1] != '\n') {
		smtpd_test_err(r, "STARTTLS: stopped inside a line");
		return;
	}
	for (s = off - 1; s > 0 && in[s - 1] != '\n'; s--)
		;
	if (strncasecmp(in + s, "STARTTLS", 8) != 0)
		smtpd_test_err(r, "STARTTLS: read past the command");
}

/* Feed in[0..len) in chunks; returns at STARTTLS (the rest is
 * discarded, as RFC 3207 wants) or at the end. */
static bool
smtpd_test_feed(struct smtpd_test_run *r, const char *in, size_t len,
    size_t chunk)
{
	size_t off = 0, n, used;

	while (off < len) {
		if (smtpd_proto_state(r->p) == SMTPD_STARTTLS) {
			smtpd_test_check_starttls(r, in, off);
			return true;
		}
		n = len - off < chunk ? len - off : chunk;
		used = smtpd_proto_input(r->p, in + off, n);
		if (used > n)
			smtpd_test_err(r, "input used more than it got");
		if (smtpd_proto_state(r->p) == SMTPD_RUN && used != n)
			smtpd_test_err(r, "input left bytes while running");
		if (smtpd_proto_state(r->p) == SMTPD_CLOSE && used != n)
			smtpd_test_err(r, "input left bytes after close");
		if (used == 0 && smtpd_proto_state(r->p) == SMTPD_RUN)
			return false;
		off += used;
		smtpd_test_host(r);
	}
	if (smtpd_proto_state(r->p) == SMTPD_STARTTLS) {
		smtpd_test_check_starttls(r, in, off);
		return true;
	}
	return false;
}

/* The host's free-space check: arg is the case's flags. */
static bool
smtpd_test_space_ok(uint64_t size, void *arg)
{
	const unsigned *flags = arg;

	return (*flags & T_ROOM) != 0 && size <= 5000;
}

static void
smtpd_test_conf(struct smtpd_proto_conf *c, const struct smtpd_test_case *tc)
{
	memset(c, 0, sizeof(*c));
	c->hostname = "mx.example.org";
	c->origin = "example.org";
	c->aliases = smtpd_test_aliases;
	c->client = "unknown[192.0.2.1]";
	c->max_message_size = tc->size ? tc->size : 10240;
	c->max_recipients = tc->rcpts ? tc->rcpts : 100;
	c->max_errors = tc->errs ? tc->errs : 10;
	c->tls = (tc->flags & T_TLS) != 0;
	c->starttls = (tc->flags & T_STARTTLS) != 0;
	c->auth = tc->flags & T_AUTHREQ ? CONFIG_LAUTH_REQUIRED :
	    tc->flags & T_AUTH ? CONFIG_LAUTH_OPTIONAL : CONFIG_LAUTH_NONE;
	c->trusted = (tc->flags & T_TRUSTED) != 0;
	c->local = (tc->flags & T_LOCAL) != 0;
	if (tc->flags & (T_ROOM | T_NOROOM)) {
		c->space_ok = smtpd_test_space_ok;
		c->space_arg = (void *)&tc->flags;
	}
}

#define GREETING "220 mx.example.org ESMTP tern\n"

static void
smtpd_test_start(struct smtpd_test_run *r, const struct smtpd_test_case *tc)
{
	struct smtpd_proto_conf conf;

	memset(r, 0, sizeof(*r));
	r->tc = tc;
	buf_init(&r->out, 0);
	buf_init(&r->log, 0);
	buf_init(&r->msg, 0);
	buf_init(&r->env, 0);
	smtpd_test_conf(&conf, tc);
	r->p = smtpd_proto_new(&conf, smtpd_test_log, r);
	assert_non_null(r->p);
	smtpd_proto_start(r->p);
	smtpd_test_drain(r);
	if (strcmp(r->out.data, GREETING) != 0)
		smtpd_test_err(r, "no greeting");
	buf_reset(&r->out);
}

static void
smtpd_test_stop(struct smtpd_test_run *r)
{
	smtpd_proto_free(r->p);
	buf_fini(&r->out);
	buf_fini(&r->log);
	buf_fini(&r->msg);
	buf_fini(&r->env);
}

static void
smtpd_test_play(struct smtpd_test_run *r, const struct smtpd_test_case *tc,
    size_t chunk)
{
	size_t len = tc->inlen ? tc->inlen : strlen(tc->in);

	smtpd_test_start(r, tc);
	if (smtpd_test_feed(r, tc->in, len, chunk)) {
		smtpd_test_drain(r);
		smtpd_proto_tls_started(r->p);
		if (smtpd_proto_state(r->p) != SMTPD_RUN)
			smtpd_test_err(r, "not running after TLS");
		if (tc->in2 != NULL)
			smtpd_test_feed(r, tc->in2, strlen(tc->in2), chunk);
	}
	if (tc->flags & T_EOF) {
		smtpd_proto_eof(r->p);
		smtpd_test_host(r);
	}
	smtpd_test_drain(r);
}

static const char *const smtpd_test_states[] = { "RUN", "STARTTLS",
	"AUTH", "COMMIT", "CLOSE" };

/* Compare one run with the case; returns a complaint or NULL. */
static const char *
smtpd_test_check(struct smtpd_test_run *r, const struct smtpd_test_case *tc,
    struct buf *why)
{
	struct buf counts;
	int st = (int)smtpd_proto_state(r->p);

	buf_init(&counts, 0);
	smtpd_proto_counts(r->p, &counts);
	if (r->err[0] != '\0')
		buf_printf(why, "driver: %s", r->err);
	else if (strcmp(r->out.data ? r->out.data : "", tc->out) != 0)
		buf_printf(why, "replies:\n%s\nwant:\n%s", r->out.data ?
		    r->out.data : "", tc->out);
	else if (tc->msg != NULL && (r->msg.data == NULL ||
	    strcmp(r->msg.data, tc->msg) != 0))
		buf_printf(why, "message [%s], want [%s]", r->msg.data ?
		    r->msg.data : "(none)", tc->msg);
	else if (tc->env != NULL && (r->env.data == NULL ||
	    strcmp(r->env.data, tc->env) != 0))
		buf_printf(why, "envelope [%s], want [%s]", r->env.data ?
		    r->env.data : "(none)", tc->env);
	else if (tc->log != NULL && (r->log.data == NULL ||
	    strstr(r->log.data, tc->log) == NULL))
		buf_printf(why, "log:\n%s\nwant:\n%s", r->log.data ?
		    r->log.data : "", tc->log);
	else if (tc->counts != NULL && strcmp(counts.data, tc->counts) != 0)
		buf_printf(why, "counts [%s], want [%s]", counts.data,
		    tc->counts);
	else if (tc->proto != NULL &&
	    strcmp(smtpd_proto_protocol(r->p), tc->proto) != 0)
		buf_printf(why, "protocol %s, want %s",
		    smtpd_proto_protocol(r->p), tc->proto);
	else if (st != tc->end)
		buf_printf(why, "state %s, want %s", smtpd_test_states[st],
		    smtpd_test_states[tc->end]);
	buf_fini(&counts);
	return why->len > 0 ? why->data : NULL;
}

static void
smtpd_test_case_run(void **state)
{
	const struct smtpd_test_case *tc = *state;
	static const size_t chunks[] = { (size_t)-1, 1 };
	struct smtpd_test_run r;
	struct buf why;
	size_t i;

	for (i = 0; i < 2; i++) {
		buf_init(&why, 0);
		smtpd_test_play(&r, tc, chunks[i]);
		if (smtpd_test_check(&r, tc, &why) != NULL)
			fail_msg("%s (%s): %s", tc->name, i ? "byte by byte" :
			    "whole", why.data);
		smtpd_test_stop(&r);
		buf_fini(&why);
	}
}

/* ------------------------------------------------------------- cases */

#define EHLO_SZ(size, mid) "250-mx.example.org\n250-PIPELINING\n" \
	"250-SIZE " size "\n" mid "250-ENHANCEDSTATUSCODES\n250-8BITMIME\n" \
	"250-DSN\n250-SMTPUTF8\n250 CHUNKING\n"
#define EHLO_LIST(mid) EHLO_SZ("10240", mid)
#define EHLO_R EHLO_LIST("")
#define EHLO_STLS EHLO_LIST("250-STARTTLS\n")
#define EHLO_TLS EHLO_LIST("250-REQUIRETLS\n")
#define EHLO_AUTH EHLO_LIST("250-AUTH PLAIN LOGIN\n250-REQUIRETLS\n")

#define EH "EHLO client.example\r\n"
#define MF "MAIL FROM:<alice@example.com>\r\n"
#define RT "RCPT TO:<postmaster@mx.example.org>\r\n"
#define TX EH MF RT
#define OK_MAIL "250 2.1.0 Ok\n"
#define OK_RCPT "250 2.1.5 Ok\n"
#define TX_R EHLO_R OK_MAIL OK_RCPT
#define GO "354 End data with <CR><LF>.<CR><LF>\n"
#define Q1 "250 2.0.0 Ok: queued as Q1\n"
#define Q2 "250 2.0.0 Ok: queued as Q2\n"
#define OK "250 2.0.0 Ok\n"
#define ENV_TX "<alice@example.com> -> <postmaster@mx.example.org>"
#define PLAIN_OK "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"
#define AUTHED "235 2.7.0 Authentication successful\n"
#define SYN_MAIL "501 5.5.4 Syntax: MAIL FROM:<address>\n"
#define SYN_RCPT "501 5.5.4 Syntax: RCPT TO:<address>\n"
#define DENIED(a) "554 5.7.1 <" a ">: Relay access denied"
#define UNKNOWN "500 5.5.2 Error: command not recognized\n"
#define BAD64 "501 5.5.2 Cannot decode response\n"
#define AUTHFAIL "535 5.7.8 Error: authentication failed\n"
#define TLSAUTH (T_TLS | T_AUTH)

static const struct smtpd_test_case smtpd_test_cases[] = {
	/* Greeting and EHLO. */
	{ .name = "nothing", .in = "", .out = "" },
	{ .name = "ehlo", .in = EH, .out = EHLO_R, .proto = "ESMTP" },
	{ .name = "ehlo offers starttls", .flags = T_STARTTLS, .in = EH,
	  .out = EHLO_STLS },
	{ .name = "ehlo in tls, auth none", .flags = T_TLS, .in = EH,
	  .out = EHLO_TLS, .proto = "ESMTPS" },
	{ .name = "ehlo in tls with auth", .flags = TLSAUTH, .in = EH,
	  .out = EHLO_AUTH },
	{ .name = "no starttls inside tls", .flags = T_TLS | T_STARTTLS,
	  .in = EH, .out = EHLO_TLS },
	{ .name = "no auth outside tls", .flags = T_AUTH | T_STARTTLS,
	  .in = EH, .out = EHLO_STLS },
	{ .name = "helo", .in = "HELO client.example\r\n",
	  .out = "250 mx.example.org\n", .proto = "SMTP" },
	{ .name = "ehlo without name", .in = "EHLO\r\n",
	  .out = "501 5.5.4 Syntax: EHLO hostname\n" },
	{ .name = "helo without name", .in = "HELO \r\n",
	  .out = "501 5.5.4 Syntax: HELO hostname\n" },
	{ .name = "ehlo with control bytes", .in = "EHLO a\001b\r\n",
	  .out = "501 5.5.4 Syntax: EHLO hostname\n" },
	{ .name = "lower case, bare LF", .in = "ehlo x\nmail from:<a@b.example>"
	  "\nrcpt to:<PostMaster>\nnoop   \n", .out = EHLO_R OK_MAIL OK_RCPT
	  OK, .counts = "ehlo=1 mail=1 rcpt=1 noop=1 commands=4" },
	{ .name = "sendmail -bs", .flags = T_LOCAL | T_TRUSTED, .in = EH,
	  .out = EHLO_R, .proto = "local" },

	/* Transactions. */
	{ .name = "full transaction", .in = TX "DATA\r\nSubject: hi\r\n\r\n"
	  "Hello.\r\n.\r\nQUIT\r\n", .out = TX_R GO Q1 "221 2.0.0 Bye\n",
	  .msg = "Subject: hi\n\nHello.\n", .env = ENV_TX,
	  .counts = "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
	  .end = SMTPD_CLOSE },
	{ .name = "pipelined pair", .in = TX "DATA\r\none\r\n.\r\n"
	  "MAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nDATA\r\ntwo\r\n.\r\n"
	  "QUIT\r\n", .out = TX_R GO Q1 OK_MAIL OK_RCPT GO Q2
	  "221 2.0.0 Bye\n", .msg = "two\n", .env = "<> -> <postmaster>",
	  .counts = "ehlo=1 mail=2 rcpt=2 data=2 quit=1 commands=8",
	  .end = SMTPD_CLOSE },
	{ .name = "space after colon", .in = EH "MAIL FROM: <a@b.example>\r\n"
	  "RCPT TO: <postmaster>\r\n", .out = TX_R },
	{ .name = "several spaces before params", .in = EH
	  "MAIL FROM:<a@b.example>   SIZE=10\r\n", .out = EHLO_R OK_MAIL },
	{ .name = "mail before ehlo", .in = MF,
	  .out = "503 5.5.1 Error: send HELO/EHLO first\n" },
	{ .name = "nested mail", .in = EH MF MF,
	  .out = EHLO_R OK_MAIL "503 5.5.1 Error: nested MAIL command\n",
	  .counts = "ehlo=1 mail=1/2 commands=2/3" },
	{ .name = "rcpt without mail", .in = EH RT,
	  .out = EHLO_R "503 5.5.1 Error: need MAIL command\n" },
	{ .name = "data without mail", .in = EH "DATA\r\n",
	  .out = EHLO_R "503 5.5.1 Error: need MAIL command\n" },
	{ .name = "data without rcpt", .in = EH MF "DATA\r\n",
	  .out = EHLO_R OK_MAIL "503 5.5.1 Error: need RCPT command\n" },
	{ .name = "data with argument", .in = TX "DATA x\r\n",
	  .out = TX_R "501 5.5.4 Syntax: DATA\n" },
	{ .name = "mail syntax", .in = EH "MAIL FROM:a@b.example\r\n"
	  "MAIL TO:<a@b.example>\r\nMAIL FROM:<a@b.example>x\r\n"
	  "MAIL FROM:<a@b.example\r\nMAIL\r\n", .out = EHLO_R SYN_MAIL
	  SYN_MAIL SYN_MAIL SYN_MAIL SYN_MAIL },
	{ .name = "bad sender", .in = EH "MAIL FROM:<a b@c.example>\r\n",
	  .out = EHLO_R "501 5.1.7 <a b@c.example>: Bad sender address "
	  "syntax\n", .log = "NOQUEUE: reject: MAIL from unknown[192.0.2.1]: "
	  "501 5.1.7 <a b@c.example>: Bad sender address syntax; "
	  "from=<a b@c.example> proto=ESMTP helo=<client.example>\n" },
	{ .name = "empty mailbox behind a route", .in = EH
	  "MAIL FROM:<@a.example:>\r\nMAIL FROM:<@a.example>\r\n",
	  .out = EHLO_R "501 5.1.7 <@a.example:>: Bad sender address syntax\n"
	  "501 5.1.7 <@a.example>: Bad sender address syntax\n" },
	{ .name = "unqualified sender kept as given", .flags = T_TRUSTED,
	  .in = EH "MAIL FROM:<Root>\r\nRCPT TO:<x@remote.example>\r\n"
	  "DATA\r\n.\r\n", .out = TX_R GO Q1,
	  .env = "<Root> -> <x@remote.example>" },
	{ .name = "null sender", .flags = T_TRUSTED, .in = EH "MAIL FROM:<>"
	  "\r\nRCPT TO:<x@remote.example>\r\nDATA\r\n.\r\n", .out = TX_R GO
	  Q1, .msg = "", .env = "<> -> <x@remote.example>" },
	{ .name = "null recipient", .in = EH MF "RCPT TO:<>\r\n", .out =
	  EHLO_R OK_MAIL "501 5.1.3 <>: Bad recipient address syntax\n" },
	{ .name = "bad recipient", .in = EH MF "RCPT TO:<a@@b>\r\n"
	  "RCPT TO:postmaster\r\n", .out = EHLO_R OK_MAIL "501 5.1.3 <a@@b>: "
	  "Bad recipient address syntax\n" SYN_RCPT,
	  .log = "RCPT from unknown[192.0.2.1]: 501 5.1.3 <a@@b>: Bad "
	  "recipient address syntax; from=<alice@example.com> to=<a@@b> "
	  "proto=ESMTP" },
	{ .name = "unqualified recipient kept as given", .flags = T_TRUSTED,
	  .in = EH MF "RCPT TO:<Root>\r\nDATA\r\n.\r\n", .out = TX_R GO Q1,
	  .env = "<alice@example.com> -> <Root>" },
	{ .name = "quoted local part", .flags = T_TRUSTED, .in = EH MF
	  "RCPT TO:<\"a>b c\"@X.Example>\r\nDATA\r\n.\r\n", .out = TX_R GO Q1,
	  .env = "<alice@example.com> -> <\"a>b c\"@X.Example>" },
	{ .name = "source route stripped for trusted", .flags = T_TRUSTED,
	  .in = EH MF "RCPT TO:<@a.example,@b.example:u@d.example>\r\n"
	  "DATA\r\n.\r\n", .out = TX_R GO Q1,
	  .env = "<alice@example.com> -> <u@d.example>" },
	{ .name = "bad source route", .flags = T_TRUSTED, .in = EH MF
	  "RCPT TO:<@a.example;u@d.example>\r\n", .out = EHLO_R OK_MAIL
	  "501 5.1.3 <@a.example;u@d.example>: Bad recipient address "
	  "syntax\n" },
	{ .name = "source route refused from untrusted", .in = EH MF
	  "RCPT TO:<@mx.example.org:postmaster@mx.example.org>\r\n",
	  .out = EHLO_R OK_MAIL DENIED("@mx.example.org:postmaster@mx.example"
	  ".org") " (source routes are not accepted)\n" },
	{ .name = "relay denied", .in = EH MF "RCPT TO:<x@remote.example>\r\n",
	  .out = EHLO_R OK_MAIL DENIED("x@remote.example") "\n",
	  .log = "NOQUEUE: reject: RCPT from unknown[192.0.2.1]: "
	  DENIED("x@remote.example") "; from=<alice@example.com> "
	  "to=<x@remote.example> proto=ESMTP helo=<client.example>\n",
	  .counts = "ehlo=1 mail=1 rcpt=0/1 commands=2/3" },
	{ .name = "relay denied, then postmaster", .in = EH MF
	  "RCPT TO:<x@remote.example>\r\nRCPT TO:<POSTMASTER@example.org>\r\n"
	  "DATA\r\n.\r\n", .out = EHLO_R OK_MAIL DENIED("x@remote.example")
	  "\n" OK_RCPT GO Q1, .env = "<alice@example.com> -> "
	  "<POSTMASTER@example.org>", .counts = "ehlo=1 mail=1 rcpt=1/2 "
	  "data=1 commands=4/5" },
	{ .name = "percent hack refused", .in = EH MF
	  "RCPT TO:<x%remote.example@mx.example.org>\r\n",
	  .out = EHLO_R OK_MAIL DENIED("x%remote.example@mx.example.org")
	  " (the percent hack is not allowed)\n" },
	{ .name = "trusted relays", .flags = T_TRUSTED, .in = EH MF
	  "RCPT TO:<x@remote.example>\r\n", .out = TX_R },
	{ .name = "authenticated relays", .flags = TLSAUTH, .in = EH PLAIN_OK
	  MF "RCPT TO:<x@remote.example>\r\nDATA\r\n.\r\n", .out = EHLO_AUTH
	  AUTHED OK_MAIL OK_RCPT GO Q1, .proto = "ESMTPSA",
	  .env = "<alice@example.com> -> <x@remote.example>" },
	{ .name = "alias accepted", .in = EH MF "RCPT TO:<Sales>\r\n"
	  "RCPT TO:<sales@EXAMPLE.ORG>\r\nRCPT TO:<nobody>\r\n",
	  .out = TX_R OK_RCPT DENIED("nobody") "\n" },
	{ .name = "helo resets the transaction", .in = TX EH RT,
	  .out = TX_R EHLO_R "503 5.5.1 Error: need MAIL command\n" },
	{ .name = "rset", .in = TX "RSET\r\n" RT, .out = TX_R OK
	  "503 5.5.1 Error: need MAIL command\n" },

	/* SMTPUTF8 and parameters. */
	{ .name = "smtputf8", .flags = T_TRUSTED, .in = EH
	  "MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8\r\n"
	  "RCPT TO:<\xc3\xa5sa@b\xc3\xa4r.example>\r\nDATA\r\n.\r\n",
	  .out = TX_R GO Q1, .env = "<j\xc3\xb6rg@example.com> utf8 -> "
	  "<\xc3\xa5sa@b\xc3\xa4r.example>" },
	{ .name = "utf-8 sender without smtputf8", .in = EH
	  "MAIL FROM:<j\xc3\xb6rg@example.com>\r\n", .out = EHLO_R
	  "553 5.6.7 <j\xc3\xb6rg@example.com>: non-ASCII address needs "
	  "SMTPUTF8\n" },
	{ .name = "utf-8 recipient without smtputf8", .flags = T_TRUSTED,
	  .in = EH MF "RCPT TO:<\xc3\xa5sa@example.org>\r\n", .out = EHLO_R
	  OK_MAIL "553 5.6.7 <\xc3\xa5sa@example.org>: non-ASCII address "
	  "needs SMTPUTF8\n" },
	{ .name = "size too big", .in = EH "MAIL FROM:<a@b.example> "
	  "SIZE=10241\r\n", .out = EHLO_R "552 5.3.4 Message size exceeds "
	  "fixed limit (10240 bytes)\n", .log = "NOQUEUE: reject: MAIL from "
	  "unknown[192.0.2.1]: 552 5.3.4 Message size exceeds fixed limit "
	  "(10240 bytes); from=<a@b.example> proto=ESMTP" },
	{ .name = "size fits", .in = EH "MAIL FROM:<a@b.example> size=10240"
	  "\r\n", .out = EHLO_R OK_MAIL },
	{ .name = "queue full", .flags = T_NOROOM, .in = EH MF
	  "RCPT TO:<bob@example.org>\r\nQUIT\r\n", .out = EHLO_R
	  "452 4.3.1 Insufficient system storage\n"
	  "503 5.5.1 Error: need MAIL command\n221 2.0.0 Bye\n",
	  .log = "NOQUEUE: reject: MAIL from unknown[192.0.2.1]: 452 4.3.1 "
	  "Insufficient system storage; from=<alice@example.com> proto=ESMTP",
	  .end = SMTPD_CLOSE },
	{ .name = "queue has room", .flags = T_ROOM, .in = EH MF,
	  .out = EHLO_R OK_MAIL },
	{ .name = "queue has room for SIZE", .flags = T_ROOM, .in = EH
	  "MAIL FROM:<a@b.example> SIZE=5000\r\n", .out = EHLO_R OK_MAIL },
	{ .name = "queue lacks room for SIZE", .flags = T_ROOM, .in = EH
	  "MAIL FROM:<a@b.example> SIZE=5001\r\nMAIL FROM:<a@b.example>\r\n",
	  .out = EHLO_R "452 4.3.1 Insufficient system storage\n" OK_MAIL },
	{ .name = "bad size", .in = EH "MAIL FROM:<a@b.example> SIZE=1x\r\n"
	  "MAIL FROM:<a@b.example> SIZE\r\nMAIL FROM:<a@b.example> "
	  "SIZE=99999999999999999999999\r\n", .out = EHLO_R
	  "501 5.5.4 Bad SIZE parameter value\n"
	  "501 5.5.4 Bad SIZE parameter value\n"
	  "501 5.5.4 Bad SIZE parameter value\n" },
	{ .name = "size twice", .in = EH "MAIL FROM:<a@b.example> SIZE=1 "
	  "SIZE=2\r\n", .out = EHLO_R "501 5.5.4 Bad SIZE parameter value\n" },
	{ .name = "body", .in = EH "MAIL FROM:<a@b.example> BODY=8bitmime\r\n"
	  RT "DATA\r\nplain\r\n.\r\n", .out = TX_R GO Q1,
	  .env = "<a@b.example> 8bit -> <postmaster@mx.example.org>" },
	{ .name = "bad body", .in = EH "MAIL FROM:<a@b.example> "
	  "BODY=BINARYMIME\r\n", .out = EHLO_R
	  "501 5.5.4 Bad BODY parameter value\n" },
	{ .name = "unknown mail parameter", .in = EH "MAIL FROM:<a@b.example>"
	  " FOO=bar\r\nMAIL FROM:<a@b.example> NOTIFY=NEVER\r\n", .out = EHLO_R
	  "555 5.5.4 Unsupported option: FOO\n"
	  "555 5.5.4 Unsupported option: NOTIFY\n" },
	{ .name = "unknown rcpt parameter", .in = TX "RCPT TO:<postmaster> "
	  "SIZE=1\r\n", .out = TX_R "555 5.5.4 Unsupported option: SIZE\n" },
	{ .name = "dsn", .in = EH "MAIL FROM:<a@b.example> RET=HDRS "
	  "ENVID=QQ+2Bx+3Dy\r\nRCPT TO:<postmaster> NOTIFY=SUCCESS,failure "
	  "ORCPT=rfc822;bob+40example.com\r\nRCPT TO:<postmaster@example.org> "
	  "NOTIFY=NEVER\r\nDATA\r\n.\r\n", .out = TX_R OK_RCPT GO Q1,
	  .env = "<a@b.example> ret=hdrs envid=QQ+x=y -> <postmaster> "
	  "notify=success,failure orcpt=rfc822;bob@example.com -> "
	  "<postmaster@example.org> notify=never" },
	{ .name = "ret full, auth param", .in = EH "MAIL FROM:<a@b.example> "
	  "RET=full AUTH=<>\r\n" RT "DATA\r\n.\r\n", .out = TX_R GO Q1,
	  .env = "<a@b.example> ret=full -> <postmaster@mx.example.org>" },
	{ .name = "bad ret", .in = EH "MAIL FROM:<a@b.example> RET=ALL\r\n",
	  .out = EHLO_R "501 5.5.4 Bad RET parameter value\n" },
	{ .name = "bad envid", .in = EH "MAIL FROM:<a@b.example> ENVID=a+2\r\n"
	  "MAIL FROM:<a@b.example> ENVID=a+00\r\n"
	  "MAIL FROM:<a@b.example> ENVID=0123456789012345678901234567890123"
	  "4567890123456789012345678901234567890123456789012345678901234567"
	  "890\r\n", .out = EHLO_R "501 5.5.4 Bad ENVID parameter value\n"
	  "501 5.5.4 Bad ENVID parameter value\n"
	  "501 5.5.4 Bad ENVID parameter value\n" },
	{ .name = "bad notify", .in = TX "RCPT TO:<postmaster> NOTIFY=NEVER,"
	  "DELAY\r\nRCPT TO:<postmaster> NOTIFY=SOMETIMES\r\n"
	  "RCPT TO:<postmaster> NOTIFY=SUCCESS,\r\n", .out = TX_R
	  "501 5.5.4 Bad NOTIFY parameter value\n"
	  "501 5.5.4 Bad NOTIFY parameter value\n"
	  "501 5.5.4 Bad NOTIFY parameter value\n" },
	{ .name = "bad orcpt", .in = TX "RCPT TO:<postmaster> ORCPT=a\r\n"
	  "RCPT TO:<postmaster> ORCPT=rfc822;a+zz\r\nRCPT TO:<postmaster> "
	  "ORCPT=rfc822;\r\nRCPT TO:<postmaster> ORCPT=;a\r\n"
	  "RCPT TO:<postmaster> ORCPT=rfc822;a ORCPT=rfc822;b\r\n",
	  .out = TX_R "501 5.5.4 Bad ORCPT parameter value\n"
	  "501 5.5.4 Bad ORCPT parameter value\n"
	  "501 5.5.4 Bad ORCPT parameter value\n"
	  "501 5.5.4 Bad ORCPT parameter value\n"
	  "501 5.5.4 Bad ORCPT parameter value\n" },
	{ .name = "orcpt of another type ignored", .in = TX
	  "RCPT TO:<postmaster> ORCPT=utf-8;caf\xc3\xa9@example.net\r\n"
	  "DATA\r\n.\r\n", .out = TX_R OK_RCPT GO Q1, .env = ENV_TX
	  " -> <postmaster>" },
	{ .name = "flag parameters take no value", .flags = T_TLS, .in = EH
	  "MAIL FROM:<a@b.example> SMTPUTF8=yes\r\nMAIL FROM:<a@b.example> "
	  "REQUIRETLS=1\r\nMAIL FROM:<a@b.example> AUTH=\r\n",
	  .out = EHLO_TLS "501 5.5.4 Bad SMTPUTF8 parameter value\n"
	  "501 5.5.4 Bad REQUIRETLS parameter value\n"
	  "501 5.5.4 Bad AUTH parameter value\n" },
	{ .name = "8-bit content under BODY=7BIT", .in = EH
	  "MAIL FROM:<a@b.example> BODY=7BIT\r\n" RT "DATA\r\n\xe9\r\n.\r\n",
	  .out = TX_R GO Q1,
	  .env = "<a@b.example> 8bit -> <postmaster@mx.example.org>" },
	{ .name = "helo session", .flags = T_TLS, .in = "HELO c\r\n" MF RT
	  "DATA\r\n.\r\n", .out = "250 mx.example.org\n" OK_MAIL OK_RCPT GO
	  Q1, .proto = "SMTP" },
	{ .name = "commit failures count as errors", .flags = T_FAILCOMMIT,
	  .errs = 2, .in = TX "DATA\r\n.\r\nNOOP\r\nFOO\r\nNOOP\r\n",
	  .out = TX_R GO "452 4.3.1 Insufficient system storage\n" OK UNKNOWN
	  "421 4.7.0 mx.example.org Error: too many errors (limit 2)\n",
	  .end = SMTPD_CLOSE },
	{ .name = "eof while a command is half sent", .flags = T_EOF,
	  .in = TX "RCPT TO:<post", .out = TX_R, .end = SMTPD_CLOSE },
	{ .name = "requiretls outside tls", .in = EH "MAIL FROM:<a@b.example> "
	  "REQUIRETLS\r\n", .out = EHLO_R "530 5.7.10 REQUIRETLS needs TLS: "
	  "send STARTTLS first\n", .log = "NOQUEUE: reject: MAIL from "
	  "unknown[192.0.2.1]: 530 5.7.10 REQUIRETLS needs TLS: send STARTTLS "
	  "first; from=<a@b.example> proto=ESMTP helo=<client.example>\n" },
	{ .name = "requiretls in tls", .flags = T_TLS, .in = EH
	  "MAIL FROM:<a@b.example> REQUIRETLS\r\n" RT "DATA\r\n.\r\n",
	  .out = EHLO_TLS OK_MAIL OK_RCPT GO Q1,
	  .env = "<a@b.example> requiretls -> <postmaster@mx.example.org>" },
	{ .name = "recipient limit", .flags = T_TRUSTED, .rcpts = 2, .in = EH
	  MF "RCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\n"
	  "RCPT TO:<c@x.example>\r\n", .out = TX_R OK_RCPT "452 4.5.3 Error: "
	  "too many recipients (limit 2)\n", .counts = "ehlo=1 mail=1 "
	  "rcpt=2/3 commands=4/5" },

	/* Errors and odd commands. */
	{ .name = "unknown command", .in = "FOO\r\n", .out = UNKNOWN,
	  .counts = "unknown=0/1 commands=0/1" },
	{ .name = "nul in a command", .in = "NOOP\0x\r\n", .inlen = 8,
	  .out = UNKNOWN },
	{ .name = "too many errors", .errs = 3, .in = "FOO\r\nBAR\r\nNOOP\r\n"
	  "BAZ\r\nNOOP\r\n", .out = UNKNOWN UNKNOWN OK UNKNOWN
	  "421 4.7.0 mx.example.org Error: too many errors (limit 3)\n",
	  .end = SMTPD_CLOSE },
	{ .name = "sequence errors count", .errs = 2, .in = RT "DATA\r\n",
	  .out = "503 5.5.1 Error: need MAIL command\n"
	  "503 5.5.1 Error: need MAIL command\n"
	  "421 4.7.0 mx.example.org Error: too many errors (limit 2)\n",
	  .end = SMTPD_CLOSE },
	{ .name = "vrfy, expn, help, noop", .in = "VRFY root\r\nEXPN staff\r\n"
	  "HELP\r\nNOOP\r\n", .out = "252 2.0.0 Cannot VRFY user, but will "
	  "accept message and attempt delivery\n502 5.5.1 Error: command not "
	  "implemented\n214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET "
	  "NOOP QUIT HELP VRFY\n" OK, .counts = "noop=1 vrfy=1 expn=0/1 "
	  "help=1 commands=3/4" },
	{ .name = "help with starttls", .flags = T_STARTTLS | T_AUTH,
	  .in = "help\r\n", .out = "214 2.0.0 Commands: EHLO HELO MAIL RCPT "
	  "DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS\n" },
	{ .name = "help with auth", .flags = TLSAUTH, .in = "HELP\r\n",
	  .out = "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP "
	  "QUIT HELP VRFY AUTH\n" },
	{ .name = "quit ends it all", .in = "QUIT\r\nNOOP\r\n",
	  .out = "221 2.0.0 Bye\n", .counts = "quit=1 commands=1",
	  .end = SMTPD_CLOSE },

	/* STARTTLS. */
	{ .name = "starttls discards what follows", .flags = T_STARTTLS,
	  .in = EH "STARTTLS\r\nMAIL FROM:<evil@example.com>\r\nRCPT",
	  .in2 = MF EH MF, .out = EHLO_STLS "220 2.0.0 Ready to start TLS\n"
	  "503 5.5.1 Error: send HELO/EHLO first\n" EHLO_TLS OK_MAIL,
	  .proto = "ESMTPS", .counts = "ehlo=2 starttls=1 mail=1/2 "
	  "commands=4/5" },
	{ .name = "starttls before ehlo", .flags = T_STARTTLS | T_AUTH,
	  .in = "starttls\r\n", .in2 = EH, .out = "220 2.0.0 Ready to start "
	  "TLS\n" EHLO_AUTH },
	{ .name = "starttls forgets the transaction", .flags = T_STARTTLS,
	  .in = TX "STARTTLS\r\n", .in2 = EH RT "DATA\r\n", .out = EHLO_STLS
	  OK_MAIL OK_RCPT "220 2.0.0 Ready to start TLS\n" EHLO_TLS
	  "503 5.5.1 Error: need MAIL command\n"
	  "503 5.5.1 Error: need MAIL command\n" },
	{ .name = "starttls not offered", .in = "STARTTLS\r\n",
	  .out = "502 5.5.1 Error: command not implemented\n" },
	{ .name = "starttls in tls", .flags = T_TLS | T_STARTTLS,
	  .in = "STARTTLS\r\n",
	  .out = "554 5.5.1 Error: TLS already active\n" },
	{ .name = "starttls with argument", .flags = T_STARTTLS,
	  .in = "STARTTLS now\r\n", .out = "501 5.5.4 Syntax: STARTTLS\n" },

	/* AUTH. */
	{ .name = "auth plain inline", .flags = TLSAUTH, .in = EH PLAIN_OK,
	  .out = EHLO_AUTH AUTHED, .proto = "ESMTPSA",
	  .counts = "ehlo=1 auth=1 commands=2" },
	{ .name = "auth plain after 334", .flags = TLSAUTH, .in = EH
	  "auth plain\r\nAGFsaWNlAHNlY3JldA==\r\n", .out = EHLO_AUTH "334 \n"
	  AUTHED },
	{ .name = "auth plain, authzid = user", .flags = TLSAUTH, .in = EH
	  "AUTH PLAIN YWxpY2UAYWxpY2UAc2VjcmV0\r\n", .out = EHLO_AUTH AUTHED },
	{ .name = "auth plain, authzid other", .flags = TLSAUTH, .in = EH
	  "AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n", .out = EHLO_AUTH
	  AUTHFAIL, .proto = "ESMTPS" },
	{ .name = "auth plain, wrong password", .flags = TLSAUTH, .in = EH
	  "AUTH PLAIN AGFsaWNlAHdyb25n\r\n" PLAIN_OK, .out = EHLO_AUTH
	  AUTHFAIL AUTHED, .counts = "ehlo=1 auth=1/2 commands=2/3" },
	{ .name = "auth plain, no user", .flags = TLSAUTH, .in = EH
	  "AUTH PLAIN AABzZWNyZXQ=\r\n", .out = EHLO_AUTH AUTHFAIL },
	{ .name = "auth plain, one NUL", .flags = TLSAUTH, .in = EH
	  "AUTH PLAIN AGFsaWNl\r\nAUTH PLAIN =\r\n", .out = EHLO_AUTH BAD64
	  BAD64 },
	{ .name = "auth login", .flags = TLSAUTH, .in = EH "AUTH LOGIN\r\n"
	  "YWxpY2U=\r\nc2VjcmV0\r\n", .out = EHLO_AUTH "334 VXNlcm5hbWU6\n"
	  "334 UGFzc3dvcmQ6\n" AUTHED },
	{ .name = "auth login, initial user", .flags = TLSAUTH, .in = EH
	  "AUTH LOGIN YWxpY2U=\r\nc2VjcmV0\r\n", .out = EHLO_AUTH
	  "334 UGFzc3dvcmQ6\n" AUTHED },
	{ .name = "auth cancelled", .flags = TLSAUTH, .in = EH "AUTH PLAIN\r\n"
	  "*\r\nAUTH LOGIN\r\nYWxpY2U=\r\n*\r\nNOOP\r\n", .out = EHLO_AUTH
	  "334 \n501 5.7.0 Authentication aborted\n334 VXNlcm5hbWU6\n"
	  "334 UGFzc3dvcmQ6\n501 5.7.0 Authentication aborted\n" OK },
	{ .name = "auth bad base64", .flags = TLSAUTH, .in = EH
	  "AUTH PLAIN !!!!\r\nAUTH PLAIN\r\nAGFsaWNlAHNlY3JldA\r\n", .out =
	  EHLO_AUTH BAD64 "334 \n" BAD64 },
	{ .name = "auth without tls", .flags = T_AUTH | T_STARTTLS, .in = EH
	  PLAIN_OK, .out = EHLO_STLS "538 5.7.11 Encryption required for "
	  "requested authentication mechanism\n" },
	{ .name = "auth not enabled", .flags = T_TLS, .in = EH PLAIN_OK,
	  .out = EHLO_TLS "503 5.5.1 Error: authentication not enabled\n" },
	{ .name = "auth before ehlo", .flags = TLSAUTH, .in = PLAIN_OK,
	  .out = "503 5.5.1 Error: send HELO/EHLO first\n" },
	{ .name = "auth twice", .flags = TLSAUTH, .in = EH PLAIN_OK PLAIN_OK,
	  .out = EHLO_AUTH AUTHED "503 5.5.1 Error: already authenticated\n" },
	{ .name = "auth in a transaction", .flags = TLSAUTH, .in = EH MF
	  PLAIN_OK, .out = EHLO_AUTH OK_MAIL "503 5.5.1 Error: MAIL "
	  "transaction in progress\n" },
	{ .name = "auth unknown mechanism", .flags = TLSAUTH, .in = EH
	  "AUTH CRAM-MD5\r\nAUTH\r\n", .out = EHLO_AUTH "504 5.5.4 "
	  "Unrecognized authentication type\n501 5.5.4 Syntax: AUTH mechanism "
	  "[initial-response]\n" },
	{ .name = "auth tempfail", .flags = TLSAUTH, .in = EH
	  "AUTH PLAIN AHRlbXAAeA==\r\n", .out = EHLO_AUTH
	  "454 4.7.0 Temporary authentication failure\n" },
	{ .name = "auth locked", .flags = TLSAUTH, .in = EH "AUTH LOGIN\r\n"
	  "bG9ja2Vk\r\neA==\r\nNOOP\r\n", .out = EHLO_AUTH "334 VXNlcm5hbWU6\n"
	  "334 UGFzc3dvcmQ6\n421 4.7.0 mx.example.org Error: too many failed "
	  "authentication attempts; try again later\n", .end = SMTPD_CLOSE },
	{ .name = "auth required", .flags = TLSAUTH | T_AUTHREQ | T_TRUSTED,
	  .in = EH MF PLAIN_OK MF, .out = EHLO_AUTH "530 5.7.0 Authentication "
	  "required\n" AUTHED OK_MAIL },
	{ .name = "auth required, no tls yet", .flags = T_AUTHREQ |
	  T_STARTTLS, .in = EH MF, .out = EHLO_STLS "530 5.7.0 Must issue a "
	  "STARTTLS command first\n" },
	{ .name = "auth after starttls", .flags = T_STARTTLS |
	  T_AUTH, .in = EH "STARTTLS\r\n", .in2 = EH PLAIN_OK "RCPT\r\n",
	  .out = EHLO_STLS "220 2.0.0 Ready to start TLS\n" EHLO_AUTH AUTHED
	  "503 5.5.1 Error: need MAIL command\n", .proto = "ESMTPSA" },

	/* DATA content. */
	{ .name = "dot unstuffing", .in = TX "DATA\r\n..one\r\n...\r\n..\r\n"
	  ".x\r\n.\r\n", .out = TX_R GO Q1, .msg = ".one\n..\n.\nx\n" },
	{ .name = "LF.LF is text", .in = TX "DATA\r\na\n.\nb\r\n.\r\n",
	  .out = TX_R GO Q1, .msg = "a\n.\nb\n" },
	{ .name = "CRLF.LF is text", .in = TX "DATA\r\na\r\n.\nb\r\n.\r\n",
	  .out = TX_R GO Q1, .msg = "a\n.\nb\n" },
	{ .name = "LF.CRLF is text", .in = TX "DATA\r\na\n.\r\nb\r\n.\r\n",
	  .out = TX_R GO Q1, .msg = "a\n.\nb\n" },
	{ .name = "CR.CR is text", .in = TX "DATA\r\na\r.\rb\r\n.\r\n",
	  .out = TX_R GO Q1, .msg = "a\n.\nb\n" },
	{ .name = "CRLF.CR is text", .in = TX "DATA\r\na\r\n.\rb\r\n.\r\n",
	  .out = TX_R GO Q1, .msg = "a\n.\nb\n" },
	{ .name = "CRLF.CRCRLF is text", .in = TX "DATA\r\na\r\n.\r\r\n"
	  ".\r\n", .out = TX_R GO Q1, .msg = "a\n.\n\n" },
	{ .name = "dot after bare LF not unstuffed", .in = TX "DATA\r\na\n"
	  "..b\r\n.\r\n", .out = TX_R GO Q1, .msg = "a\n..b\n" },
	{ .name = "smuggled transaction stays text", .in = TX "DATA\r\n"
	  "Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@example.com>\r\n"
	  "RCPT TO:<victim@example.net>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n",
	  .out = TX_R GO Q1 "221 2.0.0 Bye\n", .msg = "Subject: x\n\nhi\n.\n"
	  "MAIL FROM:<evil@example.com>\nRCPT TO:<victim@example.net>\nDATA\n"
	  "evil\n", .counts = "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
	  .end = SMTPD_CLOSE },
	{ .name = "bare CR and LF normalised", .in = TX "DATA\r\na\rb\nc\r\r\n"
	  "d\n\r\n.\r\n", .out = TX_R GO Q1, .msg = "a\nb\nc\n\nd\n\n" },
	{ .name = "empty message", .in = TX "DATA\r\n.\r\n", .out = TX_R GO Q1,
	  .msg = "" },
	{ .name = "DATA line ended by bare LF", .in = TX "DATA\n.\r\nx\r\n"
	  ".\r\n", .out = TX_R GO Q1, .msg = ".\nx\n" },
	{ .name = "8-bit content", .in = TX "DATA\r\ncaf\xc3\xa9\r\n.\r\n",
	  .out = TX_R GO Q1, .msg = "caf\xc3\xa9\n",
	  .env = "<alice@example.com> 8bit -> <postmaster@mx.example.org>" },
	{ .name = "NUL in content", .in = TX "DATA\r\na\0b\r\n.\r\n" RT,
	  .inlen = sizeof(TX) - 1 + 14 + sizeof(RT) - 1, .out = TX_R GO
	  "554 5.6.0 Error: message contains a NUL byte\n"
	  "503 5.5.1 Error: need MAIL command\n",
	  .log = "NOQUEUE: reject: DATA from unknown[192.0.2.1]: 554 5.6.0 "
	  "Error: message contains a NUL byte; from=<alice@example.com> "
	  "proto=ESMTP helo=<client.example>\n" },
	{ .name = "message too big", .size = 20, .in = EH MF RT "DATA\r\n"
	  "0123456789\r\n0123456789\r\n.\r\n" MF, .out = EHLO_SZ("20", "")
	  OK_MAIL OK_RCPT GO "552 5.3.4 Message size exceeds fixed limit "
	  "(20 bytes)\n" OK_MAIL, .counts = "ehlo=1 mail=2 rcpt=1 data=0/1 "
	  "commands=4/5" },
	{ .name = "message just fits", .size = 20, .in = EH MF RT "DATA\r\n"
	  "012345678\r\n012345678\r\n.\r\n", .out = EHLO_SZ("20", "") OK_MAIL
	  OK_RCPT GO Q1, .msg = "012345678\n012345678\n" },
	{ .name = "commit fails", .flags = T_FAILCOMMIT, .in = TX "DATA\r\n"
	  "x\r\n.\r\n" RT, .out = TX_R GO "452 4.3.1 Insufficient system "
	  "storage\n503 5.5.1 Error: need MAIL command\n",
	  .counts = "ehlo=1 mail=1 rcpt=1/2 data=0/1 commands=3/5" },
	{ .name = "eof in DATA", .flags = T_EOF, .in = TX "DATA\r\nhalf a "
	  "message\r\n", .out = TX_R GO, .end = SMTPD_CLOSE },

	/* BDAT. */
	{ .name = "bdat", .in = TX "BDAT 5\r\nab\r\ncBDAT 3 LAST\r\nd\r\n",
	  .out = TX_R "250 2.0.0 5 octets received\n" Q1, .msg = "ab\ncd\n",
	  .counts = "ehlo=1 mail=1 rcpt=1 bdat=2 commands=5" },
	{ .name = "bdat CRLF across chunks", .in = TX "BDAT 3\r\nab\r"
	  "BDAT 3 LAST\r\n\ncd", .out = TX_R "250 2.0.0 3 octets received\n"
	  Q1, .msg = "ab\ncd" },
	{ .name = "bdat bare CR and LF", .in = TX "BDAT 7 LAST\r\na\rb\nc\r\r",
	  .out = TX_R Q1, .msg = "a\nb\nc\n\n" },
	{ .name = "bdat dots are data", .in = TX "BDAT 9 last\r\n.\r\n..x\r\n"
	  ".", .out = TX_R Q1, .msg = ".\n..x\n." },
	{ .name = "bdat 0 last", .in = TX "BDAT 0 LAST\r\nQUIT\r\n",
	  .out = TX_R Q1 "221 2.0.0 Bye\n", .msg = "", .env = ENV_TX,
	  .end = SMTPD_CLOSE },
	{ .name = "bdat oversize", .size = 20, .in = EH MF RT "BDAT 15\r\n"
	  "0123456789abcdeBDAT 15 LAST\r\n0123456789abcde" MF,
	  .out = EHLO_SZ("20", "") OK_MAIL OK_RCPT "250 2.0.0 15 octets "
	  "received\n552 5.3.4 Message size exceeds fixed limit (20 bytes)\n"
	  OK_MAIL, .log = "NOQUEUE: reject: BDAT from unknown[192.0.2.1]: "
	  "552 5.3.4" },
	{ .name = "bdat without mail reads the chunk", .in = EH "BDAT 6\r\n"
	  "QUIT\r\nNOOP\r\n", .out = EHLO_R "503 5.5.1 Error: need MAIL "
	  "command\n" OK },
	{ .name = "bdat without rcpt reads the chunk", .in = EH MF
	  "BDAT 6 LAST\r\nRSET\r\n" RT, .out = EHLO_R OK_MAIL "503 5.5.1 "
	  "Error: need RCPT command\n" OK_RCPT },
	{ .name = "bdat syntax", .in = TX "BDAT\r\nBDAT x\r\nBDAT 1 FIRST\r\n"
	  "BDAT -1\r\n", .out = TX_R "501 5.5.4 Syntax: BDAT size [LAST]\n"
	  "501 5.5.4 Syntax: BDAT size [LAST]\n"
	  "501 5.5.4 Syntax: BDAT size [LAST]\n"
	  "501 5.5.4 Syntax: BDAT size [LAST]\n" },
	{ .name = "data after bdat", .in = TX "BDAT 2\r\nabDATA\r\n",
	  .out = TX_R "250 2.0.0 2 octets received\n"
	  "503 5.5.1 Error: DATA after BDAT\n" },
	{ .name = "bdat NUL", .in = TX "BDAT 3 LAST\r\na\0b" RT, .inlen =
	  sizeof(TX) - 1 + 16 + sizeof(RT) - 1, .out = TX_R "554 5.6.0 "
	  "Error: message contains a NUL byte\n503 5.5.1 Error: need MAIL "
	  "command\n" },
	{ .name = "bdat 8-bit", .in = TX "BDAT 3 LAST\r\n\xc3\xa9\n",
	  .out = TX_R Q1, .env = "<alice@example.com> 8bit -> "
	  "<postmaster@mx.example.org>" },
	{ .name = "bdat then pipelined transaction", .in = TX "BDAT 2 LAST\r\n"
	  "x\nMAIL FROM:<>\r\n" RT "DATA\r\ny\r\n.\r\n", .out = TX_R Q1 OK_MAIL
	  OK_RCPT GO Q2, .msg = "y\n" },
};

#define SMTPD_TEST_NCASES \
	(sizeof(smtpd_test_cases) / sizeof(smtpd_test_cases[0]))

/* ---------------------------------------------------- dedicated tests */

static const struct smtpd_test_case smtpd_test_plain = { .name = "plain",
	.in = "", .out = "" };

/* Feed text whole and check the replies it adds. */
static void
smtpd_test_say(struct smtpd_test_run *r, const char *in, size_t len,
    const char *want)
{
	buf_reset(&r->out);
	assert_int_equal(smtpd_proto_input(r->p, in, len), len);
	smtpd_test_host(r);
	assert_string_equal(r->out.data ? r->out.data : "", want);
}

/* A command line of exactly len octets, CRLF included. */
static char *
smtpd_test_line(const char *verb, size_t len)
{
	char *s = malloc(len + 1);
	size_t n = strlen(verb);

	assert_non_null(s);
	memcpy(s, verb, n);
	memset(s + n, 'A', len - n - 2);
	memcpy(s + len - 2, "\r\n", 3);
	return s;
}

static void
smtpd_test_long_lines(void **state)
{
	static const size_t chunks[] = { (size_t)-1, 1, 7 };
	struct smtpd_test_run r;
	char *at, *over, *huge;
	size_t i, off, n;

	(void)state;
	at = smtpd_test_line("NOOP ", SMTPD_LINE_MAX);
	over = smtpd_test_line("NOOP ", SMTPD_LINE_MAX + 1);
	huge = smtpd_test_line("MAIL FROM:<", 100000);
	for (i = 0; i < 3; i++) {
		smtpd_test_start(&r, &smtpd_test_plain);
		for (off = 0; off < strlen(huge); off += n) {
			n = strlen(huge) - off < chunks[i] ?
			    strlen(huge) - off : chunks[i];
			assert_int_equal(smtpd_proto_input(r.p, huge + off, n),
			    n);
			assert_false(smtpd_proto_idle(r.p) &&
			    off + n < strlen(huge));
		}
		smtpd_test_drain(&r);
		assert_string_equal(r.out.data, "500 5.5.2 Error: command line "
		    "too long (limit 2048 octets)\n");
		smtpd_test_say(&r, at, strlen(at), OK);
		smtpd_test_say(&r, over, strlen(over), "500 5.5.2 Error: "
		    "command line too long (limit 2048 octets)\n");
		smtpd_test_say(&r, "NOOP\r\n", 6, OK);
		assert_true(smtpd_proto_idle(r.p));
		smtpd_test_stop(&r);
	}
	free(at);
	free(over);
	free(huge);
}

/* AUTH lines may be as long as SMTPD_AUTH_LINE_MAX (RFC 4954 4). */
static void
smtpd_test_auth_lines(void **state)
{
	static const struct smtpd_test_case tc = { .name = "auth",
		.flags = TLSAUTH, .in = "", .out = "" };
	struct smtpd_test_run r;
	char *ok, *over, *resp;

	(void)state;
	ok = smtpd_test_line("AUTH PLAIN ", 8000);
	over = smtpd_test_line("AUTH PLAIN ", SMTPD_AUTH_LINE_MAX + 1);
	resp = smtpd_test_line("", SMTPD_AUTH_LINE_MAX + 1);
	smtpd_test_start(&r, &tc);
	smtpd_test_say(&r, EH, strlen(EH), EHLO_AUTH);
	/* Long enough to pass, but all zero bytes: not a PLAIN message. */
	smtpd_test_say(&r, ok, strlen(ok), BAD64);
	smtpd_test_say(&r, over, strlen(over), "500 5.5.2 Error: command "
	    "line too long (limit 12288 octets)\n");
	smtpd_test_say(&r, "AUTH LOGIN\r\n", 12, "334 VXNlcm5hbWU6\n");
	smtpd_test_say(&r, resp, strlen(resp), "500 5.5.2 Error: command "
	    "line too long (limit 12288 octets)\n");
	/* The exchange is over: commands again. */
	smtpd_test_say(&r, "NOOP\r\n", 6, OK);
	smtpd_test_say(&r, PLAIN_OK, strlen(PLAIN_OK), AUTHED);
	assert_string_equal(smtpd_proto_auth_user(r.p), "alice");
	smtpd_test_stop(&r);
	free(ok);
	free(over);
	free(resp);
}

/* The engine stops right after the line that needs the host, and
 * takes nothing more until the host has answered. */
static void
smtpd_test_pipeline_stop(void **state)
{
	static const char in[] = TX "DATA\r\nx\r\n.\r\nMAIL FROM:<>\r\n"
	    "NOOP\r\n";
	static const char head[] = TX "DATA\r\nx\r\n.\r\n";
	struct smtpd_test_run r;
	const char *m;
	size_t used, n;

	(void)state;
	smtpd_test_start(&r, &smtpd_test_plain);
	used = smtpd_proto_input(r.p, in, sizeof(in) - 1);
	assert_int_equal(used, sizeof(head) - 1);
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_COMMIT);
	assert_true(smtpd_proto_idle(r.p));
	smtpd_test_drain(&r);
	assert_string_equal(r.out.data, TX_R GO);
	assert_int_equal(smtpd_proto_input(r.p, in + used, 3), 0);
	m = smtpd_proto_message(r.p, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(m, "x\n", 2);
	assert_string_equal(smtpd_proto_envelope(r.p)->sender,
	    "alice@example.com");
	assert_string_equal(smtpd_proto_helo(r.p), "client.example");
	smtpd_proto_commit_ok(r.p, "4Xyz");
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_RUN);
	smtpd_test_say(&r, in + used, sizeof(in) - 1 - used,
	    "250 2.0.0 Ok: queued as 4Xyz\n" OK_MAIL OK);
	/* The transaction was reset, EHLO kept. */
	assert_int_equal(smtpd_proto_envelope(r.p)->nrcpts, 0);
	smtpd_test_stop(&r);
}

static void
smtpd_test_auth_stop(void **state)
{
	static const struct smtpd_test_case tc = { .name = "auth",
		.flags = TLSAUTH, .in = "", .out = "" };
	static const char in[] = EH PLAIN_OK MF;
	struct smtpd_test_run r;
	const char *mech, *user, *pass;

	(void)state;
	smtpd_test_start(&r, &tc);
	assert_null(smtpd_proto_auth_user(r.p));
	assert_int_equal(smtpd_proto_input(r.p, in, sizeof(in) - 1),
	    strlen(EH PLAIN_OK));
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_AUTH);
	smtpd_proto_auth_creds(r.p, &mech, &user, &pass);
	assert_string_equal(mech, "PLAIN");
	assert_string_equal(user, "alice");
	assert_string_equal(pass, "secret");
	smtpd_proto_auth_result(r.p, SMTPD_AUTH_OK);
	smtpd_proto_auth_creds(r.p, &mech, &user, &pass);
	assert_string_equal(pass, "");
	assert_string_equal(smtpd_proto_auth_user(r.p), "alice");
	smtpd_test_drain(&r);
	smtpd_test_say(&r, MF, strlen(MF), OK_MAIL);
	smtpd_test_stop(&r);
}

/* The client goes away while the host commits or checks a password:
 * the host's answer still comes, then the session closes. */
static void
smtpd_test_eof_waiting(void **state)
{
	static const struct smtpd_test_case tc = { .name = "auth",
		.flags = TLSAUTH, .in = "", .out = "" };
	static const char in[] = TX "DATA\r\nx\r\n.\r\n";
	struct smtpd_test_run r;

	(void)state;
	smtpd_test_start(&r, &smtpd_test_plain);
	smtpd_proto_input(r.p, in, sizeof(in) - 1);
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_COMMIT);
	smtpd_proto_eof(r.p);
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_COMMIT);
	assert_int_equal(smtpd_proto_envelope(r.p)->nrcpts, 1);
	smtpd_proto_commit_ok(r.p, "Q9");
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_CLOSE);
	smtpd_test_stop(&r);

	smtpd_test_start(&r, &tc);
	smtpd_proto_input(r.p, EH PLAIN_OK, strlen(EH PLAIN_OK));
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_AUTH);
	smtpd_proto_eof(r.p);
	smtpd_proto_auth_result(r.p, SMTPD_AUTH_FAIL);
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_CLOSE);
	smtpd_test_stop(&r);
}

static void
smtpd_test_shutdown(void **state)
{
	struct smtpd_test_run r;

	(void)state;
	smtpd_test_start(&r, &smtpd_test_plain);
	smtpd_proto_input(r.p, "NO", 2);
	smtpd_proto_shutdown(r.p, "421 4.4.2 mx.example.org Error: timeout "
	    "exceeded");
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_CLOSE);
	smtpd_test_say(&r, "OP\r\nNOOP\r\n", 10, "421 4.4.2 mx.example.org "
	    "Error: timeout exceeded\n");
	smtpd_test_say(&r, "NOOP\r\n", 6, "");
	smtpd_test_stop(&r);
}

/* Idle between commands only: not inside a line, DATA or a chunk. */
static void
smtpd_test_idle(void **state)
{
	struct smtpd_test_run r;

	(void)state;
	smtpd_test_start(&r, &smtpd_test_plain);
	assert_true(smtpd_proto_idle(r.p));
	smtpd_proto_input(r.p, "NOO", 3);
	assert_false(smtpd_proto_idle(r.p));
	smtpd_proto_input(r.p, "P\r\n" TX, 3 + strlen(TX));
	assert_true(smtpd_proto_idle(r.p));
	smtpd_proto_input(r.p, "BDAT 4\r\nab", 10);
	assert_false(smtpd_proto_idle(r.p));
	smtpd_proto_input(r.p, "cd", 2);
	assert_true(smtpd_proto_idle(r.p));
	smtpd_proto_input(r.p, "RSET\r\n" MF RT "DATA\r\n", 6 + strlen(MF RT)
	    + 6);
	assert_false(smtpd_proto_idle(r.p));
	smtpd_proto_input(r.p, ".\r\n", 3);
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_COMMIT);
	smtpd_proto_commit_ok(r.p, "Q1");
	assert_true(smtpd_proto_idle(r.p));
	smtpd_test_stop(&r);
}

/* A client that never reads its replies is cut off, not buffered. */
static void
smtpd_test_output_bound(void **state)
{
	struct smtpd_test_run r;
	size_t i, n = 200000;
	char *in = malloc(n * 6);

	(void)state;
	assert_non_null(in);
	for (i = 0; i < n; i++)
		memcpy(in + i * 6, "NOOP\r\n", 6);
	smtpd_test_start(&r, &smtpd_test_plain);
	assert_int_equal(smtpd_proto_input(r.p, in, n * 6), n * 6);
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_CLOSE);
	assert_true(smtpd_proto_output(r.p)->len <= 1024 * 1024);
	assert_true(smtpd_proto_output(r.p)->len % 14 == 0);
	smtpd_test_stop(&r);
	free(in);
}

static void
smtpd_test_counts_empty(void **state)
{
	struct smtpd_test_run r;
	struct buf b;

	(void)state;
	smtpd_test_start(&r, &smtpd_test_plain);
	buf_init(&b, 0);
	smtpd_proto_counts(r.p, &b);
	assert_string_equal(b.data, "commands=0");
	buf_fini(&b);
	assert_string_equal(smtpd_proto_helo(r.p), "");
	assert_string_equal(smtpd_proto_protocol(r.p), "SMTP");
	smtpd_test_stop(&r);
}

/* Many recipients: bounded by max_recipients, the rest refused. */
static void
smtpd_test_many_rcpts(void **state)
{
	static const struct smtpd_test_case tc = { .name = "many",
		.flags = T_TRUSTED, .rcpts = 1000, .in = "", .out = "" };
	struct smtpd_test_run r;
	char line[64];
	size_t i, n;

	(void)state;
	smtpd_test_start(&r, &tc);
	smtpd_test_say(&r, EH MF, strlen(EH MF), EHLO_R OK_MAIL);
	for (i = 0; i < 1005; i++) {
		n = (size_t)snprintf(line, sizeof(line),
		    "RCPT TO:<u%zu@x.example>\r\n", i);
		smtpd_proto_input(r.p, line, n);
		if (smtpd_proto_state(r.p) != SMTPD_RUN)
			break;
		buf_reset(smtpd_proto_output(r.p));
	}
	assert_int_equal(smtpd_proto_envelope(r.p)->nrcpts, 1000);
	/* 5 refusals, under max_errors. */
	assert_int_equal(smtpd_proto_state(r.p), SMTPD_RUN);
	smtpd_test_stop(&r);
}

/* Any input gives the same replies whole and cut anywhere. */
static void
smtpd_test_random_cuts(void **state)
{
	static const char *const bits[] = { EH, MF, RT, "DATA\r\n", ".\r\n",
		"\r\n", "\n", "\r", ".", "..", "x", "BDAT 3\r\n", "BDAT 2 LAST"
		"\r\n", "RSET\r\n", "NOOP\r\n", "\0", "\xff", "AUTH PLAIN\r\n",
		"STARTTLS\r\n", "VRFY\r\n", "MAIL FROM:<>\r\n", "RCPT TO:<" };
	static const struct smtpd_test_case tc = { .name = "random",
		.flags = TLSAUTH | T_TRUSTED, .errs = 1000, .in = "",
		.out = "" };
	struct smtpd_test_run a, b;
	char in[2048];
	unsigned seed = 12345, round;
	size_t len, k, off, n;

	(void)state;
	for (round = 0; round < 500; round++) {
		for (len = 0; len < 1500;) {
			seed = seed * 1103515245 + 12345;
			k = (seed >> 16) % (sizeof(bits) / sizeof(bits[0]));
			n = k == 15 ? 1 : strlen(bits[k]);
			memcpy(in + len, bits[k], n);
			len += n;
		}
		smtpd_test_start(&a, &tc);
		smtpd_test_start(&b, &tc);
		smtpd_test_feed(&a, in, len, (size_t)-1);
		for (off = 0; off < len; off += n) {
			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 16) % 64;
			n = n > len - off ? len - off : n;
			smtpd_test_feed(&b, in + off, n, n);
		}
		assert_string_equal(a.out.data ? a.out.data : "",
		    b.out.data ? b.out.data : "");
		assert_int_equal(a.commits, b.commits);
		smtpd_test_stop(&a);
		smtpd_test_stop(&b);
	}
}

static void
smtpd_test_load_aliases(void)
{
	static const char text[] = "sales: bob@example.com\n";
	struct errbuf eb;
	char path[64];
	int fd;

	strcpy(path, "/tmp/tern-smtpd-aliases-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	smtpd_test_aliases = aliases_load(path, NULL, NULL, &eb);
	unlink(path);
	assert_non_null(smtpd_test_aliases);
}

#define SMTPD_TEST_EXTRA 11

int
main(void)
{
	static struct CMUnitTest tests[SMTPD_TEST_NCASES + SMTPD_TEST_EXTRA];
	const struct CMUnitTest extra[SMTPD_TEST_EXTRA] = {
		cmocka_unit_test(smtpd_test_long_lines),
		cmocka_unit_test(smtpd_test_auth_lines),
		cmocka_unit_test(smtpd_test_pipeline_stop),
		cmocka_unit_test(smtpd_test_auth_stop),
		cmocka_unit_test(smtpd_test_eof_waiting),
		cmocka_unit_test(smtpd_test_shutdown),
		cmocka_unit_test(smtpd_test_idle),
		cmocka_unit_test(smtpd_test_output_bound),
		cmocka_unit_test(smtpd_test_counts_empty),
		cmocka_unit_test(smtpd_test_many_rcpts),
		cmocka_unit_test(smtpd_test_random_cuts),
	};
	size_t i;
	int rc;

	smtpd_test_load_aliases();
	for (i = 0; i < SMTPD_TEST_NCASES; i++) {
		tests[i].name = smtpd_test_cases[i].name;
		tests[i].test_func = smtpd_test_case_run;
		tests[i].initial_state = (void *)&smtpd_test_cases[i];
	}
	for (i = 0; i < SMTPD_TEST_EXTRA; i++)
		tests[SMTPD_TEST_NCASES + i] = extra[i];
	rc = UNIT_RUN(tests);
	aliases_free(smtpd_test_aliases);
	return rc;
}
