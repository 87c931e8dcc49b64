/*
 * fileio: write-all, directory fsync, bounded whole-file reads.
 *
 * Durability in tern rests on one order of operations (write, fsync the
 * file, rename, fsync the directory); these are its building blocks.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"

int
fileio_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
fileio_fsync_dir(const char *path, struct errbuf *eb)
{
	int fd, saved;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_errno(eb, errno, "open directory %s", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		saved = errno;
		close(fd);
		return errbuf_errno(eb, saved, "fsync directory %s", path);
	}
	close(fd);
	return 0;
}

char *
fileio_read_fd(int fd, const char *name, size_t limit, size_t *lenp,
    struct errbuf *eb)
{
	struct buf b;
	char chunk[65536];
	ssize_t r;

	buf_init(&b, limit);
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			errbuf_errno(eb, errno, "read %s", name);
			buf_fini(&b);
			return NULL;
		}
		if (r == 0)
			break;
		if (buf_append(&b, chunk, (size_t)r) < 0) {
			if (errno == EMSGSIZE)
				errbuf_set(eb, "%s is larger than %zu bytes",
				    name, limit);
			else
				errbuf_errno(eb, errno, "read %s", name);
			buf_fini(&b);
			return NULL;
		}
	}
	*lenp = b.len;
	return buf_steal(&b);
}

char *
fileio_read_file(const char *path, size_t limit, size_t *lenp,
    struct errbuf *eb)
{
	char *data;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		errbuf_errno(eb, errno, "open %s", path);
		return NULL;
	}
	data = fileio_read_fd(fd, path, limit, lenp, eb);
	close(fd);
	return data;
}

int
fileio_mkdir(const char *path, mode_t mode, struct errbuf *eb)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return errbuf_errno(eb, errno, "create directory %s", path);
	if (stat(path, &st) < 0)
		return errbuf_errno(eb, errno, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return errbuf_setc(eb, EX_CANTCREAT, "%s exists and is not a directory",
		    path);
	return 0;
}

char *
fileio_read_secret(const char *path, const char *what, struct errbuf *eb)
{
	struct stat st;
	char *data;
	size_t len;

	if (stat(path, &st) < 0) {
		errbuf_errno(eb, errno, "%s %s", what, path);
		return NULL;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		errbuf_set(eb, "%s %s is readable or writable by others; make "
		    "it private: chmod 600 %s", what, path, path);
		return NULL;
	}
	if ((data = fileio_read_file(path, 65536, &len, eb)) == NULL)
		return NULL;
	data[strcspn(data, "\r\n")] = '\0';
	return data;
}
