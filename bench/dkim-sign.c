/*
 * dkim-sign — bench/dkim's in-process signing driver.  bench/dkim
 * compiles it on the fly, for each run, against the build tree's
 * src/libternd.a and src/libterncore.a (and the libraries pkg-config
 * names for them), so it measures the signer of the tree as it is now:
 * src/dkim.c's dkim_sign_message(), the very function ternd calls
 * (through qmgr_sign) for each message it relays.
 *
 *   dkim-sign -c CONF -d DOMAIN -i MESSAGE [-n MAX] [-s SECONDS]
 *             [-w WARMUP] [-j THREADS] [-o SIGFILE]
 *
 * Loads CONF (a tern.conf with a [dkim DOMAIN] section) with
 * config_load() and makes the signer with dkim_signer_new(), as ternd
 * does at start; reads MESSAGE (LF line ends); signs it WARMUP times
 * untimed, then until MAX signatures are made or SECONDS have passed,
 * on THREADS threads at once (default 1; each thread signs on its own,
 * sharing only the signer, as dkim.h allows).  Prints one line:
 *
 *   n=N threads=T wall_s=S per_sec=R us_per_msg=U cpu_us_per_msg=C
 *   sig_bytes=B
 *
 * per_sec = N / wall time; us_per_msg = wall time per signature per
 * thread (the latency of one signature); cpu_us_per_msg = process CPU
 * time (user + system) per signature.  With -o, the first signature
 * (the "DKIM-Signature: ..." field) is written to SIGFILE.
 *
 * Exit status 0, 1 when a signature failed, 2 on usage or setup errors.
 */
#define _GNU_SOURCE
#include "autoconf.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "dkim.h"
#include "errbuf.h"

static const struct dkim_signer *signer;
static const char *domain;
static char *msg;
static size_t msg_len;
static long max_n = 1000000;
static double max_s = 3.0;
static atomic_long done;
static atomic_int failed;
static double t_end;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* One signature; 0 or -1 (reported). */
static int
sign_once(struct buf *out)
{
	struct errbuf eb;
	int rc;

	errbuf_clear(&eb);
	buf_reset(out);
	rc = dkim_sign_message(signer, domain, msg, msg_len, out, &eb);
	if (rc != 0) {
		fprintf(stderr, "dkim-sign: %s\n", rc > 0 ?
		    "no [dkim] section signs for this domain" : eb.msg);
		return -1;
	}
	return 0;
}

static void *
worker(void *arg)
{
	struct buf out;

	(void)arg;
	buf_init(&out, 0);
	for (;;) {
		long k = atomic_fetch_add(&done, 1);
		if (k >= max_n || failed || now_s() >= t_end) {
			atomic_fetch_sub(&done, 1);
			break;
		}
		if (sign_once(&out) < 0) {
			atomic_store(&failed, 1);
			atomic_fetch_sub(&done, 1);
			break;
		}
	}
	buf_fini(&out);
	return NULL;
}

static char *
slurp(const char *path, size_t *lenp)
{
	struct stat st;
	char *data;
	ssize_t n;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) < 0)
		return NULL;
	if ((data = malloc((size_t)st.st_size + 1)) == NULL)
		return NULL;
	while ((n = read(fd, data + len, (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	data[len] = '\0';
	*lenp = len;
	return data;
}

int
main(int argc, char **argv)
{
	const char *conf = NULL, *input = NULL, *sigfile = NULL;
	struct config *cfg;
	struct dkim_signer *s;
	struct errbuf eb;
	struct buf first;
	pthread_t *tids;
	long warmup = 20, i;
	int threads = 1, c;
	double t0, t1, c0, c1;

	while ((c = getopt(argc, argv, "c:d:i:n:s:w:j:o:")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'd': domain = optarg; break;
		case 'i': input = optarg; break;
		case 'n': max_n = atol(optarg); break;
		case 's': max_s = atof(optarg); break;
		case 'w': warmup = atol(optarg); break;
		case 'j': threads = atoi(optarg); break;
		case 'o': sigfile = optarg; break;
		default: goto usage;
		}
	}
	if (conf == NULL || domain == NULL || input == NULL || max_n < 1 ||
	    threads < 1 || threads > 64 || warmup < 0) {
usage:
		fprintf(stderr, "usage: dkim-sign -c CONF -d DOMAIN -i MESSAGE "
		    "[-n MAX] [-s SECONDS] [-w WARMUP] [-j THREADS] "
		    "[-o SIGFILE]\n");
		return 2;
	}
	errbuf_clear(&eb);
	if ((cfg = config_load(conf, true, NULL, NULL, &eb)) == NULL) {
		fprintf(stderr, "dkim-sign: %s: %s\n", conf, eb.msg);
		return 2;
	}
	if ((s = dkim_signer_new(cfg, &eb)) == NULL) {
		fprintf(stderr, "dkim-sign: %s\n", eb.msg);
		return 2;
	}
	config_free(cfg);
	signer = s;
	if (!dkim_signer_has(s, domain)) {
		fprintf(stderr, "dkim-sign: no [dkim %s] in %s\n", domain, conf);
		return 2;
	}
	if ((msg = slurp(input, &msg_len)) == NULL) {
		fprintf(stderr, "dkim-sign: %s: %s\n", input, strerror(errno));
		return 2;
	}
	buf_init(&first, 0);
	if (sign_once(&first) < 0)
		return 1;
	if (sigfile != NULL) {
		FILE *f = fopen(sigfile, "w");
		if (f == NULL || fwrite(first.data, 1, first.len, f) != first.len ||
		    fclose(f) != 0) {
			fprintf(stderr, "dkim-sign: %s: %s\n", sigfile,
			    strerror(errno));
			return 2;
		}
	}
	for (i = 0; i < warmup; i++)
		if (sign_once(&first) < 0)
			return 1;

	tids = calloc((size_t)threads, sizeof(*tids));
	if (tids == NULL)
		return 2;
	c0 = cpu_s();
	t0 = now_s();
	t_end = t0 + max_s;
	for (c = 0; c < threads; c++)
		if (pthread_create(&tids[c], NULL, worker, NULL) != 0) {
			fprintf(stderr, "dkim-sign: pthread_create failed\n");
			return 2;
		}
	for (c = 0; c < threads; c++)
		pthread_join(tids[c], NULL);
	t1 = now_s();
	c1 = cpu_s();
	if (failed)
		return 1;
	{
		long n = atomic_load(&done);
		double wall = t1 - t0;
		printf("n=%ld threads=%d wall_s=%.3f per_sec=%.1f "
		    "us_per_msg=%.1f cpu_us_per_msg=%.1f sig_bytes=%zu\n", n,
		    threads, wall, n / wall, wall * 1e6 * threads / n,
		    (c1 - c0) * 1e6 / n, first.len);
	}
	buf_fini(&first);
	free(tids);
	dkim_signer_free(s);
	free(msg);
	return 0;
}
