/*
 * aliases: the aliases(5) file, as tern uses it.
 *
 * tern does no local delivery; aliases rewrite local names (recipients
 * without a domain, or whose domain is origin/hostname) to one or more
 * addresses, which are then qualified with origin.  The file syntax is
 * the traditional one: "name: value, value", continuation lines begin
 * with whitespace, '#' starts a comment line, names are matched
 * case-insensitively, quoted names allowed ("john doe": jd).
 * Values may be addresses or local names.  "|command", "/file" and
 * ":include:/file" values are valid syntax elsewhere but tern cannot
 * deliver to them: they are reported as warnings and skipped.
 * Duplicate names are errors.  Lines are bounded (ALIASES_MAX_LINE) and
 * so is the number of entries (ALIASES_MAX_ENTRIES).
 */
#ifndef TERN_ALIASES_H
#define TERN_ALIASES_H

#include <stddef.h>

#include "errbuf.h"

#define ALIASES_MAX_LINE 65536
#define ALIASES_MAX_ENTRIES 100000
#define ALIASES_MAX_DEPTH 20

struct aliases; /* opaque */

/* Called for each problem found while loading: path, 1-based line, and
 * a message naming the problem and the fix.  is_error distinguishes
 * errors (the file is rejected) from warnings (the entry is skipped). */
typedef void (*aliases_report_fn)(const char *path, unsigned line,
    int is_error, const char *msg, void *arg);

/*
 * Load and validate an aliases file.  Every problem is passed to report
 * (when not NULL).  Returns the table, or NULL with eb set when the file
 * cannot be read or holds at least one error ("/etc/aliases: 3 errors").
 * A missing file yields an empty table (there is nothing to rewrite).
 */
struct aliases *aliases_load(const char *path, aliases_report_fn report,
    void *arg, struct errbuf *eb);

void aliases_free(struct aliases *al);

/* Number of names in the table. */
size_t aliases_count(const struct aliases *al);

/*
 * Look up a local name (case-insensitive).  Returns the number of
 * values and points *values at them (owned by the table), or 0 when
 * the name is not an alias.  Each value is an addr-spec
 * ("user@example.org", "\"a, b\"@example.org") or a local name; the
 * angle brackets and display name of "Name <user@example.org>" are
 * gone, and so is the backslash of sendmail's "\name", so an expander
 * must treat a name that expands to itself as final.  Case folding is
 * ASCII-only.
 */
size_t aliases_lookup(const struct aliases *al, const char *name,
    const char *const **values);

#endif
