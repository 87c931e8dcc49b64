/*
 * Unit tests for sched: the backoff table, message lifetimes, the
 * timetable's order (ties, moves, removals, flush), and a 100,000-entry
 * run checked against a naive reference.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched.h"
#include "unit.h"

/* ------------------------------------------------------------ backoff */

struct sched_test_backoff {
	unsigned attempts;
	uint64_t min, max;
	double rnd;
	uint64_t want;
};

static const struct sched_test_backoff sched_test_backoffs[] = {
	/* retry_min 30, retry_max 1h: the defaults */
	{ 1, 30, 3600, 0.0, 24 },
	{ 1, 30, 3600, 0.5, 30 },
	{ 1, 30, 3600, 0.999, 35 },
	{ 0, 30, 3600, 0.5, 30 },          /* 0 counts as the first */
	{ 2, 30, 3600, 0.5, 60 },
	{ 3, 30, 3600, 0.5, 120 },
	{ 7, 30, 3600, 0.5, 1920 },
	{ 8, 30, 3600, 0.5, 3600 },        /* 3840 capped */
	{ 8, 30, 3600, 0.0, 2880 },        /* cap - 20% */
	{ 8, 30, 3600, 0.999, 4318 },      /* just under cap + 20% */
	{ 1000, 30, 3600, 0.5, 3600 },
	{ UINT_MAX, 30, 3600, 0.999, 4318 },
	/* tiny and degenerate bounds: never below 1 s */
	{ 1, 1, 3600, 0.0, 1 },
	{ 1, 1, 3600, 0.999, 1 },
	{ 1, 0, 3600, 0.5, 1 },
	{ 9, 0, 3600, 0.5, 1 },
	{ 5, 0, 0, 0.5, 1 },
	{ 5, 10, 0, 0.999, 1 },
	{ 1, 300, 100, 0.5, 100 },         /* min above max: max wins */
	{ 1, 300, 100, 0.999, 119 },
	/* rnd outside [0,1) */
	{ 1, 100, 1000, -1.0, 80 },
	{ 1, 100, 1000, 1.0, 119 },
	{ 1, 100, 1000, 7.5, 119 },
	{ 1, 100, 1000, NAN, 100 },
	{ 1, 100, 1000, INFINITY, 119 },
	{ 1, 100, 1000, -INFINITY, 80 },
	/* near the top: the cap, and no overflow */
	{ 3, UINT64_MAX / 2, UINT64_MAX, 0.0, UINT64_MAX - UINT64_MAX / 5 },
	{ 80, UINT64_MAX, UINT64_MAX, 0.0, UINT64_MAX - UINT64_MAX / 5 },
};

static void
sched_test_backoff_table(void **state)
{
	const struct sched_test_backoff *c;
	uint64_t got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sched_test_backoffs) /
	    sizeof(sched_test_backoffs[0]); i++) {
		c = &sched_test_backoffs[i];
		got = sched_backoff(c->attempts, c->min, c->max, c->rnd);
		if (got != c->want)
			fail_msg("case %zu: backoff(%u, %llu, %llu, %g) = "
			    "%llu, want %llu", i, c->attempts,
			    (unsigned long long)c->min,
			    (unsigned long long)c->max, c->rnd,
			    (unsigned long long)got,
			    (unsigned long long)c->want);
	}
}

/* The jitter stays within +-20% of the capped exponential, within
 * [1, retry_max * 1.2], and grows with rnd. */
static void
sched_test_backoff_bounds(void **state)
{
	static const uint64_t mins[] = { 1, 7, 30, 300, 3600 };
	uint64_t base, got, prev, min, max = 14400;
	unsigned a;
	size_t m;
	int k;

	(void)state;
	for (m = 0; m < sizeof(mins) / sizeof(mins[0]); m++) {
		min = mins[m];
		for (a = 1; a <= 70; a++) {
			base = min;
			for (unsigned j = 1; j < a && base < max; j++)
				base *= 2;
			if (base > max)
				base = max;
			prev = 0;
			for (k = 0; k < 1000; k++) {
				got = sched_backoff(a, min, max, k / 1000.0);
				assert_true(got >= 1);
				assert_true(got >= base - base / 5);
				assert_true(got <= base + base / 5);
				assert_true(got <= max + max / 5);
				assert_true(got >= prev);
				prev = got;
			}
			assert_int_equal(sched_backoff(a, min, max, 0.0),
			    base - base / 5 < 1 ? 1 : base - base / 5);
		}
	}
	/* Near the top of the range: +20% would overflow 64 bits. */
	for (k = 0; k < 1000; k++) {
		got = sched_backoff(70, UINT64_MAX / 3, UINT64_MAX, k / 1000.0);
		assert_true(got >= UINT64_MAX - UINT64_MAX / 5);
	}
}

/* ----------------------------------------------------------- lifetime */

struct sched_test_life {
	int64_t arrival, now;
	uint64_t limit;
	bool already;
	bool expired, warn;
};

static const struct sched_test_life sched_test_lives[] = {
	{ 1000, 1000, 432000, false, false, false },
	{ 1000, 432999, 432000, false, false, false },
	{ 1000, 433000, 432000, false, true, true },
	{ 1000, 433001, 432000, false, true, true },
	{ 1000, 433001, 432000, true, true, false },  /* notice sent */
	{ 1000, 500, 60, false, false, false },       /* clock went back */
	{ 1000, 1000, 0, false, true, false },        /* 0: bounce / never */
	{ INT64_MIN, INT64_MAX, UINT64_MAX, false, true, true },
	{ INT64_MAX, INT64_MIN, 1, false, false, false },
};

static void
sched_test_lifetime(void **state)
{
	const struct sched_test_life *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sched_test_lives) / sizeof(sched_test_lives[0]);
	    i++) {
		c = &sched_test_lives[i];
		if (sched_expired(c->arrival, c->now, c->limit) != c->expired)
			fail_msg("case %zu: expired wrong", i);
		if (sched_delay_warning_due(c->arrival, c->now, c->limit,
		    c->already) != c->warn)
			fail_msg("case %zu: warning wrong", i);
	}
	/* 4h default: due at exactly 4h, not before. */
	assert_false(sched_delay_warning_due(0, 14399, 14400, false));
	assert_true(sched_delay_warning_due(0, 14400, 14400, false));
}

/* ---------------------------------------------------------- timetable */

/* Pop everything due by now and check the order. */
static void
sched_test_expect(struct sched *s, int64_t now, const char *const *want,
    size_t n)
{
	char id[SCHED_ID_MAX + 1];
	size_t i;

	for (i = 0; i < n; i++) {
		assert_true(sched_pop_due(s, now, id, sizeof(id)));
		assert_string_equal(id, want[i]);
		assert_false(sched_has(s, id));
	}
	assert_false(sched_pop_due(s, now, id, sizeof(id)));
}

static void
sched_test_ties(void **state)
{
	static const char *const want[] = { "z", "a", "b", "c", "y" };
	struct sched *s = sched_new();

	(void)state;
	assert_non_null(s);
	assert_int_equal(sched_count(s), 0);
	assert_true(sched_next_due(s) == INT64_MAX);
	assert_int_equal(sched_set(s, "c", 100), 0);
	assert_int_equal(sched_set(s, "y", 200), 0);
	assert_int_equal(sched_set(s, "a", 100), 0);
	assert_int_equal(sched_set(s, "z", 50), 0);
	assert_int_equal(sched_set(s, "b", 100), 0);
	assert_int_equal(sched_count(s), 5);
	assert_true(sched_next_due(s) == 50);
	sched_test_expect(s, 1000, want, 5);
	assert_int_equal(sched_count(s), 0);
	assert_true(sched_next_due(s) == INT64_MAX);
	sched_free(s);
	sched_free(NULL);
}

static void
sched_test_move(void **state)
{
	static const char *const want[] = { "b", "c", "a" };
	struct sched *s = sched_new();
	int64_t due;

	(void)state;
	assert_int_equal(sched_set(s, "a", 100), 0);
	assert_int_equal(sched_set(s, "b", 200), 0);
	assert_int_equal(sched_set(s, "c", 300), 0);
	assert_int_equal(sched_set(s, "a", 400), 0); /* later */
	assert_int_equal(sched_set(s, "c", 250), 0); /* earlier */
	assert_int_equal(sched_count(s), 3);
	assert_true(sched_due(s, "a", &due));
	assert_true(due == 400);
	assert_false(sched_due(s, "d", &due));
	assert_true(sched_next_due(s) == 200);
	sched_test_expect(s, 400, want, 3);
	/* Moving to the same time is harmless; negative times sort too. */
	assert_int_equal(sched_set(s, "x", -5), 0);
	assert_int_equal(sched_set(s, "x", -5), 0);
	assert_int_equal(sched_set(s, "w", INT64_MIN), 0);
	assert_true(sched_next_due(s) == INT64_MIN);
	assert_int_equal(sched_count(s), 2);
	sched_free(s);
}

static void
sched_test_pop_due(void **state)
{
	struct sched *s = sched_new();
	char id[SCHED_ID_MAX + 1], small[4];

	(void)state;
	strcpy(id, "untouched");
	assert_false(sched_pop_due(s, INT64_MAX, id, sizeof(id)));
	assert_string_equal(id, "untouched");
	assert_int_equal(sched_set(s, "m1", 100), 0);
	assert_int_equal(sched_set(s, "m2", 101), 0);
	assert_false(sched_pop_due(s, 99, id, sizeof(id)));
	assert_string_equal(id, "untouched");
	assert_int_equal(sched_count(s), 2);
	assert_true(sched_pop_due(s, 100, id, sizeof(id))); /* at, inclusive */
	assert_string_equal(id, "m1");
	assert_false(sched_pop_due(s, 100, id, sizeof(id)));
	assert_int_equal(sched_set(s, "longer-id-12345", 50), 0);
	assert_true(sched_pop_due(s, 100, small, sizeof(small)));
	assert_string_equal(small, "lon");
	assert_true(sched_next_due(s) == 101);
	sched_free(s);
}

static void
sched_test_remove(void **state)
{
	static const char *const want[] = { "e1", "e3", "e5" };
	struct sched *s = sched_new();
	char id[8];
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		assert_int_equal(sched_set(s, id, 10 * (6 - i)), 0);
	}
	assert_true(sched_remove(s, "e0"));
	assert_true(sched_remove(s, "e2"));
	assert_true(sched_remove(s, "e4"));
	assert_false(sched_remove(s, "e4"));
	assert_false(sched_remove(s, "nope"));
	assert_false(sched_has(s, "e2"));
	assert_true(sched_has(s, "e3"));
	assert_int_equal(sched_count(s), 3);
	/* e5 due 10, e3 30, e1 50: reverse them. */
	assert_int_equal(sched_set(s, "e5", 60), 0);
	assert_int_equal(sched_set(s, "e1", 5), 0);
	sched_test_expect(s, 100, want, 3);
	sched_free(s);
}

static void
sched_test_flush(void **state)
{
	static const char *const want[] = { "old", "a-late", "b-mid", "c" };
	struct sched *s = sched_new();

	(void)state;
	assert_int_equal(sched_set(s, "old", 10), 0);
	assert_int_equal(sched_set(s, "b-mid", 500), 0);
	assert_int_equal(sched_set(s, "a-late", 1000), 0);
	assert_int_equal(sched_set(s, "c", 100), 0);
	sched_flush(s, 100);
	assert_int_equal(sched_count(s), 4);
	assert_true(sched_next_due(s) == 10);
	/* Overdue first, then all the others in ID (arrival) order. */
	sched_test_expect(s, 100, want, 4);
	sched_flush(s, 100); /* empty: nothing to do */
	assert_int_equal(sched_count(s), 0);
	sched_free(s);
}

static void
sched_test_bad_ids(void **state)
{
	struct sched *s = sched_new();
	char id[64];

	(void)state;
	memset(id, 'x', sizeof(id));
	id[SCHED_ID_MAX] = '\0';
	assert_int_equal(sched_set(s, id, 1), 0);
	assert_true(sched_has(s, id));
	id[SCHED_ID_MAX] = 'x';
	id[SCHED_ID_MAX + 1] = '\0';
	errno = 0;
	assert_int_equal(sched_set(s, id, 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_false(sched_has(s, id));
	assert_false(sched_remove(s, id));
	errno = 0;
	assert_int_equal(sched_set(s, "", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(sched_count(s), 1);
	sched_free(s);
}

/* ------------------------------------------------------------- stress */

#define SCHED_TEST_N 100000

struct sched_test_ref {
	char id[12];
	int64_t due;
	bool in;
};

static uint64_t
sched_test_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static int
sched_test_ref_cmp(const void *a, const void *b)
{
	const struct sched_test_ref *x = a, *y = b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Set up the reference and the timetable with the same operations. */
static void
sched_test_stress_fill(struct sched *s, struct sched_test_ref *ref,
    uint64_t *rng)
{
	size_t i, k;

	for (i = 0; i < SCHED_TEST_N; i++) {
		/* IDs in a shuffled-looking order, dues with many ties. */
		k = (i * 7919) % SCHED_TEST_N;
		snprintf(ref[k].id, sizeof(ref[k].id), "Q%06zu", k);
		ref[k].due = (int64_t)(sched_test_rand(rng) % 1000);
		ref[k].in = true;
		assert_int_equal(sched_set(s, ref[k].id, ref[k].due), 0);
	}
	for (i = 0; i < SCHED_TEST_N / 2; i++) {
		k = sched_test_rand(rng) % SCHED_TEST_N;
		ref[k].due = (int64_t)(sched_test_rand(rng) % 1000);
		assert_int_equal(sched_set(s, ref[k].id, ref[k].due), 0);
	}
	for (i = 0; i < SCHED_TEST_N / 3; i++) {
		k = sched_test_rand(rng) % SCHED_TEST_N;
		assert_int_equal(sched_remove(s, ref[k].id), ref[k].in);
		ref[k].in = false;
	}
}

static void
sched_test_stress(void **state)
{
	struct sched_test_ref *ref;
	struct sched *s = sched_new();
	char id[SCHED_ID_MAX + 1];
	uint64_t rng = 88172645463325252ULL;
	size_t i, n = 0;
	clock_t t0 = clock();

	(void)state;
	ref = calloc(SCHED_TEST_N, sizeof(*ref));
	assert_non_null(ref);
	sched_test_stress_fill(s, ref, &rng);
	for (i = 0; i < SCHED_TEST_N; i++) {
		assert_int_equal(sched_has(s, ref[i].id), ref[i].in);
		if (ref[i].in)
			ref[n++] = ref[i];
	}
	assert_int_equal(sched_count(s), n);
	qsort(ref, n, sizeof(*ref), sched_test_ref_cmp);
	/* Pop in two rounds: up to 499, then everything. */
	for (i = 0; i < n; i++) {
		if (i == 0 || ref[i - 1].due < 500)
			assert_true(sched_next_due(s) == ref[i].due);
		if (ref[i].due >= 500 && (i == 0 || ref[i - 1].due < 500))
			assert_false(sched_pop_due(s, 499, id, sizeof(id)));
		assert_true(sched_pop_due(s, ref[i].due >= 500 ? 999 : 499,
		    id, sizeof(id)));
		assert_string_equal(id, ref[i].id);
	}
	assert_int_equal(sched_count(s), 0);
	/* O(log n) finishes this in well under a second; an O(n) scan per
	 * operation would take minutes. */
	printf("# stress run: %.2f s of CPU\n",
	    (double)(clock() - t0) / CLOCKS_PER_SEC);
	free(ref);
	sched_free(s);
}

/* The earliest entry of the reference by a linear scan, or n. */
static size_t
sched_test_ref_min(const struct sched_test_ref *ref, size_t n)
{
	size_t i, best = n;

	for (i = 0; i < n; i++)
		if (ref[i].in && (best == n ||
		    sched_test_ref_cmp(&ref[i], &ref[best]) < 0))
			best = i;
	return best;
}

/* Random interleaved operations on a small set, each checked against a
 * linear scan. */
static void
sched_test_random_ops(void **state)
{
	enum { IDS = 500, OPS = 40000 };
	struct sched_test_ref ref[IDS];
	struct sched *s = sched_new();
	char id[SCHED_ID_MAX + 1];
	uint64_t rng = 2463534242ULL, op;
	size_t i, k, best, count = 0;
	int64_t now;

	(void)state;
	for (i = 0; i < IDS; i++) {
		snprintf(ref[i].id, sizeof(ref[i].id), "%zx", i * 2654435761u);
		ref[i].due = 0;
		ref[i].in = false;
	}
	for (op = 0; op < OPS; op++) {
		k = sched_test_rand(&rng) % IDS;
		switch (sched_test_rand(&rng) % 4) {
		case 0:
		case 1:
			ref[k].due = (int64_t)(sched_test_rand(&rng) % 100);
			count += !ref[k].in;
			ref[k].in = true;
			assert_int_equal(sched_set(s, ref[k].id, ref[k].due),
			    0);
			break;
		case 2:
			assert_int_equal(sched_remove(s, ref[k].id),
			    ref[k].in);
			count -= ref[k].in;
			ref[k].in = false;
			break;
		default:
			now = (int64_t)(sched_test_rand(&rng) % 100);
			best = sched_test_ref_min(ref, IDS);
			if (best == IDS || ref[best].due > now) {
				assert_false(sched_pop_due(s, now, id,
				    sizeof(id)));
				break;
			}
			assert_true(sched_pop_due(s, now, id, sizeof(id)));
			assert_string_equal(id, ref[best].id);
			ref[best].in = false;
			count--;
		}
		assert_int_equal(sched_count(s), count);
		if (op % 1000 != 999)
			continue;
		sched_flush(s, 50);
		for (i = 0; i < IDS; i++)
			if (ref[i].due > 50)
				ref[i].due = 50;
	}
	sched_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sched_test_backoff_table),
		cmocka_unit_test(sched_test_backoff_bounds),
		cmocka_unit_test(sched_test_lifetime),
		cmocka_unit_test(sched_test_ties),
		cmocka_unit_test(sched_test_move),
		cmocka_unit_test(sched_test_pop_due),
		cmocka_unit_test(sched_test_remove),
		cmocka_unit_test(sched_test_flush),
		cmocka_unit_test(sched_test_bad_ids),
		cmocka_unit_test(sched_test_stress),
		cmocka_unit_test(sched_test_random_ops),
	};

	return UNIT_RUN(tests);
}
