/*
 * smtpd_proto_txn: the mail transaction of the SMTP server engine
 * (see smtpd_proto.h and smtpd_proto_int.h): MAIL and RCPT with their
 * parameters and the relay policy, DATA and BDAT.
 *
 * Invariants: the envelope holds only what was accepted, recipients
 * no more than max_recipients; message content is bounded by
 * max_message_size (the rest is read, counted and dropped) and
 * normalised so that nothing can be smuggled past tern: only
 * <CRLF>.<CRLF> ends DATA, bare CR and LF become line ends, and a "."
 * line not framed by CRLF on both sides is text.  The stored message
 * has LF line ends.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "config.h"
#include "envelope.h"
#include "smtpd_policy.h"
#include "smtpd_proto.h"
#include "smtpd_proto_int.h"
#include "str.h"

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
		    colon[1] == '\0' ||
		    !smtpd_proto_route_ok(pp->raw, (size_t)(colon - pp->raw)))
			pp->addr = NULL;
		else
			pp->addr = colon + 1;
	}
	return 0;
}

/* The next "NAME[=value]" of a parameter list, split in place;
 * false at the end.  *value is NULL without '='. */
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

/* End the transaction: the envelope, the message and its state. */
void
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

/* -------------------------------------------------------------- MAIL */

/* MAIL parameters as parsed. */
struct smtpd_proto_mailp {
	uint64_t size;
	bool body8, smtputf8, requiretls;
	int ret;
	char envid[SMTPD_ENVID_MAX + 1];
	unsigned seen; /* bit per parameter: each may be given once */
};

/* Check one MAIL parameter.  Returns 0, 1 for a bad value, or 2 for
 * REQUIRETLS outside TLS. */
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
		if (!p->tls)
			return 2;
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
	char q[SMTPD_POLICY_QUOTE_MAX + 1];
	char *name, *value;
	size_t i, n = sizeof(names) / sizeof(names[0]);
	int r;

	while (smtpd_proto_param(&s, &name, &value)) {
		for (i = 0; i < n && strcasecmp(name, names[i]) != 0; i++)
			;
		if (i == n) {
			smtpd_policy_quote(name, q, sizeof(q));
			smtpd_proto_reject(p, "MAIL", from, NULL, "555 5.5.4 "
			    "Unsupported option: %s", q);
			return -1;
		}
		r = (mp->seen & (1u << i)) != 0 ? 1 :
		    smtpd_proto_mail_param(p, mp, (int)i, value);
		mp->seen |= 1u << i;
		if (r == 1)
			smtpd_proto_reject(p, "MAIL", from, NULL, "501 5.5.4 "
			    "Bad %s parameter value", names[i]);
		else if (r == 2)
			smtpd_proto_reject(p, "MAIL", from, NULL, "530 5.7.10 "
			    "REQUIRETLS needs TLS: send STARTTLS first");
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
	if (!p->greeted)
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

void
smtpd_proto_cmd_mail(struct smtpd_proto *p, char *arg)
{
	char q[SMTPD_POLICY_QUOTE_MAX + 1];
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
	smtpd_policy_quote(pp.raw, q, sizeof(q));
	if (pp.addr == NULL || (pp.addr[0] != '\0' &&
	    !smtpd_proto_addr_ok(pp.addr))) {
		smtpd_proto_reject(p, "MAIL", pp.raw, NULL, "501 5.1.7 <%s>: "
		    "Bad sender address syntax", q);
		return;
	}
	if (smtpd_proto_mail_params(p, pp.params, pp.raw, &mp) == -1)
		return;
	if (str_has_8bit(pp.raw, strlen(pp.raw)) && !mp.smtputf8)
		smtpd_proto_reject(p, "MAIL", pp.raw, NULL, "553 5.6.7 <%s>: "
		    "non-ASCII address needs SMTPUTF8", q);
	else if (mp.size > p->size_max)
		smtpd_proto_reject(p, "MAIL", pp.raw, NULL, "552 5.3.4 Message "
		    "size exceeds fixed limit (%" PRIu64 " bytes)",
		    p->size_max);
	else if (p->conf.space_ok != NULL &&
	    !p->conf.space_ok(mp.size, p->conf.space_arg))
		smtpd_proto_reject(p, "MAIL", pp.raw, NULL, "452 4.3.1 "
		    "Insufficient system storage");
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

/* ORCPT=addr-type;xtext (RFC 3461 4.2).  Only rfc822 addresses are
 * kept: another type (utf-8, x400) is ignored rather than refused, as
 * the parameter only informs DSNs.  Returns 0, 1 for a bad value, -1
 * for no memory. */
static int
smtpd_proto_orcpt(const char *v, struct smtpd_proto_rcptp *rp)
{
	char dec[SMTPD_LINE_MAX];
	size_t tl;

	if (v == NULL || (tl = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-")) == 0 ||
	    v[tl] != ';' || v[tl + 1] == '\0')
		return 1;
	if (tl != 6 || !str_ieq_n(v, "rfc822", 6))
		return 0;
	if (smtpd_proto_xtext(v + 7, dec, sizeof(dec) - 1) == -1)
		return 1;
	if ((rp->orcpt = malloc(7 + strlen(dec) + 1)) == NULL)
		return -1;
	memcpy(rp->orcpt, "rfc822;", 7);
	strcpy(rp->orcpt + 7, dec);
	return 0;
}

/* NOTIFY (RFC 3461 4.1): NEVER alone, or a list of SUCCESS, FAILURE
 * and DELAY.  Returns 0 or 1 for a bad value. */
static int
smtpd_proto_notify(const char *v, struct smtpd_proto_rcptp *rp)
{
	/* envelope_notify_parse() forgives a trailing comma. */
	if (v == NULL || v[0] == '\0' || v[strlen(v) - 1] == ',')
		return 1;
	return envelope_notify_parse(v, &rp->notify) == -1;
}

/* Returns 0, or -1 when it has replied. */
static int
smtpd_proto_rcpt_params(struct smtpd_proto *p, char *s, const char *to,
    struct smtpd_proto_rcptp *rp)
{
	static const char *const names[] = { "NOTIFY", "ORCPT" };
	char q[SMTPD_POLICY_QUOTE_MAX + 1];
	char *name, *value;
	unsigned i;
	int r;

	while (smtpd_proto_param(&s, &name, &value)) {
		for (i = 0; i < 2 && strcasecmp(name, names[i]) != 0; i++)
			;
		if (i == 2) {
			smtpd_policy_quote(name, q, sizeof(q));
			smtpd_proto_reject(p, "RCPT", p->env.sender, to,
			    "555 5.5.4 Unsupported option: %s", q);
			return -1;
		}
		if (rp->seen & (1u << i))
			r = 1;
		else if (i == 0)
			r = smtpd_proto_notify(value, rp);
		else
			r = smtpd_proto_orcpt(value, rp);
		rp->seen |= 1u << i;
		if (r == 1)
			smtpd_proto_reject(p, "RCPT", p->env.sender, to,
			    "501 5.5.4 Bad %s parameter value", names[i]);
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
	char q[SMTPD_POLICY_QUOTE_MAX + 1];
	const char *s = p->env.sender;

	if (smtpd_proto_path(arg, "TO:", pp) == -1) {
		smtpd_proto_reject(p, "RCPT", s, NULL,
		    "501 5.5.4 Syntax: RCPT TO:<address>");
		return false;
	}
	if (pp->addr == NULL || !smtpd_proto_addr_ok(pp->addr)) {
		smtpd_policy_quote(pp->raw, q, sizeof(q));
		smtpd_proto_reject(p, "RCPT", s, pp->raw, "501 5.1.3 <%s>: Bad "
		    "recipient address syntax", q);
		return false;
	}
	if (smtpd_proto_rcpt_params(p, pp->params, pp->raw, rp) == -1)
		return false;
	if (str_has_8bit(pp->raw, strlen(pp->raw)) && !p->env.smtputf8) {
		smtpd_policy_quote(pp->raw, q, sizeof(q));
		smtpd_proto_reject(p, "RCPT", s, pp->raw, "553 5.6.7 <%s>: "
		    "non-ASCII address needs SMTPUTF8", q);
		return false;
	}
	if (p->env.nrcpts >= p->rcpt_max) {
		smtpd_proto_reject(p, "RCPT", s, pp->raw, "452 4.5.3 Error: "
		    "too many recipients (limit %zu)", p->rcpt_max);
		return false;
	}
	return true;
}

void
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

/* ----------------------------------------------------------- content */

/* Take message bytes: counted always, stored while the message can
 * still be accepted. */
static void
smtpd_proto_store(struct smtpd_proto *p, const char *s, size_t n)
{
	struct smtpd_proto_content *c = &p->c;

	if (n == 0)
		return;
	if (!c->nul && memchr(s, '\0', n) != NULL)
		c->nul = true;
	if (!c->eightbit && str_has_8bit(s, n))
		c->eightbit = true;
	c->size = n > UINT64_MAX - c->size ? UINT64_MAX : c->size + n;
	if (c->size > p->size_max && !c->oversize) {
		c->oversize = true;
		buf_fini(&p->msg);
	}
	if (c->oversize || c->nul || c->nomem)
		return;
	if (buf_append(&p->msg, s, n) == -1) {
		c->nomem = true;
		buf_fini(&p->msg);
	}
}

/* The message is complete: refuse it, or hand it to the host. */
static void
smtpd_proto_content_end(struct smtpd_proto *p, const char *cmd)
{
	const struct smtpd_proto_content *c = &p->c;
	const char *s = p->env.sender;

	p->mode = SMTPD_PROTO_M_CMD;
	if (c->oversize)
		smtpd_proto_reject(p, cmd, s, NULL, "552 5.3.4 Message size "
		    "exceeds fixed limit (%" PRIu64 " bytes)", p->size_max);
	else if (c->nul)
		smtpd_proto_reject(p, cmd, s, NULL, "554 5.6.0 Error: message "
		    "contains a NUL byte");
	else if (c->nomem)
		smtpd_proto_reply(p, "452 4.3.1 Insufficient system storage");
	else {
		if (p->body8 || c->eightbit)
			p->env.body = ENVELOPE_BODY_8BITMIME;
		p->state = SMTPD_COMMIT;
		return;
	}
	smtpd_proto_txn_reset(p);
}

/* A DATA line ends (with CRLF or a bare CR or LF).  Returns true at
 * the end of the message: a "." alone, framed by CRLF on both sides. */
static bool
smtpd_proto_data_eol(struct smtpd_proto *p, bool crlf)
{
	struct smtpd_proto_content *c = &p->c;

	if (c->line == SMTPD_PROTO_L_DOT) {
		if (crlf && c->after_crlf)
			return true;
		smtpd_proto_store(p, ".", 1);
	}
	smtpd_proto_store(p, "\n", 1);
	c->after_crlf = crlf;
	c->line = SMTPD_PROTO_L_START;
	return false;
}

/* One DATA byte other than CR and LF, at the start of a line. */
static void
smtpd_proto_data_char(struct smtpd_proto *p, char ch)
{
	struct smtpd_proto_content *c = &p->c;

	if (c->line == SMTPD_PROTO_L_START && ch == '.') {
		c->line = SMTPD_PROTO_L_DOT;
		return;
	}
	/* Unstuff only what an RFC 5321 client stuffed: lines that
	 * began after CRLF. */
	if (c->line == SMTPD_PROTO_L_DOT && !c->after_crlf)
		smtpd_proto_store(p, ".", 1);
	smtpd_proto_store(p, &ch, 1);
	c->line = SMTPD_PROTO_L_TEXT;
}

/* One DATA byte outside a run of text; true at the end. */
static bool
smtpd_proto_data_byte(struct smtpd_proto *p, char ch)
{
	struct smtpd_proto_content *c = &p->c;

	if (c->cr) {
		c->cr = false;
		if (ch == '\n')
			return smtpd_proto_data_eol(p, true);
		smtpd_proto_data_eol(p, false);
	}
	if (ch == '\r')
		c->cr = true;
	else if (ch == '\n')
		smtpd_proto_data_eol(p, false);
	else
		smtpd_proto_data_char(p, ch);
	return false;
}

/* Bytes before the next CR or LF. */
static size_t
smtpd_proto_span(const char *s, size_t n, bool lf)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\r' || (lf && s[i] == '\n'))
			break;
	return i;
}

size_t
smtpd_proto_data_in(struct smtpd_proto *p, const char *data, size_t len)
{
	struct smtpd_proto_content *c = &p->c;
	size_t i = 0, n;

	while (i < len) {
		if (!c->cr && c->line == SMTPD_PROTO_L_TEXT) {
			n = smtpd_proto_span(data + i, len - i, true);
			smtpd_proto_store(p, data + i, n);
			if ((i += n) == len)
				break;
		}
		if (smtpd_proto_data_byte(p, data[i++])) {
			smtpd_proto_content_end(p, "DATA");
			break;
		}
	}
	return i;
}

static void
smtpd_proto_data_begin(struct smtpd_proto *p)
{
	memset(&p->c, 0, sizeof(p->c));
	/* The DATA line's own end opens the first line. */
	p->c.after_crlf = p->line_crlf;
	p->c.line = SMTPD_PROTO_L_START;
	p->mode = SMTPD_PROTO_M_DATA;
}

void
smtpd_proto_cmd_data(struct smtpd_proto *p, char *arg)
{
	if (!p->in_mail)
		smtpd_proto_reply(p, "503 5.5.1 Error: need MAIL command");
	else if (p->bdat)
		smtpd_proto_reply(p, "503 5.5.1 Error: DATA after BDAT");
	else if (p->env.nrcpts == 0)
		smtpd_proto_reply(p, "503 5.5.1 Error: need RCPT command");
	else if (*arg != '\0')
		smtpd_proto_reply(p, "501 5.5.4 Syntax: DATA");
	else {
		p->commit_verb = SMTPD_PROTO_V_DATA;
		smtpd_proto_reply(p, "354 End data with <CR><LF>.<CR><LF>");
		smtpd_proto_data_begin(p);
	}
}

/* BDAT content: CRLF, bare CR and bare LF all become LF. */
static void
smtpd_proto_bdat_store(struct smtpd_proto *p, const char *s, size_t n)
{
	struct smtpd_proto_content *c = &p->c;
	size_t i = 0, k;

	while (i < n) {
		if (c->cr) {
			c->cr = false;
			smtpd_proto_store(p, "\n", 1);
			if (s[i] == '\n' && ++i == n)
				break;
		}
		k = smtpd_proto_span(s + i, n - i, false);
		smtpd_proto_store(p, s + i, k);
		if ((i += k) < n) {
			c->cr = true;
			i++;
		}
	}
}

/* The chunk has been read: reply to its BDAT. */
static void
smtpd_proto_chunk_end(struct smtpd_proto *p)
{
	p->mode = SMTPD_PROTO_M_CMD;
	if (p->chunk_err[0] != '\0') {
		smtpd_proto_reply(p, "%s", p->chunk_err);
		return;
	}
	if (!p->chunk_last) {
		smtpd_proto_reply(p, "250 2.0.0 %" PRIu64 " octets received",
		    p->chunk_size);
		smtpd_proto_ok(p, SMTPD_PROTO_V_BDAT);
		return;
	}
	if (p->c.cr) {
		p->c.cr = false;
		smtpd_proto_store(p, "\n", 1);
	}
	p->commit_verb = SMTPD_PROTO_V_BDAT;
	smtpd_proto_content_end(p, "BDAT");
}

size_t
smtpd_proto_bdat_in(struct smtpd_proto *p, const char *data, size_t len)
{
	size_t n = len < p->chunk_left ? len : (size_t)p->chunk_left;

	if (p->chunk_err[0] == '\0')
		smtpd_proto_bdat_store(p, data, n);
	if ((p->chunk_left -= n) == 0)
		smtpd_proto_chunk_end(p);
	return n;
}

/* "BDAT size [LAST]" (RFC 3030).  The chunk is read even when BDAT is
 * refused: its bytes are not commands. */
void
smtpd_proto_cmd_bdat(struct smtpd_proto *p, char *arg)
{
	char *last = strchr(arg, ' ');

	if (last != NULL) {
		*last++ = '\0';
		while (*last == ' ')
			last++;
	}
	if (smtpd_proto_number(arg, &p->chunk_size) == -1 ||
	    (last != NULL && strcasecmp(last, "LAST") != 0)) {
		smtpd_proto_reply(p, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	p->chunk_left = p->chunk_size;
	p->chunk_last = last != NULL;
	p->chunk_err[0] = '\0';
	if (!p->in_mail)
		str_lcpy(p->chunk_err, "503 5.5.1 Error: need MAIL command",
		    sizeof(p->chunk_err));
	else if (p->env.nrcpts == 0)
		str_lcpy(p->chunk_err, "503 5.5.1 Error: need RCPT command",
		    sizeof(p->chunk_err));
	else if (!p->bdat) {
		p->bdat = true;
		memset(&p->c, 0, sizeof(p->c));
	}
	p->mode = SMTPD_PROTO_M_BDAT;
	if (p->chunk_left == 0)
		smtpd_proto_chunk_end(p);
}

/* ------------------------------------------------------------ commit */

void
smtpd_proto_commit_ok(struct smtpd_proto *p, const char *id)
{
	if (p->state != SMTPD_COMMIT)
		return;
	p->state = SMTPD_RUN;
	smtpd_proto_reply(p, "250 2.0.0 Ok: queued as %s", id);
	smtpd_proto_ok(p, p->commit_verb);
	smtpd_proto_txn_reset(p);
	if (p->eof)
		smtpd_proto_close(p);
}

void
smtpd_proto_commit_fail(struct smtpd_proto *p, int code, const char *status,
    const char *text)
{
	if (p->state != SMTPD_COMMIT)
		return;
	p->state = SMTPD_RUN;
	if (code < 400 || code > 599)
		code = 451;
	smtpd_proto_reply(p, "%d %s%s%s", code, status ? status : "",
	    status && *status ? " " : "", text ? text : "");
	smtpd_proto_txn_reset(p);
	if (p->eof)
		smtpd_proto_close(p);
}
