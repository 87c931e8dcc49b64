/*
 * tern_main: the admin tool — a table of subcommands, the shared
 * "-c FILE" option and config loading.  Only this file (with each
 * command's return value) decides exit codes.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "tern_cmd.h"

struct tern_command {
	const char *name;
	int (*run)(const struct config *cfg, int argc, char **argv);
	const char *usage;
};

static const struct tern_command tern_commands[] = {
	{ "queue", tern_cmd_queue,
	    "queue [--json]      list queued mail (one line or JSON object "
	    "per message)" },
	{ "show", tern_cmd_show,
	    "show ID [--json]    a message's envelope and header section" },
	{ "delete", tern_cmd_delete,
	    "delete ID... | --all\n"
	    "                      remove messages (no bounce is sent)" },
	{ "hold", tern_cmd_hold,
	    "hold ID...          keep messages from delivery until released" },
	{ "release", tern_cmd_release,
	    "release ID...       deliver held messages again, now" },
	{ "flush", tern_cmd_flush,
	    "flush               retry all deferred mail now (needs ternd)" },
	{ "stats", tern_cmd_stats,
	    "stats [--json]      counters of the running ternd: received, "
	    "sent,\n"
	    "                      deferred, bounced, per relay" },
	{ "check", tern_cmd_check,
	    "check               validate the config; errors name file:line" },
	{ "dkim", tern_cmd_dkim,
	    "dkim keygen DOMAIN SELECTOR [--type rsa|ed25519] [--bits N]\n"
	    "       [--out FILE] [--force]\n"
	    "                      write a DKIM private key, print the DNS "
	    "TXT record" },
	{ "dns", tern_cmd_dns,
	    "dns DOMAIN [--selector S]\n"
	    "                      check the MX, SPF, DKIM and DMARC records "
	    "of a sending\n"
	    "                      domain, with advice" },
	{ "test-relay", tern_cmd_test_relay,
	    "test-relay [NAME]   try each relay (or NAME): DNS, connect, TLS, "
	    "EHLO, AUTH,\n"
	    "                      MAIL FROM and RSET; say what is wrong and "
	    "how to fix it" },
	{ NULL, NULL, NULL },
};

static int
tern_usage(FILE *out)
{
	const struct tern_command *c;

	fprintf(out, "usage: tern [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (c = tern_commands; c->name != NULL; c++)
		fprintf(out, "  %s\n", c->usage);
	fprintf(out, "\nThe config is FILE, else $TERN_CONFIG, else %s.\n",
	    CONFIG_DEFAULT_PATH);
	return out == stderr ? EX_USAGE : EX_OK;
}

static void
tern_report(const char *path, unsigned line, const char *msg, void *arg)
{
	unsigned *count = arg;

	(*count)++;
	if (line > 0)
		fprintf(stderr, "%s:%u: %s\n", path, line, msg);
	else
		fprintf(stderr, "%s: %s\n", path, msg);
}

int
main(int argc, char **argv)
{
	const struct tern_command *c;
	const char *flag_path = NULL, *path;
	struct config *cfg;
	struct errbuf eb;
	bool explicit_config;
	unsigned errors = 0;
	int i = 1, rc;

	if (i + 1 < argc && strcmp(argv[i], "-c") == 0) {
		flag_path = argv[i + 1];
		i += 2;
	}
	if (i >= argc)
		return tern_usage(stderr);
	if (strcmp(argv[i], "help") == 0 || strcmp(argv[i], "--help") == 0 ||
	    strcmp(argv[i], "-h") == 0)
		return tern_usage(stdout);
	for (c = tern_commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[i]) == 0)
			break;
	if (c->name == NULL) {
		fprintf(stderr, "tern: unknown command '%s'\n", argv[i]);
		return tern_usage(stderr);
	}
	path = config_choose_path(flag_path, &explicit_config);
	errbuf_clear(&eb);
	cfg = config_load(path, explicit_config, tern_report, &errors, &eb);
	if (cfg == NULL) {
		fprintf(stderr, "tern: %s\n", eb.msg);
		return EX_CONFIG;
	}
	rc = c->run(cfg, argc - i, argv + i);
	config_free(cfg);
	return rc;
}
