/*
 * maillog: the delivery log lines, in Postfix's shape so pflogsumm,
 * fail2ban and logwatch read them:
 *
 *   ID: from=<sender>, size=N, nrcpt=M (queue active)
 *   ID: to=<rcpt>, relay=host[ip]:port, delay=1.2, delays=a/b/c/d,
 *       dsn=2.0.0, status=sent (250 2.0.0 OK queued as X)
 *   ID: removed
 */
#ifndef TERN_MAILLOG_H
#define TERN_MAILLOG_H

#include <stddef.h>
#include <stdint.h>

/* Time spent before the queue manager took the message, in the queue
 * manager before delivery, setting up the connection, and sending. */
struct maillog_delays {
	double before_qmgr, in_qmgr, conn_setup, transmission;
};

void maillog_active(const char *id, const char *sender, uint64_t size,
    size_t nrcpt);

/* relay: "host[ip]:port", or "none" when no relay was reached. */
void maillog_rcpt(const char *id, const char *rcpt, const char *relay,
    double delay, const struct maillog_delays *d, const char *dsn,
    const char *status, const char *text);

void maillog_removed(const char *id);

#endif
