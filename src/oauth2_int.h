/*
 * oauth2_int.h: what oauth2.c (the token cache) shares with its two
 * fetchers, oauth2_http.c (one HTTPS POST) and oauth2_cmd.c (one
 * token command).  Not for other modules: their interface is oauth2.h.
 *
 * Each fetcher reports once, from the event loop (never from inside
 * the call that started it), unless cancelled first.
 */
#ifndef TERN_OAUTH2_INT_H
#define TERN_OAUTH2_INT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "errbuf.h"
#include "oauth2.h"

/* An https URL taken apart. */
struct oauth2_url {
	char host[256];   /* a name or a bare IP address */
	uint16_t port;    /* 443 unless given */
	char path[2048];  /* from the first '/', query included */
	char authority[300]; /* for the Host header: "host", "[::1]:8443" */
};

/* "https://host[:port][/path]"; no user info, no fragment.  -1 with eb
 * set otherwise. */
int oauth2_url_parse(const char *url, struct oauth2_url *u,
    struct errbuf *eb);

/* What an HTTPS POST gave: an HTTP status and body, or err. */
struct oauth2_http_result {
	enum oauth2_status st;  /* OK: a complete HTTP answer arrived */
	int status;             /* HTTP status (OK only) */
	const char *body;       /* NUL-terminated (OK only) */
	size_t len;
	const char *err;        /* FAILED: "connect ...: Connection
				   refused", "TLS: certificate verify
				   failed: ...", "no answer within 30 s" */
};

typedef void (*oauth2_http_fn)(const struct oauth2_http_result *res,
    void *arg);

struct oauth2_http;

/*
 * POST form (application/x-www-form-urlencoded) to u over TLS with ctx
 * (certificate and host name verified), the name resolved through dns.
 * connect_timeout bounds lookup, connect and handshake; timeout the
 * wait for the whole answer after that (seconds).  The answer is read
 * up to OAUTH2_RESPONSE_MAX bytes.  NULL with eb when it cannot start.
 */
struct oauth2_http *oauth2_http_post(struct event_base *base,
    struct dns *dns, SSL_CTX *ctx, const struct oauth2_url *u,
    const char *form, unsigned connect_timeout, unsigned timeout,
    oauth2_http_fn cb, void *arg, struct errbuf *eb);

/* Abandon h: cb is not called; its memory goes now or, while a DNS
 * lookup is pending, when the lookup answers. */
void oauth2_http_cancel(struct oauth2_http *h);

/* What a token command gave: its first output line, or err. */
typedef void (*oauth2_cmd_fn)(enum oauth2_status st, const char *line,
    const char *err, void *arg);

struct oauth2_cmd;

/* Run command with /bin/sh -c, stdin from /dev/null, stdout read by the
 * loop (the first line, at most OAUTH2_TOKEN_MAX bytes), killed after
 * timeout seconds.  A non-zero exit is a failure.  NULL with eb. */
struct oauth2_cmd *oauth2_cmd_run(struct event_base *base,
    const char *command, unsigned timeout, oauth2_cmd_fn cb, void *arg,
    struct errbuf *eb);

/* Abandon c (the child is killed and reaped): cb is not called. */
void oauth2_cmd_cancel(struct oauth2_cmd *c);

#endif
