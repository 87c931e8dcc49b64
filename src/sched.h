/*
 * sched: the queue manager's timetable.
 *
 * A pure data structure: a set of queue IDs, each with the time (in
 * seconds) it is next due for delivery, ordered by due time and then by
 * ID (queue IDs sort by arrival, so ties go oldest first).  It never
 * reads a clock, a file or a random source: the time and the random
 * jitter are arguments, so the event loop and the tests drive it alike.
 * Every operation on one entry is O(log n).
 *
 * The message-lifetime helpers and the retry backoff live here too, as
 * they are the rest of "when is this message next looked at".
 */
#ifndef TERN_SCHED_H
#define TERN_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest ID the timetable holds (a queue ID is QUEUE_ID_LEN = 19). */
#define SCHED_ID_MAX 31

/*
 * Seconds to wait after the attempts-th failed attempt (attempts >= 1;
 * 0 counts as 1): retry_min * 2^(attempts-1), capped at retry_max, then
 * moved by -20%..+20% with rnd in [0,1) (0 gives -20%, values near 1
 * give nearly +20%), so deferred mail does not retry in lock step.  The
 * result is never below 1 and never above retry_max * 1.2 (1 wins when
 * retry_max is 0).  An rnd outside [0,1) is clamped; NaN counts as 0.5.
 */
uint64_t sched_backoff(unsigned attempts, uint64_t retry_min,
    uint64_t retry_max, double rnd);

/*
 * True when a message that arrived at arrival (seconds) has been queued
 * for queue_lifetime seconds or more at now, and must be bounced.  A
 * clock that went backwards counts as an age of 0; a lifetime of 0
 * expires mail at its first look.
 */
bool sched_expired(int64_t arrival, int64_t now, uint64_t queue_lifetime);

/*
 * True when a delay notice should be sent now: delay_warning is not 0
 * (0 = never), none was sent yet, and the message has waited at least
 * delay_warning seconds.
 */
bool sched_delay_warning_due(int64_t arrival, int64_t now,
    uint64_t delay_warning, bool already_sent);

struct sched;

/* An empty timetable, or NULL (errno ENOMEM). */
struct sched *sched_new(void);

/* Release it (NULL is fine). */
void sched_free(struct sched *s);

/*
 * Add id (1..SCHED_ID_MAX characters) due at due, or move it there when
 * it is already in.  Returns 0, or -1 with errno ENOMEM (nothing
 * changed) or EINVAL (empty or overlong id).
 */
int sched_set(struct sched *s, const char *id, int64_t due);

/* Take id out; true when it was there. */
bool sched_remove(struct sched *s, const char *id);

/* True when id is in. */
bool sched_has(const struct sched *s, const char *id);

/* Number of entries. */
size_t sched_count(const struct sched *s);

/* The earliest due time, or INT64_MAX when empty (the event loop arms
 * its timer with it). */
int64_t sched_next_due(const struct sched *s);

/* Due time of id into *due; false when id is not in. */
bool sched_due(const struct sched *s, const char *id, int64_t *due);

/*
 * Remove the earliest entry due at or before now and copy its ID into
 * id (idlen >= SCHED_ID_MAX + 1; a shorter buffer gets a truncated,
 * NUL-terminated copy).  False, with nothing changed, when none is due.
 */
bool sched_pop_due(struct sched *s, int64_t now, char *id, size_t idlen);

/*
 * Make every entry due at now (tern flush, sendmail -q): entries due
 * later are moved to now; entries already overdue keep their earlier
 * time, so they still go first.  O(n).
 */
void sched_flush(struct sched *s, int64_t now);

#endif
