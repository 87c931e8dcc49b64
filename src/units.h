/*
 * units: sizes and durations as written in tern.conf.
 *
 * Sizes: a decimal number with an optional K, M or G suffix (powers of
 * 1024, case-insensitive, an optional trailing "B"): "25M", "512k",
 * "1048576".  Durations: a number with an optional s, m, h or d suffix
 * (no suffix: seconds): "30s", "5m", "4h", "5d".  Overflow, negative
 * numbers, empty strings and trailing garbage are errors.
 */
#ifndef TERN_UNITS_H
#define TERN_UNITS_H

#include <stdint.h>

#include "errbuf.h"

/* Parse a size into *out bytes.  Returns 0 or -1 with eb set. */
int units_parse_size(const char *s, uint64_t *out, struct errbuf *eb);

/* Parse a duration into *out seconds.  Returns 0 or -1 with eb set. */
int units_parse_duration(const char *s, uint64_t *out, struct errbuf *eb);

/* Format a size / duration back in the shortest exact unit ("25M",
 * "4h"); buf receives at most len bytes.  Returns buf. */
char *units_format_size(uint64_t bytes, char *buf, size_t len);
char *units_format_duration(uint64_t secs, char *buf, size_t len);

#endif
