/*
 * sendmail_smtp: `sendmail -bs`, SMTP on standard input and output.
 *
 * The session is the listener's SMTP (smtpd_proto) with the local user
 * as a trusted client: no STARTTLS, no AUTH, relaying allowed.  Each
 * accepted message becomes a maildrop file through submit_smtp(), as a
 * piped message does, before the client is told "250 ... queued as".
 */
#ifndef TERN_SENDMAIL_SMTP_H
#define TERN_SENDMAIL_SMTP_H

#include "submit.h"

/* Seconds the client may stay silent (between commands or within
 * one) before the session ends with 421 4.4.2 and status 75. */
#define SENDMAIL_SMTP_IDLE 300

struct sendmail_smtp_host {
	const struct submit_opts *sub; /* cfg, uid, full_name, file_mode,
					  create_queue */
	int in_fd;
	int out_fd;
	const char *prog;              /* for messages on stderr */
	/* Called after each message is durably queued (wakes ternd). */
	void (*queued)(const char *id, void *arg);
	void *arg;
};

/*
 * Run one session to its end.  Returns a sysexits code: 0 after QUIT
 * or the end of input (whatever became of the transactions), 74 when
 * a reply cannot be written, 75 after the timeout, 70 on an internal
 * error, 71 when out of memory.
 */
int sendmail_smtp_run(const struct sendmail_smtp_host *h);

#endif
