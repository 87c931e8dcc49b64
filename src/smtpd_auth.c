/*
 * smtpd_auth: the users file and the AUTH failure throttle (see
 * smtpd_auth.h).
 *
 * The users table keeps the file's text, split in place, and an array
 * of (user, hash) entries sorted by user for binary search.  Invariants:
 * every user is non-empty, at most SMTPD_USERS_MAX_NAME bytes of UTF-8
 * without spaces or controls, and appears once; every hash starts with
 * '$' and fits a crypt(3) output.  A hash family libcrypt does not know
 * is accepted at load and reported by smtpd_users_check, so one odd
 * line does not lock every user out after a SIGHUP.
 *
 * An unknown user is checked against a dummy hash (the first usable
 * hash in the file, so it has the cost the administrator chose), and
 * outputs are compared in constant time: a reply's timing tells a
 * guesser nothing about which users exist.
 *
 * The throttle is a fixed array of SMTPD_AUTH_TRACKED entries used as
 * a set-associative hash table: an address can live only in the
 * SMTPD_THROTTLE_WAYS slots of its group, so every operation is
 * bounded, and a full group drops its least recently failed entry.  The
 * group comes from a hash keyed with a random seed, so which addresses
 * share a group (and can push each other out) changes with every run.
 */
#include "autoconf.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "smtpd_auth.h"
#include "str.h"

#define SMTPD_USERS_MAX_FILE (4u * 1024 * 1024)
#define SMTPD_USERS_MAX_NAME 255
#define SMTPD_USERS_MAX_USER 1024	/* longest user name looked up */
/* libxcrypt hashes nothing longer, so no stored hash can match one. */
#define SMTPD_USERS_MAX_PASS (CRYPT_MAX_PASSPHRASE_SIZE - 1)
#define SMTPD_THROTTLE_WAYS 8
#define SMTPD_THROTTLE_GROUPS (SMTPD_AUTH_TRACKED / SMTPD_THROTTLE_WAYS)
#define SMTPD_THROTTLE_KEY 17		/* family tag + 16 address bytes */
#define SMTPD_THROTTLE_MAX_COUNT 1000000u

struct smtpd_users_ent {
	const char *user;
	const char *hash;
	unsigned line;
};

struct smtpd_users {
	char *text;			/* the file, split into strings */
	struct smtpd_users_ent *ents;
	size_t n;
	char dummy[CRYPT_OUTPUT_SIZE];	/* what unknown users are run through */
};

struct smtpd_throttle_ent {
	unsigned char key[SMTPD_THROTTLE_KEY];
	bool used;
	unsigned count;			/* failures since first */
	int64_t first;			/* start of the window */
	uint64_t touched;		/* t->ticks at the latest failure */
};

struct smtpd_throttle {
	uint64_t seed;
	uint64_t ticks;			/* orders failures within a second */
	struct smtpd_throttle_ent ents[SMTPD_AUTH_TRACKED];
};

static int
smtpd_users_open(const char *path, struct errbuf *eb)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO planted at path must not hang the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ELOOP)
		return errbuf_set(eb, "users_file %s: is a symbolic link; "
		    "name the file itself", path);
	if (fd < 0)
		return errbuf_errno(eb, errno, "users_file %s", path);
	if (fstat(fd, &st) < 0)
		errbuf_errno(eb, errno, "users_file %s", path);
	else if (!S_ISREG(st.st_mode))
		errbuf_set(eb, "users_file %s: not a regular file", path);
	else if ((st.st_mode & 0007) != 0)
		errbuf_set(eb, "users_file %s: %s by others; chmod 640 %s "
		    "(and chown it to the tern user)", path,
		    (st.st_mode & S_IROTH) ? "readable" :
		    (st.st_mode & S_IWOTH) ? "writable" : "accessible",
		    path);
	else
		return fd;
	close(fd);
	return -1;
}

/* Why user is unacceptable, or NULL. */
static const char *
smtpd_users_bad_name(const char *user)
{
	size_t len, i;

	len = strlen(user);
	if (len == 0)
		return "empty user name";
	if (len > SMTPD_USERS_MAX_NAME)
		return "user name longer than 255 bytes";
	for (i = 0; i < len; i++)
		if ((unsigned char)user[i] <= ' ' ||
		    (unsigned char)user[i] == 0x7f)
			return "user name holds a space or control character";
	if (!str_utf8_valid(user, len))
		return "user name is not valid UTF-8";
	return NULL;
}

/* Why hash is unacceptable, or NULL. */
static const char *
smtpd_users_bad_hash(const char *hash)
{
	size_t len, i;

	if (hash[0] != '$')
		return "not a crypt(3) hash; "
		    "make one with mkpasswd -m yescrypt";
	len = strlen(hash);
	if (len >= CRYPT_OUTPUT_SIZE)
		return "hash too long";
	for (i = 0; i < len; i++)
		if ((unsigned char)hash[i] <= ' ' ||
		    (unsigned char)hash[i] >= 0x7f || hash[i] == ':')
			return "stray characters in the hash";
	return NULL;
}

/* Parse the NUL-terminated line (number lineno) into *e.  Returns 1 for
 * an entry, 0 for a blank or comment line, -1 with eb set. */
static int
smtpd_users_parse_line(char *line, size_t len, unsigned lineno,
    const char *path, struct smtpd_users_ent *e, struct errbuf *eb)
{
	const char *why;
	char *colon;

	if (memchr(line, '\0', len) != NULL)
		return errbuf_set(eb, "users_file %s:%u: NUL byte", path,
		    lineno);
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
	    line[len - 1] == '\t'))
		len--;
	line[len] = '\0';
	if (len == 0 || line[0] == '#')
		return 0;
	colon = strchr(line, ':');
	if (colon == NULL)
		return errbuf_set(eb, "users_file %s:%u: expected user:hash",
		    path, lineno);
	*colon = '\0';
	why = smtpd_users_bad_name(line);
	if (why == NULL)
		why = smtpd_users_bad_hash(colon + 1);
	if (why != NULL)
		return errbuf_set(eb, "users_file %s:%u: %s", path, lineno,
		    why);
	e->user = line;
	e->hash = colon + 1;
	e->line = lineno;
	return 1;
}

static int
smtpd_users_parse(struct smtpd_users *u, size_t len, const char *path,
    struct errbuf *eb)
{
	char *p, *end, *nl;
	unsigned lineno;
	size_t max, i;
	int r;

	for (i = 0, max = 1; i < len; i++)
		max += u->text[i] == '\n';
	u->ents = calloc(max, sizeof(*u->ents));
	if (u->ents == NULL)
		return errbuf_errno(eb, errno, "users_file %s", path);
	end = u->text + len;
	for (p = u->text, lineno = 1; p < end; p = nl + 1, lineno++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;	/* the buffer is NUL-terminated */
		r = smtpd_users_parse_line(p, (size_t)(nl - p), lineno, path,
		    &u->ents[u->n], eb);
		if (r < 0)
			return -1;
		u->n += (size_t)r;
	}
	return 0;
}

static int
smtpd_users_cmp(const void *a, const void *b)
{
	return strcmp(((const struct smtpd_users_ent *)a)->user,
	    ((const struct smtpd_users_ent *)b)->user);
}

/* Sort for lookups; a user named twice is an error at the later line. */
static int
smtpd_users_sort(struct smtpd_users *u, const char *path, struct errbuf *eb)
{
	const struct smtpd_users_ent *a, *b;
	size_t i;

	qsort(u->ents, u->n, sizeof(*u->ents), smtpd_users_cmp);
	for (i = 1; i < u->n; i++) {
		a = &u->ents[i - 1];
		b = &u->ents[i];
		if (strcmp(a->user, b->user) == 0)
			return errbuf_set(eb, "users_file %s:%u: duplicate user %s "
			    "(first at line %u)", path, a->line > b->line ?
			    a->line : b->line, a->user, a->line < b->line ?
			    a->line : b->line);
	}
	return 0;
}

/* Before sorting: the first hash libcrypt can use, else a setting of
 * its default method (with no users, timing has nothing to hide). */
static void
smtpd_users_pick_dummy(struct smtpd_users *u)
{
	size_t i;
	int r;

	for (i = 0; i < u->n; i++) {
		r = crypt_checksalt(u->ents[i].hash);
		if (r == CRYPT_SALT_OK || r == CRYPT_SALT_METHOD_LEGACY ||
		    r == CRYPT_SALT_TOO_CHEAP) {
			/* smtpd_users_bad_hash saw that it fits. */
			memcpy(u->dummy, u->ents[i].hash,
			    strlen(u->ents[i].hash) + 1);
			return;
		}
	}
	if (crypt_gensalt_rn(NULL, 0, NULL, 0, u->dummy,
	    sizeof(u->dummy)) == NULL)
		u->dummy[0] = '\0';
}

struct smtpd_users *
smtpd_users_load(const char *path, struct errbuf *eb)
{
	struct smtpd_users *u;
	size_t len;
	int fd;

	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		errbuf_errno(eb, errno, "users_file %s", path);
		return NULL;
	}
	fd = smtpd_users_open(path, eb);
	if (fd < 0)
		goto fail;
	u->text = fileio_read_fd(fd, path, SMTPD_USERS_MAX_FILE, &len, eb);
	close(fd);
	if (u->text == NULL) {
		errbuf_prefix(eb, "users_file");
		goto fail;
	}
	if (smtpd_users_parse(u, len, path, eb) < 0)
		goto fail;
	smtpd_users_pick_dummy(u);
	if (smtpd_users_sort(u, path, eb) < 0)
		goto fail;
	return u;
fail:
	smtpd_users_free(u);
	return NULL;
}

void
smtpd_users_free(struct smtpd_users *u)
{
	if (u == NULL)
		return;
	free(u->ents);
	free(u->text);
	free(u);
}

/* 1 when a and b are equal; the time depends only on the lengths. */
static int
smtpd_users_ct_equal(const char *a, const char *b)
{
	size_t la, lb, i;
	unsigned char d;

	la = strlen(a);
	lb = strlen(b);
	d = la != lb;
	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i < lb ? i : 0];
	return d == 0;
}

int
smtpd_users_check(const struct smtpd_users *u, const char *user,
    const char *pass, struct errbuf *eb)
{
	const struct smtpd_users_ent *e;
	struct smtpd_users_ent key;
	struct crypt_data *cd;
	const char *hash, *out;
	int ok;

	if (u == NULL ||
	    strnlen(user, SMTPD_USERS_MAX_USER + 1) > SMTPD_USERS_MAX_USER ||
	    strnlen(pass, SMTPD_USERS_MAX_PASS + 1) > SMTPD_USERS_MAX_PASS)
		return 0;
	key.user = user;
	e = bsearch(&key, u->ents, u->n, sizeof(*u->ents), smtpd_users_cmp);
	hash = e != NULL ? e->hash : u->dummy;
	/* crypt_data is 32 KiB: too big for an event loop's stack. */
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		return errbuf_errno(eb, errno, "users_file: check a password");
	out = crypt_rn(pass, hash, cd, sizeof(*cd));
	ok = out == NULL || out[0] == '*' ? -1 : smtpd_users_ct_equal(out,
	    hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (e == NULL)
		return 0;
	if (ok < 0)
		return errbuf_set(eb, "users_file: the hash of user %s is of "
		    "a kind crypt(3) does not support", e->user);
	return ok;
}

/* The throttle key: IPv4 (also when mapped into IPv6), an IPv6 /64, or
 * one shared key for anything else (a local socket). */
static void
smtpd_throttle_key(const struct sockaddr *sa, unsigned char *key)
{
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;

	memset(key, 0, SMTPD_THROTTLE_KEY);
	if (sa != NULL && sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		key[0] = 4;
		memcpy(key + 1, &s4->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
		}
	}
}

static size_t
smtpd_throttle_group(const struct smtpd_throttle *t,
    const unsigned char *key)
{
	uint64_t h;
	size_t i;

	h = t->seed;
	for (i = 0; i < SMTPD_THROTTLE_KEY; i++) {
		h ^= key[i];
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	h ^= t->seed >> 17;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 31;
	return (size_t)(h % SMTPD_THROTTLE_GROUPS) * SMTPD_THROTTLE_WAYS;
}

static struct smtpd_throttle_ent *
smtpd_throttle_find(struct smtpd_throttle *t, const struct sockaddr *sa,
    unsigned char *key)
{
	struct smtpd_throttle_ent *g;
	size_t i;

	smtpd_throttle_key(sa, key);
	g = &t->ents[smtpd_throttle_group(t, key)];
	for (i = 0; i < SMTPD_THROTTLE_WAYS; i++)
		if (g[i].used && memcmp(g[i].key, key, SMTPD_THROTTLE_KEY) == 0)
			return &g[i];
	return NULL;
}

/* A slot for key in its group: a free one, else the least recently
 * failed entry, which is dropped. */
static struct smtpd_throttle_ent *
smtpd_throttle_claim(struct smtpd_throttle *t, const unsigned char *key)
{
	struct smtpd_throttle_ent *g, *e;
	size_t i;

	g = &t->ents[smtpd_throttle_group(t, key)];
	e = &g[0];
	for (i = 0; i < SMTPD_THROTTLE_WAYS && e->used; i++)
		if (!g[i].used || g[i].touched < e->touched)
			e = &g[i];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, SMTPD_THROTTLE_KEY);
	e->used = true;
	return e;
}

/* Has e's window passed?  A clock that went back starts a new one. */
static bool
smtpd_throttle_expired(const struct smtpd_throttle_ent *e, int64_t now)
{
	return now < e->first || now - e->first >= SMTPD_AUTH_WINDOW;
}

struct smtpd_throttle *
smtpd_throttle_new(void)
{
	struct smtpd_throttle *t;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->seed = ((uint64_t)arc4random() << 32) | arc4random();
	return t;
}

void
smtpd_throttle_free(struct smtpd_throttle *t)
{
	free(t);
}

bool
smtpd_throttle_allowed(struct smtpd_throttle *t, const struct sockaddr *sa,
    int64_t now)
{
	unsigned char key[SMTPD_THROTTLE_KEY];
	const struct smtpd_throttle_ent *e;

	e = smtpd_throttle_find(t, sa, key);
	return e == NULL || e->count < SMTPD_AUTH_MAX_FAILURES ||
	    smtpd_throttle_expired(e, now);
}

unsigned
smtpd_throttle_fail(struct smtpd_throttle *t, const struct sockaddr *sa,
    int64_t now)
{
	unsigned char key[SMTPD_THROTTLE_KEY];
	struct smtpd_throttle_ent *e;
	unsigned delay, i;

	e = smtpd_throttle_find(t, sa, key);
	if (e == NULL)
		e = smtpd_throttle_claim(t, key);
	if (e->count == 0 || smtpd_throttle_expired(e, now)) {
		e->count = 0;
		e->first = now;
	}
	if (e->count < SMTPD_THROTTLE_MAX_COUNT)
		e->count++;
	e->touched = ++t->ticks;
	delay = 1;
	for (i = 1; i < e->count && delay < SMTPD_AUTH_MAX_DELAY; i++)
		delay *= 2;
	return delay < SMTPD_AUTH_MAX_DELAY ? delay : SMTPD_AUTH_MAX_DELAY;
}

void
smtpd_throttle_ok(struct smtpd_throttle *t, const struct sockaddr *sa)
{
	unsigned char key[SMTPD_THROTTLE_KEY];
	struct smtpd_throttle_ent *e;

	e = smtpd_throttle_find(t, sa, key);
	if (e != NULL)
		memset(e, 0, sizeof(*e));
}
