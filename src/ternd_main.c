/*
 * ternd_main: the daemon's start, signals and stop.
 *
 * Order matters: load the config, bind the [listen] ports and read
 * their certificates and users files (port 25 and keys in
 * /etc/ssl/private need root), drop root for run_user, take the queue's
 * lock, bind the trigger socket, pick up what waits in maildrop, read
 * the relays' secrets (they must belong to run_user and be private to
 * it), load the queue, bind the control socket (tern's queue
 * commands), tell a service manager it is ready (sdnotify), run the
 * event loop.  SIGHUP reopens the log file and reloads the
 * config and aliases without touching deliveries in flight; SIGTERM
 * and SIGINT stop: sessions in flight are abandoned, their envelopes
 * still list the recipients as pending, and the next start delivers
 * them.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "control.h"
#include "control_proto.h"
#include "dkim.h"
#include "dns.h"
#include "fsq.h"
#include "log.h"
#include "pickup.h"
#include "qmgr.h"
#include "queue.h"
#include "sdnotify.h"
#include "smtpd.h"
#include "ternd.h"

struct ternd_main {
	struct ternd td;
	const char *config_path;
	bool explicit_config;
	int lock_fd;
	struct event *sig_hup, *sig_term, *sig_int;
};

#ifdef __SANITIZE_ADDRESS__
/*
 * In a sanitizer build: Debian 12's libopendkim leaks the ed25519 key
 * of every signature (see dkim.h), outside tern; LeakSanitizer is told
 * to skip exactly that, so it still fails on any leak of ours.  The
 * stacks must be whole to show the frame (ASAN_OPTIONS=
 * fast_unwind_on_malloc=0, as the tests that sign ed25519 set it).
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:dkim_privkey_load\n";
}
#endif

static int
ternd_usage(void)
{
	fprintf(stderr, "usage: ternd [-c FILE] [-f]\n");
	return EX_USAGE;
}

static void
ternd_report(const char *path, unsigned line, const char *msg, void *arg)
{
	(void)arg;
	if (line > 0)
		log_msg(LOG_ERR, "%s:%u: %s", path, line, msg);
	else
		log_msg(LOG_ERR, "%s: %s", path, msg);
}

/* Become run_user, keeping its supplementary groups (terndrop, so the
 * 0640 maildrop files can be read). */
static int
ternd_drop_privileges(const struct config *cfg)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if ((pw = getpwnam(cfg->run_user)) == NULL) {
		log_msg(LOG_ERR, "run_user %s does not exist; create it (make "
		    "install does) or set run_user", cfg->run_user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_msg(LOG_ERR, "cannot become %s: %s", cfg->run_user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) {
		log_msg(LOG_ERR, "still able to become root after dropping "
		    "privileges; refusing to run");
		return -1;
	}
	return 0;
}

/* One ternd per queue: an exclusive lock on state/ternd.pid. */
static int
ternd_lock(struct ternd_main *m)
{
	char path[QUEUE_PATH_MAX], pid[32];
	int n;


	snprintf(path, sizeof(path), "%s/state/ternd.pid",
	    m->td.cfg->queue_dir);
	m->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (m->lock_fd < 0) {
		log_msg(LOG_ERR, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(m->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		n = (int)read(m->lock_fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_msg(LOG_ERR, "another ternd (pid %s) is running on %s",
		    pid[0] ? pid : "?", m->td.cfg->queue_dir);
		return -1;
	}
	return 0;
}

/* After going to the background: the pid the lock holder has now. */
static void
ternd_write_pid(struct ternd_main *m)
{
	char pid[32];
	int n;

	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(m->lock_fd, 0) < 0 ||
	    pwrite(m->lock_fd, pid, (size_t)n, 0) != n)
		log_msg(LOG_WARNING, "cannot write the pid file: %s",
		    strerror(errno));
}

/* Every SMTP session and relay connection is a descriptor: use all
 * the hard limit allows (the soft default, 1024, is too few for a
 * listener holding thousands of idle sessions). */
static void
ternd_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static struct config *
ternd_load_config(struct ternd_main *m, bool must_exist)
{
	struct config *cfg;
	struct errbuf eb;

	errbuf_clear(&eb);
	cfg = config_load(m->config_path, must_exist, ternd_report, NULL, &eb);
	if (cfg == NULL)
		log_msg(LOG_ERR, "%s; fix it (tern check explains every "
		    "error)", eb.msg);
	return cfg;
}

/* New keys for new signatures; with a bad key the old ones stay. */
static void
ternd_reload_dkim(struct ternd *td)
{
	struct dkim_signer *ds;
	struct errbuf eb;

	errbuf_clear(&eb);
	if ((ds = dkim_signer_new(td->cfg, &eb)) == NULL) {
		log_msg(LOG_ERR, "DKIM keys not reloaded: %s; signing with "
		    "the old ones", eb.msg);
		return;
	}
	dkim_signer_free(td->dkim);
	td->dkim = ds;
}

static void
ternd_on_hup(evutil_socket_t fd, short what, void *arg)
{
	struct ternd_main *m = arg;
	struct config *cfg, *old = m->td.cfg;
	struct errbuf eb;

	(void)fd;
	(void)what;
	log_msg(LOG_INFO, "reloading %s", m->config_path);
	if ((cfg = ternd_load_config(m, m->explicit_config)) == NULL)
		return;
	if (strcmp(cfg->queue_dir, old->queue_dir) != 0) {
		log_msg(LOG_ERR, "queue_dir changed from %s to %s: restart "
		    "ternd for that; keeping the running config",
		    old->queue_dir, cfg->queue_dir);
		config_free(cfg);
		return;
	}
	m->td.cfg = cfg;
	errbuf_clear(&eb);
	if (qmgr_reload(m->td.qmgr, old, &eb) < 0) {
		log_msg(LOG_ERR, "reload failed: %s; keeping the running "
		    "config", eb.msg);
		m->td.cfg = old;
		config_free(cfg);
		return;
	}
	qmgr_reload_aliases(&m->td);
	ternd_reload_dkim(&m->td);
	errbuf_clear(&eb);
	if (m->td.smtpd != NULL && smtpd_reload(m->td.smtpd, &eb) < 0)
		log_msg(LOG_ERR, "listener settings not reloaded: %s; new "
		    "sessions keep the old ones", eb.msg);
}

/* Tell the service manager (no-op without one); a failure costs only
 * a warning. */
static void
ternd_notify(enum sdnotify_state st, const char *status)
{
	struct errbuf eb;

	errbuf_clear(&eb);
	if (sdnotify_send(st, status, &eb) < 0)
		log_msg(LOG_WARNING, "cannot notify the service manager: %s",
		    eb.msg);
}

/* SIGHUP: a new log file after rotation, then the reload, framed by
 * RELOADING=1 and READY=1; a refused reload leaves the config as it
 * was, which is how it is told apart. */
static void
ternd_on_hup_signal(evutil_socket_t fd, short what, void *arg)
{
	struct ternd_main *m = arg;
	const struct config *before = m->td.cfg;
	struct errbuf eb;

	ternd_notify(SDNOTIFY_RELOADING, "reloading");
	errbuf_clear(&eb);
	if (log_reopen(&eb) < 0)
		log_msg(LOG_WARNING, "%s; still writing to the old file: make "
		    "it writable by %s", eb.msg, m->td.cfg->run_user);
	ternd_on_hup(fd, what, arg);
	ternd_notify(SDNOTIFY_READY, m->td.cfg != before ?
	    "reloaded; delivering" : "reload refused (see the log); "
	    "running the previous config");
}

static void
ternd_on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct ternd_main *m = arg;

	(void)what;
	log_msg(LOG_INFO, "stopping on signal %d", (int)sig);
	ternd_notify(SDNOTIFY_STOPPING, "stopping");
	m->td.stopping = true;
	smtpd_shutdown(m->td.smtpd);
	qmgr_shutdown(m->td.qmgr);
	event_base_loopexit(m->td.base, NULL);
}

static int
ternd_signals(struct ternd_main *m)
{
	struct event_base *b = m->td.base;

	signal(SIGPIPE, SIG_IGN);
	m->sig_hup = evsignal_new(b, SIGHUP, ternd_on_hup_signal, m);
	m->sig_term = evsignal_new(b, SIGTERM, ternd_on_stop, m);
	m->sig_int = evsignal_new(b, SIGINT, ternd_on_stop, m);
	if (m->sig_hup == NULL || m->sig_term == NULL || m->sig_int == NULL ||
	    evsignal_add(m->sig_hup, NULL) < 0 ||
	    evsignal_add(m->sig_term, NULL) < 0 ||
	    evsignal_add(m->sig_int, NULL) < 0)
		return -1;
	return 0;
}

static void
ternd_pickup_queued(const char *id, void *arg)
{
	struct ternd *td = arg;

	if (td->qmgr != NULL)
		qmgr_received(td->qmgr, id);
}

/* Everything that needs the final identity: queue, lock, modules. */
static int
ternd_start(struct ternd_main *m)
{
	struct ternd *td = &m->td;
	struct errbuf eb;
	size_t n;

	errbuf_clear(&eb);
	ternd_write_pid(m);
	qmgr_reload_aliases(td);
	if ((td->dns = dns_new(td->base, td->cfg->dns_servers, &eb)) == NULL) {
		log_msg(LOG_ERR, "DNS: %s", eb.msg);
		return EX_CONFIG;
	}
	/* Two for commits: creating files is most of a commit's time, and
	 * two batches in flight keep both cores busy. */
	if ((td->fsq = fsq_new(td->base, 2, &eb)) == NULL ||
	    (td->fsq_remove = fsq_new(td->base, 1, &eb)) == NULL ||
	    (td->fsq_sign = fsq_new(td->base, 2, &eb)) == NULL) {
		log_msg(LOG_ERR, "%s", eb.msg);
		return EX_OSERR;
	}
	/* Keys as run_user: the one that signs must be able to read them. */
	if ((td->dkim = dkim_signer_new(td->cfg, &eb)) == NULL) {
		log_msg(LOG_ERR, "DKIM: %s", eb.msg);
		return EX_CONFIG;
	}
	if (dkim_signer_warning(td->dkim) != NULL)
		log_msg(LOG_WARNING, "DKIM: %s", dkim_signer_warning(td->dkim));
	/* A file half-written when the last ternd died was never
	 * acknowledged nor referred to: drop it before anything writes. */
	if ((n = queue_clean_tmp(td->cfg->queue_dir)) > 0)
		log_msg(LOG_WARNING, "removed %zu unfinished queue file%s "
		    "(tmp.*) left by an earlier ternd", n, n == 1 ? "" : "s");
	/* maildrop first, so nothing is loaded twice. */
	if ((td->pickup = pickup_new(td, ternd_pickup_queued, td, &eb)) ==
	    NULL) {
		log_msg(LOG_ERR, "pickup: %s", eb.msg);
		return EX_CANTCREAT;
	}
	pickup_run(td->pickup);
	if ((td->qmgr = qmgr_new(td, &eb)) == NULL) {
		log_msg(LOG_ERR, "%s", eb.msg);
		return EX_CONFIG;
	}
	/* Without it tern still works on the queue's files; it finds
	 * ternd's lock taken and says so. */
	if ((td->control = control_new(td, &eb)) == NULL)
		log_msg(LOG_WARNING, "control socket: %s; tern queue commands "
		    "need it (make install creates queue_dir/%s)", eb.msg,
		    CONTROL_DIR);
	errbuf_clear(&eb);
	if (td->smtpd != NULL && smtpd_start(td->smtpd, &eb) < 0) {
		log_msg(LOG_ERR, "%s", eb.msg);
		return EX_OSERR;
	}
	log_msg(LOG_INFO, "ternd started: queue %s, %zu relay%s",
	    td->cfg->queue_dir, td->cfg->nrelays,
	    td->cfg->nrelays == 1 ? "" : "s");
	/* Listeners bound and the queue loaded: ready for systemd. */
	ternd_notify(SDNOTIFY_READY, "delivering");
	return EX_OK;
}

static int
ternd_parse(int argc, char **argv, struct ternd_main *m)
{
	int opt;

	while ((opt = getopt(argc, argv, "c:f")) != -1) {
		if (opt == 'c')
			m->config_path = optarg;
		else if (opt == 'f')
			m->td.foreground = true;
		else
			return ternd_usage();
	}
	if (optind != argc)
		return ternd_usage();
	m->config_path = config_choose_path(m->config_path,
	    &m->explicit_config);
	return 0;
}

static void
ternd_cleanup(struct ternd_main *m)
{
	control_free(m->td.control);
	smtpd_free(m->td.smtpd);
	pickup_free(m->td.pickup);
	/* DNS first: cancelled lookups call back into the queue manager. */
	dns_free(m->td.dns);
	qmgr_free(m->td.qmgr);
	/* Last: what the modules left for the worker is done before the
	 * loop goes. */
	fsq_free(m->td.fsq);
	fsq_free(m->td.fsq_remove);
	fsq_free(m->td.fsq_sign);
	aliases_free(m->td.aliases);
	dkim_signer_free(m->td.dkim);
	if (m->sig_hup)
		event_free(m->sig_hup);
	if (m->sig_term)
		event_free(m->sig_term);
	if (m->sig_int)
		event_free(m->sig_int);
	if (m->td.base != NULL)
		event_base_free(m->td.base);
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	config_free(m->td.cfg);
	log_close();
}

/* Config, log, event loop, identity, lock: everything before the
 * modules start.  Returns EX_OK or the exit code. */
static int
ternd_prepare(struct ternd_main *m)
{
	struct errbuf eb;

	errbuf_clear(&eb);
	if (!m->td.foreground && log_open("ternd", m->td.cfg->log,
	    m->td.cfg->log_format == CONFIG_LOG_JSON, &eb) < 0)
		fprintf(stderr, "ternd: %s\n", eb.msg);
	if (m->td.foreground)
		log_open("ternd", "stderr", m->td.cfg->log_format ==
		    CONFIG_LOG_JSON, &eb);
	if ((m->td.base = event_base_new()) == NULL || ternd_signals(m) < 0) {
		log_msg(LOG_ERR, "cannot set up the event loop");
		return EX_OSERR;
	}
	ternd_raise_nofile();
	errbuf_clear(&eb);
	if ((m->td.smtpd = smtpd_bind(&m->td, ternd_pickup_queued, &m->td,
	    &eb)) == NULL) {
		log_msg(LOG_ERR, "%s", eb.msg);
		if (!m->td.foreground)
			fprintf(stderr, "ternd: %s\n", eb.msg);
		return eb.errnum == EACCES || eb.errnum == EPERM ? EX_NOPERM :
		    EX_CONFIG;
	}
	if (ternd_drop_privileges(m->td.cfg) < 0)
		return EX_NOPERM;
	/* The lock before going to the background, so a second ternd
	 * says so and fails where its caller can see it; the forked child
	 * keeps the lock (it belongs to the open file). */
	errbuf_clear(&eb);
	if (queue_setup(m->td.cfg->queue_dir, &eb) < 0)
		log_msg(LOG_WARNING, "queue %s: %s", m->td.cfg->queue_dir,
		    eb.msg);
	if (ternd_lock(m) < 0) {
		if (!m->td.foreground)
			fprintf(stderr, "ternd: another ternd is running on %s "
			    "(see the log)\n", m->td.cfg->queue_dir);
		return EX_TEMPFAIL;
	}
	if (!m->td.foreground && daemon(0, 0) < 0) {
		log_msg(LOG_ERR, "cannot go to the background: %s",
		    strerror(errno));
		return EX_OSERR;
	}
	if (!m->td.foreground)
		event_reinit(m->td.base);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct ternd_main m;
	struct errbuf eb;
	int rc;

	memset(&m, 0, sizeof(m));
	m.lock_fd = -1;
	sdnotify_init();
	if ((rc = ternd_parse(argc, argv, &m)) != 0)
		return rc;
	log_open("ternd", "stderr", false, &eb);
	if ((m.td.cfg = ternd_load_config(&m, m.explicit_config)) == NULL)
		return EX_CONFIG;
	if ((rc = ternd_prepare(&m)) == EX_OK &&
	    (rc = ternd_start(&m)) == EX_OK)
		event_base_dispatch(m.td.base);
	ternd_cleanup(&m);
	return rc;
}
