/*
 * tern_dns_check_int: what the two halves of the tern dns checks share
 * (see tern_dns_check.h): tern_dns_check.c has these helpers and the
 * MX, DKIM and DMARC checks, tern_dns_check_spf.c the SPF check.
 * Nothing outside them includes this.
 */
#ifndef TERN_TERN_DNS_CHECK_INT_H
#define TERN_TERN_DNS_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "dns.h"
#include "tern_dns_check.h"

/* One finding, to c->say. */
void tern_dns_check_say(const struct tern_dns_check *c,
    enum tern_dns_check_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failed lookup a (DNS_TEMPFAIL): what cannot be checked. */
void tern_dns_check_unknown(const struct tern_dns_check *c,
    const struct tern_dns_check_answer *a, const char *what);

/* Whether rec begins with the version tag tag ("v=spf1"), then the end
 * or one of the characters of after (" " for SPF, "; \t" for DMARC). */
bool tern_dns_check_starts(const char *rec, const char *tag,
    const char *after);

/* rec for a report line, into buf of size at least 64: quoted, long
 * ones cut and their length said.  Returns buf. */
const char *tern_dns_check_show(const char *rec, char *buf, size_t size);

/* The address of a as text into buf ("?" when it has none). */
const char *tern_dns_check_ntop(const struct dns_addr *a, char *buf,
    size_t size);

/* The addresses of a as "192.0.2.1, 2001:db8::1" into buf. */
const char *tern_dns_check_addr_list(const struct tern_dns_check_answer *a,
    char *buf, size_t size);

#endif
