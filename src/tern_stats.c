/*
 * tern_stats: "tern stats [--json]" — the running ternd's counters
 * since it started: messages received, recipients sent, deferred and
 * bounced, in total and per relay ("direct" for MX delivery).  They
 * live in the daemon only, so without it there is nothing to show.
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "queue_json.h"
#include "tern_cmd.h"
#include "tern_queue_int.h"

static long long
tern_stats_num(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static void
tern_stats_print(json_t *o)
{
	char since[32];
	json_t *r;
	size_t i;

	queue_json_time(tern_stats_num(o, "since"), since, sizeof(since));
	printf("%-12s%s (ternd pid %lld)\n", "since:", since,
	    tern_stats_num(o, "pid"));
	printf("%-12s%lld messages\n", "received:",
	    tern_stats_num(o, "received"));
	printf("%-12s%lld recipients\n", "sent:", tern_stats_num(o, "sent"));
	printf("%-12s%lld recipients\n", "deferred:",
	    tern_stats_num(o, "deferred"));
	printf("%-12s%lld recipients\n", "bounced:",
	    tern_stats_num(o, "bounced"));
	printf("%-12s%lld in delivery, %lld waiting\n", "queue:",
	    tern_stats_num(o, "active"), tern_stats_num(o, "scheduled"));
	json_array_foreach(json_object_get(o, "relays"), i, r)
		printf("relay %s: sent %lld, deferred %lld, bounced %lld\n",
		    json_string_value(json_object_get(r, "name")),
		    tern_stats_num(r, "sent"), tern_stats_num(r, "deferred"),
		    tern_stats_num(r, "bounced"));
}

int
tern_cmd_stats(const struct config *cfg, int argc, char **argv)
{
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	json_t *o;
	char *s;
	FILE *f;
	int rc;

	if (argc != 1 && !json) {
		fprintf(stderr, "usage: tern stats [--json]\n");
		return EX_USAGE;
	}
	if ((f = tern_queue_ask(cfg, "stats", &rc)) == NULL) {
		if (rc != TERN_QUEUE_DOWN)
			return rc;
		fprintf(stderr, "tern: ternd is not running; the counters "
		    "live in the running daemon (start it)\n");
		return EX_UNAVAILABLE;
	}
	o = tern_queue_next(f);
	fclose(f);
	if (o == NULL)
		return EX_SOFTWARE;
	if (json) {
		if ((s = json_dumps(o, JSON_COMPACT)) != NULL)
			puts(s);
		free(s);
	} else {
		tern_stats_print(o);
	}
	json_decref(o);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}
