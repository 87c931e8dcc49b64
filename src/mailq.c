/*
 * mailq: format queue entries like Postfix's mailq (see mailq.h).
 * Pure formatting into a buffer, so the unit tests compare bytes.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mailq.h"

#define MAILQ_HEADER "-Queue ID-  --Size-- ----Arrival Time---- " \
	"-Sender/Recipient-------\n"
#define MAILQ_INDENT 41
#define MAILQ_REASON_END 76

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

/* A deferred recipient's reason, right-aligned to end in column 78,
 * printed only when it differs from the previous recipient's. */
static int
mailq_reason(struct mailq *mq, const char *reason, const char **last)
{
	size_t len;

	if (reason == NULL || reason[0] == '\0') {
		reason = *last != NULL ? "reason unavailable" : NULL;
		if (reason == NULL)
			return 0;
	} else if (*last != NULL && strcmp(*last, reason) == 0) {
		return 0;
	}
	*last = reason;
	len = strlen(reason);
	return buf_printf(mq->out, "%*s(%s)\n", len < MAILQ_REASON_END ?
	    (int)(MAILQ_REASON_END - len) : 0, "", reason);
}

int
mailq_add(struct mailq *mq, const struct queue_entry *e)
{
	char when[32], idst[QUEUE_ID_LEN + 2];
	time_t t = (time_t)(e->env.arrival_us / 1000000);
	const struct envelope_rcpt *r;
	const char *last = NULL;
	struct tm tm;
	size_t i;

	if (mq->requests == 0 && buf_puts(mq->out, MAILQ_HEADER) < 0)
		return -1;
	localtime_r(&t, &tm);
	/* asctime()'s layout without the year: "Sun Nov 22 01:51:25". */
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
	snprintf(idst, sizeof(idst), "%s%c", e->id,
	    mailq_status_char(e->queue));
	if (idst[QUEUE_ID_LEN] == ' ')
		idst[QUEUE_ID_LEN] = '\0';
	if (buf_printf(mq->out, "%-11s %7llu %-20s %s\n", idst,
	    (unsigned long long)e->env.size, when, mailq_sender(&e->env)) < 0)
		return -1;
	for (i = 0; i < e->env.nrcpts; i++) {
		r = &e->env.rcpts[i];
		/* Delivered or bounced recipients are no longer waiting. */
		if (r->state == ENVELOPE_RCPT_SENT ||
		    r->state == ENVELOPE_RCPT_BOUNCED)
			continue;
		if (mailq_reason(mq, r->reason, &last) < 0 ||
		    buf_printf(mq->out, "%*s%s\n", MAILQ_INDENT, "",
		    r->addr) < 0)
			return -1;
	}
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
	    (unsigned long long)(mq->bytes / 1024), mq->requests,
	    mq->requests == 1 ? "" : "s");
}
