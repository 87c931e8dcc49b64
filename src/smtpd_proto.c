/*
 * smtpd_proto: the SMTP server engine (see smtpd_proto.h); this half
 * has the session, the transaction is in smtpd_proto_txn.c.
 *
 * Owns one session: the line assembler, the EHLO, TLS and AUTH state
 * and the replies not yet sent.  Invariants: every buffer that client
 * bytes reach has a fixed bound (command line, AUTH line, unsent
 * replies); input is consumed only in SMTPD_RUN, so whatever the
 * client pipelined behind a command that needs the host stays in the
 * host's buffer until the host has answered; every reply line goes out
 * through smtpd_proto_put(), which strips control bytes, and every
 * reply to a client command through smtpd_proto_send(), which counts
 * errors; the password and the lines that carried it are wiped as
 * soon as they have served.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "smtpd_proto.h"
#include "smtpd_proto_int.h"
#include "str.h"

static const char *const smtpd_proto_verb_names[SMTPD_PROTO_V_COUNT] = {
	"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat",
	"rset", "noop", "vrfy", "expn", "help", "quit", "unknown",
};

/* ----------------------------------------------------------- replies */

void
smtpd_proto_close(struct smtpd_proto *p)
{
	p->state = SMTPD_CLOSE;
	p->mode = SMTPD_PROTO_M_CMD;
}

/* Append one reply line, control bytes made harmless (it may quote
 * the client).  Past the output bound the session ends. */
static void
smtpd_proto_put(struct smtpd_proto *p, const char *line)
{
	size_t start = p->out.len, i;

	if (buf_puts(&p->out, line) == -1 ||
	    buf_puts(&p->out, "\r\n") == -1) {
		p->out.len = start;
		if (p->out.data != NULL)
			p->out.data[start] = '\0';
		smtpd_proto_close(p);
		return;
	}
	for (i = start; i < p->out.len - 2; i++)
		if ((unsigned char)p->out.data[i] < 0x20 ||
		    p->out.data[i] == 0x7f)
			p->out.data[i] = '?';
}

/* A reply to a client command: 4xx and 5xx count toward max_errors,
 * and the last one allowed is followed by 421 and the end. */
static void
smtpd_proto_send(struct smtpd_proto *p, const char *line)
{
	char bye[512];

	smtpd_proto_put(p, line);
	if (line[0] != '4' && line[0] != '5')
		return;
	if (p->errors < UINT_MAX)
		p->errors++;
	if (p->conf.max_errors == 0 || p->errors < p->conf.max_errors ||
	    p->state == SMTPD_CLOSE)
		return;
	snprintf(bye, sizeof(bye), "421 4.7.0 %s Error: too many errors "
	    "(limit %u)", p->conf.hostname, p->conf.max_errors);
	smtpd_proto_put(p, bye);
	smtpd_proto_close(p);
}

void
smtpd_proto_reply(struct smtpd_proto *p, const char *fmt, ...)
{
	char line[SMTPD_PROTO_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	smtpd_proto_send(p, line);
}

/* Log a refusal the way Postfix does, then send it. */
void
smtpd_proto_reject_line(struct smtpd_proto *p, const char *cmd,
    const char *from, const char *to, const char *reply)
{
	char line[LOG_MAX_LINE];

	if (p->log != NULL) {
		snprintf(line, sizeof(line), "NOQUEUE: reject: %s from %s: "
		    "%s;%s%s%s%s%s%s proto=%s helo=<%s>", cmd,
		    p->conf.client ? p->conf.client : "unknown", reply,
		    from ? " from=<" : "", from ? from : "", from ? ">" : "",
		    to ? " to=<" : "", to ? to : "", to ? ">" : "",
		    p->esmtp ? "ESMTP" : "SMTP",
		    smtpd_proto_helo(p));
		p->log(LOG_INFO, line, p->log_arg);
	}
	smtpd_proto_send(p, reply);
}

void
smtpd_proto_reject(struct smtpd_proto *p, const char *cmd, const char *from,
    const char *to, const char *fmt, ...)
{
	char reply[SMTPD_PROTO_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	smtpd_proto_reject_line(p, cmd, from, to, reply);
}

void
smtpd_proto_ok(struct smtpd_proto *p, int verb)
{
	if (p->counts[verb].ok < UINT_MAX)
		p->counts[verb].ok++;
}

/* ----------------------------------------------------------- session */

struct smtpd_proto *
smtpd_proto_new(const struct smtpd_proto_conf *conf, smtpd_proto_log_fn log,
    void *arg)
{
	struct smtpd_proto *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->conf = *conf;
	if (p->conf.hostname == NULL)
		p->conf.hostname = "localhost";
	p->log = log;
	p->log_arg = arg;
	p->state = SMTPD_RUN;
	p->tls = conf->tls;
	p->size_max = conf->max_message_size ? conf->max_message_size :
	    SMTPD_PROTO_SIZE_CAP;
	p->rcpt_max = conf->max_recipients == 0 ||
	    conf->max_recipients > ENVELOPE_MAX_RCPTS ? ENVELOPE_MAX_RCPTS :
	    conf->max_recipients;
	buf_init(&p->out, SMTPD_PROTO_OUT_MAX);
	buf_init(&p->msg, 0);
	envelope_init(&p->env);
	/* Never NULL, so a failed append can always be undone. */
	if (buf_reserve(&p->out, 512) == -1) {
		free(p);
		return NULL;
	}
	return p;
}

/* Forget the password and the decoded SASL message. */
static void
smtpd_proto_wipe(struct smtpd_proto *p)
{
	if (p->sasl == NULL)
		return;
	explicit_bzero(p->sasl, sizeof(*p->sasl));
	free(p->sasl);
	p->sasl = NULL;
}

/* Give back a line buffer that a long line made big (it may have held
 * a password: wiped first). */
static void
smtpd_proto_line_release(struct smtpd_proto *p)
{
	if (p->line == NULL)
		return;
	explicit_bzero(p->line, p->line_cap);
	free(p->line);
	p->line = NULL;
	p->line_cap = 0;
}

/* Room for n more bytes of line and its terminator. */
static int
smtpd_proto_line_grow(struct smtpd_proto *p, size_t n)
{
	size_t need = p->line_len + n + 1, cap;
	char *nl;

	if (need <= p->line_cap)
		return 0;
	for (cap = p->line_cap ? p->line_cap : 256; cap < need; cap *= 2)
		;
	if (cap > SMTPD_AUTH_LINE_MAX + 1)
		cap = SMTPD_AUTH_LINE_MAX + 1;
	if ((nl = malloc(cap)) == NULL)
		return -1;
	if (p->line_len > 0)
		memcpy(nl, p->line, p->line_len);
	smtpd_proto_line_release(p);
	p->line = nl;
	p->line_cap = cap;
	return 0;
}

void
smtpd_proto_free(struct smtpd_proto *p)
{
	if (p == NULL)
		return;
	smtpd_proto_wipe(p);
	smtpd_proto_line_release(p);
	free(p->helo_name);
	free(p->auth_user);
	buf_fini(&p->out);
	buf_fini(&p->msg);
	envelope_fini(&p->env);
	free(p);
}

void
smtpd_proto_set_aliases(struct smtpd_proto *p, const struct aliases *al)
{
	p->conf.aliases = al;
}

void
smtpd_proto_start(struct smtpd_proto *p)
{
	smtpd_proto_reply(p, "220 %s ESMTP tern", p->conf.hostname);
}

void
smtpd_proto_eof(struct smtpd_proto *p)
{
	p->eof = true;
	/* The host holds the transaction or the credentials: it closes
	 * the session when it gives its answer. */
	if (p->state == SMTPD_COMMIT || p->state == SMTPD_AUTH)
		return;
	smtpd_proto_txn_reset(p);
	smtpd_proto_close(p);
}

struct buf *
smtpd_proto_output(struct smtpd_proto *p)
{
	return &p->out;
}

enum smtpd_state
smtpd_proto_state(const struct smtpd_proto *p)
{
	return p->state;
}

bool
smtpd_proto_idle(const struct smtpd_proto *p)
{
	return p->mode == SMTPD_PROTO_M_CMD && p->line_len == 0 &&
	    !p->line_long;
}

void
smtpd_proto_tls_started(struct smtpd_proto *p)
{
	if (p->state != SMTPD_STARTTLS)
		return;
	/* RFC 3207 4.2: nothing learnt before the handshake counts. */
	p->tls = true;
	p->greeted = false;
	p->esmtp = false;
	free(p->helo_name);
	p->helo_name = NULL;
	p->authed = false;
	p->auth_step = SMTPD_PROTO_A_NONE;
	p->auth_mech = NULL;
	free(p->auth_user);
	p->auth_user = NULL;
	smtpd_proto_wipe(p);
	smtpd_proto_txn_reset(p);
	p->line_len = 0;
	p->line_long = false;
	p->mode = SMTPD_PROTO_M_CMD;
	p->state = SMTPD_RUN;
}

const char *
smtpd_proto_helo(const struct smtpd_proto *p)
{
	return p->helo_name != NULL ? p->helo_name : "";
}

const char *
smtpd_proto_protocol(const struct smtpd_proto *p)
{
	static const char *const names[] = { "ESMTP", "ESMTPA", "ESMTPS",
		"ESMTPSA" };

	if (p->conf.local)
		return "local";
	if (!p->esmtp)
		return "SMTP";
	return names[(p->tls ? 2 : 0) + (p->authed ? 1 : 0)];
}

const char *
smtpd_proto_auth_user(const struct smtpd_proto *p)
{
	return p->authed ? p->auth_user : NULL;
}

const struct envelope *
smtpd_proto_envelope(const struct smtpd_proto *p)
{
	return &p->env;
}

const char *
smtpd_proto_message(const struct smtpd_proto *p, size_t *len)
{
	*len = p->msg.len;
	return p->msg.data != NULL ? p->msg.data : "";
}

void
smtpd_proto_shutdown(struct smtpd_proto *p, const char *reply)
{
	if (p->state == SMTPD_CLOSE)
		return;
	smtpd_proto_put(p, reply);
	smtpd_proto_close(p);
}

void
smtpd_proto_counts(const struct smtpd_proto *p, struct buf *out)
{
	unsigned ok = 0, total = 0;
	int v;

	for (v = 0; v < SMTPD_PROTO_V_COUNT; v++) {
		if (p->counts[v].total == 0)
			continue;
		ok += p->counts[v].ok;
		total += p->counts[v].total;
		if (p->counts[v].ok == p->counts[v].total)
			buf_printf(out, "%s=%u ", smtpd_proto_verb_names[v],
			    p->counts[v].ok);
		else
			buf_printf(out, "%s=%u/%u ",
			    smtpd_proto_verb_names[v], p->counts[v].ok,
			    p->counts[v].total);
	}
	if (ok == total)
		buf_printf(out, "commands=%u", ok);
	else
		buf_printf(out, "commands=%u/%u", ok, total);
}

/* ------------------------------------------------ simple commands */

/* The name ends up in a Received header: one word, no control bytes,
 * well-formed UTF-8 (RFC 6531 allows U-labels).  Returns true when it
 * was taken. */
static bool
smtpd_proto_cmd_helo_any(struct smtpd_proto *p, char *arg, int verb)
{
	const char *name = verb == SMTPD_PROTO_V_EHLO ? "EHLO" : "HELO";
	size_t n, i;

	n = strcspn(arg, " ");
	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 0x21 || arg[i] == 0x7f)
			break;
	if (n == 0 || i < n || !str_utf8_valid(arg, n)) {
		smtpd_proto_reply(p, "501 5.5.4 Syntax: %s hostname", name);
		return false;
	}
	free(p->helo_name);
	if ((p->helo_name = strndup(arg, n)) == NULL) {
		smtpd_proto_reply(p, "452 4.3.1 Insufficient system storage");
		return false;
	}
	p->greeted = true;
	p->esmtp = verb == SMTPD_PROTO_V_EHLO;
	smtpd_proto_txn_reset(p);
	smtpd_proto_ok(p, verb);
	return true;
}

static void
smtpd_proto_cmd_helo(struct smtpd_proto *p, char *arg)
{
	if (smtpd_proto_cmd_helo_any(p, arg, SMTPD_PROTO_V_HELO))
		smtpd_proto_reply(p, "250 %s", p->conf.hostname);
}

static bool
smtpd_proto_offer_starttls(const struct smtpd_proto *p)
{
	return p->conf.starttls && !p->tls;
}

static bool
smtpd_proto_offer_auth(const struct smtpd_proto *p)
{
	return p->tls && p->conf.auth != CONFIG_LAUTH_NONE;
}

static void
smtpd_proto_cmd_ehlo(struct smtpd_proto *p, char *arg)
{
	char size[64];
	const char *ext[16];
	size_t n = 0, i;

	if (!smtpd_proto_cmd_helo_any(p, arg, SMTPD_PROTO_V_EHLO))
		return;
	snprintf(size, sizeof(size), "SIZE %" PRIu64,
	    p->conf.max_message_size);
	ext[n++] = p->conf.hostname;
	ext[n++] = "PIPELINING";
	ext[n++] = size;
	if (smtpd_proto_offer_starttls(p))
		ext[n++] = "STARTTLS";
	if (smtpd_proto_offer_auth(p))
		ext[n++] = "AUTH PLAIN LOGIN";
	if (p->tls)
		ext[n++] = "REQUIRETLS";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "8BITMIME";
	ext[n++] = "DSN";
	ext[n++] = "SMTPUTF8";
	ext[n++] = "CHUNKING";
	for (i = 0; i < n; i++)
		smtpd_proto_reply(p, "250%c%s", i + 1 < n ? '-' : ' ',
		    ext[i]);
}

static void
smtpd_proto_cmd_rset(struct smtpd_proto *p, char *arg)
{
	(void)arg;
	smtpd_proto_txn_reset(p);
	smtpd_proto_reply(p, "250 2.0.0 Ok");
	smtpd_proto_ok(p, SMTPD_PROTO_V_RSET);
}

static void
smtpd_proto_cmd_noop(struct smtpd_proto *p, char *arg)
{
	(void)arg;
	smtpd_proto_reply(p, "250 2.0.0 Ok");
	smtpd_proto_ok(p, SMTPD_PROTO_V_NOOP);
}

static void
smtpd_proto_cmd_quit(struct smtpd_proto *p, char *arg)
{
	(void)arg;
	smtpd_proto_reply(p, "221 2.0.0 Bye");
	smtpd_proto_ok(p, SMTPD_PROTO_V_QUIT);
	smtpd_proto_txn_reset(p);
	smtpd_proto_close(p);
}

static void
smtpd_proto_cmd_help(struct smtpd_proto *p, char *arg)
{
	(void)arg;
	smtpd_proto_reply(p, "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA "
	    "BDAT RSET NOOP QUIT HELP VRFY%s%s",
	    smtpd_proto_offer_starttls(p) ? " STARTTLS" : "",
	    smtpd_proto_offer_auth(p) ? " AUTH" : "");
	smtpd_proto_ok(p, SMTPD_PROTO_V_HELP);
}

static void
smtpd_proto_cmd_vrfy(struct smtpd_proto *p, char *arg)
{
	(void)arg;
	smtpd_proto_reply(p, "252 2.0.0 Cannot VRFY user, but will accept "
	    "message and attempt delivery");
	smtpd_proto_ok(p, SMTPD_PROTO_V_VRFY);
}

static void
smtpd_proto_cmd_expn(struct smtpd_proto *p, char *arg)
{
	(void)arg;
	smtpd_proto_reply(p, "502 5.5.1 Error: command not implemented");
}

static void
smtpd_proto_cmd_starttls(struct smtpd_proto *p, char *arg)
{
	if (p->tls)
		smtpd_proto_reply(p, "554 5.5.1 Error: TLS already active");
	else if (!p->conf.starttls)
		smtpd_proto_reply(p, "502 5.5.1 Error: command not "
		    "implemented");
	else if (*arg != '\0')
		smtpd_proto_reply(p, "501 5.5.4 Syntax: STARTTLS");
	else {
		smtpd_proto_reply(p, "220 2.0.0 Ready to start TLS");
		smtpd_proto_ok(p, SMTPD_PROTO_V_STARTTLS);
		p->state = SMTPD_STARTTLS;
	}
}

/* -------------------------------------------------------------- AUTH */

/* Hand the credentials to the host, unless they are refused anyway:
 * no user name, control bytes in it. */
static void
smtpd_proto_auth_check(struct smtpd_proto *p)
{
	const char *s;

	p->auth_step = SMTPD_PROTO_A_NONE;
	p->mode = SMTPD_PROTO_M_CMD;
	for (s = p->sasl->user; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			break;
	if (p->sasl->user[0] == '\0' || *s != '\0') {
		smtpd_proto_wipe(p);
		smtpd_proto_reply(p, "535 5.7.8 Error: authentication failed");
		return;
	}
	p->state = SMTPD_AUTH;
}

static void
smtpd_proto_auth_fail(struct smtpd_proto *p, const char *reply)
{
	p->auth_step = SMTPD_PROTO_A_NONE;
	p->mode = SMTPD_PROTO_M_CMD;
	smtpd_proto_wipe(p);
	smtpd_proto_reply(p, "%s", reply);
}

/* Decode a response into p->sasl; false (and replied) when it does
 * not decode. */
static bool
smtpd_proto_auth_decode(struct smtpd_proto *p, const char *s, size_t *n)
{
	if (strcmp(s, "=") == 0) {
		p->sasl->buf[0] = '\0';
		*n = 0;
		return true;
	}
	if (str_b64_decode(s, strlen(s), p->sasl->buf, sizeof(p->sasl->buf),
	    n) == 0)
		return true;
	smtpd_proto_auth_fail(p, "501 5.5.2 Cannot decode response");
	return false;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static void
smtpd_proto_auth_plain(struct smtpd_proto *p, const char *resp)
{
	const char *z, *u, *w, *end;
	size_t n;

	if (!smtpd_proto_auth_decode(p, resp, &n))
		return;
	z = p->sasl->buf;
	end = p->sasl->buf + n;
	u = memchr(z, '\0', n);
	w = u != NULL ? memchr(u + 1, '\0', (size_t)(end - u - 1)) : NULL;
	if (w == NULL || memchr(w + 1, '\0', (size_t)(end - w - 1)) != NULL) {
		smtpd_proto_auth_fail(p, "501 5.5.2 Cannot decode response");
		return;
	}
	/* Acting for another user is not offered. */
	if (*z != '\0' && strcmp(z, u + 1) != 0) {
		smtpd_proto_auth_fail(p, "535 5.7.8 Error: authentication "
		    "failed");
		return;
	}
	strcpy(p->sasl->user, u + 1);
	memcpy(p->sasl->pass, w + 1, (size_t)(end - w));
	explicit_bzero(p->sasl->buf, sizeof(p->sasl->buf));
	smtpd_proto_auth_check(p);
}

/* A user name or password line of AUTH LOGIN. */
static void
smtpd_proto_auth_login(struct smtpd_proto *p, const char *resp)
{
	size_t n;

	if (!smtpd_proto_auth_decode(p, resp, &n))
		return;
	if (memchr(p->sasl->buf, '\0', n) != NULL) {
		smtpd_proto_auth_fail(p, "501 5.5.2 Cannot decode response");
		return;
	}
	if (p->auth_step != SMTPD_PROTO_A_LOGIN_PASS) {
		memcpy(p->sasl->user, p->sasl->buf, n + 1);
		explicit_bzero(p->sasl->buf, sizeof(p->sasl->buf));
		p->auth_step = SMTPD_PROTO_A_LOGIN_PASS;
		p->mode = SMTPD_PROTO_M_AUTH;
		smtpd_proto_reply(p, "334 UGFzc3dvcmQ6");
		return;
	}
	memcpy(p->sasl->pass, p->sasl->buf, n + 1);
	explicit_bzero(p->sasl->buf, sizeof(p->sasl->buf));
	smtpd_proto_auth_check(p);
}

/* A response line after 334. */
static void
smtpd_proto_auth_line(struct smtpd_proto *p, const char *line, size_t len)
{
	if (strcmp(line, "*") == 0)
		smtpd_proto_auth_fail(p, "501 5.7.0 Authentication aborted");
	else if (memchr(line, '\0', len) != NULL || strcmp(line, "=") == 0)
		smtpd_proto_auth_fail(p, "501 5.5.2 Cannot decode response");
	else if (p->auth_step == SMTPD_PROTO_A_PLAIN)
		smtpd_proto_auth_plain(p, line);
	else
		smtpd_proto_auth_login(p, line);
}

/* Why AUTH may not be used now, or NULL. */
static const char *
smtpd_proto_auth_refusal(const struct smtpd_proto *p)
{
	if (p->conf.auth == CONFIG_LAUTH_NONE)
		return "503 5.5.1 Error: authentication not enabled";
	if (!p->tls)
		return "538 5.7.11 Encryption required for requested "
		    "authentication mechanism";
	if (!p->greeted)
		return "503 5.5.1 Error: send HELO/EHLO first";
	if (p->authed)
		return "503 5.5.1 Error: already authenticated";
	if (p->in_mail)
		return "503 5.5.1 Error: MAIL transaction in progress";
	return NULL;
}

static void
smtpd_proto_cmd_auth(struct smtpd_proto *p, char *arg)
{
	const char *why;
	char *init;

	if ((why = smtpd_proto_auth_refusal(p)) != NULL) {
		smtpd_proto_reply(p, "%s", why);
		return;
	}
	if ((init = strchr(arg, ' ')) != NULL) {
		*init++ = '\0';
		while (*init == ' ')
			init++;
	}
	if (*arg == '\0' || (init != NULL && strchr(init, ' ') != NULL)) {
		smtpd_proto_reply(p, "501 5.5.4 Syntax: AUTH mechanism "
		    "[initial-response]");
		return;
	}
	if (init != NULL && *init == '\0')
		init = NULL;
	if (p->sasl == NULL &&
	    (p->sasl = calloc(1, sizeof(*p->sasl))) == NULL) {
		smtpd_proto_reply(p, "454 4.7.0 Temporary authentication "
		    "failure");
		return;
	}
	p->mode = SMTPD_PROTO_M_AUTH;
	if (strcasecmp(arg, "PLAIN") == 0) {
		p->auth_mech = "PLAIN";
		p->auth_step = SMTPD_PROTO_A_PLAIN;
		if (init != NULL)
			smtpd_proto_auth_plain(p, init);
		else
			smtpd_proto_reply(p, "334 ");
	} else if (strcasecmp(arg, "LOGIN") == 0) {
		p->auth_mech = "LOGIN";
		p->auth_step = SMTPD_PROTO_A_LOGIN_USER;
		if (init != NULL)
			smtpd_proto_auth_login(p, init);
		else
			smtpd_proto_reply(p, "334 VXNlcm5hbWU6");
	} else {
		p->mode = SMTPD_PROTO_M_CMD;
		smtpd_proto_reply(p, "504 5.5.4 Unrecognized authentication "
		    "type");
	}
}

void
smtpd_proto_auth_creds(const struct smtpd_proto *p, const char **mech,
    const char **user, const char **pass)
{
	*mech = p->auth_mech != NULL ? p->auth_mech : "";
	*user = p->sasl != NULL ? p->sasl->user : "";
	*pass = p->sasl != NULL ? p->sasl->pass : "";
}

void
smtpd_proto_auth_result(struct smtpd_proto *p, enum smtpd_auth_result r)
{
	char bye[512];

	if (p->state != SMTPD_AUTH)
		return;
	p->state = SMTPD_RUN;
	if (r == SMTPD_AUTH_OK && (p->sasl == NULL ||
	    (p->auth_user = strdup(p->sasl->user)) == NULL))
		r = SMTPD_AUTH_TEMPFAIL;
	smtpd_proto_wipe(p);
	switch (r) {
	case SMTPD_AUTH_OK:
		p->authed = true;
		smtpd_proto_reply(p, "235 2.7.0 Authentication successful");
		smtpd_proto_ok(p, SMTPD_PROTO_V_AUTH);
		break;
	case SMTPD_AUTH_FAIL:
		smtpd_proto_reply(p, "535 5.7.8 Error: authentication failed");
		break;
	case SMTPD_AUTH_TEMPFAIL:
		smtpd_proto_reply(p, "454 4.7.0 Temporary authentication "
		    "failure");
		break;
	default:
		snprintf(bye, sizeof(bye), "421 4.7.0 %s Error: too many "
		    "failed authentication attempts; try again later",
		    p->conf.hostname);
		smtpd_proto_put(p, bye);
		smtpd_proto_close(p);
	}
	if (p->eof)
		smtpd_proto_close(p);
}

/* ----------------------------------------------------------- commands */

typedef void smtpd_proto_cmd_fn(struct smtpd_proto *, char *);

static const struct smtpd_proto_cmd {
	const char *name;
	int verb;
	smtpd_proto_cmd_fn *fn;
} smtpd_proto_cmds[] = {
	{ "EHLO", SMTPD_PROTO_V_EHLO, smtpd_proto_cmd_ehlo },
	{ "HELO", SMTPD_PROTO_V_HELO, smtpd_proto_cmd_helo },
	{ "MAIL", SMTPD_PROTO_V_MAIL, smtpd_proto_cmd_mail },
	{ "RCPT", SMTPD_PROTO_V_RCPT, smtpd_proto_cmd_rcpt },
	{ "DATA", SMTPD_PROTO_V_DATA, smtpd_proto_cmd_data },
	{ "BDAT", SMTPD_PROTO_V_BDAT, smtpd_proto_cmd_bdat },
	{ "RSET", SMTPD_PROTO_V_RSET, smtpd_proto_cmd_rset },
	{ "NOOP", SMTPD_PROTO_V_NOOP, smtpd_proto_cmd_noop },
	{ "QUIT", SMTPD_PROTO_V_QUIT, smtpd_proto_cmd_quit },
	{ "HELP", SMTPD_PROTO_V_HELP, smtpd_proto_cmd_help },
	{ "VRFY", SMTPD_PROTO_V_VRFY, smtpd_proto_cmd_vrfy },
	{ "EXPN", SMTPD_PROTO_V_EXPN, smtpd_proto_cmd_expn },
	{ "STARTTLS", SMTPD_PROTO_V_STARTTLS, smtpd_proto_cmd_starttls },
	{ "AUTH", SMTPD_PROTO_V_AUTH, smtpd_proto_cmd_auth },
};

static void
smtpd_proto_count(struct smtpd_proto *p, int verb)
{
	if (p->counts[verb].total < UINT_MAX)
		p->counts[verb].total++;
}

/* One complete command line (CRLF removed, NUL-terminated). */
static void
smtpd_proto_command(struct smtpd_proto *p, char *line, size_t len)
{
	const struct smtpd_proto_cmd *cmd;
	size_t i, vl;
	char *arg;

	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	vl = strcspn(line, " ");
	for (arg = line + vl; *arg == ' '; arg++)
		;
	for (i = 0; i < sizeof(smtpd_proto_cmds) / sizeof(*cmd); i++) {
		cmd = &smtpd_proto_cmds[i];
		if (strlen(cmd->name) == vl && str_ieq_n(line, cmd->name, vl) &&
		    memchr(line, '\0', len) == NULL) {
			smtpd_proto_count(p, cmd->verb);
			line[vl] = '\0';
			cmd->fn(p, arg);
			return;
		}
	}
	smtpd_proto_count(p, SMTPD_PROTO_V_UNKNOWN);
	smtpd_proto_reply(p, "500 5.5.2 Error: command not recognized");
}

/* The longest line allowed now, LF included: RFC 4954 4 lets AUTH
 * and the responses that follow it be longer than other commands. */
static size_t
smtpd_proto_line_limit(const struct smtpd_proto *p)
{
	if (p->mode == SMTPD_PROTO_M_AUTH ||
	    (p->line_len >= 5 && str_ieq_n(p->line, "AUTH ", 5)))
		return SMTPD_AUTH_LINE_MAX;
	return SMTPD_LINE_MAX;
}

/* A line that broke the limit has ended. */
static void
smtpd_proto_line_long(struct smtpd_proto *p)
{
	p->line_long = false;
	if (p->mode == SMTPD_PROTO_M_AUTH) {
		p->auth_step = SMTPD_PROTO_A_NONE;
		p->mode = SMTPD_PROTO_M_CMD;
		smtpd_proto_wipe(p);
	} else
		smtpd_proto_count(p, SMTPD_PROTO_V_UNKNOWN);
	smtpd_proto_reply(p, "500 5.5.2 Error: command line too long "
	    "(limit %zu octets)", p->long_limit);
}

/* Gather a line; act on it once its LF is there. */
static size_t
smtpd_proto_line_in(struct smtpd_proto *p, const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len);
	size_t n = nl != NULL ? (size_t)(nl - data) : len, ll, room;
	bool fits;

	if (!p->line_long) {
		/* The buffer holds the longest line of any kind; which
		 * limit applies is known once the verb is in. */
		room = SMTPD_AUTH_LINE_MAX - 1 - p->line_len;
		fits = n <= room;
		if (smtpd_proto_line_grow(p, fits ? n : room) < 0) {
			/* Out of memory: treat it as a line too long. */
			fits = false;
			room = 0;
		}
		if ((fits ? n : room) > 0)
			memcpy(p->line + p->line_len, data, fits ? n : room);
		p->line_len += fits ? n : room;
		p->long_limit = smtpd_proto_line_limit(p);
		if (!fits || p->line_len > p->long_limit - 1) {
			p->line_long = true;
			p->line_len = 0;
			smtpd_proto_line_release(p);
		}
	}
	if (nl == NULL)
		return len;
	if (p->line_long) {
		smtpd_proto_line_long(p);
		return n + 1;
	}
	if (smtpd_proto_line_grow(p, 0) < 0) {
		p->line_len = 0;
		smtpd_proto_reply(p, "452 4.3.1 Insufficient system storage");
		return n + 1;
	}
	ll = p->line_len;
	p->line_len = 0;
	p->line_crlf = ll > 0 && p->line[ll - 1] == '\r';
	if (p->line_crlf)
		ll--;
	p->line[ll] = '\0';
	if (p->mode == SMTPD_PROTO_M_AUTH)
		smtpd_proto_auth_line(p, p->line, ll);
	else
		smtpd_proto_command(p, p->line, ll);
	if (p->line_cap > 1024)
		smtpd_proto_line_release(p);
	else if (p->line != NULL)
		explicit_bzero(p->line, ll);
	return n + 1;
}

size_t
smtpd_proto_input(struct smtpd_proto *p, const char *data, size_t len)
{
	size_t used = 0;

	if (p->state == SMTPD_CLOSE)
		return len;
	while (used < len && p->state == SMTPD_RUN) {
		if (p->mode == SMTPD_PROTO_M_DATA)
			used += smtpd_proto_data_in(p, data + used,
			    len - used);
		else if (p->mode == SMTPD_PROTO_M_BDAT)
			used += smtpd_proto_bdat_in(p, data + used,
			    len - used);
		else
			used += smtpd_proto_line_in(p, data + used,
			    len - used);
	}
	return p->state == SMTPD_CLOSE ? len : used;
}
