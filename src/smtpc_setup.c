/*
 * smtpc_setup: from the greeting to READY -- EHLO (HELO when refused),
 * STARTTLS and the TLS handshake, AUTH (see smtpc.h, smtpc_int.h).
 *
 * The TLS policy is applied here: implicit TLS was already set up by
 * smtpc.c on connect; STARTTLS is required (fail when not offered),
 * tried when offered (opportunistic) or never used.  After STARTTLS the
 * plaintext capabilities are forgotten and EHLO is said again.  No
 * credential is sent without TLS, whatever the server offers, and a
 * line holding a secret is wiped from memory once written.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>

#include "smtpc.h"
#include "smtpc_int.h"
#include "smtpc_tls.h"

static void smtpc_begin_auth(struct smtpc_session *s);
static void smtpc_send_ehlo(struct smtpc_session *s);

/* ---------------------------------------------------------- secrets */

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

/* ---------------------------------------------------------- TLS */

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
void
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

/* The TLS handshake completed (and, when verifying, the certificate
 * and name checked out, or OpenSSL would have failed it). */
void
smtpc_tls_ready(struct smtpc_session *s)
{
	if (s->state != SMTPC_TLS_CONNECT && s->state != SMTPC_TLS_UPGRADE)
		return;
	if (smtpc_verifies(s) && !smtpc_tls_verified(s->ssl)) {
		smtpc_fail(s, SMTPC_STAGE_TLS, NULL, "TLS: certificate verify "
		    "failed: %s", X509_verify_cert_error_string(
		    SSL_get_verify_result(s->ssl)));
		return;
	}
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

/* ---------------------------------------------------------- EHLO */

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

void
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
			smtpc_fail(s, SMTPC_STAGE_STARTTLS, NULL,
			    "server at %s does not offer STARTTLS", s->label);
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

void
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

void
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

void
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

/* ---------------------------------------------------------- AUTH */

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

void
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