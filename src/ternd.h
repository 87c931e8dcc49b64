/*
 * ternd: the state the daemon's modules share — the event base, the
 * current config and aliases (replaced as a whole on SIGHUP), and the
 * modules themselves.  Passed explicitly; there are no globals.
 */
#ifndef TERN_TERND_H
#define TERN_TERND_H

#include <stdbool.h>

#include <event2/event.h>

#include "aliases.h"
#include "config.h"

struct pickup;
struct qmgr;
struct dns;
struct smtpd;
struct fsq;
struct dkim_signer;
struct control;

struct ternd {
	struct event_base *base;
	struct config *cfg;       /* current; old ones live on in sessions
				     that still use them (qmgr keeps them) */
	struct aliases *aliases;  /* may be NULL (no file) */
	struct pickup *pickup;
	struct qmgr *qmgr;
	struct dns *dns;
	struct smtpd *smtpd;      /* the [listen] sections */
	struct fsq *fsq;          /* the queue's worker for commits */
	struct dkim_signer *dkim; /* the [dkim] keys; NULL without any */
	struct fsq *fsq_remove;   /* ...and one for removals, so a slow
				     unlink never delays a 250 */
	struct fsq *fsq_sign;     /* DKIM signatures: CPU work that would
				     stall every session on the loop */
	struct control *control;  /* tern's queue commands; may be NULL */
	bool foreground;
	bool stopping;
};

#endif
