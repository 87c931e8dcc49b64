/*
 * tern_queue_int.h: what tern's queue commands share — tern_queue.c
 * (queue, show, flush), tern_queue_edit.c (delete, hold, release) and
 * tern_stats.c (stats).  Each asks the running ternd over its control
 * socket first and works on the queue's files only when none runs.
 */
#ifndef TERN_TERN_QUEUE_INT_H
#define TERN_TERN_QUEUE_INT_H

#include <stdio.h>

#include <jansson.h>

#include "config.h"

/* tern_queue_ask's *rc when no ternd runs. */
#define TERN_QUEUE_DOWN (-1)

/*
 * Send line to the running ternd.  Returns the reply's body (one JSON
 * object per line; fclose it), or NULL with *rc TERN_QUEUE_DOWN when
 * no ternd runs, else an exit code (the error is printed).
 */
FILE *tern_queue_ask(const struct config *cfg, const char *line, int *rc);

/* The next JSON line of a reply body, or NULL at its end (a line that
 * is not JSON is reported and skipped). */
json_t *tern_queue_next(FILE *f);

/* Exit code for a queue that cannot be read (errno errnum), after
 * printing why. */
int tern_queue_fail(const char *what, const char *msg, int errnum);

#endif
