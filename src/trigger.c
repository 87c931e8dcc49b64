/*
 * trigger: one-byte datagrams to ternd (see trigger.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "trigger.h"

int
trigger_send(const char *queue_dir, char cmd, struct errbuf *eb)
{
	struct sockaddr_un sun;
	int fd, saved;
	ssize_t n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    queue_dir, TRIGGER_SOCKET) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return errbuf_set(eb, "the path %s/%s is too long for a "
		    "socket (at most %zu bytes)", queue_dir, TRIGGER_SOCKET,
		    sizeof(sun.sun_path) - 1);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errbuf_errno(eb, errno, "socket");
	n = sendto(fd, &cmd, 1, 0, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	close(fd);
	/* EAGAIN: the daemon's socket buffer is full of wake-ups already. */
	if (n == 1 || (n < 0 && (saved == EAGAIN || saved == EWOULDBLOCK)))
		return 0;
	errno = saved;
	return errbuf_errno(eb, saved, "trigger %s", sun.sun_path);
}

const char *
trigger_flush_advice(int errnum)
{
	if (errnum == EACCES || errnum == EPERM)
		return "only root and the mail system's group may ask ternd "
		    "to flush";
	return "ternd is not running; start it, it delivers the queue when "
	    "it starts";
}
