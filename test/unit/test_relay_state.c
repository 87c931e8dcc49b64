/*
 * Unit tests for relay_state: cool-downs, sliding quota windows (exact
 * at the hour and day boundaries), the relay choice, and the state file
 * (round trip and hostile contents).  Files go to a fresh directory
 * under /tmp.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay_state.h"
#include "unit.h"

#define T0 1700000000 /* an arbitrary "now" */

/* ------------------------------------------------------------ helpers */

static char relay_state_test_dir[] = "/tmp/tern-relay-state-XXXXXX";

/* Empty the directory, then remove it. */
static int
relay_state_test_cleanup(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	d = opendir(relay_state_test_dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", relay_state_test_dir,
		    de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(relay_state_test_dir);
}

static void
relay_state_test_path(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", relay_state_test_dir, name);
}

static void
relay_state_test_write(const char *path, const char *data, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static char *
relay_state_test_read(const char *path)
{
	static char data[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(data, 1, sizeof(data) - 1, f);
	data[n] = '\0';
	fclose(f);
	return data;
}

/* Files in the test directory whose names start with prefix (a
 * leftover temporary file shows up). */
static int
relay_state_test_nfiles(const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(relay_state_test_dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static void
relay_state_test_count(struct relay_state *r, int64_t t, unsigned n)
{
	while (n-- > 0)
		relay_state_count(r, t);
}

/* ------------------------------------------------------------- health */

static void
relay_state_test_names(void **state)
{
	static const char *const bad[] = { "", "a b", "a\tb", "a\n", "\x7f" };
	struct relay_state *r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(relay_state_new(bad[i]));
		assert_int_equal(errno, EINVAL);
	}
	r = relay_state_new("brevo");
	assert_non_null(r);
	assert_string_equal(relay_state_name(r), "brevo");
	assert_int_equal(relay_state_failures(r), 0);
	assert_false(relay_state_cooling(r, T0));
	assert_true(relay_state_cool_until(r) == 0);
	assert_true(relay_state_quota_ok(r, T0, 1, 1));
	relay_state_free(r);
	relay_state_free(NULL);
}

static void
relay_state_test_cooldown(void **state)
{
	static const int64_t step[] = { 60, 600, 3600, 3600, 3600 };
	struct relay_state *r = relay_state_new("r");
	int64_t now = T0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		relay_state_failure(r, now);
		assert_int_equal(relay_state_failures(r), i + 1);
		assert_true(relay_state_cool_until(r) == now + step[i]);
		assert_true(relay_state_cooling(r, now));
		assert_true(relay_state_cooling(r, now + step[i] - 1));
		assert_false(relay_state_cooling(r, now + step[i]));
		now += step[i] + 5;
	}
	relay_state_success(r);
	assert_int_equal(relay_state_failures(r), 0);
	assert_true(relay_state_cool_until(r) == 0);
	assert_false(relay_state_cooling(r, now));
	relay_state_failure(r, now); /* back to the first step */
	assert_true(relay_state_cool_until(r) == now + 60);
	relay_state_failure(r, INT64_MAX - 10); /* saturates, no wrap */
	assert_true(relay_state_cool_until(r) == INT64_MAX);
	relay_state_free(r);
}

static void
relay_state_test_conns(void **state)
{
	struct relay_state *r = relay_state_new("r");

	(void)state;
	relay_state_conn_add(r, 2);
	relay_state_conn_add(r, 1);
	assert_int_equal(relay_state_conns(r), 3);
	relay_state_conn_add(r, -1);
	assert_int_equal(relay_state_conns(r), 2);
	relay_state_conn_add(r, -5);
	assert_int_equal(relay_state_conns(r), 0);
	relay_state_conn_add(r, INT_MIN);
	assert_int_equal(relay_state_conns(r), 0);
	relay_state_free(r);
}

/* ------------------------------------------------------------- quotas */

static void
relay_state_test_hour(void **state)
{
	struct relay_state *r = relay_state_new("r");

	(void)state;
	relay_state_test_count(r, T0, 2);
	relay_state_count(r, T0 + 1500);
	assert_int_equal(relay_state_sent_last(r, T0 + 1500, 3600), 3);
	assert_true(relay_state_quota_ok(r, T0 + 1500, 4, 0));
	assert_false(relay_state_quota_ok(r, T0 + 1500, 3, 0));
	assert_true(relay_state_quota_free_at(r, T0 + 1500, 4, 0) ==
	    T0 + 1500);
	/* Limit 3: one must leave, the oldest, at T0 + 3600 exactly. */
	assert_true(relay_state_quota_free_at(r, T0 + 1500, 3, 0) ==
	    T0 + 3600);
	assert_false(relay_state_quota_ok(r, T0 + 3599, 3, 0));
	assert_true(relay_state_quota_ok(r, T0 + 3600, 3, 0));
	assert_int_equal(relay_state_sent_last(r, T0 + 3599, 3600), 3);
	assert_int_equal(relay_state_sent_last(r, T0 + 3600, 3600), 1);
	/* Limit 2: two must leave, both sent at T0. */
	assert_true(relay_state_quota_free_at(r, T0 + 1500, 2, 0) ==
	    T0 + 3600);
	/* Limit 1: all three must leave. */
	assert_true(relay_state_quota_free_at(r, T0 + 1500, 1, 0) ==
	    T0 + 1500 + 3600);
	assert_false(relay_state_quota_ok(r, T0 + 5099, 1, 0));
	assert_true(relay_state_quota_ok(r, T0 + 5100, 1, 0));
	/* free_at is now once free. */
	assert_true(relay_state_quota_free_at(r, T0 + 5100, 1, 0) ==
	    T0 + 5100);
	/* 0 = unlimited. */
	assert_true(relay_state_quota_ok(r, T0 + 1500, 0, 0));
	relay_state_free(r);
}

static void
relay_state_test_day(void **state)
{
	struct relay_state *r = relay_state_new("r");

	(void)state;
	relay_state_count(r, T0);
	relay_state_count(r, T0 + 40000);
	assert_true(relay_state_quota_ok(r, T0 + 40000, 2, 3));
	assert_false(relay_state_quota_ok(r, T0 + 40000, 1, 3));
	assert_false(relay_state_quota_ok(r, T0 + 40000, 0, 2));
	assert_true(relay_state_quota_free_at(r, T0 + 40000, 0, 2) ==
	    T0 + 86400);
	assert_false(relay_state_quota_ok(r, T0 + 86399, 0, 2));
	assert_true(relay_state_quota_ok(r, T0 + 86400, 0, 2));
	assert_int_equal(relay_state_sent_last(r, T0 + 86399, 86400), 2);
	assert_int_equal(relay_state_sent_last(r, T0 + 86400, 86400), 1);
	/* Both quotas: the later of the two frees it. */
	relay_state_count(r, T0 + 40010);
	assert_true(relay_state_quota_free_at(r, T0 + 40010, 2, 3) ==
	    T0 + 86400);
	assert_true(relay_state_quota_free_at(r, T0 + 40010, 1, 0) ==
	    T0 + 40010 + 3600);
	assert_true(relay_state_quota_free_at(r, T0 + 40010, 1, 2) ==
	    T0 + 40000 + 86400);
	assert_true(relay_state_quota_free_at(r, T0 + 40010, 1, 1) ==
	    T0 + 40010 + 86400);
	/* A count a day later drops what left the window for good. */
	relay_state_count(r, T0 + 86400 + 40005);
	assert_int_equal(relay_state_sent_last(r, T0 + 86400 + 40005,
	    86400), 2);
	assert_int_equal(relay_state_sent_last(r, T0 + 86400 + 40005, 0), 0);
	assert_int_equal(relay_state_sent_last(r, T0 + 86400 + 40005, -5), 0);
	relay_state_free(r);
}

/* A clock that steps back counts in the latest second: stricter. */
static void
relay_state_test_clock_back(void **state)
{
	struct relay_state *r = relay_state_new("r");

	(void)state;
	relay_state_count(r, T0 + 2000);
	relay_state_count(r, T0 + 1000);
	assert_int_equal(relay_state_sent_last(r, T0 + 1000, 3600), 2);
	assert_true(relay_state_quota_free_at(r, T0 + 1000, 2, 0) ==
	    T0 + 2000 + 3600);
	relay_state_count(r, T0 + 3000);
	assert_int_equal(relay_state_sent_last(r, T0 + 3000, 3600), 3);
	relay_state_free(r);
}

/* A busy relay: a burst in one second, then one message a second for
 * three days.  Counts stay exact; the store stays at one day of runs. */
static void
relay_state_test_busy(void **state)
{
	struct relay_state *r = relay_state_new("busy");
	struct relay_state *const list[] = { r };
	char path[512], *data, *p;
	struct errbuf eb;
	int64_t t;
	size_t commas = 0;

	(void)state;
	relay_state_test_count(r, T0, 1000000);
	assert_int_equal(relay_state_sent_last(r, T0, 1), 1000000);
	assert_false(relay_state_quota_ok(r, T0 + 100, 0, 1000000));
	assert_true(relay_state_quota_ok(r, T0 + 100, 0, 1000001));
	for (t = T0 + 1; t <= T0 + 3 * 86400; t++)
		relay_state_count(r, t);
	assert_int_equal(relay_state_sent_last(r, t - 1, 86400), 86400);
	assert_int_equal(relay_state_sent_last(r, t - 1, 3600), 3600);
	assert_int_equal(relay_state_sent_last(r, t - 1, 10 * 86400), 86400);
	assert_true(relay_state_quota_free_at(r, t - 1, 3600, 0) == t);
	relay_state_test_path(path, sizeof(path), "busy.state");
	assert_int_equal(relay_state_save(list, 1, path, &eb), 0);
	data = NULL;
	{
		FILE *f = fopen(path, "r");
		size_t cap = 0;

		assert_non_null(f);
		while (getline(&data, &cap, f) > 0 && data[0] == '#')
			;
		fclose(f);
	}
	for (p = data; *p != '\0'; p++)
		commas += *p == ',';
	assert_int_equal(commas, 86399);
	free(data);
	relay_state_free(r);
}

/* --------------------------------------------------------------- pick */

struct relay_state_test_pick {
	const char *what;
	unsigned failures[3]; /* failures at T0 - 10 */
	unsigned sent[3];     /* messages sent at T0 - 100 */
	unsigned conns[3];
	struct relay_limits lim[3];
	uint64_t skip;
	int want;
	int64_t retry_at;     /* when want is -1 */
};

static const struct relay_state_test_pick relay_state_test_picks[] = {
	{ "priority", { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 },
	    { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 0, 0, 0 },
	{ "first cooling", { 1, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 },
	    { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 0, 1, 0 },
	{ "all cooling: earliest end", { 3, 1, 2 }, { 0, 0, 0 }, { 0, 0, 0 },
	    { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 0, 1, 0 },
	{ "all cooling: tie to priority", { 2, 1, 1 }, { 0, 0, 0 },
	    { 0, 0, 0 }, { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 0, 1, 0 },
	{ "hour quota spills over", { 0, 0, 0 }, { 5, 0, 0 }, { 0, 0, 0 },
	    { { 5, 0, 0 }, { 5, 0, 0 }, { 0, 0, 0 } }, 0, 1, 0 },
	{ "day quota spills over", { 0, 0, 0 }, { 5, 5, 0 }, { 0, 0, 0 },
	    { { 0, 5, 0 }, { 0, 5, 0 }, { 0, 0, 0 } }, 0, 2, 0 },
	{ "all over quota", { 0, 0, 0 }, { 5, 5, 5 }, { 0, 0, 0 },
	    { { 0, 5, 0 }, { 5, 0, 0 }, { 9, 5, 0 } }, 0, -1,
	    T0 - 100 + 3600 },
	{ "over quota beats cooling", { 0, 1, 0 }, { 5, 0, 5 }, { 0, 0, 0 },
	    { { 5, 0, 0 }, { 0, 0, 0 }, { 5, 0, 0 } }, 0, 1, 0 },
	{ "skip_mask", { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 },
	    { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 1, 1, 0 },
	{ "skip_mask over cooling", { 0, 1, 0 }, { 0, 0, 0 }, { 0, 0, 0 },
	    { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 5, 1, 0 },
	{ "all skipped", { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 },
	    { { 0, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }, 7, -1, INT64_MAX },
	{ "busy spills over", { 0, 0, 0 }, { 0, 0, 0 }, { 2, 0, 0 },
	    { { 0, 0, 2 }, { 0, 0, 2 }, { 0, 0, 0 } }, 0, 1, 0 },
	{ "all busy", { 0, 0, 0 }, { 0, 0, 0 }, { 2, 1, 1 },
	    { { 0, 0, 2 }, { 0, 0, 1 }, { 0, 0, 1 } }, 0, -1, T0 + 1 },
	{ "busy healthy beats cooling", { 0, 1, 1 }, { 0, 0, 0 },
	    { 1, 0, 0 }, { { 0, 0, 1 }, { 0, 0, 0 }, { 0, 0, 0 } }, 0, -1,
	    T0 + 1 },
	{ "busy cooling, other cooling", { 1, 2, 0 }, { 0, 0, 0 },
	    { 1, 0, 0 }, { { 0, 0, 1 }, { 0, 0, 0 }, { 0, 0, 0 } }, 4, 1, 0 },
	{ "busy and over quota", { 0, 0, 0 }, { 0, 5, 0 }, { 3, 0, 0 },
	    { { 0, 0, 3 }, { 5, 0, 0 }, { 0, 0, 0 } }, 4, -1, T0 + 1 },
};

static void
relay_state_test_pick_case(const struct relay_state_test_pick *c)
{
	struct relay_state *r[3];
	int64_t retry_at = 12345;
	size_t i;
	int got;

	for (i = 0; i < 3; i++) {
		r[i] = relay_state_new(i == 0 ? "a" : i == 1 ? "b" : "c");
		for (unsigned f = 0; f < c->failures[i]; f++)
			relay_state_failure(r[i], T0 - 10);
		relay_state_test_count(r[i], T0 - 100, c->sent[i]);
		relay_state_conn_add(r[i], (int)c->conns[i]);
	}
	got = relay_state_pick(r, c->lim, 3, c->skip, T0, &retry_at);
	if (got != c->want)
		fail_msg("%s: picked %d, want %d", c->what, got, c->want);
	if (got < 0 && retry_at != c->retry_at)
		fail_msg("%s: retry_at %lld, want %lld", c->what,
		    (long long)retry_at, (long long)c->retry_at);
	if (got >= 0 && retry_at != 12345)
		fail_msg("%s: retry_at set on success", c->what);
	for (i = 0; i < 3; i++)
		relay_state_free(r[i]);
}

static void
relay_state_test_pick(void **state)
{
	struct relay_state *one[1];
	int64_t retry_at = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(relay_state_test_picks) /
	    sizeof(relay_state_test_picks[0]); i++)
		relay_state_test_pick_case(&relay_state_test_picks[i]);
	/* No relays; no limits array; retry_at not wanted. */
	assert_int_equal(relay_state_pick(NULL, NULL, 0, 0, T0, &retry_at),
	    -1);
	assert_true(retry_at == INT64_MAX);
	one[0] = relay_state_new("solo");
	assert_int_equal(relay_state_pick(one, NULL, 1, 0, T0, NULL), 0);
	relay_state_failure(one[0], T0);
	assert_int_equal(relay_state_pick(one, NULL, 1, 0, T0, NULL), 0);
	assert_int_equal(relay_state_pick(one, NULL, 1, 1, T0, NULL), -1);
	relay_state_free(one[0]);
}

/* ------------------------------------------------------- persistence */

static void
relay_state_test_round_trip(void **state)
{
	struct relay_state *a[2], *b[3];
	struct errbuf eb;
	char path[512];
	unsigned bad = 99;

	(void)state;
	a[0] = relay_state_new("brevo");
	a[1] = relay_state_new("gmail");
	relay_state_failure(a[0], T0 - 50);
	relay_state_failure(a[0], T0 - 40);
	relay_state_test_count(a[1], T0 - 90000, 1); /* will be too old */
	relay_state_test_count(a[1], T0 - 7200, 1);
	relay_state_test_count(a[1], T0 - 10, 3);
	relay_state_test_count(a[1], T0, 1);
	relay_state_test_path(path, sizeof(path), "state");
	errbuf_clear(&eb);
	assert_int_equal(relay_state_save(a, 2, path, &eb), 0);
	assert_int_equal(relay_state_test_nfiles("state"), 1); /* no tmp */
	assert_string_equal(relay_state_test_read(path),
	    "# tern relay state: relay NAME failures=N cool_until=T "
	    "sent=T1,T2,T3*COUNT,...\n"
	    "relay brevo failures=2 cool_until=1700000560 sent=\n"
	    "relay gmail failures=0 cool_until=0 "
	    "sent=1699992800,1699999990*3,1700000000\n");
	/* Load into a config with a new relay and in another order. */
	b[0] = relay_state_new("new");
	b[1] = relay_state_new("gmail");
	b[2] = relay_state_new("brevo");
	relay_state_failure(b[1], T0); /* replaced by the file */
	assert_int_equal(relay_state_load(b, 3, path, T0 + 5, &bad, &eb), 0);
	assert_int_equal(bad, 0);
	assert_int_equal(relay_state_failures(b[0]), 0);
	assert_int_equal(relay_state_failures(b[1]), 0);
	assert_true(relay_state_cool_until(b[1]) == 0);
	assert_int_equal(relay_state_failures(b[2]), 2);
	assert_true(relay_state_cool_until(b[2]) == T0 - 40 + 600);
	assert_int_equal(relay_state_sent_last(b[1], T0 + 5, 86400), 5);
	assert_int_equal(relay_state_sent_last(b[1], T0 + 5, 3600), 4);
	assert_true(relay_state_quota_free_at(b[1], T0 + 5, 2, 0) ==
	    T0 - 10 + 3600);
	/* Loaded later: what left the day window is gone. */
	assert_int_equal(relay_state_load(b, 3, path, T0 + 86400 - 7200,
	    &bad, &eb), 0);
	assert_int_equal(relay_state_sent_last(b[1], T0 + 86400 - 7200,
	    86400), 4);
	/* A save of the loaded state gives the same file. */
	assert_int_equal(relay_state_load(b, 3, path, T0, &bad, &eb), 0);
	assert_int_equal(relay_state_save(b + 1, 2, path, &eb), 0);
	assert_string_equal(relay_state_test_read(path),
	    "# tern relay state: relay NAME failures=N cool_until=T "
	    "sent=T1,T2,T3*COUNT,...\n"
	    "relay gmail failures=0 cool_until=0 "
	    "sent=1699992800,1699999990*3,1700000000\n"
	    "relay brevo failures=2 cool_until=1700000560 sent=\n");
	relay_state_free(a[0]);
	relay_state_free(a[1]);
	relay_state_free(b[0]);
	relay_state_free(b[1]);
	relay_state_free(b[2]);
}

static void
relay_state_test_io_errors(void **state)
{
	struct relay_state *r = relay_state_new("r");
	struct relay_state *const list[] = { r };
	struct errbuf eb;
	char path[512];
	unsigned bad = 99;

	(void)state;
	relay_state_test_path(path, sizeof(path), "missing");
	assert_int_equal(relay_state_load(list, 1, path, T0, &bad, &eb), 0);
	assert_int_equal(bad, 0);
	errbuf_clear(&eb);
	relay_state_test_path(path, sizeof(path), "no/such/dir/state");
	assert_int_equal(relay_state_save(list, 1, path, &eb), -1);
	assert_non_null(strstr(eb.msg, "no/such/dir/state"));
	errbuf_clear(&eb);
	assert_int_equal(relay_state_load(list, 1, relay_state_test_dir, T0,
	    &bad, &eb), -1);
	assert_true(strlen(eb.msg) > 0);
	/* A rename that fails leaves no temporary file behind. */
	relay_state_test_path(path, sizeof(path), "isdir");
	assert_int_equal(mkdir(path, 0700), 0);
	errbuf_clear(&eb);
	assert_int_equal(relay_state_save(list, 1, path, &eb), -1);
	assert_non_null(strstr(eb.msg, "rename"));
	assert_int_equal(relay_state_test_nfiles("isdir."), 0);
	assert_int_equal(rmdir(path), 0);
	relay_state_free(r);
}

/* A path without a directory part is saved in (and fsyncs) ".". */
static void
relay_state_test_relative(void **state)
{
	struct relay_state *r = relay_state_new("r");
	struct relay_state *const list[] = { r };
	struct errbuf eb;
	char cwd[4096];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(relay_state_test_dir), 0);
	relay_state_failure(r, T0);
	errbuf_clear(&eb);
	assert_int_equal(relay_state_save(list, 1, "rel.state", &eb), 0);
	relay_state_success(r);
	assert_int_equal(relay_state_load(list, 1, "rel.state", T0, NULL,
	    &eb), 0);
	assert_int_equal(relay_state_failures(r), 1);
	assert_int_equal(chdir(cwd), 0);
	relay_state_free(r);
}

struct relay_state_test_hostile {
	const char *line;
	unsigned bad;        /* bad lines among the file's */
	unsigned failures;   /* relay "a" afterwards (7 = unchanged) */
	int64_t cool_until;  /* relay "a" afterwards (-1: not checked) */
	unsigned sent;       /* in the last day */
};

#define RELAY_STATE_TEST_OK "failures=1 cool_until=0 sent="

static const struct relay_state_test_hostile relay_state_test_hostiles[] = {
	{ "garbage\n", 1, 7, -1, 0 },
	{ "\n\n# comment\n   \n", 0, 7, -1, 0 },
	{ "relay\n", 1, 7, -1, 0 },
	{ "relay a\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0\n", 1, 7, -1, 0 },
	{ "relay a failures=1 sent=\n", 1, 7, -1, 0 },
	{ "relay a cool_until=0 sent=\n", 1, 7, -1, 0 },
	{ "relays a " RELAY_STATE_TEST_OK "\n", 1, 7, -1, 0 },
	{ "relay a " RELAY_STATE_TEST_OK "\n", 0, 1, 0, 0 },
	{ "relay a " RELAY_STATE_TEST_OK, 0, 1, 0, 0 }, /* no newline */
	{ "relay a " RELAY_STATE_TEST_OK "\r\n", 0, 1, 0, 0 },
	{ "  relay\ta\t failures=1  cool_until=0 sent=  \n", 0, 1, 0, 0 },
	{ "relay a " RELAY_STATE_TEST_OK " future=1\n", 0, 1, 0, 0 },
	{ "relay a " RELAY_STATE_TEST_OK " extra\n", 1, 7, -1, 0 },
	{ "relay a " RELAY_STATE_TEST_OK " failures=2\n", 1, 7, -1, 0 },
	{ "relay a " RELAY_STATE_TEST_OK " sent=\n", 1, 7, -1, 0 },
	{ "relay a failures=x cool_until=0 sent=\n", 1, 7, -1, 0 },
	{ "relay a failures= cool_until=0 sent=\n", 1, 7, -1, 0 },
	{ "relay a failures=-1 cool_until=0 sent=\n", 1, 7, -1, 0 },
	{ "relay a failures=+1 cool_until=0 sent=\n", 1, 7, -1, 0 },
	{ "relay a failures=4294967295 cool_until=0 sent=\n", 0,
	    4294967295u, 0, 0 },
	{ "relay a failures=4294967296 cool_until=0 sent=\n", 1, 7, -1, 0 },
	{ "relay a failures=99999999999999999999999 cool_until=0 sent=\n",
	    1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=9223372036854775807 sent=\n", 0,
	    1, T0 + 3600, 0 },
	{ "relay a failures=1 cool_until=9223372036854775808 sent=\n", 1,
	    7, -1, 0 },
	{ "relay a failures=1 cool_until=-5 sent=\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=1700000030 sent=\n", 0, 1,
	    T0 + 30, 0 },
	{ "relay a failures=1 cool_until=0 sent=1699999990,1699999995*4\n",
	    0, 1, 0, 5 },
	{ "relay a failures=1 cool_until=0 sent=1699999995*4,1699999990\n",
	    0, 1, 0, 5 }, /* unsorted: sorted on load */
	{ "relay a failures=1 cool_until=0 sent=1699999995,1699999995\n",
	    0, 1, 0, 2 }, /* repeated second: merged */
	{ "relay a failures=1 cool_until=0 sent=1,1699999999\n", 0, 1, 0,
	    1 }, /* too old: dropped */
	{ "relay a failures=1 cool_until=0 sent=9223372036854775807*2\n", 0,
	    1, 0, 2 }, /* future: taken as now */
	{ "relay a failures=1 cool_until=0 sent=9223372036854775808\n", 1,
	    7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=1,,2\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=,\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=5,\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=abc\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=1*0\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=1*\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=*3\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=1*2*3\n", 1, 7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=1699999999*4294967295\n", 0,
	    1, 0, 4294967295u },
	{ "relay a failures=1 cool_until=0 sent=1699999999*4294967296\n", 1,
	    7, -1, 0 },
	{ "relay a failures=1 cool_until=0 sent=-5\n", 1, 7, -1, 0 },
	/* unknown relays are not errors; a second line for "a" is */
	{ "relay zz " RELAY_STATE_TEST_OK "\n", 0, 7, -1, 0 },
	{ "relay a " RELAY_STATE_TEST_OK "\nrelay a failures=3 cool_until=0 "
	    "sent=\n", 1, 1, 0, 0 },
	{ "relay a failures=x cool_until=0 sent=\nrelay a failures=3 "
	    "cool_until=0 sent=\n", 1, 3, 0, 0 },
};

/* Load one hostile file into relays "a" (failures 7) and "b". */
static void
relay_state_test_hostile_one(const char *data, size_t len,
    const struct relay_state_test_hostile *c, size_t i)
{
	struct relay_state *r[2];
	struct errbuf eb;
	char path[512];
	unsigned bad = 99, f;

	r[0] = relay_state_new("a");
	r[1] = relay_state_new("b");
	for (f = 0; f < 7; f++)
		relay_state_failure(r[0], T0 - 100000);
	relay_state_test_path(path, sizeof(path), "hostile");
	relay_state_test_write(path, data, len);
	errbuf_clear(&eb);
	if (relay_state_load(r, 2, path, T0, &bad, &eb) != 0)
		fail_msg("case %zu: load failed: %s", i, eb.msg);
	if (bad != c->bad)
		fail_msg("case %zu: %u bad lines, want %u", i, bad, c->bad);
	if (relay_state_failures(r[0]) != c->failures)
		fail_msg("case %zu: failures %u, want %u", i,
		    relay_state_failures(r[0]), c->failures);
	if (c->cool_until >= 0 && relay_state_cool_until(r[0]) !=
	    c->cool_until)
		fail_msg("case %zu: cool_until %lld", i,
		    (long long)relay_state_cool_until(r[0]));
	if (relay_state_sent_last(r[0], T0, 86400) != c->sent)
		fail_msg("case %zu: sent %u, want %u", i,
		    relay_state_sent_last(r[0], T0, 86400), c->sent);
	/* The valid line for b after the hostile part still loads. */
	assert_int_equal(relay_state_failures(r[1]),
	    memmem(data, len, "relay b failures=2", 18) != NULL ? 2 : 0);
	relay_state_free(r[0]);
	relay_state_free(r[1]);
	unlink(path);
}

static void
relay_state_test_hostile(void **state)
{
	const struct relay_state_test_hostile *c;
	char data[1024];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(relay_state_test_hostiles) /
	    sizeof(relay_state_test_hostiles[0]); i++) {
		c = &relay_state_test_hostiles[i];
		relay_state_test_hostile_one(c->line, strlen(c->line), c, i);
		/* The same, followed by a valid line for another relay. */
		n = snprintf(data, sizeof(data), "%s%srelay b failures=2 "
		    "cool_until=0 sent=\n", c->line,
		    c->line[strlen(c->line) - 1] == '\n' ? "" : "\n");
		relay_state_test_hostile_one(data, (size_t)n, c, i + 1000);
	}
}

/* Lines no valid save writes: an embedded NUL, over RELAY_STATE_LINE_MAX,
 * over RELAY_STATE_RUNS_MAX sent entries.  Each is skipped and the next
 * line still loads. */
static void
relay_state_test_huge(void **state)
{
	static const struct relay_state_test_hostile c = { "", 1, 7, -1, 0 };
	static const char tail[] = "\nrelay b failures=2 cool_until=0 sent=\n";
	size_t n, cap = RELAY_STATE_LINE_MAX + 4096;
	char *data = malloc(cap);
	unsigned k;

	(void)state;
	assert_non_null(data);
	n = (size_t)sprintf(data, "relay a failures=1 cool_until=0 sent=1");
	data[n - 1] = '\0';
	data[n++] = '1';
	memcpy(data + n, tail, sizeof(tail) - 1);
	relay_state_test_hostile_one(data, n + sizeof(tail) - 1, &c, 2000);

	n = (size_t)sprintf(data, "relay a failures=1 cool_until=0 sent=");
	while (n < RELAY_STATE_LINE_MAX + 10)
		data[n++] = '1';
	memcpy(data + n, tail, sizeof(tail) - 1);
	relay_state_test_hostile_one(data, n + sizeof(tail) - 1, &c, 2001);

	n = (size_t)sprintf(data, "relay a failures=1 cool_until=0 sent=");
	for (k = 0; k <= RELAY_STATE_RUNS_MAX; k++)
		n += (size_t)sprintf(data + n, "%s%u", k ? "," : "",
		    1699900000 + k);
	memcpy(data + n, tail, sizeof(tail) - 1);
	relay_state_test_hostile_one(data, n + sizeof(tail) - 1, &c, 2002);
	free(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(relay_state_test_names),
		cmocka_unit_test(relay_state_test_cooldown),
		cmocka_unit_test(relay_state_test_conns),
		cmocka_unit_test(relay_state_test_hour),
		cmocka_unit_test(relay_state_test_day),
		cmocka_unit_test(relay_state_test_clock_back),
		cmocka_unit_test(relay_state_test_busy),
		cmocka_unit_test(relay_state_test_pick),
		cmocka_unit_test(relay_state_test_round_trip),
		cmocka_unit_test(relay_state_test_io_errors),
		cmocka_unit_test(relay_state_test_relative),
		cmocka_unit_test(relay_state_test_hostile),
		cmocka_unit_test(relay_state_test_huge),
	};

	int rc;

	if (mkdtemp(relay_state_test_dir) == NULL) {
		perror(relay_state_test_dir);
		return 99;
	}
	rc = UNIT_RUN(tests);
	relay_state_test_cleanup();
	return rc;
}
