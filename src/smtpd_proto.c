/*
 * smtpd_proto: the SMTP server engine (see smtpd_proto.h).
 *
 * Owns one session: the line assembler, the EHLO, TLS and AUTH state,
 * the current transaction (envelope and message) and the replies not
 * yet sent.  Invariants: every buffer that client bytes reach has a
 * fixed bound (command line, AUTH line, message size, recipients,
 * unsent replies); input is consumed only in SMTPD_RUN, so whatever
 * the client pipelined behind a command that needs the host stays in
 * the host's buffer until the host has answered; every reply line goes
 * out through smtpd_proto_send(), which counts errors and strips
 * control bytes; and message content is normalised so that only
 * <CRLF>.<CRLF> ends DATA.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "log.h"
#include "smtpd_policy.h"
#include "smtpd_proto.h"
#include "str.h"

/* Unsent replies: a client that pipelines thousands of commands and
 * never reads its replies is cut off rather than buffered for. */
#define SMTPD_PROTO_OUT_MAX (1024 * 1024)
/* One reply line: room for a path or parameter quoted back. */
#define SMTPD_PROTO_REPLY_MAX (SMTPD_AUTH_LINE_MAX + 256)
/* A decoded SASL response. */
#define SMTPD_PROTO_SASL_MAX (SMTPD_AUTH_LINE_MAX / 4 * 3 + 1)
/* max_message_size 0: the largest the configuration allows. */
#define SMTPD_PROTO_SIZE_CAP (4ULL << 30)

enum smtpd_proto_mode {
	SMTPD_PROTO_M_CMD,  /* command lines */
	SMTPD_PROTO_M_AUTH, /* SASL response lines after 334 */
	SMTPD_PROTO_M_DATA, /* DATA content */
	SMTPD_PROTO_M_BDAT, /* a BDAT chunk */
};

/* Where DATA content is within its line. */
enum smtpd_proto_line {
	SMTPD_PROTO_L_START, /* nothing yet */
	SMTPD_PROTO_L_DOT,   /* a '.' held back */
	SMTPD_PROTO_L_TEXT,  /* anything else */
};

enum smtpd_proto_auth_step {
	SMTPD_PROTO_A_NONE,
	SMTPD_PROTO_A_PLAIN,      /* 334: waiting for the PLAIN message */
	SMTPD_PROTO_A_LOGIN_USER, /* 334 Username: */
	SMTPD_PROTO_A_LOGIN_PASS, /* 334 Password: */
};

/* Verbs in the order of the "disconnect from" counts. */
enum smtpd_proto_verb {
	SMTPD_PROTO_V_HELO, SMTPD_PROTO_V_EHLO, SMTPD_PROTO_V_STARTTLS,
	SMTPD_PROTO_V_AUTH, SMTPD_PROTO_V_MAIL, SMTPD_PROTO_V_RCPT,
	SMTPD_PROTO_V_DATA, SMTPD_PROTO_V_BDAT, SMTPD_PROTO_V_RSET,
	SMTPD_PROTO_V_NOOP, SMTPD_PROTO_V_VRFY, SMTPD_PROTO_V_EXPN,
	SMTPD_PROTO_V_HELP, SMTPD_PROTO_V_QUIT, SMTPD_PROTO_V_UNKNOWN,
	SMTPD_PROTO_V_COUNT
};

static const char *const smtpd_proto_verb_names[SMTPD_PROTO_V_COUNT] = {
	"helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat",
	"rset", "noop", "vrfy", "expn", "help", "quit", "unknown",
};

/* The content of the message under way (DATA or BDAT). */
struct smtpd_proto_content {
	uint64_t size;   /* bytes stored, or that would have been */
	bool oversize;   /* past the limit: no longer stored */
	bool nul;        /* a NUL byte was seen */
	bool nomem;      /* the buffer could not grow */
	bool eightbit;   /* a byte >= 0x80 was seen */
	bool cr;         /* a CR waits for the next byte */
	bool after_crlf; /* DATA: the current line began after CRLF */
	int line;        /* DATA: enum smtpd_proto_line */
};

struct smtpd_proto {
	struct smtpd_proto_conf conf;
	smtpd_proto_log_fn log;
	void *log_arg;
	enum smtpd_state state;
	int mode;          /* enum smtpd_proto_mode */
	bool eof;          /* the client is gone: close after the host */
	struct buf out;
	uint64_t size_max; /* the effective max_message_size */
	size_t rcpt_max;   /* the effective max_recipients */
	unsigned errors;

	/* The line being assembled (without its LF). */
	char line[SMTPD_AUTH_LINE_MAX + 1];
	size_t line_len;
	bool line_long;    /* over the limit: skipping to its end */
	size_t long_limit; /* the limit it broke */
	bool line_crlf;    /* the last complete line ended with CRLF */

	/* Session. */
	int helo;          /* 0, SMTPD_PROTO_V_HELO or SMTPD_PROTO_V_EHLO */
	char helo_name[SMTPD_LINE_MAX];
	bool tls;
	bool authed;
	int auth_step;     /* enum smtpd_proto_auth_step */
	const char *auth_mech;
	char auth_user[SMTPD_PROTO_SASL_MAX];
	char auth_pass[SMTPD_PROTO_SASL_MAX];
	char sasl[SMTPD_PROTO_SASL_MAX];

	/* Transaction. */
	bool in_mail;
	bool bdat;         /* a BDAT chunk was taken: DATA is refused */
	bool body8;        /* BODY=8BITMIME */
	int commit_verb;   /* DATA or BDAT, for the counts */
	struct envelope env;
	struct buf msg;
	struct smtpd_proto_content c;

	/* The BDAT chunk under way. */
	uint64_t chunk_left;
	uint64_t chunk_size;
	bool chunk_last;
	char chunk_err[128]; /* its reply when it is refused, else "" */

	struct {
		unsigned ok, total;
	} counts[SMTPD_PROTO_V_COUNT];
};

static void smtpd_proto_data_begin(struct smtpd_proto *p);

/* ----------------------------------------------------------- replies */

static void
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

static void __attribute__((format(printf, 2, 3)))
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
static void
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
		    p->helo == SMTPD_PROTO_V_EHLO ? "ESMTP" : "SMTP",
		    p->helo_name);
		p->log(LOG_INFO, line, p->log_arg);
	}
	smtpd_proto_send(p, reply);
}

static void __attribute__((format(printf, 5, 6)))
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

static void
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
	explicit_bzero(p->auth_pass, sizeof(p->auth_pass));
	explicit_bzero(p->sasl, sizeof(p->sasl));
}

void
smtpd_proto_free(struct smtpd_proto *p)
{
	if (p == NULL)
		return;
	smtpd_proto_wipe(p);
	explicit_bzero(p->line, sizeof(p->line));
	buf_fini(&p->out);
	buf_fini(&p->msg);
	envelope_fini(&p->env);
	free(p);
}

void
smtpd_proto_start(struct smtpd_proto *p)
{
	smtpd_proto_reply(p, "220 %s ESMTP tern", p->conf.hostname);
}

/* End the transaction: the envelope, the message and its state. */
static void
smtpd_proto_txn_reset(struct smtpd_proto *p)
{
	envelope_fini(&p->env);
	envelope_init(&p->env);
	buf_fini(&p->msg);
	memset(&p->c, 0, sizeof(p->c));
	p->in_mail = false;
	p->bdat = false;
	p->body8 = false;
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
	p->helo = 0;
	p->helo_name[0] = '\0';
	p->authed = false;
	p->auth_step = SMTPD_PROTO_A_NONE;
	p->auth_mech = NULL;
	p->auth_user[0] = '\0';
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
	return p->helo_name;
}

const char *
smtpd_proto_protocol(const struct smtpd_proto *p)
{
	static const char *const names[] = { "ESMTP", "ESMTPA", "ESMTPS",
		"ESMTPSA" };

	if (p->conf.local)
		return "local";
	if (p->helo != SMTPD_PROTO_V_EHLO)
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

/* ---------------------------------------------------------- parsing */

/* A decimal number without sign or spaces that fits 64 bits. */
static int
smtpd_proto_number(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned d;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Decode RFC 3461 xtext into out (at most max bytes and a NUL).  The
 * decoded text must be printable ASCII: it ends up in bounces. */
static int
smtpd_proto_xtext(const char *s, char *out, size_t max)
{
	size_t n = 0;
	int ch, hi, lo;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if (ch == '+') {
			if ((hi = str_hexval(s[1])) < 0 ||
			    (lo = str_hexval(s[2])) < 0)
				return -1;
			ch = hi * 16 + lo;
			s += 2;
		} else if (ch == '=')
			return -1;
		if (ch < 0x20 || ch > 0x7e || n >= max)
			return -1;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* Decode base64 (RFC 4648, padded) into out[0..size). */
static int
smtpd_proto_b64(const char *s, char *out, size_t size, size_t *outlen)
{
	size_t len = strlen(s), pad = 0, i, n = 0;
	unsigned acc = 0;
	int v, bits = 0;

	if (len % 4 != 0)
		return -1;
	while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
		pad++;
	for (i = 0; i < len - pad; i++) {
		if ((v = str_b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (n + 1 >= size)
				return -1;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	out[n] = '\0';
	*outlen = n;
	return 0;
}

/* An addr-spec, or a local name alone (cleanup qualifies it). */
static bool
smtpd_proto_addr_ok(const char *a)
{
	char tmp[ADDR_MAX_LEN + 3];
	bool quoted = false;
	const char *s;

	if (addr_spec_valid(a))
		return true;
	for (s = a; *s != '\0'; s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
		else if (!quoted && *s == '@')
			return false;
	}
	if (strlen(a) > ADDR_MAX_LEN - 2)
		return false;
	snprintf(tmp, sizeof(tmp), "%s@x", a);
	return addr_spec_valid(tmp);
}

/* A source route "@a,@b:" in front of the mailbox: its domains. */
static bool
smtpd_proto_route_ok(const char *r, size_t n)
{
	char tmp[SMTPD_LINE_MAX];
	size_t i, j;

	for (i = 0; i < n; i = j + 1) {
		if (r[i] != '@')
			return false;
		for (j = i + 1; j < n && r[j] != ','; j++)
			;
		if (j - i - 1 + 3 > sizeof(tmp))
			return false;
		snprintf(tmp, sizeof(tmp), "x@%.*s", (int)(j - i - 1),
		    r + i + 1);
		if (!addr_spec_valid(tmp))
			return false;
	}
	return n > 0;
}

/* A command's path, split in place. */
struct smtpd_proto_path {
	char *raw;    /* as given between < and > */
	char *addr;   /* the mailbox, source route stripped */
	char *params; /* what follows, or "" */
};

/*
 * Parse "KEYWORD:<path> params" ("MAIL FROM: <a@b>" is a common client
 * bug, taken).  Returns 0, or -1 for a syntax error.  The path is not
 * checked here: *addr may be anything, and "" for <>.
 */
static int
smtpd_proto_path(char *arg, const char *kw, struct smtpd_proto_path *pp)
{
	size_t kl = strlen(kw);
	bool quoted = false;
	char *s, *colon;

	if (!str_ieq_n(arg, kw, kl))
		return -1;
	for (s = arg + kl; *s == ' '; s++)
		;
	if (*s++ != '<')
		return -1;
	pp->raw = s;
	for (; *s != '\0' && (quoted || *s != '>'); s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		else if (*s == '"')
			quoted = !quoted;
	}
	if (*s != '>' || (s[1] != '\0' && s[1] != ' '))
		return -1;
	*s++ = '\0';
	while (*s == ' ')
		s++;
	pp->params = s;
	pp->addr = pp->raw;
	if (pp->raw[0] == '@') {
		if ((colon = strchr(pp->raw, ':')) == NULL ||
		    !smtpd_proto_route_ok(pp->raw, (size_t)(colon - pp->raw)))
			pp->addr = NULL;
		else
			pp->addr = colon + 1;
	}
	return 0;
}

/* The next "NAME[=value]" of a parameter list, split in place.  The
 * name is an esmtp-keyword; returns false at the end. */
static bool
smtpd_proto_param(char **s, char **name, char **value)
{
	char *p = *s, *eq;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return false;
	*name = p;
	while (*p != '\0' && *p != ' ')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	if ((eq = strchr(*name, '=')) != NULL)
		*eq++ = '\0';
	*value = eq;
	return true;
}

/* ------------------------------------------------ simple commands */

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
	memcpy(p->helo_name, arg, n);
	p->helo_name[n] = '\0';
	p->helo = verb;
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

/* -------------------------------------------------------------- MAIL */

/* MAIL parameters as parsed. */
struct smtpd_proto_mailp {
	uint64_t size;
	bool body8, smtputf8, requiretls;
	int ret;
	char envid[SMTPD_ENVID_MAX + 1];
	unsigned seen; /* bit per parameter: each may be given once */
};

/* Check one MAIL parameter.  Returns 0, 1 for a bad value, or -1 when
 * it has replied already. */
static int
smtpd_proto_mail_param(struct smtpd_proto *p, struct smtpd_proto_mailp *mp,
    int i, const char *v)
{
	switch (i) {
	case 0: /* SIZE */
		return v == NULL || smtpd_proto_number(v, &mp->size) ? 1 : 0;
	case 1: /* BODY */
		if (v == NULL || (strcasecmp(v, "7BIT") != 0 &&
		    strcasecmp(v, "8BITMIME") != 0))
			return 1;
		mp->body8 = strcasecmp(v, "8BITMIME") == 0;
		return 0;
	case 2: /* SMTPUTF8 */
		mp->smtputf8 = true;
		return v != NULL;
	case 3: /* RET */
		if (v != NULL && strcasecmp(v, "FULL") == 0)
			mp->ret = ENVELOPE_RET_FULL;
		else if (v != NULL && strcasecmp(v, "HDRS") == 0)
			mp->ret = ENVELOPE_RET_HDRS;
		else
			return 1;
		return 0;
	case 4: /* ENVID */
		return v == NULL || smtpd_proto_xtext(v, mp->envid,
		    SMTPD_ENVID_MAX) == -1;
	case 5: /* AUTH: RFC 4954 5, accepted and ignored */
		return v == NULL || *v == '\0';
	default: /* REQUIRETLS */
		if (v != NULL)
			return 1;
		if (!p->tls) {
			smtpd_proto_reply(p, "530 5.7.10 REQUIRETLS needs TLS: "
			    "send STARTTLS first");
			return -1;
		}
		mp->requiretls = true;
		return 0;
	}
}

static int
smtpd_proto_mail_params(struct smtpd_proto *p, char *s, const char *from,
    struct smtpd_proto_mailp *mp)
{
	static const char *const names[] = { "SIZE", "BODY", "SMTPUTF8",
		"RET", "ENVID", "AUTH", "REQUIRETLS" };
	char *name, *value;
	size_t i, n = sizeof(names) / sizeof(names[0]);
	int r;

	while (smtpd_proto_param(&s, &name, &value)) {
		for (i = 0; i < n && strcasecmp(name, names[i]) != 0; i++)
			;
		if (i == n) {
			smtpd_proto_reject(p, "MAIL", from, NULL, "555 5.5.4 "
			    "Unsupported option: %s", name);
			return -1;
		}
		r = mp->seen & 1u << i ? 1 :
		    smtpd_proto_mail_param(p, mp, (int)i, value);
		mp->seen |= 1u << i;
		if (r == 1)
			smtpd_proto_reject(p, "MAIL", from, NULL, "501 5.5.4 "
			    "Bad %s parameter value", names[i]);
		if (r != 0)
			return -1;
	}
	return 0;
}

/* The sequence checks before MAIL: HELO, AUTH when required, no
 * transaction yet.  Returns true when MAIL may go on. */
static bool
smtpd_proto_mail_allowed(struct smtpd_proto *p)
{
	if (p->helo == 0)
		smtpd_proto_reply(p, "503 5.5.1 Error: send HELO/EHLO first");
	else if (p->conf.auth == CONFIG_LAUTH_REQUIRED && !p->authed)
		smtpd_proto_reject(p, "MAIL", NULL, NULL, "530 5.7.0 %s",
		    !p->tls && p->conf.starttls ? "Must issue a STARTTLS "
		    "command first" : "Authentication required");
	else if (p->in_mail)
		smtpd_proto_reply(p, "503 5.5.1 Error: nested MAIL command");
	else
		return true;
	return false;
}

static int
smtpd_proto_mail_store(struct smtpd_proto *p, const char *addr,
    const struct smtpd_proto_mailp *mp)
{
	if ((p->env.sender = strdup(addr)) == NULL)
		return -1;
	if (mp->envid[0] != '\0' && (p->env.envid = strdup(mp->envid)) ==
	    NULL)
		return -1;
	p->body8 = mp->body8;
	p->env.body = mp->body8 ? ENVELOPE_BODY_8BITMIME : ENVELOPE_BODY_7BIT;
	p->env.smtputf8 = mp->smtputf8;
	p->env.requiretls = mp->requiretls;
	p->env.ret = mp->ret;
	return 0;
}

static void
smtpd_proto_cmd_mail(struct smtpd_proto *p, char *arg)
{
	struct smtpd_proto_mailp mp;
	struct smtpd_proto_path pp;

	if (!smtpd_proto_mail_allowed(p))
		return;
	memset(&mp, 0, sizeof(mp));
	if (smtpd_proto_path(arg, "FROM:", &pp) == -1) {
		smtpd_proto_reject(p, "MAIL", NULL, NULL,
		    "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if (pp.addr == NULL || (pp.addr[0] != '\0' &&
	    !smtpd_proto_addr_ok(pp.addr))) {
		smtpd_proto_reject(p, "MAIL", pp.raw, NULL, "501 5.1.7 <%s>: "
		    "Bad sender address syntax", pp.raw);
		return;
	}
	if (smtpd_proto_mail_params(p, pp.params, pp.raw, &mp) == -1)
		return;
	if (str_has_8bit(pp.raw, strlen(pp.raw)) && !mp.smtputf8)
		smtpd_proto_reject(p, "MAIL", pp.raw, NULL, "553 5.6.7 <%s>: "
		    "non-ASCII address needs SMTPUTF8", pp.raw);
	else if (mp.size > p->size_max)
		smtpd_proto_reject(p, "MAIL", pp.raw, NULL, "552 5.3.4 Message "
		    "size exceeds fixed limit (%" PRIu64 " bytes)",
		    p->size_max);
	else if (smtpd_proto_mail_store(p, pp.addr, &mp) == -1) {
		smtpd_proto_txn_reset(p);
		smtpd_proto_reply(p, "452 4.3.1 Insufficient system storage");
	} else {
		p->in_mail = true;
		smtpd_proto_reply(p, "250 2.1.0 Ok");
		smtpd_proto_ok(p, SMTPD_PROTO_V_MAIL);
	}
}

/* -------------------------------------------------------------- RCPT */

struct smtpd_proto_rcptp {
	unsigned notify;
	char *orcpt; /* "rfc822;decoded", malloc'd */
	unsigned seen;
};

/* ORCPT=rfc822;xtext (RFC 3461 4.2); other address types are not
 * taken.  Returns 0, 1 for a bad value, -1 for no memory. */
static int
smtpd_proto_orcpt(const char *v, struct smtpd_proto_rcptp *rp)
{
	char dec[SMTPD_LINE_MAX];

	if (v == NULL || !str_ieq_n(v, "rfc822;", 7) ||
	    smtpd_proto_xtext(v + 7, dec, sizeof(dec) - 1) == -1)
		return 1;
	if ((rp->orcpt = malloc(7 + strlen(dec) + 1)) == NULL)
		return -1;
	memcpy(rp->orcpt, "rfc822;", 7);
	strcpy(rp->orcpt + 7, dec);
	return 0;
}

/* Returns 0, or -1 when it has replied. */
static int
smtpd_proto_rcpt_params(struct smtpd_proto *p, char *s, const char *to,
    struct smtpd_proto_rcptp *rp)
{
	char *name, *value;
	const char *pname;
	int r, bit;

	while (smtpd_proto_param(&s, &name, &value)) {
		if (strcasecmp(name, "NOTIFY") == 0) {
			pname = "NOTIFY";
			bit = 1;
			r = value == NULL || value[0] == '\0' ||
			    value[strlen(value) - 1] == ',' ||
			    envelope_notify_parse(value, &rp->notify) == -1;
		} else if (strcasecmp(name, "ORCPT") == 0) {
			pname = "ORCPT";
			bit = 2;
			r = rp->orcpt ? 1 : smtpd_proto_orcpt(value, rp);
		} else {
			smtpd_proto_reject(p, "RCPT", p->env.sender, to,
			    "555 5.5.4 Unsupported option: %s", name);
			return -1;
		}
		if (rp->seen & (unsigned)bit)
			r = 1;
		rp->seen |= (unsigned)bit;
		if (r == 1)
			smtpd_proto_reject(p, "RCPT", p->env.sender, to,
			    "501 5.5.4 Bad %s parameter value", pname);
		else if (r == -1)
			smtpd_proto_reply(p, "452 4.3.1 Insufficient system "
			    "storage");
		if (r != 0)
			return -1;
	}
	return 0;
}

/* The relay decision: the policy sees the raw path from a client that
 * may not relay (a source route is a trick then), the mailbox from one
 * that may.  Returns true when accepted. */
static bool
smtpd_proto_rcpt_policy(struct smtpd_proto *p,
    const struct smtpd_proto_path *pp)
{
	struct smtpd_policy pol;
	char reply[SMTPD_PROTO_REPLY_MAX];
	bool may = p->conf.trusted || p->authed;

	pol.hostname = p->conf.hostname;
	pol.origin = p->conf.origin;
	pol.aliases = p->conf.aliases;
	if (smtpd_policy_rcpt(&pol, may, may ? pp->addr : pp->raw, reply,
	    sizeof(reply)) == 0)
		return true;
	smtpd_proto_reject_line(p, "RCPT", p->env.sender, pp->raw, reply);
	return false;
}

/* Syntax, parameters and limits of RCPT; returns true when it may go
 * to the policy. */
static bool
smtpd_proto_rcpt_check(struct smtpd_proto *p, char *arg,
    struct smtpd_proto_path *pp, struct smtpd_proto_rcptp *rp)
{
	const char *s = p->env.sender;

	if (smtpd_proto_path(arg, "TO:", pp) == -1) {
		smtpd_proto_reject(p, "RCPT", s, NULL,
		    "501 5.5.4 Syntax: RCPT TO:<address>");
		return false;
	}
	if (pp->addr == NULL || !smtpd_proto_addr_ok(pp->addr)) {
		smtpd_proto_reject(p, "RCPT", s, pp->raw, "501 5.1.3 <%s>: Bad "
		    "recipient address syntax", pp->raw);
		return false;
	}
	if (smtpd_proto_rcpt_params(p, pp->params, pp->raw, rp) == -1)
		return false;
	if (str_has_8bit(pp->raw, strlen(pp->raw)) && !p->env.smtputf8) {
		smtpd_proto_reject(p, "RCPT", s, pp->raw, "553 5.6.7 <%s>: "
		    "non-ASCII address needs SMTPUTF8", pp->raw);
		return false;
	}
	if (p->env.nrcpts >= p->rcpt_max) {
		smtpd_proto_reject(p, "RCPT", s, pp->raw, "452 4.5.3 Error: "
		    "too many recipients (limit %zu)", p->rcpt_max);
		return false;
	}
	return true;
}

static void
smtpd_proto_cmd_rcpt(struct smtpd_proto *p, char *arg)
{
	struct smtpd_proto_path pp;
	struct smtpd_proto_rcptp rp;
	struct envelope_rcpt *r;

	if (!p->in_mail) {
		smtpd_proto_reply(p, "503 5.5.1 Error: need MAIL command");
		return;
	}
	memset(&rp, 0, sizeof(rp));
	if (smtpd_proto_rcpt_check(p, arg, &pp, &rp) &&
	    smtpd_proto_rcpt_policy(p, &pp)) {
		if ((r = envelope_add_rcpt(&p->env, pp.addr)) == NULL) {
			smtpd_proto_reply(p, "452 4.3.1 Insufficient system "
			    "storage");
		} else {
			r->notify = rp.notify;
			r->orcpt = rp.orcpt;
			rp.orcpt = NULL;
			smtpd_proto_reply(p, "250 2.1.5 Ok");
			smtpd_proto_ok(p, SMTPD_PROTO_V_RCPT);
		}
	}
	free(rp.orcpt);
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
	for (s = p->auth_user; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			break;
	if (p->auth_user[0] == '\0' || *s != '\0') {
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
		p->sasl[0] = '\0';
		*n = 0;
		return true;
	}
	if (smtpd_proto_b64(s, p->sasl, sizeof(p->sasl), n) == 0)
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
	z = p->sasl;
	end = p->sasl + n;
	if ((u = memchr(z, '\0', n)) == NULL || ++u >= end ||
	    (w = memchr(u, '\0', (size_t)(end - u))) == NULL ||
	    memchr(++w, '\0', (size_t)(end - w)) != NULL) {
		smtpd_proto_auth_fail(p, "501 5.5.2 Cannot decode response");
		return;
	}
	/* Acting for another user is not offered. */
	if (*z != '\0' && strcmp(z, u) != 0) {
		smtpd_proto_auth_fail(p, "535 5.7.8 Error: authentication "
		    "failed");
		return;
	}
	strcpy(p->auth_user, u);
	memcpy(p->auth_pass, w, (size_t)(end - w) + 1);
	explicit_bzero(p->sasl, sizeof(p->sasl));
	smtpd_proto_auth_check(p);
}
