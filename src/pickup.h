/*
 * pickup: bring submitted mail from maildrop into the queue.
 *
 * ternd learns of new maildrop files at once through the trigger socket
 * (public/trigger, where sendmail sends one byte) and, as a backstop,
 * by scanning maildrop every PICKUP_SCAN_INTERVAL seconds.  Every file
 * is hostile input: it must be a regular file with one link, within the
 * size limit, with a well-formed envelope and its end marker; anything
 * else goes to corrupt/ with a log line.  Good files pass through
 * cleanup, and a batch of them is committed with one queue_sync()
 * (group commit) before their maildrop files are removed, so a crash at
 * any point leaves every message either in maildrop or in the queue.
 * The file work (reading maildrop, writing the queue, the sync) runs on
 * the queue's worker threads; only cleanup and the log lines are on
 * the event loop, whose sessions a burst of submissions must not stall.
 */
#ifndef TERN_PICKUP_H
#define TERN_PICKUP_H

#include "errbuf.h"
#include "ternd.h"

#define PICKUP_SCAN_INTERVAL 30
#define PICKUP_BATCH 256
#define PICKUP_STALE_TMP (24 * 3600)

/* Called with the ID of each message committed to the queue. */
typedef void (*pickup_queued_fn)(const char *id, void *arg);

/* Bind the trigger socket and start watching maildrop.  Returns NULL
 * with eb set. */
struct pickup *pickup_new(struct ternd *td, pickup_queued_fn queued,
    void *arg, struct errbuf *eb);

/* At start-up: pick up and commit everything in maildrop now. */
void pickup_run(struct pickup *p);

void pickup_free(struct pickup *p);

#endif
