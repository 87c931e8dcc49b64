/*
 * oauth2_cmd: one run of oauth2_token_command in a child process,
 * watched by the event loop — the loop reads the child's standard
 * output through a non-blocking pipe and reaps it without waiting
 * (WNOHANG, polled after its output ends), so a slow command never
 * stalls other sessions.  The child gets /dev/null as standard input,
 * keeps ternd's standard error (its complaints reach ternd's log when
 * that is stderr), and nothing else of ternd's open files.  A command
 * still running after its time limit is killed.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oauth2_int.h"

#define OAUTH2_CMD_REAP_MS 20   /* between looks for the child's exit */

struct oauth2_cmd {
	struct event_base *base;
	oauth2_cmd_fn cb;
	void *arg;
	pid_t pid;
	int fd;                 /* read end of the child's stdout */
	bool eof;
	char out[OAUTH2_TOKEN_MAX + 2];
	size_t len;
	bool overflow;
	unsigned timeout;
	struct event *ev_read, *ev_timer, *ev_reap;
};

static void
oauth2_cmd_free(struct oauth2_cmd *c)
{
	int st;

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		/* Killed: it is gone at once, so this wait is short. */
		while (waitpid(c->pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	if (c->ev_reap != NULL)
		event_free(c->ev_reap);
	if (c->fd != -1)
		close(c->fd);
	memset(c->out, 0, sizeof(c->out)); /* it held a token */
	free(c);
}

static void
oauth2_cmd_finish(struct oauth2_cmd *c, enum oauth2_status st,
    const char *line, const char *err)
{
	if (c->cb != NULL)
		c->cb(st, line, err, c->arg);
	oauth2_cmd_free(c);
}

/* The child has exited with status st: report. */
static void
oauth2_cmd_exited(struct oauth2_cmd *c, int st)
{
	char err[128];

	c->pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		c->out[strcspn(c->out, "\r\n")] = '\0';
		if (c->overflow)
			oauth2_cmd_finish(c, OAUTH2_FAILED, NULL, "its first "
			    "line is longer than 8192 bytes");
		else if (c->out[0] == '\0')
			oauth2_cmd_finish(c, OAUTH2_FAILED, NULL, "it printed "
			    "no token");
		else
			oauth2_cmd_finish(c, OAUTH2_OK, c->out, NULL);
		return;
	}
	if (WIFEXITED(st))
		snprintf(err, sizeof(err), "it exited with status %d",
		    WEXITSTATUS(st));
	else
		snprintf(err, sizeof(err), "it was killed by signal %d",
		    WTERMSIG(st));
	oauth2_cmd_finish(c, OAUTH2_FAILED, NULL, err);
}

/* Output ended: has the child exited?  If not, look again shortly. */
static void
oauth2_cmd_on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct oauth2_cmd *c = arg;
	struct timeval tv = { 0, OAUTH2_CMD_REAP_MS * 1000 };
	pid_t r;
	int st;

	(void)fd;
	(void)what;
	while ((r = waitpid(c->pid, &st, WNOHANG)) == -1 && errno == EINTR)
		;
	if (r == c->pid)
		oauth2_cmd_exited(c, st);
	else if (r == -1) {
		c->pid = 0;
		oauth2_cmd_finish(c, OAUTH2_FAILED, NULL, strerror(errno));
	} else
		event_add(c->ev_reap, &tv);
}

static void
oauth2_cmd_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct oauth2_cmd *c = arg;
	char sink[512];
	ssize_t n;

	(void)what;
	for (;;) {
		if (c->len < sizeof(c->out) - 1)
			n = read(fd, c->out + c->len, sizeof(c->out) - 1 -
			    c->len);
		else
			n = read(fd, sink, sizeof(sink));
		if (n > 0 && c->len < sizeof(c->out) - 1) {
			c->len += (size_t)n;
			c->out[c->len] = '\0';
			if (strcspn(c->out, "\r\n") > OAUTH2_TOKEN_MAX)
				c->overflow = true;
			continue;
		}
		if (n > 0)
			continue;       /* past the first line: drop it */
		if (n == -1 && errno == EINTR)
			continue;
		break;
	}
	if (n == -1 && errno == EAGAIN)
		return;
	/* EOF (or a read error): wait for the exit. */
	event_del(c->ev_read);
	oauth2_cmd_on_reap(-1, 0, c);
}

static void
oauth2_cmd_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct oauth2_cmd *c = arg;
	char err[64];

	(void)fd;
	(void)what;
	snprintf(err, sizeof(err), "it did not finish within %u s; killed",
	    c->timeout);
	oauth2_cmd_finish(c, OAUTH2_FAILED, NULL, err);
}

/* In the child: only async-signal-safe calls until exec. */
static void
oauth2_cmd_child(const char *command, int out)
{
	int null = open("/dev/null", O_RDONLY);

	if (null == -1 || dup2(null, 0) == -1 || dup2(out, 1) == -1)
		_exit(127);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0) != 0)
#endif
	{
		long fd, max = sysconf(_SC_OPEN_MAX);

		for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536);
		    fd++)
			close((int)fd);
	}
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	_exit(127);
}

struct oauth2_cmd *
oauth2_cmd_run(struct event_base *base, const char *command,
    unsigned timeout, oauth2_cmd_fn cb, void *arg, struct errbuf *eb)
{
	struct timeval tv = { (time_t)timeout, 0 };
	struct oauth2_cmd *c;
	int p[2];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return errbuf_set(eb, "out of memory"), NULL;
	c->base = base;
	c->cb = cb;
	c->arg = arg;
	c->fd = -1;
	c->timeout = timeout;
	if (pipe2(p, O_CLOEXEC) == -1) {
		errbuf_errno(eb, errno, "oauth2_token_command: pipe");
		free(c);
		return NULL;
	}
	if ((c->pid = fork()) == -1) {
		errbuf_errno(eb, errno, "oauth2_token_command: fork");
		close(p[0]);
		close(p[1]);
		free(c);
		return NULL;
	}
	if (c->pid == 0)
		oauth2_cmd_child(command, p[1]);
	close(p[1]);
	c->fd = p[0];
	if (fcntl(c->fd, F_SETFL, O_NONBLOCK) == -1 ||
	    (c->ev_read = event_new(base, c->fd, EV_READ | EV_PERSIST,
	    oauth2_cmd_on_read, c)) == NULL ||
	    (c->ev_timer = evtimer_new(base, oauth2_cmd_on_timer, c)) == NULL ||
	    (c->ev_reap = evtimer_new(base, oauth2_cmd_on_reap, c)) == NULL ||
	    event_add(c->ev_read, NULL) < 0 ||
	    event_add(c->ev_timer, &tv) < 0) {
		oauth2_cmd_free(c);
		errbuf_set(eb, "oauth2_token_command: cannot watch its output");
		return NULL;
	}
	return c;
}

void
oauth2_cmd_cancel(struct oauth2_cmd *c)
{
	if (c != NULL)
		oauth2_cmd_free(c);
}
