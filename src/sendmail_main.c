/*
 * sendmail_main: sendmail(8), mailq(1) and newaliases(1) — one program
 * chosen by argv[0] or by -bm/-bp/-bi.
 *
 * In a root install this program is setgid terndrop so it can drop
 * files into maildrop.  It trusts nothing it is given: a config file
 * named with -C or TERN_CONFIG by an ordinary user costs it its group
 * privilege first, and it links no TLS, DNS or event libraries.  This
 * is the only file that turns errors into exit codes.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "envelope.h"
#include "log.h"
#include "mailq.h"
#include "queue.h"
#include "sendmail_smtp.h"
#include "submit.h"
#include "trigger.h"

enum sendmail_mode {
	SENDMAIL_DELIVER, /* -bm */
	SENDMAIL_LIST,    /* -bp, mailq */
	SENDMAIL_ALIASES, /* -bi, newaliases */
	SENDMAIL_SMTP,    /* -bs */
	SENDMAIL_FLUSH,   /* -q */
};

struct sendmail_args {
	enum sendmail_mode mode;
	const char *config;
	bool verbose;
	struct submit_opts sub;
};

static const char *sendmail_prog = "sendmail";

#ifdef __SANITIZE_ADDRESS__
#include <sys/auxv.h>
/* Sanitizer builds only: LeakSanitizer cannot inspect a setgid (secure,
 * non-dumpable) process and would fail every run; the environment is
 * ignored there, so the choice is made here.  AddressSanitizer itself
 * stays on. */
const char *__lsan_default_options(void);
const char *
__lsan_default_options(void)
{
	return getauxval(AT_SECURE) ? "detect_leaks=0" : "";
}
#endif

static int
sendmail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", sendmail_prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nusage: sendmail [-t] [-i] [-f sender] [-F name] "
	    "[-N dsn] [-R full|hdrs] [-V envid] [-B 7BIT|8BITMIME] [-C file] "
	    "[-v] [--] recipient ...\n       sendmail -bp | -bi | -bs | -q\n");
	return EX_USAGE;
}

/* -o options: the ones that mean something, and those accepted only so
 * that old scripts keep working. */
static int
sendmail_opt_o(struct sendmail_args *a, const char *v)
{
	static const char *const ignored[] = { "db", "di", "dq", "em", "ep",
		"eq", "ew", "m", NULL };
	size_t i;

	if (strcmp(v, "i") == 0) {
		a->sub.dot_ends = false;
		return 0;
	}
	if (v[0] == 'A' || v[0] == 'M')
		return 0;
	for (i = 0; ignored[i] != NULL; i++)
		if (strcmp(v, ignored[i]) == 0)
			return 0;
	return sendmail_usage("unknown option -o%s", v);
}

static int
sendmail_opt_b(struct sendmail_args *a, const char *v)
{
	if (strcmp(v, "m") == 0)
		a->mode = SENDMAIL_DELIVER;
	else if (strcmp(v, "p") == 0)
		a->mode = SENDMAIL_LIST;
	else if (strcmp(v, "i") == 0)
		a->mode = SENDMAIL_ALIASES;
	else if (strcmp(v, "s") == 0)
		a->mode = SENDMAIL_SMTP;
	else
		return sendmail_usage("unsupported mode -b%s (tern knows -bm, "
		    "-bp, -bi and -bs)", v);
	return 0;
}

/* -N, -R, -V, -B: DSN and body type. */
static int
sendmail_opt_dsn(struct sendmail_args *a, int opt, const char *v)
{
	size_t i;

	switch (opt) {
	case 'N':
		if (envelope_notify_parse(v, &a->sub.notify) < 0)
			return sendmail_usage("-N takes 'never' or a list of "
			    "success, delay, failure, not '%s'", v);
		return 0;
	case 'R':
		if (strcasecmp(v, "full") == 0)
			a->sub.ret = ENVELOPE_RET_FULL;
		else if (strcasecmp(v, "hdrs") == 0)
			a->sub.ret = ENVELOPE_RET_HDRS;
		else
			return sendmail_usage("-R takes full or hdrs, not '%s'",
			    v);
		return 0;
	case 'V':
		/* RFC 3461: at most 100 printable ASCII characters. */
		for (i = 0; v[i] != '\0'; i++)
			if (v[i] < 33 || v[i] > 126)
				break;
		if (v[i] != '\0' || i == 0 || i > 100)
			return sendmail_usage("-V takes 1 to 100 printable ASCII "
			    "characters without spaces, not '%s'", v);
		a->sub.envid = v;
		return 0;
	default:
		if (strcasecmp(v, "7BIT") == 0)
			a->sub.body = ENVELOPE_BODY_7BIT;
		else if (strcasecmp(v, "8BITMIME") == 0)
			a->sub.body = ENVELOPE_BODY_8BITMIME;
		else
			return sendmail_usage("-B takes 7BIT or 8BITMIME, not "
			    "'%s'", v);
		return 0;
	}
}

static int
sendmail_opt(struct sendmail_args *a, int opt, const char *v)
{
	switch (opt) {
	case 't':
		a->sub.extract = true;
		return 0;
	case 'i':
		a->sub.dot_ends = false;
		return 0;
	case 'f':
	case 'r':
		a->sub.sender = v;
		return 0;
	case 'F':
		a->sub.full_name = v;
		return 0;
	case 'C':
		a->config = v;
		return 0;
	case 'v':
		a->verbose = true;
		return 0;
	case 'q':
		a->mode = SENDMAIL_FLUSH;
		return 0;
	case 'b':
		return sendmail_opt_b(a, v);
	case 'o':
		return sendmail_opt_o(a, v);
	case 'N': case 'R': case 'V': case 'B':
		return sendmail_opt_dsn(a, opt, v);
	case 'G': case 'U': case 'L': case 'O': case 'h':
		return 0; /* accepted for compatibility */
	default:
		return -1;
	}
}

static int
sendmail_parse_args(int argc, char **argv, struct sendmail_args *a)
{
	char flag[3] = { '-', 0, 0 };
	const char *arg;
	int opt, rc;

	opterr = 0;
	/* '+': options stop at the first recipient, as in sendmail. */
	for (;;) {
		arg = optind < argc ? argv[optind] : "";
		opt = getopt(argc, argv, "+B:C:F:GL:N:O:R:UV:b:f:h:io:q::r:tv");
		if (opt == -1)
			break;
		if (opt == '?' && optopt != 0 && optopt != '-' &&
		    strchr("BCFLNORVbfhor", optopt) != NULL) {
			flag[1] = (char)optopt;
			return sendmail_usage("option %s needs a value", flag);
		}
		if (opt == '?') {
			flag[1] = (char)optopt;
			return sendmail_usage("unknown option %s", strncmp(arg,
			    "--", 2) == 0 || optopt == 0 ? arg : flag);
		}
		if ((rc = sendmail_opt(a, opt, optarg)) != 0)
			return rc;
	}
	a->sub.rcpts = argv + optind;
	a->sub.nrcpts = argc - optind;
	/* Recipients there would be silently dropped: RCPT TO decides. */
	if (a->mode == SENDMAIL_SMTP && a->sub.nrcpts > 0)
		return sendmail_usage("-bs takes no recipient arguments (they "
		    "are given with RCPT TO), not '%s'", a->sub.rcpts[0]);
	return 0;
}

/* ---------------------------------------------------------------- config */

static void
sendmail_config_report(const char *path, unsigned line, const char *msg,
    void *arg)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "%s: %s:%u: %s\n", sendmail_prog, path, line,
		    msg);
	else
		fprintf(stderr, "%s: %s: %s\n", sendmail_prog, path, msg);
}

/* A config file the user chose (-C or TERN_CONFIG) keeps the drop
 * group's privilege only when root owns it and nobody else may change
 * it: otherwise it could point queue_dir anywhere the group can write.
 * Admins running several instances keep working; users lose the group
 * and can still use a queue of their own. */
static bool
sendmail_config_trusted(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == 0 && (st.st_mode & 022) == 0;
}

static int
sendmail_privileges(const char *path, bool explicit_config)
{
	if (getegid() == getgid() || !explicit_config || getuid() == 0 ||
	    sendmail_config_trusted(path))
		return 0;
	if (setgid(getgid()) < 0) {
		fprintf(stderr, "%s: cannot drop group privileges: %s\n",
		    sendmail_prog, strerror(errno));
		return EX_OSERR;
	}
	return 0;
}

static struct config *
sendmail_load_config(const struct sendmail_args *a, int *rc)
{
	struct config *cfg;
	struct errbuf eb;
	const char *path;
	bool explicit_config;

	path = config_choose_path(a->config, &explicit_config);
	if ((*rc = sendmail_privileges(path, explicit_config)) != 0)
		return NULL;
	errbuf_clear(&eb);
	cfg = config_load(path, explicit_config, sendmail_config_report,
	    NULL, &eb);
	if (cfg == NULL) {
		fprintf(stderr, "%s: %s; fix the config file (tern check "
		    "explains every error)\n", sendmail_prog, eb.msg);
		*rc = EX_CONFIG;
	}
	return cfg;
}

/* ---------------------------------------------------------------- modes */

static void
sendmail_wake(const struct config *cfg, char cmd, bool verbose)
{
	struct errbuf eb;

	errbuf_clear(&eb);
	if (trigger_send(cfg->queue_dir, cmd, &eb) < 0 && verbose)
		fprintf(stderr, "%s: ternd is not running (%s); %s\n",
		    sendmail_prog, eb.msg, cmd == TRIGGER_ALIASES ?
		    "it reads the aliases when it starts" :
		    "the message waits in the queue until it starts");
}

/* Who submits, and how the maildrop file is made: the same for a
 * piped message and for sendmail -bs. */
static void
sendmail_submitter(struct sendmail_args *a, const struct config *cfg)
{
	a->sub.cfg = cfg;
	a->sub.uid = (long)getuid();
	a->sub.file_mode = getegid() != getgid() ? 0640 : 0600;
	/* A user-owned queue is made on first use; a root install has it
	 * made by "make install", and the setgid program never makes it. */
	a->sub.create_queue = getegid() == getgid();
}

static int
sendmail_deliver(struct sendmail_args *a, const struct config *cfg)
{
	char id[QUEUE_ID_LEN + 1];
	struct errbuf eb;

	sendmail_submitter(a, cfg);
	errbuf_clear(&eb);
	if (submit_message(&a->sub, 0, id, &eb) < 0) {
		fprintf(stderr, "%s: %s\n", sendmail_prog, eb.msg);
		if (eb.code == EX_CANTCREAT)
			fprintf(stderr, "%s: check that %s/maildrop exists and "
			    "is writable (tern's install creates it)\n",
			    sendmail_prog, cfg->queue_dir);
		return eb.code ? eb.code : EX_SOFTWARE;
	}
	if (a->verbose)
		fprintf(stderr, "%s: queued as %s\n", sendmail_prog, id);
	sendmail_wake(cfg, TRIGGER_WAKEUP, a->verbose);
	return EX_OK;
}

/* -bs: each message the session queues wakes ternd at once, as a
 * piped one does. */
static void
sendmail_smtp_queued(const char *id, void *arg)
{
	const struct sendmail_args *a = arg;

	if (a->verbose)
		fprintf(stderr, "%s: queued as %s\n", sendmail_prog, id);
	sendmail_wake(a->sub.cfg, TRIGGER_WAKEUP, a->verbose);
}

static int
sendmail_smtp(struct sendmail_args *a, const struct config *cfg)
{
	struct sendmail_smtp_host h;

	sendmail_submitter(a, cfg);
	memset(&h, 0, sizeof(h));
	h.sub = &a->sub;
	h.in_fd = 0;
	h.out_fd = 1;
	h.prog = sendmail_prog;
	h.queued = sendmail_smtp_queued;
	h.arg = a;
	return sendmail_smtp_run(&h);
}

static int
sendmail_list_one(const struct queue_entry *e, void *arg)
{
	return mailq_add(arg, e) < 0 ? -1 : 0;
}

static void
sendmail_list_problem(const char *queue, const char *name, const char *msg,
    void *arg)
{
	(void)arg;
	fprintf(stderr, "%s: skipping %s/%s: %s\n", sendmail_prog, queue,
	    name, msg);
}

static int
sendmail_list(const struct config *cfg)
{
	struct mailq mq;
	struct errbuf eb;
	struct buf out;
	int rc;

	buf_init(&out, 0);
	mailq_begin(&mq, &out);
	errbuf_clear(&eb);
	rc = queue_walk(cfg->queue_dir, sendmail_list_one,
	    sendmail_list_problem, &mq, &eb);
	if (rc == 0 && mailq_end(&mq) == 0) {
		fwrite(out.data, 1, out.len, stdout);
		buf_fini(&out);
		return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
	}
	buf_fini(&out);
	if (eb.errnum == ENOENT) {
		fprintf(stderr, "%s: %s: nothing was ever queued there (or "
		    "queue_dir is wrong)\n", sendmail_prog, eb.msg);
		fputs("Mail queue is empty\n", stdout);
		return EX_OK;
	}
	if (eb.errnum == EACCES || eb.errnum == EPERM) {
		fprintf(stderr, "%s: cannot read the queue: %s\n%s: run mailq "
		    "as root or as the queue's owner\n", sendmail_prog, eb.msg,
		    sendmail_prog);
		return EX_NOPERM;
	}
	fprintf(stderr, "%s: cannot read the queue: %s\n", sendmail_prog,
	    eb.msg[0] ? eb.msg : "out of memory");
	return EX_IOERR;
}

static void
sendmail_alias_report(const char *path, unsigned line, int is_error,
    const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s: %s:%u: %s%s\n", sendmail_prog, path, line,
	    is_error ? "" : "warning: ", msg);
}

/* newaliases: tern reads the aliases text file directly (there is no
 * database to build), so this validates it and tells ternd to reload. */
static int
sendmail_aliases(const struct config *cfg, bool verbose)
{
	struct aliases *al;
	struct errbuf eb;

	errbuf_clear(&eb);
	al = aliases_load(cfg->aliases, sendmail_alias_report, NULL, &eb);
	if (al == NULL) {
		fprintf(stderr, "%s: %s; the running ternd keeps the aliases "
		    "it had\n", sendmail_prog, eb.msg);
		return eb.code ? eb.code : EX_CONFIG;
	}
	if (verbose)
		fprintf(stderr, "%s: %s: %zu aliases\n", sendmail_prog,
		    cfg->aliases, aliases_count(al));
	aliases_free(al);
	sendmail_wake(cfg, TRIGGER_ALIASES, verbose);
	return EX_OK;
}

static int
sendmail_flush(const struct config *cfg)
{
	struct errbuf eb;

	errbuf_clear(&eb);
	if (trigger_send(cfg->queue_dir, TRIGGER_FLUSH, &eb) == 0)
		return EX_OK;
	fprintf(stderr, "%s: cannot flush the queue: %s; %s\n",
	    sendmail_prog, eb.msg, trigger_flush_advice(eb.errnum));
	return EX_UNAVAILABLE;
}

static int
sendmail_run(struct sendmail_args *a, const struct config *cfg)
{
	struct errbuf eb;
	bool quiet = strcmp(cfg->log, "stderr") == 0 && !a->verbose;

	/* Logging to stderr would end up in every cron mail: only with -v. */
	errbuf_clear(&eb);
	/* A log file this user may not write must not make every cron
	 * job's mail complain: fall back to syslog, say so only with -v. */
	if (log_open(sendmail_prog, quiet ? "none" : cfg->log,
	    cfg->log_format == CONFIG_LOG_JSON, &eb) < 0) {
		if (a->verbose)
			fprintf(stderr, "%s: %s; logging to syslog\n",
			    sendmail_prog, eb.msg);
		log_open(sendmail_prog, "syslog", false, &eb);
	}
	switch (a->mode) {
	case SENDMAIL_LIST:
		return sendmail_list(cfg);
	case SENDMAIL_ALIASES:
		return sendmail_aliases(cfg, a->verbose);
	case SENDMAIL_FLUSH:
		return sendmail_flush(cfg);
	case SENDMAIL_SMTP:
		return sendmail_smtp(a, cfg);
	default:
		return sendmail_deliver(a, cfg);
	}
}

/* Interrupted before the message is committed: take back whatever was
 * written, and say "try again" (75), as the message was not accepted. */
static void
sendmail_on_signal(int sig)
{
	(void)sig;
	queue_file_unlink_pending();
	_exit(EX_TEMPFAIL);
}

static void
sendmail_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sendmail_on_signal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* Over a file size limit, write() should fail with EFBIG and be
	 * reported, not kill the process mid-file. */
	signal(SIGXFSZ, SIG_IGN);
}

int
main(int argc, char **argv)
{
	struct sendmail_args a;
	struct config *cfg;
	const char *base;
	int rc;

	base = strrchr(argv[0], '/');
	base = base ? base + 1 : argv[0];
	memset(&a, 0, sizeof(a));
	a.mode = SENDMAIL_DELIVER;
	a.sub.dot_ends = true;
	a.sub.body = -1;
	if (strcmp(base, "mailq") == 0) {
		sendmail_prog = "mailq";
		a.mode = SENDMAIL_LIST;
	} else if (strcmp(base, "newaliases") == 0) {
		sendmail_prog = "newaliases";
		a.mode = SENDMAIL_ALIASES;
	}
	sendmail_signals();
	if ((rc = sendmail_parse_args(argc, argv, &a)) != 0)
		return rc;
	if ((cfg = sendmail_load_config(&a, &rc)) == NULL)
		return rc;
	rc = sendmail_run(&a, cfg);
	log_close();
	config_free(cfg);
	return rc;
}
