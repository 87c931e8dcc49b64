/*
 * control: ternd's control socket — tern's queue commands (queue,
 * show, delete, hold, release, flush, stats) served on the event loop.
 * The protocol is control_proto.h's.
 *
 * Who may connect: the socket and its directory belong to run_user and
 * its group (modes 0660 and 0750), and each connection's peer must be
 * root, run_user, or have that group (SO_PEERCRED, SO_PEERGROUPS).
 * Queue listings and file reads run on the removal worker
 * (td->fsq_remove), never on the loop, and in order with the removals
 * that delete queues there.
 */
#ifndef TERN_CONTROL_H
#define TERN_CONTROL_H

#include "errbuf.h"
#include "ternd.h"

struct control;

/* Bind queue_dir/control/socket (after the queue's lock is taken: a
 * socket left by an earlier ternd is replaced).  NULL with eb. */
struct control *control_new(struct ternd *td, struct errbuf *eb);

/* Close the socket and every connection; remove the socket file. */
void control_free(struct control *c);

#endif
