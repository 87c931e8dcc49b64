/*
 * control_client: connect to ternd's control socket and send a request
 * (see control_client.h).  Blocking, with a bound on every wait: tern
 * is a command-line tool, and a wedged daemon must not wedge it.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_client.h"
#include "control_proto.h"

/* How long ternd may take to answer (a listing of a large queue is
 * read on its worker first). */
#define CONTROL_CLIENT_TIMEOUT 120

bool
control_client_down(int errnum)
{
	return errnum == ENOENT || errnum == ECONNREFUSED;
}

static int
control_client_connect(const char *queue_dir, struct errbuf *eb)
{
	struct timeval tv = { CONTROL_CLIENT_TIMEOUT, 0 };
	struct sockaddr_un sun;
	int fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s",
	    queue_dir, CONTROL_SOCKET) >= sizeof(sun.sun_path))
		return errbuf_set(eb, "the path %s/%s is too long for a "
		    "socket", queue_dir, CONTROL_SOCKET);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errbuf_errno(eb, errno, "socket");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		close(fd);
		return errbuf_errno(eb, saved, "connect to ternd at %s",
		    sun.sun_path);
	}
	return fd;
}

static int
control_client_send(int fd, const char *line, struct errbuf *eb)
{
	size_t len = strlen(line), off = 0;
	ssize_t n;

	if (len + 1 > CONTROL_LINE_MAX)
		return errbuf_set(eb, "request too long");
	while (off < len + 1) {
		n = off < len ? send(fd, line + off, len - off,
		    MSG_NOSIGNAL) : send(fd, "\n", 1, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return errbuf_errno(eb, errno, "send to ternd");
		off += (size_t)n;
	}
	return 0;
}

FILE *
control_client_request(const char *queue_dir, const char *line,
    struct errbuf *eb)
{
	char *status = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int fd, sent;

	if ((fd = control_client_connect(queue_dir, eb)) < 0)
		return NULL;
	/* A refused caller's request may fail to go out: the refusal is
	 * still there to read. */
	sent = control_client_send(fd, line, eb);
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return NULL;
	}
	errno = 0;
	if ((n = getline(&status, &cap, f)) <= 0) {
		if (sent == 0)
			errbuf_errno(eb, errno ? errno : EPIPE, "no answer "
			    "from ternd");
		eb->errnum = 0;
	} else if (strcmp(status, "ok\n") == 0) {
		free(status);
		return f;
	} else {
		status[strcspn(status, "\n")] = '\0';
		errbuf_clear(eb);
		errbuf_set(eb, "ternd: %s", strncmp(status, "error ", 6) == 0 ?
		    status + 6 : status);
		if (strcmp(status, "error permission denied") == 0)
			eb->errnum = EACCES;
	}
	free(status);
	fclose(f);
	return NULL;
}
