/*
 * envelope: the versioned, human-readable envelope of a queued message.
 *
 * An envelope is a sequence of "key: value" lines:
 *
 *	tern-envelope: 1
 *	arrival: 1763800000.123456
 *	uid: 1000
 *	sender: alice@example.org
 *	size: 4096
 *	body: 8bitmime
 *	rcpt: bob@example.com state=pending notify=success,failure
 *	...
 *	end
 *
 * Values never hold control characters: '%', space, control bytes and
 * 0x7f are written as %XX, so every record is one line and any value
 * round-trips.  A maildrop or queue file that holds the message too has
 * "data: N" after the records, then exactly N bytes of message, then
 * "end".  A file without its end marker was never completely written
 * and is treated as if it did not exist.  Unknown keys are errors (a
 * newer tern wrote the file, or it is not ours); the version line lets
 * a later format stay readable.
 */
#ifndef TERN_ENVELOPE_H
#define TERN_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "errbuf.h"

#define ENVELOPE_VERSION 1
#define ENVELOPE_MAX_RCPTS 100000

/* DSN NOTIFY (RFC 3461); 0 means "not given" (the default behaviour). */
#define ENVELOPE_NOTIFY_NEVER 0x01
#define ENVELOPE_NOTIFY_SUCCESS 0x02
#define ENVELOPE_NOTIFY_FAILURE 0x04
#define ENVELOPE_NOTIFY_DELAY 0x08

enum envelope_rcpt_state {
	ENVELOPE_RCPT_PENDING,
	ENVELOPE_RCPT_DEFERRED,
	ENVELOPE_RCPT_SENT,
	ENVELOPE_RCPT_BOUNCED,
};

enum envelope_ret { ENVELOPE_RET_DEFAULT, ENVELOPE_RET_FULL,
	ENVELOPE_RET_HDRS };
enum envelope_body { ENVELOPE_BODY_7BIT, ENVELOPE_BODY_8BITMIME };

struct envelope_rcpt {
	char *addr;     /* addr-spec */
	char *orcpt;    /* DSN ORCPT "type;address", or NULL */
	unsigned notify;
	int state;      /* enum envelope_rcpt_state */
	char *status;   /* enhanced status of the last attempt ("5.1.1") */
	char *reason;   /* what the last attempt said, or NULL */
};

struct envelope {
	int64_t arrival_us; /* microseconds since the epoch */
	long uid;           /* submitting user, -1 when from SMTP */
	char *sender;       /* addr-spec; "" is the null sender */
	uint64_t size;      /* message bytes as queued */
	int body;           /* enum envelope_body */
	bool smtputf8;
	bool requiretls;
	int ret;            /* enum envelope_ret */
	char *envid;        /* DSN ENVID (xtext decoded), or NULL */
	unsigned attempts;
	int64_t next_attempt; /* seconds since the epoch, 0: now */
	bool warned;          /* a delay notice has been sent */
	char *last_error;
	struct envelope_rcpt *rcpts;
	size_t nrcpts;
	size_t rcpts_cap;
};

void envelope_init(struct envelope *env);
void envelope_fini(struct envelope *env);

/* Add a recipient (addr copied); returns it, or NULL on allocation
 * failure or past ENVELOPE_MAX_RCPTS. */
struct envelope_rcpt *envelope_add_rcpt(struct envelope *env,
    const char *addr);

/* Append the records of env to out, without "data:" or "end".
 * Returns 0, or -1 when out's limit is reached / no memory. */
int envelope_encode(const struct envelope *env, struct buf *out);

/*
 * Parse records from text[0..len).  Stops after "end" (then *data_len is
 * 0 and *data_off the offset after it) or after "data: N" (then
 * *data_off is where the message starts and *data_len is N; the caller
 * checks the "end" trailer after the data, see envelope_check_trailer).
 * Returns 0, 1 when text ends before either marker (the caller may read
 * more and try again), or -1 with eb set for malformed input.
 */
int envelope_decode(const char *text, size_t len, struct envelope *env,
    size_t *data_off, uint64_t *data_len, struct errbuf *eb);

/* The trailer written after the message data. */
#define ENVELOPE_TRAILER "end\n"
#define ENVELOPE_TRAILER_LEN 4

/* Names for states, notify masks, ret and body values. */
const char *envelope_rcpt_state_name(int state);
int envelope_notify_format(unsigned notify, char *out, size_t outlen);
/* Parse "never" or "success,delay,failure"; returns 0 or -1. */
int envelope_notify_parse(const char *s, unsigned *out);

#endif
