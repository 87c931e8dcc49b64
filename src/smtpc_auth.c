/*
 * smtpc_auth: SASL mechanisms for the SMTP client (see smtpc_auth.h).
 *
 * This module builds the lines of an AUTH exchange and reads the
 * server's challenges; smtpc.c sends them and decides whether AUTH may
 * happen at all (never without TLS).  Secrets pass through here, so every
 * buffer that held one is sized once up front (no realloc leaves a copy
 * behind) and wiped with OPENSSL_cleanse before it is freed.  Nothing is
 * logged.
 */
#include "autoconf.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "smtpc_auth.h"
#include "str.h"

static const struct {
	const char *name;
	unsigned bit;
	enum smtpc_auth_mode mode;
} smtpc_auth_mechs[] = {
	{ "PLAIN", SMTPC_AUTH_MECH_PLAIN, SMTPC_AUTH_PLAIN },
	{ "LOGIN", SMTPC_AUTH_MECH_LOGIN, SMTPC_AUTH_LOGIN },
	{ "CRAM-MD5", SMTPC_AUTH_MECH_CRAM_MD5, SMTPC_AUTH_CRAM_MD5 },
	{ "XOAUTH2", SMTPC_AUTH_MECH_XOAUTH2, SMTPC_AUTH_XOAUTH2 },
};
#define SMTPC_AUTH_NMECHS \
	(sizeof(smtpc_auth_mechs) / sizeof(smtpc_auth_mechs[0]))

unsigned
smtpc_auth_mech_bit(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < SMTPC_AUTH_NMECHS; i++)
		if (strlen(smtpc_auth_mechs[i].name) == len &&
		    str_ieq_n(name, smtpc_auth_mechs[i].name, len))
			return smtpc_auth_mechs[i].bit;
	return 0;
}

const char *
smtpc_auth_mech_name(enum smtpc_auth_mode mech)
{
	size_t i;

	for (i = 0; i < SMTPC_AUTH_NMECHS; i++)
		if (smtpc_auth_mechs[i].mode == mech)
			return smtpc_auth_mechs[i].name;
	return "none";
}

static unsigned
smtpc_auth_bit_of(enum smtpc_auth_mode mode)
{
	size_t i;

	for (i = 0; i < SMTPC_AUTH_NMECHS; i++)
		if (smtpc_auth_mechs[i].mode == mode)
			return smtpc_auth_mechs[i].bit;
	return 0;
}

/* Can mode be used: offered, and we hold its credential? */
static bool
smtpc_auth_fits(enum smtpc_auth_mode mode, unsigned offered,
    bool have_password, bool have_token)
{
	if ((offered & smtpc_auth_bit_of(mode)) == 0)
		return false;
	return mode == SMTPC_AUTH_XOAUTH2 ? have_token : have_password;
}

int
smtpc_auth_choose(enum smtpc_auth_mode want, unsigned offered,
    bool have_password, bool have_token, enum smtpc_auth_mode *mech)
{
	/* Strongest first; LOGIN last as it is the least standard. */
	static const enum smtpc_auth_mode order[] = { SMTPC_AUTH_XOAUTH2,
		SMTPC_AUTH_CRAM_MD5, SMTPC_AUTH_PLAIN, SMTPC_AUTH_LOGIN };
	size_t i;

	if (want != SMTPC_AUTH_AUTO) {
		if (!smtpc_auth_fits(want, offered, have_password, have_token))
			return -1;
		*mech = want;
		return 0;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (smtpc_auth_fits(order[i], offered, have_password,
		    have_token)) {
			*mech = order[i];
			return 0;
		}
	}
	return -1;
}

/* ---------------------------------------------------------- base64 */

int
smtpc_auth_b64_encode(const void *in, size_t len, struct buf *out)
{
	size_t need;
	int n;

	if (len > 3 * SMTPC_AUTH_CRED_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	need = 4 * ((len + 2) / 3);
	if (buf_reserve(out, need + 1) == -1)
		return -1;
	n = EVP_EncodeBlock((unsigned char *)out->data + out->len,
	    (const unsigned char *)in, (int)len);
	out->len += (size_t)n;
	out->data[out->len] = '\0';
	return 0;
}

int
smtpc_auth_b64_decode(const char *in, size_t len, struct buf *out)
{
	size_t n;

	while (len > 0 && (*in == ' ' || *in == '\t'))
		in++, len--;
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len > 4 * SMTPC_AUTH_CRED_MAX ||
	    buf_reserve(out, len / 4 * 3 + 1) == -1 ||
	    str_b64_decode(in, len, out->data + out->len,
	    out->cap - out->len, &n) < 0)
		return -1;
	out->len += n;
	return 0;
}

void
smtpc_auth_wipe(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_fini(b);
}

/* ---------------------------------------------------------- blobs */

/* Base64 of the cleartext raw[0..len) appended to out, with out sized
 * beforehand so the secret is never copied by a realloc. */
static int
smtpc_auth_b64_secret(const char *raw, size_t len, struct buf *out)
{
	if (buf_reserve(out, 4 * ((len + 2) / 3) + 3) == -1)
		return -1;
	return smtpc_auth_b64_encode(raw, len, out);
}

/* raw = a "\0" b "\0" c ... built in a wiped scratch buffer. */
static int
smtpc_auth_b64_parts(const char *const *parts, const size_t *lens,
    size_t nparts, struct buf *out)
{
	struct buf raw;
	size_t total = 0, i;
	int rc;

	for (i = 0; i < nparts; i++) {
		if (lens[i] > SMTPC_AUTH_CRED_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		total += lens[i];
	}
	buf_init(&raw, 0);
	if (buf_reserve(&raw, total + 1) == -1)
		return -1;
	for (i = 0; i < nparts; i++)
		buf_append(&raw, parts[i], lens[i]);
	rc = smtpc_auth_b64_secret(raw.data, raw.len, out);
	smtpc_auth_wipe(&raw);
	return rc;
}

int
smtpc_auth_plain_blob(const char *user, const char *pass, struct buf *out)
{
	/* RFC 4616: authzid NUL authcid NUL passwd, authzid empty. */
	const char *parts[] = { "", user, "", pass };
	size_t lens[] = { 1, strlen(user), 1, strlen(pass) };

	return smtpc_auth_b64_parts(parts, lens, 4, out);
}

int
smtpc_auth_xoauth2_blob(const char *user, const char *token,
    struct buf *out)
{
	const char *parts[] = { "user=", user, "\001auth=Bearer ", token,
		"\001\001" };
	size_t lens[] = { 5, strlen(user), 13, strlen(token), 2 };

	return smtpc_auth_b64_parts(parts, lens, 5, out);
}

int
smtpc_auth_cram_md5(const char *user, const char *pass,
    const char *challenge_b64, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	char digest[2 * EVP_MAX_MD_SIZE];
	const char *parts[3];
	size_t lens[3], plen = strlen(pass);
	struct buf chal;
	int rc = -1;

	buf_init(&chal, 0);
	if (plen > SMTPC_AUTH_CRED_MAX || smtpc_auth_b64_decode(challenge_b64,
	    strlen(challenge_b64), &chal) == -1)
		goto out;
	/* RFC 2195: user SP lowercase hex of HMAC-MD5(password, chal). */
	if (HMAC(EVP_md5(), pass, (int)plen, (unsigned char *)chal.data,
	    chal.len, md, &mdlen) == NULL)
		goto out;
	for (i = 0; i < mdlen; i++) {
		digest[2 * i] = hex[md[i] >> 4];
		digest[2 * i + 1] = hex[md[i] & 0x0f];
	}
	parts[0] = user, lens[0] = strlen(user);
	parts[1] = " ", lens[1] = 1;
	parts[2] = digest, lens[2] = 2 * (size_t)mdlen;
	rc = smtpc_auth_b64_parts(parts, lens, 3, out);
out:
	OPENSSL_cleanse(md, sizeof(md));
	OPENSSL_cleanse(digest, sizeof(digest));
	buf_fini(&chal);
	return rc;
}

/* ---------------------------------------------------------- exchange */

void
smtpc_auth_init(struct smtpc_auth *a, enum smtpc_auth_mode mech,
    const char *user, const char *pass, const char *token)
{
	a->mech = mech;
	a->step = 0;
	a->user = user != NULL ? user : "";
	a->pass = pass != NULL ? pass : "";
	a->token = token != NULL ? token : "";
	a->detail[0] = '\0';
}

/* Room for the longest line we make, reserved before any secret is
 * written (see the head comment). */
#define SMTPC_AUTH_LINE_MAX (4 * (2 * SMTPC_AUTH_CRED_MAX + 64) / 3 + 64)

int
smtpc_auth_start(struct smtpc_auth *a, struct buf *out, struct errbuf *eb)
{
	int rc = -1;

	if (buf_reserve(out, SMTPC_AUTH_LINE_MAX) == -1)
		return errbuf_errno(eb, errno, "AUTH");
	switch (a->mech) {
	case SMTPC_AUTH_PLAIN:
		if (buf_puts(out, "AUTH PLAIN ") == 0)
			rc = smtpc_auth_plain_blob(a->user, a->pass, out);
		break;
	case SMTPC_AUTH_XOAUTH2:
		if (buf_puts(out, "AUTH XOAUTH2 ") == 0)
			rc = smtpc_auth_xoauth2_blob(a->user, a->token, out);
		break;
	case SMTPC_AUTH_LOGIN:
		rc = buf_puts(out, "AUTH LOGIN");
		break;
	case SMTPC_AUTH_CRAM_MD5:
		rc = buf_puts(out, "AUTH CRAM-MD5");
		break;
	default:
		return errbuf_set(eb, "no AUTH mechanism chosen");
	}
	if (rc == 0)
		rc = buf_puts(out, "\r\n");
	if (rc == -1)
		return errbuf_set(eb, "%s: user name or secret too long "
		    "(at most %d octets)", smtpc_auth_mech_name(a->mech),
		    SMTPC_AUTH_CRED_MAX);
	return 0;
}

/* Keep the XOAUTH2 error (base64 JSON) for the failure message. */
static void
smtpc_auth_keep_detail(struct smtpc_auth *a, const char *text)
{
	struct buf json;
	size_t i;

	a->detail[0] = '\0';
	buf_init(&json, 0);
	if (smtpc_auth_b64_decode(text, strlen(text), &json) == 0) {
		for (i = 0; i < json.len && i + 1 < sizeof(a->detail); i++) {
			unsigned char c = (unsigned char)json.data[i];

			a->detail[i] = c < 0x20 || c >= 0x7f ? ' ' : (char)c;
		}
		a->detail[i] = '\0';
	}
	buf_fini(&json);
}

/* The answer to a 334 challenge (text is its base64 part) into out. */
static enum smtpc_auth_result
smtpc_auth_answer(struct smtpc_auth *a, const char *text, struct buf *out,
    struct errbuf *eb)
{
	const char *secret;
	int rc = -1;

	if (buf_reserve(out, SMTPC_AUTH_LINE_MAX) == -1)
		return SMTPC_AUTH_FAIL;
	switch (a->mech) {
	case SMTPC_AUTH_PLAIN:
		/* A server that ignored the initial response asks for it
		 * with an empty challenge. */
		if (a->step == 0)
			rc = smtpc_auth_plain_blob(a->user, a->pass, out);
		break;
	case SMTPC_AUTH_LOGIN:
		/* Username, then password, whatever the prompts say. */
		secret = a->step == 0 ? a->user : a->pass;
		if (a->step <= 1)
			rc = smtpc_auth_b64_secret(secret, strlen(secret), out);
		break;
	case SMTPC_AUTH_CRAM_MD5:
		if (a->step == 0 && (rc = smtpc_auth_cram_md5(a->user, a->pass,
		    text, out)) == -1) {
			errbuf_set(eb, "CRAM-MD5: malformed challenge");
			return SMTPC_AUTH_FAIL;
		}
		break;
	case SMTPC_AUTH_XOAUTH2:
		/* A 334 here carries a JSON error; an empty line gets the
		 * final (failure) reply. */
		if (a->step == 0) {
			smtpc_auth_keep_detail(a, text);
			rc = 0;
		}
		break;
	default:
		break;
	}
	if (rc == -1) {
		errbuf_set(eb, "%s: unexpected challenge from the server",
		    smtpc_auth_mech_name(a->mech));
		return SMTPC_AUTH_FAIL;
	}
	a->step++;
	return buf_puts(out, "\r\n") == -1 ? SMTPC_AUTH_FAIL : SMTPC_AUTH_SEND;
}

enum smtpc_auth_result
smtpc_auth_step(struct smtpc_auth *a, int code, const char *text,
    struct buf *out, struct errbuf *eb)
{
	errbuf_clear(eb);
	if (code >= 200 && code < 300)
		return SMTPC_AUTH_DONE;
	if (code == 334)
		return smtpc_auth_answer(a, text, out, eb);
	if (a->mech == SMTPC_AUTH_XOAUTH2 && a->detail[0] != '\0')
		errbuf_set(eb, "XOAUTH2 token refused: %s", a->detail);
	return SMTPC_AUTH_FAIL;
}
