/*
 * fsq: a worker thread for the queue's blocking file operations.
 *
 * ternd runs on one event loop, and a filesystem call that blocks
 * (syncfs for a group commit, unlink on a filesystem that discards
 * blocks synchronously, creating files) stops every session while it
 * waits.  fsq runs such work on worker threads and calls each job's
 * completion back on the event loop.
 *
 * The work functions run on a worker: they may touch only what their
 * job owns (paths copied in, buffers handed over), never the daemon's
 * shared state, and they must not log.  Completions run on the loop
 * thread.  With one thread, jobs run and complete in submission order;
 * with several, each job must stand alone (everything that must happen
 * in order — an envelope removed before its data, a batch stored
 * before it is synced — is one job).
 */
#ifndef TERN_FSQ_H
#define TERN_FSQ_H

#include <event2/event.h>

#include "errbuf.h"

struct fsq;

typedef void (*fsq_work_fn)(void *arg);
typedef void (*fsq_done_fn)(void *arg);

/* Start nthreads workers (1 to 8); completions arrive through base.
 * NULL with eb. */
struct fsq *fsq_new(struct event_base *base, unsigned nthreads,
    struct errbuf *eb);

/* Queue work(arg) for the worker, then done(arg) (may be NULL) on the
 * loop.  Returns 0, or -1 when out of memory (nothing was queued). */
int fsq_submit(struct fsq *f, fsq_work_fn work, fsq_done_fn done,
    void *arg);

/* Wait until every job submitted so far has run, then call their
 * completions now, on the calling (loop) thread. */
void fsq_flush(struct fsq *f);

/* Flush, stop the worker, free. */
void fsq_free(struct fsq *f);

#endif
