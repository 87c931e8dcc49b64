/*
 * tern_test_relay: "tern test-relay [NAME]" -- try each relay (or the
 * one named) the way ternd would, step by step, and say in plain words
 * what is wrong and what to change.
 *
 * Per relay, one after the other on one event base: the host is looked
 * up through the config's dns_servers (dns.c), then the real SMTP client
 * (smtpc.c) connects with the relay's TLS, AUTH and timeouts, and once
 * it is ready tries the sender with MAIL FROM and RSET (smtpc_try_sender:
 * no message is ever sent), then says QUIT.  Each step is printed as it
 * is known: "ok", "FAIL" or "info" and what was seen.  When a session
 * fails in a way another TLS setting would explain, a second, diagnostic
 * connection is made without credentials: in the other TLS mode (plain
 * after an implicit TLS handshake failed, implicit TLS after a missing
 * greeting), or without verification to read the certificate that was
 * refused.  What it all means is tern_test_relay_diag.c's table.
 *
 * Waits are those of the relay (connect_timeout, command_timeout), each
 * capped at TERN_TR_WAIT_MAX, and the resolver's own.  Secrets are read
 * as ternd reads them and never printed.
 */
#include "autoconf.h"

#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "dns.h"
#include "oauth2.h"
#include "fileio.h"
#include "smtpc.h"
#include "smtpc_auth.h"
#include "smtpc_proto.h"
#include "str.h"
#include "tern_cmd.h"
#include "tern_test_relay.h"

#define TERN_TR_USAGE "usage: tern test-relay [NAME]\n"
#define TERN_TR_WAIT_MAX 30  /* seconds: the longest wait for one step */
#define TERN_TR_EX_FAILED 1  /* a relay failed */

enum tern_tr_result { TERN_TR_PASS, TERN_TR_FAIL, TERN_TR_TEMP,
	TERN_TR_CONFIG };

enum tern_tr_phase {
	TERN_TR_MAIN,       /* the session as ternd would make it */
	TERN_TR_PROBE_MODE, /* the other TLS mode, no credentials */
	TERN_TR_PROBE_CERT, /* the same, unverified, for the certificate */
};

struct tern_tr {
	const struct config *cfg;
	struct event_base *base;
	struct dns *dns;
	const char *only;      /* the relay named, or NULL */
	size_t next;           /* the next relay to test */
	unsigned count[4];     /* per enum tern_tr_result */
	bool done;             /* every relay was tested */
	/* The relay under test. */
	const struct config_relay *rc;
	char *password;
	char *token;
	struct oauth2 *oauth2;           /* the built-in flow, per relay */
	struct oauth2_wait *owait;
	SSL_CTX *ctx;
	char sender[320];
	const char *sender_why;
	struct dns_addr addr;
	char ip[64];
	unsigned wait_connect, wait_reply;
	enum tern_tr_phase phase;
	bool refused;          /* MAIL FROM was refused */
	bool quitting;         /* the test is over: QUIT was said */
	struct tern_tr_facts facts;
	char err[ERRBUF_SIZE];
	char caps[2048];       /* the EHLO lines, kept past the session */
	struct smtpc_caps pcaps;
};

static void tern_tr_next(struct tern_tr *t);

/* ---------------------------------------------------------------- output */

static void
tern_tr_line(const char *tag, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "  TAG   STEP: text", one line, at once. */
static void
tern_tr_line(const char *tag, const char *step, const char *fmt, ...)
{
	char text[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("  %-5s %s: %s\n", tag, step, text);
	fflush(stdout);
}

static void
tern_tr_cert_print(const struct tern_tr_cert *c)
{
	if (!c->have)
		return;
	tern_tr_line("info", "certificate", "subject %s; issuer %s; valid "
	    "until %s; names %s", c->subject, c->issuer, c->not_after,
	    c->names[0] ? c->names : "(none)");
}

/* The EHLO capabilities that matter, from the lines kept. */
static void
tern_tr_caps_print(struct tern_tr *t, bool starttls_used)
{
	const struct smtpc_caps *c = &t->pcaps;
	char size[48] = "no";

	if (!c->esmtp) {
		tern_tr_line("info", "EHLO", "refused; the server took HELO "
		    "(no extensions)");
		return;
	}
	if (c->size)
		snprintf(size, sizeof(size), "%llu", (unsigned long long)
		    c->size_max);
	tern_tr_line("ok", "EHLO", "STARTTLS %s, AUTH %s, SIZE %s, SMTPUTF8 "
	    "%s, REQUIRETLS %s, DSN %s", starttls_used ? "used" :
	    c->starttls ? "yes" : "no", c->auth ? (c->auth_list[0] ?
	    c->auth_list : "(no mechanism)") : "no", size,
	    c->smtputf8 ? "yes" : "no", c->requiretls ? "yes" : "no",
	    c->dsn ? "yes" : "no");
}

/* Keep the session's capabilities (smtpc's text lacks the first line
 * that smtpc_caps_parse skips). */
static void
tern_tr_caps_keep(struct tern_tr *t, const struct smtpc_session *s)
{
	snprintf(t->caps, sizeof(t->caps), "x\n%s", smtpc_capabilities(s));
	memset(&t->pcaps, 0, sizeof(t->pcaps));
	if (smtpc_capabilities(s)[0] != '\0')
		smtpc_caps_parse(&t->pcaps, t->caps, strlen(t->caps));
	t->facts.caps_starttls = t->pcaps.starttls;
	t->facts.caps_auth = t->pcaps.auth;
	t->facts.auth_offered = t->pcaps.auth_list;
}

/* ---------------------------------------------------------------- relay */

/* The mechanism smtpc will choose (it chooses the same way). */
static enum smtpc_auth_mode
tern_tr_mech(const struct tern_tr *t)
{
	enum smtpc_auth_mode mech = SMTPC_AUTH_NONE;

	if (smtpc_auth_choose((enum smtpc_auth_mode)t->rc->auth,
	    t->pcaps.auth_mechs, t->password != NULL && t->password[0],
	    t->token != NULL && t->token[0], &mech) == -1)
		return SMTPC_AUTH_NONE;
	return mech;
}

static void
tern_tr_wipe(char **secret)
{
	if (*secret == NULL)
		return;
	OPENSSL_cleanse(*secret, strlen(*secret));
	free(*secret);
	*secret = NULL;
}

/* The relay is done: its verdict, then the next relay. */
static void
tern_tr_finish(struct tern_tr *t, enum tern_tr_result res)
{
	static const char *const words[] = { "passed", "FAILED",
		"failed for now (temporary; try again later)",
		"FAILED (configuration)" };

	t->count[res]++;
	printf("relay %s: %s\n\n", t->rc->name, words[res]);
	fflush(stdout);
	tern_tr_wipe(&t->password);
	tern_tr_wipe(&t->token);
	if (t->owait != NULL)
		oauth2_cancel(t->owait);
	t->owait = NULL;
	oauth2_free(t->oauth2);
	t->oauth2 = NULL;
	if (t->ctx != NULL)
		SSL_CTX_free(t->ctx);
	t->ctx = NULL;
	tern_tr_next(t);
}

/* Say what the facts mean, and finish. */
static void
tern_tr_conclude(struct tern_tr *t)
{
	enum tern_tr_symptom sym = tern_tr_classify(&t->facts);
	char advice[1024];
	bool temp;

	tern_tr_cert_print(&t->facts.cert);
	temp = tern_tr_diagnose(&t->facts, sym, advice, sizeof(advice));
	printf("  %-5s %s\n", "fix:", advice);
	fflush(stdout);
	tern_tr_finish(t, temp ? TERN_TR_TEMP : TERN_TR_FAIL);
}

static void tern_tr_on_main(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg);
static void tern_tr_on_probe(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg);

/* A session to the relay's address: as ternd would make it (main), or a
 * diagnostic one in TLS mode tls, unverified and without AUTH. */
static bool
tern_tr_session(struct tern_tr *t, bool main, enum smtpc_tls_mode tls)
{
	const struct config_relay *rc = t->rc;
	struct smtpc_config sc;

	memset(&sc, 0, sizeof(sc));
	sc.host = rc->host;
	memcpy(&sc.addr, &t->addr.sa, sizeof(sc.addr));
	sc.addrlen = t->addr.len;
	sc.tls = tls;
	sc.tls_verify = main && rc->tls_verify != 0;
	sc.ssl_ctx = t->ctx;
	sc.auth = main ? (enum smtpc_auth_mode)rc->auth : SMTPC_AUTH_NONE;
	sc.username = main ? rc->username : NULL;
	sc.password = main ? t->password : NULL;
	sc.oauth2_token = main ? t->token : NULL;
	sc.helo_name = t->cfg->hostname;
	sc.connect_timeout = t->wait_connect;
	sc.command_timeout = t->wait_reply;
	sc.idle_timeout = t->wait_reply;
	return smtpc_new(t->base, &sc, main ? tern_tr_on_main :
	    tern_tr_on_probe, t) != NULL;
}

/* A diagnostic session; false when none was started. */
static bool
tern_tr_probe(struct tern_tr *t, enum tern_tr_phase phase,
    enum smtpc_tls_mode tls)
{
	struct errbuf eb;

	t->phase = phase;
	if (tls != SMTPC_TLS_NONE && t->ctx == NULL &&
	    (t->ctx = smtpc_tls_ctx_new(t->rc->tls_ca_file, &eb)) == NULL)
		return false;
	return tern_tr_session(t, false, tls);
}

static void
tern_tr_on_probe(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg)
{
	struct tern_tr *t = arg;

	(void)out;
	switch (ev) {
	case SMTPC_EV_READY:
		t->facts.probe = TERN_TR_PROBE_WORKED;
		if (t->phase == TERN_TR_PROBE_CERT)
			tern_tr_cert_read(smtpc_peer_cert(s), &t->facts.cert);
		smtpc_quit(s);
		break;
	case SMTPC_EV_FAILED:
		t->facts.probe = TERN_TR_PROBE_FAILED;
		smtpc_free(s);
		tern_tr_conclude(t);
		break;
	case SMTPC_EV_CLOSED:
		smtpc_free(s);
		tern_tr_conclude(t);
		break;
	case SMTPC_EV_SENT:
		break;
	}
}

/* ---------------------------------------------------------------- main */

/* The TLS step of a session that got past it. */
static void
tern_tr_tls_print(const struct tern_tr *t, const struct smtpc_outcome *out)
{
	const struct config_relay *rc = t->rc;

	if (out->tls)
		tern_tr_line("ok", "TLS", "%s%s, certificate %s", out->tls_info,
		    rc->tls != CONFIG_TLS_IMPLICIT ? " after STARTTLS" :
		    " (implicit)", rc->tls == CONFIG_TLS_OPPORTUNISTIC ?
		    "not verified (tls = opportunistic)" : !rc->tls_verify ?
		    "not verified (tls_verify = no)" : "verified");
	else
		tern_tr_line("info", "TLS", "none (tls = %s%s)",
		    tern_tr_tls_name(rc->tls), rc->tls == CONFIG_TLS_NONE ?
		    "" : ", and the server did not offer STARTTLS");
}

/* The steps that worked before the session failed at out->stage. */
static void
tern_tr_print_before(struct tern_tr *t, const struct smtpc_outcome *out)
{
	enum smtpc_stage st = out->stage;

	if (st == SMTPC_STAGE_CONNECT)
		return;
	tern_tr_line("ok", "connect", "%s port %u", t->ip,
	    (unsigned)t->rc->port);
	if (out->tls && st != SMTPC_STAGE_TLS)
		tern_tr_tls_print(t, out);
	if (t->caps[2] != '\0' && st != SMTPC_STAGE_EHLO &&
	    st != SMTPC_STAGE_GREETING)
		tern_tr_caps_print(t, out->tls &&
		    t->rc->tls != CONFIG_TLS_IMPLICIT);
}

/* Whether a failure calls for a diagnostic session, and which. */
static bool
tern_tr_probe_after(struct tern_tr *t, const struct smtpc_outcome *out)
{
	int tls = t->rc->tls;

	if (out->stage == SMTPC_STAGE_TLS &&
	    strstr(out->err, "certificate verify failed") != NULL)
		return tern_tr_probe(t, TERN_TR_PROBE_CERT,
		    (enum smtpc_tls_mode)tls);
	if (out->stage == SMTPC_STAGE_TLS && tls == CONFIG_TLS_IMPLICIT)
		return tern_tr_probe(t, TERN_TR_PROBE_MODE, SMTPC_TLS_NONE);
	if (out->stage == SMTPC_STAGE_GREETING && out->reply.code == 0 &&
	    tls != CONFIG_TLS_IMPLICIT)
		return tern_tr_probe(t, TERN_TR_PROBE_MODE,
		    SMTPC_TLS_IMPLICIT);
	return false;
}

static void
tern_tr_main_failed(struct tern_tr *t, struct smtpc_session *s,
    const struct smtpc_outcome *out)
{
	tern_tr_caps_keep(t, s);
	t->facts.xoauth2 = out->stage == SMTPC_STAGE_AUTH &&
	    tern_tr_mech(t) == SMTPC_AUTH_XOAUTH2;
	smtpc_free(s);
	t->facts.stage = out->stage;
	t->facts.reply = out->reply;
	str_lcpy(t->err, out->err[0] ? out->err : out->reply.text,
	    sizeof(t->err));
	t->facts.err = t->err;
	tern_tr_print_before(t, out);
	tern_tr_line("FAIL", out->stage == SMTPC_STAGE_IO ? "session" :
	    smtpc_stage_name(out->stage), "%s", t->err);
	if (!tern_tr_probe_after(t, out))
		tern_tr_conclude(t);
}

/* Connected, greeted, TLS and AUTH done: say so, then try the sender. */
static void
tern_tr_main_ready(struct tern_tr *t, struct smtpc_session *s,
    const struct smtpc_outcome *out)
{
	const struct config_relay *rc = t->rc;
	bool via_starttls = out->tls && rc->tls != CONFIG_TLS_IMPLICIT;
	struct tern_tr_cert cert;

	tern_tr_caps_keep(t, s);
	tern_tr_line("ok", "connect", "%s port %u", t->ip, (unsigned)rc->port);
	tern_tr_tls_print(t, out);
	tern_tr_cert_read(smtpc_peer_cert(s), &cert);
	tern_tr_cert_print(&cert);
	tern_tr_caps_print(t, via_starttls);
	if (rc->username == NULL || rc->auth == CONFIG_AUTH_NONE)
		tern_tr_line("info", "AUTH", "none (no username)");
	else
		tern_tr_line("ok", "AUTH", "%s as %s: accepted",
		    smtpc_auth_mech_name(tern_tr_mech(t)), rc->username);
	if (smtpc_try_sender(s, t->sender) == -1) {
		t->facts.bad_sender = true;
		t->facts.stage = SMTPC_STAGE_MAIL;
		tern_tr_line("FAIL", "MAIL FROM", "<%s> (%s) cannot be sent",
		    t->sender, t->sender_why);
		smtpc_free(s);
		tern_tr_conclude(t);
	}
}

/* The reply to MAIL FROM is in, and RSET was accepted. */
static void
tern_tr_main_sent(struct tern_tr *t, struct smtpc_session *s,
    const struct smtpc_outcome *out)
{
	const struct smtpc_reply *r = &out->reply;
	bool ok = out->stage == SMTPC_STAGE_NONE;

	tern_tr_line(ok ? "ok" : "FAIL", "MAIL FROM", "<%s> (%s): %d %s%s%s",
	    t->sender, t->sender_why, r->code, r->status,
	    r->status[0] ? " " : "", r->text);
	tern_tr_line("ok", "RSET", "accepted; no message was sent");
	t->facts.stage = out->stage;
	t->facts.reply = *r;
	str_lcpy(t->err, out->err, sizeof(t->err));
	t->facts.err = t->err;
	t->refused = !ok;
	t->quitting = true;
	smtpc_quit(s);
}

static void
tern_tr_on_main(struct smtpc_session *s, enum smtpc_event ev,
    const struct smtpc_outcome *out, void *arg)
{
	struct tern_tr *t = arg;

	switch (ev) {
	case SMTPC_EV_READY:
		tern_tr_main_ready(t, s, out);
		break;
	case SMTPC_EV_SENT:
		tern_tr_main_sent(t, s, out);
		break;
	case SMTPC_EV_FAILED:
		/* A server that hangs up after RSET, before or instead of
		 * answering QUIT, has passed all the same. */
		if (!t->quitting) {
			tern_tr_main_failed(t, s, out);
			break;
		}
		/* FALLTHROUGH */
	case SMTPC_EV_CLOSED:
		smtpc_free(s);
		/* After MAIL FROM and RSET. */
		if (t->refused)
			tern_tr_conclude(t);
		else
			tern_tr_finish(t, TERN_TR_PASS);
		break;
	}
}

/* ---------------------------------------------------------------- DNS */

static void
tern_tr_on_resolved(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	struct tern_tr *t = arg;
	char list[1024] = "", ip[64];
	size_t i;

	if (st == DNS_ECANCELLED)
		return;
	if (st != DNS_OK || n == 0) {
		t->facts.dns_failed = true;
		t->facts.dns_status = st;
		str_lcpy(t->err, err != NULL ? err : "DNS lookup failed",
		    sizeof(t->err));
		t->facts.err = t->err;
		tern_tr_line("FAIL", "DNS", "%s (%s)", t->err,
		    dns_status_name(st));
		tern_tr_conclude(t);
		return;
	}
	for (i = 0; i < n; i++) {
		getnameinfo((const struct sockaddr *)&addrs[i].sa, addrs[i].len,
		    ip, sizeof(ip), NULL, 0, NI_NUMERICHOST);
		tern_tr_append(list, sizeof(list), ip);
		if (i == 0)
			str_lcpy(t->ip, ip, sizeof(t->ip));
	}
	if (strcmp(list, t->rc->host) == 0)
		tern_tr_line("ok", "DNS", "%s is an address: nothing to look "
		    "up", list);
	else
		tern_tr_line("ok", "DNS", "%s: %s%s", t->rc->host, list,
		    n > 1 ? " (the first is tried, as ternd does)" : "");
	t->addr = addrs[0];
	t->facts.ip = t->ip;
	t->phase = TERN_TR_MAIN;
	if (!tern_tr_session(t, true, (enum smtpc_tls_mode)t->rc->tls)) {
		tern_tr_line("FAIL", "connect", "out of memory");
		tern_tr_finish(t, TERN_TR_FAIL);
	}
}

/* ---------------------------------------------------------------- setup */

/* oauth2_token_command's first line, or NULL (and a note). */
static char *
tern_tr_token(const char *cmd)
{
	char line[8192];
	char *tok = NULL;
	FILE *p;

	if ((p = popen(cmd, "r")) == NULL)
		return NULL;
	if (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		tok = strdup(line);
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (pclose(p) != 0) {
		tern_tr_line("info", "AUTH", "oauth2_token_command failed");
		tern_tr_wipe(&tok);
	}
	return tok;
}

/* The sender to try, and where it came from. */
static void
tern_tr_sender(struct tern_tr *t)
{
	const struct config_relay *rc = t->rc;
	const struct passwd *pw = getpwuid(getuid());

	if (rc->from != NULL) {
		str_lcpy(t->sender, rc->from, sizeof(t->sender));
		t->sender_why = "the relay's from";
	} else if (rc->username != NULL && strchr(rc->username, '@')) {
		str_lcpy(t->sender, rc->username, sizeof(t->sender));
		t->sender_why = "no from: the relay's username";
	} else {
		snprintf(t->sender, sizeof(t->sender), "%s@%s",
		    pw != NULL ? pw->pw_name : "root", t->cfg->origin);
		t->sender_why = "no from: your login name at origin";
	}
	t->facts.sender = t->sender;
}

/* The built-in OAuth2 flow's client, with the relay's secret. */
static bool
tern_tr_oauth2_new(struct tern_tr *t)
{
	const struct config_relay *rc = t->rc;
	struct errbuf eb;
	char *secret = NULL;

	errbuf_clear(&eb);
	if (rc->oauth2_client_secret_file != NULL && (secret =
	    fileio_read_secret(
	    rc->oauth2_client_secret_file, "oauth2_client_secret_file", &eb)) == NULL) {
		tern_tr_line("FAIL", "config", "%s", eb.msg);
		return false;
	}
	t->oauth2 = oauth2_new(rc, secret, &eb);
	tern_tr_wipe(&secret);
	if (t->oauth2 == NULL) {
		tern_tr_line("FAIL", "config", "%s", eb.msg);
		return false;
	}
	return true;
}

/* Read what the relay needs from files; false (printed) when that
 * fails: a configuration problem. */
static bool
tern_tr_prepare(struct tern_tr *t)
{
	const struct config_relay *rc = t->rc;
	struct errbuf eb;

	errbuf_clear(&eb);
	if (rc->password_file != NULL &&
	    (t->password = fileio_read_secret(rc->password_file,
	    "password_file", &eb)) == NULL) {
		tern_tr_line("FAIL", "config", "%s", eb.msg);
		return false;
	}
	if (rc->tls != CONFIG_TLS_NONE &&
	    (t->ctx = smtpc_tls_ctx_new(rc->tls_ca_file, &eb)) == NULL) {
		tern_tr_line("FAIL", "config", "%s: check tls_ca_file", eb.msg);
		return false;
	}
	if (rc->oauth2_token_command != NULL)
		t->token = tern_tr_token(rc->oauth2_token_command);
	else if (rc->oauth2_token_url != NULL)
		return tern_tr_oauth2_new(t);
	else if (rc->auth == CONFIG_AUTH_XOAUTH2)
		tern_tr_line("info", "AUTH", "no oauth2_token_command or "
		    "oauth2_token_url: test-relay has no token to offer");
	return true;
}

static void tern_tr_resolve(struct tern_tr *t);

/* The token is in (or not): a step of its own, before DNS. */
static void
tern_tr_on_token(enum oauth2_status st, const char *token, uint64_t gen,
    const char *err, void *arg)
{
	struct tern_tr *t = arg;

	(void)gen;
	t->owait = NULL;
	if (st == OAUTH2_OK && (t->token = strdup(token)) != NULL) {
		tern_tr_line("ok", "OAuth2", "a token from %s",
		    t->rc->oauth2_token_url);
		tern_tr_resolve(t);
		return;
	}
	tern_tr_line("FAIL", "OAuth2", "%s", err != NULL ? err :
	    "out of memory");
	printf("  %-5s %s\n", "fix:", "the token endpoint gave no token: "
	    "check oauth2_token_url, oauth2_client_id, the secret in "
	    "oauth2_client_secret_file and oauth2_scope (the endpoint's "
	    "error is above)");
	fflush(stdout);
	tern_tr_finish(t, TERN_TR_FAIL);
}

static void
tern_tr_oauth2_get(struct tern_tr *t)
{
	struct errbuf eb;
	const char *token;
	uint64_t gen;

	errbuf_clear(&eb);
	switch (oauth2_get(t->oauth2, t->base, t->dns, tern_tr_on_token, t,
	    &token, &gen, &t->owait, &eb)) {
	case 1:
		tern_tr_on_token(OAUTH2_OK, token, gen, NULL, t);
		break;
	case 0:
		break;
	default:
		tern_tr_on_token(OAUTH2_FAILED, NULL, 0, eb.msg, t);
		break;
	}
}

static void
tern_tr_start(struct tern_tr *t, const struct config_relay *rc)
{

	t->rc = rc;
	t->refused = false;
	t->quitting = false;
	t->caps[0] = t->caps[1] = t->caps[2] = '\0';
	memset(&t->pcaps, 0, sizeof(t->pcaps));
	memset(&t->facts, 0, sizeof(t->facts));
	t->facts.rc = rc;
	t->facts.ip = "";
	t->wait_connect = rc->connect_timeout < TERN_TR_WAIT_MAX ?
	    (unsigned)rc->connect_timeout : TERN_TR_WAIT_MAX;
	t->wait_reply = rc->command_timeout < TERN_TR_WAIT_MAX ?
	    (unsigned)rc->command_timeout : TERN_TR_WAIT_MAX;
	t->facts.timeout = t->wait_connect;
	tern_tr_sender(t);
	printf("relay %s: %s port %u, tls = %s, auth = %s%s%s\n", rc->name,
	    rc->host, (unsigned)rc->port, tern_tr_tls_name(rc->tls),
	    tern_tr_auth_name(rc->auth), rc->username ? ", username = " : "",
	    rc->username ? rc->username : "");
	fflush(stdout);
	if (!tern_tr_prepare(t)) {
		tern_tr_finish(t, TERN_TR_CONFIG);
		return;
	}
	if (t->oauth2 != NULL)
		tern_tr_oauth2_get(t);
	else
		tern_tr_resolve(t);
}

/* The first step proper: the relay's addresses. */
static void
tern_tr_resolve(struct tern_tr *t)
{
	const struct config_relay *rc = t->rc;
	struct errbuf eb;

	errbuf_clear(&eb);
	if (dns_resolve(t->dns, rc->host, (uint16_t)rc->port,
	    tern_tr_on_resolved, t, &eb) == -1) {
		t->facts.dns_failed = t->facts.dns_badname = true;
		str_lcpy(t->err, eb.msg, sizeof(t->err));
		t->facts.err = t->err;
		tern_tr_line("FAIL", "DNS", "%s", eb.msg);
		tern_tr_conclude(t);
	}
}

/* Test the next relay, or end the loop when none is left. */
static void
tern_tr_next(struct tern_tr *t)
{
	const struct config_relay *rc;

	while (t->next < t->cfg->nrelays) {
		rc = &t->cfg->relays[t->next++];
		if (t->only == NULL || strcmp(t->only, rc->name) == 0) {
			tern_tr_start(t, rc);
			return;
		}
	}
	t->done = true;
	event_base_loopbreak(t->base);
}

/* ---------------------------------------------------------------- command */

/* Is NAME a relay?  When not, say which there are. */
static bool
tern_tr_known(const struct config *cfg, const char *name)
{
	char list[1024] = "";
	size_t i;

	for (i = 0; i < cfg->nrelays; i++) {
		if (strcmp(cfg->relays[i].name, name) == 0)
			return true;
		tern_tr_append(list, sizeof(list), cfg->relays[i].name);
	}
	fprintf(stderr, "tern test-relay: no relay called '%s'; the relays "
	    "are: %s\n", name, list[0] ? list : "(none)");
	return false;
}

static int
tern_tr_exit(const struct tern_tr *t)
{
	unsigned tested = t->count[0] + t->count[1] + t->count[2] +
	    t->count[3];

	if (tested > 1)
		printf("%u relays tested: %u passed, %u failed, %u failed for "
		    "now, %u with configuration problems\n", tested,
		    t->count[TERN_TR_PASS], t->count[TERN_TR_FAIL],
		    t->count[TERN_TR_TEMP], t->count[TERN_TR_CONFIG]);
	if (t->count[TERN_TR_CONFIG] > 0)
		return EX_CONFIG;
	if (t->count[TERN_TR_FAIL] > 0)
		return TERN_TR_EX_FAILED;
	if (t->count[TERN_TR_TEMP] > 0)
		return EX_TEMPFAIL;
	return EX_OK;
}

int
tern_cmd_test_relay(const struct config *cfg, int argc, char **argv)
{
	struct tern_tr t;
	struct errbuf eb;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fputs(TERN_TR_USAGE, stderr);
		return EX_USAGE;
	}
	if (argc == 2 && !tern_tr_known(cfg, argv[1]))
		return EX_USAGE;
	if (cfg->nrelays == 0) {
		fprintf(stderr, "tern test-relay: %s has no [relay] section: "
		    "nothing to test\n", cfg->path ? cfg->path : "the config");
		return EX_CONFIG;
	}
	memset(&t, 0, sizeof(t));
	t.cfg = cfg;
	t.only = argc == 2 ? argv[1] : NULL;
	signal(SIGPIPE, SIG_IGN);
	errbuf_clear(&eb);
	if ((t.base = event_base_new()) == NULL) {
		fprintf(stderr, "tern test-relay: cannot create an event "
		    "loop\n");
		return EX_OSERR;
	}
	if ((t.dns = dns_new(t.base, cfg->dns_servers, &eb)) == NULL) {
		fprintf(stderr, "tern test-relay: dns_servers: %s\n", eb.msg);
		event_base_free(t.base);
		return EX_CONFIG;
	}
	tern_tr_next(&t);
	/* A loopbreak before the loop runs is forgotten: check first. */
	if (!t.done)
		event_base_dispatch(t.base);
	/* libevent frees a closed TLS session's bufferevents from the
	 * loop, after the callback that closed it: give it those turns. */
	event_base_loop(t.base, EVLOOP_NONBLOCK);
	event_base_loop(t.base, EVLOOP_NONBLOCK);
	rc = tern_tr_exit(&t);
	dns_free(t.dns);
	event_base_free(t.base);
	return rc;
}
