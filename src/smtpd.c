/*
 * smtpd: the listeners (see smtpd.h) — binding, accepting, the limits
 * on sessions, and the settings (TLS context, users, networks) that
 * sessions share and that a reload replaces.
 *
 * A session holds a reference to the settings it began with, so a
 * reload never pulls a certificate or a users file from under a
 * session in flight; the old settings go when their last session does.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>
#include <openssl/err.h>

#include "log.h"
#include "smtpd_int.h"
#include "str.h"

/* How long to stop accepting when the process is out of descriptors. */
#define SMTPD_EMFILE_PAUSE 1

/* ---------------------------------------------------------------- TLS */

static int
smtpd_tls_error(struct errbuf *eb, const char *what, const char *path)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256] = "";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	return errbuf_set(eb, "%s %s: %s", what, path,
	    reason[0] ? reason : strerror(errno));
}

/* A server context: TLS 1.2 or later, the listener's certificate chain
 * and key, checked to belong together. */
static SSL_CTX *
smtpd_tls_ctx(const struct config_listen *cl, struct errbuf *eb)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		smtpd_tls_error(eb, "cannot create a TLS context", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	/* Idle TLS sessions keep no read/write buffers: thousands of them
	 * stay cheap. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cl->tls_cert_file) != 1) {
		smtpd_tls_error(eb, "cannot load tls_cert_file",
		    cl->tls_cert_file);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, cl->tls_key_file,
	    SSL_FILETYPE_PEM) != 1) {
		smtpd_tls_error(eb, "cannot load tls_key_file",
		    cl->tls_key_file);
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		errbuf_set(eb, "tls_key_file %s does not match the certificate "
		    "in %s", cl->tls_key_file, cl->tls_cert_file);
		ERR_clear_error();
	} else
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---------------------------------------------------------------- settings */

struct smtpd_settings *
smtpd_settings_ref(struct smtpd_settings *st)
{
	st->refs++;
	return st;
}

void
smtpd_settings_unref(struct smtpd_settings *st)
{
	if (st == NULL || --st->refs > 0)
		return;
	if (st->tls != NULL)
		SSL_CTX_free(st->tls);
	smtpd_users_free(st->users);
	cidr_list_free(&st->networks);
	free(st->name);
	free(st->hostname);
	free(st->origin);
	free(st);
}

static struct smtpd_settings *
smtpd_settings_new(const struct config *cfg, const struct config_listen *cl,
    struct errbuf *eb)
{
	struct smtpd_settings *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	st->refs = 1;
	st->cl = *cl;
	st->cl.name = st->cl.address = st->cl.tls_cert_file = NULL;
	st->cl.tls_key_file = st->cl.users_file = st->cl.networks = NULL;
	st->max_message_size = cfg->max_message_size;
	/* As Postfix does: room for one and a half of the largest message
	 * at least, so a message taken can be written and a bounce or two
	 * besides. */
	st->minfree = cfg->max_message_size + cfg->max_message_size / 2;
	if (cfg->queue_minfree > st->minfree)
		st->minfree = cfg->queue_minfree;
	st->name = strdup(cl->name);
	st->hostname = strdup(cfg->hostname);
	st->origin = strdup(cfg->origin);
	if (st->name == NULL || st->hostname == NULL || st->origin == NULL)
		errbuf_set(eb, "out of memory");
	else if (cidr_list_parse(cl->networks ? cl->networks : "",
	    &st->networks, eb) < 0)
		errbuf_prefix(eb, "networks");
	else if (cl->tls != CONFIG_LTLS_NONE &&
	    (st->tls = smtpd_tls_ctx(cl, eb)) == NULL)
		;
	else if (cl->auth != CONFIG_LAUTH_NONE &&
	    (st->users = smtpd_users_load(cl->users_file, eb)) == NULL)
		;
	else
		return st;
	errbuf_prefix(eb, "[listen %s]", cl->name);
	smtpd_settings_unref(st);
	return NULL;
}

/* ---------------------------------------------------------------- peers */

/* The address of sa as 16 bytes (IPv4-mapped for IPv4) and family. */
static void
smtpd_peer_key(const struct sockaddr *sa, uint8_t key[16])
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	memset(key, 0, 16);
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &sin6->sin6_addr, 16);
	} else if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin->sin_addr, 4);
	}
}

static struct smtpd_peer **
smtpd_peer_find(struct smtpd_listener *l, const uint8_t key[16])
{
	struct smtpd_peer **pp;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	for (pp = &l->peers[h % SMTPD_PEER_BUCKETS]; *pp != NULL;
	    pp = &(*pp)->next)
		if (memcmp((*pp)->addr, key, 16) == 0)
			break;
	return pp;
}

bool
smtpd_peer_add(struct smtpd_listener *l, const struct sockaddr *sa,
    unsigned limit)
{
	struct smtpd_peer **pp, *p;
	uint8_t key[16];

	smtpd_peer_key(sa, key);
	pp = smtpd_peer_find(l, key);
	if ((p = *pp) == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return false;
		memcpy(p->addr, key, 16);
		*pp = p;
	}
	if (p->sessions >= limit)
		return false;
	p->sessions++;
	return true;
}

void
smtpd_peer_remove(struct smtpd_listener *l, const struct sockaddr *sa)
{
	struct smtpd_peer **pp, *p;
	uint8_t key[16];

	smtpd_peer_key(sa, key);
	pp = smtpd_peer_find(l, key);
	if ((p = *pp) == NULL)
		return;
	if (p->sessions > 0 && --p->sessions == 0) {
		*pp = p->next;
		free(p);
	}
}

/* ---------------------------------------------------------------- bind */

/* "IP:port" or "[IPv6]:port" (checked by the config) to a sockaddr. */
static int
smtpd_parse_address(const char *text, struct sockaddr_storage *ss,
    socklen_t *len)
{
	int slen = sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	if (evutil_parse_sockaddr_port(text, (struct sockaddr *)ss,
	    &slen) < 0)
		return -1;
	*len = (socklen_t)slen;
	return 0;
}

static int
smtpd_listen_socket(struct smtpd_listener *l, struct errbuf *eb)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	if (smtpd_parse_address(l->address, &ss, &len) < 0)
		return errbuf_set(eb, "bad address %s", l->address);
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return errbuf_errno(eb, errno, "socket");
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]:25" means IPv6 only; list "0.0.0.0:25" too for IPv4. */
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, len) < 0)
		return errbuf_errno(eb, errno, "bind %s%s", l->address,
		    errno == EACCES ? " (ports below 1024 need ternd to start "
		    "as root)" : errno == EADDRINUSE ? " (another program "
		    "listens there; is Postfix or sendmail running?)" : "");
	if (listen(l->fd, 1024) < 0)
		return errbuf_errno(eb, errno, "listen %s", l->address);
	return 0;
}

static void smtpd_free_listeners(struct smtpd *d);

struct smtpd *
smtpd_bind(struct ternd *td, smtpd_queued_fn queued, void *arg,
    struct errbuf *eb)
{
	const struct config *cfg = td->cfg;
	struct smtpd_listener *l;
	struct smtpd *d;
	size_t i;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (cfg->nlistens > 0 && (d->listeners = calloc(cfg->nlistens,
	    sizeof(*d->listeners))) == NULL)) {
		free(d);
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	d->td = td;
	d->queued = queued;
	d->arg = arg;
	for (i = 0; i < cfg->nlistens; i++) {
		l = &d->listeners[d->nlisteners++];
		l->smtpd = d;
		l->fd = -1;
		l->name = str_xdup(cfg->listens[i].name);
		l->address = str_xdup(cfg->listens[i].address);
		if (smtpd_listen_socket(l, eb) < 0)
			errbuf_prefix(eb, "[listen %s]", l->name);
		else
			l->settings = smtpd_settings_new(cfg, &cfg->listens[i],
			    eb);
		if (l->settings == NULL) {
			smtpd_free(d);
			return NULL;
		}
	}
	return d;
}

/* ---------------------------------------------------------------- accept */

static void
smtpd_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_listener *l = arg;

	(void)fd;
	(void)what;
	if (!l->smtpd->stopping)
		evconnlistener_enable(l->evl);
}

static void
smtpd_on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct smtpd_listener *l = arg;
	struct timeval tv = { SMTPD_EMFILE_PAUSE, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	/* Out of descriptors or memory: accepting again at once would
	 * spin; wait a moment, the sessions that end free some. */
	log_msg(LOG_WARNING, "[listen %s]: accept: %s; pausing %d s",
	    l->name, strerror(err), SMTPD_EMFILE_PAUSE);
	evconnlistener_disable(evl);
	evtimer_add(l->resume_ev, &tv);
}

static void
smtpd_on_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	(void)evl;
	smtpd_sess_accept(arg, fd, sa, salen);
}

int
smtpd_start(struct smtpd *d, struct errbuf *eb)
{
	struct event_base *base = d->td->base;
	struct smtpd_listener *l;
	size_t i;

	if ((d->throttle = smtpd_throttle_new()) == NULL ||
	    (d->queue = smtpd_queue_new(d, eb)) == NULL)
		return errbuf_set(eb, "cannot start the SMTP listener");
	for (i = 0; i < d->nlisteners; i++) {
		l = &d->listeners[i];
		l->resume_ev = evtimer_new(base, smtpd_on_resume, l);
		l->evl = evconnlistener_new(base, smtpd_on_accept, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, l->fd);
		if (l->resume_ev == NULL || l->evl == NULL)
			return errbuf_set(eb, "[listen %s]: cannot listen on "
			    "%s", l->name, l->address);
		l->fd = -1; /* the evconnlistener owns it now */
		evconnlistener_set_error_cb(l->evl, smtpd_on_accept_error);
		log_msg(LOG_INFO, "[listen %s]: listening on %s%s%s", l->name,
		    l->address, l->settings->tls ? (l->settings->cl.tls ==
		    CONFIG_LTLS_IMPLICIT ? " (implicit TLS)" : " (STARTTLS)") :
		    "", l->settings->cl.proxy_protocol ? " (PROXY protocol)" :
		    "");
	}
	return 0;
}

/* ---------------------------------------------------------------- reload */

static const struct config_listen *
smtpd_find_listen(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nlistens; i++)
		if (strcmp(cfg->listens[i].name, name) == 0)
			return &cfg->listens[i];
	return NULL;
}

int
smtpd_reload(struct smtpd *d, struct errbuf *eb)
{
	const struct config *cfg = d->td->cfg;
	struct smtpd_settings **fresh;
	const struct config_listen *cl;
	bool failed = false;
	size_t i;

	if ((fresh = calloc(d->nlisteners + 1, sizeof(*fresh))) == NULL)
		return errbuf_set(eb, "out of memory");
	/* All or nothing: one bad certificate keeps every old setting. */
	for (i = 0; i < d->nlisteners; i++) {
		cl = smtpd_find_listen(cfg, d->listeners[i].name);
		if (cl == NULL)
			continue;
		if ((fresh[i] = smtpd_settings_new(cfg, cl, eb)) == NULL) {
			failed = true;
			break;
		}
	}
	for (i = 0; i < d->nlisteners; i++) {
		if (failed || fresh[i] == NULL) {
			smtpd_settings_unref(fresh[i]);
			continue;
		}
		smtpd_settings_unref(d->listeners[i].settings);
		d->listeners[i].settings = fresh[i];
	}
	free(fresh);
	if (failed)
		return -1;
	for (i = 0; i < cfg->nlistens; i++) {
		const struct smtpd_listener *l = NULL;
		size_t j;

		for (j = 0; j < d->nlisteners; j++)
			if (strcmp(d->listeners[j].name,
			    cfg->listens[i].name) == 0)
				l = &d->listeners[j];
		if (l == NULL || strcmp(l->address, cfg->listens[i].address))
			log_msg(LOG_WARNING, "[listen %s]: a new or moved "
			    "listener takes effect when ternd restarts",
			    cfg->listens[i].name);
	}
	return 0;
}

void
smtpd_aliases_changed(struct smtpd *d)
{
	struct smtpd_sess *s;

	if (d == NULL)
		return;
	for (s = d->sessions; s != NULL; s = smtpd_sess_next(s))
		smtpd_sess_set_aliases(s, d->td->aliases);
}

/* ---------------------------------------------------------------- stop */

void
smtpd_shutdown(struct smtpd *d)
{
	struct smtpd_sess *s, *next;
	size_t i;

	if (d == NULL)
		return;
	d->stopping = true;
	for (i = 0; i < d->nlisteners; i++)
		if (d->listeners[i].evl != NULL)
			evconnlistener_disable(d->listeners[i].evl);
	for (s = d->sessions; s != NULL; s = next) {
		next = smtpd_sess_next(s);
		smtpd_sess_shutdown(s, "421 4.3.2 Service shutting down");
	}
}

static void
smtpd_free_listeners(struct smtpd *d)
{
	struct smtpd_peer *p, *next;
	struct smtpd_listener *l;
	size_t i, b;

	for (i = 0; i < d->nlisteners; i++) {
		l = &d->listeners[i];
		if (l->evl != NULL)
			evconnlistener_free(l->evl);
		if (l->fd >= 0)
			close(l->fd);
		if (l->resume_ev != NULL)
			event_free(l->resume_ev);
		smtpd_settings_unref(l->settings);
		for (b = 0; b < SMTPD_PEER_BUCKETS; b++)
			for (p = l->peers[b]; p != NULL; p = next) {
				next = p->next;
				free(p);
			}
		free(l->name);
		free(l->address);
	}
	free(d->listeners);
}

void
smtpd_free(struct smtpd *d)
{
	if (d == NULL)
		return;
	d->stopping = true;
	while (d->sessions != NULL)
		smtpd_sess_shutdown(d->sessions, NULL);
	smtpd_sess_reap(d);
	smtpd_queue_free(d->queue);
	smtpd_throttle_free(d->throttle);
	smtpd_free_listeners(d);
	free(d);
}
