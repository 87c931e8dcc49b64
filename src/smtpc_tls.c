/*
 * smtpc_tls: TLS contexts and per-connection SSL objects for the SMTP
 * client, and the words for what went wrong (see smtpc_tls.h).
 *
 * The context is made once and shared read-only by every session: TLS
 * 1.2 or newer, the system trust store plus an optional CA file.  Each
 * connection gets its own SSL with SNI and, when verifying, the expected
 * name or address in its verify parameters, so OpenSSL itself checks the
 * chain and the name during the handshake and a mismatch fails it.
 * Errors are turned into short plain words (the X509 verify result, or
 * the OpenSSL reason string), never a raw error queue dump.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "smtpc.h"
#include "smtpc_tls.h"
#include "str.h"

/* The error queue's reason for the failure that just happened, as
 * text, after which the queue is empty (it is per thread, and the next
 * session must not see our leftovers). */
static void
smtpc_tls_queue_error(struct errbuf *eb, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char text[256];

	if (e != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		errbuf_set(eb, "%s: %s", what, text);
	} else
		errbuf_set(eb, "%s", what);
	ERR_clear_error();
}

SSL_CTX *
smtpc_tls_ctx_new(const char *ca_file, struct errbuf *eb)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		smtpc_tls_queue_error(eb, "TLS: cannot create a context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		smtpc_tls_queue_error(eb, "TLS: cannot require TLS 1.2");
		SSL_CTX_free(ctx);
		return NULL;
	}
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	/* OpenSSL 3 calls a close without close_notify an error; SMTP
	 * frames its own data (replies, the final dot), so an EOF is just
	 * an EOF and must read as one. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		smtpc_tls_queue_error(eb, "TLS: cannot load the system "
		    "trust store");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (ca_file != NULL &&
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		char what[512];

		snprintf(what, sizeof(what), "TLS: cannot load CA file %s",
		    ca_file);
		smtpc_tls_queue_error(eb, what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

bool
smtpc_tls_ip_literal(const char *host, char *ip, size_t iplen)
{
	unsigned char addr[sizeof(struct in6_addr)];
	char tmp[64];
	size_t n;

	if (host == NULL)
		return false;
	/* "[192.0.2.1]" and "[IPv6:2001:db8::1]" as in RFC 5321 4.1.3. */
	if (host[0] == '[') {
		n = strlen(host);
		if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof(tmp))
			return false;
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		if (str_ieq_n(tmp, "IPv6:", 5))
			memmove(tmp, tmp + 5, strlen(tmp + 5) + 1);
	} else if (str_lcpy(tmp, host, sizeof(tmp)) >= sizeof(tmp))
		return false;
	if (inet_pton(AF_INET, tmp, addr) != 1 &&
	    inet_pton(AF_INET6, tmp, addr) != 1)
		return false;
	return str_lcpy(ip, tmp, iplen) < iplen;
}

/* Tell OpenSSL what name (or address) the certificate must carry. */
static int
smtpc_tls_set_peer(SSL *ssl, const char *host, bool verify)
{
	X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
	char ip[64];
	bool is_ip = smtpc_tls_ip_literal(host, ip, sizeof(ip));

	/* SNI carries names only (RFC 6066 3). */
	if (host != NULL && !is_ip && SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	if (!verify) {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	if (host == NULL)
		return -1;
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (is_ip)
		return X509_VERIFY_PARAM_set1_ip_asc(param, ip) == 1 ? 0 : -1;
	return X509_VERIFY_PARAM_set1_host(param, host, 0) == 1 ? 0 : -1;
}

SSL *
smtpc_tls_ssl_new(SSL_CTX *ctx, const char *host, bool verify,
    struct errbuf *eb)
{
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(ctx)) == NULL) {
		smtpc_tls_queue_error(eb, "TLS: cannot create a connection");
		return NULL;
	}
	if (smtpc_tls_set_peer(ssl, host, verify) == -1) {
		smtpc_tls_queue_error(eb, "TLS: cannot set the expected "
		    "server name");
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

void
smtpc_tls_reason(unsigned long ssl_err, char *out, size_t outlen)
{
	const char *reason = ERR_reason_error_string(ssl_err);

	if (reason != NULL)
		str_lcpy(out, reason, outlen);
	else
		ERR_error_string_n(ssl_err, out, outlen);
}

/* Does this failure look like TLS spoken to a plaintext SMTP server?
 * Its "220 ..." greeting read as a TLS record gives these. */
static bool
smtpc_tls_plaintext_peer(const char *reason)
{
	return strstr(reason, "wrong version number") != NULL ||
	    strstr(reason, "packet length too long") != NULL ||
	    strstr(reason, "unknown protocol") != NULL ||
	    strstr(reason, "record layer failure") != NULL ||
	    strstr(reason, "closed the connection") != NULL;
}

void
smtpc_tls_error(SSL *ssl, unsigned long ssl_err, int sys_err, bool implicit,
    struct errbuf *eb)
{
	long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	char reason[256];

	if (vr != X509_V_OK) {
		errbuf_set(eb, "TLS: certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
		return;
	}
	if (ssl_err != 0)
		smtpc_tls_reason(ssl_err, reason, sizeof(reason));
	else if (sys_err != 0)
		str_lcpy(reason, strerror(sys_err), sizeof(reason));
	else
		str_lcpy(reason, "the server closed the connection",
		    sizeof(reason));
	errbuf_set(eb, "TLS handshake failed: %s%s", reason,
	    implicit && smtpc_tls_plaintext_peer(reason) ?
	    " (is this a STARTTLS port? try tls = starttls)" : "");
}

bool
smtpc_tls_verified(SSL *ssl)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	X509 *cert = SSL_get0_peer_certificate(ssl);
#else
	X509 *cert = SSL_get_peer_certificate(ssl);

	X509_free(cert); /* only whether there was one matters */
#endif
	return cert != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

void
smtpc_tls_describe(SSL *ssl, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s %s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}
