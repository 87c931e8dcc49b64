/*
 * relay_state: the health, quotas and connection count of one relay,
 * and the choice of a relay for the next message.
 *
 * Pure bookkeeping: the time is always an argument (seconds), nothing
 * here reads a clock or opens a socket.  The only I/O is saving and
 * loading the state file that carries cool-downs and quota windows
 * across restarts.
 *
 * Quota windows slide: a message sent at t counts in a window of W
 * seconds while now - t < W, so at exactly t + 3600 it has left the
 * hour.  The times sent are kept as runs (second, messages in that
 * second), and runs older than a day are dropped, so one relay holds at
 * most RELAY_STATE_RUNS_MAX runs (86,400: a day has no more distinct
 * seconds) whatever its quota or traffic, and every count is exact.
 *
 * State file: text, one line per relay, lines starting with '#' ignored:
 *
 *	relay NAME failures=N cool_until=T sent=T1,T2,T3*K,...
 *
 * N is the number of consecutive failures, T a cool-down end (0: none),
 * and sent the seconds messages were sent in, oldest first; "T*K" is K
 * messages in second T (written only when K > 1).
 */
#ifndef TERN_RELAY_STATE_H
#define TERN_RELAY_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

#define RELAY_STATE_HOUR 3600
#define RELAY_STATE_DAY 86400
#define RELAY_STATE_RUNS_MAX RELAY_STATE_DAY

/* Cool-downs after the 1st, 2nd, and 3rd and later consecutive
 * failures. */
#define RELAY_STATE_COOL_1 60
#define RELAY_STATE_COOL_2 600
#define RELAY_STATE_COOL_MAX 3600

/* Longest state-file line read; longer lines are malformed.  A saved
 * line is at most about 86,400 runs of 31 bytes. */
#define RELAY_STATE_LINE_MAX (4 * 1024 * 1024)

struct relay_state;

/*
 * State for the relay called name (non-empty, no whitespace or control
 * characters, as [relay NAME] allows), healthy and with nothing sent.
 * Returns NULL with errno EINVAL (bad name) or ENOMEM.
 */
struct relay_state *relay_state_new(const char *name);

/* Release it (NULL is fine). */
void relay_state_free(struct relay_state *r);

/* The name given to relay_state_new. */
const char *relay_state_name(const struct relay_state *r);

/*
 * A delivery through the relay failed at now: the 1st consecutive
 * failure makes it cool down for 60 s, the 2nd 600 s, the 3rd and
 * later 3600 s (counted from now).
 */
void relay_state_failure(struct relay_state *r, int64_t now);

/* A delivery succeeded: no failures, no cool-down. */
void relay_state_success(struct relay_state *r);

/* True while the relay is cooling down at now. */
bool relay_state_cooling(const struct relay_state *r, int64_t now);

/* When the cool-down ends (0 when there has been none since the last
 * success). */
int64_t relay_state_cool_until(const struct relay_state *r);

/* Consecutive failures (saturating). */
unsigned relay_state_failures(const struct relay_state *r);

/*
 * One message handed to the relay at now.  A now earlier than the last
 * recorded second (the clock went backwards) is counted in that second,
 * which only makes the quota stricter.
 */
void relay_state_count(struct relay_state *r, int64_t now);

/* True when one more message at now stays within both quotas (0 =
 * unlimited). */
bool relay_state_quota_ok(const struct relay_state *r, int64_t now,
    uint64_t max_per_hour, uint64_t max_per_day);

/* When the next message may go without breaking either quota: now when
 * it may go now. */
int64_t relay_state_quota_free_at(const struct relay_state *r, int64_t now,
    uint64_t max_per_hour, uint64_t max_per_day);

/* Messages sent in the window seconds up to now (for tern stats; the
 * store reaches back one day at most).  Saturates at UINT_MAX. */
unsigned relay_state_sent_last(const struct relay_state *r, int64_t now,
    int64_t window);

/* Connections in use: add delta (negative to release; the count never
 * goes below 0), and read the count.  Not saved. */
void relay_state_conn_add(struct relay_state *r, int delta);
unsigned relay_state_conns(const struct relay_state *r);

/* Limits of one relay: 0 means unlimited for each. */
struct relay_limits {
	uint64_t max_per_hour, max_per_day;
	unsigned max_conns;
};

/*
 * Choose a relay for the next message.  relays[] and limits[] (n each;
 * limits may be NULL for no limits) are in priority order, index 0
 * first.  skip_mask bit i set: relay i must not take this message (it
 * already failed it this round); relays from index 64 on cannot be
 * masked.
 *
 * Returns the index of the first relay not skipped, within quota, below
 * max_conns and not cooling.  When every such relay that is within
 * quota is cooling (none merely busy), returns the one whose cool-down
 * ends first (a failing relay is still tried when all others fail too;
 * ties go to the higher priority).  Otherwise returns -1 and, when
 * retry_at is not NULL, sets *retry_at to when to try again: the
 * earliest quota end, or now + 1 when a relay is only at max_conns;
 * INT64_MAX when every relay is skipped (or n is 0).
 */
int relay_state_pick(struct relay_state *const *relays,
    const struct relay_limits *limits, size_t n, uint64_t skip_mask,
    int64_t now, int64_t *retry_at);

/*
 * Write the state of relays[0..n) to path: a temporary file next to it,
 * fsynced, renamed over path, and the directory fsynced, so a crash
 * leaves the old file or the new one.  Sent times are those kept, i.e.
 * within a day of the last message counted.  Returns 0 or -1 with eb
 * set.
 */
int relay_state_save(struct relay_state *const *relays, size_t n,
    const char *path, struct errbuf *eb);

/*
 * Read path into relays[0..n), matched by name; the state of a relay
 * named in a valid line is replaced.  A missing file is not an error.
 * Lines for relays not in relays[] are ignored (the config changed).
 * Malformed lines (bad syntax, a missing or repeated field, numbers out
 * of range, more than RELAY_STATE_RUNS_MAX sent entries, a line longer
 * than RELAY_STATE_LINE_MAX, a second line for the same relay) are
 * skipped and counted in *bad_lines (may be NULL).  Sent times a day or
 * more before now are dropped, later than now are taken as now, and a
 * cool-down is cut to end by now + RELAY_STATE_COOL_MAX.  Returns 0, or
 * -1 with eb set on a read error or ENOMEM.
 */
int relay_state_load(struct relay_state *const *relays, size_t n,
    const char *path, int64_t now, unsigned *bad_lines, struct errbuf *eb);

#endif
