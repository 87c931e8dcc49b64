/*
 * tern_queue: "tern queue [--json]", "tern show ID" and "tern flush".
 *
 * With ternd running, the listing comes from it (it knows which
 * messages are in delivery, and what is pending on them); without it,
 * tern reads the queue directory itself.  Both give the same JSON
 * objects (queue_json.h), one per line like "postqueue -j"; the text
 * form is made from them.
 */
#include "autoconf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "control_client.h"
#include "queue.h"
#include "queue_json.h"
#include "tern_cmd.h"
#include "tern_queue_int.h"
#include "trigger.h"

FILE *
tern_queue_ask(const struct config *cfg, const char *line, int *rc)
{
	struct errbuf eb;
	FILE *f;

	errbuf_clear(&eb);
	if ((f = control_client_request(cfg->queue_dir, line, &eb)) != NULL)
		return f;
	if (control_client_down(eb.errnum)) {
		*rc = TERN_QUEUE_DOWN;
		return NULL;
	}
	fprintf(stderr, "tern: %s\n", eb.msg);
	if (eb.errnum == EACCES || eb.errnum == EPERM) {
		fprintf(stderr, "tern: only root and members of the group of "
		    "%s/control may talk to ternd\n", cfg->queue_dir);
		*rc = EX_NOPERM;
	} else {
		*rc = eb.errnum != 0 ? EX_UNAVAILABLE : EX_SOFTWARE;
	}
	return NULL;
}

json_t *
tern_queue_next(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	json_error_t err;
	json_t *o = NULL;

	while (o == NULL && getline(&line, &cap, f) > 0) {
		if ((o = json_loads(line, 0, &err)) == NULL ||
		    !json_is_object(o)) {
			fprintf(stderr, "tern: ternd sent a line that is not a "
			    "JSON object: %s\n", err.text);
			json_decref(o);
			o = NULL;
		}
	}
	free(line);
	return o;
}

int
tern_queue_fail(const char *what, const char *msg, int errnum)
{
	fprintf(stderr, "tern: cannot %s: %s\n", what, msg[0] ? msg :
	    "out of memory");
	if (errnum == EACCES || errnum == EPERM)
		fprintf(stderr, "tern: run as root or as the queue's owner\n");
	return errnum == ENOENT ? EX_CONFIG : errnum == EACCES ||
	    errnum == EPERM ? EX_NOPERM : EX_IOERR;
}

static const char *
tern_queue_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* One line: ID state size arrival <sender> -> <rcpt>, ... (error). */
static void
tern_queue_print(json_t *o)
{
	json_t *rcpts = json_object_get(o, "recipients"), *r;
	size_t i;

	printf("%s %-8s %8lld %s <%s> ->", tern_queue_str(o, "id"),
	    tern_queue_str(o, "state"),
	    (long long)json_integer_value(json_object_get(o, "size")),
	    tern_queue_str(o, "arrival"), tern_queue_str(o, "sender"));
	json_array_foreach(rcpts, i, r)
		printf("%s <%s>", i ? "," : "", tern_queue_str(r, "address"));
	if (json_is_string(json_object_get(o, "last_error")))
		printf(" (%s)", tern_queue_str(o, "last_error"));
	if (json_is_string(json_object_get(o, "pending")))
		printf(" [%s pending]", tern_queue_str(o, "pending"));
	putchar('\n');
}

static void
tern_queue_emit(json_t *o, bool json)
{
	char *s;

	if (!json) {
		tern_queue_print(o);
		return;
	}
	if ((s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII)) != NULL)
		puts(s);
	free(s);
}

struct tern_queue_walk {
	bool json;
	size_t count;
};

static int
tern_queue_one(const struct queue_entry *e, void *arg)
{
	struct tern_queue_walk *w = arg;
	json_t *o;

	if ((o = queue_json_entry(e)) == NULL)
		return -1;
	tern_queue_emit(o, w->json);
	json_decref(o);
	w->count++;
	return 0;
}

static void
tern_queue_problem(const char *queue, const char *name, const char *msg,
    void *arg)
{
	(void)arg;
	fprintf(stderr, "tern: skipping %s/%s: %s\n", queue, name, msg);
}

int
tern_cmd_queue(const struct config *cfg, int argc, char **argv)
{
	struct tern_queue_walk w = { false, 0 };
	struct errbuf eb;
	json_t *o;
	FILE *f;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		w.json = true;
	else if (argc != 1) {
		fprintf(stderr, "usage: tern queue [--json]\n");
		return EX_USAGE;
	}
	if ((f = tern_queue_ask(cfg, "queue", &rc)) != NULL) {
		while ((o = tern_queue_next(f)) != NULL) {
			tern_queue_emit(o, w.json);
			json_decref(o);
			w.count++;
		}
		fclose(f);
	} else if (rc != TERN_QUEUE_DOWN) {
		return rc;
	} else {
		errbuf_clear(&eb);
		if (queue_walk(cfg->queue_dir, tern_queue_one,
		    tern_queue_problem, &w, &eb) != 0)
			return tern_queue_fail("read the queue", eb.msg,
			    eb.errnum);
	}
	if (!w.json && w.count == 0)
		puts("the queue is empty");
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

/* ---------------------------------------------------------------- show */

static void
tern_show_time(json_t *o, const char *key, const char *label)
{
	char when[32];
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return;
	queue_json_time(json_integer_value(v), when, sizeof(when));
	printf("%-14s%s\n", label, when);
}

static void
tern_show_print(json_t *o)
{
	json_t *r;
	size_t i;

	printf("%-14s%s\n", "id:", tern_queue_str(o, "id"));
	printf("%-14s%s%s%s\n", "state:", tern_queue_str(o, "state"),
	    json_is_string(json_object_get(o, "pending")) ? ", pending " :
	    "", tern_queue_str(o, "pending"));
	printf("%-14s%s\n", "arrival:", tern_queue_str(o, "arrival"));
	printf("%-14s%lld bytes\n", "size:",
	    (long long)json_integer_value(json_object_get(o, "size")));
	printf("%-14s<%s>\n", "sender:", tern_queue_str(o, "sender"));
	printf("%-14s%lld\n", "attempts:",
	    (long long)json_integer_value(json_object_get(o, "attempts")));
	tern_show_time(o, "next_attempt", "next attempt:");
	if (json_is_string(json_object_get(o, "last_error")))
		printf("%-14s%s\n", "last error:",
		    tern_queue_str(o, "last_error"));
	json_array_foreach(json_object_get(o, "recipients"), i, r) {
		printf("%-14s<%s> %s", "recipient:",
		    tern_queue_str(r, "address"), tern_queue_str(r, "state"));
		if (json_is_string(json_object_get(r, "reason")))
			printf(" (%s%s%s)", tern_queue_str(r, "status"),
			    json_is_string(json_object_get(r, "status")) ?
			    " " : "", tern_queue_str(r, "reason"));
		putchar('\n');
	}
	printf("\n%s", tern_queue_str(o, "headers"));
}

int
tern_cmd_show(const struct config *cfg, int argc, char **argv)
{
	char line[64];
	struct errbuf eb;
	bool json = argc == 3 && strcmp(argv[2], "--json") == 0;
	json_t *o = NULL;
	FILE *f;
	int rc;

	if ((argc != 2 && !json) || !queue_id_valid(argv[1])) {
		fprintf(stderr, "usage: tern show ID [--json] (ID as tern "
		    "queue lists it)\n");
		return EX_USAGE;
	}
	snprintf(line, sizeof(line), "show %s", argv[1]);
	if ((f = tern_queue_ask(cfg, line, &rc)) != NULL) {
		o = tern_queue_next(f);
		fclose(f);
		if (o == NULL)
			return EX_SOFTWARE;
	} else if (rc != TERN_QUEUE_DOWN) {
		return rc == EX_SOFTWARE ? EX_NOINPUT : rc;
	} else {
		errbuf_clear(&eb);
		if ((o = queue_json_show(cfg->queue_dir, argv[1], &eb)) ==
		    NULL) {
			fprintf(stderr, "tern: %s\n", eb.msg);
			return eb.errnum == ENOENT ? EX_NOINPUT :
			    tern_queue_fail("read the queue", eb.msg,
			    eb.errnum);
		}
	}
	if (json)
		tern_queue_emit(o, true);
	else
		tern_show_print(o);
	json_decref(o);
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

/* ---------------------------------------------------------------- flush */

int
tern_cmd_flush(const struct config *cfg, int argc, char **argv)
{
	struct errbuf eb;
	json_t *o;
	FILE *f;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: tern flush\n");
		return EX_USAGE;
	}
	errbuf_clear(&eb);
	if ((f = control_client_request(cfg->queue_dir, "flush", &eb)) !=
	    NULL) {
		if ((o = tern_queue_next(f)) != NULL)
			printf("flush: %lld messages scheduled for delivery "
			    "now\n", (long long)json_integer_value(
			    json_object_get(o, "scheduled")));
		json_decref(o);
		fclose(f);
		return EX_OK;
	}
	/* No control socket for this user: the trigger (group terndrop
	 * may use it) still asks for a flush. */
	errbuf_clear(&eb);
	if (trigger_send(cfg->queue_dir, TRIGGER_FLUSH, &eb) == 0)
		return EX_OK;
	fprintf(stderr, "tern: cannot flush the queue: %s; %s\n", eb.msg,
	    trigger_flush_advice(eb.errnum));
	return EX_UNAVAILABLE;
}
