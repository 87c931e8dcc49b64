/*
 * log: syslog, stderr or file destinations, text or JSON (see log.h).
 *
 * The state is process-wide, like syslog(3) itself: every program opens
 * the log once at start-up.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "str.h"

enum log_dest {
	LOG_DEST_SYSLOG,
	LOG_DEST_STDERR,
	LOG_DEST_FILE,
	LOG_DEST_NONE,
};

static struct {
	enum log_dest dest;
	int fd;
	bool json;
	char ident[64];
	char host[256];
	char path[4096];	/* the file of LOG_DEST_FILE, for log_reopen */
} log_state = { LOG_DEST_STDERR, 2, false, "tern", "localhost", "" };

static int
log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
}

int
log_open(const char *ident, const char *target, bool json,
    struct errbuf *eb)
{
	char *dot;

	snprintf(log_state.ident, sizeof(log_state.ident), "tern/%s", ident);
	if (gethostname(log_state.host, sizeof(log_state.host)) < 0)
		str_lcpy(log_state.host, "localhost", sizeof(log_state.host));
	log_state.host[sizeof(log_state.host) - 1] = '\0';
	if ((dot = strchr(log_state.host, '.')) != NULL)
		*dot = '\0';
	log_state.json = json;
	if (strcmp(target, "syslog") == 0) {
		log_state.dest = LOG_DEST_SYSLOG;
		openlog(log_state.ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		return 0;
	}
	log_state.dest = LOG_DEST_STDERR;
	log_state.fd = 2;
	if (strcmp(target, "stderr") == 0)
		return 0;
	if (strcmp(target, "none") == 0) {
		log_state.dest = LOG_DEST_NONE;
		return 0;
	}
	if (strlen(target) >= sizeof(log_state.path))
		return errbuf_set(eb, "log file name too long: %.60s...",
		    target);
	log_state.fd = log_open_file(target);
	if (log_state.fd < 0) {
		log_state.fd = 2;
		return errbuf_errno(eb, errno, "open log file %s", target);
	}
	str_lcpy(log_state.path, target, sizeof(log_state.path));
	log_state.dest = LOG_DEST_FILE;
	return 0;
}

/* After logrotate renamed the file: open the name again, and only then
 * let the old descriptor go, so no line is lost either way. */
int
log_reopen(struct errbuf *eb)
{
	int fd;

	if (log_state.dest != LOG_DEST_FILE)
		return 0;
	if ((fd = log_open_file(log_state.path)) < 0)
		return errbuf_errno(eb, errno, "reopen log file %s",
		    log_state.path);
	close(log_state.fd);
	log_state.fd = fd;
	return 0;
}

bool
log_to_stderr(void)
{
	return log_state.dest == LOG_DEST_STDERR;
}

/* Copy msg into out, escaping control characters (and, for JSON, the
 * characters JSON requires escaped).  Bytes that are not well-formed
 * UTF-8 (a peer's 8-bit junk in an address or HELO name) become \xNN
 * in both formats: a JSON line must stay valid JSON for the shippers
 * that read it, and a text line then reads the same. */
static void
log_escape(const char *msg, bool json, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)msg;
	size_t o = 0, left = strlen(msg), k;

	while (left > 0 && o + 7 < outlen) {
		if (*p >= 0x80 && (k = str_utf8_len(p, left)) > 0) {
			if (o + k + 1 > outlen)
				break;
			memcpy(out + o, p, k);
			o += k, p += k, left -= k;
			continue;
		}
		if (json && (*p == '"' || *p == '\\')) {
			out[o++] = '\\';
			out[o++] = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o,
			    json ? "\\u%04x" : "\\x%02x", *p);
		} else if (*p >= 0x80) {
			o += (size_t)snprintf(out + o, outlen - o,
			    json ? "\\\\x%02x" : "\\x%02x", *p);
		} else {
			out[o++] = (char)*p;
		}
		p++, left--;
	}
	out[o] = '\0';
}

static const char *
log_level_name(int prio)
{
	switch (prio) {
	case LOG_ERR:
	case LOG_CRIT:
	case LOG_ALERT:
	case LOG_EMERG:
		return "error";
	case LOG_WARNING:
		return "warning";
	default:
		return "info";
	}
}

static void
log_emit(int prio, const char *msg)
{
	char esc[LOG_MAX_LINE], line[LOG_MAX_LINE + 512], stamp[64];
	struct timeval tv;
	struct tm tm;
	int n;

	log_escape(msg, log_state.json, esc, sizeof(esc));
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	if (log_state.json) {
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "{\"time\":\"%s.%06ld\","
		    "\"host\":\"%s\",\"program\":\"%s\",\"pid\":%ld,"
		    "\"level\":\"%s\",\"message\":\"%s\"}\n", stamp,
		    (long)tv.tv_usec, log_state.host, log_state.ident,
		    (long)getpid(), log_level_name(prio), esc);
	} else {
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s %s %s[%ld]: %s%s\n",
		    stamp, log_state.host, log_state.ident, (long)getpid(),
		    prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ?
		    "warning: " : "", esc);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	/* One write per line: O_APPEND makes it atomic between writers. */
	(void)!write(log_state.fd, line, (size_t)n);
}

void
log_msg(int prio, const char *fmt, ...)
{
	char msg[LOG_MAX_LINE], esc[LOG_MAX_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_state.dest == LOG_DEST_NONE)
		return;
	if (log_state.dest == LOG_DEST_SYSLOG) {
		/* Not every syslog daemon escapes what a peer put in a
		 * line: do it here, as for a file. */
		log_escape(msg, false, esc, sizeof(esc));
		syslog(prio, "%s%s", prio <= LOG_ERR ? "error: " :
		    prio == LOG_WARNING ? "warning: " : "", esc);
	} else {
		log_emit(prio, msg);
	}
}

void
log_close(void)
{
	if (log_state.dest == LOG_DEST_SYSLOG)
		closelog();
	else if (log_state.dest == LOG_DEST_FILE)
		close(log_state.fd);
	log_state.dest = LOG_DEST_STDERR;
	log_state.fd = 2;
}
