/*
 * mailq: the queue listing in Postfix's format, so scripts and people
 * who read "mailq" output keep working:
 *
 *	-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *	0192A3B4C5D6E0012AB*    4211 Sun Nov 22 10:00:00  alice@example.org
 *	                                         bob@example.com
 *
 *	-- 5 Kbytes in 1 Request.
 *
 * The character after the ID is '*' for active, '!' for hold and blank
 * otherwise; a deferred recipient's last error is shown in parentheses
 * above it.  An empty queue prints "Mail queue is empty".
 */
#ifndef TERN_MAILQ_H
#define TERN_MAILQ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "queue.h"

struct mailq {
	struct buf *out;
	size_t requests;
	uint64_t bytes;
};

void mailq_begin(struct mailq *mq, struct buf *out);

/* Append one message; returns 0 or -1 (allocation failure). */
int mailq_add(struct mailq *mq, const struct queue_entry *e);

/* Append the summary line (or "Mail queue is empty"). */
int mailq_end(struct mailq *mq);

/* The status character of a queue. */
char mailq_status_char(enum queue_name q);

#endif
