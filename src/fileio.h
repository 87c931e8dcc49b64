/*
 * fileio: the durable-write primitives every commit is built from.
 */
#ifndef TERN_FILEIO_H
#define TERN_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "errbuf.h"

/* Write all n bytes to fd, retrying short writes and EINTR.
 * Returns 0, or -1 with errno set. */
int fileio_write_all(int fd, const void *p, size_t n);

/* fsync the directory at path so a rename or unlink in it is durable.
 * Returns 0, or -1 with eb set (naming the directory). */
int fileio_fsync_dir(const char *path, struct errbuf *eb);

/* Read a whole regular file of at most limit bytes into a malloc'd,
 * NUL-terminated buffer; *lenp gets its length.  Returns NULL with eb
 * set on error or when the file is larger than limit. */
char *fileio_read_file(const char *path, size_t limit, size_t *lenp,
    struct errbuf *eb);

/*
 * A secret (password_file, oauth2_client_secret_file): the file must
 * not be readable or writable by others, as ternd requires; its first
 * line, without the line end.  what names the key in messages.
 * Returns the text (the caller wipes and frees it) or NULL with eb.
 */
char *fileio_read_secret(const char *path, const char *what,
    struct errbuf *eb);

/* Same, from an open descriptor (not closed). */
char *fileio_read_fd(int fd, const char *name, size_t limit, size_t *lenp,
    struct errbuf *eb);

/* Create dir (and no parents) with mode if it does not exist; an
 * existing directory is fine.  Returns 0 or -1 with eb set. */
int fileio_mkdir(const char *path, mode_t mode, struct errbuf *eb);

#endif
