/*
 * relay-driver — the C helpers of bench/relay (compiled on the fly, like
 * spawn-driver.c for bench/submit).  One program, several subcommands:
 *
 *   relay-driver sink -o LOG -- PROGRAM [ARG...]
 *       Runs PROGRAM (Postfix's smtp-sink with -c) with its stdout on a
 *       pipe, and appends "COUNT T_NS" to LOG each time the "mesg=COUNT"
 *       counter smtp-sink prints changes, T_NS being CLOCK_MONOTONIC when
 *       the update was read.  CLOCK_MONOTONIC is system-wide, so these
 *       times compare with the submitters' times.  LOG starts with
 *       "0 T_NS".  SIGTERM/SIGINT are passed on to PROGRAM; the driver
 *       exits once PROGRAM has.
 *
 *   relay-driver submit -n COUNT -p PAR -i INPUT [-u USER] [-e ERRLOG]
 *                       -- PROGRAM [ARG...]
 *       COUNT invocations of PROGRAM (posix_spawn + waitpid) with stdin
 *       opened from INPUT, from PAR threads each keeping one in flight
 *       (spawn-driver.c's approach).  With -u the driver first becomes
 *       USER (so the children run as USER without an extra exec).  Prints
 *       one line of key=value results, t_start_ns being just before the
 *       first posix_spawn().
 *
 *   relay-driver latency -n COUNT -i INPUT -s SINKLOG [-w WARMUP] [-g GAP_MS]
 *                        [-t TIMEOUT_S] [-u USER] [-e ERRLOG] [-o LATFILE]
 *                        -- PROGRAM [ARG...]
 *       One invocation at a time: take the time, spawn and wait for the
 *       submission, then wait (inotify on SINKLOG, bounded) until the sink
 *       has counted one more message; the latency ends at the sink's
 *       timestamp for that message.  WARMUP untimed rounds first, GAP_MS
 *       of idle time between rounds.  submit_p50_ms is the median time
 *       the submission program itself took (the rest is the MTA's).
 *
 *   relay-driver waitcount -s SINKLOG -c TARGET [-t TIMEOUT_S] [-S STALL_S]
 *       Waits until the sink's count reaches TARGET; prints
 *       "count=N t_ns=T" (T: when it got there).  Exit 1 (with timeout=1
 *       or stalled=1) if TIMEOUT_S pass, or STALL_S pass without the count
 *       moving; then T is the time of the last change.
 *
 *   relay-driver pss [-i INTERVAL_MS] PID...
 *       PSS (from /proc/PID/smaps_rollup) summed over the PIDs and all
 *       their descendants.  Once: "pss_kb=N uss_kb=N procs=M", USS being
 *       the private pages (Private_Clean + Private_Dirty).  With -i, samples
 *       until SIGTERM/SIGINT (or all PIDs are gone), then prints
 *       "max_kb=N last_kb=N mean_kb=N samples=N max_procs=N".
 *
 *   relay-driver cpu PID...
 *       CPU time (user + system) used so far by the PIDs and their
 *       descendants, counting children they have reaped: "cpu_ms=N
 *       procs=M".  The difference of two readings is what the process
 *       tree used in between (children that exit in between are counted
 *       by their parent's cutime/cstime once reaped).
 *
 *   relay-driver freeport
 *       Prints a TCP port that is free on 127.0.0.1 right now.
 *
 *   relay-driver now
 *       Prints CLOCK_MONOTONIC in ns (to time a command from a script).
 *
 * Exit status: 0 on success, 1 when a run failed (a submission exited
 * non-zero, a wait timed out), 2 on usage or setup errors.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "relay-driver: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static void
become(const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		die("no such user: %s", user);
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		die("cannot become %s", user);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in ms. */
static double
pct_ms(const int64_t *s, long n, double p)
{
	long rank = (long)((p / 100.0) * n + 0.999999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1] / 1e6;
}

static void
print_stats(int64_t *v, long n)
{
	int64_t sum = 0;
	for (long i = 0; i < n; i++)
		sum += v[i];
	qsort(v, (size_t)n, sizeof *v, cmp_i64);
	printf(" min_ms=%.4f p50_ms=%.4f p90_ms=%.4f p99_ms=%.4f max_ms=%.4f "
	       "mean_ms=%.4f", v[0] / 1e6, pct_ms(v, n, 50), pct_ms(v, n, 90),
	       pct_ms(v, n, 99), v[n - 1] / 1e6, sum / 1e6 / n);
}

/* ------------------------------------------------------------ spawning */

struct spawner {
	const char *input, *errlog;
	char **cmd;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
};

static void
spawner_init(struct spawner *sp)
{
	sigset_t none;

	posix_spawn_file_actions_init(&sp->fa);
	posix_spawn_file_actions_addopen(&sp->fa, 0, sp->input, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&sp->fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&sp->fa, 2, sp->errlog,
					 O_WRONLY | O_APPEND | O_CREAT, 0644);
	posix_spawnattr_init(&sp->at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&sp->at, &none);
	posix_spawnattr_setflags(&sp->at, POSIX_SPAWN_SETSIGMASK);
}

static atomic_int reported;

/* One invocation; returns 0 if it exited 0. */
static int
spawn_one(struct spawner *sp, long idx)
{
	pid_t pid;
	int status, rc;

	rc = posix_spawn(&pid, sp->cmd[0], &sp->fa, &sp->at, sp->cmd, environ);
	if (rc != 0) {
		if (atomic_fetch_add(&reported, 1) < 5)
			fprintf(stderr, "relay-driver: invocation %ld: "
				"posix_spawn %s: %s\n", idx, sp->cmd[0],
				strerror(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("relay-driver: waitpid");
			exit(2);
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (atomic_fetch_add(&reported, 1) < 5) {
		if (WIFEXITED(status))
			fprintf(stderr, "relay-driver: invocation %ld exited "
				"with status %d\n", idx, WEXITSTATUS(status));
		else
			fprintf(stderr, "relay-driver: invocation %ld: wait "
				"status %d\n", idx, status);
	}
	return -1;
}

/* -------------------------------------------------------------- submit */

static struct spawner sub_sp;
static long sub_count;
static int64_t *sub_lat;
static atomic_long sub_next, sub_failures;

static void *
sub_thread(void *arg)
{
	(void)arg;
	for (;;) {
		long i = atomic_fetch_add(&sub_next, 1);
		if (i >= sub_count)
			break;
		int64_t t0 = now_ns();
		if (spawn_one(&sub_sp, i) < 0)
			atomic_fetch_add(&sub_failures, 1);
		sub_lat[i] = now_ns() - t0;
	}
	return NULL;
}

static int
cmd_submit(int argc, char **argv)
{
	long par = 1;
	const char *user = NULL;
	int c;

	sub_sp.errlog = "/dev/null";
	while ((c = getopt(argc, argv, "+n:p:i:u:e:")) != -1) {
		switch (c) {
		case 'n': sub_count = atol(optarg); break;
		case 'p': par = atol(optarg); break;
		case 'i': sub_sp.input = optarg; break;
		case 'u': user = optarg; break;
		case 'e': sub_sp.errlog = optarg; break;
		default: return 2;
		}
	}
	if (sub_count < 1 || par < 1 || !sub_sp.input || optind >= argc)
		die("%s", "usage: relay-driver submit -n COUNT -p PAR -i INPUT "
		    "[-u USER] [-e ERRLOG] -- PROGRAM [ARG...]");
	sub_sp.cmd = argv + optind;
	if (user)
		become(user);
	if (access(sub_sp.input, R_OK) != 0)
		die("cannot read %s", sub_sp.input);
	if (par > sub_count)
		par = sub_count;
	spawner_init(&sub_sp);
	sub_lat = calloc((size_t)sub_count, sizeof *sub_lat);
	pthread_t *th = calloc((size_t)par, sizeof *th);
	if (!sub_lat || !th)
		die("%s", "out of memory");

	int64_t t0 = now_ns();
	for (long t = 0; t < par; t++)
		if (pthread_create(&th[t], NULL, sub_thread, NULL) != 0)
			die("%s", "pthread_create failed");
	for (long t = 0; t < par; t++)
		pthread_join(th[t], NULL);
	int64_t t1 = now_ns();

	printf("runs=%ld parallel=%ld failures=%ld t_start_ns=%lld "
	       "t_end_ns=%lld wall_s=%.6f per_sec=%.2f", sub_count, par,
	       (long)sub_failures, (long long)t0, (long long)t1,
	       (t1 - t0) / 1e9, sub_count / ((t1 - t0) / 1e9));
	print_stats(sub_lat, sub_count);
	printf("\n");
	return sub_failures ? 1 : 0;
}

/* ------------------------------------------------------------ sink log */

/* Follows a sink log ("COUNT T_NS" lines) as it grows. */
struct sinklog {
	const char *path;
	int fd, ino;
	char part[256];
	size_t npart;
	long count;          /* last count seen */
	int64_t t;           /* when it was reached */
	int64_t t_change;    /* wall time we saw it change */
};

static void
sinklog_open(struct sinklog *sl, const char *path)
{
	memset(sl, 0, sizeof *sl);
	sl->path = path;
	sl->ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (sl->ino < 0 || inotify_add_watch(sl->ino, path, IN_MODIFY) < 0)
		die("inotify on %s failed", path);
	if ((sl->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		die("cannot open %s", path);
	sl->t_change = now_ns();
}

/* Read what was appended; returns 1 if the count reached target (then
 * *t is when), else 0. */
static int
sinklog_scan(struct sinklog *sl, long target, int64_t *t)
{
	char buf[8192];
	ssize_t n;
	int hit = 0;

	if (sl->count >= target) {
		*t = sl->t;
		return 1;
	}
	while ((n = read(sl->fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (sl->npart < sizeof sl->part - 1)
					sl->part[sl->npart++] = buf[i];
				continue;
			}
			sl->part[sl->npart] = '\0';
			sl->npart = 0;
			long cnt;
			long long ts;
			if (sscanf(sl->part, "%ld %lld", &cnt, &ts) != 2)
				continue;
			if (cnt != sl->count)
				sl->t_change = now_ns();
			sl->count = cnt;
			sl->t = ts;
			if (!hit && cnt >= target) {
				hit = 1;
				*t = ts;
			}
		}
	}
	return hit;
}

/* Wait until the count reaches target or deadline/stall passes.
 * Returns 1 when reached, 0 on timeout, -1 on stall. */
static int
sinklog_wait(struct sinklog *sl, long target, int64_t deadline,
	     int64_t stall_ns, int64_t *t)
{
	char ev[4096];

	for (;;) {
		if (sinklog_scan(sl, target, t))
			return 1;
		int64_t now = now_ns();
		if (now >= deadline)
			return 0;
		if (stall_ns > 0 && now - sl->t_change >= stall_ns)
			return -1;
		int64_t wait = deadline - now;
		if (stall_ns > 0 && sl->t_change + stall_ns - now < wait)
			wait = sl->t_change + stall_ns - now;
		/* A backstop period in case an event is missed. */
		if (wait > 500000000)
			wait = 500000000;
		struct pollfd p = { .fd = sl->ino, .events = POLLIN };
		if (poll(&p, 1, (int)(wait / 1000000) + 1) > 0)
			while (read(sl->ino, ev, sizeof ev) > 0)
				;
	}
}

/* ------------------------------------------------------------- latency */

static int
cmd_latency(int argc, char **argv)
{
	struct spawner sp = { .errlog = "/dev/null" };
	const char *user = NULL, *sinkpath = NULL, *latfile = NULL;
	long count = 0, warmup = 0, gap_ms = 50;
	double timeout_s = 30;
	int c;

	while ((c = getopt(argc, argv, "+n:i:s:w:g:t:u:e:o:")) != -1) {
		switch (c) {
		case 'n': count = atol(optarg); break;
		case 'i': sp.input = optarg; break;
		case 's': sinkpath = optarg; break;
		case 'w': warmup = atol(optarg); break;
		case 'g': gap_ms = atol(optarg); break;
		case 't': timeout_s = atof(optarg); break;
		case 'u': user = optarg; break;
		case 'e': sp.errlog = optarg; break;
		case 'o': latfile = optarg; break;
		default: return 2;
		}
	}
	if (count < 1 || !sp.input || !sinkpath || optind >= argc)
		die("%s", "usage: relay-driver latency -n COUNT -i INPUT -s "
		    "SINKLOG [-w WARMUP] [-g GAP_MS] [-t TIMEOUT_S] [-u USER] "
		    "[-e ERRLOG] [-o LATFILE] -- PROGRAM [ARG...]");
	sp.cmd = argv + optind;
	if (user)
		become(user);
	spawner_init(&sp);

	struct sinklog sl;
	sinklog_open(&sl, sinkpath);
	int64_t t;
	sinklog_scan(&sl, 1L << 62, &t);

	int64_t *lat = calloc((size_t)count, sizeof *lat);
	int64_t *sub = calloc((size_t)count, sizeof *sub);
	if (!lat || !sub)
		die("%s", "out of memory");
	long failures = 0;
	for (long i = 0; i < warmup + count; i++) {
		struct timespec gap = { gap_ms / 1000, (gap_ms % 1000) * 1000000 };
		nanosleep(&gap, NULL);
		long target = sl.count + 1;
		int64_t t0 = now_ns();
		if (spawn_one(&sp, i) < 0) {
			failures++;
			break;
		}
		int64_t t_sub = now_ns() - t0;
		int r = sinklog_wait(&sl, target,
				     now_ns() + (int64_t)(timeout_s * 1e9), 0, &t);
		if (r != 1) {
			fprintf(stderr, "relay-driver: message %ld not at the "
				"sink after %.0f s (sink count %ld, waiting for "
				"%ld)\n", i, timeout_s, sl.count, target);
			failures++;
			break;
		}
		if (i >= warmup) {
			lat[i - warmup] = t - t0;
			sub[i - warmup] = t_sub;
		}
	}
	if (failures) {
		printf("runs=%ld failures=%ld sink_count=%ld\n", count,
		       failures, sl.count);
		return 1;
	}
	if (latfile) {
		FILE *f = fopen(latfile, "w");
		if (f) {
			for (long i = 0; i < count; i++)
				fprintf(f, "%.6f\n", lat[i] / 1e6);
			fclose(f);
		}
	}
	printf("runs=%ld failures=0 sink_count=%ld", count, sl.count);
	print_stats(lat, count);
	qsort(sub, (size_t)count, sizeof *sub, cmp_i64);
	printf(" submit_p50_ms=%.4f\n", pct_ms(sub, count, 50));
	return 0;
}

/* ----------------------------------------------------------- waitcount */

static int
cmd_waitcount(int argc, char **argv)
{
	const char *sinkpath = NULL;
	long target = -1;
	double timeout_s = 600, stall_s = 0;
	int c;

	while ((c = getopt(argc, argv, "s:c:t:S:")) != -1) {
		switch (c) {
		case 's': sinkpath = optarg; break;
		case 'c': target = atol(optarg); break;
		case 't': timeout_s = atof(optarg); break;
		case 'S': stall_s = atof(optarg); break;
		default: return 2;
		}
	}
	if (!sinkpath || target < 0)
		die("%s", "usage: relay-driver waitcount -s SINKLOG -c TARGET "
		    "[-t TIMEOUT_S] [-S STALL_S]");
	struct sinklog sl;
	int64_t t = 0;
	sinklog_open(&sl, sinkpath);
	int r = sinklog_wait(&sl, target, now_ns() + (int64_t)(timeout_s * 1e9),
			     (int64_t)(stall_s * 1e9), &t);
	if (r == 1) {
		printf("count=%ld t_ns=%lld\n", sl.count, (long long)t);
		return 0;
	}
	printf("count=%ld t_ns=%lld %s=1\n", sl.count, (long long)sl.t,
	       r == 0 ? "timeout" : "stalled");
	return 1;
}

/* ---------------------------------------------------------------- sink */

static volatile pid_t sink_child;

static void
sink_on_signal(int sig)
{
	if (sink_child > 0)
		kill(sink_child, sig);
}

static void
sink_log(int fd, long count, int64_t t)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%ld %lld\n", count, (long long)t);
	if (write(fd, line, (size_t)n) != n)
		perror("relay-driver: sink log");
}

static int
cmd_sink(int argc, char **argv)
{
	const char *logpath = NULL;
	int c, pfd[2];

	while ((c = getopt(argc, argv, "+o:")) != -1) {
		if (c == 'o')
			logpath = optarg;
		else
			return 2;
	}
	if (!logpath || optind >= argc)
		die("%s", "usage: relay-driver sink -o LOG -- PROGRAM [ARG...]");
	int lfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
		       O_CLOEXEC, 0644);
	if (lfd < 0)
		die("cannot create %s", logpath);
	sink_log(lfd, 0, now_ns());
	if (pipe2(pfd, O_CLOEXEC) < 0)
		die("%s", "pipe failed");

	struct sigaction sa = { .sa_handler = sink_on_signal,
				.sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	pid_t pid = fork();
	if (pid < 0)
		die("%s", "fork failed");
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		dup2(pfd[1], 1);
		execv(argv[optind], argv + optind);
		perror(argv[optind]);
		_exit(127);
	}
	sink_child = pid;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);

	char buf[4096], rec[256];
	size_t nrec = 0;
	long last = 0;
	ssize_t n;
	for (;;) {
		n = read(pfd[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		int64_t t = now_ns();
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\r' && buf[i] != '\n') {
				if (nrec < sizeof rec - 1)
					rec[nrec++] = buf[i];
				continue;
			}
			rec[nrec] = '\0';
			nrec = 0;
			char *m = strstr(rec, "mesg=");
			if (m == NULL)
				continue;
			long cnt = atol(m + 5);
			if (cnt != last) {
				sink_log(lfd, cnt, t);
				last = cnt;
			}
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM ||
				    WTERMSIG(status) == SIGINT))
		return 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 1;
}

/* ----------------------------------------------------------------- pss */

static volatile sig_atomic_t pss_stop;

static void
pss_on_signal(int sig)
{
	(void)sig;
	pss_stop = 1;
}

static long
pss_of(pid_t pid, long *uss)
{
	char path[64], line[256];
	long kb = -1;

	*uss = 0;
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "Pss:", 4) == 0)
			kb = atol(line + 4);
		else if (strncmp(line, "Private_Clean:", 14) == 0)
			*uss += atol(line + 14);
		else if (strncmp(line, "Private_Dirty:", 14) == 0)
			*uss += atol(line + 14);
	}
	fclose(f);
	return kb;
}

static pid_t
ppid_of(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int ppid;
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* The roots and all their descendants: tree[] (n returned), from one
 * scan of /proc. */
static int
proc_tree(pid_t *roots, int nroots, pid_t *tree, int max)
{
	static pid_t pids[65536], ppids[65536];
	static char in[65536];
	int n = 0, k = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		die("%s", "cannot read /proc");
	while ((de = readdir(d)) != NULL && n < 65536) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pids[n] = atoi(de->d_name);
		ppids[n] = ppid_of(pids[n]);
		n++;
	}
	closedir(d);
	memset(in, 0, (size_t)n);
	for (int i = 0; i < n; i++)
		for (int r = 0; r < nroots; r++)
			if (pids[i] == roots[r])
				in[i] = 1;
	/* Closure over parent links (process trees are shallow). */
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n; i++) {
			if (in[i])
				continue;
			for (int j = 0; j < n; j++)
				if (in[j] && ppids[i] == pids[j]) {
					in[i] = 1;
					changed = 1;
					break;
				}
		}
	}
	for (int i = 0; i < n && k < max; i++)
		if (in[i])
			tree[k++] = pids[i];
	return k;
}

/* PSS of roots and their descendants; *nprocs gets how many counted,
 * *uss their private (unshared) memory. */
static long
pss_tree(pid_t *roots, int nroots, int *nprocs, long *uss)
{
	static pid_t tree[65536];
	int n = proc_tree(roots, nroots, tree, 65536);
	long sum = 0, u;

	*nprocs = 0;
	*uss = 0;
	for (int i = 0; i < n; i++) {
		long kb = pss_of(tree[i], &u);
		if (kb >= 0) {
			sum += kb;
			*uss += u;
			(*nprocs)++;
		}
	}
	return sum;
}

/* CPU time (user + system, own + reaped children) of a process, in
 * clock ticks, or -1. */
static long long
cpu_of(pid_t pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long ut, st;
	long cut, cst;
	/* Fields after the name: state ppid pgrp session tty tpgid flags
	 * minflt cminflt majflt cmajflt utime stime cutime cstime. */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu %ld %ld", &ut, &st, &cut, &cst) != 4)
		return -1;
	return (long long)ut + st + cut + cst;
}

static int
cmd_pss(int argc, char **argv)
{
	long interval_ms = 0;
	int c;

	while ((c = getopt(argc, argv, "i:")) != -1) {
		if (c == 'i')
			interval_ms = atol(optarg);
		else
			return 2;
	}
	int nroots = argc - optind;
	if (nroots < 1)
		die("%s", "usage: relay-driver pss [-i INTERVAL_MS] PID...");
	pid_t *roots = calloc((size_t)nroots, sizeof *roots);
	for (int i = 0; i < nroots; i++)
		roots[i] = atoi(argv[optind + i]);
	int nprocs;
	long uss;
	if (interval_ms <= 0) {
		long kb = pss_tree(roots, nroots, &nprocs, &uss);
		printf("pss_kb=%ld uss_kb=%ld procs=%d\n", kb, uss, nprocs);
		return nprocs ? 0 : 1;
	}
	struct sigaction sa = { .sa_handler = pss_on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	long max = 0, last = 0, samples = 0;
	int max_procs = 0;
	double total = 0;
	while (!pss_stop) {
		long kb = pss_tree(roots, nroots, &nprocs, &uss);
		if (nprocs == 0)
			break;
		last = kb;
		if (kb > max)
			max = kb;
		if (nprocs > max_procs)
			max_procs = nprocs;
		total += kb;
		samples++;
		struct timespec ts = { interval_ms / 1000,
				       (interval_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	printf("max_kb=%ld last_kb=%ld mean_kb=%.0f samples=%ld max_procs=%d\n",
	       max, last, samples ? total / samples : 0.0, samples, max_procs);
	return 0;
}

/* ----------------------------------------------------------------- cpu */

static int
cmd_cpu(int argc, char **argv)
{
	static pid_t tree[65536];
	int nroots = argc - 1;
	if (nroots < 1)
		die("%s", "usage: relay-driver cpu PID...");
	pid_t *roots = calloc((size_t)nroots, sizeof *roots);
	for (int i = 0; i < nroots; i++)
		roots[i] = atoi(argv[1 + i]);
	int n = proc_tree(roots, nroots, tree, 65536);
	long long ticks = 0;
	for (int i = 0; i < n; i++) {
		long long t = cpu_of(tree[i]);
		if (t > 0)
			ticks += t;
	}
	printf("cpu_ms=%lld procs=%d\n", ticks * 1000 / sysconf(_SC_CLK_TCK), n);
	return n ? 0 : 1;
}

/* ------------------------------------------------------------ freeport */

static int
cmd_freeport(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		die("%s", "cannot bind a port on 127.0.0.1");
	printf("%d\n", ntohs(sa.sin_port));
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		die("%s", "usage: relay-driver sink|submit|latency|waitcount|pss|"
		    "cpu|freeport|now ...");
	signal(SIGPIPE, SIG_IGN);
	const char *sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "sink") == 0)
		return cmd_sink(argc, argv);
	if (strcmp(sub, "submit") == 0)
		return cmd_submit(argc, argv);
	if (strcmp(sub, "latency") == 0)
		return cmd_latency(argc, argv);
	if (strcmp(sub, "waitcount") == 0)
		return cmd_waitcount(argc, argv);
	if (strcmp(sub, "pss") == 0)
		return cmd_pss(argc, argv);
	if (strcmp(sub, "cpu") == 0)
		return cmd_cpu(argc, argv);
	if (strcmp(sub, "freeport") == 0)
		return cmd_freeport();
	if (strcmp(sub, "now") == 0) {
		printf("%lld\n", (long long)now_ns());
		return 0;
	}
	die("unknown subcommand %s", sub);
	return 2;
}
