/*
 * submit: turn what a program hands to sendmail into a maildrop file.
 *
 * Reads the message (LF or CRLF lines, optional leading "From " line,
 * the -i dot rule), rejects what cannot be mail (NUL bytes, over
 * max_message_size), collects recipients (command line and, with -t,
 * To/Cc/Bcc or their Resent-* forms), removes Bcc, adds missing From,
 * Date, Message-ID and To, and commits envelope plus message durably
 * into maildrop.  Returns only after the file and its directory are
 * fsynced; on any failure nothing is left in the queue.  A message
 * received over SMTP (`sendmail -bs`) is queued the same way, with the
 * envelope of the SMTP transaction.
 */
#ifndef TERN_SUBMIT_H
#define TERN_SUBMIT_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"
#include "envelope.h"
#include "errbuf.h"
#include "queue.h"

struct submit_opts {
	const struct config *cfg;
	bool extract;          /* -t */
	bool dot_ends;         /* without -i: a lone "." ends the message */
	const char *sender;    /* -f/-r as given, or NULL */
	const char *full_name; /* -F, or NULL */
	unsigned notify;       /* -N as ENVELOPE_NOTIFY_* bits, 0: unset */
	int ret;               /* -R: enum envelope_ret */
	const char *envid;     /* -V, or NULL */
	int body;              /* -B: enum envelope_body, or -1 */
	char *const *rcpts;    /* command-line recipients */
	int nrcpts;
	long uid;              /* submitting user; their login name and
				  GECOS full name are looked up only when
				  a sender or From field must be made */
	mode_t file_mode;      /* of the maildrop file */
	bool create_queue;     /* make a missing queue (user-owned queues) */
};

/*
 * Read the message from in_fd and queue it.  On success id receives
 * the queue ID.  Returns 0, or -1 with eb set and eb->code a sysexits.h
 * code (64 usage, 65 bad or too large input, 67 unparseable recipient,
 * 73/74 queue not writable / I/O error, 75 temporary).
 */
int submit_message(const struct submit_opts *o, int in_fd,
    char id[QUEUE_ID_LEN + 1], struct errbuf *eb);

/*
 * Queue a message received over SMTP: env is the transaction's (sender,
 * recipients with their DSN parameters, RET, ENVID, body type,
 * SMTPUTF8), text[0..len) the message with LF line ends.  Arrival, uid
 * (o->uid) and size are set here; of o only cfg, uid, full_name,
 * file_mode and create_queue are used.  Headers are completed and Bcc
 * removed as for a piped message.  Returns 0 with id set, or -1 with eb
 * set as for submit_message; eb->errnum is EMSGSIZE when the message
 * with the added fields is larger than max_message_size.
 */
int submit_smtp(const struct submit_opts *o, const struct envelope *env,
    const char *text, size_t len, char id[QUEUE_ID_LEN + 1],
    struct errbuf *eb);

#endif
