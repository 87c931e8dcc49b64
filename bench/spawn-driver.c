/*
 * spawn-driver — per-invocation latency driver for bench/submit.
 *
 * Runs COUNT invocations of a command (posix_spawn + waitpid), each with
 * stdin opened from a file (like the shell's "< file"), stdout on
 * /dev/null and stderr appended to a log file, from PAR submitter threads
 * that each keep one invocation in flight.  Each invocation is timed with
 * CLOCK_MONOTONIC from just before posix_spawn() to just after waitpid()
 * returns.  Prints one line of key=value results on stdout.
 *
 * With -F DIR it spawns nothing: each "invocation" is instead one durable
 * commit of the input into DIR (open O_CREAT|O_EXCL, write, fsync, close),
 * to show what a single fsync'd 4 KiB file costs on the queue's filesystem.
 * The files are removed afterwards.
 *
 * Optionally (-S PATH) it also serves a UNIX-domain stream socket at PATH
 * that accepts a connection, reads once and closes it, the way Postfix's
 * pickup trigger server answers postdrop's wake-up request; or (-D PATH)
 * a UNIX-domain datagram socket that it drains, the way ternd takes its
 * one-byte triggers.  Either stands in for the running daemon, so that the
 * submitters pay for their wake-up exactly as they would on a live system.
 *
 * usage: spawn-driver -n COUNT -p PAR -i INPUT [-e ERRLOG] [-o LATFILE]
 *                     [-S SOCKET | -D SOCKET] -- PROGRAM [ARG...]
 *        spawn-driver -n COUNT -p PAR -i INPUT -F DIR
 * The child gets the driver's environment unchanged.
 * Exit status: 0 if every invocation exited 0, 1 if any failed, 2 on usage
 * or setup errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long count = 0, par = 1;
static const char *input, *errlog = "/dev/null", *latfile, *sockpath;
static int sock_dgram;            /* -D: sockpath is a datagram socket */
static const char *fsync_dir;     /* -F: fsync probe instead of spawning */
static char *input_buf;
static size_t input_len;
static char **cmd;

static int64_t *lat_ns;           /* per-invocation latency, by index */
static atomic_long next_index;    /* next invocation to start */
static atomic_long failures, spawn_errors;
static atomic_long triggers;
static atomic_int reported;       /* failure messages printed so far */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void report(long idx, const char *fmt, long v)
{
	if (atomic_fetch_add(&reported, 1) < 5) {
		fprintf(stderr, "spawn-driver: invocation %ld: ", idx);
		fprintf(stderr, fmt, v);
		fputc('\n', stderr);
	}
}

static void *submitter(void *arg)
{
	(void)arg;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, input, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, errlog,
					 O_WRONLY | O_APPEND | O_CREAT, 0644);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);

	for (;;) {
		long i = atomic_fetch_add(&next_index, 1);
		if (i >= count)
			break;
		pid_t pid;
		int status;
		int64_t t0 = now_ns();
		int rc = posix_spawn(&pid, cmd[0], &fa, &at, cmd, environ);
		if (rc != 0) {
			lat_ns[i] = now_ns() - t0;
			atomic_fetch_add(&failures, 1);
			atomic_fetch_add(&spawn_errors, 1);
			if (atomic_fetch_add(&reported, 1) < 5)
				fprintf(stderr, "spawn-driver: invocation %ld: "
					"posix_spawn %s: %s\n", i, cmd[0],
					strerror(rc));
			continue;
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				perror("spawn-driver: waitpid");
				exit(2);
			}
		}
		lat_ns[i] = now_ns() - t0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		atomic_fetch_add(&failures, 1);
		if (WIFEXITED(status))
			report(i, "exited with status %ld",
			       WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			report(i, "killed by signal %ld", WTERMSIG(status));
		else
			report(i, "ended with wait status %ld", status);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return NULL;
}

/* Answer trigger requests like a Postfix trigger server: read once, close. */
/* -F: one durable commit of the input per "invocation". */
static void *committer(void *arg)
{
	(void)arg;
	char path[4096];

	for (;;) {
		long i = atomic_fetch_add(&next_index, 1);
		if (i >= count)
			break;
		snprintf(path, sizeof path, "%s/probe.%ld", fsync_dir, i);
		int64_t t0 = now_ns();
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		int ok = fd >= 0 &&
			 write(fd, input_buf, input_len) == (ssize_t)input_len &&
			 fsync(fd) == 0;
		if (fd >= 0 && close(fd) != 0)
			ok = 0;
		lat_ns[i] = now_ns() - t0;
		if (!ok) {
			atomic_fetch_add(&failures, 1);
			if (atomic_fetch_add(&reported, 1) < 5)
				fprintf(stderr, "spawn-driver: %s: %s\n", path,
					strerror(errno));
		}
	}
	return NULL;
}

static void read_input(void)
{
	FILE *f = fopen(input, "rb");
	if (!f || fseek(f, 0, SEEK_END) != 0) {
		perror(input);
		exit(2);
	}
	input_len = (size_t)ftell(f);
	rewind(f);
	input_buf = malloc(input_len + 1);
	if (!input_buf || fread(input_buf, 1, input_len, f) != input_len) {
		perror(input);
		exit(2);
	}
	fclose(f);
}

static void *trigger_server(void *arg)
{
	int lfd = *(int *)arg;
	char buf[256];

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("spawn-driver: accept");
			return NULL;
		}
		if (read(fd, buf, sizeof buf) > 0)
			atomic_fetch_add(&triggers, 1);
		close(fd);
	}
}

/* Drain one-byte datagram triggers. */
static void *trigger_drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[256];

	for (;;) {
		if (recv(fd, buf, sizeof buf, 0) >= 0)
			atomic_fetch_add(&triggers, 1);
		else if (errno != EINTR) {
			perror("spawn-driver: recv");
			return NULL;
		}
	}
}

static int listen_unix(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "spawn-driver: socket path too long: %s\n", path);
		exit(2);
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 256) < 0) ||
	    chmod(path, 0666) < 0) {
		fprintf(stderr, "spawn-driver: listen on %s: %s\n", path,
			strerror(errno));
		exit(2);
	}
	return fd;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct_ms(const int64_t *s, long n, double p)
{
	long rank = (long)((p / 100.0) * n + 0.999999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1] / 1e6;
}

static void usage(void)
{
	fprintf(stderr, "usage: spawn-driver -n COUNT -p PAR -i INPUT "
		"[-e ERRLOG] [-o LATFILE] [-S|-D SOCKET] -- PROGRAM [ARG...]\n"
		"       spawn-driver -n COUNT -p PAR -i INPUT -F DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int c;
	while ((c = getopt(argc, argv, "+n:p:i:e:o:S:D:F:")) != -1) {
		switch (c) {
		case 'n': count = atol(optarg); break;
		case 'p': par = atol(optarg); break;
		case 'i': input = optarg; break;
		case 'e': errlog = optarg; break;
		case 'o': latfile = optarg; break;
		case 'S': sockpath = optarg; sock_dgram = 0; break;
		case 'D': sockpath = optarg; sock_dgram = 1; break;
		case 'F': fsync_dir = optarg; break;
		default: usage();
		}
	}
	if (count < 1 || par < 1 || !input || (!fsync_dir && optind >= argc))
		usage();
	cmd = argv + optind;
	if (fsync_dir)
		read_input();
	if (access(input, R_OK) != 0) {
		fprintf(stderr, "spawn-driver: %s: %s\n", input, strerror(errno));
		return 2;
	}
	if (par > count)
		par = count;

	lat_ns = calloc((size_t)count, sizeof *lat_ns);
	pthread_t *th = calloc((size_t)par, sizeof *th);
	if (!lat_ns || !th) {
		perror("spawn-driver: calloc");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);

	if (sockpath) {
		static int lfd;
		pthread_t st;
		lfd = listen_unix(sockpath, sock_dgram ? SOCK_DGRAM : SOCK_STREAM);
		if (pthread_create(&st, NULL,
				   sock_dgram ? trigger_drain : trigger_server,
				   &lfd) != 0) {
			perror("spawn-driver: pthread_create");
			return 2;
		}
		pthread_detach(st);
	}

	int64_t w0 = now_ns();
	for (long t = 0; t < par; t++)
		if (pthread_create(&th[t], NULL, fsync_dir ? committer : submitter,
				   NULL) != 0) {
			perror("spawn-driver: pthread_create");
			return 2;
		}
	for (long t = 0; t < par; t++)
		pthread_join(th[t], NULL);
	int64_t wall = now_ns() - w0;

	if (fsync_dir) {
		char path[4096];
		for (long i = 0; i < count; i++) {
			snprintf(path, sizeof path, "%s/probe.%ld", fsync_dir, i);
			unlink(path);
		}
	}

	if (latfile) {
		FILE *f = fopen(latfile, "w");
		if (!f) {
			perror(latfile);
			return 2;
		}
		for (long i = 0; i < count; i++)
			fprintf(f, "%.6f\n", lat_ns[i] / 1e6);
		fclose(f);
	}

	/* Let the trigger server finish with the last connections. */
	if (sockpath) {
		usleep(20000);
		unlink(sockpath);
	}

	int64_t sum = 0;
	for (long i = 0; i < count; i++)
		sum += lat_ns[i];
	qsort(lat_ns, (size_t)count, sizeof *lat_ns, cmp_i64);
	printf("runs=%ld parallel=%ld failures=%ld spawn_errors=%ld "
	       "wall_s=%.6f per_sec=%.2f min_ms=%.4f p50_ms=%.4f "
	       "p90_ms=%.4f p99_ms=%.4f max_ms=%.4f mean_ms=%.4f",
	       count, par, (long)failures, (long)spawn_errors, wall / 1e9,
	       count / (wall / 1e9), lat_ns[0] / 1e6,
	       pct_ms(lat_ns, count, 50), pct_ms(lat_ns, count, 90),
	       pct_ms(lat_ns, count, 99), lat_ns[count - 1] / 1e6,
	       sum / 1e6 / count);
	if (sockpath)
		printf(" triggers=%ld", (long)triggers);
	printf("\n");
	return failures ? 1 : 0;
}
