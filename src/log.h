/*
 * log: the mail log.
 *
 * One process-wide destination chosen by the config key "log": syslog
 * (facility mail), stderr, or a file path (appended, one write(2) per
 * line so concurrent writers never interleave).  With log_format = json
 * each line is a JSON object {"time","host","program","pid","level",
 * "message"} instead of the syslog-shaped text line.  Lines are bounded
 * (LOG_MAX_LINE); control characters and bytes that are not UTF-8
 * are escaped (\xNN), for syslog too, so a hostile peer can neither
 * forge log lines nor make a JSON line invalid.
 */
#ifndef TERN_LOG_H
#define TERN_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "errbuf.h"

#define LOG_MAX_LINE 4096

/*
 * Open the log for program ident ("sendmail", "ternd"...): target is
 * "syslog", "stderr", an absolute file path, or "none" (discard; for
 * programs whose stderr belongs to their caller).  Returns 0 or -1 with eb
 * set (a file that cannot be opened); the log then falls back to
 * stderr.
 */
int log_open(const char *ident, const char *target, bool json,
    struct errbuf *eb);

/*
 * Open the log file again by its name (the first one is kept when that
 * fails), so a file renamed by logrotate(8) is left for a new one; a
 * no-op for syslog and stderr.  The caller must be able to open or
 * create the file as who it is now.  Returns 0 or -1 with eb set.
 */
int log_reopen(struct errbuf *eb);

/* Log one line at a syslog priority (LOG_INFO, LOG_WARNING, LOG_ERR). */
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True when the log goes to stderr (so callers do not print twice). */
bool log_to_stderr(void);

void log_close(void);

#endif
