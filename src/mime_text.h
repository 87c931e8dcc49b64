/*
 * mime_text: the readable text at the start of a message, for a
 * Subject made from the body (empty_subject_from_body).
 *
 * Finds the first text/plain part (the body itself for a non-MIME
 * message), walking nested multiparts to a bounded depth, undoes its
 * Content-Transfer-Encoding (base64, quoted-printable), converts its
 * charset to UTF-8 with iconv(3), folds white space to single spaces,
 * and keeps the first max_chars characters (characters, not bytes).
 */
#ifndef TERN_MIME_TEXT_H
#define TERN_MIME_TEXT_H

#include <stddef.h>

#include "buf.h"

#define MIME_TEXT_MAX_DEPTH 8

/* Append the text to out (nothing when there is no text part).
 * Returns 0, or -1 on allocation failure. */
int mime_text_first(const char *msg, size_t len, size_t max_chars,
    struct buf *out);

#endif
