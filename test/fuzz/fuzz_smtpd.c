/*
 * Fuzz target: the SMTP server engine (smtpd_proto), played by a host
 * like smtpd.c: bytes in, replies out, commits, AUTH results and
 * STARTTLS handshakes done when the engine asks.
 *
 * Input: byte 0 picks the session (bit 0 implicit TLS, 1 STARTTLS
 * offered, 2 AUTH offered, 3 AUTH required, 4 trusted client, 5
 * sendmail -bs, 6 commits fail and the queue has room for no SIZE over
 * 1000, 7 the client closes at the end); byte 1
 * is the read size for the second run; the rest is what the client
 * sends, cut into network packets at each "\xff\xfe".  After STARTTLS
 * the host throws away what is left of the packet, as RFC 3207 asks.
 *
 * Beyond not crashing: every reply line ends in CRLF, starts with a
 * code from 200 to 559 followed by a space or '-' (the same code on
 * every line of a reply) and is at most 512 octets (RFC 5321
 * 4.5.3.1.5); input is used only while running and never more than
 * offered; a committed transaction has a sender, 1 to max_recipients
 * recipients and a message within max_message_size; the password is
 * gone once the AUTH result is in.  And the session is played twice,
 * packets given whole and then in reads of byte 1's size: both runs
 * must give the same replies, log lines, messages and envelopes (how
 * bytes arrive must not change what the server does).
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aliases.h"
#include "buf.h"
#include "config.h"
#include "envelope.h"
#include "errbuf.h"
#include "fuzz.h"
#include "smtpd_proto.h"

#define FUZZ_SMTPD_RCPTS 5
#define FUZZ_SMTPD_SIZE 4096
#define FUZZ_SMTPD_REPLY_MAX 512

static const char fuzz_smtpd_sep[] = "\xff\xfe";

struct fuzz_smtpd_run {
	struct smtpd_proto *p;
	unsigned flags;
	struct buf in;  /* received, not yet used */
	struct buf out; /* replies, messages and envelopes, then the log */
	struct buf log; /* apart: logged at once, replies when drained */
	unsigned commits;
	bool tls_done;
};

static struct aliases *fuzz_smtpd_aliases;

static void
fuzz_smtpd_log(int prio, const char *line, void *arg)
{
	struct fuzz_smtpd_run *r = arg;

	buf_printf(&r->log, "log %d: %s\n", prio, line);
}

/* Check the replies waiting in the engine and move them to r->out. */
static void
fuzz_smtpd_drain(struct fuzz_smtpd_run *r)
{
	struct buf *o = smtpd_proto_output(r->p);
	size_t pos = 0, n;
	const char *line, *nl;
	int code = 0;

	while (pos < o->len) {
		line = o->data + pos;
		nl = memchr(line, '\n', o->len - pos);
		FUZZ_CHECK(nl != NULL);
		n = (size_t)(nl - line) + 1;
		if (n > FUZZ_SMTPD_REPLY_MAX)
			fprintf(stderr, "reply of %zu octets: %.*s\n", n,
			    (int)n, line);
		FUZZ_CHECK(n >= 5 && line[n - 2] == '\r');
		FUZZ_CHECK(n <= FUZZ_SMTPD_REPLY_MAX);
		FUZZ_CHECK(line[0] >= '2' && line[0] <= '5' &&
		    line[1] >= '0' && line[1] <= '5' &&
		    line[2] >= '0' && line[2] <= '9');
		FUZZ_CHECK(line[3] == ' ' || line[3] == '-' ||
		    (n == 5 && line[3] == '\r'));
		if (code != 0)
			FUZZ_CHECK(atoi(line) == code);
		code = line[3] == '-' ? atoi(line) : 0;
		FUZZ_CHECK(memchr(line, '\r', n - 2) == NULL);
		pos += n;
	}
	FUZZ_CHECK(code == 0);
	buf_append(&r->out, o->data, o->len);
	buf_reset(o);
}

static void
fuzz_smtpd_commit(struct fuzz_smtpd_run *r)
{
	const struct envelope *env = smtpd_proto_envelope(r->p);
	const char *msg;
	char id[16];
	size_t len, i;

	msg = smtpd_proto_message(r->p, &len);
	FUZZ_CHECK(len <= FUZZ_SMTPD_SIZE);
	FUZZ_CHECK(env->sender != NULL);
	FUZZ_CHECK(env->nrcpts >= 1 && env->nrcpts <= FUZZ_SMTPD_RCPTS);
	buf_printf(&r->out, "commit from <%s>", env->sender);
	for (i = 0; i < env->nrcpts; i++) {
		FUZZ_CHECK(env->rcpts[i].addr != NULL &&
		    env->rcpts[i].addr[0] != '\0');
		buf_printf(&r->out, " to <%s>", env->rcpts[i].addr);
	}
	buf_printf(&r->out, " %zu octets\n", len);
	buf_append(&r->out, msg, len);
	if (r->flags & 0x40) {
		smtpd_proto_commit_fail(r->p, 452, "4.3.1",
		    "Insufficient system storage");
		return;
	}
	snprintf(id, sizeof(id), "Q%u", ++r->commits);
	smtpd_proto_commit_ok(r->p, id);
}

static void
fuzz_smtpd_auth(struct fuzz_smtpd_run *r)
{
	const char *mech, *user, *pass;

	smtpd_proto_auth_creds(r->p, &mech, &user, &pass);
	FUZZ_CHECK(mech != NULL && user != NULL && pass != NULL);
	FUZZ_CHECK(strcmp(mech, "PLAIN") == 0 || strcmp(mech, "LOGIN") == 0);
	if (strcmp(user, "temp") == 0)
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_TEMPFAIL);
	else if (strcmp(user, "locked") == 0)
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_LOCKED);
	else if (strcmp(user, "alice") == 0 && strcmp(pass, "secret") == 0)
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_OK);
	else
		smtpd_proto_auth_result(r->p, SMTPD_AUTH_FAIL);
	smtpd_proto_auth_creds(r->p, &mech, &user, &pass);
	FUZZ_CHECK(pass[0] == '\0');
}

/* Hand the engine what is buffered until it needs more input.  Returns
 * true after a STARTTLS handshake (the caller drops the packet's
 * rest). */
static bool
fuzz_smtpd_work(struct fuzz_smtpd_run *r)
{
	size_t used;

	for (;;) {
		switch (smtpd_proto_state(r->p)) {
		case SMTPD_COMMIT:
			fuzz_smtpd_commit(r);
			break;
		case SMTPD_AUTH:
			fuzz_smtpd_auth(r);
			break;
		case SMTPD_STARTTLS:
			fuzz_smtpd_drain(r);
			buf_reset(&r->in);
			smtpd_proto_tls_started(r->p);
			FUZZ_CHECK(smtpd_proto_state(r->p) == SMTPD_RUN);
			buf_puts(&r->out, "[TLS]\n");
			return true;
		case SMTPD_CLOSE:
			buf_reset(&r->in);
			return false;
		case SMTPD_RUN:
			if (r->in.len == 0)
				return false;
			used = smtpd_proto_input(r->p, r->in.data, r->in.len);
			FUZZ_CHECK(used <= r->in.len);
			if (smtpd_proto_state(r->p) == SMTPD_RUN)
				FUZZ_CHECK(used == r->in.len);
			memmove(r->in.data, r->in.data + used,
			    r->in.len - used);
			r->in.len -= used;
			break;
		}
		fuzz_smtpd_drain(r);
	}
}

/* One packet, in reads of at most chunk octets (0: whole). */
static void
fuzz_smtpd_packet(struct fuzz_smtpd_run *r, const uint8_t *p, size_t len,
    size_t chunk)
{
	size_t off = 0, n;

	while (off < len) {
		n = chunk == 0 || len - off < chunk ? len - off : chunk;
		buf_append(&r->in, p + off, n);
		off += n;
		if (fuzz_smtpd_work(r))
			return;
	}
}

/* A queue short of space (flag 6). */
static bool
fuzz_smtpd_space_ok(uint64_t size, void *arg)
{
	(void)arg;
	return size <= 1000;
}

static void
fuzz_smtpd_play(const uint8_t *data, size_t size, unsigned flags,
    size_t chunk, struct buf *result)
{
	struct smtpd_proto_conf c;
	struct fuzz_smtpd_run r;
	const uint8_t *end = data + size, *sep;

	memset(&c, 0, sizeof(c));
	c.hostname = "mx.example.org";
	c.origin = "example.org";
	c.aliases = fuzz_smtpd_aliases;
	c.client = "unknown[192.0.2.1]";
	c.max_message_size = FUZZ_SMTPD_SIZE;
	c.max_recipients = FUZZ_SMTPD_RCPTS;
	c.max_errors = 10;
	c.tls = (flags & 0x01) != 0;
	c.starttls = (flags & 0x02) != 0;
	c.auth = flags & 0x08 ? CONFIG_LAUTH_REQUIRED :
	    flags & 0x04 ? CONFIG_LAUTH_OPTIONAL : CONFIG_LAUTH_NONE;
	c.trusted = (flags & 0x10) != 0;
	c.local = (flags & 0x20) != 0;
	if (flags & 0x40)
		c.space_ok = fuzz_smtpd_space_ok;
	memset(&r, 0, sizeof(r));
	r.flags = flags;
	buf_init(&r.in, 0);
	buf_init(&r.out, 0);
	buf_init(&r.log, 0);
	r.p = smtpd_proto_new(&c, fuzz_smtpd_log, &r);
	FUZZ_CHECK(r.p != NULL);
	smtpd_proto_start(r.p);
	fuzz_smtpd_drain(&r);
	while (data < end) {
		sep = memmem(data, (size_t)(end - data), fuzz_smtpd_sep, 2);
		if (sep == NULL)
			sep = end;
		fuzz_smtpd_packet(&r, data, (size_t)(sep - data), chunk);
		data = sep == end ? end : sep + 2;
	}
	if (flags & 0x80) {
		smtpd_proto_eof(r.p);
		fuzz_smtpd_work(&r);
		fuzz_smtpd_drain(&r);
	}
	buf_printf(&r.out, "state %d helo <%s> proto %s user <%s>\n",
	    (int)smtpd_proto_state(r.p), smtpd_proto_helo(r.p),
	    smtpd_proto_protocol(r.p), smtpd_proto_auth_user(r.p) ?
	    smtpd_proto_auth_user(r.p) : "");
	smtpd_proto_counts(r.p, &r.out);
	smtpd_proto_free(r.p);
	buf_append(&r.out, r.log.data, r.log.len);
	buf_fini(&r.log);
	buf_fini(&r.in);
	*result = r.out;
}

/* Local names for the relay policy, loaded once. */
static void
fuzz_smtpd_init(void)
{
	static const char text[] = "postmaster: root\n"
	    "sales: alice@example.org, bob\n";
	struct errbuf eb;

	if (fuzz_smtpd_aliases != NULL)
		return;
	errbuf_clear(&eb);
	fuzz_smtpd_aliases = aliases_load(fuzz_tmpfile("aliases",
	    (const uint8_t *)text, sizeof(text) - 1), NULL, NULL, &eb);
	FUZZ_CHECK(fuzz_smtpd_aliases != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, chunked;
	unsigned flags;
	size_t chunk;

	if (size < 2)
		return 0;
	fuzz_smtpd_init();
	flags = data[0];
	chunk = data[1] != 0 ? data[1] : 1;
	fuzz_smtpd_play(data + 2, size - 2, flags, 0, &whole);
	fuzz_smtpd_play(data + 2, size - 2, flags, chunk, &chunked);
	if (whole.len != chunked.len || (whole.len > 0 &&
	    memcmp(whole.data, chunked.data, whole.len) != 0)) {
		fprintf(stderr, "whole:\n%.*s\nin reads of %zu:\n%.*s\n",
		    (int)whole.len, whole.data, chunk, (int)chunked.len,
		    chunked.data);
		FUZZ_CHECK(!"the same session read differently");
	}
	buf_fini(&whole);
	buf_fini(&chunked);
	return 0;
}
