/*
 * queue: layout, IDs, durable commit and listing (see queue.h).
 *
 * The commit protocol is the one promise everything else relies on: a
 * file is visible under its final name only after its bytes and the
 * rename are on stable storage; before that it is a "tmp." file that
 * readers ignore and that is removed on any failure.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"
#include "queue.h"

#define QUEUE_ENVELOPE_MAX (16 * 1024 * 1024)
#define QUEUE_COMMIT_TRIES 10

static const char *const queue_names[QUEUE_NQUEUES] = {
	"maildrop", "incoming", "active", "deferred", "hold", "corrupt",
	"data", "state",
};

const char *
queue_name(enum queue_name q)
{
	return q < QUEUE_NQUEUES ? queue_names[q] : "unknown";
}

/* ---------------------------------------------------------------- IDs */

void
queue_make_id(int64_t now_us, char id[QUEUE_ID_LEN + 1])
{
	static int64_t last_us;

	/* Strictly increasing within a process; the pid part keeps
	 * processes apart. */
	if (now_us <= last_us)
		now_us = last_us + 1;
	last_us = now_us;
	snprintf(id, QUEUE_ID_LEN + 1, "%013llX%06lX",
	    (unsigned long long)now_us & 0xFFFFFFFFFFFFFULL,
	    (unsigned long)getpid() & 0xFFFFFFUL);
}

bool
queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QUEUE_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return s[QUEUE_ID_LEN] == '\0';
}

int64_t
queue_id_time(const char *id)
{
	char t[14];

	memcpy(t, id, 13);
	t[13] = '\0';
	return (int64_t)strtoll(t, NULL, 16);
}

/* ---------------------------------------------------------------- setup */

int
queue_setup(const char *queue_dir, struct errbuf *eb)
{
	char path[QUEUE_PATH_MAX];
	int q;

	if (fileio_mkdir(queue_dir, 0700, eb) < 0)
		return -1;
	for (q = 0; q < QUEUE_NQUEUES; q++) {
		snprintf(path, sizeof(path), "%s/%s", queue_dir,
		    queue_names[q]);
		if (fileio_mkdir(path, 0700, eb) < 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/public", queue_dir);
	if (fileio_mkdir(path, 0700, eb) < 0)
		return -1;
	/* ternd's control socket: run_user's group may enter. */
	snprintf(path, sizeof(path), "%s/control", queue_dir);
	return fileio_mkdir(path, 0750, eb);
}

static size_t
queue_clean_tmp_in(const char *queue_dir, enum queue_name q)
{
	char path[QUEUE_PATH_MAX];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", queue_dir, queue_name(q));
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "tmp.", 4) == 0 &&
		    queue_id_valid(de->d_name + 4) &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	closedir(d);
	return n;
}

size_t
queue_clean_tmp(const char *queue_dir)
{
	static const enum queue_name own[] = { QUEUE_INCOMING, QUEUE_ACTIVE,
	    QUEUE_DEFERRED, QUEUE_HOLD, QUEUE_DATA };
	size_t i, n = 0;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		n += queue_clean_tmp_in(queue_dir, own[i]);
	return n;
}

int
queue_free_space(const char *queue_dir, uint64_t *avail, struct errbuf *eb)
{
	struct statvfs sv;

	if (statvfs(queue_dir, &sv) < 0) {
		errbuf_errno(eb, errno, "statvfs %s", queue_dir);
		return -1;
	}
	*avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}

/* ---------------------------------------------------------------- commit */

/*
 * The one file this process has made but not yet committed, so a
 * signal handler can take it back (queue_file_unlink_pending).  Updates
 * run with signals blocked so the handler never sees half a name.
 */
static char queue_pending[QUEUE_PATH_MAX + 32];

static void
queue_pending_set(const char *path)
{
	sigset_t all, old;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if (path == NULL)
		queue_pending[0] = '\0';
	else
		snprintf(queue_pending, sizeof(queue_pending), "%s", path);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void
queue_file_unlink_pending(void)
{
	if (queue_pending[0] != '\0')
		unlink(queue_pending);
}

static void
queue_file_names(struct queue_file *qf)
{
	snprintf(qf->tmp, sizeof(qf->tmp), "%s/tmp.%s", qf->dir, qf->id);
	snprintf(qf->final, sizeof(qf->final), "%s/%s", qf->dir, qf->id);
}

int
queue_file_create(const char *queue_dir, enum queue_name q, mode_t mode,
    int64_t now_us, struct queue_file *qf, struct errbuf *eb)
{
	int tries;

	qf->fd = -1;
	if ((size_t)snprintf(qf->dir, sizeof(qf->dir), "%s/%s", queue_dir,
	    queue_name(q)) >= sizeof(qf->dir) - QUEUE_ID_LEN - 8)
		return errbuf_setc(eb, EX_CANTCREAT, "queue directory path "
		    "%s is too long", queue_dir);
	for (tries = 0; tries < QUEUE_COMMIT_TRIES; tries++) {
		queue_make_id(now_us, qf->id);
		queue_file_names(qf);
		qf->fd = open(qf->tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, mode);
		if (qf->fd >= 0 || errno != EEXIST)
			break;
	}
	if (qf->fd < 0)
		return errbuf_errno(eb, errno, "create a file in %s", qf->dir);
	queue_pending_set(qf->tmp);
	/* The mode must not depend on the caller's umask. */
	if (fchmod(qf->fd, mode) < 0) {
		errbuf_errno(eb, errno, "set the mode of %s", qf->tmp);
		queue_file_abort(qf);
		return -1;
	}
	return 0;
}

int
queue_file_write(struct queue_file *qf, const void *p, size_t n,
    struct errbuf *eb)
{
	if (fileio_write_all(qf->fd, p, n) < 0)
		return errbuf_errno(eb, errno, "write %s", qf->tmp);
	return 0;
}

/* Rename tmp to final without ever replacing an existing file. */
static int
queue_rename_noreplace(const char *tmp, const char *final)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* Filesystems without RENAME_NOREPLACE: link() refuses to replace. */
	if (link(tmp, final) < 0)
		return -1;
	unlink(tmp);
	return 0;
}

static int
queue_file_publish(struct queue_file *qf, int64_t now_us,
    struct errbuf *eb)
{
	char oldtmp[sizeof(qf->tmp)];
	int tries;

	for (tries = 0; tries < QUEUE_COMMIT_TRIES; tries++) {
		if (queue_rename_noreplace(qf->tmp, qf->final) == 0)
			return 0;
		if (errno != EEXIST)
			return errbuf_errno(eb, errno, "rename %s", qf->tmp);
		/* Another process took this ID (another PID namespace
		 * sharing the queue): take a new one. */
		memcpy(oldtmp, qf->tmp, sizeof(oldtmp));
		queue_make_id(now_us, qf->id);
		queue_file_names(qf);
		if (rename(oldtmp, qf->tmp) < 0) {
			int saved = errno;
			memcpy(qf->tmp, oldtmp, sizeof(qf->tmp));
			return errbuf_errno(eb, saved, "rename %s", oldtmp);
		}
	}
	return errbuf_setc(eb, EX_TEMPFAIL, "no free queue ID in %s",
	    qf->dir);
}

/*
 * Make the new directory entry durable.  The setgid sendmail may write
 * into maildrop but not read it, so it cannot open the directory to
 * fsync it; syncfs() on the file's own descriptor flushes the whole
 * filesystem, the entry included, and needs no read permission.
 */
static int
queue_sync_entry(struct queue_file *qf, struct errbuf *eb)
{
	if (fileio_fsync_dir(qf->dir, eb) == 0)
		return 0;
	if (eb->errnum != EACCES)
		return -1;
	if (syncfs(qf->fd) < 0)
		return errbuf_errno(eb, errno, "syncfs %s", qf->final);
	errbuf_clear(eb);
	return 0;
}

int
queue_file_commit(struct queue_file *qf, int64_t now_us,
    struct errbuf *eb)
{
	if (fsync(qf->fd) < 0) {
		errbuf_errno(eb, errno, "fsync %s", qf->tmp);
		goto fail;
	}
	if (queue_file_publish(qf, now_us, eb) < 0)
		goto fail;
	queue_pending_set(qf->final);
	if (queue_sync_entry(qf, eb) < 0) {
		/* Not durable, so not acknowledged: take it back. */
		unlink(qf->final);
		goto fail;
	}
	qf->tmp[0] = '\0';
	if (close(qf->fd) < 0) {
		qf->fd = -1;
		errbuf_errno(eb, errno, "close %s", qf->final);
		unlink(qf->final);
		goto fail;
	}
	qf->fd = -1;
	queue_pending_set(NULL);
	return 0;
fail:
	queue_file_abort(qf);
	return -1;
}

void
queue_file_abort(struct queue_file *qf)
{
	if (qf->fd >= 0) {
		close(qf->fd);
		qf->fd = -1;
	}
	if (qf->tmp[0] != '\0') {
		unlink(qf->tmp);
		qf->tmp[0] = '\0';
	}
	queue_pending_set(NULL);
}

/* ---------------------------------------------------------------- reading */

/* Check that the message data ends exactly with the trailer. */
static int
queue_check_data(int fd, const struct stat *st, size_t data_off,
    uint64_t data_len, struct errbuf *eb)
{
	char trailer[ENVELOPE_TRAILER_LEN];
	uint64_t end = (uint64_t)data_off + data_len;

	if ((uint64_t)st->st_size != end + ENVELOPE_TRAILER_LEN)
		return errbuf_set(eb, "file is %lld bytes, the envelope "
		    "says %llu: incomplete or damaged", (long long)st->st_size,
		    (unsigned long long)(end + ENVELOPE_TRAILER_LEN));
	if (pread(fd, trailer, sizeof(trailer), (off_t)end) !=
	    (ssize_t)sizeof(trailer) ||
	    memcmp(trailer, ENVELOPE_TRAILER, ENVELOPE_TRAILER_LEN) != 0)
		return errbuf_set(eb, "no end marker after the message");
	return 0;
}

/* Read from fd until the envelope records are complete. */
static int
queue_decode_fd(int fd, const struct stat *st, struct envelope *env,
    struct errbuf *eb)
{
	char chunk[16384];
	struct buf b;
	size_t data_off;
	uint64_t data_len;
	ssize_t r;
	int rc = 1;

	buf_init(&b, QUEUE_ENVELOPE_MAX);
	while (rc == 1) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = errbuf_errno(eb, errno, "read");
			break;
		}
		if (r == 0) {
			rc = errbuf_set(eb, "no end marker: incomplete file");
			break;
		}
		if (buf_append(&b, chunk, (size_t)r) < 0) {
			rc = errbuf_set(eb, "envelope larger than %d bytes",
			    QUEUE_ENVELOPE_MAX);
			break;
		}
		envelope_fini(env);
		rc = envelope_decode(b.data, b.len, env, &data_off, &data_len,
		    eb);
	}
	if (rc == 0 && data_len > 0)
		rc = queue_check_data(fd, st, data_off, data_len, eb);
	else if (rc == 0 && (uint64_t)st->st_size != data_off)
		rc = errbuf_set(eb, "data after the end marker");
	buf_fini(&b);
	return rc;
}

int
queue_read_envelope(int dirfd, const char *name, struct envelope *env,
    struct errbuf *eb)
{
	struct stat st;
	int fd, rc, saved;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		errbuf_errno(eb, saved, "open");
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) < 0)
		rc = errbuf_errno(eb, errno, "stat");
	else if (!S_ISREG(st.st_mode))
		rc = errbuf_set(eb, "not a regular file");
	else if (st.st_nlink != 1)
		rc = errbuf_set(eb, "has %lu hard links; refusing it",
		    (unsigned long)st.st_nlink);
	else
		rc = queue_decode_fd(fd, &st, env, eb);
	close(fd);
	errno = 0;
	return rc;
}

struct queue_ref {
	char id[QUEUE_ID_LEN + 1];
	enum queue_name queue;
};

static int
queue_cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct queue_ref *)a)->id,
	    ((const struct queue_ref *)b)->id);
}

/* Append the IDs found in one queue directory. */
static int
queue_list_dir(int dirfd, enum queue_name q, struct queue_ref **refs,
    size_t *n, size_t *cap, struct errbuf *eb)
{
	struct dirent *de;
	struct queue_ref *r;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) < 0 || (d = fdopendir(fd)) == NULL)
		return errbuf_errno(eb, errno, "list %s", queue_name(q));
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			if ((r = realloc(*refs, *cap * sizeof(*r))) == NULL) {
				closedir(d);
				return errbuf_setc(eb, EX_OSERR, "out of memory");
			}
			*refs = r;
		}
		memcpy((*refs)[*n].id, de->d_name, QUEUE_ID_LEN + 1);
		(*refs)[(*n)++].queue = q;
	}
	closedir(d);
	return 0;
}

static int
queue_visit(const struct queue_ref *ref, int dirfd, queue_walk_fn fn,
    queue_problem_fn problem, void *arg)
{
	struct queue_entry e;
	struct errbuf eb;
	int rc = 0;

	memcpy(e.id, ref->id, sizeof(e.id));
	e.queue = ref->queue;
	envelope_init(&e.env);
	errbuf_clear(&eb);
	if (queue_read_envelope(dirfd, ref->id, &e.env, &eb) == 0)
		rc = fn(&e, arg);
	else if (errno != ENOENT && problem != NULL)
		problem(queue_name(ref->queue), ref->id, eb.msg, arg);
	envelope_fini(&e.env);
	return rc;
}

int
queue_walk(const char *queue_dir, queue_walk_fn fn,
    queue_problem_fn problem, void *arg, struct errbuf *eb)
{
	int dirfds[QUEUE_HOLD + 1], q, rc = 0;
	char path[QUEUE_PATH_MAX];
	struct queue_ref *refs = NULL;
	size_t n = 0, cap = 0, i;

	for (q = 0; q <= QUEUE_HOLD; q++)
		dirfds[q] = -1;
	for (q = 0; q <= QUEUE_HOLD && rc == 0; q++) {
		snprintf(path, sizeof(path), "%s/%s", queue_dir,
		    queue_names[q]);
		dirfds[q] = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfds[q] < 0)
			rc = errbuf_errno(eb, errno, "open %s", path);
		else
			rc = queue_list_dir(dirfds[q], (enum queue_name)q,
			    &refs, &n, &cap, eb);
	}
	if (rc == 0) {
		if (n > 1)
			qsort(refs, n, sizeof(*refs), queue_cmp_ref);
		for (i = 0; i < n && rc == 0; i++)
			rc = queue_visit(&refs[i], dirfds[refs[i].queue], fn,
			    problem, arg);
	}
	for (q = 0; q <= QUEUE_HOLD; q++)
		if (dirfds[q] >= 0)
			close(dirfds[q]);
	free(refs);
	return rc;
}

/* ---------------------------------------------------------------- ternd */

int
queue_path(const char *queue_dir, enum queue_name q, const char *id,
    char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s/%s", queue_dir, queue_name(q), id);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
queue_entry_store(const char *queue_dir, const char *id,
    const struct envelope *env, const void *data, size_t len,
    struct errbuf *eb)
{
	int fd, rc;

	if ((fd = queue_data_create(queue_dir, id, eb)) < 0)
		return -1;
	rc = fileio_write_all(fd, data, len);
	if (rc < 0)
		errbuf_errno(eb, errno, "write data/%s", id);
	if (close(fd) < 0 && rc == 0)
		rc = errbuf_errno(eb, errno, "close data/%s", id);
	if (rc == 0)
		rc = queue_env_store(queue_dir, QUEUE_INCOMING, id, env, false,
		    eb);
	if (rc < 0)
		queue_entry_remove(queue_dir, id);
	return rc;
}

void
queue_entry_remove(const char *queue_dir, const char *id)
{
	queue_unlink(queue_dir, QUEUE_INCOMING, id);
	queue_unlink(queue_dir, QUEUE_DATA, id);
}

int
queue_env_store(const char *queue_dir, enum queue_name q, const char *id,
    const struct envelope *env, bool fsync_file, struct errbuf *eb)
{
	char path[QUEUE_PATH_MAX], tmp[QUEUE_PATH_MAX + 8];
	struct buf b;
	int fd, rc = -1;

	if (queue_path(queue_dir, q, id, path, sizeof(path)) < 0)
		return errbuf_set(eb, "queue path too long");
	snprintf(tmp, sizeof(tmp), "%s/%s/tmp.%s", queue_dir, queue_name(q),
	    id);
	buf_init(&b, 0);
	if (envelope_encode(env, &b) < 0 || buf_puts(&b, "end\n") < 0) {
		buf_fini(&b);
		return errbuf_set(eb, "out of memory");
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		errbuf_errno(eb, errno, "create %s", tmp);
	else if (fileio_write_all(fd, b.data, b.len) < 0)
		errbuf_errno(eb, errno, "write %s", tmp);
	else if (fsync_file && fsync(fd) < 0)
		errbuf_errno(eb, errno, "fsync %s", tmp);
	else if (rename(tmp, path) < 0)
		errbuf_errno(eb, errno, "rename %s", tmp);
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	buf_fini(&b);
	return rc;
}

int
queue_env_load(const char *queue_dir, enum queue_name q, const char *id,
    struct envelope *env, struct errbuf *eb)
{
	char path[QUEUE_PATH_MAX];
	int dirfd, rc, saved;

	snprintf(path, sizeof(path), "%s/%s", queue_dir, queue_name(q));
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errbuf_errno(eb, errno, "open %s", path);
	rc = queue_read_envelope(dirfd, id, env, eb);
	saved = errno;
	close(dirfd);
	errno = saved;
	return rc;
}

int
queue_move(const char *queue_dir, const char *id, enum queue_name from,
    enum queue_name to, struct errbuf *eb)
{
	char a[QUEUE_PATH_MAX], b[QUEUE_PATH_MAX];

	if (queue_path(queue_dir, from, id, a, sizeof(a)) < 0 ||
	    queue_path(queue_dir, to, id, b, sizeof(b)) < 0)
		return errbuf_set(eb, "queue path too long");
	if (rename(a, b) < 0)
		return errbuf_errno(eb, errno, "move %s to %s", a,
		    queue_name(to));
	return 0;
}

int
queue_unlink(const char *queue_dir, enum queue_name q, const char *id)
{
	char path[QUEUE_PATH_MAX];

	if (queue_path(queue_dir, q, id, path, sizeof(path)) < 0)
		return -1;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
queue_data_create(const char *queue_dir, const char *id, struct errbuf *eb)
{
	char path[QUEUE_PATH_MAX];
	int fd;

	if (queue_path(queue_dir, QUEUE_DATA, id, path, sizeof(path)) < 0)
		return errbuf_set(eb, "queue path too long");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return errbuf_errno(eb, errno, "create %s", path);
	return fd;
}

int
queue_data_open(const char *queue_dir, const char *id, struct errbuf *eb)
{
	char path[QUEUE_PATH_MAX];
	int fd;

	if (queue_path(queue_dir, QUEUE_DATA, id, path, sizeof(path)) < 0)
		return errbuf_set(eb, "queue path too long");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errbuf_errno(eb, errno, "open %s", path);
	return fd;
}

int
queue_sync(const char *queue_dir, struct errbuf *eb)
{
	int fd, rc = 0;

	fd = open(queue_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_errno(eb, errno, "open %s", queue_dir);
	if (syncfs(fd) < 0)
		rc = errbuf_errno(eb, errno, "syncfs %s", queue_dir);
	close(fd);
	return rc;
}

int
queue_list(const char *queue_dir, enum queue_name q,
    int (*fn)(const char *id, void *arg), void *arg, struct errbuf *eb)
{
	char path[QUEUE_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", queue_dir, queue_name(q));
	if ((d = opendir(path)) == NULL)
		return errbuf_errno(eb, errno, "list %s", path);
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (queue_id_valid(de->d_name))
			rc = fn(de->d_name, arg);
	closedir(d);
	return rc;
}
