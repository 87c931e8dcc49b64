/*
 * tern_check: "tern check" — the config has been parsed (every syntax
 * error already printed with file:line); here come the checks that
 * look beyond one line: the aliases file, the host name, the queue.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "aliases.h"
#include "config.h"
#include "tern_cmd.h"

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

static void
tern_check_warnings(const struct config *cfg)
{
	const char *where = cfg->path ? cfg->path : "defaults";
	struct stat st;

	if (strchr(cfg->hostname, '.') == NULL)
		fprintf(stderr, "%s: warning: hostname '%s' is not fully "
		    "qualified; set hostname = name.your-domain, receivers "
		    "reject unqualified EHLO names\n", where, cfg->hostname);
	if (stat(cfg->queue_dir, &st) < 0)
		fprintf(stderr, "%s: warning: queue_dir %s: %s; it is created "
		    "by 'make install' (or on first use when you own its "
		    "parent)\n", where, cfg->queue_dir, strerror(errno));
}

int
tern_cmd_check(const struct config *cfg, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: tern check\n");
		return EX_USAGE;
	}
	tern_check_warnings(cfg);
	if (tern_check_aliases(cfg) < 0)
		return EX_CONFIG;
	printf("%s: OK (%zu relay%s, %zu listener%s, %zu DKIM domain%s, "
	    "delivery %s)\n", cfg->path ? cfg->path : "built-in defaults",
	    cfg->nrelays, cfg->nrelays == 1 ? "" : "s", cfg->nlistens,
	    cfg->nlistens == 1 ? "" : "s", cfg->ndkims,
	    cfg->ndkims == 1 ? "" : "s",
	    cfg->delivery == CONFIG_DELIVERY_RELAY ? "relay" : "direct");
	return EX_OK;
}
