/*
 * oauth2_http: one HTTPS POST to an OAuth2 token endpoint, on the
 * daemon's event loop — the name looked up through dns.c (so
 * dns_servers applies), a non-blocking connect, a TLS handshake with
 * the certificate chain and host name verified (smtpc's TLS policy:
 * TLS 1.2 or newer), the request written and the answer read through a
 * libevent OpenSSL bufferevent, then the status line, headers and body
 * taken apart.  Everything is bounded: the time to connect, the time
 * to answer, and the answer's size.
 *
 * The request is HTTP/1.0 with "Connection: close", so the answer ends
 * at its Content-Length or at the end of the connection; a chunked
 * answer (which a server should not send to 1.0) is decoded anyway.
 * An answer shorter than its Content-Length is an error, which also
 * covers a TLS connection cut without close_notify.
 */
#include "autoconf.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "buf.h"
#include "dns.h"
#include "oauth2_int.h"
#include "smtpc_tls.h"
#include "str.h"

enum oauth2_http_state {
	OAUTH2_HTTP_RESOLVING,
	OAUTH2_HTTP_CONNECTING,
	OAUTH2_HTTP_TLS,
	OAUTH2_HTTP_ANSWER,
};

struct oauth2_http {
	struct event_base *base;
	SSL_CTX *ctx;
	struct oauth2_url u;
	char *request;
	unsigned connect_timeout, timeout;
	oauth2_http_fn cb;      /* NULL once cancelled */
	void *arg;
	enum oauth2_http_state state;
	int fd;
	char where[320];        /* host[ip]:port, for messages */
	struct event *ev_connect, *ev_timer;
	struct bufferevent *bev;
	SSL *ssl;               /* owned by bev once it exists */
};

static void
oauth2_http_free(struct oauth2_http *h)
{
	if (h->ev_connect != NULL)
		event_free(h->ev_connect);
	if (h->ev_timer != NULL)
		event_free(h->ev_timer);
	if (h->bev != NULL)
		bufferevent_free(h->bev); /* and its SSL and socket */
	else if (h->ssl != NULL)
		SSL_free(h->ssl);
	if (h->bev == NULL && h->fd != -1)
		close(h->fd);
	if (h->request != NULL) {
		/* It carries the client secret. */
		OPENSSL_cleanse(h->request, strlen(h->request));
		free(h->request);
	}
	free(h);
}

/* Report and free (while the resolver holds h, only report: the
 * lookup's answer frees it). */
static void
oauth2_http_finish(struct oauth2_http *h, const struct oauth2_http_result *r)
{
	oauth2_http_fn cb = h->cb;

	h->cb = NULL;
	if (cb != NULL)
		cb(r, h->arg);
	if (h->state != OAUTH2_HTTP_RESOLVING)
		oauth2_http_free(h);
}

static void
oauth2_http_fail(struct oauth2_http *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
oauth2_http_fail(struct oauth2_http *h, const char *fmt, ...)
{
	struct oauth2_http_result r;
	char err[ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, sizeof(err), fmt, ap);
	va_end(ap);
	memset(&r, 0, sizeof(r));
	r.st = OAUTH2_FAILED;
	r.err = err;
	oauth2_http_finish(h, &r);
}

static void
oauth2_http_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct oauth2_http *h = arg;

	(void)fd;
	(void)what;
	if (h->state == OAUTH2_HTTP_ANSWER)
		oauth2_http_fail(h, "%s: no complete answer within %u s",
		    h->where, h->timeout);
	else
		oauth2_http_fail(h, "%s: connect and TLS handshake not done "
		    "within %u s", h->where, h->connect_timeout);
}

static int
oauth2_http_timer(struct oauth2_http *h, unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	return event_add(h->ev_timer, &tv);
}

/* ---------------------------------------------------------- the answer */

/* Find header name in head (the lines after the status line); its
 * value, trimmed, into out.  false when absent. */
static bool
oauth2_http_header(const char *head, const char *name, char *out,
    size_t outlen)
{
	size_t n = strlen(name), len;
	const char *p, *v, *e;

	for (p = head; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncasecmp(p, name, n) != 0 || p[n] != ':')
			continue;
		for (v = p + n + 1; *v == ' ' || *v == '\t'; v++)
			;
		e = v + strcspn(v, "\r\n");
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		len = (size_t)(e - v) < outlen - 1 ? (size_t)(e - v) :
		    outlen - 1;
		memcpy(out, v, len);
		out[len] = '\0';
		return true;
	}
	return false;
}

/* Decode a chunked body in place; its new length, or -1 when it is
 * malformed or incomplete. */
static long
oauth2_http_dechunk(char *body, size_t len)
{
	size_t in = 0, out = 0, n;
	char *end;

	for (;;) {
		n = strtoul(body + in, &end, 16);
		if (end == body + in || (end = strstr(end, "\r\n")) == NULL)
			return -1;
		in = (size_t)(end - body) + 2;
		if (n == 0)
			return (long)out;
		if (n > len - in || len - in - n < 2)
			return -1;
		memmove(body + out, body + in, n);
		out += n;
		in += n + 2;
	}
}

/*
 * Take the answer in data[0..len) apart when it is complete (eof: the
 * server closed).  Returns 1 when reported, 0 when more is needed.
 */
static int
oauth2_http_parse(struct oauth2_http *h, char *data, size_t len, bool eof)
{
	struct oauth2_http_result r;
	char *hend, value[64];
	unsigned long clen = 0;
	bool has_len, chunked;
	long n;
	int major, minor, status;

	if ((hend = strstr(data, "\r\n\r\n")) == NULL) {
		if (eof)
			oauth2_http_fail(h, "%s: the answer ends inside its "
			    "headers (%zu bytes)", h->where, len);
		return eof ? 1 : 0;
	}
	*hend = '\0';
	if (sscanf(data, "HTTP/%d.%d %3d", &major, &minor, &status) != 3 ||
	    status < 100 || status > 599) {
		oauth2_http_fail(h, "%s: the answer is not HTTP", h->where);
		return 1;
	}
	has_len = oauth2_http_header(data, "Content-Length", value,
	    sizeof(value));
	if (has_len)
		clen = strtoul(value, NULL, 10);
	chunked = oauth2_http_header(data, "Transfer-Encoding", value,
	    sizeof(value)) && strcasecmp(value, "chunked") == 0;
	*hend = '\r';
	hend += 4;
	n = (long)(len - (size_t)(hend - data));
	if (!eof && (chunked || !has_len || (unsigned long)n < clen))
		return 0;
	if (chunked && (n = oauth2_http_dechunk(hend, (size_t)n)) < 0) {
		oauth2_http_fail(h, "%s: malformed chunked answer", h->where);
		return 1;
	}
	if (!chunked && has_len && (unsigned long)n < clen) {
		oauth2_http_fail(h, "%s: the answer was cut short (%ld of "
		    "%lu bytes)", h->where, n, clen);
		return 1;
	}
	if (!chunked && has_len)
		n = (long)clen;
	hend[n] = '\0';
	memset(&r, 0, sizeof(r));
	r.st = OAUTH2_OK;
	r.status = status;
	r.body = hend;
	r.len = (size_t)n;
	oauth2_http_finish(h, &r);
	return 1;
}

/* Look at what arrived so far; complete answers are reported. */
static void
oauth2_http_check(struct oauth2_http *h, bool eof)
{
	struct evbuffer *in = bufferevent_get_input(h->bev);
	size_t len = evbuffer_get_length(in);
	char *data;

	if (len > OAUTH2_RESPONSE_MAX) {
		oauth2_http_fail(h, "%s: the answer is longer than %d bytes",
		    h->where, OAUTH2_RESPONSE_MAX);
		return;
	}
	if (len == 0 && eof) {
		oauth2_http_fail(h, "%s: the server closed the connection "
		    "without an answer", h->where);
		return;
	}
	if ((data = malloc(len + 1)) == NULL) {
		oauth2_http_fail(h, "out of memory");
		return;
	}
	evbuffer_copyout(in, data, len);
	data[len] = '\0';
	oauth2_http_parse(h, data, len, eof);
	free(data);
}

static void
oauth2_http_on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	oauth2_http_check(arg, false);
}

static void
oauth2_http_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct oauth2_http *h = arg;
	unsigned long e;
	struct errbuf eb;
	int sys_err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		h->state = OAUTH2_HTTP_ANSWER;
		if (!smtpc_tls_verified(h->ssl)) {
			oauth2_http_fail(h, "%s: TLS: the certificate was not "
			    "verified", h->where);
			return;
		}
		if (oauth2_http_timer(h, h->timeout) < 0 ||
		    bufferevent_write(bev, h->request,
		    strlen(h->request)) < 0 ||
		    bufferevent_enable(bev, EV_READ) < 0)
			oauth2_http_fail(h, "%s: cannot send the request",
			    h->where);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		oauth2_http_check(h, true);
		return;
	}
	/* An error: in the handshake, or reading the answer. */
	e = bufferevent_get_openssl_error(bev);
	errbuf_clear(&eb);
	if (h->state == OAUTH2_HTTP_TLS) {
		smtpc_tls_error(h->ssl, e, sys_err, false, &eb);
		oauth2_http_fail(h, "%s: %s", h->where, eb.msg);
	} else if (e != 0) {
		char reason[256];

		smtpc_tls_reason(e, reason, sizeof(reason));
		oauth2_http_fail(h, "%s: TLS: %s", h->where, reason);
	} else
		oauth2_http_fail(h, "%s: %s", h->where, sys_err != 0 ?
		    strerror(sys_err) : "connection lost");
	ERR_clear_error();
}

/* ---------------------------------------------------------- connecting */

static void
oauth2_http_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct oauth2_http *h = arg;
	socklen_t len = sizeof(int);
	int err = 0;

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		oauth2_http_fail(h, "connect %s: %s", h->where, strerror(err));
		return;
	}
	h->state = OAUTH2_HTTP_TLS;
	h->bev = bufferevent_openssl_socket_new(h->base, h->fd, h->ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (h->bev == NULL) {
		oauth2_http_fail(h, "%s: cannot start TLS", h->where);
		return;
	}
	/* Many endpoints close without close_notify; the answer's own
	 * length (Content-Length, chunks) says whether it is whole. */
	bufferevent_openssl_set_allow_dirty_shutdown(h->bev, 1);
	bufferevent_setcb(h->bev, oauth2_http_on_read, NULL,
	    oauth2_http_on_event, h);
}

static void
oauth2_http_connect(struct oauth2_http *h, const struct dns_addr *a)
{
	char ip[64] = "?";
	struct errbuf eb;

	getnameinfo((const struct sockaddr *)&a->sa, a->len, ip, sizeof(ip),
	    NULL, 0, NI_NUMERICHOST);
	snprintf(h->where, sizeof(h->where), "%s[%s]:%u", h->u.host, ip,
	    (unsigned)h->u.port);
	errbuf_clear(&eb);
	if ((h->ssl = smtpc_tls_ssl_new(h->ctx, h->u.host, true, &eb)) ==
	    NULL) {
		oauth2_http_fail(h, "%s: %s", h->where, eb.msg);
		return;
	}
	h->fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (h->fd == -1 || (connect(h->fd, (const struct sockaddr *)&a->sa,
	    a->len) == -1 && errno != EINPROGRESS && errno != EINTR)) {
		oauth2_http_fail(h, "connect %s: %s", h->where,
		    strerror(errno));
		return;
	}
	h->ev_connect = event_new(h->base, h->fd, EV_WRITE,
	    oauth2_http_on_connect, h);
	if (h->ev_connect == NULL || event_add(h->ev_connect, NULL) < 0)
		oauth2_http_fail(h, "connect %s: cannot watch the socket",
		    h->where);
}

static void
oauth2_http_on_resolved(enum dns_status st, const char *err,
    const struct dns_addr *addrs, size_t n, void *arg)
{
	struct oauth2_http_result r;
	struct oauth2_http *h = arg;

	h->state = OAUTH2_HTTP_CONNECTING; /* the resolver let go */
	if (h->cb == NULL) {            /* cancelled or timed out */
		oauth2_http_free(h);
		return;
	}
	if (st == DNS_ECANCELLED) {
		memset(&r, 0, sizeof(r));
		r.st = OAUTH2_CANCELLED;
		r.err = "DNS lookup cancelled";
		oauth2_http_finish(h, &r);
		return;
	}
	if (st != DNS_OK || n == 0) {
		oauth2_http_fail(h, "%s", err != NULL ? err :
		    "DNS lookup failed");
		return;
	}
	oauth2_http_connect(h, &addrs[0]);
}

/* ---------------------------------------------------------- interface */

struct oauth2_http *
oauth2_http_post(struct event_base *base, struct dns *dns, SSL_CTX *ctx,
    const struct oauth2_url *u, const char *form, unsigned connect_timeout,
    unsigned timeout, oauth2_http_fn cb, void *arg, struct errbuf *eb)
{
	struct oauth2_http *h;
	struct buf req;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	h->base = base;
	h->ctx = ctx;
	h->u = *u;
	h->fd = -1;
	h->connect_timeout = connect_timeout ? connect_timeout : 30;
	h->timeout = timeout ? timeout : 60;
	h->cb = cb;
	h->arg = arg;
	snprintf(h->where, sizeof(h->where), "%s:%u", u->host,
	    (unsigned)u->port);
	buf_init(&req, 0);
	if (buf_printf(&req, "POST %s HTTP/1.0\r\nHost: %s\r\n"
	    "User-Agent: tern/%s\r\nAccept: application/json\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", u->path,
	    u->authority, PACKAGE_VERSION, strlen(form), form) < 0 ||
	    buf_putc(&req, '\0') < 0 ||
	    (h->ev_timer = evtimer_new(base, oauth2_http_on_timer, h)) ==
	    NULL || oauth2_http_timer(h, h->connect_timeout) < 0) {
		OPENSSL_cleanse(req.data, req.len);
		buf_fini(&req);
		oauth2_http_free(h);
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	h->request = buf_steal(&req);
	h->state = OAUTH2_HTTP_RESOLVING;
	if (dns_resolve(dns, u->host, u->port, oauth2_http_on_resolved, h,
	    eb) < 0) {
		oauth2_http_free(h);
		return NULL;
	}
	return h;
}

void
oauth2_http_cancel(struct oauth2_http *h)
{
	if (h == NULL)
		return;
	h->cb = NULL;
	/* The resolver still holds h: it is freed when the lookup ends. */
	if (h->state == OAUTH2_HTTP_RESOLVING) {
		event_del(h->ev_timer);
		return;
	}
	oauth2_http_free(h);
}
