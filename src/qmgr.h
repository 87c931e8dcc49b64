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

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "ternd.h"

/* Messages in flight at once (sessions per relay: max_connections). */
#define QMGR_MAX_JOBS 64

/* Set up from td->cfg and read the queue (incoming, deferred).
 * Returns NULL with eb set (e.g. a password file others can read). */
struct qmgr *qmgr_new(struct ternd *td, struct errbuf *eb);

/* A message was just committed to incoming/ (pickup, bounces). */
void qmgr_enqueue(struct qmgr *q, const char *id);

/* A message was received (picked up from maildrop or accepted by the
 * listener): count it for tern stats, then qmgr_enqueue. */
void qmgr_received(struct qmgr *q, const char *id);

/* Retry all deferred mail now (tern flush, sendmail -q).  Returns the
 * number of messages scheduled. */
size_t qmgr_flush(struct qmgr *q);

/* ---------------------------------------------------------------- control
 * Queue surgery for tern (control.c), safe while mail is delivered: a
 * message in delivery is only marked, and the mark is carried out when
 * the attempt ends (recipients delivered by it stay delivered; the rest
 * are held, or the message is removed).  A held message is never
 * started until released.
 */
enum qmgr_ctl_result {
	QMGR_CTL_DONE,       /* held, deleted or released now */
	QMGR_CTL_PENDING,    /* in delivery: done when the attempt ends */
	QMGR_CTL_NOT_FOUND,  /* not in the queue (delivered, or in maildrop) */
	QMGR_CTL_NOOP,       /* already held / not held */
	QMGR_CTL_ERROR,      /* eb says why */
};

/* hold: out of the schedule, envelope into hold/.  delete: both files
 * removed without a report to the sender (postsuper -d).  release: a
 * held message back into the schedule, due now; a hold still pending
 * on a message in delivery is cancelled. */
enum qmgr_ctl_result qmgr_hold(struct qmgr *q, const char *id,
    struct errbuf *eb);
enum qmgr_ctl_result qmgr_delete(struct qmgr *q, const char *id,
    struct errbuf *eb);
enum qmgr_ctl_result qmgr_release(struct qmgr *q, const char *id,
    struct errbuf *eb);

/* What is pending on a message in delivery. */
enum qmgr_mark { QMGR_MARK_NONE, QMGR_MARK_HOLD, QMGR_MARK_DELETE };

/* Call fn for every message in delivery now (at most QMGR_MAX_JOBS). */
void qmgr_active_each(const struct qmgr *q,
    void (*fn)(const char *id, enum qmgr_mark mark, void *arg), void *arg);

/* Counters since start, per relay by its name ("direct" for direct
 * delivery).  sent, deferred and bounced count recipients, as the log
 * lines do (status=sent, deferred, bounced or expired). */
struct qmgr_count {
	uint64_t sent, deferred, bounced;
};

struct qmgr_relay_count {
	char *name;
	struct qmgr_count c;
};

struct qmgr_stats {
	int64_t since;          /* epoch seconds */
	uint64_t received;
	struct qmgr_count total;
	struct qmgr_relay_count *relays;
	size_t nrelays;
	unsigned active;        /* messages in delivery now */
	size_t scheduled;       /* messages waiting for their next try */
};

/* The counters; valid until the next turn of the loop. */
const struct qmgr_stats *qmgr_stats(struct qmgr *q);

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
