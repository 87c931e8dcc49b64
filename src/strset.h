/*
 * strset: a set of strings compared case-insensitively (ASCII), for
 * duplicate elimination of recipient addresses (Postfix's "duplicate
 * elimination"): sendmail's recipient list and cleanup's expanded one.
 *
 * An open-addressing hash table of borrowed pointers: the set never
 * copies or frees the strings, which must outlive it.  Adding and
 * looking up cost O(1) on average, so 100,000 recipients take
 * milliseconds rather than the minutes a pairwise comparison would.
 */
#ifndef TERN_STRSET_H
#define TERN_STRSET_H

#include <stddef.h>

struct strset {
	char **slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/* An empty set (no allocation). */
void strset_init(struct strset *set);

/* Free the table (not the strings). */
void strset_fini(struct strset *set);

/*
 * Add s unless a string equal to it, ignoring ASCII case, is there.
 * Returns 1 when s was added (the set keeps the pointer), 0 when an
 * equal string was there already, -1 when memory ran out.
 */
int strset_add(struct strset *set, char *s);

/* Whether a string equal to s, ignoring ASCII case, is in the set. */
int strset_has(const struct strset *set, const char *s);

#endif
