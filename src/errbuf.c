/*
 * errbuf: bounded, layered error messages (see errbuf.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "errbuf.h"

void
errbuf_clear(struct errbuf *eb)
{
	eb->msg[0] = '\0';
	eb->code = 0;
	eb->errnum = 0;
}

static void
errbuf_vset(struct errbuf *eb, const char *fmt, va_list ap)
{
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
}

int
errbuf_set(struct errbuf *eb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(eb, fmt, ap);
	va_end(ap);
	return -1;
}

int
errbuf_setc(struct errbuf *eb, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errbuf_vset(eb, fmt, ap);
	va_end(ap);
	eb->code = code;
	return -1;
}

static int
errbuf_code_of_errno(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
	case EAGAIN:
	case EINTR:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
		return EX_TEMPFAIL;
	case EACCES:
	case EPERM:
	case EROFS:
	case ENOENT:
	case ENOTDIR:
		return EX_CANTCREAT;
	default:
		return EX_IOERR;
	}
}

int
errbuf_errno(struct errbuf *eb, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	errbuf_vset(eb, fmt, ap);
	va_end(ap);
	len = strlen(eb->msg);
	snprintf(eb->msg + len, sizeof(eb->msg) - len, ": %s",
	    strerror(errnum));
	eb->code = errbuf_code_of_errno(errnum);
	eb->errnum = errnum;
	return -1;
}

int
errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
	char old[ERRBUF_SIZE];
	size_t len;
	va_list ap;

	memcpy(old, eb->msg, sizeof(old));
	va_start(ap, fmt);
	errbuf_vset(eb, fmt, ap);
	va_end(ap);
	len = strlen(eb->msg);
	snprintf(eb->msg + len, sizeof(eb->msg) - len, ": %s", old);
	return -1;
}
