/*
 * submit: the sendmail data path — read, check, complete the headers,
 * collect recipients, commit to maildrop (see submit.h).  A message a
 * `sendmail -bs` session received takes the same path from the header
 * completion on, with the session's envelope instead of the options'.
 *
 * The whole message is held in memory, bounded by max_message_size:
 * headers must be seen in full before anything is written (-t, Bcc
 * removal, added fields), and a maildrop file is written once, in
 * order, so a crash can only ever leave a "tmp." file behind.
 * Recipients are kept as given (unqualified names included): aliases
 * and origin are applied by ternd when it picks the file up, so a
 * change of either takes effect for mail already in maildrop.
 */
#include "autoconf.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "envelope.h"
#include "header.h"
#include "log.h"
#include "rfc2047.h"
#include "str.h"
#include "strset.h"
#include "submit.h"

#define SUBMIT_CHUNK 65536
#define SUBMIT_WRITE_CHUNK 65536

/* The submitting user's login and full name.  Looked up on first use
 * only: a passwd lookup may go through NSS (nscd, LDAP) and costs more
 * than the rest of a submission when -f and From are given. */
struct submit_user {
	bool looked_up;
	char login[64];
	char gecos[256];
};

struct submit_msg {
	struct buf text;       /* the message read by submit_message */
	const char *data;      /* the message, LF line ends: text's bytes
				  or the SMTP session's */
	size_t len;
	struct header_block hb;
	struct envelope env;   /* for SMTP a shallow copy of the session's:
				  its strings are borrowed, never freed */
	struct buf added;      /* header fields tern adds */
	int64_t now_us;
	struct submit_user user;
};

/* ---------------------------------------------------------------- input */

struct submit_reader {
	struct buf *out;
	bool dot_ends;
	bool done;
	size_t lineno;
	uint64_t limit;
};

/* One input line without its LF (and without the CR of a CRLF). */
static int
submit_line(struct submit_reader *r, const char *line, size_t n,
    struct errbuf *eb)
{
	r->lineno++;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	if (r->lineno == 1 && n >= 5 && memcmp(line, "From ", 5) == 0)
		return 0; /* an mbox separator, not a header */
	if (r->dot_ends && n == 1 && line[0] == '.') {
		r->done = true;
		return 0;
	}
	if (memchr(line, '\0', n) != NULL)
		return errbuf_setc(eb, EX_DATAERR, "line %zu of the message "
		    "holds a NUL byte; binary data must be MIME-encoded "
		    "(base64) before it is mailed", r->lineno);
	if (buf_append(r->out, line, n) < 0 || buf_putc(r->out, '\n') < 0) {
		if (errno == EMSGSIZE)
			return errbuf_setc(eb, EX_DATAERR, "the message is "
			    "larger than max_message_size (%llu bytes)",
			    (unsigned long long)r->limit);
		return errbuf_setc(eb, EX_TEMPFAIL, "out of memory reading "
		    "the message");
	}
	return 0;
}

/* Consume the complete lines at the start of raw; keep the rest. */
static int
submit_lines(struct submit_reader *r, struct buf *raw, bool eof,
    struct errbuf *eb)
{
	size_t pos = 0, n;
	const char *nl;

	while (!r->done && pos < raw->len) {
		nl = memchr(raw->data + pos, '\n', raw->len - pos);
		if (nl == NULL && !eof)
			break;
		n = nl ? (size_t)(nl - raw->data) - pos : raw->len - pos;
		if (submit_line(r, raw->data + pos, n, eb) < 0)
			return -1;
		pos += n + (nl != NULL);
	}
	memmove(raw->data, raw->data + pos, raw->len - pos);
	raw->len -= pos;
	return 0;
}

static int
submit_read(int fd, bool dot_ends, uint64_t limit, struct buf *out,
    struct errbuf *eb)
{
	struct submit_reader r = { out, dot_ends, false, 0, limit };
	struct buf raw;
	size_t want;
	ssize_t n;
	int rc = 0;

	/* A line may be as long as the message, plus its CR and LF. */
	buf_init(&raw, (size_t)limit + 2);
	while (rc == 0 && !r.done) {
		want = raw.limit - raw.len < SUBMIT_CHUNK ?
		    raw.limit - raw.len : SUBMIT_CHUNK;
		if (want == 0) {
			rc = errbuf_setc(eb, EX_DATAERR, "the message is larger "
			    "than max_message_size (%llu bytes)",
			    (unsigned long long)limit);
			break;
		}
		if (buf_reserve(&raw, want) < 0) {
			rc = errbuf_setc(eb, EX_TEMPFAIL, "out of memory "
			    "reading the message");
			break;
		}
		n = read(fd, raw.data + raw.len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errbuf_errno(eb, errno, "read the message from "
			    "standard input");
			eb->code = EX_IOERR;
			break;
		}
		raw.len += (size_t)n;
		rc = submit_lines(&r, &raw, n == 0, eb);
		if (n == 0)
			break;
	}
	buf_fini(&raw);
	return rc;
}

/* ---------------------------------------------------------------- recipients */

static int
submit_add_rcpt(struct envelope *env, struct strset *seen,
    const struct addr *a, unsigned notify, const char *where,
    struct errbuf *eb)
{
	struct envelope_rcpt *r;
	int fresh;

	if (a->spec[0] == '\0')
		return errbuf_setc(eb, EX_NOUSER, "%s: the null address <> "
		    "cannot be a recipient", where);
	if (a->utf8)
		env->smtputf8 = true;
	if ((r = envelope_add_rcpt(env, a->spec)) == NULL)
		return errbuf_setc(eb, env->nrcpts >= ENVELOPE_MAX_RCPTS ?
		    EX_DATAERR : EX_TEMPFAIL, "%s: too many recipients (at "
		    "most %d)", where, ENVELOPE_MAX_RCPTS);
	if ((fresh = strset_add(seen, r->addr)) < 0)
		return errbuf_setc(eb, EX_TEMPFAIL, "out of memory");
	if (fresh == 0) {
		/* A duplicate: take it back. */
		free(r->addr);
		env->nrcpts--;
		return 0;
	}
	r->notify = notify;
	return 0;
}

/* Parse an address list (a header value or a command-line argument)
 * and add every mailbox in it. */
static int
submit_add_list(struct envelope *env, struct strset *seen,
    const char *text, size_t len, unsigned notify, const char *where,
    struct errbuf *eb)
{
	struct addr_list list;
	struct errbuf perr;
	size_t i;
	int rc = 0;

	addr_list_init(&list);
	errbuf_clear(&perr);
	if (addr_parse_list(text, len, &list, &perr) < 0)
		rc = errbuf_setc(eb, EX_NOUSER, "%s: cannot parse the address "
		    "'%.200s': %s", where, text, perr.msg);
	for (i = 0; rc == 0 && i < list.n; i++)
		rc = submit_add_rcpt(env, seen, &list.v[i], notify, where, eb);
	addr_list_free(&list);
	return rc;
}

/* -t: recipients from To, Cc and Bcc, or from their Resent-* forms
 * when the message has any (it is being resent). */
static int
submit_extract(struct submit_msg *m, struct strset *seen,
    unsigned notify, struct errbuf *eb)
{
	static const char *const plain[] = { "To", "Cc", "Bcc", NULL };
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
		"Resent-Bcc", NULL };
	const char *const *names = plain;
	struct buf value;
	size_t i;
	int rc = 0;

	for (i = 0; resent[i] != NULL; i++)
		if (header_find(&m->hb, resent[i], 0) >= 0)
			names = resent;
	buf_init(&value, 0);
	for (i = 0; i < m->hb.n && rc == 0; i++) {
		const char *const *nm;
		for (nm = names; *nm != NULL; nm++)
			if (header_is(&m->hb.v[i], *nm))
				break;
		if (*nm == NULL)
			continue;
		buf_reset(&value);
		if (header_unfold_value(&m->hb.v[i], &value) < 0)
			rc = errbuf_setc(eb, EX_TEMPFAIL, "out of memory");
		else if (value.len > 0)
			rc = submit_add_list(&m->env, seen, value.data,
			    value.len, notify, *nm, eb);
	}
	buf_fini(&value);
	return rc;
}

static int
submit_recipients(const struct submit_opts *o, struct submit_msg *m,
    struct errbuf *eb)
{
	struct strset seen;
	int i, rc = 0;

	strset_init(&seen);
	if (o->extract)
		rc = submit_extract(m, &seen, o->notify, eb);
	for (i = 0; rc == 0 && i < o->nrcpts; i++)
		rc = submit_add_list(&m->env, &seen, o->rcpts[i],
		    strlen(o->rcpts[i]), o->notify, "recipient", eb);
	strset_fini(&seen);
	if (rc == 0 && m->env.nrcpts == 0)
		rc = errbuf_setc(eb, o->extract ? EX_DATAERR : EX_USAGE,
		    o->extract ? "no recipient addresses found in the To, Cc "
		    "or Bcc headers" : "no recipients: name them on the "
		    "command line or use -t to take them from the headers");
	return rc;
}

/* ---------------------------------------------------------------- headers */

static const struct submit_user *
submit_user(const struct submit_opts *o, struct submit_user *u)
{
	struct passwd *pw;

	if (u->looked_up)
		return u;
	u->looked_up = true;
	pw = getpwuid((uid_t)o->uid);
	if (pw != NULL) {
		snprintf(u->login, sizeof(u->login), "%s", pw->pw_name);
		/* The full name is the first comma-separated GECOS field. */
		snprintf(u->gecos, sizeof(u->gecos), "%.*s",
		    (int)strcspn(pw->pw_gecos ? pw->pw_gecos : "", ","),
		    pw->pw_gecos ? pw->pw_gecos : "");
	} else {
		snprintf(u->login, sizeof(u->login), "uid%ld", o->uid);
	}
	return u;
}

static int
submit_sender(const struct submit_opts *o, struct submit_msg *m,
    struct errbuf *eb)
{
	struct envelope *env = &m->env;
	struct errbuf perr;
	struct addr a;
	char *spec;

	if (o->sender == NULL) {
		spec = addr_make_spec(submit_user(o, &m->user)->login,
		    o->cfg->origin);
		if (spec == NULL)
			return errbuf_setc(eb, EX_TEMPFAIL, "out of memory");
		env->sender = spec;
		env->smtputf8 |= str_has_8bit(spec, strlen(spec));
		return 0;
	}
	memset(&a, 0, sizeof(a));
	errbuf_clear(&perr);
	if (addr_parse_one(o->sender, true, &a, &perr) < 0) {
		addr_free(&a);
		return errbuf_setc(eb, EX_USAGE, "-f: cannot parse the sender "
		    "address '%.200s': %s", o->sender, perr.msg);
	}
	env->sender = a.spec;
	env->smtputf8 |= a.utf8;
	a.spec = NULL;
	addr_free(&a);
	return 0;
}

/* The From field tern adds: "Full Name <login@origin>". */
static int
submit_add_from(const struct submit_opts *o, struct submit_msg *m)
{
	const struct submit_user *u = submit_user(o, &m->user);
	const char *name = o->full_name ? o->full_name : u->gecos;
	struct buf *out = &m->added;
	char *spec;
	int rc;

	if ((spec = addr_make_spec(u->login, o->cfg->origin)) == NULL)
		return -1;
	rc = buf_puts(out, "From: ");
	if (rc == 0 && name != NULL && name[0] != '\0' &&
	    str_utf8_valid(name, strlen(name)))
		rc = rfc2047_encode_phrase(name, 6, out) < 0 ||
		    buf_puts(out, " <") < 0 || buf_puts(out, spec) < 0 ||
		    buf_puts(out, ">\n") < 0 ? -1 : 0;
	else if (rc == 0)
		rc = buf_puts(out, spec) < 0 || buf_putc(out, '\n') < 0 ? -1 : 0;
	free(spec);
	return rc;
}

/* Add the fields a message must have and lacks (RFC 5322 section 3.6). */
static int
submit_complete_headers(const struct submit_opts *o, struct submit_msg *m,
    const char *id)
{
	int rc = 0;

	if (header_find(&m->hb, "From", 0) < 0)
		rc = submit_add_from(o, m);
	if (rc == 0)
		rc = header_add_missing(&m->hb, (time_t)(m->now_us / 1000000),
		    id, o->cfg->hostname, &m->added);
	return rc;
}

/* Bcc must not reach any recipient (RFC 5322 section 3.6.3). */
static void
submit_remove_bcc(struct header_block *hb)
{
	size_t i;

	for (i = 0; i < hb->n; i++)
		if (header_is(&hb->v[i], "Bcc") ||
		    header_is(&hb->v[i], "Resent-Bcc"))
			hb->v[i].removed = true;
}

/* ---------------------------------------------------------------- output */

/* Buffered writes into the queue file. */
struct submit_out {
	struct queue_file *qf;
	struct buf pending;
};

static int
submit_flush(struct submit_out *w, struct errbuf *eb)
{
	if (w->pending.len > 0 &&
	    queue_file_write(w->qf, w->pending.data, w->pending.len, eb) < 0)
		return -1;
	buf_reset(&w->pending);
	return 0;
}

static int
submit_put(struct submit_out *w, const void *p, size_t n, struct errbuf *eb)
{
	if (n >= SUBMIT_WRITE_CHUNK) {
		if (submit_flush(w, eb) < 0)
			return -1;
		return queue_file_write(w->qf, p, n, eb);
	}
	if (w->pending.len + n > SUBMIT_WRITE_CHUNK && submit_flush(w, eb) < 0)
		return -1;
	if (buf_append(&w->pending, p, n) < 0)
		return errbuf_setc(eb, EX_TEMPFAIL, "out of memory");
	return 0;
}

/* Bytes of the message as it will be queued. */
static uint64_t
submit_data_len(const struct submit_msg *m)
{
	uint64_t n = m->added.len + 1 + (m->len - m->hb.body_off);
	size_t i;

	for (i = 0; i < m->hb.n; i++)
		if (!m->hb.v[i].removed)
			n += m->hb.v[i].len;
	return n;
}

static int
submit_write(struct submit_msg *m, struct queue_file *qf, uint64_t dlen,
    struct errbuf *eb)
{
	struct submit_out w = { qf, { NULL, 0, 0, 0 } };
	struct buf env;
	size_t i;
	int rc;

	buf_init(&env, 0);
	rc = envelope_encode(&m->env, &env) < 0 ||
	    buf_printf(&env, "data: %llu\n", (unsigned long long)dlen) < 0 ?
	    errbuf_setc(eb, EX_TEMPFAIL, "out of memory") : 0;
	if (rc == 0)
		rc = submit_put(&w, env.data, env.len, eb);
	buf_fini(&env);
	for (i = 0; rc == 0 && i < m->hb.n; i++)
		if (!m->hb.v[i].removed)
			rc = submit_put(&w, m->hb.v[i].text, m->hb.v[i].len,
			    eb);
	if (rc == 0)
		rc = submit_put(&w, m->added.data, m->added.len, eb);
	if (rc == 0)
		rc = submit_put(&w, "\n", 1, eb);
	if (rc == 0)
		rc = submit_put(&w, m->data + m->hb.body_off,
		    m->len - m->hb.body_off, eb);
	if (rc == 0)
		rc = submit_put(&w, ENVELOPE_TRAILER, ENVELOPE_TRAILER_LEN, eb);
	if (rc == 0)
		rc = submit_flush(&w, eb);
	buf_fini(&w.pending);
	return rc;
}

/* ---------------------------------------------------------------- main path */

static int
submit_envelope(const struct submit_opts *o, struct submit_msg *m,
    struct errbuf *eb)
{
	struct envelope *env = &m->env;

	env->arrival_us = m->now_us;
	env->uid = o->uid;
	env->ret = o->ret;
	env->body = o->body == ENVELOPE_BODY_8BITMIME ||
	    str_has_8bit(m->data, m->len) ?
	    ENVELOPE_BODY_8BITMIME : ENVELOPE_BODY_7BIT;
	if (o->envid != NULL && (env->envid = strdup(o->envid)) == NULL)
		return errbuf_setc(eb, EX_TEMPFAIL, "out of memory");
	if (submit_sender(o, m, eb) < 0)
		return -1;
	return submit_recipients(o, m, eb);
}

/* Start the maildrop file; a user-owned queue is created on first use
 * (only then: looking for it every time would cost each submission). */
static int
submit_create(const struct submit_opts *o, struct submit_msg *m,
    struct queue_file *qf, struct errbuf *eb)
{
	if (queue_file_create(o->cfg->queue_dir, QUEUE_MAILDROP,
	    o->file_mode, m->now_us, qf, eb) == 0)
		return 0;
	if (eb->errnum != ENOENT || !o->create_queue ||
	    queue_setup(o->cfg->queue_dir, eb) < 0)
		return -1;
	errbuf_clear(eb);
	return queue_file_create(o->cfg->queue_dir, QUEUE_MAILDROP,
	    o->file_mode, m->now_us, qf, eb);
}

static int
submit_store(const struct submit_opts *o, struct submit_msg *m,
    char id[QUEUE_ID_LEN + 1], struct errbuf *eb)
{
	struct queue_file qf;
	uint64_t dlen;

	if (submit_create(o, m, &qf, eb) < 0)
		return errbuf_prefix(eb, "cannot queue the message");
	if (submit_complete_headers(o, m, qf.id) < 0) {
		queue_file_abort(&qf);
		return errbuf_setc(eb, EX_TEMPFAIL, "out of memory");
	}
	dlen = submit_data_len(m);
	if (dlen > o->cfg->max_message_size) {
		queue_file_abort(&qf);
		errbuf_setc(eb, EX_DATAERR, "the message is larger than "
		    "max_message_size (%llu bytes)",
		    (unsigned long long)o->cfg->max_message_size);
		eb->errnum = EMSGSIZE;
		return -1;
	}
	m->env.size = dlen;
	if (submit_write(m, &qf, dlen, eb) < 0 ||
	    queue_file_commit(&qf, m->now_us, eb) < 0) {
		queue_file_abort(&qf);
		return errbuf_prefix(eb, "cannot queue the message");
	}
	memcpy(id, qf.id, QUEUE_ID_LEN + 1);
	return 0;
}

/* Bcc removal, the durable commit and the log line: the same for a
 * piped message and one received over SMTP. */
static int
submit_finish(const struct submit_opts *o, struct submit_msg *m,
    char id[QUEUE_ID_LEN + 1], struct errbuf *eb)
{
	submit_remove_bcc(&m->hb);
	if (submit_store(o, m, id, eb) < 0)
		return -1;
	log_msg(LOG_INFO, "%s: uid=%ld from=<%s>, size=%llu, nrcpt=%zu "
	    "(queued in maildrop)", id, o->uid, m->env.sender,
	    (unsigned long long)m->env.size, m->env.nrcpts);
	return 0;
}

static void
submit_msg_init(struct submit_msg *m, uint64_t limit)
{
	struct timeval tv;

	memset(m, 0, sizeof(*m));
	buf_init(&m->text, (size_t)limit);
	buf_init(&m->added, 0);
	header_block_init(&m->hb);
	envelope_init(&m->env);
	gettimeofday(&tv, NULL);
	m->now_us = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int
submit_message(const struct submit_opts *o, int in_fd,
    char id[QUEUE_ID_LEN + 1], struct errbuf *eb)
{
	struct submit_msg m;
	int rc;

	submit_msg_init(&m, o->cfg->max_message_size);
	rc = submit_read(in_fd, o->dot_ends, o->cfg->max_message_size,
	    &m.text, eb);
	m.data = m.text.data ? m.text.data : "";
	m.len = m.text.len;
	if (rc == 0)
		rc = header_parse(m.data, m.len, &m.hb, eb);
	if (rc == 0)
		rc = submit_envelope(o, &m, eb);
	if (rc == 0)
		rc = submit_finish(o, &m, id, eb);
	envelope_fini(&m.env);
	header_block_fini(&m.hb);
	buf_fini(&m.added);
	buf_fini(&m.text);
	return rc;
}

int
submit_smtp(const struct submit_opts *o, const struct envelope *env,
    const char *text, size_t len, char id[QUEUE_ID_LEN + 1],
    struct errbuf *eb)
{
	struct submit_msg m;
	int rc;

	submit_msg_init(&m, 0);
	envelope_fini(&m.env);
	m.env = *env;
	m.env.arrival_us = m.now_us;
	m.env.uid = o->uid;
	/* 8-bit content sent as BODY=7BIT (or without BODY) is 8-bit all
	 * the same; the relay must be told so. */
	if (str_has_8bit(text, len))
		m.env.body = ENVELOPE_BODY_8BITMIME;
	m.data = text ? text : "";
	m.len = text ? len : 0;
	rc = header_parse(m.data, m.len, &m.hb, eb);
	if (rc == 0)
		rc = submit_finish(o, &m, id, eb);
	header_block_fini(&m.hb);
	buf_fini(&m.added);
	buf_fini(&m.text);
	return rc;
}
