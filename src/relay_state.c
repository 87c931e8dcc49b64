/*
 * relay_state: per-relay cool-downs, quota windows and connection
 * counts, the relay choice, and the state file (see relay_state.h).
 *
 * Owns one struct per relay; never reads the clock, never touches a
 * socket.  The sent times are a ring of runs, oldest first:
 *
 *	run k = (t, cum): cum is the number of messages counted since the
 *	struct was made (or loaded) up to and including second t;
 *	base is cum just before the oldest run kept.
 *
 * Invariants: run times strictly increase; cum strictly increases;
 * len <= cap <= RELAY_STATE_RUNS_MAX.  Messages in any suffix of the
 * ring are then a subtraction of two cums, and the run where a quota
 * frees up is a binary search, so quota checks are O(log runs) however
 * busy the relay.  Runs a day old are dropped when a message is counted,
 * so at most 86,400 remain (a day has no more distinct seconds).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"
#include "relay_state.h"

#define RELAY_STATE_RING_MIN 16

struct relay_state_run {
	int64_t t;
	uint64_t cum; /* while loading: the messages in second t */
};

struct relay_state {
	char *name;
	unsigned failures;
	int64_t cool_until;
	unsigned conns;
	struct relay_state_run *ring;
	size_t cap, head, len;
	uint64_t base;
};

/* ---------------------------------------------------------- arithmetic */

/* Times near the int64 limits (hostile files, far-off cool-downs) must
 * saturate rather than wrap. */
static int64_t
relay_state_tadd(int64_t t, int64_t d)
{
	if (d > 0 && t > INT64_MAX - d)
		return INT64_MAX;
	if (d < 0 && t < INT64_MIN - d)
		return INT64_MIN;
	return t + d;
}

/* ------------------------------------------------------------ the ring */

static struct relay_state_run *
relay_state_run(const struct relay_state *r, size_t k)
{
	size_t i = r->head + k;

	return &r->ring[i >= r->cap ? i - r->cap : i];
}

/* Messages counted before run k. */
static uint64_t
relay_state_before(const struct relay_state *r, size_t k)
{
	return k == 0 ? r->base : relay_state_run(r, k - 1)->cum;
}

static uint64_t
relay_state_total(const struct relay_state *r)
{
	return relay_state_before(r, r->len);
}

/* The first run later than cutoff (len when none). */
static size_t
relay_state_first_after(const struct relay_state *r, int64_t cutoff)
{
	size_t lo = 0, hi = r->len, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (relay_state_run(r, mid)->t > cutoff)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The first run from k on whose cum reaches target (one must). */
static size_t
relay_state_first_cum(const struct relay_state *r, size_t k, uint64_t target)
{
	size_t lo = k, hi = r->len - 1, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (relay_state_run(r, mid)->cum >= target)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static void
relay_state_drop_oldest(struct relay_state *r)
{
	r->base = relay_state_run(r, 0)->cum;
	r->head = r->head + 1 == r->cap ? 0 : r->head + 1;
	r->len--;
}

/* Give the ring room for want runs (want <= RELAY_STATE_RUNS_MAX),
 * keeping its contents.  Returns 0 or -1 (ENOMEM, ring unchanged). */
static int
relay_state_reserve(struct relay_state *r, size_t want)
{
	struct relay_state_run *n;
	size_t cap = r->cap, k;

	if (want <= r->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	if (cap > RELAY_STATE_RUNS_MAX)
		cap = RELAY_STATE_RUNS_MAX;
	n = malloc(cap * sizeof(*n));
	if (n == NULL)
		return -1;
	for (k = 0; k < r->len; k++)
		n[k] = *relay_state_run(r, k);
	free(r->ring);
	r->ring = n;
	r->cap = cap;
	r->head = 0;
	return 0;
}

/* Append a run for second t holding total cum. */
static void
relay_state_push(struct relay_state *r, int64_t t, uint64_t cum)
{
	struct relay_state_run *run;

	if (r->len == RELAY_STATE_RUNS_MAX)
		relay_state_drop_oldest(r);
	if (relay_state_reserve(r, r->len + 1) < 0) {
		/* Out of memory: count the message in the latest second
		 * rather than lose it; it leaves the window a little early. */
		relay_state_run(r, r->len - 1)->cum = cum;
		return;
	}
	r->len++;
	run = relay_state_run(r, r->len - 1);
	run->t = t;
	run->cum = cum;
}

/* Messages in the window seconds up to now. */
static uint64_t
relay_state_in_window(const struct relay_state *r, int64_t now,
    int64_t window)
{
	size_t k = relay_state_first_after(r, relay_state_tadd(now, -window));

	return relay_state_total(r) - relay_state_before(r, k);
}

/* When one more message fits under limit in window (now if it does). */
static int64_t
relay_state_free_at_one(const struct relay_state *r, int64_t now,
    uint64_t limit, int64_t window)
{
	size_t k, j;
	uint64_t in;

	if (limit == 0)
		return now;
	k = relay_state_first_after(r, relay_state_tadd(now, -window));
	in = relay_state_total(r) - relay_state_before(r, k);
	if (in < limit)
		return now;
	/* The oldest in - limit + 1 messages in the window must leave it;
	 * the last of them leaves window seconds after its second. */
	j = relay_state_first_cum(r, k,
	    relay_state_before(r, k) + (in - limit + 1));
	return relay_state_tadd(relay_state_run(r, j)->t, window);
}

/* ------------------------------------------------------------ lifetime */

/* As [relay NAME] allows: no whitespace or control characters, which
 * also keeps each relay to one state-file line. */
static bool
relay_state_name_ok(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

struct relay_state *
relay_state_new(const char *name)
{
	struct relay_state *r;

	if (!relay_state_name_ok(name)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->name = strdup(name);
	r->ring = malloc(RELAY_STATE_RING_MIN * sizeof(*r->ring));
	if (r->name == NULL || r->ring == NULL) {
		relay_state_free(r);
		errno = ENOMEM;
		return NULL;
	}
	r->cap = RELAY_STATE_RING_MIN;
	return r;
}

void
relay_state_free(struct relay_state *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->ring);
	free(r);
}

const char *
relay_state_name(const struct relay_state *r)
{
	return r->name;
}

/* ------------------------------------------------------------- health */

void
relay_state_failure(struct relay_state *r, int64_t now)
{
	int64_t cool;

	if (r->failures < UINT_MAX)
		r->failures++;
	if (r->failures == 1)
		cool = RELAY_STATE_COOL_1;
	else if (r->failures == 2)
		cool = RELAY_STATE_COOL_2;
	else
		cool = RELAY_STATE_COOL_MAX;
	r->cool_until = relay_state_tadd(now, cool);
}

void
relay_state_success(struct relay_state *r)
{
	r->failures = 0;
	r->cool_until = 0;
}

bool
relay_state_cooling(const struct relay_state *r, int64_t now)
{
	return now < r->cool_until;
}

int64_t
relay_state_cool_until(const struct relay_state *r)
{
	return r->cool_until;
}

unsigned
relay_state_failures(const struct relay_state *r)
{
	return r->failures;
}

/* ------------------------------------------------------------- quotas */

void
relay_state_count(struct relay_state *r, int64_t now)
{
	uint64_t cum;

	while (r->len > 0 && relay_state_run(r, 0)->t <=
	    relay_state_tadd(now, -RELAY_STATE_DAY))
		relay_state_drop_oldest(r);
	cum = relay_state_total(r) + 1;
	/* Same second, or the clock went back: keep times increasing. */
	if (r->len > 0 && relay_state_run(r, r->len - 1)->t >= now)
		relay_state_run(r, r->len - 1)->cum = cum;
	else
		relay_state_push(r, now, cum);
}

bool
relay_state_quota_ok(const struct relay_state *r, int64_t now,
    uint64_t max_per_hour, uint64_t max_per_day)
{
	if (max_per_hour != 0 &&
	    relay_state_in_window(r, now, RELAY_STATE_HOUR) >= max_per_hour)
		return false;
	if (max_per_day != 0 &&
	    relay_state_in_window(r, now, RELAY_STATE_DAY) >= max_per_day)
		return false;
	return true;
}

int64_t
relay_state_quota_free_at(const struct relay_state *r, int64_t now,
    uint64_t max_per_hour, uint64_t max_per_day)
{
	int64_t h, d;

	/* Counts only fall while nothing is sent, so once both windows
	 * have freed up, both stay free. */
	h = relay_state_free_at_one(r, now, max_per_hour, RELAY_STATE_HOUR);
	d = relay_state_free_at_one(r, now, max_per_day, RELAY_STATE_DAY);
	return h > d ? h : d;
}

unsigned
relay_state_sent_last(const struct relay_state *r, int64_t now,
    int64_t window)
{
	uint64_t n;

	if (window <= 0)
		return 0;
	n = relay_state_in_window(r, now, window);
	return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

void
relay_state_conn_add(struct relay_state *r, int delta)
{
	int64_t c = (int64_t)r->conns + delta;

	/* A release too many must not wrap to four billion in use. */
	r->conns = c < 0 ? 0 : c > UINT_MAX ? UINT_MAX : (unsigned)c;
}

unsigned
relay_state_conns(const struct relay_state *r)
{
	return r->conns;
}

/* -------------------------------------------------------------- choice */

/* What pick saw while walking the relays. */
struct relay_state_scan {
	int cooling;         /* best cooling candidate, -1 when none */
	bool busy_healthy;   /* a relay in quota, not cooling, at max_conns */
	int64_t retry_at;
};

/* Look at relay i; returns true when it is usable right now. */
static bool
relay_state_consider(struct relay_state *const *relays,
    const struct relay_limits *lim, size_t i, int64_t now,
    struct relay_state_scan *sc)
{
	const struct relay_state *r = relays[i];
	bool cooling = relay_state_cooling(r, now);
	int64_t t;

	if (!relay_state_quota_ok(r, now, lim->max_per_hour,
	    lim->max_per_day)) {
		t = relay_state_quota_free_at(r, now, lim->max_per_hour,
		    lim->max_per_day);
		if (t < sc->retry_at)
			sc->retry_at = t;
		return false;
	}
	if (lim->max_conns != 0 && r->conns >= lim->max_conns) {
		if (!cooling)
			sc->busy_healthy = true;
		t = relay_state_tadd(now, 1);
		if (t < sc->retry_at)
			sc->retry_at = t;
		return false;
	}
	if (!cooling)
		return true;
	if (sc->cooling < 0 || r->cool_until < relays[sc->cooling]->cool_until)
		sc->cooling = (int)i;
	return false;
}

int
relay_state_pick(struct relay_state *const *relays,
    const struct relay_limits *limits, size_t n, uint64_t skip_mask,
    int64_t now, int64_t *retry_at)
{
	static const struct relay_limits unlimited;
	struct relay_state_scan sc = { -1, false, INT64_MAX };
	size_t i;

	for (i = 0; i < n && i <= INT_MAX; i++) {
		if (i < 64 && (skip_mask >> i & 1) != 0)
			continue;
		if (relay_state_consider(relays, limits ? &limits[i] :
		    &unlimited, i, now, &sc))
			return (int)i;
	}
	/* A busy healthy relay frees a connection soon; a cooling one is
	 * the last resort. */
	if (sc.cooling >= 0 && !sc.busy_healthy)
		return sc.cooling;
	if (retry_at != NULL)
		*retry_at = sc.retry_at;
	return -1;
}

/* -------------------------------------------------------------- saving */

static int
relay_state_format(const struct relay_state *r, struct buf *b)
{
	const struct relay_state_run *run;
	uint64_t k_msgs;
	size_t k;
	int rc;

	rc = buf_printf(b, "relay %s failures=%u cool_until=%lld sent=",
	    r->name, r->failures, (long long)r->cool_until);
	for (k = 0; k < r->len && rc == 0; k++) {
		run = relay_state_run(r, k);
		k_msgs = run->cum - relay_state_before(r, k);
		rc = buf_printf(b, "%s%lld", k > 0 ? "," : "",
		    (long long)run->t);
		if (rc == 0 && k_msgs > 1)
			rc = buf_printf(b, "*%llu", (unsigned long long)k_msgs);
	}
	return rc == 0 ? buf_putc(b, '\n') : rc;
}

/* The directory holding path, for the fsync after the rename. */
static char *
relay_state_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Write data to a temporary file beside path, then rename it over path.
 * The temporary file is gone whatever happens. */
static int
relay_state_replace(const char *path, const char *tmp, int fd,
    const struct buf *b, struct errbuf *eb)
{
	char *dir;
	int rc;

	if (fileio_write_all(fd, b->data, b->len) < 0 || fsync(fd) < 0) {
		rc = errbuf_errno(eb, errno, "write %s", tmp);
		close(fd);
		unlink(tmp);
		return rc;
	}
	if (close(fd) < 0) {
		rc = errbuf_errno(eb, errno, "close %s", tmp);
		unlink(tmp);
		return rc;
	}
	if (rename(tmp, path) < 0) {
		rc = errbuf_errno(eb, errno, "rename %s to %s", tmp, path);
		unlink(tmp);
		return rc;
	}
	dir = relay_state_dirname(path);
	if (dir == NULL)
		return errbuf_errno(eb, ENOMEM, "save %s", path);
	rc = fileio_fsync_dir(dir, eb);
	free(dir);
	return rc;
}

int
relay_state_save(struct relay_state *const *relays, size_t n,
    const char *path, struct errbuf *eb)
{
	struct buf b;
	char *tmp = NULL;
	size_t i;
	int fd, rc = -1;

	buf_init(&b, 0);
	if (buf_puts(&b, "# tern relay state: relay NAME failures=N "
	    "cool_until=T sent=T1,T2,T3*COUNT,...\n") < 0)
		goto nomem;
	for (i = 0; i < n; i++)
		if (relay_state_format(relays[i], &b) < 0)
			goto nomem;
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto nomem;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		errbuf_errno(eb, errno, "create %s", tmp);
	else
		rc = relay_state_replace(path, tmp, fd, &b, eb);
	free(tmp);
	buf_fini(&b);
	return rc;
nomem:
	free(tmp);
	buf_fini(&b);
	return errbuf_errno(eb, ENOMEM, "save %s", path);
}

/* ------------------------------------------------------------- loading */

/* Reads a file a line at a time, each line bounded: a hostile file
 * costs time, never memory. */
struct relay_state_reader {
	int fd;
	size_t pos, len;
	bool eof;
	char chunk[65536];
};

/* Refill the chunk when it is used up.  Returns 0, or -1 (errno). */
static int
relay_state_fill(struct relay_state_reader *rd)
{
	ssize_t got;

	while (rd->pos == rd->len && !rd->eof) {
		got = read(rd->fd, rd->chunk, sizeof(rd->chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		rd->eof = got == 0;
		rd->pos = 0;
		rd->len = (size_t)got;
	}
	return 0;
}

/* Next line (without its newline) into line.  Returns 1 with
 * *overlong set when it did not fit, 0 at the end, -1 on a read error
 * (errno set). */
static int
relay_state_getline(struct relay_state_reader *rd, struct buf *line,
    bool *overlong)
{
	const char *p, *nl;
	size_t n;

	buf_reset(line);
	*overlong = false;
	for (;;) {
		if (relay_state_fill(rd) < 0)
			return -1;
		if (rd->pos == rd->len)
			return line->len > 0 || *overlong ? 1 : 0;
		p = rd->chunk + rd->pos;
		nl = memchr(p, '\n', rd->len - rd->pos);
		n = nl != NULL ? (size_t)(nl - p) : rd->len - rd->pos;
		if (!*overlong && buf_append(line, p, n) < 0) {
			if (errno != EMSGSIZE)
				return -1;
			*overlong = true;
			buf_reset(line);
		}
		rd->pos += n + (nl != NULL);
		if (nl != NULL)
			return 1;
	}
}

/* One parsed line. */
struct relay_state_rec {
	const char *name;
	uint64_t failures, cool_until;
	bool have_failures, have_cool, have_sent;
	struct relay_state_run *runs; /* RELAY_STATE_RUNS_MAX, cum = count */
	size_t nruns;
};

/* Decimal digits s[0..n) (no sign, at most max).  Returns 0 or -1. */
static int
relay_state_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, d;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (uint64_t)(s[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* One sent entry "T" or "T*K" of n bytes. */
static int
relay_state_parse_run(const char *s, size_t n, struct relay_state_run *run)
{
	const char *star = memchr(s, '*', n);
	size_t tn = star ? (size_t)(star - s) : n;
	uint64_t t, k = 1;

	if (relay_state_number(s, tn, INT64_MAX, &t) < 0)
		return -1;
	if (star && (relay_state_number(star + 1, n - tn - 1, UINT32_MAX,
	    &k) < 0 || k == 0))
		return -1;
	run->t = (int64_t)t;
	run->cum = k;
	return 0;
}

static int
relay_state_parse_sent(const char *v, struct relay_state_rec *rec)
{
	const char *comma;
	size_t n;

	if (*v == '\0')
		return 0;
	for (;;) {
		comma = strchr(v, ',');
		n = comma ? (size_t)(comma - v) : strlen(v);
		if (rec->nruns == RELAY_STATE_RUNS_MAX ||
		    relay_state_parse_run(v, n, &rec->runs[rec->nruns]) < 0)
			return -1;
		rec->nruns++;
		if (comma == NULL)
			return 0;
		v = comma + 1;
	}
}

/* One "key=value" token; unknown keys are left for later versions. */
static int
relay_state_parse_field(char *tok, struct relay_state_rec *rec)
{
	char *v = strchr(tok, '=');

	if (v == NULL)
		return -1;
	*v++ = '\0';
	if (strcmp(tok, "failures") == 0) {
		if (rec->have_failures)
			return -1;
		rec->have_failures = true;
		return relay_state_number(v, strlen(v), UINT_MAX,
		    &rec->failures);
	}
	if (strcmp(tok, "cool_until") == 0) {
		if (rec->have_cool)
			return -1;
		rec->have_cool = true;
		return relay_state_number(v, strlen(v), INT64_MAX,
		    &rec->cool_until);
	}
	if (strcmp(tok, "sent") == 0) {
		if (rec->have_sent)
			return -1;
		rec->have_sent = true;
		return relay_state_parse_sent(v, rec);
	}
	return 0;
}

/* Parse a NUL-terminated line in place.  Returns 1 for a record, 0 for
 * a blank or comment line, -1 when malformed. */
static int
relay_state_parse_line(char *line, struct relay_state_rec *rec)
{
	char *save = NULL, *tok;

	line += strspn(line, " \t\r");
	if (*line == '\0' || *line == '#')
		return 0;
	rec->have_failures = rec->have_cool = rec->have_sent = false;
	rec->nruns = 0;
	tok = strtok_r(line, " \t\r", &save);
	if (tok == NULL || strcmp(tok, "relay") != 0)
		return -1;
	rec->name = strtok_r(NULL, " \t\r", &save);
	if (rec->name == NULL)
		return -1;
	while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL)
		if (relay_state_parse_field(tok, rec) < 0)
			return -1;
	if (!rec->have_failures || !rec->have_cool || !rec->have_sent)
		return -1;
	return 1;
}

static int
relay_state_run_cmp(const void *a, const void *b)
{
	const struct relay_state_run *x = a, *y = b;

	return (x->t > y->t) - (x->t < y->t);
}

/* Replace r's state with rec, as seen at now.  Returns 0 or -1
 * (ENOMEM). */
static int
relay_state_apply(struct relay_state *r, struct relay_state_rec *rec,
    int64_t now)
{
	int64_t cutoff = relay_state_tadd(now, -RELAY_STATE_DAY);
	int64_t cool_max = relay_state_tadd(now, RELAY_STATE_COOL_MAX);
	struct relay_state_run *run;
	size_t i, n = 0;
	uint64_t cum = 0;

	for (i = 0; i < rec->nruns; i++) {
		if (rec->runs[i].t <= cutoff)
			continue;
		rec->runs[n] = rec->runs[i];
		if (rec->runs[n].t > now)
			rec->runs[n].t = now;
		n++;
	}
	qsort(rec->runs, n, sizeof(*rec->runs), relay_state_run_cmp);
	if (relay_state_reserve(r, n) < 0)
		return -1;
	r->len = r->head = 0;
	r->base = 0;
	for (i = 0; i < n; i++) {
		cum += rec->runs[i].cum;
		run = r->len > 0 ? relay_state_run(r, r->len - 1) : NULL;
		if (run != NULL && run->t == rec->runs[i].t) {
			run->cum = cum;
			continue;
		}
		r->ring[r->len].t = rec->runs[i].t;
		r->ring[r->len++].cum = cum;
	}
	r->failures = (unsigned)rec->failures;
	r->cool_until = (int64_t)rec->cool_until > cool_max ? cool_max :
	    (int64_t)rec->cool_until;
	return 0;
}

/* The index of the relay called name, or n. */
static size_t
relay_state_index(struct relay_state *const *relays, size_t n,
    const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(relays[i]->name, name) == 0)
			break;
	return i;
}

/* Everything one load works with. */
struct relay_state_loader {
	struct relay_state *const *relays;
	size_t n;
	int64_t now;
	bool *seen;
	unsigned bad;
	struct relay_state_rec rec;
};

/* Handle one line.  Returns 0, or -1 (ENOMEM). */
static int
relay_state_load_line(struct relay_state_loader *ld, struct buf *line,
    bool overlong)
{
	size_t i;
	int rc;

	if (overlong || (line->len > 0 &&
	    memchr(line->data, '\0', line->len) != NULL)) {
		ld->bad++;
		return 0;
	}
	if (line->data == NULL)
		return 0;
	rc = relay_state_parse_line(line->data, &ld->rec);
	if (rc < 0)
		ld->bad++;
	if (rc <= 0)
		return 0;
	i = relay_state_index(ld->relays, ld->n, ld->rec.name);
	if (i == ld->n)
		return 0;
	if (ld->seen[i]) {
		ld->bad++;
		return 0;
	}
	ld->seen[i] = true;
	return relay_state_apply(ld->relays[i], &ld->rec, ld->now);
}

/* Read every line of the open file.  Returns 0 or -1 with eb set. */
static int
relay_state_load_fd(struct relay_state_loader *ld, int fd, const char *path,
    struct errbuf *eb)
{
	struct relay_state_reader *rd;
	struct buf line;
	bool overlong;
	int rc;

	rd = calloc(1, sizeof(*rd));
	if (rd == NULL)
		return errbuf_errno(eb, ENOMEM, "load %s", path);
	rd->fd = fd;
	buf_init(&line, RELAY_STATE_LINE_MAX);
	while ((rc = relay_state_getline(rd, &line, &overlong)) > 0)
		if (relay_state_load_line(ld, &line, overlong) < 0) {
			errno = ENOMEM;
			rc = -1;
			break;
		}
	if (rc < 0)
		errbuf_errno(eb, errno, "read %s", path);
	buf_fini(&line);
	free(rd);
	return rc;
}

int
relay_state_load(struct relay_state *const *relays, size_t n,
    const char *path, int64_t now, unsigned *bad_lines, struct errbuf *eb)
{
	struct relay_state_loader ld;
	int fd, rc;

	if (bad_lines != NULL)
		*bad_lines = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return errbuf_errno(eb, errno, "open %s", path);
	memset(&ld, 0, sizeof(ld));
	ld.relays = relays;
	ld.n = n;
	ld.now = now;
	ld.seen = calloc(n + 1, sizeof(*ld.seen));
	ld.rec.runs = malloc(RELAY_STATE_RUNS_MAX * sizeof(*ld.rec.runs));
	if (ld.seen == NULL || ld.rec.runs == NULL)
		rc = errbuf_errno(eb, ENOMEM, "load %s", path);
	else
		rc = relay_state_load_fd(&ld, fd, path, eb);
	close(fd);
	free(ld.seen);
	free(ld.rec.runs);
	if (bad_lines != NULL)
		*bad_lines = ld.bad;
	return rc;
}
