/*
 * Unit tests for smtpd_auth: users files written to a private temp
 * directory with hashes made here by libcrypt (yescrypt, SHA-512,
 * bcrypt, at their cheapest costs), and the throttle driven by an
 * injected clock.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"

#include "smtpd_auth.h"

#define AUTH_TEST_MAX_FILE (4u * 1024 * 1024)

struct auth_test_dir {
	char dir[64];
	char path[128];		/* dir/users */
	char link[128];		/* dir/link */
};

static int
auth_test_setup(void **state)
{
	struct auth_test_dir *d;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -1;
	strcpy(d->dir, "/tmp/tern-auth-XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		free(d);
		return -1;
	}
	snprintf(d->path, sizeof(d->path), "%s/users", d->dir);
	snprintf(d->link, sizeof(d->link), "%s/link", d->dir);
	*state = d;
	return 0;
}

static int
auth_test_teardown(void **state)
{
	struct auth_test_dir *d = *state;

	unlink(d->path);
	unlink(d->link);
	rmdir(d->dir);
	free(d);
	return 0;
}

static void
auth_test_write(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Hash pass with the method of prefix at cost count into out. */
static void
auth_test_hash(const char *prefix, unsigned long count, const char *pass,
    char *out, size_t outlen)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;

	assert_non_null(crypt_gensalt_rn(prefix, count, NULL, 0, salt,
	    sizeof(salt)));
	cd = calloc(1, sizeof(*cd));
	assert_non_null(cd);
	assert_non_null(crypt_rn(pass, salt, cd, sizeof(*cd)));
	assert_true(strlen(cd->output) < outlen);
	strcpy(out, cd->output);
	free(cd);
}

static void
auth_test_has(const char *msg, const char *want)
{
	if (strstr(msg, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", msg, want);
}

static void
auth_test_good(void **state)
{
	struct auth_test_dir *d = *state;
	char y[CRYPT_OUTPUT_SIZE], s6[CRYPT_OUTPUT_SIZE], b[CRYPT_OUTPUT_SIZE];
	char text[4096], longpass[1100];
	struct smtpd_users *u;
	struct errbuf eb;
	int n;

	auth_test_hash("$y$", 1, "yes pass", y, sizeof(y));
	auth_test_hash("$6$", 1000, "sha pass", s6, sizeof(s6));
	auth_test_hash("$2b$", 4, "bcrypt pass", b, sizeof(b));
	n = snprintf(text, sizeof(text), "# users\n\nalice:%s\r\n"
	    "bob:%s   \n  \n\t\n# carol is next\ncarol:%s\t\r\n"
	    "jos\xc3\xa9:%s", y, s6, b, y);
	auth_test_write(d->path, text, (size_t)n, 0640);
	errbuf_clear(&eb);
	u = smtpd_users_load(d->path, &eb);
	if (u == NULL)
		fail_msg("%s", eb.msg);
	assert_int_equal(smtpd_users_check(u, "alice", "yes pass", &eb), 1);
	assert_int_equal(smtpd_users_check(u, "bob", "sha pass", &eb), 1);
	assert_int_equal(smtpd_users_check(u, "carol", "bcrypt pass", &eb), 1);
	assert_int_equal(smtpd_users_check(u, "jos\xc3\xa9", "yes pass", &eb),
	    1);
	assert_int_equal(smtpd_users_check(u, "alice", "sha pass", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "alice", "", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "alice", "yes pas", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "Alice", "yes pass", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "bob", "Sha pass", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "carol", "bcrypt pas", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "dave", "yes pass", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "", "", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "# users", "", &eb), 0);
	memset(longpass, 'p', 1025);
	longpass[1025] = '\0';
	assert_int_equal(smtpd_users_check(u, "alice", longpass, &eb), 0);
	assert_int_equal(smtpd_users_check(u, longpass, "yes pass", &eb), 0);
	smtpd_users_free(u);
}

/* libxcrypt hashes passwords of up to 511 bytes; a longer one is
 * simply wrong (not a crypt failure), even when it starts right.
 * bcrypt looks at the first 72 bytes only. */
static void
auth_test_long_password(void **state)
{
	struct auth_test_dir *d = *state;
	char h[CRYPT_OUTPUT_SIZE], b[CRYPT_OUTPUT_SIZE], text[1024];
	char pass[1100];
	struct smtpd_users *u;
	struct errbuf eb;
	int n;

	memset(pass, 'x', sizeof(pass));
	pass[511] = '\0';
	auth_test_hash("$6$", 1000, pass, h, sizeof(h));
	pass[100] = '\0';
	auth_test_hash("$2b$", 4, pass, b, sizeof(b));
	n = snprintf(text, sizeof(text), "long:%s\nbf:%s\n", h, b);
	auth_test_write(d->path, text, (size_t)n, 0600);
	u = smtpd_users_load(d->path, &eb);
	assert_non_null(u);
	assert_int_equal(smtpd_users_check(u, "bf", pass, &eb), 1);
	pass[100] = 'x';
	assert_int_equal(smtpd_users_check(u, "long", pass, &eb), 1);
	pass[511] = 'x';
	pass[512] = '\0';
	assert_int_equal(smtpd_users_check(u, "long", pass, &eb), 0);
	assert_int_equal(smtpd_users_check(u, "nobody", pass, &eb), 0);
	pass[1024] = '\0';
	assert_int_equal(smtpd_users_check(u, "long", pass, &eb), 0);
	pass[1025] = '\0';
	assert_int_equal(smtpd_users_check(u, "long", pass, &eb), 0);
	smtpd_users_free(u);
}

static void
auth_test_mode(void **state)
{
	struct auth_test_dir *d = *state;
	static const char text[] = "alice:$6$abc$def\n";
	char want[512];
	struct smtpd_users *u;
	struct errbuf eb;

	auth_test_write(d->path, text, sizeof(text) - 1, 0644);
	errbuf_clear(&eb);
	assert_null(smtpd_users_load(d->path, &eb));
	snprintf(want, sizeof(want), "users_file %s: readable by others; "
	    "chmod 640 %s (and chown it to the tern user)", d->path, d->path);
	assert_string_equal(eb.msg, want);
	auth_test_write(d->path, text, sizeof(text) - 1, 0602);
	assert_null(smtpd_users_load(d->path, &eb));
	auth_test_has(eb.msg, "writable by others; chmod 640");
	auth_test_write(d->path, text, sizeof(text) - 1, 0601);
	assert_null(smtpd_users_load(d->path, &eb));
	auth_test_write(d->path, text, sizeof(text) - 1, 0660);
	u = smtpd_users_load(d->path, &eb);
	assert_non_null(u);
	smtpd_users_free(u);
}

static void
auth_test_not_a_file(void **state)
{
	struct auth_test_dir *d = *state;
	static const char text[] = "alice:$6$abc$def\n";
	struct errbuf eb;

	auth_test_write(d->path, text, sizeof(text) - 1, 0600);
	assert_int_equal(symlink(d->path, d->link), 0);
	errbuf_clear(&eb);
	assert_null(smtpd_users_load(d->link, &eb));
	auth_test_has(eb.msg, d->link);
	auth_test_has(eb.msg, "symbolic link");
	assert_null(smtpd_users_load(d->dir, &eb));
	auth_test_has(eb.msg, "not a regular file");
	unlink(d->path);
	assert_null(smtpd_users_load(d->path, &eb));
	auth_test_has(eb.msg, d->path);
	auth_test_has(eb.msg, "No such file");
}

static void
auth_test_too_big(void **state)
{
	struct auth_test_dir *d = *state;
	struct errbuf eb;
	char *text;

	text = malloc(AUTH_TEST_MAX_FILE + 1);
	assert_non_null(text);
	memset(text, '#', AUTH_TEST_MAX_FILE + 1);
	auth_test_write(d->path, text, AUTH_TEST_MAX_FILE + 1, 0600);
	free(text);
	errbuf_clear(&eb);
	assert_null(smtpd_users_load(d->path, &eb));
	auth_test_has(eb.msg, d->path);
	auth_test_has(eb.msg, "larger than");
}

struct auth_test_bad {
	const char *text;
	size_t len;		/* 0: strlen(text) */
	const char *want;
};

static const struct auth_test_bad auth_test_bads[] = {
	{ "alice:$6$x\nnocolon\n", 0, ":2: expected user:hash" },
	{ "# c\n\n:$6$x\n", 0, ":3: empty user name" },
	{ "al ice:$6$x\n", 0, ":1: user name holds a space" },
	{ " alice:$6$x\n", 0, ":1: user name holds a space" },
	{ "a\x01:$6$x\n", 0, ":1: user name holds a space or control" },
	{ "\xff\xfe:$6$x\n", 0, ":1: user name is not valid UTF-8" },
	{ "alice:$6$x\r\nbob:secret\n", 0, ":2: not a crypt(3) hash; make one "
	    "with mkpasswd -m yescrypt" },
	{ "alice:\n", 0, ":1: not a crypt(3) hash" },
	{ "alice:!$6$x\n", 0, ":1: not a crypt(3) hash" },
	{ "alice: $6$x\n", 0, ":1: not a crypt(3) hash" },
	{ "alice:$6$x:0:0\n", 0, ":1: stray characters in the hash" },
	{ "alice:$6$x y\n", 0, ":1: stray characters in the hash" },
	{ "alice:$6$x\nb\0b:$6$y\n", 21, ":2: NUL byte" },
};

static void
auth_test_malformed(void **state)
{
	struct auth_test_dir *d = *state;
	const struct auth_test_bad *c;
	char want[256], text[512];
	struct errbuf eb;
	size_t i;

	for (i = 0; i < sizeof(auth_test_bads) / sizeof(auth_test_bads[0]);
	    i++) {
		c = &auth_test_bads[i];
		auth_test_write(d->path, c->text,
		    c->len ? c->len : strlen(c->text), 0600);
		errbuf_clear(&eb);
		if (smtpd_users_load(d->path, &eb) != NULL)
			fail_msg("case %zu loaded", i);
		snprintf(want, sizeof(want), "users_file %s%s", d->path,
		    c->want);
		auth_test_has(eb.msg, want);
	}
	/* A 255-byte name is fine, 256 bytes is not. */
	memset(text, 'u', 255);
	strcpy(text + 255, ":$6$x\n");
	auth_test_write(d->path, text, strlen(text), 0600);
	smtpd_users_free(smtpd_users_load(d->path, &eb));
	memset(text, 'u', 256);
	strcpy(text + 256, ":$6$x\n");
	auth_test_write(d->path, text, strlen(text), 0600);
	assert_null(smtpd_users_load(d->path, &eb));
	auth_test_has(eb.msg, ":1: user name longer than 255 bytes");
}

static void
auth_test_duplicate(void **state)
{
	struct auth_test_dir *d = *state;
	static const char text[] =
	    "alice:$6$a\nbob:$6$b\n# again\nalice:$6$c\n";
	char want[256];
	struct errbuf eb;

	auth_test_write(d->path, text, sizeof(text) - 1, 0600);
	errbuf_clear(&eb);
	assert_null(smtpd_users_load(d->path, &eb));
	snprintf(want, sizeof(want), "users_file %s:4: duplicate user alice "
	    "(first at line 1)", d->path);
	assert_string_equal(eb.msg, want);
}

/* A hash family libcrypt lacks loads, and checking it says which user's
 * hash is at fault; unknown users still get a plain no. */
static void
auth_test_unsupported(void **state)
{
	struct auth_test_dir *d = *state;
	char y[CRYPT_OUTPUT_SIZE], text[1024];
	struct smtpd_users *u;
	struct errbuf eb;
	int n;

	auth_test_hash("$y$", 1, "pw", y, sizeof(y));
	n = snprintf(text, sizeof(text), "odd:$zz$abc\nbob:%s\nbare:$\n", y);
	auth_test_write(d->path, text, (size_t)n, 0600);
	errbuf_clear(&eb);
	u = smtpd_users_load(d->path, &eb);
	assert_non_null(u);
	assert_int_equal(smtpd_users_check(u, "odd", "pw", &eb), -1);
	auth_test_has(eb.msg, "user odd");
	assert_int_equal(smtpd_users_check(u, "bare", "", &eb), -1);
	assert_int_equal(smtpd_users_check(u, "bob", "pw", &eb), 1);
	assert_int_equal(smtpd_users_check(u, "nobody", "pw", &eb), 0);
	smtpd_users_free(u);

	auth_test_write(d->path, "odd:$zz$abc\n", 12, 0600);
	u = smtpd_users_load(d->path, &eb);
	assert_non_null(u);
	assert_int_equal(smtpd_users_check(u, "nobody", "pw", &eb), 0);
	assert_int_equal(smtpd_users_check(u, "odd", "pw", &eb), -1);
	smtpd_users_free(u);
}

static void
auth_test_empty(void **state)
{
	struct auth_test_dir *d = *state;
	struct smtpd_users *u;
	struct errbuf eb;

	auth_test_write(d->path, "# nobody yet\n", 13, 0600);
	u = smtpd_users_load(d->path, &eb);
	assert_non_null(u);
	assert_int_equal(smtpd_users_check(u, "alice", "", &eb), 0);
	smtpd_users_free(u);
	auth_test_write(d->path, "", 0, 0600);
	u = smtpd_users_load(d->path, &eb);
	assert_non_null(u);
	assert_int_equal(smtpd_users_check(u, "", "", &eb), 0);
	smtpd_users_free(u);
}

/* Tens of thousands of users load, every one can be found, and a
 * duplicate at the end is still caught. */
static void
auth_test_many(void **state)
{
	struct auth_test_dir *d = *state;
	char h[CRYPT_OUTPUT_SIZE], user[32];
	struct smtpd_users *u;
	struct errbuf eb;
	size_t len, cap;
	char *text;
	int i;

	auth_test_hash("$6$", 1000, "many", h, sizeof(h));
	cap = 20001 * (strlen(h) + 16);
	text = malloc(cap);
	assert_non_null(text);
	for (i = 0, len = 0; i < 20000; i++)
		len += (size_t)snprintf(text + len, cap - len, "user%d:%s\n",
		    (i * 7919) % 20000, h);
	auth_test_write(d->path, text, len, 0600);
	u = smtpd_users_load(d->path, &eb);
	if (u == NULL)
		fail_msg("%s", eb.msg);
	for (i = 0; i < 20000; i += 4999) {
		snprintf(user, sizeof(user), "user%d", i);
		assert_int_equal(smtpd_users_check(u, user, "many", &eb), 1);
	}
	assert_int_equal(smtpd_users_check(u, "user20000", "many", &eb), 0);
	smtpd_users_free(u);
	len += (size_t)snprintf(text + len, cap - len, "user0:%s\n", h);
	auth_test_write(d->path, text, len, 0600);
	free(text);
	assert_null(smtpd_users_load(d->path, &eb));
	auth_test_has(eb.msg, ":20001: duplicate user user0 (first at line 1)");
}

static const struct sockaddr *
auth_test_sa(struct sockaddr_storage *ss, const char *addr)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(40000);
	} else {
		assert_int_equal(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(40001);
	}
	return (const struct sockaddr *)ss;
}

static void
auth_test_delays(void **state)
{
	static const unsigned want[] = { 1, 2, 4, 8, 8, 8, 8, 8, 8, 8 };
	struct smtpd_throttle *t;
	struct sockaddr_storage a, b;
	unsigned i;

	(void)state;
	t = smtpd_throttle_new();
	assert_non_null(t);
	auth_test_sa(&a, "192.0.2.1");
	auth_test_sa(&b, "192.0.2.2");
	for (i = 0; i < 10; i++) {
		assert_true(smtpd_throttle_allowed(t, (void *)&a, 1000 + i));
		assert_int_equal(smtpd_throttle_fail(t, (void *)&a, 1000 + i),
		    want[i]);
	}
	assert_false(smtpd_throttle_allowed(t, (void *)&a, 1009));
	assert_false(smtpd_throttle_allowed(t, (void *)&a,
	    1000 + SMTPD_AUTH_WINDOW - 1));
	assert_true(smtpd_throttle_allowed(t, (void *)&b, 1009));
	assert_true(smtpd_throttle_allowed(t, (void *)&a,
	    1000 + SMTPD_AUTH_WINDOW));
	/* The next failure opens a new window. */
	assert_int_equal(smtpd_throttle_fail(t, (void *)&a,
	    1000 + SMTPD_AUTH_WINDOW), 1);
	assert_true(smtpd_throttle_allowed(t, (void *)&a,
	    1000 + SMTPD_AUTH_WINDOW));
	/* Failures a window apart never add up. */
	assert_int_equal(smtpd_throttle_fail(t, (void *)&b, 5000), 1);
	assert_int_equal(smtpd_throttle_fail(t, (void *)&b,
	    5000 + SMTPD_AUTH_WINDOW), 1);
	/* A clock that went back does not lock anyone out for long. */
	assert_int_equal(smtpd_throttle_fail(t, (void *)&b, 10), 1);
	smtpd_throttle_free(t);
}

static void
auth_test_ok_clears(void **state)
{
	struct smtpd_throttle *t;
	struct sockaddr_storage a;
	unsigned i;

	(void)state;
	t = smtpd_throttle_new();
	assert_non_null(t);
	auth_test_sa(&a, "2001:db8::5");
	smtpd_throttle_ok(t, (void *)&a);	/* unknown: nothing to do */
	for (i = 0; i < SMTPD_AUTH_MAX_FAILURES; i++)
		smtpd_throttle_fail(t, (void *)&a, 100);
	assert_false(smtpd_throttle_allowed(t, (void *)&a, 101));
	smtpd_throttle_ok(t, (void *)&a);
	assert_true(smtpd_throttle_allowed(t, (void *)&a, 101));
	assert_int_equal(smtpd_throttle_fail(t, (void *)&a, 102), 1);
	smtpd_throttle_free(t);
}

/* Addresses of one /64 count together; v4-mapped IPv6 is IPv4; other
 * families share one entry without harm. */
static void
auth_test_grouping(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	struct smtpd_throttle *t;
	unsigned i;

	(void)state;
	t = smtpd_throttle_new();
	assert_non_null(t);
	for (i = 0; i < 5; i++) {
		smtpd_throttle_fail(t, auth_test_sa(&ss,
		    "2001:db8:1:2::1"), 50);
		smtpd_throttle_fail(t, auth_test_sa(&ss,
		    "2001:db8:1:2:ffff:ffff:ffff:ffff"), 50);
		smtpd_throttle_fail(t, auth_test_sa(&ss, "198.51.100.7"), 50);
		smtpd_throttle_fail(t, auth_test_sa(&ss,
		    "::ffff:198.51.100.7"), 50);
	}
	assert_false(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "2001:db8:1:2:abcd::"), 60));
	assert_true(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "2001:db8:1:3::1"), 60));
	assert_true(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "2001:db8:1::1"), 60));
	assert_false(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "198.51.100.7"), 60));
	assert_false(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "::ffff:198.51.100.7"), 60));
	assert_true(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "198.51.100.8"), 60));
	assert_true(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "::198.51.100.7"), 60));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(smtpd_throttle_fail(t, (void *)&sun, 60), 1);
	assert_int_equal(smtpd_throttle_fail(t, (void *)&sun, 60), 2);
	assert_true(smtpd_throttle_allowed(t, (void *)&sun, 60));
	smtpd_throttle_free(t);
}

/* Many addresses are tracked at once: 100 locked-out clients stay
 * locked out. */
static void
auth_test_capacity(void **state)
{
	struct sockaddr_storage ss;
	struct smtpd_throttle *t;
	char addr[64];
	unsigned i, j;

	(void)state;
	t = smtpd_throttle_new();
	assert_non_null(t);
	for (i = 0; i < 100; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%u", i);
		for (j = 0; j < SMTPD_AUTH_MAX_FAILURES; j++)
			smtpd_throttle_fail(t, auth_test_sa(&ss, addr), i);
	}
	for (i = 0; i < 100; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%u", i);
		assert_false(smtpd_throttle_allowed(t,
		    auth_test_sa(&ss, addr), 100));
	}
	smtpd_throttle_free(t);
}

/* A flood of new addresses fills the table: old entries are dropped,
 * even a locked-out one, while one that keeps failing is kept, as are
 * the newest. */
static void
auth_test_full(void **state)
{
	struct sockaddr_storage ss;
	struct smtpd_throttle *t;
	char addr[64];
	unsigned i;

	(void)state;
	t = smtpd_throttle_new();
	assert_non_null(t);
	for (i = 0; i < SMTPD_AUTH_MAX_FAILURES; i++)
		smtpd_throttle_fail(t, auth_test_sa(&ss, "192.0.2.99"), i);
	assert_false(smtpd_throttle_allowed(t, (void *)&ss, 10));
	for (i = 0; i < 4; i++)
		smtpd_throttle_fail(t, auth_test_sa(&ss, "192.0.2.50"), 10);
	/* 25 times the table size, so every group overflows. */
	for (i = 0; i < 25u * SMTPD_AUTH_TRACKED; i++) {
		if (i % 2)
			snprintf(addr, sizeof(addr), "10.%u.%u.%u", i >> 16,
			    (i >> 8) & 255, i & 255);
		else
			snprintf(addr, sizeof(addr), "2001:db8:%x:%x::1",
			    i >> 16, i & 0xffff);
		assert_int_equal(smtpd_throttle_fail(t,
		    auth_test_sa(&ss, addr), 10 + i / 1000), 1);
		if (i % 16 == 0)
			assert_int_equal(smtpd_throttle_fail(t,
			    auth_test_sa(&ss, "192.0.2.50"), 10 + i / 1000),
			    SMTPD_AUTH_MAX_DELAY);
	}
	assert_true(smtpd_throttle_allowed(t,
	    auth_test_sa(&ss, "192.0.2.99"), 200));
	assert_int_equal(smtpd_throttle_fail(t, auth_test_sa(&ss, addr), 200),
	    2);
	smtpd_throttle_free(t);
}

#define AUTH_TEST(f) \
	cmocka_unit_test_setup_teardown(f, auth_test_setup, auth_test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		AUTH_TEST(auth_test_good),
		AUTH_TEST(auth_test_long_password),
		AUTH_TEST(auth_test_mode),
		AUTH_TEST(auth_test_not_a_file),
		AUTH_TEST(auth_test_too_big),
		AUTH_TEST(auth_test_malformed),
		AUTH_TEST(auth_test_duplicate),
		AUTH_TEST(auth_test_unsupported),
		AUTH_TEST(auth_test_empty),
		AUTH_TEST(auth_test_many),
		cmocka_unit_test(auth_test_delays),
		cmocka_unit_test(auth_test_ok_clears),
		cmocka_unit_test(auth_test_grouping),
		cmocka_unit_test(auth_test_capacity),
		cmocka_unit_test(auth_test_full),
	};

	return UNIT_RUN(tests);
}
