/*
 * sched: the timetable of queued messages (see sched.h).
 *
 * Owns a binary min-heap of entries (due time, then ID) and a hash
 * table from ID to heap slot, so finding, moving and removing one entry
 * are O(log n).  It knows nothing of files, sockets or clocks.
 *
 * Invariants, restored before any function returns:
 *  - heap[0..len) is a min-heap under sched_less;
 *  - the table is open-addressed with linear probing, its size a power
 *    of two at least twice len; table[heap[i].slot] == i for every i,
 *    and every other table cell is SCHED_EMPTY;
 *  - each ID appears once.
 * Deleting from the table shifts later cells back instead of leaving
 * tombstones, so lookups never slow down as entries come and go.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

#define SCHED_EMPTY SIZE_MAX
#define SCHED_TABLE_MIN 64

struct sched_entry {
	int64_t due;
	uint64_t hash;
	size_t slot; /* its cell in the table */
	char id[SCHED_ID_MAX + 1];
};

struct sched {
	struct sched_entry *heap;
	size_t len, cap;
	size_t *table;
	size_t tsize; /* power of two */
};

/* ------------------------------------------------------------- timing */

/* Saturating addition: times far in the future must not wrap. */
static uint64_t
sched_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t
sched_backoff(unsigned attempts, uint64_t retry_min, uint64_t retry_max,
    double rnd)
{
	uint64_t base = retry_min, lo, span, v, hi;
	unsigned i;

	/* Doubling stops at the cap, so this loops at most 64 times. */
	for (i = 1; i < attempts && base != 0 && base < retry_max; i++)
		base = base > retry_max / 2 ? retry_max : base * 2;
	if (base > retry_max)
		base = retry_max;
	/* Integer bounds with a double only for the offset, so rnd 0 gives
	 * exactly base - 20% whatever the rounding of 0.8 would be. */
	lo = base - base / 5;
	span = base / 5 * 2;
	if (rnd != rnd)
		rnd = 0.5;
	if (rnd <= 0.0)
		v = 0;
	else if (rnd >= 1.0)
		v = span;
	else
		v = (uint64_t)((double)span * rnd);
	if (v >= span) /* rnd < 1 must stay below +20% */
		v = span > 0 ? span - 1 : 0;
	v = sched_add_sat(lo, v);
	hi = sched_add_sat(retry_max, retry_max / 5);
	if (v > hi)
		v = hi;
	return v < 1 ? 1 : v;
}

/* Seconds from arrival to now; 0 when the clock went backwards. */
static uint64_t
sched_age(int64_t arrival, int64_t now)
{
	if (now <= arrival)
		return 0;
	return (uint64_t)now - (uint64_t)arrival;
}

bool
sched_expired(int64_t arrival, int64_t now, uint64_t queue_lifetime)
{
	return sched_age(arrival, now) >= queue_lifetime;
}

bool
sched_delay_warning_due(int64_t arrival, int64_t now, uint64_t delay_warning,
    bool already_sent)
{
	if (delay_warning == 0 || already_sent)
		return false;
	return sched_age(arrival, now) >= delay_warning;
}

/* --------------------------------------------------------- hash table */

/* FNV-1a: IDs are short, and this spreads consecutive hex IDs well. */
static uint64_t
sched_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;

	while (*id != '\0') {
		h ^= (unsigned char)*id++;
		h *= 1099511628211ULL;
	}
	return h;
}

/* The table cell holding id, or the empty cell where it would go. */
static size_t
sched_find(const struct sched *s, const char *id, uint64_t hash)
{
	size_t mask = s->tsize - 1, k = (size_t)hash & mask;

	while (s->table[k] != SCHED_EMPTY &&
	    strcmp(s->heap[s->table[k]].id, id) != 0)
		k = (k + 1) & mask;
	return k;
}

/* True when home lies cyclically in (hole, k]: the entry in cell k may
 * not move back to the hole without becoming unreachable. */
static bool
sched_stays(size_t hole, size_t k, size_t home)
{
	if (hole <= k)
		return hole < home && home <= k;
	return hole < home || home <= k;
}

/* Empty cell k, shifting back the cells of its probe run. */
static void
sched_table_del(struct sched *s, size_t k)
{
	size_t mask = s->tsize - 1, hole = k, home;

	for (;;) {
		s->table[hole] = SCHED_EMPTY;
		for (;;) {
			k = (k + 1) & mask;
			if (s->table[k] == SCHED_EMPTY)
				return;
			home = (size_t)s->heap[s->table[k]].hash & mask;
			if (!sched_stays(hole, k, home))
				break;
		}
		s->table[hole] = s->table[k];
		s->heap[s->table[hole]].slot = hole;
		hole = k;
	}
}

/* Rebuild the table at size tsize.  Returns 0 or -1 (ENOMEM, the old
 * table kept). */
static int
sched_table_resize(struct sched *s, size_t tsize)
{
	size_t *t, i, k;

	t = malloc(tsize * sizeof(*t));
	if (t == NULL)
		return -1;
	for (k = 0; k < tsize; k++)
		t[k] = SCHED_EMPTY;
	free(s->table);
	s->table = t;
	s->tsize = tsize;
	for (i = 0; i < s->len; i++) {
		k = sched_find(s, s->heap[i].id, s->heap[i].hash);
		t[k] = i;
		s->heap[i].slot = k;
	}
	return 0;
}

/* Room for one more entry in both the heap and the table. */
static int
sched_reserve(struct sched *s)
{
	struct sched_entry *h;
	size_t cap;

	if ((s->len + 1) * 2 > s->tsize &&
	    sched_table_resize(s, s->tsize * 2) < 0)
		return -1;
	if (s->len < s->cap)
		return 0;
	cap = s->cap * 2;
	h = realloc(s->heap, cap * sizeof(*h));
	if (h == NULL)
		return -1;
	s->heap = h;
	s->cap = cap;
	return 0;
}

/* --------------------------------------------------------------- heap */

static bool
sched_less(const struct sched_entry *a, const struct sched_entry *b)
{
	if (a->due != b->due)
		return a->due < b->due;
	return strcmp(a->id, b->id) < 0;
}

/* Put e into heap slot i and point its table cell at it. */
static void
sched_place(struct sched *s, size_t i, const struct sched_entry *e)
{
	s->heap[i] = *e;
	s->table[e->slot] = i;
}

static void
sched_sift_up(struct sched *s, size_t i)
{
	struct sched_entry e = s->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!sched_less(&e, &s->heap[parent]))
			break;
		sched_place(s, i, &s->heap[parent]);
		i = parent;
	}
	sched_place(s, i, &e);
}

static void
sched_sift_down(struct sched *s, size_t i)
{
	struct sched_entry e = s->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= s->len)
			break;
		if (c + 1 < s->len && sched_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!sched_less(&s->heap[c], &e))
			break;
		sched_place(s, i, &s->heap[c]);
		i = c;
	}
	sched_place(s, i, &e);
}

/* Restore the heap after heap[i] changed either way. */
static void
sched_fix(struct sched *s, size_t i)
{
	if (i > 0 && sched_less(&s->heap[i], &s->heap[(i - 1) / 2]))
		sched_sift_up(s, i);
	else
		sched_sift_down(s, i);
}

/* Take the entry in heap slot i out of both structures. */
static void
sched_delete_at(struct sched *s, size_t i)
{
	sched_table_del(s, s->heap[i].slot);
	s->len--;
	if (i == s->len)
		return;
	sched_place(s, i, &s->heap[s->len]);
	sched_fix(s, i);
}

/* --------------------------------------------------------- public API */

struct sched *
sched_new(void)
{
	struct sched *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cap = SCHED_TABLE_MIN / 2;
	s->heap = malloc(s->cap * sizeof(*s->heap));
	if (s->heap == NULL || sched_table_resize(s, SCHED_TABLE_MIN) < 0) {
		sched_free(s);
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

void
sched_free(struct sched *s)
{
	if (s == NULL)
		return;
	free(s->heap);
	free(s->table);
	free(s);
}

/* Heap slot of id, or SCHED_EMPTY. */
static size_t
sched_lookup(const struct sched *s, const char *id)
{
	size_t k;

	if (strlen(id) > SCHED_ID_MAX)
		return SCHED_EMPTY;
	k = sched_find(s, id, sched_hash(id));
	return s->table[k];
}

int
sched_set(struct sched *s, const char *id, int64_t due)
{
	struct sched_entry e;
	size_t i, n = strlen(id);

	if (n == 0 || n > SCHED_ID_MAX) {
		errno = EINVAL;
		return -1;
	}
	i = sched_lookup(s, id);
	if (i != SCHED_EMPTY) {
		s->heap[i].due = due;
		sched_fix(s, i);
		return 0;
	}
	if (sched_reserve(s) < 0) {
		errno = ENOMEM;
		return -1;
	}
	memset(&e, 0, sizeof(e));
	memcpy(e.id, id, n + 1);
	e.due = due;
	e.hash = sched_hash(id);
	e.slot = sched_find(s, id, e.hash);
	i = s->len++;
	sched_place(s, i, &e);
	sched_sift_up(s, i);
	return 0;
}

bool
sched_remove(struct sched *s, const char *id)
{
	size_t i = sched_lookup(s, id);

	if (i == SCHED_EMPTY)
		return false;
	sched_delete_at(s, i);
	return true;
}

bool
sched_has(const struct sched *s, const char *id)
{
	return sched_lookup(s, id) != SCHED_EMPTY;
}

bool
sched_due(const struct sched *s, const char *id, int64_t *due)
{
	size_t i = sched_lookup(s, id);

	if (i == SCHED_EMPTY)
		return false;
	*due = s->heap[i].due;
	return true;
}

size_t
sched_count(const struct sched *s)
{
	return s->len;
}

int64_t
sched_next_due(const struct sched *s)
{
	return s->len > 0 ? s->heap[0].due : INT64_MAX;
}

bool
sched_pop_due(struct sched *s, int64_t now, char *id, size_t idlen)
{
	size_t n;

	if (s->len == 0 || s->heap[0].due > now)
		return false;
	if (idlen > 0) {
		n = strlen(s->heap[0].id);
		if (n >= idlen)
			n = idlen - 1;
		memcpy(id, s->heap[0].id, n);
		id[n] = '\0';
	}
	sched_delete_at(s, 0);
	return true;
}

void
sched_flush(struct sched *s, int64_t now)
{
	size_t i;

	for (i = 0; i < s->len; i++)
		if (s->heap[i].due > now)
			s->heap[i].due = now;
	/* Lowering keys unevenly can break ties the other way (two entries
	 * now both due at now compare by ID), so rebuild: Floyd, O(n). */
	for (i = s->len / 2; i-- > 0;)
		sched_sift_down(s, i);
}
