/*
 * trigger: wake the running ternd.
 *
 * ternd binds a Unix datagram socket at queue_dir/public/trigger (mode
 * 0620, group terndrop in a root install, so the setgid sendmail may
 * write to it).  A trigger is one byte; datagrams cannot block the
 * sender or be half-read, and a busy daemon simply has several wake-ups
 * queued.  The daemon must treat a trigger as a hint only: it always
 * rescans the queue, so a forged trigger can do no harm.
 */
#ifndef TERN_TRIGGER_H
#define TERN_TRIGGER_H

#include "errbuf.h"

#define TRIGGER_WAKEUP 'W'  /* new mail in maildrop */
#define TRIGGER_FLUSH 'F'   /* retry deferred mail now */
#define TRIGGER_ALIASES 'A' /* reload the aliases file */

#define TRIGGER_SOCKET "public/trigger"

/*
 * Send trigger cmd.  Returns 0 when the daemon got it (or already had
 * wake-ups pending), -1 with eb set when no daemon listens or the
 * socket cannot be reached (errno is kept: ENOENT/ECONNREFUSED mean
 * "ternd is not running").
 */
int trigger_send(const char *queue_dir, char cmd, struct errbuf *eb);

/* What to tell a user whose flush trigger failed with errnum: that
 * they may not ask, or that ternd is not running. */
const char *trigger_flush_advice(int errnum);

#endif
