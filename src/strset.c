/*
 * strset: case-insensitive set of borrowed strings (see strset.h).
 *
 * Linear probing in a table kept at most half full, hashed with
 * FNV-1a over the lower-cased bytes; the table doubles when it would
 * pass half full.  Nothing is ever removed.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include "strset.h"

static uint64_t
strset_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) *
		    1099511628211ULL;
	}
	return h;
}

void
strset_init(struct strset *set)
{
	set->slot = NULL;
	set->cap = 0;
	set->n = 0;
}

void
strset_fini(struct strset *set)
{
	free(set->slot);
	strset_init(set);
}

static int
strset_grow(struct strset *set)
{
	struct strset bigger;
	size_t i, j;

	bigger.cap = set->cap ? set->cap * 2 : 64;
	bigger.n = set->n;
	if ((bigger.slot = calloc(bigger.cap, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < set->cap; i++) {
		if (set->slot[i] == NULL)
			continue;
		j = strset_hash(set->slot[i]) & (bigger.cap - 1);
		while (bigger.slot[j] != NULL)
			j = (j + 1) & (bigger.cap - 1);
		bigger.slot[j] = set->slot[i];
	}
	free(set->slot);
	*set = bigger;
	return 0;
}

int
strset_add(struct strset *set, char *s)
{
	size_t j;

	if ((set->n + 1) * 2 > set->cap && strset_grow(set) < 0)
		return -1;
	j = strset_hash(s) & (set->cap - 1);
	for (; set->slot[j] != NULL; j = (j + 1) & (set->cap - 1))
		if (strcasecmp(set->slot[j], s) == 0)
			return 0;
	set->slot[j] = s;
	set->n++;
	return 1;
}

int
strset_has(const struct strset *set, const char *s)
{
	size_t j;

	if (set->cap == 0)
		return 0;
	j = strset_hash(s) & (set->cap - 1);
	for (; set->slot[j] != NULL; j = (j + 1) & (set->cap - 1))
		if (strcasecmp(set->slot[j], s) == 0)
			return 1;
	return 0;
}
