/*
 * Unit tests for mx: the MX plan and the address order, case by case.
 *
 * Cases are tables of strings, so each reads like the DNS answer it
 * stands for.  MX records are "PREF HOST, PREF HOST" ("." is the root,
 * as dns gives a null MX; "(dot)" is a literal "."), plans render as
 * "host/pref" ("*" marks the implicit MX), and addresses as "ADDR",
 * "ADDR%SCOPE" or "ADDR@PORT" (port 25 unless said).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mx.h"
#include "unit.h"

#define D "example.com"
#define SELF "tern.example.net"

#define H12                                                              \
	"10 h1.example, 20 h2.example, 30 h3.example, 40 h4.example, "   \
	"50 h5.example, 60 h6.example, 70 h7.example, 80 h8.example, "   \
	"90 h9.example, 100 h10.example, 110 h11.example, "              \
	"120 h12.example"
#define H10_OUT                                                          \
	"h1.example/10 h2.example/20 h3.example/30 h4.example/40 "       \
	"h5.example/50 h6.example/60 h7.example/70 h8.example/80 "       \
	"h9.example/90 h10.example/100"
#define E12                                                              \
	"10 h1.example, 10 h2.example, 10 h3.example, 10 h4.example, "   \
	"10 h5.example, 10 h6.example, 10 h7.example, 10 h8.example, "   \
	"10 h9.example, 10 h10.example, 10 h11.example, 10 h12.example"

/* ------------------------------------------------------------- helpers */

enum test_rnd {
	RND_FIRST, /* always 0: each group keeps the answer's order */
	RND_LAST,  /* always n - 1: each group reversed */
	RND_HUGE,  /* out of range, as a buggy rnd might be */
	RND_NONE,  /* no rnd at all */
};

static unsigned
rnd_first(unsigned n, void *arg)
{
	(void)arg;
	assert_true(n >= 2);
	return 0;
}

static unsigned
rnd_last(unsigned n, void *arg)
{
	(void)arg;
	assert_true(n >= 2);
	return n - 1;
}

static unsigned
rnd_huge(unsigned n, void *arg)
{
	(void)arg;
	return n + 7;
}

/* A seeded LCG (Numerical Recipes), so every run draws alike. */
static unsigned
rnd_lcg(unsigned n, void *arg)
{
	unsigned *seed = arg;

	assert_true(n >= 2);
	*seed = *seed * 1664525u + 1013904223u;
	return (*seed >> 16) % n;
}

static unsigned
rnd_never(unsigned n, void *arg)
{
	(void)arg;
	fail_msg("rnd called (n %u) without equal preferences", n);
	return 0;
}

static mx_rand_fn
test_rnd_fn(enum test_rnd r)
{
	switch (r) {
	case RND_FIRST:
		return rnd_first;
	case RND_LAST:
		return rnd_last;
	case RND_HUGE:
		return rnd_huge;
	case RND_NONE:
		break;
	}
	return NULL;
}

/* Parse "PREF HOST, ..." into mx; returns the count. */
static size_t
test_mx_parse(const char *spec, struct dns_mx *mx, size_t max)
{
	char buf[4096], *item, *save = NULL, *host;
	const char *name;
	size_t n = 0, len;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		assert_true(n < max);
		mx[n].pref = (unsigned)strtoul(item, &host, 10);
		while (*host == ' ')
			host++;
		len = strlen(host);
		while (len > 0 && host[len - 1] == ' ')
			host[--len] = '\0';
		name = strcmp(host, ".") == 0 ? "" :
		    strcmp(host, "(dot)") == 0 ? "." : host;
		snprintf(mx[n].host, sizeof(mx[n].host), "%s", name);
		n++;
	}
	return n;
}

static void
test_plan_render(const struct mx_plan *p, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < p->n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s/%u%s",
		    i > 0 ? " " : "", p->v[i].name, p->v[i].pref,
		    p->v[i].implicit ? "*" : "");
}

static const char *
test_kind_name(enum mx_kind k)
{
	switch (k) {
	case MX_HOSTS:
		return "HOSTS";
	case MX_NULL:
		return "NULL";
	case MX_SELF:
		return "SELF";
	}
	return "?";
}

/* Parse "ADDR[%SCOPE][@PORT] ..." into a; returns the count. */
static size_t
test_addr_parse(const char *spec, struct dns_addr *a, size_t max)
{
	char buf[4096], *item, *save = NULL, *at, *pct;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	unsigned port;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (item = strtok_r(buf, " ", &save); item != NULL;
	    item = strtok_r(NULL, " ", &save)) {
		assert_true(n < max);
		memset(&a[n], 0, sizeof(a[n]));
		port = 25;
		if ((at = strchr(item, '@')) != NULL) {
			*at = '\0';
			port = (unsigned)atoi(at + 1);
		}
		sin = (struct sockaddr_in *)&a[n].sa;
		sin6 = (struct sockaddr_in6 *)&a[n].sa;
		if (inet_pton(AF_INET, item, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons((uint16_t)port);
			a[n].len = sizeof(*sin);
		} else {
			if ((pct = strchr(item, '%')) != NULL) {
				*pct = '\0';
				sin6->sin6_scope_id = (uint32_t)atoi(pct + 1);
			}
			assert_int_equal(inet_pton(AF_INET6, item,
			    &sin6->sin6_addr), 1);
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons((uint16_t)port);
			a[n].len = sizeof(*sin6);
		}
		n++;
	}
	return n;
}

static void
test_addr_render(const struct dns_addr *a, size_t n, char *buf, size_t len)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char ip[INET6_ADDRSTRLEN], scope[16], port[16];
	unsigned p;
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < n && o < len; i++) {
		sin = (const struct sockaddr_in *)&a[i].sa;
		sin6 = (const struct sockaddr_in6 *)&a[i].sa;
		scope[0] = '\0';
		if (a[i].sa.ss_family == AF_INET) {
			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			p = ntohs(sin->sin_port);
		} else {
			inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
			p = ntohs(sin6->sin6_port);
			if (sin6->sin6_scope_id != 0)
				snprintf(scope, sizeof(scope), "%%%u",
				    (unsigned)sin6->sin6_scope_id);
		}
		port[0] = '\0';
		if (p != 25)
			snprintf(port, sizeof(port), "@%u", p);
		o += (size_t)snprintf(buf + o, len - o, "%s%s%s%s",
		    i > 0 ? " " : "", ip, scope, port);
	}
}

/* ------------------------------------------------------------- mx_plan */

struct plan_case {
	const char *what;
	const char *recs;   /* the MX answer; "" is NODATA */
	const char *domain;
	const char *self;
	enum test_rnd rnd;
	int rc;
	enum mx_kind kind;
	const char *want;   /* the rendered plan */
};

static const struct plan_case plan_cases[] = {
	/* Preference order. */
	{ "one host", "10 mx.example.com", D, SELF, RND_FIRST, 0,
	    MX_HOSTS, "mx.example.com/10" },
	{ "a real host at preference 0", "0 mx.example.com", D, SELF,
	    RND_FIRST, 0, MX_HOSTS, "mx.example.com/0" },
	{ "sorted", "10 a.example, 20 b.example, 30 c.example", D, SELF,
	    RND_FIRST, 0, MX_HOSTS, "a.example/10 b.example/20 c.example/30" },
	{ "unsorted", "30 c.example, 10 a.example, 20 b.example", D, SELF,
	    RND_FIRST, 0, MX_HOSTS, "a.example/10 b.example/20 c.example/30" },
	{ "unequal preferences ignore rnd", "30 c.example, 10 a.example, "
	    "20 b.example", D, SELF, RND_LAST, 0, MX_HOSTS,
	    "a.example/10 b.example/20 c.example/30" },
	/* Equal preferences: the draw decides, within the group only. */
	{ "equal, rnd 0 keeps order", "10 a.example, 10 b.example, "
	    "20 c.example", D, SELF, RND_FIRST, 0, MX_HOSTS,
	    "a.example/10 b.example/10 c.example/20" },
	{ "equal, rnd n-1 reverses", "10 a.example, 10 b.example, "
	    "20 c.example", D, SELF, RND_LAST, 0, MX_HOSTS,
	    "b.example/10 a.example/10 c.example/20" },
	{ "three equal, rnd n-1", "10 a.example, 10 b.example, "
	    "10 c.example", D, SELF, RND_LAST, 0, MX_HOSTS,
	    "c.example/10 b.example/10 a.example/10" },
	{ "two groups, interleaved in the answer", "20 c.example, "
	    "10 a.example, 20 d.example, 10 b.example", D, SELF, RND_LAST, 0,
	    MX_HOSTS, "b.example/10 a.example/10 d.example/20 c.example/20" },
	{ "out-of-range rnd is reduced", "10 a.example, 10 b.example, "
	    "10 c.example", D, SELF, RND_HUGE, 0, MX_HOSTS,
	    "b.example/10 c.example/10 a.example/10" },
	{ "NULL rnd keeps order", "10 b.example, 10 a.example", D, SELF,
	    RND_NONE, 0, MX_HOSTS, "b.example/10 a.example/10" },
	/* Duplicates. */
	{ "duplicate", "10 a.example, 10 a.example", D, SELF, RND_LAST, 0,
	    MX_HOSTS, "a.example/10" },
	{ "duplicate keeps its best preference", "20 a.example, "
	    "10 b.example, 10 a.example", D, SELF, RND_FIRST, 0, MX_HOSTS,
	    "b.example/10 a.example/10" },
	{ "duplicate listed worse later", "10 a.example, 20 b.example, "
	    "30 a.example", D, SELF, RND_FIRST, 0, MX_HOSTS,
	    "a.example/10 b.example/20" },
	{ "duplicate by case and dot", "10 MX.Example.COM., "
	    "20 mx.example.com, 10 mx.example.com", D, SELF, RND_LAST, 0,
	    MX_HOSTS, "MX.Example.COM/10" },
	{ "trailing dots stripped", "10 a.example., 20 b.example", D, SELF,
	    RND_FIRST, 0, MX_HOSTS, "a.example/10 b.example/20" },
	/* RFC 7505 null MX. */
	{ "null MX", "0 .", D, SELF, RND_FIRST, 0, MX_NULL, "" },
	{ "null MX written as a dot", "0 (dot)", D, SELF, RND_FIRST, 0,
	    MX_NULL, "" },
	{ "null MX before others", "0 ., 10 mx.example.com", D, SELF,
	    RND_FIRST, 0, MX_NULL, "" },
	{ "null MX after others", "10 mx.example.com, 20 b.example, 0 .", D,
	    SELF, RND_FIRST, 0, MX_NULL, "" },
	{ "null MX among bad names", "0 ., 10 bad!name.example", D, SELF,
	    RND_FIRST, 0, MX_NULL, "" },
	{ "null MX beside self", "0 ., 10 " SELF, D, SELF, RND_FIRST, 0,
	    MX_NULL, "" },
	{ "the root at preference 10 is skipped", "10 ., 20 mx.example.com",
	    D, SELF, RND_FIRST, 0, MX_HOSTS, "mx.example.com/20" },
	{ "the root at preference 10 alone", "10 .", D, SELF, RND_FIRST, -1,
	    MX_HOSTS, "" },
	/* NODATA: the implicit MX. */
	{ "NODATA", "", D, SELF, RND_FIRST, 0, MX_HOSTS, "example.com/0*" },
	{ "NODATA, domain with a dot", "", "Example.COM.", SELF, RND_FIRST,
	    0, MX_HOSTS, "Example.COM/0*" },
	{ "NODATA, no self", "", D, NULL, RND_FIRST, 0, MX_HOSTS,
	    "example.com/0*" },
	{ "NODATA, self is the domain", "", SELF, SELF, RND_FIRST, 0,
	    MX_SELF, "" },
	{ "NODATA, self by case and dot", "", "TERN.Example.Net.", SELF,
	    RND_FIRST, 0, MX_SELF, "" },
	{ "NODATA, bad domain", "", "bad domain", SELF, RND_FIRST, -1,
	    MX_HOSTS, "" },
	/* Self among the MX hosts: only better ones are left. */
	{ "self best", "10 " SELF ", 20 b.example", D, SELF, RND_FIRST, 0,
	    MX_SELF, "" },
	{ "self only", "10 " SELF, D, SELF, RND_FIRST, 0, MX_SELF, "" },
	{ "self in the middle", "10 a.example, 20 " SELF ", 30 c.example",
	    D, SELF, RND_FIRST, 0, MX_HOSTS, "a.example/10" },
	{ "self ties drop too", "10 a.example, 20 b.example, 20 " SELF
	    ", 30 c.example", D, SELF, RND_FIRST, 0, MX_HOSTS,
	    "a.example/10" },
	{ "self listed twice: its best counts", "30 " SELF ", 10 a.example, "
	    "20 b.example, 10 " SELF, D, SELF, RND_FIRST, 0, MX_SELF, "" },
	{ "self by case and dot", "10 a.example, 20 TERN.Example.NET.", D,
	    SELF, RND_FIRST, 0, MX_HOSTS, "a.example/10" },
	{ "self beside bad names", "10 bad!name.example, 20 " SELF, D, SELF,
	    RND_FIRST, 0, MX_SELF, "" },
	{ "no self given", "10 a.example, 20 " SELF, D, NULL, RND_FIRST, 0,
	    MX_HOSTS, "a.example/10 " SELF "/20" },
	/* Bad names. */
	{ "bad name skipped", "10 bad!name.example, 20 good.example", D,
	    SELF, RND_FIRST, 0, MX_HOSTS, "good.example/20" },
	{ "space in a name skipped", "10 sp ace.example, 20 good.example", D,
	    SELF, RND_FIRST, 0, MX_HOSTS, "good.example/20" },
	{ "8-bit name skipped", "10 m\xc3\xa9x.example, 20 good.example", D,
	    SELF, RND_FIRST, 0, MX_HOSTS, "good.example/20" },
	{ "underscore, hyphen and digits kept", "10 _mx-1.Example9", D, SELF,
	    RND_FIRST, 0, MX_HOSTS, "_mx-1.Example9/10" },
	{ "every name bad", "10 bad!name.example, 20 worse?.example", D,
	    SELF, RND_FIRST, -1, MX_HOSTS, "" },
	/* At most MX_MAX_HOSTS. */
	{ "twelve hosts", H12, D, SELF, RND_FIRST, 0, MX_HOSTS, H10_OUT },
	{ "better duplicates move hosts up", "5 h1.example, " H12
	    ", 7 h2.example", D, SELF, RND_FIRST, 0, MX_HOSTS,
	    "h1.example/5 h2.example/7 h3.example/30 h4.example/40 "
	    "h5.example/50 h6.example/60 h7.example/70 h8.example/80 "
	    "h9.example/90 h10.example/100" },
	{ "ten hosts after dedup", "10 a.example, " H12 ", 130 a.example, "
	    "140 A.EXAMPLE.", D, SELF, RND_FIRST, 0, MX_HOSTS,
	    "a.example/10 h1.example/10 h2.example/20 h3.example/30 "
	    "h4.example/40 h5.example/50 h6.example/60 h7.example/70 "
	    "h8.example/80 h9.example/90" },
	{ "self fifth of twelve", H12 ", 50 " SELF, D, SELF, RND_FIRST, 0,
	    MX_HOSTS, "h1.example/10 h2.example/20 h3.example/30 "
	    "h4.example/40" },
	{ "a group cut by the cap, rnd 0", E12, D, SELF, RND_FIRST, 0,
	    MX_HOSTS, "h1.example/10 h2.example/10 h3.example/10 "
	    "h4.example/10 h5.example/10 h6.example/10 h7.example/10 "
	    "h8.example/10 h9.example/10 h10.example/10" },
	{ "a group cut by the cap, rnd n-1", E12, D, SELF, RND_LAST, 0,
	    MX_HOSTS, "h12.example/10 h11.example/10 h10.example/10 "
	    "h9.example/10 h8.example/10 h7.example/10 h6.example/10 "
	    "h5.example/10 h4.example/10 h3.example/10" },
	{ "the second group cut by the cap", "20 i.example, 10 a.example, "
	    "10 b.example, 10 c.example, 10 d.example, 10 e.example, "
	    "10 f.example, 10 g.example, 10 h.example, 20 j.example, "
	    "20 k.example", D, SELF, RND_LAST, 0, MX_HOSTS,
	    "h.example/10 g.example/10 f.example/10 e.example/10 "
	    "d.example/10 c.example/10 b.example/10 a.example/10 "
	    "k.example/20 j.example/20" },
};

static void
plan_test_table(void **state)
{
	const struct plan_case *c;
	struct dns_mx mx[32];
	struct mx_plan p;
	struct errbuf eb;
	char got[4096];
	size_t i, n;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(plan_cases) / sizeof(plan_cases[0]); i++) {
		c = &plan_cases[i];
		n = test_mx_parse(c->recs, mx, 32);
		errbuf_clear(&eb);
		memset(&p, 0xa5, sizeof(p));
		rc = mx_plan(mx, n, c->domain, c->self, test_rnd_fn(c->rnd),
		    NULL, &p, &eb);
		test_plan_render(&p, got, sizeof(got));
		if (rc != c->rc || p.kind != c->kind ||
		    strcmp(got, c->want) != 0)
			fail_msg("case %zu (%s): got %d %s \"%s\" (%s), want "
			    "%d %s \"%s\"", i, c->what, rc,
			    test_kind_name(p.kind), got, eb.msg, c->rc,
			    test_kind_name(c->kind), c->want);
		if (rc == -1 && strcmp(eb.msg, "no usable MX host") != 0)
			fail_msg("case %zu (%s): error \"%s\"", i, c->what,
			    eb.msg);
		if (rc == 0 && eb.msg[0] != '\0')
			fail_msg("case %zu (%s): error \"%s\" set on success",
			    i, c->what, eb.msg);
	}
}

/*
 * Seeded draws: both orders of an equal pair (and all six of a
 * triple) occur, and the hosts of other preferences never move.
 */
static void
plan_test_shuffle(void **state)
{
	static const char *const perms[] = {
		"a b c", "a c b", "b a c", "b c a", "c a b", "c b a",
	};
	unsigned seen[6] = { 0 }, pair[2] = { 0 }, seed, draw;
	struct dns_mx mx[8];
	struct mx_plan p;
	struct errbuf eb;
	char got[64];
	size_t n, k;

	(void)state;
	n = test_mx_parse("20 a.example, 5 d.example, 20 b.example, "
	    "20 c.example, 30 e.example, 10 x.example, 10 y.example",
	    mx, 8);
	for (seed = 1; seed <= 600; seed++) {
		draw = seed;
		assert_int_equal(mx_plan(mx, n, D, SELF, rnd_lcg, &draw,
		    &p, &eb), 0);
		assert_int_equal(p.kind, MX_HOSTS);
		assert_int_equal(p.n, 7);
		assert_string_equal(p.v[0].name, "d.example");
		assert_string_equal(p.v[6].name, "e.example");
		pair[p.v[1].name[0] == 'y']++;
		assert_int_equal(p.v[1].pref, 10);
		assert_int_equal(p.v[2].pref, 10);
		assert_true(strcmp(p.v[1].name, p.v[2].name) != 0);
		snprintf(got, sizeof(got), "%c %c %c", p.v[3].name[0],
		    p.v[4].name[0], p.v[5].name[0]);
		for (k = 0; k < 6 && strcmp(got, perms[k]) != 0; k++)
			continue;
		if (k == 6)
			fail_msg("seed %u: bad order %s", seed, got);
		seen[k]++;
	}
	assert_true(pair[0] > 0 && pair[1] > 0);
	for (k = 0; k < 6; k++)
		if (seen[k] == 0)
			fail_msg("order %s never drawn", perms[k]);
}

/* Distinct preferences need no draw at all, in any answer order. */
static void
plan_test_no_draw(void **state)
{
	struct dns_mx mx[10];
	struct mx_plan p;
	struct errbuf eb;
	unsigned seed = 7, prefs[10], t;
	size_t i, j, r, n = 10;

	(void)state;
	for (i = 0; i < n; i++)
		prefs[i] = (unsigned)i * 10;
	for (j = 0; j < 50; j++) {
		/* A seeded shuffle of the answer itself. */
		for (i = n - 1; i > 0; i--) {
			r = rnd_lcg((unsigned)i + 1, &seed);
			t = prefs[i];
			prefs[i] = prefs[r];
			prefs[r] = t;
		}
		for (i = 0; i < n; i++) {
			mx[i].pref = prefs[i];
			snprintf(mx[i].host, sizeof(mx[i].host), "h%u.example",
			    prefs[i]);
		}
		assert_int_equal(mx_plan(mx, n, D, SELF, rnd_never, NULL, &p,
		    &eb), 0);
		assert_int_equal(p.n, n);
		for (i = 0; i < n; i++)
			assert_int_equal(p.v[i].pref, i * 10);
	}
}

/* Name length limits: 253 characters, not counting the root's dot. */
static void
plan_test_long_names(void **state)
{
	struct dns_mx mx[4];
	struct mx_plan p;
	struct errbuf eb;
	size_t i;

	(void)state;
	memset(mx, 0, sizeof(mx));
	for (i = 0; i < 4; i++) {
		memset(mx[i].host, 'a', 255);
		mx[i].pref = (unsigned)i + 1;
	}
	mx[0].host[255] = '\0';           /* 255: too long */
	mx[1].host[254] = '\0';           /* 254: too long */
	mx[2].host[253] = '\0';           /* 253 and a dot: fine */
	mx[2].host[252] = 'b';
	mx[2].host[253] = '.';
	mx[2].host[254] = '\0';
	mx[3].host[253] = '\0';           /* 253: fine */
	assert_int_equal(mx_plan(mx, 4, D, SELF, rnd_first, NULL, &p, &eb),
	    0);
	assert_int_equal(p.kind, MX_HOSTS);
	assert_int_equal(p.n, 2);
	assert_int_equal(strlen(p.v[0].name), 253);
	assert_int_equal(p.v[0].name[252], 'b');
	assert_int_equal(p.v[0].pref, 3);
	assert_int_equal(strlen(p.v[1].name), 253);
	assert_int_equal(p.v[1].pref, 4);

	errbuf_clear(&eb);
	assert_int_equal(mx_plan(mx, 2, D, SELF, rnd_first, NULL, &p, &eb),
	    -1);
	assert_string_equal(eb.msg, "no usable MX host");
	assert_int_equal(p.n, 0);

	/* The implicit MX: the domain itself is held to the same. */
	mx[1].host[253] = '\0';
	assert_int_equal(mx_plan(NULL, 0, mx[1].host, SELF, rnd_first, NULL,
	    &p, &eb), 0);
	assert_int_equal(p.n, 1);
	assert_true(p.v[0].implicit);
	mx[1].host[253] = 'a';
	assert_int_equal(mx_plan(NULL, 0, mx[1].host, SELF, rnd_first, NULL,
	    &p, &eb), -1);
	assert_int_equal(mx_plan(NULL, 0, "", SELF, rnd_first, NULL, &p,
	    &eb), -1);
	assert_int_equal(mx_plan(NULL, 0, ".", SELF, rnd_first, NULL, &p,
	    &eb), -1);
}

/* The caller's records are left alone. */
static void
plan_test_const(void **state)
{
	struct dns_mx mx[4], copy[4];
	struct mx_plan p;
	struct errbuf eb;
	size_t n;

	(void)state;
	memset(mx, 0, sizeof(mx));
	n = test_mx_parse("20 b.example., 10 A.example, 10 a.example, "
	    "10 c.example", mx, 4);
	memcpy(copy, mx, sizeof(mx));
	assert_int_equal(mx_plan(mx, n, D, SELF, rnd_last, NULL, &p, &eb),
	    0);
	assert_memory_equal(mx, copy, sizeof(mx));
	assert_int_equal(p.n, 3);
	assert_false(p.v[0].implicit || p.v[1].implicit || p.v[2].implicit);
}

/* ------------------------------------------------------ mx_order_addrs */

struct addr_case {
	const char *what;
	const char *in;
	const char *want;
};

#define V4S "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5"
#define V6S "2001:db8::1 2001:db8::2 2001:db8::3 2001:db8::4 2001:db8::5"

static const struct addr_case addr_cases[] = {
	{ "none", "", "" },
	{ "one", "192.0.2.1", "192.0.2.1" },
	{ "IPv4 only", "192.0.2.3 192.0.2.1 192.0.2.2",
	    "192.0.2.3 192.0.2.1 192.0.2.2" },
	{ "IPv6 only", "2001:db8::2 2001:db8::1", "2001:db8::2 2001:db8::1" },
	{ "IPv4 only, capped", V4S,
	    "192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4" },
	{ "IPv6 only, capped", V6S,
	    "2001:db8::1 2001:db8::2 2001:db8::3 2001:db8::4" },
	{ "IPv6 first", "2001:db8::1 2001:db8::2 2001:db8::3 192.0.2.1 "
	    "192.0.2.2", "2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2" },
	{ "IPv4 first", "192.0.2.1 192.0.2.2 2001:db8::1 2001:db8::2",
	    "192.0.2.1 2001:db8::1 192.0.2.2 2001:db8::2" },
	{ "IPv4 first, one IPv6 last", "192.0.2.1 192.0.2.2 192.0.2.3 "
	    "2001:db8::1", "192.0.2.1 2001:db8::1 192.0.2.2 192.0.2.3" },
	{ "IPv6 first, one IPv4", "2001:db8::1 2001:db8::2 2001:db8::3 "
	    "192.0.2.1", "2001:db8::1 192.0.2.1 2001:db8::2 2001:db8::3" },
	{ "already interleaved", "2001:db8::1 192.0.2.1 2001:db8::2 "
	    "192.0.2.2", "2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2" },
	{ "mixed, capped, IPv6 first", V6S " " V4S,
	    "2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2" },
	{ "mixed, capped, IPv4 first", V4S " " V6S,
	    "192.0.2.1 2001:db8::1 192.0.2.2 2001:db8::2" },
	{ "duplicates", "192.0.2.1 192.0.2.1 2001:db8::1 192.0.2.1 "
	    "2001:db8::1", "192.0.2.1 2001:db8::1" },
	{ "duplicates go before the cap", "192.0.2.1 192.0.2.1 192.0.2.1 "
	    "192.0.2.1 192.0.2.2 192.0.2.3", "192.0.2.1 192.0.2.2 192.0.2.3" },
	{ "IPv6 duplicates in other spellings", "2001:db8::1 "
	    "2001:0db8:0:0:0:0:0:1 2001:db8::2", "2001:db8::1 2001:db8::2" },
	{ "another port is another address", "192.0.2.1 192.0.2.1@26 "
	    "192.0.2.1", "192.0.2.1 192.0.2.1@26" },
	{ "another scope is another address", "fe80::1%1 fe80::1%2 "
	    "fe80::1%1", "fe80::1%1 fe80::1%2" },
	{ "a mapped IPv4 address is IPv6", "::ffff:192.0.2.1 192.0.2.1",
	    "::ffff:192.0.2.1 192.0.2.1" },
};

static void
addr_test_table(void **state)
{
	const struct addr_case *c;
	struct dns_addr a[16];
	char got[1024];
	size_t i, n, k;

	(void)state;
	for (i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		c = &addr_cases[i];
		n = test_addr_parse(c->in, a, 16);
		k = mx_order_addrs(a, n);
		assert_true(k <= MX_MAX_ADDRS && k <= n);
		test_addr_render(a, k, got, sizeof(got));
		if (strcmp(got, c->want) != 0)
			fail_msg("case %zu (%s): got \"%s\", want \"%s\"", i,
			    c->what, got, c->want);
	}
}

/* The length of each address travels with it. */
static void
addr_test_len(void **state)
{
	struct dns_addr a[4];
	size_t n;

	(void)state;
	n = test_addr_parse("192.0.2.1 2001:db8::1 192.0.2.1 192.0.2.2", a, 4);
	assert_int_equal(mx_order_addrs(a, n), 3);
	assert_int_equal(a[0].len, sizeof(struct sockaddr_in));
	assert_int_equal(a[1].len, sizeof(struct sockaddr_in6));
	assert_int_equal(a[2].len, sizeof(struct sockaddr_in));
	assert_int_equal(mx_order_addrs(NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_test_table),
		cmocka_unit_test(plan_test_shuffle),
		cmocka_unit_test(plan_test_no_draw),
		cmocka_unit_test(plan_test_long_names),
		cmocka_unit_test(plan_test_const),
		cmocka_unit_test(addr_test_table),
		cmocka_unit_test(addr_test_len),
	};

	return UNIT_RUN(tests);
}
