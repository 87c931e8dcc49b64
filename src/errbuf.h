/*
 * errbuf: a caller-owned, bounded error message.
 *
 * Functions that can fail return 0/-1 and describe the failure in a
 * struct errbuf passed by the caller.  Each layer may prepend its own
 * context ("queue /var/spool/tern: maildrop: No space left on device"),
 * so the message a user finally reads names the thing that failed.
 * Messages are truncated, never overflowed.
 */
#ifndef TERN_ERRBUF_H
#define TERN_ERRBUF_H

#include <stddef.h>

#define ERRBUF_SIZE 1024

struct errbuf {
	char msg[ERRBUF_SIZE];
	int code;   /* optional sysexits.h code chosen where the error arose */
	int errnum; /* errno behind the error, 0 when none */
};

/* Empty the buffer. */
void errbuf_clear(struct errbuf *eb);

/* Set the message (printf format); returns -1 so callers can
 * "return errbuf_set(eb, ...)". */
int errbuf_set(struct errbuf *eb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like errbuf_set, and record a sysexits.h code for the *_main.c files. */
int errbuf_setc(struct errbuf *eb, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set the message to "<formatted>: strerror(errnum)" and pick a sysexits
 * code from errnum (ENOSPC/EDQUOT: 75, EACCES/EROFS/EPERM: 73, else 74).
 * Returns -1. */
int errbuf_errno(struct errbuf *eb, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend "<formatted>: " to the current message.  Returns -1. */
int errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
