/*
 * smtpd_sess: one SMTP session of the listener — moving bytes between
 * the socket (or the TLS layer over it) and the protocol engine, and
 * doing what the engine asks for: a TLS handshake, a password check,
 * a commit to the queue.
 *
 * Phases: PROXY (waiting for the PROXY header, when the listener wants
 * one), TLS (implicit TLS handshake before the greeting), SMTP.  Reading
 * stops whenever the engine waits (AUTH, COMMIT) or the client does not
 * read its replies, so no buffer grows past SMTPD_INPUT_MAX or
 * SMTPD_OUTPUT_MAX.  One timer per session: idle_timeout between
 * commands, command_timeout from the first byte of a command line or
 * of a DATA/BDAT transfer to its end (a client dribbling one byte a
 * minute is cut off all the same).
 *
 * A session is never freed inside its own callbacks: smtpd_sess_close
 * unlinks it and parks it on the dead list, freed by a reaper event.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "log.h"
#include "proxy_proto.h"
#include "smtpd_int.h"
#include "units.h"

enum smtpd_phase {
	SMTPD_PHASE_PROXY,
	SMTPD_PHASE_TLS,
	SMTPD_PHASE_SMTP,
	SMTPD_PHASE_CLOSING, /* sending the last replies */
};

struct smtpd_sess {
	struct smtpd *d;
	struct smtpd_listener *l;
	struct smtpd_settings *st;
	struct smtpd_sess *next, **prevp;
	struct bufferevent *sock;  /* the TCP socket */
	struct bufferevent *bev;   /* sock, or the TLS filter over it */
	SSL *ssl;                  /* the filter's; freed with the session */
	struct smtpd_proto *proto;
	struct event *timer;
	struct event *auth_ev;     /* the delayed answer to a failed AUTH */
	enum smtpd_phase phase;
	struct sockaddr_storage peer; /* the client (after PROXY) */
	bool peer_counted;
	bool busy;                 /* in a command: command_timeout runs */
	bool committing;
	bool write_blocked;        /* reading paused for a client that does
				      not read its replies */
	bool starttls;             /* the handshake is STARTTLS's */
	bool trusted;              /* the client is in networks */
	bool dead;
	enum smtpd_auth_result auth_pending;
	char auth_mech[16];
	char addr[INET6_ADDRSTRLEN];
	char client[INET6_ADDRSTRLEN + 16]; /* "unknown[192.0.2.1]" */
	char hostname_reply[300];
};

static void smtpd_sess_drive(struct smtpd_sess *s);
static void smtpd_sess_close(struct smtpd_sess *s);

struct smtpd_sess *
smtpd_sess_next(struct smtpd_sess *s)
{
	return s->next;
}

void
smtpd_sess_set_aliases(struct smtpd_sess *s, const struct aliases *al)
{
	if (s->proto != NULL)
		smtpd_proto_set_aliases(s->proto, al);
}

/* ---------------------------------------------------------------- logging */

static void
smtpd_sess_on_log(int prio, const char *line, void *arg)
{
	(void)arg;
	log_msg(prio, "%s", line);
}

static void
smtpd_sess_set_peer(struct smtpd_sess *s, const struct sockaddr *sa)
{
	const void *a = sa->sa_family == AF_INET6 ?
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	memcpy(&s->peer, sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	if (inet_ntop(sa->sa_family, a, s->addr, sizeof(s->addr)) == NULL)
		snprintf(s->addr, sizeof(s->addr), "?");
	/* Without a reverse lookup the name is "unknown", as Postfix
	 * writes it: log readers (fail2ban, pflogsumm) key on [addr]. */
	snprintf(s->client, sizeof(s->client), "unknown[%s]", s->addr);
}

/* ---------------------------------------------------------------- output */

/* Send what the engine wrote; false when the client is not reading
 * and reading must pause. */
static bool
smtpd_sess_flush(struct smtpd_sess *s)
{
	struct buf *out = smtpd_proto_output(s->proto);

	if (out->len > 0) {
		bufferevent_write(s->bev, out->data, out->len);
		buf_reset(out);
	}
	return evbuffer_get_length(bufferevent_get_output(s->bev)) <
	    SMTPD_OUTPUT_MAX;
}

/* A reply straight to the socket, before any engine exists. */
static void
smtpd_sess_say(struct smtpd_sess *s, const char *reply)
{
	bufferevent_write(s->bev, reply, strlen(reply));
	bufferevent_write(s->bev, "\r\n", 2);
}

/* ---------------------------------------------------------------- timer */

static void
smtpd_sess_arm(struct smtpd_sess *s, uint64_t secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	evtimer_add(s->timer, &tv);
}

/* After input: idle_timeout anew between commands; command_timeout
 * once, from the first byte of a command, not re-armed by more bytes. */
static void
smtpd_sess_rearm(struct smtpd_sess *s)
{
	if (smtpd_proto_idle(s->proto)) {
		s->busy = false;
		smtpd_sess_arm(s, s->st->cl.idle_timeout);
	} else if (!s->busy) {
		s->busy = true;
		smtpd_sess_arm(s, s->st->cl.command_timeout);
	}
}

static void
smtpd_sess_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_sess *s = arg;
	char reply[400], dur[32];
	const char *key = s->busy ? "command_timeout" : "idle_timeout";

	(void)fd;
	(void)what;
	units_format_duration(s->busy ? s->st->cl.command_timeout :
	    s->st->cl.idle_timeout, dur, sizeof(dur));
	log_msg(LOG_INFO, "timeout (%s %s) from %s", key, dur, s->client);
	if (s->phase != SMTPD_PHASE_SMTP || s->proto == NULL) {
		smtpd_sess_close(s);
		return;
	}
	snprintf(reply, sizeof(reply), "421 4.4.2 %s Error: timeout exceeded "
	    "(%s %s)", s->st->hostname, key, dur);
	smtpd_proto_shutdown(s->proto, reply);
	smtpd_sess_drive(s);
}

/* ---------------------------------------------------------------- TLS */

static void smtpd_sess_on_read(struct bufferevent *bev, void *arg);
static void smtpd_sess_on_write(struct bufferevent *bev, void *arg);
static void smtpd_sess_on_event(struct bufferevent *bev, short what,
    void *arg);

/* Put TLS over the socket; the handshake's end comes as an event. */
static int
smtpd_sess_tls(struct smtpd_sess *s)
{
	struct bufferevent *f;
	SSL *ssl;

	if ((ssl = SSL_new(s->st->tls)) == NULL)
		return -1;
	/* Not closing the socket on free: at the end the filter is taken
	 * off and the socket sends out what the filter gave it. */
	f = bufferevent_openssl_filter_new(s->d->td->base, s->sock, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, 0);
	if (f == NULL) {
		SSL_free(ssl);
		return -1;
	}
	s->ssl = ssl;
	bufferevent_openssl_set_allow_dirty_shutdown(f, 1);
	s->bev = f;
	s->phase = SMTPD_PHASE_TLS;
	bufferevent_setcb(f, smtpd_sess_on_read, smtpd_sess_on_write,
	    smtpd_sess_on_event, s);
	bufferevent_setwatermark(f, EV_READ, 0, SMTPD_INPUT_MAX);
	bufferevent_enable(f, EV_READ | EV_WRITE);
	smtpd_sess_arm(s, s->st->cl.command_timeout);
	return 0;
}

static void
smtpd_sess_tls_done(struct smtpd_sess *s)
{
	SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
	int alg_bits = 0, bits = SSL_get_cipher_bits(ssl, &alg_bits);

	/* Postfix's line: "(secret bits/algorithm bits)". */
	log_msg(LOG_INFO, "Anonymous TLS connection established from %s: "
	    "%s with cipher %s (%d/%d bits)", s->client,
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl), bits, alg_bits);
	s->phase = SMTPD_PHASE_SMTP;
	if (s->starttls)
		smtpd_proto_tls_started(s->proto);
	else
		smtpd_proto_start(s->proto);
	smtpd_sess_drive(s);
}

/* The engine said 220 to STARTTLS: nothing the client sent before the
 * handshake may be acted on (RFC 3207 5, the CVE-2011-0411 injection),
 * so whatever is buffered is thrown away. */
static void
smtpd_sess_starttls(struct smtpd_sess *s)
{
	struct evbuffer *in = bufferevent_get_input(s->sock);

	evbuffer_drain(in, evbuffer_get_length(in));
	s->starttls = true;
	if (smtpd_sess_tls(s) < 0) {
		log_msg(LOG_WARNING, "%s: cannot start TLS", s->client);
		smtpd_sess_close(s);
	}
}

/* ---------------------------------------------------------------- AUTH */

static void
smtpd_sess_on_auth_delay(evutil_socket_t fd, short what, void *arg)
{
	struct smtpd_sess *s = arg;

	(void)fd;
	(void)what;
	smtpd_proto_auth_result(s->proto, s->auth_pending);
	smtpd_sess_drive(s);
}

static enum smtpd_auth_result
smtpd_sess_check(struct smtpd_sess *s, const char *mech, const char *user,
    const char *pass, unsigned *delay)
{
	struct smtpd_throttle *t = s->d->throttle;
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer;
	int64_t now = (int64_t)time(NULL);
	struct errbuf eb;
	int ok;

	*delay = 0;
	if (!smtpd_throttle_allowed(t, sa, now)) {
		log_msg(LOG_WARNING, "%s: too many failed SASL "
		    "authentication attempts; refusing AUTH for up to %d s",
		    s->client, SMTPD_AUTH_WINDOW);
		return SMTPD_AUTH_LOCKED;
	}
	errbuf_clear(&eb);
	ok = smtpd_users_check(s->st->users, user, pass, &eb);
	if (ok < 0) {
		log_msg(LOG_ERR, "%s: SASL %s: %s", s->client, mech, eb.msg);
		return SMTPD_AUTH_TEMPFAIL;
	}
	if (ok == 0) {
		*delay = smtpd_throttle_fail(t, sa, now);
		log_msg(LOG_WARNING, "%s: SASL %s authentication "
		    "failed: authentication failure", s->client, mech);
		return SMTPD_AUTH_FAIL;
	}
	smtpd_throttle_ok(t, sa);
	snprintf(s->auth_mech, sizeof(s->auth_mech), "%s", mech);
	return SMTPD_AUTH_OK;
}

/* Checking a hash takes milliseconds (yescrypt is slow on purpose);
 * it is done here, on the loop, and a failure's answer is delayed by
 * a timer, never by sleeping. */
static void
smtpd_sess_auth(struct smtpd_sess *s)
{
	const char *mech, *user, *pass;
	struct timeval tv = { 0, 0 };
	unsigned delay;

	smtpd_proto_auth_creds(s->proto, &mech, &user, &pass);
	s->auth_pending = smtpd_sess_check(s, mech, user, pass, &delay);
	if (delay == 0) {
		smtpd_proto_auth_result(s->proto, s->auth_pending);
		smtpd_sess_drive(s);
		return;
	}
	tv.tv_sec = (time_t)delay;
	evtimer_add(s->auth_ev, &tv);
}

/* ---------------------------------------------------------------- commit */

static void
smtpd_sess_commit(struct smtpd_sess *s)
{
	struct smtpd_queue_msg m;

	memset(&m, 0, sizeof(m));
	m.sess = s;
	m.env = smtpd_proto_envelope(s->proto);
	m.msg = smtpd_proto_message(s->proto, &m.msg_len);
	m.helo = smtpd_proto_helo(s->proto);
	m.client = s->client;
	m.client_addr = s->addr;
	m.protocol = smtpd_proto_protocol(s->proto);
	m.auth_user = smtpd_proto_auth_user(s->proto);
	m.auth_mech = s->auth_mech;
	m.may_relay = s->trusted || m.auth_user != NULL;
	s->committing = true;
	if (smtpd_queue_add(s->d->queue, &m) < 0) {
		char reply[400];

		s->committing = false;
		snprintf(reply, sizeof(reply), "421 4.3.0 %s Error: out of "
		    "memory", s->st->hostname);
		smtpd_proto_shutdown(s->proto, reply);
		smtpd_sess_drive(s);
	}
}

void
smtpd_sess_committed(struct smtpd_sess *s, const char *id, int code,
    const char *status, const char *text)
{
	s->committing = false;
	if (id != NULL)
		smtpd_proto_commit_ok(s->proto, id);
	else
		smtpd_proto_commit_fail(s->proto, code, status, text);
	smtpd_sess_drive(s);
}

/* ---------------------------------------------------------------- the engine */

/* Offer buffered input to the engine while it runs. */
static void
smtpd_sess_feed(struct smtpd_sess *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v;
	size_t n;

	while (smtpd_proto_state(s->proto) == SMTPD_RUN &&
	    evbuffer_peek(in, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		n = smtpd_proto_input(s->proto, v.iov_base, v.iov_len);
		evbuffer_drain(in, n);
		if (n < v.iov_len)
			break;
	}
}

/* Closing: once the last replies have left.  Under TLS they leave the
 * filter for the socket's buffer first; the filter is then taken off,
 * and the socket alone finishes sending before the session goes. */
static void
smtpd_sess_linger(struct smtpd_sess *s)
{
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return; /* the write callback comes back here */
	if (s->bev != s->sock) {
		bufferevent_free(s->bev);
		s->bev = s->sock;
		bufferevent_setcb(s->sock, smtpd_sess_on_read,
		    smtpd_sess_on_write, smtpd_sess_on_event, s);
		bufferevent_enable(s->sock, EV_WRITE);
		if (evbuffer_get_length(bufferevent_get_output(s->sock)) > 0)
			return;
	}
	smtpd_sess_close(s);
}

/* Feed, send, and do what the engine waits for. */
static void
smtpd_sess_drive(struct smtpd_sess *s)
{
	bool can_read;

	if (s->dead || s->committing)
		return;
	smtpd_sess_feed(s);
	can_read = smtpd_sess_flush(s);
	s->write_blocked = !can_read;
	switch (smtpd_proto_state(s->proto)) {
	case SMTPD_RUN:
		smtpd_sess_rearm(s);
		if (can_read)
			bufferevent_enable(s->bev, EV_READ);
		else
			bufferevent_disable(s->bev, EV_READ);
		break;
	case SMTPD_STARTTLS:
		smtpd_sess_starttls(s);
		break;
	case SMTPD_AUTH:
		bufferevent_disable(s->bev, EV_READ);
		smtpd_sess_auth(s);
		break;
	case SMTPD_COMMIT:
		bufferevent_disable(s->bev, EV_READ);
		smtpd_sess_commit(s);
		break;
	case SMTPD_CLOSE:
		bufferevent_disable(s->bev, EV_READ);
		s->phase = SMTPD_PHASE_CLOSING;
		smtpd_sess_linger(s);
		break;
	}
}

/* ---------------------------------------------------------------- start */

static bool
smtpd_sess_space_ok(uint64_t size, void *arg)
{
	struct smtpd_sess *s = arg;

	return smtpd_queue_space_ok(s->d->queue, s->st->minfree, size);
}

static void
smtpd_sess_begin(struct smtpd_sess *s)
{
	struct smtpd_proto_conf c;
	const struct smtpd_settings *st = s->st;

	memset(&c, 0, sizeof(c));
	c.hostname = st->hostname;
	c.origin = st->origin;
	c.aliases = s->d->td->aliases;
	c.client = s->client;
	c.max_message_size = st->max_message_size;
	c.max_recipients = (size_t)st->cl.max_recipients;
	c.max_errors = (unsigned)st->cl.max_errors;
	c.starttls = st->cl.tls == CONFIG_LTLS_STARTTLS;
	c.tls = st->cl.tls == CONFIG_LTLS_IMPLICIT;
	c.auth = st->cl.auth;
	c.trusted = s->trusted = cidr_list_match(&st->networks,
	    (const struct sockaddr *)&s->peer);
	c.space_ok = smtpd_sess_space_ok;
	c.space_arg = s;
	if ((s->proto = smtpd_proto_new(&c, smtpd_sess_on_log, s)) == NULL) {
		smtpd_sess_close(s);
		return;
	}
	log_msg(LOG_INFO, "connect from %s", s->client);
	s->phase = SMTPD_PHASE_SMTP;
	if (st->cl.tls == CONFIG_LTLS_IMPLICIT) {
		if (smtpd_sess_tls(s) < 0)
			smtpd_sess_close(s);
		return;
	}
	smtpd_proto_start(s->proto);
	smtpd_sess_drive(s);
}

/* Count the session against its address's limit; refuse it when full. */
static bool
smtpd_sess_admit(struct smtpd_sess *s)
{
	unsigned limit = (unsigned)s->st->cl.max_connections_per_ip;
	char reply[400];

	if (smtpd_peer_add(s->l, (const struct sockaddr *)&s->peer, limit)) {
		s->peer_counted = true;
		return true;
	}
	log_msg(LOG_WARNING, "too many connections from %s (limit %u)",
	    s->addr, limit);
	snprintf(reply, sizeof(reply), "421 4.7.0 %s Error: too many "
	    "connections from %s (limit %u); try again later",
	    s->st->hostname, s->addr, limit);
	smtpd_sess_say(s, reply);
	s->phase = SMTPD_PHASE_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	return false;
}

/* PROXY phase: the header decides who the client is. */
static void
smtpd_sess_proxy(struct smtpd_sess *s)
{
	struct evbuffer *in = bufferevent_get_input(s->sock);
	struct proxy_proto_result r;
	size_t len = evbuffer_get_length(in);
	unsigned char *p;
	struct errbuf eb;
	long n;

	if (len > PROXY_PROTO_V2_MAX)
		len = PROXY_PROTO_V2_MAX;
	p = evbuffer_pullup(in, (ssize_t)len);
	errbuf_clear(&eb);
	n = proxy_proto_parse(p, len, &r, &eb);
	if (n == 0 && len < PROXY_PROTO_V2_MAX)
		return;
	if (n <= 0) {
		log_msg(LOG_WARNING, "%s: bad PROXY protocol header: %s; "
		    "closing", s->client, n == 0 ? "too long" : eb.msg);
		smtpd_sess_close(s);
		return;
	}
	evbuffer_drain(in, (size_t)n);
	if (!r.local)
		smtpd_sess_set_peer(s, (const struct sockaddr *)&r.src);
	if (smtpd_sess_admit(s))
		smtpd_sess_begin(s);
}

/* ---------------------------------------------------------------- events */

static void
smtpd_sess_on_read(struct bufferevent *bev, void *arg)
{
	struct smtpd_sess *s = arg;

	(void)bev;
	if (s->phase == SMTPD_PHASE_PROXY)
		smtpd_sess_proxy(s);
	else if (s->phase == SMTPD_PHASE_SMTP)
		smtpd_sess_drive(s);
	else if (s->phase == SMTPD_PHASE_CLOSING) {
		struct evbuffer *in = bufferevent_get_input(s->bev);

		evbuffer_drain(in, evbuffer_get_length(in));
	}
}

static void
smtpd_sess_on_write(struct bufferevent *bev, void *arg)
{
	struct smtpd_sess *s = arg;

	(void)bev;
	if (s->phase == SMTPD_PHASE_CLOSING)
		smtpd_sess_linger(s);
	else if (s->write_blocked && s->phase == SMTPD_PHASE_SMTP)
		smtpd_sess_drive(s); /* replies drained: read again */
}

static void
smtpd_sess_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct smtpd_sess *s = arg;
	unsigned long e;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		smtpd_sess_tls_done(s);
		return;
	}
	if (s->phase == SMTPD_PHASE_TLS) {
		e = bufferevent_get_openssl_error(s->bev);
		log_msg(LOG_INFO, "SSL_accept error from %s: %s", s->client,
		    e ? ERR_reason_error_string(e) : "lost connection");
	} else if (s->phase == SMTPD_PHASE_SMTP && s->proto != NULL &&
	    !smtpd_proto_idle(s->proto))
		log_msg(LOG_INFO, "lost connection in a command from %s",
		    s->client);
	if (s->proto != NULL)
		smtpd_proto_eof(s->proto);
	smtpd_sess_close(s);
}

/* ---------------------------------------------------------------- accept */

static struct smtpd_sess *
smtpd_sess_new(struct smtpd_listener *l, evutil_socket_t fd,
    const struct sockaddr *sa)
{
	struct event_base *base = l->smtpd->td->base;
	struct smtpd_sess *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->d = l->smtpd;
	s->l = l;
	s->st = smtpd_settings_ref(l->settings);
	smtpd_sess_set_peer(s, sa);
	s->sock = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(base, smtpd_sess_on_timer, s);
	s->auth_ev = evtimer_new(base, smtpd_sess_on_auth_delay, s);
	if (s->sock == NULL || s->timer == NULL || s->auth_ev == NULL) {
		if (s->sock != NULL)
			bufferevent_free(s->sock);
		else
			close(fd);
		if (s->timer != NULL)
			event_free(s->timer);
		if (s->auth_ev != NULL)
			event_free(s->auth_ev);
		smtpd_settings_unref(s->st);
		free(s);
		return NULL;
	}
	s->bev = s->sock;
	bufferevent_setcb(s->sock, smtpd_sess_on_read, smtpd_sess_on_write,
	    smtpd_sess_on_event, s);
	bufferevent_setwatermark(s->sock, EV_READ, 0, SMTPD_INPUT_MAX);
	bufferevent_enable(s->sock, EV_READ | EV_WRITE);
	/* Link in only now: the list holds live, complete sessions. */
	if ((s->next = s->d->sessions) != NULL)
		s->next->prevp = &s->next;
	s->prevp = &s->d->sessions;
	s->d->sessions = s;
	l->sessions++;
	return s;
}

/* Refuse a connection over the listener's limit with a 421 that says
 * which limit; best effort, the socket is new and its buffer empty. */
static void
smtpd_sess_refuse(struct smtpd_listener *l, evutil_socket_t fd)
{
	char reply[400];
	int n;

	n = snprintf(reply, sizeof(reply), "421 4.7.0 %s Error: too many "
	    "connections (limit %llu); try again later\r\n",
	    l->settings->hostname,
	    (unsigned long long)l->settings->cl.max_connections);
	/* A failed send means the client is gone: nothing to tell. */
	(void)!send(fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

void
smtpd_sess_accept(struct smtpd_listener *l, evutil_socket_t fd,
    const struct sockaddr *sa, int salen)
{
	struct smtpd_sess *s;
	int one = 1;

	(void)salen;
	if (l->smtpd->stopping || (sa->sa_family != AF_INET &&
	    sa->sa_family != AF_INET6)) {
		close(fd);
		return;
	}
	if (l->sessions >= l->settings->cl.max_connections) {
		log_msg(LOG_WARNING, "[listen %s]: too many connections "
		    "(limit %llu); refusing one", l->name,
		    (unsigned long long)l->settings->cl.max_connections);
		smtpd_sess_refuse(l, fd);
		return;
	}
	/* Replies are small and each waits for the client: no Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((s = smtpd_sess_new(l, fd, sa)) == NULL)
		return;
	if (s->st->cl.proxy_protocol) {
		s->phase = SMTPD_PHASE_PROXY;
		smtpd_sess_arm(s, s->st->cl.command_timeout);
		return;
	}
	if (smtpd_sess_admit(s))
		smtpd_sess_begin(s);
}

/* ---------------------------------------------------------------- close */

void
smtpd_sess_shutdown(struct smtpd_sess *s, const char *reply)
{
	if (reply == NULL || s->proto == NULL ||
	    s->phase != SMTPD_PHASE_SMTP || s->committing) {
		smtpd_sess_close(s);
		return;
	}
	smtpd_proto_shutdown(s->proto, reply);
	smtpd_sess_drive(s);
}

static void
smtpd_sess_on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	smtpd_sess_reap(arg);
}

static void
smtpd_sess_log_end(struct smtpd_sess *s)
{
	struct buf counts;

	if (s->proto == NULL)
		return;
	buf_init(&counts, 1024);
	smtpd_proto_counts(s->proto, &counts);
	log_msg(LOG_INFO, "disconnect from %s %s", s->client,
	    counts.data ? counts.data : "");
	buf_fini(&counts);
}

static void
smtpd_sess_close(struct smtpd_sess *s)
{
	struct smtpd *d = s->d;

	if (s->dead)
		return;
	s->dead = true;
	smtpd_sess_log_end(s);
	if (s->committing)
		smtpd_queue_forget(d->queue, s);
	*s->prevp = s->next;
	if (s->next != NULL)
		s->next->prevp = s->prevp;
	if (s->peer_counted)
		smtpd_peer_remove(s->l, (const struct sockaddr *)&s->peer);
	s->l->sessions--;
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	evtimer_del(s->timer);
	evtimer_del(s->auth_ev);
	s->next = d->dead;
	d->dead = s;
	if (d->reap_ev == NULL)
		d->reap_ev = event_new(d->td->base, -1, 0, smtpd_sess_on_reap,
		    d);
	if (d->reap_ev != NULL)
		event_active(d->reap_ev, EV_TIMEOUT, 0);
}

void
smtpd_sess_reap(struct smtpd *d)
{
	struct smtpd_sess *s;

	while ((s = d->dead) != NULL) {
		d->dead = s->next;
		if (s->bev != s->sock)
			bufferevent_free(s->bev); /* the TLS filter */
		if (s->sock != NULL)
			bufferevent_free(s->sock);
		if (s->ssl != NULL)
			SSL_free(s->ssl);
		if (s->timer != NULL)
			event_free(s->timer);
		if (s->auth_ev != NULL)
			event_free(s->auth_ev);
		smtpd_proto_free(s->proto);
		smtpd_settings_unref(s->st);
		free(s);
	}
	if (d->stopping && d->reap_ev != NULL) {
		event_free(d->reap_ev);
		d->reap_ev = NULL;
	}
}
