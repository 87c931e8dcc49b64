/*
 * smtpc_auth: SMTP AUTH (RFC 4954) for the client -- choosing a
 * mechanism and the SASL exchange of PLAIN (RFC 4616), LOGIN, CRAM-MD5
 * (RFC 2195) and XOAUTH2, as a small state machine that turns server
 * replies into the next line to send.  It never touches a socket, so the
 * unit tests drive it directly.
 */
#ifndef TERN_SMTPC_AUTH_H
#define TERN_SMTPC_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errbuf.h"
#include "smtpc.h"

/* The mechanisms we implement, as offered in EHLO. */
#define SMTPC_AUTH_MECH_PLAIN 0x01
#define SMTPC_AUTH_MECH_LOGIN 0x02
#define SMTPC_AUTH_MECH_CRAM_MD5 0x04
#define SMTPC_AUTH_MECH_XOAUTH2 0x08

/* Longest user name, password or token we send (XOAUTH2 tokens run to a
 * few kilobytes). */
#define SMTPC_AUTH_CRED_MAX 8192

/* The SMTPC_AUTH_MECH_* bit of a mechanism name (case-insensitive),
 * 0 for one we do not implement. */
unsigned smtpc_auth_mech_bit(const char *name, size_t len);

/* "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2" ("none" otherwise). */
const char *smtpc_auth_mech_name(enum smtpc_auth_mode mech);

/* Pick the mechanism for want among the offered bits.  AUTO takes the
 * strongest we have credentials for: XOAUTH2 (with a token), CRAM-MD5,
 * PLAIN, LOGIN (with a password).  An explicit mode must be offered and
 * have its credential.  Returns 0 with *mech set, or -1 when none fits. */
int smtpc_auth_choose(enum smtpc_auth_mode want, unsigned offered,
    bool have_password, bool have_token, enum smtpc_auth_mode *mech);

enum smtpc_auth_result {
	SMTPC_AUTH_DONE, /* 2xx: authenticated */
	SMTPC_AUTH_SEND, /* out holds the next line (with CRLF) */
	SMTPC_AUTH_FAIL, /* refused; eb says why when the reply alone
			    does not (else eb is empty) */
};

struct smtpc_auth {
	enum smtpc_auth_mode mech;
	int step; /* challenges answered */
	const char *user;
	const char *pass;
	const char *token;
	char detail[200]; /* XOAUTH2: the server's error, decoded */
};

void smtpc_auth_init(struct smtpc_auth *a, enum smtpc_auth_mode mech,
    const char *user, const char *pass, const char *token);

/* The first line ("AUTH PLAIN <initial response>\r\n") into out, which
 * should be empty.  Returns 0, or -1 with eb set (credential too long, no
 * memory).  out holds secrets: release it with smtpc_auth_wipe. */
int smtpc_auth_start(struct smtpc_auth *a, struct buf *out,
    struct errbuf *eb);

/* Feed the server's reply (code and text); see enum smtpc_auth_result. */
enum smtpc_auth_result smtpc_auth_step(struct smtpc_auth *a, int code,
    const char *text, struct buf *out, struct errbuf *eb);

/* Overwrite and free a buffer that held credentials. */
void smtpc_auth_wipe(struct buf *b);

/* The blobs, exposed for the unit tests; each appends base64 text to out
 * and returns 0, or -1 (no memory, too long, bad challenge). */
int smtpc_auth_plain_blob(const char *user, const char *pass,
    struct buf *out);
int smtpc_auth_cram_md5(const char *user, const char *pass,
    const char *challenge_b64, struct buf *out);
int smtpc_auth_xoauth2_blob(const char *user, const char *token,
    struct buf *out);

/* Base64 (RFC 4648, padded, one line) of in[0..len) appended to out. */
int smtpc_auth_b64_encode(const void *in, size_t len, struct buf *out);

/* Decode base64 text (surrounding white space ignored) into out; -1 when
 * it is not valid base64. */
int smtpc_auth_b64_decode(const char *in, size_t len, struct buf *out);

#endif
