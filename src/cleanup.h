/*
 * cleanup: turn a picked-up submission into a queue entry.
 *
 * Given the envelope and message of a maildrop file (already checked
 * as well-formed by the queue reader) or of an SMTP transaction,
 * cleanup expands local names — bare, or at the hostname or origin
 * domain — through the aliases (with loop and depth limits), qualifies what is
 * still unqualified with origin, removes duplicate recipients, and
 * builds the message as it will be queued: a Received header first,
 * then the original message (with, when asked, the header fields it
 * lacks, and a Subject made from its text).  Pure: no files, no clock
 * (now is given).
 */
#ifndef TERN_CLEANUP_H
#define TERN_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aliases.h"
#include "buf.h"
#include "config.h"
#include "envelope.h"
#include "errbuf.h"

/* Where a message received over SMTP came from, for its Received
 * header (RFC 5321 4.4). */
struct cleanup_smtp {
	const char *helo;        /* as the client gave it */
	const char *client_addr; /* "192.0.2.1" */
	const char *protocol;    /* "ESMTPSA"... (RFC 3848) */
};

struct cleanup_input {
	const struct config *cfg;
	const struct aliases *aliases; /* may be NULL */
	const char *id;
	long uid;                      /* submitting user (from the file's
					  owner, not from its content) */
	int64_t now;
	const struct envelope *env;    /* as submitted */
	const struct cleanup_smtp *smtp; /* NULL for local submissions */
	bool complete_headers;         /* add From, Date, Message-ID and To
					  when missing (an SMTP client that
					  may relay: LAN devices often leave
					  them out; sendmail adds them
					  itself) */
	const char *msg;               /* message, LF line ends */
	size_t msg_len;
};

/* Called for each alias problem met while expanding (loops, depth). */
typedef void (*cleanup_warn_fn)(const char *id, const char *msg,
    void *arg);

/*
 * Fill out (initialised by the caller) with the queue envelope and
 * data with the message to queue.  Returns 0, or -1 with eb set (no
 * recipient left, allocation failure).
 */
int cleanup_message(const struct cleanup_input *in, struct envelope *out,
    struct buf *data, cleanup_warn_fn warn, void *arg, struct errbuf *eb);

/* Qualify addr with origin when it has no domain; returns a new
 * string or NULL on allocation failure. */
char *cleanup_qualify(const char *addr, const char *origin);

#endif
