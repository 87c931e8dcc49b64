/*
 * sdnotify: the sd_notify(3) protocol for ternd (see sdnotify.h).
 *
 * It owns one copy of $NOTIFY_SOCKET, taken out of the environment at
 * start, and nothing else: each message opens a datagram socket, sends
 * and closes it, as libsystemd does, so a manager restarted in between
 * is still reached and no descriptor lives across privilege changes.
 * It never logs; the caller decides what a failure is worth.
 */
#include "autoconf.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sdnotify.h"

static char sdnotify_socket[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
static int sdnotify_have;

int
sdnotify_init(void)
{
	const char *v = getenv("NOTIFY_SOCKET");

	sdnotify_have = 0;
	if (v == NULL || *v == '\0')
		return 0;
	/* Too long is kept too long, so sdnotify_addr can say so. */
	snprintf(sdnotify_socket, sizeof(sdnotify_socket), "%s", v);
	sdnotify_have = 1;
	unsetenv("NOTIFY_SOCKET");
	return 1;
}

int
sdnotify_addr(const char *value, struct sockaddr_un *sun, socklen_t *len,
    struct errbuf *eb)
{
	size_t n = strlen(value);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (value[0] != '/' && value[0] != '@')
		return errbuf_set(eb, "NOTIFY_SOCKET=%s is neither an absolute "
		    "path nor an @abstract name", value);
	if (value[0] == '@' && n < 2)
		return errbuf_set(eb, "NOTIFY_SOCKET=@ names no socket");
	/* A path needs its NUL; an abstract name has a NUL in front. */
	if (n >= sizeof(sun->sun_path))
		return errbuf_set(eb, "NOTIFY_SOCKET=%.40s...: longer than a "
		    "socket address holds (%zu bytes)", value,
		    sizeof(sun->sun_path) - 1);
	memcpy(sun->sun_path, value, n);
	if (value[0] == '@') {
		sun->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
		    1);
	}
	return 0;
}

/* Append "KEY=value" as a line of its own, control characters made
 * spaces; stops at the end of buf. */
static size_t
sdnotify_append(char *buf, size_t len, size_t o, const char *key,
    const char *value)
{
	const unsigned char *p;

	if (o > 0 && o + 1 < len)
		buf[o++] = '\n';
	for (p = (const unsigned char *)key; *p != '\0' && o + 1 < len; p++)
		buf[o++] = (char)*p;
	for (p = (const unsigned char *)value; *p != '\0' && o + 1 < len;
	    p++)
		buf[o++] = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;
	buf[o] = '\0';
	return o;
}

size_t
sdnotify_format(char *buf, size_t len, enum sdnotify_state st,
    unsigned long long usec, const char *status)
{
	char num[32];
	size_t o = 0;

	if (len == 0)
		return 0;
	buf[0] = '\0';
	switch (st) {
	case SDNOTIFY_READY:
		o = sdnotify_append(buf, len, o, "READY=", "1");
		break;
	case SDNOTIFY_RELOADING:
		/* systemd 253 and later want the time the reload began, to
		 * tell this reload from an earlier one. */
		snprintf(num, sizeof(num), "%llu", usec);
		o = sdnotify_append(buf, len, o, "RELOADING=", "1");
		o = sdnotify_append(buf, len, o, "MONOTONIC_USEC=", num);
		break;
	case SDNOTIFY_STOPPING:
		o = sdnotify_append(buf, len, o, "STOPPING=", "1");
		break;
	case SDNOTIFY_STATUS:
		break;
	}
	if (status != NULL)
		o = sdnotify_append(buf, len, o, "STATUS=", status);
	return o;
}

static unsigned long long
sdnotify_now_usec(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL;
}

int
sdnotify_send(enum sdnotify_state st, const char *status,
    struct errbuf *eb)
{
	char msg[SDNOTIFY_MSG_MAX];
	struct sockaddr_un sun;
	struct timeval tv = { 2, 0 };
	socklen_t slen;
	size_t n;
	ssize_t sent;
	int fd, saved;

	if (!sdnotify_have)
		return 1;
	if (sdnotify_addr(sdnotify_socket, &sun, &slen, eb) < 0)
		return -1;
	n = sdnotify_format(msg, sizeof(msg), st, sdnotify_now_usec(),
	    status);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return errbuf_errno(eb, errno, "NOTIFY_SOCKET: socket");
	/* Blocking, like libsystemd, but never for long: a manager that
	 * does not read must not stall the event loop. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	sent = sendto(fd, msg, n, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    slen);
	saved = errno;
	close(fd);
	if (sent < 0)
		return errbuf_errno(eb, saved, "NOTIFY_SOCKET %s",
		    sdnotify_socket);
	return 0;
}
