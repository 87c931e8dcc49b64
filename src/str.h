/*
 * str: small string helpers that libc lacks.
 */
#ifndef TERN_STR_H
#define TERN_STR_H

#include <stdbool.h>
#include <stddef.h>

/* Copy src into dst of size dstsize, always NUL-terminating.
 * Returns strlen(src); truncation happened when it is >= dstsize. */
size_t str_lcpy(char *dst, const char *src, size_t dstsize);

/* strdup that aborts the program on allocation failure: used only for
 * small strings in start-up paths where no recovery is possible. */
char *str_xdup(const char *s);

/* Trim ASCII whitespace at both ends, in place; returns s. */
char *str_trim(char *s);

/* Case-insensitive ASCII comparison of s against the n-byte name. */
bool str_ieq_n(const char *s, const char *name, size_t n);

/* Length of the well-formed UTF-8 sequence at s (1 for ASCII), or 0
 * when it is malformed: overlong, surrogate, past U+10FFFF or cut short
 * by len (which must be at least 1). */
size_t str_utf8_len(const unsigned char *s, size_t len);

/* The value of a hexadecimal digit (either case), or -1. */
int str_hexval(int c);

/* The value of a base64 digit (RFC 4648 alphabet), or -1. */
int str_b64val(int c);

/*
 * Decode the strict base64 of a SASL exchange (RFC 4648: whole 4-byte
 * quanta, '=' padding only at the end, no white space) from s[0..len)
 * into out[0..size), NUL-terminated; *outlen gets the decoded length.
 * Returns 0, or -1 when s is not such base64 or out is too small.
 */
int str_b64_decode(const char *s, size_t len, char *out, size_t size,
    size_t *outlen);

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates,
 * or code points past U+10FFFF). */
bool str_utf8_valid(const char *s, size_t len);

/* True when s[0..len) holds a byte >= 0x80. */
bool str_has_8bit(const char *s, size_t len);

/* Number of UTF-8 characters in s (bytes that do not start a character
 * are not counted). */
size_t str_utf8_chars(const char *s, size_t len);

#endif
