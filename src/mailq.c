/*
 * mailq: format queue entries like Postfix's mailq (see mailq.h).
 * Pure formatting into a buffer, so the unit tests compare bytes.
 */
#include "autoconf.h"

#include <string.h>
#include <time.h>

#include "mailq.h"

#define MAILQ_HEADER "-Queue ID-  --Size-- ----Arrival Time---- " \
	"-Sender/Recipient-------\n"
#define MAILQ_INDENT 41

void
mailq_begin(struct mailq *mq, struct buf *out)
{
	mq->out = out;
	mq->requests = 0;
	mq->bytes = 0;
}

char
mailq_status_char(enum queue_name q)
{
	switch (q) {
	case QUEUE_ACTIVE:
		return '*';
	case QUEUE_HOLD:
		return '!';
	default:
		return ' ';
	}
}

/* The sender as mailq shows it: the null sender is MAILER-DAEMON. */
static const char *
mailq_sender(const struct envelope *env)
{
	return env->sender == NULL || env->sender[0] == '\0' ?
	    "MAILER-DAEMON" : env->sender;
}

static int
mailq_rcpt(struct mailq *mq, const struct envelope_rcpt *r)
{
	/* Delivered or bounced recipients are no longer waiting. */
	if (r->state == ENVELOPE_RCPT_SENT || r->state == ENVELOPE_RCPT_BOUNCED)
		return 0;
	if (r->reason != NULL && r->reason[0] != '\0' &&
	    buf_printf(mq->out, "(%s)\n", r->reason) < 0)
		return -1;
	return buf_printf(mq->out, "%*s%s\n", MAILQ_INDENT, "", r->addr);
}

int
mailq_add(struct mailq *mq, const struct queue_entry *e)
{
	char when[32];
	time_t t = (time_t)(e->env.arrival_us / 1000000);
	struct tm tm;
	size_t i;

	if (mq->requests == 0 && buf_puts(mq->out, MAILQ_HEADER) < 0)
		return -1;
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
	if (buf_printf(mq->out, "%-10s%c %8llu %s  %s\n", e->id,
	    mailq_status_char(e->queue), (unsigned long long)e->env.size,
	    when, mailq_sender(&e->env)) < 0)
		return -1;
	for (i = 0; i < e->env.nrcpts; i++)
		if (mailq_rcpt(mq, &e->env.rcpts[i]) < 0)
			return -1;
	mq->requests++;
	mq->bytes += e->env.size;
	return buf_putc(mq->out, '\n');
}

int
mailq_end(struct mailq *mq)
{
	if (mq->requests == 0)
		return buf_puts(mq->out, "Mail queue is empty\n");
	return buf_printf(mq->out, "-- %llu Kbytes in %zu Request%s.\n",
	    (unsigned long long)((mq->bytes + 1023) / 1024), mq->requests,
	    mq->requests == 1 ? "" : "s");
}
