/*
 * buf: a growable byte buffer with an optional hard limit.
 *
 * The data is always NUL-terminated (the terminator is not counted in
 * len), so text can be handed to C string functions; binary data may
 * still contain NUL bytes.  Appending past the limit fails instead of
 * growing, which is how every reader of untrusted input stays bounded.
 */
#ifndef TERN_BUF_H
#define TERN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit; /* 0: no limit */
};

/* Initialise an empty buffer; limit 0 means unbounded. */
void buf_init(struct buf *b, size_t limit);

/* Release the memory; the buffer is empty and reusable afterwards. */
void buf_fini(struct buf *b);

/* Forget the contents, keep the memory. */
void buf_reset(struct buf *b);

/* Append bytes / a C string / one byte / formatted text.  Return 0, or
 * -1 with errno ENOMEM or EMSGSIZE (limit reached; nothing appended). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, int c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Make room for at least n more bytes. */
int buf_reserve(struct buf *b, size_t n);

/* Hand the data to the caller (who frees it) and empty the buffer. */
char *buf_steal(struct buf *b);

#endif
