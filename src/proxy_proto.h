/*
 * proxy_proto: the HAProxy PROXY protocol header, versions 1 (text) and
 * 2 (binary), read before anything else on a connection when a listener
 * has proxy_protocol = yes.  It tells the real client address, which
 * then takes the place of the proxy's for the relay policy, limits and
 * logs.  Pure parser: bytes in, result out.
 *
 * Specification: haproxy's doc/proxy-protocol.txt.  v1 is one line of
 * at most 107 bytes ("PROXY TCP4 src dst sport dport\r\n", or "PROXY
 * UNKNOWN...\r\n"); v2 is a 16-byte header (12-byte signature, version
 * and command, family, length) and an address block.  LOCAL (v2) and
 * UNKNOWN (v1) mean "use the connection's own addresses" (health
 * checks).  TLVs are skipped.  Anything malformed is an error and the
 * connection is closed without a reply.
 */
#ifndef TERN_PROXY_PROTO_H
#define TERN_PROXY_PROTO_H

#include <stddef.h>
#include <sys/socket.h>

#include "errbuf.h"

#define PROXY_PROTO_V1_MAX 107
/* Largest v2 header accepted (16 + address block + TLVs). */
#define PROXY_PROTO_V2_MAX (16 + 2048)

struct proxy_proto_result {
	int local;                     /* 1: keep the connection's addresses */
	struct sockaddr_storage src;   /* the client, when !local */
	struct sockaddr_storage dst;   /* the address it connected to */
};

/*
 * Parse the header at the start of data[0..len).  Returns the number
 * of bytes it takes (the SMTP session starts after them), 0 when more
 * bytes are needed to decide, or -1 with eb set when the data is not a
 * valid PROXY header of either version.
 */
long proxy_proto_parse(const unsigned char *data, size_t len,
    struct proxy_proto_result *out, struct errbuf *eb);

#endif
