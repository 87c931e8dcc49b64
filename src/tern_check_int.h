/*
 * tern_check_int: what the files of "tern check" share — the run's
 * state (the config, counts of errors and warnings, who ternd will
 * run as) and the one way a finding is printed.
 */
#ifndef TERN_TERN_CHECK_INT_H
#define TERN_TERN_CHECK_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

#define TERN_CHECK_MAX_GROUPS 64

struct tern_check {
	const struct config *cfg;
	const char *path;   /* the config file, for file:line */
	unsigned errors;
	unsigned warnings;
	bool as_root;       /* euid 0: file access is judged for run_user */
	bool is_run_user;   /* not root, and the current user is run_user */
	bool have_run_user; /* run_user exists: run_uid, run_gids are set */
	uid_t run_uid;
	gid_t run_gids[TERN_CHECK_MAX_GROUPS]; /* primary first */
	int run_ngids;
};

enum tern_check_level { TERN_CHECK_WARN, TERN_CHECK_ERROR };

/* Print "path:line: [warning: ]message" (no line when line is 0) and
 * count it. */
void tern_check_say(struct tern_check *c, unsigned line,
    enum tern_check_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* How ternd will read a file: as run_user after dropping root (relay
 * secrets, DKIM keys), or before, as whoever started it (listener
 * files). */
enum tern_check_reader { TERN_CHECK_BY_RUN_USER, TERN_CHECK_BY_STARTER };

/*
 * Check a file holding a secret, named by key in section sect (e.g.
 * "[relay brevo]"): it exists, is a regular file (not a symbolic link
 * when no_link), is not empty, gives others no access, and can be read
 * by reader.  Returns true when the file can be opened for more checks.
 */
bool tern_check_secret(struct tern_check *c, unsigned line,
    const char *sect, const char *key, const char *path,
    enum tern_check_reader reader, bool no_link);

/* Check a file that need not be secret (a CA or certificate): it
 * exists and is a regular file.  Returns true when it is. */
bool tern_check_public(struct tern_check *c, unsigned line,
    const char *sect, const char *key, const char *path);

/* The cross-checks of each kind of section. */
void tern_check_relays(struct tern_check *c);
void tern_check_listens(struct tern_check *c);
void tern_check_dkims(struct tern_check *c);

#endif
