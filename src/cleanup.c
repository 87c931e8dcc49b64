/*
 * cleanup: aliases, qualification, Received header (see cleanup.h).
 *
 * Aliases apply to local names only (recipients without a domain), as
 * tern delivers nothing locally.  Expansion is breadth-bounded by the
 * envelope's recipient limit and depth-bounded by ALIASES_MAX_DEPTH; a
 * name met again on its own expansion path is a loop and is delivered
 * as itself (qualified), which is what sendmail and Postfix do for
 * "root: \root" and never loses mail.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cleanup.h"
#include "header.h"
#include "mime_text.h"
#include "rfc2047.h"
#include "str.h"
#include "strset.h"

/* Longest local part looked up in the aliases (RFC 5321 4.5.3.1.1
 * allows 64 octets; aliases files hold longer names rarely). */
#define CLEANUP_LOCAL_MAX 255

struct cleanup_ctx {
	const struct cleanup_input *in;
	struct envelope *out;
	cleanup_warn_fn warn;
	void *arg;
	char *path[ALIASES_MAX_DEPTH + 1]; /* names being expanded */
	struct strset seen;		/* out's addresses, for duplicates */
};

char *
cleanup_qualify(const char *addr, const char *origin)
{
	size_t n;
	char *s;

	if (addr[0] == '\0' || strrchr(addr, '@') != NULL)
		return strdup(addr);
	n = strlen(addr) + strlen(origin) + 2;
	if ((s = malloc(n)) != NULL)
		snprintf(s, n, "%s@%s", addr, origin);
	return s;
}

static void
cleanup_warn(struct cleanup_ctx *c, const char *fmt, const char *name)
{
	char msg[512];

	if (c->warn == NULL)
		return;
	snprintf(msg, sizeof(msg), fmt, name);
	c->warn(c->in->id, msg, c->arg);
}

/* Add addr (qualified) unless it is already there. */
static int
cleanup_add(struct cleanup_ctx *c, const char *addr,
    const struct envelope_rcpt *orig)
{
	struct envelope_rcpt *r;
	char *q;

	if ((q = cleanup_qualify(addr, c->in->cfg->origin)) == NULL)
		return -1;
	/* A hash set, not a scan of out: 100,000 recipients compared
	 * pairwise took most of a minute of the event loop's time. */
	if (strset_has(&c->seen, q)) {
		free(q);
		return 0;
	}
	r = envelope_add_rcpt(c->out, q);
	free(q);
	if (r == NULL || strset_add(&c->seen, r->addr) < 0)
		return -1;
	r->notify = orig->notify;
	if (orig->orcpt != NULL && (r->orcpt = strdup(orig->orcpt)) == NULL)
		return -1;
	if (str_has_8bit(r->addr, strlen(r->addr)))
		c->out->smtputf8 = true;
	return 0;
}

/* The name to look up in the aliases for addr: addr itself when it
 * has no domain, its local part when the domain is the hostname or
 * origin (copied to local), else NULL: not a local name. */
static const char *
cleanup_local_name(const struct config *cfg, const char *addr, char *local,
    size_t len)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL)
		return addr;
	if (strcasecmp(at + 1, cfg->hostname) != 0 &&
	    strcasecmp(at + 1, cfg->origin) != 0)
		return NULL;
	if ((size_t)(at - addr) >= len || at == addr)
		return NULL;
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	return local;
}

static int
cleanup_expand(struct cleanup_ctx *c, const char *addr, unsigned depth,
    const struct envelope_rcpt *orig)
{
	const char *const *values;
	char local[CLEANUP_LOCAL_MAX + 1];
	const char *name;
	size_t n, i;
	unsigned d;
	int rc = 0;

	name = c->in->aliases == NULL ? NULL :
	    cleanup_local_name(c->in->cfg, addr, local, sizeof(local));
	if (name == NULL)
		return cleanup_add(c, addr, orig);
	for (d = 0; d < depth; d++)
		if (strcasecmp(c->path[d], name) == 0)
			return cleanup_add(c, addr, orig); /* itself: final */
	n = aliases_lookup(c->in->aliases, name, &values);
	if (n == 0)
		return cleanup_add(c, addr, orig);
	if (depth >= ALIASES_MAX_DEPTH) {
		cleanup_warn(c, "alias expansion of %s is nested too deeply; "
		    "delivering to it unexpanded", name);
		return cleanup_add(c, addr, orig);
	}
	if ((c->path[depth] = strdup(name)) == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i++)
		rc = cleanup_expand(c, values[i], depth + 1, orig);
	free(c->path[depth]);
	c->path[depth] = NULL;
	return rc;
}

static int
cleanup_envelope(struct cleanup_ctx *c, struct errbuf *eb)
{
	const struct envelope *in = c->in->env;
	struct envelope *out = c->out;
	size_t i;

	out->arrival_us = in->arrival_us;
	out->uid = c->in->uid;
	out->size = 0;
	out->body = in->body;
	out->smtputf8 = in->smtputf8;
	out->requiretls = in->requiretls;
	out->ret = in->ret;
	if ((out->sender = cleanup_qualify(in->sender,
	    c->in->cfg->origin)) == NULL ||
	    (in->envid != NULL && (out->envid = strdup(in->envid)) == NULL))
		return errbuf_set(eb, "out of memory");
	for (i = 0; i < in->nrcpts; i++)
		if (cleanup_expand(c, in->rcpts[i].addr, 0,
		    &in->rcpts[i]) < 0)
			return errbuf_set(eb, "out of memory or more than %d "
			    "recipients after alias expansion",
			    ENVELOPE_MAX_RCPTS);
	return 0;
}

/* "from helo (unknown [192.0.2.1])\n\tby host (tern) with ESMTPS" for
 * a message received over SMTP; the HELO name is client input, made
 * safe to put in a header comment. */
static int
cleanup_received_smtp(const struct cleanup_input *in, struct buf *data)
{
	const char *h = in->smtp->helo;
	size_t i;

	if (buf_puts(data, "Received: from ") < 0)
		return -1;
	for (i = 0; h != NULL && h[i] != '\0' && i < 255; i++)
		if (buf_putc(data, (unsigned char)h[i] > 0x20 &&
		    (unsigned char)h[i] < 0x7f && h[i] != '(' && h[i] != ')' ?
		    h[i] : '?') < 0)
			return -1;
	if (i == 0 && buf_puts(data, "unknown") < 0)
		return -1;
	return buf_printf(data, " (unknown [%s])\n\tby %s (tern) with %s",
	    in->smtp->client_addr, in->cfg->hostname, in->smtp->protocol);
}

/* "Received: by host (tern, from userid N)\n\tid ID for <rcpt>; date",
 * or the SMTP form above with the same id, for and date parts. */
static int
cleanup_received(const struct cleanup_input *in, const struct envelope *env,
    struct buf *data)
{
	char date[64], uid[48] = "";

	header_format_date((time_t)in->now, date, sizeof(date));
	if (in->smtp != NULL) {
		if (cleanup_received_smtp(in, data) < 0 ||
		    buf_printf(data, " id %s", in->id) < 0)
			return -1;
	} else {
		if (in->uid >= 0)
			snprintf(uid, sizeof(uid), ", from userid %ld",
			    in->uid);
		if (buf_printf(data, "Received: by %s (tern%s)\n\tid %s",
		    in->cfg->hostname, uid, in->id) < 0)
			return -1;
	}
	if (env->nrcpts == 1 && buf_printf(data, "\n\tfor <%s>",
	    env->rcpts[0].addr) < 0)
		return -1;
	return buf_printf(data, "; %s\n", date);
}

/* True when the Subject field is missing or holds only white space. */
static bool
cleanup_subject_empty(const struct header_block *hb, long *idx)
{
	const struct header_field *f;
	size_t i;

	*idx = header_find(hb, "Subject", 0);
	if (*idx < 0)
		return true;
	f = &hb->v[*idx];
	for (i = f->value_off; i < f->len; i++)
		if (strchr(" \t\r\n", f->text[i]) == NULL)
			return false;
	return true;
}

/* empty_subject_from_body: a Subject made of the first N characters
 * of the message's text, when its own is missing or empty.  Returns 1
 * when one was made into subject, 0 when not, -1 when out of memory. */
static int
cleanup_subject(const struct cleanup_input *in,
    const struct header_block *hb, long *idx, struct buf *subject)
{
	struct buf text;
	int rc = 0;

	if (in->cfg->empty_subject_from_body == 0 ||
	    !cleanup_subject_empty(hb, idx))
		return 0;
	buf_init(&text, 0);
	if (mime_text_first(in->msg, in->msg_len,
	    (size_t)in->cfg->empty_subject_from_body, &text) == 0 &&
	    text.len > 0)
		rc = buf_puts(subject, "Subject: ") < 0 ||
		    rfc2047_encode(text.data, 9, subject) < 0 ||
		    buf_putc(subject, '\n') < 0 ? -1 : 1;
	buf_fini(&text);
	return rc;
}

/* The fields a message from a trusted SMTP client lacks: From (its
 * envelope sender, as Postfix writes it), Date, Message-ID, To. */
static int
cleanup_missing(const struct cleanup_input *in, const struct envelope *env,
    const struct header_block *hb, struct buf *added)
{
	if (!in->complete_headers)
		return 0;
	if (header_find(hb, "From", 0) < 0 && env->sender[0] != '\0' &&
	    buf_printf(added, "From: <%s>\n", env->sender) < 0)
		return -1;
	return header_add_missing(hb, (time_t)in->now, in->id,
	    in->cfg->hostname, added);
}

/*
 * The message, with its header section changed when cleanup has
 * something to add (see cleanup_subject and cleanup_missing), appended
 * to data.  Returns 0, or -1 when out of memory.
 */
static int
cleanup_body(const struct cleanup_input *in, const struct envelope *env,
    struct buf *data)
{
	struct header_block hb;
	struct buf added;
	struct errbuf eb;
	long idx = -1;
	size_t i;
	int rc, subj;

	/* Nothing to add: the message as it is, without parsing it (the
	 * path of almost every message). */
	if (in->cfg->empty_subject_from_body == 0 && !in->complete_headers)
		return buf_append(data, in->msg, in->msg_len);
	header_block_init(&hb);
	buf_init(&added, 0);
	if (header_parse(in->msg, in->msg_len, &hb, &eb) < 0) {
		header_block_fini(&hb);
		return buf_append(data, in->msg, in->msg_len);
	}
	subj = cleanup_subject(in, &hb, &idx, &added);
	rc = subj < 0 || cleanup_missing(in, env, &hb, &added) < 0 ? -1 : 0;
	if (rc == 0 && added.len == 0)
		rc = buf_append(data, in->msg, in->msg_len);
	else if (rc == 0) {
		/* Fields kept, fields added, the empty line, the body. */
		for (i = 0; i < hb.n && rc == 0; i++)
			if (subj != 1 || (long)i != idx)
				rc = buf_append(data, hb.v[i].text, hb.v[i].len);
		if (rc == 0)
			rc = buf_append(data, added.data, added.len) < 0 ||
			    buf_putc(data, '\n') < 0 ? -1 : 0;
		if (rc == 0)
			rc = buf_append(data, in->msg + hb.body_off,
			    in->msg_len - hb.body_off);
	}
	header_block_fini(&hb);
	buf_fini(&added);
	return rc;
}

int
cleanup_message(const struct cleanup_input *in, struct envelope *out,
    struct buf *data, cleanup_warn_fn warn, void *arg, struct errbuf *eb)
{
	struct cleanup_ctx c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.in = in;
	c.out = out;
	c.warn = warn;
	c.arg = arg;
	strset_init(&c.seen);
	rc = cleanup_envelope(&c, eb);
	strset_fini(&c.seen);
	if (rc < 0)
		return -1;
	if (out->nrcpts == 0)
		return errbuf_set(eb, "no recipients");
	if (cleanup_received(in, out, data) < 0)
		return errbuf_set(eb, "out of memory");
	if (cleanup_body(in, out, data) < 0)
		return errbuf_set(eb, "out of memory");
	out->size = data->len;
	return 0;
}
