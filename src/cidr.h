/*
 * cidr: lists of IPv4 and IPv6 networks, and matching addresses
 * against them (the listener's networks).
 *
 * An IPv4-mapped IPv6 client (::ffff:192.0.2.1, what a dual-stack
 * socket reports) matches IPv4 networks as the IPv4 address it is.
 */
#ifndef TERN_CIDR_H
#define TERN_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "errbuf.h"

struct cidr {
	int family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network address, host bits cleared */
	unsigned prefix;     /* 0..32 or 0..128 */
};

struct cidr_list {
	struct cidr *v;
	size_t n;
};

/* Parse "10.0.0.0/8, 192.168.1.7, ::1/128" (comma and/or white space
 * separated; a bare address is a /32 or /128).  Returns 0, or -1 with
 * eb naming the bad element.  An empty string is an empty list. */
int cidr_list_parse(const char *text, struct cidr_list *out,
    struct errbuf *eb);
void cidr_list_free(struct cidr_list *l);

/* True when sa (AF_INET or AF_INET6) is inside one of the networks. */
bool cidr_list_match(const struct cidr_list *l, const struct sockaddr *sa);

#endif
