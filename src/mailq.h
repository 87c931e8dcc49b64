/*
 * mailq: the queue listing in Postfix's format, so scripts and people
 * who read "mailq" output keep working:
 *
 *	-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *	660D3BD90055B0070F2*    4211 Sun Nov 22 01:53:14  alice@example.org
 *	                                         bob@example.com
 *
 *	-- 4 Kbytes in 1 Request.
 *
 * The ID is followed by '*' for active and '!' for hold mail; sizes and
 * times keep Postfix's columns (tern's IDs are longer than Postfix's
 * short ones, which shifts the rest of that line, as in Postfix when a
 * status character fills the ID column); recipients start in column 42.
 * A deferred recipient's last error is shown in parentheses above it,
 * right-aligned, when it differs from the previous recipient's.
 * Kbytes is the total size divided by 1024, rounded down.  An empty
 * queue prints "Mail queue is empty".
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
