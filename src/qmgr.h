/*
 * qmgr: the queue manager — decides what is delivered when and through
 * which relay (or, with delivery = direct, hands each recipient domain's
 * share to direct.c), has it signed (dkim.c, on worker threads), carries
 * the results into the envelopes, retries, fails over, bounces and
 * removes.
 *
 * It holds only queue IDs and due times in memory (sched); an envelope
 * is read when its message is due and written back after each attempt.
 * Per relay it keeps a few SMTP sessions open and reuses them for the
 * next message.  The failover table is route.c's; relay health and
 * quotas are relay_state's and are saved in state/relays.
 */
#ifndef TERN_QMGR_H
#define TERN_QMGR_H

#include "errbuf.h"
#include "ternd.h"

/* Messages in flight at once (sessions per relay: max_connections). */
#define QMGR_MAX_JOBS 64

/* Set up from td->cfg and read the queue (incoming, deferred).
 * Returns NULL with eb set (e.g. a password file others can read). */
struct qmgr *qmgr_new(struct ternd *td, struct errbuf *eb);

/* A message was just committed to incoming/ (pickup, bounces). */
void qmgr_enqueue(struct qmgr *q, const char *id);

/* Retry all deferred mail now (tern flush, sendmail -q). */
void qmgr_flush(struct qmgr *q);

/* SIGHUP: take td->cfg (already replaced) into use for new deliveries;
 * sessions in flight finish with the config they started with.
 * Returns 0 or -1 with eb (then the old relays stay in use). */
int qmgr_reload(struct qmgr *q, struct config *old, struct errbuf *eb);

/* Reread the aliases file (newaliases, SIGHUP). */
void qmgr_reload_aliases(struct ternd *td);

/* Stop starting deliveries; close sessions; save relay state. */
void qmgr_shutdown(struct qmgr *q);

void qmgr_free(struct qmgr *q);

#endif
