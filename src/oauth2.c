/*
 * oauth2: one relay's access token, cached, and the callers waiting
 * for it (see oauth2.h).  It decides what a fetch means — the token
 * endpoint's JSON (RFC 6749 5.1 and 5.2) or a command's first line —
 * and when a cached token is too old or refused.  The fetching itself
 * is oauth2_http.c and oauth2_cmd.c.
 *
 * The client authenticates in the request body (client_id and
 * client_secret as form fields, RFC 6749 2.3.1), which every common
 * provider accepts (Microsoft's identity platform requires it).  At
 * most one fetch per relay is under way; everyone needing a token
 * meanwhile waits for it.  A failure is told to the waiting sessions
 * in plain words — the source, the HTTP status, the endpoint's error
 * and error_description — and they log it as the relay's failure
 * (qmgr_conn.c); neither the secret nor a token is ever in a message.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "log.h"
#include "oauth2_int.h"
#include "str.h"

struct oauth2_wait {
	struct oauth2 *o;
	oauth2_fn cb;
	void *arg;
	TAILQ_ENTRY(oauth2_wait) link;
};

struct oauth2 {
	const struct config_relay *rc;
	struct oauth2_url url;  /* with oauth2_token_url */
	char *secret;
	SSL_CTX *ssl;
	char *token;            /* NULL: none valid */
	uint64_t gen;           /* of token; 0 before the first */
	int64_t fresh_until;    /* monotonic seconds */
	struct oauth2_http *http; /* a fetch under way, or */
	struct oauth2_cmd *cmd;
	TAILQ_HEAD(, oauth2_wait) waiting;
	bool settling;          /* answering waiters: freeing waits */
	bool freed;             /* ...and was asked for meanwhile */
};

static int64_t
oauth2_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void
oauth2_drop_token(struct oauth2 *o)
{
	if (o->token != NULL) {
		OPENSSL_cleanse(o->token, strlen(o->token));
		free(o->token);
		o->token = NULL;
	}
}

const char *
oauth2_source(const struct oauth2 *o)
{
	return o->rc->oauth2_token_command != NULL ? "oauth2_token_command" :
	    o->rc->oauth2_token_url;
}

/* ---------------------------------------------------------- URL */

int
oauth2_url_parse(const char *url, struct oauth2_url *u, struct errbuf *eb)
{
	const char *p, *end, *colon;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) != 0)
		return errbuf_set(eb, "oauth2_token_url %s: must start with "
		    "https://", url);
	p = url + 8;
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL || strchr(url, '#'))
		return errbuf_set(eb, "oauth2_token_url %s: user info and "
		    "fragments are not allowed", url);
	if (*p == '[') {
		colon = memchr(p, ']', (size_t)(end - p));
		if (colon == NULL)
			return errbuf_set(eb, "oauth2_token_url %s: no ] after "
			    "the IPv6 address", url);
		n = (size_t)(colon - p - 1);
		p++;
		colon = colon[1] == ':' ? colon + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon != NULL ? colon : end) - p);
	}
	if (n == 0 || n >= sizeof(u->host))
		return errbuf_set(eb, "oauth2_token_url %s: no host", url);
	memcpy(u->host, p, n);
	u->port = 443;
	if (colon != NULL) {
		char *e;
		unsigned long port = strtoul(colon + 1, &e, 10);

		if (e != end || port == 0 || port > 65535)
			return errbuf_set(eb, "oauth2_token_url %s: bad port",
			    url);
		u->port = (uint16_t)port;
	}
	snprintf(u->path, sizeof(u->path), "%s%s", *end == '/' ? "" : "/",
	    end);
	if (strlen(end) + 1 >= sizeof(u->path) || strpbrk(u->path, " \t\r\n"))
		return errbuf_set(eb, "oauth2_token_url %s: bad path", url);
	snprintf(u->authority, sizeof(u->authority), strchr(u->host, ':') ?
	    "[%s]:%u" : "%s:%u", u->host, (unsigned)u->port);
	if (u->port == 443)
		snprintf(u->authority, sizeof(u->authority), strchr(u->host,
		    ':') ? "[%s]" : "%s", u->host);
	return 0;
}

/* ---------------------------------------------------------- lifetime */

struct oauth2 *
oauth2_new(const struct config_relay *rc, const char *secret,
    struct errbuf *eb)
{
	struct oauth2 *o;

	if (rc->oauth2_token_command == NULL && rc->oauth2_token_url == NULL)
		return NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return errbuf_set(eb, "out of memory"), NULL;
	o->rc = rc;
	TAILQ_INIT(&o->waiting);
	if (rc->oauth2_token_command != NULL)
		return o;
	if (oauth2_url_parse(rc->oauth2_token_url, &o->url, eb) < 0)
		goto fail;
	if (rc->oauth2_client_id == NULL || secret == NULL) {
		errbuf_set(eb, "oauth2_token_url needs oauth2_client_id and "
		    "oauth2_client_secret_file");
		goto fail;
	}
	if ((o->secret = strdup(secret)) == NULL) {
		errbuf_set(eb, "out of memory");
		goto fail;
	}
	if ((o->ssl = smtpc_tls_ctx_new(rc->tls_ca_file, eb)) == NULL)
		goto fail;
	return o;
fail:
	oauth2_free(o);
	return NULL;
}

void
oauth2_free(struct oauth2 *o)
{
	struct oauth2_wait *w;

	if (o == NULL)
		return;
	/* A waiter's callback may let go of the last user of o. */
	if (o->settling) {
		o->freed = true;
		return;
	}
	while ((w = TAILQ_FIRST(&o->waiting)) != NULL) {
		TAILQ_REMOVE(&o->waiting, w, link);
		free(w);
	}
	oauth2_http_cancel(o->http);
	oauth2_cmd_cancel(o->cmd);
	oauth2_drop_token(o);
	if (o->secret != NULL) {
		OPENSSL_cleanse(o->secret, strlen(o->secret));
		free(o->secret);
	}
	if (o->ssl != NULL)
		SSL_CTX_free(o->ssl);
	free(o);
}

/* Keep token, good for lifetime seconds (0: unknown), and answer every
 * waiter; or, without a token, tell them why, naming the source. */
static void
oauth2_settle(struct oauth2 *o, enum oauth2_status st, const char *token,
    long lifetime, const char *err)
{
	struct oauth2_wait *w;
	char why[ERRBUF_SIZE];
	long early;

	o->http = NULL;
	o->cmd = NULL;
	oauth2_drop_token(o);
	if (st == OAUTH2_OK && (o->token = strdup(token)) == NULL) {
		st = OAUTH2_FAILED;
		err = "out of memory";
	}
	if (st == OAUTH2_OK) {
		if (lifetime <= 0)
			lifetime = OAUTH2_TTL_DEFAULT;
		early = lifetime / 10 < OAUTH2_EARLY_MAX ? lifetime / 10 :
		    OAUTH2_EARLY_MAX;
		o->fresh_until = oauth2_now() + lifetime - early;
		o->gen++;
	}
	snprintf(why, sizeof(why), o->rc->oauth2_token_command != NULL ?
	    "%s failed: %s" : "POST to %s: %s", oauth2_source(o),
	    err != NULL ? err : "");
	/* A waiter's callback may cancel or add others: take one by one. */
	o->settling = true;
	while ((w = TAILQ_FIRST(&o->waiting)) != NULL) {
		TAILQ_REMOVE(&o->waiting, w, link);
		w->cb(st, o->token, o->gen, why, w->arg);
		free(w);
	}
	o->settling = false;
	if (o->freed)
		oauth2_free(o);
}

/* ---------------------------------------------------------- decisions */

/* A token we may put into an XOAUTH2 blob: printable ASCII, no space
 * (RFC 6750 2.1 b64token, a little wider). */
static bool
oauth2_token_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > OAUTH2_TOKEN_MAX)
		return false;
	for (; *t != '\0'; t++)
		if (*t <= 0x20 || *t >= 0x7f)
			return false;
	return true;
}

/* The endpoint's "error" and "error_description" (RFC 6749 5.2), for
 * the log, printable and short. */
static void
oauth2_error_words(json_t *j, char *out, size_t len)
{
	const char *e = json_string_value(json_object_get(j, "error"));
	const char *d = json_string_value(json_object_get(j,
	    "error_description"));
	char *p;

	snprintf(out, len, "%s%s%s", e != NULL ? e : "", e && d ? ": " : "",
	    d != NULL ? d : "");
	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	if (strlen(out) > 300)
		strcpy(out + 297, "...");
}

/* Turn an endpoint's answer into a token or a reason. */
static void
oauth2_on_http(const struct oauth2_http_result *res, void *arg)
{
	struct oauth2 *o = arg;
	char words[512], err[ERRBUF_SIZE];
	const char *token, *type;
	json_error_t je;
	json_t *j = NULL, *exp;
	long lifetime = 0;

	if (res->st != OAUTH2_OK) {
		oauth2_settle(o, res->st, NULL, 0, res->err);
		return;
	}
	j = json_loadb(res->body, res->len, 0, &je);
	words[0] = '\0';
	if (j != NULL && json_is_object(j))
		oauth2_error_words(j, words, sizeof(words));
	token = json_string_value(json_object_get(j, "access_token"));
	type = json_string_value(json_object_get(j, "token_type"));
	exp = json_object_get(j, "expires_in");
	if (json_is_integer(exp))
		lifetime = (long)json_integer_value(exp);
	else if (json_is_string(exp)) /* some endpoints quote it */
		lifetime = strtol(json_string_value(exp), NULL, 10);
	if (res->status != 200)
		snprintf(err, sizeof(err), "HTTP %d%s%s", res->status,
		    words[0] ? ": " : " ", words[0] ? words :
		    "(no error in the answer)");
	else if (j == NULL || !json_is_object(j))
		snprintf(err, sizeof(err), "HTTP 200 but the answer is not a "
		    "JSON object (line %d: %s)", je.line, je.text);
	else if (token == NULL || !oauth2_token_ok(token))
		snprintf(err, sizeof(err), "HTTP 200 but no usable "
		    "access_token in the answer%s%s", words[0] ? ": " : "",
		    words);
	else if (type != NULL && strcasecmp(type, "Bearer") != 0)
		snprintf(err, sizeof(err), "token_type is %.60s, not Bearer",
		    type);
	else
		err[0] = '\0';
	if (err[0] == '\0') {
		log_msg(LOG_INFO, "relay %s: OAuth2 token from %s, valid for "
		    "%ld s", o->rc->name, oauth2_source(o), lifetime > 0 ?
		    lifetime : (long)OAUTH2_TTL_DEFAULT);
		oauth2_settle(o, OAUTH2_OK, token, lifetime, NULL);
	} else
		oauth2_settle(o, OAUTH2_FAILED, NULL, 0, err);
	json_decref(j);
}

static void
oauth2_on_cmd(enum oauth2_status st, const char *line, const char *err,
    void *arg)
{
	struct oauth2 *o = arg;

	if (st == OAUTH2_OK && !oauth2_token_ok(line))
		oauth2_settle(o, OAUTH2_FAILED, NULL, 0, "its first line is "
		    "not a token (empty, or spaces or control characters)");
	else
		oauth2_settle(o, st, line, 0, err);
}

bool
oauth2_auth_refused(const struct smtpc_outcome *out)
{
	const char *json, *p;
	long status;

	if (out->stage != SMTPC_STAGE_AUTH)
		return false;
	if (out->reply.code == 535)
		return true;
	/* smtpc keeps the decoded 334 JSON as "XOAUTH2 token refused:
	 * {...}" in err. */
	if ((json = strstr(out->err, "XOAUTH2 token refused:")) == NULL ||
	    (p = strstr(json, "\"status\"")) == NULL)
		return false;
	p += 8;
	p += strspn(p, " :\"");
	status = strtol(p, NULL, 10);
	return status == 400 || status == 401;
}

/* ---------------------------------------------------------- fetching */

/* The form of a client-credentials request; NULL when out of memory. */
static char *
oauth2_form(const struct oauth2 *o)
{
	const char *names[] = { "client_id", "client_secret", "scope" };
	const char *values[] = { o->rc->oauth2_client_id, o->secret,
	    o->rc->oauth2_scope };
	const unsigned char *v;
	struct buf b;
	size_t i;
	int rc;

	buf_init(&b, 0);
	rc = buf_puts(&b, "grant_type=client_credentials");
	for (i = 0; i < 3 && rc == 0; i++) {
		if (values[i] == NULL)
			continue;
		rc = buf_printf(&b, "&%s=", names[i]);
		/* RFC 6749 appendix B: application/x-www-form-urlencoded */
		for (v = (const unsigned char *)values[i]; *v && rc == 0; v++)
			rc = isalnum(*v) || strchr("*-._", *v) ?
			    buf_putc(&b, *v) : *v == ' ' ? buf_putc(&b, '+') :
			    buf_printf(&b, "%%%02X", *v);
	}
	if (rc < 0) {
		OPENSSL_cleanse(b.data, b.len);
		buf_fini(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static int
oauth2_fetch(struct oauth2 *o, struct event_base *base, struct dns *dns,
    struct errbuf *eb)
{
	char *form;

	if (o->rc->oauth2_token_command != NULL) {
		o->cmd = oauth2_cmd_run(base, o->rc->oauth2_token_command,
		    OAUTH2_CMD_TIMEOUT, oauth2_on_cmd, o, eb);
		return o->cmd != NULL ? 0 : -1;
	}
	if ((form = oauth2_form(o)) == NULL)
		return errbuf_set(eb, "out of memory");
	o->http = oauth2_http_post(base, dns, o->ssl, &o->url, form,
	    (unsigned)o->rc->connect_timeout,
	    (unsigned)o->rc->command_timeout, oauth2_on_http, o, eb);
	OPENSSL_cleanse(form, strlen(form));
	free(form);
	return o->http != NULL ? 0 : -1;
}

int
oauth2_get(struct oauth2 *o, struct event_base *base, struct dns *dns,
    oauth2_fn cb, void *arg, const char **token, uint64_t *gen,
    struct oauth2_wait **wp, struct errbuf *eb)
{
	struct oauth2_wait *w;

	if (o->token != NULL && oauth2_now() < o->fresh_until) {
		*token = o->token;
		*gen = o->gen;
		return 1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return errbuf_set(eb, "out of memory");
	if (o->http == NULL && o->cmd == NULL &&
	    oauth2_fetch(o, base, dns, eb) < 0) {
		free(w);
		return -1;
	}
	w->o = o;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&o->waiting, w, link);
	*wp = w;
	return 0;
}

void
oauth2_cancel(struct oauth2_wait *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->o->waiting, w, link);
	free(w);
}

void
oauth2_refused(struct oauth2 *o, uint64_t gen)
{
	if (o->token != NULL && o->gen == gen)
		oauth2_drop_token(o);
}
