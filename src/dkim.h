/*
 * dkim: DKIM signatures (RFC 6376) made with libopendkim for the
 * [dkim DOMAIN] sections of tern.conf.
 *
 * rsa-sha256, or ed25519-sha256 (RFC 8463); relaxed/relaxed
 * canonicalization; the signed header list is the section's `headers`
 * or DKIM_DEFAULT_HEADERS, where From is listed twice (oversigned) so
 * no second From can be added after signing.  The signing domain is
 * the domain of the message's From address as it leaves tern (after a
 * relay's `from` rewrite): the caller passes it, found with
 * dkim_from_domain().
 *
 * Keys are read once, when the signer is made (start, SIGHUP): a key
 * file must be a regular file that others may not read or write, and
 * hold a private key of the section's algorithm.  Signing needs no DNS
 * and no files: it may run on any thread (libopendkim's library handle
 * is shared, each signature has its own handle).
 */
#ifndef TERN_DKIM_H
#define TERN_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "errbuf.h"

/* Signed when present; From twice (RFC 6376 8.15, oversigning). */
#define DKIM_DEFAULT_HEADERS "From:From:Reply-To:Subject:Date:Message-ID:" \
	"To:Cc:In-Reply-To:References:MIME-Version:Content-Type:" \
	"Content-Transfer-Encoding:List-Unsubscribe:List-Unsubscribe-Post"

struct dkim_signer;

/* Load every [dkim] section's key.  Returns the signer (with no keys
 * when there are no sections), or NULL with eb naming the section, the
 * file and what is wrong with it. */
struct dkim_signer *dkim_signer_new(const struct config *cfg,
    struct errbuf *eb);

/* Signers are reference-counted, so that a signature being made on a
 * worker thread survives a reload: dkim_signer_ref takes a reference
 * (returns s), dkim_signer_free drops one and frees with the last.  The
 * count is not atomic: call both on one thread (the event loop).
 * dkim_sign_message itself may run on any thread, on several at once. */
struct dkim_signer *dkim_signer_ref(struct dkim_signer *s);
void dkim_signer_free(struct dkim_signer *s);

/*
 * A warning about the signer that its user should see at start, or
 * NULL.  libopendkim up to 2.11.0 (Debian 12's) never frees the
 * ed25519 key it reads for each signature, about 600 bytes a message;
 * with an ed25519 section and such a library, this says so.
 */
const char *dkim_signer_warning(const struct dkim_signer *s);

/* True when a [dkim] section signs for domain (case-insensitive). */
bool dkim_signer_has(const struct dkim_signer *s, const char *domain);

/*
 * The domain of the first From address of msg[0..len) (LF line ends),
 * lower-cased, into out.  Returns 0, or -1 when there is no From or it
 * holds no parsable address.
 */
int dkim_from_domain(const char *msg, size_t len, char *out, size_t outlen);

/*
 * Sign msg[0..len) (header section, empty line, body; LF line ends) for
 * domain: append the "DKIM-Signature: ..." field, folded, ending in LF,
 * to out (the caller puts it before the message).  Returns 0; 1 when no
 * section signs for domain (nothing appended); -1 with eb when signing
 * failed.  Line ends are signed as the SMTP client sends them: CR, LF
 * and CRLF each become CRLF.
 *
 * Not called dkim_sign: libopendkim exports a dkim_sign() of its own,
 * and this module links against it.
 */
int dkim_sign_message(const struct dkim_signer *s, const char *domain,
    const char *msg, size_t len, struct buf *out, struct errbuf *eb);

#endif
