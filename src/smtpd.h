/*
 * smtpd: ternd's SMTP listener — the [listen NAME] sections of
 * tern.conf served on the daemon's event loop.
 *
 * Each connection is a session: the PROXY header first when the
 * listener wants one, TLS first for implicit TLS, then the protocol
 * engine (smtpd_proto) fed from the socket.  What the engine accepts
 * is committed to the queue (smtpd_queue) and then reported to the
 * queue manager, the same path as mail picked up from maildrop.
 *
 * Limits per listener: sessions in all (max_connections) and per client
 * address (max_connections_per_ip), each answered "421 4.7.0 ..." and
 * closed; timeouts while idle between commands (idle_timeout) and for
 * one command line or one DATA/BDAT transfer (command_timeout).
 *
 * Privileges: sockets are bound, certificates and users files read
 * before ternd drops root (smtpd_bind); the listening itself starts
 * after (smtpd_start).  On SIGHUP, certificates and users files are
 * read again (as run_user); sessions in flight keep what they began
 * with, a listener whose address changed needs a restart.
 */
#ifndef TERN_SMTPD_H
#define TERN_SMTPD_H

#include "errbuf.h"
#include "ternd.h"

/* Called with the ID of each message committed to the queue. */
typedef void (*smtpd_queued_fn)(const char *id, void *arg);

struct smtpd;

/* Bind every [listen] address and load its TLS certificate and users
 * file.  Returns the listeners (possibly none), or NULL with eb naming
 * the listener and what failed. */
struct smtpd *smtpd_bind(struct ternd *td, smtpd_queued_fn queued,
    void *arg, struct errbuf *eb);

/* Start accepting connections on td->base.  Returns 0 or -1 with eb. */
int smtpd_start(struct smtpd *s, struct errbuf *eb);

/* After td->cfg was replaced: read certificates and users files again
 * for new sessions.  A listener whose address changed keeps its old
 * socket (a restart moves it), and says so.  Returns 0, or -1 with eb
 * (the old settings stay). */
int smtpd_reload(struct smtpd *s, struct errbuf *eb);

/* The aliases were replaced (td->aliases): sessions in flight use the
 * new ones, as the old are freed. */
void smtpd_aliases_changed(struct smtpd *s);

/* Stop accepting; tell every session "421 4.3.2 ... shutting down". */
void smtpd_shutdown(struct smtpd *s);

void smtpd_free(struct smtpd *s);

#endif
