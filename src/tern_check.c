/*
 * tern_check: "tern check" — the config has been parsed (every syntax
 * and value error already printed with file:line); here come the
 * checks that look beyond one line: the aliases file, the host name,
 * the queue, and the cross-checks of each section (tern_check_relay.c,
 * tern_check_listen.c, tern_check_file.c).  Each finding is an error
 * (ternd would refuse the setting, or mail could not go out, or the
 * host becomes an open relay) or a warning (it works, but probably not
 * as meant); errors alone make the exit status 78.
 */
#include "autoconf.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "str.h"
#include "tern_check_int.h"
#include "tern_cmd.h"

void
tern_check_say(struct tern_check *c, unsigned line,
    enum tern_check_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level == TERN_CHECK_ERROR)
		c->errors++;
	else
		c->warnings++;
	if (line > 0)
		fprintf(stderr, "%s:%u: %s%s\n", c->path, line,
		    level == TERN_CHECK_WARN ? "warning: " : "", msg);
	else
		fprintf(stderr, "%s: %s%s\n", c->path,
		    level == TERN_CHECK_WARN ? "warning: " : "", msg);
}

static void
tern_check_alias_report(const char *path, unsigned line, int is_error,
    const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "%s:%u: %s%s\n", path, line,
	    is_error ? "" : "warning: ", msg);
}

static int
tern_check_aliases(const struct config *cfg)
{
	struct aliases *al;
	struct errbuf eb;

	errbuf_clear(&eb);
	al = aliases_load(cfg->aliases, tern_check_alias_report, NULL, &eb);
	if (al == NULL) {
		fprintf(stderr, "%s\n", eb.msg);
		return -1;
	}
	aliases_free(al);
	return 0;
}

/* Who ternd will be: run_user when started as root. */
static void
tern_check_who(struct tern_check *c)
{
	const struct passwd *pw;

	c->as_root = geteuid() == 0;
	if ((pw = getpwnam(c->cfg->run_user)) != NULL) {
		c->have_run_user = true;
		c->run_uid = pw->pw_uid;
		c->run_ngids = TERN_CHECK_MAX_GROUPS;
		if (getgrouplist(pw->pw_name, pw->pw_gid, c->run_gids,
		    &c->run_ngids) < 0)
			c->run_ngids = TERN_CHECK_MAX_GROUPS;
	}
	if (!c->as_root && (pw = getpwuid(geteuid())) != NULL)
		c->is_run_user = strcmp(pw->pw_name, c->cfg->run_user) == 0;
	if (c->as_root && !c->have_run_user)
		tern_check_say(c, config_key_line(c->cfg, "run_user"),
		    TERN_CHECK_WARN, "run_user %s does not "
		    "exist, so ternd started as root refuses to run: create "
		    "it (make install does) or set run_user",
		    c->cfg->run_user);
}

/* A finding about a global key, at the line it was set on (none when
 * it has its default). */
#define TERN_CHECK_GLOBAL(c, key, ...) \
	tern_check_say((c), config_key_line((c)->cfg, (key)), \
	    TERN_CHECK_WARN, __VA_ARGS__)

static void
tern_check_globals(struct tern_check *c)
{
	const struct config *cfg = c->cfg;
	char dir[4096], *slash;
	struct stat st;

	if (strchr(cfg->hostname, '.') == NULL)
		TERN_CHECK_GLOBAL(c, "hostname", "hostname '%s' is not fully "
		    "qualified; set hostname = name.your-domain, receivers "
		    "reject unqualified EHLO names", cfg->hostname);
	if (stat(cfg->queue_dir, &st) < 0)
		TERN_CHECK_GLOBAL(c, "queue_dir", "queue_dir %s: %s; it is "
		    "created by 'make install' (or on first use when you own "
		    "its parent)", cfg->queue_dir, strerror(errno));
	if (cfg->delivery == CONFIG_DELIVERY_DIRECT && cfg->direct_port != 25)
		TERN_CHECK_GLOBAL(c, "direct_port", "direct_port is %llu: MX "
		    "hosts take mail on port 25 only, so direct delivery to "
		    "real domains fails; remove direct_port (it is for tests)",
		    (unsigned long long)cfg->direct_port);
	if (cfg->delay_warning != 0 &&
	    cfg->delay_warning >= cfg->queue_lifetime)
		TERN_CHECK_GLOBAL(c, "delay_warning", "delay_warning is not "
		    "shorter than queue_lifetime, so no delay notice is ever "
		    "sent: lower delay_warning, or set it to 0");
	if (cfg->log[0] == '/') {
		str_lcpy(dir, cfg->log, sizeof(dir));
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
			*slash = '\0';
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			TERN_CHECK_GLOBAL(c, "log", "log %s: its directory %s "
			    "does not exist: create it", cfg->log, dir);
	}
	if (cfg->http != NULL && cfg->http->token_file != NULL)
		tern_check_secret(c, cfg->http->line, "[http]", "token_file",
		    cfg->http->token_file, TERN_CHECK_BY_RUN_USER, false);
}

int
tern_cmd_check(const struct config *cfg, int argc, char **argv)
{
	struct tern_check c;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: tern check\n");
		return EX_USAGE;
	}
	memset(&c, 0, sizeof(c));
	c.cfg = cfg;
	c.path = cfg->path ? cfg->path : "defaults";
	tern_check_who(&c);
	tern_check_globals(&c);
	tern_check_relays(&c);
	tern_check_listens(&c);
	tern_check_dkims(&c);
	if (tern_check_aliases(cfg) < 0)
		c.errors++;
	if (c.errors > 0) {
		fprintf(stderr, "tern: %s: %u error%s, %u warning%s\n", c.path,
		    c.errors, c.errors == 1 ? "" : "s", c.warnings,
		    c.warnings == 1 ? "" : "s");
		return EX_CONFIG;
	}
	printf("%s: OK (%zu relay%s, %zu listener%s, %zu DKIM domain%s, "
	    "delivery %s", cfg->path ? cfg->path : "built-in defaults",
	    cfg->nrelays, cfg->nrelays == 1 ? "" : "s", cfg->nlistens,
	    cfg->nlistens == 1 ? "" : "s", cfg->ndkims,
	    cfg->ndkims == 1 ? "" : "s",
	    cfg->delivery == CONFIG_DELIVERY_RELAY ? "relay" : "direct");
	if (c.warnings > 0)
		printf("; %u warning%s", c.warnings,
		    c.warnings == 1 ? "" : "s");
	printf(")\n");
	return EX_OK;
}
