/*
 * queue_json: queued messages as JSON objects (see queue_json.h).
 *
 * Reads files only through queue.c; never writes.  Used by tern when
 * it reads the queue itself and by ternd's control socket on a worker
 * thread, so nothing here may log or touch shared state.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue_json.h"

const char *
queue_json_state(enum queue_name q)
{
	switch (q) {
	case QUEUE_ACTIVE:
		return "active";
	case QUEUE_DEFERRED:
		return "deferred";
	case QUEUE_HOLD:
		return "hold";
	default:
		return queue_name(q); /* maildrop, incoming: not yet taken */
	}
}

void
queue_json_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
queue_json_rcpts(const struct envelope *env)
{
	const struct envelope_rcpt *r;
	json_t *arr = json_array(), *o;
	size_t i;

	for (i = 0; arr != NULL && i < env->nrcpts; i++) {
		r = &env->rcpts[i];
		o = json_pack("{s:s, s:s}", "address", r->addr, "state",
		    envelope_rcpt_state_name(r->state));
		if (o != NULL && r->status != NULL)
			json_object_set_new(o, "status",
			    json_string(r->status));
		if (o != NULL && r->reason != NULL)
			json_object_set_new(o, "reason",
			    json_string(r->reason));
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *
queue_json_entry(const struct queue_entry *e)
{
	char when[32];
	json_t *o;

	queue_json_time(e->env.arrival_us / 1000000, when, sizeof(when));
	o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:o, s:i}",
	    "id", e->id, "state", queue_json_state(e->queue),
	    "size", (json_int_t)e->env.size, "arrival", when,
	    "arrival_time", (json_int_t)(e->env.arrival_us / 1000000),
	    "sender", e->env.sender ? e->env.sender : "",
	    "recipients", queue_json_rcpts(&e->env),
	    "attempts", (int)e->env.attempts);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "next_attempt", e->env.next_attempt > 0 ?
	    json_integer((json_int_t)e->env.next_attempt) : json_null());
	json_object_set_new(o, "last_error", e->env.last_error ?
	    json_string(e->env.last_error) : json_null());
	return o;
}

/* The header section of data/ID: up to and including the empty line,
 * at most QUEUE_JSON_HEAD_MAX bytes. */
static int
queue_json_head(const char *queue_dir, const char *id, json_t *o,
    struct errbuf *eb)
{
	char *head, *end;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = queue_data_open(queue_dir, id, eb)) < 0)
		return -1;
	if ((head = malloc(QUEUE_JSON_HEAD_MAX + 1)) == NULL) {
		close(fd);
		return errbuf_set(eb, "out of memory");
	}
	while (len < QUEUE_JSON_HEAD_MAX && (n = read(fd, head + len,
	    QUEUE_JSON_HEAD_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	head[len] = '\0';
	if ((end = strstr(head, "\n\n")) != NULL)
		end[1] = '\0';
	else if (len == QUEUE_JSON_HEAD_MAX)
		json_object_set_new(o, "headers_truncated", json_true());
	/* Headers may hold 8-bit bytes: json_stringn refuses invalid
	 * UTF-8, so those are shown as '?'. */
	for (end = head; *end != '\0'; end++)
		if ((unsigned char)*end >= 0x80)
			*end = '?';
	json_object_set_new(o, "headers", json_string(head));
	free(head);
	return 0;
}

json_t *
queue_json_show(const char *queue_dir, const char *id, struct errbuf *eb)
{
	static const enum queue_name where[] = { QUEUE_INCOMING, QUEUE_ACTIVE,
	    QUEUE_DEFERRED, QUEUE_HOLD };
	struct queue_entry e;
	json_t *o = NULL;
	size_t i;

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", id);
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		envelope_init(&e.env);
		errbuf_clear(eb);
		e.queue = where[i];
		if (queue_env_load(queue_dir, where[i], id, &e.env, eb) == 0)
			break;
		envelope_fini(&e.env);
		if (eb->errnum != ENOENT)
			return NULL;
	}
	if (i == sizeof(where) / sizeof(where[0])) {
		errno = ENOENT;
		errbuf_errno(eb, ENOENT, "%s is not in the queue (it may have "
		    "been delivered, or still wait in maildrop)", id);
		return NULL;
	}
	if ((o = queue_json_entry(&e)) == NULL)
		errbuf_set(eb, "out of memory");
	else if (queue_json_head(queue_dir, id, o, eb) < 0) {
		json_decref(o);
		o = NULL;
	}
	envelope_fini(&e.env);
	return o;
}
