/*
 * smtpd_auth: the listener's users file and its defence against
 * password guessing.
 *
 * users_file holds "user:hash" lines ('#' comments and blank lines
 * allowed), where hash is any crypt(3) hash libcrypt knows: yescrypt
 * ($y$), SHA-512 ($6$), bcrypt ($2b$)...  The file must not be readable
 * or writable by others; it is read at start and on SIGHUP.
 *
 * Failures are counted per client address (IPv6 clients per /64, as
 * one host usually owns one): each failure in a row delays the 535
 * reply (1 s, 2 s, 4 s..., at most SMTPD_AUTH_MAX_DELAY), and after
 * SMTPD_AUTH_MAX_FAILURES failures within SMTPD_AUTH_WINDOW the address
 * may not try again until the window has passed (421 4.7.0).  A
 * success clears the address's count.  The table is bounded
 * (SMTPD_AUTH_TRACKED addresses in hash buckets of a few entries; a full
 * bucket drops the entry whose last failure is oldest), and the clock
 * is passed in, so all of this is unit-testable.
 */
#ifndef TERN_SMTPD_AUTH_H
#define TERN_SMTPD_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "errbuf.h"

#define SMTPD_AUTH_MAX_FAILURES 10
#define SMTPD_AUTH_WINDOW 600      /* seconds */
#define SMTPD_AUTH_MAX_DELAY 8     /* seconds */
#define SMTPD_AUTH_TRACKED 4096

struct smtpd_users;

/* Load a users file.  Returns NULL with eb naming file:line for a
 * malformed line, or the file for a bad mode / missing file. */
struct smtpd_users *smtpd_users_load(const char *path, struct errbuf *eb);
void smtpd_users_free(struct smtpd_users *u);

/* Check a password (constant-time comparison of the crypt output; an
 * unknown user costs as much as a known one).  Returns 1 valid, 0
 * invalid, -1 when crypt(3) failed (unsupported hash: eb says so).  A
 * password over 511 bytes (libxcrypt's limit) or a user over 1024 bytes
 * is invalid. */
int smtpd_users_check(const struct smtpd_users *u, const char *user,
    const char *pass, struct errbuf *eb);

struct smtpd_throttle;

struct smtpd_throttle *smtpd_throttle_new(void);
void smtpd_throttle_free(struct smtpd_throttle *t);

/* May sa try AUTH at now?  False while it is locked out. */
bool smtpd_throttle_allowed(struct smtpd_throttle *t,
    const struct sockaddr *sa, int64_t now);

/* Record a failure at now; returns the delay in seconds before the 535
 * reply may be sent (0 for a first failure is allowed). */
unsigned smtpd_throttle_fail(struct smtpd_throttle *t,
    const struct sockaddr *sa, int64_t now);

/* Record a success: forget sa's failures. */
void smtpd_throttle_ok(struct smtpd_throttle *t, const struct sockaddr *sa);

#endif
