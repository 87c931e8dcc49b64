/*
 * maillog: Postfix-shaped delivery lines (see maillog.h).  The delays
 * are printed with Postfix's precision rules: one decimal below 10 s,
 * whole seconds above, so log readers parse them the same way.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "maillog.h"

/* Seconds as Postfix prints them: two decimals without trailing zeros
 * below 10 s ("0", "0.03", "1.2"), whole seconds above; never an
 * exponent, which log readers do not expect. */
static void
maillog_num(double v, char *out, size_t len)
{
	size_t n;

	if (v < 0)
		v = 0;
	if (v >= 10) {
		snprintf(out, len, "%.0f", v);
		return;
	}
	snprintf(out, len, "%.2f", v);
	n = strlen(out);
	while (n > 1 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 1 && out[n - 1] == '.')
		out[--n] = '\0';
}

void
maillog_active(const char *id, const char *sender, uint64_t size,
    size_t nrcpt)
{
	log_msg(LOG_INFO, "%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)",
	    id, sender, (unsigned long long)size, nrcpt);
}

void
maillog_rcpt(const char *id, const char *rcpt, const char *relay,
    double delay, const struct maillog_delays *d, const char *dsn,
    const char *status, const char *text)
{
	char total[32], a[32], b[32], c[32], e[32];

	maillog_num(delay, total, sizeof(total));
	maillog_num(d->before_qmgr, a, sizeof(a));
	maillog_num(d->in_qmgr, b, sizeof(b));
	maillog_num(d->conn_setup, c, sizeof(c));
	maillog_num(d->transmission, e, sizeof(e));
	log_msg(LOG_INFO, "%s: to=<%s>, relay=%s, delay=%s, delays=%s/%s/%s/%s, "
	    "dsn=%s, status=%s (%s)", id, rcpt, relay, total, a, b, c, e, dsn,
	    status, text);
}

void
maillog_removed(const char *id)
{
	log_msg(LOG_INFO, "%s: removed", id);
}
