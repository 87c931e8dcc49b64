/*
 * tern_queue: "tern queue [--json]" — the queue for people (one line
 * per message) and for programs (one JSON object per line, like
 * "postqueue -j").
 */
#include "autoconf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "queue.h"
#include "trigger.h"
#include "tern_cmd.h"

static const char *
tern_queue_state(enum queue_name q)
{
	switch (q) {
	case QUEUE_ACTIVE:
		return "active";
	case QUEUE_DEFERRED:
		return "deferred";
	case QUEUE_HOLD:
		return "hold";
	default:
		return queue_name(q); /* maildrop, incoming: not yet picked up */
	}
}

static void
tern_queue_time(int64_t us, char *out, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
tern_queue_rcpts(const struct envelope *env)
{
	const struct envelope_rcpt *r;
	json_t *arr = json_array(), *o;
	size_t i;

	for (i = 0; i < env->nrcpts; i++) {
		r = &env->rcpts[i];
		o = json_pack("{s:s, s:s}", "address", r->addr, "state",
		    envelope_rcpt_state_name(r->state));
		if (o != NULL && r->status != NULL)
			json_object_set_new(o, "status", json_string(r->status));
		if (o != NULL && r->reason != NULL)
			json_object_set_new(o, "reason", json_string(r->reason));
		json_array_append_new(arr, o);
	}
	return arr;
}

static int
tern_queue_json(const struct queue_entry *e, void *arg)
{
	char when[32];
	json_t *o;
	char *s;

	(void)arg;
	tern_queue_time(e->env.arrival_us, when, sizeof(when));
	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:o, s:i}",
	    "id", e->id, "state", tern_queue_state(e->queue),
	    "size", (json_int_t)e->env.size, "arrival", when,
	    "arrival_time", (json_int_t)(e->env.arrival_us / 1000000),
	    "sender", e->env.sender, "recipients", tern_queue_rcpts(&e->env),
	    "attempts", (int)e->env.attempts);
	if (o == NULL)
		return -1;
	json_object_set_new(o, "last_error", e->env.last_error ?
	    json_string(e->env.last_error) : json_null());
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL)
		return -1;
	puts(s);
	free(s);
	return 0;
}

static int
tern_queue_text(const struct queue_entry *e, void *arg)
{
	char when[32];
	size_t i;

	(*(size_t *)arg)++;
	tern_queue_time(e->env.arrival_us, when, sizeof(when));
	printf("%s %-8s %8llu %s <%s> ->", e->id, tern_queue_state(e->queue),
	    (unsigned long long)e->env.size, when, e->env.sender);
	for (i = 0; i < e->env.nrcpts; i++)
		printf("%s <%s>", i ? "," : "", e->env.rcpts[i].addr);
	if (e->env.last_error != NULL)
		printf(" (%s)", e->env.last_error);
	putchar('\n');
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
	struct errbuf eb;
	size_t count = 0;
	bool json = false;
	int rc;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		json = true;
	else if (argc != 1) {
		fprintf(stderr, "usage: tern queue [--json]\n");
		return EX_USAGE;
	}
	errbuf_clear(&eb);
	rc = queue_walk(cfg->queue_dir, json ? tern_queue_json :
	    tern_queue_text, tern_queue_problem, &count, &eb);
	if (rc != 0) {
		fprintf(stderr, "tern: cannot read the queue: %s\n",
		    eb.msg[0] ? eb.msg : "out of memory");
		if (eb.errnum == EACCES || eb.errnum == EPERM)
			fprintf(stderr, "tern: run as root or as the queue's "
			    "owner\n");
		return eb.errnum == ENOENT ? EX_CONFIG :
		    eb.errnum == EACCES || eb.errnum == EPERM ? EX_NOPERM :
		    EX_IOERR;
	}
	if (!json && count == 0)
		puts("the queue is empty");
	return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
}

int
tern_cmd_flush(const struct config *cfg, int argc, char **argv)
{
	struct errbuf eb;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: tern flush\n");
		return EX_USAGE;
	}
	errbuf_clear(&eb);
	if (trigger_send(cfg->queue_dir, TRIGGER_FLUSH, &eb) == 0)
		return EX_OK;
	fprintf(stderr, "tern: cannot flush the queue: %s; %s\n", eb.msg,
	    trigger_flush_advice(eb.errnum));
	return EX_UNAVAILABLE;
}
