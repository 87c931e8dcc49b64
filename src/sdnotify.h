/*
 * sdnotify: tell a service manager (systemd, Type=notify) what ternd is
 * doing, with the sd_notify(3) datagram protocol written out by hand, so
 * ternd links no libsystemd.
 *
 * The manager passes a Unix datagram socket in $NOTIFY_SOCKET: an
 * absolute path, or "@name" for the abstract namespace.  Each message is
 * one datagram of newline-separated KEY=VALUE lines.  Without the
 * variable every call is a no-op, so ternd runs the same under any
 * supervisor or none.
 */
#ifndef TERN_SDNOTIFY_H
#define TERN_SDNOTIFY_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "errbuf.h"

/* Longest message sent, STATUS included (longer ones are cut). */
#define SDNOTIFY_MSG_MAX 512

enum sdnotify_state {
	SDNOTIFY_READY,     /* READY=1: started, or a reload is done */
	SDNOTIFY_RELOADING, /* RELOADING=1 and MONOTONIC_USEC=now */
	SDNOTIFY_STOPPING,  /* STOPPING=1 */
	SDNOTIFY_STATUS,    /* only STATUS= */
};

/*
 * Read $NOTIFY_SOCKET once and remove it from the environment, so the
 * commands ternd runs (oauth2_token_command) cannot speak for it.  Call
 * before anything else here.  Returns 1 when the variable is set, else 0.
 */
int sdnotify_init(void);

/*
 * Turn a $NOTIFY_SOCKET value into a socket address: "/path" or "@name"
 * (abstract namespace: a leading NUL byte, the length counting only the
 * name).  Returns 0, or -1 with eb set for a relative path, an empty
 * name or one too long for sun_path.
 */
int sdnotify_addr(const char *value, struct sockaddr_un *sun,
    socklen_t *len, struct errbuf *eb);

/*
 * Format the message for a state into buf: "READY=1", "RELOADING=1\n
 * MONOTONIC_USEC=<usec>", "STOPPING=1", followed (or, for
 * SDNOTIFY_STATUS, formed) by "STATUS=<status>" when status is not NULL.
 * Control characters in status become spaces (a status is one line).
 * Returns the length, cut to len - 1.
 */
size_t sdnotify_format(char *buf, size_t len, enum sdnotify_state st,
    unsigned long long usec, const char *status);

/*
 * Send the message for a state (MONOTONIC_USEC from CLOCK_MONOTONIC) to
 * the socket sdnotify_init found.  Returns 0 when sent, 1 when there is
 * no socket (nothing to do), -1 with eb set when sending failed.
 */
int sdnotify_send(enum sdnotify_state st, const char *status,
    struct errbuf *eb);

#endif
