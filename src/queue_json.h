/*
 * queue_json: a queued message as a JSON object — the one shape that
 * "tern queue --json", "tern show" and ternd's control socket share, so
 * the listing looks the same whether the daemon runs or not.
 */
#ifndef TERN_QUEUE_JSON_H
#define TERN_QUEUE_JSON_H

#include <jansson.h>

#include "errbuf.h"
#include "queue.h"

/* Longest header section "show" returns; longer ones are cut there. */
#define QUEUE_JSON_HEAD_MAX (64 * 1024)

/* State name of a message in queue q: "active", "deferred", "hold", or
 * the directory's name ("maildrop", "incoming": not yet picked up or
 * not yet looked at by ternd). */
const char *queue_json_state(enum queue_name q);

/*
 * The object of one message: id, state, size, arrival (ISO 8601, UTC),
 * arrival_time (epoch seconds), sender, recipients [{address, state,
 * status?, reason?}], attempts, next_attempt (epoch seconds or null),
 * last_error (string or null).  NULL when out of memory.
 */
json_t *queue_json_entry(const struct queue_entry *e);

/*
 * The object of "tern show ID": queue_json_entry's keys plus "headers",
 * the message's header section (at most QUEUE_JSON_HEAD_MAX bytes,
 * "headers_truncated": true when cut).  Looks in incoming, active,
 * deferred and hold.  NULL with eb set (errno ENOENT when ID is not
 * queued there).
 */
json_t *queue_json_show(const char *queue_dir, const char *id,
    struct errbuf *eb);

/* ISO 8601 UTC of t (epoch seconds) into out (>= 21 bytes). */
void queue_json_time(int64_t t, char *out, size_t len);

#endif
