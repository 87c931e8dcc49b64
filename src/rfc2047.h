/*
 * rfc2047: MIME encoded words in header fields (RFC 2047, RFC 2231
 * language tags ignored).
 *
 * Decoding turns "=?charset?B|Q?text?=" words in unstructured text or
 * a phrase into UTF-8, converting the charset with iconv(3) (UTF-8,
 * US-ASCII, ISO-8859-*, GB2312/GBK/GB18030, Big5, Shift_JIS, EUC-*,
 * KOI8-R, windows-125x...).  Whitespace between adjacent encoded words
 * is dropped, as the RFC requires.  A word that cannot be decoded is
 * kept verbatim, never dropped.  Encoding produces the shortest-safe
 * form: text that is printable ASCII is returned as it is; otherwise
 * UTF-8 "B" or "Q" encoded words of at most 75 characters each,
 * separated by folding ("\n ") so no header line exceeds 78 columns.
 */
#ifndef TERN_RFC2047_H
#define TERN_RFC2047_H

#include <stddef.h>

#include "buf.h"

/* Decode the encoded words in text[0..len) and append the UTF-8 result
 * to out.  Returns 0, or -1 on allocation failure / out's limit. */
int rfc2047_decode(const char *text, size_t len, struct buf *out);

/* Encode UTF-8 text for use in a header field whose name (with ": ")
 * takes first_col columns on the first line; append to out.  Returns 0,
 * or -1 on allocation failure / out's limit. */
int rfc2047_encode(const char *utf8, size_t first_col, struct buf *out);

/* Encode a display name for a From/To phrase: printable ASCII is
 * returned as an atom sequence or a quoted-string (escaping " and \),
 * anything else as encoded words.  Appends to out. */
int rfc2047_encode_phrase(const char *utf8, size_t first_col,
    struct buf *out);

/* Convert n octets in charset (any name iconv knows, with the usual
 * mail aliases: gb2312 is read as GB18030...) to UTF-8 with control
 * characters turned into spaces, appended to out.  Returns 0, 1 when
 * the charset is unknown or the octets are not valid in it (out may
 * hold what came before the fault), -1 on allocation failure. */
int rfc2047_to_utf8(const char *charset, const char *p, size_t n,
    struct buf *out);

#endif
