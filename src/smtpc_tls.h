/*
 * smtpc_tls: the OpenSSL side of the SMTP client -- one SSL object per
 * connection set up for SNI and certificate checks, and plain-words
 * messages for handshake and verification failures.  Internal to smtpc;
 * the context itself is made by smtpc_tls_ctx_new (smtpc.h).
 */
#ifndef TERN_SMTPC_TLS_H
#define TERN_SMTPC_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "errbuf.h"

/* When host is an IP literal ("192.0.2.1", "::1", "[192.0.2.1]",
 * "[IPv6:2001:db8::1]"), copy the bare address to ip and return true. */
bool smtpc_tls_ip_literal(const char *host, char *ip, size_t iplen);

/* A client SSL for host: SNI for a name (never for an IP literal); when
 * verify, SSL_VERIFY_PEER with the context's trust store and a check of
 * the name (or IP address) against the certificate.  Returns NULL with eb
 * set. */
SSL *smtpc_tls_ssl_new(SSL_CTX *ctx, const char *host, bool verify,
    struct errbuf *eb);

/* Describe a failed handshake in eb: "TLS: certificate verify failed:
 * hostname mismatch" when verification failed, otherwise "TLS handshake
 * failed: <reason>", where the reason comes from ssl_err (an OpenSSL
 * error code), or sys_err (errno), or says the server closed the
 * connection.  With implicit, a failure that looks like a plaintext peer
 * gets "(is this a STARTTLS port? try tls = starttls)". */
void smtpc_tls_error(SSL *ssl, unsigned long ssl_err, int sys_err,
    bool implicit, struct errbuf *eb);

/* The reason text of an OpenSSL error code ("wrong version number"). */
void smtpc_tls_reason(unsigned long ssl_err, char *out, size_t outlen);

/* After a handshake made with verification: did the server show a
 * certificate, and did it pass?  (OpenSSL fails the handshake otherwise;
 * this is the belt to those braces.) */
bool smtpc_tls_verified(SSL *ssl);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" */
void smtpc_tls_describe(SSL *ssl, char *out, size_t outlen);

#endif
